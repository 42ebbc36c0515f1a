/**
 * Dense symmetric positive semidefinite factorization: Cholesky with symmetric diagonal
 * pivoting (largest remaining diagonal first, as LAPACK's `dpstrf`), so that the factor
 * reveals the rank,
 *
 *     Πᵀ A Π = L Lᵀ,   L lower trapezoidal m × r,   Π the permutation of `order`,
 *
 * with minimum-norm least-squares solves when r < m, evidence of negative curvature when A
 * is indefinite, and O(m²) updates as an index enters or leaves (the working face of an
 * active-set method). `gramFactor` gives the same kind of factor for a Gram matrix Y Yᵀ,
 * computed from Y so that its rank is decided on norms rather than on their squares.
 *
 * Speed: the factorization is left-looking (Crout), one column of L per step, each entry
 * a contiguous dot product of two rows of L with the pivot row's loads shared by two
 * rows; m = 1000 takes about 0.2 s on one core of the development machine
 * (`bench/kkt.ts`).
 *
 * Tolerances. `scale` is the largest |Aᵢⱼ| of the lower triangle (the largest diagonal
 * entry when A is PSD). The factorization takes pivots while the largest remaining Schur
 * diagonal exceeds `pivotTol · scale` (default `pivotTol = max(1e-13, 20·m·ε)`); the
 * remaining Schur complement is then treated as zero, so the factor is that of the PSD
 * matrix B Bᵀ (B = Π L) within about `pivotTol · scale` of A. When that remaining Schur
 * complement has a direction of curvature below `−pivotTol · scale` (a negative diagonal
 * entry, or a 2 × 2 principal block with a negative eigenvalue), A is indefinite and the
 * factor carries a unit direction d with dᵀ A d < 0 computed from A itself.
 *
 * Interfaces are pure: every function allocates its outputs and never writes into its
 * arguments, and a factor is never modified after it is returned. Inputs must be finite.
 *
 * @since 0.1.0
 */

import { pivotedCholesky } from './simd.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A unit direction (2-norm 1, in A's own coordinates) along which A curves downwards:
 * `curvature = directionᵀ A direction < 0`, computed directly from A.
 *
 * @example
 * const f = cholesky(new Float64Array([1, 2, 2, 1]), 2)
 * f.negative?.curvature // < 0: [[1, 2], [2, 1]] has the eigenvalue −1
 */
export interface NegativeCurvature {
  readonly direction: Float64Array
  readonly curvature: number
}

/**
 * Options of {@link cholesky}. `pivotTol` is relative to `scale` (default
 * `max(1e-13, 20·m·ε)`). With `pivot: false` the given order is kept while the pivots stay
 * above the tolerance; at the first pivot that does not, the factorization pivots from
 * there on (so a singular A still gets a rank-revealing factor).
 *
 * @example
 * cholesky(A, m, { pivot: false, pivotTol: 1e-12 })
 */
export interface CholeskyOptions {
  readonly pivotTol?: number
  readonly pivot?: boolean
}

/**
 * @internal The data of the minimum-norm solve when `rank < m`: with L = [L₁₁; L₂₁] and
 * T = L₂₁ L₁₁⁻¹ ((m − r) × r, row-major), `C` is the lower Cholesky factor (r × r) of
 * I + Tᵀ T (whose eigenvalues are ≥ 1, so it needs no pivoting); {@link halfSolve} uses
 * them.
 *
 * @example
 * cholesky(A, m).completion?.T // present when the rank is below m
 */
export interface MinNormCompletion {
  readonly T: Float64Array
  readonly C: Float64Array
}

