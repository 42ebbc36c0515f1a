/**
 * The factorization kernel `chol` of simd.ts against its JavaScript loop: bitwise equal
 * (L, order, the Schur diagonal d, the rank) on SPD matrices of condition 1 and 1e8,
 * rank-deficient, indefinite and zero-holding ones, with and without pivoting, at sizes
 * on both sides of CHOLESKY_MIN_M, odd and even; the dispatch `pivotedCholesky` equals
 * the loop at every size; and `cholesky` (rank, L, the negative direction, the
 * minimum-norm data) is bitwise the same in a child process that has no SIMD
 * (DFW_NO_SIMD=1). The double-double residual kernel `ddres` and its loop against the
 * sums of Kkt.ts's DDSum, written out here.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import {
  CHOLESKY_MIN_M, ddResidualInto, ddResidualKernel, ddResidualLoop, pivotedCholesky, pivotedCholeskyKernel, pivotedCholeskyLoop, simdAvailable, type PivotedCholesky
} from '../src/core/simd.js'
import { cholesky, choleskySymmetric } from '../src/core/Cholesky.js'
import { caseMatrix, KINDS, type CaseKind } from './helpers/choleskyCases.js'
import { factorBytes, kktSolves, type FactorBytes } from './helpers/choleskyBytes.js'
import { childEnv } from './helpers/childEnv.js'
import { fromDoubles, residualDD } from './helpers/dd.js'

const EPS = 2.220446049250313e-16
const M0 = CHOLESKY_MIN_M
const SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 16, 17, M0 - 1, M0, M0 + 1, 31, 32, 33, 48, 63, 64, 65, 100, 101, 127]

/** The library's threshold: max(1e-13, 20 m ε) · max |Aᵢⱼ|. */
const threshOf = (A: Float64Array, m: number): number => Math.max(1e-13, 20 * m * EPS) * A.reduce((s, v) => Math.max(s, Math.abs(v)), 0)

/** Entries that differ bitwise (Object.is: −0 ≠ +0), plus the length difference. */
const mismatches = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let k = 0
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (!Object.is(a[i], b[i])) k++
  return k + Math.abs(a.length - b.length)
}
const differ = (a: PivotedCholesky, b: PivotedCholesky): number =>
  mismatches(a.L, b.L) + mismatches(a.order, b.order) + mismatches(a.d, b.d) + (a.rank === b.rank ? 0 : 1)

t.test('the kernel is bitwise the loop: every kind, size and threshold, pivoting or not', { skip: !simdAvailable() && 'no SIMD (DFW_NO_SIMD=1)' }, async (t) => {
  let cases = 0, bad = 0, deficient = 0, negative = 0, swapped = 0
  const run = (kind: CaseKind, m: number, seed: number): void => {
    const A = caseMatrix(kind, m, seed), A0 = A.slice()
    for (const pivot of [true, false]) {
      for (const thresh of [threshOf(A, m), 0]) {
        const want = pivotedCholeskyLoop(A, m, pivot, thresh)
        const got = pivotedCholeskyKernel(A, m, pivot, thresh)
        cases++
        if (got === undefined) { bad++; t.fail(`${kind} m=${m}: no kernel result`); continue }
        const e = differ(got, want)
        if (e > 0) { bad++; t.fail(`${kind} m=${m} pivot=${pivot} thresh=${thresh}: ${e} entries differ (rank ${got.rank} vs ${want.rank})`) }
        if (want.rank < m) deficient++
        if (want.d.some((v, p) => p >= want.rank && v < -thresh)) negative++
        if (want.order.some((v, p) => v !== p)) swapped++
      }
    }
    t.equal(mismatches(A, A0), 0, `${kind} m=${m}: S is not written`)
  }
  for (const m of SIZES) for (const kind of KINDS) run(kind, m, 1)
  // the scratch grown by a large factorization, then smaller ones in it
  for (const m of [127, 33, M0, 9, 64]) for (const kind of KINDS) run(kind, m, 2)
  t.equal(bad, 0, `${cases} factorizations, all bitwise equal`)
  t.ok(deficient > 20, `rank-deficient stops exercised (${deficient})`)
  t.ok(negative > 10, `negative Schur diagonals left (${negative})`)
  t.ok(swapped > 50, `pivot swaps exercised (${swapped})`)
})

t.test('an empty matrix: rank 0, empty arrays', { skip: !simdAvailable() && 'no SIMD (DFW_NO_SIMD=1)' }, async (t) => {
  const f = pivotedCholeskyKernel(new Float64Array(0), 0, true, 0)
  t.same(f && { rank: f.rank, L: f.L.length, order: f.order.length, d: f.d.length }, { rank: 0, L: 0, order: 0, d: 0 })
})

