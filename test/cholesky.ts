/**
 * Pivoted Cholesky (src/core/Cholesky.ts) against references written here: the
 * reconstruction Πᵀ A Π = L Lᵀ by naive loops, known solutions of SPD systems up to cond
 * 1e8, the pseudo-inverse from a cyclic Jacobi eigen-decomposition for the rank-deficient
 * solves, the curvature of negative directions by a naive quadratic form, and fresh
 * factorizations for the append/remove updates.
 */
import t from 'tap'
import type { Rng } from '../src/core/Random.js'
import {
  type CholeskyFactor, cholesky, gramFactor, solveCholesky, halfSolve, halfSolveT, appendIndex, removeIndex, inertia, isPositiveDefinite, forSolves, halfSolveInto, halfSolveTInto
} from '../src/core/Cholesky.js'
import { SEEDS, gen, leavesInputs } from './helpers/foundation.js'
import { fromEigen, orthogonal } from './helpers/spectral.js'

const EPS = 2.220446049250313e-16

// -------------------------------------------------------------------------------------
// references
// -------------------------------------------------------------------------------------

const randn = (r: Rng, n: number): Float64Array => Float64Array.from({ length: n }, () => r.normal())

/** y = A x, naive, A n × n row-major (both triangles). */
const matVec = (A: Float64Array, n: number, x: Float64Array): Float64Array => {
  const y = new Float64Array(n)
  for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += A[i * n + j]! * x[j]!; y[i] = s }
  return y
}

const dot = (a: Float64Array, b: Float64Array): number => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s }
const normInf = (a: Float64Array): number => a.reduce((s, v) => Math.max(s, Math.abs(v)), 0)
const relErr = (got: Float64Array, want: Float64Array): number => {
  let e = 0
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i]! - want[i]!))
  const w = normInf(want)
  return w === 0 ? e : e / w
}

/** SPD with eigenvalues log-spaced from 1 down to 1/cond. */
const spd = (r: Rng, n: number, cond: number): Float64Array =>
  fromEigen(orthogonal(r, n), n, Array.from({ length: n }, (_, i) => (n === 1 ? 1 : cond ** (-i / (n - 1)))))

/** B Bᵀ with B n × k normal. */
const lowRankPsd = (r: Rng, n: number, k: number): Float64Array => {
  const B = randn(r, n * k)
  const A = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0
    for (let l = 0; l < k; l++) s += B[i * k + l]! * B[j * k + l]!
    A[i * n + j] = s
  }
  return A
}

/** Cyclic Jacobi eigen-decomposition of a symmetric n × n matrix: A = V diag(w) Vᵀ. */
const jacobiEig = (A0: Float64Array, n: number): { w: Float64Array; V: Float64Array } => {
  const A = A0.slice(), V = new Float64Array(n * n)
  for (let i = 0; i < n; i++) V[i * n + i] = 1
  let fro = 0
  for (const v of A) fro += v * v
  const negligible = 1e-17 * Math.sqrt(fro)
  for (let sweep = 0; sweep < 100; sweep++) {
    let rotated = false
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) {
      const apq = A[p * n + q]!
      // below ε‖A‖ (or next to both diagonals): no rotation
      if (Math.abs(apq) <= Math.max(negligible, 1e-18 * Math.sqrt(Math.abs(A[p * n + p]! * A[q * n + q]!)))) continue
      rotated = true
      const theta = (A[q * n + q]! - A[p * n + p]!) / (2 * apq)
      const tt = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
      const c = 1 / Math.sqrt(tt * tt + 1), s = tt * c
      for (let k = 0; k < n; k++) {
        const akp = A[k * n + p]!, akq = A[k * n + q]!
        A[k * n + p] = c * akp - s * akq; A[k * n + q] = s * akp + c * akq
      }
      for (let k = 0; k < n; k++) {
        const apk = A[p * n + k]!, aqk = A[q * n + k]!
        A[p * n + k] = c * apk - s * aqk; A[q * n + k] = s * apk + c * aqk
      }
      for (let k = 0; k < n; k++) {
        const vkp = V[k * n + p]!, vkq = V[k * n + q]!
        V[k * n + p] = c * vkp - s * vkq; V[k * n + q] = s * vkp + c * vkq
      }
    }
    if (!rotated) break
  }
  return { w: Float64Array.from({ length: n }, (_, i) => A[i * n + i]!), V }
}

