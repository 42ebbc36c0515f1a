/**
 * The K-sparse polytope {‖x‖∞ ≤ t, ‖x‖₁ ≤ k t} (src/fw/sets/KSparse.ts) against
 * independent references: its oracle against full sorting, its projection against
 * bisection, the layer's x and objective against brute force over the faces (the l1 row
 * slack and tight; well- and ill-conditioned and rank-deficient P), its derivatives in q,
 * P and t against central differences, the transpose law, the face report at regular and
 * degenerate points, the feasibility of every iterate, the linear rate of its steps, the
 * unrolled derivative's convergence, and `dfw solve`'s JSON.
 */
import t from 'tap'
import { rng } from '../src/core/Random.js'
import { dfwLayer } from '../src/fw/Layer.js'
import { resolveSet } from '../src/fw/sets/Sets.js'
import { ksparseDirection, ksparseSet, ksparseVertex, projectKSparse } from '../src/fw/sets/KSparse.js'
import { fastSolveSet } from '../src/fw/FastSolve.js'
import { polishExact } from '../src/fw/Polish.js'
import { runText, type ResultJson } from '../src/cli/solve.js'
import {
  type N, type Qp, addScaled, central, dot, gapWith, ksparseOracleValue, ksparseReference, matOf, maxAbs, maxAbsDiff, objective,
  problemOf, psd, randomQp, randomVec, symDirection, vec
} from './helpers/setRefs.js'
import type { Params } from '../src/fw/Problem.js'

const setOf = (k: number) => ({ kind: 'ksparse' as const, k })
const solve = (p: Qp, k: number, r: number, options = {}) => dfwLayer(options)(problemOf(p, setOf(k), r))

const violation = (x: ArrayLike<number>, k: number, r: number): number => {
  let v = 0, s = 0
  for (let i = 0; i < x.length; i++) { v = Math.max(v, Math.abs(x[i]!) - r); s += Math.abs(x[i]!) }
  return Math.max(v, s - k * r) / r
}

const thetaOf = (p: Qp, k: number, r: number): Params<N> => {
  const pr = problemOf(p, setOf(k), r)
  return { P: pr.P, q: pr.q, w: vec(new Array(p.n).fill(1)), t: r, k }
}

/** The l1 norm of the unconstrained minimizer (far from 0 for these q), for radii that bind. */
const radii = (p: Qp, k: number): number[] => {
  // a loose scale from q: tight rows need k t below ‖x_unc‖₁ ≈ ‖q‖₁ / λ(P)
  const s = p.q.reduce((a, v) => a + Math.abs(v), 0) / p.n
  return [0.3 * s, s, 4 * s].map((v) => v / Math.max(1, k / 2))
}

// -------------------------------------------------------------------------------------
// oracle and projection
// -------------------------------------------------------------------------------------

t.test('the oracle\'s vertex and value agree with full sorting of |g| (ties, zeros, k = n)', async (t) => {
  const r = rng(1)
  let worst = 0
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(r.uniform() * 40)
    const k = 1 + Math.floor(r.uniform() * n)
    const rad = 0.1 + r.uniform()
    const g = Array.from({ length: n }, () => (trial % 3 === 0 ? Math.floor(5 * r.uniform()) - 2 : r.normal()))
    const out = new Float64Array(n)
    const value = ksparseVertex(Float64Array.from(g), k, rad, out, new Int32Array(n), new Float64Array(n))
    const ref = ksparseOracleValue(g, k, rad)
    worst = Math.max(worst, Math.abs(value - ref) / (1 + Math.abs(ref)))
    t.ok(violation(out, k, rad) <= 1e-12, `vertex feasible (n=${n}, k=${k})`)
    t.ok(Math.abs(dot(out, g) - value) <= 1e-12 * (1 + Math.abs(value)), 'value = ⟨g, vertex⟩')
    t.equal(ksparseSet(n, k, rad).lmoValue(Float64Array.from(g)), value, 'lmoValue is the vertex\'s value')
  }
  t.ok(worst <= 1e-12, `value vs full sort: ${worst.toExponential(2)}`)
  const out = new Float64Array(4)
  ksparseVertex(Float64Array.of(1, -1, 1, 0), 2, 2, out, new Int32Array(4), new Float64Array(4))
  t.same(Array.from(out), [-2, 2, 0, 0], 'ties broken by index')
})

