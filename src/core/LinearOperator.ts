/**
 * Square linear operators in three storage forms: dense, diagonal plus low rank
 * (diag(d) + U Uᵀ), and compressed sparse rows. Each offers `apply` (P v) and `applyT`
 * (Pᵀ v), both pure; the `…Into` variants write into a buffer the caller owns and serve
 * the solvers' inner loops.
 *
 * Dense products run in the WebAssembly SIMD kernels of `simd.ts` (bitwise equal to their
 * JavaScript fallbacks). The kernels work on a copy of the matrix that is trusted only
 * within one call (`beginCall` in simd.ts; outside a call every product copies afresh),
 * so a write into a dense operator's matrix between calls is always seen. For an
 * exactly symmetric dense P, Pᵀ v is computed as P v.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Dim } from '../shapes/Dim.js'
import type { Mat } from '../shapes/Mat.js'
import type { Vec } from '../shapes/Vec.js'
import { type ShapeError, shapeError, joinPath } from '../shapes/ShapeError.js'
import { denseApplyInto, denseApplyTInto } from './simd.js'
import { f64 } from '../shapes/alloc.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A dense n × n matrix.
 *
 * @example
 * const P: DenseOperator<N> = dense(identity(n))
 */
export interface DenseOperator<N> {
  readonly kind: 'dense'
  readonly dim: Dim<N>
  readonly mat: Mat<N, N>
}

/**
 * diag(d) + U Uᵀ with U an n × r row-major matrix: symmetric, PSD when d ≥ 0.
 *
 * @example
 * const P: LowRankOperator<N> = lowRank(fill(n, 1), 1, U) // I + u uᵀ with U = u (n × 1)
 */
export interface LowRankOperator<N> {
  readonly kind: 'lowRank'
  readonly dim: Dim<N>
  readonly diag: Vec<N>
  readonly rank: number
  readonly U: Float64Array
}

/**
 * Compressed sparse rows: row i holds `values[rowPtr[i] .. rowPtr[i+1])` at columns `colIdx[…]`; repeated (i, j) entries add up.
 *
 * @example
 * const P = csr(n, [0, 1, 2], [0, 1], [2, 3]) // right(CsrOperator): diag(2, 3) for n = 2
 */
export interface CsrOperator<N> {
  readonly kind: 'csr'
  readonly dim: Dim<N>
  readonly rowPtr: Int32Array
  readonly colIdx: Int32Array
  readonly values: Float64Array
}

/**
 * A square linear operator on `Vec<N>`.
 *
 * @example
 * const ops: LinearOperator<N>[] = [dense(identity(n)), lowRank(fill(n, 1), 0, new Float64Array(0))]
 */
export type LinearOperator<N> = DenseOperator<N> | LowRankOperator<N> | CsrOperator<N>

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * @example
 * dense(identity(n)) // the identity as an operator
 */
export const dense = <N>(mat: Mat<N, N>): DenseOperator<N> => ({ kind: 'dense', dim: mat.rows, mat })

/**
 * diag(d) + U Uᵀ; `U` is n × r, row-major (row i at `U[i*r .. i*r + r)`).
 *
 * @example
 * lowRank(fill(n, 1), 0, new Float64Array(0)) // the identity
 */
export const lowRank = <N>(diag: Vec<N>, rank: number, U: Float64Array): LowRankOperator<N> => ({
  kind: 'lowRank', dim: diag.dim, diag, rank, U
})

/**
 * A CSR operator after checking its structure: `rowPtr` has n + 1 non-decreasing entries
 * from 0 to nnz, column indices lie in [0, n), values are finite.
 *
 * @example
 * csr(n, [0, 1, 2], [0, 1], [2, 3]) // diag(2, 3) for n = 2
 */
