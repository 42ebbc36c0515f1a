/**
 * An independent reference for the nuclear-norm ball: accelerated projected gradient (FISTA
 * with gradient restarts, step 1/L with L the largest row sum of |P|) with full-SVD
 * projections (`projectNuclear`, one-sided Jacobi), run until the iterate stops moving
 * (‖Δx‖∞ ≤ 1e-15·‖x‖∞ for 3 steps) or 40 000 steps. No Lanczos, no subspaces, no
 * Newton: nothing of the layer's solver. Problems are plain arrays (P dense n × n, row-major).
 */
import { projectNuclear } from '../../src/fw/nuclear/Projection.js'
import { svd } from '../../src/core/Eigen.js'
import type { Rng } from '../../src/core/Random.js'

export interface NucPlain {
  readonly m: number
  readonly p: number
  /** n × n row-major, symmetric PSD. */
  readonly P: Float64Array
  readonly q: Float64Array
  readonly t: number
}

export const mulPx = (P: Float64Array, x: Float64Array): Float64Array => {
  const n = x.length, out = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let j = 0; j < n; j++) s += P[i * n + j]! * x[j]!
    out[i] = s
  }
  return out
}

/** min ½xᵀPx + qᵀx over ‖X‖_* ≤ t, by FISTA with restarts and SVD projections. */
export const referenceSolve = (pb: NucPlain, maxIt = 40000): Float64Array => {
  const { m, p, P, q, t } = pb, n = m * p
  let L = 0
  for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += Math.abs(P[i * n + j]!); L = Math.max(L, s) }
  if (!(L > 0)) L = 1
  let x: Float64Array = new Float64Array(n)
  const y = x.slice()
  let th = 1, still = 0
  const arg = new Float64Array(n)
  for (let it = 0; it < maxIt; it++) {
    const g = mulPx(P, y)
    for (let i = 0; i < n; i++) arg[i] = y[i]! - (g[i]! + q[i]!) / L
    const z = projectNuclear(arg, m, p, t).x
    let up = 0, dx = 0, xm = 0
    for (let i = 0; i < n; i++) { up += (g[i]! + q[i]!) * (z[i]! - x[i]!); dx = Math.max(dx, Math.abs(z[i]! - x[i]!)); xm = Math.max(xm, Math.abs(z[i]!)) }
    if (up > 0) th = 1
    const tn = (1 + Math.sqrt(1 + 4 * th * th)) / 2
    const beta = (th - 1) / tn
    for (let i = 0; i < n; i++) y[i] = z[i]! + beta * (z[i]! - x[i]!)
    x = z
    th = tn
    still = dx <= 1e-15 * xm ? still + 1 : 0
    if (still >= 3) break
  }
  return x
}

/** B Bᵀ/k + μ I, n × n (PSD, and PD for μ > 0). */
export const randomPsd = (r: Rng, n: number, k: number, mu: number): Float64Array => {
  const B = Float64Array.from({ length: n * k }, () => r.normal())
  const A = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0
    for (let l = 0; l < k; l++) s += B[i * k + l]! * B[j * k + l]!
    A[i * n + j] = s / k + (i === j ? mu : 0)
  }
  return A
}

/** A random symmetric n × n direction. */
export const randomSym = (r: Rng, n: number): Float64Array => {
  const A = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { const v = r.normal(); A[i * n + j] = v; A[j * n + i] = v }
  return A
}

export const nuclearNorm = (x: Float64Array, m: number, p: number): number => svd(x, m, p).s.reduce((a, b) => a + b, 0)

export const maxAbs = (a: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(a[i]!))
  return s
}

export const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(a[i]! - b[i]!))
  return s
}

export const dotArr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}
