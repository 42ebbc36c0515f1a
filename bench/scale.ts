/**
 * Large problems through the layer, each case in its own Node process so that its peak
 * RSS (`process.resourceUsage().maxRSS`) is its own:
 *
 * - `lowRank`: P = diag(d) + U Uᵀ, n = 10⁶, r = 10 (d uniform in [1, 2], U normal / √r,
 *   q normal, w = 1, t = 1: bench/parse.ts's problem);
 * - `csr`: n = 10⁵, about 10 stored entries per row: 9 random off-diagonal entries per row
 *   mirrored to keep P symmetric, and a diagonal of 1 + Σ|off-diagonal| (so P is
 *   diagonally dominant, hence PSD); q normal, w uniform in [0.5, 1.5], t = 1.
 *
 * For each, the forward (at most 200 steps, the default schedule) plus one VJP, in the
 * backward modes `implicit` and `unrolled` (with checkpointing every 15 steps, so the
 * tape holds ≈ 200/15 + 15 states). Rows carry the split (generate, forward, backward),
 * the steps, the peak RSS, and whether it met the budget (10 s for forward + backward,
 * 2 GiB).
 *
 *   npx tsx bench/scale.ts              # all cases, a table
 *   npx tsx bench/scale.ts --case lowRank:implicit   # one case in this process (JSON)
 *
 * @since 0.1.0
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { performance } from 'node:perf_hooks'
import * as E from 'fp-ts/lib/Either.js'
import { type Dim, withDim } from '../src/shapes/Dim.js'
import { type LinearOperator, lowRank, csr } from '../src/core/LinearOperator.js'
import { rng } from '../src/core/Random.js'
import { dfwLayer, type BackwardMode } from '../src/fw/Layer.js'

export interface Row {
  readonly problem: 'lowRank' | 'csr'
  readonly n: number
  readonly backward: BackwardMode
  readonly genMs: number
  readonly forwardMs: number
  readonly backwardMs: number
  /** CPU time (user + system, all threads) of the forward and of the backward: less sensitive than wall time to other load. */
  readonly forwardCpuMs: number
  readonly backwardCpuMs: number
  readonly iterations: number
  readonly status: string
  readonly gap: number
  /** Peak resident set of the case's process, MiB. */
  readonly peakRssMiB: number
  /** forward + backward ≤ 10 s and peak RSS ≤ 2 GiB. */
  readonly withinBudget: boolean
  readonly error?: string
}

export interface Options {
  readonly quick?: boolean
  /** Seconds after which a case's process is stopped and reported as timed out (default 150). */
  readonly timeout?: number
  readonly cases?: ReadonlyArray<string>
}

export const CASES: ReadonlyArray<string> = ['lowRank:implicit', 'lowRank:unrolled', 'csr:implicit', 'csr:unrolled']
const MAX_ITERATIONS = 200
const CHECKPOINT = 15

interface Built<N> { readonly P: LinearOperator<N>; readonly q: Float64Array; readonly w: Float64Array; readonly t: number }

const buildLowRank = <N>(d: Dim<N>): Built<N> => {
  const n = d as number, r = 10, g = rng(1), s = 1 / Math.sqrt(r)
  const diag = new Float64Array(n), U = new Float64Array(n * r), q = new Float64Array(n)
  for (let i = 0; i < n; i++) diag[i] = 1 + g.uniform()
  for (let k = 0; k < n * r; k++) U[k] = g.normal() * s
  for (let i = 0; i < n; i++) q[i] = g.normal()
  return { P: lowRank({ dim: d, data: diag }, r, U), q, w: new Float64Array(n).fill(1), t: 1 }
}

const buildCsr = <N>(d: Dim<N>): Built<N> => {
  const n = d as number, g = rng(2), per = 9
  // off-diagonal pairs (i, j) and (j, i) with the same value; each row draws per/2 partners
  const rows: number[][] = Array.from({ length: n }, () => [])
  const vals: number[][] = Array.from({ length: n }, () => [])
  const off = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < per / 2; k++) {
      const j = Math.floor(g.uniform() * n)
      if (j === i) continue
      const v = g.normal() * 0.5
      rows[i]!.push(j); vals[i]!.push(v); rows[j]!.push(i); vals[j]!.push(v)
      off[i] = off[i]! + Math.abs(v); off[j] = off[j]! + Math.abs(v)
    }
  }
  const rowPtr = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) rowPtr[i + 1] = rowPtr[i]! + rows[i]!.length + 1
  const nnz = rowPtr[n]!
  const colIdx = new Int32Array(nnz), values = new Float64Array(nnz)
  for (let i = 0; i < n; i++) {
    let p = rowPtr[i]!
    colIdx[p] = i; values[p] = 1 + off[i]!; p++
    rows[i]!.forEach((j, k) => { colIdx[p] = j; values[p] = vals[i]![k]!; p++ })
  }
  const op = csr(d, rowPtr, colIdx, values)
  if (E.isLeft(op)) throw new Error(op.left.message)
  const q = new Float64Array(n), w = new Float64Array(n)
  for (let i = 0; i < n; i++) q[i] = g.normal()
  for (let i = 0; i < n; i++) w[i] = 0.5 + g.uniform()
  return { P: op.right, q, w, t: 1 }
}

