/**
 * The K-sparse polytope {‖x‖∞ ≤ t, ‖x‖₁ ≤ k·t}, 1 ≤ k ≤ n an integer: the convex hull of
 * the vectors with k entries ±t and the rest 0, as a {@link FeasibleSet} that brings its
 * own steps.
 *
 * - **Oracle** (a partial sort, O(n) expected): the k largest |gᵢ| get −t·sign(gᵢ) (ties
 *   broken by index; a zero gᵢ gets 0).
 * - **Polyhedron**: bounds ±t and one abs row Σ|xᵢ| ≤ k t; t moves the bounds and the
 *   row's right-hand side k·t (`params`).
 * - **Projection** (O(n log n), exact): clip(y, −t, t) when Σ min(|yᵢ|, t) ≤ k t, else
 *   sign(y)·clip(|y| − θ, 0, t) with the θ > 0 of Σ clip(|yᵢ| − θ, 0, t) = k t (the
 *   capped simplex's threshold, `CappedSimplex.ts`).
 * - **Default schedule's step** (unit directions along the polytope's two kinds of
 *   edges, the one of largest score taken, exact line search):
 *   1. *a coordinate move* towards the oracle's entry: u = σ eⱼ with σ = −sign(gⱼ), for
 *      any j not yet at σt, score |gⱼ|·(t − σxⱼ) (the decrease to the target at the
 *      current slope). A move that grows |xⱼ| needs slack in the row (s = k t − ‖x‖₁ >
 *      4nε·k t); one that crosses zero (xⱼ on the wrong side) is always allowed.
 *      γmax = min(t − σxⱼ, s) when xⱼ grows, min(t − σxⱼ, 2|xⱼ| + s) when it crosses
 *      zero (s counted as 0 on a tight row: xⱼ lands on −xⱼ).
 *   2. *a pairwise move* along the tight row: u = σⱼeⱼ − sign(xᵢ)eᵢ, j the largest |gⱼ|
 *      among coordinates that can grow (σⱼxⱼ ≥ 0, |xⱼ| < t), i ≠ j the support coordinate
 *      of largest gᵢ·sign(xᵢ) (the away move: the entry whose shrinking costs least);
 *      score t(|gⱼ| + gᵢ sign(xᵢ)), γmax = min(t − |xⱼ|, |xᵢ|). It keeps ‖x‖₁ fixed, so
 *      it is allowed whether or not the row is tight.
 *   When no move has a positive score, x is a KKT point: with the row slack every
 *   coordinate of nonzero gradient sits at its target; with the row tight every coordinate
 *   strictly inside (0, t) in magnitude has the same |gᵢ| = λ, those at t have |gᵢ| ≥ λ,
 *   those at 0 have |gᵢ| ≤ λ, and none has the sign of its gradient. The scores split the
 *   Frank-Wolfe gap gᵀ(x − S) into at most 2k terms (the oracle's k coordinates' distances
 *   to their targets, the mass off them moved pairwise), so the best score is at least
 *   the gap over 2k, which with the exact line search gives a linear rate on strongly
 *   convex objectives (as the away-step and pairwise variants of Frank-Wolfe). Every
 *   bound a step of γmax reaches is snapped onto.
 * - **Start**: the oracle's vertex at g = q (it scales with t: `startLinear`).
 *
 * @since 0.1.0
 */
import type { DirectionLinear, FeasibleSet, ParamMaps, StepDirection } from './FeasibleSet.js'
import { type Polyhedron, AT_HI, AT_LO, polyViolation } from './Polyhedron.js'
import { cappedThreshold, identity, selectSmallest } from './CappedSimplex.js'

// -------------------------------------------------------------------------------------
// oracle and projection
// -------------------------------------------------------------------------------------

/**
 * The K-sparse polytope's vertex minimizing ⟨g, s⟩, written into `out`, and its value
 * −t·(the sum of the k largest |gᵢ|); `idx` and `key` are scratch of length n.
 *
 * @example
 * const out = new Float64Array(3)
 * ksparseVertex(Float64Array.of(3, -1, 2), 2, 1, out, new Int32Array(3), new Float64Array(3)) // out = [−1, 0, −1], value −5
 */
export const ksparseVertex = (g: Float64Array, k: number, t: number, out: Float64Array, idx: Int32Array, key: Float64Array): number => {
  const n = g.length
  for (let i = 0; i < n; i++) key[i] = -Math.abs(g[i]!)
  identity(idx)
  if (k < n) selectSmallest(key, idx, k)
  out.fill(0)
  let s = 0
  for (let e = 0; e < k; e++) {
    const i = idx[e]!, gi = g[i]!
    out[i] = gi > 0 ? -t : gi < 0 ? t : 0
    s += Math.abs(gi)
  }
  return -t * s
}

/**
 * out ← the Euclidean projection of y onto {‖x‖∞ ≤ t, ‖x‖₁ ≤ k t} (see the module notes);
 * `out` may be `y`.
 *
 * @example
 * projectKSparse(Float64Array.of(3, 0.5, -2), 1, 1, out) // out = [1, 0, 0]
 */
