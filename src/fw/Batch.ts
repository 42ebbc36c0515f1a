/**
 * The layer over a batch, and the layer as a differentiable map.
 *
 * - `dfwBatch(options)(problems)` solves each problem on its own: one invalid or failing
 *   instance gives a `Left` at its index, with the path prefixed by `[i]`, and never spoils
 *   the others. A `Right` is exactly what `dfwLayer(options)` returns for that problem alone.
 * - `layerMap(options, fixed)` is θ ↦ x as a `Diff<Params<N>, Vec<N>>`, so the layer composes
 *   with other maps (a network producing q, say) and `jvp`/`vjp` see through it.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Vec } from '../shapes/Vec.js'
import type { Diff } from '../core/Diff.js'
import type { Params, Problem, SetKind } from './Problem.js'
import { dfwLayer, withCall, LayerError, type LayerOptions, type LayerResult } from './Layer.js'
import { validateBatch } from './Validate.js'

/** The message of anything thrown, for an error value. */
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Solves every problem of a batch independently.
 *
 * @example
 * const rs = dfwBatch({ backward: 'implicit' })([p0, p1, p2])
 * rs.map((r) => E.isRight(r) ? r.right.objective : r.left.path) // e.g. [-1.2, '[1].t', -0.4]
 */
export const dfwBatch = (options: LayerOptions = {}) => {
  const layer = dfwLayer(options)
  return <N>(problems: ReadonlyArray<Problem<N>>): ReadonlyArray<E.Either<LayerError, LayerResult<N>>> => {
    validateBatch(problems, options)
    return withCall(() => problems.map((p, i) => {
      try {
        return E.right(layer(p))
      } catch (e) {
        const path = e instanceof LayerError ? (e.path === '' ? `[${i}]` : `[${i}].${e.path}`) : `[${i}]`
        return E.left(new LayerError(messageOf(e), path))
      }
    }))
  }
}

/**
 * The layer θ ↦ x as a differentiable map, for one set. Its linear map is the layer's
 * (unrolled or implicit, by `options.backward`); invalid parameters throw a `LayerError`.
 *
 * @example
 * const f = layerMap<N>({ backward: 'implicit' }, 'l1')
 * const [x, lin] = f({ P, q, w, t: 1 })
 * lin.bwd(ones) // the cotangent of θ
 */
export const layerMap = <N>(options: LayerOptions = {}, set: SetKind = 'l1'): Diff<Params<N>, Vec<N>> => {
  const layer = dfwLayer(options)
  return (theta) => {
    const r = layer<N>({ ...theta, set })
    return [r.x, r.linear]
  }
}
