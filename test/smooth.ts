// The layer for a general smooth objective (src/fw/Smooth.ts): with a quadratic's gradient
// it reproduces the quadratic layer's paper recipe step for step; on a non-quadratic
// objective it converges to the projected-gradient solution, and its unrolled JVP and VJP
// obey the derivative laws (finite differences, transpose identity).
import t from 'tap'
import type { Vec } from '../src/shapes/Vec.js'
import type { Diff } from '../src/core/Diff.js'
import { trace } from '../src/core/Trace.js'
import { Zero } from '../src/core/Tangent.js'
import { ops } from '../src/core/Ops.js'
import { dense } from '../src/core/LinearOperator.js'
import { dfwSmooth, dfwLayer, type SetKind } from '../src/fw/index.js'
import { project } from '../src/fw/exact/Projection.js'
import { type N, vec, matOf, randomPlain, rng, randomVec, dot, relErr, maxAbsDiff } from './helpers/layerFixtures.js'
import { powerIteration } from '../src/core/PowerIteration.js'

type P = Vec<N>
/** ∇f for f(x; θ) = Σ exp(xᵢ) − θᵀx. */
const expGrad: Diff<readonly [P, P], P> = trace<readonly [P, P], P>(($, [th, x]) => { const o = ops<N>($); return o.sub(o.exp(x), th) })
const expValue = (th: P, x: P): number => x.data.reduce((s, v, i) => s + Math.exp(v) - th.data[i]! * v, 0)

t.test('with the gradient of a quadratic, the paper schedule gives the quadratic layer\'s iterates and VJP (fixed K)', async (t) => {
  for (const set of ['l1', 'linf', 'l2'] as const) {
    for (const seed of [1, 2]) {
      const p = randomPlain(rng(50 + seed), 6)
      const Pop = dense(matOf(p.n, p.P))
      const L = powerIteration(Pop).value
      const grad: Diff<readonly [P, P], P> = trace<readonly [P, P], P>(($, [q, x]) => { const o = ops<N>($); return o.add(o.apply($.constant(Pop), x), q) })
      for (const K of [1, 7, 40]) {
        const a = dfwSmooth({ schedule: 'paper', lipschitz: L, tolerance: 0, maxIterations: K })({ grad, theta: vec(p.q), dim: vec(p.q).dim, t: p.t, w: vec(p.w), set })
        const b = dfwLayer({ schedule: 'paper', backward: 'unrolled', lipschitz: L, tolerance: 0, maxIterations: K })({ P: Pop, q: vec(p.q), w: vec(p.w), t: p.t, set })
        // The quadratic layer updates P x incrementally (P x + γ P u) where the gradient map
        // recomputes P x: the same arithmetic up to rounding, which the l2 ball's iteration
        // amplifies over tens of steps (seen: 5e-9 at K = 40). Hence the K-dependent bound.
        const tol = K <= 7 ? 1e-12 : 1e-6
        t.ok(maxAbsDiff(a.x.data, b.x.data) <= tol, `${set} seed=${seed} K=${K}: x agrees (${maxAbsDiff(a.x.data, b.x.data).toExponential(2)} ≤ ${tol})`)
        const c = vec(randomVec(rng(seed + K), p.n))
        const ga = a.vjp(c), gb = b.vjp(c)
        t.ok(relErr((ga.theta as P).data, gb.q.data) <= 100 * tol, `${set} K=${K}: ∇q agrees (${relErr((ga.theta as P).data, gb.q.data).toExponential(2)})`)
        t.ok(relErr(ga.w.data, gb.w.data) <= 100 * tol && Math.abs(ga.t - gb.t) <= 100 * tol * (1 + Math.abs(gb.t)), `${set} K=${K}: ∇w and ∇t agree`)
      }
    }
  }
})

t.test('a non-quadratic objective (Σ exp(xᵢ) − θᵀx): the default schedule reaches the projected-gradient solution', async (t) => {
  for (const set of ['l1', 'linf', 'l2', 'simplex'] as SetKind[]) {
    for (const seed of [1, 2, 3]) {
      const r = rng(70 + seed)
      const n = 8
      const th = vec(randomVec(r, n).map((v) => 2 * v))
      const w = vec(Array.from({ length: n }, () => 0.5 + r.uniform()))
      const radius = set === 'simplex' ? 1 : 0.7
      const L = Math.exp(set === 'l1' ? radius / Math.min(...w.data) : set === 'simplex' ? radius : radius)
      const res = dfwSmooth({ lipschitz: L })({ grad: expGrad, value: expValue, theta: th, dim: th.dim, t: radius, w, set })
      // reference: projected gradient with step 1/L, long
      let x: P = { dim: th.dim, data: new Float64Array(n) }
      if (set === 'simplex') x = { dim: th.dim, data: new Float64Array(n).fill(radius / n) }
      for (let k = 0; k < 20000; k++) {
        const g = x.data.map((v, i) => Math.exp(v) - th.data[i]!)
        x = project(set, { dim: th.dim, data: x.data.map((v, i) => v - g[i]! / L) }, w, radius)
      }
      const fr = expValue(th, x)
      const err = Math.abs(res.objective! - fr) / Math.abs(fr)
      // l∞: plain Frank-Wolfe steps (no away atoms on the box) converge sublinearly when the
      // solution lies on a face; 5 000 steps give ~1e-4 (documented in Smooth.ts)
      const bound = set === 'linf' ? 1e-3 : 1e-7
      t.ok(err <= bound, `(≤ ${bound}) ${set} seed=${seed}: objective ${res.objective} vs ${fr} (relative ${err.toExponential(2)}; ${res.status} after ${res.iterations}, gap ${res.gap.toExponential(2)})`)
      t.ok(res.gap >= 0, 'gap ≥ 0')
    }
  }
})

