/**
 * What crosses between the calling thread and a pool worker: the messages, the copy of a
 * batch's data into shared memory (`share`), the per-instance buffers packed for a
 * transfer, and the errors and results as plain data.
 *
 * - Operators, weights and set parameters are copied once per batch into
 *   SharedArrayBuffers (`share`, memoized by object identity, so that problems sharing one
 *   operator object still share one in the worker: structured cloning keeps the identity
 *   of objects within one message). Every worker reads the same memory.
 * - Per-instance vectors (q, the rows of a structure-of-arrays batch, cotangents, and
 *   everything a worker sends back) travel as transferred ArrayBuffers, not copied.
 * - Anything that cannot cross (a set given by its oracle holds a function) makes
 *   `share` throw {@link NotTransferable}; the pool then runs that batch in the calling
 *   thread.
 *
 * @since 0.1.0
 */
import { owned } from '../shapes/alloc.js'
import { LayerError, type LayerOptions, type Status, type FaceReport, type PolishStats } from '../fw/index.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** A LayerError as data. */
export interface ErrorWire { readonly ok: false; readonly message: string; readonly path: string }

/** An instance's gradients as data (a `Gradients<N>` with its vectors bare). */
export interface GradWire {
  readonly ok: true
  readonly q: Float64Array
  readonly w: Float64Array
  readonly t: number
  readonly P?: Float64Array
  readonly lower?: Float64Array
  readonly upper?: Float64Array
  readonly k?: number
}

/** An instance's result as data; `x` is absent in a structure-of-arrays reply (it is a row of X). */
export interface ResultWire {
  readonly ok: true
  readonly x?: Float64Array
  readonly objective: number
  readonly gap: number
  readonly iterations: number
  readonly status: Status
  readonly face?: FaceReport
  readonly polish?: PolishStats
  readonly g?: GradWire
}

/** One instance of a reply. */
export type InstanceWire = ResultWire | ErrorWire

/** The forward reply for a chunk of problems (`batch`). */
export interface BatchReply { readonly results: ReadonlyArray<InstanceWire> }

/** The reply of a backward for a chunk of problems: per instance its gradients, its error, or nothing (no cotangent). */
export interface BatchBackReply { readonly grads: ReadonlyArray<GradWire | ErrorWire | null> }

/** The forward reply for a chunk of a structure-of-arrays batch (`batchSolve`). */
export interface SolveReply {
  readonly x: Float64Array
  readonly results: ReadonlyArray<InstanceWire>
  readonly g?: SolveGradWire
}

/** The gradients of a chunk of a structure-of-arrays batch. */
export interface SolveGradWire {
  readonly q: Float64Array
  readonly w: Float64Array
  readonly t: Float64Array
  readonly pSum?: Float64Array
  readonly pEach?: ReadonlyArray<Float64Array | null>
}

/** Which P gradient a structure-of-arrays backward ships. */
export type PMode = 'none' | 'sum' | 'each'

/** A request from the calling thread. `id` names the reply; `keep` keeps the chunk's solution for a later `vjp`. */
export type Request =
  | { readonly kind: 'batch'; readonly id: number; readonly options: LayerOptions; readonly problems: ReadonlyArray<unknown>; readonly cts?: ReadonlyArray<unknown>; readonly keep: boolean }
  | { readonly kind: 'batchSolve'; readonly id: number; readonly options: LayerOptions; readonly batch: unknown; readonly ct?: Float64Array; readonly pMode: PMode; readonly keep: boolean }
  | { readonly kind: 'vjp'; readonly id: number; readonly cts: ReadonlyArray<unknown> | Float64Array }
  | { readonly kind: 'drop'; readonly id: number }
  | { readonly kind: 'exit'; readonly code: number }

/** A request that expects a reply or names a kept solution (every kind but `exit`). */
export type Job = Exclude<Request, { readonly kind: 'exit' }>

/** A worker's answer: ready after loading, a reply to request `id`, or a failure of that request. */
export type Reply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'done'; readonly id: number; readonly value: unknown }
  | { readonly kind: 'failed'; readonly id: number; readonly message: string; readonly path?: string }

// -------------------------------------------------------------------------------------
// errors
// -------------------------------------------------------------------------------------

/** A value that cannot be sent to a worker (a function, a symbol, a cycle). */
export class NotTransferable extends Error {
  constructor(readonly path: string) {
    super(`cannot send ${path === '' ? 'the batch' : path} to a worker`)
    this.name = 'NotTransferable'
  }
}

/** An error as data. */
export const errorWire = (e: LayerError): ErrorWire => ({ ok: false, message: e.message, path: e.path })

