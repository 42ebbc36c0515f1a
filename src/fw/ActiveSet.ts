/**
 * The exact minimizer of ½xᵀPx + qᵀx over a polyhedron (`sets/Polyhedron.ts`), by a primal
 * active-set method whose face systems are solved directly (`core/Kkt.ts`: a Cholesky
 * factorization for dense P, Woodbury for diagonal plus low rank, CG with a true-residual
 * test for CSR), as a QP solver's active-set method does. Frank-Wolfe only warm-starts it:
 * its working set is read off the iterate.
 *
 * Each round, on the working face (free coordinates F, fixed ones at their bounds or at 0,
 * the active rows E_F), solves
 *
 *     [P_FF  E_Fᵀ] [p]   [−g_F          ]
 *     [E_F   0   ] [ν] = [r − E_F x_F   ],   g = P x + q, r the active rows' right-hand
 *                                            sides less the fixed coordinates' share,
 *
 * moves x_F towards x_F + p as far as the polyhedron allows (a ratio test over the bounds,
 * the kinks of active abs rows and the inactive rows; an abs row's value is piecewise
 * linear along the step and is walked exactly), and fixes the blocking constraint. On
 * reaching the face's minimizer it recomputes g and the multipliers — ν by least squares
 * on F, the bounds' multipliers as reduced gradients — and releases every constraint whose
 * multiplier is wrong by at least half the worst one's; it stops when none is (a KKT point:
 * the exact minimizer, since P is PSD). Every face solve is exact, so the number of rounds
 * depends on how far the starting working set is from the optimal one, not on P's
 * conditioning.
 *
 * - A singular face (a minimizer that is not unique on it, e.g. P rank-deficient): the
 *   solve is the minimum-norm least-squares one; if g has a component in the face's null
 *   space the objective decreases linearly along it, and the method steps along that
 *   direction to the nearest constraint (the set is bounded).
 * - Negative curvature on a face (P not PSD) ends the method with the evidence: a
 *   direction d with dᵀPd < 0.
 * - A degenerate vertex whose row multipliers are not determined by F: one row's
 *   multiplier is chosen to best satisfy the fixed coordinates' conditions (the most
 *   complementary one: it maximizes the smallest margin); with several
 *   rows, the least-squares one, and the releases it implies enlarge the face — unless
 *   the polyhedron chooses among them itself (`Polyhedron.refineMultipliers`: the
 *   Birkhoff polytope takes the most complementary of its potentials).
 *
 * For a dense P (and diagonal plus low rank with a diagonal too small for Woodbury) the
 * faces of 48 coordinates or more are solved through one factor kept
 * across the rounds and updated in O(m²) as coordinates enter and leave (`FaceFactor.ts`),
 * instead of a factorization per face.
 *
 * Tolerances: a multiplier is wrong when it is off by more than
 * vtol = max(1e-11·‖g‖∞, 1e-13·max(|Px|ᵢ + |qᵢ|)); the result is `certified` when no
 * multiplier is wrong, the face's stationarity ‖g_F + E_Fᵀν‖∞ is at most 1e-10 of
 * max(|Px|ᵢ + |qᵢ|) on F or within g's own rounding, 64√n·ε·max(Σⱼ|Pᵢⱼ|·‖x‖∞ + |qᵢ|)
 * (Px may cancel far below its terms on an ill-conditioned P; a backward-stable face solve
 * reaches that floor, an iterative one must be refined to it), and x is feasible to 1e-12 of the set's size. A face
 * minimizer reached from far away is refined by up to three more steps on the same face.
 *
 * @since 0.1.0
 */
import { type KktSolver, kktSolver } from '../core/Kkt.js'
import type { LinearOperator } from '../core/LinearOperator.js'
import { applyInto } from '../core/LinearOperator.js'
import { faceHessian } from './FaceHessian.js'
import { faceMemo, faceFloor, keepOwnFace } from './CallMemo.js'
import { type FaceFactorCache, denseEntries, faceFactorCache, lowRankEntries } from './FaceFactor.js'
import { operatorRowAbs } from './Oracle.js'
import {
  type Polyhedron, type PolyRow, type WorkingSet, type CoordState,
  FREE, AT_LO, AT_HI, AT_ZERO, forRow, rowValue, rowScale, polyViolation
} from './sets/Polyhedron.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * Negative curvature met on a face: a unit direction d (length n) with dᵀPd < 0.
 *
 * @example
 * if (r.negative) throw new Error(`dᵀPd = ${r.negative.curvature}`)
 */