/** A⁺ b from the eigen-decomposition, dropping eigenvalues ≤ rel · max |λ|. */
const pinvApply = (A: Float64Array, n: number, b: Float64Array, rel = 1e-10): Float64Array => {
  const { w, V } = jacobiEig(A, n)
  const wmax = normInf(w)
  const x = new Float64Array(n)
  for (let k = 0; k < n; k++) {
    if (!(Math.abs(w[k]!) > rel * wmax)) continue
    let s = 0
    for (let i = 0; i < n; i++) s += V[i * n + k]! * b[i]!
    s /= w[k]!
    for (let i = 0; i < n; i++) x[i] = x[i]! + s * V[i * n + k]!
  }
  return x
}

/** max |(Πᵀ A Π − L Lᵀ)ᵢⱼ| / max |A|, the factor's own claim checked by naive loops. */
const reconstructionError = (f: CholeskyFactor, A: Float64Array): number => {
  const { m, rank, order, L } = f
  let e = 0, s = 0
  for (let p = 0; p < m; p++) for (let q = 0; q < m; q++) {
    let v = 0
    for (let k = 0; k < rank; k++) v += L[p * m + k]! * L[q * m + k]!
    const a = A[order[p]! * m + order[q]!]!
    e = Math.max(e, Math.abs(a - v)); s = Math.max(s, Math.abs(a))
  }
  return s === 0 ? e : e / s
}

/** Whether L is lower trapezoidal of the stated rank with a positive leading diagonal. */
const isTrapezoidal = (f: CholeskyFactor): boolean => {
  const { m, rank, L } = f
  for (let p = 0; p < m; p++) for (let q = 0; q < m; q++) {
    const v = L[p * m + q]!
    if ((q > p || q >= rank) && v !== 0) return false
    if (q === p && p < rank && !(v > 0)) return false
  }
  return true
}

/** The (m−1) × (m−1) matrix without index o. */
const without = (A: Float64Array, m: number, o: number): Float64Array => {
  const n = m - 1, B = new Float64Array(n * n)
  for (let i = 0, ii = 0; i < m; i++) {
    if (i === o) continue
    for (let j = 0, jj = 0; j < m; j++) { if (j === o) continue; B[ii * n + jj] = A[i * m + j]!; jj++ }
    ii++
  }
  return B
}

/** The leading n × n block of A (m × m). */
const leading = (A: Float64Array, m: number, n: number): Float64Array => {
  const B = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) B[i * n + j] = A[i * m + j]!
  return B
}

const SIZES = [1, 2, 3, 7, 16, 33, 60] as const

// -------------------------------------------------------------------------------------
// factorization
// -------------------------------------------------------------------------------------

t.test('an SPD matrix factors to full rank with Πᵀ A Π = L Lᵀ to rounding', async (t) => {
  for (const seed of SEEDS) for (const m of SIZES) {
    const A = spd(gen(seed, m), m, 1e3)
    const f = cholesky(A, m)
    t.equal(f.rank, m, `rank m=${m} seed=${seed}`)
    t.ok(isTrapezoidal(f), 'L is lower triangular with a positive diagonal')
    t.ok(reconstructionError(f, A) <= 10 * m * EPS, `reconstruction m=${m}`, { err: reconstructionError(f, A) })
    t.ok(isPositiveDefinite(f) && f.negative === undefined, 'positive definite')
  }
})

t.test('pivoting takes the largest remaining diagonal first', async (t) => {
  for (const seed of SEEDS) {
    const m = 12
    const A = spd(gen(seed, 99), m, 1e4)
    const f = cholesky(A, m)
    const piv = Array.from({ length: m }, (_, p) => f.L[p * m + p]!)
    t.ok(piv.every((v, p) => p === 0 || v <= piv[p - 1]! * (1 + 1e-12)), 'pivots do not increase', { piv })
    const maxDiag = Math.max(...Array.from({ length: m }, (_, i) => A[i * m + i]!))
    t.equal(A[f.order[0]! * m + f.order[0]!], maxDiag, 'the first pivot is the largest diagonal')
  }
})

