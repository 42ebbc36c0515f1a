/**
 * The io-ts codec of one problem of `dfw solve` and of a batch, and their decoding into
 * shaped values that share one fresh `Dim`. It knows problems, sets and options, so it
 * lives in the layer that defines them; it builds on the shape codecs
 * (src/shapes/codecs.ts) and the operator codec (src/core/OperatorCodec.ts).
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
 * - `tangent.P` is a dense n×n matrix and is accepted only when P is dense, mirroring the
 *   result's `vjp.P`, which is present only when P is dense. With a low-rank or CSR P it
 *   is refused at path `tangent.P`.
 * - Unknown keys are refused at every level (`foo`, `options.foo`, `tangent.foo`,
 *   `P.foo`, `P.csr.foo`, `set.foo`); a key that is not an identifier is quoted in the
 *   path (`["a.b"]`).
 * - The set (CONTRACT.md, "More sets") is read after q and before t, since it decides
 *   whether `t` is required (l1, linf, l2, simplex, ksparse, nuclear: missing → `t`) or
 *   refused (box, capped-simplex, birkhoff: given → `t`), whether `w` is allowed (l1
 *   only; else an error at `w`) and whether the paper schedule is (the four original
 *   sets; else an error at `options.schedule`). Its errors: `set` for an unknown string
 *   and for a set that does not fit n (birkhoff with n not a square, nuclear with
 *   rows·cols ≠ n: neither number alone is wrong), `set.kind`, `set.lower`,
 *   `set.lower[i]` (also for lowerᵢ ≥ upperᵢ), `set.upper[i]`, `set.k`, `set.rows`,
 *   `set.cols`.
 * - A symmetry failure is at the first offending entry below the diagonal (`P[2][1]`
 *   for issue 20's repro); in CSR, at the stored value of the offending pair, the one
 *   below the diagonal when both are stored (the repro stores only (1, 2):
 *   `P.csr.values[2]`).
 * - In a batch, an entry inherits each of `P`, `set`, `options` and `w` that it omits,
 *   whole (an entry's own `options` replace the batch's, they are not merged). An error in
 *   an inherited field keeps its batch-level path ({@link entryPath}).
 *
 * @since 0.1.0
 * @module
 */
import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { type Dim, withDim, unsafeDim } from '../shapes/Dim.js'
import { type Vec, unsafeVec, fill } from '../shapes/Vec.js'
import { unsafeMat } from '../shapes/Mat.js'
import {
  type DecodeError, type RawMatrix,
  Finite, Positive, NonNegative, PositiveInt, oneOf, vectorCodec, strictStruct, validateRows, encodeRows, decodeWith, report, prefixPath
} from '../shapes/codecs.js'
import { isRecord, hasOwn, own, at, list, quoteKey } from '../shapes/internal.js'
import type { LinearOperator } from '../core/LinearOperator.js'
import { type RawOperator, operatorCodec, encodeOperator, shapeOperator } from '../core/OperatorCodec.js'
import type { ParamsTangent, Problem, SetKind, SetName, SetSpec } from './Problem.js'
import { hasRadius, hasSmoothedOracle, setParameters } from './Validate.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

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
  readonly timeLimitMs?: number
  readonly tapeBudgetMB?: number
}

/**
 * A set as read: a string of the original table, or an object of the CONTRACT's "More
 * sets" (lower and upper already checked against n).
 *
 * @example
 * setCodec(3).decode({ kind: 'capped-simplex', k: 2 }) // right({ kind: 'capped-simplex', k: 2 })
 */
