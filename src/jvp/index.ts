/**
 * Forward mode: the Jacobian-vector product of a differentiable map.
 *
 * @since 0.1.0
 */
import type { Diff } from '../core/Diff.js'
import type { Tan } from '../core/Tangent.js'

/**
 * `jvp(f)(a, da)` is `[f(a), J_f(a) da]`: the forward projection of the `Diff`.
 *
 * @example
 * const [y, dy] = jvp(P.softmax<N>())([x], [dx])
 */
export const jvp = <A, B>(f: Diff<A, B>) => (a: A, da: Tan<A>): readonly [B, Tan<B>] => {
  const [b, lin] = f(a)
  return [b, lin.fwd(da)]
}

/**
 * `linearize(f)(a)` is `[f(a), da ↦ J da]`, for several tangents at one point.
 *
 * @example
 * const [y, push] = linearize(f)(x); push(dx1); push(dx2)
 */
export const linearize = <A, B>(f: Diff<A, B>) => (a: A): readonly [B, (da: Tan<A>) => Tan<B>] => {
  const [b, lin] = f(a)
  return [b, lin.fwd]
}

export { jvpRules } from './rules.js'