t.test('only the lower triangle is read and A is not written', async (t) => {
  const m = 9
  const A = spd(gen(5, m), m, 10)
  const B = A.slice()
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) B[i * m + j] = NaN
  const fa = cholesky(A, m), fb = cholesky(B, m)
  t.same(Array.from(fb.L), Array.from(fa.L), 'the same factor with NaN above the diagonal')
  leavesInputs(t, 'cholesky', [B], () => cholesky(B, m))
  const f = cholesky(A, m), b = randn(gen(5, 1), m)
  leavesInputs(t, 'solveCholesky', [b, f.L, f.A], () => solveCholesky(f, b))
})

t.test('SPD solves at cond 1, 1e6 and 1e8 have error consistent with cond · ε', async (t) => {
  for (const cond of [1, 1e6, 1e8]) for (const seed of SEEDS) for (const m of [2, 7, 33, 60]) {
    const r = gen(seed, m + 7)
    const A = spd(r, m, cond)
    const xs = randn(r, m)
    const b = matVec(A, m, xs)
    const f = cholesky(A, m)
    t.equal(f.rank, m, `full rank at cond ${cond}`)
    const x = solveCholesky(f, b)
    const err = relErr(x, xs)
    t.ok(err <= 10 * cond * EPS, `error cond=${cond} m=${m} seed=${seed}`, { err, bound: 10 * cond * EPS })
    const res = relErr(matVec(A, m, x), b) * normInf(b) / (normInf(b) + normInf(A) * m * normInf(x))
    t.ok(res <= 10 * m * EPS, 'backward error at rounding level', { res })
  }
})

t.test('a pivot at or below pivotTol · scale ends the factorization', async (t) => {
  const A = new Float64Array([1, 0, 0, 1e-14])
  t.equal(cholesky(A, 2).rank, 1, 'default tolerance drops 1e-14')
  t.equal(cholesky(A, 2, { pivotTol: 1e-15 }).rank, 2, 'a smaller tolerance keeps it')
  t.equal(cholesky(new Float64Array(9), 3).rank, 0, 'the zero matrix has rank 0')
  t.same(Array.from(solveCholesky(cholesky(new Float64Array(9), 3), new Float64Array([1, 2, 3]))), [0, 0, 0], 'its pseudo-inverse is 0')
})

t.test('pivot: false keeps the given order while the pivots pass, and pivots after', async (t) => {
  const m = 8
  const A = spd(gen(3, m), m, 100)
  const f = cholesky(A, m, { pivot: false })
  t.same(Array.from(f.order), Array.from({ length: m }, (_, i) => i), 'identity order on SPD')
  t.ok(reconstructionError(f, A) <= 10 * m * EPS, 'reconstruction')
  // index 0 is zero; the others PSD of rank 3
  const B = lowRankPsd(gen(3, 1), m, 3)
  for (let j = 0; j < m; j++) { B[j] = 0; B[j * m] = 0 }
  const g = cholesky(B, m, { pivot: false })
  t.equal(g.rank, 3, 'rank 3 found despite the zero first pivot')
  t.ok(reconstructionError(g, B) <= 1e-12, 'reconstruction of the singular matrix')
})

t.test('empty and 1 × 1 matrices', async (t) => {
  const f0 = cholesky(new Float64Array(0), 0)
  t.equal(f0.rank, 0)
  t.same(Array.from(solveCholesky(f0, new Float64Array(0))), [], 'empty solve')
  t.same(Array.from(solveCholesky(cholesky(new Float64Array([4]), 1), new Float64Array([2]))), [0.5], '4 x = 2')
  t.throws(() => cholesky(new Float64Array(3), 2), RangeError, 'too few entries')
})

// -------------------------------------------------------------------------------------
// rank-deficient: minimum-norm solves
// -------------------------------------------------------------------------------------