export type RawSet =
  | SetKind
  | { readonly kind: SetKind }
  | { readonly kind: 'box'; readonly lower: Float64Array; readonly upper: Float64Array }
  | { readonly kind: 'capped-simplex'; readonly k: number }
  | { readonly kind: 'ksparse'; readonly k: number }
  | { readonly kind: 'birkhoff' }
  | { readonly kind: 'nuclear'; readonly rows: number; readonly cols: number }

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
  readonly lower?: Float64Array
  readonly upper?: Float64Array
  readonly k?: number
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
  /** Present exactly on the sets with a radius. */
  readonly t?: number
  readonly w?: Float64Array
  readonly set?: RawSet
  readonly options?: DecodedOptions
  readonly cotangent?: Float64Array
  readonly tangent?: RawTangent
}

/**
 * A decoded problem: every shaped value shares the one dimension `n`; `set` is the
 * library's `SetSpec` (default `"l1"`), `kind` its name; `w` is present on the l1 ball
 * only (all ones by default) and `t` on the sets with a radius.
 *
 * @example
 * decodeProblem(json) // right(k => k(p)) with p: DecodedProblem<N>
 */
export interface DecodedProblem<N> {
  readonly n: Dim<N>
  readonly P: LinearOperator<N>
  readonly q: Vec<N>
  readonly t?: number
  readonly w?: Vec<N>
  readonly set: SetSpec<N>
  readonly kind: SetName
  readonly options: DecodedOptions
  readonly cotangent?: Vec<N>
  readonly tangent?: ParamsTangent<N>
  /** The library's problem { P, q, t?, w?, set }, as `dfwLayer` takes it. */
  readonly problem: Problem<N>
}

/**
 * A decoded problem of some dimension: hand it a continuation that works for every `N`.
 *
 * @example
 * pipe(decodeProblem(json), E.map((use) => use((p) => p.n as number))) // right(n)
 */
export type SomeProblem = <R>(k: <N>(p: DecodedProblem<N>) => R) => R

/**
 * A batch's shared P, decoded once: its checked form and the one operator object that
 * every entry inheriting it receives.
 *
 * @example
 * const shared = decodeShared({ problems, P: [[2, 0], [0, 1]] })
 * shared.P // right({ raw, op })
 */
export interface SharedOperator {
  readonly raw: RawOperator
  readonly op: LinearOperator<unknown>
}

/**
 * The batch-level fields (CONTRACT.md, "Batches") that entries omitting them inherit:
 * `P` decoded once (or its error, with the batch-level path), and `set`, `options`, `w`
 * as given (each entry checks them against its own n).
 *
 * @example
 * decodeProblem(entry, 'problems[0]', decodeShared(batch))
 */
export interface BatchShared {
  readonly P?: E.Either<DecodeError, SharedOperator>
  readonly fields: Readonly<Record<string, unknown>>
}

// -------------------------------------------------------------------------------------
// the sets and options
// -------------------------------------------------------------------------------------

/**
 * The four sets of the original table, in the string form.
 *
 * @example
 * SetCodec.decode('simplex') // right('simplex')
 */
export const SetCodec: t.Type<SetKind, SetKind, unknown> = oneOf<SetKind>(['l1', 'linf', 'l2', 'simplex'])

/**
 * The kinds of the object form of `set` that `dfw solve` knows (every kind of the table;
 * a polytope given by its oracle is a library set only).
 *
 * @example
 * SetKindCodec.decode('birkhoff') // right('birkhoff')
 */
export const SetKindCodec = oneOf<Exclude<SetName, 'polytope'>>(['l1', 'linf', 'l2', 'simplex', 'box', 'capped-simplex', 'ksparse', 'birkhoff', 'nuclear'])

/** The name of a set as read. */
const kindOf = (s: RawSet | undefined): Exclude<SetName, 'polytope'> => (s === undefined ? 'l1' : typeof s === 'string' ? s : s.kind)

const setStruct = <R extends t.Props>(kind: string, fields: R) =>
  strictStruct(`the set { kind: ${JSON.stringify(kind)}${Object.keys(fields).map((k) => `, ${k}`).join('')} }`, { kind: t.unknown, ...fields }, {}, 'key of the set')

