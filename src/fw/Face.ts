/**
 * The active face of the feasible set at a (near-)optimal point, and the multiplier of
 * its constraint. The implicit derivative (`Implicit.ts`) differentiates the optimality
 * conditions restricted to this face.
 *
 * For x ≈ argmin ½ xᵀP x + qᵀx over C, with g = P x + q:
 * - `l1` (Σ|wᵢxᵢ| ≤ t): support S = {i : |xᵢ| > supportTol·‖x‖∞}, signs σ = sign(x_S).
 *   Binding when Σ|wᵢxᵢ| ≥ t(1 − boundTol). On a binding face, g_S + λ a = 0 with
 *   a = σ ⊙ w_S, so λ = −aᵀg_S / aᵀa (least squares, clamped at 0). The free coordinates
 *   are S; the others are fixed at 0. Not binding: every coordinate is free, λ = 0.
 * - `simplex` (x ≥ 0, Σx = t): support S = {i : xᵢ > supportTol·‖x‖∞}, always binding,
 *   a = 1_S, λ = −mean(g_S) (a free sign: the constraint is an equality).
 * - `linf` (|xᵢ| ≤ t): the fixed coordinates B = {i : |xᵢ| ≥ t(1 − boundTol)} sit at
 *   σᵢ t, with σᵢ = sign(xᵢ), or −sign(gᵢ) when xᵢ = 0 (only possible when t = 0: the side
 *   the gradient pushes towards; 0 if gᵢ = 0 too). Their multipliers are
 *   μᵢ = −σᵢ gᵢ (≥ 0 at an optimum). The rest are free with g_F = 0. Binding iff B ≠ ∅.
 * - `l2` (‖x‖ ≤ t): binding when ‖x‖ ≥ t(1 − boundTol); then g + λ x = 0 with
 *   λ = −xᵀg / xᵀx (least squares, clamped at 0). Every coordinate is free.
 *
 * Tolerances (relative, both default 1e-9): `supportTol` against ‖x‖∞ decides the
 * support; `boundTol` against t decides whether a norm constraint (or an l∞ coordinate)
 * is at its bound.
 *
 * Ties and degenerate points:
 * - A zero coordinate exactly on the boundary of the dual condition (xᵢ = 0 with
 *   |gᵢ| = λwᵢ for l1, or gᵢ = −λ for the simplex) is left off the support: it stays fixed
 *   at 0, so the derivative is the one along the face that keeps it at 0 (one of the
 *   one-sided derivatives; the solution map has a kink there).
 * - An l∞ coordinate at ±t with μᵢ = 0, and a norm constraint that binds with λ = 0, are
 *   kept on the face (fixed / binding) for the same reason.
 * - An empty support on a binding l1 or simplex face (possible only when t = 0) gives a
 *   face with no free coordinates: the derivative along it is 0. An l2 face with x = 0
 *   (t = 0) likewise has no free coordinates.
 * - A negative multiplier estimate (x not optimal on the face, or the wrong face) is
 *   clamped at 0 for l1 and l2, so that the face system P + λI stays positive
 *   semidefinite; `stationarity` reports how far g is from satisfying the face's
 *   stationarity condition, for the caller to judge.
 *
 * @since 0.1.0
 */
