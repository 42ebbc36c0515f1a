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
import type { Params, SetKind } from './Problem.js'
import { diagEntry } from '../core/LinearOperator.js'
import { NegativeCurvatureError } from './Errors.js'
import { callMemo } from './CallMemo.js'
import { callEpoch, denseAbsRowSumsInto } from '../core/simd.js'
import { f64, zerosView } from '../shapes/alloc.js'
// the tangent and transpose rules of the primitives this module traces (they register into the core)
import '../jvp/rules.js'
import '../vjp/rules.js'

/**
 * The oracle's inputs: the direction g, the weights w and the radius t.
 *
 * @example
 * const input: OracleInput<N> = { g, w, t: 1 }
 * computeExtremePoint('l1', input)
 */
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
 *
 * @example
 * const v: Vertex = chooseVertex('l1', g, w)        // { kind: 'coordinate', index: i, sign: ±1 }
 * const [s] = exactVertex<N>('l1', v)({ g, w, t }) // s = sign·(t/wᵢ) eᵢ
 */
export type Vertex =
  | { readonly kind: 'coordinate'; readonly index: number; /** the sign of the vertex's nonzero entry */ readonly sign: number }
  | { readonly kind: 'dense'; /** l2: the unit direction ĝ held fixed (see {@link l2Vertex}). */ readonly frozen?: Float64Array }

/** The relative tie window of vertex and away-atom scores (see {@link chooseVertex}, {@link awayAtom}). */
const TIE = 1e-12

/**
 * Chooses the exact vertex argmin_{s ∈ C} gᵀs. Ties: without `noise`, the first index of
 * an exact tie; with `noise` (each score's rounding scale, see {@link scoreNoise}), the first
 * index whose score is within 1e-10·(noiseᵢ + noise_best) of the best.
 * - l1: i = argmax |gᵢ|/wᵢ, s = −sign(gᵢ) (t/wᵢ) eᵢ
 * - simplex: i = argmin gᵢ, s = t eᵢ
 * - l∞: s = −t sign(g); l2: s = −t g/‖g‖ (s = 0 when g = 0)
 *
 * A pairwise step's exact line search that stops inside its interval leaves two support
 * coordinates with equal gᵢ in exact arithmetic; when they are the minimum, the computed
 * argmin would be decided by rounding. The steps pass `noise` so that such ties go to the
 * first index and x after K steps does not jump under small changes of θ. The window is per
 * pair of scores, so one tiny weight (a huge score scale) widens only its own ties.
 *
 * @example
 * chooseVertex('l1', g, w) // { kind: 'coordinate', index, sign }
 */
export const chooseVertex = <N>(set: SetKind, g: Vec<N>, w: Vec<N>, noise?: Float64Array): Vertex => {
  const a = g.data
  switch (set) {
    case 'l1': {
      let kb = 0, best = -1
      for (let i = 0; i < a.length; i++) { const v = Math.abs(a[i]!) / w.data[i]!; if (v > best) { best = v; kb = i } }
      let k = kb
      if (noise !== undefined) {
        k = 0
        while (k < kb && !(Math.abs(a[k]!) / w.data[k]! >= best - TIE * (noise[k]! + noise[kb]!))) k++
      }
      return { kind: 'coordinate', index: k, sign: a[k]! > 0 ? -1 : a[k]! < 0 ? 1 : 0 }
    }
    case 'simplex': {
      let kb = 0, best = Infinity
      for (let i = 0; i < a.length; i++) if (a[i]! < best) { best = a[i]!; kb = i }
      let k = kb
      if (noise !== undefined) {
        k = 0
        while (k < kb && !(a[k]! <= best + TIE * (noise[k]! + noise[kb]!))) k++
      }
      return { kind: 'coordinate', index: k, sign: 1 }
    }
    case 'linf':
    case 'l2':
      return { kind: 'dense' }
  }
}

/**
 * The relative size of g = Px + q, against the scale ‖Px‖∞ + ‖q‖∞ of the terms that cancel
 * in it, below which the l2 ball's vertex −t g/‖g‖ is held fixed in the derivative.
 *
 * @example
 * L2_FREEZE // 1e-8
 */
export const L2_FREEZE = 1e-8

