/**
 * The implicit mode over a batch: each instance's forward pass (the fast solve, the exact
 * polish, the face) and its implicit derivative, exactly as `dfwLayer` computes them for
 * the instance alone (`Layer.layerCall`: the same functions on the same values in the same
 * order, so every field of its result is bitwise the layer's), with what does not depend
 * on the instance done once:
 * - the schedule, once per set and value of L (the default schedule depends on the options
 *   alone);
 * - an operator's negative diagonal entry, once per operator object (the convexity
 *   certificate and the row sums are memoized per operator within the call already,
 *   `CallMemo.ts`);
 * - the face and derivative kept per instance (`ImplicitSolved`: a lean face's derivative
 *   made for each vjp call, a general face's with the solve; the `LayerResult` made when
 *   read), so that the batch's `vjp` takes q's, w's and t's gradients from it without
 *   forming P's gradient (n × n per instance) until `pEach` or `pSum` asks for it, and
 *   `pSum` adds the instances' −v xᵀ terms into one matrix.
 *
 * For the sets the layer solves through `fastSolve` and the polish (l1, l∞, l2, simplex)
 * at ordinary scales; the engine routes every other instance through `layerCall`. Small
 * dense instances on l1, l∞ and the simplex take the lean exact path (`LeanFace.ts`)
 * inside `implicitForward`, as the layer's do, so they stay bitwise the layer's.
 *
 * @since 0.1.0
 */
