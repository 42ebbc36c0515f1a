/**
 * The assignment solver against brute force over all permutations (m ≤ 7) on random,
 * integer-tied, all-equal, negative, huge and tiny costs; its dual certificate at larger
 * m; the documented tie-breaking; the warm start; the edge sizes and the refusals.
 */
import t from 'tap'
import { assignment, assignmentFrom, type Assignment } from '../src/core/Assignment.js'
import { rng, type Rng } from '../src/core/Random.js'
import { leavesInputs } from './helpers/foundation.js'

const EPS = 2 ** -52

// -------------------------------------------------------------------------------------
// references
// -------------------------------------------------------------------------------------

/** Every permutation of 0..m−1 (Heap's algorithm). */
const permutations = (m: number): number[][] => {
  const out: number[][] = []
  const a = Array.from({ length: m }, (_, i) => i)
  const c = new Array<number>(m).fill(0)
  out.push(a.slice())
  let i = 0
  while (i < m) {
    if (c[i]! < i) {
      const k = i % 2 === 0 ? 0 : c[i]!
      const tmp = a[k]!; a[k] = a[i]!; a[i] = tmp
      out.push(a.slice())
      c[i] = c[i]! + 1
      i = 0
    } else { c[i] = 0; i++ }
  }
  return out
}

/** The cost of a permutation, summed exactly enough (Neumaier) to compare with `value`. */
const costOf = (c: Float64Array, m: number, p: ArrayLike<number>): number => {
  let s = 0, comp = 0
  for (let i = 0; i < m; i++) {
    const x = c[i * m + p[i]!]!
    const u = s + x
    comp += Math.abs(s) >= Math.abs(x) ? (s - u) + x : (x - u) + s
    s = u
  }
  return s + comp
}

/** The optimum and the best value among permutations other than the optimal ones by more than `sep`. */
const bruteForce = (c: Float64Array, m: number): { best: number; bestPerms: number[][]; values: number[] } => {
  const perms = permutations(m)
  const values = perms.map((p) => costOf(c, m, p))
  const best = Math.min(...values)
  return { best, bestPerms: perms.filter((_, k) => values[k] === best), values }
}

const maxAbs = (c: Float64Array): number => c.reduce((a, x) => Math.max(a, Math.abs(x)), 0)

const isPermutation = (p: Int32Array, m: number): boolean =>
  p.length === m && new Set(Array.from(p)).size === m && Array.from(p).every((j) => j >= 0 && j < m)

/** Feasibility violation, worst slack on the matching and the duality gap, raw. */
const certificate = (c: Float64Array, m: number, a: Assignment): { viol: number; slack: number; gap: number } => {
  let viol = 0, slack = 0, su = 0
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) viol = Math.max(viol, a.u[i]! + a.v[j]! - c[i * m + j]!)
    slack = Math.max(slack, Math.abs(c[i * m + a.perm[i]!]! - a.u[i]! - a.v[a.perm[i]!]!))
    su += a.u[i]! + a.v[i]!
  }
  return { viol, slack, gap: Math.abs(a.value - su) }
}

const randomCost = (r: Rng, m: number, f: (r: Rng, i: number, j: number) => number): Float64Array => {
  const c = new Float64Array(m * m)
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) c[i * m + j] = f(r, i, j)
  return c
}

const FAMILIES: ReadonlyArray<{ readonly name: string; readonly f: (r: Rng, i: number, j: number) => number }> = [
  { name: 'normal', f: (r) => r.normal() },
  { name: 'integers in {0, 1, 2}', f: (r) => Math.floor(3 * r.uniform()) },
  { name: 'negative', f: (r) => -5 - 10 * r.uniform() },
  { name: 'huge (±1e150)', f: (r) => 1e150 * r.normal() },
  { name: 'huge (±1e300)', f: (r) => 1e300 * r.normal() },
  { name: 'tiny (1e-300)', f: (r) => 1e-300 * r.normal() },
  { name: 'subnormal multiples', f: (r) => 5e-324 * Math.floor(100 * r.uniform()) },
  { name: 'mixed magnitudes', f: (r) => r.normal() * 10 ** Math.floor(24 * r.uniform() - 12) },
  { name: 'rank one (product costs)', f: (_r, i, j) => (i + 1) * (j + 2) }
]

