/**
 * Dense linear algebra for the reference solver: Gaussian elimination with complete
 * pivoting (rank-revealing, so that singular face systems of a PSD-singular P get a basic
 * solution instead of a division by zero), Cholesky, and sub-matrix extraction from a
 * linear operator. Kept out of the public docs.
 *
 * Every function allocates its outputs and never writes into its arguments.
 *
 * @since 0.1.0
 */
import { type LinearOperator, columnInto } from '../../core/LinearOperator.js'

// -------------------------------------------------------------------------------------
// LU with complete pivoting
// -------------------------------------------------------------------------------------

/** P A Q = L U of an m × m matrix, L unit lower, both stored in `lu`; `rank` pivots kept. */
export interface Lu {
  readonly m: number
  readonly a: Float64Array
  readonly lu: Float64Array
  readonly rowPerm: Int32Array
  readonly colPerm: Int32Array
  readonly rank: number
}

/**
 * Factors a row-major m × m matrix with complete pivoting. A pivot smaller than
 * `relTol` times the largest entry of `a` ends the elimination: the trailing block counts
 * as zero and `rank` is the number of pivots kept.
 *
 * @example
 * luSolve(luFactor(Float64Array.of(2, 1, 1, 3), 2), Float64Array.of(1, 2))
 */
export const luFactor = (a: Float64Array, m: number, relTol = 1e-13): Lu => {
  const lu = Float64Array.from(a)
  const rp = new Int32Array(m), cp = new Int32Array(m)
  for (let i = 0; i < m; i++) { rp[i] = i; cp[i] = i }
  let amax = 0
  for (const v of a) amax = Math.max(amax, Math.abs(v))
  let rank = m
  for (let k = 0; k < m; k++) {
    let p = k, c = k, best = -1
    for (let i = k; i < m; i++) {
      const r = i * m
      for (let j = k; j < m; j++) {
        const v = Math.abs(lu[r + j]!)
        if (v > best) { best = v; p = i; c = j }
      }
    }
    if (!(best > relTol * amax)) { rank = k; break }
    if (p !== k) {
      for (let j = 0; j < m; j++) { const s = lu[k * m + j]!; lu[k * m + j] = lu[p * m + j]!; lu[p * m + j] = s }
      const s = rp[k]!; rp[k] = rp[p]!; rp[p] = s
    }
    if (c !== k) {
      for (let i = 0; i < m; i++) { const s = lu[i * m + k]!; lu[i * m + k] = lu[i * m + c]!; lu[i * m + c] = s }
      const s = cp[k]!; cp[k] = cp[c]!; cp[c] = s
    }
    const piv = lu[k * m + k]!
    for (let i = k + 1; i < m; i++) {
      const l = lu[i * m + k]! / piv
      lu[i * m + k] = l
      if (l === 0) continue
      const ri = i * m, rk = k * m
      for (let j = k + 1; j < m; j++) lu[ri + j] = lu[ri + j]! - l * lu[rk + j]!
    }
  }
  return { m, a: Float64Array.from(a), lu, rowPerm: rp, colPerm: cp, rank }
}

const luSolveOnce = (f: Lu, b: Float64Array): Float64Array => {
  const { m, lu, rowPerm, colPerm, rank } = f
  const z = new Float64Array(m)
  for (let i = 0; i < m; i++) z[i] = b[rowPerm[i]!]!
  for (let i = 0; i < m; i++) {
    let s = z[i]!
    const lim = Math.min(i, rank)
    for (let j = 0; j < lim; j++) s -= lu[i * m + j]! * z[j]!
    z[i] = s
  }
  const y = new Float64Array(m)
  for (let k = rank - 1; k >= 0; k--) {
    let s = z[k]!
    for (let j = k + 1; j < rank; j++) s -= lu[k * m + j]! * y[j]!
    y[k] = s / lu[k * m + k]!
  }
  const x = new Float64Array(m)
  for (let k = 0; k < m; k++) x[colPerm[k]!] = y[k]!
  return x
}

/**
 * Solves A x = b from a factorization, with `refine` steps of iterative refinement
 * against the original A. A rank-deficient A gets the basic solution (the unknowns of
 * the dropped pivots are 0), which solves A x = b whenever b lies in the range of A.
 *
 * @example
 * luSolve(luFactor(Float64Array.of(1, 1, 1, 1), 2), Float64Array.of(2, 2)) // [2, 0] or [0, 2] (rank 1)
 */
