/**
 * Polyhedral sets described by what the active-set polish and the face derivative need:
 * coordinate bounds lo ≤ x ≤ hi and a few rows
 *
 *     Σᵢ cᵣᵢ φᵣ(xᵢ) = bᵣ  or  ≤ bᵣ,     φᵣ(x) = x (a linear row) or |x| (an abs row).
 *
 * Every polyhedral set of the library fits: the weighted l1 ball (no bounds, one abs row
 * Σ wᵢ|xᵢ| ≤ t), the l∞ ball and the box (bounds, no row), the simplex (x ≥ 0, Σ x = t),
 * the capped simplex (0 ≤ x ≤ 1, Σ x = k), the K-sparse polytope (|xᵢ| ≤ t and the abs
 * row Σ|xᵢ| ≤ k·t) and the Birkhoff polytope (x ≥ 0, one linear equality per row and per
 * column of the matrix).
 *
 * A face is a working set: each coordinate is free or fixed (at lo, at hi, or at 0 when an
 * abs row is active, the kink of |x|), each inequality row is active or not, and a free
 * coordinate under an active abs row has a sign. On the face, the active rows restricted to
 * the free coordinates F are linear: E_F with entries cᵣᵢ·σᵢ (abs rows) or cᵣᵢ.
 *
 * @since 0.1.0
 */

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * One row Σᵢ cᵢ φ(xᵢ) (= or ≤) rhs over the coordinates `idx` (all n when absent).
 *
 * @example
 * const l1Row: PolyRow = { kind: 'le', abs: true, coef: w, rhs: t }
 */
export interface PolyRow {
  readonly kind: 'eq' | 'le'
  readonly abs: boolean
  /** The coordinates the row touches, ascending; absent: every coordinate. */
  readonly idx?: Int32Array
  /** The coefficients, on `idx` or on every coordinate. */
  readonly coef: Float64Array
  readonly rhs: number
}

/**
 * A polyhedron {lo ≤ x ≤ hi, rows}; ±Infinity where a coordinate has no bound.
 *
 * @example
 * const simplex: Polyhedron = { n, lo: zeros, hi: infinities, rows: [{ kind: 'eq', abs: false, coef: ones, rhs: t }] }
 */
export interface Polyhedron {
  readonly n: number
  readonly lo: Float64Array
  readonly hi: Float64Array
  readonly rows: readonly PolyRow[]
  /**
   * Optional, for a polyhedron whose free coordinates F may leave the rows' multipliers
   * undetermined (a degenerate face): given the least-squares multipliers ν (every row's,
   * in the polish's convention), the one of ν + null(E_Fᵀ) — the multipliers that keep
   * F's stationarity g_F + E_Fᵀν = 0 — that maximizes the smallest multiplier of the
   * fixed coordinates (their reduced gradients). A KKT multiplier exists iff that smallest
   * one is ≥ 0, and the face is stable (strictly complementary) iff it is > 0. The
   * Birkhoff polytope has it: the potentials of each connected component of the free
   * cells shift freely.
   */
  readonly refineMultipliers?: (g: Float64Array, free: Int32Array, nu: Float64Array) => Float64Array
}

/**
 * A coordinate's place in a working set: free, or fixed at its lower bound, its upper
 * bound, or at 0 (the kink of an active abs row).
 *
 * @example
 * ws.state[i] === AT_LO // xᵢ = loᵢ on this face
 */
export type CoordState = 0 | 1 | 2 | 3
/** Free. */
export const FREE = 0 as const
/** Fixed at the lower bound. */
export const AT_LO = 1 as const
/** Fixed at the upper bound. */
export const AT_HI = 2 as const
/** Fixed at 0 under an active abs row. */
export const AT_ZERO = 3 as const

/**
 * A working set: the state of each coordinate, the sign of each free coordinate that an
 * active abs row sees (±1; 0 where no abs row is active), and which rows are active
 * (equality rows always are).
 *
 * @example
 * const ws: WorkingSet = { state, sign, active }
 */
