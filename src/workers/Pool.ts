/**
 * An opt-in pool of worker threads for large batches (`dfwlayer/workers`, Node only).
 *
 * - `await dfwPool({ workers })` starts the workers (default: one per core) and resolves
 *   once every one has loaded the library.
 * - `pool.batch(options)(problems, cotangents?)` is `dfwBatch(options)(problems)` split
 *   into one contiguous share per worker; with cotangents, each result carries the
 *   gradients of ⟨cotangent, x⟩ (its `vjp`, computed in the worker).
 * - `pool.batchSolve(options)(batch, backward?)` is `dfwBatchSolve(options)(batch)` split by
 *   rows, with the batched VJP of a cotangent, given with the batch or computed from x by a
 *   function in the calling thread (a training step: forward, the loss's gradient in x,
 *   then ∇ in q, w, t and P).
 *
 * Results are the calling thread's, bitwise: every worker runs the same code
 * (`Run.ts`) on its instances in their order, and an instance's result never depends on
 * the other instances of its batch. The one exception is the sum of P's gradient over a
 * batch (`P: 'sum'`), which adds the workers' partial sums and so differs from the
 * one-thread sum by rounding.
 *
 * Operators, shared weights and set parameters are copied once per batch into
 * SharedArrayBuffers that every worker reads; q, per-instance rows, cotangents and
 * everything the workers send back are transferred. Batches whose work (Σ nᵢ² over the
 * instances) is below `minWork`, batches of one instance, and batches that cannot cross
 * threads (a set given by its oracle, a function) run in the calling thread, through the
 * same code. Workers do not keep the process alive while idle.
 *
 * Where it helps: only where a second core is idle and batches are large. On a busy
 * 2-core machine (load ≈ 7, README "Both cores", `bench/workers.ts`) forward + VJP over
 * two workers ran at 0.47–1.44× the one-thread speed over n = 10…300, B = 16…256: it
 * lost on every batch of 16 and on most implicit batches.
 *
 * @since 0.1.0
 */
import { Worker } from 'node:worker_threads'
import * as os from 'node:os'
import * as E from 'fp-ts/lib/Either.js'
import type { Dim } from '../shapes/Dim.js'
import type { Mat } from '../shapes/Mat.js'
import type { Vec } from '../shapes/Vec.js'
import type { BatchProblem, FaceReport, Gradients, LayerOptions, PolishStats, Problem, Status } from '../fw/index.js'
import { LayerError } from '../fw/index.js'
import { validateBatch, validateOptions } from '../fw/Validate.js'
import { runBatch, runBatchSolve } from './Run.js'
import { crashHooks } from './internal.js'
import {
  fromErrorWire, hasData, NotTransferable, pack, rows, sharer,
  type BatchBackReply, type BatchReply, type ErrorWire, type GradWire, type InstanceWire, type Job, type PMode, type Reply, type Request, type SolveGradWire, type SolveReply
} from './Wire.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The pool's options.
 *
 * @example
 * const pool = await dfwPool({ workers: 2, minWork: 0 }) // every batch of ≥ 2 instances goes to the workers
 */
export interface PoolOptions {
  /** The number of worker threads (an integer ≥ 1). Default: `os.availableParallelism()`. */
  readonly workers?: number
  /**
   * The smallest batch, as Σ nᵢ² over its instances, that the workers take; smaller
   * batches run in the calling thread. Default {@link DEFAULT_MIN_WORK}.
   */
  readonly minWork?: number
}

/**
 * A result of the pool: what `dfwLayer` returns, as data (no functions cross threads).
 * `gradients` are the VJP of the cotangent given for the instance.
 *
 * @example
 * const [r] = await pool.batch({})([problem], [ones])
 * if (E.isRight(r)) r.right.gradients?.q // ∇_q ⟨ones, x⟩
 */
export interface PoolResult<N> {
  readonly x: Vec<N>
  readonly objective: number
  readonly gap: number
  readonly iterations: number
  readonly status: Status
  readonly face?: FaceReport
  readonly polish?: PolishStats
  /** The gradients of ⟨cotangent, x⟩ (as `LayerResult.vjp(cotangent)` gives them), when a cotangent was given. */
  readonly gradients?: PoolInstanceGradients<N>
}

/**
 * An instance's gradients: the layer's `Gradients<N>`, as `LayerResult.vjp` gives them.
 *
 * @example
 * r.gradients?.P // n × n, when P is dense
 */
