// A differentiable shortest-path layer, trained end to end: predict the edge costs of a
// grid DAG from an instance's features, and learn the predictor through the layer
//
//   x̂(ĉ) = argmin { ½ ε‖x‖² + ⟨ĉ, x⟩ : x ∈ conv(paths) }   (P = εI, q = ĉ)
//
// whose polytope, the convex hull of the source-to-sink paths, the layer knows only by its
// oracle (`polytope({ lmo })`: the cheapest path by dynamic programming, grid.ts). The
// loss is ½‖x̂ − x*‖² against the true shortest path x*, and its gradient in ĉ is the
// layer's vjp. Three predictors, all linear (ĉ = W z + b) and trained with Adam:
// - "two-stage": fit the costs (MSE to the true costs), then take the cheapest path;
// - "layer-implicit": the loss through the layer with the implicit derivative (default);
// - "layer-unrolled": the same loss with the unrolled derivative of the steps that ran.
// They are compared by the test regret of the hard decision, the cheapest path under ĉ:
// (c·path(ĉ) − c·path(c)) / c·path(c), averaged over the test instances.
//
//   npm run example:paths                      # full run: per-epoch table, summary, SVG
//   npm run example:paths -- --quick           # a smoke run (a 4 × 4 grid, 2 epochs)
//   npm run -s example:paths -- --json         # the summary as JSON on stdout
//   npm run example:paths -- --out plot.svg    # where the SVG goes (default out/paths.svg)
//   npm run example:paths -- --epochs 10       # another epoch count
import { mkdirSync, writeFileSync } from 'node:fs'
import { exampleArgs } from '../args.js'
import { dirname } from 'node:path'
import { withDim, type Dim } from '../../src/shapes/Dim.js'
import type { Vec } from '../../src/shapes/Vec.js'
import { dense } from '../../src/core/LinearOperator.js'
import { rng } from '../../src/core/Random.js'
import { dfwLayer, type BackwardMode } from '../../src/fw/Layer.js'
import { polytope } from '../../src/fw/Problem.js'
import { grid, pathOracle, shortestPath } from './grid.js'
import { type Instance, makeData } from './data.js'
import { lineCharts, type Panel } from '../imitation/svg.js'

// -------------------------------------------------------------------------------------
// arguments
// -------------------------------------------------------------------------------------

const { quick, json, out, epochs } = exampleArgs('paths', { out: 'out/paths.svg', epochs: [2, 12] })

const CONFIG = {
  seed: 0,
  k: quick ? 4 : 5,
  features: 5,
  deg: 6,
  noise: 0,
  nTrain: quick ? 48 : 400,
  nTest: quick ? 48 : 200,
  epsilon: 1,
  batch: 16,
  lr: 0.05,
  epochs
} as const

// -------------------------------------------------------------------------------------
// the model and its training
// -------------------------------------------------------------------------------------

type Method = 'two-stage' | 'layer-implicit' | 'layer-unrolled'
const METHODS: readonly Method[] = ['two-stage', 'layer-implicit', 'layer-unrolled']

interface EpochRow {
  readonly method: Method
  readonly epoch: number
  readonly trainLoss: number
  readonly testRegret: number
  readonly testMatch: number
  readonly seconds: number
  /** Layer methods: the mean steps and oracle calls per solve, and the share of faces reported exact. */
  readonly stepsPerSolve: number
  readonly callsPerSolve: number
  readonly exactShare: number
}

const G = grid(CONFIG.k)
const nEdges = G.edges.length
const data = makeData(G, CONFIG.nTrain, CONFIG.nTest, { seed: CONFIG.seed, features: CONFIG.features, deg: CONFIG.deg, noise: CONFIG.noise })

/** A linear cost model ĉ = W z + b, its parameters flat (W row-major, then b). */
const predict = (theta: Float64Array, z: Float64Array): Float64Array => {
  const p = z.length, c = new Float64Array(nEdges)
  for (let e = 0; e < nEdges; e++) {
    let s = theta[nEdges * p + e]!
    for (let j = 0; j < p; j++) s += theta[e * p + j]! * z[j]!
    c[e] = s
  }
  return c
}

