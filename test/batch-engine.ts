// The batched engine (src/fw/batch/, src/fw/Batch.ts, the tfjs op over a batch). A batch's
// Right is bitwise what dfwLayer gives for the instance alone: on the batched fold (the
// paper schedule, unrolled, on l1) and on every configuration that runs per instance. A bad
// instance is a Left with its path and spoils no other. The batched vjp and jvp are
// transposes of each other and agree with central differences. A warm start lands on the
// same x with no more iterations. The tfjs op over a batch is the library's batch.
import t, { type Test } from 'tap'
import * as E from 'fp-ts/lib/Either.js'
import * as tf from '@tensorflow/tfjs'
import { unsafeDim } from '../src/shapes/Dim.js'
import type { Mat } from '../src/shapes/Mat.js'
import type { Vec } from '../src/shapes/Vec.js'
import { type LinearOperator, dense, lowRank, csr } from '../src/core/LinearOperator.js'
import { dfwBatch, dfwBatchSolve, dfwLayer, LayerError, type BatchProblem, type BatchTangent, type LayerOptions, type LayerResult } from '../src/fw/index.js'
import type { Gradients, Params, ParamsTangent, Problem, SetSpec } from '../src/fw/Problem.js'
import { batchValidator } from '../src/fw/batch/Validate.js'
import { solveValidated, type Validated } from '../src/fw/batch/Engine.js'
import { withCall, toGradients, fromTangent } from '../src/fw/Layer.js'
import { Zero } from '../src/core/Tangent.js'
import { tfDfwLayer } from '../src/tfjs/index.js'
import { type N, matOf, randomPlain, rng, vec, dot, maxAbs, maxAbsDiff } from './helpers/layerFixtures.js'
import type { Rng } from '../src/core/Random.js'
import { smallKernels, smallLoops } from '../src/fw/batch/Products.js'
import { setCodegen } from '../src/fw/batch/Codegen.js'

t.before(async () => {
  await tf.setBackend('cpu')
})

// -------------------------------------------------------------------------------------
// fixtures
// -------------------------------------------------------------------------------------

const PAPER_UNROLLED = { schedule: 'paper', backward: 'unrolled' } as const

/** '' when a and b are the same numbers bit for bit (Object.is, entry by entry), else the first difference. */
const bits = (a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined): string => {
  if (a === undefined || b === undefined) return a === b ? '' : `one is undefined (${a === undefined ? 'got' : 'alone'})`
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `[${i}]: ${show(a[i])} vs ${show(b[i])}`
  return ''
}
const show = (v: number | undefined): string => (Object.is(v, -0) ? '-0' : String(v))
const num = (a: number | undefined, b: number | undefined): string => (Object.is(a, b) ? '' : `${show(a)} vs ${show(b)}`)

const dimN = (n: number) => unsafeDim<N>(n)
const rows = <B>(B: number, n: number, data: Float64Array): Mat<B, N> => ({ rows: unsafeDim<B>(B), cols: dimN(n), data })
const row = (m: { readonly data: Float64Array }, b: number, n: number): Float64Array => m.data.subarray(b * n, b * n + n)
const normals = (r: Rng, k: number, s = 1): Float64Array => Float64Array.from({ length: k }, () => s * r.normal())

/** A random PSD n×n matrix BBᵀ/n + μI, row-major. */
const psd = (r: Rng, n: number, mu = 0.5): Float64Array => Float64Array.from(randomPlain(r, n, mu).P)

/** A random symmetric n×n matrix (a tangent of P). */
const symmetric = (r: Rng, n: number): Float64Array => {
  const o = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { const v = r.normal(); o[i * n + j] = v; o[j * n + i] = v }
  return o
}

const denseOp = (n: number, data: Float64Array): LinearOperator<N> => dense(matOf(n, data))
const lowRankOp = (r: Rng, n: number, rank: number): LinearOperator<N> =>
  lowRank(vec(Float64Array.from({ length: n }, () => 0.5 + r.uniform())), rank, normals(r, n * rank, 1 / Math.sqrt(n)))
/** A tridiagonal, diagonally dominant CSR operator. */
const csrOp = (r: Rng, n: number): LinearOperator<N> => {
  const off = Float64Array.from({ length: n - 1 }, () => 0.4 * (r.uniform() - 0.5))
  const rp = [0], ci: number[] = [], vs: number[] = []
  for (let i = 0; i < n; i++) {
    if (i > 0) { ci.push(i - 1); vs.push(off[i - 1]!) }
    ci.push(i); vs.push(1 + r.uniform())
    if (i < n - 1) { ci.push(i + 1); vs.push(off[i]!) }
    rp.push(ci.length)
  }
  const op = csr(dimN(n), rp, ci, vs)
  if (E.isLeft(op)) throw new Error(op.left.message)
  return op.right
}

/** An l1 instance whose radius binds: q of scale `qs`, w in [0.5, 1.5], t a fraction of ‖w ⊙ q‖₁. */
const l1Problem = (r: Rng, P: LinearOperator<N>, n: number, qs = 1, frac = 0.2): Problem<N> => {
  const q = normals(r, n, qs), w = Float64Array.from({ length: n }, () => 0.5 + r.uniform())
  let s = 0
  for (let i = 0; i < n; i++) s += Math.abs(w[i]! * q[i]!)
  return { P, q: vec(q), w: vec(w), t: frac * s / n, set: 'l1' }
}

/** A cotangent and a tangent that exercise every field of the set (P only where it is dense). */
const probes = (r: Rng, n: number, set: SetSpec<N>, isDense: boolean): { readonly ct: Vec<N>; readonly tan: ParamsTangent<N> } => {
  const kind = typeof set === 'string' ? set : set.kind
  const tan: ParamsTangent<N> = {
    q: vec(normals(r, n)),
    ...(isDense ? { P: matOf(n, symmetric(r, n)) } : {}),
    ...(kind === 'l1' ? { w: vec(normals(r, n)) } : {}),
    ...(kind === 'l1' || kind === 'linf' || kind === 'l2' || kind === 'simplex' || kind === 'ksparse' || kind === 'nuclear' ? { t: r.normal() } : {}),
    ...(kind === 'box' ? { lower: vec(normals(r, n)), upper: vec(normals(r, n)) } : {}),
    ...(kind === 'capped-simplex' ? { k: r.normal() } : {})
  }
  return { ct: vec(normals(r, n)), tan }
}

