/**
 * Law checks for differentiable maps, shared by test/prims.ts and test/diff.ts: random
 * values and tangents, central finite differences, and the transpose law.
 *
 * Values made of numbers, vectors, matrices, tuples and records are their own tangent
 * space, so a finite difference of outputs is compared with a JVP by `addT`/`dotT`. A
 * linear operator's tangent is a dense matrix: only dense operators are perturbed.
 */
import type { Diff, Linear } from '../../src/core/Diff.js'
import { type Tan, Zero, addT, scaleT, dotT } from '../../src/core/Tangent.js'
import type { Rng } from '../../src/core/Random.js'
import type { Vec } from '../../src/shapes/Vec.js'
import type { Mat } from '../../src/shapes/Mat.js'
import { type Dim, unsafeDim } from '../../src/shapes/Dim.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
export type AnyVec = Vec<any>

export const dimOf = (n: number): Dim<any> => unsafeDim(n)

/** A vector of entries drawn by `f`. */
export const vecOf = (n: number, f: (i: number) => number): AnyVec => {
  const d = new Float64Array(n)
  for (let i = 0; i < n; i++) d[i] = f(i)
  return { dim: dimOf(n), data: d }
}

/** A standard normal vector. */
export const normalVec = (r: Rng, n: number): AnyVec => vecOf(n, () => r.normal())
/** Entries uniform in [lo, hi). */
export const uniformVec = (r: Rng, n: number, lo: number, hi: number): AnyVec => vecOf(n, () => lo + (hi - lo) * r.uniform())
/** A number at least `gap` away from 0, of random sign: for kinks at 0. */
export const awayFromZero = (r: Rng, gap = 0.2): number => (r.uniform() < 0.5 ? -1 : 1) * (gap + Math.abs(r.normal()))
/** A vector whose entries are at least `gap` away from 0. */
export const awayVec = (r: Rng, n: number, gap = 0.2): AnyVec => vecOf(n, () => awayFromZero(r, gap))
/** A random m × n matrix. */
export const normalMat = (r: Rng, m: number, n: number): Mat<any, any> => {
  const d = new Float64Array(m * n)
  for (let k = 0; k < d.length; k++) d[k] = r.normal()
  return { rows: dimOf(m), cols: dimOf(n), data: d }
}

const isShaped = (a: unknown): a is { readonly data: Float64Array } =>
  typeof a === 'object' && a !== null && 'data' in a && (a as { data: unknown }).data instanceof Float64Array
const isOperator = (a: unknown): a is { readonly kind: string; readonly mat?: Mat<any, any> } =>
  typeof a === 'object' && a !== null && 'kind' in a && typeof (a as { kind: unknown }).kind === 'string'

/** A random tangent at `a`: normal numbers, vectors, matrices; a dense matrix for a dense operator; Zero for other operators. */
export const randT = (r: Rng, a: unknown): any => {
  if (typeof a === 'number') return r.normal()
  if (isOperator(a)) return a.kind === 'dense' && a.mat !== undefined ? normalMat(r, a.mat.rows, a.mat.cols) : Zero
  if (isShaped(a)) {
    const d = new Float64Array(a.data.length)
    for (let i = 0; i < d.length; i++) d[i] = r.normal()
    return { ...a, data: d }
  }
  if (Array.isArray(a)) return a.map((v) => randT(r, v))
  if (typeof a === 'object' && a !== null) {
    const o: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(a)) o[k] = randT(r, v)
    return o
  }
  return Zero
}

/** a + h·da, at the level of values. */
export const axpyV = <A>(h: number, da: unknown, a: A): A => {
  if (da === Zero || da === undefined) return a
  if (typeof a === 'number') return (a + h * (da as number)) as A
  if (isOperator(a)) {
    if (a.kind !== 'dense' || a.mat === undefined) throw new Error('only a dense operator can be perturbed')
    return { ...a, mat: axpyV(h, da, a.mat) } as A
  }
  if (isShaped(a)) {
    const x = a.data, y = (da as { data: Float64Array }).data
    const d = new Float64Array(x.length)
    for (let i = 0; i < d.length; i++) d[i] = x[i]! + h * y[i]!
    return { ...a, data: d } as A
  }
  if (Array.isArray(a)) return a.map((v, i) => axpyV(h, (da as unknown[])[i], v)) as A
  if (typeof a === 'object' && a !== null) {
    const o: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(a)) o[k] = axpyV(h, (da as Record<string, unknown>)[k], v)
    return o as A
  }
  return a
}

/** x − y for tangents (or values that are their own tangents). */
export const subT = (x: unknown, y: unknown): unknown => addT(x, scaleT(-1, y))
/** The Euclidean norm of a tangent. */
export const normT = (x: unknown): number => Math.sqrt(dotT(x, x))

/**
 * The directional derivative of `f` at `a` along `da` by central differences with one
 * Richardson step: error O(h⁴) + O(ε/h).
 */
export const fdJvp = <A, B>(f: (a: A) => B, a: A, da: unknown, h = 1e-3): unknown => {
  const central = (s: number): unknown => scaleT(1 / (2 * s), subT(f(axpyV(s, da, a)), f(axpyV(-s, da, a))))
  const d1 = central(h), d2 = central(h / 2)
  return addT(scaleT(4 / 3, d2), scaleT(-1 / 3, d1))
}

/** Relative error of a JVP against finite differences, ‖J v − fd‖ / max(‖fd‖, floor). */
export const jvpError = <A, B>(f: Diff<A, B>, a: A, da: Tan<A>, floor = 1e-8): number => {
  const [, lin] = f(a)
  const jv = lin.fwd(da)
  const fd = fdJvp((x: A) => f(x)[0], a, da)
  return normT(subT(jv, fd)) / Math.max(normT(fd), floor)
}

/**
 * The transpose defect |⟨J v, u⟩ − ⟨v, Jᵀ u⟩|, relative to the larger of the two sides.
 */
export const transposeError = <A, B>(lin: Linear<A, B>, v: Tan<A>, u: Tan<B>): number => {
  const jv = lin.fwd(v)
  const jtu = lin.bwd(u)
  const lhs = dotT(jv, u), rhs = dotT(v, jtu)
  const scale = Math.max(Math.abs(lhs), Math.abs(rhs), 1e-300)
  return Math.abs(lhs - rhs) / scale
}

/** Exact equality of two tangents (Zero equals an all-zero tangent). */
export const sameT = (x: unknown, y: unknown): boolean => {
  if (x === Zero || y === Zero) return normT(x === Zero ? y : x) === 0
  if (typeof x === 'number') return x === y
  if (isShaped(x)) {
    const a = x.data, b = (y as { data: Float64Array }).data
    if (a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
    return true
  }
  if (Array.isArray(x)) return x.every((v, i) => sameT(v, (y as unknown[])[i] ?? Zero))
  if (typeof x === 'object' && x !== null) {
    const keys = new Set([...Object.keys(x), ...Object.keys(y as object)])
    for (const k of keys) if (!sameT((x as Record<string, unknown>)[k] ?? Zero, (y as Record<string, unknown>)[k] ?? Zero)) return false
    return true
  }
  return x === y
}
