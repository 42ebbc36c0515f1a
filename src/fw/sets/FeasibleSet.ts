/**
 * A feasible set with its parameters resolved, for one problem: what the solver's generic
 * parts (certificates, the active-set polish, the face and its derivative, validation's
 * magnitude rule) ask of a set, so that each set is one value and not a branch in every
 * module. Arrays are plain Float64Arrays of length n (dimensions are erased inside the
 * solver; the layer restores them).
 *
 * @since 0.1.0
 */
import type { Polyhedron, CoordState } from './Polyhedron.js'
import type { Params, SetName } from '../Problem.js'
import type { Vec } from '../../shapes/Vec.js'
import type { Linear } from '../../core/Linear.js'
import type { FaceReport } from '../FaceReport.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A tangent of the set's parameters, as plain data: absent fields are zero.
 *
 * @example
 * const dt: SetTangent = { t: 1, k: 0 } // along t
 */
export interface SetTangent {
  readonly w?: Float64Array | undefined
  readonly t: number
  readonly lower?: Float64Array | undefined
  readonly upper?: Float64Array | undefined
  readonly k: number
}

/**
 * The gradients of the set's parameters, accumulated in place by the transposed maps
 * (the accumulator belongs to the one derivative being computed).
 *
 * @example
 * const acc: SetGradient = { w: new Float64Array(n), t: 0, k: 0 }
 */
export interface SetGradient {
  readonly w: Float64Array
  t: number
  readonly lower?: Float64Array
  readonly upper?: Float64Array
  k: number
}

/**
 * How a polyhedral set's description moves with its parameters θₛ (w, t, lower, upper,
 * k), and the transposes of those maps: the derivative of a fixed coordinate's bound
 * (`bound`), of a row's right-hand side (`rhs`) and of a row's coefficient (`coef`, only
 * the l1 ball's weights move); each `…T` adds `a` times the map's row into the gradient.
 *
 * @example
 * const dLo = maps.bound(tan, i, AT_LO) // d(loᵢ) along the tangent
 */
export interface ParamMaps {
  /** d(the bound coordinate i sits at, in `state`) along the tangent. */
  readonly bound: (tan: SetTangent, i: number, state: CoordState) => number
  /** d(row r's right-hand side) along the tangent. */
  readonly rhs: (tan: SetTangent, r: number) => number
  /** d(row r's coefficient of coordinate i) along the tangent (absent: constant rows). */
  readonly coef?: (tan: SetTangent, r: number, i: number) => number
  /** The transpose of `bound`: adds a times its row into `acc`. */
  readonly boundT: (acc: SetGradient, i: number, state: CoordState, a: number) => void
  /** The transpose of `rhs`. */
  readonly rhsT: (acc: SetGradient, r: number, a: number) => void
  /** The transpose of `coef`. */
  readonly coefT?: (acc: SetGradient, r: number, i: number, a: number) => void
}

/**
 * One step of the default schedule from x: the direction u, given by its nonzero entries
 * (`idx`, `vals`; `idx` absent: `vals` is all of u), the largest feasible step γmax, and the
 * coordinates a step of γmax puts exactly on a bound (`snap`: [i, value] pairs), so that
 * rounding never leaves x a hair off the face it reached.
 *
 * @example
 * const d: StepDirection = { idx: Int32Array.of(3), vals: Float64Array.of(0.5), gmax: 1, snap: [[3, 1]] }
 */
export interface StepDirection {
  readonly idx?: Int32Array
  readonly vals: Float64Array
  readonly gmax: number
  readonly snap?: ReadonlyArray<readonly [number, number]>
}

/**
 * A set for one problem.
 *
 * @example
 * const C = resolveSet('box', theta) // C.lmoValue(g) = Σ min(gᵢ lowerᵢ, gᵢ upperᵢ)
 */
