/**
 * The layer for any smooth convex objective: minimize f(x; θ) over the set, where the user
 * gives ∇ₓf as a differentiable map `grad: Diff<[Θ, Vec<N>], Vec<N>>` (built from the
 * library's maps, so its own derivatives, the Hessian-vector products, come with it). θ can
 * be any value the engine has tangents for: a vector, a record of vectors and numbers, a
 * network's weights.
 *
 * Each step is a pure `Diff` traced from the primitives, and the solver is the
 * early-stopping fold of it, exactly as for the quadratic layer; `vjp` and `jvp` are the
 * fold's transforms (unrolled derivatives). The state carries g = ∇f(x; θ) so that each
 * iteration evaluates the gradient once.
 *
 * Schedules:
 * - `"paper"`: the smoothed oracle with β = β₀·2^⌊i/30⌋ (β₀ = 1), the short step
 *   clamp(−gᵀd/(L‖d‖²), 0, 1), and the relative-change stop |f − f_prev| < 1e-4·|f_prev|
 *   when `value` is given (else the gap test below); cap 1000.
 * - `"default"`: the exact oracle with pairwise steps on l1, the simplex and the l∞ box
 *   (plain Frank-Wolfe steps on the l2 ball), the same short step capped at the away atom's
 *   weight, and the stop test gap ≤ tol·max(1, |f|) (tol 1e-9; |f| = 1 without `value`);
 *   cap 5000.
 * `lipschitz` (L of ∇f in x) is required: there is no matrix to estimate it from.
 *
 * `backward: "implicit"` differentiates the solution map on the active face instead of
 * the steps (`smoothImplicitDerivative`): the quadratic layer's face solve
 * (`Implicit.ts faceSolver`) with P replaced by ∇²ₓf, whose products come from the
 * gradient map's linearization in x, and dq + dP x by ∂g/∂θ·dθ.
 *
 * @since 0.1.0
 */
import type { Dim } from '../shapes/Dim.js'
import type { Vec } from '../shapes/Vec.js'
import * as D from '../core/Diff.js'
import type { Diff, Linear } from '../core/Diff.js'
import { type Tan, Zero } from '../core/Tangent.js'
import { trace } from '../core/Trace.js'
import { ops } from '../core/Ops.js'
import type { SetKind } from './Problem.js'
import { chooseVertex, exactVertex, smoothVertex, fwGap, scoreNoise } from './Oracle.js'
import { pairwiseDirection, boxPairwiseDirection } from './Step.js'
import { LayerError, type Status } from './Layer.js'
import { f64, owned } from '../shapes/alloc.js'
import { lowRank } from '../core/LinearOperator.js'
import { type FaceReport, polyhedralFace, sphereFace } from './FaceModel.js'
import { faceDerivative } from './FaceDerivative.js'
import { setGradient } from './Implicit.js'
import { resolveSet } from './sets/Sets.js'
import { kktPointAt } from './ActiveSet.js'
import { pairLinear } from './StepTangent.js'
// the tangent and transpose rules of the primitives this module traces (they register into the core)
import '../jvp/rules.js'
import '../vjp/rules.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A smooth convex problem: minimize f(x; θ) over the set C(w, t).
 *
 * @example
 * // f(x; θ) = Σ exp(xᵢ) − θᵀx on the simplex, with its value for the paper's stop test
 * const problem: SmoothProblem<Vec<N>, N> = { grad, value, theta, dim: n, t: 1, set: 'simplex' }
 * dfwSmooth({ lipschitz: Math.E })(problem).x
 */
export interface SmoothProblem<Th, N> {
  /** ∇ₓ f(x; θ) as a differentiable map of (θ, x). */
  readonly grad: Diff<readonly [Th, Vec<N>], Vec<N>>
  /** f(x; θ), for the objective in the result and the paper's stop test (not differentiated). */
  readonly value?: (theta: Th, x: Vec<N>) => number
  readonly theta: Th
  readonly dim: Dim<N>
  readonly t: number
  readonly w?: Vec<N>
  readonly set?: SetKind
}

