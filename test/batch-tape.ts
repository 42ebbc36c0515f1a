// The batched fold's tape goes back to a pool after the batch's vjp (src/fw/batch/Unrolled.ts,
// `release`), and the next solve of the same shape writes the same slabs. A solution whose
// tape went back still answers every derivative bitwise as before: its vjp and jvp record
// the tape again from the same θ, and P's gradient from an earlier vjp reads copies, not
// the tape. An operator written after the solve is refused (path P) instead of silently
// giving another problem's derivative.
import t from 'tap'
import { unsafeDim } from '../src/shapes/Dim.js'
import type { Mat } from '../src/shapes/Mat.js'
import { dense } from '../src/core/LinearOperator.js'
import { dfwBatchSolve, LayerError, type BatchProblem, type BatchGradients } from '../src/fw/index.js'
import { type N, randomPlain, rng } from './helpers/layerFixtures.js'

const PAPER_UNROLLED = { schedule: 'paper', backward: 'unrolled', tolerance: 0, maxIterations: 40 } as const

/** '' when a and b hold the same numbers bit for bit (Object.is), else the first difference. */
const bits = (a: ArrayLike<number>, b: ArrayLike<number>): string => {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `[${i}]: ${String(a[i])} vs ${String(b[i])}`
  return ''
}

const B = 7, n = 5
const bD = unsafeDim<'B'>(B), nD = unsafeDim<N>(n)
const mat = (data: Float64Array): Mat<'B', N> => ({ rows: bD, cols: nD, data })

const batchOf = (seed: number, P: Float64Array = Float64Array.from(randomPlain(rng(99), n, 0.3).P)): BatchProblem<'B', N> => {
  const r = rng(seed)
  return {
    P: dense({ rows: nD, cols: nD, data: P }),
    q: mat(Float64Array.from({ length: B * n }, () => r.normal())),
    w: mat(Float64Array.from({ length: B * n }, () => 0.5 + r.uniform())),
    t: { dim: bD, data: Float64Array.from({ length: B }, () => 0.2 + r.uniform()) }
  }
}

/** H diag(d) H with H the Householder reflection of v: a symmetric P with eigenvalues d. */
const spectral = (d: readonly number[], v: readonly number[]): Float64Array => {
  const vv = v.reduce((s, x) => s + x * x, 0), P = new Float64Array(n * n)
  const H = (i: number, j: number): number => (i === j ? 1 : 0) - (2 * v[i]! * v[j]!) / vv
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { let s = 0; for (let k = 0; k < n; k++) s += H(i, k) * d[k]! * H(k, j); P[i * n + j] = s }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) P[i * n + j] = P[j * n + i]!
  return P
}

/** The operators the recording is checked on: ordinary, ill-conditioned, rank-deficient, large and tiny entries. */
const operators: ReadonlyArray<readonly [string, Float64Array]> = [
  ['ordinary P', Float64Array.from(randomPlain(rng(99), n, 0.3).P)],
  ['cond(P) = 1e8', spectral([1, 1e-2, 1e-4, 1e-6, 1e-8], [1, -2, 0.5, 3, 1])],
  ['rank 2 of 5', spectral([3, 0.7, 0, 0, 0], [2, 1, -1, 0.5, 1])],
  ['entries ~1e6', spectral([4e6, 2e6, 1e6, 5e5, 1e5], [1, 1, -1, 2, 0.3])],
  ['entries ~1e-6', spectral([4e-6, 2e-6, 1e-6, 5e-7, 1e-7], [1, 1, -1, 2, 0.3])]
]

const ct = mat(Float64Array.from({ length: B * n }, (_, k) => Math.sin(k + 1)))
const dq = mat(Float64Array.from({ length: B * n }, (_, k) => Math.cos(2 * k + 1)))

const gradsOf = (g: BatchGradients<'B', N>): Float64Array[] => [g.q.data, g.w.data, g.t.data, g.pSum().data, ...g.pEach().map((m) => m!.data)]