t.test('pivotedCholesky is bitwise the loop on both sides of CHOLESKY_MIN_M (the kernel above it when SIMD runs)', async (t) => {
  let bad = 0
  for (const m of [1, 5, M0 - 2, M0 - 1, M0, M0 + 1, 40, 81]) {
    for (const kind of KINDS) {
      const A = caseMatrix(kind, m, 3)
      const thresh = threshOf(A, m)
      if (differ(pivotedCholesky(A, m, true, thresh), pivotedCholeskyLoop(A, m, true, thresh)) > 0) { bad++; t.fail(`${kind} m=${m}`) }
    }
  }
  t.equal(bad, 0)
})

t.test('cholesky and the precise KKT solves give bitwise the same results with and without SIMD (a child process under DFW_NO_SIMD=1)', async (t) => {
  const cases: Array<readonly [CaseKind, number, number, boolean]> = []
  for (const m of [7, M0 - 1, M0, 37, 64, 90]) for (const kind of KINDS) for (const pivot of [true, false]) cases.push([kind, m, 4, pivot])
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/choleskyChild.ts', JSON.stringify(cases)], {
    encoding: 'utf8', env: { ...childEnv(), DFW_NO_SIMD: '1' }, timeout: 120_000, maxBuffer: 64 * 2 ** 20
  })
  t.equal(r.status, 0, r.stderr)
  const child = JSON.parse(r.stdout) as { simd: boolean; factors: FactorBytes[]; kkt: string[] }
  t.equal(child.simd, false, 'the child ran the JavaScript loops')
  let bad = 0, withNegative = 0, withCompletion = 0
  cases.forEach(([kind, m, seed, pivot], k) => {
    const f = cholesky(caseMatrix(kind, m, seed), m, { pivot })
    const mine = factorBytes(f)
    if (f.negative !== undefined) withNegative++
    if (f.completion !== undefined) withCompletion++
    if (JSON.stringify(mine) !== JSON.stringify(child.factors[k])) { bad++; t.fail(`${kind} m=${m} pivot=${pivot}: the factors differ`) }
  })
  t.equal(bad, 0, `${cases.length} factors bitwise equal`)
  t.ok(withNegative > 5 && withCompletion > 5, `negative curvature (${withNegative}) and minimum-norm data (${withCompletion}) compared`)
  const kkt = kktSolves()
  t.equal(kkt.length, 12)
  t.same(kkt, child.kkt, 'precise KKT solves (double-double residuals): x, ν, ω bitwise the same')
})

// -------------------------------------------------------------------------------------
// the residual in double-double
// -------------------------------------------------------------------------------------

/** The running sums of Kkt.ts's DDSum, written out here as the reference: (b − H x) per row, hi and lo. */
const ddReference = (H: Float64Array, m: number, x: Float64Array, b: Float64Array): { hi: Float64Array; lo: Float64Array } => {
  const SPLIT = 134217729
  const hi = new Float64Array(m), lo = new Float64Array(m)
  for (let i = 0; i < m; i++) {
    let h = b[i]!, l = 0
    for (let j = 0; j < m; j++) {
      const a = -H[i * m + j]!, c = x[j]!, p = a * c
      const ta = SPLIT * a, ah = ta - (ta - a), al = a - ah
      const tc = SPLIT * c, ch = tc - (tc - c), cl = c - ch
      const e = ((ah * ch - p) + ah * cl + al * ch) + al * cl
      const s = h + p, bb = s - h
      l += (h - (s - bb)) + (p - bb) + e
      h = s
    }
    hi[i] = h; lo[i] = l
  }
  return { hi, lo }
}

const ddCase = (m: number, seed: number): { H: Float64Array; x: Float64Array; b: Float64Array } => {
  const A = caseMatrix('ill', m, seed)
  const x = Float64Array.from({ length: m }, (_, i) => Math.sin(seed + 1.7 * i) * 10 ** ((i % 7) - 3))
  const b = Float64Array.from({ length: m }, (_, i) => (i % 5 === 0 ? 0 : Math.cos(seed * 3 + i)))
  if (m > 2) { x[1] = -0; A[0] = -0 }
  return { H: A, x, b }
}

