/**
 * The matrix-completion task: a rows × cols matrix Y = A Bᵀ + aᵢ + cⱼ + noise (a rank-r
 * signal plus row and column offsets), of which a few entries are observed. The observed
 * entries are split into a training set (the layer fits the low-rank part to them) and a
 * validation set (the model's parameters are trained on them); every other entry is the
 * test set. Seeded: the same data on every run.
 *
 * @since 0.1.0
 */
import { rng } from '../../src/core/Random.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** The task's sizes and proportions. */
export interface TaskConfig {
  readonly seed: number
  readonly rows: number
  readonly cols: number
  readonly rank: number
  /** The fraction of entries in the training set and in the validation set. */
  readonly train: number
  readonly validation: number
  readonly noise: number
}

/** One task: the full matrix (for the test error), its parts, and the three masks (1 where the entry is in the set). */
export interface Task {
  readonly config: TaskConfig
  readonly Y: Float64Array
  /** The rank-r signal A Bᵀ (row-major). */
  readonly signal: Float64Array
  readonly rowOffset: Float64Array
  readonly colOffset: Float64Array
  readonly train: Float64Array
  readonly validation: Float64Array
  readonly test: Float64Array
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/** The task of a config (seeded). */
export const makeTask = (config: TaskConfig): Task => {
  const { rows: m, cols: p, rank: k } = config
  const r = rng(config.seed)
  const A = Float64Array.from({ length: m * k }, () => r.normal()), B = Float64Array.from({ length: p * k }, () => r.normal())
  const rowOffset = Float64Array.from({ length: m }, () => 1 + 0.8 * r.normal())
  const colOffset = Float64Array.from({ length: p }, () => 0.8 * r.normal())
  const n = m * p
  const signal = new Float64Array(n), Y = new Float64Array(n)
  const train = new Float64Array(n), validation = new Float64Array(n), test = new Float64Array(n)
  for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) {
    let s = 0
    for (let l = 0; l < k; l++) s += A[i * k + l]! * B[j * k + l]!
    const e = i * p + j
    signal[e] = s
    Y[e] = s + rowOffset[i]! + colOffset[j]! + config.noise * r.normal()
    const u = r.uniform()
    if (u < config.train) train[e] = 1
    else if (u < config.train + config.validation) validation[e] = 1
    else test[e] = 1
  }
  return { config, Y, signal, rowOffset, colOffset, train, validation, test }
}
