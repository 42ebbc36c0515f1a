/**
 * A synthetic Reacher-like imitation task with a power constraint.
 *
 * A two-link planar arm (links 0.1 and 0.11, as MuJoCo's Reacher) reaches for a target in
 * the disk of radius 0.2. The state holds the joint angles as cos/sin, the target, the
 * joint velocities s = (ω₁, ω₂) and the fingertip-to-target vector: 10 features. The
 * action is two joint torques.
 *
 * The expert is deterministic: a smooth nonlinear raw action
 *     â(state) = tanh(k_p Jᵀ(target − fingertip) − k_d s + k_c (sin θ₁, sin θ₂)·|e|)
 * (J the fingertip Jacobian, |e| the distance to the target), mapped onto the power
 * constraint Σ|sᵢ aᵢ| ≤ p_max by the exact Euclidean projection onto the weighted l1 ball
 * {a : Σ wᵢ|aᵢ| ≤ p_max} with w = max(|s|, ε) (the library's sort-based `projectL1`).
 * Since w ≥ |s|, that ball lies inside the power constraint, so every expert action
 * satisfies it; where |sᵢ| ≥ ε for both joints the two sets are the same.
 *
 * @since 0.1.0
 */
import type { Dim } from '../../src/shapes/Dim.js'
import type { Vec } from '../../src/shapes/Vec.js'
import { rng } from '../../src/core/Random.js'
import { projectL1 } from '../../src/fw/exact/Projection.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** The number of state features. */
export const FEATURES = 10
/** The number of actions. */
export const ACTIONS = 2
/** The guard that keeps the weights w = max(|s|, ε) positive, so the l1 ball is bounded. */
export const EPSILON = 1e-3

/** One state of the arm, its constraint data and the expert's action. */
export interface Sample<F, A> {
  /** The standardized features (the network's input). */
  readonly x: Vec<F>
  /** The joint velocities s. */
  readonly s: Vec<A>
  /** The layer's weights max(|s|, ε). */
  readonly w: Vec<A>
  /** The expert's action (feasible). */
  readonly y: Vec<A>
  /** Whether the expert's raw action violated the constraint (its projection moved it). */
  readonly binding: boolean
}

/** A seeded data set. */
export interface Dataset<F, A> {
  readonly pMax: number
  readonly train: ReadonlyArray<Sample<F, A>>
  readonly test: ReadonlyArray<Sample<F, A>>
}

/** The expert's gains. */
const KP = 40, KD = 0.6, KC = 2
const L1 = 0.1, L2 = 0.11

interface RawState {
  readonly features: Float64Array
  readonly s: Float64Array
  readonly raw: Float64Array
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

const drawState = (r: ReturnType<typeof rng>): RawState => {
  const th1 = Math.PI * (2 * r.uniform() - 1), th2 = 3 * (2 * r.uniform() - 1)
  let tx = 0, ty = 0
  do { tx = 0.4 * r.uniform() - 0.2; ty = 0.4 * r.uniform() - 0.2 } while (tx * tx + ty * ty > 0.04)
  const w1 = r.normal(), w2 = r.normal()
  const c1 = Math.cos(th1), s1 = Math.sin(th1), c12 = Math.cos(th1 + th2), s12 = Math.sin(th1 + th2)
  const fx = L1 * c1 + L2 * c12, fy = L1 * s1 + L2 * s12
  const ex = tx - fx, ey = ty - fy
  const dist = Math.hypot(ex, ey)
  const j1 = (-L1 * s1 - L2 * s12) * ex + (L1 * c1 + L2 * c12) * ey
  const j2 = -L2 * s12 * ex + L2 * c12 * ey
  const raw = Float64Array.from([
    Math.tanh(KP * j1 - KD * w1 + KC * Math.sin(th1) * dist),
    Math.tanh(KP * j2 - KD * w2 + KC * Math.sin(th2) * dist)
  ])
  return {
    features: Float64Array.from([c1, Math.cos(th2), s1, Math.sin(th2), tx, ty, w1, w2, ex, ey]),
    s: Float64Array.from([w1, w2]),
    raw
  }
}

/**
 * The expert's action: the exact Euclidean projection of the raw action onto
 * {a : Σ max(|sᵢ|, ε)|aᵢ| ≤ p_max}.
 *
 * @example
 * expertAction(a, raw, s, 0.3) // a feasible action, = raw when raw is feasible
 */
export const expertAction = <A>(a: Dim<A>, raw: Float64Array, s: Float64Array, pMax: number): Vec<A> =>
  projectL1({ dim: a, data: raw }, guard(a, s), pMax)

/** The weights max(|sᵢ|, ε). */
export const guard = <A>(a: Dim<A>, s: Float64Array): Vec<A> =>
  ({ dim: a, data: Float64Array.from(s, (v) => Math.max(Math.abs(v), EPSILON)) })

/** Σ|sᵢ aᵢ| − p_max: how far an action exceeds the power constraint (≤ 0 when feasible). */
export const excess = <A>(s: Vec<A>, action: Vec<A>, pMax: number): number => {
  let p = 0
  for (let i = 0; i < action.data.length; i++) p += Math.abs(s.data[i]! * action.data[i]!)
  return p - pMax
}

/**
 * A seeded data set: `nTrain + nTest` states drawn once (the same states for every
 * p_max), features standardized with the training set's mean and deviation, and the
 * expert's actions at `pMax`.
 *
 * @example
 * makeDataset(f, a, { seed: 0, nTrain: 2048, nTest: 512, pMax: 0.3 })
 */
export const makeDataset = <F, A>(
  f: Dim<F>,
  a: Dim<A>,
  o: { readonly seed: number; readonly nTrain: number; readonly nTest: number; readonly pMax: number }
): Dataset<F, A> => {
  const r = rng(o.seed)
  const states = Array.from({ length: o.nTrain + o.nTest }, () => drawState(r))
  const mean = new Float64Array(FEATURES), sd = new Float64Array(FEATURES)
  for (let k = 0; k < o.nTrain; k++) for (let j = 0; j < FEATURES; j++) mean[j] = mean[j]! + states[k]!.features[j]! / o.nTrain
  for (let k = 0; k < o.nTrain; k++) for (let j = 0; j < FEATURES; j++) sd[j] = sd[j]! + (states[k]!.features[j]! - mean[j]!) ** 2 / o.nTrain
  const sample = (st: RawState): Sample<F, A> => {
    const y = expertAction(a, st.raw, st.s, o.pMax)
    const s: Vec<A> = { dim: a, data: st.s }
    return {
      x: { dim: f, data: Float64Array.from(st.features, (v, j) => (v - mean[j]!) / Math.sqrt(sd[j]! + 1e-12)) },
      s,
      w: guard(a, st.s),
      y,
      binding: y.data.some((v, i) => v !== st.raw[i])
    }
  }
  const all = states.map(sample)
  return { pMax: o.pMax, train: all.slice(0, o.nTrain), test: all.slice(o.nTrain) }
}
