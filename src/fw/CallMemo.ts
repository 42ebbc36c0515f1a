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

const memos = new WeakMap<object, { epoch: number; map: Map<string, unknown> }>()

/**
 * `make()`, or the value it gave earlier in this call for the same owner and key.
 *
 * @example
 * const a = callMemo(P, 'rowAbs', () => rowSums(P))
 */
export const callMemo = <T>(owner: object, key: string, make: () => T): T => {
  const e = callEpoch()
  if (e < 0) return make()
  let m = memos.get(owner)
  if (m === undefined || m.epoch !== e) { m = { epoch: e, map: new Map() }; memos.set(owner, m) }
  if (m.map.has(key)) return m.map.get(key) as T
  const v = make()
  m.map.set(key, v)
  return v
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
export const faceMemo = <T>(owner: object, free: Int32Array, E: Float64Array | undefined, shift: number, make: () => T): T => {
  let h = free.length
  for (let a = 0; a < free.length; a++) h = (Math.imul(h, 31) + free[a]!) | 0
  const entries = callMemo(owner, `faces:${h}:${shift}`, () => [] as Array<{ readonly F: Int32Array; readonly E: Float64Array | undefined; readonly value: unknown }>)
  for (const e of entries) if (sameArray(e.F, free) && sameArray(e.E, E)) return e.value as T
  const value = make()
  if (callEpoch() >= 0) entries.push({ F: Int32Array.from(free), E: E === undefined ? undefined : Float64Array.from(E), value })
  return value
}
