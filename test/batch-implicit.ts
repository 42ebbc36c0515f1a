// The batch's implicit path (src/fw/batch/Implicit.ts, through dfwBatchSolve and dfwBatch):
// every instance's result is bitwise dfwLayer's for it alone (x, objective, gap,
// iterations, status, face, polish, vjp, jvp), the batched vjp's q, w and t rows are the
// instances' own vjps, pEach their P gradients and pSum those summed in instance order
// (bitwise), on shared and per-instance P (dense, diagonal + low rank, CSR), on an
// ill-conditioned P (cond 1e6) and a rank-deficient one, with instances that stop at
// different steps and a bad instance that is its own Left.
import t, { type Test } from 'tap'
import * as E from 'fp-ts/lib/Either.js'
import { unsafeDim } from '../src/shapes/Dim.js'
import type { Mat } from '../src/shapes/Mat.js'
import { type LinearOperator, dense, lowRank, csr } from '../src/core/LinearOperator.js'
import { dfwBatch, dfwBatchSolve, dfwLayer, LayerError, type BatchProblem, type LayerOptions } from '../src/fw/index.js'
import type { Problem, SetKind } from '../src/fw/Problem.js'
import { batchValidator } from '../src/fw/batch/Validate.js'
import { solveValidated, type Validated } from '../src/fw/batch/Engine.js'
import { withCall } from '../src/fw/Layer.js'
import { implicitDerivative } from '../src/fw/Implicit.js'
import { type N, matOf, randomPlain, rng, vec } from './helpers/layerFixtures.js'
import type { Rng } from '../src/core/Random.js'

const bits = (a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined): string => {
  if (a === undefined || b === undefined) return a === b ? '' : 'one is undefined'
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `[${i}]: ${a[i]} vs ${b[i]}`
  return ''
}
const normals = (r: Rng, k: number, s = 1): Float64Array => Float64Array.from({ length: k }, () => s * r.normal())
const dimN = (n: number) => unsafeDim<N>(n)
const rowsOf = (B: number, n: number, data: Float64Array): Mat<'B', N> => ({ rows: unsafeDim<'B'>(B), cols: dimN(n), data })

const denseOp = (n: number, data: ArrayLike<number>): LinearOperator<N> => dense(matOf(n, data))
const lowRankOp = (r: Rng, n: number, rank: number): LinearOperator<N> =>
  lowRank(vec(Float64Array.from({ length: n }, () => 0.5 + r.uniform())), rank, normals(r, n * rank, 1 / Math.sqrt(n)))
const csrOp = (r: Rng, n: number): LinearOperator<N> => {
  const rp = [0], ci: number[] = [], vs: number[] = []
  const off = Float64Array.from({ length: n - 1 }, () => 0.4 * (r.uniform() - 0.5))
  for (let i = 0; i < n; i++) {
    if (i > 0) { ci.push(i - 1); vs.push(off[i - 1]!) }
    ci.push(i); vs.push(1 + r.uniform())
    if (i < n - 1) { ci.push(i + 1); vs.push(off[i]!) }
    rp.push(ci.length)
  }
  const op = csr(dimN(n), rp, ci, vs)
  if (E.isLeft(op)) throw new Error(op.left.message)
  return op.right
}

/** Q diag(λ) Qᵀ with λ geometric from 1 to 1/cond (Q from a Gram–Schmidt of normals); λ = 0 past `rank`. */
const spectral = (r: Rng, n: number, cond: number, rank = n): Float64Array => {
  const Q: Float64Array[] = []
  for (let k = 0; k < n; k++) {
    const v = normals(r, n)
    for (const u of Q) { let d = 0; for (let i = 0; i < n; i++) d += u[i]! * v[i]!; for (let i = 0; i < n; i++) v[i] = v[i]! - d * u[i]! }
    let s = 0
    for (let i = 0; i < n; i++) s += v[i]! * v[i]!
    s = Math.sqrt(s)
    for (let i = 0; i < n; i++) v[i] = v[i]! / s
    Q.push(v)
  }
  const P = new Float64Array(n * n)
  for (let k = 0; k < rank; k++) {
    const l = cond ** (-k / Math.max(rank - 1, 1)), u = Q[k]!
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) P[i * n + j] = P[i * n + j]! + l * u[i]! * u[j]!
  }
  // exactly symmetric
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) { const m = 0.5 * (P[i * n + j]! + P[j * n + i]!); P[i * n + j] = m; P[j * n + i] = m }
  return P
}

