/**
 * The unrolled run of a whole batch: the early-stopping fold (`Diff.foldWhile`, with the
 * layer's tape budget scaled by the batch) of the batched paper step on l1
 * (`PaperL1.ts`), from x₀ = 0, and its derivatives over any selection of instances:
 * - `vjp`: the fold's transpose for the selected instances' cotangents of x, giving q, w
 *   and t row by row, and P's cotangent as unexpanded terms, expanded per instance in the
 *   single layer's order (`pGradientOf`, bitwise what `OuterSum` and the fold's sum give)
 *   or summed over the instances that share an operator (`pGradientSum`: one
 *   accumulation of Σ γ c_{Ps} ⊗ s, not one matrix per instance);
 * - `jvp`: the fold's tangent map for the selected instances.
 *
 * @since 0.1.0
 */
import * as D from '../../core/Diff.js'
import type { Linear } from '../../core/Diff.js'
import { type Tan, Zero } from '../../core/Tangent.js'
import type { Mat } from '../../shapes/Mat.js'
import type { FoldOptions } from '../../core/Diff.js'
import { LayerError } from '../Options.js'
import type { BatchState, BatchStateTan, BatchTheta, BatchThetaCotan, BatchThetaTan, OuterTerms, Wants } from './Model.js'
import { type PaperL1Config, type StepAlloc, type StepBwdOut, type StepData, movedInto, paperL1BatchStep, paperL1StepInto, stepBwdInto, stepLinear } from './PaperL1.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A batch's unrolled run: the final state, whether the deadline stopped it, and the
 * fold's linear map.
 *
 * @example
 * const run = unrolledBatch(theta, cfg, 1000, fold)
 * run.state.steps[b] // steps instance b took
 */
export interface UnrolledBatch<B, N> {
  readonly state: BatchState<B, N>
  /** The deadline stopped the instances that were still live. */
  readonly timedOut: boolean
  readonly lin: Linear<readonly [BatchTheta<B, N>, BatchState<B, N>], BatchState<B, N>>
  /**
   * Hands the run's tape back to the pool (`tapeRun`), for the next run to write; a later
   * `lin` call records it again first. The batch's vjp calls it once done with the tape.
   */
  readonly release: () => void
}

/**
 * θ's cotangent over a selection: q, w (|sel| × n) and t (|sel|), and P's unexpanded
 * terms (see {@link pGradientOf}, {@link pGradientSum}).
 *
 * @example
 * const g = batchVjp(run, theta, sel, cx)
 * g.q.subarray(p * n, p * n + n) // ∇_q of instance sel[p]
 */
export interface BatchCotangent {
  readonly q: Float64Array
  readonly w: Float64Array
  readonly t: Float64Array
  readonly terms: ReadonlyArray<OuterTerms>
}

// -------------------------------------------------------------------------------------
// the run
// -------------------------------------------------------------------------------------

/**
 * The initial state: x₀ = 0 (P x₀ = 0), the paper's sentinels f = −100 and f_prev = 1000,
 * and each instance live when its stop test lets the first step run.
 *
 * @example
 * initialBatchState(theta, cfg).live // all 1 for the paper's test
 */
export const initialBatchState = <B, N>(theta: BatchTheta<B, N>, cfg: PaperL1Config): BatchState<B, N> => {
  const B = theta.B as number, n = theta.n as number
  const live = new Uint8Array(B)
  for (let b = 0; b < B; b++) live[b] = cfg.go(-100, 1000, 0) ? 1 : 0
  return {
    x: { rows: theta.B, cols: theta.n, data: new Float64Array(B * n) },
    px: { rows: theta.B, cols: theta.n, data: new Float64Array(B * n) },
    k: 0,
    steps: new Int32Array(B),
    f: new Float64Array(B).fill(-100),
    fPrev: new Float64Array(B).fill(1000),
    live,
    failed: new Array<undefined>(B).fill(undefined)
  }
}