/**
 * A pivoted Cholesky factor of an m × m symmetric matrix A.
 *
 * - `order[p]` is the index of A at position p; `L` is m × m row-major in position
 *   coordinates (row p is position p), lower trapezoidal: columns ≥ `rank` are zero and the
 *   leading `rank × rank` block is lower triangular with positive diagonal.
 * - `A` is the factor's own symmetric copy of the matrix (both triangles, A's
 *   coordinates), kept for the updates and for the curvature of `negative`.
 * - `negative` is present when A was found indefinite.
 *
 * @example
 * const f = cholesky(A, m)
 * f.rank === m && f.negative === undefined // A positive definite (to the tolerance)
 */
export interface CholeskyFactor {
  readonly m: number
  readonly rank: number
  readonly order: Int32Array
  readonly L: Float64Array
  readonly A: Float64Array
  readonly scale: number
  readonly pivotTol: number
  readonly options: CholeskyOptions
  readonly negative?: NegativeCurvature
  readonly completion?: MinNormCompletion
}

/**
 * The summary of a factor: `rank` pivots were taken, `nullity = m − rank` indices were
 * not (zero curvature, or negative when `negative`).
 *
 * @example
 * inertia(cholesky(new Float64Array([1, 0, 0, 0]), 2)) // { rank: 1, nullity: 1, negative: false }
 */
export interface Inertia {
  readonly rank: number
  readonly nullity: number
  readonly negative: boolean
}

// -------------------------------------------------------------------------------------
// internals: kernels
// -------------------------------------------------------------------------------------

const EPS = 2.220446049250313e-16

/** Σₖ a[ia + k] b[ib + k] for k < n, four partial sums. */
const dotAt = (a: Float64Array, ia: number, b: Float64Array, ib: number, n: number): number => {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, k = 0
  const n4 = n - 3
  for (; k < n4; k += 4) {
    s0 += a[ia + k]! * b[ib + k]!
    s1 += a[ia + k + 1]! * b[ib + k + 1]!
    s2 += a[ia + k + 2]! * b[ib + k + 2]!
    s3 += a[ia + k + 3]! * b[ib + k + 3]!
  }
  let s = (s0 + s2) + (s1 + s3)
  for (; k < n; k++) s += a[ia + k]! * b[ib + k]!
  return s
}

/** The default relative pivot tolerance for dimension m. */
const defaultTol = (m: number): number => Math.max(1e-13, 20 * m * EPS)

/** The full symmetric copy of the lower triangle of A (m × m, row-major) and max |Aᵢⱼ|. */
const symmetricCopy = (A: Float64Array, m: number): { readonly S: Float64Array; readonly scale: number } => {
  const S = new Float64Array(m * m)
  let scale = 0
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      const v = A[i * m + j]!
      S[i * m + j] = v
      S[j * m + i] = v
      const a = Math.abs(v)
      if (a > scale) scale = a
    }
  }
  return { S, scale }
}

/**
 * The factorization loop on a full symmetric S (not written): left-looking, one column of
 * L per step, each entry a contiguous dot product of two rows of L (`pivotedCholesky` of
 * simd.ts: the WebAssembly kernel for large m, bitwise its JavaScript loop). Returns L (stride
 * m), the order, the Schur diagonal of the positions not pivoted, and the rank.
 */
const factorKernel = pivotedCholesky

/** Solves L₁₁ y = b in place on y (forward, rows of L with stride `ld`). */
const forwardInPlace = (L: Float64Array, ld: number, r: number, y: Float64Array): void => {
  for (let p = 0; p < r; p++) y[p] = (y[p]! - dotAt(L, p * ld, y, 0, p)) / L[p * ld + p]!
}

/** Solves L₁₁ᵀ y = b in place on y (backward, as axpys along rows of L). */
const backwardInPlace = (L: Float64Array, ld: number, r: number, y: Float64Array): void => {
  for (let p = r - 1; p >= 0; p--) {
    const rp = p * ld
    const v = y[p]! / L[rp + p]!
    y[p] = v
    if (v !== 0) for (let q = 0; q < p; q++) y[q] = y[q]! - v * L[rp + q]!
  }
}