export const csr = <N>(
  dim: Dim<N>,
  rowPtr: ArrayLike<number>,
  colIdx: ArrayLike<number>,
  values: ArrayLike<number>,
  path = ''
): E.Either<ShapeError, CsrOperator<N>> => {
  const n = dim as number
  if (rowPtr.length !== n + 1) return E.left(shapeError(`expected ${n + 1} entries, got ${rowPtr.length}`, joinPath(path, 'rowPtr')))
  if (colIdx.length !== values.length) {
    return E.left(shapeError(`expected ${values.length} entries (one per value), got ${colIdx.length}`, joinPath(path, 'colIdx')))
  }
  const nnz = values.length
  const rp = new Int32Array(n + 1), ci = new Int32Array(nnz), vs = f64(nnz)
  for (let i = 0; i <= n; i++) {
    const v = rowPtr[i]!
    const lo = i === 0 ? 0 : rp[i - 1]!
    if (!Number.isInteger(v) || v < lo || v > nnz || (i === 0 && v !== 0) || (i === n && v !== nnz)) {
      return E.left(shapeError(`row pointer must be a non-decreasing integer from 0 to ${nnz}, got ${String(v)}`, joinPath(joinPath(path, 'rowPtr'), i)))
    }
    rp[i] = v
  }
  for (let k = 0; k < nnz; k++) {
    const c = colIdx[k]!
    if (!Number.isInteger(c) || c < 0 || c >= n) return E.left(shapeError(`column index must be an integer in [0, ${n}), got ${String(c)}`, joinPath(joinPath(path, 'colIdx'), k)))
    const v = values[k]!
    if (typeof v !== 'number' || !Number.isFinite(v)) return E.left(shapeError(`expected a finite number, got ${String(v)}`, joinPath(joinPath(path, 'values'), k)))
    ci[k] = c
    vs[k] = v
  }
  return E.right({ kind: 'csr', dim, rowPtr: rp, colIdx: ci, values: vs })
}

// -------------------------------------------------------------------------------------
// products
// -------------------------------------------------------------------------------------

/**
 * out ← P x. `out` must not alias `x`.
 *
 * @example
 * const out = new Float64Array(n); applyInto(P, x.data, out) // out = P x
 */
export const applyInto = <N>(op: LinearOperator<N>, x: Float64Array, out: Float64Array): void => {
  const n = op.dim as number
  switch (op.kind) {
    case 'dense':
      return denseApplyInto(op.mat.data, n, x, out)
    case 'lowRank': {
      const r = op.rank, U = op.U, d = op.diag.data
      const c = f64(r)
      for (let i = 0; i < n; i++) { const xi = x[i]!; for (let k = 0; k < r; k++) c[k] = c[k]! + U[i * r + k]! * xi }
      for (let i = 0; i < n; i++) {
        let s = d[i]! * x[i]!
        for (let k = 0; k < r; k++) s += U[i * r + k]! * c[k]!
        out[i] = s
      }
      return
    }
    case 'csr': {
      const rp = op.rowPtr, ci = op.colIdx, vs = op.values
      for (let i = 0; i < n; i++) {
        let s = 0
        for (let k = rp[i]!; k < rp[i + 1]!; k++) s += vs[k]! * x[ci[k]!]!
        out[i] = s
      }
      return
    }
  }
}

/**
 * out ← Pᵀ x. `out` must not alias `x`.
 *
 * @example
 * const out = new Float64Array(n); applyTInto(P, y.data, out) // out = Pᵀ y
 */
export const applyTInto = <N>(op: LinearOperator<N>, x: Float64Array, out: Float64Array): void => {
  const n = op.dim as number
  switch (op.kind) {
    case 'dense':
      return denseApplyTInto(op.mat.data, n, x, out)
    case 'lowRank':
      return applyInto(op, x, out)
    case 'csr': {
      const rp = op.rowPtr, ci = op.colIdx, vs = op.values
      out.fill(0)
      for (let i = 0; i < n; i++) {
        const xi = x[i]!
        if (xi === 0) continue
        for (let k = rp[i]!; k < rp[i + 1]!; k++) { const c = ci[k]!; out[c] = out[c]! + vs[k]! * xi }
      }
      return
    }
  }
}

