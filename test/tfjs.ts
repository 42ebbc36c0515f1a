// dfwlayer/tfjs: the layer as a tfjs operation. tf.grad through it is the library's own VJP,
// a tiny model trains through it, bad input names its path, and the main entry never loads tfjs.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs'
import { tfDfwLayer, LayerError, type TfLayerInputs } from '../src/tfjs/index.js'
import { dfwLayer, dense, rng, type Gradients, type Rng, type Vec, type SetKind } from '../src/index.js'
import { unsafeDim } from '../src/shapes/Dim.js'
import { childEnv } from './helpers/childEnv.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

t.before(async () => {
  await tf.setBackend('cpu')
})

// -------------------------------------------------------------------------------------
// fixtures
// -------------------------------------------------------------------------------------

/** A batch of binding l1 problems as float32 data: P = AᵀA/n + I per instance, w in [0.5, 1.5], t small. */
const batchData = (r: Rng, B: number, n: number) => {
  const f = (k: number, g: () => number) => Float32Array.from({ length: k }, g)
  const q = f(B * n, r.normal)
  const w = f(B * n, () => 0.5 + r.uniform())
  const tt = f(B, () => 0.1 + 0.3 * r.uniform())
  const P = new Float32Array(B * n * n)
  for (let b = 0; b < B; b++) {
    const A = Array.from({ length: n * n }, r.normal)
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = i === j ? 1 : 0
        for (let k = 0; k < n; k++) s += (A[k * n + i]! * A[k * n + j]!) / n
        P[b * n * n + i * n + j] = s
        P[b * n * n + j * n + i] = s
      }
    }
  }
  const c = f(B * n, r.normal)
  return { q, w, t: tt, P, c }
}

const vecOf = (src: ArrayLike<number>, off: number, n: number): Vec<'n'> =>
  ({ dim: unsafeDim<'n'>(n), data: Float64Array.from({ length: n }, (_, i) => src[off + i]!) })

/** The library's own solve and VJP of instance b, from the same float32 numbers. */
const libraryInstance = (
  d: ReturnType<typeof batchData>, b: number, n: number,
  opts: { backward: 'unrolled' | 'implicit'; set?: SetKind; sharedP?: boolean; sharedW?: boolean; sharedT?: boolean }
): { x: Float64Array; g: Gradients<'n'> } => {
  const dim = unsafeDim<'n'>(n)
  const Pd = opts.sharedP === true ? d.P.subarray(0, n * n) : d.P.subarray(b * n * n, (b + 1) * n * n)
  const res = dfwLayer({ backward: opts.backward })({
    P: dense({ rows: dim, cols: dim, data: Float64Array.from(Pd) }),
    q: vecOf(d.q, b * n, n),
    w: vecOf(d.w, opts.sharedW === true ? 0 : b * n, n),
    t: d.t[opts.sharedT === true ? 0 : b]!,
    set: opts.set ?? 'l1'
  })
  return { x: Float64Array.from(res.x.data), g: res.vjp(vecOf(d.c, b * n, n)) }
}

/** (G + Gᵀ)/2 of a row-major n×n matrix: the op's gradient in P is the symmetric part of the library's. */
const symPart = (g: ArrayLike<number>, n: number): Float64Array => {
  const o = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) o[i * n + j] = (g[i * n + j]! + g[j * n + i]!) / 2
  return o
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return a.length === b.length ? m : Infinity
}
const maxAbs = (a: ArrayLike<number>): number => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!)); return m }

/** Float32 rounding of the library's float64 numbers: the only difference allowed. */
const TOL = 2e-7

// -------------------------------------------------------------------------------------
// the main entry stays free of tfjs
// -------------------------------------------------------------------------------------

/** Every bare module specifier reachable from `file` through relative imports (static and dynamic). */
const bareImports = (file: string, seen = new Set<string>(), bare = new Set<string>()): Set<string> => {
  if (seen.has(file)) return bare
  seen.add(file)
  // comments out (doc examples show imports that are not the module's own)
  const src = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
  for (const m of src.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)) {
    const spec = m[1] ?? m[2] ?? m[3]!
    if (spec.startsWith('.')) bareImports(join(dirname(file), spec.replace(/\.js$/, '.ts')), seen, bare)
    else bare.add(spec)
  }
  return bare
}

