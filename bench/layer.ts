/**
 * The layer against its peers, on PAPER.md's problems (bench/problems.ts), in one run:
 *
 * - `iter` rows: ms per forward and per backward iteration of the unrolled layer at a
 *   fixed K (`tolerance: 0, maxIterations: K`), for the "paper" and "default" schedules;
 *   the implicit mode's forward and backward ms; and the peers' recipe at the same K:
 *   PyTorch (Debian's python3-torch, CPU, float64, threads pinned to 1; bench/peers/recipe_torch.py)
 *   and TensorFlow.js (float32; cpu and wasm backends; bench/peers/recipe_tfjs.ts). Each
 *   peer row carries its ratio ours/peer (fwd + bwd per iteration, ours = the paper
 *   schedule unrolled) and how far its gradient is from ours (the same iterates, so the
 *   same gradient up to rounding).
 * - `accuracy` rows: the time to a gradient of ⟨1, x⟩ in q with cosine ≥ 0.999 against
 *   the exact derivative (solveExact + kktDerivative, cached on disk): for the unrolled
 *   modes K doubles until the cosine is reached (or a time cap); the implicit modes run
 *   once at their default tolerance. The recipe's time is ours at the K it needs and
 *   PyTorch's at that K.
 * - `matvec` rows: GB/s of the dense product (through `applyInto` in a call, the one-row
 *   and four-row kernels alone, and the JavaScript fallback) against three
 *   streaming-read probes over 256 MiB in the same process (a JavaScript loop over a
 *   Float64Array, an f64x2 wasm loop over one stream, and one over four interleaved
 *   streams, as four rows of a matrix are read).
 *
 * Run through `npm run bench -- --only layer` (add `--svg FILE` for a log-log chart of
 * ms per iteration against n), or `npx tsx bench/layer.ts [--quick] [--json] [--svg FILE]
 * [--sizes 10,100] [--parts iter,accuracy,matvec] [--no-call] [--rounds R]`.
 *
 * Each layer call runs inside a kernel call (`beginCall` … `endCall` of src/core/simd.ts,
 * as the layer's wiring will do): P is copied into the kernels' memory once per call and
 * that copy is inside the forward's time. `--no-call` times the layer without it (every
 * product copies P). Every table that compares with a peer prints a `peer:` line (torch
 * version, pinned threads, the BLAS it was built with and the one loaded, the BLAS/OpenMP
 * environment; tfjs backend and threads; Node's version; the load average at the peer's
 * runs), and each peer row of `--json` carries it as `peer`.
 *
 * @since 0.1.0
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { performance } from 'node:perf_hooks'
import { type Dim, withDim } from '../src/shapes/Dim.js'
import type { Vec } from '../src/shapes/Vec.js'
import { dfwLayer, type LayerOptions } from '../src/fw/Layer.js'
import type { Params } from '../src/fw/Problem.js'
import { powerIteration } from '../src/core/PowerIteration.js'
import { applyInto } from '../src/core/LinearOperator.js'
import { gemvLanes, streamProbe, simdAvailable, kernelProbe, beginCall, endCall, FOUR_ROWS_BYTES } from '../src/core/simd.js'
import { solveExact, kktDerivative } from '../src/fw/exact/index.js'
import { type BenchProblem, benchProblem, cacheDir } from './problems.js'
import { type PeerRun, useBackend, runRecipe, tfjsConfig } from './peers/recipe_tfjs.js'
import { type PeerConfig, type TorchConfig, peerConfig, peerLine, runTorchScript } from './peers/config.js'
import { lineChart } from './svg.js'
import { fusedRecipe } from './fused.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

export interface IterRow {
  readonly kind: 'iter'
  readonly n: number
  readonly impl: string
  readonly K: number
  /** ms per forward iteration (for `implicit`: ms of the whole forward). */
  readonly fwdMs: number
  /** ms per backward iteration (for `implicit`: ms of one VJP). */
  readonly bwdMs: number
  /** ours (paper schedule, unrolled) ÷ this row, fwd + bwd per iteration; < 1: ours faster. */
  readonly oursOverThis?: number
  /** The fused prototype (bench/fused.ts) ÷ this row, fwd + bwd per iteration. */
  readonly fusedOverThis?: number
  /** max |∇ this − ∇ ours| / max |∇ ours| (same recipe, same iterates). */
  readonly gradDiff?: number
  /** For a peer's row: what it ran with, and the load average then. */
  readonly peer?: PeerConfig
  /** With `rounds` > 1, the PyTorch row: ours ÷ PyTorch in each round (ours and the peer alternate), and the row's figures are the rounds' medians. */
  readonly roundRatios?: ReadonlyArray<number>
  /**
   * Ours (paper) and PyTorch's rows: a call of K iterations split as fixed + K × marginal,
   * from the same measurement at h = ⌈K/2⌉ (fwd + bwd ms): marginal = (t(K) − t(h)) / (K − h).
   * (Not from K = 1: a 1-step call of the layer costs more than a 2-step one at n = 300.)
   */
  readonly marginalMs?: number
  readonly fixedMs?: number
}

