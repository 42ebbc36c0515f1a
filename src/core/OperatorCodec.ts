/**
 * The io-ts codec of the operator P in its three JSON forms (dense rows, `{ diag, U? }`,
 * `{ csr }`), with the checks the CONTRACT asks of P: squareness, symmetry, CSR
 * structure. It knows operators, so it lives with them; the shape codecs it builds on are
 * in src/shapes/codecs.ts, and the codec of a whole problem in src/fw/ProblemCodec.ts.
 *
 * @since 0.1.0
 * @module
 */
import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import type { Dim } from '../shapes/Dim.js'
import { unsafeDim } from '../shapes/Dim.js'
import { unsafeVec } from '../shapes/Vec.js'
import { unsafeMat } from '../shapes/Mat.js'
import type { ShapeError } from '../shapes/ShapeError.js'
import { Finite, FiniteArray, PositiveInt, matrixCodec, strictStruct, validateRows, encodeRows } from '../shapes/codecs.js'
import { isRecord, hasOwn, at, atPath } from '../shapes/internal.js'
import { type LinearOperator, dense, lowRank, csr } from './LinearOperator.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The operator P as read, before it gets a `Dim`.
 *
 * @example
 * operatorCodec.decode({ diag: [1, 2] }) // right({ kind: 'lowRank', n: 2, rank: 0, … })
 */
export type RawOperator =
  | { readonly kind: 'dense'; readonly n: number; readonly data: Float64Array }
  | { readonly kind: 'lowRank'; readonly n: number; readonly diag: Float64Array; readonly rank: number; readonly U: Float64Array }
  | { readonly kind: 'csr'; readonly n: number; readonly rowPtr: Int32Array; readonly colIdx: Int32Array; readonly values: Float64Array }

// -------------------------------------------------------------------------------------
// the operator P
// -------------------------------------------------------------------------------------

/**
 * The relative tolerance of the symmetry check. Symmetry is judged entry by entry
 * (CONTRACT.md, "Errors"): Pᵢⱼ and Pⱼᵢ agree when
 * |Pᵢⱼ − Pⱼᵢ| ≤ SYMMETRY_TOLERANCE·max(|Pᵢⱼ|, |Pⱼᵢ|, √(|Pᵢᵢ|·|Pⱼⱼ|)) or
 * |Pᵢⱼ − Pⱼᵢ| ≤ {@link SYMMETRY_FLOOR}, so one large entry cannot hide an asymmetry
 * elsewhere.
 *
 * @example
 * asymmetric(1, 1 + 1e-12, 1, 1) // false: within the tolerance
 */
export const SYMMETRY_TOLERANCE = 1e-10

/**
 * The absolute floor of the symmetry check: two entries that differ by at most this much
 * always agree.
 *
 * @example
 * asymmetric(0, 1e-301, 0, 0) // false
 */
export const SYMMETRY_FLOOR = 1e-300

/**
 * True when the entries a = Pᵢⱼ and b = Pⱼᵢ, with diagonal entries dᵢ = Pᵢᵢ and dⱼ = Pⱼⱼ,
 * violate the entry-by-entry symmetry rule of {@link SYMMETRY_TOLERANCE} (with `tol` and
 * `floor` in place of its constants; the tfjs op passes float32's). Non-finite entries are
 * not judged here.
 *
 * @example
 * asymmetric(0, 1, 1e10, 1) // true: √(1e10·1) = 1e5 is the scale, and 1 > 1e-10·1e5
 */
export const asymmetric = (a: number, b: number, di: number, dj: number, tol = SYMMETRY_TOLERANCE, floor = SYMMETRY_FLOOR): boolean => {
  const d = Math.abs(a - b)
  // √|dᵢ|·√|dⱼ| rather than √|dᵢdⱼ|, which overflows for entries beyond 1e154
  return d > floor && d > tol * Math.max(Math.abs(a), Math.abs(b), Math.sqrt(Math.abs(di)) * Math.sqrt(Math.abs(dj)))
}

const TILE = 32

