/**
 * The nuclear-norm ball's default schedule: Frank-Wolfe with a rank-r refinement, then the
 * Newton polish on the solution's manifold, certified by the oracle's gap.
 *
 * 1. **Interior test.** When P is cheap to factor (diagonal plus low rank, or dense or
 *    sparse with n ≤ 1500) and not ruled out by ‖q‖₂ > t·max row sum of |P| (then
 *    ‖P⁻¹q‖_* ≥ ‖P⁻¹q‖_F > t), the unconstrained minimizer X = −P⁻¹q is formed. It is
 *    ruled out when ‖X‖_F > t or ‖X‖_F²/σ₁(X) > t (both lower bounds of ‖X‖_*), and it is
 *    the solution when ‖X‖_* ≤ t, computed by an SVD when min(m, p)²·max(m, p) ≤ 1e6, else
 *    bounded by √min(m, p)·‖X‖_F; when neither settles it the steps below run.
 * 2. **Steps.** From the oracle's vertex at x = 0 (−t·u₁v₁ᵀ for the top singular pair of Q),
 *    each step solves the problem restricted to span U × span V (`Reduced.ts`), compresses
 *    the bases to the singular vectors of the small solution S (dropping σ ≤ 1e-12·t), calls
 *    the oracle at the new point (the top singular pair of G by Lanczos, tolerance 1e-10,
 *    warm-started from the previous pair) and adds its pair to the bases. The Frank-Wolfe
 *    gap ⟨G, X⟩ + t·σ₁(G) is the stop test (tolerance·|f| plus the rounding floor, as on
 *    the other sets). With `tolerance: 0` exactly `maxIterations` steps run.
 * 3. **Polish.** Tried when the gap has fallen to 1e-3·|f| (then each time it has fallen
 *    100-fold more) and at steps 8, 16, 32, …, and once after the last step: Newton on the
 *    rank-r manifold (`Manifold.ts`) from the step's point. Its result is kept when the
 *    oracle certifies it: gap ≤ max(tolerance, 1e-9)·|f| + floor. When the polish dropped
 *    a triplet and its point is not certified (a full Newton step from an inexact iterate
 *    overshoots a small singular value that the solution keeps: completion problems with a
 *    0/1 mask in P do this), it runs once more from the same point keeping the rank, with
 *    the step cut short of the boundary Σ + sym(M) ⪰ 0 instead. The gap alone does
 *    not make x exact (f − f* is quadratic in the error), the tangent residual does: a
 *    point whose residual is already at its rounding floor costs the polish no Newton step
 *    (for P = c·I the steps' small problems are exact projections, and the step that has
 *    found the solution's subspaces lands on the solution).
 *
 * Bases are capped at {@link MAX_RANK} columns; solutions of higher rank are reached only as
 * far as that allows (status `maxIterations`).
 *
 * @since 0.1.0
 */
import { kktSolver } from '../../core/Kkt.js'
import { topSingularPair, type SingularPair } from '../../core/Lanczos.js'
import { svd } from '../../core/Eigen.js'
import { applyInto } from '../../core/LinearOperator.js'
import { faceHessian } from '../FaceHessian.js'
import { GAP_FLOOR_FACTOR } from '../Oracle.js'
import { NegativeCurvatureError } from '../Errors.js'
import type { SolveLimits } from '../sets/FeasibleSet.js'
import { type NuclearProblem, reducedProblem, reducedSolve } from './Reduced.js'
import { type ManifoldPoint, newtonPolish } from './Manifold.js'
import { type Cols, appendCol, assembleInto, axpby, dot, emptyCols, norm2, orthogonalUnit, scaled, timesSmall } from './internal.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The most columns a basis of the rank-r refinement keeps.
 *
 * @example
 * MAX_RANK // 60
 */
export const MAX_RANK = 60

/**
 * The oracle's tolerance: Lanczos stops when the top pair's residual is ≤ 1e-10·σ₁, which
 * makes σ₁ accurate to about (1e-10)²·σ₁²/(σ₁ − σ₂) (in practice to rounding).
 *
 * @example
 * ORACLE_TOLERANCE // 1e-10
 */
export const ORACLE_TOLERANCE = 1e-10

