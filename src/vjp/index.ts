/**
 * Reverse mode: the vector-Jacobian product of a differentiable map.
 *
 * @since 0.1.0
 */
import type { Diff } from '../core/Diff.js'
import type { Tan } from '../core/Tangent.js'

/**
 * `vjp(f)(a)` is `[f(a), ct ↦ J_f(a)ᵀ ct]`: the transposed projection of the `Diff`.
 *
 * @example
 * const [y, pullback] = vjp(P.dot<N>())([x, y]); pullback(1) // [y, x]
 */
export const vjp = <A, B>(f: Diff<A, B>) => (a: A): readonly [B, (ct: Tan<B>) => Tan<A>] => {
  const [b, lin] = f(a)
  return [b, lin.bwd]
}

export { vjpRules } from './rules.js'