// -------------------------------------------------------------------------------------
// optimality against brute force
// -------------------------------------------------------------------------------------

t.test('m ≤ 7: the value is the brute-force optimum and the permutation is an optimal one', async (t) => {
  const r = rng(101)
  let cases = 0, bad = 0
  for (const fam of FAMILIES) {
    for (let m = 1; m <= 7; m++) {
      for (let rep = 0; rep < (m <= 4 ? 6 : 2); rep++) {
        const c = randomCost(r, m, fam.f)
        const a = assignment(c, m)
        const { best } = bruteForce(c, m)
        const C = maxAbs(c)
        const tol = 16 * m * m * EPS * C
        cases++
        const own = costOf(c, m, a.perm)
        const ok = isPermutation(a.perm, m) && own === a.value && a.value - best <= tol && best <= own
        if (!ok) { bad++; t.fail(`${fam.name}, m = ${m}`, { perm: Array.from(a.perm), value: a.value, best }) }
      }
    }
  }
  t.equal(bad, 0, `${cases} cases`)
})

t.test('m ≤ 7, integer costs with many ties: exactly optimal, and the certificate is exact', async (t) => {
  const r = rng(7)
  for (let m = 1; m <= 7; m++) {
    for (let rep = 0; rep < 5; rep++) {
      const c = randomCost(r, m, (r) => Math.floor(4 * r.uniform()) - 2)
      const a = assignment(c, m)
      const { best, bestPerms } = bruteForce(c, m)
      t.equal(a.value, best, `m = ${m}: value`)
      t.ok(bestPerms.some((p) => p.every((j, i) => a.perm[i] === j)), `m = ${m}: an optimal permutation`)
      const cert = certificate(c, m, a)
      t.same([cert.viol, cert.slack, cert.gap], [0, 0, 0], `m = ${m}: feasible, tight, no gap, exactly`)
    }
  }
})

t.test('when the optimum is unique by a margin, the permutation is the brute-force one', async (t) => {
  const r = rng(55)
  let checked = 0
  for (let rep = 0; rep < 60; rep++) {
    const m = 2 + (rep % 6)
    const c = randomCost(r, m, (r) => r.normal())
    const { best, values, bestPerms } = bruteForce(c, m)
    const second = Math.min(...values.filter((x) => x !== best))
    if (!(second - best > 1e-9) || bestPerms.length !== 1) continue
    checked++
    t.same(Array.from(assignment(c, m).perm), bestPerms[0], `m = ${m}`)
  }
  t.ok(checked > 40, `${checked} well-separated cases`)
})

t.test('all-equal costs give the identity and value m·c exactly', async (t) => {
  for (const m of [1, 2, 5, 9, 40]) {
    for (const x of [0, 3, -7.25, 1e200, -1e-310]) {
      const a = assignment(new Float64Array(m * m).fill(x), m)
      t.same(Array.from(a.perm), Array.from({ length: m }, (_, i) => i), `m = ${m}, c = ${x}: identity`)
      t.equal(a.value, m * x, `m = ${m}, c = ${x}: value`)
    }
  }
})

// -------------------------------------------------------------------------------------
// the dual certificate at larger m
// -------------------------------------------------------------------------------------

t.test('m = 30, 100: dual feasible, tight on the matching, value = Σu + Σv (tolerance 8m·ε·C)', async (t) => {
  const r = rng(2024)
  for (const m of [30, 100]) {
    for (const fam of FAMILIES) {
      const c = randomCost(r, m, fam.f)
      const a = assignment(c, m)
      const C = maxAbs(c)
      const cert = certificate(c, m, a)
      t.ok(isPermutation(a.perm, m), `${fam.name}, m = ${m}: a permutation`)
      t.ok(cert.viol <= 8 * m * EPS * C, `${fam.name}, m = ${m}: uᵢ + vⱼ ≤ cᵢⱼ`, { viol: cert.viol, C })
      t.ok(cert.slack <= 8 * m * EPS * C, `${fam.name}, m = ${m}: tight on the matching`, { slack: cert.slack, C })
      t.ok(cert.gap <= 8 * m * m * EPS * C, `${fam.name}, m = ${m}: value = Σu + Σv`, { gap: cert.gap, C })
      t.equal(a.value, costOf(c, m, a.perm), `${fam.name}, m = ${m}: value is the matching's cost`)
    }
  }
})

