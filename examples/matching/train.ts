/**
 * Learning a matching cost end to end through the Birkhoff layer: the model's cost
 * Cᵢⱼ = −aᵢᵀ W bⱼ goes into the layer as q (with P = εI: a quadratically regularized
 * assignment), the layer returns the doubly stochastic x*, the loss is ½‖x* − Π‖²/m against
 * the hidden permutation matrix Π, and its gradient reaches W through the layer's `vjp`
 * (the implicit derivative on the solution's face) and the chain rule
 * ∂L/∂W = −Σᵢⱼ (∂L/∂Cᵢⱼ) aᵢ bⱼᵀ. Adam on mini-batches; after each epoch the test set is
 * matched by the assignment of x* (its hard matching) and scored.
 *
 * @since 0.1.0
 */
import { withDim } from '../../src/shapes/Dim.js'
import { lowRank } from '../../src/core/LinearOperator.js'
import { assignment } from '../../src/core/Assignment.js'
import { rng } from '../../src/core/Random.js'
import { dfwLayer } from '../../src/fw/Layer.js'
import { type Instance, type Task, bilinearCost, referenceCost, shuffled } from './task.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** Training settings: ε of P = εI, the Adam step, the batch size, the epochs. */
export interface TrainOptions {
  readonly epsilon: number
  readonly lr: number
  readonly batch: number
  readonly epochs: number
  readonly seed: number
}

/** One epoch (epoch 0: the initial W, before any step). */
export interface EpochRow {
  readonly epoch: number
  /** The mean training loss over the epoch's batches (at epoch 0: over the training set). */
  readonly trainLoss: number
  readonly testLoss: number
  /** The share of test items the hard matching of x* assigns correctly. */
  readonly testAccuracy: number
  /** The share of test instances matched entirely right. */
  readonly testPerfect: number
  /** The share of test solutions x* that are permutation matrices (vertices). */
  readonly vertexShare: number
  /** The largest row or column sum error or negative entry over the test solutions. */
  readonly maxViolation: number
  /** The share of test solutions whose face the layer reported as exact. */
  readonly exactShare: number
  /** Wall time in the layer (solve and vjp) during the epoch's training pass. */
  readonly layerSeconds: number
  readonly epochSeconds: number
}

/** What a run returns: the epochs, the final W, and one test instance's solutions before and after. */
export interface TrainResult {
  readonly rows: ReadonlyArray<EpochRow>
  readonly W: Float64Array
  readonly example: { readonly truth: Float64Array; readonly before: Float64Array; readonly after: Float64Array; readonly m: number }
  /** Accuracy of matching on the hidden map's cost (what the noise allows) and of chance (1/m). */
  readonly reference: { readonly trueMapAccuracy: number; readonly trueMapPerfect: number; readonly chance: number }
}

// -------------------------------------------------------------------------------------
// the layer
// -------------------------------------------------------------------------------------

/** The layer's solution for one instance's cost, and the gradient of the loss in the cost. */
interface Solved {
  readonly x: Float64Array
  readonly loss: number
  readonly exact: boolean
  readonly gradC?: Float64Array
}

const solver = (m: number, epsilon: number) => withDim(m * m, (n) => {
  // P = εI, one operator object for every instance (a batch would share its products)
  const P = lowRank({ dim: n, data: new Float64Array(n).fill(epsilon) }, 0, new Float64Array(0))
  const layer = dfwLayer({ backward: 'implicit' })
  return (C: Float64Array, perm: Int32Array, withGradient: boolean): Solved => {
    const r = layer({ P, q: { dim: n, data: C }, set: { kind: 'birkhoff' } })
    const x = r.x.data
    const resid = new Float64Array(m * m)
    let loss = 0
    for (let c = 0; c < m * m; c++) {
      const target = perm[Math.floor(c / m)] === c % m ? 1 : 0
      resid[c] = (x[c]! - target) / m
      loss += 0.5 * (x[c]! - target) ** 2 / m
    }
    const exact = r.face?.derivative === 'exact'
    if (!withGradient) return { x, loss, exact }
    return { x, loss, exact, gradC: r.vjp({ dim: n, data: resid }).q.data }
  }
})

/** The hard matching of a doubly stochastic x: the assignment that maximizes ⟨x, V⟩. */
export const hardMatching = (x: Float64Array, m: number): Int32Array => assignment(Float64Array.from(x, (v) => -v), m).perm

const violationOf = (x: Float64Array, m: number): number => {
  let v = 0
  for (let i = 0; i < m; i++) {
    let r = 0, c = 0
    for (let j = 0; j < m; j++) { r += x[i * m + j]!; c += x[j * m + i]!; v = Math.max(v, -x[i * m + j]!) }
    v = Math.max(v, Math.abs(r - 1), Math.abs(c - 1))
  }
  return v
}

const correct = (p: Int32Array, truth: Int32Array): number => { let k = 0; for (let i = 0; i < p.length; i++) if (p[i] === truth[i]) k++; return k }

