/**
 * dfwlayer: differentiable Frank-Wolfe optimization layers.
 *
 * @since 0.1.0
 */
export * from './shapes/index.js'
export * from './core/index.js'
export { jvp, linearize } from './jvp/index.js'
export { vjp } from './vjp/index.js'
export * from './fw/index.js'
