/**
 * The synthetic shortest-path data of the example, after PyEPO's generator (Tang and
 * Khalil, "PyEPO: a PyTorch-based end-to-end predict-then-optimize library"): each instance
 * has p features z ~ N(0, I), and the edge costs are a degree-`deg` polynomial of a fixed
 * random linear map of z, with multiplicative noise,
 *
 *     cₑ = [((B z)ₑ/√p + 3)^deg / 3.5^deg + 1] · uₑ,   B ∈ {0, 1}^{edges × p}, uₑ ~ U[1 − ē, 1 + ē].
 *
 * A linear model of the costs is misspecified for deg > 1, which is where training for the
 * decision (end to end, through the layer) beats fitting the costs.
 *
 * @since 0.1.0
 */
import { rng } from '../../src/core/Random.js'
import { type Grid, shortestPath } from './grid.js'

/** One instance: features, true costs, and the true shortest path. */
export interface Instance {
  readonly z: Float64Array
  readonly cost: Float64Array
  readonly path: Float64Array
}

/** Options of the generator. */
export interface DataOptions {
  readonly seed: number
  readonly features: number
  readonly deg: number
  readonly noise: number
}

/** Training and test instances from one seeded generator (the same B for both). */
export const makeData = (G: Grid, nTrain: number, nTest: number, o: DataOptions): { readonly train: Instance[]; readonly test: Instance[] } => {
  const r = rng(o.seed), n = G.edges.length, p = o.features
  const B = Float64Array.from({ length: n * p }, () => (r.uniform() < 0.5 ? 1 : 0))
  const instance = (): Instance => {
    const z = Float64Array.from({ length: p }, () => r.normal())
    const cost = new Float64Array(n)
    for (let e = 0; e < n; e++) {
      let s = 0
      for (let j = 0; j < p; j++) s += B[e * p + j]! * z[j]!
      const u = 1 - o.noise + 2 * o.noise * r.uniform()
      cost[e] = ((s / Math.sqrt(p) + 3) ** o.deg / 3.5 ** o.deg + 1) * u
    }
    return { z, cost, path: shortestPath(G, cost) }
  }
  return { train: Array.from({ length: nTrain }, instance), test: Array.from({ length: nTest }, instance) }
}