/** The minimum-norm completion for a factor of rank r < m (r > 0). */
const completionOf = (L: Float64Array, m: number, r: number): MinNormCompletion => {
  const s = m - r
  const T = new Float64Array(s * r)
  const C = new Float64Array(r * r)
  for (let p = 0; p < r; p++) C[p * r + p] = 1
  const t = new Float64Array(r)
  for (let a = 0; a < s; a++) {
    const ra = (r + a) * m
    for (let q = 0; q < r; q++) t[q] = L[ra + q]!
    backwardInPlace(L, m, r, t) // tᵀ = L₁₁⁻ᵀ ℓₐᵀ, i.e. t = ℓₐ L₁₁⁻¹
    T.set(t, a * r)
    for (let p = 0; p < r; p++) {
      const tp = t[p]!
      if (tp === 0) continue
      const rp = p * r
      for (let q = 0; q <= p; q++) C[rp + q] = C[rp + q]! + tp * t[q]!
    }
  }
  for (let p = 0; p < r; p++) for (let q = 0; q < p; q++) C[q * r + p] = C[p * r + q]!
  return { T, C: factorKernel(C, r, false, 0).L }
}

/** ‖v‖₂ without overflow or underflow (scaled by max |vᵢ|). */
const norm2 = (v: Float64Array): number => {
  let mx = 0
  for (const x of v) { const a = Math.abs(x); if (a > mx) mx = a }
  if (mx === 0) return 0
  let s = 0
  for (const x of v) { const y = x / mx; s += y * y }
  return mx * Math.sqrt(s)
}

/** vᵀ S v for the full symmetric S. */
const quadratic = (S: Float64Array, m: number, v: Float64Array): number => {
  let q = 0
  for (let i = 0; i < m; i++) if (v[i] !== 0) q += v[i]! * dotAt(S, i * m, v, 0, m)
  return q
}

/**
 * The direction y = Π [−L₁₁⁻ᵀ L₂₁ᵀ u; u] for u on the positions ≥ r (given as sparse
 * (position, weight) pairs), normalised, with its curvature from S; undefined unless that
 * curvature is negative.
 */
const directionFrom = (
  S: Float64Array, L: Float64Array, order: Int32Array, m: number, r: number,
  u: ReadonlyArray<readonly [number, number]>
): NegativeCurvature | undefined => {
  const w = new Float64Array(r)
  for (const [a, ua] of u) for (let q = 0; q < r; q++) w[q] = w[q]! + ua * L[a * m + q]!
  backwardInPlace(L, m, r, w)
  const dir = new Float64Array(m)
  for (let p = 0; p < r; p++) dir[order[p]!] = -w[p]!
  for (const [a, ua] of u) dir[order[a]!] = ua
  const n = norm2(dir)
  if (!(n > 0) || !Number.isFinite(n)) return undefined
  for (let i = 0; i < m; i++) dir[i] = dir[i]! / n
  const curvature = quadratic(S, m, dir)
  return curvature < 0 ? { direction: dir, curvature } : undefined
}

/**
 * Negative curvature of the Schur complement left after r pivots: its most negative
 * diagonal entry, else its 2 × 2 principal block with the most negative eigenvalue, when
 * below −thresh.
 */
