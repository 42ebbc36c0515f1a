/**
 * Matrix-vector and level-1 micro-benchmarks: the plain JavaScript loops of the core
 * against the `@stdlib/blas` wrappers.
 *
 * Every cell's first row is the textbook one-accumulator loop (allocating its result),
 * and "vs loop" is that loop's time over the row's.
 * - matvec, n = 10 … 3000: the core's `matVec` (Matrix.ts: eight partial sums, allocates
 *   its result), `applyInto` of a dense operator (LinearOperator.ts: the WebAssembly
 *   SIMD kernel once the matrix has been multiplied twice, into a caller's buffer), and
 *   stdlib's `dgemv` and `dsymv` through the pure wrappers of blas.ts (which allocate),
 *   plus raw `dgemv` into a caller's buffer to separate the allocation from the
 *   arithmetic. Work is 2n² flops and 8n² bytes (the matrix; the vectors are noise).
 * - dot and axpy, n = 10¹ … 10⁶: the core's `dot` / `axpy` (Vector.ts, unrolled by four)
 *   against `ddot` / `daxpy` of blas.ts. Work is 2n flops; 16n bytes for dot (two
 *   reads), 24n for axpy (two reads, one write).
 *
 * Each implementation is warmed up, then timed in batches of about 1 ms until it has had
 * about `seconds` (0.2 s); the implementations of one cell run interleaved, a batch each
 * per round. The reported time is the median batch, per call; `usMin` is the fastest.
 *
 * Run it with `npx tsx bench/matvec.ts` (a table) or `npx tsx bench/matvec.ts --json`
 * (a JSON array, one row per line). `--quick` runs a short sweep with 0.02 s cells.
 *
 * @since 0.1.0
 */
import { pathToFileURL } from 'node:url'
import { performance } from 'node:perf_hooks'
import dgemvRaw from '@stdlib/blas/base/dgemv/lib/main.js'
import { type Dim, withDim } from '../src/shapes/Dim.js'
import { type Vec, unsafeVec } from '../src/shapes/Vec.js'
import { type Mat, unsafeMat } from '../src/shapes/Mat.js'
import { matVec } from '../src/core/Matrix.js'
import { dot, axpy } from '../src/core/Vector.js'
import { dense, applyInto } from '../src/core/LinearOperator.js'
import { ddot, daxpy, dgemv, dsymv } from '../test/helpers/blas.js'
import { rng } from '../src/core/Random.js'
import { f64 } from '../src/shapes/alloc.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** One measured cell. */
export interface Row {
  readonly bench: 'matvec' | 'dot' | 'axpy'
  readonly impl: string
  readonly n: number
  /** Median microseconds per call. */
  readonly usPerCall: number
  /** Microseconds per call of the fastest batch (less sensitive to other load on the machine). */
  readonly usMin: number
  readonly gflops: number
  readonly gbps: number
  /** Time of the plain loop of this bench and size divided by this row's time (> 1: faster than the loop). */
  readonly speedupVsLoop: number
  /** Calls timed, over all batches. */
  readonly calls: number
}

export interface Options {
  /** Matrix sizes; default 10, 30, 100, 300, 1000, 3000. */
  readonly sizes?: ReadonlyArray<number>
  /** Vector lengths for dot and axpy; default 10¹ … 10⁶. */
  readonly vectorSizes?: ReadonlyArray<number>
  /** Target timing per cell in seconds; default 0.2. */
  readonly seconds?: number
  /** Which benches; default all three. */
  readonly benches?: ReadonlyArray<Row['bench']>
  readonly seed?: number
  /** Called after each cell, for progress. */
  readonly onRow?: (row: Row) => void
}

export const DEFAULT_SIZES: ReadonlyArray<number> = [10, 30, 100, 300, 1000, 3000]
export const DEFAULT_VECTOR_SIZES: ReadonlyArray<number> = [1e1, 1e2, 1e3, 1e4, 1e5, 1e6]

// -------------------------------------------------------------------------------------
// timing
// -------------------------------------------------------------------------------------

/** Results are folded into this so that no call can be optimized away. */
let sink = 0

/** The fold of every result so far (read it to keep the benchmarked calls observable). */
export const checksum = (): number => sink

/** Seconds per call of one implementation: the median over batches, and the fastest batch. */
interface Timing {
  readonly perCall: number
  readonly minPerCall: number
  readonly calls: number
}

const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b), mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/**
 * Times several implementations of one cell against each other. Each is warmed up (a
 * twentieth of the budget, at least 3 calls) and given a batch size of about 1 ms. Then
 * rounds run, one batch of each implementation per round, until each has had about
 * `seconds` (and at least 7 rounds). Interleaving the rounds spreads any load from other
 * processes over all implementations alike; the median batch is the reported time.
 */
