/**
 * The nuclear-norm ball (src/fw/sets/Nuclear.ts, src/fw/nuclear/*): the full-SVD projection
 * and its closed-form derivative, the set's oracle and measures, the solver against an
 * independent reference (accelerated projected gradient with full-SVD projections,
 * test/helpers/nuclearRef.ts) for every form of P and shape, and the error paths, through
 * the library and through `dfw solve`.
 */
import t from 'tap'
import { unsafeDim } from '../src/shapes/Dim.js'
import { type LinearOperator, csr, dense, lowRank } from '../src/core/LinearOperator.js'
import * as E from 'fp-ts/lib/Either.js'
import { rng } from '../src/core/Random.js'
import { svd } from '../src/core/Eigen.js'
import { LayerError, dfwLayer } from '../src/fw/Layer.js'
import { projectNuclear, projectionJvp, projectionVjp, simplexThreshold } from '../src/fw/nuclear/Projection.js'
import { nuclearSet } from '../src/fw/sets/Nuclear.js'
import { resolveSet } from '../src/fw/sets/Sets.js'
import type { NuclearFaceReport } from '../src/fw/nuclear/Derivative.js'
import { runText } from '../src/cli/solve.js'
import { type NucPlain, dotArr, maxAbs, maxDiff, nuclearNorm, randomPsd, referenceSolve } from './helpers/nuclearRef.js'

type N = 'n'
const vecOf = (d: ArrayLike<number>) => ({ dim: unsafeDim<N>(d.length), data: Float64Array.from(d) })
const denseOp = (n: number, A: Float64Array): LinearOperator<N> => dense({ rows: unsafeDim<N>(n), cols: unsafeDim<N>(n), data: A })
const diagOp = (d: Float64Array): LinearOperator<N> => lowRank(vecOf(d), 0, new Float64Array(0))
const randn = (r: ReturnType<typeof rng>, n: number, s = 1): Float64Array => Float64Array.from({ length: n }, () => s * r.normal())
const nuclear = (m: number, p: number) => ({ kind: 'nuclear' as const, rows: m, cols: p })
/** The path of the LayerError f throws ('' when it returns, 'not a LayerError' otherwise). */
const errorPath = (f: () => unknown): string => {
  try { f() } catch (e) { return e instanceof LayerError ? e.path : 'not a LayerError' }
  return ''
}
const rows = (n: number, A: Float64Array): number[][] => Array.from({ length: n }, (_, i) => Array.from(A.subarray(i * n, (i + 1) * n)))

// -------------------------------------------------------------------------------------
// the projection
// -------------------------------------------------------------------------------------

t.test('simplexThreshold: the soft threshold of the singular values', async (t) => {
  t.same(simplexThreshold(Float64Array.of(3, 1), 1), { tau: 2, active: 1 })
  t.same(simplexThreshold(Float64Array.of(0.5, 0.2), 1), { tau: 0, active: 2 }, 'inside: no threshold')
  const { tau, active } = simplexThreshold(Float64Array.of(4, 3, 1), 3)
  t.equal(active, 2)
  t.ok(Math.abs(4 - tau + 3 - tau - 3) < 1e-15, 'Σ (σ − τ)₊ = t')
})

