/**
 * The unrolled layer's bounded tape: with a budget far too small for the run, the fold
 * checkpoints automatically and its derivatives are the same linear map as with every
 * map kept (bit for bit), on every set and both schedules; the budget is an option
 * (`tapeBudgetMB`) that `checkpoint` overrides. The memory measurements at scale are in
 * the report, not here (no timing or memory assertions).
 */
import t from 'tap'
import { dfwLayer, type LayerOptions } from '../src/fw/index.js'
import { SETS, randomPlain, rng, toProblem, vec, type N } from './helpers/layerFixtures.js'
import type { ParamsTangent } from '../src/fw/Problem.js'
import { unsafeDim } from '../src/shapes/Dim.js'

const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((x, i) => Object.is(x, b[i]))

t.test('unrolled: a tiny tape budget gives the same x, vjp and jvp as keeping every map (every set, both schedules)', async (t) => {
  const r = rng(61)
  const p = randomPlain(r, 6)
  const ct = vec([1, -2, 0.5, 0, 3, -1])
  const n = unsafeDim<N>(6)
  const tangent: ParamsTangent<N> = {
    q: vec([0.1, 0.2, -0.3, 0.4, 0, 1]),
    w: vec([0, 1, 0, -1, 0, 0.5]),
    t: 0.7,
    P: { rows: n, cols: n, data: Float64Array.from({ length: 36 }, (_, k) => Math.sin(k)) }
  }
  for (const set of SETS) {
    for (const schedule of ['default', 'paper'] as const) {
      const base: LayerOptions = { backward: 'unrolled', schedule, maxIterations: 300, tolerance: 0 }
      const all = dfwLayer({ ...base, tapeBudgetMB: 1e6 })(toProblem(p, set))
      const tiny = dfwLayer({ ...base, tapeBudgetMB: 1e-4 })(toProblem(p, set))
      const label = `${set}/${schedule}`
      t.equal(tiny.iterations, 300, `${label}: 300 steps`)
      t.ok(same(tiny.x.data, all.x.data), `${label}: x`)
      const ga = all.vjp(ct), gt = tiny.vjp(ct)
      t.ok(same(gt.q.data, ga.q.data) && same(gt.w.data, ga.w.data) && Object.is(gt.t, ga.t), `${label}: vjp in q, w, t`)
      t.ok(same(gt.P!.data, ga.P!.data), `${label}: vjp in P`)
      t.ok(same(tiny.jvp(tangent).data, all.jvp(tangent).data), `${label}: jvp`)
    }
  }
})

t.test('the default budget keeps every map of a short run; checkpoint still overrides the budget', async (t) => {
  const p = randomPlain(rng(62), 5)
  const ct = vec([1, 0, -1, 2, 0])
  const base: LayerOptions = { backward: 'unrolled', maxIterations: 50, tolerance: 0 }
  const ref = dfwLayer(base)(toProblem(p)).vjp(ct)
  for (const extra of [{ checkpoint: 7 }, { checkpoint: 7, tapeBudgetMB: 1e-4 }, { tapeBudgetMB: 1e-4 }] as const) {
    const g = dfwLayer({ ...base, ...extra })(toProblem(p)).vjp(ct)
    t.ok(same(g.q.data, ref.q.data) && same(g.P!.data, ref.P!.data), `${JSON.stringify(extra)}: the same vjp`)
  }
})