/**
 * Options of {@link dfwSmooth}.
 *
 * @example
 * const options: SmoothOptions = { schedule: 'paper', lipschitz: Math.E, maxIterations: 300, checkpoint: 20 }
 * dfwSmooth(options)(problem)
 */
export interface SmoothOptions {
  readonly schedule?: 'paper' | 'default'
  /** The Lipschitz constant of ∇ₓf (required, > 0). */
  readonly lipschitz: number
  readonly maxIterations?: number
  /** `"paper"`: relative change of f (1e-4); `"default"`: gap ≤ tol·max(1, |f|) (1e-9). 0 runs exactly maxIterations steps. */
  readonly tolerance?: number
  readonly beta0?: number
  /** Reverse mode: keep every c-th state and recompute (memory O((K/c + c)n)). */
  readonly checkpoint?: number
  /**
   * `"unrolled"` (default): differentiate the steps that ran. `"implicit"`: the solution
   * map on the active face at the returned x (`smoothImplicitDerivative`); it assumes f
   * is twice differentiable there and x is accurate (run to the default tolerance).
   */
  readonly backward?: 'unrolled' | 'implicit'
}

/**
 * The differentiable parameters of a smooth problem.
 *
 * @example
 * // the point θ̄ = (θ, w, t) whose tangents r.jvp takes and whose gradients r.vjp returns
 * const p: SmoothParams<Vec<N>, N> = { theta, w: fill(n, 1), t: 1 }
 */
export interface SmoothParams<Th, N> {
  readonly theta: Th
  readonly w: Vec<N>
  readonly t: number
}

/**
 * A tangent of the parameters; a missing direction is zero.
 *
 * @example
 * const r = dfwSmooth({ lipschitz: Math.E })(problem)
 * r.jvp({ theta: dTheta }) // dx along dθ
 * r.jvp({ t: 1 })          // ∂x/∂t
 */
export interface SmoothTangent<Th, N> {
  readonly theta?: Tan<Th>
  readonly w?: Vec<N>
  readonly t?: number
}

/**
 * The gradients of ⟨cotangent, x⟩.
 *
 * @example
 * const g = dfwSmooth({ lipschitz: Math.E })(problem).vjp(ones)
 * g.theta; g.w; g.t // ∇ of Σᵢ xᵢ in θ (a tangent of θ's type), w and t
 */
export interface SmoothGradients<Th, N> {
  readonly theta: Tan<Th>
  readonly w: Vec<N>
  readonly t: number
}

/**
 * The result for one smooth problem.
 *
 * @example
 * const r: SmoothResult<Vec<N>, N> = dfwSmooth({ lipschitz: Math.E })({ grad, value, theta, dim: n, t: 1 })
 * r.x; r.gap; r.status; r.objective // objective: present because `value` was given
 */
export interface SmoothResult<Th, N> {
  readonly x: Vec<N>
  /** f(x; θ) when `value` was given, else NaN is never reported: the field is absent. */
  readonly objective?: number
  /** The exact-oracle Frank-Wolfe gap at x. */
  readonly gap: number
  readonly iterations: number
  readonly status: Status
  /** Gradients of ⟨cotangent, x⟩ in θ, w and t (through the steps that ran, or implicit: see `backward`). */
  readonly vjp: (cotangent: Vec<N>) => SmoothGradients<Th, N>
  /** The directional derivative of x along a tangent of (θ, w, t) (through the steps that ran, or implicit). */
  readonly jvp: (tangent: SmoothTangent<Th, N>) => Vec<N>
}

/** The fold's state: x, g = ∇f(x; θ) (differentiated) and the statistics (not). */
interface SState<N> {
  readonly x: Vec<N>
  readonly g: Vec<N>
  readonly k: number
  readonly gap: number
  readonly f: number
  readonly fPrev: number
}

