import t from 'tap'
import { withDim, vector, dot, D, Prim, jvp, vjp } from '../src/index.js'
import * as E from 'fp-ts/lib/Either.js'

t.test('dot of two vectors of one dim', async (t) => {
  withDim(3, (n) => {
    const x = vector(n, [1, 2, 3]), y = vector(n, [4, 5, 6])
    if (E.isLeft(x) || E.isLeft(y)) throw new Error('bad')
    t.equal(dot(x.right, y.right), 32)
    const [v, dv] = jvp(Prim.dot())([x.right, y.right], [x.right, D.id()(y.right)[0]])
    t.equal(v, 32); t.equal(dv, 64)
    const [, pb] = vjp(Prim.dot())([x.right, y.right])
    t.ok(pb(1))
  })
})
