/**
 * The face a solution's derivative is taken on, as the implicit derivative (`Implicit.ts`)
 * reads it, and the report the layer returns with it (`face`: size, margin, derivative).
 *
 * A face model holds the free coordinates F, the fixed ones with where they sit (at a
 * bound, or at 0 under an active abs row), the active rows linearized on F (E_F), their
 * multipliers ν, and a shift of the Hessian (the l2 ball's multiplier λ: on the sphere the
 * Lagrangian's Hessian is P + λI and its one row is xᵀ). Polyhedral faces come from the
 * active-set polish's final working set (`ActiveSet.ts`), so nothing is guessed from
 * thresholds; the sphere's from its polish.
 *
 * The report:
 * - `size`: the face's dimension, |F| minus the rank of E_F.
 * - `margin`: the smallest relative strict-complementarity margin: over the fixed
 *   coordinates and active inequality rows, the multiplier relative to the gradient's
 *   scale max(|Px|ᵢ + |qᵢ|); over the free coordinates, the distance to the nearest bound
 *   (or to 0 under an active abs row) relative to the coordinate's own reach (t/wᵢ on the
 *   weighted l1 ball: a coordinate of weight 7e3 is not at 0 because 1.4e-4 is small
 *   against another's reach 1.7e5); over inactive rows, the slack relative to the row's
 *   scale. 1 when there is nothing to switch.
 * - `derivative`: `"non-unique"` when the face's KKT matrix is singular (the minimizer is
 *   not unique: the derivative is the minimum-norm least-squares solution of the face's
 *   linearized KKT system, the pseudo-inverse's); else `"kink"` when the margin is at most
 *   {@link KINK_TOLERANCE} (a constraint or multiplier at its switching point within
 *   rounding, so only one-sided derivatives exist: the derivative is taken on the
 *   smallest face — every constraint at its switching point counts as active); else
 *   `"exact"`. In every case the JVP and the VJP are transposes of one linear map.
 *
 * @since 0.1.0
 */
import type { FeasibleSet } from './sets/FeasibleSet.js'
import type { FaceReport } from './FaceReport.js'
import { type Polyhedron, type WorkingSet, FREE, AT_LO, AT_HI, AT_ZERO, forRow, rowValue, rowScale } from './sets/Polyhedron.js'
import { workingFace, reducedGradient } from './ActiveSet.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

export type { FaceDerivative, FaceReport } from './FaceReport.js'

/**
 * The relative margin at or below which a face is a kink.
 *
 * @example
 * margin <= KINK_TOLERANCE // a constraint sits at its switching point within rounding
 */
export const KINK_TOLERANCE = 1e-9

/**
 * A face, as the derivative reads it.
 *
 * @example
 * const f = polyhedralFace(set, ws, nu, x, px, q)
 * f.free.length - f.rowRank // the face's dimension (the solver reports the rank)
 */
export interface FaceModel {
  readonly set: FeasibleSet
  readonly x: Float64Array
  /** Free coordinates, ascending. */
  readonly free: Int32Array
  /** Fixed coordinates, ascending, with their states (AT_LO, AT_HI, AT_ZERO) in `state`. */
  readonly fixed: Int32Array
  readonly state: Int8Array
  /** Signs of the free coordinates under active abs rows (±1), 0 elsewhere. */
  readonly sign: Int8Array
  /** The rows of E_F: which of the set's rows (for its parameter maps), and whether abs. */
  readonly rows: Int32Array
  readonly abs: Uint8Array
  /** E_F, rows.length × free.length, row-major. */
  readonly E: Float64Array
  /** Each active row's coefficients on the fixed coordinates: [i, cᵣᵢ, φ(xᵢ), φ′(xᵢ)] per entry. */
  readonly fixedTerms: ReadonlyArray<ReadonlyArray<readonly [number, number, number, number]>>
  /** The rows' multipliers, in E's row order. */
  readonly nu: Float64Array
  /** The Hessian's shift on F (λ on the sphere, else 0). */
  readonly shift: number
  /** Margin and the kink flag (the solver adds the non-unique one). */
  readonly margin: number
  /** The problem's natural unit of curvature, |g|/|x| (the gradient's scale over the set's size), for the solver's ρ. */
  readonly hUnit: number
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

const normInf = (v: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < v.length; i++) { const a = Math.abs(v[i]!); if (a > s) s = a }
  return s
}

/**
 * The scale of the gradient's terms, max(|Px|ᵢ + |qᵢ|): what multipliers are measured against.
 *
 * @example
 * gradientScale(px, q)
 */
