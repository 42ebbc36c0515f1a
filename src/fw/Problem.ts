/**
 * The layer's problem: minimize ½ xᵀP x + qᵀx subject to x ∈ C(w, t), and the shapes of
 * its derivatives.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import type { LinearOperator } from '../core/LinearOperator.js'
import type { Tan } from '../core/Tangent.js'

/**
 * The feasible sets:
 * - `l1`: Σ|wᵢ xᵢ| ≤ t
 * - `linf`: |xᵢ| ≤ t
 * - `l2`: ‖x‖₂ ≤ t
 * - `simplex`: xᵢ ≥ 0, Σ xᵢ = t
 *
 * @example
 * dfwLayer()({ P: dense(p), q, t: 1, set: 'simplex' }).x // xᵢ ≥ 0, Σ xᵢ = 1
 */
export type SetKind = 'l1' | 'linf' | 'l2' | 'simplex'

/**
 * A problem as the user states it; `w` defaults to all ones and `set` to `l1`.
 *
 * @example
 * const problem: Problem<N> = { P: dense(p), q, t: 1, w, set: 'l1' }
 * dfwLayer()(problem).x
 */
export interface Problem<N> {
  readonly P: LinearOperator<N>
  readonly q: Vec<N>
  readonly t: number
  readonly w?: Vec<N>
  readonly set?: SetKind
}

/**
 * The differentiable parameters (θ), with `w` resolved.
 *
 * @example
 * const theta: Params<N> = { P: dense(p), q, w: fill(q.dim, 1), t: 1 }
 * const [x, lin] = layerMap<N>({}, 'l1')(theta)
 */
export interface Params<N> {
  readonly P: LinearOperator<N>
  readonly q: Vec<N>
  readonly w: Vec<N>
  readonly t: number
}

/**
 * A tangent of the parameters: any subset of directions; a missing one is zero.
 *
 * @example
 * const r = dfwLayer()({ P: dense(p), q, t: 1 })
 * r.jvp({ t: 1 })          // ∂x/∂t
 * r.jvp({ q: dq, P: dP })  // dx along (dq, dP), w held fixed
 */
export interface ParamsTangent<N> {
  readonly q?: Vec<N>
  readonly w?: Vec<N>
  readonly t?: number
  readonly P?: Mat<N, N>
}

/**
 * Gradients of ⟨cotangent, x⟩. `P` is present when P is dense.
 *
 * @example
 * const g = dfwLayer()({ P: dense(p), q, t: 1 }).vjp(ones)
 * g.q; g.w; g.t // ∇ of Σᵢ xᵢ in q, w and t
 * g.P           // present: P is dense
 */
export interface Gradients<N> {
  readonly q: Vec<N>
  readonly w: Vec<N>
  readonly t: number
  readonly P?: Mat<N, N>
}

/**
 * The tangent type of `Params` in the `Diff` engine.
 *
 * @example
 * const [x, lin] = layerMap<N>()(theta)
 * const ct: ParamsTan<N> = lin.bwd(ones) // a record { P, q, w, t }, or Zero
 */
export type ParamsTan<N> = Tan<Params<N>>