const measureAll = (fs: ReadonlyArray<() => number>, seconds: number): Timing[] => {
  const batches = fs.map((f) => {
    const t0 = performance.now()
    let warm = 0
    while (warm < 3 || performance.now() - t0 < seconds * 50) { sink += f(); warm++ }
    const perCall = (performance.now() - t0) / 1e3 / warm
    return Math.max(1, Math.round(1e-3 / Math.max(perCall, 1e-10)))
  })
  const times = fs.map((): number[] => [])
  const t0 = performance.now()
  let rounds = 0
  while (rounds < 7 || performance.now() - t0 < seconds * 1e3 * fs.length) {
    fs.forEach((f, k) => {
      const b = batches[k]!, s = performance.now()
      for (let i = 0; i < b; i++) sink += f()
      times[k]!.push((performance.now() - s) / 1e3 / b)
    })
    rounds++
  }
  return times.map((ts, k) => ({ perCall: median(ts), minPerCall: Math.min(...ts), calls: ts.length * batches[k]! }))
}

const row = (bench: Row['bench'], impl: string, n: number, flops: number, bytes: number, m: Timing, loop: Timing): Row => ({
  bench, impl, n,
  usPerCall: m.perCall * 1e6,
  usMin: m.minPerCall * 1e6,
  gflops: flops / m.perCall / 1e9,
  gbps: bytes / m.perCall / 1e9,
  speedupVsLoop: loop.perCall / m.perCall,
  calls: m.calls
})

/** Times the implementations of one cell; the first is the plain loop the others are compared with. */
const cell = (
  bench: Row['bench'], n: number, flops: number, bytes: number, impls: ReadonlyArray<readonly [string, () => number]>, seconds: number
): Row[] => {
  const ms = measureAll(impls.map(([, f]) => f), seconds)
  return impls.map(([name], k) => row(bench, name, n, flops, bytes, ms[k]!, ms[0]!))
}

// -------------------------------------------------------------------------------------
// benches
// -------------------------------------------------------------------------------------

/** A symmetric n × n matrix with normal entries, so that dsymv computes the same product as dgemv. */
const symmetric = (n: number, seed: number): Float64Array => {
  const r = rng(seed), a = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { const v = r.normal(); a[i * n + j] = v; a[j * n + i] = v }
  return a
}

const normals = (n: number, seed: number): Float64Array => {
  const r = rng(seed), x = new Float64Array(n)
  for (let i = 0; i < n; i++) x[i] = r.normal()
  return x
}

/** The one-accumulator loops every row is compared with (the textbook form, allocating its result from `f64` as the core does). */
const plainMatVec = (A: Float64Array, n: number, x: Float64Array): Float64Array => {
  const o = f64(n)
  for (let i = 0; i < n; i++) {
    let s = 0
    const r = i * n
    for (let j = 0; j < n; j++) s += A[r + j]! * x[j]!
    o[i] = s
  }
  return o
}
const plainDot = (a: Float64Array, b: Float64Array): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}
const plainAxpy = (alpha: number, a: Float64Array, b: Float64Array): Float64Array => {
  const o = f64(a.length)
  for (let i = 0; i < o.length; i++) o[i] = alpha * a[i]! + b[i]!
  return o
}

const matvecRows = <N>(d: Dim<N>, seed: number, seconds: number): Row[] => {
  const n = d as number
  const a: Mat<N, N> = unsafeMat(d, d, symmetric(n, seed))
  const x: Vec<N> = unsafeVec(d, normals(n, seed + 1))
  const op = dense(a), out = new Float64Array(n)
  const impls: ReadonlyArray<readonly [string, () => number]> = [
    ['plain loop (1 accumulator)', () => plainMatVec(a.data, n, x.data)[0]!],
    ['matVec (core, 8 partial sums)', () => matVec(a, x).data[0]!],
    ['applyInto dense (wasm f64x2)', () => { applyInto(op, x.data, out); return out[0]! }],
    ['dgemv (stdlib)', () => dgemv(a, x).data[0]!],
    ['dgemv raw (stdlib, no alloc)', () => { dgemvRaw('row-major', 'no-transpose', n, n, 1, a.data, n, x.data, 1, 0, out, 1); return out[0]! }],
    ['dsymv (stdlib)', () => dsymv(a, x).data[0]!]
  ]
  return cell('matvec', n, 2 * n * n, 8 * n * n, impls, seconds)
}