import type { Vec } from '../../shapes/Vec.js'
import type { LinearOperator } from '../../core/LinearOperator.js'
import type { Params, SetKind } from '../Problem.js'
import type { LayerOptions } from '../Options.js'
import { gapMet } from '../Oracle.js'
import { certifyConvex, negativeDiagonal, type NonConvexity } from '../Convexity.js'
import type { ResolvedSet } from '../Validate.js'
import { type LayerResult, certificate, implicitForward, nonPsdError, resolveSchedule, resultWith } from '../Layer.js'
import { withInstance } from '../CallMemo.js'
import type { Schedule } from '../Schedule.js'
import type { FaceModel } from '../FaceModel.js'
import { type ImplicitDerivative, type VjpParts, derivativeAt } from '../Implicit.js'
import type { LeanFace } from '../LeanFace.js'
import { NegativeCurvatureError } from '../Errors.js'
import { VecRecord, owned } from '../../shapes/alloc.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * An instance the batch solved in implicit mode: its derivative and the face it is taken
 * on (x and F for P's gradient −v xᵀ), and whether P is dense (P has a gradient).
 *
 * @example
 * const { q, acc, v } = kept.derivative.vjpParts(ct)
 * addPGradient(sum, kept.face.free, v, kept.face.x)
 */
export interface KeptDerivative<N> {
  readonly derivative: ImplicitDerivative<N>
  readonly face: { readonly free: Int32Array; readonly x: Float64Array }
  readonly dense: boolean
  /** `derivative.vjpParts(ct)`, bitwise (without keeping a lean face's derivative record). */
  readonly vjpParts: (ct: Float64Array) => VjpParts
}

/**
 * An instance the batch solved in implicit mode: its kept derivative, its x, and its
 * `LayerResult`, made on the first `result()` (bitwise what `resultWith` makes at once).
 * A class, not a record of closures: the instances of a batch live to the end of the call,
 * and V8 makes the objects of an object literal's or a closure's allocation site in its old
 * generation once a young collection has found all of them alive, where each, dead after
 * its call, keeps the young objects it points to alive until the next full collection
 * (`Engine.solveStream`); objects made by a constructor are not pretenured by site.
 *
 * @example
 * const s = implicitInstance(options, shared, theta, { kind: 'l1' })
 * s.x; s.derivative.vjpParts(ct); s.result().vjp(ct)
 */
export class ImplicitSolved<N> implements KeptDerivative<N> {
  #made: LayerResult<N> | undefined
  #derivative: ImplicitDerivative<N> | undefined
  /**
   * `derivative` is the general face's derivative, made with the solve, or undefined for a
   * lean face (`LeanFace.ts`), whose derivative is a function of the face and θ alone and
   * is made when asked: `vjpParts` makes it for the call and keeps nothing, `derivative`
   * makes it once.
   */
  constructor(
    derivative: ImplicitDerivative<N> | undefined,
    readonly face: FaceModel | LeanFace,
    readonly dense: boolean,
    readonly x: Vec<N>,
    private readonly theta: Params<N>,
    private readonly resolved: ResolvedSet<N>,
    private readonly objective: number,
    private readonly gap: number,
    private readonly iterations: number,
    private readonly status: LayerResult<N>['status'],
    private readonly polish: NonNullable<LayerResult<N>['polish']>
  ) {
    this.#derivative = derivative
  }

  /** The instance's implicit derivative (a lean face's made on the first read). */
  get derivative(): ImplicitDerivative<N> {
    return (this.#derivative ??= derivativeAt(this.face, this.theta))
  }

  vjpParts(ct: Float64Array): VjpParts {
    return (this.#derivative ?? derivativeAt(this.face, this.theta)).vjpParts(ct)
  }

  /** The instance's `LayerResult`, made once. */
  result(): LayerResult<N> {
    return (this.#made ??= resultWith(this.theta, this.resolved, this.derivative.linear, {
      x: this.x,
      objective: this.objective,
      gap: this.gap,
      iterations: this.iterations,
      status: this.status,
      face: this.derivative.face,
      polish: this.polish
    }))
  }
}

/**
 * Facts the batch takes once: the schedule per set and L, the negative diagonal per
 * operator.
 *
 * @example
 * const shared = implicitShared(options)
 * implicitInstance(options, shared, theta, set)
 */
export interface ImplicitShared {
  readonly schedule: (set: SetKind, options: LayerOptions, theta: Params<unknown>) => Schedule
  readonly negativeDiagonal: (P: LinearOperator<unknown>) => NonConvexity | undefined
}

// -------------------------------------------------------------------------------------
// the instances
// -------------------------------------------------------------------------------------

/**
 * Whether the batch's implicit path solves the instance (see the module notes): the
 * implicit backward, a set of the four the fast solve knows.
 *
 * @example
 * implicitBatched({}, 'l1') // true
 */
export const implicitBatched = (options: LayerOptions, set: string): set is SetKind =>
  (options.backward ?? 'implicit') === 'implicit' && (set === 'l1' || set === 'linf' || set === 'l2' || set === 'simplex')

/**
 * The batch's once-only facts, empty.
 *
 * @example
 * const shared = implicitShared()
 */
export const implicitShared = (): ImplicitShared => {
  const schedules = new Map<string, Schedule>()
  const diag = new Map<object, { readonly v: NonConvexity | undefined }>()
  return {
    schedule: (set, options, theta) => {
      // a schedule reads the options alone (the engine's per-instance options differ only
      // in L), except the paper's without L, which takes it from P by power iteration
      const paper = (options.schedule ?? 'default') === 'paper'
      if (paper && options.lipschitz === undefined) return resolveSchedule(set, theta, options)
      const key = `${set}:${String(options.lipschitz)}`
      let s = schedules.get(key)
      if (s === undefined) { s = resolveSchedule(set, theta, options); schedules.set(key, s) }
      return s
    },
    negativeDiagonal: (P) => {
      let d = diag.get(P)
      if (d === undefined) { d = { v: negativeDiagonal(P) }; diag.set(P, d) }
      return d.v
    }
  }
}

const refuse = (c: { readonly direction: Float64Array; readonly curvature: number }): never => {
  throw nonPsdError(c.direction, c.curvature)
}

const ownedVec = <N>(v: Vec<N>): Vec<N> => new VecRecord(v.dim, owned(v.data))

/**
 * One instance in implicit mode, as `layerCall(options, problem, { validated, start })`
 * computes it for an instance at ordinary scales (the caller has checked `callScaling`),
 * with its face and derivative kept (`ImplicitSolved`). Throws the instance's `LayerError`.
 *
 * @example
 * const solved = implicitInstance(options, shared, theta, { kind: 'l1' })
 */
export const implicitInstance = <N>(
  options: LayerOptions, shared: ImplicitShared, theta: Params<N>, resolved: ResolvedSet<N>, start?: Float64Array
): ImplicitSolved<N> => withInstance(() => {
  const set = resolved.kind as SetKind
  const deadline = options.timeLimitMs === undefined ? Infinity : performance.now() + options.timeLimitMs
  const nd = shared.negativeDiagonal(theta.P as LinearOperator<unknown>)
  if (nd !== undefined) refuse(nd)
  const schedule = shared.schedule(set, options, theta as Params<unknown>)
  let fw: ReturnType<typeof implicitForward<N>>
  let derivative: ImplicitDerivative<N> | undefined
  try {
    fw = implicitForward(set, schedule, theta, undefined, deadline, start)
    // a lean face's derivative is made when asked (`ImplicitSolved`); a general face's now,
    // inside the instance's scope, where its refusal of negative curvature belongs
    derivative = 'L' in fw.face ? undefined : derivativeAt(fw.face, theta)
  } catch (e) {
    if (e instanceof NegativeCurvatureError) refuse(e)
    throw e
  }
  const cert = certificate(set, theta, fw.x)
  const met = gapMet(cert.gap, cert.objective, schedule.tolerance, cert.gapFloor)
  const converged = fw.converged || met
  const evidence = certifyConvex(theta.P)
  if (evidence !== undefined) refuse(evidence)
  return new ImplicitSolved(
    derivative, fw.face, theta.P.kind === 'dense', ownedVec(fw.x), theta, resolved, cert.objective, cert.gap, fw.iterations,
    converged ? 'converged' : fw.timedOut === true ? 'timeLimit' : 'maxIterations', fw.polish
  )
})
