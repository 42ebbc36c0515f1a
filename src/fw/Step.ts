/**
 * One Frank-Wolfe step as a pure differentiable map (θ, state) ↦ state, and the step
 * rules, directions and oracles it is assembled from.
 *
 * The step keeps Px in the state and updates it from P u, so each step costs exactly one
 * product with P: g = Px + q needs none, and the exact line search reads uᵀP u from the
 * same product.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Diff, Linear } from '../core/Diff.js'
import { trace, type Tracer, type Var } from '../core/Trace.js'
import { ops } from '../core/Ops.js'
import type { Params, SetKind } from './Problem.js'
import type { FwState, StepConfig } from './State.js'
import { fusedPaperL1Step } from './FusedStep.js'
import { fusedPairwiseStep } from './FusedPairwise.js'
import { pairLinear } from './StepTangent.js'
import { type Vertex, chooseVertex, exactVertex, smoothVertex, certificateAt, rowAbsSums, l2Vertex, checkCurvature, boxCoordinate, oneHot, awayAtom, scoreNoise } from './Oracle.js'
import { f64 } from '../shapes/alloc.js'
// the tangent and transpose rules of the primitives this module traces (they register into the core)
import '../jvp/rules.js'
import '../vjp/rules.js'

export type { StepRule, Direction, OracleKind, StepConfig, FwState } from './State.js'

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------


interface Traced<N> {
  readonly P: Params<N>['P']
  readonly q: Vec<N>
  readonly w: Vec<N>
  readonly t: number
  readonly x: Vec<N>
  readonly px: Vec<N>
}

/**
 * The traced pairwise direction of a step on l1 or the simplex (see {@link pairwiseDirection}).
 *
 * @example
 * const { u, gmax, atom, settle } = pairwiseDirection<N>($, 'simplex', vc, sv, g, v, px, q)
 */
export interface PairwiseDirection<N> {
  /** u = s − a (the origin atom: u = s). */
  readonly u: Var<Vec<N>>
  /** The away atom's weight, the step's γmax (a function of x, w and t). */
  readonly gmax: Var<number>
  /** The away atom's coordinate, or −1 for the origin. */
  readonly atom: number
  /** x after the step, with the away coordinate set exactly to 0 on a drop step (γ = γmax). */
  readonly settle: (x: Var<Vec<N>>, gamma: Var<number>) => Var<Vec<N>>
}

/**
 * The pairwise direction from the exact vertex `sv` (chosen as `vc`) and the away atom of
 * `awayAtom`, traced: shared by the quadratic layer's step and `Smooth.ts`. `px` and `q`
 * give the scores' rounding scale (the smooth layer passes g and 0).
 *
 * @example
 * const pw = pairwiseDirection<N>($, 'l1', vc, sv, g, { x, w, t }, px.value.data, q.value.data)
 * const x1 = pw.settle(o.add(x, o.scale(gamma, pw.u)), gamma)
 */
export const pairwiseDirection = <N>(
  $: Tracer, set: 'l1' | 'simplex', vc: Vertex, sv: Var<Vec<N>>, g: Var<Vec<N>>,
  v: { readonly x: Var<Vec<N>>; readonly w: Var<Vec<N>>; readonly t: Var<number> }, px: Float64Array, q: Float64Array
): PairwiseDirection<N> => {
  const o = ops<N>($)
  const gv = g.value
  const aw = awayAtom(set, gv.data, v.x.value.data, v.w.value.data, v.t.value, px, q, vc.kind === 'coordinate' ? vc : undefined)
  if (aw.index < 0) {
    return { u: sv, gmax: o.ssub($.constant(1), o.sdiv(o.sum(o.abs(o.mul(v.w, v.x))), v.t)), atom: -1, settle: (x) => x }
  }
  const a = $.callRecord(exactVertex<N>(set, { kind: 'coordinate', index: aw.index, sign: aw.sign }), { g, w: v.w, t: v.t })
  const mask = $.constant(oneHot(gv, aw.index, aw.sign))
  const gmax = set === 'l1' ? o.sdiv(o.dot(o.mul(v.w, v.x), mask), v.t) : o.sdiv(o.dot(v.x, mask), v.t)
  const drops = !(vc.kind === 'coordinate' && vc.index === aw.index)
  return {
    u: o.sub(sv, a),
    gmax,
    atom: aw.index,
    settle: (x, gamma) => {
      if (!drops || gamma !== gmax) return x
      // a drop step: the away atom's weight is now zero, so its coordinate is exactly 0
      // (the derivative of that coordinate is 0 as well)
      const keep = f64(gv.dim).fill(1)
      keep[aw.index] = 0
      return o.mul(x, $.constant<Vec<N>>({ dim: gv.dim, data: keep }))
    }
  }
}

