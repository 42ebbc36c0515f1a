/**
 * The implicit derivative of the nuclear-norm ball's solution map, and the face report.
 *
 * On the sphere, at a rank-r solution X = U Σ Vᵀ with G = −λ(UVᵀ + W), UᵀW = 0, WV = 0,
 * ‖W‖ < 1: a change of θ moves the gradient at fixed x by e = dq + dP x and the radius by dt,
 * and the solution by the ξ of the bordered tangent system (`Manifold.ts`,
 * docs/nuclear.md):
 *
 *     H ξ + δλ·I_M = −P̂ Bᵀ e,   tr M = dt,   dx = B ξ.
 *
 * The system is symmetric, so for a cotangent c the solve [v; μ] of (P̂Bᵀc, 0) gives
 * ⟨c, dx⟩ = −⟨Bv, e⟩ + μ·dt: ∂q = −Bv, ∂P = −(Bv) xᵀ (dense P), ∂t = μ. JVP and VJP go
 * through one factorization (dense Cholesky) or one PCG setup, so they are transposes of one
 * linear map (to rounding, or to PCG's 1e-12 backward error).
 *
 * Inside the ball the solution is −P⁻¹q: dx = −P⁻¹e, ∂q = −P⁻¹c, ∂t = 0.
 *
 * The face report (CONTRACT's `face`):
 * - `size`: the dimension of the set the derivative moves x in: r(m + p − r) − 1 on the
 *   sphere (the rank-r matrices of nuclear norm t), n inside. The rank itself is `rank`.
 * - `margin`: the smallest of 1 − ‖W‖ (how far the next singular value of G is from
 *   joining the top ones: a rank increase), σ_r/t (how far the smallest singular value of X
 *   is from 0: a rank decrease) and λ/max|G|-scale (how far the ball is from letting go);
 *   inside, 1 − ‖X‖_* / t. Capped at 1.
 * - `derivative`: `non-unique` when P is singular on the face's directions
 *   {U Y Vᵀ : Y symmetric, tr Y = 0} (with N's top pair joining U and V when ‖W‖ = 1 to
 *   within {@link KINK_TOLERANCE}: the exposed face is then larger; inside: P singular),
 *   `kink` when the margin is at most
 *   {@link KINK_TOLERANCE}, else `exact`. At a kink the map is the one on the rank-r
 *   manifold the solver identified (every singular value still positive counts).
 *
 * @since 0.1.0
 */
import { eigSym } from '../../core/Eigen.js'
import { type KktSolver, kktSolver } from '../../core/Kkt.js'
import { type SingularPair, topSingularPair } from '../../core/Lanczos.js'
import { rng } from '../../core/Random.js'
import { faceHessian } from '../FaceHessian.js'
import { KINK_TOLERANCE, gradientScale } from '../FaceModel.js'
import type { FaceReport } from '../FaceReport.js'
import { type NuclearProblem, reducedProblem } from './Reduced.js'
import { type NuclearSolution, allIndices } from './Solve.js'
import { type ManifoldPoint, type TangentSystem, fromAmbient, projectTangent, tangentSystem, toAmbient } from './Manifold.js'
import { type Cols, appendCol, dot, norm2, projectOut, scaled, timesCols, transposeTimesCols } from './internal.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The face report of a nuclear-norm ball's solution: CONTRACT's three fields and what they
 * are made of.
 *
 * @example
 * const f = dfwLayer()({ P, q, t: 1, set: { kind: 'nuclear', rows: 3, cols: 4 } }).face as NuclearFaceReport
 * f.rank; f.normW; f.sMin
 */
export interface NuclearFaceReport extends FaceReport {
  /** r, the solution's rank (0 inside the ball). */
  readonly rank: number
  /** ‖W‖ = σ_{r+1}(G)/λ (0 inside). */
  readonly normW: number
  /** σ_r(X)/t (0 inside). */
  readonly sMin: number
  /** The ball's multiplier λ = σ₁(G) (0 inside). */
  readonly lambda: number
}

