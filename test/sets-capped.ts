/**
 * The capped simplex {0 ≤ x ≤ 1, Σ x = k} (src/fw/sets/CappedSimplex.ts) against
 * independent references: its oracle against full sorting, its projection against
 * bisection, the layer's x and objective against brute force over the faces (well- and
 * ill-conditioned and rank-deficient P, integer and fractional k), its derivatives in q, P
 * and k against central differences of the brute-force solution, the transpose law, the
 * face report at regular and degenerate points, the feasibility of every iterate, the
 * unrolled derivative's convergence to the implicit one, and `dfw solve`'s JSON.
 */
import t from 'tap'
import { rng } from '../src/core/Random.js'
import { dfwLayer } from '../src/fw/Layer.js'
import { resolveSet } from '../src/fw/sets/Sets.js'
import { cappedSimplexSet, cappedSimplexVertex, cappedThreshold, projectCappedSimplex, selectSmallest, identity } from '../src/fw/sets/CappedSimplex.js'
import { fastSolveSet } from '../src/fw/FastSolve.js'
import { polishExact } from '../src/fw/Polish.js'
import { runText, type ResultJson } from '../src/cli/solve.js'
import {
  type N, type Qp, addScaled, cappedOracleValue, cappedReference, central, dot, gapWith, matOf, maxAbs, maxAbsDiff, objective,
  problemOf, psd, randomQp, randomVec, symDirection, vec
} from './helpers/setRefs.js'
import type { Params } from '../src/fw/Problem.js'

const setOf = (k: number) => ({ kind: 'capped-simplex' as const, k })
const solve = (p: Qp, k: number, options = {}) => dfwLayer(options)(problemOf(p, setOf(k)))

const violation = (x: ArrayLike<number>, k: number): number => {
  let v = 0, s = 0
  for (let i = 0; i < x.length; i++) { v = Math.max(v, -x[i]!, x[i]! - 1); s += x[i]! }
  return Math.max(v, Math.abs(s - k))
}

const thetaOf = (p: Qp, k: number): Params<N> => {
  const pr = problemOf(p, setOf(k))
  return { P: pr.P, q: pr.q, w: vec(new Array(p.n).fill(1)), t: 0, k }
}

// -------------------------------------------------------------------------------------
// oracle and projection
// -------------------------------------------------------------------------------------

t.test('selectSmallest puts the (r+1)-th smallest (value, index) at r, smaller before, larger after', async (t) => {
  const r = rng(1)
  let bad = 0, cases = 0
  for (const n of [1, 2, 5, 17, 100, 2000]) {
    const families: Array<[string, Float64Array]> = [
      ['normal', Float64Array.from({ length: n }, () => r.normal())],
      ['ties', Float64Array.from({ length: n }, () => Math.floor(3 * r.uniform()))],
      ['sorted', Float64Array.from({ length: n }, (_, i) => i)],
      ['reversed', Float64Array.from({ length: n }, (_, i) => -i)],
      ['equal', new Float64Array(n).fill(2)]
    ]
    for (const [, key] of families) {
      for (const rank of [0, Math.floor(n / 3), n - 1]) {
        cases++
        const idx = identity(new Int32Array(n))
        selectSmallest(key, idx, rank)
        const less = (a: number, b: number): boolean => key[a]! < key[b]! || (key[a] === key[b] && a < b)
        const sorted = Array.from({ length: n }, (_, i) => i).sort((a, b) => (less(a, b) ? -1 : 1))
        if (idx[rank] !== sorted[rank]) bad++
        for (let e = 0; e < n; e++) if (e < rank ? !less(idx[e]!, idx[rank]!) : e > rank ? !less(idx[rank]!, idx[e]!) : false) { bad++; break }
        if (new Set(idx).size !== n) bad++
      }
    }
  }
  t.equal(bad, 0, `${cases} cases`)
})

