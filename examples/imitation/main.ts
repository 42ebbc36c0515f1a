// Behaviour cloning with a power constraint (PAPER.md, "Imitation learning with a power
// constraint"): a Reacher-like task, a seeded expert that respects Σ|sᵢaᵢ| ≤ p_max, and four
// policies trained on it at p_max = 0.3 and 1.0 (the paper's R+O03 and R+O10): the unconstrained network, the network
// scaled onto the constraint, and the network followed by the Frank-Wolfe layer (the
// paper's schedule unrolled; the default schedule with the implicit derivative).
//
//   npm run example:imitation                      # full run: per-epoch table, summary, SVG
//   npm run example:imitation -- --quick           # a smoke run (small data, 2 epochs)
//   npm run -s example:imitation -- --json         # the summary as JSON on stdout (-s: without npm's banner)
//   npm run example:imitation -- --out plot.svg    # where the SVG goes (default out/imitation.svg)
//   npm run example:imitation -- --epochs 10       # another epoch count
import { mkdirSync, writeFileSync } from 'node:fs'
import { exampleArgs } from '../args.js'
import { dirname } from 'node:path'
import { withDim, type Dim } from '../../src/shapes/Dim.js'
import { ACTIONS, FEATURES, makeDataset } from './task.js'
import { POLICIES, type PolicyName } from './policies.js'
import { type EpochRow, VIOLATION_TOL, trainPolicy } from './train.js'
import { lineCharts, type Panel } from './svg.js'

// -------------------------------------------------------------------------------------
// arguments
// -------------------------------------------------------------------------------------

const { quick, json, out, epochs } = exampleArgs('imitation', { out: 'out/imitation.svg', epochs: [2, 10] })

const CONFIG = {
  seed: 0,
  nTrain: quick ? 128 : 1024,
  nTest: quick ? 128 : 512,
  hidden: 32,
  batch: 64,
  lr: 1e-2,
  epochs,
  pMax: [0.3, 1.0]
} as const

// -------------------------------------------------------------------------------------
// the run
// -------------------------------------------------------------------------------------

const total = CONFIG.pMax.length * POLICIES.length * CONFIG.epochs
let done = 0
const started = performance.now()
const progress = (label: string): void => {
  const width = 24, filled = Math.round((done / total) * width)
  const secs = ((performance.now() - started) / 1000).toFixed(0)
  process.stderr.write(`\rimitation [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} epochs, ${secs} s  ${label.padEnd(34)}`)
}

const rows: EpochRow[] = withDim(FEATURES, <F>(f: Dim<F>) => withDim(CONFIG.hidden, <H>(h: Dim<H>) => withDim(ACTIONS, <A>(a: Dim<A>) =>
  CONFIG.pMax.flatMap((pMax) => {
    const data = makeDataset(f, a, { seed: CONFIG.seed, nTrain: CONFIG.nTrain, nTest: CONFIG.nTest, pMax })
    return POLICIES.flatMap((policy) => {
      progress(`p_max ${pMax} ${policy.name}`)
      return trainPolicy({ f, h, a }, data, policy, CONFIG, (r) => {
        done++
        progress(`p_max ${pMax} ${policy.name} epoch ${r.epoch}`)
      })
    })
  }))))
process.stderr.write(`\rimitation: ${total} epochs in ${((performance.now() - started) / 1000).toFixed(1)} s${' '.repeat(60)}\n`)

// -------------------------------------------------------------------------------------
// the plot
// -------------------------------------------------------------------------------------