/** The projection's threshold by bisection, independently. */
const bisect = (y: readonly number[], k: number, r: number): number[] => {
  const clip = (th: number) => y.map((v) => Math.sign(v) * Math.min(r, Math.max(0, Math.abs(v) - th)))
  const l1 = (x: number[]) => x.reduce((a, v) => a + Math.abs(v), 0)
  if (l1(clip(0)) <= k * r) return clip(0)
  let lo = 0, hi = maxAbs(y)
  for (let it = 0; it < 200; it++) { const mid = 0.5 * (lo + hi); if (l1(clip(mid)) > k * r) lo = mid; else hi = mid }
  return clip(0.5 * (lo + hi))
}

t.test('the projection matches bisection on its threshold', async (t) => {
  const r = rng(2)
  let worst = 0
  for (let trial = 0; trial < 100; trial++) {
    const n = 1 + Math.floor(r.uniform() * 50)
    const k = 1 + Math.floor(r.uniform() * n)
    const rad = 0.1 + r.uniform()
    const y = Array.from({ length: n }, () => (trial % 4 === 0 ? Math.round(4 * r.normal()) / 4 : 2 * r.normal()))
    const out = new Float64Array(n)
    projectKSparse(Float64Array.from(y), k, rad, out)
    worst = Math.max(worst, maxAbsDiff(out, bisect(y, k, rad)))
    t.ok(violation(out, k, rad) <= 1e-12, 'feasible')
  }
  t.ok(worst <= 1e-12, `vs bisection: ${worst.toExponential(2)}`)
})

// -------------------------------------------------------------------------------------
// feasibility and the rate
// -------------------------------------------------------------------------------------

t.test('every iterate of the default schedule lies in the set (fast solve and the unrolled fold)', async (t) => {
  const r = rng(3)
  let worst = 0
  for (const [n, k] of [[8, 2], [30, 5], [50, 50], [50, 1]] as const) {
    for (const kind of ['well', 'ill', 'rank'] as const) {
      const p = randomQp(r, n, kind)
      for (const rad of radii(p, k)) {
        const theta = thetaOf(p, k, rad)
        fastSolveSet(resolveSet('ksparse', theta), theta, {
          maxIterations: 300, tolerance: 0,
          callback: (_k, _g, _f, x) => { worst = Math.max(worst, violation(x, k, rad)); return false }
        })
      }
    }
  }
  t.ok(worst <= 1e-12, `fast solve: worst violation ${worst.toExponential(2)}·t`)
  const p = randomQp(r, 12, 'well')
  let v = 0
  for (let K = 1; K <= 25; K++) v = Math.max(v, violation(solve(p, 3, 0.2, { backward: 'unrolled', maxIterations: K, tolerance: 0 }).x.data, 3, 0.2))
  t.ok(v <= 1e-12, `unrolled x_K, K = 1..25: worst violation ${v.toExponential(2)}·t`)
})

t.test('the steps converge linearly: the gap falls below 1e-12·|f| within 40n steps on strongly convex problems', async (t) => {
  const r = rng(4)
  for (const [n, k] of [[20, 3], [40, 8], [60, 60]] as const) {
    const p = randomQp(r, n, 'well')
    for (const rad of radii(p, k)) {
      const theta = thetaOf(p, k, rad)
      const res = fastSolveSet(resolveSet('ksparse', theta), theta, { maxIterations: 40 * n, tolerance: 1e-12 })
      t.ok(res.converged, `n=${n} k=${k} t=${rad.toPrecision(2)}: gap ${res.gap.toExponential(2)} after ${res.iterations} steps`)
    }
  }
})

