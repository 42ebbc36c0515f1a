/**
 * The feasible sets and their linear minimization oracles, after FrankWolfe.jl's one verb
 * `compute_extreme_point(lmo, direction)`: the exact oracle argmin_{s ∈ C} gᵀs and a
 * smoothed one (softmax for l1 and the simplex, tanh for l∞; the l2 ball's vertex
 * −t g/‖g‖ is already smooth), each both as a plain function and as a `Diff` in (g, w, t).
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Diff } from '../core/Diff.js'
import { trace } from '../core/Trace.js'
import { ops } from '../core/Ops.js'
import type { SetKind } from './Problem.js'

/** The oracle's inputs: the direction g, the weights w and the radius t. */
export interface OracleInput<N> {
  readonly g: Vec<N>
  readonly w: Vec<N>
  readonly t: number
}

// -------------------------------------------------------------------------------------
// exact oracle
// -------------------------------------------------------------------------------------

/**
 * The exact vertex's support: one coordinate and its signed scale (l1, simplex), or the
 * whole vector (l∞, l2).
 */
export type Vertex =
  | { readonly kind: 'coordinate'; readonly index: number; /** the sign of the vertex's nonzero entry */ readonly sign: number }
  | { readonly kind: 'dense' }

/**
 * Chooses the exact vertex argmin_{s ∈ C} gᵀs. Ties: the first index whose score is within
 * `tie` of the best (default 0, exact ties only).
 * - l1: i = argmax |gᵢ|/wᵢ, s = −sign(gᵢ) (t/wᵢ) eᵢ
 * - simplex: i = argmin gᵢ, s = t eᵢ
 * - l∞: s = −t sign(g); l2: s = −t g/‖g‖ (s = 0 when g = 0)
 *
 * A pairwise step's exact line search that stops inside its interval leaves two support
 * coordinates with equal gᵢ in exact arithmetic; when they are the minimum, the computed
 * argmin would be decided by rounding. The steps pass `tie = tieTolerance(…)` so that such
 * ties go to the first index and x after K steps does not jump under small changes of θ.
 *
 * @example
 * chooseVertex('l1', g, w) // { kind: 'coordinate', index, sign }
 */
export const chooseVertex = <N>(set: SetKind, g: Vec<N>, w: Vec<N>, tie = 0): Vertex => {
  const a = g.data
  switch (set) {
    case 'l1': {
      let best = -1
      for (let i = 0; i < a.length; i++) best = Math.max(best, Math.abs(a[i]!) / w.data[i]!)
      let k = 0
      while (k < a.length - 1 && !(Math.abs(a[k]!) / w.data[k]! >= best - tie)) k++
      return { kind: 'coordinate', index: k, sign: a[k]! > 0 ? -1 : a[k]! < 0 ? 1 : 0 }
    }
    case 'simplex': {
      let best = Infinity
      for (let i = 0; i < a.length; i++) best = Math.min(best, a[i]!)
      let k = 0
      while (k < a.length - 1 && !(a[k]! <= best + tie)) k++
      return { kind: 'coordinate', index: k, sign: 1 }
    }
    case 'linf':
    case 'l2':
      return { kind: 'dense' }
  }
}

/**
 * The rounding scale of the vertex scores at g = Px + q: 1e-10 · maxᵢ (|Pxᵢ| + |qᵢ|)/wᵢ on
 * l1, 1e-10 · maxᵢ (|Pxᵢ| + |qᵢ|) on the simplex (0 on the other sets). Scores closer than
 * this are ties for {@link chooseVertex}.
 *
 * @example
 * chooseVertex('simplex', g, w, tieTolerance('simplex', px, q, w))
 */
export const tieTolerance = (set: SetKind, px: Float64Array, q: Float64Array, w: Float64Array): number => {
  if (set !== 'l1' && set !== 'simplex') return 0
  let m = 0
  for (let i = 0; i < px.length; i++) m = Math.max(m, (Math.abs(px[i]!) + Math.abs(q[i]!)) / (set === 'l1' ? w[i]! : 1))
  return 1e-10 * m
}

/**
 * The exact extreme point as a value: FrankWolfe.jl's `compute_extreme_point`.
 *
 * @example
 * computeExtremePoint('l2', { g, w, t: 1 }) // −g/‖g‖
 */
export const computeExtremePoint = <N>(set: SetKind, input: OracleInput<N>): Vec<N> => {
  const [s] = exactVertex<N>(set, chooseVertex(set, input.g, input.w))(input)
  return s
}

