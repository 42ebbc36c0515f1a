/**
 * An exact reference for min ½ xᵀP x + qᵀx over the l1 ball (weighted), the l∞ ball, the
 * l2 ball and the simplex, independent of the library: for a face (which coordinates are
 * free, where the others sit, which constraint binds), the face's KKT system is solved in
 * double-double arithmetic (`dd.ts`), and the point is then VERIFIED optimal in
 * double-double: primal feasibility, stationarity on the free coordinates, dual
 * feasibility of every fixed coordinate and of the inequality's multiplier, and
 * complementarity. Since P is positive semidefinite, a verified point is the exact
 * minimizer of the convex QP (to double-double rounding, about 1e-32 · cond).
 *
 * The face to verify may come from anywhere (the library's answer, projected gradient, an
 * enumeration); a face that fails the check is corrected by a small active-set loop
 * (fix what is primal-infeasible, release what is dual-infeasible) until one passes.
 *
 * The derivatives differentiate the face's KKT conditions:
 * - polyhedral faces: [P_FF  a; aᵀ 0] [dx_F; dμ] = [−e_F − (P dx_B)_F − μ σ⊙dw_F; dr],
 *   e = dq + dP·x (the change of g = P x + q at fixed x), a the active row on F (w⊙σ for
 *   the l1 ball, 1 for the simplex), dr its right-hand side's change (dt − Σ dwᵢσᵢxᵢ on l1,
 *   dt on the simplex), dx_B = s_B dt for l∞ coordinates at ±t;
 * - the sphere: [P + λI  x; xᵀ 0] [dx; dλ] = [−e; t·dt].
 * The VJP solves the transposed system with right-hand side (c_F, 0).
 *
 * Systems up to `DD_LU_LIMIT` unknowns are solved by Gaussian elimination with partial
 * pivoting in double-double; larger ones (the bench's n = 1000) by a double-precision LU
 * with iterative refinement on double-double residuals, which converges to double-double
 * accuracy when cond · 1e-16 < 1.
 *
 * Excluded from tap's run by package.json.
 */
import * as D from './dd.js'
import type { DD, DDVec } from './dd.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** The four sets. */
export type RefSet = 'l1' | 'linf' | 'l2' | 'simplex'

/** P in one of the library's three storage forms, as plain data. */
export type RefP =
  | { readonly kind: 'dense'; readonly data: Float64Array }
  | { readonly kind: 'lowRank'; readonly diag: Float64Array; readonly rank: number; readonly U: Float64Array }
  | { readonly kind: 'csr'; readonly rowPtr: Int32Array; readonly colIdx: Int32Array; readonly values: Float64Array }

/** A problem: min ½ xᵀP x + qᵀx over the set with radius t (and weights w on l1). */
export interface RefProblem {
  readonly n: number
  readonly set: RefSet
  readonly P: RefP
  readonly q: Float64Array
  readonly w: Float64Array
  readonly t: number
}

/**
 * A face:
 * - l1: `binding` (Σ wᵢ|xᵢ| = t) with the support `free` and its signs `sign`; not binding:
 *   every coordinate free;
 * - linf: `free`, the others at `bound[i]`·t (±1);
 * - simplex: the support `free` (the row Σx = t always active);
 * - l2: `binding` (the sphere) or the interior; every coordinate free.
 */
export interface RefFace {
  readonly set: RefSet
  readonly free: Int32Array
  /** l1: σᵢ on the support (±1), 0 elsewhere. */
  readonly sign: Int8Array
  /** linf: ±1 for a coordinate at ±t, 0 for a free one. */
  readonly bound: Int8Array
  readonly binding: boolean
}

/** A tangent of (q, w, t, P): absent fields are zero; dP is n × n row-major. */
export interface RefTangent {
  readonly q?: Float64Array
  readonly w?: Float64Array
  readonly t?: number
  readonly P?: Float64Array
}

/** The reference VJP: gradients of ⟨c, x*⟩. */
export interface RefGradients {
  readonly q: Float64Array
  readonly w: Float64Array
  readonly t: number
  /** Dense P only (the library's convention ∂P = −v xᵀ, from e = dP·x). */
  readonly P: Float64Array
}

/** What the optimality check found. */
export interface Verification {
  /** Every condition holds to double-double rounding. */
  readonly ok: boolean
  /** The conditions that failed, in words. */
  readonly failures: readonly string[]
  /** The KKT residual (stationarity and primal equalities), relative. */
  readonly residual: number
  /**
   * The smallest relative strict-complementarity margin (≥ 0 when ok), each condition
   * against its own rounding scale: a fixed coordinate's multiplier over Σⱼ|Pᵢⱼxⱼ| + |qᵢ|
   * (and λwᵢ on l1, |ν| on the simplex), the row's multiplier λ as λt over Σᵢ(Σⱼ|Pᵢⱼxⱼ| +
   * |qᵢ|)|xᵢ| (λt² on the sphere), a free coordinate's distance to its bound over its reach
   * (t, or t/wᵢ on l1), a slack over t.
   */
  readonly margin: number
  /** What sits at the smallest margin (for reports). */
  readonly marginAt: string
  /** The tolerance the conditions were checked to. */
  readonly tol: number
}

/** A verified solution on a face, with what the derivatives need. */
export interface RefSolution {
  readonly problem: RefProblem
  readonly face: RefFace
  readonly x: Float64Array
  readonly xDD: DDVec
  /** The active row's multiplier: λ (l1, l2 sphere), ν (simplex), 0 otherwise. */
  readonly mult: number
  readonly multDD: DD
  /** f* = ½ xᵀP x + qᵀx, in double-double, rounded. */
  readonly objective: number
  readonly verification: Verification
  /** The face's KKT matrix is nonsingular (so, with a positive margin, x* is unique). */
  readonly nonsingular: boolean
  /** How many faces the active-set loop tried. */
  readonly rounds: number
  /**
   * The power of two σ ≈ t the problem was solved at (x = σ y with y the minimizer for
   * q/σ and t/σ, exact scalings), and that solution; absent when σ = 1.
   */
  readonly inner?: RefSolution
  readonly sigma?: number
}

/** Systems larger than this are solved by double LU with double-double refinement. */
export const DD_LU_LIMIT = 320

// -------------------------------------------------------------------------------------
// P in double-double
// -------------------------------------------------------------------------------------

