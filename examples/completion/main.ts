// Matrix completion through the nuclear-norm ball: complete a low-rank matrix (plus row and
// column offsets) from a few observed entries, with the layer inside a small model
//
//   L = argmin { ½ Σ_Ω (Lᵢⱼ + aᵢ + cⱼ − Yᵢⱼ)² + ½ε‖L‖²_F : ‖L‖_* ≤ t },   Ŷ = L + a 1ᵀ + 1 cᵀ
//
// (P = diag(1_Ω + ε), q = 1_Ω ⊙ (a 1ᵀ + 1 cᵀ − Y), the set {"kind":"nuclear","rows","cols"}).
// The layer fits the low-rank part to the training entries Ω; the model's parameters, the
// offsets a, c and the radius t = exp(s), are trained by Adam on the validation entries'
// squared error, whose gradient reaches them through Ŷ and through the layer's vjp (∂q, ∂t).
// The held-out entries (neither training nor validation) measure the completion against
// the untrained model and against the offsets alone fitted by least squares.
//
//   npm run example:completion                      # full run (40 × 30, rank 3, 30 % + 15 % observed, 40 epochs): table, summary, SVG
//   npm run example:completion -- --quick           # a smoke run (20 × 16, rank 2, 40 % + 20 % observed, 12 epochs)
//   npm run -s example:completion -- --json         # the summary as JSON on stdout
//   npm run example:completion -- --out plot.svg    # where the SVG goes (default out/completion.svg)
//   npm run example:completion -- --epochs 20       # another epoch count
import { mkdirSync, writeFileSync } from 'node:fs'
import { exampleArgs } from '../args.js'
import { dirname } from 'node:path'
import { svd } from '../../src/core/Eigen.js'
import { makeTask } from './task.js'
import { EPS, type EpochRow, offsetsOnly, train } from './model.js'
import { lineCharts, type Panel } from '../imitation/svg.js'

// -------------------------------------------------------------------------------------
// arguments
// -------------------------------------------------------------------------------------

const { quick, json, out, epochs } = exampleArgs('completion', { out: 'out/completion.svg', epochs: [12, 40] })

const CONFIG = {
  seed: 1,
  rows: quick ? 20 : 40,
  cols: quick ? 16 : 30,
  rank: quick ? 2 : 3,
  train: quick ? 0.4 : 0.3,
  validation: quick ? 0.2 : 0.15,
  noise: 0.1,
  epsilon: EPS,
  /** θ₀: a = c = 0 and t₀ = t0PerEntry·√(rows·cols). */
  t0PerEntry: 0.5,
  lr: 0.1,
  epochs
} as const

// -------------------------------------------------------------------------------------
// the run
// -------------------------------------------------------------------------------------

const task = makeTask(CONFIG)
const { rows: m, cols: p } = CONFIG
const baseline = offsetsOnly(task)
const theta0 = { a: new Float64Array(m), c: new Float64Array(p), s: Math.log(CONFIG.t0PerEntry * Math.sqrt(m * p)) }
const started = performance.now()
const result = train(task, theta0, CONFIG.epochs, CONFIG.lr, (r) => {
  if (!json) process.stderr.write(`\rcompletion: epoch ${r.epoch}/${CONFIG.epochs}, held-out RMSE ${r.testRmse.toFixed(4)}, rank ${r.rank}   `)
})
const seconds = (performance.now() - started) / 1000
if (!json) process.stderr.write(`\rcompletion: ${CONFIG.epochs} epochs in ${seconds.toFixed(1)} s${' '.repeat(40)}\n`)
const rows = result.rows
const first = rows[0]!, last = rows[rows.length - 1]!

// -------------------------------------------------------------------------------------
// the plot
// -------------------------------------------------------------------------------------

