/**
 * Dimensions as types. A `Dim<N>` is a run-time length that carries a phantom type `N`.
 * Each call of {@link withDim} introduces a fresh `N`, so shaped values built under two
 * different calls cannot be mixed without the runtime proof {@link sameDim}.
 *
 * @since 0.1.0
 */
import * as O from 'fp-ts/lib/Option.js'
import type { Vec } from './Vec.js'
import type { Mat } from './Mat.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

declare const DimId: unique symbol

/**
 * A length whose type parameter `N` identifies it. `N` is invariant, so `Dim<A>` and
 * `Dim<B>` are unrelated unless `A` and `B` are the same type.
 *
 * @example
 * withDim(3, (n) => zeros(n)) // a Vec<N> of length 3, N fresh
 */
export type Dim<N> = number & {
  /** The phantom brand: types only, no run-time value. */
  readonly [DimId]: (n: N) => N
}

/**
 * The proof that two dimensions are equal: casts shaped values from `B` to `A`.
 *
 * @example
 * withDim(2, (a) => withDim(2, (b) => pipe(sameDim(a, b), O.map((s) => s.vec(zeros(b))))))
 */
export interface SameDim<A, B> {
  /** The dimension, typed as `A`. */
  readonly dim: Dim<A>
  /** Retypes a vector of dimension `B` as one of dimension `A` (no copy). */
  readonly vec: (v: Vec<B>) => Vec<A>
  /** Retypes a matrix with `B` columns as one with `A` columns (no copy). */
  readonly mat: <M>(m: Mat<M, B>) => Mat<M, A>
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * True when `n` is a valid length: a non-negative safe integer.
 *
 * @example
 * isLength(3) // true; isLength(-1), isLength(2.5) // false
 */
export const isLength = (n: unknown): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= 0

/**
 * Runs `k` with a dimension of length `n` whose type is fresh for this call.
 * Throws a `RangeError` when `n` is not a non-negative integer (a programming error,
 * not bad data: decode data with the codecs instead).
 *
 * @example
 * const r = withDim(2, (n) => dot(zeros(n), zeros(n))) // 0
 */
export const withDim = <R>(n: number, k: <N>(d: Dim<N>) => R): R => {
  if (!isLength(n)) throw new RangeError(`withDim: length must be a non-negative integer, got ${String(n)}`)
  return k(n as Dim<unknown>)
}

/**
 * The dimension of a length known to be valid, with a caller-chosen type. Internal code
 * uses it where the type has already been fixed by a shaped value.
 *
 * @example
 * const n = unsafeDim<'n'>(q.data.length) // trusted: the length comes from a checked vector
 */
export const unsafeDim = <N>(n: number): Dim<N> => n as Dim<N>

// -------------------------------------------------------------------------------------
// combinators
// -------------------------------------------------------------------------------------

/**
 * The runtime proof that two dimensions agree. `some` carries casts from `B` to `A`.
 *
 * @example
 * withDim(3, (a) => withDim(3, (b) => O.isSome(sameDim(a, b)))) // true
 */
export const sameDim = <A, B>(a: Dim<A>, b: Dim<B>): O.Option<SameDim<A, B>> =>
  (a as number) === (b as number)
    ? O.some({
        dim: a,
        vec: (v: Vec<B>) => v as unknown as Vec<A>,
        mat: <M>(m: Mat<M, B>) => m as unknown as Mat<M, A>
      })
    : O.none
