/**
 * The implicit mode's lean path (src/fw/LeanFace.ts: small dense l1, l∞ and simplex
 * instances, n ≤ LEAN_MAX_N), held to the general path (an active-set polish and the
 * general KKT face derivative, `setLeanFace(false)`) and to the laws:
 * - well-conditioned random and designed instances (n from 1 to LEAN_MAX_N, t = 0.3, 1, 5,
 *   interior and boundary solutions): where the lean path accepts, x, the face report, the
 *   vjp (q, w, t, P) and the jvp along tangents of each agree with the general path's to
 *   1e-10 and 1e-9, and the lean path accepts at least 80 % of them; where it rejects, the
 *   result is bitwise the general path's;
 * - on lean-accepted results: central finite differences in q, t, w and P match jvp and
 *   vjp to 1e-5, ⟨J v, u⟩ = ⟨v, Jᵀu⟩ to 1e-11, and x and the derivatives match the
 *   double-double reference (test/helpers/ddReference.ts);
 * - hard instances (cond 1e6 and 1e8 with narrow and wide faces, rank n − 1 and n/2, exact
 *   kinks, dual and primal near-kinks around the acceptance margin, non-unique minimizers,
 *   P = 0, non-PSD P, scales 1e±150, weights 1e-4…1e4): either bitwise the general path (a
 *   rejection) or an acceptance that agrees with it and obeys the transpose law; never NaN,
 *   and the same error when there is one;
 * - the paper schedule and warm starts (dfwBatchSolve with a previous x), which take the
 *   lean path too: the same agreement, or bitwise;
 * - a batch (dfwBatchSolve with a shared and with per-instance P, dfwBatch over problems,
 *   warm batches) with well-conditioned, hard and invalid instances is bitwise each
 *   instance alone, with the same lean counters;
 * - outside the lean scope (l2, n = LEAN_MAX_N + 1, low-rank and CSR P, the unrolled
 *   backward, the box) the lean path is never tried.
 */
import t, { type Test } from 'tap'
import * as E from 'fp-ts/lib/Either.js'
import { unsafeDim } from '../src/shapes/Dim.js'
import type { Mat } from '../src/shapes/Mat.js'
import type { LinearOperator } from '../src/core/LinearOperator.js'
import { dfwBatch, dfwBatchSolve, dfwLayer, LayerError, type BatchProblem, type LayerOptions, type LayerResult } from '../src/fw/index.js'
import type { Gradients, Problem } from '../src/fw/Problem.js'
import { LEAN_MAX_N, leanStats, resetLeanStats, setLeanFace } from '../src/fw/LeanFace.js'
import {
  type N, type Rng, designed, integerP, kinkProblem, libOperator, libProblem, libTangent, lowRankP, csrP,
  rankDeficientP, rng, scaleP, spectralP, vec
} from './helpers/hardProblems.js'
import type { RefP, RefProblem, RefTangent } from './helpers/ddReference.js'
import { jvpRef, solveReference, vjpRef } from './helpers/ddReference.js'
import { dotScaled, norm2, transposeResidual } from './helpers/hardCheck.js'

// -------------------------------------------------------------------------------------
// the switch, restored whatever happens
// -------------------------------------------------------------------------------------

const initial = setLeanFace(true)
t.teardown(() => { setLeanFace(initial) })

type Set3 = 'l1' | 'linf' | 'simplex'
const SETS3: readonly Set3[] = ['l1', 'linf', 'simplex']

// -------------------------------------------------------------------------------------
// problems
// -------------------------------------------------------------------------------------

const normals = (r: Rng, k: number, s = 1): Float64Array => Float64Array.from({ length: k }, () => s * r.normal())
const maxAbs = (a: ArrayLike<number>): number => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!)); return m }
const sub = (a: ArrayLike<number>, b: ArrayLike<number>): Float64Array => Float64Array.from({ length: a.length }, (_, i) => a[i]! - b[i]!)

/** AᵀA/n + μI, A standard normal (cond ≤ (4 + μ)/μ roughly: 5 at μ = 1, about 400 at μ = 0.01). */
const gramP = (r: Rng, n: number, mu: number): RefP => {
  const A = normals(r, n * n), P = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    let s = 0
    for (let k = 0; k < n; k++) s += A[k * n + i]! * A[k * n + j]!
    const v = s / n + (i === j ? mu : 0)
    P[i * n + j] = v; P[j * n + i] = v
  }
  return { kind: 'dense', data: P }
}
const weights = (r: Rng, n: number): Float64Array => Float64Array.from({ length: n }, () => 0.5 + r.uniform())
const randomProblem = (r: Rng, set: Set3, P: RefP, n: number, tt: number, w = weights(r, n)): RefProblem =>
  ({ n, set, P, q: normals(r, n), w, t: tt })
const pData = (p: RefProblem): Float64Array => { if (p.P.kind !== 'dense') throw new Error('dense P expected'); return p.P.data }
const label = (p: RefProblem, what: string): string => `${what} (${p.set}, n = ${p.n}, t = ${p.t})`

// -------------------------------------------------------------------------------------
// runs: one solve with the lean path on or off, and its counters
// -------------------------------------------------------------------------------------

interface Run {
  readonly res?: LayerResult<N>
  readonly error?: Error
  readonly tried: number
  readonly accepted: number
}

const solve = (p: RefProblem, lean: boolean, options: LayerOptions = {}): Run => {
  const was = setLeanFace(lean)
  resetLeanStats()
  try {
    const res = dfwLayer(options)(libProblem(p))
    return { res, ...leanStats() }
  } catch (e) {
    return { error: e as Error, ...leanStats() }
  } finally {
    setLeanFace(was)
  }
}

// -------------------------------------------------------------------------------------
// probes: a cotangent and tangents of q, w (l1), t and a symmetric P, scaled like θ
// -------------------------------------------------------------------------------------

interface Probe {
  readonly ct: Float64Array
  /** One tangent per parameter, then all of them at once. */
  readonly tangents: ReadonlyArray<readonly [string, RefTangent]>
}

const symmetricTangent = (r: Rng, n: number, s: number): Float64Array => {
  const d = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { const v = s * r.normal(); d[i * n + j] = v; d[j * n + i] = v }
  return d
}

const probeOf = (r: Rng, p: RefProblem): Probe => {
  const n = p.n
  const qs = Math.max(maxAbs(p.q), 1e-300), ps = Math.max(maxAbs(pData(p)), 1e-300)
  const q = normals(r, n, qs), w = Float64Array.from(p.w, (wi) => wi * r.normal()), tt = p.t * r.normal(), P = symmetricTangent(r, n, ps)
  const tangents: Array<readonly [string, RefTangent]> = [['q', { q }], ['t', { t: tt }], ['P', { P }]]
  if (p.set === 'l1') tangents.push(['w', { w }])
  tangents.push(['all', { q, t: tt, P, ...(p.set === 'l1' ? { w } : {}) }])
  return { ct: normals(r, n), tangents }
}

interface Derivs {
  readonly g: Gradients<N>
  readonly jv: readonly Float64Array[]
}

