/**
 * dfwlayer/workers: the pool's results are the calling thread's, bitwise (dense, low-rank
 * and CSR operators; implicit and unrolled; per-instance cotangents given with the batch
 * or computed from the forward results; structure-of-arrays batches with the batched
 * VJP), a bad instance is its own Left at its index in the whole batch, small batches and
 * batches that cannot cross threads run in the calling thread, a crashed worker rejects
 * its batch with a clear error and is replaced, `close()` is idempotent, and an open pool
 * does not keep a process alive. No timings are asserted.
 *
 * The batches here are small (B ≤ 8); that a large batch's instances are bitwise what they
 * give alone, whatever the other instances (so whatever the split into shares), is
 * test/batch-implicit.ts's.
 */
import t, { type Test } from 'tap'
import * as E from 'fp-ts/lib/Either.js'
import { spawnSync } from 'node:child_process'
import { MessageChannel } from 'node:worker_threads'
import { dfwBatch, dfwBatchSolve, LayerError, polytope, type BatchProblem, type LayerOptions, type LayerResult, type Problem } from '../src/index.js'
import { dense, lowRank, csr, type LinearOperator } from '../src/core/LinearOperator.js'
import { unsafeDim } from '../src/shapes/Dim.js'
import type { Mat } from '../src/shapes/Mat.js'
import type { Vec } from '../src/shapes/Vec.js'
import { dfwPool, DEFAULT_MIN_WORK, type DfwPool, type PoolResult } from '../src/workers/index.js'
import { crashHooks } from '../src/workers/internal.js'
import { serve, operators as keptOperators } from '../src/workers/worker.js'
import { sharer, NotTransferable, reindex, transferList, type Reply } from '../src/workers/Wire.js'
import { matOf, randomPlain, rng, vec, type N } from './helpers/layerFixtures.js'
import { childEnv } from './helpers/childEnv.js'

// -------------------------------------------------------------------------------------
// fixtures
// -------------------------------------------------------------------------------------

/** The first index where two arrays differ in their bits (Object.is), or -1. */
const firstDiff = (a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined): number => {
  if (a === undefined || b === undefined) return a === b ? -1 : 0
  if (a.length !== b.length) return Math.min(a.length, b.length)
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i
  return -1
}

const normals = (r: ReturnType<typeof rng>, k: number): Float64Array => Float64Array.from({ length: k }, () => r.normal())

/** One operator of each kind on n = 8: dense PSD, diag + rank 2, a tridiagonal CSR. */
const operators = (n: number): Record<'dense' | 'lowRank' | 'csr', LinearOperator<N>> => {
  const r = rng(101)
  const d = unsafeDim<N>(n)
  const diag = vec(Array.from({ length: n }, () => 0.5 + r.uniform()))
  const rp: number[] = [0], ci: number[] = [], vs: number[] = []
  for (let i = 0; i < n; i++) {
    for (const j of [i - 1, i, i + 1]) if (j >= 0 && j < n) { ci.push(j); vs.push(i === j ? 2 : -0.5) }
    rp.push(ci.length)
  }
  const C = csr(d, rp, ci, vs)
  if (E.isLeft(C)) throw new Error(C.left.message)
  return { dense: dense(matOf(n, randomPlain(r, n).P)), lowRank: lowRank(diag, 2, normals(r, 2 * n)), csr: C.right }
}

const problemsFor = (P: LinearOperator<N>, B: number, seed: number): Problem<N>[] => {
  const r = rng(seed)
  const n = P.dim as number
  return Array.from({ length: B }, () => ({ P, q: { dim: P.dim, data: normals(r, n) }, w: vec(Array.from({ length: n }, () => 0.5 + r.uniform())), t: 0.8 }))
}

const cotangentsFor = (problems: ReadonlyArray<Problem<N>>, seed: number): Vec<N>[] => {
  const r = rng(seed)
  return problems.map((p) => ({ dim: p.q.dim, data: normals(r, p.q.data.length) }))
}

const UNROLLED: LayerOptions = { backward: 'unrolled', maxIterations: 40, tolerance: 0 }
const IMPLICIT: LayerOptions = { backward: 'implicit' }

