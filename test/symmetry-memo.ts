/**
 * A large P is judged on every call (src/fw/Validate.ts checkSymmetry): a matrix written
 * in place between calls, into an asymmetric one, is refused at the offending entry, and
 * written back, accepted again with the same answer.
 */
import t from 'tap'
import { dfwLayer } from '../src/fw/Layer.js'
import { LayerError } from '../src/fw/Options.js'
import { dense } from '../src/core/LinearOperator.js'
import { unsafeDim } from '../src/shapes/Dim.js'

t.test('a large P written in place between calls is judged again', async (t) => {
  const n = 300
  const dim = unsafeDim<'n'>(n)
  const A = new Float64Array(n * n)
  for (let i = 0; i < n; i++) A[i * n + i] = 2 + (i % 7)
  A[3 * n + 5] = A[5 * n + 3] = 0.5
  const P = dense({ rows: dim, cols: dim, data: A })
  const q = { dim, data: Float64Array.from({ length: n }, (_, i) => Math.sin(i)) }
  const layer = dfwLayer()
  const first = layer({ P, q, t: 1 })
  t.equal(first.status, 'converged')
  t.equal(layer({ P, q, t: 1 }).status, 'converged', 'the same P again: accepted')
  A[5 * n + 3] = 0.75 // now asymmetric
  let err: unknown
  try { layer({ P, q, t: 1 }) } catch (e) { err = e }
  t.ok(err instanceof LayerError, 'refused as a LayerError')
  t.match((err as LayerError).path, /^P\[(5\]\[3|3\]\[5)\]$/, `at the offending entry: ${(err as LayerError).path}`)
  A[5 * n + 3] = 0.5
  const back = layer({ P, q, t: 1 })
  t.equal(back.status, 'converged', 'written back: accepted again')
  t.same(Array.from(back.x.data), Array.from(first.x.data), 'and the same answer')
})
