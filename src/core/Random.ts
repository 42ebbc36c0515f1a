/**
 * A seeded pseudo-random generator (mulberry32 for uniforms, Box-Muller for normals), so
 * that experiments, tests and benchmarks are reproducible.
 *
 * @since 0.1.0
 */

/**
 * A stateful stream of pseudo-random numbers from one seed.
 *
 * @example
 * const r: Rng = rng(7); const u = r.uniform(), z = r.normal()
 */
export interface Rng {
  /** Uniform in [0, 1). */
  readonly uniform: () => number
  /** Standard normal. */
  readonly normal: () => number
}

/**
 * @example
 * const r = rng(42); r.normal() // the same number on every run
 */
export const rng = (seed: number): Rng => {
  let a = seed >>> 0
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  let spare: number | undefined
  const normal = (): number => {
    if (spare !== undefined) { const s = spare; spare = undefined; return s }
    let u = 0
    while (u === 0) u = uniform()
    const v = uniform()
    const r = Math.sqrt(-2 * Math.log(u))
    spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
  return { uniform, normal }
}