export type PoolInstanceGradients<N> = Gradients<N>

/**
 * The cotangents of a batch of problems: one per problem (undefined for no gradients), or
 * a function that computes them from the forward results in the calling thread.
 *
 * @example
 * await pool.batch({})(problems, problems.map(() => ones))
 * await pool.batch({})(problems, (rs) => rs.map((r) => (E.isRight(r) ? lossGradient(r.right.x) : undefined)))
 */
export type PoolCotangents<N> =
  | ReadonlyArray<Vec<N> | undefined>
  | ((results: ReadonlyArray<E.Either<LayerError, PoolResult<N>>>) => ReadonlyArray<Vec<N> | undefined>)

/**
 * The backward of a structure-of-arrays batch: the cotangent (B × n), or a function of x
 * that gives it in the calling thread, and which gradient of P to ship back: `'sum'` (of
 * a P the instances share; added over the workers, so equal to the one-thread sum to
 * rounding), `'each'` (per instance), or none (the default).
 *
 * @example
 * await pool.batchSolve(options)(batch, { cotangent: (x) => lossGradient(x), P: 'sum' })
 */
export interface PoolBackward<B, N> {
  /** The cotangent of x (B × n, finite), or a function that computes it from x in the calling thread. */
  readonly cotangent: Mat<B, N> | ((x: Mat<B, N>) => Mat<B, N>)
  /** Which gradient of P to ship back: the sum over the instances, one per instance, or none (the default). */
  readonly P?: 'sum' | 'each'
}

/**
 * The gradients of Σ_b ⟨ct_b, x_b⟩ over a structure-of-arrays batch (`BatchGradients`
 * as data): row b belongs to instance b; `pSum`/`pEach` as asked for.
 *
 * @example
 * const g = (await pool.batchSolve(options)(batch, { cotangent: ct })).gradients!
 * g.q.data // B × n
 */
export interface PoolGradients<B, N> {
  readonly q: Mat<B, N>
  readonly w: Mat<B, N>
  readonly t: Vec<B>
  readonly pSum?: Mat<N, N>
  readonly pEach?: ReadonlyArray<Mat<N, N> | undefined>
}

/**
 * A solved structure-of-arrays batch: x row by row (zeros where an instance failed), each
 * instance's result or error, and the gradients when a backward was asked for.
 *
 * @example
 * const sol = await pool.batchSolve(options)(batch, { cotangent: ct })
 * sol.x; sol.results[3]; sol.gradients?.q
 */
export interface PoolSolution<B, N> {
  readonly x: Mat<B, N>
  readonly results: ReadonlyArray<E.Either<LayerError, PoolResult<N>>>
  readonly gradients?: PoolGradients<B, N>
}

/**
 * Where the pool's batches ran, and how many workers it had to replace.
 *
 * @example
 * pool.stats() // { inThread: 3, inWorkers: 12, restarts: 0 }
 */
export interface PoolStats {
  readonly inThread: number
  readonly inWorkers: number
  readonly restarts: number
}

/**
 * A pool of worker threads; see the module notes. A worker that dies rejects the batches
 * it was serving with an `Error` and is replaced at the next batch; after `close()` every
 * call rejects.
 *
 * @example
 * const pool = await dfwPool()
 * try { const rs = await pool.batch({ backward: 'implicit' })(problems) } finally { await pool.close() }
 */
export interface DfwPool {
  /** The number of workers. */
  readonly size: number
  /** The smallest batch (Σ nᵢ²) the workers take. */
  readonly minWork: number
  /** `dfwBatch(options)(problems)` over the workers, with the gradients of the cotangents. */
  readonly batch: (options?: LayerOptions) => <N>(problems: ReadonlyArray<Problem<N>>, cotangents?: PoolCotangents<N>) => Promise<ReadonlyArray<E.Either<LayerError, PoolResult<N>>>>
  /** `dfwBatchSolve(options)(batch)` over the workers, with the batched VJP. */
  readonly batchSolve: (options?: LayerOptions) => <B, N>(batch: BatchProblem<B, N>, backward?: PoolBackward<B, N>) => Promise<PoolSolution<B, N>>
  /** Where the batches ran so far. */
  readonly stats: () => PoolStats
  /** Stops the workers; idempotent. Batches still running reject. */
  readonly close: () => Promise<void>
}