export interface Curvature {
  readonly direction: Float64Array
  readonly curvature: number
}

/**
 * A working face and the data the derivative needs from it: the free coordinates, the
 * active rows as a dense k × m matrix on F, their multipliers, and which rows they are.
 *
 * @example
 * const f = workingFace(poly, ws, x) // f.free, f.E (f.rows.length × f.free.length)
 */
export interface WorkingFace {
  readonly free: Int32Array
  readonly fixed: Int32Array
  /** The indices of the active rows, in the order of E's rows. */
  readonly rows: Int32Array
  /** E_F, rows.length × free.length, row-major. */
  readonly E: Float64Array
}

/**
 * The outcome of {@link activeSet}.
 *
 * @example
 * const r = activeSet(poly, P, q, x0)
 * r.certified ? r.x : undefined
 */
export interface ActiveSetResult {
  readonly x: Float64Array
  readonly ws: WorkingSet
  /** Multipliers of every row (0 for inactive ones), at the returned x. */
  readonly nu: Float64Array
  readonly rounds: number
  readonly faceSolves: number
  /** A KKT point to the module's tolerances. */
  readonly certified: boolean
  /** The face's stationarity ‖g_F + E_Fᵀν‖∞ as a multiple of its certification bound (≤ 1: certified; see the module notes). */
  readonly stationarity: number
  /** Present when P curves downwards on a face. */
  readonly negative?: Curvature
}

/**
 * Options of {@link activeSet}.
 *
 * @example
 * activeSet(poly, P, q, x0, { maxRounds: 200 })
 */
export interface ActiveSetOptions {
  /** The cap on rounds (default 4n + 60). */
  readonly maxRounds?: number
  /** A wall-clock deadline (performance.now()), checked once per round. */
  readonly deadline?: number
}

// -------------------------------------------------------------------------------------
// faces
// -------------------------------------------------------------------------------------

/**
 * The working face of `ws` at x: its free coordinates, its fixed ones, and the active rows
 * on F (abs rows through the free coordinates' signs).
 *
 * @example
 * workingFace(poly, ws, x).E
 */
export const workingFace = (poly: Polyhedron, ws: WorkingSet): WorkingFace => {
  const n = poly.n
  let m = 0
  for (let i = 0; i < n; i++) if (ws.state[i] === FREE) m++
  const free = new Int32Array(m), fixed = new Int32Array(n - m), pos = new Int32Array(n).fill(-1)
  for (let i = 0, a = 0, b = 0; i < n; i++) {
    if (ws.state[i] === FREE) { pos[i] = a; free[a++] = i } else fixed[b++] = i
  }
  const act: number[] = []
  for (let r = 0; r < poly.rows.length; r++) if (ws.active[r] === 1) act.push(r)
  const rows = Int32Array.from(act)
  const E = new Float64Array(rows.length * m)
  rows.forEach((r, k) => {
    const row = poly.rows[r]!
    forRow(row, n, (i, c) => {
      const a = pos[i]!
      if (a >= 0) E[k * m + a] = row.abs ? c * ws.sign[i]! : c
    })
  })
  return { free, fixed, rows, E }
}

/** φ′ of a row at a fixed coordinate's value: 1 for a linear row, sign(x) for an abs row (0 at 0). */
const slope = (abs: boolean, v: number): number => (!abs ? 1 : v > 0 ? 1 : v < 0 ? -1 : 0)

/**
 * The active rows' right-hand sides less the fixed coordinates' share: rᵣ − Σ_{i fixed} cᵣᵢ φ(xᵢ).
 *
 * @example
 * faceRhs(poly, ws, face, x) // length face.rows.length
 */
export const faceRhs = (poly: Polyhedron, ws: WorkingSet, face: WorkingFace, x: Float64Array): Float64Array => {
  const out = new Float64Array(face.rows.length)
  face.rows.forEach((r, k) => {
    const row = poly.rows[r]!
    let s = row.rhs
    forRow(row, poly.n, (i, c) => { if (ws.state[i] !== FREE) s -= c * (row.abs ? Math.abs(x[i]!) : x[i]!) })
    out[k] = s
  })
  return out
}

