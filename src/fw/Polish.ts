/**
 * Polishing: from a feasible Frank-Wolfe iterate, finish the solve exactly, matrix-free.
 * Frank-Wolfe finds the neighbourhood of the solution quickly but converges slowly inside
 * a face (it zigzags, and on the l∞ box the weight of the starting atom keeps every
 * coordinate off its bound). The polish turns a good iterate into the exact minimizer,
 * which the implicit derivative's face test then reads without ambiguity.
 *
 * - Polytopes (l1, simplex, l∞): a primal active-set method. The working set (the
 *   coordinates fixed at 0 or at ±t, the signs of the others, and whether the l1 norm
 *   constraint is active) starts from the iterate. Each round solves the equality-
 *   constrained quadratic on the working face by projected CG (`pcg`), moves towards its
 *   solution as far as the set allows (a ratio test), and adds the blocking constraint;
 *   on reaching the face's minimizer it releases every constraint whose multiplier has the
 *   wrong sign by at least half the worst one's, and stops when none has. (Releasing one
 *   per round took one round per missing coordinate: from a 128-step iterate of a dense
 *   n = 1000 solution it had not finished after 60 rounds; together, 15 rounds.) Starting sets: l1 and simplex, the
 *   support |xᵢ| > 1e-9‖x‖∞ and the norm constraint when Σ|wᵢxᵢ| ≥ t(1 − 1e-9); l∞, the
 *   coordinates within 1e-2·t of the bound the gradient pushes towards.
 * - The l2 ball: when the iterate is within 1e-4·t of the sphere with a positive
 *   multiplier estimate (or the unconstrained minimizer lies outside the ball), Newton's
 *   method on the secular equation 1/‖x(λ)‖ = 1/t with (P + λI) x(λ) = −q, each step two
 *   CG solves; the result is put on the sphere exactly. Otherwise the unconstrained
 *   minimizer, when it lies inside the ball.
 *
 * The polished point is returned only when it is feasible, finite and its Frank-Wolfe gap
 * is no larger than the iterate's; otherwise the iterate comes back unchanged. Every CG
 * run uses tolerance 1e-14 relative to the first round's right-hand side (at most 1e-6 of its
 * own) and at most 2m + 20 iterations for m free coordinates.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import { applyInto, faceProduct } from '../core/LinearOperator.js'
import type { Params, SetKind } from './Problem.js'
import { type FaceSystem, pcg } from './Implicit.js'
import { fwGapAt } from './Oracle.js'
import { f64, f64From } from '../shapes/alloc.js'

/**
 * Options of {@link polish}.
 *
 * @example
 * polish('l1', theta, x, { tolerance: 1e-12, rounds: 20 })
 */
export interface PolishOptions {
  /** CG's relative residual tolerance (default 1e-14). */
  readonly tolerance?: number
  /** CG's iteration cap (default 2m + 20 for m free coordinates). */
  readonly maxIterations?: number
  /** The active-set method's cap on rounds (default 60). */
  readonly rounds?: number
}

const gapAt = <N>(set: SetKind, theta: Params<N>, x: Float64Array): number => {
  const n = x.length
  const px = f64(n)
  applyInto(theta.P, x, px)
  return fwGapAt(set, px, theta.q.data, x, theta.w.data, theta.t)
}

/** Feasible for the set, within rounding (relative 1e-13). */
const feasible = <N>(set: SetKind, theta: Params<N>, x: Float64Array): boolean => {
  const t = theta.t, w = theta.w.data, n = x.length
  let s = 0, s2 = 0
  for (let i = 0; i < n; i++) {
    const v = x[i]!
    if (!Number.isFinite(v)) return false
    if (set === 'linf' && Math.abs(v) > t) return false
    if (set === 'simplex' && v < 0) return false
    s += set === 'l1' ? Math.abs(w[i]! * v) : v
    s2 += v * v
  }
  if (set === 'l1') return s <= t * (1 + 1e-13)
  if (set === 'simplex') return Math.abs(s - t) <= 1e-13 * t
  if (set === 'l2') return Math.sqrt(s2) <= t * (1 + 1e-13)
  return true
}

