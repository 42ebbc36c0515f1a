/**
 * Reading and writing the tangents of one Frank-Wolfe step, (θ, state) ↦ state', for the
 * fused steps (`FusedStep.ts`, `FusedPairwise.ts`), which write their linear maps over
 * plain arrays: a symbolic zero or a missing field reads as `undefined`.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import { type Tan, Zero } from '../core/Tangent.js'
import type { Params } from './Problem.js'
import type { FwState } from './State.js'
import type { Linear } from '../core/Diff.js'

const data = <N>(v: Tan<Vec<N>> | undefined): Float64Array | undefined => (v === undefined || v === Zero ? undefined : v.data)

const ratioCache = new WeakMap<object, { readonly r: Float64Array; readonly iw: Float64Array }>()

/**
 * rᵢ = t/wᵢ and 1/wᵢ for the l1 ball of `p`, computed once per θ record (the fold's
 * steps all see the same one) instead of a division per entry per loop. The cache is
 * keyed on the record, which the layer builds afresh per call, so a weight array the
 * caller rewrites between calls is never read stale.
 *
 * @example
 * const { r, iw } = ratios(p) // r[i] === p.t / p.w.data[i]
 */
export const ratios = <N>(p: Params<N>): { readonly r: Float64Array; readonly iw: Float64Array } => {
  const c = ratioCache.get(p)
  if (c !== undefined) return c
  const w = p.w.data, t = p.t, n = w.length, r = new Float64Array(n), iw = new Float64Array(n)
  for (let i = 0; i < n; i++) { r[i] = t / w[i]!; iw[i] = 1 / w[i]! }
  const e = { r, iw }
  ratioCache.set(p, e)
  return e
}

/**
 * sign(v), 0 at 0.
 *
 * @example
 * sgn(-2) // −1
 */
export const sgn = (v: number): number => (v > 0 ? 1 : v < 0 ? -1 : 0)

/**
 * A step's input tangent as arrays (undefined for zero) and numbers.
 *
 * @example
 * const { dq, dx, dt } = readStepTangent<N>(d)
 */
export const readStepTangent = <N>(d: Tan<readonly [Params<N>, FwState<N>]>): {
  readonly dq: Float64Array | undefined
  readonly dw: Float64Array | undefined
  readonly dx: Float64Array | undefined
  readonly dpx: Float64Array | undefined
  readonly dt: number
  readonly dP: Mat<N, N> | undefined
} => {
  const [dp0, ds0] = (d === Zero ? [Zero, Zero] : d) as unknown as readonly [Tan<Params<N>>, Tan<FwState<N>>]
  const dp = (dp0 === Zero ? {} : dp0) as { q?: Tan<Vec<N>>; w?: Tan<Vec<N>>; t?: Tan<number>; P?: Tan<Mat<N, N>> }
  const dst = (ds0 === Zero ? {} : ds0) as { x?: Tan<Vec<N>>; px?: Tan<Vec<N>> }
  return {
    dq: data(dp.q), dw: data(dp.w), dx: data(dst.x), dpx: data(dst.px),
    dt: dp.t === undefined || dp.t === Zero ? 0 : dp.t,
    dP: dp.P === undefined || dp.P === Zero ? undefined : dp.P
  }
}

/**
 * A state cotangent (c_x', c_Px') as arrays, or undefined when both are zero.
 *
 * @example
 * const c = readStateCotangent<N>(ct); if (c === undefined) return Zero
 */
export const readStateCotangent = <N>(c: Tan<FwState<N>>): { readonly cx: Float64Array | undefined; readonly cp: Float64Array | undefined } | undefined => {
  if (c === Zero) return undefined
  const cc = c as { x?: Tan<Vec<N>>; px?: Tan<Vec<N>> }
  const cx = data(cc.x), cp = data(cc.px)
  return cx === undefined && cp === undefined ? undefined : { cx, cp }
}

/**
 * The tangent (dx', dPx') of the next state.
 *
 * @example
 * return stateTangent<N>(p.q.dim, dxn, dpxn)
 */
export const stateTangent = <N>(dim: Vec<N>['dim'], dx: Float64Array, dpx: Float64Array): Tan<FwState<N>> =>
  ({ x: { dim, data: dx }, px: { dim, data: dpx } }) as unknown as Tan<FwState<N>>

/**
 * The cotangent of a step's inputs: (c_P, c_q, c_w, c_t) and (c_x, c_Px); `P` and `w` may
 * be the symbolic zero.
 *
 * @example
 * return stepCotangent<N>(dim, { P: cP, q: cq, w: cw, t: ct }, cx, cpx)
 */
export const stepCotangent = <N>(
  dim: Vec<N>['dim'],
  theta: { readonly P: unknown; readonly q: Float64Array; readonly w: Float64Array | Zero; readonly t: number },
  cx: Float64Array,
  cpx: Float64Array
): Tan<readonly [Params<N>, FwState<N>]> =>
  [
    { P: theta.P, q: { dim, data: theta.q }, w: theta.w === Zero ? Zero : { dim, data: theta.w }, t: theta.t },
    { x: { dim, data: cx }, px: { dim, data: cpx } }
  ] as unknown as Tan<readonly [Params<N>, FwState<N>]>

/**
 * A traced step's linear map over one flat record (the parameters' fields and the state's
 * fields side by side, as the step's body reads them) as the fold's linear map over the
 * pair (parameters, state). Missing fields are the symbolic zero both ways.
 *
 * @example
 * const l = pairLinear<Params<N>, FwState<N>>(lin, ['P', 'q', 'w', 't'], ['x', 'px'])
 */
export const pairLinear = <P, S>(
  lin: Linear<never, unknown>,
  paramKeys: readonly string[],
  stateKeys: readonly string[]
): Linear<readonly [P, S], S> => {
  const pick = (r: unknown, k: string): unknown => (r === Zero ? Zero : ((r as Record<string, unknown>)[k] ?? Zero))
  const record = (r: unknown, keys: readonly string[]): Record<string, unknown> => Object.fromEntries(keys.map((k) => [k, pick(r, k)]))
  return {
    fwd: (d) => {
      if (d === Zero) return Zero
      const [dp, ds] = d as unknown as readonly [unknown, unknown]
      return lin.fwd({ ...record(dp, paramKeys), ...record(ds, stateKeys) } as never) as Tan<S>
    },
    bwd: (c) => {
      if (c === Zero) return Zero
      const r = lin.bwd(record(c, stateKeys) as never)
      if (r === Zero) return Zero
      return [record(r, paramKeys), record(r, stateKeys)] as unknown as Tan<readonly [P, S]>
    }
  }
}