// -------------------------------------------------------------------------------------
// steps
// -------------------------------------------------------------------------------------

const finiteVec = <N>(v: Vec<N>): boolean => v.data.every((e) => Number.isFinite(e))

const statsOf = <Th, N>(set: SetKind, pr: SmoothProblem<Th, N>, p: SmoothParams<Th, N>, x: Vec<N>, g: Vec<N>, k: number, fPrev: number): SState<N> => {
  if (!finiteVec(g)) throw new LayerError(`the gradient map returned a non-finite value at iteration ${k}`, 'grad')
  return { x, g, k, gap: fwGap(set, g, x, p.w, p.t), f: pr.value === undefined ? 0 : pr.value(p.theta, x), fPrev }
}

const smoothStep = <Th, N>(set: SetKind, pr: SmoothProblem<Th, N>, cfg: { readonly oracle: 'exact' | 'smooth'; readonly L: number; readonly beta: (i: number) => number }): Diff<readonly [SmoothParams<Th, N>, SState<N>], SState<N>> =>
  ([p, s]) => {
    const i = s.k + 1
    type In = { readonly theta: Th; readonly w: Vec<N>; readonly t: number; readonly x: Vec<N>; readonly g: Vec<N> }
    const body = trace<In, { readonly x: Vec<N>; readonly g: Vec<N> }>(($, v) => {
      const o = ops<N>($)
      const gv = v.g.value
      const pairwise = cfg.oracle === 'exact' && (set === 'l1' || set === 'simplex')
      const noiseless = f64(gv.dim)
      const vc = chooseVertex(set, gv, v.w.value, pairwise ? scoreNoise(set, gv.data, noiseless, v.w.value.data) : undefined)
      const oracle = cfg.oracle === 'smooth' ? smoothVertex<N>(set, cfg.beta(i)) : exactVertex<N>(set, vc)
      const sv = $.callRecord(oracle, { g: v.g, w: v.w, t: v.t })
      // a pairwise step on l1 and the simplex (Step.ts's pairwiseDirection) and on the l∞ box
      // (boxPairwiseDirection), else s − x
      const pw = pairwise ? pairwiseDirection<N>($, set as 'l1' | 'simplex', vc, sv, v.g, v, gv.data, noiseless)
        : cfg.oracle === 'exact' && set === 'linf' ? boxPairwiseDirection<N>($, sv, v.g, v) : undefined
      const u = pw?.u ?? o.sub(sv, v.x)
      const gmax = pw?.gmax ?? $.constant(1)
      const num = o.sneg(o.dot(v.g, u))
      const den = o.smul($.constant(cfg.L), o.dot(u, u))
      const nv = num.value, dv = den.value
      const gamma = !(dv > 0) || !Number.isFinite(nv / dv) ? (nv > 0 ? gmax : $.constant(0)) : nv / dv >= gmax.value ? gmax : o.clamp(o.sdiv(num, den), 0, Infinity)
      const x0 = o.add(v.x, o.scale(gamma, u))
      const x = pw === undefined ? x0 : pw.settle(x0, gamma)
      const g = $.call(pr.grad, v.theta, x)
      return { x, g }
    })
    const [out, lin] = body({ theta: p.theta, w: p.w, t: p.t, x: s.x, g: s.g })
    const next = statsOf(set, pr, p, out.x, out.g, s.k + 1, s.f)
    const l = pairLinear<SmoothParams<Th, N>, SState<N>>(lin as Linear<never, unknown>, ['theta', 'w', 't'], ['x', 'g'])
    return [next, l]
  }