t.test('m = 100 integer costs: the certificate is exact', async (t) => {
  const r = rng(3)
  for (const f of [(r: Rng) => Math.floor(5 * r.uniform()), (_r: Rng, i: number, j: number) => Math.abs(i - j) % 4]) {
    const c = randomCost(r, 100, f)
    const cert = certificate(c, 100, assignment(c, 100))
    t.same([cert.viol, cert.slack, cert.gap], [0, 0, 0])
  }
})

t.test('a cost matrix whose optimum is a known permutation (a shuffled diagonal of zeros on positive costs)', async (t) => {
  const r = rng(8)
  const m = 60
  const sigma = Array.from({ length: m }, (_, i) => i)
  for (let i = m - 1; i > 0; i--) { const j = Math.floor(r.uniform() * (i + 1)); const x = sigma[i]!; sigma[i] = sigma[j]!; sigma[j] = x }
  const c = randomCost(r, m, (r, i, j) => (sigma[i] === j ? 0 : 1 + r.uniform()))
  const a = assignment(c, m)
  t.same(Array.from(a.perm), sigma)
  t.equal(a.value, 0)
})

// -------------------------------------------------------------------------------------
// determinism and scaling
// -------------------------------------------------------------------------------------

t.test('ties: equal inputs give bit-identical results, and the documented rule picks the permutation', async (t) => {
  const r = rng(77)
  const c = randomCost(r, 40, (r) => Math.floor(2 * r.uniform()))
  const a = assignment(c, 40), b = assignment(Float64Array.from(c), 40)
  t.same(Array.from(a.perm), Array.from(b.perm), 'perm')
  t.same(Array.from(a.u), Array.from(b.u), 'u')
  t.same(Array.from(a.v), Array.from(b.v), 'v')
  // Greedy: rows 0, 1 take columns 0, 1; row 2 searches: column 0 is settled (row 0),
  // which reaches column 2 at distance 0; column 2 is free and beats the matched column 1.
  t.same(Array.from(assignment(Float64Array.from([0, 0, 0, 0, 0, 0, 0, 0, 9]), 3).perm), [2, 1, 0])
  // Two optimal matchings (identity and the swap of rows 0, 1): the greedy start takes the identity.
  t.same(Array.from(assignment(Float64Array.from([0, 0, 1, 0, 0, 1, 1, 1, 0]), 3).perm), [0, 1, 2])
})

t.test('scaling the costs by a power of two scales the potentials exactly and keeps the permutation', async (t) => {
  const r = rng(12)
  const m = 25
  const c = randomCost(r, m, (r) => r.normal())
  const a = assignment(c, m)
  for (const k of [-1000, -60, 3, 700]) {
    const s = 2 ** k
    const b = assignment(c.map((x) => x * s), m)
    t.same(Array.from(b.perm), Array.from(a.perm), `2^${k}: perm`)
    t.ok(b.u.every((x, i) => x === a.u[i]! * s) && b.v.every((x, j) => x === a.v[j]! * s), `2^${k}: potentials`)
  }
})

t.test('adding a constant to a row or a column keeps the permutation optimal and shifts the value', async (t) => {
  const r = rng(31)
  const m = 20
  const c = randomCost(r, m, (r) => Math.floor(10 * r.uniform()))
  const a = assignment(c, m)
  const d = Float64Array.from(c)
  for (let j = 0; j < m; j++) d[3 * m + j] = d[3 * m + j]! + 100
  for (let i = 0; i < m; i++) d[i * m + 5] = d[i * m + 5]! - 40
  const b = assignment(d, m)
  t.equal(b.value, a.value + 60)
  t.equal(costOf(c, m, b.perm), a.value, "b's permutation is optimal for c too")
})

// -------------------------------------------------------------------------------------
// warm start
// -------------------------------------------------------------------------------------

