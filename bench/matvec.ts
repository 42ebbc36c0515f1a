/**
 * Matrix-vector and level-1 micro-benchmarks: the plain JavaScript loops of the core
 * against the `@stdlib/blas` wrappers, the cost of a kernel call's copy, the batched
 * product, and PyTorch's products as the peer.
 *
 * Every cell's first row is the textbook one-accumulator loop (allocating its result),
 * and "vs loop" is that loop's time over the row's.
 * - matvec, n = 10 … 3000: the core's `matVec` (Matrix.ts: eight partial sums, allocates
 *   its result), `applyInto` of a dense operator (LinearOperator.ts: the WebAssembly
 *   SIMD kernel once the matrix has been multiplied twice, into a caller's buffer), and
 *   stdlib's `dgemv` and `dsymv` through the pure wrappers of blas.ts (which allocate),
 *   plus raw `dgemv` into a caller's buffer to separate the allocation from the
 *   arithmetic. Work is 2n² flops and 8n² bytes (the matrix; the vectors are noise).
 * - call, n = 100, 1000, 3000: what a kernel call costs (simd.ts copies a matrix into the
 *   kernels' memory on its first product of a call, and on every product outside one).
 *   The first row is a product inside an open call (the copy reused); "× product" is a
 *   row's time over it. Rows: a call's first product (copy + product), a product outside
 *   any call (the same), the copy alone (their difference), and a call's first transposed
 *   product of a symmetric P (copy + the symmetry check + product).
 * - batch, B = 1, 16, 64, 256 vectors at n = 10, 100, 300, 1000: `denseApplyBatchInto`
 *   (Y = X Pᵀ, two vectors per pass over P; band by band for P of 4 MiB or more) against B separate `denseApplyInto`
 *   (the first row), in a call; work 2Bn² flops. With PyTorch: `X @ P.T` at the same
 *   cell (float64, threads pinned), and `P @ x` in the matvec cells.
 * - dot and axpy, n = 10¹ … 10⁶: the core's `dot` / `axpy` (Vector.ts, unrolled by four)
 *   against `ddot` / `daxpy` of blas.ts. Work is 2n flops; 16n bytes for dot (two
 *   reads), 24n for axpy (two reads, one write).
 *
 * Each implementation is warmed up, then timed in batches of about 1 ms until it has had
 * about `seconds` (0.2 s); the implementations of one cell run interleaved, a batch each
 * per round. The reported time is the median batch, per call; `usMin` is the fastest.
 *
 * Run it with `npx tsx bench/matvec.ts` (a table) or `npx tsx bench/matvec.ts --json`
 * (a JSON array, one row per line). `--quick` runs a short sweep with 0.02 s cells;
 * `--benches call,batch` picks benches. PyTorch rows need /usr/bin/python3 with torch
 * (skipped with a message otherwise); each carries its configuration as `peer`, and a
 * table with them prints a `peer:` line (bench/peers/config.ts).
 *
 * @since 0.1.0
 */
import { pathToFileURL } from 'node:url'
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import dgemvRaw from '@stdlib/blas/base/dgemv/lib/main.js'
import { type Dim, withDim } from '../src/shapes/Dim.js'
import { type Vec, unsafeVec } from '../src/shapes/Vec.js'
import { type Mat, unsafeMat } from '../src/shapes/Mat.js'
import { matVec } from '../src/core/Matrix.js'
import { dot, axpy } from '../src/core/Vector.js'
import { dense, applyInto, applyTInto } from '../src/core/LinearOperator.js'
import { denseApplyInto, denseApplyBatchInto, beginCall, endCall } from '../src/core/simd.js'
import { type PeerConfig, type TorchConfig, peerConfig, peerLine, runTorchScript } from './peers/config.js'
import { ddot, daxpy, dgemv, dsymv } from '../test/helpers/blas.js'
import { rng } from '../src/core/Random.js'
import { f64 } from '../src/shapes/alloc.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** One measured cell. */
export interface Row {
  readonly bench: 'matvec' | 'dot' | 'axpy' | 'call' | 'batch'
  readonly impl: string
  readonly n: number
  /** Vectors per call (batch rows). */
  readonly B?: number
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
  /** For a peer's row: what it ran with, and the load average then. */
  readonly peer?: PeerConfig
}