/** P as a dense n × n double-double matrix (low-rank products and CSR repeats summed exactly enough). */
export const ddMatrixOf = (P: RefP, n: number): DDVec => {
  const A = D.zeros(n * n)
  switch (P.kind) {
    case 'dense':
      A.h.set(P.data)
      return A
    case 'lowRank': {
      const r = P.rank
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) {
          let s: DD = i === j ? D.dd(P.diag[i]!) : [0, 0]
          for (let k = 0; k < r; k++) s = D.add(s, D.mul(D.dd(P.U[i * r + k]!), D.dd(P.U[j * r + k]!)))
          D.put(A, i * n + j, s)
          D.put(A, j * n + i, s)
        }
      }
      return A
    }
    case 'csr':
      for (let i = 0; i < n; i++) {
        for (let k = P.rowPtr[i]!; k < P.rowPtr[i + 1]!; k++) {
          const a = i * n + P.colIdx[k]!
          D.put(A, a, D.add(D.at(A, a), D.dd(P.values[k]!)))
        }
      }
      return A
  }
}

const cache = new WeakMap<RefP, DDVec>()
const pOf = (p: RefProblem): DDVec => {
  let A = cache.get(p.P)
  if (A === undefined) { A = ddMatrixOf(p.P, p.n); cache.set(p.P, A) }
  return A
}

// -------------------------------------------------------------------------------------
// linear solves: double-double GEPP, or double LU with double-double refinement
// -------------------------------------------------------------------------------------

/** A factored square system K (m × m, double-double), with solves by K and by Kᵀ. */
interface Factored {
  readonly m: number
  readonly nonsingular: boolean
  /** The largest over the smallest |pivot|: a rough estimate of K's condition number. */
  readonly cond: number
  readonly solve: (b: DDVec) => DDVec
  readonly solveT: (b: DDVec) => DDVec
}

const luDouble = (A: Float64Array, m: number): { a: Float64Array; perm: Int32Array; singular: boolean } => {
  const a = Float64Array.from(A), perm = Int32Array.from({ length: m }, (_, i) => i)
  let singular = false
  for (let c = 0; c < m; c++) {
    let p = c, best = Math.abs(a[c * m + c]!)
    for (let r = c + 1; r < m; r++) { const v = Math.abs(a[r * m + c]!); if (v > best) { best = v; p = r } }
    if (p !== c) {
      for (let j = 0; j < m; j++) { const tmp = a[c * m + j]!; a[c * m + j] = a[p * m + j]!; a[p * m + j] = tmp }
      const tp = perm[c]!; perm[c] = perm[p]!; perm[p] = tp
    }
    const d = a[c * m + c]!
    if (d === 0) { singular = true; continue }
    for (let r = c + 1; r < m; r++) {
      const f = a[r * m + c]! / d
      if (f === 0) continue
      a[r * m + c] = f
      const ro = r * m, co = c * m
      for (let j = c + 1; j < m; j++) a[ro + j] = a[ro + j]! - f * a[co + j]!
    }
  }
  return { a, perm, singular }
}

const luDoubleSolve = (f: { a: Float64Array; perm: Int32Array }, b: Float64Array, m: number, transposed: boolean): Float64Array => {
  const { a, perm } = f
  if (!transposed) {
    const y = Float64Array.from({ length: m }, (_, i) => b[perm[i]!]!)
    for (let i = 0; i < m; i++) { let s = y[i]!; for (let j = 0; j < i; j++) s -= a[i * m + j]! * y[j]!; y[i] = s }
    for (let i = m - 1; i >= 0; i--) { let s = y[i]!; for (let j = i + 1; j < m; j++) s -= a[i * m + j]! * y[j]!; y[i] = s / a[i * m + i]! }
    return y
  }
  const z = Float64Array.from(b)
  for (let i = 0; i < m; i++) { let s = z[i]!; for (let j = 0; j < i; j++) s -= a[j * m + i]! * z[j]!; z[i] = s / a[i * m + i]! }
  for (let i = m - 1; i >= 0; i--) { let s = z[i]!; for (let j = i + 1; j < m; j++) s -= a[j * m + i]! * z[j]!; z[i] = s }
  const x = new Float64Array(m)
  for (let i = 0; i < m; i++) x[perm[i]!] = z[i]!
  return x
}

const transposeDD = (K: DDVec, m: number): DDVec => {
  const T = D.zeros(m * m)
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) { T.h[j * m + i] = K.h[i * m + j]!; T.l[j * m + i] = K.l[i * m + j]! }
  return T
}

/**
 * Factors K: double-double GEPP up to DD_LU_LIMIT, refinement beyond (or always, with
 * `refined`: the cheaper solver for Newton's intermediate steps).
 */
const factorRaw = (K: DDVec, m: number, refined = false): Factored => {
  if (m === 0) return { m, nonsingular: true, cond: 1, solve: () => D.zeros(0), solveT: () => D.zeros(0) }
  if (m <= DD_LU_LIMIT && !refined) {
    const f = D.luDD(K, m)
    // a pivot below 1e-26 of the largest: singular to double-double rounding of the data
    const nonsingular = !f.singular && f.pivotMin > 1e-26 * f.pivotMax
    return { m, nonsingular, cond: f.pivotMax / Math.max(f.pivotMin, 1e-300), solve: (b) => D.luSolveDD(f, b), solveT: (b) => D.luSolveTDD(f, b) }
  }
  const f = luDouble(Float64Array.from(K.h, (h, i) => h + K.l[i]!), m)
  let pmin = Infinity, pmax = 0, kn = 0
  for (let i = 0; i < m; i++) { const d = Math.abs(f.a[i * m + i]!); pmin = Math.min(pmin, d); pmax = Math.max(pmax, d) }
  for (let i = 0; i < m; i++) { let s = 0; for (let j = 0; j < m; j++) s += Math.abs(K.h[i * m + j]!); kn = Math.max(kn, s) }
  let KT: DDVec | undefined
  const refine = (A: DDVec, b: DDVec, transposed: boolean): DDVec => {
    let x = D.zeros(m)
    const bn = D.normInfDD(b)
    let last = Infinity
    for (let it = 0; it < 40; it++) {
      const r = D.residualDD(A, x, b, m)
      const rn = D.normInfDD(r)
      // done at double-double rounding of b and of K x, or when the residual stops falling
      if (rn === 0 || rn <= 1e-31 * (bn + kn * D.normInfDD(x)) || rn >= 0.5 * last) break
      last = rn
      const d = luDoubleSolve(f, D.toDoubles(r), m, transposed)
      if (!d.every(Number.isFinite)) break
      x = D.addVec(x, D.fromDoubles(d))
    }
    return x
  }
  return {
    m, nonsingular: !f.singular && pmin > 1e-15 * pmax, cond: pmax / Math.max(pmin, 1e-300),
    solve: (b) => refine(K, b, false),
    solveT: (b) => { KT ??= transposeDD(K, m); return refine(KT, b, true) }
  }
}

