/**
 * The new sets' oracles against the Euclidean projection a projection-based layer would
 * need, and the time of a full layer solve (forward and vjp) on each, as n grows.
 *
 * - capped simplex {0 ≤ x ≤ 1, Σ x = k}, k = n/10 + 0.5: the oracle (a partial sort,
 *   `cappedSimplexVertex`) against the exact projection by sorting the 2n breakpoints of
 *   the threshold (`projectCappedSimplex`) and against bisection on the threshold to
 *   1e-12 relative (60 halvings of a bracket, O(60 n));
 * - K-sparse polytope, k = n/100 (at least 1), t = 0.3: the oracle (top k of |g|) against
 *   the exact projection (`projectKSparse`);
 * - Birkhoff polytope, m×m: the oracle (one assignment, cold, and warm-started from the
 *   potentials of a matrix 1e-3 away, as between Frank-Wolfe steps) against the Euclidean
 *   projection by Dykstra's alternating projections between the affine set of row and
 *   column sums (closed form) and x ≥ 0, stopped when an iteration moves x by at most
 *   1e-9 (∞-norm) with the sums within 1e-9; "iters" is its iteration count and "error"
 *   its ∞-distance to the exact projection (the layer with P = I, q = −y, polished by the
 *   active set);
 * - the layer (default schedule, implicit backward) on min ½xᵀPx + qᵀx: P = I + B Bᵀ/5
 *   with B n×5 normal (dense up to n = 2500, else diagonal plus low rank), q normal; the
 *   forward time (solve, polish, face) and the vjp's, the Frank-Wolfe steps and the face.
 *
 * Oracle and projection cells warm up (three calls or 50 ms), then run 7 times (3 with
 * --quick, and for cells above 100 ms); the table reports the median in milliseconds and
 * "proj / oracle", the projection's median over the oracle's. Layer cells run once (after
 * one warm-up solve at the smallest size). Timings on a shared machine: the load average
 * is printed with the table.
 *
 * Run it with `npm run bench -- --only sets` (or `npx tsx bench/oracles-vs-projection.ts`,
 * `--json` for rows, `--quick` for smaller sizes).
 *
 * @since 0.1.0
 */
import { performance } from 'node:perf_hooks'
import { cpus, loadavg } from 'node:os'
import { assignment, assignmentFrom } from '../src/core/Assignment.js'
import { rng } from '../src/core/Random.js'
import { dense, lowRank, type LinearOperator } from '../src/core/LinearOperator.js'
import { unsafeDim } from '../src/shapes/Dim.js'
import { cappedSimplexVertex, projectCappedSimplex } from '../src/fw/sets/CappedSimplex.js'
import { ksparseVertex, projectKSparse } from '../src/fw/sets/KSparse.js'
import { dfwLayer } from '../src/fw/Layer.js'
import type { SetObject } from '../src/fw/Problem.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** One oracle-against-projection cell. */
export interface OracleRow {
  readonly kind: 'oracle'
  readonly set: 'capped-simplex' | 'ksparse' | 'birkhoff'
  readonly n: number
  readonly oracleMs: number
  /** Birkhoff: the warm-started assignment. */
  readonly warmMs?: number
  readonly projectionMs: number
  readonly projection: string
  readonly projOverOracle: number
  /** Capped simplex: bisection on the threshold. */
  readonly bisectionMs?: number
  /** Birkhoff: Dykstra's iterations and its ∞-distance to the exact projection. */
  readonly iterations?: number
  readonly error?: number
}

/** One full layer solve. */
export interface LayerRow {
  readonly kind: 'layer'
  readonly set: 'capped-simplex' | 'ksparse' | 'birkhoff'
  readonly n: number
  readonly P: 'dense' | 'lowRank'
  readonly forwardMs: number
  readonly vjpMs: number
  readonly steps: number
  readonly status: string
  readonly faceSize: number
  readonly derivative: string
}

export type Row = OracleRow | LayerRow

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

let sink = 0

const time = (f: () => number, runs: number): number => {
  const w0 = performance.now()
  let first = 0
  for (let k = 0; k < 3 || performance.now() - w0 < 50; k++) {
    const t0 = performance.now()
    sink += f()
    first = performance.now() - t0
  }
  const ts: number[] = []
  const n = first > 100 ? Math.min(runs, 3) : runs
  for (let k = 0; k < n; k++) {
    const t0 = performance.now()
    sink += f()
    ts.push(performance.now() - t0)
  }
  ts.sort((a, b) => a - b)
  return ts[ts.length >> 1]!
}

const normals = (n: number, seed: number, s = 1): Float64Array => {
  const r = rng(seed)
  return Float64Array.from({ length: n }, () => s * r.normal())
}