const derivsOf = (res: LayerResult<N>, p: RefProblem, probe: Probe): Derivs => ({
  g: res.vjp(vec(probe.ct)),
  jv: probe.tangents.map(([, tan]) => Float64Array.from(res.jvp(libTangent(p, tan)).data))
})

// -------------------------------------------------------------------------------------
// comparisons
// -------------------------------------------------------------------------------------

const bits = (a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined): string => {
  if (a === undefined || b === undefined) return a === b ? '' : 'one is undefined'
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `[${i}]: ${a[i]} vs ${b[i]}`
  return ''
}

/** Every difference between two results and their derivatives, bit for bit. */
const bitwise = (a: LayerResult<N>, b: LayerResult<N>, da: Derivs, db: Derivs): string[] => {
  const d: string[] = []
  const note = (what: string, s: string): void => { if (s !== '') d.push(`${what} ${s}`) }
  note('x', bits(a.x.data, b.x.data))
  note('objective, gap, iterations', bits([a.objective, a.gap, a.iterations], [b.objective, b.gap, b.iterations]))
  if (a.status !== b.status) d.push(`status ${a.status} vs ${b.status}`)
  note('face', bits([a.face?.size ?? NaN, a.face?.margin ?? NaN], [b.face?.size ?? NaN, b.face?.margin ?? NaN]))
  if (a.face?.derivative !== b.face?.derivative) d.push(`face.derivative ${a.face?.derivative} vs ${b.face?.derivative}`)
  note('polish', bits([a.polish?.attempts ?? NaN, a.polish?.rounds ?? NaN, a.polish?.faceSolves ?? NaN], [b.polish?.attempts ?? NaN, b.polish?.rounds ?? NaN, b.polish?.faceSolves ?? NaN]))
  note('vjp.q', bits(da.g.q.data, db.g.q.data))
  note('vjp.w', bits(da.g.w.data, db.g.w.data))
  note('vjp.t', bits([da.g.t], [db.g.t]))
  note('vjp.P', bits(da.g.P?.data, db.g.P?.data))
  da.jv.forEach((v, k) => note(`jvp[${k}]`, bits(v, db.jv[k])))
  return d
}

/**
 * The natural sizes of x and of θ's parts: a gradient of ⟨c, x⟩ in θₖ is measured in
 * units of x/θₖ, a jvp along a tangent scaled like θ in units of x. All 1 for problems of
 * order 1 (the tolerances' absolute floors are then the brief's 1e-12).
 */
interface Units { readonly x: number; readonly q: number; readonly t: number; readonly P: number }
const ONE: Units = { x: 1, q: 1, t: 1, P: 1 }

const fmt = (v: number): string => v.toExponential(2)

/** Where a lean result and the general one disagree beyond the tolerances (empty: they agree). */
const disagreement = (lean: LayerResult<N>, gen: LayerResult<N>, dl: Derivs, dg: Derivs, probe: Probe, u: Units, gapUnit: number): string[] => {
  const d: string[] = []
  if (lean.status !== 'converged') d.push(`lean status ${lean.status}`)
  if (gen.status !== 'converged') d.push(`general status ${gen.status}`)
  const xs = Math.max(u.x, maxAbs(gen.x.data))
  const dx = maxAbs(sub(lean.x.data, gen.x.data))
  if (!(dx <= 1e-10 * xs)) d.push(`x differs by ${fmt(dx)} (‖x‖∞ ${fmt(maxAbs(gen.x.data))})`)
  if (lean.face?.size !== gen.face?.size) d.push(`face.size ${lean.face?.size} vs ${gen.face?.size}`)
  if (lean.face?.derivative !== gen.face?.derivative) d.push(`face.derivative ${lean.face?.derivative} vs ${gen.face?.derivative}`)
  // the objective, in its units (x·q), and the gap certificate, in its own (the gradient times the set's reach)
  const fs = Math.max(u.x * u.q, Math.abs(gen.objective))
  if (!(Math.abs(lean.objective - gen.objective) <= 1e-10 * fs)) d.push(`objective ${lean.objective} vs ${gen.objective}`)
  if (!(lean.gap >= 0 && lean.gap <= 1e-10 * Math.max(fs, gapUnit))) d.push(`lean gap ${lean.gap} (objective ${gen.objective}, the gap's unit ${gapUnit})`)
  const ml = lean.face?.margin ?? NaN, mg = gen.face?.margin ?? NaN
  if (!(Math.abs(ml - mg) <= Math.max(1e-6 * Math.abs(mg), 1e-12))) d.push(`face.margin ${ml} vs ${mg}`)
  const close = (what: string, a: ArrayLike<number>, b: ArrayLike<number>, unit: number): void => {
    const e = norm2(sub(a, b)), nb = norm2(b)
    if (!(e <= 1e-9 * nb + 1e-12 * unit)) d.push(`${what} differs by ${fmt(e)} (‖·‖ ${fmt(nb)})`)
  }
  close('vjp.q', dl.g.q.data, dg.g.q.data, u.x / u.q)
  close('vjp.w', dl.g.w.data, dg.g.w.data, u.x)
  close('vjp.t', [dl.g.t], [dg.g.t], u.x / u.t)
  if ((dl.g.P === undefined) !== (dg.g.P === undefined)) d.push('vjp.P present in one only')
  else if (dl.g.P !== undefined && dg.g.P !== undefined) close('vjp.P', dl.g.P.data, dg.g.P.data, u.x / u.P)
  probe.tangents.forEach(([k], i) => close(`jvp(${k})`, dl.jv[i]!, dg.jv[i]!, u.x))
  return d
}

/** The worst transpose-law residual ⟨c, J v⟩ vs ⟨Jᵀc, v⟩ over the probe's tangents. */
const transposeWorst = (dl: Derivs, probe: Probe): number => {
  let worst = 0
  probe.tangents.forEach(([, tan], i) => {
    const g = dl.g
    const res = transposeResidual(probe.ct, dl.jv[i]!, { q: g.q.data, w: g.w.data, t: g.t, P: g.P?.data }, tan)
    worst = Number.isNaN(res) ? NaN : Math.max(worst, res)
  })
  return worst
}

const finiteAll = (res: LayerResult<N>, dd: Derivs): boolean => {
  const xs: Array<ArrayLike<number>> = [res.x.data, [res.objective, res.gap, dd.g.t, res.face?.margin ?? 0], dd.g.q.data, dd.g.w.data, dd.g.P?.data ?? [], ...dd.jv]
  return xs.every((a) => Array.from(a).every(Number.isFinite))
}

/** The gap's natural size: (‖q‖∞ + ‖P‖max·n‖x‖∞)·R, R the set's reach (t, or t/wᵢ on l1). */
const gapUnit = (p: RefProblem, x: ArrayLike<number>): number => {
  const reach = p.set === 'l1' ? p.t / Math.min(...p.w) : p.t
  return (maxAbs(p.q) + maxAbs(pData(p)) * p.n * maxAbs(x)) * reach
}