/**
 * The product P x, as a new vector.
 *
 * @example
 * apply(dense(identity(n)), x) // a copy of x
 */
export const apply = <N>(op: LinearOperator<N>, x: Vec<N>): Vec<N> => {
  const o = f64(op.dim)
  applyInto(op, x.data, o)
  return { dim: op.dim, data: o }
}

/**
 * The product Pᵀ x, as a new vector.
 *
 * @example
 * applyT(P, y) // Pᵀ y
 */
export const applyT = <N>(op: LinearOperator<N>, x: Vec<N>): Vec<N> => {
  const o = f64(op.dim)
  applyTInto(op, x.data, o)
  return { dim: op.dim, data: o }
}

/**
 * out ← column j of P (P e_j).
 *
 * @example
 * const col = new Float64Array(n); columnInto(P, j, col) // col = P e_j
 */
export const columnInto = <N>(op: LinearOperator<N>, j: number, out: Float64Array): void => {
  const n = op.dim as number
  switch (op.kind) {
    case 'dense': {
      const A = op.mat.data
      for (let i = 0; i < n; i++) out[i] = A[i * n + j]!
      return
    }
    case 'lowRank': {
      const r = op.rank, U = op.U
      for (let i = 0; i < n; i++) {
        let s = 0
        for (let k = 0; k < r; k++) s += U[i * r + k]! * U[j * r + k]!
        out[i] = s
      }
      out[j] = out[j]! + op.diag.data[j]!
      return
    }
    case 'csr': {
      // column j of a CSR matrix is row j of its transpose (built once per operator)
      const t = transposeOf(op)
      out.fill(0)
      for (let k = t.ptr[j]!; k < t.ptr[j + 1]!; k++) out[t.idx[k]!] = out[t.idx[k]!]! + t.vals[k]!
      return
    }
  }
}

/** The transpose of a CSR operator in CSR form (its CSC), by counting sort. */
interface CsrTranspose { readonly ptr: Int32Array; readonly idx: Int32Array; readonly vals: Float64Array }

/**
 * Transposes, cached per operator object: operators are immutable values, so the column
 * structure of one never changes (writing into an operator's arrays after building it is
 * outside the contract). O(nnz) once, then a column costs its own entries.
 */
const transposes = new WeakMap<object, CsrTranspose>()
const transposeOf = <N>(op: CsrOperator<N>): CsrTranspose => {
  const hit = transposes.get(op)
  if (hit !== undefined) return hit
  const n = op.dim as number, rp = op.rowPtr, ci = op.colIdx, vs = op.values
  const nnz = rp[n]!
  const ptr = new Int32Array(n + 1), idx = new Int32Array(nnz), vals = new Float64Array(nnz)
  for (let k = 0; k < nnz; k++) ptr[ci[k]! + 1] = ptr[ci[k]! + 1]! + 1
  for (let j = 0; j < n; j++) ptr[j + 1] = ptr[j + 1]! + ptr[j]!
  const at = ptr.slice(0, n)
  for (let i = 0; i < n; i++) {
    for (let k = rp[i]!; k < rp[i + 1]!; k++) {
      const j = ci[k]!, p = at[j]!
      at[j] = p + 1
      idx[p] = i
      vals[p] = vs[k]!
    }
  }
  const t = { ptr, idx, vals }
  transposes.set(op, t)
  return t
}

/**
 * out += a P[:, i] + b P[:, j]; a negative index adds nothing. Columns are read as columns
 * (dense: strided; CSR: from the transpose, built once per operator), so P need not be
 * symmetric. Diag + low rank takes one row-major pass over U for both columns (a pass per
 * rank-one term would stream U r times, which dominated a run at n = 1e6); `coef` (length
 * at least r) is the caller's scratch, so a solver step allocates nothing.
 *
 * @example
 * addColumnsInto(P, i, 2, j, -1, out, new Float64Array(P.kind === 'lowRank' ? P.rank : 0)) // out += 2 P eᵢ − P eⱼ
 */