/** Checks a pool result against the calling thread's result and its vjp of ct, bit for bit. */
const sameResult = (t: Test, got: E.Either<LayerError, PoolResult<N>>, one: E.Either<LayerError, LayerResult<N>>, ct: Vec<N> | undefined, what: string): void => {
  if (E.isLeft(one)) {
    t.ok(E.isLeft(got) && got.left instanceof LayerError && got.left.path === one.left.path && got.left.message === one.left.message, `${what}: the same Left (${one.left.path})`)
    return
  }
  if (!E.isRight(got)) { t.fail(`${what}: a Left (${got.left.path}: ${got.left.message})`); return }
  const a = got.right, b = one.right
  t.equal(firstDiff(a.x.data, b.x.data), -1, `${what}: x bitwise`)
  t.ok(Object.is(a.objective, b.objective) && Object.is(a.gap, b.gap) && a.iterations === b.iterations && a.status === b.status, `${what}: objective, gap, iterations, status`)
  t.same(a.face, b.face, `${what}: face`)
  if (ct === undefined) { t.equal(a.gradients, undefined, `${what}: no gradients without a cotangent`); return }
  const g = b.vjp(ct)
  const h = a.gradients
  if (h === undefined) { t.fail(`${what}: gradients missing`); return }
  t.ok(firstDiff(h.q.data, g.q.data) === -1 && firstDiff(h.w.data, g.w.data) === -1 && Object.is(h.t, g.t), `${what}: ∇q, ∇w, ∇t bitwise`)
  t.equal(firstDiff(h.P?.data, g.P?.data), -1, `${what}: ∇P bitwise (${g.P === undefined ? 'absent' : 'dense'})`)
}

let pool: DfwPool
t.before(async () => { pool = await dfwPool({ workers: 2, minWork: 0 }) })
t.teardown(async () => { await pool.close() })

// -------------------------------------------------------------------------------------
// batches of problems
// -------------------------------------------------------------------------------------

for (const kind of ['dense', 'lowRank', 'csr'] as const) {
  for (const [mode, options] of [['implicit', IMPLICIT], ['unrolled', UNROLLED]] as const) {
    t.test(`batch, ${kind} P, ${mode}: x, the certificate and the gradients equal dfwBatch's in one thread, bitwise`, async (t) => {
      const problems = problemsFor(operators(8)[kind], 7, 3)
      const cts = cotangentsFor(problems, 4)
      const before = pool.stats().inWorkers
      const got = await pool.batch(options)(problems, cts)
      t.equal(pool.stats().inWorkers, before + 1, 'the batch went to the workers')
      const one = dfwBatch(options)(problems)
      t.equal(got.length, problems.length)
      got.forEach((g, i) => sameResult(t, g, one[i]!, cts[i], `[${i}]`))
    })
  }
}

t.test('batch: a bad instance in the second share is its own Left at its index in the whole batch; the rest are unchanged', async (t) => {
  const problems = problemsFor(operators(8).dense, 6, 9)
  const bad = [...problems]
  bad[4] = { ...problems[4]!, t: -1 }
  bad[5] = { ...problems[5]!, q: vec([1, 2, 3]) }
  const cts: Array<Vec<N> | undefined> = cotangentsFor(bad, 10)
  cts[1] = undefined
  cts[2] = vec([1, Number.NaN, 0, 0, 0, 0, 0, 0])
  for (const options of [IMPLICIT, UNROLLED]) {
    const got = await pool.batch(options)(bad, cts)
    const one = dfwBatch(options)(bad)
    t.ok(E.isLeft(got[4]!) && got[4].left.path === '[4].t', `[4]: bad t at [4].t (${E.isLeft(got[4]!) ? got[4].left.path : 'Right'})`)
    t.ok(E.isLeft(one[5]!), 'control: a q of 3 entries is refused in one thread')
    sameResult(t, got[5]!, one[5]!, undefined, '[5], a q of the wrong length')
    let thrown: unknown
    try { if (E.isRight(one[2]!)) one[2].right.vjp(cts[2]!) } catch (e) { thrown = e }
    t.ok(thrown instanceof LayerError, 'control: the calling thread refuses the NaN cotangent')
    t.ok(E.isLeft(got[2]!) && got[2].left.path === `[2].${(thrown as LayerError).path}`, `[2]: the NaN cotangent is [2]'s Left at [2].${(thrown as LayerError).path}`)
    for (const i of [0, 1, 3]) sameResult(t, got[i]!, one[i]!, cts[i], `[${i}]`)
  }
})