export interface AccuracyRow {
  readonly kind: 'accuracy'
  readonly n: number
  readonly variant: 'paper' | 'binding'
  readonly mode: string
  /** Iterations (unrolled: the K reached; implicit: the steps its forward took). */
  readonly K: number
  readonly cosine: number
  readonly reached: boolean
  /** ms of forward + backward at that K (including power iteration for the paper schedule). */
  readonly ms: number
  /** ms of the whole search (every K tried). */
  readonly searchMs?: number
  readonly note?: string
  /** For the peer's row: what it ran with, and the load average then. */
  readonly peer?: PeerConfig
}

export interface MatvecRow {
  readonly kind: 'matvec'
  readonly n: number
  readonly impl: string
  readonly us: number
  readonly gbps: number
  /** GB/s ÷ the fastest probe's GB/s. */
  readonly ofProbe: number
  readonly probeJs: number
  /** The one-stream wasm probe (streamProbe(bytes, 1)). */
  readonly probeWasm: number
  /** The four-stream wasm probe (streamProbe(bytes, 4)). */
  readonly probeWasm4: number
}

export type Row = IterRow | AccuracyRow | MatvecRow

export interface Options {
  readonly sizes?: ReadonlyArray<number>
  readonly accuracySizes?: ReadonlyArray<number>
  readonly parts?: ReadonlyArray<'iter' | 'accuracy' | 'matvec'>
  readonly svg?: string
  readonly quick?: boolean
  /**
   * Whether each layer call runs inside a kernel call (`beginCall` … `endCall`, as the
   * layer's own wiring will do; default true). false: every product copies its matrix.
   */
  readonly inCall?: boolean
  /**
   * iter: how many times our paper schedule and the PyTorch recipe are measured in
   * alternation (default 1); their rows give the medians over the rounds, so load from
   * other processes that comes and goes falls on both alike.
   */
  readonly rounds?: number
  readonly onRow?: (r: Row) => void
}

export const DEFAULT_SIZES: ReadonlyArray<number> = [10, 100, 300, 1000, 3000]
export const DEFAULT_ACCURACY_SIZES: ReadonlyArray<number> = [10, 100, 300, 1000]

const K_AT = (n: number): number => (n <= 300 ? 60 : n <= 1000 ? 20 : 10)
const REPS_AT = (n: number): number => (n <= 100 ? 15 : n <= 300 ? 9 : 5)
/** Warm-up budget (ms of repeated calls) before a timed series: the JIT settles on the engine's call sites after about a second. */
const WARM_MS = (quick: boolean | undefined): number => (quick === true ? 200 : 1500)

/** Calls `f` until `ms` have passed (at least twice). */
const warm = (f: () => void, ms: number): void => {
  const t0 = performance.now()
  let k = 0
  while (k < 2 || performance.now() - t0 < ms) { f(); k++ }
}

// -------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------

const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b), m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let ab = 0, aa = 0, bb = 0
  for (let i = 0; i < a.length; i++) { ab += a[i]! * b[i]!; aa += a[i]! ** 2; bb += b[i]! ** 2 }
  return aa === 0 && bb === 0 ? 1 : ab / Math.sqrt(aa * bb)
}

const relMaxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0, m = 0
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i]! - b[i]!)); m = Math.max(m, Math.abs(b[i]!)) }
  return m === 0 ? d : d / m
}

