/**
 * Small dense kernels of the nuclear-norm ball's solver, kept out of the public docs: bases
 * of orthonormal columns, products of the gradient matrix with them, Gram-Schmidt, and the
 * assembly of U S Vᵀ. A matrix point x is a rows × cols matrix stored row-major
 * (X[i][j] = x[i·cols + j]); a basis is `Cols`, its columns contiguous.
 *
 * Interfaces are pure unless a name says `Into` (it writes only its `out` argument).
 *
 * @since 0.1.0
 */

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * k vectors of length `len`, contiguous: column a is `data[a·len .. (a+1)·len)`.
 *
 * @example
 * const U: Cols = { len: 3, k: 1, data: Float64Array.of(1, 0, 0) } // e₀ in R³
 */
export interface Cols {
  readonly len: number
  readonly k: number
  readonly data: Float64Array
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * A basis of no columns.
 *
 * @example
 * emptyCols(4).k // 0
 */
export const emptyCols = (len: number): Cols => ({ len, k: 0, data: new Float64Array(0) })

/**
 * The basis with one more column v (copied).
 *
 * @example
 * appendCol(emptyCols(2), Float64Array.of(0, 1)).k // 1
 */
export const appendCol = (U: Cols, v: Float64Array): Cols => {
  const data = new Float64Array((U.k + 1) * U.len)
  data.set(U.data.subarray(0, U.k * U.len))
  data.set(v.subarray(0, U.len), U.k * U.len)
  return { len: U.len, k: U.k + 1, data }
}

/**
 * Column a of a basis (a view).
 *
 * @example
 * col(U, 0) // the first column
 */
export const col = (U: Cols, a: number): Float64Array => U.data.subarray(a * U.len, (a + 1) * U.len)

/**
 * The columns `keep` of U, in that order.
 *
 * @example
 * pickCols(U, [2, 0]).k // 2
 */
export const pickCols = (U: Cols, keep: readonly number[]): Cols => {
  const data = new Float64Array(keep.length * U.len)
  keep.forEach((a, b) => data.set(col(U, a), b * U.len))
  return { len: U.len, k: keep.length, data }
}

// -------------------------------------------------------------------------------------
// kernels
// -------------------------------------------------------------------------------------

/**
 * Σₖ a[ia + k]·b[ib + k] for k < n.
 *
 * @example
 * dotAt(a, 0, b, 0, a.length) // aᵀb
 */
export const dotAt = (a: Float64Array, ia: number, b: Float64Array, ib: number, n: number): number => {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, k = 0
  for (; k + 3 < n; k += 4) {
    s0 += a[ia + k]! * b[ib + k]!
    s1 += a[ia + k + 1]! * b[ib + k + 1]!
    s2 += a[ia + k + 2]! * b[ib + k + 2]!
    s3 += a[ia + k + 3]! * b[ib + k + 3]!
  }
  let s = (s0 + s2) + (s1 + s3)
  for (; k < n; k++) s += a[ia + k]! * b[ib + k]!
  return s
}

/**
 * G V for G rows × cols (row-major) and V with `len` = cols: the rows × k result as columns.
 *
 * @example
 * timesCols(g, m, p, V).k === V.k // column b is G v_b
 */
export const timesCols = (g: Float64Array, rows: number, cols: number, V: Cols): Cols => {
  const k = V.k, out = new Float64Array(k * rows)
  for (let b = 0; b < k; b++) {
    const o = b * cols
    for (let i = 0; i < rows; i++) out[b * rows + i] = dotAt(g, i * cols, V.data, o, cols)
  }
  return { len: rows, k, data: out }
}

/**
 * Gᵀ U for G rows × cols (row-major) and U with `len` = rows: the cols × k result as columns.
 *
 * @example
 * transposeTimesCols(g, m, p, U).len === p // column a is Gᵀ u_a
 */
export const transposeTimesCols = (g: Float64Array, rows: number, cols: number, U: Cols): Cols => {
  const k = U.k, out = new Float64Array(k * cols)
  for (let a = 0; a < k; a++) {
    const o = a * cols, ua = a * rows
    for (let i = 0; i < rows; i++) {
      const u = U.data[ua + i]!
      if (u === 0) continue
      const r = i * cols
      for (let j = 0; j < cols; j++) out[o + j] = out[o + j]! + u * g[r + j]!
    }
  }
  return { len: cols, k, data: out }
}

/**
 * Aᵀ B for two bases of the same length: A.k × B.k, row-major.
 *
 * @example
 * crossGram(U, U) // the identity for orthonormal U
 */
export const crossGram = (A: Cols, B: Cols): Float64Array => {
  const out = new Float64Array(A.k * B.k), n = A.len
  for (let a = 0; a < A.k; a++) for (let b = 0; b < B.k; b++) out[a * B.k + b] = dotAt(A.data, a * n, B.data, b * n, n)
  return out
}

/**
 * Y − U (Uᵀ Y), twice (classical Gram-Schmidt with one reorthogonalization), for U with
 * orthonormal columns: the part of each column of Y orthogonal to U.
 *
 * @example
 * projectOut(Y, U) // Uᵀ result ≈ 0
 */
export const projectOut = (Y: Cols, U: Cols): Cols => {
  const out = Float64Array.from(Y.data), n = Y.len
  if (U.k === 0) return { len: n, k: Y.k, data: out }
  for (let pass = 0; pass < 2; pass++) {
    for (let b = 0; b < Y.k; b++) {
      const o = b * n
      for (let a = 0; a < U.k; a++) {
        const c = dotAt(U.data, a * n, out, o, n)
        if (c === 0) continue
        const ua = a * n
        for (let i = 0; i < n; i++) out[o + i] = out[o + i]! - c * U.data[ua + i]!
      }
    }
  }
  return { len: n, k: Y.k, data: out }
}

/**
 * U A for U (len × U.k) and A (U.k × r, row-major): len × r, as columns.
 *
 * @example
 * timesSmall(U, rotation, r) // the rotated basis
 */
export const timesSmall = (U: Cols, A: Float64Array, r: number): Cols => {
  const n = U.len, out = new Float64Array(r * n)
  for (let b = 0; b < r; b++) {
    const o = b * n
    for (let a = 0; a < U.k; a++) {
      const c = A[a * r + b]!
      if (c === 0) continue
      const ua = a * n
      for (let i = 0; i < n; i++) out[o + i] = out[o + i]! + c * U.data[ua + i]!
    }
  }
  return { len: n, k: r, data: out }
}

/**
 * out ← U S Vᵀ (rows × cols, row-major) for S U.k × V.k row-major, or diagonal when `S`
 * has U.k = V.k entries and `diagonal` is set.
 *
 * @example
 * assembleInto(U, s, V, true, x) // x = vec(U diag(s) Vᵀ)
 */
export const assembleInto = (U: Cols, S: Float64Array, V: Cols, diagonal: boolean, out: Float64Array): void => {
  const m = U.len, p = V.len, kU = U.k, kV = V.k
  // W = U S, m × kV (row-major, W[i·kV + b])
  const W = new Float64Array(m * kV)
  for (let a = 0; a < kU; a++) {
    for (let b = 0; b < kV; b++) {
      const s = diagonal ? (a === b ? S[a]! : 0) : S[a * kV + b]!
      if (s === 0) continue
      const ua = a * m
      for (let i = 0; i < m; i++) W[i * kV + b] = W[i * kV + b]! + s * U.data[ua + i]!
    }
  }
  out.fill(0)
  for (let b = 0; b < kV; b++) {
    const vb = b * p
    for (let i = 0; i < m; i++) {
      const w = W[i * kV + b]!
      if (w === 0) continue
      const r = i * p
      for (let j = 0; j < p; j++) out[r + j] = out[r + j]! + w * V.data[vb + j]!
    }
  }
}

/**
 * The 2-norm of a[off .. off+n).
 *
 * @example
 * norm2(v, 0, v.length)
 */
export const norm2 = (a: Float64Array, off: number, n: number): number => {
  let big = 0
  for (let i = 0; i < n; i++) big = Math.max(big, Math.abs(a[off + i]!))
  if (big === 0 || !Number.isFinite(big)) return big
  let s = 0
  for (let i = 0; i < n; i++) { const x = a[off + i]! / big; s += x * x }
  return big * Math.sqrt(s)
}

/**
 * The unit vector along the part of v orthogonal to U (two Gram-Schmidt passes), or
 * undefined when that part is below `tol` times ‖v‖ (v lies in span U to that tolerance).
 *
 * @example
 * orthogonalUnit(U, u1, 1e-10) // a new direction for the basis, or undefined
 */
export const orthogonalUnit = (U: Cols, v: Float64Array, tol: number): Float64Array | undefined => {
  const n0 = norm2(v, 0, v.length)
  if (n0 === 0) return undefined
  const r = projectOut({ len: v.length, k: 1, data: v }, U).data
  const nr = norm2(r, 0, r.length)
  if (!(nr > tol * n0)) return undefined
  for (let i = 0; i < r.length; i++) r[i] = r[i]! / nr
  return r
}

/**
 * A thin QR of the columns of Y by modified Gram-Schmidt with reorthogonalization: Y = Q R
 * with Q's columns orthonormal (a column whose remainder is below `tol` times the largest
 * column norm is set to zero, with a zero row of R) and R upper triangular Y.k × Y.k
 * (row-major).
 *
 * @example
 * const { Q, R } = thinQr(Up, 1e-13)
 */
export const thinQr = (Y: Cols, tol: number): { readonly Q: Cols; readonly R: Float64Array } => {
  const n = Y.len, k = Y.k, Q = Float64Array.from(Y.data), R = new Float64Array(k * k)
  let scale = 0
  for (let b = 0; b < k; b++) scale = Math.max(scale, norm2(Y.data, b * n, n))
  for (let b = 0; b < k; b++) {
    const o = b * n
    for (let pass = 0; pass < 2; pass++) {
      for (let a = 0; a < b; a++) {
        const c = dotAt(Q, a * n, Q, o, n)
        if (c === 0) continue
        R[a * k + b] = R[a * k + b]! + c
        for (let i = 0; i < n; i++) Q[o + i] = Q[o + i]! - c * Q[a * n + i]!
      }
    }
    const nb = norm2(Q, o, n)
    if (!(nb > tol * scale) || nb === 0) {
      for (let i = 0; i < n; i++) Q[o + i] = 0
      continue
    }
    R[b * k + b] = nb
    for (let i = 0; i < n; i++) Q[o + i] = Q[o + i]! / nb
  }
  return { Q: { len: n, k, data: Q }, R }
}

/**
 * ⟨a, b⟩ over the whole arrays.
 *
 * @example
 * dot(x, g)
 */
export const dot = (a: Float64Array, b: Float64Array): number => dotAt(a, 0, b, 0, Math.min(a.length, b.length))

/**
 * The basis as a row-major len × k matrix: out[i·k + a] = U's column a at i.
 *
 * @example
 * rowMajor(U)[i * U.k + a] === col(U, a)[i]
 */
export const rowMajor = (U: Cols): Float64Array => {
  const n = U.len, k = U.k, out = new Float64Array(n * k)
  for (let a = 0; a < k; a++) {
    const o = a * n
    for (let i = 0; i < n; i++) out[i * k + a] = U.data[o + i]!
  }
  return out
}

/** The columns of a row-major len × k matrix, as `Cols`. */
const fromRowMajor = (R: Float64Array, len: number, k: number): Cols => {
  const out = new Float64Array(len * k)
  for (let i = 0; i < len; i++) for (let a = 0; a < k; a++) out[a * len + i] = R[i * k + a]!
  return { len, k, data: out }
}

/**
 * Y B and Yᵀ A in one pass over Y (rows × cols, row-major) for A with `len` = rows and B
 * with `len` = cols and as many columns: 2k multiply-adds per entry of Y, which is read once.
 *
 * @example
 * const { YB, YtA } = bothProducts(g, m, p, U, V) // G V and Gᵀ U
 */
export const bothProducts = (y: Float64Array, rows: number, cols: number, A: Cols, B: Cols): { readonly YB: Cols; readonly YtA: Cols } => {
  const k = A.k
  const Ar = rowMajor(A), Br = rowMajor(B)
  const YB = new Float64Array(rows * k), YtA = new Float64Array(cols * k)
  const acc = new Float64Array(k), ai = new Float64Array(k)
  for (let i = 0; i < rows; i++) {
    const yi = i * cols, oi = i * k
    for (let a = 0; a < k; a++) { acc[a] = 0; ai[a] = Ar[oi + a]! }
    for (let j = 0; j < cols; j++) {
      const v = y[yi + j]!
      if (v === 0) continue
      const oj = j * k
      for (let a = 0; a < k; a++) {
        acc[a] = acc[a]! + v * Br[oj + a]!
        YtA[oj + a] = YtA[oj + a]! + v * ai[a]!
      }
    }
    for (let a = 0; a < k; a++) YB[oi + a] = acc[a]!
  }
  return { YB: fromRowMajor(YB, rows, k), YtA: fromRowMajor(YtA, cols, k) }
}

/**
 * For a diagonal D (rows × cols, row-major): with Z = Σₐ (aₐ wₐᵀ + bₐ vₐᵀ) (A, Bm with
 * `len` = rows, W, V with `len` = cols, k columns each), the products (D ⊙ Z) V and
 * (D ⊙ Z)ᵀ C in one pass, without forming Z: 4k multiply-adds per entry.
 *
 * @example
 * const { YB, YtA } = diagSandwich(d, m, p, U, W, Up, V, U) // the P-part of the tangent Hessian for diagonal P
 */
export const diagSandwich = (
  d: Float64Array, rows: number, cols: number, A: Cols, W: Cols, Bm: Cols, V: Cols, C: Cols
): { readonly YB: Cols; readonly YtA: Cols } => {
  const k = A.k
  const Ar = rowMajor(A), Wr = rowMajor(W), Br = rowMajor(Bm), Vr = rowMajor(V), Cr = rowMajor(C)
  const YB = new Float64Array(rows * k), YtA = new Float64Array(cols * k)
  const acc = new Float64Array(k), ai = new Float64Array(k), bi = new Float64Array(k), ci = new Float64Array(k)
  for (let i = 0; i < rows; i++) {
    const di = i * cols, oi = i * k
    for (let a = 0; a < k; a++) { acc[a] = 0; ai[a] = Ar[oi + a]!; bi[a] = Br[oi + a]!; ci[a] = Cr[oi + a]! }
    for (let j = 0; j < cols; j++) {
      const dij = d[di + j]!
      if (dij === 0) continue
      const oj = j * k
      let z = 0
      for (let a = 0; a < k; a++) z += ai[a]! * Wr[oj + a]! + bi[a]! * Vr[oj + a]!
      const v = dij * z
      for (let a = 0; a < k; a++) {
        acc[a] = acc[a]! + v * Vr[oj + a]!
        YtA[oj + a] = YtA[oj + a]! + v * ci[a]!
      }
    }
    for (let a = 0; a < k; a++) YB[oi + a] = acc[a]!
  }
  return { YB: fromRowMajor(YB, rows, k), YtA: fromRowMajor(YtA, cols, k) }
}

/**
 * a + c·b, fresh (a plain loop: `Float64Array.from` with a callback is slow in V8).
 *
 * @example
 * axpby(px, 1, q) // g = P x + q
 */
export const axpby = (a: Float64Array, c: number, b: Float64Array): Float64Array => {
  const n = a.length, out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = a[i]! + c * b[i]!
  return out
}

/**
 * c·a, fresh.
 *
 * @example
 * scaled(q, -1) // −q
 */
export const scaled = (a: Float64Array, c: number): Float64Array => {
  const n = a.length, out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = c * a[i]!
  return out
}