/**
 * Runs the batch: the fold of the batched step while any instance is live, at most
 * `maxIterations` steps, until `deadline` (performance.now(); the instances still live
 * then stop together).
 *
 * Without a checkpoint option the run keeps its own tape ({@link tapeRun}: the steps'
 * arrays in a few large slabs, and a transpose that sums θ's cotangent in place); when
 * that tape would outgrow `fold.tape.limit` bytes, it runs again as the generic fold
 * (`Diff.foldWhile`), which checkpoints past the budget. Both compute the same numbers.
 *
 * @example
 * const run = unrolledBatch(theta, cfg, 1000, { tape: { limit: 2 ** 29, perStep: B * (72 * n + 4096) } })
 */
export const unrolledBatch = <B, N>(theta: BatchTheta<B, N>, cfg: PaperL1Config, maxIterations: number, fold: FoldOptions, deadline = Infinity): UnrolledBatch<B, N> => {
  let timedOut = false
  const anyLive = (s: BatchState<B, N>): boolean => {
    for (let b = 0; b < s.live.length; b++) if (s.live[b] === 1) return true
    return false
  }
  const go = (s: BatchState<B, N>): boolean => {
    if (!anyLive(s)) return false
    if (performance.now() > deadline) { timedOut = true; return false }
    return true
  }
  if (fold.checkpoint === undefined) {
    const own = tapeRun(theta, cfg, maxIterations, fold.tape?.limit ?? Infinity, go)
    if (own !== undefined) return { state: own.state, timedOut, lin: own.lin, release: own.release }
    timedOut = false
  }
  const [state, lin] = D.foldWhile(paperL1BatchStep<B, N>(cfg), go, maxIterations, fold)([theta, initialBatchState(theta, cfg)])
  return { state, timedOut, lin, release: () => undefined }
}

// -------------------------------------------------------------------------------------
// the tape's slabs
// -------------------------------------------------------------------------------------

type Slab = Float64Array | Int32Array | Uint8Array

/**
 * Slabs handed back by runs whose tape is done (`release`), by kind and length, for the
 * next run of the same shape: a training loop's runs then write the same memory instead of
 * fresh memory each step, whose first touch (the pages zeroed by the system) and whose
 * external bytes (full collections started by their growth) cost more than the steps at
 * small n (B = 256, n = 10, K = 60: a tape of 7 MB per call; `--trace-gc` showed a full
 * collection every 5 calls). At most `POOL_LIMIT` bytes are kept.
 */
const pool = new Map<string, Slab[]>()
let pooled = 0
const POOL_LIMIT = 2 ** 28

/** A slab's pool key: its element size (the three kinds differ in it) and its length. */
const slabKey = (bytesEach: number, len: number): string => `${bytesEach}:${len}`

/** A zeroed slab of this kind and length: one from the pool (zeroed again), or a fresh one. */
const takeSlab = <A extends Slab>(make: (len: number) => A, bytesEach: number, len: number): A => {
  const free = pool.get(slabKey(bytesEach, len))
  const s = free?.pop() as A | undefined
  if (s === undefined) return make(len)
  pooled -= s.byteLength
  return s.fill(0) as A
}

const giveSlab = (s: Slab): void => {
  if (s.length === 0 || pooled + s.byteLength > POOL_LIMIT) return
  const key = slabKey(s.BYTES_PER_ELEMENT, s.length)
  let free = pool.get(key)
  if (free === undefined) { free = []; pool.set(key, free) }
  free.push(s)
  pooled += s.byteLength
}

/**
 * Empties the tape pool: the slabs kept for the next batch's run (at most `POOL_LIMIT`,
 * 256 MiB) go to the garbage collector. Returns the bytes the pool held. A later run
 * allocates its tape again (and pools it again after its vjp); results do not change.
 *
 * @example
 * releaseTapePool() // e.g. 7340032 after training at B = 256, n = 10, K = 60
 */
export const releaseTapePool = (): number => {
  const held = pooled
  pool.clear()
  pooled = 0
  return held
}