/** x₀ (0 for the balls, t/n·1 for the simplex) and g₀ = ∇f(x₀; θ), as a map of the parameters. */
const smoothInit = <Th, N>(set: SetKind, pr: SmoothProblem<Th, N>): Diff<SmoothParams<Th, N>, SState<N>> => (p) => {
  const n = pr.dim as number
  const init = trace<SmoothParams<Th, N>, { readonly x: Vec<N>; readonly g: Vec<N> }>(($, v) => {
    const o = ops<N>($)
    const ones = $.constant<Vec<N>>({ dim: pr.dim, data: f64(n).fill(1) })
    const x = set === 'simplex' ? o.scale(o.sdiv(v.t, $.constant(n)), ones) : o.scale($.constant(0), ones)
    return { x, g: $.call(pr.grad, v.theta, x) }
  })
  const [out, lin] = init(p)
  const s0 = statsOf(set, pr, p, out.x, out.g, 0, 1000)
  return [{ ...s0, f: pr.value === undefined ? -100 : s0.f }, {
    fwd: (d) => lin.fwd(d) as unknown as Tan<SState<N>>,
    bwd: (c) => {
      if (c === Zero) return Zero
      const cc = c as { x?: unknown; g?: unknown }
      return lin.bwd({ x: cc.x ?? Zero, g: cc.g ?? Zero } as Tan<{ readonly x: Vec<N>; readonly g: Vec<N> }>)
    }
  }]
}

// -------------------------------------------------------------------------------------
// the implicit derivative
// -------------------------------------------------------------------------------------

/**
 * The implicit derivative of a smooth problem's solution map at one point.
 *
 * @example
 * const d: SmoothImplicitDerivative<Vec<N>, N> = smoothImplicitDerivative('l1', problem, params, x)
 * d.face.size // the dimension of the face the derivative moves on
 */
export interface SmoothImplicitDerivative<Th, N> {
  /** The face the derivative is taken on: size, margin, and whether it is exact. */
  readonly face: FaceReport
  /** dx* along a tangent of (θ, w, t); a missing direction is zero. */
  readonly jvp: (tangent: SmoothTangent<Th, N>) => Vec<N>
  /** The gradients of ⟨cotangent, x*⟩ in θ, w and t. */
  readonly vjp: (cotangent: Vec<N>) => SmoothGradients<Th, N>
}

/**
 * The implicit derivative of x*(θ, w, t) = argmin { f(x; θ) : x ∈ C(w, t) } at x: the
 * face's KKT system solved as for the quadratic layer (`FaceDerivative.ts`), with
 * H = ∇²ₓf(x; θ) given matrix-free (a product costs one JVP of the gradient map in x, and
 * the solve is CG with a true-residual test) and the gradient's change e = ∂g/∂θ·dθ (one
 * JVP in θ); the VJP pulls −v back through the gradient map's transpose in θ. H must be
 * symmetric positive semidefinite on the face, as the Hessian of a convex f is.
 *
 * @example
 * const d = smoothImplicitDerivative('simplex', problem, { theta, w, t: 1 }, x)
 * d.vjp(ones).theta // ∂⟨1, x*⟩/∂θ
 * d.jvp({ t: 1 })   // the derivative of x* in t
 */
