/**
 * Independent references for the capped simplex, the K-sparse polytope and the Birkhoff
 * polytope (test/sets-capped.ts, test/sets-ksparse.ts, test/sets-birkhoff.ts): brute force
 * over the faces of tiny problems (every assignment of coordinate states, each face's KKT
 * system solved densely here, the feasible stationary point of least objective kept),
 * oracles by full sorting and by enumerating permutations, PSD generators (well- and
 * ill-conditioned, rank-deficient), and problem builders for the layer. Nothing here calls
 * the solver it checks. Excluded from tap's run by package.json.
 */
import { unsafeDim } from '../../src/shapes/Dim.js'
import type { Vec } from '../../src/shapes/Vec.js'
import type { Mat } from '../../src/shapes/Mat.js'
import { dense } from '../../src/core/LinearOperator.js'
import type { Rng } from '../../src/core/Random.js'
import type { Problem, SetObject } from '../../src/fw/Problem.js'

export type N = 'n'

export const vec = (data: ArrayLike<number>): Vec<N> => ({ dim: unsafeDim<N>(data.length), data: Float64Array.from(data) })
export const matOf = (n: number, data: ArrayLike<number>): Mat<N, N> => ({ rows: unsafeDim<N>(n), cols: unsafeDim<N>(n), data: Float64Array.from(data) })

/** A problem as plain arrays: P row-major n×n. */
export interface Qp {
  readonly n: number
  readonly P: readonly number[]
  readonly q: readonly number[]
}

export const problemOf = (p: Qp, set: SetObject<N>, t?: number): Problem<N> =>
  ({ P: dense(matOf(p.n, p.P)), q: vec(p.q), ...(t === undefined ? {} : { t }), set })

export const objective = (p: Qp, x: ArrayLike<number>): number => {
  let f = 0
  for (let i = 0; i < p.n; i++) {
    let s = 0
    for (let j = 0; j < p.n; j++) s += p.P[i * p.n + j]! * x[j]!
    f += x[i]! * (0.5 * s + p.q[i]!)
  }
  return f
}

export const gradient = (p: Qp, x: ArrayLike<number>): number[] =>
  Array.from({ length: p.n }, (_, i) => { let s = p.q[i]!; for (let j = 0; j < p.n; j++) s += p.P[i * p.n + j]! * x[j]!; return s })

export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s }
export const maxAbs = (a: ArrayLike<number>): number => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!)); return m }
export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!)); return m }

// -------------------------------------------------------------------------------------
// PSD matrices
// -------------------------------------------------------------------------------------

/** A random orthogonal n×n matrix (Gram–Schmidt, twice, on normal columns), row-major. */
export const orthogonal = (r: Rng, n: number): number[] => {
  const Q = Array.from({ length: n * n }, () => r.normal())
  for (let c = 0; c < n; c++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < c; p++) {
        let s = 0
        for (let i = 0; i < n; i++) s += Q[i * n + c]! * Q[i * n + p]!
        for (let i = 0; i < n; i++) Q[i * n + c] = Q[i * n + c]! - s * Q[i * n + p]!
      }
    }
    let s = 0
    for (let i = 0; i < n; i++) s += Q[i * n + c]! ** 2
    s = Math.sqrt(s)
    for (let i = 0; i < n; i++) Q[i * n + c] = Q[i * n + c]! / s
  }
  return Q
}

/** Q diag(λ) Qᵀ, symmetrised exactly. */
export const withSpectrum = (r: Rng, lambda: readonly number[]): number[] => {
  const n = lambda.length, Q = orthogonal(r, n), P = new Array<number>(n * n).fill(0)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0
      for (let k = 0; k < n; k++) s += Q[i * n + k]! * lambda[k]! * Q[j * n + k]!
      P[i * n + j] = s
      P[j * n + i] = s
    }
  }
  return P
}

/**
 * PSD matrices: `well` (eigenvalues in [0.5, 2]), `ill` (eigenvalues 10^0 … 10^−c,
 * condition number 10^c), `rank` (rank r: r eigenvalues in [0.5, 2], the rest 0).
 */
