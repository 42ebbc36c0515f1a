/**
 * The hard problems of the outside accuracy suite (test/hard-*.ts, bench/conditioning.ts),
 * seeded: P well-conditioned (PAPER.md's AᵀA + nI), ill-conditioned (Q diag(λ) Qᵀ with λ
 * log-spaced over a given condition number and Q a random orthogonal matrix),
 * rank-deficient (A Aᵀ with A an integer n × r matrix, so P is exactly PSD of rank r),
 * diagonal plus low rank (d spread over 1e-6…1) and CSR (banded, symmetric, diagonally
 * dominant with the dominance spread over 1e-6…1); and q either designed from a chosen
 * solution and multipliers (so the face and its margins are known) or random.
 *
 * Also the adapters: a problem as the library's `Problem`, as `dfw solve`'s JSON, and
 * tangents in both forms. Excluded from tap's run by package.json.
 */
import * as E from 'fp-ts/lib/Either.js'
import { unsafeDim } from '../../src/shapes/Dim.js'
import type { Vec } from '../../src/shapes/Vec.js'
import type { Mat } from '../../src/shapes/Mat.js'
import { type LinearOperator, csr, dense, lowRank } from '../../src/core/LinearOperator.js'
import { rng, type Rng } from '../../src/core/Random.js'
import type { ParamsTangent, Problem } from '../../src/fw/Problem.js'
import type { RefP, RefProblem, RefSet, RefTangent } from './ddReference.js'

export type N = 'n'
export { rng, type Rng }

// -------------------------------------------------------------------------------------
// P
// -------------------------------------------------------------------------------------

const symmetrize = (P: Float64Array, n: number): Float64Array => {
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) P[i * n + j] = P[j * n + i]!
  return P
}

/** PAPER.md's P = AᵀA + nI, A standard normal. */
export const paperP = (r: Rng, n: number): RefP => {
  const A = Float64Array.from({ length: n * n }, () => r.normal())
  const P = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0
      for (let k = 0; k < n; k++) s += A[k * n + i]! * A[k * n + j]!
      P[i * n + j] = s + (i === j ? n : 0)
    }
  }
  return { kind: 'dense', data: symmetrize(P, n) }
}

/** A random orthogonal n × n matrix (row-major): modified Gram-Schmidt, twice, on a normal matrix. */
export const randomOrthogonal = (r: Rng, n: number): Float64Array => {
  const Q = Float64Array.from({ length: n * n }, () => r.normal()) // columns are Q[·, j]
  for (let j = 0; j < n; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let d = 0
        for (let i = 0; i < n; i++) d += Q[i * n + k]! * Q[i * n + j]!
        for (let i = 0; i < n; i++) Q[i * n + j] = Q[i * n + j]! - d * Q[i * n + k]!
      }
    }
    let s = 0
    for (let i = 0; i < n; i++) s += Q[i * n + j]! ** 2
    s = Math.sqrt(s)
    for (let i = 0; i < n; i++) Q[i * n + j] = Q[i * n + j]! / s
  }
  return Q
}

/** Q diag(λ) Qᵀ with λ log-spaced from `top` down to top/cond (or the given eigenvalues). */
export const spectralP = (r: Rng, n: number, cond: number, top = 1, eigenvalues?: Float64Array): RefP => {
  const Q = randomOrthogonal(r, n)
  const lam = eigenvalues ?? Float64Array.from({ length: n }, (_, k) => top * cond ** (-(n === 1 ? 0 : k / (n - 1))))
  const P = new Float64Array(n * n)
  const row = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) row[k] = Q[i * n + k]! * lam[k]!
    for (let j = i; j < n; j++) {
      let s = 0
      for (let k = 0; k < n; k++) s += row[k]! * Q[j * n + k]!
      P[i * n + j] = s
    }
  }
  return { kind: 'dense', data: symmetrize(P, n) }
}

/** A Aᵀ with A an n × r matrix of integers in [−3, 3]: exactly PSD, rank ≤ r, every entry exact. */
export const rankDeficientP = (r: Rng, n: number, rank: number): RefP => {
  const A = Float64Array.from({ length: n * rank }, () => Math.floor(r.uniform() * 7) - 3)
  const P = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0
      for (let k = 0; k < rank; k++) s += A[i * rank + k]! * A[j * rank + k]!
      P[i * n + j] = s
    }
  }
  return { kind: 'dense', data: symmetrize(P, n) }
}

