/**
 * Immutable vector algebra on shaped vectors. Every function allocates its result and
 * never writes into its arguments. Dimensions are checked by the types: mixing vectors of
 * two different `Dim`s does not compile.
 *
 * The loops are plain JavaScript. `dot` and `axpy` are unrolled by four, which measured
 * faster than the `@stdlib/blas` wrappers in `blas.ts` (`ddot`, `daxpy`) and than the
 * one-accumulator loops they replaced (`bench/matvec.ts`, Node 20; the figures are in
 * the README). The other loops are bandwidth-bound single passes.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import { f64, f64From } from '../shapes/alloc.js'

const out = <N>(x: Vec<N>): Float64Array => f64(x.dim)

// -------------------------------------------------------------------------------------
// reductions
// -------------------------------------------------------------------------------------

/**
 * xᵀ y for raw arrays of length ≥ n, with four partial sums over i ≡ 0, 1, 2, 3 (mod 4),
 * reduced as (s₀ + s₂) + (s₁ + s₃), and the last n mod 4 terms added in order.
 *
 * @example
 * dotRaw(new Float64Array([1, 2]), new Float64Array([3, 4]), 2) // 11
 */
export const dotRaw = (a: Float64Array, b: Float64Array, n: number): number => {
  const n4 = n & ~3
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, i = 0
  for (; i < n4; i += 4) {
    s0 += a[i]! * b[i]!
    s1 += a[i + 1]! * b[i + 1]!
    s2 += a[i + 2]! * b[i + 2]!
    s3 += a[i + 3]! * b[i + 3]!
  }
  let s = (s0 + s2) + (s1 + s3)
  for (; i < n; i++) s += a[i]! * b[i]!
  return s
}

/**
 * The inner product, summed as {@link dotRaw} does.
 *
 * @example
 * dot(x, y) // Σ xᵢ yᵢ
 */
export const dot = <N>(x: Vec<N>, y: Vec<N>): number => dotRaw(x.data, y.data, x.data.length)

/**
 * The sum of the entries.
 *
 * @example
 * sum(v) // 6 for v = [1, 2, 3]
 */
export const sum = <N>(x: Vec<N>): number => {
  let s = 0
  for (const v of x.data) s += v
  return s
}

/**
 * The largest entry and its first index; `-Infinity` and `-1` for an empty vector.
 *
 * @example
 * maxArg(v) // { value: 3, index: 2 } for v = [1, 2, 3]
 */
export const maxArg = <N>(x: Vec<N>): { readonly value: number; readonly index: number } => {
  let m = -Infinity, k = -1
  const a = x.data
  for (let i = 0; i < a.length; i++) if (a[i]! > m) { m = a[i]!; k = i }
  return { value: m, index: k }
}

/**
 * The largest entry.
 *
 * @example
 * max(v) // 3 for v = [1, 2, 3]
 */
export const max = <N>(x: Vec<N>): number => maxArg(x).value

/**
 * The first index of the largest entry.
 *
 * @example
 * argmax(v) // 2 for v = [1, 2, 3]
 */
export const argmax = <N>(x: Vec<N>): number => maxArg(x).index

/**
 * The weighted l1 norm Σ|wᵢ xᵢ| (weights all 1 when `w` is omitted).
 *
 * @example
 * normL1(x, w) // Σ|wᵢxᵢ|; normL1(x) // Σ|xᵢ|
 */
export const normL1 = <N>(x: Vec<N>, w?: Vec<N>): number => {
  let s = 0
  const a = x.data
  if (w === undefined) for (let i = 0; i < a.length; i++) s += Math.abs(a[i]!)
  else for (let i = 0; i < a.length; i++) s += Math.abs(w.data[i]! * a[i]!)
  return s
}

/**
 * The weighted Euclidean norm ‖w ∘ x‖₂ = (Σ (wᵢxᵢ)²)^½ (weights all 1 when `w` is
 * omitted), computed with scaling so that it neither overflows nor underflows.
 *
 * @example
 * normL2(v) // 5 for v = [3, 4]; normL2(v, w) // 10 for w = [2, 2]
 */
export const normL2 = <N>(x: Vec<N>, w?: Vec<N>): number => {
  let scale = 0, ssq = 1
  const a = x.data, ws = w?.data
  for (let i = 0; i < a.length; i++) {
    const v = ws === undefined ? a[i]! : ws[i]! * a[i]!
    if (v !== 0) {
      const m = Math.abs(v)
      if (scale < m) { ssq = 1 + ssq * (scale / m) ** 2; scale = m } else ssq += (m / scale) ** 2
    }
  }
  return scale * Math.sqrt(ssq)
}

/**
 * The weighted l∞ norm maxᵢ |wᵢxᵢ| (weights all 1 when `w` is omitted); 0 for an empty vector.
 *
 * @example
 * normInf(v) // 4 for v = [3, -4]; normInf(v, w) // 6 for w = [2, 1]
 */
export const normInf = <N>(x: Vec<N>, w?: Vec<N>): number => {
  let m = 0
  const a = x.data, ws = w?.data
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(ws === undefined ? a[i]! : ws[i]! * a[i]!)
    if (v > m || v !== v) m = v
  }
  return m
}

