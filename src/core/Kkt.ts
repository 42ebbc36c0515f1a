/**
 * Direct and iterative solves of the symmetric bordered (KKT) system of a quadratic on a
 * face,
 *
 *     [H + σI  Eᵀ] [x]   [b]
 *     [E       0 ] [ν] = [c],
 *
 * with H m × m symmetric PSD (dense, diagonal plus low rank, or matrix-free), σ = `shift`
 * and E k × m (possibly with dependent rows). A solver is built once per face and reused
 * for many right-hand sides; the map (b, c) ↦ (x, ν) is linear and symmetric for every
 * method (up to rounding for the direct methods, up to the tolerance for PCG), so a JVP
 * and a VJP that go through one solver are transposes of each other.
 *
 * Methods:
 * - `cholesky` (dense H): the augmented M = H + σI + ρ EᵀE with ρ = max diag(H + σI) /
 *   max diag(EᵀE) (1 when H + σI has no positive diagonal), which leaves the system
 *   unchanged (H x + Eᵀν = b, E x = c ⇔ M x + Eᵀν = b + ρ Eᵀc, E x = c) and is positive
 *   definite iff null(H + σI) ∩ null(E) = {0}; pivoted Cholesky of M (`Cholesky.ts`), then
 *   ν from the k × k Schur complement S = E M⁺ Eᵀ = (E F)(E F)ᵀ (M⁺ = F Fᵀ, the half
 *   solves of `Cholesky.ts`), factored from the rows of E F by `gramFactor` (the rank of
 *   E decided on norms; minimum-norm ν when E has dependent rows), and
 *   x = M⁺(b + ρEᵀc − Eᵀν). When M is singular, x is the minimum-norm solution. Then
 *   iterative refinement on the full bordered residual.
 * - `woodbury` (diag(d) + W Wᵀ): the same steps with M⁻¹ by the Woodbury identity on
 *   D = diag(d) + σI and W′ = [W, √ρ Eᵀ] (a pivoted Cholesky of the (r + k) × (r + k)
 *   capacitance I + W′ᵀD⁻¹W′); S = E M⁻¹ Eᵀ is formed and factored by pivoted Cholesky
 *   (no half splitting here), so rows of E within relative distance about √pivotTol ≈ 3e-7
 *   of the others' span count as dependent; the residual then shows the miss. When
 *   min D ≤ `woodburyTol` · max diag(H + σI) it falls back to the dense method
 *   (m ≤ `denseLimit`) or to PCG.
 * - `pcg` (matrix-free H): projected preconditioned CG (Gould, Hribar and Nocedal) with
 *   the Jacobi preconditioner G = diag(H) + σ (entries ≤ 1e-14 · max G replaced by
 *   max G) and the constraint projection Π = G⁻¹ − G⁻¹Eᵀ(EG⁻¹Eᵀ)⁺EG⁻¹, with EG⁻¹Eᵀ
 *   factored from the rows of E G^(−1/2) by `gramFactor` and Π applied with one
 *   correction step (so that E Π r = 0 to rounding), started from the particular
 *   solution x₀ = G⁻¹Eᵀ(EG⁻¹Eᵀ)⁺c of E x = c (refined once). Its stop test is on the
 *   true residual: whenever the recursive residual claims convergence, and every
 *   `checkEvery` iterations, the residual is recomputed with a fresh product and replaces
 *   the recursive one (restarting the directions when the two differ by more than 2×).
 *
 * Tolerances: Cholesky pivots as in `Cholesky.ts` (relative 1e-13 by default, for M and
 * for Woodbury's matrices); the rank of E decided on norms at relative 1e-10 (dense,
 * PCG); the direct methods refine until ω ≤ ε, until a step no longer halves ω, or 3
 * steps (a step that does not lower ω is rejected); PCG stops at ω ≤ 1e-12; Woodbury
 * runs only when min D > 1e-8 · max diag(H + σI).
 *
 * The reported `residual` is the blockwise normwise backward error
 *
 *     ω = max( ‖b − (H + σI)x − Eᵀν‖∞ / (‖b‖∞ + ‖H + σI‖∞‖x‖∞ + ‖Eᵀ‖∞‖ν‖∞),
 *              ‖c − E x‖∞ / (‖c‖∞ + ‖E‖∞‖x‖∞) ),
 *
 * each ratio 0 when its numerator is 0, computed from the stored H and E (not from a
 * factor). It is invariant under H → sH, b → sb, ν → sν, so tiny and huge scales of H
 * mix with an unscaled E. ‖H + σI‖∞ is exact for dense H, an upper bound for diag + low
 * rank, and a running lower estimate (the largest ‖H p‖∞/‖p‖∞ seen) for an operator.
 *
 * Interfaces are pure: a solve allocates its outputs and never writes into b, c or the
 * system's arrays; the arrays of a system must not change while its solver is in use.
 * Wrong lengths throw a RangeError.
 *
 * @since 0.1.0
 */
