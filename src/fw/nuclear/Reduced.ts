/**
 * The nuclear-norm ball's problem, and its restriction to a pair of subspaces: with bases
 * U (rows × kU) and V (cols × kV) of orthonormal columns, X = U S Vᵀ has ‖X‖_* = ‖S‖_*, so
 *
 *     min { f(U S Vᵀ) : ‖S‖_* ≤ t },   f(U S Vᵀ) = ½ sᵀ H s + cᵀ s,
 *
 * with s = vec(S) (row-major, kU·kV entries), H = Kᵀ P K, c = Kᵀ q = vec(Uᵀ Q V) and K the
 * map s ↦ vec(U S Vᵀ). It is the subspace refinement of the default schedule: each step
 * adds the oracle's singular pair to the bases and solves this small problem, so every step
 * does at least as well as a Frank-Wolfe step with exact line search (that step's point
 * lies in the new subspaces).
 *
 * H is formed explicitly (kU·kV is small): H = c·I for P = c·I; for a diagonal part of P,
 * from the pairs (a, c) of columns of U in O(kU²·rows·cols/2 + kU²·kV²·cols/2); for a
 * low-rank part Z Zᵀ, from Kᵀ Z; for a dense or sparse P, from the products P K (kU·kV
 * products with P). The small problem is solved by accelerated projected gradient (FISTA
 * with gradient restarts, step 1/L with L the top eigenvalue of H by Lanczos, projections by
 * a kU × kV SVD), warm-started, to a relative reduced gap of `tolerance` (default 1e-13) or
 * `maxIterations` (default 400) steps; for P = c·I it is one projection, exact. Its result
 * need not be exact: the polish (`Manifold.ts`) finishes the point.
 *
 * @since 0.1.0
 */
import type { LinearOperator } from '../../core/LinearOperator.js'
import { applyInto, diagEntry } from '../../core/LinearOperator.js'
import { svd } from '../../core/Eigen.js'
import { topSingularPair } from '../../core/Lanczos.js'
import { simplexThreshold } from './Projection.js'
import { type Cols, assembleInto, dot, dotAt, timesCols } from './internal.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * One problem min ½ xᵀP x + qᵀx over {‖X‖_* ≤ t}, X rows × cols row-major, as the nuclear
 * solver's parts read it: P's structure (`scalar` c when P = c·I exactly, `diag` when P is
 * diagonal plus an optional low-rank part), and the row sums |P|·1 for rounding floors.
 *
 * @example
 * const pb = nuclearProblem(P, q, 3, 4, 1)
 * pb.scalar // 2 for P = 2·I
 */
export interface NuclearProblem {
  readonly rows: number
  readonly cols: number
  readonly n: number
  readonly t: number
  readonly P: LinearOperator<unknown>
  readonly q: Float64Array
  /** c when P = c·I exactly. */
  readonly scalar?: number
  /** P's diagonal part when P is diag(d) + Z Zᵀ (lowRank), else undefined. */
  readonly diag?: Float64Array
  /** P's diagonal entries (for preconditioners). */
  readonly pDiag: Float64Array
}

/**
 * The problem record for the nuclear solver.
 *
 * @example
 * nuclearProblem(lowRank(fill(6, 1), 0, new Float64Array(0)), q, 2, 3, 1).scalar // 1
 */
export const nuclearProblem = (P: LinearOperator<unknown>, q: Float64Array, rows: number, cols: number, t: number): NuclearProblem => {
  const n = rows * cols
  const pDiag = new Float64Array(n)
  for (let i = 0; i < n; i++) pDiag[i] = diagEntry(P, i)
  let scalar: number | undefined
  let diag: Float64Array | undefined
  if (P.kind === 'lowRank') {
    diag = P.diag.data
    if (P.rank === 0 || isZero(P.U)) {
      const c = diag[0]!
      if (diag.every((d) => d === c)) scalar = c
    }
  } else if (P.kind === 'dense') {
    const A = P.mat.data, c = A[0]!
    let ok = true
    for (let i = 0; i < n && ok; i++) for (let j = 0; j < n && ok; j++) ok = A[i * n + j] === (i === j ? c : 0)
    if (ok) scalar = c
  }
  return { rows, cols, n, t, P, q, pDiag, ...(scalar === undefined ? {} : { scalar }), ...(diag === undefined ? {} : { diag }) }
}

const isZero = (a: Float64Array): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false
  return true
}

/**
 * The small problem on a pair of subspaces: H (d × d, d = kU·kV, row-major) and c.
 *
 * @example
 * const red = reducedProblem(pb, U, V)
 * red.H.length === (U.k * V.k) ** 2
 */