/**
 * Lean on against lean off on one problem: a rejection (or an instance the lean path does
 * not see) must be bitwise the general path, an acceptance within the tolerances and
 * obeying the transpose law; errors must be the same error. Returns what went wrong and
 * whether the lean path accepted.
 */
interface Verdict { readonly problems: string[]; readonly accepted: boolean; readonly tried: number; readonly margin?: number; readonly error?: string }

const compare = (p: RefProblem, r: Rng, u?: Units, mustConverge = false, options: LayerOptions = {}): Verdict =>
  judge(p, solve(p, true, options), solve(p, false, options), r, u, mustConverge)

/** {@link compare} on two runs already made (lean on, lean off). */
const judge = (p: RefProblem, on: Run, off: Run, r: Rng, u?: Units, mustConverge = false): Verdict => {
  const problems: string[] = []
  if (mustConverge) for (const [k, run] of [['on', on], ['off', off]] as const) {
    if (run.res?.status !== 'converged') problems.push(`lean ${k}: ${run.res?.status ?? run.error?.message}, not converged`)
  }
  if (off.tried !== 0) problems.push(`lean off, yet tried ${off.tried}`)
  if (on.accepted > on.tried || on.tried > 1) problems.push(`counters tried ${on.tried}, accepted ${on.accepted}`)
  const accepted = on.accepted === 1
  if (on.res === undefined || off.res === undefined) {
    if (on.error?.message !== off.error?.message || (on.error instanceof LayerError) !== (off.error instanceof LayerError)) {
      problems.push(`lean on: ${on.error?.message ?? 'a result'}; lean off: ${off.error?.message ?? 'a result'}`)
    }
    return { problems, accepted, tried: on.tried, error: on.error?.message ?? off.error?.message ?? '' }
  }
  const probe = probeOf(r, p)
  const dOn = derivsOf(on.res, p, probe), dOff = derivsOf(off.res, p, probe)
  if (!finiteAll(on.res, dOn)) problems.push('lean on: a non-finite number')
  if (!finiteAll(off.res, dOff)) problems.push('lean off: a non-finite number')
  if (!accepted) problems.push(...bitwise(on.res, off.res, dOn, dOff).map((s) => `rejected, yet ${s}`))
  else {
    const units = u === undefined ? ONE : { ...u, x: Math.max(u.x, maxAbs(off.res.x.data)) }
    problems.push(...disagreement(on.res, off.res, dOn, dOff, probe, units, gapUnit(p, off.res.x.data)))
    const tr = transposeWorst(dOn, probe)
    if (!(tr <= 1e-11)) problems.push(`transpose law residual ${fmt(tr)}`)
  }
  return { problems, accepted, tried: on.tried, ...(on.res.face === undefined ? {} : { margin: on.res.face.margin }) }
}

// -------------------------------------------------------------------------------------
// 1. well-conditioned problems: lean on = general path
// -------------------------------------------------------------------------------------

const N_LIST = [1, 2, 3, 5, 10, 16, LEAN_MAX_N]

/** The well-conditioned instances: random q at every (set, n, t, μ), designed interior and boundary solutions. */
const wellConditioned = (r: Rng): Array<{ readonly what: string; readonly p: RefProblem }> => {
  const out: Array<{ readonly what: string; readonly p: RefProblem }> = []
  for (const set of SETS3) {
    for (const n of N_LIST) {
      for (const tt of [0.3, 1, 5]) for (const mu of [1, 0.01]) out.push({ what: `random q, μ = ${mu}`, p: randomProblem(r, set, gramP(r, n, mu), n, tt) })
      // interior (l1, l∞: the unconstrained minimizer inside; simplex: every coordinate positive) and a designed boundary face
      out.push({ what: 'designed inside', p: designed(r, set, gramP(r, n, 0.5), n, [0.3, 1, 5][n % 3]!, { binding: false }) })
      out.push({ what: 'designed binding', p: designed(r, set, gramP(r, n, 0.5), n, [5, 0.3, 1][n % 3]!, { binding: true }) })
    }
  }
  return out
}

t.test('the switch: on by default, setLeanFace returns the previous setting', async (t) => {
  t.equal(initial, true, 'on by default')
  t.equal(setLeanFace(false), true, 'returns on')
  t.equal(setLeanFace(true), false, 'returns off')
  t.ok(Number.isInteger(LEAN_MAX_N) && LEAN_MAX_N >= 1, `LEAN_MAX_N = ${LEAN_MAX_N}`)
})

t.test('well-conditioned instances: the lean result is the general path\'s to 1e-10 (x) and 1e-9 (vjp, jvp); a rejection is bitwise it', async (t) => {
  const r = rng(101)
  const cases = wellConditioned(r)
  let accepted = 0, tried = 0
  const bySet: Record<string, [number, number]> = {}
  const rejected: string[] = []
  for (const [k, { what, p }] of cases.entries()) {
    const c = compare(p, r, undefined, true)
    tried += c.tried
    if (c.accepted) accepted++
    else rejected.push(`#${k} ${label(p, what)}`)
    const s = bySet[p.set] ?? [0, 0]; s[0] += c.accepted ? 1 : 0; s[1]++; bySet[p.set] = s
    t.same(c.problems, [], `${label(p, what)}: ${c.accepted ? 'accepted, agrees' : 'rejected, bitwise'}`)
  }
  t.equal(tried, cases.length, 'the lean path is tried exactly once on every instance')
  const frac = accepted / cases.length
  t.comment(`well-conditioned: lean accepted ${accepted}/${cases.length} = ${(100 * frac).toFixed(1)} % (${Object.entries(bySet).map(([k, [a, b]]) => `${k} ${a}/${b}`).join(', ')})`)
  if (rejected.length > 0) t.comment(`rejected: ${rejected.join('; ')}`)
  t.ok(frac >= 0.8, `the lean path accepts at least 80 % of the well-conditioned instances (${(100 * frac).toFixed(1)} %)`)
})

// -------------------------------------------------------------------------------------
// 2. derivative laws on lean-accepted results
// -------------------------------------------------------------------------------------

/** x at θ + h·v (v scaled like θ; P's part symmetric), lean on. */
const xAt = (p: RefProblem, v: RefTangent, h: number): Float64Array => {
  const moved: RefProblem = {
    ...p,
    q: v.q === undefined ? p.q : Float64Array.from(p.q, (a, i) => a + h * v.q![i]!),
    w: v.w === undefined ? p.w : Float64Array.from(p.w, (a, i) => a + h * v.w![i]!),
    t: v.t === undefined ? p.t : p.t + h * v.t,
    P: v.P === undefined ? p.P : { kind: 'dense', data: Float64Array.from(pData(p), (a, i) => a + h * v.P![i]!) }
  }
  const run = solve(moved, true)
  if (run.res === undefined) throw run.error ?? new Error('no result')
  if (run.res.status !== 'converged') throw new Error(`a perturbed solve ended ${run.res.status}`)
  return Float64Array.from(run.res.x.data)
}

