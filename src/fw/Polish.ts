/**
 * Polishing: from a feasible Frank-Wolfe iterate, finish the solve exactly, with direct
 * face solves. Frank-Wolfe finds the neighbourhood of the solution quickly but converges
 * slowly inside a face, and on ill-conditioned or singular P it may never get there; the
 * polish turns its iterate into the exact minimizer and hands over the face the implicit
 * derivative is taken on.
 *
 * - Polyhedral sets: a primal active-set method with a factorization per working face
 *   (`ActiveSet.ts`). For dense P and a set with a cheap projection, a few projected-
 *   gradient steps first guess the working set (exact line search on each segment towards
 *   the projection of x − g/L̂, L̂ the Rayleigh quotient of P along the last step; until the
 *   signs hold for 5 steps, at most 60): Frank-Wolfe adds at most one coordinate per step,
 *   and a solution with many nonzeros would otherwise cost the active set one round per
 *   group of missing coordinates.
 * - The l2 ball: the unconstrained minimizer when it lies inside the ball; otherwise
 *   Newton's method on the secular equation 1/‖y(λ)‖ = 1/t, (P + λI) y(λ) = −q, each step a
 *   direct solve with P + λI (a Cholesky factorization for dense P), safeguarded by
 *   bisection; the result is put on the sphere exactly.
 *
 * The result carries the face (`FaceModel.ts`), whether the point is certified as a KKT
 * point, the rounds and face solves it took, and negative curvature when P showed it.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import { type LinearOperator, applyInto } from '../core/LinearOperator.js'
import { kktSolver } from '../core/Kkt.js'
import type { Params, SetName } from './Problem.js'
import type { FeasibleSet } from './sets/FeasibleSet.js'
import { resolveSet, projectSorted } from './sets/Sets.js'
import { polyFeasible } from './sets/Polyhedron.js'
import { type Curvature, activeSet } from './ActiveSet.js'
import { type FaceModel, polyhedralFace, sphereFace, gradientScale } from './FaceModel.js'
import { faceHessian } from './FaceHessian.js'
import { faceMemo } from './CallMemo.js'
import { f64, f64From } from '../shapes/alloc.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The outcome of {@link polishExact}.
 *
 * @example
 * const r = polishExact(set, theta, x)
 * r.certified ? r.face : undefined
 */
export interface PolishResult {
  readonly x: Float64Array
  readonly face: FaceModel
  readonly certified: boolean
  readonly rounds: number
  readonly faceSolves: number
  readonly negative?: Curvature
}

/**
 * The relative feasibility a certified point must have (`polyFeasible`): 1e-12 of each
 * constraint's scale.
 *
 * @example
 * polyFeasible(set.polyhedron!, x, FEASIBILITY_TOLERANCE)
 */
export const FEASIBILITY_TOLERANCE = 1e-12

/**
 * Options of {@link polishExact}.
 *
 * @example
 * polishExact(set, theta, x, { deadline: performance.now() + 1000 })
 */
export interface PolishOptions {
  /** The active set's cap on rounds (default 4n + 60). */
  readonly rounds?: number
  /** A wall-clock deadline (performance.now()). */
  readonly deadline?: number
}

// -------------------------------------------------------------------------------------
// the polish
// -------------------------------------------------------------------------------------

/**
 * The exact minimizer from a feasible x, with its face (see the module notes). Pure.
 *
 * @example
 * const { x, face } = polishExact(resolveSet('l1', theta), theta, fw.x)
 */
export const polishExact = <N>(set: FeasibleSet, theta: Params<N>, x0: Float64Array, options: PolishOptions = {}): PolishResult => {
  const P = theta.P, q = theta.q.data
  if (set.polyhedron === undefined) return polishSphere(set, P, q, x0)
  const start = P.kind === 'dense' && set.project !== undefined ? projectedGradientStart(set, P, q, x0) : x0
  const r = activeSet(set.polyhedron, P, q, start, {
    ...(options.rounds !== undefined ? { maxRounds: options.rounds } : {}),
    ...(options.deadline !== undefined ? { deadline: options.deadline } : {})
  })
  const px = f64(set.n)
  applyInto(P, r.x, px)
  return {
    x: r.x, face: polyhedralFace(set, r.ws, r.nu, r.x, px, q), certified: r.certified && polyFeasible(set.polyhedron, r.x, FEASIBILITY_TOLERANCE, r.ws.active),
    rounds: r.rounds, faceSolves: r.faceSolves, ...(r.negative === undefined ? {} : { negative: r.negative })
  }
}