export interface Reduced {
  readonly kU: number
  readonly kV: number
  readonly H: Float64Array
  readonly c: Float64Array
  /** c when H = c·I (P = c·I). */
  readonly scalar?: number
}

// -------------------------------------------------------------------------------------
// the reduced problem
// -------------------------------------------------------------------------------------

/** Uᵀ mat(y) V (kU × kV, row-major) for y rows × cols row-major. */
const sandwich = (y: Float64Array, m: number, p: number, U: Cols, V: Cols): Float64Array => {
  const YV = timesCols(y, m, p, V) // m × kV, columns
  const out = new Float64Array(U.k * V.k)
  for (let a = 0; a < U.k; a++) for (let b = 0; b < V.k; b++) out[a * V.k + b] = dotAt(U.data, a * m, YV.data, b * m, m)
  return out
}

/**
 * H = Kᵀ P K and c = Kᵀ q on the subspaces span U, span V (see the module notes).
 *
 * @example
 * const { H, c } = reducedProblem(pb, U, V)
 */
export const reducedProblem = (pb: NuclearProblem, U: Cols, V: Cols): Reduced => {
  const m = pb.rows, p = pb.cols, kU = U.k, kV = V.k, d = kU * kV
  const c = sandwich(pb.q, m, p, U, V)
  const H = new Float64Array(d * d)
  if (pb.scalar !== undefined) {
    for (let i = 0; i < d; i++) H[i * d + i] = pb.scalar
    return { kU, kV, H, c, scalar: pb.scalar }
  }
  const P = pb.P
  if (pb.diag !== undefined && P.kind === 'lowRank') {
    const D = pb.diag, y = new Float64Array(p), w = new Float64Array(m)
    for (let a = 0; a < kU; a++) {
      for (let a2 = a; a2 < kU; a2++) {
        for (let i = 0; i < m; i++) w[i] = U.data[a * m + i]! * U.data[a2 * m + i]!
        y.fill(0)
        for (let i = 0; i < m; i++) {
          const wi = w[i]!
          if (wi === 0) continue
          const r = i * p
          for (let j = 0; j < p; j++) y[j] = y[j]! + wi * D[r + j]!
        }
        for (let b = 0; b < kV; b++) {
          for (let b2 = 0; b2 < kV; b2++) {
            let s = 0
            const vb = b * p, vb2 = b2 * p
            for (let j = 0; j < p; j++) s += y[j]! * V.data[vb + j]! * V.data[vb2 + j]!
            const r = a * kV + b, cc = a2 * kV + b2
            H[r * d + cc] = s
            H[cc * d + r] = s
          }
        }
      }
    }
    const rank = P.rank, Z = P.U
    if (rank > 0) {
      const z = new Float64Array(m * p)
      for (let l = 0; l < rank; l++) {
        for (let i = 0; i < m * p; i++) z[i] = Z[i * rank + l]!
        const kz = sandwich(z, m, p, U, V)
        for (let r = 0; r < d; r++) {
          const kr = kz[r]!
          if (kr === 0) continue
          for (let cc = 0; cc < d; cc++) H[r * d + cc] = H[r * d + cc]! + kr * kz[cc]!
        }
      }
    }
    return { kU, kV, H, c }
  }
  // dense or sparse P: P K column by column
  const e = new Float64Array(m * p), pe = new Float64Array(m * p)
  const one = new Float64Array(1)
  for (let a = 0; a < kU; a++) {
    for (let b = 0; b < kV; b++) {
      one[0] = 1
      assembleInto({ len: m, k: 1, data: U.data.subarray(a * m, (a + 1) * m) }, one, { len: p, k: 1, data: V.data.subarray(b * p, (b + 1) * p) }, true, e)
      applyInto(P, e, pe)
      const colH = sandwich(pe, m, p, U, V)
      const cc = a * kV + b
      for (let r = 0; r < d; r++) H[r * d + cc] = colH[r]!
    }
  }
  // symmetrize (P is symmetric; rounding is not)
  for (let r = 0; r < d; r++) for (let cc = r + 1; cc < d; cc++) {
    const s = 0.5 * (H[r * d + cc]! + H[cc * d + r]!)
    H[r * d + cc] = s
    H[cc * d + r] = s
  }
  return { kU, kV, H, c }
}

// -------------------------------------------------------------------------------------
// the small solve
// -------------------------------------------------------------------------------------

/**
 * out ← the projection of Y (k1 × k2, row-major) onto {‖S‖_* ≤ t}; returns its rank.
 *
 * @example
 * projectSmallInto(y, 2, 2, 1, out)
 */
