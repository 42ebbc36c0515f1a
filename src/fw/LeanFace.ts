/**
 * The implicit mode's lean path for small dense problems on the l1 ball, the l∞ ball and
 * the simplex: the exact minimizer and its face derivative from the Frank-Wolfe iterate's
 * own face, in straight loops over fixed scratch, with no working-set machinery. A batch
 * of small instances spent most of its time (and its garbage collections) in the general
 * path's per-instance structures (`ActiveSet.ts`, `FaceModel.ts`, `core/Kkt.ts`), built
 * for faces of any size and any conditioning; these instances need none of it.
 *
 * From a feasible x₀ it guesses the face (the l1 ball: the nonzero coordinates with their
 * signs under the active row, or the whole interior; the simplex: the positive
 * coordinates; the l∞ ball: the coordinates strictly inside, the others at their bound),
 * solves the face's KKT system
 *
 *     P_FF x_F + aν = −q_F − P_FB x_B,    aᵀx_F = t     (a = σ∘w_F, 1_F, or no row)
 *
 * by a Cholesky factorization of P_FF and the Schur complement s = aᵀP_FF⁻¹a, with one
 * step of iterative refinement, and accepts the point only when it is certified:
 * - every Cholesky pivot is at least {@link LEAN_PIVOT} of P_FF's largest diagonal entry
 *   (the face is well-conditioned; a rank-deficient, ill-conditioned or indefinite face is
 *   not this path's to solve);
 * - the face's strict-complementarity margin, defined as `FaceModel.ts` defines it (free
 *   coordinates' distance to their bound or to 0, fixed coordinates' and the row's
 *   multipliers, an inactive row's slack, each relative), exceeds {@link LEAN_MARGIN}, so
 *   the face is the solution's own and the derivative is "exact" (a kink or a non-unique
 *   minimizer is not accepted);
 * - the stationarity residual ‖g_F + aν‖∞ is at most {@link LEAN_STATIONARITY} of the
 *   gradient's scale max(|Px|ᵢ + |qᵢ|);
 * - x_F = z − νy (z = P_FF⁻¹rhs, y = P_FF⁻¹a) cancels at most {@link LEAN_CANCEL}-fold
 *   (a face of dimension 0 takes x_F = t/a exactly).
 *
 * Anything else is rejected, and the caller runs the general path from the same point,
 * so a rejected instance's result is bitwise what it was without this path. The layer and
 * the batch call this path alike (`Layer.implicitForward`), so a batch stays bitwise equal
 * to each instance solved alone.
 *
 * The derivative ({@link leanFaceMap}) solves the same KKT matrix with the kept factor,
 * the VJP and the JVP through one factor: transposes of one linear map to rounding. On a
 * face accepted here the forward errors are about κ(P_FF)·ε ≤ 1e4·n·ε.
 *
 * @since 0.1.0
 */
import type { Params, SetKind } from './Problem.js'
import type { FaceReport } from './FaceReport.js'
import type { FaceDerivativeMap } from './FaceDerivative.js'
import type { SetGradient, SetTangent } from './sets/FeasibleSet.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The largest n the lean path takes (the face's factor is m² ≤ n² entries, kept per
 * instance).
 *
 * @example
 * theta.q.dim <= LEAN_MAX_N
 */
export const LEAN_MAX_N = 32

/**
 * The smallest Cholesky pivot accepted, relative to P_FF's largest diagonal entry.
 *
 * @example
 * pivot >= LEAN_PIVOT * maxDiagonal
 */
export const LEAN_PIVOT = 1e-4

/**
 * The smallest strict-complementarity margin accepted (`FaceModel.ts`'s definition; the
 * layer calls a face a kink at `KINK_TOLERANCE` = 1e-9).
 *
 * @example
 * margin > LEAN_MARGIN
 */
export const LEAN_MARGIN = 1e-6

/**
 * The largest stationarity residual accepted, relative to the gradient's scale.
 *
 * @example
 * residual <= LEAN_STATIONARITY * gradientScale
 */
export const LEAN_STATIONARITY = 1e-12

/**
 * The largest ‖P_FF⁻¹ rhs‖∞ / ‖x_F‖∞ accepted: the digits the Schur complement's
 * x_F = z − νy may lose to cancellation (at most 4).
 *
 * @example
 * zNorm <= LEAN_CANCEL * xNorm
 */
