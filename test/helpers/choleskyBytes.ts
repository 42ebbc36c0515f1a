/** A Cholesky factor as data that compares bitwise: every array as the base64 of its bytes. */
import type { CholeskyFactor } from '../../src/core/Cholesky.js'

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