t.test('the main entry imports no @tensorflow module (static import graph of src/index.ts)', async (t) => {
  const main = [...bareImports(join(root, 'src/index.ts'))]
  t.ok(main.length > 0, `found the main entry's bare imports: ${main.join(', ')}`)
  t.same(main.filter((s) => s.startsWith('@tensorflow')), [], 'no @tensorflow specifier')
  const sub = [...bareImports(join(root, 'src/tfjs/index.ts'))]
  t.ok(sub.includes('@tensorflow/tfjs-core'), 'control: the walk does find tfjs-core from src/tfjs/index.ts')
  t.same(sub.filter((s) => s.startsWith('@tensorflow') && s !== '@tensorflow/tfjs-core'), [], 'the subpath needs only tfjs-core')
})

t.test('importing the main entry loads no @tensorflow module (child process, module cache)', async (t) => {
  const probe = (entry: string) => {
    const code = `import { createRequire } from 'node:module'
await import(${JSON.stringify(entry)})
const loaded = Object.keys(createRequire(import.meta.url).cache)
console.log(JSON.stringify(loaded.filter((k) => k.includes('@tensorflow'))))`
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', env: childEnv(), timeout: 60_000 })
    t.equal(r.status, 0, r.stderr)
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]') as string[]
  }
  t.same(probe(join(root, 'src/index.ts')), [], 'src/index.ts: no @tensorflow file in the module cache')
  const sub = probe(join(root, 'src/tfjs/index.ts'))
  t.ok(sub.some((k) => k.includes('@tensorflow/tfjs-core')), 'control: src/tfjs/index.ts does load tfjs-core, and the probe sees it')
})

t.test('the built package: `dfwlayer` loads no @tensorflow module, `dfwlayer/tfjs` runs (skipped when dist/ is stale)', async (t) => {
  const fresh = (built: string, src: string) => existsSync(built) && statSync(built).mtimeMs >= statSync(src).mtimeMs
  if (!fresh(join(root, 'dist/index.js'), join(root, 'src/index.ts')) || !fresh(join(root, 'dist/tfjs/index.js'), join(root, 'src/tfjs/index.ts'))) {
    t.plan(0, 'dist/ is missing or older than src/: run npm run build')
    return
  }
  const code = `import { createRequire } from 'node:module'
await import('dfwlayer')
const cache = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('@tensorflow'))
const main = cache()
await import('@tensorflow/tfjs')
const tf = await import('@tensorflow/tfjs-core')
const { tfDfwLayer } = await import('dfwlayer/tfjs')
await tf.setBackend('cpu')
const x = tfDfwLayer({ backward: 'implicit' })({ q: tf.tensor2d([[1, -2], [0.5, 0.5]]), P: tf.eye(2), t: 0.5 }).arraySync()
console.log(JSON.stringify({ main, x }))`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', env: childEnv(), timeout: 60_000 })
  t.equal(r.status, 0, r.status === 0 ? 'the child exits 0' : r.stderr)
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { main: string[]; x: number[][] }
  t.same(out.main, [], 'importing dfwlayer (dist/index.js) put no @tensorflow file in the module cache')
  const ref = tfDfwLayer({ backward: 'implicit' })({ q: tf.tensor2d([[1, -2], [0.5, 0.5]]), P: tf.eye(2), t: 0.5 }).arraySync()
  t.same(out.x, ref, `dfwlayer/tfjs (dist/tfjs/index.js) gives the source's answer ${JSON.stringify(ref)}`)
})

// -------------------------------------------------------------------------------------
// tf.grad is the library's VJP
// -------------------------------------------------------------------------------------

