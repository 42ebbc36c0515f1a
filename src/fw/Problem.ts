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
 * A polytope known only by its linear minimization oracle: `lmo(g)` returns a vertex v
 * of the polytope with ⟨g, v⟩ minimal. It goes wherever a set goes in a problem; build one
 * with {@link polytope}. Shortest paths, matchings, spanning trees or any combinatorial
 * solver fit. The polytope has no parameters of its own (derivatives are in q and P).
 *
 * @example
 * const corners = polytope<N>({ lmo: (g) => (g.data[0]! <= g.data[1]! ? e0 : e1) }) // the segment [e0, e1]
 * dfwLayer()({ P, q, set: corners })
 */
export interface Polytope<N> {
  readonly kind: 'polytope'
  /** A vertex minimizing ⟨g, ·⟩ over the polytope; it must not depend on anything but g. */
  readonly lmo: (g: Vec<N>) => Vec<N>
}

/**
 * Makes a {@link Polytope} from its oracle.
 *
 * @example
 * const simplex3 = polytope<N>({ lmo: (g) => basis(g.dim, argmin(g)) }) // the unit simplex, by its oracle
 */
export const polytope = <N>(o: { readonly lmo: (g: Vec<N>) => Vec<N> }): Polytope<N> => ({ kind: 'polytope', lmo: o.lmo })

/**
 * A feasible set in its object form (CONTRACT.md, "More sets"): the four sets of
 * {@link SetKind} by kind, and
 * - `box` {lower, upper}: lowerᵢ ≤ xᵢ ≤ upperᵢ (finite, lowerᵢ < upperᵢ; no t);
 * - `capped-simplex` {k}: 0 ≤ xᵢ ≤ 1 and Σxᵢ = k, 0 < k < n (the top-k polytope; no t);
 * - `ksparse` {k}: ‖x‖∞ ≤ t and ‖x‖₁ ≤ k·t, k an integer in [1, n] (t > 0);
 * - `birkhoff`: x is an m×m doubly stochastic matrix stored row-major, n = m² (no t);
 * - `nuclear` {rows, cols}: x is a rows×cols matrix stored row-major, n = rows·cols, whose
 *   singular values sum to at most t (t > 0);
 * - a {@link Polytope} given by its oracle.
 *
 * @example
 * const top3: SetObject<N> = { kind: 'capped-simplex', k: 3 }
 * const unitBox: SetObject<N> = { kind: 'box', lower: fill(n, 0), upper: fill(n, 1) }
 */
export type SetObject<N> =
  | { readonly kind: SetKind }
  | { readonly kind: 'box'; readonly lower: Vec<N>; readonly upper: Vec<N> }
  | { readonly kind: 'capped-simplex'; readonly k: number }
  | { readonly kind: 'ksparse'; readonly k: number }
  | { readonly kind: 'birkhoff' }
  | { readonly kind: 'nuclear'; readonly rows: number; readonly cols: number }
  | Polytope<N>

/**
 * Any feasible set: a {@link SetKind} string or a {@link SetObject}.
 *
 * @example
 * const s: SetSpec<N> = 'simplex'
 * const b: SetSpec<N> = { kind: 'birkhoff' }
 */
export type SetSpec<N> = SetKind | SetObject<N>

/**
 * Every set kind's name.
 *
 * @example
 * const k: SetName = 'capped-simplex'
 */
export type SetName = SetObject<unknown>['kind']

/**
 * A problem as the user states it; `w` defaults to all ones and `set` to `l1`. `t` is
 * required by the sets that have a radius (l1, linf, l2, simplex, ksparse, nuclear) and
 * must be absent for the others; `w` belongs to the l1 ball only.
 *
 * @example
 * const problem: Problem<N> = { P: dense(p), q, t: 1, w, set: 'l1' }
 * dfwLayer()(problem).x
 */
export interface Problem<N> {
  readonly P: LinearOperator<N>
  readonly q: Vec<N>
  readonly t?: number
  readonly w?: Vec<N>
  readonly set?: SetSpec<N>
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
  /** The box's bounds (box only). */
  readonly lower?: Vec<N>
  readonly upper?: Vec<N>
  /** The capped simplex's sum (capped-simplex only). */
  readonly k?: number
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
  /** Box only. */
  readonly lower?: Vec<N>
  readonly upper?: Vec<N>
  /** Capped simplex only. */
  readonly k?: number
}

/**
 * Gradients of ⟨cotangent, x⟩. `P` is present when P is dense; `lower`/`upper` on the box
 * and `k` on the capped simplex. The CLI writes only the set's own parameters (CONTRACT.md).
 *
 * @example
 * const g = dfwLayer()({ P: dense(p), q, t: 1 }).vjp(ones)
 * g.q; g.w; g.t // ∇ of Σᵢ xᵢ in q, w and t
 * g.P           // present: P is dense
 */
export interface Gradients<N> {
  readonly q: Vec<N>
  /** Zero on every set but the l1 ball. */
  readonly w: Vec<N>
  /** Zero on the sets without a radius (box, capped-simplex, birkhoff, polytope). */
  readonly t: number
  readonly P?: Mat<N, N>
  /** Present on the box. */
  readonly lower?: Vec<N>
  readonly upper?: Vec<N>
  /** Present on the capped simplex. */
  readonly k?: number
}

/**
 * The tangent type of `Params` in the `Diff` engine.
 *
 * @example
 * const [x, lin] = layerMap<N>()(theta)
 * const ct: ParamsTan<N> = lin.bwd(ones) // a record { P, q, w, t }, or Zero
 */
export type ParamsTan<N> = Tan<Params<N>>
