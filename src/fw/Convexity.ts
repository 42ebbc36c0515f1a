/**
 * Whether P is positive semidefinite, as the layer needs to know it: a `converged` status
 * claims that the gap bounds f(x) − f*, which holds only for a convex problem, so the
 * layer certifies P before it says so (CONTRACT "Errors": it never reports `converged`
 * with a certificate that does not hold for the convex problem).
 *
 * - {@link nonConvexEvidence}: cheap evidence, one pass over the stored entries (as a
 *   product costs): a negative diagonal entry, or for dense and CSR P a 2 × 2 principal
 *   minor PᵢᵢPⱼⱼ − Pᵢⱼ² < 0.
 * - {@link certifyConvex}: the evidence above, then a pivoted Cholesky factorization of P
 *   (dense P, and CSR P densified, for n ≤ {@link CHOLESKY_LIMIT}), d ≥ 0 for diagonal plus
 *   low rank (then P is PSD), and otherwise a Lanczos estimate of P's smallest eigenvalue
 *   (60 steps; not a proof — a negative eigenvalue below 1e-9 of ‖P‖ or one Lanczos
 *   misses is left to the solver's own line searches and face factorizations). The verdict
 *   is kept per operator object with a fingerprint of its entries (a 64-bit hash, or for
 *   small matrices a copy), so that a training loop that reuses P pays one pass per call,
 *   and a matrix rewritten between calls is certified again.
 *
 * Tolerances: a diagonal entry counts as negative below −1e-12·max|Pᵢᵢ|, a minor below
 * −1e-10·PᵢᵢPⱼⱼ − 1e-24·max|Pᵢᵢ|², a Cholesky pivot below −max(1e-13, 20nε)·max|Pᵢⱼ|, a
 * Lanczos eigenvalue below −1e-9·(its bound on ‖P‖), so that rounding of a PSD matrix's
 * entries (a Gram matrix computed in double) is never refused. Every reported direction d
 * is a unit vector whose dᵀPd < 0 was computed from P itself.
 *
 * @since 0.1.0
 */
import type { LinearOperator } from '../core/LinearOperator.js'
import { applyInto, diagEntry, toDense } from '../core/LinearOperator.js'
import { cholesky } from '../core/Cholesky.js'
import { topSingularPair } from '../core/Lanczos.js'
import { callMemo } from './CallMemo.js'

/**
 * Evidence that P curves downwards: a unit direction and its curvature dᵀPd < 0.
 *
 * @example
 * const e: NonConvexity = { direction: Float64Array.of(1, 0), curvature: -1 }
 */
export interface NonConvexity {
  readonly direction: Float64Array
  readonly curvature: number
}

/**
 * A unit direction d with dᵀPd < 0 found from the diagonal or a 2 × 2 minor, or undefined.
 *
 * @example
 * nonConvexEvidence(dense(matrix([[-1, 0], [0, 1]]))) // { direction: e₀, curvature: −1 }
 */
export const nonConvexEvidence = <N>(P: LinearOperator<N>): NonConvexity | undefined => {
  const n = P.dim as number
  const d = new Float64Array(n)
  let dmax = 0
  for (let i = 0; i < n; i++) { d[i] = diagEntry(P, i); dmax = Math.max(dmax, Math.abs(d[i]!)) }
  for (let i = 0; i < n; i++) {
    if (d[i]! < -1e-12 * dmax) {
      const dir = new Float64Array(n)
      dir[i] = 1
      return { direction: dir, curvature: d[i]! }
    }
  }
  const minor = (i: number, j: number, pij: number): NonConvexity | undefined => {
    const a = Math.max(d[i]!, 0), b = Math.max(d[j]!, 0)
    if (!(pij * pij > a * b * (1 + 1e-10) + 1e-24 * dmax * dmax)) return undefined
    // the eigenvector of [[a, p], [p, b]] for its smaller eigenvalue
    const h = 0.5 * (a - b), r = Math.hypot(h, pij), lam = 0.5 * (a + b) - r
    if (!(lam < 0)) return undefined
    let u = -pij, v = h + r
    if (Math.abs(u) + Math.abs(v) === 0) { u = h - r; v = pij }
    const s = Math.hypot(u, v)
    const dir = new Float64Array(n)
    dir[i] = u / s
    dir[j] = v / s
    return { direction: dir, curvature: lam }
  }
  if (P.kind === 'dense') {
    const A = P.mat.data
    for (let i = 0; i < n; i++) {
      const r = i * n
      for (let j = i + 1; j < n; j++) {
        const e = minor(i, j, A[r + j]!)
        if (e !== undefined) return e
      }
    }
  } else if (P.kind === 'csr') {
    for (let i = 0; i < n; i++) {
      for (let k = P.rowPtr[i]!; k < P.rowPtr[i + 1]!; k++) {
        const j = P.colIdx[k]!
        if (j === i) continue
        const e = minor(i, j, P.values[k]!)
        if (e !== undefined) return e
      }
    }
  }
  return undefined
}