/**
 * The default `minWork`: batches below 64 instances of n = 100 (Σ nᵢ² = 640 000) run in
 * the calling thread. On the project's 2-core machine at load ≈ 7 (README, "Both cores")
 * batches of 16 lost in every case (0.47–0.94×), and the pool won at most 1.44×
 * (unrolled, n = 30, B = 64). So this default only keeps clearly small batches in the
 * thread; raise it, or skip the pool, where the cores are busy.
 *
 * @example
 * await dfwPool({ minWork: DEFAULT_MIN_WORK * 4 }) // only larger batches go to the workers
 */
export const DEFAULT_MIN_WORK = 640_000

// -------------------------------------------------------------------------------------
// workers
// -------------------------------------------------------------------------------------

const fromSources = import.meta.url.endsWith('.ts')
const ENTRY = new URL(fromSources ? './worker.ts' : './worker.js', import.meta.url).href
// The worker's first code: it loads the entry module (and, when the pool runs from its
// TypeScript sources, e.g. in the tests, registers tsx in the worker first).
const BOOT = `const { workerData } = require('node:worker_threads')
;(async () => {
  if (workerData.loader !== undefined) (await import(workerData.loader)).register()
  await import(workerData.entry)
})()`

interface Pending { readonly resolve: (v: unknown) => void; readonly reject: (e: Error) => void }

interface Slot {
  readonly worker: Worker
  readonly ready: Promise<void>
  readonly pending: Map<number, Pending>
  alive: boolean
}

const closedError = (): Error => new Error('dfwPool: the pool is closed')

/** A request's failure in the worker, as the error the calling thread sees. */
const failure = (m: Extract<Reply, { kind: 'failed' }>): Error => (m.path !== undefined ? new LayerError(m.message, m.path) : new Error(`dfwPool: a worker failed: ${m.message}`))

const loaderUrl = (): string | undefined => {
  if (!fromSources) return undefined
  try {
    return import.meta.resolve('tsx/esm/api')
  } catch {
    throw new Error('dfwPool: running dfwlayer/workers from its TypeScript sources needs tsx (the built package needs nothing)')
  }
}

/** Starts worker `index`; its boot counts as pending, so the process stays alive until it is ready. */
const spawn = (index: number, onExit: (s: Slot) => void): Slot => {
  const loader = loaderUrl()
  const worker = new Worker(BOOT, {
    eval: true,
    workerData: { dfwPool: true, entry: ENTRY, ...(loader !== undefined ? { loader } : {}) },
    ...(loader !== undefined ? { execArgv: [] } : {})
  })
  const pending = new Map<number, Pending>()
  let lastError: Error | undefined
  let ready!: Pending
  const slot: Slot = { worker, pending, alive: true, ready: new Promise<void>((resolve, reject) => { ready = { resolve: () => resolve(), reject } }) }
  slot.ready.catch(() => undefined)
  pending.set(-1, ready)
  const settle = (id: number, f: (p: Pending) => void): void => {
    const p = pending.get(id)
    if (p === undefined) return
    pending.delete(id)
    if (pending.size === 0) worker.unref()
    f(p)
  }
  worker.on('message', (m: Reply) => {
    if (m.kind === 'ready') settle(-1, (p) => p.resolve(undefined))
    else if (m.kind === 'done') settle(m.id, (p) => p.resolve(m.value))
    else settle(m.id, (p) => p.reject(failure(m)))
  })
  worker.on('error', (e) => { lastError = e })
  worker.on('exit', (code) => {
    slot.alive = false
    const why = new Error(`dfwPool: worker ${index} stopped (${lastError !== undefined ? lastError.message : `exit code ${code}`}) while serving a batch; a new worker takes its place at the next batch`)
    for (const id of [...pending.keys()]) settle(id, (p) => p.reject(why))
    onExit(slot)
  })
  return slot
}

// -------------------------------------------------------------------------------------
// assembling results
// -------------------------------------------------------------------------------------

const vec = <N>(dim: Dim<N>, data: Float64Array): Vec<N> => ({ dim, data })

const instanceGradients = <N>(g: GradWire, dim: Dim<N>): PoolInstanceGradients<N> => ({
  q: vec(dim, g.q), w: vec(dim, g.w), t: g.t,
  ...(g.P !== undefined ? { P: { rows: dim, cols: dim, data: g.P } } : {}),
  ...(g.lower !== undefined ? { lower: vec(dim, g.lower) } : {}),
  ...(g.upper !== undefined ? { upper: vec(dim, g.upper) } : {}),
  ...(g.k !== undefined ? { k: g.k } : {})
})