t.test('batch: cotangents computed from the forward results in the calling thread equal cotangents given with the batch', async (t) => {
  const problems = problemsFor(operators(8).lowRank, 5, 21)
  for (const options of [IMPLICIT, UNROLLED]) {
    let seen: ReadonlyArray<E.Either<LayerError, PoolResult<N>>> = []
    // the cotangent of ½‖x‖²: x itself (a copy)
    const got = await pool.batch(options)(problems, (rs) => { seen = rs; return rs.map((r) => (E.isRight(r) ? { dim: r.right.x.dim, data: r.right.x.data.slice() } : undefined)) })
    t.equal(seen.length, problems.length, 'the function saw every forward result')
    const one = dfwBatch(options)(problems)
    got.forEach((g, i) => {
      const o = one[i]!
      sameResult(t, g, o, E.isRight(o) ? { dim: o.right.x.dim, data: o.right.x.data.slice() } : undefined, `${options.backward} [${i}]`)
    })
  }
  await t.rejects(pool.batch(IMPLICIT)(problems, () => [undefined]), { name: 'LayerError', path: 'cotangents' }, 'a function returning the wrong number of cotangents rejects')
  await t.rejects(pool.batch(IMPLICIT)(problems, () => { throw new Error('loss failed') }), { message: 'loss failed' }, 'a throwing function rejects with its error')
  const after = await pool.batch(IMPLICIT)(problems)
  t.ok(after.every(E.isRight), 'the pool serves the next batch')
})

t.test('batch: problems sharing one operator object still share it in the worker; distinct operators stay distinct', async (t) => {
  const ops = operators(8)
  const problems = [...problemsFor(ops.dense, 3, 31), ...problemsFor(ops.csr, 3, 32), ...problemsFor(ops.lowRank, 2, 33)]
  const got = await pool.batch(IMPLICIT)(problems)
  const one = dfwBatch(IMPLICIT)(problems)
  got.forEach((g, i) => sameResult(t, g, one[i]!, undefined, `[${i}]`))
  const share = sharer()
  const D = ops.dense as Extract<LinearOperator<N>, { kind: 'dense' }>
  const a = share(D) as { mat: { data: Float64Array } }
  t.equal(share(D), a, 'the sharer gives one copy per object')
  t.ok(a.mat.data.buffer instanceof SharedArrayBuffer && firstDiff(a.mat.data, D.mat.data) === -1, 'the copy is on shared memory, with the same numbers')
})

// -------------------------------------------------------------------------------------
// batches as arrays
// -------------------------------------------------------------------------------------

const soa = (n: number, B: number, seed: number, perInstanceP: boolean): BatchProblem<'b', N> => {
  const r = rng(seed)
  const ops = operators(n)
  const b = unsafeDim<'b'>(B), d = unsafeDim<N>(n)
  return {
    P: perInstanceP ? Array.from({ length: B }, (_, i) => [ops.dense, ops.lowRank, ops.csr][i % 3]!) : ops.dense,
    q: { rows: b, cols: d, data: normals(r, B * n) },
    w: { rows: b, cols: d, data: Float64Array.from({ length: B * n }, () => 0.5 + r.uniform()) },
    t: { dim: b, data: Float64Array.from({ length: B }, () => 0.5 + r.uniform()) }
  }
}

const PAPER: LayerOptions = { schedule: 'paper', backward: 'unrolled', maxIterations: 30, tolerance: 0 }

