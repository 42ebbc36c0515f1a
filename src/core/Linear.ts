/**
 * A linear map between tangent spaces, with its transpose: the derivative part of a
 * differentiable map (`Diff.ts`). Kept in its own module so that the engine and its
 * helpers can share the type without importing each other.
 *
 * @since 0.1.0
 */
import type { Tan } from './Tangent.js'

/**
 * A linear map between tangent spaces and its transpose.
 *
 * @example
 * const lin: Linear<Vec<N>, number> = { fwd: (dx) => dotT(c, dx), bwd: (dy) => scaleT(dy as number, c) }
 */
export interface Linear<A, B> {
  /** The Jacobian-vector product. */
  readonly fwd: (da: Tan<A>) => Tan<B>
  /** The transposed product (vector-Jacobian). */
  readonly bwd: (db: Tan<B>) => Tan<A>
}

/**
 * A linear map from its two functions. The engine builds one per node and evaluation, so
 * it does so by a call rather than an object literal of arrow functions: runners that keep
 * function names (tsx, esbuild's keepNames) would otherwise wrap two fresh closures per
 * node in a `__name` call (an `Object.defineProperty` each), which dominated the fold
 * benchmark under tsx.
 *
 * @example
 * linearOf((dx) => scaleT(2, dx), (dy) => scaleT(2, dy)) // the map v ↦ 2v, its own transpose
 */
export const linearOf = <A, B>(fwd: (da: Tan<A>) => Tan<B>, bwd: (db: Tan<B>) => Tan<A>): Linear<A, B> => ({ fwd, bwd })
