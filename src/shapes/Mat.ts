/**
 * Dense row-major matrices whose row and column counts are types.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Dim } from './Dim.js'
import { type ShapeError, shapeError, joinPath } from './ShapeError.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * An `M × N` matrix, row-major in `data` (entry (i, j) at `i * cols + j`), immutable by contract.
 *
 * @example
 * withDim(2, (n) => identity(n)) // { rows: 2, cols: 2, data: [1, 0, 0, 1] }
 */
export interface Mat<M, N> {
  readonly rows: Dim<M>
  readonly cols: Dim<N>
  readonly data: Float64Array
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * Checks sizes and finiteness and copies. Accepts nested rows or flat row-major data.
 *
 * @example
 * withDim(2, (n) => matrix(n, n, [[2, 0], [0, 1]])) // right(Mat<N, N>)
 */
export const matrix = <M, N>(
  rows: Dim<M>,
  cols: Dim<N>,
  xs: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>,
  path = ''
): E.Either<ShapeError, Mat<M, N>> => {
  const data = new Float64Array(rows * cols)
  const nested = xs.length > 0 && typeof xs[0] !== 'number'
  if (nested) {
    const rs = xs as ReadonlyArray<ArrayLike<number>>
    if (rs.length !== rows) return E.left(shapeError(`expected ${rows} rows, got ${rs.length}`, path))
    for (let i = 0; i < rows; i++) {
      const r = rs[i]
      const rp = joinPath(path, i)
      if (r === null || typeof r !== 'object' || typeof r.length !== 'number') {
        return E.left(shapeError('expected an array of numbers', rp))
      }
      if (r.length !== cols) return E.left(shapeError(`expected ${cols} entries, got ${r.length}`, rp))
      for (let j = 0; j < cols; j++) {
        const v = r[j]
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          return E.left(shapeError(`expected a finite number, got ${String(v)}`, joinPath(rp, j)))
        }
        data[i * cols + j] = v
      }
    }
    return E.right({ rows, cols, data })
  }
  const flat = xs as ArrayLike<number>
  if (flat.length !== rows * cols) return E.left(shapeError(`expected ${rows * cols} entries, got ${flat.length}`, path))
  for (let k = 0; k < flat.length; k++) {
    const v = flat[k]
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      return E.left(shapeError(`expected a finite number, got ${String(v)}`, joinPath(path, k)))
    }
    data[k] = v
  }
  return E.right({ rows, cols, data })
}

/**
 * Wraps a row-major buffer without copying or checking. The caller gives up the buffer.
 *
 * @example
 * unsafeMat(n, n, Float64Array.of(2, 0, 0, 1)) // diag(2, 1) for n = 2, no copy
 */
export const unsafeMat = <M, N>(rows: Dim<M>, cols: Dim<N>, data: Float64Array): Mat<M, N> => ({ rows, cols, data })

/**
 * The zero matrix.
 *
 * @example
 * zerosMat(m, n) // m × n zeros
 */
export const zerosMat = <M, N>(rows: Dim<M>, cols: Dim<N>): Mat<M, N> => ({ rows, cols, data: new Float64Array(rows * cols) })

/**
 * The identity, scaled.
 *
 * @example
 * identity(n, 2) // 2·I
 */
export const identity = <N>(n: Dim<N>, scale = 1): Mat<N, N> => {
  const data = new Float64Array(n * n)
  for (let i = 0; i < n; i++) data[i * n + i] = scale
  return { rows: n, cols: n, data }
}

/**
 * Rows as plain arrays, for JSON.
 *
 * @example
 * toRows(identity(n)) // [[1, 0], [0, 1]] for n = 2
 */
export const toRows = <M, N>(m: Mat<M, N>): number[][] => {
  const out: number[][] = []
  for (let i = 0; i < m.rows; i++) out.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)))
  return out
}
