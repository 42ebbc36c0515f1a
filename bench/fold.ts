/**
 * The overhead of the differentiable-map abstraction: a K-step unrolled fold of a cheap
 * step, value + VJP, through the engine (`fold` over combinators and primitives) against
 * the same loop written by hand over Float64Array (forward pass storing the states, then
 * a reverse loop). Also the heap retained by the fold's linear map, with and without
 * checkpointing.
 *
 * The step (six primitives on Vec<N>), with q the parameter and s the state:
 *   e = softmax(β (q − s));  s ← s − γ (s − e)
 * written three ways: with the combinators (compose, fanout, fst/snd, lifted primitives),
 * in the let-notation (`trace`), and as one map with its own tangent and transpose rules
 * (as the layer's fused Frank-Wolfe step is written). The fold, its linear map and the
 * reverse accumulation are the same in all three. The hand loops: one taking a fresh array
 * per step from the library's allocator, one allocating every buffer once.
 *
 *   npx tsx bench/fold.ts            # table
 *   npx tsx bench/fold.ts --json     # rows as JSON
 *   npx tsx bench/fold.ts --quick    # fewer repetitions
 *
 * @since 0.1.0
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { pathToFileURL } from 'node:url'
import * as D from '../src/core/Diff.js'
import type { Diff, Linear } from '../src/core/Diff.js'
import { trace } from '../src/core/Trace.js'
import { type Tan, Zero } from '../src/core/Tangent.js'
import * as P from '../src/core/Prim.js'
import '../src/jvp/index.js'
import '../src/vjp/index.js'
import { rng } from '../src/core/Random.js'
import type { Vec } from '../src/shapes/Vec.js'
import { unsafeDim } from '../src/shapes/Dim.js'
import { f64, f64From } from '../src/shapes/alloc.js'

// -------------------------------------------------------------------------------------
// the step, through the engine
// -------------------------------------------------------------------------------------

type N = 'n'
type VN = Vec<N>
type St = readonly [VN, VN]

const BETA = 2
const GAMMA = 0.3

const tuple1 = <A>(): Diff<A, readonly [A]> => D.linear<A, readonly [A]>({ fwd: (a) => [a] as const, bwd: (t) => t[0] })
const lift1 = <A, B, C>(p: Diff<readonly [B], C>, f: Diff<A, B>): Diff<A, C> => D.compose(p, D.compose(tuple1<B>(), f))
const lift2 = <A, B, C, R>(p: Diff<readonly [B, C], R>, f: Diff<A, B>, g: Diff<A, C>): Diff<A, R> => D.compose(p, D.fanout(f, g))

const q = D.fst<VN, VN>()
const s = D.snd<VN, VN>()
/** e = softmax(β (q − s)); s ← s − γ (s − e) */
export const step: Diff<St, VN> = lift2(
  P.sub<N>(),
  s,
  lift2(P.scale<N>(), D.constant<St, number>(GAMMA), lift2(P.sub<N>(), s, lift1(P.softmax<N>(), lift2(P.scale<N>(), D.constant<St, number>(BETA), lift2(P.sub<N>(), q, s)))))
)

/** The same step written in the let-notation (`trace`): six primitive calls on a tape. */
export const stepTraced: Diff<St, VN> = trace<St, VN>(($, [qv, sv]) => {
  const z = $.call(P.scale<N>(), $.constant(BETA), $.call(P.sub<N>(), qv, sv))
  const e = $.call(P.softmax<N>(), z)
  return $.call(P.sub<N>(), sv, $.call(P.scale<N>(), $.constant(GAMMA), $.call(P.sub<N>(), sv, e)))
})

/**
 * The same step as one map with its own tangent and transpose, as the layer's fused step
 * is written (a `Diff` is a function to the value and its linear map):
 * s' = (1 − γ)s + γe, e = softmax(β(q − s)), J_e v = e ⊙ (v − ⟨e, v⟩), symmetric.
 */
