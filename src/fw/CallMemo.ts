/**
 * Facts about a call's inputs computed once per call: a memo keyed by an input object (an
 * operator) and a name, valid while one call of the kernels is open (`core/simd.ts`:
 * `beginCall`/`endCall`, which `dfwLayer` and `dfwBatch` open around their work). Within a
 * call the inputs are not written, so a batch's instances that share one P share its row
 * sums, its convexity certificate and the factorizations of its faces; the next call
 * recomputes them, so a write into P between calls is always seen. Outside a call nothing
 * is memoized.
 *
 * @since 0.1.0
 */
import { callEpoch } from '../core/simd.js'
import { type LinearOperator, diagEntry } from '../core/LinearOperator.js'

/**
 * The current call's memos by owner: a plain Map, replaced when a new call's first memo is
 * asked for (nothing of an earlier call is read). Not a WeakMap: the owners include
 * objects made per instance (a batch's θ records, `withInstance`'s), and V8's young
 * generation collector keeps a WeakMap entry with a young key, and its value, alive until
 * a full collection, so every scavenge during a batch copied all of the call's memoized
 * face solvers (measured: a loop of WeakMap entries with young keys scavenges about
 * 100 times slower than the same loop without them).
 */
let memos: { readonly epoch: number; readonly byOwner: Map<object, Map<string, unknown>> } = { epoch: -1, byOwner: new Map() }

/**
 * `make()`, or the value it gave earlier in this call for the same owner and key.
 *
 * @example
 * const a = callMemo(P, 'rowAbs', () => rowSums(P))
 */
export const callMemo = <T>(owner: object, key: string, make: () => T): T => {
  const e = callEpoch()
  if (e < 0) return make()
  if (memos.epoch !== e) memos = { epoch: e, byOwner: new Map() }
  let m = memos.byOwner.get(owner)
  if (m === undefined) { m = new Map(); memos.byOwner.set(owner, m) }
  if (m.has(key)) return m.get(key) as T
  const v = make()
  m.set(key, v)
  return v
}

/**
 * Drops the memos of a call that has ended (what it memoized is then garbage as soon as
 * the results are, instead of at the next call's first memo). The layer and the batch
 * call it when their call closes.
 *
 * @example
 * withCall(() => solve(problem)) // releases the call's memos on the way out
 */
export const releaseCallMemos = (): void => {
  if (memos.byOwner.size > 0) memos = { epoch: -1, byOwner: new Map() }
}

const sameArray = (a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined): boolean => {
  if (a === undefined || b === undefined) return a === b
  if (a.length !== b.length) return false
  for (let k = 0; k < a.length; k++) if (!Object.is(a[k], b[k])) return false
  return true
}

/**
 * `make()`, or the value it gave earlier in this call for the same operator and the same
 * face system: free coordinates F, rows E (compared entry by entry) and shift. A batch's
 * instances with one P and one face share the factorization; a polish's last face is the
 * derivative's.
 *
 * @example
 * const solver = faceMemo(P, F, E, 0, () => kktSolver(system))
 */
export const faceMemo = <T>(owner: object, free: Int32Array, E: Float64Array | undefined, shift: number, make: () => T, floor = 0): T => {
  const entries = faceEntries(owner, free)
  const found = findFace(entries, free, E, shift, floor)
  if (found !== undefined) return found.value as T
  const value = make()
  if (callEpoch() >= 0) entries.push({ F: Int32Array.from(free), E: E === undefined ? undefined : Float64Array.from(E), shift, floor, value })
  return value
}

type FaceEntries = Array<{ readonly F: Int32Array; readonly E: Float64Array | undefined; readonly shift: number; readonly floor: number; readonly value: unknown }>

/** The entries of owner's faces with F's hash, this call's (one memo of face maps per owner, keyed by numbers: no key string per face solve; shift and floor are compared per entry). */
const faceEntries = (owner: object, free: Int32Array): FaceEntries => {
  let h = free.length
  for (let a = 0; a < free.length; a++) h = (Math.imul(h, 31) + free[a]!) | 0
  const byHash = callMemo(owner, 'faces', () => new Map<number, FaceEntries>())
  let entries = byHash.get(h)
  if (entries === undefined) { entries = []; byHash.set(h, entries) }
  return entries
}

/** Equal numbers (0 and −0 alike, NaN like NaN: as the memo's keys compared them). */
const sameNumber = (a: number, b: number): boolean => a === b || (a !== a && b !== b)

/** The entry of `entries` for this face system, if any. */
const findFace = (entries: FaceEntries, free: Int32Array, E: Float64Array | undefined, shift: number, floor: number): FaceEntries[number] | undefined => {
  for (const e of entries) if (sameNumber(e.shift, shift) && sameNumber(e.floor, floor) && sameArray(e.F, free) && sameArray(e.E, E)) return e
  return undefined
}

/**
 * The curvature floor a face system with rows is factored with, and memoized under: the
 * caller's floor raised to P's largest diagonal entry on the free coordinates. The bordered
 * solver takes max(max diag P_FF, floor) as its unit anyway (`core/Kkt.ts`), so the
 * factorization is the same; but two instances whose own floors lie below that diagonal
 * now ask for the same key and share one factorization, and two whose floors differ
 * above it get their own, so that a batch's instance is bitwise what it gives alone.
 * Without rows (k = 0) the floor plays no part: 0.
 *
 * @example
 * const hf = faceFloor(P, F, k, hFloor)
 * faceMemo(P, F, E, 0, () => kktSolver(system, { hFloor: hf }), hf)
 */
export const faceFloor = <N>(P: LinearOperator<N>, free: Int32Array, k: number, floor: number): number => {
  if (k === 0) return 0
  let m = floor
  for (let a = 0; a < free.length; a++) m = Math.max(m, diagEntry(P, free[a]!))
  return m
}

// -------------------------------------------------------------------------------------
// one instance's own faces
// -------------------------------------------------------------------------------------

let instance: object | undefined

/**
 * Runs `f` as one instance's solve: what it keeps with {@link keepOwnFace} is seen by
 * {@link ownFace} within `f` only, never by another instance of a batch. (A factor kept
 * across the active set's rounds carries the rounding of that instance's path; another
 * instance on the same face would factor it afresh when alone.)
 *
 * @example
 * withInstance(() => layerCall(options, problem))
 */
export const withInstance = <R>(f: () => R): R => {
  const prev = instance
  instance = {}
  try { return f() } finally { instance = prev }
}

/**
 * Keeps `value` as the current instance's solver of a face (see {@link withInstance});
 * nothing outside an instance or a call.
 *
 * @example
 * keepOwnFace(F, E, 0, keptSolver)
 */
export const keepOwnFace = (free: Int32Array, E: Float64Array | undefined, shift: number, value: unknown): void => {
  if (instance !== undefined) faceMemo(instance, free, E, shift, () => value)
}

/**
 * The current instance's kept solver of a face, or undefined.
 *
 * @example
 * const s = ownFace<KktSolver>(F, E, 0) ?? faceMemo(P, F, E, 0, build, hf)
 */
export const ownFace = <T>(free: Int32Array, E: Float64Array | undefined, shift: number): T | undefined => {
  if (instance === undefined || callEpoch() < 0) return undefined
  return findFace(faceEntries(instance, free), free, E, shift, 0)?.value as T | undefined
}