/** v eᵢ, with the dimension of `like`. */
export const oneHot = <N>(like: Vec<N>, i: number, v: number): Vec<N> => {
  const o = new Float64Array(like.dim)
  o[i] = v
  return { dim: like.dim, data: o }
}

/**
 * The exact vertex as a differentiable map of (g, w, t), with the vertex's choice held
 * fixed (the choice is piecewise constant, so its derivative is zero): the map carries the
 * derivative of the vertex's position in w and t, and for l2 in g.
 *
 * @example
 * exactVertex<N>('l1', chooseVertex('l1', g, w))({ g, w, t })
 */
export const exactVertex = <N>(set: SetKind, v: Vertex): Diff<OracleInput<N>, Vec<N>> =>
  trace<OracleInput<N>, Vec<N>>(($, { g, w, t }) => {
    const o = ops<N>($)
    switch (set) {
      case 'l1': {
        // s = σ (t/w) ⊙ eᵢ, σ the vertex's sign
        const i = v.kind === 'coordinate' ? v.index : 0, sg = v.kind === 'coordinate' ? v.sign : 0
        return o.mul(o.scale(t, o.recip(w)), $.constant(oneHot(g.value, i, sg)))
      }
      case 'simplex':
        // s = t eᵢ
        return o.scale(t, $.constant(oneHot(g.value, v.kind === 'coordinate' ? v.index : 0, 1)))
      case 'linf':
        // s = −t sign(g)
        return o.scale(o.sneg(t), o.sign(g))
      case 'l2':
        // s = −(t/‖g‖) g, and s = 0 when g = 0
        return g.value.data.some((x) => x !== 0)
          ? o.scale(o.sdiv(o.sneg(t), o.norm2(g)), g)
          : $.constant<Vec<N>>({ dim: g.value.dim, data: new Float64Array(g.value.dim) })
    }
  })

// -------------------------------------------------------------------------------------
// smoothed oracle
// -------------------------------------------------------------------------------------

/**
 * The smoothed vertex at temperature β, as PAPER.md's recipe (l1) and its analogues:
 * - l1: ĝ = g ⊙ t/w, z = β|ĝ| − max β|ĝ|, e = softmax(z), s = −(t/w) ⊙ sign(ĝ) ⊙ e
 * - simplex: ĝ = t g, z = −βĝ − max(−βĝ), s = t softmax(z)
 * - l∞: s = −t tanh(β t g)
 * - l2: the exact vertex −t g/‖g‖ (smooth wherever g ≠ 0)
 *
 * @example
 * smoothVertex<N>('l1', 1)({ g, w, t })
 */
export const smoothVertex = <N>(set: SetKind, beta: number): Diff<OracleInput<N>, Vec<N>> =>
  set === 'l2'
    ? exactVertex<N>('l2', { kind: 'dense' })
    : trace<OracleInput<N>, Vec<N>>(($, { g, w, t }) => {
        const o = ops<N>($)
        const b = $.constant(beta)
        switch (set) {
          case 'l1': {
            const r = o.scale(t, o.recip(w))
            const gh = o.mul(g, r)
            const ba = o.scale(b, o.abs(gh))
            const e = o.softmax(o.shift(ba, o.sneg(o.max(ba))))
            return o.neg(o.mul(o.mul(r, o.sign(gh)), e))
          }
          case 'simplex': {
            const z0 = o.scale(o.sneg(o.smul(b, t)), g)
            const e = o.softmax(o.shift(z0, o.sneg(o.max(z0))))
            return o.scale(t, e)
          }
          case 'linf':
            return o.scale(o.sneg(t), o.tanh(o.scale(o.smul(b, t), g)))
        }
      })

// -------------------------------------------------------------------------------------
// certificates
// -------------------------------------------------------------------------------------

/**
 * The Frank-Wolfe duality gap with the exact oracle, maxₛ gᵀ(x − s) = gᵀx − min_{s∈C} gᵀs:
 * - l1: gᵀx + t maxᵢ |gᵢ|/wᵢ; simplex: gᵀx − t minᵢ gᵢ
 * - l∞: gᵀx + t ‖g‖₁; l2: gᵀx + t ‖g‖₂
 * It bounds f(x) − f* from above for convex f. Rounding can make it a few ulps negative at
 * an exact optimum; it is reported as max(0, ·).
 *
 * @example
 * fwGap('l1', g, x, w, t) // ≥ 0
 */