/** The LayerError of an error wire, its leading instance index `[i]` moved by `offset`. */
export const fromErrorWire = (w: ErrorWire, offset: number): LayerError => new LayerError(w.message, reindex(w.path, offset))

/** A path `[i]…` with i moved by `offset` (a chunk's local index to the batch's). */
export const reindex = (path: string, offset: number): string =>
  offset === 0 ? path : path.replace(/^\[(\d+)\]/, (_, i: string) => `[${Number(i) + offset}]`)

// -------------------------------------------------------------------------------------
// shared memory
// -------------------------------------------------------------------------------------

const MAX_DEPTH = 16

/** A copy of a typed array on a SharedArrayBuffer. */
const sharedCopy = <T extends Float64Array | Int32Array>(a: T): T => {
  const C = a.constructor as new (b: SharedArrayBuffer) => T
  const o = new C(new SharedArrayBuffer(a.byteLength))
  o.set(a as never)
  return o
}

/**
 * A sharer: `share(v)` is v with every Float64Array and Int32Array copied onto shared
 * memory, plain objects and arrays rebuilt around them, and primitives as they are. The
 * same object shared twice gives the same copy. Throws {@link NotTransferable} at a
 * function, a symbol, another typed array or object kind, or too deep a value.
 *
 * @example
 * const share = sharer()
 * const P2 = share(P) // P2.mat.data is on a SharedArrayBuffer; share(P) === P2
 */
export const sharer = (): ((v: unknown, path?: string) => unknown) => {
  const memo = new Map<object, unknown>()
  const go = (v: unknown, path: string, depth: number): unknown => {
    if (v === null || v === undefined || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint') return v
    if (typeof v !== 'object' || depth > MAX_DEPTH) throw new NotTransferable(path)
    const seen = memo.get(v)
    if (seen !== undefined) return seen
    let out: unknown
    if (v instanceof Float64Array || v instanceof Int32Array) out = sharedCopy(v)
    else if (Array.isArray(v)) out = v.map((e, i) => go(e, `${path}[${i}]`, depth + 1))
    else if (ArrayBuffer.isView(v) || Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) throw new NotTransferable(path)
    else out = Object.fromEntries(Object.entries(v).map(([k, e]) => [k, go(e, path === '' ? k : `${path}.${k}`, depth + 1)]))
    memo.set(v, out)
    return out
  }
  return (v, path = '') => go(v, path, 0)
}

// -------------------------------------------------------------------------------------
// transfers
// -------------------------------------------------------------------------------------

/** True for `{ data: Float64Array }` of `length` numbers (a Vec or a Mat's data). */
export const hasData = (v: unknown, length?: number): v is { readonly data: Float64Array } =>
  typeof v === 'object' && v !== null && (v as { data?: unknown }).data instanceof Float64Array &&
  (length === undefined || (v as { data: Float64Array }).data.length === length)

/**
 * Packs vectors into one fresh buffer: `views[i]` the i-th vector's place in it (a copy).
 *
 * @example
 * const { buffer, views } = pack([q0.data, q1.data]) // postMessage(…, [buffer])
 */
export const pack = (vs: ReadonlyArray<Float64Array>): { readonly buffer: ArrayBuffer; readonly views: ReadonlyArray<Float64Array> } => {
  const total = vs.reduce((s, v) => s + v.length, 0)
  const all = new Float64Array(total)
  let at = 0
  const views = vs.map((v) => {
    const view = all.subarray(at, at + v.length)
    view.set(v)
    at += v.length
    return view
  })
  return { buffer: all.buffer, views }
}

/** A slice of rows [lo, hi) of a row-major array of `cols` columns, in a buffer of its own. */
export const rows = (a: Float64Array, lo: number, hi: number, cols: number): Float64Array => a.slice(lo * cols, hi * cols)

/**
 * The transfer list of a value: the ArrayBuffer of every non-shared typed array in it,
 * once each. The typed arrays must own their buffers whole or be views of a buffer meant
 * to go (the pack's): callers build them with {@link pack}, `slice` or `owned`.
 *
 * @example
 * port.postMessage(reply, transferList(reply))
 */
export const transferList = (v: unknown): ArrayBuffer[] => {
  const out = new Set<ArrayBuffer>()
  const go = (u: unknown, depth: number): void => {
    if (typeof u !== 'object' || u === null || depth > MAX_DEPTH) return
    if (ArrayBuffer.isView(u)) { if (u.buffer instanceof ArrayBuffer) out.add(u.buffer); return }
    for (const e of Array.isArray(u) ? u : Object.values(u)) go(e, depth + 1)
  }
  go(v, 0)
  return [...out]
}

/** `x` in a buffer of its own (never a view into a slab the library reuses), safe to transfer. */
export const own = (x: Float64Array): Float64Array => owned(x)
