/**
 * Schedules: everything about a run except the problem. `"paper"` is PAPER.md's recipe
 * exactly; `"default"` is this project's, chosen from measurements (README, "Choosing the
 * defaults").
 *
 * @since 0.1.0
 */
import type { StepConfig, FwState } from './State.js'
import type { SetKind, SetName } from './Problem.js'
import { gapMet } from './Oracle.js'

/**
 * The schedule's name.
 *
 * @example
 * const name: ScheduleName = 'paper'
 * dfwLayer({ schedule: name })(problem)
 */
export type ScheduleName = 'paper' | 'default'

/**
 * A resolved schedule: the step, when to continue, and the cap.
 *
 * @example
 * const s: Schedule = defaultSchedule('l1', { tolerance: 1e-10 })
 * s.step.rule; s.maxIterations // 'exact', 5000
 * s.go(state)                  // another step? (gap > 1e-10·|f| + the gap's rounding floor)
 */
export interface Schedule {
  readonly name: ScheduleName
  readonly step: StepConfig
  readonly maxIterations: number
  readonly tolerance: number
  /** Whether to take another step from this state (the cap is applied separately). */
  readonly go: <N>(s: FwState<N>) => boolean
}

/**
 * Defaults of the paper's recipe.
 *
 * @example
 * PAPER_DEFAULTS.tolerance   // 1e-4, the relative change of f that stops the run
 * PAPER_DEFAULTS.doubleEvery // 30: β doubles every 30 iterations
 */
export const PAPER_DEFAULTS = { tolerance: 1e-4, maxIterations: 1000, beta0: 1, doubleEvery: 30 } as const

/**
 * Defaults of the project's schedule.
 *
 * @example
 * defaultSchedule('l1', {}).maxIterations === DEFAULT_DEFAULTS.maxIterations // 5000
 */
export const DEFAULT_DEFAULTS = { tolerance: 1e-9, maxIterations: 5000 } as const

/**
 * PAPER.md's recipe: x₀ = 0; the smoothed oracle at temperature β = β₀·2^⌊i/30⌋ for
 * iteration i (so the 30th, 60th, … iteration doubles β before stepping); the short step
 * clamp(gᵀd/(L‖d‖²), 0, 1) with L the top eigenvalue by power iteration (or the given
 * `lipschitz`); stop when |f_k − f_{k−1}|/|f_{k−1}| ≤ tolerance (1e-4), with the history
 * starting at the sentinels 1000 and −100. A tolerance of 0 disables the test, so exactly
 * `maxIterations` steps run.
 *
 * @example
 * paperSchedule('l1', { lipschitz: 10 })
 */
export const paperSchedule = (
  set: SetKind,
  o: { readonly lipschitz: number; readonly beta0?: number; readonly tolerance?: number; readonly maxIterations?: number }
): Schedule => {
  const beta0 = o.beta0 ?? PAPER_DEFAULTS.beta0
  const tol = o.tolerance ?? PAPER_DEFAULTS.tolerance
  return {
    name: 'paper',
    step: {
      set,
      oracle: 'smooth',
      direction: 'fw',
      rule: 'short',
      lipschitz: o.lipschitz,
      beta: (i) => beta0 * 2 ** Math.floor(i / PAPER_DEFAULTS.doubleEvery)
    },
    maxIterations: o.maxIterations ?? PAPER_DEFAULTS.maxIterations,
    tolerance: tol,
    go: (s) => tol === 0 || Math.abs(s.f - s.fPrev) / Math.abs(s.fPrev) > tol
  }
}

/**
 * The project's schedule: the exact oracle; pairwise steps on the l1 ball and the simplex
 * (atoms ±(t/wᵢ)eᵢ and the origin, or t eᵢ) and on the l∞ box (vertices one coordinate
 * apart, `boxPairwiseDirection`), which converge linearly for strongly convex f
 * and drop wrong coordinates, so the support (on the box: the bound coordinates) is
 * identified; Frank-Wolfe steps on the l2 ball; exact line search (no L needed); stop when the Frank-Wolfe gap, an upper
 * bound on f(x) − f*, is at most tolerance·|f(x)| (1e-9) plus its rounding floor
 * (`certificateAt`'s `gapFloor`, about 1e-15 at the usual scales). A tolerance of 0 disables the test.
 *
 * @example
 * defaultSchedule('l1', {})
 */
export const defaultSchedule = (
  set: SetName,
  o: { readonly tolerance?: number; readonly maxIterations?: number; readonly lipschitz?: number }
): Schedule => {
  const tol = o.tolerance ?? DEFAULT_DEFAULTS.tolerance
  return {
    name: 'default',
    step: { set, oracle: 'exact', direction: 'pairwise', rule: 'exact', lipschitz: o.lipschitz ?? 0, beta: () => Infinity },
    maxIterations: o.maxIterations ?? DEFAULT_DEFAULTS.maxIterations,
    tolerance: tol,
    go: (s) => tol === 0 || s.k === 0 || !gapMet(s.gap, s.f, tol, s.gapFloor)
  }
}