const paramsOf = <N>(d: Dim<N>, p: BenchProblem<N>): Params<N> => ({
  P: p.P, q: { dim: d, data: p.q }, w: { dim: d, data: p.w }, t: p.t
})

const ones = <N>(d: Dim<N>): Vec<N> => ({ dim: d, data: new Float64Array(d as number).fill(1) })

let useCall = true

/**
 * Forward and backward ms of one layer call, and the gradient. The call runs between the
 * kernels' `beginCall` and `endCall` (unless `inCall: false`), standing in for the layer's
 * own wiring: the first product of the call copies P into the kernels' memory, the rest
 * reuse that copy, and the copy's cost is inside the forward's time.
 */
const timeLayer = <N>(d: Dim<N>, p: BenchProblem<N>, opts: LayerOptions): { fwd: number; bwd: number; iterations: number; grad: Float64Array } => {
  const layer = dfwLayer(opts)
  const t0 = performance.now()
  if (useCall) beginCall()
  const r = layer({ P: p.P, q: { dim: d, data: p.q }, w: { dim: d, data: p.w }, t: p.t })
  const t1 = performance.now()
  const g = r.vjp(ones(d)).q.data
  if (useCall) endCall()
  const t2 = performance.now()
  return { fwd: t1 - t0, bwd: t2 - t1, iterations: r.iterations, grad: g }
}

// -------------------------------------------------------------------------------------
// the PyTorch peer
// -------------------------------------------------------------------------------------

export { torchAvailable } from './peers/config.js'

/** The PyTorch recipe (bench/peers/recipe_torch.py, threads pinned), with the configuration it ran with. */
const runTorch = <N>(p: BenchProblem<N>, L: number, ks: ReadonlyArray<number>, reps: number): { version: string; runs: PeerRun[]; peer: PeerConfig } | undefined => {
  const spec = { n: p.n, pFile: p.pFile, q: Array.from(p.q), w: Array.from(p.w), t: p.t, L, beta0: 1, c: new Array<number>(p.n).fill(1), ks, reps }
  const out = runTorchScript<{ config: TorchConfig; runs: PeerRun[] }>([], spec)
  if (out === undefined) return undefined
  return { version: out.config.torch, runs: out.runs, peer: peerConfig({ torch: out.config }) }
}

// -------------------------------------------------------------------------------------
// iterations
// -------------------------------------------------------------------------------------

/** The smaller K of the fixed/marginal split. */
const HALF = (K: number): number => Math.max(2, Math.ceil(K / 2))

/** A call of K iterations (ms tK) against one of h = HALF(K) (th): fixed + K × marginal. */
const marginal = (tK: number, th: number, K: number): { marginalMs: number; fixedMs: number } => {
  const h = HALF(K)
  const m = (tK - th) / (K - h)
  return { marginalMs: m, fixedMs: th - h * m }
}

