/**
 * The conditioning sweep (issue 15): the implicit layer (the default) on P of condition
 * number 1, 1e2, 1e4, 1e6 and 1e8, dense and structured, n = 100 and 1000, on each set,
 * with random q and t = 0.3 of the unconstrained minimizer's size in the set's norm (so
 * the constraint binds with a solution of many nonzeros):
 *
 * - dense: Q diag(λ) Qᵀ, λ log-spaced from 1 to 1/cond, Q a random orthogonal matrix (one
 *   Q per n, shared by the condition numbers);
 * - diag + low rank: d log-spaced over [1/cond, 1] in random order plus U Uᵀ, U n × 5
 *   normal/√n (cond ≈ 2·cond);
 * - CSR: banded (half-bandwidth 3) plus n random symmetric entries, diagonally dominant by
 *   a margin log-spaced over [1/cond, 1] (cond at most about 10·cond).
 *
 * Each row: the steps, the status and face report, the forward and one VJP's wall time,
 * the x error against the double-double reference of test/helpers/ddReference.ts (its
 * verified minimizer; at n = 1000 by double LU with double-double refinement), the VJP's
 * error against the reference VJP, and the transpose-law residual of one JVP against the
 * VJP. The layer's result does not expose the polish's face solves or rounds, so there is
 * no column for them.
 *
 * n = 1000 dense runs only cond 1 and 1e8 (a forward there takes about a minute on a
 * shared two-core machine); `--quick` runs n = 100 only, at cond 1, 1e4 and 1e8.
 *
 *   npm run bench -- --only conditioning [--quick] [--json]
 *   npx tsx bench/conditioning.ts [--quick] [--json]
 *
 * @since 0.1.0
 */
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { dfwLayer } from '../src/fw/Layer.js'
import type { RefP, RefProblem, RefSet } from '../test/helpers/ddReference.js'
import { solveReference, vjpRef } from '../test/helpers/ddReference.js'
import { agree, norm2, transposeResidual } from '../test/helpers/hardCheck.js'
import {
  csrP, libProblem, libTangent, lowRankP, randomOrthogonal, randomQBinding, randomTangent, rng, vec
} from '../test/helpers/hardProblems.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** One measured case. */
export interface Row {
  readonly kind: 'dense' | 'diag + low rank' | 'CSR'
  readonly n: number
  readonly cond: number
  readonly set: RefSet
  readonly iterations: number
  readonly status: string
  readonly face: string
  readonly forwardMs: number
  readonly backwardMs: number
  /** ‖x − x*‖/‖x*‖ against the verified reference; NaN when the reference was not run or failed. */
  readonly xErr: number
  /** ‖vjp.q − vjp*.q‖/‖vjp*.q‖; NaN as above. */
  readonly vjpErr: number
  readonly transpose: number
  /** The 1-minute load average when the row was measured. */
  readonly load: number
  readonly note?: string
}

/** Options of {@link run}. */
export interface Options {
  readonly quick?: boolean
}

const SETS: readonly RefSet[] = ['l1', 'linf', 'l2', 'simplex']
const CONDS = [1, 1e2, 1e4, 1e6, 1e8] as const

// -------------------------------------------------------------------------------------
// problems
// -------------------------------------------------------------------------------------

/** Q diag(λ) Qᵀ with λ log-spaced over [1/cond, 1], from a given orthogonal Q. */
export const denseFrom = (Q: Float64Array, n: number, cond: number): RefP => {
  const lam = Float64Array.from({ length: n }, (_, k) => cond ** (-(k / (n - 1))))
  const P = new Float64Array(n * n), row = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) row[k] = Q[i * n + k]! * lam[k]!
    for (let j = i; j < n; j++) {
      let s = 0
      const qj = j * n
      for (let k = 0; k < n; k++) s += row[k]! * Q[qj + k]!
      P[i * n + j] = s
      P[j * n + i] = s
    }
  }
  return { kind: 'dense', data: P }
}

// -------------------------------------------------------------------------------------
// running
// -------------------------------------------------------------------------------------

