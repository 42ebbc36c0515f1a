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

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** The symbolic zero tangent. */
export const Zero: unique symbol = Symbol.for('dfwlayer.Zero')
/** The type of the symbolic zero. */
export type Zero = typeof Zero

/** A tangent (or cotangent) of a value of type `A`, or the symbolic zero. */
export type Tan<A> = Zero | TanValue<A>

/** The non-zero tangent representation of `A`. */
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

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

/** Whether a tangent is the symbolic zero. */
export const isZero = (a: unknown): a is Zero => a === Zero

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
  if (isShaped(a)) {
    const x = a.data, y = (b as unknown as { data: Float64Array }).data
    const o = new Float64Array(x.length)
    for (let i = 0; i < o.length; i++) o[i] = x[i]! + y[i]!
    return { ...a, data: o } as T
  }
  if (Array.isArray(a)) return (a as unknown[]).map((v, i) => addT(v, (b as unknown as unknown[])[i] ?? Zero)) as T
  const o: Record<string, unknown> = { ...(a as Record<string, unknown>) }
  for (const [k, v] of Object.entries(b as Record<string, unknown>)) o[k] = k in o ? addT(o[k], v) : v
  return o as T
}

/** α times a tangent. */
export const scaleT = <T>(alpha: number, a: T | Zero): T | Zero => {
  if (a === Zero || alpha === 0) return Zero
  if (typeof a === 'number') return (alpha * a) as T
  if (typeof a !== 'object' || a === null) return a
  if (isShaped(a)) {
    const o = new Float64Array(a.data.length)
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