import { type CholeskyFactor, type NegativeCurvature, cholesky, forSolves, gramFactor, halfSolve, halfSolveInto, halfSolveTInto, solveCholesky } from './Cholesky.js'
import { ddResidualInto } from './simd.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The Hessian block: dense (m × m row-major symmetric, only the lower triangle is read),
 * diag(d) + W Wᵀ (W m × r row-major, d ≥ 0), or an operator (`apply(p, out)` writes H p
 * into `out`, which the solver owns; `diag` is H's diagonal, for the preconditioner).
 * The shift is not part of H.
 *
 * @example
 * const H: KktHessian = { kind: 'dense', m: 2, H: new Float64Array([2, 0, 0, 1]) }
 */
export type KktHessian =
  | { readonly kind: 'dense'; readonly m: number; readonly H: Float64Array }
  | { readonly kind: 'diagLowRank'; readonly m: number; readonly d: Float64Array; readonly r: number; readonly W: Float64Array }
  | { readonly kind: 'operator'; readonly m: number; readonly apply: (p: Float64Array, out: Float64Array) => void; readonly diag: Float64Array }

/**
 * The system: H + shift · I, and the k × m row-major equality rows E (none when absent).
 *
 * @example
 * const sys: KktSystem = { H, shift: 0.5, E: { k: 1, rows: new Float64Array([1, 1]) } }
 */
export interface KktSystem {
  readonly H: KktHessian
  readonly shift?: number
  readonly E?: { readonly k: number; readonly rows: Float64Array }
}

/**
 * Options of {@link kktSolver}:
 * - `pivotTol`: the relative pivot tolerance of the Cholesky factors of M (dense), of the
 *   capacitance and Schur matrices (Woodbury) (default that of `Cholesky.ts`,
 *   max(1e-13, 20·n·ε) for an n × n factor);
 * - `rowTol`: the rank decision on the rows of E where the Schur complement is a Gram
 *   matrix (dense: S = (E F)(E F)ᵀ; PCG: E G⁻¹ Eᵀ), made on norms by `gramFactor`: a
 *   row within relative distance `rowTol` of the span of the others counts as dependent
 *   (default 1e-10);
 * - `maxRefinements`: refinement steps of the direct methods (default 3);
 * - `woodburyTol`: Woodbury runs when min(d + σ) > woodburyTol · max diag(H + σI)
 *   (default 1e-8);
 * - `denseLimit`: the largest m for which diag + low rank falls back to dense (4000);
 * - `tolerance`: PCG's bound on the true ω (default 1e-12);
 * - `maxIterations`: PCG's limit (default 10 m + 100);
 * - `checkEvery`: PCG recomputes the true residual at least this often (default 25).
 *
 * @example
 * kktSolver(sys, { tolerance: 1e-10, maxIterations: 500 })
 */
export interface KktOptions {
  /**
   * The smallest curvature scale ρ is taken against (H's units): ρ = max(max diag(H + σI),
   * hFloor) / max diag(EᵀE). A caller that knows the problem's natural unit of curvature
   * (|g|/|x|) passes it, so that a face whose H is negligible (a linear objective, to
   * rounding) still gets an M of the rows' scale: with ρ‖E‖² far below |g|/|x| the Schur
   * step x = M⁻¹(b − Eᵀν) cancels b against Eᵀν and loses |b|ε/(ρ‖E‖²) in x (1 % at
   * H = 1e-199, ρ = 1e-14).
   */
  readonly hFloor?: number
  readonly pivotTol?: number
  readonly rowTol?: number
  readonly maxRefinements?: number
  readonly woodburyTol?: number
  readonly denseLimit?: number
  readonly tolerance?: number
  readonly maxIterations?: number
  readonly checkEvery?: number
}

/**
 * Why a solve stopped: `direct` (a factorization, refined), or PCG's `converged` (true ω ≤
 * tolerance), `stalled` (the true residual did not halve in max(100, 2m) iterations, or
 * in three checks where the recursive residual had come loose from it), `maxIterations`,
 * `curvature` (pᵀ(H + σI)p ≤ ε‖H + σI‖ pᵀp along a search direction: zero or
 * negative curvature to rounding). After `stalled` and
 * `maxIterations` the solve returns the iterate of least true residual it checked.
 *
 * @example
 * const s: KktStop = solver.solve(b).stop
 */
export type KktStop = 'direct' | 'converged' | 'stalled' | 'maxIterations' | 'curvature'

/**
 * One solve's result: x (length m), ν (length k), the backward error ω of the module
 * header, the accepted refinement steps, the PCG iterations (0 for the direct methods),
 * why it stopped, and, for PCG stopped on curvature below −tolerance · ‖H‖, the search
 * direction as evidence (unit 2-norm, curvature pᵀ(H + σI)p).
 *
 * @example
 * const { x, nu, residual } = solver.solve(b, c)
 */
export interface KktSolution {
  readonly x: Float64Array
  readonly nu: Float64Array
  readonly residual: number
  readonly refinements: number
  readonly iterations: number
  readonly stop: KktStop
  readonly negative?: NegativeCurvature
}

/**
 * What the solver found when it was built:
 * - `method` that runs, and `fallback: 'smallDiagonal'` when diag + low rank did not use
 *   Woodbury;
 * - `rank` and `nullity` of M = H + σI + ρEᵀE (for PCG not examined: m and 0);
 * - `rowRank`: the rank of the Schur complement (E M⁺ Eᵀ, or E G⁻¹ Eᵀ for PCG), i.e. of E;
 * - `rho` used in M (0 without E, and for PCG);
 * - `negative`: when M is indefinite, a unit direction d with dᵀ(H + σI)d < 0 computed
 *   from H itself (dᵀMd < 0 too, so ρ‖Ed‖² < −dᵀ(H + σI)d: d is close to null(E) when ρ
 *   is large). A PD M proves H + σI positive definite on null(E), so an H that is
 *   indefinite only off null(E) is not reported; the converse does not hold for every ρ
 *   (an H positive definite on null(E) may still give an indefinite M when ρ is small).
 *
 * @example
 * kktSolver(sys).info.method // 'cholesky'
 */
export interface KktInfo {
  readonly method: 'cholesky' | 'woodbury' | 'pcg'
  readonly m: number
  readonly k: number
  readonly rank: number
  readonly nullity: number
  readonly rowRank: number
  readonly rho: number
  readonly fallback?: 'smallDiagonal'
  readonly negative?: NegativeCurvature
}

/**
 * A solver for one system. `solve(b, c)` (c defaults to 0) may be called any number of
 * times; each call is independent.
 *
 * @example
 * const { x, nu } = kktSolver(sys).solve(b, c)
 */
export interface KktSolver {
  /**
   * The solution for (b, c); `precise` (the direct methods) refines with residuals in
   * double-double, so x is accurate to a few ulps at any conditioning below 1/ε (the
   * derivatives' solves: then a JVP and a VJP through one solver are transposes to
   * rounding, not to κε).
   */
  readonly solve: (b: Float64Array, c?: Float64Array, precise?: boolean) => KktSolution
  readonly info: KktInfo
}

// -------------------------------------------------------------------------------------
// internals
// -------------------------------------------------------------------------------------

const EPS = 2.220446049250313e-16

const normInf = (v: Float64Array): number => {
  let s = 0
  for (const x of v) { const a = Math.abs(x); if (a > s) s = a }
  return s
}

const dotN = (a: Float64Array, ia: number, b: Float64Array, ib: number, n: number): number => {
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

/** The equality rows and the norms the backward error needs. */
interface Rows {
  readonly k: number
  readonly E: Float64Array
  readonly normE: number // ‖E‖∞, the largest row sum
  readonly normEt: number // ‖Eᵀ‖∞, the largest column sum
  readonly maxDiagEtE: number
}

const rowsOf = (m: number, E: KktSystem['E']): Rows => {
  const k = E?.k ?? 0
  const rows = E?.rows ?? new Float64Array(0)
  if (!Number.isInteger(k) || k < 0 || rows.length < k * m) throw new RangeError(`kktSolver: E needs ${k * m} entries, got ${rows.length}`)
  let normE = 0
  const col = new Float64Array(m), sq = new Float64Array(m)
  for (let l = 0; l < k; l++) {
    let s = 0
    for (let j = 0; j < m; j++) {
      const v = rows[l * m + j]!
      s += Math.abs(v)
      col[j] = col[j]! + Math.abs(v)
      sq[j] = sq[j]! + v * v
    }
    if (s > normE) normE = s
  }
  return { k, E: rows, normE, normEt: normInf(col), maxDiagEtE: normInf(sq) }
}

/** E x (length k). */
const mulE = (R: Rows, m: number, x: Float64Array): Float64Array => {
  const y = new Float64Array(R.k)
  for (let l = 0; l < R.k; l++) y[l] = dotN(R.E, l * m, x, 0, m)
  return y
}

/** out += s · Eᵀ ν. */
const addEt = (R: Rows, m: number, nu: Float64Array, s: number, out: Float64Array): void => {
  for (let l = 0; l < R.k; l++) {
    const v = s * nu[l]!
    if (v === 0) continue
    const o = l * m
    for (let j = 0; j < m; j++) out[j] = out[j]! + v * R.E[o + j]!
  }
}

/** The blockwise backward error of the module header, from the residual blocks. */
const omega = (
  R: Rows, normH: number, b: Float64Array, c: Float64Array, x: Float64Array, nu: Float64Array,
  rb: Float64Array, rc: Float64Array
): number => {
  const nx = normInf(x)
  const ratio = (num: number, den: number): number => (num === 0 ? 0 : num / den)
  const wb = ratio(normInf(rb), normInf(b) + normH * nx + R.normEt * normInf(nu))
  const wc = ratio(normInf(rc), normInf(c) + R.normE * nx)
  return Math.max(wb, wc)
}

/** A direct engine: the linear map X (b, c) ↦ (x, ν) and the products with H + σI. */
interface Direct {
  readonly map: (b: Float64Array, c: Float64Array) => { x: Float64Array; nu: Float64Array }
  readonly applyH: (x: Float64Array) => Float64Array
  /** out ← (H + σI)x, the same numbers as `applyH`; absent where the engine has only `applyH`. */
  readonly applyHInto?: (x: Float64Array, out: Float64Array) => void
  readonly normH: number
  /** rb ← b − (H + σI)x − Eᵀν in double-double arithmetic, rounded once (the precise refinement's residual). */
  readonly residualBDD: (b: Float64Array, x: Float64Array, nu: Float64Array) => Float64Array
  /** The refinement's scratch (see {@link workspace}). */
  readonly ws: Workspace
}

/**
 * A solve's scratch: the refinement's two residual pairs (rb, rc), which a refinement
 * step alternates between, (H + σI)x and E x; the Schur map's b′, half solve z and
 * L-half scratch w (m; w's solves read the factor's rank of entries), its t and the Schur
 * solve's (k); the double-double residual's rows and result. Only x and ν of a solution
 * are fresh arrays. A solve runs to its end before any other starts (nothing in
 * it calls another solver), so solvers of one size share one scratch: for m, k ≤
 * {@link SHARED_SCRATCH_MAX} from a pool by size (a batch's small faces then keep no
 * scratch of their own: it would outweigh their factors), above it one per solver.
 */
interface Workspace {
  readonly rb: readonly [Float64Array, Float64Array]
  readonly rc: readonly [Float64Array, Float64Array]
  readonly hx: Float64Array
  readonly ex: Float64Array
  readonly bp: Float64Array
  readonly z: Float64Array
  readonly w: Float64Array
  readonly t: Float64Array
  readonly tz: Float64Array
  readonly tw: Float64Array
  readonly ddHi: Float64Array
  readonly ddLo: Float64Array
  readonly ddRb: Float64Array
}

/** Up to this m and k a solver's scratch comes from the pool shared by size. */
const SHARED_SCRATCH_MAX = 64

/** The pool, by (m, k): at most 65² entries of 13 arrays of at most 64 numbers. */
const pooled = new Map<number, Workspace>()

/**
 * The scratch of a solver of m unknowns and k rows. The half solves' scratch `w` and `tw`
 * take only their factor's rank of entries, which is at most m and k.
 */
const workspace = (m: number, k: number): Workspace => {
  const shared = m <= SHARED_SCRATCH_MAX && k <= SHARED_SCRATCH_MAX
  const key = m * (SHARED_SCRATCH_MAX + 1) + k
  if (shared) { const w = pooled.get(key); if (w !== undefined) return w }
  const f = (len: number): Float64Array => new Float64Array(len)
  const w: Workspace = {
    rb: [f(m), f(m)], rc: [f(k), f(k)], hx: f(m), ex: f(k),
    bp: f(m), z: f(m), w: f(m), t: f(k), tz: f(k), tw: f(k),
    ddHi: f(m), ddLo: f(m), ddRb: f(m)
  }
  if (shared) pooled.set(key, w)
  return w
}

// -------------------------------------------------------------------------------------
// internals: sums in double-double (Dekker's products, Knuth's sums)
// -------------------------------------------------------------------------------------

const SPLIT = 134217729 // 2^27 + 1

/** A running double-double sum hi + lo; `add(a, b)` adds the exact product a·b. */
class DDSum {
  hi = 0
  lo = 0
  reset(v: number): void { this.hi = v; this.lo = 0 }
  addProduct(a: number, b: number): void {
    const p = a * b
    const ta = SPLIT * a, ah = ta - (ta - a), al = a - ah
    const tb = SPLIT * b, bh = tb - (tb - b), bl = b - bh
    const e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    const s = this.hi + p, bb = s - this.hi
    this.lo += (this.hi - (s - bb)) + (p - bb) + e
    this.hi = s
  }
  value(): number { return this.hi + this.lo }
}

/** rc ← c − E x in double-double, rounded once. */
const rowsResidualDD = (R: Rows, m: number, c: Float64Array, x: Float64Array, rc: Float64Array): Float64Array => {
  const acc = new DDSum()
  for (let l = 0; l < R.k; l++) {
    acc.reset(c[l]!)
    const o = l * m
    for (let j = 0; j < m; j++) acc.addProduct(-R.E[o + j]!, x[j]!)
    rc[l] = acc.value()
  }
  return rc
}

/** acc −= Σₗ Eₗᵢ νₗ. */
const subEtDD = (acc: DDSum, R: Rows, m: number, i: number, nu: Float64Array): void => {
  for (let l = 0; l < R.k; l++) acc.addProduct(-R.E[l * m + i]!, nu[l]!)
}

/** (b − (H + σI)x − Eᵀν, c − E x). */
const residualOf = (
  eng: Direct, R: Rows, m: number, b: Float64Array, c: Float64Array, x: Float64Array, nu: Float64Array, rb: Float64Array, rc: Float64Array
): void => {
  const ws = eng.ws
  let hx = ws.hx
  if (eng.applyHInto !== undefined) eng.applyHInto(x, hx)
  else hx = eng.applyH(x)
  for (let i = 0; i < m; i++) rb[i] = b[i]! - hx[i]!
  addEt(R, m, nu, -1, rb)
  const ex = ws.ex
  for (let l = 0; l < R.k; l++) ex[l] = dotN(R.E, l * m, x, 0, m)
  for (let l = 0; l < R.k; l++) rc[l] = c[l]! - ex[l]!
}

/** The direct solve with iterative refinement: stops at rounding level, when a step no longer halves ω, or after `maxRef` steps. */
const refined = (eng: Direct, R: Rows, m: number, maxRef: number, b: Float64Array, c: Float64Array): KktSolution => {
  let { x, nu } = eng.map(b, c)
  // the current residual is pair `cur` of the workspace, a step's candidate the other
  const { rb: rbs, rc: rcs } = eng.ws
  let cur = 0
  residualOf(eng, R, m, b, c, x, nu, rbs[0], rcs[0])
  let res = omega(R, eng.normH, b, c, x, nu, rbs[0], rcs[0])
  let steps = 0
  while (steps < maxRef && res > EPS) {
    const d = eng.map(rbs[cur]!, rcs[cur]!)
    const x2 = new Float64Array(m), nu2 = new Float64Array(R.k)
    for (let i = 0; i < m; i++) x2[i] = x[i]! + d.x[i]!
    for (let l = 0; l < R.k; l++) nu2[l] = nu[l]! + d.nu[l]!
    const nx = 1 - cur
    residualOf(eng, R, m, b, c, x2, nu2, rbs[nx]!, rcs[nx]!)
    const res2 = omega(R, eng.normH, b, c, x2, nu2, rbs[nx]!, rcs[nx]!)
    if (!(res2 < res)) break
    const halved = res2 <= 0.5 * res
    x = x2; nu = nu2; cur = nx; res = res2; steps++
    if (!halved) break
  }
  return { x, nu, residual: res, refinements: steps, iterations: 0, stop: 'direct' }
}

/**
 * Refinement with the residual in double-double (mixed-precision refinement): while
 * κε < 1 each step gains a factor κε in the forward error, so the solution is accurate
 * to a few ulps whatever the conditioning, not to κε. Stops when a correction is below
 * 2ε of x (or of ν), when it no longer halves, or after `maxRef` steps.
 */
const preciseRefined = (eng: Direct, R: Rows, m: number, maxRef: number, b: Float64Array, c: Float64Array): KktSolution => {
  const base = refined(eng, R, m, maxRef, b, c)
  let x = base.x, nu = base.nu, prev = Infinity, steps = base.refinements
  for (let it = 0; it < maxRef + 2; it++) {
    const rb = eng.residualBDD(b, x, nu), rc = rowsResidualDD(R, m, c, x, eng.ws.rc[1])
    if (!rb.every(Number.isFinite) || !rc.every(Number.isFinite)) break
    const d = eng.map(rb, rc)
    const dn = Math.max(normInf(d.x) / Math.max(normInf(x), 1e-300), normInf(d.nu) / Math.max(normInf(nu), 1e-300))
    if (!(dn < 0.5 * prev) && it > 0) break
    const x2 = new Float64Array(m), nu2 = new Float64Array(R.k)
    for (let i = 0; i < m; i++) x2[i] = x[i]! + d.x[i]!
    for (let l = 0; l < R.k; l++) nu2[l] = nu[l]! + d.nu[l]!
    x = x2; nu = nu2; prev = dn; steps++
    if (dn <= 2 * EPS) break
  }
  const rb = eng.ws.rb[0], rc = eng.ws.rc[0]
  residualOf(eng, R, m, b, c, x, nu, rb, rc)
  return { x, nu, residual: omega(R, eng.normH, b, c, x, nu, rb, rc), refinements: steps, iterations: 0, stop: 'direct' }
}

/**
 * The Schur step shared by the direct methods: given y ↦ M⁺y as a half splitting or as a
 * map, ν = S⁺(E M⁺ b′ − c) with b′ = b + ρEᵀc, and x = M⁺(b′ − Eᵀν).
 */
const schurFromHalf = (f: CholeskyFactor, R: Rows, m: number, rho: number, rowTol: number | undefined) => {
  const r = f.rank, k = R.k
  const Y = new Float64Array(k * r)
  for (let l = 0; l < k; l++) Y.set(halfSolve(f, R.E.subarray(l * m, l * m + m)), l * r)
  const fS = gramFactor(Y, k, r, rowTol === undefined ? {} : { rowTol })
  // the map's scratch (see `Workspace`)
  const ws = workspace(m, k)
  const { bp, z, w, t, tz, tw } = ws
  const map = (b: Float64Array, c: Float64Array): { x: Float64Array; nu: Float64Array } => {
    for (let i = 0; i < m; i++) bp[i] = b[i]!
    addEt(R, m, c, rho, bp)
    halfSolveInto(f, bp, z)
    const nu = new Float64Array(k)
    for (let l = 0; l < k; l++) t[l] = dotN(Y, l * r, z, 0, r) - c[l]!
    if (k > 0) { halfSolveInto(fS, t, tz); halfSolveTInto(fS, tz, nu, tw) } else nu.set(t)
    for (let l = 0; l < k; l++) {
      const v = nu[l]!
      if (v === 0) continue
      for (let q = 0; q < r; q++) z[q] = z[q]! - v * Y[l * r + q]!
    }
    const x = new Float64Array(m)
    halfSolveTInto(f, z, x, w)
    return { x, nu }
  }
  return { map, rowRank: fS.rank, ws }
}

/** d ↦ dᵀ(H + σI)d for a unit d, as negative-curvature evidence when < 0. */
const evidence = (neg: NegativeCurvature | undefined, applyH: (x: Float64Array) => Float64Array): NegativeCurvature | undefined => {
  if (neg === undefined) return undefined
  const hd = applyH(neg.direction)
  const curvature = dotN(neg.direction, 0, hd, 0, hd.length)
  return curvature < 0 ? { direction: neg.direction.slice(), curvature } : undefined
}

// -------------------------------------------------------------------------------------
// internals: dense
// -------------------------------------------------------------------------------------

const denseSolver = (m: number, Hin: Float64Array, shift: number, R: Rows, options: KktOptions, fallback: boolean): KktSolver => {
  if (Hin.length < m * m) throw new RangeError(`kktSolver: H needs ${m * m} entries, got ${Hin.length}`)
  const Hs = new Float64Array(m * m)
  let maxDiag = 0, normH = 0
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < i; j++) { const v = Hin[i * m + j]!; Hs[i * m + j] = v; Hs[j * m + i] = v }
    Hs[i * m + i] = Hin[i * m + i]! + shift
    if (Hs[i * m + i]! > maxDiag) maxDiag = Hs[i * m + i]!
  }
  for (let i = 0; i < m; i++) {
    let s = 0
    for (let j = 0; j < m; j++) s += Math.abs(Hs[i * m + j]!)
    if (s > normH) normH = s
  }
  const k = R.k
  const hd = Math.max(maxDiag, options.hFloor ?? 0)
  const rho = k === 0 || !(R.maxDiagEtE > 0) ? 0 : hd > 0 ? hd / R.maxDiagEtE : 1
  const M = Hs.slice()
  if (rho > 0) {
    for (let l = 0; l < k; l++) {
      const o = l * m
      for (let i = 0; i < m; i++) {
        const v = rho * R.E[o + i]!
        if (v === 0) continue
        const ri = i * m
        for (let j = 0; j <= i; j++) M[ri + j] = M[ri + j]! + v * R.E[o + j]!
      }
    }
  }
  const f = cholesky(M, m, options.pivotTol === undefined ? {} : { pivotTol: options.pivotTol })
  return denseFromFactor(m, Hs, normH, f, R, rho, options, fallback)
}

