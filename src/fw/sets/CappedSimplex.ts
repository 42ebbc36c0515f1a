/**
 * The capped simplex {0 ≤ xᵢ ≤ 1, Σ xᵢ = k}, 0 < k < n: the top-k polytope (the
 * hypersimplex Δ(n, k) for an integer k; a fractional k is allowed), as a
 * {@link FeasibleSet} that brings its own steps. Also the two sorting kernels the K-sparse
 * polytope shares: the selection of the r smallest keys and the threshold of a capped
 * sum.
 *
 * - **Oracle** (a partial sort, O(n) expected): the ⌊k⌋ smallest gᵢ get 1, the next one
 *   gets k − ⌊k⌋ (ties broken by index, so equal inputs give equal vertices).
 * - **Polyhedron**: bounds [0, 1] and one equality row Σ xᵢ = k; ∂/∂k enters through the
 *   row's right-hand side (the only parameter).
 * - **Projection** (O(n log n), exact): clip(y − θ, 0, 1) with θ the root of
 *   Σ clip(yᵢ − θ, 0, 1) = k, found by sorting the 2n breakpoints yᵢ and yᵢ − 1 of that
 *   piecewise linear sum and interpolating on the segment that crosses k.
 * - **Default schedule's step**: the pairwise step between adjacent vertices: mass moves
 *   from i = argmax{gᵢ : xᵢ > 0} to j = argmin{gⱼ : xⱼ < 1}, u = eⱼ − eᵢ,
 *   γmax = min(xᵢ, 1 − xⱼ) (the coordinate that reaches its bound is snapped onto it).
 *   No descent pair (gᵢ ≤ gⱼ) means a threshold separates the coordinates at 0 from those
 *   at 1 with the fractional ones on it: the KKT conditions, so x is optimal. With
 *   S the oracle's vertex, gᵀ(x − S) ≤ min(k, n − k)·(gᵢ − gⱼ), so the pair's slope is at
 *   least the Frank-Wolfe gap over min(k, n − k); with the exact line search that gives a
 *   linear rate on strongly convex objectives, as pairwise Frank-Wolfe on a polytope.
 * - **Start**: the oracle's vertex at g = q (it moves with k through its fractional
 *   coordinate: `startLinear`).
 *
 * @since 0.1.0
 */
import type { FeasibleSet, ParamMaps, StepDirection } from './FeasibleSet.js'
import { type Polyhedron, polyViolation } from './Polyhedron.js'

// -------------------------------------------------------------------------------------
// selection
// -------------------------------------------------------------------------------------

/**
 * Rearranges `idx` (a permutation of 0..n−1 the caller owns) so that `idx[r]` is the
 * index of the (r+1)-th smallest key in the total order (key, index), every index before
 * it has a smaller key and every one after it a larger one (a partial sort: introselect,
 * median-of-three quickselect that falls back to sorting the range after 2·log₂ n + 8
 * rounds, so O(n) expected and O(n log n) at worst). The set `idx[0..r)` of the r
 * smallest is therefore unique, whatever the ties.
 *
 * @example
 * const idx = Int32Array.of(0, 1, 2, 3)
 * selectSmallest(Float64Array.of(3, 1, 2, 1), idx, 2) // idx[0..2) = {1, 3}, idx[2] = 2
 */
export const selectSmallest = (key: Float64Array, idx: Int32Array, r: number): void => {
  const less = (a: number, b: number): boolean => key[a]! < key[b]! || (key[a] === key[b] && a < b)
  let lo = 0, hi = idx.length - 1
  let budget = 2 * Math.ceil(Math.log2(idx.length + 1)) + 8
  while (hi > lo) {
    if (hi - lo < 16 || budget-- <= 0) {
      const part = Array.from(idx.subarray(lo, hi + 1)).sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0))
      for (let e = 0; e < part.length; e++) idx[lo + e] = part[e]!
      return
    }
    const mid = (lo + hi) >>> 1
    // median of three at mid
    if (less(idx[mid]!, idx[lo]!)) swap(idx, mid, lo)
    if (less(idx[hi]!, idx[lo]!)) swap(idx, hi, lo)
    if (less(idx[hi]!, idx[mid]!)) swap(idx, hi, mid)
    const pivot = idx[mid]!
    let i = lo, j = hi
    while (i <= j) {
      while (less(idx[i]!, pivot)) i++
      while (less(pivot, idx[j]!)) j--
      if (i <= j) { swap(idx, i, j); i++; j-- }
    }
    if (r <= j) hi = j
    else if (r >= i) lo = i
    else return
  }
}

