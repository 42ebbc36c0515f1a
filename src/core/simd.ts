/**
 * The dense matrix-vector kernels: y = A x and y = Aᵀ x for a row-major n × n matrix,
 * one vector at a time or a batch of them (Y = X Aᵀ, Y = X A), in WebAssembly SIMD
 * (f64x2) with plain-JavaScript fallbacks that compute the same floating-point
 * operations in the same order, so the two are bitwise equal and a result never depends
 * on which one ran, on how the rows were blocked, or on how many vectors were in a batch.
 *
 * - y = A x (`gemvLanes`) sums row i with eight partial sums, s_l over the columns
 *   j ≡ l (mod 8) of the first 8⌊n/8⌋ columns, reduced as
 *   ((s₀+s₂)+(s₄+s₆)) + ((s₁+s₃)+(s₅+s₇)), then adds the remaining columns one by one.
 *   That is exactly four f64x2 accumulators (lanes (s₀,s₁), (s₂,s₃), …) summed pairwise
 *   and then across lanes. Every kernel for A x keeps these four accumulators per row
 *   and per vector; they differ only in how many rows (1 or 4) or vectors (1 or 2) share
 *   a pass over the data, and whether a batch goes over A whole or band by band, which
 *   changes the speed and never the result.
 * - y = Aᵀ x (`gemvTLoop`) accumulates y += xᵢ A[i, :] row by row, i ascending. The kernel
 *   takes four rows per pass over y (y_j ← (((y_j + x_i a_ij) + x_{i+1} a_{i+1,j}) + …),
 *   the same additions in the same order).
 * - The pivoted Cholesky factorization (`pivotedCholeskyLoop`, the kernel `chol`) sums each
 *   entry of L with the partial sums the JavaScript loop had (two, or four for the last
 *   row of a column), which are one or two f64x2 accumulators; pivoting, the stopping
 *   test, the square root and the division are the same scalar operations. Cholesky.ts
 *   calls it through `pivotedCholesky` (S copied in, L copied out: from
 *   `CHOLESKY_MIN_M` on).
 * - The residual b − H x in double-double (`ddResidualLoop`, the kernel `ddres`, which
 *   Kkt.ts's precise refinement calls through `ddResidualInto` from `DD_MIN_M` on) runs
 *   Dekker's product and Knuth's sum row by row, j ascending; the kernel takes two rows
 *   per pass, one per lane, the same operations on each.
 * - The exponential (the kernel `exp`, which the batched paper step's softmax calls
 *   through `expInto`) is fdlibm's __ieee754_exp, the code of V8's Math.exp, on f64x2
 *   lanes: the same operations in the same order (baseline SIMD has no fused
 *   multiply-add), fdlibm's branches as lane selects, so each lane is Math.exp's result
 *   bitwise; four entries per pass, finished by a short path when all four are ordinary
 *   (|x| < 708, not x = 1, not 0 < |x| < 2⁻²⁸) and by every branch otherwise.
 *
 * The module is assembled here byte by byte (no toolchain); it imports its memory.
 *
 * ## The resident copies, and when they are refreshed
 * WebAssembly reads only its own memory, so a matrix is copied into it (the "resident
 * copy", kept until the Float64Array is garbage-collected). A copy is only as good as the
 * moment it was taken, so the kernels never trust one across a write the caller may have
 * made:
 * - Inside a call (between {@link beginCall} and {@link endCall}, or the end of the current
 *   synchronous job, whichever comes first) a matrix's copy is brought up to date on its
 *   first product and serves every later product of the call, as do the cached facts about it
 *   (whether it is exactly symmetric). This is the solver's fast path: K iterations reuse
 *   one copy. The inputs must not be written during the call.
 * - Outside a call every product brings the copy up to date again, so a one-shot
 *   `apply`, a power iteration or any other product always sees the array as it is.
 *   Copy and SIMD product together still beat the JavaScript loop (bench/matvec.ts
 *   measures the copy against one product).
 * Up to date means copied again, or, for a matrix of `FOUR_ROWS_BYTES` (16 MiB) or more,
 * compared element by element with `!==` and copied from the first difference on (out of
 * the caches that costs about what a copy does). Symmetry (for Aᵀx as the row product) is
 * found on the copy by the kernel `sym` and kept until the copy's content changes, so an
 * unchanged large matrix is not checked again. `!==` misses only a change of a zero's
 * sign, which no product can see (every sum starts from +0) and the symmetry check
 * ignores too.
 * Vectors are copied in and out per call (O(n) against the O(n²) product).
 *
 * Node ≥ 16.4 and every current browser run wasm SIMD; where it does not validate, the
 * JavaScript loops run (set DFW_NO_SIMD=1 to force that).
 *
 * @since 0.1.0
 */

// -------------------------------------------------------------------------------------
// the plain loops (the reference order)
// -------------------------------------------------------------------------------------

/**
 * y ← A x for row-major m × n A, in the SIMD kernels' summation order (eight partial
 * sums per row, see above). `y` must not alias `x`.
 *
 * @example
 * gemvLanesRect(new Float64Array([1, 2, 3, 4, 5, 6]), 2, 3, new Float64Array([1, 1, 1]), y) // y = [6, 15]
 */
export const gemvLanesRect = (A: Float64Array, m: number, n: number, x: Float64Array, y: Float64Array): void => {
  const n8 = n & ~7
  for (let i = 0, r = 0; i < m; i++, r += n) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0
    let j = 0
    for (; j < n8; j += 8) {
      s0 += A[r + j]! * x[j]!
      s1 += A[r + j + 1]! * x[j + 1]!
      s2 += A[r + j + 2]! * x[j + 2]!
      s3 += A[r + j + 3]! * x[j + 3]!
      s4 += A[r + j + 4]! * x[j + 4]!
      s5 += A[r + j + 5]! * x[j + 5]!
      s6 += A[r + j + 6]! * x[j + 6]!
      s7 += A[r + j + 7]! * x[j + 7]!
    }
    let s = ((s0 + s2) + (s4 + s6)) + ((s1 + s3) + (s5 + s7))
    for (; j < n; j++) s += A[r + j]! * x[j]!
    y[i] = s
  }
}

/**
 * y ← A x for row-major n × n A: {@link gemvLanesRect} with m = n.
 *
 * @example
 * gemvLanes(new Float64Array([1, 2, 3, 4]), 2, new Float64Array([1, 1]), y) // y = [3, 7]
 */
export const gemvLanes = (A: Float64Array, n: number, x: Float64Array, y: Float64Array): void => gemvLanesRect(A, n, n, x, y)

/**
 * y ← the row sums of |A|, yᵢ = Σⱼ |Aᵢⱼ|, for row-major n × n A, in the order of
 * {@link gemvLanes} (|A| times a vector of ones, which the kernels `gemvAbs`/`gemv4Abs`
 * compute bitwise alike). A NaN or ±Infinity entry makes its row's sum non-finite.
 *
 * @example
 * absRowSumsLanes(new Float64Array([1, -2, -3, 4]), 2, y) // y = [3, 7]
 */
export const absRowSumsLanes = (A: Float64Array, n: number, y: Float64Array): void => {
  const n8 = n & ~7
  for (let i = 0, r = 0; i < n; i++, r += n) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0
    let j = 0
    for (; j < n8; j += 8) {
      s0 += Math.abs(A[r + j]!)
      s1 += Math.abs(A[r + j + 1]!)
      s2 += Math.abs(A[r + j + 2]!)
      s3 += Math.abs(A[r + j + 3]!)
      s4 += Math.abs(A[r + j + 4]!)
      s5 += Math.abs(A[r + j + 5]!)
      s6 += Math.abs(A[r + j + 6]!)
      s7 += Math.abs(A[r + j + 7]!)
    }
    let s = ((s0 + s2) + (s4 + s6)) + ((s1 + s3) + (s5 + s7))
    for (; j < n; j++) s += Math.abs(A[r + j]!)
    y[i] = s
  }
}

/**
 * y ← Aᵀ x for row-major m × n A (x of length m, y of length n): y = Σᵢ xᵢ A[i, :],
 * i ascending. `y` must not alias `x`.
 *
 * @example
 * gemvTLoopRect(new Float64Array([1, 2, 3, 4, 5, 6]), 2, 3, new Float64Array([1, 1]), y) // y = [5, 7, 9]
 */
export const gemvTLoopRect = (A: Float64Array, m: number, n: number, x: Float64Array, y: Float64Array): void => {
  y.fill(0, 0, n)
  for (let i = 0, r = 0; i < m; i++, r += n) {
    const xi = x[i]!
    for (let j = 0; j < n; j++) y[j] = y[j]! + A[r + j]! * xi
  }
}

/**
 * y ← Aᵀ x for row-major n × n A: {@link gemvTLoopRect} with m = n.
 *
 * @example
 * gemvTLoop(new Float64Array([1, 2, 3, 4]), 2, new Float64Array([1, 1]), y) // y = [4, 6]
 */
export const gemvTLoop = (A: Float64Array, n: number, x: Float64Array, y: Float64Array): void => gemvTLoopRect(A, n, n, x, y)

/**
 * Y ← X Aᵀ for row-major n × n A and B × n row-major X, Y (row b of Y is A x_b): the
 * batch as B calls of {@link gemvLanes}, so each row is bitwise what a single product
 * gives. `Y` must not alias `X`.
 *
 * @example
 * gemvLanesBatch(new Float64Array([1, 2, 3, 4]), 2, new Float64Array([1, 0, 0, 1]), 2, Y) // Y = [1, 3, 2, 4]
 */
export const gemvLanesBatch = (A: Float64Array, n: number, X: Float64Array, B: number, Y: Float64Array): void => {
  for (let b = 0; b < B; b++) gemvLanes(A, n, X.subarray(b * n, b * n + n), Y.subarray(b * n, b * n + n))
}

/**
 * Y ← X A for row-major n × n A and B × n row-major X, Y (row b of Y is Aᵀ x_b): B calls
 * of {@link gemvTLoop}. `Y` must not alias `X`.
 *
 * @example
 * gemvTLoopBatch(new Float64Array([1, 2, 3, 4]), 2, new Float64Array([1, 0, 0, 1]), 2, Y) // Y = [1, 2, 3, 4]
 */
export const gemvTLoopBatch = (A: Float64Array, n: number, X: Float64Array, B: number, Y: Float64Array): void => {
  for (let b = 0; b < B; b++) gemvTLoop(A, n, X.subarray(b * n, b * n + n), Y.subarray(b * n, b * n + n))
}

/**
 * A pivoted Cholesky factorization Πᵀ S Π = L Lᵀ as {@link pivotedCholesky} returns it:
 * L (m × m row-major, in position coordinates), `order[p]` the index of S at position p,
 * the Schur diagonal `d` of the positions not pivoted, and the rank.
 *
 * @example
 * const { L, order, d, rank } = pivotedCholesky(S, m, true, 1e-13)
 */
export interface PivotedCholesky {
  readonly L: Float64Array
  readonly order: Int32Array
  readonly d: Float64Array
  readonly rank: number
}

/**
 * The factorization of {@link pivotedCholesky}: its JavaScript loop, the reference order
 * the kernel `chol` keeps. On the full symmetric m × m S (row-major, not written),
 * left-looking (Crout), one column j of L per step after the pivot (the position of the
 * largest remaining Schur diagonal, when `pivot` or when d_j does not pass `thresh`;
 * the loop stops at the first pivot that does not pass). Entry L_ij (i > j) is
 * (S[order_j][order_i] − Σₖ L_ik L_jk) / L_jj, the sum over k < j:
 *
 * - rows i taken in pairs (i, i + 1) from j + 1: two partial sums per row, a₀ over even k
 *   and a₁ over odd k of the first 2⌊j/2⌋, the last k (j odd) added to a₀, then a₀ + a₁
 *   (one f64x2 accumulator, lanes (a₀, a₁));
 * - the last row when m − j − 1 is odd: four partial sums s_l over k ≡ l (mod 4) of the
 *   first 4⌊j/4⌋, reduced as (s₀ + s₂) + (s₁ + s₃), then the remaining k one by one
 *   (two accumulators (s₀, s₁), (s₂, s₃)).
 *
 * Returns L (m × m, stride m; zero above the diagonal and in columns ≥ rank), the order,
 * the Schur diagonal d of the positions not pivoted (0 at pivoted ones), and the rank.
 *
 * @example
 * pivotedCholeskyLoop(new Float64Array([4, 2, 2, 3]), 2, true, 0).rank // 2
 */