export const projectKSparse = (y: Float64Array, k: number, t: number, out: Float64Array): void => {
  const n = y.length, a = new Float64Array(n)
  let s = 0
  for (let i = 0; i < n; i++) { a[i] = Math.abs(y[i]!); s += Math.min(a[i]!, t) }
  const theta = s <= k * t ? 0 : Math.max(0, cappedThreshold(a, t, k * t))
  for (let i = 0; i < n; i++) out[i] = Math.sign(y[i]!) * Math.min(t, Math.max(0, a[i]! - theta))
}

// -------------------------------------------------------------------------------------
// the step
// -------------------------------------------------------------------------------------

/** What limits a step (see the module notes): the target bound, the row's slack, the crossing of zero, or, pairwise, j's bound or i's zero. */
type Limit = 'target' | 'slack' | 'cross' | 'grow' | 'shrink'

interface Geometry {
  readonly slack: number
  readonly open: boolean
}

const geometry = (x: Float64Array, k: number, t: number): Geometry => {
  const n = x.length
  let l1 = 0
  for (let i = 0; i < n; i++) l1 += Math.abs(x[i]!)
  const slack = k * t - l1
  return { slack, open: slack > 4 * n * Number.EPSILON * k * t }
}

/** A coordinate move's γmax and what sets it. */
const coordinateLimit = (xj: number, sigma: number, t: number, geo: Geometry): { readonly gmax: number; readonly limit: Limit } => {
  const dist = t - sigma * xj
  const row = sigma * xj >= 0 ? geo.slack : 2 * Math.abs(xj) + (geo.open ? geo.slack : 0)
  if (dist <= row) return { gmax: dist, limit: 'target' }
  return { gmax: row, limit: sigma * xj >= 0 ? 'slack' : 'cross' }
}

/**
 * The default schedule's step on the K-sparse polytope at x with gradient g (see the
 * module notes), or undefined when x is a KKT point.
 *
 * @example
 * ksparseDirection(Float64Array.of(0, 0), Float64Array.of(1, -2), 1, 1) // u = e₁ (towards x₁ = t), γmax = 1
 */
export const ksparseDirection = (x: Float64Array, g: Float64Array, k: number, t: number): StepDirection | undefined => {
  const n = x.length, geo = geometry(x, k, t)
  // 1. the best coordinate move
  let c1 = -1, s1 = 0
  // 2. the pairwise move: the two best growers (by |g|) and shrinkers (by g·sign x)
  let j1 = -1, j2 = -1, i1 = -1, i2 = -1
  for (let l = 0; l < n; l++) {
    const gl = g[l]!, xl = x[l]!
    if (xl !== 0) {
      const a = gl * Math.sign(xl)
      if (i1 < 0 || a > g[i1]! * Math.sign(x[i1]!)) { i2 = i1; i1 = l } else if (i2 < 0 || a > g[i2]! * Math.sign(x[i2]!)) i2 = l
    }
    if (gl === 0) continue
    const sigma = gl > 0 ? -1 : 1, dist = t - sigma * xl
    if (!(dist > 0)) continue
    const grows = sigma * xl >= 0
    if (grows) {
      const al = Math.abs(gl)
      if (j1 < 0 || al > Math.abs(g[j1]!)) { j2 = j1; j1 = l } else if (j2 < 0 || al > Math.abs(g[j2]!)) j2 = l
    }
    if (grows && !geo.open) continue
    const score = Math.abs(gl) * dist
    if (score > s1) { s1 = score; c1 = l }
  }
  let pj = -1, pi = -1, s2 = 0
  const pair = (j: number, i: number): void => {
    if (j < 0 || i < 0 || i === j) return
    const s = t * (Math.abs(g[j]!) + g[i]! * Math.sign(x[i]!))
    if (s > s2) { s2 = s; pj = j; pi = i }
  }
  pair(j1, i1); pair(j1, i2); pair(j2, i1)
  if (c1 < 0 && pj < 0) return undefined
  if (c1 >= 0 && s1 >= s2) {
    const j = c1, sigma = g[j]! > 0 ? -1 : 1
    const { gmax, limit } = coordinateLimit(x[j]!, sigma, t, geo)
    const snap: Array<readonly [number, number]> = limit === 'target' ? [[j, sigma * t]] : limit === 'cross' && !geo.open ? [[j, -x[j]!]] : []
    return { idx: Int32Array.of(j), vals: Float64Array.of(sigma), gmax, snap }
  }
  const j = pj, i = pi, sj = g[j]! > 0 ? -1 : 1, si = Math.sign(x[i]!)
  const grow = t - Math.abs(x[j]!), shrink = Math.abs(x[i]!)
  const snap: Array<readonly [number, number]> = []
  if (grow <= shrink) snap.push([j, sj * t])
  if (shrink <= grow) snap.push([i, 0])
  return { idx: Int32Array.of(j, i), vals: Float64Array.of(sj, -si), gmax: Math.min(grow, shrink), snap }
}