const iterRows = async <N>(d: Dim<N>, opts: Options): Promise<IterRow[]> => {
  const n = d as number
  const p = benchProblem(d, 0, 'paper')
  const K = opts.quick === true ? Math.min(K_AT(n), 20) : K_AT(n)
  const reps = opts.quick === true ? 2 : REPS_AT(n)
  const L = powerIteration(p.P).value
  const rows: IterRow[] = []
  let oursPer = NaN
  let oursGrad: Float64Array | undefined
  const rounds = Math.max(1, opts.rounds ?? 1)
  // rounds > 1: ours (paper) and the PyTorch recipe alternate, each round a warm series of both
  const oursRounds: Array<{ fwd: number; bwd: number; one: number }> = []
  const torchRounds: Array<NonNullable<ReturnType<typeof runTorch>>> = []
  for (const schedule of ['paper', 'default'] as const) {
    const o: LayerOptions = { schedule, backward: 'unrolled', tolerance: 0, maxIterations: K, lipschitz: L }
    let grad: Float64Array | undefined
    const o1: LayerOptions = { ...o, maxIterations: HALF(K) }
    const series = (): { fwd: number; bwd: number; one: number } => {
      warm(() => timeLayer(d, p, o), WARM_MS(opts.quick))
      const fs: number[] = [], bs: number[] = [], ones1: number[] = []
      for (let r = 0; r < reps; r++) {
        const m = timeLayer(d, p, o); fs.push(m.fwd / K); bs.push(m.bwd / K); grad = m.grad
        if (schedule === 'paper') { const m1 = timeLayer(d, p, o1); ones1.push(m1.fwd + m1.bwd) }
      }
      return { fwd: median(fs), bwd: median(bs), one: ones1.length > 0 ? median(ones1) : NaN }
    }
    let m: { fwd: number; bwd: number; one: number }
    if (schedule === 'paper' && rounds > 1) {
      for (let k = 0; k < rounds; k++) {
        oursRounds.push(series())
        const tr = runTorch(p, L, [K, HALF(K)], reps)
        if (tr !== undefined) torchRounds.push(tr)
      }
      m = { fwd: median(oursRounds.map((r) => r.fwd)), bwd: median(oursRounds.map((r) => r.bwd)), one: median(oursRounds.map((r) => r.one)) }
    } else m = series()
    const split = schedule === 'paper' && K > 2 ? marginal(K * (m.fwd + m.bwd), m.one, K) : {}
    const row: IterRow = {
      kind: 'iter', n, impl: `ours ${schedule} unrolled${schedule === 'paper' && rounds > 1 ? ` (median of ${rounds} rounds)` : ''}`, K, fwdMs: m.fwd, bwdMs: m.bwd, ...split
    }
    if (schedule === 'paper') { oursPer = row.fwdMs + row.bwdMs; oursGrad = grad }
    rows.push(row)
  }
  let fusedPer = NaN
  {
    const c = new Float64Array(n).fill(1)
    warm(() => fusedRecipe(p.P.mat.data, n, p.q, p.w, p.t, L, 1, K, c), WARM_MS(opts.quick))
    const fs: number[] = [], bs: number[] = []
    let grad: Float64Array | undefined
    for (let r = 0; r < Math.max(reps, 5); r++) { const m = fusedRecipe(p.P.mat.data, n, p.q, p.w, p.t, L, 1, K, c); fs.push(m.fwdMs / K); bs.push(m.bwdMs / K); grad = m.gradQ }
    const row: IterRow = {
      kind: 'iter', n, impl: 'fused paper unrolled (bench/fused.ts)', K, fwdMs: median(fs), bwdMs: median(bs),
      oursOverThis: oursPer / (median(fs) + median(bs)),
      ...(oursGrad !== undefined && grad !== undefined ? { gradDiff: relMaxDiff(grad, oursGrad) } : {})
    }
    fusedPer = row.fwdMs + row.bwdMs
    rows.push(row)
  }
  {
    const o: LayerOptions = { schedule: 'default', backward: 'implicit' }
    // a whole solve takes seconds at n ≥ 1000: one run there, no warm-up
    if (n < 1000) timeLayer(d, p, o)
    const fs: number[] = [], bs: number[] = []
    let it = 0
    for (let r = 0; r < (n < 1000 ? Math.min(reps, 3) : 1); r++) { const m = timeLayer(d, p, o); fs.push(m.fwd); bs.push(m.bwd); it = m.iterations }
    rows.push({ kind: 'iter', n, impl: 'ours default implicit (whole solve)', K: it, fwdMs: median(fs), bwdMs: median(bs) })
  }
  const peer = (impl: string, runs: PeerRun[] | undefined, cfg: PeerConfig, oneMs?: number): void => {
    const r = runs?.[0]
    if (r === undefined) return
    const per = (r.fwdMs + r.bwdMs) / K
    rows.push({
      kind: 'iter', n, impl, K, fwdMs: r.fwdMs / K, bwdMs: r.bwdMs / K,
      ...(oneMs !== undefined && K > 2 ? marginal(r.fwdMs + r.bwdMs, oneMs, K) : {}),
      oursOverThis: oursPer / per,
      fusedOverThis: fusedPer / per,
      ...(oursGrad !== undefined ? { gradDiff: relMaxDiff(r.gradQ, oursGrad) } : {}),
      peer: cfg
    })
  }
  if (rounds > 1) {
    const ts = torchRounds.flatMap((tr) => (tr.runs[0] !== undefined ? [{ tr, r: tr.runs[0] }] : []))
    if (ts.length > 0) {
      const last = ts[ts.length - 1]!
      const ratios = ts.map(({ r }, k) => (oursRounds[k]!.fwd + oursRounds[k]!.bwd) / ((r.fwdMs + r.bwdMs) / K))
      const fwdMs = median(ts.map(({ r }) => r.fwdMs)), bwdMs = median(ts.map(({ r }) => r.bwdMs))
      const ones1 = torchRounds.flatMap((tr) => (tr.runs[1] !== undefined ? [tr.runs[1].fwdMs + tr.runs[1].bwdMs] : []))
      peer(`pytorch ${last.tr.version} recipe (f64, ${last.tr.peer.torch?.threads ?? '?'} thread, median of ${ts.length} rounds)`,
        [{ ...last.r, fwdMs, bwdMs }], last.tr.peer, ones1.length > 0 ? median(ones1) : undefined)
      const row = rows[rows.length - 1]
      if (row !== undefined) rows[rows.length - 1] = { ...row, roundRatios: ratios }
    }
  } else {
    const torch = runTorch(p, L, [K], reps)
    if (torch !== undefined) peer(`pytorch ${torch.version} recipe (f64, ${torch.peer.torch?.threads ?? '?'} thread)`, torch.runs, torch.peer)
  }
  for (const be of ['cpu', 'wasm'] as const) {
    if (!(await useBackend(be))) continue
    const runs = runRecipe({ n, P: p.P.mat.data, q: p.q, w: p.w, t: p.t, L, beta0: 1, c: new Float64Array(n).fill(1), ks: [K], reps })
    peer(`tfjs ${be} recipe (f32)`, runs, peerConfig({ tfjs: tfjsConfig() }))
  }
  return rows
}