/**
 * Polishes x. Pure: returns x itself or a new vector.
 *
 * @example
 * const xp = polish('linf', theta, fwIterate) // the exact minimizer, when the active-set rounds reach it
 */
export const polish = <N>(set: SetKind, theta: Params<N>, x: Vec<N>, options: PolishOptions = {}): Vec<N> => {
  // dense P: a few projected-gradient steps first guess the working set (see below)
  const start = set !== 'l2' && theta.P.kind === 'dense' ? projectedGradientStart(set, theta, x.data) : x.data
  const xn = set === 'l2' ? polishSphere(theta, x.data, options) : polishActiveSet(set, theta, start, options)
  if (xn === undefined || !feasible(set, theta, xn)) return x
  return gapAt(set, theta, xn) <= gapAt(set, theta, x.data) ? { dim: x.dim, data: xn } : x
}

// -------------------------------------------------------------------------------------
// the working set's first guess: projected gradient
// -------------------------------------------------------------------------------------

/**
 * out ← the Euclidean projection of y onto the polytope: the weighted l1 ball
 * Σ wᵢ|xᵢ| ≤ t, the simplex {x ≥ 0, Σ x = t} or the box |xᵢ| ≤ t, by sorting the
 * breakpoints (O(n log n)); `out` may be `y`; `scratch` (two arrays of length n) lets a
 * loop of projections allocate nothing. (The l2 ball is not handled here.)
 *
 * @example
 * projectInto('simplex', Float64Array.of(2, 0), Float64Array.of(1, 1), 1, out) // out = [1, 0]
 */
export const projectInto = (
  set: Exclude<SetKind, 'l2'>, y: Float64Array, w: Float64Array, t: number, out: Float64Array,
  scratch: { readonly b: Float64Array; readonly order: Int32Array } = { b: new Float64Array(y.length), order: new Int32Array(y.length) }
): void => {
  const n = y.length
  if (set === 'linf') {
    for (let i = 0; i < n; i++) out[i] = Math.min(t, Math.max(-t, y[i]!))
    return
  }
  if (set === 'l1') {
    let s = 0
    for (let i = 0; i < n; i++) s += w[i]! * Math.abs(y[i]!)
    if (s <= t) { out.set(y); return }
  }
  // the threshold θ of x = sign(y)·max(|y| − θw, 0) (l1) or x = max(y − θ, 0) (simplex)
  // meeting the set's sum: breakpoints bᵢ = |yᵢ|/wᵢ (or yᵢ) in decreasing order
  const l1 = set === 'l1'
  const { b, order } = scratch
  for (let i = 0; i < n; i++) { b[i] = l1 ? Math.abs(y[i]!) / w[i]! : y[i]!; order[i] = i }
  order.sort((i, j) => b[j]! - b[i]!)
  let s1 = 0, s2 = 0, theta = 0
  for (let k = 0; k < n; k++) {
    const i = order[k]!, wi = l1 ? w[i]! : 1
    s1 += wi * (l1 ? Math.abs(y[i]!) : y[i]!)
    s2 += wi * wi
    theta = (s1 - t) / s2
    const next = k + 1 < n ? b[order[k + 1]!]! : -Infinity
    if (theta >= next) break
  }
  if (l1) theta = Math.max(theta, 0)
  for (let i = 0; i < n; i++) {
    out[i] = l1 ? Math.sign(y[i]!) * Math.max(Math.abs(y[i]!) - theta * w[i]!, 0) : Math.max(y[i]! - theta, 0)
  }
}

/**
 * Projected gradient from x with an exact line search along each segment towards the
 * projection of x − g/L̂ (L̂ the Rayleigh quotient of P along the last direction), until
 * the support and signs have held for 5 steps (at most 60 steps). Frank-Wolfe adds at
 * most one coordinate per step, so a solution with many nonzeros leaves the active-set
 * rounds one release per missing group; projected steps find such a support in a few
 * dozen products. Every iterate is a convex combination of feasible points.
 */