export const LEAN_CANCEL = 1e4

/**
 * A point the lean path certified, with what its derivative needs.
 *
 * @example
 * const lf = leanPolish('l1', theta, x0)
 * if (lf !== undefined) leanFaceMap(lf).vjp(ct, acc)
 */
export interface LeanFace {
  readonly set: 'l1' | 'linf' | 'simplex'
  /** The minimizer (n entries). */
  readonly x: Float64Array
  /** Free coordinates, ascending. */
  readonly free: Int32Array
  /** The face's row a on F (σ∘w_F or 1_F), or undefined (no active row). */
  readonly a: Float64Array | undefined
  /** The row's multiplier ν (0 without a row). */
  readonly nu: number
  /** P_FF = L Lᵀ, L lower triangular, m × m row-major. */
  readonly L: Float64Array
  /** P_FF⁻¹a and s = aᵀP_FF⁻¹a (with a row). */
  readonly y: Float64Array | undefined
  readonly s: number
  /** P's entries (n × n row-major), for the fixed coordinates' coupling. */
  readonly P: Float64Array
  readonly report: FaceReport
  /** The faces solved to reach it (the first, and one per active-set switch). */
  readonly faces: number
}

// -------------------------------------------------------------------------------------
// the switch and the counters (tests)
// -------------------------------------------------------------------------------------

let leanOn = true
let tried = 0, accepted = 0

/**
 * Turns the lean path on or off (tests compare it with the general path); returns the
 * previous setting. Internal.
 *
 * @example
 * const was = setLeanFace(false)
 * try { dfwLayer()(problem) } finally { setLeanFace(was) }
 */
export const setLeanFace = (on: boolean): boolean => { const was = leanOn; leanOn = on; return was }

/**
 * How many instances the lean path was tried on and accepted, since the last reset. Internal.
 *
 * @example
 * resetLeanStats(); dfwLayer()(problem); leanStats().accepted // 1
 */
export const leanStats = (): { readonly tried: number; readonly accepted: number } => ({ tried, accepted })

/**
 * Resets {@link leanStats}. Internal.
 *
 * @example
 * resetLeanStats()
 */
export const resetLeanStats = (): void => { tried = 0; accepted = 0 }

/**
 * Whether the lean path takes the instance: the l1 ball, the l∞ ball or the simplex, a
 * dense P, 1 ≤ n ≤ {@link LEAN_MAX_N}, t > 0.
 *
 * @example
 * leanApplies('l1', theta) // true for a small dense instance
 */
export const leanApplies = <N>(set: string, theta: Params<N>): set is 'l1' | 'linf' | 'simplex' => {
  const n = theta.q.data.length
  return leanOn && (set === 'l1' || set === 'linf' || set === 'simplex') && theta.P.kind === 'dense' &&
    n >= 1 && n <= LEAN_MAX_N && theta.t > 0 && Number.isFinite(theta.t)
}

// -------------------------------------------------------------------------------------
// scratch
// -------------------------------------------------------------------------------------

const NN = LEAN_MAX_N
const sH = new Float64Array(NN * NN)
const sA = new Float64Array(NN), sB = new Float64Array(NN), sC = new Float64Array(NN), sX = new Float64Array(NN)
const sR = new Float64Array(NN), sG = new Float64Array(NN), sPx = new Float64Array(NN)
const sF = new Int32Array(NN), sState = new Int8Array(NN), sSign = new Float64Array(NN), sFs = new Float64Array(NN)

/** The most faces one polish tries (the first, then primal-dual active-set switches). */
const LEAN_ROUNDS = 6

/**
 * Why the last face was rejected: its factor (conditioning, curvature), a kink or
 * residual (nothing to improve), or a constraint or multiplier on the wrong side (the
 * next round's face switches it).
 */
let lastFail: 'factor' | 'kink' | 'switch' = 'factor'
let lastNu = 0

