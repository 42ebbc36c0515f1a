/**
 * The Hessian of the quadratic restricted to a face's free coordinates F, P_FF, in the
 * form the direct solvers of `core/Kkt.ts` take: a dense m × m block for a dense P (gathered
 * once per face: O(m²)), diag(d_F) + U_F U_Fᵀ for diagonal plus low rank (Woodbury), and a
 * matrix-free product with its diagonal for CSR (preconditioned CG). Also the products a
 * face needs with the rest of P: (P v)_F for a vector v supported off F.
 *
 * @since 0.1.0
 */
import type { KktHessian } from '../core/Kkt.js'
import { type LinearOperator, applyInto, faceProduct, diagEntry } from '../core/LinearOperator.js'
import { f64 } from '../shapes/alloc.js'

/**
 * P_FF as a `KktHessian`. For a dense P whose face is every coordinate the matrix's own
 * buffer is used (no copy; the solver only reads it).
 *
 * @example
 * const H = faceHessian(P, Int32Array.of(0, 2)) // { kind: 'dense', m: 2, H: [P₀₀, P₀₂, P₂₀, P₂₂] }
 */
export const faceHessian = <N>(P: LinearOperator<N>, F: Int32Array): KktHessian => {
  const n = P.dim as number, m = F.length
  switch (P.kind) {
    case 'dense': {
      const A = P.mat.data
      if (m === n) {
        let identity = true
        for (let a = 0; a < m && identity; a++) identity = F[a] === a
        if (identity) return { kind: 'dense', m, H: A }
      }
      const H = new Float64Array(m * m)
      for (let a = 0; a < m; a++) {
        const r = F[a]! * n, o = a * m
        for (let b = 0; b < m; b++) H[o + b] = A[r + F[b]!]!
      }
      return { kind: 'dense', m, H }
    }
    case 'lowRank': {
      const r = P.rank, U = P.U, d = P.diag.data
      const dF = new Float64Array(m), W = new Float64Array(m * r)
      for (let a = 0; a < m; a++) {
        const i = F[a]!
        dF[a] = d[i]!
        for (let k = 0; k < r; k++) W[a * r + k] = U[i * r + k]!
      }
      return { kind: 'diagLowRank', m, d: dF, r, W }
    }
    case 'csr': {
      const diag = new Float64Array(m)
      for (let a = 0; a < m; a++) diag[a] = diagEntry(P, F[a]!)
      return { kind: 'operator', m, apply: faceProduct(P, F), diag }
    }
  }
}

/**
 * (P v)_F for a full vector v (one product with P): the coupling of a face's free
 * coordinates to moves of the fixed ones.
 *
 * @example
 * const c = productOnFace(P, v, F) // c[a] = (P v)[F[a]]
 */
export const productOnFace = <N>(P: LinearOperator<N>, v: Float64Array, F: Int32Array): Float64Array => {
  const n = P.dim as number, full = f64(n), out = f64(F.length)
  applyInto(P, v, full)
  for (let a = 0; a < F.length; a++) out[a] = full[F[a]!]!
  return out
}