/**
 * How a K-sparse step's γmax moves with x and t (its entries ±1 are constant), and the
 * transposes: the derivative of the min that set it (see the module notes).
 *
 * @example
 * const lin = ksparseDirectionLinear(x, d, k, t)
 * lin.fwd(dx, { t: 1, k: 0 }).dgmax
 */
export const ksparseDirectionLinear = (x: Float64Array, d: StepDirection, k: number, t: number): DirectionLinear => {
  const n = x.length, idx = d.idx!
  let limit: Limit, open = false
  if (idx.length === 1) {
    const geo = geometry(x, k, t)
    open = geo.open
    limit = coordinateLimit(x[idx[0]!]!, d.vals[0]!, t, geo).limit
  } else limit = t - Math.abs(x[idx[0]!]!) <= Math.abs(x[idx[1]!]!) ? 'grow' : 'shrink'
  const j = idx[0]!, sigma = d.vals[0]!, m = idx.length
  // dγmax = a·dt + Σ cₗ dxₗ over the terms below; `slackTerms` adds d(k t − ‖x‖₁)
  const slackTerms = limit === 'slack' || (limit === 'cross' && open)
  const dt0 = limit === 'target' || limit === 'grow' ? 1 : 0
  return {
    fwd: (dx, st) => {
      let dg = dt0 * st.t
      const at = (i: number): number => (dx === undefined ? 0 : dx[i]!)
      if (limit === 'target' || limit === 'grow') dg -= sigma * at(j)
      else if (limit === 'cross') dg -= 2 * sigma * at(j)
      else if (limit === 'shrink') dg += Math.sign(x[idx[1]!]!) * at(idx[1]!)
      if (slackTerms) {
        dg += k * st.t
        if (dx !== undefined) for (let l = 0; l < n; l++) dg -= Math.sign(x[l]!) * dx[l]!
      }
      return { dvals: new Float64Array(m), dgmax: dg }
    },
    bwd: (_cv, cg, cx, acc) => {
      if (cg === 0) return
      acc.t += dt0 * cg
      if (limit === 'target' || limit === 'grow') cx[j] = cx[j]! - sigma * cg
      else if (limit === 'cross') cx[j] = cx[j]! - 2 * sigma * cg
      else if (limit === 'shrink') { const i = idx[1]!; cx[i] = cx[i]! + Math.sign(x[i]!) * cg }
      if (slackTerms) {
        acc.t += k * cg
        for (let l = 0; l < n; l++) cx[l] = cx[l]! - Math.sign(x[l]!) * cg
      }
    }
  }
}

// -------------------------------------------------------------------------------------
// the set
// -------------------------------------------------------------------------------------

/**
 * The K-sparse polytope {‖x‖∞ ≤ t, ‖x‖₁ ≤ k t} (see the module notes).
 *
 * @example
 * ksparseSet(3, 2, 1).lmoValue(Float64Array.of(3, -1, 2)) // −5
 */
export const ksparseSet = (n: number, k: number, t: number): FeasibleSet => {
  const poly: Polyhedron = {
    n, lo: new Float64Array(n).fill(-t), hi: new Float64Array(n).fill(t),
    rows: [{ kind: 'le', abs: true, coef: new Float64Array(n).fill(1), rhs: k * t }]
  }
  const idx = new Int32Array(n), key = new Float64Array(n), scratch = new Float64Array(n)
  const params: ParamMaps = {
    bound: (tan, _i, state) => (state === AT_HI ? tan.t : state === AT_LO ? -tan.t : 0),
    rhs: (tan) => k * tan.t,
    boundT: (acc, _i, state, a) => { if (state === AT_HI) acc.t += a; else if (state === AT_LO) acc.t -= a },
    rhsT: (acc, _r, a) => { acc.t += k * a }
  }
  return {
    kind: 'ksparse', n, reach: new Float64Array(n).fill(t), size: t,
    lmoValue: (g) => ksparseVertex(g, k, t, scratch, idx, key),
    violation: (x) => polyViolation(poly, x),
    polyhedron: poly,
    project: (y, out) => projectKSparse(y, k, t, out),
    params,
    vertex: (g, out) => ksparseVertex(g, k, t, out, idx, key),
    start: (q) => { const x = new Float64Array(n); ksparseVertex(q, k, t, x, idx, key); return x },
    // the start is linear in t: x₀(t) = t·x₀(1)
    startLinear: (_q, x0) => ({
      fwd: (st) => Float64Array.from(x0, (v) => (v / t) * st.t),
      bwd: (c, acc) => { let s = 0; for (let i = 0; i < n; i++) s += c[i]! * x0[i]!; acc.t += s / t }
    }),
    direction: (x, g) => ksparseDirection(x, g, k, t),
    directionLinear: (x, d) => ksparseDirectionLinear(x, d, k, t)
  }
}
