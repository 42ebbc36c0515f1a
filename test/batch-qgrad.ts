// The gradient in q alone (`sol.vjp(ct, 'q')`, and the tfjs op when `tf.grad` asks for q
// only): the batched fold's transpose then skips w's, t's and P's terms, and q's gradient
// is the full vjp's, bitwise. Checked where it is hard: cond(P) = 1e8, a rank-deficient P,
// entries of q ~1e-6 and ~1e6, w skewed over six decades, at n < 16 (the fused transpose)
// and n ≥ 16 (the generated tail), in the batched fold and the implicit mode. The tfjs op
// computes for the first guard tfjs asks what the caller needs; every subset of {q, w, t,
// P} gets the gradients the full request gets, bitwise.
import t from 'tap'
import * as tf from '@tensorflow/tfjs'
import { unsafeDim } from '../src/shapes/Dim.js'
import type { Mat } from '../src/shapes/Mat.js'
import { dense } from '../src/core/LinearOperator.js'
import { dfwBatchSolve, LayerError, type BatchProblem, type LayerOptions } from '../src/fw/index.js'
import { solveBatch } from '../src/fw/Batch.js'
import { tfDfwLayer } from '../src/tfjs/index.js'
import { type N, rng } from './helpers/layerFixtures.js'
import { fromEigen, orthogonal } from './helpers/spectral.js'
import type { Rng } from '../src/core/Random.js'

t.before(async () => {
  await tf.setBackend('cpu')
})

/** '' when a and b hold the same numbers bit for bit (Object.is), else the first difference. */
const bits = (a: ArrayLike<number>, b: ArrayLike<number>): string => {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `[${i}]: ${String(a[i])} vs ${String(b[i])}`
  return ''
}

/** P with eigenvalues geometric from `top` down to top/cond, zero past `rank`. */
const spectralP = (r: Rng, n: number, top: number, cond: number, rank = n): Float64Array =>
  fromEigen(orthogonal(r, n), n, Float64Array.from({ length: n }, (_, k) => (k < rank ? top * cond ** (-k / Math.max(rank - 1, 1)) : 0)))

/** `ts` scales t with 1/qs, so that β|h| stays where the paper's softmax does not saturate. */
interface Case { readonly name: string; readonly P: (r: Rng, n: number) => Float64Array; readonly qs: number; readonly ts: number; readonly wSkew: boolean }
const cases: readonly Case[] = [
  { name: 'cond(P) = 1e8', P: (r, n) => spectralP(r, n, 1, 1e8), qs: 1, ts: 1, wSkew: false },
  { name: 'rank n/2', P: (r, n) => spectralP(r, n, 2, 1e3, n >> 1), qs: 1, ts: 1, wSkew: false },
  { name: 'q ~ 1e6, t ~ 1e-6', P: (r, n) => spectralP(r, n, 1, 1e4), qs: 1e6, ts: 1e-6, wSkew: false },
  { name: 'w over six decades', P: (r, n) => spectralP(r, n, 1, 1e4), qs: 1, ts: 1, wSkew: true },
  { name: 'q ~ 1e-6, P ~ 1e-6, t ~ 1e6', P: (r, n) => spectralP(r, n, 1e-6, 1e2), qs: 1e-6, ts: 1e6, wSkew: false }
]

const batchOf = (c: Case, seed: number, B: number, n: number): BatchProblem<'B', N> => {
  const r = rng(seed), bD = unsafeDim<'B'>(B), nD = unsafeDim<N>(n)
  const P = c.P(r, n)
  return {
    P: dense({ rows: nD, cols: nD, data: P }),
    q: { rows: bD, cols: nD, data: Float64Array.from({ length: B * n }, () => c.qs * r.normal()) },
    w: { rows: bD, cols: nD, data: Float64Array.from({ length: B * n }, () => (c.wSkew ? 10 ** (6 * r.uniform() - 3) : 0.5 + r.uniform())) },
    t: { dim: bD, data: Float64Array.from({ length: B }, () => c.ts * (0.05 + 0.5 * r.uniform())) }
  }
}

const modes: ReadonlyArray<readonly [string, LayerOptions]> = [
  ['batched fold, K = 40', { schedule: 'paper', backward: 'unrolled', tolerance: 0, maxIterations: 40 }],
  ['batched fold, the paper stop test', { schedule: 'paper', backward: 'unrolled', maxIterations: 300 }],
  ['implicit (the defaults)', {}]
]

for (const [mode, options] of modes) {
  t.test(`${mode}: vjp(ct, 'q') is vjp(ct)'s q, bitwise, on hard problems`, async (t) => {
    let nonzeroQ = 0, nonzeroW = 0
    for (const c of cases) {
      for (const n of [10, 20]) {
        const B = 9, batch = batchOf(c, 31 + n, B, n)
        const r = rng(7 + n)
        const ct = { rows: batch.q.rows, cols: batch.q.cols, data: Float64Array.from({ length: B * n }, (_, k) => (k % 5 === 0 ? 0 : r.normal())) }
        const full = dfwBatchSolve(options)(batch).vjp(ct)
        const sol = dfwBatchSolve(options)(batch)
        const alone = sol.vjp(ct, 'q')
        nonzeroW += full.w.data.some((v) => v !== 0) ? 1 : 0
        nonzeroQ += full.q.data.some((v) => v !== 0) ? 1 : 0
        t.equal(bits(alone.q.data, full.q.data), '', `${c.name}, n = ${n}: q's gradient bitwise the full vjp's`)
        t.same(Object.keys(alone), ['q'], `${c.name}, n = ${n}: and nothing else`)
        // the same solution's full vjp after the q-only one: the same numbers again
        const again = sol.vjp(ct)
        t.equal([bits(again.q.data, full.q.data), bits(again.w.data, full.w.data), bits(again.t.data, full.t.data), bits(again.pSum().data, full.pSum().data)].join(''), '', `${c.name}, n = ${n}: a full vjp after it is the full vjp (q, w, t, P)`)
      }
    }
    // at a vertex the implicit derivative in q is zero (the face does not move), inside
    // the ball the one in w (the radius does not bind)
    t.ok(nonzeroQ >= 6 && nonzeroW >= 6, `the gradients in q and w are not zero in ${nonzeroQ} and ${nonzeroW} of ${2 * cases.length} batches`)
  })
}

