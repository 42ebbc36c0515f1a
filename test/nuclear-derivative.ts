/**
 * The nuclear-norm ball's implicit derivative (src/fw/nuclear/Derivative.ts, Manifold.ts) as
 * laws: the JVP agrees with central differences of an independent exact solver
 * (test/helpers/nuclearRef.ts) in q, P and t; for P = c·I it is the closed-form derivative
 * of the full-SVD projection (soft-thresholding of the singular values), on the dense path
 * and on the PCG path; the JVP and the VJP are transposes of one map; and the face report
 * says exact, kink or non-unique where the solution map is, is not, or has no derivative.
 */
import t from 'tap'
import { unsafeDim } from '../src/shapes/Dim.js'
import { type LinearOperator, dense, lowRank } from '../src/core/LinearOperator.js'
import { rng } from '../src/core/Random.js'
import { svd } from '../src/core/Eigen.js'
import { dfwLayer } from '../src/fw/Layer.js'
import type { ParamsTangent } from '../src/fw/Problem.js'
import { projectNuclear, projectionJvp } from '../src/fw/nuclear/Projection.js'
import type { NuclearFaceReport } from '../src/fw/nuclear/Derivative.js'
import { type NucPlain, dotArr, maxAbs, maxDiff, randomPsd, randomSym, referenceSolve } from './helpers/nuclearRef.js'

type N = 'n'
type Rng = ReturnType<typeof rng>
const vecOf = (d: ArrayLike<number>) => ({ dim: unsafeDim<N>(d.length), data: Float64Array.from(d) })
const matOf = (n: number, d: Float64Array) => ({ rows: unsafeDim<N>(n), cols: unsafeDim<N>(n), data: d })
const denseOp = (n: number, A: Float64Array): LinearOperator<N> => dense(matOf(n, A))
const diagOp = (d: Float64Array): LinearOperator<N> => lowRank(vecOf(d), 0, new Float64Array(0))
const randn = (r: Rng, n: number, s = 1): Float64Array => Float64Array.from({ length: n }, () => s * r.normal())
const nuclear = (m: number, p: number) => ({ kind: 'nuclear' as const, rows: m, cols: p })
const faceOf = (f: unknown): NuclearFaceReport => f as NuclearFaceReport

/** −Σ sₐ uₐvₐᵀ for random orthonormal u, v: a Q whose −Q has the given singular values. */
const withSingularValues = (r: Rng, m: number, p: number, s: readonly number[]): Float64Array => {
  const A = svd(randn(r, m * m), m, m).U, B = svd(randn(r, p * p), p, p).U
  const q = new Float64Array(m * p)
  s.forEach((sa, a) => { for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) q[i * p + j] = q[i * p + j]! - sa * A[i * m + a]! * B[j * p + a]! })
  return q
}

/** The pairing ⟨Jᵀc, v⟩ of a VJP result with a tangent in q, P and t. */
const pairing = (g: { q: { data: Float64Array }; t: number; P?: { data: Float64Array } }, v: ParamsTangent<N>): number =>
  (v.q === undefined ? 0 : dotArr(g.q.data, v.q.data)) + (v.t ?? 0) * g.t + (v.P === undefined ? 0 : dotArr(g.P!.data, v.P.data))

// -------------------------------------------------------------------------------------
// against finite differences of the reference
// -------------------------------------------------------------------------------------

interface FdCase { readonly name: string; readonly pb: NucPlain; readonly diag: boolean }

const fdCases = (): FdCase[] => {
  const r = rng(31)
  const out: FdCase[] = []
  for (const [m, p, tt] of [[4, 3, 1], [4, 3, 4], [3, 5, 3], [5, 4, 8], [1, 5, 1], [5, 1, 2], [4, 4, 25]] as const) {
    const n = m * p
    out.push({ name: `dense ${m}×${p} t=${tt}`, pb: { m, p, P: randomPsd(r, n, Math.ceil(n / 2), 0.3), q: randn(r, n, 3), t: tt }, diag: false })
    const D = new Float64Array(n * n)
    for (let i = 0; i < n; i++) D[i * n + i] = 0.5 + r.uniform()
    out.push({ name: `diag ${m}×${p} t=${tt}`, pb: { m, p, P: D, q: randn(r, n, 3), t: tt }, diag: true })
  }
  return out
}

