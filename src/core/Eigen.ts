/**
 * Dense reference decompositions: the symmetric eigendecomposition (`eigSym`) and the
 * singular value decomposition (`svd`), both O(n³), on row-major `Float64Array`s.
 *
 * - `eigSym`: Householder reduction to tridiagonal form, then the implicit QL iteration
 *   with Wilkinson shifts, with the rotations accumulated into the eigenvectors. Backward
 *   stable: ‖A V − V Λ‖ and ‖VᵀV − I‖ are a small multiple of m·ε·‖A‖ (ε = 2⁻⁵²).
 * - `svd`: one-sided (Hestenes) Jacobi, preconditioned by a QR with column pivoting, which
 *   orthogonalizes the columns of Rᵀ by plane rotations until every pair is orthogonal
 *   to √p·ε relative to the two columns' norms. Besides backward stability it keeps the
 *   small singular values accurate to high relative precision on matrices that are well
 *   conditioned up to a column scaling (A = B D), which bidiagonalization does not.
 * - `eigSymFirst`: the eigenvalues and the first components of the eigenvectors only,
 *   for convergence tests and quadrature (O(m³/3)).
 *
 * All scale their input by a power of two (exactly) to a largest entry in [½, 1) and
 * scale the result back, so entries anywhere in the double range (1e-300 … 1e300) work
 * and the results are exactly equivariant under scaling by powers of two. All refuse
 * non-finite input with a `RangeError`. All are pure: they read their argument and
 * return freshly allocated arrays.
 *
 * Signs are fixed deterministically: in every eigenvector, and in every right singular
 * vector, the entry of largest magnitude (the first one on ties) is positive.
 *
 * @since 0.1.0
 */

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A symmetric eigendecomposition A = V diag(values) Vᵀ.
 *
 * @example
 * const { values, vectors } = eigSym(new Float64Array([2, 1, 1, 2]), 2)
 * // values = [1, 3]; column j of `vectors` (row-major 2×2) is the eigenvector of values[j]
 */
export interface SymEigen {
  /** The eigenvalues, ascending. */
  readonly values: Float64Array
  /** m × m row-major; column j is the unit eigenvector of `values[j]`. */
  readonly vectors: Float64Array
}

/**
 * A thin singular value decomposition A = U diag(s) Vᵀ with p = min(rows, cols).
 *
 * @example
 * const { s, U, V } = svd(new Float64Array([3, 0, 0, -2]), 2, 2) // s = [3, 2]
 */
