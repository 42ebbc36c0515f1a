/**
 * The library validates like the CLI (src/fw/Validate.ts): `dfwLayer(options)(problem)`,
 * `dfwBatch(options)(problems)` and the results' `vjp`/`jvp` throw a `LayerError` with the
 * bad value's path, never a TypeError or a RangeError, for bad problems, operators, sets,
 * options and arguments; symmetry is judged entry by entry; the set's parameters are
 * checked as CONTRACT.md's "More sets" says.
 */
import t, { type Test } from 'tap'
import * as E from 'fp-ts/lib/Either.js'
import { dfwLayer, dfwBatch, LayerError, type LayerOptions } from '../src/fw/index.js'
import { validateProblem, validateOptions, validateTangent, checkOperatorStructure, solverSet, setParameters, hasRadius } from '../src/fw/Validate.js'
import { LAYER_OPTION_KEYS, unrolledFoldOptions, DEFAULT_TAPE_BUDGET_MB } from '../src/fw/Options.js'
import { polytope, type Problem } from '../src/fw/Problem.js'
import { dense, lowRank, csr } from '../src/core/LinearOperator.js'
import { unsafeDim } from '../src/shapes/Dim.js'
import { type N, vec, matOf } from './helpers/layerFixtures.js'

// -------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------

/** Runs f and returns what it threw (undefined when it returned). */
const thrown = (f: () => unknown): unknown => {
  try {
    f()
    return undefined
  } catch (e) {
    return e
  }
}

/** f throws a LayerError at `path` (and its message matches `message`). */
const refuses = (t: Test, f: () => unknown, path: string, what: string, message?: RegExp): void => {
  const e = thrown(f)
  t.ok(e instanceof LayerError, `${what}: a LayerError (got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)})`)
  if (e instanceof LayerError) {
    t.equal(e.path, path, `${what}: path ${path} (${e.message})`)
    if (message !== undefined) t.match(e.message, message, `${what}: message`)
  }
}

const d3 = unsafeDim<N>(3)
const P3 = dense(matOf(3, [2, 0, 0, 0, 3, 1, 0, 1, 4]))
const good: Problem<N> = { P: P3, q: vec([1, -1, 0.5]), t: 1 }
const layer = dfwLayer()

// -------------------------------------------------------------------------------------
// the problem object
// -------------------------------------------------------------------------------------

t.test('a problem that is not an object is refused at the root', async (t) => {
  for (const [what, p] of [['null', null], ['undefined', undefined], ['a number', 3], ['a string', 'P'], ['an array', [P3]]] as const) {
    refuses(t, () => layer(p as unknown as Problem<N>), '', what)
  }
})

t.test('P missing, null, not an object or of an unknown kind is refused at P', async (t) => {
  refuses(t, () => layer({} as unknown as Problem<N>), 'P', '{}', /missing P/)
  refuses(t, () => layer({ ...good, P: null } as unknown as Problem<N>), 'P', 'P null', /LinearOperator/)
  refuses(t, () => layer({ ...good, P: [[2, 0, 0], [0, 3, 1], [0, 1, 4]] } as unknown as Problem<N>), 'P', 'P as nested arrays')
  refuses(t, () => layer({ ...good, P: { kind: 'sparse', dim: 3 } } as unknown as Problem<N>), 'P', 'an unknown kind', /kind "sparse"/)
  refuses(t, () => layer({ ...good, P: { kind: 'dense', dim: 0, mat: matOf(0, []) } } as unknown as Problem<N>), 'P', 'dim 0')
})

