/**
 * Symmetric test matrices from a spectrum: a random orthogonal Q and Q diag(λ) Qᵀ, shared
 * by the Cholesky, KKT and kernel tests (which choose the spectra: condition 1e8, zeros,
 * negative eigenvalues).
 */
import type { Rng } from '../../src/core/Random.js'

/** An n × n orthogonal matrix (modified Gram-Schmidt, twice, on normals). */
export const orthogonal = (r: Rng, n: number): Float64Array => {
  const Q = Float64Array.from({ length: n * n }, () => r.normal())
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < j; i++) {
        let s = 0
        for (let k = 0; k < n; k++) s += Q[k * n + i]! * Q[k * n + j]!
        for (let k = 0; k < n; k++) Q[k * n + j] = Q[k * n + j]! - s * Q[k * n + i]!
      }
      let s = 0
      for (let k = 0; k < n; k++) s += Q[k * n + j]! ** 2
      s = Math.sqrt(s)
      for (let k = 0; k < n; k++) Q[k * n + j] = Q[k * n + j]! / s
    }
  }
  return Q
}

/** Q diag(λ) Qᵀ, both triangles (exactly symmetric). */
export const fromEigen = (Q: Float64Array, n: number, lambda: ArrayLike<number>): Float64Array => {
  const A = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    let s = 0
    for (let k = 0; k < n; k++) s += Q[i * n + k]! * lambda[k]! * Q[j * n + k]!
    A[i * n + j] = s; A[j * n + i] = s
  }
  return A
}