t.test('no step is left at a KKT point, and a step is a descent direction within the set', async (t) => {
  const r = rng(5)
  let checked = 0
  for (let trial = 0; trial < 30; trial++) {
    const n = 5 + (trial % 10), k = 1 + (trial % n), rad = 0.5
    const x = new Float64Array(n)
    // a feasible point: a random projection
    projectKSparse(Float64Array.from({ length: n }, () => r.normal()), k, rad, x)
    const g = Float64Array.from({ length: n }, () => r.normal())
    const d = ksparseDirection(x, g, k, rad)
    if (d === undefined) continue
    checked++
    let slope = 0
    d.idx!.forEach((i, e) => { slope += g[i]! * d.vals[e]! })
    t.ok(slope < 0, `descent: slope ${slope.toPrecision(3)}`)
    const y = Float64Array.from(x)
    d.idx!.forEach((i, e) => { y[i] = y[i]! + d.gmax * d.vals[e]! })
    t.ok(violation(y, k, rad) <= 1e-12, 'γmax stays in the set')
  }
  t.ok(checked >= 20, `${checked} directions`)
})

// -------------------------------------------------------------------------------------
// accuracy
// -------------------------------------------------------------------------------------

t.test('x and the objective agree with brute force over the faces (row slack and tight; well/ill/rank P)', async (t) => {
  const r = rng(6)
  for (const n of [3, 5]) {
    for (const kind of ['well', 'ill', 'rank'] as const) {
      for (const k of [1, 2, n]) {
        const p = randomQp(r, n, kind)
        for (const rad of radii(p, k)) {
          const ref = ksparseReference(p, k, rad)
          for (const backward of ['implicit', 'unrolled'] as const) {
            const res = solve(p, k, rad, { backward })
            const fErr = Math.abs(res.objective - ref.f) / Math.max(1, Math.abs(ref.f))
            const tag = `${kind} n=${n} k=${k} t=${rad.toPrecision(2)} ${backward}`
            t.ok(fErr <= 1e-8, `${tag}: objective ${res.objective} vs ${ref.f} (${fErr.toExponential(1)})`)
            t.ok(violation(res.x.data, k, rad) <= 1e-12, `${tag}: feasible`)
            if (kind !== 'rank' && backward === 'implicit') {
              const xErr = maxAbsDiff(res.x.data, ref.x) / Math.max(1e-12, maxAbs(ref.x))
              t.ok(xErr <= 1e-6, `${tag}: x within ${xErr.toExponential(1)} relative`)
            }
          }
        }
      }
    }
  }
})

t.test('larger problems: the returned x is certified by an independent oracle (gap ≤ 1e-12 of scale)', async (t) => {
  const r = rng(7)
  for (const [n, k] of [[60, 6], [200, 20], [200, 1]] as const) {
    for (const kind of ['well', 'ill', 'rank'] as const) {
      const p = randomQp(r, n, kind)
      const rad = radii(p, k)[0]!
      const res = solve(p, k, rad)
      const { gap, scale } = gapWith(p, res.x.data, (g) => ksparseOracleValue(g, k, rad))
      t.ok(gap <= 1e-12 * scale, `${kind} n=${n} k=${k}: gap ${gap.toExponential(2)}, ${res.status} after ${res.iterations}`)
      t.ok(violation(res.x.data, k, rad) <= 1e-12, 'feasible')
    }
  }
})

// -------------------------------------------------------------------------------------
// derivatives
// -------------------------------------------------------------------------------------

