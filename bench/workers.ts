/**
 * Does spreading a batch over both cores with worker_threads pay? A batch of B layer
 * calls (forward + VJP, one P shared by the batch and a q per instance, as in a training
 * step) run in this thread, against the same batch split over W workers. P reaches the
 * workers once, in a SharedArrayBuffer; each batch sends the q's and gets the x's and
 * gradients back as transferred buffers. Both sides run the built package (`dist/`), so
 * that the two measure the same code. Wall time per batch, median of the repeats, after
 * a warm-up of both.
 *
 *   npx tsx bench/workers.ts            # table
 *   npx tsx bench/workers.ts --json
 *
 * @since 0.1.0
 */
import { Worker } from 'node:worker_threads'
import { cpus } from 'node:os'
import { pathToFileURL } from 'node:url'
import { performance } from 'node:perf_hooks'

interface Job { readonly qs: Float64Array; readonly count: number }
interface Spec { readonly n: number; readonly P: SharedArrayBuffer; readonly w: Float64Array; readonly t: number; readonly backward: 'implicit' | 'unrolled' }

type Solve = (qs: Float64Array, count: number) => Float64Array

const CHILD = new URL('./workers-child.mjs', import.meta.url)
/** The solver both sides run (bench/workers-child.mjs, plain JavaScript a worker can load). */
const solver = async (spec: Spec): Promise<Solve> =>
  ((await import(CHILD.href)) as { solver: (s: Spec) => Promise<Solve> }).solver(spec)

/** One row of the benchmark. */
export interface Row {
  readonly n: number
  readonly batch: number
  readonly backward: string
  readonly workers: number
  /** ms per batch in this thread. */
  readonly serialMs: number
  /** ms per batch over the workers (including the messages). */
  readonly parallelMs: number
  /** serialMs / parallelMs */
  readonly speedup: number
  /** max |x, ∇ serial − x, ∇ parallel| (the same computation, so 0). */
  readonly maxAbsDiff: number
}

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** A deterministic normal draw (Box-Muller on a linear congruential generator). */
const gaussian = (seed: number): (() => number) => {
  let s = seed >>> 0
  const u = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s + 0.5) / 4294967296 }
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u())
}

/**
 * Runs the benchmark.
 *
 * @example
 * await run({ cases: [{ n: 100, batch: 64, backward: 'implicit' }] })
 */
export const run = async (opts: { readonly cases?: readonly { n: number; batch: number; backward: 'implicit' | 'unrolled' }[]; readonly repeats?: number } = {}): Promise<readonly Row[]> => {
  const cases = opts.cases ?? [
    { n: 30, batch: 256, backward: 'implicit' as const },
    { n: 100, batch: 64, backward: 'implicit' as const },
    { n: 100, batch: 64, backward: 'unrolled' as const },
    { n: 300, batch: 32, backward: 'implicit' as const },
    { n: 1000, batch: 8, backward: 'implicit' as const }
  ]
  const W = Math.max(2, Math.min(cpus().length, 4))
  const repeats = opts.repeats ?? 7
  const rows: Row[] = []
  for (const c of cases) {
    const { n, batch } = c
    const g = gaussian(7 + n)
    // P = AᵀA/n + I (symmetric positive definite), a q per instance, t binding for most
    const A = Float64Array.from({ length: n * n }, () => g())
    const sab = new SharedArrayBuffer(8 * n * n)
    const P = new Float64Array(sab)
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0
        for (let k = 0; k < n; k++) s += A[k * n + i]! * A[k * n + j]!
        P[i * n + j] = s / n + (i === j ? 1 : 0)
        P[j * n + i] = P[i * n + j]!
      }
    }
    const w = Float64Array.from({ length: n }, () => 0.5 + Math.abs(g()) / 2)
    const spec: Spec = { n, P: sab, w, t: 0.3 * Math.sqrt(n), backward: c.backward }
    const qs = Float64Array.from({ length: n * batch }, () => g())
    const serial = await solver(spec)
    const workers = Array.from({ length: W }, () => new Worker(CHILD, { workerData: { bench: 'workers', spec } }))
    const share = Math.ceil(batch / W)
    const parallel = async (): Promise<Float64Array> => {
      const parts = await Promise.all(workers.map((wk, i) => {
        const lo = Math.min(batch, i * share), hi = Math.min(batch, lo + share)
        const job: Job = { qs: qs.slice(lo * n, hi * n), count: hi - lo }
        return new Promise<Float64Array>((resolve) => {
          wk.once('message', (m: Float64Array) => resolve(m))
          wk.postMessage(job, [job.qs.buffer as ArrayBuffer])
        })
      }))
      const out = new Float64Array(2 * n * batch)
      let at = 0
      for (const p of parts) { out.set(p, at); at += p.length }
      return out
    }
    // warm both (the JIT of every thread) for about a second each
    for (const f of [async () => serial(qs, batch), parallel]) {
      const t0 = performance.now()
      while (performance.now() - t0 < 1000) await f()
    }
    const a = serial(qs, batch), b = await parallel()
    let diff = 0
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!))
    const ts: number[] = [], tp: number[] = []
    for (let r = 0; r < repeats; r++) {
      let t0 = performance.now()
      serial(qs, batch)
      ts.push(performance.now() - t0)
      t0 = performance.now()
      await parallel()
      tp.push(performance.now() - t0)
    }
    await Promise.all(workers.map((wk) => wk.terminate()))
    const serialMs = median(ts), parallelMs = median(tp)
    rows.push({ n, batch, backward: c.backward, workers: W, serialMs, parallelMs, speedup: serialMs / parallelMs, maxAbsDiff: diff })
  }
  return rows
}

/** The rows as a plain-text table. */
export const table = (rows: readonly Row[]): string => {
  const head = ['n', 'batch', 'backward', 'workers', 'serial ms', 'workers ms', 'speedup', 'max |Δ|']
  const body = rows.map((r) => [String(r.n), String(r.batch), r.backward, String(r.workers), r.serialMs.toFixed(1), r.parallelMs.toFixed(1), `${r.speedup.toFixed(2)}×`, r.maxAbsDiff.toExponential(1)])
  const wd = head.map((h, j) => Math.max(h.length, ...body.map((b) => b[j]!.length)))
  const line = (cs: readonly string[]) => cs.map((c, j) => c.padStart(wd[j]!)).join('  ')
  return [line(head), line(wd.map((k) => '-'.repeat(k))), ...body.map(line)].join('\n')
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await run()
  process.stdout.write(process.argv.includes('--json') ? JSON.stringify(rows) + '\n' : table(rows) + '\n')
}
