/**
 * The io-ts codecs of src/shapes/codecs.ts: primitives, arrays, matrices, the three forms
 * of P, options, tangents, the reporter's paths and messages, and the whole table of
 * malformed `dfw solve` inputs run in-process (each exits 2 with the right path).
 */
import t from 'tap'
import * as E from 'fp-ts/lib/Either.js'
import * as io from 'io-ts'
import {
  Finite, Positive, NonNegative, PositiveInt, FiniteArray, SetCodec, numberArray, vectorCodec, matrixCodec,
  operatorCodec, optionsCodec, tangentCodec, problemCodec, batchCodec, strictStruct, oneOf,
  report, pathOf, prefixPath, describeValue, decodeWith, decodeProblem, type DecodeError
} from '../src/fw/codecs.js'
import { runText } from '../src/cli/solve.js'
import { toDense } from '../src/core/LinearOperator.js'
import { BAD_CASES, denseBase, lowRankBase, csrBase, fullBase, stubLayer, toText } from './helpers/dfwInputs.js'

const leftOf = <A>(r: E.Either<DecodeError, A>): DecodeError => {
  if (E.isRight(r)) throw new Error('expected a failure, got a success')
  return r.left
}
const errOf = (codec: io.Decoder<unknown, unknown>, u: unknown): DecodeError => leftOf(decodeWith(codec)(u))

// -------------------------------------------------------------------------------------
// primitives
// -------------------------------------------------------------------------------------

t.test('Finite accepts finite numbers and refuses NaN, ±Infinity, strings, null', async (t) => {
  for (const x of [0, -0, 1.5, -1e300, 5e-324]) t.ok(E.isRight(Finite.decode(x)), String(x))
  for (const x of [NaN, Infinity, -Infinity, '3', null, undefined, true, [], {}]) t.ok(E.isLeft(Finite.decode(x)), describeValue(x))
  t.same(errOf(Finite, '3'), { message: 'expected a finite number, got "3"', path: '' })
  t.same(errOf(Finite, Infinity), { message: 'expected a finite number, got Infinity', path: '' })
})

t.test('Positive refuses 0 and negatives with a clear message', async (t) => {
  t.ok(E.isRight(Positive.decode(1e-300)))
  t.same(errOf(Positive, 0), { message: 'expected a positive number, got 0', path: '' })
  t.same(errOf(Positive, -2), { message: 'expected a positive number, got -2', path: '' })
  t.same(errOf(Positive, 'x'), { message: 'expected a positive number, got "x"', path: '' })
})

t.test('NonNegative accepts 0, PositiveInt only safe integers ≥ 1', async (t) => {
  t.ok(E.isRight(NonNegative.decode(0)))
  t.ok(E.isLeft(NonNegative.decode(-1e-300)))
  t.ok(E.isRight(PositiveInt.decode(1)))
  for (const x of [0, 2.5, -1, 1e300, 2 ** 53]) t.ok(E.isLeft(PositiveInt.decode(x)), String(x))
  t.match(errOf(PositiveInt, 2.5).message, /expected an integer ≥ 1, got 2.5/)
})

t.test('oneOf and SetCodec name the allowed strings', async (t) => {
  t.same(SetCodec.decode('simplex'), E.right('simplex'))
  t.same(errOf(SetCodec, 'l3').message, 'expected one of "l1", "linf", "l2", "simplex", got "l3"')
  t.ok(E.isLeft(oneOf(['a']).decode('toString')), 'inherited names are not members')
})

// -------------------------------------------------------------------------------------
// arrays and matrices
// -------------------------------------------------------------------------------------

t.test('numberArray reads into a Float64Array and reports the bad index', async (t) => {
  const r = FiniteArray.decode([1, 2, 3])
  t.ok(E.isRight(r) && r.right instanceof Float64Array && r.right.length === 3)
  t.same(errOf(FiniteArray, [1, null]), { message: 'expected a finite number, got null', path: '[1]' })
  t.same(errOf(numberArray(Positive), [1, -1]), { message: 'expected a positive number, got -1', path: '[1]' })
  t.same(errOf(FiniteArray, 'abc'), { message: 'expected an array of finite numbers, got "abc"', path: '' })
})