/** H = L Lᵀ in place (lower triangle of an m × m row-major H); false when a pivot is below `floor`. */
const cholesky = (H: Float64Array, m: number, floor: number): boolean => {
  for (let j = 0; j < m; j++) {
    const rj = j * m
    let d = H[rj + j]!
    for (let p = 0; p < j; p++) d -= H[rj + p]! * H[rj + p]!
    if (!(d >= floor) || !(d > 0)) return false
    const ljj = Math.sqrt(d)
    H[rj + j] = ljj
    for (let i = j + 1; i < m; i++) {
      const ri = i * m
      let s = H[ri + j]!
      for (let p = 0; p < j; p++) s -= H[ri + p]! * H[rj + p]!
      H[ri + j] = s / ljj
    }
  }
  return true
}

/** b ← L⁻ᵀ L⁻¹ b. */
const cholSolve = (L: Float64Array, m: number, b: Float64Array): void => {
  for (let i = 0; i < m; i++) {
    const r = i * m
    let s = b[i]!
    for (let p = 0; p < i; p++) s -= L[r + p]! * b[p]!
    b[i] = s / L[r + i]!
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = b[i]!
    for (let p = i + 1; p < m; p++) s -= L[p * m + i]! * b[p]!
    b[i] = s / L[i * m + i]!
  }
}

// -------------------------------------------------------------------------------------
// the polish
// -------------------------------------------------------------------------------------

/**
 * One face's solve and certificate: F in sF[0..m), the fixed coordinates' states in
 * sState (0 free, 1 at −t, 2 at +t, 3 at 0), the row a (or none). Undefined when rejected.
 */