/**
 * The l2 ball's exact vertex for a step, as a {@link Vertex}: the vertex −t g/‖g‖, whose
 * derivative in g is −(t/‖g‖)(I − ĝĝᵀ); when ‖g‖∞ ≤ {@link L2_FREEZE}·(‖Px‖∞ + ‖q‖∞) the
 * direction ĝ is held fixed (its derivative in g taken as 0, its t-derivative −ĝ kept).
 * Near an interior optimum g tends to 0 and its direction is set by the last digits of
 * Px + q: differentiating it there multiplies rounding by t/‖g‖ (measured: NaN, or
 * magnitudes up to 1e51, on well-conditioned problems).
 *
 * @example
 * l2Vertex(g, px, q) // { kind: 'dense' } or { kind: 'dense', frozen: ĝ }
 */
export const l2Vertex = (g: Float64Array, px: Float64Array, q: Float64Array): Vertex => {
  let gm = 0, sc = 0, pm = 0, qm = 0
  for (let i = 0; i < g.length; i++) { gm = Math.max(gm, Math.abs(g[i]!)); pm = Math.max(pm, Math.abs(px[i]!)); qm = Math.max(qm, Math.abs(q[i]!)) }
  sc = pm + qm
  if (gm === 0 || gm > L2_FREEZE * sc) return { kind: 'dense' }
  let s = 0
  for (let i = 0; i < g.length; i++) s += (g[i]! / gm) ** 2
  const nrm = Math.sqrt(s), frozen = new Float64Array(g.length)
  for (let i = 0; i < g.length; i++) frozen[i] = g[i]! / gm / nrm
  return { kind: 'dense', frozen }
}

/**
 * The rounding scale of each vertex score at g = Px + q: (|Pxᵢ| + |qᵢ|)/wᵢ on l1 (the score
 * is |gᵢ|/wᵢ), |Pxᵢ| + |qᵢ| on the simplex, 0 on the other sets. Written into `out` when
 * given (no allocation).
 *
 * @example
 * chooseVertex('simplex', g, w, scoreNoise('simplex', px, q, w))
 */