/**
 * The box's pairwise direction, traced: on [−t, t]ⁿ, a pairwise step between two vertices
 * that differ in one coordinate j, so that no vertex weights need storing. The away
 * vertex a is a worst vertex of x's minimal face (aᵢ = xᵢ where xᵢ is on a bound, else
 * t·sign(gᵢ)); the other vertex is a with coordinate j set to sⱼ = −t·sign(gⱼ), the
 * oracle's choice there. j is the coordinate of largest |gⱼ| among those not already on
 * the bound sⱼ (ties: the first), so u = (sⱼ − aⱼ)eⱼ and the pairwise gap is 2t|gⱼ|.
 * The largest step keeps x on the box: γmax = (t + sign(gⱼ)xⱼ)/(2t) for a free j (it
 * lands on sⱼ, and `settle` puts it there exactly), 1 for a j on the other bound (it
 * crosses to sⱼ). With the exact line search this is greedy coordinate descent clipped to
 * the box: it converges linearly for strongly convex f, and its derivative is the
 * Gauss-Seidel iteration of the face's linear system, so the unrolled derivative tends
 * to the implicit one (a step along the dense direction s − a, tried first, reached x*
 * in fewer steps but left the unrolled derivative at cosine 0.93 of it at n = 40).
 *
 * @example
 * const bp = boxPairwiseDirection<N>($, sv, g, { x, t })
 * const x1 = bp.settle(o.add(x, o.scale(gamma, bp.u)), gamma)
 */
export const boxPairwiseDirection = <N>(
  $: Tracer, sv: Var<Vec<N>>, g: Var<Vec<N>>, v: { readonly x: Var<Vec<N>>; readonly t: Var<number> }
): PairwiseDirection<N> => {
  const o = ops<N>($)
  const gv = g.value, j = boxCoordinate(gv.data, v.x.value.data, v.t.value)
  if (j < 0) return { u: $.constant<Vec<N>>({ dim: gv.dim, data: f64(gv.dim) }), gmax: $.constant(0), atom: -1, settle: (x) => x }
  const sg = gv.data[j]! > 0 ? 1 : -1
  const ej = $.constant(oneHot(gv, j, 1))
  const xj = o.dot(v.x, ej)
  const onBound = Math.abs(v.x.value.data[j]!) === v.t.value
  // u = (sⱼ − aⱼ) eⱼ: aⱼ = xⱼ on a bound (then sⱼ − aⱼ = −2xⱼ), else t·sign(gⱼ)
  const step = onBound ? o.smul($.constant(-2), xj) : o.smul($.constant(-2 * sg), v.t)
  const gmax = onBound ? $.constant(1) : o.sdiv(o.sadd(v.t, o.smul($.constant(sg), xj)), o.smul($.constant(2), v.t))
  return {
    u: o.scale(step, ej),
    gmax,
    atom: j,
    settle: (x, gamma) => {
      if (gamma !== gmax) return x
      // coordinate j reached its bound: it is sⱼ exactly (and moves with t as s does)
      const keep = f64(gv.dim).fill(1)
      keep[j] = 0
      return o.add(o.mul(x, $.constant<Vec<N>>({ dim: gv.dim, data: keep })), o.mul(sv, ej))
    }
  }
}