export const pivotedCholeskyLoop = (S: Float64Array, m: number, pivot: boolean, thresh: number): PivotedCholesky => {
  const L = new Float64Array(m * m)
  const order = new Int32Array(m)
  const d = new Float64Array(m)
  for (let i = 0; i < m; i++) { order[i] = i; d[i] = S[i * m + i]! }
  let rank = 0
  for (let j = 0; j < m; j++) {
    let p = j
    if (pivot || !(d[j]! > thresh)) {
      let best = d[j]!
      for (let i = j + 1; i < m; i++) if (d[i]! > best) { best = d[i]!; p = i }
    }
    if (!(d[p]! > thresh)) break
    if (p !== j) {
      const o = order[j]!; order[j] = order[p]!; order[p] = o
      const t = d[j]!; d[j] = d[p]!; d[p] = t
      const rj = j * m, rp = p * m
      for (let k = 0; k < j; k++) { const v = L[rj + k]!; L[rj + k] = L[rp + k]!; L[rp + k] = v }
    }
    const ljj = Math.sqrt(d[j]!)
    const rj = j * m
    L[rj + j] = ljj
    d[j] = 0
    const inv = 1 / ljj
    const sj = order[j]! * m
    let i = j + 1
    for (; i + 1 < m; i += 2) {
      // two rows against row j, sharing its loads
      const ri = i * m, rk = ri + m
      let a0 = 0, a1 = 0, b0 = 0, b1 = 0, k = 0
      for (; k + 1 < j; k += 2) {
        const l0 = L[rj + k]!, l1 = L[rj + k + 1]!
        a0 += L[ri + k]! * l0; a1 += L[ri + k + 1]! * l1
        b0 += L[rk + k]! * l0; b1 += L[rk + k + 1]! * l1
      }
      if (k < j) { const l0 = L[rj + k]!; a0 += L[ri + k]! * l0; b0 += L[rk + k]! * l0 }
      const v = (S[sj + order[i]!]! - (a0 + a1)) * inv
      const w = (S[sj + order[i + 1]!]! - (b0 + b1)) * inv
      L[ri + j] = v; L[rk + j] = w
      d[i] = d[i]! - v * v; d[i + 1] = d[i + 1]! - w * w
    }
    if (i < m) {
      const ri = i * m
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, k = 0
      for (; k + 3 < j; k += 4) {
        s0 += L[ri + k]! * L[rj + k]!
        s1 += L[ri + k + 1]! * L[rj + k + 1]!
        s2 += L[ri + k + 2]! * L[rj + k + 2]!
        s3 += L[ri + k + 3]! * L[rj + k + 3]!
      }
      let s = (s0 + s2) + (s1 + s3)
      for (; k < j; k++) s += L[ri + k]! * L[rj + k]!
      const v = (S[sj + order[i]!]! - s) * inv
      L[ri + j] = v
      d[i] = d[i]! - v * v
    }
    rank = j + 1
  }
  return { L, order, d, rank }
}

/** 2^27 + 1, Dekker's splitting constant. */
const SPLIT = 134217729

/**
 * The residual r = b − H x of the row-major m × m H in double-double: for each row i the
 * running sum hi + lo starts at (bᵢ, 0) and takes the exact products −Hᵢⱼ·xⱼ, j
 * ascending (Dekker's product, then Knuth's sum into hi and lo — the `DDSum` of Kkt.ts,
 * operation by operation), leaving hi in `hi[i]` and lo in `lo[i]`, not rounded, so that
 * the caller can go on adding. The order the kernel `ddres` keeps (each lane of it is
 * one row).
 *
 * @example
 * ddResidualLoop(H, m, x, b, hi, lo) // hi[i] + lo[i] ≈ bᵢ − Σⱼ Hᵢⱼ xⱼ
 */
export const ddResidualLoop = (H: Float64Array, m: number, x: Float64Array, b: Float64Array, hi: Float64Array, lo: Float64Array): void => {
  for (let i = 0; i < m; i++) {
    let h = b[i]!, l = 0
    const o = i * m
    for (let j = 0; j < m; j++) {
      const a = -H[o + j]!, c = x[j]!
      const p = a * c
      const ta = SPLIT * a, ah = ta - (ta - a), al = a - ah
      const tc = SPLIT * c, ch = tc - (tc - c), cl = c - ch
      const e = ((ah * ch - p) + ah * cl + al * ch) + al * cl
      const s = h + p, bb = s - h
      l += (h - (s - bb)) + (p - bb) + e
      h = s
    }
    hi[i] = h
    lo[i] = l
  }
}

// -------------------------------------------------------------------------------------
// the WebAssembly module
// -------------------------------------------------------------------------------------

const uleb = (v: number): number[] => {
  const out: number[] = []
  do {
    let b = v & 0x7f
    v >>>= 7
    if (v !== 0) b |= 0x80
    out.push(b)
  } while (v !== 0)
  return out
}
const str = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))]
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body]
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]

// opcodes
const BLOCK = 0x02, LOOP = 0x03, IF = 0x04, END = 0x0b, BR_IF = 0x0d, RETURN = 0x0f, SELECT = 0x1b, VOID = 0x40
const LGET = 0x20, LSET = 0x21, LTEE = 0x22
const F64_LOAD = 0x2b, F64_STORE = 0x39
const I32_CONST = 0x41, F64_CONST = 0x44
const I32_EQZ = 0x45, I32_LT_U = 0x49, I32_GE_U = 0x4f, F64_NE = 0x62
const I32_ADD = 0x6a, I32_SUB = 0x6b, I32_MUL = 0x6c, I32_AND = 0x71
const F64_ADD = 0xa0, F64_SUB = 0xa1, F64_MUL = 0xa2, F64_DIV = 0xa3, F64_SQRT = 0x9f, F64_GT = 0x64
const I32_NE = 0x47, I32_GT_U = 0x4b, I32_LE_U = 0x4d, I32_OR = 0x72, I32_SHL = 0x74
const I32_LOAD = 0x28, I32_STORE = 0x36
const I32 = 0x7f, F64 = 0x7c, V128 = 0x7b
const simd = (op: number): number[] => [0xfd, ...uleb(op)]
const V128_LOAD = (offset: number): number[] => [...simd(0x00), 3, ...uleb(offset)]
const V128_STORE = (offset: number): number[] => [...simd(0x0b), 3, ...uleb(offset)]
const V128_ZERO = [...simd(0x0c), ...new Array<number>(16).fill(0)]
const F64X2_SPLAT = simd(0x14)
const F64X2_EXTRACT = (lane: number): number[] => [...simd(0x21), lane]
const F64X2_SUB = simd(0xf1), F64X2_NEG = simd(0xed), F64X2_REPLACE = (lane: number): number[] => [...simd(0x22), lane]
const F64X2_ADD = simd(0xf0), F64X2_MUL = simd(0xf2), F64X2_NE = simd(0x48), V128_OR = simd(0x50), V128_ANY_TRUE = simd(0x53)
const F64X2_ABS = simd(0xec), F64_ABS = 0x99
/** i8x16.shuffle picking the given bytes of (a ‖ b). */
const SHUFFLE = (bytes: ReadonlyArray<number>): number[] => [...simd(0x0d), ...bytes]
const LO_LO = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]
const HI_HI = [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31]
const f64load = (offset = 0): number[] => [F64_LOAD, 3, ...uleb(offset)]
const f64store = (offset = 0): number[] => [F64_STORE, 3, ...uleb(offset)]
const i32load = (offset = 0): number[] => [I32_LOAD, 2, ...uleb(offset)]
const i32store = (offset = 0): number[] => [I32_STORE, 2, ...uleb(offset)]
const get = (l: number): number[] => [LGET, l]
const set = (l: number): number[] => [LSET, l]
const tee = (l: number): number[] => [LTEE, l]
const i32c = (v: number): number[] => [I32_CONST, ...sleb(v)]
function sleb(v: number): number[] {
  const out: number[] = []
  for (;;) {
    const b = v & 0x7f
    v >>= 7
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) { out.push(b); return out }
    out.push(b | 0x80)
  }
}
const addTo = (l: number, k: number): number[] => [...get(l), ...i32c(k), I32_ADD, ...set(l)]
/** `while (cond) body`, with cond evaluated before the first pass: block { br_if !cond; loop { body; br_if cond } }. */
const whileLoop = (enter: number[], again: number[], body: number[]): number[] => [BLOCK, VOID, ...enter, BR_IF, 0, LOOP, VOID, ...body, ...again, BR_IF, 0, END, END]
/** l ≥ r as a branch condition to skip: pushes (l >= r). */
const geU = (l: number, r: number): number[] => [...get(l), ...get(r), I32_GE_U]
const ltU = (l: number, r: number): number[] => [...get(l), ...get(r), I32_LT_U]

/** A function's locals, declared in the order they are taken (after the i32 parameters). */
class Locals {
  private readonly types: number[] = []
  constructor(private readonly params: number) {}
  take(type: number): number { this.types.push(type); return this.params + this.types.length - 1 }
  takeN(type: number, k: number): number[] { return Array.from({ length: k }, () => this.take(type)) }
  /** The locals declaration: runs of equal types. */
  decl(): number[] {
    const runs: number[][] = []
    for (const t of this.types) {
      const last = runs[runs.length - 1]
      if (last !== undefined && last[1] === t) last[0]! += 1
      else runs.push([1, t])
    }
    return vec(runs.map(([c, t]) => [...uleb(c!), t!]))
  }
}

/** The four row accumulators (lanes (s₀,s₁), (s₂,s₃), (s₄,s₅), (s₆,s₇)) reduced to the row's sum in the reference order, left in `s`. */
const reduce8 = (acc: ReadonlyArray<number>, s: number): number[] => [
  ...get(acc[0]!), ...get(acc[1]!), ...F64X2_ADD, ...get(acc[2]!), ...get(acc[3]!), ...F64X2_ADD, ...F64X2_ADD,
  ...tee(acc[0]!), ...F64X2_EXTRACT(0), ...get(acc[0]!), ...F64X2_EXTRACT(1), F64_ADD, ...set(s)
]

/** s += Σ_{j ≥ 8⌊n/8⌋} a[j] x[j] (|a[j]| x[j] with `abs`), one by one: j (bytes) runs from `j`'s value to nb. */
const tailSum = (s: number, a: number, x: number, j: number, nb: number, abs = false): number[] =>
  whileLoop(geU(j, nb), ltU(j, nb), [
    ...get(s), ...get(a), ...get(j), I32_ADD, ...f64load(), ...(abs ? [F64_ABS] : []), ...get(x), ...get(j), I32_ADD, ...f64load(), F64_MUL, F64_ADD, ...set(s),
    ...addTo(j, 8)
  ])

/**
 * gemv over blocks of R rows, then single rows: (a, x, y, n), pointers in bytes. Each row
 * keeps its four accumulators; the R rows of a block share each load of x (R = 4 keeps
 * four streams of A in flight, which a large matrix needs to reach the memory's speed).
 * With `abs`, y = |A| x: every entry of A is replaced by its absolute value as it is
 * loaded, nothing else changes.
 */
const gemvBody = (R: number, abs = false): number[] => {
  const [A, X, Y, N] = [0, 1, 2, 3]
  const L = new Locals(4)
  const NB = L.take(I32), END8 = L.take(I32), J = L.take(I32), ROWS = L.take(I32), XJ = L.take(I32)
  const p = L.takeN(I32, R)
  const S = L.take(F64)
  const acc = Array.from({ length: R }, () => L.takeN(V128, 4))
  const XV = L.take(V128)
  const block = (rr: number): number[] => [
    ...p.slice(0, rr).flatMap((pr, r) => [...get(A), ...(r === 0 ? [] : [...get(NB), ...i32c(r), I32_MUL, I32_ADD]), ...set(pr)]),
    ...acc.slice(0, rr).flat().flatMap((a) => [...V128_ZERO, ...set(a)]),
    ...i32c(0), ...set(J),
    ...whileLoop([...get(END8), I32_EQZ], ltU(J, END8), [
      ...get(X), ...get(J), I32_ADD, ...set(XJ),
      ...[0, 1, 2, 3].flatMap((k) => [
        ...get(XJ), ...V128_LOAD(16 * k), ...set(XV),
        ...p.slice(0, rr).flatMap((pr, r) => [
          ...get(acc[r]![k]!), ...get(pr), ...get(J), I32_ADD, ...V128_LOAD(16 * k), ...(abs ? F64X2_ABS : []), ...get(XV), ...F64X2_MUL, ...F64X2_ADD, ...set(acc[r]![k]!)
        ])
      ]),
      ...addTo(J, 64)
    ]),
    ...p.slice(0, rr).flatMap((pr, r) => [...reduce8(acc[r]!, S), ...get(END8), ...set(J), ...tailSum(S, pr, X, J, NB, abs), ...get(Y), ...get(S), ...f64store(8 * r)]),
    ...get(A), ...get(NB), ...i32c(rr), I32_MUL, I32_ADD, ...set(A),
    ...addTo(Y, 8 * rr)
  ]
  const code = [
    ...get(N), ...i32c(8), I32_MUL, ...set(NB),
    ...get(N), ...i32c(-8), I32_AND, ...i32c(8), I32_MUL, ...set(END8),
    ...get(N), ...set(ROWS),
    ...(R > 1 ? whileLoop([...get(ROWS), ...i32c(R), I32_LT_U], [...get(ROWS), ...i32c(R), I32_SUB, ...tee(ROWS), ...i32c(R), I32_GE_U], block(R)) : []),
    ...whileLoop([...get(ROWS), I32_EQZ], [...get(ROWS), ...i32c(1), I32_SUB, ...tee(ROWS), I32_EQZ, I32_EQZ], block(1))
  ]
  return [...L.decl(), ...code, END]
}

/**
 * The batched gemv for Bv vectors over `rows` rows of A: (a, xs, ys, n, rows), xs and ys
 * holding Bv vectors of n (stride 8n bytes); row r of the band goes to ys[b][r]. Row by
 * row, each load of A serves the Bv vectors, each with its own four accumulators.
 * (Bv = 2: three vectors already spill under V8, and then run slower than one at a time.)
 */
