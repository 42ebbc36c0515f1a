// The main job (`npm run demo`): PAPER.md's experiment and the binding-constraint suite,
// with the paper's recipe and this project's defaults side by side, measured against the
// exact reference solver (src/fw/exact) and its KKT derivative.
//
//   npm run demo                     # table + one summary line per mode
//   npm run demo -- --json           # rows as JSON
//   npm run demo -- --sizes 10,100   # other sizes
import { withDim, type Dim } from '../src/shapes/Dim.js'
import type { Vec } from '../src/shapes/Vec.js'
import { normL1, mul } from '../src/core/Vector.js'
import { paperProblem } from '../src/fw/Generators.js'
import { dfwLayer, type LayerOptions } from '../src/fw/Layer.js'
import { violation } from '../src/fw/Oracle.js'
import { identifyFace } from '../src/fw/Face.js'
import { rng } from '../src/core/Random.js'
import { solveExact, kktDerivative } from '../src/fw/exact/index.js'

interface Row {
  readonly suite: string
  readonly n: number
  readonly seed: number
  readonly mode: string
  readonly iterations: number
  readonly status: string
  readonly forwardMs: number
  readonly backwardMs: number
  readonly cosine: number
  /** Cosine of the JVP along a random direction of q against the exact one. */
  readonly jvpCosine: number
  /** Whether the face read off x (support, signs, binding) is the exact solution's. */
  readonly face: boolean
  readonly distance: number
  readonly violation: number
  readonly relObjGap: number
  readonly binding: boolean
}

const args = process.argv.slice(2)
const json = args.includes('--json')
const sizesArg = args.indexOf('--sizes')
const sizes = sizesArg >= 0 ? (args[sizesArg + 1] ?? '').split(',').map(Number) : [10, 100, 300]
if (sizes.some((n) => !Number.isSafeInteger(n) || n < 1)) {
  process.stderr.write(`demo: --sizes takes positive integers separated by commas, got ${JSON.stringify(args[sizesArg + 1] ?? '')}\n`)
  process.exit(2)
}
const SEEDS = [0, 1, 2, 3, 4]
const SUITES: readonly { readonly name: string; readonly frac: number | undefined }[] = [
  { name: 'paper', frac: undefined },
  { name: 'bind0.2', frac: 0.2 },
  { name: 'bind0.05', frac: 0.05 }
]
const MODES: readonly { readonly name: string; readonly options: LayerOptions }[] = [
  { name: 'paper/unrolled', options: { schedule: 'paper', backward: 'unrolled' } },
  { name: 'default/unrolled', options: { schedule: 'default', backward: 'unrolled' } },
  { name: 'default/implicit', options: { schedule: 'default', backward: 'implicit' } }
]

// The cosine of a gradient with the exact one. Where the exact gradient is 0 (a vertex
// solution, locally constant in q) the cosine is undefined: the row counts as 1 when
// ‖∇‖ ≤ 1e-9 and as 0 otherwise. The exact solver's 0 can come out as rounding noise
// (2.4e-34 on one n = 10 row), so "0" means a norm ≤ 1e-12; the gradients here are O(1).
const cosine = (a: Float64Array, b: Float64Array): number => {
  let s = 0, na = 0, nb = 0
  for (let i = 0; i < a.length; i++) { s += a[i]! * b[i]!; na += a[i]! ** 2; nb += b[i]! ** 2 }
  if (Math.sqrt(nb) <= 1e-12) return Math.sqrt(na) <= 1e-9 ? 1 : 0
  return na === 0 ? 0 : s / Math.sqrt(na * nb)
}
const dist = (a: Float64Array, b: Float64Array): number => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0))

