/**
 * The paper's random problems, from a seeded generator: P = AᵀA + nI with A an n×n
 * standard normal matrix, q standard normal, w uniform in [0.5, 1.5], t = |N(0,1)|.
 *
 * @since 0.1.0
 */
import type { Dim } from '../shapes/Dim.js'
import type { Vec } from '../shapes/Vec.js'
import { type DenseOperator, dense } from '../core/LinearOperator.js'
import { rng } from '../core/Random.js'

/**
 * A generated problem: a dense P, q, w and t.
 *
 * @example
 * withDim(10, (n) => dfwLayer({ schedule: 'paper' })(paperProblem(n, 0)).x) // solves it on the l1 ball
 */
export interface GeneratedProblem<N> {
  readonly P: DenseOperator<N>
  readonly q: Vec<N>
  readonly w: Vec<N>
  readonly t: number
}

/**
 * PAPER.md's generator, seeded. Draws, in order: A row by row, q, w, then t.
 *
 * @example
 * withDim(10, (n) => paperProblem(n, 0)) // the paper's problem at n = 10, seed 0
 */
export const paperProblem = <N>(n: Dim<N>, seed: number): GeneratedProblem<N> => {
  const r = rng(seed)
  const A = new Float64Array(n * n)
  for (let k = 0; k < A.length; k++) A[k] = r.normal()
  const P = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0
      for (let k = 0; k < n; k++) s += A[k * n + i]! * A[k * n + j]!
      if (i === j) s += n
      P[i * n + j] = s
      P[j * n + i] = s
    }
  }
  const q = new Float64Array(n), w = new Float64Array(n)
  for (let i = 0; i < n; i++) q[i] = r.normal()
  for (let i = 0; i < n; i++) w[i] = 0.5 + r.uniform()
  const t = Math.abs(r.normal())
  return { P: dense({ rows: n, cols: n, data: P }), q: { dim: n, data: q }, w: { dim: n, data: w }, t }
}