t.test('projectNuclear: feasible, idempotent, and the variational inequality holds', async (t) => {
  const r = rng(11)
  for (const [m, p, tt] of [[4, 3, 1], [3, 5, 2], [5, 5, 0.5], [1, 6, 1], [6, 1, 0.3]] as const) {
    const y = randn(r, m * p, 2)
    const pr = projectNuclear(y, m, p, tt)
    t.ok(nuclearNorm(pr.x, m, p) <= tt * (1 + 1e-12), `${m}×${p}: ‖Π(Y)‖_* ≤ t`)
    t.ok(maxDiff(projectNuclear(pr.x, m, p, tt).x, pr.x) <= 1e-12, `${m}×${p}: Π(Π(Y)) = Π(Y)`)
    // ⟨Y − Π(Y), Z − Π(Y)⟩ ≤ 0 for points Z of the ball
    let worst = -Infinity
    for (let k = 0; k < 20; k++) {
      const z = projectNuclear(randn(r, m * p, 3), m, p, tt).x
      worst = Math.max(worst, dotArr(y.map((v, i) => v - pr.x[i]!), z.map((v, i) => v - pr.x[i]!)))
    }
    t.ok(worst <= 1e-12, `${m}×${p}: the projection's variational inequality (worst ${worst.toExponential(2)})`)
  }
  // a vector (1 × p) projects onto the l2 ball
  const y = Float64Array.of(3, 4)
  t.ok(maxDiff(projectNuclear(y, 1, 2, 1).x, [0.6, 0.8]) < 1e-15, 'a 1 × p matrix: the l2 ball')
  t.ok(projectNuclear(Float64Array.of(0.1, 0.2, 0, 0.1), 2, 2, 5).inside, 'inside: the identity')
})

t.test('the projection\'s closed-form derivative agrees with central differences, in Y and t', async (t) => {
  const r = rng(12)
  for (const [m, p, tt] of [[4, 3, 2], [3, 5, 1.5], [5, 5, 4], [2, 6, 0.7]] as const) {
    const y = randn(r, m * p, 2), dy = randn(r, m * p)
    const pr = projectNuclear(y, m, p, tt)
    const h = 1e-6
    const fd = projectNuclear(y.map((v, i) => v + h * dy[i]!), m, p, tt).x.map((v, i) => (v - projectNuclear(y.map((w, j) => w - h * dy[j]!), m, p, tt).x[i]!) / (2 * h))
    const jv = projectionJvp(pr, dy, 0)
    t.ok(maxDiff(fd, jv) <= 1e-6 * Math.max(1, maxAbs(fd)), `${m}×${p}: dY (err ${maxDiff(fd, jv).toExponential(2)})`)
    const fdt = projectNuclear(y, m, p, tt + h).x.map((v, i) => (v - projectNuclear(y, m, p, tt - h).x[i]!) / (2 * h))
    const jt = projectionJvp(pr, new Float64Array(m * p), 1)
    t.ok(maxDiff(fdt, jt) <= 1e-6, `${m}×${p}: dt`)
    // the transpose: ⟨c, J(dY, dt)⟩ = ⟨Jᵀc, (dY, dt)⟩
    const c = randn(r, m * p), dt = r.normal()
    const lhs = dotArr(c, projectionJvp(pr, dy, dt))
    const g = projectionVjp(pr, c)
    const rhs = dotArr(g.y, dy) + g.t * dt
    t.ok(Math.abs(lhs - rhs) <= 1e-12 * Math.max(1, Math.abs(lhs)), `${m}×${p}: the transpose law`)
  }
  const inside = projectNuclear(Float64Array.of(0.1, 0.2, 0, 0.1), 2, 2, 5)
  t.same(Array.from(projectionJvp(inside, Float64Array.of(1, 2, 3, 4), 1)), [1, 2, 3, 4], 'inside: the identity, t does not enter')
  t.equal(projectionVjp(inside, Float64Array.of(1, 0, 0, 0)).t, 0)
})

// -------------------------------------------------------------------------------------
// the set
// -------------------------------------------------------------------------------------

