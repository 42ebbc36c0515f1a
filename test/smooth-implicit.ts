// The implicit derivative of dfwSmooth (Smooth.ts smoothImplicitDerivative): checked against
// central finite differences of an exact solver, the transpose law, the quadratic layer's
// implicit derivative when f is a quadratic, and end to end through
// dfwSmooth({ backward: 'implicit' }).
//
// The exact solver is for the separable f(x; θ) = Σ exp(xᵢ) − θᵀx: each coordinate's
// minimizer is closed-form for a given multiplier λ of the set's constraint, and λ comes
// from bisection to machine precision (see `exactExp`).
import t from 'tap'
import type { Vec } from '../src/shapes/Vec.js'
import type { Diff } from '../src/core/Diff.js'
import { trace } from '../src/core/Trace.js'
import { ops } from '../src/core/Ops.js'
import { dense } from '../src/core/LinearOperator.js'
import { dfwSmooth, smoothImplicitDerivative, implicitDerivative, LayerError, type SetKind } from '../src/fw/index.js'
import { solveExact } from '../src/fw/exact/index.js'
import { type N, vec, matOf, randomPlain, rng, randomVec, dot, relErr, cosine, toParams, withRadius } from './helpers/layerFixtures.js'

type P = Vec<N>
const SETS: readonly SetKind[] = ['l1', 'linf', 'l2', 'simplex']

/** ∇f for f(x; θ) = Σ exp(xᵢ) − θᵀx, and f. */
const expGrad: Diff<readonly [P, P], P> = trace<readonly [P, P], P>(($, [th, x]) => { const o = ops<N>($); return o.sub(o.exp(x), th) })
const expValue = (th: P, x: P): number => x.data.reduce((s, v, i) => s + Math.exp(v) - th.data[i]! * v, 0)

/** The root of an increasing function on [lo, hi] by bisection, to the last bit. */
const bisect = (f: (v: number) => number, lo: number, hi: number): number => {
  for (let k = 0; k < 2000; k++) {
    const mid = 0.5 * (lo + hi)
    if (mid === lo || mid === hi) break
    if (f(mid) < 0) lo = mid
    else hi = mid
  }
  return 0.5 * (lo + hi)
}

/**
 * argmin Σ exp(xᵢ) − θᵢxᵢ over the set, exactly (θ > 0 here). For a multiplier λ ≥ 0:
 * - l∞: xᵢ = clamp(log θᵢ, −t, t) (no λ);
 * - simplex: xᵢ = max(0, log(θᵢ − λ)), Σx = t (λ may be negative);
 * - l1: xᵢ = log(θᵢ − λwᵢ) if that exceeds 0, log(θᵢ + λwᵢ) if that is below 0, else 0;
 *   λ = 0 when Σ wᵢ|log θᵢ| ≤ t, else Σ wᵢ|xᵢ| = t;
 * - l2: xᵢ solves exp(x) + λx = θᵢ; λ = 0 when ‖log θ‖ ≤ t, else ‖x‖ = t.
 */
const exactExp = (set: SetKind, th: readonly number[], w: readonly number[], tt: number): number[] => {
  const n = th.length
  if (set === 'linf') return th.map((v) => Math.min(tt, Math.max(-tt, Math.log(v))))
  if (set === 'simplex') {
    const xs = (l: number): number[] => th.map((v) => (v - l > 1 ? Math.log(v - l) : 0))
    const hi = Math.max(...th) - 1, lo = Math.max(...th) - Math.exp(tt) - 1
    const l = bisect((v) => tt - xs(v).reduce((a, b) => a + b, 0), lo, hi)
    return xs(l)
  }
  if (set === 'l1') {
    const xs = (l: number): number[] => th.map((v, i) => (v - l * w[i]! > 1 ? Math.log(v - l * w[i]!) : v + l * w[i]! < 1 ? Math.log(v + l * w[i]!) : 0))
    const norm = (x: number[]): number => x.reduce((s, v, i) => s + Math.abs(w[i]! * v), 0)
    if (norm(xs(0)) <= tt) return xs(0)
    const hi = (Math.max(...th.map((v) => Math.abs(v - 1))) + 1) / Math.min(...w)
    return xs(bisect((l) => tt - norm(xs(l)), 0, hi))
  }
  // l2
  const coord = (v: number, l: number): number => bisect((x) => Math.exp(x) + l * x - v, -50, 50)
  const xs = (l: number): number[] => th.map((v) => coord(v, l))
  const norm = (x: number[]): number => Math.sqrt(x.reduce((s, v) => s + v * v, 0))
  if (norm(xs(0)) <= tt) return xs(0)
  let hi = 1
  while (norm(xs(hi)) > tt) hi *= 2
  void n
  return xs(bisect((l) => tt - norm(xs(l)), 0, hi))
}