const projectedGradientStart = <N>(set: Exclude<SetKind, 'l2'>, theta: Params<N>, x0: Float64Array): Float64Array => {
  const n = x0.length, q = theta.q.data, w = theta.w.data, t = theta.t
  const x = f64From(x0), px = f64(n), g = f64(n), y = f64(n), d = f64(n), pd = f64(n)
  const scratch = { b: new Float64Array(n), order: new Int32Array(n) }
  applyInto(theta.P, x, px)
  for (let i = 0; i < n; i++) g[i] = px[i]! + q[i]!
  // L̂ from the gradient direction to start
  applyInto(theta.P, g, pd)
  let gg = 0, gpg = 0
  for (let i = 0; i < n; i++) { gg += g[i]! * g[i]!; gpg += g[i]! * pd[i]! }
  let lhat = gg > 0 && gpg > 0 ? gpg / gg : 1
  const sig = new Int8Array(n)
  for (let i = 0; i < n; i++) sig[i] = Math.sign(x[i]!)
  let stable = 0
  for (let k = 0; k < 60 && stable < 5; k++) {
    for (let i = 0; i < n; i++) y[i] = x[i]! - g[i]! / lhat
    projectInto(set, y, w, t, y, scratch)
    let gd = 0, dd = 0
    for (let i = 0; i < n; i++) { d[i] = y[i]! - x[i]!; gd += g[i]! * d[i]!; dd += d[i]! * d[i]! }
    if (!(gd < 0) || dd === 0) break
    applyInto(theta.P, d, pd)
    let dpd = 0
    for (let i = 0; i < n; i++) dpd += d[i]! * pd[i]!
    const gamma = dpd > 0 ? Math.min(1, -gd / dpd) : 1
    if (dpd > 0) lhat = dpd / dd
    let changed = false
    for (let i = 0; i < n; i++) {
      x[i] = gamma === 1 ? y[i]! : x[i]! + gamma * d[i]!
      px[i] = px[i]! + gamma * pd[i]!
      g[i] = px[i]! + q[i]!
      const si = Math.sign(x[i]!)
      if (si !== sig[i]) { sig[i] = si; changed = true }
    }
    stable = changed ? 0 : stable + 1
  }
  return x
}

// -------------------------------------------------------------------------------------
// polytopes: a primal active-set method
// -------------------------------------------------------------------------------------

/** Released together: the constraints whose multiplier error is at least this share of the worst. */
const RELEASE = 0.5

