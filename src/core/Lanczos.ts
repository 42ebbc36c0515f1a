/**
 * The largest singular values and vectors of a matrix, dense or known only through its
 * products, by Golub–Kahan–Lanczos bidiagonalization with full reorthogonalization and
 * thick restarts. It is the linear minimization oracle of the nuclear-norm ball:
 * argmin over ‖X‖_* ≤ t of ⟨G, X⟩ is −t·u₁v₁ᵀ, with u₁, v₁ the top singular pair of G.
 *
 * The recurrence builds orthonormal bases V (right) and U (left) with A V = U B and
 * Aᵀ U = V Bᵀ + v₊ fᵀ, B small and upper triangular (bidiagonal between restarts). The
 * singular triplets (σ, x, y) of B give Ritz triplets (σ, U x, V y) whose residuals are
 * ‖A V y − σ U x‖ = 0 and ‖Aᵀ U x − σ V y‖ = |fᵀ x|. Every new basis vector is
 * orthogonalized against the whole basis twice (a third time if the second pass still
 * cancelled), so the bases stay orthonormal to working precision. When the basis reaches
 * its cap it is cut back to the best Ritz vectors (a thick restart: no information in
 * them is lost) and the recurrence continues.
 *
 * The test after each step needs only the top Ritz values and the last components of
 * B's left singular vectors: the eigenvalues and last eigenvector components of B Bᵀ
 * (`eigSymFirst`, O(k³/3)), whose σ is accurate relative to σ₁. The Ritz vectors
 * themselves come from the Jacobi svd of B, only at a restart or at the end, where the
 * residuals are computed again by products and decide convergence.
 *
 * @since 0.1.0
 */
import { svd, eigSymFirst, type Svd } from './Eigen.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A dense rows × cols matrix, row-major.
 *
 * @example
 * const A: DenseMatrix = { rows: 2, cols: 3, data: new Float64Array([1, 2, 3, 4, 5, 6]) }
 */
export interface DenseMatrix {
  readonly rows: number
  readonly cols: number
  readonly data: Float64Array
}

/**
 * A rows × cols matrix known through its products. `apply(v, out)` must write A v into
 * `out` (length rows) and `applyT(u, out)` Aᵀ u into `out` (length cols); `out` arrives
 * zero-filled, and neither may keep or write to its input vector. The two must be exact
 * transposes of each other (up to rounding), or the results are meaningless.
 *
 * @example
 * const op: MatrixFreeOperator = {
 *   rows: 2, cols: 2,
 *   apply: (v, out) => { out[0] = 3 * v[0]!; out[1] = v[1]! },
 *   applyT: (u, out) => { out[0] = 3 * u[0]!; out[1] = u[1]! }
 * }
 */
export interface MatrixFreeOperator {
  readonly rows: number
  readonly cols: number
  readonly apply: (v: Float64Array, out: Float64Array) => void
  readonly applyT: (u: Float64Array, out: Float64Array) => void
}

/**
 * Either form of matrix.
 *
 * @example
 * topSingularPair({ rows: 1, cols: 1, data: new Float64Array([-2]) }).sigma // 2
 */
export type SvdOperator = DenseMatrix | MatrixFreeOperator

/**
 * Options of `topSingularPair` and `topSingularTriplets`.
 *
 * @example
 * const opts: LanczosOptions = { tolerance: 1e-8, start: { v: previous.v } }
 */
export interface LanczosOptions {
  /**
   * Stop when every wanted triplet has max(‖A v − σ u‖, ‖Aᵀ u − σ v‖) ≤ tolerance·σ₁.
   * Default 1e-10. Rounding puts a floor near 1e-15·√p; below it the run ends at
   * `maxIterations` with `converged: false`.
   */
  readonly tolerance?: number
  /** The most Lanczos steps (one product with A and one with Aᵀ each). Default 1000. */
  readonly maxIterations?: number
  /** The largest basis before a restart. Default min(p, max(20, 3r + 10)), p = min(rows, cols). */
  readonly basis?: number
  /**
   * A warm start: a right vector `v` (length cols) or a left vector `u` (length rows),
   * typically the previous pair of a matrix that moved a little. `v` is used when both
   * are given; `u` costs one more product (v = Aᵀ u). A zero vector means no warm start.
   * The fixed pseudo-random start is mixed in at weight max(√tolerance, 1e-8): alone, a
   * warm start can lie in an invariant subspace that misses σ₁ (for diag(1, 2) from e₁
   * the recurrence would stop at σ = 1 with residual 0). The mixture cannot stop on a
   * smaller σ unless all the singular values it meets are within about
   * √tolerance·σ₁ of it; the price is a few steps (from the exact previous pair, 15
   * steps where a cold start takes 23, on a random 40 × 30 matrix).
   */
  readonly start?: { readonly u?: Float64Array; readonly v?: Float64Array }
}

