/**
 * The per-row passes of the batched paper step on l1 (`PaperL1.ts`): the step's passes
 * before and after its product P s, and its transpose's before and after Pᵀ c_{Ps}. Each
 * is a loop over rows of n entries ({@link rowLoops}); below n = 16 the batch runs them as
 * code generated once per n (`Codegen.ts`, {@link rowPasses}): each row spelled out, its
 * entries in locals across the passes (g = Px + q, r, sign(h), e, …, each computed by the
 * expression the loops compute it by), the loops' operations in the loops' order, so
 * every result is the loops' number bitwise, zeros' signs and NaN included. The loops
 * re-load those values from the arrays in every pass and keep their own bookkeeping,
 * which at n = 10 costs more than the arithmetic. Where the WebAssembly kernel `exp` runs
 * (simd.ts, bitwise Math.exp), the head is split around it: a and amax for all live rows,
 * one call for their exponentials, then z (summed in the same order) and the rest (block
 * by block of rows beyond 4096 entries).
 *
 * Notation as in `PaperL1.ts`: g = Px + q, r = t/w, h = g⊙r, e = softmax(β|h|),
 * s = −r⊙sign(h)⊙e, u = s − x; rows of the step's arrays (E, S, PS, …) are compacted
 * (row j belongs to instance `rows[j]`), θ's and the state's are by instance, the
 * cotangents' by selection position (`pos[a]`, moved row `at[a]`).
 *
 * @since 0.1.0
 */
import { expInto, expKernelOn } from '../../core/simd.js'
import { generatedKernels, SMALL_N } from './Codegen.js'
import { smallEntry, smallLoops } from './Products.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The step's passes before its product, for the m live rows: E ← e, S ← s, and per row
 * gu ← gᵀu, uu ← uᵀu.
 *
 * @example
 * passes.head(m, rows, beta, PX, Q, R, X, E, S, gu, uu)
 */
export type HeadPass = (
  m: number, rows: Int32Array, beta: number, PX: Float64Array, Q: Float64Array, R: Float64Array, X: Float64Array,
  E: Float64Array, S: Float64Array, gu: Float64Array, uu: Float64Array
) => void

/**
 * The step's update after its product, for the m live rows: γ from num = −gᵀu and den =
 * L uᵀu as the traced step takes it (constant at the clamps, the ratio inside), then in one
 * pass x' = x + γu into Xn, Px' = Px + γ(Ps − Px) into PXn, uᵀ(Ps − Px) (the curvature
 * check's uᵀPu) and x'ᵀ(½Px' + q) (`certificateAt`'s sum, in its order); a row whose uᵀPu
 * is below −floor·uᵀu is offered to `fail(j, uᵀPu)`, which, when it confirms the negative
 * curvature, has restored the row and stopped its instance (the row then keeps its step's
 * numbers 0). Every other row sets γ, `inside`, num, den, `moved`, its instance's steps,
 * f, f_prev, and `live` by `go(f, f_prev, steps)`.
 *
 * @example
 * passes.update(m, rows, gu, uu, Ls, floor, S, PS, X, PX, Q, Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, fail, go)
 */
export type UpdatePass = (
  m: number, rows: Int32Array, gu: Float64Array, uu: Float64Array, Ls: Float64Array, floor: Float64Array,
  S: Float64Array, PS: Float64Array, X: Float64Array, PX: Float64Array, Q: Float64Array, Xn: Float64Array, PXn: Float64Array,
  gamma: Float64Array, inside: Uint8Array, num: Float64Array, den: Float64Array, moved: Uint8Array,
  steps: Int32Array, f: Float64Array, fPrev: Float64Array, live: Uint8Array,
  fail: (j: number, upu: number) => boolean, go: (f: number, fPrev: number, k: number) => boolean
) => void

/**
 * The transpose's pass before Pᵀ, for the ma moved rows: per row c_γ ← ⟨c_x', u⟩ +
 * ⟨c_Px', Ps − Px⟩, CPS ← γ c_Px' (row a), `rowsOf[a]` ← the row's instance; returns how
 * many rows have a term of P's cotangent (dense P, γ ≠ 0, `pxSet`).
 *
 * @example
 * const terms = passes.bwdHead(ma, pos, at, rows, gamma, cxa, cpa, S, X, PS, PX, CPS, cgamma, rowsOf, dense, pxSet)
 */
export type BwdHeadPass = (
  ma: number, pos: Int32Array, at: Int32Array, rows: Int32Array, gamma: Float64Array, cxa: Float64Array, cpa: Float64Array,
  S: Float64Array, X: Float64Array, PS: Float64Array, PX: Float64Array, CPS: Float64Array, cgamma: Float64Array, rowsOf: Int32Array,
  dense: Uint8Array, pxSet: Uint8Array
) => number

/**
 * The transpose's pass after Pᵀ (CS holds Pᵀ c_{Ps}, cgamma the head's c_γ), for the ma moved rows: through
 * γ = num/den, u = s − x, s = −r⊙sign(h)⊙e and e = softmax(β|h|) to θ's cotangent (q, w,
 * t: set, or added into for the accumulating pass) and the state's (cxo, cpx); `pxSet[p]`
 * ← 1. CS and `tmp` (≥ 2n) are scratch.
 *
 * @example
 * passes.bwdTail[1](ma, pos, at, rows, gamma, num, den, inside, cgamma, Ls, beta, cxa, cpa, E, S, X, PX, Q, R, IW, CS, cq, cw, ct, cxo, cpx, pxSet, tmp)
 */
export type BwdTailPass = (
  ma: number, pos: Int32Array, at: Int32Array, rows: Int32Array, gamma: Float64Array, num: Float64Array, den: Float64Array, inside: Uint8Array,
  cgamma: Float64Array, Ls: Float64Array, beta: number, cxa: Float64Array, cpa: Float64Array, E: Float64Array, S: Float64Array, X: Float64Array, PX: Float64Array,
  Q: Float64Array, R: Float64Array, IW: Float64Array, CS: Float64Array, cq: Float64Array, cw: Float64Array, ct: Float64Array,
  cxo: Float64Array, cpx: Float64Array, pxSet: Uint8Array, tmp: Float64Array
) => void

/**
 * The tangent map's pass before P dS, for the ma moved rows (tangents by selection
 * position; `dtv` undefined is dt = 0): dS ← ds (row a), per row dgu ← d(gᵀu) without its
 * P dS term and udu ← uᵀdu, `rowsOf[a]` ← the row's instance. `dxn` is scratch until the
 * tail writes it.
 *
 * @example
 * passes.fwdHead(ma, pos, at, rows, beta, dtv, dq, dw, dx, dpx, E, S, X, PX, Q, R, IW, dxn, DS, dgu, udu, rowsOf)
 */
export type FwdHeadPass = (
  ma: number, pos: Int32Array, at: Int32Array, rows: Int32Array, beta: number, dtv: Float64Array | undefined,
  dq: Float64Array, dw: Float64Array, dx: Float64Array, dpx: Float64Array, E: Float64Array, S: Float64Array, X: Float64Array,
  PX: Float64Array, Q: Float64Array, R: Float64Array, IW: Float64Array, dxn: Float64Array, DS: Float64Array,
  dgu: Float64Array, udu: Float64Array, rowsOf: Int32Array
) => void

/**
 * The tangent map's pass after P dS (DPS holds P dS, plus dP s where P has a tangent), for
 * the ma moved rows: dγ, then dx' = dx + dγ u + γ(ds − dx) into dxn and
 * dPx' = dPx + dγ(Ps − Px) + γ(dPs − dPx) into dpxn.
 *
 * @example
 * passes.fwdTail(ma, pos, at, rows, gamma, num, den, inside, Ls, dgu, udu, dx, dpx, S, X, PS, PX, DS, DPS, dxn, dpxn)
 */
export type FwdTailPass = (
  ma: number, pos: Int32Array, at: Int32Array, rows: Int32Array, gamma: Float64Array, num: Float64Array, den: Float64Array,
  inside: Uint8Array, Ls: Float64Array, dgu: Float64Array, udu: Float64Array, dx: Float64Array, dpx: Float64Array,
  S: Float64Array, X: Float64Array, PS: Float64Array, PX: Float64Array, DS: Float64Array, DPS: Float64Array,
  dxn: Float64Array, dpxn: Float64Array
) => void

