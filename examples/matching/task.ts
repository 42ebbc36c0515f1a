/**
 * The synthetic matching task: each instance has m items with features aᵢ ∈ Rᵈ and the
 * same m items seen again through an unknown linear map with noise, shuffled by a hidden
 * permutation π: b_π(i) = R aᵢ + σ εᵢ. A model must learn a cost Cᵢⱼ whose matching
 * recovers π. Seeded, so every run sees the same data.
 *
 * @since 0.1.0
 */
import { rng, type Rng } from '../../src/core/Random.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** One instance: a (m × d, row i = aᵢ), b (m × d, row j = bⱼ), and π (item i is column perm[i]). */
export interface Instance {
  readonly a: Float64Array
  readonly b: Float64Array
  readonly perm: Int32Array
}

/** The task's sizes and data. */
export interface Task {
  readonly m: number
  readonly d: number
  readonly sigma: number
  /** The hidden map (d × d, row-major). */
  readonly R: Float64Array
  readonly train: ReadonlyArray<Instance>
  readonly test: ReadonlyArray<Instance>
}

/** The task's settings. */
export interface TaskOptions {
  readonly seed: number
  readonly m: number
  readonly d: number
  readonly sigma: number
  readonly nTrain: number
  readonly nTest: number
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/** A seeded permutation of 0 … m−1 (Fisher-Yates). */
export const shuffled = (r: Rng, m: number): Int32Array => {
  const p = Int32Array.from({ length: m }, (_, i) => i)
  for (let i = m - 1; i > 0; i--) {
    const j = Math.floor(r.uniform() * (i + 1))
    const t = p[i]!
    p[i] = p[j]!
    p[j] = t
  }
  return p
}

const instance = (r: Rng, m: number, d: number, R: Float64Array, sigma: number): Instance => {
  const a = Float64Array.from({ length: m * d }, () => r.normal())
  const perm = shuffled(r, m)
  const b = new Float64Array(m * d)
  for (let i = 0; i < m; i++) {
    const j = perm[i]!
    for (let u = 0; u < d; u++) {
      let s = 0
      for (let v = 0; v < d; v++) s += R[u * d + v]! * a[i * d + v]!
      b[j * d + u] = s + sigma * r.normal()
    }
  }
  return { a, b, perm }
}

/**
 * The task: R with normal entries over √d, then the training and test instances.
 *
 * @example
 * const task = makeTask({ seed: 0, m: 8, d: 5, sigma: 0.5, nTrain: 256, nTest: 128 })
 * task.train[0].perm // the hidden matching of the first instance
 */
export const makeTask = (o: TaskOptions): Task => {
  const r = rng(o.seed)
  const R = Float64Array.from({ length: o.d * o.d }, () => r.normal() / Math.sqrt(o.d))
  const make = (k: number): Instance[] => Array.from({ length: k }, () => instance(r, o.m, o.d, R, o.sigma))
  return { m: o.m, d: o.d, sigma: o.sigma, R, train: make(o.nTrain), test: make(o.nTest) }
}

/**
 * The cost of a bilinear model W (d × d): Cᵢⱼ = −aᵢᵀ W bⱼ (m × m, row-major).
 *
 * @example
 * const C = bilinearCost(W, inst, m, d) // the layer's q
 */
export const bilinearCost = (W: Float64Array, inst: Instance, m: number, d: number): Float64Array => {
  const C = new Float64Array(m * m), wb = new Float64Array(m * d)
  for (let j = 0; j < m; j++) {
    for (let u = 0; u < d; u++) {
      let s = 0
      for (let v = 0; v < d; v++) s += W[u * d + v]! * inst.b[j * d + v]!
      wb[j * d + u] = s
    }
  }
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0
      for (let u = 0; u < d; u++) s += inst.a[i * d + u]! * wb[j * d + u]!
      C[i * m + j] = -s
    }
  }
  return C
}

/**
 * The cost the hidden map gives, Cᵢⱼ = −(R aᵢ)ᵀ bⱼ: matching on it is the best a
 * bilinear model can hope for (the noise alone makes its errors).
 *
 * @example
 * const C = referenceCost(task, inst)
 */
export const referenceCost = (task: Task, inst: Instance): Float64Array => {
  const d = task.d, Rt = new Float64Array(d * d)
  for (let u = 0; u < d; u++) for (let v = 0; v < d; v++) Rt[u * d + v] = task.R[v * d + u]!
  return bilinearCost(Rt, inst, task.m, d)
}