const derivativeCheck = (p: Qp, k: number, rad: number, exact: (p: Qp, r: number) => ArrayLike<number>, seed: number, alongP = true) => {
  const r = rng(seed), n = p.n
  const res = solve(p, k, rad)
  const dq = randomVec(r, n), dP = alongP ? symDirection(r, n) : new Array<number>(n * n).fill(0), dt = r.normal() * rad, ct = randomVec(r, n)
  const fd = central((h) => exact({ n, P: addScaled(p.P, h, dP), q: addScaled(p.q, h, dq) }, rad + h * dt), 1e-6)
  const jv = res.jvp({ q: vec(dq), P: matOf(n, dP), t: dt }).data
  const g = res.vjp(vec(ct))
  const vjpDot = dot(g.q.data, dq) + dot(g.P!.data, dP) + g.t * dt
  return { res, jvpErr: maxAbsDiff(jv, fd) / Math.max(1, maxAbs(fd)), vjpErr: Math.abs(vjpDot - dot(ct, fd)) / Math.max(1, Math.abs(dot(ct, fd))) }
}

t.test('jvp and vjp in q, P and t agree with central differences of the brute-force solution', async (t) => {
  const r = rng(8)
  let done = 0, tight = 0
  for (let trial = 0; trial < 18; trial++) {
    const n = 4 + (trial % 2), k = 1 + (trial % 3)
    const p = randomQp(r, n, 'well')
    const rad = radii(p, k)[trial % 3]!
    const { res, jvpErr, vjpErr } = derivativeCheck(p, k, rad, (pp, rr) => ksparseReference(pp, k, rr).x, 100 + trial)
    if (res.face?.derivative !== 'exact' || res.face.margin < 1e-5) continue
    done++
    if (res.x.data.reduce((a, v) => a + Math.abs(v), 0) >= k * rad * (1 - 1e-9)) tight++
    t.ok(jvpErr <= 1e-5, `trial ${trial}: jvp vs FD ${jvpErr.toExponential(2)} (face ${res.face.size}, margin ${res.face.margin.toPrecision(2)})`)
    t.ok(vjpErr <= 1e-5, `trial ${trial}: vjp vs FD ${vjpErr.toExponential(2)}`)
  }
  t.ok(done >= 9 && tight >= 3, `${done} of 18 trials on stable faces, ${tight} with the row tight`)
})

t.test('larger n: jvp and vjp agree with central differences of the layer\'s exact solutions; face exact', async (t) => {
  const r = rng(9)
  for (const [n, k, kind] of [[40, 5, 'well'], [40, 8, 'ill'], [80, 10, 'well']] as const) {
    const p = randomQp(r, n, kind)
    const rad = radii(p, k)[0]!
    const { res, jvpErr, vjpErr } = derivativeCheck(p, k, rad, (pp, rr) => solve(pp, k, rr).x.data, 200 + n, kind === 'well')
    t.equal(res.face?.derivative, 'exact', `${kind} n=${n}: face ${JSON.stringify(res.face)}`)
    t.ok(jvpErr <= 1e-5, `${kind} n=${n}: jvp vs FD ${jvpErr.toExponential(2)}`)
    t.ok(vjpErr <= 1e-5, `${kind} n=${n}: vjp vs FD ${vjpErr.toExponential(2)}`)
  }
})

t.test('the transpose law ⟨c, J v⟩ = ⟨Jᵀc, v⟩ to 1e-10, both backward modes', async (t) => {
  const r = rng(10)
  for (const n of [6, 30, 90]) {
    for (const kind of ['well', 'ill', 'rank'] as const) {
      for (const backward of ['implicit', 'unrolled'] as const) {
        const p = randomQp(r, n, kind)
        const k = Math.max(1, Math.floor(n / 5)), rad = radii(p, k)[0]!
        const res = solve(p, k, rad, { backward, ...(backward === 'unrolled' ? { maxIterations: 60 } : {}) })
        const dq = randomVec(r, n), dP = randomVec(r, n * n), dt = r.normal(), ct = randomVec(r, n)
        const jv = res.jvp({ q: vec(dq), P: matOf(n, dP), t: dt }).data
        const g = res.vjp(vec(ct))
        const lhs = dot(ct, jv), rhs = dot(g.q.data, dq) + dot(g.P!.data, dP) + g.t * dt
        const e = Math.abs(lhs - rhs) / Math.max(1, Math.abs(lhs), Math.abs(rhs))
        t.ok(e <= 1e-10, `${kind} n=${n} ${backward}: ${e.toExponential(2)}`)
      }
    }
  }
})

