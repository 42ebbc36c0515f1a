/**
 * `dfw demo` (and `npm run demo`): the paper's experiment and the binding-constraint suite,
 * with the paper's recipe and this project's defaults side by side, measured against the
 * exact reference solver (`src/fw/exact`) and its KKT derivative. It lives in the library
 * so that the installed package ships it (compiled to `dist/cli/demo.js`);
 * `examples/paper-experiment.ts` is a thin wrapper over {@link demo}.
 *
 * Arguments: `--json` (rows as JSON instead of the table), `--sizes N,N,…` (or
 * `--sizes=N,N,…`; default 10,100,300), `--help`. A size is an integer written in decimal
 * digits, 1 ≤ n ≤ {@link DEMO_MAX_SIZE}, and at most {@link DEMO_MAX_SIZES} sizes may be
 * given: the exact reference solver is cubic in n and P is a dense n×n matrix, so n = 1000
 * already takes about two minutes (15 cases of about 8 s each on the 2-core machine).
 * Anything else is the CLI's one-line JSON error with exit 2, never a stack trace.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { withDim, type Dim } from '../shapes/Dim.js'
import type { Vec } from '../shapes/Vec.js'
import { normL1, mul } from '../core/Vector.js'
import { rng } from '../core/Random.js'
import { paperProblem } from '../fw/Generators.js'
import { dfwLayer, type LayerOptions } from '../fw/Layer.js'
import { violation } from '../fw/Oracle.js'
import { identifyFace } from '../fw/Face.js'
import { solveExact, kktDerivative } from '../fw/exact/index.js'
import { errorLine, messageOf } from './solve.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The largest problem size `--sizes` accepts.
 *
 * @example
 * parseDemoArgs(['--sizes', String(DEMO_MAX_SIZE + 1)]) // left({ path: '--sizes[0]', … })
 */
export const DEMO_MAX_SIZE = 1000

/**
 * The most sizes one `--sizes` list may hold.
 *
 * @example
 * parseDemoArgs(['--sizes', '1,2,3,4,5,6,7,8,9']) // left({ path: '--sizes', … })
 */
export const DEMO_MAX_SIZES = 8

/**
 * The sizes the demo runs when `--sizes` is not given.
 *
 * @example
 * DEMO_DEFAULT_SIZES // [10, 100, 300]
 */
export const DEMO_DEFAULT_SIZES: readonly number[] = [10, 100, 300]

/**
 * What `dfw demo --help` prints.
 *
 * @example
 * demo(['--help']).stdout === DEMO_USAGE // true
 */
export const DEMO_USAGE = `dfw demo: the paper's experiment and the binding-constraint suite (5 seeds x 3 suites
per size), the paper's recipe and this project's defaults against the exact solver

Usage:
  dfw demo [--json] [--sizes N,N,...]
  --json           print the rows as one JSON array instead of the table
  --sizes N,N,...  the problem sizes (default ${DEMO_DEFAULT_SIZES.join(',')}); each an integer
                   1 <= N <= ${DEMO_MAX_SIZE}, at most ${DEMO_MAX_SIZES} of them (n = 1000 takes about two minutes)
  --help           this text

Progress goes to standard error. Bad arguments exit 2 with one line
{"error":{"message","path"}} on standard error.
`

/**
 * The demo's parsed arguments.
 *
 * @example
 * const a: DemoArgs = { json: false, sizes: [10, 100, 300], help: false }
 */
export interface DemoArgs {
  readonly json: boolean
  readonly sizes: readonly number[]
  readonly help: boolean
}

/**
 * A bad argument: the message, and the argument it concerns (`--sizes`, `--sizes[k]` for
 * the k-th entry of the list, `""` for an unknown argument).
 *
 * @example
 * const e: DemoArgError = { message: '--sizes[0]: "ten" is not …', path: '--sizes[0]' }
 */
export interface DemoArgError {
  readonly message: string
  readonly path: string
}

/**
 * One measured case of the demo: a problem (suite, size, seed) solved in one mode.
 *
 * @example
 * runDemo([10])[0] // { suite: 'paper', n: 10, seed: 0, mode: 'paper/unrolled', … }
 */
