/**
 * The exact reference solver: exact Euclidean projections, the FISTA + face-polish
 * solver with its KKT certificate, and the dense implicit-function-theorem derivative of
 * the solution map. Ground truth for tests, the demo and the bench.
 *
 * @since 0.1.0
 * @module
 */
export * from './Projection.js'
export * from './ExactSolver.js'
export * from './KktDerivative.js'
