/**
 * The layer over a batch, and the layer as a differentiable map.
 *
 * - `dfwBatch(options)(problems)` solves a batch: one invalid or failing instance gives a
 *   `Left` at its index, with the path prefixed by `[i]`, and never spoils the others. A
 *   `Right` is exactly what `dfwLayer(options)` returns for that problem alone (bitwise:
 *   x, the certificate, the status, `vjp`, `jvp`).
 * - `dfwBatchSolve(options)(batch)` takes the batch as structure of arrays (q as a B × n
 *   matrix, the batch a dimension `Dim<B>` of its own; P, w and t shared or per instance)
 *   and adds the batched derivatives: `vjp` for every instance's cotangent at once (P's
 *   gradient per instance or summed, computed only when asked for) and `jvp` for every
 *   instance's tangent.
 * - `layerMap(options, fixed)` is θ ↦ x as a `Diff<Params<N>, Vec<N>>`, so the layer composes
 *   with other maps (a network producing q, say) and `jvp`/`vjp` see through it.
 *
 * Both batch functions run the batched engine (`batch/Engine.ts`) inside one call of the
 * kernels: the paper schedule with the unrolled backward on the l1 ball runs as one
 * batched fold (one product per step for the instances sharing an operator); every other
 * configuration runs instance by instance through the layer's own path, sharing what the
 * call memoizes about a shared operator; in the implicit mode the batched `vjp` takes each
 * instance's gradients from its kept derivative and forms P's only when `pEach`/`pSum`
 * asks (`pSum` adds the instances' −v xᵀ into one matrix).
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import type { Dim } from '../shapes/Dim.js'
import type { Diff } from '../core/Diff.js'
import type { LinearOperator } from '../core/LinearOperator.js'
import type { Params, Problem, SetKind, SetSpec } from './Problem.js'
import { dfwLayer, withCall, LayerError, type LayerOptions, type LayerResult } from './Layer.js'
import { type ResolvedSet, validateBatch, validateOptions } from './Validate.js'
import { VecRecord } from '../shapes/alloc.js'
import { batchValidator, trustedBatch } from './batch/Validate.js'
import { type Solved, type Validated, batchedUnrolled, solveStream } from './batch/Engine.js'
import { batchJvp, batchVjp, pGradientOf, pGradientSum } from './batch/Unrolled.js'
import type { OuterTerms, Wants } from './batch/Model.js'
import { addPGradient, pGradientOf as implicitPGradient } from './Implicit.js'

/** q's gradient alone. */
const Q_ALONE: Wants = { wt: false, P: false }

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A batch as structure of arrays: B instances of dimension n, row b of `q` (and of `w`
 * when it is B × n) belonging to instance b.
 *
 * - `P`: one operator for the whole batch (its products are shared), or one per instance
 *   (instances that share an operator object share its products too);
 * - `q`: B × n;
 * - `w`: n (shared) or B × n; all ones when omitted (the l1 ball's weights);
 * - `t`: a number (shared) or a `Vec<B>`; required by the sets with a radius;
 * - `set`: the set of every instance (default `"l1"`).
 *
 * @example
 * withDim(64, (B) => dfwBatchSolve({ schedule: 'paper', backward: 'unrolled' })({ P, q: matrixOfRows(B, n, qs), t: 0.5 }))
 */
export interface BatchProblem<B, N> {
  readonly P: LinearOperator<N> | ReadonlyArray<LinearOperator<N>>
  readonly q: Mat<B, N>
  readonly w?: Vec<N> | Mat<B, N>
  readonly t?: number | Vec<B>
  readonly set?: SetSpec<N>
}

/**
 * A tangent of a whole batch: any subset of directions, each shaped as in
 * {@link BatchProblem} (`P` one n × n matrix for every instance, or one per instance).
 *
 * @example
 * sol.jvp({ q: dq }) // dx of every instance along its row of dq
 */
export interface BatchTangent<B, N> {
  readonly q?: Mat<B, N>
  readonly w?: Mat<B, N>
  readonly t?: Vec<B>
  readonly P?: Mat<N, N> | ReadonlyArray<Mat<N, N>>
}

/**
 * The gradients of Σ_b ⟨ct_b, x_b⟩, row b belonging to instance b (zeros for an instance
 * that failed). P's gradients are computed only when asked for, from what the backward
 * pass kept: `pEach()` one n × n matrix per instance (undefined where P is not dense or
 * the instance failed), `pSum()` their sum, the gradient of a P the instances share (for
 * the batched fold, one accumulation of every step's γ c_{Ps} ⊗ s terms, not B matrices).
 *
 * @example
 * const g = sol.vjp(ct)
 * g.q.data  // B × n
 * g.pSum()  // n × n, only now computed
 */
export interface BatchGradients<B, N> {
  readonly q: Mat<B, N>
  readonly w: Mat<B, N>
  readonly t: Vec<B>
  /** P's gradient per instance (undefined where P is not dense or the instance failed), computed on the first call. */
  readonly pEach: () => ReadonlyArray<Mat<N, N> | undefined>
  /** The sum of the instances' P gradients: the gradient of a P they share. */
  readonly pSum: () => Mat<N, N>
}

/**
 * A solved batch: x row by row (zeros where an instance failed), each instance's result
 * (a `Left` with the path `[b]…` of its error, as `dfwBatch` gives), and the batched
 * derivatives. Rows of the derivatives belong to the instances.
 *
 * The paper schedule's batched fold (unrolled, l1) hands its tape to the next solve once
 * `vjp` has run (a training step's next batch writes the same memory); a later `vjp` or
 * `jvp` of this solution first records the tape again from the same θ (the cost of one
 * forward pass, the same numbers bit for bit), and refuses with a `LayerError` at `P` when
 * the operator's entries were written since the solve.
 *
 * @example
 * const sol = dfwBatchSolve(options)(batch)
 * sol.x.data; sol.results[3]; sol.vjp(ct).q
 */
export interface BatchSolution<B, N> {
  readonly x: Mat<B, N>
  readonly results: ReadonlyArray<E.Either<LayerError, LayerResult<N>>>
  /**
   * The gradients of Σ_b ⟨ct_b, x_b⟩ (`ct` B × n, finite); with `'q'`, q's alone (the same
   * numbers), computed without w's, t's and P's: the batched fold's transpose then skips
   * their terms and keeps none of P's.
   */
  readonly vjp: BatchVjp<B, N>
  /** dx of every instance along the tangent. */
  readonly jvp: (tangent: BatchTangent<B, N>) => Mat<B, N>
}

/**
 * A batch's VJP: every gradient, or q's alone.
 *
 * @example
 * const dq = sol.vjp(ct, 'q').q // what sol.vjp(ct).q holds, without w's, t's and P's
 */
export interface BatchVjp<B, N> {
  (ct: Mat<B, N>): BatchGradients<B, N>
  (ct: Mat<B, N>, wrt: 'q'): { readonly q: Mat<B, N> }
}

/**
 * A warm start for the next solve of a batch of the same shape: the previous solution
 * (any `{ x }` of B × n). In the implicit mode (the default), instance b starts from row b
 * of x, projected onto its set (l1, linf, simplex, box: the Euclidean projection; other
 * sets: x itself when it lies in the set); the exact polish runs from there first, and when
 * it certifies the point the solve ends without a Frank-Wolfe step (`iterations` 0).
 * Otherwise, and in the unrolled modes, the solve runs as without one. The answer is the
 * same minimizer either way (to the polish's tolerances).
 *
 * @example
 * let sol = dfwBatchSolve(options)(batch)
 * sol = dfwBatchSolve(options)(nextBatch, sol) // q moved a little: the polish finishes from sol.x
 */
export interface WarmStart<B, N> {
  readonly x: Mat<B, N>
}

// -------------------------------------------------------------------------------------
// batches of problems
// -------------------------------------------------------------------------------------

/** The message of anything thrown, for an error value. */
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const asError = (e: unknown): LayerError => (e instanceof LayerError ? e : new LayerError(messageOf(e), ''))

/** The instance's error with the path prefixed by its index. */
const atIndex = (i: number, e: LayerError): LayerError => new LayerError(e.message, e.path === '' ? `[${i}]` : `[${i}].${e.path}`)

/** A validated instance (an `Either`'s `Right`), made by constructors: see `InstanceProblem`. */
class CheckedInstance<N> {
  constructor(readonly theta: Params<N>, readonly set: ResolvedSet<N>, readonly problem: Problem<N>) {}
}
class Checked<N> implements E.Right<CheckedInstance<N>> {
  readonly _tag: 'Right'
  readonly right: CheckedInstance<N>
  constructor(right: CheckedInstance<N>) {
    this._tag = 'Right'
    this.right = right
  }
}

/**
 * Validates each problem as the engine comes to it (an error is that instance's `Left`,
 * its path prefixed by `[i]`) and runs the engine, in one call. `problemAt(i)` is asked
 * once per instance, in order.
 */
const solveProblems = <N>(
  options: LayerOptions, count: number, problemAt: (i: number) => Problem<N>, starts?: ReadonlyArray<Float64Array | undefined>,
  trusted?: ReturnType<typeof trustedBatch<N>>
): Solved<N> => {
  const deadline = options.timeLimitMs === undefined ? Infinity : performance.now() + options.timeLimitMs
  const validator = batchValidator(options)
  const itemAt = (i: number): Validated<N> => {
    const p = problemAt(i)
    if (trusted !== undefined) return new Checked(new CheckedInstance(trusted.thetaAt(i, p), trusted.set, p))
    try {
      const { theta, set } = validator.check(p)
      return new Checked(new CheckedInstance(theta, set, p))
    } catch (e) {
      return E.left(asError(e))
    }
  }
  // the implicit modes keep every instance's result to the end of the call anyway;
  // validating them all before the solves read faster than in turn (B = 256, n = 2: the
  // fastest step 0.98–1.03 ms against 1.10–1.15 ms)
  const pre = batchedUnrolled(options) ? undefined : Array.from({ length: count }, (_, i) => itemAt(i))
  const solved = solveStream(options, count, pre === undefined ? itemAt : (i) => pre[i]!, deadline, starts)
  // the errors with their index, made once each (a batch's errors are few)
  const errors = new Map<number, LayerError>()
  const error = (i: number): LayerError | undefined => {
    const e = solved.error(i)
    if (e === undefined) return undefined
    let a = errors.get(i)
    if (a === undefined) { a = atIndex(i, e); errors.set(i, a) }
    return a
  }
  return {
    ...solved,
    error,
    outcome: (i) => {
      const e = error(i)
      return e === undefined ? solved.outcome(i) : E.left(e)
    }
  }
}

/** Every instance's outcome, in order. */
const outcomes = <N>(solved: Solved<N>, count: number): Array<E.Either<LayerError, LayerResult<N>>> =>
  Array.from({ length: count }, (_, i) => solved.outcome(i))

/**
 * Solves every problem of a batch: each instance on its own as far as its result goes (a
 * `Right` is bitwise `dfwLayer(options)`'s result for it alone), the work batched (see the
 * module notes).
 *
 * @example
 * const rs = dfwBatch({ backward: 'implicit' })([p0, p1, p2])
 * rs.map((r) => E.isRight(r) ? r.right.objective : r.left.path) // e.g. [-1.2, '[1].t', -0.4]
 */
export const dfwBatch = (options: LayerOptions = {}) => <N>(problems: ReadonlyArray<Problem<N>>): ReadonlyArray<E.Either<LayerError, LayerResult<N>>> => {
  validateBatch(problems, options)
  return withCall(() => outcomes(solveProblems(options, problems.length, (i) => problems[i]!), problems.length))
}

// -------------------------------------------------------------------------------------
// batches as arrays
// -------------------------------------------------------------------------------------

const isMat = (m: unknown, rows: number, cols: number): boolean =>
  typeof m === 'object' && m !== null && (m as Mat<unknown, unknown>).data instanceof Float64Array &&
  (m as Mat<unknown, unknown>).rows === rows && (m as Mat<unknown, unknown>).cols === cols && (m as Mat<unknown, unknown>).data.length === rows * cols

const isVecOf = (v: unknown, n: number): boolean =>
  typeof v === 'object' && v !== null && (v as Vec<unknown>).data instanceof Float64Array && (v as Vec<unknown>).data.length === n

/**
 * A batch's shapes, checked, and instance b as a `Problem` (views into the batch's
 * arrays), made when the engine asks for it: the engine keeps no instance's record longer
 * than it needs (see `solveStream`).
 */
const instancesOf = <B, N>(batch: BatchProblem<B, N>): { readonly B: number; readonly n: number; readonly problemAt: (b: number) => Problem<N>; readonly trusted: () => ReturnType<typeof trustedBatch<N>> } => {
  if (typeof batch !== 'object' || batch === null) throw new LayerError('expected a batch { P, q, w?, t?, set? }', '')
  const q = batch.q as Mat<B, N> | undefined
  if (q === undefined || typeof q !== 'object' || !(q.data instanceof Float64Array) || !Number.isSafeInteger(q.rows) || !Number.isSafeInteger(q.cols) || q.data.length !== q.rows * q.cols || q.cols < 1) {
    throw new LayerError('expected q to be a B × n Mat (rows B, cols n ≥ 1, data of B·n numbers)', 'q')
  }
  const B = q.rows as number, n = q.cols as number
  const Ps = batch.P
  if (Array.isArray(Ps) && Ps.length !== B) throw new LayerError(`expected one operator per instance (${B}), got ${Ps.length}`, 'P')
  const w = batch.w
  const wShared = w !== undefined && isVecOf(w, n) && !isMat(w, B, n)
  if (w !== undefined && !wShared && !isMat(w, B, n)) throw new LayerError(`expected w to be a Vec of ${n} entries or a ${B} × ${n} Mat`, 'w')
  const t = batch.t
  if (t !== undefined && typeof t !== 'number' && !isVecOf(t, B)) throw new LayerError(`expected t to be a number or a Vec of ${B} entries`, 't')
  const dim = q.cols
  const problemAt = (b: number): Problem<N> => {
    const P = (Array.isArray(Ps) ? Ps[b] : Ps) as LinearOperator<N>
    const wb = w === undefined ? undefined : wShared ? (w as Vec<N>) : new VecRecord(dim, (w as Mat<B, N>).data.subarray(b * n, b * n + n))
    const tb = t === undefined ? undefined : typeof t === 'number' ? t : (t as Vec<B>).data[b]!
    return new InstanceProblem(P, new VecRecord(dim, q.data.subarray(b * n, b * n + n)), wb, tb, batch.set)
  }
  // every instance checked at once where that is certain (a shared w's dim is its length, as
  // validateProblem asks of a Vec)
  const trusted = (): ReturnType<typeof trustedBatch<N>> =>
    wShared && (w as Vec<N>).dim as unknown !== n ? undefined
      : trustedBatch<N>(Ps, q.data, w === undefined ? undefined : w.data, t === undefined || typeof t === 'number' ? t : (t as Vec<B>).data, batch.set, n)
  return { B, n, problemAt, trusted }
}

/**
 * Instance b of a batch as a `Problem`, made by a constructor (the instances of an
 * implicit-mode batch live to the end of its call: see `VecRecord`), its optional fields
 * set one by one (a spread per instance was a measurable part of a small batch's cost);
 * absent fields stay absent, as in a literal.
 */
class InstanceProblem<N> implements Problem<N> {
  declare readonly w?: Vec<N>
  declare readonly t?: number
  declare readonly set?: SetSpec<N>
  constructor(readonly P: LinearOperator<N>, readonly q: Vec<N>, w: Vec<N> | undefined, t: number | undefined, set: SetSpec<N> | undefined) {
    const o = this as { w?: Vec<N>; t?: number; set?: SetSpec<N> }
    if (w !== undefined) o.w = w
    if (t !== undefined) o.t = t
    if (set !== undefined) o.set = set
  }
}

/** The rows of a warm start, or a `LayerError` at `warm`. */
const startsOf = <B, N>(warm: WarmStart<B, N>, B: number, n: number): ReadonlyArray<Float64Array | undefined> => {
  if (typeof warm !== 'object' || warm === null || !isMat(warm.x, B, n)) throw new LayerError(`expected a warm start { x } with x a ${B} × ${n} Mat (a previous solution of this batch's shape)`, 'warm')
  const X = warm.x.data
  return Array.from({ length: B }, (_, b) => X.subarray(b * n, b * n + n))
}

/** A finite B × n cotangent or tangent field, or a `LayerError` at `path`. */
const checkRows = (m: unknown, B: number, n: number, path: string): Float64Array => {
  if (!isMat(m, B, n)) throw new LayerError(`expected a ${B} × ${n} Mat`, path)
  const d = (m as Mat<unknown, unknown>).data
  for (let k = 0; k < d.length; k++) if (!Number.isFinite(d[k]!)) throw new LayerError(`expected a finite number, got ${String(d[k])}`, `${path}[${Math.floor(k / n)}][${k % n}]`)
  return d
}

/**
 * A solved batch whose instances' results are made on the first read of `results` (a
 * training step that reads x and the batched vjp makes none: see `solveStream`). A class,
 * for its getter: V8 makes an object literal with an accessor in its old generation, and
 * a dead one there kept the call's young objects (x, the derivatives' closures) alive
 * through every young-generation collection until the next full one (`--trace-gc`: 3.5 MB
 * kept per collection of a B = 256, n = 2 loop).
 */
class Solution<B, N> implements BatchSolution<B, N> {
  readonly #make: () => ReadonlyArray<E.Either<LayerError, LayerResult<N>>>
  #made: ReadonlyArray<E.Either<LayerError, LayerResult<N>>> | undefined
  constructor(
    readonly x: Mat<B, N>,
    make: () => ReadonlyArray<E.Either<LayerError, LayerResult<N>>>,
    readonly vjp: BatchVjp<B, N>,
    readonly jvp: (tangent: BatchTangent<B, N>) => Mat<B, N>
  ) {
    this.#make = make
  }

  get results(): ReadonlyArray<E.Either<LayerError, LayerResult<N>>> {
    return (this.#made ??= this.#make())
  }
}

/**
 * A batch's P gradients, made when asked from what its vjp kept: the batched folds' terms,
 * the instances' own gradients, and the implicit instances' factors (row b of `vRows`, v on
 * its face, and of `xRows`, the face's x, where `hasV[b]`): `pGradientOf(F, v, x)` and
 * `addPGradient` read v only on F, so the scattered row with every index gives the same
 * numbers. Made here, outside the vjp's scope, so that the closures hold these arrays and
 * nothing else: a training step's backward pass keeps the gradients' closures (the tfjs op
 * hands `pSum` to P's guard), and a closure made inside the vjp would keep, through its
 * scope, every instance the batch solved, alive through young collections until the next
 * full one (`--trace-gc`: at B = 256, n = 2 through the tfjs op, 2.5 MB promoted per young
 * collection, against none).
 */
const pGradients = <N>(
  nDim: Dim<N>,
  folds: ReadonlyArray<{ readonly items: readonly number[]; readonly sel: Int32Array; readonly terms: ReadonlyArray<OuterTerms> }>,
  own: ReadonlyArray<Mat<N, N> | undefined>,
  vRows: Float64Array | undefined, xRows: Float64Array | undefined, hasV: Uint8Array, denseP: readonly boolean[]
): Pick<BatchGradients<unknown, N>, 'pEach' | 'pSum'> => {
  const n = nDim as number
  const all = Int32Array.from({ length: n }, (_, i) => i)
  const rowOf = (a: Float64Array, b: number): Float64Array => a.subarray(b * n, b * n + n)
  let each: ReadonlyArray<Mat<N, N> | undefined> | undefined
  let sum: Mat<N, N> | undefined
  const pEach = (): ReadonlyArray<Mat<N, N> | undefined> => {
    if (each !== undefined) return each
    const e = own.map((g, b) => (hasV[b] === 1 ? { rows: nDim, cols: nDim, data: implicitPGradient(all, rowOf(vRows!, b), rowOf(xRows!, b)) } : g))
    for (const f of folds) f.items.forEach((b, k) => { if (denseP[b]) e[b] = pGradientOf<N>(f.terms, k, n) })
    each = e
    return e
  }
  const pSum = (): Mat<N, N> => {
    if (sum !== undefined) return sum
    const o = new Float64Array(n * n)
    for (const f of folds) {
      const s = pGradientSum<N>(f.terms, new Uint8Array(f.items.length).fill(1), n).data
      for (let k = 0; k < s.length; k++) o[k] = o[k]! + s[k]!
    }
    own.forEach((g, b) => {
      if (hasV[b] === 1) { addPGradient(o, all, rowOf(vRows!, b), rowOf(xRows!, b)); return }
      if (g !== undefined) { const d = g.data; for (let k = 0; k < d.length; k++) o[k] = o[k]! + d[k]! }
    })
    sum = { rows: nDim, cols: nDim, data: o }
    return sum
  }
  return { pEach, pSum }
}

/**
 * Solves a batch given as structure of arrays (see {@link BatchProblem}); every instance's
 * result is what `dfwLayer(options)` gives for it alone, and `vjp`/`jvp` are batched: for
 * the paper schedule with the unrolled backward on l1, one transposed (or tangent) pass of
 * the batched fold for every instance at once (P's gradient only when asked for, and
 * summed term by term for a shared P); otherwise the instances' own maps, one by one.
 * Throws a `LayerError` for a batch whose shapes do not fit (`q`, `P`, `w`, `t`); an
 * instance's bad value is that instance's `Left`.
 *
 * @example
 * const sol = withDim(B, (b) => dfwBatchSolve({ schedule: 'paper', backward: 'unrolled', maxIterations: 60, tolerance: 0 })({ P, q: { rows: b, cols: n, data: qs }, t: 0.5 }))
 * const g = sol.vjp({ rows: sol.x.rows, cols: sol.x.cols, data: ones }) // ∇_q Σ x, B × n
 */
export const dfwBatchSolve = (options: LayerOptions = {}) => {
  const solve = solveBatch(options)
  return <B, N>(batch: BatchProblem<B, N>, warm?: WarmStart<B, N>): BatchSolution<B, N> => solve(batch, warm).solution
}

/**
 * `dfwBatchSolve` with each instance's error beside the solution: `error(b)` is instance
 * b's `LayerError` (its path `[b]…`) or undefined, read without making the instances'
 * results (the tfjs op checks every instance so).
 *
 * @example
 * const { solution, error } = solveBatch(options)(batch)
 * for (let b = 0; b < B; b++) if (error(b) !== undefined) throw error(b)
 */
export const solveBatch = (options: LayerOptions = {}) => <B, N>(batch: BatchProblem<B, N>, warm?: WarmStart<B, N>): {
  readonly solution: BatchSolution<B, N>
  readonly error: (b: number) => LayerError | undefined
  /** The vjp, computing of θ's cotangents besides q's only those `wants` names (w's and t's are −0 without `wt`, P's zero without `P`). */
  readonly gradients: (ct: Mat<B, N>, wants?: Wants) => BatchGradients<B, N>
} => {
  validateOptions(options)
  const { B, n, problemAt, trusted } = instancesOf(batch)
  const rows = batch.q.rows, cols = batch.q.cols
  const starts = warm === undefined ? undefined : startsOf(warm, B, n)
  return withCall(() => {
    const solved = solveProblems(options, B, problemAt, starts, trusted())
    const { groups, kept } = solved
    const ok = (b: number): boolean => solved.error(b) === undefined
    const X = new Float64Array(B * n)
    for (let b = 0; b < B; b++) {
      const x = solved.x(b)
      if (x !== undefined) X.set(x, b * n)
    }
    // which instances a batched fold produced (their derivatives are batched), and where
    const inGroup = new Int32Array(B).fill(-1), position = new Int32Array(B)
    groups.forEach((g, gi) => g.items.forEach((b, p) => { inGroup[b] = gi; position[b] = p }))
    const Ps = batch.P
    const denseP = Array.from({ length: B }, (_, b) => {
      const P = (Array.isArray(Ps) ? Ps[b] : Ps) as LinearOperator<N> | undefined
      return P !== undefined && P.kind === 'dense'
    })
    const gradients = (ct: Mat<B, N>, wants?: Wants): BatchGradients<B, N> => withCall(() => {
      const C = checkRows(ct, B, n, 'cotangent')
      const gq = new Float64Array(B * n), gw = new Float64Array(B * n), gt = new Float64Array(B)
      const nDim = cols as unknown as Dim<N>
      // what P's gradients are made of: the folds' terms, and the instances' own gradients
      const folds: Array<{ readonly items: readonly number[]; readonly sel: Int32Array; readonly terms: ReadonlyArray<OuterTerms> }> = []
      const own: Array<Mat<N, N> | undefined> = new Array(B).fill(undefined)
      groups.forEach((g) => {
        // the fold's instances that succeeded, as one selection
        const sel: number[] = []
        g.items.forEach((b, p) => { if (ok(b)) sel.push(p) })
        if (sel.length === 0) return
        // rows gathered and scattered by index (a view and a set per row cost more than
        // the row itself at small n)
        const cx = new Float64Array(sel.length * n)
        for (let k = 0; k < sel.length; k++) {
          const o = g.items[sel[k]!]! * n, d = k * n
          for (let i = 0; i < n; i++) cx[d + i] = C[o + i]!
        }
        const c = batchVjp(g.run, g.theta, Int32Array.from(sel), cx, wants)
        // the tape goes back to the pool for the next solve (a training step's next batch);
        // a later vjp or jvp of this solution records it again first
        g.run.release()
        const cq = c.q, cw = c.w
        for (let k = 0; k < sel.length; k++) {
          const b = g.items[sel[k]!]!, o = b * n, d = k * n
          for (let i = 0; i < n; i++) { gq[o + i] = cq[d + i]!; gw[o + i] = cw[d + i]! }
          gt[b] = c.t[k]!
        }
        folds.push({ items: sel.map((p) => g.items[p]!), sel: Int32Array.from(sel), terms: c.terms })
      })
      // the implicit instances' P-gradient factors, for −v xᵀ when asked: v scattered onto
      // its face (zeros off it) and the face's x, row b of two B × n arrays
      let vRows: Float64Array | undefined, xRows: Float64Array | undefined
      const hasV = new Uint8Array(B)
      for (let b = 0; b < B; b++) {
        if (!ok(b) || inGroup[b] !== -1) continue
        const k = kept[b]
        if (k !== undefined) {
          // the instance's own VJP (`vjp`'s q, w and t, bitwise), P's gradient deferred
          const p = k.vjpParts(C.subarray(b * n, b * n + n))
          gq.set(p.q, b * n)
          gw.set(p.acc.w, b * n)
          gt[b] = p.acc.t
          if (k.dense && wants?.P !== false) {
            vRows ??= new Float64Array(B * n)
            xRows ??= new Float64Array(B * n)
            const F = k.face.free, v = p.v, o = b * n
            for (let j = 0; j < F.length; j++) vRows[o + F[j]!] = v[j]!
            xRows.set(k.face.x, o)
            hasV[b] = 1
          }
          continue
        }
        const r = (solved.outcome(b) as E.Right<LayerResult<N>>).right
        const g = r.vjp({ dim: r.x.dim, data: C.slice(b * n, b * n + n) })
        gq.set(g.q.data, b * n)
        gw.set(g.w.data, b * n)
        gt[b] = g.t
        own[b] = g.P
      }
      const { pEach, pSum } = pGradients<N>(nDim, folds, own, vRows, xRows, hasV, denseP)
      return { q: { rows, cols, data: gq }, w: { rows, cols, data: gw }, t: { dim: rows, data: gt }, pEach, pSum }
    })
    const jvp = (tan: BatchTangent<B, N>): Mat<B, N> => withCall(() => {
      if (typeof tan !== 'object' || tan === null) throw new LayerError('expected a tangent { q?, w?, t?, P? }', 'tangent')
      const dq = tan.q === undefined ? undefined : checkRows(tan.q, B, n, 'tangent.q')
      const dw = tan.w === undefined ? undefined : checkRows(tan.w, B, n, 'tangent.w')
      const dt = tan.t === undefined ? undefined : (isVecOf(tan.t, B) ? tan.t.data : (() => { throw new LayerError(`expected a Vec of ${B} entries`, 'tangent.t') })())
      const dP = tan.P
      const dPOf = (b: number): Mat<N, N> | undefined => dP === undefined ? undefined : Array.isArray(dP) ? (dP as ReadonlyArray<Mat<N, N>>)[b] : (dP as Mat<N, N>)
      const DX = new Float64Array(B * n)
      groups.forEach((g) => {
        const sel: number[] = []
        g.items.forEach((b, p) => { if (ok(b)) sel.push(p) })
        if (sel.length === 0) return
        const pick = (a: Float64Array | undefined): Float64Array | undefined => {
          if (a === undefined) return undefined
          const o = new Float64Array(sel.length * n)
          sel.forEach((p, k) => o.set(a.subarray(g.items[p]! * n, g.items[p]! * n + n), k * n))
          return o
        }
        const d = {
          ...(dq !== undefined ? { q: pick(dq)! } : {}),
          ...(dw !== undefined ? { w: pick(dw)! } : {}),
          ...(dt !== undefined ? { t: Float64Array.from(sel, (p) => dt[g.items[p]!]!) } : {}),
          ...(dP !== undefined ? { P: sel.map((p) => dPOf(g.items[p]!)) } : {})
        }
        const dx = batchJvp(g.run, g.theta, Int32Array.from(sel), d)
        sel.forEach((p, k) => DX.set(dx.subarray(k * n, k * n + n), g.items[p]! * n))
      })
      for (let b = 0; b < B; b++) {
        if (!ok(b) || inGroup[b] !== -1) continue
        const r = solved.outcome(b) as E.Right<LayerResult<N>>
        const dim = r.right.x.dim
        const row = (a: Float64Array | undefined): Vec<N> | undefined => (a === undefined ? undefined : { dim, data: a.slice(b * n, b * n + n) })
        const q = row(dq), w = row(dw), Pb = dPOf(b)
        const dx = r.right.jvp({ ...(q !== undefined ? { q } : {}), ...(w !== undefined ? { w } : {}), ...(dt !== undefined ? { t: dt[b]! } : {}), ...(Pb !== undefined ? { P: Pb } : {}) })
        DX.set(dx.data, b * n)
      }
      return { rows, cols, data: DX }
    })
    const vjp = ((ct: Mat<B, N>, wrt?: unknown) => {
      if (wrt === undefined) return gradients(ct)
      if (wrt !== 'q') throw new LayerError(`expected 'q' or nothing, got ${String(wrt)}`, 'wrt')
      return { q: gradients(ct, Q_ALONE).q }
    }) as BatchVjp<B, N>
    const solution = new Solution<B, N>({ rows, cols, data: X }, () => outcomes(solved, B), vjp, jvp)
    return { solution, error: solved.error, gradients }
  })
}

// -------------------------------------------------------------------------------------
// the layer as a map
// -------------------------------------------------------------------------------------

/**
 * The layer θ ↦ x as a differentiable map, for one set. Its linear map is the layer's
 * (unrolled or implicit, by `options.backward`); invalid parameters throw a `LayerError`.
 *
 * @example
 * const f = layerMap<N>({ backward: 'implicit' }, 'l1')
 * const [x, lin] = f({ P, q, w, t: 1 })
 * lin.bwd(ones) // the cotangent of θ
 */
export const layerMap = <N>(options: LayerOptions = {}, set: SetKind = 'l1'): Diff<Params<N>, Vec<N>> => {
  const layer = dfwLayer(options)
  return (theta) => {
    const r = layer<N>({ ...theta, set })
    return [r.x, r.linear]
  }
}
