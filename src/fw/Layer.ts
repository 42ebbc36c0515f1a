/**
 * The differentiable Frank-Wolfe layer: `dfwLayer(options)(problem)` solves
 * min ½ xᵀP x + qᵀx over the set and returns x with its certificate and its derivatives
 * in θ = (q, w, t, P), both reverse (`vjp`) and forward (`jvp`).
 *
 * - `backward: "unrolled"` differentiates the fold of steps that actually ran (the
 *   paper's method): the derivatives are the `Diff` transforms of the fold.
 * - `backward: "implicit"` differentiates the solution map on the active face (see
 *   `Implicit.ts`), entering through the engine's custom-derivative hook.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import * as D from '../core/Diff.js'
import type { Diff, Linear } from '../core/Diff.js'
import { type Tan, Zero } from '../core/Tangent.js'
import { applyInto } from '../core/LinearOperator.js'
import { beginCall, endCall, inCallNow } from '../core/simd.js'
import { powerIteration } from '../core/PowerIteration.js'
import type { Gradients, Params, ParamsTangent, Problem, SetKind, SetName } from './Problem.js'
import { type FwState, fwStep, initialState } from './Step.js'
import { type Schedule, type ScheduleName, paperSchedule, defaultSchedule } from './Schedule.js'
import { certificateAt, rowAbsSums, gapMet } from './Oracle.js'
import { releaseCallMemos, withInstance } from './CallMemo.js'
import { type ResolvedSet, validateProblem, validateCotangent, validateTangent } from './Validate.js'
import { type BackwardMode, type LayerOptions, type Status, LayerError, unrolledFoldOptions } from './Options.js'
import { type ImplicitDerivative, derivativeAt } from './Implicit.js'
import { type LeanFace, leanApplies, leanPolish } from './LeanFace.js'
import { type PolishResult, polishExact } from './Polish.js'
import type { FaceModel, FaceReport } from './FaceModel.js'
import { NegativeCurvatureError } from './Errors.js'
import type { FeasibleSet } from './sets/FeasibleSet.js'
import { type SetStructure, resolveSet } from './sets/Sets.js'
import { certifyConvex, negativeDiagonal } from './Convexity.js'
import { type ProblemScaling, problemScaling, scaleParams, scaleOptions, unscaleLinear, mulPow2 } from './Scaling.js'
import { type FastOptions, fastSolve, fastSolveSet } from './FastSolve.js'
import { setCertificate, setSolver } from './SetStep.js'
import { f64, f64From, owned } from '../shapes/alloc.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

export { type BackwardMode, type LayerOptions, type Status, LayerError } from './Options.js'

/**
 * The layer's output for one problem.
 *
 * @example
 * const r: LayerResult<N> = dfwLayer()({ P: dense(p), q, t: 1 })
 * r.x; r.objective; r.gap; r.status
 * r.vjp(ones).q   // ∇_q Σᵢ xᵢ
 * r.jvp({ t: 1 }) // ∂x/∂t
 */
export interface LayerResult<N> {
  readonly x: Vec<N>
  /** ½ xᵀP x + qᵀx at the returned x. */
  readonly objective: number
  /** The exact-oracle Frank-Wolfe gap at the returned x (an upper bound on objective − f*). */
  readonly gap: number
  readonly iterations: number
  readonly status: Status
  /** Gradients of ⟨cotangent, x⟩ in q, w, t and (dense) P. */
  readonly vjp: (cotangent: Vec<N>) => Gradients<N>
  /** The directional derivative of x along a tangent of (q, w, t, P). */
  readonly jvp: (tangent: ParamsTangent<N>) => Vec<N>
  /** The differentiable map θ ↦ x at this point, for composing with other maps. */
  readonly linear: Linear<Params<N>, Vec<N>>
  /** With the implicit backward: the face the derivative is taken on (size, margin, exact | kink | non-unique). */
  readonly face?: FaceReport
  /** With the implicit backward on the sets the layer polishes itself: what the exact polish cost. */
  readonly polish?: PolishStats
}