export const scoreNoise = (set: SetKind, px: Float64Array, q: Float64Array, w: Float64Array, out?: Float64Array): Float64Array => {
  const o = out ?? f64(px.length)
  for (let i = 0; i < px.length; i++) o[i] = set === 'l1' ? (Math.abs(px[i]!) + Math.abs(q[i]!)) / w[i]! : set === 'simplex' ? Math.abs(px[i]!) + Math.abs(q[i]!) : 0
  return o
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

/**
 * v eᵢ, with the dimension of `like`.
 *
 * @example
 * oneHot(q, 1, 2) // [0, 2, 0] for q of dimension 3
 */
export const oneHot = <N>(like: Vec<N>, i: number, v: number): Vec<N> => {
  const o = f64(like.dim)
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
        // s = −(t/‖g‖) g, and s = 0 when g = 0; with a frozen direction ĝ, s = −t ĝ
        if (v.kind === 'dense' && v.frozen !== undefined) return o.scale(o.sneg(t), $.constant<Vec<N>>({ dim: g.value.dim, data: v.frozen }))
        return g.value.data.some((x) => x !== 0)
          ? o.scale(o.sdiv(o.sneg(t), o.norm2(g)), g)
          : $.constant<Vec<N>>({ dim: g.value.dim, data: f64(g.value.dim) })
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
 * The coordinate of the box's pairwise step (`Step.ts` boxPairwiseDirection): the largest
 * |gⱼ| among coordinates with gⱼ ≠ 0 that are not already on the bound −t·sign(gⱼ); −1
 * when there is none (then x is optimal).
 *
 * @example
 * boxCoordinate(g, x, t) // j, or −1 at an optimum
 */
export const boxCoordinate = (g: Float64Array, x: Float64Array, t: number): number => {
  let j = -1, best = 0
  for (let i = 0; i < g.length; i++) {
    const gi = g[i]!
    if (gi === 0 || x[i] === (gi > 0 ? -t : t)) continue
    const a = Math.abs(gi)
    if (a > best) { best = a; j = i }
  }
  return j
}

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
export const fwGap = <N>(set: SetKind, g: Vec<N>, x: Vec<N>, w: Vec<N>, t: number): number =>
  fwGapAt(set, g.data, undefined, x.data, w.data, t)

/**
 * The factor of the gap's rounding floor (see {@link certificateAt}): four times the
 * rounding of one entry of g.
 *
 * @example
 * GAP_FLOOR_FACTOR // 4
 */
export const GAP_FLOOR_FACTOR = 4

/**
 * The default schedule's stop test: gap ≤ tolerance·|f| + the gap's rounding floor
 * ({@link certificateAt}). A tolerance of 0 never passes (a fixed number of steps runs).
 *
 * @example
 * gapMet(1e-12, -3, 1e-9, 1e-15) // true
 */
export const gapMet = (gap: number, f: number, tolerance: number, floor: number): boolean =>
  tolerance > 0 && gap <= tolerance * Math.abs(f) + floor

/**
 * {@link fwGap} at g = a + b without forming g (b omitted: g = a).
 *
 * @example
 * fwGapAt('l1', px, q, x, w, t) // fwGap('l1', px + q, x, w, t)
 */
export const fwGapAt = (set: SetKind, a: Float64Array, b: Float64Array | undefined, x: Float64Array, w: Float64Array, t: number): number =>
  certificateAt(set, a, b, x, w, t).gap

/**
 * A point's certificate from P x and q, in one pass over the entries (two for l2), so
 * that a step's statistics need no array of their own:
 * - `objective` = Σ xᵢ(½(Px)ᵢ + qᵢ), f(x) for the quadratic;
 * - `gap` = {@link fwGap} at g = Px + q;
 * - `gapFloor`: how far above zero rounding alone can put that gap. A computed g carries
 *   an error of about ε(Σⱼ|Pᵢⱼ||xⱼ| + |qᵢ|) per entry — the terms of (Px)ᵢ, which may
 *   cancel, not their sum — and the gap multiplies it by the entries' reach Rᵢ (t/wᵢ on the
 *   l1 ball, t on the others): the floor is {@link GAP_FLOOR_FACTOR}·ε·Σᵢ Rᵢ(aᵢ‖x‖∞ + |qᵢ|)
 *   with aᵢ = Σⱼ|Pᵢⱼ| (`pAbs`, {@link rowAbsSums}), an upper bound of Σⱼ|Pᵢⱼ||xⱼ|; without
 *   `pAbs`, |(Px)ᵢ| stands in for it. At the usual scales it is about 1e-15 and changes
 *   nothing; with t = 1e12 it is 1e-3 or so, and at an ill-conditioned interior optimum,
 *   where g = Px + q cancels to rounding, it is what lets the exact point be certified.
 *
 * With `q` omitted, `px` is taken as g itself (then `objective` means nothing).
 *
 * @example
 * const { objective, gap, gapFloor } = certificateAt('l1', px, q, x, w, t, rowAbsSums(theta))
 */
export const certificateAt = (
  set: SetKind, px: Float64Array, q: Float64Array | undefined, x: Float64Array, w: Float64Array, t: number, pAbs?: Float64Array
): { readonly objective: number; readonly gap: number; readonly gapFloor: number } => {
  const n = px.length, Q = q ?? zerosView(n)
  let f = 0, gx = 0, sc = 0, sa = 0, xm = 0, m = 0, mn = Infinity
  for (let i = 0; i < n; i++) {
    const pi = px[i]!, qi = Q[i]!, xi = x[i]!, g = pi + qi
    f += xi * (0.5 * pi + qi)
    gx += g * xi
    const ri = set === 'l1' ? 1 / w[i]! : 1
    if (pAbs === undefined) sc += ri * (Math.abs(pi) + Math.abs(qi))
    else { sc += ri * Math.abs(qi); sa += ri * pAbs[i]!; xm = Math.max(xm, Math.abs(xi)) }
    if (set === 'l1') m = Math.max(m, Math.abs(g) / w[i]!)
    else if (set === 'simplex') mn = Math.min(mn, g)
    else if (set === 'linf') m += Math.abs(g)
    else m = Math.max(m, Math.abs(g))
  }
  let gap: number
  if (set === 'simplex') gap = Math.max(0, gx - t * (n > 0 ? mn : 0))
  else if (set === 'l2') {
    // m is maxᵢ |gᵢ|: ‖g‖₂ = m ‖g/m‖₂ without overflow
    let s = 0
    if (m > 0) for (let i = 0; i < n; i++) s += ((px[i]! + Q[i]!) / m) ** 2
    gap = Math.max(0, gx + t * m * Math.sqrt(s))
  } else gap = Math.max(0, gx + t * m)
  return { objective: f, gap, gapFloor: GAP_FLOOR_FACTOR * Number.EPSILON * t * (sc + sa * xm) }
}

const absRows = new WeakMap<object, Float64Array>()

/**
 * aᵢ = Σⱼ|Pᵢⱼ| for each row of θ's P (for diag + low rank the bound |dᵢ| + Σₖ|Uᵢₖ|Σⱼ|Uⱼₖ|),
 * computed once per θ record: the layer builds that record afresh per call, so a matrix
 * rewritten between calls is never read stale.
 *
 * @example
 * certificateAt('l1', px, q, x, w, t, rowAbsSums(theta))
 */
export const rowAbsSums = <N>(p: Params<N>): Float64Array => {
  // within a call, by operator only: a θ record made per instance as a WeakMap key would
  // live until a full collection (see `CallMemo.ts`)
  if (callEpoch() >= 0) return callMemo(p.P, 'rowAbs', () => rowAbsOf(p.P))
  const c = absRows.get(p)
  if (c !== undefined) return c
  const a = callMemo(p.P, 'rowAbs', () => rowAbsOf(p.P))
  absRows.set(p, a)
  return a
}

/**
 * Σⱼ |Pᵢⱼ| of an operator, memoized within the call (`CallMemo.ts`); the rounding of
 * (Px)ᵢ is at most about n·ε·Σⱼ |Pᵢⱼ|·‖x‖∞ whatever the cancellation inside the sum.
 *
 * @example
 * operatorRowAbs(P)[i] * xInf // the scale of (Px)ᵢ's rounding
 */
export const operatorRowAbs = <N>(P: Params<N>['P']): Float64Array => callMemo(P, 'rowAbs', () => rowAbsOf(P))

const rowAbsOf = <N>(P: Params<N>['P']): Float64Array => {
  const n = P.dim as number, a = new Float64Array(n)
  switch (P.kind) {
    case 'dense':
      // one pass over the resident copy the call's products use (core/simd.ts)
      denseAbsRowSumsInto(P.mat.data, n, a)
      break
    case 'lowRank': {
      const r = P.rank, U = P.U, col = new Float64Array(r)
      for (let j = 0; j < n; j++) for (let k = 0; k < r; k++) col[k] = col[k]! + Math.abs(U[j * r + k]!)
      for (let i = 0; i < n; i++) { let s = Math.abs(P.diag.data[i]!); for (let k = 0; k < r; k++) s += Math.abs(U[i * r + k]!) * col[k]!; a[i] = s }
      break
    }
    case 'csr':
      for (let i = 0; i < n; i++) { let s = 0; for (let k = P.rowPtr[i]!; k < P.rowPtr[i + 1]!; k++) s += Math.abs(P.values[k]!); a[i] = s }
      break
  }
  return a
}

/**
 * How far x lies outside the set: l1 max(0, Σ|wᵢxᵢ| − t); l∞ max(0, max|xᵢ| − t);
 * l2 max(0, ‖x‖ − t); simplex max(|Σx − t|, max(0, −min x)).
 *
 * @example
 * violation('l1', r.x, w, 1) // 0 up to rounding for the layer's answer at t = 1
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
 * equal scores in exact arithmetic, and their computed scores differ by rounding only. An
 * atom whose score is within 1e-10·(nᵢ + n_best) of the best, with nᵢ = (t/wᵢ)(|Pxᵢ| + |qᵢ|)
 * (t(|Pxᵢ| + |qᵢ|) on the simplex, 0 for the origin) its rounding scale, counts as tied, and
 * the one of largest weight among them is taken (the longest pairwise step; equal weights:
 * the origin, then the first index), skipping `exclude`, the step's Frank-Wolfe vertex (near
 * the optimum every support atom ties, and pairing the vertex with itself is a null step).
 * Weights differ by far more than rounding, so the choice, and x after K steps, do not jump
 * under perturbations of θ far above rounding.
 *
 * @example
 * awayAtom('simplex', g, x, w, t, px, q) // { index: 3, sign: 1 }
 */
export const awayAtom = (
  set: 'l1' | 'simplex',
  g: Float64Array, x: Float64Array, w: Float64Array, t: number, px: Float64Array, q: Float64Array,
  exclude?: { readonly index: number; readonly sign: number }
): { readonly index: number; readonly sign: number; /** the atom's weight: the pairwise step's γmax */ readonly weight: number } => {
  const n = x.length, l1 = set === 'l1'
  let best = -Infinity, used = 0, nb = 0, ib = -1, sb = 0
  for (let i = 0; i < n; i++) {
    const xi = x[i]!
    if (l1 ? xi === 0 : xi <= 0) continue
    if (l1) used += Math.abs(w[i]! * xi)
    const s = xi > 0 ? 1 : -1
    const score = s * g[i]! * (l1 ? t / w[i]! : t)
    if (score > best) { best = score; nb = atomNoise(l1, t, w, px, q, i); ib = i; sb = s }
  }
  const origin = l1 && (best === -Infinity || used < t * (1 - 1e-15))
  // the origin wins outright only below the tie window: after an exact line search towards
  // eᵢ, gᵢ = 0 in exact arithmetic, so atom i's score ties with the origin's 0 and the
  // rounding of g must not decide between them (the weights do, below)
  if (origin && best < -TIE * nb) return { index: -1, sign: 0, weight: 1 - used / t }
  // among the tied atoms, the one of largest weight (the longest pairwise step); weights
  // differ by more than rounding, so the choice is stable; equal weights: the first
  let pick = ib, ps = sb, pw = -1
  if (origin && 0 >= best - TIE * nb) { pick = -1; ps = 0; pw = 1 - used / t }
  for (let i = 0; i < n; i++) {
    const xi = x[i]!
    if (l1 ? xi === 0 : xi <= 0) continue
    const s = xi > 0 ? 1 : -1
    if (exclude !== undefined && exclude.index === i && exclude.sign === s) continue
    if (s * g[i]! * (l1 ? t / w[i]! : t) < best - TIE * (atomNoise(l1, t, w, px, q, i) + nb)) continue
    const wi = l1 ? Math.abs(w[i]! * xi) / t : xi / t
    if (wi > pw) { pick = i; ps = s; pw = wi }
  }
  const weight = pick < 0 ? 1 - used / t : l1 ? Math.abs(w[pick]! * x[pick]!) / t : x[pick]! / t
  return { index: pick, sign: ps, weight }
}

/** The rounding scale of an atom's score: (t/wᵢ)(|Pxᵢ| + |qᵢ|) on l1, t(|Pxᵢ| + |qᵢ|) on the simplex. */
const atomNoise = (l1: boolean, t: number, w: Float64Array, px: Float64Array, q: Float64Array, i: number): number =>
  (l1 ? t / w[i]! : t) * (Math.abs(px[i]!) + Math.abs(q[i]!))

const curvatureFloors = new WeakMap<object, number>()

/**
 * 1e-10·maxᵢ |Pᵢᵢ| for θ's P, once per θ record: along a step direction u, uᵀPu below
 * −floor·‖u‖² is negative curvature, not rounding (for a PSD P, |Pᵢⱼ| ≤ maxᵢ Pᵢᵢ).
 *
 * @example
 * if (upu < -curvatureFloor(theta) * uu) throw new NegativeCurvatureError(u, upu / uu)
 */
export const curvatureFloor = <N>(p: Params<N>): number => {
  const floorOf = (): number => {
    let m = 0
    for (let i = 0; i < (p.P.dim as number); i++) m = Math.max(m, Math.abs(diagEntry(p.P, i)))
    return 1e-10 * Math.max(m, 1e-300)
  }
  // within a call, by operator only (as rowAbsSums)
  if (callEpoch() >= 0) return callMemo(p.P, 'curvatureFloor', floorOf)
  const c = curvatureFloors.get(p)
  if (c !== undefined) return c
  const f = floorOf()
  curvatureFloors.set(p, f)
  return f
}

/**
 * Throws a `NegativeCurvatureError` when uᵀPu < −curvatureFloor·‖u‖² for the direction
 * u given sparsely (indices and values) or densely.
 *
 * @example
 * checkCurvature(theta, upu, [j, a], [us, -ua])
 */
export const checkCurvature = <N>(p: Params<N>, upu: number, idx: readonly number[] | undefined, vals: ArrayLike<number>): void => {
  let uu = 0
  for (let k = 0; k < vals.length; k++) uu += vals[k]! * vals[k]!
  if (!(upu < -curvatureFloor(p) * uu)) return
  const n = p.P.dim as number, d = new Float64Array(n), s = Math.sqrt(uu)
  if (idx === undefined) for (let i = 0; i < n; i++) d[i] = vals[i]! / s
  else for (let k = 0; k < idx.length; k++) d[idx[k]!] = d[idx[k]!]! + vals[k]! / s
  throw new NegativeCurvatureError(d, upu / uu)
}
