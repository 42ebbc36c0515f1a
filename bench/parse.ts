/**
 * Input cost of `dfw solve` on large problems: a diagonal plus low-rank problem
 * (P = diag(d) + U Uᵀ, U n × r, r = 10) written as JSON at full precision, then timed
 * through the CLI's path:
 * - `parseMs`: `JSON.parse` of the text;
 * - `decodeMs`: `decodeProblem` (src/shapes/codecs.ts: every check, typed arrays, one Dim);
 * - `solveMs`: the forward pass of `dfwLayer` (capped at `maxIterations` steps, default 100,
 *   l1 ball, default schedule);
 * - `writeMs`: turning the result into its JSON line (`JSON.stringify`, as the CLI does).
 * `inputShare` is (parse + decode) / (parse + decode + solve).
 *
 * d is uniform in [1, 2], U's entries are N(0, 1)/√r, q is N(0, 1), t = 1; seeded.
 *
 * Run it with `npx tsx bench/parse.ts` (n = 10⁴, 10⁵, 10⁶; a table), `--json` (one JSON
 * row per line), `--quick` (n = 10⁴, 10⁵).
 *
 * @since 0.1.0
 */
import { pathToFileURL } from 'node:url'
import { performance } from 'node:perf_hooks'
import * as E from 'fp-ts/lib/Either.js'
import { rng } from '../src/core/Random.js'
import { decodeProblem } from '../src/fw/ProblemCodec.js'
import { dfwLayer } from '../src/fw/Layer.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * One measured size.
 *
 * @example
 * const r: Row = measure(1e4, 10)
 */
export interface Row {
  readonly n: number
  readonly rank: number
  /** Size of the JSON text, in MB (10⁶ bytes). */
  readonly mb: number
  readonly parseMs: number
  readonly decodeMs: number
  readonly solveMs: number
  readonly iterations: number
  readonly writeMs: number
  /** (parse + decode) / (parse + decode + solve). */
  readonly inputShare: number
}

/**
 * What to run.
 *
 * @example
 * run({ sizes: [1e5], rank: 5 })
 */
export interface Options {
  /** Sizes; default 10⁴, 10⁵, 10⁶. */
  readonly sizes?: ReadonlyArray<number>
  /** Columns of U; default 10. */
  readonly rank?: number
  /** Frank-Wolfe steps at most; default 100. */
  readonly maxIterations?: number
  /** Called after each row. */
  readonly onRow?: (row: Row) => void
}

/**
 * The default sweep.
 *
 * @example
 * run({ sizes: DEFAULT_SIZES })
 */
export const DEFAULT_SIZES: ReadonlyArray<number> = [1e4, 1e5, 1e6]

// -------------------------------------------------------------------------------------
// the input
// -------------------------------------------------------------------------------------

/**
 * The JSON text of a seeded diag + low-rank problem, built as a string (numbers as
 * `JSON.stringify` writes them).
 *
 * @example
 * JSON.parse(problemText(3, 2, 0)).P.U.length // 3
 */
export const problemText = (n: number, rank: number, seed: number, maxIterations = 100): string => {
  const r = rng(seed)
  const s = 1 / Math.sqrt(rank)
  const parts: string[] = []
  const diag: string[] = new Array(n)
  for (let i = 0; i < n; i++) diag[i] = String(1 + r.uniform())
  parts.push(`{"P":{"diag":[${diag.join(',')}],"U":[`)
  const row: string[] = new Array(rank)
  const rows: string[] = []
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < rank; k++) row[k] = String(r.normal() * s)
    rows.push(`[${row.join(',')}]`)
    if (rows.length === 10000) { parts.push(rows.join(',')); rows.length = 0; if (i < n - 1) parts.push(',') }
  }
  if (rows.length > 0) parts.push(rows.join(','))
  const q: string[] = new Array(n)
  for (let i = 0; i < n; i++) q[i] = String(r.normal())
  parts.push(`]},"q":[${q.join(',')}],"t":1,"options":{"maxIterations":${maxIterations}}}`)
  return parts.join('')
}

// -------------------------------------------------------------------------------------
// measuring
// -------------------------------------------------------------------------------------

/**
 * Times one size.
 *
 * @example
 * measure(1e4, 10).parseMs // milliseconds
 */
export const measure = (n: number, rank: number, maxIterations = 100): Row => {
  const text = problemText(n, rank, 1, maxIterations)
  const t0 = performance.now()
  const u = JSON.parse(text) as unknown
  const t1 = performance.now()
  const decoded = decodeProblem(u)
  const t2 = performance.now()
  if (E.isLeft(decoded)) throw new Error(`the generated problem does not decode: ${decoded.left.message} at ${decoded.left.path}`)
  const { solveMs, iterations, writeMs } = decoded.right((p) => {
    const s0 = performance.now()
    const res = dfwLayer(p.options)(p.problem)
    const s1 = performance.now()
    JSON.stringify({ x: Array.from(res.x.data), objective: res.objective, gap: res.gap, iterations: res.iterations, status: res.status })
    const s2 = performance.now()
    return { solveMs: s1 - s0, iterations: res.iterations, writeMs: s2 - s1 }
  })
  const parseMs = t1 - t0, decodeMs = t2 - t1
  return { n, rank, mb: text.length / 1e6, parseMs, decodeMs, solveMs, iterations, writeMs, inputShare: (parseMs + decodeMs) / (parseMs + decodeMs + solveMs) }
}

/**
 * Runs the sweep.
 *
 * @example
 * run({ sizes: [1e4] }) // [Row]
 */
export const run = (opts: Options = {}): Row[] => {
  const rank = opts.rank ?? 10
  const rows: Row[] = []
  measure(1000, rank, 5) // warm-up
  for (const n of opts.sizes ?? DEFAULT_SIZES) {
    const row = measure(n, rank, opts.maxIterations ?? 100)
    rows.push(row)
    opts.onRow?.(row)
  }
  return rows
}

/**
 * The rows as a text table.
 *
 * @example
 * console.log(table(run()))
 */
export const table = (rows: ReadonlyArray<Row>): string => {
  const head = ['n', 'r', 'MB', 'parse ms', 'decode ms', 'solve ms', 'iters', 'write ms', 'input share']
  const body = rows.map((r) => [
    String(r.n), String(r.rank), r.mb.toFixed(1), r.parseMs.toFixed(1), r.decodeMs.toFixed(1), r.solveMs.toFixed(1),
    String(r.iterations), r.writeMs.toFixed(1), `${(100 * r.inputShare).toFixed(1)}%`
  ])
  const widths = head.map((h, j) => Math.max(h.length, ...body.map((b) => b[j]!.length)))
  const line = (cells: string[]): string => cells.map((c, j) => c.padStart(widths[j]!)).join('  ')
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')
}

// -------------------------------------------------------------------------------------
// main
// -------------------------------------------------------------------------------------

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href

if (isMain) {
  const args = process.argv.slice(2)
  const json = args.includes('--json')
  const quick = args.includes('--quick')
  const opts: Options = quick ? { sizes: [1e4, 1e5] } : {}
  if (json) {
    const rows = run(opts)
    process.stdout.write(`[\n${rows.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`)
  } else {
    process.stderr.write(`parse bench: node ${process.version}, diag + U Uᵀ with r = 10, ≤ ${opts.maxIterations ?? 100} steps\n`)
    const rows = run({ ...opts, onRow: (r) => process.stderr.write(`  n=${r.n} done\n`) })
    process.stdout.write(`${table(rows)}\n`)
  }
}