t.test('the oracle\'s vertex and value agree with full sorting (fractional and integer k, ties)', async (t) => {
  const r = rng(2)
  let worst = 0
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(r.uniform() * 40)
    if (n < 2) continue
    const k = trial % 2 === 0 ? 1 + Math.floor(r.uniform() * (n - 1)) : Math.min(n - 1e-3, 1e-3 + r.uniform() * (n - 1e-3))
    const g = Array.from({ length: n }, () => (trial % 3 === 0 ? Math.floor(4 * r.uniform()) : r.normal()))
    const out = new Float64Array(n)
    const { value } = cappedSimplexVertex(Float64Array.from(g), k, out, new Int32Array(n))
    const ref = cappedOracleValue(g, k)
    worst = Math.max(worst, Math.abs(value - ref) / (1 + Math.abs(ref)))
    t.ok(violation(out, k) <= 1e-12 * n, `vertex feasible (n=${n}, k=${k})`)
    t.ok(Math.abs(dot(out, g) - value) <= 1e-12 * (1 + Math.abs(value)), 'value = ⟨g, vertex⟩')
    t.equal(cappedSimplexSet(n, k).lmoValue(Float64Array.from(g)), value, 'lmoValue is the vertex\'s value')
  }
  t.ok(worst <= 1e-12, `value vs full sort: ${worst.toExponential(2)}`)
  // ties: equal gradients fill the lowest indices first
  const out = new Float64Array(5)
  cappedSimplexVertex(new Float64Array(5).fill(1), 2.5, out, new Int32Array(5))
  t.same(Array.from(out), [1, 1, 0.5, 0, 0], 'ties broken by index')
})

/** The projection's threshold by bisection (200 halvings of a bracket), as an independent reference. */
const bisectThreshold = (y: readonly number[], k: number): number => {
  let lo = Math.min(...y) - 1, hi = Math.max(...y)
  for (let it = 0; it < 200; it++) {
    const mid = 0.5 * (lo + hi)
    const s = y.reduce((a, v) => a + Math.min(1, Math.max(0, v - mid)), 0)
    if (s > k) lo = mid; else hi = mid
  }
  return 0.5 * (lo + hi)
}

t.test('the projection clip(y − θ, 0, 1) matches bisection on θ and is the Euclidean projection', async (t) => {
  const r = rng(3)
  let worst = 0, kkt = 0
  for (let trial = 0; trial < 100; trial++) {
    const n = 2 + Math.floor(r.uniform() * 50)
    const k = 0.01 + r.uniform() * (n - 0.02)
    const y = Array.from({ length: n }, () => (trial % 4 === 0 ? Math.round(2 * r.normal()) / 2 : 2 * r.normal()))
    const out = new Float64Array(n)
    projectCappedSimplex(Float64Array.from(y), k, out)
    const th = bisectThreshold(y, k)
    const ref = y.map((v) => Math.min(1, Math.max(0, v - th)))
    worst = Math.max(worst, maxAbsDiff(out, ref))
    t.ok(violation(out, k) <= 1e-12 * n, 'feasible')
    // optimality: y − x = θ on the free coordinates, ≤ θ at 0, ≥ θ at 1
    for (let i = 0; i < n; i++) {
      const d = y[i]! - out[i]!
      if (out[i]! > 0 && out[i]! < 1) kkt = Math.max(kkt, Math.abs(d - th))
      else if (out[i] === 0) kkt = Math.max(kkt, d - th)
      else kkt = Math.max(kkt, th - d)
    }
  }
  t.ok(worst <= 1e-12, `vs bisection: ${worst.toExponential(2)}`)
  t.ok(kkt <= 1e-12, `optimality conditions: ${kkt.toExponential(2)}`)
  t.equal(cappedThreshold(Float64Array.of(3, 1, 0), 1, 0), 3, 's = 0: the largest θ with an empty sum')
  t.equal(cappedThreshold(Float64Array.of(3, 1, 0), 1, 3), -1, 's = n c: the smallest θ with a full sum')
})

// -------------------------------------------------------------------------------------
// feasibility
// -------------------------------------------------------------------------------------

t.test('every iterate of the default schedule lies in the set (fast solve and the unrolled fold)', async (t) => {
  const r = rng(4)
  let worst = 0
  for (const [n, k] of [[8, 3], [20, 4.5], [50, 0.3], [50, 49.5]] as const) {
    for (const kind of ['well', 'ill', 'rank'] as const) {
      const p = randomQp(r, n, kind)
      const theta = thetaOf(p, k)
      fastSolveSet(resolveSet('capped-simplex', theta), theta, {
        maxIterations: 400, tolerance: 0,
        callback: (_k, _g, _f, x) => { worst = Math.max(worst, violation(x, k)); return false }
      })
    }
  }
  t.ok(worst <= 1e-12, `fast solve: worst violation ${worst.toExponential(2)}`)
  const p = randomQp(r, 12, 'well')
  let v = 0, wrongK = 0
  for (let K = 1; K <= 25; K++) {
    const res = solve(p, 4.5, { backward: 'unrolled', maxIterations: K, tolerance: 0 })
    if (res.iterations !== K) wrongK++
    v = Math.max(v, violation(res.x.data, 4.5))
  }
  t.ok(v <= 1e-12, `unrolled x_K, K = 1..25: worst violation ${v.toExponential(2)}`)
  t.equal(wrongK, 0, 'exactly K steps ran')
})