/**
 * The reduced gradient of every coordinate, g + Σ active ν_r ∇row_r at x, splitting an abs
 * row's term at a coordinate at 0 out (its subgradient is [−c, c]): `lin` holds g plus the
 * linear rows and the abs rows at nonzero coordinates, `kink` the abs rows' Σ ν_r c_ri at
 * coordinates at 0.
 *
 * @example
 * const { lin, kink } = reducedGradient(poly, ws, x, g, nu)
 */
export const reducedGradient = (
  poly: Polyhedron, ws: WorkingSet, x: Float64Array, g: Float64Array, nu: Float64Array
): { readonly lin: Float64Array; readonly kink: Float64Array } => {
  const n = poly.n
  const lin = Float64Array.from(g), kink = new Float64Array(n)
  poly.rows.forEach((row, r) => {
    const v = nu[r]!
    if (ws.active[r] !== 1 || v === 0) return
    forRow(row, n, (i, c) => {
      if (row.abs) {
        const s = ws.state[i] === FREE ? ws.sign[i]! : slope(true, x[i]!)
        if (s === 0) kink[i] = kink[i]! + v * c
        else lin[i] = lin[i]! + v * c * s
      } else lin[i] = lin[i]! + v * c
    })
  })
  return { lin, kink }
}

/**
 * How wrong each fixed coordinate's and each active inequality row's multiplier is at a
 * face minimizer (≥ 0; 0 where right), and the sign a released coordinate takes.
 */
const violations = (
  poly: Polyhedron, ws: WorkingSet, x: Float64Array, g: Float64Array, nu: Float64Array
): { readonly coord: Float64Array; readonly dir: Int8Array; readonly row: Float64Array } => {
  const n = poly.n
  const { lin, kink } = reducedGradient(poly, ws, x, g, nu)
  const coord = new Float64Array(n), dir = new Int8Array(n)
  for (let i = 0; i < n; i++) {
    const s = ws.state[i]!
    if (s === AT_LO) { coord[i] = Math.max(0, -lin[i]!); dir[i] = 1 }
    else if (s === AT_HI) { coord[i] = Math.max(0, lin[i]!); dir[i] = -1 }
    else if (s === AT_ZERO) { coord[i] = Math.max(0, Math.abs(lin[i]!) - kink[i]!); dir[i] = lin[i]! > 0 ? -1 : 1 }
  }
  const row = new Float64Array(poly.rows.length)
  poly.rows.forEach((pr, r) => { if (pr.kind === 'le' && ws.active[r] === 1) row[r] = Math.max(0, -nu[r]!) })
  return { coord, dir, row }
}

// -------------------------------------------------------------------------------------
// multipliers
// -------------------------------------------------------------------------------------

/**
 * The active rows' multipliers at a face minimizer: least squares on F (minimum norm when
 * F does not determine them), then, for a single row that F does not determine, the value
 * that best satisfies the fixed coordinates' conditions (a one-dimensional minimax).
 */