const negativeOf = (
  S: Float64Array, L: Float64Array, order: Int32Array, d: Float64Array, m: number, r: number, thresh: number
): NegativeCurvature | undefined => {
  let amin = -1, dmin = Infinity
  for (let a = r; a < m; a++) if (d[a]! < dmin) { dmin = d[a]!; amin = a }
  if (amin >= 0 && dmin < -thresh) return directionFrom(S, L, order, m, r, [[amin, 1]])
  let best = -thresh, pair: ReadonlyArray<readonly [number, number]> | undefined
  for (let a = r; a < m; a++) {
    const sa = order[a]! * m, ra = a * m, daa = d[a]!
    for (let b = a + 1; b < m; b++) {
      const beta = S[sa + order[b]!]! - dotAt(L, ra, L, b * m, r)
      if (beta === 0) continue
      const dbb = d[b]!
      const h = 0.5 * (daa - dbb)
      const rad = Math.hypot(h, beta)
      const lambda = 0.5 * (daa + dbb) - rad
      if (lambda < best) {
        best = lambda
        // eigenvector of [[daa, beta], [beta, dbb]] for lambda, the better-scaled form
        const v1: readonly [number, number] = [beta, lambda - daa]
        const v2: readonly [number, number] = [lambda - dbb, beta]
        const v = Math.abs(v1[0]) + Math.abs(v1[1]) >= Math.abs(v2[0]) + Math.abs(v2[1]) ? v1 : v2
        pair = [[a, v[0]], [b, v[1]]]
      }
    }
  }
  return pair === undefined ? undefined : directionFrom(S, L, order, m, r, pair)
}

/** A factor from a full symmetric S it may keep (S is not written). */
const build = (S: Float64Array, m: number, scale: number, options: CholeskyOptions): CholeskyFactor => {
  const pivotTol = options.pivotTol ?? defaultTol(m)
  const thresh = pivotTol * scale
  const { L, order, d, rank } = factorKernel(S, m, options.pivot ?? true, thresh)
  return assemble(S, m, scale, pivotTol, options, L, order, rank, rank < m ? negativeOf(S, L, order, d, m, rank, thresh) : undefined)
}