const solveFace = (
  set: 'l1' | 'linf' | 'simplex', A: Float64Array, q: Float64Array, w: Float64Array, t: number, n: number, m: number,
  row: boolean, sign: Float64Array, faces: number
): LeanFace | undefined => {
  const F = sF, H = sH
  // H = P_FF, rhs = −q_F − P_FB x_B
  let dmax = 0
  for (let a = 0; a < m; a++) {
    const ra = F[a]! * n
    for (let b = 0; b <= a; b++) H[a * m + b] = A[ra + F[b]!]!
    dmax = Math.max(dmax, A[ra + F[a]!]!)
  }
  const x = sX
  for (let i = 0; i < n; i++) { const st = sState[i]!; x[i] = st === 1 ? -t : st === 2 ? t : 0 }
  const rhs = sB
  for (let a = 0; a < m; a++) {
    const i = F[a]!, ri = i * n
    let r = -q[i]!
    if (set === 'linf') for (let j = 0; j < n; j++) if (sState[j] !== 0) r -= A[ri + j]! * x[j]!
    rhs[a] = r
  }
  lastFail = 'factor'
  if (m > 0 && !cholesky(H, m, LEAN_PIVOT * dmax)) return undefined
  const av = sA
  if (row) for (let j = 0; j < m; j++) av[j] = set === 'l1' ? sign[j]! * w[F[j]!]! : 1
  // y = H⁻¹a, z = H⁻¹rhs; ν = (aᵀz − t)/s; x_F = z − ν y
  const y = sC, z = sR
  let s = 0, nu = 0
  for (let j = 0; j < m; j++) z[j] = rhs[j]!
  cholSolve(H, m, z)
  if (row) {
    for (let j = 0; j < m; j++) y[j] = av[j]!
    cholSolve(H, m, y)
    let az = 0
    for (let j = 0; j < m; j++) { s += av[j]! * y[j]!; az += av[j]! * z[j]! }
    if (!(s > 0)) return undefined
    nu = (az - t) / s
  }
  if (row && m === 1) {
    // a face of dimension 0: the row alone fixes x, exactly (z − νy would cancel)
    x[F[0]!] = t / av[0]!
    nu = (rhs[0]! - H[0]! * H[0]! * x[F[0]!]!) / av[0]!
  } else {
    let zm = 0, xm = 0
    for (let j = 0; j < m; j++) {
      const xj = z[j]! - nu * (row ? y[j]! : 0)
      x[F[j]!] = xj
      zm = Math.max(zm, Math.abs(z[j]!)); xm = Math.max(xm, Math.abs(xj))
    }
    // x_F = z − νy loses log₁₀(‖z‖/‖x_F‖) digits to cancellation (a tiny t against q):
    // such a face is the general path's, which solves it in double-double
    lastFail = 'factor'
    if (!(zm <= LEAN_CANCEL * xm)) return undefined
  }
  // one refinement step: r₁ = rhs − H x_F − aν, r₂ = t − aᵀx_F
  if (!(row && m === 1)) {
    const r1 = sG
    let r2 = t
    for (let a = 0; a < m; a++) {
      const ra = F[a]! * n
      let v = rhs[a]! - (row ? av[a]! * nu : 0)
      for (let b = 0; b < m; b++) v -= A[ra + F[b]!]! * x[F[b]!]!
      r1[a] = v
      if (row) r2 -= av[a]! * x[F[a]!]!
    }
    cholSolve(H, m, r1)
    let dnu = 0
    if (row) {
      let ar = 0
      for (let j = 0; j < m; j++) ar += av[j]! * r1[j]!
      dnu = (ar - r2) / s
      nu += dnu
    }
    for (let j = 0; j < m; j++) x[F[j]!] = x[F[j]!]! + r1[j]! - (row ? dnu * y[j]! : 0)
  }
  // the certificate: g = Px + q, the margins as FaceModel.ts defines them
  const px = sPx, g = sG
  let gs = 0
  for (let i = 0; i < n; i++) {
    const ri = i * n
    let v = 0
    for (let j = 0; j < n; j++) v += A[ri + j]! * x[j]!
    px[i] = v
    g[i] = v + q[i]!
    gs = Math.max(gs, Math.abs(v) + Math.abs(q[i]!))
  }
  if (!Number.isFinite(gs)) return undefined
  const ds = Math.max(gs, 1e-300)
  let xm = 0
  for (let i = 0; i < n; i++) xm = Math.max(xm, Math.abs(x[i]!))
  let size = 0
  if (set === 'l1') for (let i = 0; i < n; i++) size = Math.max(size, t / w[i]!)
  else size = t
  size = Math.max(size, xm, 1e-300)
  let margin = 1, stat = 0
  for (let j = 0; j < m; j++) {
    const i = F[j]!, xi = x[i]!
    stat = Math.max(stat, Math.abs(g[i]! + (row ? av[j]! * nu : 0)))
    const reach = set === 'l1' ? t / w[i]! : t
    let d: number
    if (set === 'l1') {
      if (!row) continue // no bound, no abs row: nothing to switch
      if (!(sign[j]! * xi > 0)) { lastFail = 'switch'; lastNu = nu; return undefined }
      d = Math.abs(xi)
    } else if (set === 'simplex') d = xi
    else d = Math.min(xi + t, t - xi)
    margin = Math.min(margin, d / Math.max(Math.min(size, reach), Math.abs(xi), 1e-300))
  }
  for (let i = 0; i < n; i++) {
    const st = sState[i]!
    if (st === 0) continue
    if (set === 'linf') margin = Math.min(margin, (st === 1 ? g[i]! : -g[i]!) / ds)
    else if (set === 'simplex') margin = Math.min(margin, (g[i]! + nu) / ds)
    else margin = Math.min(margin, (nu * w[i]! - Math.abs(g[i]!)) / ds)
  }
  if (set === 'l1') {
    if (row) margin = Math.min(margin, nu / ds)
    else {
      let v = 0, sc = 0
      for (let i = 0; i < n; i++) { v += w[i]! * Math.abs(x[i]!); sc += Math.abs(w[i]! * x[i]!) }
      margin = Math.min(margin, (t - v) / Math.max(sc, t, 1e-300))
    }
  }
  lastNu = nu
  lastFail = margin < 0 && stat <= LEAN_STATIONARITY * ds ? 'switch' : 'kink'
  if (!(margin > LEAN_MARGIN) || !(stat <= LEAN_STATIONARITY * ds)) return undefined
  const k = row && m > 0 ? 1 : 0
  return new LeanFaceRecord(
    set, x.slice(0, n), F.slice(0, m), row ? av.slice(0, m) : undefined, nu, H.slice(0, m * m), row ? y.slice(0, m) : undefined, s, A,
    new LeanReport(m - k, Math.min(1, margin)), faces
  )
}

/**
 * A lean face, made by a constructor: a batch keeps one per instance to the end of its
 * call, and V8 pretenures an object literal's allocation site whose objects a young
 * collection found all alive (see `batch/Engine.ts`, `solveStream`), after which each dead
 * face would keep its young arrays alive until the next full collection; objects made by
 * a constructor are not pretenured by site.
 */