/**
 * The first entry (i, j), i > j, in row-major order, at which the dense n×n block of
 * `data` starting at `offset` violates the symmetry rule (see {@link asymmetric}), or
 * undefined. The scan runs over 32×32 tiles, so that the transposed reads stay in cache.
 *
 * @example
 * denseAsymmetry([1e10, 0, 0, 0, 1, 1, 0, 0, 1], 3) // { i: 2, j: 1 }
 */
export const denseAsymmetry = (
  data: ArrayLike<number>, n: number, offset = 0, tol = SYMMETRY_TOLERANCE, floor = SYMMETRY_FLOOR
): { readonly i: number; readonly j: number } | undefined => {
  for (let bi = 0; bi < n; bi += TILE) {
    const ie = Math.min(n, bi + TILE)
    // the first offender of this band of rows, over all its tiles
    let fi = -1, fj = -1
    for (let bj = 0; bj <= bi; bj += TILE) {
      const je = Math.min(n, bj + TILE)
      for (let i = Math.max(bi, 1); i < ie; i++) {
        if (fi !== -1 && i > fi) break
        const ri = offset + i * n
        const di = data[ri + i]!
        for (let j = bj; j < je && j < i; j++) {
          // equal entries never offend: the rule (and the diagonal it reads) only where they differ
          const a = data[ri + j]!, b = data[offset + j * n + i]!
          if (a !== b && asymmetric(a, b, di, data[offset + j * n + j]!, tol, floor)) {
            if (fi === -1 || i < fi || (i === fi && j < fj)) { fi = i; fj = j }
            break
          }
        }
      }
    }
    if (fi !== -1) return { i: fi, j: fj }
  }
  return undefined
}

/**
 * The index of a stored value at which a CSR matrix violates the symmetry rule (see
 * {@link asymmetric}), or -1. Repeated (i, j) entries add up, and a missing entry counts
 * as 0. Pairs {i, j} are judged in the order of min(i, j); of the pair, the stored entry
 * in the lower triangle (row > column) is reported when there is one, else the stored
 * entry above it.
 *
 * @example
 * csrAsymmetry(2, Int32Array.of(0, 2, 3), Int32Array.of(0, 1, 1), Float64Array.of(1, 1, 1)) // 1: (0, 1) has no mirror
 */
export const csrAsymmetry = (
  n: number, rp: ArrayLike<number>, ci: ArrayLike<number>, vs: ArrayLike<number>, tol = SYMMETRY_TOLERANCE, floor = SYMMETRY_FLOOR
): number => {
  const nnz = rp[n]!
  // the diagonal, duplicates summed
  const diag = new Float64Array(n)
  for (let i = 0; i < n; i++) for (let k = rp[i]!; k < rp[i + 1]!; k++) if (ci[k] === i) diag[i] = diag[i]! + vs[k]!
  // transpose: for each column j, the stored indices k with colIdx[k] = j, with their rows
  const tp = new Int32Array(n + 1)
  for (let k = 0; k < nnz; k++) tp[ci[k]! + 1]!++
  for (let j = 0; j < n; j++) tp[j + 1] = tp[j + 1]! + tp[j]!
  const fillAt = tp.slice(0, n), tk = new Int32Array(nnz), trow = new Int32Array(nnz)
  for (let i = 0; i < n; i++) {
    for (let k = rp[i]!; k < rp[i + 1]!; k++) { const p = fillAt[ci[k]!]!++; tk[p] = k; trow[p] = i }
  }
  // row i's entries (i, j) summed in `a`, column i's entries (j, i) in `b`; `own`/`mirror`
  // the first stored index of each
  const a = new Float64Array(n), b = new Float64Array(n)
  const own = new Int32Array(n).fill(-1), mirror = new Int32Array(n).fill(-1), touched: number[] = []
  for (let i = 0; i < n; i++) {
    touched.length = 0
    for (let k = rp[i]!; k < rp[i + 1]!; k++) {
      const j = ci[k]!
      if (own[j] === -1 && mirror[j] === -1) touched.push(j)
      if (own[j] === -1) own[j] = k
      a[j] = a[j]! + vs[k]!
    }
    for (let p = tp[i]!; p < tp[i + 1]!; p++) {
      const j = trow[p]!
      if (own[j] === -1 && mirror[j] === -1) touched.push(j)
      if (mirror[j] === -1) mirror[j] = tk[p]!
      b[j] = b[j]! + vs[tk[p]!]!
    }
    let bad = -1
    for (const j of touched) {
      // pairs with j < i were judged at row j
      if (bad === -1 && j > i && asymmetric(a[j]!, b[j]!, diag[i]!, diag[j]!, tol, floor)) bad = mirror[j] !== -1 ? mirror[j]! : own[j]!
      a[j] = 0; b[j] = 0; own[j] = -1; mirror[j] = -1
    }
    if (bad !== -1) return bad
  }
  return -1
}