/**
 * What the implicit mode's exact polish cost, over all its attempts: how often it ran,
 * its active-set rounds (Newton steps on the l2 ball) and its face solves (a face system
 * solved directly; with a kept factor, an O(m²) update counts as one).
 *
 * @example
 * dfwLayer()(problem).polish // { attempts: 1, rounds: 12, faceSolves: 13 }
 */
export interface PolishStats {
  readonly attempts: number
  readonly rounds: number
  readonly faceSolves: number
}

/**
 * A run's polish counts as it goes, made by a constructor: a batch keeps every instance's
 * to the end of its call (see `VecRecord` in src/shapes/alloc.ts).
 */
class PolishCount implements PolishStats {
  attempts = 0
  rounds = 0
  faceSolves = 0
}

// -------------------------------------------------------------------------------------
// the layer
// -------------------------------------------------------------------------------------

/** The four sets whose steps the schedules build themselves (the paper's smoothed oracles among them). */
const isOriginal = (set: SetName): set is SetKind => set === 'l1' || set === 'linf' || set === 'l2' || set === 'simplex'

/**
 * Resolves the options into a schedule for one problem.
 *
 * @example
 * resolveSchedule('l1', theta, { schedule: 'paper' }).step.lipschitz // the top eigenvalue of P
 */
export const resolveSchedule = <N>(set: SetName, theta: Params<N>, options: LayerOptions): Schedule => {
  const common = {
    ...(options.tolerance !== undefined ? { tolerance: options.tolerance } : {}),
    ...(options.maxIterations !== undefined ? { maxIterations: options.maxIterations } : {})
  }
  if ((options.schedule ?? 'default') === 'paper') {
    if (!isOriginal(set)) throw new LayerError(`the paper schedule's smoothed oracle exists for l1, linf, l2 and simplex, not for ${set}`, 'options.schedule')
    const lipschitz = options.lipschitz ?? powerIteration(theta.P).value
    return paperSchedule(set, { ...common, lipschitz, ...(options.beta0 !== undefined ? { beta0: options.beta0 } : {}) })
  }
  return defaultSchedule(set, { ...common, ...(options.lipschitz !== undefined ? { lipschitz: options.lipschitz } : {}) })
}

/**
 * The solver as a differentiable map θ ↦ final state: the initial state, then the
 * early-stopping fold of the schedule's step.
 *
 * @example
 * const [state, lin] = solver<N>('l1', schedule)(theta)
 */
export const solver = <N>(set: SetKind, schedule: Schedule, options: D.FoldOptions = {}): Diff<Params<N>, FwState<N>> =>
  D.compose(
    D.foldWhile(fwStep<N>(schedule.step), (s: FwState<N>) => schedule.go(s), schedule.maxIterations, options),
    D.withInit(initialState<N>(set))
  )

/**
 * The certificate at x, from a fresh product P x: f(x), the gap and the gap's rounding floor.
 *
 * @example
 * const { objective, gap } = certificate('l1', theta, x) // gap ≥ objective − f*
 */
export const certificate = <N>(set: SetName, theta: Params<N>, x: Vec<N>, fs?: FeasibleSet): { readonly objective: number; readonly gap: number; readonly gapFloor: number } => {
  const px = f64(x.dim as number)
  applyInto(theta.P, x.data, px)
  if (isOriginal(set)) return certificateAt(set, px, theta.q.data, x.data, theta.w.data, theta.t, rowAbsSums(theta))
  return setCertificate(fs ?? resolveSet(set, theta), px, theta.q.data, x.data, rowAbsSums(theta))
}

const zerosVec = <N>(like: Vec<N>): Vec<N> => ({ dim: like.dim, data: new Float64Array(like.dim) })
const ownedVec = <N>(v: Vec<N>): Vec<N> => ({ dim: v.dim, data: owned(v.data) })

/**
 * Turns a cotangent record of θ into `Gradients` (zeros where symbolic).
 *
 * @example
 * const [x, lin] = layerMap<N>()(theta)
 * toGradients(theta, lin.bwd(ones)).q // a Vec, even when the record holds Zero
 */