// -------------------------------------------------------------------------------------
// accuracy
// -------------------------------------------------------------------------------------

t.test('x and the objective agree with brute force over the faces (well/ill-conditioned, rank-deficient P)', async (t) => {
  const r = rng(5)
  for (const n of [3, 5, 6]) {
    for (const kind of ['well', 'ill', 'rank'] as const) {
      for (const k of [1, 2.4, n - 0.7]) {
        const p = randomQp(r, n, kind)
        const ref = cappedReference(p, k)
        for (const backward of ['implicit', 'unrolled'] as const) {
          const res = solve(p, k, { backward })
          const fErr = Math.abs(res.objective - ref.f) / Math.max(1, Math.abs(ref.f))
          t.ok(fErr <= 1e-8, `${kind} n=${n} k=${k} ${backward}: objective ${res.objective} vs ${ref.f} (${fErr.toExponential(1)})`)
          t.ok(violation(res.x.data, k) <= 1e-12, `${kind} n=${n} k=${k} ${backward}: feasible`)
          if (kind !== 'rank' && backward === 'implicit') {
            const xErr = maxAbsDiff(res.x.data, ref.x) / Math.max(1e-12, maxAbs(ref.x))
            t.ok(xErr <= 1e-6, `${kind} n=${n} k=${k}: x within ${xErr.toExponential(1)} relative`)
            t.equal(res.status, 'converged')
          }
        }
      }
    }
  }
})

t.test('larger problems: the returned x is certified by an independent oracle (gap ≤ 1e-12 of scale)', async (t) => {
  const r = rng(6)
  for (const [n, k] of [[60, 10.5], [200, 3], [200, 150.25]] as const) {
    for (const kind of ['well', 'ill', 'rank'] as const) {
      const p = randomQp(r, n, kind)
      const res = solve(p, k)
      const { gap, scale } = gapWith(p, res.x.data, (g) => cappedOracleValue(g, k))
      t.ok(gap <= 1e-12 * scale, `${kind} n=${n} k=${k}: gap ${gap.toExponential(2)} (scale ${scale.toExponential(1)}), ${res.status} after ${res.iterations}`)
      t.ok(violation(res.x.data, k) <= 1e-12 * n, 'feasible')
    }
  }
})

// -------------------------------------------------------------------------------------
// derivatives
// -------------------------------------------------------------------------------------

/** jvp and vjp along (dq, dP, dk) against the central difference of `exact` (the brute force or the layer's own exact solve). */
const derivativeCheck = (p: Qp, k: number, exact: (p: Qp, k: number) => ArrayLike<number>, seed: number, alongP = true) => {
  const r = rng(seed), n = p.n
  const res = solve(p, k)
  // (an ill-conditioned P is not perturbed: P ± h dP would lose its PSD-ness)
  const dq = randomVec(r, n), dP = alongP ? symDirection(r, n) : new Array<number>(n * n).fill(0), dk = r.normal(), ct = randomVec(r, n)
  const along = (h: number) => exact({ n, P: addScaled(p.P, h, dP), q: addScaled(p.q, h, dq) }, k + h * dk)
  const fd = central(along, 1e-6)
  const jv = res.jvp({ q: vec(dq), P: matOf(n, dP), k: dk }).data
  const g = res.vjp(vec(ct))
  const vjpDot = dot(g.q.data, dq) + dot(g.P!.data, dP) + g.k! * dk
  const scale = Math.max(1, maxAbs(fd))
  return { res, jvpErr: maxAbsDiff(jv, fd) / scale, vjpErr: Math.abs(vjpDot - dot(ct, fd)) / Math.max(1, Math.abs(dot(ct, fd))) }
}