/**
 * The `set` field for a problem of size `n`: a string of the original table, or an
 * object `{ kind, … }` (CONTRACT.md, "More sets") with its own keys only:
 * - box `{ lower, upper }`: n finite entries each, lowerᵢ < upperᵢ (else at `lower[i]`);
 * - capped-simplex `{ k }`: 0 < k < n; ksparse `{ k }`: an integer, 1 ≤ k ≤ n (at `k`);
 * - birkhoff: n a perfect square; nuclear `{ rows, cols }`: integers ≥ 1 with
 *   rows·cols = n (at the set itself: neither number alone is wrong).
 *
 * @example
 * setCodec(4).decode({ kind: 'box', lower: [0, 0, 0, 1], upper: [1, 1, 1, 1] }) // left at lower[3]
 * setCodec(5).decode({ kind: 'birkhoff' })                                     // left: n = 5 is not a perfect square
 */
export const setCodec = (n: number): t.Type<RawSet, unknown, unknown> =>
  new t.Type<RawSet, unknown, unknown>(
    'one of "l1", "linf", "l2", "simplex" or an object { kind, … }',
    (u): u is RawSet => typeof u === 'string' ? SetCodec.is(u) : isRecord(u) && SetKindCodec.is(u['kind']),
    (u, c) => {
      if (typeof u === 'string') return SetCodec.validate(u, c)
      if (!isRecord(u)) return t.failure(u, c)
      const kv = own(u, 'kind')
      const kr = SetKindCodec.validate(kv, at(c, 'kind', SetKindCodec, kv))
      if (E.isLeft(kr)) return kr
      const kind = kr.right
      switch (kind) {
        case 'l1': case 'linf': case 'l2': case 'simplex':
          return E.map(() => ({ kind }))(setStruct(kind, {}).validate(u, c))
        case 'box': {
          const r = setStruct(kind, { lower: vectorCodec(n), upper: vectorCodec(n) }).validate(u, c)
          if (E.isLeft(r)) return r
          const { lower, upper } = r.right
          for (let i = 0; i < n; i++) {
            if (!(lower[i]! < upper[i]!)) {
              const lv = (u['lower'] as unknown[])[i]
              return t.failure(lv, at(at(c, 'lower', t.unknown, u['lower']), i, Finite, lv), `expected lower[${i}] < upper[${i}], got lower ${lower[i]} ≥ upper ${upper[i]}`)
            }
          }
          return t.success({ kind, lower, upper })
        }
        case 'capped-simplex': case 'ksparse': {
          const r = setStruct(kind, { k: Finite }).validate(u, c)
          if (E.isLeft(r)) return r
          const k = r.right.k
          const ok = kind === 'capped-simplex' ? k > 0 && k < n : Number.isInteger(k) && k >= 1 && k <= n
          if (!ok) {
            return t.failure(k, at(c, 'k', Finite, k), kind === 'capped-simplex'
              ? `the capped simplex needs 0 < k < n = ${n}, got ${k}`
              : `the K-sparse polytope needs an integer k with 1 ≤ k ≤ n = ${n}, got ${k}`)
          }
          return t.success({ kind, k })
        }
        case 'birkhoff': {
          const r = setStruct(kind, {}).validate(u, c)
          if (E.isLeft(r)) return r
          const m = Math.round(Math.sqrt(n))
          if (m * m !== n) return t.failure(u, c, `the Birkhoff polytope needs n = m² entries (an m×m matrix, row-major); n = ${n} is not a perfect square`)
          return t.success({ kind })
        }
        case 'nuclear': {
          const r = setStruct(kind, { rows: PositiveInt, cols: PositiveInt }).validate(u, c)
          if (E.isLeft(r)) return r
          const { rows, cols } = r.right
          if (rows * cols !== n) return t.failure(u, c, `the nuclear-norm ball needs rows·cols = n; ${rows}·${cols} = ${rows * cols} but n = ${n}`)
          return t.success({ kind, rows, cols })
        }
      }
    },
    (a) => (typeof a === 'string' ? a : 'lower' in a ? { kind: a.kind, lower: Array.from(a.lower), upper: Array.from(a.upper) } : { ...a })
  )