for (const [label, options] of [['paper/unrolled (the batched fold)', PAPER], ['default/implicit', IMPLICIT], ['default/unrolled', UNROLLED]] as const) {
  t.test(`batchSolve, ${label}: x, results and ∇q, ∇w, ∇t equal dfwBatchSolve's bitwise; ∇P summed to rounding, per instance bitwise`, async (t) => {
    for (const perInstanceP of [false, true]) {
      const batch = soa(8, 7, perInstanceP ? 41 : 42, perInstanceP)
      const ct: Mat<'b', N> = { rows: batch.q.rows, cols: batch.q.cols, data: normals(rng(43), 7 * 8) }
      const one = dfwBatchSolve(options)(batch)
      const g1 = one.vjp(ct)
      const P = perInstanceP ? 'each' : 'sum'
      for (const cotangent of [ct, () => ct]) {
        const sol = await pool.batchSolve(options)(batch, { cotangent, P })
        const what = `${perInstanceP ? 'per-instance P' : 'shared P'}, cotangent ${typeof cotangent === 'function' ? 'from x' : 'given'}`
        t.equal(firstDiff(sol.x.data, one.x.data), -1, `${what}: x bitwise`)
        sol.results.forEach((r, b) => {
          const o = one.results[b]!
          t.ok(E.isRight(r) && E.isRight(o) && firstDiff(r.right.x.data, o.right.x.data) === -1 && r.right.iterations === o.right.iterations && Object.is(r.right.gap, o.right.gap), `${what}: result ${b}`)
        })
        const g = sol.gradients!
        t.ok(firstDiff(g.q.data, g1.q.data) === -1 && firstDiff(g.w.data, g1.w.data) === -1 && firstDiff(g.t.data, g1.t.data) === -1, `${what}: ∇q, ∇w, ∇t bitwise`)
        if (perInstanceP) {
          const each = g1.pEach()
          t.equal(g.pEach?.length, 7)
          g.pEach?.forEach((m, b) => t.equal(firstDiff(m?.data, each[b]?.data), -1, `${what}: ∇P of instance ${b} (${each[b] === undefined ? 'not dense' : 'dense'})`))
        } else {
          const s = g1.pSum().data
          const scale = s.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
          const err = g.pSum!.data.reduce((m, v, k) => Math.max(m, Math.abs(v - s[k]!)), 0)
          t.ok(err <= 1e-13 * scale, `${what}: ∇P summed over the workers within 1e-13 relative (${err.toExponential(1)} of ${scale.toExponential(1)})`)
        }
      }
    }
  })
}

t.test('batchSolve: a bad instance is its own Left; bad shapes and cotangents reject with dfwBatchSolve\'s errors', async (t) => {
  const batch = soa(8, 6, 51, false)
  const tb = (batch.t as Vec<'b'>).data.slice()
  tb[5] = -1
  const bad = { ...batch, t: { dim: batch.q.rows, data: tb } }
  const sol = await pool.batchSolve(IMPLICIT)(bad)
  const one = dfwBatchSolve(IMPLICIT)(bad)
  t.ok(E.isLeft(sol.results[5]!) && E.isLeft(one.results[5]!) && sol.results[5].left.path === one.results[5].left.path, `[5]: the same Left (${E.isLeft(one.results[5]!) ? one.results[5].left.path : ''})`)
  t.equal(firstDiff(sol.x.data, one.x.data), -1, 'x bitwise, zeros in the bad row')
  t.equal(sol.gradients, undefined, 'no gradients without a backward')
  let expected: unknown
  try { dfwBatchSolve(IMPLICIT)({ ...batch, w: vec([1, 2]) as never }) } catch (e) { expected = e }
  await t.rejects(pool.batchSolve(IMPLICIT)({ ...batch, w: vec([1, 2]) as never }), { name: 'LayerError', path: (expected as LayerError).path, message: (expected as LayerError).message }, 'a w of the wrong shape: the one-thread error')
  await t.rejects(pool.batchSolve(IMPLICIT)(batch, { cotangent: { rows: batch.q.rows, cols: batch.q.cols, data: new Float64Array(3) } }), { name: 'LayerError', path: 'cotangent' })
  const nan = new Float64Array(6 * 8)
  nan[13] = Number.NaN
  await t.rejects(pool.batchSolve(IMPLICIT)(batch, { cotangent: () => ({ rows: batch.q.rows, cols: batch.q.cols, data: nan }) }), { name: 'LayerError', path: 'cotangent[1][5]' }, 'a NaN from the cotangent function: its entry')
  await t.rejects(pool.batchSolve(IMPLICIT)(batch, { cotangent: 3 as never }), { name: 'LayerError', path: 'backward' })
  await t.rejects(pool.batchSolve(IMPLICIT)(batch, { cotangent: () => { throw new Error('loss failed') }, P: 'sum' }), { message: 'loss failed' })
  await t.rejects(pool.batchSolve(IMPLICIT)(batch, { cotangent: nan as never, P: 'all' as never }), { name: 'LayerError', path: 'backward.P' })
  await t.rejects(pool.batchSolve({ backward: 'both' as never })(batch), { name: 'LayerError', path: 'options.backward' })
  t.ok(E.isRight((await pool.batchSolve(IMPLICIT)(batch)).results[0]!), 'the pool serves the next batch')
})