/**
 * The bytes the tape pool holds now.
 *
 * @example
 * tapePoolBytes() // 0 after releaseTapePool(), until the next batch's vjp
 */
export const tapePoolBytes = (): number => pooled

/**
 * The batch's run with its own tape: the steps of {@link paperL1StepInto} with their
 * arrays carved from slabs of many steps each (doubling: no allocation per step), and the
 * linear map of the whole run, whose transpose walks the steps backwards through
 * {@link stepBwdInto} with θ's cotangent summed in place (from −0, so bitwise the fold's
 * sum of the steps' cotangents) and the state's in two alternating buffers. Undefined when
 * the slabs would pass `limit` bytes.
 *
 * @example
 * const run = tapeRun(theta, cfg, 100, 2 ** 29, (s) => s.live.includes(1))
 */
export const tapeRun = <B, N>(
  theta: BatchTheta<B, N>, cfg: PaperL1Config, maxIterations: number, limit: number, go: (s: BatchState<B, N>) => boolean
): { readonly state: BatchState<B, N>; readonly lin: Linear<readonly [BatchTheta<B, N>, BatchState<B, N>], BatchState<B, N>>; readonly release: () => void } | undefined => {
  const B = theta.B as number, n = theta.n as number
  // the steps, their arrays carved from slabs taken from the pool (`takeSlab`); `stepsOf`
  // records them again, from the same θ for as many steps, once the slabs went back
  let slabs: Slab[] = []
  const record = (count: number, test: (s: BatchState<B, N>) => boolean): { steps: StepData[]; state: BatchState<B, N> } | undefined => {
    // a step takes at most 5·B·n + 7·B numbers, 3·B integers and 3·B flags
    // (paperL1StepInto); each slab holds `chunk` steps' worth, and the next one twice as many
    let bytes = 0, over = false
    const first = Math.max(1, Math.min(count, 64))
    const bump = <A extends Slab>(make: (len: number) => A, per: number, bytesEach: number): ((len: number) => A) => {
      let slab = make(0), top = 0, chunk = first
      return (len) => {
        if (top + len > slab.length) {
          const size = Math.max(len, per * chunk)
          bytes += size * bytesEach
          if (bytes > limit) { over = true; return make(len) }
          slab = takeSlab(make, bytesEach, size); top = 0; chunk *= 2
          slabs.push(slab)
        }
        top += len
        return slab.subarray(top - len, top) as A
      }
    }
    const alloc: StepAlloc = {
      f64: bump((len) => new Float64Array(len), 5 * B * n + 7 * B, 8),
      i32: bump((len) => new Int32Array(len), 3 * B, 4),
      u8: bump((len) => new Uint8Array(len), 3 * B, 1)
    }
    const steps: StepData[] = []
    let s = initialBatchState(theta, cfg)
    for (let k = 0; k < count && test(s); k++) {
      const [s2, d] = paperL1StepInto<B, N>(cfg, theta, s, alloc)
      if (over) {
        // past the budget: the generic fold runs instead, and the slabs go back unused
        for (const x of slabs) giveSlab(x)
        slabs = []
        return undefined
      }
      steps.push(d)
      s = s2
    }
    return { steps, state: s }
  }
  const recorded = record(maxIterations, go)
  if (recorded === undefined) return undefined
  // the final state in arrays of its own (a step writes its state into the slabs, which
  // go back to the pool): the solution's x and certificates outlive the tape
  const fs = recorded.state
  const state: BatchState<B, N> = {
    ...fs,
    x: { ...fs.x, data: fs.x.data.slice() },
    px: { ...fs.px, data: fs.px.data.slice() },
    steps: fs.steps.slice(), f: fs.f.slice(), fPrev: fs.fPrev.slice(), live: fs.live.slice()
  }
  let steps: StepData[] | undefined = recorded.steps
  const count = steps.length
  const stepsOf = (): StepData[] => {
    if (steps !== undefined) return steps
    slabs = []
    const again = record(count, () => true)!
    // the same θ gives the same steps, bit for bit; an input written since the solve
    // (the operator's entries) does not, and its derivative would be another problem's
    const x0 = state.x.data, x1 = again.state.x.data, p0 = state.px.data, p1 = again.state.px.data
    for (let i = 0; i < x0.length; i++) {
      if (!Object.is(x0[i], x1[i]) || !Object.is(p0[i], p1[i])) {
        throw new LayerError('the operator P was written after the solve: its derivatives belong to the P it solved with; solve again', 'P')
      }
    }
    steps = again.steps
    return steps
  }
  const release = (): void => {
    if (steps === undefined) return
    steps = undefined
    for (const s of slabs) giveSlab(s)
    slabs = []
  }
  type In = readonly [BatchTheta<B, N>, BatchState<B, N>]
  const fwd = (t: Tan<In>): Tan<BatchState<B, N>> => {
    if (t === Zero) return Zero
    const [dp, ds0] = t as unknown as readonly [unknown, unknown]
    let ds: unknown = ds0
    for (const d of stepsOf()) ds = stepLinear<B, N>(d).fwd([dp, ds] as unknown as Tan<In>)
    return ds as Tan<BatchState<B, N>>
  }
  const bwd = (c: Tan<BatchState<B, N>>): Tan<In> => {
    if (c === Zero) return Zero
    const steps = stepsOf()
    if (steps.length === 0) return [Zero, c] as unknown as Tan<In>
    const cin = c as unknown as BatchStateTan
    const sel = cin.sel, ns = sel.length, nsn = ns * n
    let rowsTotal = 0
    for (const d of steps) rowsTotal += d.m
    // θ's sums (from −0), the state's two buffers, scratch, and the kept c_{Ps} of P's terms
    const blk = new Float64Array(7 * nsn + 2 * ns + 2 * n)
    const q = blk.subarray(0, nsn).fill(-0), w = blk.subarray(nsn, 2 * nsn).fill(-0), t = blk.subarray(2 * nsn, 2 * nsn + ns).fill(-0)
    const bufs = [blk.subarray(2 * nsn + ns, 3 * nsn + ns), blk.subarray(3 * nsn + ns, 4 * nsn + ns), blk.subarray(4 * nsn + ns, 5 * nsn + ns), blk.subarray(5 * nsn + ns, 6 * nsn + ns)] as const
    const CS = blk.subarray(6 * nsn + ns, 7 * nsn + ns), cgamma = blk.subarray(7 * nsn + ns, 7 * nsn + 2 * ns), tmp = blk.subarray(7 * nsn + 2 * ns)
    // P's terms keep c_{Ps} (and a copy of s's rows: the terms outlive the tape, `release`)
    // of every moved row; without them one step's rows of c_{Ps} are scratch
    const wants = cin.wants
    const keeps = wants?.P !== false && steps[0]!.dense.includes(1)
    const stepWants = wants === undefined ? {} : { wants: keeps ? wants : { wt: wants.wt, P: false } }
    const cps = new Float64Array((keeps ? Math.min(rowsTotal, steps.length * ns) : ns) * n)
    const svs = new Float64Array(keeps ? cps.length : 0)
    let usedS = 0
    const pxSet = cin.pxSet === undefined ? new Uint8Array(ns) : Uint8Array.from(cin.pxSet)
    const scratch = new Int32Array(3 * ns), pos = scratch.subarray(0, ns), at = scratch.subarray(ns, 2 * ns), rowsOf = scratch.subarray(2 * ns)
    const mark = new Uint8Array(ns)
    // the indices of P's terms: at most 3 per moved row
    const tInts = new Int32Array(3 * Math.min(rowsTotal, steps.length * ns))
    let tTop = 0
    const ints = (len: number): Int32Array => { tTop += len; return tInts.subarray(tTop - len, tTop) }
    let cxa = cin.x ?? new Float64Array(nsn), cpa = cin.px ?? new Float64Array(nsn)
    let flip = 0, used = 0
    const Pterms: Record<string, OuterTerms> = {}
    for (let k = steps.length - 1; k >= 0; k--) {
      const d = steps[k]!
      const ma = movedInto(d, sel, pos, at)
      const cx = bufs[2 * flip]!, cpx = bufs[2 * flip + 1]!
      const out: StepBwdOut = { accumulate: true, q, w, t, cx, cpx, pxSet, CPS: cps.subarray(used, used + ma * n), CS, cgamma, tmp, rowsOf, mark, ints, SV: svs.subarray(usedS, usedS + ma * n), ...stepWants }
      const term = stepBwdInto(d, sel, cxa, cpa, pos, at, ma, out)
      if (term !== undefined) {
        Pterms[`s${d.k}`] = term
        used += ma * n; usedS += term.pos.length * n
      }
      cxa = cx; cpa = cpx; flip ^= 1
    }
    const cth: BatchThetaCotan = { q: { data: q }, w: { data: w }, t: { data: t }, Pterms }
    const cst: BatchStateTan = { sel, x: cxa, px: cpa, pxSet }
    return [cth, cst] as unknown as Tan<In>
  }
  return { state, lin: { fwd, bwd }, release }
}