t.test('the set: resolveSet builds it; reach, size, the oracle\'s value, violation, projection', async (t) => {
  const r = rng(13)
  const m = 4, p = 3, n = 12
  const theta = { P: diagOp(new Float64Array(n).fill(1)), q: vecOf(randn(r, n)), w: vecOf(new Float64Array(n).fill(1)), t: 2 }
  const C = resolveSet('nuclear', theta, { rows: m, cols: p })
  t.equal(C.kind, 'nuclear')
  t.equal(C.size, 2)
  t.ok(C.reach.every((v) => v === 2))
  const g = randn(r, n)
  t.ok(Math.abs(C.lmoValue(g) + 2 * svd(g, m, p).s[0]!) <= 1e-13 * 2 * svd(g, m, p).s[0]!, 'lmoValue = −t σ₁(G)')
  t.ok(Math.abs(C.lmoValue(g) + 2 * svd(g, m, p).s[0]!) <= 1e-13 * 2 * svd(g, m, p).s[0]!, 'the same from a warm start')
  const x = projectNuclear(randn(r, n, 3), m, p, 2).x
  t.ok(C.violation(x) <= 1e-12)
  t.ok(Math.abs(C.violation(x.map((v) => 2 * v)) - 2) < 1e-12, 'violation = ‖X‖_* − t outside')
  t.equal(C.violation(Float64Array.from(x, (v, i) => (i === 0 ? NaN : v))), Infinity)
  const out = new Float64Array(n)
  const y = randn(r, n, 3)
  C.project!(y, out)
  t.ok(maxDiff(out, projectNuclear(y, m, p, 2).x) === 0)
  t.equal(C.params.rhs({ t: 1, k: 0 }, 0), 0)
  t.equal(C.params.bound({ t: 1, k: 0 }, 0, 0), 0)
  C.params.boundT({ w: new Float64Array(1), t: 0, k: 0 }, 0, 0, 1)
  C.params.rhsT({ w: new Float64Array(1), t: 0, k: 0 }, 0, 1)
  t.equal(nuclearSet(2, 3, 1).n, 6)
})

// -------------------------------------------------------------------------------------
// the solver against the reference
// -------------------------------------------------------------------------------------

interface Case { readonly name: string; readonly pb: NucPlain; readonly op: (A: Float64Array) => LinearOperator<N> }

const asDense = (pb: NucPlain) => (A: Float64Array) => denseOp(pb.m * pb.p, A)
const asDiag = (pb: NucPlain) => (A: Float64Array) => { const n = pb.m * pb.p; return diagOp(Float64Array.from({ length: n }, (_, i) => A[i * n + i]!)) }

const cases = (): Case[] => {
  const r = rng(21)
  const out: Case[] = []
  for (const [m, p] of [[4, 3], [3, 5], [5, 5], [1, 6], [6, 1], [2, 2]] as const) {
    const n = m * p
    for (const tt of [0.4, 3, 12, 60]) {
      const P = randomPsd(r, n, Math.max(2, Math.ceil(n / 2)), 0.3)
      const q = randn(r, n, 3)
      const pb = { m, p, P, q, t: tt }
      out.push({ name: `dense ${m}×${p} t=${tt}`, pb, op: asDense(pb) })
      const D = new Float64Array(n * n)
      for (let i = 0; i < n; i++) D[i * n + i] = 0.5 + r.uniform()
      const pd = { m, p, P: D, q, t: tt }
      out.push({ name: `diag ${m}×${p} t=${tt}`, pb: pd, op: asDiag(pd) })
    }
  }
  return out
}

t.test('x agrees with the reference (1e-9 relative) and is certified, for dense and diagonal P, every shape, binding or not', async (t) => {
  for (const c of cases()) {
    const { m, p, P, q, t: tt } = c.pb, n = m * p
    const res = dfwLayer()({ P: c.op(P), q: vecOf(q), t: tt, set: nuclear(m, p) })
    const ref = referenceSolve(c.pb)
    const err = maxDiff(res.x.data, ref) / Math.max(maxAbs(ref), 1e-300)
    t.ok(err <= 1e-9, `${c.name}: x (rel err ${err.toExponential(2)})`)
    t.equal(res.status, 'converged', `${c.name}: converged`)
    t.ok(res.gap <= 1e-9 * Math.abs(res.objective) + 1e-13 * (1 + Math.abs(res.objective)), `${c.name}: the gap certifies it`)
    t.ok(nuclearNorm(res.x.data, m, p) <= tt * (1 + 1e-12), `${c.name}: feasible`)
    t.ok(res.face !== undefined && n > 0)
  }
})

