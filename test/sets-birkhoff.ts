/**
 * The Birkhoff polytope of m×m doubly stochastic matrices (src/fw/sets/Birkhoff.ts)
 * against independent references: its oracle and the away vertex against enumerating
 * permutations, the layer's x and objective against brute force over the supports (m ≤ 3;
 * well- and ill-conditioned and rank-deficient P), an independent gap for larger m, its
 * derivatives in q and P against central differences, the transpose law, the most
 * complementary multipliers at degenerate faces (vertices, block supports), the
 * feasibility of every iterate, the linear rate of its steps, the unrolled derivative's
 * convergence, and `dfw solve`'s JSON.
 */
import t from 'tap'
import { rng } from '../src/core/Random.js'
import { dfwLayer } from '../src/fw/Layer.js'
import { resolveSet } from '../src/fw/sets/Sets.js'
import { awayPermutation, birkhoffSet, mostComplementary, permutationMatrix } from '../src/fw/sets/Birkhoff.js'
import { fastSolveSet } from '../src/fw/FastSolve.js'
import { polishExact } from '../src/fw/Polish.js'
import { runText, type ResultJson } from '../src/cli/solve.js'
import {
  type N, type Qp, addScaled, birkhoffOracleValue, birkhoffReference, central, dot, gapWith, matOf, maxAbs, maxAbsDiff, objective,
  permutations, problemOf, psd, randomQp, randomVec, symDirection, vec
} from './helpers/setRefs.js'
import type { Params } from '../src/fw/Problem.js'

const SET = { kind: 'birkhoff' as const }
const solve = (p: Qp, options = {}) => dfwLayer(options)(problemOf(p, SET))

const violation = (x: ArrayLike<number>, m: number): number => {
  let v = 0
  for (let i = 0; i < m; i++) {
    let r = 0, c = 0
    for (let j = 0; j < m; j++) { r += x[i * m + j]!; c += x[j * m + i]!; v = Math.max(v, -x[i * m + j]!) }
    v = Math.max(v, Math.abs(r - 1), Math.abs(c - 1))
  }
  return v
}

const thetaOf = (p: Qp): Params<N> => {
  const pr = problemOf(p, SET)
  return { P: pr.P, q: pr.q, w: vec(new Array(p.n).fill(1)), t: 0 }
}

/** A matching-like problem: P = μ·(a PSD kind), q = −(scores) with a planted permutation. */
const matchingQp = (r: ReturnType<typeof rng>, m: number, kind: 'well' | 'ill' | 'rank', mu: number): Qp => {
  const n = m * m, P = psd(r, n, kind).map((v) => mu * v)
  const perm = Array.from({ length: m }, (_, i) => (i + 1) % m)
  const q = Array.from({ length: n }, (_, c) => r.normal() - (perm[Math.floor(c / m)] === c % m ? 1 : 0))
  return { n, P, q }
}

// -------------------------------------------------------------------------------------
// oracle, away vertex, multipliers
// -------------------------------------------------------------------------------------

t.test('the oracle is the optimal assignment: vertex and value against every permutation (m ≤ 6)', async (t) => {
  const r = rng(1)
  for (let m = 1; m <= 6; m++) {
    const perms = permutations(m), fs = birkhoffSet(m)
    for (let trial = 0; trial < 8; trial++) {
      const g = Array.from({ length: m * m }, () => (trial % 2 === 0 ? Math.floor(3 * r.uniform()) : r.normal()))
      const out = new Float64Array(m * m)
      const v = fs.vertex!(Float64Array.from(g), out)
      const ref = birkhoffOracleValue(g, m, perms)
      t.ok(Math.abs(v - ref) <= 1e-12 * (1 + Math.abs(ref)), `m=${m}: value ${v} vs ${ref}`)
      t.ok(violation(out, m) === 0 && out.every((c) => c === 0 || c === 1), 'a permutation matrix')
      t.ok(Math.abs(dot(out, g) - v) <= 1e-12 * (1 + Math.abs(v)), 'value = ⟨g, vertex⟩')
      t.equal(birkhoffSet(m).lmoValue(Float64Array.from(g)), v, 'lmoValue agrees')
    }
  }
  t.same(Array.from(birkhoffSet(3).start!(new Float64Array(9).fill(1))), Array.from(permutationMatrix(Int32Array.of(0, 1, 2))), 'an all-equal cost gives the identity')
})

