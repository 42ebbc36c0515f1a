/**
 * The library's sets as {@link FeasibleSet} values: their exact oracles' values, their
 * polyhedral descriptions, projections where cheap, and how their descriptions move with
 * their parameters. `resolveSet` builds the one a problem names.
 *
 * - `l1` (Σ wᵢ|xᵢ| ≤ t): no bounds, one abs row with coefficients w; Rᵢ = t/wᵢ.
 * - `linf` (|xᵢ| ≤ t): bounds ±t; Rᵢ = t.
 * - `simplex` (x ≥ 0, Σ x = t): bound 0 below, one equality row; Rᵢ = t.
 * - `box` (lowerᵢ ≤ xᵢ ≤ upperᵢ): bounds, no row; Rᵢ = max(|lowerᵢ|, |upperᵢ|).
 * - `capped-simplex`, `ksparse`, `birkhoff`: in their own modules (`CappedSimplex.ts`,
 *   `KSparse.ts`, `Birkhoff.ts`), each with its oracle and its own steps.
 * - `l2` (‖x‖ ≤ t): not polyhedral; its face (the sphere) is handled by the sphere polish.
 *   Its one "row" in the face derivative is the linearized sphere xᵀdx = t·dt.
 * - `polytope` ({ lmo }): known only by its oracle; it solves on its own (`Polytope.ts`).
 * - `nuclear` (‖X‖_* ≤ t, X rows × cols row-major, the shape from the structure): not
 *   polyhedral; it solves on its own (`Nuclear.ts`).
 *
 * @since 0.1.0
 */
import type { Params, SetName } from '../Problem.js'
import { LayerError } from '../Options.js'
import type { Vec } from '../../shapes/Vec.js'
import type { FeasibleSet, ParamMaps, SetGradient, SetTangent } from './FeasibleSet.js'
import { type Polyhedron, AT_HI, AT_LO, polyViolation } from './Polyhedron.js'
import { resolvePolytope } from './Polytope.js'
import { cappedSimplexSet } from './CappedSimplex.js'
import { ksparseSet } from './KSparse.js'
import { birkhoffSet } from './Birkhoff.js'
import { nuclearSet } from './Nuclear.js'

// -------------------------------------------------------------------------------------
// projections
// -------------------------------------------------------------------------------------

/**
 * out ← the Euclidean projection of y onto the weighted l1 ball Σ wᵢ|xᵢ| ≤ t (`l1`) or the
 * simplex {x ≥ 0, Σ x = t}, from the breakpoints in descending order (ties by index); `out`
 * may be `y`. The breakpoints come off a binary heap, only as many as the threshold needs
 * (O(n + k log n) for k nonzeros of x, not a full sort): the sums run in the same order as
 * over the sorted breakpoints, so the result is that of the sort, bitwise.
 *
 * @example
 * projectSorted(false, Float64Array.of(2, 0), Float64Array.of(1, 1), 1, out) // out = [1, 0]
 */
export const projectSorted = (l1: boolean, y: Float64Array, w: Float64Array, t: number, out: Float64Array): void => {
  const n = y.length
  if (l1) {
    let s = 0
    for (let i = 0; i < n; i++) s += w[i]! * Math.abs(y[i]!)
    if (s <= t) { if (out !== y) out.set(y); return }
  }
  // the threshold θ of x = sign(y)·max(|y| − θw, 0) (l1) or x = max(y − θ, 0) (simplex),
  // computed relative to the largest breakpoint b₀ (θ′ = θ − b₀): a step y = x − g/L̂ with
  // |g/L̂| far beyond t keeps the t that the shifted sums still see (b₀ − θ = t at a vertex)
  const b = new Float64Array(n), heap = new Int32Array(n)
  let b0 = -Infinity
  for (let i = 0; i < n; i++) { b[i] = l1 ? Math.abs(y[i]!) / w[i]! : y[i]!; heap[i] = i; if (b[i]! > b0) b0 = b[i]! }
  for (let k = (n >> 1) - 1; k >= 0; k--) siftDown(heap, b, k, n)
  let s1 = 0, s2 = 0, theta = 0
  for (let len = n; len > 0;) {
    const i = heap[0]!, wi = l1 ? w[i]! : 1
    len--
    if (len > 0) { heap[0] = heap[len]!; siftDown(heap, b, 0, len) }
    s1 += wi * wi * (b[i]! - b0)
    s2 += wi * wi
    theta = (s1 - t) / s2
    const next = len > 0 ? b[heap[0]!]! - b0 : -Infinity
    if (theta >= next) break
  }
  if (l1) theta = Math.max(theta, -b0)
  for (let i = 0; i < n; i++) {
    const r = Math.max(b[i]! - b0 - theta, 0)
    out[i] = l1 ? Math.sign(y[i]!) * w[i]! * r : r
  }
}