/**
 * The step with one dense P that every live row shares (`A`, n × n; `PaperL1.ts` uses it
 * where the products have one, `BatchProducts.small`): the head, the product Ps = A s
 * and the update in one pass over each row (the row's g, s, u, x and Px in locals from
 * the head to the update), block by block of rows around the kernel `exp` as the split
 * head goes. The same numbers as {@link HeadPass}, the small product and
 * {@link UpdatePass} in turn: the product's sums are the small kernels' ({@link smallEntry}).
 *
 * @example
 * passes.stepShared!(m, rows, beta, A, PX, Q, R, X, E, S, PS, gu, uu, Ls, floor, Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, fail, go)
 */
export type StepSharedPass = (
  m: number, rows: Int32Array, beta: number, A: Float64Array, PX: Float64Array, Q: Float64Array, R: Float64Array, X: Float64Array,
  E: Float64Array, S: Float64Array, PS: Float64Array, gu: Float64Array, uu: Float64Array, Ls: Float64Array, floor: Float64Array,
  Xn: Float64Array, PXn: Float64Array, gamma: Float64Array, inside: Uint8Array, num: Float64Array, den: Float64Array, moved: Uint8Array,
  steps: Int32Array, f: Float64Array, fPrev: Float64Array, live: Uint8Array,
  fail: (j: number, upu: number) => boolean, go: (f: number, fPrev: number, k: number) => boolean
) => void

/**
 * The transpose with one dense P that every moved row shares (`A`): {@link BwdHeadPass},
 * the product Aᵀ c_{Ps} and {@link BwdTailPass} in one pass over each row, the same
 * numbers (CPS ← γ c_Px' as the head writes it; c_γ and Pᵀ c_{Ps} stay in locals, so
 * `cgamma`, CS and `tmp` are not written). The generated pass reads s from E (s =
 * −r⊙sign(h)⊙e, the step's own expression, so S's numbers) instead of S. With `SV`, the
 * rows of s that P's terms read (dense P, γ ≠ 0, `pxSet`, in the order of the moved rows)
 * are written into it, row k for the k-th term; the caller counts the terms before the
 * pass sets `pxSet`.
 *
 * @example
 * passes.bwdShared![1](ma, pos, at, rows, gamma, num, den, inside, Ls, beta, A, cxa, cpa, E, S, X, PS, PX, Q, R, IW, CPS, rowsOf, cq, cw, ct, cxo, cpx, pxSet, dense, SV)
 */
export type BwdSharedPass = (
  ma: number, pos: Int32Array, at: Int32Array, rows: Int32Array, gamma: Float64Array, num: Float64Array, den: Float64Array, inside: Uint8Array,
  Ls: Float64Array, beta: number, A: Float64Array, cxa: Float64Array, cpa: Float64Array, E: Float64Array, S: Float64Array, X: Float64Array,
  PS: Float64Array, PX: Float64Array, Q: Float64Array, R: Float64Array, IW: Float64Array, CPS: Float64Array, rowsOf: Int32Array,
  cq: Float64Array, cw: Float64Array, ct: Float64Array, cxo: Float64Array, cpx: Float64Array, pxSet: Uint8Array,
  dense: Uint8Array, SV: Float64Array | undefined
) => void

/**
 * Which cotangents of θ a transpose pass writes, and how: `0` sets q's, w's and t's, `1`
 * adds into them, `2` adds into q's alone (w's and t's arrays are not touched: for a
 * caller that asks for q's gradient only). The state's cotangent and q's are the same
 * numbers in every mode.
 *
 * @example
 * passes.bwdTail[TAIL_Q](ma, pos, at, rows, gamma, num, den, inside, cgamma, Ls, beta, cxa, cpa, E, S, X, PX, Q, R, IW, CS, cq, cw, ct, cxo, cpx, pxSet, tmp)
 */
export type TailMode = 0 | 1 | 2

/**
 * The {@link TailMode} that adds into q's cotangent alone.
 *
 * @example
 * passes.bwdTail[TAIL_Q] // the accumulating tail without w and t
 */
export const TAIL_Q = 2

/**
 * The passes of one n: `bwdTail[mode]` and `bwdShared[mode]` by {@link TailMode} (`0`
 * sets θ's cotangent, `1` adds into it, `2` adds into q's alone).
 *
 * @example
 * const passes: RowPasses = rowPasses(10)
 */
export interface RowPasses {
  readonly head: HeadPass
  readonly update: UpdatePass
  readonly bwdHead: BwdHeadPass
  readonly bwdTail: readonly [BwdTailPass, BwdTailPass, BwdTailPass]
  readonly fwdHead: FwdHeadPass
  readonly fwdTail: FwdTailPass
  /** The fused step for a shared dense P, at n < 16 where the kernel `exp` runs. */
  readonly stepShared?: StepSharedPass
  /** The fused transpose for a shared dense P at n < 16, by {@link TailMode}. */
  readonly bwdShared?: readonly [BwdSharedPass, BwdSharedPass, BwdSharedPass]
}

// -------------------------------------------------------------------------------------
// the loops
// -------------------------------------------------------------------------------------

/**
 * sign(v), 0 at ±0 and NaN: `StepTangent.sgn`'s values exactly, without a branch (the
 * signs of g are random, and a mispredicted branch per entry cost about 12 ns here).
 */
const sgn = (v: number): number => +(v > 0) - +(v < 0)

/**
 * The head's end for row j (E holding the row's exponentials, z their sum): the
 * probabilities E ← E/z, the vertex S, and gᵀu, uᵀu into gu[j], uu[j]; the single pass
 * and the split one end alike.
 */
const headRowEnd = (
  n: number, j: number, o: number, e: number, z: number, PX: Float64Array, Q: Float64Array, R: Float64Array,
  X: Float64Array, E: Float64Array, S: Float64Array, gu: Float64Array, uu: Float64Array
): void => {
  let gub = 0, uub = 0
  for (let i = 0; i < n; i++) {
    const gi = PX[o + i]! + Q[o + i]!, ri = R[o + i]!
    const ei = E[e + i]! / z
    E[e + i] = ei
    const si = -ri * sgn(gi * ri) * ei
    S[e + i] = si
    const ui = si - X[o + i]!
    gub += gi * ui
    uub += ui * ui
  }
  gu[j] = gub
  uu[j] = uub
}

const headLoop = (n: number): HeadPass => (m, rows, beta, PX, Q, R, X, E, S, gu, uu) => {
  for (let j = 0; j < m; j++) {
    const o = rows[j]! * n, e = j * n
    let amax = -Infinity
    for (let i = 0; i < n; i++) {
      const a = beta * Math.abs((PX[o + i]! + Q[o + i]!) * R[o + i]!)
      E[e + i] = a
      if (a > amax) amax = a
    }
    let z = 0
    for (let i = 0; i < n; i++) { const v = Math.exp(E[e + i]! - amax); E[e + i] = v; z += v }
    headRowEnd(n, j, o, e, z, PX, Q, R, X, E, S, gu, uu)
  }
}

/**
 * {@link headLoop} split around its exponentials, for the kernel `exp`: the first part
 * leaves E = a − amax (row by row, the loop's a and amax), {@link splitHead} takes the
 * exponentials of all m rows at once, the second part sums z over each row in the loop's
 * order and goes on as the loop does.
 */
const headPreLoop = (n: number): HeadPart => (j0, j1, rows, beta, PX, Q, R, _X, E) => {
  for (let j = j0; j < j1; j++) {
    const o = rows[j]! * n, e = j * n
    let amax = -Infinity
    for (let i = 0; i < n; i++) {
      const a = beta * Math.abs((PX[o + i]! + Q[o + i]!) * R[o + i]!)
      E[e + i] = a
      if (a > amax) amax = a
    }
    for (let i = 0; i < n; i++) E[e + i] = E[e + i]! - amax
  }
}