for (const backward of ['implicit', 'unrolled'] as const) {
  t.test(`${backward}: per-instance P, w, t — x and tf.grads in (q, w, t, P) equal the library's solve and vjp`, async (t) => {
    const B = 4, n = 5
    const d = batchData(rng(backward === 'implicit' ? 1 : 2), B, n)
    const q = tf.tensor2d(d.q, [B, n]), w = tf.tensor2d(d.w, [B, n]), tt = tf.tensor1d(d.t), P = tf.tensor3d(d.P, [B, n, n]), c = tf.tensor2d(d.c, [B, n])
    const layer = tfDfwLayer({ backward })
    const x = layer({ q, w, t: tt, P }).dataSync()
    const [gq, gw, gt, gP] = tf.grads((q: tf.Tensor, w: tf.Tensor, tt: tf.Tensor, P: tf.Tensor) => layer({ q, w, t: tt, P }).mul(c).sum())([q, w, tt, P])
    t.same(gq!.shape, [B, n]); t.same(gw!.shape, [B, n]); t.same(gt!.shape, [B]); t.same(gP!.shape, [B, n, n])
    const gqd = gq!.dataSync(), gwd = gw!.dataSync(), gtd = gt!.dataSync(), gPd = gP!.dataSync()
    let binding = 0
    for (let b = 0; b < B; b++) {
      const lib = libraryInstance(d, b, n, { backward })
      let l1 = 0
      for (let i = 0; i < n; i++) l1 += Math.abs(d.w[b * n + i]! * lib.x[i]!)
      if (l1 > d.t[b]! * (1 - 1e-6)) binding++
      t.ok(maxAbsDiff(x.subarray(b * n, (b + 1) * n), lib.x) <= TOL * Math.max(1, maxAbs(lib.x)), `x[${b}]`)
      const sq = TOL * Math.max(1, maxAbs(lib.g.q.data))
      t.ok(maxAbsDiff(gqd.subarray(b * n, (b + 1) * n), lib.g.q.data) <= sq, `dq[${b}]: max diff ${maxAbsDiff(gqd.subarray(b * n, (b + 1) * n), lib.g.q.data)}`)
      t.ok(maxAbsDiff(gwd.subarray(b * n, (b + 1) * n), lib.g.w.data) <= TOL * Math.max(1, maxAbs(lib.g.w.data)), `dw[${b}]`)
      t.ok(Math.abs(gtd[b]! - lib.g.t) <= TOL * Math.max(1, Math.abs(lib.g.t)), `dt[${b}]: ${gtd[b]} vs ${lib.g.t}`)
      const gPsym = symPart(lib.g.P!.data, n)
      t.ok(maxAbsDiff(gPd.subarray(b * n * n, (b + 1) * n * n), gPsym) <= TOL * Math.max(1, maxAbs(gPsym)), `dP[${b}] = (G + Gᵀ)/2`)
    }
    t.equal(binding, B, 'every instance has a binding constraint (nonzero w and t derivatives)')
    t.ok(maxAbs(gtd) > 0 && maxAbs(gwd) > 0, 'the w and t gradients are not zero')
    tf.dispose([q, w, tt, P, c, gq!, gw!, gt!, gP!])
  })

  t.test(`${backward}: shared P [n, n], w [n] and scalar t get the sum of the instances' gradients`, async (t) => {
    const B = 3, n = 4
    const d = batchData(rng(backward === 'implicit' ? 3 : 4), B, n)
    const q = tf.tensor2d(d.q, [B, n]), w = tf.tensor1d(d.w.subarray(0, n)), tt = tf.scalar(d.t[0]!), P = tf.tensor2d(d.P.subarray(0, n * n), [n, n]), c = tf.tensor2d(d.c, [B, n])
    const layer = tfDfwLayer({ backward })
    const [gq, gw, gt, gP] = tf.grads((q: tf.Tensor, w: tf.Tensor, tt: tf.Tensor, P: tf.Tensor) => layer({ q, w, t: tt, P }).mul(c).sum())([q, w, tt, P])
    t.same([gq!.shape, gw!.shape, gt!.shape, gP!.shape], [[B, n], [n], [], [n, n]])
    const sw = new Float64Array(n), sP = new Float64Array(n * n)
    let st = 0
    for (let b = 0; b < B; b++) {
      const lib = libraryInstance(d, b, n, { backward, sharedP: true, sharedW: true, sharedT: true })
      t.ok(maxAbsDiff(gq!.dataSync().subarray(b * n, (b + 1) * n), lib.g.q.data) <= TOL * Math.max(1, maxAbs(lib.g.q.data)), `dq[${b}]`)
      lib.g.w.data.forEach((v, i) => { sw[i] = sw[i]! + v })
      symPart(lib.g.P!.data, n).forEach((v, i) => { sP[i] = sP[i]! + v })
      st += lib.g.t
    }
    t.ok(maxAbsDiff(gw!.dataSync(), sw) <= TOL * Math.max(1, maxAbs(sw)), 'dw = Σ_b dw_b')
    t.ok(Math.abs(gt!.dataSync()[0]! - st) <= TOL * Math.max(1, Math.abs(st)), 'dt = Σ_b dt_b')
    t.ok(maxAbsDiff(gP!.dataSync(), sP) <= TOL * Math.max(1, maxAbs(sP)), 'dP = Σ_b (G_b + G_bᵀ)/2')
    tf.dispose([q, w, tt, P, c, gq!, gw!, gt!, gP!])
  })
}

