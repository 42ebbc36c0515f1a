/**
 * The solver's state and a step's configuration: the data that the step (`Step.ts`), its
 * fused forms (`FusedStep.ts`, `FusedPairwise.ts`), their tangent plumbing
 * (`StepTangent.ts`) and the schedules share, in a module of its own so that none of them
 * imports another for a type.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { SetName } from './Problem.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The step rules:
 * - `short`: the paper's clamp(−gᵀu / (L‖u‖²), 0, γmax)
 * - `exact`: exact line search for the quadratic, clamp(−gᵀu / uᵀP u, 0, γmax)
 * - `openLoop`: min(2/(k+2), γmax)
 * with u the step direction and γmax = 1 (Frank-Wolfe) or the away atom's weight (pairwise).
 *
 * @example
 * const rule: StepRule = 'exact' // the default schedule's; the paper's is 'short'
 * fwStep<N>({ ...defaultSchedule('l1', {}).step, rule: 'openLoop' })
 */
export type StepRule = 'short' | 'exact' | 'openLoop'

/**
 * The directions: `fw` moves towards the vertex s (u = s − x); `pairwise` moves weight
 * from the away atom a to s (u = s − a), for the l1 ball (atoms ±(t/wᵢ)eᵢ and 0) and
 * the simplex (atoms t eᵢ). Other sets fall back to `fw`.
 *
 * @example
 * defaultSchedule('simplex', {}).step.direction // 'pairwise'
 * paperSchedule('l1', { lipschitz: L }).step.direction // 'fw'
 */
export type Direction = 'fw' | 'pairwise'

/**
 * Which oracle a step calls: the exact vertex, or the smoothed one at the schedule's temperature.
 *
 * @example
 * paperSchedule('l1', { lipschitz: L }).step.oracle // 'smooth', at β = β₀·2^⌊i/30⌋
 */
export type OracleKind = 'exact' | 'smooth'

/**
 * Everything that fixes the step, except θ and the state.
 *
 * @example
 * const config: StepConfig = { set: 'l2', oracle: 'exact', direction: 'fw', rule: 'exact', lipschitz: 0, beta: () => Infinity }
 * const step = fwStep<N>(config)
 */
export interface StepConfig {
  readonly set: SetName
  readonly oracle: OracleKind
  readonly direction: Direction
  readonly rule: StepRule
  /** L for the `short` rule (a constant for differentiation). */
  readonly lipschitz: number
  /** The temperature of iteration i (1-based). */
  readonly beta: (i: number) => number
}

/**
 * The solver's state. Only `x` and `px` carry derivatives; the rest are statistics.
 *
 * @example
 * const [s0] = initialState<N>('l1')(theta)
 * const [s1] = fwStep<N>(config)([theta, s0])
 * s1.k; s1.gap // 1, and the gap at the new x
 */
export interface FwState<N> {
  readonly x: Vec<N>
  /** P x, kept up to date incrementally. */
  readonly px: Vec<N>
  /** Steps taken. */
  readonly k: number
  /** f(x) = ½ xᵀPx + qᵀx. */
  readonly f: number
  /** f before the last step (the paper's history). */
  readonly fPrev: number
  /** The exact-oracle Frank-Wolfe gap at x. */
  readonly gap: number
  /** The gap's rounding floor at x (`certificateAt`): a gap below it is as good as zero. */
  readonly gapFloor: number
}