const headPostLoop = (n: number): HeadPart => (j0, j1, rows, _beta, PX, Q, R, X, E, S, gu, uu) => {
  for (let j = j0; j < j1; j++) {
    const o = rows[j]! * n, e = j * n
    let z = 0
    for (let i = 0; i < n; i++) z += E[e + i]!
    headRowEnd(n, j, o, e, z, PX, Q, R, X, E, S, gu, uu)
  }
}

/** {@link HeadPass}'s parts, over the live rows j0 ≤ j < j1. */
type HeadPart = (
  j0: number, j1: number, rows: Int32Array, beta: number, PX: Float64Array, Q: Float64Array, R: Float64Array, X: Float64Array,
  E: Float64Array, S: Float64Array, gu: Float64Array, uu: Float64Array
) => void

/**
 * Entries of E per block of rows in {@link splitHead}: a block's rows of the six arrays the
 * parts read and write (32 KiB each) stay in L2 from the first part to the second.
 */
const EXP_BLOCK = 4096

/**
 * The head from its two parts, block by block of rows (all m rows at once up to
 * {@link EXP_BLOCK} entries): `pre`, the exponentials of the block's entries of E in one
 * call ({@link expInto}), `post`. Rows are independent, so the blocks change nothing but
 * where the data is.
 */
const splitHead = (n: number, pre: HeadPart, post: HeadPart): HeadPass => {
  const rb = Math.max(1, Math.floor(EXP_BLOCK / n))
  return (m, rows, beta, PX, Q, R, X, E, S, gu, uu) => {
    for (let j0 = 0; j0 < m; j0 += rb) {
      const j1 = Math.min(m, j0 + rb)
      pre(j0, j1, rows, beta, PX, Q, R, X, E, S, gu, uu)
      expInto(E, E, (j1 - j0) * n, j0 * n)
      post(j0, j1, rows, beta, PX, Q, R, X, E, S, gu, uu)
    }
  }
}

/** {@link updateLoop}'s row j (see {@link UpdatePass}). */
const updateRow = (
  n: number, j: number, rows: Int32Array, gu: Float64Array, uu: Float64Array, Ls: Float64Array, floor: Float64Array,
  S: Float64Array, PS: Float64Array, X: Float64Array, PX: Float64Array, Q: Float64Array, Xn: Float64Array, PXn: Float64Array,
  gamma: Float64Array, inside: Uint8Array, num: Float64Array, den: Float64Array, moved: Uint8Array,
  steps: Int32Array, f: Float64Array, fPrev: Float64Array, live: Uint8Array,
  fail: (j: number, upu: number) => boolean, go: (f: number, fPrev: number, k: number) => boolean
): void => {
  const b = rows[j]!, o = b * n, e = j * n
  const nu = -gu[j]!, de = Ls[b]! * uu[j]!
  // γ as the traced step takes it: constant at the clamps (derivative 0), the ratio inside
  let g: number, ins = 0
  if (!(de > 0) || !Number.isFinite(nu / de)) g = nu > 0 ? 1 : 0
  else if (nu / de >= 1) g = 1
  else if (nu / de > 0) { g = nu / de; ins = 1 } else g = 0
  let upu = 0, fb = 0
  for (let i = 0; i < n; i++) {
    const su = S[e + i]! - X[o + i]!, pd = PS[e + i]! - PX[o + i]!
    upu += su * pd
    const xi = X[o + i]! + g * su
    const pi = PX[o + i]! + g * pd
    Xn[o + i] = xi
    PXn[o + i] = pi
    fb += xi * (0.5 * pi + Q[o + i]!)
  }
  if (upu < -floor[b]! * uu[j]! && fail(j, upu)) return
  gamma[j] = g; inside[j] = ins; num[j] = nu; den[j] = de
  moved[j] = 1
  steps[b] = steps[b]! + 1
  fPrev[b] = f[b]!
  f[b] = fb
  if (!go(fb, fPrev[b]!, steps[b]!)) live[b] = 0
}

const updateLoop = (n: number): UpdatePass => (m, rows, gu, uu, Ls, floor, S, PS, X, PX, Q, Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, fail, go) => {
  for (let j = 0; j < m; j++) updateRow(n, j, rows, gu, uu, Ls, floor, S, PS, X, PX, Q, Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, fail, go)
}

/** {@link bwdHeadLoop}'s moved row a: CPS's row a, and c_γ (returned). */
const bwdHeadRow = (n: number, a: number, p: number, j: number, b: number, gamma: Float64Array, cxa: Float64Array, cpa: Float64Array,
  S: Float64Array, X: Float64Array, PS: Float64Array, PX: Float64Array, CPS: Float64Array): number => {
  const ob = b * n, e = j * n, tp = p * n, g = gamma[j]!
  let cg = 0
  for (let i = 0; i < n; i++) {
    const av = cxa[tp + i]!, bv = cpa[tp + i]!
    cg += av * (S[e + i]! - X[ob + i]!) + bv * (PS[e + i]! - PX[ob + i]!)
    CPS[a * n + i] = g * bv
  }
  return cg
}

const bwdHeadLoop = (n: number): BwdHeadPass => (ma, pos, at, rows, gamma, cxa, cpa, S, X, PS, PX, CPS, cgamma, rowsOf, dense, pxSet) => {
  let terms = 0
  for (let a = 0; a < ma; a++) {
    const p = pos[a]!, j = at[a]!, b = rows[j]!
    rowsOf[a] = b
    cgamma[a] = bwdHeadRow(n, a, p, j, b, gamma, cxa, cpa, S, X, PS, PX, CPS)
    if (dense[b] === 1 && gamma[j] !== 0 && pxSet[p] === 1) terms++
  }
  return terms
}

/**
 * {@link bwdTailLoop}'s moved row a (c_γ = `cga`; CS's row a holds Pᵀ c_{Ps} and is
 * scratch, `cgs` and `crs` too). The θ cotangent's entries are set, or added into (q's
 * alone in mode 2, {@link TailMode}).
 */
const bwdTailRow = (
  n: number, mode: TailMode, a: number, p: number, j: number, b: number, cga: number, gamma: Float64Array, numA: Float64Array, denA: Float64Array,
  inside: Uint8Array, Ls: Float64Array, beta: number, cxa: Float64Array, cpa: Float64Array, E: Float64Array, S: Float64Array, X: Float64Array,
  PX: Float64Array, Q: Float64Array, R: Float64Array, IW: Float64Array, CS: Float64Array, cq: Float64Array, cw: Float64Array, ct: Float64Array,
  cxo: Float64Array, cpx: Float64Array, cgs: Float64Array, crs: Float64Array
): void => {
  const ob = b * n, e = j * n, tp = p * n, an = a * n, wt = mode !== 2
  const g = gamma[j]!, den = denA[j]!, num = numA[j]!, L = Ls[b]!
  // through γ = num/den (inside the interval only), num = −gᵀu, den = L uᵀu; then
  // u = s − x and s = −r⊙sign(h)⊙e. cgs holds c_g and crs holds c_r until the last loop.
  const cnum = inside[j] === 1 ? cga / den : 0, cden = inside[j] === 1 ? (-cga * num) / (den * den) : 0
  let ece = 0
  for (let i = 0; i < n; i++) {
    const gi = PX[ob + i]! + Q[ob + i]!, ri = R[ob + i]!, sgi = sgn(gi * ri), ui = S[e + i]! - X[ob + i]!, cxi = cxa[tp + i]!
    const cu = g * cxi - cnum * gi + 2 * L * cden * ui
    cgs[i] = -cnum * ui
    const csi = CS[an + i]! + cu
    CS[an + i] = csi
    cxo[tp + i] = cxi - cu
    if (wt) crs[i] = -sgi * E[e + i]! * csi
    ece += E[e + i]! * (-sgi * ri * csi)
  }
  // through e = softmax(β|h|), h = g⊙r, r = t/w, g = Px + q
  let ctb = 0
  if (!wt) {
    for (let i = 0; i < n; i++) {
      const gi = PX[ob + i]! + Q[ob + i]!, ri = R[ob + i]!, sgi = sgn(gi * ri)
      const ca = E[e + i]! * (-sgi * ri * CS[an + i]! - ece)
      const ch = beta * sgi * ca
      const cg = cgs[i]! + ch * ri
      cpx[tp + i] = (1 - g) * cpa[tp + i]! + cg
      cq[tp + i] = cq[tp + i]! + cg
    }
  } else if (mode === 1) {
    for (let i = 0; i < n; i++) {
      const gi = PX[ob + i]! + Q[ob + i]!, ri = R[ob + i]!, iwi = IW[ob + i]!, sgi = sgn(gi * ri)
      const ca = E[e + i]! * (-sgi * ri * CS[an + i]! - ece)
      const ch = beta * sgi * ca
      const cg = cgs[i]! + ch * ri
      const cr = crs[i]! + ch * gi
      ctb += cr * iwi
      cw[tp + i] = cw[tp + i]! + -cr * ri * iwi
      cpx[tp + i] = (1 - g) * cpa[tp + i]! + cg
      cq[tp + i] = cq[tp + i]! + cg
    }
    ct[p] = ct[p]! + ctb
  } else {
    for (let i = 0; i < n; i++) {
      const gi = PX[ob + i]! + Q[ob + i]!, ri = R[ob + i]!, iwi = IW[ob + i]!, sgi = sgn(gi * ri)
      const ca = E[e + i]! * (-sgi * ri * CS[an + i]! - ece)
      const ch = beta * sgi * ca
      const cg = cgs[i]! + ch * ri
      const cr = crs[i]! + ch * gi
      ctb += cr * iwi
      cw[tp + i] = -cr * ri * iwi
      cpx[tp + i] = (1 - g) * cpa[tp + i]! + cg
      cq[tp + i] = cg
    }
    ct[p] = ctb
  }
}