t.test('the internal gradients: without w and t, w\'s and t\'s are left at −0; without P, no terms of P are kept', async (t) => {
  const c = cases[0]!, B = 6
  for (const n of [10, 20]) {
    const batch = batchOf(c, 5, B, n)
    const options: LayerOptions = { schedule: 'paper', backward: 'unrolled', tolerance: 0, maxIterations: 30 }
    const ct = { rows: batch.q.rows, cols: batch.q.cols, data: new Float64Array(B * n).fill(1) }
    const full = solveBatch(options)(batch).gradients(ct)
    const noP = solveBatch(options)(batch).gradients(ct, { wt: true, P: false })
    t.equal([bits(noP.q.data, full.q.data), bits(noP.w.data, full.w.data), bits(noP.t.data, full.t.data)].join(''), '', `n = ${n}: w and t without P: q, w and t bitwise`)
    t.ok(full.pSum().data.some((v) => v !== 0), `n = ${n}: the full vjp has a P gradient`)
    t.ok(noP.pSum().data.every((v) => v === 0), `n = ${n}: without P, none was kept`)
    const q = solveBatch(options)(batch).gradients(ct, { wt: false, P: false })
    t.equal(bits(q.q.data, full.q.data), '', `n = ${n}: q alone: q bitwise`)
    t.ok(q.w.data.every((v) => Object.is(v, -0)) && q.t.data.every((v) => Object.is(v, -0)), `n = ${n}: q alone: w and t untouched (−0)`)
  }
})

t.test('vjp refuses a wrt other than \'q\' with a LayerError at wrt', async (t) => {
  const batch = batchOf(cases[0]!, 3, 2, 4)
  const sol = dfwBatchSolve({})(batch)
  const ct = { rows: batch.q.rows, cols: batch.q.cols, data: new Float64Array(8).fill(1) }
  const thrown = (() => { try { (sol.vjp as (c: Mat<'B', N>, w: unknown) => unknown)(ct, 'w'); return undefined } catch (e) { return e } })()
  t.ok(thrown instanceof LayerError && thrown.path === 'wrt', `a LayerError at wrt (${String(thrown)})`)
})

t.test('the tfjs op: every subset of {q, w, t, P} that tf.grads asks for gets the full request\'s gradients, bitwise', async (t) => {
  const configs: ReadonlyArray<readonly [string, LayerOptions, number, number]> = [
    ['batched fold, n = 10 (fused transpose)', { schedule: 'paper', backward: 'unrolled', tolerance: 0, maxIterations: 30 }, 12, 10],
    ['batched fold, n = 20', { schedule: 'paper', backward: 'unrolled', tolerance: 0, maxIterations: 30 }, 6, 20],
    ['implicit', {}, 5, 8]
  ]
  for (const [name, options, B, n] of configs) {
    const b = batchOf(cases[0]!, 11, B, n)
    // float32 inputs (P exactly symmetric in float32)
    const Pf = Float32Array.from((b.P as { mat: Mat<N, N> }).mat.data)
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) Pf[j * n + i] = Pf[i * n + j]!
    const inputs = {
      q: tf.tensor2d(Float32Array.from(b.q.data), [B, n]), w: tf.tensor2d(Float32Array.from(b.w!.data as Float64Array), [B, n]),
      t: tf.tensor1d(Float32Array.from((b.t as { data: Float64Array }).data)), P: tf.tensor2d(Pf, [n, n])
    }
    const names = ['q', 'w', 't', 'P'] as const
    const layer = tfDfwLayer(options)
    const weights = tf.tensor2d(Float32Array.from({ length: B * n }, (_, k) => Math.sin(k + 1)), [B, n])
    const gradsOf = (which: ReadonlyArray<typeof names[number]>): Float32Array[] => {
      const f = (...xs: tf.Tensor[]): tf.Scalar => {
        const given = { ...inputs } as Record<typeof names[number], tf.Tensor>
        which.forEach((k, i) => { given[k] = xs[i]! })
        return layer({ q: given.q as tf.Tensor2D, w: given.w as tf.Tensor2D, t: given.t as tf.Tensor1D, P: given.P as tf.Tensor2D }).mul(weights).sum() as tf.Scalar
      }
      const gs = tf.grads(f)(which.map((k) => inputs[k]))
      const out = gs.map((g) => g.dataSync() as Float32Array)
      tf.dispose(gs)
      return out
    }
    const full = gradsOf(names)
    t.ok(full.every((g) => g.some((v) => v !== 0)), `${name}: every full gradient is nonzero`)
    for (let mask = 1; mask < 15; mask++) {
      const which = names.filter((_, i) => (mask & (1 << i)) !== 0)
      const got = gradsOf(which)
      const diff = which.map((k, i) => bits(got[i]!, full[names.indexOf(k)]!)).join('')
      t.equal(diff, '', `${name}: tf.grads in ${which.join(', ')}: the full request's gradients`)
    }
    tf.dispose([...Object.values(inputs), weights])
  }
})
