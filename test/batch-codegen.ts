// The batch's generated small-n code (src/fw/batch/Codegen.ts: the row passes of the
// batched paper step, src/fw/batch/RowPasses.ts, and the small products,
// src/fw/batch/Products.ts) against the loops it unrolls: every pass on arrays of every
// kind of number (±0, subnormal, huge, ±Infinity, NaN) at n = 1..15, and whole batched
// runs (x, the batched vjp and jvp, the errors) with the generated code on and off, on
// batches with stopped and failing instances, per-instance and shared operators, skewed w
// and scales from 1e-6 to 1e6. Bitwise, zeros' signs included.
import t from 'tap'
import * as E from 'fp-ts/lib/Either.js'
import { unsafeDim } from '../src/shapes/Dim.js'
import type { Mat } from '../src/shapes/Mat.js'
import type { Vec } from '../src/shapes/Vec.js'
import { type LinearOperator, dense, lowRank } from '../src/core/LinearOperator.js'
import { dfwBatchSolve, LayerError, type LayerOptions, type Problem } from '../src/fw/index.js'
import { batchValidator } from '../src/fw/batch/Validate.js'
import { solveValidated, type Validated } from '../src/fw/batch/Engine.js'
import { withCall } from '../src/fw/Layer.js'
import { setCodegen, generatedKernels } from '../src/fw/batch/Codegen.js'
import { rowLoops, rowPasses, type RowPasses } from '../src/fw/batch/RowPasses.js'
import { smallLoops } from '../src/fw/batch/Products.js'
import { type N, matOf, randomPlain, rng, vec } from './helpers/layerFixtures.js'
import type { Rng } from '../src/core/Random.js'

// -------------------------------------------------------------------------------------
// fixtures
// -------------------------------------------------------------------------------------

/** '' when a and b are the same numbers bit for bit (Object.is, entry by entry), else the first difference. */
const bits = (a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined): string => {
  if (a === undefined || b === undefined) return a === b ? '' : 'one is undefined'
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `[${i}]: ${show(a[i])} vs ${show(b[i])}`
  return ''
}
const show = (v: number | undefined): string => (Object.is(v, -0) ? '-0' : String(v))

/** Runs f with the generated code on or off, restoring the setting. */
const withCodegen = <A>(on: boolean, f: () => A): A => {
  const was = setCodegen(on)
  try { return f() } finally { setCodegen(was) }
}

/**
 * Numbers drawn only from the normal distribution while set: the passes compared on rows
 * whose sums stay finite (a huge entry in every row makes most outputs NaN or ±Infinity,
 * which would hide a change of rounding).
 */
let ordinary = false

/** Numbers of every kind: normal, ±0, subnormal, huge, ±Infinity and NaN (when `special`); normal only while `ordinary`. */
const pick = (r: Rng, special: boolean): number => {
  if (ordinary) return r.normal()
  const u = r.uniform()
  if (u < 0.08) return -0
  if (u < 0.14) return 0
  if (u < 0.18) return 1e-310 * r.normal()
  if (u < 0.21) return 1e300 * r.normal()
  if (special && u < 0.23) return NaN
  if (special && u < 0.25) return u < 0.24 ? Infinity : -Infinity
  return r.normal()
}
const arr = (r: Rng, k: number, special: boolean): Float64Array => Float64Array.from({ length: k }, () => pick(r, special))

// -------------------------------------------------------------------------------------
// the passes
// -------------------------------------------------------------------------------------

/** How often the update offered a row to `fail` and called the stop test (both paths). */
const seen = { fail: 0, go: 0 }

