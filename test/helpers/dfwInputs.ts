/**
 * Inputs of `dfw solve` for the codec and CLI tests: valid small problems in the three P
 * forms, a table of malformed inputs with the path each must report, a stub layer for
 * running the CLI logic without the real solver, and a loader for the real one.
 */
import type { LayerFactory } from '../../src/cli/solve.js'
import { fill, unsafeVec } from '../../src/shapes/Vec.js'
import { zerosMat } from '../../src/shapes/Mat.js'

/** JSON.parse turns this literal into Infinity; the marker is replaced in the text. */
export const INF = '__INF__'
export const NEG_INF = '__NEG_INF__'

/** Serializes a problem, turning the markers into literals JSON.parse reads as ±Infinity. */
export const toText = (u: unknown): string =>
  JSON.stringify(u).replaceAll(`"${INF}"`, '1e999').replaceAll(`"${NEG_INF}"`, '-1e999')

/** A valid dense problem, n = 3. */
export const denseBase = (): Record<string, unknown> => ({
  P: [[2, 0, 0], [0, 3, 1], [0, 1, 4]],
  q: [1, -1, 0.5],
  t: 1
})

/** A valid diag + U Uᵀ problem, n = 3, r = 2. */
export const lowRankBase = (): Record<string, unknown> => ({
  P: { diag: [1, 2, 3], U: [[1, 0], [0.5, 1], [0, 2]] },
  q: [1, -1, 0.5],
  t: 2
})

/** A valid CSR problem, n = 3 (tridiagonal, symmetric). */
export const csrBase = (): Record<string, unknown> => ({
  P: { csr: { n: 3, rowPtr: [0, 2, 5, 7], colIdx: [0, 1, 0, 1, 2, 1, 2], values: [4, 1, 1, 4, 1, 1, 4] } },
  q: [1, -1, 0.5],
  t: 1
})

/** A valid dense problem with every optional field. */
export const fullBase = (): Record<string, unknown> => ({
  ...denseBase(),
  w: [1, 0.5, 2],
  set: 'l1',
  options: { schedule: 'default', backward: 'implicit', maxIterations: 50, tolerance: 1e-8, lipschitz: 10, beta0: 1 },
  cotangent: [1, 0, -1],
  tangent: { q: [0, 1, 0], w: [0, 0, 1], t: 1, P: [[1, 0, 0], [0, 0, 0], [0, 0, 0]] }
})

/** One malformed input and what `dfw solve` must say about it. */
export interface BadCase {
  readonly name: string
  readonly text: string
  readonly path: string
  readonly message?: RegExp
  /** Also run through the real process (a representative subset). */
  readonly subprocess?: boolean
}

const withField = (base: Record<string, unknown>, k: string, v: unknown): Record<string, unknown> => ({ ...base, [k]: v })
const without = (base: Record<string, unknown>, k: string): Record<string, unknown> => {
  const o = { ...base }
  delete o[k]
  return o
}
const d = denseBase
const bad = (name: string, u: unknown, path: string, message?: RegExp, subprocess = false): BadCase =>
  ({ name, text: typeof u === 'string' ? u : toText(u), path, ...(message === undefined ? {} : { message }), subprocess })
const raw = (name: string, text: string, path: string, message?: RegExp, subprocess = false): BadCase =>
  ({ name, text, path, ...(message === undefined ? {} : { message }), subprocess })

