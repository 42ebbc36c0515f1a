/**
 * The runtime proof that two dimensions are equal, and the casts it licenses: a `Vec<B>`
 * or a `Mat<M, B>` retyped as one over `A` once the lengths have been compared (as
 * hmatrix's `exactLength`).
 *
 * @since 0.1.0
 */
import * as O from 'fp-ts/lib/Option.js'
import type { Dim } from './Dim.js'
import type { Vec } from './Vec.js'
import type { Mat } from './Mat.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

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