/** Every output of the four passes, generated against loops, on one random batch. */
const comparePasses = (
  gen: RowPasses, loops: RowPasses, r: Rng, n: number, B: number, m: number, rows: Int32Array, beta: number,
  st: { readonly PX: Float64Array; readonly Q: Float64Array; readonly R: Float64Array; readonly X: Float64Array }, special: boolean
): string[] => {
  const out: string[] = []
  const { PX, Q, R, X } = st
  // the head: E, S, gᵀu, uᵀu (E and S prefilled with junk: every entry must be written)
  const head = (p: RowPasses) => {
    const E = new Float64Array(m * n).fill(7), S = new Float64Array(m * n).fill(7), gu = new Float64Array(m).fill(7), uu = new Float64Array(m).fill(7)
    p.head(m, rows, beta, PX, Q, R, X, E, S, gu, uu)
    return { E, S, gu, uu }
  }
  const hg = head(gen), hl = head(loops)
  for (const k of ['E', 'S', 'gu', 'uu'] as const) if (bits(hg[k], hl[k]) !== '') out.push(`head ${k} ${bits(hg[k], hl[k])}`)
  // the update: γ from gᵀu, uᵀu and L of every kind (0, negative, special numbers: every
  // clamp), curvature floors that send some rows to `fail` (which confirms every other
  // one), and the stop test's calls
  const S = hl.S, PS = arr(r, m * n, special)
  const gu = Float64Array.from({ length: m }, () => (r.uniform() < 0.5 ? -Math.abs(pick(r, special)) : pick(r, special)))
  const uu = Float64Array.from({ length: m }, () => { const u = r.uniform(); return u < 0.15 ? 0 : u < 0.3 ? pick(r, special) : Math.abs(r.normal()) })
  const Ls = Float64Array.from({ length: B }, () => (r.uniform() < 0.2 ? pick(r, special) : 0.5 + 10 * r.uniform()))
  const floor = Float64Array.from({ length: B }, () => (r.uniform() < 0.3 ? 1e300 : 1e-12))
  const steps0 = Int32Array.from({ length: B }, () => Math.floor(10 * r.uniform())), f0 = arr(r, B, special), fPrev0 = arr(r, B, special)
  const update = (p: RowPasses) => {
    const Xn = new Float64Array(B * n).fill(7), PXn = new Float64Array(B * n).fill(7)
    const gamma = new Float64Array(m), inside = new Uint8Array(m), num = new Float64Array(m), den = new Float64Array(m), moved = new Uint8Array(m)
    const steps = steps0.slice(), f = f0.slice(), fPrev = fPrev0.slice(), live = new Uint8Array(B).fill(1)
    const calls: number[] = []
    const fail = (j: number, upu: number): boolean => {
      seen.fail++
      calls.push(-1, j, upu)
      if (j % 2 === 1) return false
      Xn.fill(-3, rows[j]! * n, rows[j]! * n + n)
      return true
    }
    const go = (fb: number, fp: number, k: number): boolean => { seen.go++; calls.push(-2, fb, fp, k); return !(fb > fp) }
    p.update(m, rows, gu, uu, Ls, floor, S, PS, X, PX, Q, Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, fail, go)
    return { Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, calls: Float64Array.from(calls) }
  }
  const ug = update(gen), ul = update(loops)
  for (const k of ['Xn', 'PXn', 'gamma', 'inside', 'num', 'den', 'moved', 'steps', 'f', 'fPrev', 'live', 'calls'] as const) if (bits(ug[k], ul[k]) !== '') out.push(`update ${k} ${bits(ug[k], ul[k])}`)
  const gamma = ul.gamma
  // the transpose over a selection: positions p (some of them moved, at rows `at`)
  const ns = B, pos: number[] = [], at: number[] = []
  for (let p = 0; p < ns; p++) if (m > 0 && r.uniform() < 0.8) { pos.push(p); at.push(Math.floor(r.uniform() * m)) }
  const ma = pos.length, posA = Int32Array.from(pos), atA = Int32Array.from(at)
  const cxa = arr(r, ns * n, special), cpa = arr(r, ns * n, special)
  const dense = Uint8Array.from({ length: B }, () => (r.uniform() < 0.7 ? 1 : 0)), pxSet0 = Uint8Array.from({ length: ns }, () => (r.uniform() < 0.6 ? 1 : 0))
  const bwdHead = (p: RowPasses) => {
    const CPS = new Float64Array(ma * n).fill(7), cgamma = new Float64Array(ma).fill(7), rowsOf = new Int32Array(ma).fill(-9)
    const terms = p.bwdHead(ma, posA, atA, rows, gamma, cxa, cpa, S, X, PS, PX, CPS, cgamma, rowsOf, dense, pxSet0)
    return { CPS, cgamma, rowsOf, terms: Float64Array.of(terms) }
  }
  const bg = bwdHead(gen), bl = bwdHead(loops)
  for (const k of ['CPS', 'cgamma', 'rowsOf', 'terms'] as const) if (bits(bg[k], bl[k]) !== '') out.push(`bwdHead ${k} ${bits(bg[k], bl[k])}`)
  const num = arr(r, m, special), den = Float64Array.from({ length: m }, () => (r.uniform() < 0.2 ? pick(r, special) : 0.1 + r.uniform()))
  const inside = Uint8Array.from({ length: m }, () => (r.uniform() < 0.6 ? 1 : 0))
  const IW = arr(r, B * n, special), CS0 = arr(r, ma * n, special)
  const q0 = arr(r, ns * n, special), w0 = arr(r, ns * n, special), t0 = arr(r, ns, special)
  // mode 0 sets θ's cotangent, 1 adds into it, 2 adds into q's alone
  const tails: Array<Record<'cq' | 'cw' | 'ct' | 'cxo' | 'cpx' | 'pxSet', Float64Array | Uint8Array>> = []
  for (const acc of [0, 1, 2] as const) {
    const tail = (p: RowPasses) => {
      const cq = acc !== 0 ? q0.slice() : new Float64Array(ns * n).fill(7), cw = acc !== 0 ? w0.slice() : new Float64Array(ns * n).fill(7)
      const ct = acc !== 0 ? t0.slice() : new Float64Array(ns).fill(7)
      const cxo = new Float64Array(ns * n).fill(7), cpx = new Float64Array(ns * n).fill(7), pxSet = pxSet0.slice()
      p.bwdTail[acc](ma, posA, atA, rows, gamma, num, den, inside, bl.cgamma, Ls, beta, cxa, cpa, hl.E, S, X, PX, Q, R, IW, CS0.slice(), cq, cw, ct, cxo, cpx, pxSet, new Float64Array(2 * n))
      return { cq, cw, ct, cxo, cpx, pxSet }
    }
    const tg = tail(gen), tl = tail(loops)
    for (const k of ['cq', 'cw', 'ct', 'cxo', 'cpx', 'pxSet'] as const) if (bits(tg[k], tl[k]) !== '') out.push(`bwdTail[${acc}] ${k} ${bits(tg[k], tl[k])}`)
    tails.push(tg)
  }
  // q's alone: q's and the state's cotangents are the accumulating pass's; w's and t's untouched
  for (const k of ['cq', 'cxo', 'cpx', 'pxSet'] as const) if (bits(tails[2]![k], tails[1]![k]) !== '') out.push(`bwdTail[2] vs [1] ${k} ${bits(tails[2]![k], tails[1]![k])}`)
  if (bits(tails[2]!.cw, w0) !== '' || bits(tails[2]!.ct, t0) !== '') out.push('bwdTail[2] wrote w\'s or t\'s cotangent')
  // the tangent map: its head (dS, d(gᵀu), uᵀdu; dxn is its scratch) and its tail, with
  // and without dt
  const dq = arr(r, ns * n, special), dw = arr(r, ns * n, special), dx = arr(r, ns * n, special), dpx = arr(r, ns * n, special)
  const dtv = r.uniform() < 0.5 ? undefined : arr(r, ns, special)
  const fwdHead = (p: RowPasses) => {
    const DS = new Float64Array(ma * n).fill(7), dgu = new Float64Array(ma).fill(7), udu = new Float64Array(ma).fill(7), rowsOf = new Int32Array(ma).fill(-9)
    p.fwdHead(ma, posA, atA, rows, beta, dtv, dq, dw, dx, dpx, hl.E, S, X, PX, Q, R, IW, new Float64Array(ns * n), DS, dgu, udu, rowsOf)
    return { DS, dgu, udu, rowsOf }
  }
  const fg = fwdHead(gen), fl = fwdHead(loops)
  for (const k of ['DS', 'dgu', 'udu', 'rowsOf'] as const) if (bits(fg[k], fl[k]) !== '') out.push(`fwdHead ${k} ${bits(fg[k], fl[k])}`)
  const DPS = arr(r, ma * n, special)
  const fwdTail = (p: RowPasses) => {
    const dxn = new Float64Array(ns * n).fill(7), dpxn = new Float64Array(ns * n).fill(7)
    p.fwdTail(ma, posA, atA, rows, gamma, num, den, inside, Ls, fl.dgu, fl.udu, dx, dpx, S, X, PS, PX, fl.DS, DPS, dxn, dpxn)
    return { dxn, dpxn }
  }
  const tg = fwdTail(gen), tl = fwdTail(loops)
  for (const k of ['dxn', 'dpxn'] as const) if (bits(tg[k], tl[k]) !== '') out.push(`fwdTail ${k} ${bits(tg[k], tl[k])}`)
  return out
}

