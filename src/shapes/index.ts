/**
 * Shapes: dimensions as types, shaped vectors and matrices, and codecs from unknown input.
 *
 * @since 0.1.0
 */
export * from './Dim.js'
export * from './SameDim.js'
export * from './ShapeError.js'
export * from './Vec.js'
export * from './Mat.js'
export { f64, f64From, owned } from './alloc.js'