export const smoothImplicitDerivative = <Th, N>(
  set: SetKind,
  problem: SmoothProblem<Th, N>,
  p: SmoothParams<Th, N>,
  x: Vec<N>
): SmoothImplicitDerivative<Th, N> => {
  const n = problem.dim as number, dim = problem.dim
  const [g, lin] = problem.grad([p.theta, x])
  // Nothing polishes a smooth solve, and Frank-Wolfe leaves x inside the l2 ball by about
  // the gap (1 − ‖x‖/t = 3e-9 at gap 6e-9 in test/smooth-implicit.ts), so a bound counts
  // as reached within 1e-6 of it rather than the quadratic layer's rounding level. The
  // gradient g stands in for Px + q in the faces' scales.
  const zero = f64(n)
  const fs = resolveSet(set, { P: lowRank({ dim, data: zero }, 0, f64(0)), q: { dim, data: zero }, w: p.w, t: p.t })
  let face
  if (fs.polyhedron === undefined) face = sphereFace(fs, x.data, g.data, zero, 1e-6)
  else {
    const k = kktPointAt(fs.polyhedron, x.data, g.data, 1e-6)
    face = polyhedralFace(fs, k.ws, k.nu, k.x, g.data, zero)
  }
  const F = face.free, m = F.length
  const Hfull = (v: Float64Array): Float64Array => {
    const d = lin.fwd([Zero, { dim, data: v }] as unknown as Tan<readonly [Th, Vec<N>]>)
    return d === Zero ? f64(n) : (d as Vec<N>).data
  }
  const full = f64(n)
  const core = faceDerivative(face, {
    block: {
      kind: 'operator', m, diag: new Float64Array(m).fill(1),
      apply: (q: Float64Array, out: Float64Array) => {
        full.fill(0)
        for (let j = 0; j < m; j++) full[F[j]!] = q[j]!
        const h = Hfull(full)
        for (let j = 0; j < m; j++) out[j] = h[F[j]!]!
      }
    },
    full: Hfull
  })
  return {
    face: core.report,
    jvp: (tan) => {
      let e: Float64Array | undefined
      if (tan.theta !== undefined && tan.theta !== Zero) {
        const d = lin.fwd([tan.theta, Zero] as unknown as Tan<readonly [Th, Vec<N>]>)
        if (d !== Zero) e = (d as Vec<N>).data
      }
      return { dim, data: core.jvp(e, { w: tan.w?.data, t: tan.t ?? 0, k: 0 }) }
    },
    vjp: (ct) => {
      const acc = setGradient(set, n)
      const v = core.vjp(ct.data, acc)
      const nv = f64(n)
      for (let j = 0; j < m; j++) nv[F[j]!] = -v[j]!
      const back = lin.bwd({ dim, data: nv } as Tan<Vec<N>>)
      const theta = back === Zero ? (Zero as Tan<Th>) : ((back as unknown as readonly [Tan<Th>, unknown])[0] ?? (Zero as Tan<Th>))
      return { theta, w: { dim, data: acc.w }, t: acc.t }
    }
  }
}

// -------------------------------------------------------------------------------------
// the layer
// -------------------------------------------------------------------------------------

const check = (ok: boolean, message: string, path: string): void => {
  if (!ok) throw new LayerError(message, path)
}

/**
 * The layer for a smooth convex objective given by its gradient map. Throws a
 * {@link LayerError} naming the bad value's path.
 *
 * @example
 * // f(x; θ) = Σ exp(xᵢ) − θᵀx over the l1 ball: ∇f = exp(x) − θ
 * const grad: Diff<readonly [Vec<N>, Vec<N>], Vec<N>> = trace(($, [th, x]) => o.sub(o.exp(x), th))
 * const r = dfwSmooth({ lipschitz: Math.E })({ grad, theta, dim: n, t: 1 })
 * r.vjp(ones).theta // ∂⟨1, x⟩/∂θ
 */