t.test('vectorCodec checks the length first', async (t) => {
  t.same(errOf(vectorCodec(10), new Array(9).fill(0)), { message: 'expected 10 entries, got 9', path: '' })
  t.ok(E.isRight(vectorCodec(0).decode([])))
})

t.test('matrixCodec reads nested rows row-major and reports rows, ragged rows and entries', async (t) => {
  const r = matrixCodec(2, 3).decode([[1, 2, 3], [4, 5, 6]])
  t.ok(E.isRight(r))
  if (E.isRight(r)) t.same(Array.from(r.right.data), [1, 2, 3, 4, 5, 6])
  t.same(errOf(matrixCodec(3, 2), [[1, 2], [3, 4]]), { message: 'expected 3 rows, got 2', path: '' })
  t.same(errOf(matrixCodec(), [[1, 2], [3]]), { message: 'expected 2 entries (as in row 0), got 1', path: '[1]' })
  t.same(errOf(matrixCodec(2, 2), [[1, 2], [3, '4']]).path, '[1][1]')
  t.same(errOf(matrixCodec(), [1, 2]).path, '[0]')
})

// -------------------------------------------------------------------------------------
// objects, options
// -------------------------------------------------------------------------------------

t.test('strictStruct refuses unknown keys at their path and missing required fields', async (t) => {
  const c = strictStruct('a point', { x: Finite }, { y: Finite })
  t.same(c.decode({ x: 1 }), E.right({ x: 1 }))
  t.same(errOf(c, { x: 1, z: 2 }), { message: 'unknown field "z"; expected one of x, y', path: 'z' })
  t.same(errOf(c, { y: 1 }), { message: 'missing required field (expected a finite number)', path: 'x' })
  t.ok(c.is({ x: 1, y: 2 }))
  t.notOk(c.is({ x: 1, z: 2 }))
  t.same(c.encode({ x: 1 }), { x: 1 })
})

t.test('optionsCodec checks every range', async (t) => {
  t.same(optionsCodec.decode({ schedule: 'paper', maxIterations: 3, tolerance: 0 }), E.right({ schedule: 'paper', maxIterations: 3, tolerance: 0 }))
  t.same(errOf(optionsCodec, { foo: 1 }).path, 'foo')
  t.match(errOf(optionsCodec, { foo: 1 }).message, /unknown option "foo"/)
  t.same(errOf(optionsCodec, { lipschitz: 0 }).path, 'lipschitz')
  t.same(errOf(optionsCodec, { beta0: -1 }).path, 'beta0')
  t.same(errOf(optionsCodec, { tolerance: -1 }).path, 'tolerance')
})

// -------------------------------------------------------------------------------------
// the operator P
// -------------------------------------------------------------------------------------

t.test('operatorCodec: dense, low rank and CSR forms', async (t) => {
  const d = operatorCodec.decode([[2, 1], [1, 2]])
  t.ok(E.isRight(d) && d.right.kind === 'dense' && d.right.n === 2)
  const l = operatorCodec.decode({ diag: [1, 2, 3] })
  t.ok(E.isRight(l) && l.right.kind === 'lowRank' && l.right.rank === 0)
  const c = operatorCodec.decode({ csr: { n: 2, rowPtr: [0, 1, 2], colIdx: [0, 1], values: [1, 2] } })
  t.ok(E.isRight(c) && c.right.kind === 'csr' && c.right.n === 2)
})

t.test('symmetry is relative to the largest entry, with tolerance 1e-10', async (t) => {
  t.ok(E.isRight(operatorCodec.decode([[1e6, 1], [1 + 1e-6, 1e6]])), 'an asymmetry of 1e-12 · max is accepted')
  t.same(errOf(operatorCodec, [[1, 1], [1 + 1e-8, 1]]).path, '[1][0]')
  t.ok(E.isRight(operatorCodec.decode([[0, 0], [0, 0]])), 'the zero matrix is symmetric')
})

t.test('CSR symmetry sums duplicates and compares each pair with its mirror', async (t) => {
  const dup = { csr: { n: 2, rowPtr: [0, 3, 4], colIdx: [0, 1, 1, 0], values: [1, 0.5, 0.5, 1] } }
  t.ok(E.isRight(operatorCodec.decode(dup)), '(0,1) stored twice as 0.5 + 0.5 matches (1,0) = 1')
  const e = errOf(operatorCodec, { csr: { n: 2, rowPtr: [0, 2, 3], colIdx: [0, 1, 1], values: [1, 1, 1] } })
  t.same(e.path, 'csr.values[1]')
  t.match(e.message, /symmetric/)
})

