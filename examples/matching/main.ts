// A differentiable matching layer (the Birkhoff polytope): learn a bilinear cost
// Cᵢⱼ = −aᵢᵀ W bⱼ so that the layer's matching recovers hidden permutations between two
// noisy views of the same items, trained end to end by gradient descent through the
// layer's vjp (examples/matching/train.ts).
//
//   npm run example:matching                      # full run: per-epoch table, SVG
//   npm run example:matching -- --quick           # a smoke run (small data, 3 epochs)
//   npm run -s example:matching -- --json         # the summary as JSON on stdout
//   npm run example:matching -- --out plot.svg    # where the SVG goes (default out/matching.svg)
//   npm run example:matching -- --epochs 20       # another epoch count
import { mkdirSync, writeFileSync } from 'node:fs'
import { exampleArgs } from '../args.js'
import { dirname } from 'node:path'
import { makeTask } from './task.js'
import { type EpochRow, train } from './train.js'
import { figure } from './svg.js'

// -------------------------------------------------------------------------------------
// arguments
// -------------------------------------------------------------------------------------

const { quick, json, out, epochs } = exampleArgs('matching', { out: 'out/matching.svg', epochs: [3, 15] })

const CONFIG = {
  seed: 0,
  m: quick ? 5 : 10,
  d: 8,
  sigma: 0.7,
  nTrain: quick ? 48 : 64,
  nTest: quick ? 32 : 160,
  epsilon: 1,
  lr: 0.02,
  batch: 8,
  epochs
} as const

// -------------------------------------------------------------------------------------
// the run
// -------------------------------------------------------------------------------------

const task = makeTask(CONFIG)
const started = performance.now()
const result = train(task, CONFIG, (r) => {
  process.stderr.write(`\rmatching: epoch ${r.epoch}/${CONFIG.epochs}, test accuracy ${(100 * r.testAccuracy).toFixed(1)} %   `)
})
process.stderr.write(`\rmatching: ${CONFIG.epochs} epochs in ${((performance.now() - started) / 1000).toFixed(1)} s${' '.repeat(30)}\n`)
const rows = result.rows

// -------------------------------------------------------------------------------------
// the plot
// -------------------------------------------------------------------------------------

const line = (label: string, color: string, pick: (r: EpochRow) => number) => ({ label, color, points: rows.map((r) => [r.epoch, pick(r)] as const) })
const flat = (label: string, color: string, v: number) => ({ label, color, points: rows.map((r) => [r.epoch, v] as const) })
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, figure(`Learning to match through the Birkhoff layer (m = ${CONFIG.m}, σ = ${CONFIG.sigma})`, [
  { title: 'loss ½‖x* − Π‖²/m', xLabel: 'epoch', yLabel: 'loss (log)', logY: true, series: [line('train', '#1f77b4', (r) => r.trainLoss), line('test', '#2ca02c', (r) => r.testLoss)] },
  {
    title: 'test items matched right', xLabel: 'epoch', yLabel: 'share', logY: false,
    series: [line('layer', '#2ca02c', (r) => r.testAccuracy), flat('hidden map', '#7f7f7f', result.reference.trueMapAccuracy), flat('chance', '#d62728', result.reference.chance)]
  }
], [
  { title: 'hidden matching Π', m: result.example.m, values: result.example.truth },
  { title: 'x* before training', m: result.example.m, values: result.example.before },
  { title: `x* after ${CONFIG.epochs} epochs`, m: result.example.m, values: result.example.after }
], [
  `right: green, the layer's hard matching; grey, matching on the hidden map's cost (${(100 * result.reference.trueMapAccuracy).toFixed(1)} %); red, chance (1/m)`,
  `x* = argmin ½‖x‖² + ⟨C, x⟩ over the doubly stochastic matrices, C = −aᵢᵀW bⱼ; W trained by Adam through the layer's vjp`
]))

// -------------------------------------------------------------------------------------
// the report
// -------------------------------------------------------------------------------------

if (json) {
  process.stdout.write(JSON.stringify({ svg: out, config: CONFIG, reference: result.reference, epochs: rows }) + '\n')
} else {
  const f = (v: number, d = 4): string => v.toFixed(d)
  const head = ['epoch', 'train loss', 'test loss', 'accuracy', 'perfect', 'vertices', 'exact faces', 'max viol', 'layer s', 'epoch s']
  const body = rows.map((r) => [String(r.epoch), f(r.trainLoss), f(r.testLoss), f(r.testAccuracy, 3), f(r.testPerfect, 3), f(r.vertexShare, 3), f(r.exactShare, 3), r.maxViolation.toExponential(1), f(r.layerSeconds, 2), f(r.epochSeconds, 2)])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const show = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join('  ')
  console.log(show(head))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const b of body) console.log(show(b))
  console.log(`\nmatching on the hidden map's cost: ${(100 * result.reference.trueMapAccuracy).toFixed(1)} % of items, ${(100 * result.reference.trueMapPerfect).toFixed(1)} % of instances; chance ${(100 * result.reference.chance).toFixed(1)} %`)
  console.log(`SVG: ${out}`)
}