t.test('the away vertex maximizes ⟨g, V⟩ over the permutations supported on supp(x)', async (t) => {
  const r = rng(2)
  for (let trial = 0; trial < 40; trial++) {
    const m = 2 + (trial % 4), perms = permutations(m)
    // x: a random convex combination of 1 to 3 permutations
    const x = new Float64Array(m * m)
    const used = 1 + (trial % 3)
    for (let u = 0; u < used; u++) {
      const p = perms[Math.floor(r.uniform() * perms.length)]!
      for (let i = 0; i < m; i++) x[i * m + p[i]!] = x[i * m + p[i]!]! + 1 / used
    }
    const g = Float64Array.from({ length: m * m }, () => r.normal())
    const a = awayPermutation(x, g, m)!
    t.ok(Array.from(a).every((j, i) => x[i * m + j]! > 0), 'supported on supp(x)')
    let best = -Infinity
    for (const p of perms) if (p.every((j, i) => x[i * m + j]! > 0)) best = Math.max(best, p.reduce((s, j, i) => s + g[i * m + j]!, 0))
    const val = Array.from(a).reduce((s, j, i) => s + g[i * m + j]!, 0)
    t.ok(Math.abs(val - best) <= 1e-12 * (1 + Math.abs(best)), `m=${m}: ${val} vs ${best}`)
  }
})

t.test('mostComplementary keeps each component\'s stationarity and maximizes the smallest margin between components', async (t) => {
  const r = rng(3)
  for (let trial = 0; trial < 20; trial++) {
    // two blocks: rows/columns {0..a−1} and {a..m−1}; the free cells are within the blocks
    const m = 4 + (trial % 3), a = 2, n = m * m
    const free: number[] = []
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if ((i < a) === (j < a)) free.push(i * m + j)
    const g = Float64Array.from({ length: n }, () => r.normal())
    const nu = Float64Array.from({ length: 2 * m }, () => r.normal())
    const out = mostComplementary(m, g, Int32Array.from(free), nu)
    const lin = (v: Float64Array, c: number) => g[c]! + v[Math.floor(c / m)]! + v[m + (c % m)]!
    t.ok(free.every((c) => Math.abs(lin(out, c) - lin(nu, c)) <= 1e-12), 'free cells keep g + Eᵀν')
    // the best common shift by brute force: block A shifted by s: cells A→B gain s, B→A lose s
    let wAB = Infinity, wBA = Infinity
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
      if ((i < a) === (j < a)) continue
      if (i < a) wAB = Math.min(wAB, lin(nu, i * m + j)); else wBA = Math.min(wBA, lin(nu, i * m + j))
    }
    let got = Infinity
    for (let c = 0; c < n; c++) if (!free.includes(c)) got = Math.min(got, lin(out, c))
    t.ok(Math.abs(got - 0.5 * (wAB + wBA)) <= 1e-12, `the best margin ${got} = (w_AB + w_BA)/2 = ${0.5 * (wAB + wBA)}`)
  }
})

// -------------------------------------------------------------------------------------
// feasibility and the rate
// -------------------------------------------------------------------------------------

t.test('every iterate of the default schedule lies in the set (fast solve and the unrolled fold)', async (t) => {
  const r = rng(4)
  let worst = 0
  for (const m of [2, 4, 7]) {
    for (const kind of ['well', 'ill', 'rank'] as const) {
      for (const mu of [1, 0.05]) {
        const p = matchingQp(r, m, kind, mu)
        const theta = thetaOf(p)
        fastSolveSet(resolveSet('birkhoff', theta), theta, {
          maxIterations: 300, tolerance: 0,
          callback: (_k, _g, _f, x) => { worst = Math.max(worst, violation(x, m)); return false }
        })
      }
    }
  }
  t.ok(worst <= 1e-12, `fast solve: worst violation ${worst.toExponential(2)}`)
  const p = matchingQp(r, 4, 'well', 0.3)
  let v = 0
  for (let K = 1; K <= 25; K++) v = Math.max(v, violation(solve(p, { backward: 'unrolled', maxIterations: K, tolerance: 0 }).x.data, 4))
  t.ok(v <= 1e-12, `unrolled x_K, K = 1..25: worst violation ${v.toExponential(2)}`)
})

