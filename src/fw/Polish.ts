/**
 * Polishing on the active face: after Frank-Wolfe has found the face, solve the
 * equality-constrained quadratic on it directly, matrix-free, by projected conjugate
 * gradients. Frank-Wolfe converges slowly inside a face (it zigzags when the constraint
 * does not bind); the face system converges in a few dozen products with P.
 *
 * The polished point is accepted only when it stays on the face (no support sign flips,
 * inside the bounds) and its Frank-Wolfe gap is no larger; otherwise x is returned as is.
 * The l2 ball's curved face is not polished (Frank-Wolfe converges linearly there when the
 * constraint binds).
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import { applyInto } from '../core/LinearOperator.js'
import type { Params, SetKind } from './Problem.js'
import { identifyFace } from './Face.js'
import { type FaceSystem, pcg } from './Implicit.js'
import { fwGap } from './Oracle.js'

/** Options of {@link polish}. */
export interface PolishOptions {
  /** CG's relative residual tolerance (default 1e-14). */
  readonly tolerance?: number
  /** CG's iteration cap (default 2m + 20 for m free coordinates). */
  readonly maxIterations?: number
}

const gapAt = <N>(set: SetKind, theta: Params<N>, x: Float64Array, px: Float64Array): number => {
  const n = x.length
  const g = new Float64Array(n)
  for (let i = 0; i < n; i++) g[i] = px[i]! + theta.q.data[i]!
  return fwGap(set, { dim: theta.q.dim, data: g }, { dim: theta.q.dim, data: x }, theta.w, theta.t)
}

/**
 * Polishes x on its active face. Pure: returns x itself or a new vector.
 *
 * @example
 * const xp = polish('l1', theta, fwIterate) // the face's exact minimizer, when x found the right face
 */
export const polish = <N>(set: SetKind, theta: Params<N>, x: Vec<N>, options: PolishOptions = {}): Vec<N> => {
  if (set === 'l2') return x
  const n = x.dim as number
  const px = new Float64Array(n)
  applyInto(theta.P, x.data, px)
  const g = new Float64Array(n)
  for (let i = 0; i < n; i++) g[i] = px[i]! + theta.q.data[i]!
  const face = identifyFace(set, theta, x, { gradient: { dim: x.dim, data: g } })
  if (face.constraint !== 'none' && face.constraint !== 'linear') return x
  const F = face.free
  const m = F.length
  if (m === 0) return x
  const sg = face.signs.data
  let a: Float64Array | undefined
  let c = 0
  if (face.constraint === 'linear') {
    a = new Float64Array(m)
    for (let k = 0; k < m; k++) a[k] = set === 'l1' ? sg[F[k]!]! * theta.w.data[F[k]!]! : 1
    c = theta.t
  }
  const aa = a === undefined ? 1 : a.reduce((s, v) => s + v * v, 0)
  const full = new Float64Array(n), out = new Float64Array(n)
  const sys: FaceSystem = {
    m,
    a,
    aa,
    H: (p, o) => {
      for (let k = 0; k < m; k++) full[F[k]!] = p[k]!
      applyInto(theta.P, full, out)
      for (let k = 0; k < m; k++) o[k] = out[F[k]!]!
      for (let k = 0; k < m; k++) full[F[k]!] = 0
    }
  }
  // move within the face: H dz = −g_F projected onto null(aᵀ)
  const b = new Float64Array(m)
  for (let k = 0; k < m; k++) b[k] = -g[F[k]!]!
  const r = pcg(sys, b, options.tolerance ?? 1e-14, options.maxIterations ?? 2 * m + 20)
  const xn = Float64Array.from(x.data)
  for (let k = 0; k < m; k++) xn[F[k]!] = xn[F[k]!]! + r.z[k]!
  if (a !== undefined) {
    // restore aᵀx_F = c exactly up to rounding
    let ax = 0
    for (let k = 0; k < m; k++) ax += a[k]! * xn[F[k]!]!
    const corr = (c - ax) / aa
    for (let k = 0; k < m; k++) xn[F[k]!] = xn[F[k]!]! + corr * a[k]!
  }
  // stay on the face
  for (let k = 0; k < m; k++) {
    const i = F[k]!, v = xn[i]!
    if (!Number.isFinite(v)) return x
    if ((set === 'l1' || set === 'simplex') && a !== undefined && sg[i]! * v < 0) return x
    if (set === 'simplex' && v < 0) return x
    if (set === 'linf' && Math.abs(v) > theta.t) return x
  }
  if (set === 'l1') {
    let s = 0
    for (let i = 0; i < n; i++) s += Math.abs(theta.w.data[i]! * xn[i]!)
    if (s > theta.t * (1 + 1e-13)) return x
  }
  const pxn = new Float64Array(n)
  applyInto(theta.P, xn, pxn)
  return gapAt(set, theta, xn, pxn) <= gapAt(set, theta, x.data, px) ? { dim: x.dim, data: xn } : x
}
