/**
 * Every scale within the documented bounds gives finite results and the derivative its
 * scaling law says (issues 15 and 20): the problem is solved rescaled inside (Scaling.ts).
 * At t → 0 the solution is x ≈ t·x̂ (the oracle's vertex of the unit set at q), so dx/dt ≈ x̂
 * and ⟨c, dx/dt⟩ = vjp(c).t.
 */
import t from 'tap'
import { runText } from '../src/cli/solve.js'
import { dfwLayer } from '../src/fw/Layer.js'

interface Result { x: number[]; objective: number; gap: number; status: string; vjp?: { q: number[]; t?: number; P?: number[][] }; jvp?: { x: number[] }; face?: { derivative: string } }
const solve = (problem: unknown): Result => {
  const out = runText(JSON.stringify(problem), dfwLayer)
  if (out.code !== 0) throw new Error(out.stderr)
  return JSON.parse(out.stdout) as Result
}
const finite = (r: Result): boolean => JSON.stringify(r).match(/null|NaN|Infinity/) === null
// q without ties: at t → 0 the linear term alone decides the face (a tie in |qᵢ|/wᵢ would
// leave it to P's term, t times smaller: beyond double precision at t = 1e-160)
const P = [[2, 0.5], [0.5, 1]], q = [-1, 0.5]

t.test('t from 5e-324 to 1e-150: x = t·x̂, dx/dt = x̂ and vjp.t = ⟨c, x̂⟩, every set and mode', async (t) => {
  // x̂: the solution at the unit radius when P's term vanishes against q's: the oracle's vertex at q
  const hat: Record<string, number[]> = { l1: [1, 0], linf: [1, -1], l2: [2 / Math.sqrt(5), -1 / Math.sqrt(5)], simplex: [1, 0] }
  for (const set of ['l1', 'linf', 'l2', 'simplex'] as const) {
    for (const tt of [5e-324, 1e-300, 1e-170, 1e-160]) {
      for (const options of [{}, { backward: 'unrolled' }]) {
        const r = solve({ P, q, t: tt, set, options, cotangent: [1, 1], tangent: { t: 1 } })
        const label = `${set} t=${tt} ${JSON.stringify(options)}`
        t.ok(finite(r), `${label}: finite`)
        const xh = hat[set]!
        t.ok(r.x.every((v, i) => Math.abs(v - tt * xh[i]!) <= 1e-9 * tt + 1e-323), `${label}: x = t·x̂ (${r.x})`)
        t.ok(r.jvp!.x.every((v, i) => Math.abs(v - xh[i]!) <= 1e-6), `${label}: dx/dt = x̂ (${r.jvp!.x})`)
        t.ok(Math.abs(r.vjp!.t! - (xh[0]! + xh[1]!)) <= 1e-6, `${label}: vjp.t = ⟨c, x̂⟩ (${r.vjp!.t})`)
        if (Object.keys(options).length === 0) t.equal(r.face?.derivative, 'exact', `${label}: face`)
      }
    }
  }
})

t.test('huge radii with P scaled down (t = 1e149, P ~ 1e-149): finite, and x/t, dx/dq match the unit problem', async (t) => {
  for (const options of [{}, { backward: 'unrolled' }]) {
    const unit = solve({ P, q, t: 1, set: 'l2', options, cotangent: [1, 1] })
    const r = solve({ P: P.map((row) => row.map((v) => v * 1e-149)), q, t: 1e149, set: 'l2', options, cotangent: [1, 1] })
    t.ok(finite(r), `${JSON.stringify(options)}: finite`)
    // the same problem in y = x/t (exactly, up to the rounding of 1e149 against powers of two)
    t.ok(r.x.every((v, i) => Math.abs(v / 1e149 - unit.x[i]!) <= 1e-9), `x/t = the unit problem's x (${r.x.map((v) => v / 1e149)} vs ${unit.x})`)
    t.ok(r.vjp!.q.every((v, i) => Math.abs(v / 1e149 - unit.vjp!.q[i]!) <= 1e-7 * Math.abs(unit.vjp!.q[i]!) + 1e-12), `dx/dq scales with t (${r.vjp!.q.map((v) => v / 1e149)} vs ${unit.vjp!.q})`)
    t.ok(r.vjp!.P!.flat().every((v) => Number.isFinite(v)), 'vjp.P finite')
  }
})

t.test('P ≈ 1e-108 with w ≈ 1e-116: finite jvp of the exact size (−P⁻¹ ≈ 1e108)', async (t) => {
  const r = solve({ P: P.map((row) => row.map((v) => v * 1e-108)), q: [-1e-100, 1e-100], w: [1e-116, 2e-116], t: 1, tangent: { q: [1, 0] }, cotangent: [1, 0] })
  t.ok(finite(r))
  // interior: dx/dq = −P⁻¹ e₀ = −(1e108)·[4/7, −2/7]
  t.ok(Math.abs(r.jvp!.x[0]! / -5.714285714285714e107 - 1) <= 1e-9 && Math.abs(r.jvp!.x[1]! / 2.857142857142857e107 - 1) <= 1e-9, `${r.jvp!.x}`)
  t.equal(r.status, 'converged')
})

t.test('the paper schedule with beta0 = 1e200 (and 1e300) is finite in both modes', async (t) => {
  for (const beta0 of [1e200, 1e300]) for (const backward of ['unrolled', 'implicit']) {
    const r = solve({ P, q, t: 1, options: { schedule: 'paper', beta0, backward }, cotangent: [1, 1] })
    t.ok(finite(r), `beta0 ${beta0} ${backward}`)
  }
})