/**
 * Restores the heap order of heap[0, len) below position k: index i comes before j when
 * b[i] > b[j], or b[i] = b[j] and i < j (the order of a stable descending sort).
 */
const siftDown = (heap: Int32Array, b: Float64Array, k: number, len: number): void => {
  const v = heap[k]!, bv = b[v]!
  for (;;) {
    let c = 2 * k + 1
    if (c >= len) break
    if (c + 1 < len) {
      const l = heap[c]!, r = heap[c + 1]!
      if (b[r]! > b[l]! || (b[r] === b[l] && r < l)) c++
    }
    const u = heap[c]!, bu = b[u]!
    if (!(bu > bv || (bu === bv && u < v))) break
    heap[k] = u
    k = c
  }
  heap[k] = v
}

const clipInto = (lo: Float64Array, hi: Float64Array) => (y: Float64Array, out: Float64Array): void => {
  for (let i = 0; i < y.length; i++) out[i] = Math.min(hi[i]!, Math.max(lo[i]!, y[i]!))
}

// -------------------------------------------------------------------------------------
// parameter maps
// -------------------------------------------------------------------------------------

const noMaps: ParamMaps = {
  bound: () => 0,
  rhs: () => 0,
  boundT: () => undefined,
  rhsT: () => undefined
}

/** The radius t as the right-hand side of row 0 (scaled by `c`: t for l1 and the simplex, ‖x‖ = t for the sphere). */
const radiusRow = (c: number): ParamMaps => ({
  ...noMaps,
  rhs: (tan) => c * tan.t,
  rhsT: (acc, _r, a) => { acc.t += c * a }
})

// -------------------------------------------------------------------------------------
// the sets
// -------------------------------------------------------------------------------------

const filled = (n: number, v: number): Float64Array => new Float64Array(n).fill(v)

const maxOf = (a: Float64Array): number => {
  let m = 0
  for (let i = 0; i < a.length; i++) if (a[i]! > m) m = a[i]!
  return m
}

/**
 * The weighted l1 ball Σ wᵢ|xᵢ| ≤ t.
 *
 * @example
 * l1Set(w, 1).lmoValue(g) // −maxᵢ |gᵢ|/wᵢ
 */
export const l1Set = (w: Float64Array, t: number): FeasibleSet => {
  const n = w.length
  const reach = new Float64Array(n)
  for (let i = 0; i < n; i++) reach[i] = t / w[i]!
  const poly: Polyhedron = { n, lo: filled(n, -Infinity), hi: filled(n, Infinity), rows: [{ kind: 'le', abs: true, coef: w, rhs: t }] }
  return {
    kind: 'l1', n, reach, size: maxOf(reach),
    lmoValue: (g) => {
      let m = 0
      for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(g[i]!) / w[i]!)
      return -t * m
    },
    violation: (x) => polyViolation(poly, x),
    polyhedron: poly,
    project: (y, out) => projectSorted(true, y, w, t, out),
    params: l1Params
  }
}

/** The l1 ball's parameter maps: the radius as row 0's right-hand side, w as its coefficients (one object for every ball). */
const l1Params: ParamMaps = {
  ...radiusRow(1),
  coef: (tan: SetTangent, _r: number, i: number) => tan.w === undefined ? 0 : tan.w[i]!,
  coefT: (acc: SetGradient, _r: number, i: number, a: number) => { acc.w[i] = acc.w[i]! + a }
}

/**
 * The l∞ ball |xᵢ| ≤ t.
 *
 * @example
 * linfSet(3, 1).lmoValue(g) // −Σ |gᵢ|
 */
