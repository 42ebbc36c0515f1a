/**
 * Shared fixtures for the layer's tests (test/layer.ts, test/paper-recipe.ts,
 * test/sets.ts): seeded problems as plain arrays and as the layer's `Problem`, a dense
 * reference solve for the unconstrained minimiser, binding and non-binding radii per set,
 * and small vector arithmetic. Excluded from tap's run by package.json.
 */
import { unsafeDim } from '../../src/shapes/Dim.js'
import type { Vec } from '../../src/shapes/Vec.js'
import type { Mat } from '../../src/shapes/Mat.js'
import { dense } from '../../src/core/LinearOperator.js'
import { rng, type Rng } from '../../src/core/Random.js'
import { paperProblem } from '../../src/fw/Generators.js'
import type { Params, Problem, SetKind } from '../../src/fw/Problem.js'

export type N = 'n'

export const SETS: readonly SetKind[] = ['l1', 'linf', 'l2', 'simplex']

export const vec = (data: ArrayLike<number>): Vec<N> => ({ dim: unsafeDim<N>(data.length), data: Float64Array.from(data) })
export const matOf = (n: number, data: ArrayLike<number>): Mat<N, N> =>
  ({ rows: unsafeDim<N>(n), cols: unsafeDim<N>(n), data: Float64Array.from(data) })

/** A problem as plain arrays: P row-major n×n. */
export interface Plain {
  readonly n: number
  readonly P: number[]
  readonly q: number[]
  readonly w: number[]
  readonly t: number
}

export const toProblem = (p: Plain, set: SetKind = 'l1'): Problem<N> => ({
  P: dense(matOf(p.n, p.P)),
  q: vec(p.q),
  w: vec(p.w),
  t: p.t,
  set
})

export const toParams = (p: Plain): Params<N> => ({ P: dense(matOf(p.n, p.P)), q: vec(p.q), w: vec(p.w), t: p.t })

/** PAPER.md's generator (src/fw/Generators.ts) as plain arrays. */
export const paperPlain = (n: number, seed: number): Plain => {
  const g = paperProblem(unsafeDim<N>(n), seed)
  return { n, P: Array.from(g.P.mat.data), q: Array.from(g.q.data), w: Array.from(g.w.data), t: g.t }
}

/** A well-conditioned random PSD problem: P = BBᵀ/n + μI, q normal, w in [0.5, 1.5]. */
export const randomPlain = (r: Rng, n: number, mu = 0.5): Plain => {
  const B = Array.from({ length: n * n }, () => r.normal())
  const P = new Array<number>(n * n).fill(0)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let k = 0; k < n; k++) s += B[i * n + k]! * B[j * n + k]!
      P[i * n + j] = s / n + (i === j ? mu : 0)
    }
  }
  const q = Array.from({ length: n }, () => r.normal())
  const w = Array.from({ length: n }, () => 0.5 + r.uniform())
  return { n, P, q, w, t: 1 }
}

export { rng }

// -------------------------------------------------------------------------------------
// small dense arithmetic (reference only)
// -------------------------------------------------------------------------------------

export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}
export const norm = (a: ArrayLike<number>): number => Math.sqrt(dot(a, a))
export const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!))
  return m
}
export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}
/** ‖a − b‖ / max(‖b‖, floor). */
export const relErr = (a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2
  return Math.sqrt(s) / Math.max(norm(b), floor)
}
export const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  const na = norm(a), nb = norm(b)
  if (na === 0 && nb === 0) return 1
  return dot(a, b) / (na * nb)
}
export const mulMV = (n: number, P: ArrayLike<number>, x: ArrayLike<number>): number[] => {
  const o = new Array<number>(n).fill(0)
  for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += P[i * n + j]! * x[j]!; o[i] = s }
  return o
}

/** Solves A x = b (A n×n row-major) by Gaussian elimination with partial pivoting. */
export const solveDense = (n: number, A0: ArrayLike<number>, b0: ArrayLike<number>): number[] => {
  const A = Array.from(A0), b = Array.from(b0)
  for (let c = 0; c < n; c++) {
    let p = c
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r * n + c]!) > Math.abs(A[p * n + c]!)) p = r
    if (p !== c) {
      for (let j = 0; j < n; j++) { const tmp = A[c * n + j]!; A[c * n + j] = A[p * n + j]!; A[p * n + j] = tmp }
      const tb = b[c]!; b[c] = b[p]!; b[p] = tb
    }
    for (let r = c + 1; r < n; r++) {
      const f = A[r * n + c]! / A[c * n + c]!
      if (f === 0) continue
      for (let j = c; j < n; j++) A[r * n + j] = A[r * n + j]! - f * A[c * n + j]!
      b[r] = b[r]! - f * b[c]!
    }
  }
  const x = new Array<number>(n).fill(0)
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!
    for (let j = r + 1; j < n; j++) s -= A[r * n + j]! * x[j]!
    x[r] = s / A[r * n + r]!
  }
  return x
}

/** The unconstrained minimiser −P⁻¹q. */
export const unconstrained = (p: Plain): number[] => solveDense(p.n, p.P, p.q).map((v) => -v)

/** The set's gauge of x (‖w⊙x‖₁, ‖x‖∞, ‖x‖₂, Σx). */
export const gauge = (set: SetKind, x: ArrayLike<number>, w: ArrayLike<number>): number => {
  let s = 0
  switch (set) {
    case 'l1': for (let i = 0; i < x.length; i++) s += Math.abs(w[i]! * x[i]!); return s
    case 'linf': return maxAbs(x)
    case 'l2': return norm(x)
    case 'simplex': for (let i = 0; i < x.length; i++) s += Math.abs(x[i]!); return s
  }
}

/**
 * The radius that makes the constraint bind (`factor` < 1: factor × the gauge of the
 * unconstrained minimiser) or not (`factor` > 1). For the simplex the equality always
 * binds; `factor` then scales t against ‖x_unc‖₁ (small: a sparse face, large: a wide one).
 */
export const withRadius = (set: SetKind, p: Plain, factor: number): Plain =>
  ({ ...p, t: factor * gauge(set, unconstrained(p), p.w) })

/** A random symmetric n×n direction with unit Frobenius norm. */
export const symDirection = (r: Rng, n: number): number[] => {
  const A = new Array<number>(n * n).fill(0)
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = r.normal()
      A[i * n + j] = v
      A[j * n + i] = v
    }
  }
  const s = norm(A)
  return A.map((v) => v / s)
}

export const randomVec = (r: Rng, n: number): number[] => Array.from({ length: n }, () => r.normal())
export const addScaled = (a: ArrayLike<number>, h: number, b: ArrayLike<number>): number[] =>
  Array.from(a, (v, i) => v + h * b[i]!)
