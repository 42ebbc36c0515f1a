/**
 * The Birkhoff polytope: x is an m×m doubly stochastic matrix stored row-major (n = m²),
 * xᵢⱼ ≥ 0 with every row and every column summing to 1; its vertices are the permutation
 * matrices (Birkhoff–von Neumann). A {@link FeasibleSet} that brings its own steps; it has
 * no parameters (derivatives in q and P only).
 *
 * - **Oracle**: min ⟨G, V⟩ over the polytope is a linear assignment problem on the cost
 *   matrix G (`core/Assignment.ts`, shortest augmenting paths, O(m³)); the vertex is the
 *   optimal permutation matrix, `lmoValue` the assignment's value. Each solve starts from
 *   the previous one's column potentials (`assignmentFrom`: Frank-Wolfe's gradients move
 *   a little per step, so few rows need a search), and the last gradient's solution is
 *   kept, so the certificate's oracle call and the next step's share one solve.
 * - **Polyhedron**: x ≥ 0 and 2m sparse equality rows (row i: Σⱼ xᵢⱼ = 1; column j:
 *   Σᵢ xᵢⱼ = 1; `idx` + `coef`). The rows are dependent (they all sum to the same total):
 *   the face solver takes minimum-norm multipliers. Where the free cells do not determine
 *   the multipliers (their bipartite graph of rows and columns falls into c > 1
 *   components, as at a vertex), each component's potentials shift freely:
 *   `refineMultipliers` takes the shifts that maximize the smallest reduced gradient of
 *   the cells between components (a minimum mean cycle on the c components, Karp's
 *   algorithm, O(c³), and Bellman-Ford for the shifts), so a solution is certified
 *   whenever some multiplier certifies it, and its face is reported exact whenever some
 *   multiplier is strictly complementary.
 * - **Default schedule's step**: the decomposition-invariant pairwise step of Garber and
 *   Meshi (2016): S is the oracle's vertex and the away vertex A a maximizer of ⟨g, V⟩
 *   over the permutations supported on supp(x) (an assignment on −g with cost
 *   (2m + 1)·max|g| + 1 off the support, more than any permutation inside it can cost;
 *   x is a convex combination of such permutations, so one exists); u = S − A with entries
 *   +1 on S's cells outside A and −1 on A's cells outside S, γmax = min over the latter of
 *   xᵢⱼ (the cell that reaches 0 is snapped onto it). The state is x alone: no atoms are
 *   kept. ⟨g, A⟩ ≥ ⟨g, x⟩, so the pairwise slope ⟨g, A − S⟩ is at least the Frank-Wolfe
 *   gap; no descent (⟨g, S − A⟩ ≥ 0) means the gap is 0. If rounding ever leaves the
 *   support without a permutation, the step falls back to the Frank-Wolfe step u = S − x.
 * - **Start**: the oracle's vertex at g = q, not the uniform matrix 1/m: a vertex starts
 *   sparse and each pairwise step adds at most m cells, and the solutions a matching
 *   layer is used for are near permutations; from the uniform matrix it would take at
 *   least m² − |supp x*| drop steps to clear the cells the solution does not use.
 *
 * @since 0.1.0
 */
import { type Assignment, assignment, assignmentFrom } from '../../core/Assignment.js'
import type { FeasibleSet, ParamMaps, StepDirection } from './FeasibleSet.js'
import { type Polyhedron, type PolyRow, polyViolation } from './Polyhedron.js'

// -------------------------------------------------------------------------------------
// the polyhedron
// -------------------------------------------------------------------------------------

/**
 * The Birkhoff polytope's description: x ≥ 0, then the m row sums, then the m column sums.
 *
 * @example
 * birkhoffPolyhedron(2).rows[2].idx // Int32Array [0, 2]: the first column's cells
 */
export const birkhoffPolyhedron = (m: number): Polyhedron => {
  const n = m * m
  const rows: PolyRow[] = []
  const ones = new Float64Array(m).fill(1)
  for (let i = 0; i < m; i++) rows.push({ kind: 'eq', abs: false, idx: Int32Array.from({ length: m }, (_, j) => i * m + j), coef: ones, rhs: 1 })
  for (let j = 0; j < m; j++) rows.push({ kind: 'eq', abs: false, idx: Int32Array.from({ length: m }, (_, i) => i * m + j), coef: ones, rhs: 1 })
  return { n, lo: new Float64Array(n), hi: new Float64Array(n).fill(Infinity), rows }
}

// -------------------------------------------------------------------------------------
// the oracle
// -------------------------------------------------------------------------------------