const multipliers = (poly: Polyhedron, ws: WorkingSet, face: WorkingFace, x: Float64Array, g: Float64Array): Float64Array => {
  const k = face.rows.length, m = face.free.length, E = face.E
  const nu = new Float64Array(poly.rows.length)
  if (k === 0) return nu
  // normal equations of min ‖g_F + E_Fᵀν‖: (E Eᵀ) ν = −E g_F, by the pivoted Cholesky of the KKT module
  const EEt = new Float64Array(k * k), rhs = new Float64Array(k)
  let determined = true
  for (let a = 0; a < k; a++) {
    let s = 0
    for (let j = 0; j < m; j++) s -= E[a * m + j]! * g[face.free[j]!]!
    rhs[a] = s
    for (let b = 0; b <= a; b++) {
      let e = 0
      for (let j = 0; j < m; j++) e += E[a * m + j]! * E[b * m + j]!
      EEt[a * k + b] = e
      EEt[b * k + a] = e
    }
  }
  if (m > 0) {
    const solver = kktSolver({ H: { kind: 'dense', m: k, H: EEt } })
    const ls = solver.solve(rhs)
    determined = solver.info.rank === k
    face.rows.forEach((r, a) => { nu[r] = ls.x[a]! })
  } else determined = false
  // the set's own choice among the multipliers F does not determine (the most complementary one)
  if (!determined && poly.refineMultipliers !== undefined) return poly.refineMultipliers(g, face.free, nu)
  if (determined || k !== 1) return nu
  // one row, not determined by F: choose ν to minimize the largest violation of the fixed
  // coordinates' conditions (each is linear in ν, or |a| ≤ ν c for a kink)
  const r0 = face.rows[0]!, row = poly.rows[r0]!
  const terms: Array<{ a: number; b: number; kink: boolean }> = [] // violation of a + ν b ≥ 0, or |a| − ν b ≤ 0
  forRow(row, poly.n, (i, c) => {
    const s = ws.state[i]!
    if (s === FREE) return
    if (s === AT_ZERO && row.abs) { terms.push({ a: g[i]!, b: c, kink: true }); return }
    const d = c * slope(row.abs, x[i]!)
    if (s === AT_LO) terms.push({ a: g[i]!, b: d, kink: false })
    else if (s === AT_HI) terms.push({ a: -g[i]!, b: -d, kink: false })
  })
  // each margin (the negated violation) is a line a + ν b (a kink's: ν c − |a|; an
  // inequality row's own: ν): the smallest is concave, highest where the lowest rising
  // line meets the lowest falling one, found by bisection on their difference (it rises
  // with ν) within [−S, S], S the largest |a/b|; the most complementary ν, so that a face
  // with a strictly complementary multiplier is not reported as a kink
  const lines = terms.map((t) => (t.kink ? { a: -Math.abs(t.a), b: t.b } : { a: t.a, b: t.b }))
  if (row.kind === 'le') lines.push({ a: 0, b: 1 })
  const lowest = (v: number, rising: boolean): number => {
    let e = Infinity
    for (const l of lines) if (rising ? l.b > 0 : l.b < 0) e = Math.min(e, l.a + v * l.b)
    return e
  }
  let span = 0, up = false, down = false
  for (const l of lines) { if (l.b !== 0) span = Math.max(span, Math.abs(l.a / l.b)); up ||= l.b > 0; down ||= l.b < 0 }
  if (up && down && Number.isFinite(span)) {
    let lo = -span, hi = span
    for (let it = 0; it < 200; it++) {
      const mid = 0.5 * (lo + hi)
      if (mid <= lo || mid >= hi) break
      if (lowest(mid, true) < lowest(mid, false)) lo = mid; else hi = mid
    }
    nu[r0] = 0.5 * (lo + hi)
    return nu
  }
  const worst = (v: number): number => {
    let w = row.kind === 'le' ? Math.max(0, -v) : 0
    for (const t of terms) w = Math.max(w, t.kink ? Math.abs(t.a) - v * t.b : -(t.a + v * t.b))
    return w
  }
  // one side only: the worst violation is convex piecewise linear in ν: minimize it over the breakpoints' hull
  const cands = [0]
  for (const t of terms) if (t.b !== 0) cands.push(t.kink ? Math.abs(t.a) / t.b : -t.a / t.b)
  cands.sort((p, q) => p - q)
  let best = cands[0]!, bw = worst(best)
  for (let j = 0; j < cands.length; j++) {
    const c0 = cands[j]!, c1 = cands[Math.min(j + 1, cands.length - 1)]!
    for (const v of [c0, 0.5 * (c0 + c1)]) { const wv = worst(v); if (wv < bw) { bw = wv; best = v } }
  }
  nu[r0] = best
  return nu
}

/**
 * The working set and the rows' multipliers read off a point taken as optimal (no
 * rounds): `workingSetOf` with tolerance `tol`, then least-squares multipliers from g.
 * For derivatives at points no polish has finished (smooth objectives).
 *
 * @example
 * const { ws, nu, x: xs } = kktPointAt(poly, x, g, 1e-6)
 */
export const kktPointAt = (poly: Polyhedron, x0: Float64Array, g: Float64Array, tol: number): { readonly x: Float64Array; readonly ws: WorkingSet; readonly nu: Float64Array } => {
  const x = Float64Array.from(x0)
  const ws = workingSetOf(poly, x, tol)
  return { x, ws, nu: multipliers(poly, ws, workingFace(poly, ws), x, g) }
}

// -------------------------------------------------------------------------------------
// the method
// -------------------------------------------------------------------------------------

const normInf = (v: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < v.length; i++) { const a = Math.abs(v[i]!); if (a > s) s = a }
  return s
}

/**
 * The working set read off a feasible point: coordinates within `tol` (relative, default
 * 1e-9) of a bound are fixed there (and x is set onto it: x is written), inequality rows
 * within `tol` of their right-hand side are active, and under an active abs row a
 * coordinate within tol·‖x‖∞ of 0 is fixed at 0.
 *
 * @example
 * const ws = workingSetOf(poly, x)
 */