export const gradientScale = (px: Float64Array, q: Float64Array): number => {
  let s = 0
  for (let i = 0; i < px.length; i++) s = Math.max(s, Math.abs(px[i]!) + Math.abs(q[i]!))
  return s
}

/**
 * The margins of a working set at a KKT point (see the module notes): per free coordinate,
 * fixed coordinate and row, relative.
 */
const margins = (
  set: FeasibleSet, poly: Polyhedron, ws: WorkingSet, x: Float64Array, g: Float64Array, nu: Float64Array, gs: number
): { readonly coord: Float64Array; readonly row: Float64Array } => {
  const n = poly.n, size = Math.max(set.size, normInf(x), 1e-300)
  const { lin, kink } = reducedGradient(poly, ws, x, g, nu)
  const coord = new Float64Array(n).fill(1), row = new Float64Array(poly.rows.length).fill(1)
  const absActive = new Uint8Array(n)
  poly.rows.forEach((pr, r) => { if (pr.abs && ws.active[r] === 1) forRow(pr, n, (i) => { absActive[i] = 1 }) })
  const ds = Math.max(gs, 1e-300)
  for (let i = 0; i < n; i++) {
    const s = ws.state[i]!, xi = x[i]!
    if (s === AT_LO) coord[i] = lin[i]! / ds
    else if (s === AT_HI) coord[i] = -lin[i]! / ds
    else if (s === AT_ZERO) coord[i] = (kink[i]! - Math.abs(lin[i]!)) / ds
    else {
      let d = Math.min(xi - poly.lo[i]!, poly.hi[i]! - xi)
      if (absActive[i] === 1) d = Math.min(d, Math.abs(xi))
      coord[i] = d / Math.max(Math.min(size, set.reach[i]!), Math.abs(xi), 1e-300)
    }
  }
  poly.rows.forEach((pr, r) => {
    if (pr.kind !== 'le') return
    if (ws.active[r] === 1) row[r] = nu[r]! / ds
    else row[r] = (pr.rhs - rowValue(pr, n, x)) / Math.max(rowScale(pr, n, x), 1e-300)
  })
  return { coord, row }
}

/**
 * The face of a polyhedral set's working set at a KKT point x (g = Px + q, ν the rows'
 * multipliers): the smallest face when some margin is at most {@link KINK_TOLERANCE}
 * (free coordinates at a bound or at 0 are fixed there, inactive rows at their right-hand
 * side become active). Pure: `ws` and x are not written.
 *
 * @example
 * const face = polyhedralFace(set, r.ws, r.nu, r.x, px, q)
 */
export const polyhedralFace = (
  set: FeasibleSet, ws0: WorkingSet, nu0: Float64Array, x0: Float64Array, px: Float64Array, q: Float64Array
): FaceModel => {
  const poly = set.polyhedron!
  const n = poly.n
  const x = Float64Array.from(x0)
  const g = new Float64Array(n)
  for (let i = 0; i < n; i++) g[i] = px[i]! + q[i]!
  const ws: WorkingSet = { state: Int8Array.from(ws0.state), sign: Int8Array.from(ws0.sign), active: Uint8Array.from(ws0.active) }
  const gs = gradientScale(px, q)
  const mg = margins(set, poly, ws, x, g, nu0, gs)
  let margin = 1
  for (let i = 0; i < n; i++) margin = Math.min(margin, mg.coord[i]!)
  for (let r = 0; r < poly.rows.length; r++) margin = Math.min(margin, mg.row[r]!)
  margin = Math.max(margin, 0)
  if (margin <= KINK_TOLERANCE) {
    // the smallest face: what sits at its switching point counts as active
    const absActive = poly.rows.some((pr, r) => pr.abs && ws.active[r] === 1)
    for (let i = 0; i < n; i++) {
      if (ws.state[i] !== FREE || mg.coord[i]! > KINK_TOLERANCE) continue
      const xi = x[i]!
      const dLo = xi - poly.lo[i]!, dHi = poly.hi[i]! - xi
      if (absActive && Math.abs(xi) <= Math.min(dLo, dHi)) { ws.state[i] = AT_ZERO; ws.sign[i] = 0; x[i] = 0 }
      else if (dLo <= dHi) { ws.state[i] = AT_LO; x[i] = poly.lo[i]! }
      else { ws.state[i] = AT_HI; x[i] = poly.hi[i]! }
    }
    poly.rows.forEach((pr, r) => {
      if (pr.kind !== 'le' || ws.active[r] === 1 || mg.row[r]! > KINK_TOLERANCE) return
      ws.active[r] = 1
      if (pr.abs) forRow(pr, n, (i) => { if (ws.state[i] === FREE && ws.sign[i] === 0) ws.sign[i] = x[i]! > 0 ? 1 : x[i]! < 0 ? -1 : 0 })
    })
  }
  const face = workingFace(poly, ws)
  // plain loops (a typed array's `from` with a map function takes V8's slow path, which a
  // batch of small instances pays per instance)
  const k = face.rows.length
  const abs = new Uint8Array(k), nu = new Float64Array(k)
  const fixedTerms: Array<ReadonlyArray<readonly [number, number, number, number]>> = new Array(k)
  for (let a = 0; a < k; a++) {
    const r = face.rows[a]!, pr = poly.rows[r]!, out: Array<readonly [number, number, number, number]> = []
    abs[a] = pr.abs ? 1 : 0
    nu[a] = nu0[r]!
    if (face.fixed.length > 0) {
      forRow(pr, n, (i, c) => {
        if (ws.state[i] === FREE) return
        const xi = x[i]!
        out.push([i, c, pr.abs ? Math.abs(xi) : xi, pr.abs ? (xi > 0 ? 1 : xi < 0 ? -1 : 0) : 1])
      })
    }
    fixedTerms[a] = out
  }
  return {
    set, x, free: face.free, fixed: face.fixed, state: ws.state, sign: ws.sign,
    rows: face.rows, abs, E: face.E, fixedTerms,
    nu,
    shift: 0, margin, hUnit: gs / Math.max(set.size, normInf(x), 1e-300)
  }
}