t.test('the decomposition-invariant steps converge linearly (gap ≤ 1e-12·|f| within 20n steps)', async (t) => {
  const r = rng(5)
  for (const m of [4, 8, 12]) {
    for (const mu of [1, 0.05]) {
      const p = matchingQp(r, m, 'well', mu)
      const theta = thetaOf(p)
      const res = fastSolveSet(resolveSet('birkhoff', theta), theta, { maxIterations: 20 * m * m, tolerance: 1e-12 })
      t.ok(res.converged, `m=${m} μ=${mu}: gap ${res.gap.toExponential(2)} after ${res.iterations} steps`)
    }
  }
})

// -------------------------------------------------------------------------------------
// accuracy
// -------------------------------------------------------------------------------------

t.test('x and the objective agree with brute force over the supports (m = 2, 3; well/ill/rank P)', async (t) => {
  const r = rng(6)
  for (const m of [2, 3]) {
    for (const kind of ['well', 'ill', 'rank'] as const) {
      for (const mu of [1, 0.1]) {
        const p = matchingQp(r, m, kind, mu)
        const ref = birkhoffReference(p, m)
        for (const backward of ['implicit', 'unrolled'] as const) {
          const res = solve(p, { backward })
          const fErr = Math.abs(res.objective - ref.f) / Math.max(1, Math.abs(ref.f))
          const tag = `${kind} m=${m} μ=${mu} ${backward}`
          t.ok(fErr <= 1e-8, `${tag}: objective ${res.objective} vs ${ref.f} (${fErr.toExponential(1)})`)
          t.ok(violation(res.x.data, m) <= 1e-12, `${tag}: feasible`)
          if (kind !== 'rank' && backward === 'implicit') {
            t.ok(maxAbsDiff(res.x.data, ref.x) <= 1e-6 * Math.max(1e-12, maxAbs(ref.x)), `${tag}: x within 1e-6`)
            t.equal(res.status, 'converged')
          }
        }
      }
    }
  }
})

t.test('larger m: the returned x is certified by an independent gap over every permutation', async (t) => {
  const r = rng(7)
  for (const m of [5, 7]) {
    const perms = permutations(m)
    for (const kind of ['well', 'ill', 'rank'] as const) {
      for (const mu of [1, 0.02]) {
        const p = matchingQp(r, m, kind, mu)
        const res = solve(p)
        const { gap, scale } = gapWith(p, res.x.data, (g) => birkhoffOracleValue(g, m, perms))
        t.ok(gap <= 1e-12 * scale, `${kind} m=${m} μ=${mu}: gap ${gap.toExponential(2)}, ${res.status} after ${res.iterations}, face ${JSON.stringify(res.face)}`)
        t.ok(violation(res.x.data, m) <= 1e-12, 'feasible')
      }
    }
  }
})

// -------------------------------------------------------------------------------------
// derivatives
// -------------------------------------------------------------------------------------

const derivativeCheck = (p: Qp, exact: (p: Qp) => ArrayLike<number>, seed: number, alongP = true) => {
  const r = rng(seed), n = p.n
  const res = solve(p)
  const dq = randomVec(r, n), dP = alongP ? symDirection(r, n) : new Array<number>(n * n).fill(0), ct = randomVec(r, n)
  const fd = central((h) => exact({ n, P: addScaled(p.P, h, dP), q: addScaled(p.q, h, dq) }), 1e-6)
  const jv = res.jvp({ q: vec(dq), P: matOf(n, dP) }).data
  const g = res.vjp(vec(ct))
  const vjpDot = dot(g.q.data, dq) + dot(g.P!.data, dP)
  return { res, jvpErr: maxAbsDiff(jv, fd) / Math.max(1, maxAbs(fd)), vjpErr: Math.abs(vjpDot - dot(ct, fd)) / Math.max(1, Math.abs(dot(ct, fd))) }
}