// -------------------------------------------------------------------------------------
// the calling thread
// -------------------------------------------------------------------------------------

t.test('below minWork, single instances and sets given by their oracle run in the calling thread, with the same results', async (t) => {
  const small = await dfwPool({ workers: 1 })
  t.teardown(() => small.close())
  t.equal(small.minWork, DEFAULT_MIN_WORK)
  const problems = problemsFor(operators(8).dense, 5, 61)
  const cts = cotangentsFor(problems, 62)
  const got = await small.batch(UNROLLED)(problems, cts)
  const one = dfwBatch(UNROLLED)(problems)
  got.forEach((g, i) => sameResult(t, g, one[i]!, cts[i], `small [${i}]`))
  const later = await small.batch(IMPLICIT)(problems, () => cts)
  const oneI = dfwBatch(IMPLICIT)(problems)
  later.forEach((g, i) => sameResult(t, g, oneI[i]!, cts[i], `small, cotangents from results [${i}]`))
  const batch = soa(8, 4, 63, false)
  const ct = { rows: batch.q.rows, cols: batch.q.cols, data: normals(rng(64), 32) }
  for (const cotangent of [ct, () => ct]) {
    const sol = await small.batchSolve(PAPER)(batch, { cotangent, P: 'sum' })
    const o = dfwBatchSolve(PAPER)(batch)
    const g = o.vjp(ct)
    t.ok(firstDiff(sol.x.data, o.x.data) === -1 && firstDiff(sol.gradients!.q.data, g.q.data) === -1 && firstDiff(sol.gradients!.pSum!.data, g.pSum().data) === -1, 'small batchSolve: x, ∇q and ∇P sum bitwise (one thread, one sum)')
  }
  t.same(small.stats(), { inThread: 4, inWorkers: 0, restarts: 0 }, 'four batches, all in the calling thread')
  // one instance, and an oracle polytope (a function cannot cross threads), on the pool that sends everything else
  const before = pool.stats()
  const single = await pool.batch(IMPLICIT)(problems.slice(0, 1), cts.slice(0, 1))
  sameResult(t, single[0]!, dfwBatch(IMPLICIT)(problems.slice(0, 1))[0]!, cts[0], 'one instance')
  const n = 8
  const e = (k: number) => vec(Array.from({ length: n }, (_, i) => (i === k ? 1 : 0)))
  const simplex = polytope<N>({ lmo: (g) => { let k = 0; for (let i = 1; i < n; i++) if (g.data[i]! < g.data[k]!) k = i; return e(k) } })
  const poly = problems.map((p) => ({ P: p.P, q: p.q, set: simplex }))
  const gp = await pool.batch(IMPLICIT)(poly, cts)
  const op = dfwBatch(IMPLICIT)(poly)
  gp.forEach((g, i) => sameResult(t, g, op[i]!, cts[i], `oracle polytope [${i}]`))
  t.same(pool.stats(), { ...before, inThread: before.inThread + 2 }, 'both ran in the calling thread')
  t.throws(() => sharer()({ lmo: () => 0 }), NotTransferable, 'a function is not transferable')
})

// -------------------------------------------------------------------------------------
// failures and closing
// -------------------------------------------------------------------------------------