const gemvBatchBody = (Bv: number): number[] => {
  const [A, X, Y, N, ROWS] = [0, 1, 2, 3, 4]
  const L = new Locals(5)
  const NB = L.take(I32), END8 = L.take(I32), J = L.take(I32), AEND = L.take(I32)
  const xb = L.takeN(I32, Bv), yb = L.takeN(I32, Bv)
  const S = L.take(F64)
  const acc = Array.from({ length: Bv }, () => L.takeN(V128, 4))
  const AV = L.take(V128)
  const code = [
    ...get(N), ...i32c(8), I32_MUL, ...set(NB),
    ...get(N), ...i32c(-8), I32_AND, ...i32c(8), I32_MUL, ...set(END8),
    ...get(A), ...get(ROWS), ...get(NB), I32_MUL, I32_ADD, ...set(AEND),
    ...xb.flatMap((v, b) => [...get(X), ...(b === 0 ? [] : [...get(NB), ...i32c(b), I32_MUL, I32_ADD]), ...set(v)]),
    ...yb.flatMap((v, b) => [...get(Y), ...(b === 0 ? [] : [...get(NB), ...i32c(b), I32_MUL, I32_ADD]), ...set(v)]),
    ...whileLoop([...get(ROWS), I32_EQZ], ltU(A, AEND), [
      ...acc.flat().flatMap((a) => [...V128_ZERO, ...set(a)]),
      ...i32c(0), ...set(J),
      ...whileLoop([...get(END8), I32_EQZ], ltU(J, END8), [
        ...[0, 1, 2, 3].flatMap((k) => [
          ...get(A), ...get(J), I32_ADD, ...V128_LOAD(16 * k), ...set(AV),
          ...xb.flatMap((xv, b) => [
            ...get(acc[b]![k]!), ...get(xv), ...get(J), I32_ADD, ...V128_LOAD(16 * k), ...get(AV), ...F64X2_MUL, ...F64X2_ADD, ...set(acc[b]![k]!)
          ])
        ]),
        ...addTo(J, 64)
      ]),
      ...xb.flatMap((xv, b) => [...reduce8(acc[b]!, S), ...get(END8), ...set(J), ...tailSum(S, A, xv, J, NB), ...get(yb[b]!), ...get(S), ...f64store(), ...addTo(yb[b]!, 8)]),
      ...get(A), ...get(NB), I32_ADD, ...set(A)
    ])
  ]
  return [...L.decl(), ...code, END]
}

/**
 * The transposed product for Bv vectors: (a, xs, ys, n), y_b = Σᵢ x_b[i] A[i, :], i
 * ascending, four rows of A per pass over y (each y_j gets its four additions in row
 * order, as the row-by-row loop does), then the remaining rows one by one. Bv = 1 is the
 * single transposed product.
 */
const gemvTBody = (Bv: number): number[] => {
  const [A, X, Y, N] = [0, 1, 2, 3]
  const L = new Locals(4)
  const NB = L.take(I32), END2 = L.take(I32), J = L.take(I32), ROWS = L.take(I32), XI = L.take(I32)
  const p = L.takeN(I32, 4), yb = L.takeN(I32, Bv)
  const a = L.takeN(V128, 4)
  const xs = Array.from({ length: Bv }, () => L.takeN(V128, 4))
  const T = L.take(V128)
  const TS = L.take(F64)
  const block = (rr: number): number[] => [
    ...p.slice(0, rr).flatMap((pr, r) => [...get(A), ...(r === 0 ? [] : [...get(NB), ...i32c(r), I32_MUL, I32_ADD]), ...set(pr)]),
    // x_b[i + r], splatted
    ...yb.flatMap((_, b) => p.slice(0, rr).flatMap((_p, r) => [
      ...get(XI), ...(b === 0 ? [] : [...get(NB), ...i32c(b), I32_MUL, I32_ADD]), ...f64load(8 * r), ...F64X2_SPLAT, ...set(xs[b]![r]!)
    ])),
    ...i32c(0), ...set(J),
    ...whileLoop([...get(END2), I32_EQZ], ltU(J, END2), [
      ...p.slice(0, rr).flatMap((pr, r) => [...get(pr), ...get(J), I32_ADD, ...V128_LOAD(0), ...set(a[r]!)]),
      ...yb.flatMap((yv, b) => [
        ...get(yv), ...get(J), I32_ADD,
        ...get(yv), ...get(J), I32_ADD, ...V128_LOAD(0),
        ...p.slice(0, rr).flatMap((_p, r) => [...get(a[r]!), ...get(xs[b]![r]!), ...F64X2_MUL, ...F64X2_ADD]),
        ...V128_STORE(0)
      ]),
      ...addTo(J, 16)
    ]),
    // an odd last column
    BLOCK, VOID,
    ...geU(J, NB), BR_IF, 0,
    ...yb.flatMap((yv, b) => [
      ...get(yv), ...get(J), I32_ADD, ...f64load(), ...set(TS),
      ...p.slice(0, rr).flatMap((pr, r) => [
        ...get(TS), ...get(pr), ...get(J), I32_ADD, ...f64load(), ...get(xs[b]![r]!), ...F64X2_EXTRACT(0), F64_MUL, F64_ADD, ...set(TS)
      ]),
      ...get(yv), ...get(J), I32_ADD, ...get(TS), ...f64store()
    ]),
    END,
    ...get(A), ...get(NB), ...i32c(rr), I32_MUL, I32_ADD, ...set(A),
    ...addTo(XI, 8 * rr)
  ]
  const code = [
    ...get(N), ...i32c(8), I32_MUL, ...set(NB),
    ...get(N), ...i32c(-2), I32_AND, ...i32c(8), I32_MUL, ...set(END2),
    ...yb.flatMap((v, b) => [...get(Y), ...(b === 0 ? [] : [...get(NB), ...i32c(b), I32_MUL, I32_ADD]), ...set(v)]),
    ...get(X), ...set(XI),
    // y = 0 (every vector of the block: Bv·n doubles from Y)
    ...i32c(0), ...set(J),
    ...get(NB), ...i32c(Bv), I32_MUL, ...set(ROWS),
    ...whileLoop([...get(ROWS), I32_EQZ], ltU(J, ROWS), [...get(Y), ...get(J), I32_ADD, F64_CONST, 0, 0, 0, 0, 0, 0, 0, 0, ...f64store(), ...addTo(J, 8)]),
    ...get(N), ...set(ROWS),
    ...whileLoop([...get(ROWS), ...i32c(4), I32_LT_U], [...get(ROWS), ...i32c(4), I32_SUB, ...tee(ROWS), ...i32c(4), I32_GE_U], block(4)),
    ...whileLoop([...get(ROWS), I32_EQZ], [...get(ROWS), ...i32c(1), I32_SUB, ...tee(ROWS), I32_EQZ, I32_EQZ], block(1))
  ]
  return [...L.decl(), ...code, END]
}

/**
 * stream(a, bytes) → f64: S interleaved streams over the block (stream s reads the s-th
 * S-th of it, 64 bytes per stream per pass), summing, so nothing is optimized away — a
 * bandwidth probe. bytes must be a multiple of 64·S.
 */
const streamBody = (S: number): number[] => {
  const [A, B] = [0, 1]
  const L = new Locals(2)
  const ST = L.take(I32), EN = L.take(I32)
  const acc = L.takeN(V128, 4)
  const code = [
    ...get(B), ...i32c(S), 0x6e /* i32.div_u */, ...set(ST),
    ...get(A), ...get(ST), I32_ADD, ...set(EN),
    ...acc.flatMap((a) => [...V128_ZERO, ...set(a)]),
    ...whileLoop([...get(B), I32_EQZ], ltU(A, EN), [
      ...Array.from({ length: S }, (_, s) => [0, 1, 2, 3].flatMap((k) => [
        ...get(acc[k]!), ...get(A), ...(s === 0 ? [] : [...get(ST), ...i32c(s), I32_MUL, I32_ADD]), ...V128_LOAD(16 * k), ...F64X2_ADD, ...set(acc[k]!)
      ])).flat(),
      ...addTo(A, 64)
    ]),
    ...get(acc[0]!), ...get(acc[1]!), ...F64X2_ADD, ...get(acc[2]!), ...get(acc[3]!), ...F64X2_ADD, ...F64X2_ADD,
    ...tee(acc[0]!), ...F64X2_EXTRACT(0), ...get(acc[0]!), ...F64X2_EXTRACT(1), F64_ADD
  ]
  return [...L.decl(), ...code, END]
}

/** Tile side of the symmetry check: 32 × 32 tiles keep the column walk within few pages. */
const SYM_TILE = 32

/**
 * sym(a, n) → i32: 1 when the row-major n × n matrix at a equals its transpose exactly
 * (f64.ne, so +0 = −0 and a NaN is never equal), else 0, returning at the first
 * difference. Tile by tile (rows I..I+T against columns J..J+T, J ≥ I). An off-diagonal
 * tile of even sides compares 2 × 2 blocks: rows i, i+1 at columns j, j+1 against rows j,
 * j+1 at columns i, i+1, transposed by two shuffles; the diagonal tiles and odd edges go
 * element by element, each row of the tile against the column it meets.
 */
const symBody = (): number[] => {
  const [A, N] = [0, 1]
  const L = new Locals(2)
  const NB = L.take(I32), I = L.take(I32), J = L.take(I32), IE = L.take(I32), JE = L.take(I32), II = L.take(I32), J0 = L.take(I32)
  const P = L.take(I32), Q = L.take(I32), PE = L.take(I32), Q2 = L.take(I32)
  const C0 = L.take(V128), C1 = L.take(V128)
  const minN = (v: number[]): number[] => [...v, ...get(N), ...v, ...get(N), I32_LT_U, SELECT]
  const code = [
    ...get(N), ...i32c(8), I32_MUL, ...set(NB),
    ...i32c(0), ...set(I),
    ...whileLoop([...get(N), I32_EQZ], ltU(I, N), [
      ...minN([...get(I), ...i32c(SYM_TILE), I32_ADD]), ...set(IE),
      ...get(I), ...set(J),
      ...whileLoop([...get(J), ...get(N), I32_GE_U], ltU(J, N), [
        ...minN([...get(J), ...i32c(SYM_TILE), I32_ADD]), ...set(JE),
        ...get(I), ...set(II),
        // an off-diagonal tile with even sides: 2 × 2 blocks
        ...get(J), ...get(I), 0x4b /* i32.gt_u */,
        ...get(IE), ...get(I), I32_SUB, ...get(JE), ...get(J), I32_SUB, 0x72 /* i32.or */, ...i32c(1), I32_AND, I32_EQZ, I32_AND,
        IF, VOID,
        ...whileLoop([...get(II), ...get(IE), I32_GE_U], ltU(II, IE), [
          ...get(A), ...get(II), ...get(NB), I32_MUL, I32_ADD, ...set(P),
          ...get(P), ...get(JE), ...i32c(8), I32_MUL, I32_ADD, ...set(PE),
          ...get(P), ...get(J), ...i32c(8), I32_MUL, I32_ADD, ...set(P),
          ...get(A), ...get(J), ...get(NB), I32_MUL, I32_ADD, ...get(II), ...i32c(8), I32_MUL, I32_ADD, ...set(Q),
          LOOP, VOID,
          ...get(Q), ...V128_LOAD(0), ...set(C0),
          ...get(Q), ...get(NB), I32_ADD, ...tee(Q2), ...V128_LOAD(0), ...set(C1),
          ...get(P), ...V128_LOAD(0), ...get(C0), ...get(C1), ...SHUFFLE(LO_LO), ...F64X2_NE,
          ...get(P), ...get(NB), I32_ADD, ...V128_LOAD(0), ...get(C0), ...get(C1), ...SHUFFLE(HI_HI), ...F64X2_NE,
          ...V128_OR, ...V128_ANY_TRUE, IF, VOID, ...i32c(0), RETURN, END,
          ...addTo(P, 16),
          ...get(Q2), ...get(NB), I32_ADD, ...set(Q),
          ...ltU(P, PE), BR_IF, 0,
          END,
          ...addTo(II, 2)
        ]),
        ...get(IE), ...set(II),
        END,
        ...whileLoop([...get(II), ...get(IE), I32_GE_U], ltU(II, IE), [
          // j0 = max(J, i + 1)
          ...get(J), ...get(II), ...i32c(1), I32_ADD, ...get(J), ...get(II), ...i32c(1), I32_ADD, I32_GE_U, SELECT, ...set(J0),
          ...get(J0), ...get(JE), I32_LT_U, IF, VOID,
          ...get(A), ...get(II), ...get(NB), I32_MUL, I32_ADD, ...set(P),
          ...get(P), ...get(JE), ...i32c(8), I32_MUL, I32_ADD, ...set(PE),
          ...get(P), ...get(J0), ...i32c(8), I32_MUL, I32_ADD, ...set(P),
          ...get(A), ...get(J0), ...get(NB), I32_MUL, I32_ADD, ...get(II), ...i32c(8), I32_MUL, I32_ADD, ...set(Q),
          LOOP, VOID,
          ...get(P), ...f64load(), ...get(Q), ...f64load(), F64_NE, IF, VOID, ...i32c(0), RETURN, END,
          ...addTo(P, 8),
          ...get(Q), ...get(NB), I32_ADD, ...set(Q),
          ...ltU(P, PE), BR_IF, 0,
          END,
          END,
          ...addTo(II, 1)
        ]),
        ...addTo(J, SYM_TILE)
      ]),
      ...addTo(I, SYM_TILE)
    ]),
    ...i32c(1)
  ]
  return [...L.decl(), ...code, END]
}