/**
 * The fused step and transpose for a shared dense P (`stepShared`, `bwdShared`) of `p`
 * against the passes they fuse, run one after another as the loops: the head, the small
 * product and the update; the transpose's head, Aᵀ and tail.
 */
const compareShared = (
  p: RowPasses, loops: RowPasses, r: Rng, n: number, B: number, m: number, rows: Int32Array, beta: number,
  st: { readonly PX: Float64Array; readonly Q: Float64Array; readonly R: Float64Array; readonly X: Float64Array }, special: boolean, label: string
): string[] => {
  const out: string[] = []
  const { PX, Q, R, X } = st
  const A = arr(r, n * n, special)
  const Ls = Float64Array.from({ length: B }, () => (r.uniform() < 0.2 ? pick(r, special) : 0.5 + 10 * r.uniform()))
  const floor = Float64Array.from({ length: B }, () => (r.uniform() < 0.3 ? 1e300 : 1e-12))
  const steps0 = Int32Array.from({ length: B }, () => Math.floor(10 * r.uniform())), f0 = arr(r, B, special), fPrev0 = arr(r, B, special)
  const step = (fused: boolean) => {
    const E = new Float64Array(m * n).fill(7), S = new Float64Array(m * n).fill(7), PS = new Float64Array(m * n).fill(7), gu = new Float64Array(m).fill(7), uu = new Float64Array(m).fill(7)
    const Xn = new Float64Array(B * n).fill(7), PXn = new Float64Array(B * n).fill(7)
    const gamma = new Float64Array(m), inside = new Uint8Array(m), num = new Float64Array(m), den = new Float64Array(m), moved = new Uint8Array(m)
    const steps = steps0.slice(), f = f0.slice(), fPrev = fPrev0.slice(), live = new Uint8Array(B).fill(1)
    const calls: number[] = []
    const fail = (j: number, upu: number): boolean => {
      seen.fail++
      calls.push(-1, j, upu)
      if (j % 2 === 1) return false
      Xn.fill(-3, rows[j]! * n, rows[j]! * n + n)
      return true
    }
    const go = (fb: number, fp: number, k: number): boolean => { seen.go++; calls.push(-2, fb, fp, k); return !(fb > fp) }
    if (fused) p.stepShared!(m, rows, beta, A, PX, Q, R, X, E, S, PS, gu, uu, Ls, floor, Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, fail, go)
    else {
      loops.head(m, rows, beta, PX, Q, R, X, E, S, gu, uu)
      smallLoops(A, n, false, S, m, PS)
      loops.update(m, rows, gu, uu, Ls, floor, S, PS, X, PX, Q, Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, fail, go)
    }
    return { E, S, PS, gu, uu, Xn, PXn, gamma, inside, num, den, moved, steps, f, fPrev, live, calls: Float64Array.from(calls) }
  }
  const sf = step(true), sl = step(false)
  for (const k of Object.keys(sl) as Array<keyof typeof sl>) if (bits(sf[k], sl[k]) !== '') out.push(`${label} stepShared ${k} ${bits(sf[k], sl[k])}`)
  // the transpose over a selection, on the step's own arrays
  const ns = B, pos: number[] = [], at: number[] = []
  for (let q = 0; q < ns; q++) if (m > 0 && r.uniform() < 0.8) { pos.push(q); at.push(Math.floor(r.uniform() * m)) }
  const ma = pos.length, posA = Int32Array.from(pos), atA = Int32Array.from(at)
  const cxa = arr(r, ns * n, special), cpa = arr(r, ns * n, special), IW = arr(r, B * n, special)
  const num = arr(r, m, special), den = Float64Array.from({ length: m }, () => (r.uniform() < 0.2 ? pick(r, special) : 0.1 + r.uniform()))
  const inside = Uint8Array.from({ length: m }, () => (r.uniform() < 0.6 ? 1 : 0)), gamma = Float64Array.from({ length: m }, () => (r.uniform() < 0.2 ? 0 : r.uniform()))
  const dense = Uint8Array.from({ length: B }, () => (r.uniform() < 0.7 ? 1 : 0)), pxSet0 = Uint8Array.from({ length: ns }, () => (r.uniform() < 0.6 ? 1 : 0))
  const q0 = arr(r, ns * n, special), w0 = arr(r, ns * n, special), t0 = arr(r, ns, special)
  const fusedOut: Array<Record<string, Float64Array | Int32Array | Uint8Array>> = []
  for (const acc of [0, 1, 2] as const) {
    const bwd = (fused: boolean) => {
      const cq = acc !== 0 ? q0.slice() : new Float64Array(ns * n).fill(7), cw = acc !== 0 ? w0.slice() : new Float64Array(ns * n).fill(7)
      const ct = acc !== 0 ? t0.slice() : new Float64Array(ns).fill(7)
      const cxo = new Float64Array(ns * n).fill(7), cpx = new Float64Array(ns * n).fill(7), pxSet = pxSet0.slice()
      const CPS = new Float64Array(ma * n).fill(7), rowsOf = new Int32Array(ma).fill(-9)
      // the terms' rows of s: kept (into SV) in the accumulating passes, not in the other
      const SV = acc !== 0 ? new Float64Array(ma * n).fill(7) : undefined
      if (fused) p.bwdShared![acc](ma, posA, atA, rows, gamma, num, den, inside, Ls, beta, A, cxa, cpa, sl.E, sl.S, X, sl.PS, PX, Q, R, IW, CPS, rowsOf, cq, cw, ct, cxo, cpx, pxSet, dense, SV)
      else {
        const cgamma = new Float64Array(ma), CS = new Float64Array(ma * n)
        for (let a = 0, k = 0; a < ma; a++) {
          const j = atA[a]!
          if (SV !== undefined && dense[rows[j]!] === 1 && gamma[j] !== 0 && pxSet[posA[a]!] === 1) SV.set(sl.S.subarray(j * n, j * n + n), n * k++)
        }
        loops.bwdHead(ma, posA, atA, rows, gamma, cxa, cpa, sl.S, X, sl.PS, PX, CPS, cgamma, rowsOf, dense, pxSet)
        smallLoops(A, n, true, CPS, ma, CS)
        loops.bwdTail[acc](ma, posA, atA, rows, gamma, num, den, inside, cgamma, Ls, beta, cxa, cpa, sl.E, sl.S, X, PX, Q, R, IW, CS, cq, cw, ct, cxo, cpx, pxSet, new Float64Array(2 * n))
      }
      return { CPS, rowsOf, cq, cw, ct, cxo, cpx, pxSet, SV: SV ?? new Float64Array(0) }
    }
    const bf = bwd(true), bl = bwd(false)
    for (const k of Object.keys(bl) as Array<keyof typeof bl>) if (bits(bf[k], bl[k]) !== '') out.push(`${label} bwdShared[${acc}] ${k} ${bits(bf[k], bl[k])}`)
    fusedOut.push(bf)
  }
  for (const k of ['CPS', 'rowsOf', 'cq', 'cxo', 'cpx', 'pxSet', 'SV'] as const) if (bits(fusedOut[2]![k]!, fusedOut[1]![k]!) !== '') out.push(`${label} bwdShared[2] vs [1] ${k} ${bits(fusedOut[2]![k]!, fusedOut[1]![k]!)}`)
  if (bits(fusedOut[2]!['cw']!, w0) !== '' || bits(fusedOut[2]!['ct']!, t0) !== '') out.push(`${label} bwdShared[2] wrote w's or t's cotangent`)
  return out
}