/**
 * The Frank-Wolfe step for `config`, as a `Diff` over (θ, state). The derivative flows
 * through x, Px and θ = (P, q, w, t); the oracle's choice of vertex or atom, the
 * temperature and the statistics are held fixed (derivative zero), as in the paper:
 * sign has derivative 0, max passes to its arg-max, clamp is flat outside (0, γmax).
 *
 * @example
 * const step = fwStep<N>({ set: 'l1', oracle: 'smooth', direction: 'fw', rule: 'short', lipschitz: L, beta: (i) => 2 ** Math.floor(i / 30) })
 */
export const fwStep = <N>(config: StepConfig): Diff<readonly [Params<N>, FwState<N>], FwState<N>> => {
  const set = config.set as SetKind
  if (set === 'l1' && config.oracle === 'smooth' && config.direction === 'fw' && config.rule === 'short') {
    return fusedPaperL1Step<N>(config.lipschitz, config.beta, (p, x, px, prev) => stats('l1', p, x, px, prev))
  }
  if ((set === 'l1' || set === 'simplex') && config.oracle === 'exact' && config.direction === 'pairwise' && config.rule === 'exact') {
    return fusedPairwiseStep<N>(set, (p, x, px, prev) => stats(set, p, x, px, prev))
  }
  return tracedStepFor<N>(config)
}

/**
 * The step traced from the primitives, for every configuration. `fwStep` uses it except for
 * the default pairwise step on l1 and the simplex (`FusedPairwise.ts`) and
 * the paper's step on l1, which runs fused (`FusedStep.ts`, checked against this one).
 *
 * @example
 * const step = tracedStepFor<N>({ set: 'simplex', oracle: 'exact', direction: 'pairwise', rule: 'exact', lipschitz: 1, beta: () => 1 })
 */
export const tracedStepFor = <N>(config: StepConfig): Diff<readonly [Params<N>, FwState<N>], FwState<N>> => {
  const { rule, lipschitz } = config
  const set = config.set as SetKind
  const pairwise = config.direction === 'pairwise' && config.oracle === 'exact' && (set === 'l1' || set === 'simplex')
  const boxPairwise = config.direction === 'pairwise' && config.oracle === 'exact' && set === 'linf'
  return ([p, s]) => {
    const i = s.k + 1
    const body = trace<Traced<N>, { readonly x: Vec<N>; readonly px: Vec<N> }>(($, v) => {
      const o = ops<N>($)
      const g = o.add(v.px, v.q)
      const gv = g.value
      const vc = set === 'l2' ? l2Vertex(gv.data, v.px.value.data, v.q.value.data)
        : chooseVertex(set, gv, v.w.value, pairwise ? scoreNoise(set, v.px.value.data, v.q.value.data, v.w.value.data) : undefined)
      // the l2 ball's smoothed vertex is its exact one
      const oracle = config.oracle === 'smooth' && set !== 'l2' ? smoothVertex<N>(set, config.beta(i)) : exactVertex<N>(set, vc)
      const sv = $.callRecord(oracle, { g, w: v.w, t: v.t })
      let u: Var<Vec<N>>, pu: Var<Vec<N>>, gmax: Var<number>
      let pw: PairwiseDirection<N> | undefined
      if (pairwise) {
        pw = pairwiseDirection<N>($, set as 'l1' | 'simplex', vc, sv, g, v, v.px.value.data, v.q.value.data)
        u = pw.u
        gmax = pw.gmax
        // u = s − a has at most two nonzeros: P u from two columns of P
        const cols = vc.kind === 'coordinate' ? [vc.index] : []
        if (pw.atom >= 0) cols.push(pw.atom)
        pu = o.applyCols(v.P, u, cols)
      } else if (boxPairwise) {
        pw = boxPairwiseDirection<N>($, sv, g, v)
        u = pw.u
        gmax = pw.gmax
        // u is one coordinate: P u from one column of P
        pu = o.applyCols(v.P, u, pw.atom >= 0 ? [pw.atom] : [])
      } else {
        u = o.sub(sv, v.x)
        // an exact vertex of l1 or the simplex is one coordinate: P s from one column
        pu = o.sub(config.oracle === 'exact' && vc.kind === 'coordinate' ? o.applyCols(v.P, sv, [vc.index]) : o.apply(v.P, sv), v.px)
        gmax = $.constant(1)
      }
      {
        // negative curvature along the step is refused, whatever the rule (nothing differentiated)
        const uv = u.value.data, pv = pu.value.data
        let upu = 0
        for (let k = 0; k < uv.length; k++) upu += uv[k]! * pv[k]!
        checkCurvature(p, upu, undefined, uv)
      }
      const num = o.sneg(o.dot(g, u))
      const den = rule === 'short' ? o.smul($.constant(lipschitz), o.dot(u, u)) : rule === 'exact' ? o.dot(u, pu) : undefined
      let gamma: Var<number>
      if (rule === 'openLoop') {
        const c = 2 / (s.k + 2)
        gamma = c >= gmax.value ? gmax : $.constant(c)
      } else {
        const nv = num.value, dv = den!.value
        if (!(dv > 0) || !Number.isFinite(nv / dv)) gamma = nv > 0 ? gmax : $.constant(0)
        else if (nv / dv >= gmax.value) gamma = gmax
        else gamma = o.clamp(o.sdiv(num, den!), 0, Infinity)
      }
      let x = o.add(v.x, o.scale(gamma, u))
      const px = o.add(v.px, o.scale(gamma, pu))
      if (pw !== undefined) x = pw.settle(x, gamma)
      return { x, px }
    })
    const [out, lin] = body({ P: p.P, q: p.q, w: p.w, t: p.t, x: s.x, px: s.px })
    const next = stats(set, p, out.x, out.px, s)
    const l = pairLinear<Params<N>, FwState<N>>(lin as Linear<never, unknown>, ['P', 'q', 'w', 't'], ['x', 'px'])
    return [next, l]
  }
}