/** The capped simplex's projection by bisection on its threshold (60 halvings). */
const bisectCapped = (y: Float64Array, k: number, out: Float64Array): void => {
  let lo = Infinity, hi = -Infinity
  for (let i = 0; i < y.length; i++) { lo = Math.min(lo, y[i]! - 1); hi = Math.max(hi, y[i]!) }
  for (let it = 0; it < 60; it++) {
    const mid = 0.5 * (lo + hi)
    let s = 0
    for (let i = 0; i < y.length; i++) s += Math.min(1, Math.max(0, y[i]! - mid))
    if (s > k) lo = mid; else hi = mid
  }
  const th = 0.5 * (lo + hi)
  for (let i = 0; i < y.length; i++) out[i] = Math.min(1, Math.max(0, y[i]! - th))
}

/**
 * The Euclidean projection onto the Birkhoff polytope by Dykstra's method between the
 * affine set {X1 = 1, Xᵀ1 = 1} (closed form: X − r1ᵀ/m − 1cᵀ/m + s/m², needing no
 * correction term) and X ≥ 0, to 1e-9 (see the module notes).
 */
export const dykstraBirkhoff = (y: Float64Array, m: number, maxIterations = 100000): { readonly x: Float64Array; readonly iterations: number } => {
  const n = m * m
  let x = Float64Array.from(y)
  const p = new Float64Array(n), z = new Float64Array(n), r = new Float64Array(m), c = new Float64Array(m)
  for (let it = 1; it <= maxIterations; it++) {
    // z = P_affine(x)
    r.fill(0); c.fill(0)
    let s = 0
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) { const v = x[i * m + j]!; r[i] = r[i]! + v; c[j] = c[j]! + v; s += v }
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) z[i * m + j] = x[i * m + j]! - (r[i]! - 1) / m - (c[j]! - 1) / m + (s - m) / (m * m)
    // x' = P_{≥0}(z + p), p' = z + p − x'
    let move = 0
    const next = new Float64Array(n)
    for (let e = 0; e < n; e++) {
      const v = z[e]! + p[e]!
      const w = v > 0 ? v : 0
      p[e] = v - w
      next[e] = w
      move = Math.max(move, Math.abs(w - x[e]!))
    }
    x = next
    if (move <= 1e-9) {
      let viol = 0
      for (let i = 0; i < m; i++) {
        let rs = 0, cs = 0
        for (let j = 0; j < m; j++) { rs += x[i * m + j]!; cs += x[j * m + i]! }
        viol = Math.max(viol, Math.abs(rs - 1), Math.abs(cs - 1))
      }
      if (viol <= 1e-9) return { x, iterations: it }
    }
  }
  return { x, iterations: maxIterations }
}

/** I + B Bᵀ/5 (B n×5 normal): dense, or as diagonal plus low rank. */
const operator = (n: number, kind: 'dense' | 'lowRank', seed: number): LinearOperator<'n'> => {
  const dim = unsafeDim<'n'>(n), r = 5
  const U = normals(n * r, seed, 1 / Math.sqrt(r))
  if (kind === 'lowRank') return lowRank({ dim, data: new Float64Array(n).fill(1) }, r, U)
  const A = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = i === j ? 1 : 0
      for (let k = 0; k < r; k++) s += U[i * r + k]! * U[j * r + k]!
      A[i * n + j] = s
      A[j * n + i] = s
    }
  }
  return dense({ rows: dim, cols: dim, data: A })
}

// -------------------------------------------------------------------------------------
// run
// -------------------------------------------------------------------------------------

const layerRow = (set: LayerRow['set'], n: number, P: 'dense' | 'lowRank', seed: number): LayerRow => {
  const op = operator(n, P, seed), dim = op.dim
  const q = { dim, data: normals(n, seed + 1) }
  const spec: SetObject<'n'> = set === 'birkhoff' ? { kind: 'birkhoff' } : set === 'ksparse' ? { kind: 'ksparse', k: Math.max(1, Math.round(n / 100)) } : { kind: 'capped-simplex', k: n / 10 + 0.5 }
  const t0 = performance.now()
  const res = dfwLayer()({ P: op, q, set: spec, ...(set === 'ksparse' ? { t: 0.3 } : {}) })
  const t1 = performance.now()
  const g = res.vjp({ dim, data: normals(n, seed + 2) })
  const t2 = performance.now()
  sink += g.q.data[0]!
  return {
    kind: 'layer', set, n, P, forwardMs: t1 - t0, vjpMs: t2 - t1, steps: res.iterations, status: res.status,
    faceSize: res.face?.size ?? -1, derivative: res.face?.derivative ?? ''
  }
}

/**
 * Every cell of the table.
 *
 * @example
 * const rows = run({ quick: true })
 */