const polishActiveSet = <N>(set: SetKind, theta: Params<N>, x0: Float64Array, options: PolishOptions): Float64Array | undefined => {
  const n = x0.length, t = theta.t, w = theta.w.data, q = theta.q.data
  const tol = options.tolerance ?? 1e-14
  const x = f64From(x0)
  const px = f64(n), g = f64(n)
  const gradient = (): void => {
    applyInto(theta.P, x, px)
    for (let i = 0; i < n; i++) g[i] = px[i]! + q[i]!
  }
  gradient()
  // the working set: fixed[i] (at 0, or at sg[i]·t on the box), sg[i] the sign of a free l1 coordinate
  const fixed = new Uint8Array(n)
  const sg = f64(n)
  let active = set === 'simplex'
  if (set === 'linf') {
    for (let i = 0; i < n; i++) {
      const s = x[i]! > 0 ? 1 : -1
      if (Math.abs(x[i]!) >= t * (1 - 1e-2) && s * g[i]! <= 0) { fixed[i] = 1; sg[i] = s; x[i] = s * t }
    }
  } else {
    let xmax = 0, norm = 0
    for (let i = 0; i < n; i++) { xmax = Math.max(xmax, Math.abs(x[i]!)); norm += set === 'l1' ? Math.abs(w[i]! * x[i]!) : x[i]! }
    for (let i = 0; i < n; i++) {
      if (Math.abs(x[i]!) > 1e-9 * xmax && (set === 'l1' || x[i]! > 0)) sg[i] = x[i]! > 0 ? 1 : -1
      else { fixed[i] = 1; x[i] = 0 }
    }
    if (set === 'l1') active = norm >= t * (1 - 1e-9)
  }
  const rounds = options.rounds ?? 60
  let b00 = 0
  for (let round = 0; round < rounds; round++) {
    const F: number[] = []
    for (let i = 0; i < n; i++) if (fixed[i] === 0) F.push(i)
    const m = F.length
    gradient()
    const linear = active && (set === 'l1' || set === 'simplex')
    const a = linear ? Float64Array.from(F, (i) => (set === 'l1' ? sg[i]! * w[i]! : 1)) : undefined
    const aa = a === undefined ? 1 : a.reduce((s, v) => s + v * v, 0)
    // P_FF set up once per working face: O(m²) dense, O(m r) low rank, not a full product
    const H = faceProduct(theta.P, F)
    // the step p = p₀ + z: p₀ restores aᵀx_F = t, z ∈ null(aᵀ) minimizes the model on the face
    const p = f64(m)
    if (m > 0) {
      const b = Float64Array.from(F, (i) => -g[i]!)
      if (a !== undefined) {
        let ax = 0
        for (let k = 0; k < m; k++) ax += a[k]! * x[F[k]!]!
        const c = (t - ax) / aa
        if (c !== 0) {
          for (let k = 0; k < m; k++) p[k] = c * a[k]!
          const hp = f64(m)
          H(p, hp)
          for (let k = 0; k < m; k++) b[k] = b[k]! - hp[k]!
        }
      }
      const sys: FaceSystem = { m, a, aa, H }
      // CG's tolerance is relative to the first round's right-hand side: later rounds solve
      // for small corrections, which need the same absolute accuracy, not 1e-14 of their own size
      let bn = 0
      for (let k = 0; k < m; k++) bn += b[k]! * b[k]!
      bn = Math.sqrt(bn)
      if (b00 === 0) b00 = bn
      const z = pcg(sys, b, bn > 0 ? Math.min(1e-6, (tol * b00) / bn) : tol, options.maxIterations ?? 2 * m + 20).z
      for (let k = 0; k < m; k++) p[k] = p[k]! + z[k]!
    }
    // the ratio test
    let alpha = 1, block = -1, blockNorm = false
    for (let k = 0; k < m; k++) {
      const i = F[k]!, pk = p[k]!
      if (set === 'linf') {
        const room = pk > 0 ? t - x[i]! : pk < 0 ? t + x[i]! : Infinity
        const r = room / Math.abs(pk)
        if (r < alpha) { alpha = Math.max(r, 0); block = i }
      } else if (sg[i]! * pk < 0) {
        const r = (sg[i]! * x[i]!) / -(sg[i]! * pk)
        if (r < alpha) { alpha = Math.max(r, 0); block = i }
      }
    }
    if (set === 'l1' && !active) {
      let s0 = 0, ds = 0
      for (let k = 0; k < m; k++) { const i = F[k]!; s0 += w[i]! * sg[i]! * x[i]!; ds += w[i]! * sg[i]! * p[k]! }
      if (ds > 0 && (t - s0) / ds < alpha) { alpha = Math.max((t - s0) / ds, 0); block = -1; blockNorm = true }
    }
    for (let k = 0; k < m; k++) x[F[k]!] = x[F[k]!]! + alpha * p[k]!
    if (block >= 0) {
      fixed[block] = 1
      x[block] = set === 'linf' ? (p[F.indexOf(block)]! > 0 ? t : -t) : 0
      if (set === 'linf') sg[block] = x[block]! > 0 ? 1 : -1
      continue
    }
    if (blockNorm) { active = true; continue }
    // at the face's minimizer: release the constraints whose multipliers are most wrong
    gradient()
    let gmax = 0
    for (let i = 0; i < n; i++) gmax = Math.max(gmax, Math.abs(g[i]!))
    const vtol = 1e-11 * gmax
    let lambda = 0
    if (a !== undefined) {
      let ag = 0
      for (let k = 0; k < m; k++) ag += a[k]! * g[F[k]!]!
      lambda = -ag / aa
    }
    if (set === 'l1' && active && lambda < -vtol) { active = false; continue }
    // every constraint whose multiplier is wrong by at least RELEASE times the worst
    const viol = (i: number): number => set === 'linf' ? sg[i]! * g[i]! // −μᵢ
      : set === 'simplex' ? -(g[i]! + lambda)
        : Math.abs(g[i]!) - lambda * w[i]!
    let worst = vtol
    for (let i = 0; i < n; i++) if (fixed[i] === 1) worst = Math.max(worst, viol(i))
    if (worst <= vtol) return x
    const cut = Math.max(vtol, RELEASE * worst)
    for (let i = 0; i < n; i++) {
      if (fixed[i] === 0 || !(viol(i) >= cut)) continue
      fixed[i] = 0
      if (set !== 'linf') sg[i] = set === 'simplex' ? 1 : g[i]! > 0 ? -1 : 1
    }
  }
  return x
}