import type { Dim } from '../shapes/Dim.js'
import type { Vec } from '../shapes/Vec.js'
import { applyInto } from '../core/LinearOperator.js'
import type { Params, SetKind } from './Problem.js'
import { f64, f64From } from '../shapes/alloc.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The kind of equality constraint a face adds on its free coordinates:
 * - `none`: no constraint (an interior point, the l∞ box's free coordinates)
 * - `linear`: aᵀx_F = c (l1: a = σ⊙w_S, c = t; simplex: a = 1_S, c = t)
 * - `sphere`: ‖x‖ = t (l2)
 * - `point`: the face is a single point that does not move on the face (empty support
 *   on a binding l1/simplex face, x = 0 on a binding l2 face)
 *
 * @example
 * const face = identifyFace('l2', params, x)
 * face.constraint // 'sphere' when ‖x‖ = t, 'none' inside the ball
 */
export type FaceConstraint = 'none' | 'linear' | 'sphere' | 'point'

/**
 * The active face at x, and the multiplier(s) of its constraints.
 *
 * @example
 * const f = identifyFace('linf', params, x)
 * f.fixed                 // the coordinates at ±t
 * f.multipliers.data[i]   // μᵢ = −σᵢ gᵢ ≥ 0 for i in f.fixed
 */
export interface Face<N> {
  readonly set: SetKind
  readonly dim: Dim<N>
  /** Whether the set's constraint is active at x (l∞: some coordinate at ±t; simplex: always). */
  readonly binding: boolean
  /** The equality constraint on the free coordinates. */
  readonly constraint: FaceConstraint
  /** Coordinates with |xᵢ| > supportTol·‖x‖∞, ascending. */
  readonly support: Int32Array
  /** The coordinates the derivative may move, ascending. */
  readonly free: Int32Array
  /** The other coordinates, ascending: fixed at 0 (l1, simplex) or at σᵢ t (l∞). */
  readonly fixed: Int32Array
  /**
   * Signs: l1, simplex, l2: sign(xᵢ) on the support, 0 elsewhere. l∞: the side σᵢ of the
   * bound on the fixed coordinates, 0 on the free ones.
   */
  readonly signs: Vec<N>
  /** The multiplier of the norm (l1, l2) or sum (simplex) constraint; 0 when not binding and for l∞. */
  readonly lambda: number
  /** l∞: μᵢ = −σᵢ gᵢ on the fixed coordinates, 0 elsewhere. Other sets: all 0. */
  readonly multipliers: Vec<N>
  /** g = P x + q. */
  readonly gradient: Vec<N>
  /**
   * The relative stationarity residual on the face, ‖g_F + λ a‖ / (‖P x‖ + ‖q‖)
   * (a = σ⊙w_S for l1, 1 for the simplex, x for l2, no term when not binding): about
   * machine precision at an exact optimum with a correctly identified face.
   */
  readonly stationarity: number
  /** P products spent (0 when the gradient was supplied, else 1). */
  readonly matvecs: number
}

/**
 * Options of {@link identifyFace}.
 *
 * @example
 * identifyFace('l1', params, x, { supportTol: 1e-7, gradient: g })
 */
export interface FaceOptions<N> {
  /** Support threshold relative to ‖x‖∞ (default 1e-9). */
  readonly supportTol?: number
  /** Bound threshold relative to t (default 1e-9). */
  readonly boundTol?: number
  /** g = P x + q, when the caller already has it (saves one P product). */
  readonly gradient?: Vec<N>
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

const indices = (n: number, keep: (i: number) => boolean): Int32Array => {
  let m = 0
  for (let i = 0; i < n; i++) if (keep(i)) m++
  const o = new Int32Array(m)
  let k = 0
  for (let i = 0; i < n; i++) if (keep(i)) o[k++] = i
  return o
}

const all = (n: number): Int32Array => indices(n, () => true)
const none = new Int32Array(0)
const sgn = (v: number): number => (v > 0 ? 1 : v < 0 ? -1 : 0)

/**
 * Identifies the active face of `set` at x (see the module documentation for the rules,
 * tolerances and tie-breaking), and recovers the multipliers from g = P x + q by least
 * squares on the face. Costs one P product unless `options.gradient` is given.
 *
 * @example
 * const face = identifyFace('l1', { P, q, w, t }, x)
 * face.binding      // Σ|wᵢxᵢ| ≥ t(1 − 1e-9)
 * face.free         // the support S
 * face.lambda       // −aᵀg_S / aᵀa, a = sign(x_S) ⊙ w_S
 */
export const identifyFace = <N>(set: SetKind, params: Params<N>, x: Vec<N>, options: FaceOptions<N> = {}): Face<N> => {
  const supportTol = options.supportTol ?? 1e-9
  const boundTol = options.boundTol ?? 1e-9
  const n = x.dim as number
  const xs = x.data
  let matvecs = 0
  let g: Float64Array
  if (options.gradient !== undefined) g = options.gradient.data
  else {
    g = f64(n)
    applyInto(params.P, xs, g)
    for (let i = 0; i < n; i++) g[i] = g[i]! + params.q.data[i]!
    matvecs = 1
  }
  const t = params.t
  const w = params.w.data
  let xmax = 0
  for (let i = 0; i < n; i++) xmax = Math.max(xmax, Math.abs(xs[i]!))
  const thr = supportTol * xmax
  const support = set === 'simplex' ? indices(n, (i) => xs[i]! > thr && xs[i]! > 0) : indices(n, (i) => Math.abs(xs[i]!) > thr)
  const signs = f64(n)
  const mult = f64(n)
  // the scale of the terms that cancel in g = P x + q at an interior optimum
  let pxs = 0, qs = 0
  for (let i = 0; i < n; i++) { const qi = params.q.data[i]!; qs += qi * qi; pxs += (g[i]! - qi) ** 2 }
  const gscale = Math.max(Math.sqrt(pxs) + Math.sqrt(qs), 1e-300)

  const make = (f: Omit<Face<N>, 'set' | 'dim' | 'support' | 'signs' | 'multipliers' | 'gradient' | 'matvecs'>): Face<N> => ({
    set,
    dim: x.dim,
    support,
    signs: { dim: x.dim, data: signs },
    multipliers: { dim: x.dim, data: mult },
    gradient: { dim: x.dim, data: options.gradient !== undefined ? f64From(g) : g },
    matvecs,
    ...f
  })
  const residualOf = (free: Int32Array, a: (i: number) => number, lambda: number): number => {
    let s = 0
    for (const i of free) s += (g[i]! + lambda * a(i)) ** 2
    return Math.sqrt(s) / gscale
  }

  switch (set) {
    case 'l1': {
      for (const i of support) signs[i] = sgn(xs[i]!)
      let norm = 0
      for (let i = 0; i < n; i++) norm += Math.abs(w[i]! * xs[i]!)
      const binding = norm >= t * (1 - boundTol)
      if (!binding) {
        const free = all(n)
        return make({ binding, constraint: 'none', free, fixed: none, lambda: 0, stationarity: residualOf(free, () => 0, 0) })
      }
      const fixed = indices(n, (i) => signs[i] === 0)
      if (support.length === 0) {
        return make({ binding, constraint: 'point', free: none, fixed, lambda: 0, stationarity: 0 })
      }
      const a = (i: number): number => signs[i]! * w[i]!
      let ag = 0, aa = 0
      for (const i of support) { ag += a(i) * g[i]!; aa += a(i) ** 2 }
      const lambda = aa > 0 ? Math.max(0, -ag / aa) : 0
      return make({ binding, constraint: 'linear', free: support, fixed, lambda, stationarity: residualOf(support, a, lambda) })
    }
    case 'simplex': {
      for (const i of support) signs[i] = 1
      const fixed = indices(n, (i) => signs[i] === 0)
      if (support.length === 0) {
        return make({ binding: true, constraint: 'point', free: none, fixed, lambda: 0, stationarity: 0 })
      }
      let sg = 0
      for (const i of support) sg += g[i]!
      const lambda = -sg / support.length
      return make({ binding: true, constraint: 'linear', free: support, fixed, lambda, stationarity: residualOf(support, () => 1, lambda) })
    }
    case 'linf': {
      const bound = t * (1 - boundTol)
      const atBound = (i: number): boolean => Math.abs(xs[i]!) >= bound
      const fixed = indices(n, atBound)
      const free = indices(n, (i) => !atBound(i))
      for (const i of fixed) {
        signs[i] = xs[i]! !== 0 ? sgn(xs[i]!) : -sgn(g[i]!)
        mult[i] = -signs[i]! * g[i]!
      }
      return make({
        binding: fixed.length > 0,
        constraint: 'none',
        free,
        fixed,
        lambda: 0,
        stationarity: residualOf(free, () => 0, 0)
      })
    }
    case 'l2': {
      for (const i of support) signs[i] = sgn(xs[i]!)
      let xx = 0, xg = 0
      for (let i = 0; i < n; i++) { xx += xs[i]! ** 2; xg += xs[i]! * g[i]! }
      const binding = Math.sqrt(xx) >= t * (1 - boundTol)
      if (!binding) {
        const free = all(n)
        return make({ binding, constraint: 'none', free, fixed: none, lambda: 0, stationarity: residualOf(free, () => 0, 0) })
      }
      if (xx === 0) return make({ binding, constraint: 'point', free: none, fixed: all(n), lambda: 0, stationarity: 0 })
      const lambda = Math.max(0, -xg / xx)
      const free = all(n)
      return make({ binding, constraint: 'sphere', free, fixed: none, lambda, stationarity: residualOf(free, (i) => xs[i]!, lambda) })
    }
  }
}