/** A random batch of rep's kind for the passes' comparisons. */
interface PassBatch {
  readonly B: number
  readonly m: number
  readonly rows: Int32Array
  readonly beta: number
  readonly st: { readonly PX: Float64Array; readonly Q: Float64Array; readonly R: Float64Array; readonly X: Float64Array }
  readonly special: boolean
}

/**
 * f on a random batch of up to maxB instances at n, of rep's kind: ordinary numbers only
 * (every third rep), else every kind of number (with NaN and ±Infinity in two of three);
 * t = 0 or w skewed over six decades in some reps; β from 1e-300 to 2^20.
 */
const onBatch = (r: Rng, n: number, rep: number, maxB: number, f: (b: PassBatch) => string[]): string[] => {
  const special = rep % 3 !== 0
  ordinary = rep % 3 === 0
  try {
    const B = 1 + Math.floor(r.uniform() * maxB)
    // the live rows: a random subset of the instances (some batches with none)
    const rowsL: number[] = []
    for (let b = 0; b < B; b++) if (r.uniform() < 0.7) rowsL.push(b)
    const rows = Int32Array.from(rowsL)
    const PX = arr(r, B * n, special), Q = arr(r, B * n, special), X = arr(r, B * n, special)
    // r = t/w: t = 0 in some batches, w skewed over six decades in others
    const R = rep % 4 === 1 ? new Float64Array(B * n) : Float64Array.from({ length: B * n }, () => (rep % 4 === 2 ? 10 ** (6 * r.uniform() - 3) : pick(r, special)))
    const beta = [1, 2 ** 20, 0.5, 1e-300][rep % 4]!
    return f({ B, m: rows.length, rows, beta, st: { PX, Q, R, X }, special })
  } finally { ordinary = false }
}

