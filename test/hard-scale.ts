/**
 * The layer in its default (implicit) mode at extreme scales, against the double-double
 * reference: t = 1e-12 and 1e12 with P and q scaled by 1e-100 and 1e100 (within the
 * magnitude rule of src/fw/Validate.ts), t = 1e100 with P scaled by 1e-60, t from 1e-20
 * down to 1e-200 with P and q of order 1, and the l1 ball's weights spread from 1e-6 to 1e6. The scaling law says x(t) = t·x̂ for the balls'
 * radius at fixed P and q/t, so nothing but the units may change: every case is checked
 * like a well-scaled one.
 */
import t from 'tap'
import { type CaseSpec, checkAll, standardTests } from './helpers/hardSuite.js'
import { designed, paperP, randomQ, scaleP, type Rng } from './helpers/hardProblems.js'
import type { RefProblem } from './helpers/ddReference.js'

const SETS = ['l1', 'linf', 'l2', 'simplex'] as const
const specs: CaseSpec[] = []
let seed = 40_000
const n = 20
for (const set of SETS) {
  for (const tt of [1e-12, 1e12]) {
    for (const s of [1e-100, 1e100]) {
      const regime = `t ${tt.toExponential(0)}, P·${s.toExponential(0)}`
      specs.push(
        { name: `${set} t=${tt} P,q·${s} designed binding`, regime, seed: seed++, expect: 'exact', build: (r) => designed(r, set, scaleP(paperP(r, n), s), n, tt, { binding: true }) },
        { name: `${set} t=${tt} P,q·${s} designed inside`, regime, seed: seed++, expect: 'exact', build: (r) => designed(r, set, scaleP(paperP(r, n), s), n, tt, { binding: false }) },
        { name: `${set} t=${tt} P,q·${s} random q`, regime, seed: seed++, expect: 'any', build: (r) => randomQ(r, set, scaleP(paperP(r, n), s), n, tt, s * tt * n) }
      )
    }
  }
  specs.push(
    { name: `${set} t=1e100 P·1e-60 designed binding`, regime: 't 1e100, P·1e-60', seed: seed++, expect: 'exact', build: (r) => designed(r, set, scaleP(paperP(r, n), 1e-60), n, 1e100, { binding: true }) },
    { name: `${set} t=1e100 P·1e-60 random q`, regime: 't 1e100, P·1e-60', seed: seed++, expect: 'any', build: (r) => randomQ(r, set, scaleP(paperP(r, n), 1e-60), n, 1e100, 1e-60 * 1e100 * n) }
  )
}

/** Weights log-spaced over 1e-6…1e6, in random order. */
const skewed = (r: Rng, m: number): Float64Array => {
  const w = Float64Array.from({ length: m }, (_, i) => 10 ** (-6 + (12 * i) / (m - 1)))
  for (let i = m - 1; i > 0; i--) { const j = Math.floor(r.uniform() * (i + 1)); const tmp = w[i]!; w[i] = w[j]!; w[j] = tmp }
  return w
}

for (const m of [20, 80]) {
  for (const tt of [1e-3, 1, 1e3]) {
    specs.push({ name: `l1 w over 1e-6…1e6 n=${m} t=${tt} random q`, regime: 'skewed w', seed: seed++, expect: 'any', build: (r) => { const w = skewed(r, m); return randomQ(r, 'l1', paperP(r, m), m, tt, 1, w) } })
  }
}

// tiny radii: the scaling law x = t·x̂ down to t = 1e-200 (ρ = max(1, t) = 1: no magnitude limit applies)
for (const set of SETS) {
  for (const tt of [1e-20, 1e-50, 1e-100, 1e-120, 1e-160, 1e-200]) {
    for (const m of [3, 20]) {
      specs.push({ name: `${set} t=${tt} n=${m} random q`, regime: 'tiny t', seed: seed++, expect: 'any', build: (r) => randomQ(r, set, paperP(r, m), m, tt) })
    }
  }
}

// skewed weights where the solution is far from every switching point (the smallest nonzero
// |xᵢ| is 0.1–30 % of ‖x‖∞; the reference margin, relative to each coordinate's reach
// t/wᵢ, is 4e-8…8e-7): n = 2 cases found by a seeded search, and one at n = 80
const literal = (P: number[], q: number[], w: number[]): RefProblem =>
  ({ n: q.length, set: 'l1', P: { kind: 'dense', data: Float64Array.from(P) }, q: Float64Array.from(q), w: Float64Array.from(w), t: 1 })
const TWO_D: ReadonlyArray<[string, RefProblem]> = [
  ['a', literal([12.106072421576766, -0.16546649454672935, -0.16546649454672935, 2.4604559230793352], [0.32103268357141507, -2.2579655436873156], [0.00000591236472445207, 7098.322778773351])],
  ['b', literal([3.8461811998011255, 1.534314314328146, 1.534314314328146, 3.360232536452812], [-0.020492381703147964, -0.4138173387822582], [0.000008054798667499009, 22818.879828269346])],
  ['c', literal([2.1678867844045895, 0.2496026269624001, 0.2496026269624001, 2.375799990479931], [0.40440519187694957, 0.5876977104404227], [3718.7236517109673, 0.000003321364215451288])]
]
for (const [k, p] of TWO_D) specs.push({ name: `l1 n=2 w = ${p.w[0]!.toExponential(1)}, ${p.w[1]!.toExponential(1)} (${k})`, regime: 'skewed w, far from a kink', seed: seed++, expect: 'exact', build: () => p })
specs.push({ name: 'l1 w over 1e-6…1e6 n=80 t=1 random q (seed 40108)', regime: 'skewed w, far from a kink', seed: 40_108, expect: 'exact', build: (r) => { const w = skewed(r, 80); return randomQ(r, 'l1', paperP(r, 80), 80, 1, 1, w) } })

standardTests(t, checkAll(specs))
