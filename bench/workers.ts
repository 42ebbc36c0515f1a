/**
 * Does the worker pool (`dfwlayer/workers`) pay? A training step on a batch, forward +
 * VJP (one dense P shared by the batch, a q per instance, the gradient of Σ_b ⟨1, x_b⟩
 * in q, w and t), run by `dfwBatchSolve` + its `vjp` in this thread, against
 * `pool.batchSolve(options)(batch, { cotangent })` over the pool's workers (`minWork: 0`, so
 * that every cell goes to the workers: this is the measurement the default threshold
 * comes from). Both sides run the built package (`dist/`; build it first with
 * `npm run build`), so both measure the same code; the bench checks that they agree
 * bitwise. Wall time per batch, the median of the repeats after a warm-up of both
 * (≥ 1 s or 2 calls each); the load average is printed before and after.
 *
 * The grid: n = 10, 30, 100, 300; B = 16, 64, 256; the default schedule with the implicit
 * backward, and with the unrolled backward through 200 steps (tolerance 0).
 *
 *   npx tsx bench/workers.ts                 # table
 *   npx tsx bench/workers.ts --quick         # n = 30, 100; B = 64
 *   npx tsx bench/workers.ts --repeats 9 --workers 2 --json
 *
 * @since 0.1.0
 */
import { loadavg, availableParallelism } from 'node:os'
import { pathToFileURL } from 'node:url'
import { performance } from 'node:perf_hooks'

type Lib = typeof import('../src/index.js')
type Workers = typeof import('../src/workers/index.js')
const DIST = new URL('../dist/', import.meta.url)
const lib = async (): Promise<{ readonly root: Lib; readonly workers: Workers }> => ({
  root: (await import(new URL('index.js', DIST).href)) as Lib,
  workers: (await import(new URL('workers/index.js', DIST).href)) as Workers
})

/** One row of the benchmark. */
export interface Row {
  readonly n: number
  readonly batch: number
  readonly backward: string
  readonly workers: number
  /** ms per batch (forward + VJP) in this thread. */
  readonly serialMs: number
  /** ms per batch over the pool's workers (messages included). */
  readonly poolMs: number
  /** serialMs / poolMs */
  readonly speedup: number
  /** max |x, ∇ one thread − x, ∇ pool| (the same computation: 0). */
  readonly maxAbsDiff: number
}

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** A deterministic normal draw (Box-Muller on a linear congruential generator). */
const gaussian = (seed: number): (() => number) => {
  let s = seed >>> 0
  const u = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s + 0.5) / 4294967296 }
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u())
}

/** The load average as the bench prints it. */
export const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ')

/**
 * Runs the benchmark.
 *
 * @example
 * await run({ sizes: [100], batches: [64], modes: ['implicit'] })
 */