/**
 * The derivative at one solution: dx along (e, dt), with e = dq + dP x the gradient's change
 * at fixed x; and its transpose: for a cotangent c, v with ∂q = −v, ∂P = −v xᵀ, and ∂t.
 *
 * @example
 * const d = nuclearDerivative(pb, sol)
 * d.jvp(dq, 0)   // dx along dq
 * d.vjp(ct).t    // ⟨ct, ∂x/∂t⟩
 */
export interface NuclearDerivative {
  readonly face: NuclearFaceReport
  readonly jvp: (e: Float64Array | undefined, dt: number) => Float64Array
  readonly vjp: (ct: Float64Array) => { readonly v: Float64Array; readonly t: number }
  /** The system's method, once built (`cholesky`, `pcg`, or the interior's). */
  readonly method: () => string
}

// -------------------------------------------------------------------------------------
// the face
// -------------------------------------------------------------------------------------

/** The top singular pair of N = (I − UUᵀ) G (I − VVᵀ) by Lanczos (undefined when the complement is empty). */
const normalPair = (pb: NuclearProblem, pt: ManifoldPoint): SingularPair | undefined => {
  const m = pb.rows, p = pb.cols, r = pt.r
  if (r >= Math.min(m, p)) return undefined
  const apply = (v: Float64Array, out: Float64Array): void => {
    const w = projectOut({ len: p, k: 1, data: v }, pt.V)
    const y = projectOut(timesCols(pt.g, m, p, w), pt.U)
    out.set(y.data)
  }
  const applyT = (u: Float64Array, out: Float64Array): void => {
    const w = projectOut({ len: m, k: 1, data: u }, pt.U)
    const y = projectOut(transposeTimesCols(pt.g, m, p, w), pt.V)
    out.set(y.data)
  }
  // a start of its own: the oracle's fixed start is orthogonal, by construction, to the
  // other top singular vectors of a G whose top singular value is tied (its Krylov space
  // found v along the start's part in the tied space)
  const r0 = rng(0x6e75636c), v0 = new Float64Array(p)
  for (let j = 0; j < p; j++) v0[j] = r0.normal()
  return topSingularPair({ rows: m, cols: p, apply, applyT }, { tolerance: 1e-8, start: { v: v0 } })
}

/**
 * Whether P is singular on the face's directions {U Y Vᵀ : Y symmetric, tr Y = 0}: the Gram
 * matrix of P on an orthonormal basis of them, its smallest eigenvalue against 1e-10 times
 * its scale (the largest of its eigenvalues and of P's diagonal).
 */
const faceSingular = (pb: NuclearProblem, U: Cols, V: Cols): boolean => {
  const r = U.k
  if (r <= 1) return false
  if (pb.scalar !== undefined) return !(pb.scalar > 0)
  // the sym traceless Y: (E_ab + E_ba)/√2 for a < b, and the Helmert basis of the diagonals
  const basis: Float64Array[] = []
  for (let a = 0; a < r; a++) for (let b = a + 1; b < r; b++) {
    const Y = new Float64Array(r * r)
    Y[a * r + b] = Math.SQRT1_2
    Y[b * r + a] = Math.SQRT1_2
    basis.push(Y)
  }
  for (let k = 1; k < r; k++) {
    const Y = new Float64Array(r * r), c = 1 / Math.sqrt(k * (k + 1))
    for (let a = 0; a < k; a++) Y[a * r + a] = c
    Y[k * r + k] = -k * c
    basis.push(Y)
  }
  // P on them: Yₖᵀ H Yₗ with H = Kᵀ P K the reduced Hessian on span U × span V
  const H = reducedProblem(pb, U, V).H, d = r * r, f = basis.length
  const HY = basis.map((Y) => { const o = new Float64Array(d); for (let i = 0; i < d; i++) o[i] = dot(H.subarray(i * d, (i + 1) * d), Y); return o })
  const F = new Float64Array(f * f)
  for (let k = 0; k < f; k++) for (let l = 0; l < f; l++) F[k * f + l] = 0.5 * (dot(basis[k]!, HY[l]!) + dot(basis[l]!, HY[k]!))
  const ev = eigSym(F, f).values
  let scale = ev[f - 1]!
  for (let i = 0; i < pb.n; i++) scale = Math.max(scale, pb.pDiag[i]!)
  return !(ev[0]! > 1e-10 * scale)
}