/** The nearest power of two (so that scaling by it is exact). */
const pow2 = (v: number): number => 2 ** Math.round(Math.log2(v))

/**
 * Factors K after scaling by powers of two, K' = R K C (exact), so that neither the
 * singularity test, nor the pivot-ratio conditioning estimate, nor the elimination's
 * growth depend on the problem's units:
 * - C: the unknowns' expected magnitudes when `colScale` is given (a bound of each x
 *   coordinate, the multipliers' sizes), else the symmetric equilibration 1/√|Kᵢᵢ| (the
 *   border rows: 1 over their largest scaled entry);
 * - R: each row's largest entry of K C brought to 1.
 * Without C from the magnitudes, a multiplier 1e200 times x (t = 1e-200 against q ≈ 1)
 * would leave x to the elimination's cancellation between multiplier-sized numbers.
 */
const factor = (K: DDVec, m: number, refined = false, colScale?: ArrayLike<number>): Factored => {
  if (m === 0) return factorRaw(K, m, refined)
  const c = new Float64Array(m)
  if (colScale !== undefined) {
    for (let j = 0; j < m; j++) c[j] = pow2(Math.max(Math.abs(colScale[j]!), 1e-300))
  } else {
    let dmax = 0
    for (let i = 0; i < m; i++) {
      const a = Math.abs(K.h[i * m + i]!)
      if (a > 0) { c[i] = pow2(1 / Math.sqrt(a)); dmax = Math.max(dmax, c[i]!) }
    }
    for (let i = 0; i < m; i++) {
      if (c[i] !== 0) continue
      let big = 0
      for (let j = 0; j < m; j++) if (c[j] !== 0) big = Math.max(big, Math.abs(K.h[i * m + j]!) * c[j]!)
      c[i] = big > 0 ? pow2(1 / big) : dmax > 0 ? dmax : 1
    }
  }
  const rs = new Float64Array(m)
  for (let i = 0; i < m; i++) {
    let big = 0
    for (let j = 0; j < m; j++) big = Math.max(big, Math.abs(K.h[i * m + j]!) * c[j]!)
    rs[i] = big > 0 ? pow2(1 / big) : 1
  }
  const Ks = D.zeros(m * m)
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) { const s = rs[i]! * c[j]!; Ks.h[i * m + j] = K.h[i * m + j]! * s; Ks.l[i * m + j] = K.l[i * m + j]! * s }
  const f = factorRaw(Ks, m, refined)
  const by = (v: Float64Array) => (b: DDVec): DDVec => ({ h: b.h.map((x, i) => x * v[i]!), l: b.l.map((x, i) => x * v[i]!) })
  const byR = by(rs), byC = by(c)
  // K⁻¹ = C K'⁻¹ R and K⁻ᵀ = R K'⁻ᵀ C
  return { m, nonsingular: f.nonsingular, cond: f.cond, solve: (b) => byC(f.solve(byR(b))), solveT: (b) => byR(f.solveT(byC(b))) }
}

// -------------------------------------------------------------------------------------
// the face's KKT system
// -------------------------------------------------------------------------------------

/** The active row's coefficients on F (l1 binding: wσ; simplex: 1; l2 sphere: x), or undefined. */
const rowOf = (p: RefProblem, face: RefFace): Float64Array | undefined => {
  const F = face.free
  if (p.set === 'l1' && face.binding) return Float64Array.from(F, (i) => p.w[i]! * face.sign[i]!)
  if (p.set === 'simplex') return new Float64Array(F.length).fill(1)
  return undefined
}

/** The bordered KKT matrix of a polyhedral face: [P_FF a; aᵀ 0] (or P_FF). */
const polyKkt = (p: RefProblem, face: RefFace): { K: DDVec; m: number; k: number } => {
  const A = pOf(p), n = p.n, F = face.free, mF = F.length
  const a = rowOf(p, face), k = a === undefined ? 0 : 1, m = mF + k
  const K = D.zeros(m * m)
  for (let r = 0; r < mF; r++) {
    for (let c = 0; c < mF; c++) {
      K.h[r * m + c] = A.h[F[r]! * n + F[c]!]!
      K.l[r * m + c] = A.l[F[r]! * n + F[c]!]!
    }
  }
  if (a !== undefined) for (let r = 0; r < mF; r++) { K.h[r * m + mF] = a[r]!; K.h[mF * m + r] = a[r]! }
  return { K, m, k }
}

/** The fixed coordinates' values: l∞ ±t, else 0. */
const fixedPart = (p: RefProblem, face: RefFace): DDVec => {
  const xB = D.zeros(p.n)
  if (p.set === 'linf') for (let i = 0; i < p.n; i++) if (face.bound[i] !== 0) xB.h[i] = face.bound[i]! * p.t
  return xB
}

/** Solves a polyhedral face: x (every coordinate) and the row's multiplier. */
const solvePolyFace = (p: RefProblem, face: RefFace): { x: DDVec; mult: DD; fac: Factored } => {
  const n = p.n, F = face.free, mF = F.length
  const { K, m, k } = polyKkt(p, face)
  let fac = factor(K, m)
  const xB = fixedPart(p, face)
  const PxB = D.matVecDD(pOf(p), xB, n)
  const b = D.zeros(m)
  for (let r = 0; r < mF; r++) D.put(b, r, D.neg(D.add(D.dd(p.q[F[r]!]!), D.at(PxB, F[r]!))))
  if (k === 1) b.h[mF] = p.t
  let sol = fac.solve(b)
  if (k === 1) {
    // again, with the unknowns' magnitudes: each free coordinate's reach, and the multiplier found
    const reach = Float64Array.from(F, (i) => (p.set === 'l1' ? p.t / p.w[i]! : p.t))
    const mu = Math.abs(sol.h[mF]!)
    let big = 0
    for (let j = 0; j < mF; j++) big = Math.max(big, Math.abs(K.h[j * m + j]!) * reach[j]!)
    fac = factor(K, m, false, [...reach, Math.max(mu, big, 1e-300)])
    sol = fac.solve(b)
  }
  const x = D.zeros(n)
  x.h.set(xB.h); x.l.set(xB.l)
  for (let r = 0; r < mF; r++) D.put(x, F[r]!, D.at(sol, r))
  return { x, mult: k === 1 ? D.at(sol, mF) : [0, 0], fac }
}

/** The sphere's KKT matrix [P + λI  x; xᵀ 0] at (x, λ). */
const sphereKkt = (p: RefProblem, x: DDVec, lambda: DD): DDVec => {
  const n = p.n, m = n + 1, A = pOf(p), K = D.zeros(m * m)
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) { K.h[r * m + c] = A.h[r * n + c]!; K.l[r * m + c] = A.l[r * n + c]! }
    D.put(K, r * m + r, D.add(D.at(K, r * m + r), lambda))
    D.put(K, r * m + n, D.at(x, r))
    D.put(K, n * m + r, D.at(x, r))
  }
  return K
}