export const stepOwnRules: Diff<St, VN> = ([qv, sv]) => {
  const n = qv.dim as number, a = qv.data, b = sv.data, ed = f64(n), next = f64(n)
  let m = -Infinity
  for (let i = 0; i < n; i++) { const z = BETA * (a[i]! - b[i]!); ed[i] = z; if (z > m) m = z }
  let sum = 0
  for (let i = 0; i < n; i++) { const v = Math.exp(ed[i]! - m); ed[i] = v; sum += v }
  for (let i = 0; i < n; i++) { const ei = ed[i]! / sum; ed[i] = ei; next[i] = (1 - GAMMA) * b[i]! + GAMMA * ei }
  /** out = βγ J_e v */
  const je = (v: Float64Array, out: Float64Array): void => {
    let d = 0
    for (let i = 0; i < n; i++) d += ed[i]! * v[i]!
    for (let i = 0; i < n; i++) out[i] = BETA * GAMMA * ed[i]! * (v[i]! - d)
  }
  const lin: Linear<St, VN> = {
    fwd: (t) => {
      if (t === Zero) return Zero
      const [dq, ds] = t as unknown as readonly [Tan<VN>, Tan<VN>]
      const v = f64(n), o = f64(n)
      for (let i = 0; i < n; i++) v[i] = (dq === Zero ? 0 : dq.data[i]!) - (ds === Zero ? 0 : ds.data[i]!)
      je(v, o)
      if (ds !== Zero) for (let i = 0; i < n; i++) o[i] = o[i]! + (1 - GAMMA) * ds.data[i]!
      return { dim: sv.dim, data: o }
    },
    bwd: (c) => {
      if (c === Zero) return Zero
      const gq = f64(n), gs = f64(n), cd = c.data
      je(cd, gq)
      for (let i = 0; i < n; i++) gs[i] = (1 - GAMMA) * cd[i]! - gq[i]!
      return [{ dim: sv.dim, data: gq }, { dim: sv.dim, data: gs }] as unknown as Tan<St>
    }
  }
  return [{ dim: sv.dim, data: next }, lin]
}

// -------------------------------------------------------------------------------------
// the same loop by hand
// -------------------------------------------------------------------------------------

/**
 * Value and VJP of K steps by hand: returns s_K and (∂/∂q, ∂/∂s₀) of ⟨ct, s_K⟩. Each step
 * takes its arrays from the library's allocator (`f64`), as the engine's primitives do,
 * so that the ratio measures the abstraction and not the allocator.
 */
export const byHand = (qv: Float64Array, s0: Float64Array, K: number, ct: Float64Array): readonly [Float64Array, Float64Array, Float64Array] => {
  const n = qv.length
  const states: Float64Array[] = [s0]
  const es: Float64Array[] = []
  let sk = s0
  for (let k = 0; k < K; k++) {
    const e = f64(n)
    let m = -Infinity
    for (let i = 0; i < n; i++) { const z = BETA * (qv[i]! - sk[i]!); e[i] = z; if (z > m) m = z }
    let sum = 0
    for (let i = 0; i < n; i++) { const v = Math.exp(e[i]! - m); e[i] = v; sum += v }
    const next = f64(n)
    for (let i = 0; i < n; i++) { const ei = e[i]! / sum; e[i] = ei; next[i] = sk[i]! - GAMMA * (sk[i]! - ei) }
    es.push(e)
    states.push(next)
    sk = next
  }
  // reverse: s' = (1−γ) s + γ e, e = softmax(β(q − s)), J_e v = e ⊙ (v − ⟨e, v⟩)
  const gq = f64(n)
  let g = f64From(ct)
  for (let k = K - 1; k >= 0; k--) {
    const e = es[k]!
    let dot = 0
    for (let i = 0; i < n; i++) dot += e[i]! * g[i]!
    const gs = f64(n)
    for (let i = 0; i < n; i++) {
      const je = BETA * GAMMA * e[i]! * (g[i]! - dot)
      gq[i] = gq[i]! + je
      gs[i] = (1 - GAMMA) * g[i]! - je
    }
    g = gs
  }
  return [sk, gq, g]
}

/**
 * The same loop as a careful hand-writer would keep it: every state and softmax in one
 * K·n array allocated once, the reverse pass in two buffers. No allocation per step.
 */