/** diag(d) + U Uᵀ, d log-spaced over [dmin, 1] in random order, U n × rank normal/√n. */
export const lowRankP = (r: Rng, n: number, rank: number, dmin = 1e-6): RefP => {
  const d = Float64Array.from({ length: n }, (_, k) => dmin ** (n === 1 ? 0 : k / (n - 1)))
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(r.uniform() * (i + 1)); const tmp = d[i]!; d[i] = d[j]!; d[j] = tmp }
  const U = Float64Array.from({ length: n * rank }, () => r.normal() / Math.sqrt(n))
  return { kind: 'lowRank', diag: d, rank, U }
}

/**
 * A banded symmetric CSR matrix (half-bandwidth `band`, off-diagonals normal), diagonally
 * dominant by δᵢ log-spaced over [dmin, 1] in random order: Pᵢᵢ = Σⱼ |Pᵢⱼ| + δᵢ. With
 * `extra` random symmetric entries off the band as well.
 */
export const csrP = (r: Rng, n: number, band: number, dmin = 1e-6, extra = 0): RefP => {
  const rows: Array<Map<number, number>> = Array.from({ length: n }, () => new Map())
  const put = (i: number, j: number, v: number): void => { rows[i]!.set(j, v); rows[j]!.set(i, v) }
  for (let i = 0; i < n; i++) for (let j = i + 1; j <= Math.min(n - 1, i + band); j++) put(i, j, r.normal())
  for (let e = 0; e < extra; e++) {
    const i = Math.floor(r.uniform() * n), j = Math.floor(r.uniform() * n)
    if (i !== j) put(i, j, r.normal())
  }
  const delta = Float64Array.from({ length: n }, (_, k) => dmin ** (n === 1 ? 0 : k / (n - 1)))
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(r.uniform() * (i + 1)); const tmp = delta[i]!; delta[i] = delta[j]!; delta[j] = tmp }
  for (let i = 0; i < n; i++) {
    let s = 0
    for (const [j, v] of rows[i]!) if (j !== i) s += Math.abs(v)
    rows[i]!.set(i, s + delta[i]!)
  }
  const rowPtr = new Int32Array(n + 1), colIdx: number[] = [], values: number[] = []
  for (let i = 0; i < n; i++) {
    for (const j of [...rows[i]!.keys()].sort((a, b) => a - b)) { colIdx.push(j); values.push(rows[i]!.get(j)!) }
    rowPtr[i + 1] = colIdx.length
  }
  return { kind: 'csr', rowPtr, colIdx: Int32Array.from(colIdx), values: Float64Array.from(values) }
}

/** P scaled by s (every stored number). */
export const scaleP = (P: RefP, s: number): RefP => {
  switch (P.kind) {
    case 'dense': return { kind: 'dense', data: P.data.map((v) => v * s) }
    case 'lowRank': { const u = Math.sqrt(s); return { kind: 'lowRank', diag: P.diag.map((v) => v * s), rank: P.rank, U: P.U.map((v) => v * u) } }
    case 'csr': return { kind: 'csr', rowPtr: P.rowPtr, colIdx: P.colIdx, values: P.values.map((v) => v * s) }
  }
}

/** P x in doubles (for designing q). */
export const applyP = (P: RefP, x: Float64Array): Float64Array => {
  const n = x.length, y = new Float64Array(n)
  switch (P.kind) {
    case 'dense':
      for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += P.data[i * n + j]! * x[j]!; y[i] = s }
      return y
    case 'lowRank': {
      const r = P.rank, ux = new Float64Array(r)
      for (let i = 0; i < n; i++) for (let k = 0; k < r; k++) ux[k] = ux[k]! + P.U[i * r + k]! * x[i]!
      for (let i = 0; i < n; i++) { let s = P.diag[i]! * x[i]!; for (let k = 0; k < r; k++) s += P.U[i * r + k]! * ux[k]!; y[i] = s }
      return y
    }
    case 'csr':
      for (let i = 0; i < n; i++) { let s = 0; for (let k = P.rowPtr[i]!; k < P.rowPtr[i + 1]!; k++) s += P.values[k]! * x[P.colIdx[k]!]!; y[i] = s }
      return y
  }
}