t.test('a non-quadratic objective at fixed K: JVP = central differences, and ⟨c, J v⟩ = ⟨Jᵀc, v⟩ (θ, w, t; both schedules)', async (t) => {
  let worstFd = 0, worstT = 0, checked = 0, skipped = 0
  for (const set of ['l1', 'linf', 'l2', 'simplex'] as SetKind[]) {
    for (const schedule of ['paper', 'default'] as const) {
      const r = rng(90 + set.length)
      const n = 6
      const th = randomVec(r, n).map((v) => 2 * v)
      const w = Array.from({ length: n }, () => 0.5 + r.uniform())
      const radius = 0.6
      const layer = dfwSmooth({ schedule, lipschitz: 4, tolerance: 0, maxIterations: 12 })
      const solve = (a: number[], b: number[], tt: number) => layer({ grad: expGrad, theta: vec(a), dim: vec(a).dim, t: tt, w: vec(b), set })
      const base = solve(th, w, radius)
      const dth = randomVec(r, n), dw = randomVec(r, n).map((v) => 0.3 * v), dt = 0.7
      const fdAt = (h: number): number[] => {
        const plus = solve(th.map((v, i) => v + h * dth[i]!), w.map((v, i) => v + h * dw[i]!), radius + h * dt).x.data
        const minus = solve(th.map((v, i) => v - h * dth[i]!), w.map((v, i) => v - h * dw[i]!), radius - h * dt).x.data
        return Array.from(plus, (v, i) => (v - minus[i]!) / (2 * h))
      }
      const jv = base.jvp({ theta: vec(dth), w: vec(dw), t: dt }).data
      // two step sizes: where they disagree the path is not smooth at this scale (a clamp
      // switching inside the stencil, or rounding amplified by the l2 iteration), and the
      // direction is counted as skipped rather than compared
      const f1 = fdAt(1e-4), f2 = fdAt(1e-6)
      if (relErr(f1, f2, 1e-4) > 1e-4) { skipped++; t.comment(`${set}/${schedule}: skipped, the two differences disagree by ${relErr(f1, f2, 1e-4).toExponential(2)}`) } else {
        checked++
        const e = Math.min(relErr(jv, f1, 1e-4), relErr(jv, f2, 1e-4))
        worstFd = Math.max(worstFd, e)
        t.ok(e <= 1e-6, `${set}/${schedule}: JVP vs central differences, relative error ${e.toExponential(2)}`)
      }
      const c = randomVec(r, n)
      const g = base.vjp(vec(c))
      const gth = g.theta === Zero ? new Float64Array(n) : (g.theta as P).data
      const lhs = dot(c, jv), rhs = dot(gth, dth) + dot(g.w.data, dw) + g.t * dt
      const d = Math.abs(lhs - rhs) / Math.max(Math.abs(lhs), Math.abs(rhs), 1e-300)
      worstT = Math.max(worstT, d)
      t.ok(d <= 1e-12, `${set}/${schedule}: ⟨c, Jv⟩ = ${lhs} vs ⟨Jᵀc, v⟩ = ${rhs}`)
    }
  }
  t.comment(`worst FD error ${worstFd.toExponential(2)} over ${checked} checked (${skipped} skipped), worst transpose defect ${worstT.toExponential(2)}`)
  t.ok(checked >= 6, `most cases are checked (${checked}/8)`)
})

t.test('bad input to dfwSmooth is a LayerError with a path', async (t) => {
  const th = vec([1, 2, 3])
  const call = (o: Partial<{ t: number; L: number; w: P }>) => () =>
    dfwSmooth({ lipschitz: o.L ?? 1 })({ grad: expGrad, theta: th, dim: th.dim, t: o.t ?? 1, ...(o.w !== undefined ? { w: o.w } : {}) })
  t.throws(call({ t: -1 }), { name: 'LayerError', path: 't' })
  t.throws(call({ L: NaN }), { name: 'LayerError', path: 'options.lipschitz' })
  t.throws(call({ w: vec([1, 0, 1]) }), { name: 'LayerError', path: 'w[1]' })
  const nanGrad: Diff<readonly [P, P], P> = trace<readonly [P, P], P>(($, [q, x]) => { const o = ops<N>($); return o.add(o.log(o.shift(x, $.constant(-5))), q) })
  t.throws(() => dfwSmooth({ lipschitz: 1 })({ grad: nanGrad, theta: th, dim: th.dim, t: 1 }), { name: 'LayerError', path: 'grad' })
})