const fmt = (x: number): string => String(x)

const validateDense = (u: unknown, c: t.Context): t.Validation<RawOperator> => {
  const r = validateRows(u, c, undefined, undefined)
  if (E.isLeft(r)) return r
  const { rows: n, cols, data } = r.right
  if (n === 0) return t.failure(u, c, 'expected at least one row (n ≥ 1)')
  if (cols !== n) return t.failure(u, c, `expected a square matrix, got ${n}×${cols}`)
  const bad = denseAsymmetry(data, n)
  if (bad !== undefined) {
    const { i, j } = bad
    const a = data[i * n + j]!, b = data[j * n + i]!
    const rows = u as unknown[][]
    return t.failure(a, at(at(c, i, FiniteArray, rows[i]), j, Finite, a), asymmetryMessage(i, j, a, b))
  }
  return t.success({ kind: 'dense', n, data })
}

/**
 * The message of a symmetry failure at (i, j).
 *
 * @example
 * asymmetryMessage(2, 1, 0, 1) // 'expected a symmetric matrix: entry [2][1] is 0 but [1][2] is 1 …'
 */
export const asymmetryMessage = (i: number, j: number, a: number, b: number, tol = SYMMETRY_TOLERANCE): string =>
  `expected a symmetric matrix: entry [${i}][${j}] is ${fmt(a)} but [${j}][${i}] is ${fmt(b)} (entries must agree to ${tol} of max(|Pᵢⱼ|, |Pⱼᵢ|, √(|Pᵢᵢ|·|Pⱼⱼ|)))`

const lowRankFields = strictStruct('a diagonal plus low rank { diag, U? }', { diag: FiniteArray }, { U: t.unknown })

const validateLowRank = (u: unknown, c: t.Context): t.Validation<RawOperator> => {
  const r = lowRankFields.validate(u, c)
  if (E.isLeft(r)) return r
  const diag = r.right.diag
  const n = diag.length
  const raw = u as Record<string, unknown>
  if (n === 0) return t.failure(raw['diag'], at(c, 'diag', FiniteArray, raw['diag']), 'expected at least one entry (n ≥ 1)')
  if (!hasOwn(raw, 'U')) return t.success({ kind: 'lowRank', n, diag, rank: 0, U: new Float64Array(0) })
  const U = matrixCodec(n)
  const m = U.validate(raw['U'], at(c, 'U', U, raw['U']))
  if (E.isLeft(m)) return m
  return t.success({ kind: 'lowRank', n, diag, rank: m.right.cols, U: m.right.data })
}

const csrInner = strictStruct(
  'a CSR matrix { n, rowPtr, colIdx, values }',
  { n: PositiveInt, rowPtr: FiniteArray, colIdx: FiniteArray, values: FiniteArray },
  {}
)
const csrOuter = strictStruct('a CSR operator { csr }', { csr: t.unknown }, {})

/**
 * The message of a CSR symmetry failure at stored index k.
 *
 * @example
 * csrAsymmetryMessage(rowPtr, colIdx, 4) // 'expected a symmetric matrix: the entries (1, 2) and (2, 1) differ …'
 */
export const csrAsymmetryMessage = (rp: ArrayLike<number>, ci: ArrayLike<number>, k: number, tol = SYMMETRY_TOLERANCE): string => {
  let row = 0
  while (rp[row + 1]! <= k) row++
  const col = ci[k]!
  return `expected a symmetric matrix: the entries (${row}, ${col}) and (${col}, ${row}) differ by more than ${tol} of max(|Pᵢⱼ|, |Pⱼᵢ|, √(|Pᵢᵢ|·|Pⱼⱼ|)) (repeated entries add up; a missing one is 0)`
}