export const toGradients = <N>(theta: Params<N>, g: Tan<Params<N>>): Gradients<N> => {
  const r = (g === Zero ? {} : g) as { q?: Tan<Vec<N>>; w?: Tan<Vec<N>>; t?: Tan<number>; P?: Tan<Mat<N, N>>; lower?: Tan<Vec<N>>; upper?: Tan<Vec<N>>; k?: Tan<number> }
  const n = theta.q.dim
  const dense = theta.P.kind === 'dense'
  const vecOf = (v: Tan<Vec<N>> | undefined): Vec<N> => (v === undefined || v === Zero ? zerosVec(theta.q) : ownedVec(v))
  // what reaches the user owns its buffer (see `owned`); P's cotangent expands into its own
  return {
    q: vecOf(r.q),
    w: vecOf(r.w),
    t: r.t === undefined || r.t === Zero ? 0 : r.t,
    ...(dense ? { P: r.P === undefined || r.P === Zero ? { rows: n, cols: n, data: new Float64Array((n as number) * (n as number)) } : r.P } : {}),
    ...(theta.lower !== undefined ? { lower: vecOf(r.lower), upper: vecOf(r.upper) } : {}),
    ...(theta.k !== undefined ? { k: r.k === undefined || r.k === Zero ? 0 : r.k } : {})
  }
}

/**
 * Turns a user tangent into the engine's tangent record of θ.
 *
 * @example
 * const [x, lin] = layerMap<N>()(theta)
 * lin.fwd(fromTangent({ q: dq })) // dx along dq; w, t and P get Zero
 */
export const fromTangent = <N>(t: ParamsTangent<N>): Tan<Params<N>> =>
  ({
    q: t.q ?? Zero, w: t.w ?? Zero, t: t.t ?? Zero, P: t.P ?? Zero,
    ...(t.lower === undefined ? {} : { lower: t.lower }),
    ...(t.upper === undefined ? {} : { upper: t.upper }),
    ...(t.k === undefined ? {} : { k: t.k })
  }) as unknown as Tan<Params<N>>

/** A run: the returned x, how it was reached, and the linear map θ ↦ x at it. */
interface Run<N> {
  readonly x: Vec<N>
  readonly iterations: number
  readonly converged: boolean
  readonly lin: Linear<Params<N>, Vec<N>>
  /** The deadline stopped the run. */
  readonly timedOut?: boolean
  readonly polish?: PolishStats
}

const unrolledRun = <N>(set: SetName, schedule0: Schedule, theta: Params<N>, fold: D.FoldOptions, fs?: FeasibleSet, deadline = Infinity): Run<N> => {
  let timedOut = false
  const schedule: Schedule = !Number.isFinite(deadline) ? schedule0 : {
    ...schedule0,
    go: <M>(s: FwState<M>) => {
      if (!schedule0.go(s)) return false
      if (performance.now() > deadline) { timedOut = true; return false }
      return true
    }
  }
  const [state, lin] = isOriginal(set)
    ? solver<N>(set, schedule, fold)(theta)
    : setSolver<N>(fs ?? resolveSet(set, theta), (s) => schedule.go(s), schedule.maxIterations, fold)(theta)
  return {
    x: state.x,
    iterations: state.k,
    converged: !timedOut && schedule.tolerance > 0 && !schedule0.go(state),
    ...(timedOut ? { timedOut } : {}),
    lin: {
      fwd: (d) => {
        const r = lin.fwd(d)
        return r === Zero ? Zero : ((r as { x?: Tan<Vec<N>> }).x ?? Zero)
      },
      bwd: (ct) => lin.bwd({ x: ct } as unknown as Tan<FwState<N>>)
    }
  }
}

/**
 * The implicit mode's forward result: the returned x, the steps taken, whether the stop
 * test was met, and the face the derivative is taken on.
 *
 * @example
 * const fw: Forward<N> = implicitForward('l1', defaultSchedule('l1', {}), theta)
 * fw.converged ? fw.x : undefined
 */