/** Every difference between a batch's result and the instance's result alone ([] when bitwise equal). */
const differences = (got: LayerResult<N>, alone: LayerResult<N>, ct: Vec<N>, tan: ParamsTangent<N>): string[] => {
  const out: string[] = []
  const note = (what: string, d: string): void => { if (d !== '') out.push(`${what} ${d}`) }
  note('x', bits(got.x.data, alone.x.data))
  note('objective', num(got.objective, alone.objective))
  note('gap', num(got.gap, alone.gap))
  note('iterations', num(got.iterations, alone.iterations))
  if (got.status !== alone.status) out.push(`status ${got.status} vs ${alone.status}`)
  if (JSON.stringify(got.face) !== JSON.stringify(alone.face)) out.push(`face ${JSON.stringify(got.face)} vs ${JSON.stringify(alone.face)}`)
  // a random cotangent, a zero one and one with zero entries: the signs of zeros too
  const n = ct.data.length
  const cts: Array<[string, Vec<N>]> = [['', ct], [' (ct = 0)', vec(new Float64Array(n))], [' (ct sparse)', vec(Float64Array.from(ct.data, (v, i) => (i % 3 === 0 ? v : 0)))]]
  const a0 = alone.vjp(ct)
  for (const [c, cv] of cts) {
    const g: Gradients<N> = got.vjp(cv), a: Gradients<N> = alone.vjp(cv)
    note(`vjp.q${c}`, bits(g.q.data, a.q.data))
    note(`vjp.w${c}`, bits(g.w.data, a.w.data))
    note(`vjp.t${c}`, num(g.t, a.t))
    note(`vjp.P${c}`, bits(g.P?.data, a.P?.data))
    note(`vjp.lower${c}`, bits(g.lower?.data, a.lower?.data))
    note(`vjp.upper${c}`, bits(g.upper?.data, a.upper?.data))
    note(`vjp.k${c}`, num(g.k, a.k))
  }
  note('jvp', bits(got.jvp(tan).data, alone.jvp(tan).data))
  // the linear map the result carries (for composing with other maps), both ways
  const dataOf = (v: unknown): Float64Array | undefined => (v === Zero ? undefined : (v as Vec<N>).data)
  note('linear.fwd', bits(dataOf(got.linear.fwd(fromTangent(tan))), dataOf(alone.linear.fwd(fromTangent(tan)))))
  // toGradients reads only the shapes of θ (n, and whether P is dense): q, w, t and P, expanded
  const hasP = a0.P !== undefined
  const shape: Params<N> = { P: hasP ? dense(matOf(n, new Float64Array(n * n))) : lowRank(vec(new Float64Array(n)), 0, new Float64Array(0)), q: alone.x, w: alone.x, t: 1 }
  const lb = toGradients(shape, got.linear.bwd(ct)), la = toGradients(shape, alone.linear.bwd(ct))
  note('linear.bwd q', bits(lb.q.data, la.q.data))
  note('linear.bwd w', bits(lb.w.data, la.w.data))
  note('linear.bwd t', num(lb.t, la.t))
  note('linear.bwd P', bits(lb.P?.data, la.P?.data))
  // and of the symbolic zero
  note('linear.fwd(Zero)', bits(dataOf(got.linear.fwd(Zero)), dataOf(alone.linear.fwd(Zero))))
  const zb = toGradients(shape, got.linear.bwd(Zero)), za = toGradients(shape, alone.linear.bwd(Zero))
  note('linear.bwd(Zero)', bits([...zb.q.data, ...zb.w.data, zb.t, ...(zb.P?.data ?? [])], [...za.q.data, ...za.w.data, za.t, ...(za.P?.data ?? [])]))
  return out
}

/** What the engine did with a batch: which instances ran as one batched fold. */
const groupsOf = (options: LayerOptions, problems: ReadonlyArray<Problem<N>>): ReadonlyArray<readonly number[]> => withCall(() => {
  const v = batchValidator(options)
  const items: Validated<N>[] = problems.map((p) => {
    try { return E.right({ ...v.check(p), problem: p }) } catch (e) { return E.left(e as LayerError) }
  })
  return solveValidated(options, items).groups.map((g) => g.items)
})

/** The path of the LayerError f throws ('no error' / 'not a LayerError' otherwise). */
const thrownPath = (f: () => unknown): string => {
  try { f() } catch (e) { return e instanceof LayerError ? e.path : `not a LayerError: ${String(e)}` }
  return 'no error'
}

/** dfwLayer alone, as a Right, or its error as the Left a batch gives at index i. */
const aloneAt = (options: LayerOptions, p: Problem<N>, i: number): E.Either<LayerError, LayerResult<N>> => {
  try { return E.right(dfwLayer(options)(p)) } catch (e) {
    if (!(e instanceof LayerError)) throw e
    return E.left(new LayerError(e.message, e.path === '' ? `[${i}]` : `[${i}].${e.path}`))
  }
}

/** Checks a batch's outputs against each instance alone: one assertion per instance. */
const checkAgainstAlone = (
  t: Test, label: string, options: LayerOptions, problems: ReadonlyArray<Problem<N>>,
  out: ReadonlyArray<E.Either<LayerError, LayerResult<N>>>, r: Rng
): void => {
  t.equal(out.length, problems.length, `${label}: one result per problem`)
  problems.forEach((p, i) => {
    const got = out[i]!, alone = aloneAt(options, p, i)
    if (E.isLeft(alone) || E.isLeft(got)) {
      t.same(E.isLeft(got) ? { message: got.left.message, path: got.left.path } : 'Right', E.isLeft(alone) ? { message: alone.left.message, path: alone.left.path } : 'Right', `${label} [${i}]: the same error as alone`)
      return
    }
    const n = p.q.data.length
    const { ct, tan } = probes(r, n, p.set ?? 'l1', p.P.kind === 'dense')
    t.same(differences(got.right, alone.right, ct, tan), [], `${label} [${i}]: bitwise dfwLayer alone (x, objective, gap, iterations ${alone.right.iterations}, status, vjp, jvp)`)
  })
}

// -------------------------------------------------------------------------------------
// the batched fold: the paper schedule, unrolled, on l1
// -------------------------------------------------------------------------------------

/**
 * A test of the batched fold, run twice: with the batch's generated small-n code (its row
 * passes and products, the default) and with the loops it unrolls (`setCodegen(false)`, as
 * where code cannot be generated). Both must be bitwise dfwLayer alone.
 */
const bothPaths = (name: string, body: (t: Test) => Promise<void>): void => {
  for (const on of [true, false]) {
    t.test(`${name} [${on ? 'generated code' : 'loops'}]`, async (t) => {
      const was = setCodegen(on)
      try { await body(t) } finally { setCodegen(was) }
    })
  }
}

bothPaths('batched fold, shared dense P: every instance bitwise dfwLayer alone, instances stopping at different steps', async (t) => {
  for (const n of [6, 24]) {
    const r = rng(100 + n)
    const P = denseOp(n, psd(r, n))
    // q scales over four decades and radii from tight to loose: the relative-change test
    // fires at different steps, so the live masks matter
    const problems = [1, 1e-2, 30, 0.3, 3, 1e2].map((qs, b) => l1Problem(r, P, n, qs, [0.05, 0.2, 0.5, 1, 0.1, 2][b]!))
    const options = { ...PAPER_UNROLLED, maxIterations: 400 }
    t.same(groupsOf(options, problems), [problems.map((_, i) => i)], `n = ${n}: one batched fold ran every instance`)
    const out = dfwBatch(options)(problems)
    checkAgainstAlone(t, `n = ${n}`, options, problems, out, r)
    const its = out.map((o) => (E.isRight(o) ? o.right.iterations : -1))
    t.ok(new Set(its).size >= 3, `n = ${n}: the instances stopped at different steps (${its.join(', ')})`)
    t.ok(out.some((o) => E.isRight(o) && o.right.status === 'converged'), `n = ${n}: some instance converged`)
  }
})

