/**
 * The matrices of test/cholesky-simd.ts, rebuilt from their seeds (so that a child process
 * can build the same ones): SPD of condition 1 and 1e8, rank-deficient B Bᵀ, indefinite
 * (a few negative eigenvalues, or a negative diagonal), and one with exact zeros (a zero
 * row and column, −0 entries).
 */
import { rng, type Rng } from '../../src/core/Random.js'
import { fromEigen, orthogonal } from './spectral.js'

export type CaseKind = 'spd' | 'ill' | 'rank' | 'indefinite' | 'negdiag' | 'zeros'
export const KINDS: ReadonlyArray<CaseKind> = ['spd', 'ill', 'rank', 'indefinite', 'negdiag', 'zeros']

const randn = (r: Rng, n: number): Float64Array => Float64Array.from({ length: n }, () => r.normal())

/** B Bᵀ for B n × k normal. */
const gram = (r: Rng, n: number, k: number): Float64Array => {
  const B = randn(r, n * k)
  const A = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    let s = 0
    for (let l = 0; l < k; l++) s += B[i * k + l]! * B[j * k + l]!
    A[i * n + j] = s; A[j * n + i] = s
  }
  return A
}

/** The m × m symmetric matrix of the given kind and seed (full, both triangles). */
export const caseMatrix = (kind: CaseKind, m: number, seed: number): Float64Array => {
  const r = rng(seed * 1009 + m)
  switch (kind) {
    case 'spd': return gram(r, m, m + 3)
    case 'ill': return fromEigen(orthogonal(r, m), m, Array.from({ length: m }, (_, i) => (m === 1 ? 1 : 1e8 ** (-i / (m - 1)))))
    case 'rank': return gram(r, m, Math.max(1, m >> 1))
    case 'indefinite': return fromEigen(orthogonal(r, m), m, Array.from({ length: m }, (_, i) => (i % 5 === 2 ? -0.5 : 1 + i)))
    case 'negdiag': {
      const A = gram(r, m, Math.max(1, m - 2))
      for (let i = 0; i < m; i += 3) A[i * m + i] = A[i * m + i]! - 2 * m
      return A
    }
    case 'zeros': {
      const A = gram(r, m, m + 1)
      const z = m >> 1
      for (let i = 0; i < m; i++) { A[i * m + z] = -0; A[z * m + i] = -0 }
      return A
    }
  }
}