const status = (margin: number, singular: boolean): FaceReport['derivative'] =>
  singular ? 'non-unique' : margin <= KINK_TOLERANCE ? 'kink' : 'exact'

// -------------------------------------------------------------------------------------
// the derivative
// -------------------------------------------------------------------------------------

/**
 * The implicit derivative at a solution of `solveNuclear` (see the module notes). The
 * factorization is built on the first JVP or VJP and reused.
 *
 * @example
 * const d = nuclearDerivative(pb, solveNuclear(pb, limits, pAbs))
 * d.face.derivative // 'exact'
 */
export const nuclearDerivative = (pb: NuclearProblem, sol: NuclearSolution): NuclearDerivative => {
  const n = pb.n, t = pb.t
  if (sol.kind === 'interior') {
    let solver: KktSolver | undefined
    const get = (): KktSolver => (solver ??= kktSolver({ H: faceHessian(pb.P, allIndices(n)) }))
    const nn = sol.nuclearNorm ?? Math.sqrt(Math.min(pb.rows, pb.cols)) * norm2(sol.x, 0, n)
    const margin = Math.min(1, Math.max(0, 1 - nn / t))
    let singular = false
    for (let i = 0; i < n && !singular; i++) singular = !(pb.pDiag[i]! > 0)
    if (!singular) singular = get().info.nullity > 0
    const face: NuclearFaceReport = { size: n, margin, derivative: status(margin, singular), rank: 0, normW: 0, sMin: 0, lambda: 0 }
    return {
      face,
      jvp: (e) => {
        if (e === undefined) return new Float64Array(n)
        return Float64Array.from(get().solve(scaled(e, -1)).x)
      },
      vjp: (ct) => ({ v: Float64Array.from(get().solve(ct).x), t: 0 }),
      method: () => get().info.method
    }
  }
  const pt = sol.point, r = pt.r, m = pb.rows, p = pb.cols
  const lam = pt.lambda
  const np = lam > 0 ? normalPair(pb, pt) : undefined
  const normW = lam > 0 ? (np === undefined ? 0 : np.sigma / lam) : 1
  const sMin = r > 0 ? pt.s[r - 1]! / t : 0
  const gs = Math.max(gradientScale(pt.px, pb.q), 1e-300)
  const margin = Math.min(1, Math.max(0, Math.min(1 - normW, sMin, lam / gs)))
  // at ‖W‖ = 1 the exposed face is larger than the solution's: N's top pair joins it
  const wide = np !== undefined && 1 - normW <= KINK_TOLERANCE
  const singular = faceSingular(pb, wide ? appendCol(pt.U, np.u) : pt.U, wide ? appendCol(pt.V, np.v) : pt.V)
  const face: NuclearFaceReport = { size: r * (m + p - r) - 1, margin, derivative: status(margin, singular), rank: r, normW, sMin, lambda: lam }
  let sys: TangentSystem | undefined
  const get = (): TangentSystem => (sys ??= tangentSystem(pb, pt))
  return {
    face,
    jvp: (e, dt) => {
      const b = e === undefined ? new Float64Array(r * r + r * (m + p)) : projectTangent(pb, pt, fromAmbient(pb, pt, e))
      for (let i = 0; i < b.length; i++) b[i] = -b[i]!
      return toAmbient(pb, pt, get().solve(b, dt).xi)
    },
    vjp: (ct) => {
      const b = projectTangent(pb, pt, fromAmbient(pb, pt, ct))
      const { xi, nu } = get().solve(b, 0)
      return { v: toAmbient(pb, pt, xi), t: nu }
    },
    method: () => get().method
  }
}