t.test('batched fold, shared diagonal + low-rank P and a CSR P: bitwise dfwLayer alone', async (t) => {
  const r = rng(7)
  const n = 20
  for (const [name, P] of [['diag + low rank', lowRankOp(r, n, 3)], ['csr', csrOp(r, n)]] as const) {
    const problems = [1, 0.1, 10, 1].map((qs, b) => l1Problem(r, P, n, qs, [0.1, 0.3, 0.05, 3][b]!))
    const options = { ...PAPER_UNROLLED, maxIterations: 300 }
    t.same(groupsOf(options, problems), [[0, 1, 2, 3]], `${name}: one batched fold`)
    checkAgainstAlone(t, name, options, problems, dfwBatch(options)(problems), r)
  }
})

bothPaths('batched fold, per-instance P (dense, two sharing one object, low rank, CSR): bitwise dfwLayer alone', async (t) => {
  for (const n of [5, 17]) {
    const r = rng(40 + n)
    const Pa = denseOp(n, psd(r, n))
    const ops = [denseOp(n, psd(r, n)), Pa, lowRankOp(r, n, 2), Pa, csrOp(r, n), denseOp(n, psd(r, n, 2))]
    const problems = ops.map((P, b) => l1Problem(r, P, n, [1, 5, 0.2, 1, 2, 0.05][b]!, [0.2, 0.1, 0.4, 0.7, 0.15, 1][b]!))
    const modes: LayerOptions[] = [{ ...PAPER_UNROLLED, maxIterations: 250 }, { ...PAPER_UNROLLED, maxIterations: 40, tolerance: 0 }, { ...PAPER_UNROLLED, maxIterations: 60, tolerance: 1e-3, beta0: 0.1 }]
    for (const options of modes) {
      const label = `n = ${n}, K = ${options.maxIterations}, tol = ${options.tolerance ?? 'default'}`
      t.same(groupsOf(options, problems), [[0, 1, 2, 3, 4, 5]], `${label}: one batched fold`)
      checkAgainstAlone(t, label, options, problems, dfwBatch(options)(problems), r)
    }
  }
})

bothPaths('the batched run\'s own tape, the generic fold past the tape budget, and checkpoints: the same numbers, bitwise dfwLayer alone', async (t) => {
  const n = 12
  const r = rng(58)
  const Pa = denseOp(n, psd(r, n))
  const ops = [Pa, denseOp(n, psd(r, n)), Pa, lowRankOp(r, n, 2), Pa]
  const problems = ops.map((P, b) => l1Problem(r, P, n, [1, 4, 0.3, 1, 20][b]!, [0.2, 0.1, 0.6, 0.3, 0.05][b]!))
  const base = { ...PAPER_UNROLLED, maxIterations: 40, tolerance: 0 }
  // 0.001 MB: the own tape (5·B·n numbers a step) outgrows it at once, and the fold checkpoints
  const modes: Array<[string, LayerOptions]> = [['own tape', base], ['tape budget 1 kB', { ...base, tapeBudgetMB: 0.001 }], ['checkpoint 7', { ...base, checkpoint: 7 }]]
  const sols = modes.map(([label, options]) => {
    t.same(groupsOf(options, problems), [[0, 1, 2, 3, 4]], `${label}: one batched fold`)
    checkAgainstAlone(t, label, options, problems, dfwBatch(options)(problems), r)
    const Q = new Float64Array(5 * n), W = new Float64Array(5 * n), T = new Float64Array(5)
    problems.forEach((p, b) => { Q.set(p.q.data, b * n); W.set(p.w!.data, b * n); T[b] = p.t! })
    return dfwBatchSolve(options)({ P: ops, q: rows(5, n, Q), w: rows(5, n, W), t: { dim: unsafeDim(5), data: T } })
  })
  const C = normals(r, 5 * n), dQ = normals(r, 5 * n)
  const [g0, ...gs] = sols.map((s) => s.vjp(rows(5, n, C)))
  const [j0, ...js] = sols.map((s) => s.jvp({ q: rows(5, n, dQ) }))
  gs.forEach((g, k) => {
    const each = g.pEach(), each0 = g0!.pEach()
    t.same(
      [bits(sols[k + 1]!.x.data, sols[0]!.x.data), bits(g.q.data, g0!.q.data), bits(g.w.data, g0!.w.data), bits(g.t.data, g0!.t.data), bits(g.pSum().data, g0!.pSum().data), ...each.map((m, b) => bits(m?.data, each0[b]?.data)), bits(js[k]!.data, j0!.data)],
      Array.from({ length: 6 + 5 }, () => ''), `${modes[k + 1]![0]}: x, the batched vjp (q, w, t, pSum, pEach) and jvp bitwise the own tape's`
    )
  })
})

t.test('the generated small-n products (n < 16) are the loops\' numbers bitwise, zeros\' signs included, at any offsets', async (t) => {
  const r = rng(91)
  for (let n = 1; n < 16; n++) {
    const m = 9
    // entries of every kind: normal, ±0, tiny, huge (sums that overflow to ±Infinity)
    const pick = (): number => { const u = r.uniform(); return u < 0.15 ? -0 : u < 0.25 ? 0 : u < 0.3 ? 1e-310 * r.normal() : u < 0.33 ? 1e300 * r.normal() : r.normal() }
    const A = Float64Array.from({ length: n * n }, pick), X = Float64Array.from({ length: m * n }, pick)
    for (const trans of [false, true]) {
      const want = new Float64Array(m * n), got = new Float64Array(m * n).fill(NaN)
      smallLoops(A, n, trans, X, m, want)
      smallKernels(n)[trans ? 1 : 0](A, X, m, got, 0, 0)
      // one row between offsets of a larger block, the rest untouched
      const Xo = new Float64Array((m + 2) * n).fill(7), Yo = new Float64Array((m + 3) * n).fill(5)
      Xo.set(X.subarray(n, 2 * n), 2 * n)
      smallKernels(n)[trans ? 1 : 0](A, Xo, 1, Yo, 2 * n, 3 * n)
      const untouched = Yo.every((v, k) => (k >= 3 * n && k < 4 * n) || v === 5)
      t.same([bits(got, want), bits(Yo.subarray(3 * n, 4 * n), want.subarray(n, 2 * n)), untouched], ['', '', true], `n = ${n}, ${trans ? 'Aᵀ x' : 'A x'}`)
    }
  }
})

