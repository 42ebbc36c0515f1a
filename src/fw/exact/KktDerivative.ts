/**
 * The exact derivative of the solution map θ = (q, w, t, P) ↦ x*(θ), by the implicit
 * function theorem on the active face that {@link solveExact} identified, computed
 * densely: one LU factorization of the face's symmetric KKT matrix, then one solve per
 * JVP or VJP. It is the reference the matrix-free implicit derivative is tested against.
 *
 * The face equations, with g = P x + q, free coordinates F, a tangent (dq, dw, dt, dP),
 * and dx = 0 on coordinates that are neither free nor bound:
 *
 * - `l1`, binding (support S, signs σ, a = σ ⊙ w_S, multiplier λ):
 *   P_SS dx_S + (dP x)_S + dq_S + dλ a + λ σ ⊙ dw_S = 0,
 *   aᵀ dx_S + (σ ⊙ x_S)ᵀ dw_S = dt, dx off S = 0.
 * - `l1` not binding (λ = 0, so g = 0 on every coordinate): P dx + dP x + dq = 0;
 *   w and t do not move x.
 * - `simplex` (support S, multiplier ν): P_SS dx_S + (dP x)_S + dq_S + dν 1 = 0,
 *   1ᵀ dx_S = dt, dx off S = 0; w does not move x.
 * - `linf` (free F, bound B with x_B = σ t): dx_B = σ dt,
 *   P_FF dx_F + P_FB σ dt + (dP x)_F + dq_F = 0; w does not move x.
 * - `l2`, binding (multiplier λ of ½(‖x‖² − t²)): (P + λI) dx + dλ x + dP x + dq = 0,
 *   xᵀ dx = t dt.
 * - `l2` not binding: P dx + dP x + dq = 0.
 *
 * Each is K [dx_F; dμ] = [r; c] with K = [P_FF + sI, a; aᵀ, 0] symmetric (s = λ for the
 * binding l2 ball, else 0; no border row when there is no equality), so the VJP of a
 * cotangent u solves K [v; ν] = [u_F; 0] and reads the gradients off ⟨v, r⟩ + ν c:
 * ∇q = −v on F, ∇P = −v xᵀ on the rows F, and for `l1` ∇w_S = −σ ⊙ (λ v + ν x_S),
 * ∇t = ν; for the simplex ∇t = ν; for the box ∇t = σᵀu_B − vᵀ P_FB σ; for the l2 ball
 * ∇t = ν t.
 *
 * About P: the equations use dP x, the derivative of the gradient P x + q for a
 * symmetric tangent dP. ∇P = −v xᵀ is not symmetrized: ⟨∇P, dP⟩ is the directional
 * derivative for every symmetric dP (symmetrize it if you need the symmetric gradient).
 *
 * The derivative exists where the face is non-degenerate (strict complementarity and a
 * nonsingular K). `rank < size` flags a singular K; the maps then use the basic solution
 * and are not a derivative.
 *
 * @since 0.1.0
 */
import type { Vec } from '../../shapes/Vec.js'
import type { Mat } from '../../shapes/Mat.js'
import type { Params, ParamsTangent, SetKind } from '../Problem.js'
import { applyInto } from '../../core/LinearOperator.js'
import type { ExactSolution } from './ExactSolver.js'
import { luFactor, luSolve, range, subMatrix } from './internal.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * Gradients of ⟨u, x*⟩ with respect to every parameter, P as a dense matrix.
 *
 * @example
 * const g: DenseGradients<N> = kktDerivative('l1', params, solveExact('l1', params)).vjp(u)
 * g.q; g.w; g.t; g.P // P dense even when params.P is low-rank or sparse
 */
export interface DenseGradients<N> {
  readonly q: Vec<N>
  readonly w: Vec<N>
  readonly t: number
  readonly P: Mat<N, N>
}

/**
 * The linearized solution map on the face, and its transpose.
 *
 * @example
 * const D: KktDerivative<N> = kktDerivative('simplex', params, solveExact('simplex', params))
 * D.jvp({ t: 1 })   // the derivative of x* in t
 * D.size === D.rank // a non-degenerate face
 */
export interface KktDerivative<N> {
  /** dx = J · (dq, dw, dt, dP); missing directions are zero. */
  readonly jvp: (tangent: ParamsTangent<N>) => Vec<N>
  /** Jᵀ u: the gradients of ⟨u, x*⟩. */
  readonly vjp: (ct: Vec<N>) => DenseGradients<N>
  /** The coordinates that move with the parameters (F above). */
  readonly free: Int32Array
  /** The size of K and its numerical rank (equal unless the face is degenerate). */
  readonly size: number
  readonly rank: number
}

interface FaceSystem {
  readonly free: Int32Array
  readonly row: Float64Array | undefined
  readonly shift: number
}