t.test('the forms of P agree: diagonal plus low rank and CSR give the dense x', async (t) => {
  const r = rng(22)
  const m = 4, p = 3, n = 12, rk = 2
  const d = Float64Array.from({ length: n }, () => 0.3 + r.uniform()), Z = randn(r, n * rk, 0.7)
  const A = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = i === j ? d[i]! : 0
    for (let l = 0; l < rk; l++) s += Z[i * rk + l]! * Z[j * rk + l]!
    A[i * n + j] = s
  }
  const q = randn(r, n, 3)
  const lr = lowRank(vecOf(d), rk, Z)
  const rp: number[] = [0], ci: number[] = [], vs: number[] = []
  for (let i = 0; i < n; i++) { for (let j = 0; j < n; j++) { ci.push(j); vs.push(A[i * n + j]!) } rp.push(ci.length) }
  const sp = E.getOrElseW(() => { throw new Error('bad csr') })(csr(unsafeDim<N>(n), rp, ci, vs))
  for (const tt of [1, 4]) {
    const ref = referenceSolve({ m, p, P: A, q, t: tt })
    for (const [name, P] of [['dense', denseOp(n, A)], ['lowRank', lr], ['csr', sp]] as const) {
      const res = dfwLayer()({ P, q: vecOf(q), t: tt, set: nuclear(m, p) })
      t.ok(maxDiff(res.x.data, ref) <= 1e-9 * maxAbs(ref), `${name} t=${tt}: x`)
      t.equal(res.status, 'converged')
    }
  }
})

t.test('P = c·I: x is the full-SVD projection of −Q/c, up to 300 × 300 entries… at 40 × 30', async (t) => {
  const r = rng(23)
  for (const [m, p, rk, c] of [[40, 30, 3, 1], [12, 20, 2, 2.5], [25, 25, 5, 0.5]] as const) {
    const n = m * p
    const A = randn(r, m * rk), B = randn(r, p * rk)
    const q = new Float64Array(n)
    for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) {
      let s = 0
      for (let l = 0; l < rk; l++) s += A[i * rk + l]! * B[j * rk + l]!
      q[i * p + j] = -(s + 0.2 * r.normal())
    }
    const tt = 0.4 * Math.sqrt(n) * rk
    const res = dfwLayer()({ P: diagOp(new Float64Array(n).fill(c)), q: vecOf(q), t: tt, set: nuclear(m, p) })
    const pr = projectNuclear(q.map((v) => -v / c), m, p, tt)
    t.ok(maxDiff(res.x.data, pr.x) <= 1e-10 * maxAbs(pr.x), `${m}×${p}, c = ${c}: x = Π(−Q/c)`)
    t.equal((res.face as NuclearFaceReport).rank, pr.active, `${m}×${p}: the rank is the projection's`)
  }
})

