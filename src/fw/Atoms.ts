/**
 * The atoms of a polytope known only by its linear minimization oracle: the oracle as the
 * solver calls it (every answer validated and copied), and the table of the distinct
 * vertices a solve has met, with what the steps, the polish and the derivatives need of
 * each (the vertex v, the product P v, ⟨q, v⟩).
 *
 * The oracle is untrusted user code. Each call hands it a fresh `Vec` of g (it may keep or
 * write into it), and its answer must be a `Vec` whose `data` is a Float64Array of n
 * finite numbers; anything else, or a throw, is a `LayerError` at `set.lmo` naming what
 * was wrong, never a crash. The answer is copied at once (the oracle may reuse its
 * buffer), with −0 written as 0 so that equal points are equal bit for bit.
 *
 * The table holds each vertex once: a new answer is looked up by a hash of its bits and
 * compared exactly, so a vertex the oracle returns again is the same atom. Adding one
 * costs one product with P. A vertex too large for the problem is refused at `set.lmo`
 * too: the validation's magnitude rule could not bound the vertices before the oracle
 * named them, so each new vertex is held to it here (see {@link atomTable}). The table
 * also tracks the reach Rᵢ = the largest |vᵢ| over the vertices met (the certificate's
 * rounding floor; the true reach of a polytope known by its oracle is unknown).
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Dim } from '../shapes/Dim.js'
import { type LinearOperator, applyInto } from '../core/LinearOperator.js'
import { LayerError } from './Options.js'

/** The magnitude rule's bound (`Validate.ts`). */
const LIMIT = 1e150

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The oracle as the solver calls it: plain arrays in and out, every answer validated and
 * copied (see the module notes). `calls` counts the calls made so far.
 *
 * @example
 * const o = vertexOracle(lmo, q.dim)
 * const v = o.call(g) // a fresh Float64Array of n finite numbers, or a LayerError at set.lmo
 */
export interface VertexOracle {
  readonly n: number
  readonly call: (g: Float64Array) => Float64Array
  readonly calls: () => number
}

/**
 * The distinct vertices met by one solve, by index (0, 1, … in the order they were met):
 * `V[i]`, `PV[i]` = P·V[i], `qv[i]` = ⟨q, V[i]⟩, and the reach (the largest |vⱼ| seen, per
 * coordinate). `add(v)` returns v's index, adding it if it is new (one product with P);
 * `lookup(v)` returns it or −1.
 *
 * @example
 * const T = atomTable(theta.P, theta.q.data, rowAbsSums(theta))
 * const i = T.add(o.call(g)) // T.V[i], T.PV[i]
 */
export interface AtomTable {
  readonly n: number
  readonly V: Float64Array[]
  readonly PV: Float64Array[]
  readonly qv: number[]
  readonly reach: Float64Array
  readonly size: () => number
  readonly add: (v: Float64Array) => number
  readonly lookup: (v: Float64Array) => number
}

// -------------------------------------------------------------------------------------
// the oracle
// -------------------------------------------------------------------------------------

const describe = (v: unknown): string => {
  if (v === null) return 'null'
  if (Array.isArray(v)) return `an array of ${v.length}`
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`
  return typeof v === 'object' ? 'an object without data: Float64Array' : `${typeof v} ${String(v).slice(0, 40)}`
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * The polytope's oracle `lmo`, wrapped: each call passes a fresh `Vec` of g (of dimension
 * `dim`) and returns a validated copy of the answer. Throws a `LayerError` at `set.lmo`
 * when the oracle throws or returns anything but a `Vec` of n finite numbers.
 *
 * @example
 * const o = vertexOracle((g) => (g.data[0]! <= g.data[1]! ? e0 : e1), dim)
 * o.call(Float64Array.of(1, 2)) // [1, 0] when e0 = [1, 0]
 */
export const vertexOracle = <N>(lmo: (g: Vec<N>) => Vec<N>, dim: Dim<N>): VertexOracle => {
  const n = dim as number
  let calls = 0
  const call = (g: Float64Array): Float64Array => {
    calls++
    let v: unknown
    try {
      v = lmo({ dim, data: Float64Array.from(g) })
    } catch (e) {
      throw new LayerError(`the polytope's oracle threw: ${messageOf(e)}`, 'set.lmo')
    }
    const data = typeof v === 'object' && v !== null ? (v as { data?: unknown }).data : undefined
    if (!(data instanceof Float64Array)) {
      throw new LayerError(`expected the polytope's oracle to return a Vec (data: a Float64Array of n = ${n} numbers; build one with vector(dim, xs)), got ${describe(v)}`, 'set.lmo')
    }
    if (data.length !== n) throw new LayerError(`the polytope's oracle returned a vertex of ${data.length} entries; expected n = ${n}`, 'set.lmo')
    const out = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      const vi = data[i]!
      if (!Number.isFinite(vi)) throw new LayerError(`the polytope's oracle returned a non-finite entry: v[${i}] = ${String(vi)}`, 'set.lmo')
      out[i] = vi + 0 // −0 → 0
    }
    return out
  }
  return { n, call, calls: () => calls }
}