t.test('CSR structure errors come from the csr constructor with their paths', async (t) => {
  t.same(errOf(operatorCodec, { csr: { n: 2, rowPtr: [0, 1], colIdx: [0], values: [1] } }), { message: 'expected 3 entries, got 2', path: 'csr.rowPtr' })
  t.same(errOf(operatorCodec, { csr: { n: 2, rowPtr: [0, 1, 2], colIdx: [0, 2], values: [1, 1] } }).path, 'csr.colIdx[1]')
})

t.test('low-rank U must have one row per diagonal entry', async (t) => {
  t.same(errOf(operatorCodec, { diag: [1, 2], U: [[1]] }), { message: 'expected 2 rows, got 1', path: 'U' })
  const r = operatorCodec.decode({ diag: [1, 2], U: [[1, 2, 3], [4, 5, 6]] })
  t.ok(E.isRight(r) && r.right.kind === 'lowRank' && r.right.rank === 3)
})

// -------------------------------------------------------------------------------------
// tangents, problems
// -------------------------------------------------------------------------------------

t.test('tangent.P is n×n and only accepted with a dense P', async (t) => {
  t.ok(E.isRight(tangentCodec(2, 'dense').decode({ P: [[1, 0], [0, 1]] })))
  t.match(errOf(tangentCodec(2, 'lowRank'), { P: [[1, 0], [0, 1]] }), { path: 'P', message: /only when P is dense/ })
  t.match(errOf(tangentCodec(2, 'csr'), { P: [[1, 0], [0, 1]] }), { path: 'P', message: /only when P is dense/ })
  t.ok(E.isRight(tangentCodec(2, 'csr').decode({ q: [1, 2], t: 1 })), 'other directions are fine with any P')
})

t.test('decodeProblem shares one Dim across P, q, w, cotangent and tangent', async (t) => {
  const r = decodeProblem(fullBase())
  t.ok(E.isRight(r))
  if (E.isLeft(r)) return
  r.right((p) => {
    t.equal(p.n as number, 3)
    t.equal(p.P.dim, p.n)
    t.equal(p.q.dim, p.n)
    t.equal(p.w?.dim, p.n)
    t.equal(p.cotangent?.dim, p.n)
    t.equal(p.tangent?.q?.dim, p.n)
    t.equal(p.tangent?.P?.rows, p.n)
    t.same(Array.from(p.w!.data), [1, 0.5, 2])
    t.same(p.options, { schedule: 'default', backward: 'implicit', maxIterations: 50, tolerance: 1e-8, lipschitz: 10, beta0: 1 })
    return undefined
  })
})

t.test('decodeProblem fills the defaults: w all ones, set l1, no options', async (t) => {
  for (const base of [denseBase(), lowRankBase(), csrBase()]) {
    const r = decodeProblem(base)
    t.ok(E.isRight(r))
    if (E.isLeft(r)) continue
    r.right((p) => {
      t.same(Array.from(p.w!.data), [1, 1, 1])
      t.equal(p.set, 'l1')
      t.same(p.options, {})
      t.notOk('cotangent' in p)
      t.notOk('tangent' in p)
      return undefined
    })
  }
})

t.test('the three forms of P decode to the operators they describe', async (t) => {
  const dense3 = (b: Record<string, unknown>): number[] => {
    const r = decodeProblem(b)
    if (E.isLeft(r)) throw new Error(r.left.message)
    return r.right((p) => Array.from(toDense(p.P).data))
  }
  t.same(dense3(denseBase()), [2, 0, 0, 0, 3, 1, 0, 1, 4])
  t.same(dense3(csrBase()), [4, 1, 0, 1, 4, 1, 0, 1, 4])
  // diag(1,2,3) + U Uᵀ with U = [[1,0],[0.5,1],[0,2]]
  t.same(dense3(lowRankBase()), [2, 0.5, 0, 0.5, 3.25, 2, 0, 2, 7])
})

