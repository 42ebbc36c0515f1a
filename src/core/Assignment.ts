/**
 * The linear assignment problem: a minimum-cost perfect matching of a dense m × m cost
 * matrix, with dual potentials that certify it. It is the linear minimization oracle of
 * the Birkhoff polytope (min ⟨G, X⟩ over doubly stochastic X is attained at the
 * permutation matrix of an optimal assignment of G).
 *
 * The algorithm is the shortest augmenting path method with potentials (Jonker–Volgenant
 * style, O(m³)): an initial dual from column and row minima and a greedy matching of
 * zero reduced cost edges, then, for every row left free, a Dijkstra search over reduced
 * costs cᵢⱼ − uᵢ − vⱼ ≥ 0 for the cheapest augmenting path, a potential update that keeps
 * the reduced costs non-negative and the matched edges at zero, and the augmentation.
 *
 * The costs are scaled by a power of two (exactly) to a largest magnitude in [½, 1)
 * before the search, so any finite costs work, from subnormal to 1e300, and the
 * permutation found is exactly invariant under scaling the costs by a power of two.
 *
 * @since 0.1.0
 */

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * An optimal assignment and its dual certificate.
 *
 * @example
 * const { perm, value, u, v } = assignment(new Float64Array([4, 1, 2, 3]), 2)
 * // perm = [1, 0] (row 0 ↦ column 1, row 1 ↦ column 0), value = 3
 */