bothPaths('batched fold, B = 1: the single problem', async (t) => {
  const r = rng(3)
  for (const n of [4, 33]) {
    const p = l1Problem(r, denseOp(n, psd(r, n)), n)
    const options = { ...PAPER_UNROLLED }
    checkAgainstAlone(t, `n = ${n}`, options, [p], dfwBatch(options)([p]), r)
    // and through the arrays API
    const sol = dfwBatchSolve(options)({ P: p.P, q: rows(1, n, Float64Array.from(p.q.data)), w: p.w!, t: p.t! })
    const alone = dfwLayer(options)(p)
    t.equal(bits(sol.x.data, alone.x.data), '', `n = ${n}: dfwBatchSolve's x`)
    const ct = normals(r, n)
    const g = sol.vjp(rows(1, n, ct)), a = alone.vjp(vec(ct))
    t.same([bits(g.q.data, a.q.data), bits(g.w.data, a.w.data), num(g.t.data[0], a.t), bits(g.pEach()[0]?.data, a.P?.data)], ['', '', '', ''], `n = ${n}: dfwBatchSolve's vjp (q, w, t, P)`)
  }
})

t.test('batched fold, dfwBatchSolve: rows of x, the batched vjp (pEach) and jvp equal each instance alone, pSum their sum', async (t) => {
  const r = rng(12)
  const B = 7, n = 18
  const P = denseOp(n, psd(r, n))
  const problems = Array.from({ length: B }, (_, b) => l1Problem(r, P, n, 10 ** (b % 3 - 1), 0.05 + 0.2 * b))
  const Q = new Float64Array(B * n), W = new Float64Array(B * n), T = new Float64Array(B)
  problems.forEach((p, b) => { Q.set(p.q.data, b * n); W.set(p.w!.data, b * n); T[b] = p.t! })
  const options = { ...PAPER_UNROLLED, maxIterations: 300 }
  const sol = dfwBatchSolve(options)({ P, q: rows(B, n, Q), w: rows(B, n, W), t: { dim: unsafeDim(B), data: T } })
  const C = normals(r, B * n), dQ = normals(r, B * n), dW = normals(r, B * n), dT = normals(r, B)
  const dP = problems.map(() => matOf(n, symmetric(r, n)))
  const g = sol.vjp(rows(B, n, C))
  const dx = sol.jvp({ q: rows(B, n, dQ), w: rows(B, n, dW), t: { dim: unsafeDim(B), data: dT }, P: dP })
  const each = g.pEach()
  const sum = new Float64Array(n * n)
  const its = new Set<number>()
  problems.forEach((p, b) => {
    const alone = dfwLayer(options)(p)
    its.add(alone.iterations)
    const a = alone.vjp(vec(row({ data: C }, b, n)))
    const j = alone.jvp({ q: vec(row({ data: dQ }, b, n)), w: vec(row({ data: dW }, b, n)), t: dT[b]!, P: dP[b]! })
    t.same(
      [bits(row(sol.x, b, n), alone.x.data), bits(row(g.q, b, n), a.q.data), bits(row(g.w, b, n), a.w.data), num(g.t.data[b], a.t), bits(each[b]?.data, a.P!.data), bits(row({ data: dx.data }, b, n), j.data)],
      ['', '', '', '', '', ''], `[${b}]: x, vjp (q, w, t, P) and jvp bitwise alone (${alone.iterations} steps)`
    )
    a.P!.data.forEach((v, k) => { sum[k] = sum[k]! + v })
  })
  t.ok(its.size >= 3, `the instances stopped at different steps (${[...its].join(', ')})`)
  t.ok(maxAbsDiff(g.pSum().data, sum) <= 1e-12 * maxAbs(sum), `pSum is the sum of the instances' P gradients (max diff ${maxAbsDiff(g.pSum().data, sum).toExponential(2)})`)
})

bothPaths('an instance the layer solves rescaled (t = 1e-170; P and q ~ 1e-300) runs as it does alone (the layer\'s own path)', async (t) => {
  const r = rng(31)
  const n = 5
  const P = denseOp(n, psd(r, n))
  const base = l1Problem(r, P, n)
  const tiny = { ...base, t: 1e-170 }
  // the objective's terms ~ 1e-300: rescaled by s_f
  const faint = { ...base, P: denseOp(n, Float64Array.from((base.P as { mat: Mat<N, N> }).mat.data, (v) => v * 1e-300)), q: vec(Array.from(base.q.data, (v) => v * 1e-300)) }
  const problems = [base, tiny, l1Problem(r, P, n), faint]
  const options = { ...PAPER_UNROLLED, maxIterations: 50, tolerance: 0 }
  t.same(groupsOf(options, problems), [[0, 2]], 'the two at ordinary scales run batched, the rescaled ones per instance')
  checkAgainstAlone(t, 'scales', options, problems, dfwBatch(options)(problems), r)
})

// -------------------------------------------------------------------------------------
// every other configuration: per instance, bitwise
// -------------------------------------------------------------------------------------

/** The sets of the table, on n = 9 (the Birkhoff polytope's m = 3, the nuclear ball's 3 × 3). */
const tableSets = (r: Rng): ReadonlyArray<{ readonly name: string; readonly set: SetSpec<N>; readonly t?: number; readonly w?: boolean }> => [
  { name: 'l1', set: 'l1', t: 0.3, w: true },
  { name: 'linf', set: 'linf', t: 0.15 },
  { name: 'l2', set: 'l2', t: 0.4 },
  { name: 'simplex', set: 'simplex', t: 1 },
  { name: 'box', set: { kind: 'box', lower: vec(Float64Array.from({ length: 9 }, () => -0.1 - 0.3 * r.uniform())), upper: vec(Float64Array.from({ length: 9 }, () => 0.05 + 0.3 * r.uniform())) } },
  { name: 'capped-simplex', set: { kind: 'capped-simplex', k: 2.5 } },
  { name: 'ksparse', set: { kind: 'ksparse', k: 3 }, t: 0.2 },
  { name: 'birkhoff', set: { kind: 'birkhoff' } },
  { name: 'nuclear', set: { kind: 'nuclear', rows: 3, cols: 3 }, t: 0.5 }
]

const tableModes: ReadonlyArray<{ readonly name: string; readonly options: LayerOptions }> = [
  { name: 'default schedule, implicit (the defaults)', options: {} },
  { name: 'default schedule, unrolled', options: { backward: 'unrolled', maxIterations: 300 } },
  { name: 'paper schedule, implicit', options: { schedule: 'paper', backward: 'implicit' } },
  { name: 'paper schedule, unrolled', options: { ...PAPER_UNROLLED, maxIterations: 200 } },
  { name: 'default schedule, implicit, tolerance 1e-3', options: { tolerance: 1e-3 } }
]

t.test('every mode × set the engine runs per instance: dfwBatch equals dfwLayer alone, bitwise (a shared P and one of its own)', async (t) => {
  const r = rng(55)
  const n = 9
  const shared = denseOp(n, psd(r, n))
  for (const s of tableSets(r)) {
    const problems: Problem<N>[] = [shared, shared, lowRankOp(r, n, 2), denseOp(n, psd(r, n))].map((P) => ({
      P, q: vec(normals(r, n)), set: s.set,
      ...(s.t === undefined ? {} : { t: s.t }),
      ...(s.w === true ? { w: vec(Float64Array.from({ length: n }, () => 0.5 + r.uniform())) } : {})
    }))
    for (const m of tableModes) {
      const label = `${m.name} on ${s.name}`
      const batched = s.name === 'l1' && m.options.schedule === 'paper' && m.options.backward === 'unrolled'
      t.same(groupsOf(m.options, problems).length, batched ? 1 : 0, `${label}: ${batched ? 'the batched fold' : 'per instance'}`)
      checkAgainstAlone(t, label, m.options, problems, dfwBatch(m.options)(problems), r)
    }
  }
})