/** A test problem: θ in (0.3, 3), w in (0.5, 1.5), a radius that binds (or not). */
const problemOf = (set: SetKind, seed: number, binding: boolean) => {
  const r = rng(300 + seed + 10 * SETS.indexOf(set))
  const n = 8
  const th = Array.from({ length: n }, () => 0.3 + 2.7 * r.uniform())
  const w = Array.from({ length: n }, () => 0.5 + r.uniform())
  const free = exactExp(set, th, w, 1e6)
  const size = set === 'l1' ? free.reduce((s, v, i) => s + Math.abs(w[i]! * v), 0) : set === 'l2' ? Math.sqrt(free.reduce((s, v) => s + v * v, 0)) : Math.max(...free.map(Math.abs))
  const tt = set === 'simplex' ? (binding ? 2 : 5) : binding ? 0.5 * size : 2 * size
  return { n, th, w, t: tt }
}

const smoothProblem = (set: SetKind, th: readonly number[], w: readonly number[], tt: number) =>
  ({ grad: expGrad, value: expValue, theta: vec(th), dim: vec(th).dim, t: tt, w: vec(w), set })

t.test('smoothImplicitDerivative at the exact solution agrees with central finite differences of the exact solver (every set, binding and not)', async (t) => {
  let worst = 0, checked = 0
  for (const set of SETS) {
    for (const seed of [1, 2, 3]) {
      for (const binding of [true, false]) {
        if (set === 'simplex' && !binding) continue
        const pr = problemOf(set, seed, binding)
        const x = exactExp(set, pr.th, pr.w, pr.t)
        const d = smoothImplicitDerivative(set, smoothProblem(set, pr.th, pr.w, pr.t), { theta: vec(pr.th), w: vec(pr.w), t: pr.t }, vec(x))
        const r = rng(seed + 7)
        const dth = randomVec(r, pr.n), dw = randomVec(r, pr.n).map((v) => 0.2 * v)
        const dirs: Array<{ name: string; jv: Float64Array; at: (h: number) => number[] }> = [
          { name: 'θ', jv: d.jvp({ theta: vec(dth) }).data, at: (h) => exactExp(set, pr.th.map((v, i) => v + h * dth[i]!), pr.w, pr.t) },
          { name: 't', jv: d.jvp({ t: 1 }).data, at: (h) => exactExp(set, pr.th, pr.w, pr.t + h) },
          { name: 'w', jv: d.jvp({ w: vec(dw) }).data, at: (h) => exactExp(set, pr.th, pr.w.map((v, i) => v + h * dw[i]!), pr.t) }
        ]
        for (const dir of dirs) {
          const h = 1e-6
          const a = dir.at(h), b = dir.at(-h)
          // the same face on both sides (a kink in between is not a derivative)
          const side = (z: number[]): string => z.map((v) => (v === 0 ? '0' : Math.abs(Math.abs(v) - pr.t) < 1e-12 ? 'b' : 'f')).join('')
          if (side(a) !== side(b)) continue
          const fd = a.map((v, i) => (v - b[i]!) / (2 * h))
          const err = relErr(dir.jv, fd, 1e-6)
          worst = Math.max(worst, err)
          checked++
          t.ok(err <= 1e-5, `${set} seed=${seed} ${binding ? 'binding' : 'inside'} d${dir.name}: relative error ${err.toExponential(2)} (face: size ${d.face.size}, ${d.face.derivative})`)
        }
      }
    }
  }
  t.comment(`checked ${checked} directions; worst relative error ${worst.toExponential(2)}`)
  t.ok(checked >= 40, `enough directions checked (${checked})`)
})

t.test('smoothImplicitDerivative: the JVP is the transpose of the VJP, ⟨c, J v⟩ = ⟨Jᵀc, v⟩', async (t) => {
  for (const set of SETS) {
    for (const seed of [1, 2]) {
      const pr = problemOf(set, seed, true)
      const x = exactExp(set, pr.th, pr.w, pr.t)
      const d = smoothImplicitDerivative(set, smoothProblem(set, pr.th, pr.w, pr.t), { theta: vec(pr.th), w: vec(pr.w), t: pr.t }, vec(x))
      const r = rng(seed + 40)
      const dth = randomVec(r, pr.n), dw = randomVec(r, pr.n), dt = r.normal(), c = randomVec(r, pr.n)
      const jv = d.jvp({ theta: vec(dth), w: vec(dw), t: dt }).data
      const g = d.vjp(vec(c))
      const lhs = dot(c, jv), rhs = dot((g.theta as P).data, dth) + dot(g.w.data, dw) + g.t * dt
      t.ok(Math.abs(lhs - rhs) <= 1e-10 * (1 + Math.abs(lhs)), `${set} seed=${seed}: ⟨c, Jv⟩ = ${lhs} vs ⟨Jᵀc, v⟩ = ${rhs}`)
    }
  }
})