// -------------------------------------------------------------------------------------
// the table
// -------------------------------------------------------------------------------------

/** FNV-1a over the bits of v (v owns its buffer, so the view is aligned). */
const hashOf = (v: Float64Array): number => {
  const w = new Uint32Array(v.buffer, v.byteOffset, v.length * 2)
  let h = 0x811c9dc5
  for (let i = 0; i < w.length; i++) { h ^= w[i]!; h = Math.imul(h, 0x01000193) }
  return h >>> 0
}

const equal = (a: Float64Array, b: Float64Array): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * An empty table for one problem's P, q and row sums aᵢ = Σⱼ|Pᵢⱼ| (see {@link AtomTable}).
 * `add` throws a `LayerError` at `set.lmo` for a vertex that breaks the validation's
 * magnitude rule with ρᵢ = max(1, Rᵢ), R the reach including it: Rᵢ ≤ 1e150,
 * |qᵢ|ρᵢ ≤ 1e150 and ρᵢ aᵢ maxⱼ ρⱼ ≤ 1e150 (an upper bound of ρᵢ Σⱼ|Pᵢⱼ|ρⱼ), so that
 * every product the solver forms stays finite.
 *
 * @example
 * const T = atomTable(theta.P, theta.q.data, rowAbsSums(theta))
 * T.add(Float64Array.of(1, 0)) // 0
 * T.add(Float64Array.of(1, 0)) // 0 again: the same vertex
 */
export const atomTable = <N>(P: LinearOperator<N>, q: Float64Array, pAbs: Float64Array): AtomTable => {
  const n = q.length
  const V: Float64Array[] = [], PV: Float64Array[] = [], qv: number[] = []
  const reach = new Float64Array(n)
  const byHash = new Map<number, number[]>()
  // the validation's magnitude rule with the reach the new vertex gives (ρ = max(1, R))
  const checkMagnitude = (v: Float64Array): void => {
    let rmax = 1
    for (let i = 0; i < n; i++) rmax = Math.max(rmax, reach[i]!, Math.abs(v[i]!))
    for (let i = 0; i < n; i++) {
      const r = Math.max(reach[i]!, Math.abs(v[i]!)), rho = Math.max(1, r)
      const why = r > LIMIT ? `|v[${i}]| = ${r.toPrecision(3)} > 1e150`
        : Math.abs(q[i]!) * rho > LIMIT ? `|q[${i}]|·ρ[${i}] = ${(Math.abs(q[i]!) * rho).toPrecision(3)} > 1e150`
          : rho * pAbs[i]! * rmax > LIMIT ? `ρ[${i}]·Σⱼ|P[${i}][j]|·maxⱼ ρⱼ = ${(rho * pAbs[i]! * rmax).toPrecision(3)} > 1e150` : undefined
      if (why !== undefined) throw new LayerError(`the polytope's oracle returned a vertex too large for the problem: ${why} (ρ = max(1, the largest |vᵢ| met); the magnitude rule of docs/edge-cases.md)`, 'set.lmo')
    }
  }
  const lookupHashed = (v: Float64Array, h: number): number => {
    for (const i of byHash.get(h) ?? []) if (equal(V[i]!, v)) return i
    return -1
  }
  const add = (v: Float64Array): number => {
    const h = hashOf(v)
    const found = lookupHashed(v, h)
    if (found >= 0) return found
    checkMagnitude(v)
    const pv = new Float64Array(n)
    applyInto(P, v, pv)
    let s = 0
    for (let i = 0; i < n; i++) s += q[i]! * v[i]!
    const i = V.length
    V.push(v); PV.push(pv); qv.push(s)
    for (let j = 0; j < n; j++) reach[j] = Math.max(reach[j]!, Math.abs(v[j]!))
    const bucket = byHash.get(h)
    if (bucket === undefined) byHash.set(h, [i]); else bucket.push(i)
    return i
  }
  return { n, V, PV, qv, reach, size: () => V.length, add, lookup: (v) => lookupHashed(v, hashOf(v)) }
}
