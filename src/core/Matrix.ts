/**
 * Immutable dense matrix products on shaped matrices. Dimension agreement is checked by
 * the types.
 *
 * @since 0.1.0
 */
import type { Mat } from '../shapes/Mat.js'
import type { Vec } from '../shapes/Vec.js'
import { f64 } from './alloc.js'

/**
 * The product A x.
 *
 * @example
 * matVec(a, x) // Vec<M> for a: Mat<M, N> and x: Vec<N>
 */
export const matVec = <M, N>(a: Mat<M, N>, x: Vec<N>): Vec<M> => {
  const m = a.rows, n = a.cols, A = a.data, xs = x.data
  const o = f64(m)
  for (let i = 0; i < m; i++) {
    let s = 0
    const r = i * n
    for (let j = 0; j < n; j++) s += A[r + j]! * xs[j]!
    o[i] = s
  }
  return { dim: a.rows, data: o }
}

/**
 * The transposed product Aᵀ y.
 *
 * @example
 * matTVec(a, y) // aᵀ y
 */
export const matTVec = <M, N>(a: Mat<M, N>, y: Vec<M>): Vec<N> => {
  const m = a.rows, n = a.cols, A = a.data, ys = y.data
  const o = f64(n)
  for (let i = 0; i < m; i++) {
    const yi = ys[i]!
    if (yi === 0) continue
    const r = i * n
    for (let j = 0; j < n; j++) o[j] = o[j]! + A[r + j]! * yi
  }
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
export const frobeniusDot = <M, N>(a: Mat<M, N>, b: Mat<M, N>): number => {
  let s = 0
  for (let k = 0; k < a.data.length; k++) s += a.data[k]! * b.data[k]!
  return s
}

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
