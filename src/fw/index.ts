/**
 * Frank-Wolfe as data and pure steps: sets and oracles, steps and schedules, the fold,
 * the implicit face derivative, the exact reference solver, and the `dfwLayer` API.
 *
 * @since 0.1.0
 */
export * from './Problem.js'
export * from './Oracle.js'
export * from './Step.js'
export * from './Schedule.js'
export * from './Layer.js'
export * from './Batch.js'
export { DEFAULT_TAPE_BUDGET_MB, LAYER_OPTION_KEYS } from './Options.js'
export type { ResolvedSet } from './Validate.js'
export * from './Smooth.js'
export * from './FastSolve.js'
export * from './Polish.js'
export { identifyFace, type Face, type FaceConstraint, type FaceOptions } from './Face.js'
export { implicitDerivative, type CgStop, type ImplicitDerivative, type ImplicitOptions, type ImplicitStats, type ImplicitTangent, type SolveStats } from './Implicit.js'
export * from './Generators.js'
export * as exact from './exact/index.js'
export * as codecs from './codecs.js'