export const workingSetOf = (poly: Polyhedron, x: Float64Array, tol = 1e-9): WorkingSet => {
  const n = poly.n, xm = normInf(x)
  const state = new Int8Array(n), sign = new Int8Array(n), active = new Uint8Array(poly.rows.length)
  for (let i = 0; i < n; i++) {
    const lo = poly.lo[i]!, hi = poly.hi[i]!, xi = x[i]!
    const sc = tol * Math.max(xm, Number.isFinite(lo) ? Math.abs(lo) : 0, Number.isFinite(hi) ? Math.abs(hi) : 0, 1e-300)
    if (xi - lo <= sc) { state[i] = AT_LO; x[i] = lo } else if (hi - xi <= sc) { state[i] = AT_HI; x[i] = hi }
  }
  poly.rows.forEach((row, r) => {
    if (row.kind === 'eq') { active[r] = 1; return }
    if (rowValue(row, n, x) >= row.rhs - tol * rowScale(row, n, x)) active[r] = 1
  })
  signsUnderAbs(poly, { state, sign, active }, x, tol * xm)
  return { state, sign, active }
}

/** Under every active abs row: free coordinates within `tol` of 0 are fixed there, the others take their sign. */
const signsUnderAbs = (poly: Polyhedron, ws: WorkingSet, x: Float64Array, tol: number): void => {
  poly.rows.forEach((row, r) => {
    if (!row.abs || ws.active[r] !== 1) return
    forRow(row, poly.n, (i) => {
      if (ws.state[i] !== FREE) return
      if (Math.abs(x[i]!) <= tol && poly.lo[i]! < 0 && poly.hi[i]! > 0) { ws.state[i] = AT_ZERO; x[i] = 0; ws.sign[i] = 0 }
      else if (ws.sign[i] === 0) ws.sign[i] = x[i]! > 0 ? 1 : -1
    })
  })
}

const gradient = <N>(P: LinearOperator<N>, q: Float64Array, x: Float64Array, px: Float64Array, g: Float64Array): void => {
  applyInto(P, x, px)
  for (let i = 0; i < g.length; i++) g[i] = px[i]! + q[i]!
}

/** An abs row's value along x + αd, piecewise linear: the smallest α ∈ [0, αmax] where it reaches its right-hand side, or Infinity. */
const absRowHit = (row: PolyRow, n: number, x: Float64Array, d: Float64Array, alphaMax: number): number => {
  let v0 = 0, slope0 = 0
  const bps: Array<[number, number]> = [] // [α, slope change]
  forRow(row, n, (i, c) => {
    const xi = x[i]!, di = d[i]!
    v0 += c * Math.abs(xi)
    if (di === 0) return
    if (xi === 0) { slope0 += c * Math.abs(di); return }
    const s = xi > 0 ? 1 : -1
    slope0 += c * s * di
    if (s * di < 0) bps.push([-xi / di, 2 * c * Math.abs(di)])
  })
  bps.sort((a, b) => a[0] - b[0])
  const rhs = row.rhs
  let a0 = 0, v = v0, s = slope0
  for (const [ab, ds] of bps) {
    if (ab > alphaMax) break
    if (s > 0 && v + s * (ab - a0) >= rhs) return a0 + (rhs - v) / s
    v += s * (ab - a0); a0 = ab; s += ds
  }
  if (s > 0) { const a = a0 + (rhs - v) / s; return a <= alphaMax ? a : Infinity }
  return Infinity
}

/**
 * The exact minimizer over the polyhedron from the feasible point x0 (see the module
 * notes). Pure: x0 is not written.
 *
 * @example
 * const { x, ws, nu, certified } = activeSet(set.polyhedron!, theta.P, theta.q.data, xFw)
 */