t.test('lean-accepted results: central differences in q, t, w and P match jvp and vjp to 1e-5; the transpose law holds to 1e-11; the double-double reference agrees', async (t) => {
  const r = rng(202)
  let checked = 0, skipped = 0
  const h = 1e-6
  for (const set of SETS3) {
    for (const n of [1, 2, 5, 10, 16, LEAN_MAX_N]) {
      for (const kind of ['designed', 'random'] as const) {
        const P = gramP(r, n, 0.5)
        const p = kind === 'designed' ? designed(r, set, P, n, 1, { binding: n > 1 || set !== 'l1' }) : randomProblem(r, set, P, n, n % 2 === 0 ? 0.3 : 5)
        const run = solve(p, true)
        const res = run.res
        if (res === undefined || run.accepted !== 1 || !((res.face?.margin ?? 0) > 1e-3)) { skipped++; continue }
        checked++
        const name = label(p, kind)
        const probe = probeOf(r, p)
        const dd = derivsOf(res, p, probe)
        const x = res.x.data
        const xs = Math.max(maxAbs(x), 1e-300)
        // finite differences along each single-parameter tangent
        const fdErr: string[] = []
        probe.tangents.forEach(([k, tan], i) => {
          if (k === 'all') return
          const fd = sub(xAt(p, tan, h), xAt(p, tan, -h)).map((v) => v / (2 * h))
          const jv = dd.jv[i]!
          const e = norm2(sub(fd, jv))
          if (!(e <= 1e-5 * norm2(jv) + 1e-8 * xs)) fdErr.push(`jvp(${k}) vs FD: ${fmt(e)} (‖jvp‖ ${fmt(norm2(jv))})`)
          // the vjp's side: ⟨Jᵀc, v⟩ against ⟨c, FD⟩
          const g = dd.g
          const vjpSide = (tan.q === undefined ? 0 : dotScaled(g.q.data, tan.q)) + (tan.w === undefined ? 0 : dotScaled(g.w.data, tan.w)) +
            (tan.t === undefined ? 0 : g.t * tan.t) + (tan.P === undefined || g.P === undefined ? 0 : dotScaled(g.P.data, tan.P))
          const fdSide = dotScaled(probe.ct, fd)
          if (!(Math.abs(vjpSide - fdSide) <= 1e-5 * norm2(probe.ct) * norm2(fd) + 1e-8 * norm2(probe.ct) * xs)) fdErr.push(`vjp(${k}) vs FD: ${vjpSide} vs ${fdSide}`)
        })
        t.same(fdErr, [], `${name}: jvp and vjp match central differences (margin ${fmt(res.face!.margin)})`)
        // the transpose law over random tangents of every parameter and random cotangents
        let worst = transposeWorst(dd, probe)
        for (let k = 0; k < 3; k++) {
          const pr = probeOf(r, p)
          worst = Math.max(worst, transposeWorst(derivsOf(res, p, pr), pr))
        }
        t.ok(worst <= 1e-11, `${name}: ⟨J v, u⟩ = ⟨v, Jᵀu⟩ to ${fmt(worst)}`)
        // against the double-double reference, solved from the lean x's face
        const ref = solveReference(p, x)
        const refErr: string[] = []
        const ex = maxAbs(sub(x, ref.x))
        if (!(ex <= 1e-10 * Math.max(1, maxAbs(ref.x)))) refErr.push(`x differs by ${fmt(ex)}`)
        // the objective is f* and the gap certifies it: f − f* ≤ gap (to rounding)
        const fs = Math.max(1, Math.abs(ref.objective))
        if (!(Math.abs(res.objective - ref.objective) <= 1e-12 * fs)) refErr.push(`objective ${res.objective} vs f* ${ref.objective}`)
        if (!(res.objective - ref.objective <= res.gap + 1e-14 * fs)) refErr.push(`gap ${res.gap} below f − f* = ${res.objective - ref.objective}`)
        const gr = vjpRef(ref, probe.ct)
        const rel = (a: ArrayLike<number>, b: ArrayLike<number>): number => norm2(sub(a, b)) / Math.max(norm2(b), 1e-300)
        const okRel = (what: string, a: ArrayLike<number>, b: ArrayLike<number>): void => {
          const e = norm2(sub(a, b))
          if (!(e <= 1e-9 * norm2(b) + 1e-12)) refErr.push(`${what}: rel ${fmt(rel(a, b))}`)
        }
        okRel('vjp.q', dd.g.q.data, gr.q)
        okRel('vjp.w', dd.g.w.data, gr.w)
        okRel('vjp.t', [dd.g.t], [gr.t])
        if (dd.g.P !== undefined) okRel('vjp.P', dd.g.P.data, gr.P)
        probe.tangents.forEach(([k, tan], i) => okRel(`jvp(${k})`, dd.jv[i]!, jvpRef(ref, tan)))
        t.same(refErr, [], `${name}: x, vjp and jvp match the double-double reference`)
      }
    }
  }
  t.comment(`derivative laws: ${checked} lean-accepted instances checked, ${skipped} skipped (rejected or margin ≤ 1e-3)`)
  t.ok(checked >= 24, `enough lean-accepted instances with a margin above 1e-3 (${checked})`)
})

// -------------------------------------------------------------------------------------
// 3. hard problems
// -------------------------------------------------------------------------------------

interface Hard { readonly what: string; readonly p: RefProblem; readonly units?: Units }

/** Binds two coordinates of P (rows 0 and 1 of B equal, so P(e₀ − e₁) = 0): B integer n × (n − 1). */
const twinP = (r: Rng, n: number): Float64Array => {
  const k = n - 1, B = Float64Array.from({ length: n * k }, () => Math.floor(r.uniform() * 5) - 2)
  for (let c = 0; c < k; c++) B[n > 1 ? k + c : c] = B[c]!
  const P = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { let s = 0; for (let c = 0; c < k; c++) s += B[i * k + c]! * B[j * k + c]!; P[i * n + j] = s }
  return P
}
const mulP = (P: Float64Array, x: Float64Array): Float64Array => {
  const n = x.length, y = new Float64Array(n)
  for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += P[i * n + j]! * x[j]!; y[i] = s }
  return y
}

/**
 * A non-unique minimizer: x* + ε(e₀ − e₁) is optimal for small ε, since P(e₀ − e₁) = 0,
 * x₀ and x₁ are free on the face, g₀ = g₁ and (l1) w₀ = w₁ with both signs +. Exact: P
 * integer, x* and the multipliers dyadic.
 */
