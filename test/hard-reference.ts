/**
 * The outside reference itself (test/helpers/dd.ts, test/helpers/ddReference.ts), before
 * anything is judged by it: double-double arithmetic is exact where it must be, the
 * verified minimizer is the one face an enumeration verifies on tiny problems, the
 * verification rejects wrong faces, the reference derivatives agree with central finite
 * differences of reference solutions (symmetric dP, so that the QP's own derivative and
 * the e = dP·x convention coincide), and the reference VJP is the transpose of its JVP.
 * Nothing here calls the library's solver.
 */
import t from 'tap'
import * as D from './helpers/dd.js'
import {
  type RefProblem, type RefTangent, enumerateSolutions, jvpRef, solveFace, solveReference, vjpRef
} from './helpers/ddReference.js'
import { designed, integerP, paperP, randomQ, rng, scaleP, spectralP } from './helpers/hardProblems.js'
import { dotScaled, norm2 } from './helpers/hardCheck.js'

const SETS = ['l1', 'linf', 'l2', 'simplex'] as const

const relDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  norm2(Float64Array.from({ length: a.length }, (_, i) => a[i]! - b[i]!)) / Math.max(norm2(b), 1e-300)

// -------------------------------------------------------------------------------------
// double-double arithmetic
// -------------------------------------------------------------------------------------

t.test('double-double: 1/3 times 3 is 1 and √2 squared is 2, to the last bit of the pair', async (t) => {
  const third = D.div(D.dd(1), D.dd(3))
  t.same(D.sub(D.mul(third, D.dd(3)), D.dd(1)), [0, 0])
  const s = D.sqrt(D.dd(2))
  t.ok(Math.abs(D.toNumber(D.sub(D.mul(s, s), D.dd(2)))) <= 1e-31)
  // 1 + 2⁻⁶⁰ survives in the pair, not in a double
  t.equal(D.add(D.dd(1), D.dd(2 ** -60))[1], 2 ** -60)
})

t.test('double-double GEPP solves the 10 × 10 Hilbert system (cond 1.6e13) to about cond · 1e-32', async (t) => {
  const m = 10, A = D.zeros(m * m)
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) D.put(A, i * m + j, D.div(D.dd(1), D.dd(i + j + 1)))
  const xs = D.fromDoubles(Array.from({ length: m }, (_, i) => i + 1))
  const b = D.zeros(m)
  for (let i = 0; i < m; i++) { let s = D.dd(0); for (let j = 0; j < m; j++) s = D.add(s, D.mul(D.at(A, i * m + j), D.at(xs, j))); D.put(b, i, s) }
  const f = D.luDD(A, m)
  const x = D.luSolveDD(f, b), xt = D.luSolveTDD(f, b)
  for (let i = 0; i < m; i++) {
    t.ok(Math.abs(D.toNumber(D.sub(D.at(x, i), D.at(xs, i)))) <= 1e-17 * (i + 1), `x[${i}]`)
    t.ok(Math.abs(D.toNumber(D.sub(D.at(xt, i), D.at(xs, i)))) <= 1e-17 * (i + 1), `the transposed solve's x[${i}] (A is symmetric)`)
  }
})

// -------------------------------------------------------------------------------------
// the minimizer
// -------------------------------------------------------------------------------------

t.test('on tiny problems exactly one face verifies, and it is the one the reference finds', async (t) => {
  let k = 0
  for (const n of [3, 4, 5]) {
    for (const set of SETS) {
      for (const kind of ['random', 'designed', 'designed-interior'] as const) {
        const r = rng(1000 + k++)
        const P = paperP(r, n)
        const p = kind === 'random' ? randomQ(r, set, P, n, 0.3) : designed(r, set, P, n, 1, { binding: kind === 'designed' })
        const sols = enumerateSolutions(p)
        const ref = solveReference(p)
        t.equal(sols.length, 1, `${set} n=${n} ${kind}: one verified face among all of them`)
        if (sols.length >= 1) t.ok(relDiff(ref.x, sols[0]!.x) <= 1e-15, `${set} n=${n} ${kind}: the same x`)
      }
    }
  }
})

t.test('the verification rejects a face that is not optimal', async (t) => {
  for (const set of SETS) {
    const r = rng(77)
    const p = designed(r, set, paperP(r, 8), 8, 1, { binding: true })
    const s = solveReference(p)
    t.ok(s.verification.ok, `${set}: the optimal face verifies`)
    const f = s.face
    const wrong = set === 'l2'
      ? { ...f, binding: !f.binding }
      : set === 'linf'
        ? { ...f, free: f.free.slice(1), bound: Int8Array.from(f.bound, (b, i) => (i === f.free[0] ? 1 : b)) }
        : { ...f, free: f.free.slice(1), sign: Int8Array.from(f.sign, (v, i) => (i === f.free[0] ? 0 : v)) }
    const w = solveFace(p, wrong)
    t.notOk(w.verification.ok, `${set}: a wrong face fails (${w.verification.failures[0] ?? 'no failure'})`)
  }
})