t.test('a hand-built operator whose structure does not hold is refused at its path', async (t) => {
  const n = 3
  const cases: Array<[string, unknown, string, RegExp?]> = [
    ['dense data of the wrong length', { kind: 'dense', dim: d3, mat: { rows: d3, cols: d3, data: new Float64Array(8) } }, 'P', /3×3/],
    ['dense mat not a Mat', { kind: 'dense', dim: d3, mat: [[1]] }, 'P'],
    ['dense dim disagrees with its mat', { kind: 'dense', dim: 2, mat: matOf(3, new Array(9).fill(0)) }, 'P'],
    ['low rank diag of the wrong length', { kind: 'lowRank', dim: d3, diag: vec([1, 1]), rank: 0, U: new Float64Array(0) }, 'P.diag'],
    ['low rank U of the wrong length', { kind: 'lowRank', dim: d3, diag: vec([1, 1, 1]), rank: 2, U: new Float64Array(5) }, 'P.U', /n·rank = 3·2 = 6/],
    ['low rank U a plain array', { kind: 'lowRank', dim: d3, diag: vec([1, 1, 1]), rank: 1, U: [1, 1, 1] }, 'P.U'],
    ['low rank rank negative', { kind: 'lowRank', dim: d3, diag: vec([1, 1, 1]), rank: -1, U: new Float64Array(0) }, 'P.U'],
    ['CSR rowPtr not monotone', { kind: 'csr', dim: d3, rowPtr: Int32Array.of(0, 2, 1, 3), colIdx: Int32Array.of(0, 1, 2), values: Float64Array.of(1, 1, 1) }, 'P.csr.rowPtr[2]'],
    ['CSR rowPtr of the wrong length', { kind: 'csr', dim: d3, rowPtr: Int32Array.of(0, 1, 3), colIdx: Int32Array.of(0, 1, 2), values: Float64Array.of(1, 1, 1) }, 'P.csr.rowPtr'],
    ['CSR column out of range', { kind: 'csr', dim: d3, rowPtr: Int32Array.of(0, 1, 2, 3), colIdx: Int32Array.of(0, 1, 3), values: Float64Array.of(1, 1, 1) }, 'P.csr.colIdx[2]'],
    ['CSR negative column', { kind: 'csr', dim: d3, rowPtr: Int32Array.of(0, 1, 2, 3), colIdx: Int32Array.of(0, -1, 2), values: Float64Array.of(1, 1, 1) }, 'P.csr.colIdx[1]'],
    ['CSR colIdx and values of different lengths', { kind: 'csr', dim: d3, rowPtr: Int32Array.of(0, 1, 2, 3), colIdx: Int32Array.of(0, 1), values: Float64Array.of(1, 1, 1) }, 'P.csr.colIdx'],
    ['CSR values not an array', { kind: 'csr', dim: d3, rowPtr: Int32Array.of(0, 1, 2, 3), colIdx: Int32Array.of(0, 1, 2), values: 7 }, 'P.csr.values']
  ]
  t.equal(n, 3)
  for (const [what, P, path, message] of cases) refuses(t, () => layer({ ...good, P } as unknown as Problem<N>), path, what, message)
})

t.test('an operator\'s structure is checked once per object, its values on every call', async (t) => {
  let reads = 0
  const rowPtr = new Proxy([0, 1, 2, 3], { get: (a, k, r) => { if (k === 'length') reads++; return Reflect.get(a, k, r) as unknown } })
  const P = { kind: 'csr', dim: d3, rowPtr, colIdx: Int32Array.of(0, 1, 2), values: Float64Array.of(2, 3, 4) }
  checkOperatorStructure(P)
  const first = reads
  t.ok(first > 0, 'the first check reads the structure')
  checkOperatorStructure(P)
  t.equal(reads, first, 'the second check does not')
  // the values are still checked: a NaN written after the first solve is refused
  const op = dense(matOf(3, [2, 0, 0, 0, 3, 1, 0, 1, 4]))
  layer({ ...good, P: op })
  op.mat.data[4] = NaN
  refuses(t, () => layer({ ...good, P: op }), 'P[1][1]', 'a NaN written later')
})