export const psd = (r: Rng, n: number, kind: 'well' | 'ill' | 'rank', c = 8, rank = Math.max(1, Math.floor(n / 2))): number[] => {
  const lambda = Array.from({ length: n }, (_, i) =>
    kind === 'well' ? 0.5 + 1.5 * r.uniform() : kind === 'ill' ? 10 ** (-c * i / Math.max(1, n - 1)) : i < rank ? 0.5 + 1.5 * r.uniform() : 0)
  return withSpectrum(r, lambda)
}

export const randomQp = (r: Rng, n: number, kind: 'well' | 'ill' | 'rank' = 'well', qScale = 1): Qp =>
  ({ n, P: psd(r, n, kind), q: Array.from({ length: n }, () => qScale * r.normal()) })

// -------------------------------------------------------------------------------------
// dense face solves
// -------------------------------------------------------------------------------------

/** Gaussian elimination with partial pivoting and one refinement step; undefined when a pivot is below 1e-13 of the matrix's largest entry. */
const solveSquare = (n: number, A0: readonly number[], b0: readonly number[]): number[] | undefined => {
  let big = 0
  for (const v of A0) big = Math.max(big, Math.abs(v))
  if (n === 0) return []
  const lu = Array.from(A0), perm = Array.from({ length: n }, (_, i) => i)
  for (let c = 0; c < n; c++) {
    let p = c
    for (let r = c + 1; r < n; r++) if (Math.abs(lu[r * n + c]!) > Math.abs(lu[p * n + c]!)) p = r
    if (!(Math.abs(lu[p * n + c]!) > 1e-13 * big)) return undefined
    if (p !== c) {
      for (let j = 0; j < n; j++) { const t = lu[c * n + j]!; lu[c * n + j] = lu[p * n + j]!; lu[p * n + j] = t }
      const t = perm[c]!; perm[c] = perm[p]!; perm[p] = t
    }
    for (let r = c + 1; r < n; r++) {
      const f = lu[r * n + c]! / lu[c * n + c]!
      lu[r * n + c] = f
      for (let j = c + 1; j < n; j++) lu[r * n + j] = lu[r * n + j]! - f * lu[c * n + j]!
    }
  }
  const apply = (b: readonly number[]): number[] => {
    const y = perm.map((i) => b[i]!)
    for (let r = 0; r < n; r++) for (let j = 0; j < r; j++) y[r] = y[r]! - lu[r * n + j]! * y[j]!
    for (let r = n - 1; r >= 0; r--) { for (let j = r + 1; j < n; j++) y[r] = y[r]! - lu[r * n + j]! * y[j]!; y[r] = y[r]! / lu[r * n + r]! }
    return y
  }
  const x = apply(b0)
  for (let it = 0; it < 2; it++) {
    const res = b0.map((bi, i) => { let s = bi; for (let j = 0; j < n; j++) s -= A0[i * n + j]! * x[j]!; return s })
    const dx = apply(res)
    for (let i = 0; i < n; i++) x[i] = x[i]! + dx[i]!
  }
  return x
}

/** A linear row Σ cᵢ xᵢ = b over all coordinates. */
export interface Row {
  readonly c: readonly number[]
  readonly b: number
}

/**
 * The stationary point of the quadratic on the face {xᵢ = fixedᵢ (where not NaN), rows}:
 * the rows restricted to the free coordinates are reduced to an independent subset (a
 * dependent row must agree, else the face is empty), then the KKT system is solved.
 * Undefined when the face is empty or its KKT system singular.
 */
