/**
 * topSingularPair and topSingularTriplets against the one-sided Jacobi svd of Eigen.ts on
 * random, rank-one, zero, near-tied, tied, ill-conditioned and rectangular matrices, in
 * dense and matrix-free form; the residual bound; the warm start (iteration counts are
 * deterministic, so they are compared); restarts; extreme scales; the refusals.
 */
import t, { type Test } from 'tap'
import { topSingularPair, topSingularTriplets, type DenseMatrix, type MatrixFreeOperator, type SingularPair } from '../src/core/Lanczos.js'
import { svd } from '../src/core/Eigen.js'
import { rng, type Rng } from '../src/core/Random.js'
import { leavesInputs } from './helpers/foundation.js'

// -------------------------------------------------------------------------------------
// references
// -------------------------------------------------------------------------------------

const TOL = 1e-10

const randn = (r: Rng, n: number, s = 1): Float64Array => Float64Array.from({ length: n }, () => s * r.normal())

/** A random m × n matrix with orthonormal columns (Gram–Schmidt, twice). */
const randOrtho = (r: Rng, m: number, n: number): Float64Array => {
  const Q = randn(r, m * n)
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < j; k++) {
        let s = 0
        for (let i = 0; i < m; i++) s += Q[i * n + k]! * Q[i * n + j]!
        for (let i = 0; i < m; i++) Q[i * n + j] = Q[i * n + j]! - s * Q[i * n + k]!
      }
      let s = 0
      for (let i = 0; i < m; i++) s += Q[i * n + j]! ** 2
      s = Math.sqrt(s)
      for (let i = 0; i < m; i++) Q[i * n + j] = Q[i * n + j]! / s
    }
  }
  return Q
}

/** X diag(d) Yᵀ, X (m × p), Y (n × p). */
const compose = (X: Float64Array, d: ArrayLike<number>, Y: Float64Array, m: number, n: number, p: number): Float64Array => {
  const A = new Float64Array(m * n)
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0
    for (let k = 0; k < p; k++) s += X[i * p + k]! * d[k]! * Y[j * p + k]!
    A[i * n + j] = s
  }
  return A
}

/** A matrix with the given singular values (descending) and random singular vectors. */
const withSpectrum = (r: Rng, rows: number, cols: number, s: ReadonlyArray<number>): { A: Float64Array; X: Float64Array; Y: Float64Array } => {
  const p = s.length
  const X = randOrtho(r, rows, p), Y = randOrtho(r, cols, p)
  return { A: compose(X, s, Y, rows, cols, p), X, Y }
}

const norm = (x: ArrayLike<number>): number => { let s = 0; for (let i = 0; i < x.length; i++) s += x[i]! ** 2; return Math.sqrt(s) }

/** max(‖A v − σ u‖, ‖Aᵀ u − σ v‖), naive loops. */
const residualOf = (A: Float64Array, rows: number, cols: number, sigma: number, u: ArrayLike<number>, v: ArrayLike<number>): number => {
  const a = new Float64Array(rows), b = new Float64Array(cols)
  for (let i = 0; i < rows; i++) {
    let s = 0
    for (let j = 0; j < cols; j++) s += A[i * cols + j]! * v[j]!
    a[i] = s - sigma * u[i]!
  }
  for (let j = 0; j < cols; j++) {
    let s = 0
    for (let i = 0; i < rows; i++) s += A[i * cols + j]! * u[i]!
    b[j] = s - sigma * v[j]!
  }
  return Math.max(norm(a), norm(b))
}

/** |⟨x, column j of the row-major n × p matrix Q⟩|. */
const alignment = (x: ArrayLike<number>, Q: Float64Array, n: number, p: number, j: number): number => {
  let s = 0
  for (let i = 0; i < n; i++) s += x[i]! * Q[i * p + j]!
  return Math.abs(s)
}

/** The norm of the projection of x onto the first k columns of Q (n × p). */
const inSpan = (x: ArrayLike<number>, Q: Float64Array, n: number, p: number, k: number): number =>
  Math.sqrt(Array.from({ length: k }, (_, j) => alignment(x, Q, n, p, j) ** 2).reduce((a, b) => a + b, 0))

