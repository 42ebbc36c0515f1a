/**
 * A training step on a batch, against PyTorch's batched recipe, in one run: forward
 * through the layer, then the gradient of Σx in q, on the same data on both sides.
 *
 * - The data per cell (B, n): one P = AᵀA + nI shared by the batch (PAPER.md's generator,
 *   bench/problems.ts), and per instance q ~ N(0, 1), w uniform in [0.5, 1.5] and
 *   t = |N(0, 1)|; every number rounded to float32 once, so that the tfjs op (float32
 *   tensors) and the float64 sides read the same values. L is the layer's power iteration
 *   on P, given to both sides (`lipschitz`), so both run the same iterates.
 * - The peer (bench/peers/batch_torch.py): the paper's steps on (B, n) tensors, float64,
 *   one thread pinned (bench/peers/config.ts), autograd through exactly K steps.
 * - Ours, from the built package (dist/, what `import 'dfwlayer'` loads; build it first:
 *   `npx tsc -p tsconfig.build.json`): `tfDfwLayer` + `tf.grad` (the documented path,
 *   tfjs's cpu backend, P shared as
 *   [n, n]) and `dfwBatchSolve` + its batched `vjp(ct, 'q')` (the library, no tfjs; the gradient in q alone, as tf.grad in q asks the op), each with the
 *   paper schedule and the unrolled backward (tolerance 0, exactly K steps) and with the
 *   defaults (the default schedule, the implicit backward: the exact solution and
 *   gradient), and the loop of `dfwLayer` calls the batch replaced (paper/unrolled).
 *
 * Each variant is warmed for `warmMs` of calls, then timed for `budgetMs` (the median of
 * the calls, at least 5), in a process of its own (a training process runs one layer on
 * one configuration; `--in-process` times every cell and variant in the bench's own
 * process instead, where the other cells' data and code share the heap and the inline
 * caches, and our small cells read up to 2× slower). In each round (`rounds`, default 3)
 * the peer times a cell right after ours (before ours in odd rounds), so that both sides of
 * a ratio see the same state of a shared machine whose speed drifts by up to 2× over
 * minutes; a row's ratio is the median of the rounds' ratios ours ÷ torch. The peer's x and
 * gradient of the last call are compared with the direct paper/unrolled path (the same
 * float64 iterates: agreement to rounding).
 *
 * A second table: warm starts across training steps. S steps in which q moves a little
 * (q ← q + δ·N(0, 1), δ = 0.01 relative to |q| ~ 1) through the default/implicit layer,
 * cold and with the previous step's x as the start (`warmStart: true` of the tfjs op;
 * `dfwBatchSolve(o)(batch, previous)`), ms per step and the largest |x_warm − x_cold|.
 *
 *   npx tsx bench/batch.ts [--quick] [--json] [--rounds 3] [--in-process] [--cells 256x10x60,…]
 *
 * `--cells` times those cells (B×n×K) alone and skips the warm-start table.
 *   npm run bench -- --only batch
 *
 * @since 0.1.0
 */
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { performance } from 'node:perf_hooks'
import { existsSync, readdirSync, statSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs'
import { withDim, unsafeDim } from '../src/shapes/Dim.js'
import type { Mat } from '../src/shapes/Mat.js'
import type { LinearOperator } from '../src/core/LinearOperator.js'
import { rng } from '../src/core/Random.js'
import type { LayerOptions } from '../src/fw/Layer.js'
import type { BatchProblem, BatchSolution } from '../src/fw/Batch.js'
import { benchProblem, cacheDir } from './problems.js'
import { type PeerConfig, type TorchConfig, TORCH_PY, peerConfig, peerEnv, peerLine, torchAvailable } from './peers/config.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** A cell of the grid. */
export interface Cell { readonly B: number; readonly n: number; readonly K: number }

/** One row of the main table: ms per training step (forward + ∇_q Σx) of each variant. */
export interface Row extends Cell {
  readonly torchMs?: number
  readonly tfPaperMs: number
  readonly tfImplicitMs: number
  readonly directPaperMs: number
  readonly directImplicitMs: number
  readonly loopPaperMs: number
  /** Medians over the rounds of ours ÷ torch (absent without the peer). */
  readonly tfPaperRatio?: number
  readonly tfImplicitRatio?: number
  readonly directPaperRatio?: number
  readonly directImplicitRatio?: number
  /** Each round's tfjs paper/unrolled ÷ torch. */
  readonly roundRatios?: readonly number[]
  /** max |x_ours − x_torch| and max |∇_ours − ∇_torch| (direct paper/unrolled, the same float64 iterates). */
  readonly xDiff?: number
  readonly gradDiff?: number
  readonly peer?: PeerConfig
}

/** One row of the warm-start table. */
export interface WarmRow {
  readonly B: number
  readonly n: number
  readonly steps: number
  readonly path: 'tfjs' | 'direct'
  readonly coldMs: number
  readonly warmMs: number
  /** Frank-Wolfe steps per instance and training step, cold and warm (mean). */
  readonly coldIterations: number
  readonly warmIterations: number
  /** max |x_warm − x_cold| over the steps. */
  readonly maxDiff: number
}

// -------------------------------------------------------------------------------------
// the library under test: the built package, as a user runs it
// -------------------------------------------------------------------------------------

const root = fileURLToPath(new URL('..', import.meta.url))

/** The newest modification time of the files under a directory. */
const newest = (dir: string): number =>
  readdirSync(dir).reduce((m, e) => {
    const p = join(dir, e), s = statSync(p)
    return Math.max(m, s.isDirectory() ? newest(p) : s.mtimeMs)
  }, 0)

/**
 * `dfwlayer` and `dfwlayer/tfjs` from dist/ (what `import 'dfwlayer'` loads, without the
 * TypeScript loader's per-function overhead); a stale or missing build is reported.
 */
const loadBuilt = async (): Promise<{ lib: typeof import('../src/index.js'); tfjs: typeof import('../src/tfjs/index.js') }> => {
  const dist = join(root, 'dist')
  if (!existsSync(join(dist, 'index.js'))) throw new Error('bench batch: dist/ is missing; build it with `npx tsc -p tsconfig.build.json`')
  if (newest(join(root, 'src')) > statSync(join(dist, 'index.js')).mtimeMs) process.stderr.write('bench batch: dist/ is older than src/; rebuild with `npx tsc -p tsconfig.build.json` to measure the current code\n')
  const lib = (await import(pathToFileURL(join(dist, 'index.js')).href)) as typeof import('../src/index.js')
  const tfjs = (await import(pathToFileURL(join(dist, 'tfjs', 'index.js')).href)) as typeof import('../src/tfjs/index.js')
  return { lib, tfjs }
}

let built: Awaited<ReturnType<typeof loadBuilt>> | undefined
const L = (): Awaited<ReturnType<typeof loadBuilt>> => {
  if (built === undefined) throw new Error('bench batch: the built package is not loaded')
  return built
}

// -------------------------------------------------------------------------------------
// data
// -------------------------------------------------------------------------------------

interface CellData {
  readonly cell: Cell
  readonly P: Float64Array
  readonly Q: Float64Array
  readonly W: Float64Array
  readonly T: Float64Array
  readonly L: number
  readonly files: { readonly pFile: string; readonly qFile: string; readonly wFile: string; readonly tFile: string }
}

const f32 = (a: ArrayLike<number>): Float64Array => Float64Array.from(a as Float64Array, (v) => Math.fround(v))

/** PAPER.md's P = AᵀA + nI (seed 1), rounded to float32. */
const paperP = (n: number): Float64Array => f32(withDim(n, (d) => benchProblem(d, 1, 'paper').P.mat.data))

const writeF64 = (path: string, a: Float64Array): void => writeFileSync(path, Buffer.from(a.buffer, a.byteOffset, a.byteLength))

const cellData = (cell: Cell): CellData => {
  const { B, n } = cell
  const P = paperP(n)
  const r = rng(1000 + 7 * n + B)
  const Q = f32(Array.from({ length: B * n }, () => r.normal()))
  const W = f32(Array.from({ length: B * n }, () => 0.5 + r.uniform()))
  const T = f32(Array.from({ length: B }, () => Math.abs(r.normal())))
  const Lip = withDim(n, (d) => L().lib.powerIteration(L().lib.dense({ rows: d, cols: d, data: P })).value)
  const base = join(cacheDir(), `batch-B${B}-n${n}`)
  const files = { pFile: `${base}-P.f64`, qFile: `${base}-Q.f64`, wFile: `${base}-W.f64`, tFile: `${base}-T.f64` }
  writeF64(files.pFile, P); writeF64(files.qFile, Q); writeF64(files.wFile, W); writeF64(files.tFile, T)
  return { cell, P, Q, W, T, L: Lip, files }
}

// -------------------------------------------------------------------------------------
// timing
// -------------------------------------------------------------------------------------

const median = (xs: readonly number[]): number => {
  const s = xs.slice().sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** ms per call of f: warm for warmMs, then the median of calls over budgetMs (at least 5). */
const time = (f: () => void, warmMs: number, budgetMs: number): number => {
  let t0 = performance.now()
  while (performance.now() - t0 < warmMs) f()
  const ts: number[] = []
  t0 = performance.now()
  while (ts.length < 5 || performance.now() - t0 < budgetMs) {
    const s = performance.now()
    f()
    ts.push(performance.now() - s)
  }
  return median(ts)
}

const paperOptions = (d: CellData): LayerOptions => ({ schedule: 'paper', backward: 'unrolled', tolerance: 0, maxIterations: d.cell.K, lipschitz: d.L })

/** The step functions of our variants for one cell. */
const ours = (d: CellData) => {
  const { B, n } = d.cell
  const bD = unsafeDim<'B'>(B), nD = unsafeDim<'n'>(n)
  const { lib, tfjs } = L()
  const op = lib.dense({ rows: nD, cols: nD, data: d.P })
  const batch: BatchProblem<'B', 'n'> = { P: op, q: { rows: bD, cols: nD, data: d.Q }, w: { rows: bD, cols: nD, data: d.W }, t: { dim: bD, data: d.T } }
  const ones: Mat<'B', 'n'> = { rows: bD, cols: nD, data: new Float64Array(B * n).fill(1) }
  const direct = (o: LayerOptions) => {
    const solve = lib.dfwBatchSolve(o)
    // the gradient in q alone, as the tfjs op's tf.grad in q computes it
    return () => { solve(batch).vjp(ones, 'q') }
  }
  const tfStep = (o: LayerOptions) => {
    const layer = tfjs.tfDfwLayer(o)
    const q = tf.tensor2d(Float32Array.from(d.Q), [B, n]), P = tf.tensor2d(Float32Array.from(d.P), [n, n])
    const w = tf.tensor2d(Float32Array.from(d.W), [B, n]), t = tf.tensor1d(Float32Array.from(d.T))
    const grad = tf.grad((q: tf.Tensor) => layer({ q, P, w, t }).sum())
    return () => { const g = grad(q); g.dataSync(); g.dispose() }
  }
  const loop = (o: LayerOptions) => {
    const layer = lib.dfwLayer(o)
    const probs = Array.from({ length: B }, (_, b) => ({
      P: op, q: { dim: nD, data: d.Q.slice(b * n, b * n + n) }, w: { dim: nD, data: d.W.slice(b * n, b * n + n) }, t: d.T[b]!
    }))
    const one = { dim: nD, data: new Float64Array(n).fill(1) }
    return () => { for (const p of probs) layer(p).vjp(one) }
  }
  const paper = paperOptions(d)
  return {
    tfPaper: tfStep(paper), tfImplicit: tfStep({}), directPaper: direct(paper), directImplicit: direct({}), loopPaper: loop(paper),
    check: (): { x: Float64Array; g: Float64Array } => {
      const s = lib.dfwBatchSolve(paper)(batch)
      return { x: s.x.data, g: s.vjp(ones, 'q').q.data }
    }
  }
}

// -------------------------------------------------------------------------------------
// the peer
// -------------------------------------------------------------------------------------

const here = fileURLToPath(new URL('.', import.meta.url))

interface TorchRow { readonly B: number; readonly n: number; readonly K: number; readonly ms: number; readonly x?: number[]; readonly gradQ?: number[] }

/** One run of bench/peers/batch_torch.py over the cells, threads pinned as config.ts pins them. */
const runTorch = (ds: readonly CellData[], seconds: number, check: boolean): { rows: TorchRow[]; peer: PeerConfig } | undefined => {
  if (!torchAvailable()) return undefined
  const input = { seconds, check, cells: ds.map((d) => ({ ...d.cell, ...d.files, L: d.L, beta0: 1 })) }
  const r = spawnSync(TORCH_PY, [join(here, 'peers', 'batch_torch.py')], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 28, env: peerEnv() })
  if (r.status !== 0) {
    process.stderr.write(`bench: PyTorch peer failed: ${(r.stderr || '').trim().split('\n').pop() ?? ''}\n`)
    return undefined
  }
  const out = JSON.parse(r.stdout) as { config: TorchConfig; rows: TorchRow[] }
  return { rows: out.rows, peer: peerConfig({ torch: out.config }) }
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return a.length === b.length ? m : Infinity
}

// -------------------------------------------------------------------------------------
// warm starts
// -------------------------------------------------------------------------------------

/** S training steps with q drifting by δ·N(0, 1) per step, cold and warm, through both paths. */
const warmRows = (B: number, n: number, S: number): WarmRow[] => {
  const P = paperP(n)
  const r = rng(77 + n)
  const qs: Float64Array[] = [f32(Array.from({ length: B * n }, () => r.normal()))]
  for (let s = 1; s < S; s++) qs.push(f32(qs[s - 1]!.map((v) => v + 0.01 * r.normal())))
  const W = f32(Array.from({ length: B * n }, () => 0.5 + r.uniform()))
  const T = f32(Array.from({ length: B }, () => 0.3 * Math.abs(r.normal()) + 0.05))
  const bD = unsafeDim<'B'>(B), nD = unsafeDim<'n'>(n)
  const { lib, tfjs } = L()
  const op: LinearOperator<'n'> = lib.dense({ rows: nD, cols: nD, data: P })
  const ones: Mat<'B', 'n'> = { rows: bD, cols: nD, data: new Float64Array(B * n).fill(1) }
  const rows: WarmRow[] = []
  // direct: dfwBatchSolve, the previous solution as the warm start
  {
    const solve = lib.dfwBatchSolve({})
    const pass = (warm: boolean): { ms: number; its: number; xs: Float64Array[] } => {
      let prev: BatchSolution<'B', 'n'> | undefined
      let its = 0
      const xs: Float64Array[] = []
      const t0 = performance.now()
      for (const q of qs) {
        const batch: BatchProblem<'B', 'n'> = { P: op, q: { rows: bD, cols: nD, data: q }, w: { rows: bD, cols: nD, data: W }, t: { dim: bD, data: T } }
        const sol = warm && prev !== undefined ? solve(batch, prev) : solve(batch)
        sol.vjp(ones)
        for (const x of sol.results) if (x._tag === 'Right') its += x.right.iterations
        xs.push(sol.x.data)
        prev = sol
      }
      return { ms: (performance.now() - t0) / S, its: its / (B * S), xs }
    }
    pass(false); pass(true)
    const c = [pass(false), pass(false), pass(false)], w = [pass(true), pass(true), pass(true)]
    const cm = c.slice().sort((a, b) => a.ms - b.ms)[1]!, wm = w.slice().sort((a, b) => a.ms - b.ms)[1]!
    let diff = 0
    for (let s = 0; s < S; s++) diff = Math.max(diff, maxDiff(cm.xs[s]!, wm.xs[s]!))
    rows.push({ B, n, steps: S, path: 'direct', coldMs: cm.ms, warmMs: wm.ms, coldIterations: cm.its, warmIterations: wm.its, maxDiff: diff })
  }
  // tfjs: the op's warmStart option
  {
    const Pt = tf.tensor2d(Float32Array.from(P), [n, n]), Wt = tf.tensor2d(Float32Array.from(W), [B, n]), Tt = tf.tensor1d(Float32Array.from(T))
    const Qt = qs.map((q) => tf.tensor2d(Float32Array.from(q), [B, n]))
    const pass = (warm: boolean): { ms: number; its: number; xs: Float64Array[] } => {
      let its = 0
      const xs: Float64Array[] = []
      const layer = tfjs.tfDfwLayer({ warmStart: warm, onSolve: (rs) => {
        const x = new Float64Array(B * n)
        rs.forEach((r, b) => { its += r.iterations; x.set(r.x.data, b * n) })
        xs.push(x)
      } })
      const t0 = performance.now()
      for (const q of Qt) {
        const g = tf.grad((q: tf.Tensor) => layer({ q, P: Pt, w: Wt, t: Tt }).sum())(q)
        g.dataSync()
        g.dispose()
      }
      return { ms: (performance.now() - t0) / S, its: its / (B * S), xs }
    }
    pass(false); pass(true)
    const c = [pass(false), pass(false), pass(false)], w = [pass(true), pass(true), pass(true)]
    const cm = c.slice().sort((a, b) => a.ms - b.ms)[1]!, wm = w.slice().sort((a, b) => a.ms - b.ms)[1]!
    let diff = 0
    for (let s = 0; s < S; s++) diff = Math.max(diff, maxDiff(cm.xs[s]!, wm.xs[s]!))
    rows.push({ B, n, steps: S, path: 'tfjs', coldMs: cm.ms, warmMs: wm.ms, coldIterations: cm.its, warmIterations: wm.its, maxDiff: diff })
    tf.dispose([Pt, Wt, Tt, ...Qt])
  }
  return rows
}

// -------------------------------------------------------------------------------------
// a process per cell and variant
// -------------------------------------------------------------------------------------

type Variant = 'tfPaper' | 'tfImplicit' | 'directPaper' | 'directImplicit' | 'loopPaper'
type Times = { readonly [V in Variant]: number }

const self = fileURLToPath(import.meta.url)

/**
 * ms per call of one variant on one cell, timed in a fresh process (this file with
 * `--child`, under the loader this process runs under): the cell's data are rebuilt there
 * from the same seeds.
 */
const timeInChild = (cell: Cell, variant: Variant, warmMs: number, budgetMs: number): number => {
  const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', JSON.stringify({ cell, variant, warmMs, budgetMs })], { encoding: 'utf8', maxBuffer: 1 << 24 })
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? ''
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`bench batch: the child for ${variant} at B = ${cell.B}, n = ${cell.n} failed: ${(r.stderr || '').trim().split('\n').pop() ?? ''}`)
  return (JSON.parse(line) as { ms: number }).ms
}