export const byHandPreallocated = (qv: Float64Array, s0: Float64Array, K: number, ct: Float64Array): readonly [Float64Array, Float64Array, Float64Array] => {
  const n = qv.length
  const S = new Float64Array((K + 1) * n), E = new Float64Array(K * n)
  S.set(s0)
  for (let k = 0; k < K; k++) {
    const so = k * n, no = so + n, eo = k * n
    let m = -Infinity
    for (let i = 0; i < n; i++) { const z = BETA * (qv[i]! - S[so + i]!); E[eo + i] = z; if (z > m) m = z }
    let sum = 0
    for (let i = 0; i < n; i++) { const v = Math.exp(E[eo + i]! - m); E[eo + i] = v; sum += v }
    for (let i = 0; i < n; i++) { const ei = E[eo + i]! / sum; E[eo + i] = ei; S[no + i] = S[so + i]! - GAMMA * (S[so + i]! - ei) }
  }
  const gq = new Float64Array(n)
  const g = Float64Array.from(ct)
  for (let k = K - 1; k >= 0; k--) {
    const eo = k * n
    let dot = 0
    for (let i = 0; i < n; i++) dot += E[eo + i]! * g[i]!
    for (let i = 0; i < n; i++) {
      const je = BETA * GAMMA * E[eo + i]! * (g[i]! - dot)
      gq[i] = gq[i]! + je
      g[i] = (1 - GAMMA) * g[i]! - je
    }
  }
  return [S.subarray(K * n), gq, g]
}

// -------------------------------------------------------------------------------------
// measurement
// -------------------------------------------------------------------------------------

/** One row of the benchmark. */
export interface Row {
  readonly n: number
  readonly K: number
  /** How the step is written: `combinators` (compose/fanout over primitives), `traced` (the same primitives on a tape), `own rules` (one map with its own tangent and transpose). */
  readonly step: string
  /** CPU ms per value + VJP through the engine. */
  readonly engineMs: number
  /** CPU ms per value + VJP by hand (per-step arrays from the same allocator). */
  readonly handMs: number
  /** engineMs / handMs */
  readonly ratio: number
  /** CPU ms per value + VJP by hand, every buffer allocated once. */
  readonly handPreMs: number
  /** engineMs / handPreMs */
  readonly ratioPre: number
  /** Heap (with typed-array stores) retained by the fold's value and linear map, no checkpointing (bytes). */
  readonly retainedBytes: number
  /** The same with checkpoint c = ⌈√K⌉ (bytes). */
  readonly retainedCheckpointBytes: number
  /** The hand loop's stored states and softmaxes, 2 K n doubles (bytes). */
  readonly handStoredBytes: number
  /** Largest |engine − hand| over the value and both gradients. */
  readonly maxAbsDiff: number
}

/** Options of {@link run}. */
export interface Options {
  readonly sizes?: readonly number[]
  readonly K?: number
  /** Minimum time per measurement, ms. */
  readonly minMs?: number
  /** Measurements per variant; the median is reported. */
  readonly repeats?: number
  /** CPU ms of calls to each variant before the timed series (the JIT settles on the engine's call sites after about a second). */
  readonly warmMs?: number
}

const getGc = (): (() => void) | undefined => {
  const g = (globalThis as { gc?: () => void }).gc
  if (g !== undefined) return g
  try {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  } catch {
    return undefined
  }
}

/**
 * Process CPU time in ms (user + system). On a shared machine it is steadier than wall
 * time, which counts the time other processes hold the cores.
 */
const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/**
 * Times `fs` interleaved (so that load from other processes hits them alike): each batch
 * runs every function for about `minMs` of CPU time; the median of `repeats` batches, CPU
 * ms per call.
 */
const timeAll = (fs: readonly (() => void)[], minMs: number, repeats: number): number[] => {
  const reps = fs.map((f) => {
    let k = 1
    for (;;) {
      const t0 = cpuMs()
      for (let i = 0; i < k; i++) f()
      const dt = cpuMs() - t0
      if (dt >= minMs / 4) return Math.max(1, Math.ceil((k * minMs) / Math.max(dt, 1e-3)))
      k *= 2
    }
  })
  const times = fs.map((): number[] => [])
  for (let r = 0; r < repeats; r++) {
    fs.forEach((f, j) => {
      const t0 = cpuMs()
      for (let i = 0; i < reps[j]!; i++) f()
      times[j]!.push((cpuMs() - t0) / reps[j]!)
    })
  }
  return times.map((ts) => ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)]!)
}

