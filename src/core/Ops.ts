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

/**
 * Traced primitive calls on vectors of dimension `N` and on scalars.
 *
 * @example
 * trace<{ x: Vec<N>; t: number }, Vec<N>>(($, v) => { const o: Ops<N> = ops<N>($); return o.scale(v.t, o.softmax(v.x)) })
 */
export interface Ops<N> {
  /** x + y */
  readonly add: (x: VV<N>, y: VV<N>) => VV<N>
  /** x − y */
  readonly sub: (x: VV<N>, y: VV<N>) => VV<N>
  /** −x */
  readonly neg: (x: VV<N>) => VV<N>
  /** s·x */
  readonly scale: (s: VS, x: VV<N>) => VV<N>
  /** x + c·1 */
  readonly shift: (x: VV<N>, c: VS) => VV<N>
  /** xᵀy */
  readonly dot: (x: VV<N>, y: VV<N>) => VS
  /** Σ xᵢ */
  readonly sum: (x: VV<N>) => VS
  /** P x for a linear operator P */
  readonly apply: (p: Var<LinearOperator<N>>, x: VV<N>) => VV<N>
  /** P x for x supported on `cols` (see `Prim.applyCols`). */
  readonly applyCols: (p: Var<LinearOperator<N>>, x: VV<N>, cols: readonly number[]) => VV<N>
  /** A x for a dense matrix A */
  readonly matVec: <M>(a: Var<Mat<M, N>>, x: VV<N>) => Var<Vec<M>>
  /** x ⊙ y */
  readonly mul: (x: VV<N>, y: VV<N>) => VV<N>
  /** x ⊘ y */
  readonly div: (x: VV<N>, y: VV<N>) => VV<N>
  /** 1 ⊘ x */
  readonly recip: (x: VV<N>) => VV<N>
  /** |x| entrywise */
  readonly abs: (x: VV<N>) => VV<N>
  /** sign(x) entrywise (derivative zero) */
  readonly sign: (x: VV<N>) => VV<N>
  /** max x (the derivative passes to the arg-max) */
  readonly max: (x: VV<N>) => VS
  /** softmax(x) */
  readonly softmax: (x: VV<N>) => VV<N>
  /** tanh(x) entrywise */
  readonly tanh: (x: VV<N>) => VV<N>
  /** exp(x) entrywise */
  readonly exp: (x: VV<N>) => VV<N>
  /** log(x) entrywise */
  readonly log: (x: VV<N>) => VV<N>
  /** max(x, 0) entrywise */
  readonly relu: (x: VV<N>) => VV<N>
  /** ‖x‖₂ */
  readonly norm2: (x: VV<N>) => VS
  /** xᵀ P x */
  readonly quadForm: (p: Var<LinearOperator<N>>, x: VV<N>) => VS
  /** min(max(s, lo), hi) */
  readonly clamp: (s: VS, lo: number, hi: number) => VS
  /** a + b (scalars) */
  readonly sadd: (a: VS, b: VS) => VS
  /** a − b (scalars) */
  readonly ssub: (a: VS, b: VS) => VS
  /** a·b (scalars) */
  readonly smul: (a: VS, b: VS) => VS
  /** a / b (scalars) */
  readonly sdiv: (a: VS, b: VS) => VS
  /** −a (scalar) */
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
  applyCols: (p, x, cols) => $.call(P.applyCols<N>(cols), p, x),
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
