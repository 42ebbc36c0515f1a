/**
 * The layer's options, its status values and its error: what the layer, its validation
 * (`Validate.ts`), batches and smooth objectives share, in a module of its own so that
 * none of them imports the layer for a type.
 *
 * @since 0.1.0
 */
import type { ScheduleName } from './Schedule.js'

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
}

/**
 * Why the solver stopped.
 *
 * @example
 * const r = dfwLayer({ maxIterations: 10 })(problem)
 * if (r.status === 'maxIterations') console.warn(`gap ${r.gap} after ${r.iterations} steps`)
 */
export type Status = 'converged' | 'maxIterations'

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
