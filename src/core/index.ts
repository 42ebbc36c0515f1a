/**
 * Core: immutable numerics on shaped values, linear operators, power iteration, and the
 * differentiable-map engine (`Diff`, its combinators and primitives).
 *
 * @since 0.1.0
 */
export * from './Vector.js'
export * from './Matrix.js'
export * from './LinearOperator.js'
export * from './PowerIteration.js'
export * from './Random.js'
export * from './Tangent.js'
export type { Diff, Linear, FoldOptions } from './Diff.js'
export * as D from './Diff.js'
export * as Prim from './Prim.js'
export { trace, type Tracer, type Var, type Vars } from './Trace.js'
export { ops, type Ops } from './Ops.js'
export type { PrimName, PrimSig } from './PrimSig.js'
export type { KktInfo } from './Kkt.js'
export type { NegativeCurvature } from './Cholesky.js'