t.test('q and w must be Vecs of finite numbers of P\'s size', async (t) => {
  refuses(t, () => layer({ P: P3, t: 1 } as unknown as Problem<N>), 'q', 'q missing', /missing q/)
  refuses(t, () => layer({ ...good, q: [1, -1, 0.5] } as unknown as Problem<N>), 'q', 'q a plain array', /expected a Vec; build one with vector\(n, xs\)/)
  refuses(t, () => layer({ ...good, q: Float64Array.of(1, -1, 0.5) } as unknown as Problem<N>), 'q', 'q a Float64Array', /vector\(n, xs\)/)
  refuses(t, () => layer({ ...good, q: { dim: 2, data: Float64Array.of(1, -1, 0.5) } } as unknown as Problem<N>), 'q', 'q whose dim is not its length')
  refuses(t, () => layer({ ...good, q: vec([1, 2]) }), 'P', 'P of the wrong size for q', /P is 3×3 but q has 2 entries/)
  refuses(t, () => layer({ ...good, q: vec([1, NaN, 0]) }), 'q[1]', 'NaN in q')
  refuses(t, () => layer({ ...good, w: [1, 1, 1] } as unknown as Problem<N>), 'w', 'w a plain array', /vector\(n, xs\)/)
  refuses(t, () => layer({ ...good, w: vec([1, 1]) }), 'w', 'w of the wrong length')
  refuses(t, () => layer({ ...good, w: vec([1, NaN, 1]) }), 'w[1]', 'NaN in w')
  refuses(t, () => layer({ ...good, q: vec([]), P: dense(matOf(0, [])) } as unknown as Problem<N>), 'P', 'an empty problem')
})

// -------------------------------------------------------------------------------------
// options
// -------------------------------------------------------------------------------------

t.test('options that are not an object, and unknown option keys, are refused at options…', async (t) => {
  refuses(t, () => dfwLayer(null as unknown as LayerOptions)(good), 'options', 'options null')
  refuses(t, () => dfwLayer([] as unknown as LayerOptions)(good), 'options', 'options an array')
  refuses(t, () => dfwLayer(3 as unknown as LayerOptions)(good), 'options', 'options a number')
  refuses(t, () => dfwLayer({ foo: 1 } as unknown as LayerOptions)(good), 'options.foo', 'an unknown option', /unknown option "foo"/)
  refuses(t, () => dfwLayer({ 'a.b': 1 } as unknown as LayerOptions)(good), 'options["a.b"]', 'an odd key is quoted')
  refuses(t, () => dfwLayer({ maxIterations: 10, Tolerance: 0 } as unknown as LayerOptions)(good), 'options.Tolerance', 'a misspelt option')
})

t.test('timeLimitMs and tapeBudgetMB are numbers > 0; every known key is accepted', async (t) => {
  for (const v of [0, -1, NaN, Infinity, '5']) {
    refuses(t, () => validateOptions({ timeLimitMs: v }), 'options.timeLimitMs', `timeLimitMs ${String(v)}`)
    refuses(t, () => validateOptions({ tapeBudgetMB: v }), 'options.tapeBudgetMB', `tapeBudgetMB ${String(v)}`)
  }
  refuses(t, () => validateOptions({ checkpoint: 0 }), 'options.checkpoint', 'checkpoint 0')
  refuses(t, () => validateOptions({ beta0: 0 }), 'options.beta0', 'beta0 0')
  t.same(validateOptions(undefined), {})
  const all: LayerOptions = { schedule: 'default', backward: 'unrolled', maxIterations: 5, tolerance: 0, lipschitz: 2, beta0: 1, checkpoint: 2, timeLimitMs: 1000, tapeBudgetMB: 1 }
  t.same(Object.keys(all).sort(), [...LAYER_OPTION_KEYS].sort(), 'the example covers every key')
  t.same(validateOptions(all), all)
  const r = dfwLayer({ timeLimitMs: 60_000, tapeBudgetMB: 64 })(good)
  t.ok(Number.isFinite(r.objective), 'a layer with both options solves')
})