const dotRows = <N>(d: Dim<N>, seed: number, seconds: number): Row[] => {
  const n = d as number
  const x: Vec<N> = unsafeVec(d, normals(n, seed)), y: Vec<N> = unsafeVec(d, normals(n, seed + 1))
  return cell('dot', n, 2 * n, 16 * n, [
    ['plain loop (1 accumulator)', () => plainDot(x.data, y.data)],
    ['dot (core, 4 partial sums)', () => dot(x, y)],
    ['ddot (stdlib)', () => ddot(x, y)]
  ], seconds)
}

const axpyRows = <N>(d: Dim<N>, seed: number, seconds: number): Row[] => {
  const n = d as number
  const x: Vec<N> = unsafeVec(d, normals(n, seed)), y: Vec<N> = unsafeVec(d, normals(n, seed + 1))
  return cell('axpy', n, 2 * n, 24 * n, [
    ['plain loop', () => plainAxpy(0.5, x.data, y.data)[0]!],
    ['axpy (core, unrolled by 4)', () => axpy(0.5, x, y).data[0]!],
    ['daxpy (stdlib)', () => daxpy(0.5, x, y).data[0]!]
  ], seconds)
}

/**
 * Runs the benches and returns one row per (bench, implementation, size).
 *
 * @example
 * run({ sizes: [100], benches: ['matvec'], seconds: 0.05 }) // six matvec rows at n = 100
 */
export const run = (opts: Options = {}): Row[] => {
  const seconds = opts.seconds ?? 0.2
  const seed = opts.seed ?? 1
  const benches = opts.benches ?? ['matvec', 'dot', 'axpy']
  const out: Row[] = []
  const emit = (rs: ReadonlyArray<Row>): void => { for (const r of rs) { out.push(r); opts.onRow?.(r) } }
  if (benches.includes('matvec')) for (const n of opts.sizes ?? DEFAULT_SIZES) emit(withDim(n, (d) => matvecRows(d, seed, seconds)))
  for (const n of opts.vectorSizes ?? DEFAULT_VECTOR_SIZES) {
    if (benches.includes('dot')) emit(withDim(n, (d) => dotRows(d, seed, seconds)))
    if (benches.includes('axpy')) emit(withDim(n, (d) => axpyRows(d, seed, seconds)))
  }
  return out
}

// -------------------------------------------------------------------------------------
// printing
// -------------------------------------------------------------------------------------

const fmt = (v: number, digits = 3): string =>
  v >= 1000 ? v.toFixed(0) : v >= 100 ? v.toFixed(1) : v >= 10 ? v.toFixed(2) : v.toPrecision(digits)

/** The rows as an aligned text table, one block per bench. */
export const table = (rows: ReadonlyArray<Row>): string => {
  const head = ['bench', 'n', 'implementation', 'µs/call', '(min)', 'GFLOP/s', 'GB/s', 'vs loop']
  const body = rows.map((r) => [
    r.bench, String(r.n), r.impl, fmt(r.usPerCall), fmt(r.usMin), fmt(r.gflops), fmt(r.gbps), `${r.speedupVsLoop.toFixed(2)}×`
  ])
  const w = head.map((h, k) => Math.max(h.length, ...body.map((b) => b[k]!.length)))
  const line = (cs: ReadonlyArray<string>): string =>
    cs.map((c, k) => (k === 2 || k === 0 ? c.padEnd(w[k]!) : c.padStart(w[k]!))).join('  ')
  const out = [line(head), w.map((x) => '-'.repeat(x)).join('  ')]
  body.forEach((b, k) => {
    const prev = rows[k - 1]
    if (prev !== undefined && (prev.bench !== rows[k]!.bench || prev.n !== rows[k]!.n)) out.push('')
    out.push(line(b))
  })
  return out.join('\n')
}

// -------------------------------------------------------------------------------------
// main
// -------------------------------------------------------------------------------------

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href

if (isMain) {
  const args = process.argv.slice(2)
  const json = args.includes('--json')
  const quick = args.includes('--quick')
  const opts: Options = quick
    ? { sizes: [10, 100, 1000], vectorSizes: [1e1, 1e3, 1e5], seconds: 0.02 }
    : {}
  if (json) {
    const rows = run(opts)
    process.stdout.write(`[\n${rows.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`)
  } else {
    process.stderr.write(`matvec bench: node ${process.version}, ${quick ? 'quick' : '0.2 s per cell'}\n`)
    const rows = run({ ...opts, onRow: (r) => process.stderr.write(`  ${r.bench} n=${r.n} ${r.impl}\n`) })
    process.stdout.write(`${table(rows)}\n`)
  }
}
