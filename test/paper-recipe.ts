/**
 * The `"paper"` schedule reproduces PAPER.md's recipe. The recipe is re-implemented
 * here naively: plain number[] arrays, no Diff, a fresh g = P x + q every iteration, the
 * literal formulas, and the relative-change stop test with the history [1000, −100]. The
 * layer must take the same number of steps and return the same x, step by step, and its
 * unrolled VJP must be the derivative of this naive loop (central finite differences).
 */
import t from 'tap'
import { dfwLayer } from '../src/fw/Layer.js'
import {
  type Plain, addScaled, dot, mulMV, maxAbs, maxAbsDiff, matOf, norm, paperPlain, randomVec, relErr, rng,
  symDirection, toProblem, unconstrained, vec
} from './helpers/layerFixtures.js'

// -------------------------------------------------------------------------------------
// the recipe, naively
// -------------------------------------------------------------------------------------

interface RecipeOptions {
  readonly L: number
  readonly beta0: number
  /** The relative-change tolerance; `undefined` disables the test (run exactly maxIt). */
  readonly tol: number | undefined
  readonly maxIt: number
}

interface RecipeRun {
  readonly x: number[]
  readonly iterations: number
  /** x after every iteration (xs[k−1] after iteration k). */
  readonly xs: number[][]
  /** Per iteration: the clamp's regime and the signs of ĝ (the discrete choices). */
  readonly pattern: string
}

/** PAPER.md's power iteration: stop when successive estimates differ by < 1e-2, ≤ 100 steps. */
const paperLipschitz = (p: Plain): number => {
  let v = Array.from({ length: p.n }, (_, i) => 1 + i / p.n)
  let prev = 0, lambda = 0
  for (let k = 0; k < 100; k++) {
    const pv = mulMV(p.n, p.P, v)
    lambda = norm(pv)
    v = pv.map((x) => x / lambda)
    if (Math.abs(lambda - prev) < 1e-2) break
    prev = lambda
  }
  return lambda
}

const recipe = (p: Plain, o: RecipeOptions): RecipeRun => {
  const n = p.n
  let x = new Array<number>(n).fill(0)
  const history = [1000, -100]
  const xs: number[][] = []
  let pattern = ''
  let beta = o.beta0
  let i = 0
  while (i < o.maxIt) {
    i++
    if (i % 30 === 0) beta *= 2
    const Px = mulMV(n, p.P, x)
    const g = Px.map((v, k) => v + p.q[k]!)
    const gh = g.map((v, k) => (v * p.t) / p.w[k]!)
    const bz = gh.map((v) => beta * Math.abs(v))
    const m = Math.max(...bz)
    const z = bz.map((v) => v - m)
    const ez = z.map((v) => Math.exp(v))
    const se = ez.reduce((a, b) => a + b, 0)
    const e = ez.map((v) => v / se)
    const s = e.map((v, k) => -(p.t / p.w[k]!) * Math.sign(gh[k]!) * v)
    const d = x.map((v, k) => v - s[k]!)
    const raw = dot(g, d) / (o.L * dot(d, d))
    const gamma = Math.min(Math.max(raw, 0), 1)
    pattern += (raw <= 0 ? '0' : raw >= 1 ? '1' : 'i') + gh.map((v) => (v > 0 ? '+' : v < 0 ? '-' : '0')).join('') + '|'
    x = x.map((v, k) => v - gamma * d[k]!)
    xs.push(x)
    const f = 0.5 * dot(x, mulMV(n, p.P, x)) + dot(p.q, x)
    history.push(f)
    const prev = history[history.length - 2]!
    if (o.tol !== undefined && Math.abs(f - prev) / Math.abs(prev) <= o.tol) break
  }
  return { x, iterations: i, xs, pattern }
}

const layerRun = (p: Plain, o: RecipeOptions) =>
  dfwLayer({
    schedule: 'paper',
    backward: 'unrolled',
    lipschitz: o.L,
    beta0: o.beta0,
    maxIterations: o.maxIt,
    tolerance: o.tol ?? 0
  })(toProblem(p))

// -------------------------------------------------------------------------------------
// problems
// -------------------------------------------------------------------------------------