export const faceStationary = (p: Qp, fixed: readonly number[], rows: readonly Row[]): number[] | undefined => {
  const n = p.n
  const F: number[] = []
  for (let i = 0; i < n; i++) if (Number.isNaN(fixed[i]!)) F.push(i)
  const m = F.length
  // rows on F with their right-hand sides less the fixed part
  let E = rows.map((row) => F.map((i) => row.c[i]!))
  let c = rows.map((row) => { let s = row.b; for (let i = 0; i < n; i++) if (!Number.isNaN(fixed[i]!)) s -= row.c[i]! * fixed[i]!; return s })
  // independent rows by elimination (rows of E are small integers or signs)
  const keep: number[] = [], R = E.map((e) => e.slice()), cr = c.slice()
  const pivots: number[] = []
  for (let a = 0; a < R.length; a++) {
    for (let k = 0; k < keep.length; k++) {
      const piv = pivots[k]!, b = keep[k]!, f = R[a]![piv]! / R[b]![piv]!
      if (f === 0) continue
      for (let j = 0; j < m; j++) R[a]![j] = R[a]![j]! - f * R[b]![j]!
      cr[a] = cr[a]! - f * cr[b]!
    }
    let piv = -1
    for (let j = 0; j < m; j++) if (Math.abs(R[a]![j]!) > 1e-9 && (piv < 0 || Math.abs(R[a]![j]!) > Math.abs(R[a]![piv]!))) piv = j
    if (piv < 0) {
      if (Math.abs(cr[a]!) > 1e-9 * (1 + maxAbs(c))) return undefined
      continue
    }
    keep.push(a)
    pivots.push(piv)
  }
  E = keep.map((a) => E[a]!)
  c = keep.map((a) => c[a]!)
  const k = E.length, s = m + k
  const K = new Array<number>(s * s).fill(0), rhs = new Array<number>(s).fill(0)
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) K[a * s + b] = p.P[F[a]! * n + F[b]!]!
    let g = p.q[F[a]!]!
    for (let i = 0; i < n; i++) if (!Number.isNaN(fixed[i]!)) g += p.P[F[a]! * n + i]! * fixed[i]!
    rhs[a] = -g
  }
  for (let r = 0; r < k; r++) {
    for (let j = 0; j < m; j++) { K[(m + r) * s + j] = E[r]![j]!; K[j * s + m + r] = E[r]![j]! }
    rhs[m + r] = c[r]!
  }
  const z = solveSquare(s, K, rhs)
  if (z === undefined) return undefined
  const x = fixed.map((v) => v)
  F.forEach((i, a) => { x[i] = z[a]! })
  return x
}

/** Every assignment of one of `choices(i)` to each coordinate, in turn. */
const product = (n: number, choices: (i: number) => readonly number[], visit: (pick: readonly number[]) => void): void => {
  const pick = new Array<number>(n).fill(0)
  const rec = (i: number): void => {
    if (i === n) { visit(pick); return }
    for (const c of choices(i)) { pick[i] = c; rec(i + 1) }
  }
  rec(0)
}

/** The best feasible stationary point over the faces `visit` produces. */
const bestOf = (p: Qp, run: (consider: (x: number[] | undefined, ok: (x: number[]) => boolean) => void) => void): { x: number[]; f: number } => {
  let best: { x: number[]; f: number } | undefined
  run((x, ok) => {
    if (x === undefined || !ok(x)) return
    const f = objective(p, x)
    if (best === undefined || f < best.f) best = { x, f }
  })
  if (best === undefined) throw new Error('no feasible face')
  return best
}

// -------------------------------------------------------------------------------------
// brute-force references
// -------------------------------------------------------------------------------------

const FEAS = 1e-10

/** The capped simplex's exact minimizer, over the 3ⁿ faces (each xᵢ at 0, at 1, or free; Σ x = k). */
export const cappedReference = (p: Qp, k: number): { x: number[]; f: number } => bestOf(p, (consider) => {
  const ones = new Array<number>(p.n).fill(1)
  product(p.n, () => [0, 1, NaN], (pick) => {
    consider(faceStationary(p, pick, [{ c: ones, b: k }]), (x) => x.every((v) => v >= -FEAS && v <= 1 + FEAS))
  })
})

/**
 * The K-sparse polytope's exact minimizer: the faces with the l1 row slack (each xᵢ at
 * ±t or free) and those with it tight (each xᵢ at ±t, at 0, or free with a sign).
 */
export const ksparseReference = (p: Qp, k: number, t: number): { x: number[]; f: number } => bestOf(p, (consider) => {
  const n = p.n
  const inBox = (x: number[]): boolean => x.every((v) => Math.abs(v) <= t * (1 + FEAS))
  const l1 = (x: number[]): number => x.reduce((s, v) => s + Math.abs(v), 0)
  product(n, () => [-t, t, NaN], (pick) => {
    consider(faceStationary(p, pick, []), (x) => inBox(x) && l1(x) <= k * t * (1 + FEAS))
  })
  // tight: states −t, t, 0, free+ (code 2), free− (code −2)
  product(n, () => [-t, t, 0, 2, -2], (pick) => {
    const fixed = pick.map((v) => (v === 2 || v === -2 ? NaN : v))
    const signs = pick.map((v) => (v === 2 ? 1 : v === -2 ? -1 : 0))
    const c = pick.map((v, i) => (Number.isNaN(fixed[i]!) ? signs[i]! : Math.sign(v)))
    // Σ cᵢ xᵢ = k t with cᵢ the sign of each coordinate (fixed: the sign of its value)
    consider(faceStationary(p, fixed, [{ c, b: k * t }]), (x) => inBox(x) && x.every((v, i) => signs[i]! * v >= -FEAS * t))
  })
})

