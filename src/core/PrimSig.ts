/**
 * The primitives of the differentiable-map engine: their argument, output and residual
 * types. Three tables are keyed by this interface and typed as exhaustive mapped types
 * ({@link JvpTable}, {@link VjpTable}): the evaluation rules (src/core/Prim.ts), the
 * tangent rules (src/jvp/rules.ts) and the transpose rules (src/vjp/rules.ts). A
 * primitive added here without a rule in each table does not compile.
 *
 * Inside the tables dimensions are erased (`Vec<any>`); the typed constructors in
 * `Prim.ts` restore them.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import type { LinearOperator } from './LinearOperator.js'
import type { Tan } from './Tangent.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
type V = Vec<any>
type M = Mat<any, any>
type Op = LinearOperator<any>
type S = number

/**
 * Every primitive: `args` (a tuple), `out`, `res` (what the forward pass keeps), `params` (fixed at construction).
 *
 * @example
 * type DotArgs = PrimSig['dot']['args'] // readonly [Vec<any>, Vec<any>]
 */
export interface PrimSig {
  add: { args: readonly [V, V]; out: V; res: null; params: null }
  sub: { args: readonly [V, V]; out: V; res: null; params: null }
  neg: { args: readonly [V]; out: V; res: null; params: null }
  scale: { args: readonly [S, V]; out: V; res: readonly [S, V]; params: null }
  shift: { args: readonly [V, S]; out: V; res: V; params: null }
  dot: { args: readonly [V, V]; out: S; res: readonly [V, V]; params: null }
  sum: { args: readonly [V]; out: S; res: V; params: null }
  matVec: { args: readonly [M, V]; out: V; res: readonly [M, V]; params: null }
  apply: { args: readonly [Op, V]; out: V; res: readonly [Op, V]; params: null }
  applyCols: { args: readonly [Op, V]; out: V; res: readonly [Op, V]; params: readonly number[] }
  mul: { args: readonly [V, V]; out: V; res: readonly [V, V]; params: null }
  div: { args: readonly [V, V]; out: V; res: readonly [V, V]; params: null }
  recip: { args: readonly [V]; out: V; res: V; params: null }
  abs: { args: readonly [V]; out: V; res: V; params: null }
  sign: { args: readonly [V]; out: V; res: V; params: null }
  max: { args: readonly [V]; out: S; res: readonly [V, number]; params: null }
  softmax: { args: readonly [V]; out: V; res: V; params: null }
  tanh: { args: readonly [V]; out: V; res: V; params: null }
  exp: { args: readonly [V]; out: V; res: V; params: null }
  log: { args: readonly [V]; out: V; res: V; params: null }
  relu: { args: readonly [V]; out: V; res: V; params: null }
  norm2: { args: readonly [V]; out: S; res: readonly [V, S]; params: null }
  quadForm: { args: readonly [Op, V]; out: S; res: readonly [Op, V, V]; params: null }
  clamp: { args: readonly [S]; out: S; res: boolean; params: readonly [S, S] }
  sadd: { args: readonly [S, S]; out: S; res: null; params: null }
  ssub: { args: readonly [S, S]; out: S; res: null; params: null }
  smul: { args: readonly [S, S]; out: S; res: readonly [S, S]; params: null }
  sdiv: { args: readonly [S, S]; out: S; res: readonly [S, S]; params: null }
  sneg: { args: readonly [S]; out: S; res: null; params: null }
}

/**
 * A primitive's name.
 *
 * @example
 * const names: PrimName[] = ['add', 'dot', 'softmax']
 */
export type PrimName = keyof PrimSig
/** Argument tuple of primitive `K`. */
export type PrimArgs<K extends PrimName> = PrimSig[K]['args']
/** Output of primitive `K`. */
export type PrimOut<K extends PrimName> = PrimSig[K]['out']
/** Residuals of primitive `K`. */
export type PrimRes<K extends PrimName> = PrimSig[K]['res']
/** Parameters of primitive `K`. */
export type PrimParams<K extends PrimName> = PrimSig[K]['params']
/** The tangents of an argument tuple, component by component. */
export type TanTuple<T extends readonly unknown[]> = { readonly [I in keyof T]: Tan<T[I]> }
/** The tangents of primitive `K`'s arguments. */
export type ArgTans<K extends PrimName> = TanTuple<PrimArgs<K>>

/** Evaluation: the value and the residuals the linear map needs. */
export type EvalRule<K extends PrimName> = (args: PrimArgs<K>, params: PrimParams<K>) => readonly [PrimOut<K>, PrimRes<K>]
/**
 * Tangent rule: argument tangents to the output tangent.
 *
 * @example
 * const rule: JvpRule<'dot'> = ([x, y], _p, [dx, dy]) => sadd(zdot(dx, y), zdot(dy, x))
 */
export type JvpRule<K extends PrimName> = (res: PrimRes<K>, params: PrimParams<K>, dargs: ArgTans<K>) => Tan<PrimOut<K>>
/**
 * Transpose rule: the output cotangent to the arguments' cotangents.
 *
 * @example
 * const rule: VjpRule<'dot'> = ([x, y], _p, ct) => [zscale(ct, y), zscale(ct, x)]
 */
export type VjpRule<K extends PrimName> = (res: PrimRes<K>, params: PrimParams<K>, ct: Tan<PrimOut<K>>) => ArgTans<K>

/**
 * The tangent rules of every primitive: an exhaustive mapped type, so a primitive without
 * a rule does not compile. src/jvp/rules.ts defines it and installs it with
 * `registerJvpRules` (src/core/Prim.ts).
 *
 * @example
 * const rules: JvpTable = jvpRules
 */
export type JvpTable = { readonly [K in PrimName]: JvpRule<K> }

/**
 * The transpose rules of every primitive, exhaustive as {@link JvpTable}; defined in
 * src/vjp/rules.ts and installed with `registerVjpRules`.
 *
 * @example
 * const rules: VjpTable = vjpRules
 */
export type VjpTable = { readonly [K in PrimName]: VjpRule<K> }