class LeanFaceRecord implements LeanFace {
  constructor(
    readonly set: LeanFace['set'], readonly x: Float64Array, readonly free: Int32Array, readonly a: Float64Array | undefined,
    readonly nu: number, readonly L: Float64Array, readonly y: Float64Array | undefined, readonly s: number, readonly P: Float64Array,
    readonly report: FaceReport, readonly faces: number
  ) {}
}

/** A lean face's report (its derivative is exact), made by a constructor as the face is. */
class LeanReport implements FaceReport {
  readonly derivative = 'exact'
  constructor(readonly size: number, readonly margin: number) {}
}

/**
 * The exact minimizer on x₀'s face, certified (see the module notes), or undefined
 * (rejected: the caller runs the general path). The caller has checked
 * {@link leanApplies}. Pure: x₀ and θ are not written.
 *
 * @example
 * const lf = leanPolish('simplex', theta, fw.x.data)
 * lf?.report.derivative // 'exact'
 */
export const leanPolish = <N>(set: 'l1' | 'linf' | 'simplex', theta: Params<N>, x0: Float64Array): LeanFace | undefined => {
  tried++
  const n = x0.length, t = theta.t, q = theta.q.data, w = theta.w.data
  const A = (theta.P as { readonly mat: { readonly data: Float64Array } }).mat.data
  const sg = sSign
  // the first face: x₀'s own (the l1 ball: on the boundary when x₀ is, to 1e-9 of t)
  let row = set !== 'linf'
  if (set === 'linf') {
    for (let i = 0; i < n; i++) { const xi = x0[i]!; sState[i] = xi === t ? 2 : xi === -t ? 1 : 0 }
  } else {
    let v = 0
    if (set === 'l1') for (let i = 0; i < n; i++) v += w[i]! * Math.abs(x0[i]!)
    row = set === 'simplex' || v >= t * (1 - 1e-9)
    for (let i = 0; i < n; i++) {
      const xi = x0[i]!
      const free = set === 'simplex' ? xi > 0 : !row || xi !== 0
      sState[i] = free ? 0 : 3
      sg[i] = xi > 0 ? 1 : xi < 0 ? -1 : 0
    }
  }
  for (let round = 0; round < LEAN_ROUNDS; round++) {
    let m = 0
    for (let i = 0; i < n; i++) if (sState[i] === 0) { sFs[m] = set === 'l1' && row ? sg[i]! : 0; sF[m++] = i }
    if (row && m === 0) return undefined
    const r = solveFace(set, A, q, w, t, n, m, row, sFs, round + 1)
    if (r !== undefined) { accepted++; return r }
    if (lastFail !== 'switch') return undefined
    // the next face (a primal-dual active-set step): free coordinates past their bound (or
    // across 0 under the l1 row) become fixed, fixed ones whose multiplier has the wrong
    // sign become free; the l1 row leaves when its multiplier is negative and comes back
    // when the interior point leaves the ball
    const x = sX, g = sG, nu = lastNu
    if (set === 'l1' && row && nu < 0) {
      row = false
      for (let i = 0; i < n; i++) sState[i] = 0
      continue
    }
    if (set === 'l1' && !row) {
      row = true
      for (let i = 0; i < n; i++) { const xi = x[i]!; sState[i] = xi !== 0 ? 0 : 3; sg[i] = xi > 0 ? 1 : xi < 0 ? -1 : 0 }
      continue
    }
    for (let i = 0; i < n; i++) {
      const st = sState[i]!, xi = x[i]!, gi = g[i]!
      if (set === 'linf') {
        if (st === 0) sState[i] = xi >= t ? 2 : xi <= -t ? 1 : 0
        else if ((st === 1 && gi < 0) || (st === 2 && gi > 0)) sState[i] = 0
      } else if (set === 'simplex') {
        if (st === 0) { if (!(xi > 0)) sState[i] = 3 } else if (gi + nu < 0) sState[i] = 0
      } else if (st === 0) {
        if (!(sg[i]! * xi > 0)) { sState[i] = 3; sg[i] = 0 }
      } else if (Math.abs(gi) > nu * w[i]!) { sState[i] = 0; sg[i] = gi > 0 ? -1 : 1 }
    }
  }
  return undefined
}

// -------------------------------------------------------------------------------------
// the derivative
// -------------------------------------------------------------------------------------