t.test('the JVP in q, t and (dense) P agrees with central differences of the reference, 1e-6 relative', async (t) => {
  const r = rng(32)
  for (const c of fdCases()) {
    const { m, p, P, q, t: tt } = c.pb, n = m * p
    const op = c.diag ? diagOp(Float64Array.from({ length: n }, (_, i) => P[i * n + i]!)) : denseOp(n, P)
    const res = dfwLayer()({ P: op, q: vecOf(q), t: tt, set: nuclear(m, p) })
    t.equal(res.face?.derivative, 'exact', `${c.name}: exact`)
    const dq = randn(r, n), dP = randomSym(r, n), dt = r.normal()
    const dirs: Array<{ name: string; tan: ParamsTangent<N>; at: (h: number) => NucPlain }> = [
      { name: 'q', tan: { q: vecOf(dq) }, at: (h) => ({ ...c.pb, q: q.map((v, i) => v + h * dq[i]!) }) },
      { name: 't', tan: { t: dt }, at: (h) => ({ ...c.pb, t: tt + h * dt }) }
    ]
    if (!c.diag) dirs.push({ name: 'P', tan: { P: matOf(n, dP) }, at: (h) => ({ ...c.pb, P: P.map((v, i) => v + h * dP[i]!) }) })
    for (const d of dirs) {
      const h = 1e-5
      const xp = referenceSolve(d.at(h)), xm = referenceSolve(d.at(-h))
      const fd = xp.map((v, i) => (v - xm[i]!) / (2 * h))
      const jv = res.jvp(d.tan).data
      const err = maxDiff(fd, jv) / Math.max(maxAbs(fd), 1e-3)
      t.ok(err <= 1e-6, `${c.name}: ∂x along ${d.name} (rel err ${err.toExponential(2)})`)
    }
  }
})

t.test('the VJP is the JVP\'s transpose: ⟨c, J v⟩ = ⟨Jᵀc, v⟩ for v in (q, P, t), to 1e-12', async (t) => {
  const r = rng(33)
  for (const c of fdCases()) {
    const { m, p, P, q, t: tt } = c.pb, n = m * p
    const op = c.diag ? diagOp(Float64Array.from({ length: n }, (_, i) => P[i * n + i]!)) : denseOp(n, P)
    const res = dfwLayer()({ P: op, q: vecOf(q), t: tt, set: nuclear(m, p) })
    for (let k = 0; k < 3; k++) {
      const v: ParamsTangent<N> = { q: vecOf(randn(r, n)), t: r.normal(), ...(c.diag ? {} : { P: matOf(n, randomSym(r, n)) }) }
      const ct = randn(r, n)
      const lhs = dotArr(ct, res.jvp(v).data), rhs = pairing(res.vjp(vecOf(ct)), v)
      t.ok(Math.abs(lhs - rhs) <= 1e-12 * Math.max(1, Math.abs(lhs)), `${c.name}: transpose (${lhs} vs ${rhs})`)
    }
    if (!c.diag) t.ok(res.vjp(vecOf(randn(r, n))).P !== undefined, `${c.name}: vjp.P for a dense P`)
  }
})

// -------------------------------------------------------------------------------------
// P = c·I: the projection's closed form
// -------------------------------------------------------------------------------------

