/**
 * The batched engine's data: a batch of B problems of dimension n as structure of arrays,
 * with the batch a dimension of its own (`Dim<B>`, from `withDim` as for n), and the state
 * of a Frank-Wolfe run over the whole batch. Row b of every B × n matrix belongs to
 * instance b.
 *
 * @since 0.1.0
 */
import type { Dim } from '../../shapes/Dim.js'
import type { Mat } from '../../shapes/Mat.js'
import type { LinearOperator } from '../../core/LinearOperator.js'
import type { NegativeCurvatureError } from '../Errors.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The parameters θ of a batch, resolved and validated: the operator of each instance
 * (instances may share one object, and then share its products), and q, w, t row by row.
 * `r = t/w` and `iw = 1/w` are the paper step's ratios, computed once.
 *
 * @example
 * const theta: BatchTheta<B, N> = batchTheta(ops, q, w, t)
 * theta.q.data[b * n + i] // q of instance b, entry i
 */
export interface BatchTheta<B, N> {
  readonly B: Dim<B>
  readonly n: Dim<N>
  readonly P: ReadonlyArray<LinearOperator<N>>
  readonly q: Mat<B, N>
  readonly w: Mat<B, N>
  readonly t: Float64Array
  readonly r: Float64Array
  readonly iw: Float64Array
}

/**
 * The state of a batch's run after `k` steps of the batch: x and P x row by row, and per
 * instance its own steps, objective history (the paper's stop test reads f and f_prev),
 * whether it still steps, and the negative curvature that stopped it, if any. An instance
 * that has stopped keeps its rows; the batch steps while any instance is live.
 *
 * @example
 * const s: BatchState<B, N> = initialBatchState(theta, schedule)
 * s.live[b] // 1 while instance b steps
 */
export interface BatchState<B, N> {
  readonly x: Mat<B, N>
  readonly px: Mat<B, N>
  /** Steps taken by the batch. */
  readonly k: number
  /** Steps taken by each instance. */
  readonly steps: Int32Array
  readonly f: Float64Array
  readonly fPrev: Float64Array
  /** 1 while the instance steps. */
  readonly live: Uint8Array
  /** Negative curvature met by an instance (it stopped there; its result is an error). */
  readonly failed: ReadonlyArray<NegativeCurvatureError | undefined>
}

/**
 * The cotangents of θ a transpose computes besides q's: w's and t's (`wt`), P's terms (`P`).
 *
 * @example
 * const qAlone: Wants = { wt: false, P: false }
 */
export interface Wants {
  readonly wt: boolean
  readonly P: boolean
}

/**
 * A tangent (forward mode) or cotangent (reverse mode) of a batch's state, over a
 * selection of instances: row p of `x` and `px` belongs to instance `sel[p]`. `px`
 * undefined is zero; in reverse mode `pxSet[p]` is 0 while no step has written instance
 * `sel[p]`'s cotangent of P x yet (the single layer's cotangent then has no P x field, and
 * its last step adds no term to P's gradient).
 *
 * @example
 * const ct: BatchStateTan = { sel, x: cx, px: undefined, pxSet: new Uint8Array(sel.length) }
 */
export interface BatchStateTan {
  readonly sel: Int32Array
  readonly x: Float64Array | undefined
  readonly px: Float64Array | undefined
  readonly pxSet?: Uint8Array
  /** In reverse mode, the cotangents of θ the caller needs besides q's (all when absent). */
  readonly wants?: Wants
}

/**
 * A tangent of θ over a selection (the state tangent's `sel`): row p belongs to instance
 * `sel[p]`; an absent field is zero. `P[p]` is a tangent of instance `sel[p]`'s matrix.
 *
 * @example
 * const d: BatchThetaTan<N> = { q: dq, t: new Float64Array(sel.length).fill(1) }
 */
export interface BatchThetaTan<N> {
  readonly q?: Float64Array
  readonly w?: Float64Array
  readonly t?: Float64Array
  readonly P?: ReadonlyArray<Mat<N, N> | undefined>
}

/**
 * One step's terms of P's cotangent: γ c_{Ps} ⊗ s for the rows that have one, kept
 * unexpanded (as `OuterSum` keeps them for a single problem). Term a is row `uRow[a]` of
 * `u` times row `vRow[a]` of `v` (the step's vertices), and belongs to selection position
 * `pos[a]`.
 *
 * @example
 * for (let a = 0; a < term.pos.length; a++) addOuter(G[term.pos[a]], term.u, term.uRow[a], term.v, term.vRow[a])
 */
export interface OuterTerms {
  /** The batch step the terms come from. */
  readonly k: number
  readonly pos: Int32Array
  readonly u: Float64Array
  readonly uRow: Int32Array
  readonly v: Float64Array
  readonly vRow: Int32Array
}

/**
 * A cotangent of θ over a selection: `q`, `w` (rows by selection position) and `t`
 * (`{ data }`, one number per position), and P's cotangent as the unexpanded terms of
 * every step, keyed by step (`s12`), which the fold's sum of cotangents merges as a record.
 *
 * @example
 * const g = lin.bwd(ct)[0] as BatchThetaCotan
 * g.q.data // |sel| × n
 */
export interface BatchThetaCotan {
  readonly q: { readonly data: Float64Array }
  readonly w: { readonly data: Float64Array }
  readonly t: { readonly data: Float64Array }
  readonly Pterms: Readonly<Record<string, OuterTerms>>
}