const dense = (rows: number, cols: number, data: Float64Array): DenseMatrix => ({ rows, cols, data })

/** The matrix-free form of a dense matrix, by naive loops of its own. */
const matrixFree = (rows: number, cols: number, A: Float64Array): MatrixFreeOperator & { calls: number } => {
  const op = {
    rows, cols, calls: 0,
    apply: (v: Float64Array, out: Float64Array) => {
      op.calls++
      for (let i = 0; i < rows; i++) { let s = 0; for (let j = 0; j < cols; j++) s += A[i * cols + j]! * v[j]!; out[i] = s }
    },
    applyT: (u: Float64Array, out: Float64Array) => {
      op.calls++
      for (let j = 0; j < cols; j++) { let s = 0; for (let i = 0; i < rows; i++) s += A[i * cols + j]! * u[i]!; out[j] = s }
    }
  }
  return op
}

/** The common checks of a result against the Jacobi svd: σ₁, the residual bound, unit vectors, and (with a gap) the vectors. */
const refs = new WeakMap<Float64Array, ReturnType<typeof svd>>()
const refOf = (A: Float64Array, rows: number, cols: number): ReturnType<typeof svd> => {
  let ref = refs.get(A)
  if (ref === undefined) { ref = svd(A, rows, cols); refs.set(A, ref) }
  return ref
}

const checkPair = (t: Test, name: string, A: Float64Array, rows: number, cols: number, res: SingularPair, sigmaTol = 1e-12): void => {
  const ref = refOf(A, rows, cols)
  const p = Math.min(rows, cols)
  const s1 = ref.s[0]!
  t.ok(res.converged, `${name}: converged`)
  t.ok(Math.abs(res.sigma - s1) <= sigmaTol * s1, `${name}: σ₁`, { got: res.sigma, want: s1 })
  const own = residualOf(A, rows, cols, res.sigma, res.u, res.v)
  t.ok(own <= TOL * s1 * 1.01 && res.residual <= TOL * res.sigma, `${name}: residual ≤ tol·σ`, { own, reported: res.residual })
  t.ok(Math.abs(own - res.residual) <= 1e-14 * s1 + 1e-3 * own, `${name}: the reported residual is the true one`, { own, reported: res.residual })
  t.ok(Math.abs(norm(res.u) - 1) <= 1e-14 && Math.abs(norm(res.v) - 1) <= 1e-14, `${name}: unit vectors`)
  const gap = (s1 - (ref.s[1] ?? 0)) / s1
  if (gap > 1e-3) {
    t.ok(1 - alignment(res.u, ref.U, rows, p, 0) <= 1e-10 && 1 - alignment(res.v, ref.V, cols, p, 0) <= 1e-10, `${name}: u₁, v₁`)
  }
}

// -------------------------------------------------------------------------------------
// against the dense svd
// -------------------------------------------------------------------------------------

t.test('random square and rectangular matrices (3×50, 50×3, …): σ₁, u₁, v₁ of the Jacobi svd', async (t) => {
  const r = rng(1)
  for (const [rows, cols] of [[1, 1], [1, 9], [9, 1], [2, 2], [3, 50], [50, 3], [30, 30], [60, 60], [80, 20], [20, 80]] as const) {
    const A = randn(r, rows * cols)
    checkPair(t, `${rows}×${cols}`, A, rows, cols, topSingularPair(dense(rows, cols, A)))
  }
})

t.test('rank one: σ = ‖a‖‖b‖ and the vectors are a, b, in two steps', async (t) => {
  const r = rng(2)
  for (const [rows, cols] of [[4, 3], [40, 70], [70, 40]] as const) {
    const b = randn(r, rows), a = randn(r, cols)
    const A = new Float64Array(rows * cols)
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) A[i * cols + j] = b[i]! * a[j]!
    const res = topSingularPair(dense(rows, cols, A))
    t.ok(Math.abs(res.sigma - norm(a) * norm(b)) <= 1e-14 * norm(a) * norm(b), `${rows}×${cols}: σ`)
    t.ok(res.converged && res.iterations <= 2, `${rows}×${cols}: ${res.iterations} steps`)
    let da = 0, db = 0
    for (let j = 0; j < cols; j++) da += res.v[j]! * a[j]!
    for (let i = 0; i < rows; i++) db += res.u[i]! * b[i]!
    t.ok(Math.abs(Math.abs(da) - norm(a)) <= 1e-13 * norm(a) && Math.abs(Math.abs(db) - norm(b)) <= 1e-13 * norm(b), `${rows}×${cols}: vectors`)
  }
})