const denseFromFactor = (
  m: number, Hs: Float64Array, normH: number, f: CholeskyFactor, R: Rows, rho: number, options: KktOptions, fallback: boolean
): KktSolver => {
  const k = R.k
  const applyHInto = (x: Float64Array, y: Float64Array): void => {
    for (let i = 0; i < m; i++) y[i] = dotN(Hs, i * m, x, 0, m)
  }
  const applyH = (x: Float64Array): Float64Array => {
    const y = new Float64Array(m)
    applyHInto(x, y)
    return y
  }
  // the solves read L, not the factor's copy of M: the solver keeps the factor without it
  const { map, rowRank, ws } = schurFromHalf(forSolves(f), R, m, rho, options.rowTol)
  // the residual's rows (hi, lo) and its result: scratch of the solver, read by the
  // refinement before the next residual is taken
  const ddAcc = new DDSum(), { ddHi, ddLo, ddRb } = ws
  const residualBDD = (b: Float64Array, x: Float64Array, nu: Float64Array): Float64Array => {
    const acc = ddAcc, rb = ddRb
    // b − H x row by row in double-double (the SIMD kernel from DD_MIN_M on, bitwise DDSum's
    // addProduct over j), then − Eᵀν into the same sums
    const hi = ddHi, lo = ddLo
    ddResidualInto(Hs, m, x, b, hi, lo)
    for (let i = 0; i < m; i++) {
      acc.hi = hi[i]!
      acc.lo = lo[i]!
      subEtDD(acc, R, m, i, nu)
      rb[i] = acc.value()
    }
    return rb
  }
  const eng: Direct = { map, applyH, applyHInto, normH, residualBDD, ws }
  const negative = evidence(f.negative, applyH)
  const info: KktInfo = {
    method: 'cholesky', m, k, rank: f.rank, nullity: m - f.rank, rowRank, rho,
    ...(fallback ? { fallback: 'smallDiagonal' as const } : {}),
    ...(negative === undefined ? {} : { negative })
  }
  const maxRef = options.maxRefinements ?? 3
  return { info, solve: (b, c, precise) => (precise === true ? preciseRefined : refined)(eng, R, m, maxRef, b, c ?? new Float64Array(k)) }
}