t.test('jvp and vjp in q, P and k agree with central differences of the brute-force solution', async (t) => {
  const r = rng(7)
  let done = 0
  for (let trial = 0; trial < 16; trial++) {
    const n = 4 + (trial % 3)
    const p = randomQp(r, n, 'well')
    const k = trial % 2 === 0 ? 1.5 + (trial % 3) * 0.7 : 2
    const { res, jvpErr, vjpErr } = derivativeCheck(p, k, (pp, kk) => cappedReference(pp, kk).x, 100 + trial)
    if (res.face?.derivative !== 'exact' || res.face.margin < 1e-5) continue
    done++
    t.ok(jvpErr <= 1e-5, `trial ${trial}: jvp vs FD ${jvpErr.toExponential(2)} (face ${res.face.size}, margin ${res.face.margin.toPrecision(2)})`)
    t.ok(vjpErr <= 1e-5, `trial ${trial}: vjp vs FD ${vjpErr.toExponential(2)}`)
  }
  t.ok(done >= 8, `${done} of 16 trials on stable faces`)
})

t.test('larger n: jvp and vjp agree with central differences of the layer\'s exact solutions; face exact', async (t) => {
  const r = rng(8)
  for (const [n, k, kind] of [[40, 7.5, 'well'], [40, 12.3, 'ill'], [80, 20.5, 'well']] as const) {
    const p = randomQp(r, n, kind)
    const { res, jvpErr, vjpErr } = derivativeCheck(p, k, (pp, kk) => solve(pp, kk).x.data, 200 + n, kind === 'well')
    t.equal(res.face?.derivative, 'exact', `${kind} n=${n}: face ${JSON.stringify(res.face)}`)
    t.ok(jvpErr <= 1e-5, `${kind} n=${n}: jvp vs FD ${jvpErr.toExponential(2)}`)
    t.ok(vjpErr <= 1e-5, `${kind} n=${n}: vjp vs FD ${vjpErr.toExponential(2)}`)
  }
})

t.test('the transpose law ⟨c, J v⟩ = ⟨Jᵀc, v⟩ to 1e-10, both backward modes, P dense tangents', async (t) => {
  const r = rng(9)
  let worst = 0
  for (const n of [6, 30, 90]) {
    for (const kind of ['well', 'ill', 'rank'] as const) {
      for (const backward of ['implicit', 'unrolled'] as const) {
        const p = randomQp(r, n, kind)
        const k = 0.37 * n
        const res = solve(p, k, { backward, ...(backward === 'unrolled' ? { maxIterations: 60 } : {}) })
        const dq = randomVec(r, n), dP = randomVec(r, n * n), dk = r.normal(), ct = randomVec(r, n)
        const jv = res.jvp({ q: vec(dq), P: matOf(n, dP), k: dk }).data
        const g = res.vjp(vec(ct))
        const lhs = dot(ct, jv), rhs = dot(g.q.data, dq) + dot(g.P!.data, dP) + g.k! * dk
        const e = Math.abs(lhs - rhs) / Math.max(1, Math.abs(lhs), Math.abs(rhs))
        worst = Math.max(worst, e)
        t.ok(e <= 1e-10, `${kind} n=${n} ${backward}: |⟨c, Jv⟩ − ⟨Jᵀc, v⟩| = ${e.toExponential(2)}`)
      }
    }
  }
  t.comment(`worst ${worst.toExponential(2)}`)
})

t.test('degenerate points: ties at the oracle, a bound with a zero multiplier, an integer-k vertex', async (t) => {
  // ties: q all equal and P = I: x* = k/n everywhere (interior), from a vertex that had to break ties
  const n = 5, I = Array.from({ length: n * n }, (_, c) => (c % (n + 1) === 0 ? 1 : 0))
  const tie = solve({ n, P: I, q: new Array(n).fill(0.3) }, 2)
  t.ok(maxAbsDiff(tie.x.data, new Array(n).fill(0.4)) <= 1e-12, `ties: x = k/n (${Array.from(tie.x.data).join(', ')})`)
  t.equal(tie.face?.derivative, 'exact')
  // x₀ at 0 with a zero multiplier: P = I, q chosen so that the threshold passes exactly through q₀'s coordinate
  // x = clip(−q − θ, 0, 1), Σ = 1: −q = [0.5, 0.7, 0.8], θ = 0.5 gives [0, 0.2, 0.3]… sum 0.5: use k = 0.5
  const kink = solve({ n: 3, P: [1, 0, 0, 0, 1, 0, 0, 0, 1], q: [-0.5, -0.7, -0.8] }, 0.5)
  t.ok(maxAbsDiff(kink.x.data, [0, 0.2, 0.3]) <= 1e-12, `x = ${Array.from(kink.x.data)}`)
  t.equal(kink.face?.derivative, 'kink', `a coordinate at its bound with a zero multiplier is a kink (${JSON.stringify(kink.face)})`)
  const c = [0.3, -1, 2], v = [1, 0.5, -2]
  const jv = kink.jvp({ q: vec(v) }).data, g = kink.vjp(vec(c)).q.data
  t.ok(Math.abs(dot(c, jv) - dot(g, v)) <= 1e-12, 'at the kink, jvp and vjp are transposes of one map')
  // an integer-k vertex: locally constant in q and P, one-sided in k
  const vert = solve({ n: 3, P: I.slice(0, 9).map((_, c2) => (c2 % 4 === 0 ? 1 : 0)), q: [3, -2, 0.5] }, 2)
  t.same(Array.from(vert.x.data), [0, 1, 1])
  t.equal(vert.face?.derivative, 'kink', 'an integer-k vertex: the rows cannot follow dk')
  t.same(Array.from(vert.jvp({ q: vec([1, 2, 3]) }).data), [0, 0, 0], 'constant in q')
})

