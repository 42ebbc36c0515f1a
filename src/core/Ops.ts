/**
 * The primitives as methods on traced variables of one dimension `N`, for `trace` bodies:
 * `const o = ops<N>($); o.add(x, o.scale(gamma, d))`.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import type { LinearOperator } from './LinearOperator.js'
import type { Tracer, Var } from './Trace.js'
import * as P from './Prim.js'

type VV<N> = Var<Vec<N>>
type VS = Var<number>

/** Traced primitive calls on vectors of dimension `N` and on scalars. */
export interface Ops<N> {
  readonly add: (x: VV<N>, y: VV<N>) => VV<N>
  readonly sub: (x: VV<N>, y: VV<N>) => VV<N>
  readonly neg: (x: VV<N>) => VV<N>
  readonly scale: (s: VS, x: VV<N>) => VV<N>
  readonly shift: (x: VV<N>, c: VS) => VV<N>
  readonly dot: (x: VV<N>, y: VV<N>) => VS
  readonly sum: (x: VV<N>) => VS
  readonly apply: (p: Var<LinearOperator<N>>, x: VV<N>) => VV<N>
  readonly matVec: <M>(a: Var<Mat<M, N>>, x: VV<N>) => Var<Vec<M>>
  readonly mul: (x: VV<N>, y: VV<N>) => VV<N>
  readonly div: (x: VV<N>, y: VV<N>) => VV<N>
  readonly recip: (x: VV<N>) => VV<N>
  readonly abs: (x: VV<N>) => VV<N>
  readonly sign: (x: VV<N>) => VV<N>
  readonly max: (x: VV<N>) => VS
  readonly softmax: (x: VV<N>) => VV<N>
  readonly tanh: (x: VV<N>) => VV<N>
  readonly exp: (x: VV<N>) => VV<N>
  readonly log: (x: VV<N>) => VV<N>
  readonly relu: (x: VV<N>) => VV<N>
  readonly norm2: (x: VV<N>) => VS
  readonly quadForm: (p: Var<LinearOperator<N>>, x: VV<N>) => VS
  readonly clamp: (s: VS, lo: number, hi: number) => VS
  readonly sadd: (a: VS, b: VS) => VS
  readonly ssub: (a: VS, b: VS) => VS
  readonly smul: (a: VS, b: VS) => VS
  readonly sdiv: (a: VS, b: VS) => VS
  readonly sneg: (a: VS) => VS
}

/**
 * @example
 * trace<{ x: Vec<N> }, number>(($, { x }) => { const o = ops<N>($); return o.sum(o.exp(x)) })
 */
export const ops = <N>($: Tracer): Ops<N> => ({
  add: (x, y) => $.call(P.add<N>(), x, y),
  sub: (x, y) => $.call(P.sub<N>(), x, y),
  neg: (x) => $.call(P.neg<N>(), x),
  scale: (s, x) => $.call(P.scale<N>(), s, x),
  shift: (x, c) => $.call(P.shift<N>(), x, c),
  dot: (x, y) => $.call(P.dot<N>(), x, y),
  sum: (x) => $.call(P.sum<N>(), x),
  apply: (p, x) => $.call(P.apply<N>(), p, x),
  matVec: (a, x) => $.call(P.matVec(), a, x),
  mul: (x, y) => $.call(P.mul<N>(), x, y),
  div: (x, y) => $.call(P.div<N>(), x, y),
  recip: (x) => $.call(P.recip<N>(), x),
  abs: (x) => $.call(P.abs<N>(), x),
  sign: (x) => $.call(P.sign<N>(), x),
  max: (x) => $.call(P.max<N>(), x),
  softmax: (x) => $.call(P.softmax<N>(), x),
  tanh: (x) => $.call(P.tanh<N>(), x),
  exp: (x) => $.call(P.exp<N>(), x),
  log: (x) => $.call(P.log<N>(), x),
  relu: (x) => $.call(P.relu<N>(), x),
  norm2: (x) => $.call(P.norm2<N>(), x),
  quadForm: (p, x) => $.call(P.quadForm<N>(), p, x),
  clamp: (s, lo, hi) => $.call(P.clamp(lo, hi), s),
  sadd: (a, b) => $.call(P.sadd(), a, b),
  ssub: (a, b) => $.call(P.ssub(), a, b),
  smul: (a, b) => $.call(P.smul(), a, b),
  sdiv: (a, b) => $.call(P.sdiv(), a, b),
  sneg: (a) => $.call(P.sneg(), a)
})