/**
 * The top singular triplet and how it was reached.
 *
 * @example
 * const { sigma, u, v, iterations, residual, converged } = topSingularPair(A)
 */
export interface SingularPair {
  /** σ₁ = ‖A‖₂. */
  readonly sigma: number
  /** The left singular vector (length rows, unit). */
  readonly u: Float64Array
  /** The right singular vector (length cols, unit), its largest-magnitude entry positive. */
  readonly v: Float64Array
  /** Lanczos steps taken. */
  readonly iterations: number
  /** max(‖A v − σ u‖, ‖Aᵀ u − σ v‖), computed with two products at the end. */
  readonly residual: number
  /** Whether residual ≤ tolerance·σ. */
  readonly converged: boolean
}

/**
 * The r largest singular triplets and how they were reached.
 *
 * @example
 * const { sigma, U, V } = topSingularTriplets(A, 3) // sigma descending, U rows×3, V cols×3
 */
export interface SingularTriplets {
  /** σ₁ ≥ … ≥ σ_r. */
  readonly sigma: Float64Array
  /** rows × r row-major, orthonormal columns. */
  readonly U: Float64Array
  /** cols × r row-major, orthonormal columns, each with its largest-magnitude entry positive. */
  readonly V: Float64Array
  /** Per triplet: max(‖A vᵢ − σᵢ uᵢ‖, ‖Aᵀ uᵢ − σᵢ vᵢ‖). */
  readonly residuals: Float64Array
  /** The largest of `residuals`. */
  readonly residual: number
  /** Lanczos steps taken. */
  readonly iterations: number
  /** Whether every residual is ≤ tolerance·σ₁. */
  readonly converged: boolean
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * The largest singular value of A and a pair of unit singular vectors, by thick-restarted
 * Golub–Kahan–Lanczos bidiagonalization (see the module note and `LanczosOptions`).
 *
 * - Start: the warm start if given (mixed with the fixed start, see `LanczosOptions`),
 *   else a fixed pseudo-random unit vector (the same on every call), so the run is
 *   deterministic. Like every Krylov method it certifies a singular triplet by its
 *   residual, not that it is the largest: with these starts a smaller one is returned
 *   only when the start is (numerically) orthogonal to the top singular vectors.
 * - Accuracy: on return with `converged`, the residual is ≤ tolerance·σ (default 1e-10),
 *   which makes σ accurate to residual²/gap (in practice to rounding) and the vectors
 *   accurate to an angle of about residual/(σ₁ − σ₂).
 * - Near ties σ₁ ≈ σ₂: σ and the residual are still right, but u and v are then any
 *   pair in the span of the tied singular vectors to within residual/(σ₁ − σ₂), and
 *   which one is returned can change with a tiny change of A or of the start.
 * - The zero matrix: σ = 0, residual 0, v the start vector (a warm one after the
 *   mixing) and u a fixed pseudo-random unit vector. A rank-one matrix converges in
 *   two steps.
 * - Rows < cols: the recurrence runs on Aᵀ (so its basis lives on the smaller side).
 * - Dense input with entries beyond 2^±500 is scaled by a power of two (exactly) first.
 *
 * @throws RangeError on bad sizes or options, a non-finite dense entry, or a non-finite
 * product of a matrix-free operator.
 *
 * @example
 * const A = { rows: 2, cols: 2, data: new Float64Array([3, 0, 0, 1]) }
 * topSingularPair(A) // { sigma: 3, u: [±1, 0], v: [1, 0], converged: true, … }
 * topSingularPair(A2, { start: { v: previous.v } }) // warm start: fewer iterations
 */
export const topSingularPair = (op: SvdOperator, options: LanczosOptions = {}): SingularPair => {
  const rows = op.rows, cols = op.cols
  checkSize(rows, 'rows')
  checkSize(cols, 'cols')
  if (Math.min(rows, cols) === 0) {
    return { sigma: 0, u: unitStart(rows), v: unitStart(cols), iterations: 0, residual: 0, converged: true }
  }
  const t = topSingularTriplets(op, 1, options)
  return { sigma: t.sigma[0]!, u: t.U, v: t.V, iterations: t.iterations, residual: t.residual, converged: t.converged }
}

/**
 * The r largest singular triplets (1 ≤ r ≤ min(rows, cols)), by the same recurrence as
 * `topSingularPair`; it stops when all r residuals are ≤ tolerance·σ₁. The smaller
 * singular values are then accurate to about residual²/gap + rounding relative to σ₁,
 * not to themselves.
 *
 * @throws RangeError as `topSingularPair`, and when r is out of range.
 *
 * @example
 * const { sigma } = topSingularTriplets({ rows: 3, cols: 3, data: diag }, 2) // the two largest
 */
export const topSingularTriplets = (op: SvdOperator, r: number, options: LanczosOptions = {}): SingularTriplets => {
  const rows = op.rows, cols = op.cols
  checkSize(rows, 'rows')
  checkSize(cols, 'cols')
  const p = Math.min(rows, cols)
  if (!Number.isInteger(r) || r < 1 || r > p) throw new RangeError(`topSingularTriplets: r = ${r} is not in 1 … min(rows, cols) = ${p}`)
  const tol = options.tolerance ?? 1e-10
  if (!(tol >= 0)) throw new RangeError(`tolerance = ${tol} is not ≥ 0`)
  const maxIt = options.maxIterations ?? 1000
  if (!Number.isInteger(maxIt) || maxIt < 1) throw new RangeError(`maxIterations = ${maxIt} is not an integer ≥ 1`)
  const cap = options.basis ?? Math.min(p, Math.max(20, 3 * r + 10))
  if (!Number.isInteger(cap) || cap < Math.min(p, r + 1) || cap > p) {
    throw new RangeError(`basis = ${cap} is not an integer in ${Math.min(p, r + 1)} … ${p}`)
  }
  const su = options.start?.u, sv = options.start?.v
  if (su !== undefined && su.length !== rows) throw new RangeError(`start.u has length ${su.length}, expected rows = ${rows}`)
  if (sv !== undefined && sv.length !== cols) throw new RangeError(`start.v has length ${sv.length}, expected cols = ${cols}`)
  const ex = toOp(op)
  // The recurrence's side: the v side is the smaller one (n ≤ m).
  const wide = rows < cols
  const op2: Op = wide ? { m: cols, n: rows, A: ex.At, At: ex.A } : { m: rows, n: cols, A: ex.A, At: ex.At }
  const startV = wide ? su : sv, startU = wide ? sv : su
  const res = lanczos(op2, r, tol, maxIt, cap, startV, startU)
  // Back to A's sides; σ back to A's scale.
  const L = wide ? res.V : res.U, R = wide ? res.U : res.V
  const sigma = new Float64Array(r), residuals = new Float64Array(r)
  const U = new Float64Array(rows * r), V = new Float64Array(cols * r)
  for (let i = 0; i < r; i++) {
    sigma[i] = ldexp(res.sigma[i]!, -ex.k)
    residuals[i] = ldexp(res.residuals[i]!, -ex.k)
    const sg = signOfLargest(R, i * cols, cols)
    for (let q = 0; q < rows; q++) U[q * r + i] = sg * L[i * rows + q]!
    for (let q = 0; q < cols; q++) V[q * r + i] = sg * R[i * cols + q]!
  }
  let worst = 0
  for (let i = 0; i < r; i++) worst = Math.max(worst, residuals[i]!)
  return { sigma, U, V, residuals, residual: worst, iterations: res.iterations, converged: res.converged }
}

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

/** The operator the recurrence sees: m × n with n ≤ m, products into zero-filled buffers. */
interface Op {
  readonly m: number
  readonly n: number
  readonly A: (v: Float64Array, out: Float64Array) => void
  readonly At: (u: Float64Array, out: Float64Array) => void
}

interface Result {
  /** r vectors of length m, contiguous. */
  readonly U: Float64Array
  /** r vectors of length n, contiguous. */
  readonly V: Float64Array
  readonly sigma: Float64Array
  readonly residuals: Float64Array
  readonly iterations: number
  readonly converged: boolean
}

const checkSize = (n: number, name: string): void => {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} = ${n} is not a non-negative integer`)
}

/** x·2ᵏ, exact whenever the result is a normal number. */
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

/** The products of the user's operator (dense: scaled by 2ᵏ when its entries are extreme). */
const toOp = (op: SvdOperator): { A: Op['A']; At: Op['At']; k: number } => {
  const rows = op.rows, cols = op.cols
  if ('data' in op) {
    const a0 = op.data
    if (a0.length !== rows * cols) throw new RangeError(`data has length ${a0.length}, expected rows·cols = ${rows * cols}`)
    let big = 0
    for (let i = 0; i < a0.length; i++) {
      const x = a0[i]!
      if (!Number.isFinite(x)) throw new RangeError(`data[${Math.floor(i / cols)}][${i % cols}] = ${x} is not finite`)
      const b = Math.abs(x)
      if (b > big) big = b
    }
    let a = a0, k = 0
    if (big > 0 && (big > 2 ** 500 || big < 2 ** -500)) {
      k = scaleExponent(big)
      a = new Float64Array(a0.length)
      for (let i = 0; i < a.length; i++) a[i] = ldexp(a0[i]!, k)
    }
    const A = (v: Float64Array, out: Float64Array): void => {
      for (let i = 0; i < rows; i++) {
        const o = i * cols
        let s0 = 0, s1 = 0
        let j = 0
        for (; j + 1 < cols; j += 2) { s0 += a[o + j]! * v[j]!; s1 += a[o + j + 1]! * v[j + 1]! }
        if (j < cols) s0 += a[o + j]! * v[j]!
        out[i] = s0 + s1
      }
    }
    const At = (u: Float64Array, out: Float64Array): void => {
      for (let i = 0; i < rows; i++) {
        const o = i * cols, ui = u[i]!
        if (ui === 0) continue
        for (let j = 0; j < cols; j++) out[j] = out[j]! + a[o + j]! * ui
      }
    }
    return { A, At, k }
  }
  return { A: op.apply, At: op.applyT, k: 0 }
}

/** A deterministic pseudo-random stream (mulberry32), uniform in (−1, 1). */
const stream = (seed: number): (() => number) => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return 2 * (((t ^ (t >>> 14)) >>> 0) / 4294967296) - 1
  }
}

/** The default start: a fixed pseudo-random unit vector of length n. */
const unitStart = (n: number): Float64Array => {
  const x = new Float64Array(n)
  const next = stream(0x9e3779b9)
  for (let i = 0; i < n; i++) x[i] = next()
  const s = nrm2(x, 0, n)
  for (let i = 0; i < n; i++) x[i] = x[i]! / s
  return x
}

/** The 2-norm of a[off .. off+n), without overflow or harmful underflow. */
const nrm2 = (a: Float64Array, off: number, n: number): number => {
  let s = 0
  for (let i = 0; i < n; i++) { const x = a[off + i]!; s += x * x }
  if (s > 2 ** -900 && s < 2 ** 900) return Math.sqrt(s)
  if (!Number.isFinite(s) && s !== Infinity) return s
  let big = 0
  for (let i = 0; i < n; i++) { const x = Math.abs(a[off + i]!); if (x > big) big = x }
  if (big === 0 || !Number.isFinite(big)) return big
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

const finite = (x: number): number => {
  if (!Number.isFinite(x)) throw new RangeError('the operator returned a non-finite product')
  return x
}

/**
 * Orthogonalizes x (length len) against the first `count` vectors of `basis`
 * (contiguous, orthonormal) by classical Gram–Schmidt, twice, and a third time if the
 * second pass still cancelled more than half of what was left. Adds the coefficients
 * into `coef` (when given). Returns the norm of what is left, or −1 when x is
 * numerically in the span (it cancelled in every pass, or to zero).
 */
const orthogonalize = (
  x: Float64Array, basis: Float64Array, count: number, len: number, coef: Float64Array | undefined, h: Float64Array
): number => {
  let before = finite(nrm2(x, 0, len))
  if (before === 0) return -1
  if (count === 0) return before
  for (let pass = 0; pass < 3; pass++) {
    for (let i = 0; i < count; i++) {
      const o = i * len
      let s = 0
      for (let q = 0; q < len; q++) s += basis[o + q]! * x[q]!
      h[i] = s
    }
    for (let i = 0; i < count; i++) {
      const o = i * len, hi = h[i]!
      if (coef !== undefined) coef[i] = coef[i]! + hi
      for (let q = 0; q < len; q++) x[q] = x[q]! - hi * basis[o + q]!
    }
    const after = nrm2(x, 0, len)
    if (after === 0) return -1
    if (pass >= 1 && after > 0.5 * before) return after
    before = after
  }
  return -1
}

/**
 * A fresh unit vector orthogonal to the first `count` vectors of `basis` (count < len),
 * from the deterministic stream; written into `into` at `off`.
 */
const fresh = (
  basis: Float64Array, count: number, len: number, next: () => number, into: Float64Array, off: number, h: Float64Array
): void => {
  const x = new Float64Array(len)
  for (let attempt = 0; ; attempt++) {
    for (let q = 0; q < len; q++) x[q] = next()
    if (attempt > 8) { x.fill(0); x[(attempt - 9) % len] = 1 }
    const nx = orthogonalize(x, basis, count, len, undefined, h)
    if (nx > 0) {
      for (let q = 0; q < len; q++) into[off + q] = x[q]! / nx
      return
    }
  }
}

/** The recurrence, on an m × n operator with n ≤ m (see the module note). */
const lanczos = (
  op: Op, r: number, tol: number, maxIt: number, cap: number,
  startV: Float64Array | undefined, startU: Float64Array | undefined
): Result => {
  const { m, n } = op
  const next = stream(0x85ebca6b)
  const V = new Float64Array((cap + 1) * n) // v₀ … v_k, contiguous
  const U = new Float64Array(cap * m) //       u₀ … u_{k−1}
  const B = new Float64Array(cap * cap) //     B[i·cap + j], upper triangular
  const f = new Float64Array(cap) //           Aᵀ U = V Bᵀ + v_k fᵀ
  const h = new Float64Array(cap + 1)
  const p = new Float64Array(m), q = new Float64Array(n)
  const coef = new Float64Array(cap)
  // The start vector v₀.
  let v0: Float64Array | undefined
  if (startV !== undefined) v0 = Float64Array.from(startV)
  else if (startU !== undefined) { v0 = new Float64Array(n); op.At(startU, v0) }
  let nv0 = v0 === undefined ? 0 : finite(nrm2(v0, 0, n))
  if (v0 === undefined || nv0 === 0) { v0 = unitStart(n); nv0 = 1 } else {
    // A warm start gets the fixed pseudo-random start mixed in at weight max(√tol, 1e-8):
    // alone it could lie in an invariant subspace that misses σ₁ (a structured matrix
    // whose top singular vector moved to a coordinate orthogonal to the old one), where
    // the recurrence would converge, with a true small residual, to a smaller σ.
    const w = Math.max(Math.sqrt(tol), 1e-8), r0 = unitStart(n)
    for (let i = 0; i < n; i++) v0[i] = v0[i]! / nv0 + w * r0[i]!
    nv0 = nrm2(v0, 0, n)
  }
  for (let i = 0; i < n; i++) V[i] = v0[i]! / nv0
  let k = 0, iterations = 0
  let norm = 0 // the largest Ritz value so far, a lower bound on ‖A‖
  for (;;) {
    // One step: u_k from v_k, then v_{k+1}.
    const vk = V.subarray(k * n, (k + 1) * n)
    p.fill(0)
    op.A(vk, p)
    iterations++
    coef.fill(0)
    let alpha = orthogonalize(p, U, k, m, coef, h)
    if (alpha < 0 || alpha <= 2 ** -1000 * norm) { alpha = 0; fresh(U, k, m, next, U, k * m, h) }
    else for (let i = 0; i < m; i++) U[k * m + i] = p[i]! / alpha
    for (let i = 0; i < k; i++) B[i * cap + k] = coef[i]!
    B[k * cap + k] = alpha
    const uk = U.subarray(k * m, (k + 1) * m)
    q.fill(0)
    op.At(uk, q)
    for (let i = 0; i < n; i++) q[i] = q[i]! - alpha * vk[i]!
    let beta = orthogonalize(q, V, k + 1, n, undefined, h)
    const exhausted = k + 1 === n
    if (exhausted || beta < 0 || beta <= 2 ** -1000 * Math.max(norm, alpha)) {
      beta = 0
      if (!exhausted) fresh(V, k + 1, n, next, V, (k + 1) * n, h)
    } else for (let i = 0; i < n; i++) V[(k + 1) * n + i] = q[i]! / beta
    f.fill(0)
    f[k] = beta
    k++
    // The convergence test, cheaply: the eigenvalues λᵢ of B Bᵀ give the Ritz values
    // σᵢ = √λᵢ, and the last components of its eigenvectors (the left singular vectors xᵢ
    // of B) the residual estimates |fᵀ xᵢ| = β·|xᵢ[k−1]|, f being β e_{k−1} here. That is
    // eigSymFirst of B Bᵀ with the coordinates reversed, O(k³/3 + k²) instead of a
    // Jacobi svd of B, which is computed only to finish or to restart.
    const Bk = new Float64Array(k * k)
    for (let i = 0; i < k; i++) for (let j = i; j < k; j++) Bk[i * k + j] = B[i * cap + j]!
    const G = new Float64Array(k * k) // G[a][b] = (B Bᵀ)[k−1−a][k−1−b], lower triangle
    for (let i = 0; i < k; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0
        for (let l = i; l < k; l++) s += Bk[i * k + l]! * Bk[j * k + l]!
        G[(k - 1 - j) * k + (k - 1 - i)] = s
      }
    }
    const eg = eigSymFirst(G, k)
    const top = Math.sqrt(Math.max(0, eg.values[k - 1]!))
    norm = Math.max(norm, top)
    let ok = k >= r
    for (let i = 0; i < r && ok; i++) if (beta * eg.first[k - 1 - i]! > tol * top) ok = false
    let bs: Svd | undefined
    if ((ok || exhausted || iterations >= maxIt) && k >= r) {
      bs = svd(Bk, k, k)
      const out = ritz(op, U, V, bs, k, r, m, n)
      const conv = out.residuals.every((x) => x <= tol * out.sigma[0]!)
      if (conv || exhausted || iterations >= maxIt) return { ...out, iterations, converged: conv }
    }
    if (k === cap) {
      // Thick restart: keep the best ℓ Ritz vectors and the residual direction v_k.
      bs ??= svd(Bk, k, k) // X = bs.U, Y = bs.V, descending
      const l = Math.max(r, Math.min(cap - 1, Math.ceil(cap / 2)))
      const nV = new Float64Array(l * n), nU = new Float64Array(l * m), nf = new Float64Array(l)
      for (let i = 0; i < l; i++) {
        for (let j = 0; j < k; j++) {
          const y = bs.V[j * k + i]!, x = bs.U[j * k + i]!
          if (y !== 0) for (let t = 0; t < n; t++) nV[i * n + t] = nV[i * n + t]! + y * V[j * n + t]!
          if (x !== 0) for (let t = 0; t < m; t++) nU[i * m + t] = nU[i * m + t]! + x * U[j * m + t]!
          nf[i] = nf[i]! + f[j]! * x
        }
      }
      V.copyWithin(l * n, k * n, (k + 1) * n)
      V.set(nV, 0)
      U.set(nU, 0)
      B.fill(0)
      f.fill(0)
      for (let i = 0; i < l; i++) { B[i * cap + i] = bs.s[i]!; f[i] = nf[i]! }
      k = l
    }
  }
}

/** The first r Ritz triplets of the k-step bases, with their residuals computed by products. */
const ritz = (
  op: Op, U: Float64Array, V: Float64Array, bs: Svd,
  k: number, r: number, m: number, n: number
): { U: Float64Array; V: Float64Array; sigma: Float64Array; residuals: Float64Array } => {
  const RU = new Float64Array(r * m), RV = new Float64Array(r * n)
  const sigma = new Float64Array(r), residuals = new Float64Array(r)
  const p = new Float64Array(m), q = new Float64Array(n)
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < k; j++) {
      const x = bs.U[j * k + i]!, y = bs.V[j * k + i]!
      for (let t = 0; t < m; t++) RU[i * m + t] = RU[i * m + t]! + x * U[j * m + t]!
      for (let t = 0; t < n; t++) RV[i * n + t] = RV[i * n + t]! + y * V[j * n + t]!
    }
    const s = bs.s[i]!
    sigma[i] = s
    const ui = RU.subarray(i * m, (i + 1) * m), vi = RV.subarray(i * n, (i + 1) * n)
    p.fill(0)
    op.A(vi, p)
    for (let t = 0; t < m; t++) p[t] = p[t]! - s * ui[t]!
    q.fill(0)
    op.At(ui, q)
    for (let t = 0; t < n; t++) q[t] = q[t]! - s * vi[t]!
    residuals[i] = finite(Math.max(nrm2(p, 0, m), nrm2(q, 0, n)))
  }
  return { U: RU, V: RV, sigma, residuals }
}