export interface Assignment {
  /** Row i is matched to column `perm[i]`. */
  readonly perm: Int32Array
  /** Σᵢ c[i][perm[i]], summed with Neumaier's compensation from the given costs. */
  readonly value: number
  /** Row potentials. */
  readonly u: Float64Array
  /** Column potentials: uᵢ + vⱼ ≤ cᵢⱼ for all i, j, with equality on the matching (up to rounding). */
  readonly v: Float64Array
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * A minimum-cost perfect matching of the m × m row-major cost matrix, with dual
 * potentials.
 *
 * Certificate: with C = maxᵢⱼ |cᵢⱼ|, the potentials satisfy uᵢ + vⱼ ≤ cᵢⱼ + 8m·ε·C for all
 * i, j and |cᵢ,perm[i] − uᵢ − vperm[i]| ≤ 8m·ε·C on the matching (ε = 2⁻⁵², a bound with
 * a wide margin over what rounding produces). So Σu + Σv is a lower bound on the optimum
 * to within 8m²·ε·C, and `value` exceeds the optimum by at most 16m²·ε·C. On integer
 * costs (or integer multiples of one power of two) with m·C far below 2⁵³, every
 * potential and distance is a sum of a few costs and so an exact integer: the matching
 * is exactly optimal and the certificate holds exactly (value = Σu + Σv). (The
 * potentials stayed within 1.3·C in magnitude on every family tested.)
 *
 * Deterministic tie-breaking, in this order: the initial dual is vⱼ = minᵢ cᵢⱼ, then
 * uᵢ = minⱼ (cᵢⱼ − vⱼ); rows 0, 1, … in turn take the lowest-index free column of zero
 * reduced cost; each row still free, in increasing order, is then matched by a shortest
 * path search that settles columns by increasing distance, a free column before a
 * matched one at equal distance and then the lowest index, and keeps the first
 * predecessor found on equal distances. Equal cost matrices give equal permutations;
 * an all-equal matrix gives the identity.
 *
 * The potentials scale with the costs; they may overflow only when C is within a factor
 * of about 4m of the largest double (and `value` when Σ|c| is).
 *
 * @throws RangeError when m is not a non-negative integer, `cost.length ≠ m²`, or a cost
 * is not finite (the message names the entry).
 *
 * @example
 * assignment(new Float64Array([4, 1, 3, 2, 0, 5, 3, 2, 2]), 3).perm // Int32Array [1, 0, 2], value 5
 */
export const assignment = (cost: Float64Array, m: number): Assignment => solve(cost, m, undefined)

/**
 * `assignment` started from the column potentials `v0` of a previous solve (typically
 * `previous.v` for a cost matrix that moved a little, as between Frank-Wolfe steps)
 * instead of the column minima: uᵢ = minⱼ (cᵢⱼ − v0ⱼ), the greedy matching of zero reduced
 * cost edges, then shortest augmenting paths for the rows left free. The result is an
 * optimal assignment with the same certificate and tolerances as `assignment`; when two
 * assignments are optimal, which one is returned can depend on `v0`. The start is
 * cheap (O(m²)) and saves augmentations when many rows keep their column.
 *
 * @throws RangeError as `assignment`, and when `v0.length ≠ m` or an entry of v0 is not finite.
 *
 * @example
 * const a = assignment(G, m)
 * const b = assignmentFrom(G2, m, a.v) // G2 close to G: few rows need a search
 */
export const assignmentFrom = (cost: Float64Array, m: number, v0: Float64Array): Assignment => {
  if (v0.length !== m) throw new RangeError(`assignmentFrom: v0 has length ${v0.length}, expected m = ${m}`)
  for (let j = 0; j < v0.length; j++) {
    if (!Number.isFinite(v0[j]!)) throw new RangeError(`assignmentFrom: v0[${j}] = ${v0[j]} is not finite`)
  }
  return solve(cost, m, v0)
}

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

/** x·2ᵏ, exact whenever the result is a normal number (two steps when 2ᵏ alone would overflow). */
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

const solve = (cost: Float64Array, m: number, v0: Float64Array | undefined): Assignment => {
  if (!Number.isInteger(m) || m < 0) throw new RangeError(`assignment: m = ${m} is not a non-negative integer`)
  if (cost.length !== m * m) throw new RangeError(`assignment: cost has length ${cost.length}, expected m² = ${m * m}`)
  let big = 0
  for (let i = 0; i < cost.length; i++) {
    const x = cost[i]!
    if (!Number.isFinite(x)) throw new RangeError(`assignment: cost[${Math.floor(i / m)}][${i % m}] = ${x} is not finite`)
    const a = Math.abs(x)
    if (a > big) big = a
  }
  if (m === 0) return { perm: new Int32Array(0), value: 0, u: new Float64Array(0), v: new Float64Array(0) }
  const k = big === 0 ? 0 : scaleExponent(big)
  const c = new Float64Array(m * m)
  for (let i = 0; i < c.length; i++) c[i] = ldexp(cost[i]!, k)
  const u = new Float64Array(m), v = new Float64Array(m)
  if (v0 === undefined) {
    for (let j = 0; j < m; j++) {
      let lo = Infinity
      for (let i = 0; i < m; i++) { const x = c[i * m + j]!; if (x < lo) lo = x }
      v[j] = lo
    }
  } else for (let j = 0; j < m; j++) v[j] = ldexp(v0[j]!, k)
  const colOf = new Int32Array(m).fill(-1) // row → column
  const rowOf = new Int32Array(m).fill(-1) // column → row
  // uᵢ = minⱼ (cᵢⱼ − vⱼ), and the greedy matching of zero reduced cost edges. The reduced
  // cost is always evaluated as (cᵢⱼ − vⱼ) − uᵢ, so these edges are exactly zero.
  for (let i = 0; i < m; i++) {
    const row = i * m
    let lo = Infinity
    for (let j = 0; j < m; j++) { const x = c[row + j]! - v[j]!; if (x < lo) lo = x }
    u[i] = lo
    for (let j = 0; j < m; j++) {
      if (rowOf[j]! < 0 && c[row + j]! - v[j]! - lo === 0) { rowOf[j] = i; colOf[i] = j; break }
    }
  }
  const scratch: Scratch = {
    d: new Float64Array(m), pred: new Int32Array(m), cols: new Int32Array(m), tree: new Int32Array(m)
  }
  for (let i = 0; i < m; i++) if (colOf[i]! < 0) augment(c, m, u, v, rowOf, colOf, i, scratch)
  const perm = colOf
  let s = 0, comp = 0
  for (let i = 0; i < m; i++) {
    const x = cost[i * m + perm[i]!]!
    const t = s + x
    comp += Math.abs(s) >= Math.abs(x) ? (s - t) + x : (x - t) + s
    s = t
  }
  for (let i = 0; i < m; i++) u[i] = ldexp(u[i]!, -k)
  for (let j = 0; j < m; j++) v[j] = ldexp(v[j]!, -k)
  return { perm, value: s + comp, u, v }
}

interface Scratch {
  /** Tentative distances to the columns. */
  readonly d: Float64Array
  /** The row a column is reached from. */
  readonly pred: Int32Array
  /** The columns: the settled ones first, then the others. */
  readonly cols: Int32Array
  /** The rows of the search tree. */
  readonly tree: Int32Array
}

/**
 * Matches the free row i0: Dijkstra over reduced costs from i0 to the nearest free
 * column, the potential update, and the augmentation along the path. The potentials
 * stay dual feasible and the matched edges tight (exactly: the tree rows' potentials are
 * recomputed from their matched edge).
 */
const augment = (
  c: Float64Array, m: number, u: Float64Array, v: Float64Array,
  rowOf: Int32Array, colOf: Int32Array, i0: number, sc: Scratch
): void => {
  const { d, pred, cols, tree } = sc
  const r0 = i0 * m, u0 = u[i0]!
  for (let j = 0; j < m; j++) { d[j] = c[r0 + j]! - v[j]! - u0; pred[j] = i0; cols[j] = j }
  let settled = 0, nTree = 0
  tree[nTree++] = i0
  let end = -1, mu = 0
  for (;;) {
    // The unsettled column nearest the root: least distance, then free, then lowest index.
    let bk = -1, bj = m, best = Infinity, bFree = false
    for (let q = settled; q < m; q++) {
      const j = cols[q]!, dj = d[j]!
      if (dj > best) continue
      const free = rowOf[j]! < 0
      if (dj < best || (free && !bFree) || (free === bFree && j < bj)) { best = dj; bj = j; bk = q; bFree = free }
    }
    mu = best
    if (bFree) { end = bj; break }
    cols[bk] = cols[settled]!
    cols[settled++] = bj
    const r = rowOf[bj]!
    tree[nTree++] = r
    const rr = r * m, ur = u[r]!
    for (let q = settled; q < m; q++) {
      const j = cols[q]!
      const nd = mu + (c[rr + j]! - v[j]! - ur)
      if (nd < d[j]!) { d[j] = nd; pred[j] = r }
    }
  }
  for (let q = 0; q < settled; q++) { const j = cols[q]!; v[j] = v[j]! - (mu - d[j]!) }
  for (let j = end; ;) {
    const i = pred[j]!
    rowOf[j] = i
    const prev = colOf[i]!
    colOf[i] = j
    if (i === i0) break
    j = prev
  }
  for (let q = 0; q < nTree; q++) { const r = tree[q]!, j = colOf[r]!; u[r] = c[r * m + j]! - v[j]! }
}