/**
 * A solve's result: x, how it ends (`boundary`: on the sphere, with its rank-r point;
 * `interior`: inside the ball), the steps taken, whether the gap certifies it, the gap and
 * σ₁(G) at x, and the oracle's last pair (for warm starts).
 *
 * @example
 * const sol = solveNuclear(pb, limits, pAbs)
 * sol.kind === 'boundary' && sol.point.r // the solution's rank
 */
export type NuclearSolution =
  | (Common & { readonly kind: 'boundary'; readonly point: ManifoldPoint })
  | (Common & { readonly kind: 'interior'; readonly nuclearNorm?: number })

interface Common {
  readonly x: Float64Array
  readonly iterations: number
  readonly converged: boolean
  readonly gap: number
  readonly sigma1: number
  readonly pair?: SingularPair
  /** Newton polish runs and their steps. */
  readonly polishes: number
}

// -------------------------------------------------------------------------------------
// the oracle
// -------------------------------------------------------------------------------------

/**
 * The oracle at g: the top singular pair of mat(g) by Lanczos (tolerance
 * {@link ORACLE_TOLERANCE}), warm-started from v.
 *
 * @example
 * const pair = oraclePair(g, m, p, previous?.v)
 * -t * pair.sigma // the oracle's value min ⟨G, S⟩ over the ball
 */
export const oraclePair = (g: Float64Array, rows: number, cols: number, v?: Float64Array): SingularPair =>
  topSingularPair({ rows, cols, data: g }, { tolerance: ORACLE_TOLERANCE, maxIterations: 2000, ...(v === undefined ? {} : { start: { v } }) })

/** f, the gap and its rounding floor at x (setCertificate's formula, with Rᵢ = t). */
const certificateOf = (pb: NuclearProblem, x: Float64Array, px: Float64Array, pAbs: Float64Array, sigma1: number): { f: number; gap: number; floor: number } => {
  let f = 0, gx = 0, sc = 0, sa = 0, xm = 0
  for (let i = 0; i < pb.n; i++) {
    const gi = px[i]! + pb.q[i]!
    f += x[i]! * (0.5 * px[i]! + pb.q[i]!)
    gx += gi * x[i]!
    sc += Math.abs(pb.q[i]!)
    sa += pAbs[i]!
    xm = Math.max(xm, Math.abs(x[i]!))
  }
  return { f, gap: Math.max(0, gx + pb.t * sigma1), floor: GAP_FLOOR_FACTOR * Number.EPSILON * pb.t * (sc + sa * xm) }
}

// -------------------------------------------------------------------------------------
// the interior
// -------------------------------------------------------------------------------------

/**
 * ‖X‖_* by a full SVD.
 *
 * @example
 * nuclearNormOf(Float64Array.of(3, 0, 0, -1), 2, 2) // 4
 */
export const nuclearNormOf = (x: Float64Array, m: number, p: number): number => {
  const { s } = svd(x, m, p)
  let t = 0
  for (const v of s) t += v
  return t
}

/**
 * 0, 1, …, n − 1.
 *
 * @example
 * allIndices(3) // [0, 1, 2]
 */
export const allIndices = (n: number): Int32Array => {
  const out = new Int32Array(n)
  for (let i = 0; i < n; i++) out[i] = i
  return out
}

/**
 * The unconstrained minimizer when it is cheap and inside the ball, else undefined.
 */
const interiorSolution = (pb: NuclearProblem, pAbs: Float64Array): { x: Float64Array; norm?: number } | undefined => {
  const { n, rows: m, cols: p, P, t } = pb
  for (let i = 0; i < n; i++) if (!(pb.pDiag[i]! > 0)) return undefined // a PSD P with Pᵢᵢ = 0 is singular
  let big = 0
  for (let i = 0; i < n; i++) big = Math.max(big, pAbs[i]!)
  if (norm2(pb.q, 0, n) > t * big) return undefined // ‖P⁻¹q‖ ≥ ‖q‖/‖P‖ > t
  let x: Float64Array
  if (pb.scalar !== undefined) x = scaled(pb.q, -1 / pb.scalar)
  else {
    if (P.kind !== 'lowRank' && n > 1500) return undefined
    const solver = kktSolver({ H: faceHessian(P, allIndices(n)) })
    if (solver.info.nullity > 0 || solver.info.negative !== undefined) return undefined
    const sol = solver.solve(scaled(pb.q, -1))
    if (!(sol.residual <= 1e-10)) return undefined
    x = sol.x
  }
  const fro = norm2(x, 0, n), l = Math.min(m, p)
  if (fro > t) return undefined
  // ‖X‖_* ≥ ‖X‖_F²/σ₁ (Σσᵢ² ≤ σ₁ Σσᵢ), with σ₁ by Lanczos
  const s1 = topSingularPair({ rows: m, cols: p, data: x }, { tolerance: 1e-6 }).sigma
  if (s1 > 0 && (fro / s1) * fro > t) return undefined
  if (l * l * Math.max(m, p) <= 1e6) {
    const nn = nuclearNormOf(x, m, p)
    return nn <= t ? { x, norm: nn } : undefined
  }
  return Math.sqrt(l) * fro <= t ? { x } : undefined
}

