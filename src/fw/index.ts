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
export { type BatchProblem, type BatchTangent, type BatchGradients, type BatchSolution, type BatchVjp, type WarmStart, dfwBatch, dfwBatchSolve, layerMap } from './Batch.js'
export { releaseTapePool, tapePoolBytes } from './batch/Unrolled.js'
export { DEFAULT_TAPE_BUDGET_MB, LAYER_OPTION_KEYS } from './Options.js'
export type { ProblemScaling } from './Scaling.js'
export type { ResolvedSet } from './Validate.js'
export * from './Smooth.js'
export * from './FastSolve.js'
export * from './Polish.js'
export { identifyFace, type Face, type FaceConstraint, type FaceOptions } from './Face.js'
export { implicitDerivative, quadraticDerivative, type ImplicitDerivative, type ImplicitOptions, type ImplicitTangent, type VjpParts } from './Implicit.js'
export { type FaceReport, type FaceDerivative, KINK_TOLERANCE } from './FaceModel.js'
export { NegativeCurvatureError } from './FaceDerivative.js'
export type { FaceModel } from './FaceModel.js'
export type { LeanFace } from './LeanFace.js'
export type { Curvature } from './ActiveSet.js'
export type { FeasibleSet, ParamMaps, SetTangent, SetGradient, SetSolver, SetSolution, SolveLimits, StepDirection, DirectionLinear } from './sets/FeasibleSet.js'
export type { Polyhedron, PolyRow, CoordState } from './sets/Polyhedron.js'
export * from './Generators.js'
export * as exact from './exact/index.js'
export * as codecs from './codecs.js'
