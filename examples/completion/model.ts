/**
 * The model: predictions Ŷᵢⱼ = Lᵢⱼ + aᵢ + cⱼ, where the low-rank part L is the layer's
 * output on the training entries Ω,
 *
 *     L = argmin { ½ Σ_Ω (Lᵢⱼ + aᵢ + cⱼ − Yᵢⱼ)² + ½ε‖L‖²_F : ‖L‖_* ≤ t },
 *
 * that is, P = diag(1_Ω + ε) and q = 1_Ω ⊙ (a 1ᵀ + 1 cᵀ − Y) for the nuclear-norm ball
 * (ε = 1e-3 makes P positive definite, so the solution is unique also inside the ball).
 * The parameters are the offsets a, c and s = log t; they are trained by Adam on the
 * validation entries' squared error, whose gradient reaches them directly (through Ŷ) and
 * through L: the layer's VJP gives ∂/∂q and ∂/∂t, and ∂qᵢⱼ/∂aᵢ = ∂qᵢⱼ/∂cⱼ = 1_Ω.
 *
 * @since 0.1.0
 */
import { unsafeDim } from '../../src/shapes/Dim.js'
import { lowRank } from '../../src/core/LinearOperator.js'
import { svd } from '../../src/core/Eigen.js'
import { dfwLayer } from '../../src/fw/Layer.js'
import type { NuclearFaceReport } from '../../src/fw/nuclear/Derivative.js'
import type { Task } from './task.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** The trained parameters: row offsets a, column offsets c, and s = log t. */
export interface Params {
  readonly a: Float64Array
  readonly c: Float64Array
  readonly s: number
}

/** One evaluation of the model: L and Ŷ, the errors on the three sets, the validation loss and its gradient, and the layer's report. */
export interface Evaluation {
  readonly L: Float64Array
  readonly pred: Float64Array
  /** ½·mean over the validation entries of (Ŷ − Y)². */
  readonly loss: number
  readonly trainRmse: number
  readonly validationRmse: number
  readonly testRmse: number
  readonly t: number
  readonly rank: number
  readonly status: string
  readonly derivative: string
  readonly layerMs: number
  readonly grad?: Params
}

/** The ridge ε of P = diag(1_Ω + ε): positive definite, so the layer's solution is unique also inside the ball. */
export const EPS = 1e-3

// -------------------------------------------------------------------------------------
// the forward pass and the gradient
// -------------------------------------------------------------------------------------

const rmse = (pred: Float64Array, Y: Float64Array, mask: Float64Array): number => {
  let s = 0, k = 0
  for (let e = 0; e < Y.length; e++) if (mask[e] === 1) { s += (pred[e]! - Y[e]!) ** 2; k++ }
  return Math.sqrt(s / Math.max(k, 1))
}

/** The model at θ: the layer's L, the predictions, the errors, and (when asked) the validation loss's gradient; `eps` is the ridge ε of P. */
export const evaluate = (task: Task, theta: Params, withGradient: boolean, eps = EPS): Evaluation => {
  const { rows: m, cols: p } = task.config, n = m * p, { Y, train, validation } = task
  const dim = unsafeDim<'n'>(n)
  const d = Float64Array.from(train, (w) => w + eps)
  const q = new Float64Array(n)
  for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) {
    const e = i * p + j
    q[e] = train[e]! * (theta.a[i]! + theta.c[j]! - Y[e]!)
  }
  const t = Math.exp(theta.s)
  const t0 = performance.now()
  const res = dfwLayer()({ P: lowRank({ dim, data: d }, 0, new Float64Array(0)), q: { dim, data: q }, t, set: { kind: 'nuclear', rows: m, cols: p } })
  const L = res.x.data
  const pred = new Float64Array(n)
  for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) pred[i * p + j] = L[i * p + j]! + theta.a[i]! + theta.c[j]!
  let nv = 0
  for (let e = 0; e < n; e++) nv += validation[e]!
  let loss = 0
  const ct = new Float64Array(n)
  for (let e = 0; e < n; e++) {
    if (validation[e] !== 1) continue
    const r = pred[e]! - Y[e]!
    loss += 0.5 * r * r / nv
    ct[e] = r / nv
  }
  let grad: Params | undefined
  if (withGradient) {
    const g = res.vjp({ dim, data: ct })
    const ga = new Float64Array(m), gc = new Float64Array(p)
    for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) {
      const e = i * p + j
      // directly through Ŷ, and through q = 1_Ω ⊙ (a 1ᵀ + 1 cᵀ − Y)
      const v = ct[e]! + train[e]! * g.q.data[e]!
      ga[i] = ga[i]! + v
      gc[j] = gc[j]! + v
    }
    grad = { a: ga, c: gc, s: t * g.t }
  }
  const layerMs = performance.now() - t0
  const face = res.face as NuclearFaceReport
  return {
    L, pred, loss, t, rank: face.rank, status: res.status, derivative: face.derivative, layerMs,
    trainRmse: rmse(pred, Y, train), validationRmse: rmse(pred, Y, validation), testRmse: rmse(pred, Y, task.test),
    ...(grad === undefined ? {} : { grad })
  }
}

