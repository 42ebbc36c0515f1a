/**
 * Validation of a batch's instances, with the checks of an operator done once per operator
 * object: each instance gets exactly the `LayerError` (message and path) that
 * `validateProblem` gives it alone, or the same θ, but the O(n²) passes over a dense P
 * (its symmetry, entry by entry, and its finiteness) run once for all the instances that
 * share it, and the magnitude rule (ρᵢ Σⱼ |Pᵢⱼ| ρⱼ ≤ 1e150, with ρ from the instance's set
 * and radius) costs each instance O(n): `checkMagnitudes` bounds it by ρ_max² · maxᵢ Σⱼ
 * |Pᵢⱼ| from the call's row sums of P (computed once), and makes its full pass, which names
 * the same entry, only where that bound does not hold with room to spare.
 *
 * The instance's own fields (q, t, w, the set, the options' rules) are checked by
 * `validateProblem` itself, on the problem with P replaced by a stand-in of P's size
 * (diag 0, rank 0) whose structure, magnitudes and symmetry always hold; P's structure is
 * checked before (as `validateProblem` checks it first) and its magnitudes and symmetry
 * after (as it checks them last), so the first error of an instance is the one it gets
 * alone.
 *
 * @since 0.1.0
 */
import { unsafeDim } from '../../shapes/Dim.js'
import { type LinearOperator, lowRank } from '../../core/LinearOperator.js'
import type { Params, Problem } from '../Problem.js'
import { type LayerOptions, LayerError } from '../Options.js'
import { operatorRowAbs } from '../Oracle.js'
import { type ResolvedSet, checkMagnitudes, checkOperatorStructure, checkSymmetry, validateOptions, validateProblem } from '../Validate.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A validator for the instances of one batch: `check(problem)` returns θ and the resolved
 * set, or throws the instance's `LayerError`. Facts about operators are kept for the
 * batch's lifetime (one call: the inputs are not written meanwhile).
 *
 * @example
 * const v = batchValidator(options)
 * const { theta, set } = v.check(problems[3])
 */
export interface BatchValidator {
  readonly check: <N>(problem: Problem<N>) => { readonly theta: Params<N>; readonly set: ResolvedSet<N> }
}

interface OperatorFacts {
  /** The symmetry check's error, or undefined when P is symmetric. */
  readonly asymmetry: LayerError | undefined
}

// -------------------------------------------------------------------------------------
// the validator
// -------------------------------------------------------------------------------------

const standIns = new Map<number, LinearOperator<unknown>>()

/** A diag 0, rank 0 operator of size n: its structure, magnitudes and symmetry always hold. */
const standIn = (n: number): LinearOperator<unknown> => {
  let s = standIns.get(n)
  if (s === undefined) {
    s = lowRank({ dim: unsafeDim<unknown>(n), data: new Float64Array(n) }, 0, new Float64Array(0))
    standIns.set(n, s)
  }
  return s
}

const factsOf = <N>(P: LinearOperator<N>): OperatorFacts => {
  // symmetry reads finite entries only (validateProblem checks it after the magnitudes,
  // which refuse a non-finite entry): an operator with one gets no verdict here, and each
  // instance's magnitude check refuses it
  if (P.kind === 'dense') {
    const abs = operatorRowAbs(P)
    for (let i = 0; i < abs.length; i++) if (!Number.isFinite(abs[i]!)) return { asymmetry: undefined }
  }
  try { checkSymmetry(P) } catch (e) {
    if (!(e instanceof LayerError)) throw e
    return { asymmetry: e }
  }
  return { asymmetry: undefined }
}

/**
 * A validator for one batch (see the module notes).
 *
 * @example
 * const v = batchValidator({ schedule: 'paper' })
 * problems.map((p) => { try { return v.check(p) } catch (e) { return e } })
 */
export const batchValidator = (options: LayerOptions): BatchValidator => {
  const facts = new Map<object, OperatorFacts>()
  // the options once for the batch (their error is the whole batch's, as before any instance)
  validateOptions(options)
  const check = <N>(problem: Problem<N>): { readonly theta: Params<N>; readonly set: ResolvedSet<N> } => {
    const u = problem as unknown
    if (typeof u !== 'object' || u === null || Array.isArray(u)) return validateProblem(problem, options, true)
    const P = (u as { P?: unknown }).P
    checkOperatorStructure(P)
    const op = P as LinearOperator<N>
    const { theta: th0, set } = validateProblem({ ...problem, P: standIn(op.dim as number) as LinearOperator<N> }, options, true)
    const theta: Params<N> = { ...th0, P: op }
    let f = facts.get(op)
    if (f === undefined) { f = factsOf(op); facts.set(op, f) }
    // O(n) per instance for a dense P: the pass over P is the call's row sums, done once
    checkMagnitudes(set.kind, theta)
    if (f.asymmetry !== undefined) throw f.asymmetry
    return { theta, set }
  }
  return { check }
}