/** An instance of a reply as the user's Either; `x` given for a structure-of-arrays row. */
const instance = <N>(w: InstanceWire, offset: number, dim: Dim<N>, x?: Float64Array): E.Either<LayerError, PoolResult<N>> => {
  if (!w.ok) return E.left(fromErrorWire(w, offset))
  return E.right({
    x: vec(dim, x ?? w.x!),
    objective: w.objective, gap: w.gap, iterations: w.iterations, status: w.status,
    ...(w.face !== undefined ? { face: w.face } : {}),
    ...(w.polish !== undefined ? { polish: w.polish } : {}),
    ...(w.g !== undefined ? { gradients: instanceGradients(w.g, dim) } : {})
  })
}

/** A result with the gradients (or the error) of a later backward. */
const withBackward = <N>(r: E.Either<LayerError, PoolResult<N>>, g: GradWire | ErrorWire | null, offset: number, dim: Dim<N>): E.Either<LayerError, PoolResult<N>> =>
  g === null || E.isLeft(r) ? r : g.ok === false ? E.left(fromErrorWire(g, offset)) : E.right({ ...r.right, gradients: instanceGradients(g, dim) })

const dimOf = <N>(p: Problem<N>): Dim<N> => (p as { q?: { dim?: Dim<N> } } | null)?.q?.dim as Dim<N>

/** The cotangents a function returned, checked: one per problem. */
const checkCotangents = <N>(cts: unknown, B: number): ReadonlyArray<Vec<N> | undefined> => {
  if (!Array.isArray(cts) || cts.length !== B) throw new LayerError(`expected ${B} cotangents (one per problem, or undefined), got ${Array.isArray(cts) ? cts.length : typeof cts}`, 'cotangents')
  return cts as ReadonlyArray<Vec<N> | undefined>
}

/** A finite B × n cotangent (the messages of `dfwBatchSolve`'s `vjp`), or a LayerError at `cotangent`. */
const checkRows = (m: unknown, B: number, n: number): Float64Array => {
  if (!isMat(m, B, n)) throw new LayerError(`expected a ${B} × ${n} Mat`, 'cotangent')
  const d = m.data
  for (let k = 0; k < d.length; k++) if (!Number.isFinite(d[k]!)) throw new LayerError(`expected a finite number, got ${String(d[k])}`, `cotangent[${Math.floor(k / n)}][${k % n}]`)
  return d
}

const isMat = (m: unknown, r: number, c: number): m is Mat<unknown, unknown> =>
  typeof m === 'object' && m !== null && hasData(m, r * c) && (m as Mat<unknown, unknown>).rows === r && (m as Mat<unknown, unknown>).cols === c

/** Contiguous shares of [0, B) for k workers. */
const shares = (B: number, k: number): ReadonlyArray<readonly [number, number]> =>
  Array.from({ length: k }, (_, j) => [Math.floor((B * j) / k), Math.floor((B * (j + 1)) / k)] as const)

// -------------------------------------------------------------------------------------
// encoding batches
// -------------------------------------------------------------------------------------

type Share = ReturnType<typeof sharer>

/** An object's fields shared, except `skip`. */
const shareFields = (o: object, skip: string, share: Share, path: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([k]) => k !== skip).map(([k, v]) => [k, share(v, `${path}.${k}`)]))

/** A share of problems: q packed into one transferred buffer, the rest shared; cotangents packed alike. */
const encodeProblems = (problems: ReadonlyArray<unknown>, cts: ReadonlyArray<unknown> | undefined, lo: number, share: Share):
{ readonly problems: ReadonlyArray<unknown>; readonly cts?: ReadonlyArray<unknown>; readonly transfer: ArrayBuffer[] } => {
  const packVecs = (vs: ReadonlyArray<unknown>, what: string): { readonly out: unknown[]; readonly buffer: ArrayBuffer } => {
    const data = vs.filter((v): v is { data: Float64Array } => hasData(v)).map((v) => v.data)
    const { buffer, views } = pack(data)
    let k = 0
    return {
      buffer,
      out: vs.map((v, j) => (hasData(v) ? { ...shareFields(v, 'data', share, `[${lo + j}]${what}`), data: views[k++]! } : share(v, `[${lo + j}]${what}`)))
    }
  }
  const plain = (p: unknown): p is object => typeof p === 'object' && p !== null && !Array.isArray(p)
  const q = packVecs(problems.map((p) => (plain(p) ? (p as { q?: unknown }).q : undefined)), '.q')
  const ps = problems.map((p, j) => (plain(p) ? { ...shareFields(p, 'q', share, `[${lo + j}]`), ...('q' in p ? { q: q.out[j] } : {}) } : share(p, `[${lo + j}]`)))
  if (cts === undefined) return { problems: ps, transfer: [q.buffer] }
  const c = packVecs(cts, '.cotangent')
  return { problems: ps, cts: c.out, transfer: [q.buffer, c.buffer] }
}

