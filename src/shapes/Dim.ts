/**
 * Dimensions as types. A `Dim<N>` is a run-time length that carries a phantom type `N`.
 * Each call of {@link withDim} introduces a fresh `N`, so shaped values built under two
 * different calls cannot be mixed without the runtime proof `sameDim` (SameDim.ts).
 *
 * @since 0.1.0
 */

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
