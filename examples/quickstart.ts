// A ten-line use of the layer: solve min ½xᵀPx + qᵀx s.t. Σ|wᵢxᵢ| ≤ t, then differentiate.
import * as E from 'fp-ts/lib/Either.js'
import { withDim, vector, matrix, dense, dfwLayer, toArray } from '../src/index.js'

withDim(3, (n) => {
  const P = matrix(n, n, [[4, 1, 0], [1, 3, 0], [0, 0, 2]]), q = vector(n, [-1, -2, 3]), ones = vector(n, [1, 1, 1])
  if (E.isLeft(P) || E.isLeft(q) || E.isLeft(ones)) throw new Error('bad data')
  const r = dfwLayer({ backward: 'implicit' })({ P: dense(P.right), q: q.right, t: 1.2 })
  const g = r.vjp(ones.right) // gradients of Σᵢ xᵢ with respect to q, w, t and P
  console.log({ x: toArray(r.x), gap: r.gap, iterations: r.iterations, status: r.status, dq: toArray(g.q), dt: g.t })
})