t.test('the unrolled derivative tends to the implicit one as the steps converge', async (t) => {
  // pairwise steps differentiate like coordinate descent on the face, along the pairs the
  // forward pass chose: the error falls with the steps until they have converged to
  // rounding and stop moving (the pairs were chosen for x's error, not for the tangent's),
  // here at about 1e-4 of the derivative
  const r = rng(10)
  for (const [n, k] of [[25, 6.5], [40, 3.25]] as const) {
    const p = randomQp(r, n, 'well')
    const imp = solve(p, k)
    const dq = randomVec(r, n), dk = 0.7, ct = randomVec(r, n)
    const ref = imp.jvp({ q: vec(dq), k: dk }).data
    const errs = [10, 20, 40].map((K) => maxAbsDiff(solve(p, k, { backward: 'unrolled', maxIterations: K, tolerance: 0 }).jvp({ q: vec(dq), k: dk }).data, ref))
    t.ok(errs[0]! > errs[1]! && errs[1]! > errs[2]!, `n=${n}: the error falls: ${errs.map((e) => e.toExponential(1)).join(' → ')}`)
    const conv = solve(p, k, { backward: 'unrolled' })
    const a = conv.vjp(vec(ct)).q.data, b = imp.vjp(vec(ct)).q.data
    const cos = dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b))
    t.ok(cos >= 0.999, `n=${n}: converged in ${conv.iterations} steps, cosine of ∇q ${cos.toFixed(8)}`)
  }
})

t.test('polishExact reaches the exact minimizer from the start vertex on ill-conditioned and rank-deficient P', async (t) => {
  const r = rng(11)
  for (const kind of ['ill', 'rank'] as const) {
    for (const n of [6, 40]) {
      const p = { n, P: psd(r, n, kind, 10), q: randomVec(r, n) }
      const k = n / 3 + 0.25
      const theta = thetaOf(p, k)
      const fs = resolveSet('capped-simplex', theta)
      const pol = polishExact(fs, theta, fs.start!(theta.q.data))
      t.ok(pol.certified, `${kind} n=${n}: certified after ${pol.rounds} rounds`)
      const { gap, scale } = gapWith(p, pol.x, (g) => cappedOracleValue(g, k))
      t.ok(gap <= 1e-11 * scale, `${kind} n=${n}: gap ${gap.toExponential(2)}`)
      if (n <= 6) t.ok(Math.abs(objective(p, pol.x) - cappedReference(p, k).f) <= 1e-8 * Math.max(1, Math.abs(objective(p, pol.x))), 'the brute force\'s objective')
    }
  }
})

// -------------------------------------------------------------------------------------
// dfw solve
// -------------------------------------------------------------------------------------