t.test('with the gradient of a quadratic, smoothImplicitDerivative is the quadratic layer\'s implicit derivative', async (t) => {
  for (const set of SETS) {
    for (const seed of [1, 2]) {
      const p = withRadius(set, randomPlain(rng(500 + seed + 10 * SETS.indexOf(set)), 7), 0.5)
      const th = toParams(p)
      const x = solveExact(set, th).x
      const Pop = dense(matOf(p.n, p.P))
      const grad: Diff<readonly [P, P], P> = trace<readonly [P, P], P>(($, [q, xx]) => { const o = ops<N>($); return o.add(o.apply($.constant(Pop), xx), q) })
      const ds = smoothImplicitDerivative(set, { grad, theta: vec(p.q), dim: vec(p.q).dim, t: p.t, w: vec(p.w), set }, { theta: vec(p.q), w: vec(p.w), t: p.t }, x)
      const dq = implicitDerivative(set, th, x)
      const r = rng(seed)
      const v = randomVec(r, p.n), c = randomVec(r, p.n)
      t.ok(relErr(ds.jvp({ theta: vec(v), t: 0.3 }).data, dq.jvp({ q: vec(v), t: 0.3 }).data) <= 1e-9, `${set} seed=${seed}: JVP in (q, t)`)
      const gs = ds.vjp(vec(c)), gq = dq.vjp(vec(c))
      t.ok(relErr((gs.theta as P).data, gq.q.data) <= 1e-9, `${set} seed=${seed}: ∇q`)
      t.ok(relErr(gs.w.data, gq.w.data) <= 1e-9 && Math.abs(gs.t - gq.t) <= 1e-9 * (1 + Math.abs(gq.t)), `${set} seed=${seed}: ∇w and ∇t`)
    }
  }
})

t.test('dfwSmooth({ backward: "implicit" }): its gradient agrees with finite differences of the exact solver (cosine ≥ 0.9999)', async (t) => {
  for (const set of SETS) {
    for (const seed of [1, 2]) {
      const pr = problemOf(set, seed, true)
      const L = Math.exp(set === 'l1' ? pr.t / Math.min(...pr.w) : pr.t)
      const res = dfwSmooth({ lipschitz: L, backward: 'implicit' })(smoothProblem(set, pr.th, pr.w, pr.t))
      const x = exactExp(set, pr.th, pr.w, pr.t)
      t.ok(relErr(res.x.data, x, 1e-3) <= 1e-4, `${set} seed=${seed}: x within 1e-4 of the exact solution (${res.iterations} steps, ${res.status})`)
      const c = randomVec(rng(seed + 90), pr.n)
      const g = res.vjp(vec(c))
      // ∇θ⟨c, x*⟩ by central differences of the exact solver, one coordinate at a time
      const h = 1e-6
      const fd = pr.th.map((_, j) => {
        const up = exactExp(set, pr.th.map((v, i) => (i === j ? v + h : v)), pr.w, pr.t)
        const dn = exactExp(set, pr.th.map((v, i) => (i === j ? v - h : v)), pr.w, pr.t)
        return (dot(c, up) - dot(c, dn)) / (2 * h)
      })
      const cs = cosine((g.theta as P).data, fd)
      t.ok(cs >= 0.9999, `${set} seed=${seed}: cosine of ∇θ with finite differences ${cs.toFixed(8)}`)
      const unrolled = dfwSmooth({ lipschitz: L })(smoothProblem(set, pr.th, pr.w, pr.t)).vjp(vec(c))
      t.comment(`${set} seed=${seed}: unrolled cosine ${cosine((unrolled.theta as P).data, fd).toFixed(8)}, implicit ${cs.toFixed(8)}`)
    }
  }
})

t.test('dfwSmooth refuses an unknown backward mode with its path', async (t) => {
  const pr = problemOf('l1', 1, true)
  let thrown: unknown
  try { dfwSmooth({ lipschitz: 1, backward: 'sideways' as never })(smoothProblem('l1', pr.th, pr.w, pr.t)) } catch (e) { thrown = e }
  t.ok(thrown instanceof LayerError, 'a LayerError')
  t.equal((thrown as LayerError).path, 'options.backward')
})