t.test('the zero matrix: σ = 0, residual 0, deterministic unit vectors', async (t) => {
  for (const [rows, cols] of [[1, 1], [5, 3], [3, 5], [30, 30]] as const) {
    const A = new Float64Array(rows * cols)
    const a = topSingularPair(dense(rows, cols, A)), b = topSingularPair(matrixFree(rows, cols, A))
    t.same([a.sigma, a.residual, a.converged, a.iterations], [0, 0, true, 1], `${rows}×${cols}`)
    t.ok(Math.abs(norm(a.u) - 1) <= 1e-15 && Math.abs(norm(a.v) - 1) <= 1e-15, `${rows}×${cols}: unit vectors`)
    t.same([Array.from(a.u), Array.from(a.v)], [Array.from(b.u), Array.from(b.v)], `${rows}×${cols}: the same vectors every time`)
  }
})

t.test('near tie σ₁ = 1, σ₂ = 1 − 1e-9: σ₁ and the residual are right; u, v lie in the top-two span', async (t) => {
  const r = rng(3)
  for (const [rows, cols, gap] of [[40, 40, 1e-9], [60, 25, 1e-12], [25, 60, 1e-6], [30, 30, 0]] as const) {
    const s = [1, 1 - gap, 0.9, 0.5, 0.3, 0.1]
    const { A, X, Y } = withSpectrum(r, rows, cols, s)
    const res = topSingularPair(dense(rows, cols, A))
    t.ok(res.converged, `gap ${gap}, ${rows}×${cols}: converged`)
    t.ok(Math.abs(res.sigma - 1) <= 1e-12, `gap ${gap}: σ₁`, { sigma: res.sigma })
    t.ok(residualOf(A, rows, cols, res.sigma, res.u, res.v) <= TOL * 1.01, `gap ${gap}: residual`)
    t.ok(1 - inSpan(res.u, X, rows, 6, 2) <= 1e-12 && 1 - inSpan(res.v, Y, cols, 6, 2) <= 1e-12, `gap ${gap}: in the span of the top two`)
  }
})

t.test('ill-conditioned spectra (σ from 1 down to 1e-15, rank deficient)', async (t) => {
  const r = rng(4)
  for (const [rows, cols, s] of [
    [50, 40, Array.from({ length: 40 }, (_, i) => 10 ** (-i * 15 / 39))],
    [40, 50, [3, ...new Array(39).fill(1e-14)]],
    [45, 45, [2, 1.5, 1, 0.5, 0, 0, 0, 0]]
  ] as const) {
    const { A } = withSpectrum(r, rows, cols, s)
    checkPair(t, `${rows}×${cols}, σ₁ = ${s[0]}`, A, rows, cols, topSingularPair(dense(rows, cols, A)))
  }
})

t.test('matrix-free: the same pair as the dense form; out arrives zero-filled', async (t) => {
  const r = rng(5)
  for (const [rows, cols] of [[30, 30], [12, 40], [40, 12]] as const) {
    const A = randn(r, rows * cols)
    const d = topSingularPair(dense(rows, cols, A)), f = topSingularPair(matrixFree(rows, cols, A))
    checkPair(t, `matrix-free ${rows}×${cols}`, A, rows, cols, f)
    t.ok(Math.abs(d.sigma - f.sigma) <= 1e-13 * d.sigma, `${rows}×${cols}: same σ as dense`)
  }
  // An accumulating operator (out += A v) is right only if out starts at zero.
  const A = randn(r, 10 * 10)
  const acc: MatrixFreeOperator = {
    rows: 10, cols: 10,
    apply: (v, out) => { for (let i = 0; i < 10; i++) for (let j = 0; j < 10; j++) out[i] = out[i]! + A[i * 10 + j]! * v[j]! },
    applyT: (u, out) => { for (let i = 0; i < 10; i++) for (let j = 0; j < 10; j++) out[j] = out[j]! + A[i * 10 + j]! * u[i]! }
  }
  checkPair(t, 'accumulating operator', A, 10, 10, topSingularPair(acc))
})