export interface Forward<N> {
  readonly x: Vec<N>
  readonly iterations: number
  readonly converged: boolean
  /** The deadline stopped the run (`timeLimitMs`). */
  readonly timedOut?: boolean
  /**
   * The polished point's face (for the implicit derivative and the `face` report): the
   * general polish's, or the lean path's (`LeanFace.ts`) when it certified the first
   * point polished.
   */
  readonly face: FaceModel | LeanFace
  /** What the polish cost over all its attempts. */
  readonly polish: PolishStats
}

/** Refuses a P that curved downwards somewhere the solver looked. */
const refuseNonConvex = (c: { readonly direction: Float64Array; readonly curvature: number }): never => {
  throw nonPsdError(c.direction, c.curvature)
}

/**
 * The `LayerError` for a P that is not positive semidefinite, with the evidence.
 *
 * @example
 * throw nonPsdError(d, -4.2) // path 'P'
 */
export const nonPsdError = (d: Float64Array, curvature: number): LayerError => {
  const big: string[] = []
  const order = Array.from(d.keys()).sort((a, b) => Math.abs(d[b]!) - Math.abs(d[a]!)).slice(0, 3)
  for (const i of order) if (d[i] !== 0) big.push(`d[${i}] = ${d[i]!.toPrecision(3)}`)
  return new LayerError(`P is not positive semidefinite: dᵀPd = ${curvature.toPrecision(3)} < 0 along a unit direction d (${big.join(', ')})`, 'P')
}

/**
 * The first step at which the implicit forward polishes without the gap's say-so (then at
 * every power of two). The polish (projected-gradient steps, then the active set) is an
 * exact method from any feasible point; the Frank-Wolfe steps before it only warm-start it
 * (the first attempt was at step 64, and 48 of a small solve's 64 steps went before it).
 */
const FIRST_POLISH = 16

/**
 * The implicit mode's forward pass. Nothing differentiates it, so the default schedule
 * runs in the allocation-free loop of `FastSolve.ts`, which only warm-starts the exact
 * polish (`Polish.ts`: an active-set method with direct face solves, or the sphere's
 * secular equation): it is tried each time the gap has fallen 100-fold since the last
 * attempt (from 1e-3·|f| on) and at steps 16, 32, 64, … (`FIRST_POLISH`), and the first polished point
 * certified as a KKT point ends the run. On a small dense l1, l∞ or simplex instance the
 * first point polished goes to the lean path first (`LeanFace.ts`); when it certifies the
 * point the run ends there, and when it does not the general polish takes the same point. The paper's schedule runs its own fold without
 * keeping linear maps, and is polished once. Negative curvature met anywhere (a line
 * search, a face factorization) is a `LayerError` at `P`.
 *
 * @example
 * const { x, iterations } = implicitForward('simplex', resolveSchedule('simplex', theta, {}), theta)
 */