const rows: Row[] = []
const total = sizes.length * SEEDS.length * SUITES.length
let done = 0
const t0 = performance.now()
for (const n0 of sizes) {
  withDim(n0, <N>(n: Dim<N>) => {
    for (const seed of SEEDS) {
      for (const suite of SUITES) {
        const p = paperProblem(n, seed)
        let t = p.t
        if (suite.frac !== undefined) {
          const unc = solveExact('l2', { ...p, t: 1e12 })
          t = suite.frac * normL1(mul(p.w, unc.x))
        }
        const theta = { P: p.P, q: p.q, w: p.w, t }
        const exact = solveExact('l1', theta)
        const ones: Vec<N> = { dim: n, data: new Float64Array(n).fill(1) }
        const kkt = kktDerivative('l1', theta, exact)
        const gExact = kkt.vjp(ones).q.data
        const r0 = rng(1000 * n0 + seed)
        const dq: Vec<N> = { dim: n, data: Float64Array.from({ length: n0 }, () => r0.normal()) }
        const jExact = kkt.jvp({ q: dq }).data
        const ef = exact.face
        for (const mode of MODES) {
          const a = performance.now()
          const r = dfwLayer(mode.options)(theta)
          const b = performance.now()
          const gq = r.vjp(ones).q.data
          const c = performance.now()
          const jq = r.jvp({ q: dq }).data
          const lf = identifyFace('l1', theta, r.x)
          const sameFace = ef.set === 'l1' && lf.binding === ef.binding &&
            lf.support.length === ef.support.length && lf.support.every((i, k) => i === ef.support[k] && Math.sign(r.x.data[i]!) === ef.signs[k])
          rows.push({
            suite: suite.name, n: n0, seed, mode: mode.name,
            iterations: r.iterations, status: r.status,
            forwardMs: b - a, backwardMs: c - b,
            cosine: cosine(gq, gExact),
            jvpCosine: cosine(jq, jExact),
            face: sameFace,
            distance: dist(r.x.data, exact.x.data),
            violation: violation('l1', r.x, p.w, t),
            relObjGap: (r.objective - exact.objective) / Math.abs(exact.objective),
            binding: exact.face.set === 'l1' ? exact.face.binding : true
          })
        }
        done++
        process.stderr.write(`\rdemo: ${done}/${total} cases (n=${n0}, seed ${seed}, ${suite.name})      `)
      }
    }
  })
}
process.stderr.write(`\rdemo: ${total} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s                \n`)

const fmt = (v: number, d = 2): string => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(d) : v.toExponential(1))
const e = (v: number): string => (v === 0 ? '0' : v.toExponential(1))
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN }

if (json) {
  process.stdout.write(JSON.stringify(rows) + '\n')
} else {
  const head = ['suite', 'n', 'seed', 'bind', 'mode', 'iters', 'fwd ms', 'bwd ms', 'cos ∇q', 'cos JVP', 'face', '‖x−x*‖', 'violation', 'rel obj gap']
  const body = rows.map((r) => [r.suite, String(r.n), String(r.seed), r.binding ? 'yes' : 'no', r.mode, String(r.iterations),
    fmt(r.forwardMs, 1), fmt(r.backwardMs, 1), r.cosine.toFixed(6), r.jvpCosine.toFixed(6), r.face ? 'yes' : 'no', e(r.distance), e(r.violation), e(r.relObjGap)])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const line = (cells: string[]): string => cells.map((c, i) => (i <= 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  console.log(line(head))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const b of body) console.log(line(b))
  console.log('')
  for (const m of MODES) {
    const rs = rows.filter((r) => r.mode === m.name)
    const bind = rs.filter((r) => r.binding)
    console.log(
      `${m.name.padEnd(17)} cos ∇q: median ${median(rs.map((r) => r.cosine)).toFixed(6)}, min ${Math.min(...rs.map((r) => r.cosine)).toFixed(6)}` +
      ` (binding rows: min ${bind.length > 0 ? Math.min(...bind.map((r) => r.cosine)).toFixed(6) : '-'})` +
      ` | cos JVP: min ${Math.min(...rs.map((r) => r.jvpCosine)).toFixed(6)}` +
      ` | rel obj gap: max ${e(Math.max(...rs.map((r) => r.relObjGap)))} | violation: max ${e(Math.max(...rs.map((r) => r.violation)))}` +
      ` | ms: fwd ${fmt(rs.reduce((s, r) => s + r.forwardMs, 0), 0)}, bwd ${fmt(rs.reduce((s, r) => s + r.backwardMs, 0), 0)}` +
      ` | iters median ${median(rs.map((r) => r.iterations))}`
    )
  }
  console.log('')
  console.log('face identified (support, signs and binding equal to the exact solution\'s), per suite:')
  for (const m of MODES) {
    const cells = SUITES.map((su) => {
      const rs = rows.filter((r) => r.mode === m.name && r.suite === su.name)
      return `${su.name} ${rs.filter((r) => r.face).length}/${rs.length}`
    })
    console.log(`  ${m.name.padEnd(17)} ${cells.join('   ')}`)
  }
}