t.test('P = c·I: the JVP is the closed-form derivative of the projection, on the dense path and the PCG path', async (t) => {
  const r = rng(34)
  for (const [m, p, s, c] of [
    [4, 3, [5, 3, 1], 1], // dense path (d small)
    [6, 5, [6, 4, 3, 1, 0.5], 2],
    [30, 24, [20, 15, 12, 3, 2, 1.5, 1], 1], // PCG path (d = 3² + 3·54 > 500)
    [18, 40, [10, 9, 8, 7, 2, 1], 0.5]
  ] as const) {
    const n = m * p
    const q = withSingularValues(r, m, p, s).map((v) => v * c)
    // the threshold τ strictly between σ₃ and σ₄ of −Q/c: rank 3
    const s4 = s[3] ?? 0, tau = s[2]! - 0.3 * (s[2]! - s4)
    const tt = s[0]! + s[1]! + s[2]! - 3 * tau
    const res = dfwLayer()({ P: diagOp(new Float64Array(n).fill(c)), q: vecOf(q), t: tt, set: nuclear(m, p) })
    const pr = projectNuclear(q.map((v) => -v / c), m, p, tt)
    t.ok(maxDiff(res.x.data, pr.x) <= 1e-10 * maxAbs(pr.x), `${m}×${p}: x`)
    const f = faceOf(res.face)
    t.equal(f.rank, 3, `${m}×${p}: rank 3`)
    t.ok(Math.abs(f.lambda - c * pr.tau) <= 1e-10 * c * pr.tau, `${m}×${p}: λ = c·τ`)
    t.ok(Math.abs(f.normW - s4 / pr.tau) <= 1e-8, `${m}×${p}: ‖W‖ = σ₄/τ`)
    const dq = randn(r, n), dt = r.normal()
    const want = projectionJvp(pr, dq.map((v) => -v / c), dt)
    const got = res.jvp({ q: vecOf(dq), t: dt }).data
    const err = maxDiff(want, got) / maxAbs(want)
    t.ok(err <= 1e-9, `${m}×${p}: dx = DΠ(−dq/c, dt) (rel err ${err.toExponential(2)})`)
    const ct = randn(r, n)
    const g = res.vjp(vecOf(ct))
    const lhs = dotArr(ct, got), rhs = dotArr(g.q.data, dq) + g.t * dt
    t.ok(Math.abs(lhs - rhs) <= 1e-9 * Math.abs(lhs), `${m}×${p}: transpose (${(Math.abs(lhs - rhs) / Math.abs(lhs)).toExponential(2)})`)
  }
})

// -------------------------------------------------------------------------------------
// the face
// -------------------------------------------------------------------------------------

t.test('the face report: size r(m + p − r) − 1 on the sphere, n inside; the margin\'s parts', async (t) => {
  const r = rng(35)
  const m = 5, p = 4, n = 20
  const q = withSingularValues(r, m, p, [5, 4, 1, 0.5])
  const res = dfwLayer()({ P: diagOp(new Float64Array(n).fill(1)), q: vecOf(q), t: 2, set: nuclear(m, p) })
  const f = faceOf(res.face)
  t.equal(f.rank, 2)
  t.equal(f.size, 2 * (m + p - 2) - 1)
  // −Q = Y: τ with (5 − τ) + (4 − τ) = 2 → τ = 3.5; W = diag(1, 0.5)/τ; σ₂(X) = 0.5
  t.ok(Math.abs(f.normW - 1 / 3.5) <= 1e-10)
  t.ok(Math.abs(f.sMin - 0.5 / 2) <= 1e-12)
  t.ok(Math.abs(f.margin - 0.25) <= 1e-10, 'margin = min(1 − ‖W‖, σ_r/t, …)')
  t.equal(f.derivative, 'exact')
  const inside = dfwLayer()({ P: diagOp(new Float64Array(n).fill(1)), q: vecOf(q), t: 20, set: nuclear(m, p) })
  const fi = faceOf(inside.face)
  t.equal(fi.size, n)
  t.equal(fi.rank, 0)
  t.ok(Math.abs(fi.margin - (1 - 10.5 / 20)) <= 1e-12, 'inside: 1 − ‖X‖_* / t')
  t.equal(fi.derivative, 'exact')
})