t.test('the unrolled run\'s fold options: the tape budget in bytes with per-step estimates, or the user\'s checkpoint', async (t) => {
  t.same(unrolledFoldOptions({}, 10), { tape: { limit: DEFAULT_TAPE_BUDGET_MB * 2 ** 20, perStep: 72 * 10 + 4096, perState: 16 * 10 + 512 } })
  t.same(unrolledFoldOptions({ tapeBudgetMB: 2 }, 1), { tape: { limit: 2 * 2 ** 20, perStep: 72 + 4096, perState: 16 + 512 } })
  t.same(unrolledFoldOptions({ checkpoint: 7, tapeBudgetMB: 2 }, 1), { checkpoint: 7 })
})

// -------------------------------------------------------------------------------------
// batches
// -------------------------------------------------------------------------------------

t.test('dfwBatch refuses a non-array and bad options as a whole', async (t) => {
  refuses(t, () => dfwBatch()(null as unknown as Problem<N>[]), '', 'problems null', /expected an array of problems, got null/)
  refuses(t, () => dfwBatch()({} as unknown as Problem<N>[]), '', 'problems an object')
  refuses(t, () => dfwBatch()(undefined as unknown as Problem<N>[]), '', 'problems undefined')
  refuses(t, () => dfwBatch(null as unknown as LayerOptions)([good]), 'options', 'options null')
  refuses(t, () => dfwBatch({ foo: 1 } as unknown as LayerOptions)([good]), 'options.foo', 'an unknown option')
  const rs = dfwBatch()([null as unknown as Problem<N>, good, {} as unknown as Problem<N>])
  t.ok(E.isLeft(rs[0]!) && rs[0].left.path === '[0]', 'a null entry is a Left at [0]')
  t.ok(E.isRight(rs[1]!), 'a good entry is solved')
  t.ok(E.isLeft(rs[2]!) && rs[2].left.path === '[2].P', 'an empty entry is a Left at [2].P')
})

// -------------------------------------------------------------------------------------
// vjp and jvp
// -------------------------------------------------------------------------------------

t.test('vjp refuses a cotangent of the wrong length, non-finite or not a Vec, at cotangent…', async (t) => {
  for (const backward of ['unrolled', 'implicit'] as const) {
    const r = dfwLayer({ backward })(good)
    refuses(t, () => r.vjp(vec([1, 0])), 'cotangent', `${backward}: wrong length`, /expected 3 entries, got 2/)
    refuses(t, () => r.vjp(vec([1, NaN, 0])), 'cotangent[1]', `${backward}: NaN`)
    refuses(t, () => r.vjp(vec([1, 0, Infinity])), 'cotangent[2]', `${backward}: Infinity`)
    refuses(t, () => r.vjp([1, 0, 0] as never), 'cotangent', `${backward}: a plain array`, /vector\(n, xs\)/)
    refuses(t, () => r.vjp(undefined as never), 'cotangent', `${backward}: missing`)
    t.ok(Number.isFinite(r.vjp(vec([1, 0, 0])).t), `${backward}: a good cotangent still works`)
  }
})