/** B instances of size n with per-instance q (scales over decades, so that they stop at different steps), w and t. */
const batchOf = (r: Rng, B: number, n: number, P: LinearOperator<N> | LinearOperator<N>[], set: SetKind): BatchProblem<'B', N> => {
  const q = new Float64Array(B * n)
  for (let b = 0; b < B; b++) { const s = [1, 0.01, 30, 0.3, 3, 100][b % 6]!; for (let i = 0; i < n; i++) q[b * n + i] = s * r.normal() }
  const w = Float64Array.from({ length: B * n }, () => 0.5 + r.uniform())
  const tt = Float64Array.from({ length: B }, () => 0.2 + r.uniform())
  return { P, q: rowsOf(B, n, q), ...(set === 'l1' ? { w: rowsOf(B, n, w) } : {}), t: { dim: unsafeDim<'B'>(B), data: tt }, set }
}

/** Instance b of a batch as a Problem (copies). */
const instance = (batch: BatchProblem<'B', N>, b: number): Problem<N> => {
  const n = batch.q.cols as number
  const P = (Array.isArray(batch.P) ? batch.P[b] : batch.P) as LinearOperator<N>
  const w = batch.w as Mat<'B', N> | undefined
  return {
    P, q: vec(batch.q.data.slice(b * n, b * n + n)),
    ...(w === undefined ? {} : { w: vec(w.data.slice(b * n, b * n + n)) }),
    t: (batch.t as { data: Float64Array }).data[b]!, ...(batch.set === undefined ? {} : { set: batch.set })
  }
}

/** Which instances the engine kept an implicit derivative for. */
const keptOf = (options: LayerOptions, problems: ReadonlyArray<Problem<N>>): boolean[] => withCall(() => {
  const v = batchValidator(options)
  const items: Validated<N>[] = problems.map((p) => {
    try { return E.right({ ...v.check(p), problem: p }) } catch (e) { return E.left(e as LayerError) }
  })
  return solveValidated(options, items).kept.map((k) => k !== undefined)
})

/**
 * dfwBatchSolve against dfwLayer alone, instance by instance: every field bitwise, the batched
 * vjp's rows, pEach and pSum (the alone P gradients summed in instance order), the batched jvp.
 */
const checkBatch = (t: Test, label: string, options: LayerOptions, batch: BatchProblem<'B', N>, r: Rng, bad: readonly number[] = []): number[] => {
  const B = batch.q.rows as number, n = batch.q.cols as number
  const sol = dfwBatchSolve(options)(batch)
  const ct = rowsOf(B, n, normals(r, B * n))
  const dq = rowsOf(B, n, normals(r, B * n))
  const g = sol.vjp(ct), dx = sol.jvp({ q: dq })
  const each = g.pEach(), sum = g.pSum()
  const pSum = new Float64Array(n * n)
  const its: number[] = []
  const problems = Array.from({ length: B }, (_, b) => instance(batch, b))
  const kept = keptOf(options, problems)
  for (let b = 0; b < B; b++) {
    const got = sol.results[b]!
    let alone
    try { alone = dfwLayer(options)(problems[b]!) } catch (e) {
      t.ok(E.isLeft(got) && e instanceof LayerError && got.left.message === e.message, `${label} [${b}]: the same error as alone (${(e as Error).message})`)
      t.ok(bad.includes(b), `${label} [${b}]: only a bad instance fails`)
      continue
    }
    if (E.isLeft(got)) { t.fail(`${label} [${b}]: a Left (${got.left.message}) where alone succeeds`); continue }
    t.ok(kept[b], `${label} [${b}]: solved by the batch's implicit path`)
    const x = got.right
    const d: string[] = []
    const note = (what: string, s: string): void => { if (s !== '') d.push(`${what} ${s}`) }
    note('x', bits(x.x.data, alone.x.data))
    note('row of x', bits(sol.x.data.subarray(b * n, b * n + n), alone.x.data))
    note('objective', bits([x.objective, x.gap, x.iterations], [alone.objective, alone.gap, alone.iterations]))
    if (x.status !== alone.status) d.push(`status ${x.status} vs ${alone.status}`)
    note('face/polish', JSON.stringify([x.face, x.polish]) === JSON.stringify([alone.face, alone.polish]) ? '' : `${JSON.stringify([x.face, x.polish])} vs ${JSON.stringify([alone.face, alone.polish])}`)
    const c = vec(ct.data.slice(b * n, b * n + n))
    const ga = alone.vjp(c), gb = x.vjp(c)
    note('vjp.q', bits(g.q.data.subarray(b * n, b * n + n), ga.q.data))
    note('vjp.w', bits(g.w.data.subarray(b * n, b * n + n), ga.w.data))
    note('vjp.t', bits([g.t.data[b]!], [ga.t]))
    note('pEach', bits(each[b]?.data, ga.P?.data))
    note('result.vjp', bits([...gb.q.data, ...gb.w.data, gb.t, ...(gb.P?.data ?? [])], [...ga.q.data, ...ga.w.data, ga.t, ...(ga.P?.data ?? [])]))
    note('jvp', bits(dx.data.subarray(b * n, b * n + n), alone.jvp({ q: vec(dq.data.slice(b * n, b * n + n)) }).data))
    if (ga.P !== undefined) for (let k = 0; k < n * n; k++) pSum[k] = pSum[k]! + ga.P.data[k]!
    t.same(d, [], `${label} [${b}]: bitwise dfwLayer alone (iterations ${alone.iterations}, ${alone.status})`)
    its.push(alone.iterations)
  }
  for (const b of bad) t.ok(E.isLeft(sol.results[b]!), `${label} [${b}]: the bad instance is a Left`)
  t.equal(bits(sum.data, pSum), '', `${label}: pSum is the instances' P gradients summed in order, bitwise`)
  return its
}