t.test('the generated row passes are the loops\' numbers bitwise at n = 1..15, on every kind of number, over masked rows', async (t) => {
  const r = rng(2026)
  for (let n = 1; n < 16; n++) {
    const gen = withCodegen(true, () => rowPasses(n)), loops = rowLoops(n)
    t.not(gen.head, loops.head, `n = ${n}: the generated passes are not the loops`)
    const diffs: string[] = []
    for (let rep = 0; rep < 12; rep++) {
      diffs.push(...onBatch(r, n, rep, 9, ({ B, m, rows, beta, st, special }) => [
        ...comparePasses(gen, loops, r, n, B, m, rows, beta, st, special),
        ...(['generated', 'loops'] as const).flatMap((label) => compareShared(label === 'generated' ? gen : loops, loops, r, n, B, m, rows, beta, st, special, label))
      ]).map((d) => `rep ${rep}: ${d}`))
    }
    t.same(diffs, [], `n = ${n}: head, update, transpose (set, accumulating, and q's alone), tangent, and the fused step and transpose for a shared P, bitwise the loops'`)
  }
  t.ok(seen.fail > 0 && seen.go > 0, `the update offered rows to fail (${seen.fail}) and called the stop test (${seen.go})`)
})

t.test('at n ≥ 16 the transpose\'s tail is generated (unrolled by four) and the other passes are the loops: bitwise the loops\' numbers', async (t) => {
  const r = rng(2027)
  for (const n of [16, 17, 18, 19, 33, 100]) {
    const gen = withCodegen(true, () => rowPasses(n)), loops = rowLoops(n)
    t.not(gen.bwdTail[1], loops.bwdTail[1], `n = ${n}: the tail is generated code`)
    t.equal(withCodegen(false, () => rowPasses(n)).bwdTail[1], withCodegen(false, () => rowPasses(n)).bwdTail[1], `n = ${n}, generated code off: the loops, made once`)
    t.equal(withCodegen(true, () => rowPasses(n)).bwdTail[0], gen.bwdTail[0], `n = ${n}, on again: the generated tail, made once`)
    const diffs: string[] = []
    for (let rep = 0; rep < 6; rep++) {
      diffs.push(...onBatch(r, n, rep, 6, ({ B, m, rows, beta, st, special }) => comparePasses(gen, loops, r, n, B, m, rows, beta, st, special)).map((d) => `rep ${rep}: ${d}`))
    }
    t.same(diffs, [], `n = ${n}: head, update, transpose (set, accumulating, and q's alone) and tangent bitwise the loops'`)
  }
})