/**
 * The `options` object: schedule, backward, maxIterations (integer ≥ 1), tolerance (≥ 0),
 * lipschitz, beta0, timeLimitMs and tapeBudgetMB (each > 0); any other key is refused.
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
    beta0: Positive,
    timeLimitMs: Positive,
    tapeBudgetMB: Positive
  },
  'option'
)

// -------------------------------------------------------------------------------------
// the problem
// -------------------------------------------------------------------------------------

/**
 * The `tangent` object for a problem of size `n` whose P has storage `kind`, on the set
 * `set` (default l1): q (length n), P (an n×n matrix, only when P is dense) and the
 * set's own parameters: w (length n) and t for the four original sets, lower and upper
 * (length n) for the box, k for the capped simplex, t for ksparse and nuclear, nothing
 * more for birkhoff. Every number finite; any other key is refused.
 *
 * @example
 * tangentCodec(3, 'dense').decode({ q: [1, 2] })                    // left at q: expected 3 entries, got 2
 * tangentCodec(3, 'csr').decode({ P: [[0]] })                       // left at P: only when P is dense
 * tangentCodec(3, 'dense', 'box').decode({ t: 1 })                  // left at t: unknown field "t"
 */
export const tangentCodec = (n: number, kind: RawOperator['kind'], set: SetName = 'l1'): t.Type<RawTangent, Record<string, unknown>, unknown> => {
  const P = new t.Type<Float64Array, number[][], unknown>(
    `a ${n}×${n} matrix`,
    (u): u is Float64Array => u instanceof Float64Array,
    (u, c) =>
      kind !== 'dense'
        ? t.failure(u, c, `tangent.P is accepted only when P is dense (P is given as ${kind === 'csr' ? 'CSR' : 'diag + U Uᵀ'})`)
        : E.map((m: RawMatrix) => m.data)(validateRows(u, c, n, n)),
    (a) => encodeRows({ rows: n, cols: n, data: a })
  )
  const all = { q: vectorCodec(n), w: vectorCodec(n), t: Finite, P, lower: vectorCodec(n), upper: vectorCodec(n), k: Finite }
  const keys = ['q', ...setParameters(set), 'P'] as const
  const fields: Record<string, t.Mixed> = {}
  for (const k of keys) fields[k] = all[k]
  return strictStruct(`a tangent { ${keys.map((k) => `${k}?`).join(', ')} }`, {}, fields) as unknown as t.Type<RawTangent, Record<string, unknown>, unknown>
}

const PROBLEM_KEYS = ['P', 'q', 't', 'w', 'set', 'options', 'cotangent', 'tangent'] as const

/** The problem's fields that an entry of a batch may inherit from the batch. */
const SHARED_KEYS = ['P', 'set', 'options', 'w'] as const

/**
 * Checks one problem; `shared` supplies the batch-level fields the problem omits (their
 * paths stay relative to the problem: {@link decodeProblem} places them).
 */