t.test('jvp and vjp in q and P agree with central differences of the brute-force solution (m = 3)', async (t) => {
  const r = rng(8)
  let done = 0
  for (let trial = 0; trial < 12; trial++) {
    const p = matchingQp(r, 3, 'well', trial % 2 === 0 ? 1 : 0.3)
    const { res, jvpErr, vjpErr } = derivativeCheck(p, (pp) => birkhoffReference(pp, 3).x, 100 + trial)
    if (res.face?.derivative !== 'exact' || res.face.margin < 1e-5) continue
    done++
    t.ok(jvpErr <= 1e-5, `trial ${trial}: jvp vs FD ${jvpErr.toExponential(2)} (face ${res.face.size}, margin ${res.face.margin.toPrecision(2)})`)
    t.ok(vjpErr <= 1e-5, `trial ${trial}: vjp vs FD ${vjpErr.toExponential(2)}`)
  }
  t.ok(done >= 8, `${done} of 12 trials on stable faces`)
})

t.test('larger m: jvp and vjp agree with central differences of the layer\'s exact solutions; face exact', async (t) => {
  const r = rng(9)
  for (const [m, kind, mu] of [[6, 'well', 1], [6, 'ill', 1], [8, 'well', 0.1], [8, 'well', 6]] as const) {
    const p = matchingQp(r, m, kind, mu)
    const { res, jvpErr, vjpErr } = derivativeCheck(p, (pp) => solve(pp).x.data, 200 + m, kind === 'well')
    t.equal(res.face?.derivative, 'exact', `${kind} m=${m}: face ${JSON.stringify(res.face)}`)
    t.ok(jvpErr <= 1e-5, `${kind} m=${m}: jvp vs FD ${jvpErr.toExponential(2)}`)
    t.ok(vjpErr <= 1e-5, `${kind} m=${m}: vjp vs FD ${vjpErr.toExponential(2)}`)
  }
})

t.test('the transpose law ⟨c, J v⟩ = ⟨Jᵀc, v⟩ to 1e-10, both backward modes', async (t) => {
  const r = rng(10)
  for (const m of [3, 6, 9]) {
    for (const kind of ['well', 'ill', 'rank'] as const) {
      for (const backward of ['implicit', 'unrolled'] as const) {
        const p = matchingQp(r, m, kind, 0.3)
        const n = m * m
        const res = solve(p, { backward, ...(backward === 'unrolled' ? { maxIterations: 60 } : {}) })
        const dq = randomVec(r, n), dP = randomVec(r, n * n), ct = randomVec(r, n)
        const jv = res.jvp({ q: vec(dq), P: matOf(n, dP) }).data
        const g = res.vjp(vec(ct))
        const lhs = dot(ct, jv), rhs = dot(g.q.data, dq) + dot(g.P!.data, dP)
        const e = Math.abs(lhs - rhs) / Math.max(1, Math.abs(lhs), Math.abs(rhs))
        t.ok(e <= 1e-10, `${kind} m=${m} ${backward}: ${e.toExponential(2)}`)
      }
    }
  }
})

