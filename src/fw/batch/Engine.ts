/**
 * The batched engine: validated instances in, one `Either` per instance out, each `Right`
 * exactly what `dfwLayer` returns for the instance alone (x, certificate, status, `vjp`,
 * `jvp`, `linear`), computed together:
 * - the paper schedule with the unrolled backward on the l1 ball runs as one batched
 *   fold (`Unrolled.ts`): one batched product per step for the instances that share an
 *   operator, one pass over the batch for the elementwise work, per-instance masks and stop
 *   tests, and the derivatives batched over any selection of instances;
 * - the implicit backward on l1, l∞, l2 and the simplex runs instance by instance through
 *   `Implicit.ts`: the layer's own steps (fast solve, polish, face, implicit derivative)
 *   with the schedule and the operator checks once, the derivative kept for the batched
 *   vjp (P's gradient formed only when asked for);
 * - every other configuration, and an instance at scales the layer solves rescaled
 *   (`Scaling.ts`), runs instance by instance through the layer's own path
 *   (`dfwLayer`).
 *
 * All of it inside the one call of the kernels that the batch opens, so that the
 * instances sharing an operator share what the call memoizes about it (row sums, the
 * convexity certificate, the factorizations of its faces).
 *
 * Facts about an operator that do not depend on the instance (the power iteration's L,
 * a negative diagonal entry) are computed once per operator object.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Vec } from '../../shapes/Vec.js'
import type { Mat } from '../../shapes/Mat.js'
import { unsafeDim } from '../../shapes/Dim.js'
import type { Linear } from '../../core/Diff.js'
import { type Tan, Zero } from '../../core/Tangent.js'
import type { LinearOperator } from '../../core/LinearOperator.js'
import { powerIteration } from '../../core/PowerIteration.js'
import type { Gradients, Params, ParamsTangent, Problem } from '../Problem.js'
import { type LayerOptions, LayerError, unrolledFoldOptions } from '../Options.js'
import type { FoldOptions } from '../../core/Diff.js'
import type { FwState } from '../State.js'
import { certificateAt, curvatureFloor, rowAbsSums } from '../Oracle.js'
import { certifyConvex, negativeDiagonal, type NonConvexity } from '../Convexity.js'
import { validateCotangent, validateTangent, type ResolvedSet } from '../Validate.js'
import { type LayerResult, callScaling, layerCall, nonPsdError, resolveSchedule, withCall } from '../Layer.js'
import type { FeasibleSet } from '../sets/FeasibleSet.js'
import { type SetStructure, resolveSet } from '../sets/Sets.js'
import type { BatchTheta, BatchThetaTan } from './Model.js'
import { batchProducts } from './Products.js'
import { type UnrolledBatch, batchJvp, batchVjp, pGradientOf, unrolledBatch } from './Unrolled.js'
import { type KeptDerivative, implicitBatched, implicitInstance, implicitShared } from './Implicit.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * An instance after validation: its θ and resolved set, or the error that refused it.
 *
 * @example
 * const v: Validated<N> = { theta, set: { kind: 'l1' } }
 */
export type Validated<N> = E.Either<LayerError, { readonly theta: Params<N>; readonly set: ResolvedSet<N>; readonly problem: Problem<N> }>

/**
 * Instances that ran as one batched fold: `items[b]` is the index (into the engine's
 * input) of the fold's instance b.
 *
 * @example
 * for (const g of solved.groups) batchVjp(g.run, g.theta, sel, cts)
 */
export interface BatchedGroup<N> {
  readonly items: readonly number[]
  readonly run: UnrolledBatch<'batch', N>
  readonly theta: BatchTheta<'batch', N>
}

/**
 * The engine's output: one `Either` per input, and the batched folds that produced some
 * of them (for batched derivatives).
 *
 * @example
 * const { results, groups } = solveValidated(options, items)
 */
export interface Solved<N> {
  readonly results: Array<E.Either<LayerError, LayerResult<N>>>
  readonly groups: ReadonlyArray<BatchedGroup<N>>
  /** Per input, the implicit derivative the batch kept for it (implicit mode, `Implicit.ts`), else undefined. */
  readonly kept: ReadonlyArray<KeptDerivative<N> | undefined>
}

/** The message of anything thrown, for an error value. */
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** An instance's error as the batch reports it. */
const asLayerError = (e: unknown): LayerError => (e instanceof LayerError ? e : new LayerError(messageOf(e), ''))

// -------------------------------------------------------------------------------------
// which instances run batched
// -------------------------------------------------------------------------------------

/**
 * Whether the options make the batched fold run: the paper schedule with the unrolled
 * backward (on the l1 ball; other sets run per instance).
 *
 * @example
 * batchedUnrolled({ schedule: 'paper', backward: 'unrolled' }) // true
 */