interface Case {
  readonly name: string
  readonly p: Plain
  readonly beta0: number
  readonly tol: number
  readonly maxIt: number
}

const binding = (p: Plain, factor: number): Plain => {
  const xu = unconstrained(p)
  let s = 0
  for (let i = 0; i < p.n; i++) s += Math.abs(p.w[i]! * xu[i]!)
  return { ...p, t: factor * s }
}

/** The imitation-learning layer: argmin ½‖a − â‖² s.t. Σ|sᵢaᵢ| ≤ p_max, two actions. */
const reacher = (seed: number, pmax: number): Plain => {
  const r = rng(seed)
  const ahat = [2 * r.normal(), 2 * r.normal()]
  return { n: 2, P: [1, 0, 0, 1], q: ahat.map((v) => -v), w: [0.2 + 3 * r.uniform(), 0.2 + 3 * r.uniform()], t: pmax }
}

const CASES: Case[] = [
  ...[5, 10, 30].flatMap((n) => [0, 1, 2].map((seed) => ({ name: `paper n=${n} seed=${seed}`, p: paperPlain(n, seed), beta0: 1, tol: 1e-4, maxIt: 1000 }))),
  ...[5, 10, 30].flatMap((n) => [3, 4].map((seed) => ({ name: `binding n=${n} seed=${seed}`, p: binding(paperPlain(n, seed), 0.2), beta0: 1, tol: 1e-4, maxIt: 1000 }))),
  ...[10, 20].map((n) => ({ name: `robotics-style β₀=0.1 n=${n}`, p: paperPlain(n, 7 + n), beta0: 0.1, tol: 1e-3, maxIt: 10 })),
  ...[0, 1, 2, 3].flatMap((seed) => [0.3, 1.0].map((pmax) => ({ name: `reacher seed=${seed} p_max=${pmax}`, p: reacher(seed, pmax), beta0: 0.1, tol: 1e-3, maxIt: 10 })))
]

// -------------------------------------------------------------------------------------
// tests
// -------------------------------------------------------------------------------------

t.test('the paper schedule stops after the same number of steps as the naive recipe, at the same x (1e-12)', async (t) => {
  let worst = 0
  for (const c of CASES) {
    const L = paperLipschitz(c.p)
    const o = { L, beta0: c.beta0, tol: c.tol, maxIt: c.maxIt }
    const ref = recipe(c.p, o)
    const r = layerRun(c.p, o)
    t.equal(r.iterations, ref.iterations, `${c.name}: iterations`)
    const err = maxAbsDiff(r.x.data, ref.x) / Math.max(1, maxAbs(ref.x))
    worst = Math.max(worst, err)
    t.ok(err <= 1e-12, `${c.name}: x differs by ${err.toExponential(2)}`)
  }
  t.comment(`worst x difference ${worst.toExponential(2)}`)
})

t.test('the binding cases stop early, as PAPER.md measured (the recipe, not a bug)', async (t) => {
  // a guard that the binding fixtures above really exercise the early stop
  for (const c of CASES.filter((c) => c.name.startsWith('binding'))) {
    const L = paperLipschitz(c.p)
    const ref = recipe(c.p, { L, beta0: c.beta0, tol: c.tol, maxIt: c.maxIt })
    t.ok(ref.iterations < 60, `${c.name}: the recipe stopped after ${ref.iterations} steps`)
  }
})

t.test('the robotics runs stop at the cap of 10 or earlier', async (t) => {
  for (const c of CASES.filter((c) => c.maxIt === 10)) {
    const r = layerRun(c.p, { L: paperLipschitz(c.p), beta0: c.beta0, tol: c.tol, maxIt: c.maxIt })
    t.ok(r.iterations >= 1 && r.iterations <= 10, `${c.name}: ${r.iterations}`)
    if (r.iterations < 10) t.equal(r.status, 'converged', `${c.name}: stopped early by the relative-change test`)
    else t.ok(r.status === 'maxIterations' || r.status === 'converged', `${c.name}: ${r.status}`)
  }
})