/**
 * The face derivative at a lean point, as `faceDerivative` states it (`FaceDerivative.ts`:
 * the JVP's dx for e = ∂g/∂θ·dθ and the set's tangent; the VJP's v on F and the set's
 * gradients), from the kept factor.
 *
 * @example
 * const core = leanFaceMap(lf)
 * core.jvp(dq, { t: 0, k: 0 })
 */
export const leanFaceMap = (lf: LeanFace): FaceDerivativeMap => {
  const F = lf.free, m = F.length, n = lf.x.length, x = lf.x, A = lf.P, L = lf.L
  const a = lf.a, y = lf.y, s = lf.s, nu = lf.nu, kind = lf.set
  // the l∞ ball's fixed coordinates: +1 at +t, −1 at −t, 0 free
  // (read on the l∞ ball only)
  const bound = new Int8Array(kind === 'linf' ? n : 0)
  if (kind === 'linf') {
    for (let i = 0; i < n; i++) bound[i] = x[i]! > 0 ? 1 : -1
    for (let j = 0; j < m; j++) bound[F[j]!] = 0
  }
  /** [H a; aᵀ 0][u; μ] = [top; bot] in place (top ← u); returns μ. */
  const kkt = (top: Float64Array, bot: number): number => {
    if (m === 1 && a !== undefined) {
      // a face of dimension 0: the row alone fixes dx, exactly (no cancellation in H⁻¹)
      const dx = bot / a[0]!, mu = (top[0]! - L[0]! * L[0]! * dx) / a[0]!
      top[0] = dx
      return mu
    }
    cholSolve(L, m, top)
    if (a === undefined || y === undefined) return 0
    let ar = 0
    for (let j = 0; j < m; j++) ar += a[j]! * top[j]!
    const mu = (ar - bot) / s
    for (let j = 0; j < m; j++) top[j] = top[j]! - mu * y[j]!
    return mu
  }
  const sgn = (j: number): number => (a === undefined ? 0 : a[j]! > 0 ? 1 : -1)

  const jvp = (e: Float64Array | undefined, st: SetTangent): Float64Array => {
    const dx = new Float64Array(n), top = new Float64Array(m)
    if (e !== undefined) for (let j = 0; j < m; j++) top[j] = -e[F[j]!]!
    if (kind === 'linf' && st.t !== 0) {
      for (let i = 0; i < n; i++) if (bound[i] !== 0) dx[i] = bound[i]! * st.t
      for (let j = 0; j < m; j++) {
        const r = F[j]! * n
        let v = 0
        for (let i = 0; i < n; i++) if (bound[i] !== 0) v += A[r + i]! * dx[i]!
        top[j] = top[j]! - v
      }
    }
    let bot = a === undefined ? 0 : st.t
    if (kind === 'l1' && a !== undefined && st.w !== undefined) {
      for (let j = 0; j < m; j++) {
        const i = F[j]!, dc = st.w[i]!
        if (dc === 0) continue
        const sj = sgn(j)
        top[j] = top[j]! - nu * dc * sj
        bot -= dc * sj * x[i]!
      }
    }
    if (m > 0) {
      kkt(top, bot)
      for (let j = 0; j < m; j++) dx[F[j]!] = top[j]!
    }
    return dx
  }

  const vjp = (u: Float64Array, acc: SetGradient): Float64Array => {
    const v = new Float64Array(m)
    for (let j = 0; j < m; j++) v[j] = u[F[j]!]!
    const mu = m > 0 ? kkt(v, 0) : 0
    if (kind === 'linf') {
      for (let i = 0; i < n; i++) {
        if (bound[i] === 0) continue
        let ab = u[i]!
        for (let j = 0; j < m; j++) ab -= A[i * n + F[j]!]! * v[j]!
        if (ab !== 0) acc.t += bound[i]! * ab
      }
    }
    if (a !== undefined) {
      acc.t += mu
      if (kind === 'l1') for (let j = 0; j < m; j++) { const i = F[j]!; acc.w[i] = acc.w[i]! + -sgn(j) * (nu * v[j]! + mu * x[i]!) }
    }
    return v
  }

  const k = a === undefined ? 0 : 1
  return {
    report: lf.report,
    info: { method: 'cholesky', m, k, rank: m, nullity: 0, rowRank: k, rho: 0 },
    jvp, vjp
  }
}
