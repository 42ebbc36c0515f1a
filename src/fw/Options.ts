/**
 * The layer's options, its status values and its error: what the layer, its validation
 * (`Validate.ts`), batches and smooth objectives share, in a module of its own so that
 * none of them imports the layer for a type.
 *
 * @since 0.1.0
 */
import type { ScheduleName } from './Schedule.js'
import type { FoldOptions } from '../core/Diff.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * How derivatives are taken.
 *
 * @example
 * dfwLayer({ backward: 'unrolled' })(problem).vjp(ones) // through the steps that ran
 * dfwLayer({ backward: 'implicit' })(problem).vjp(ones) // on the solution's face
 */
export type BackwardMode = 'unrolled' | 'implicit'

/**
 * The layer's options; every field is optional.
 *
 * @example
 * const options: LayerOptions = { schedule: 'paper', backward: 'unrolled', maxIterations: 200, checkpoint: 20 }
 * dfwLayer(options)(problem)
 */
export interface LayerOptions {
  /** `"paper"` (PAPER.md's recipe) or `"default"` (the project's). Default `"default"`. */
  readonly schedule?: ScheduleName
  /** `"unrolled"` or `"implicit"`. Default `"implicit"`. */
  readonly backward?: BackwardMode
  /** The cap on steps (paper 1000, default 5000). */
  readonly maxIterations?: number
  /** The stop test's tolerance (paper: relative change 1e-4; default: gap ≤ tol·|f|, 1e-9). 0 runs exactly maxIterations steps. */
  readonly tolerance?: number
  /** L for the paper's short step; skips power iteration. */
  readonly lipschitz?: number
  /** The paper's initial temperature β₀ (1). */
  readonly beta0?: number
  /** Unrolled reverse mode: keep every c-th state and recompute (memory O((K/c + c)n)). */
  readonly checkpoint?: number
  /**
   * A limit on the solve's wall-clock time in milliseconds (> 0); a run that reaches it
   * returns its current point with status `"timeLimit"`. Default: none.
   */
  readonly timeLimitMs?: number
  /**
   * Unrolled reverse mode: the memory, in MiB (> 0), that the kept linear maps (the tape)
   * may take. Past it the fold checkpoints automatically, with memory O(√K·n) and the same
   * derivative. Default {@link DEFAULT_TAPE_BUDGET_MB}; ignored when `checkpoint` is given.
   */
  readonly tapeBudgetMB?: number
}

/**
 * Every key of {@link LayerOptions}: the layer refuses any other (`options.foo`), as the
 * CLI does. A new option is added here and to the checks of `Validate.ts`.
 *
 * @example
 * LAYER_OPTION_KEYS.includes('tolerance') // true
 */
export const LAYER_OPTION_KEYS: readonly (keyof LayerOptions)[] = [
  'schedule', 'backward', 'maxIterations', 'tolerance', 'lipschitz', 'beta0', 'checkpoint', 'timeLimitMs', 'tapeBudgetMB'
]

/**
 * The default tape budget of the unrolled reverse mode, in MiB: 512 MiB of live linear
 * maps, enough to keep every map of 5000 steps up to n ≈ 1400 (a step's map is
 * estimated at 72·n + 4096 bytes). The garbage collector lets a process grow to about
 * twice its live heap when the machine is busy, so the whole run stays well under 2 GiB
 * (measured: 3 000 000 steps at n = 2, and 200 steps at n = 10⁶, both through `dfw solve`
 * with a cotangent; docs/edge-cases.md).
 *
 * @example
 * dfwLayer({ backward: 'unrolled' }) // keeps at most DEFAULT_TAPE_BUDGET_MB MiB of linear maps
 */
export const DEFAULT_TAPE_BUDGET_MB = 512

/**
 * The fold options of the unrolled run for a problem of size n: the user's `checkpoint`
 * when given, else the tape budget with the layer's estimates of one step's linear map
 * (72·n + 4096 bytes; measured at 25n … 64n + 3 KB over the four sets and both
 * schedules) and of one kept state (x and P x: 16·n + 512 bytes).
 *
 * @example
 * unrolledFoldOptions({}, 1e6) // { tape: { limit: 2 ** 29, perStep: 72004096, perState: 16000512 } }
 */
export const unrolledFoldOptions = (options: LayerOptions, n: number): FoldOptions =>
  options.checkpoint !== undefined
    ? { checkpoint: options.checkpoint }
    : { tape: { limit: (options.tapeBudgetMB ?? DEFAULT_TAPE_BUDGET_MB) * 2 ** 20, perStep: 72 * n + 4096, perState: 16 * n + 512 } }

/**
 * Why the solver stopped: its stop test held, it ran `maxIterations` steps, or it reached
 * `timeLimitMs` (the point returned is then the last iterate, with its own gap).
 *
 * @example
 * const r = dfwLayer({ maxIterations: 10 })(problem)
 * if (r.status === 'maxIterations') console.warn(`gap ${r.gap} after ${r.iterations} steps`)
 */
export type Status = 'converged' | 'maxIterations' | 'timeLimit'

/**
 * A problem the layer refuses, with the path of the bad value.
 *
 * @example
 * try { dfwLayer()({ P: dense(p), q, t: -1 }) } catch (e) {
 *   if (e instanceof LayerError) e.path // 't'
 * }
 */
export class LayerError extends Error {
  constructor(message: string, readonly path: string) {
    super(message)
    this.name = 'LayerError'
  }
}


export { NegativeCurvatureError } from './Errors.js'
