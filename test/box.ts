/**
 * The box lowerᵢ ≤ xᵢ ≤ upperᵢ (CONTRACT "More sets"), the first set with its own steps:
 * the implicit mode's x and derivatives (q, P, lower, upper) against an exact reference —
 * every face enumerated for n ≤ 6 (each coordinate at its lower bound, its upper bound or
 * free), the one whose solution satisfies the KKT conditions — and central finite
 * differences; the transpose law; the unrolled mode (SetStep.ts) converging to the same x
 * with a derivative that tends to the implicit one; feasibility of every iterate; the CLI.
 */
import t from 'tap'
import { withDim } from '../src/shapes/Dim.js'
import { dense } from '../src/core/LinearOperator.js'
import { dfwLayer, type LayerOptions } from '../src/fw/Layer.js'
import { runText } from '../src/cli/solve.js'
import { rng } from '../src/core/Random.js'

interface Box { P: Float64Array; q: Float64Array; lo: Float64Array; hi: Float64Array; n: number }

const gen = (n: number, seed: number, cond = 1): Box => {
  const r = rng(seed)
  const A = Float64Array.from({ length: n * n }, () => r.normal())
  const P = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0
    for (let k = 0; k < n; k++) s += A[k * n + i]! * A[k * n + j]! * (k === 0 ? 1 : cond ** (-k / (n - 1)))
    P[i * n + j] = s + (i === j ? 1e-3 : 0)
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) { const m = 0.5 * (P[i * n + j]! + P[j * n + i]!); P[i * n + j] = m; P[j * n + i] = m }
  return {
    P, n,
    q: Float64Array.from({ length: n }, () => 3 * r.normal()),
    lo: Float64Array.from({ length: n }, () => -0.3 - r.uniform()),
    hi: Float64Array.from({ length: n }, () => 0.2 + r.uniform())
  }
}

/** Gaussian elimination with partial pivoting (an independent dense solve). */
const gauss = (A: number[][], b: number[]): number[] => {
  const m = b.length, M = A.map((row, i) => [...row, b[i]!])
  for (let c = 0; c < m; c++) {
    let p = c
    for (let r = c + 1; r < m; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r
    ;[M[c], M[p]] = [M[p]!, M[c]!]
    for (let r = c + 1; r < m; r++) { const f = M[r]![c]! / M[c]![c]!; for (let k = c; k <= m; k++) M[r]![k] = M[r]![k]! - f * M[c]![k]! }
  }
  const x = new Array<number>(m).fill(0)
  for (let r = m - 1; r >= 0; r--) { let s = M[r]![m]!; for (let k = r + 1; k < m; k++) s -= M[r]![k]! * x[k]!; x[r] = s / M[r]![r]! }
  return x
}

/** The exact minimizer by enumerating faces (3ⁿ), and its face (−1 lower, 1 upper, 0 free). */
const exact = (b: Box): { x: number[]; face: number[] } => {
  const n = b.n
  let best: { x: number[]; face: number[]; f: number } | undefined
  for (let code = 0; code < 3 ** n; code++) {
    const face = Array.from({ length: n }, (_, i) => (Math.floor(code / 3 ** i) % 3) - 1)
    const x = face.map((s, i) => (s < 0 ? b.lo[i]! : s > 0 ? b.hi[i]! : 0))
    const F = face.flatMap((s, i) => (s === 0 ? [i] : []))
    if (F.length > 0) {
      const A = F.map((i) => F.map((j) => b.P[i * n + j]!))
      const rhs = F.map((i) => { let s = -b.q[i]!; for (let j = 0; j < n; j++) if (face[j] !== 0) s -= b.P[i * n + j]! * x[j]!; return s })
      const xf = gauss(A, rhs)
      F.forEach((i, k) => { x[i] = xf[k]! })
    }
    if (x.some((v, i) => v < b.lo[i]! - 1e-12 || v > b.hi[i]! + 1e-12)) continue
    const g = x.map((_, i) => { let s = b.q[i]!; for (let j = 0; j < n; j++) s += b.P[i * n + j]! * x[j]!; return s })
    if (face.some((s, i) => (s < 0 && g[i]! < -1e-10) || (s > 0 && g[i]! > 1e-10))) continue
    let f = 0
    for (let i = 0; i < n; i++) f += x[i]! * (0.5 * (g[i]! - b.q[i]!) + b.q[i]!)
    if (best === undefined || f < best.f) best = { x, face, f }
  }
  return best!
}

const layer = (b: Box, options: LayerOptions = {}) => withDim(b.n, (n) => {
  const r = dfwLayer(options)({ P: dense({ rows: n, cols: n, data: b.P }), q: { dim: n, data: b.q }, set: { kind: 'box', lower: { dim: n, data: b.lo }, upper: { dim: n, data: b.hi } } })
  return {
    x: Array.from(r.x.data), status: r.status, face: r.face, iterations: r.iterations,
    vjp: (c: number[]) => { const g = r.vjp({ dim: n, data: Float64Array.from(c) }); return { q: Array.from(g.q.data), lower: Array.from(g.lower!.data), upper: Array.from(g.upper!.data), P: Array.from(g.P!.data) } },
    jvp: (d: { q?: number[]; lower?: number[]; upper?: number[] }) => Array.from(r.jvp({
      ...(d.q ? { q: { dim: n, data: Float64Array.from(d.q) } } : {}),
      ...(d.lower ? { lower: { dim: n, data: Float64Array.from(d.lower) } } : {}),
      ...(d.upper ? { upper: { dim: n, data: Float64Array.from(d.upper) } } : {})
    }).data)
  }
})

const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i]!, 0)
const relErr = (a: number[], b: number[]): number => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0)) / Math.max(Math.sqrt(dot(b, b)), 1e-300)