export const luSolve = (f: Lu, b: Float64Array, refine = 2): Float64Array => {
  const m = f.m, A = f.a
  const x = luSolveOnce(f, b)
  const r = new Float64Array(m)
  for (let it = 0; it < refine; it++) {
    for (let i = 0; i < m; i++) {
      let s = b[i]!
      for (let j = 0; j < m; j++) s -= A[i * m + j]! * x[j]!
      r[i] = s
    }
    const d = luSolveOnce(f, r)
    for (let i = 0; i < m; i++) x[i] = x[i]! + d[i]!
  }
  return x
}

// -------------------------------------------------------------------------------------
// Cholesky
// -------------------------------------------------------------------------------------

/**
 * The lower Cholesky factor of A + shift·I (row-major m × m), or `undefined` when a
 * pivot is at most 1e-14 times the largest diagonal entry (not numerically positive definite).
 *
 * @example
 * cholesky(Float64Array.of(4, 2, 2, 3), 2) // [2, 0, 1, √2]
 */
export const cholesky = (a: Float64Array, m: number, shift = 0): Float64Array | undefined => {
  const L = new Float64Array(m * m)
  let dmax = 0
  for (let i = 0; i < m; i++) dmax = Math.max(dmax, Math.abs(a[i * m + i]! + shift))
  for (let j = 0; j < m; j++) {
    let d = a[j * m + j]! + shift
    for (let k = 0; k < j; k++) d -= L[j * m + k]! ** 2
    if (!(d > 1e-14 * dmax)) return undefined
    const ljj = Math.sqrt(d)
    L[j * m + j] = ljj
    for (let i = j + 1; i < m; i++) {
      let s = a[i * m + j]!
      for (let k = 0; k < j; k++) s -= L[i * m + k]! * L[j * m + k]!
      L[i * m + j] = s / ljj
    }
  }
  return L
}

/**
 * Solves L y = b (forward substitution) for a lower-triangular row-major L.
 *
 * @example
 * forwardSolve(Float64Array.of(2, 0, 1, 1), 2, Float64Array.of(2, 3)) // [1, 2]
 */
export const forwardSolve = (L: Float64Array, m: number, b: Float64Array): Float64Array => {
  const y = new Float64Array(m)
  for (let i = 0; i < m; i++) {
    let s = b[i]!
    for (let k = 0; k < i; k++) s -= L[i * m + k]! * y[k]!
    y[i] = s / L[i * m + i]!
  }
  return y
}

/**
 * Solves Lᵀ x = y (back substitution) for a lower-triangular row-major L.
 *
 * @example
 * backSolveT(Float64Array.of(2, 0, 1, 1), 2, Float64Array.of(3, 2)) // [0.5, 2]
 */
export const backSolveT = (L: Float64Array, m: number, y: Float64Array): Float64Array => {
  const x = new Float64Array(m)
  for (let i = m - 1; i >= 0; i--) {
    let s = y[i]!
    for (let k = i + 1; k < m; k++) s -= L[k * m + i]! * x[k]!
    x[i] = s / L[i * m + i]!
  }
  return x
}

// -------------------------------------------------------------------------------------
// operators
// -------------------------------------------------------------------------------------

/**
 * The rows `rows` and columns `cols` of P, dense and row-major (|rows| × |cols|), read
 * column by column through `columnInto` for the non-dense storage forms.
 *
 * @example
 * subMatrix(P, Int32Array.of(0, 2), Int32Array.of(0, 2)) // [P00, P02, P20, P22]
 */
export const subMatrix = <N>(P: LinearOperator<N>, rows: ArrayLike<number>, cols: ArrayLike<number>): Float64Array => {
  const n = P.dim as number, r = rows.length, c = cols.length
  const out = new Float64Array(r * c)
  if (P.kind === 'dense') {
    const A = P.mat.data
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[i * c + j] = A[rows[i]! * n + cols[j]!]!
    return out
  }
  const col = new Float64Array(n)
  for (let j = 0; j < c; j++) {
    columnInto(P, cols[j]!, col)
    for (let i = 0; i < r; i++) out[i * c + j] = col[rows[i]!]!
  }
  return out
}

/**
 * The indices 0, 1, …, n − 1.
 *
 * @example
 * range(3) // Int32Array [0, 1, 2]
 */
export const range = (n: number): Int32Array => {
  const o = new Int32Array(n)
  for (let i = 0; i < n; i++) o[i] = i
  return o
}