t.test('hard regimes: tiny and huge t, a linear objective, q = 0, near-tied singular values', async (t) => {
  const r = rng(24)
  const m = 4, p = 4, n = 16
  const P = randomPsd(r, n, 8, 0.3), q = randn(r, n, 3)
  // the reference's projections cancel to ε·σ₁(Y)/t relative, so t = 1e-5 is as small as it can check
  for (const tt of [1e-5, 1e6]) {
    const res = dfwLayer()({ P: denseOp(n, P), q: vecOf(q), t: tt, set: nuclear(m, p) })
    const ref = referenceSolve({ m, p, P, q, t: tt })
    t.ok(maxDiff(res.x.data, ref) <= 1e-9 * maxAbs(ref), `t = ${tt}: x`)
    t.equal(res.status, 'converged')
  }
  const sv = svd(q, m, p)
  const vertexAt = (s: number): Float64Array => {
    const v = new Float64Array(n)
    for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) v[i * p + j] = -s * sv.U[i * 4]! * sv.V[j * 4]!
    return v
  }
  // t = 1e-12: x = −t u₁v₁ᵀ(Q) + O(t²‖P‖/σ-gap), exact to rounding relative to t, and on the sphere
  const tiny = dfwLayer()({ P: denseOp(n, P), q: vecOf(q), t: 1e-12, set: nuclear(m, p) })
  t.ok(maxDiff(tiny.x.data, vertexAt(1e-12)) <= 1e-10 * 1e-12, 't = 1e-12: the vertex to first order')
  t.ok(Math.abs(nuclearNorm(tiny.x.data, m, p) - 1e-12) <= 1e-14 * 1e-12, 't = 1e-12: on the sphere')
  t.equal(tiny.status, 'converged')
  // P = 0: the oracle's vertex −t u₁v₁ᵀ
  const zero = dfwLayer()({ P: denseOp(n, new Float64Array(n * n)), q: vecOf(q), t: 2, set: nuclear(m, p) })
  const vertex = vertexAt(2)
  t.ok(maxDiff(zero.x.data, vertex) <= 1e-12, 'P = 0: the vertex')
  t.equal(zero.status, 'converged')
  t.equal((zero.face as NuclearFaceReport).rank, 1)
  // q = 0: x = 0
  const origin = dfwLayer()({ P: denseOp(n, P), q: vecOf(new Float64Array(n)), t: 1, set: nuclear(m, p) })
  t.equal(maxAbs(origin.x.data), 0, 'q = 0: x = 0')
  t.equal(origin.status, 'converged')
  // Q with two singular values 1e-9 apart
  const U = svd(randn(r, n), m, p), s = [5, 5 - 1e-9, 1, 0.5]
  const qt = new Float64Array(n)
  for (let a = 0; a < 4; a++) for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) qt[i * p + j] = qt[i * p + j]! - s[a]! * U.U[i * 4 + a]! * U.V[j * 4 + a]!
  const tied = dfwLayer()({ P: diagOp(new Float64Array(n).fill(1)), q: vecOf(qt), t: 3, set: nuclear(m, p) })
  const pr = projectNuclear(qt.map((v) => -v), m, p, 3)
  t.ok(maxDiff(tied.x.data, pr.x) <= 1e-10, 'near-tied top singular values: x')
})

t.test('an ill-conditioned P (eigenvalues 1e-6 … 1) and a matrix-completion P (a 0/1 mask) are solved exactly', async (t) => {
  const r = rng(25)
  const m = 5, p = 4, n = 20
  // P = Q diag(λ) Qᵀ with λ log-spaced
  const Qm = svd(randn(r, n * n), n, n).U
  const A = new Float64Array(n * n)
  for (let k = 0; k < n; k++) {
    const lam = 10 ** (-6 * k / (n - 1))
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = A[i * n + j]! + lam * Qm[i * n + k]! * Qm[j * n + k]!
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) { const v = 0.5 * (A[i * n + j]! + A[j * n + i]!); A[i * n + j] = v; A[j * n + i] = v }
  const q = randn(r, n, 3)
  const res = dfwLayer()({ P: denseOp(n, A), q: vecOf(q), t: 2, set: nuclear(m, p) })
  const ref = referenceSolve({ m, p, P: A, q, t: 2 }, 200000)
  t.ok(maxDiff(res.x.data, ref) <= 1e-7 * maxAbs(ref), `ill-conditioned: x (err ${(maxDiff(res.x.data, ref) / maxAbs(ref)).toExponential(2)})`)
  t.equal(res.status, 'converged')
  // completion: observe 60 % of the entries of a rank-1 matrix
  const mask = Float64Array.from({ length: n }, () => (r.uniform() < 0.6 ? 1 : 0))
  const a = randn(r, m), b = randn(r, p)
  const qm = Float64Array.from({ length: n }, (_, k) => -mask[k]! * a[Math.floor(k / p)]! * b[k % p]!)
  const D = new Float64Array(n * n)
  for (let i = 0; i < n; i++) D[i * n + i] = mask[i]!
  const comp = dfwLayer()({ P: diagOp(mask), q: vecOf(qm), t: 1, set: nuclear(m, p) })
  const rc = referenceSolve({ m, p, P: D, q: qm, t: 1 })
  t.ok(maxDiff(comp.x.data, rc) <= 1e-8 * maxAbs(rc), 'completion: x')
  t.equal(comp.status, 'converged')
})