t.test('the paper schedule on a set without a smoothed oracle: each instance the Left it gets alone', async (t) => {
  const r = rng(8)
  const n = 9
  for (const s of tableSets(r).filter((x) => ['box', 'capped-simplex', 'ksparse', 'birkhoff'].includes(x.name))) {
    const p: Problem<N> = { P: denseOp(n, psd(r, n)), q: vec(normals(r, n)), set: s.set, ...(s.t === undefined ? {} : { t: s.t }) }
    const out = dfwBatch(PAPER_UNROLLED)([p, p])
    t.same(out.map((o) => (E.isLeft(o) ? o.left.path : 'Right')), ['[0].options.schedule', '[1].options.schedule'], `${s.name}: options.schedule`)
    checkAgainstAlone(t, `paper on ${s.name}`, PAPER_UNROLLED, [p, p], out, r)
  }
})

// -------------------------------------------------------------------------------------
// bad instances
// -------------------------------------------------------------------------------------

bothPaths('a bad instance (NaN in q, wrong length, a non-PSD P) is a Left with its path; the others equal their solo results', async (t) => {
  const r = rng(77)
  const n = 8
  const P = denseOp(n, psd(r, n))
  const good = () => l1Problem(r, P, n, 1, 0.2)
  const nanQ = (() => { const p = good(); const q = Float64Array.from(p.q.data); q[3] = NaN; return { ...p, q: vec(q) } })()
  const longQ = { ...good(), q: vec(normals(r, n + 1)) }
  const shortW = { ...good(), w: vec([1, 1, 1]) }
  // negative curvature: a negative diagonal entry, and an indefinite P with a positive diagonal
  const negDiag = (() => { const a = psd(r, n); a[2 * n + 2] = -0.5; return { ...good(), P: denseOp(n, a) } })()
  const indefinite = (() => {
    const a = new Float64Array(n * n)
    for (let i = 0; i < n; i++) a[i * n + i] = 1
    a[1] = 3; a[n] = 3
    return { ...good(), P: denseOp(n, a) }
  })()
  const asym = (() => { const a = psd(r, n); a[1] = a[1]! + 0.5; return { ...good(), P: denseOp(n, a) } })()
  const problems = [good(), nanQ, good(), longQ, negDiag, good(), shortW, indefinite, asym, good()]
  // the indefinite P with a positive diagonal has to be found by the run itself: a run that
  // claims convergence (or the implicit mode) certifies P; the unrolled fold of exactly K
  // steps claims nothing, and then (alone as in a batch) it is not refused unless a step meets
  // the negative curvature
  const expected: Record<number, string> = { 1: '[1].q[3]', 3: '[3].P', 4: '[4].P', 6: '[6].w', 7: '[7].P', 8: '[8].P[1][0]' }
  const modes: Array<[LayerOptions, boolean]> = [[{ ...PAPER_UNROLLED, maxIterations: 200 }, true], [{ ...PAPER_UNROLLED, maxIterations: 30, tolerance: 0 }, false], [{}, true], [{ backward: 'unrolled' }, true]]
  for (const [options, certifies] of modes) {
    const label = JSON.stringify(options)
    const out = dfwBatch(options)(problems)
    for (const [i, path] of Object.entries(expected)) {
      if (i === '7' && !certifies) continue
      const o = out[Number(i)]!
      t.equal(E.isLeft(o) ? o.left.path : 'Right', path, `${label}: [${i}] is a Left at ${path}${E.isLeft(o) ? ` (${o.left.message.slice(0, 60)}…)` : ''}`)
    }
    const ind = out[7]!
    if (certifies) t.ok(E.isLeft(ind) && /positive semidefinite/.test(ind.left.message), `${label}: the indefinite P is refused as not PSD`)
    checkAgainstAlone(t, label, options, problems, out, r)
  }
  // the arrays API: a failed row is zero in x and in the gradients
  const B = 3
  const Q = new Float64Array(B * n)
  for (let b = 0; b < B; b++) Q.set(good().q.data, b * n)
  Q[n + 2] = NaN
  const sol = dfwBatchSolve({ ...PAPER_UNROLLED })({ P, q: rows(B, n, Q), t: 0.3 })
  t.same(sol.results.map((o) => (E.isLeft(o) ? o.left.path : 'Right')), ['Right', '[1].q[2]', 'Right'], 'dfwBatchSolve: the NaN row is the Left at [1].q[2]')
  const g = sol.vjp(rows(B, n, new Float64Array(B * n).fill(1)))
  t.equal(maxAbs(row(sol.x, 1, n)) + maxAbs(row(g.q, 1, n)) + Math.abs(g.t.data[1]!), 0, 'its rows of x and of the gradient are zero')
  t.ok(maxAbs(row(g.q, 0, n)) > 0 && maxAbs(row(g.q, 2, n)) > 0, 'the other rows are not')
  t.equal(g.pEach()[1], undefined, 'no P gradient for the failed instance')
})

t.test('a batch whose arrays do not fit throws a LayerError at the field', async (t) => {
  const n = 4, B = 2
  const P = denseOp(n, psd(rng(1), n))
  const q = rows(B, n, new Float64Array(B * n).fill(1))
  const cases: Array<[string, unknown, string]> = [
    ['q not a Mat', { P, q: [1, 2] }, 'q'],
    ['one operator too few', { P: [P], q }, 'P'],
    ['w of the wrong length', { P, q, w: vec([1, 1]) }, 'w'],
    ['t of the wrong length', { P, q, t: { dim: unsafeDim(3), data: new Float64Array(3).fill(1) } }, 't']
  ]
  for (const [name, batch, path] of cases) {
    try {
      dfwBatchSolve({})(batch as BatchProblem<unknown, N>)
      t.fail(`${name}: accepted`)
    } catch (e) {
      t.equal(e instanceof LayerError ? e.path : String(e), path, `${name}: path ${path}`)
    }
  }
  const sol = dfwBatchSolve({ ...PAPER_UNROLLED })({ P, q, t: 0.5 })
  const bad = new Float64Array(B * n).fill(1); bad[5] = Infinity
  t.equal(thrownPath(() => sol.vjp(rows(B, n, bad))), 'cotangent[1][1]', 'a non-finite cotangent names its entry')
  t.equal(thrownPath(() => sol.jvp({ q: rows(B, n + 1, new Float64Array(B * (n + 1))) })), 'tangent.q', 'a tangent of the wrong shape names its field')
})

// -------------------------------------------------------------------------------------
// the batched derivatives: transposes, and central differences
// -------------------------------------------------------------------------------------