const bwdTailLoop = (n: number, mode: TailMode): BwdTailPass => (ma, pos, at, rows, gamma, numA, denA, inside, cgamma, Ls, beta, cxa, cpa, E, S, X, PX, Q, R, IW, CS, cq, cw, ct, cxo, cpx, pxSet, tmp) => {
  const cgs = tmp.subarray(0, n), crs = tmp.subarray(n, 2 * n)
  for (let a = 0; a < ma; a++) {
    const p = pos[a]!, j = at[a]!, b = rows[j]!
    bwdTailRow(n, mode, a, p, j, b, cgamma[a]!, gamma, numA, denA, inside, Ls, beta, cxa, cpa, E, S, X, PX, Q, R, IW, CS, cq, cw, ct, cxo, cpx, cgs, crs)
    pxSet[p] = 1
  }
}

const fwdHeadLoop = (n: number): FwdHeadPass => (ma, pos, at, rows, beta, dtv, dq, dw, dx, dpx, E, S, X, PX, Q, R, IW, dxn, DS, dgu, udu, rowsOf) => {
  for (let a = 0; a < ma; a++) {
    const p = pos[a]!, j = at[a]!, b = rows[j]!
    rowsOf[a] = b
    const o = b * n, e = j * n, tp = p * n
    const dt = dtv === undefined ? 0 : dtv[p]!
    // da = β sign(h) dh, dh = dg⊙r + g⊙dr with dr = dt/w − t dw/w²; kept in dxn until the tail overwrites it
    let eda = 0
    for (let i = 0; i < n; i++) {
      const gi = PX[o + i]! + Q[o + i]!, ri = R[o + i]!, iwi = IW[o + i]!
      const dgi = dpx[tp + i]! + dq[tp + i]!
      const dri = dt * iwi - ri * dw[tp + i]! * iwi
      const da = beta * sgn(gi * ri) * (dgi * ri + gi * dri)
      dxn[tp + i] = da
      eda += E[e + i]! * da
    }
    let dg = 0, ud = 0
    for (let i = 0; i < n; i++) {
      const gi = PX[o + i]! + Q[o + i]!, ri = R[o + i]!, iwi = IW[o + i]!, sgi = sgn(gi * ri)
      const dgi = dpx[tp + i]! + dq[tp + i]!
      const dri = dt * iwi - ri * dw[tp + i]! * iwi
      const de = E[e + i]! * (dxn[tp + i]! - eda)
      const ds = -sgi * (dri * E[e + i]! + ri * de)
      DS[a * n + i] = ds
      const ui = S[e + i]! - X[o + i]!, du = ds - dx[tp + i]!
      dg += dgi * ui + gi * du
      ud += ui * du
    }
    dgu[a] = dg
    udu[a] = ud
  }
}

const fwdTailLoop = (n: number): FwdTailPass => (ma, pos, at, rows, gamma, numA, denA, inside, Ls, dgu, udu, dx, dpx, S, X, PS, PX, DS, DPS, dxn, dpxn) => {
  for (let a = 0; a < ma; a++) {
    const p = pos[a]!, j = at[a]!, b = rows[j]!
    const o = b * n, e = j * n, tp = p * n, an = a * n
    const g = gamma[j]!, den = denA[j]!, num = numA[j]!, L = Ls[b]!
    const dgamma = inside[j] === 1 ? (-dgu[a]! * den - num * 2 * L * udu[a]!) / (den * den) : 0
    for (let i = 0; i < n; i++) {
      const dpi = dpx[tp + i]!, dxi = dx[tp + i]!
      dxn[tp + i] = dxi + dgamma * (S[e + i]! - X[o + i]!) + g * (DS[an + i]! - dxi)
      dpxn[tp + i] = dpi + dgamma * (PS[e + i]! - PX[o + i]!) + g * (DPS[an + i]! - dpi)
    }
  }
}

/**
 * The fused step's part after the exponentials, as loops: for each row j0 ≤ j < j1 the
 * head's end, its row of A s (`smallLoops`) and its update, the passes' own code.
 */
const stepSharedTailLoop = (n: number): StepSharedTail => (j0, j1, rows, PX, Q, R, X, E, S, A, PS, gu, uu, Ls, floor, Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, fail, go) => {
  for (let j = j0; j < j1; j++) {
    const o = rows[j]! * n, e = j * n
    let z = 0
    for (let i = 0; i < n; i++) z += E[e + i]!
    headRowEnd(n, j, o, e, z, PX, Q, R, X, E, S, gu, uu)
    smallLoops(A, n, false, S, 1, PS, e, e)
    updateRow(n, j, rows, gu, uu, Ls, floor, S, PS, X, PX, Q, Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, fail, go)
  }
}

/** {@link StepSharedPass}'s part after the exponentials, over the live rows j0 ≤ j < j1 (E holding a − amax's exponentials). */
type StepSharedTail = (
  j0: number, j1: number, rows: Int32Array, PX: Float64Array, Q: Float64Array, R: Float64Array, X: Float64Array,
  E: Float64Array, S: Float64Array, A: Float64Array, PS: Float64Array, gu: Float64Array, uu: Float64Array, Ls: Float64Array, floor: Float64Array,
  Xn: Float64Array, PXn: Float64Array, gamma: Float64Array, inside: Uint8Array, num: Float64Array, den: Float64Array, moved: Uint8Array,
  steps: Int32Array, f: Float64Array, fPrev: Float64Array, live: Uint8Array,
  fail: (j: number, upu: number) => boolean, go: (f: number, fPrev: number, k: number) => boolean
) => void

/** The fused step from the head's first part and the fused tail, block by block as {@link splitHead} goes. */
const stepSharedOf = (n: number, pre: HeadPart, tail: StepSharedTail): StepSharedPass => {
  const rb = Math.max(1, Math.floor(EXP_BLOCK / n))
  return (m, rows, beta, A, PX, Q, R, X, E, S, PS, gu, uu, Ls, floor, Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, fail, go) => {
    for (let j0 = 0; j0 < m; j0 += rb) {
      const j1 = Math.min(m, j0 + rb)
      pre(j0, j1, rows, beta, PX, Q, R, X, E, S, gu, uu)
      expInto(E, E, (j1 - j0) * n, j0 * n)
      tail(j0, j1, rows, PX, Q, R, X, E, S, A, PS, gu, uu, Ls, floor, Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, fail, go)
    }
  }
}