const validateRaw = (u: unknown, c: t.Context, shared?: { readonly P?: RawOperator; readonly fields: Readonly<Record<string, unknown>> }): t.Validation<RawProblem> => {
  if (!isRecord(u)) return t.failure(u, c)
  for (const k of Object.keys(u)) {
    if (!(PROBLEM_KEYS as readonly string[]).includes(k)) {
      return t.failure(u[k], at(c, k, t.unknown, u[k]), `unknown field ${quoteKey(k)}; expected one of ${list(PROBLEM_KEYS)}`)
    }
  }
  const has = (k: string): boolean => hasOwn(u, k) || (shared !== undefined && hasOwn(shared.fields, k))
  const value = (k: string): unknown => (hasOwn(u, k) ? u[k] : shared !== undefined && hasOwn(shared.fields, k) ? shared.fields[k] : undefined)
  const field = <A>(k: string, codec: t.Decoder<unknown, A>): t.Validation<A> => {
    const v = value(k)
    return codec.validate(v, at(c, k, codec, v))
  }
  const P = !hasOwn(u, 'P') && shared?.P !== undefined ? E.right(shared.P) : field('P', operatorCodec)
  if (E.isLeft(P)) return P
  const n = P.right.n
  const q = field('q', vectorCodec(n))
  if (E.isLeft(q)) return q
  const out: { -readonly [K in keyof RawProblem]: RawProblem[K] } = { P: P.right, q: q.right }
  if (has('set')) {
    const s = field('set', setCodec(n))
    if (E.isLeft(s)) return s
    out.set = s.right
  }
  const kind = kindOf(out.set)
  if (hasRadius(kind)) {
    const tt = field('t', Positive)
    if (E.isLeft(tt)) return tt
    out.t = tt.right
  } else if (has('t')) {
    return t.failure(value('t'), at(c, 't', t.unknown, value('t')), `the set ${quoteKey(kind)} has no radius: t must be absent`)
  }
  if (has('w')) {
    if (kind !== 'l1') return t.failure(value('w'), at(c, 'w', t.unknown, value('w')), `w belongs to the l1 ball only; the set is ${quoteKey(kind)}`)
    const w = field('w', vectorCodec(n, Positive))
    if (E.isLeft(w)) return w
    out.w = w.right
  }
  if (has('options')) {
    const o = field('options', optionsCodec)
    if (E.isLeft(o)) return o
    if (o.right.schedule === 'paper' && !hasSmoothedOracle(kind)) {
      const ov = value('options') as Record<string, unknown>
      return t.failure('paper', at(at(c, 'options', optionsCodec, ov), 'schedule', t.unknown, 'paper'),
        `the paper schedule's smoothed oracle exists for l1, linf, l2 and simplex only, not for the set ${quoteKey(kind)}; use the default schedule`)
    }
    out.options = o.right
  }
  if (hasOwn(u, 'cotangent')) {
    const ct = field('cotangent', vectorCodec(n))
    if (E.isLeft(ct)) return ct
    out.cotangent = ct.right
  }
  if (hasOwn(u, 'tangent')) {
    const tg = field('tangent', tangentCodec(n, P.right.kind, kind))
    if (E.isLeft(tg)) return tg
    out.tangent = tg.right
  }
  return t.success(out)
}

const encodeProblem = (a: RawProblem): Record<string, unknown> => {
  const out: Record<string, unknown> = { P: encodeOperator(a.P), q: Array.from(a.q) }
  if (a.t !== undefined) out['t'] = a.t
  if (a.w !== undefined) out['w'] = Array.from(a.w)
  if (a.set !== undefined) out['set'] = setCodec(a.P.n).encode(a.set)
  if (a.options !== undefined) out['options'] = { ...a.options }
  if (a.cotangent !== undefined) out['cotangent'] = Array.from(a.cotangent)
  if (a.tangent !== undefined) {
    const n = a.P.n, tg = a.tangent, o: Record<string, unknown> = {}
    if (tg.q !== undefined) o['q'] = Array.from(tg.q)
    if (tg.w !== undefined) o['w'] = Array.from(tg.w)
    if (tg.t !== undefined) o['t'] = tg.t
    if (tg.lower !== undefined) o['lower'] = Array.from(tg.lower)
    if (tg.upper !== undefined) o['upper'] = Array.from(tg.upper)
    if (tg.k !== undefined) o['k'] = tg.k
    if (tg.P !== undefined) o['P'] = encodeRows({ rows: n, cols: n, data: tg.P })
    out['tangent'] = o
  }
  return out
}