t.test('every iterate matches: maxIterations K, tolerance 0, K = 1..40 (across the β doubling at 30)', async (t) => {
  const picks: Array<{ name: string; p: Plain; beta0: number }> = [
    { name: 'paper n=8 seed=11', p: paperPlain(8, 11), beta0: 1 },
    { name: 'binding n=8 seed=12', p: binding(paperPlain(8, 12), 0.2), beta0: 1 },
    { name: 'β₀=0.1 n=6 seed=13', p: paperPlain(6, 13), beta0: 0.1 }
  ]
  for (const c of picks) {
    const L = paperLipschitz(c.p)
    const ref = recipe(c.p, { L, beta0: c.beta0, tol: undefined, maxIt: 40 })
    let worst = 0, bad = 0
    for (let K = 1; K <= 40; K++) {
      const r = layerRun(c.p, { L, beta0: c.beta0, tol: undefined, maxIt: K })
      if (r.iterations !== K) bad++
      const err = maxAbsDiff(r.x.data, ref.xs[K - 1]!) / Math.max(1, maxAbs(ref.xs[K - 1]!))
      worst = Math.max(worst, err)
    }
    t.equal(bad, 0, `${c.name}: every run took exactly K steps`)
    t.ok(worst <= 1e-12, `${c.name}: worst iterate difference ${worst.toExponential(2)}`)
  }
})

t.test('the doubling of β happens at iteration 30, not 31 (the iterates would differ)', async (t) => {
  // a guard on the check above: shifting the doubling by one step changes x₃₀
  const p = paperPlain(8, 11)
  const L = paperLipschitz(p)
  const ref = recipe(p, { L, beta0: 1, tol: undefined, maxIt: 30 })
  const shifted = recipe(p, { L, beta0: 1, tol: undefined, maxIt: 29 })
  // one more step of the shifted recipe with the old β: emulate by running 30 steps at β₀ = 1 with no doubling
  const noDouble = ((): number[] => {
    let x = shifted.x
    const n = p.n
    const g = mulMV(n, p.P, x).map((v, k) => v + p.q[k]!)
    const gh = g.map((v, k) => (v * p.t) / p.w[k]!)
    const bz = gh.map((v) => Math.abs(v))
    const m = Math.max(...bz)
    const ez = bz.map((v) => Math.exp(v - m))
    const se = ez.reduce((a, b) => a + b, 0)
    const s = ez.map((v, k) => (-(p.t / p.w[k]!) * Math.sign(gh[k]!) * v) / se)
    const d = x.map((v, k) => v - s[k]!)
    const gamma = Math.min(Math.max(dot(g, d) / (L * dot(d, d)), 0), 1)
    x = x.map((v, k) => v - gamma * d[k]!)
    return x
  })()
  const r = layerRun(p, { L, beta0: 1, tol: undefined, maxIt: 30 })
  t.ok(maxAbsDiff(ref.x, noDouble) > 1e-9, 'the doubling is visible in x₃₀')
  t.ok(maxAbsDiff(r.x.data, ref.x) <= 1e-12, 'the layer doubles at the 30th iteration')
})

// -------------------------------------------------------------------------------------
// the unrolled derivative is the derivative of the naive loop
// -------------------------------------------------------------------------------------

const FD_H = 1e-5

/**
 * The central difference of φ(θ) = ⟨c, x_K(θ)⟩ along a perturbation, or `undefined`
 * when a discrete choice (the clamp's regime, a sign of ĝ) differs inside the stencil.
 */
const fdRecipe = (perturb: (h: number) => Plain, c: number[], o: RecipeOptions, pattern: string): number | undefined => {
  const plus = recipe(perturb(FD_H), o), minus = recipe(perturb(-FD_H), o)
  if (plus.pattern !== pattern || minus.pattern !== pattern) return undefined
  return (dot(c, plus.x) - dot(c, minus.x)) / (2 * FD_H)
}