// -------------------------------------------------------------------------------------
// q: designed from a solution and its multipliers, or random
// -------------------------------------------------------------------------------------

/** How to design a problem's solution. */
export interface Design {
  /** Binding (the l1 row, l∞ bounds, a simplex face smaller than all, the sphere) or not. */
  readonly binding: boolean
  /** The number of free coordinates (default: a third on l1, half on l∞ and the simplex). */
  readonly free?: number
  /** The multipliers' scale relative to ‖P x*‖∞ (default 1). */
  readonly multiplier?: number
}

const shuffle = (r: Rng, n: number): number[] => {
  const a = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(r.uniform() * (i + 1)); const tmp = a[i]!; a[i] = a[j]!; a[j] = tmp }
  return a
}
const between = (r: Rng, a: number, b: number): number => a + (b - a) * r.uniform()

/**
 * A problem whose minimizer x* and multipliers are chosen, with q = g* − P x* (so the
 * face and its margins, about 0.1 relative or more, are known; rounding in q moves the
 * exact solution slightly, which the reference accounts for by solving from q as given).
 */
export const designed = (r: Rng, set: RefSet, P: RefP, n: number, t: number, design: Design, w?: Float64Array): RefProblem => {
  const ww = w ?? Float64Array.from({ length: n }, () => 0.5 + r.uniform())
  const x = new Float64Array(n), gStar = new Float64Array(n)
  const order = shuffle(r, n)
  const k = Math.max(1, Math.min(n, design.free ?? (set === 'l1' ? Math.ceil(n / 3) : Math.ceil(n / 2))))
  // the solution first, then the gradient's scale from P x*
  switch (set) {
    case 'l1': {
      const S = design.binding ? order.slice(0, k) : order
      for (const i of S) x[i] = (r.uniform() < 0.5 ? -1 : 1) * between(r, 0.5, 1.5) / ww[i]!
      let s = 0
      for (const i of S) s += ww[i]! * Math.abs(x[i]!)
      const target = design.binding ? t : 0.5 * t
      for (const i of S) x[i] = x[i]! * (target / s)
      break
    }
    case 'linf':
      for (let a = 0; a < n; a++) {
        const i = order[a]!
        x[i] = design.binding && a >= k ? (r.uniform() < 0.5 ? -t : t) : between(r, -0.8, 0.8) * t
      }
      break
    case 'simplex': {
      const S = design.binding ? order.slice(0, k) : order
      let s = 0
      for (const i of S) { x[i] = between(r, 0.5, 1.5); s += x[i]! }
      for (const i of S) x[i] = (x[i]! / s) * t
      break
    }
    case 'l2': {
      let s = 0
      for (let i = 0; i < n; i++) { x[i] = r.normal(); s += x[i]! ** 2 }
      const target = design.binding ? t : 0.5 * t
      for (let i = 0; i < n; i++) x[i] = (x[i]! / Math.sqrt(s)) * target
      break
    }
  }
  const px = applyP(P, x)
  let scale = 0
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(px[i]!))
  if (!(scale > 0)) scale = 1
  const mult = scale * (design.multiplier ?? 1)
  switch (set) {
    case 'l1':
      if (design.binding) {
        const lam = mult * between(r, 0.5, 1.5)
        for (let i = 0; i < n; i++) gStar[i] = x[i] !== 0 ? -lam * ww[i]! * Math.sign(x[i]!) : lam * ww[i]! * between(r, -0.9, 0.9)
      }
      break
    case 'linf':
      for (let i = 0; i < n; i++) if (Math.abs(x[i]!) === t) gStar[i] = -Math.sign(x[i]!) * mult * between(r, 0.5, 1.5)
      break
    case 'simplex': {
      const nu = mult * r.normal()
      for (let i = 0; i < n; i++) gStar[i] = x[i]! > 0 ? -nu : -nu + mult * between(r, 0.5, 1.5)
      break
    }
    case 'l2':
      // λ has P's units: (P + λI) x* + q = 0, so it is measured against ‖P x*‖∞ / ‖x*‖∞
      if (design.binding) {
        const lam = (mult / Math.max(...Array.from(x, Math.abs))) * between(r, 0.5, 1.5)
        for (let i = 0; i < n; i++) gStar[i] = -lam * x[i]!
      }
      break
  }
  const q = Float64Array.from(gStar, (g, i) => g - px[i]!)
  return { n, set, P, q, w: ww, t }
}