/** The layout of a structure-of-arrays batch, or undefined when it does not fit (the calling thread then throws `dfwBatchSolve`'s own error). */
const layoutOf = (batch: unknown): { readonly B: number; readonly n: number; readonly wRows: boolean } | undefined => {
  if (typeof batch !== 'object' || batch === null) return undefined
  const b = batch as BatchProblem<unknown, unknown>
  const q = b.q as Mat<unknown, unknown> | undefined
  if (q === undefined || typeof q !== 'object' || !Number.isSafeInteger(q.rows) || !Number.isSafeInteger(q.cols) || !hasData(q, (q.rows as number) * (q.cols as number)) || q.cols < 1) return undefined
  const B = q.rows as number, n = q.cols as number
  if (Array.isArray(b.P) && b.P.length !== B) return undefined
  const wShared = b.w !== undefined && hasData(b.w, n) && !isMat(b.w, B, n)
  if (b.w !== undefined && !wShared && !isMat(b.w, B, n)) return undefined
  if (b.t !== undefined && typeof b.t !== 'number' && !hasData(b.t, B)) return undefined
  return { B, n, wRows: b.w !== undefined && !wShared }
}

/** Rows [lo, hi) of a structure-of-arrays batch: q (and w, t rows) in buffers of their own, the rest shared. */
const encodeRows = <B, N>(batch: BatchProblem<B, N>, lo: number, hi: number, n: number, wRows: boolean, share: Share): { readonly batch: unknown; readonly transfer: ArrayBuffer[] } => {
  const count = hi - lo
  const q = rows(batch.q.data, lo, hi, n)
  const transfer: ArrayBuffer[] = [q.buffer as ArrayBuffer]
  const rowsOf = (a: Float64Array, cols: number): Float64Array => { const r = rows(a, lo, hi, cols); transfer.push(r.buffer as ArrayBuffer); return r }
  const P = Array.isArray(batch.P) ? batch.P.slice(lo, hi).map((p, k) => share(p, `P[${lo + k}]`)) : share(batch.P, 'P')
  const w = batch.w === undefined ? undefined : wRows ? { rows: count, cols: n, data: rowsOf(batch.w.data, n) } : share(batch.w, 'w')
  const t = batch.t === undefined || typeof batch.t === 'number' ? batch.t : { dim: count, data: rowsOf(batch.t.data, 1) }
  return {
    batch: {
      P, q: { rows: count, cols: n, data: q },
      ...(w !== undefined ? { w } : {}), ...(t !== undefined ? { t } : {}), ...(batch.set !== undefined ? { set: share(batch.set, 'set') } : {})
    },
    transfer
  }
}

// -------------------------------------------------------------------------------------
// the pool
// -------------------------------------------------------------------------------------

const defaultWorkers = (): number => Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length)

/**
 * Starts a pool of worker threads; resolves once every worker has loaded the library.
 * Throws a `LayerError` for bad options (`workers`, `minWork`).
 *
 * @example
 * const pool = await dfwPool({ workers: 2 })
 * const sol = await pool.batchSolve({ backward: 'implicit' })({ P, q, t: 1 }, { cotangent: (x) => lossGradient(x) })
 * sol.gradients?.q // ∇_q of the loss, B × n
 * await pool.close()
 */
