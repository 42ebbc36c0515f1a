/**
 * The logic of `dfw solve`, kept apart from the process so tests can run it in-process:
 * parse → decode → solve → encode for one problem, batch isolation, and the outcome (exit
 * code, standard output, standard error) of a whole input text.
 *
 * Conventions (documented choices, see the README's CLI section):
 * - A path always points into the input document. For a batch, an entry's path starts at
 *   the entry: `problems[2].P[3][1]`, `problems[2].options.foo`, and `problems[2]` for an
 *   entry that is valid but fails in the solver.
 * - A single problem that the solver fails on (an exception, or a non-finite number in
 *   the result) exits 2 like invalid input, with path `""`.
 * - Standard output gets the JSON and a newline; standard error one line and a newline.
 * - Paths into the input quote the keys that are not identifiers (`["a.b"]`, `[""]`), and
 *   the error line escapes every control, format and line-separator character (U+2028,
 *   U+2029, …) as `\uXXXX`; messages are cut to 500 characters and quoted keys to 64.
 *   A UTF-8 byte order mark at the start of the input is skipped.
 * - A batch's entries inherit the batch-level `P`, `set`, `options` and `w` they omit;
 *   the shared P is decoded once, and every inheriting entry gets the same operator
 *   object. An error in a shared field (a decoding error, or the layer's refusal of a
 *   value in it) fails every entry that inherits it, at the batch-level path (`P[3][1]`).
 * - `vjp` holds q, P (dense P only) and the set's own parameters: w and t for the four
 *   original sets, lower and upper for the box, k for the capped simplex, t for ksparse
 *   and nuclear, nothing more for birkhoff.
 * - The VJP and JVP are linear in the cotangent and the tangent, so a cotangent or tangent
 *   whose largest entry lies outside [1e-150, 1e150] is scaled by a power of two (exact)
 *   before the solver sees it and the derivative is scaled back. Only a derivative that is
 *   itself beyond the largest double is an error, at path `cotangent` or `tangent`
 *   (docs/edge-cases.md).
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import type { Gradients, ParamsTangent, Problem } from '../fw/Problem.js'
import { type DecodeError, decodeWith } from '../shapes/codecs.js'
import { cut } from '../shapes/internal.js'
import {
  type BatchShared, type DecodedOptions, type DecodedProblem, batchCodec, decodeProblem, decodeShared, entryPath, inheritedFields
} from '../fw/ProblemCodec.js'
import { setParameters } from '../fw/Validate.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * What the CLI needs from a solved problem: the `LayerResult<N>` of `src/fw/Layer.ts`.
 *
 * @example
 * const r: LayerResultLike<N> = dfwLayer()(problem)
 */
export interface LayerResultLike<N> {
  readonly x: Vec<N>
  readonly objective: number
  readonly gap: number
  readonly iterations: number
  readonly status: 'converged' | 'maxIterations' | 'timeLimit'
  readonly vjp: (cotangent: Vec<N>) => Gradients<N>
  readonly jvp: (tangent: ParamsTangent<N>) => Vec<N>
  /** With the implicit backward: the face the derivative is taken on. */
  readonly face?: { readonly size: number; readonly margin: number; readonly derivative: 'exact' | 'kink' | 'non-unique' }
}

/**
 * The solver the CLI runs: `dfwLayer` of `src/fw/Layer.ts` has this type (tests pass
 * stand-ins).
 *
 * @example
 * const layer: LayerFactory = dfwLayer
 */
export type LayerFactory = (options?: DecodedOptions) => <N>(problem: Problem<N>) => LayerResultLike<N>

/**
 * One result of `dfw solve`, as the CONTRACT writes it.
 *
 * @example
 * const r: ResultJson = { x: [0], objective: 0, gap: 0, iterations: 1, status: 'converged', timings: { forwardMs: 0.1 } }
 */