// -------------------------------------------------------------------------------------
// time to an accurate gradient
// -------------------------------------------------------------------------------------

/** The exact ∇q⟨1, x*⟩ (solveExact + kktDerivative), cached on disk. */
const exactGradient = <N>(d: Dim<N>, p: BenchProblem<N>): Float64Array => {
  const file = join(cacheDir(), `exact-grad-n${p.n}-s${p.seed}-${p.variant}.json`)
  if (existsSync(file)) return Float64Array.from(JSON.parse(readFileSync(file, 'utf8')) as number[])
  const th = paramsOf(d, p)
  const sol = solveExact('l1', th)
  const g = kktDerivative('l1', th, sol).vjp(ones(d)).q.data
  writeFileSync(file, JSON.stringify(Array.from(g)))
  return g
}

const COS = 0.999

const accuracyRows = <N>(d: Dim<N>, variant: 'paper' | 'binding', opts: Options): AccuracyRow[] => {
  const n = d as number
  const p = benchProblem(d, 0, variant)
  const ref = exactGradient(d, p)
  const rows: AccuracyRow[] = []
  const cap = opts.quick === true ? 3000 : 8000 // ms of one run beyond which K stops doubling
  let recipeK = 0
  for (const schedule of ['paper', 'default'] as const) {
    let K = 1, found: AccuracyRow | undefined, last: AccuracyRow | undefined
    const s0 = performance.now()
    for (;;) {
      const t0 = performance.now()
      const L = schedule === 'paper' ? powerIteration(p.P).value : undefined
      const tL = performance.now() - t0
      const m = timeLayer(d, p, { schedule, backward: 'unrolled', tolerance: 0, maxIterations: K, ...(L !== undefined ? { lipschitz: L } : {}) })
      const c = cosine(m.grad, ref)
      last = { kind: 'accuracy', n, variant, mode: `${schedule} unrolled`, K, cosine: c, reached: c >= COS, ms: tL + m.fwd + m.bwd }
      if (c >= COS) { found = last; break }
      const next = K >= 1000 ? undefined : Math.min(1000, K * 2)
      if (next === undefined || (m.fwd + m.bwd) * (next / K) > cap) break
      K = next
    }
    const searchMs = performance.now() - s0
    const row = found ?? { ...last!, note: `not reached: cosine ${last!.cosine.toFixed(4)} at K = ${last!.K} (${last!.K >= 1000 ? 'the paper\'s cap' : 'time cap'})` }
    rows.push({ ...row, searchMs })
    if (schedule === 'paper' && found !== undefined) recipeK = found.K
  }
  {
    // the recipe as the paper runs it: its own stop test (1e-4) and cap (1000)
    const t0 = performance.now()
    const m = timeLayer(d, p, { schedule: 'paper', backward: 'unrolled' })
    const ms = performance.now() - t0
    const c = cosine(m.grad, ref)
    rows.push({ kind: 'accuracy', n, variant, mode: 'paper unrolled, its own stop (1e-4)', K: m.iterations, cosine: c, reached: c >= COS, ms })
  }
  for (const schedule of ['default', 'paper'] as const) {
    const reps = n < 1000 ? 3 : 1
    if (n < 1000) timeLayer(d, p, { schedule, backward: 'implicit' })
    const ms: number[] = []
    let m: ReturnType<typeof timeLayer> = { fwd: 0, bwd: 0, iterations: 0, grad: new Float64Array(0) }
    for (let r = 0; r < reps; r++) { const t0 = performance.now(); m = timeLayer(d, p, { schedule, backward: 'implicit' }); ms.push(performance.now() - t0) }
    const c = cosine(m.grad, ref)
    rows.push({ kind: 'accuracy', n, variant, mode: `${schedule} implicit`, K: m.iterations, cosine: c, reached: c >= COS, ms: median(ms) })
  }
  if (recipeK > 0) {
    const torch = runTorch(p, powerIteration(p.P).value, [recipeK], 3)
    const r = torch?.runs[0]
    if (r !== undefined && torch !== undefined) {
      const c = cosine(r.gradQ, ref)
      rows.push({ kind: 'accuracy', n, variant, mode: 'pytorch recipe', K: recipeK, cosine: c, reached: c >= COS, ms: r.fwdMs + r.bwdMs, note: 'at the K ours needed; power iteration not timed', peer: torch.peer })
    }
  }
  return rows
}