/**
 * One problem of `dfw solve`, checked in full (see the module notes); P is read first, as
 * it fixes `n` for every other length, then q, the set (which decides whether `t` is
 * required or refused, and whether `w` and the paper schedule are allowed), t, w, the
 * options, the cotangent and the tangent. Encoding writes the CONTRACT's JSON form back.
 *
 * @example
 * problemCodec.decode({ P: [[2]], q: [1], t: 0 }) // left at t: expected a positive number, got 0
 */
export const problemCodec = new t.Type<RawProblem, Record<string, unknown>, unknown>(
  'a problem { P, q, t?, w?, set?, options?, cotangent?, tangent? }',
  (u): u is RawProblem => isRecord(u) && operatorCodec.is(u['P']) && u['q'] instanceof Float64Array,
  (u, c) => validateRaw(u, c),
  encodeProblem
)

/**
 * A batch `{ "problems": [...], "P"?, "set"?, "options"?, "w"? }`; its entries and shared
 * fields are left undecoded, so that each entry can fail on its own. Any other key is
 * refused.
 *
 * @example
 * batchCodec.decode({ problems: [{}, {}], P: [[1]] }) // right({ problems: [{}, {}], P: [[1]] })
 * batchCodec.decode({ problems: [], t: 1 })           // left at t: unknown field "t"
 */
export const batchCodec = strictStruct(
  'a batch { problems, P?, set?, options?, w? }',
  { problems: t.UnknownArray },
  { P: t.unknown, set: t.unknown, options: t.unknown, w: t.unknown }
)

/**
 * The batch-level fields of a decoded batch: P decoded once (its error has the
 * batch-level path, e.g. `P[3][1]`), the others kept for each entry to check.
 *
 * @example
 * decodeShared({ problems: [], P: [[1, 2], [0, 1]] }).P // left({ message: 'expected a symmetric matrix: …', path: 'P[1][0]' })
 */
export const decodeShared = (batch: Readonly<Record<string, unknown>>): BatchShared => {
  const fields: Record<string, unknown> = {}
  for (const k of SHARED_KEYS) if (k !== 'P' && hasOwn(batch, k)) fields[k] = batch[k]
  if (!hasOwn(batch, 'P')) return { fields }
  const P = pipe(
    decodeWith(operatorCodec, 'P')(batch['P']),
    E.map((raw): SharedOperator => ({ raw, op: shapeOperator(unsafeDim<unknown>(raw.n), raw) }))
  )
  return { P, fields }
}

/**
 * The batch-level fields that an entry inherits: those of `shared` that the entry omits.
 *
 * @example
 * inheritedFields({ q: [1], t: 1 }, decodeShared({ problems: [], P: [[1]] })) // ['P']
 */
export const inheritedFields = (u: unknown, shared: BatchShared | undefined): readonly string[] => {
  if (shared === undefined || !isRecord(u)) return []
  const out: string[] = []
  if (shared.P !== undefined && !hasOwn(u, 'P')) out.push('P')
  for (const k of Object.keys(shared.fields)) if (!hasOwn(u, k)) out.push(k)
  return out
}

/**
 * Places a path relative to an entry: under `prefix`, unless its first key is a field the
 * entry inherits from the batch, whose path is the batch-level one (CONTRACT.md).
 *
 * @example
 * entryPath('problems[2]', ['P'], 'P[3][1]') // 'P[3][1]'
 * entryPath('problems[2]', ['P'], 'q[0]')    // 'problems[2].q[0]'
 */
export const entryPath = (prefix: string, inherited: readonly string[], path: string): string => {
  const top = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(path)?.[0]
  return top !== undefined && inherited.includes(top) ? path : prefixPath(prefix, path)
}

// -------------------------------------------------------------------------------------
// shaped values
// -------------------------------------------------------------------------------------

/**
 * Gives a checked problem one fresh dimension and returns it as an existential. With
 * `op`, P is that operator object (a batch's shared P, whose size the codec has checked).
 *
 * @example
 * shapeProblem(raw)((p) => p.q.dim === p.n) // true
 */