/** The child: one variant of one cell, its ms per call on stdout as JSON. */
const child = async (arg: string): Promise<void> => {
  const { cell, variant, warmMs, budgetMs } = JSON.parse(arg) as { cell: Cell; variant: Variant; warmMs: number; budgetMs: number }
  await tf.setBackend('cpu')
  built ??= await loadBuilt()
  const f = ours(cellData(cell))[variant]
  process.stdout.write(JSON.stringify({ ms: time(f, warmMs, budgetMs) }) + '\n')
}

// -------------------------------------------------------------------------------------
// the bench
// -------------------------------------------------------------------------------------

/** The issue's grid, then more cells. */
export const GRID: readonly Cell[] = [
  { B: 64, n: 2, K: 10 }, { B: 256, n: 10, K: 60 }, { B: 64, n: 100, K: 60 }, { B: 16, n: 300, K: 60 },
  { B: 256, n: 2, K: 10 }, { B: 64, n: 10, K: 60 }, { B: 16, n: 100, K: 60 }, { B: 256, n: 100, K: 60 }, { B: 64, n: 300, K: 60 }
]

/**
 * Runs the bench: the main table's rows, and the warm-start rows.
 *
 * @example
 * const { rows, warm } = await run({ quick: true })
 */
export const run = async (opts: { readonly quick?: boolean; readonly rounds?: number; readonly cells?: readonly Cell[]; readonly inProcess?: boolean; readonly warm?: boolean } = {}): Promise<{ rows: Row[]; warm: WarmRow[]; inProcess: boolean; peers: PeerConfig[] }> => {
  await tf.setBackend('cpu')
  built ??= await loadBuilt()
  const cells = opts.cells ?? (opts.quick === true ? GRID.slice(0, 4) : GRID)
  const rounds = opts.rounds ?? (opts.quick === true ? 1 : 3)
  const warmMs = opts.quick === true ? 300 : 1000, budgetMs = opts.quick === true ? 500 : 1500
  const ds = cells.map(cellData)
  const fns = ds.map(ours)
  const inProcess = opts.inProcess === true
  // [round][cell]: ours, and the peer's ms (undefined where it did not run)
  const oursRounds: Times[][] = [], torchRounds: Array<Array<number | undefined>> = []
  const peers: PeerConfig[] = [], lastTorch: Array<TorchRow | undefined> = [], peerOf: Array<PeerConfig | undefined> = []
  for (let r = 0; r < rounds; r++) {
    process.stderr.write(`bench batch: round ${r + 1}/${rounds}: ours${inProcess ? ' (in process)' : ' (a process per cell and variant)'} and torch, cell by cell…\n`)
    const oursR: Times[] = [], torchR: Array<number | undefined> = []
    ds.forEach((d, i) => {
      const timeOf = (v: Variant): number => {
        const [w, b] = v === 'loopPaper' ? [warmMs / 2, budgetMs / 2] : [warmMs, budgetMs]
        return inProcess ? time(fns[i]![v], w, b) : timeInChild(d.cell, v, w, b)
      }
      const peer = (): void => {
        const tr = runTorch([d], (warmMs + budgetMs) / 1000, r === rounds - 1)
        if (tr === undefined) return
        peers.push(tr.peer); peerOf[i] = tr.peer; torchR[i] = tr.rows[0]!.ms
        if (r === rounds - 1) lastTorch[i] = tr.rows[0]
      }
      // the peer right before or right after ours (alternating by round), so that the two
      // sides of a ratio run minutes apart at most on a machine whose speed drifts
      if (r % 2 === 1) peer()
      oursR[i] = {
        tfPaper: timeOf('tfPaper'), tfImplicit: timeOf('tfImplicit'),
        directPaper: timeOf('directPaper'), directImplicit: timeOf('directImplicit'), loopPaper: timeOf('loopPaper')
      }
      if (r % 2 === 0) peer()
    })
    oursRounds.push(oursR); torchRounds.push(torchR)
  }
  const rows: Row[] = ds.map((d, i) => {
    const med = (k: keyof Times): number => median(oursRounds.map((o) => o[i]![k]))
    // the rounds in which the peer ran on this cell, each ratio within its round
    const paired = oursRounds.flatMap((o, r) => { const t = torchRounds[r]![i]; return t === undefined ? [] : [{ o: o[i]!, t }] })
    const ratio = (k: keyof Times): number => median(paired.map((p) => p.o[k] / p.t))
    const tr = lastTorch[i], peer = peerOf[i]
    const chk = tr?.x !== undefined ? fns[i]!.check() : undefined
    return {
      ...d.cell,
      tfPaperMs: med('tfPaper'), tfImplicitMs: med('tfImplicit'), directPaperMs: med('directPaper'), directImplicitMs: med('directImplicit'), loopPaperMs: med('loopPaper'),
      ...(paired.length > 0 ? {
        torchMs: median(paired.map((p) => p.t)),
        tfPaperRatio: ratio('tfPaper'), tfImplicitRatio: ratio('tfImplicit'), directPaperRatio: ratio('directPaper'), directImplicitRatio: ratio('directImplicit'),
        roundRatios: paired.map((p) => p.o.tfPaper / p.t)
      } : {}),
      ...(chk !== undefined && tr?.x !== undefined && tr.gradQ !== undefined ? { xDiff: maxDiff(chk.x, tr.x), gradDiff: maxDiff(chk.g, tr.gradQ) } : {}),
      ...(peer !== undefined ? { peer } : {})
    }
  })
  process.stderr.write('bench batch: warm starts…\n')
  const warm = opts.warm === false ? [] : opts.quick === true ? warmRows(64, 100, 5) : [...warmRows(64, 100, 10), ...warmRows(16, 300, 10)]
  return { rows, warm, inProcess, peers }
}