t.test('degenerate points: a vertex (exact in t), ties in |g|, a coordinate at 0 with a zero multiplier', async (t) => {
  const I3 = [1, 0, 0, 0, 1, 0, 0, 0, 1]
  // a vertex x = t(−1, 1, 0): locally x = t·v, and the multipliers are strictly complementary
  const vert = solve({ n: 3, P: I3, q: [3, -2, 0.5] }, 2, 0.5)
  t.same(Array.from(vert.x.data), [-0.5, 0.5, 0])
  t.equal(vert.face?.derivative, 'exact', `a strictly complementary vertex (${JSON.stringify(vert.face)})`)
  t.same(Array.from(vert.jvp({ t: 1 }).data), [-1, 1, 0], 'dx/dt = x/t')
  t.equal(vert.vjp(vec([1, 1, 1])).t, 0, '⟨1, dx/dt⟩ = 0')
  // ties: |q| equal, P = I, the row tight: x = −sign(q)·k t / n
  const tie = solve({ n: 3, P: I3, q: [2, -2, 2] }, 1, 0.9)
  t.ok(maxAbsDiff(tie.x.data, [-0.3, 0.3, -0.3]) <= 1e-12, `ties: ${Array.from(tie.x.data)}`)
  t.equal(tie.face?.derivative, 'exact')
  // x₂ = 0 with |g₂| = λ: the row's multiplier equals |q₂| exactly
  // P = I, q = (−1, −0.5, −0.5), k t = 0.5: x = (0.5, 0, 0), λ = 0.5 = |g₂| = |g₃|
  const kink = solve({ n: 3, P: I3, q: [-1, -0.5, -0.5] }, 1, 0.5)
  t.ok(maxAbsDiff(kink.x.data, [0.5, 0, 0]) <= 1e-12, `x = ${Array.from(kink.x.data)}`)
  t.equal(kink.face?.derivative, 'kink', `${JSON.stringify(kink.face)}`)
  const c = [0.3, -1, 2], v = [1, 0.5, -2]
  t.ok(Math.abs(dot(c, kink.jvp({ q: vec(v) }).data) - dot(kink.vjp(vec(c)).q.data, v)) <= 1e-12, 'at the kink, jvp and vjp are transposes of one map')
})

t.test('the unrolled derivative tends to the implicit one as the steps converge', async (t) => {
  const r = rng(11)
  for (const [n, k] of [[20, 4], [40, 6]] as const) {
    const p = randomQp(r, n, 'well')
    const rad = radii(p, k)[1]!
    const imp = solve(p, k, rad)
    t.ok(imp.face!.size > 2, `n=${n}: a face of dimension ${imp.face!.size}`)
    const dq = randomVec(r, n), dt = 0.3, ct = randomVec(r, n)
    const ref = imp.jvp({ q: vec(dq), t: dt }).data
    const errs = [5, 15, 45].map((K) => maxAbsDiff(solve(p, k, rad, { backward: 'unrolled', maxIterations: K, tolerance: 0 }).jvp({ q: vec(dq), t: dt }).data, ref))
    t.ok(errs[2]! < errs[0]!, `n=${n}: the error falls: ${errs.map((e) => e.toExponential(1)).join(' → ')}`)
    const conv = solve(p, k, rad, { backward: 'unrolled' })
    const a = conv.vjp(vec(ct)).q.data, b = imp.vjp(vec(ct)).q.data
    const cos = dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b))
    t.ok(cos >= 0.999, `n=${n}: converged in ${conv.iterations} steps, cosine of ∇q ${cos.toFixed(8)}`)
  }
})

