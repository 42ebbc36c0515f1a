/**
 * Validation of a batch's instances, with the checks of an operator done once per operator
 * object: each instance gets exactly the `LayerError` (message and path) that
 * `validateProblem` gives it alone, or the same θ, but the O(n²) passes over a dense P
 * (its symmetry, entry by entry, and its finiteness) run once for all the instances that
 * share it, and the magnitude rule's pass over P (ρᵢ Σⱼ |Pᵢⱼ| ρⱼ ≤ 1e150, with ρ from the
 * instance's set and radius) is skipped where the bound ρ_max² · maxᵢ Σⱼ |Pᵢⱼ| shows it
 * holds with room to spare (half the limit, far beyond rounding); where it does not, the
 * instance's full check runs and names the same entry.
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
import type { Params, Problem, SetName } from '../Problem.js'
import { type LayerOptions, LayerError } from '../Options.js'
import { operatorRowAbs } from '../Oracle.js'
import { type ResolvedSet, MAGNITUDE_LIMIT, checkMagnitudes, checkOperatorStructure, checkSymmetry, hasRadius, validateProblem } from '../Validate.js'

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
  /** maxᵢ Σⱼ |Pᵢⱼ| for a dense P (non-finite when an entry is), else NaN (no shortcut). */
  readonly rowAbsMax: number
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
  let rowAbsMax = NaN
  if (P.kind === 'dense') {
    // the call's row sums (Oracle.ts, one pass over the kernels' copy of P); NaN and
    // ±Infinity make the maximum non-finite (Math.max keeps a NaN)
    const abs = operatorRowAbs(P)
    rowAbsMax = 0
    for (let i = 0; i < abs.length; i++) rowAbsMax = Math.max(rowAbsMax, abs[i]!)
  }
  let asymmetry: LayerError | undefined
  // symmetry reads finite entries only (validateProblem checks it after the magnitudes,
  // which refuse a non-finite entry): an operator with one gets no verdict here
  if (P.kind !== 'dense' || Number.isFinite(rowAbsMax)) {
    try { checkSymmetry(P) } catch (e) {
      if (!(e instanceof LayerError)) throw e
      asymmetry = e
    }
  }
  return { asymmetry, rowAbsMax }
}

/** ρ_max = maxᵢ max(1, Rᵢ), with Rᵢ as the magnitude rule takes it for the set. */
const rhoMax = <N>(kind: SetName, theta: Params<N>): number => {
  let m = 1
  const n = theta.q.data.length
  if (kind === 'l1') for (let i = 0; i < n; i++) m = Math.max(m, theta.t / theta.w.data[i]!)
  else if (hasRadius(kind)) m = Math.max(m, theta.t)
  else if (kind === 'box' && theta.lower !== undefined && theta.upper !== undefined) {
    for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(theta.lower.data[i]!), Math.abs(theta.upper.data[i]!))
  }
  return m
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
  const check = <N>(problem: Problem<N>): { readonly theta: Params<N>; readonly set: ResolvedSet<N> } => {
    const u = problem as unknown
    if (typeof u !== 'object' || u === null || Array.isArray(u)) return validateProblem(problem, options)
    const P = (u as { P?: unknown }).P
    checkOperatorStructure(P)
    const op = P as LinearOperator<N>
    const { theta: th0, set } = validateProblem({ ...problem, P: standIn(op.dim as number) as LinearOperator<N> }, options)
    const theta: Params<N> = { ...th0, P: op }
    let f = facts.get(op)
    if (f === undefined) { f = factsOf(op); facts.set(op, f) }
    const r = rhoMax(set.kind, theta)
    if (!(Number.isFinite(f.rowAbsMax) && r * r * f.rowAbsMax <= MAGNITUDE_LIMIT / 2)) checkMagnitudes(set.kind, theta)
    if (f.asymmetry !== undefined) throw f.asymmetry
    return { theta, set }
  }
  return { check }
}