const validateCsr = (u: unknown, c: t.Context): t.Validation<RawOperator> => {
  const o = csrOuter.validate(u, c)
  if (E.isLeft(o)) return o
  const inner = (u as Record<string, unknown>)['csr']
  const ic = at(c, 'csr', csrInner, inner)
  const r = csrInner.validate(inner, ic)
  if (E.isLeft(r)) return r
  const { n, rowPtr, colIdx, values } = r.right
  const built = csr(unsafeDim<unknown>(n), rowPtr, colIdx, values)
  if (E.isLeft(built)) {
    const e: ShapeError = built.left
    return t.failure(undefined, atPath(ic, inner, e.path), e.message)
  }
  const op = built.right
  const bad = csrAsymmetry(n, op.rowPtr, op.colIdx, op.values)
  if (bad !== -1) return t.failure(op.values[bad], atPath(ic, inner, `values[${bad}]`), csrAsymmetryMessage(op.rowPtr, op.colIdx, bad))
  return t.success({ kind: 'csr', n, rowPtr: op.rowPtr, colIdx: op.colIdx, values: op.values })
}

/**
 * The operator's JSON form (the encoding of {@link operatorCodec}).
 *
 * @example
 * encodeOperator({ kind: 'lowRank', n: 1, diag: Float64Array.of(2), rank: 0, U: new Float64Array(0) }) // { diag: [2] }
 */
export const encodeOperator = (a: RawOperator): unknown => {
  switch (a.kind) {
    case 'dense':
      return encodeRows({ rows: a.n, cols: a.n, data: a.data })
    case 'lowRank':
      return a.rank === 0 ? { diag: Array.from(a.diag) } : { diag: Array.from(a.diag), U: encodeRows({ rows: a.n, cols: a.rank, data: a.U }) }
    case 'csr':
      return { csr: { n: a.n, rowPtr: Array.from(a.rowPtr), colIdx: Array.from(a.colIdx), values: Array.from(a.values) } }
  }
}

/**
 * The operator P in one of its three JSON forms, chosen by shape: an array is dense (square,
 * symmetric), an object with `csr` is CSR (structure checked by `csr` of
 * `src/core/LinearOperator.ts`, then symmetry), an object with `diag` is diag + U Uᵀ
 * (U has as many rows as diag has entries).
 *
 * @example
 * operatorCodec.decode([[1, 2], [3, 1]]) // left at [1][0]: expected a symmetric matrix …
 * operatorCodec.decode({ csr: { n: 2, rowPtr: [0, 1], colIdx: [0], values: [1] } }) // left at csr.rowPtr
 */
export const operatorCodec = new t.Type<RawOperator, unknown, unknown>(
  'a matrix (number[][]), { diag, U? } or { csr }',
  (u): u is RawOperator => isRecord(u) && (u['kind'] === 'dense' || u['kind'] === 'lowRank' || u['kind'] === 'csr'),
  (u, c) =>
    Array.isArray(u) ? validateDense(u, c)
    : isRecord(u) && hasOwn(u, 'csr') ? validateCsr(u, c)
    : isRecord(u) && hasOwn(u, 'diag') ? validateLowRank(u, c)
    : t.failure(u, c),
  encodeOperator
)

// -------------------------------------------------------------------------------------
// shaped values
// -------------------------------------------------------------------------------------

/**
 * Gives a checked operator its dimension (no copy).
 *
 * @example
 * shapeOperator(n, raw) // a LinearOperator<N>
 */
export const shapeOperator = <N>(d: Dim<N>, P: RawOperator): LinearOperator<N> => {
  switch (P.kind) {
    case 'dense':
      return dense(unsafeMat(d, d, P.data))
    case 'lowRank':
      return lowRank(unsafeVec(d, P.diag), P.rank, P.U)
    case 'csr':
      return { kind: 'csr', dim: d, rowPtr: P.rowPtr, colIdx: P.colIdx, values: P.values }
  }
}
