/**
 * Differentiable maps over a mini-batch: n-ary fan-out and parallel product, the batched
 * Frank-Wolfe layer (`dfwBatch` with each instance's linear map), the mean squared error,
 * and a clock that times a map's forward and reverse passes.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Vec } from '../../src/shapes/Vec.js'
import type { Diff, Linear } from '../../src/core/Diff.js'
import { type Tan, Zero, addT } from '../../src/core/Tangent.js'
import { dfwBatch } from '../../src/fw/Batch.js'
import type { LayerOptions } from '../../src/fw/Layer.js'
import type { Params, SetKind } from '../../src/fw/Problem.js'

type Tans<B> = ReadonlyArray<Tan<B>>

// -------------------------------------------------------------------------------------
// combinators
// -------------------------------------------------------------------------------------

/**
 * The n-ary fan-out p ↦ [f₀(p), …, f_{B−1}(p)]: one map per sample, sharing the argument
 * (the weights). The transpose sums the samples' cotangents.
 *
 * @example
 * fanoutAll(batch.map((s) => mlp(s.x)))(weights) // the network's output on every sample
 */
export const fanoutAll = <P, B>(fs: ReadonlyArray<Diff<P, B>>): Diff<P, ReadonlyArray<B>> => (p) => {
  const rs = fs.map((f) => f(p))
  const lin: Linear<P, ReadonlyArray<B>> = {
    fwd: (dp) => (dp === Zero ? Zero : (rs.map(([, l]) => l.fwd(dp)) as unknown as Tan<ReadonlyArray<B>>)),
    bwd: (d) => {
      if (d === Zero) return Zero
      const ds = d as unknown as Tans<B>
      let acc: Tan<P> = Zero
      rs.forEach(([, l], i) => { acc = addT(acc, l.bwd(ds[i] ?? Zero)) })
      return acc
    }
  }
  return [rs.map(([b]) => b), lin]
}

/**
 * The n-ary parallel product [a₀, …] ↦ [f₀(a₀), …]: sample i through its own map.
 *
 * @example
 * parAll(batch.map((s) => clipTo(s)))(actions)
 */
export const parAll = <A, B>(fs: ReadonlyArray<Diff<A, B>>): Diff<ReadonlyArray<A>, ReadonlyArray<B>> => (as) => {
  const rs = as.map((a, i) => fs[i]!(a))
  const lin: Linear<ReadonlyArray<A>, ReadonlyArray<B>> = {
    fwd: (d) => (d === Zero ? Zero : (rs.map(([, l], i) => l.fwd((d as unknown as Tans<A>)[i] ?? Zero)) as unknown as Tan<ReadonlyArray<B>>)),
    bwd: (d) => (d === Zero ? Zero : (rs.map(([, l], i) => l.bwd((d as unknown as Tans<B>)[i] ?? Zero)) as unknown as Tan<ReadonlyArray<A>>))
  }
  return [rs.map(([b]) => b), lin]
}

// -------------------------------------------------------------------------------------
// the batched layer
// -------------------------------------------------------------------------------------

/**
 * The Frank-Wolfe layer over a batch, θᵢ ↦ xᵢ, as one differentiable map: `dfwBatch`
 * solves the instances, and each instance's linear map (unrolled or implicit, by
 * `options.backward`) carries its tangents. An instance the layer refuses throws its
 * `LayerError`, whose path starts with the instance's index.
 *
 * @example
 * batchLayer<A>({ backward: 'implicit' })(thetas) // [[x₀, …], linear map]
 */
export const batchLayer = <N>(options: LayerOptions, set: SetKind = 'l1'): Diff<ReadonlyArray<Params<N>>, ReadonlyArray<Vec<N>>> => {
  const solve = dfwBatch(options)
  return (thetas) => {
    const rs = solve<N>(thetas.map((th) => ({ ...th, set }))).map((r) => {
      if (E.isLeft(r)) throw r.left
      return r.right
    })
    const lin: Linear<ReadonlyArray<Params<N>>, ReadonlyArray<Vec<N>>> = {
      fwd: (d) => (d === Zero ? Zero : (rs.map((r, i) => r.linear.fwd((d as unknown as Tans<Params<N>>)[i] ?? Zero)) as unknown as Tan<ReadonlyArray<Vec<N>>>)),
      bwd: (d) => (d === Zero ? Zero : (rs.map((r, i) => r.linear.bwd((d as unknown as Tans<Vec<N>>)[i] ?? Zero)) as unknown as Tan<ReadonlyArray<Params<N>>>))
    }
    return [rs.map((r) => r.x), lin]
  }
}

// -------------------------------------------------------------------------------------
// loss
// -------------------------------------------------------------------------------------

/**
 * The mean squared error to fixed targets, (1 / (B·n)) Σᵢ ‖aᵢ − yᵢ‖².
 *
 * @example
 * mse(batch.map((s) => s.y))(actions) // [loss, linear map]
 */
export const mse = <N>(targets: ReadonlyArray<Vec<N>>): Diff<ReadonlyArray<Vec<N>>, number> => (as) => {
  const count = as.reduce((k, a) => k + a.data.length, 0)
  const res = as.map((a, i) => {
    const y = targets[i]!.data, o = new Float64Array(a.data.length)
    for (let j = 0; j < o.length; j++) o[j] = a.data[j]! - y[j]!
    return o
  })
  const loss = res.reduce((s, r) => s + r.reduce((t, v) => t + v * v, 0), 0) / count
  const lin: Linear<ReadonlyArray<Vec<N>>, number> = {
    fwd: (d) => {
      if (d === Zero) return Zero
      let s = 0
      ;(d as unknown as Tans<Vec<N>>).forEach((di, i) => {
        if (di === Zero) return
        const r = res[i]!
        for (let j = 0; j < r.length; j++) s += 2 * r[j]! * di.data[j]!
      })
      return s / count
    },
    bwd: (c) => (c === Zero ? Zero : (res.map((r, i) => ({ dim: as[i]!.dim, data: Float64Array.from(r, (v) => (2 * c * v) / count) })) as unknown as Tan<ReadonlyArray<Vec<N>>>))
  }
  return [loss, lin]
}

// -------------------------------------------------------------------------------------
// timing
// -------------------------------------------------------------------------------------

/** Accumulated milliseconds inside a map: forward (value and linearization) and reverse. */
export interface Clock {
  fwd: number
  bwd: number
}

/** A fresh clock at zero. */
export const clock = (): Clock => ({ fwd: 0, bwd: 0 })

/**
 * `f` unchanged, with the time of its evaluation added to `c.fwd` and the time of its
 * transposed products added to `c.bwd`.
 *
 * @example
 * const c = clock(); timed(layer, c)(thetas); c.fwd // ms
 */
export const timed = <A, B>(f: Diff<A, B>, c: Clock): Diff<A, B> => (a) => {
  const t0 = performance.now()
  const [b, lin] = f(a)
  c.fwd += performance.now() - t0
  return [b, {
    fwd: lin.fwd,
    bwd: (d) => {
      const t1 = performance.now()
      const r = lin.bwd(d)
      c.bwd += performance.now() - t1
      return r
    }
  }]
}