t.test('assignmentFrom: from the previous potentials, optimal on a perturbed matrix with a valid certificate', async (t) => {
  const r = rng(404)
  for (const m of [1, 7, 50, 120]) {
    const c = randomCost(r, m, (r) => r.normal())
    const prev = assignment(c, m)
    for (const eps of [0, 1e-6, 1e-2, 1]) {
      const c2 = c.map((x) => x + eps * r.normal())
      const w = assignmentFrom(c2, m, prev.v), cold = assignment(c2, m)
      const C = maxAbs(c2)
      const cert = certificate(c2, m, w)
      t.ok(isPermutation(w.perm, m), `m = ${m}, δ = ${eps}: a permutation`)
      t.ok(Math.abs(w.value - cold.value) <= 16 * m * m * EPS * C, `m = ${m}, δ = ${eps}: the cold value`, { w: w.value, cold: cold.value })
      t.ok(cert.viol <= 8 * m * EPS * C && cert.slack <= 8 * m * EPS * C, `m = ${m}, δ = ${eps}: certificate`, cert)
    }
  }
})

t.test('assignmentFrom: with unrelated or extreme potentials it is still optimal', async (t) => {
  const r = rng(5)
  const m = 6
  const c = randomCost(r, m, (r) => Math.floor(5 * r.uniform()))
  const { best } = bruteForce(c, m)
  for (const v0 of [new Float64Array(m), Float64Array.from({ length: m }, (_, j) => 1e3 * (j - 2)), Float64Array.from({ length: m }, () => r.normal())]) {
    t.equal(assignmentFrom(c, m, v0).value, best)
  }
})

// -------------------------------------------------------------------------------------
// edges and refusals
// -------------------------------------------------------------------------------------

t.test('m = 0 and m = 1', async (t) => {
  const z = assignment(new Float64Array(0), 0)
  t.same([z.perm.length, z.value, z.u.length, z.v.length], [0, 0, 0, 0])
  const o = assignment(Float64Array.from([-3.5]), 1)
  t.same(Array.from(o.perm), [0])
  t.equal(o.value, -3.5)
  t.equal(o.u[0]! + o.v[0]!, -3.5)
  t.equal(assignmentFrom(new Float64Array(0), 0, new Float64Array(0)).value, 0)
})

t.test('non-finite costs, wrong sizes and bad warm starts are refused with a RangeError naming the entry', async (t) => {
  t.throws(() => assignment(Float64Array.from([1, 2, NaN, 4]), 2), { name: 'RangeError', message: /cost\[1\]\[0\]/ })
  t.throws(() => assignment(Float64Array.from([1, Infinity, 3, 4]), 2), { name: 'RangeError', message: /cost\[0\]\[1\]/ })
  t.throws(() => assignment(Float64Array.from([1, 2, 3, -Infinity]), 2), RangeError)
  t.throws(() => assignment(new Float64Array(5), 2), { name: 'RangeError', message: /length 5/ })
  t.throws(() => assignment(new Float64Array(4), 2.5), RangeError)
  t.throws(() => assignment(new Float64Array(0), -1), RangeError)
  t.throws(() => assignmentFrom(new Float64Array(4), 2, new Float64Array(3)), { name: 'RangeError', message: /v0/ })
  t.throws(() => assignmentFrom(new Float64Array(4), 2, Float64Array.from([0, NaN])), { name: 'RangeError', message: /v0\[1\]/ })
})

t.test('assignment and assignmentFrom leave their arguments unchanged', async (t) => {
  const r = rng(1)
  const c = randomCost(r, 12, (r) => r.normal())
  leavesInputs(t, 'assignment', [c], () => assignment(c, 12))
  const v0 = assignment(c, 12).v
  leavesInputs(t, 'assignmentFrom', [c, v0], () => assignmentFrom(c, 12, v0))
})

t.test('a largest cost just below a power of two (where log₂ rounds up) is scaled into range', async (t) => {
  for (const big of [2 - 2 ** -52, 2 ** 600 * (1 - 2 ** -53), 2 ** -600 * (2 - 2 ** -52)]) {
    const c = Float64Array.from([big, big / 3, big / 5, big / 7])
    const a = assignment(c, 2)
    t.same(Array.from(a.perm), [1, 0], `max ${big}`)
    t.equal(a.value, costOf(c, 2, [1, 0]))
  }
})