export const run = (options: { readonly quick?: boolean } = {}): Row[] => {
  const quick = options.quick === true, runs = quick ? 3 : 7
  const rows: Row[] = []
  const sizes = quick ? [1e3, 1e4, 1e5] : [1e3, 1e4, 1e5, 1e6]
  for (const n of sizes) {
    const g = normals(n, n), out = new Float64Array(n), idx = new Int32Array(n), key = new Float64Array(n)
    const k = n / 10 + 0.5
    const oracleMs = time(() => cappedSimplexVertex(g, k, out, idx).value, runs)
    const projectionMs = time(() => { projectCappedSimplex(g, k, out); return out[0]! }, runs)
    const bisectionMs = time(() => { bisectCapped(g, k, out); return out[0]! }, runs)
    rows.push({ kind: 'oracle', set: 'capped-simplex', n, oracleMs, projectionMs, projection: 'sorted threshold', projOverOracle: projectionMs / oracleMs, bisectionMs })
    const ks = Math.max(1, Math.round(n / 100))
    const ko = time(() => ksparseVertex(g, ks, 0.3, out, idx, key), runs)
    const kp = time(() => { projectKSparse(g, ks, 0.3, out); return out[0]! }, runs)
    rows.push({ kind: 'oracle', set: 'ksparse', n, oracleMs: ko, projectionMs: kp, projection: 'sorted threshold', projOverOracle: kp / ko })
  }
  for (const m of quick ? [10, 30] : [10, 30, 50, 100, 200]) {
    const n = m * m
    const y = normals(n, m, 0.5)
    const a = assignment(y, m)
    const y2 = y.map((v, e) => v + 1e-3 * Math.sin(e))
    const oracleMs = time(() => assignment(y, m).value, runs)
    const warmMs = time(() => assignmentFrom(y2, m, a.v).value, runs)
    let dk = dykstraBirkhoff(y, m)
    const projectionMs = time(() => { dk = dykstraBirkhoff(y, m); return dk.x[0]! }, quick ? 1 : 3)
    // the exact projection: the layer with P = I, q = −y
    const dim = unsafeDim<'n'>(n)
    const exact = dfwLayer()({ P: lowRank({ dim, data: new Float64Array(n).fill(1) }, 0, new Float64Array(0)), q: { dim, data: y.map((v) => -v) }, set: { kind: 'birkhoff' } }).x.data
    let error = 0
    for (let e = 0; e < n; e++) error = Math.max(error, Math.abs(exact[e]! - dk.x[e]!))
    rows.push({ kind: 'oracle', set: 'birkhoff', n, oracleMs, warmMs, projectionMs, projection: 'Dykstra to 1e-9', projOverOracle: projectionMs / oracleMs, iterations: dk.iterations, error })
  }
  layerRow('capped-simplex', 100, 'dense', 1) // warm-up
  for (const n of quick ? [100, 1000] : [100, 1000, 2500, 10000, 100000]) {
    const P = n <= 2500 ? 'dense' : 'lowRank'
    rows.push(layerRow('capped-simplex', n, P, n))
    rows.push(layerRow('ksparse', n, P, n + 7))
  }
  for (const [m, P] of (quick ? [[10, 'dense'], [20, 'dense']] : [[10, 'dense'], [20, 'dense'], [30, 'dense'], [50, 'dense'], [50, 'lowRank'], [100, 'lowRank']]) as ReadonlyArray<readonly [number, 'dense' | 'lowRank']>) {
    rows.push(layerRow('birkhoff', m * m, P, m))
  }
  if (sink === 42.4242) console.log('')
  return rows
}

/**
 * The rows as two tables.
 *
 * @example
 * console.log(table(run({ quick: true })))
 */
export const table = (rows: ReadonlyArray<Row>): string => {
  const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(4))
  const pad = (cells: string[], widths: number[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  const render = (head: string[], body: string[][]): string => {
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
    return [pad(head, widths), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map((b) => pad(b, widths))].join('\n')
  }
  const o = rows.filter((r): r is OracleRow => r.kind === 'oracle')
  const l = rows.filter((r): r is LayerRow => r.kind === 'layer')
  const t1 = render(
    ['set', 'n', 'oracle ms', 'warm ms', 'projection', 'proj ms', 'proj / oracle', 'bisection ms', 'iters', 'error'],
    o.map((r) => [r.set, String(r.n), ms(r.oracleMs), r.warmMs === undefined ? '' : ms(r.warmMs), r.projection, ms(r.projectionMs), r.projOverOracle.toFixed(1),
      r.bisectionMs === undefined ? '' : ms(r.bisectionMs), r.iterations === undefined ? '' : String(r.iterations), r.error === undefined ? '' : r.error.toExponential(1)])
  )
  const t2 = render(
    ['set', 'n', 'P', 'forward ms', 'vjp ms', 'steps', 'status', 'face', 'derivative'],
    l.map((r) => [r.set, String(r.n), r.P, ms(r.forwardMs), ms(r.vjpMs), String(r.steps), r.status, String(r.faceSize), r.derivative])
  )
  return `${t1}\n\nthe layer (forward: solve + polish + face; vjp: one face solve)\n${t2}`
}

// standalone: npx tsx bench/oracles-vs-projection.ts [--json] [--quick]
if (process.argv[1] !== undefined && /oracles-vs-projection\.ts$/.test(process.argv[1])) {
  const quick = process.argv.includes('--quick'), json = process.argv.includes('--json')
  const machine = `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`
  const rows = run({ quick })
  if (json) process.stdout.write(JSON.stringify({ machine, rows }) + '\n')
  else console.log(`# oracles against projections (${machine})\n\n${table(rows)}\n\n(load average at the end: ${loadavg().map((v) => v.toFixed(2)).join(' ')})`)
}