export const dfwPool = async (options: PoolOptions = {}): Promise<DfwPool> => {
  if (typeof options !== 'object' || options === null) throw new LayerError('expected pool options { workers?, minWork? }', '')
  for (const k of Object.keys(options)) if (k !== 'workers' && k !== 'minWork') throw new LayerError(`unknown pool option ${k}`, k)
  const size = options.workers ?? defaultWorkers()
  if (!Number.isSafeInteger(size) || size < 1) throw new LayerError(`workers must be an integer ≥ 1, got ${String(size)}`, 'workers')
  const minWork = options.minWork ?? DEFAULT_MIN_WORK
  if (typeof minWork !== 'number' || !(minWork >= 0)) throw new LayerError(`minWork must be a number ≥ 0, got ${String(minWork)}`, 'minWork')

  let closed = false
  let closing: Promise<void> | undefined
  let nextId = 0
  const counts = { inThread: 0, inWorkers: 0, restarts: 0 }
  const slots: Slot[] = []
  const start = (i: number): Slot => { const s = spawn(i, () => undefined); slots[i] = s; return s }
  const slotFor = (i: number): Slot => {
    const s = slots[i]!
    if (s.alive) return s
    counts.restarts++
    return start(i)
  }
  for (let i = 0; i < size; i++) start(i)
  try {
    await Promise.all(slots.map((s) => s.ready))
  } catch (e) {
    await Promise.all(slots.map((s) => s.worker.terminate()))
    throw e
  }

  /** Sends a request to worker i and waits for its reply. */
  const request = async (i: number, msg: Job, transfer: ArrayBuffer[] = []): Promise<unknown> => {
    if (closed) throw closedError()
    const s = slotFor(i)
    await s.ready
    return new Promise((resolve, reject) => {
      if (closed) return reject(closedError())
      if (!s.alive) return reject(new Error(`dfwPool: worker ${i} stopped before it got the batch; a new worker takes its place at the next batch`))
      s.pending.set(msg.id, { resolve, reject })
      s.worker.ref()
      try {
        s.worker.postMessage(msg, transfer)
      } catch (e) {
        s.pending.delete(msg.id)
        reject(e as Error)
      }
    })
  }
  const tell = (i: number, msg: Request): void => { const s = slots[i]; if (s !== undefined && s.alive && !closed) s.worker.postMessage(msg) }

  /**
   * Runs one request per share; on any failure drops what the others kept and rethrows.
   * Returns the replies in share order.
   */
  const all = async <R>(msgs: ReadonlyArray<{ readonly msg: Job; readonly transfer: ArrayBuffer[] }>, keep: boolean): Promise<R[]> => {
    const settled = await Promise.allSettled(msgs.map(({ msg, transfer }, i) => request(i, msg, transfer)))
    const bad = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
    if (bad !== undefined) {
      if (keep) msgs.forEach(({ msg }, i) => tell(i, { kind: 'drop', id: msg.id }))
      throw bad.reason
    }
    return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value as R)
  }

  const batch = (layerOptions: LayerOptions = {}) => async <N>(problems: ReadonlyArray<Problem<N>>, cotangents?: PoolCotangents<N>): Promise<ReadonlyArray<E.Either<LayerError, PoolResult<N>>>> => {
    if (closed) throw closedError()
    validateBatch(problems, layerOptions)
    if (cotangents !== undefined && !Array.isArray(cotangents) && typeof cotangents !== 'function') {
      throw new LayerError('expected one cotangent per problem (or undefined), or a function of the results', 'cotangents')
    }
    const B = problems.length
    const given = Array.isArray(cotangents) ? checkCotangents<N>(cotangents, B) : undefined
    const later = typeof cotangents === 'function' ? cotangents : undefined
    const dims = problems.map((p) => dimOf(p))
    const work = problems.reduce((s, p) => s + (typeof p === 'object' && p !== null && hasData(p.q) ? p.q.data.length ** 2 : 0), 0)
    const k = Math.min(size, B)
    let encoded: ReadonlyArray<{ readonly msg: Job; readonly transfer: ArrayBuffer[] }> | undefined
    if (B >= 2 && work >= minWork) {
      try {
        const share = sharer()
        const id = nextId++
        encoded = shares(B, k).map(([lo, hi]) => {
          const e = encodeProblems(problems.slice(lo, hi), given?.slice(lo, hi), lo, share)
          return { msg: { kind: 'batch', id, options: layerOptions, problems: e.problems, ...(e.cts !== undefined ? { cts: e.cts } : {}), keep: later !== undefined }, transfer: e.transfer }
        })
      } catch (e) {
        if (!(e instanceof NotTransferable)) throw e
        encoded = undefined
      }
    }
    if (encoded === undefined) {
      counts.inThread++
      const r = runBatch(layerOptions, problems, given, later !== undefined)
      const rs = r.reply.results.map((w, i) => instance(w, 0, dims[i]!))
      if (later === undefined) return rs
      const back = r.backward!(checkCotangents<N>(later(rs), B))
      return rs.map((x, i) => withBackward(x, back.grads[i]!, 0, dims[i]!))
    }
    counts.inWorkers++
    const ranges = shares(B, k)
    const replies = await all<BatchReply>(encoded, later !== undefined)
    const rs = replies.flatMap((rep, j) => rep.results.map((w, i) => instance(w, ranges[j]![0], dims[ranges[j]![0] + i]!)))
    if (later === undefined) return rs
    let cts: ReadonlyArray<Vec<N> | undefined>
    try {
      cts = checkCotangents<N>(later(rs), B)
    } catch (e) {
      encoded.forEach(({ msg }, i) => tell(i, { kind: 'drop', id: msg.id }))
      throw e
    }
    const backs = await all<BatchBackReply>(ranges.map(([lo, hi], j) => {
      const e = encodeProblems([], cts.slice(lo, hi), lo, sharer())
      return { msg: { kind: 'vjp', id: encoded![j]!.msg.id, cts: e.cts! }, transfer: e.transfer }
    }), false)
    return rs.map((r, i) => {
      const j = ranges.findIndex(([lo, hi]) => i >= lo && i < hi)
      return withBackward(r, backs[j]!.grads[i - ranges[j]![0]]!, ranges[j]![0], dims[i]!)
    })
  }

  const batchSolve = (layerOptions: LayerOptions = {}) => async <B, N>(problem: BatchProblem<B, N>, backward?: PoolBackward<B, N>): Promise<PoolSolution<B, N>> => {
    if (closed) throw closedError()
    validateOptions(layerOptions)
    if (backward !== undefined && (typeof backward !== 'object' || backward === null || (typeof backward.cotangent !== 'function' && typeof backward.cotangent !== 'object'))) {
      throw new LayerError('expected a backward { cotangent, P? } with cotangent a B × n Mat or a function of x', 'backward')
    }
    if (backward?.P !== undefined && backward.P !== 'sum' && backward.P !== 'each') throw new LayerError(`expected P to be 'sum' or 'each', got ${String(backward.P)}`, 'backward.P')
    const pMode: PMode = backward?.P ?? 'none'
    const layout = layoutOf(problem)
    const later = typeof backward?.cotangent === 'function' ? backward.cotangent : undefined
    const givenMat = backward !== undefined && later === undefined ? (backward.cotangent as Mat<B, N>) : undefined
    const rowsB = problem.q?.rows, colsN = problem.q?.cols
    const given = givenMat !== undefined && layout !== undefined ? checkRows(givenMat, layout.B, layout.n) : undefined
    const work = layout === undefined ? 0 : layout.B * layout.n ** 2
    const solutionOf = (x: Float64Array, results: ReadonlyArray<E.Either<LayerError, PoolResult<N>>>, g: SolveGradWire | undefined): PoolSolution<B, N> => ({
      x: { rows: rowsB, cols: colsN, data: x },
      results,
      ...(g !== undefined ? { gradients: solveGradients<B, N>(g, rowsB, colsN) } : {})
    })
    let encoded: ReadonlyArray<{ readonly msg: Job; readonly transfer: ArrayBuffer[] }> | undefined
    const k = layout === undefined ? 1 : Math.min(size, layout.B)
    if (layout !== undefined && layout.B >= 2 && work >= minWork) {
      try {
        const share = sharer()
        const id = nextId++
        encoded = shares(layout.B, k).map(([lo, hi]) => {
          const e = encodeRows(problem, lo, hi, layout.n, layout.wRows, share)
          const ct = given === undefined ? undefined : rows(given, lo, hi, layout.n)
          return {
            msg: { kind: 'batchSolve', id, options: layerOptions, batch: e.batch, ...(ct !== undefined ? { ct } : {}), pMode, keep: later !== undefined },
            transfer: ct === undefined ? e.transfer : [...e.transfer, ct.buffer as ArrayBuffer]
          }
        })
      } catch (e) {
        if (!(e instanceof NotTransferable)) throw e
        encoded = undefined
      }
    }
    if (encoded === undefined || layout === undefined) {
      counts.inThread++
      const r = runBatchSolve(layerOptions, problem, given, pMode, later !== undefined)
      const n = colsN as number
      const results = r.reply.results.map((w, b) => instance(w, 0, colsN as unknown as Dim<N>, r.reply.x.slice(b * n, b * n + n)))
      if (later === undefined) return solutionOf(r.reply.x, results, r.reply.g)
      const x = solutionOf(r.reply.x, results, undefined).x
      return solutionOf(r.reply.x, results, r.backward!(checkRows(later(x), rowsB as number, colsN as number)))
    }
    counts.inWorkers++
    const { B, n } = layout
    const ranges = shares(B, k)
    const replies = await all<SolveReply>(encoded, later !== undefined)
    const X = new Float64Array(B * n)
    const results = replies.flatMap((rep, j) => {
      const lo = ranges[j]![0]
      X.set(rep.x, lo * n)
      return rep.results.map((w, b) => instance(w, lo, colsN as unknown as Dim<N>, rep.x.slice(b * n, b * n + n)))
    })
    let grads: ReadonlyArray<SolveGradWire | undefined> = replies.map((r) => r.g)
    if (later !== undefined) {
      let ct: Float64Array
      try {
        ct = checkRows(later({ rows: rowsB, cols: colsN, data: X.slice() }), B, n)
      } catch (e) {
        encoded.forEach(({ msg }, i) => tell(i, { kind: 'drop', id: msg.id }))
        throw e
      }
      grads = await all<SolveGradWire>(ranges.map(([lo, hi], j) => {
        const c = rows(ct, lo, hi, n)
        return { msg: { kind: 'vjp', id: encoded![j]!.msg.id, cts: c }, transfer: [c.buffer as ArrayBuffer] }
      }), false)
    }
    return solutionOf(X, results, grads[0] === undefined ? undefined : mergeGradients(grads as ReadonlyArray<SolveGradWire>, ranges, n))
  }

  const close = (): Promise<void> => {
    if (closing !== undefined) return closing
    closed = true
    closing = Promise.all(slots.map(async (s) => {
      for (const [id, p] of [...s.pending]) { s.pending.delete(id); p.reject(new Error('dfwPool: the pool was closed while a batch was running')) }
      await s.worker.terminate()
    })).then(() => undefined)
    return closing
  }

  const pool: DfwPool = { size, minWork, batch, batchSolve, stats: () => ({ ...counts }), close }
  crashHooks.set(pool, (i, code) => tell(i, { kind: 'exit', code }))
  return pool
}