/** Malformed inputs, each with the path it must report. Every item of CONTRACT's list and more. */
export const BAD_CASES: readonly BadCase[] = [
  // not JSON, not an object
  raw('not JSON', '{"P": [[1]], ', '', /not JSON/, true),
  raw('empty input', '', '', /not JSON/),
  raw('garbage', 'hello', '', /not JSON/),
  raw('NaN literal', '{"P":[[1]],"q":[NaN],"t":1}', '', /not JSON/),
  raw('JSON null', 'null', '', /got null/),
  raw('JSON array', '[1, 2]', '', /got an array/),
  raw('JSON string', '"P"', '', /got "P"/),
  raw('JSON number', '3', '', /got 3/),
  // missing or wrongly typed fields
  bad('missing P', without(d(), 'P'), 'P', /missing/),
  bad('missing q', without(d(), 'q'), 'q', /missing/),
  bad('missing t', without(d(), 't'), 't', /missing required field \(expected a positive number\)/),
  bad('P null', withField(d(), 'P', null), 'P', /got null/),
  bad('P a string', withField(d(), 'P', '[[1]]'), 'P'),
  bad('P a number', withField(d(), 'P', 2), 'P'),
  bad('P an object with neither diag nor csr', withField(d(), 'P', { rows: [[1]] }), 'P'),
  bad('P flat (depth 1)', withField(d(), 'P', [2, 0, 0]), 'P[0]', /expected an array of finite numbers, got 2/),
  bad('P too deep (depth 3)', withField(d(), 'P', [[[2], [0], [0]], [[0], [3], [1]], [[0], [1], [4]]]), 'P[0][0]', /got an array/),
  bad('P entry a string', withField(d(), 'P', [[2, 0, 0], [0, '3', 1], [0, 1, 4]]), 'P[1][1]', /expected a finite number, got "3"/),
  bad('P entry null', withField(d(), 'P', [[2, 0, null], [0, 3, 1], [0, 1, 4]]), 'P[0][2]', /got null/),
  bad('P entry 1e999', withField(d(), 'P', [[INF, 0, 0], [0, 3, 1], [0, 1, 4]]), 'P[0][0]', /got Infinity/, true),
  bad('P entry -1e999', withField(d(), 'P', [[2, 0, 0], [0, 3, 1], [0, 1, NEG_INF]]), 'P[2][2]', /got -Infinity/),
  bad('P empty', withField(d(), 'P', []), 'P', /n ≥ 1/),
  bad('P not square (2×3)', withField(d(), 'P', [[2, 0, 0], [0, 3, 1]]), 'P', /square/, true),
  bad('P not square (row of 0)', withField(d(), 'P', [[]]), 'P', /square/),
  bad('P ragged rows', withField(d(), 'P', [[2, 0, 0], [0, 3], [0, 1, 4]]), 'P[1]', /expected 3 entries/),
  bad('P not symmetric', withField(d(), 'P', [[2, 0, 0], [0, 3, 1], [0, 5, 4]]), 'P[2][1]', /symmetric/, true),
  bad('P not symmetric (first offender in row order)', withField(d(), 'P', [[2, 0, 7], [0, 3, 1], [0, 5, 4]]), 'P[2][0]', /symmetric/),
  bad('P asymmetric beyond 1e-10 relative', withField(d(), 'P', [[2, 0, 0], [0, 3, 1], [0, 1 + 1e-9, 4]]), 'P[2][1]', /symmetric/),
  bad('P size disagrees with q', withField(d(), 'P', [[2, 0], [0, 3]]), 'q', /expected 2 entries, got 3/),
  // q
  bad('q a string entry', withField(d(), 'q', [1, '-1', 0.5]), 'q[1]', /expected a finite number, got "-1"/),
  bad('q too short', withField(d(), 'q', [1, -1]), 'q', /expected 3 entries, got 2/),
  bad('q too long', withField(d(), 'q', [1, -1, 0.5, 2]), 'q', /expected 3 entries, got 4/),
  bad('q entry 1e999', withField(d(), 'q', [1, -1, INF]), 'q[2]', /Infinity/),
  bad('q nested one level too deep', withField(d(), 'q', [[1], [-1], [0.5]]), 'q[0]', /got an array/),
  bad('q an object', withField(d(), 'q', { 0: 1 }), 'q', /got an object/),
  bad('q a boolean entry', withField(d(), 'q', [true, 0, 0]), 'q[0]', /got true/),
  // t
  bad('t = 0', withField(d(), 't', 0), 't', /expected a positive number, got 0/, true),
  bad('t negative', withField(d(), 't', -1), 't', /positive/),
  bad('t a string', withField(d(), 't', '1'), 't', /got "1"/),
  bad('t null', withField(d(), 't', null), 't', /got null/),
  bad('t 1e999', withField(d(), 't', INF), 't', /Infinity/),
  bad('t an array', withField(d(), 't', [1]), 't'),
  bad('t a boolean', withField(d(), 't', true), 't'),
  // w
  bad('a negative weight', withField(d(), 'w', [1, -0.5, 1]), 'w[1]', /expected a positive number, got -0.5/, true),
  bad('a zero weight', withField(d(), 'w', [0, 1, 1]), 'w[0]', /positive/),
  bad('w of wrong length', withField(d(), 'w', [1, 1]), 'w', /expected 3 entries, got 2/),
  bad('w null', withField(d(), 'w', null), 'w'),
  bad('w entry a string', withField(d(), 'w', [1, 1, 'x']), 'w[2]'),
  // set
  bad('unknown set', withField(d(), 'set', 'l3'), 'set', /one of "l1", "linf", "l2", "simplex"/),
  bad('set a number', withField(d(), 'set', 1), 'set'),
  bad('set in upper case', withField(d(), 'set', 'L1'), 'set'),
  // options
  bad('unknown option', withField(d(), 'options', { foo: 1 }), 'options.foo', /unknown option "foo"/, true),
  bad('options null', withField(d(), 'options', null), 'options'),
  bad('options an array', withField(d(), 'options', []), 'options'),
  bad('maxIterations 0', withField(d(), 'options', { maxIterations: 0 }), 'options.maxIterations', /integer ≥ 1/),
  bad('maxIterations not an integer', withField(d(), 'options', { maxIterations: 2.5 }), 'options.maxIterations', /got 2.5/),
  bad('maxIterations a string', withField(d(), 'options', { maxIterations: '10' }), 'options.maxIterations', /got "10"/),
  bad('maxIterations beyond safe integers', withField(d(), 'options', { maxIterations: 1e300 }), 'options.maxIterations'),
  bad('tolerance negative', withField(d(), 'options', { tolerance: -1e-9 }), 'options.tolerance', /≥ 0/),
  bad('tolerance 1e999', withField(d(), 'options', { tolerance: INF }), 'options.tolerance', /Infinity/),
  bad('lipschitz 0', withField(d(), 'options', { lipschitz: 0 }), 'options.lipschitz', /positive/),
  bad('beta0 negative', withField(d(), 'options', { beta0: -1 }), 'options.beta0', /positive/),
  bad('unknown schedule', withField(d(), 'options', { schedule: 'fast' }), 'options.schedule', /"paper", "default"/),
  bad('unknown backward', withField(d(), 'options', { backward: 'both' }), 'options.backward', /"unrolled", "implicit"/),
  bad('unknown option after valid ones', withField(d(), 'options', { maxIterations: 5, Tolerance: 0 }), 'options.Tolerance'),
  // unknown fields
  bad('unknown top-level field', withField(d(), 'foo', 1), 'foo', /unknown field "foo"/),
  bad('a misspelt field', withField(without(d(), 'q'), 'Q', [1, -1, 0.5]), 'Q', /unknown field "Q"/),
  raw('a __proto__ field', '{"P":[[2]],"q":[1],"t":1,"__proto__":{"x":1}}', '__proto__', /unknown field/),
  // diag + U Uᵀ
  bad('diag shorter than q', withField(lowRankBase(), 'P', { diag: [1, 2] }), 'q', /expected 2 entries, got 3/),
  bad('U with a missing row', withField(lowRankBase(), 'P', { diag: [1, 2, 3], U: [[1, 0], [0, 1]] }), 'P.U', /expected 3 rows, got 2/, true),
  bad('U ragged', withField(lowRankBase(), 'P', { diag: [1, 2, 3], U: [[1, 0], [0], [0, 2]] }), 'P.U[1]', /expected 2 entries/),
  bad('U entry a string', withField(lowRankBase(), 'P', { diag: [1, 2, 3], U: [[1, 'a'], [0, 1], [0, 2]] }), 'P.U[0][1]'),
  bad('U flat', withField(lowRankBase(), 'P', { diag: [1, 2, 3], U: [1, 2, 3] }), 'P.U[0]'),
  bad('diag entry null', withField(lowRankBase(), 'P', { diag: [1, null, 3] }), 'P.diag[1]'),
  bad('diag empty', withField(lowRankBase(), 'P', { diag: [] }), 'P.diag', /n ≥ 1/),
  bad('unknown key in the low-rank P', withField(lowRankBase(), 'P', { diag: [1, 2, 3], V: [] }), 'P.V', /unknown field "V"/),
  // CSR
  bad('CSR rowPtr of wrong length', withField(csrBase(), 'P', { csr: { n: 3, rowPtr: [0, 2, 5], colIdx: [0, 1, 0, 1, 2], values: [4, 1, 1, 4, 1] } }), 'P.csr.rowPtr', /expected 4 entries, got 3/, true),
  bad('CSR rowPtr decreasing', withField(csrBase(), 'P', { csr: { n: 3, rowPtr: [0, 3, 2, 7], colIdx: [0, 1, 0, 1, 2, 1, 2], values: [4, 1, 1, 4, 1, 1, 4] } }), 'P.csr.rowPtr[2]'),
  bad('CSR rowPtr not ending at nnz', withField(csrBase(), 'P', { csr: { n: 3, rowPtr: [0, 2, 5, 6], colIdx: [0, 1, 0, 1, 2, 1, 2], values: [4, 1, 1, 4, 1, 1, 4] } }), 'P.csr.rowPtr[3]'),
  bad('CSR column out of range', withField(csrBase(), 'P', { csr: { n: 3, rowPtr: [0, 2, 5, 7], colIdx: [0, 1, 0, 1, 3, 1, 2], values: [4, 1, 1, 4, 1, 1, 4] } }), 'P.csr.colIdx[4]'),
  bad('CSR colIdx and values of different lengths', withField(csrBase(), 'P', { csr: { n: 3, rowPtr: [0, 2, 5, 7], colIdx: [0, 1, 0, 1, 2, 1], values: [4, 1, 1, 4, 1, 1, 4] } }), 'P.csr.colIdx'),
  bad('CSR n missing', withField(csrBase(), 'P', { csr: { rowPtr: [0, 1], colIdx: [0], values: [1] } }), 'P.csr.n', /missing/),
  bad('CSR n zero', withField(csrBase(), 'P', { csr: { n: 0, rowPtr: [0], colIdx: [], values: [] } }), 'P.csr.n'),
  bad('CSR value 1e999', withField(csrBase(), 'P', { csr: { n: 3, rowPtr: [0, 2, 5, 7], colIdx: [0, 1, 0, 1, 2, 1, 2], values: [4, 1, 1, INF, 1, 1, 4] } }), 'P.csr.values[3]'),
  bad('CSR not symmetric (the entry below the diagonal is named)', withField(csrBase(), 'P', { csr: { n: 3, rowPtr: [0, 2, 5, 7], colIdx: [0, 1, 0, 1, 2, 1, 2], values: [4, 2, 1, 4, 1, 1, 4] } }), 'P.csr.values[2]', /symmetric/),
  bad('CSR missing the mirror entry', withField(csrBase(), 'P', { csr: { n: 3, rowPtr: [0, 1, 3, 4], colIdx: [0, 1, 2, 2], values: [4, 4, 1, 4] } }), 'P.csr.values[2]', /symmetric/),
  bad('unknown key in csr', withField(csrBase(), 'P', { csr: { n: 1, rowPtr: [0, 1], colIdx: [0], values: [1], nnz: 1 } }), 'P.csr.nnz'),
  bad('csr next to diag', withField(csrBase(), 'P', { csr: { n: 1, rowPtr: [0, 1], colIdx: [0], values: [1] }, diag: [1] }), 'P.diag'),
  // cotangent and tangent
  bad('cotangent of wrong length', withField(d(), 'cotangent', [1, 0]), 'cotangent', /expected 3 entries, got 2/),
  bad('cotangent entry a string', withField(d(), 'cotangent', ['1', 0, 0]), 'cotangent[0]'),
  bad('cotangent a number', withField(d(), 'cotangent', 1), 'cotangent'),
  bad('tangent.q of wrong length', withField(d(), 'tangent', { q: [1] }), 'tangent.q', /expected 3 entries, got 1/, true),
  bad('tangent.w of wrong length', withField(d(), 'tangent', { w: [1, 2, 3, 4] }), 'tangent.w'),
  bad('tangent.t a string', withField(d(), 'tangent', { t: 'one' }), 'tangent.t'),
  bad('tangent.t 1e999', withField(d(), 'tangent', { t: INF }), 'tangent.t'),
  bad('tangent.P not n×n', withField(d(), 'tangent', { P: [[1, 0], [0, 1]] }), 'tangent.P', /expected 3 rows, got 2/),
  bad('tangent.P with a short row', withField(d(), 'tangent', { P: [[1, 0, 0], [0, 1], [0, 0, 1]] }), 'tangent.P[1]'),
  bad('tangent.P with a low-rank P', withField(lowRankBase(), 'tangent', { P: [[1, 0, 0], [0, 0, 0], [0, 0, 0]] }), 'tangent.P', /only when P is dense/),
  bad('tangent.P with a CSR P', withField(csrBase(), 'tangent', { P: [[1, 0, 0], [0, 0, 0], [0, 0, 0]] }), 'tangent.P', /only when P is dense/),
  bad('unknown key in tangent', withField(d(), 'tangent', { x: [1, 2, 3] }), 'tangent.x', /unknown field "x"/),
  bad('tangent an array', withField(d(), 'tangent', [1, 2, 3]), 'tangent'),
  // batches that are malformed as a whole
  bad('problems not an array', { problems: { 0: denseBase() } }, 'problems', /expected an array/),
  bad('problems null', { problems: null }, 'problems'),
  bad('a batch with an extra key', { problems: [denseBase()], t: 1 }, 't', /unknown field "t"/)
]