export interface Options {
  /** Matrix sizes; default 10, 30, 100, 300, 1000, 3000. */
  readonly sizes?: ReadonlyArray<number>
  /** Vector lengths for dot and axpy; default 10¹ … 10⁶. */
  readonly vectorSizes?: ReadonlyArray<number>
  /** Target timing per cell in seconds; default 0.2. */
  readonly seconds?: number
  /** Which benches; default all five. */
  readonly benches?: ReadonlyArray<Row['bench']>
  readonly seed?: number
  /** Sizes of the call bench; default 100, 1000, 3000. */
  readonly callSizes?: ReadonlyArray<number>
  /** Sizes and vector counts of the batch bench; default n = 10, 100, 300, 1000 and B = 1, 16, 64, 256. */
  readonly batchSizes?: ReadonlyArray<number>
  readonly batchCounts?: ReadonlyArray<number>
  /** Whether to run the PyTorch peer rows (default true; skipped where torch is missing). */
  readonly torch?: boolean
  /** Called after each cell, for progress. */
  readonly onRow?: (row: Row) => void
}

export const DEFAULT_SIZES: ReadonlyArray<number> = [10, 30, 100, 300, 1000, 3000]
export const DEFAULT_VECTOR_SIZES: ReadonlyArray<number> = [1e1, 1e2, 1e3, 1e4, 1e5, 1e6]
export const DEFAULT_CALL_SIZES: ReadonlyArray<number> = [100, 1000, 3000]
export const DEFAULT_BATCH_SIZES: ReadonlyArray<number> = [10, 100, 300, 1000]
export const DEFAULT_BATCH_COUNTS: ReadonlyArray<number> = [1, 16, 64, 256]

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
    ['applyInto dense (wasm f64x2, in a call)', () => { applyInto(op, x.data, out); return out[0]! }],
    ['dgemv (stdlib)', () => dgemv(a, x).data[0]!],
    ['dgemv raw (stdlib, no alloc)', () => { dgemvRaw('row-major', 'no-transpose', n, n, 1, a.data, n, x.data, 1, 0, out, 1); return out[0]! }],
    ['dsymv (stdlib)', () => dsymv(a, x).data[0]!]
  ]
  beginCall()
  const rows = cell('matvec', n, 2 * n * n, 8 * n * n, impls, seconds)
  endCall()
  // outside any call every product copies P: timed apart (against the loop again), so that no copy leaks into the rows above
  const [loop, outside] = measureAll([impls[0]![1], () => { applyInto(op, x.data, out); return out[0]! }], seconds)
  return [...rows, row('matvec', 'applyInto dense (wasm f64x2, outside a call: copies P)', n, 2 * n * n, 8 * n * n, outside!, loop!)]
}