t.test('with the generated code off (as where code cannot be generated), and at n ≥ 16, the batch runs the loops', async (t) => {
  const loops10 = withCodegen(false, () => rowPasses(10))
  t.equal(loops10.head, withCodegen(false, () => rowPasses(10)).head, 'off: the loops of n = 10, made once')
  t.not(loops10.head, withCodegen(true, () => rowPasses(10)).head, 'on: generated code')
  t.equal(rowPasses(16).head, rowPasses(16).head, 'n = 16: the loops, made once')
  // a source that does not compile falls back to the loops
  const k = generatedKernels((x: number) => ({ params: ['v'], body: `return v * ${x} +` }), (x: number) => (v: number) => v * x)
  t.equal(k(3)(2), 6, 'a source that cannot be compiled: the loops')
  const g = generatedKernels((x: number) => ({ params: ['v'], body: `return v * ${x} + 1` }), (x: number) => (v: number) => v * x)
  t.same([g(3)(2), withCodegen(false, () => g(3)(2))], [7, 6], 'a source that compiles: generated when on, the loops when off')
})

// -------------------------------------------------------------------------------------
// whole runs
// -------------------------------------------------------------------------------------

const dimN = (n: number) => unsafeDim<N>(n)
const rowsMat = <B>(B: number, n: number, data: Float64Array): Mat<B, N> => ({ rows: unsafeDim<B>(B), cols: dimN(n), data })
const psd = (r: Rng, n: number, mu = 0.5): Float64Array => Float64Array.from(randomPlain(r, n, mu).P)
const denseOp = (n: number, data: Float64Array): LinearOperator<N> => dense(matOf(n, data))