t.test('rank-deficient B Bᵀ: the rank is found and the solve is the pseudo-inverse', async (t) => {
  for (const seed of SEEDS) for (const [m, k] of [[2, 1], [5, 2], [16, 7], [33, 20], [60, 31]] as const) {
    const r = gen(seed, m * 100 + k)
    const A = lowRankPsd(r, m, k)
    const f = cholesky(A, m)
    t.equal(f.rank, k, `rank ${k} of m=${m} seed=${seed}`)
    t.same(inertia(f), { rank: k, nullity: m - k, negative: false }, 'inertia')
    t.ok(reconstructionError(f, A) <= 1e-12, 'Πᵀ A Π = L Lᵀ to rounding')
    const b = randn(r, m)
    const x = solveCholesky(f, b)
    const ref = pinvApply(A, m, b)
    t.ok(relErr(x, ref) <= 1e-8, 'A⁺ b', { err: relErr(x, ref) })
  }
})

t.test('the half solves split A⁺ = F Fᵀ: ‖Fᵀ b‖² = bᵀ A⁺ b', async (t) => {
  for (const seed of SEEDS) for (const [m, k] of [[9, 9], [9, 4]] as const) {
    const r = gen(seed, 7 * m + k)
    const A = k === m ? spd(r, m, 1e3) : lowRankPsd(r, m, k)
    const f = cholesky(A, m)
    const b = randn(r, m)
    const y = halfSolve(f, b)
    t.equal(y.length, f.rank, 'length rank')
    const xb = solveCholesky(f, b)
    t.ok(Math.abs(dot(y, y) - dot(b, xb)) <= 1e-10 * Math.abs(dot(b, xb)), 'quadratic form')
    t.ok(relErr(halfSolveT(f, y), xb) <= 1e-13, 'F (Fᵀ b) is the solve')
  }
})

t.test('the solve map is symmetric: ⟨b₂, X b₁⟩ = ⟨X b₂, b₁⟩', async (t) => {
  for (const seed of SEEDS) for (const [m, k, cond] of [[20, 20, 1e6], [20, 20, 1e8], [30, 12, 1], [200, 200, 1e4], [200, 90, 1]] as const) {
    const r = gen(seed, m + k)
    const A = k === m ? spd(r, m, cond) : lowRankPsd(r, m, k)
    const f = cholesky(A, m)
    const b1 = randn(r, m), b2 = randn(r, m)
    const x1 = solveCholesky(f, b1), x2 = solveCholesky(f, b2)
    const l = dot(b2, x1), rr = dot(x2, b1)
    const scale = Math.sqrt(dot(b1, x1) * dot(b2, x2)) || 1
    t.ok(Math.abs(l - rr) <= 1e-12 * scale * Math.sqrt(cond), `m=${m} rank=${k} cond=${cond}`, { l, rr })
  }
})

// -------------------------------------------------------------------------------------
// indefinite
// -------------------------------------------------------------------------------------

t.test('an indefinite matrix gives a unit direction of negative curvature, checked from A', async (t) => {
  for (const seed of SEEDS) for (const m of [2, 3, 7, 16, 40]) {
    const r = gen(seed, m + 300)
    const lambda = Array.from({ length: m }, (_, i) => (i === m - 1 ? -0.01 : 1 + i))
    const A = fromEigen(orthogonal(r, m), m, lambda)
    const f = cholesky(A, m)
    t.ok(f.negative !== undefined, `negative found m=${m} seed=${seed}`)
    if (f.negative === undefined) continue
    const d = f.negative.direction
    t.ok(Math.abs(dot(d, d) - 1) <= 1e-14, 'unit 2-norm')
    const curv = dot(d, matVec(A, m, d))
    t.ok(curv < 0, 'dᵀ A d < 0 by a naive product', { curv })
    t.ok(Math.abs(curv - f.negative.curvature) <= 1e-12 * m, 'the reported curvature', { curv, reported: f.negative.curvature })
    t.ok(curv >= -0.01 * (1 + 1e-9), 'not below the smallest eigenvalue')
    t.ok(inertia(f).negative && !isPositiveDefinite(f), 'inertia says negative')
  }
})

