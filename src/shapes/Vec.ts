/**
 * Vectors whose length is a type. A `Vec<N>` holds `dim` and a `Float64Array` of that
 * length. The library never writes into a `Vec` after it returns it; callers must not
 * either.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { type Dim, isLength, unsafeDim, withDim } from './Dim.js'
import { type ShapeError, shapeError, joinPath } from './ShapeError.js'
import { f64 } from './alloc.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A vector of length `dim`, immutable by contract.
 *
 * @example
 * withDim(3, (n) => fill(n, 1)) // a Vec<N> of ones, N fresh
 */
export interface Vec<N> {
  readonly dim: Dim<N>
  readonly data: Float64Array
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * Checks a length and finiteness, and copies. Refuses with a `ShapeError` that names the
 * bad entry's path under `path`.
 *
 * @example
 * withDim(2, (n) => vector(n, [1, 2])) // right({ dim: 2, data: [1, 2] })
 */
export const vector = <N>(dim: Dim<N>, xs: ArrayLike<number>, path = ''): E.Either<ShapeError, Vec<N>> => {
  if (xs.length !== dim) return E.left(shapeError(`expected ${dim} entries, got ${xs.length}`, path))
  const data = f64(dim)
  for (let i = 0; i < dim; i++) {
    const v = xs[i]
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      return E.left(shapeError(`expected a finite number, got ${String(v)}`, joinPath(path, i)))
    }
    data[i] = v
  }
  return E.right({ dim, data })
}

/**
 * Builds a vector from data of unknown length and hands it to `k` with a fresh dimension.
 *
 * @example
 * withVector([1, 2, 3], (v) => v.dim) // right(3)
 */
export const withVector = <R>(xs: ArrayLike<number>, k: <N>(v: Vec<N>) => R, path = ''): E.Either<ShapeError, R> =>
  withDim(xs.length, <N>(n: Dim<N>) => E.map((v: Vec<N>) => k(v))(vector(n, xs, path)))

/**
 * Wraps a buffer without copying or checking. The caller gives up the buffer.
 *
 * @example
 * unsafeVec(n, new Float64Array(n)) // no copy, no check
 */
export const unsafeVec = <N>(dim: Dim<N>, data: Float64Array): Vec<N> => ({ dim, data })

/**
 * Wraps a buffer whose length gives the dimension.
 *
 * @example
 * const v = fromBuffer<'n'>(Float64Array.of(1, 2, 3)) // v.dim === 3
 */
export const fromBuffer = <N>(data: Float64Array): Vec<N> => ({ dim: unsafeDim<N>(data.length), data })

/**
 * The zero vector.
 *
 * @example
 * zeros(n) // [0, …, 0]
 */
export const zeros = <N>(dim: Dim<N>): Vec<N> => ({ dim, data: f64(dim) })

/**
 * A vector of one value.
 *
 * @example
 * fill(n, 0.5) // [0.5, …, 0.5]
 */
export const fill = <N>(dim: Dim<N>, value: number): Vec<N> => ({ dim, data: f64(dim).fill(value) })

/**
 * The i-th unit vector, scaled.
 *
 * @example
 * basis(n, 1, 2) // [0, 2, 0] for n = 3
 */
export const basis = <N>(dim: Dim<N>, i: number, scale = 1): Vec<N> => {
  const data = f64(dim)
  data[i] = scale
  return { dim, data }
}

/**
 * Builds a vector entry by entry.
 *
 * @example
 * generate(n, (i) => i * i) // [0, 1, 4] for n = 3
 */
export const generate = <N>(dim: Dim<N>, f: (i: number) => number): Vec<N> => {
  const data = f64(dim)
  for (let i = 0; i < dim; i++) data[i] = f(i)
  return { dim, data }
}

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

/**
 * A plain array copy, for JSON.
 *
 * @example
 * JSON.stringify(toArray(v)) // '[1,2,3]'
 */
export const toArray = <N>(v: Vec<N>): number[] => Array.from(v.data)

/** True when `n` is a valid vector length. */
export { isLength }