const assemble = (
  S: Float64Array, m: number, scale: number, pivotTol: number, options: CholeskyOptions,
  L: Float64Array, order: Int32Array, rank: number, negative: NegativeCurvature | undefined
): CholeskyFactor => {
  const base = { m, rank, order, L, A: S, scale, pivotTol, options }
  const completion = rank < m && rank > 0 ? completionOf(L, m, rank) : undefined
  return {
    ...base,
    ...(negative === undefined ? {} : { negative }),
    ...(completion === undefined ? {} : { completion })
  }
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * The pivoted Cholesky factor of the m × m symmetric A (row-major; only the lower
 * triangle is read; A is not written). O(m³/3) flops, plus O((m − r)² r) to look for
 * negative curvature when the rank r is below m, plus O(m r²) for the minimum-norm data.
 *
 * @example
 * const f = cholesky(new Float64Array([4, 2, 2, 3]), 2)
 * f.rank // 2
 */
export const cholesky = (A: Float64Array, m: number, options: CholeskyOptions = {}): CholeskyFactor => {
  if (A.length < m * m) throw new RangeError(`cholesky: expected ${m * m} entries, got ${A.length}`)
  const { S, scale } = symmetricCopy(A, m)
  return build(S, m, scale, options)
}

/**
 * {@link cholesky} of a matrix given in full and exactly symmetric (Sᵢⱼ = Sⱼᵢ for every
 * pair), which the factor keeps as its stored copy instead of copying it: the caller must
 * never write S afterwards. The same factor as `cholesky(S, m, options)`, bitwise, one
 * m² pass cheaper.
 *
 * @example
 * const f = choleskySymmetric(new Float64Array([4, 2, 2, 3]), 2) // S is f.A from now on
 */
export const choleskySymmetric = (S: Float64Array, m: number, options: CholeskyOptions = {}): CholeskyFactor => {
  if (S.length < m * m) throw new RangeError(`choleskySymmetric: expected ${m * m} entries, got ${S.length}`)
  let scale = 0
  for (let i = 0, mm = m * m; i < mm; i++) { const a = Math.abs(S[i]!); if (a > scale) scale = a }
  return build(S.length === m * m ? S : S.slice(0, m * m), m, scale, options)
}

/**
 * Options of {@link gramFactor}: a row is dropped when its part orthogonal to the rows
 * already taken is at most `rowTol` times its own norm (default 1e-10).
 *
 * @example
 * gramFactor(Y, k, n, { rowTol: 1e-10 })
 */
export interface GramOptions {
  readonly rowTol?: number
}

/**
 * The pivoted Cholesky factor of the Gram matrix S = Y Yᵀ of the k rows of Y (k × n,
 * row-major; Y is not written), computed from Y itself: modified Gram-Schmidt with
 * reorthogonalization (each remaining row is orthogonalized twice against each new
 * direction) and pivoting on the largest remaining relative norm ‖vₗ‖/‖yₗ‖. The factor
 * is L = Rᵀ of the QR factorization Yᵀ Π = Q R, so the rank is decided on norms, not on
 * their squares: nearly dependent rows whose relative distance to the others is above
 * `rowTol` are kept (a Cholesky of S would drop them below about √pivotTol ≈ 3e-7), and
 * the decision does not depend on how the rows are scaled. Costs O(k² n). The stored copy
 * of S is formed (O(k² n)) for the updates, which work on S like those of
 * {@link cholesky} (default options).
 *
 * @example
 * gramFactor(new Float64Array([1, 0, 1, 0]), 2, 2).rank // 1: the two rows are equal
 */
export const gramFactor = (Y: Float64Array, k: number, n: number, options: GramOptions = {}): CholeskyFactor => {
  if (Y.length < k * n) throw new RangeError(`gramFactor: expected ${k * n} entries, got ${Y.length}`)
  const tau = options.rowTol ?? 1e-10
  const V = Y.slice(0, k * n)
  const norm0 = new Float64Array(k)
  for (let l = 0; l < k; l++) norm0[l] = norm2(V.subarray(l * n, l * n + n))
  const order = new Int32Array(k)
  for (let l = 0; l < k; l++) order[l] = l
  const L = new Float64Array(k * k)
  let rank = 0
  for (let q = 0; q < k; q++) {
    let best = -1, bestRatio = tau
    for (let p = q; p < k; p++) {
      const l = order[p]!
      if (!(norm0[l]! > 0)) continue
      const ratio = norm2(V.subarray(l * n, l * n + n)) / norm0[l]!
      if (ratio > bestRatio) { bestRatio = ratio; best = p }
    }
    if (best < 0) break
    if (best !== q) {
      const o = order[q]!; order[q] = order[best]!; order[best] = o
      for (let c = 0; c < q; c++) { const v = L[q * k + c]!; L[q * k + c] = L[best * k + c]!; L[best * k + c] = v }
    }
    const lq = order[q]! * n
    const nv = norm2(V.subarray(lq, lq + n))
    L[q * k + q] = nv
    for (let i = 0; i < n; i++) V[lq + i] = V[lq + i]! / nv
    for (let p = q + 1; p < k; p++) {
      const lp = order[p]! * n
      let coef = 0
      for (let pass = 0; pass < 2; pass++) {
        const c = dotAt(V, lq, V, lp, n)
        if (c === 0) continue
        for (let i = 0; i < n; i++) V[lp + i] = V[lp + i]! - c * V[lq + i]!
        coef += c
      }
      L[p * k + q] = coef
    }
    rank = q + 1
  }
  const S = new Float64Array(k * k)
  let scale = 0
  for (let a = 0; a < k; a++) {
    for (let b = 0; b <= a; b++) {
      const v = dotAt(Y, a * n, Y, b * n, n)
      S[a * k + b] = v
      S[b * k + a] = v
      if (Math.abs(v) > scale) scale = Math.abs(v)
    }
  }
  return assemble(S, k, scale, defaultTol(k), {}, L, order, rank, undefined)
}

// -------------------------------------------------------------------------------------
// combinators
// -------------------------------------------------------------------------------------

/**
 * The half solve y = Fᵀ b of the symmetric splitting A⁺ = F Fᵀ (A⁻¹ when the rank is m),
 * where, with the factor's permutation Π and L = [L₁₁; L₂₁],
 *
 * - rank m: F = Π L⁻ᵀ, so y = L⁻¹ Πᵀ b (length m);
 * - rank r < m: F = Π [I; T] C⁻ᵀ C⁻¹ L₁₁⁻ᵀ with T = L₂₁ L₁₁⁻¹ and C Cᵀ = I + Tᵀ T, so that
 *   F Fᵀ = B (Bᵀ B)⁻² Bᵀ = (B Bᵀ)⁺ for B = Π L (length r).
 *
 * `halfSolveT(f, halfSolve(f, b))` is {@link solveCholesky}; the splitting makes Schur
 * complements E A⁺ Eᵀ = (E F)(E F)ᵀ exactly symmetric.
 *
 * @example
 * const y = halfSolve(f, b) // ‖y‖² = bᵀ A⁺ b
 */
export const halfSolve = (f: CholeskyFactor, b: Float64Array): Float64Array => {
  const y = new Float64Array(f.m)
  halfSolveInto(f, b, y)
  return f.rank === f.m ? y : y.slice(0, f.rank)
}

/**
 * {@link halfSolve} into `y` (length ≥ m, overwritten): the half solve is y's first
 * `rank` entries, the same numbers; the rest is scratch.
 *
 * @example
 * halfSolveInto(f, b, y) // y.subarray(0, f.rank) equals halfSolve(f, b)
 */
export const halfSolveInto = (f: CholeskyFactor, b: Float64Array, y: Float64Array): void => {
  const { m, rank: r, order, L } = f
  for (let p = 0; p < m; p++) y[p] = b[order[p]!]!
  if (r === m) { forwardInPlace(L, m, m, y); return }
  const c = f.completion
  if (c === undefined) return
  // the first r entries take the completion's terms from the last m − r, which stay as read
  for (let a = 0; a < m - r; a++) {
    const ba = y[r + a]!
    if (ba === 0) continue
    const ra = a * r
    for (let q = 0; q < r; q++) y[q] = y[q]! + ba * c.T[ra + q]!
  }
  forwardInPlace(c.C, r, r, y)
  backwardInPlace(c.C, r, r, y)
  forwardInPlace(L, m, r, y)
}

/**
 * The other half: x = F y for the F of {@link halfSolve} (y of length `rank`, x of
 * length m).
 *
 * @example
 * const x = halfSolveT(f, halfSolve(f, b)) // = solveCholesky(f, b)
 */
export const halfSolveT = (f: CholeskyFactor, y: Float64Array): Float64Array => {
  const x = new Float64Array(f.m)
  halfSolveTInto(f, y, x, new Float64Array(f.rank))
  return x
}

/**
 * {@link halfSolveT} into `x` (length m, overwritten with the same numbers), with `w`
 * (length ≥ rank) as scratch.
 *
 * @example
 * halfSolveTInto(f, y, x, w) // x equals halfSolveT(f, y)
 */
export const halfSolveTInto = (f: CholeskyFactor, y: Float64Array, x: Float64Array, w: Float64Array): void => {
  const { m, rank: r, order, L } = f
  for (let p = 0; p < r; p++) w[p] = y[p]!
  backwardInPlace(L, m, r, w)
  const c = f.completion
  if (r < m) x.fill(0, 0, m)
  if (c !== undefined) {
    forwardInPlace(c.C, r, r, w)
    backwardInPlace(c.C, r, r, w)
    for (let a = 0; a < m - r; a++) x[order[r + a]!] = dotAt(c.T, a * r, w, 0, r)
  }
  for (let p = 0; p < r; p++) x[order[p]!] = w[p]!
}

/**
 * Solves A x = b: x = A⁻¹ b when the rank is m, and otherwise the minimum-norm
 * least-squares solution x = (B Bᵀ)⁺ b of the rank-r matrix B Bᵀ the factor represents
 * (B = Π L, within about `pivotTol · scale` of A when A is PSD). The map b ↦ x is linear
 * and symmetric (F Fᵀ, see {@link halfSolve}), so a JVP and a VJP through it are
 * transposes of each other up to rounding. Costs two triangular solves (plus O(m r) when
 * r < m). When `f.negative` is present the factor is not one of A (A is indefinite) and x
 * solves only its PSD part.
 *
 * @example
 * solveCholesky(cholesky(new Float64Array([4, 0, 0, 2]), 2), new Float64Array([4, 2])) // [1, 1]
 */
export const solveCholesky = (f: CholeskyFactor, b: Float64Array): Float64Array => halfSolveT(f, halfSolve(f, b))

/**
 * The factor of A grown by one row and column at the end: `column[i] = A_new[i][m]` for
 * the factor's indices i < m, `column[m]` the new diagonal. The new index is m, at
 * position m. O(m²) when the factor has full rank m and no negative curvature (one
 * triangular solve: the new row of L is L⁻¹ Πᵀ column; a new pivot at or below the
 * tolerance leaves the rank at m, and the factor then solves in the minimum-norm sense,
 * or records the negative curvature when the pivot is below −tolerance). Otherwise, or
 * when the new entries raise `scale` above what an old pivot passes, it refactors from
 * the stored copy of A, O(m³). The old factor is unchanged and may still be used.
 *
 * @example
 * const g = appendIndex(f, new Float64Array([a0m, a1m, amm])) // f of a 2 × 2 matrix
 */
export const appendIndex = (f: CholeskyFactor, column: Float64Array): CholeskyFactor => {
  const { m, order, L } = f
  updatable(f, 'appendIndex')
  if (column.length < m + 1) throw new RangeError(`appendIndex: expected ${m + 1} entries, got ${column.length}`)
  const n = m + 1
  const S = new Float64Array(n * n)
  for (let i = 0; i < m; i++) S.set(f.A.subarray(i * m, i * m + m), i * n)
  let scale = f.scale
  for (let i = 0; i < n; i++) {
    const v = column[i]!
    S[i * n + m] = v
    S[m * n + i] = v
    if (Math.abs(v) > scale) scale = Math.abs(v)
  }
  const pivotTol = f.options.pivotTol ?? defaultTol(n)
  const thresh = pivotTol * scale
  let minPivot = Infinity
  for (let p = 0; p < m; p++) minPivot = Math.min(minPivot, L[p * m + p]!)
  if (f.rank !== m || f.negative !== undefined || !(minPivot * minPivot > thresh)) return build(S, n, scale, f.options)
  const l = new Float64Array(m)
  for (let p = 0; p < m; p++) l[p] = column[order[p]!]!
  forwardInPlace(L, m, m, l)
  const dNew = column[m]! - dotAt(l, 0, l, 0, m)
  const L2 = new Float64Array(n * n)
  for (let p = 0; p < m; p++) L2.set(L.subarray(p * m, p * m + p + 1), p * n)
  L2.set(l, m * n)
  const order2 = new Int32Array(n)
  order2.set(order)
  order2[m] = m
  if (dNew > thresh) {
    L2[m * n + m] = Math.sqrt(dNew)
    return assemble(S, n, scale, pivotTol, f.options, L2, order2, n, undefined)
  }
  const negative = dNew < -thresh ? directionFrom(S, L2, order2, n, m, [[m, 1]]) : undefined
  return assemble(S, n, scale, pivotTol, f.options, L2, order2, m, negative)
}

/**
 * The factor without its copy of A: what the solves (`halfSolve`, `halfSolveT`,
 * `solveCholesky`, the completion) read, for a factor kept only to solve with. A
 * solver that outlives the factorization holds m² numbers fewer (at m = 88 about 62 KB
 * per kept face). `appendIndex` and `removeIndex` refuse it.
 *
 * @example
 * const g = forSolves(cholesky(A, m)) // solveCholesky(g, b) is solveCholesky(f, b)
 */
export const forSolves = (f: CholeskyFactor): CholeskyFactor => (f.A.length === 0 ? f : { ...f, A: new Float64Array(0) })

const updatable = (f: CholeskyFactor, what: string): void => {
  if (f.A.length < f.m * f.m) throw new RangeError(`${what}: the factor was kept for solves only (forSolves)`)
}

/**
 * The factor of A with one index removed, given by its `position` in the factor (the
 * index `f.order[position]`); the indices above it shift down by one. O(m²) when the
 * factor has full rank and no negative curvature: the row is deleted and triangularity
 * restored by Givens rotations on adjacent columns (L ← L G keeps L Lᵀ). Otherwise, or
 * when a rotated pivot falls to the tolerance, it refactors from the stored copy of A,
 * O(m³). The old factor is unchanged and may still be used.
 *
 * @example
 * const g = removeIndex(f, 0) // drops the index f.order[0]
 */
export const removeIndex = (f: CholeskyFactor, position: number): CholeskyFactor => {
  const { m, order, L } = f
  updatable(f, 'removeIndex')
  if (!Number.isInteger(position) || position < 0 || position >= m) {
    throw new RangeError(`removeIndex: position ${position} is not in [0, ${m})`)
  }
  const o = order[position]!
  const n = m - 1
  const S = new Float64Array(n * n)
  let scale = 0
  for (let i = 0, ii = 0; i < m; i++) {
    if (i === o) continue
    for (let j = 0, jj = 0; j < m; j++) {
      if (j === o) continue
      const v = f.A[i * m + j]!
      S[ii * n + jj] = v
      if (Math.abs(v) > scale) scale = Math.abs(v)
      jj++
    }
    ii++
  }
  const order2 = new Int32Array(n)
  for (let p = 0, q = 0; p < m; p++) {
    if (p === position) continue
    const v = order[p]!
    order2[q++] = v > o ? v - 1 : v
  }
  if (f.rank !== m || f.negative !== undefined) return build(S, n, scale, f.options)
  // rows of L without `position`, stride m, then rotate columns (j, j + 1) for j ≥ position
  const W = new Float64Array(n * m)
  for (let p = 0, q = 0; p < m; p++) {
    if (p === position) continue
    W.set(L.subarray(p * m, p * m + p + 1), q * m)
    q++
  }
  for (let j = position; j < n; j++) {
    const a = W[j * m + j]!, b = W[j * m + j + 1]!
    if (b === 0) continue
    const h = Math.hypot(a, b)
    const c = a / h, s = b / h
    for (let i = j; i < n; i++) {
      const ri = i * m
      const u = W[ri + j]!, v = W[ri + j + 1]!
      W[ri + j] = c * u + s * v
      W[ri + j + 1] = c * v - s * u
    }
    W[j * m + j + 1] = 0
  }
  const pivotTol = f.options.pivotTol ?? defaultTol(n)
  const thresh = pivotTol * scale
  const L2 = new Float64Array(n * n)
  for (let p = 0; p < n; p++) {
    const piv = W[p * m + p]!
    if (!(piv * piv > thresh)) return build(S, n, scale, f.options)
    L2.set(W.subarray(p * m, p * m + p + 1), p * n)
  }
  return assemble(S, n, scale, pivotTol, f.options, L2, order2, n, undefined)
}

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

/**
 * How many pivots were taken, how many indices were left, and whether A was found
 * indefinite.
 *
 * @example
 * inertia(cholesky(new Float64Array([1, 2, 2, 1]), 2)) // { rank: 1, nullity: 1, negative: true }
 */
export const inertia = (f: CholeskyFactor): Inertia => ({ rank: f.rank, nullity: f.m - f.rank, negative: f.negative !== undefined })

/**
 * Whether A is positive definite to the tolerance (full rank, no negative curvature).
 *
 * @example
 * isPositiveDefinite(cholesky(new Float64Array([2, 1, 1, 2]), 2)) // true
 */
export const isPositiveDefinite = (f: CholeskyFactor): boolean => f.rank === f.m && f.negative === undefined
