/**
 * Tangent and cotangent values. The tangent space of a vector is vectors of the same
 * dimension, of a number numbers, of a linear operator dense matrices, and of a tuple or
 * record the tuples or records of its fields' tangents. `Zero` is the symbolic zero of
 * every space: rules that see it skip their work.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import type { LinearOperator } from './LinearOperator.js'
import { f64 } from '../shapes/alloc.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The symbolic zero tangent.
 *
 * @example
 * lin.fwd(Zero) // Zero: a symbolic zero tangent skips the work
 */
export const Zero: unique symbol = Symbol.for('dfwlayer.Zero')
/**
 * The type of the symbolic zero.
 *
 * @example
 * lin.fwd(Zero) // Zero: a symbolic zero tangent skips the work
 */
export type Zero = typeof Zero

/**
 * A tangent (or cotangent) of a value of type `A`, or the symbolic zero.
 *
 * @example
 * const dq: Tan<Vec<N>> = Zero // or a Vec<N>
 */
export type Tan<A> = Zero | TanValue<A>

/**
 * The non-zero tangent representation of `A`.
 *
 * @example
 * type T = TanValue<{ q: Vec<N>; t: number }> // { q?: Tan<Vec<N>>; t?: Tan<number> }
 */
export type TanValue<A> = A extends number
  ? number
  : A extends Vec<infer N>
    ? Vec<N>
    : A extends Mat<infer M, infer N>
      ? Mat<M, N>
      : A extends LinearOperator<infer N>
        ? Mat<N, N>
        : A extends readonly unknown[]
          ? { readonly [K in keyof A]: Tan<A[K]> }
          : A extends string | boolean | bigint | symbol | undefined | null | ((...args: never[]) => unknown)
            ? Zero
            : { readonly [K in keyof A]?: Tan<A[K]> }

/**
 * A sum of outer products Σₖ αₖ uₖ vₖᵀ, kept unexpanded: the cotangent of a matrix
 * argument (P in P x). It is a `Mat` to every reader, expanding itself once on the first
 * read of `data`; until then adding two of them is O(1), so reverse mode through K steps
 * that each touch P keeps O(K·n) numbers instead of doing K dense n×n additions.
 *
 * @example
 * outerSum(u, v, 2).plus(outerSum(v, u)).data // 2 u vᵀ + v uᵀ, expanded once
 */
export class OuterSum {
  #data: Float64Array | undefined
  /** How many rank-one terms the sum holds (this one and those after it). */
  readonly terms: number
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly u: Float64Array,
    readonly v: Float64Array,
    readonly alpha: number,
    readonly next: OuterSum | undefined
  ) {
    this.terms = 1 + (next === undefined ? 0 : next.terms)
  }
  /** The expanded row-major matrix (computed once). */
  get data(): Float64Array {
    if (this.#data !== undefined) return this.#data
    // the expanded matrix reaches the user as P's gradient: its own buffer, not a slab view
    const o = new Float64Array(this.rows * this.cols)
    const n = this.cols
    for (let t: OuterSum | undefined = this; t !== undefined; t = t.next) {
      const u = t.u, v = t.v, a = t.alpha
      for (let i = 0; i < this.rows; i++) {
        const ui = a * u[i]!
        if (ui === 0) continue
        const r = i * n
        for (let j = 0; j < n; j++) o[r + j] = o[r + j]! + ui * v[j]!
      }
    }
    this.#data = o
    return o
  }
  /** The sum with another unexpanded sum, without expanding either. */
  plus(other: OuterSum): OuterSum {
    let acc: OuterSum = this
    for (let t: OuterSum | undefined = other; t !== undefined; t = t.next) acc = new OuterSum(this.rows, this.cols, t.u, t.v, t.alpha, acc)
    return acc
  }
}

/**
 * α u vᵀ as an unexpanded matrix (see {@link OuterSum}).
 *
 * @example
 * outerSum(u, v) // u vᵀ, kept unexpanded
 */
export const outerSum = (u: { readonly dim: number; readonly data: Float64Array }, v: { readonly dim: number; readonly data: Float64Array }, alpha = 1): OuterSum =>
  new OuterSum(u.dim, v.dim, u.data, v.data, alpha, undefined)

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