// -------------------------------------------------------------------------------------
// the schedule
// -------------------------------------------------------------------------------------

/** The bases rotated to the singular vectors of S (kU × kV), keeping σ > 1e-12·t. */
const compress = (U: Cols, V: Cols, S: Float64Array, t: number): { U: Cols; V: Cols; s: Float64Array } => {
  const kU = U.k, kV = V.k
  const { s, U: A, V: B } = svd(S, kU, kV)
  const l = s.length
  let r = 0
  while (r < l && s[r]! > 1e-12 * t) r++
  const Ar = new Float64Array(kU * r), Br = new Float64Array(kV * r)
  for (let i = 0; i < kU; i++) for (let a = 0; a < r; a++) Ar[i * r + a] = A[i * l + a]!
  for (let j = 0; j < kV; j++) for (let a = 0; a < r; a++) Br[j * r + a] = B[j * l + a]!
  return { U: timesSmall(U, Ar, r), V: timesSmall(V, Br, r), s: s.slice(0, r) }
}

/**
 * Solves min ½ xᵀP x + qᵀx over {‖X‖_* ≤ t} by the schedule of the module notes. Throws a
 * `NegativeCurvatureError` when the polish meets a direction d with dᵀPd < 0.
 *
 * @example
 * const sol = solveNuclear(nuclearProblem(P, q, m, p, t), { maxIterations: 5000, tolerance: 1e-9 }, rowAbsSums(theta))
 * sol.x; sol.converged
 */