t.test('degenerate faces: a vertex and a block support are certified and exact; a tie between assignments is not', async (t) => {
  const m = 4, n = 16
  const I = Array.from({ length: n * n }, (_, c) => (c % (n + 1) === 0 ? 1 : 0))
  // a vertex: a strong planted permutation, small P
  const perm = [2, 0, 3, 1]
  const q = Array.from({ length: n }, (_, c) => (perm[Math.floor(c / m)] === c % m ? -5 : 0))
  const vert = solve({ n, P: I.map((v) => 0.1 * v), q })
  t.same(Array.from(vert.x.data), Array.from(permutationMatrix(Int32Array.from(perm))), 'x is the planted permutation')
  t.equal(vert.status, 'converged')
  t.equal(vert.face?.derivative, 'exact', `a vertex with a strictly complementary multiplier (${JSON.stringify(vert.face)})`)
  t.ok(maxAbs(vert.jvp({ q: vec(randomVec(rng(1), n)) }).data) <= 1e-12, 'locally constant (to the face solve\'s rounding)')
  // a block support: two 2×2 blocks, each with an interior solution
  const qb = Array.from({ length: n }, (_, c) => ((Math.floor(c / m) < 2) === (c % m < 2) ? [0.1, -0.2, 0.3, 0][c % 4]! : 3))
  const block = solve({ n, P: I, q: qb })
  const x = block.x.data
  t.ok([2, 3, 6, 7, 8, 9, 12, 13].every((c) => x[c] === 0), 'the off-block cells are 0')
  t.equal(block.face?.derivative, 'exact', `a support in two components (${JSON.stringify(block.face)})`)
  const ref = central((h) => solve({ n, P: I, q: addScaled(qb, h, [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }).x.data, 1e-6)
  t.ok(maxAbsDiff(block.jvp({ q: vec([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }).data, ref) <= 1e-6, 'its jvp is the central difference')
  // a tie: P = 0 and a constant q: every point is a minimizer, and the vertex reached has a zero margin
  const tie = solve({ n: 4, P: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], q: [1, 1, 1, 1] })
  t.not(tie.face?.derivative, 'exact', `P = 0 with a constant q (${JSON.stringify(tie.face)})`)
  const c = randomVec(rng(2), 4), v = randomVec(rng(3), 4)
  t.ok(Math.abs(dot(c, tie.jvp({ q: vec(v) }).data) - dot(tie.vjp(vec(c)).q.data, v)) <= 1e-12, 'still transposes of one map')
  // m = 1: the single point [1]
  const one = solve({ n: 1, P: [2], q: [-7] })
  t.same(Array.from(one.x.data), [1])
})

t.test('the unrolled derivative tends to the implicit one as the steps converge', async (t) => {
  const r = rng(11)
  for (const m of [4, 6]) {
    const p = matchingQp(r, m, 'well', 1)
    const n = m * m
    const imp = solve(p)
    t.ok(imp.face!.size > 2, `m=${m}: a face of dimension ${imp.face!.size}`)
    const dq = randomVec(r, n), ct = randomVec(r, n)
    const ref = imp.jvp({ q: vec(dq) }).data
    const errs = [5, 15, 45].map((K) => maxAbsDiff(solve(p, { backward: 'unrolled', maxIterations: K, tolerance: 0 }).jvp({ q: vec(dq) }).data, ref))
    t.ok(errs[2]! < errs[0]!, `m=${m}: the error falls: ${errs.map((e) => e.toExponential(1)).join(' → ')}`)
    const conv = solve(p, { backward: 'unrolled' })
    const a = conv.vjp(vec(ct)).q.data, b = imp.vjp(vec(ct)).q.data
    const cos = dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b))
    t.ok(cos >= 0.999, `m=${m}: converged in ${conv.iterations} steps, cosine of ∇q ${cos.toFixed(8)}`)
  }
})

t.test('polishExact reaches the exact minimizer from the start vertex on ill-conditioned and rank-deficient P', async (t) => {
  const r = rng(12)
  for (const kind of ['ill', 'rank'] as const) {
    for (const m of [3, 6]) {
      const p = matchingQp(r, m, kind, 1)
      const theta = thetaOf(p)
      const fs = resolveSet('birkhoff', theta)
      const pol = polishExact(fs, theta, fs.start!(theta.q.data))
      t.ok(pol.certified, `${kind} m=${m}: certified after ${pol.rounds} rounds`)
      const { gap, scale } = gapWith(p, pol.x, (g) => birkhoffOracleValue(g, m))
      t.ok(gap <= 1e-11 * scale, `${kind} m=${m}: gap ${gap.toExponential(2)}`)
      if (m === 3) t.ok(Math.abs(objective(p, pol.x) - birkhoffReference(p, 3).f) <= 1e-8 * Math.max(1, Math.abs(objective(p, pol.x))), 'the brute force\'s objective')
    }
  }
})

// -------------------------------------------------------------------------------------
// dfw solve
// -------------------------------------------------------------------------------------

t.test('dfw solve: a birkhoff problem with vjp (q, P only) and jvp, and a batch sharing P', async (t) => {
  const p = matchingQp(rng(13), 3, 'well', 1)
  const P = Array.from({ length: 9 }, (_, i) => p.P.slice(i * 9, i * 9 + 9))
  const one = runText(JSON.stringify({ P, q: p.q, set: { kind: 'birkhoff' }, cotangent: randomVec(rng(14), 9), tangent: { q: randomVec(rng(15), 9) } }), dfwLayer)
  t.equal(one.code, 0, one.stderr)
  const r = JSON.parse(one.stdout) as ResultJson & { vjp: Record<string, unknown>; face: { derivative: string } }
  t.same(Object.keys(r.vjp).sort(), ['P', 'q'], 'vjp holds q and P only')
  t.ok(maxAbsDiff(r.x, birkhoffReference(p, 3).x) <= 1e-9, 'x is the brute force\'s')
  const batch = runText(JSON.stringify({ P, set: { kind: 'birkhoff' }, problems: [{ q: p.q }, { q: p.q.map((v) => -v) }] }), dfwLayer)
  t.equal(batch.code, 0, batch.stderr)
  const results = (JSON.parse(batch.stdout) as { results: ResultJson[] }).results
  t.ok(maxAbsDiff(results[0]!.x, r.x) === 0, 'the shared P gives the single problem\'s x')
  t.ok(maxAbsDiff(results[1]!.x, birkhoffReference({ ...p, q: p.q.map((v) => -v) }, 3).x) <= 1e-9, 'the second entry')
  t.match(runText(JSON.stringify({ P: [[1, 0], [0, 1]], q: [1, 2], set: { kind: 'birkhoff' } }), dfwLayer).stderr, /"path":"set"/)
  t.match(runText(JSON.stringify({ P, q: p.q, t: 1, set: { kind: 'birkhoff' } }), dfwLayer).stderr, /"path":"t"/)
  t.match(runText(JSON.stringify({ P, q: p.q, set: { kind: 'birkhoff' }, tangent: { t: 1 } }), dfwLayer).stderr, /"path":"tangent\.t"/)
})

t.test('directionLinear: dγmax is the away cell\'s dx, bwd its transpose; the Frank-Wolfe fallback off a valid support', async (t) => {
  const r = rng(16)
  for (let trial = 0; trial < 20; trial++) {
    const m = 3 + (trial % 3), n = m * m, perms = permutations(m)
    const x = new Float64Array(n)
    for (let u = 0; u < 3; u++) { const p = perms[Math.floor(r.uniform() * perms.length)]!; const w = [0.5, 0.3, 0.2][u]!; for (let i = 0; i < m; i++) x[i * m + p[i]!] = x[i * m + p[i]!]! + w }
    const g = Float64Array.from({ length: n }, () => r.normal())
    const fs = birkhoffSet(m)
    const d = fs.direction!(x, g)
    if (d === undefined) continue
    t.ok(d.snap!.length >= 1 && d.snap!.every(([c, v]) => v === 0 && x[c] === d.gmax), 'the cells at γmax snap to 0')
    const lin = fs.directionLinear!(x, d)
    const dx = Float64Array.from({ length: n }, () => r.normal())
    const { dgmax } = lin.fwd(dx, { t: 0, k: 0 })
    t.equal(dgmax, dx[d.snap![0]![0]]!, 'dγmax = dx at the first away cell at the minimum')
    const cx = new Float64Array(n), cg = r.normal()
    lin.bwd(new Float64Array(d.vals.length), cg, cx, { w: new Float64Array(n), t: 0, k: 0 })
    t.ok(Math.abs(cg * dgmax - dot(cx, dx)) <= 1e-15, 'bwd is the transpose')
  }
  // a support with no permutation (not a feasible x: an empty row): the Frank-Wolfe step towards S
  const m = 3, x = Float64Array.of(0.5, 0.5, 0, 0.5, 0.5, 0, 0, 0, 0), g = Float64Array.from({ length: 9 }, (_, c) => Math.sin(c))
  t.equal(awayPermutation(x, g, m), undefined, 'no permutation inside the support')
  const fs = birkhoffSet(m), d = fs.direction!(x, g)!
  t.equal(d.idx, undefined, 'a dense direction')
  t.equal(d.gmax, 1)
  const s = new Float64Array(9)
  fs.vertex!(g, s)
  t.same(Array.from(d.vals), Array.from(s, (v, c) => v - x[c]!), 'u = S − x')
  const lin = fs.directionLinear!(x, d)
  const dx = Float64Array.from({ length: 9 }, (_, c) => Math.cos(c)), cv = Float64Array.from({ length: 9 }, (_, c) => c - 4)
  const { dvals, dgmax } = lin.fwd(dx, { t: 0, k: 0 })
  t.equal(dgmax, 0)
  const cx = new Float64Array(9)
  lin.bwd(cv, 0, cx, { w: new Float64Array(9), t: 0, k: 0 })
  t.ok(Math.abs(dot(cv, dvals) - dot(cx, dx)) <= 1e-14, 'its linearization (du = −dx) and transpose')
  t.same(Array.from(lin.fwd(undefined, { t: 0, k: 0 }).dvals), new Array(9).fill(0), 'no tangent of x')
})