/**
 * The dense solver of a system whose factor the caller keeps up to date itself (an active
 * set's face, grown and shrunk by `appendIndex` and `removeIndex` of `Cholesky.ts` in
 * O(m²) per change instead of a new O(m³) factorization): `f` factors
 * M = H + ρ EᵀE in H's coordinates, for the ρ ≥ 0 given; H is m × m, symmetric, in those
 * coordinates. E's rows should be of moderate scale (this entry does not equilibrate
 * them; `kktSolver` does). The solves are those of {@link kktSolver} on the same system:
 * the Schur step on E and up to `maxRefinements` residual refinements against H itself.
 *
 * @example
 * const s = kktSolverFactored({ H: { kind: 'dense', m, H }, E: { k: 1, rows } }, f, rho)
 */
export const kktSolverFactored = (
  system: { readonly H: { readonly kind: 'dense'; readonly m: number; readonly H: Float64Array }; readonly E?: KktSystem['E'] },
  f: CholeskyFactor, rho: number, options: KktOptions = {}
): KktSolver => {
  const m = system.H.m, Hin = system.H.H
  if (f.m !== m || Hin.length < m * m) throw new RangeError(`kktSolverFactored: a factor of ${f.m} for H of ${m}`)
  let normH = 0
  for (let i = 0; i < m; i++) {
    let v = 0
    for (let j = 0; j < m; j++) v += Math.abs(Hin[i * m + j]!)
    if (v > normH) normH = v
  }
  return denseFromFactor(m, Hin, normH, f, rowsOf(m, system.E), rho, options, false)
}

