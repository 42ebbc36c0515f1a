/**
 * The paper's step on the weighted l1 ball over a whole batch, as one differentiable map
 * (θ, state) ↦ state: the fused step of `FusedStep.ts` (its arithmetic, in its order) for
 * every live instance, with one batched product P S per step for the instances that share
 * an operator (`Products.ts`), and its tangent and transpose rules batched the same way
 * (one batched P dS, one batched Pᵀ(γ c_{Ps})). Instances that have stopped pass through
 * unchanged (their derivative is the identity); each one's stop test (the paper's relative
 * change of f, the cap) is applied after its step, so the state says which instances step
 * next. Row b of the result is bitwise what `FusedStep.ts` computes for instance b alone.
 * The per-row passes of the step and of its tangent and transpose are `RowPasses.ts`'s
 * (code generated per n below n = 16, the loops above; the same numbers either way).
 *
 * With g = Px + q, r = t/w, h = g⊙r, e = softmax(β|h|), s = −r⊙sign(h)⊙e, u = s − x,
 * γ = clamp(−gᵀu / (L uᵀu), 0, 1):  x' = x + γu,  Px' = Px + γ(Ps − Px), per row.
 *
 * @since 0.1.0
 */
import type { Diff, Linear } from '../../core/Diff.js'
import { type Tan, Zero } from '../../core/Tangent.js'
import type { Params } from '../Problem.js'
import { checkCurvature } from '../Oracle.js'
import { NegativeCurvatureError } from '../Errors.js'
import { f64, zerosView } from '../../shapes/alloc.js'
import type { BatchProducts } from './Products.js'
import { rowPasses, TAIL_Q } from './RowPasses.js'
import type { BatchState, BatchStateTan, BatchTheta, BatchThetaCotan, BatchThetaTan, OuterTerms, Wants } from './Model.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * What the batched paper step needs besides θ and the state: the products, each
 * instance's L and curvature floor (`Oracle.curvatureFloor`), the temperature of the
 * batch's step i, whether each instance's P is dense (P's cotangent is kept only then),
 * and the stop test applied to an instance after its step (the schedule's test and the
 * cap on steps).
 *
 * @example
 * const cfg: PaperL1Config = { products, L, floor, dense, beta: (i) => 2 ** Math.floor(i / 30), go: (f, fPrev, k) => k < K }
 */
export interface PaperL1Config {
  readonly products: BatchProducts
  readonly L: Float64Array
  readonly floor: Float64Array
  readonly dense: Uint8Array
  readonly beta: (i: number) => number
  readonly go: (f: number, fPrev: number, k: number) => boolean
}

// -------------------------------------------------------------------------------------
// the step
// -------------------------------------------------------------------------------------

/**
 * Where a step takes its arrays: fresh ones ({@link freshArrays}) for the generic fold,
 * views of the run's tape slabs for the batch's own run (`Unrolled.ts`). Every array it
 * returns is zeroed.
 *
 * @example
 * const arrays: StepAlloc = freshArrays
 */
export interface StepAlloc {
  readonly f64: (len: number) => Float64Array
  readonly i32: (len: number) => Int32Array
  readonly u8: (len: number) => Uint8Array
}

/**
 * Fresh arrays: numbers from the slab allocator `f64`, integers and flags new.
 *
 * @example
 * freshArrays.i32(4) // Int32Array [0, 0, 0, 0]
 */
export const freshArrays: StepAlloc = { f64, i32: (len) => new Int32Array(len), u8: (len) => new Uint8Array(len) }

/**
 * The batched paper step on l1 (see the module notes).
 *
 * @example
 * const step = paperL1BatchStep<B, N>(cfg)
 * const [s1, lin] = step([theta, s0])
 */
export const paperL1BatchStep = <B, N>(cfg: PaperL1Config): Diff<readonly [BatchTheta<B, N>, BatchState<B, N>], BatchState<B, N>> => ([th, st]) => {
  const [next, data] = paperL1StepInto<B, N>(cfg, th, st, freshArrays)
  return [next, stepLinear<B, N>(data)]
}

/**
 * One batched step with its arrays from `alloc`: the next state and what the step's linear
 * map needs ({@link StepData}); {@link paperL1BatchStep} is this with fresh arrays.
 *
 * @example
 * const [s1, d] = paperL1StepInto(cfg, theta, s0, freshArrays)
 */
export const paperL1StepInto = <B, N>(cfg: PaperL1Config, th: BatchTheta<B, N>, st: BatchState<B, N>, alloc: StepAlloc): [BatchState<B, N>, StepData] => {
  const n = th.n as number, B = th.B as number
  const beta = cfg.beta(st.k + 1)
  const Q = th.q.data, R = th.r, X = st.x.data, PX = st.px.data, Ls = cfg.L
  // the live instances, compacted: row j of E, S, PS belongs to instance rows[j]
  let m = 0
  for (let b = 0; b < B; b++) if (st.live[b] === 1) m++
  const ints = alloc.i32(m + 2 * B), rows = ints.subarray(0, m), slot = ints.subarray(m, m + B).fill(-1), steps = ints.subarray(m + B)
  for (let b = 0, j = 0; b < B; b++) if (st.live[b] === 1) { rows[j] = b; slot[b] = j; j++ }
  // one block for the step's arrays: E, S, PS (m × n, kept for the linear map), per row
  // gᵀu, uᵀu, γ, num, den, and the next state's x, Px (B × n), f, f_prev (B)
  const mn = m * n, Bn = B * n, blk = alloc.f64(3 * mn + 5 * m + 2 * Bn + 2 * B)
  const E = blk.subarray(0, mn), S = blk.subarray(mn, 2 * mn), PS = blk.subarray(2 * mn, 3 * mn)
  const gu = blk.subarray(3 * mn, 3 * mn + m), uu = blk.subarray(3 * mn + m, 3 * mn + 2 * m)
  const gamma = blk.subarray(3 * mn + 2 * m, 3 * mn + 3 * m), num = blk.subarray(3 * mn + 3 * m, 3 * mn + 4 * m), den = blk.subarray(3 * mn + 4 * m, 3 * mn + 5 * m)
  const xs = blk.subarray(3 * mn + 5 * m)
  const passes = rowPasses(n)
  const Xn = xs.subarray(0, Bn), PXn = xs.subarray(Bn, 2 * Bn), f = xs.subarray(2 * Bn, 2 * Bn + B), fPrev = xs.subarray(2 * Bn + B, 2 * Bn + 2 * B)
  steps.set(st.steps)
  f.set(st.f)
  fPrev.set(st.fPrev)
  // per instance: live; per row: γ strictly inside (0, 1), and whether the row stepped (a
  // row that met negative curvature did not: it keeps its state)
  const flags = alloc.u8(B + 2 * m), live = flags.subarray(0, B), inside = flags.subarray(B, B + m), moved = flags.subarray(B + m)
  live.set(st.live)
  let failed = st.failed
  if (m < B) {
    for (let b = 0; b < B; b++) {
      if (slot[b] !== -1) continue
      const o = b * n
      for (let i = 0; i < n; i++) { Xn[o + i] = X[o + i]!; PXn[o + i] = PX[o + i]! }
    }
  }
  // a row that met negative curvature (confirmed by checkCurvature) does not step: its
  // instance stops with the error, and the row keeps its state
  const fail = (j: number, upu: number): boolean => {
    const b = rows[j]!, o = b * n
    const err = curvatureError(th, b, upu, S, j * n, X, o)
    if (err === undefined) return false
    if (failed === st.failed) failed = st.failed.slice()
    ;(failed as (NegativeCurvatureError | undefined)[])[b] = err
    live[b] = 0
    for (let i = 0; i < n; i++) { Xn[o + i] = X[o + i]!; PXn[o + i] = PX[o + i]! }
    return true
  }
  // the head, the product and γ, uᵀP u for the curvature check, the update, the objective
  // (certificateAt's sum, in its order) and the stop test, row by row: in one pass per
  // row where one dense P at n < 16 serves every row, else pass by pass (the same numbers)
  const A = cfg.products.small
  if (A !== undefined && passes.stepShared !== undefined) {
    passes.stepShared(m, rows, beta, A, PX, Q, R, X, E, S, PS, gu, uu, Ls, cfg.floor, Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, fail, cfg.go)
  } else {
    passes.head(m, rows, beta, PX, Q, R, X, E, S, gu, uu)
    cfg.products.apply(rows, m, S, PS)
    passes.update(m, rows, gu, uu, Ls, cfg.floor, S, PS, X, PX, Q, Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, fail, cfg.go)
  }
  const next: BatchState<B, N> = {
    x: { rows: th.B, cols: th.n, data: Xn }, px: { rows: th.B, cols: th.n, data: PXn },
    k: st.k + 1, steps, f, fPrev, live, failed
  }
  const data: StepData = { n, beta, m, rows, slot, moved, E, S, PS, X, PX, Q, R, IW: th.iw, L: Ls, gamma, inside, num, den, k: st.k, dense: cfg.dense, products: cfg.products }
  return [next, data]
}

/** The NegativeCurvatureError of instance b's step, when `checkCurvature` confirms it. */
const curvatureError = <B, N>(th: BatchTheta<B, N>, b: number, upu: number, S: Float64Array, e: number, X: Float64Array, o: number): NegativeCurvatureError | undefined => {
  const n = th.n as number, u = new Float64Array(n)
  for (let i = 0; i < n; i++) u[i] = S[e + i]! - X[o + i]!
  try {
    checkCurvature({ P: th.P[b]! } as Params<N>, upu, undefined, u)
  } catch (err) {
    if (err instanceof NegativeCurvatureError) return err
    throw err
  }
  return undefined
}

// -------------------------------------------------------------------------------------
// the linear map
// -------------------------------------------------------------------------------------

/**
 * What one step keeps for its linear map: the step's own arrays (rows compacted by
 * `rows`, `m` of them; `slot[b]` is b's row or −1), the state it stepped from (`X`, `PX`)
 * and θ's arrays (views, never copies).
 *
 * @example
 * const [, d] = paperL1StepInto(cfg, theta, s0, freshArrays)
 * d.gamma[0] // the step size of row 0 (instance d.rows[0])
 */
export interface StepData {
  readonly n: number
  readonly beta: number
  readonly m: number
  readonly rows: Int32Array
  readonly slot: Int32Array
  readonly moved: Uint8Array
  readonly E: Float64Array
  readonly S: Float64Array
  readonly PS: Float64Array
  readonly X: Float64Array
  readonly PX: Float64Array
  readonly Q: Float64Array
  readonly R: Float64Array
  readonly IW: Float64Array
  readonly L: Float64Array
  readonly gamma: Float64Array
  readonly inside: Uint8Array
  readonly num: Float64Array
  readonly den: Float64Array
  readonly k: number
  readonly dense: Uint8Array
  readonly products: BatchProducts
}

type StepIn<B, N> = readonly [BatchTheta<B, N>, BatchState<B, N>]

/**
 * A step's linear map from what it kept: the tangent map and the transpose of
 * {@link paperL1BatchStep}'s step.
 *
 * @example
 * const lin = stepLinear<B, N>(d)
 * lin.fwd([dTheta, dState])
 */
export const stepLinear = <B, N>(d: StepData): Linear<StepIn<B, N>, BatchState<B, N>> => ({
  fwd: (t) => stepFwd<B, N>(d, t),
  bwd: (c) => stepBwd<B, N>(d, c)
})

/** The positions p of the selection whose instance moved in this step, and their rows. */
const movedIn = (d: StepData, sel: Int32Array): { readonly pos: Int32Array; readonly at: Int32Array } => {
  const pos = new Int32Array(sel.length), at = new Int32Array(sel.length)
  const c = movedInto(d, sel, pos, at)
  return { pos: pos.subarray(0, c), at: at.subarray(0, c) }
}

/** The tangent map: (dθ, dx, dPx) ↦ (dx', dPx') over the tangent's selection. */
const stepFwd = <B, N>(d: StepData, t: Tan<StepIn<B, N>>): Tan<BatchState<B, N>> => {
  if (t === Zero) return Zero
  const [dp0, ds0] = t as unknown as readonly [BatchThetaTan<N> | Zero, BatchStateTan | Zero]
  if (ds0 === Zero) throw new Error('batched tangent without a selection')
  const sel = ds0.sel, ns = sel.length, n = d.n, beta = d.beta
  const dp: BatchThetaTan<N> = dp0 === Zero ? {} : dp0
  const Z = zerosView(ns * n)
  const dq = dp.q ?? Z, dw = dp.w ?? Z, dx = ds0.x ?? Z, dpx = ds0.px ?? Z
  const dtv = dp.t
  const { pos, at } = movedIn(d, sel)
  const ma = pos.length
  const dxn = f64(ns * n), dpxn = f64(ns * n)
  // instances that did not move pass their tangent through
  if (ma < ns) {
    const mv = new Uint8Array(ns)
    for (let a = 0; a < ma; a++) mv[pos[a]!] = 1
    for (let p = 0; p < ns; p++) {
      if (mv[p] === 1) continue
      for (let i = 0; i < n; i++) { dxn[p * n + i] = dx[p * n + i]!; dpxn[p * n + i] = dpx[p * n + i]! }
    }
  }
  const { E, S, PS, X, PX, Q, R, IW } = d
  const DS = f64(ma * n), DPS = f64(ma * n), rowsOf = new Int32Array(ma)
  const dgu = f64(ma), udu = f64(ma)
  const passes = rowPasses(n)
  passes.fwdHead(ma, pos, at, d.rows, beta, dtv, dq, dw, dx, dpx, E, S, X, PX, Q, R, IW, dxn, DS, dgu, udu, rowsOf)
  d.products.apply(rowsOf, ma, DS, DPS)
  // P's tangent: dPs = P dS + dP s
  if (dp.P !== undefined) {
    for (let a = 0; a < ma; a++) {
      const dP = dp.P[pos[a]!]
      if (dP === undefined) continue
      const A = dP.data, e = at[a]! * n, an = a * n
      for (let i = 0; i < n; i++) { let v = 0; for (let c = 0; c < n; c++) v += A[i * n + c]! * S[e + c]!; DPS[an + i] = DPS[an + i]! + v }
    }
  }
  passes.fwdTail(ma, pos, at, d.rows, d.gamma, d.num, d.den, d.inside, d.L, dgu, udu, dx, dpx, S, X, PS, PX, DS, DPS, dxn, dpxn)
  const out: BatchStateTan = { sel, x: dxn, px: dpxn }
  return out as unknown as Tan<BatchState<B, N>>
}


/**
 * Where the transpose of one step writes: θ's cotangent (`q`, `w`: |sel| × n; `t`: |sel|),
 * set for the moved instances (−0 for the others) or, with `accumulate`, added into (the
 * others untouched: x + −0 = x, so a sum started at −0 is bitwise the fold's sum of the
 * steps' cotangents); the state's cotangent (`cx`, `cpx`: |sel| × n, never the input's
 * arrays; `pxSet` may be the input's); scratch `CS` (≥ |sel|·n), `cgamma` (≥ |sel|) and
 * `tmp` (≥ 2n); and `CPS` (≥ moved·n), which P's terms keep.
 *
 * @example
 * const out: StepBwdOut = { accumulate: true, q, w, t, cx, cpx, pxSet, CPS, CS, cgamma, tmp, rowsOf, mark, ints: freshArrays.i32 }
 */
export interface StepBwdOut {
  readonly accumulate: boolean
  readonly q: Float64Array
  readonly w: Float64Array
  readonly t: Float64Array
  readonly cx: Float64Array
  readonly cpx: Float64Array
  readonly pxSet: Uint8Array
  readonly CPS: Float64Array
  readonly CS: Float64Array
  readonly cgamma: Float64Array
  readonly tmp: Float64Array
  readonly rowsOf: Int32Array
  readonly mark: Uint8Array
  readonly ints: (len: number) => Int32Array
  /**
   * Where the rows of s that P's terms read go (≥ moved·n; row k for the k-th term), when
   * the terms must outlive the step's arrays (the tape's slabs go back to the pool); the
   * terms then read them there. Without it they read the step's S.
   */
  readonly SV?: Float64Array
  /**
   * Which of θ's cotangents the caller needs beyond q's (all when absent): without `wt`
   * the accumulating transpose leaves w's and t's arrays untouched (`TAIL_Q`), without
   * `P` it keeps no terms of P's cotangent. q's and the state's are the same numbers.
   */
  readonly wants?: Wants
}

/** Zero flags of each length (a P none of whose instances keeps terms). */
const noDense = new Map<number, Uint8Array>()
const noDenseOf = (len: number): Uint8Array => {
  let z = noDense.get(len)
  if (z === undefined) { z = new Uint8Array(len); noDense.set(len, z) }
  return z
}

/** The transpose: (c_x', c_Px') ↦ (c_θ, c_x, c_Px) over the cotangent's selection. */
const stepBwd = <B, N>(d: StepData, c: Tan<BatchState<B, N>>): Tan<StepIn<B, N>> => {
  if (c === Zero) return Zero
  const cin = c as unknown as BatchStateTan
  const sel = cin.sel, ns = sel.length, n = d.n
  const Z = zerosView(ns * n)
  const { pos, at } = movedIn(d, sel)
  const ma = pos.length
  // one block: θ's cotangent (q, w: ns × n; t: ns), the state's (x, Px: ns × n), and per
  // moved row c_{Ps}, c_s (ma × n) and c_γ, and two rows of scratch
  const nsn = ns * n, man = ma * n, blk = f64(4 * nsn + ns + 2 * man + ma + 2 * n)
  const cq = blk.subarray(0, nsn), cw = blk.subarray(nsn, 2 * nsn), ct = blk.subarray(2 * nsn, 2 * nsn + ns)
  const cxo = blk.subarray(2 * nsn + ns, 3 * nsn + ns), cpx = blk.subarray(3 * nsn + ns, 4 * nsn + ns)
  const CPS = blk.subarray(4 * nsn + ns, 4 * nsn + ns + man), CS = blk.subarray(4 * nsn + ns + man, 4 * nsn + ns + 2 * man)
  const cgamma = blk.subarray(4 * nsn + ns + 2 * man, 4 * nsn + ns + 2 * man + ma), tmp = blk.subarray(4 * nsn + ns + 2 * man + ma)
  const pxSet = cin.pxSet === undefined ? new Uint8Array(ns) : Uint8Array.from(cin.pxSet)
  const out: StepBwdOut = { accumulate: false, q: cq, w: cw, t: ct, cx: cxo, cpx, pxSet, CPS, CS, cgamma, tmp, rowsOf: new Int32Array(ma), mark: new Uint8Array(ns), ints: freshArrays.i32 }
  const term = stepBwdInto(d, sel, cin.x ?? Z, cin.px ?? Z, pos, at, ma, out)
  const Pterms: Record<string, OuterTerms> = term === undefined ? {} : { [`s${d.k}`]: term }
  const cth: BatchThetaCotan = { q: { data: cq }, w: { data: cw }, t: { data: ct }, Pterms }
  const cst: BatchStateTan = { sel, x: cxo, px: cpx, pxSet }
  return [cth, cst] as unknown as Tan<StepIn<B, N>>
}

/**
 * The positions of `sel` whose instance moved in step d (into `pos`, their rows into
 * `at`); returns how many.
 *
 * @example
 * const ma = movedInto(d, sel, pos, at)
 */
export const movedInto = (d: StepData, sel: Int32Array, pos: Int32Array, at: Int32Array): number => {
  let a = 0
  for (let p = 0; p < sel.length; p++) {
    const j = d.slot[sel[p]!]!
    if (j >= 0 && d.moved[j] === 1) { pos[a] = p; at[a] = j; a++ }
  }
  return a
}

/**
 * The transpose of step d for the cotangent (cxa, cpa) of the selection `sel` (the moved
 * positions `pos`, their rows `at`, `ma` of them), written into `o` (see
 * {@link StepBwdOut}); returns the step's terms of P's cotangent, if it has any. The input
 * arrays are only read (`o.pxSet` may be the input's `pxSet`: it is read before it is set).
 *
 * @example
 * const term = stepBwdInto(d, sel, cx, cpx, pos, at, ma, out)
 */
export const stepBwdInto = (d: StepData, sel: Int32Array, cxa: Float64Array, cpa: Float64Array, pos: Int32Array, at: Int32Array, ma: number, o: StepBwdOut): OuterTerms | undefined => {
  const ns = sel.length, n = d.n, beta = d.beta, acc = o.accumulate
  const dense = o.wants?.P === false ? noDenseOf(d.dense.length) : d.dense
  const mode = !acc ? 0 : o.wants?.wt === false ? TAIL_Q : 1
  const { q: cq, w: cw, t: ct, cx: cxo, cpx, pxSet, CPS, CS, cgamma } = o
  if (ma < ns) {
    // θ's cotangent is −0 where an instance did not move (the fold's sum then keeps its
    // bits: x + −0 = x); the state's passes through
    const mv = o.mark
    for (let a = 0; a < ma; a++) mv[pos[a]!] = 1
    for (let p = 0; p < ns; p++) {
      if (mv[p] === 1) { mv[p] = 0; continue }
      const tp = p * n
      if (!acc) { for (let i = 0; i < n; i++) { cq[tp + i] = -0; cw[tp + i] = -0 } ct[p] = -0 }
      for (let i = 0; i < n; i++) { cxo[tp + i] = cxa[tp + i]!; cpx[tp + i] = cpa[tp + i]! }
    }
  }
  const { E, S, PS, X, PX, Q, R, IW } = d
  // through x' = x + γu and Px' = Px + γ(Ps − Px)
  const rowsOf = o.rowsOf.subarray(0, ma)
  const passes = rowPasses(n)
  const A = d.products.small, shared = A !== undefined ? passes.bwdShared : undefined
  // P's terms γ c_{Ps} ⊗ s (dense P, γ ≠ 0, and a cotangent of P x that a later step wrote),
  // counted from the flags before the tail sets pxSet
  let terms = 0
  if (shared !== undefined) {
    for (let a = 0; a < ma; a++) if (dense[d.rows[at[a]!]!] === 1 && d.gamma[at[a]!] !== 0 && pxSet[pos[a]!] === 1) terms++
  } else {
    terms = passes.bwdHead(ma, pos, at, d.rows, d.gamma, cxa, cpa, S, X, PS, PX, CPS, cgamma, rowsOf, dense, pxSet)
    // through Ps = P s
    d.products.applyT(rowsOf, ma, CPS, CS)
  }
  const tints = o.ints(3 * terms), tpos = tints.subarray(0, terms), uRow = tints.subarray(terms, 2 * terms), vRow = tints.subarray(2 * terms)
  for (let a = 0, k = 0; a < ma; a++) {
    const p = pos[a]!, j = at[a]!, b = d.rows[j]!
    if (dense[b] === 1 && d.gamma[j] !== 0 && pxSet[p] === 1) { tpos[k] = p; uRow[k] = a; vRow[k] = j; k++ }
  }
  // through γ = num/den (inside the interval only), num = −gᵀu, den = L uᵀu; then u = s − x,
  // s = −r⊙sign(h)⊙e, e = softmax(β|h|), h = g⊙r, r = t/w, g = Px + q: after the head and
  // Pᵀ above, or with them in one pass per row where one dense P at n < 16 serves every row
  const SV = terms === 0 ? undefined : o.SV
  if (shared !== undefined) shared[mode](ma, pos, at, d.rows, d.gamma, d.num, d.den, d.inside, d.L, beta, A!, cxa, cpa, E, S, X, PS, PX, Q, R, IW, CPS, rowsOf, cq, cw, ct, cxo, cpx, pxSet, dense, SV)
  else {
    // the terms' rows of s, copied where they must outlive the step's arrays
    if (SV !== undefined) {
      for (let k = 0; k < terms; k++) {
        const so = vRow[k]! * n, o = k * n
        for (let c = 0; c < n; c++) SV[o + c] = S[so + c]!
      }
    }
    passes.bwdTail[mode](ma, pos, at, d.rows, d.gamma, d.num, d.den, d.inside, cgamma, d.L, beta, cxa, cpa, E, S, X, PX, Q, R, IW, CS, cq, cw, ct, cxo, cpx, pxSet, o.tmp)
  }
  if (terms === 0) return undefined
  if (SV === undefined) return { k: d.k, pos: tpos, u: CPS.subarray(0, ma * n), uRow, v: S, vRow }
  for (let k = 0; k < terms; k++) vRow[k] = k
  return { k: d.k, pos: tpos, u: CPS.subarray(0, ma * n), uRow, v: SV.subarray(0, terms * n), vRow }
}