const nonUnique = (r: Rng, set: Set3, n: number): RefProblem => {
  const P = twinP(r, n)
  const x = new Float64Array(n), g = new Float64Array(n), w = new Float64Array(n).fill(1)
  let tt = 0
  const dy = (): number => (1 + Math.floor(r.uniform() * 8)) / 8
  switch (set) {
    case 'simplex': {
      const nu = 0.75
      for (let i = 0; i < n; i++) {
        if (i < 2 || i % 2 === 0) { x[i] = dy(); tt += x[i]!; g[i] = -nu } else g[i] = -nu + dy()
      }
      break
    }
    case 'l1': {
      const lam = 0.5
      for (let i = 0; i < n; i++) w[i] = i < 2 ? 1 : [0.5, 0.75, 1.25, 1.5][i % 4]!
      for (let i = 0; i < n; i++) {
        if (i < 2 || i % 3 === 0) { x[i] = (i < 2 || r.uniform() < 0.5 ? 1 : -1) * dy(); tt += w[i]! * Math.abs(x[i]!); g[i] = -lam * w[i]! * Math.sign(x[i]!) } else g[i] = lam * w[i]! * (Math.floor(r.uniform() * 7) - 3) / 4
      }
      break
    }
    case 'linf':
      tt = 1
      for (let i = 0; i < n; i++) {
        if (i < 2 || i % 2 === 0) x[i] = (Math.floor(r.uniform() * 13) - 6) / 8
        else { x[i] = r.uniform() < 0.5 ? -1 : 1; g[i] = -x[i]! * dy() }
      }
      break
  }
  const px = mulP(P, x)
  return { n, set, P: { kind: 'dense', data: P }, q: Float64Array.from(g, (gi, i) => gi - px[i]!), w, t: tt }
}

/** A designed problem whose smallest margin is `m` (relative to the gradient's scale): one fixed coordinate's multiplier. */
const nearKink = (r: Rng, set: Set3, n: number, m: number): RefProblem => {
  const P = integerP(r, n)
  const Pd = pData({ n, set, P, q: new Float64Array(n), w: new Float64Array(n), t: 1 })
  const x = new Float64Array(n), g = new Float64Array(n)
  let tt = 0
  const k = Math.max(1, Math.ceil(n / 2))
  for (let i = 0; i < n; i++) {
    if (set === 'linf') x[i] = i < k ? (i % 2 === 0 ? 0.25 : -0.5) : i % 2 === 0 ? 1 : -1
    else if (i < k) { x[i] = 0.25 + (i % 3) * 0.125; tt += x[i]! }
  }
  if (set === 'linf') tt = 1
  const px = mulP(Pd, x)
  const gs = maxAbs(px) + 1
  for (let i = 0; i < n; i++) {
    if (set === 'simplex') g[i] = i < k ? -1 : -1 + (i === k ? m * gs : 0.5)
    else if (set === 'l1') g[i] = i < k ? -1 : (i === k ? 1 - m * gs : 0.25)
    else g[i] = i < k ? 0 : -x[i]! * (i === k ? m * gs : 0.5)
  }
  return { n, set, P, q: Float64Array.from(g, (gi, i) => gi - px[i]!), w: new Float64Array(n).fill(1), t: tt }
}

/**
 * A designed problem whose smallest margin is `m` on the primal side: a free coordinate
 * m·t from 0 (simplex, l1) or from its bound (l∞); `row`: the l1 ball's multiplier
 * m times the gradient's scale, with every coordinate in the support (nothing else small).
 */
const primalNearKink = (r: Rng, set: Set3, n: number, m: number, row = false): RefProblem => {
  const P = integerP(r, n)
  const Pd = pData({ n, set, P, q: new Float64Array(n), w: new Float64Array(n), t: 1 })
  const x = new Float64Array(n), g = new Float64Array(n)
  const k = Math.max(1, Math.ceil(n / 2))
  let tt = 1
  if (set === 'linf') for (let i = 0; i < n; i++) x[i] = i === 0 ? 1 - m : i < k ? (i % 2 === 0 ? 0.25 : -0.5) : i % 2 === 0 ? 1 : -1
  else {
    const support = row ? n : k
    tt = 0
    for (let i = 0; i < support; i++) { x[i] = (i === 0 && !row ? m : 0.25 + (i % 3) * 0.125) * (set === 'l1' && i % 2 === 1 ? -1 : 1); tt += Math.abs(x[i]!) }
  }
  const px = mulP(Pd, x)
  const gs = maxAbs(px) + 1
  for (let i = 0; i < n; i++) {
    if (set === 'simplex') g[i] = i < k ? -1 : -0.5
    else if (set === 'l1') g[i] = row ? -m * gs * Math.sign(x[i]!) : i < k ? -Math.sign(x[i]!) : 0.25
    else g[i] = i < k ? 0 : -x[i]! * 0.5
  }
  return { n, set, P, q: Float64Array.from(g, (gi, i) => gi - px[i]!), w: new Float64Array(n).fill(1), t: tt }
}

/** P with one eigenvalue `neg` (the others log-spaced over [1e-2, 1]): indefinite, or at rounding. */
const indefiniteP = (r: Rng, n: number, neg: number): RefP =>
  spectralP(r, n, 1, 1, Float64Array.from({ length: n }, (_, k) => (k === n - 1 ? neg : 1e-2 ** (k / Math.max(n - 1, 1)))))