t.test('a matrix-free operator with no dense form at hand: diag(d) + x yᵀ, 160 × 120', async (t) => {
  const r = rng(6)
  const rows = 160, cols = 120
  const d = randn(r, cols), x = randn(r, rows), y = randn(r, cols)
  const op: MatrixFreeOperator = {
    rows, cols,
    apply: (v, out) => { let s = 0; for (let j = 0; j < cols; j++) { s += y[j]! * v[j]!; out[j] = d[j]! * v[j]! } for (let i = 0; i < rows; i++) out[i] = out[i]! + x[i]! * s },
    applyT: (u, out) => { let s = 0; for (let i = 0; i < rows; i++) s += x[i]! * u[i]!; for (let j = 0; j < cols; j++) out[j] = d[j]! * u[j]! + y[j]! * s }
  }
  const A = new Float64Array(rows * cols)
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) A[i * cols + j] = (i === j ? d[j]! : 0) + x[i]! * y[j]!
  checkPair(t, 'diag + rank one', A, rows, cols, topSingularPair(op))
})

// -------------------------------------------------------------------------------------
// warm start, restarts, iterations
// -------------------------------------------------------------------------------------

t.test('warm start from the pair of a slightly perturbed matrix takes fewer steps than the cold start', async (t) => {
  const r = rng(7)
  for (const [rows, cols] of [[100, 100], [150, 60], [60, 150]] as const) {
    const A = randn(r, rows * cols)
    const prev = topSingularPair(dense(rows, cols, A))
    for (const eps of [1e-3, 1e-6]) {
      const A2 = A.map((x) => x + eps * r.normal())
      const cold = topSingularPair(dense(rows, cols, A2))
      const fromV = topSingularPair(dense(rows, cols, A2), { start: { v: prev.v } })
      const fromU = topSingularPair(dense(rows, cols, A2), { start: { u: prev.u } })
      const both = topSingularPair(dense(rows, cols, A2), { start: { u: prev.u, v: prev.v } })
      for (const [how, w] of [['v', fromV], ['u', fromU], ['u and v', both]] as const) {
        checkPair(t, `${rows}×${cols}, δ = ${eps}, warm ${how}`, A2, rows, cols, w)
        t.comment(`${rows}×${cols}, δ = ${eps}, warm ${how}: ${w.iterations} vs cold ${cold.iterations}`)
        t.ok(w.iterations < cold.iterations, `${rows}×${cols}, δ = ${eps}, warm ${how}: ${w.iterations} < ${cold.iterations} steps`)
      }
    }
  }
})

t.test('warm start from the exact pair: fewer steps (the mixed-in random start costs some); a zero start vector means a cold start', async (t) => {
  const r = rng(8)
  const A = randn(r, 40 * 30)
  const cold = topSingularPair(dense(40, 30, A))
  const again = topSingularPair(dense(40, 30, A), { start: { v: cold.v } })
  t.comment(`from the exact pair: ${again.iterations} steps, cold ${cold.iterations}`)
  t.ok(again.converged && again.iterations < cold.iterations, `${again.iterations} < ${cold.iterations}`)
  t.ok(Math.abs(again.sigma - cold.sigma) <= 1e-14 * cold.sigma)
  const zero = topSingularPair(dense(40, 30, A), { start: { v: new Float64Array(30) } })
  t.same([zero.iterations, zero.sigma], [cold.iterations, cold.sigma])
})

t.test('a warm start inside an invariant subspace that misses σ₁ still finds σ₁', async (t) => {
  // diag(1, 2, …) from e₁: alone, e₁ spans an invariant subspace (σ = 1, residual 0).
  for (const n of [2, 6, 40]) {
    const A = new Float64Array(n * n)
    for (let i = 0; i < n; i++) A[i * n + i] = i === 1 ? 2 : 1 / (i + 1)
    const e1 = new Float64Array(n)
    e1[0] = 1
    for (const start of [{ v: e1 }, { u: e1 }]) {
      const res = topSingularPair(dense(n, n, A), { start })
      t.ok(res.converged && Math.abs(res.sigma - 2) <= 1e-14, `n = ${n}, start ${Object.keys(start)[0]}: σ = ${res.sigma}`)
      t.ok(Math.abs(Math.abs(res.v[1]!) - 1) <= 1e-12, `n = ${n}: v = ±e₂`)
    }
  }
})