t.test('jvp refuses unknown directions and bad values at tangent…', async (t) => {
  for (const backward of ['unrolled', 'implicit'] as const) {
    const r = dfwLayer({ backward })(good)
    refuses(t, () => r.jvp(null as never), 'tangent', `${backward}: null`)
    refuses(t, () => r.jvp([1] as never), 'tangent', `${backward}: an array`)
    refuses(t, () => r.jvp({ x: vec([1, 0, 0]) } as never), 'tangent.x', `${backward}: an unknown key`, /unknown tangent direction "x"/)
    refuses(t, () => r.jvp({ 'q[0]': 1 } as never), 'tangent["q[0]"]', `${backward}: an odd key is quoted`)
    refuses(t, () => r.jvp({ lower: vec([0, 0, 0]) } as never), 'tangent.lower', `${backward}: a box direction on l1`)
    refuses(t, () => r.jvp({ q: vec([1, 0, NaN]) }), 'tangent.q[2]', `${backward}: NaN in q`)
    refuses(t, () => r.jvp({ q: vec([1, 0]) }), 'tangent.q', `${backward}: q of the wrong length`)
    refuses(t, () => r.jvp({ w: vec([1, 0, Infinity]) }), 'tangent.w[2]', `${backward}: Infinity in w`)
    refuses(t, () => r.jvp({ t: NaN }), 'tangent.t', `${backward}: t NaN`)
    refuses(t, () => r.jvp({ t: '1' } as never), 'tangent.t', `${backward}: t a string`)
    const dP = matOf(3, [0, 0, 0, 0, 0, NaN, 0, 0, 0])
    refuses(t, () => r.jvp({ P: dP }), 'tangent.P[1][2]', `${backward}: NaN in P`)
    refuses(t, () => r.jvp({ P: matOf(2, [0, 0, 0, 0]) } as never), 'tangent.P', `${backward}: P of the wrong size`)
    refuses(t, () => r.jvp({ P: [[0]] } as never), 'tangent.P', `${backward}: P nested arrays`, /matrix\(n, n, rows\)/)
    const ok = r.jvp({ q: vec([1, 0, 0]), t: 1, w: undefined } as never)
    t.ok(ok.data.every(Number.isFinite), `${backward}: a good tangent (an undefined field is absent) still works`)
  }
})

t.test('validateTangent takes each set\'s own parameters (CONTRACT.md, "More sets")', async (t) => {
  const v = vec([0, 0, 0])
  t.doesNotThrow(() => validateTangent({ q: v, lower: v, upper: v }, { kind: 'box' }, 3))
  t.doesNotThrow(() => validateTangent({ k: 1 }, { kind: 'capped-simplex' }, 3))
  t.doesNotThrow(() => validateTangent({ t: 1 }, { kind: 'ksparse' }, 3))
  refuses(t, () => validateTangent({ t: 1 }, { kind: 'box' }, 3), 'tangent.t', 'box has no t')
  refuses(t, () => validateTangent({ w: v }, { kind: 'nuclear' }, 3), 'tangent.w', 'nuclear has no w')
  refuses(t, () => validateTangent({ t: 1 }, { kind: 'birkhoff' }, 3), 'tangent.t', 'birkhoff has nothing more')
  refuses(t, () => validateTangent({ k: NaN }, { kind: 'capped-simplex' }, 3), 'tangent.k', 'k NaN')
  refuses(t, () => validateTangent({ lower: vec([0, 0]) }, { kind: 'box' }, 3), 'tangent.lower', 'lower of the wrong length')
  t.same(setParameters('l2'), ['w', 't'])
  t.same(setParameters('polytope'), [])
})

// -------------------------------------------------------------------------------------
// symmetry
// -------------------------------------------------------------------------------------

t.test('the repro of issue 20: an asymmetry hidden by a large entry is refused at P[2][1] (dense) and at the CSR entry', async (t) => {
  const q = vec([0, -1, 0.5])
  refuses(t, () => layer({ P: dense(matOf(3, [1e10, 0, 0, 0, 1, 1, 0, 0, 1])), q, t: 10 }), 'P[2][1]', 'dense', /symmetric/)
  const c = csr(d3, [0, 1, 3, 4], [0, 1, 2, 2], [1e10, 1, 1, 1])
  t.ok(E.isRight(c))
  if (E.isRight(c)) refuses(t, () => layer({ P: c.right, q, t: 10 }), 'P.csr.values[2]', 'CSR: the stored entry (1, 2), whose mirror is missing', /\(1, 2\)/)
  // the mirror stored with another value: the entry below the diagonal is named
  const c2 = csr(d3, [0, 1, 3, 5], [0, 1, 2, 1, 2], [1e10, 1, 1, 0.5, 1])
  if (E.isRight(c2)) refuses(t, () => layer({ P: c2.right, q, t: 10 }), 'P.csr.values[3]', 'CSR: both entries stored')
})