t.test('a worker that dies rejects its batch with a clear error; the next batch gets a new worker and the same results', async (t) => {
  const p = await dfwPool({ workers: 2, minWork: 0 })
  t.teardown(() => p.close())
  const problems = problemsFor(operators(8).dense, 6, 71)
  crashHooks.get(p)!(1, 70)
  await t.rejects(p.batch(IMPLICIT)(problems), { message: /dfwPool: worker 1 stopped \(exit code 70\)/ }, 'the batch rejects and names the worker and its exit code')
  const got = await p.batch(IMPLICIT)(problems)
  const one = dfwBatch(IMPLICIT)(problems)
  got.forEach((g, i) => sameResult(t, g, one[i]!, undefined, `after the restart [${i}]`))
  t.equal(p.stats().restarts, 1, 'one worker replaced')
  // a worker dying between the forward and the backward of a two-phase batch
  const rejected = p.batchSolve(UNROLLED)(soa(8, 6, 72, false), { cotangent: (x) => { crashHooks.get(p)!(0, 71); return x } })
  await t.rejects(rejected, { message: /worker 0 stopped \(exit code 71\)/ })
  t.ok(E.isRight((await p.batchSolve(UNROLLED)(soa(8, 6, 72, false))).results[0]!), 'and the pool still serves')
})

t.test('close() is idempotent; batches after it, and batches running when it is called, reject', async (t) => {
  const p = await dfwPool({ workers: 2, minWork: 0 })
  const problems = problemsFor(operators(8).dense, 4, 81)
  const running = t.rejects(p.batch(UNROLLED)(problems), { message: /^dfwPool: the pool (is|was) closed/ }, 'the running batch rejects')
  const c1 = p.close(), c2 = p.close()
  t.equal(c1, c2, 'the same promise')
  await c1
  await running
  await t.rejects(p.batch(IMPLICIT)(problems), { message: 'dfwPool: the pool is closed' })
  await t.rejects(p.batchSolve(IMPLICIT)(soa(8, 2, 82, false)), { message: 'dfwPool: the pool is closed' })
  await p.close()
})

t.test('bad pool options and bad batches reject with a LayerError at their path', async (t) => {
  await t.rejects(dfwPool({ workers: 0 }), { name: 'LayerError', path: 'workers' })
  await t.rejects(dfwPool({ workers: 1.5 }), { name: 'LayerError', path: 'workers' })
  await t.rejects(dfwPool({ minWork: -1 }), { name: 'LayerError', path: 'minWork' })
  await t.rejects(dfwPool({ threads: 2 } as never), { name: 'LayerError', path: 'threads' })
  await t.rejects(dfwPool(null as never), { name: 'LayerError', path: '' })
  await t.rejects(pool.batch(IMPLICIT)('nope' as never), { name: 'LayerError', path: '' })
  await t.rejects(pool.batch({ tolerance: -1 })([]), { name: 'LayerError', path: 'options.tolerance' })
  await t.rejects(pool.batch(IMPLICIT)(problemsFor(operators(8).dense, 2, 91), [undefined]), { name: 'LayerError', path: 'cotangents' })
  await t.rejects(pool.batch(IMPLICIT)(problemsFor(operators(8).dense, 2, 91), 3 as never), { name: 'LayerError', path: 'cotangents' })
  t.same(await pool.batch(IMPLICIT)([]), [], 'an empty batch is empty')
})

// -------------------------------------------------------------------------------------
// the worker's loop and the wire, in this thread
// -------------------------------------------------------------------------------------