/** Runs one case in this process. */
export const runCase = (name: string): Row => {
  const [problem, backward] = name.split(':') as ['lowRank' | 'csr', BackwardMode]
  const n = problem === 'lowRank' ? 1_000_000 : 100_000
  return withDim(n, (d) => {
    const t0 = performance.now()
    const b = problem === 'lowRank' ? buildLowRank(d) : buildCsr(d)
    const t1 = performance.now()
    const c1 = process.cpuUsage()
    const layer = dfwLayer({ backward, maxIterations: MAX_ITERATIONS, ...(backward === 'unrolled' ? { checkpoint: CHECKPOINT } : {}) })
    const r = layer({ P: b.P, q: { dim: d, data: b.q }, w: { dim: d, data: b.w }, t: b.t })
    const t2 = performance.now()
    const c2 = process.cpuUsage()
    const g = r.vjp({ dim: d, data: new Float64Array(n).fill(1) })
    const t3 = performance.now()
    const c3 = process.cpuUsage()
    const cpu = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): number => (b.user - a.user + b.system - a.system) / 1e3
    if (!Number.isFinite(g.q.data[0]!)) throw new Error('non-finite gradient')
    const peak = process.resourceUsage().maxRSS / 1024
    return {
      problem, n, backward, genMs: t1 - t0, forwardMs: t2 - t1, backwardMs: t3 - t2,
      forwardCpuMs: cpu(c1, c2), backwardCpuMs: cpu(c2, c3), iterations: r.iterations, status: r.status, gap: r.gap,
      peakRssMiB: peak, withinBudget: t3 - t1 <= 10_000 && peak <= 2048
    }
  })
}

const here = fileURLToPath(import.meta.url)

/**
 * Runs every case, each in a child process (tsx), and returns their rows.
 *
 * @example
 * run({ cases: ['csr:implicit'] })
 */
export const run = (opts: Options = {}): Row[] => {
  const cases = opts.cases ?? (opts.quick === true ? ['csr:implicit', 'csr:unrolled'] : CASES)
  return cases.map((c) => {
    const limit = opts.timeout ?? 150
    const r = spawnSync(process.execPath, ['--import', 'tsx', here, '--case', c], { encoding: 'utf8', maxBuffer: 1 << 24, timeout: limit * 1000 })
    const line = r.stdout.trim().split('\n').pop() ?? ''
    try {
      return JSON.parse(line) as Row
    } catch {
      const [problem, backward] = c.split(':') as ['lowRank' | 'csr', BackwardMode]
      return {
        problem, n: problem === 'lowRank' ? 1e6 : 1e5, backward, genMs: NaN, forwardMs: NaN, backwardMs: NaN, forwardCpuMs: NaN, backwardCpuMs: NaN, iterations: 0, status: 'failed', gap: NaN,
        peakRssMiB: NaN, withinBudget: false,
        error: r.signal !== null ? `stopped after ${limit} s` : (r.stderr || String(r.error ?? '')).trim().split('\n').slice(-3).join(' | ')
      }
    }
  })
}

const fmt = (v: number): string => (Number.isNaN(v) ? '–' : v >= 100 ? v.toFixed(0) : v.toPrecision(3))

/** The rows as a text table. */
export const table = (rows: ReadonlyArray<Row>): string => {
  const head = ['problem', 'n', 'backward', 'gen ms', 'forward ms', '(cpu)', 'backward ms', '(cpu)', 'steps', 'status', 'gap', 'peak RSS MiB', '≤ 10 s, 2 GiB']
  const body = rows.map((r) => [r.problem, String(r.n), r.backward, fmt(r.genMs), fmt(r.forwardMs), fmt(r.forwardCpuMs), fmt(r.backwardMs), fmt(r.backwardCpuMs), String(r.iterations), r.status,
    Number.isNaN(r.gap) ? '–' : r.gap.toExponential(1), fmt(r.peakRssMiB), r.error !== undefined ? `error: ${r.error}` : r.withinBudget ? 'yes' : 'no'])
  const w = head.map((h, k) => Math.max(h.length, ...body.map((b) => b[k]!.length)))
  const line = (cs: ReadonlyArray<string>): string => cs.map((c, k) => (k <= 2 || k === 9 ? c.padEnd(w[k]!) : c.padStart(w[k]!))).join('  ')
  return [line(head), w.map((x) => '-'.repeat(x)).join('  '), ...body.map(line)].join('\n')
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href

if (isMain) {
  const args = process.argv.slice(2)
  const at = args.indexOf('--case')
  if (at >= 0) process.stdout.write(JSON.stringify(runCase(args[at + 1] ?? '')) + '\n')
  else {
    const rows = run({ quick: args.includes('--quick') })
    process.stdout.write(args.includes('--json') ? JSON.stringify(rows) + '\n' : table(rows) + '\n')
  }
}