export const batchedUnrolled = (options: LayerOptions): boolean =>
  (options.schedule ?? 'default') === 'paper' && (options.backward ?? 'implicit') === 'unrolled'

/** A fact about an operator, once per operator object within a batch. */
const perOperator = <T>(make: (P: LinearOperator<unknown>) => T): ((P: LinearOperator<unknown>) => T) => {
  const m = new Map<object, T>()
  return (P: LinearOperator<unknown>): T => {
    if (!m.has(P)) m.set(P, make(P))
    return m.get(P)!
  }
}

// -------------------------------------------------------------------------------------
// the engine
// -------------------------------------------------------------------------------------

/**
 * Solves validated instances (see the module notes); call it inside one call of the
 * kernels (`withCall`). `deadline` is the batch's (performance.now() + timeLimitMs).
 *
 * @example
 * withCall(() => solveValidated(options, validated, deadline))
 */
export const solveValidated = <N>(options: LayerOptions, items: ReadonlyArray<Validated<N>>, deadline = Infinity, starts?: ReadonlyArray<Float64Array | undefined>): Solved<N> => {
  const out: Array<E.Either<LayerError, LayerResult<N>>> = new Array(items.length)
  const groups: BatchedGroup<N>[] = []
  const batched: number[] = []
  // the paper schedule's L, once per operator (the layer's power iteration, deterministic)
  const paper = (options.schedule ?? 'default') === 'paper' && options.lipschitz === undefined
  const lipschitzOf = perOperator((P) => powerIteration(P).value)
  const implicit = (options.backward ?? 'implicit') === 'implicit'
  const kept: Array<KeptDerivative<N> | undefined> = new Array(items.length).fill(undefined)
  const shared = implicitShared()
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!
    if (E.isLeft(it)) { out[i] = it; continue }
    const { theta, set, problem } = it.right
    // an instance the layer solves rescaled (extreme scales) runs through the layer's own
    // path, its L from the rescaled P as the layer takes it alone
    const scaled = isScaled(theta, set)
    if (batchedUnrolled(options) && set.kind === 'l1' && !scaled && (batched.length === 0 || lengthOf(items[batched[0]!]!) === theta.q.data.length)) {
      batched.push(i)
      continue
    }
    try {
      const o = paper && !scaled ? { ...options, lipschitz: lipschitzOf(theta.P as LinearOperator<unknown>) } : options
      const x0 = starts?.[i]
      const start = implicit && x0 !== undefined ? feasibleStart(theta, set, x0) : undefined
      if (!scaled && implicitBatched(o, set.kind)) {
        const r = implicitInstance(o, shared, theta, set, start)
        out[i] = E.right(r.result)
        kept[i] = r.kept
      } else out[i] = E.right(layerCall(o, problem, { validated: { theta, set }, ...(start === undefined ? {} : { start }) }))
    } catch (e) {
      out[i] = E.left(asLayerError(e))
    }
  }
  if (batched.length > 0) {
    const g = paperL1Batch(options, batched.map((i) => (items[i] as E.Right<{ readonly theta: Params<N>; readonly set: ResolvedSet<N> }>).right), deadline, lipschitzOf)
    batched.forEach((i, k) => { out[i] = g.results[k]! })
    if (g.run !== undefined) groups.push({ items: g.keep.map((k) => batched[k]!), run: g.run.run, theta: g.run.theta })
  }
  return { results: out, groups, kept }
}

/**
 * A warm start for the implicit mode: x projected onto the instance's set (the sets with a
 * cheap projection), x itself when it lies in the set, else none.
 *
 * @example
 * feasibleStart(theta, { kind: 'l1' }, previous.x.data)
 */
export const feasibleStart = <N>(theta: Params<N>, set: ResolvedSet<N>, x: Float64Array): Float64Array | undefined => {
  const n = theta.q.data.length
  if (x.length !== n || !x.every(Number.isFinite)) return undefined
  let fs: FeasibleSet
  try { fs = resolveSet(set.kind, theta, set as SetStructure) } catch { return undefined }
  if (fs.solver !== undefined) return undefined
  if (fs.project !== undefined) {
    const out = new Float64Array(n)
    fs.project(x, out)
    return out
  }
  return fs.violation(x) <= 1e-12 * Math.max(fs.size, 1) ? Float64Array.from(x) : undefined
}

/** Whether the layer solves the instance rescaled (a set it cannot resolve: let its own call say why). */
const isScaled = <N>(theta: Params<N>, set: ResolvedSet<N>): boolean => {
  try { return callScaling(theta, set) !== undefined } catch { return true }
}