/**
 * The oracle of one set: the assignment of a cost matrix, warm-started from the previous
 * solve's column potentials, with the last cost matrix's solution kept (a copy of the
 * costs is compared entry by entry, O(n)).
 */
const makeOracle = (m: number): ((g: Float64Array) => Assignment) => {
  let last: Float64Array | undefined
  let sol: Assignment | undefined
  return (g) => {
    if (last !== undefined && sol !== undefined) {
      let same = true
      for (let i = 0; i < g.length && same; i++) same = g[i] === last[i]
      if (same) return sol
    }
    sol = sol === undefined ? assignment(g, m) : assignmentFrom(g, m, sol.v)
    last = Float64Array.from(g)
    return sol
  }
}

/**
 * The permutation matrix of `perm` (row i has its 1 in column perm[i]), row-major.
 *
 * @example
 * permutationMatrix(Int32Array.of(1, 0)) // [0, 1, 1, 0]
 */
export const permutationMatrix = (perm: Int32Array, out: Float64Array = new Float64Array(perm.length * perm.length)): Float64Array => {
  const m = perm.length
  out.fill(0)
  for (let i = 0; i < m; i++) out[i * m + perm[i]!] = 1
  return out
}

/**
 * The away vertex of the decomposition-invariant step: a permutation supported on
 * supp(x) that maximizes ⟨g, V⟩, or undefined when rounding left supp(x) without one.
 *
 * @example
 * awayPermutation(x, g, m) // Int32Array: row i ↦ column perm[i], every xᵢ,perm[i] > 0
 */
export const awayPermutation = (x: Float64Array, g: Float64Array, m: number): Int32Array | undefined => {
  const n = m * m
  let big = 0
  for (let c = 0; c < n; c++) if (x[c]! > 0) big = Math.max(big, Math.abs(g[c]!))
  const off = (2 * m + 1) * big + 1
  const cost = new Float64Array(n)
  for (let c = 0; c < n; c++) cost[c] = x[c]! > 0 ? -g[c]! : off
  const a = assignment(cost, m)
  for (let i = 0; i < m; i++) if (!(x[i * m + a.perm[i]!]! > 0)) return undefined
  return a.perm
}

// -------------------------------------------------------------------------------------
// multipliers
// -------------------------------------------------------------------------------------

/**
 * Among the rows' multipliers ν + null(E_Fᵀ) (ν: m row sums, then m column sums), the one
 * that maximizes the smallest reduced gradient gᵢⱼ + νᵢ + ν_{m+j} over the cells that lie
 * between two components of the free cells' bipartite graph (see the module notes):
 * shifting component A's rows by s_A and its columns by −s_A keeps every free cell's
 * stationarity; the best common margin δ is the minimum mean cycle of the component graph
 * with edge weights w(A, B) = min over the cells from A's rows to B's columns, and the
 * shifts are shortest paths under w − δ. Pure.
 *
 * @example
 * mostComplementary(m, g, face.free, nu) // ν with the largest smallest margin between components
 */
export const mostComplementary = (m: number, g: Float64Array, free: Int32Array, nu: Float64Array): Float64Array => {
  const n = m * m, out = Float64Array.from(nu)
  // components: rows 0..m−1, columns m..2m−1
  const parent = Int32Array.from({ length: 2 * m }, (_, v) => v)
  const find = (v: number): number => { while (parent[v] !== v) { parent[v] = parent[parent[v]!]!; v = parent[v]! } return v }
  const isFree = new Uint8Array(n)
  for (let e = 0; e < free.length; e++) {
    const c = free[e]!, a = find(Math.floor(c / m)), b = find(m + (c % m))
    isFree[c] = 1
    if (a !== b) parent[a] = b
  }
  const id = new Int32Array(2 * m).fill(-1)
  let C = 0
  for (let v = 0; v < 2 * m; v++) { const r = find(v); if (id[r]! < 0) id[r] = C++; id[v] = id[r]! }
  if (C <= 1) return out
  const w = new Float64Array(C * C).fill(Infinity)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      const c = i * m + j, A = id[i]!, B = id[m + j]!
      if (isFree[c] === 1 || A === B) continue
      const lin = g[c]! + nu[i]! + nu[m + j]!
      if (lin < w[A * C + B]!) w[A * C + B] = lin
    }
  }
  // Karp: D[k][v] = the least weight of a walk of k edges from component 0 to v
  const D = new Float64Array((C + 1) * C).fill(Infinity)
  D[0] = 0
  for (let k = 1; k <= C; k++) {
    for (let u = 0; u < C; u++) {
      const du = D[(k - 1) * C + u]!
      if (du === Infinity) continue
      for (let v = 0; v < C; v++) { if (v === u) continue; const d = du + w[u * C + v]!; if (d < D[k * C + v]!) D[k * C + v] = d }
    }
  }
  let delta = Infinity
  for (let v = 0; v < C; v++) {
    const dc = D[C * C + v]!
    if (dc === Infinity) continue
    let worst = -Infinity
    for (let k = 0; k < C; k++) { const dk = D[k * C + v]!; if (dk !== Infinity) worst = Math.max(worst, (dc - dk) / (C - k)) }
    delta = Math.min(delta, worst)
  }
  if (!Number.isFinite(delta)) return out
  // shifts: shortest paths under w − δ (no negative cycle, up to rounding: C rounds of Bellman-Ford)
  const s = new Float64Array(C)
  for (let round = 0; round < C; round++) {
    let changed = false
    for (let a = 0; a < C; a++) {
      for (let b = 0; b < C; b++) {
        if (a === b) continue
        const d = s[a]! + w[a * C + b]! - delta
        if (d < s[b]!) { s[b] = d; changed = true }
      }
    }
    if (!changed) break
  }
  for (let i = 0; i < m; i++) out[i] = out[i]! + s[id[i]!]!
  for (let j = 0; j < m; j++) out[m + j] = out[m + j]! - s[id[m + j]!]!
  return out
}