export const solveNuclear = (pb: NuclearProblem, limits: SolveLimits, pAbs: Float64Array, warm?: Float64Array): NuclearSolution => {
  const { rows: m, cols: p, n, t } = pb
  const tol = limits.tolerance
  const certTol = tol > 0 ? tol : 1e-9
  const inner = interiorSolution(pb, pAbs)
  if (inner !== undefined) {
    const px = new Float64Array(n)
    applyInto(pb.P, inner.x, px)
    const g = axpby(px, 1, pb.q)
    const pair = oraclePair(g, m, p, warm)
    const c = certificateOf(pb, inner.x, px, pAbs, pair.sigma)
    return {
      kind: 'interior', x: inner.x, iterations: 0, converged: c.gap <= certTol * Math.abs(c.f) + c.floor, gap: c.gap, sigma1: pair.sigma, pair, polishes: 0,
      ...(inner.norm === undefined ? {} : { nuclearNorm: inner.norm })
    }
  }
  // the oracle's vertex at x = 0
  let pair = oraclePair(pb.q, m, p, warm)
  if (!(pair.sigma > 0)) {
    // q = 0: x = 0 is optimal (g = 0)
    return { kind: 'interior', x: new Float64Array(n), iterations: 0, converged: true, gap: 0, sigma1: 0, pair, polishes: 0, nuclearNorm: 0 }
  }
  let U: Cols = appendCol(emptyCols(m), pair.u), V: Cols = appendCol(emptyCols(p), pair.v)
  let S: Float64Array = Float64Array.of(-t)
  let sig: Float64Array = new Float64Array(0)
  let x = new Float64Array(n), px = new Float64Array(n)
  let best: NuclearSolution | undefined
  let nextTry = 1e-3, polishes = 0, k = 0, reducedIts = 400, polishedAt = -1
  let cert = { f: 0, gap: Infinity, floor: 0 }
  const tryPolish = (): boolean => {
    polishedAt = k
    if (sig.length === 0) return false
    const attempt = (keepRank: boolean): 'certified' | 'dropped' | 'failed' => {
      polishes++
      const out = newtonPolish(pb, U, V, sig, pAbs, 30, keepRank)
      if (out.negative !== undefined) throw new NegativeCurvatureError(out.negative.direction, out.negative.curvature)
      const dropped = out.point.r < sig.length ? 'dropped' : 'failed'
      if (out.reason !== 'converged') return dropped
      const pt = out.point
      const pp = oraclePair(pt.g, m, p, pair.v)
      const c = certificateOf(pb, pt.x, pt.px, pAbs, pp.sigma)
      if (!(c.gap <= certTol * Math.abs(c.f) + c.floor)) return dropped
      best = { kind: 'boundary', x: pt.x, iterations: k, converged: true, gap: c.gap, sigma1: pp.sigma, pair: pp, point: pt, polishes }
      return 'certified'
    }
    const first = attempt(false)
    if (first === 'certified') return true
    // the rank fell and the point is not certified: once more, keeping the rank (damped steps)
    return first === 'dropped' && attempt(true) === 'certified'
  }
  const deadline = limits.deadline
  while (k < limits.maxIterations) {
    if (deadline !== undefined && performance.now() > deadline) break
    k++
    const red = reducedProblem(pb, U, V)
    const rs = reducedSolve(red, t, S, { maxIterations: reducedIts })
    const cmp = compress(U, V, rs.s, t)
    U = cmp.U; V = cmp.V; sig = cmp.s
    x = new Float64Array(n)
    assembleInto(U, sig, V, true, x)
    px = new Float64Array(n)
    applyInto(pb.P, x, px)
    const g = axpby(px, 1, pb.q)
    pair = oraclePair(g, m, p, pair.v)
    cert = certificateOf(pb, x, px, pAbs, pair.sigma)
    const met = tol > 0 && cert.gap <= tol * Math.abs(cert.f) + cert.floor
    if (tol > 0) {
      const byGap = cert.gap <= nextTry * Math.abs(cert.f)
      if (met || byGap || (k >= 8 && (k & (k - 1)) === 0)) {
        if (byGap) nextTry = Math.max(cert.gap / Math.abs(cert.f) / 100, tol)
        if (tryPolish()) break
      }
      if (met) break
    }
    if (k >= limits.maxIterations) break
    // the oracle's pair joins the bases
    const uN = U.k < Math.min(m, MAX_RANK) ? orthogonalUnit(U, pair.u, 1e-10) : undefined
    const vN = V.k < Math.min(p, MAX_RANK) ? orthogonalUnit(V, pair.v, 1e-10) : undefined
    if (uN === undefined && vN === undefined) reducedIts = Math.min(2 * reducedIts, 20000)
    const kU = U.k + (uN === undefined ? 0 : 1), kV = V.k + (vN === undefined ? 0 : 1)
    S = new Float64Array(kU * kV)
    for (let a = 0; a < sig.length; a++) S[a * kV + a] = sig[a]!
    if (uN !== undefined) U = appendCol(U, uN)
    if (vN !== undefined) V = appendCol(V, vN)
  }
  if (best === undefined && polishedAt !== k) tryPolish()
  if (best !== undefined) return best
  const converged = cert.gap <= certTol * Math.abs(cert.f) + cert.floor
  let nn = 0
  for (const v of sig) nn += v
  if (sig.length === 0 || nn < t * (1 - 1e-12)) {
    return { kind: 'interior', x, iterations: k, converged, gap: cert.gap, sigma1: pair.sigma, pair, polishes }
  }
  const g = axpby(px, 1, pb.q)
  // λ = −tr(Uᵀ G V)/r
  let tr = 0
  for (let a = 0; a < sig.length; a++) {
    for (let i = 0; i < m; i++) {
      const u = U.data[a * m + i]!
      if (u !== 0) tr += u * dot(g.subarray(i * p, (i + 1) * p), V.data.subarray(a * p, (a + 1) * p))
    }
  }
  const point: ManifoldPoint = { r: sig.length, U, V, s: sig, x, px, g, lambda: -tr / sig.length }
  return { kind: 'boundary', x, iterations: k, converged, gap: cert.gap, sigma1: pair.sigma, pair, point, polishes }
}