// -------------------------------------------------------------------------------------
// elementwise
// -------------------------------------------------------------------------------------

const zip = (f: (a: number, b: number) => number) => <N>(x: Vec<N>, y: Vec<N>): Vec<N> => {
  const o = out(x), a = x.data, b = y.data
  for (let i = 0; i < o.length; i++) o[i] = f(a[i]!, b[i]!)
  return { dim: x.dim, data: o }
}

/**
 * Applies `f` to every entry.
 *
 * @example
 * map((a) => a * a)(v) // [1, 4, 9] for v = [1, 2, 3]
 */
export const map = (f: (a: number, i: number) => number) => <N>(x: Vec<N>): Vec<N> => {
  const o = out(x), a = x.data
  for (let i = 0; i < o.length; i++) o[i] = f(a[i]!, i)
  return { dim: x.dim, data: o }
}

/**
 * x + y
 *
 * @example
 * add(x, y) // x + y
 */
export const add = <N>(x: Vec<N>, y: Vec<N>): Vec<N> => {
  const o = out(x), a = x.data, b = y.data
  for (let i = 0; i < o.length; i++) o[i] = a[i]! + b[i]!
  return { dim: x.dim, data: o }
}

/**
 * x − y
 *
 * @example
 * sub(x, y) // x − y
 */
export const sub = <N>(x: Vec<N>, y: Vec<N>): Vec<N> => {
  const o = out(x), a = x.data, b = y.data
  for (let i = 0; i < o.length; i++) o[i] = a[i]! - b[i]!
  return { dim: x.dim, data: o }
}

/**
 * α x
 *
 * @example
 * scale(2, x) // 2x
 */
export const scale = <N>(alpha: number, x: Vec<N>): Vec<N> => {
  const o = out(x), a = x.data
  for (let i = 0; i < o.length; i++) o[i] = alpha * a[i]!
  return { dim: x.dim, data: o }
}

/**
 * α x + y, as BLAS's axpy but returning a new vector.
 *
 * @example
 * axpy(-gamma, d, x) // x − γ d
 */
export const axpy = <N>(alpha: number, x: Vec<N>, y: Vec<N>): Vec<N> => {
  const o = out(x), a = x.data, b = y.data, n = o.length, n4 = n & ~3
  let i = 0
  for (; i < n4; i += 4) {
    o[i] = alpha * a[i]! + b[i]!
    o[i + 1] = alpha * a[i + 1]! + b[i + 1]!
    o[i + 2] = alpha * a[i + 2]! + b[i + 2]!
    o[i + 3] = alpha * a[i + 3]! + b[i + 3]!
  }
  for (; i < n; i++) o[i] = alpha * a[i]! + b[i]!
  return { dim: x.dim, data: o }
}

/**
 * x + c, for a scalar c.
 *
 * @example
 * shift(x, -max(x)) // x − max(x), as before a softmax
 */
export const shift = <N>(x: Vec<N>, c: number): Vec<N> => {
  const o = out(x), a = x.data
  for (let i = 0; i < o.length; i++) o[i] = a[i]! + c
  return { dim: x.dim, data: o }
}

/**
 * Elementwise product x ⊙ y.
 *
 * @example
 * mul(w, x) // w ⊙ x
 */
export const mul = zip((a, b) => a * b)

/**
 * Elementwise quotient x ⊘ y.
 *
 * @example
 * div(x, w) // x ⊘ w
 */
export const div = zip((a, b) => a / b)

/**
 * Elementwise |x|.
 *
 * @example
 * abs(v) // [1, 2] for v = [-1, 2]
 */
export const abs = map(Math.abs)

/**
 * Elementwise sign, with sign(0) = 0.
 *
 * @example
 * sign(v) // [-1, 0, 1] for v = [-3, 0, 2]
 */
export const sign = map((a) => (a > 0 ? 1 : a < 0 ? -1 : 0))

/**
 * −x
 *
 * @example
 * neg(v) // −v
 */
export const neg = map((a) => -a)

/**
 * The softmax exp(xᵢ − max x) / Σⱼ exp(xⱼ − max x). Subtracting the maximum keeps every
 * exponent ≤ 0, so it never overflows, and the largest term is 1, so the sum is ≥ 1.
 *
 * @example
 * softmax(x) // entries in (0, 1], summing to 1
 */
export const softmax = <N>(x: Vec<N>): Vec<N> => {
  const m = max(x)
  const o = out(x), a = x.data
  let s = 0
  for (let i = 0; i < o.length; i++) { const e = Math.exp(a[i]! - m); o[i] = e; s += e }
  for (let i = 0; i < o.length; i++) o[i] = o[i]! / s
  return { dim: x.dim, data: o }
}

/**
 * A copy.
 *
 * @example
 * copy(v).data !== v.data // true: a fresh buffer
 */
export const copy = <N>(x: Vec<N>): Vec<N> => ({ dim: x.dim, data: f64From(x.data) })