/**
 * The l2 ball's face at x: the sphere when ‖x‖ = t to rounding (every coordinate free,
 * the one row xᵀ, the Hessian shifted by the multiplier λ ≥ 0 of g + λx = 0), the
 * interior otherwise. At a kink (binding with λ ≈ 0, or inside with ‖x‖ within `boundTol`
 * of t, default {@link KINK_TOLERANCE}) the sphere is kept (the smallest face).
 *
 * @example
 * const face = sphereFace(set, x, px, q)
 */
export const sphereFace = (set: FeasibleSet, x: Float64Array, px: Float64Array, q: Float64Array, boundTol = KINK_TOLERANCE): FaceModel => {
  const n = x.length, t = set.size
  if (!(t > 0)) {
    // t = 0: x = 0 is the only point, and it does not move on its face
    return {
      set, x: new Float64Array(n), free: new Int32Array(0), fixed: Int32Array.from({ length: n }, (_, i) => i),
      state: new Int8Array(n).fill(AT_ZERO), sign: new Int8Array(n), rows: new Int32Array(0), abs: new Uint8Array(0),
      E: new Float64Array(0), fixedTerms: [], nu: new Float64Array(0), shift: 0, margin: 1, hUnit: 0
    }
  }
  const xm = normInf(x)
  let nx = 0, xg = 0, xx = 0
  if (xm > 0) for (let i = 0; i < n; i++) { const u = x[i]! / xm; nx += u * u; xg += u * (px[i]! + q[i]!); xx += u * u }
  nx = xm * Math.sqrt(nx)
  const gs = Math.max(gradientScale(px, q), 1e-300)
  const lambda = xx > 0 ? Math.max(0, -xg / (xx * xm)) : 0
  const primal = Math.max(0, (t - nx) / t)
  // on the sphere (to rounding): the multiplier's margin; inside: the distance to the sphere,
  // and within KINK_TOLERANCE of it the sphere is kept (the smallest face)
  const onSphere = nx > 0 && primal <= boundTol
  const margin = !onSphere || primal > Math.min(1e-13, boundTol) ? primal : lambda * t / gs
  const all = Int32Array.from({ length: n }, (_, i) => i)
  return {
    set, x: Float64Array.from(x), free: all, fixed: new Int32Array(0), state: new Int8Array(n), sign: new Int8Array(n),
    rows: onSphere ? Int32Array.of(0) : new Int32Array(0), abs: onSphere ? Uint8Array.of(0) : new Uint8Array(0),
    E: onSphere ? Float64Array.from(x) : new Float64Array(0),
    fixedTerms: onSphere ? [[]] : [],
    nu: onSphere ? Float64Array.of(lambda) : new Float64Array(0),
    shift: onSphere ? lambda : 0,
    margin: Math.min(1, margin),
    hUnit: gs / t
  }
}

/** AT_LO, AT_HI and AT_ZERO, for the derivative's bound maps. */
export { AT_LO, AT_HI, AT_ZERO }