// -------------------------------------------------------------------------------------
// derivatives
// -------------------------------------------------------------------------------------

/**
 * The transpose of the run for the instances `sel`, with `cx` (|sel| × n) their
 * cotangents of x. With `wants` (q's alone, say), `w` and `t` hold their gradients only
 * where `wants.wt` is true (−0 otherwise) and `terms` is empty where `wants.P` is false;
 * `q` is the same numbers either way.
 *
 * @example
 * batchVjp(run, theta, Int32Array.of(3), ct.data).q // ∇_q ⟨ct, x₃⟩
 */
export const batchVjp = <B, N>(run: UnrolledBatch<B, N>, theta: BatchTheta<B, N>, sel: Int32Array, cx: Float64Array, wants?: Wants): BatchCotangent => {
  const n = theta.n as number, ns = sel.length
  const ct: BatchStateTan = { sel, x: cx, px: undefined, pxSet: new Uint8Array(ns), ...(wants === undefined ? {} : { wants }) }
  const r = run.lin.bwd(ct as unknown as Tan<BatchState<B, N>>)
  const g = (r === Zero ? Zero : (r as unknown as readonly [BatchThetaCotan | Zero, unknown])[0])
  if (g === Zero) return { q: new Float64Array(ns * n), w: new Float64Array(ns * n), t: new Float64Array(ns), terms: [] }
  const terms = Object.values(g.Pterms)
  // copies, zeros with their signs: the single layer's transpose gives −0 where the
  // batched one does (a zero cotangent gives −0 entries alone too)
  return { q: g.q.data.slice(), w: g.w.data.slice(), t: g.t.data.slice(), terms }
}