t.test('the reference certifies ill-conditioned solutions: cond 1e8, n = 40, every set', async (t) => {
  for (const set of SETS) {
    const r = rng(31)
    const p = designed(r, set, spectralP(r, 40, 1e8), 40, 1, { binding: true })
    const s = solveReference(p)
    t.ok(s.verification.ok && s.nonsingular, `${set}: verified, unique`)
    t.ok(s.verification.residual <= 1e-24, `${set}: KKT residual ${s.verification.residual.toExponential(1)} ≤ 1e-24`)
  }
})

// -------------------------------------------------------------------------------------
// the derivatives
// -------------------------------------------------------------------------------------

/** θ + h v (dP symmetric, dense P only). */
const perturbed = (p: RefProblem, v: RefTangent, h: number): RefProblem => ({
  ...p,
  q: p.q.map((qi, i) => qi + h * (v.q?.[i] ?? 0)),
  w: p.w.map((wi, i) => wi + h * (v.w?.[i] ?? 0)),
  t: p.t + h * (v.t ?? 0),
  P: p.P.kind === 'dense' && v.P !== undefined ? { kind: 'dense', data: p.P.data.map((a, k) => a + h * v.P![k]!) } : p.P
})

const symmetricTangent = (r: ReturnType<typeof rng>, p: RefProblem): RefTangent => {
  const n = p.n, dP = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) { const v = r.normal(); dP[i * n + j] = v; dP[j * n + i] = v }
  return {
    q: Float64Array.from({ length: n }, () => r.normal()),
    ...(p.set === 'l1' ? { w: Float64Array.from({ length: n }, () => 0.1 * r.normal()) } : {}),
    t: 0.3 * p.t * r.normal(),
    ...(p.P.kind === 'dense' ? { P: dP } : {})
  }
}

t.test('the reference JVP agrees with central differences of reference solutions (well-conditioned, n = 6)', async (t) => {
  let k = 0
  for (const set of SETS) {
    for (const binding of [true, false]) {
      const r = rng(500 + k++)
      const p = designed(r, set, paperP(r, 6), 6, 1, { binding })
      const s = solveReference(p)
      const v = symmetricTangent(r, p)
      const scaled: RefTangent = { ...v, ...(v.q ? { q: v.q.map((a) => a * 6) } : {}), ...(v.P ? { P: v.P.map((a) => a * 6) } : {}) }
      const h = 1e-6
      const plus = solveReference(perturbed(p, scaled, h), s.x), minus = solveReference(perturbed(p, scaled, -h), s.x)
      const fd = plus.x.map((a, i) => (a - minus.x[i]!) / (2 * h))
      const dx = jvpRef(s, scaled)
      t.ok(relDiff(dx, fd) <= 1e-8, `${set} ${binding ? 'binding' : 'inside'}: |jvp − fd|/|fd| = ${relDiff(dx, fd).toExponential(1)}`)
    }
  }
})

t.test('the reference JVP follows central differences at t = 1e-12 and 1e12 with P and q scaled by 1e-100 and 1e100', async (t) => {
  let k = 0
  for (const set of SETS) {
    for (const [tt, sc] of [[1e-12, 1e-100], [1e12, 1e100]] as const) {
      const r = rng(600 + k++)
      const p = designed(r, set, scaleP(paperP(r, 5), sc), 5, tt, { binding: true })
      const s = solveReference(p)
      const v = symmetricTangent(r, p)
      const qs = p.q.reduce((m, a) => Math.max(m, Math.abs(a)), 0)
      const scaled: RefTangent = { ...v, ...(v.q ? { q: v.q.map((a) => a * qs) } : {}), ...(v.P ? { P: v.P.map((a) => a * sc * 5) } : {}) }
      const h = 1e-6
      const plus = solveReference(perturbed(p, scaled, h), s.x), minus = solveReference(perturbed(p, scaled, -h), s.x)
      const fd = plus.x.map((a, i) => (a - minus.x[i]!) / (2 * h))
      const dx = jvpRef(s, scaled)
      t.ok(relDiff(dx, fd) <= 1e-8, `${set} t=${tt}: |jvp − fd|/|fd| = ${relDiff(dx, fd).toExponential(1)}`)
    }
  }
})

t.test('the reference VJP is the transpose of the reference JVP', async (t) => {
  let k = 0
  for (const set of SETS) {
    for (const P of ['paper', 'integer', 'ill'] as const) {
      const r = rng(700 + k++)
      const n = 12
      const PP = P === 'paper' ? paperP(r, n) : P === 'integer' ? integerP(r, n) : spectralP(r, n, 1e6)
      const p = designed(r, set, PP, n, 1, { binding: true })
      const s = solveReference(p)
      const c = Float64Array.from({ length: n }, () => r.normal())
      const v = symmetricTangent(r, p)
      const g = vjpRef(s, c)
      const lhs = dotScaled(c, jvpRef(s, v))
      const rhs = dotScaled(g.q, v.q!) + (v.w ? dotScaled(g.w, v.w) : 0) + g.t * v.t! + dotScaled(g.P, v.P!)
      t.ok(Math.abs(lhs - rhs) <= 1e-14 * (Math.abs(lhs) + Math.abs(rhs)), `${set} ${P}: ⟨c, Jv⟩ = ${lhs}, ⟨Jᵀc, v⟩ = ${rhs}`)
    }
  }
})