/** Which instances of a batch ran as one batched fold (the engine's groups). */
const batchedOf = (options: LayerOptions, problems: ReadonlyArray<Problem<N>>): number => withCall(() => {
  const v = batchValidator(options)
  const items: Validated<N>[] = problems.map((p) => {
    try { return E.right({ ...v.check(p), problem: p }) } catch (e) { return E.left(e as LayerError) }
  })
  return solveValidated(options, items).groups.reduce((s, g) => s + g.items.length, 0)
})

/**
 * A batch of B instances at n: operators shared (one dense object for most), of their
 * own, sharing a second object, low rank, indefinite with a positive diagonal (negative
 * curvature the run meets, n ≥ 2); q over 1e-6..1e6 and one q = 0; w skewed over six
 * decades in some rows; radii from tiny to loose.
 */
const family = (r: Rng, n: number): { readonly problems: Problem<N>[]; readonly ops: LinearOperator<N>[]; readonly Q: Float64Array; readonly W: Float64Array; readonly T: Float64Array } => {
  const shared = denseOp(n, psd(r, n)), second = denseOp(n, psd(r, n, 2))
  const indefinite = (): LinearOperator<N> => {
    const a = new Float64Array(n * n)
    for (let i = 0; i < n; i++) a[i * n + i] = 1
    a[1] = 3; a[n] = 3
    return denseOp(n, a)
  }
  const ops: LinearOperator<N>[] = [shared, shared, denseOp(n, psd(r, n)), second, shared, second, shared, shared,
    lowRank(vec(Float64Array.from({ length: n }, () => 0.5 + r.uniform())), 1, Float64Array.from({ length: n }, () => r.normal() / Math.sqrt(n))), shared]
  if (n >= 2) ops.push(indefinite())
  const B = ops.length
  const qs = [1, 1e-6, 1e6, 0.3, 0, 30, 1e-3, 1, 2, 1e3, 1]
  const Q = new Float64Array(B * n), W = new Float64Array(B * n), T = new Float64Array(B)
  const problems = ops.map((P, b) => {
    const q = Float64Array.from({ length: n }, () => qs[b]! * r.normal())
    const w = Float64Array.from({ length: n }, () => (b % 3 === 2 ? 10 ** (6 * r.uniform() - 3) : 0.5 + r.uniform()))
    let s = 0
    for (let i = 0; i < n; i++) s += Math.abs(w[i]! * q[i]!)
    const tb = b === 4 ? 0.5 : b === 6 ? 1e-9 : Math.max([0.05, 0.2, 0.5, 1, 0.1, 2][b % 6]! * s / n, 1e-12)
    Q.set(q, b * n); W.set(w, b * n); T[b] = tb
    return { P, q: vec(q), w: vec(w), t: tb, set: 'l1' as const }
  })
  return { problems, ops, Q, W, T }
}