const hardCases = (r: Rng): Hard[] => {
  const out: Hard[] = []
  for (const set of SETS3) {
    // ill-conditioned: Q diag(λ) Qᵀ, λ over 1e6 and 1e8
    for (const cond of [1e6, 1e8]) for (const n of [6, 16, LEAN_MAX_N]) for (const tt of [0.3, 5]) {
      out.push({ what: `cond ${cond.toExponential(0)}`, p: randomProblem(r, set, spectralP(r, n, cond), n, tt) })
    }
    // ill-conditioned faces: a wide face (interior, or every coordinate positive) on cond 1e6 and 1e8
    for (const cond of [1e6, 1e8]) for (const n of [6, LEAN_MAX_N]) for (const binding of [false, true]) {
      out.push({ what: `cond ${cond.toExponential(0)}, designed ${binding ? 'binding' : 'inside'}`, p: designed(r, set, spectralP(r, n, cond), n, 1, { binding, free: n - 1 }) })
    }
    // rank-deficient (A Aᵀ, A integer n × r)
    for (const n of [6, 16]) for (const rank of [n - 1, n / 2]) for (const tt of [0.3, 5]) {
      out.push({ what: `rank-deficient (rank ${rank})`, p: randomProblem(r, set, rankDeficientP(r, n, rank), n, tt) })
    }
    // non-unique minimizers along a null direction of P inside the face
    for (const n of [3, 8, 20]) out.push({ what: 'non-unique (P singular along e₀ − e₁ in the face)', p: nonUnique(r, set, n) })
    // a null direction of P in a wide face: a zero eigenvalue (rounded, not exact) with an interior solution (l1, l∞), and rank n/2 inside
    for (const n of [5, 16]) {
      const lam = Float64Array.from({ length: n }, (_, k) => (k === n - 1 ? 0 : 2 ** (-k)))
      out.push({ what: 'non-unique (a zero eigenvalue), designed inside', p: designed(r, set, spectralP(r, n, 1, 1, lam), n, 1, { binding: false }) })
      out.push({ what: `rank-deficient (rank ${Math.max(1, n >> 1)}), designed inside`, p: designed(r, set, rankDeficientP(r, n, Math.max(1, n >> 1)), n, 1, { binding: false }) })
    }
    // near-kinks: one margin just above and just below the lean path's acceptance margin, and at the kink tolerance
    for (const m of [1e-4, 1e-5, 2e-6, 5e-7, 1e-8, 1e-10]) {
      out.push({ what: `near-kink, margin ${m}`, p: nearKink(r, set, 10, m) })
      out.push({ what: `near-kink, primal margin ${m}`, p: primalNearKink(r, set, 10, m) })
      if (set === 'l1') out.push({ what: `near-kink, row multiplier ${m}`, p: primalNearKink(r, set, 10, m, true) })
    }
    // P = 0: a linear program, with a unique vertex and with a tie
    for (const n of [4, 12]) {
      const zero: RefP = { kind: 'dense', data: new Float64Array(n * n) }
      const q = Float64Array.from({ length: n }, (_, i) => (i + 1) * (set === 'linf' ? (i % 2 === 0 ? 1 : -1) : 1) - 0.5 * n)
      out.push({ what: 'P = 0: a unique vertex', p: { n, set, P: zero, q, w: new Float64Array(n).fill(1), t: 1 } })
      const tie = Float64Array.from(q); tie[1] = tie[0]!; if (set === 'linf') tie[2] = 0
      out.push({ what: 'P = 0: a tie', p: { n, set, P: zero, q: tie, w: new Float64Array(n).fill(1), t: 1 } })
    }
    // non-PSD P: clearly (−0.5) and at rounding (−1e-15)
    for (const neg of [-0.5, -1e-15]) for (const n of [5, 12]) out.push({ what: `non-PSD: an eigenvalue ${neg}`, p: randomProblem(r, set, indefiniteP(r, n, neg), n, 1) })
    // scales: t, q and P at 1e±150 (within the layer's magnitude rule)
    const n = 8
    const base = gramP(r, n, 0.5)
    const scaled = (what: string, sp: number, sq: number, tt: number): void => {
      const p = randomProblem(r, set, scaleP(base, sp), n, tt)
      const q = p.q.map((v) => v * sq)
      out.push({ what, p: { ...p, q }, units: { x: 0, q: sq, t: tt, P: sp } })
    }
    scaled('scale: t = 1e-150', 1, 1, 1e-150)
    scaled('scale: q·1e-150', 1, 1e-150, 1)
    scaled('scale: P and q·1e-150', 1e-150, 1e-150, 1)
    scaled('scale: P and q·1e148', 1e148, 1e148, 1)
    scaled('scale: P·1e-150, q·1e-2, t = 1e148', 1e-150, 1e-2, 1e148)
    scaled('scale: P and q·1e148, t = 1e-150', 1e148, 1e148, 1e-150)
  }
  // exact kinks (test/helpers/hardProblems.ts, integer P and dyadic x*, multipliers)
  for (const kind of ['l1-zero', 'l1-lambda0', 'linf-bound', 'simplex-zero'] as const) for (const n of [3, 10, 24]) {
    out.push({ what: `kink ${kind}`, p: kinkProblem(r, kind, n) })
  }
  // skewed weights: w from 1e-4 to 1e4 (l1)
  for (const n of [8, 24]) {
    const w = Float64Array.from({ length: n }, (_, k) => 10 ** (-4 + (8 * k) / (n - 1)))
    for (let i = n - 1; i > 0; i--) { const j = Math.floor(r.uniform() * (i + 1)); const tmp = w[i]!; w[i] = w[j]!; w[j] = tmp }
    for (const tt of [0.3, 5]) out.push({ what: 'weights 1e-4…1e4', p: randomProblem(r, 'l1', gramP(r, n, 0.5), n, tt, w) })
    out.push({ what: 'weights 1e-4…1e4, designed', p: designed(r, 'l1', gramP(r, n, 0.5), n, 1, { binding: true }, w) })
  }
  return out
}