export const run = async (opts: {
  readonly sizes?: readonly number[]; readonly batches?: readonly number[]; readonly modes?: readonly ('implicit' | 'unrolled')[]
  readonly repeats?: number; readonly workers?: number
} = {}): Promise<readonly Row[]> => {
  const { root, workers } = await lib()
  const W = opts.workers ?? Math.max(1, availableParallelism())
  const repeats = opts.repeats ?? 5
  const pool = await workers.dfwPool({ workers: W, minWork: 0 })
  const rows: Row[] = []
  try {
    for (const backward of opts.modes ?? ['implicit', 'unrolled'] as const) {
      for (const n of opts.sizes ?? [10, 30, 100, 300]) {
        for (const batch of opts.batches ?? [16, 64, 256]) {
          const g = gaussian(7 + n)
          // P = AᵀA/n + I (symmetric positive definite), a q per instance, t binding for most
          const A = Float64Array.from({ length: n * n }, () => g())
          const P = new Float64Array(n * n)
          for (let i = 0; i < n; i++) {
            for (let j = 0; j <= i; j++) {
              let s = 0
              for (let k = 0; k < n; k++) s += A[k * n + i]! * A[k * n + j]!
              P[i * n + j] = s / n + (i === j ? 1 : 0)
              P[j * n + i] = P[i * n + j]!
            }
          }
          const d = n as never
          const problem = {
            P: root.dense({ rows: d, cols: d, data: P }),
            q: { rows: batch as never, cols: d, data: Float64Array.from({ length: n * batch }, () => g()) },
            w: { dim: d, data: Float64Array.from({ length: n }, () => 0.5 + Math.abs(g()) / 2) },
            t: 0.3 * Math.sqrt(n)
          }
          const ct = { rows: batch as never, cols: d, data: new Float64Array(n * batch).fill(1) }
          const options = backward === 'unrolled' ? { backward, maxIterations: 200, tolerance: 0 } : { backward }
          const serial = async (): Promise<Float64Array[]> => {
            const sol = root.dfwBatchSolve(options)(problem)
            const gr = sol.vjp(ct)
            return [sol.x.data, gr.q.data, gr.w.data, gr.t.data]
          }
          const parallel = async (): Promise<Float64Array[]> => {
            const sol = await pool.batchSolve(options)(problem, { cotangent: ct })
            return [sol.x.data, sol.gradients!.q.data, sol.gradients!.w.data, sol.gradients!.t.data]
          }
          for (const f of [serial, parallel]) {
            const t0 = performance.now()
            for (let k = 0; k < 2 || performance.now() - t0 < 1000; k++) await f()
          }
          const a = await serial(), b = await parallel()
          let diff = 0
          a.forEach((x, j) => x.forEach((v, i) => { diff = Math.max(diff, Object.is(v, b[j]![i]) ? 0 : Math.abs(v - b[j]![i]!) || Infinity) }))
          const ts: number[] = [], tp: number[] = []
          for (let r = 0; r < repeats; r++) {
            let t0 = performance.now()
            await serial()
            ts.push(performance.now() - t0)
            t0 = performance.now()
            await parallel()
            tp.push(performance.now() - t0)
          }
          const serialMs = median(ts), poolMs = median(tp)
          rows.push({ n, batch, backward, workers: W, serialMs, poolMs, speedup: serialMs / poolMs, maxAbsDiff: diff })
          process.stderr.write(`workers: n ${n}, B ${batch}, ${backward}: ${serialMs.toFixed(1)} / ${poolMs.toFixed(1)} ms (load ${load()})\n`)
        }
      }
    }
  } finally {
    await pool.close()
  }
  return rows
}

/** The rows as a plain-text table. */
export const table = (rows: readonly Row[]): string => {
  const head = ['n', 'B', 'backward', 'workers', 'one thread ms', 'pool ms', 'speedup', 'max |Δ|']
  const body = rows.map((r) => [String(r.n), String(r.batch), r.backward, String(r.workers), r.serialMs.toFixed(1), r.poolMs.toFixed(1), `${r.speedup.toFixed(2)}×`, r.maxAbsDiff === 0 ? '0' : r.maxAbsDiff.toExponential(1)])
  const wd = head.map((h, j) => Math.max(h.length, ...body.map((b) => b[j]!.length)))
  const line = (cs: readonly string[]) => cs.map((c, j) => c.padStart(wd[j]!)).join('  ')
  return [line(head), line(wd.map((k) => '-'.repeat(k))), ...body.map(line)].join('\n')
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string): string | undefined => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : undefined }
  const quick = process.argv.includes('--quick')
  const before = load()
  const rows = await run({
    ...(quick ? { sizes: [30, 100], batches: [64] } : {}),
    ...(arg('--repeats') !== undefined ? { repeats: Number(arg('--repeats')) } : {}),
    ...(arg('--workers') !== undefined ? { workers: Number(arg('--workers')) } : {})
  })
  const after = load()
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify({ loadBefore: before, loadAfter: after, rows }) + '\n')
  else process.stdout.write(`load average before: ${before}; after: ${after}\n${table(rows)}\n`)
}
