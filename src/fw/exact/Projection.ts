/**
 * Exact Euclidean projections onto the layer's sets, and their support functions.
 * Pure functions on shaped vectors: each allocates its result.
 *
 * Exactness: the sort-based projections find the threshold in closed form on the right
 * linear piece, so the result satisfies the projection's optimality conditions to
 * rounding (about n·ε relative), and coordinates below the threshold are exactly 0.
 *
 * @since 0.1.0
 */
import type { Vec } from '../../shapes/Vec.js'
import type { SetKind } from '../Problem.js'

// -------------------------------------------------------------------------------------
// guards
// -------------------------------------------------------------------------------------

const checkRadius = (name: string, t: number): void => {
  if (!(t >= 0) || !Number.isFinite(t)) throw new RangeError(`${name}: radius must be finite and ≥ 0, got ${String(t)}`)
}

const descending = (keys: Float64Array): Int32Array => {
  const idx = Int32Array.from({ length: keys.length }, (_, i) => i)
  // Int32Array#sort with a comparator keeps it typed and O(n log n)
  return idx.sort((a, b) => keys[b]! - keys[a]!)
}

// -------------------------------------------------------------------------------------
// projections
// -------------------------------------------------------------------------------------

/**
 * The projection onto the weighted l1 ball {x : Σ wᵢ|xᵢ| ≤ t}, w > 0, t ≥ 0.
 * Outside the ball the answer is xᵢ = sign(vᵢ) max(|vᵢ| − θ wᵢ, 0) with θ > 0 solving
 * Σ wᵢ max(|vᵢ| − θ wᵢ, 0) = t. The breakpoints |vᵢ|/wᵢ are sorted once (O(n log n)),
 * and θ is read off the first linear piece that brackets the root.
 *
 * @example
 * projectL1(v, w, 1) // the nearest point of {Σ wᵢ|xᵢ| ≤ 1}
 */
export const projectL1 = <N>(v: Vec<N>, w: Vec<N>, t: number): Vec<N> => {
  checkRadius('projectL1', t)
  const n = v.dim as number, a = v.data, ws = w.data
  let s = 0
  for (let i = 0; i < n; i++) s += ws[i]! * Math.abs(a[i]!)
  if (s <= t) return { dim: v.dim, data: Float64Array.from(a) }
  const out = new Float64Array(n)
  if (t === 0) return { dim: v.dim, data: out }
  const r = new Float64Array(n)
  for (let i = 0; i < n; i++) r[i] = Math.abs(a[i]!) / ws[i]!
  const idx = descending(r)
  let A = 0, B = 0, theta = 0
  for (let k = 0; k < n; k++) {
    const i = idx[k]!
    A += ws[i]! * Math.abs(a[i]!)
    B += ws[i]! * ws[i]!
    theta = (A - t) / B
    const next = k + 1 < n ? r[idx[k + 1]!]! : 0
    if (theta >= next) break
  }
  for (let i = 0; i < n; i++) {
    const m = Math.abs(a[i]!) - theta * ws[i]!
    out[i] = m > 0 ? Math.sign(a[i]!) * m : 0
  }
  return { dim: v.dim, data: out }
}

/**
 * The projection onto the simplex {x ≥ 0, Σ xᵢ = t}, t ≥ 0: xᵢ = max(vᵢ − τ, 0) with τ
 * solving Σ max(vᵢ − τ, 0) = t, found by sorting v (O(n log n)).
 *
 * @example
 * projectSimplex(v, 1) // a probability vector
 */
export const projectSimplex = <N>(v: Vec<N>, t: number): Vec<N> => {
  checkRadius('projectSimplex', t)
  const n = v.dim as number, a = v.data
  const out = new Float64Array(n)
  if (n === 0) return { dim: v.dim, data: out }
  const idx = descending(a)
  let c = 0, tau = 0
  for (let k = 0; k < n; k++) {
    c += a[idx[k]!]!
    tau = (c - t) / (k + 1)
    const next = k + 1 < n ? a[idx[k + 1]!]! : -Infinity
    if (tau >= next) break
  }
  for (let i = 0; i < n; i++) out[i] = Math.max(a[i]! - tau, 0)
  return { dim: v.dim, data: out }
}

/**
 * The projection onto the box |xᵢ| ≤ t (the l∞ ball): clamping.
 *
 * @example
 * projectLinf(v, 0.5) // every entry clamped to [−0.5, 0.5]
 */
export const projectLinf = <N>(v: Vec<N>, t: number): Vec<N> => {
  checkRadius('projectLinf', t)
  const a = v.data, out = new Float64Array(a.length)
  for (let i = 0; i < a.length; i++) out[i] = Math.min(t, Math.max(-t, a[i]!))
  return { dim: v.dim, data: out }
}

/**
 * The projection onto the l2 ball ‖x‖₂ ≤ t: v itself inside, t v/‖v‖ outside.
 *
 * @example
 * projectL2(v, 1) // v scaled back to the unit ball if it lies outside
 */
export const projectL2 = <N>(v: Vec<N>, t: number): Vec<N> => {
  checkRadius('projectL2', t)
  const a = v.data
  let scale = 0, ssq = 1
  for (const x of a) {
    if (x !== 0) {
      const b = Math.abs(x)
      if (scale < b) { ssq = 1 + ssq * (scale / b) ** 2; scale = b } else ssq += (b / scale) ** 2
    }
  }
  const nrm = scale * Math.sqrt(ssq)
  if (nrm <= t) return { dim: v.dim, data: Float64Array.from(a) }
  const f = t / nrm, out = new Float64Array(a.length)
  for (let i = 0; i < a.length; i++) out[i] = f * a[i]!
  return { dim: v.dim, data: out }
}

/**
 * The projection onto the set `set` with weights `w` (used by `l1` only) and radius `t`.
 *
 * @example
 * project('simplex', v, w, 1) // same as projectSimplex(v, 1)
 */
export const project = <N>(set: SetKind, v: Vec<N>, w: Vec<N>, t: number): Vec<N> => {
  switch (set) {
    case 'l1': return projectL1(v, w, t)
    case 'linf': return projectLinf(v, t)
    case 'l2': return projectL2(v, t)
    case 'simplex': return projectSimplex(v, t)
  }
}

// -------------------------------------------------------------------------------------
// support functions
// -------------------------------------------------------------------------------------

/**
 * The support function h_C(d) = max over y ∈ C of ⟨d, y⟩:
 * - `l1`: t maxᵢ |dᵢ|/wᵢ
 * - `linf`: t ‖d‖₁
 * - `l2`: t ‖d‖₂
 * - `simplex`: t maxᵢ dᵢ
 *
 * It certifies projections (x = proj(v) iff x ∈ C and h_C(v − x) = ⟨v − x, x⟩) and gives
 * the Frank-Wolfe gap gᵀx + h_C(−g).
 *
 * @example
 * supportFunction('l2', d, w, 2) // 2‖d‖₂
 */
export const supportFunction = <N>(set: SetKind, d: Vec<N>, w: Vec<N>, t: number): number => {
  const a = d.data
  let s = 0
  switch (set) {
    case 'l1':
      for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(a[i]!) / w.data[i]!)
      return t * s
    case 'linf':
      for (const x of a) s += Math.abs(x)
      return t * s
    case 'l2':
      for (const x of a) s += x * x
      return t * Math.sqrt(s)
    case 'simplex': {
      let m = -Infinity
      for (const x of a) m = Math.max(m, x)
      return a.length === 0 ? -Infinity : t * m
    }
  }
}