t.test('hard instances: bitwise the general path when the lean path rejects, within the tolerances and the transpose law when it accepts; never NaN', async (t) => {
  const r = rng(303)
  const cases = hardCases(r)
  let accepted = 0, errors = 0
  const acceptedWhat = new Map<string, [number, number]>()
  for (const { what, p, units } of cases) {
    const c = compare(p, r, units)
    const k = what.split(/[,(:]/)[0]!.trim(), tally = acceptedWhat.get(k) ?? [0, 0]
    tally[0] += c.accepted ? 1 : 0; tally[1]++
    acceptedWhat.set(k, tally)
    if (c.accepted) accepted++
    if (c.error !== undefined) errors++
    const outcome = c.error !== undefined ? `the same error both ways${c.accepted ? ' (after a lean acceptance)' : ''}: ${c.error}`
      : c.accepted ? `accepted (margin ${fmt(c.margin ?? NaN)}), agrees` : 'rejected, bitwise'
    t.same(c.problems, [], `${label(p, what)}: ${outcome}`)
  }
  t.comment(`hard instances: lean accepted ${accepted}/${cases.length} (${cases.length - errors} answered, ${errors} refused by both paths); by kind: ${[...acceptedWhat].map(([k, [a, b]]) => `${k} ${a}/${b}`).join(', ')}`)
})

t.test('the paper schedule with the implicit backward takes the lean path too: agreement or bitwise, as with the default schedule', async (t) => {
  const r = rng(313)
  let accepted = 0, count = 0
  for (const set of SETS3) for (const n of [3, 10, LEAN_MAX_N]) for (const tt of [0.3, 5]) {
    const p = randomProblem(r, set, gramP(r, n, 0.5), n, tt)
    const c = compare(p, r, undefined, false, { schedule: 'paper', maxIterations: 200 })
    count++
    if (c.accepted) accepted++
    t.equal(c.tried, 1, `${label(p, 'paper')}: tried once`)
    t.same(c.problems, [], `${label(p, 'paper')}: ${c.accepted ? 'accepted, agrees' : 'rejected, bitwise'}`)
  }
  t.comment(`paper schedule: lean accepted ${accepted}/${count}`)
})

// -------------------------------------------------------------------------------------
// 4. a batch is bitwise each instance alone, lean on
// -------------------------------------------------------------------------------------

const rowsOf = (B: number, n: number, data: Float64Array): Mat<'B', N> => ({ rows: unsafeDim<'B'>(B), cols: unsafeDim<N>(n), data })

/** A batch of problems of one set and one n (P shared or per instance). */
const batchOf = (ps: readonly RefProblem[], P: LinearOperator<N> | LinearOperator<N>[]): BatchProblem<'B', N> => {
  const B = ps.length, n = ps[0]!.n, set = ps[0]!.set
  const q = new Float64Array(B * n), w = new Float64Array(B * n)
  ps.forEach((p, b) => { q.set(p.q, b * n); w.set(p.w, b * n) })
  return {
    P, q: rowsOf(B, n, q), ...(set === 'l1' ? { w: rowsOf(B, n, w) } : {}),
    t: { dim: unsafeDim<'B'>(B), data: Float64Array.from(ps, (p) => p.t) }, set
  }
}

/** Instance b as a Problem, with the batch's own operator object. */
const instanceOf = (p: RefProblem, P: LinearOperator<N>): Problem<N> =>
  ({ P, q: vec(p.q), t: p.t, set: p.set, ...(p.set === 'l1' ? { w: vec(p.w) } : {}) })

/** Every instance's result alone, lean on, with the counters summed. */
const aloneAll = (problems: readonly Problem<N>[]): { results: Array<LayerResult<N> | Error>; tried: number; accepted: number } => {
  let tried = 0, accepted = 0
  const results = problems.map((pb) => {
    resetLeanStats()
    try { return dfwLayer({})(pb) } catch (e) { return e as Error } finally { const s = leanStats(); tried += s.tried; accepted += s.accepted }
  })
  return { results, tried, accepted }
}

/** dfwBatchSolve against dfwLayer alone, instance by instance (bitwise), and the same lean counters. */
const checkBatchSolve = (t: Test, name: string, ps: readonly RefProblem[], ops: LinearOperator<N> | LinearOperator<N>[], bad: readonly number[], r: Rng): void => {
  const B = ps.length, n = ps[0]!.n
  const batch = batchOf(ps, ops)
  setLeanFace(true)
  resetLeanStats()
  const sol = dfwBatchSolve({})(batch)
  const inBatch = leanStats()
  const ct = rowsOf(B, n, normals(r, B * n)), dq = rowsOf(B, n, normals(r, B * n))
  const g = sol.vjp(ct), dx = sol.jvp({ q: dq })
  const each = g.pEach()
  const problems = ps.map((p, b) => instanceOf(p, Array.isArray(ops) ? ops[b]! : ops))
  const alone = aloneAll(problems)
  t.same([inBatch.tried, inBatch.accepted], [alone.tried, alone.accepted], `${name}: the batch tried and accepted the lean path as often as the instances alone (${inBatch.accepted}/${inBatch.tried})`)
  t.ok(inBatch.accepted > 0, `${name}: the lean path accepted some instances in the batch (${inBatch.accepted})`)
  for (let b = 0; b < B; b++) {
    const got = sol.results[b]!, a = alone.results[b]!
    if (a instanceof Error) {
      t.ok(bad.includes(b) && E.isLeft(got) && got.left.message === a.message, `${name} [${b}]: the bad instance is its own Left (${a.message})`)
      continue
    }
    if (E.isLeft(got)) { t.fail(`${name} [${b}]: a Left (${got.left.message}) where alone succeeds`); continue }
    const x = got.right, d: string[] = []
    const note = (what: string, s: string): void => { if (s !== '') d.push(`${what} ${s}`) }
    const c = vec(ct.data.slice(b * n, b * n + n))
    const ga = a.vjp(c), gb = x.vjp(c)
    const probe: Probe = { ct: c.data, tangents: [['q', { q: dq.data.slice(b * n, b * n + n) }]] }
    const p = ps[b]!
    d.push(...bitwise(x, a, derivsOf(x, p, probe), derivsOf(a, p, probe)))
    note('row of x', bits(sol.x.data.subarray(b * n, b * n + n), a.x.data))
    note('vjp.q row', bits(g.q.data.subarray(b * n, b * n + n), ga.q.data))
    note('vjp.w row', bits(g.w.data.subarray(b * n, b * n + n), ga.w.data))
    note('vjp.t row', bits([g.t.data[b]!], [ga.t]))
    note('pEach', bits(each[b]?.data, ga.P?.data))
    note('result.vjp', bits([...gb.q.data, ...gb.w.data, gb.t, ...(gb.P?.data ?? [])], [...ga.q.data, ...ga.w.data, ga.t, ...(ga.P?.data ?? [])]))
    note('jvp row', bits(dx.data.subarray(b * n, b * n + n), a.jvp({ q: vec(dq.data.slice(b * n, b * n + n)) }).data))
    t.same(d, [], `${name} [${b}]: bitwise dfwLayer alone (${a.status}, face ${a.face?.derivative}, margin ${fmt(a.face?.margin ?? NaN)})`)
  }
}

t.test('batch, lean on: dfwBatchSolve (shared and per-instance P) and dfwBatch are bitwise each instance alone; an invalid instance is its own Left', async (t) => {
  const r = rng(404)
  const n = 10
  for (const set of SETS3) {
    // shared P: random and designed q at several scales and radii, an instance with a NaN
    const base = gramP(r, n, 0.5)
    const shared: RefProblem[] = [
      randomProblem(r, set, base, n, 0.3), randomProblem(r, set, base, n, 5), designed(r, set, base, n, 1, { binding: true }),
      designed(r, set, base, n, 1, { binding: false }), randomProblem(r, set, base, n, 1), { ...randomProblem(r, set, base, n, 1), q: normals(r, n, 100) }
    ]
    const nan = randomProblem(r, set, base, n, 1)
    nan.q[3] = NaN
    shared.splice(2, 0, nan)
    checkBatchSolve(t, `${set}, shared P`, shared, libOperator(base, n), [2], r)
    // per-instance P: well-conditioned, cond 1e6, rank n/2, an exact kink, a non-unique minimizer, one operator twice, a non-PSD P
    const wc = gramP(r, n, 0.5)
    const kink = kinkProblem(r, set === 'l1' ? 'l1-zero' : set === 'linf' ? 'linf-bound' : 'simplex-zero', n)
    const mixed: RefProblem[] = [
      randomProblem(r, set, wc, n, 1), randomProblem(r, set, spectralP(r, n, 1e6), n, 0.3), randomProblem(r, set, rankDeficientP(r, n, n / 2), n, 5),
      { ...kink, set }, nonUnique(r, set, n), randomProblem(r, set, wc, n, 0.3), randomProblem(r, set, indefiniteP(r, n, -0.5), n, 1),
      designed(r, set, gramP(r, n, 0.01), n, 1, { binding: true })
    ]
    const ops = mixed.map((p) => libOperator(p.P, n))
    ops[5] = ops[0]!
    checkBatchSolve(t, `${set}, per-instance P`, mixed, ops, [6], r)
    // dfwBatch over an array of problems
    const problems = mixed.map((p, b) => instanceOf(p, ops[b]!))
    setLeanFace(true)
    resetLeanStats()
    const out = dfwBatch({})(problems)
    const inBatch = leanStats()
    const alone = aloneAll(problems)
    t.same([inBatch.tried, inBatch.accepted], [alone.tried, alone.accepted], `${set}, dfwBatch: the same lean counters as alone (${inBatch.accepted}/${inBatch.tried})`)
    out.forEach((got, b) => {
      const a = alone.results[b]!
      if (a instanceof Error) { t.ok(b === 6 && E.isLeft(got) && got.left.path === '[6].P', `${set}, dfwBatch [${b}]: a Left at [6].P`); return }
      if (E.isLeft(got)) { t.fail(`${set}, dfwBatch [${b}]: a Left (${got.left.message})`); return }
      const p = mixed[b]!, probe = probeOf(r, p)
      t.same(bitwise(got.right, a, derivsOf(got.right, p, probe), derivsOf(a, p, probe)), [], `${set}, dfwBatch [${b}]: bitwise alone`)
    })
  }
})

t.test('warm starts (dfwBatchSolve with a previous x): lean on agrees with lean off or is bitwise it; a warm batch is bitwise its instances warm alone', async (t) => {
  const r = rng(414)
  let accepted = 0, count = 0
  /** A one-instance batch (its own counters), warm from x0. */
  const warmRun = (p: RefProblem, x0: Float64Array, lean: boolean): Run => {
    const was = setLeanFace(lean)
    resetLeanStats()
    try {
      const sol = dfwBatchSolve({})(batchOf([p], libOperator(p.P, p.n)), { x: rowsOf(1, p.n, Float64Array.from(x0)) })
      const got = sol.results[0]!
      return E.isRight(got) ? { res: got.right, ...leanStats() } : { error: got.left, ...leanStats() }
    } finally { setLeanFace(was) }
  }
  for (const set of SETS3) for (const n of [5, 16]) {
    const P = gramP(r, n, 0.5)
    const ps = [0.3, 1, 5].map((tt) => randomProblem(r, set, P, n, tt))
    ps.push({ ...designed(r, set, P, n, 1, { binding: false }), P })
    const starts: Float64Array[] = []
    for (const p of ps) {
      // from the solution of a nearby problem (q moved by 1e-3), from the solution itself, and
      // from a vertex far from it (the coordinate where x* is smallest, with the other sign)
      const near = solve({ ...p, q: p.q.map((v) => v + 1e-3 * r.normal()) }, true).res!.x.data
      const exact = solve(p, true).res!.x.data
      let iMin = 0
      for (let i = 0; i < n; i++) if (Math.abs(exact[i]!) < Math.abs(exact[iMin]!)) iMin = i
      const vertex = new Float64Array(n)
      if (set === 'linf') for (let i = 0; i < n; i++) vertex[i] = exact[i]! > 0 ? -p.t : p.t
      else vertex[iMin] = set === 'simplex' ? p.t : (exact[iMin]! > 0 ? -p.t : p.t) / p.w[iMin]!
      for (const [what, x0] of [['from a nearby solution', near], ['from the solution', exact], ['from a far vertex', vertex]] as const) {
        const on = warmRun(p, x0, true), off = warmRun(p, x0, false)
        const c = judge(p, on, off, r, undefined, true)
        count++
        if (c.accepted) accepted++
        t.same(c.problems, [], `${label(p, `warm ${what}`)}: ${c.accepted ? `accepted after ${on.res?.iterations} steps, agrees` : 'rejected, bitwise'}`)
        starts.push(Float64Array.from(x0))
      }
    }
    // the warm batch of all the starts (each problem three times) against each one alone, lean on
    const shared = ps.flatMap((p) => [p, p, p])
    const op = libOperator(P, n)
    const X = new Float64Array(shared.length * n)
    starts.forEach((x0, b) => X.set(x0, b * n))
    setLeanFace(true)
    const sol = dfwBatchSolve({})(batchOf(shared, op), { x: rowsOf(shared.length, n, X) })
    shared.forEach((p, b) => {
      const got = sol.results[b]!
      const alone = dfwBatchSolve({})(batchOf([p], op), { x: rowsOf(1, n, starts[b]!) }).results[0]!
      if (E.isLeft(got) || E.isLeft(alone)) { t.fail(`${set}, n = ${n}, warm batch [${b}]: a Left`); return }
      const probe = probeOf(r, p)
      t.same(bitwise(got.right, alone.right, derivsOf(got.right, p, probe), derivsOf(alone.right, p, probe)), [], `${set}, n = ${n}, warm batch [${b}]: bitwise the instance warm alone`)
    })
  }
  t.comment(`warm starts: lean accepted ${accepted}/${count}`)
  t.ok(accepted >= count / 2, `the lean path takes warm starts too (${accepted}/${count})`)
})

// -------------------------------------------------------------------------------------
// 5. outside the lean scope
// -------------------------------------------------------------------------------------

t.test('outside the lean scope the lean path is never tried: l2, n = LEAN_MAX_N + 1, low-rank and CSR P, the unrolled backward, the box; lean off', async (t) => {
  const r = rng(505)
  const tried = (f: () => unknown): number => {
    setLeanFace(true)
    resetLeanStats()
    f()
    return leanStats().tried
  }
  const layer = (p: RefProblem, options: LayerOptions = {}) => (): unknown => dfwLayer(options)(libProblem(p))
  // a positive control: the counters count
  const inScope = randomProblem(r, 'l1', gramP(r, 8, 0.5), 8, 1)
  t.equal(tried(layer(inScope)), 1, 'control: an in-scope instance is tried once')
  t.equal(tried(layer(inScope, { backward: 'implicit' })), 1, 'control: backward "implicit" given explicitly is tried once')
  t.equal(tried(() => { setLeanFace(false); dfwLayer({})(libProblem(inScope)) }), 0, 'lean off: not tried')
  t.equal(tried(layer({ ...randomProblem(r, 'l1', gramP(r, 8, 0.5), 8, 1), set: 'l2' })), 0, 'l2: not tried')
  for (const set of SETS3) {
    const big = LEAN_MAX_N + 1
    t.equal(tried(layer(randomProblem(r, set, gramP(r, big, 0.5), big, 1))), 0, `${set}, n = ${big}: not tried`)
    t.equal(tried(layer(randomProblem(r, set, lowRankP(r, 8, 2, 0.1), 8, 1))), 0, `${set}, low-rank P: not tried`)
    t.equal(tried(layer(randomProblem(r, set, csrP(r, 8, 1, 0.1), 8, 1))), 0, `${set}, CSR P: not tried`)
    t.equal(tried(layer(randomProblem(r, set, gramP(r, 8, 0.5), 8, 1), { backward: 'unrolled' })), 0, `${set}, unrolled backward: not tried`)
    const ps = [0.3, 1, 5].map((tt) => randomProblem(r, set, gramP(r, 8, 0.5), 8, tt))
    const P = libOperator(ps[0]!.P, 8)
    t.equal(tried(() => dfwBatchSolve({ backward: 'unrolled' })(batchOf(ps, P))), 0, `${set}, a batch with the unrolled backward: not tried`)
  }
  const ps = [0.3, 1, 5].map((tt) => randomProblem(r, 'l1', gramP(r, LEAN_MAX_N + 1, 0.5), LEAN_MAX_N + 1, tt))
  t.equal(tried(() => dfwBatchSolve({})(batchOf(ps, libOperator(ps[0]!.P, LEAN_MAX_N + 1)))), 0, `a batch of n = ${LEAN_MAX_N + 1}: not tried`)
  const l2 = [0.3, 1, 5].map((tt) => ({ ...randomProblem(r, 'l1', gramP(r, 8, 0.5), 8, tt), set: 'l2' as const }))
  t.equal(tried(() => dfwBatchSolve({})(batchOf(l2, libOperator(l2[0]!.P, 8)))), 0, 'an l2 batch: not tried')
  const n = 6, lower = vec(new Float64Array(n).fill(-1)), upper = vec(new Float64Array(n).fill(0.5))
  const box = randomProblem(r, 'linf', gramP(r, n, 0.5), n, 1)
  t.equal(tried(() => dfwLayer({})({ P: libOperator(box.P, n), q: vec(box.q), set: { kind: 'box', lower, upper } })), 0, 'the box: not tried')
})