export const implicitForward = <N>(set: SetName, schedule: Schedule, th: Params<N>, fs0?: FeasibleSet, deadline = Infinity, start?: Float64Array): Forward<N> => {
  const dim = th.q.dim
  // the set's structure, built when the general polish or the set's own steps need it (the
  // lean path and the four sets' fast solve do not)
  let fsv = fs0
  const fsOf = (): FeasibleSet => (fsv ??= resolveSet(set, th))
  const late = Number.isFinite(deadline) ? (): boolean => performance.now() > deadline : (): boolean => false
  const polish = new PolishCount()
  // the lean path (small dense l1, l∞, simplex) takes the first point polished when it
  // certifies it; when it does not, the general polish runs from that same point, so the
  // run is exactly what it is without the lean path
  let leanTried = false
  const lean = (x: Float64Array): LeanFace | undefined => {
    if (leanTried || !leanApplies(set, th)) return undefined
    leanTried = true
    const l = leanPolish(set, th, x)
    if (l !== undefined) { polish.attempts = 1; polish.rounds = l.faces; polish.faceSolves = l.faces }
    return l
  }
  const byLean = (l: LeanFace, iterations: number): Forward<N> => ({ x: { dim, data: l.x }, iterations, converged: true, face: l, polish })
  const polished = (x: Float64Array): PolishResult => {
    const r = polishExact(fsOf(), th, x, Number.isFinite(deadline) ? { deadline } : {})
    if (r.negative !== undefined) refuseNonConvex(r.negative)
    polish.attempts++
    polish.rounds += r.rounds
    polish.faceSolves += r.faceSolves
    return r
  }
  // a warm start (a feasible point, the previous solve's x): polished first, and the run
  // ends there when the polish certifies it
  if (start !== undefined) {
    const l = lean(start)
    if (l !== undefined) return byLean(l, 0)
    const p = polished(start)
    if (p.certified) return { x: { dim, data: p.x }, iterations: 0, converged: true, face: p.face, polish }
  }
  if (schedule.name === 'paper' && isOriginal(set)) {
    const paper = Number.isFinite(deadline) ? { ...schedule, go: <M>(s: FwState<M>) => schedule.go(s) && !late() } : schedule
    const [s] = solver<N>(set, paper, { checkpoint: Infinity })(th)
    const l = lean(s.x.data)
    if (l !== undefined) return byLean(l, s.k)
    const r = polished(s.x.data)
    return { x: { dim, data: r.x }, iterations: s.k, converged: r.certified, face: r.face, timedOut: late() && !r.certified, polish }
  }
  const tol = schedule.tolerance
  let nextTry = 1e-3
  let done: PolishResult | undefined
  let leanDone: LeanFace | undefined
  const r = (isOriginal(set) ? (o: FastOptions) => fastSolve(set, th, o) : (o: FastOptions) => fastSolveSet(fsOf(), th, o))({
    maxIterations: schedule.maxIterations,
    tolerance: tol,
    callback: (k, gap, f, x) => {
      if (late()) return true
      if (tol === 0) return false
      const byGap = gap <= nextTry * Math.abs(f)
      if (!byGap && !(k >= FIRST_POLISH && (k & (k - 1)) === 0)) return false
      if (byGap) nextTry = Math.max(gap / Math.abs(f) / 100, tol)
      const l = lean(x)
      if (l !== undefined) { leanDone = l; return true }
      const p = polished(f64From(x))
      if (p.certified) { done = p; return true }
      return false
    }
  })
  if (r.negative !== undefined) refuseNonConvex(r.negative)
  if (leanDone !== undefined) return byLean(leanDone, r.iterations)
  if (done !== undefined) return { x: { dim, data: done.x }, iterations: r.iterations, converged: true, face: done.face, polish }
  const l = lean(r.x.data)
  if (l !== undefined) return byLean(l, r.iterations)
  const p = polished(r.x.data)
  return { x: { dim, data: p.x }, iterations: r.iterations, converged: p.certified, face: p.face, timedOut: late() && !p.certified, polish }
}

const implicitRun = <N>(set: SetName, schedule: Schedule, theta: Params<N>, fs?: FeasibleSet, deadline = Infinity, start?: Float64Array): Run<N> & { readonly face: FaceReport } => {
  let fw: Forward<N> | undefined
  let derivative: ImplicitDerivative<N> | undefined
  const map = D.custom<Params<N>, Vec<N>>(
    (th) => {
      fw = implicitForward(set, schedule, th, fs, deadline, start)
      return fw.x
    },
    (th) => {
      try {
        derivative = derivativeAt(fw!.face, th)
      } catch (e) {
        if (e instanceof NegativeCurvatureError) refuseNonConvex(e)
        throw e
      }
      return derivative.linear
    }
  )
  const [x, lin] = map(theta)
  return { x, iterations: fw!.iterations, converged: fw!.converged, lin, face: derivative!.face, polish: fw!.polish, ...(fw!.timedOut === true ? { timedOut: true } : {}) }
}

/**
 * The layer. Throws a {@link LayerError} naming the bad value's path for an invalid
 * problem or option.
 *
 * @example
 * const layer = dfwLayer({ schedule: 'default', backward: 'implicit' })
 * const r = layer({ P: dense(p), q, t: 1 })
 * r.x; r.gap; r.vjp(ones).q
 */
export const dfwLayer = (options: LayerOptions = {}) => <N>(problem: Problem<N>): LayerResult<N> => withCall(() => layerCall(options, problem))