export const addColumnsInto = <N>(op: LinearOperator<N>, i: number, a: number, j: number, b: number, out: Float64Array, coef: Float64Array): void => {
  const n = op.dim as number
  switch (op.kind) {
    case 'dense': {
      const A = op.mat.data
      if (i >= 0 && a !== 0) for (let k = 0; k < n; k++) out[k] = out[k]! + a * A[k * n + i]!
      if (j >= 0 && b !== 0) for (let k = 0; k < n; k++) out[k] = out[k]! + b * A[k * n + j]!
      return
    }
    case 'lowRank': {
      const r = op.rank, U = op.U
      for (let k = 0; k < r; k++) coef[k] = (i >= 0 ? a * U[i * r + k]! : 0) + (j >= 0 ? b * U[j * r + k]! : 0)
      for (let m = 0; m < n; m++) {
        let v = 0
        const o = m * r
        for (let k = 0; k < r; k++) v += coef[k]! * U[o + k]!
        out[m] = out[m]! + v
      }
      if (i >= 0) out[i] = out[i]! + a * op.diag.data[i]!
      if (j >= 0) out[j] = out[j]! + b * op.diag.data[j]!
      return
    }
    case 'csr': {
      const t = transposeOf(op)
      if (i >= 0 && a !== 0) for (let k = t.ptr[i]!; k < t.ptr[i + 1]!; k++) out[t.idx[k]!] = out[t.idx[k]!]! + a * t.vals[k]!
      if (j >= 0 && b !== 0) for (let k = t.ptr[j]!; k < t.ptr[j + 1]!; k++) out[t.idx[k]!] = out[t.idx[k]!]! + b * t.vals[k]!
    }
  }
}

/**
 * P[:, j]ᵀ c, the product of column j with c: O(n) for dense P, O(r) after one O(n r) pass
 * shared by every index for diag + low rank, and the column's own entries for CSR.
 *
 * @example
 * columnDots(P, [i, j], c) // [P[:, i]ᵀ c, P[:, j]ᵀ c]
 */
export const columnDots = <N>(op: LinearOperator<N>, idx: readonly number[], c: Float64Array): number[] => {
  const n = op.dim as number
  switch (op.kind) {
    case 'dense': {
      const A = op.mat.data
      return idx.map((j) => {
        let s = 0
        for (let k = 0; k < n; k++) s += A[k * n + j]! * c[k]!
        return s
      })
    }
    case 'lowRank': {
      const r = op.rank, U = op.U, utc = new Float64Array(r)
      for (let i = 0; i < n; i++) { const ci = c[i]!; if (ci !== 0) for (let k = 0; k < r; k++) utc[k] = utc[k]! + U[i * r + k]! * ci }
      return idx.map((j) => {
        let s = op.diag.data[j]! * c[j]!
        for (let k = 0; k < r; k++) s += U[j * r + k]! * utc[k]!
        return s
      })
    }
    case 'csr': {
      const t = transposeOf(op)
      return idx.map((j) => {
        let s = 0
        for (let k = t.ptr[j]!; k < t.ptr[j + 1]!; k++) s += t.vals[k]! * c[t.idx[k]!]!
        return s
      })
    }
  }
}

/**
 * The product with the principal sub-matrix P_FF on the index list F (distinct indices in
 * [0, n)), for solvers that work on a face: `faceProduct(op, F)` does the per-face set-up
 * once and returns `(p, out) => void` with out ← P_FF p (p and out of length |F|; `out`
 * must not alias `p`). The work per product is O(|F|²) for dense P (or one SIMD product
 * through an n-vector when |F| > n/4), O(|F| r) for diag + low rank (the rows U_F are
 * gathered once), and O(stored entries of the rows F) for CSR, instead of a full O(n²),
 * O(n r) or O(nnz) product. The returned function owns its buffers: it allocates nothing
 * per call.
 *
 * @example
 * const H = faceProduct(P, [3, 7])
 * H(new Float64Array([1, 0]), out) // out = [P₃₃, P₇₃]
 */