export interface Svd {
  /** The p singular values, descending (≥ 0). */
  readonly s: Float64Array
  /** rows × p row-major, orthonormal columns (the left singular vectors). */
  readonly U: Float64Array
  /** cols × p row-major, orthonormal columns (the right singular vectors). */
  readonly V: Float64Array
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * The eigendecomposition of a symmetric m × m matrix (row-major). Only the lower triangle
 * (entries i ≥ j) is read; the upper one is taken to mirror it.
 *
 * Householder tridiagonalization followed by the implicit QL iteration with Wilkinson
 * shifts (an off-diagonal entry is deflated when |eᵢ| ≤ ε·(|dᵢ| + |dᵢ₊₁|)). Eigenvalues
 * come out ascending (ties in the order the iteration found them), each eigenvector with
 * its largest-magnitude entry positive. Accuracy: ‖A V − V Λ‖ ≲ m·ε·‖A‖ and
 * ‖VᵀV − I‖ ≲ m·ε, so an eigenvalue is accurate to about m·ε·‖A‖ in absolute terms
 * (not relative to itself: tiny eigenvalues of a matrix with large ones are only as
 * accurate as that). Eigenvectors of repeated or clustered eigenvalues are any
 * orthonormal basis of their invariant subspace.
 *
 * @throws RangeError when m is not a non-negative integer, `A.length ≠ m²`, or an entry
 * of the lower triangle is not finite.
 *
 * @example
 * const { values } = eigSym(new Float64Array([2, 1, 1, 2]), 2) // [1, 3]
 */
export const eigSym = (A: Float64Array, m: number): SymEigen => {
  const { W, k } = scaledSymmetric(A, m, 'eigSym')
  if (m === 0) return { values: new Float64Array(0), vectors: new Float64Array(0) }
  const d = new Float64Array(m), e = new Float64Array(m)
  const Zt = tridiagonalize(W, m, d, e, true)
  tridiagonalQL(d, e, Zt, m, m)
  // Sort ascending (ties in the order found), fix signs.
  const order = sortedOrder(d, m, false)
  const values = new Float64Array(m), vectors = new Float64Array(m * m)
  for (let j = 0; j < m; j++) {
    const src = order[j]!
    values[j] = ldexp(d[src]!, -k)
    const sg = signOfLargest(Zt, src * m, m)
    for (let i = 0; i < m; i++) vectors[i * m + j] = sg * Zt[src * m + i]!
  }
  return { values, vectors }
}

/**
 * The eigenvalues of a symmetric m × m matrix and the magnitudes of the first components
 * of its unit eigenvectors, |V[0][j]|, without the eigenvectors: the same Householder
 * reduction (which leaves the first coordinate alone) and QL iteration as `eigSym`, with
 * the rotations applied to one row instead of m. It costs (4/3)m³ + O(m²) flops against
 * `eigSym`'s ≈ 9m³. This is what Golub–Welsch quadrature, or a Lanczos convergence test
 * (which wants the last components: reverse the coordinates), needs. Same accuracy,
 * order and refusals as `eigSym`; only the lower triangle is read.
 *
 * @example
 * const { values, first } = eigSymFirst(new Float64Array([2, 1, 1, 2]), 2) // [1, 3], [√½, √½]
 */
export const eigSymFirst = (A: Float64Array, m: number): { readonly values: Float64Array; readonly first: Float64Array } => {
  const { W, k } = scaledSymmetric(A, m, 'eigSymFirst')
  if (m === 0) return { values: new Float64Array(0), first: new Float64Array(0) }
  const d = new Float64Array(m), e = new Float64Array(m)
  tridiagonalize(W, m, d, e, false)
  const z = new Float64Array(m)
  if (m > 0) z[0] = 1
  tridiagonalQL(d, e, z, m, 1)
  const order = sortedOrder(d, m, false)
  const values = new Float64Array(m), first = new Float64Array(m)
  for (let j = 0; j < m; j++) {
    values[j] = ldexp(d[order[j]!]!, -k)
    first[j] = Math.abs(z[order[j]!]!)
  }
  return { values, first }
}

/**
 * The thin singular value decomposition of a rows × cols matrix (row-major), by one-sided
 * Jacobi with QR preconditioning (after Drmač and Veselić). With M = max(rows, cols) and
 * p = min(rows, cols), work on A (or Aᵀ when rows < cols) as M × p:
 *
 * 1. Householder QR with column pivoting, A P = Q R (the largest remaining column
 *    first, the first one on ties);
 * 2. one-sided Jacobi on the columns of Rᵀ (p × p): sweeps rotate every pair (i < j,
 *    row-cyclic order) whose cosine exceeds √p·ε, until a sweep rotates none (at most
 *    80; a random 300 × 300 matrix takes about 12), giving Rᵀ J = Ũ Σ;
 * 3. U = Q J and V = P Ũ (the normalized columns).
 *
 * Singular values come out descending (ties in index order). A singular vector of the
 * smaller side (V when rows ≥ cols, else U) whose singular value is zero, or below 2⁻⁹⁶⁰
 * times the largest entry (where its column has lost its precision), is completed to
 * an orthonormal basis deterministically (by a Householder QR of the other vectors).
 * Accuracy, measured on random 300 × 300: ‖A − U S Vᵀ‖ ≈ 1e-14·‖A‖, the normalized side
 * orthonormal to ≈ 4e-15 and the accumulated one (Q J) to ≈ 1.2e-13; in general a small
 * multiple of p·ε·‖A‖ and of (sweeps)·√p·ε. The small singular values keep a relative
 * accuracy ≈ ε·κ(B) when A = B D with D diagonal (graded columns), which
 * bidiagonalization-based SVDs do not.
 *
 * @throws RangeError when rows or cols is not a non-negative integer, `A.length ≠
 * rows·cols`, or an entry is not finite.
 *
 * @example
 * const { s, U, V } = svd(new Float64Array([1, 2, 3, 4, 5, 6]), 2, 3) // s ≈ [9.508, 0.7729]
 */
export const svd = (A: Float64Array, rows: number, cols: number): Svd => {
  checkSize(rows, 'rows')
  checkSize(cols, 'cols')
  if (A.length !== rows * cols) throw new RangeError(`svd: A has length ${A.length}, expected rows·cols = ${rows * cols}`)
  let big = 0
  for (let i = 0; i < A.length; i++) {
    const a = A[i]!
    if (!Number.isFinite(a)) throw new RangeError(`svd: A[${Math.floor(i / cols)}][${i % cols}] = ${a} is not finite`)
    const b = Math.abs(a)
    if (b > big) big = b
  }
  const p = Math.min(rows, cols)
  if (p === 0) return { s: new Float64Array(0), U: new Float64Array(0), V: new Float64Array(0) }
  const k = big === 0 ? 0 : scaleExponent(big)
  const wide = rows < cols
  const M = wide ? cols : rows // the length of the vectors Jacobi orthogonalizes
  const N = p //                  how many there are
  // W: N contiguous vectors of length M, the columns of A (or of Aᵀ), scaled.
  const W = new Float64Array(N * M)
  if (wide) for (let i = 0; i < A.length; i++) W[i] = ldexp(A[i]!, k)
  else for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) W[j * M + i] = ldexp(A[i * cols + j]!, k)
  // A P = Q R (Householder with column pivoting), then one-sided Jacobi on X = Rᵀ:
  // X J = Ũ Σ, so that R = J Σ Ũᵀ and A = (Q J) Σ (P Ũ)ᵀ.
  const perm = Int32Array.from({ length: N }, (_, j) => j)
  const tau = new Float64Array(N), rdiag = new Float64Array(N)
  pivotedQR(W, M, N, perm, tau, rdiag)
  const X = new Float64Array(N * N) // column i of Rᵀ = row i of R
  for (let i = 0; i < N; i++) {
    X[i * N + i] = rdiag[i]!
    for (let j = i + 1; j < N; j++) X[i * N + j] = W[j * M + i]!
  }
  const J = new Float64Array(N * N) // the accumulated rotations, by columns
  for (let j = 0; j < N; j++) J[j * N + j] = 1
  jacobiSweeps(X, J, N, N)
  const sig = new Float64Array(N)
  for (let j = 0; j < N; j++) sig[j] = nrm2(X, j * N, N)
  const order = sortedOrder(sig, N, true)
  // Left (length M): Q J. Right (length N): P Ũ, the normalized columns of X J,
  // deficient ones completed below.
  const L = new Float64Array(N * M), R = new Float64Array(N * N)
  const good: number[] = [], bad: number[] = []
  const s = new Float64Array(N)
  const x = new Float64Array(M)
  for (let j = 0; j < N; j++) {
    const src = order[j]!
    const sj = sig[src]!
    s[j] = ldexp(sj, -k)
    x.fill(0)
    for (let i = 0; i < N; i++) x[i] = J[src * N + i]!
    applyQ(W, M, N, tau, x)
    L.set(x, j * M)
    if (sj > TINY_COLUMN) {
      const inv = 1 / sj
      for (let i = 0; i < N; i++) R[j * N + perm[i]!] = X[src * N + i]! * inv
      good.push(j)
    } else bad.push(j)
  }
  if (bad.length > 0) complete(R, N, good, bad)
  // A = U S Vᵀ: for rows ≥ cols, U = L and V = R; for rows < cols, Aᵀ = L S Rᵀ.
  const Uv = wide ? R : L, Vv = wide ? L : R // contiguous columns of U and of V
  const U = new Float64Array(rows * p), V = new Float64Array(cols * p)
  for (let j = 0; j < p; j++) {
    const sg = signOfLargest(Vv, j * cols, cols)
    for (let i = 0; i < rows; i++) U[i * p + j] = sg * Uv[j * rows + i]!
    for (let i = 0; i < cols; i++) V[i * p + j] = sg * Vv[j * cols + i]!
  }
  return { s, U, V }
}

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