export const projectSmallInto = (y: Float64Array, k1: number, k2: number, t: number, out: Float64Array): number => {
  const { s, U, V } = svd(y, k1, k2)
  const l = s.length
  const { tau } = simplexThreshold(s, t)
  let total = 0
  for (let i = 0; i < l; i++) total += s[i]!
  out.fill(0)
  let rank = 0
  for (let a = 0; a < l; a++) {
    const f = total <= t ? s[a]! : Math.max(s[a]! - tau, 0)
    if (f === 0) continue
    rank++
    for (let i = 0; i < k1; i++) {
      const u = f * U[i * l + a]!
      if (u === 0) continue
      for (let j = 0; j < k2; j++) out[i * k2 + j] = out[i * k2 + j]! + u * V[j * l + a]!
    }
  }
  return rank
}

/** σ₁ of a small k1 × k2 matrix (0 for an empty one). */
const topSigma = (y: Float64Array, k1: number, k2: number): number => (k1 * k2 === 0 ? 0 : svd(y, k1, k2).s[0]!)

const symv = (H: Float64Array, d: number, x: Float64Array, out: Float64Array): void => {
  for (let r = 0; r < d; r++) out[r] = dotAt(H, r * d, x, 0, d)
}

/**
 * Options of {@link reducedSolve}.
 *
 * @example
 * reducedSolve(red, t, s0, { tolerance: 1e-13, maxIterations: 400 })
 */
export interface ReducedOptions {
  readonly tolerance?: number
  readonly maxIterations?: number
}

/**
 * An approximate minimizer of the small problem (see the module notes), from s0 (projected
 * onto the ball first), with its reduced gap and the steps taken.
 *
 * @example
 * const { s, gap } = reducedSolve(reducedProblem(pb, U, V), pb.t, s0)
 */
export const reducedSolve = (red: Reduced, t: number, s0: Float64Array, options: ReducedOptions = {}): { readonly s: Float64Array; readonly gap: number; readonly iterations: number } => {
  const { kU, kV, H, c } = red, d = kU * kV
  const tol = options.tolerance ?? 1e-13, maxIt = options.maxIterations ?? 400
  const s = new Float64Array(d)
  const gs = new Float64Array(d)
  const gapAt = (x: Float64Array): number => {
    symv(H, d, x, gs)
    for (let i = 0; i < d; i++) gs[i] = gs[i]! + c[i]!
    return Math.max(0, dot(gs, x) + t * topSigma(gs, kU, kV))
  }
  if (red.scalar !== undefined && red.scalar > 0) {
    const y = Float64Array.from(c, (ci) => -ci / red.scalar!)
    projectSmallInto(y, kU, kV, t, s)
    return { s, gap: gapAt(s), iterations: 1 }
  }
  const L0 = d === 0 ? 0 : topSingularPair({ rows: d, cols: d, data: H }, { tolerance: 1e-6 }).sigma
  if (!(L0 > 0)) {
    // a linear objective on the subspaces: the small oracle's vertex −t a bᵀ
    const cc = Float64Array.from(c)
    if (d > 0 && topSigma(cc, kU, kV) > 0) {
      const sv = svd(cc, kU, kV), l = sv.s.length
      for (let i = 0; i < kU; i++) for (let j = 0; j < kV; j++) s[i * kV + j] = -t * sv.U[i * l]! * sv.V[j * l]!
    } else projectSmallInto(s0, kU, kV, t, s)
    return { s, gap: gapAt(s), iterations: 1 }
  }
  const L = L0 * (1 + 1e-6)
  projectSmallInto(s0, kU, kV, t, s)
  const y = Float64Array.from(s), gy = new Float64Array(d), z = new Float64Array(d), arg = new Float64Array(d)
  let theta = 1, it = 0, gap = gapAt(s)
  const f = (x: Float64Array): number => { symv(H, d, x, gy); return 0.5 * dot(gy, x) + dot(c, x) }
  while (it < maxIt) {
    const scale = Math.max(Math.abs(f(s)), t * topSigma(c, kU, kV), 1e-300)
    if (gap <= tol * scale) break
    it++
    symv(H, d, y, gy)
    for (let i = 0; i < d; i++) arg[i] = y[i]! - (gy[i]! + c[i]!) / L
    projectSmallInto(arg, kU, kV, t, z)
    // gradient restart (O'Donoghue and Candès): momentum off when it points uphill
    let up = 0
    for (let i = 0; i < d; i++) up += (gy[i]! + c[i]!) * (z[i]! - s[i]!)
    if (up > 0) theta = 1
    const next = (1 + Math.sqrt(1 + 4 * theta * theta)) / 2
    const beta = (theta - 1) / next
    for (let i = 0; i < d; i++) { y[i] = z[i]! + beta * (z[i]! - s[i]!); s[i] = z[i]! }
    theta = next
    if (it % 5 === 0 || it === maxIt) gap = gapAt(s)
  }
  return { s, gap, iterations: it }
}