t.test('a completion problem whose first polish drops a triplet the solution needs is certified by the polish that keeps the rank', async (t) => {
  // 12 × 10, a rank-2 matrix plus noise, half the entries observed, P = diag(mask + 1e-3):
  // at step 8 the Newton polish from the rank-4 iterate drops triplets and ends on a rank
  // whose point the oracle does not certify; the damped polish at rank 4 lands on the
  // rank-3 solution (before, the steps ran on to 14)
  const r = rng(1)
  const m = 12, p = 10, n = m * p, k = 2
  const A = randn(r, m * k), B = randn(r, p * k)
  const d = new Float64Array(n), q = new Float64Array(n)
  for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) {
    let s = 0
    for (let l = 0; l < k; l++) s += A[i * k + l]! * B[j * k + l]!
    const e = i * p + j, obs = r.uniform() < 0.5 ? 1 : 0
    d[e] = obs + 1e-3
    q[e] = -obs * (s + 0.3 * r.normal())
  }
  const tt = Math.sqrt(n)
  const res = dfwLayer()({ P: diagOp(d), q: vecOf(q), t: tt, set: nuclear(m, p) })
  t.equal(res.status, 'converged')
  t.equal(res.iterations, 8)
  t.equal((res.face as NuclearFaceReport).rank, 3)
  const D = new Float64Array(n * n)
  for (let i = 0; i < n; i++) D[i * n + i] = d[i]!
  const ref = referenceSolve({ m, p, P: D, q, t: tt }, 200000)
  t.ok(maxDiff(res.x.data, ref) <= 1e-8 * maxAbs(ref), `x (err ${(maxDiff(res.x.data, ref) / maxAbs(ref)).toExponential(2)})`)
})

t.test('with tolerance 0, exactly maxIterations steps run, and the polished point is returned', async (t) => {
  const r = rng(26)
  const m = 4, p = 3, n = 12
  const P = randomPsd(r, n, 6, 0.3), q = randn(r, n, 3)
  const res = dfwLayer({ tolerance: 0, maxIterations: 7 })({ P: denseOp(n, P), q: vecOf(q), t: 2, set: nuclear(m, p) })
  t.equal(res.iterations, 7)
  t.ok(maxDiff(res.x.data, referenceSolve({ m, p, P, q, t: 2 })) <= 1e-9)
  const one = dfwLayer({ maxIterations: 1 })({ P: denseOp(n, P), q: vecOf(q), t: 2, set: nuclear(m, p) })
  t.equal(one.iterations, 1)
})

// -------------------------------------------------------------------------------------
// errors
// -------------------------------------------------------------------------------------

t.test('refusals: the unrolled backward, a P that is not PSD, a bad shape', async (t) => {
  const r = rng(27)
  const n = 6, q = vecOf(randn(r, n))
  const I = diagOp(new Float64Array(n).fill(1))
  t.equal(errorPath(() => dfwLayer({ backward: 'unrolled' })({ P: I, q, t: 1, set: nuclear(2, 3) })), 'options.backward')
  t.equal(errorPath(() => dfwLayer({ schedule: 'paper' })({ P: I, q, t: 1, set: nuclear(2, 3) })), 'options.schedule')
  const bad = new Float64Array(n * n)
  for (let i = 0; i < n; i++) bad[i * n + i] = 1
  bad[1] = 3; bad[n] = 3 // a 2 × 2 minor with a negative eigenvalue
  t.equal(errorPath(() => dfwLayer()({ P: denseOp(n, bad), q, t: 1, set: nuclear(2, 3) })), 'P')
  t.equal(errorPath(() => dfwLayer()({ P: I, q, t: 1, set: nuclear(2, 2) })), 'set')
  t.equal(errorPath(() => dfwLayer()({ P: I, q, set: nuclear(2, 3) })), 't')
})

