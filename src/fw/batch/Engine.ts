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
 *   with the schedule and the operator checks once, each instance's face kept for the
 *   batched vjp (a lean face's derivative made for the vjp's call, a general face's with
 *   the solve; P's gradient formed only when asked for) and its result made when read;
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
import { type Dim, unsafeDim } from '../../shapes/Dim.js'
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
import { type ImplicitSolved, type KeptDerivative, implicitBatched, implicitInstance, implicitShared } from './Implicit.js'

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
 * The engine's output, per input index: its outcome, its error, its x, and the batched
 * folds that produced some of them (for batched derivatives). A batched fold's instance
 * has no result object until `outcome` asks for it (then the same one on every call): a
 * training step that reads x and the batched `vjp` allocates nothing per instance that
 * lives through the call (see `solveStream`).
 *
 * @example
 * const solved = solveValidated(options, items)
 * solved.error(3) ?? solved.outcome(3)
 */
export interface Solved<N> {
  /** Instance i's result or its error (built on the first call for a batched fold's instance). */
  readonly outcome: (i: number) => E.Either<LayerError, LayerResult<N>>
  /** Instance i's error, or undefined where it succeeded (no result is built). */
  readonly error: (i: number) => LayerError | undefined
  /** Instance i's x (a view into the fold's state for a batched instance), undefined where it failed. */
  readonly x: (i: number) => Float64Array | undefined
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
export const solveValidated = <N>(options: LayerOptions, items: ReadonlyArray<Validated<N>>, deadline = Infinity, starts?: ReadonlyArray<Float64Array | undefined>): Solved<N> =>
  solveStream(options, items.length, (i) => items[i]!, deadline, starts)

/**
 * Solves `count` instances, instance i validated by `itemAt(i)` when the engine comes to
 * it, in index order, once each. An instance of the batched fold is copied into the
 * fold's arrays as it comes and its validated record is not kept, and its result object is
 * built only when `outcome` asks: V8 moves into its old generation, on creation, the
 * objects of an allocation site whose objects all survived a young-generation collection
 * (allocation-site pretenuring), and a dead old object keeps the young objects it points to
 * alive through every young collection until the next full one. A batch that kept B
 * records per instance until its end (its items, its results) taught V8 that (one
 * collection during a call sufficed), and every later call's records then held the call's
 * young objects through the collections: 5–7 MB copied per collection of a B = 256, n = 2
 * training loop, against about 0.1 MB without (`--trace-gc`).
 *
 * @example
 * withCall(() => solveStream(options, problems.length, (i) => validate(problems[i])))
 */
export const solveStream = <N>(
  options: LayerOptions, count: number, itemAt: (i: number) => Validated<N>, deadline = Infinity, starts?: ReadonlyArray<Float64Array | undefined>
): Solved<N> => {
  // an entry is undefined for an instance of the batched fold (its result built on demand)
  const out: Array<E.Either<LayerError, LayerResult<N>> | undefined> = new Array(count).fill(undefined)
  // the paper schedule's L, once per operator (the layer's power iteration, deterministic)
  const paper = (options.schedule ?? 'default') === 'paper' && options.lipschitz === undefined
  const lipschitzOf = perOperator((P) => powerIteration(P).value)
  const implicit = (options.backward ?? 'implicit') === 'implicit'
  const kept: Array<ImplicitSolved<N> | undefined> = new Array(count).fill(undefined)
  const shared = implicitShared()
  const unrolled = batchedUnrolled(options)
  let fold: PaperFold<N> | undefined
  for (let i = 0; i < count; i++) {
    const it = itemAt(i)
    if (E.isLeft(it)) { out[i] = it; continue }
    const { theta, set, problem } = it.right
    // an instance the layer solves rescaled (extreme scales) runs through the layer's own
    // path, its L from the rescaled P as the layer takes it alone
    const scaled = isScaled(theta, set)
    if (unrolled && set.kind === 'l1' && !scaled && (fold === undefined || fold.n === theta.q.data.length)) {
      fold ??= paperFold<N>(options, theta.q.data.length, count - i, lipschitzOf)
      const e = fold.add(i, theta, set)
      if (e !== undefined) out[i] = E.left(e)
      continue
    }
    try {
      const o = paper && !scaled ? { ...options, lipschitz: lipschitzOf(theta.P as LinearOperator<unknown>) } : options
      const x0 = starts?.[i]
      const start = implicit && x0 !== undefined ? feasibleStart(theta, set, x0) : undefined
      if (!scaled && implicitBatched(o, set.kind)) {
        // its result made when asked (`outcome`)
        kept[i] = implicitInstance(o, shared, theta, set, start)
      } else out[i] = E.right(layerCall(o, problem, { validated: { theta, set }, ...(start === undefined ? {} : { start }) }))
    } catch (e) {
      out[i] = E.left(asLayerError(e))
    }
  }
  const groups: BatchedGroup<N>[] = []
  // where a batched instance sits in its fold
  const position = new Int32Array(count).fill(-1)
  const solvedFold = fold === undefined ? undefined : fold.run(deadline)
  if (solvedFold !== undefined) {
    solvedFold.items.forEach((i, b) => {
      const e = solvedFold.error(b)
      if (e !== undefined) out[i] = E.left(e)
      else position[i] = b
    })
    if (solvedFold.run !== undefined) groups.push({ items: solvedFold.items, run: solvedFold.run.run, theta: solvedFold.run.theta })
  }
  const outcome = (i: number): E.Either<LayerError, LayerResult<N>> => {
    let r = out[i]
    if (r === undefined) {
      const k = kept[i]
      r = E.right(k !== undefined ? k.result() : solvedFold!.result(position[i]!))
      out[i] = r
    }
    return r
  }
  return {
    outcome,
    error: (i) => {
      const r = out[i]
      return r !== undefined && E.isLeft(r) ? r.left : undefined
    },
    x: (i) => {
      const r = out[i]
      if (r === undefined) { const k = kept[i]; return k !== undefined ? k.x.data : solvedFold!.x(position[i]!) }
      return E.isRight(r) ? r.right.x.data : undefined
    },
    groups,
    kept
  }
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

/** The layer's refusal of negative curvature. */
const refusal = (c: NonConvexity): LayerError => nonPsdError(c.direction, c.curvature)

/**
 * The batched paper fold on l1 for instances of one dimension n, filled instance by
 * instance (`add`: the instance's checks, then its row of the fold's arrays), then run
 * once (`run`). After the run, per fold instance b: its error (`error(b)`), its x
 * (`x(b)`, a view) and its `LayerResult` (`result(b)`, built when asked).
 *
 * @example
 * const f = paperFold(options, n, B, lipschitzOf)
 * items.forEach((it, i) => f.add(i, it.theta, it.set))
 * const solved = f.run(Infinity)
 */
interface PaperFold<N> {
  readonly n: number
  /** Instance i's checks and its row; its error (it is not in the fold) or undefined. */
  readonly add: (i: number, theta: Params<N>, set: ResolvedSet<N>) => LayerError | undefined
  readonly run: (deadline: number) => SolvedFold<N> | undefined
}

interface SolvedFold<N> {
  /** The input index of each fold instance. */
  readonly items: readonly number[]
  readonly error: (b: number) => LayerError | undefined
  readonly x: (b: number) => Float64Array
  readonly result: (b: number) => LayerResult<N>
  readonly run?: { readonly run: UnrolledBatch<'batch', N>; readonly theta: BatchTheta<'batch', N> }
}

/** The stop reasons, by code (the fold keeps one byte per instance). */
const STATUS: ReadonlyArray<LayerResult<unknown>['status']> = ['converged', 'timeLimit', 'maxIterations']

/**
 * A batched paper fold on l1 of at most `capacity` instances of dimension n (see
 * {@link PaperFold}).
 *
 * @example
 * paperFold({ schedule: 'paper', backward: 'unrolled' }, 10, 256, lipschitzOf)
 */
const paperFold = <N>(options: LayerOptions, n: number, capacity: number, lipschitzOf: (P: LinearOperator<unknown>) => number): PaperFold<N> => {
  // what the layer does before its run, per instance, in its order: the schedule (L by
  // power iteration), a negative diagonal entry; both once per operator, and one schedule
  // per value of L; the curvature floor and P's row sums depend on P alone (Oracle.ts
  // memoizes them per operator within the call): taken once per operator
  const facts = perOperator((P) => ({ nd: negativeDiagonal(P), floor: NaN, rowAbs: undefined as Float64Array | undefined }))
  const byL = new Map<number, ReturnType<typeof resolveSchedule>>()
  const items: number[] = []
  const schedules: Array<ReturnType<typeof resolveSchedule>> = []
  const sets: Array<ResolvedSet<N>> = []
  const ops: LinearOperator<N>[] = []
  const rowAbs: Float64Array[] = []
  const Q = new Float64Array(capacity * n), W = new Float64Array(capacity * n), T = new Float64Array(capacity)
  const R = new Float64Array(capacity * n), IW = new Float64Array(capacity * n)
  const Ls = new Float64Array(capacity), floor = new Float64Array(capacity), dense = new Uint8Array(capacity)
  const add = (i: number, theta: Params<N>, set: ResolvedSet<N>): LayerError | undefined => {
    let schedule: ReturnType<typeof resolveSchedule> | undefined
    try {
      const L = options.lipschitz ?? lipschitzOf(theta.P as LinearOperator<unknown>)
      schedule = byL.get(L)
      if (schedule === undefined) { schedule = resolveSchedule('l1', theta, { ...options, lipschitz: L }); byL.set(L, schedule) }
      const nd = facts(theta.P as LinearOperator<unknown>).nd
      if (nd !== undefined) throw refusal(nd)
    } catch (e) {
      return asLayerError(e)
    }
    const b = items.length, o = b * n
    items.push(i)
    schedules.push(schedule)
    sets.push(set)
    const w = theta.w.data, t = theta.t
    Q.set(theta.q.data, o)
    W.set(w, o)
    T[b] = t
    for (let k = 0; k < n; k++) { R[o + k] = t / w[k]!; IW[o + k] = 1 / w[k]! }
    Ls[b] = schedule.step.lipschitz
    const f = facts(theta.P as LinearOperator<unknown>)
    if (Number.isNaN(f.floor)) { f.floor = curvatureFloor(theta); f.rowAbs = rowAbsSums(theta) }
    floor[b] = f.floor
    rowAbs.push(f.rowAbs!)
    dense[b] = theta.P.kind === 'dense' ? 1 : 0
    ops.push(theta.P)
    return undefined
  }
  const run = (deadline: number): SolvedFold<N> | undefined => {
    const B = items.length
    if (B === 0) return undefined
    const bDim = unsafeDim<'batch'>(B), nDim = unsafeDim<N>(n)
    const theta: BatchTheta<'batch', N> = {
      B: bDim, n: nDim, P: ops,
      q: { rows: bDim, cols: nDim, data: Q.subarray(0, B * n) }, w: { rows: bDim, cols: nDim, data: W.subarray(0, B * n) },
      t: T.subarray(0, B), r: R.subarray(0, B * n), iw: IW.subarray(0, B * n)
    }
    const products = batchProducts(ops, n)
    const schedule = schedules[0]!
    const maxIt = schedule.maxIterations
    // the paper schedule's test reads f and fPrev only: one probe record for every row and
    // step (a record per test was garbage per row per step)
    const probe = { f: 0, fPrev: 0 }
    const go = (f: number, fPrev: number, k: number): boolean => {
      if (!(k < maxIt)) return false
      probe.f = f; probe.fPrev = fPrev
      return schedule.go(probe as FwState<N>)
    }
    const unrolledRun = unrolledBatch(theta, { products, L: Ls.subarray(0, B), floor: floor.subarray(0, B), dense: dense.subarray(0, B), beta: schedule.step.beta, go }, maxIt, batchFold(options, n, B), deadline)
    const st = unrolledRun.state
    // the certificate from a fresh product P x, as the layer takes it; per instance its
    // numbers and its stop reason (a byte), its error where it failed
    const all = Int32Array.from({ length: B }, (_, b) => b)
    const PXc = new Float64Array(B * n)
    products.apply(all, B, st.x.data, PXc)
    const objective = new Float64Array(B), gap = new Float64Array(B), status = new Uint8Array(B)
    const errors: Array<LayerError | undefined> = new Array(B).fill(undefined)
    const X = st.x.data
    for (let b = 0; b < B; b++) {
      const fail = st.failed[b]
      if (fail !== undefined) { errors[b] = nonPsdError(fail.direction, fail.curvature); continue }
      try {
        const o = b * n
        const cert = certificateAt('l1', PXc.subarray(o, o + n), Q.subarray(o, o + n), X.subarray(o, o + n), W.subarray(o, o + n), T[b]!, rowAbs[b])
        const timedOut = unrolledRun.timedOut && st.live[b] === 1
        const sch = schedules[b]!
        const converged = !timedOut && sch.tolerance > 0 && !sch.go({ f: st.f[b]!, fPrev: st.fPrev[b]! } as FwState<N>)
        if (converged) {
          const evidence = certifyConvex(ops[b]!)
          if (evidence !== undefined) throw refusal(evidence)
        }
        objective[b] = cert.objective
        gap[b] = cert.gap
        status[b] = converged ? 0 : timedOut ? 1 : 2
      } catch (e) {
        errors[b] = asLayerError(e)
      }
    }
    return {
      items,
      error: (b) => errors[b],
      x: (b) => X.subarray(b * n, b * n + n),
      result: (b) => instanceResult(unrolledRun, theta, b, ops[b]!, nDim, sets[b]!, X.slice(b * n, b * n + n), objective[b]!, gap[b]!, st.steps[b]!, STATUS[status[b]!]!),
      run: { run: unrolledRun, theta }
    }
  }
  return { n, add, run }
}

/** The fold options for B instances of size n: the layer's, with the tape's estimates per step scaled by B. */
const batchFold = (options: LayerOptions, n: number, B: number): FoldOptions => {
  const one = unrolledFoldOptions(options, n)
  if (one.tape === undefined) return one
  return { tape: { limit: one.tape.limit, perStep: one.tape.perStep * B, perState: (one.tape.perState ?? one.tape.perStep) * B } }
}

/** Instance b's `LayerResult`, its derivatives the run's restricted to b. */
const instanceResult = <N>(
  run: UnrolledBatch<'batch', N>, theta: BatchTheta<'batch', N>, b: number, P: LinearOperator<N>, dim: Dim<N>, set: ResolvedSet<N>,
  x: Float64Array, objective: number, gap: number, iterations: number, status: LayerResult<N>['status']
): LayerResult<N> => {
  const n = x.length, sel = Int32Array.of(b)
  const isDense = P.kind === 'dense'
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
    objective,
    gap,
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