// -------------------------------------------------------------------------------------
// matvec against bandwidth
// -------------------------------------------------------------------------------------

const timeIt = (f: () => number, ms: number): number => {
  let sink = 0
  for (let i = 0; i < 3; i++) sink += f()
  let k = 0
  const t0 = performance.now()
  while (performance.now() - t0 < ms) { sink += f(); k++ }
  const per = (performance.now() - t0) / k
  if (sink === 12345.678) process.stderr.write('')
  return per
}

const matvecRows = (sizes: ReadonlyArray<number>, quick: boolean): MatvecRow[] => {
  const bytes = 256 * 2 ** 20
  const big = new Float64Array(bytes / 8).fill(1)
  const jsProbe = (): number => {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0
    for (let i = 0; i < big.length; i += 4) { s0 += big[i]!; s1 += big[i + 1]!; s2 += big[i + 2]!; s3 += big[i + 3]! }
    return s0 + s1 + s2 + s3
  }
  const wp = streamProbe(bytes, 1), wp4 = streamProbe(bytes, 4)
  const budget = quick ? 100 : 400
  const rows: MatvecRow[] = []
  for (const n of sizes) {
    withDim(n, (d) => {
      const p = benchProblem(d, 0, 'paper')
      const A = p.P.mat.data, x = Float64Array.from(p.q), y = new Float64Array(n)
      const mb = 8 * n * n
      const k = kernelProbe(A, n)
      // interleave: probes, kernels, fallback, …, so that load from other processes hits all alike
      const probeJ: number[] = [], probeW: number[] = [], probeW4: number[] = []
      const impls: Array<readonly [string, () => number]> = [
        [simdAvailable() ? `applyInto in a call (wasm, ${mb >= FOUR_ROWS_BYTES ? '4 rows' : '1 row'} per pass)` : 'applyInto (JS, no SIMD)',
          () => { applyInto(p.P, x, y); return y[0]! }],
        ...(k !== undefined ? [
          ['kernel gemv (1 row per pass)', () => { k.apply('gemv', x, y); return y[0]! }] as const,
          ['kernel gemv4 (4 rows per pass)', () => { k.apply('gemv4', x, y); return y[0]! }] as const
        ] : []),
        ['gemvLanes (JS fallback)', () => { gemvLanes(A, n, x, y); return y[0]! }]
      ]
      const ts = impls.map((): number[] => [])
      for (let round = 0; round < 3; round++) {
        probeJ.push(bytes / timeIt(jsProbe, budget / 2) / 1e6)
        if (wp !== undefined) probeW.push(wp.bytes / timeIt(wp.read, budget / 2) / 1e6)
        if (wp4 !== undefined) probeW4.push(wp4.bytes / timeIt(wp4.read, budget / 2) / 1e6)
        beginCall()
        impls.forEach(([, f], i) => ts[i]!.push(timeIt(f, budget)))
        endCall()
      }
      k?.release()
      const pj = median(probeJ), pw = probeW.length > 0 ? median(probeW) : NaN, pw4 = probeW4.length > 0 ? median(probeW4) : NaN
      const best = Math.max(pj, Number.isNaN(pw) ? 0 : pw, Number.isNaN(pw4) ? 0 : pw4)
      impls.forEach(([impl], i) => {
        const ms = median(ts[i]!)
        const gbps = mb / ms / 1e6
        rows.push({ kind: 'matvec', n, impl, us: ms * 1e3, gbps, ofProbe: gbps / best, probeJs: pj, probeWasm: pw, probeWasm4: pw4 })
      })
    })
  }
  wp?.release()
  wp4?.release()
  return rows
}

