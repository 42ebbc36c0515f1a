/**
 * Every codec of the CONTRACT's JSON in one namespace, as the package root exports it
 * (`codecs.problemCodec`, `codecs.vectorCodec`, …): the shape codecs and the reporter
 * (src/shapes/codecs.ts), the operator codec (src/core/OperatorCodec.ts) and the problem
 * codec (src/fw/ProblemCodec.ts).
 *
 * @since 0.1.0
 * @module
 */
export * from '../shapes/codecs.js'
export * from '../core/OperatorCodec.js'
export * from './ProblemCodec.js'
