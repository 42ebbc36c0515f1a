/**
 * The nuclear-norm ball: the layer's solve and derivative against a full-SVD projection, as
 * the matrix grows.
 *
 * Problems: X is m × m, Q = −(A Bᵀ + 0.3·noise) with A, B m × 5 standard normal (a rank-5
 * signal), t = ½·Σσ₁…₅ of the signal part (so the solution has rank about 5), and
 * - `c·I`: P = I (diag form), where the solution is the projection Π(−Q) itself: the
 *   baseline is `projectNuclear` (one full SVD, one-sided Jacobi) and its closed-form
 *   derivative (`projectionJvp`, an O(m³) product with the SVD's factors); m = 20, 50, 100,
 *   200, 300;
 * - `diag`: P = diag(d), d uniform in [0.5, 1.5], where no projection gives the solution
 *   (projected gradient needs one full SVD per step; the baseline column is one SVD at m ≤ 300);
 *   m = 100, 300, 500, 1000.
 *
 * Columns: the layer's forward time (`fwd`: the default schedule and polish; `(cpu)`: its
 * CPU time, the steadier figure on a loaded machine), one VJP
 * (`vjp`, which builds the derivative's system, then solves) and one JVP after it (`jvp`),
 * the steps, the rank, the derivative's solver (`cholesky` for small tangent spaces, `pcg`),
 * the gap; for c·I the projection's time (`svd`), the closed-form derivative's (`svd jvp`),
 * and ‖x − Π(−Q)‖∞/‖Π(−Q)‖∞ (`x err`). Each cell is the fastest of `runs` runs (3; 1 at
 * m ≥ 500) after one warm-up at the smallest size; the machine is shared, so the fastest run
 * is the least disturbed figure. The load average is printed with the table.
 *
 * Run it with `npx tsx bench/nuclear.ts` (a table), `--json` (rows as JSON), `--quick`
 * (m ≤ 100); `npm run bench -- --only nuclear` runs it with the others' conventions.
 *
 * @since 0.1.0
 */
import { performance } from 'node:perf_hooks'
import { cpus, loadavg } from 'node:os'
import { pathToFileURL } from 'node:url'
import { unsafeDim } from '../src/shapes/Dim.js'
import { lowRank } from '../src/core/LinearOperator.js'
import { rng } from '../src/core/Random.js'
import { svd } from '../src/core/Eigen.js'
import { dfwLayer } from '../src/fw/Layer.js'
import { projectNuclear, projectionJvp } from '../src/fw/nuclear/Projection.js'
import type { NuclearFaceReport } from '../src/fw/nuclear/Derivative.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** One measured row. */
export interface Row {
  readonly P: 'c·I' | 'diag'
  readonly m: number
  readonly fwdMs: number
  /** The forward run's CPU time (user + system) in ms: less disturbed than wall time on a loaded machine. */
  readonly fwdCpuMs: number
  readonly vjpMs: number
  readonly jvpMs: number
  readonly steps: number
  readonly rank: number
  readonly method: string
  readonly gap: number
  readonly status: string
  /** The full SVD projection (c·I), or one SVD (diag, m ≤ 300). */
  readonly svdMs?: number
  /** The projection's closed-form JVP (c·I). */
  readonly svdJvpMs?: number
  /** ‖x − Π(−Q)‖∞ / ‖Π(−Q)‖∞ (c·I). */
  readonly xErr?: number
}

/** Options of {@link run}. */
export interface Options {
  readonly quick?: boolean
  readonly runs?: number
}

// -------------------------------------------------------------------------------------
// problems
// -------------------------------------------------------------------------------------

const RANK = 5

const problem = (m: number, kind: Row['P'], seed: number): { q: Float64Array; d: Float64Array; t: number } => {
  const r = rng(seed)
  const n = m * m
  const A = Float64Array.from({ length: m * RANK }, () => r.normal()), B = Float64Array.from({ length: m * RANK }, () => r.normal())
  const signal = new Float64Array(n)
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
    let s = 0
    for (let l = 0; l < RANK; l++) s += A[i * RANK + l]! * B[j * RANK + l]!
    signal[i * m + j] = s
  }
  // t: half the signal's nuclear norm, from its RANK singular values (A Bᵀ has rank RANK)
  const k = Math.min(m, 60), sub = svd(signal.subarray(0, k * m), k, m).s
  let nn = 0
  for (let a = 0; a < RANK; a++) nn += sub[a]! * Math.sqrt(m / k)
  const q = Float64Array.from(signal, (v) => -(v + 0.3 * r.normal()))
  const d = kind === 'c·I' ? new Float64Array(n).fill(1) : Float64Array.from({ length: n }, () => 0.5 + r.uniform())
  return { q, d, t: 0.5 * nn }
}

const best = (runs: number, f: () => void): number => bestWithCpu(runs, f).wall

/** The fastest wall time of `runs` runs, and the least CPU time (user + system) among them. */
const bestWithCpu = (runs: number, f: () => void): { wall: number; cpu: number } => {
  let wall = Infinity, cpu = Infinity
  for (let k = 0; k < runs; k++) {
    const c0 = process.cpuUsage(), t0 = performance.now()
    f()
    const t1 = performance.now(), c1 = process.cpuUsage(c0)
    wall = Math.min(wall, t1 - t0)
    cpu = Math.min(cpu, (c1.user + c1.system) / 1000)
  }
  return { wall, cpu }
}