/**
 * The polished point alone, for a set named by its kind: x itself when the polish cannot
 * certify a point with a gap no larger than x's.
 *
 * @example
 * const xp = polish('linf', theta, fwIterate) // the exact minimizer
 */
export const polish = <N>(set: SetName, theta: Params<N>, x: Vec<N>, options: PolishOptions = {}): Vec<N> => {
  const s = resolveSet(set, theta)
  const r = polishExact(s, theta, x.data, options)
  if (r.negative !== undefined || !r.x.every(Number.isFinite) || s.violation(r.x) > 1e-12 * Math.max(s.size, 1)) return x
  return gapOf(s, theta, r.x) <= gapOf(s, theta, x.data) ? { dim: x.dim, data: r.x } : x
}

const gapOf = <N>(s: FeasibleSet, theta: Params<N>, x: Float64Array): number => {
  const n = x.length, g = f64(n)
  applyInto(theta.P, x, g)
  let gx = 0
  for (let i = 0; i < n; i++) { g[i] = g[i]! + theta.q.data[i]!; gx += g[i]! * x[i]! }
  return Math.max(0, gx - s.lmoValue(g))
}

/**
 * out ← the Euclidean projection of y onto the weighted l1 ball, the simplex or the box
 * |xᵢ| ≤ t; `out` may be `y`.
 *
 * @example
 * projectInto('simplex', Float64Array.of(2, 0), Float64Array.of(1, 1), 1, out) // out = [1, 0]
 */
export const projectInto = (set: 'l1' | 'simplex' | 'linf', y: Float64Array, w: Float64Array, t: number, out: Float64Array): void => {
  if (set === 'linf') { for (let i = 0; i < y.length; i++) out[i] = Math.min(t, Math.max(-t, y[i]!)); return }
  projectSorted(set === 'l1', y, w, t, out)
}

// -------------------------------------------------------------------------------------
// the working set's first guess: projected gradient
// -------------------------------------------------------------------------------------

const projectedGradientStart = <N>(set: FeasibleSet, P: LinearOperator<N>, q: Float64Array, x0: Float64Array): Float64Array => {
  const n = x0.length, project = set.project!
  const x = f64From(x0), px = f64(n), g = f64(n), y = f64(n), d = f64(n), pd = f64(n)
  applyInto(P, x, px)
  for (let i = 0; i < n; i++) g[i] = px[i]! + q[i]!
  applyInto(P, g, pd)
  let gg = 0, gpg = 0
  for (let i = 0; i < n; i++) { gg += g[i]! * g[i]!; gpg += g[i]! * pd[i]! }
  let lhat = gg > 0 && gpg > 0 ? gpg / gg : 1
  const sig = new Int8Array(n)
  for (let i = 0; i < n; i++) sig[i] = Math.sign(x[i]!)
  let stable = 0
  for (let k = 0; k < 60 && stable < 5; k++) {
    for (let i = 0; i < n; i++) y[i] = x[i]! - g[i]! / lhat
    project(y, y)
    let gd = 0, dd = 0
    for (let i = 0; i < n; i++) { d[i] = y[i]! - x[i]!; gd += g[i]! * d[i]!; dd += d[i]! * d[i]! }
    if (!(gd < 0) || dd === 0) break
    applyInto(P, d, pd)
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
// the l2 ball: the secular equation
// -------------------------------------------------------------------------------------

const norm = (v: Float64Array): number => {
  let m = 0
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!))
  if (m === 0 || !Number.isFinite(m)) return m
  let s = 0
  for (let i = 0; i < v.length; i++) s += (v[i]! / m) ** 2
  return m * Math.sqrt(s)
}