/**
 * The fused transpose as loops: for each moved row the head's row, its row of Aᵀ c_{Ps}
 * (`smallLoops`) and the tail's row, the passes' own code (c_γ, Aᵀ c_{Ps} and the tail's
 * scratch in arrays of the call's own).
 */
const bwdSharedLoop = (n: number, mode: TailMode): BwdSharedPass => (ma, pos, at, rows, gamma, numA, denA, inside, Ls, beta, A, cxa, cpa, E, S, X, PS, PX, Q, R, IW, CPS, rowsOf, cq, cw, ct, cxo, cpx, pxSet, dense, SV) => {
  const scratch = new Float64Array(3 * n), CS = scratch.subarray(0, n), cgs = scratch.subarray(n, 2 * n), crs = scratch.subarray(2 * n)
  for (let a = 0, k = 0; a < ma; a++) {
    const p = pos[a]!, j = at[a]!, b = rows[j]!
    rowsOf[a] = b
    if (SV !== undefined && dense[b] === 1 && gamma[j] !== 0 && pxSet[p] === 1) {
      for (let c = 0; c < n; c++) SV[k * n + c] = S[j * n + c]!
      k++
    }
    const cga = bwdHeadRow(n, a, p, j, b, gamma, cxa, cpa, S, X, PS, PX, CPS)
    smallLoops(A, n, true, CPS, 1, CS, a * n, 0)
    bwdTailRow(n, mode, 0, p, j, b, cga, gamma, numA, denA, inside, Ls, beta, cxa, cpa, E, S, X, PX, Q, R, IW, CS, cq, cw, ct, cxo, cpx, cgs, crs)
    pxSet[p] = 1
  }
}

// -------------------------------------------------------------------------------------
// the generated passes
// -------------------------------------------------------------------------------------

/** Lines `line(i)` for i < n. */
const each = (n: number, line: (i: number) => string): string => Array.from({ length: n }, (_, i) => line(i)).join('\n')

/** sign(v) as {@link sgn} computes it, inline. */
const sgnOf = (v: string): string => `(+(${v} > 0) - +(${v} < 0))`

/**
 * {@link headLoop} for one n: the three passes in one, g, r, h and a in locals (a is
 * `beta * Math.abs(h)`, the loops' `beta * Math.abs((Px + q) r)`), E written once.
 */
const headSource = (n: number): string => [
  'for (let j = 0; j < m; j++) {',
  `const o = rows[j] * ${n}, e = j * ${n};`,
  each(n, (i) => `const g${i} = PX[o + ${i}] + Q[o + ${i}], r${i} = R[o + ${i}], h${i} = g${i} * r${i}, a${i} = beta * Math.abs(h${i});`),
  'let amax = -Infinity;',
  each(n, (i) => `if (a${i} > amax) amax = a${i};`),
  'let z = 0;',
  each(n, (i) => `const v${i} = Math.exp(a${i} - amax); z += v${i};`),
  'let gub = 0, uub = 0;',
  each(n, (i) => `const e${i} = v${i} / z; E[e + ${i}] = e${i}; const s${i} = -r${i} * ${sgnOf(`h${i}`)} * e${i}; S[e + ${i}] = s${i}; const u${i} = s${i} - X[o + ${i}]; gub += g${i} * u${i}; uub += u${i} * u${i};`),
  'gu[j] = gub; uu[j] = uub;',
  '}'
].join('\n')

/** {@link headPreLoop} for one n: E ← a − amax, a in locals. */
const headPreSource = (n: number): string => [
  'for (let j = j0; j < j1; j++) {',
  `const o = rows[j] * ${n}, e = j * ${n};`,
  each(n, (i) => `const a${i} = beta * Math.abs((PX[o + ${i}] + Q[o + ${i}]) * R[o + ${i}]);`),
  'let amax = -Infinity;',
  each(n, (i) => `if (a${i} > amax) amax = a${i};`),
  each(n, (i) => `E[e + ${i}] = a${i} - amax;`),
  '}'
].join('\n')

/** {@link headPostLoop} for one n: the exponentials in locals, z, then the rest as {@link headSource} does. */
const headPostSource = (n: number): string => [
  'for (let j = j0; j < j1; j++) {',
  `const o = rows[j] * ${n}, e = j * ${n};`,
  each(n, (i) => `const v${i} = E[e + ${i}];`),
  'let z = 0;',
  each(n, (i) => `z += v${i};`),
  'let gub = 0, uub = 0;',
  each(n, (i) => `const g${i} = PX[o + ${i}] + Q[o + ${i}], r${i} = R[o + ${i}], h${i} = g${i} * r${i};` +
    ` const e${i} = v${i} / z; E[e + ${i}] = e${i}; const s${i} = -r${i} * ${sgnOf(`h${i}`)} * e${i}; S[e + ${i}] = s${i}; const u${i} = s${i} - X[o + ${i}]; gub += g${i} * u${i}; uub += u${i} * u${i};`),
  'gu[j] = gub; uu[j] = uub;',
  '}'
].join('\n')

/** {@link updateLoop} for one n: x and Px of the row loaded once. */
const updateSource = (n: number): string => [
  'for (let j = 0; j < m; j++) {',
  `const b = rows[j], o = b * ${n}, e = j * ${n};`,
  'const nu = -gu[j], de = Ls[b] * uu[j];',
  'let g, ins = 0;',
  'if (!(de > 0) || !Number.isFinite(nu / de)) g = nu > 0 ? 1 : 0;',
  'else if (nu / de >= 1) g = 1;',
  'else if (nu / de > 0) { g = nu / de; ins = 1; } else g = 0;',
  'let upu = 0, fb = 0;',
  each(n, (i) => `const x${i} = X[o + ${i}], p${i} = PX[o + ${i}], su${i} = S[e + ${i}] - x${i}, pd${i} = PS[e + ${i}] - p${i}; upu += su${i} * pd${i};` +
    ` const xn${i} = x${i} + g * su${i}, pn${i} = p${i} + g * pd${i}; Xn[o + ${i}] = xn${i}; PXn[o + ${i}] = pn${i}; fb += xn${i} * (0.5 * pn${i} + Q[o + ${i}]);`),
  'if (upu < -floor[b] * uu[j] && fail(j, upu)) continue;',
  'gamma[j] = g; inside[j] = ins; num[j] = nu; den[j] = de;',
  'moved[j] = 1;',
  'steps[b] = steps[b] + 1;',
  'fPrev[b] = f[b];',
  'f[b] = fb;',
  'if (!go(fb, fPrev[b], steps[b])) live[b] = 0;',
  '}'
].join('\n')

/** {@link bwdHeadLoop} for one n. */
const bwdHeadSource = (n: number): string => [
  'let terms = 0;',
  'for (let a = 0; a < ma; a++) {',
  'const p = pos[a], j = at[a], b = rows[j];',
  'rowsOf[a] = b;',
  `const ob = b * ${n}, e = j * ${n}, tp = p * ${n}, an = a * ${n}, g = gamma[j];`,
  'let cg = 0;',
  each(n, (i) => `{ const av = cxa[tp + ${i}], bv = cpa[tp + ${i}]; cg += av * (S[e + ${i}] - X[ob + ${i}]) + bv * (PS[e + ${i}] - PX[ob + ${i}]); CPS[an + ${i}] = g * bv; }`),
  'cgamma[a] = cg;',
  'if (dense[b] === 1 && g !== 0 && pxSet[p] === 1) terms++;',
  '}',
  'return terms;'
].join('\n')

/** The tail's last write of t's cotangent, by {@link TailMode} (none in mode 2). */
const ctLine = (mode: TailMode): string => (mode === 0 ? 'ct[p] = ctb;' : mode === 1 ? 'ct[p] = ct[p] + ctb;' : '')

/**
 * Entry i of the transpose tail's second loop (through e = softmax(β|h|), h = g⊙r,
 * r = t/w, g = Px + q), on the first loop's locals; `cp` is the entry of c_Px'.
 */
