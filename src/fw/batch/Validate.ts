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
import { type ResolvedSet, MAGNITUDE_LIMIT, checkMagnitudes, checkOperatorStructure, checkSymmetry, plainSetOf, validateOptions, validateProblem } from '../Validate.js'
import { VecRecord } from '../../shapes/alloc.js'
import type { Vec } from '../../shapes/Vec.js'

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

// -------------------------------------------------------------------------------------
// a batch of arrays, checked at once
// -------------------------------------------------------------------------------------

/** θ of one instance, made by a constructor (a batch keeps it to the end of its call: see `VecRecord`). */
class InstanceParams<N> implements Params<N> {
  constructor(readonly P: LinearOperator<N>, readonly q: Vec<N>, readonly w: Vec<N>, readonly t: number) {}
}

/**
 * The instances of a batch of arrays checked at once, where every instance passes: one
 * dense operator shared by the batch, one of the four plain sets, and q, w and t finite
 * (w and t > 0) with the magnitude rule held by the batch's largest radius (ρ_max² ·
 * maxᵢ Σⱼ |Pᵢⱼ| ≤ 1e150 / 2, as `checkMagnitudes` bounds one instance). Then instance b's
 * θ and set are exactly what `validateProblem` gives it (`thetaAt`); anywhere one of these
 * does not hold, undefined, and each instance is validated on its own (its error, if it
 * has one, is the one it gets alone). Measured at B = 256, n = 2 (paper, through the tfjs
 * op): the per-instance checks were 14 % of a training step's profile.
 *
 * @example
 * const trusted = trustedBatch(P, q, w, t, set, n)
 * trusted?.thetaAt(3, problemAt(3))
 */
export const trustedBatch = <N>(
  P: unknown, q: Float64Array, w: Float64Array | undefined, t: number | Float64Array | undefined, spec: unknown, n: number
): { readonly set: ResolvedSet<N>; readonly thetaAt: (b: number, problem: Problem<N>) => Params<N> } | undefined => {
  const set = plainSetOf<N>(spec)
  if (set === undefined || t === undefined || Array.isArray(P)) return undefined
  try { checkOperatorStructure(P) } catch { return undefined }
  const op = P as LinearOperator<N>
  if (op.kind !== 'dense' || (op.dim as number) !== n) return undefined
  const M = MAGNITUDE_LIMIT
  // t finite, > 0 and within the limit; w finite and > 0
  let tMax = 0
  const ts = typeof t === 'number' ? [t] : t
  for (let b = 0; b < ts.length; b++) {
    const v = ts[b]!
    if (!Number.isFinite(v) || !(v > 0) || v > M) return undefined
    tMax = Math.max(tMax, v)
  }
  let wMin = Infinity
  if (w !== undefined) {
    for (let k = 0; k < w.length; k++) {
      const v = w[k]!
      if (!Number.isFinite(v) || !(v > 0)) return undefined
      wMin = Math.min(wMin, v)
    }
  }
  // the largest radius ρ of any instance's coordinate: t/wᵢ on l1 (wᵢ = 1 without w), t otherwise
  const rhoMax = Math.max(1, set.kind === 'l1' ? tMax / (w === undefined ? 1 : wMin) : tMax)
  if (!(rhoMax <= M)) return undefined
  for (let k = 0; k < q.length; k++) {
    const v = q[k]!
    if (!Number.isFinite(v) || !(Math.abs(v) * rhoMax <= M)) return undefined
  }
  const abs = operatorRowAbs(op)
  let rowMax = 0
  for (let i = 0; i < n; i++) rowMax = Math.max(rowMax, abs[i]!)
  if (!Number.isFinite(rowMax) || !(rhoMax * rhoMax * rowMax <= M / 2)) return undefined
  try { checkSymmetry(op) } catch { return undefined }
  const shared = typeof t === 'number'
  const thetaAt = (b: number, problem: Problem<N>): Params<N> =>
    new InstanceParams(op, problem.q, problem.w ?? new VecRecord(problem.q.dim, new Float64Array(n).fill(1)), shared ? t : (t as Float64Array)[b]!)
  return { set, thetaAt }
}