t.test('negative curvature hidden off the diagonal of the Schur complement is found', async (t) => {
  const f = cholesky(new Float64Array([0, 1, 1, 0]), 2)
  t.equal(f.rank, 0, 'no pivot on a zero diagonal')
  t.ok(f.negative !== undefined && f.negative.curvature < 0, 'the 2 × 2 block is indefinite')
  // [[4, 2, 2], [2, 1, 3], [2, 3, 1]]: after the first pivot the Schur complement is [[0, 2], [2, 0]]
  const A = new Float64Array([4, 2, 2, 2, 1, 3, 2, 3, 1])
  const g = cholesky(A, 3)
  t.equal(g.rank, 1)
  t.ok(g.negative !== undefined, 'found')
  if (g.negative !== undefined) t.ok(dot(g.negative.direction, matVec(A, 3, g.negative.direction)) < 0, 'dᵀ A d < 0')
})

t.test('a PSD rank-deficient matrix is not reported indefinite', async (t) => {
  for (const seed of SEEDS) for (const [m, k] of [[10, 3], [40, 20], [60, 59]] as const) {
    const f = cholesky(lowRankPsd(gen(seed, m + k), m, k), m)
    t.equal(f.negative, undefined, `m=${m} rank ${k}`)
  }
})

// -------------------------------------------------------------------------------------
// updates
// -------------------------------------------------------------------------------------

t.test('appendIndex grown one index at a time agrees with a fresh factorization', async (t) => {
  for (const seed of SEEDS) for (const m of [1, 5, 30]) {
    const r = gen(seed, m + 500)
    const A = spd(r, m, 1e4)
    let f = cholesky(new Float64Array(0), 0)
    for (let n = 1; n <= m; n++) {
      const column = Float64Array.from({ length: n }, (_, i) => A[i * m + n - 1]!)
      const g = appendIndex(f, column)
      t.equal(f.m, n - 1, 'the old factor is unchanged')
      f = g
    }
    t.equal(f.rank, m, `rank m=${m}`)
    t.ok(reconstructionError(f, A) <= 1e-12, 'Πᵀ A Π = L Lᵀ', { err: reconstructionError(f, A) })
    const b = randn(r, m)
    t.ok(relErr(solveCholesky(f, b), solveCholesky(cholesky(A, m), b)) <= 1e-8, 'same solve as fresh')
  }
})

t.test('appendIndex of a dependent column leaves the rank and solves min-norm; of a negative one records curvature', async (t) => {
  for (const seed of SEEDS) {
    const m = 6, r = gen(seed, 600)
    // A = B Bᵀ with B 7 × 6 full column rank: the leading 6 × 6 is SPD, the 7th index dependent
    const Bm = randn(r, 7 * 6)
    const A = new Float64Array(49)
    for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) {
      let s = 0
      for (let l = 0; l < 6; l++) s += Bm[i * 6 + l]! * Bm[j * 6 + l]!
      A[i * 7 + j] = s
    }
    const f = cholesky(leading(A, 7, m), m)
    const g = appendIndex(f, Float64Array.from({ length: 7 }, (_, i) => A[i * 7 + 6]!))
    t.equal(g.rank, 6, 'rank stays 6')
    t.equal(g.negative, undefined, 'no negative curvature')
    const b = randn(r, 7)
    t.ok(relErr(solveCholesky(g, b), pinvApply(A, 7, b)) <= 1e-8, 'min-norm solve')
    // a new diagonal lowered by 1: the Schur complement is −1
    const col = Float64Array.from({ length: 7 }, (_, i) => A[i * 7 + 6]! - (i === 6 ? 1 : 0))
    const h = appendIndex(f, col)
    t.ok(h.negative !== undefined && h.negative.curvature < 0, 'negative curvature recorded')
    if (h.negative !== undefined) {
      const A2 = A.slice(); A2[48] = A2[48]! - 1
      t.ok(Math.abs(dot(h.negative.direction, matVec(A2, 7, h.negative.direction)) - h.negative.curvature) <= 1e-10, 'its curvature from A')
    }
    t.throws(() => appendIndex(f, new Float64Array(3)), RangeError, 'too short a column')
  }
})