const bwdTailSecond = (i: number, mode: TailMode, cp: string): string =>
  mode === 2 ? `{ const ca = ev${i} * (t${i} - ece); const ch = beta * sg${i} * ca; const cg = cgs${i} + ch * r${i}; cpx[tp + ${i}] = omg * ${cp} + cg; cq[tp + ${i}] = cq[tp + ${i}] + cg; }`
  : `{ const iw = IW[ob + ${i}]; const ca = ev${i} * (t${i} - ece); const ch = beta * sg${i} * ca; const cg = cgs${i} + ch * r${i}; const cr = crs${i} + ch * g${i}; ctb += cr * iw;` +
  (mode === 1 ? ` cw[tp + ${i}] = cw[tp + ${i}] + -cr * r${i} * iw; cpx[tp + ${i}] = omg * ${cp} + cg; cq[tp + ${i}] = cq[tp + ${i}] + cg; }`
    : ` cw[tp + ${i}] = -cr * r${i} * iw; cpx[tp + ${i}] = omg * ${cp} + cg; cq[tp + ${i}] = cg; }`)

/**
 * {@link bwdTailLoop} for one n: g, r, sign(h), u, e and c_s of each entry, c_g's and c_r's
 * first terms and −sign(h) r c_s (which both loops compute) in locals from the first pass
 * to the second; CS and `tmp` are not written.
 */
const bwdTailSource = (n: number, mode: TailMode): string => [
  'for (let a = 0; a < ma; a++) {',
  'const p = pos[a], j = at[a], b = rows[j];',
  `const ob = b * ${n}, e = j * ${n}, tp = p * ${n}, an = a * ${n};`,
  'const g = gamma[j], den = denA[j], num = numA[j], L = Ls[b];',
  'const cnum = inside[j] === 1 ? cgamma[a] / den : 0, cden = inside[j] === 1 ? (-cgamma[a] * num) / (den * den) : 0;',
  'const k2 = 2 * L * cden, omg = 1 - g;',
  'let ece = 0;',
  each(n, (i) => `const g${i} = PX[ob + ${i}] + Q[ob + ${i}], r${i} = R[ob + ${i}], h${i} = g${i} * r${i}, sg${i} = ${sgnOf(`h${i}`)}, u${i} = S[e + ${i}] - X[ob + ${i}], cx${i} = cxa[tp + ${i}], ev${i} = E[e + ${i}];` +
    ` const cu${i} = g * cx${i} - cnum * g${i} + k2 * u${i}; const cgs${i} = -cnum * u${i}; const cs${i} = CS[an + ${i}] + cu${i}; cxo[tp + ${i}] = cx${i} - cu${i};` +
    `${mode === 2 ? '' : ` const crs${i} = -sg${i} * ev${i} * cs${i};`} const t${i} = -sg${i} * r${i} * cs${i}; ece += ev${i} * t${i};`),
  'let ctb = 0;',
  each(n, (i) => bwdTailSecond(i, mode, `cpa[tp + ${i}]`)),
  ctLine(mode),
  'pxSet[p] = 1;',
  '}'
].join('\n')

/** {@link fwdHeadLoop} for one n: g, r, 1/w, sign(h), dg, dr, da and e in locals across both passes; dxn not written. */
const fwdHeadSource = (n: number): string => [
  'for (let a = 0; a < ma; a++) {',
  'const p = pos[a], j = at[a], b = rows[j];',
  'rowsOf[a] = b;',
  `const o = b * ${n}, e = j * ${n}, tp = p * ${n}, an = a * ${n};`,
  'const dt = dtv === undefined ? 0 : dtv[p];',
  'let eda = 0;',
  each(n, (i) => `const g${i} = PX[o + ${i}] + Q[o + ${i}], r${i} = R[o + ${i}], iw${i} = IW[o + ${i}], h${i} = g${i} * r${i}, sg${i} = ${sgnOf(`h${i}`)}, ev${i} = E[e + ${i}];` +
    ` const dg${i} = dpx[tp + ${i}] + dq[tp + ${i}]; const dr${i} = dt * iw${i} - r${i} * dw[tp + ${i}] * iw${i}; const da${i} = beta * sg${i} * (dg${i} * r${i} + g${i} * dr${i}); eda += ev${i} * da${i};`),
  'let dg = 0, ud = 0;',
  each(n, (i) => `{ const de = ev${i} * (da${i} - eda); const ds = -sg${i} * (dr${i} * ev${i} + r${i} * de); DS[an + ${i}] = ds; const ui = S[e + ${i}] - X[o + ${i}], du = ds - dx[tp + ${i}]; dg += dg${i} * ui + g${i} * du; ud += ui * du; }`),
  'dgu[a] = dg; udu[a] = ud;',
  '}'
].join('\n')

/** {@link fwdTailLoop} for one n. */
const fwdTailSource = (n: number): string => [
  'for (let a = 0; a < ma; a++) {',
  'const p = pos[a], j = at[a], b = rows[j];',
  `const o = b * ${n}, e = j * ${n}, tp = p * ${n}, an = a * ${n};`,
  'const g = gamma[j], den = denA[j], num = numA[j], L = Ls[b];',
  'const dgamma = inside[j] === 1 ? (-dgu[a] * den - num * 2 * L * udu[a]) / (den * den) : 0;',
  each(n, (i) => `{ const dpi = dpx[tp + ${i}], dxi = dx[tp + ${i}]; dxn[tp + ${i}] = dxi + dgamma * (S[e + ${i}] - X[o + ${i}]) + g * (DS[an + ${i}] - dxi); dpxn[tp + ${i}] = dpi + dgamma * (PS[e + ${i}] - PX[o + ${i}]) + g * (DPS[an + ${i}] - dpi); }`),
  '}'
].join('\n')

/**
 * {@link stepSharedTailLoop} for one n: {@link headPostSource}'s row, then each entry of
 * A s as the small kernel's expression over the row's s in locals, then
 * {@link updateSource}'s row on the locals (x, Px, q, s − x, Ps).
 */
const stepSharedTailSource = (n: number): string => [
  'for (let j = j0; j < j1; j++) {',
  `const b = rows[j], o = b * ${n}, e = j * ${n};`,
  each(n, (i) => `const v${i} = E[e + ${i}];`),
  'let z = 0;',
  each(n, (i) => `z += v${i};`),
  'let gub = 0, uub = 0;',
  each(n, (i) => `const x${i} = X[o + ${i}], p${i} = PX[o + ${i}], q${i} = Q[o + ${i}], g${i} = p${i} + q${i}, r${i} = R[o + ${i}], h${i} = g${i} * r${i};` +
    ` const e${i} = v${i} / z; E[e + ${i}] = e${i}; const s${i} = -r${i} * ${sgnOf(`h${i}`)} * e${i}; S[e + ${i}] = s${i}; const u${i} = s${i} - x${i}; gub += g${i} * u${i}; uub += u${i} * u${i};`),
  'gu[j] = gub; uu[j] = uub;',
  each(n, (i) => `const ps${i} = ${smallEntry(n, i, false, (k) => `s${k}`)}; PS[e + ${i}] = ps${i};`),
  'const nu = -gub, de = Ls[b] * uub;',
  'let g, ins = 0;',
  'if (!(de > 0) || !Number.isFinite(nu / de)) g = nu > 0 ? 1 : 0;',
  'else if (nu / de >= 1) g = 1;',
  'else if (nu / de > 0) { g = nu / de; ins = 1; } else g = 0;',
  'let upu = 0, fb = 0;',
  each(n, (i) => `const pd${i} = ps${i} - p${i}; upu += u${i} * pd${i}; const xn${i} = x${i} + g * u${i}, pn${i} = p${i} + g * pd${i}; Xn[o + ${i}] = xn${i}; PXn[o + ${i}] = pn${i}; fb += xn${i} * (0.5 * pn${i} + q${i});`),
  'if (upu < -floor[b] * uub && fail(j, upu)) continue;',
  'gamma[j] = g; inside[j] = ins; num[j] = nu; den[j] = de;',
  'moved[j] = 1;',
  'steps[b] = steps[b] + 1;',
  'fPrev[b] = f[b];',
  'f[b] = fb;',
  'if (!go(fb, fPrev[b], steps[b])) live[b] = 0;',
  '}'
].join('\n')