/** A problem with q standard normal (times `qScale`) and the given t: the face is whatever it is. */
export const randomQ = (r: Rng, set: RefSet, P: RefP, n: number, t: number, qScale = 1, w?: Float64Array): RefProblem => ({
  n, set, P, t,
  q: Float64Array.from({ length: n }, () => qScale * r.normal()),
  w: w ?? Float64Array.from({ length: n }, () => 0.5 + r.uniform())
})

// -------------------------------------------------------------------------------------
// tangents
// -------------------------------------------------------------------------------------

/** The largest |entry| of P's dense form (for scaling tangents). */
export const pScale = (P: RefP): number => {
  switch (P.kind) {
    case 'dense': return P.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
    case 'lowRank': {
      let m = P.diag.reduce((a, v) => Math.max(a, Math.abs(v)), 0)
      let u = 0
      for (let i = 0; i < P.diag.length; i++) { let s = 0; for (let k = 0; k < P.rank; k++) s += P.U[i * P.rank + k]! ** 2; u = Math.max(u, s) }
      m = Math.max(m, u)
      return m
    }
    case 'csr': return P.values.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
  }
}

/** A random tangent of (q, w, t, P): each part scaled like its parameter; w only on l1, P only when dense. */
export const randomTangent = (r: Rng, p: RefProblem): RefTangent => {
  const n = p.n
  const qs = Math.max(p.q.reduce((m, v) => Math.max(m, Math.abs(v)), 0), 1e-300)
  const ps = Math.max(pScale(p.P), 1e-300)
  return {
    q: Float64Array.from({ length: n }, () => qs * r.normal()),
    ...(p.set === 'l1' ? { w: Float64Array.from(p.w, (wi) => wi * r.normal()) } : {}),
    t: p.t * r.normal(),
    ...(p.P.kind === 'dense' ? { P: Float64Array.from({ length: n * n }, () => ps * r.normal()) } : {})
  }
}

// -------------------------------------------------------------------------------------
// adapters
// -------------------------------------------------------------------------------------

export const vec = (data: ArrayLike<number>): Vec<N> => ({ dim: unsafeDim<N>(data.length), data: Float64Array.from(data) })
export const mat = (n: number, data: ArrayLike<number>): Mat<N, N> => ({ rows: unsafeDim<N>(n), cols: unsafeDim<N>(n), data: Float64Array.from(data) })

/** P as the library's operator. */
export const libOperator = (P: RefP, n: number): LinearOperator<N> => {
  switch (P.kind) {
    case 'dense': return dense(mat(n, P.data))
    case 'lowRank': return lowRank(vec(P.diag), P.rank, Float64Array.from(P.U))
    case 'csr': {
      const e = csr(unsafeDim<N>(n), P.rowPtr, P.colIdx, P.values)
      if (E.isLeft(e)) throw new Error(`bad CSR: ${e.left.message}`)
      return e.right
    }
  }
}

/** The library's problem (w only on l1, where it belongs). */
export const libProblem = (p: RefProblem): Problem<N> => ({
  P: libOperator(p.P, p.n), q: vec(p.q), t: p.t, set: p.set, ...(p.set === 'l1' ? { w: vec(p.w) } : {})
})

/** A tangent as the library's. */
export const libTangent = (p: RefProblem, tan: RefTangent): ParamsTangent<N> => ({
  ...(tan.q !== undefined ? { q: vec(tan.q) } : {}),
  ...(tan.w !== undefined ? { w: vec(tan.w) } : {}),
  ...(tan.t !== undefined ? { t: tan.t } : {}),
  ...(tan.P !== undefined ? { P: mat(p.n, tan.P) } : {})
})

const rowsOf = (n: number, a: ArrayLike<number>): number[][] => Array.from({ length: n }, (_, i) => Array.from(a).slice(i * n, (i + 1) * n))

/** P as `dfw solve` reads it. */
export const jsonP = (P: RefP, n: number): unknown => {
  switch (P.kind) {
    case 'dense': return rowsOf(n, P.data)
    case 'lowRank': return { diag: Array.from(P.diag), U: Array.from({ length: n }, (_, i) => Array.from(P.U.subarray(i * P.rank, (i + 1) * P.rank))) }
    case 'csr': return { csr: { n, rowPtr: Array.from(P.rowPtr), colIdx: Array.from(P.colIdx), values: Array.from(P.values) } }
  }
}