/**
 * Runs f as one call of the kernels (`core/simd.ts`): the dense kernels trust their copy
 * of a matrix only within a call, so a write into P between calls is always seen. A call
 * already open (a batch) is joined, not restarted. The call's memos (`CallMemo.ts`) are
 * dropped when it closes.
 *
 * @example
 * withCall(() => solveAll(problems))
 */
export const withCall = <R>(f: () => R): R => {
  if (inCallNow()) return f()
  beginCall()
  try { return f() } finally { endCall(); releaseCallMemos() }
}

/**
 * The rescaling a call of the layer solves an instance with (`Scaling.ts`), or undefined
 * when it runs as given (every problem at ordinary scales). A batch runs the instances
 * that need one through the layer's own path.
 *
 * @example
 * callScaling(theta, { kind: 'l1' }) // undefined unless t, w, q or P is extreme
 */
export const callScaling = <N>(theta: Params<N>, resolved: ResolvedSet<N>): ProblemScaling | undefined =>
  resolved.kind === 'polytope' ? undefined : problemScaling(theta, setSize(theta, resolved))

/**
 * The set's size (its largest |xᵢ|), as its FeasibleSet states it; the l1 ball's max t/wᵢ
 * without building the set (a batch asks for every instance).
 */
const setSize = <N>(theta: Params<N>, resolved: ResolvedSet<N>): number => {
  if (resolved.kind !== 'l1') return resolveSet(resolved.kind, theta, resolved as SetStructure).size
  const w = theta.w.data, t = theta.t
  let m = 0
  for (let i = 0; i < w.length; i++) { const r = t / w[i]!; if (r > m) m = r }
  return m
}

/**
 * What a batch hands one instance's call of the layer (`layerCall`): the instance already
 * validated (its θ and set, exactly as `validateProblem` returns them), the batch's
 * deadline, and a warm start for the implicit mode (a point of the set, polished first).
 *
 * @example
 * layerCall(options, problem, { validated: { theta, set }, start: previousX })
 */
export interface CallGiven<N> {
  readonly validated?: { readonly theta: Params<N>; readonly set: ResolvedSet<N> }
  readonly deadline?: number
  readonly start?: Float64Array
}

/**
 * One call of the layer (`dfwLayer(options)(problem)` without opening a call of the
 * kernels), with what a batch already knows about the instance (see {@link CallGiven}).
 *
 * @example
 * withCall(() => problems.map((p, i) => layerCall(options, p, { validated: checked[i] })))
 */