export interface FeasibleSet {
  readonly kind: SetName
  readonly n: number
  /** Rᵢ: the largest |xᵢ| over the set (the magnitude rule, the gap's rounding floor). */
  readonly reach: Float64Array
  /** A scale of the set: max Rᵢ. */
  readonly size: number
  /** The exact oracle's value min over the set of ⟨g, s⟩. */
  readonly lmoValue: (g: Float64Array) => number
  /** How far x lies outside the set (absolute; 0 when feasible). */
  readonly violation: (x: Float64Array) => number
  /** The description the active-set polish works on (absent for the l2 ball). */
  readonly polyhedron?: Polyhedron
  /** The Euclidean projection onto the set, where it is cheap (`out` may be `y`). */
  readonly project?: (y: Float64Array, out: Float64Array) => void
  /** The parameter maps of the face derivative. */
  readonly params: ParamMaps
  /** The exact oracle: writes argmin over the set of ⟨g, s⟩ into `out` and returns its value. */
  readonly vertex?: (g: Float64Array, out: Float64Array) => number
  /** A feasible starting point for the default schedule (given q: the oracle's vertex at g = q, say). */
  readonly start?: (q: Float64Array) => Float64Array
  /**
   * The default schedule's step at x with gradient g = Px + q: a pairwise or away
   * direction (so the schedule converges linearly on a polytope), or undefined when x is
   * optimal for the step's rule. Sets without it (the four original ones) use the
   * schedule's own steps.
   */
  readonly direction?: (x: Float64Array, g: Float64Array) => StepDirection | undefined
  /**
   * How a step's direction (`direction(x, g)`, with its choice of coordinates held fixed)
   * moves with x and the set's parameters: the tangents of `vals` and `gmax`, and their
   * transposes (adding into the cotangent of x and the parameters' gradient). The default
   * schedule's unrolled derivative differentiates through it.
   */
  readonly directionLinear?: (x: Float64Array, d: StepDirection) => DirectionLinear
  /**
   * A set whose solve is its own (the polytope known only by its oracle, the nuclear-norm
   * ball): the layer hands it θ and the schedule's limits, in either backward mode, and
   * takes back x, whether it is certified, the face report and the derivative.
   */
  readonly solver?: SetSolver
  /** The starting point's derivative in the set's parameters (absent: it does not move). */
  readonly startLinear?: (q: Float64Array, x0: Float64Array) => {
    /** dx₀ along the set's parameters' tangent. */
    readonly fwd: (st: SetTangent) => Float64Array
    /** Adds the transpose of `fwd` for the cotangent c of x₀ into `acc`. */
    readonly bwd: (c: Float64Array, acc: SetGradient) => void
  }
}

/**
 * The linearization of one step direction (see `FeasibleSet.directionLinear`).
 *
 * @example
 * const { dvals, dgmax } = lin.fwd(dx, st)
 */
export interface DirectionLinear {
  /** The tangents of `vals` and `gmax` for a tangent dx of x (undefined: 0) and st of the parameters. */
  readonly fwd: (dx: Float64Array | undefined, st: SetTangent) => { readonly dvals: Float64Array; readonly dgmax: number }
  /** Adds the transposes of `fwd` for the cotangents cv (of vals) and cg (of gmax) into cx and acc. */
  readonly bwd: (cv: Float64Array, cg: number, cx: Float64Array, acc: SetGradient) => void
}

/**
 * The limits a set's own solver runs under: the step cap, the default schedule's gap
 * tolerance (0: exactly `maxIterations` steps), and an optional wall-clock deadline
 * (performance.now()).
 *
 * @example
 * const limits: SolveLimits = { maxIterations: 5000, tolerance: 1e-9 }
 */
export interface SolveLimits {
  readonly maxIterations: number
  readonly tolerance: number
  readonly deadline?: number
}

/**
 * What a set's own solver returns: x, the steps taken, whether x is certified (a KKT point,
 * or the gap test met), the face report (implicit mode), and θ ↦ x's linear map at θ.
 *
 * @example
 * const r = fs.solver!.solve(theta, limits, 'implicit')
 * r.linear.bwd(ct) // the cotangent of θ
 */
export interface SetSolution<N> {
  readonly x: Float64Array
  readonly iterations: number
  readonly converged: boolean
  readonly face?: FaceReport
  readonly linear: Linear<Params<N>, Vec<N>>
}

/**
 * A set's own solver (see `FeasibleSet.solver`). It may refuse a backward mode it does not
 * support by throwing a `LayerError` at `options.backward`.
 *
 * @example
 * const solver: SetSolver = { solve: (theta, limits, backward) => … }
 */
export interface SetSolver {
  /** Solves at θ under the limits, for the backward mode's derivative. */
  readonly solve: <N>(theta: Params<N>, limits: SolveLimits, backward: 'implicit' | 'unrolled') => SetSolution<N>
}