// -------------------------------------------------------------------------------------
// internals: Woodbury
// -------------------------------------------------------------------------------------

const woodburySolver = (
  m: number, D: Float64Array, r: number, W: Float64Array, maxDiag: number, normH: number, R: Rows, options: KktOptions
): KktSolver => {
  const k = R.k
  const rho = k === 0 || !(R.maxDiagEtE > 0) ? 0 : Math.max(maxDiag, options.hFloor ?? 0) / R.maxDiagEtE
  const q = r + k
  const sr = Math.sqrt(rho)
  // W′ = [W, √ρ Eᵀ], m × q row-major
  const Wp = new Float64Array(m * q)
  for (let i = 0; i < m; i++) {
    for (let a = 0; a < r; a++) Wp[i * q + a] = W[i * r + a]!
    for (let l = 0; l < k; l++) Wp[i * q + r + l] = sr * R.E[l * m + i]!
  }
  // C = I + W′ᵀ D⁻¹ W′ (lower triangle)
  const C = new Float64Array(q * q)
  for (let a = 0; a < q; a++) C[a * q + a] = 1
  for (let i = 0; i < m; i++) {
    const di = 1 / D[i]!, o = i * q
    for (let a = 0; a < q; a++) {
      const v = Wp[o + a]! * di
      if (v === 0) continue
      for (let c2 = 0; c2 <= a; c2++) C[a * q + c2] = C[a * q + c2]! + v * Wp[o + c2]!
    }
  }
  const fC = cholesky(C, q, options.pivotTol === undefined ? {} : { pivotTol: options.pivotTol })
  /** M⁻¹ v = D⁻¹v − D⁻¹W′ C⁻¹ W′ᵀ D⁻¹ v. */
  const minv = (v: Float64Array): Float64Array => {
    const u = new Float64Array(m)
    for (let i = 0; i < m; i++) u[i] = v[i]! / D[i]!
    const t = new Float64Array(q)
    for (let i = 0; i < m; i++) {
      const ui = u[i]!
      if (ui === 0) continue
      const o = i * q
      for (let a = 0; a < q; a++) t[a] = t[a]! + ui * Wp[o + a]!
    }
    const s = solveCholesky(fC, t)
    for (let i = 0; i < m; i++) u[i] = u[i]! - dotN(Wp, i * q, s, 0, q) / D[i]!
    return u
  }
  const Z = new Float64Array(k * m) // rows (M⁻¹ Eₗᵀ)ᵀ
  for (let l = 0; l < k; l++) Z.set(minv(R.E.subarray(l * m, l * m + m)), l * m)
  const S = new Float64Array(k * k)
  for (let l = 0; l < k; l++) {
    for (let j = 0; j <= l; j++) {
      const v = 0.5 * (dotN(R.E, l * m, Z, j * m, m) + dotN(R.E, j * m, Z, l * m, m))
      S[l * k + j] = v
    }
  }
  const fS = cholesky(S, k, options.pivotTol === undefined ? {} : { pivotTol: options.pivotTol })
  const map = (b: Float64Array, c: Float64Array): { x: Float64Array; nu: Float64Array } => {
    const bp = b.slice(0, m)
    addEt(R, m, c, rho, bp)
    const x = minv(bp)
    const t = mulE(R, m, x)
    for (let l = 0; l < k; l++) t[l] = t[l]! - c[l]!
    const nu = k > 0 ? solveCholesky(fS, t) : t
    for (let l = 0; l < k; l++) {
      const v = nu[l]!
      if (v === 0) continue
      for (let i = 0; i < m; i++) x[i] = x[i]! - v * Z[l * m + i]!
    }
    return { x, nu }
  }
  const applyH = (x: Float64Array): Float64Array => lowRankApply(m, D, r, W, x)
  const residualBDD = (b: Float64Array, x: Float64Array, nu: Float64Array): Float64Array => {
    // Wᵀx in double-double, kept as hi + lo pairs
    const acc = new DDSum(), th = new Float64Array(r), tl = new Float64Array(r), rb = new Float64Array(m)
    for (let a = 0; a < r; a++) {
      acc.reset(0)
      for (let i = 0; i < m; i++) acc.addProduct(W[i * r + a]!, x[i]!)
      th[a] = acc.hi; tl[a] = acc.lo
    }
    for (let i = 0; i < m; i++) {
      acc.reset(b[i]!)
      acc.addProduct(-D[i]!, x[i]!)
      for (let a = 0; a < r; a++) { acc.addProduct(-W[i * r + a]!, th[a]!); acc.addProduct(-W[i * r + a]!, tl[a]!) }
      subEtDD(acc, R, m, i, nu)
      rb[i] = acc.value()
    }
    return rb
  }
  const eng: Direct = { map, applyH, normH, residualBDD, ws: workspace(m, k) }
  const info: KktInfo = { method: 'woodbury', m, k, rank: m, nullity: 0, rowRank: fS.rank, rho }
  const maxRef = options.maxRefinements ?? 3
  return { info, solve: (b, c, precise) => (precise === true ? preciseRefined : refined)(eng, R, m, maxRef, b, c ?? new Float64Array(k)) }
}

