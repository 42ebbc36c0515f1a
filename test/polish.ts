// Polish: from a short Frank-Wolfe run, the active-set rounds (polytopes) and the secular
// Newton (the l2 ball) reach solveExact's solution; the polished point is feasible and
// never worse than the iterate it started from.
import t from 'tap'
import { dfwLayer, polish, certificate } from '../src/fw/index.js'
import { solveExact } from '../src/fw/exact/ExactSolver.js'
import { SETS, toParams, toProblem, randomPlain, withRadius, rng, relErr, gauge, vec } from './helpers/layerFixtures.js'

t.test('polish after 40 default steps reaches the exact solution (every set, binding and not, n = 8…60)', async (t) => {
  let worst = 0
  for (const set of SETS) {
    for (const [seed, n] of [[1, 8], [2, 20], [3, 60]] as const) {
      for (const factor of [0.2, 0.6, 3]) {
        const p = withRadius(set, randomPlain(rng(1000 * seed + n), n), factor)
        const theta = toParams(p)
        const r = dfwLayer({ backward: 'unrolled', tolerance: 0, maxIterations: 40 })(toProblem(p, set))
        const xp = polish(set, theta, r.x)
        const exact = solveExact(set, theta)
        const cp = certificate(set, theta, xp)
        const err = Math.abs(cp.objective - exact.objective) / Math.max(Math.abs(exact.objective), 1e-300)
        worst = Math.max(worst, err)
        t.ok(err <= 1e-12, `${set} seed=${seed} n=${n} t=${factor}·‖x_unc‖: objective ${err.toExponential(2)} from f* (after 40 steps: ${(Math.abs(r.objective - exact.objective) / Math.abs(exact.objective)).toExponential(2)}); ‖x − x*‖ rel ${relErr(xp.data, exact.x.data).toExponential(2)}`)
        t.ok(cp.gap <= r.gap, `${set} seed=${seed} n=${n}: gap ${cp.gap.toExponential(2)} ≤ the iterate's ${r.gap.toExponential(2)}`)
        const g = gauge(set, xp.data, p.w)
        t.ok(set === 'simplex' ? Math.abs(g - p.t) <= 1e-12 * p.t && xp.data.every((v) => v >= 0) : g <= p.t * (1 + 1e-12), `${set}: feasible (gauge ${g} vs t ${p.t})`)
      }
    }
  }
  t.comment(`worst relative objective error after polish: ${worst.toExponential(2)}`)
})

t.test('projectInto takes the breakpoints as a stable descending sort would: bitwise the sorted threshold, ties, ±0 and wide scales included', async (t) => {
  const { projectInto } = await import('../src/fw/Polish.js')
  // the definition: every breakpoint sorted (descending, ties by index), the threshold's
  // sums taken in that order until it passes the next one
  const sorted = (l1: boolean, y: Float64Array, w: Float64Array, tt: number): Float64Array => {
    const n = y.length
    if (l1) { let s = 0; for (let i = 0; i < n; i++) s += w[i]! * Math.abs(y[i]!); if (s <= tt) return y.slice() }
    const b = Float64Array.from(y, (v, i) => (l1 ? Math.abs(v) / w[i]! : v)), b0 = Math.max(...b)
    const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => (b[j]! > b[i]! ? 1 : b[j]! < b[i]! ? -1 : i - j))
    let s1 = 0, s2 = 0, theta = 0
    for (let k = 0; k < n; k++) {
      const i = order[k]!, wi = l1 ? w[i]! : 1
      s1 += wi * wi * (b[i]! - b0)
      s2 += wi * wi
      theta = (s1 - tt) / s2
      if (theta >= (k + 1 < n ? b[order[k + 1]!]! - b0 : -Infinity)) break
    }
    if (l1) theta = Math.max(theta, -b0)
    return Float64Array.from(b, (bi, i) => { const r = Math.max(bi - b0 - theta, 0); return l1 ? Math.sign(y[i]!) * w[i]! * r : r })
  }
  const r = rng(4242)
  let differing = 0, cases = 0, ties = 0
  for (let c = 0; c < 3000; c++) {
    const n = 1 + (c % 47), l1 = c % 3 !== 0, kind = c % 5
    // kinds: small integers (many ties), 20 decades of scale, ±0 and ties at 0, plain, and
    // tied breakpoints |yᵢ|/wᵢ under weights whose squares round (the order of the sums shows)
    const w = Float64Array.from({ length: n }, () => (kind === 2 || !l1 ? 1 : kind === 4 ? 0.3 + r.uniform() : 0.5 + Math.round(4 * r.uniform())))
    const y = Float64Array.from({ length: n }, (_, i) => kind === 0 ? Math.round(6 * r.uniform() - 3) : kind === 1 ? r.normal() * 10 ** (20 * r.uniform() - 10) : kind === 2 ? (r.uniform() < 0.5 ? -0 : 0) + Math.round(3 * r.uniform()) * (r.uniform() < 0.5 ? -1 : 1) : kind === 4 ? Math.round(1 + 2 * r.uniform()) * w[i]! * (r.uniform() < 0.5 ? -1 : 1) : r.normal())
    const tt = 10 ** (6 * r.uniform() - 3)
    if (new Set(Array.from(y, (v, i) => (l1 ? Math.abs(v) / w[i]! : v))).size < n) ties++
    const out = new Float64Array(n)
    projectInto(l1 ? 'l1' : 'simplex', y, w, tt, out)
    const ref = sorted(l1, y, w, tt)
    if (!out.every((v, i) => Object.is(v, ref[i]))) differing++
    cases++
  }
  t.equal(differing, 0, `${cases} projections (${ties} with tied breakpoints): every entry bitwise the sorted threshold's`)
  t.ok(ties > 500, `the cases exercise ties (${ties})`)
})