const swap = (a: Int32Array, i: number, j: number): void => { const t = a[i]!; a[i] = a[j]!; a[j] = t }

/**
 * Resets `idx` to the identity permutation.
 *
 * @example
 * identity(new Int32Array(3)) // [0, 1, 2]
 */
export const identity = (idx: Int32Array): Int32Array => {
  for (let i = 0; i < idx.length; i++) idx[i] = i
  return idx
}

// -------------------------------------------------------------------------------------
// threshold
// -------------------------------------------------------------------------------------

/**
 * The θ with Σᵢ clip(aᵢ − θ, 0, c) = s, for c > 0 and 0 ≤ s ≤ n·c: the sum is piecewise
 * linear and non-increasing in θ with breakpoints aᵢ (a coordinate starts) and aᵢ − c
 * (it saturates). The 2n breakpoints are sorted (O(n log n): one native sort of a, the
 * saturations aᵢ − c follow in the same order) and the segment that crosses s is
 * interpolated; the sum at each breakpoint is accumulated from the one
 * before, so θ is exact up to O(n ε) relative rounding. At s = 0 the largest θ with sum 0
 * (max aᵢ) is returned, at s = n c the smallest with sum n c (min aᵢ − c).
 *
 * @example
 * cappedThreshold(Float64Array.of(3, 1, 0), 1, 1.5) // 0.5: clip([2.5, 0.5, −0.5], 0, 1) sums to 1.5
 */
export const cappedThreshold = (a: Float64Array, c: number, s: number): number => {
  const n = a.length
  // the starts aᵢ sorted (a native numeric sort), and the saturations aᵢ − c in the same
  // order; merged from the top, a start raises the slope by 1 and a saturation lowers it
  const A = Float64Array.from(a).sort()
  let ia = n - 1, ib = n - 1
  let sum = 0, slope = 0, prev = A[n - 1]!
  if (s <= 0) return prev
  while (ia >= 0 || ib >= 0) {
    const start = ib < 0 || (ia >= 0 && A[ia]! >= A[ib]! - c)
    const b = start ? A[ia]! : A[ib]! - c
    const next = sum + slope * (prev - b)
    if (next >= s && slope > 0) return prev - (s - sum) / slope
    sum = next
    prev = b
    if (start) { slope++; ia-- } else { slope--; ib-- }
  }
  return prev
}

/**
 * out ← the Euclidean projection of y onto the capped simplex {0 ≤ x ≤ 1, Σ x = k}:
 * clip(y − θ, 0, 1) with the θ of {@link cappedThreshold} (exact, O(n log n)); `out`
 * may be `y`.
 *
 * @example
 * projectCappedSimplex(Float64Array.of(2, 0.5, 0), 1.5, out) // out = [1, 0.5, 0]
 */
export const projectCappedSimplex = (y: Float64Array, k: number, out: Float64Array): void => {
  const theta = cappedThreshold(y, 1, k)
  for (let i = 0; i < y.length; i++) out[i] = Math.min(1, Math.max(0, y[i]! - theta))
}

// -------------------------------------------------------------------------------------
// the set
// -------------------------------------------------------------------------------------

/**
 * The capped simplex's vertex minimizing ⟨g, s⟩, written into `out`, and its value; `idx`
 * is scratch of length n (see the module notes: the ⌊k⌋ smallest gᵢ get 1, the next one
 * k − ⌊k⌋). Returns the index of that next one (the fractional coordinate, −1 when
 * ⌊k⌋ = n).
 *
 * @example
 * const out = new Float64Array(3)
 * cappedSimplexVertex(Float64Array.of(3, 1, 2), 1.5, out, new Int32Array(3)) // out = [0, 1, 0.5], returns { value: 2, frac: 2 }
 */
