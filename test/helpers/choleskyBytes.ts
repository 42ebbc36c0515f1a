/** A Cholesky factor as data that compares bitwise: every array as the base64 of its bytes. */
import type { CholeskyFactor } from '../../src/core/Cholesky.js'
import { kktSolver } from '../../src/core/Kkt.js'
import { caseMatrix } from './choleskyCases.js'

const b64 = (a: Float64Array | Int32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')

export interface FactorBytes {
  readonly rank: number
  readonly L: string
  readonly order: string
  readonly negative: string | null
  readonly curvature: string | null
  readonly T: string | null
  readonly C: string | null
}

export const factorBytes = (f: CholeskyFactor): FactorBytes => ({
  rank: f.rank,
  L: b64(f.L),
  order: b64(f.order),
  negative: f.negative === undefined ? null : b64(f.negative.direction),
  curvature: f.negative === undefined ? null : b64(Float64Array.of(f.negative.curvature)),
  T: f.completion === undefined ? null : b64(f.completion.T),
  C: f.completion === undefined ? null : b64(f.completion.C)
})

/**
 * Precise (double-double refined) dense KKT solves, with and without equality rows, at
 * sizes on both sides of the kernels' thresholds: x, ν and ω of each as bytes.
 */
export const kktSolves = (): string[] => {
  const out: string[] = []
  for (const m of [5, 12, 16, 31, 64, 90]) {
    const H = caseMatrix('ill', m, 5)
    const k = 2
    const rows = Float64Array.from({ length: k * m }, (_, i) => Math.cos(0.37 * i) + (i % m === 0 ? 1 : 0))
    const b = Float64Array.from({ length: m }, (_, i) => Math.sin(1 + i)), c = Float64Array.of(0.5, -0.25)
    for (const E of [undefined, { k, rows }]) {
      const s = kktSolver({ H: { kind: 'dense', m, H }, ...(E === undefined ? {} : { E }) }).solve(b, E === undefined ? new Float64Array(0) : c, true)
      out.push([b64(s.x), b64(s.nu), b64(Float64Array.of(s.residual)), s.refinements].join(' '))
    }
  }
  return out
}