/**
 * {@link bwdSharedLoop} for one n: {@link bwdHeadSource}'s row with c_{Ps} in locals, each
 * entry of Aᵀ c_{Ps} as the small kernel's expression, then {@link bwdTailSource}'s row on
 * the locals.
 */
const bwdSharedSource = (n: number, mode: TailMode): string => [
  'let k = 0;',
  'for (let a = 0; a < ma; a++) {',
  'const p = pos[a], j = at[a], b = rows[j];',
  'rowsOf[a] = b;',
  `const ob = b * ${n}, e = j * ${n}, tp = p * ${n}, an = a * ${n}, g = gamma[j];`,
  'let cg = 0;',
  each(n, (i) => `const cx${i} = cxa[tp + ${i}], cp${i} = cpa[tp + ${i}], px${i} = PX[ob + ${i}], g${i} = px${i} + Q[ob + ${i}], r${i} = R[ob + ${i}], h${i} = g${i} * r${i}, sg${i} = ${sgnOf(`h${i}`)}, ev${i} = E[e + ${i}];` +
    ` const s${i} = -r${i} * sg${i} * ev${i}, u${i} = s${i} - X[ob + ${i}]; cg += cx${i} * u${i} + cp${i} * (PS[e + ${i}] - px${i}); const c${i} = g * cp${i}; CPS[an + ${i}] = c${i};`),
  'if (SV !== undefined && dense[b] === 1 && g !== 0 && pxSet[p] === 1) {',
  `const so = k * ${n}; k++;`,
  each(n, (i) => `SV[so + ${i}] = s${i};`),
  '}',
  'const den = denA[j], num = numA[j], L = Ls[b];',
  'const cnum = inside[j] === 1 ? cg / den : 0, cden = inside[j] === 1 ? (-cg * num) / (den * den) : 0;',
  'const k2 = 2 * L * cden, omg = 1 - g;',
  'let ece = 0;',
  each(n, (i) => `const cu${i} = g * cx${i} - cnum * g${i} + k2 * u${i}; const cgs${i} = -cnum * u${i}; const cs${i} = ${smallEntry(n, i, true, (c) => `c${c}`)} + cu${i}; cxo[tp + ${i}] = cx${i} - cu${i};` +
    `${mode === 2 ? '' : ` const crs${i} = -sg${i} * ev${i} * cs${i};`} const t${i} = -sg${i} * r${i} * cs${i}; ece += ev${i} * t${i};`),
  'let ctb = 0;',
  each(n, (i) => bwdTailSecond(i, mode, `cp${i}`)),
  ctLine(mode),
  'pxSet[p] = 1;',
  '}'
].join('\n')

/**
 * A row's loop over its n entries with the body spelled out four times per pass (entries
 * i … i + 3, then the last n mod 4 one by one): the loop's operations in its order, so the
 * same numbers; `body(i)` is entry i's code, i a JavaScript expression.
 */
const byFours = (n: number, body: (i: string) => string): string => {
  const whole = n - (n % 4)
  return [
    `for (let i = 0; i < ${whole}; i += 4) {`, body('i'), body('i + 1'), body('i + 2'), body('i + 3'), '}',
    ...(whole < n ? [`for (let i = ${whole}; i < ${n}; i++) {`, body('i'), '}'] : [])
  ].join('\n')
}

/**
 * {@link bwdTailLoop} at n ≥ 16 ({@link bwdTailRow}'s two loops, each unrolled by four with
 * {@link byFours}; CS, c_g and c_r go through CS and `tmp` as there). A scratch timing on
 * this project's machine: about 13 against 15.5 ns per entry at n = 16, 100 and 300.
 */
const bwdTailWideSource = (n: number, mode: TailMode): string => [
  `const cgs = tmp.subarray(0, ${n}), crs = tmp.subarray(${n}, ${2 * n});`,
  'for (let a = 0; a < ma; a++) {',
  'const p = pos[a], j = at[a], b = rows[j];',
  `const ob = b * ${n}, e = j * ${n}, tp = p * ${n}, an = a * ${n};`,
  'const g = gamma[j], den = denA[j], num = numA[j], L = Ls[b], cga = cgamma[a];',
  'const cnum = inside[j] === 1 ? cga / den : 0, cden = inside[j] === 1 ? (-cga * num) / (den * den) : 0;',
  'let ece = 0;',
  byFours(n, (i) => `{ const gi = PX[ob + ${i}] + Q[ob + ${i}], ri = R[ob + ${i}], sgi = ${sgnOf('gi * ri')}, ui = S[e + ${i}] - X[ob + ${i}], cxi = cxa[tp + ${i}];` +
    ` const cu = g * cxi - cnum * gi + 2 * L * cden * ui; cgs[${i}] = -cnum * ui; const csi = CS[an + ${i}] + cu; CS[an + ${i}] = csi; cxo[tp + ${i}] = cxi - cu;` +
    `${mode === 2 ? '' : ` crs[${i}] = -sgi * E[e + ${i}] * csi;`} ece += E[e + ${i}] * (-sgi * ri * csi); }`),
  'let ctb = 0;',
  byFours(n, (i) => mode === 2
    ? `{ const gi = PX[ob + ${i}] + Q[ob + ${i}], ri = R[ob + ${i}], sgi = ${sgnOf('gi * ri')};` +
      ` const ca = E[e + ${i}] * (-sgi * ri * CS[an + ${i}] - ece); const ch = beta * sgi * ca; const cg = cgs[${i}] + ch * ri; cpx[tp + ${i}] = (1 - g) * cpa[tp + ${i}] + cg; cq[tp + ${i}] = cq[tp + ${i}] + cg; }`
    : `{ const gi = PX[ob + ${i}] + Q[ob + ${i}], ri = R[ob + ${i}], iwi = IW[ob + ${i}], sgi = ${sgnOf('gi * ri')};` +
    ` const ca = E[e + ${i}] * (-sgi * ri * CS[an + ${i}] - ece); const ch = beta * sgi * ca; const cg = cgs[${i}] + ch * ri; const cr = crs[${i}] + ch * gi; ctb += cr * iwi;` +
    (mode === 1 ? ` cw[tp + ${i}] = cw[tp + ${i}] + -cr * ri * iwi; cpx[tp + ${i}] = (1 - g) * cpa[tp + ${i}] + cg; cq[tp + ${i}] = cq[tp + ${i}] + cg; }`
      : ` cw[tp + ${i}] = -cr * ri * iwi; cpx[tp + ${i}] = (1 - g) * cpa[tp + ${i}] + cg; cq[tp + ${i}] = cg; }`)),
  ctLine(mode),
  'pxSet[p] = 1;',
  '}'
].join('\n')

const FWD_HEAD = ['ma', 'pos', 'at', 'rows', 'beta', 'dtv', 'dq', 'dw', 'dx', 'dpx', 'E', 'S', 'X', 'PX', 'Q', 'R', 'IW', 'dxn', 'DS', 'dgu', 'udu', 'rowsOf']
const FWD_TAIL = ['ma', 'pos', 'at', 'rows', 'gamma', 'numA', 'denA', 'inside', 'Ls', 'dgu', 'udu', 'dx', 'dpx', 'S', 'X', 'PS', 'PX', 'DS', 'DPS', 'dxn', 'dpxn']
const HEAD = ['m', 'rows', 'beta', 'PX', 'Q', 'R', 'X', 'E', 'S', 'gu', 'uu']
const HEAD_PART = ['j0', 'j1', 'rows', 'beta', 'PX', 'Q', 'R', 'X', 'E', 'S', 'gu', 'uu']
const UPDATE = ['m', 'rows', 'gu', 'uu', 'Ls', 'floor', 'S', 'PS', 'X', 'PX', 'Q', 'Xn', 'PXn', 'gamma', 'inside', 'num', 'den', 'moved', 'steps', 'f', 'fPrev', 'live', 'fail', 'go']
const BWD_HEAD = ['ma', 'pos', 'at', 'rows', 'gamma', 'cxa', 'cpa', 'S', 'X', 'PS', 'PX', 'CPS', 'cgamma', 'rowsOf', 'dense', 'pxSet']
const BWD_TAIL = ['ma', 'pos', 'at', 'rows', 'gamma', 'numA', 'denA', 'inside', 'cgamma', 'Ls', 'beta', 'cxa', 'cpa', 'E', 'S', 'X', 'PX', 'Q', 'R', 'IW', 'CS', 'cq', 'cw', 'ct', 'cxo', 'cpx', 'pxSet', 'tmp']

