/**
 * The four policies: the network's raw action â goes through a head that makes the final
 * action. Every head is a differentiable map of the batch's raw actions, so training sees
 * through it.
 *
 * - `mlp`: a = â (unconstrained).
 * - `clip`: a = â · min(1, p_max / Σ|sᵢ âᵢ|), scaled onto the constraint when outside.
 * - `dfw-paper`: a = argmin ½‖a − â‖² s.t. Σ wᵢ|aᵢ| ≤ p_max, w = max(|s|, ε), by the layer on
 *   the paper's schedule with its robotics settings (β₀ 0.1, relative-change 1e-3, at most
 *   10 iterations; L = 1 is P = I's exact top eigenvalue), unrolled derivative.
 * - `dfw-implicit`: the same problem on the default schedule, implicit derivative.
 *
 * @since 0.1.0
 */
import type { Dim } from '../../src/shapes/Dim.js'
import type { Vec } from '../../src/shapes/Vec.js'
import { identity } from '../../src/shapes/Mat.js'
import * as D from '../../src/core/Diff.js'
import type { Diff, Linear } from '../../src/core/Diff.js'
import * as Prim from '../../src/core/Prim.js'
import { trace } from '../../src/core/Trace.js'
import { type Tan, Zero } from '../../src/core/Tangent.js'
import { dense as denseOp } from '../../src/core/LinearOperator.js'
import type { LayerOptions } from '../../src/fw/Layer.js'
import type { Params } from '../../src/fw/Problem.js'
import { type Clock, batchLayer, parAll, timed } from './batch.js'
import type { Sample } from './task.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** A policy's name. */
export type PolicyName = 'mlp' | 'clip' | 'dfw-paper' | 'dfw-implicit'

/** A policy: how the batch's raw actions become actions. */
export interface Policy {
  readonly name: PolicyName
  /** Whether the head is the Frank-Wolfe layer (its time is on the clock). */
  readonly usesLayer: boolean
  readonly head: <F, A>(a: Dim<A>, batch: ReadonlyArray<Sample<F, A>>, pMax: number, c: Clock) => Diff<ReadonlyArray<Vec<A>>, ReadonlyArray<Vec<A>>>
}

// -------------------------------------------------------------------------------------
// heads
// -------------------------------------------------------------------------------------

const asRecord = <A>(): Diff<Vec<A>, { readonly a: Vec<A> }> =>
  D.linear<Vec<A>, { readonly a: Vec<A> }>({ fwd: (a) => ({ a }), bwd: (r) => r.a })

/**
 * â ↦ â · p_max / Σ|sᵢ âᵢ| when Σ|sᵢ âᵢ| > p_max, else â: the raw action scaled onto the
 * power constraint (the branch is not differentiated).
 *
 * @example
 * scaleOnto(s, 0.3)(raw) // [feasible action, linear map]
 */
export const scaleOnto = <A>(s: Vec<A>, pMax: number): Diff<Vec<A>, Vec<A>> => {
  const absS: Vec<A> = { dim: s.dim, data: Float64Array.from(s.data, Math.abs) }
  const power = (a: Vec<A>): number => a.data.reduce((p, v, i) => p + Math.abs(v * absS.data[i]!), 0)
  const scaled = D.compose(
    trace<{ readonly a: Vec<A> }, Vec<A>>(($, { a }) => {
      const rho = $.call(Prim.dot<A>(), $.call(Prim.abs<A>(), a), $.constant(absS))
      return $.call(Prim.scale<A>(), $.call(Prim.sdiv(), $.constant(pMax), rho), a)
    }),
    asRecord<A>()
  )
  return D.cond((a: Vec<A>) => power(a) > pMax, scaled, D.id<Vec<A>>())
}

/**
 * â ↦ θ = (P = I, q = −â, w, t = p_max): the layer's problem is then the Euclidean
 * projection of â onto {Σ wᵢ|aᵢ| ≤ p_max}. Only q depends on â.
 *
 * @example
 * projectionProblem(a, w, 0.3)(raw)
 */
export const projectionProblem = <A>(a: Dim<A>, w: Vec<A>, pMax: number): Diff<Vec<A>, Params<A>> => {
  const P = denseOp(identity(a))
  const neg = (v: Vec<A>): Vec<A> => ({ dim: v.dim, data: Float64Array.from(v.data, (x) => -x) })
  const lin: Linear<Vec<A>, Params<A>> = {
    fwd: (d) => (d === Zero ? Zero : ({ q: neg(d) } as Tan<Params<A>>)),
    bwd: (ct) => {
      if (ct === Zero) return Zero
      const dq = (ct as { readonly q?: Tan<Vec<A>> }).q ?? Zero
      return dq === Zero ? Zero : neg(dq)
    }
  }
  return (raw) => [{ P, q: neg(raw), w, t: pMax }, lin]
}

const layerHead = (options: LayerOptions): Policy['head'] => (a, batch, pMax, c) =>
  D.compose(timed(batchLayer(options), c), parAll(batch.map((s) => projectionProblem(a, s.w, pMax))))

/** The paper's schedule with the robotics runs' settings (PAPER.md). */
export const PAPER_ROBOTICS: LayerOptions = { schedule: 'paper', backward: 'unrolled', beta0: 0.1, tolerance: 1e-3, maxIterations: 10, lipschitz: 1 }

/** The project's schedule with the implicit derivative. */
export const DEFAULT_IMPLICIT: LayerOptions = { schedule: 'default', backward: 'implicit' }

/** The four policies, in the order they are reported. */
export const POLICIES: ReadonlyArray<Policy> = [
  { name: 'mlp', usesLayer: false, head: () => D.id() },
  { name: 'clip', usesLayer: false, head: (_a, batch, pMax) => parAll(batch.map((s) => scaleOnto(s.s, pMax))) },
  { name: 'dfw-paper', usesLayer: true, head: layerHead(PAPER_ROBOTICS) },
  { name: 'dfw-implicit', usesLayer: true, head: layerHead(DEFAULT_IMPLICIT) }
]