const lengthOf = <N>(v: Validated<N>): number => (E.isRight(v) ? v.right.theta.q.data.length : -1)

/** The layer's refusal of negative curvature. */
const refusal = (c: NonConvexity): LayerError => nonPsdError(c.direction, c.curvature)

/**
 * The batched paper fold on l1 for validated instances of one dimension n.
 *
 * @example
 * paperL1Batch({ schedule: 'paper', backward: 'unrolled' }, items)
 */
const paperL1Batch = <N>(
  options: LayerOptions, items: ReadonlyArray<{ readonly theta: Params<N>; readonly set: ResolvedSet<N> }>, deadline: number,
  lipschitzOf: (P: LinearOperator<unknown>) => number
): {
  readonly results: Array<E.Either<LayerError, LayerResult<N>>>
  readonly keep: readonly number[]
  readonly run?: { readonly run: UnrolledBatch<'batch', N>; readonly theta: BatchTheta<'batch', N> }
} => {
  const out: Array<E.Either<LayerError, LayerResult<N>>> = new Array(items.length)
  const n = items[0]!.theta.q.data.length
  // what the layer does before its run, per instance, in its order: the schedule (L by
  // power iteration), a negative diagonal entry; both once per operator, and one schedule
  // per value of L
  const facts = perOperator((P) => ({ nd: negativeDiagonal(P), floor: NaN, rowAbs: undefined as Float64Array | undefined }))
  const byL = new Map<number, ReturnType<typeof resolveSchedule>>()
  const keep: number[] = []
  const schedules: Array<ReturnType<typeof resolveSchedule>> = []
  items.forEach(({ theta }, i) => {
    try {
      const L = options.lipschitz ?? lipschitzOf(theta.P as LinearOperator<unknown>)
      let schedule = byL.get(L)
      if (schedule === undefined) { schedule = resolveSchedule('l1', theta, { ...options, lipschitz: L }); byL.set(L, schedule) }
      const nd = facts(theta.P as LinearOperator<unknown>).nd
      if (nd !== undefined) throw refusal(nd)
      keep.push(i)
      schedules.push(schedule)
    } catch (e) {
      out[i] = E.left(asLayerError(e))
    }
  })
  if (keep.length === 0) return { results: out, keep }
  const B = keep.length
  const bDim = unsafeDim<'batch'>(B), nDim = unsafeDim<N>(n)
  const Q = new Float64Array(B * n), W = new Float64Array(B * n), T = new Float64Array(B), R = new Float64Array(B * n), IW = new Float64Array(B * n)
  const Ls = new Float64Array(B), floor = new Float64Array(B), dense = new Uint8Array(B)
  const ops: LinearOperator<N>[] = []
  const rowAbs: Float64Array[] = []
  keep.forEach((i, b) => {
    const th = items[i]!.theta
    Q.set(th.q.data, b * n)
    const w = th.w.data, t = th.t, o = b * n
    W.set(w, o)
    T[b] = t
    for (let k = 0; k < n; k++) { R[o + k] = t / w[k]!; IW[o + k] = 1 / w[k]! }
    Ls[b] = schedules[b]!.step.lipschitz
    // the curvature floor and P's row sums depend on P alone (Oracle.ts memoizes them per
    // operator within the call): taken once per operator
    const f = facts(th.P as LinearOperator<unknown>)
    if (Number.isNaN(f.floor)) { f.floor = curvatureFloor(th); f.rowAbs = rowAbsSums(th) }
    floor[b] = f.floor
    rowAbs.push(f.rowAbs!)
    dense[b] = th.P.kind === 'dense' ? 1 : 0
    ops.push(th.P)
  })
  const schedule = schedules[0]!
  const theta: BatchTheta<'batch', N> = {
    B: bDim, n: nDim, P: ops, q: { rows: bDim, cols: nDim, data: Q }, w: { rows: bDim, cols: nDim, data: W }, t: T, r: R, iw: IW
  }
  const products = batchProducts(ops, n)
  const maxIt = schedule.maxIterations
  // the paper schedule's test reads f and fPrev only: one probe record for every row and
  // step (a record per test was garbage per row per step)
  const probe = { f: 0, fPrev: 0 }
  const go = (f: number, fPrev: number, k: number): boolean => {
    if (!(k < maxIt)) return false
    probe.f = f; probe.fPrev = fPrev
    return schedule.go(probe as FwState<N>)
  }
  const run = unrolledBatch(theta, { products, L: Ls, floor, dense, beta: schedule.step.beta, go }, maxIt, batchFold(options, n, B), deadline)
  const st = run.state
  // the certificate from a fresh product P x, as the layer takes it
  const all = Int32Array.from({ length: B }, (_, b) => b)
  const PXc = new Float64Array(B * n)
  products.apply(all, B, st.x.data, PXc)
  keep.forEach((i, b) => {
    const th = items[i]!.theta, set = items[i]!.set
    const fail = st.failed[b]
    if (fail !== undefined) { out[i] = E.left(nonPsdError(fail.direction, fail.curvature)); return }
    try {
      const o = b * n
      const x = st.x.data.slice(o, o + n)
      const cert = certificateAt('l1', PXc.subarray(o, o + n), th.q.data, x, th.w.data, th.t, rowAbs[b])
      const timedOut = run.timedOut && st.live[b] === 1
      const sch = schedules[b]!
      const converged = !timedOut && sch.tolerance > 0 && !sch.go({ f: st.f[b]!, fPrev: st.fPrev[b]! } as FwState<N>)
      if (converged) {
        const evidence = certifyConvex(th.P)
        if (evidence !== undefined) throw refusal(evidence)
      }
      out[i] = E.right(instanceResult(run, theta, b, th, set, x, cert, st.steps[b]!, converged ? 'converged' : timedOut ? 'timeLimit' : 'maxIterations'))
    } catch (e) {
      out[i] = E.left(asLayerError(e))
    }
  })
  return { results: out, keep, run: { run, theta } }
}