for (const [name, P] of operators) t.test(`${name}: a solution whose tape went to the next solve answers its vjp, jvp and per-instance maps bitwise as a fresh solve`, async (t) => {
  const solve = dfwBatchSolve(PAPER_UNROLLED)
  const ref = solve(batchOf(1, P))
  const refG = gradsOf(ref.vjp(ct)), refJ = ref.jvp({ q: dq }).data
  const refR = ref.results.map((r) => (r._tag === 'Right' ? r.right.vjp({ dim: nD, data: ct.data.subarray(0, n) }).q.data : undefined))

  const a = solve(batchOf(1, P))
  const refResults = ref.results
  t.equal(refResults.length, B)
  const g1 = a.vjp(ct) // the tape goes back to the pool here
  // the next solves of the same shape take the slabs and write them
  for (let s = 2; s < 5; s++) solve(batchOf(s, P)).vjp(ct)
  // the instances' results, first made now, after the slabs were written by other solves
  const fields = (r: (typeof a.results)[number]): number[] => (r._tag === 'Right' ? [...r.right.x.data, r.right.objective, r.right.gap, r.right.iterations] : [NaN])
  t.equal(a.results.map((r, b) => bits(fields(r), fields(refResults[b]!))).join(''), '', 'each instance\'s x and certificate, made after the reuse')
  // P's gradients of the first vjp, read only now, after the slabs were written
  t.equal(gradsOf(g1).map((x, i) => bits(x, refG[i]!)).join(''), '', 'the first vjp, its P gradients read after the slabs were reused')
  const g2 = a.vjp(ct)
  t.equal(gradsOf(g2).map((x, i) => bits(x, refG[i]!)).join(''), '', 'a second vjp (the tape recorded again)')
  solve(batchOf(9, P)).vjp(ct)
  t.equal(bits(a.jvp({ q: dq }).data, refJ), '', 'jvp after the slabs were reused')
  const rs = a.results.map((r) => (r._tag === 'Right' ? r.right.vjp({ dim: nD, data: ct.data.subarray(0, n) }).q.data : undefined))
  t.equal(rs.map((x, b) => (x === undefined || refR[b] === undefined ? 'missing' : bits(x, refR[b]!))).join(''), '', 'each instance\'s own vjp')
  t.equal(bits(a.x.data, ref.x.data), '', 'x itself')
})

t.test('an operator written after the solve is refused when the tape has to be recorded again', async (t) => {
  const solve = dfwBatchSolve(PAPER_UNROLLED)
  const P = Float64Array.from(randomPlain(rng(5), n, 0.3).P)
  const sol = solve(batchOf(3, P))
  sol.vjp(ct)
  P[0] = P[0]! + 1
  let err: unknown
  try { sol.vjp(ct) } catch (e) { err = e }
  t.ok(err instanceof LayerError, 'a LayerError')
  t.equal((err as LayerError).path, 'P')
  t.match((err as LayerError).message, /written after the solve/)
  // the operator restored: the same derivative again
  P[0] = P[0]! - 1
  const fresh = dfwBatchSolve(PAPER_UNROLLED)(batchOf(3, P)).vjp(ct)
  t.equal(bits(sol.vjp(ct).q.data, fresh.q.data), '', 'restored: the derivative of the problem it solved')
})

t.test('releaseTapePool empties the pool, and the solves after it give the same bits', async (t) => {
  const { releaseTapePool, tapePoolBytes } = await import('../src/fw/index.js')
  const solve = dfwBatchSolve(PAPER_UNROLLED)
  const before = solve(batchOf(5))
  const x0 = before.x.data.slice(), g0 = gradsOf(before.vjp(ct)).map((a) => a.slice())
  const held = tapePoolBytes()
  t.ok(held > 0, `the vjp gave its tape back to the pool (${held} bytes)`)
  t.equal(releaseTapePool(), held, 'the release returns the bytes the pool held')
  t.equal(tapePoolBytes(), 0, 'the pool is empty after it')
  t.equal(releaseTapePool(), 0, 'a second release finds nothing')
  const after = solve(batchOf(5))
  t.equal(bits(after.x.data, x0), '', 'x after the release: the same bits')
  const g1 = gradsOf(after.vjp(ct))
  g0.forEach((g, i) => t.equal(bits(g1[i]!, g), '', `gradient ${i} after the release: the same bits`))
  t.ok(tapePoolBytes() > 0, 'the run after the release pools its tape again')
})