export const activeSet = <N>(
  poly: Polyhedron, P: LinearOperator<N>, q: Float64Array, x0: Float64Array, options: ActiveSetOptions = {}
): ActiveSetResult => {
  const n = poly.n, nr = poly.rows.length
  const x = Float64Array.from(x0)
  const ws = workingSetOf(poly, x)
  const px = new Float64Array(n), g = new Float64Array(n)
  const maxRounds = options.maxRounds ?? 4 * n + 60
  // the kept factor, made on the first face large enough to use it (most solves of small
  // problems never need one)
  let incremental: FaceFactorCache | undefined | null = null
  const incrementalCache = (): FaceFactorCache | undefined => {
    if (incremental === null) {
      incremental = P.kind === 'dense' ? faceFactorCache(denseEntries(P.mat.data, n), n)
        : P.kind === 'lowRank' && smallDiagonal(P.diag.data, P.U, P.rank) ? faceFactorCache(lowRankEntries(P.diag.data, P.U, P.rank), n)
          : undefined
    }
    return incremental
  }
  let faceSolves = 0, round = 0, refines = 0
  // the kept factor's solver of the last round's face, when that round used one
  let lastKept: KktSolver | undefined
  let nu: Float64Array = new Float64Array(nr)
  let stationarity = Infinity
  const result = (certified: boolean, negative?: Curvature): ActiveSetResult =>
    ({ x, ws, nu, rounds: round, faceSolves, certified, stationarity, ...(negative === undefined ? {} : { negative }) })
  for (; round < maxRounds; round++) {
    if (round > 0 && options.deadline !== undefined && performance.now() > options.deadline) break
    const face = workingFace(poly, ws)
    const F = face.free, m = F.length, k = face.rows.length
    gradient(P, q, x, px, g)
    // the step p on the face: P_FF p + E_Fᵀν = −g_F, E_F p = r − E_F x_F
    const c = faceRhs(poly, ws, face, x)
    for (let a = 0; a < k; a++) { let s = 0; for (let j = 0; j < m; j++) s += face.E[a * m + j]! * x[F[j]!]!; c[a] = c[a]! - s }
    let d: Float64Array = new Float64Array(m), unbounded = false
    if (m > 0) {
      const b = new Float64Array(m)
      for (let j = 0; j < m; j++) b[j] = -g[F[j]!]!
      let gs = 0
      for (let i = 0; i < n; i++) gs = Math.max(gs, Math.abs(px[i]!) + Math.abs(q[i]!))
      const hFloor = gs / polyScale(poly, x)
      const cache = m >= INCREMENTAL_MIN && k < m ? incrementalCache() : undefined
      const kept = cache !== undefined ? cache.solverFor(F, face.rows, face.E, hFloor) : undefined
      lastKept = kept
      const hf = faceFloor(P, F, k, hFloor)
      const solver: KktSolver = kept ?? faceMemo(P, F, k > 0 ? face.E : undefined, 0, () => kktSolver({ H: faceHessian(P, F), ...(k > 0 ? { E: { k, rows: face.E } } : {}) }, { hFloor: hf }), hf)
      faceSolves++
      if (solver.info.negative !== undefined) return result(false, embed(solver.info.negative, F, n))
      const sol = solver.solve(b, c)
      if (sol.negative !== undefined) return result(false, embed(sol.negative, F, n))
      // a face that is a single point (E_F of rank |F|) on which x already lies: the step is
      // 0 exactly, not the solve's rounding (a vertex stays on its bounds' values)
      d = k > 0 && solver.info.rowRank === m && c.every((v) => v === 0) ? new Float64Array(m) : Float64Array.from(sol.x)
      if (solver.info.nullity > 0) {
        // a singular face: if g has a component in its null space, f falls linearly along it
        const res = residualOf(P, F, face, sol.x, sol.nu, b, n)
        if (normInf(res) > 1e-9 * (normInf(b) + 1e-300)) { d = res; unbounded = true }
      }
    } else lastKept = undefined
    // the ratio test along x_F + α d: a bound, the kink of an active abs row, or an inactive row
    const alphaMax = unbounded ? Infinity : 1
    let alpha = alphaMax, block = -1, blockTo: CoordState = FREE, blockRow = -1
    for (let j = 0; j < m; j++) {
      const i = F[j]!, dj = d[j]!
      if (dj === 0) continue
      const xi = x[i]!
      const bound = dj > 0 ? poly.hi[i]! : poly.lo[i]!
      let r = (bound - xi) / dj, to: CoordState = dj > 0 ? AT_HI : AT_LO
      // under an active abs row a free coordinate keeps its sign: reaching 0 blocks it
      if (ws.sign[i]! * dj < 0 && inActiveAbs(poly, ws, i)) {
        const r0 = -xi / dj
        if (r0 <= r) { r = r0; to = AT_ZERO }
      }
      if (r < alpha) { alpha = Math.max(0, r); block = i; blockTo = to; blockRow = -1 }
    }
    let full: Float64Array | undefined
    for (let r = 0; r < nr; r++) {
      const row = poly.rows[r]!
      if (row.kind !== 'le' || ws.active[r] === 1) continue
      if (full === undefined) { full = new Float64Array(n); for (let j = 0; j < m; j++) full[F[j]!] = d[j]! }
      const hit = row.abs ? absRowHit(row, n, x, full, alpha) : linearRowHit(row, n, x, full, alpha)
      if (hit < alpha) { alpha = Math.max(0, hit); block = -1; blockRow = r }
    }
    if (!Number.isFinite(alpha)) return result(false) // an unbounded face: cannot happen for a bounded set
    for (let j = 0; j < m; j++) x[F[j]!] = x[F[j]!]! + alpha * d[j]!
    if (block >= 0) {
      refines = 0
      ws.state[block] = blockTo
      x[block] = blockTo === AT_ZERO ? 0 : blockTo === AT_HI ? poly.hi[block]! : poly.lo[block]!
      if (blockTo === AT_ZERO) ws.sign[block] = 0
      continue
    }
    if (blockRow >= 0) {
      refines = 0
      ws.active[blockRow] = 1
      if (poly.rows[blockRow]!.abs) signsUnderAbs(poly, ws, x, 0)
      continue
    }
    if (unbounded) continue
    // at the face's minimizer: the multipliers, and the releases (the working set is the
    // round's: no bound or row blocked the step, so its face is `face`)
    gradient(P, q, x, px, g)
    const f2 = face
    nu = multipliers(poly, ws, f2, x, g)
    stationarity = faceStationarity(f2, g, nu, px, q, operatorRowAbs(P), normInf(x), n)
    const v = violations(poly, ws, x, g, nu)
    let scale = 0, gmax = 0
    for (let i = 0; i < n; i++) { scale = Math.max(scale, Math.abs(px[i]!) + Math.abs(q[i]!)); gmax = Math.max(gmax, Math.abs(g[i]!)) }
    const vtol = Math.max(1e-11 * gmax, 1e-13 * scale, 1e-300)
    let worst = vtol
    for (let i = 0; i < n; i++) worst = Math.max(worst, v.coord[i]!)
    for (let r = 0; r < nr; r++) worst = Math.max(worst, v.row[r]!)
    if (worst <= vtol) {
      // a face minimizer found from far away keeps the solve's rounding of the whole step
      // (κε of it on an ill-conditioned face): a step more on the same face (its factors
      // memoized) from the fresh gradient is a refinement, as many as three
      if (stationarity > 1 && refines < 3) { refines++; continue }
      // the final face's kept factor serves this instance's later solves on the face (the
      // implicit derivative's, `FaceDerivative.ts`) instead of a fresh O(m³)
      // factorization: nothing changes the factor once the method returns. It is the
      // instance's own (`withInstance`): its rounding follows this instance's rounds
      if (lastKept !== undefined) keepOwnFace(F, face.rows.length > 0 ? face.E : undefined, 0, lastKept)
      return result(stationarity <= 1 && polyViolation(poly, x) <= 1e-12 * polyScale(poly, x))
    }
    refines = 0
    const cut = Math.max(vtol, 0.5 * worst)
    for (let i = 0; i < n; i++) {
      if (v.coord[i]! < cut) continue
      const s = ws.state[i] as CoordState
      ws.state[i] = FREE
      ws.sign[i] = s === AT_ZERO ? v.dir[i]! : x[i]! > 0 ? 1 : x[i]! < 0 ? -1 : v.dir[i]!
    }
    for (let r = 0; r < nr; r++) if (v.row[r]! >= cut) ws.active[r] = 0
  }
  return result(false)
}