t.test('polish returns the iterate itself when it cannot improve it', async (t) => {
  const p = withRadius('l1', randomPlain(rng(4), 6), 0.5)
  const theta = toParams(p)
  const exact = solveExact('l1', theta)
  const again = polish('l1', theta, exact.x)
  t.ok(certificate('l1', theta, again).gap <= certificate('l1', theta, exact.x).gap, 'never worse at the optimum')
  const nan = vec([NaN, 0, 0, 0, 0, 0])
  t.equal(polish('l1', theta, nan), nan, 'a non-finite iterate is returned unchanged')
})

t.test('projectInto is the Euclidean projection: feasible, and (y − x)ᵀ(v − x) ≤ 0 at every vertex v', async (t) => {
  const { projectInto } = await import('../src/fw/Polish.js')
  let worst = -Infinity, cases = 0
  for (const set of ['l1', 'simplex', 'linf'] as const) {
    for (let seed = 0; seed < 30; seed++) {
      const r = rng(7000 + seed + 100 * ['l1', 'simplex', 'linf'].indexOf(set))
      const n = 1 + (seed % 9)
      const y = Float64Array.from({ length: n }, () => 3 * r.normal())
      const w = Float64Array.from({ length: n }, () => (set === 'l1' ? 0.2 + 2 * r.uniform() : 1))
      const tt = seed % 5 === 0 ? 100 : 0.1 + r.uniform()
      const x = new Float64Array(n)
      projectInto(set, y, w, tt, x)
      const g = gauge(set, Array.from(x), Array.from(w))
      t.ok(set === 'simplex' ? Math.abs(g - tt) <= 1e-12 * tt && x.every((v) => v >= 0) : g <= tt * (1 + 1e-12), `${set} seed=${seed}: feasible`)
      // the vertices: ±(t/wᵢ)eᵢ (l1), t eᵢ (simplex), every sign pattern (box, n ≤ 9)
      const vertices: Float64Array[] = []
      if (set === 'linf') for (let m = 0; m < 1 << n; m++) vertices.push(Float64Array.from({ length: n }, (_, i) => ((m >> i) & 1 ? tt : -tt)))
      else for (let i = 0; i < n; i++) for (const s of set === 'l1' ? [1, -1] : [1]) { const v = new Float64Array(n); v[i] = (s * tt) / w[i]!; vertices.push(v) }
      let vi = -Infinity
      for (const v of vertices) {
        let s = 0
        for (let i = 0; i < n; i++) s += (y[i]! - x[i]!) * (v[i]! - x[i]!)
        vi = Math.max(vi, s)
      }
      const scale = Math.max(1, ...Array.from(y, Math.abs)) * tt
      t.ok(vi <= 1e-12 * scale, `${set} seed=${seed}: variational inequality (${vi.toExponential(2)})`)
      worst = Math.max(worst, vi / scale)
      cases++
    }
  }
  t.comment(`${cases} projections, worst (y − x)ᵀ(v − x) / scale ${worst.toExponential(2)}`)
})