const EPS = 2 ** -52
/** Below this (in units of the largest entry) a Jacobi column is not normalized but completed. */
const TINY_COLUMN = 2 ** -960

const checkSize = (n: number, name: string): void => {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} = ${n} is not a non-negative integer`)
}

/**
 * Checks A (m × m, the lower triangle finite) and returns it symmetric in full storage,
 * scaled by 2ᵏ to a largest entry in [½, 1), with k.
 */
const scaledSymmetric = (A: Float64Array, m: number, who: string): { W: Float64Array; k: number } => {
  checkSize(m, 'm')
  if (A.length !== m * m) throw new RangeError(`${who}: A has length ${A.length}, expected m² = ${m * m}`)
  let big = 0
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      const a = A[i * m + j]!
      if (!Number.isFinite(a)) throw new RangeError(`${who}: A[${i}][${j}] = ${a} is not finite`)
      const b = Math.abs(a)
      if (b > big) big = b
    }
  }
  const k = big === 0 ? 0 : scaleExponent(big)
  const W = new Float64Array(m * m)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      const a = ldexp(A[i * m + j]!, k)
      W[i * m + j] = a
      W[j * m + i] = a
    }
  }
  return { W, k }
}

/** x·2ᵏ, exact whenever the result is a normal number (two steps when 2ᵏ alone would overflow). */
const ldexp = (x: number, k: number): number => {
  if (k > 1000 || k < -1000) {
    const h = Math.trunc(k / 2)
    return x * 2 ** h * 2 ** (k - h)
  }
  return x * 2 ** k
}

/** The k with x·2ᵏ in [½, 1), for finite x > 0. */
const scaleExponent = (x: number): number => {
  let k = -Math.floor(Math.log2(x)) - 1
  while (ldexp(x, k) >= 1) k--
  while (ldexp(x, k) < 0.5) k++
  return k
}

/** The 2-norm of W[from .. m−1][col] (column `col` of the m × m W from row `from`), robust to underflow. */
const columnNorm = (W: Float64Array, m: number, col: number, from: number): number => {
  let s = 0
  for (let i = from; i < m; i++) { const x = W[i * m + col]!; s += x * x }
  if (s > 2 ** -960) return Math.sqrt(s)
  let big = 0
  for (let i = from; i < m; i++) { const x = Math.abs(W[i * m + col]!); if (x > big) big = x }
  if (big === 0) return 0
  const k = scaleExponent(big)
  s = 0
  for (let i = from; i < m; i++) { const x = ldexp(W[i * m + col]!, k); s += x * x }
  return ldexp(Math.sqrt(s), -k)
}

/** √(a² + b²) without overflow or underflow; faster than `Math.hypot` in V8. */
const hypot = (a: number, b: number): number => {
  const s = a * a + b * b
  if (s > 2 ** -960 && s < 2 ** 960) return Math.sqrt(s)
  const x = Math.abs(a), y = Math.abs(b)
  const big = x > y ? x : y, small = x > y ? y : x
  if (big === 0 || big === Infinity) return big
  const q = small / big
  return big * Math.sqrt(1 + q * q)
}

/** The 2-norm of a[off .. off+n), without overflow or harmful underflow. */
const nrm2 = (a: Float64Array, off: number, n: number): number => {
  let s = 0
  for (let i = 0; i < n; i++) { const x = a[off + i]!; s += x * x }
  if (s > 2 ** -900 && s < 2 ** 900) return Math.sqrt(s)
  let big = 0
  for (let i = 0; i < n; i++) { const x = Math.abs(a[off + i]!); if (x > big) big = x }
  if (big === 0) return 0
  const k = scaleExponent(big)
  s = 0
  for (let i = 0; i < n; i++) { const x = ldexp(a[off + i]!, k); s += x * x }
  return ldexp(Math.sqrt(s), -k)
}

/** +1 or −1: the sign that makes the largest-magnitude entry of a[off .. off+n) (first on ties) positive. */
const signOfLargest = (a: Float64Array, off: number, n: number): number => {
  let best = -1, at = 0
  for (let i = 0; i < n; i++) {
    const x = Math.abs(a[off + i]!)
    if (x > best) { best = x; at = i }
  }
  return a[off + at]! < 0 ? -1 : 1
}

/** The indices 0..n-1 sorted by x (ascending, or descending), ties in index order. */
const sortedOrder = (x: Float64Array, n: number, descending: boolean): Int32Array => {
  const idx = Array.from({ length: n }, (_, i) => i)
  idx.sort((a, b) => {
    const d = descending ? x[b]! - x[a]! : x[a]! - x[b]!
    return d !== 0 ? d : a - b
  })
  return Int32Array.from(idx)
}

/**
 * Householder reduction of the symmetric W (full storage, overwritten: it is scratch) to
 * tridiagonal T = Qᵀ W Q: the diagonal into d, the superdiagonal into e[0 .. m−2]
 * (e[m−1] = 0). Returns Qᵀ (row i is column i of Q), the start of the eigenvectors,
 * when asked to accumulate it (else an empty array). Q leaves the first coordinate
 * alone: Q e₀ = e₀.
 */
const tridiagonalize = (W: Float64Array, m: number, d: Float64Array, e: Float64Array, accumulate: boolean): Float64Array => {
  const tau = new Float64Array(m)
  const p = new Float64Array(m)
  for (let k = 0; k + 2 < m; k++) {
    // x = W[k+1 .. m−1][k]; reflector H = I − τ v vᵀ with H x = β e₁, v₀ = 1.
    const alpha = W[(k + 1) * m + k]!
    const xn = columnNorm(W, m, k, k + 2)
    if (xn === 0) { tau[k] = 0; e[k] = alpha; continue }
    const beta = alpha >= 0 ? -hypot(alpha, xn) : hypot(alpha, xn)
    const t = (beta - alpha) / beta
    tau[k] = t
    e[k] = beta
    const inv = 1 / (alpha - beta)
    W[(k + 1) * m + k] = 1
    for (let i = k + 2; i < m; i++) W[i * m + k] = W[i * m + k]! * inv
    // p = τ A₂₂ v over the trailing block rows/cols k+1 .. m−1 (v in column k).
    let pv = 0
    for (let i = k + 1; i < m; i++) {
      let acc = 0
      const row = i * m
      for (let j = k + 1; j < m; j++) acc += W[row + j]! * W[j * m + k]!
      p[i] = t * acc
      pv += p[i]! * W[i * m + k]!
    }
    // w = p − (τ/2)(pᵀv) v; A₂₂ ← A₂₂ − v wᵀ − w vᵀ.
    const h = 0.5 * t * pv
    for (let i = k + 1; i < m; i++) p[i] = p[i]! - h * W[i * m + k]!
    for (let i = k + 1; i < m; i++) {
      const vi = W[i * m + k]!, wi = p[i]!
      const row = i * m
      for (let j = k + 1; j < m; j++) W[row + j] = W[row + j]! - vi * p[j]! - wi * W[j * m + k]!
    }
  }
  if (m >= 2) e[m - 2] = W[(m - 1) * m + (m - 2)]!
  e[m - 1] = 0
  for (let i = 0; i < m; i++) d[i] = W[i * m + i]!
  if (!accumulate) return new Float64Array(0)
  // Q = H₀ H₁ ⋯ H_{m−3}, accumulated backwards; each Hₖ acts on rows and cols k+1 ...
  const Q = new Float64Array(m * m)
  for (let i = 0; i < m; i++) Q[i * m + i] = 1
  for (let k = m - 3; k >= 0; k--) {
    const t = tau[k]!
    if (t === 0) continue
    // Q[k+1.., k+1..] −= τ v (vᵀ Q[k+1.., k+1..])
    for (let j = k + 1; j < m; j++) {
      let acc = 0
      for (let i = k + 1; i < m; i++) acc += W[i * m + k]! * Q[i * m + j]!
      p[j] = t * acc
    }
    for (let i = k + 1; i < m; i++) {
      const vi = W[i * m + k]!
      const row = i * m
      for (let j = k + 1; j < m; j++) Q[row + j] = Q[row + j]! - vi * p[j]!
    }
  }
  const Qt = new Float64Array(m * m)
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) Qt[j * m + i] = Q[i * m + j]!
  return Qt
}

/**
 * The implicit QL iteration with Wilkinson shifts on the tridiagonal (d, e), e[i]
 * coupling i and i+1; the rotations are applied to the rows of Zt (m rows of `width`
 * entries: the eigenvectors, transposed, or some of their components). On return d
 * holds the eigenvalues (unsorted) and row i of Zt the eigenvector of d[i].
 */
const tridiagonalQL = (d: Float64Array, e: Float64Array, Zt: Float64Array, m: number, width: number): void => {
  for (let l = 0; l < m; l++) {
    for (let iter = 0; iter < 60; iter++) {
      let mm = l
      while (mm < m - 1) {
        const ae = Math.abs(e[mm]!)
        if (ae <= EPS * (Math.abs(d[mm]!) + Math.abs(d[mm + 1]!)) || ae < 2 ** -1000) break
        mm++
      }
      if (mm === l) break
      // The shift: the eigenvalue of the leading 2 × 2 block nearer d[l].
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!)
      let r = hypot(g, 1)
      g = d[mm]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r))
      let s = 1, c = 1, p = 0
      let i = mm - 1
      let underflow = false
      for (; i >= l; i--) {
        const f = s * e[i]!, b = c * e[i]!
        r = hypot(f, g)
        e[i + 1] = r
        if (r === 0) { d[i + 1] = d[i + 1]! - p; e[mm] = 0; underflow = true; break }
        s = f / r
        c = g / r
        g = d[i + 1]! - p
        r = (d[i]! - g) * s + 2 * c * b
        p = s * r
        d[i + 1] = g + p
        g = c * r - b
        const ri = i * width, rj = (i + 1) * width
        for (let q = 0; q < width; q++) {
          const zi = Zt[ri + q]!, zj = Zt[rj + q]!
          Zt[rj + q] = s * zi + c * zj
          Zt[ri + q] = c * zi - s * zj
        }
      }
      if (underflow) continue
      d[l] = d[l]! - p
      e[l] = g
      e[mm] = 0
    }
  }
}

/**
 * Householder QR with column pivoting of the N contiguous columns (length M ≥ N) of W,
 * in place: at step c the remaining column of largest norm (the first on ties) is
 * swapped to position c (recorded in `perm`), then reflected to R[c][c] = rdiag[c].
 * On return row c of R right of the diagonal is W[j][c] (j > c), and the reflector's
 * vector v (v_c = 1) is W[c][c+1 ..], with factor tau[c].
 */
const pivotedQR = (W: Float64Array, M: number, N: number, perm: Int32Array, tau: Float64Array, rdiag: Float64Array): void => {
  const part = new Float64Array(N), orig = new Float64Array(N)
  const partial = (o: number, from: number): number => {
    let s = 0
    for (let i = from; i < M; i++) { const v = W[o + i]!; s += v * v }
    return s
  }
  for (let j = 0; j < N; j++) { part[j] = partial(j * M, 0); orig[j] = part[j]! }
  for (let c = 0; c < N; c++) {
    let pv = c
    for (let j = c + 1; j < N; j++) if (part[j]! > part[pv]!) pv = j
    if (pv !== c) {
      for (let i = 0; i < M; i++) { const tmp = W[c * M + i]!; W[c * M + i] = W[pv * M + i]!; W[pv * M + i] = tmp }
      const tp = perm[c]!; perm[c] = perm[pv]!; perm[pv] = tp
      part[pv] = part[c]!; orig[pv] = orig[c]!
    }
    const oc = c * M
    const alpha = W[oc + c]!
    const xn = nrm2(W, oc + c + 1, M - c - 1)
    if (xn === 0) { tau[c] = 0; rdiag[c] = alpha } else {
      const beta = alpha >= 0 ? -hypot(alpha, xn) : hypot(alpha, xn)
      const t = (beta - alpha) / beta
      tau[c] = t
      rdiag[c] = beta
      const inv = 1 / (alpha - beta)
      for (let i = c + 1; i < M; i++) W[oc + i] = W[oc + i]! * inv
      W[oc + c] = 1
      for (let j = c + 1; j < N; j++) {
        const oj = j * M
        let acc = 0
        for (let i = c; i < M; i++) acc += W[oc + i]! * W[oj + i]!
        acc *= t
        for (let i = c; i < M; i++) W[oj + i] = W[oj + i]! - acc * W[oc + i]!
      }
    }
    // Downdate the remaining norms; recompute one that lost more than 8 of its 16 digits.
    for (let j = c + 1; j < N; j++) {
      const r = W[j * M + c]!
      const left = part[j]! - r * r
      if (left > 1e-8 * orig[j]!) part[j] = left
      else { part[j] = partial(j * M, c + 1); orig[j] = part[j]! }
    }
  }
}

/** x ← Q x for the Q = H₀ H₁ ⋯ H_{N−1} stored by `pivotedQR` (x of length M). */
const applyQ = (W: Float64Array, M: number, N: number, tau: Float64Array, x: Float64Array): void => {
  for (let c = N - 1; c >= 0; c--) {
    const t = tau[c]!
    if (t === 0) continue
    const oc = c * M
    let acc = x[c]! // v_c = 1
    for (let i = c + 1; i < M; i++) acc += W[oc + i]! * x[i]!
    acc *= t
    x[c] = x[c]! - acc
    for (let i = c + 1; i < M; i++) x[i] = x[i]! - acc * W[oc + i]!
  }
}

/**
 * One-sided Jacobi: rotates pairs of the N vectors of W (each of length M) until all are
 * mutually orthogonal to √M·ε relative to their norms, applying the same rotations to
 * the N vectors of Vt (length N).
 */
const jacobiSweeps = (W: Float64Array, Vt: Float64Array, M: number, N: number): void => {
  const tol = Math.sqrt(M) * EPS
  // Squared column norms: recomputed at every sweep and after a rotation that shrank a
  // column by more than half (where the update formula would lose relative accuracy),
  // else updated (a' = a − t·g, b' = b + t·g), so a pair costs one dot product, not three.
  const nrm = new Float64Array(N)
  const sq = (o: number): number => { let s = 0; for (let q = 0; q < M; q++) { const x = W[o + q]!; s += x * x } return s }
  for (let sweep = 0; sweep < 80; sweep++) {
    let rotated = false
    for (let j = 0; j < N; j++) nrm[j] = sq(j * M)
    for (let i = 0; i + 1 < N; i++) {
      const oi = i * M
      for (let j = i + 1; j < N; j++) {
        const oj = j * M
        const a = nrm[i]!, b = nrm[j]!
        let g0 = 0, g1 = 0
        let q = 0
        for (; q + 1 < M; q += 2) { g0 += W[oi + q]! * W[oj + q]!; g1 += W[oi + q + 1]! * W[oj + q + 1]! }
        if (q < M) g0 += W[oi + q]! * W[oj + q]!
        const g = g0 + g1
        if (g === 0 || Math.abs(g) <= tol * Math.sqrt(a) * Math.sqrt(b)) continue
        rotated = true
        const zeta = (b - a) / (2 * g)
        const az = Math.abs(zeta)
        const t = az > 1e150 ? 0.5 / zeta : (zeta >= 0 ? 1 : -1) / (az + Math.sqrt(1 + zeta * zeta))
        const c = 1 / Math.sqrt(1 + t * t), s = c * t
        for (let q = 0; q < M; q++) {
          const x = W[oi + q]!, y = W[oj + q]!
          W[oi + q] = c * x - s * y
          W[oj + q] = s * x + c * y
        }
        const vi = i * N, vj = j * N
        for (let q = 0; q < N; q++) {
          const x = Vt[vi + q]!, y = Vt[vj + q]!
          Vt[vi + q] = c * x - s * y
          Vt[vj + q] = s * x + c * y
        }
        const a2 = a - t * g, b2 = b + t * g
        nrm[i] = a2 >= 0.5 * a ? a2 : sq(oi)
        nrm[j] = b2 >= 0.5 * b ? b2 : sq(oj)
      }
    }
    if (!rotated) return
  }
}

/**
 * Fills the vectors `bad` of L (each of length M) with an orthonormal basis of a
 * complement of the span of the vectors `good`: a Householder QR of the good ones, whose
 * Q applied to the next unit vectors gives vectors orthogonal to them and to each other.
 */
const complete = (L: Float64Array, M: number, good: ReadonlyArray<number>, bad: ReadonlyArray<number>): void => {
  const q = good.length
  const G = new Float64Array(q * M)
  for (let c = 0; c < q; c++) for (let i = 0; i < M; i++) G[c * M + i] = L[good[c]! * M + i]!
  const tau = new Float64Array(q)
  for (let c = 0; c < q; c++) {
    const off = c * M
    const alpha = G[off + c]!
    let xs = 0
    for (let i = c + 1; i < M; i++) xs += G[off + i]! ** 2
    if (xs === 0) { tau[c] = 0; continue }
    const beta = alpha >= 0 ? -Math.sqrt(alpha * alpha + xs) : Math.sqrt(alpha * alpha + xs)
    tau[c] = (beta - alpha) / beta
    const inv = 1 / (alpha - beta)
    G[off + c] = 1
    for (let i = c + 1; i < M; i++) G[off + i] = G[off + i]! * inv
    for (let c2 = c + 1; c2 < q; c2++) {
      const o2 = c2 * M
      let acc = 0
      for (let i = c; i < M; i++) acc += G[off + i]! * G[o2 + i]!
      acc *= tau[c]!
      for (let i = c; i < M; i++) G[o2 + i] = G[o2 + i]! - acc * G[off + i]!
    }
  }
  for (let t = 0; t < bad.length; t++) {
    const x = new Float64Array(M)
    x[q + t] = 1
    for (let c = q - 1; c >= 0; c--) {
      const off = c * M
      let acc = 0
      for (let i = c; i < M; i++) acc += G[off + i]! * x[i]!
      acc *= tau[c]!
      for (let i = c; i < M; i++) x[i] = x[i]! - acc * G[off + i]!
    }
    L.set(x, bad[t]! * M)
  }
}
