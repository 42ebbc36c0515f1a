/**
 * Behaviour cloning of one policy: mini-batches of 64, the batch loss as one
 * differentiable map of the weights (network, head, mean squared error), its gradient by
 * `vjp`, Adam. After each epoch the policy is evaluated on the test set.
 *
 * @since 0.1.0
 */
import type { Dim } from '../../src/shapes/Dim.js'
import type { Vec } from '../../src/shapes/Vec.js'
import * as D from '../../src/core/Diff.js'
import type { Diff } from '../../src/core/Diff.js'
import { rng } from '../../src/core/Random.js'
import { vjp } from '../../src/vjp/index.js'
import { type Mlp, adamInit, adamStep, initMlp, mlp } from './net.js'
import { clock, fanoutAll, mse } from './batch.js'
import type { Policy, PolicyName } from './policies.js'
import { type Dataset, type Sample, excess } from './task.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** The violation tolerance, relative to p_max: an action violates when Σ|sᵢaᵢ| − p_max > TOL·p_max. */
export const VIOLATION_TOL = 1e-9

/** Training settings. */
export interface TrainOptions {
  readonly epochs: number
  readonly batch: number
  readonly lr: number
  readonly seed: number
}

/** One epoch of one policy. */
export interface EpochRow {
  readonly pMax: number
  readonly policy: PolicyName
  readonly epoch: number
  /** The mean of the training batches' losses. */
  readonly trainLoss: number
  readonly testMse: number
  /** The share of test actions with Σ|sᵢaᵢ| − p_max > VIOLATION_TOL·p_max. */
  readonly violationRate: number
  /** The largest Σ|sᵢaᵢ| − p_max over the test set. */
  readonly maxExcess: number
  /** Wall time of the training pass (forward, backward, Adam). */
  readonly trainSeconds: number
  /** The process's CPU time (user + system) during the training pass; below `trainSeconds` when other processes share the cores. */
  readonly trainCpuSeconds: number
  /** Wall time inside the layer during the training pass, forward (solve and linearization) and backward. */
  readonly layerForwardSeconds: number
  readonly layerBackwardSeconds: number
  /** (layer forward + backward) / trainSeconds. */
  readonly layerShare: number
  /** Wall time of the test-set evaluation. */
  readonly evalSeconds: number
}

// -------------------------------------------------------------------------------------
// training
// -------------------------------------------------------------------------------------

const chunks = <T>(xs: ReadonlyArray<T>, size: number): ReadonlyArray<ReadonlyArray<T>> =>
  Array.from({ length: Math.ceil(xs.length / size) }, (_, k) => xs.slice(k * size, (k + 1) * size))

/** A seeded permutation of 0 … n−1 (Fisher-Yates). */
const permutation = (n: number, seed: number): ReadonlyArray<number> => {
  const r = rng(seed)
  const p = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r.uniform() * (i + 1))
    const t = p[i]!
    p[i] = p[j]!
    p[j] = t
  }
  return p
}

/** The policy's actions on a batch, as a map of the weights. */
const actions = <F, H, A>(a: Dim<A>, policy: Policy, batch: ReadonlyArray<Sample<F, A>>, pMax: number, c = clock()): Diff<Mlp<F, H, A>, ReadonlyArray<Vec<A>>> =>
  D.compose(policy.head(a, batch, pMax, c), fanoutAll(batch.map((s) => mlp<F, H, A>(s.x))))

/**
 * Test MSE, violation rate and largest excess of the policy with weights `theta`.
 *
 * @example
 * evaluate(a, policy, weights, data.test, 0.3, 64)
 */
export const evaluate = <F, H, A>(
  a: Dim<A>,
  policy: Policy,
  theta: Mlp<F, H, A>,
  test: ReadonlyArray<Sample<F, A>>,
  pMax: number,
  batch: number
): { readonly mse: number; readonly violationRate: number; readonly maxExcess: number } => {
  let se = 0, count = 0, violations = 0, maxExcess = -Infinity
  for (const b of chunks(test, batch)) {
    const [acts] = actions<F, H, A>(a, policy, b, pMax)(theta)
    acts.forEach((act, i) => {
      const s = b[i]!
      for (let j = 0; j < act.data.length; j++) se += (act.data[j]! - s.y.data[j]!) ** 2
      count += act.data.length
      const e = excess(s.s, act, pMax)
      if (e > VIOLATION_TOL * pMax) violations++
      maxExcess = Math.max(maxExcess, e)
    })
  }
  return { mse: se / count, violationRate: violations / test.length, maxExcess }
}

/**
 * Trains one policy from seeded weights and returns one row per epoch; `onEpoch` sees each
 * row as it is made (for progress).
 *
 * @example
 * trainPolicy({ f, h, a }, data, POLICIES[3], { epochs: 20, batch: 64, lr: 3e-3, seed: 0 })
 */
export const trainPolicy = <F, H, A>(
  dims: { readonly f: Dim<F>; readonly h: Dim<H>; readonly a: Dim<A> },
  data: Dataset<F, A>,
  policy: Policy,
  o: TrainOptions,
  onEpoch: (row: EpochRow) => void = () => undefined
): ReadonlyArray<EpochRow> => {
  const step = adamStep(o.lr)
  let theta = initMlp(rng(o.seed), dims.f, dims.h, dims.a)
  let opt = adamInit(theta)
  const rows: EpochRow[] = []
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const c = clock()
    const order = permutation(data.train.length, o.seed * 7919 + epoch)
    const t0 = performance.now(), cpu0 = process.cpuUsage()
    let lossSum = 0, batches = 0
    for (const idx of chunks(order, o.batch)) {
      const batch = idx.map((i) => data.train[i]!)
      const loss = D.compose(mse(batch.map((s) => s.y)), actions<F, H, A>(dims.a, policy, batch, data.pMax, c))
      const [value, pullback] = vjp(loss)(theta)
      const grad = pullback(1)
      ;[theta, opt] = step(theta, grad, opt)
      lossSum += value
      batches++
    }
    const trainMs = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    const t1 = performance.now()
    const ev = evaluate(dims.a, policy, theta, data.test, data.pMax, o.batch)
    const evalMs = performance.now() - t1
    const row: EpochRow = {
      pMax: data.pMax,
      policy: policy.name,
      epoch,
      trainLoss: lossSum / batches,
      testMse: ev.mse,
      violationRate: ev.violationRate,
      maxExcess: ev.maxExcess,
      trainSeconds: trainMs / 1000,
      trainCpuSeconds: (cpu.user + cpu.system) / 1e6,
      layerForwardSeconds: c.fwd / 1000,
      layerBackwardSeconds: c.bwd / 1000,
      layerShare: (c.fwd + c.bwd) / trainMs,
      evalSeconds: evalMs / 1000
    }
    rows.push(row)
    onEpoch(row)
  }
  return rows
}
