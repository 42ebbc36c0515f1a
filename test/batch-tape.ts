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

const ct = mat(Float64Array.from({ length: B * n }, (_, k) => Math.sin(k + 1)))
const dq = mat(Float64Array.from({ length: B * n }, (_, k) => Math.cos(2 * k + 1)))

const gradsOf = (g: BatchGradients<'B', N>): Float64Array[] => [g.q.data, g.w.data, g.t.data, g.pSum().data, ...g.pEach().map((m) => m!.data)]

t.test('a solution whose tape went to the next solve answers its vjp, jvp and per-instance maps bitwise as a fresh solve', async (t) => {
  const solve = dfwBatchSolve(PAPER_UNROLLED)
  const ref = solve(batchOf(1))
  const refG = gradsOf(ref.vjp(ct)), refJ = ref.jvp({ q: dq }).data
  const refR = ref.results.map((r) => (r._tag === 'Right' ? r.right.vjp({ dim: nD, data: ct.data.subarray(0, n) }).q.data : undefined))

  const a = solve(batchOf(1))
  const refResults = ref.results
  t.equal(refResults.length, B)
  const g1 = a.vjp(ct) // the tape goes back to the pool here
  // the next solves of the same shape take the slabs and write them
  for (let s = 2; s < 5; s++) solve(batchOf(s)).vjp(ct)
  // the instances' results, first made now, after the slabs were written by other solves
  const fields = (r: (typeof a.results)[number]): number[] => (r._tag === 'Right' ? [...r.right.x.data, r.right.objective, r.right.gap, r.right.iterations] : [NaN])
  t.equal(a.results.map((r, b) => bits(fields(r), fields(refResults[b]!))).join(''), '', 'each instance\'s x and certificate, made after the reuse')
  // P's gradients of the first vjp, read only now, after the slabs were written
  t.equal(gradsOf(g1).map((x, i) => bits(x, refG[i]!)).join(''), '', 'the first vjp, its P gradients read after the slabs were reused')
  const g2 = a.vjp(ct)
  t.equal(gradsOf(g2).map((x, i) => bits(x, refG[i]!)).join(''), '', 'a second vjp (the tape recorded again)')
  solve(batchOf(9)).vjp(ct)
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