/** The problem as `dfw solve`'s JSON, with a cotangent and a tangent when given. */
export const jsonProblem = (p: RefProblem, extra: { readonly cotangent?: ArrayLike<number>; readonly tangent?: RefTangent } = {}): Record<string, unknown> => {
  const tan = extra.tangent
  return {
    P: jsonP(p.P, p.n), q: Array.from(p.q), t: p.t, set: p.set,
    ...(p.set === 'l1' ? { w: Array.from(p.w) } : {}),
    ...(extra.cotangent !== undefined ? { cotangent: Array.from(extra.cotangent) } : {}),
    ...(tan !== undefined ? {
      tangent: {
        ...(tan.q !== undefined ? { q: Array.from(tan.q) } : {}),
        ...(tan.w !== undefined ? { w: Array.from(tan.w) } : {}),
        ...(tan.t !== undefined ? { t: tan.t } : {}),
        ...(tan.P !== undefined ? { P: rowsOf(p.n, tan.P) } : {})
      }
    } : {})
  }
}

/**
 * The size of the unconstrained minimizer −P⁻¹q in the set's norm (doubles, by Gaussian
 * elimination; P singular: the size of a least-change solution is not needed, Infinity).
 * Random-q problems take t as a fraction of it, so that the constraint binds with a
 * solution of many nonzeros.
 */
export const unconstrainedSize = (p: { readonly n: number; readonly set: string; readonly P: RefP; readonly q: Float64Array; readonly w: Float64Array }): number => {
  const n = p.n
  const A = new Float64Array(n * n)
  for (let j = 0; j < n; j++) { const e = new Float64Array(n); e[j] = 1; const col = applyP(p.P, e); for (let i = 0; i < n; i++) A[i * n + j] = col[i]! }
  const b = Float64Array.from(p.q, (v) => -v)
  for (let c = 0; c < n; c++) {
    let piv = c
    for (let i = c + 1; i < n; i++) if (Math.abs(A[i * n + c]!) > Math.abs(A[piv * n + c]!)) piv = i
    if (A[piv * n + c] === 0) return Infinity
    if (piv !== c) { for (let j = 0; j < n; j++) { const tmp = A[c * n + j]!; A[c * n + j] = A[piv * n + j]!; A[piv * n + j] = tmp }; const tb = b[c]!; b[c] = b[piv]!; b[piv] = tb }
    for (let i = c + 1; i < n; i++) {
      const f = A[i * n + c]! / A[c * n + c]!
      if (f === 0) continue
      for (let j = c; j < n; j++) A[i * n + j] = A[i * n + j]! - f * A[c * n + j]!
      b[i] = b[i]! - f * b[c]!
    }
  }
  const x = new Float64Array(n)
  for (let i = n - 1; i >= 0; i--) { let s = b[i]!; for (let j = i + 1; j < n; j++) s -= A[i * n + j]! * x[j]!; x[i] = s / A[i * n + i]! }
  switch (p.set) {
    case 'l1': return x.reduce((s, v, i) => s + p.w[i]! * Math.abs(v), 0)
    case 'linf': return x.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
    case 'simplex': return x.reduce((s, v) => s + Math.abs(v), 0)
    default: return Math.hypot(...x)
  }
}

/** A random-q problem with t = `fraction` of the unconstrained minimizer's size in the set's norm. */
export const randomQBinding = (r: Rng, set: RefSet, P: RefP, n: number, fraction: number, w?: Float64Array): RefProblem => {
  const p = randomQ(r, set, P, n, 1, 1, w)
  const s = unconstrainedSize(p)
  return { ...p, t: Number.isFinite(s) && s > 0 ? fraction * s : 1 }
}

// -------------------------------------------------------------------------------------
// degenerate points, built in exact arithmetic
// -------------------------------------------------------------------------------------

/**
 * An integer positive definite P = A Aᵀ + n I (A integers in [−2, 2], n × n): every entry
 * and every product with a dyadic vector of small denominators is exact in doubles, so a
 * designed q = g* − P x* is exact and a constructed kink is a kink in exact arithmetic.
 */
