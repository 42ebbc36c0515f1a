/**
 * The active set's face factor, kept across its rounds for a dense P (and for diagonal
 * plus low rank whose diagonal is too small for Woodbury, which a face solve would
 * otherwise densify). A round changes the
 * working face by a coordinate or a few (the primal rule fixes one blocking bound; a
 * release frees the few most wrong multipliers), so instead of a new O(m³) factorization
 * per face the factor of M = P_FF + ρ E_FᵀE_F is grown and shrunk by `appendIndex` and
 * `removeIndex` (`core/Cholesky.ts`), O(m²) per change, and the face is solved through
 * `kktSolverFactored` (`core/Kkt.ts`): the same Schur step and residual refinements as a
 * fresh solver's. On an ill-conditioned P, whose Frank-Wolfe start lies far from the
 * optimal working set, the rounds are many and the faces large (hundreds of rounds with
 * m ≈ 900 at n = 1000, cond 1e8); this is what keeps their cost at O(m²) each.
 *
 * The factor is rebuilt from P (O(m³)) when the active rows change, when a kept
 * coordinate's row coefficient changes (its sign under an abs row), when more than
 * max(8, m/8) coordinates change at once, or after a factor that is not positive definite
 * to the tolerance. It declines (the caller then takes a fresh `kktSolver`, which handles
 * the singular and the indefinite cases) when the factor is not positive definite or a row
 * is of extreme scale (beyond 2^±20: the fresh solver equilibrates it).
 *
 * @since 0.1.0
 */
import { type CholeskyFactor, appendIndex, choleskySymmetric, isPositiveDefinite, removeIndex } from '../core/Cholesky.js'
import { type KktSolver, kktSolverFactored } from '../core/Kkt.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A face factor kept across rounds: `solverFor` gives the face's solver in the face's own
 * coordinate order (F ascending, E_F k × |F| row-major), or undefined when it declines.
 *
 * @example
 * const cache = faceFactorCache(P.mat.data, n)
 * const s = cache.solverFor(F, rows, E, hFloor) ?? kktSolver(...)
 */
export interface FaceFactorCache {
  readonly solverFor: (F: Int32Array, rows: Int32Array, E: Float64Array, hFloor: number) => KktSolver | undefined
}

// -------------------------------------------------------------------------------------
// the cache
// -------------------------------------------------------------------------------------

const EXTREME = 2 ** 20

/**
 * The entries of a symmetric n × n matrix, P(i, j), as the cache reads them.
 *
 * @example
 * const P: Entries = (i, j) => A[i * n + j]!
 */
export type Entries = (i: number, j: number) => number

/**
 * A dense row-major matrix's entries.
 *
 * @example
 * faceFactorCache(denseEntries(A, n), n)
 */
export const denseEntries = (A: Float64Array, n: number): Entries => (i, j) => A[i * n + j]!

/**
 * The entries of diag(d) + U Uᵀ (U n × r row-major): O(r) each. For the diagonals too small
 * for Woodbury, where a face would otherwise be densified and factored afresh every round.
 *
 * @example
 * faceFactorCache(lowRankEntries(d, U, r), n)
 */
export const lowRankEntries = (d: Float64Array, U: Float64Array, r: number): Entries => (i, j) => {
  let s = i === j ? d[i]! : 0
  const a = i * r, b = j * r
  for (let k = 0; k < r; k++) s += U[a + k]! * U[b + k]!
  return s
}

/**
 * A face factor cache over a symmetric n × n matrix given by its entries (read, never
 * written). Its state is private to the active set that owns it.
 *
 * @example
 * const cache = faceFactorCache(denseEntries(A, n), n)
 */