/** (diag(D) + W Wᵀ) x. */
const lowRankApply = (m: number, D: Float64Array, r: number, W: Float64Array, x: Float64Array): Float64Array => {
  const t = new Float64Array(r)
  for (let i = 0; i < m; i++) {
    const xi = x[i]!
    if (xi === 0) continue
    for (let a = 0; a < r; a++) t[a] = t[a]! + xi * W[i * r + a]!
  }
  const y = new Float64Array(m)
  for (let i = 0; i < m; i++) y[i] = D[i]! * x[i]! + dotN(W, i * r, t, 0, r)
  return y
}

// -------------------------------------------------------------------------------------
// internals: projected PCG
// -------------------------------------------------------------------------------------

const pcgSolver = (
  m: number, applyInto: (p: Float64Array, out: Float64Array) => void, diag: Float64Array, shift: number,
  R: Rows, options: KktOptions, fallback: boolean
): KktSolver => {
  const k = R.k
  // Jacobi preconditioner G = diag + σ, floored at a tiny fraction of its largest entry
  let gmax = 0
  for (let i = 0; i < m; i++) gmax = Math.max(gmax, diag[i]! + shift)
  if (!(gmax > 0)) gmax = 1
  const Ginv = new Float64Array(m)
  for (let i = 0; i < m; i++) {
    const g = diag[i]! + shift
    Ginv[i] = 1 / (g > 1e-14 * gmax ? g : gmax)
  }
  // P = E G⁻¹ Eᵀ, factored from the rows of E G^(−1/2)
  const Yp = new Float64Array(k * m)
  for (let l = 0; l < k; l++) for (let i = 0; i < m; i++) Yp[l * m + i] = R.E[l * m + i]! * Math.sqrt(Ginv[i]!)
  const fP = gramFactor(Yp, k, m, options.rowTol === undefined ? {} : { rowTol: options.rowTol })
  const tol = options.tolerance ?? 1e-12
  const maxIt = options.maxIterations ?? 10 * m + 100
  const every = Math.max(1, options.checkEvery ?? 25)
  const baseNormH = (() => { let s = 0; for (let i = 0; i < m; i++) s = Math.max(s, Math.abs(diag[i]! + shift)); return s })()

  /** G⁻¹ Eᵀ P⁺ v. */
  const lift = (v: Float64Array): Float64Array => {
    const mu = solveCholesky(fP, v)
    const out = new Float64Array(m)
    addEt(R, m, mu, 1, out)
    for (let i = 0; i < m; i++) out[i] = out[i]! * Ginv[i]!
    return out
  }
  /** g = Π r, with one correction step for E g = 0. */
  const project = (r: Float64Array): Float64Array => {
    const g = new Float64Array(m)
    for (let i = 0; i < m; i++) g[i] = r[i]! * Ginv[i]!
    if (k === 0) return g
    for (let pass = 0; pass < 2; pass++) {
      const h = lift(mulE(R, m, g))
      for (let i = 0; i < m; i++) g[i] = g[i]! - h[i]!
    }
    return g
  }

  const solve = (b: Float64Array, cIn?: Float64Array): KktSolution => {
    const c = cIn ?? new Float64Array(k)
    let normH = baseNormH
    const hq = new Float64Array(m)
    const applyH = (x: Float64Array, out: Float64Array): void => {
      applyInto(x, out)
      for (let i = 0; i < m; i++) out[i] = out[i]! + shift * x[i]!
      const nx = normInf(x)
      if (nx > 0) normH = Math.max(normH, normInf(out) / nx)
    }
    const nb = normInf(b)
    // the particular solution of E x = c, refined once
    let x: Float64Array = new Float64Array(m)
    if (k > 0) {
      x = lift(c)
      const ex = mulE(R, m, x)
      for (let l = 0; l < k; l++) ex[l] = c[l]! - ex[l]!
      const dx = lift(ex)
      for (let i = 0; i < m; i++) x[i] = x[i]! + dx[i]!
    }
    /** The true residual at x, with the least-squares ν. */
    const truth = (): { rt: Float64Array; nu: Float64Array; res: number; rc: Float64Array } => {
      applyH(x, hq)
      const rt = new Float64Array(m)
      for (let i = 0; i < m; i++) rt[i] = b[i]! - hq[i]!
      const gr = new Float64Array(m)
      for (let i = 0; i < m; i++) gr[i] = rt[i]! * Ginv[i]!
      const nu = k > 0 ? solveCholesky(fP, mulE(R, m, gr)) : new Float64Array(0)
      const rb = rt.slice()
      addEt(R, m, nu, -1, rb)
      const ex = mulE(R, m, x)
      const rc = new Float64Array(k)
      for (let l = 0; l < k; l++) rc[l] = c[l]! - ex[l]!
      return { rt, nu, rc, res: omega(R, normH, b, c, x, nu, rb, rc) }
    }
    // the best true iterate seen, returned when the run ends without converging
    let best: { x: Float64Array; nu: Float64Array; res: number } | undefined
    const keep = (t: { nu: Float64Array; res: number }): void => {
      if (best === undefined || t.res < best.res) best = { x: x.slice(), nu: t.nu, res: t.res }
    }
    const done = (t: { nu: Float64Array; res: number }, it: number, stop: KktStop, negative?: NegativeCurvature): KktSolution => {
      keep(t)
      const use = stop === 'converged' || stop === 'curvature' || best === undefined ? { x, nu: t.nu, res: t.res } : best
      return { x: use.x, nu: use.nu, residual: use.res, refinements: 0, iterations: it, stop, ...(negative === undefined ? {} : { negative }) }
    }
    let t = truth()
    if (t.res <= tol) return done(t, 0, 'converged')
    let r = new Float64Array(m)
    for (let i = 0; i < m; i++) r[i] = -t.rt[i]!
    let g = project(r)
    const p = new Float64Array(m)
    for (let i = 0; i < m; i++) p[i] = -g[i]!
    let rho = dotN(r, 0, g, 0, m)
    let nuNorm = normInf(t.nu)
    let lies = 0, bestAtLie = Infinity, bestRef = t.res, itRef = 0
    const window = Math.max(100, 2 * m)
    for (let it = 1; it <= maxIt; it++) {
      applyH(p, hq)
      const pq = dotN(p, 0, hq, 0, m)
      // pᵀp and the curvature pᵀHp/pᵀp, scaled by max |pᵢ| so that huge p do not overflow
      const pmax = normInf(p)
      let pps = 0
      for (let i = 0; i < m; i++) { const v = p[i]! / pmax; pps += v * v }
      const curv = pq / pmax / pmax / pps
      if (!(curv > EPS * normH)) {
        let negative: NegativeCurvature | undefined
        if (pmax > 0 && curv < -tol * normH) {
          const np = pmax * Math.sqrt(pps)
          negative = { direction: p.map((v) => v / np), curvature: curv }
        }
        return done(truth(), it, 'curvature', negative)
      }
      const alpha = rho / pq
      for (let i = 0; i < m; i++) { x[i] = x[i]! + alpha * p[i]!; r[i] = r[i]! + alpha * hq[i]! }
      g = project(r)
      let rhoNew = dotN(r, 0, g, 0, m)
      // the recursive estimate of ‖b − Hx − Eᵀν‖∞ is ‖G g‖∞
      let gg = 0
      for (let i = 0; i < m; i++) gg = Math.max(gg, Math.abs(g[i]! / Ginv[i]!))
      const recursive = gg === 0 ? 0 : gg / (nb + normH * normInf(x) + R.normEt * nuNorm)
      let restart = false
      if (recursive <= tol || it % every === 0 || !(rhoNew > 0)) {
        t = truth()
        if (t.res <= tol) return done(t, it, 'converged')
        keep(t)
        // the recursion has come loose from the truth (it claims convergence, or is 10×
        // below): three such checks in a row without halving the true residual is a stall
        if (recursive <= tol || recursive < 0.1 * t.res || !(rhoNew > 0)) {
          if (t.res < 0.5 * bestAtLie) { bestAtLie = t.res; lies = 0 } else lies++
          if (lies >= 3) return done(t, it, 'stalled')
        } else lies = 0
        // or the true residual has not halved in max(100, 2m) iterations (CG on distinct
        // eigenvalues ends within m steps in exact arithmetic)
        if (t.res < 0.5 * bestRef) { bestRef = t.res; itRef = it } else if (it - itRef >= window) return done(t, it, 'stalled')
        if (normInf(t.rc) > tol * (normInf(c) + R.normE * normInf(x))) {
          const dx = lift(t.rc)
          for (let i = 0; i < m; i++) x[i] = x[i]! + dx[i]!
          t = truth()
        }
        // residual replacement: continue from the true gradient, and restart the
        // directions (β = 0) when it differs from the recursive one by more than 2×
        restart = !(recursive >= 0.5 * t.res && recursive <= 2 * t.res)
        nuNorm = normInf(t.nu)
        r = new Float64Array(m)
        for (let i = 0; i < m; i++) r[i] = -t.rt[i]!
        g = project(r)
        rhoNew = dotN(r, 0, g, 0, m)
        if (!(rhoNew > 0)) return done(t, it, 'stalled')
      }
      const beta = restart ? 0 : rhoNew / rho
      for (let i = 0; i < m; i++) p[i] = -g[i]! + beta * p[i]!
      rho = rhoNew
    }
    return done(truth(), maxIt, 'maxIterations')
  }
  const info: KktInfo = {
    method: 'pcg', m, k, rank: m, nullity: 0, rowRank: fP.rank, rho: 0,
    ...(fallback ? { fallback: 'smallDiagonal' as const } : {})
  }
  return { info, solve }
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * The solver of one bordered system (see the module header for the methods, their
 * tolerances and the residual). Building costs, for dense H, one pivoted Cholesky of the
 * m × m M (m³/3 flops) plus k half solves; for diag + low rank, O(m (r + k)²); for an
 * operator, O(m k²).
 *
 * What a solve returns:
 * - dense, M positive definite: the exact solution (to refinement), ν minimum-norm when
 *   E has dependent rows (x is unique all the same when c is consistent);
 * - dense, M singular (the minimiser on the face is not unique): x is the minimum-norm
 *   solution (orthogonal to null(H + σI) ∩ null(E)); a component of b along that null
 *   space is dropped (least squares);
 * - dense, M indefinite: `info.negative`; x solves only the PSD part of the factor, and
 *   the residual shows by how much it misses;
 * - PCG: converged to the tolerance on the true residual. On a singular but consistent
 *   system, CG from the particular start stays in G⁻¹(range(H + σI) + range(Eᵀ)), so x
 *   is the solution of least G-norm (G = diag + σ), which is the minimum-norm one only
 *   when G is a multiple of I; on an inconsistent system it stops 'stalled',
 *   'maxIterations' or 'curvature' with the true residual reported.
 *
 * @example
 * const s = kktSolver({ H: { kind: 'dense', m: 2, H: new Float64Array([2, 0, 0, 2]) }, E: { k: 1, rows: new Float64Array([1, 1]) } })
 * s.solve(new Float64Array([1, 0]), new Float64Array([0])).x // [0.25, −0.25]
 */
export const kktSolver = (system: KktSystem, options: KktOptions = {}): KktSolver => {
  // equilibrate E's rows by powers of two (exact): a row of entries 1e-160 (the l2 ball's
  // xᵀ at t = 1e-160) would square to a subnormal in EᵀE and make ρ overflow; with each
  // row's largest entry in [1, 2), Eᵀν = (SE)ᵀ(S⁻¹ν) and E x = c ⇔ (SE) x = S c
  const E = system.E
  if (E !== undefined && E.k > 0) {
    const m = system.H.m, scale = new Float64Array(E.k)
    let any = false
    for (let a = 0; a < E.k; a++) {
      let mx = 0
      for (let j = 0; j < m; j++) mx = Math.max(mx, Math.abs(E.rows[a * m + j]!))
      const e = mx > 0 && Number.isFinite(mx) ? Math.floor(Math.log2(mx)) : 0
      scale[a] = e === 0 ? 1 : 2 ** -e
      if (scale[a] !== 1) any = true
    }
    if (any) {
      const rows = new Float64Array(E.k * m)
      for (let a = 0; a < E.k; a++) for (let j = 0; j < m; j++) rows[a * m + j] = E.rows[a * m + j]! * scale[a]!
      const inner = kktSolverEquilibrated({ ...system, E: { k: E.k, rows } }, options)
      return {
        info: inner.info,
        solve: (b, c, precise) => {
          const cs = c === undefined ? undefined : Float64Array.from({ length: E.k }, (_, a) => c[a]! * scale[a]!)
          const r = inner.solve(b, cs, precise)
          return { ...r, nu: Float64Array.from(r.nu, (v, a) => v * scale[a]!) }
        }
      }
    }
  }
  return kktSolverEquilibrated(system, options)
}

const kktSolverEquilibrated = (system: KktSystem, options: KktOptions): KktSolver => {
  const H = system.H
  const m = H.m
  if (!Number.isInteger(m) || m < 0) throw new RangeError(`kktSolver: m must be a non-negative integer, got ${m}`)
  const shift = system.shift ?? 0
  const R = rowsOf(m, system.E)
  const checked = (s: KktSolver): KktSolver => ({
    info: s.info,
    solve: (b, c, precise) => {
      if (b.length < m) throw new RangeError(`kktSolver: b needs ${m} entries, got ${b.length}`)
      if (c !== undefined && c.length < R.k) throw new RangeError(`kktSolver: c needs ${R.k} entries, got ${c.length}`)
      return s.solve(b, c, precise)
    }
  })
  switch (H.kind) {
    case 'dense':
      return checked(denseSolver(m, H.H, shift, R, options, false))
    case 'diagLowRank': {
      const { r, W, d } = H
      if (d.length < m || W.length < m * r) throw new RangeError(`kktSolver: diagLowRank needs ${m} diagonal and ${m * r} W entries`)
      const D = new Float64Array(m)
      let minD = Infinity, maxDiag = 0, normH = 0
      const colAbs = new Float64Array(r)
      for (let i = 0; i < m; i++) for (let a = 0; a < r; a++) colAbs[a] = colAbs[a]! + Math.abs(W[i * r + a]!)
      for (let i = 0; i < m; i++) {
        D[i] = d[i]! + shift
        minD = Math.min(minD, D[i]!)
        const wi = dotN(W, i * r, W, i * r, r)
        maxDiag = Math.max(maxDiag, D[i]! + wi)
        let s = Math.abs(D[i]!)
        for (let a = 0; a < r; a++) s += Math.abs(W[i * r + a]!) * colAbs[a]!
        normH = Math.max(normH, s)
      }
      if (m === 0 || minD > (options.woodburyTol ?? 1e-8) * maxDiag) return checked(woodburySolver(m, D, r, W, maxDiag, normH, R, options))
      if (m <= (options.denseLimit ?? 4000)) {
        const Hd = new Float64Array(m * m)
        for (let i = 0; i < m; i++) {
          for (let j = 0; j <= i; j++) Hd[i * m + j] = dotN(W, i * r, W, j * r, r)
          Hd[i * m + i] = Hd[i * m + i]! + d[i]!
        }
        return checked(denseSolver(m, Hd, shift, R, options, true))
      }
      const diag = new Float64Array(m)
      for (let i = 0; i < m; i++) diag[i] = d[i]! + dotN(W, i * r, W, i * r, r)
      const apply = (p: Float64Array, out: Float64Array): void => {
        const y = lowRankApply(m, d, r, W, p)
        out.set(y)
      }
      return checked(pcgSolver(m, apply, diag, shift, R, options, true))
    }
    case 'operator':
      if (H.diag.length < m) throw new RangeError(`kktSolver: diag needs ${m} entries, got ${H.diag.length}`)
      return checked(pcgSolver(m, H.apply, H.diag, shift, R, options, false))
  }
}

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

/**
 * The full bordered product K [x; ν] = [(H + σI)x + Eᵀν; E x] of a system, from its
 * stored H and E (for checks and for callers who assemble residuals themselves).
 *
 * @example
 * kktApply(sys, x, nu) // { b, c } with K [x; ν] = [b; c]
 */
export const kktApply = (system: KktSystem, x: Float64Array, nu: Float64Array): { readonly b: Float64Array; readonly c: Float64Array } => {
  const H = system.H, m = H.m, shift = system.shift ?? 0
  const R = rowsOf(m, system.E)
  let hx: Float64Array
  switch (H.kind) {
    case 'dense': {
      hx = new Float64Array(m)
      for (let i = 0; i < m; i++) {
        let s = 0
        for (let j = 0; j < m; j++) s += (j <= i ? H.H[i * m + j]! : H.H[j * m + i]!) * x[j]!
        hx[i] = s
      }
      break
    }
    case 'diagLowRank':
      hx = lowRankApply(m, H.d, H.r, H.W, x)
      break
    case 'operator':
      hx = new Float64Array(m)
      H.apply(x.slice(0, m), hx)
      break
  }
  for (let i = 0; i < m; i++) hx[i] = hx[i]! + shift * x[i]!
  addEt(R, m, nu, 1, hx)
  return { b: hx, c: mulE(R, m, x) }
}
