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
 *   `P.foo`, `P.csr.foo`).
 *
 * @since 0.1.0
 * @module
 */
import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { type Dim, withDim } from '../shapes/Dim.js'
import { type Vec, unsafeVec, fill } from '../shapes/Vec.js'
import { unsafeMat } from '../shapes/Mat.js'
import {
  type DecodeError, type RawMatrix,
  Finite, Positive, NonNegative, PositiveInt, oneOf, vectorCodec, strictStruct, validateRows, encodeRows, decodeWith
} from '../shapes/codecs.js'
import { isRecord, hasOwn, own, at, list } from '../shapes/internal.js'
import type { LinearOperator } from '../core/LinearOperator.js'
import { type RawOperator, operatorCodec, encodeOperator, shapeOperator } from '../core/OperatorCodec.js'
import type { ParamsTangent, SetKind } from './Problem.js'

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
// the sets and options
// -------------------------------------------------------------------------------------

/**
 * The feasible sets of the CONTRACT.
 *
 * @example
 * SetCodec.decode('simplex') // right('simplex')
 */
export const SetCodec: t.Type<SetKind, SetKind, unknown> = oneOf<SetKind>(['l1', 'linf', 'l2', 'simplex'])

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
// shaped values
// -------------------------------------------------------------------------------------

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