/**
 * The tangent map of the run for the instances `sel`, along `d` (rows by selection
 * position); the tangents of x, |sel| × n.
 *
 * @example
 * batchJvp(run, theta, sel, { q: dq }) // dx of the selected instances
 */
export const batchJvp = <B, N>(run: UnrolledBatch<B, N>, theta: BatchTheta<B, N>, sel: Int32Array, d: BatchThetaTan<N>): Float64Array => {
  const n = theta.n as number
  const s0: BatchStateTan = { sel, x: undefined, px: undefined }
  const r = run.lin.fwd([d, s0] as unknown as Tan<readonly [BatchTheta<B, N>, BatchState<B, N>]>)
  const x = r === Zero ? undefined : (r as unknown as BatchStateTan).x
  return x === undefined ? new Float64Array(sel.length * n) : Float64Array.from(x)
}

/**
 * P's gradient of selection position p, expanded as the single layer expands it: the
 * fold sums the steps' outer products γ c_{Ps} ⊗ s from the last step back, unexpanded
 * while they hold fewer numbers than the matrix (⌊n/2⌋ terms), then expanded (the kept
 * terms in step order) and the earlier ones added one by one; a sum that never grew that
 * long is expanded in step order when read. Bitwise what `dfwLayer` gives alone.
 *
 * @example
 * pGradientOf(g.terms, 0, n) // n × n
 */