t.test('appendIndex on a rank-deficient factor refactors and agrees with a fresh one', async (t) => {
  for (const seed of SEEDS) {
    const m = 12, r = gen(seed, 700)
    const A = lowRankPsd(r, m, 5)
    const f = cholesky(leading(A, m, m - 1), m - 1)
    t.equal(f.rank, 5)
    const g = appendIndex(f, Float64Array.from({ length: m }, (_, i) => A[i * m + m - 1]!))
    t.equal(g.rank, 5, 'rank 5')
    t.ok(reconstructionError(g, A) <= 1e-12, 'reconstruction')
    const b = randn(r, m)
    t.ok(relErr(solveCholesky(g, b), pinvApply(A, m, b)) <= 1e-8, 'min-norm solve')
  }
})

t.test('removeIndex agrees with a fresh factorization of the smaller matrix, at every position', async (t) => {
  for (const seed of SEEDS) for (const m of [1, 2, 9, 40]) {
    const r = gen(seed, m + 800)
    const A = spd(r, m, 1e4)
    const f = cholesky(A, m)
    for (let p = 0; p < m; p++) {
      const g = removeIndex(f, p)
      const B = without(A, m, f.order[p]!)
      t.equal(g.rank, m - 1)
      if (m > 1) {
        t.ok(isTrapezoidal(g), 'triangular after the rotations')
        t.ok(reconstructionError(g, B) <= 1e-12, `reconstruction m=${m} p=${p}`, { err: reconstructionError(g, B) })
        const b = randn(r, m - 1)
        t.ok(relErr(solveCholesky(g, b), solveCholesky(cholesky(B, m - 1), b)) <= 1e-8, 'same solve as fresh')
      }
    }
    t.throws(() => removeIndex(f, m), RangeError, 'position out of range')
  }
})

t.test('removeIndex on a rank-deficient or indefinite factor refactors', async (t) => {
  for (const seed of SEEDS) {
    const m = 10, r = gen(seed, 900)
    const A = lowRankPsd(r, m, 6)
    const f = cholesky(A, m)
    const g = removeIndex(f, 2)
    const B = without(A, m, f.order[2]!)
    t.equal(g.rank, 6, 'rank 6 of the 9 × 9')
    const b = randn(r, m - 1)
    t.ok(relErr(solveCholesky(g, b), pinvApply(B, m - 1, b)) <= 1e-8, 'min-norm solve')
    const N = fromEigen(orthogonal(r, 4), 4, [1, 2, 3, -1])
    const h = removeIndex(cholesky(N, 4), 0)
    t.equal(h.m, 3, 'one index fewer')
    t.ok(reconstructionError(h, without(N, 4, cholesky(N, 4).order[0]!)) <= 1e-12 || h.negative !== undefined, 'refactored')
  }
})

t.test('a sequence of appends and removes (an active-set run) keeps agreeing with fresh factors', async (t) => {
  const r = gen(42, 1)
  const n = 25
  const P = spd(r, n, 1e5)
  let active: number[] = [0, 1, 2]
  let f = cholesky(Float64Array.from(active.flatMap((i) => active.map((j) => P[i * n + j]!))), active.length)
  for (let step = 0; step < 40; step++) {
    const add = r.uniform() < 0.6 || active.length < 2
    if (add) {
      const free = Array.from({ length: n }, (_, i) => i).filter((i) => !active.includes(i))
      if (free.length === 0) continue
      const j = free[Math.floor(r.uniform() * free.length)]!
      f = appendIndex(f, Float64Array.from([...active.map((i) => P[i * n + j]!), P[j * n + j]!]))
      active = [...active, j]
    } else {
      const p = Math.floor(r.uniform() * active.length)
      const o = f.order[p]!
      f = removeIndex(f, p)
      active = active.filter((_, i) => i !== o)
    }
    const m = active.length
    const A = Float64Array.from(active.flatMap((i) => active.map((j) => P[i * n + j]!)))
    const b = randn(r, m)
    const err = relErr(solveCholesky(f, b), solveCholesky(cholesky(A, m), b))
    t.ok(err <= 1e-7, `step ${step} m=${m}`, { err })
  }
})

// -------------------------------------------------------------------------------------
// scales
// -------------------------------------------------------------------------------------