/**
 * A unit coordinate direction eᵢ with Pᵢᵢ < −1e-12·max|Pⱼⱼ|, or undefined: the O(n) part of
 * {@link nonConvexEvidence}, cheap enough to run before every solve.
 *
 * @example
 * negativeDiagonal(P) // { direction: eᵢ, curvature: Pᵢᵢ }
 */
export const negativeDiagonal = <N>(P: LinearOperator<N>): NonConvexity | undefined => {
  const n = P.dim as number
  let dmax = 0, worst = 0, at = -1
  for (let i = 0; i < n; i++) { const d = diagEntry(P, i); dmax = Math.max(dmax, Math.abs(d)); if (d < worst) { worst = d; at = i } }
  if (at < 0 || !(worst < -1e-12 * dmax)) return undefined
  const dir = new Float64Array(n)
  dir[at] = 1
  return { direction: dir, curvature: worst }
}

// -------------------------------------------------------------------------------------
// certification
// -------------------------------------------------------------------------------------

/**
 * The largest n at which dense (and densified CSR) P is certified by a Cholesky
 * factorization (about 0.2 s at n = 1000, 1 s at 1500); above it, by a Lanczos estimate.
 *
 * @example
 * n <= CHOLESKY_LIMIT // certified exactly
 */
export const CHOLESKY_LIMIT = 1500

const curvatureOf = <N>(P: LinearOperator<N>, d: Float64Array): number => {
  const n = d.length, pd = new Float64Array(n)
  applyInto(P, d, pd)
  let s = 0
  for (let i = 0; i < n; i++) s += d[i]! * pd[i]!
  return s
}

/** A 64-bit fingerprint of the operator's entries (two 32-bit lanes over their bit patterns). */
const fingerprint = <N>(P: LinearOperator<N>): string => {
  const arrays: ArrayLike<number>[] = P.kind === 'dense' ? [P.mat.data] : P.kind === 'lowRank' ? [P.diag.data, P.U] : [P.values, P.rowPtr, P.colIdx]
  let h1 = 0x811c9dc5 | 0, h2 = 0x9e3779b9 | 0
  for (const a of arrays) {
    const u = a instanceof Float64Array ? new Uint32Array(a.buffer, a.byteOffset, a.length * 2) : Uint32Array.from(a as ArrayLike<number>)
    for (let k = 0; k < u.length; k++) {
      const v = u[k]!
      h1 = Math.imul(h1 ^ v, 0x01000193)
      h2 = Math.imul(h2 + v + (h2 << 6) + (h2 >>> 2), 0x85ebca6b) ^ (h2 >>> 13)
    }
    h1 = Math.imul(h1 ^ a.length, 0x01000193)
  }
  return `${P.kind}:${P.dim as number}:${(h1 >>> 0).toString(16)}:${(h2 >>> 0).toString(16)}`
}

const verdicts = new WeakMap<object, { readonly key: string; readonly copy?: Float64Array; readonly result: NonConvexity | undefined }>()