/** λ ↦ ‖(P + λI)⁻¹ q‖ − t solved in doubles (bisection and Newton): a start for the sphere. */
const secularStart = (p: RefProblem): { x: Float64Array; lambda: number } => {
  const n = p.n, A = pOf(p)
  const Pd = Float64Array.from(A.h, (h, i) => h + A.l[i]!)
  const solveAt = (lam: number): Float64Array => {
    const M = Float64Array.from(Pd)
    for (let i = 0; i < n; i++) M[i * n + i] = M[i * n + i]! + lam
    const f = luDouble(M, n)
    return luDoubleSolve(f, Float64Array.from(p.q, (v) => -v), n, false)
  }
  const nrm = (v: Float64Array): number => Math.hypot(...v)
  let qn = 0
  for (let i = 0; i < n; i++) qn = Math.max(qn, Math.abs(p.q[i]!))
  let lo = 0, hi = Math.sqrt(n) * qn / p.t
  let lam = 0.5 * hi, y = solveAt(lam)
  for (let it = 0; it < 200; it++) {
    y = solveAt(lam)
    const ny = nrm(y)
    if (!Number.isFinite(ny)) { lo = lam; lam = 0.5 * (lo + hi); continue }
    if (ny > p.t) lo = lam; else hi = lam
    if (Math.abs(ny - p.t) <= 1e-15 * p.t || hi - lo <= 1e-17 * hi) break
    lam = 0.5 * (lo + hi)
  }
  const ny = nrm(y)
  return { x: y.map((v) => (v / ny) * p.t), lambda: lam }
}

/** Newton's method on [(P + λI)x + q; ½(xᵀx − t²)] = 0 in double-double from (x0, λ0). */
const newtonSphere = (p: RefProblem, x0: Float64Array, lambda0: number): { x: DDVec; mult: DD; fac: Factored } => {
  const n = p.n, m = n + 1, A = pOf(p)
  let x = D.fromDoubles(x0)
  let lambda: DD = D.dd(lambda0)
  let fac = factor(sphereKkt(p, x, lambda), m, true)
  let lastStep = Infinity
  for (let it = 0; it < 40; it++) {
    const Px = D.matVecDD(A, x, n)
    const F = D.zeros(m)
    for (let i = 0; i < n; i++) D.put(F, i, D.neg(D.add(D.add(D.at(Px, i), D.mul(lambda, D.at(x, i))), D.dd(p.q[i]!))))
    D.put(F, n, D.neg(D.mul(D.dd(0.5), D.sub(D.dotDD(x, x), D.mul(D.dd(p.t), D.dd(p.t))))))
    const step = fac.solve(F)
    let sx = 0, xn = D.normInfDD(x)
    for (let i = 0; i < n; i++) sx = Math.max(sx, Math.abs(step.h[i]!))
    for (let i = 0; i < n; i++) D.put(x, i, D.add(D.at(x, i), D.at(step, i)))
    lambda = D.add(lambda, D.at(step, n))
    // converged to double-double rounding, or no longer converging quadratically
    if (sx <= 1e-30 * Math.max(xn, 1e-300) || (it >= 3 && sx >= 0.5 * lastStep)) break
    lastStep = sx
    fac = factor(sphereKkt(p, x, lambda), m, true)
  }
  // the derivative's factorization: double-double GEPP at the solution
  // the unknowns' magnitudes: t for x, and λ (at least P's diagonal scale)
  let big = 0
  for (let i = 0; i < n; i++) big = Math.max(big, Math.abs(A.h[i * n + i]!))
  const colScale = [...new Array<number>(n).fill(p.t), Math.max(Math.abs(lambda[0]), big, 1e-300)]
  return { x, mult: lambda, fac: factor(sphereKkt(p, x, lambda), m, false, colScale) }
}

// -------------------------------------------------------------------------------------
// verification
// -------------------------------------------------------------------------------------

/**
 * What double-double rounding may leave in a condition, relative, for a face system of
 * condition number about `cond`: 64 · 1e-32 · cond, at least 1e-26 and at most 1e-14 (a
 * point verified to 1e-14 is still exact far beyond double precision).
 */
export const tolerance = (cond: number): number => Math.min(1e-14, Math.max(1e-26, 64e-32 * cond))

/**
 * Verifies x (with the face's multiplier) as the minimizer: the KKT conditions in
 * double-double (see the module notes), each to `tol` relative. Pure.
 */