t.test('dfw solve: a capped-simplex problem with vjp (q, k, P) and jvp, and a batch sharing P', async (t) => {
  const P = [[2, 0.5, 0], [0.5, 1, 0.2], [0, 0.2, 1.5]]
  const one = runText(JSON.stringify({ P, q: [-1, 0.3, -0.2], set: { kind: 'capped-simplex', k: 1.5 }, cotangent: [1, -1, 0.5], tangent: { k: 1, q: [0, 1, 0] } }), dfwLayer)
  t.equal(one.code, 0, one.stderr)
  const r = JSON.parse(one.stdout) as ResultJson & { vjp: Record<string, unknown>; face: { derivative: string } }
  t.same(Object.keys(r.vjp).sort(), ['P', 'k', 'q'], 'vjp holds q, P and k only')
  t.equal(r.face.derivative, 'exact')
  const flat = { n: 3, P: P.flat(), q: [-1, 0.3, -0.2] }
  const ref = cappedReference(flat, 1.5)
  t.ok(maxAbsDiff(r.x, ref.x) <= 1e-9, 'x is the brute force\'s')
  const fd = central((h) => cappedReference({ ...flat, q: addScaled(flat.q, h, [0, 1, 0]) }, 1.5 + h).x, 1e-6)
  t.ok(maxAbsDiff(r.jvp!.x, fd) <= 1e-6, 'jvp along (k, q₁) is the central difference')
  const batch = runText(JSON.stringify({ P, set: { kind: 'capped-simplex', k: 1.5 }, problems: [{ q: [-1, 0.3, -0.2] }, { q: [0, 0, 0] }, { q: [1, 2, 3], set: { kind: 'capped-simplex', k: 0.5 } }] }), dfwLayer)
  t.equal(batch.code, 0, batch.stderr)
  const results = (JSON.parse(batch.stdout) as { results: ResultJson[] }).results
  t.equal(results.length, 3)
  t.ok(maxAbsDiff(results[0]!.x, r.x) === 0, 'the shared P gives the single problem\'s x')
  t.ok(Math.abs(results[2]!.x.reduce((a, b) => a + b, 0) - 0.5) <= 1e-12, 'an entry may override the set')
  const bad = runText(JSON.stringify({ P, q: [1, 2, 3], set: { kind: 'capped-simplex', k: 3 } }), dfwLayer)
  t.equal(bad.code, 2)
  t.match(bad.stderr, /"path":"set\.k"/)
  const paper = runText(JSON.stringify({ P, q: [1, 2, 3], set: { kind: 'capped-simplex', k: 1 }, options: { schedule: 'paper' } }), dfwLayer)
  t.match(paper.stderr, /"path":"options\.schedule"/)
})

t.test('directionLinear: dγmax agrees with central differences in x (choice held), and bwd is its transpose', async (t) => {
  const r = rng(12)
  let checked = 0
  for (let trial = 0; trial < 200 && checked < 40; trial++) {
    const n = 4 + (trial % 6), k = 0.5 + (trial % (n - 1))
    const x = new Float64Array(n)
    projectCappedSimplex(Float64Array.from({ length: n }, () => r.normal()), k, x)
    const g = Float64Array.from({ length: n }, () => r.normal())
    const fs = cappedSimplexSet(n, k)
    const d = fs.direction!(x, g)
    if (d === undefined) continue
    const lin = fs.directionLinear!(x, d)
    const dx = Float64Array.from({ length: n }, () => r.normal()), h = 1e-7
    const dp = fs.direction!(Float64Array.from(x, (v, i) => v + h * dx[i]!), g), dm = fs.direction!(Float64Array.from(x, (v, i) => v - h * dx[i]!), g)
    if (dp === undefined || dm === undefined || dp.idx!.join() !== d.idx!.join() || dm.idx!.join() !== d.idx!.join()) continue
    // a kink of γmax (xᵢ = 1 − xⱼ: the two limits tied): one-sided differences disagree
    if (Math.abs((dp.gmax - d.gmax) - (d.gmax - dm.gmax)) > 1e-4 * h * Math.max(1, Math.abs(dp.gmax - dm.gmax) / h)) continue
    checked++
    const fd = (dp.gmax - dm.gmax) / (2 * h)
    const { dgmax } = lin.fwd(dx, { t: 0, k: 0 })
    t.ok(Math.abs(dgmax - fd) <= 1e-6 * Math.max(1, Math.abs(fd)), `dγmax ${dgmax} vs FD ${fd}`)
    const cg = r.normal(), cx = new Float64Array(n)
    lin.bwd(new Float64Array(2), cg, cx, { w: new Float64Array(n), t: 0, k: 0 })
    t.ok(Math.abs(cg * dgmax - dot(cx, dx)) <= 1e-12 * Math.max(1, Math.abs(cg * dgmax)), 'bwd is the transpose of fwd')
  }
  t.ok(checked >= 30, `${checked} directions`)
})