// -------------------------------------------------------------------------------------
// training
// -------------------------------------------------------------------------------------

/**
 * Trains W from a random start by Adam (β = 0.9, 0.999) through the layer's vjp.
 *
 * @example
 * const { rows } = train(makeTask({ … }), { epsilon: 1, lr: 0.05, batch: 16, epochs: 10, seed: 1 })
 * rows[rows.length - 1].testAccuracy
 */
export const train = (task: Task, o: TrainOptions, onEpoch: (row: EpochRow) => void = () => undefined): TrainResult => {
  const { m, d } = task
  const solve = solver(m, o.epsilon)
  // a random start (normal entries over √d), so that the layer must turn W, not only scale it
  const r = rng(o.seed)
  const W = Float64Array.from({ length: d * d }, () => r.normal() / Math.sqrt(d))
  const mom = new Float64Array(d * d), vel = new Float64Array(d * d)
  let step = 0
  const evaluate = (set: ReadonlyArray<Instance>) => {
    let loss = 0, right = 0, perfect = 0, vertices = 0, viol = 0, exact = 0
    for (const inst of set) {
      const s = solve(bilinearCost(W, inst, m, d), inst.perm, false)
      loss += s.loss
      const k = correct(hardMatching(s.x, m), inst.perm)
      right += k
      if (k === m) perfect++
      if (s.x.every((v) => v === 0 || v === 1)) vertices++
      viol = Math.max(viol, violationOf(s.x, m))
      if (s.exact) exact++
    }
    const k = set.length
    return { loss: loss / k, accuracy: right / (k * m), perfect: perfect / k, vertexShare: vertices / k, maxViolation: viol, exactShare: exact / k }
  }
  const rows: EpochRow[] = []
  const record = (epoch: number, trainLoss: number, layerSeconds: number, started: number): void => {
    const e = evaluate(task.test)
    const row: EpochRow = {
      epoch, trainLoss, testLoss: e.loss, testAccuracy: e.accuracy, testPerfect: e.perfect, vertexShare: e.vertexShare,
      maxViolation: e.maxViolation, exactShare: e.exactShare, layerSeconds, epochSeconds: (performance.now() - started) / 1000
    }
    rows.push(row)
    onEpoch(row)
  }
  const t0 = performance.now()
  record(0, evaluate(task.train).loss, 0, t0)
  const probe = task.test[0]!
  const before = solve(bilinearCost(W, probe, m, d), probe.perm, false).x
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const started = performance.now()
    const order = shuffled(r, task.train.length)
    let lossSum = 0, batches = 0, layerMs = 0
    for (let start = 0; start < order.length; start += o.batch) {
      const grad = new Float64Array(d * d)
      let bl = 0
      const size = Math.min(o.batch, order.length - start)
      for (let e = 0; e < size; e++) {
        const inst = task.train[order[start + e]!]!
        const C = bilinearCost(W, inst, m, d)
        const l0 = performance.now()
        const s = solve(C, inst.perm, true)
        layerMs += performance.now() - l0
        bl += s.loss
        // ∂L/∂W = −Σᵢⱼ (∂L/∂Cᵢⱼ) aᵢ bⱼᵀ, averaged over the batch
        const gC = s.gradC!
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < m; j++) {
            const g = gC[i * m + j]! / size
            if (g === 0) continue
            for (let u = 0; u < d; u++) {
              const au = inst.a[i * d + u]! * g
              for (let v = 0; v < d; v++) grad[u * d + v] = grad[u * d + v]! - au * inst.b[j * d + v]!
            }
          }
        }
      }
      lossSum += bl / size
      batches++
      step++
      for (let c = 0; c < d * d; c++) {
        mom[c] = 0.9 * mom[c]! + 0.1 * grad[c]!
        vel[c] = 0.999 * vel[c]! + 0.001 * grad[c]! ** 2
        const mh = mom[c]! / (1 - 0.9 ** step), vh = vel[c]! / (1 - 0.999 ** step)
        W[c] = W[c]! - o.lr * mh / (Math.sqrt(vh) + 1e-8)
      }
    }
    record(epoch, lossSum / batches, layerMs / 1000, started)
  }
  const after = solve(bilinearCost(W, probe, m, d), probe.perm, false).x
  const truth = new Float64Array(m * m)
  for (let i = 0; i < m; i++) truth[i * m + probe.perm[i]!] = 1
  let refRight = 0, refPerfect = 0
  for (const inst of task.test) {
    const k = correct(assignment(referenceCost(task, inst), m).perm, inst.perm)
    refRight += k
    if (k === m) refPerfect++
  }
  return {
    rows, W,
    example: { truth, before, after, m },
    reference: { trueMapAccuracy: refRight / (task.test.length * m), trueMapPerfect: refPerfect / task.test.length, chance: 1 / m }
  }
}
