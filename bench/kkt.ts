/**
 * Micro-benchmark of the face solvers: pivoted Cholesky (Cholesky.ts) and the bordered
 * KKT solver (Kkt.ts). Standalone, not part of `bench/index.ts`.
 *
 * Rows:
 * - `cholesky` factor and `solveCholesky` of an SPD m × m matrix, m = 100, 300, 1000
 *   (m³/3 flops for the factor), and the factor of a rank-m/2 PSD matrix at m = 1000
 *   (which adds the search for negative curvature and the minimum-norm data);
 * - `appendIndex` / `removeIndex` (O(m²)) at m = 300 and 1000;
 * - `kktSolver` on dense positive definite H with k = 10 rows of E: the build (factor of
 *   M, Schur complement) and one solve with refinement, m = 100, 300, 1000;
 * - Woodbury: diag + rank 20, m = 2000, k = 10, build and solve;
 * - PCG: a sparse SPD operator (a 1-D Laplacian plus a diagonal, m = 2000, k = 5),
 *   one solve to the default true-residual tolerance 1e-12.
 *
 * Each row is timed `reps` times after one warm-up; the table gives the median and the
 * fastest in milliseconds (the machine is shared: the fastest is the less noisy figure).
 *
 * Run it with `npx tsx bench/kkt.ts` (a table) or `npx tsx bench/kkt.ts --json` (one JSON
 * row per line).
 *
 * @since 0.1.0
 */
import { performance } from 'node:perf_hooks'
import { cholesky, solveCholesky, appendIndex, removeIndex } from '../src/core/Cholesky.js'
import { kktSolver, type KktSystem } from '../src/core/Kkt.js'
import { rng, type Rng } from '../src/core/Random.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** One measured row. */
interface Row {
  readonly bench: string
  readonly m: number
  readonly msMedian: number
  readonly msMin: number
  readonly reps: number
  readonly note: string
}

// -------------------------------------------------------------------------------------
// problems
// -------------------------------------------------------------------------------------

const randn = (r: Rng, n: number): Float64Array => Float64Array.from({ length: n }, () => r.normal())

/** B Bᵀ / k + shift · I with B m × k normal (SPD when shift > 0 or k ≥ m). */
const gram = (r: Rng, m: number, k: number, shift: number): Float64Array => {
  const B = randn(r, m * k)
  const A = new Float64Array(m * m)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0
      for (let l = 0; l < k; l++) s += B[i * k + l]! * B[j * k + l]!
      A[i * m + j] = s / k
      A[j * m + i] = s / k
    }
    A[i * m + i] = A[i * m + i]! + shift
  }
  return A
}

// -------------------------------------------------------------------------------------
// timing
// -------------------------------------------------------------------------------------

const time = (bench: string, m: number, reps: number, note: string, f: () => unknown): Row => {
  f()
  const ts: number[] = []
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now()
    f()
    ts.push(performance.now() - t0)
  }
  ts.sort((a, b) => a - b)
  return { bench, m, msMedian: ts[Math.floor(reps / 2)]!, msMin: ts[0]!, reps, note }
}

// -------------------------------------------------------------------------------------
// main
// -------------------------------------------------------------------------------------