t.test('kinks: a singular value of G joining the top ones (‖W‖ = 1), the ball just binding (λ = 0)', async (t) => {
  const r = rng(36)
  const m = 4, p = 4, n = 16
  const I = diagOp(new Float64Array(n).fill(1))
  const q = withSingularValues(r, m, p, [5, 3, 1, 0.5])
  // t = 5 − 3: τ = 3 = σ₂(Y), so X = 2 u₁v₁ᵀ and ‖W‖ = σ₂/τ = 1
  const w1 = dfwLayer()({ P: I, q: vecOf(q), t: 2, set: nuclear(m, p) })
  t.equal(w1.face?.derivative, 'kink', '‖W‖ = 1')
  t.ok(faceOf(w1.face).margin <= 1e-9)
  // the derivative is still the transpose of one map (the rank-1 manifold's)
  const dq = randn(r, n), ct = randn(r, n)
  t.ok(Math.abs(dotArr(ct, w1.jvp({ q: vecOf(dq) }).data) - dotArr(w1.vjp(vecOf(ct)).q.data, dq)) <= 1e-9)
  // t = ‖Y‖_*: the unconstrained point is on the sphere
  const w2 = dfwLayer()({ P: I, q: vecOf(q), t: 9.5, set: nuclear(m, p) })
  t.equal(w2.face?.derivative, 'kink', 'λ = 0')
  // near a kink but not at it: exact, with a small margin, and still the right derivative
  const near = dfwLayer()({ P: I, q: vecOf(q), t: 2 + 1e-4, set: nuclear(m, p) })
  t.equal(near.face?.derivative, 'exact')
  t.ok(faceOf(near.face).margin < 1e-4)
  const pr = projectNuclear(q.map((v) => -v), m, p, 2 + 1e-4)
  t.ok(maxDiff(near.jvp({ q: vecOf(dq) }).data, projectionJvp(pr, dq.map((v) => -v), 0)) <= 1e-7 * maxAbs(projectionJvp(pr, dq.map((v) => -v), 0)))
})

t.test('non-unique: a linear objective with a tied top singular value, and a singular P inside the ball', async (t) => {
  const r = rng(37)
  const m = 3, p = 3, n = 9
  const q = withSingularValues(r, m, p, [2, 2, 1])
  // P = 0 and σ₁(Q) = σ₂(Q): every point of the face {U S Vᵀ : S ⪰ 0, tr S = t} is optimal
  const tied = dfwLayer()({ P: denseOp(n, new Float64Array(n * n)), q: vecOf(q), t: 1, set: nuclear(m, p) })
  t.equal(tied.status, 'converged')
  t.equal(tied.face?.derivative, 'non-unique')
  // a singular P (the first coordinate unobserved) with the ball not binding
  const d = new Float64Array(n).fill(1)
  d[0] = 0
  const qs = randn(r, n, 0.1)
  qs[0] = 0
  const sing = dfwLayer()({ P: diagOp(d), q: vecOf(qs), t: 10, set: nuclear(m, p) })
  t.equal(sing.face?.derivative, 'non-unique')
  // the maps are still transposes of each other
  const dq = randn(r, n), ct = randn(r, n)
  t.ok(Math.abs(dotArr(ct, sing.jvp({ q: vecOf(dq) }).data) - dotArr(sing.vjp(vecOf(ct)).q.data, dq)) <= 1e-10)
})

t.test('inside the ball the derivative is −P⁻¹ in q and 0 in t', async (t) => {
  const r = rng(38)
  const m = 3, p = 4, n = 12
  const P = randomPsd(r, n, 12, 0.5), q = randn(r, n, 0.2)
  const res = dfwLayer()({ P: denseOp(n, P), q: vecOf(q), t: 50, set: nuclear(m, p) })
  t.equal(faceOf(res.face).rank, 0)
  const dq = randn(r, n)
  const dx = res.jvp({ q: vecOf(dq) }).data
  const Pdx = new Float64Array(n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Pdx[i] = Pdx[i]! + P[i * n + j]! * dx[j]!
  t.ok(maxDiff(Pdx, dq.map((v) => -v)) <= 1e-12 * maxAbs(dq), 'P dx = −dq')
  t.equal(maxAbs(res.jvp({ t: 1 }).data), 0, '∂x/∂t = 0')
  t.equal(res.vjp(vecOf(randn(r, n))).t, 0)
  t.equal(res.jvp({}).data.length, n, 'a zero tangent gives a zero vector')
})