const head = generatedKernels((n: number) => ({ params: HEAD, body: headSource(n), name: `dfw-row-head-${n}.js` }), headLoop)
const headPre = generatedKernels((n: number) => ({ params: HEAD_PART, body: headPreSource(n), name: `dfw-row-head-pre-${n}.js` }), headPreLoop)
const headPost = generatedKernels((n: number) => ({ params: HEAD_PART, body: headPostSource(n), name: `dfw-row-head-post-${n}.js` }), headPostLoop)
const update = generatedKernels((n: number) => ({ params: UPDATE, body: updateSource(n), name: `dfw-row-update-${n}.js` }), updateLoop)
const bwdHead = generatedKernels((n: number) => ({ params: BWD_HEAD, body: bwdHeadSource(n), name: `dfw-row-bwd-head-${n}.js` }), bwdHeadLoop)
/** A tail's key, 3n + mode ({@link TailMode}), and its parts. */
const tailKey = (n: number, mode: TailMode): number => 3 * n + mode
const keyN = (key: number): number => Math.floor(key / 3)
const keyMode = (key: number): TailMode => (key % 3) as TailMode
const MODE_SUFFIX = ['', '-acc', '-acc-q'] as const

/** Keyed by {@link tailKey}. */
const bwdTail = generatedKernels((key: number) => ({ params: BWD_TAIL, body: bwdTailSource(keyN(key), keyMode(key)), name: `dfw-row-bwd-tail-${keyN(key)}${MODE_SUFFIX[keyMode(key)]}.js` }), (key: number) => bwdTailLoop(keyN(key), keyMode(key)))

/** Keyed by {@link tailKey}, n ≥ 16. */
const bwdTailWide = generatedKernels((key: number) => ({ params: BWD_TAIL, body: bwdTailWideSource(keyN(key), keyMode(key)), name: `dfw-row-bwd-tail-wide-${keyN(key)}${MODE_SUFFIX[keyMode(key)]}.js` }), (key: number) => bwdTailLoop(keyN(key), keyMode(key)))

const STEP_SHARED_TAIL = ['j0', 'j1', 'rows', 'PX', 'Q', 'R', 'X', 'E', 'S', 'A', 'PS', 'gu', 'uu', 'Ls', 'floor', 'Xn', 'PXn', 'gamma', 'inside', 'num', 'den', 'moved', 'steps', 'f', 'fPrev', 'live', 'fail', 'go']
const BWD_SHARED = ['ma', 'pos', 'at', 'rows', 'gamma', 'numA', 'denA', 'inside', 'Ls', 'beta', 'A', 'cxa', 'cpa', 'E', 'S', 'X', 'PS', 'PX', 'Q', 'R', 'IW', 'CPS', 'rowsOf', 'cq', 'cw', 'ct', 'cxo', 'cpx', 'pxSet', 'dense', 'SV']
const stepSharedTail = generatedKernels((n: number) => ({ params: STEP_SHARED_TAIL, body: stepSharedTailSource(n), name: `dfw-row-step-shared-${n}.js` }), stepSharedTailLoop)
/** Keyed by {@link tailKey}. */
const bwdShared = generatedKernels((key: number) => ({ params: BWD_SHARED, body: bwdSharedSource(keyN(key), keyMode(key)), name: `dfw-row-bwd-shared-${keyN(key)}${MODE_SUFFIX[keyMode(key)]}.js` }), (key: number) => bwdSharedLoop(keyN(key), keyMode(key)))

const fwdHead = generatedKernels((n: number) => ({ params: FWD_HEAD, body: fwdHeadSource(n), name: `dfw-row-fwd-head-${n}.js` }), fwdHeadLoop)
const fwdTail = generatedKernels((n: number) => ({ params: FWD_TAIL, body: fwdTailSource(n), name: `dfw-row-fwd-tail-${n}.js` }), fwdTailLoop)

/**
 * The loops of one n (every n; the generated passes' reference).
 *
 * @example
 * rowLoops(10).head(m, rows, beta, PX, Q, R, X, E, S, gu, uu)
 */
export const rowLoops = (n: number): RowPasses => {
  const l: RowPasses = { head: headLoop(n), update: updateLoop(n), bwdHead: bwdHeadLoop(n), bwdTail: [bwdTailLoop(n, 0), bwdTailLoop(n, 1), bwdTailLoop(n, 2)], fwdHead: fwdHeadLoop(n), fwdTail: fwdTailLoop(n) }
  return n < SMALL_N ? { ...l, stepShared: stepSharedOf(n, headPreLoop(n), stepSharedTailLoop(n)), bwdShared: [bwdSharedLoop(n, 0), bwdSharedLoop(n, 1), bwdSharedLoop(n, 2)] } : l
}

const loopsOf = new Map<number, RowPasses>(), splitLoopsOf = new Map<number, RowPasses>(), smallOf = new Map<number, RowPasses>()
/** The split heads made, by their first part (one per n and state of the generated code). */
const splitOf = new Map<HeadPart, HeadPass>()

/** The head at n < 16 (generated, or the loops with the generated code off): split around the kernel `exp` where it runs, else whole. */
const smallHead = (n: number): HeadPass => {
  if (!expKernelOn()) return head(n)
  const pre = headPre(n)
  let h = splitOf.get(pre)
  if (h === undefined) { h = splitHead(n, pre, headPost(n)); splitOf.set(pre, h) }
  return h
}

/**
 * The passes the batch runs at n: generated for n < 16 (once per n; the loops where code
 * cannot be generated or the generated code is off, `Codegen.ts`), the loops for n ≥ 16
 * but for the transpose's tail, generated there too with its loops unrolled by four.
 * Where the kernel `exp` runs, the head is split around it (the exponentials of all live
 * rows in one call); the numbers are the same either way. Below n = 16 they include the
 * fused step and transpose for a shared dense P.
 *
 * @example
 * rowPasses(10).update(m, rows, gu, uu, Ls, floor, S, PS, X, PX, Q, Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, fail, go)
 */
export const rowPasses = (n: number): RowPasses => {
  if (n < SMALL_N) {
    const h = smallHead(n)
    let p = smallOf.get(n)
    // made again when a switch has changed which code the kernels are
    if (p === undefined || p.head !== h) {
      p = {
        head: h, update: update(n), bwdHead: bwdHead(n), bwdTail: [bwdTail(tailKey(n, 0)), bwdTail(tailKey(n, 1)), bwdTail(tailKey(n, 2))], fwdHead: fwdHead(n), fwdTail: fwdTail(n),
        stepShared: stepSharedOf(n, headPre(n), stepSharedTail(n)), bwdShared: [bwdShared(tailKey(n, 0)), bwdShared(tailKey(n, 1)), bwdShared(tailKey(n, 2))]
      }
      smallOf.set(n, p)
    }
    return p
  }
  // the loops, with the transpose's tail generated (unrolled by four) where code can be
  const tail0 = bwdTailWide(tailKey(n, 0))
  let l = loopsOf.get(n)
  if (l === undefined || l.bwdTail[0] !== tail0) { l = { ...rowLoops(n), bwdTail: [tail0, bwdTailWide(tailKey(n, 1)), bwdTailWide(tailKey(n, 2))] }; loopsOf.set(n, l) }
  if (!expKernelOn()) return l
  let s = splitLoopsOf.get(n)
  if (s === undefined || s.bwdTail[0] !== tail0) { s = { ...l, head: splitHead(n, headPreLoop(n), headPostLoop(n)) }; splitLoopsOf.set(n, s) }
  return s
}