const CASES = [1, 2, 3, 4, 5, 6].map((seed) => ({ seed, b: gen(seed % 3 + 3, seed, seed > 3 ? 1e6 : 1) }))

t.test('the implicit x is the exact minimizer (every face enumerated), certified, face exact', async (t) => {
  for (const { seed, b } of CASES) {
    const e = exact(b), r = layer(b)
    t.ok(relErr(r.x, e.x) <= 1e-12, `seed ${seed}: x relative error ${relErr(r.x, e.x).toExponential(2)}`)
    t.equal(r.status, 'converged', `seed ${seed}: status`)
    t.equal(r.face?.derivative, 'exact', `seed ${seed}: face`)
    t.equal(r.face?.size, e.face.filter((s) => s === 0).length, `seed ${seed}: the face's dimension is its free coordinates`)
  }
})

t.test('jvp in q, lower and upper agrees with central differences of the exact solution, and vjp is its transpose', async (t) => {
  for (const { seed, b } of CASES) {
    const r = layer(b), rr = rng(100 + seed), n = b.n
    const e0 = exact(b)
    for (const which of ['q', 'lower', 'upper'] as const) {
      const d = Array.from({ length: n }, () => rr.normal())
      const h = 1e-6
      const shifted = (s: number): Box => ({ ...b, q: which === 'q' ? b.q.map((v, i) => v + s * d[i]!) : b.q, lo: which === 'lower' ? b.lo.map((v, i) => v + s * d[i]!) : b.lo, hi: which === 'upper' ? b.hi.map((v, i) => v + s * d[i]!) : b.hi })
      const xp = exact(shifted(h)), xm = exact(shifted(-h))
      if (xp.face.join() !== e0.face.join() || xm.face.join() !== e0.face.join()) continue // the face moved within ±h: no derivative to compare
      const fd = xp.x.map((v, i) => (v - xm.x[i]!) / (2 * h))
      const jv = r.jvp({ [which]: d })
      t.ok(relErr(jv, fd) <= 1e-6 || Math.sqrt(dot(fd, fd)) < 1e-9 && Math.sqrt(dot(jv, jv)) < 1e-9, `seed ${seed} d${which}: relative error ${relErr(jv, fd).toExponential(2)}`)
      const c = Array.from({ length: n }, () => rr.normal())
      const g = r.vjp(c)
      const lhs = dot(c, jv), rhs = dot(g[which], d)
      t.ok(Math.abs(lhs - rhs) <= 1e-12 * (Math.abs(lhs) + Math.sqrt(dot(c, c) * dot(jv, jv))), `seed ${seed} ${which}: ⟨c, Jd⟩ = ${lhs}, ⟨Jᵀc, d⟩ = ${rhs}`)
    }
  }
})