// -------------------------------------------------------------------------------------
// the bench
// -------------------------------------------------------------------------------------

/**
 * One row: the layer at size m with P of the given kind.
 *
 * @example
 * runRow('c·I', 100, 3).fwdMs
 */
export const runRow = (kind: Row['P'], m: number, runs: number): Row => {
  const n = m * m, dim = unsafeDim<'n'>(n)
  const { q, d, t } = problem(m, kind, 1000 + m)
  const P = lowRank({ dim, data: d }, 0, new Float64Array(0))
  const layer = dfwLayer()
  const prob = { P, q: { dim, data: q }, t, set: { kind: 'nuclear' as const, rows: m, cols: m } }
  const ct = { dim, data: Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1)) }
  let res = layer(prob), vjpMs = Infinity, jvpMs = Infinity
  const { wall: fwdMs, cpu: fwdCpuMs } = bestWithCpu(runs, () => { res = layer(prob) })
  for (let k = 0; k < runs; k++) {
    const r = layer(prob)
    const t0 = performance.now()
    const g = r.vjp(ct)
    const t1 = performance.now()
    r.jvp({ q: g.q })
    const t2 = performance.now()
    vjpMs = Math.min(vjpMs, t1 - t0)
    jvpMs = Math.min(jvpMs, t2 - t1)
  }
  const face = res.face as NuclearFaceReport
  const row = {
    P: kind, m, fwdMs, fwdCpuMs, vjpMs, jvpMs, steps: res.iterations, rank: face.rank, method: n <= 0 ? '' : methodOf(face, m), gap: res.gap, status: res.status
  }
  if (m > 300) return row
  if (kind === 'diag') {
    const svdMs = best(Math.min(runs, 2), () => { svd(q, m, m) })
    return { ...row, svdMs }
  }
  let pr = projectNuclear(Float64Array.from(q, (v) => -v), m, m, t)
  const svdMs = best(Math.min(runs, 2), () => { pr = projectNuclear(Float64Array.from(q, (v) => -v), m, m, t) })
  const svdJvpMs = best(runs, () => { projectionJvp(pr, ct.data, 0) })
  let e = 0, s = 0
  for (let i = 0; i < n; i++) { e = Math.max(e, Math.abs(res.x.data[i]! - pr.x[i]!)); s = Math.max(s, Math.abs(pr.x[i]!)) }
  return { ...row, svdMs, svdJvpMs, xErr: e / s }
}

/** The derivative's solver, as `Manifold.ts` picks it: dense Cholesky when d ≤ 500 and cheap. */
const methodOf = (face: NuclearFaceReport, m: number): string => {
  const r = face.rank, d = r * r + 2 * r * m
  return r === 0 ? 'interior' : d <= 500 && d * 8 * m * m * r <= 3e8 ? 'cholesky' : 'pcg'
}

/**
 * Every row (c·I at m = 20 … 300, diag at 100 … 1000; `quick`: m ≤ 100).
 *
 * @example
 * table(run({ quick: true }))
 */
export const run = (opts: Options = {}): Row[] => {
  const runs = opts.runs ?? 3
  const sizes: ReadonlyArray<readonly [Row['P'], number]> = opts.quick === true
    ? [['c·I', 20], ['c·I', 50], ['c·I', 100], ['diag', 100]]
    : [['c·I', 20], ['c·I', 50], ['c·I', 100], ['c·I', 200], ['c·I', 300], ['diag', 100], ['diag', 300], ['diag', 500], ['diag', 1000]]
  runRow('c·I', 20, 1) // warm-up
  return sizes.map(([k, m]) => runRow(k, m, m >= 500 ? 1 : runs))
}

const fmt = (v: number | undefined): string => (v === undefined ? '–' : v >= 100 ? v.toFixed(0) : v.toPrecision(3))

/**
 * The rows as a text table.
 *
 * @example
 * console.log(table(run()))
 */
export const table = (rows: ReadonlyArray<Row>): string => {
  const head = ['P', 'm×m', 'fwd ms', '(cpu)', 'vjp ms', 'jvp ms', 'steps', 'rank', 'solver', 'gap', 'status', 'svd ms', 'svd jvp ms', 'svd / fwd', 'x err']
  const body = rows.map((r) => [r.P, `${r.m}×${r.m}`, fmt(r.fwdMs), fmt(r.fwdCpuMs), fmt(r.vjpMs), fmt(r.jvpMs), String(r.steps), String(r.rank), r.method, r.gap.toExponential(1), r.status,
    fmt(r.svdMs), fmt(r.svdJvpMs), r.svdMs === undefined ? '–' : (r.svdMs / r.fwdMs).toFixed(1), r.xErr === undefined ? '–' : r.xErr.toExponential(1)])
  const w = head.map((h, k) => Math.max(h.length, ...body.map((b) => b[k]!.length)))
  const line = (cs: ReadonlyArray<string>): string => cs.map((c, k) => (k <= 1 || k === 8 || k === 10 ? c.padEnd(w[k]!) : c.padStart(w[k]!))).join('  ')
  return [line(head), w.map((x) => '-'.repeat(x)).join('  '), ...body.map(line)].join('\n')
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href

if (isMain) {
  const args = process.argv.slice(2)
  const machine = `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`
  const rows = run({ quick: args.includes('--quick') })
  if (args.includes('--json')) process.stdout.write(JSON.stringify({ machine, rows }) + '\n')
  else process.stdout.write(`# nuclear (${machine})\n${table(rows)}\n(load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')})\n`)
}