t.test('the paper VJP at fixed K is the derivative of the naive loop in q, w, t and P (relative ≤ 1e-6)', async (t) => {
  const cases: Array<{ name: string; p: Plain; K: number; beta0: number }> = [
    { name: 'paper n=5 seed=21 K=8', p: paperPlain(5, 21), K: 8, beta0: 1 },
    { name: 'paper n=8 seed=22 K=15', p: paperPlain(8, 22), K: 15, beta0: 1 },
    { name: 'binding n=6 seed=23 K=10', p: binding(paperPlain(6, 23), 0.2), K: 10, beta0: 1 },
    { name: 'binding n=5 seed=24 K=35', p: binding(paperPlain(5, 24), 0.3), K: 35, beta0: 1 },
    { name: 'β₀=0.1 n=6 seed=25 K=10', p: paperPlain(6, 25), K: 10, beta0: 0.1 },
    { name: 'reacher seed=5 K=10', p: reacher(5, 0.3), K: 10, beta0: 0.1 }
  ]
  let worst = 0, checked = 0, skipped = 0
  for (const cs of cases) {
    const { p, K } = cs
    const n = p.n
    const o = { L: paperLipschitz(p), beta0: cs.beta0, tol: undefined, maxIt: K }
    const base = recipe(p, o)
    const r = layerRun(p, o)
    const c = randomVec(rng(1000 + n + K), n)
    const gr = r.vjp(vec(c))
    const check = (what: string, got: number[], fd: Array<number | undefined>): void => {
      const keep = fd.map((v, i) => (v === undefined ? -1 : i)).filter((i) => i >= 0)
      skipped += fd.length - keep.length
      if (keep.length === 0) return
      checked += keep.length
      const err = relErr(keep.map((i) => got[i]!), keep.map((i) => fd[i]!), 1e-8)
      worst = Math.max(worst, err)
      t.ok(err <= 1e-6, `${cs.name}: ∇${what} relative error ${err.toExponential(2)}`)
    }
    check('q', Array.from(gr.q.data), Array.from({ length: n }, (_, i) =>
      fdRecipe((h) => ({ ...p, q: p.q.map((v, k) => (k === i ? v + h : v)) }), c, o, base.pattern)))
    check('w', Array.from(gr.w.data), Array.from({ length: n }, (_, i) =>
      fdRecipe((h) => ({ ...p, w: p.w.map((v, k) => (k === i ? v + h : v)) }), c, o, base.pattern)))
    check('t', [gr.t], [fdRecipe((h) => ({ ...p, t: p.t + h }), c, o, base.pattern)])
    const dP = symDirection(rng(2000 + n + K), n)
    t.ok(gr.P !== undefined, `${cs.name}: a dense P has a P gradient`)
    check('P·dP', [dot(gr.P!.data, dP)], [fdRecipe((h) => ({ ...p, P: addScaled(p.P, h, dP) }), c, o, base.pattern)])
  }
  t.comment(`checked ${checked} derivative entries, skipped ${skipped} at kinks; worst relative error ${worst.toExponential(2)}`)
  t.ok(checked >= 0.9 * (checked + skipped), 'almost no entry sits at a kink')
})

t.test('the paper JVP is the transpose of its VJP (⟨c, J v⟩ = ⟨Jᵀc, v⟩)', async (t) => {
  for (const [n, seed, K] of [[6, 31, 12], [9, 32, 33]] as const) {
    const p = paperPlain(n, seed)
    const r = layerRun(p, { L: paperLipschitz(p), beta0: 1, tol: undefined, maxIt: K })
    const rr = rng(seed)
    const c = randomVec(rr, n), dq = randomVec(rr, n), dw = randomVec(rr, n), dt = rr.normal(), dP = symDirection(rr, n)
    const jv = r.jvp({ q: vec(dq), w: vec(dw), t: dt, P: matOf(n, dP) })
    const g = r.vjp(vec(c))
    const lhs = dot(c, jv.data)
    const rhs = dot(g.q.data, dq) + dot(g.w.data, dw) + g.t * dt + dot(g.P!.data, dP)
    const err = Math.abs(lhs - rhs) / Math.max(Math.abs(lhs), Math.abs(rhs), 1e-300)
    t.ok(err <= 1e-10, `n=${n} K=${K}: ${lhs} vs ${rhs} (relative ${err.toExponential(2)})`)
  }
})