// -------------------------------------------------------------------------------------
// run, table, chart
// -------------------------------------------------------------------------------------

/**
 * Runs the parts and returns their rows.
 *
 * @example
 * await run({ sizes: [10, 100], parts: ['iter'] })
 */
export const run = async (opts: Options = {}): Promise<Row[]> => {
  const parts = opts.parts ?? ['iter', 'accuracy', 'matvec']
  const sizes = opts.sizes ?? (opts.quick === true ? [10, 100, 300] : DEFAULT_SIZES)
  const accSizes = opts.accuracySizes ?? (opts.quick === true ? [10, 100] : DEFAULT_ACCURACY_SIZES)
  const out: Row[] = []
  useCall = opts.inCall ?? true
  const emit = (rs: ReadonlyArray<Row>): void => { for (const r of rs) { out.push(r); opts.onRow?.(r) } }
  if (parts.includes('iter')) for (const n of sizes) emit(await withDim(n, (d) => iterRows(d, opts)))
  if (parts.includes('accuracy')) {
    for (const n of accSizes) for (const v of ['paper', 'binding'] as const) emit(withDim(n, (d) => accuracyRows(d, v, opts)))
  }
  if (parts.includes('matvec')) emit(matvecRows(sizes, opts.quick === true))
  if (opts.svg !== undefined) writeFileSync(opts.svg, chart(out))
  return out
}

const fmt = (v: number | undefined, digits = 3): string =>
  v === undefined || Number.isNaN(v) ? '' : Math.abs(v) >= 1000 ? v.toFixed(0) : Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 10 ? v.toFixed(2) : v.toPrecision(digits)

const align = (head: string[], body: string[][]): string => {
  const w = head.map((h, k) => Math.max(h.length, ...body.map((b) => b[k]!.length)))
  const line = (cs: ReadonlyArray<string>): string => cs.map((c, k) => (k <= 1 && k !== 0 ? c.padEnd(w[k]!) : k === 0 ? c.padStart(w[k]!) : c.padStart(w[k]!))).join('  ')
  return [line(head), w.map((x) => '-'.repeat(x)).join('  '), ...body.map(line)].join('\n')
}

