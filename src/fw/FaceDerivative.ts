/**
 * The implicit derivative on a face (`FaceModel.ts`), for any convex objective whose
 * Hessian H on the face is given: the face's KKT conditions
 *
 *     g_F(x, θ) + E_Fᵀν = 0,    E_F x_F = r(θ) − Σ_{i fixed} cᵣᵢ φ(xᵢ(θ)),    x_B = x_B(θ)
 *
 * differentiated in θ:
 *
 *     [H_FF + σI  E_Fᵀ] [dx_F]   [−e_F − (H dx_B)_F − dE_Fᵀν            ]
 *     [E_F        0   ] [dν  ] = [dr − Σ_B (dcᵣᵢ φ(xᵢ) + cᵣᵢ φ′(xᵢ) dxᵢ) − dE_F x_F ],
 *
 * with e = ∂g/∂θ·dθ the gradient's change at fixed x (dq + dP x for the quadratic), dx_B
 * the fixed coordinates' moves with the set's bounds, dr and dE the rows' moves with the
 * set's parameters (`ParamMaps`), and σ the sphere's multiplier. One direct solver
 * (`core/Kkt.ts`) is built per face and serves every JVP and VJP, so the two are
 * transposes of one linear map to rounding (CG, for matrix-free H, to its tolerance). The
 * VJP solves the same symmetric system with right-hand side (u_F, 0) and pulls (v, μ)
 * back through each term above.
 *
 * @since 0.1.0
 */
import type { LinearOperator } from '../core/LinearOperator.js'
import { type KktHessian, type KktInfo, type KktSolver, kktSolver } from '../core/Kkt.js'
import { faceMemo, faceFloor, ownFace } from './CallMemo.js'
import type { FaceModel, FaceReport } from './FaceModel.js'
import { KINK_TOLERANCE } from './FaceModel.js'
import type { SetGradient, SetTangent } from './sets/FeasibleSet.js'
import { NegativeCurvatureError } from './Errors.js'

export { NegativeCurvatureError } from './Errors.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The Hessian on a face: the block P_FF for the direct solver, and products with the whole
 * H for the fixed coordinates' coupling.
 *
 * @example
 * const H: FaceHessianPair = { block: faceHessian(P, face.free), full: (v) => apply(P, v) }
 */
export interface FaceHessianPair {
  readonly block: KktHessian
  readonly full: (v: Float64Array) => Float64Array
}

/**
 * The derivative on one face.
 *
 * @example
 * const d = faceDerivative(face, H)
 * d.jvp(dq, { t: 0, k: 0 }) // dx
 * d.vjp(u).v               // −(the cotangent of q on F)
 */