t.test('the double-double residual: loop, kernel and dispatch are bitwise the DDSum sums, at every size', async (t) => {
  let bad = 0, inexact = 0
  for (const m of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 101, 127, 64, 9]) {
    const { H, x, b } = ddCase(m, m)
    const want = ddReference(H, m, x, b)
    if (want.lo.some((v) => v !== 0)) inexact++
    const check = (name: string, hi: Float64Array, lo: Float64Array): void => {
      const e = mismatches(hi, want.hi) + mismatches(lo, want.lo)
      if (e > 0) { bad++; t.fail(`${name} m=${m}: ${e} entries differ`) }
    }
    const hi = new Float64Array(m), lo = new Float64Array(m)
    ddResidualLoop(H, m, x, b, hi, lo); check('loop', hi, lo)
    const hi2 = new Float64Array(m), lo2 = new Float64Array(m)
    ddResidualInto(H, m, x, b, hi2, lo2); check('dispatch', hi2, lo2)
    if (simdAvailable()) {
      const hi3 = new Float64Array(m), lo3 = new Float64Array(m)
      t.equal(ddResidualKernel(H, m, x, b, hi3, lo3), true)
      check('kernel', hi3, lo3)
    }
  }
  t.equal(bad, 0, 'all bitwise equal')
  t.ok(inexact > 10, `the low parts carry the rounding errors (${inexact} cases with lo ≠ 0)`)
})

t.test('the double-double residual is b − H x to double-double accuracy (against test/helpers/dd.ts)', async (t) => {
  let worst = 0
  for (const m of [1, 2, 9, 16, 33, 101, 127]) {
    const { H, x, b } = ddCase(m, m)
    const hi = new Float64Array(m), lo = new Float64Array(m)
    ddResidualInto(H, m, x, b, hi, lo)
    const ref = residualDD(fromDoubles(H), fromDoubles(x), fromDoubles(b), m)
    for (let i = 0; i < m; i++) {
      let scale = Math.abs(b[i]!)
      for (let j = 0; j < m; j++) scale += Math.abs(H[i * m + j]! * x[j]!)
      // (hi + lo) − ref in double-double, relative to the row's scale
      const d = (hi[i]! - ref.h[i]!) + (lo[i]! - ref.l[i]!)
      if (scale > 0) worst = Math.max(worst, Math.abs(d) / scale)
    }
  }
  // a residual summed in double alone is off by ~1e-16 of the scale; double-double by ~m·1e-32
  t.ok(worst <= 1e-28, `largest error ${worst.toExponential(2)} of the row's scale`)
})

t.test('without SIMD the kernels decline and write nothing (a child process under DFW_NO_SIMD=1)', async (t) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/choleskyChild.ts', '[]'], {
    encoding: 'utf8', env: { ...childEnv(), DFW_NO_SIMD: '1' }, timeout: 120_000, maxBuffer: 64 * 2 ** 20
  })
  t.equal(r.status, 0, r.stderr)
  const child = JSON.parse(r.stdout) as { simd: boolean; declined: { dd: boolean; chol: boolean; untouched: boolean } }
  t.equal(child.simd, false, 'the child ran without SIMD')
  t.equal(child.declined.dd, false, 'the double-double kernel declines')
  t.equal(child.declined.chol, true, 'the Cholesky kernel declines')
  t.equal(child.declined.untouched, true, 'and nothing was written')
  // with SIMD here the same calls are taken (the kernels exist on this machine)
  if (simdAvailable()) {
    const hi = new Float64Array(2), lo = new Float64Array(2)
    t.equal(ddResidualKernel(new Float64Array([1, 2, 2, 1]), 2, new Float64Array([1, 1]), new Float64Array([1, 1]), hi, lo), true)
    t.not(pivotedCholeskyKernel(new Float64Array([4, 1, 1, 3]), 2, true, 0), undefined)
  }
})

t.test('choleskySymmetric keeps an exactly symmetric S as its copy and is bitwise cholesky', async (t) => {
  let bad = 0
  for (const m of [1, 4, 9, M0, 40]) {
    for (const kind of KINDS) {
      const A = caseMatrix(kind, m, 6)
      const f = choleskySymmetric(A, m)
      if (f.A !== A) { bad++; t.fail(`${kind} m=${m}: S was copied`) }
      if (JSON.stringify(factorBytes(f)) !== JSON.stringify(factorBytes(cholesky(A, m))) || f.scale !== cholesky(A, m).scale) { bad++; t.fail(`${kind} m=${m}: the factors differ`) }
    }
  }
  t.equal(bad, 0)
  const long = new Float64Array(5).fill(1)
  t.same(Array.from(choleskySymmetric(long, 2).A), [1, 1, 1, 1], 'a longer array is cut to m²')
  t.throws(() => choleskySymmetric(new Float64Array(3), 2), RangeError)
})