t.test('tiny and huge scales (1e-150, 1e150): no NaN, the same factor up to scaling', async (t) => {
  for (const seed of SEEDS) for (const [m, k] of [[12, 12], [12, 5]] as const) {
    const r = gen(seed, 1000 + k)
    const A = k === m ? spd(r, m, 1e4) : lowRankPsd(r, m, k)
    const b = randn(r, m)
    const x = solveCholesky(cholesky(A, m), b)
    for (const s of [1e-150, 1e150]) {
      const f = cholesky(A.map((v) => v * s), m)
      t.equal(f.rank, k, `rank at scale ${s}`)
      const xs = solveCholesky(f, b).map((v) => v * s)
      t.ok(xs.every(Number.isFinite), 'finite')
      t.ok(relErr(xs, x) <= 1e-10, `solution scales as 1/s at ${s}`, { err: relErr(xs, x) })
    }
  }
})

// -------------------------------------------------------------------------------------
// Gram factors
// -------------------------------------------------------------------------------------

/** Y Yᵀ for the k rows of Y (k × n). */
const gram = (Y: Float64Array, k: number, n: number): Float64Array => {
  const S = new Float64Array(k * k)
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
    let s = 0
    for (let i = 0; i < n; i++) s += Y[a * n + i]! * Y[b * n + i]!
    S[a * k + b] = s
  }
  return S
}

t.test('gramFactor of independent rows is a factor of Y Yᵀ and solves as cholesky does', async (t) => {
  for (const seed of SEEDS) for (const [k, n] of [[1, 1], [3, 5], [8, 8], [12, 40]] as const) {
    const r = gen(seed, 100 * k + n)
    const Y = randn(r, k * n)
    const S = gram(Y, k, n)
    const f = gramFactor(Y, k, n)
    t.equal(f.rank, k, `rank k=${k} n=${n}`)
    t.ok(isTrapezoidal(f), 'lower triangular, positive diagonal')
    t.ok(reconstructionError(f, S) <= 1e-13, 'Πᵀ S Π = L Lᵀ', { err: reconstructionError(f, S) })
    const b = randn(r, k)
    t.ok(relErr(solveCholesky(f, b), solveCholesky(cholesky(S, k), b)) <= 1e-9, 'same solve as cholesky(Y Yᵀ)')
    leavesInputs(t, 'gramFactor', [Y], () => gramFactor(Y, k, n))
  }
  t.throws(() => gramFactor(new Float64Array(3), 2, 2), RangeError, 'too few entries')
})

t.test('gramFactor drops exactly dependent rows and solves min-norm', async (t) => {
  for (const seed of SEEDS) {
    const k = 6, n = 10, r = gen(seed, 1200)
    const Y = randn(r, k * n)
    // row 4 = row 0 + row 1, row 5 = 2 · row 2, and a zero row would be dropped too
    for (let i = 0; i < n; i++) { Y[4 * n + i] = Y[i]! + Y[n + i]!; Y[5 * n + i] = 2 * Y[2 * n + i]! }
    const f = gramFactor(Y, k, n)
    t.equal(f.rank, 4, 'rank 4')
    const S = gram(Y, k, n), b = randn(r, k)
    t.ok(reconstructionError(f, S) <= 1e-13, 'Πᵀ S Π = L Lᵀ')
    t.ok(relErr(solveCholesky(f, b), pinvApply(S, k, b)) <= 1e-9, 'S⁺ b')
    t.equal(gramFactor(new Float64Array(6), 2, 3).rank, 0, 'zero rows: rank 0')
  }
})

t.test('gramFactor keeps nearly dependent rows a Cholesky of Y Yᵀ drops, whatever their scale', async (t) => {
  for (const seed of SEEDS) for (const delta of [1e-6, 1e-8, 1e-9]) {
    const k = 3, n = 20, r = gen(seed, 1300)
    const Y = randn(r, k * n)
    for (let i = 0; i < n; i++) Y[n + i] = Y[i]! + delta * Y[n + i]!
    const S = gram(Y, k, n)
    t.equal(gramFactor(Y, k, n).rank, 3, `kept at relative distance ${delta}`)
    t.equal(cholesky(S, k).rank, delta < 1e-7 ? 2 : 3, 'Cholesky of the Gram matrix drops it below ≈ 3e-7')
    const Ys = Y.slice()
    for (let i = 0; i < n; i++) Ys[n + i] = Ys[n + i]! * 1e-8
    t.equal(gramFactor(Ys, k, n).rank, 3, 'the same with the row scaled by 1e-8')
  }
  const k = 2, n = 5, Y = new Float64Array([1, 2, 3, 4, 5, 1, 2, 3, 4, 5 + 1e-12])
  t.equal(gramFactor(Y, k, n).rank, 1, 'relative distance 1e-13 counts as dependent (rowTol 1e-10)')
  t.equal(gramFactor(Y, k, n, { rowTol: 1e-14 }).rank, 2, 'unless rowTol is lowered')
})