/**
 * chol(base, m, pivot, thresh) → rank: the loop of {@link pivotedCholeskyLoop}, the same
 * operations in the same order. At `base`: S (m × m f64, not written), then L (m × m;
 * only entries it has written are read, so it need not be cleared), then d (m f64, S's
 * diagonal on entry), then order (m i32, the identity on entry). Rows of the column are taken R at a time (each load of row j serves R
 * rows, each with its own f64x2 accumulator, lanes (a₀, a₁)), then in pairs, then the
 * last row alone with the two accumulators of the four-sum order.
 */
const cholBody = (R: number): number[] => {
  const [BASE, M, PIV, TH] = [0, 1, 2, 3]
  const L = new Locals(4)
  const NB = L.take(I32), LB = L.take(I32), DB = L.take(I32), OB = L.take(I32)
  const J = L.take(I32), P = L.take(I32), I = L.take(I32), K = L.take(I32), RANK = L.take(I32)
  const RJ = L.take(I32), RP = L.take(I32), SJ = L.take(I32), JP = L.take(I32), JB = L.take(I32), T = L.take(I32)
  const pr = L.takeN(I32, R)
  const BEST = L.take(F64), INV = L.take(F64), A0 = L.take(F64), V = L.take(F64), TF = L.take(F64)
  const acc = L.takeN(V128, R)
  const LJ = L.take(V128)
  /** address of d[x], order[x] for x in a local */
  const dAt = (x: number): number[] => [...get(DB), ...get(x), ...i32c(3), I32_SHL, I32_ADD]
  const oAt = (x: number): number[] => [...get(OB), ...get(x), ...i32c(2), I32_SHL, I32_ADD]
  /** S[order_j][order_i]: row SJ, column order[i + r] */
  const sAt = (r: number): number[] => [...get(SJ), ...get(OB), ...get(I), ...i32c(2), I32_SHL, I32_ADD, ...i32load(4 * r), ...i32c(3), I32_SHL, I32_ADD, ...f64load()]
  /** L_ij = v = (s − sum) · inv from the sum on the stack, stored at row `row`; d[i + r] −= v². */
  const finish = (row: number, r: number): number[] => [
    ...set(TF), ...sAt(r), ...get(TF), F64_SUB, ...get(INV), F64_MUL, ...set(V),
    ...get(row), ...get(JB), I32_ADD, ...get(V), ...f64store(),
    ...dAt(I), ...dAt(I), ...f64load(8 * r), ...get(V), ...get(V), F64_MUL, F64_SUB, ...f64store(8 * r)
  ]
  /** rr rows from i, pair order */
  const block = (rr: number): number[] => [
    ...get(LB), ...get(I), ...get(NB), I32_MUL, I32_ADD, ...set(pr[0]!),
    ...pr.slice(1, rr).flatMap((v, r) => [...get(pr[0]!), ...get(NB), ...i32c(r + 1), I32_MUL, I32_ADD, ...set(v)]),
    ...acc.slice(0, rr).flatMap((a) => [...V128_ZERO, ...set(a)]),
    ...i32c(0), ...set(K),
    ...whileLoop(geU(K, JP), ltU(K, JP), [
      ...get(RJ), ...get(K), I32_ADD, ...V128_LOAD(0), ...set(LJ),
      ...pr.slice(0, rr).flatMap((v, r) => [...get(acc[r]!), ...get(v), ...get(K), I32_ADD, ...V128_LOAD(0), ...get(LJ), ...F64X2_MUL, ...F64X2_ADD, ...set(acc[r]!)]),
      ...addTo(K, 16)
    ]),
    ...pr.slice(0, rr).flatMap((v, r) => [
      ...get(acc[r]!), ...F64X2_EXTRACT(0), ...set(A0),
      ...get(J), ...i32c(1), I32_AND, IF, VOID,
      ...get(A0), ...get(v), ...get(JP), I32_ADD, ...f64load(), ...get(RJ), ...get(JP), I32_ADD, ...f64load(), F64_MUL, F64_ADD, ...set(A0),
      END,
      ...get(A0), ...get(acc[r]!), ...F64X2_EXTRACT(1), F64_ADD,
      ...finish(v, r)
    ]),
    ...addTo(I, rr)
  ]
  /** the last row alone, four-sum order */
  const single: number[] = [
    ...get(LB), ...get(I), ...get(NB), I32_MUL, I32_ADD, ...set(pr[0]!),
    ...V128_ZERO, ...set(acc[0]!), ...V128_ZERO, ...set(acc[1]!),
    ...get(J), ...i32c(-4), I32_AND, ...i32c(3), I32_SHL, ...set(T),
    ...i32c(0), ...set(K),
    ...whileLoop(geU(K, T), ltU(K, T), [
      ...get(acc[0]!), ...get(pr[0]!), ...get(K), I32_ADD, ...V128_LOAD(0), ...get(RJ), ...get(K), I32_ADD, ...V128_LOAD(0), ...F64X2_MUL, ...F64X2_ADD, ...set(acc[0]!),
      ...get(acc[1]!), ...get(pr[0]!), ...get(K), I32_ADD, ...V128_LOAD(16), ...get(RJ), ...get(K), I32_ADD, ...V128_LOAD(16), ...F64X2_MUL, ...F64X2_ADD, ...set(acc[1]!),
      ...addTo(K, 32)
    ]),
    ...get(acc[0]!), ...get(acc[1]!), ...F64X2_ADD, ...tee(acc[0]!), ...F64X2_EXTRACT(0), ...get(acc[0]!), ...F64X2_EXTRACT(1), F64_ADD, ...set(A0),
    ...whileLoop(geU(K, JB), ltU(K, JB), [
      ...get(A0), ...get(pr[0]!), ...get(K), I32_ADD, ...f64load(), ...get(RJ), ...get(K), I32_ADD, ...f64load(), F64_MUL, F64_ADD, ...set(A0),
      ...addTo(K, 8)
    ]),
    ...get(A0), ...finish(pr[0]!, 0)
  ]
  /** i + rr ≤ m, as the condition to skip (i + rr > m) and to go on */
  const fits = (rr: number): number[] => [...get(I), ...i32c(rr), I32_ADD, ...get(M), I32_LE_U]
  const fitsNot = (rr: number): number[] => [...get(I), ...i32c(rr), I32_ADD, ...get(M), I32_GT_U]
  const column: number[] = [
    ...get(J), ...set(P),
    // the pivot: the largest d from j on
    ...get(PIV), ...dAt(J), ...f64load(), ...get(TH), F64_GT, I32_EQZ, I32_OR, IF, VOID,
    ...dAt(J), ...f64load(), ...set(BEST),
    ...get(J), ...i32c(1), I32_ADD, ...set(I),
    ...whileLoop(geU(I, M), ltU(I, M), [
      ...dAt(I), ...f64load(), ...tee(TF), ...get(BEST), F64_GT, IF, VOID, ...get(TF), ...set(BEST), ...get(I), ...set(P), END,
      ...addTo(I, 1)
    ]),
    END,
    ...dAt(P), ...f64load(), ...get(TH), F64_GT, I32_EQZ, BR_IF, 1,
    ...get(J), ...i32c(3), I32_SHL, ...set(JB),
    ...get(LB), ...get(J), ...get(NB), I32_MUL, I32_ADD, ...set(RJ),
    ...get(P), ...get(J), I32_NE, IF, VOID,
    ...oAt(J), ...i32load(), ...set(T),
    ...oAt(J), ...oAt(P), ...i32load(), ...i32store(),
    ...oAt(P), ...get(T), ...i32store(),
    ...dAt(J), ...f64load(), ...set(TF),
    ...dAt(J), ...dAt(P), ...f64load(), ...f64store(),
    ...dAt(P), ...get(TF), ...f64store(),
    ...get(LB), ...get(P), ...get(NB), I32_MUL, I32_ADD, ...set(RP),
    ...i32c(0), ...set(K),
    ...whileLoop(geU(K, JB), ltU(K, JB), [
      ...get(RJ), ...get(K), I32_ADD, ...f64load(), ...set(TF),
      ...get(RJ), ...get(K), I32_ADD, ...get(RP), ...get(K), I32_ADD, ...f64load(), ...f64store(),
      ...get(RP), ...get(K), I32_ADD, ...get(TF), ...f64store(),
      ...addTo(K, 8)
    ]),
    END,
    ...dAt(J), ...f64load(), F64_SQRT, ...set(TF),
    ...get(RJ), ...get(JB), I32_ADD, ...get(TF), ...f64store(),
    ...dAt(J), F64_CONST, 0, 0, 0, 0, 0, 0, 0, 0, ...f64store(),
    F64_CONST, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, ...get(TF), F64_DIV, ...set(INV),
    ...get(BASE), ...oAt(J), ...i32load(), ...get(NB), I32_MUL, I32_ADD, ...set(SJ),
    ...get(J), ...i32c(-2), I32_AND, ...i32c(3), I32_SHL, ...set(JP),
    ...get(J), ...i32c(1), I32_ADD, ...set(I),
    ...whileLoop(fitsNot(R), fits(R), block(R)),
    ...(R > 2 ? whileLoop(fitsNot(2), fits(2), block(2)) : []),
    ...ltU(I, M), IF, VOID, ...single, END,
    ...get(J), ...i32c(1), I32_ADD, ...tee(J), ...set(RANK)
  ]
  const code = [
    ...get(M), ...i32c(3), I32_SHL, ...set(NB),
    ...get(BASE), ...get(NB), ...get(M), I32_MUL, I32_ADD, ...tee(LB), ...get(NB), ...get(M), I32_MUL, I32_ADD, ...tee(DB), ...get(NB), I32_ADD, ...set(OB),
    ...i32c(0), ...set(RANK), ...i32c(0), ...set(J),
    ...whileLoop(geU(J, M), ltU(J, M), column),
    ...get(RANK)
  ]
  return [...L.decl(), ...code, END]
}

/**
 * ddres(h, x, b, out, m): {@link ddResidualLoop} on H at h, x, b (m f64 each), hi to out
 * and lo to out + 8m; out + 16m holds 2m f64 of scratch (the halves of x's splits,
 * computed once, as the loop computes them per product). Two rows per pass, one per
 * lane: (−H[i][j], −H[i+1][j]) from a 2 × 2 block of rows i, i + 1 by two shuffles; the
 * last row of an odd m in both lanes (lane 0 stored).
 */