export interface DemoRow {
  readonly suite: string
  readonly n: number
  readonly seed: number
  readonly mode: string
  readonly iterations: number
  readonly status: string
  readonly forwardMs: number
  readonly backwardMs: number
  /** Cosine of the VJP in q (cotangent all ones) against the exact one. */
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

/**
 * What a demo run writes and its exit code (the shape of the CLI's command outcomes).
 *
 * @example
 * demo(['--sizes', 'ten']) // { code: 2, stdout: '', stderr: '{"error":{…,"path":"--sizes[0]"}}\n' }
 */
export interface DemoOutcome {
  readonly code: 0 | 2
  readonly stdout: string
  readonly stderr: string
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

// -------------------------------------------------------------------------------------
// arguments
// -------------------------------------------------------------------------------------

const bad = (message: string, path = ''): E.Either<DemoArgError, never> => E.left({ message, path })

const SIZE_RULE = `an integer written in decimal digits, 1 <= n <= ${DEMO_MAX_SIZE}`

const parseSizes = (text: string): E.Either<DemoArgError, readonly number[]> => {
  if (text === '') return bad(`--sizes takes a comma-separated list of sizes (${SIZE_RULE}), got nothing`, '--sizes')
  const parts = text.split(',')
  if (parts.length > DEMO_MAX_SIZES) return bad(`--sizes takes at most ${DEMO_MAX_SIZES} sizes, got ${parts.length}`, '--sizes')
  const sizes: number[] = []
  for (let k = 0; k < parts.length; k++) {
    const s = parts[k]!
    const path = `--sizes[${k}]`
    if (!/^[0-9]+$/.test(s)) return bad(`${path}: ${JSON.stringify(s.length > 40 ? `${s.slice(0, 39)}…` : s)} is not a size (${SIZE_RULE})`, path)
    const n = Number(s)
    if (n < 1 || n > DEMO_MAX_SIZE) return bad(`${path}: ${s.length > 40 ? `a ${s.length}-digit number` : s} is out of range (${SIZE_RULE}; the exact reference solver is cubic in n)`, path)
    sizes.push(n)
  }
  return E.right(sizes)
}

/**
 * Parses the demo's arguments (without `node`, the script and `demo`).
 *
 * @example
 * parseDemoArgs(['--json', '--sizes', '10,20']) // right({ json: true, sizes: [10, 20], help: false })
 * parseDemoArgs(['--sizes', '1e9'])             // left({ message: '--sizes[0]: "1e9" is not a size …', path: '--sizes[0]' })
 * parseDemoArgs(['--fast'])                     // left({ message: 'unknown argument "--fast" …', path: '' })
 */
export const parseDemoArgs = (argv: readonly string[]): E.Either<DemoArgError, DemoArgs> => {
  let json = false, help = false
  let sizes: readonly number[] | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--json') {
      if (json) return bad('--json is given twice', '--json')
      json = true
    } else if (a === '--help' || a === '-h') {
      help = true
    } else if (a === '--sizes' || a.startsWith('--sizes=')) {
      if (sizes !== undefined) return bad('--sizes is given twice', '--sizes')
      let text: string
      if (a === '--sizes') {
        const next = argv[i + 1]
        if (next === undefined) return bad(`--sizes needs a value: a comma-separated list of sizes (${SIZE_RULE})`, '--sizes')
        text = next
        i++
      } else text = a.slice('--sizes='.length)
      const parsed = parseSizes(text)
      if (E.isLeft(parsed)) return parsed
      sizes = parsed.right
    } else {
      const shown = JSON.stringify(a.length > 40 ? `${a.slice(0, 39)}…` : a)
      return bad(`unknown argument ${shown} to dfw demo; it takes --json and --sizes N,N,... (see dfw demo --help)`)
    }
  }
  return E.right({ json, sizes: sizes ?? DEMO_DEFAULT_SIZES, help })
}

// -------------------------------------------------------------------------------------
// the experiment
// -------------------------------------------------------------------------------------

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

/**
 * Runs the experiment on the given sizes: per size, 5 seeds × 3 suites (the paper's
 * problems, and t set to 0.2 and 0.05 of the unconstrained solution's weighted l1 norm)
 * × 3 modes. `progress` gets the progress text (with carriage returns, for a terminal).
 * Sizes are not checked here: {@link parseDemoArgs} bounds them.
 *
 * @example
 * const rows = runDemo([10]) // 45 rows
 * rows.filter((r) => r.mode === 'default/implicit').every((r) => r.cosine > 0.9999) // true
 */
export const runDemo = (sizes: readonly number[], progress: (text: string) => void = () => undefined): DemoRow[] => {
  const rows: DemoRow[] = []
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
          progress(`\rdemo: ${done}/${total} cases (n=${n0}, seed ${seed}, ${suite.name})      `)
        }
      }
    })
  }
  progress(`\rdemo: ${total} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s                \n`)
  return rows
}