/** The fold options for B instances of size n: the layer's, with the tape's estimates per step scaled by B. */
const batchFold = (options: LayerOptions, n: number, B: number): FoldOptions => {
  const one = unrolledFoldOptions(options, n)
  if (one.tape === undefined) return one
  return { tape: { limit: one.tape.limit, perStep: one.tape.perStep * B, perState: (one.tape.perState ?? one.tape.perStep) * B } }
}

/** Instance b's `LayerResult`, its derivatives the run's restricted to b. */
const instanceResult = <N>(
  run: UnrolledBatch<'batch', N>, theta: BatchTheta<'batch', N>, b: number, th: Params<N>, set: ResolvedSet<N>,
  x: Float64Array, cert: { readonly objective: number; readonly gap: number }, iterations: number, status: LayerResult<N>['status']
): LayerResult<N> => {
  const n = th.q.data.length, dim = th.q.dim, sel = Int32Array.of(b)
  const isDense = th.P.kind === 'dense'
  const bwd = (ct: Float64Array): Gradients<N> => {
    const g = batchVjp(run, theta, sel, ct)
    return {
      q: { dim, data: g.q }, w: { dim, data: g.w }, t: g.t[0]!,
      ...(isDense ? { P: pGradientOf<N>(g.terms, 0, n) } : {})
    }
  }
  const fwd = (d: BatchThetaTan<N>): Float64Array => batchJvp(run, theta, sel, d)
  const tangentOf = (t: ParamsTangent<N>): BatchThetaTan<N> => ({
    ...(t.q !== undefined ? { q: t.q.data } : {}),
    ...(t.w !== undefined ? { w: t.w.data } : {}),
    ...(t.t !== undefined ? { t: Float64Array.of(t.t) } : {}),
    ...(t.P !== undefined ? { P: [t.P] } : {})
  })
  const linear: Linear<Params<N>, Vec<N>> = {
    fwd: (d) => {
      if (d === Zero) return Zero
      const r = d as { q?: Tan<Vec<N>>; w?: Tan<Vec<N>>; t?: Tan<number>; P?: Tan<Mat<N, N>> }
      const v = (a: Tan<Vec<N>> | undefined): Vec<N> | undefined => (a === undefined || a === Zero ? undefined : a)
      const q = v(r.q), w = v(r.w)
      const tangent: ParamsTangent<N> = {
        ...(q !== undefined ? { q } : {}), ...(w !== undefined ? { w } : {}),
        ...(r.t !== undefined && r.t !== Zero ? { t: r.t } : {}),
        ...(r.P !== undefined && r.P !== Zero ? { P: r.P } : {})
      }
      return withCall(() => ({ dim, data: fwd(tangentOf(tangent)) }))
    },
    bwd: (ct) => {
      if (ct === Zero) return Zero
      const g = withCall(() => bwd((ct as Vec<N>).data))
      return { q: g.q, w: g.w, t: g.t, P: g.P ?? Zero } as unknown as Tan<Params<N>>
    }
  }
  return {
    x: { dim, data: x },
    objective: cert.objective,
    gap: cert.gap,
    iterations,
    status,
    vjp: (ct) => {
      validateCotangent(ct, n)
      return withCall(() => bwd(ct.data))
    },
    jvp: (tan) => withCall(() => {
      validateTangent(tan, set, n)
      return { dim, data: fwd(tangentOf(tan)) }
    }),
    linear
  }
}