const faceSystem = <N>(set: SetKind, params: Params<N>, sol: ExactSolution<N>): FaceSystem => {
  const n = params.q.dim as number, x = sol.x.data, face = sol.face
  if (face.set !== set) throw new RangeError(`kktDerivative: the solution's face is for '${face.set}', not '${set}'`)
  switch (face.set) {
    case 'l1':
      return face.binding
        ? { free: face.support, row: Float64Array.from(face.support, (i, k) => face.signs[k]! * params.w.data[i]!), shift: 0 }
        : { free: range(n), row: undefined, shift: 0 }
    case 'simplex':
      return { free: face.support, row: new Float64Array(face.support.length).fill(1), shift: 0 }
    case 'linf':
      return { free: face.free, row: undefined, shift: 0 }
    case 'l2':
      return face.binding ? { free: range(n), row: Float64Array.from(x), shift: sol.lambda } : { free: range(n), row: undefined, shift: 0 }
  }
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * The exact derivative of {@link solveExact}'s solution map at `solution` (see the module
 * comment for each set's equations). Dense: O(|F|³) to build, O(|F|²) per JVP or VJP
 * (plus O(n²) for a P tangent or the P gradient). Accuracy: the solves use
 * complete-pivoting LU with two refinement steps, so at a non-degenerate face the maps
 * are exact to a few ulps times cond(K).
 *
 * @example
 * const sol = solveExact('l1', params)
 * const D = kktDerivative('l1', params, sol)
 * D.jvp({ q: dq })        // dx
 * D.vjp(ones(n)).q        // ∇q Σᵢ xᵢ*
 */
export const kktDerivative = <N>(set: SetKind, params: Params<N>, solution: ExactSolution<N>): KktDerivative<N> => {
  const dim = params.q.dim, n = dim as number
  const x = solution.x.data, t = params.t, lambda = solution.lambda
  const face = solution.face
  const { free, row, shift } = faceSystem(set, params, solution)
  const m = free.length, M = m + (row === undefined ? 0 : 1)
  const Pff = subMatrix(params.P, free, free)
  const K = new Float64Array(M * M)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) K[i * M + j] = Pff[i * m + j]!
    K[i * M + i] = K[i * M + i]! + shift
  }
  if (row !== undefined) for (let i = 0; i < m; i++) { K[i * M + m] = row[i]!; K[m * M + i] = row[i]! }
  const f = luFactor(K, M)

  // the box: P_FB σ, the response of the free block's gradient to dt
  const boxDt = new Float64Array(n)
  if (face.set === 'linf') {
    const b = new Float64Array(n)
    face.bound.forEach((i, k) => { b[i] = face.signs[k]! })
    applyInto(params.P, b, boxDt)
  }

  const jvp = (tan: ParamsTangent<N>): Vec<N> => {
    const dq = tan.q?.data, dw = tan.w?.data, dt = tan.t ?? 0
    const dPx = new Float64Array(n)
    if (tan.P !== undefined) {
      const A = tan.P.data
      for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += A[i * n + j]! * x[j]!; dPx[i] = s }
    }
    const rhs = new Float64Array(M)
    for (let k = 0; k < m; k++) {
      const i = free[k]!
      rhs[k] = -(dq === undefined ? 0 : dq[i]!) - dPx[i]!
    }
    const dx = new Float64Array(n)
    switch (face.set) {
      case 'l1':
        if (face.binding) {
          let c = dt
          for (let k = 0; k < m; k++) {
            const i = free[k]!, s = face.signs[k]!, dwi = dw === undefined ? 0 : dw[i]!
            rhs[k] = rhs[k]! - lambda * s * dwi
            c -= s * x[i]! * dwi
          }
          rhs[m] = c
        }
        break
      case 'simplex':
        rhs[m] = dt
        break
      case 'linf':
        for (let k = 0; k < m; k++) rhs[k] = rhs[k]! - boxDt[free[k]!]! * dt
        face.bound.forEach((i, k) => { dx[i] = face.signs[k]! * dt })
        break
      case 'l2':
        if (face.binding) rhs[m] = t * dt
        break
    }
    if (M > 0) {
      const z = luSolve(f, rhs)
      for (let k = 0; k < m; k++) dx[free[k]!] = z[k]!
    }
    return { dim, data: dx }
  }

  const vjp = (ct: Vec<N>): DenseGradients<N> => {
    const u = ct.data
    const rhs = new Float64Array(M)
    for (let k = 0; k < m; k++) rhs[k] = u[free[k]!]!
    const z = M > 0 ? luSolve(f, rhs) : new Float64Array(0)
    const nu = row === undefined ? 0 : z[m]!
    const gq = new Float64Array(n), gw = new Float64Array(n), gP = new Float64Array(n * n)
    for (let k = 0; k < m; k++) {
      const i = free[k]!, vi = z[k]!
      gq[i] = -vi
      if (vi !== 0) for (let j = 0; j < n; j++) gP[i * n + j] = -vi * x[j]!
    }
    let gt = 0
    switch (face.set) {
      case 'l1':
        if (face.binding) {
          for (let k = 0; k < m; k++) {
            const i = free[k]!, s = face.signs[k]!
            gw[i] = -s * (lambda * z[k]! + nu * x[i]!)
          }
          gt = nu
        }
        break
      case 'simplex':
        gt = nu
        break
      case 'linf':
        face.bound.forEach((i, k) => { gt += face.signs[k]! * u[i]! })
        for (let k = 0; k < m; k++) gt -= z[k]! * boxDt[free[k]!]!
        break
      case 'l2':
        if (face.binding) gt = nu * t
        break
    }
    return { q: { dim, data: gq }, w: { dim, data: gw }, t: gt, P: { rows: dim, cols: dim, data: gP } }
  }

  return { jvp, vjp, free, size: M, rank: f.rank }
}
