/**
 * A few n = 250 cases of the hard regimes (the issue measured its worst errors at n = 80
 * and 250): cond 1e8 dense on l1, l∞ and the simplex (designed, and random q on l1),
 * cond 1e6 dense on the l2 sphere,
 * rank-deficient P (rank 62) on l1, CSR on l∞ and diag + low rank on the simplex, against
 * the double-double reference (Gaussian elimination on systems up to 251 unknowns).
 */
import t from 'tap'
import { type CaseSpec, checkAll, standardTests } from './helpers/hardSuite.js'
import { csrP, designed, lowRankP, randomQ, randomQBinding, rankDeficientP, spectralP } from './helpers/hardProblems.js'

const n = 250
let seed = 70_000
const specs: CaseSpec[] = [
  ...(['l1', 'linf', 'simplex'] as const).map((set): CaseSpec => ({
    name: `cond 1e8 ${set} n=${n} designed binding`, regime: 'cond 1e8', seed: seed++, expect: 'exact', build: (r) => designed(r, set, spectralP(r, n, 1e8), n, 1, { binding: true })
  })),
  { name: `cond 1e8 l1 n=${n} random q, t = 0.3·|x_u|`, regime: 'cond 1e8', seed: seed++, expect: 'any', build: (r) => randomQBinding(r, 'l1', spectralP(r, n, 1e8), n, 0.3) },
  { name: `cond 1e6 l2 n=${n} designed binding`, regime: 'cond 1e6', seed: seed++, expect: 'exact', build: (r) => designed(r, 'l2', spectralP(r, n, 1e6), n, 1, { binding: true }) },
  { name: `rank-62 l1 n=${n} random q, t = 1`, regime: 'rank-deficient', seed: seed++, expect: 'any', build: (r) => randomQ(r, 'l1', rankDeficientP(r, n, 62), n, 1) },
  { name: `CSR linf n=${n} random q, t = 0.3·|x_u|`, regime: 'CSR', seed: seed++, expect: 'any', build: (r) => randomQBinding(r, 'linf', csrP(r, n, 4, 1e-6, n), n, 0.3) },
  { name: `diag + low rank simplex n=${n} designed binding`, regime: 'diag + low rank', seed: seed++, expect: 'exact', build: (r) => designed(r, 'simplex', lowRankP(r, n, 8), n, 1, { binding: true }) }
]

standardTests(t, checkAll(specs))