t.test('equal inputs give bit-identical results and iteration counts', async (t) => {
  const r = rng(9)
  const A = randn(r, 50 * 50)
  const a = topSingularPair(dense(50, 50, A)), b = topSingularPair(dense(50, 50, Float64Array.from(A)))
  t.same([a.sigma, a.iterations, a.residual, Array.from(a.u), Array.from(a.v)], [b.sigma, b.iterations, b.residual, Array.from(b.u), Array.from(b.v)])
})

t.test('small bases force many thick restarts and still converge to the same pair', async (t) => {
  const r = rng(10)
  const A = randn(r, 70 * 70)
  const big = topSingularPair(dense(70, 70, A), { basis: 70 })
  for (const basis of [2, 3, 5, 10, 40]) {
    const res = topSingularPair(dense(70, 70, A), { basis })
    checkPair(t, `basis ${basis}`, A, 70, 70, res)
    t.ok(Math.abs(res.sigma - big.sigma) <= 1e-13 * big.sigma, `basis ${basis}: σ as without restarts`)
  }
})

t.test('maxIterations: stops there with converged false and the true (large) residual', async (t) => {
  const r = rng(11)
  const A = randn(r, 60 * 60)
  const res = topSingularPair(dense(60, 60, A), { maxIterations: 3 })
  t.equal(res.iterations, 3)
  t.equal(res.converged, false)
  t.ok(res.residual > TOL * res.sigma)
  t.ok(Math.abs(residualOf(A, 60, 60, res.sigma, res.u, res.v) - res.residual) <= 1e-12 * res.sigma, 'the reported residual is the true one')
  const loose = topSingularPair(dense(60, 60, A), { tolerance: 1e-3 })
  const tight = topSingularPair(dense(60, 60, A))
  t.ok(loose.iterations < tight.iterations && loose.residual <= 1e-3 * loose.sigma, 'a looser tolerance stops earlier')
})

t.test('a Krylov space that fills the smaller side ends exactly (n = 4, any tolerance)', async (t) => {
  const r = rng(12)
  const A = randn(r, 30 * 4)
  const res = topSingularPair(dense(30, 4, A), { tolerance: 0 })
  t.ok(res.iterations <= 4, `${res.iterations} steps`)
  t.ok(Math.abs(res.sigma - svd(A, 30, 4).s[0]!) <= 1e-14 * res.sigma, 'σ₁')
})

// -------------------------------------------------------------------------------------
// top r
// -------------------------------------------------------------------------------------

t.test('topSingularTriplets: the r largest triplets of the svd, orthonormal, residuals ≤ tol·σ₁', async (t) => {
  const r = rng(13)
  for (const [rows, cols, k] of [[60, 60, 4], [80, 30, 3], [30, 80, 5], [10, 10, 10], [6, 5, 5]] as const) {
    const A = randn(r, rows * cols)
    const ref = svd(A, rows, cols)
    const res = topSingularTriplets(dense(rows, cols, A), k)
    const p = Math.min(rows, cols)
    t.ok(res.converged, `${rows}×${cols}, r = ${k}: converged`)
    t.ok(res.sigma.every((s, i) => Math.abs(s - ref.s[i]!) <= 1e-12 * ref.s[0]!), `${rows}×${cols}, r = ${k}: σ`)
    for (let i = 0; i < k; i++) {
      const u = Array.from({ length: rows }, (_, q) => res.U[q * k + i]!), v = Array.from({ length: cols }, (_, q) => res.V[q * k + i]!)
      const own = residualOf(A, rows, cols, res.sigma[i]!, u, v)
      t.ok(own <= TOL * ref.s[0]! * 1.01 && res.residuals[i]! <= TOL * res.sigma[0]!, `${rows}×${cols}: residual ${i}`)
      t.ok(1 - alignment(v, ref.V, cols, p, i) <= 1e-8, `${rows}×${cols}: v ${i}`)
    }
    let orth = 0
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
      let su = 0, sv = 0
      for (let q = 0; q < rows; q++) su += res.U[q * k + a]! * res.U[q * k + b]!
      for (let q = 0; q < cols; q++) sv += res.V[q * k + a]! * res.V[q * k + b]!
      orth = Math.max(orth, Math.abs(su - (a === b ? 1 : 0)), Math.abs(sv - (a === b ? 1 : 0)))
    }
    t.ok(orth <= 1e-13, `${rows}×${cols}: orthonormal`, { orth })
    t.equal(res.residual, Math.max(...res.residuals))
  }
})

