/**
 * Pure wrappers over `@stdlib/blas/base` routines. The stdlib routines write into their
 * output argument; each wrapper allocates that output itself, so the in-place write never
 * leaks to callers.
 *
 * The library does not call them: `bench/matvec.ts` measured its own loops as fast or faster at
 * every size (Node 20, n = 10 … 3000 for matrices, 10 … 10⁶ for vectors; the table is in
 * the README). From n = 100 on, `matVec` (eight partial sums) ran 1.5–1.6× and
 * `dgemv`/`dsymv` 0.86–1.0× the one-accumulator loop, and the dense operator's
 * WebAssembly kernel 3–10×; `dot` and `axpy`, unrolled by four, ran at or above `ddot` and `daxpy`
 * (which unroll by five and four) from n = 100 on, and `daxpy` lost at n = 10 to its
 * call overhead. The wrappers stay as the reference BLAS semantics, tested against the
 * loops, and for the benchmark comparison.
 *
 * They live with the tests, not in `src/`: the reference tests (`test/core.ts`) and the
 * comparison bench (`bench/matvec.ts`) are their only users, so `@stdlib/blas` is a
 * development dependency and an install of the package does not bring it.
 *
 * @since 0.1.0
 * @module
 */
import ddotRaw from '@stdlib/blas/base/ddot/lib/main.js'
import dnrm2Raw from '@stdlib/blas/base/dnrm2/lib/main.js'
import daxpyRaw from '@stdlib/blas/base/daxpy/lib/main.js'
import dgemvRaw from '@stdlib/blas/base/dgemv/lib/main.js'
import dsymvRaw from '@stdlib/blas/base/dsymv/lib/main.js'
import type { Mat } from '../../src/shapes/Mat.js'
import type { Vec } from '../../src/shapes/Vec.js'

/**
 * xᵀ y by stdlib's ddot.
 *
 * @example
 * ddot(x, y) // xᵀ y, as dot(x, y)
 */
export const ddot = <N>(x: Vec<N>, y: Vec<N>): number => ddotRaw(x.dim, x.data, 1, y.data, 1)

/**
 * ‖x‖₂ by stdlib's dnrm2.
 *
 * @example
 * dnrm2(v) // 5 for v = [3, 4]
 */
export const dnrm2 = <N>(x: Vec<N>): number => dnrm2Raw(x.dim, x.data, 1)

/**
 * α x + y by stdlib's daxpy, into a fresh copy of y.
 *
 * @example
 * daxpy(2, x, y) // 2x + y, y untouched
 */
export const daxpy = <N>(alpha: number, x: Vec<N>, y: Vec<N>): Vec<N> => {
  const o = Float64Array.from(y.data)
  daxpyRaw(x.dim, alpha, x.data, 1, o, 1)
  return { dim: y.dim, data: o }
}

/**
 * A x by stdlib's dgemv (row-major).
 *
 * @example
 * dgemv(a, x) // a x
 */
export const dgemv = <M, N>(a: Mat<M, N>, x: Vec<N>): Vec<M> => {
  const o = new Float64Array(a.rows)
  dgemvRaw('row-major', 'no-transpose', a.rows, a.cols, 1, a.data, Math.max(1, a.cols), x.data, 1, 0, o, 1)
  return { dim: a.rows, data: o }
}

/**
 * Aᵀ y by stdlib's dgemv (row-major, transposed).
 *
 * @example
 * dgemvT(a, y) // aᵀ y
 */
export const dgemvT = <M, N>(a: Mat<M, N>, y: Vec<M>): Vec<N> => {
  const o = new Float64Array(a.cols)
  dgemvRaw('row-major', 'transpose', a.rows, a.cols, 1, a.data, Math.max(1, a.cols), y.data, 1, 0, o, 1)
  return { dim: a.cols, data: o }
}

/**
 * A x for a symmetric A by stdlib's dsymv, reading the upper triangle only.
 *
 * @example
 * dsymv(P, x) // P x for symmetric P (reads the upper triangle)
 */
export const dsymv = <N>(a: Mat<N, N>, x: Vec<N>): Vec<N> => {
  const o = new Float64Array(a.rows)
  dsymvRaw('row-major', 'upper', a.rows, 1, a.data, Math.max(1, a.cols), x.data, 1, 0, o, 1)
  return { dim: a.rows, data: o }
}