const line = (label: string, color: string, pick: (r: EpochRow) => number) => ({ label, color, points: rows.map((r) => [r.epoch, pick(r)] as const) })
const flat = (label: string, color: string, v: number) => ({ label, color, points: rows.map((r) => [r.epoch, v] as const) })
const spectrum = (label: string, color: string, x: Float64Array) => {
  const sv = svd(x, m, p).s
  return { label, color, points: Array.from(sv, (v, i) => [i + 1, v] as const).filter(([, v]) => v >= 1e-8 * sv[0]!) }
}
// the first panel's series make the legend
const panels: Panel[] = [
  {
    title: 'RMSE on the held-out entries', xLabel: 'epoch', yLabel: 'RMSE', logY: false,
    series: [line('layer model', '#1f77b4', (r) => r.testRmse), flat('offsets only', '#d62728', baseline.testRmse), flat('untrained model', '#7f7f7f', first.testRmse)]
  },
  { title: 'validation loss through the layer, ½·mean (Ŷ − Y)²', xLabel: 'epoch', yLabel: 'loss (log)', logY: true, series: [line('layer model', '#1f77b4', (r) => r.loss)] },
  { title: 't (green) and ‖L‖_* (purple): L is on the sphere', xLabel: 'epoch', yLabel: 'value', logY: false, series: [line('t', '#2ca02c', (r) => r.t), line('‖L‖_*', '#9467bd', (r) => r.nuclearNorm)] },
  { title: 'rank of the layer\'s L', xLabel: 'epoch', yLabel: 'rank', logY: false, series: [line('rank', '#1f77b4', (r) => r.rank)] },
  { title: 'the layer\'s solve and vjp per epoch', xLabel: 'epoch', yLabel: 'seconds (log)', logY: true, series: [line('layer', '#1f77b4', (r) => r.layerMs / 1000)] },
  {
    title: 'σᵢ ≥ 1e-8·σ₁: signal (grey), L at θ₀ (orange), trained (blue)', xLabel: 'index i', yLabel: 'σᵢ (log)', logY: true,
    series: [spectrum('signal', '#7f7f7f', task.signal), spectrum('L at θ₀', '#ff7f0e', result.first.L), spectrum('L trained', '#1f77b4', result.last.L)]
  }
]
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, lineCharts(`Completing a ${m}×${p} rank-${CONFIG.rank} matrix (plus offsets) from ${(100 * CONFIG.train).toFixed(0)} % + ${(100 * CONFIG.validation).toFixed(0)} % of its entries through the nuclear-norm ball`, panels, 3))

// -------------------------------------------------------------------------------------
// the report
// -------------------------------------------------------------------------------------

const count = (mask: Float64Array): number => mask.reduce((s, v) => s + v, 0)
const summary = {
  entries: { train: count(task.train), validation: count(task.validation), heldOut: count(task.test) },
  untrained: { testRmse: first.testRmse, loss: first.loss, t: first.t, rank: first.rank },
  offsetsOnly: { testRmse: baseline.testRmse },
  trained: { testRmse: last.testRmse, validationRmse: last.validationRmse, trainRmse: last.trainRmse, loss: last.loss, t: last.t, rank: last.rank },
  maxNormRatio: rows.reduce((s, r) => Math.max(s, r.normRatio), 0),
  exactShare: rows.filter((r) => r.derivative === 'exact').length / rows.length,
  convergedShare: rows.filter((r) => r.status === 'converged').length / rows.length,
  seconds,
  layerSeconds: rows.reduce((s, r) => s + r.layerMs, 0) / 1000
}

if (json) {
  process.stdout.write(JSON.stringify({ svg: out, config: CONFIG, summary, epochs: rows }) + '\n')
} else {
  const head = ['epoch', 'val loss', 'train RMSE', 'val RMSE', 'held-out RMSE', 't', '‖L‖_*/t', 'rank', 'status', 'face', 'layer s']
  const body = rows.map((r) => [String(r.epoch), r.loss.toFixed(5), r.trainRmse.toFixed(4), r.validationRmse.toFixed(4), r.testRmse.toFixed(4),
    r.t.toFixed(2), r.normRatio.toFixed(10), String(r.rank), r.status, r.derivative, (r.layerMs / 1000).toFixed(2)])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const show = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join('  ')
  console.log(show(head))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const b of body) console.log(show(b))
  const e = summary.entries
  console.log(`\n${m}×${p}, rank ${CONFIG.rank}, noise ${CONFIG.noise}: ${e.train} training, ${e.validation} validation and ${e.heldOut} held-out entries`)
  console.log(`held-out RMSE: untrained ${first.testRmse.toFixed(4)}, offsets only ${baseline.testRmse.toFixed(4)}, trained ${last.testRmse.toFixed(4)} (t = ${last.t.toFixed(2)}, rank ${last.rank})`)
  console.log(`max ‖L‖_*/t over the epochs ${summary.maxNormRatio.toFixed(12)}; faces exact ${(100 * summary.exactShare).toFixed(0)} %; ${seconds.toFixed(1)} s, of which the layer ${summary.layerSeconds.toFixed(1)} s`)
  console.log(`SVG: ${out}`)
}