const ddresBody = (): number[] => {
  const [H, X, B, OUT, M] = [0, 1, 2, 3, 4]
  const L = new Locals(5)
  const NB = L.take(I32), END2 = L.take(I32), J = L.take(I32), I = L.take(I32), R0 = L.take(I32), R1 = L.take(I32), XH = L.take(I32)
  const CF = L.take(F64), TF = L.take(F64)
  const HI = L.take(V128), LO = L.take(V128), A = L.take(V128), C = L.take(V128), CH = L.take(V128), CL = L.take(V128), P = L.take(V128)
  const AH = L.take(V128), AL = L.take(V128), S = L.take(V128), BB = L.take(V128), SP = L.take(V128), V0 = L.take(V128), V1 = L.take(V128)
  const splat = (l: number): number[] => [...get(l), ...F64X2_SPLAT]
  /** one product: A = −H entries of the two rows at column J (bytes), on the stack */
  const step: number[] = [
    ...F64X2_NEG, ...set(A),
    ...get(X), ...get(J), I32_ADD, ...f64load(), ...F64X2_SPLAT, ...set(C),
    ...get(XH), ...get(J), I32_ADD, ...f64load(), ...F64X2_SPLAT, ...set(CH),
    ...get(XH), ...get(NB), I32_ADD, ...get(J), I32_ADD, ...f64load(), ...F64X2_SPLAT, ...set(CL),
    ...get(A), ...get(C), ...F64X2_MUL, ...set(P),
    // ah = ta − (ta − a), al = a − ah
    ...get(SP), ...get(A), ...F64X2_MUL, ...tee(AH), ...get(AH), ...get(A), ...F64X2_SUB, ...F64X2_SUB, ...set(AH),
    ...get(A), ...get(AH), ...F64X2_SUB, ...set(AL),
    // e = (((ah·ch − p) + ah·cl) + al·ch) + al·cl, kept in A
    ...get(AH), ...get(CH), ...F64X2_MUL, ...get(P), ...F64X2_SUB,
    ...get(AH), ...get(CL), ...F64X2_MUL, ...F64X2_ADD,
    ...get(AL), ...get(CH), ...F64X2_MUL, ...F64X2_ADD,
    ...get(AL), ...get(CL), ...F64X2_MUL, ...F64X2_ADD, ...set(A),
    // s = hi + p, bb = s − hi, lo += ((hi − (s − bb)) + (p − bb)) + e, hi = s
    ...get(HI), ...get(P), ...F64X2_ADD, ...set(S),
    ...get(S), ...get(HI), ...F64X2_SUB, ...set(BB),
    ...get(LO),
    ...get(HI), ...get(S), ...get(BB), ...F64X2_SUB, ...F64X2_SUB,
    ...get(P), ...get(BB), ...F64X2_SUB, ...F64X2_ADD,
    ...get(A), ...F64X2_ADD,
    ...F64X2_ADD, ...set(LO),
    ...get(S), ...set(HI)
  ]
  /** rows R0, R1 (R1 = R0 for a lone last row), sums into HI, LO */
  const rows: number[] = [
    ...V128_ZERO, ...set(LO),
    ...i32c(0), ...set(J),
    ...whileLoop([...get(END2), I32_EQZ], ltU(J, END2), [
      ...get(R0), ...get(J), I32_ADD, ...V128_LOAD(0), ...set(V0),
      ...get(R1), ...get(J), I32_ADD, ...V128_LOAD(0), ...set(V1),
      ...get(V0), ...get(V1), ...SHUFFLE(LO_LO), ...step,
      ...addTo(J, 8),
      ...get(V0), ...get(V1), ...SHUFFLE(HI_HI), ...step,
      ...addTo(J, 8)
    ]),
    ...ltU(J, NB), IF, VOID,
    ...get(R0), ...get(J), I32_ADD, ...f64load(), ...F64X2_SPLAT, ...get(R1), ...get(J), I32_ADD, ...f64load(), ...F64X2_REPLACE(1), ...step,
    END
  ]
  const code = [
    ...get(M), ...i32c(3), I32_SHL, ...set(NB),
    ...get(M), ...i32c(-2), I32_AND, ...i32c(3), I32_SHL, ...set(END2),
    ...get(OUT), ...get(NB), ...i32c(1), I32_SHL, I32_ADD, ...set(XH),
    F64_CONST, ...Array.from(new Uint8Array(Float64Array.of(SPLIT).buffer)), ...set(CF),
    ...splat(CF), ...set(SP),
    // the halves of x: ch = tc − (tc − c), cl = c − ch
    ...i32c(0), ...set(J),
    ...whileLoop([...get(M), I32_EQZ], ltU(J, NB), [
      ...get(X), ...get(J), I32_ADD, ...f64load(), ...set(TF),
      ...get(XH), ...get(J), I32_ADD,
      ...get(CF), ...get(TF), F64_MUL, ...tee(CF), ...get(CF), ...get(TF), F64_SUB, F64_SUB, ...tee(CF),
      ...f64store(),
      ...get(XH), ...get(NB), I32_ADD, ...get(J), I32_ADD, ...get(TF), ...get(CF), F64_SUB, ...f64store(),
      F64_CONST, ...Array.from(new Uint8Array(Float64Array.of(SPLIT).buffer)), ...set(CF),
      ...addTo(J, 8)
    ]),
    ...i32c(0), ...set(I),
    ...get(H), ...set(R0),
    ...whileLoop([...get(I), ...i32c(2), I32_ADD, ...get(M), I32_GT_U], [...get(I), ...i32c(2), I32_ADD, ...get(M), I32_LE_U], [
      ...get(R0), ...get(NB), I32_ADD, ...set(R1),
      ...get(B), ...get(I), ...i32c(3), I32_SHL, I32_ADD, ...V128_LOAD(0), ...set(HI),
      ...rows,
      ...get(OUT), ...get(I), ...i32c(3), I32_SHL, I32_ADD, ...get(HI), ...V128_STORE(0),
      ...get(OUT), ...get(NB), I32_ADD, ...get(I), ...i32c(3), I32_SHL, I32_ADD, ...get(LO), ...V128_STORE(0),
      ...get(R1), ...get(NB), I32_ADD, ...set(R0),
      ...addTo(I, 2)
    ]),
    ...ltU(I, M), IF, VOID,
    ...get(R0), ...set(R1),
    ...get(B), ...get(I), ...i32c(3), I32_SHL, I32_ADD, ...f64load(), ...F64X2_SPLAT, ...set(HI),
    ...rows,
    ...get(OUT), ...get(I), ...i32c(3), I32_SHL, I32_ADD, ...get(HI), ...F64X2_EXTRACT(0), ...f64store(),
    ...get(OUT), ...get(NB), I32_ADD, ...get(I), ...i32c(3), I32_SHL, I32_ADD, ...get(LO), ...F64X2_EXTRACT(0), ...f64store(),
    END
  ]
  return [...L.decl(), ...code, END]
}

// the exponential: fdlibm's __ieee754_exp, lane by lane
const F64X2_EQ = simd(0x47), F64X2_LT = simd(0x49), F64X2_GT = simd(0x4a), F64X2_DIV = simd(0xf3), F64X2_TRUNC = simd(0x7a)
const V128_BITSELECT = simd(0x52), V128_AND = simd(0x4e), V128_ANDNOT = simd(0x4f), I64X2_SHL = simd(0xcb), I64X2_ALL_TRUE = simd(0xc3), ELSE = 0x05
/** v128.const with both f64 lanes v. */
const f64x2c = (v: number): number[] => [...simd(0x0c), ...Array.from(new Uint8Array(Float64Array.of(v, v).buffer))]
/** The double whose high word is h and low word 0 (fdlibm's thresholds on the high word of |x|). */
const highWord = (h: number): number => { const d = new DataView(new ArrayBuffer(8)); d.setUint32(0, h); return d.getFloat64(0) }
/** where(mask, a, b): lanes of a where the mask is set, of b elsewhere (a, b, mask pushed by the three codes). */
const where = (mask: number[], a: number[], b: number[]): number[] => [...a, ...b, ...mask, ...V128_BITSELECT]

/** fdlibm's constants (FreeBSD msun e_exp.c), which V8's Math.exp (v8/src/base/ieee754.cc) uses. */
const EXP = {
  ln2HI: 6.93147180369123816490e-01, ln2LO: 1.90821492927058770002e-10, invln2: 1.44269504088896338700e+00,
  P1: 1.66666666666666019037e-01, P2: -2.77777777770155933842e-03, P3: 6.61375632143793436117e-05,
  P4: -1.65339022054652515390e-06, P5: 4.13813679705723846039e-08,
  oThreshold: 7.09782712893383973096e+02, uThreshold: -7.45133219101941108420e+02,
  /** |x| ≥ this: hx > 0x3fd62e42, |x| > ½ ln 2 (the reduction) */
  half: highWord(0x3fd62e43),
  /** |x| < this: hx < 0x3FF0A2B2, |x| < 1.5 ln 2 (k = ±1) */
  threeHalves: highWord(0x3ff0a2b2),
  /** |x| < this: hx < 0x3e300000, |x| < 2⁻²⁸ (1 + x) */
  tiny: highWord(0x3e300000)
} as const

/** The locals of one vector's exponentials. */
interface ExpLocals { readonly X: number; readonly AX: number; readonly XS: number; readonly T: number; readonly K0: number; readonly HI: number; readonly LO: number; readonly XR: number; readonly TT: number; readonly C: number; readonly Q: number; readonly R0: number; readonly Y: number; readonly OK: number; readonly LOW: number; readonly TOP: number; readonly OUT: number }

const expLocals = (L: Locals): ExpLocals => {
  const take = (): number => L.take(V128)
  return { X: take(), AX: take(), XS: take(), T: take(), K0: take(), HI: take(), LO: take(), XR: take(), TT: take(), C: take(), Q: take(), R0: take(), Y: take(), OK: take(), LOW: take(), TOP: take(), OUT: take() }
}

/** Below this |x| the exponential takes no special branch but 1 + x (k within [−1021, 1021], no overflow or underflow). */
const EXP_ORDINARY = 708

/**
 * The exponentials of the two lanes of local X, as fdlibm computes each (the same IEEE
 * operations in the same order; baseline SIMD has no fused multiply-add), its branches as
 * lane selects. These statements leave (as fdlibm's k = 0 result) R0 = 1 − (q − x') and
 * (the others') Y = y, to be scaled by 2^k ({@link expFast}, {@link expFull}):
 * - k (as a double t): 0 for |x| ≤ ½ ln 2, ±1 below 1.5 ln 2, else trunc(x/ln 2 ± ½);
 *   hi = x − t·ln2HI, lo = t·ln2LO, x' = hi − lo (at t = ±1 these are fdlibm's
 *   x ∓ ln2HI and ±ln2LO exactly; at t = 0, x' = x);
 * - c = x' − x'²(P1 + x'²(P2 + …)), q = (x'c)/(c − 2), which is fdlibm's (x'c)/(c − 2)
 *   at k = 0 and the negative of its (x'c)/(2 − c) otherwise (the division and the
 *   subtraction round symmetrically), so y = 1 − ((lo − (x'c)/(2 − c)) − hi) is
 *   1 − ((lo + q) − hi);
 * - OK: every lane ordinary (|x| < {@link EXP_ORDINARY}, not x = 1, not 0 < |x| < 2⁻²⁸),
 *   where {@link expFast} gives the result.
 */
const expCore = (e: ExpLocals, c: (v: number) => number[]): number[][] => {
  const { X, AX, XS, T, K0, HI, LO, XR, TT, C, Q, R0, Y, OK } = e
  const lt = (a: number[], b: number[]): number[] => [...a, ...b, ...F64X2_LT]
  return [
    [...get(X), ...F64X2_ABS, ...set(AX)],
    // x's sign bit alone (fdlibm's xsb), which makes ±½ and ±1 of ½ and 1
    [...get(X), ...c(-0), ...V128_AND, ...set(XS)],
    // t = trunc(invln2·x + halF[xsb]); ±1 below 1.5 ln 2; 0 at or below ½ ln 2
    [...c(EXP.invln2), ...get(X), ...F64X2_MUL, ...get(XS), ...c(0.5), ...V128_OR, ...F64X2_ADD, ...F64X2_TRUNC, ...set(T)],
    [...where(lt(get(AX), c(EXP.threeHalves)), [...get(XS), ...c(1), ...V128_OR], get(T)), ...set(T)],
    [...lt(get(AX), c(EXP.half)), ...set(K0)],
    [...where(get(K0), c(0), get(T)), ...set(T)],
    [...get(X), ...get(T), ...c(EXP.ln2HI), ...F64X2_MUL, ...F64X2_SUB, ...set(HI)],
    [...get(T), ...c(EXP.ln2LO), ...F64X2_MUL, ...set(LO)],
    [...get(HI), ...get(LO), ...F64X2_SUB, ...set(XR)],
    // c = x − t(P1 + t(P2 + t(P3 + t(P4 + t·P5)))), t = x²
    [...get(XR), ...get(XR), ...F64X2_MUL, ...set(TT)],
    [...get(TT), ...c(EXP.P5), ...F64X2_MUL, ...c(EXP.P4), ...F64X2_ADD, ...set(C)],
    [...get(TT), ...get(C), ...F64X2_MUL, ...c(EXP.P3), ...F64X2_ADD, ...set(C)],
    [...get(TT), ...get(C), ...F64X2_MUL, ...c(EXP.P2), ...F64X2_ADD, ...set(C)],
    [...get(TT), ...get(C), ...F64X2_MUL, ...c(EXP.P1), ...F64X2_ADD, ...set(C)],
    [...get(XR), ...get(TT), ...get(C), ...F64X2_MUL, ...F64X2_SUB, ...set(C)],
    [...get(XR), ...get(C), ...F64X2_MUL, ...get(C), ...c(2), ...F64X2_SUB, ...F64X2_DIV, ...set(Q)],
    [...c(1), ...get(Q), ...get(XR), ...F64X2_SUB, ...F64X2_SUB, ...set(R0)],
    [...c(1), ...get(LO), ...get(Q), ...F64X2_ADD, ...get(HI), ...F64X2_SUB, ...F64X2_SUB, ...set(Y)],
    [...lt(get(AX), c(EXP_ORDINARY)), ...get(X), ...c(1), ...F64X2_NE, ...V128_AND,
      ...lt(get(AX), c(EXP.tiny)), ...get(X), ...c(0), ...F64X2_NE, ...V128_AND, ...V128_ANDNOT, ...set(OK)]
  ]
}

/** 2^m for the integers m (as doubles) of the lanes on the stack, from their bits: (m + 1023 + 2⁵²)'s bits shifted left by 52. */
const pow2 = (c: (v: number) => number[]): number[] => [...c(2 ** 52 + 1023), ...F64X2_ADD, ...i32c(52), ...I64X2_SHL]

/** OUT for ordinary lanes: R0 at k = 0, else Y · 2^k. */
const expFast = (e: ExpLocals, c: (v: number) => number[]): number[][] => [
  [...where(get(e.K0), get(e.R0), [...get(e.Y), ...get(e.T), ...pow2(c), ...F64X2_MUL]), ...set(e.OUT)]
]

/**
 * OUT for any lanes: Y scaled as (Y · s1) · s2 (s1 = 2^k, s2 = 1, the product by 1
 * exact; s1 = 2, s2 = 2¹⁰²³ at k = 1024; s1 = 2^(k+1000), s2 = 2⁻¹⁰⁰⁰ below k = −1021, a
 * subnormal result), R0 at k = 0, then 1 + x for |x| < 2⁻²⁸, Math.E at x = 1 (V8's special
 * case), +∞ above o_threshold, +0 below u_threshold (±∞ included), x + x for NaN.
 */
const expFull = (e: ExpLocals, c: (v: number) => number[]): number[][] => {
  const { X, AX, T, K0, R0, Y, LOW, TOP, OUT } = e
  const lt = (a: number[], b: number[]): number[] => [...a, ...b, ...F64X2_LT]
  return [
    [...lt(get(T), c(-1021)), ...set(LOW)],
    [...get(T), ...c(1024), ...F64X2_EQ, ...set(TOP)],
    [...get(Y), ...where(get(LOW), [...get(T), ...c(1000), ...F64X2_ADD], where(get(TOP), c(1), get(T))), ...pow2(c),
      ...F64X2_MUL, ...where(get(LOW), c(2 ** -1000), where(get(TOP), c(2 ** 1023), c(1))), ...F64X2_MUL, ...set(OUT)],
    [...where(get(K0), get(R0), get(OUT)), ...set(OUT)],
    [...where(lt(get(AX), c(EXP.tiny)), [...c(1), ...get(X), ...F64X2_ADD], get(OUT)), ...set(OUT)],
    [...where([...get(X), ...c(1), ...F64X2_EQ], c(Math.E), get(OUT)), ...set(OUT)],
    [...where([...get(X), ...c(EXP.oThreshold), ...F64X2_GT], c(Infinity), get(OUT)), ...set(OUT)],
    [...where(lt(get(X), c(EXP.uThreshold)), c(0), get(OUT)), ...set(OUT)],
    [...where([...get(X), ...get(X), ...F64X2_NE], [...get(X), ...get(X), ...F64X2_ADD], get(OUT)), ...set(OUT)]
  ]
}

