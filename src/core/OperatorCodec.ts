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
 * The relative tolerance of the symmetry check, against the largest |Pᵢⱼ|.
 *
 * @example
 * Math.abs(a - b) <= SYMMETRY_TOLERANCE * maxAbs // counts as symmetric
 */
export const SYMMETRY_TOLERANCE = 1e-10

const maxAbs = (xs: Float64Array): number => {
  let m = 0
  for (let k = 0; k < xs.length; k++) { const a = Math.abs(xs[k]!); if (a > m) m = a }
  return m
}

const fmt = (x: number): string => String(x)

const validateDense = (u: unknown, c: t.Context): t.Validation<RawOperator> => {
  const r = validateRows(u, c, undefined, undefined)
  if (E.isLeft(r)) return r
  const { rows: n, cols, data } = r.right
  if (n === 0) return t.failure(u, c, 'expected at least one row (n ≥ 1)')
  if (cols !== n) return t.failure(u, c, `expected a square matrix, got ${n}×${cols}`)
  const tol = SYMMETRY_TOLERANCE * maxAbs(data)
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const a = data[i * n + j]!, b = data[j * n + i]!
      if (Math.abs(a - b) > tol) {
        const rows = u as unknown[][]
        return t.failure(a, at(at(c, i, FiniteArray, rows[i]), j, Finite, a), `expected a symmetric matrix: entry [${i}][${j}] is ${fmt(a)} but [${j}][${i}] is ${fmt(b)}`)
      }
    }
  }
  return t.success({ kind: 'dense', n, data })
}

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

/** The first pair (i, j) with |Pᵢⱼ − Pⱼᵢ| > tol, as the index of a stored value, or -1. */
const csrAsymmetry = (n: number, rp: Int32Array, ci: Int32Array, vs: Float64Array, tol: number): number => {
  const nnz = vs.length
  // transpose: for each column j, the stored indices k with colIdx[k] = j, with their rows
  const tp = new Int32Array(n + 1)
  for (let k = 0; k < nnz; k++) tp[ci[k]! + 1]!++
  for (let j = 0; j < n; j++) tp[j + 1] = tp[j + 1]! + tp[j]!
  const fillAt = tp.slice(0, n), tk = new Int32Array(nnz), trow = new Int32Array(nnz)
  for (let i = 0; i < n; i++) {
    for (let k = rp[i]!; k < rp[i + 1]!; k++) { const p = fillAt[ci[k]!]!++; tk[p] = k; trow[p] = i }
  }
  const acc = new Float64Array(n), first = new Int32Array(n).fill(-1), touched: number[] = []
  for (let i = 0; i < n; i++) {
    touched.length = 0
    for (let k = rp[i]!; k < rp[i + 1]!; k++) {
      const j = ci[k]!
      if (first[j] === -1) { first[j] = k; touched.push(j) }
      acc[j] = acc[j]! + vs[k]!
    }
    for (let p = tp[i]!; p < tp[i + 1]!; p++) {
      const j = trow[p]!
      if (first[j] === -1) { first[j] = tk[p]!; touched.push(j) }
      acc[j] = acc[j]! - vs[tk[p]!]!
    }
    let bad = -1
    for (const j of touched) {
      if (bad === -1 && Math.abs(acc[j]!) > tol) bad = first[j]!
      acc[j] = 0
      first[j] = -1
    }
    if (bad !== -1) return bad
  }
  return -1
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
  const bad = csrAsymmetry(n, op.rowPtr, op.colIdx, op.values, SYMMETRY_TOLERANCE * maxAbs(op.values))
  if (bad !== -1) {
    let row = 0
    while (op.rowPtr[row + 1]! <= bad) row++
    return t.failure(op.values[bad], atPath(ic, inner, `values[${bad}]`),
      `expected a symmetric matrix: the entries (${row}, ${op.colIdx[bad]!}) and (${op.colIdx[bad]!}, ${row}) differ`)
  }
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