t.test('the unrolled mode converges to the same x, stays in the box, and its derivative tends to the implicit one', async (t) => {
  for (const { seed, b } of CASES.slice(0, 3)) {
    const e = exact(b)
    const u = layer(b, { backward: 'unrolled', tolerance: 1e-13, maxIterations: 20000 }), imp = layer(b)
    t.ok(relErr(u.x, e.x) <= 1e-5, `seed ${seed}: unrolled x relative error ${relErr(u.x, e.x).toExponential(2)} after ${u.iterations} steps`)
    t.ok(u.x.every((v, i) => v >= b.lo[i]! - 1e-15 && v <= b.hi[i]! + 1e-15), 'in the box')
    const c = Array.from({ length: b.n }, (_, i) => Math.cos(i + seed))
    const gu = u.vjp(c), gi = imp.vjp(c)
    for (const k of ['q', 'lower', 'upper'] as const) {
      const cos = dot(gu[k], gi[k]) / Math.sqrt(dot(gu[k], gu[k]) * dot(gi[k], gi[k]) || 1)
      t.ok(cos >= 0.999 || (dot(gi[k], gi[k]) < 1e-20 && dot(gu[k], gu[k]) < 1e-6), `seed ${seed} ∇${k}: cosine ${cos}`)
    }
    // the unrolled map's transpose law
    const d = Array.from({ length: b.n }, (_, i) => Math.sin(3 * i + seed))
    const jl = u.jvp({ lower: d })
    t.ok(Math.abs(dot(c, jl) - dot(gu.lower, d)) <= 1e-10 * (Math.abs(dot(c, jl)) + 1), `seed ${seed}: unrolled transpose law in lower`)
  }
})

t.test('dfw solve takes the box in its object form and writes its own gradients (lower, upper) and face', async (t) => {
  const out = runText(JSON.stringify({ P: [[2, 0.5], [0.5, 1]], q: [-1, 1], set: { kind: 'box', lower: [-1, -1], upper: [0.2, 0.3] }, cotangent: [1, 0] }), dfwLayer)
  t.equal(out.code, 0, out.stderr)
  const r = JSON.parse(out.stdout) as { x: number[]; vjp: Record<string, unknown>; face: { derivative: string } }
  t.same(r.x, [0.2, -1])
  t.same(Object.keys(r.vjp).sort(), ['P', 'lower', 'q', 'upper'])
  t.same(r.vjp['upper'], [1, 0])
  t.equal(r.face.derivative, 'exact')
  const paper = runText(JSON.stringify({ P: [[2, 0.5], [0.5, 1]], q: [-1, 1], set: { kind: 'box', lower: [-1, -1], upper: [0.2, 0.3] }, options: { schedule: 'paper' } }), dfwLayer)
  t.equal(paper.code, 2)
  t.match(JSON.parse(paper.stderr), { error: { path: 'options.schedule' } })
})

t.test('a coordinate at its bound with a zero multiplier is a kink, and the derivative the smallest face\'s', async (t) => {
  // P = I, x = clip(−q): q₀ = −upper₀ exactly puts x₀ on its bound with g₀ = 0
  const b: Box = { n: 3, P: Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1), q: Float64Array.of(-0.5, 0.1, 2), lo: Float64Array.of(-1, -1, -1), hi: Float64Array.of(0.5, 1, 1) }
  const r = layer(b)
  t.same(r.x, [0.5, -0.1, -1])
  t.equal(r.face?.derivative, 'kink')
  // on the smallest face x₀ stays at upper₀: dx₀/dq₀ = 0, dx₀/dupper₀ = 1
  t.same(r.jvp({ q: [1, 0, 0] }), [0, 0, 0])
  t.same(r.jvp({ upper: [1, 0, 0] }), [1, 0, 0])
})