/** Vectors (of two entries) per pass of the kernel `exp`, their statements interleaved. */
const EXP_VECTORS = 2

/**
 * exp(src, dst, n): dst[i] = Math.exp(src[i]) for i < n (f64, byte pointers; dst may be
 * src): EXP_VECTORS vectors per pass, their statements interleaved so that the
 * exponentials' long chains of dependent operations overlap, finished by
 * {@link expFast} when every lane is ordinary, else by {@link expFull}; then single
 * vectors and an odd last entry (in both lanes, lane 0 stored), finished by
 * {@link expFull}.
 */
const expBody = (): number[] => {
  const [SRC, DST, N] = [0, 1, 2]
  const L = new Locals(3)
  const NB = L.take(I32), ENDV = L.take(I32), END2 = L.take(I32), I = L.take(I32)
  const vs = Array.from({ length: EXP_VECTORS }, () => expLocals(L))
  const v0 = vs[0]!
  // the constants in locals, set once before the loop (a v128.const in the loop is
  // materialized on every pass)
  const pool = new Map<string, readonly [number, number]>()
  const c = (v: number): number[] => {
    const key = Array.from(new Uint8Array(Float64Array.of(v).buffer)).join(',')
    let e = pool.get(key)
    if (e === undefined) { e = [v, L.take(V128)]; pool.set(key, e) }
    return get(e[1])
  }
  const zip = (parts: number[][][]): number[] => parts[0]!.flatMap((_, k) => parts.flatMap((p) => p[k]!))
  const one = [...expCore(v0, c), ...expFull(v0, c)].flat()
  const pass = [
    ...zip(vs.map((e) => expCore(e, c))),
    ...vs.flatMap((e, k) => [...get(e.OK), ...(k > 0 ? V128_AND : [])]), ...I64X2_ALL_TRUE, IF, VOID,
    ...zip(vs.map((e) => expFast(e, c))),
    ELSE,
    ...zip(vs.map((e) => expFull(e, c))),
    END
  ]
  const code = [
    ...get(N), ...i32c(3), I32_SHL, ...set(NB),
    ...get(N), ...i32c(-2 * EXP_VECTORS), I32_AND, ...i32c(3), I32_SHL, ...set(ENDV),
    ...get(N), ...i32c(-2), I32_AND, ...i32c(3), I32_SHL, ...set(END2),
    ...[...pool.values()].flatMap(([v, l]) => [...f64x2c(v), ...set(l)]),
    ...i32c(0), ...set(I),
    ...whileLoop([...get(ENDV), I32_EQZ], ltU(I, ENDV), [
      ...vs.flatMap((e, k) => [...get(SRC), ...get(I), I32_ADD, ...V128_LOAD(16 * k), ...set(e.X)]),
      ...pass,
      ...vs.flatMap((e, k) => [...get(DST), ...get(I), I32_ADD, ...get(e.OUT), ...V128_STORE(16 * k)]),
      ...addTo(I, 16 * EXP_VECTORS)
    ]),
    ...whileLoop(geU(I, END2), ltU(I, END2), [
      ...get(SRC), ...get(I), I32_ADD, ...V128_LOAD(0), ...set(v0.X),
      ...one,
      ...get(DST), ...get(I), I32_ADD, ...get(v0.OUT), ...V128_STORE(0),
      ...addTo(I, 16)
    ]),
    ...ltU(I, NB), IF, VOID,
    ...get(SRC), ...get(I), I32_ADD, ...f64load(), ...F64X2_SPLAT, ...set(v0.X),
    ...one,
    ...get(DST), ...get(I), I32_ADD, ...get(v0.OUT), ...F64X2_EXTRACT(0), ...f64store(),
    END
  ]
  return [...L.decl(), ...code, END]
}

/** Rows of a column per pass over row j in the kernel `chol`. */
const CHOL_ROWS = 4

/** The exported functions, in order: name, type index (0: (i32 ×4) → (), 1: (i32, i32) → f64, 2: (i32, i32) → i32, 3: (i32 ×5) → (), 4: (i32, i32, i32, f64) → i32, 5: (i32 ×3) → ()), body. */
const FUNCTIONS: ReadonlyArray<readonly [string, number, () => number[]]> = [
  ['gemv', 0, () => gemvBody(1)],
  ['gemv4', 0, () => gemvBody(4)],
  ['gemvT', 0, () => gemvTBody(1)],
  ['band1', 3, () => gemvBatchBody(1)],
  ['band2', 3, () => gemvBatchBody(2)],
  ['batchT2', 0, () => gemvTBody(2)],
  ['stream', 1, () => streamBody(1)],
  ['stream4', 1, () => streamBody(4)],
  ['sym', 2, symBody],
  ['gemvAbs', 0, () => gemvBody(1, true)],
  ['gemv4Abs', 0, () => gemvBody(4, true)],
  ['chol', 4, () => cholBody(CHOL_ROWS)],
  ['ddres', 3, ddresBody],
  ['exp', 5, expBody]
]

/**
 * The module's bytes: imports `env.mem`; exports `gemv` (one row per pass), `gemv4` (four
 * rows per pass), `gemvT` and `batchT2` (Aᵀ x for 2 vectors), all (i32 a, i32 x, i32 y,
 * i32 n) → (); `band1`, `band2` (A x over a band of rows for 1 or 2 vectors: i32 a, x, y,
 * n, rows); the probes `stream`, `stream4` (i32 a, i32 bytes) → f64; `sym` (i32 a,
 * i32 n) → i32, whether A = Aᵀ; `gemvAbs`, `gemv4Abs` (as `gemv`, `gemv4`), y = |A| x;
 * `chol` (i32 base, i32 m, i32 pivot, f64 thresh) → i32, the pivoted Cholesky
 * factorization, returning the rank; `ddres` (i32 h, x, b, out, m), the residual
 * b − H x in double-double; and `exp` (i32 src, dst, n), Math.exp entry by entry.
 *
 * @example
 * WebAssembly.validate(moduleBytes()) // true where wasm SIMD runs
 */
export const moduleBytes = (): Uint8Array => {
  const fnType = [0x60, ...vec([[I32], [I32], [I32], [I32]]), 0]
  const streamType = [0x60, ...vec([[I32], [I32]]), ...vec([[F64]])]
  const symType = [0x60, ...vec([[I32], [I32]]), ...vec([[I32]])]
  const bandType = [0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), 0]
  const cholType = [0x60, ...vec([[I32], [I32], [I32], [F64]]), ...vec([[I32]])]
  const expType = [0x60, ...vec([[I32], [I32], [I32]]), 0]
  const body = (b: number[]): number[] => [...uleb(b.length), ...b]
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([fnType, streamType, symType, bandType, cholType, expType])),
    ...section(2, vec([[...str('env'), ...str('mem'), 0x02, 0x00, 0x01]])),
    ...section(3, vec(FUNCTIONS.map(([, t]) => [t]))),
    ...section(7, vec(FUNCTIONS.map(([name], k) => [...str(name), 0x00, ...uleb(k)]))),
    ...section(10, vec(FUNCTIONS.map(([, , b]) => body(b()))))
  ])
}

// -------------------------------------------------------------------------------------
// the arena: one memory, first-fit blocks, freed when the matrix is collected
// -------------------------------------------------------------------------------------

type Kernel = (a: number, x: number, y: number, n: number) => void
type Band = (a: number, x: number, y: number, n: number, rows: number) => void
type Stream = (a: number, bytes: number) => number

/** The part of the WebAssembly API used here (the project's `lib` has no DOM types). */
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
interface WasmApi {
  validate(bytes: Uint8Array): boolean
  readonly Memory: new (d: { readonly initial: number }) => WasmMemory
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (m: object, imports: object) => { readonly exports: object }
}

interface Wasm {
  readonly memory: WasmMemory
  readonly gemv: Kernel
  readonly gemv4: Kernel
  readonly gemvT: Kernel
  readonly band1: Band
  readonly band2: Band
  readonly batchT2: Kernel
  readonly stream: Stream
  readonly stream4: Stream
  readonly sym: (a: number, n: number) => number
  readonly gemvAbs: Kernel
  readonly gemv4Abs: Kernel
  readonly chol: (base: number, m: number, pivot: number, thresh: number) => number
  readonly ddres: Band
  readonly exp: (src: number, dst: number, n: number) => void
}

const PAGE = 65536
/**
 * Bytes of matrices the arena holds at most (beyond that, the JavaScript loops run).
 *
 * @example
 * arenaBytes() <= ARENA_LIMIT // always
 */
export const ARENA_LIMIT = 1.5 * 2 ** 30

const instantiate = (): Wasm | undefined => {
  try {
    const WA = (globalThis as { readonly WebAssembly?: WasmApi }).WebAssembly
    if (WA === undefined) return undefined
    const bytes = moduleBytes()
    if (!WA.validate(bytes)) return undefined
    const memory = new WA.Memory({ initial: 1 })
    const inst = new WA.Instance(new WA.Module(bytes), { env: { mem: memory } })
    return { memory, ...(inst.exports as unknown as Omit<Wasm, 'memory'>) }
  } catch {
    return undefined
  }
}

let wasm: Wasm | undefined | null = null
const getWasm = (): Wasm | undefined => {
  if (wasm === null) wasm = typeof process !== 'undefined' && process.env['DFW_NO_SIMD'] === '1' ? undefined : instantiate()
  return wasm
}

/**
 * Whether the WebAssembly SIMD kernels are in use (false: the JavaScript loops run; set DFW_NO_SIMD=1 to force that).
 *
 * @example
 * simdAvailable() // true under Node ≥ 20
 */
export const simdAvailable = (): boolean => getWasm() !== undefined

/** Free blocks [offset, size), sorted by offset; `top` is the end of the used region. */
const free: Array<[number, number]> = []
let top = 0
let held = 0

const align = (b: number): number => (b + 63) & ~63

const alloc = (w: Wasm, bytes: number): number | undefined => {
  const size = align(bytes)
  for (let k = 0; k < free.length; k++) {
    const [off, sz] = free[k]!
    if (sz >= size) {
      if (sz === size) free.splice(k, 1)
      else free[k] = [off + size, sz - size]
      return off
    }
  }
  const need = top + size
  const have = w.memory.buffer.byteLength
  if (need > have) {
    try { w.memory.grow(Math.ceil((need - have) / PAGE)) } catch { return undefined }
  }
  const off = top
  top = need
  return off
}

const release = (off: number, bytes: number): void => {
  const size = align(bytes)
  let k = 0
  while (k < free.length && free[k]![0] < off) k++
  free.splice(k, 0, [off, size])
  // coalesce with the neighbours
  if (k + 1 < free.length && free[k]![0] + free[k]![1] === free[k + 1]![0]) { free[k]![1] += free[k + 1]![1]; free.splice(k + 1, 1) }
  if (k > 0 && free[k - 1]![0] + free[k - 1]![1] === free[k]![0]) { free[k - 1]![1] += free[k]![1]; free.splice(k, 1) }
  const last = free[free.length - 1]
  if (last !== undefined && last[0] + last[1] === top) { top = last[0]; free.pop() }
}

// -------------------------------------------------------------------------------------
// calls: when a resident copy may be trusted
// -------------------------------------------------------------------------------------

/** Bumped by every beginCall and endCall: a copy or a fact stamped with another epoch is stale. */
let epoch = 1
let inCall = false

/**
 * Starts a call: from now until {@link endCall} (or the end of the current synchronous
 * job, whichever comes first) each matrix is copied into the kernels' memory on its first
 * product and the copy serves the call's later products. Every resident copy taken
 * before is stale from here on (it is refreshed on its first use), so a write made to a
 * matrix between two calls is always seen by the second. The layer and the batch engine
 * call this at the start of every call; during a call the inputs must not be written.
 * Calls do not nest: a beginCall inside a call starts a new one (correct, at the price of
 * one more copy per matrix).
 *
 * @example
 * beginCall()
 * for (let k = 0; k < K; k++) denseApplyInto(P, n, s, ps) // one copy of P, K products
 * endCall()
 */
export const beginCall = (): void => {
  epoch++
  inCall = true
  // one pending microtask closes a call still open when the synchronous job ends: a
  // microtask per call would pile up unrun through a synchronous training loop (the
  // queue is a root: ~260 bytes per call, and every closure kept through each
  // young-generation collection until the loop yields)
  if (!closeQueued) { closeQueued = true; queueMicrotask(closeStray) }
}

let closeQueued = false
/** At the end of a synchronous job: the call still open (no endCall since its beginCall) is closed. */
const closeStray = (): void => { closeQueued = false; inCall = false }

/**
 * Ends the current call: later products copy their matrix afresh each time until the next
 * {@link beginCall}. Harmless outside a call.
 *
 * @example
 * beginCall(); const y = solve(P); endCall()
 */
export const endCall = (): void => {
  epoch++
  inCall = false
}

