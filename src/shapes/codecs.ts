/**
 * io-ts codecs that turn `unknown` input (parsed JSON) into shaped values, and a reporter
 * that turns io-ts `Errors` into one `{ message, path }` pointing at the bad value in the
 * CONTRACT's notation: `P[3][1]`, `options.maxIterations`, `P.csr.rowPtr`, `tangent.q`.
 *
 * Decoding a problem runs in two steps:
 * 1. {@link problemCodec} checks everything (types, finiteness, lengths against the `n`
 *    that `P` fixes, ranges, unknown keys, squareness, symmetry, CSR structure) and yields
 *    a {@link RawProblem} of typed arrays;
 * 2. {@link decodeProblem} gives those arrays one fresh `Dim` with `withDim` and returns
 *    the shaped problem as an existential ({@link SomeProblem}).
 *
 * Rules beyond the CONTRACT's list (documented choices):
 * - `n ≥ 1`: an empty problem is refused.
 * - Symmetry of P (dense and CSR) is checked with a tolerance relative to the matrix's
 *   magnitude: |Pᵢⱼ − Pⱼᵢ| ≤ 1e-10 · maxₖₗ |Pₖₗ|. The path names the first offending
 *   entry below the diagonal in row-major order (`P[3][1]`), or for CSR the stored value
 *   of the first offending pair (`P.csr.values[k]`).
 * - Positive semi-definiteness is not checked (it would cost a factorization).
 * - `tangent.P` is a dense n×n matrix and is accepted only when P is dense, mirroring the
 *   result's `vjp.P`, which is present only when P is dense. With a low-rank or CSR P it
 *   is refused at path `tangent.P`.
 * - Unknown keys are refused at every level (`foo`, `options.foo`, `tangent.foo`,
 *   `P.foo`, `P.csr.foo`).
 *
 * @since 0.1.0
 * @module
 */
import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { type Dim, withDim, unsafeDim } from './Dim.js'
import { type Vec, unsafeVec, fill } from './Vec.js'
import { unsafeMat } from './Mat.js'
import type { ShapeError } from './ShapeError.js'
import { type LinearOperator, dense, lowRank, csr } from '../core/LinearOperator.js'
import type { ParamsTangent, SetKind } from '../fw/Problem.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A decoding failure: what is wrong and where. `path` is `''` for the input as a whole.
 *
 * @example
 * const e: DecodeError = { message: 'expected 3 entries, got 2', path: 'q' }
 */
export interface DecodeError {
  readonly message: string
  readonly path: string
}

/**
 * A row-major matrix read from nested arrays.
 *
 * @example
 * matrixCodec(2, 2).decode([[1, 0], [0, 1]]) // right({ rows: 2, cols: 2, data })
 */
export interface RawMatrix {
  readonly rows: number
  readonly cols: number
  readonly data: Float64Array
}

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

/**
 * The layer's options as read; structurally the `LayerOptions` of `src/fw/Layer.ts`.
 *
 * @example
 * optionsCodec.decode({ maxIterations: 10, tolerance: 0 }) // right({ maxIterations: 10, tolerance: 0 })
 */
export interface DecodedOptions {
  readonly schedule?: 'paper' | 'default'
  readonly backward?: 'unrolled' | 'implicit'
  readonly maxIterations?: number
  readonly tolerance?: number
  readonly lipschitz?: number
  readonly beta0?: number
}

/**
 * A tangent as read (`P` row-major n×n).
 *
 * @example
 * tangentCodec(2, 'dense').decode({ t: 1 }) // right({ t: 1 })
 */
export interface RawTangent {
  readonly q?: Float64Array
  readonly w?: Float64Array
  readonly t?: number
  readonly P?: Float64Array
}

/**
 * A fully checked problem whose arrays have not yet been given a `Dim`.
 *
 * @example
 * problemCodec.decode({ P: [[1]], q: [0], t: 1 }) // right(RawProblem)
 */
export interface RawProblem {
  readonly P: RawOperator
  readonly q: Float64Array
  readonly t: number
  readonly w?: Float64Array
  readonly set?: SetKind
  readonly options?: DecodedOptions
  readonly cotangent?: Float64Array
  readonly tangent?: RawTangent
}

/**
 * A decoded problem: every shaped value shares the one dimension `n`; `w` and `set` have
 * their defaults (all ones, `"l1"`).
 *
 * @example
 * decodeProblem(json) // right(k => k(p)) with p: DecodedProblem<N>
 */