t.test('polishExact reaches the exact minimizer from the start vertex on ill-conditioned and rank-deficient P', async (t) => {
  const r = rng(12)
  for (const kind of ['ill', 'rank'] as const) {
    for (const n of [5, 40]) {
      const p = { n, P: psd(r, n, kind, 10), q: randomVec(r, n) }
      const k = Math.max(1, Math.floor(n / 4)), rad = radii(p, k)[0]!
      const theta = thetaOf(p, k, rad)
      const fs = resolveSet('ksparse', theta)
      const pol = polishExact(fs, theta, fs.start!(theta.q.data))
      t.ok(pol.certified, `${kind} n=${n}: certified after ${pol.rounds} rounds`)
      const { gap, scale } = gapWith(p, pol.x, (g) => ksparseOracleValue(g, k, rad))
      t.ok(gap <= 1e-11 * scale, `${kind} n=${n}: gap ${gap.toExponential(2)}`)
      if (n <= 5) t.ok(Math.abs(objective(p, pol.x) - ksparseReference(p, k, rad).f) <= 1e-8 * Math.max(1, Math.abs(objective(p, pol.x))), 'the brute force\'s objective')
    }
  }
})

// -------------------------------------------------------------------------------------
// dfw solve
// -------------------------------------------------------------------------------------

t.test('dfw solve: a ksparse problem with vjp (q, t, P) and jvp, and a batch sharing P', async (t) => {
  const P = [[2, 0.5, 0], [0.5, 1, 0.2], [0, 0.2, 1.5]]
  const doc = { P, q: [-1, 0.8, -0.6], t: 0.4, set: { kind: 'ksparse', k: 2 }, cotangent: [1, -1, 0.5], tangent: { t: 1, q: [0, 1, 0] } }
  const one = runText(JSON.stringify(doc), dfwLayer)
  t.equal(one.code, 0, one.stderr)
  const r = JSON.parse(one.stdout) as ResultJson & { vjp: Record<string, unknown>; face: { derivative: string } }
  t.same(Object.keys(r.vjp).sort(), ['P', 'q', 't'], 'vjp holds q, P and t only')
  t.equal(r.face.derivative, 'exact')
  const flat = { n: 3, P: P.flat(), q: doc.q }
  t.ok(maxAbsDiff(r.x, ksparseReference(flat, 2, 0.4).x) <= 1e-9, 'x is the brute force\'s')
  const fd = central((h) => ksparseReference({ ...flat, q: addScaled(flat.q, h, [0, 1, 0]) }, 2, 0.4 + h).x, 1e-6)
  t.ok(maxAbsDiff(r.jvp!.x, fd) <= 1e-6, 'jvp along (t, q₁) is the central difference')
  const batch = runText(JSON.stringify({ P, set: { kind: 'ksparse', k: 1 }, problems: [{ q: doc.q, t: 0.4 }, { q: [3, 0, 0], t: 1 }] }), dfwLayer)
  t.equal(batch.code, 0, batch.stderr)
  const results = (JSON.parse(batch.stdout) as { results: ResultJson[] }).results
  t.ok(maxAbsDiff(results[0]!.x, ksparseReference(flat, 1, 0.4).x) <= 1e-9, 'the first entry, on the shared P')
  t.ok(maxAbsDiff(results[1]!.x, [-1, 0, 0]) <= 1e-12, 'the second entry')
  t.match(runText(JSON.stringify({ P, q: [1, 2, 3], t: 1, set: { kind: 'ksparse', k: 1.5 } }), dfwLayer).stderr, /"path":"set\.k"/)
  t.match(runText(JSON.stringify({ P, q: [1, 2, 3], set: { kind: 'ksparse', k: 1 } }), dfwLayer).stderr, /"path":"t"/)
})