export const cappedSimplexVertex = (g: Float64Array, k: number, out: Float64Array, idx: Int32Array): { readonly value: number; readonly frac: number } => {
  const n = g.length, r = Math.floor(k), f = k - r
  identity(idx)
  if (r < n) selectSmallest(g, idx, r)
  out.fill(0)
  let v = 0
  for (let e = 0; e < r; e++) { const i = idx[e]!; out[i] = 1; v += g[i]! }
  if (r < n) { const i = idx[r]!; out[i] = f; if (f > 0) v += f * g[i]! }
  return { value: v, frac: r < n ? idx[r]! : -1 }
}

/**
 * The capped simplex {0 ≤ xᵢ ≤ 1, Σ xᵢ = k} (see the module notes).
 *
 * @example
 * cappedSimplexSet(4, 2).lmoValue(Float64Array.of(3, 1, 2, 0)) // 1 (= 0 + 1)
 */
export const cappedSimplexSet = (n: number, k: number): FeasibleSet => {
  const poly: Polyhedron = {
    n, lo: new Float64Array(n), hi: new Float64Array(n).fill(1),
    rows: [{ kind: 'eq', abs: false, coef: new Float64Array(n).fill(1), rhs: k }]
  }
  const reach = new Float64Array(n).fill(Math.min(1, k))
  const idx = new Int32Array(n), scratch = new Float64Array(n)
  const params: ParamMaps = {
    bound: () => 0,
    rhs: (tan) => tan.k,
    boundT: () => undefined,
    rhsT: (acc, _r, a) => { acc.k += a }
  }
  return {
    kind: 'capped-simplex', n, reach, size: Math.min(1, k),
    lmoValue: (g) => cappedSimplexVertex(g, k, scratch, idx).value,
    violation: (x) => polyViolation(poly, x),
    polyhedron: poly,
    project: (y, out) => projectCappedSimplex(y, k, out),
    params,
    vertex: (g, out) => cappedSimplexVertex(g, k, out, idx).value,
    start: (q) => { const x = new Float64Array(n); cappedSimplexVertex(q, k, x, idx); return x },
    // the start moves with k through its fractional coordinate (the (⌊k⌋+1)-th smallest qᵢ)
    startLinear: (q) => {
      const frac = cappedSimplexVertex(q, k, new Float64Array(n), new Int32Array(n)).frac
      return {
        fwd: (st) => { const d = new Float64Array(n); if (frac >= 0) d[frac] = st.k; return d },
        bwd: (c, acc) => { if (frac >= 0) acc.k += c[frac]! }
      }
    },
    direction: (x, g): StepDirection | undefined => {
      let i = -1, j = -1
      for (let l = 0; l < n; l++) {
        const xl = x[l]!, gl = g[l]!
        if (xl > 0 && (i < 0 || gl > g[i]!)) i = l
        if (xl < 1 && (j < 0 || gl < g[j]!)) j = l
      }
      if (i < 0 || j < 0 || !(g[i]! > g[j]!)) return undefined
      const room = 1 - x[j]!, mass = x[i]!
      const gmax = Math.min(mass, room)
      const snap: Array<readonly [number, number]> = []
      if (mass <= room) snap.push([i, 0], [j, Math.min(1, x[j]! + mass)])
      if (room <= mass) snap.push([j, 1], [i, Math.max(0, mass - room)])
      return { idx: Int32Array.of(j, i), vals: Float64Array.of(1, -1), gmax, snap }
    },
    // u's entries are constant; γmax = xᵢ (mass-limited) or 1 − xⱼ (room-limited)
    directionLinear: (x, d) => {
      const j = d.idx![0]!, i = d.idx![1]!
      const byMass = x[i]! <= 1 - x[j]!
      return {
        fwd: (dx) => ({ dvals: new Float64Array(2), dgmax: dx === undefined ? 0 : byMass ? dx[i]! : -dx[j]! }),
        bwd: (_cv, cg, cx) => { if (byMass) cx[i] = cx[i]! + cg; else cx[j] = cx[j]! - cg }
      }
    }
  }
}