export const fwGap = <N>(set: SetKind, g: Vec<N>, x: Vec<N>, w: Vec<N>, t: number): number => {
  const a = g.data, xs = x.data
  let gx = 0
  for (let i = 0; i < a.length; i++) gx += a[i]! * xs[i]!
  let m = 0
  switch (set) {
    case 'l1':
      for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!) / w.data[i]!)
      return Math.max(0, gx + t * m)
    case 'simplex': {
      let mn = Infinity
      for (const v of a) mn = Math.min(mn, v)
      return Math.max(0, gx - t * (a.length > 0 ? mn : 0))
    }
    case 'linf':
      for (const v of a) m += Math.abs(v)
      return Math.max(0, gx + t * m)
    case 'l2': {
      let s = 0, sc = 0
      for (const v of a) sc = Math.max(sc, Math.abs(v))
      if (sc > 0) for (const v of a) s += (v / sc) ** 2
      return Math.max(0, gx + t * sc * Math.sqrt(s))
    }
  }
}

/**
 * How far x lies outside the set: l1 max(0, Σ|wᵢxᵢ| − t); l∞ max(0, max|xᵢ| − t);
 * l2 max(0, ‖x‖ − t); simplex max(|Σx − t|, max(0, −min x)).
 */
export const violation = <N>(set: SetKind, x: Vec<N>, w: Vec<N>, t: number): number => {
  const a = x.data
  switch (set) {
    case 'l1': {
      let s = 0
      for (let i = 0; i < a.length; i++) s += Math.abs(w.data[i]! * a[i]!)
      return Math.max(0, s - t)
    }
    case 'linf': {
      let m = 0
      for (const v of a) m = Math.max(m, Math.abs(v))
      return Math.max(0, m - t)
    }
    case 'l2': {
      let s = 0
      for (const v of a) s += v * v
      return Math.max(0, Math.sqrt(s) - t)
    }
    case 'simplex': {
      let s = 0, mn = 0
      for (const v of a) { s += v; mn = Math.min(mn, v) }
      return Math.max(Math.abs(s - t), -mn)
    }
  }
}

/**
 * The away atom of a pairwise step, for l1 and the simplex: among the atoms of the current
 * decomposition, the one that most increases gᵀ(·). l1 atoms are sign(xᵢ)(t/wᵢ)eᵢ for
 * xᵢ ≠ 0 (weight |wᵢxᵢ|/t) and the origin (score 0, weight 1 − Σ|wᵢxᵢ|/t when that is
 * positive); simplex atoms are t eᵢ for xᵢ > 0 (weight xᵢ/t). Returns the coordinate and its
 * sign, or index −1 for the origin.
 *
 * Ties are decided by a fixed order, not by rounding noise. After an exact line search that
 * stops inside its interval, the vertex just added and the atom it was paired with have
 * equal scores in exact arithmetic, and their computed scores differ by rounding only. Every
 * atom within `1e-10 · t · max(|Pxᵢ| + |qᵢ|)/wᵢ` of the best score counts as tied, and the
 * first of them in the order (origin, then ascending i) is taken; so the choice, and x after
 * K steps, do not jump under perturbations of θ far above rounding.
 *
 * @example
 * awayAtom('simplex', g, x, w, t, px, q) // { index: 3, sign: 1 }
 */
export const awayAtom = (
  set: 'l1' | 'simplex',
  g: Float64Array, x: Float64Array, w: Float64Array, t: number, px: Float64Array, q: Float64Array
): { readonly index: number; readonly sign: number } => {
  const n = x.length
  let best = -Infinity, used = 0, noise = 0
  for (let i = 0; i < n; i++) {
    const xi = x[i]!
    if (set === 'l1' ? xi === 0 : xi <= 0) continue
    const c = set === 'l1' ? t / w[i]! : t
    noise = Math.max(noise, c * (Math.abs(px[i]!) + Math.abs(q[i]!)))
    if (set === 'l1') used += Math.abs(w[i]! * xi)
    const score = (xi > 0 ? 1 : -1) * g[i]! * c
    if (score > best) best = score
  }
  const origin = set === 'l1' && (best === -Infinity || used < t * (1 - 1e-15))
  if (origin && best < 0) best = 0
  const floor = best - 1e-10 * noise
  if (origin && 0 >= floor) return { index: -1, sign: 0 }
  for (let i = 0; i < n; i++) {
    const xi = x[i]!
    if (set === 'l1' ? xi === 0 : xi <= 0) continue
    const s = xi > 0 ? 1 : -1
    if (s * g[i]! * (set === 'l1' ? t / w[i]! : t) >= floor) return { index: i, sign: s }
  }
  return { index: -1, sign: 0 }
}