/** ⟨C, J v⟩ and ⟨Jᵀ C, v⟩ for a batch, v in q, w, t and per-instance P (and a shared P tangent). */
const transposePair = <B>(options: LayerOptions, batch: BatchProblem<B, N>, B: number, n: number, r: Rng, withW: boolean) => {
  const sol = dfwBatchSolve(options)(batch)
  const C = normals(r, B * n), dQ = normals(r, B * n), dW = normals(r, B * n), dT = normals(r, B)
  const dP = Array.from({ length: B }, () => matOf(n, symmetric(r, n)))
  const dPshared = matOf(n, symmetric(r, n))
  const tan: BatchTangent<B, N> = { q: rows(B, n, dQ), ...(withW ? { w: rows(B, n, dW) } : {}), t: { dim: unsafeDim<B>(B), data: dT }, P: dP }
  const Jv = sol.jvp(tan).data
  const g = sol.vjp(rows(B, n, C))
  const each = g.pEach()
  let rhs = dot(g.q.data, dQ) + (withW ? dot(g.w.data, dW) : 0) + dot(g.t.data, dT)
  for (let b = 0; b < B; b++) rhs += dot(each[b]!.data, dP[b]!.data)
  const JvShared = sol.jvp({ P: dPshared }).data
  return { lhs: dot(C, Jv), rhs, lhsShared: dot(C, JvShared), rhsShared: dot(g.pSum().data, dPshared.data), sol, Jv }
}

const relGap = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-300)

t.test('the batched vjp and jvp are transposes: ⟨C, J v⟩ = ⟨Jᵀ C, v⟩ (batched fold and per instance)', async (t) => {
  const r = rng(90)
  const B = 5, n = 12
  const P = denseOp(n, psd(r, n))
  const Q = normals(r, B * n), W = Float64Array.from({ length: B * n }, () => 0.5 + r.uniform())
  const T = Float64Array.from({ length: B }, () => 0.1 + 0.4 * r.uniform())
  const shared: BatchProblem<'b', N> = { P, q: rows(B, n, Q), w: rows(B, n, W), t: { dim: unsafeDim<'b'>(B), data: T } }
  const own: BatchProblem<'b', N> = { ...shared, P: Array.from({ length: B }, () => denseOp(n, psd(r, n))) }
  const modes: Array<[string, LayerOptions, boolean]> = [
    ['batched fold (paper, unrolled), K = 80, tol 0', { ...PAPER_UNROLLED, maxIterations: 80, tolerance: 0 }, true],
    ['batched fold, the paper stop test', { ...PAPER_UNROLLED }, true],
    ['implicit (per instance)', {}, true],
    ['default schedule, unrolled (per instance)', { backward: 'unrolled', maxIterations: 200 }, true],
    ['implicit on the simplex (per instance)', { tolerance: 1e-9 }, false]
  ]
  for (const [name, options, l1] of modes) {
    for (const [pname, batch] of [['shared P', shared], ['per-instance P', own]] as const) {
      const b: BatchProblem<'b', N> = l1 ? batch : { P: batch.P, q: batch.q, t: 1, set: 'simplex' }
      const { lhs, rhs, lhsShared, rhsShared, Jv } = transposePair(options, b, B, n, r, l1)
      t.ok(maxAbs(Jv) > 0, `${name}, ${pname}: J v is not zero`)
      t.ok(relGap(lhs, rhs) <= 1e-12, `${name}, ${pname}: ⟨C, J v⟩ = ${lhs.toPrecision(16)}, ⟨Jᵀ C, v⟩ = ${rhs.toPrecision(16)} (rel ${relGap(lhs, rhs).toExponential(2)})`)
      t.ok(relGap(lhsShared, rhsShared) <= 1e-12, `${name}, ${pname}: one P tangent for every instance against pSum (rel ${relGap(lhsShared, rhsShared).toExponential(2)})`)
    }
  }
})

t.test('the batched fold\'s jvp agrees with central differences of the batch (q, w, t, P at once)', async (t) => {
  const r = rng(5)
  const B = 4, n = 6, K = 25
  const Pd = psd(r, n)
  // L fixed: the power iteration's L is a constant for differentiation, so the differences must not move it
  let L = 0
  for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += Math.abs(Pd[i * n + j]!); L = Math.max(L, s) }
  const options = { ...PAPER_UNROLLED, maxIterations: K, tolerance: 0, lipschitz: L }
  const Q = normals(r, B * n), W = Float64Array.from({ length: B * n }, () => 0.5 + r.uniform()), T = Float64Array.from({ length: B }, () => 0.2 + 0.3 * r.uniform())
  const dQ = normals(r, B * n), dW = normals(r, B * n), dT = normals(r, B), dPd = symmetric(r, n)
  const at = (h: number) => {
    const P = denseOp(n, Float64Array.from(Pd, (v, k) => v + h * dPd[k]!))
    return dfwBatchSolve(options)<'b', N>({
      P, q: rows(B, n, Float64Array.from(Q, (v, k) => v + h * dQ[k]!)), w: rows(B, n, Float64Array.from(W, (v, k) => v + h * dW[k]!)),
      t: { dim: unsafeDim<'b'>(B), data: Float64Array.from(T, (v, k) => v + h * dT[k]!) }
    })
  }
  const sol = at(0)
  const Jv = sol.jvp({ q: rows(B, n, dQ), w: rows(B, n, dW), t: { dim: unsafeDim<'b'>(B), data: dT }, P: matOf(n, dPd) }).data
  const h = 1e-6
  const xp = at(h).x.data, xm = at(-h).x.data
  const fd = Float64Array.from(xp, (v, k) => (v - xm[k]!) / (2 * h))
  for (let b = 0; b < B; b++) {
    const e = maxAbsDiff(row({ data: Jv }, b, n), row({ data: fd }, b, n)) / Math.max(maxAbs(row({ data: fd }, b, n)), 1e-12)
    t.ok(e <= 1e-6, `[${b}]: J v against (x(θ + hv) − x(θ − hv)) / 2h, rel ${e.toExponential(2)}`)
  }
  // and the vjp through the same map: ⟨C, fd⟩ = ⟨Jᵀ C, v⟩
  const C = normals(r, B * n)
  const g = sol.vjp(rows(B, n, C))
  const rhs = dot(g.q.data, dQ) + dot(g.w.data, dW) + dot(g.t.data, dT) + dot(g.pSum().data, dPd)
  t.ok(relGap(dot(C, fd), rhs) <= 1e-6, `⟨C, fd⟩ = ${dot(C, fd).toPrecision(10)} against ⟨Jᵀ C, v⟩ = ${rhs.toPrecision(10)}`)
})

// -------------------------------------------------------------------------------------
// warm start
// -------------------------------------------------------------------------------------