export const integerP = (r: Rng, n: number): RefP => {
  const A = Float64Array.from({ length: n * n }, () => Math.floor(r.uniform() * 5) - 2)
  const P = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = i === j ? n : 0
      for (let k = 0; k < n; k++) s += A[i * n + k]! * A[j * n + k]!
      P[i * n + j] = s
    }
  }
  return { kind: 'dense', data: symmetrize(P, n) }
}

const dyadic = (r: Rng, lo: number, hi: number): number => Math.round(between(r, lo, hi) * 64) / 64

/** The kinds of constructed degenerate point. */
export type Kink =
  /** l1, binding: a coordinate at 0 whose multiplier is 0 (|gᵢ| = λwᵢ exactly). */
  | 'l1-zero'
  /** l1: the unconstrained minimizer exactly on the boundary (λ = 0, Σ wᵢ|xᵢ| = t). */
  | 'l1-lambda0'
  /** l∞: a coordinate at ±t with a zero multiplier (gᵢ = 0). */
  | 'linf-bound'
  /** simplex: a coordinate at 0 with gᵢ + ν = 0. */
  | 'simplex-zero'
  /** l2: the unconstrained minimizer exactly on the sphere (λ = 0). */
  | 'l2-lambda0'

/**
 * A problem with an exact degenerate point of the given kind: P from {@link integerP},
 * x* and the multipliers dyadic, w = 1, so that q = g* − P x* and t are exact.
 */
export const kinkProblem = (r: Rng, kind: Kink, n: number): RefProblem => {
  const P = integerP(r, n)
  const x = new Float64Array(n), g = new Float64Array(n), w = new Float64Array(n).fill(1)
  const order = shuffle(r, n)
  let t = 0
  let set: RefSet
  switch (kind) {
    case 'l1-zero': {
      set = 'l1'
      const k = Math.max(1, Math.floor(n / 3)), lam = 2
      for (let a = 0; a < n; a++) {
        const i = order[a]!
        if (a < k) { x[i] = (r.uniform() < 0.5 ? -1 : 1) * dyadic(r, 0.5, 1.5); g[i] = -lam * Math.sign(x[i]!); t += Math.abs(x[i]!) }
        else g[i] = a === k ? lam : lam * dyadic(r, -0.8, 0.8) // order[k]: the kink
      }
      break
    }
    case 'l1-lambda0':
      set = 'l1'
      for (let i = 0; i < n; i++) { x[i] = (r.uniform() < 0.5 ? -1 : 1) * dyadic(r, 0.5, 1.5); t += Math.abs(x[i]!) }
      break
    case 'linf-bound': {
      set = 'linf'
      t = 1
      const k = Math.ceil(n / 2)
      for (let a = 0; a < n; a++) {
        const i = order[a]!
        if (a < k) x[i] = dyadic(r, -0.75, 0.75)
        else { x[i] = r.uniform() < 0.5 ? -1 : 1; g[i] = a === k ? 0 : -x[i]! * dyadic(r, 0.5, 1.5) } // order[k]: at ±t with g = 0
      }
      break
    }
    case 'simplex-zero': {
      set = 'simplex'
      const k = Math.ceil(n / 2), nu = 1
      for (let a = 0; a < n; a++) {
        const i = order[a]!
        if (a < k) { x[i] = dyadic(r, 0.5, 1.5); t += x[i]!; g[i] = -nu } else g[i] = a === k ? -nu : -nu + dyadic(r, 0.5, 1.5)
      }
      break
    }
    case 'l2-lambda0':
      set = 'l2'
      // a Pythagorean pair: ‖x‖ = 5/8 exactly
      x[order[0]!] = 3 / 8
      x[order[1 % n]!] = n > 1 ? 4 / 8 : 5 / 8
      t = 5 / 8
      break
  }
  const px = applyP(P, x)
  return { n, set, P, q: Float64Array.from(g, (gi, i) => gi - px[i]!), w, t }
}

/** P = 11ᵀ on the l2 ball with q = −a·1, a < √n·t: the minimizers {Σx = a, ‖x‖ ≤ t} are not unique. */
export const onesOnBall = (n: number, a = 1, t = 1): RefProblem => ({
  n, set: 'l2', P: { kind: 'dense', data: new Float64Array(n * n).fill(1) }, q: new Float64Array(n).fill(-a), w: new Float64Array(n).fill(1), t
})