t.test('options pass through: the simplex set, a number t, a library operator as P (held constant)', async (t) => {
  const B = 2, n = 3
  const d = batchData(rng(9), B, n)
  const q = tf.tensor2d(d.q, [B, n])
  const dim = unsafeDim<unknown>(n)
  const P = dense({ rows: dim, cols: dim, data: Float64Array.from(d.P.subarray(0, n * n)) })
  const gaps: number[] = []
  const layer = tfDfwLayer({ set: 'simplex', backward: 'implicit', onSolve: (rs) => gaps.push(...rs.map((r) => r.gap)) })
  const x = layer({ q, P, t: 2 }).arraySync()
  for (const row of x) {
    t.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 2) <= 1e-6, 'each row sums to t')
    t.ok(row.every((v) => v >= 0), 'each row is non-negative')
  }
  t.equal(gaps.length, B, 'onSolve saw one result per instance')
  const gq = tf.grad((q: tf.Tensor) => layer({ q, P, t: 2 }).sum())(q)
  t.same(gq.shape, [B, n], 'only q is differentiated')
  t.ok(gq.dataSync().every(Number.isFinite))
})

// -------------------------------------------------------------------------------------
// training through the layer
// -------------------------------------------------------------------------------------

t.test('a tiny tfjs model trains through the layer: the loss decreases (both backward modes)', async (t) => {
  const r = rng(21)
  const B = 16, dIn = 3, n = 4
  const Z = tf.tensor2d(Float32Array.from({ length: B * dIn }, r.normal), [B, dIn])
  const Wtrue = tf.tensor2d(Float32Array.from({ length: dIn * n }, r.normal), [dIn, n])
  const P = tf.eye(n)
  const wts = tf.tensor1d(Float32Array.from({ length: n }, () => 0.5 + r.uniform()))
  const target = tfDfwLayer({ backward: 'implicit' })({ q: Z.matMul(Wtrue), P, t: 0.5, w: wts })
  for (const backward of ['implicit', 'unrolled'] as const) {
    const layer = tfDfwLayer({ backward, maxIterations: 500 })
    const W = tf.variable(tf.tensor2d(Float32Array.from({ length: dIn * n }, () => 0.1 * r.normal()), [dIn, n]))
    const opt = tf.train.adam(0.1)
    const loss = () => tf.losses.meanSquaredError(target, layer({ q: Z.matMul(W), P, t: 0.5, w: wts })) as tf.Scalar
    const losses: number[] = []
    for (let step = 0; step < 12; step++) {
      const l = opt.minimize(loss, true, [W])!
      losses.push(l.dataSync()[0]!)
      l.dispose()
    }
    const first = losses[0]!, last = losses[losses.length - 1]!
    t.ok(losses.every(Number.isFinite), `${backward}: every loss is finite`)
    t.ok(last < 0.5 * first, `${backward}: loss ${first.toExponential(3)} → ${last.toExponential(3)} after 12 Adam steps`)
    W.dispose()
  }
})

// -------------------------------------------------------------------------------------
// bad input
// -------------------------------------------------------------------------------------