t.test('dfwBatchSolve\'s warm start: the same x (to the tolerance), no more iterations than cold, in the implicit mode', async (t) => {
  const r = rng(64)
  const B = 6, n = 20
  const P = denseOp(n, psd(r, n))
  const Q = normals(r, B * n)
  const Qmoved = Float64Array.from(Q, (v) => v + 1e-3 * r.normal())
  const box = { kind: 'box' as const, lower: vec(new Float64Array(n).fill(-0.2)), upper: vec(new Float64Array(n).fill(0.15)) }
  const cases: Array<[string, Omit<BatchProblem<'b', N>, 'q'>]> = [
    ['l1', { P, t: 0.4 }],
    ['simplex', { P, t: 1, set: 'simplex' }],
    ['box', { P, set: box }],
    ['birkhoff (no projection: the point is kept when it lies in the set)', { P: denseOp(16, psd(r, 16)), set: { kind: 'birkhoff' } }]
  ]
  for (const [name, rest] of cases) {
    const m = (rest.P as LinearOperator<N>).dim as number
    const q0 = rows<'b'>(B, m, Q.slice(0, B * m)), q1 = rows<'b'>(B, m, Qmoved.slice(0, B * m))
    const solve = dfwBatchSolve({})
    const cold = solve({ ...rest, q: q0 })
    for (const [what, q] of [['the same batch', q0], ['q moved by 1e-3', q1]] as const) {
      const coldHere = what === 'the same batch' ? cold : solve({ ...rest, q })
      const warm = solve({ ...rest, q }, cold)
      let coldIts = 0, warmIts = 0
      for (let b = 0; b < B; b++) {
        const c = coldHere.results[b]!, w = warm.results[b]!
        if (!E.isRight(c) || !E.isRight(w)) { t.fail(`${name}, ${what} [${b}]: a Left`); continue }
        coldIts += c.right.iterations
        warmIts += w.right.iterations
        const d = maxAbsDiff(w.right.x.data, c.right.x.data)
        t.ok(d <= 1e-9 * Math.max(1, maxAbs(c.right.x.data)) && w.right.iterations <= c.right.iterations && w.right.status === 'converged',
          `${name}, ${what} [${b}]: |Δx| = ${d.toExponential(2)}, iterations ${w.right.iterations} ≤ ${c.right.iterations}, ${w.right.status}`)
      }
      t.ok(warmIts < coldIts, `${name}, ${what}: the warm start saved iterations (${warmIts} < ${coldIts})`)
    }
    // a start far from the answer (and outside the set) is projected or dropped: the same x
    const far = solve({ ...rest, q: q0 }, { x: rows<'b'>(B, m, normals(r, B * m, 10)) })
    let worst = 0
    for (let b = 0; b < B; b++) {
      const c = cold.results[b]!, f = far.results[b]!
      if (!E.isRight(c) || !E.isRight(f)) { t.fail(`${name}, far start [${b}]: a Left`); continue }
      worst = Math.max(worst, maxAbsDiff(f.right.x.data, c.right.x.data) / Math.max(1, maxAbs(c.right.x.data)))
    }
    t.ok(worst <= 1e-9, `${name}: a start far outside the set lands on the cold x (rel ${worst.toExponential(2)})`)
  }
})

t.test('a warm start does not change the unrolled modes (bitwise cold), and one of the wrong shape is refused at `warm`', async (t) => {
  const r = rng(65)
  const B = 4, n = 10
  const P = denseOp(n, psd(r, n))
  const q = rows<'b'>(B, n, normals(r, B * n))
  for (const options of [{ ...PAPER_UNROLLED }, { backward: 'unrolled' as const, maxIterations: 200 }]) {
    const cold = dfwBatchSolve(options)({ P, q, t: 0.3 })
    const warm = dfwBatchSolve(options)({ P, q, t: 0.3 }, cold)
    const ct = rows<'b'>(B, n, normals(r, B * n))
    t.same([bits(warm.x.data, cold.x.data), bits(warm.vjp(ct).q.data, cold.vjp(ct).q.data), warm.results.map((o) => E.isRight(o) && o.right.iterations).join()],
      ['', '', cold.results.map((o) => E.isRight(o) && o.right.iterations).join()], `${JSON.stringify(options)}: bitwise the cold solve`)
  }
  t.equal(thrownPath(() => dfwBatchSolve({})({ P, q, t: 0.3 }, { x: rows(B, n + 1, new Float64Array(B * (n + 1))) })), 'warm', 'x of the wrong shape: path warm')
})

// -------------------------------------------------------------------------------------
// the tfjs op on a batch
// -------------------------------------------------------------------------------------

/** A batch as float32 tensors' data: q, w per instance, t per instance, one shared P. */
const f32Batch = (r: Rng, B: number, n: number) => {
  const P = Float32Array.from(psd(r, n))
  // exactly symmetric in float32, so the op solves with P itself
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) P[j * n + i] = P[i * n + j]!
  return {
    q: Float32Array.from(normals(r, B * n)),
    w: Float32Array.from({ length: B * n }, () => 0.5 + r.uniform()),
    t: Float32Array.from({ length: B }, () => 0.1 + 0.3 * r.uniform()),
    P
  }
}

/** The library's batch on the same numbers (float32 read as float64). */
const libraryBatch = (d: ReturnType<typeof f32Batch>, B: number, n: number, options: LayerOptions) => {
  const P = denseOp(n, Float64Array.from(d.P))
  const problems: Problem<N>[] = Array.from({ length: B }, (_, b) => ({
    P, q: vec(d.q.subarray(b * n, b * n + n)), w: vec(d.w.subarray(b * n, b * n + n)), t: d.t[b]!
  }))
  const out = dfwBatch(options)(problems).map((o) => { if (E.isLeft(o)) throw o.left; return o.right })
  return { out, problems }
}