t.test('directionLinear: dγmax agrees with central differences in x and t (choice held), and bwd is its transpose', async (t) => {
  const r = rng(13)
  let checked = 0
  const limits = new Set<string>()
  for (let trial = 0; trial < 300 && checked < 60; trial++) {
    const n = 4 + (trial % 6), k = 1 + (trial % n), rad = 0.7
    const x = new Float64Array(n)
    projectKSparse(Float64Array.from({ length: n }, () => 1.5 * r.normal()), k, rad, x)
    if (trial % 3 === 0) for (let i = 0; i < n; i++) x[i] = x[i]! * 0.6 // a slack row
    const g = Float64Array.from({ length: n }, () => r.normal())
    const d = ksparseDirection(x, g, k, rad)
    if (d === undefined) continue
    const fs = ksparseSet(n, k, rad)
    const lin = fs.directionLinear!(x, d)
    const dx = Float64Array.from({ length: n }, () => r.normal())
    let dt = r.normal()
    const l1x = x.reduce((a, v) => a + Math.abs(v), 0)
    if (Math.abs(k * rad - l1x) < 1e-9) {
      // a tight row stays tight along the tangent (the choice held fixed includes it):
      // coordinates at 0 stay there, and k dt = Σ sign(xᵢ) dxᵢ
      let s = 0
      for (let i = 0; i < n; i++) { if (x[i] === 0) dx[i] = 0; s += Math.sign(x[i]!) * dx[i]! }
      dt = s / k
    }
    const h = 1e-7
    const at = (s: number) => ksparseDirection(Float64Array.from(x, (v, i) => v + s * dx[i]!), g, k, rad + s * dt)
    const dp = at(h), dm = at(-h)
    if (dp === undefined || dm === undefined || dp.idx!.join() !== d.idx!.join() || dm.idx!.join() !== d.idx!.join()) continue
    // a kink of γmax: two limits tied, or a tight row that the perturbation may open
    const j = d.idx![0]!, l1 = x.reduce((a, v) => a + Math.abs(v), 0), slack = k * rad - l1
    const tied = d.idx!.length === 2
      ? Math.abs(rad - Math.abs(x[j]!) - Math.abs(x[d.idx![1]!]!)) < 1e-9
      : (slack >= 1e-9 || Math.abs(slack) < 1e-9) && Math.abs(rad - d.vals[0]! * x[j]! - (d.vals[0]! * x[j]! < 0 ? 2 * Math.abs(x[j]!) + Math.max(0, slack) : slack)) < 1e-9
    if (tied) continue
    checked++
    limits.add(`${d.idx!.length}:${d.snap?.length ?? 0}`)
    const fd = (dp.gmax - dm.gmax) / (2 * h)
    const { dgmax } = lin.fwd(dx, { t: dt, k: 0 })
    t.ok(Math.abs(dgmax - fd) <= 1e-6 * Math.max(1, Math.abs(fd)), `dγmax ${dgmax} vs FD ${fd}`, { x: Array.from(x), g: Array.from(g), k, idx: Array.from(d.idx!), gmax: d.gmax, gp: dp.gmax, gm: dm.gmax })
    // transpose: ⟨cg, dγmax⟩ = ⟨cx, dx⟩ + acc.t·dt
    const cg = r.normal(), cx = new Float64Array(n), acc = { w: new Float64Array(n), t: 0, k: 0 }
    lin.bwd(new Float64Array(d.vals.length), cg, cx, acc)
    t.ok(Math.abs(cg * dgmax - (dot(cx, dx) + acc.t * dt)) <= 1e-12 * Math.max(1, Math.abs(cg * dgmax)), 'bwd is the transpose of fwd')
  }
  t.ok(checked >= 25 && limits.size >= 3, `${checked} directions, ${limits.size} kinds of limit`)
})