export const verify = (p: RefProblem, face: RefFace, x: DDVec, mult: DD, TOL = 1e-24): Verification => {
  const n = p.n, A = pOf(p)
  const Px = D.matVecDD(A, x, n)
  const g = D.zeros(n)
  // each coordinate's rounding scale: Σⱼ |Pᵢⱼ xⱼ| + |qᵢ| (what the terms of gᵢ add up to before cancelling)
  const rs = new Float64Array(n)
  let gs = 0, work = 0
  for (let i = 0; i < n; i++) {
    D.put(g, i, D.add(D.at(Px, i), D.dd(p.q[i]!)))
    let s = Math.abs(p.q[i]!)
    for (let j = 0; j < n; j++) s += Math.abs(A.h[i * n + j]! * x.h[j]!)
    rs[i] = Math.max(s, 1e-300)
    gs = Math.max(gs, s)
    work += s * Math.abs(x.h[i]!)
  }
  gs = Math.max(gs, 1e-300)
  work = Math.max(work, 1e-300)
  const t = p.t
  const failures: string[] = []
  let residual = 0, margin = Infinity, marginAt = 'nothing'
  const res = (v: DD, scale: number, what: string): void => {
    const r = Math.abs(D.toNumber(v)) / Math.max(scale, 1e-300)
    residual = Math.max(residual, r)
    if (!(r <= TOL)) failures.push(`${what}: residual ${r.toExponential(2)}`)
  }
  const mar = (v: DD, scale: number, what: string): void => {
    const r = D.toNumber(v) / Math.max(scale, 1e-300)
    if (r < margin) { margin = r; marginAt = what }
    if (!(r >= -TOL)) failures.push(`${what}: violated by ${(-r).toExponential(2)}`)
  }
  const isFree = new Uint8Array(n)
  for (const i of face.free) isFree[i] = 1
  const m: DD = mult
  const lam = D.toNumber(m)
  switch (p.set) {
    case 'l1': {
      let s: DD = [0, 0]
      for (let i = 0; i < n; i++) s = D.add(s, D.mul(D.dd(p.w[i]!), D.abs(D.at(x, i))))
      if (!face.binding) {
        for (let i = 0; i < n; i++) res(D.at(g, i), gs, `g[${i}]`)
        mar(D.sub(D.dd(t), s), t, 'the l1 row (slack)')
        break
      }
      res(D.sub(s, D.dd(t)), t, 'Σ w|x| − t')
      mar(D.mul(m, D.dd(t)), work, 'λ')
      for (let i = 0; i < n; i++) {
        if (isFree[i] === 1) {
          res(D.add(D.at(g, i), D.mul(m, D.dd(p.w[i]! * face.sign[i]!))), gs, `stationarity[${i}]`)
          mar(D.mul(D.dd(face.sign[i]! * p.w[i]!), D.at(x, i)), t, `w|x|[${i}] (support)`)
        } else {
          res(D.at(x, i), t / p.w[i]!, `x[${i}] (off the support)`)
          mar(D.sub(D.mul(m, D.dd(p.w[i]!)), D.abs(D.at(g, i))), Math.max(Math.abs(lam) * p.w[i]!, rs[i]!), `λw[${i}] − |g[${i}]|`)
        }
      }
      break
    }
    case 'linf':
      for (let i = 0; i < n; i++) {
        if (isFree[i] === 1) {
          res(D.at(g, i), gs, `g[${i}]`)
          mar(D.sub(D.dd(t), D.abs(D.at(x, i))), t, `t − |x[${i}]|`)
        } else {
          const s = face.bound[i]!
          res(D.sub(D.at(x, i), D.dd(s * t)), t, `x[${i}] − (±t)`)
          mar(D.mul(D.dd(-s), D.at(g, i)), rs[i]!, `multiplier of x[${i}] = ±t`)
        }
      }
      break
    case 'simplex': {
      let s: DD = [0, 0]
      for (let i = 0; i < n; i++) s = D.add(s, D.at(x, i))
      res(D.sub(s, D.dd(t)), t, 'Σx − t')
      for (let i = 0; i < n; i++) {
        if (isFree[i] === 1) {
          res(D.add(D.at(g, i), m), gs, `stationarity[${i}]`)
          mar(D.at(x, i), t, `x[${i}] (support)`)
        } else {
          res(D.at(x, i), t, `x[${i}] (off the support)`)
          mar(D.add(D.at(g, i), m), Math.max(rs[i]!, Math.abs(lam)), `g[${i}] + ν`)
        }
      }
      break
    }
    case 'l2': {
      const nx = D.norm2DD(x)
      if (!face.binding) {
        for (let i = 0; i < n; i++) res(D.at(g, i), gs, `g[${i}]`)
        mar(D.sub(D.dd(t), nx), t, 't − ‖x‖')
        break
      }
      res(D.sub(nx, D.dd(t)), t, '‖x‖ − t')
      for (let i = 0; i < n; i++) res(D.add(D.at(g, i), D.mul(m, D.at(x, i))), gs, `stationarity[${i}]`)
      mar(D.mul(m, D.mul(D.dd(t), D.dd(t))), work, 'λ')
      break
    }
  }
  if (!Number.isFinite(residual)) failures.push('a non-finite residual')
  return { ok: failures.length === 0, failures, residual, margin: Number.isFinite(margin) ? margin : 1, marginAt, tol: TOL }
}

// -------------------------------------------------------------------------------------
// faces
// -------------------------------------------------------------------------------------

/**
 * The face read off a point: within `tol` (relative) of a bound or of the binding row;
 * coordinates with |xᵢ| ≤ `zeroTol`·‖x‖∞ count as 0.
 */
export const faceOf = (p: RefProblem, x: ArrayLike<number>, tol = 1e-9, zeroTol = 0): RefFace => {
  const n = p.n, t = p.t
  let xm = 0
  for (let i = 0; i < n; i++) xm = Math.max(xm, Math.abs(x[i]!))
  const sign = new Int8Array(n), bound = new Int8Array(n)
  const free: number[] = []
  switch (p.set) {
    case 'l1': {
      let s = 0
      for (let i = 0; i < n; i++) s += p.w[i]! * Math.abs(x[i]!)
      if (s < t * (1 - tol)) return { set: p.set, free: Int32Array.from({ length: n }, (_, i) => i), sign, bound, binding: false }
      for (let i = 0; i < n; i++) if (Math.abs(x[i]!) > zeroTol * xm && x[i] !== 0) { free.push(i); sign[i] = x[i]! > 0 ? 1 : -1 }
      return { set: p.set, free: Int32Array.from(free), sign, bound, binding: true }
    }
    case 'linf':
      for (let i = 0; i < n; i++) {
        if (Math.abs(x[i]!) >= t * (1 - tol)) bound[i] = x[i]! > 0 ? 1 : -1
        else free.push(i)
      }
      return { set: p.set, free: Int32Array.from(free), sign, bound, binding: false }
    case 'simplex':
      for (let i = 0; i < n; i++) if (x[i]! > Math.max(zeroTol * xm, 0)) free.push(i)
      return { set: p.set, free: Int32Array.from(free), sign, bound, binding: true }
    case 'l2': {
      let s = 0
      for (let i = 0; i < n; i++) s += (x[i]! / Math.max(xm, 1e-300)) ** 2
      const nx = xm * Math.sqrt(s)
      return { set: p.set, free: Int32Array.from({ length: n }, (_, i) => i), sign, bound, binding: nx >= t * (1 - tol) }
    }
  }
}

/** Every face of a small problem (3ⁿ sign patterns on l1 and l∞, 2ⁿ − 1 supports on the simplex). */
export const allFaces = (p: RefProblem): RefFace[] => {
  const n = p.n, out: RefFace[] = []
  const all = Int32Array.from({ length: n }, (_, i) => i)
  const none = new Int8Array(n)
  if (p.set === 'l2') return [{ set: 'l2', free: all, sign: none, bound: none, binding: false }, { set: 'l2', free: all, sign: none, bound: none, binding: true }]
  if (p.set === 'simplex') {
    for (let mask = 1; mask < 1 << n; mask++) {
      const free = all.filter((i) => ((mask >> i) & 1) === 1)
      out.push({ set: 'simplex', free, sign: none, bound: none, binding: true })
    }
    return out
  }
  if (p.set === 'l1') out.push({ set: 'l1', free: all, sign: none, bound: none, binding: false })
  const total = 3 ** n
  for (let c = 0; c < total; c++) {
    const v = new Int8Array(n)
    let r = c
    for (let i = 0; i < n; i++) { v[i] = (r % 3) - 1; r = Math.floor(r / 3) }
    if (p.set === 'l1') {
      const free = all.filter((i) => v[i] !== 0)
      if (free.length > 0) out.push({ set: 'l1', free, sign: v, bound: none, binding: true })
    } else {
      out.push({ set: 'linf', free: all.filter((i) => v[i] === 0), sign: none, bound: v, binding: false })
    }
  }
  return out
}