/** What a kernel call's copy costs against one product (see the module note). */
const callRows = <N>(d: Dim<N>, seed: number, seconds: number): Row[] => {
  const n = d as number
  const P = symmetric(n, seed), x = normals(n, seed + 1), y = new Float64Array(n)
  const impls: ReadonlyArray<readonly [string, () => number]> = [
    ['a product in an open call (copy reused)', () => { denseApplyInto(P, n, x, y); return y[0]! }],
    ['first product of a call (copy + product)', () => { endCall(); beginCall(); denseApplyInto(P, n, x, y); return y[0]! }],
    ['a product outside any call (copy + product)', () => { endCall(); denseApplyInto(P, n, x, y); beginCall(); return y[0]! }],
    ['first Pᵀx of a call, symmetric P (copy + check + product)', () => {
      endCall(); beginCall(); applyTInto(op, x, y); return y[0]!
    }]
  ]
  const op = dense(unsafeMat(d, d, P))
  beginCall()
  const ms = measureAll(impls.map(([, f]) => f), seconds)
  endCall()
  const rows = impls.map(([name], k) => row('call', name, n, 2 * n * n, 8 * n * n, ms[k]!, ms[0]!))
  const prod = ms[0]!, first = ms[1]!
  const copy = { perCall: Math.max(0, first.perCall - prod.perCall), minPerCall: Math.max(0, first.minPerCall - prod.minPerCall), calls: first.calls }
  const copyRow: Row = { ...row('call', 'the copy alone (first product − product in a call)', n, 0, 8 * n * n, copy, prod), gflops: NaN }
  return [...rows, copyRow]
}

/** B separate products against one batched product, in a call. */
const batchRows = <N>(d: Dim<N>, B: number, seed: number, seconds: number): Row[] => {
  const n = d as number
  const P = symmetric(n, seed), X = normals(B * n, seed + 1), Y = new Float64Array(B * n)
  const impls: ReadonlyArray<readonly [string, () => number]> = [
    [`${B} × denseApplyInto`, () => {
      for (let b = 0; b < B; b++) denseApplyInto(P, n, X.subarray(b * n, b * n + n), Y.subarray(b * n, b * n + n))
      return Y[0]!
    }],
    ['denseApplyBatchInto (Y = X Pᵀ)', () => { denseApplyBatchInto(P, n, X, B, Y); return Y[0]! }]
  ]
  beginCall()
  const ms = measureAll(impls.map(([, f]) => f), seconds)
  endCall()
  return impls.map(([name], k) => ({ ...row('batch', name, n, 2 * B * n * n, 8 * n * n, ms[k]!, ms[0]!), B }))
}