const polishSphere = <N>(set: FeasibleSet, P: LinearOperator<N>, q: Float64Array, x0: Float64Array): PolishResult => {
  const n = x0.length, t = set.size
  const all = Int32Array.from({ length: n }, (_, i) => i)
  const block = faceHessian(P, all)
  let faceSolves = 0
  const minusQ = Float64Array.from(q, (v) => -v)
  const solverAt = (lambda: number) => { faceSolves++; return faceMemo(P, all, undefined, lambda, () => kktSolver({ H: block, ...(lambda !== 0 ? { shift: lambda } : {}) })) }
  const done = (x: Float64Array, certified: boolean, negative?: Curvature): PolishResult => {
    const px = f64(n)
    applyInto(P, x, px)
    return { x, face: sphereFace(set, x, px, q), certified, rounds: faceSolves, faceSolves, ...(negative === undefined ? {} : { negative }) }
  }
  if (!(t > 0)) return done(new Float64Array(n), true)
  // the unconstrained minimizer, when it exists and lies inside the ball
  const s0 = solverAt(0)
  if (s0.info.negative !== undefined) return done(Float64Array.from(x0), false, { direction: s0.info.negative.direction, curvature: s0.info.negative.curvature })
  const xu = s0.solve(minusQ).x
  const pxu = f64(n)
  applyInto(P, xu, pxu)
  let res = 0
  for (let i = 0; i < n; i++) res = Math.max(res, Math.abs(pxu[i]! + q[i]!))
  const consistent = res <= 1e-10 * Math.max(gradientScale(pxu, q), 1e-300)
  if (consistent && norm(xu) <= t) return done(Float64Array.from(xu), true)
  // on the sphere: ‖y(λ)‖ = t with λ > 0; ‖y(λ)‖ ≤ ‖q‖/λ, so the root lies in (0, ‖q‖/t]
  let lo = 0, hi = norm(q) / t
  const px0 = f64(n)
  applyInto(P, x0, px0)
  let xg = 0, xx = 0
  for (let i = 0; i < n; i++) { xg += x0[i]! * (px0[i]! + q[i]!); xx += x0[i]! * x0[i]! }
  let lambda = xx > 0 && -xg / xx > 0 && -xg / xx < hi ? -xg / xx : 0.5 * hi
  let y = f64From(x0)
  let last: { readonly u: Float64Array; readonly yu: number } | undefined
  for (let it = 0; it < 60; it++) {
    const s = solverAt(lambda)
    y = s.solve(minusQ).x
    last = undefined
    const ny = norm(y)
    if (!(ny > 0) || !Number.isFinite(ny)) { lambda = 0.5 * (lo + hi); continue }
    if (ny > t) lo = Math.max(lo, lambda); else hi = Math.min(hi, lambda)
    if (Math.abs(ny - t) <= 4e-16 * t) break
    // Newton on φ(λ) = 1/‖y‖ − 1/t: λ ← λ + ((‖y‖ − t)/t)·‖y‖²/(yᵀ(P + λI)⁻¹y)
    const u = s.solve(y).x
    let yu = 0
    for (let i = 0; i < n; i++) yu += y[i]! * u[i]!
    last = { u, yu }
    let next = yu > 0 ? lambda + ((ny - t) / t) * (ny * ny) / yu : NaN
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi)
    if (next === lambda || hi - lo <= 1e-16 * hi) break
    lambda = next
  }
  // λ's last Newton step may fall below its ulp (an ill-conditioned P + λI near a small
  // eigenvalue moves ‖y‖ by 1e-12 per ulp of λ): take it on y instead, to first order,
  // y(λ + δ) = y − δ (P + λI)⁻¹ y
  if (last !== undefined && last.yu > 0) {
    const ny0 = norm(y)
    const delta = (ny0 - t) * ny0 / last.yu
    const y2 = Float64Array.from(y, (v, i) => v - delta * last!.u[i]!)
    if (Math.abs(norm(y2) - t) < Math.abs(ny0 - t)) y = y2
  }
  const ny = norm(y)
  return done(Float64Array.from(y, (v) => (v / ny) * t), Math.abs(ny - t) <= 1e-12 * t)
}