export interface ResultJson {
  readonly x: number[]
  readonly objective: number
  readonly gap: number
  readonly iterations: number
  readonly status: 'converged' | 'maxIterations' | 'timeLimit'
  readonly timings: { readonly forwardMs: number; readonly backwardMs?: number; readonly jvpMs?: number }
  /** q, the set's own parameters (see the module notes) and P (dense P only). */
  readonly vjp?: {
    readonly q: number[]
    readonly w?: number[]
    readonly t?: number
    readonly lower?: number[]
    readonly upper?: number[]
    readonly k?: number
    readonly P?: number[][]
  }
  readonly jvp?: { readonly x: number[] }
  /** With the implicit backward (CONTRACT.md): the face's dimension, its margin, and whether the derivative is exact. */
  readonly face?: { readonly size: number; readonly margin: number; readonly derivative: 'exact' | 'kink' | 'non-unique' }
}

/**
 * A failed batch entry.
 *
 * @example
 * const e: ErrorEntry = { error: { message: 'expected 3 entries, got 2', path: 'problems[1].q' } }
 */
export interface ErrorEntry {
  readonly error: DecodeError
}

/**
 * A batch entry: a result or an error.
 *
 * @example
 * const es: Entry[] = [result, { error }]
 */
export type Entry = ResultJson | ErrorEntry

/**
 * What the process does: its exit code and what it writes.
 *
 * @example
 * runText('{', layer) // { code: 2, stdout: '', stderr: '{"error":{"message":"input is not JSON: …","path":""}}\n' }
 */
export interface Outcome {
  readonly code: 0 | 2 | 3
  readonly stdout: string
  readonly stderr: string
}

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

const MAX_MESSAGE = 500

/** A failure inside the solve step, with a message fit for users and the input path it concerns (relative, `''` for the problem). */
class SolveFailure extends Error {
  constructor(message: string, readonly path = '') {
    super(message)
  }
}

/**
 * The power of two that brings a largest magnitude `m` to [1, 2), or 1 when `m` is 0 or
 * already within [1e-150, 1e150] (then nothing is scaled, and results are bit for bit
 * those of the unscaled call).
 *
 * @example
 * scaleFor(1e300) // 2 ** 996
 * scaleFor(3)     // 1
 */
export const scaleFor = (m: number): number =>
  m === 0 || !Number.isFinite(m) || (m >= 1e-150 && m <= 1e150) ? 1 : 2 ** Math.floor(Math.log2(m))

const maxAbsOf = (...xs: ReadonlyArray<ArrayLike<number> | number | undefined>): number => {
  let m = 0
  for (const x of xs) {
    if (x === undefined) continue
    if (typeof x === 'number') { m = Math.max(m, Math.abs(x)); continue }
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!))
  }
  return m
}

const divVec = <N>(v: Vec<N>, s: number): Vec<N> => (s === 1 ? v : { dim: v.dim, data: v.data.map((x) => x / s) })

/** Scales a finite result back by `s`; an entry that overflows is the input's fault, at `input`. */
const scaleBack = (xs: number[], s: number, what: string, input: string): number[] => {
  if (s === 1) return xs
  return xs.map((x, i) => {
    const y = x * s
    if (!Number.isFinite(y)) throw new SolveFailure(`${what}[${i}] overflows: the derivative is ${x} times the ${input}'s scale ${s}, beyond the largest double; scale the ${input} down`, input)
    return y
  })
}

/**
 * The message of anything thrown: its first line only (never a stack), shortened.
 *
 * @example
 * messageOf(new RangeError('bad')) // 'RangeError: bad'
 */
export const messageOf = (e: unknown): string => {
  let m: string
  try {
    m = e instanceof Error ? (e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message) : String(e)
  } catch {
    m = 'unknown error'
  }
  // the first line only: a message never carries a stack trace along
  m = (m.split('\n').find((l) => l.trim() !== '') ?? '').replace(/\s+/g, ' ').trim()
  return m === '' ? 'unknown error' : cut(m, MAX_MESSAGE)
}

/** Control, format and separator characters (C0, C1, U+2028/U+2029, bidi marks, BOM, …). */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu

/**
 * A JSON text with every control, format and line- or paragraph-separator character
 * written as a `\uXXXX` escape (JSON.stringify leaves U+007F…U+009F, U+2028, U+2029 and the
 * bidi marks raw): the same JSON value, and a line that no terminal or log reader splits
 * or reorders.
 *
 * @example
 * escapeJson(JSON.stringify('a\u2028b')) // '"a\\u2028b"'
 */
export const escapeJson = (json: string): string =>
  json.replace(UNSAFE, (ch) => {
    let out = ''
    for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`
    return out
  })

/**
 * The single standard-error line of a failure (without the newline): message and path cut
 * to 500 characters, unsafe characters escaped ({@link escapeJson}).
 *
 * @example
 * errorLine({ message: 'bad', path: 't' }) // '{"error":{"message":"bad","path":"t"}}'
 */
export const errorLine = (e: DecodeError): string =>
  escapeJson(JSON.stringify({ error: { message: cut(e.message, MAX_MESSAGE), path: cut(e.path, MAX_MESSAGE) } }))

/**
 * Parses input text as JSON, after a UTF-8 byte order mark if the text starts with one. A
 * failure has path `""`.
 *
 * @example
 * parseJson('{"a":1}')       // right({ a: 1 })
 * parseJson('\uFEFF{"a":1}') // right({ a: 1 })
 * parseJson('nope')          // left({ message: 'input is not JSON: …', path: '' })
 */
export const parseJson = (text: string): E.Either<DecodeError, unknown> => {
  try {
    return E.right(JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as unknown)
  } catch (e) {
    return E.left({ message: `input is not JSON: ${messageOf(e instanceof Error ? e.message : e)}`, path: '' })
  }
}

const finite = (x: unknown, what: string): number => {
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new SolveFailure(`the solver returned a non-finite value for ${what} (${String(x)})`)
  return x
}

const vecOut = <N>(v: Vec<N> | undefined, n: number, what: string): number[] => {
  const data = v?.data
  if (!(data instanceof Float64Array) || data.length !== n) {
    throw new SolveFailure(`the solver returned ${what} with ${data === undefined ? 'no' : data.length} entries, expected ${n}`)
  }
  for (let i = 0; i < n; i++) if (!Number.isFinite(data[i]!)) throw new SolveFailure(`the solver returned a non-finite value at ${what}[${i}] (${String(data[i])})`)
  return Array.from(data)
}

const matOut = <N>(m: Mat<N, N>, n: number, what: string): number[][] => {
  const flat = vecOut({ dim: m.rows, data: m.data } as unknown as Vec<N>, n * n, what)
  const rows: number[][] = []
  for (let i = 0; i < n; i++) rows.push(flat.slice(i * n, (i + 1) * n))
  return rows
}

// -------------------------------------------------------------------------------------
// solving
// -------------------------------------------------------------------------------------

/** The gradients' fields of the set's own parameters, as `vjp` writes them. */
type OwnGradients = Omit<NonNullable<ResultJson['vjp']>, 'q' | 'P'>

/**
 * Solves one decoded problem and writes its result: forward pass, then the VJP when a
 * cotangent is given, the JVP when a tangent is given. Throws on a solver failure or a
 * non-finite number anywhere in the result (callers catch; see {@link solveOne}).
 *
 * @example
 * decodeProblem(json).right((p) => solveDecoded(p, dfwLayer)) // ResultJson
 */
export const solveDecoded = <N>(p: DecodedProblem<N>, layer: LayerFactory): ResultJson => {
  const n = p.n as number
  const problem: Problem<N> = p.problem
  const t0 = performance.now()
  const res = layer(p.options)(problem)
  const forwardMs = performance.now() - t0
  const x = vecOut(res.x, n, 'x')
  const objective = finite(res.objective, 'objective')
  const gap = finite(res.gap, 'gap')
  const iterations = finite(res.iterations, 'iterations')
  const status = res.status
  if (status !== 'converged' && status !== 'maxIterations' && status !== 'timeLimit') throw new SolveFailure(`the solver returned an unknown status ${JSON.stringify(String(status))}`)
  let vjp: ResultJson['vjp'] | undefined, backwardMs: number | undefined
  if (p.cotangent !== undefined) {
    const s = scaleFor(maxAbsOf(p.cotangent.data))
    const t1 = performance.now()
    const g = res.vjp(divVec(p.cotangent, s))
    backwardMs = performance.now() - t1
    const back = (v: Vec<N> | undefined, what: string): number[] => scaleBack(vecOut(v, n, what), s, what, 'cotangent')
    const own: { -readonly [K in keyof OwnGradients]: OwnGradients[K] } = {}
    for (const key of setParameters(p.kind)) {
      if (key === 't' || key === 'k') {
        const v = g[key]
        if (v === undefined) throw new SolveFailure(`the solver returned no vjp.${key}`)
        own[key] = scaleBack([finite(v, `vjp.${key}`)], s, `vjp.${key}`, 'cotangent')[0]!
      } else own[key] = back(g[key], `vjp.${key}`)
    }
    vjp = {
      q: back(g.q, 'vjp.q'),
      ...own,
      ...(p.P.kind === 'dense' && g.P !== undefined ? { P: matOut(g.P, n, 'vjp.P').map((row, i) => scaleBack(row, s, `vjp.P[${i}]`, 'cotangent')) } : {})
    }
  }
  let jvp: ResultJson['jvp'] | undefined, jvpMs: number | undefined
  if (p.tangent !== undefined) {
    const tg = p.tangent
    const s = scaleFor(maxAbsOf(tg.q?.data, tg.w?.data, tg.t, tg.P?.data, tg.lower?.data, tg.upper?.data, tg.k))
    const scaled: ParamsTangent<N> = s === 1 ? tg : {
      ...(tg.q === undefined ? {} : { q: divVec(tg.q, s) }),
      ...(tg.w === undefined ? {} : { w: divVec(tg.w, s) }),
      ...(tg.t === undefined ? {} : { t: tg.t / s }),
      ...(tg.P === undefined ? {} : { P: { rows: tg.P.rows, cols: tg.P.cols, data: tg.P.data.map((x) => x / s) } }),
      ...(tg.lower === undefined ? {} : { lower: divVec(tg.lower, s) }),
      ...(tg.upper === undefined ? {} : { upper: divVec(tg.upper, s) }),
      ...(tg.k === undefined ? {} : { k: tg.k / s })
    }
    const t2 = performance.now()
    const dx = res.jvp(scaled)
    jvpMs = performance.now() - t2
    jvp = { x: scaleBack(vecOut(dx, n, 'jvp.x'), s, 'jvp.x', 'tangent') }
  }
  return {
    x, objective, gap, iterations, status,
    timings: {
      forwardMs,
      ...(backwardMs === undefined ? {} : { backwardMs }),
      ...(jvpMs === undefined ? {} : { jvpMs })
    },
    ...(vjp === undefined ? {} : { vjp }),
    ...(jvp === undefined ? {} : { jvp }),
    ...(res.face === undefined ? {} : { face: { size: finite(res.face.size, 'face.size'), margin: finite(res.face.margin, 'face.margin'), derivative: res.face.derivative } })
  }
}

/**
 * Decodes and solves one problem. Never throws: invalid input is a `DecodeError` with
 * the path of the bad value under `prefix`; a solver failure is one with path `prefix`.
 * With `shared` (a batch's fields), the entry inherits the fields it omits, and an error
 * in an inherited field has its batch-level path.
 *
 * @example
 * solveOne({ P: [[2]], q: [1], t: 1 }, dfwLayer)          // right(ResultJson)
 * solveOne({ P: [[2]], q: [1], t: 1 }, dfwLayer, 'problems[0]') // same, errors under problems[0]
 */
export const solveOne = (u: unknown, layer: LayerFactory, prefix = '', shared?: BatchShared): E.Either<DecodeError, ResultJson> => {
  const inherited = inheritedFields(u, shared)
  try {
    const decoded = decodeProblem(u, prefix, shared)
    if (E.isLeft(decoded)) return decoded
    return E.right(decoded.right((p) => solveDecoded(p, layer)))
  } catch (e) {
    if (e instanceof SolveFailure) return E.left({ message: e.message, path: entryPath(prefix, inherited, e.path) })
    // the layer's own refusals (LayerError) carry the path of the bad value
    const path = (e as { path?: unknown } | null)?.path
    if (e instanceof Error && e.name === 'LayerError' && typeof path === 'string') {
      return E.left({ message: messageOf(e.message), path: entryPath(prefix, inherited, path) })
    }
    return E.left({ message: `the solver failed: ${messageOf(e)}`, path: prefix })
  }
}

/**
 * Solves every entry of a batch on its own: a bad or failing entry becomes
 * `{ error: { message, path } }` with its path under `problems[i]` (or the batch-level
 * path of a shared field it inherits), and the rest are computed all the same.
 *
 * @example
 * solveBatch([good, {}], dfwLayer) // { results: [ResultJson, { error: … path: 'problems[1].P' }], failed: 1 }
 */
export const solveBatch = (problems: readonly unknown[], layer: LayerFactory, shared?: BatchShared): { readonly results: Entry[]; readonly failed: number } => {
  const results: Entry[] = []
  let failed = 0
  for (let i = 0; i < problems.length; i++) {
    const r = solveOne(problems[i], layer, `problems[${i}]`, shared)
    if (E.isLeft(r)) { failed++; results.push({ error: r.left }) } else results.push(r.right)
  }
  return { results, failed }
}

const fail = (e: DecodeError): Outcome => ({ code: 2, stdout: '', stderr: `${errorLine(e)}\n` })

const stringify = (value: unknown): E.Either<DecodeError, string> => {
  try {
    return E.right(`${escapeJson(JSON.stringify(value))}\n`)
  } catch (e) {
    return E.left({ message: `cannot write the result: ${messageOf(e)}`, path: '' })
  }
}

/**
 * The outcome of `dfw solve` on parsed input: a batch when the input is an object with a
 * `problems` key, else one problem. Exit 0 when all is well, 2 for invalid input (or a
 * single problem the solver fails on), 3 when some batch entries failed.
 *
 * @example
 * runDocument({ problems: [good, bad] }, dfwLayer).code // 3
 */
export const runDocument = (u: unknown, layer: LayerFactory): Outcome => {
  try {
    if (typeof u === 'object' && u !== null && !Array.isArray(u) && Object.prototype.hasOwnProperty.call(u, 'problems')) {
      const batch = decodeWith(batchCodec)(u)
      if (E.isLeft(batch)) return fail(batch.left)
      const { results, failed } = solveBatch(batch.right.problems, layer, decodeShared(batch.right))
      const out = stringify({ results })
      return E.isLeft(out) ? fail(out.left) : { code: failed > 0 ? 3 : 0, stdout: out.right, stderr: '' }
    }
    const r = solveOne(u, layer)
    if (E.isLeft(r)) return fail(r.left)
    const out = stringify(r.right)
    return E.isLeft(out) ? fail(out.left) : { code: 0, stdout: out.right, stderr: '' }
  } catch (e) {
    return fail({ message: `unexpected failure: ${messageOf(e)}`, path: '' })
  }
}

/**
 * The outcome of `dfw solve` on input text.
 *
 * @example
 * runText('{"P":[[2]],"q":[1],"t":0}', dfwLayer) // { code: 2, stdout: '', stderr: '{"error":{…,"path":"t"}}\n' }
 */
export const runText = (text: string, layer: LayerFactory): Outcome => {
  const u = parseJson(text)
  return E.isLeft(u) ? fail(u.left) : runDocument(u.right, layer)
}