export const shapeProblem = (raw: RawProblem, op?: LinearOperator<unknown>): SomeProblem =>
  withDim(raw.P.n, <N>(d: Dim<N>): SomeProblem => {
    const tangent = (tg: RawTangent): ParamsTangent<N> => ({
      ...(tg.q === undefined ? {} : { q: unsafeVec(d, tg.q) }),
      ...(tg.w === undefined ? {} : { w: unsafeVec(d, tg.w) }),
      ...(tg.t === undefined ? {} : { t: tg.t }),
      ...(tg.P === undefined ? {} : { P: unsafeMat(d, d, tg.P) }),
      ...(tg.lower === undefined ? {} : { lower: unsafeVec(d, tg.lower) }),
      ...(tg.upper === undefined ? {} : { upper: unsafeVec(d, tg.upper) }),
      ...(tg.k === undefined ? {} : { k: tg.k })
    })
    const s = raw.set ?? 'l1'
    const set: SetSpec<N> = typeof s === 'string' ? s
      : s.kind === 'box' && 'lower' in s ? { kind: 'box', lower: unsafeVec(d, s.lower), upper: unsafeVec(d, s.upper) }
      : (s as SetSpec<N>)
    const kind = kindOf(raw.set)
    // a shared operator has its own Dim: the codec has checked that its size is n
    const P = op === undefined ? shapeOperator(d, raw.P) : (op as unknown as LinearOperator<N>)
    const q = unsafeVec(d, raw.q)
    const w = kind !== 'l1' ? undefined : raw.w === undefined ? fill(d, 1) : unsafeVec(d, raw.w)
    const p: DecodedProblem<N> = {
      n: d,
      P,
      q,
      ...(raw.t === undefined ? {} : { t: raw.t }),
      ...(w === undefined ? {} : { w }),
      set,
      kind,
      options: raw.options ?? {},
      ...(raw.cotangent === undefined ? {} : { cotangent: unsafeVec(d, raw.cotangent) }),
      ...(raw.tangent === undefined ? {} : { tangent: tangent(raw.tangent) }),
      problem: { P, q, ...(raw.t === undefined ? {} : { t: raw.t }), ...(w === undefined ? {} : { w }), set }
    }
    return (k) => k(p)
  })

/**
 * Decodes one problem of `dfw solve` from parsed JSON into shaped values that share one
 * fresh `Dim`. On failure, the first error with its path under `prefix` (e.g.
 * `problems[2]`); with `shared` (a batch's fields), the fields the entry omits are
 * inherited, and an error in one of them keeps its batch-level path ({@link entryPath}).
 *
 * @example
 * decodeProblem({ P: [[2, 0], [1, 2]], q: [0, 0], t: 1 })
 * // left({ message: 'expected a symmetric matrix: entry [1][0] is 1 but [0][1] is 0 …', path: 'P[1][0]' })
 * pipe(decodeProblem({ P: { diag: [1, 1] }, q: [1, 2], t: 1 }), E.map((use) => use((p) => p.set))) // right('l1')
 */
export const decodeProblem = (u: unknown, prefix = '', shared?: BatchShared): E.Either<DecodeError, SomeProblem> => {
  const inherited = inheritedFields(u, shared)
  let op: SharedOperator | undefined
  if (inherited.includes('P')) {
    const P = shared!.P!
    if (E.isLeft(P)) return P
    op = P.right
  }
  const r = validateRaw(u, [{ key: '', type: problemCodec, actual: u }], shared === undefined ? undefined : { ...(op === undefined ? {} : { P: op.raw }), fields: shared.fields })
  if (E.isLeft(r)) {
    const e = report(r.left)
    return E.left({ message: e.message, path: entryPath(prefix, inherited, e.path) })
  }
  return E.right(shapeProblem(r.right, op?.op))
}