export interface DecodedProblem<N> {
  readonly n: Dim<N>
  readonly P: LinearOperator<N>
  readonly q: Vec<N>
  readonly t: number
  readonly w: Vec<N>
  readonly set: SetKind
  readonly options: DecodedOptions
  readonly cotangent?: Vec<N>
  readonly tangent?: ParamsTangent<N>
}

/**
 * A decoded problem of some dimension: hand it a continuation that works for every `N`.
 *
 * @example
 * pipe(decodeProblem(json), E.map((use) => use((p) => p.n as number))) // right(n)
 */
export type SomeProblem = <R>(k: <N>(p: DecodedProblem<N>) => R) => R

// -------------------------------------------------------------------------------------
// internal helpers
// -------------------------------------------------------------------------------------

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u)

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)

const own = (o: Record<string, unknown>, k: string): unknown => (hasOwn(o, k) ? o[k] : undefined)

const isFiniteNumber = (u: unknown): u is number => typeof u === 'number' && Number.isFinite(u)

const at = (c: t.Context, key: string | number, type: t.Decoder<any, any>, actual: unknown): t.Context =>
  t.appendContext(c, String(key), type, actual)

/** Splits a relative path such as `rowPtr[3]` or `a.b[1][2]` into keys. */
const splitPath = (path: string): string[] => {
  const keys: string[] = []
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) keys.push(m[1] ?? m[2]!)
  return keys
}

/** Extends a context by a relative path under `root`, walking `root` for the actual values. */
const atPath = (c: t.Context, root: unknown, path: string): t.Context => {
  let ctx = c
  let cur: unknown = root
  for (const k of splitPath(path)) {
    cur = typeof cur === 'object' && cur !== null && hasOwn(cur, k) ? (cur as Record<string, unknown>)[k] : undefined
    ctx = at(ctx, k, t.unknown, cur)
  }
  return ctx
}

const list = (keys: readonly string[]): string => keys.join(', ')

const FRIENDLY: Record<string, string> = {
  Positive: 'a positive number',
  NonNegative: 'a number ≥ 0',
  PositiveInt: 'an integer ≥ 1',
  unknown: 'a value',
  UnknownArray: 'an array',
  Array: 'an array'
}

/** The phrase for an expected type, from a codec's name. */
const describeExpected = (name: string): string => FRIENDLY[name] ?? name

// -------------------------------------------------------------------------------------
// primitives
// -------------------------------------------------------------------------------------

/**
 * A finite number: refuses NaN, ±Infinity, strings, null, booleans.
 *
 * @example
 * Finite.decode(1.5)  // right(1.5)
 * Finite.decode('3')  // left: expected a finite number, got "3"
 */
export const Finite = new t.Type<number, number, unknown>(
  'a finite number',
  isFiniteNumber,
  (u, c) => (isFiniteNumber(u) ? t.success(u) : t.failure(u, c)),
  (a) => a
)

/**
 * The brand of {@link Positive}.
 *
 * @example
 * const t: t.Branded<number, PositiveBrand> = 1 as Positive
 */
export interface PositiveBrand { readonly Positive: unique symbol }
/**
 * A finite number > 0 (radii, weights, step constants).
 *
 * @example
 * Positive.decode(2) // right(2)
 * Positive.decode(0) // left: expected a positive number, got 0
 */
export const Positive = t.brand(Finite, (x): x is t.Branded<number, PositiveBrand> => x > 0, 'Positive')
/**
 * A positive number.
 *
 * @example
 * const r: Positive = 2 as Positive
 */
export type Positive = t.TypeOf<typeof Positive>

/**
 * The brand of {@link NonNegative}.
 *
 * @example
 * const t: t.Branded<number, NonNegativeBrand> = 0 as NonNegative
 */
export interface NonNegativeBrand { readonly NonNegative: unique symbol }
/**
 * A finite number ≥ 0 (tolerances).
 *
 * @example
 * NonNegative.decode(0) // right(0)
 */
export const NonNegative = t.brand(Finite, (x): x is t.Branded<number, NonNegativeBrand> => x >= 0, 'NonNegative')
/**
 * A non-negative number.
 *
 * @example
 * const tol: NonNegative = 0 as NonNegative
 */
export type NonNegative = t.TypeOf<typeof NonNegative>