/** Everything a batched solve gives, as named arrays: x, the errors' paths, vjp (q, w, t, pEach, pSum) and jvp. */
const everything = (options: LayerOptions, f: ReturnType<typeof family>, n: number, r: Rng): Array<[string, ArrayLike<number>]> => {
  const B = f.ops.length
  const sol = dfwBatchSolve(options)<'b', N>({ P: f.ops, q: rowsMat(B, n, f.Q), w: rowsMat(B, n, f.W), t: { dim: unsafeDim<'b'>(B), data: f.T } as Vec<'b'> })
  const C = Float64Array.from({ length: B * n }, (_, k) => (k % 4 === 0 ? 0 : r.normal()))
  const g = sol.vjp(rowsMat(B, n, C))
  const dP = Array.from({ length: B }, () => matOf(n, Float64Array.from({ length: n * n }, () => r.normal())))
  const dx = sol.jvp({ q: rowsMat(B, n, Float64Array.from({ length: B * n }, () => r.normal())), w: rowsMat(B, n, Float64Array.from({ length: B * n }, () => r.normal())), t: { dim: unsafeDim<'b'>(B), data: Float64Array.from({ length: B }, () => r.normal()) } as Vec<'b'>, P: dP })
  const out: Array<[string, ArrayLike<number>]> = [['x', sol.x.data], ['vjp q', g.q.data], ['vjp w', g.w.data], ['vjp t', g.t.data], ['pSum', g.pSum().data], ['jvp', dx.data]]
  g.pEach().forEach((m, b) => out.push([`pEach[${b}]`, m?.data ?? [NaN, b]]))
  sol.results.forEach((o, b) => out.push([`result[${b}]`, E.isLeft(o) ? [...o.left.path].map((c) => c.charCodeAt(0)) : [o.right.iterations, o.right.objective, o.right.gap]]))
  return out
}

t.test('whole batched runs at n = 1..15: x, errors, the batched vjp and jvp bitwise the same with the generated code on and off', async (t) => {
  const modes: LayerOptions[] = [
    { schedule: 'paper', backward: 'unrolled', maxIterations: 200 },
    { schedule: 'paper', backward: 'unrolled', maxIterations: 30, tolerance: 0 },
    { schedule: 'paper', backward: 'unrolled', maxIterations: 60, tolerance: 1e-3, beta0: 0.1 }
  ]
  for (let n = 1; n < 16; n++) {
    const f = family(rng(300 + n), n)
    for (const [k, options] of modes.entries()) {
      const seed = 1000 * n + k
      const on = withCodegen(true, () => everything(options, f, n, rng(seed)))
      const off = withCodegen(false, () => everything(options, f, n, rng(seed)))
      const diffs = on.flatMap(([name, v], i) => { const d = bits(v, off[i]![1]); return d === '' ? [] : [`${name} ${d}`] })
      const batched = batchedOf(options, f.problems)
      const failed = on.filter(([name, v]) => name.startsWith('result') && v.length !== 3).length
      t.same(diffs, [], `n = ${n}, ${JSON.stringify(options)}: bitwise (${batched} of ${f.ops.length} instances in the batched fold, ${failed} Left)`)
      t.ok(batched >= f.ops.length - 3, `n = ${n}: most instances ran in the batched fold (${batched})`)
    }
  }
})
