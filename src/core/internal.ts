/**
 * Helpers kept out of the public docs: tangent arithmetic on possibly-zero vectors, used
 * by the rule tables.
 */
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import { type Tan, Zero } from './Tangent.js'
import { f64 } from '../shapes/alloc.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
export type V = Vec<any>
export type ZV = V | Zero
export type ZS = number | Zero

export const vec = (dim: number, data: Float64Array): V => ({ dim: dim as V['dim'], data })

/** a + b with symbolic zeros. */
export const zadd = (a: ZV, b: ZV): ZV => {
  if (a === Zero) return b
  if (b === Zero) return a
  const o = f64(a.dim), x = a.data, y = b.data
  for (let i = 0; i < o.length; i++) o[i] = x[i]! + y[i]!
  return vec(a.dim, o)
}

/** α a with symbolic zeros. */
export const zscale = (alpha: number, a: ZV): ZV => {
  if (a === Zero || alpha === 0) return Zero
  const o = f64(a.dim), x = a.data
  for (let i = 0; i < o.length; i++) o[i] = alpha * x[i]!
  return vec(a.dim, o)
}

/** a ⊙ m for a plain multiplier vector m. */
export const zmul = (a: ZV, m: V): ZV => {
  if (a === Zero) return Zero
  const o = f64(a.dim), x = a.data, y = m.data
  for (let i = 0; i < o.length; i++) o[i] = x[i]! * y[i]!
  return vec(a.dim, o)
}

/** s + t for scalars with symbolic zeros. */
export const sadd = (a: ZS, b: ZS): ZS => (a === Zero ? b : b === Zero ? a : a + b)

/** ⟨a, b⟩ where a may be zero. */
export const zdot = (a: ZV, b: V): ZS => {
  if (a === Zero) return Zero
  let s = 0
  const x = a.data, y = b.data
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!
  return s
}

/** The outer product x yᵀ as a matrix. */
export const outerM = (x: V, y: V): Mat<any, any> => {
  const m = x.dim, n = y.dim, o = f64(m * n)
  for (let i = 0; i < m; i++) {
    const xi = x.data[i]!
    if (xi === 0) continue
    for (let j = 0; j < n; j++) o[i * n + j] = xi * y.data[j]!
  }
  return { rows: x.dim, cols: y.dim, data: o }
}