t.test('bad shapes, dtypes and values throw a LayerError naming the path, never NaN', async (t) => {
  const B = 4, n = 2
  const ok = { q: tf.ones([B, n]), P: tf.eye(n), t: tf.ones([B]), w: tf.ones([B, n]) }
  const layer = tfDfwLayer()
  const withEntry = (shape: number[], flatIndex: number, v: number) => {
    const size = shape.reduce((a, b) => a * b, 1)
    const data = new Float32Array(size).fill(1)
    if (shape.length === 3) for (let b = 0; b < shape[0]!; b++) { data.fill(0, b * n * n, (b + 1) * n * n); for (let i = 0; i < n; i++) data[b * n * n + i * n + i] = 1 }
    data[flatIndex] = v
    return tf.tensor(data, shape)
  }
  const cases: Array<[string, Partial<Record<keyof TfLayerInputs, unknown>>, string]> = [
    ['q of rank 1', { q: tf.ones([n]) }, 'q'],
    ['q of dtype int32', { q: tf.ones([B, n], 'int32') }, 'q'],
    ['q not a tensor', { q: [[1, 2]] }, 'q'],
    ['w of the wrong shape', { w: tf.ones([B, n + 1]) }, 'w'],
    ['t of the wrong shape', { t: tf.ones([B + 1]) }, 't'],
    ['P of the wrong shape', { P: tf.eye(n + 1) }, 'P'],
    ['P of rank 3 with the wrong batch', { P: tf.ones([B + 1, n, n]) }, 'P'],
    ['NaN in q[3][1]', { q: withEntry([B, n], 3 * n + 1, NaN) }, 'q[3][1]'],
    ['Infinity in P[2][0][1]', { P: withEntry([B, n, n], 2 * n * n + 1, Infinity) }, 'P[2][0][1]'],
    ['an asymmetric P', { P: tf.tensor2d([[1, 0.5], [0.2, 1]]) }, 'P[1][0]'],
    ['t[1] = 0', { t: withEntry([B], 1, 0) }, 't[1]'],
    ['t = −1 as a number', { t: -1 }, 't'],
    ['w[2][0] = −0.5', { w: withEntry([B, n], 2 * n, -0.5) }, 'w[2][0]']
  ]
  for (const [name, patch, path] of cases) {
    try {
      layer({ ...ok, ...patch } as TfLayerInputs)
      t.fail(`${name}: no error`)
    } catch (e) {
      t.ok(e instanceof LayerError, `${name}: a LayerError`)
      t.equal((e as LayerError).path, path, `${name}: path ${path} (${(e as Error).message})`)
    }
  }
  try {
    tfDfwLayer({ maxIterations: 0 })(ok)
    t.fail('bad option accepted')
  } catch (e) {
    t.equal((e as LayerError).path, 'options.maxIterations', 'a bad option names options.maxIterations')
  }
  // inside tf.grad the error surfaces the same way, instead of a NaN gradient
  try {
    tf.grad((q: tf.Tensor) => layer({ ...ok, q }).sum())(withEntry([B, n], 1, NaN))
    t.fail('tf.grad with a NaN in q did not throw')
  } catch (e) {
    t.equal((e as LayerError).path, 'q[0][1]', 'tf.grad surfaces the same LayerError (q[0][1])')
  }
})

// -------------------------------------------------------------------------------------
// float32 at the edges (issue 20, item 4)
// -------------------------------------------------------------------------------------

const layerError = (f: () => unknown): LayerError | undefined => {
  try {
    f()
    return undefined
  } catch (e) {
    return e instanceof LayerError ? e : undefined
  }
}

t.test('a plain-number t is checked in float64: t = 1e39 is a radius, not "Infinity"', async (t) => {
  const layer = tfDfwLayer({ backward: 'implicit' })
  const q = tf.tensor2d([[1, -2]])
  const x = layer({ q, P: tf.eye(2), t: 1e39 }).dataSync()
  t.same(Array.from(x), [-1, 2], 'the ball does not bind: x = −q')
  const e = layerError(() => layer({ q, P: tf.eye(2), t: Infinity }))
  t.equal(e?.path, 't', 'Infinity itself is still refused at t')
})