t.test('problemCodec encodes back to the JSON it decoded', async (t) => {
  for (const base of [fullBase(), lowRankBase(), csrBase(), { ...lowRankBase(), tangent: { q: [1, 2, 3] }, set: 'simplex' }]) {
    const r = problemCodec.decode(base)
    t.ok(E.isRight(r))
    if (E.isRight(r)) t.same(problemCodec.encode(r.right), base)
  }
})

t.test('paths get a batch prefix', async (t) => {
  t.same(leftOf(decodeProblem({ ...denseBase(), q: [1, 'x', 3] }, 'problems[2]')).path, 'problems[2].q[1]')
  t.same(leftOf(decodeProblem(null, 'problems[0]')).path, 'problems[0]')
  t.equal(prefixPath('problems[1]', '[0]'), 'problems[1][0]')
  t.equal(prefixPath('', 'P[3][1]'), 'P[3][1]')
})

t.test('batchCodec accepts any entries and refuses other keys', async (t) => {
  t.ok(E.isRight(batchCodec.decode({ problems: [1, null, {}] })))
  t.same(errOf(batchCodec, { problems: [], x: 1 }).path, 'x')
})

// -------------------------------------------------------------------------------------
// reporter
// -------------------------------------------------------------------------------------

t.test('pathOf skips the entries io-ts adds for union members', async (t) => {
  const U = io.union([io.type({ a: io.array(Finite) }), io.type({ b: Finite })])
  const r = U.decode({ a: [1, 'x'] })
  t.ok(E.isLeft(r))
  if (E.isLeft(r)) t.equal(pathOf(r.left[0]!.context), 'a[1]')
})

t.test('report takes the first error and says what was expected and what came', async (t) => {
  const r = io.type({ x: Finite, y: Finite }).decode({ x: 'a', y: 'b' })
  t.ok(E.isLeft(r))
  if (E.isLeft(r)) t.same(report(r.left), { message: 'expected a finite number, got "a"', path: 'x' })
  t.same(report([]), { message: 'invalid input', path: '' })
  t.equal(describeValue('x'.repeat(100)).length <= 41, true, 'long strings are cut')
  t.equal(describeValue([1, 2]), 'an array of 2 entries')
})

t.test('a large diag + low-rank problem decodes quickly through the fast array path', async (t) => {
  const n = 20000, r = 5
  const U = Array.from({ length: n }, (_, i) => Array.from({ length: r }, (_, k) => Math.sin(i + k)))
  const res = decodeProblem({ P: { diag: new Array(n).fill(1), U }, q: new Array(n).fill(0.5), t: 1 })
  t.ok(E.isRight(res))
  if (E.isRight(res)) t.equal(res.right((p) => (p.P.kind === 'lowRank' ? p.P.rank : -1)), r)
})

// -------------------------------------------------------------------------------------
// the table of malformed inputs, in-process
// -------------------------------------------------------------------------------------

t.test(`every malformed input exits 2 with an empty stdout and one error line (${BAD_CASES.length} cases)`, async (t) => {
  t.ok(BAD_CASES.length >= 40)
  for (const c of BAD_CASES) {
    const out = runText(c.text, stubLayer)
    t.equal(out.code, 2, `${c.name}: exit code`)
    t.equal(out.stdout, '', `${c.name}: nothing on stdout`)
    t.equal(out.stderr.split('\n').length, 2, `${c.name}: one line on stderr`)
    t.ok(out.stderr.endsWith('\n'), `${c.name}: the line ends`)
    const line = JSON.parse(out.stderr) as { error: { message: string; path: string } }
    t.same(Object.keys(line), ['error'], `${c.name}: only error`)
    t.same(Object.keys(line.error), ['message', 'path'], `${c.name}: message and path`)
    t.equal(line.error.path, c.path, `${c.name}: path`)
    if (c.message !== undefined) t.match(line.error.message, c.message, `${c.name}: message`)
    t.notMatch(line.error.message, /\n|\s+at\s+\S+\s+\(/, `${c.name}: no stack`)
  }
})

t.test('valid inputs of every form pass decoding (stub solver, exit 0)', async (t) => {
  for (const b of [denseBase(), lowRankBase(), csrBase(), fullBase()]) {
    const out = runText(toText(b), stubLayer)
    t.equal(out.code, 0, out.stderr)
    t.equal(out.stderr, '')
  }
})