/** The statistics of the state after a step (not differentiated). */
const stats = <N>(set: SetKind, p: Params<N>, x: Vec<N>, px: Vec<N>, prev: FwState<N>): FwState<N> => {
  const c = certificateAt(set, px.data, p.q.data, x.data, p.w.data, p.t, rowAbsSums(p))
  return { x, px, k: prev.k + 1, f: c.objective, fPrev: prev.f, gap: c.gap, gapFloor: c.gapFloor }
}

/**
 * The initial state as a differentiable map of θ: x₀ = 0 for the balls (P x₀ = 0), and
 * for the simplex the vertex t eᵢ with i = argmin qᵢ (the oracle's answer at x = 0), which
 * moves with t. The history starts with the paper's sentinels f = −100 and f_prev = 1000,
 * so that the relative-change test lets the first step run.
 *
 * @example
 * const [s0] = initialState<N>('simplex')(theta) // s0.x = t eᵢ, i = argmin qᵢ; s0.k = 0
 */
export const initialState = <N>(set: SetKind): Diff<Params<N>, FwState<N>> => (p) => {
  const n = p.q.dim
  const body = trace<Params<N>, { readonly x: Vec<N>; readonly px: Vec<N> }>(($, v) => {
    if (set !== 'simplex') {
      const z = $.constant<Vec<N>>({ dim: n, data: f64(n) })
      return { x: z, px: z }
    }
    const o = ops<N>($)
    const x = $.callRecord(exactVertex<N>('simplex', chooseVertex('simplex', p.q, p.w)), { g: v.q, w: v.w, t: v.t })
    return { x, px: o.apply(v.P, x) }
  })
  const [out, lin] = body(p)
  const c = certificateAt(set, out.px.data, p.q.data, out.x.data, p.w.data, p.t, rowAbsSums(p))
  const state: FwState<N> = { x: out.x, px: out.px, k: 0, f: -100, fPrev: 1000, gap: c.gap, gapFloor: c.gapFloor }
  return [state, lin as unknown as Linear<Params<N>, FwState<N>>]
}