export const faceFactorCache = (A: Entries, n: number): FaceFactorCache => {
  let members: number[] = []
  let f: CholeskyFactor | undefined
  let rowsKey: Int32Array = new Int32Array(0)
  let coef = new Float64Array(0) // k × n: each active row's coefficient at each coordinate
  let rho = 0
  const mEntry = (i: number, j: number, k: number): number => {
    let v = A(i, j)
    if (rho > 0) for (let a = 0; a < k; a++) v += rho * coef[a * n + i]! * coef[a * n + j]!
    return v
  }
  // P_FF in the members' order (lower triangle from A, mirrored), kept while the members
  // do not change; shared read-only with the solvers given out and, when ρ = 0, with the
  // factor as its stored copy
  let hess: Float64Array | undefined
  const hessian = (): Float64Array => {
    const m = members.length
    const H = new Float64Array(m * m)
    for (let a = 0; a < m; a++) {
      const i = members[a]!, o = a * m
      for (let b = 0; b <= a; b++) { const v = A(i, members[b]!); H[o + b] = v; H[b * m + a] = v }
    }
    return H
  }
  const rebuild = (F: Int32Array, k: number, E: Float64Array, hFloor: number): void => {
    const m = F.length
    members = Array.from(F)
    coef = new Float64Array(k * n)
    let maxDiag = 0, maxEtE = 0
    for (let j = 0; j < m; j++) {
      const i = F[j]!
      maxDiag = Math.max(maxDiag, A(i, i))
      let sq = 0
      for (let a = 0; a < k; a++) { const c = E[a * m + j]!; coef[a * n + i] = c; sq += c * c }
      maxEtE = Math.max(maxEtE, sq)
    }
    const hd = Math.max(maxDiag, hFloor)
    rho = k === 0 || !(maxEtE > 0) ? 0 : hd > 0 ? hd / maxEtE : 1
    // M = H + ρ EᵀE entry by entry as mEntry adds it (from H's A(i, j), the same terms in the same order)
    const H = hessian()
    hess = H
    let M = H
    if (rho > 0) {
      // each term (ρ·coefᵢ)·coefⱼ with ρ·coefᵢ formed once per row, coef gathered to F's order
      M = new Float64Array(m * m)
      const cF = new Float64Array(k * m), rc = new Float64Array(k)
      for (let c = 0; c < k; c++) for (let b = 0; b < m; b++) cF[c * m + b] = coef[c * n + F[b]!]!
      for (let a = 0; a < m; a++) {
        for (let c = 0; c < k; c++) rc[c] = rho * cF[c * m + a]!
        for (let b = 0; b <= a; b++) {
          let v = H[a * m + b]!
          for (let c = 0; c < k; c++) v += rc[c]! * cF[c * m + b]!
          M[a * m + b] = v; M[b * m + a] = v
        }
      }
    }
    f = choleskySymmetric(M, m)
  }
  const solverFor = (F: Int32Array, rows: Int32Array, E: Float64Array, hFloor: number): KktSolver | undefined => {
    const m = F.length, k = rows.length
    for (let a = 0; a < k; a++) {
      let mx = 0
      for (let j = 0; j < m; j++) mx = Math.max(mx, Math.abs(E[a * m + j]!))
      if (mx > 0 && (mx > EXTREME || mx < 1 / EXTREME)) return undefined
    }
    const posF = new Int32Array(n).fill(-1)
    for (let j = 0; j < m; j++) posF[F[j]!] = j
    let valid = f !== undefined && rowsKey.length === k && rows.every((r, a) => rowsKey[a] === r)
    const inFactor = new Uint8Array(n)
    let removed = 0
    for (const i of members) {
      inFactor[i] = 1
      const j = posF[i]!
      if (j < 0) { removed++; continue }
      for (let a = 0; a < k && valid; a++) if (coef[a * n + i] !== E[a * m + j]) valid = false
    }
    let added = 0
    for (let j = 0; j < m; j++) if (inFactor[F[j]!] === 0) added++
    if (!valid || removed + added > Math.max(8, m >> 3)) {
      rowsKey = Int32Array.from(rows)
      rebuild(F, k, E, hFloor)
    } else {
      for (let o = members.length - 1; o >= 0; o--) {
        if (posF[members[o]!]! >= 0) continue
        const g = f!
        let p = 0
        while (g.order[p] !== o) p++
        f = removeIndex(g, p)
        members.splice(o, 1)
        hess = undefined
      }
      for (let j = 0; j < m; j++) {
        const i = F[j]!
        if (inFactor[i] === 1) continue
        for (let a = 0; a < k; a++) coef[a * n + i] = E[a * m + j]!
        const column = new Float64Array(members.length + 1)
        for (let l = 0; l < members.length; l++) column[l] = mEntry(members[l]!, i, k)
        column[members.length] = mEntry(i, i, k)
        f = appendIndex(f!, column)
        members.push(i)
        hess = undefined
      }
    }
    if (!isPositiveDefinite(f!)) { f = undefined; return undefined }
    // H and E in the factor's coordinates (members' order)
    const perm = Int32Array.from(members, (i) => posF[i]!)
    const H = hess ?? (hess = hessian())
    const Em = new Float64Array(k * m)
    for (let a = 0; a < k; a++) for (let l = 0; l < m; l++) Em[a * m + l] = E[a * m + perm[l]!]!
    return permuted(kktSolverFactored({ H: { kind: 'dense', m, H }, ...(k > 0 ? { E: { k, rows: Em } } : {}) }, f!, rho), perm)
  }
  return { solverFor }
}

/**
 * The face's solver in the face's order from `inner`'s in the factor's (`perm[l]`: the
 * face position of the factor's coordinate l). Built outside the cache's scope, so that a
 * solver kept after the polish (the derivative's) holds the factor's L and H only, not the
 * cache's state (its copy of M, the row coefficients).
 */
const permuted = (inner: KktSolver, perm: Int32Array): KktSolver => {
  const m = perm.length
  return {
    info: inner.info,
    solve: (b, c, precise) => {
      const bm = new Float64Array(m)
      for (let l = 0; l < m; l++) bm[l] = b[perm[l]!]!
      const r = inner.solve(bm, c, precise)
      const x = new Float64Array(m)
      for (let l = 0; l < m; l++) x[perm[l]!] = r.x[l]!
      return { ...r, x }
    }
  }
}