t.test('the tfjs op on a batch: x is dfwBatch\'s, tf.grad of Σx in q the library vjp, a shared P\'s gradient the sum of the instances\'', async (t) => {
  const configs: Array<[string, LayerOptions, number, number]> = [
    ['batched fold (paper, unrolled), K = 60', { ...PAPER_UNROLLED, maxIterations: 60, tolerance: 0 }, 16, 12],
    ['batched fold, the paper stop test', { ...PAPER_UNROLLED }, 8, 20],
    ['batched fold, B = 64, n = 2, K = 10', { ...PAPER_UNROLLED, maxIterations: 10, tolerance: 0 }, 64, 2],
    ['implicit (per instance)', {}, 6, 10]
  ]
  for (const [name, options, B, n] of configs) {
    const r = rng(B * 100 + n)
    const d = f32Batch(r, B, n)
    const q = tf.tensor2d(d.q, [B, n]), w = tf.tensor2d(d.w, [B, n]), tt = tf.tensor1d(d.t), P = tf.tensor2d(d.P, [n, n])
    const layer = tfDfwLayer(options)
    const lib = libraryBatch(d, B, n, options)
    const x = layer({ q, w, t: tt, P })
    const libX = new Float32Array(B * n)
    lib.out.forEach((o, b) => libX.set(Float32Array.from(o.x.data), b * n))
    t.equal(bits(x.dataSync(), libX), '', `${name}: x is dfwBatch's x in float32, bitwise`)
    const [gq, gP] = tf.grads((q: tf.Tensor, P: tf.Tensor) => layer({ q, w, t: tt, P }).sum())([q, P])
    const ones = vec(new Float64Array(n).fill(1))
    const libGq = new Float32Array(B * n), sumP = new Float64Array(n * n)
    lib.out.forEach((o, b) => {
      const g = o.vjp(ones)
      libGq.set(Float32Array.from(g.q.data), b * n)
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) sumP[i * n + j] = sumP[i * n + j]! + (g.P!.data[i * n + j]! + g.P!.data[j * n + i]!) / 2
    })
    t.equal(bits(gq!.dataSync(), libGq), '', `${name}: tf.grad of Σx in q is the library vjp in float32, bitwise`)
    const gPd = gP!.dataSync()
    t.ok(maxAbsDiff(gPd, sumP) <= 1e-6 * Math.max(1, maxAbs(sumP)), `${name}: the shared P's gradient is Σ_b (G_b + G_bᵀ)/2 (max diff ${maxAbsDiff(gPd, sumP).toExponential(2)}, scale ${maxAbs(sumP).toExponential(2)})`)
    t.ok(maxAbs(gPd) > 0, `${name}: and it is not zero`)
    // one P per instance ([B, n, n], the same numbers): each instance's own gradient
    const Pb = tf.tensor3d(Float32Array.from({ length: B * n * n }, (_, k) => d.P[k % (n * n)]!), [B, n, n])
    const gPb = tf.grad((P: tf.Tensor) => layer({ q, w, t: tt, P }).sum())(Pb).dataSync()
    let worst = 0
    lib.out.forEach((o, b) => {
      const g = o.vjp(ones).P!.data
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        const want = (g[i * n + j]! + g[j * n + i]!) / 2
        worst = Math.max(worst, Math.abs(gPb[b * n * n + i * n + j]! - want) / Math.max(1, maxAbs(g)))
      }
    })
    t.ok(worst <= 2e-7, `${name}: a [B, n, n] P's gradient is each instance's (G_b + G_bᵀ)/2 (rel ${worst.toExponential(2)})`)
    tf.dispose([q, w, tt, P, Pb, x, gq!, gP!])
  }
})

t.test('the tfjs op on a batch never returns ±Infinity or NaN for valid input; invalid input throws a LayerError at its path', async (t) => {
  const r = rng(404)
  const B = 8, n = 5
  let finite = 0, refused = 0
  for (const options of [{ ...PAPER_UNROLLED, maxIterations: 60 }, {}] as LayerOptions[]) {
    const layer = tfDfwLayer(options)
    for (const qs of [1e-30, 1e-8, 1, 1e8, 1e30]) {
      for (const ts of [1e-30, 1e-3, 1, 1e20]) {
        const d = f32Batch(r, B, n)
        const q = tf.tensor2d(d.q.map((v) => Math.fround(v * qs)), [B, n]), tt = tf.tensor1d(d.t.map((v) => Math.fround(v * ts))), P = tf.tensor2d(d.P, [n, n])
        try {
          const [x, gq, gt] = tf.tidy(() => {
            const x = layer({ q, t: tt, P })
            const [gq, gt] = tf.grads((q: tf.Tensor, tt: tf.Tensor) => layer({ q, t: tt, P }).sum())([q, tt])
            return [x.dataSync(), gq!.dataSync(), gt!.dataSync()]
          })
          const ok = [x!, gq!, gt!].every((a) => a.every(Number.isFinite))
          t.ok(ok, `${JSON.stringify(options)}, q × ${qs}, t × ${ts}: x and the gradients are finite`)
          finite++
        } catch (e) {
          // a result beyond float32 is refused as the contract says, with a path
          t.ok(e instanceof LayerError && e.path !== '', `${JSON.stringify(options)}, q × ${qs}, t × ${ts}: refused with a path (${(e as Error).message.slice(0, 80)})`)
          refused++
        }
        tf.dispose([q, tt, P])
      }
    }
  }
  t.ok(finite >= 30, `most scales give finite results (${finite} finite, ${refused} refused)`)
  const layer = tfDfwLayer({ ...PAPER_UNROLLED })
  const d = f32Batch(r, B, n)
  const qBad = Float32Array.from(d.q); qBad[2 * n + 1] = NaN
  const tBad = Float32Array.from(d.t); tBad[5] = 0
  const asym = Float32Array.from(d.P); asym[1] = asym[1]! + 1
  const indefinite = new Float32Array(n * n); for (let i = 0; i < n; i++) indefinite[i * n + i] = 1; indefinite[1] = 3; indefinite[n] = 3
  const cases: Array<[string, () => unknown, string]> = [
    ['NaN in q[2][1]', () => layer({ q: tf.tensor2d(qBad, [B, n]), t: tf.tensor1d(d.t), P: tf.tensor2d(d.P, [n, n]) }), 'q[2][1]'],
    ['t[5] = 0', () => layer({ q: tf.tensor2d(d.q, [B, n]), t: tf.tensor1d(tBad), P: tf.tensor2d(d.P, [n, n]) }), 't[5]'],
    ['an asymmetric P', () => layer({ q: tf.tensor2d(d.q, [B, n]), t: tf.tensor1d(d.t), P: tf.tensor2d(asym, [n, n]) }), 'P[1][0]'],
    ['an indefinite P', () => layer({ q: tf.tensor2d(d.q, [B, n]), t: tf.tensor1d(d.t), P: tf.tensor2d(indefinite, [n, n]) }), 'P'],
    ['an indefinite P inside tf.grad', () => tf.grad((q: tf.Tensor) => layer({ q, t: tf.tensor1d(d.t), P: tf.tensor2d(indefinite, [n, n]) }).sum())(tf.tensor2d(d.q, [B, n])), 'P']
  ]
  for (const [name, f, path] of cases) {
    try {
      f()
      t.fail(`${name}: no error`)
    } catch (e) {
      t.ok(e instanceof LayerError && e.path === path, `${name}: a LayerError at ${path} (got ${e instanceof LayerError ? e.path : String(e)})`)
    }
  }
})

t.test('the tfjs op with warmStart: the next pass starts from the last x and lands on the same x', async (t) => {
  const r = rng(9)
  const B = 8, n = 16
  const d = f32Batch(r, B, n)
  const q = tf.tensor2d(d.q, [B, n]), tt = tf.tensor1d(d.t), P = tf.tensor2d(d.P, [n, n])
  const its: number[][] = []
  const layer = tfDfwLayer({ warmStart: true, onSolve: (rs) => its.push(rs.map((o) => o.iterations)) })
  const cold = layer({ q, t: tt, P }).dataSync()
  const warm = layer({ q, t: tt, P }).dataSync()
  t.ok(maxAbsDiff(warm, cold) <= 1e-6 * Math.max(1, maxAbs(cold)), `x again (max diff ${maxAbsDiff(warm, cold).toExponential(2)})`)
  const sum = (a: number[]) => a.reduce((s, v) => s + v, 0)
  t.ok(its[1]!.every((v, b) => v <= its[0]![b]!) && sum(its[1]!) < sum(its[0]!), `iterations per instance ${its[1]!.join(',')} ≤ ${its[0]!.join(',')}`)
  tf.dispose([q, tt, P])
})