// -------------------------------------------------------------------------------------
// the l2 ball: the secular equation
// -------------------------------------------------------------------------------------

const polishSphere = <N>(theta: Params<N>, x0: Float64Array, options: PolishOptions): Float64Array | undefined => {
  const n = x0.length, t = theta.t, q = theta.q.data
  const tol = options.tolerance ?? 1e-14
  const maxIt = options.maxIterations ?? 2 * n + 20
  const out = f64(n)
  /** Solves (P + λI) y = rhs by CG, starting from y0 (returns y). */
  const solve = (lambda: number, rhs: Float64Array, y0: Float64Array): Float64Array => {
    const H = (p: Float64Array, o: Float64Array): void => {
      applyInto(theta.P, p, out)
      for (let i = 0; i < n; i++) o[i] = out[i]! + lambda * p[i]!
    }
    const r = f64(n)
    H(y0, r)
    for (let i = 0; i < n; i++) r[i] = rhs[i]! - r[i]!
    const z = pcg({ m: n, a: undefined, aa: 1, H }, r, tol, maxIt).z
    const y = f64(n)
    for (let i = 0; i < n; i++) y[i] = y0[i]! + z[i]!
    return y
  }
  const norm = (v: Float64Array): number => Math.sqrt(v.reduce((s, e) => s + e * e, 0))
  const minusQ = Float64Array.from(q, (v) => -v)
  const px = f64(n)
  applyInto(theta.P, x0, px)
  let xg = 0, xx = 0
  for (let i = 0; i < n; i++) { xg += x0[i]! * (px[i]! + q[i]!); xx += x0[i]! * x0[i]! }
  const nx = Math.sqrt(xx)
  let lambda = xx > 0 ? -xg / xx : 0
  if (!(nx >= t * (1 - 1e-4) && lambda > 0)) {
    // interior: the unconstrained minimizer, if it lies inside the ball
    const xu = solve(0, minusQ, x0)
    if (norm(xu) <= t) return xu
    lambda = Math.max(lambda, 1e-12 * (Math.abs(xg) / Math.max(xx, 1e-300) + 1))
  }
  let y: Float64Array = f64From(x0)
  for (let it = 0; it < 30; it++) {
    y = solve(lambda, minusQ, y)
    const ny = norm(y)
    if (!(ny > 0) || !Number.isFinite(ny)) return undefined
    if (Math.abs(ny - t) <= 1e-15 * t) break
    // φ(λ) = 1/t − 1/‖y‖, φ' = −yᵀ(P + λI)⁻¹y / ‖y‖³: λ ← λ + (‖y‖ − t)/t · ‖y‖² / yᵀ(P + λI)⁻¹y
    const u = solve(lambda, y, f64(n))
    const yu = y.reduce((s, v, i) => s + v * u[i]!, 0)
    if (!(yu > 0)) return undefined
    const next = lambda + ((ny - t) / t) * (ny * ny) / yu
    if (!Number.isFinite(next)) return undefined
    lambda = next > 0 ? next : lambda / 10
  }
  const ny = norm(y)
  return Float64Array.from(y, (v) => (v * t) / ny)
}