export const layerCall = <N>(options0: LayerOptions, problem: Problem<N>, given: CallGiven<N> = {}): LayerResult<N> => withInstance(() => {
  const { theta: theta0, set: resolved } = given.validated ?? validateProblem(problem, options0)
  const set = resolved.kind, n = theta0.q.data.length
  const deadline = given.deadline ?? (options0.timeLimitMs === undefined ? Infinity : performance.now() + options0.timeLimitMs)
  const implicit = (options0.backward ?? 'implicit') === 'implicit'
  // a negative diagonal entry is negative curvature at no cost; the rest is certified
  // below, before a status claims a certificate
  const nd = negativeDiagonal(theta0.P)
  if (nd !== undefined) refuseNonConvex(nd)
  // at extreme scales the problem is solved rescaled (Scaling.ts): x = sₓ·y, f = s_f·f″
  const sc = callScaling(theta0, resolved)
  const theta = sc === undefined ? theta0 : scaleParams(theta0, sc)
  const options = sc === undefined ? options0 : scaleOptions(options0, sc)
  const schedule = resolveSchedule(set, theta, options)
  const fs = isOriginal(set) ? undefined : resolveSet(set, theta, resolved as SetStructure)
  // a warm start is a point of the set as the caller sees it: y = x / sₓ in the rescaled problem
  const start = given.start === undefined || sc === undefined ? given.start : Float64Array.from(given.start, (v) => mulPow2(v, -sc.ex))
  let run: Run<N> & { readonly face?: FaceReport }
  try {
    if (fs?.solver !== undefined) {
      // a set that solves on its own (the polytope known by its oracle, the nuclear-norm ball)
      const r = fs.solver.solve(theta, { maxIterations: schedule.maxIterations, tolerance: schedule.tolerance, ...(Number.isFinite(deadline) ? { deadline } : {}) }, implicit ? 'implicit' : 'unrolled')
      run = {
        x: { dim: theta.q.dim, data: r.x }, iterations: r.iterations, converged: r.converged, lin: r.linear,
        ...(r.face === undefined ? {} : { face: r.face }), ...(!r.converged && performance.now() > deadline ? { timedOut: true } : {})
      }
    } else run = implicit ? implicitRun<N>(set, schedule, theta, fs, deadline, start) : unrolledRun<N>(set, schedule, theta, unrolledFoldOptions(options, n), fs, deadline)
  } catch (e) {
    if (e instanceof NegativeCurvatureError) refuseNonConvex(e)
    throw e
  }
  const cert0 = certificate(set, theta, run.x, fs)
  const cert = sc === undefined ? cert0 : { objective: mulPow2(cert0.objective, sc.ef), gap: mulPow2(cert0.gap, sc.ef), gapFloor: mulPow2(cert0.gapFloor, sc.ef) }
  if (sc !== undefined) run = { ...run, x: { dim: run.x.dim, data: Float64Array.from(run.x.data, (v) => mulPow2(v, sc.ex)) }, lin: unscaleLinear(run.lin, sc) }
  const lin = run.lin
  // the default schedule's status is its stop test on the returned point's own certificate
  // (the run's test reads P x as the steps updated it, which drifts by rounding); in
  // implicit mode, whatever the schedule, it says whether the returned (polished) point is
  // certified: a KKT point to the polish's tolerances, or the gap test met
  const met = gapMet(cert.gap, cert.objective, schedule.tolerance, cert.gapFloor)
  const converged = implicit ? run.converged || met : schedule.name === 'default' ? met : run.converged
  // `converged` claims the gap bounds f − f*: true for a convex problem only
  if (converged || implicit) {
    const evidence = certifyConvex(theta0.P)
    if (evidence !== undefined) refuseNonConvex(evidence)
  }
  return resultWith(theta0, resolved, lin, {
    x: ownedVec(run.x),
    objective: cert.objective,
    gap: cert.gap,
    iterations: run.iterations,
    status: converged ? 'converged' : run.timedOut === true ? 'timeLimit' : 'maxIterations',
    ...(run.face === undefined ? {} : { face: run.face }),
    ...(run.polish === undefined ? {} : { polish: run.polish })
  })
})

/**
 * A layer result from its fields and its linear map: `vjp` and `jvp` check their argument
 * against θ and the set, and run as one call of the kernels (the single layer's and the
 * batch's implicit path's results are built here alike).
 *
 * @example
 * resultWith(theta, resolved, lin, { x, objective, gap, iterations, status })
 */
export const resultWith = <N>(
  theta: Params<N>, resolved: ResolvedSet<N>, lin: LayerResult<N>['linear'],
  fields: Omit<LayerResult<N>, 'vjp' | 'jvp' | 'linear'>
): LayerResult<N> => {
  const n = theta.q.data.length
  // the fields one by one, in their order (a spread of fields with optional keys was a
  // measurable part of a small instance's cost)
  const r: { -readonly [K in keyof LayerResult<N>]: LayerResult<N>[K] } = {
    x: fields.x, objective: fields.objective, gap: fields.gap, iterations: fields.iterations, status: fields.status
  } as LayerResult<N>
  if (fields.face !== undefined) r.face = fields.face
  if (fields.polish !== undefined) r.polish = fields.polish
  r.vjp = (ct) => {
    validateCotangent(ct, n)
    return withCall(() => toGradients(theta, lin.bwd(ct)))
  }
  r.jvp = (tan) => withCall(() => {
    validateTangent(tan, resolved, n)
    const d = lin.fwd(fromTangent(tan))
    return d === Zero ? zerosVec(theta.q) : ownedVec(d)
  })
  r.linear = lin
  return r
}