t.test('symmetry is relative to the pair and its diagonal, not to the largest entry', async (t) => {
  const q = vec([0, -1, 0.5])
  // within 1e-10 of √(P₁₁P₂₂) = 1: accepted
  t.doesNotThrow(() => layer({ P: dense(matOf(3, [1e10, 0, 0, 0, 1, 0.5, 0, 0.5 + 5e-11, 1])), q, t: 10 }))
  // beyond it: refused, however large P₀₀ is
  refuses(t, () => layer({ P: dense(matOf(3, [1e10, 0, 0, 0, 1, 0.5, 0, 0.5 + 1e-9, 1])), q, t: 10 }), 'P[2][1]', '1e-9 off')
  // below the absolute floor of 1e-300: accepted
  t.doesNotThrow(() => layer({ P: dense(matOf(2, [1, 0, 1e-301, 1])), q: vec([1, 0]), t: 1 }))
  // the first offender in row-major order below the diagonal, past a 32×32 tile
  const n = 70, a = new Array<number>(n * n).fill(0)
  for (let i = 0; i < n; i++) a[i * n + i] = 1
  a[65 * n + 40] = 1e-3
  a[66 * n + 2] = 1e-3
  refuses(t, () => layer({ P: dense(matOf(n, a)), q: vec(new Array(n).fill(1)), t: 1 }), 'P[65][40]', 'the first of two offenders')
  // a low-rank P is symmetric by construction
  t.doesNotThrow(() => layer({ P: lowRank(vec([1, 1, 1]), 1, Float64Array.of(1e5, 0, 1)), q, t: 1 }))
})

// -------------------------------------------------------------------------------------
// sets
// -------------------------------------------------------------------------------------

const v3 = (xs: number[]) => vec(xs)
const setCase = (set: unknown, extra: Partial<Problem<N>> = {}): Problem<N> => {
  const { t: _t, ...rest } = good
  return { ...rest, ...extra, set } as unknown as Problem<N>
}

t.test('the set in string and object form: unknown kinds and keys are refused', async (t) => {
  refuses(t, () => layer({ ...good, set: 'l3' } as unknown as Problem<N>), 'set', 'an unknown string', /l1, linf, l2, simplex/)
  refuses(t, () => layer({ ...good, set: 'box' } as unknown as Problem<N>), 'set', 'a new kind as a string')
  refuses(t, () => layer({ ...good, set: { kind: 'l3' } } as unknown as Problem<N>), 'set.kind', 'an unknown kind')
  refuses(t, () => layer({ ...good, set: {} } as unknown as Problem<N>), 'set.kind', 'no kind', /missing kind/)
  refuses(t, () => layer({ ...good, set: 7 } as unknown as Problem<N>), 'set', 'a number')
  refuses(t, () => layer({ ...good, set: { kind: 'l1', k: 2 } } as unknown as Problem<N>), 'set.k', 'a key the kind does not have')
  refuses(t, () => layer({ ...good, set: { kind: 'l2', '': 1 } } as unknown as Problem<N>), 'set[""]', 'an empty key is quoted')
  const a = layer({ ...good, set: { kind: 'simplex' } })
  const b = layer({ ...good, set: 'simplex' })
  t.same(Array.from(a.x.data), Array.from(b.x.data), 'the object form of an original set means the string')
})