const COLORS: { readonly [K in PolicyName]: string } = { 'mlp': '#d62728', 'clip': '#ff7f0e', 'dfw-paper': '#1f77b4', 'dfw-implicit': '#2ca02c' }
const panels: Panel[] = CONFIG.pMax.flatMap((pMax) => {
  const series = (pick: (r: EpochRow) => number) => POLICIES.map((p) => ({
    label: p.name,
    color: COLORS[p.name],
    points: rows.filter((r) => r.pMax === pMax && r.policy === p.name).map((r) => [r.epoch, pick(r)] as const)
  }))
  return [
    { title: `test MSE, p_max = ${pMax}`, xLabel: 'epoch', yLabel: 'MSE (log)', logY: true, series: series((r) => r.testMse) },
    { title: `violation rate, p_max = ${pMax}`, xLabel: 'epoch', yLabel: 'share of test actions', logY: false, series: series((r) => r.violationRate) }
  ]
})
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, lineCharts(`Behaviour cloning under Σ|sᵢaᵢ| ≤ p_max (violation: excess > ${VIOLATION_TOL}·p_max)`, panels, 2))

// -------------------------------------------------------------------------------------
// the report
// -------------------------------------------------------------------------------------

const finals = CONFIG.pMax.flatMap((pMax) => POLICIES.map((p) => {
  const rs = rows.filter((r) => r.pMax === pMax && r.policy === p.name)
  const last = rs[rs.length - 1]!
  const seconds = rs.reduce((s, r) => s + r.trainSeconds, 0)
  const cpuSeconds = rs.reduce((s, r) => s + r.trainCpuSeconds, 0)
  const layer = rs.reduce((s, r) => s + r.layerForwardSeconds + r.layerBackwardSeconds, 0)
  return {
    pMax,
    policy: p.name,
    testMse: last.testMse,
    violationRate: last.violationRate,
    maxExcess: last.maxExcess,
    seconds,
    cpuSeconds,
    secondsPerEpoch: seconds / rs.length,
    layerShare: seconds > 0 ? layer / seconds : 0
  }
}))

if (json) {
  process.stdout.write(JSON.stringify({ svg: out, violationTolerance: VIOLATION_TOL, config: CONFIG, results: finals, epochs: rows }) + '\n')
} else {
  const e = (v: number): string => (v === 0 ? '0' : Math.abs(v) >= 1e-2 && Math.abs(v) < 1e3 ? v.toFixed(4) : v.toExponential(2))
  const table = (head: string[], body: string[][], left: number): void => {
    const widths = head.map((hd, i) => Math.max(hd.length, ...body.map((b) => b[i]!.length)))
    const line = (cells: string[]): string => cells.map((c, i) => (i < left ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
    console.log(line(head))
    console.log(widths.map((w) => '-'.repeat(w)).join('  '))
    for (const b of body) console.log(line(b))
  }
  table(
    ['p_max', 'policy', 'epoch', 'train loss', 'test MSE', 'viol rate', 'max excess', 'train s', 'train cpu s', 'layer fwd s', 'layer bwd s', 'layer share', 'eval s'],
    rows.map((r) => [String(r.pMax), r.policy, String(r.epoch), e(r.trainLoss), e(r.testMse), (100 * r.violationRate).toFixed(1) + ' %',
      e(r.maxExcess), r.trainSeconds.toFixed(2), r.trainCpuSeconds.toFixed(2), r.layerForwardSeconds.toFixed(2), r.layerBackwardSeconds.toFixed(2),
      (100 * r.layerShare).toFixed(0) + ' %', r.evalSeconds.toFixed(2)]),
    2
  )
  console.log('')
  table(
    ['p_max', 'policy', 'final test MSE', 'viol rate', 'max excess', 'train s', 'train cpu s', 's / epoch', 'layer share'],
    finals.map((r) => [String(r.pMax), r.policy, e(r.testMse), (100 * r.violationRate).toFixed(1) + ' %', e(r.maxExcess),
      r.seconds.toFixed(1), r.cpuSeconds.toFixed(1), r.secondsPerEpoch.toFixed(2), (100 * r.layerShare).toFixed(0) + ' %']),
    2
  )
  console.log(`\nviolation: Σ|sᵢaᵢ| − p_max > ${VIOLATION_TOL}·p_max on the ${CONFIG.nTest} test states; SVG: ${out}`)
}