export const faceProduct = <N>(op: LinearOperator<N>, F: ArrayLike<number>): ((p: Float64Array, out: Float64Array) => void) => {
  const n = op.dim as number, m = F.length
  const idx = Int32Array.from(F)
  switch (op.kind) {
    case 'dense': {
      const A = op.mat.data
      if (4 * m > n) {
        const full = f64(n), res = f64(n)
        return (p, out) => {
          for (let a = 0; a < m; a++) full[idx[a]!] = p[a]!
          denseApplyInto(A, n, full, res)
          for (let a = 0; a < m; a++) { out[a] = res[idx[a]!]!; full[idx[a]!] = 0 }
        }
      }
      return (p, out) => {
        for (let a = 0; a < m; a++) {
          const r = idx[a]! * n
          let s = 0
          for (let b = 0; b < m; b++) s += A[r + idx[b]!]! * p[b]!
          out[a] = s
        }
      }
    }
    case 'lowRank': {
      const r = op.rank, U = op.U, d = op.diag.data
      const UF = f64(m * r), dF = f64(m), c = f64(r)
      for (let a = 0; a < m; a++) {
        const i = idx[a]!
        dF[a] = d[i]!
        for (let k = 0; k < r; k++) UF[a * r + k] = U[i * r + k]!
      }
      return (p, out) => {
        c.fill(0)
        for (let a = 0; a < m; a++) { const pa = p[a]!; for (let k = 0; k < r; k++) c[k] = c[k]! + UF[a * r + k]! * pa }
        for (let a = 0; a < m; a++) {
          let s = dF[a]! * p[a]!
          for (let k = 0; k < r; k++) s += UF[a * r + k]! * c[k]!
          out[a] = s
        }
      }
    }
    case 'csr': {
      const rp = op.rowPtr, ci = op.colIdx, vs = op.values
      const pos = new Int32Array(n).fill(-1)
      for (let a = 0; a < m; a++) pos[idx[a]!] = a
      return (p, out) => {
        for (let a = 0; a < m; a++) {
          const i = idx[a]!
          let s = 0
          for (let k = rp[i]!; k < rp[i + 1]!; k++) { const b = pos[ci[k]!]!; if (b >= 0) s += vs[k]! * p[b]! }
          out[a] = s
        }
      }
    }
  }
}

/**
 * The diagonal entry P_jj (for CSR, the sum of the stored (j, j) entries).
 *
 * @example
 * diagEntry(dense(identity(n)), 0) // 1
 */
export const diagEntry = <N>(op: LinearOperator<N>, j: number): number => {
  switch (op.kind) {
    case 'dense':
      return op.mat.data[j * (op.dim as number) + j]!
    case 'lowRank': {
      let s = op.diag.data[j]!
      for (let k = 0; k < op.rank; k++) s += op.U[j * op.rank + k]! ** 2
      return s
    }
    case 'csr': {
      // duplicate (j, j) entries add up, as they do in `applyInto`
      let s = 0
      for (let k = op.rowPtr[j]!; k < op.rowPtr[j + 1]!; k++) if (op.colIdx[k] === j) s += op.values[k]!
      return s
    }
  }
}

/**
 * The operator as a dense matrix (n² memory: for tests and small n).
 *
 * @example
 * toDense(lowRank(fill(n, 1), 0, new Float64Array(0))) // the identity as a Mat
 */
export const toDense = <N>(op: LinearOperator<N>): Mat<N, N> => {
  if (op.kind === 'dense') return op.mat
  const n = op.dim as number
  const o = f64(n * n), col = f64(n)
  for (let j = 0; j < n; j++) {
    columnInto(op, j, col)
    for (let i = 0; i < n; i++) o[i * n + j] = col[i]!
  }
  return { rows: op.dim, cols: op.dim, data: o }
}
