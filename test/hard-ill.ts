/**
 * The layer in its default (implicit) mode on ill-conditioned dense P, Q diag(λ) Qᵀ with
 * λ log-spaced over cond 1e6 and 1e8 and Q a random orthogonal matrix, against the
 * double-double reference: every set, binding and not, designed and random q (t a
 * fraction of the unconstrained minimizer's size, so that the solution has many
 * nonzeros), n = 5, 20, 80. The first finding lived here (cond 1e6, n ≥ 80: x
 * wrong by up to 100 %, derivatives with the wrong sign).
 */
import t from 'tap'
import { type CaseSpec, checkAll, standardTests } from './helpers/hardSuite.js'
import { designed, randomQBinding, spectralP } from './helpers/hardProblems.js'

const SETS = ['l1', 'linf', 'l2', 'simplex'] as const
const specs: CaseSpec[] = []
let seed = 20_000
for (const cond of [1e6, 1e8]) {
  const regime = `cond ${cond.toExponential(0)}`
  for (const n of [5, 20, 80]) {
    for (const set of SETS) {
      specs.push(
        { name: `${regime} ${set} n=${n} designed binding`, regime, seed: seed++, expect: 'exact', build: (r) => designed(r, set, spectralP(r, n, cond), n, 1, { binding: true }) },
        { name: `${regime} ${set} n=${n} designed inside`, regime, seed: seed++, expect: 'exact', build: (r) => designed(r, set, spectralP(r, n, cond), n, 1, { binding: false }) },
        { name: `${regime} ${set} n=${n} random q, t = 0.3·|x_u|`, regime, seed: seed++, expect: 'any', build: (r) => randomQBinding(r, set, spectralP(r, n, cond), n, 0.3) }
      )
    }
  }
}

standardTests(t, checkAll(specs))