const fmt = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3))
const ratio = (v: number | undefined): string => (v === undefined ? '' : ` (${v.toFixed(2)}×)`)

/**
 * The rows as plain-text tables, each comparison with the peer followed by its `peer:` line.
 *
 * @example
 * console.log(table(await run()))
 */
export const table = (r: { rows: readonly Row[]; warm: readonly WarmRow[]; inProcess?: boolean; peers?: readonly PeerConfig[] }): string => {
  const head = ['B', 'n', 'K', 'torch recipe ms', 'tfjs paper/unrolled', 'tfjs default/implicit', 'dfwBatchSolve paper/unrolled', 'dfwBatchSolve default/implicit', 'dfwLayer loop paper', 'max |Δx|, |Δ∇q| vs torch']
  const body = r.rows.map((x) => [
    String(x.B), String(x.n), String(x.K), fmt(x.torchMs),
    fmt(x.tfPaperMs) + ratio(x.tfPaperRatio), fmt(x.tfImplicitMs) + ratio(x.tfImplicitRatio),
    fmt(x.directPaperMs) + ratio(x.directPaperRatio), fmt(x.directImplicitMs) + ratio(x.directImplicitRatio),
    fmt(x.loopPaperMs), x.xDiff === undefined ? '–' : `${x.xDiff.toExponential(1)}, ${x.gradDiff!.toExponential(1)}`
  ])
  const out = [r.inProcess === true ? 'ours timed in the bench\'s own process (--in-process)' : 'ours timed in a fresh process per cell and variant', grid(head, body)]
  const rr = r.rows.filter((x) => x.roundRatios !== undefined && x.roundRatios.length > 1)
  for (const x of rr) out.push(`B = ${x.B}, n = ${x.n}: tfjs paper/unrolled ÷ torch per round ${x.roundRatios!.map((v) => `${v.toFixed(2)}×`).join(', ')}`)
  // one configuration per peer run (a run times every cell), else the rows' distinct ones
  out.push(peerLine(r.peers ?? [...new Set(r.rows.flatMap((x) => (x.peer !== undefined ? [x.peer] : [])))]))
  if (r.warm.length === 0) return out.join('\n')
  const wh = ['B', 'n', 'steps', 'path', 'cold ms/step', 'warm ms/step', 'warm ÷ cold', 'FW steps cold → warm', 'max |x_warm − x_cold|']
  const wb = r.warm.map((w) => [String(w.B), String(w.n), String(w.steps), w.path, fmt(w.coldMs), fmt(w.warmMs), `${(w.warmMs / w.coldMs).toFixed(2)}×`, `${w.coldIterations.toFixed(1)} → ${w.warmIterations.toFixed(1)}`, w.maxDiff.toExponential(1)])
  out.push('', 'warm starts (default/implicit, q ← q + 0.01·N(0, 1) per step):', grid(wh, wb))
  return out.join('\n')
}

const grid = (head: readonly string[], body: readonly (readonly string[])[]): string => {
  const wd = head.map((h, j) => Math.max(h.length, ...body.map((b) => b[j]!.length)))
  const line = (cs: readonly string[]) => cs.map((c, j) => c.padStart(wd[j]!)).join('  ')
  return [line(head), line(wd.map((k) => '-'.repeat(k))), ...body.map(line)].join('\n')
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2)
  const ci = args.indexOf('--child')
  if (ci >= 0) await child(args[ci + 1]!)
  else {
    const at = args.indexOf('--rounds'), cs = args.indexOf('--cells')
    // --cells 256x10x60,64x2x10: those cells (B×n×K) alone, and no warm-start rows
    const cells = cs >= 0 ? args[cs + 1]!.split(',').map((c) => { const [B, n, K] = c.split('x').map(Number); return { B: B!, n: n!, K: K! } }) : undefined
    const out = await run({ quick: args.includes('--quick'), inProcess: args.includes('--in-process'), ...(at >= 0 ? { rounds: Number(args[at + 1]) } : {}), ...(cells !== undefined ? { cells, warm: false } : {}) })
    process.stdout.write(args.includes('--json') ? JSON.stringify(out) + '\n' : table(out) + '\n')
  }
}