// -------------------------------------------------------------------------------------
// baselines and training
// -------------------------------------------------------------------------------------

/** The offsets alone, by least squares on the training and validation entries (alternating, 50 rounds), and their test error. */
export const offsetsOnly = (task: Task): { readonly a: Float64Array; readonly c: Float64Array; readonly testRmse: number } => {
  const { rows: m, cols: p } = task.config, { Y, train, validation } = task
  const a = new Float64Array(m), c = new Float64Array(p)
  const seen = (e: number): boolean => train[e] === 1 || validation[e] === 1
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < m; i++) {
      let s = 0, k = 0
      for (let j = 0; j < p; j++) if (seen(i * p + j)) { s += Y[i * p + j]! - c[j]!; k++ }
      a[i] = k > 0 ? s / k : 0
    }
    for (let j = 0; j < p; j++) {
      let s = 0, k = 0
      for (let i = 0; i < m; i++) if (seen(i * p + j)) { s += Y[i * p + j]! - a[i]!; k++ }
      c[j] = k > 0 ? s / k : 0
    }
  }
  const pred = new Float64Array(m * p)
  for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) pred[i * p + j] = a[i]! + c[j]!
  return { a, c, testRmse: rmse(pred, Y, task.test) }
}

/** ‖X‖_* by a full SVD (for the report). */
export const nuclearNorm = (x: Float64Array, m: number, p: number): number => svd(x, m, p).s.reduce((s, v) => s + v, 0)

/** One epoch's record (epoch 0 is θ₀): the model at the start of the epoch's step. */
export interface EpochRow {
  readonly epoch: number
  /** The validation loss through the layer, ½·mean (Ŷ − Y)². */
  readonly loss: number
  readonly trainRmse: number
  readonly validationRmse: number
  readonly testRmse: number
  readonly t: number
  /** ‖L‖_* by a full SVD, and its ratio to t (≤ 1: L is in the ball). */
  readonly nuclearNorm: number
  readonly normRatio: number
  readonly rank: number
  readonly status: string
  readonly derivative: string
  /** The layer's forward solve and its vjp, wall-clock. */
  readonly layerMs: number
}

/**
 * Adam on θ (lr, β₁ = 0.9, β₂ = 0.999) for `epochs` full-batch steps on the validation loss;
 * returns the final θ, the per-epoch rows (epoch 0 is θ₀, epoch k the model after k steps)
 * and the first and last evaluations. `onEpoch` sees each row as it is made.
 */
export const train = (
  task: Task, theta0: Params, epochs: number, lr: number, onEpoch: (row: EpochRow) => void = () => undefined
): { readonly theta: Params; readonly rows: EpochRow[]; readonly first: Evaluation; readonly last: Evaluation } => {
  const flat = (th: Params): Float64Array => Float64Array.of(...th.a, ...th.c, th.s)
  const { rows: m, cols: p } = task.config
  const unflat = (v: Float64Array): Params => ({ a: v.slice(0, m), c: v.slice(m, m + p), s: v[m + p]! })
  const x = flat(theta0)
  const mo = new Float64Array(x.length), ve = new Float64Array(x.length)
  const rows: EpochRow[] = []
  let ev = evaluate(task, unflat(x), true)
  const first = ev
  const record = (k: number, e: Evaluation): void => {
    const nn = nuclearNorm(e.L, m, p)
    const row: EpochRow = {
      epoch: k, loss: e.loss, trainRmse: e.trainRmse, validationRmse: e.validationRmse, testRmse: e.testRmse, t: e.t,
      nuclearNorm: nn, normRatio: nn / e.t, rank: e.rank, status: e.status, derivative: e.derivative, layerMs: e.layerMs
    }
    rows.push(row)
    onEpoch(row)
  }
  record(0, ev)
  for (let k = 1; k <= epochs; k++) {
    const g = flat(ev.grad!)
    for (let i = 0; i < x.length; i++) {
      mo[i] = 0.9 * mo[i]! + 0.1 * g[i]!
      ve[i] = 0.999 * ve[i]! + 0.001 * g[i]! * g[i]!
      const mh = mo[i]! / (1 - 0.9 ** k), vh = ve[i]! / (1 - 0.999 ** k)
      x[i] = x[i]! - lr * mh / (Math.sqrt(vh) + 1e-8)
    }
    ev = evaluate(task, unflat(x), true)
    record(k, ev)
  }
  return { theta: unflat(x), rows, first, last: ev }
}