t.test('x beyond float32 is refused at the input that allows it (w = 1e-40), never returned as Infinity', async (t) => {
  for (const backward of ['implicit', 'unrolled'] as const) {
    const layer = tfDfwLayer({ backward })
    const q = tf.tensor2d([[1, 1], [-1, 0]])
    const P = tf.zeros([2, 2])
    const w = tf.tensor2d([[1, 1], [1e-40, 1]])
    const e = layerError(() => layer({ q, P, t: 1, w }).dataSync())
    t.equal(e?.path, 'w[1][0]', `${backward}: at w[1][0] (${e?.message})`)
    t.match(e?.message ?? '', /x\[1\]\[0\] = 1\.0000\d*e\+40 cannot be written in float32/, `${backward}: the message names the entry of x`)
    const shared = layerError(() => layer({ q, P, t: 1, w: tf.tensor1d([1e-40, 1]) }))
    t.equal(shared?.path, 'w[0]', `${backward}: a shared w is named w[0]`)
    const big = layerError(() => layer({ q, P, t: 1e39 }))
    t.equal(big?.path, 't', `${backward}: a plain t beyond float32 that x reaches is named t`)
    const tb = layerError(() => layer({ q, P, t: tf.tensor1d([1, 1]), w }))
    t.equal(tb?.path, 'w[1][0]', `${backward}: with t per instance the small weight is still the cause`)
  }
  const simplexLayer = tfDfwLayer({ set: 'simplex' })
  t.equal(layerError(() => simplexLayer({ q: tf.tensor2d([[1, 0]]), P: tf.zeros([2, 2]), t: 1e39 }))?.path, 't', 'off the l1 ball the radius is the cause')
})

t.test('a gradient beyond float32 is refused at the input it is the gradient of (w = 1e-20), never −Infinity', async (t) => {
  for (const backward of ['implicit', 'unrolled'] as const) {
    const layer = tfDfwLayer({ backward })
    const q = tf.tensor2d([[-1, 0]])
    const P = tf.zeros([2, 2])
    const w = tf.tensor2d([[1e-20, 1]])
    const x = layer({ q, P, t: 1, w }).dataSync()
    t.ok(Math.abs(x[0]! - 1e20) <= 1e14, `${backward}: x = t/w = 1e20 fits float32 (${x[0]})`)
    let err: unknown
    try {
      tf.grad((w: tf.Tensor) => layer({ q, P, t: 1, w }).sum())(w)
    } catch (e) {
      err = e
    }
    t.ok(err instanceof LayerError, `${backward}: tf.grad throws a LayerError`)
    t.equal((err as LayerError).path, 'w[0][0]', `${backward}: at w[0][0]`)
    t.match((err as LayerError).message, /the gradient with respect to w\[0\]\[0\] is -1\.0000\d*e\+40/, `${backward}: the message`)
    const gq = tf.grad((q: tf.Tensor) => layer({ q, P, t: 1, w }).sum())(q).dataSync()
    t.ok(Array.from(gq).every(Number.isFinite), `${backward}: the gradient in q alone is finite and returned`)
  }
})

t.test('symmetry in float32: the entry-by-entry rule with factor 1e-5; a float32 rounding asymmetry is solved with (P + Pᵀ)/2', async (t) => {
  const layer = tfDfwLayer({ backward: 'implicit' })
  const q = tf.tensor2d([[0, -1, 0.5]])
  const hidden = layerError(() => layer({ q, P: tf.tensor2d([[1e10, 0, 0], [0, 1, 1], [0, 0, 1]]), t: 10 }))
  t.equal(hidden?.path, 'P[2][1]', 'the repro of issue 20 is refused at P[2][1]')
  const perInstance = layerError(() => layer({ q: tf.tensor2d([[0, -1, 0.5], [0, -1, 0.5]]), P: tf.tensor3d([[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[1e10, 0, 0], [0, 1, 1], [0, 0, 1]]]), t: 10 }))
  t.equal(perInstance?.path, 'P[1][2][1]', 'per instance, with the batch index')
  // a 2e-7 relative asymmetry, as a float32 matMul leaves it: accepted, and solved as its symmetric part
  const a = Math.fround(0.5), b = Math.fround(0.5 * (1 + 2e-7))
  const P = tf.tensor2d([[2, a, 0], [b, 2, 0], [0, 0, 2]])
  const sym = tf.tensor2d([[2, (a + b) / 2, 0], [(a + b) / 2, 2, 0], [0, 0, 2]])
  const x1 = layer({ q, P, t: 10 }).dataSync(), x2 = layer({ q, P: sym, t: 10 }).dataSync()
  t.ok(maxAbsDiff(x1, x2) <= 1e-6, 'the same x as the symmetric part')
  const gP = tf.grad((P: tf.Tensor) => layer({ q, P, t: 10 }).sum())(P).arraySync() as number[][]
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) t.equal(gP[i]![j], gP[j]![i], `dP[${i}][${j}] = dP[${j}][${i}]`)
  tf.dispose([q, P, sym])
})