t.test('forSolves: the factor without its copy of A solves bitwise as the factor, and refuses updates', async (t) => {
  for (const seed of SEEDS.slice(0, 3)) {
    const r = gen(seed)
    for (const [m, cond] of [[5, 1], [12, 1e6], [30, 1e8]] as const) {
      const A = fromEigen(orthogonal(r, m), m, Float64Array.from({ length: m }, (_, i) => cond ** (-i / Math.max(m - 1, 1))))
      const f = cholesky(A, m)
      const g = forSolves(f)
      t.equal(g.A.length, 0, 'no copy of A kept')
      t.equal(f.A.length, m * m, 'the original factor keeps its copy')
      t.equal(forSolves(g), g, 'stripping twice returns the same factor')
      const b = randn(r, m)
      t.same(Array.from(solveCholesky(g, b)), Array.from(solveCholesky(f, b)), `solve m=${m} cond=${cond}`)
      t.same(Array.from(halfSolve(g, b)), Array.from(halfSolve(f, b)), 'halfSolve')
      t.same(Array.from(halfSolveT(g, b.subarray(0, g.rank))), Array.from(halfSolveT(f, b.subarray(0, f.rank))), 'halfSolveT')
      t.throws(() => appendIndex(g, new Float64Array(m + 1)), /solves only/)
      t.throws(() => removeIndex(g, 0), /solves only/)
    }
  }
  // a rank-deficient factor's completion survives the stripping
  const r = gen(SEEDS[0]!)
  const Bm = Float64Array.from({ length: 8 * 3 }, () => r.normal())
  const A = new Float64Array(64)
  for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) { let s = 0; for (let k = 0; k < 3; k++) s += Bm[i * 3 + k]! * Bm[j * 3 + k]!; A[i * 8 + j] = s }
  const f = cholesky(A, 8)
  t.ok(f.rank < 8, 'rank-deficient')
  const b = randn(r, 8)
  t.same(Array.from(solveCholesky(forSolves(f), b)), Array.from(solveCholesky(f, b)), 'rank-deficient solve')
})

t.test('the half solves into buffers overwrite them: garbage in y, x and w changes nothing', async (t) => {
  const r = gen(SEEDS[1]!)
  for (const [m, rk] of [[6, 6], [9, 4], [1, 1], [5, 0]] as const) {
    const Bm = Float64Array.from({ length: m * Math.max(rk, 1) }, () => r.normal())
    const A = new Float64Array(m * m)
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) { let s = 0; for (let k = 0; k < rk; k++) s += Bm[i * rk + k]! * Bm[j * rk + k]!; A[i * m + j] = s + (rk === m && i === j ? 1 : 0) }
    const f = cholesky(A, m)
    const b = randn(r, m)
    const y = new Float64Array(m).fill(NaN)
    halfSolveInto(f, b, y)
    // the reference: the plain definition on a fresh array (solveCholesky's documented split)
    const ref = halfSolve(f, b)
    t.same(Array.from(y.subarray(0, f.rank)), Array.from(ref), `halfSolveInto m=${m} rank=${f.rank}`)
    const x = new Float64Array(m).fill(7), w = new Float64Array(f.rank).fill(-3)
    halfSolveTInto(f, ref, x, w)
    t.same(Array.from(x), Array.from(solveCholesky(f, b)), `halfSolveTInto m=${m} rank=${f.rank}`)
    const Ax = matVec(A, m, x)
    if (f.rank === m) t.ok(Ax.every((v, i) => Math.abs(v - b[i]!) < 1e-8 * (1 + Math.abs(b[i]!))), 'A x = b')
  }
})
