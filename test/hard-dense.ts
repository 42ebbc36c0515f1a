/**
 * The layer in its default (implicit) mode on dense P that is well-conditioned (PAPER.md's
 * AᵀA + nI) or rank-deficient (A Aᵀ with A an integer n × r matrix, exactly PSD), against
 * the double-double reference: every set, binding and not, with designed and random q,
 * n = 5, 20, 80. Rank-deficient interior problems have a face of minimizers: there only
 * the `non-unique` report, the objective and the transpose law are checked.
 */
import t from 'tap'
import { type CaseSpec, checkAll, standardTests } from './helpers/hardSuite.js'
import { designed, paperP, randomQ, randomQBinding, rankDeficientP } from './helpers/hardProblems.js'

const SETS = ['l1', 'linf', 'l2', 'simplex'] as const
const specs: CaseSpec[] = []
let seed = 10_000
for (const n of [5, 20, 80]) {
  for (const set of SETS) {
    specs.push(
      { name: `well ${set} n=${n} designed binding`, regime: 'well', seed: seed++, expect: 'exact', build: (r) => designed(r, set, paperP(r, n), n, 1, { binding: true }) },
      { name: `well ${set} n=${n} designed inside`, regime: 'well', seed: seed++, expect: 'exact', build: (r) => designed(r, set, paperP(r, n), n, 1, { binding: false }) },
      { name: `well ${set} n=${n} random q`, regime: 'well', seed: seed++, expect: 'any', build: (r) => randomQBinding(r, set, paperP(r, n), n, 0.3) }
    )
    const rank = Math.max(2, Math.floor(n / 4))
    const free = set === 'l2' ? undefined : rank
    specs.push(
      { name: `rank-${rank} ${set} n=${n} designed binding`, regime: 'rank-deficient', seed: seed++, expect: 'exact', build: (r) => designed(r, set, rankDeficientP(r, n, rank), n, 1, { binding: true, ...(free !== undefined ? { free } : {}) }) },
      { name: `rank-${rank} ${set} n=${n} random q, t = 1`, regime: 'rank-deficient', seed: seed++, expect: 'any', build: (r) => randomQ(r, set, rankDeficientP(r, n, rank), n, 1) }
    )
    // inside the set (or on a simplex face larger than rank + 1): a face of minimizers
    specs.push({ name: `rank-${rank} ${set} n=${n} designed inside (non-unique)`, regime: 'rank-deficient', seed: seed++, expect: 'non-unique', build: (r) => designed(r, set, rankDeficientP(r, n, rank), n, 1, { binding: false }) })
  }
}

standardTests(t, checkAll(specs))