/** Heap plus typed-array backing stores. */
const used = (): number => {
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

const retained = (make: () => unknown, gc: (() => void) | undefined): number => {
  if (gc === undefined) return Number.NaN
  const keep: unknown[] = []
  gc(); gc()
  const before = used()
  for (let i = 0; i < 16; i++) keep.push(make())
  gc(); gc()
  const after = used()
  if (keep.length !== 16) throw new Error('unreachable')
  return (after - before) / 16
}

const vecOf = (x: Float64Array): VN => ({ dim: unsafeDim<N>(x.length), data: x })

/**
 * Runs the benchmark and returns its rows.
 *
 * @example
 * run({ sizes: [10, 100], K: 100 })
 */
export const run = (opts: Options = {}): readonly Row[] => {
  const sizes = opts.sizes ?? [10, 100, 1000]
  const K = opts.K ?? 100
  const minMs = opts.minMs ?? 200
  const repeats = opts.repeats ?? 5
  const warmMs = opts.warmMs ?? 1500
  const gc = getGc()
  const r = rng(1)
  const steps: readonly (readonly [string, Diff<St, VN>])[] = [['combinators', step], ['traced', stepTraced], ['own rules', stepOwnRules]]
  const rows: Row[] = []
  for (const n of sizes) {
    const qv = Float64Array.from({ length: n }, () => r.normal())
    const s0 = Float64Array.from({ length: n }, () => r.normal())
    const ct = Float64Array.from({ length: n }, () => r.normal())
    const a: St = [vecOf(qv), vecOf(s0)]
    const variants = steps.map(([name, st]) => {
      const folded = D.fold(st, K)
      const checkpointed = D.fold(st, K, { checkpoint: Math.ceil(Math.sqrt(K)) })
      const engine = (): readonly [VN, unknown] => {
        const [y, lin] = folded(a)
        return [y, lin.bwd(vecOf(ct))]
      }
      return { name, folded, checkpointed, engine }
    })
    const hand = () => byHand(qv, s0, K, ct)
    const handPre = () => byHandPreallocated(qv, s0, K, ct)
    const all = [...variants.map((v) => v.engine), hand, handPre]
    for (const f of all) {
      const t0 = cpuMs()
      while (cpuMs() - t0 < warmMs) f()
    }
    const [yh, gqh, gsh] = hand()
    const [yp, gqp, gsp] = handPre()
    const times = timeAll(all, minMs, repeats)
    const handMs = times[variants.length]!, handPreMs = times[variants.length + 1]!
    variants.forEach((v, j) => {
      const [ye, ge] = v.engine()
      const [gqe, gse] = ge as readonly [VN, VN]
      let diff = 0
      for (let i = 0; i < n; i++) {
        diff = Math.max(diff, Math.abs(ye.data[i]! - yh[i]!), Math.abs(gqe.data[i]! - gqh[i]!), Math.abs(gse.data[i]! - gsh[i]!))
        diff = Math.max(diff, Math.abs(ye.data[i]! - yp[i]!), Math.abs(gqe.data[i]! - gqp[i]!), Math.abs(gse.data[i]! - gsp[i]!))
      }
      const engineMs = times[j]!
      rows.push({
        n,
        K,
        step: v.name,
        engineMs,
        handMs,
        ratio: engineMs / handMs,
        handPreMs,
        ratioPre: engineMs / handPreMs,
        retainedBytes: retained(() => v.folded(a), gc),
        retainedCheckpointBytes: retained(() => v.checkpointed(a), gc),
        handStoredBytes: 2 * K * n * 8,
        maxAbsDiff: diff
      })
    })
  }
  return rows
}

const kb = (b: number): string => (Number.isNaN(b) ? 'n/a' : `${(b / 1024).toFixed(1)} KiB`)

/** The rows as a plain-text table. */
export const table = (rows: readonly Row[]): string => {
  const head = ['n', 'K', 'step', 'engine ms', 'hand ms', 'ratio', 'hand prealloc ms', 'ratio', 'retained', 'retained (ckpt √K)', 'hand stores', 'max |Δ|']
  const body = rows.map((x) => [
    String(x.n), String(x.K), x.step, x.engineMs.toFixed(3), x.handMs.toFixed(3), x.ratio.toFixed(2), x.handPreMs.toFixed(3), x.ratioPre.toFixed(2),
    kb(x.retainedBytes), kb(x.retainedCheckpointBytes), kb(x.handStoredBytes), x.maxAbsDiff.toExponential(1)
  ])
  const w = head.map((h, j) => Math.max(h.length, ...body.map((b) => b[j]!.length)))
  const line = (cs: readonly string[]) => cs.map((c, j) => c.padStart(w[j]!)).join('  ')
  return [line(head), line(w.map((k) => '-'.repeat(k))), ...body.map(line)].join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick')
  const rows = run(quick ? { minMs: 50, repeats: 3, warmMs: 300 } : {})
  if (process.argv.includes('--json')) console.log(JSON.stringify(rows, null, 2))
  else console.log(`fold of K = 100 steps, value + VJP; the step (6 primitives) as combinators, traced, or one map with its own rules\n${table(rows)}`)
}