t.test('box: lengths, finiteness and lower < upper, at set.lower[i] / set.upper[i]', async (t) => {
  const lower = v3([0, 0, 0]), upper = v3([1, 1, 1])
  refuses(t, () => layer(setCase({ kind: 'box', lower: v3([0, 0]), upper })), 'set.lower', 'lower of the wrong length')
  refuses(t, () => layer(setCase({ kind: 'box', lower, upper: v3([1, NaN, 1]) })), 'set.upper[1]', 'NaN in upper')
  refuses(t, () => layer(setCase({ kind: 'box', lower: v3([0, 0, 1]), upper })), 'set.lower[2]', 'lower = upper', /lower\[2\] < upper\[2\]/)
  refuses(t, () => layer(setCase({ kind: 'box', lower: v3([0, 2, 0]), upper })), 'set.lower[1]', 'lower > upper')
  refuses(t, () => layer(setCase({ kind: 'box', lower: [0, 0, 0], upper })), 'set.lower', 'lower a plain array', /vector\(n, xs\)/)
  refuses(t, () => layer(setCase({ kind: 'box', upper })), 'set.lower', 'lower missing')
  refuses(t, () => layer(setCase({ kind: 'box', lower, upper: v3([1, 1e200, 1]) })), 'set.upper[1]', 'the magnitude rule on a bound', /too large/)
  refuses(t, () => layer(setCase({ kind: 'box', lower, upper }, { t: 1 })), 't', 'a box has no radius', /no radius/)
  refuses(t, () => layer(setCase({ kind: 'box', lower, upper }, { w: v3([1, 1, 1]) })), 'w', 'w on a box', /l1 ball only/)
  const { theta, set } = validateProblem(setCase({ kind: 'box', lower, upper }), {})
  t.same(set, { kind: 'box' })
  t.equal(theta.lower, lower, 'θ carries lower')
  t.equal(theta.upper, upper, 'θ carries upper')
  t.equal(theta.t, 0, 'θ.t is 0 without a radius')
  t.same(Array.from(theta.w.data), [1, 1, 1], 'θ.w is all ones')
})

t.test('capped simplex and K-sparse: k in range at set.k; t by the table', async (t) => {
  for (const k of [0, 3, -1, NaN, 4]) refuses(t, () => layer(setCase({ kind: 'capped-simplex', k })), 'set.k', `capped-simplex k = ${k}`, /0 < k < n = 3|finite/)
  refuses(t, () => layer(setCase({ kind: 'capped-simplex' })), 'set.k', 'capped-simplex without k')
  t.equal(validateProblem(setCase({ kind: 'capped-simplex', k: 1.5 }), {}).theta.k, 1.5, 'a fractional k is fine on the capped simplex')
  for (const k of [0, 4, 1.5, '2']) refuses(t, () => layer(setCase({ kind: 'ksparse', k }, { t: 1 })), 'set.k', `ksparse k = ${String(k)}`)
  refuses(t, () => layer(setCase({ kind: 'ksparse', k: 2 })), 't', 'ksparse needs t', /t must be a finite number > 0 \(the set "ksparse" has a radius\)/)
  refuses(t, () => layer(setCase({ kind: 'ksparse', k: 2 }, { t: -1 })), 't', 'ksparse t < 0')
  const r = validateProblem(setCase({ kind: 'ksparse', k: 2 }, { t: 0.5 }), {})
  t.same([r.theta.k, r.theta.t, r.set], [2, 0.5, { kind: 'ksparse' }])
})

t.test('birkhoff needs a square n; nuclear needs rows·cols = n', async (t) => {
  refuses(t, () => layer(setCase({ kind: 'birkhoff' })), 'set', 'n = 3 is not a square', /perfect square/)
  const n4 = { P: dense(matOf(4, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])), q: vec([1, 2, 3, 4]) }
  t.same(validateProblem({ ...n4, set: { kind: 'birkhoff' } }, {}).set, { kind: 'birkhoff', rows: 2, cols: 2 })
  refuses(t, () => layer({ ...n4, t: 1, set: { kind: 'birkhoff' } }), 't', 'birkhoff has no radius')
  refuses(t, () => layer({ ...n4, t: 1, set: { kind: 'nuclear', rows: 2, cols: 3 } }), 'set', 'rows·cols ≠ n', /2·3 = 6 but n = 4/)
  refuses(t, () => layer({ ...n4, t: 1, set: { kind: 'nuclear', rows: 0, cols: 4 } }), 'set.rows', 'rows 0')
  refuses(t, () => layer({ ...n4, t: 1, set: { kind: 'nuclear', rows: 2 } } as unknown as Problem<N>), 'set.cols', 'cols missing')
  refuses(t, () => layer({ ...n4, set: { kind: 'nuclear', rows: 2, cols: 2 } }), 't', 'nuclear needs t')
  t.same(validateProblem({ ...n4, t: 1, set: { kind: 'nuclear', rows: 4, cols: 1 } }, {}).set, { kind: 'nuclear', rows: 4, cols: 1 })
})