t.test('implicit batch, shared dense P, every set: bitwise alone; the instances stop at different steps', async (t) => {
  for (const set of ['l1', 'linf', 'l2', 'simplex'] as const) {
    const r = rng(11)
    const n = 12, B = 6
    const P = denseOp(n, randomPlain(r, n, 0.3).P)
    const its = checkBatch(t, `${set}`, {}, batchOf(r, B, n, P, set), r)
    if (set === 'l1') t.ok(new Set(its).size >= 3, `l1: different stop iterations (${its.join(', ')})`)
  }
})

t.test('implicit batch, per-instance P (dense, two sharing one object, low rank, CSR) and a shared low-rank and CSR P', async (t) => {
  const r = rng(12)
  const n = 9
  const shared = denseOp(n, randomPlain(r, n, 0.4).P)
  const Ps = [shared, denseOp(n, randomPlain(r, n, 0.2).P), shared, lowRankOp(r, n, 3), csrOp(r, n)]
  checkBatch(t, 'per-instance', {}, batchOf(r, Ps.length, n, Ps, 'l1'), r)
  checkBatch(t, 'low rank', {}, batchOf(r, 4, n, lowRankOp(r, n, 2), 'l1'), r)
  checkBatch(t, 'csr', {}, batchOf(r, 4, n, csrOp(r, n), 'simplex'), r)
  checkBatch(t, 'paper/implicit', { schedule: 'paper', maxIterations: 80 }, batchOf(r, 4, n, shared, 'l1'), r)
})

t.test('implicit batch on hard P: cond 1e6 and rank-deficient (rank n/2), faces past the kept-factor size', async (t) => {
  const r = rng(13)
  for (const [label, n, cond, rank] of [['cond 1e6', 20, 1e6, 20], ['rank-deficient', 16, 1e3, 8], ['cond 1e6, n = 70', 70, 1e6, 70]] as const) {
    const P = denseOp(n, spectral(r, n, cond, rank))
    checkBatch(t, label, {}, batchOf(r, 4, n, P, 'l1'), r)
    checkBatch(t, `${label}, l2`, {}, batchOf(r, 3, n, P, 'l2'), r)
  }
})

t.test('implicit batch: a bad instance (NaN in q, a non-PSD P of its own) is a Left; the others are bitwise alone', async (t) => {
  const r = rng(14)
  const n = 8, B = 5
  const good = denseOp(n, randomPlain(r, n, 0.3).P)
  const neg = Float64Array.from(randomPlain(r, n, 0.3).P)
  // a PSD-looking diagonal with negative curvature: P − 3·e eᵀ along e = (1, 1, 0, …)/√2
  for (const [i, j] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) neg[i * n + j] = neg[i * n + j]! - 1.5 * 4
  const Ps = [good, good, denseOp(n, neg), good, good]
  const batch = batchOf(r, B, n, Ps, 'l1')
  batch.q.data[3 * n + 2] = NaN
  checkBatch(t, 'bad instances', {}, batch, r, [2, 3])
  // dfwBatch: the same Lefts, with the index in the path
  const out = dfwBatch({})(Array.from({ length: B }, (_, b) => instance(batch, b)))
  t.match(E.isLeft(out[3]!) ? out[3].left.path : 'Right', /^\[3\]\.q/, 'dfwBatch: the NaN is a Left at [3].q…')
  t.equal(E.isLeft(out[2]!) ? out[2].left.path : 'Right', '[2].P', 'dfwBatch: the non-PSD P is a Left at [2].P')
})