export const linfSet = (n: number, t: number): FeasibleSet => {
  const lo = filled(n, -t), hi = filled(n, t)
  const poly: Polyhedron = { n, lo, hi, rows: [] }
  return {
    kind: 'linf', n, reach: filled(n, t), size: t,
    lmoValue: (g) => {
      let s = 0
      for (let i = 0; i < n; i++) s += Math.abs(g[i]!)
      return -t * s
    },
    violation: (x) => polyViolation(poly, x),
    polyhedron: poly,
    project: clipInto(lo, hi),
    params: {
      ...noMaps,
      bound: (tan, _i, state) => (state === AT_HI ? tan.t : state === AT_LO ? -tan.t : 0),
      boundT: (acc, _i, state, a) => { if (state === AT_HI) acc.t += a; else if (state === AT_LO) acc.t -= a }
    }
  }
}

/**
 * The simplex x ≥ 0, Σ x = t.
 *
 * @example
 * simplexSet(3, 1).lmoValue(g) // minᵢ gᵢ
 */
export const simplexSet = (n: number, t: number): FeasibleSet => {
  const poly: Polyhedron = { n, lo: filled(n, 0), hi: filled(n, Infinity), rows: [{ kind: 'eq', abs: false, coef: filled(n, 1), rhs: t }] }
  const ones = filled(n, 1)
  return {
    kind: 'simplex', n, reach: filled(n, t), size: t,
    lmoValue: (g) => {
      let m = Infinity
      for (let i = 0; i < n; i++) m = Math.min(m, g[i]!)
      return n > 0 ? t * m : 0
    },
    violation: (x) => polyViolation(poly, x),
    polyhedron: poly,
    project: (y, out) => projectSorted(false, y, ones, t, out),
    params: radiusRow(1)
  }
}

/**
 * The box lowerᵢ ≤ xᵢ ≤ upperᵢ.
 *
 * @example
 * boxSet(lower, upper).lmoValue(g) // Σ min(gᵢ lowerᵢ, gᵢ upperᵢ)
 */
export const boxSet = (lower: Float64Array, upper: Float64Array): FeasibleSet => {
  const n = lower.length
  const poly: Polyhedron = { n, lo: lower, hi: upper, rows: [] }
  const reach = new Float64Array(n)
  for (let i = 0; i < n; i++) reach[i] = Math.max(Math.abs(lower[i]!), Math.abs(upper[i]!))
  return {
    kind: 'box', n, reach, size: maxOf(reach),
    lmoValue: (g) => {
      let s = 0
      for (let i = 0; i < n; i++) s += Math.min(g[i]! * lower[i]!, g[i]! * upper[i]!)
      return s
    },
    violation: (x) => polyViolation(poly, x),
    polyhedron: poly,
    project: clipInto(lower, upper),
    vertex: (g, out) => {
      let v = 0
      for (let i = 0; i < n; i++) { out[i] = g[i]! > 0 ? lower[i]! : upper[i]!; v += g[i]! * out[i]! }
      return v
    },
    start: (q) => Float64Array.from(q, (qi, i) => (qi > 0 ? lower[i]! : upper[i]!)),
    // the pairwise step between the two vertices that differ in one coordinate j: the one
    // of largest pairwise gap |gⱼ|·(upperⱼ − lowerⱼ) among those not yet on the bound bⱼ
    // the gradient pushes towards; u = (bⱼ − xⱼ)eⱼ, γmax = 1 (it lands on bⱼ exactly):
    // greedy coordinate descent clipped to the box, as on the l∞ ball
    direction: (x, g) => {
      let j = -1, best = 0
      for (let i = 0; i < n; i++) {
        const gi = g[i]!
        if (gi === 0) continue
        const b = gi > 0 ? lower[i]! : upper[i]!
        if (x[i] === b) continue
        const gap = Math.abs(gi) * (upper[i]! - lower[i]!)
        if (gap > best) { best = gap; j = i }
      }
      if (j < 0) return undefined
      const b = g[j]! > 0 ? lower[j]! : upper[j]!
      return { idx: Int32Array.of(j), vals: Float64Array.of(b - x[j]!), gmax: 1, snap: [[j, b]] }
    },
    // vals = bⱼ − xⱼ with bⱼ = lowerⱼ or upperⱼ; γmax = 1 is constant
    directionLinear: (_x, d) => {
      const j = d.idx![0]!, atLower = d.snap![0]![1] === lower[j]
      return {
        fwd: (dx, st) => {
          const db = atLower ? (st.lower === undefined ? 0 : st.lower[j]!) : (st.upper === undefined ? 0 : st.upper[j]!)
          return { dvals: Float64Array.of(db - (dx === undefined ? 0 : dx[j]!)), dgmax: 0 }
        },
        bwd: (cv, _cg, cx, acc) => {
          cx[j] = cx[j]! - cv[0]!
          const target = atLower ? acc.lower : acc.upper
          if (target !== undefined) target[j] = target[j]! + cv[0]!
        }
      }
    },
    startLinear: (q) => ({
      fwd: (st) => Float64Array.from(q, (qi, i) => (qi > 0 ? (st.lower === undefined ? 0 : st.lower[i]!) : (st.upper === undefined ? 0 : st.upper[i]!))),
      bwd: (c, acc) => {
        for (let i = 0; i < n; i++) {
          const target = q[i]! > 0 ? acc.lower : acc.upper
          if (target !== undefined) target[i] = target[i]! + c[i]!
        }
      }
    }),
    params: {
      ...noMaps,
      bound: (tan, i, state) =>
        state === AT_LO ? (tan.lower === undefined ? 0 : tan.lower[i]!) : state === AT_HI ? (tan.upper === undefined ? 0 : tan.upper[i]!) : 0,
      boundT: (acc, i, state, a) => {
        if (state === AT_LO && acc.lower !== undefined) acc.lower[i] = acc.lower[i]! + a
        else if (state === AT_HI && acc.upper !== undefined) acc.upper[i] = acc.upper[i]! + a
      }
    }
  }
}

