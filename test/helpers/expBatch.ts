/**
 * A batched paper run on l1 for test/simd-exp.ts (in-process and in its DFW_NO_SIMD=1
 * child): B = 12 instances at n, most sharing one dense P, q over 1e-6..1e6 (so that
 * β|h| − max spans from 0 to far below the exponential's underflow, and the softmax's
 * exponentials take every branch), radii from tiny to loose; x, the batched vjp and the
 * jvp as named arrays.
 */
import { unsafeDim } from '../../src/shapes/Dim.js'
import type { Mat } from '../../src/shapes/Mat.js'
import type { Vec } from '../../src/shapes/Vec.js'
import { dense, type LinearOperator } from '../../src/core/LinearOperator.js'
import { dfwBatchSolve } from '../../src/fw/index.js'
import { matOf, randomPlain, rng, type N } from './layerFixtures.js'

export const batchRun = (n: number, maxIterations = 80): Array<[string, Float64Array]> => {
  const r = rng(4100 + n)
  const op = (mu: number): LinearOperator<N> => dense(matOf(n, randomPlain(r, n, mu).P))
  const shared = op(0.5)
  const scales = [1, 1e-6, 1e6, 0.3, 30, 1e-3, 2, 1e3, 1, 1e2, 0.05, 1]
  const B = scales.length
  const ops = scales.map((_, b) => (b % 4 === 3 ? op(2) : shared))
  const Q = Float64Array.from({ length: B * n }, (_, k) => scales[Math.floor(k / n)]! * r.normal())
  const W = Float64Array.from({ length: B * n }, (_, k) => (Math.floor(k / n) % 3 === 2 ? 10 ** (6 * r.uniform() - 3) : 0.5 + r.uniform()))
  const T = Float64Array.from({ length: B }, (_, b) => [1e-9, 0.1, 0.5, 1, 3, 0.02][b % 6]! * scales[b]!)
  const mat = (data: Float64Array): Mat<'b', N> => ({ rows: unsafeDim<'b'>(B), cols: unsafeDim<N>(n), data })
  const sol = dfwBatchSolve({ schedule: 'paper', backward: 'unrolled', maxIterations, tolerance: 0 })<'b', N>({ P: ops, q: mat(Q), w: mat(W), t: { dim: unsafeDim<'b'>(B), data: T } as Vec<'b'> })
  const g = sol.vjp(mat(Float64Array.from({ length: B * n }, () => r.normal())))
  const dx = sol.jvp({
    q: mat(Float64Array.from({ length: B * n }, () => r.normal())), w: mat(Float64Array.from({ length: B * n }, () => r.normal())),
    t: { dim: unsafeDim<'b'>(B), data: Float64Array.from({ length: B }, () => r.normal()) } as Vec<'b'>
  })
  return [['x', sol.x.data], ['vjp q', g.q.data], ['vjp w', g.w.data], ['vjp t', g.t.data], ['pSum', g.pSum().data], ['jvp', dx.data]]
}