/** The Birkhoff polytope's exact minimizer over the 2^(m²) supports (m ≤ 3). */
export const birkhoffReference = (p: Qp, m: number): { x: number[]; f: number } => bestOf(p, (consider) => {
  const rows: Row[] = []
  for (let i = 0; i < m; i++) rows.push({ c: Array.from({ length: m * m }, (_, c) => (Math.floor(c / m) === i ? 1 : 0)), b: 1 })
  for (let j = 0; j < m; j++) rows.push({ c: Array.from({ length: m * m }, (_, c) => (c % m === j ? 1 : 0)), b: 1 })
  product(m * m, () => [0, NaN], (pick) => {
    consider(faceStationary(p, pick, rows), (x) => x.every((v) => v >= -FEAS))
  })
})

// -------------------------------------------------------------------------------------
// oracles by full sorting and enumeration
// -------------------------------------------------------------------------------------

/** min ⟨g, s⟩ over the capped simplex, by sorting g. */
export const cappedOracleValue = (g: readonly number[], k: number): number => {
  const s = [...g].sort((a, b) => a - b)
  const r = Math.floor(k)
  let v = 0
  for (let e = 0; e < r; e++) v += s[e]!
  return r < s.length ? v + (k - r) * s[r]! : v
}

/** min ⟨g, s⟩ over the K-sparse polytope, by sorting |g|. */
export const ksparseOracleValue = (g: readonly number[], k: number, t: number): number => {
  const s = g.map(Math.abs).sort((a, b) => b - a)
  let v = 0
  for (let e = 0; e < k; e++) v += s[e]!
  return -t * v
}

/** Every permutation of 0..m−1. */
export const permutations = (m: number): number[][] => {
  if (m === 0) return [[]]
  const out: number[][] = []
  for (const p of permutations(m - 1)) for (let pos = 0; pos <= p.length; pos++) out.push([...p.slice(0, pos), m - 1, ...p.slice(pos)])
  return out
}

/** min ⟨G, V⟩ over the permutation matrices, by enumeration (m ≤ 8). */
export const birkhoffOracleValue = (g: readonly number[], m: number, perms = permutations(m)): number => {
  let best = Infinity
  for (const p of perms) { let s = 0; for (let i = 0; i < m; i++) s += g[i * m + p[i]!]!; best = Math.min(best, s) }
  return best
}

/** The Frank-Wolfe gap gᵀx − minₛ gᵀs at x with an independent oracle value, and its scale Σ|gᵢ xᵢ| + |minₛ gᵀs|. */
export const gapWith = (p: Qp, x: ArrayLike<number>, oracle: (g: number[]) => number): { gap: number; scale: number } => {
  const g = gradient(p, x), v = oracle(g)
  let gx = 0, sc = 0
  for (let i = 0; i < p.n; i++) { gx += g[i]! * x[i]!; sc += Math.abs(g[i]! * x[i]!) }
  return { gap: gx - v, scale: sc + Math.abs(v) }
}

// -------------------------------------------------------------------------------------
// directions
// -------------------------------------------------------------------------------------

/** A random symmetric n×n direction of unit Frobenius norm. */
export const symDirection = (r: Rng, n: number): number[] => {
  const A = new Array<number>(n * n).fill(0)
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) { const v = r.normal(); A[i * n + j] = v; A[j * n + i] = v }
  const s = Math.sqrt(dot(A, A))
  return A.map((v) => v / s)
}

export const randomVec = (r: Rng, n: number): number[] => Array.from({ length: n }, () => r.normal())
export const addScaled = (a: readonly number[], h: number, b: readonly number[]): number[] => a.map((v, i) => v + h * b[i]!)

/** The central difference (f(θ + h v) − f(θ − h v)) / 2h of a vector function. */
export const central = (f: (h: number) => ArrayLike<number>, h: number): number[] => {
  const a = f(h), b = f(-h)
  return Array.from(a, (v, i) => (v - b[i]!) / (2 * h))
}