// -------------------------------------------------------------------------------------
// solving
// -------------------------------------------------------------------------------------

const objectiveDD = (p: RefProblem, x: DDVec): DD => {
  const Px = D.matVecDD(pOf(p), x, p.n)
  return D.add(D.mul(D.dd(0.5), D.dotDD(x, Px)), D.dotDD(x, D.fromDoubles(p.q)))
}

/** f(x) = ½ xᵀP x + qᵀx at a double vector x, in double-double (rounded). */
export const objectiveAt = (p: RefProblem, x: ArrayLike<number>): number => D.toNumber(objectiveDD(p, D.fromDoubles(x)))

/** The solution of one face's KKT system (verified, but possibly not optimal: see `verification.ok`). */
export const solveFace = (p: RefProblem, face: RefFace, start?: ArrayLike<number>): RefSolution & { readonly fac: Factored } => {
  let r: { x: DDVec; mult: DD; fac: Factored }
  if (p.set === 'l2' && face.binding) {
    let x0: Float64Array, l0: number
    if (start !== undefined && Array.from(start).some((v) => v !== 0)) {
      x0 = Float64Array.from(start)
      const nx = Math.hypot(...x0)
      for (let i = 0; i < p.n; i++) x0[i] = (x0[i]! / nx) * p.t
      const A = pOf(p)
      let xg = 0
      for (let i = 0; i < p.n; i++) {
        let s = p.q[i]!
        for (let j = 0; j < p.n; j++) s += A.h[i * p.n + j]! * x0[j]!
        xg += x0[i]! * s
      }
      l0 = Math.max(0, -xg / (p.t * p.t))
    } else ({ x: x0, lambda: l0 } = secularStart(p))
    r = newtonSphere(p, x0, l0)
    let v = verify(p, face, r.x, r.mult, tolerance(r.fac.cond))
    if (!v.ok && start !== undefined) {
      const s = secularStart(p)
      const r2 = newtonSphere(p, s.x, s.lambda)
      const v2 = verify(p, face, r2.x, r2.mult, tolerance(r2.fac.cond))
      if (v2.ok || v2.residual < v.residual) { r = r2; v = v2 }
    }
  } else r = solvePolyFace(p, face)
  const verification = verify(p, face, r.x, r.mult, tolerance(r.fac.cond))
  return {
    problem: p, face, x: D.toDoubles(r.x), xDD: r.x, mult: D.toNumber(r.mult), multDD: r.mult,
    objective: D.toNumber(objectiveDD(p, r.x)), verification, nonsingular: r.fac.nonsingular, rounds: 1, fac: r.fac
  }
}

/** The next face when `s` failed: fix what is primal-infeasible, else release what is dual-infeasible. */
const nextFace = (s: RefSolution & { readonly fac: Factored }, worstOnly: boolean): RefFace => {
  const p = s.problem, face = s.face, n = p.n, x = s.x
  const A = pOf(p)
  const g = new Float64Array(n)
  for (let i = 0; i < n; i++) { let v = p.q[i]!; for (let j = 0; j < n; j++) v += A.h[i * n + j]! * x[j]!; g[i] = v }
  const free = new Set(face.free)
  const sign = Int8Array.from(face.sign), bound = Int8Array.from(face.bound)
  const pick = (cands: Array<[number, number]>): number[] => {
    cands.sort((a, b) => b[1] - a[1])
    return (worstOnly ? cands.slice(0, 1) : cands).map((c) => c[0])
  }
  const done = (binding = face.binding): RefFace =>
    ({ set: p.set, free: Int32Array.from([...free].sort((a, b) => a - b)), sign, bound, binding })
  switch (p.set) {
    case 'l1': {
      if (!face.binding) {
        for (let i = 0; i < n; i++) { sign[i] = x[i]! > 0 ? 1 : x[i]! < 0 ? -1 : 0; if (sign[i] === 0) free.delete(i) }
        return done(true)
      }
      const out = pick(Array.from(face.free).filter((i) => sign[i]! * x[i]! < 0).map((i) => [i, -sign[i]! * x[i]!] as [number, number]))
      if (out.length > 0) { for (const i of out) { free.delete(i); sign[i] = 0 }; return done() }
      if (s.mult < 0) return { set: p.set, free: Int32Array.from({ length: n }, (_, i) => i), sign: new Int8Array(n), bound, binding: false }
      const add = pick(Array.from({ length: n }, (_, i) => i).filter((i) => !free.has(i) && Math.abs(g[i]!) > s.mult * p.w[i]!)
        .map((i) => [i, Math.abs(g[i]!) - s.mult * p.w[i]!] as [number, number]))
      for (const i of add) { free.add(i); sign[i] = g[i]! > 0 ? -1 : 1 }
      return done()
    }
    case 'linf': {
      const out = pick(Array.from(face.free).filter((i) => Math.abs(x[i]!) > p.t).map((i) => [i, Math.abs(x[i]!)] as [number, number]))
      if (out.length > 0) { for (const i of out) { free.delete(i); bound[i] = x[i]! > 0 ? 1 : -1 }; return done() }
      const rel = pick(Array.from({ length: n }, (_, i) => i).filter((i) => !free.has(i) && -bound[i]! * g[i]! < 0)
        .map((i) => [i, bound[i]! * g[i]!] as [number, number]))
      for (const i of rel) { free.add(i); bound[i] = 0 }
      return done()
    }
    case 'simplex': {
      const out = pick(Array.from(face.free).filter((i) => x[i]! < 0).map((i) => [i, -x[i]!] as [number, number]))
      if (out.length > 0 && out.length < free.size) { for (const i of out) free.delete(i); return done() }
      const add = pick(Array.from({ length: n }, (_, i) => i).filter((i) => !free.has(i) && g[i]! + s.mult < 0)
        .map((i) => [i, -(g[i]! + s.mult)] as [number, number]))
      for (const i of add) free.add(i)
      return done()
    }
    case 'l2':
      return done(!face.binding)
  }
}

const faceKey = (f: RefFace): string => `${f.binding ? 1 : 0}|${Array.from(f.free).join(',')}|${f.sign.join('')}|${f.bound.join('')}`

