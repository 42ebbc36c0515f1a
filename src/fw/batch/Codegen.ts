/**
 * Generated straight-line code for the batch's small rows. Below n = 16 (`SIMD_MIN_N`,
 * where the products leave the WebAssembly kernels) the batch's loops run over rows of a
 * few entries, and their bookkeeping, bounds checks and re-loads cost more than the
 * arithmetic; the batch then runs code generated once per n (`new Function`) that spells
 * each row out with the loops' operations in the loops' order, so that it computes the
 * same numbers, zeros' signs and NaN included. The loops stay: for n ≥ 16, where the
 * environment forbids generating code (a Content-Security-Policy without 'unsafe-eval'),
 * and when {@link setCodegen} turns the generated code off (the tests hold both paths
 * bitwise equal).
 *
 * @since 0.1.0
 */
import { SIMD_MIN_N } from '../../core/simd.js'

/**
 * The n below which the batch runs generated code (16: the products' own threshold).
 *
 * @example
 * n < SMALL_N // the generated row code serves rows of n entries
 */
export const SMALL_N = SIMD_MIN_N

let enabled = true

/**
 * Turns the generated code on (the default) or off (the loops everywhere, as where code
 * cannot be generated); returns the previous setting. Internal: for the tests that hold
 * both paths equal.
 *
 * @example
 * const was = setCodegen(false)
 * try { run() } finally { setCodegen(was) }
 */
export const setCodegen = (on: boolean): boolean => {
  const was = enabled
  enabled = on
  return was
}

/**
 * A family of kernels keyed by k: the compiled `source(k)` (parameters and body, and the
 * name profilers show it by; compiled once per key and cached) while the generated code is on and the environment allows it,
 * else `loops(k)` (also cached).
 *
 * @example
 * const kernel = generatedKernels((n: number) => ({ params: ['x'], body: `return x * ${n}` }), (n) => (x: number) => x * n)
 * kernel(3)(2) // 6, from generated code where allowed
 */
export const generatedKernels = <K, F>(source: (k: K) => { readonly params: readonly string[]; readonly body: string; readonly name?: string }, loops: (k: K) => F): ((k: K) => F) => {
  const made = new Map<K, F>(), fallback = new Map<K, F>()
  const loopsOf = (k: K): F => {
    let f = fallback.get(k)
    if (f === undefined) { f = loops(k); fallback.set(k, f) }
    return f
  }
  return (k) => {
    if (!enabled) return loopsOf(k)
    let f = made.get(k)
    if (f === undefined) {
      const { params, body, name } = source(k)
      try {
        // the name is what profilers and stack traces show for the generated code
        f = new Function(...params, name === undefined ? body : `${body}\n//# sourceURL=${name}`) as F
      } catch {
        f = loopsOf(k)
      }
      made.set(k, f)
    }
    return f
  }
}