/**
 * The current call's number while a call is open, −1 outside calls: what a cache of facts
 * about the inputs may be keyed on, so that it is trusted within one call only (as the
 * resident copies are).
 *
 * @example
 * beginCall(); callEpoch() // a positive number, the same until endCall
 */
export const callEpoch = (): number => (inCall ? epoch : -1)

/**
 * Whether a call is open (the kernels reuse resident copies; for tests and benches).
 *
 * @example
 * beginCall(); inCallNow() // true
 */
export const inCallNow = (): boolean => inCall

interface Entry {
  /** The size the matrix was first multiplied as (a later product as another size bypasses the copy). */
  readonly n: number
  /** Byte offset of the copy in the arena, or −1 (none yet, or no room). */
  off: number
  /** The epoch the copy was last brought up to date in (trusted only while that epoch is a call's). */
  copied: number
  /** Whether A = Aᵀ exactly: of the resident copy when `symOfCopy`, else of A as found in epoch `symAt`. */
  symmetric: boolean
  symOfCopy: boolean
  symAt: number
  /** The epoch of the copy's last use (which copy to give up first when room runs out). */
  used: number
}

const entries = new WeakMap<Float64Array, Entry>()
/** The entries that hold a copy, oldest use first as far as eviction needs. */
const holding = new Set<Entry>()

/** Gives up e's copy (its matrix takes a fresh one on its next use). */
const drop = (e: Entry): void => {
  if (e.off < 0) return
  const bytes = 8 * e.n * e.n
  release(e.off, bytes)
  held -= bytes
  e.off = -1
  e.symOfCopy = false
  holding.delete(e)
  registry.unregister(e)
}

const registry = new FinalizationRegistry<Entry>(drop)

/**
 * Bytes of copies the arena keeps of matrices not used in the current call: a new copy
 * that would pass this gives up the copies used longest ago first (each taken again on
 * its next use), so a caller who hands the layer a fresh matrix every call (P trained,
 * or rebuilt from a tensor) does not fill the arena with copies waiting for the garbage
 * collector. Copies in use in the current call are never given up; past the budget they
 * may still grow to {@link ARENA_LIMIT}.
 *
 * @example
 * arenaBytes() <= Math.max(RESIDENT_BUDGET, bytesInUseThisCall) // between calls
 */
export const RESIDENT_BUDGET = 256 * 2 ** 20

/** Makes room for `bytes` more within the budget by dropping copies not used in this call, oldest first. */
const makeRoom = (bytes: number): void => {
  if (held + bytes <= RESIDENT_BUDGET) return
  const old = [...holding].filter((e) => !(inCall && e.used === epoch)).sort((a, b) => a.used - b.used)
  for (const e of old) {
    if (held + bytes <= RESIDENT_BUDGET) break
    drop(e)
  }
}

const entryOf = (A: Float64Array, n: number): Entry | undefined => {
  let e = entries.get(A)
  if (e === undefined) { e = { n, off: -1, copied: 0, symmetric: false, symOfCopy: false, symAt: 0, used: 0 }; entries.set(A, e) }
  return e.n === n ? e : undefined
}

/** Scratch for vectors, grown as needed. */
let scratch = -1, scratchBytes = 0

const scratchFor = (w: Wasm, bytes: number): number | undefined => {
  if (bytes <= scratchBytes) return scratch
  if (scratch >= 0) release(scratch, scratchBytes)
  const s = alloc(w, bytes)
  if (s === undefined) { scratch = -1; scratchBytes = 0; return undefined }
  scratch = s
  scratchBytes = bytes
  return scratch
}

/**
 * Whether A = Aᵀ exactly (compared with `!==`, so +0 and −0 count as equal, which no
 * product can tell apart since every sum starts from +0, and a NaN never does): the
 * kernel `sym`'s answer, tile by tile in the same way.
 *
 * @example
 * isSymmetric(new Float64Array([1, 2, 2, 1]), 2) // true
 */
export const isSymmetric = (A: Float64Array, n: number): boolean => {
  for (let I = 0; I < n; I += SYM_TILE) {
    const Ie = Math.min(n, I + SYM_TILE)
    for (let J = I; J < n; J += SYM_TILE) {
      const Je = Math.min(n, J + SYM_TILE)
      for (let i = I; i < Ie; i++) {
        const r = i * n
        for (let j = J > i + 1 ? J : i + 1; j < Je; j++) if (A[r + j] !== A[j * n + i]) return false
      }
    }
  }
  return true
}

/**
 * Whether A is exactly symmetric. With a resident copy at `off` (just brought up to date):
 * the kernel `sym` on the copy, the data the kernels multiply, kept until the copy's
 * content changes. Without one: A checked once per call (every time outside one).
 */
const symmetricNow = (w: Wasm | undefined, off: number, A: Float64Array, e: Entry, n: number): boolean => {
  if (w !== undefined && off >= 0) {
    if (!e.symOfCopy) { e.symmetric = w.sym(off, n) === 1; e.symOfCopy = true }
    return e.symmetric
  }
  if (inCall && e.symAt === epoch) return e.symmetric
  e.symmetric = isSymmetric(A, n)
  e.symAt = inCall ? epoch : 0
  return e.symmetric
}

/**
 * The first index k < len with A[k] !== C[k], or len. `!==` misses only a change of a
 * zero's sign, which no product can see (every sum starts from +0) and the symmetry check
 * ignores too; a NaN always counts as a change.
 */
const firstDifference = (A: Float64Array, C: Float64Array, len: number): number => {
  const n8 = len & ~7
  let i = 0
  for (; i < n8; i += 8) {
    if (A[i] !== C[i] || A[i + 1] !== C[i + 1] || A[i + 2] !== C[i + 2] || A[i + 3] !== C[i + 3] ||
      A[i + 4] !== C[i + 4] || A[i + 5] !== C[i + 5] || A[i + 6] !== C[i + 6] || A[i + 7] !== C[i + 7]) break
  }
  for (; i < len; i++) if (A[i] !== C[i]) return i
  return len
}

/**
 * Below this size the JavaScript loop is as fast as the call and the copies of x and y.
 *
 * @example
 * n >= SIMD_MIN_N // the kernels are used for this size
 */
export const SIMD_MIN_N = 16

/**
 * Matrices of at least this many bytes take the four-rows-per-pass kernel (a matrix out of
 * the caches needs several streams in flight to reach the memory's speed; one in the
 * caches runs faster one row at a time). Tuned on a 2-core AMD EPYC (32 MiB L3); the two
 * kernels agree bitwise, so this changes the speed only.
 *
 * @example
 * 8 * n * n >= FOUR_ROWS_BYTES // gemv4 runs
 */
export const FOUR_ROWS_BYTES = 16 * 2 ** 20

/**
 * The offset of A's resident copy, brought up to date unless that was done in the current
 * call; −1 when the JavaScript loop should run (the arena is full). Up to date means
 * copied again, or, for a matrix of {@link FOUR_ROWS_BYTES} or more, compared with the
 * copy and copied from the first difference on: out of the caches a comparison costs
 * about what a copy does, and an unchanged matrix keeps what is known about it (its
 * symmetry). In the caches a copy is several times faster than the comparison loop.
 */
const resident = (w: Wasm, A: Float64Array, n: number, e: Entry): number => {
  const len = n * n, bytes = 8 * len
  e.used = epoch
  if (e.off < 0) {
    makeRoom(bytes)
    if (held + bytes > ARENA_LIMIT) return -1
    const off = alloc(w, bytes)
    if (off === undefined) return -1
    held += bytes
    registry.register(A, e, e)
    holding.add(e)
    e.off = off
    new Float64Array(w.memory.buffer, off, len).set(A.subarray(0, len))
    e.symOfCopy = false
  } else if (inCall && e.copied === epoch) return e.off
  else {
    const C = new Float64Array(w.memory.buffer, e.off, len)
    const k = bytes >= FOUR_ROWS_BYTES ? firstDifference(A, C, len) : 0
    if (k < len) { C.set(A.subarray(k, len), k); e.symOfCopy = false }
  }
  e.copied = inCall ? epoch : 0
  return e.off
}

const run = (w: Wasm, k: Kernel, off: number, x: Float64Array, y: Float64Array, n: number): boolean => {
  const s = scratchFor(w, 16 * n)
  if (s === undefined) return false
  const buf = w.memory.buffer
  new Float64Array(buf, s, n).set(x.subarray(0, n))
  k(off, s, s + 8 * n, n)
  y.set(new Float64Array(buf, s + 8 * n, n))
  return true
}

/**
 * A of at least this many bytes is multiplied with a batch band by band: bands of rows
 * that fit in L2 (256 KiB) run over every vector before the next band, so A streams from
 * memory once per batch instead of once per pair of vectors. Smaller, A stays in the
 * caches and the pairs run over the whole matrix.
 *
 * @example
 * 8 * n * n >= BAND_BYTES // a batch is multiplied band by band
 */
export const BAND_BYTES = 4 * 2 ** 20

/** The kernels over a batch: pairs of vectors (band2), the last one alone; band by band for a large A. */
const runBatch = (w: Wasm, trans: boolean, off: number, X: Float64Array, B: number, Y: Float64Array, n: number): boolean => {
  const len = B * n
  const s = scratchFor(w, 16 * len)
  if (s === undefined) return false
  const buf = w.memory.buffer
  new Float64Array(buf, s, len).set(X.subarray(0, len))
  const ys = s + 8 * len, nb = 8 * n
  let b = 0
  if (trans) {
    for (; b + 2 <= B; b += 2) w.batchT2(off, s + b * nb, ys + b * nb, n)
    for (; b < B; b++) w.gemvT(off, s + b * nb, ys + b * nb, n)
  } else if (8 * n * n < BAND_BYTES) {
    for (; b + 2 <= B; b += 2) w.band2(off, s + b * nb, ys + b * nb, n, n)
    if (b < B) w.gemv(off, s + b * nb, ys + b * nb, n)
  } else {
    const rows = Math.max(4, Math.floor(2 ** 18 / nb))
    for (let r0 = 0; r0 < n; r0 += rows) {
      const m = Math.min(rows, n - r0), a = off + r0 * nb
      for (b = 0; b + 2 <= B; b += 2) w.band2(a, s + b * nb, ys + b * nb + 8 * r0, n, m)
      if (b < B) w.band1(a, s + b * nb, ys + b * nb + 8 * r0, n, m)
    }
  }
  Y.set(new Float64Array(buf, ys, len))
  return true
}

// -------------------------------------------------------------------------------------
// the products
// -------------------------------------------------------------------------------------

/**
 * y ← A x for the row-major n × n matrix A: the SIMD kernel on A's resident copy (see the
 * module note for when it is refreshed) when available, else {@link gemvLanes}; the two
 * agree bitwise. `y` must not alias `x`.
 *
 * @example
 * denseApplyInto(A, n, x, y)
 */
export const denseApplyInto = (A: Float64Array, n: number, x: Float64Array, y: Float64Array): void => {
  const w = n >= SIMD_MIN_N ? getWasm() : undefined
  const e = w === undefined ? undefined : entryOf(A, n)
  if (w !== undefined && e !== undefined) {
    const off = resident(w, A, n, e)
    if (off >= 0 && run(w, rowKernel(w, n), off, x, y, n)) return
  }
  gemvLanes(A, n, x, y)
}

const rowKernel = (w: Wasm, n: number): Kernel => (8 * n * n >= FOUR_ROWS_BYTES ? w.gemv4 : w.gemv)

/**
 * y ← the row sums of |A| (yᵢ = Σⱼ |Aᵢⱼ|) for the row-major n × n matrix A: the kernel
 * `gemvAbs` (or `gemv4Abs` for a large A) on A's resident copy when available, else
 * {@link absRowSumsLanes}; the two agree bitwise. The copy is the one the products of the
 * call then use, so validating P and multiplying by it read it from memory once each.
 *
 * @example
 * denseAbsRowSumsInto(A, n, y) // y[i] = Σⱼ |A[i][j]|
 */
export const denseAbsRowSumsInto = (A: Float64Array, n: number, y: Float64Array): void => {
  const w = n >= SIMD_MIN_N ? getWasm() : undefined
  const e = w === undefined ? undefined : entryOf(A, n)
  if (w !== undefined && e !== undefined) {
    const off = resident(w, A, n, e)
    if (off >= 0 && run(w, 8 * n * n >= FOUR_ROWS_BYTES ? w.gemv4Abs : w.gemvAbs, off, new Float64Array(n).fill(1), y, n)) return
  }
  absRowSumsLanes(A, n, y)
}

/**
 * Whether the row-major n × n A equals its transpose exactly (`!==`, so +0 = −0 and a
 * NaN is never equal): the kernel `sym` on A's resident copy when available (its answer
 * kept until the copy's content changes, see the module notes), else {@link isSymmetric}
 * (once per call). This is the fact {@link denseApplyTInto} already relies on; the
 * validation asks it first and runs its entry-by-entry tolerance rule only when the
 * answer is no.
 *
 * @example
 * denseSymmetricExactly(new Float64Array([1, 2, 2, 1]), 2) // true
 */
export const denseSymmetricExactly = (A: Float64Array, n: number): boolean => {
  const e = n < SIMD_MIN_N ? undefined : entryOf(A, n)
  if (e === undefined) return isSymmetric(A, n)
  const w = getWasm()
  const off = w === undefined ? -1 : resident(w, A, n, e)
  return symmetricNow(w, off, A, e, n)
}