/** The workers' gradients as one batch's: rows in place, P's sums added in share order, P's per-instance gradients in order. */
const mergeGradients = (gs: ReadonlyArray<SolveGradWire>, ranges: ReadonlyArray<readonly [number, number]>, n: number): SolveGradWire => {
  const B = ranges[ranges.length - 1]![1]
  const q = new Float64Array(B * n), w = new Float64Array(B * n), t = new Float64Array(B)
  let pSum: Float64Array | undefined
  const pEach: Array<Float64Array | null> = []
  gs.forEach((g, j) => {
    const lo = ranges[j]![0]
    q.set(g.q, lo * n)
    w.set(g.w, lo * n)
    t.set(g.t, lo)
    if (g.pSum !== undefined) {
      if (pSum === undefined) pSum = g.pSum.slice()
      else for (let k = 0; k < pSum.length; k++) pSum[k] = pSum[k]! + g.pSum[k]!
    }
    if (g.pEach !== undefined) pEach.push(...g.pEach)
  })
  return { q, w, t, ...(pSum !== undefined ? { pSum } : {}), ...(gs[0]!.pEach !== undefined ? { pEach } : {}) }
}

const solveGradients = <B, N>(g: SolveGradWire, rowsB: Dim<B>, colsN: Dim<N>): PoolGradients<B, N> => ({
  q: { rows: rowsB, cols: colsN, data: g.q },
  w: { rows: rowsB, cols: colsN, data: g.w },
  t: { dim: rowsB, data: g.t },
  ...(g.pSum !== undefined ? { pSum: { rows: colsN, cols: colsN, data: g.pSum } } : {}),
  ...(g.pEach !== undefined ? { pEach: g.pEach.map((d) => (d === null ? undefined : { rows: colsN, cols: colsN, data: d })) } : {})
})
