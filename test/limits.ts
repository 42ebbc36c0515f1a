/**
 * `timeLimitMs` (issue 20, "No bound on work"): a run that would take minutes returns at
 * the limit with status "timeLimit", honest about the point it returns (its own gap and
 * iterations), in every mode; a certified point is "converged" whatever the limit.
 */
import t from 'tap'
import { withDim } from '../src/shapes/Dim.js'
import { dense } from '../src/core/LinearOperator.js'
import { dfwLayer, certificate, type LayerOptions } from '../src/fw/Layer.js'
import type { SetKind } from '../src/fw/Problem.js'

const P = Float64Array.of(2, 0.5, 0.5, 1), q = Float64Array.of(-1, 1)

t.test('maxIterations 1e9 with tolerance 0 stops at the time limit, every mode and set', async (t) => {
  for (const set of ['l1', 'linf', 'l2', 'simplex'] as readonly SetKind[]) {
    for (const mode of [{ backward: 'unrolled' }, { schedule: 'paper', backward: 'unrolled' }] as readonly LayerOptions[]) {
      const r = withDim(2, (n) => {
        const theta = { P: dense({ rows: n, cols: n, data: P }), q: { dim: n, data: q }, t: 1, set }
        const res = dfwLayer({ ...mode, maxIterations: 1e9, tolerance: 0, timeLimitMs: 40 })(theta)
        const c = certificate(set, { ...theta, w: { dim: n, data: Float64Array.of(1, 1) } }, res.x)
        return { status: res.status, iterations: res.iterations, gap: res.gap, fresh: c.gap }
      })
      t.equal(r.status, 'timeLimit', `${set} ${JSON.stringify(mode)}: status`)
      t.ok(r.iterations >= 1 && r.iterations < 1e9, `${set}: ${r.iterations} steps ran`)
      t.equal(r.gap, r.fresh, `${set}: the reported gap is the returned point's own`)
    }
  }
})

t.test('the implicit mode at the time limit returns the polished point, certified, as converged', async (t) => {
  const r = withDim(2, (n) => {
    const res = dfwLayer({ maxIterations: 1e9, tolerance: 0, timeLimitMs: 40 })({ P: dense({ rows: n, cols: n, data: P }), q: { dim: n, data: q }, t: 1 })
    return { status: res.status, gap: res.gap, derivative: res.face?.derivative }
  })
  t.equal(r.status, 'converged')
  t.ok(r.gap <= 1e-15)
  t.equal(r.derivative, 'exact')
})