/**
 * The brand of {@link PositiveInt}.
 *
 * @example
 * const k: t.Branded<number, PositiveIntBrand> = 3 as PositiveInt
 */
export interface PositiveIntBrand { readonly PositiveInt: unique symbol }
/**
 * A safe integer ≥ 1 (iteration counts, sizes).
 *
 * @example
 * PositiveInt.decode(10)  // right(10)
 * PositiveInt.decode(2.5) // left: expected an integer ≥ 1, got 2.5
 */
export const PositiveInt = t.brand(Finite, (x): x is t.Branded<number, PositiveIntBrand> => Number.isSafeInteger(x) && x >= 1, 'PositiveInt')
/**
 * A positive integer.
 *
 * @example
 * const k: PositiveInt = 3 as PositiveInt
 */
export type PositiveInt = t.TypeOf<typeof PositiveInt>

/**
 * A string among fixed literals, named for messages (`one of "a", "b"`).
 *
 * @example
 * oneOf(['paper', 'default']).decode('paper') // right('paper')
 */
export const oneOf = <K extends string>(keys: readonly K[]): t.Type<K, K, unknown> => {
  const set = new Set<string>(keys)
  const is = (u: unknown): u is K => typeof u === 'string' && set.has(u)
  return new t.Type<K, K, unknown>(
    `one of ${keys.map((k) => JSON.stringify(k)).join(', ')}`,
    is,
    (u, c) => (is(u) ? t.success(u) : t.failure(u, c)),
    (a) => a
  )
}

/**
 * The feasible sets of the CONTRACT.
 *
 * @example
 * SetCodec.decode('simplex') // right('simplex')
 */
export const SetCodec: t.Type<SetKind, SetKind, unknown> = oneOf<SetKind>(['l1', 'linf', 'l2', 'simplex'])

// -------------------------------------------------------------------------------------
// arrays
// -------------------------------------------------------------------------------------

/**
 * A codec of one number, refined or not ({@link Finite}, {@link Positive}, …).
 *
 * @example
 * const e: NumberDecoder = Positive
 */
export type NumberDecoder = t.Decoder<unknown, number> & { readonly is: t.Is<number> }

/**
 * An array of numbers each accepted by `element`, read into a `Float64Array`; with `length`
 * the array must have exactly that many entries. Fast on long inputs: contexts are built
 * only on failure.
 *
 * @example
 * numberArray(Finite, 3).decode([1, 2])     // left: expected 3 entries, got 2
 * numberArray(Positive).decode([1, -1])     // left at [1]: expected a positive number, got -1
 */
export const numberArray = (
  element: NumberDecoder,
  length?: number
): t.Type<Float64Array, number[], unknown> => {
  const what = element === Finite ? 'finite numbers' : `numbers (${describeExpected(element.name)})`
  const name = length === undefined ? `an array of ${what}` : `an array of ${length} ${what}`
  const ok = (x: unknown): boolean => isFiniteNumber(x) && (element === Finite || element.is(x))
  return new t.Type<Float64Array, number[], unknown>(
    name,
    (u): u is Float64Array => u instanceof Float64Array && (length === undefined || u.length === length),
    (u, c) => {
      if (!Array.isArray(u)) return t.failure(u, c)
      if (length !== undefined && u.length !== length) return t.failure(u, c, `expected ${length} entries, got ${u.length}`)
      const out = new Float64Array(u.length)
      for (let i = 0; i < u.length; i++) {
        const x: unknown = u[i]
        if (!ok(x)) return t.failure(x, at(c, i, element, x))
        out[i] = x as number
      }
      return t.success(out)
    },
    (a) => Array.from(a)
  )
}

/**
 * Finite numbers of any length.
 *
 * @example
 * FiniteArray.decode([1, 1e999]) // left at [1]: expected a finite number, got Infinity
 */
export const FiniteArray = numberArray(Finite)

/**
 * A vector of exactly `n` finite numbers (`element` may refine them, e.g. {@link Positive}).
 *
 * @example
 * vectorCodec(10).decode(new Array(9).fill(0)) // left: expected 10 entries, got 9
 */
export const vectorCodec = (n: number, element: NumberDecoder = Finite): t.Type<Float64Array, number[], unknown> =>
  numberArray(element, n)