/** The rows as text tables, one per part. */
export const table = (rows: ReadonlyArray<Row>): string => {
  const out: string[] = []
  const it = rows.filter((r): r is IterRow => r.kind === 'iter')
  if (it.length > 0) {
    out.push('ms per iteration (unrolled, fixed K, tolerance 0; implicit: ms of the whole forward / one VJP); layer/this and fused/this = (fwd+bwd per iteration of the layer\'s paper schedule unrolled, or of the fused prototype) ÷ this row\'s; grad diff = max|∇q this − ∇q layer| / max|∇q layer|')
    out.push(align(['n', 'implementation', 'K', 'fwd ms/it', 'bwd ms/it', 'layer/this', 'fused/this', 'grad diff'],
      it.map((r) => [String(r.n), r.impl, String(r.K), fmt(r.fwdMs), fmt(r.bwdMs), r.oursOverThis === undefined ? '' : `${fmt(r.oursOverThis)}×`,
        r.fusedOverThis === undefined ? '' : `${fmt(r.fusedOverThis)}×`, r.gradDiff === undefined ? '' : r.gradDiff.toExponential(1)])))
    for (const r of it) if (r.roundRatios !== undefined) out.push(`n = ${r.n}: layer/pytorch per round ${r.roundRatios.map((v) => `${fmt(v)}×`).join(', ')}`)
    for (const r of it) {
      if (r.marginalMs !== undefined && r.fixedMs !== undefined) {
        out.push(`n = ${r.n}, ${r.impl}: a call of K iterations = ${fmt(r.fixedMs)} ms fixed + K × ${fmt(r.marginalMs)} ms (fwd + bwd; from K = ${r.K} and K = ${HALF(r.K)})`)
      }
    }
    out.push(peerLine(it.flatMap((r) => (r.peer !== undefined ? [r.peer] : []))))
  }
  const acc = rows.filter((r): r is AccuracyRow => r.kind === 'accuracy')
  if (acc.length > 0) {
    out.push('', `time to a gradient with cosine ≥ ${COS} against the exact derivative (∇q Σx*)`)
    out.push(align(['n', 'variant', 'mode', 'K', 'cosine', 'ms', 'search ms', 'note'],
      acc.map((r) => [String(r.n), r.variant, r.mode, String(r.K), r.cosine.toFixed(5), r.reached ? fmt(r.ms) : `(${fmt(r.ms)})`, fmt(r.searchMs), r.note ?? ''])))
    out.push(peerLine(acc.flatMap((r) => (r.peer !== undefined ? [r.peer] : []))))
  }
  const mv = rows.filter((r): r is MatvecRow => r.kind === 'matvec')
  if (mv.length > 0) {
    out.push('', 'dense matvec against streaming-read probes over 256 MiB (same process, interleaved; "of probe" = ÷ the fastest probe)')
    out.push(align(['n', 'implementation', 'µs', 'GB/s', 'probe JS', 'probe wasm', 'probe wasm ×4', 'of probe'],
      mv.map((r) => [String(r.n), r.impl, fmt(r.us), fmt(r.gbps), fmt(r.probeJs), fmt(r.probeWasm), fmt(r.probeWasm4), `${(100 * r.ofProbe).toFixed(0)} %`])))
  }
  return out.join('\n')
}

/** The log-log chart of ms per iteration (fwd + bwd) against n, one line per implementation. */
export const chart = (rows: ReadonlyArray<Row>): string => {
  const it = rows.filter((r): r is IterRow => r.kind === 'iter' && !r.impl.includes('implicit'))
  const names = [...new Set(it.map((r) => r.impl))]
  return lineChart({
    title: 'Unrolled Frank-Wolfe, ms per iteration (forward + backward) against n',
    xLabel: 'n',
    yLabel: 'ms per iteration',
    series: names.map((name) => ({ name, points: it.filter((r) => r.impl === name).map((r) => [r.n, r.fwdMs + r.bwdMs] as const) })),
    notes: [peerLine(it.flatMap((r) => (r.peer !== undefined ? [r.peer] : [])))]
  })
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href

if (isMain) {
  const args = process.argv.slice(2)
  const svgAt = args.indexOf('--svg')
  const listAt = (flag: string): number[] | undefined => {
    const i = args.indexOf(flag)
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1]!.split(',').map(Number) : undefined
  }
  const partsAt = args.indexOf('--parts')
  const sizes = listAt('--sizes')
  const opts: Options = {
    quick: args.includes('--quick'),
    inCall: !args.includes('--no-call'),
    ...(args.includes('--rounds') ? { rounds: Number(args[args.indexOf('--rounds') + 1]) } : {}),
    ...(sizes !== undefined ? { sizes, accuracySizes: sizes.filter((n) => DEFAULT_ACCURACY_SIZES.includes(n)) } : {}),
    ...(partsAt >= 0 && args[partsAt + 1] !== undefined ? { parts: args[partsAt + 1]!.split(',') as ('iter' | 'accuracy' | 'matvec')[] } : {}),
    ...(svgAt >= 0 && args[svgAt + 1] !== undefined ? { svg: args[svgAt + 1]! } : {}),
    onRow: (r) => process.stderr.write(`  ${JSON.stringify(r)}\n`)
  }
  void run(opts).then((rows) => {
    if (args.includes('--json')) process.stdout.write(JSON.stringify(rows) + '\n')
    else process.stdout.write(table(rows) + '\n')
  })
}
