/**
 * Immutable dense matrix products on shaped matrices. Dimension agreement is checked by
 * the types.
 *
 * @since 0.1.0
 */
import type { Mat } from '../shapes/Mat.js'
import type { Vec } from '../shapes/Vec.js'
import { f64 } from '../shapes/alloc.js'
import { gemvLanesRect, gemvTLoopRect } from './simd.js'
import { dotRaw } from './Vector.js'

/**
 * The product A x. Each row is summed with eight partial sums, in the order of the
 * dense operator's WebAssembly kernel. That measured 1.1–1.6 times as fast as the
 * one-accumulator loop, and faster than stdlib's `dgemv` (`bench/matvec.ts`). `matVec`
 * does not use the WebAssembly kernel itself: the kernel keeps a copy of a matrix it
 * has seen before, so it serves only matrices declared fixed, through
 * `apply(dense(a), x)`.
 *
 * @example
 * matVec(a, x) // Vec<M> for a: Mat<M, N> and x: Vec<N>
 */
export const matVec = <M, N>(a: Mat<M, N>, x: Vec<N>): Vec<M> => {
  const o = f64(a.rows)
  gemvLanesRect(a.data, a.rows, a.cols, x.data, o)
  return { dim: a.rows, data: o }
}

/**
 * The transposed product Aᵀ y, accumulated row by row (y₀ A[0, :] + y₁ A[1, :] + …).
 *
 * @example
 * matTVec(a, y) // aᵀ y
 */
export const matTVec = <M, N>(a: Mat<M, N>, y: Vec<M>): Vec<N> => {
  const o = f64(a.cols)
  gemvTLoopRect(a.data, a.rows, a.cols, y.data, o)
  return { dim: a.cols, data: o }
}

/**
 * The outer product x yᵀ.
 *
 * @example
 * outer(x, y) // x yᵀ
 */
export const outer = <M, N>(x: Vec<M>, y: Vec<N>): Mat<M, N> => {
  const m = x.dim, n = y.dim
  const o = f64(m * n)
  for (let i = 0; i < m; i++) {
    const xi = x.data[i]!
    for (let j = 0; j < n; j++) o[i * n + j] = xi * y.data[j]!
  }
  return { rows: x.dim, cols: y.dim, data: o }
}

/**
 * The transpose.
 *
 * @example
 * transpose(a) // aᵀ, a new matrix
 */
export const transpose = <M, N>(a: Mat<M, N>): Mat<N, M> => {
  const m = a.rows, n = a.cols
  const o = f64(m * n)
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) o[j * m + i] = a.data[i * n + j]!
  return { rows: a.cols, cols: a.rows, data: o }
}

/**
 * Whether a square matrix is symmetric to a relative tolerance:
 * |aᵢⱼ − aⱼᵢ| ≤ tol · max(1, |aᵢⱼ|, |aⱼᵢ|). Returns the first offending (i, j), if any.
 *
 * @example
 * symmetryDefect(a) // { i: 1, j: 0 } when a[1][0] ≠ a[0][1], else undefined
 */
export const symmetryDefect = <N>(a: Mat<N, N>, tol = 1e-10): { readonly i: number; readonly j: number } | undefined => {
  const n = a.rows, A = a.data
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const u = A[i * n + j]!, v = A[j * n + i]!
      if (Math.abs(u - v) > tol * Math.max(1, Math.abs(u), Math.abs(v))) return { i, j }
    }
  }
  return undefined
}

/**
 * True when the square matrix is symmetric to the relative tolerance `tol` (see {@link symmetryDefect}).
 *
 * @example
 * isSymmetric(identity(n)) // true
 */
export const isSymmetric = <N>(a: Mat<N, N>, tol = 1e-10): boolean => symmetryDefect(a, tol) === undefined

/**
 * Σᵢⱼ aᵢⱼ bᵢⱼ, the Frobenius inner product.
 *
 * @example
 * frobeniusDot(a, b) // Σᵢⱼ aᵢⱼ bᵢⱼ
 */
export const frobeniusDot = <M, N>(a: Mat<M, N>, b: Mat<M, N>): number => dotRaw(a.data, b.data, a.data.length)

/**
 * a + b
 *
 * @example
 * addMat(a, b) // a + b
 */
export const addMat = <M, N>(a: Mat<M, N>, b: Mat<M, N>): Mat<M, N> => {
  const o = f64(a.data.length)
  for (let k = 0; k < o.length; k++) o[k] = a.data[k]! + b.data[k]!
  return { rows: a.rows, cols: a.cols, data: o }
}

/**
 * α a
 *
 * @example
 * scaleMat(0.5, a) // a / 2
 */
export const scaleMat = <M, N>(alpha: number, a: Mat<M, N>): Mat<M, N> => {
  const o = f64(a.data.length)
  for (let k = 0; k < o.length; k++) o[k] = alpha * a.data[k]!
  return { rows: a.rows, cols: a.cols, data: o }
}