t.test('the worker loop answers over a port: ready, a batch, a kept solution\'s backward, a dropped one, a failure', async (t) => {
  const { port1, port2 } = new MessageChannel()
  const replies: Reply[] = []
  const next = (): Promise<Reply> => new Promise((resolve) => port2.once('message', (m: Reply) => { replies.push(m); resolve(m) }))
  let r = next()
  serve(port1)
  t.same(await r, { kind: 'ready' })
  const problems = problemsFor(operators(8).csr, 2, 101)
  r = next()
  port2.postMessage({ kind: 'batch', id: 1, options: IMPLICIT, problems, keep: true })
  const done = await r as Extract<Reply, { kind: 'done' }>
  const one = dfwBatch(IMPLICIT)(problems)
  const res = (done.value as { results: Array<{ x: Float64Array }> }).results
  t.ok(done.kind === 'done' && done.id === 1 && res.every((x, i) => E.isRight(one[i]!) && firstDiff(x.x, one[i].right.x.data) === -1), 'the batch reply holds x bitwise')
  const cts = cotangentsFor(problems, 102)
  r = next()
  port2.postMessage({ kind: 'vjp', id: 1, cts })
  const back = await r as Extract<Reply, { kind: 'done' }>
  const grads = (back.value as { grads: Array<{ q: Float64Array }> }).grads
  t.ok(grads.every((g, i) => E.isRight(one[i]!) && firstDiff(g.q, one[i].right.vjp(cts[i]!).q.data) === -1), 'the kept solution\'s backward is the calling thread\'s')
  r = next()
  port2.postMessage({ kind: 'vjp', id: 1, cts })
  t.match(await r, { kind: 'failed', id: 1, message: /no kept solution/ }, 'a backward is answered once')
  port2.postMessage({ kind: 'batchSolve', id: 2, options: IMPLICIT, batch: soa(8, 2, 103, false), pMode: 'none', keep: true })
  port2.postMessage({ kind: 'drop', id: 2 })
  r = next()
  await r
  r = next()
  port2.postMessage({ kind: 'vjp', id: 2, cts: new Float64Array(16) })
  t.match(await r, { kind: 'failed', id: 2 }, 'a dropped solution is gone')
  r = next()
  port2.postMessage({ kind: 'batch', id: 3, options: { backward: 'sideways' }, problems, keep: false })
  t.match(await r, { kind: 'failed', id: 3, path: 'options.backward' }, 'a LayerError thrown in the worker keeps its path')
  port1.close()
  t.same(reindex('[2].t', 5), '[7].t')
  t.same(reindex('P', 5), 'P')
  const a = new Float64Array(4), s = new Float64Array(new SharedArrayBuffer(32))
  t.same(transferList({ a, b: [a.subarray(1), s], c: 1 }), [a.buffer], 'each transferable buffer once, shared memory never')
})

t.test('an open pool does not keep the process alive', async (t) => {
  const code = `import { dfwPool } from './src/workers/index.ts'
const pool = await dfwPool({ workers: 2, minWork: 0 })
console.log('ready', pool.size)`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: new URL('..', import.meta.url), encoding: 'utf8', env: childEnv(), timeout: 120_000 })
  t.equal(r.status, 0, r.stderr)
  t.equal(r.signal, null, 'the child ended on its own (not killed at the timeout)')
  t.match(r.stdout, /ready 2/)
})

t.test('a worker keeps its dense operators across batches: equal entries give the kept object, a changed entry a new one, and the pool\'s results follow P\'s values', async (t) => {
  const same = keptOperators()
  const n = 6, r = rng(61)
  const base = randomPlain(r, n).P
  const mk = (data: ArrayLike<number>): LinearOperator<N> => dense(matOf(n, Array.from(data)))
  const P1 = mk(base), P2 = mk(base)
  t.equal(same(P1), P1, 'the first operator is kept as it is')
  t.equal(same(P2), P1, 'an operator with equal entries is replaced by the kept one')
  const changed = Array.from(base); changed[7] = changed[7]! + 1e-9
  const P3 = mk(changed)
  t.equal(same(P3), P3, 'one changed entry: a new operator')
  t.equal(same(mk(base)), P1, 'the earlier one is still kept')
  const minusZero = Array.from(base); minusZero[0] = 0
  const plusZero = Array.from(base); plusZero[0] = -0
  const Z = mk(minusZero)
  t.equal(same(Z), Z)
  t.not(same(mk(plusZero)), Z, 'entries compare by Object.is (−0 is not +0)')
  t.equal(same(csrLike), csrLike, 'other operators pass as they are')
  // the pool: the same P values twice, then one entry written; every batch equals the calling thread's
  const d = unsafeDim<N>(n)
  for (const values of [base, base, changed, base]) {
    const problems: Problem<N>[] = Array.from({ length: 6 }, (_, i) => ({ P: mk(values), q: { dim: d, data: normals(rng(70 + i), n) }, t: 0.7 }))
    const shared = problems.map((p) => ({ ...p, P: problems[0]!.P }))
    const got = await pool.batch(IMPLICIT)(shared)
    const one = dfwBatch(IMPLICIT)(shared)
    got.forEach((g, i) => sameResult(t, g, one[i]!, undefined, `[${i}]`))
  }
})

const csrLike = { kind: 'csr', dim: 2 }