const main = (): void => {
  const json = process.argv.includes('--json')
  const rows: Row[] = []
  const emit = (row: Row): void => {
    rows.push(row)
    if (json) console.log(JSON.stringify(row))
  }
  const r = rng(2024)
  for (const m of [100, 300, 1000]) {
    const A = gram(r, m, m, 1)
    const reps = m === 1000 ? 5 : 15
    emit(time('cholesky factor (SPD)', m, reps, `${((m ** 3 / 3) / 1e6).toFixed(1)} Mflop`, () => cholesky(A, m)))
    const f = cholesky(A, m), b = randn(r, m)
    emit(time('solveCholesky', m, 50, 'two triangular solves', () => solveCholesky(f, b)))
  }
  {
    const m = 1000, A = gram(r, m, m / 2, 0)
    const f = cholesky(A, m)
    emit(time('cholesky factor (rank m/2)', m, 5, `rank ${f.rank}, negative search + min-norm data`, () => cholesky(A, m)))
    const b = randn(r, m)
    emit(time('solveCholesky (rank m/2)', m, 50, 'minimum-norm', () => solveCholesky(f, b)))
  }
  for (const m of [300, 1000]) {
    const A = gram(r, m + 1, m + 1, 1)
    const lead = new Float64Array(m * m)
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) lead[i * m + j] = A[i * (m + 1) + j]!
    const f = cholesky(lead, m)
    const col = Float64Array.from({ length: m + 1 }, (_, i) => A[i * (m + 1) + m]!)
    emit(time('appendIndex', m, 20, 'O(m²)', () => appendIndex(f, col)))
    emit(time('removeIndex (position 0)', m, 20, 'O(m²), m − 1 Givens rotations', () => removeIndex(f, 0)))
  }
  for (const m of [100, 300, 1000]) {
    const k = 10
    const sys: KktSystem = { H: { kind: 'dense', m, H: gram(r, m, m, 0.1) }, E: { k, rows: randn(r, k * m) } }
    const reps = m === 1000 ? 5 : 15
    emit(time('kktSolver dense build', m, reps, `k = ${k}, H positive definite`, () => kktSolver(sys)))
    const s = kktSolver(sys), b = randn(r, m), c = randn(r, k)
    const y = s.solve(b, c)
    emit(time('kktSolver dense solve', m, 30, `residual ${y.residual.toExponential(1)}, ${y.refinements} refinement(s)`, () => s.solve(b, c)))
  }
  {
    const m = 2000, rk = 20, k = 10
    const sys: KktSystem = {
      H: { kind: 'diagLowRank', m, d: Float64Array.from({ length: m }, () => 0.1 + r.uniform()), r: rk, W: randn(r, m * rk) },
      E: { k, rows: randn(r, k * m) }
    }
    emit(time('kktSolver woodbury build', m, 15, `r = ${rk}, k = ${k}`, () => kktSolver(sys)))
    const s = kktSolver(sys), b = randn(r, m), c = randn(r, k)
    const y = s.solve(b, c)
    emit(time('kktSolver woodbury solve', m, 30, `residual ${y.residual.toExponential(1)}, ${y.refinements} refinement(s)`, () => s.solve(b, c)))
  }
  {
    const m = 2000, k = 5
    // a 1-D Laplacian (2, −1) plus a diagonal in [0.01, 1.01): sparse, SPD
    const dg = Float64Array.from({ length: m }, () => 2.01 + r.uniform())
    const apply = (p: Float64Array, out: Float64Array): void => {
      for (let i = 0; i < m; i++) out[i] = dg[i]! * p[i]! - (i > 0 ? p[i - 1]! : 0) - (i + 1 < m ? p[i + 1]! : 0)
    }
    const sys: KktSystem = { H: { kind: 'operator', m, apply, diag: dg }, E: { k, rows: randn(r, k * m) } }
    const s = kktSolver(sys), b = randn(r, m), c = randn(r, k)
    const y = s.solve(b, c)
    emit(time('kktSolver pcg solve', m, 15, `tridiagonal, k = ${k}: ${y.iterations} iterations, ${y.stop}, residual ${y.residual.toExponential(1)}`, () => s.solve(b, c)))
  }
  if (!json) {
    const pad = (s: string, n: number): string => s.padEnd(n)
    console.log(`${pad('bench', 30)}${pad('m', 6)}${pad('median ms', 12)}${pad('min ms', 10)}note`)
    for (const row of rows) {
      console.log(`${pad(row.bench, 30)}${pad(String(row.m), 6)}${pad(row.msMedian.toFixed(3), 12)}${pad(row.msMin.toFixed(3), 10)}${row.note}`)
    }
  }
}

main()
