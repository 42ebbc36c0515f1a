/**
 * A small multilayer perceptron as a differentiable map of its weights, built from the
 * library's primitives (`matVec`, `add`, `relu`, `tanh`) through `trace`, and Adam.
 *
 * @since 0.1.0
 */
import type { Dim } from '../../src/shapes/Dim.js'
import type { Vec } from '../../src/shapes/Vec.js'
import type { Mat } from '../../src/shapes/Mat.js'
import type { Diff } from '../../src/core/Diff.js'
import * as Prim from '../../src/core/Prim.js'
import '../../src/jvp/index.js'
import '../../src/vjp/index.js'
import { trace } from '../../src/core/Trace.js'
import { type Tan, Zero } from '../../src/core/Tangent.js'
import type { Rng } from '../../src/core/Random.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** The weights of a network with two hidden layers of width `H`: F → H → H → A. */
export interface Mlp<F, H, A> {
  readonly W1: Mat<H, F>
  readonly b1: Vec<H>
  readonly W2: Mat<H, H>
  readonly b2: Vec<H>
  readonly W3: Mat<A, H>
  readonly b3: Vec<A>
}

/** The input of a dense layer. */
export interface DenseArgs<M, N> {
  readonly W: Mat<M, N>
  readonly b: Vec<M>
  readonly x: Vec<N>
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * The dense layer (W, b, x) ↦ W x + b, differentiable in all three.
 *
 * @example
 * dense<M, N>()({ W, b, x }) // [W x + b, linear map]
 */
export const dense = <M, N>(): Diff<DenseArgs<M, N>, Vec<M>> =>
  trace<DenseArgs<M, N>, Vec<M>>(($, { W, b, x }) => $.call(Prim.add<M>(), $.call(Prim.matVec<M, N>(), W, x), b))

/**
 * The network at one input, as a map of its weights: x ↦ W₃ tanh(W₂ relu(W₁ x + b₁) + b₂) + b₃.
 * The input is a constant of the map; the weights are its argument.
 *
 * @example
 * const [action, lin] = mlp<F, H, A>(x)(weights)
 */
export const mlp = <F, H, A>(x: Vec<F>): Diff<Mlp<F, H, A>, Vec<A>> =>
  trace<Mlp<F, H, A>, Vec<A>>(($, th) => {
    const h1 = $.call(Prim.relu<H>(), $.callRecord(dense<H, F>(), { W: th.W1, b: th.b1, x: $.constant(x) }))
    const h2 = $.call(Prim.tanh<H>(), $.callRecord(dense<H, H>(), { W: th.W2, b: th.b2, x: h1 }))
    return $.callRecord(dense<A, H>(), { W: th.W3, b: th.b3, x: h2 })
  })

const glorot = <M, N>(r: Rng, m: Dim<M>, n: Dim<N>): Mat<M, N> => {
  const s = Math.sqrt(2 / (m + n))
  return { rows: m, cols: n, data: Float64Array.from({ length: m * n }, () => s * r.normal()) }
}

/**
 * Seeded Glorot-normal weights and zero biases.
 *
 * @example
 * initMlp(rng(0), f, h, a)
 */
export const initMlp = <F, H, A>(r: Rng, f: Dim<F>, h: Dim<H>, a: Dim<A>): Mlp<F, H, A> => ({
  W1: glorot(r, h, f),
  b1: { dim: h, data: new Float64Array(h) },
  W2: glorot(r, h, h),
  b2: { dim: h, data: new Float64Array(h) },
  W3: glorot(r, a, h),
  b3: { dim: a, data: new Float64Array(a) }
})

// -------------------------------------------------------------------------------------
// Adam
// -------------------------------------------------------------------------------------

/** A record of shaped parameters (vectors and matrices). */
type Shaped<P> = { readonly [K in keyof P]: { readonly data: Float64Array } }

/** Adam's state: the step count and the two moment estimates per parameter. */
export interface AdamState<P> {
  readonly step: number
  readonly m: { readonly [K in keyof P]: Float64Array }
  readonly v: { readonly [K in keyof P]: Float64Array }
}

/** Adam's zero state for parameters shaped like `p`. */
export const adamInit = <P extends Shaped<P>>(p: P): AdamState<P> => {
  const zeros = () => Object.fromEntries((Object.entries(p) as [string, { readonly data: Float64Array }][]).map(([k, x]) => [k, new Float64Array(x.data.length)])) as { [K in keyof P]: Float64Array }
  return { step: 0, m: zeros(), v: zeros() }
}

/**
 * One Adam step (Kingma & Ba, with bias correction): new parameters and a new state. A
 * parameter whose gradient is the symbolic zero keeps its moments' decay only.
 *
 * @example
 * const [p1, s1] = adamStep(1e-3)(p0, grad, adamInit(p0))
 */
export const adamStep = (lr: number, b1 = 0.9, b2 = 0.999, eps = 1e-8) =>
  <P extends Shaped<P>>(p: P, grad: Tan<P>, s: AdamState<P>): readonly [P, AdamState<P>] => {
    const t = s.step + 1
    const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t
    const out: Record<string, unknown> = {}, m: Record<string, Float64Array> = {}, v: Record<string, Float64Array> = {}
    for (const [k, x] of Object.entries(p) as [keyof P & string, { readonly data: Float64Array }][]) {
      const g = grad === Zero ? Zero : (grad as Record<string, unknown>)[k] ?? Zero
      const gd = g === Zero ? undefined : (g as { readonly data: Float64Array }).data
      const m0 = s.m[k]!, v0 = s.v[k]!
      const mk = new Float64Array(m0.length), vk = new Float64Array(v0.length), xk = new Float64Array(m0.length)
      for (let i = 0; i < xk.length; i++) {
        const gi = gd === undefined ? 0 : gd[i]!
        mk[i] = b1 * m0[i]! + (1 - b1) * gi
        vk[i] = b2 * v0[i]! + (1 - b2) * gi * gi
        xk[i] = x.data[i]! - (lr * (mk[i]! / c1)) / (Math.sqrt(vk[i]! / c2) + eps)
      }
      out[k] = { ...x, data: xk }
      m[k] = mk
      v[k] = vk
    }
    return [out as P, { step: t, m: m as AdamState<P>['m'], v: v as AdamState<P>['v'] }]
  }