export interface WorkingSet {
  readonly state: Int8Array
  readonly sign: Int8Array
  readonly active: Uint8Array
}

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

/**
 * Calls f(i, cᵢ) for every coordinate of a row.
 *
 * @example
 * forRow(row, (i, c) => { s += c * x[i] })
 */
export const forRow = (row: PolyRow, n: number, f: (i: number, c: number) => void): void => {
  const idx = row.idx, c = row.coef
  if (idx === undefined) for (let i = 0; i < n; i++) f(i, c[i]!)
  else for (let k = 0; k < idx.length; k++) f(idx[k]!, c[k]!)
}

/**
 * The row's value Σ cᵢ φ(xᵢ) at x.
 *
 * @example
 * rowValue(l1Row, n, x) // Σ wᵢ|xᵢ|
 */
export const rowValue = (row: PolyRow, n: number, x: Float64Array): number => {
  let s = 0
  const idx = row.idx, c = row.coef
  if (idx === undefined) {
    if (row.abs) for (let i = 0; i < n; i++) s += c[i]! * Math.abs(x[i]!)
    else for (let i = 0; i < n; i++) s += c[i]! * x[i]!
  } else if (row.abs) for (let k = 0; k < idx.length; k++) s += c[k]! * Math.abs(x[idx[k]!]!)
  else for (let k = 0; k < idx.length; k++) s += c[k]! * x[idx[k]!]!
  return s
}

/**
 * The scale of a row's value: Σ |cᵢ|·|xᵢ| (for tolerances), at least |rhs|.
 *
 * @example
 * rowScale(row, n, x) // ≥ |row.rhs|
 */
export const rowScale = (row: PolyRow, n: number, x: Float64Array): number => {
  let s = 0
  forRow(row, n, (i, c) => { s += Math.abs(c * x[i]!) })
  return Math.max(s, Math.abs(row.rhs))
}

/**
 * Whether x lies in the polyhedron to a relative tolerance `rtol`: each bound's excess
 * against max(|bound|, |xᵢ|) and each row's against its scale Σ|cᵢxᵢ| + |rhs| (so that a
 * point at t = 1e-20 is judged in units of 1e-20, not of 1); rows marked in `active`
 * must hold with equality to the same tolerance.
 *
 * @example
 * polyFeasible(poly, x, 1e-12, ws.active) // what a certificate requires
 */
export const polyFeasible = (poly: Polyhedron, x: Float64Array, rtol: number, active?: Uint8Array): boolean => {
  const n = poly.n
  for (let i = 0; i < n; i++) {
    const xi = x[i]!, lo = poly.lo[i]!, hi = poly.hi[i]!
    if (!Number.isFinite(xi)) return false
    if (lo - xi > rtol * Math.max(Math.abs(lo), Math.abs(xi))) return false
    if (xi - hi > rtol * Math.max(Math.abs(hi), Math.abs(xi))) return false
  }
  for (let k = 0; k < poly.rows.length; k++) {
    const row = poly.rows[k]!
    const r = rowValue(row, n, x) - row.rhs, sc = rowScale(row, n, x)
    if ((row.kind === 'eq' || active?.[k] === 1 ? Math.abs(r) : r) > rtol * sc) return false
  }
  return true
}

/**
 * How far x lies outside the polyhedron, relative to each constraint's scale: the largest
 * bound or row excess (0 when feasible).
 *
 * @example
 * polyViolation(poly, x) // 0 for a feasible x
 */
export const polyViolation = (poly: Polyhedron, x: Float64Array): number => {
  const n = poly.n
  let v = 0
  for (let i = 0; i < n; i++) {
    const xi = x[i]!
    if (!Number.isFinite(xi)) return Infinity
    v = Math.max(v, poly.lo[i]! - xi, xi - poly.hi[i]!)
  }
  for (const row of poly.rows) {
    const r = rowValue(row, n, x) - row.rhs
    v = Math.max(v, row.kind === 'eq' ? Math.abs(r) : r)
  }
  return v
}