/** Options of {@link solveReference}. */
export interface ReferenceOptions {
  /** The active-set loop's cap on faces tried (default 4n + 20). */
  readonly maxRounds?: number
  /** Coordinates of `start` with |xᵢ| ≤ zeroTol·‖x‖∞ count as 0 when its face is read (default 0: exact zeros only). */
  readonly zeroTol?: number
}

/**
 * The verified minimizer, starting from the face of `start` (the library's x, say) and
 * correcting it by the active-set loop; then from projected gradient's face if that
 * fails. Throws when no face verifies (report it: the reference could not decide).
 */
export const solveReference = (p: RefProblem, start?: ArrayLike<number>, options: ReferenceOptions = {}): RefSolution => {
  // solve at t near 1: y = x/σ minimizes for q/σ and t/σ (σ a power of two, so exactly)
  const sigma = pow2(p.t)
  if (sigma === 1) return solveUnscaled(p, start, options)
  const ps: RefProblem = { ...p, q: p.q.map((v) => v / sigma), t: p.t / sigma }
  const inner = solveUnscaled(ps, start === undefined ? undefined : Array.from(start, (v) => v / sigma), options)
  const xDD: DDVec = { h: inner.xDD.h.map((v) => v * sigma), l: inner.xDD.l.map((v) => v * sigma) }
  const multScale = p.set === 'l2' ? 1 : sigma
  return {
    ...inner, problem: p, x: inner.x.map((v) => v * sigma), xDD,
    mult: inner.mult * multScale, multDD: [inner.multDD[0] * multScale, inner.multDD[1] * multScale],
    objective: inner.objective * sigma * sigma, inner, sigma
  }
}

const solveUnscaled = (p: RefProblem, start: ArrayLike<number> | undefined, options: ReferenceOptions): RefSolution => {
  const maxRounds = options.maxRounds ?? 4 * p.n + 20
  const attempt = (face0: RefFace, x0: ArrayLike<number> | undefined): (RefSolution & { fac: Factored }) | undefined => {
    let face = face0
    const seen = new Set<string>()
    for (let round = 1; round <= maxRounds; round++) {
      const s = solveFace(p, face, x0)
      if (s.verification.ok) return { ...s, rounds: round }
      seen.add(faceKey(face))
      let next = nextFace(s, round > 8)
      if (seen.has(faceKey(next))) next = nextFace(s, true)
      if (seen.has(faceKey(next))) return undefined
      face = next
    }
    return undefined
  }
  if (start !== undefined) {
    const r = attempt(faceOf(p, start, 1e-9, options.zeroTol ?? 0), start)
    if (r !== undefined) return r
  }
  const xpg = projectedGradient(p)
  const r = attempt(faceOf(p, xpg, 1e-7, 1e-10), xpg)
  if (r !== undefined) return r
  // where q dominates P x beyond double precision (t tiny against q/P), the linear
  // minimizer's face: the vertex (or, on l2, the point) that minimizes qᵀx
  const xl = linearMinimizer(p)
  const rl = attempt(faceOf(p, xl), xl)
  if (rl !== undefined) return rl
  throw new Error(`the reference found no verified face (${p.set}, n = ${p.n})`)
}

/** Every verified face of a small problem, by enumeration (for cross-checks). */
export const enumerateSolutions = (p: RefProblem): RefSolution[] =>
  allFaces(p).map((f) => solveFace(p, f)).filter((s) => s.verification.ok && s.x.every(Number.isFinite))

// -------------------------------------------------------------------------------------
// derivatives
// -------------------------------------------------------------------------------------

/** dx along a tangent, on the solution's face (see the module notes). */
export const jvpRef = (s: RefSolution, tan: RefTangent): Float64Array => {
  if (s.inner !== undefined) {
    const sg = s.sigma!
    const dy = jvpRef(s.inner, {
      ...(tan.q !== undefined ? { q: tan.q.map((v) => v / sg) } : {}), ...(tan.w !== undefined ? { w: tan.w } : {}),
      ...(tan.t !== undefined ? { t: tan.t / sg } : {}), ...(tan.P !== undefined ? { P: tan.P } : {})
    })
    return dy.map((v) => v * sg)
  }
  const p = s.problem, n = p.n, face = s.face, F = face.free, mF = F.length, x = s.xDD
  const fac = (s as RefSolution & { fac?: Factored }).fac ?? solveFace(p, face, s.x).fac
  // e = dq + dP x
  const e = D.zeros(n)
  if (tan.q !== undefined) e.h.set(tan.q)
  if (tan.P !== undefined) {
    const dPx = D.matVecDD(D.fromDoubles(tan.P), x, n)
    for (let i = 0; i < n; i++) D.put(e, i, D.add(D.at(e, i), D.at(dPx, i)))
  }
  const dt = tan.t ?? 0
  const dx = D.zeros(n)
  const sphere = p.set === 'l2' && face.binding
  const m = fac.m, b = D.zeros(m)
  if (p.set === 'linf') {
    for (let i = 0; i < n; i++) if (face.bound[i] !== 0) dx.h[i] = face.bound[i]! * dt
    const Pdb = D.matVecDD(pOf(p), dx, n)
    for (let r = 0; r < mF; r++) D.put(b, r, D.neg(D.add(D.at(e, F[r]!), D.at(Pdb, F[r]!))))
  } else {
    for (let r = 0; r < mF; r++) D.put(b, r, D.neg(D.at(e, F[r]!)))
  }
  if (p.set === 'l1' && face.binding) {
    let row: DD = D.dd(dt)
    if (tan.w !== undefined) {
      for (let r = 0; r < mF; r++) {
        const i = F[r]!, sw = D.dd(face.sign[i]! * tan.w[i]!)
        D.put(b, r, D.sub(D.at(b, r), D.mul(s.multDD, sw)))
        row = D.sub(row, D.mul(sw, D.at(x, i)))
      }
    }
    D.put(b, mF, row)
  } else if (p.set === 'simplex') b.h[mF] = dt
  else if (sphere) D.put(b, n, D.mul(D.dd(p.t), D.dd(dt)))
  const sol = fac.solve(b)
  for (let r = 0; r < mF; r++) D.put(dx, F[r]!, D.at(sol, r))
  return D.toDoubles(dx)
}