t.test('a forward call outside tf.grad creates one tensor, x (no guard tensors are left behind)', async (t) => {
  const layer = tfDfwLayer()
  const q = tf.tensor2d([[1, -2]]), P = tf.eye(2)
  const before = tf.memory().numTensors
  const x = layer({ q, P, t: 1 })
  t.equal(tf.memory().numTensors, before + 1)
  const g = tf.grad((q: tf.Tensor) => layer({ q, P, t: 1 }).sum())(q)
  t.equal(tf.memory().numTensors, before + 2, 'tf.grad leaves only its result')
  tf.dispose([q, P, x, g])
})

t.test('one layer over P tensors that change and come back: every call is a fresh layer\'s, bitwise (x, ∇q, ∇P)', async (t) => {
  const r = rng(2718)
  const options = { schedule: 'paper', backward: 'unrolled', maxIterations: 30, tolerance: 0 } as const
  const a = batchData(r, 3, 4), b = batchData(r, 3, 4), c = batchData(r, 1, 8)
  // [4, 4] Ps from instance 0 of a and of b, a's [3, 4, 4], and an [8, 8] P in between
  const Pa = a.P.subarray(0, 16), Pb = b.P.subarray(0, 16)
  const calls: Array<[string, Float32Array, number[], Float32Array, number]> = [
    ['P_a', Pa, [4, 4], a.q, 3], ['P_a again (a new tensor)', Float32Array.from(Pa), [4, 4], a.q, 3], ['P_b', Pb, [4, 4], a.q, 3],
    ['P_a back', Pa, [4, 4], b.q, 3], ['per instance', a.P, [3, 4, 4], a.q, 3], ['per instance again', Float32Array.from(a.P), [3, 4, 4], b.q, 3],
    ['8 × 8', c.P, [8, 8], Float32Array.from({ length: 16 }, r.normal), 2], ['P_a after 8 × 8', Pa, [4, 4], a.q, 3]
  ]
  const layer = tfDfwLayer(options)
  const run = (l: ReturnType<typeof tfDfwLayer>, P: Float32Array, shape: number[], q: Float32Array, B: number) => {
    const n = shape[shape.length - 1]!
    const qt = tf.tensor2d(q.subarray(0, B * n), [B, n]), Pt = tf.tensor(P, shape), tt = tf.tensor1d(Float32Array.from({ length: B }, () => 0.3))
    const x = l({ q: qt, P: Pt, t: tt })
    const [gq, gP] = tf.grads((q: tf.Tensor, P: tf.Tensor) => l({ q, P, t: tt }).sum())([qt, Pt])
    const out = [x.dataSync(), gq!.dataSync(), gP!.dataSync()].map((d) => Float32Array.from(d))
    tf.dispose([qt, Pt, tt, x, gq!, gP!])
    return out
  }
  for (const [label, P, shape, q, B] of calls) {
    const got = run(layer, P, shape, q, B), fresh = run(tfDfwLayer(options), P, shape, q, B)
    const same = got.map((g, k) => g.length === fresh[k]!.length && g.every((v, i) => Object.is(v, fresh[k]![i])))
    t.same(same, [true, true, true], `${label}: x, ∇q and ∇P as a fresh layer's`)
  }
  // an asymmetric P after a symmetric one with the same layer is still refused
  const bad = Float32Array.from(Pa); bad[1] = bad[1]! + 1
  t.throws(() => layer({ q: tf.tensor2d(a.q.subarray(0, 12), [3, 4]), P: tf.tensor2d(bad, [4, 4]), t: 0.3 }), LayerError, 'a P that differs from the last one is checked again')
})