/** The test regret and the share of test instances whose decision is the true shortest path. */
const evaluate = (theta: Float64Array, set: readonly Instance[]): { regret: number; match: number } => {
  let regret = 0, match = 0
  for (const ins of set) {
    const path = shortestPath(G, predict(theta, ins.z))
    let got = 0, best = 0, same = true
    for (let e = 0; e < nEdges; e++) { got += ins.cost[e]! * path[e]!; best += ins.cost[e]! * ins.path[e]!; if (path[e] !== ins.path[e]) same = false }
    regret += (got - best) / best
    if (same) match++
  }
  return { regret: regret / set.length, match: match / set.length }
}

const train = <N>(dim: Dim<N>, method: Method): EpochRow[] => {
  const p = CONFIG.features, size = nEdges * (p + 1)
  const r = rng(CONFIG.seed + 1)
  const theta = new Float64Array(size)
  for (let i = 0; i < nEdges * p; i++) theta[i] = 0.1 * r.normal()
  for (let e = 0; e < nEdges; e++) theta[nEdges * p + e] = 1
  const m = new Float64Array(size), v = new Float64Array(size)
  let step = 0
  const P = dense<N>({ rows: dim, cols: dim, data: Float64Array.from({ length: nEdges * nEdges }, (_, i) => (i % (nEdges + 1) === 0 ? CONFIG.epsilon : 0)) })
  const backward: BackwardMode = method === 'layer-unrolled' ? 'unrolled' : 'implicit'
  const layer = dfwLayer({ backward })
  const oracle = pathOracle(G, dim)
  const rows: EpochRow[] = []
  const order = Array.from({ length: data.train.length }, (_, i) => i)
  for (let epoch = 1; epoch <= CONFIG.epochs; epoch++) {
    const t0 = performance.now()
    for (let i = order.length - 1; i > 0; i--) { const j = Math.floor(r.uniform() * (i + 1)); [order[i], order[j]] = [order[j]!, order[i]!] }
    let loss = 0, steps = 0, calls0 = oracle.calls(), solves = 0, exact = 0
    for (let b0 = 0; b0 < order.length; b0 += CONFIG.batch) {
      const batch = order.slice(b0, b0 + CONFIG.batch)
      const grad = new Float64Array(size)
      for (const idx of batch) {
        const ins = data.train[idx]!
        const c = predict(theta, ins.z)
        let dc: Float64Array
        if (method === 'two-stage') {
          dc = Float64Array.from(c, (ci, e) => ci - ins.cost[e]!)
          loss += 0.5 * dc.reduce((s, d) => s + d * d, 0)
        } else {
          const res = layer({ P, q: { dim, data: c } as Vec<N>, set: polytope<N>({ lmo: oracle.lmo }) })
          const resid = Float64Array.from(res.x.data, (x, e) => x - ins.path[e]!)
          loss += 0.5 * resid.reduce((s, d) => s + d * d, 0)
          dc = res.vjp({ dim, data: resid } as Vec<N>).q.data
          steps += res.iterations; solves++
          if (res.face?.derivative === 'exact') exact++
        }
        for (let e = 0; e < nEdges; e++) {
          const d = dc[e]! / batch.length
          if (d === 0) continue
          for (let j = 0; j < p; j++) grad[e * p + j] = grad[e * p + j]! + d * ins.z[j]!
          grad[nEdges * p + e] = grad[nEdges * p + e]! + d
        }
      }
      // Adam
      step++
      const b1 = 0.9, b2 = 0.999
      for (let i = 0; i < size; i++) {
        m[i] = b1 * m[i]! + (1 - b1) * grad[i]!
        v[i] = b2 * v[i]! + (1 - b2) * grad[i]! ** 2
        theta[i] = theta[i]! - CONFIG.lr * (m[i]! / (1 - b1 ** step)) / (Math.sqrt(v[i]! / (1 - b2 ** step)) + 1e-8)
      }
    }
    const seconds = (performance.now() - t0) / 1000
    const ev = evaluate(theta, data.test)
    rows.push({
      method, epoch, trainLoss: loss / data.train.length, testRegret: ev.regret, testMatch: ev.match, seconds,
      stepsPerSolve: solves > 0 ? steps / solves : 0,
      callsPerSolve: solves > 0 ? (oracle.calls() - calls0) / solves : 0,
      exactShare: solves > 0 ? exact / solves : 0
    })
    if (!json) process.stderr.write(`\rpaths: ${method} epoch ${epoch}/${CONFIG.epochs}${' '.repeat(20)}`)
  }
  return rows
}

// -------------------------------------------------------------------------------------
// the run
// -------------------------------------------------------------------------------------