/**
 * y ← Aᵀ x. For n ≥ {@link SIMD_MIN_N} and an exactly symmetric A (checked once per call,
 * on the matrix's first transposed product, and on every one outside a call) this is
 * {@link denseApplyInto}, the faster row form; otherwise the SIMD transposed kernel or
 * {@link gemvTLoop}, bitwise equal. `y` must not alias `x`.
 *
 * @example
 * denseApplyTInto(A, n, x, y)
 */
export const denseApplyTInto = (A: Float64Array, n: number, x: Float64Array, y: Float64Array): void => {
  const e = n < SIMD_MIN_N ? undefined : entryOf(A, n)
  if (e === undefined) return gemvTLoop(A, n, x, y)
  const w = getWasm()
  const off = w === undefined ? -1 : resident(w, A, n, e)
  const sym = symmetricNow(w, off, A, e, n)
  if (w !== undefined && off >= 0 && run(w, sym ? rowKernel(w, n) : w.gemvT, off, x, y, n)) return
  if (sym) gemvLanes(A, n, x, y)
  else gemvTLoop(A, n, x, y)
}

/**
 * Y ← X Aᵀ: y_b = A x_b for the B rows of the row-major B × n X into the B rows of Y, two
 * vectors per pass over A (and, for A of {@link BAND_BYTES} or more, band by band, so that
 * A streams from memory once per batch). Each y_b is bitwise what `denseApplyInto(A, n, x_b,
 * y_b)` gives (and what {@link gemvLanesBatch} gives), so a batch of one is a single
 * product and a batch is its instances done alone. Same resident-copy rules as the single
 * product. `Y` must not alias `X`.
 *
 * @example
 * denseApplyBatchInto(P, n, X, B, Y) // row b of Y = P · row b of X
 */
export const denseApplyBatchInto = (A: Float64Array, n: number, X: Float64Array, B: number, Y: Float64Array): void => {
  const w = n >= SIMD_MIN_N && B > 0 ? getWasm() : undefined
  const e = w === undefined ? undefined : entryOf(A, n)
  if (w !== undefined && e !== undefined) {
    const off = resident(w, A, n, e)
    if (off >= 0 && runBatch(w, false, off, X, B, Y, n)) return
  }
  gemvLanesBatch(A, n, X, B, Y)
}

/**
 * Y ← X A: y_b = Aᵀ x_b for every row of X. Each y_b is bitwise what
 * `denseApplyTInto(A, n, x_b, y_b)` gives: the row form for an exactly symmetric A, else
 * the transposed kernel two vectors at a time (or {@link gemvTLoopBatch}). `Y` must not
 * alias `X`.
 *
 * @example
 * denseApplyTBatchInto(A, n, X, B, Y) // row b of Y = Aᵀ · row b of X
 */
export const denseApplyTBatchInto = (A: Float64Array, n: number, X: Float64Array, B: number, Y: Float64Array): void => {
  const e = n < SIMD_MIN_N || B === 0 ? undefined : entryOf(A, n)
  if (e === undefined) return gemvTLoopBatch(A, n, X, B, Y)
  const w = getWasm()
  const off = w === undefined ? -1 : resident(w, A, n, e)
  const sym = symmetricNow(w, off, A, e, n)
  if (w !== undefined && off >= 0 && runBatch(w, !sym, off, X, B, Y, n)) return
  if (sym) gemvLanesBatch(A, n, X, B, Y)
  else gemvTLoopBatch(A, n, X, B, Y)
}

// -------------------------------------------------------------------------------------
// the factorization
// -------------------------------------------------------------------------------------

/**
 * From this size on {@link pivotedCholesky} runs the kernel `chol`; below it copying S in
 * and L out costs more than the SIMD loop saves. The two agree bitwise, so this changes
 * the speed only.
 *
 * @example
 * m >= CHOLESKY_MIN_M // the kernel factors an m × m matrix
 */
export const CHOLESKY_MIN_M = 24

/**
 * The kernel `chol` on S (m × m, full symmetric, not written), whatever m: S copied into
 * the scratch, L, d and order copied out. Undefined without SIMD or when the memory
 * cannot grow; bitwise {@link pivotedCholeskyLoop} otherwise. For tests and benches;
 * {@link pivotedCholesky} is what the library calls.
 *
 * @example
 * pivotedCholeskyKernel(S, m, true, 1e-13)?.rank
 */
export const pivotedCholeskyKernel = (S: Float64Array, m: number, pivot: boolean, thresh: number): PivotedCholesky | undefined => {
  const w = getWasm()
  if (w === undefined) return undefined
  const mm = m * m
  const base = scratchFor(w, Math.max(64, 16 * mm + 12 * m))
  if (base === undefined) return undefined
  const buf = w.memory.buffer
  new Float64Array(buf, base, mm).set(S.subarray(0, mm))
  const d = new Float64Array(buf, base + 16 * mm, m)
  const order = new Int32Array(buf, base + 16 * mm + 8 * m, m)
  for (let i = 0; i < m; i++) { d[i] = S[i * m + i]!; order[i] = i }
  const rank = w.chol(base, m, pivot ? 1 : 0, thresh)
  // the kernel reads only entries it wrote, so its L is not cleared: what it wrote (row p,
  // columns below min(p + 1, rank)) goes into a zero L
  const Lw = new Float64Array(buf, base + 8 * mm, mm), L = new Float64Array(mm)
  for (let p = 0, o = 0; p < m; p++, o += m) { const e = o + Math.min(p + 1, rank); for (let q = o; q < e; q++) L[q] = Lw[q]! }
  return { L, order: order.slice(), d: d.slice(), rank }
}

/**
 * The pivoted Cholesky factorization Πᵀ S Π = L Lᵀ of the full symmetric m × m S
 * (row-major, not written), stopping at the first pivot at or below `thresh`: the
 * kernel `chol` for m ≥ {@link CHOLESKY_MIN_M} when SIMD runs, else
 * {@link pivotedCholeskyLoop}; the two agree bitwise (same operations, same order).
 *
 * @example
 * pivotedCholesky(new Float64Array([4, 2, 2, 3]), 2, true, 0).L // [2, 0, 1, √2]
 */
export const pivotedCholesky = (S: Float64Array, m: number, pivot: boolean, thresh: number): PivotedCholesky =>
  (m >= CHOLESKY_MIN_M ? pivotedCholeskyKernel(S, m, pivot, thresh) : undefined) ?? pivotedCholeskyLoop(S, m, pivot, thresh)

// -------------------------------------------------------------------------------------
// the residual in double-double
// -------------------------------------------------------------------------------------

/**
 * From this size on {@link ddResidualInto} runs the kernel `ddres` (below it, the copy of
 * H and the call cost more than they save). The two agree bitwise.
 *
 * @example
 * m >= DD_MIN_M // the kernel computes the residual
 */
export const DD_MIN_M = 16

/**
 * The kernel `ddres` on H (m × m, not written), x and b, whatever m: hi and lo of every
 * row written (see {@link ddResidualLoop}); false without SIMD or when the memory cannot
 * grow (nothing written). For tests and benches; {@link ddResidualInto} is what the
 * library calls.
 *
 * @example
 * ddResidualKernel(H, m, x, b, hi, lo) // true where SIMD runs
 */
export const ddResidualKernel = (H: Float64Array, m: number, x: Float64Array, b: Float64Array, hi: Float64Array, lo: Float64Array): boolean => {
  const w = getWasm()
  if (w === undefined) return false
  const mm = m * m
  const base = scratchFor(w, Math.max(64, 8 * mm + 48 * m))
  if (base === undefined) return false
  const buf = w.memory.buffer
  const xo = base + 8 * mm, bo = xo + 8 * m, oo = bo + 8 * m
  new Float64Array(buf, base, mm).set(H.subarray(0, mm))
  new Float64Array(buf, xo, m).set(x.subarray(0, m))
  new Float64Array(buf, bo, m).set(b.subarray(0, m))
  w.ddres(base, xo, bo, oo, m)
  hi.set(new Float64Array(buf, oo, m))
  lo.set(new Float64Array(buf, oo + 8 * m, m))
  return true
}

/**
 * The double-double residual b − H x of {@link ddResidualLoop} (hi and lo per row, not
 * rounded): the kernel `ddres` for m ≥ {@link DD_MIN_M} when SIMD runs, else the loop;
 * bitwise the same.
 *
 * @example
 * ddResidualInto(H, m, x, b, hi, lo)
 */
export const ddResidualInto = (H: Float64Array, m: number, x: Float64Array, b: Float64Array, hi: Float64Array, lo: Float64Array): void => {
  if (m >= DD_MIN_M && ddResidualKernel(H, m, x, b, hi, lo)) return
  ddResidualLoop(H, m, x, b, hi, lo)
}

// -------------------------------------------------------------------------------------
// the exponential
// -------------------------------------------------------------------------------------

let expEnabled = true

/**
 * Turns the kernel `exp` on (the default) or off (it then declines, as without SIMD, and
 * the batch's head pass runs `Math.exp` inline); returns the previous setting. Internal:
 * for the tests that hold both paths equal.
 *
 * @example
 * const was = setExpKernel(false)
 * try { run() } finally { setExpKernel(was) }
 */
export const setExpKernel = (on: boolean): boolean => {
  const was = expEnabled
  expEnabled = on
  return was
}

/**
 * Whether {@link expKernel} runs (SIMD available and the kernel not switched off).
 *
 * @example
 * expKernelOn() // true under Node ≥ 20
 */
export const expKernelOn = (): boolean => expEnabled && getWasm() !== undefined

/**
 * The kernel `exp`: dst[i] ← Math.exp(src[i]) for from ≤ i < from + len, bitwise (fdlibm's
 * __ieee754_exp, which V8's Math.exp is, on f64x2 lanes with the same operations in the
 * same order, its branches as lane selects), src copied into the scratch and the results
 * out (dst may be src). False, with nothing written, without SIMD, when switched off
 * ({@link setExpKernel}) or when the memory cannot grow.
 *
 * @example
 * expKernel(a, a, a.length) // a[i] = Math.exp(a[i]) where SIMD runs
 */
export const expKernel = (src: Float64Array, dst: Float64Array, len: number, from = 0): boolean => {
  const w = expEnabled ? getWasm() : undefined
  if (w === undefined) return false
  const s = scratchFor(w, Math.max(64, 8 * len))
  if (s === undefined) return false
  const v = new Float64Array(w.memory.buffer, s, len)
  v.set(src.subarray(from, from + len))
  w.exp(s, s, len)
  dst.set(v, from)
  return true
}

/**
 * dst[i] ← Math.exp(src[i]) for from ≤ i < from + len (dst may be src): the kernel `exp` where it runs,
 * else `Math.exp` entry by entry; bitwise the same.
 *
 * @example
 * expInto(a, a, a.length)
 */
export const expInto = (src: Float64Array, dst: Float64Array, len: number, from = 0): void => {
  if (expKernel(src, dst, len, from)) return
  for (let i = from; i < from + len; i++) dst[i] = Math.exp(src[i]!)
}

// -------------------------------------------------------------------------------------
// for benches and tests
// -------------------------------------------------------------------------------------

/**
 * The single-vector kernels on a copy of A taken once, for benches and tests that
 * separate the kernel from the copies: `apply(which, x, y)` runs `gemv` (one row per
 * pass), `gemv4` (four) or `gemvT` on it, `symmetric()` runs the kernel `sym`, and
 * `release` frees the copy. Undefined without SIMD.
 *
 * @example
 * const k = kernelProbe(A, n); k?.apply('gemv4', x, y); k?.release()
 */
export const kernelProbe = (A: Float64Array, n: number): {
  readonly apply: (which: 'gemv' | 'gemv4' | 'gemvT', x: Float64Array, y: Float64Array) => void
  readonly symmetric: () => boolean
  readonly release: () => void
} | undefined => {
  const w = getWasm()
  if (w === undefined) return undefined
  const bytes = 8 * n * n
  const off = alloc(w, bytes)
  if (off === undefined) return undefined
  new Float64Array(w.memory.buffer, off, n * n).set(A.subarray(0, n * n))
  return {
    apply: (which, x, y) => { run(w, w[which], off, x, y, n) },
    symmetric: () => w.sym(off, n) === 1,
    release: () => release(off, bytes)
  }
}

/**
 * A memory-bandwidth probe for benches: allocates `bytes` (rounded up to 256) in the arena
 * and returns a function that streams through them once with f64x2 loads (summing, so
 * nothing is optimized away) and returns the sum, reading one stream (`streams: 1`) or
 * four interleaved ones (`4`: quarters of the block side by side, as four rows of a
 * matrix are read); `release` frees the block. Undefined without SIMD.
 *
 * @example
 * const p = streamProbe(256 * 2 ** 20); p?.read(); p?.release()
 */
export const streamProbe = (bytes: number, streams: 1 | 4 = 1): { readonly bytes: number; readonly read: () => number; readonly release: () => void } | undefined => {
  const w = getWasm()
  if (w === undefined) return undefined
  const size = Math.ceil(bytes / 256) * 256
  const off = alloc(w, size)
  if (off === undefined) return undefined
  new Float64Array(w.memory.buffer, off, size / 8).fill(1)
  const f = streams === 4 ? w.stream4 : w.stream
  return { bytes: size, read: () => f(off, size), release: () => release(off, size) }
}

/**
 * Bytes of matrices currently copied into the arena (for benches and tests).
 *
 * @example
 * arenaBytes() // 0 before any matrix has been multiplied
 */
export const arenaBytes = (): number => held