const validateRows = (u: unknown, c: t.Context, rows: number | undefined, cols: number | undefined): t.Validation<RawMatrix> => {
  if (!Array.isArray(u)) return t.failure(u, c)
  if (rows !== undefined && u.length !== rows) return t.failure(u, c, `expected ${rows} rows, got ${u.length}`)
  const m = u.length
  let width = cols
  let data = new Float64Array(0)
  for (let i = 0; i < m; i++) {
    const row: unknown = u[i]
    if (!Array.isArray(row)) return t.failure(row, at(c, i, FiniteArray, row))
    if (width === undefined) width = row.length
    if (row.length !== width) {
      return t.failure(row, at(c, i, FiniteArray, row), `expected ${width} entries${cols === undefined ? ' (as in row 0)' : ''}, got ${row.length}`)
    }
    if (i === 0) data = new Float64Array(m * width)
    const base = i * width
    for (let j = 0; j < width; j++) {
      const x: unknown = row[j]
      if (!isFiniteNumber(x)) return t.failure(x, at(at(c, i, FiniteArray, row), j, Finite, x))
      data[base + j] = x
    }
  }
  return t.success({ rows: m, cols: width ?? 0, data })
}

const encodeRows = (a: RawMatrix): number[][] => {
  const out: number[][] = []
  for (let i = 0; i < a.rows; i++) out.push(Array.from(a.data.subarray(i * a.cols, (i + 1) * a.cols)))
  return out
}

/**
 * A matrix given as nested rows (`number[][]`), row-major in the result. `rows` and `cols`
 * fix the sizes when given; otherwise row 0 fixes the width and every row must match it.
 *
 * @example
 * matrixCodec(2, 2).decode([[1, 2], [3]]) // left at [1]: expected 2 entries, got 1
 */
export const matrixCodec = (rows?: number, cols?: number): t.Type<RawMatrix, number[][], unknown> =>
  new t.Type<RawMatrix, number[][], unknown>(
    rows !== undefined && cols !== undefined ? `a ${rows}×${cols} matrix (an array of rows of finite numbers)` : 'a matrix (an array of rows of finite numbers)',
    (u): u is RawMatrix => typeof u === 'object' && u !== null && (u as RawMatrix).data instanceof Float64Array,
    (u, c) => validateRows(u, c, rows, cols),
    encodeRows
  )

// -------------------------------------------------------------------------------------
// objects
// -------------------------------------------------------------------------------------

type Req<R extends t.Props> = { readonly [K in keyof R]: t.TypeOf<R[K]> }
type Opt<O extends t.Props> = { readonly [K in keyof O]?: t.TypeOf<O[K]> }
type ReqO<R extends t.Props> = { [K in keyof R]: t.OutputOf<R[K]> }
type OptO<O extends t.Props> = { [K in keyof O]?: t.OutputOf<O[K]> }

/**
 * An object with `required` and `optional` fields and nothing else: an unknown key is
 * refused at its own path (`options.foo`), a missing required field at its path. `noun`
 * names the keys in messages (`unknown option "foo"`). Fields are checked in the order
 * the codec lists them, after the unknown-key check.
 *
 * @example
 * strictStruct('a point', { x: Finite }, { y: Finite }).decode({ x: 1, z: 2 }) // left at z
 */
export const strictStruct = <R extends t.Props, O extends t.Props>(
  name: string,
  required: R,
  optional: O,
  noun = 'field'
): t.Type<Req<R> & Opt<O>, ReqO<R> & OptO<O>, unknown> => {
  const allowed = [...Object.keys(required), ...Object.keys(optional)]
  const is = (u: unknown): u is Req<R> & Opt<O> =>
    isRecord(u) &&
    Object.keys(u).every((k) => allowed.includes(k)) &&
    Object.keys(required).every((k) => required[k]!.is(u[k])) &&
    Object.keys(optional).every((k) => !hasOwn(u, k) || optional[k]!.is(u[k]))
  return new t.Type<Req<R> & Opt<O>, ReqO<R> & OptO<O>, unknown>(
    name,
    is,
    (u, c) => {
      if (!isRecord(u)) return t.failure(u, c)
      for (const k of Object.keys(u)) {
        if (!allowed.includes(k)) {
          return t.failure(u[k], at(c, k, t.unknown, u[k]), `unknown ${noun} ${JSON.stringify(k)}; expected one of ${list(allowed)}`)
        }
      }
      const out: Record<string, unknown> = {}
      for (const k of Object.keys(required)) {
        const codec = required[k]!
        const v = own(u, k)
        const r = codec.validate(v, at(c, k, codec, v))
        if (E.isLeft(r)) return r
        out[k] = r.right
      }
      for (const k of Object.keys(optional)) {
        if (!hasOwn(u, k)) continue
        const codec = optional[k]!
        const r = codec.validate(u[k], at(c, k, codec, u[k]))
        if (E.isLeft(r)) return r
        out[k] = r.right
      }
      return t.success(out as Req<R> & Opt<O>)
    },
    (a) => {
      const out: Record<string, unknown> = {}
      const src = a as Record<string, unknown>
      for (const k of Object.keys(required)) out[k] = required[k]!.encode(src[k])
      for (const k of Object.keys(optional)) if (hasOwn(src, k) && src[k] !== undefined) out[k] = optional[k]!.encode(src[k])
      return out as ReqO<R> & OptO<O>
    }
  )
}

