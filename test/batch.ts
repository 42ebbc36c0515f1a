// The batch API isolates bad instances, and the layer as a Diff agrees with the layer.
import t from 'tap'
import * as E from 'fp-ts/lib/Either.js'
import { dfwBatch, dfwLayer, layerMap } from '../src/fw/index.js'
import { toProblem, toParams, randomPlain, rng, vec } from './helpers/layerFixtures.js'

t.test('dfwBatch: a bad instance is a Left with its index in the path; the good ones equal solving alone', async (t) => {
  const r = rng(11)
  const plains = [randomPlain(r, 6), randomPlain(r, 6), randomPlain(r, 6)]
  const good = plains.map((p) => toProblem(p))
  const bad = { ...toProblem(plains[1]!), t: -1 }
  const badQ = { ...toProblem(plains[2]!), q: vec([1, 2, NaN, 4, 5, 6]) }
  for (const backward of ['unrolled', 'implicit'] as const) {
    const out = dfwBatch({ backward })([good[0]!, bad, good[2]!, badQ])
    t.equal(out.length, 4)
    const l1 = out[1]!, l3 = out[3]!
    t.ok(E.isLeft(l1) && l1.left.path === '[1].t', `${backward}: bad t at [1].t`)
    t.ok(E.isLeft(l3) && l3.left.path === '[3].q[2]', `${backward}: NaN at [3].q[2]`)
    for (const i of [0, 2]) {
      const alone = dfwLayer({ backward })(good[i]!)
      const b = out[i]!
      if (!E.isRight(b)) { t.fail(`entry ${i} failed`); continue }
      t.same(Array.from(b.right.x.data), Array.from(alone.x.data), `${backward}: entry ${i} x identical`)
      t.equal(b.right.iterations, alone.iterations)
      const ct = vec([1, -1, 2, 0, 0.5, 3])
      t.same(Array.from(b.right.vjp(ct).q.data), Array.from(alone.vjp(ct).q.data), `${backward}: entry ${i} vjp identical`)
    }
  }
})

t.test('layerMap: the Diff view has the layer value and linear map', async (t) => {
  const p = randomPlain(rng(5), 7)
  const theta = toParams(p)
  for (const set of ['l1', 'simplex'] as const) {
    const [x, lin] = layerMap<'n'>({ backward: 'implicit' }, set)(theta)
    const r = dfwLayer({ backward: 'implicit' })(toProblem(p, set))
    t.same(Array.from(x.data), Array.from(r.x.data), `${set}: x`)
    const ct = vec([1, 2, 3, 4, 5, 6, 7])
    const g = lin.bwd(ct) as { q: { data: Float64Array } }
    t.same(Array.from(g.q.data), Array.from(r.vjp(ct).q.data), `${set}: cotangent of q`)
  }
})
