/**
 * The layer in its default (implicit) mode on structured P against the double-double
 * reference: diagonal plus low rank (the library's `lowRank(d, r, U)`, d spread over
 * 1e-6…1, so cond ≈ 1e6) and CSR (banded and with random symmetric entries off the band,
 * diagonally dominant by a margin spread over 1e-6…1), every set, binding and not,
 * designed and random q, n = 5, 20, 80. The P-derivative exists for dense P only, so
 * tangents and gradients are in q, w and t here.
 */
import t from 'tap'
import { type CaseSpec, checkAll, standardTests } from './helpers/hardSuite.js'
import { csrP, designed, lowRankP, randomQBinding } from './helpers/hardProblems.js'
import type { RefP } from './helpers/ddReference.js'
import type { Rng } from './helpers/hardProblems.js'

const SETS = ['l1', 'linf', 'l2', 'simplex'] as const
const KINDS: ReadonlyArray<readonly [string, (r: Rng, n: number) => RefP]> = [
  ['diag + low rank', (r, n) => lowRankP(r, n, Math.min(5, n - 1))],
  ['CSR', (r, n) => csrP(r, n, 3, 1e-6, n)]
]
const specs: CaseSpec[] = []
let seed = 30_000
for (const [regime, P] of KINDS) {
  for (const n of [5, 20, 80]) {
    for (const set of SETS) {
      specs.push(
        { name: `${regime} ${set} n=${n} designed binding`, regime, seed: seed++, expect: 'exact', build: (r) => designed(r, set, P(r, n), n, 1, { binding: true }) },
        { name: `${regime} ${set} n=${n} designed inside`, regime, seed: seed++, expect: 'exact', build: (r) => designed(r, set, P(r, n), n, 1, { binding: false }) },
        { name: `${regime} ${set} n=${n} random q, t = 0.3·|x_u|`, regime, seed: seed++, expect: 'any', build: (r) => randomQBinding(r, set, P(r, n), n, 0.3) }
      )
    }
  }
}

standardTests(t, checkAll(specs))