/**
 * A stand-in solver for the CLI logic when the real one is absent: x = 0 (feasible for
 * l1/linf/l2), one iteration, zero derivatives (in every parameter any set has: the CLI
 * writes the set's own). Labelled so no one mistakes it for a solver.
 */
export const stubLayer: LayerFactory = () => (problem) => {
  const n = problem.P.dim
  return {
    x: fill(n, 0),
    objective: 0,
    gap: 0,
    iterations: 1,
    status: 'converged',
    vjp: () => ({ q: fill(n, 0), w: fill(n, 0), t: 0, lower: fill(n, 0), upper: fill(n, 0), k: 0, ...(problem.P.kind === 'dense' ? { P: zerosMat(n, n) } : {}) }),
    jvp: () => fill(n, 0)
  }
}

/** A solver whose result holds a NaN in x[1] and Infinity in the objective when asked. */
export const nanLayer = (where: 'x' | 'objective' | 'vjp' | 'jvp'): LayerFactory => () => (problem) => {
  const n = problem.P.dim
  const x = new Float64Array(n)
  if (where === 'x') x[Math.min(1, n - 1)] = NaN
  const bad = new Float64Array(n).fill(Infinity)
  return {
    x: unsafeVec(n, x),
    objective: where === 'objective' ? Infinity : 0,
    gap: 0,
    iterations: 1,
    status: 'converged',
    vjp: () => ({ q: where === 'vjp' ? unsafeVec(n, bad) : fill(n, 0), w: fill(n, 0), t: 0 }),
    jvp: () => (where === 'jvp' ? unsafeVec(n, bad) : fill(n, 0))
  }
}

/** A solver that throws. */
export const throwingLayer: LayerFactory = () => () => { throw new RangeError('no convergence\n    at fake (stack.ts:1:1)') }