const lanczosMin = <N>(P: LinearOperator<N>): NonConvexity | undefined => {
  const n = P.dim as number
  // c ≥ λmax(P) by Gershgorin's bound on |P|: then λmin(P) = c − σ₁(cI − P)
  let c = 0
  if (P.kind === 'lowRank') {
    const r = P.rank, U = P.U, cs = new Float64Array(r)
    for (let j = 0; j < n; j++) for (let k = 0; k < r; k++) cs[k] = cs[k]! + Math.abs(U[j * r + k]!)
    for (let i = 0; i < n; i++) { let s = Math.abs(P.diag.data[i]!); for (let k = 0; k < r; k++) s += Math.abs(U[i * r + k]!) * cs[k]!; c = Math.max(c, s) }
  } else if (P.kind === 'csr') {
    for (let i = 0; i < n; i++) { let s = 0; for (let k = P.rowPtr[i]!; k < P.rowPtr[i + 1]!; k++) s += Math.abs(P.values[k]!); c = Math.max(c, s) }
  } else {
    const A = P.mat.data
    for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += Math.abs(A[i * n + j]!); c = Math.max(c, s) }
  }
  if (c === 0) return undefined
  const tmp = new Float64Array(n)
  const shifted = (v: Float64Array, out: Float64Array): void => {
    applyInto(P, v, tmp)
    for (let i = 0; i < n; i++) out[i] = c * v[i]! - tmp[i]!
  }
  const r = topSingularPair({ rows: n, cols: n, apply: shifted, applyT: shifted }, { tolerance: 1e-10, maxIterations: 60 })
  const lam = c - r.sigma
  if (!(lam < -1e-9 * c)) return undefined
  const d = r.v, curv = curvatureOf(P, d)
  return curv < 0 ? { direction: Float64Array.from(d), curvature: curv } : undefined
}

const decide = <N>(P: LinearOperator<N>): NonConvexity | undefined => {
  const quick = nonConvexEvidence(P)
  if (quick !== undefined) return quick
  const n = P.dim as number
  if (P.kind === 'lowRank') {
    let neg = false
    for (let i = 0; i < n; i++) if (P.diag.data[i]! < 0) { neg = true; break }
    if (!neg) return undefined // diag(d ≥ 0) + U Uᵀ is PSD
  }
  if (n <= CHOLESKY_LIMIT && P.kind !== 'lowRank') {
    const A = P.kind === 'dense' ? P.mat.data : toDense(P).data
    const f = cholesky(A, n)
    if (f.negative === undefined) return undefined
    const d = f.negative.direction, curv = curvatureOf(P, d)
    return curv < 0 ? { direction: Float64Array.from(d), curvature: curv } : undefined
  }
  return lanczosMin(P)
}

/**
 * Evidence that P is not positive semidefinite, or undefined when P is certified (see the
 * module notes for what is a proof and what an estimate). Cached per operator object,
 * checked against a fingerprint of its entries on every call.
 *
 * @example
 * const e = certifyConvex(theta.P)
 * if (e !== undefined) throw nonPsdError(e.direction, e.curvature)
 */
export const certifyConvex = <N>(P: LinearOperator<N>): NonConvexity | undefined =>
  // within one call (a batch's instances share P) the fingerprint is taken once
  callMemo(P, 'convex', () => ({ v: certifyConvexNow(P) })).v

const certifyConvexNow = <N>(P: LinearOperator<N>): NonConvexity | undefined => {
  const small = P.kind === 'dense' && P.mat.data.length <= 65536
  const key = small ? `${P.kind}:${P.dim as number}` : fingerprint(P)
  const c = verdicts.get(P)
  if (c !== undefined && c.key === key) {
    if (!small) return c.result
    const a = (P as { mat: { data: Float64Array } }).mat.data, b = c.copy!
    let same = a.length === b.length
    for (let k = 0; same && k < a.length; k++) same = Object.is(a[k], b[k])
    if (same) return c.result
  }
  const result = decide(P)
  verdicts.set(P, { key, result, ...(small ? { copy: Float64Array.from((P as { mat: { data: Float64Array } }).mat.data) } : {}) })
  return result
}