const initial = evaluate((() => {
  // the untrained model, as every method starts (the same seed)
  const p = CONFIG.features, r = rng(CONFIG.seed + 1), theta = new Float64Array(nEdges * (p + 1))
  for (let i = 0; i < nEdges * p; i++) theta[i] = 0.1 * r.normal()
  for (let e = 0; e < nEdges; e++) theta[nEdges * p + e] = 1
  return theta
})(), data.test)
const rows = withDim(nEdges, <N>(dim: Dim<N>) => METHODS.flatMap((method) => train(dim, method)))
if (!json) process.stderr.write('\n')

// -------------------------------------------------------------------------------------
// the plot
// -------------------------------------------------------------------------------------

const COLORS: { readonly [K in Method]: string } = { 'two-stage': '#d62728', 'layer-implicit': '#2ca02c', 'layer-unrolled': '#1f77b4' }
const series = (pick: (r: EpochRow) => number, from: (m: Method) => boolean = () => true) => METHODS.filter(from).map((method) => ({
  label: method,
  color: COLORS[method],
  points: rows.filter((r) => r.method === method).map((r) => [r.epoch, pick(r)] as const)
}))
const panels: Panel[] = [
  { title: `test regret of the path under ĉ (untrained ${(100 * initial.regret).toFixed(1)} %)`, xLabel: 'epoch', yLabel: 'regret (%)', logY: false, series: series((r) => 100 * r.testRegret) },
  { title: 'test paths matched exactly', xLabel: 'epoch', yLabel: 'share (%)', logY: false, series: series((r) => 100 * r.testMatch) },
  { title: 'training loss ½‖x̂ − x*‖²', xLabel: 'epoch', yLabel: 'loss (log)', logY: true, series: series((r) => r.trainLoss, (m) => m !== 'two-stage') }
]
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, lineCharts(`Shortest paths on a ${CONFIG.k}×${CONFIG.k} grid DAG through polytope({ lmo }) (oracle: dynamic programming), ε = ${CONFIG.epsilon}`, panels, 3))

// -------------------------------------------------------------------------------------
// the report
// -------------------------------------------------------------------------------------

const finals = METHODS.map((method) => {
  const rs = rows.filter((r) => r.method === method)
  const last = rs[rs.length - 1]!
  return {
    method, testRegret: last.testRegret, testMatch: last.testMatch, trainLoss: last.trainLoss,
    seconds: rs.reduce((s, r) => s + r.seconds, 0),
    stepsPerSolve: rs.reduce((s, r) => s + r.stepsPerSolve, 0) / rs.length,
    callsPerSolve: rs.reduce((s, r) => s + r.callsPerSolve, 0) / rs.length,
    exactShare: rs.reduce((s, r) => s + r.exactShare, 0) / rs.length
  }
})

if (json) {
  process.stdout.write(JSON.stringify({ svg: out, config: { ...CONFIG, edges: nEdges }, initialRegret: initial.regret, results: finals, epochs: rows }) + '\n')
} else {
  const table = (head: string[], body: string[][], left: number): void => {
    const widths = head.map((hd, i) => Math.max(hd.length, ...body.map((b) => b[i]!.length)))
    const line = (cells: string[]): string => cells.map((c, i) => (i < left ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
    console.log(line(head))
    console.log(widths.map((w) => '-'.repeat(w)).join('  '))
    for (const b of body) console.log(line(b))
  }
  const pct = (v: number): string => `${(100 * v).toFixed(2)} %`
  table(
    ['method', 'epoch', 'train loss', 'test regret', 'paths matched', 'steps/solve', 'oracle calls/solve', 'faces exact', 'train s'],
    rows.map((r) => [r.method, String(r.epoch), r.trainLoss.toFixed(4), pct(r.testRegret), pct(r.testMatch),
      r.stepsPerSolve.toFixed(1), r.callsPerSolve.toFixed(1), pct(r.exactShare), r.seconds.toFixed(2)]),
    1
  )
  console.log('')
  table(['method', 'final test regret', 'paths matched', 'train s'], finals.map((f) => [f.method, pct(f.testRegret), pct(f.testMatch), f.seconds.toFixed(1)]), 1)
  console.log(`\n${CONFIG.k}×${CONFIG.k} grid (${nEdges} edges), ${CONFIG.nTrain} training and ${CONFIG.nTest} test instances; untrained regret ${pct(initial.regret)}; SVG: ${out}`)
}