/**
 * The `options` object: schedule, backward, maxIterations (integer ≥ 1), tolerance (≥ 0),
 * lipschitz (> 0), beta0 (> 0); any other key is refused.
 *
 * @example
 * optionsCodec.decode({ foo: 1 })           // left at foo: unknown option "foo"; …
 * optionsCodec.decode({ maxIterations: 0 }) // left at maxIterations
 */
export const optionsCodec = strictStruct(
  'an object of options',
  {},
  {
    schedule: oneOf(['paper', 'default'] as const),
    backward: oneOf(['unrolled', 'implicit'] as const),
    maxIterations: PositiveInt,
    tolerance: NonNegative,
    lipschitz: Positive,
    beta0: Positive
  },
  'option'
)

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

const encodeOperator = (a: RawOperator): unknown => {
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
// the problem
// -------------------------------------------------------------------------------------

/**
 * The `tangent` object for a problem of size `n` whose P has storage `kind`: q and w of
 * length n, t finite, P an n×n matrix and only when P is dense.
 *
 * @example
 * tangentCodec(3, 'dense').decode({ q: [1, 2] }) // left at q: expected 3 entries, got 2
 * tangentCodec(3, 'csr').decode({ P: [[0]] })    // left at P: only when P is dense
 */
export const tangentCodec = (n: number, kind: RawOperator['kind']): t.Type<RawTangent, Record<string, unknown>, unknown> => {
  const P = new t.Type<Float64Array, number[][], unknown>(
    `a ${n}×${n} matrix`,
    (u): u is Float64Array => u instanceof Float64Array,
    (u, c) =>
      kind !== 'dense'
        ? t.failure(u, c, `tangent.P is accepted only when P is dense (P is given as ${kind === 'csr' ? 'CSR' : 'diag + U Uᵀ'})`)
        : E.map((m: RawMatrix) => m.data)(validateRows(u, c, n, n)),
    (a) => encodeRows({ rows: n, cols: n, data: a })
  )
  return strictStruct('a tangent { q?, w?, t?, P? }', {}, { q: vectorCodec(n), w: vectorCodec(n), t: Finite, P })
}

const PROBLEM_KEYS = ['P', 'q', 't', 'w', 'set', 'options', 'cotangent', 'tangent'] as const

const validateProblem = (u: unknown, c: t.Context): t.Validation<RawProblem> => {
  if (!isRecord(u)) return t.failure(u, c)
  for (const k of Object.keys(u)) {
    if (!(PROBLEM_KEYS as readonly string[]).includes(k)) {
      return t.failure(u[k], at(c, k, t.unknown, u[k]), `unknown field ${JSON.stringify(k)}; expected one of ${list(PROBLEM_KEYS)}`)
    }
  }
  const field = <A>(k: string, codec: t.Decoder<unknown, A>): t.Validation<A> => {
    const v = own(u, k)
    return codec.validate(v, at(c, k, codec, v))
  }
  const P = field('P', operatorCodec)
  if (E.isLeft(P)) return P
  const n = P.right.n
  const q = field('q', vectorCodec(n))
  if (E.isLeft(q)) return q
  const tt = field('t', Positive)
  if (E.isLeft(tt)) return tt
  const out: { -readonly [K in keyof RawProblem]: RawProblem[K] } = { P: P.right, q: q.right, t: tt.right }
  if (hasOwn(u, 'w')) {
    const w = field('w', vectorCodec(n, Positive))
    if (E.isLeft(w)) return w
    out.w = w.right
  }
  if (hasOwn(u, 'set')) {
    const s = field('set', SetCodec)
    if (E.isLeft(s)) return s
    out.set = s.right
  }
  if (hasOwn(u, 'options')) {
    const o = field('options', optionsCodec)
    if (E.isLeft(o)) return o
    out.options = o.right
  }
  if (hasOwn(u, 'cotangent')) {
    const ct = field('cotangent', vectorCodec(n))
    if (E.isLeft(ct)) return ct
    out.cotangent = ct.right
  }
  if (hasOwn(u, 'tangent')) {
    const tg = field('tangent', tangentCodec(n, P.right.kind))
    if (E.isLeft(tg)) return tg
    out.tangent = tg.right
  }
  return t.success(out)
}

const encodeProblem = (a: RawProblem): Record<string, unknown> => {
  const out: Record<string, unknown> = { P: encodeOperator(a.P), q: Array.from(a.q), t: a.t }
  if (a.w !== undefined) out['w'] = Array.from(a.w)
  if (a.set !== undefined) out['set'] = a.set
  if (a.options !== undefined) out['options'] = { ...a.options }
  if (a.cotangent !== undefined) out['cotangent'] = Array.from(a.cotangent)
  if (a.tangent !== undefined) {
    const n = a.P.n, tg = a.tangent, o: Record<string, unknown> = {}
    if (tg.q !== undefined) o['q'] = Array.from(tg.q)
    if (tg.w !== undefined) o['w'] = Array.from(tg.w)
    if (tg.t !== undefined) o['t'] = tg.t
    if (tg.P !== undefined) o['P'] = encodeRows({ rows: n, cols: n, data: tg.P })
    out['tangent'] = o
  }
  return out
}

/**
 * One problem of `dfw solve`, checked in full (see the module notes); P is read first, as
 * it fixes `n` for every other length. Encoding writes the CONTRACT's JSON form back.
 *
 * @example
 * problemCodec.decode({ P: [[2]], q: [1], t: 0 }) // left at t: expected a positive number, got 0
 */
export const problemCodec = new t.Type<RawProblem, Record<string, unknown>, unknown>(
  'a problem { P, q, t, w?, set?, options?, cotangent?, tangent? }',
  (u): u is RawProblem => isRecord(u) && operatorCodec.is(u['P']) && u['q'] instanceof Float64Array && typeof u['t'] === 'number',
  validateProblem,
  encodeProblem
)

/**
 * A batch `{ "problems": [...] }`; its entries are left undecoded, so that each can fail
 * on its own.
 *
 * @example
 * batchCodec.decode({ problems: [{}, {}] }) // right({ problems: [{}, {}] })
 */
export const batchCodec = strictStruct('a batch { problems }', { problems: t.UnknownArray }, {})

// -------------------------------------------------------------------------------------
// reporter
// -------------------------------------------------------------------------------------

/**
 * A short description of a value for messages: strings quoted, numbers as JSON would not
 * write them (`Infinity`), containers by kind.
 *
 * @example
 * describeValue('3') // "\"3\""
 * describeValue([1]) // 'an array of 1 entries'
 */
export const describeValue = (u: unknown): string => {
  if (u === null) return 'null'
  if (u === undefined) return 'nothing'
  if (typeof u === 'string') { const s = JSON.stringify(u); return s.length > 40 ? `${s.slice(0, 37)}..."` : s }
  if (typeof u === 'number' || typeof u === 'boolean') return String(u)
  if (Array.isArray(u)) return `an array of ${u.length} entries`
  if (typeof u === 'object') return 'an object'
  return typeof u
}

/**
 * Renders an io-ts context as a path: object keys joined with `.`, array indices in
 * brackets (`problems[2].q[0]`). The root entry and the entries io-ts adds for union or
 * intersection members (same value as their parent) are skipped.
 *
 * @example
 * pathOf(context) // 'P[3][1]'
 */
export const pathOf = (c: t.Context): string => {
  let path = ''
  for (let i = 1; i < c.length; i++) {
    const e = c[i]!, parent = c[i - 1]!
    if (Object.is(e.actual, parent.actual) && typeof e.actual === 'object' && e.actual !== null) continue
    path = Array.isArray(parent.actual) && /^\d+$/.test(e.key) ? `${path}[${e.key}]` : path === '' ? e.key : `${path}.${e.key}`
  }
  return path
}

/**
 * Prefixes a relative path: `prefixPath('problems[2]', 'q[0]')` is `problems[2].q[0]`.
 *
 * @example
 * prefixPath('', 'P[3][1]') // 'P[3][1]'
 */
export const prefixPath = (prefix: string, path: string): string =>
  prefix === '' ? path : path === '' ? prefix : path.startsWith('[') ? prefix + path : `${prefix}.${path}`

/**
 * The FIRST io-ts error as `{ message, path }`: the codec's own message when it has one,
 * else `expected <type>, got <value>`, or `missing required field (expected <type>)`.
 *
 * @example
 * report(Finite.decode('3').left) // { message: 'expected a finite number, got "3"', path: '' }
 */
export const report = (errors: t.Errors): DecodeError => {
  const e = errors[0]
  if (e === undefined) return { message: 'invalid input', path: '' }
  const path = pathOf(e.context)
  if (e.message !== undefined) return { message: e.message, path }
  const last = e.context[e.context.length - 1]
  const expected = describeExpected(last === undefined ? 'a value' : last.type.name)
  return e.value === undefined
    ? { message: `missing required field (expected ${expected})`, path }
    : { message: `expected ${expected}, got ${describeValue(e.value)}`, path }
}

/**
 * Runs a codec and reports its first error, with paths under `prefix`.
 *
 * @example
 * decodeWith(Positive)(0) // left({ message: 'expected a positive number, got 0', path: '' })
 */
export const decodeWith = <A>(codec: t.Decoder<unknown, A>, prefix = '') => (u: unknown): E.Either<DecodeError, A> =>
  pipe(codec.decode(u), E.mapLeft((es) => { const r = report(es); return { message: r.message, path: prefixPath(prefix, r.path) } }))

// -------------------------------------------------------------------------------------
// shaped values
// -------------------------------------------------------------------------------------

const shapeOperator = <N>(d: Dim<N>, P: RawOperator): LinearOperator<N> => {
  switch (P.kind) {
    case 'dense':
      return dense(unsafeMat(d, d, P.data))
    case 'lowRank':
      return lowRank(unsafeVec(d, P.diag), P.rank, P.U)
    case 'csr':
      return { kind: 'csr', dim: d, rowPtr: P.rowPtr, colIdx: P.colIdx, values: P.values }
  }
}

/**
 * Gives a checked problem one fresh dimension and returns it as an existential.
 *
 * @example
 * shapeProblem(raw)((p) => p.q.dim === p.n) // true
 */
export const shapeProblem = (raw: RawProblem): SomeProblem =>
  withDim(raw.P.n, <N>(d: Dim<N>): SomeProblem => {
    const tangent = (tg: RawTangent): ParamsTangent<N> => ({
      ...(tg.q === undefined ? {} : { q: unsafeVec(d, tg.q) }),
      ...(tg.w === undefined ? {} : { w: unsafeVec(d, tg.w) }),
      ...(tg.t === undefined ? {} : { t: tg.t }),
      ...(tg.P === undefined ? {} : { P: unsafeMat(d, d, tg.P) })
    })
    const p: DecodedProblem<N> = {
      n: d,
      P: shapeOperator(d, raw.P),
      q: unsafeVec(d, raw.q),
      t: raw.t,
      w: raw.w === undefined ? fill(d, 1) : unsafeVec(d, raw.w),
      set: raw.set ?? 'l1',
      options: raw.options ?? {},
      ...(raw.cotangent === undefined ? {} : { cotangent: unsafeVec(d, raw.cotangent) }),
      ...(raw.tangent === undefined ? {} : { tangent: tangent(raw.tangent) })
    }
    return (k) => k(p)
  })

/**
 * Decodes one problem of `dfw solve` from parsed JSON into shaped values that share one
 * fresh `Dim`. On failure, the first error with its path (under `prefix`, e.g.
 * `problems[2]`).
 *
 * @example
 * decodeProblem({ P: [[2, 0], [1, 2]], q: [0, 0], t: 1 })
 * // left({ message: 'expected a symmetric matrix: entry [1][0] is 1 but [0][1] is 0', path: 'P[1][0]' })
 * pipe(decodeProblem({ P: { diag: [1, 1] }, q: [1, 2], t: 1 }), E.map((use) => use((p) => p.set))) // right('l1')
 */
export const decodeProblem = (u: unknown, prefix = ''): E.Either<DecodeError, SomeProblem> =>
  pipe(decodeWith(problemCodec, prefix)(u), E.map(shapeProblem))