/**
 * Whether diag(d) + U Uᵀ has a diagonal below Woodbury's threshold (`core/Kkt.ts`: min d ≤
 * 1e-8 of the largest diagonal entry), so that its face solves would be densified.
 */
const smallDiagonal = (d: Float64Array, U: Float64Array, r: number): boolean => {
  let minD = Infinity, maxDiag = 0
  for (let i = 0; i < d.length; i++) {
    let w = 0
    for (let k = 0; k < r; k++) w += U[i * r + k]! * U[i * r + k]!
    minD = Math.min(minD, d[i]!)
    maxDiag = Math.max(maxDiag, d[i]! + w)
  }
  return !(minD > 1e-8 * maxDiag)
}

/** The smallest face kept in an updated factor (`FaceFactor.ts`); below it a fresh one costs little. */
const INCREMENTAL_MIN = 48

/** The scale of the polyhedron's constraints at x: the largest finite bound, right-hand side or |xᵢ|. */
const polyScale = (poly: Polyhedron, x: Float64Array): number => {
  let s = normInf(x)
  for (let i = 0; i < poly.n; i++) {
    if (Number.isFinite(poly.lo[i]!)) s = Math.max(s, Math.abs(poly.lo[i]!))
    if (Number.isFinite(poly.hi[i]!)) s = Math.max(s, Math.abs(poly.hi[i]!))
  }
  for (const row of poly.rows) s = Math.max(s, Math.abs(row.rhs))
  return Math.max(s, 1e-300)
}