export const pGradientOf = <N>(terms: ReadonlyArray<OuterTerms>, p: number, n: number): Mat<N, N> => {
  const mine: Array<{ readonly k: number; readonly u: Float64Array; readonly uo: number; readonly v: Float64Array; readonly vo: number }> = []
  for (const t of terms) {
    for (let a = 0; a < t.pos.length; a++) if (t.pos[a] === p) mine.push({ k: t.k, u: t.u, uo: t.uRow[a]! * n, v: t.v, vo: t.vRow[a]! * n })
  }
  mine.sort((a, b) => a.k - b.k)
  const o = new Float64Array(n * n), M = mine.length
  const add = (i: number): void => {
    const { u, uo, v, vo } = mine[i]!
    for (let r = 0; r < n; r++) {
      const ur = u[uo + r]!
      if (ur === 0) continue
      const ro = r * n
      for (let c = 0; c < n; c++) o[ro + c] = o[ro + c]! + ur * v[vo + c]!
    }
  }
  const cap = D.outerSumCap(n, n), at = Math.max(2, cap + 1)
  if (M >= at) {
    for (let i = M - at; i < M; i++) add(i)
    for (let i = M - at - 1; i >= 0; i--) add(i)
  } else for (let i = 0; i < M; i++) add(i)
  return { rows: n as Mat<N, N>['rows'], cols: n as Mat<N, N>['cols'], data: o }
}

/**
 * Σ over the selection positions in `group` of their P gradients, accumulated term by
 * term into one matrix (the gradient of a P the instances share); the order of the sums
 * differs from the instances' own, so it agrees with their sum to rounding.
 *
 * @example
 * pGradientSum(g.terms, all, n) // the gradient of the shared P
 */
export const pGradientSum = <N>(terms: ReadonlyArray<OuterTerms>, group: Uint8Array, n: number): Mat<N, N> => {
  const o = new Float64Array(n * n)
  for (const t of terms) {
    const { u, v, pos, uRow, vRow } = t
    // the rows of the group, four rank-one terms per pass over the matrix
    const at: number[] = []
    for (let a = 0; a < pos.length; a++) if (group[pos[a]!] === 1) at.push(a)
    let k = 0
    for (; k + 4 <= at.length; k += 4) {
      const u0 = uRow[at[k]!]! * n, u1 = uRow[at[k + 1]!]! * n, u2 = uRow[at[k + 2]!]! * n, u3 = uRow[at[k + 3]!]! * n
      const v0 = vRow[at[k]!]! * n, v1 = vRow[at[k + 1]!]! * n, v2 = vRow[at[k + 2]!]! * n, v3 = vRow[at[k + 3]!]! * n
      for (let r = 0; r < n; r++) {
        const a0 = u[u0 + r]!, a1 = u[u1 + r]!, a2 = u[u2 + r]!, a3 = u[u3 + r]!
        if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue
        const ro = r * n
        for (let c = 0; c < n; c++) o[ro + c] = o[ro + c]! + ((a0 * v[v0 + c]! + a1 * v[v1 + c]!) + (a2 * v[v2 + c]! + a3 * v[v3 + c]!))
      }
    }
    for (; k < at.length; k++) addRank1(o, n, u, uRow[at[k]!]! * n, v, vRow[at[k]!]! * n)
  }
  return { rows: n as Mat<N, N>['rows'], cols: n as Mat<N, N>['cols'], data: o }
}

const addRank1 = (o: Float64Array, n: number, u: Float64Array, uo: number, v: Float64Array, vo: number): void => {
  for (let r = 0; r < n; r++) {
    const ur = u[uo + r]!
    if (ur === 0) continue
    const ro = r * n
    for (let c = 0; c < n; c++) o[ro + c] = o[ro + c]! + ur * v[vo + c]!
  }
}