export interface FaceDerivativeMap {
  readonly report: FaceReport
  readonly info: KktInfo
  /** dx for e = ∂g/∂θ·dθ (undefined: 0) and the set's parameter tangent. */
  readonly jvp: (e: Float64Array | undefined, st: SetTangent) => Float64Array
  /** For a cotangent u of x: v on F (e's cotangent is −v on F) and the set's gradients. */
  readonly vjp: (u: Float64Array, acc: SetGradient) => Float64Array
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * Whether the face's linearized rows E_F dx_F = dr − Σ_B cᵣᵢ φ′(xᵢ) dxᵢ have a solution
 * along the set-parameter tangent `st` (to 1e-9 of the terms' scale): always when E_F has
 * full row rank; with dependent rows, only when the parameter moves their right-hand
 * sides consistently.
 */
const rowsFollow = (face: FaceModel, maps: FaceModel['set']['params'], st: SetTangent, H: FaceHessianPair, solver: KktSolver): boolean => {
  const F = face.free, m = F.length, k = face.rows.length, n = face.x.length
  const dx = new Float64Array(n)
  for (const i of face.fixed) dx[i] = maps.bound(st, i, face.state[i] as 1 | 2 | 3)
  const bot = new Float64Array(k)
  let scale = 0, any = false
  for (let a = 0; a < k; a++) {
    let b = maps.rhs(st, face.rows[a]!), sc = Math.abs(b)
    for (const [i, c, , dphi] of face.fixedTerms[a]!) { const v = c * dphi * dx[i]!; b -= v; sc += Math.abs(v) }
    bot[a] = b
    scale = Math.max(scale, sc)
    any ||= b !== 0
  }
  if (!any) return true
  let x = new Float64Array(m)
  if (m > 0) {
    const top = new Float64Array(m)
    if (dx.some((v) => v !== 0)) { const pb = H.full(dx); for (let j = 0; j < m; j++) top[j] = -pb[F[j]!]! }
    x = Float64Array.from(solver.solve(top, bot).x)
  }
  for (let a = 0; a < k; a++) {
    let r = -bot[a]!
    for (let j = 0; j < m; j++) r += face.E[a * m + j]! * x[j]!
    if (Math.abs(r) > 1e-9 * scale) return false
  }
  return true
}

/**
 * The derivative on a face (see the module notes). Throws a {@link NegativeCurvatureError}
 * when H curves downwards on the face.
 *
 * @example
 * const d = faceDerivative(polyhedralFace(set, ws, nu, x, px, q), { block: faceHessian(P, F), full })
 */
export const faceDerivative = (face: FaceModel, H: FaceHessianPair, owner?: LinearOperator<unknown>): FaceDerivativeMap => {
  const F = face.free, m = F.length, k = face.rows.length, n = face.x.length
  const x = face.x, maps = face.set.params, nu = face.nu
  const E = k > 0 ? face.E : undefined
  // with the operator as `owner`, the factorization is shared within a call (a polish's
  // last face, a batch's instances on one face of one P), under the floor it is factored
  // with; the polish's own kept factor of this instance's face first
  const hf = owner === undefined ? face.hUnit : faceFloor(owner, F, k, face.hUnit)
  const build = (): KktSolver => kktSolver({ H: H.block, ...(face.shift !== 0 ? { shift: face.shift } : {}), ...(k > 0 ? { E: { k, rows: face.E } } : {}) }, { hFloor: hf })
  const solver = owner === undefined ? build() : ownFace<KktSolver>(F, E, face.shift) ?? faceMemo(owner, F, E, face.shift, build, hf)
  const neg = solver.info.negative
  if (neg !== undefined) {
    const d = new Float64Array(n)
    for (let j = 0; j < m; j++) d[F[j]!] = neg.direction[j]!
    throw new NegativeCurvatureError(d, neg.curvature)
  }
  const sgn = (a: number, i: number): number => (face.abs[a] === 1 ? face.sign[i]! : 1)
  const hasFixed = face.fixed.length > 0

  const jvp = (e: Float64Array | undefined, st: SetTangent): Float64Array => {
    const dx = new Float64Array(n)
    const top = new Float64Array(m), bot = new Float64Array(k)
    if (e !== undefined) for (let j = 0; j < m; j++) top[j] = -e[F[j]!]!
    let moved = false
    if (hasFixed) {
      for (const i of face.fixed) {
        const d = maps.bound(st, i, face.state[i] as 1 | 2 | 3)
        if (d !== 0) { dx[i] = d; moved = true }
      }
      if (moved && m > 0) {
        const pb = H.full(dx)
        for (let j = 0; j < m; j++) top[j] = top[j]! - pb[F[j]!]!
      }
    }
    for (let a = 0; a < k; a++) {
      const r = face.rows[a]!
      let b = maps.rhs(st, r)
      for (const [i, c, phi, dphi] of face.fixedTerms[a]!) {
        const dc = maps.coef === undefined ? 0 : maps.coef(st, r, i)
        b -= dc * phi + c * dphi * dx[i]!
      }
      if (maps.coef !== undefined) {
        for (let j = 0; j < m; j++) {
          const i = F[j]!, dc = maps.coef(st, r, i)
          if (dc === 0) continue
          const s = sgn(a, i)
          top[j] = top[j]! - nu[a]! * dc * s
          b -= dc * s * x[i]!
        }
      }
      bot[a] = b
    }
    if (m > 0) {
      const sol = solver.solve(top, bot, true)
      for (let j = 0; j < m; j++) dx[F[j]!] = sol.x[j]!
    }
    return dx
  }

  const vjp = (u: Float64Array, acc: SetGradient): Float64Array => {
    let v = new Float64Array(m), mu = new Float64Array(k)
    if (m > 0) {
      const uF = new Float64Array(m)
      for (let j = 0; j < m; j++) uF[j] = u[F[j]!]!
      const sol = solver.solve(uF, undefined, true)
      v = Float64Array.from(sol.x)
      mu = Float64Array.from(sol.nu)
    }
    if (hasFixed) {
      const aB = new Float64Array(n)
      for (const i of face.fixed) aB[i] = u[i]!
      if (m > 0 && v.some((vj) => vj !== 0)) {
        const full = new Float64Array(n)
        for (let j = 0; j < m; j++) full[F[j]!] = v[j]!
        const pv = H.full(full)
        for (const i of face.fixed) aB[i] = aB[i]! - pv[i]!
      }
      for (let a = 0; a < k; a++) for (const [i, c, , dphi] of face.fixedTerms[a]!) aB[i] = aB[i]! - mu[a]! * c * dphi
      for (const i of face.fixed) if (aB[i] !== 0) maps.boundT(acc, i, face.state[i] as 1 | 2 | 3, aB[i]!)
    }
    for (let a = 0; a < k; a++) {
      const r = face.rows[a]!
      maps.rhsT(acc, r, mu[a]!)
      if (maps.coefT !== undefined) {
        for (const [i, , phi] of face.fixedTerms[a]!) if (phi !== 0) maps.coefT(acc, r, i, -mu[a]! * phi)
        for (let j = 0; j < m; j++) {
          const i = F[j]!
          maps.coefT(acc, r, i, -sgn(a, i) * (nu[a]! * v[j]! + mu[a]! * x[i]!))
        }
      }
    }
    return v
  }

  // dependent rows (rank E_F < k) whose right-hand sides a scalar parameter (t, k) moves
  // apart from what the face can follow: the linearized rows have no solution along it,
  // so x* has only one-sided derivatives there (the capped simplex at an integer-k vertex)
  const stuck = k > 0 && solver.info.rowRank < k && [{ t: 1, k: 0 }, { t: 0, k: 1 }].some((st) => !rowsFollow(face, maps, st, H, solver))
  const report: FaceReport = {
    size: m - (k > 0 ? solver.info.rowRank : 0),
    margin: face.margin,
    derivative: solver.info.nullity > 0 ? 'non-unique' : face.margin <= KINK_TOLERANCE || stuck ? 'kink' : 'exact'
  }
  return { report, info: solver.info, jvp, vjp }
}
