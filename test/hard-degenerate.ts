/**
 * Degenerate points, built in exact arithmetic (test/helpers/hardProblems.ts, `kinkProblem`:
 * integer P, dyadic x* and multipliers, so the degeneracy is exact): a coordinate at 0 with
 * a zero multiplier (l1, simplex), an l∞ coordinate at ±t with a zero multiplier, the
 * unconstrained minimizer exactly on the boundary (l1 and l2, λ = 0); and a non-unique
 * minimizer, P = 11ᵀ on the l2 ball. The layer must say so (`face.derivative` "kink" or
 * "non-unique"), still return the minimizer, and keep vjp and jvp the transposes of one
 * linear map. FaceModel.ts documents the derivative it returns: at a kink the smallest
 * face's (every constraint at its switching point counted active), at a non-unique point
 * the minimum-norm least-squares solution of the face's linearized KKT system; both are
 * checked against the reference.
 */
import t from 'tap'
import { dfwLayer } from '../src/fw/Layer.js'
import { type Checked, checkAll } from './helpers/hardSuite.js'
import { type Kink, kinkProblem, libProblem, libTangent, onesOnBall, randomTangent, rng, vec } from './helpers/hardProblems.js'
import { TARGET, agrees, derivativeRows, norm2, transposeResidual } from './helpers/hardCheck.js'

const KINKS: readonly Kink[] = ['l1-zero', 'l1-lambda0', 'linf-bound', 'simplex-zero', 'l2-lambda0']
let seed = 50_000
const kinks: Checked[] = checkAll(KINKS.flatMap((kind) => [5, 20, 20].map((n) => ({
  name: `${kind} n=${n}`, regime: 'kink', seed: seed++, expect: 'any' as const, options: { zeroTol: 1e-12 }, build: (r: ReturnType<typeof rng>) => kinkProblem(r, kind, n)
}))))
const fmt = (v: number | undefined): string => (v === undefined ? '-' : v.toExponential(1))

t.test('the layer answers every kink, with finite numbers only', async (t) => {
  for (const c of kinks) {
    t.equal(c.f.error, undefined, `${c.spec.name}: ${c.f.error?.message ?? 'answered'}`)
    t.ok(c.f.finite, `${c.spec.name}: finite`)
  }
})

t.test('the constructed points are kinks: the reference verifies them with a zero margin', async (t) => {
  for (const c of kinks) {
    t.ok(c.f.refOk, `${c.spec.name}: ${c.f.refError ?? 'verified'}`)
    t.ok(Math.abs(c.f.refMargin ?? 1) <= 1e-20, `${c.spec.name}: margin ${fmt(c.f.refMargin)} at ${c.f.refMarginAt}`)
  }
})

t.test('face.derivative is "kink" at every constructed kink', async (t) => {
  for (const c of kinks) t.equal(c.f.face?.derivative, 'kink', `${c.spec.name}: library margin ${fmt(c.f.face?.margin)}`)
})

t.test('at a kink, x is still the minimizer and the objective f*', async (t) => {
  for (const c of kinks) {
    t.ok((c.f.xRel ?? Infinity) <= TARGET.x, `${c.spec.name}: x error ${fmt(c.f.xRel)}`)
    t.ok((c.f.objRel ?? Infinity) <= TARGET.objective, `${c.spec.name}: objective error ${fmt(c.f.objRel)}`)
    t.equal(c.f.status, 'converged', `${c.spec.name}: status`)
  }
})

t.test('at a kink, vjp and jvp are the smallest face\'s derivative (the documented choice)', async (t) => {
  // the reference's face is read off the library's x (|xᵢ| ≤ 1e-12‖x‖∞ counted as 0), where the kink's constraint is active
  for (const c of kinks) for (const [k, a] of derivativeRows(c.f)) t.ok(agrees(a), `${c.spec.name} ${k}: rel ${fmt(a.rel)}, cos ${a.cos.toFixed(8)}`)
})

t.test(`at a kink, the transpose law holds to ${TARGET.transpose}`, async (t) => {
  for (const c of kinks) t.ok((c.f.transpose ?? Infinity) <= TARGET.transpose, `${c.spec.name}: ${fmt(c.f.transpose)}`)
})