t.test('a face of 48+ coordinates: the derivative through the polish\'s kept factor equals a fresh factorization\'s to 1e-9', async (t) => {
  const r = rng(15)
  const n = 80
  for (const [label, Pd] of [['well-conditioned', randomPlain(r, n, 1).P], ['cond 1e6', spectral(r, n, 1e6)]] as const) {
    const P = denseOp(n, Pd)
    // a loose radius: most coordinates free, so that the polish keeps its face's factor
    // q = −P z: the unconstrained minimizer is z, and a radius 0.9·Σ wᵢ|zᵢ| binds with most coordinates free
    const z = normals(r, n), w = Float64Array.from({ length: n }, () => 0.5 + r.uniform())
    const q = new Float64Array(n)
    let s = 0
    for (let i = 0; i < n; i++) { s += w[i]! * Math.abs(z[i]!); for (let j = 0; j < n; j++) q[i] = q[i]! - Pd[i * n + j]! * z[j]! }
    const problem: Problem<N> = { P, q: vec(q), w: vec(w), t: 0.9 * s, set: 'l1' }
    const res = dfwLayer({})(problem)
    t.ok((res.face?.size ?? 0) >= 48, `${label}: the face has ${res.face?.size} ≥ 48 coordinates`)
    // outside a call nothing is memoized: the derivative's own fresh factorization
    const fresh = implicitDerivative('l1', { P, q: problem.q, w: problem.w!, t: problem.t! }, res.x)
    const ct = vec(normals(r, n))
    const a = res.vjp(ct), b = fresh.vjp(ct)
    let d = 0, m = 0
    for (let i = 0; i < n; i++) { d = Math.max(d, Math.abs(a.q.data[i]! - b.q.data[i]!), Math.abs(a.w.data[i]! - b.w.data[i]!)); m = Math.max(m, Math.abs(b.q.data[i]!), Math.abs(b.w.data[i]!)) }
    t.ok(d <= 1e-9 * Math.max(m, 1), `${label}: vjp q, w agree to ${(d / Math.max(m, 1)).toExponential(1)} (relative)`)
    t.ok(Math.abs(a.t - b.t) <= 1e-9 * Math.max(Math.abs(b.t), 1), `${label}: vjp t agrees (${a.t} vs ${b.t})`)
  }
})

t.test('a large batch whose instances share P, w and t (faces repeat across instances, and with them the face factorizations the call shares) is bitwise each instance alone', async (t) => {
  for (const [n, B] of [[2, 128], [10, 160], [60, 12]] as const) {
    const r = rng(900 + n), d = dimN(n)
    const A = normals(r, n * n), P0 = new Float64Array(n * n)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { let s = 0; for (let k = 0; k < n; k++) s += A[k * n + i]! * A[k * n + j]!; P0[i * n + j] = s / n + (i === j ? 1 : 0) }
    const P = denseOp(n, P0)
    const w = { dim: d, data: Float64Array.from({ length: n }, () => 0.5 + Math.abs(r.normal()) / 2) }
    const problems: Problem<N>[] = Array.from({ length: B }, () => ({ P, q: { dim: d, data: normals(r, n) }, w, t: 0.3 * Math.sqrt(n) }))
    const ct = { dim: d, data: new Float64Array(n).fill(1) }
    let xs = 0, gs = 0, faces = 0
    const batch = dfwBatch({})(problems)
    batch.forEach((res, b) => {
      if (E.isLeft(res)) return
      const alone = dfwLayer({})(problems[b]!)
      if (bits(res.right.x.data, alone.x.data) !== '') xs++
      if (bits(res.right.vjp(ct).q.data, alone.vjp(ct).q.data) !== '') gs++
      if (JSON.stringify(res.right.face) !== JSON.stringify(alone.face)) faces++
    })
    t.equal(batch.filter(E.isRight).length, B, `n = ${n}, B = ${B}: every instance solved`)
    t.equal(xs, 0, `n = ${n}, B = ${B}: x bitwise alone's in every instance`)
    t.equal(gs, 0, `n = ${n}, B = ${B}: ∇q bitwise alone's in every instance`)
    t.equal(faces, 0, `n = ${n}, B = ${B}: the same face reports`)
  }
})