// -------------------------------------------------------------------------------------
// scales
// -------------------------------------------------------------------------------------

t.test('scales 1e-200 and 1e200 (dense, prescaled) and 1e150 (matrix-free)', async (t) => {
  const r = rng(14)
  const A = randn(r, 25 * 20)
  const base = topSingularPair(dense(25, 20, A))
  for (const s of [1e-200, 1e-300, 1e200, 1e300]) {
    const res = topSingularPair(dense(25, 20, A.map((x) => x * s)))
    t.ok(res.converged && Math.abs(res.sigma / s - base.sigma) <= 1e-13 * base.sigma, `dense ${s}`)
  }
  for (const s of [1e-150, 1e150]) {
    const res = topSingularPair(matrixFree(25, 20, A.map((x) => x * s)))
    t.ok(res.converged && Math.abs(res.sigma / s - base.sigma) <= 1e-13 * base.sigma, `matrix-free ${s}`)
  }
})

// -------------------------------------------------------------------------------------
// edges and refusals
// -------------------------------------------------------------------------------------

t.test('empty shapes give σ = 0', async (t) => {
  for (const [rows, cols] of [[0, 0], [0, 3], [4, 0]] as const) {
    const res = topSingularPair(dense(rows, cols, new Float64Array(0)))
    t.same([res.sigma, res.u.length, res.v.length, res.converged], [0, rows, cols, true], `${rows}×${cols}`)
  }
})

t.test('bad sizes, options, entries and products are refused with a RangeError', async (t) => {
  const A = dense(3, 2, new Float64Array(6).fill(1))
  t.throws(() => topSingularPair(dense(3, 2, new Float64Array(5))), RangeError)
  t.throws(() => topSingularPair(dense(3, 2, Float64Array.from([1, 2, 3, NaN, 5, 6]))), { name: 'RangeError', message: /data\[1\]\[1\]/ })
  t.throws(() => topSingularPair(dense(-1, 2, new Float64Array(0))), RangeError)
  t.throws(() => topSingularPair(A, { tolerance: -1 }), RangeError)
  t.throws(() => topSingularPair(A, { maxIterations: 0 }), RangeError)
  t.throws(() => topSingularPair(A, { basis: 3 }), RangeError)
  t.throws(() => topSingularPair(A, { start: { v: new Float64Array(3) } }), { name: 'RangeError', message: /start\.v/ })
  t.throws(() => topSingularPair(A, { start: { u: new Float64Array(2) } }), { name: 'RangeError', message: /start\.u/ })
  t.throws(() => topSingularTriplets(A, 3), RangeError)
  t.throws(() => topSingularTriplets(A, 0), RangeError)
  const nan: MatrixFreeOperator = { rows: 3, cols: 3, apply: (_v, out) => { out[0] = NaN }, applyT: (_u, out) => { out[1] = Infinity } }
  t.throws(() => topSingularPair(nan), { name: 'RangeError', message: /non-finite/ })
})

t.test('topSingularPair leaves the matrix and the start vectors unchanged', async (t) => {
  const r = rng(15)
  const A = randn(r, 20 * 15), u = randn(r, 20), v = randn(r, 15)
  leavesInputs(t, 'topSingularPair', [A, u, v], () => topSingularPair(dense(20, 15, A), { start: { u, v } }))
  leavesInputs(t, 'topSingularTriplets', [A, u], () => topSingularTriplets(dense(20, 15, A), 3, { start: { u } }))
})