/** The gradients of ⟨c, x*⟩ in q, w, t and P, by the transposed system. */
export const vjpRef = (s: RefSolution, c: ArrayLike<number>): RefGradients => {
  if (s.inner !== undefined) {
    const sg = s.sigma!, g = vjpRef(s.inner, c)
    return { q: g.q, w: g.w.map((v) => v * sg), t: g.t, P: g.P.map((v) => v * sg) }
  }
  const p = s.problem, n = p.n, face = s.face, F = face.free, mF = F.length, x = s.xDD
  const fac = (s as RefSolution & { fac?: Factored }).fac ?? solveFace(p, face, s.x).fac
  const b = D.zeros(fac.m)
  for (let r = 0; r < mF; r++) b.h[r] = c[F[r]!]!
  const sol = fac.solveT(b)
  const v = D.zeros(n)
  for (let r = 0; r < mF; r++) D.put(v, F[r]!, D.at(sol, r))
  const mu: DD = fac.m > mF ? D.at(sol, mF) : [0, 0]
  const gq = Float64Array.from(D.toDoubles(v), (a) => -a)
  const gw = new Float64Array(n)
  let gt: DD = [0, 0]
  if (p.set === 'l1' && face.binding) {
    gt = mu
    for (const i of F) gw[i] = D.toNumber(D.mul(D.dd(-face.sign[i]!), D.add(D.mul(s.multDD, D.at(v, i)), D.mul(mu, D.at(x, i)))))
  } else if (p.set === 'simplex') gt = mu
  else if (p.set === 'l2' && face.binding) gt = D.mul(mu, D.dd(p.t))
  else if (p.set === 'linf') {
    const sB = D.zeros(n)
    for (let i = 0; i < n; i++) if (face.bound[i] !== 0) { sB.h[i] = face.bound[i]!; gt = D.add(gt, D.dd(face.bound[i]! * c[i]!)) }
    const PsB = D.matVecDD(pOf(p), sB, n)
    gt = D.sub(gt, D.dotDD(v, PsB))
  }
  const gP = new Float64Array(n * n)
  for (const i of F) {
    const vi = D.at(v, i)
    for (let j = 0; j < n; j++) gP[i * n + j] = -D.toNumber(D.mul(vi, D.at(x, j)))
  }
  return { q: gq, w: gw, t: D.toNumber(gt), P: gP }
}

// -------------------------------------------------------------------------------------
// an independent starting point: accelerated projected gradient with exact projections
// -------------------------------------------------------------------------------------

/** The Euclidean projection onto the set (weighted l1 and simplex by sorting breakpoints). */
export const projectRef = (p: RefProblem, y: Float64Array): Float64Array => {
  const n = p.n, t = p.t
  switch (p.set) {
    case 'linf': return y.map((v) => Math.min(t, Math.max(-t, v)))
    case 'l2': { const ny = Math.hypot(...y); return ny <= t ? Float64Array.from(y) : y.map((v) => (v / ny) * t) }
    case 'simplex': {
      const u = Float64Array.from(y).sort().reverse()
      let s = 0, theta = 0
      for (let k = 0; k < n; k++) { s += u[k]!; const th = (s - t) / (k + 1); if (k === n - 1 || u[k + 1]! <= th) { theta = th; break } }
      return y.map((v) => Math.max(v - theta, 0))
    }
    case 'l1': {
      let s = 0
      for (let i = 0; i < n; i++) s += p.w[i]! * Math.abs(y[i]!)
      if (s <= t) return Float64Array.from(y)
      // x = sign(y)·max(|y| − θw, 0) with Σ w|x| = t: breakpoints |yᵢ|/wᵢ, descending
      const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => Math.abs(y[b]!) / p.w[b]! - Math.abs(y[a]!) / p.w[a]!)
      let s1 = 0, s2 = 0, theta = 0
      for (let k = 0; k < n; k++) {
        const i = idx[k]!
        s1 += p.w[i]! * Math.abs(y[i]!); s2 += p.w[i]! * p.w[i]!
        theta = (s1 - t) / s2
        const next = k + 1 < n ? Math.abs(y[idx[k + 1]!]!) / p.w[idx[k + 1]!]! : -Infinity
        if (theta >= next) break
      }
      return y.map((v, i) => Math.sign(v) * Math.max(Math.abs(v) - theta * p.w[i]!, 0))
    }
  }
}

/** argmin { qᵀx : x in the set } (one vertex; on l2 the point −t q/‖q‖). */
export const linearMinimizer = (p: RefProblem): Float64Array => {
  const n = p.n, x = new Float64Array(n), q = p.q
  let j = 0
  switch (p.set) {
    case 'simplex':
      for (let i = 1; i < n; i++) if (q[i]! < q[j]!) j = i
      x[j] = p.t
      return x
    case 'l1':
      for (let i = 1; i < n; i++) if (Math.abs(q[i]!) / p.w[i]! > Math.abs(q[j]!) / p.w[j]!) j = i
      x[j] = (q[j]! > 0 ? -1 : 1) * (p.t / p.w[j]!)
      return x
    case 'linf':
      for (let i = 0; i < n; i++) x[i] = q[i]! > 0 ? -p.t : p.t
      return x
    case 'l2': {
      const nq = Math.hypot(...q)
      for (let i = 0; i < n; i++) x[i] = nq > 0 ? (-q[i]! / nq) * p.t : 0
      return x
    }
  }
}

/** FISTA with restart and step 1/L (L by power iteration), `iters` steps, from 0 (or the set's centre). */
export const projectedGradient = (p: RefProblem, iters = 3000): Float64Array => {
  const n = p.n, A = pOf(p)
  const Pd = Float64Array.from(A.h, (h, i) => h + A.l[i]!)
  const mv = (v: Float64Array): Float64Array => {
    const o = new Float64Array(n)
    for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += Pd[i * n + j]! * v[j]!; o[i] = s }
    return o
  }
  let v = Float64Array.from({ length: n }, (_, i) => 1 + 0.01 * i), L = 1
  for (let k = 0; k < 100; k++) { const u = mv(v); L = Math.hypot(...u) / Math.hypot(...v); const nu = Math.hypot(...u); v = u.map((a) => a / (nu || 1)) }
  L = Math.max(L * 1.05, 1e-300)
  let x = projectRef(p, new Float64Array(n).fill(p.set === 'simplex' ? p.t / n : 0)), y = Float64Array.from(x), tk = 1
  const f = (z: Float64Array): number => { const pz = mv(z); let s = 0; for (let i = 0; i < n; i++) s += z[i]! * (0.5 * pz[i]! + p.q[i]!); return s }
  let fx = f(x)
  for (let k = 0; k < iters; k++) {
    const gy = mv(y)
    const xn = projectRef(p, y.map((yi, i) => yi - (gy[i]! + p.q[i]!) / L))
    const fn = f(xn)
    if (fn > fx) { y = Float64Array.from(x); tk = 1; continue } // restart
    const tn = (1 + Math.sqrt(1 + 4 * tk * tk)) / 2
    y = xn.map((a, i) => a + ((tk - 1) / tn) * (a - x[i]!))
    x = xn; fx = fn; tk = tn
  }
  return x
}