/** PyTorch's P @ x (B = 0) or X @ P.T, one row per cell, against our row `ref` of the same cell. */
const torchRows = (cells: ReadonlyArray<{ readonly n: number; readonly B: number; readonly ref: Row }>, seconds: number): Row[] => {
  const out = runTorchScript<{ config: TorchConfig; rows: Array<{ n: number; B: number; ms: number; minMs: number; reps: number }> }>(
    ['--matvec'], { cells: cells.map(({ n, B }) => ({ n, B })), seconds })
  if (out === undefined) return []
  const peer = peerConfig({ torch: out.config })
  return out.rows.map((r, k) => {
    const ref = cells[k]!.ref, B = Math.max(1, r.B)
    const flops = 2 * B * r.n * r.n
    return {
      bench: ref.bench, impl: `pytorch ${out.config.torch} ${r.B === 0 ? 'P @ x' : 'X @ P.T'} (f64, ${out.config.threads} thread)`, n: r.n,
      ...(r.B > 0 ? { B: r.B } : {}),
      usPerCall: r.ms * 1e3, usMin: r.minMs * 1e3, gflops: flops / (r.ms * 1e-3) / 1e9, gbps: 8 * r.n * r.n / (r.ms * 1e-3) / 1e9,
      speedupVsLoop: ref.usPerCall / (r.ms * 1e3), calls: r.reps, peer
    }
  })
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
  const benches = opts.benches ?? ['matvec', 'call', 'batch', 'dot', 'axpy']
  const torch = opts.torch ?? true
  const out: Row[] = []
  const emit = (rs: ReadonlyArray<Row>): void => { for (const r of rs) { out.push(r); opts.onRow?.(r) } }
  if (benches.includes('matvec')) {
    const cells: Array<{ n: number; B: number; ref: Row }> = []
    for (const n of opts.sizes ?? DEFAULT_SIZES) {
      const rs = withDim(n, (d) => matvecRows(d, seed, seconds))
      emit(rs)
      cells.push({ n, B: 0, ref: rs[0]! })
    }
    if (torch) emit(torchRows(cells, seconds))
  }
  if (benches.includes('call')) for (const n of opts.callSizes ?? DEFAULT_CALL_SIZES) emit(withDim(n, (d) => callRows(d, seed, seconds)))
  if (benches.includes('batch')) {
    const cells: Array<{ n: number; B: number; ref: Row }> = []
    for (const n of opts.batchSizes ?? DEFAULT_BATCH_SIZES) {
      for (const B of opts.batchCounts ?? DEFAULT_BATCH_COUNTS) {
        const rs = withDim(n, (d) => batchRows(d, B, seed, seconds))
        emit(rs)
        cells.push({ n, B, ref: rs[0]! })
      }
    }
    if (torch) emit(torchRows(cells, seconds))
  }
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
export const table = (rows0: ReadonlyArray<Row>): string => {
  // peers' rows next to the cell they compare with
  const key = (r: Row): string => `${r.bench} ${r.n} ${r.B ?? 0}`
  const rows = [...rows0.filter((r) => r.peer === undefined)]
  for (const p of rows0.filter((r) => r.peer !== undefined)) {
    let at = -1
    rows.forEach((r, k) => { if (key(r) === key(p)) at = k })
    rows.splice(at < 0 ? rows.length : at + 1, 0, p)
  }
  const head = ['bench', 'n', 'B', 'implementation', 'µs/call', '(min)', 'GFLOP/s', 'GB/s', 'vs first']
  const body = rows.map((r) => [
    r.bench, String(r.n), r.B === undefined ? '' : String(r.B), r.impl, fmt(r.usPerCall), fmt(r.usMin), Number.isNaN(r.gflops) ? '' : fmt(r.gflops), fmt(r.gbps),
    r.bench === 'call' ? `${(1 / r.speedupVsLoop).toFixed(2)}× product` : `${r.speedupVsLoop.toFixed(2)}×`
  ])
  const w = head.map((h, k) => Math.max(h.length, ...body.map((b) => b[k]!.length)))
  const line = (cs: ReadonlyArray<string>): string =>
    cs.map((c, k) => (k === 3 || k === 0 ? c.padEnd(w[k]!) : c.padStart(w[k]!))).join('  ')
  const out = [
    '"vs first" = the first row of the cell (the one-accumulator loop; for batch, B separate products) ÷ this row\'s time (> 1: faster); for call, this row\'s time ÷ one product in an open call',
    line(head), w.map((x) => '-'.repeat(x)).join('  ')
  ]
  body.forEach((b, k) => {
    const prev = rows[k - 1]
    if (prev !== undefined && key(prev) !== key(rows[k]!)) out.push('')
    out.push(line(b))
  })
  const peers = rows.flatMap((r) => (r.peer !== undefined ? [r.peer] : []))
  if (peers.length > 0) out.push('', peerLine(peers))
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
  const benchesAt = args.indexOf('--benches')
  const benches = benchesAt >= 0 && args[benchesAt + 1] !== undefined ? { benches: args[benchesAt + 1]!.split(',') as Row['bench'][] } : {}
  const opts: Options = quick
    ? { sizes: [10, 100, 1000], vectorSizes: [1e1, 1e3, 1e5], callSizes: [100, 1000], batchSizes: [10, 100], batchCounts: [1, 16], seconds: 0.02, ...benches }
    : benches
  if (json) {
    const rows = run(opts)
    process.stdout.write(`[\n${rows.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`)
  } else {
    process.stderr.write(`matvec bench: node ${process.version}, ${quick ? 'quick' : '0.2 s per cell'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`)
    const rows = run({ ...opts, onRow: (r) => process.stderr.write(`  ${r.bench} n=${r.n} ${r.impl}\n`) })
    process.stdout.write(`${table(rows)}\n`)
  }
}