export const measure = (kind: Row['kind'], p: RefProblem, cond: number, seed: number): Row => {
  const r = rng(seed + 500_000) // not the problem's own stream: c must not repeat q
  const base = { kind, n: p.n, cond, set: p.set }
  const t0 = performance.now()
  let res
  try {
    res = dfwLayer()(libProblem(p))
  } catch (e) {
    return { ...base, iterations: 0, status: 'error', face: '-', forwardMs: performance.now() - t0, backwardMs: NaN, xErr: NaN, vjpErr: NaN, transpose: NaN, load: loadavg()[0]!, note: String((e as Error).message).slice(0, 80) }
  }
  const forwardMs = performance.now() - t0
  const c = Float64Array.from({ length: p.n }, () => r.normal())
  const t1 = performance.now()
  const g = res.vjp(vec(c))
  const backwardMs = performance.now() - t1
  const v = randomTangent(r, p)
  const jv = res.jvp(libTangent(p, v)).data
  const transpose = transposeResidual(c, jv, { q: g.q.data, w: g.w.data, t: g.t, P: p.P.kind === 'dense' ? g.P?.data : undefined }, v)
  let xErr = NaN, vjpErr = NaN, note: string | undefined
  try {
    const ref = solveReference(p, res.x.data, { maxRounds: 12 })
    xErr = norm2(res.x.data.map((a, i) => a - ref.x[i]!)) / Math.max(norm2(ref.x), 1e-300)
    const gr = vjpRef(ref, c)
    // a reference gradient below 1e-13 of ‖c‖·t/‖q‖∞ counts as zero (see hardCheck's agree)
    const qs = p.q.reduce((m, a) => Math.max(m, Math.abs(a)), 0)
    vjpErr = agree(g.q.data, gr.q, Math.max(norm2(gr.q), (norm2(c) * p.t) / Math.max(qs, 1e-300))).rel
    if (ref.verification.margin <= 1e-8) note = `reference margin ${ref.verification.margin.toExponential(1)}`
  } catch (e) {
    note = `no reference: ${String((e as Error).message).slice(0, 60)}`
  }
  const face = res.face ? `${res.face.derivative}/${res.face.size}` : '-'
  return { ...base, iterations: res.iterations, status: res.status, face, forwardMs, backwardMs, xErr, vjpErr, transpose, load: loadavg()[0]!, ...(note !== undefined ? { note } : {}) }
}

/** Runs the sweep (see the module notes). */
export const run = (options: Options = {}): Row[] => {
  const quick = options.quick === true
  const rows: Row[] = []
  const sizes = quick ? [100] : [100, 1000]
  const conds = quick ? [1, 1e4, 1e8] : CONDS
  let seed = 90_000
  for (const n of sizes) {
    const Q = randomOrthogonal(rng(n), n)
    for (const cond of conds) {
      const kinds: Array<[Row['kind'], () => RefP]> = []
      if (n <= 100 || cond === 1 || cond === 1e8) kinds.push(['dense', () => denseFrom(Q, n, cond)])
      kinds.push(['diag + low rank', () => lowRankP(rng(seed + 1), n, 5, 1 / cond)], ['CSR', () => csrP(rng(seed + 2), n, 3, 1 / cond, n)])
      for (const [kind, build] of kinds) {
        const P = build()
        for (const set of SETS) {
          const s = seed++
          process.stderr.write(`conditioning: ${kind} n=${n} cond=${cond} ${set}\n`)
          rows.push(measure(kind, randomQBinding(rng(s), set, P, n, 0.3), cond, s))
        }
      }
    }
  }
  return rows
}

const fmt = (v: number, digits = 1): string => (Number.isNaN(v) ? '–' : v === 0 ? '0' : v.toExponential(digits))
const ms = (v: number): string => (Number.isNaN(v) ? '–' : v < 10 ? v.toFixed(2) : v.toFixed(0))

/** The rows as a table, its header with the load average over the rows. */
export const table = (rows: ReadonlyArray<Row>): string => {
  const loads = rows.map((r) => r.load)
  const headLine = `load average (1 min) while measuring: ${loads.length ? `${Math.min(...loads).toFixed(2)}…${Math.max(...loads).toFixed(2)}` : '–'} (now ${loadavg().map((l) => l.toFixed(2)).join(' ')}); no face-solve column: the result does not expose it`
  const head = ['P', 'n', 'cond', 'set', 'steps', 'status', 'face', 'fwd ms', 'vjp ms', 'x err', 'vjp.q err', 'transpose', 'note']
  const body = rows.map((r) => [r.kind, String(r.n), fmt(r.cond, 0), r.set, String(r.iterations), r.status, r.face, ms(r.forwardMs), ms(r.backwardMs), fmt(r.xErr), fmt(r.vjpErr), fmt(r.transpose), r.note ?? ''])
  const w = head.map((h, k) => Math.max(h.length, ...body.map((b) => b[k]!.length)))
  const left = new Set([0, 3, 5, 6, 12])
  const line = (cs: ReadonlyArray<string>): string => cs.map((c, k) => (left.has(k) ? c.padEnd(w[k]!) : c.padStart(w[k]!))).join('  ').trimEnd()
  return [headLine, line(head), w.map((x) => '-'.repeat(x)).join('  '), ...body.map(line)].join('\n')
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href

if (isMain) {
  const args = process.argv.slice(2)
  const rows = run({ quick: args.includes('--quick') })
  process.stdout.write(args.includes('--json') ? JSON.stringify(rows) + '\n' : table(rows) + '\n')
}