/** Whether coordinate i lies in an active abs row. */
const inActiveAbs = (poly: Polyhedron, ws: WorkingSet, i: number): boolean => {
  for (let r = 0; r < poly.rows.length; r++) {
    const row = poly.rows[r]!
    if (!row.abs || ws.active[r] !== 1) continue
    if (row.idx === undefined) return true
    for (let k = 0; k < row.idx.length; k++) if (row.idx[k] === i) return true
  }
  return false
}

/** A linear row's value along x + αd: where it reaches its right-hand side (Infinity if it does not within αmax). */
const linearRowHit = (row: PolyRow, n: number, x: Float64Array, d: Float64Array, alphaMax: number): number => {
  let v = 0, s = 0
  forRow(row, n, (i, c) => { v += c * x[i]!; s += c * d[i]! })
  if (!(s > 0)) return Infinity
  const a = (row.rhs - v) / s
  return a <= alphaMax ? a : Infinity
}

/** The face system's residual b − (P_FF p + E_Fᵀν) on F, from a fresh product. */
const residualOf = <N>(P: LinearOperator<N>, F: Int32Array, face: WorkingFace, p: Float64Array, nu: Float64Array, b: Float64Array, n: number): Float64Array => {
  const m = F.length, k = face.rows.length
  const full = new Float64Array(n), out = new Float64Array(n)
  for (let j = 0; j < m; j++) full[F[j]!] = p[j]!
  applyInto(P, full, out)
  const r = new Float64Array(m)
  for (let j = 0; j < m; j++) {
    let s = b[j]! - out[F[j]!]!
    for (let a = 0; a < k; a++) s -= face.E[a * m + j]! * nu[a]!
    r[j] = s
  }
  return r
}

/**
 * The face's stationarity ‖g_F + E_Fᵀν‖∞ as a multiple of what a certified point may
 * leave (≤ 1 passes): the smaller of its ratios to 1e-10·max(|Px|ᵢ + |qᵢ|) and to g's
 * rounding, 64√n·ε·max(Σⱼ|Pᵢⱼ|·‖x‖∞ + |qᵢ|) over F. The second is the one that matters on
 * an ill-conditioned P, whose product cancels far below its terms: g is known only to
 * that scale's ε there, and a direct face solve (backward stable) reaches it; an
 * iterative one stopped at its tolerance does not, and its point, off by up to κ times
 * that tolerance, is not certified.
 */
const faceStationarity = (
  face: WorkingFace, g: Float64Array, nu: Float64Array, px: Float64Array, q: Float64Array, rowAbs: Float64Array, xInf: number, n: number
): number => {
  const F = face.free, m = F.length
  let res = 0, sc = 0, sa = 0
  for (let j = 0; j < m; j++) {
    const i = F[j]!
    let s = g[i]!
    face.rows.forEach((r, a) => { s += face.E[a * m + j]! * nu[r]! })
    res = Math.max(res, Math.abs(s))
    sc = Math.max(sc, Math.abs(px[i]!) + Math.abs(q[i]!))
    sa = Math.max(sa, rowAbs[i]! * xInf + Math.abs(q[i]!))
  }
  if (res === 0) return 0
  const floor = 64 * Math.sqrt(n) * 2.220446049250313e-16
  return Math.min(sc > 0 ? res / (1e-10 * sc) : Infinity, sa > 0 ? res / (floor * sa) : Infinity)
}

/** A face direction embedded in Rⁿ. */
const embed = (c: { readonly direction: Float64Array; readonly curvature: number }, F: Int32Array, n: number): Curvature => {
  const d = new Float64Array(n)
  for (let j = 0; j < F.length; j++) d[F[j]!] = c.direction[j]!
  return { direction: d, curvature: c.curvature }
}