/**
 * The l2 ball ‖x‖ ≤ t (not polyhedral: the sphere polish and the sphere face handle it).
 *
 * @example
 * l2Set(3, 1).lmoValue(g) // −‖g‖
 */
export const l2Set = (n: number, t: number): FeasibleSet => ({
  kind: 'l2', n, reach: filled(n, t), size: t,
  lmoValue: (g) => {
    let m = 0
    for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(g[i]!))
    if (m === 0) return 0
    let s = 0
    for (let i = 0; i < n; i++) s += (g[i]! / m) ** 2
    return -t * m * Math.sqrt(s)
  },
  violation: (x) => {
    let m = 0
    for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(x[i]!))
    if (!Number.isFinite(m)) return Infinity
    if (m === 0) return 0
    let s = 0
    for (let i = 0; i < n; i++) s += (x[i]! / m) ** 2
    return Math.max(0, m * Math.sqrt(s) - t)
  },
  params: radiusRow(t)
})

/**
 * What a set's kind does not say and θ does not hold: a matrix set's shape, a polytope's
 * oracle.
 *
 * @example
 * const s: SetStructure = { rows: 3, cols: 4 }
 */
export interface SetStructure {
  readonly rows?: number
  readonly cols?: number
  readonly lmo?: (g: Vec<unknown>) => Vec<unknown>
}

/**
 * The set of a validated problem: its kind, θ's parameters (t, w, lower, upper, k) and its
 * structure. Throws for a kind the solver does not have.
 *
 * @example
 * resolveSet('simplex', theta).kind // 'simplex'
 */
export const resolveSet = <N>(kind: SetName, theta: Params<N>, structure: SetStructure = {}): FeasibleSet => {
  const n = theta.q.data.length
  switch (kind) {
    case 'l1': return l1Set(theta.w.data, theta.t)
    case 'linf': return linfSet(n, theta.t)
    case 'l2': return l2Set(n, theta.t)
    case 'simplex': return simplexSet(n, theta.t)
    case 'box': return boxSet(theta.lower!.data, theta.upper!.data)
    case 'polytope': return resolvePolytope(theta, structure)
    case 'capped-simplex': return cappedSimplexSet(n, theta.k!)
    case 'ksparse': return ksparseSet(n, theta.k!, theta.t)
    case 'birkhoff': return birkhoffSet(structure.rows ?? Math.round(Math.sqrt(n)))
    case 'nuclear': return nuclearSet(structure.rows ?? n, structure.cols ?? 1, theta.t)
    default: throw new LayerError(`the solver for the set "${kind}" is not available yet (the problem is valid)`, 'set')
  }
}
