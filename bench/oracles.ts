/**
 * The linear minimization oracles of the Birkhoff polytope and the nuclear-norm ball,
 * against what a projection would need.
 *
 * - assignment (Assignment.ts) on random normal costs, m = 10, 30, 100, 300, cold and
 *   warm-started from the potentials of the matrix before a perturbation of 1e-3 (as
 *   between Frank-Wolfe steps).
 * - topSingularPair (Lanczos.ts, tolerance 1e-10) against the full svd (Eigen.ts, one-sided
 *   Jacobi, the reference a projection onto the nuclear-norm ball needs) on random normal
 *   matrices, 50×50, 100×100, 300×300; the Lanczos pair also warm-started from the pair
 *   of the matrix before a perturbation of 1e-3 per entry.
 *
 * Each cell warms up (three calls or 50 ms), then runs `runs` times (7, or 3 for the 300×300 svd); the
 * table reports the median and the fastest run in milliseconds. "steps" is the Lanczos
 * step count (deterministic) and "svd / this" the svd's fastest run over the row's.
 *
 * Run it with `npx tsx bench/oracles.ts` (a table) or `npx tsx bench/oracles.ts --json`
 * (one JSON object per row). `--quick` runs three times per cell.
 *
 * @since 0.1.0
 */
import { performance } from 'node:perf_hooks'
import { cpus, loadavg } from 'node:os'
import { assignment, assignmentFrom } from '../src/core/Assignment.js'
import { topSingularPair } from '../src/core/Lanczos.js'
import { svd } from '../src/core/Eigen.js'
import { rng } from '../src/core/Random.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** One measured cell. */
export interface Row {
  readonly oracle: 'assignment' | 'assignmentFrom' | 'topSingularPair' | 'topSingularPair warm' | 'svd'
  readonly size: string
  readonly msMedian: number
  readonly msMin: number
  /** Lanczos steps, when the row is a Lanczos run. */
  readonly steps?: number
  /** The svd's fastest time over this row's fastest, for the Lanczos rows (the fastest run is the least disturbed by other load). */
  readonly svdOverThis?: number
}

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

let sink = 0

const time = (f: () => number, runs: number): { median: number; min: number } => {
  // Warm up (the JIT and the allocator) for three calls or 50 ms, whichever is longer.
  const w0 = performance.now()
  for (let k = 0; k < 3 || performance.now() - w0 < 50; k++) sink += f()
  const ts: number[] = []
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now()
    sink += f()
    ts.push(performance.now() - t0)
  }
  ts.sort((a, b) => a - b)
  return { median: ts[ts.length >> 1]!, min: ts[0]! }
}

const normals = (n: number, seed: number): Float64Array => {
  const r = rng(seed)
  return Float64Array.from({ length: n }, () => r.normal())
}

const perturbed = (a: Float64Array, eps: number, seed: number): Float64Array => {
  const r = rng(seed)
  return a.map((x) => x + eps * r.normal())
}

// -------------------------------------------------------------------------------------
// run
// -------------------------------------------------------------------------------------

/**
 * Every cell of the table.
 *
 * @example
 * const rows = run({ quick: true })
 */
export const run = (opts: { readonly quick?: boolean } = {}): Row[] => {
  const runs = opts.quick === true ? 3 : 7
  const rows: Row[] = []
  // Compile every code path first (the first calls of the small dense decompositions
  // inside Lanczos take ~100 ms): 0.3 s of each oracle on 40 × 40.
  const W = normals(1600, 1), W2 = perturbed(W, 1e-3, 2)
  for (const f of [
    () => assignment(W, 40).value + assignmentFrom(W2, 40, assignment(W, 40).v).value,
    () => topSingularPair({ rows: 40, cols: 40, data: W2 }, { start: { v: topSingularPair({ rows: 40, cols: 40, data: W }).v } }).sigma,
    () => svd(W, 40, 40).s[0]!
  ]) {
    const t0 = performance.now()
    while (performance.now() - t0 < 300) sink += f()
  }
  for (const m of [10, 30, 100, 300]) {
    const c0 = normals(m * m, m), c = perturbed(c0, 1e-3, m + 1)
    const prev = assignment(c0, m)
    const cold = time(() => assignment(c, m).value, runs)
    const warm = time(() => assignmentFrom(c, m, prev.v).value, runs)
    rows.push({ oracle: 'assignment', size: `${m}×${m}`, msMedian: cold.median, msMin: cold.min })
    rows.push({ oracle: 'assignmentFrom', size: `${m}×${m}`, msMedian: warm.median, msMin: warm.min })
  }
  for (const n of [50, 100, 300]) {
    const A0 = normals(n * n, 7 * n), A = perturbed(A0, 1e-3, 7 * n + 1)
    const op = { rows: n, cols: n, data: A }
    const prev = topSingularPair({ rows: n, cols: n, data: A0 })
    const full = time(() => svd(A, n, n).s[0]!, n >= 300 ? Math.min(runs, 3) : runs)
    const cold = time(() => topSingularPair(op).sigma, runs)
    const warm = time(() => topSingularPair(op, { start: { v: prev.v } }).sigma, runs)
    const steps = topSingularPair(op).iterations, warmSteps = topSingularPair(op, { start: { v: prev.v } }).iterations
    rows.push({ oracle: 'svd', size: `${n}×${n}`, msMedian: full.median, msMin: full.min })
    rows.push({ oracle: 'topSingularPair', size: `${n}×${n}`, msMedian: cold.median, msMin: cold.min, steps, svdOverThis: full.min / cold.min })
    rows.push({ oracle: 'topSingularPair warm', size: `${n}×${n}`, msMedian: warm.median, msMin: warm.min, steps: warmSteps, svdOverThis: full.min / warm.min })
  }
  return rows
}

/**
 * The rows as an aligned text table.
 *
 * @example
 * console.log(table(run()))
 */
export const table = (rows: ReadonlyArray<Row>): string => {
  const head = ['oracle', 'size', 'ms (median)', 'ms (min)', 'steps', 'svd / this']
  const body = rows.map((r) => [
    r.oracle, r.size, r.msMedian.toFixed(3), r.msMin.toFixed(3),
    r.steps === undefined ? '' : String(r.steps), r.svdOverThis === undefined ? '' : r.svdOverThis.toFixed(1)
  ])
  const w = head.map((h, k) => Math.max(h.length, ...body.map((b) => b[k]!.length)))
  const line = (cells: ReadonlyArray<string>): string => cells.map((c, k) => (k < 2 ? c.padEnd(w[k]!) : c.padStart(w[k]!))).join('  ')
  return [line(head), line(w.map((x) => '-'.repeat(x))), ...body.map(line)].join('\n')
}

const args = process.argv.slice(2)
const rows = run({ quick: args.includes('--quick') })
if (args.includes('--json')) for (const r of rows) console.log(JSON.stringify(r))
else {
  console.log(`# oracles (node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`)
  console.log(table(rows))
}
if (sink === 0.123456789) console.log('')
