/**
 * The error of a shape or value check: a message and the path of the bad value, such as
 * `P[3][1]` or `options.maxIterations`.
 *
 * @since 0.1.0
 */

/**
 * A failed shape or value check. `path` is empty for the value as a whole.
 *
 * @example
 * const e: ShapeError = shapeError('expected a finite number, got NaN', 'q[2]')
 */
export interface ShapeError {
  readonly _tag: 'ShapeError'
  readonly message: string
  readonly path: string
}

/**
 * @example
 * shapeError('expected 3 entries, got 2', 'q') // { _tag: 'ShapeError', message, path: 'q' }
 */
export const shapeError = (message: string, path = ''): ShapeError => ({ _tag: 'ShapeError', message, path })

/**
 * Joins a parent path and a key: `joinPath('P', 3)` is `P[3]`, `joinPath('options', 'tol')` is `options.tol`.
 *
 * @example
 * joinPath(joinPath('P', 3), 1) // 'P[3][1]'
 */
export const joinPath = (parent: string, key: string | number): string =>
  typeof key === 'number' ? `${parent}[${key}]` : parent === '' ? key : `${parent}.${key}`