/**
 * Whether a tangent is the symbolic zero.
 *
 * @example
 * isZero(lin.bwd(Zero)) // true
 */
export const isZero = (a: unknown): a is Zero => a === Zero

const countTerms = (a: OuterSum): number => {
  let k = 0
  for (let t: OuterSum | undefined = a; t !== undefined && k < 2; t = t.next) k++
  return k
}

const isShaped = (a: object): a is { readonly data: Float64Array } =>
  'data' in a && (a as { data: unknown }).data instanceof Float64Array

/**
 * The sum of two tangents of the same space. The symbolic zero is its identity; fields
 * missing from a record count as zero.
 *
 * @example
 * addT(Zero, v) // v, without copying
 */
export const addT = <T>(a: T | Zero, b: T | Zero): T | Zero => {
  if (a === Zero) return b
  if (b === Zero) return a
  if (typeof a === 'number') return ((a as number) + (b as unknown as number)) as T
  if (typeof a !== 'object' || a === null) return a
  if (a instanceof OuterSum && b instanceof OuterSum) {
    // keep the longer list as the base: the fold adds one term per step to its accumulator
    return (countTerms(a) >= countTerms(b) ? a.plus(b) : b.plus(a)) as T
  }
  if (a instanceof OuterSum || b instanceof OuterSum) {
    const x = (a as unknown as { data: Float64Array }).data, y = (b as unknown as { data: Float64Array }).data
    const o = f64(x.length)
    for (let i = 0; i < o.length; i++) o[i] = x[i]! + y[i]!
    const m = a as unknown as { rows: number; cols: number }
    return { rows: m.rows, cols: m.cols, data: o } as T
  }
  if (isShaped(a)) {
    const x = a.data, y = (b as unknown as { data: Float64Array }).data
    const o = f64(x.length)
    for (let i = 0; i < o.length; i++) o[i] = x[i]! + y[i]!
    return { ...a, data: o } as T
  }
  if (Array.isArray(a)) return (a as unknown[]).map((v, i) => addT(v, (b as unknown as unknown[])[i] ?? Zero)) as T
  const o: Record<string, unknown> = { ...(a as Record<string, unknown>) }
  for (const [k, v] of Object.entries(b as Record<string, unknown>)) o[k] = k in o ? addT(o[k], v) : v
  return o as T
}

/**
 * α times a tangent.
 *
 * @example
 * scaleT(2, { q: v, t: 1 }) // { q: 2v, t: 2 }
 */
export const scaleT = <T>(alpha: number, a: T | Zero): T | Zero => {
  if (a === Zero || alpha === 0) return Zero
  if (typeof a === 'number') return (alpha * a) as T
  if (typeof a !== 'object' || a === null) return a
  if (isShaped(a)) {
    const o = f64(a.data.length)
    for (let i = 0; i < o.length; i++) o[i] = alpha * a.data[i]!
    return { ...a, data: o } as T
  }
  if (Array.isArray(a)) return (a as unknown[]).map((v) => scaleT(alpha, v)) as T
  const o: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(a as Record<string, unknown>)) o[k] = scaleT(alpha, v)
  return o as T
}

/**
 * The inner product of two tangents of the same space: the sum over every number in
 * them. The symbolic zero contributes 0. Used by the transpose laws ⟨J v, u⟩ = ⟨v, Jᵀ u⟩.
 *
 * @example
 * dotT(lin.fwd(v), u) === dotT(v, lin.bwd(u)) // the transpose law, up to rounding
 */
export const dotT = (a: unknown, b: unknown): number => {
  if (a === Zero || b === Zero || a === undefined || b === undefined) return 0
  if (typeof a === 'number') return typeof b === 'number' ? a * b : 0
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return 0
  if (isShaped(a)) {
    const x = a.data, y = (b as { data: Float64Array }).data
    let s = 0
    for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!
    return s
  }
  if (Array.isArray(a)) return a.reduce((s: number, v, i) => s + dotT(v, (b as unknown[])[i]), 0)
  let s = 0
  for (const [k, v] of Object.entries(a as Record<string, unknown>)) s += dotT(v, (b as Record<string, unknown>)[k])
  return s
}