// -------------------------------------------------------------------------------------
// the command line
// -------------------------------------------------------------------------------------

t.test('dfw solve: x, the certificate, vjp (q, P, t), jvp and face for a nuclear problem', async (t) => {
  const r = rng(28)
  const m = 2, p = 3, n = 6
  const P = randomPsd(r, n, 3, 0.5), q = randn(r, n, 3)
  const doc = { P: rows(n, P), q: Array.from(q), t: 1, set: nuclear(m, p), cotangent: Array.from(randn(r, n)), tangent: { q: Array.from(randn(r, n)), t: 0.5 } }
  const out = runText(JSON.stringify(doc), dfwLayer)
  t.equal(out.code, 0, out.stderr)
  const res = JSON.parse(out.stdout) as { x: number[]; status: string; vjp: Record<string, unknown>; jvp: { x: number[] }; face: { size: number; margin: number; derivative: string } }
  t.ok(maxDiff(res.x, referenceSolve({ m, p, P, q, t: 1 })) <= 1e-9)
  t.equal(res.status, 'converged')
  t.same(Object.keys(res.vjp).sort(), ['P', 'q', 't'], 'vjp holds q, P and t')
  t.equal((res.vjp['P'] as number[][]).length, n)
  t.equal(res.jvp.x.length, n)
  t.same(Object.keys(res.face).sort(), ['derivative', 'margin', 'size'])
  t.equal(res.face.derivative, 'exact')
  // a diagonal P: no vjp.P
  const diagDoc = { ...doc, P: { diag: Array.from({ length: n }, () => 1) } }
  const d = JSON.parse(runText(JSON.stringify(diagDoc), dfwLayer).stdout) as { vjp: Record<string, unknown> }
  t.same(Object.keys(d.vjp).sort(), ['q', 't'])
})

t.test('dfw solve: the error paths (rows·cols ≠ n, t absent, a bad rows, w given, unrolled)', async (t) => {
  const base = { P: { diag: [1, 1, 1, 1, 1, 1] }, q: [1, 2, 3, 4, 5, 6], t: 1, set: nuclear(2, 3) }
  const err = (u: unknown): { code: number; path: string; stdout: string } => {
    const o = runText(JSON.stringify(u), dfwLayer)
    return { code: o.code, stdout: o.stdout, path: o.code === 0 ? '' : (JSON.parse(o.stderr) as { error: { path: string } }).error.path }
  }
  t.same(err({ ...base, set: nuclear(2, 2) }), { code: 2, stdout: '', path: 'set' })
  const { t: _t, ...noT } = base
  void _t
  t.same(err(noT), { code: 2, stdout: '', path: 't' })
  t.same(err({ ...base, t: 0 }), { code: 2, stdout: '', path: 't' })
  t.same(err({ ...base, set: { kind: 'nuclear', rows: 0, cols: 3 } }), { code: 2, stdout: '', path: 'set.rows' })
  t.same(err({ ...base, w: [1, 1, 1, 1, 1, 1] }), { code: 2, stdout: '', path: 'w' })
  t.same(err({ ...base, options: { backward: 'unrolled' } }), { code: 2, stdout: '', path: 'options.backward' })
  t.same(err({ ...base, options: { schedule: 'paper' } }), { code: 2, stdout: '', path: 'options.schedule' })
  t.equal(err(base).code, 0)
})
