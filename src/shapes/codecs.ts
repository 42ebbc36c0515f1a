/**
 * io-ts codecs that turn `unknown` input (parsed JSON) into shaped values, and a reporter
 * that turns io-ts `Errors` into one `{ message, path }` pointing at the bad value in the
 * CONTRACT's notation: `P[3][1]`, `options.maxIterations`, `P.csr.rowPtr`, `tangent.q`.
 *
 * This module holds what knows only shapes: numbers and their refinements, arrays,
 * vectors, matrices, strict objects, and the reporter. The codec of the operator P lives
 * with the operators (src/core/OperatorCodec.ts) and the codec of a whole problem with the
 * layer that knows problems (src/fw/ProblemCodec.ts).
 *
 * @since 0.1.0
 * @module
 */
import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { isRecord, hasOwn, own, isFiniteNumber, at, list, describeExpected, joinKey, quoteKey } from './internal.js'

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

/**
 * Reads nested rows into a row-major matrix (the validation of {@link matrixCodec}, for
 * codecs that build on it): `rows`/`cols` fix the sizes when given.
 *
 * @example
 * validateRows([[1, 2]], [], 1, 2) // success({ rows: 1, cols: 2, data })
 */
export const validateRows = (u: unknown, c: t.Context, rows: number | undefined, cols: number | undefined): t.Validation<RawMatrix> => {
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

/**
 * A row-major matrix as nested rows (the encoding of {@link matrixCodec}).
 *
 * @example
 * encodeRows({ rows: 1, cols: 2, data: Float64Array.of(1, 2) }) // [[1, 2]]
 */
export const encodeRows = (a: RawMatrix): number[][] => {
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
          return t.failure(u[k], at(c, k, t.unknown, u[k]), `unknown ${noun} ${quoteKey(k)}; expected one of ${list(allowed)}`)
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
 * brackets (`problems[2].q[0]`), and keys that are not identifiers quoted in brackets
 * (`options["a.b"]`, `["q[0]"]`, `[""]`; cut when very long), so that no key reads as a
 * path of its own. The root entry and the entries io-ts adds for union or intersection
 * members (same value as their parent) are skipped.
 *
 * @example
 * pathOf(context) // 'P[3][1]'
 */
export const pathOf = (c: t.Context): string => {
  let path = ''
  for (let i = 1; i < c.length; i++) {
    const e = c[i]!, parent = c[i - 1]!
    if (Object.is(e.actual, parent.actual) && typeof e.actual === 'object' && e.actual !== null) continue
    path = Array.isArray(parent.actual) && /^\d+$/.test(e.key) ? `${path}[${e.key}]` : joinKey(path, e.key)
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