// -------------------------------------------------------------------------------------
// the set
// -------------------------------------------------------------------------------------

const noMaps: ParamMaps = { bound: () => 0, rhs: () => 0, boundT: () => undefined, rhsT: () => undefined }

/**
 * The Birkhoff polytope of m×m doubly stochastic matrices (see the module notes).
 *
 * @example
 * birkhoffSet(2).lmoValue(Float64Array.of(4, 1, 2, 3)) // 3: the anti-diagonal
 */
export const birkhoffSet = (m: number): FeasibleSet => {
  const n = m * m
  const poly = birkhoffPolyhedron(m)
  const oracle = makeOracle(m)
  return {
    kind: 'birkhoff', n, reach: new Float64Array(n).fill(1), size: 1,
    lmoValue: (g) => oracle(g).value,
    violation: (x) => polyViolation(poly, x),
    polyhedron: { ...poly, refineMultipliers: (g, free, nu) => mostComplementary(m, g, free, nu) },
    params: noMaps,
    vertex: (g, out) => { const a = oracle(g); permutationMatrix(a.perm, out); return a.value },
    start: (q) => permutationMatrix(assignment(q, m).perm),
    direction: (x, g): StepDirection | undefined => {
      const s = oracle(g).perm
      const a = awayPermutation(x, g, m)
      if (a === undefined) {
        // rounding left the support without a permutation: the Frank-Wolfe step towards S
        const vals = Float64Array.from(x, (v) => -v)
        for (let i = 0; i < m; i++) vals[i * m + s[i]!] = vals[i * m + s[i]!]! + 1
        return { vals, gmax: 1 }
      }
      let slope = 0, gmax = Infinity
      const cells: number[] = [], vals: number[] = []
      for (let i = 0; i < m; i++) {
        const cs = i * m + s[i]!, ca = i * m + a[i]!
        if (cs === ca) continue
        cells.push(cs, ca)
        vals.push(1, -1)
        slope += g[cs]! - g[ca]!
        gmax = Math.min(gmax, x[ca]!)
      }
      if (cells.length === 0 || !(slope < 0)) return undefined
      const snap: Array<readonly [number, number]> = []
      for (let e = 1; e < cells.length; e += 2) if (x[cells[e]!] === gmax) snap.push([cells[e]!, 0])
      return { idx: Int32Array.from(cells), vals: Float64Array.from(vals), gmax, snap }
    },
    // u's entries are constant; γmax is the first away cell at the minimum (the FW fallback: constant)
    directionLinear: (x, d) => {
      let at = -1
      if (d.idx !== undefined) for (let e = 1; e < d.idx.length; e += 2) if (x[d.idx[e]!] === d.gmax) { at = d.idx[e]!; break }
      const m2 = d.vals.length
      return {
        fwd: (dx, _st) => {
          if (d.idx === undefined) return { dvals: dx === undefined ? new Float64Array(m2) : Float64Array.from(dx, (v) => -v), dgmax: 0 }
          return { dvals: new Float64Array(m2), dgmax: at >= 0 && dx !== undefined ? dx[at]! : 0 }
        },
        bwd: (cv, cg, cx) => {
          if (d.idx === undefined) { for (let c = 0; c < n; c++) cx[c] = cx[c]! - cv[c]!; return }
          if (at >= 0) cx[at] = cx[at]! + cg
        }
      }
    }
  }
}