// -------------------------------------------------------------------------------------
// a non-unique minimizer: P = 11ᵀ on the l2 ball
// -------------------------------------------------------------------------------------

const ones = [3, 5, 20].map((n) => {
  const p = onesOnBall(n, 1, 1)
  return { n, p, r: dfwLayer()(libProblem(p)) }
})

t.test('P = 11ᵀ on the l2 ball: face.derivative is "non-unique"', async (t) => {
  for (const { n, r } of ones) t.equal(r.face?.derivative, 'non-unique', `n=${n}`)
})

t.test('P = 11ᵀ on the l2 ball: x is a minimizer (Σx = 1, ‖x‖ ≤ 1, f = −½) and the status converged', async (t) => {
  for (const { n, r } of ones) {
    const x = r.x.data
    t.ok(Math.abs(x.reduce((a, b) => a + b, 0) - 1) <= 1e-12, `n=${n}: Σx = ${x.reduce((a, b) => a + b, 0)}`)
    t.ok(norm2(x) <= 1 + 1e-12, `n=${n}: ‖x‖ = ${norm2(x)}`)
    t.ok(Math.abs(r.objective + 0.5) <= 1e-12, `n=${n}: f = ${r.objective}`)
    t.equal(r.status, 'converged', `n=${n}`)
  }
})

t.test('P = 11ᵀ on the l2 ball: vjp and jvp are linear and transposes of each other', async (t) => {
  for (const { n, p, r } of ones) {
    const g = rng(n)
    const c1 = Float64Array.from({ length: n }, () => g.normal()), c2 = Float64Array.from({ length: n }, () => g.normal())
    const a = r.vjp(vec(c1)), b = r.vjp(vec(c2)), ab = r.vjp(vec(c1.map((v, i) => v + 2 * c2[i]!)))
    const lin = norm2(ab.q.data.map((v, i) => v - a.q.data[i]! - 2 * b.q.data[i]!)) / Math.max(norm2(ab.q.data), 1e-300)
    t.ok(lin <= 1e-12 && Math.abs(ab.t - a.t - 2 * b.t) <= 1e-12 * Math.max(Math.abs(ab.t), 1), `n=${n}: vjp(c₁ + 2c₂) = vjp(c₁) + 2 vjp(c₂) (${fmt(lin)})`)
    for (let k = 0; k < 3; k++) {
      const v = randomTangent(g, p)
      const jv = r.jvp(libTangent(p, v)).data
      const res = transposeResidual(c1, jv, { q: a.q.data, w: a.w.data, t: a.t, P: a.P?.data }, v)
      t.ok(res <= TARGET.transpose, `n=${n} tangent ${k}: transpose residual ${fmt(res)}`)
    }
    t.ok([...a.q.data, a.t, ...(a.P?.data ?? [])].every(Number.isFinite), `n=${n}: finite`)
  }
})

t.test('P = 11ᵀ inside the l2 ball: the derivative is the minimum-norm one, dx = −11ᵀ(dq + dP x)/n²', async (t) => {
  for (const { n, p, r } of ones) {
    const x = r.x.data
    if (!(norm2(x) < 1 - 1e-9)) { t.comment(`n=${n}: x is on the sphere; skipped`); continue }
    const g = rng(100 + n)
    const v = randomTangent(g, p)
    const e = Float64Array.from({ length: n }, (_, i) => { let s = v.q![i]!; for (let j = 0; j < n; j++) s += v.P![i * n + j]! * x[j]!; return s })
    const se = e.reduce((a, b) => a + b, 0)
    const want = new Float64Array(n).fill(-se / (n * n))
    const got = r.jvp(libTangent(p, v)).data
    const rel = norm2(got.map((u, i) => u - want[i]!)) / Math.max(norm2(want), 1e-300)
    t.ok(rel <= 1e-10, `n=${n}: jvp against −11ᵀe/n² (${fmt(rel)})`)
    const c = Float64Array.from({ length: n }, () => g.normal())
    const wantQ = new Float64Array(n).fill(-c.reduce((a, b) => a + b, 0) / (n * n))
    const gq = r.vjp(vec(c)).q.data
    t.ok(norm2(gq.map((u, i) => u - wantQ[i]!)) <= 1e-10 * Math.max(norm2(wantQ), 1e-300), `n=${n}: vjp.q against −11ᵀc/n²`)
  }
})