export const dfwSmooth = (options: SmoothOptions) => <Th, N>(problem: SmoothProblem<Th, N>): SmoothResult<Th, N> => {
  const n = problem.dim as number
  const set = problem.set ?? 'l1'
  check(['l1', 'linf', 'l2', 'simplex'].includes(set), `unknown set ${JSON.stringify(set)}`, 'set')
  check(Number.isFinite(problem.t) && problem.t > 0, `expected a positive finite radius, got ${String(problem.t)}`, 't')
  check(Number.isFinite(options.lipschitz) && options.lipschitz > 0, `expected a positive finite Lipschitz constant, got ${String(options.lipschitz)}`, 'options.lipschitz')
  const w = problem.w ?? { dim: problem.dim, data: f64(n).fill(1) }
  check(w.data.length === n, `expected ${n} weights, got ${w.data.length}`, 'w')
  w.data.forEach((v, i) => check(Number.isFinite(v) && v > 0, `expected a positive finite weight, got ${String(v)}`, `w[${i}]`))
  const paper = (options.schedule ?? 'default') === 'paper'
  const maxIt = options.maxIterations ?? (paper ? 1000 : 5000)
  check(Number.isSafeInteger(maxIt) && maxIt >= 1, `expected an integer ≥ 1, got ${String(maxIt)}`, 'options.maxIterations')
  const tol = options.tolerance ?? (paper ? 1e-4 : 1e-9)
  check(Number.isFinite(tol) && tol >= 0, `expected a finite tolerance ≥ 0, got ${String(tol)}`, 'options.tolerance')
  const beta0 = options.beta0 ?? 1
  check(Number.isFinite(beta0) && beta0 > 0, `expected a positive finite β₀, got ${String(beta0)}`, 'options.beta0')
  const backward = options.backward ?? 'unrolled'
  check(backward === 'unrolled' || backward === 'implicit', `unknown backward ${JSON.stringify(backward)}; expected unrolled or implicit`, 'options.backward')
  const hasValue = problem.value !== undefined
  const go = (s: SState<N>): boolean => {
    if (tol === 0) return true
    if (paper && hasValue) return !(Math.abs(s.f - s.fPrev) < tol * Math.abs(s.fPrev))
    return s.gap > tol * (hasValue ? Math.max(1, Math.abs(s.f)) : 1)
  }
  const step = smoothStep<Th, N>(set, problem, {
    oracle: paper ? 'smooth' : 'exact',
    L: options.lipschitz,
    beta: (i) => beta0 * 2 ** Math.floor(i / 30)
  })
  const solver = D.compose(
    // the implicit mode keeps no linear maps (one checkpoint, never replayed)
    D.foldWhile(step, go, maxIt, backward === 'implicit' ? { checkpoint: Infinity } : options.checkpoint !== undefined ? { checkpoint: options.checkpoint } : {}),
    D.withInit(smoothInit<Th, N>(set, problem))
  )
  const params: SmoothParams<Th, N> = { theta: problem.theta, w, t: problem.t }
  const [s, lin] = solver(params)
  if (!finiteVec(s.x)) throw new LayerError('the iterate became non-finite', 'grad')
  // what reaches the user owns its buffer (see `owned`)
  const zeros = (): Vec<N> => ({ dim: problem.dim, data: new Float64Array(n) })
  const mine = (v: Vec<N>): Vec<N> => ({ dim: v.dim, data: owned(v.data) })
  let cached: SmoothImplicitDerivative<Th, N> | undefined
  const implicit = (): SmoothImplicitDerivative<Th, N> => (cached ??= smoothImplicitDerivative(set, problem, params, s.x))
  return {
    x: mine(s.x),
    ...(hasValue ? { objective: problem.value!(problem.theta, s.x) } : {}),
    gap: s.gap,
    iterations: s.k,
    status: tol > 0 && !go(s) ? 'converged' : 'maxIterations',
    vjp: (ct) => {
      if (backward === 'implicit') {
        const gr = implicit().vjp(ct)
        return { theta: gr.theta, w: mine(gr.w), t: gr.t }
      }
      const r = lin.bwd({ x: ct } as unknown as Tan<SState<N>>)
      const rr = (r === Zero ? {} : r) as { theta?: Tan<Th>; w?: Tan<Vec<N>>; t?: Tan<number> }
      return {
        theta: rr.theta ?? Zero,
        w: rr.w === undefined || rr.w === Zero ? zeros() : mine(rr.w),
        t: rr.t === undefined || rr.t === Zero ? 0 : rr.t
      }
    },
    jvp: (tan) => {
      if (backward === 'implicit') return mine(implicit().jvp(tan))
      const d = lin.fwd({ theta: tan.theta ?? Zero, w: tan.w ?? Zero, t: tan.t ?? Zero } as unknown as Tan<SmoothParams<Th, N>>)
      const dx = d === Zero ? Zero : ((d as { x?: Tan<Vec<N>> }).x ?? Zero)
      return dx === Zero ? zeros() : mine(dx)
    }
  }
}