t.test('polytope({ lmo }): lmo must be a function, at set.lmo', async (t) => {
  refuses(t, () => layer(setCase({ kind: 'polytope', lmo: 'shortest path' })), 'set.lmo', 'lmo a string', /function/)
  refuses(t, () => layer(setCase({ kind: 'polytope' })), 'set.lmo', 'lmo missing')
  const lmo = (g: { data: Float64Array }) => vec(g.data[0]! <= g.data[1]! ? [1, 0, 0] : [0, 1, 0])
  const r = validateProblem(setCase(polytope<N>({ lmo })), {})
  t.equal(r.set.lmo, lmo, 'the oracle is kept')
  refuses(t, () => layer(setCase(polytope<N>({ lmo }), { t: 1 })), 't', 'a polytope has no radius')
})

t.test('the paper schedule is refused on the new sets, at options.schedule', async (t) => {
  refuses(t, () => dfwLayer({ schedule: 'paper' })(setCase({ kind: 'capped-simplex', k: 1 })), 'options.schedule', 'capped-simplex', /smoothed oracle/)
  refuses(t, () => dfwLayer({ schedule: 'paper' })(setCase({ kind: 'ksparse', k: 1 }, { t: 1 })), 'options.schedule', 'ksparse')
  t.doesNotThrow(() => dfwLayer({ schedule: 'paper', maxIterations: 5 })({ ...good, set: { kind: 'l2' } }))
})

t.test('a valid problem on a new set is solved, or refused at set until its solver lands', async (t) => {
  const n4 = { P: dense(matOf(4, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])), q: vec([1, -2, 3, -4]) }
  const lmo = (g: { data: Float64Array }) => vec(g.data[0]! <= g.data[1]! ? [1, 0, 0, 0] : [0, 1, 0, 0])
  const problems: Array<[string, Problem<N>]> = [
    ['box', { ...n4, set: { kind: 'box', lower: vec([0, 0, 0, 0]), upper: vec([1, 1, 1, 1]) } }],
    ['capped-simplex', { ...n4, set: { kind: 'capped-simplex', k: 2 } }],
    ['ksparse', { ...n4, t: 1, set: { kind: 'ksparse', k: 2 } }],
    ['birkhoff', { ...n4, set: { kind: 'birkhoff' } }],
    ['nuclear', { ...n4, t: 1, set: { kind: 'nuclear', rows: 2, cols: 2 } }],
    ['polytope', { ...n4, set: polytope<N>({ lmo }) }]
  ]
  for (const [name, p] of problems) {
    const e = thrown(() => {
      const r = layer(p)
      if (!r.x.data.every(Number.isFinite)) throw new Error('a non-finite x')
    })
    t.ok(e === undefined || (e instanceof LayerError && e.path === 'set' && /not available yet/.test(e.message)), `${name}: ${e === undefined ? 'solved' : (e as Error).message}`)
  }
  t.equal(solverSet({ kind: 'linf' }), 'linf')
  refuses(t, () => solverSet({ kind: 'birkhoff' }), 'set', 'solverSet on a set without a solver', /not available yet/)
  t.ok(hasRadius('nuclear') && !hasRadius('capped-simplex'))
})

t.test('w on linf, l2 and simplex is still accepted by the library (and ignored)', async (t) => {
  for (const set of ['linf', 'l2', 'simplex'] as const) {
    const a = layer({ ...good, set, w: vec([0.5, 2, 1]) })
    const b = layer({ ...good, set })
    t.same(Array.from(a.x.data), Array.from(b.x.data), `${set}: w changes nothing`)
  }
})
