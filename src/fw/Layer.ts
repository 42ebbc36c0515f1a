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
import { powerIteration } from '../core/PowerIteration.js'
import type { Gradients, Params, ParamsTangent, Problem, SetKind } from './Problem.js'
import { type FwState, fwStep, initialState } from './Step.js'
import { type Schedule, type ScheduleName, paperSchedule, defaultSchedule } from './Schedule.js'
import { certificateAt, gapMet } from './Oracle.js'
import { validateProblem, solverSet, validateCotangent, validateTangent } from './Validate.js'
import { type BackwardMode, type LayerOptions, type Status, LayerError, unrolledFoldOptions } from './Options.js'
import { implicitDerivative } from './Implicit.js'
import { polish } from './Polish.js'
import { fastSolve } from './FastSolve.js'
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
}

// -------------------------------------------------------------------------------------
// the layer
// -------------------------------------------------------------------------------------

/**
 * Resolves the options into a schedule for one problem.
 *
 * @example
 * resolveSchedule('l1', theta, { schedule: 'paper' }).step.lipschitz // the top eigenvalue of P
 */
export const resolveSchedule = <N>(set: SetKind, theta: Params<N>, options: LayerOptions): Schedule => {
  const common = {
    ...(options.tolerance !== undefined ? { tolerance: options.tolerance } : {}),
    ...(options.maxIterations !== undefined ? { maxIterations: options.maxIterations } : {})
  }
  if ((options.schedule ?? 'default') === 'paper') {
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
export const certificate = <N>(set: SetKind, theta: Params<N>, x: Vec<N>): { readonly objective: number; readonly gap: number; readonly gapFloor: number } => {
  const px = f64(x.dim as number)
  applyInto(theta.P, x.data, px)
  return certificateAt(set, px, theta.q.data, x.data, theta.w.data, theta.t)
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
  const r = (g === Zero ? {} : g) as { q?: Tan<Vec<N>>; w?: Tan<Vec<N>>; t?: Tan<number>; P?: Tan<Mat<N, N>> }
  const n = theta.q.dim
  const dense = theta.P.kind === 'dense'
  // what reaches the user owns its buffer (see `owned`); P's cotangent expands into its own
  return {
    q: r.q === undefined || r.q === Zero ? zerosVec(theta.q) : ownedVec(r.q),
    w: r.w === undefined || r.w === Zero ? zerosVec(theta.q) : ownedVec(r.w),
    t: r.t === undefined || r.t === Zero ? 0 : r.t,
    ...(dense ? { P: r.P === undefined || r.P === Zero ? { rows: n, cols: n, data: new Float64Array((n as number) * (n as number)) } : r.P } : {})
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
  ({ q: t.q ?? Zero, w: t.w ?? Zero, t: t.t ?? Zero, P: t.P ?? Zero }) as unknown as Tan<Params<N>>

/** A run: the returned x, how it was reached, and the linear map θ ↦ x at it. */
interface Run<N> {
  readonly x: Vec<N>
  readonly iterations: number
  readonly converged: boolean
  readonly lin: Linear<Params<N>, Vec<N>>
}

const unrolledRun = <N>(set: SetKind, schedule: Schedule, theta: Params<N>, fold: D.FoldOptions): Run<N> => {
  const [state, lin] = solver<N>(set, schedule, fold)(theta)
  return {
    x: state.x,
    iterations: state.k,
    converged: schedule.tolerance > 0 && !schedule.go(state),
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
 * The implicit mode's forward result: the returned x, the steps taken, and whether the
 * stop test was met.
 *
 * @example
 * const fw: Forward<N> = implicitForward('l1', defaultSchedule('l1', {}), theta)
 * fw.converged ? fw.x : undefined
 */
export interface Forward<N> {
  readonly x: Vec<N>
  readonly iterations: number
  readonly converged: boolean
}

/**
 * The implicit mode's forward pass. Nothing differentiates it, so the default schedule
 * runs in the allocation-free loop of `FastSolve.ts`, and the iterate is polished on its
 * face each time the gap has fallen 100-fold since the last attempt (from 1e-3·|f| on),
 * and at steps 64, 128, 256, … (Frank-Wolfe needs at least s steps to reach a solution
 * with s nonzeros, and zigzags on the way; the active set finishes such solves);
 * the first polished point whose gap meets the tolerance ends the run. The paper's
 * schedule runs its own fold without keeping linear maps, and is polished once.
 *
 * @example
 * const { x, iterations } = implicitForward('simplex', resolveSchedule('simplex', theta, {}), theta)
 */
export const implicitForward = <N>(set: SetKind, schedule: Schedule, th: Params<N>): Forward<N> => {
  if (schedule.name === 'paper') {
    const [s] = solver<N>(set, schedule, { checkpoint: Infinity })(th)
    return { x: polish(set, th, s.x), iterations: s.k, converged: schedule.tolerance > 0 && !schedule.go(s) }
  }
  const tol = schedule.tolerance
  let nextTry = 1e-3
  let polished: Vec<N> | undefined
  const r = fastSolve(set, th, {
    maxIterations: schedule.maxIterations,
    tolerance: tol,
    callback: (k, gap, f, x) => {
      if (tol === 0) return false
      const byGap = gap <= nextTry * Math.abs(f)
      if (!byGap && !(k >= 64 && (k & (k - 1)) === 0)) return false
      if (byGap) nextTry = Math.max(gap / Math.abs(f) / 100, tol)
      const xp = polish(set, th, { dim: th.q.dim, data: f64From(x) })
      const c = certificate(set, th, xp)
      if (gapMet(c.gap, c.objective, tol, c.gapFloor)) { polished = xp; return true }
      return false
    }
  })
  if (polished !== undefined) return { x: polished, iterations: r.iterations, converged: true }
  // the loop may stop at its cap and the polish still certify the point: the status is the
  // polished point's own
  const xp = polish(set, th, r.x)
  const cp = certificate(set, th, xp)
  return { x: xp, iterations: r.iterations, converged: r.converged || gapMet(cp.gap, cp.objective, tol, cp.gapFloor) }
}

const implicitRun = <N>(set: SetKind, schedule: Schedule, theta: Params<N>): Run<N> => {
  let fw: Forward<N> | undefined
  const map = D.custom<Params<N>, Vec<N>>(
    (th) => {
      fw = implicitForward(set, schedule, th)
      return fw.x
    },
    (th, x) => implicitDerivative(set, th, x).linear
  )
  const [x, lin] = map(theta)
  return { x, iterations: fw!.iterations, converged: fw!.converged, lin }
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
export const dfwLayer = (options: LayerOptions = {}) => <N>(problem: Problem<N>): LayerResult<N> => {
  const { theta, set: resolved } = validateProblem(problem, options)
  const set = solverSet(resolved)
  const n = theta.q.data.length
  const schedule = resolveSchedule(set, theta, options)
  const run = (options.backward ?? 'implicit') === 'unrolled'
    ? unrolledRun<N>(set, schedule, theta, unrolledFoldOptions(options, n))
    : implicitRun<N>(set, schedule, theta)
  const cert = certificate(set, theta, run.x)
  const lin = run.lin
  return {
    x: ownedVec(run.x),
    objective: cert.objective,
    gap: cert.gap,
    iterations: run.iterations,
    // the default schedule's status is its stop test on the returned point's own certificate
    // (the run's test reads P x as the steps updated it, which drifts by rounding)
    status: (schedule.name === 'default' ? gapMet(cert.gap, cert.objective, schedule.tolerance, cert.gapFloor) : run.converged) ? 'converged' : 'maxIterations',
    vjp: (ct) => {
      validateCotangent(ct, n)
      return toGradients(theta, lin.bwd(ct))
    },
    jvp: (tan) => {
      validateTangent(tan, resolved, n)
      const d = lin.fwd(fromTangent(tan))
      return d === Zero ? zerosVec(theta.q) : ownedVec(d)
    },
    linear: lin
  }
}