// -------------------------------------------------------------------------------------
// the report
// -------------------------------------------------------------------------------------

const fmt = (v: number, d = 2): string => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(d) : v.toExponential(1))
const e = (v: number): string => (v === 0 ? '0' : v.toExponential(1))
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN }

/**
 * The demo's report: the table, one summary line per mode and the face counts per suite,
 * or with `json` the rows as one JSON array. Ends with a newline.
 *
 * @example
 * formatDemo(runDemo([10]), false) // 'suite     n   seed  bind  mode …\n…'
 * formatDemo(rows, true)           // '[{"suite":"paper","n":10,…}]\n'
 */
export const formatDemo = (rows: readonly DemoRow[], json: boolean): string => {
  if (json) return JSON.stringify(rows) + '\n'
  const out: string[] = []
  const head = ['suite', 'n', 'seed', 'bind', 'mode', 'iters', 'fwd ms', 'bwd ms', 'cos ∇q', 'cos JVP', 'face', '‖x−x*‖', 'violation', 'rel obj gap']
  const body = rows.map((r) => [r.suite, String(r.n), String(r.seed), r.binding ? 'yes' : 'no', r.mode, String(r.iterations),
    fmt(r.forwardMs, 1), fmt(r.backwardMs, 1), r.cosine.toFixed(6), r.jvpCosine.toFixed(6), r.face ? 'yes' : 'no', e(r.distance), e(r.violation), e(r.relObjGap)])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const line = (cells: string[]): string => cells.map((c, i) => (i <= 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  out.push(line(head))
  out.push(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const b of body) out.push(line(b))
  out.push('')
  for (const m of MODES) {
    const rs = rows.filter((r) => r.mode === m.name)
    const bind = rs.filter((r) => r.binding)
    out.push(
      `${m.name.padEnd(17)} cos ∇q: median ${median(rs.map((r) => r.cosine)).toFixed(6)}, min ${Math.min(...rs.map((r) => r.cosine)).toFixed(6)}` +
      ` (binding rows: min ${bind.length > 0 ? Math.min(...bind.map((r) => r.cosine)).toFixed(6) : '-'})` +
      ` | cos JVP: min ${Math.min(...rs.map((r) => r.jvpCosine)).toFixed(6)}` +
      ` | rel obj gap: max ${e(Math.max(...rs.map((r) => r.relObjGap)))} | violation: max ${e(Math.max(...rs.map((r) => r.violation)))}` +
      ` | ms: fwd ${fmt(rs.reduce((s, r) => s + r.forwardMs, 0), 0)}, bwd ${fmt(rs.reduce((s, r) => s + r.backwardMs, 0), 0)}` +
      ` | iters median ${median(rs.map((r) => r.iterations))}`
    )
  }
  out.push('')
  out.push('face identified (support, signs and binding equal to the exact solution\'s), per suite:')
  for (const m of MODES) {
    const cells = SUITES.map((su) => {
      const rs = rows.filter((r) => r.mode === m.name && r.suite === su.name)
      return `${su.name} ${rs.filter((r) => r.face).length}/${rs.length}`
    })
    out.push(`  ${m.name.padEnd(17)} ${cells.join('   ')}`)
  }
  return out.join('\n') + '\n'
}

// -------------------------------------------------------------------------------------
// the command
// -------------------------------------------------------------------------------------

/**
 * The whole command: parses the arguments, runs the experiment (progress to `progress`)
 * and returns what to write. Never throws: a bad argument, or anything the run throws,
 * becomes one JSON error line and exit 2.
 *
 * @example
 * const out = demo(process.argv.slice(2), (s) => process.stderr.write(s))
 * process.stdout.write(out.stdout); process.stderr.write(out.stderr); process.exitCode = out.code
 */
export const demo = (argv: readonly string[], progress: (text: string) => void = () => undefined): DemoOutcome => {
  const fail = (err: DemoArgError): DemoOutcome => ({ code: 2, stdout: '', stderr: `${errorLine(err)}\n` })
  try {
    const args = parseDemoArgs(argv)
    if (E.isLeft(args)) return fail(args.left)
    if (args.right.help) return { code: 0, stdout: DEMO_USAGE, stderr: '' }
    return { code: 0, stdout: formatDemo(runDemo(args.right.sizes, progress), args.right.json), stderr: '' }
  } catch (err) {
    return fail({ message: `unexpected failure in the demo: ${messageOf(err)}`, path: '' })
  }
}
