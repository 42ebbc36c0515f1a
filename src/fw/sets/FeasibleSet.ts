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
import type { SetName } from '../Problem.js'

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
}
