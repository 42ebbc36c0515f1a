/**
 * One case of the outside accuracy suite: solve a problem with the layer (implicit mode,
 * the default), verify the answer against the double-double reference
 * (`ddReference.ts`), and measure what the issue's targets are about: x and the objective
 * against the verified minimizer, vjp (q, w, t, dense P) and jvp along random tangents
 * against the reference derivatives (relative error and cosine), the transpose law
 * ⟨c, J v⟩ = ⟨Jᵀc, v⟩, finiteness, status and the `face` report.
 *
 * `Figures` are plain data, so tests assert on them and the bench prints them. Excluded
 * from tap's run by package.json.
 */
import { dfwLayer, type LayerResult } from '../../src/fw/Layer.js'
import type { Gradients } from '../../src/fw/Problem.js'
import type { FaceReport } from '../../src/fw/FaceModel.js'
import { type RefP, type RefProblem, type RefSolution, type RefTangent, jvpRef, objectiveAt, solveReference, vjpRef } from './ddReference.js'
import { type N, type Rng, applyP, libProblem, libTangent, randomTangent, vec } from './hardProblems.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** A derivative compared with the reference: relative error (2-norm) and cosine. */
export interface Agreement {
  readonly rel: number
  readonly cos: number
  /** The reference is zero: `rel` is then the library's norm over the natural unit. */
  readonly refZero: boolean
}

/** What one case measured. */
export interface Figures {
  readonly name: string
  readonly set: string
  readonly n: number
  /** The library's answer. */
  readonly status?: string
  readonly iterations?: number
  readonly face?: FaceReport
  readonly forwardMs?: number
  readonly backwardMs?: number
  /** The library threw (its message and path). */
  readonly error?: { readonly message: string; readonly path?: string }
  /** The reference verified a minimizer. */
  readonly refOk: boolean
  readonly refError?: string
  /** The reference's margin and uniqueness: non-degenerate when margin > 1e-8 and unique. */
  readonly refMargin?: number
  readonly refMarginAt?: string
  readonly refUnique?: boolean
  readonly refRounds?: number
  /** The library's face verified as optimal by the reference, as it stands (before any correction). */
  readonly libFaceOk?: boolean
  /** ‖x − x*‖₂ / ‖x*‖₂ (x* = 0: / t). */
  readonly xRel?: number
  /** |f(x) − f*| / |f*|, with f(x) at the returned x evaluated in double-double. */
  readonly objRel?: number
  /**
   * The reported objective's error beyond what evaluating f in doubles may cost,
   * max(0, |reported − f*| − 2n·ε·(½ Σᵢ|xᵢ|Σⱼ|Pᵢⱼ||xⱼ| + Σ|qᵢxᵢ|)), over |f*|.
   */
  readonly objReportedRel?: number
  readonly vjp?: { readonly q: Agreement; readonly w: Agreement; readonly t: Agreement; readonly P?: Agreement }
  readonly jvp?: readonly Agreement[]
  /** The worst relative transpose-law residual over the tangents. */
  readonly transpose?: number
  /** Every number the library returned is finite. */
  readonly finite?: boolean
}

/** Options of {@link runCase}. */
export interface CaseOptions {
  /** Random tangents to try (default 2). */
  readonly tangents?: number
  /** Skip the reference (e.g. non-unique or too large). */
  readonly noReference?: boolean
  /** Read the library's face with coordinates below zeroTol·‖x‖∞ as 0 (default 0). */
  readonly zeroTol?: number
  /** Layer options (default: the library's defaults). */
  readonly layer?: Parameters<typeof dfwLayer>[0]
}

// -------------------------------------------------------------------------------------
// vector arithmetic, scaled against overflow
// -------------------------------------------------------------------------------------

const maxAbs = (a: ArrayLike<number>): number => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!)); return m }
/** ‖a‖₂ without overflow or underflow. */
export const norm2 = (a: ArrayLike<number>): number => {
  const m = maxAbs(a)
  if (m === 0 || !Number.isFinite(m)) return m
  let s = 0
  for (let i = 0; i < a.length; i++) s += (a[i]! / m) ** 2
  return m * Math.sqrt(s)
}
const diffNorm = (a: ArrayLike<number>, b: ArrayLike<number>): number => norm2(Float64Array.from({ length: a.length }, (_, i) => a[i]! - b[i]!))
/** ⟨a, b⟩ with both scaled to unit ∞-norm first, then scaled back. */
export const dotScaled = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  const ma = maxAbs(a), mb = maxAbs(b)
  if (ma === 0 || mb === 0) return 0
  let s = 0
  for (let i = 0; i < a.length; i++) s += (a[i]! / ma) * (b[i]! / mb)
  return s * ma * mb
}
const absDotScaled = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  const ma = maxAbs(a), mb = maxAbs(b)
  if (ma === 0 || mb === 0) return 0
  let s = 0
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i]! / ma) * (b[i]! / mb))
  return s * ma * mb
}

/**
 * The library's a against the reference b; when b is 0 (below 1e-13 of its natural
 * `unit`: rounding in the reference's own solve), ‖a‖ over `unit`.
 */
export const agree = (a: ArrayLike<number>, b: ArrayLike<number>, unit: number): Agreement => {
  const nb = norm2(b), na = norm2(a)
  if (nb <= 1e-13 * unit) return { rel: na === 0 ? 0 : na / Math.max(unit, 1e-300), cos: na === 0 ? 1 : 0, refZero: true }
  let cos = 0
  if (na > 0) for (let i = 0; i < a.length; i++) cos += (a[i]! / na) * (b[i]! / nb)
  return { rel: diffNorm(a, b) / nb, cos, refZero: false }
}

const allFinite = (...xs: ReadonlyArray<ArrayLike<number> | number | undefined>): boolean =>
  xs.every((x) => x === undefined || (typeof x === 'number' ? Number.isFinite(x) : Array.from(x).every(Number.isFinite)))

// -------------------------------------------------------------------------------------
// the transpose law
// -------------------------------------------------------------------------------------

/**
 * |⟨c, J v⟩ − ⟨Jᵀc, v⟩| relative to max(‖c‖‖Jv‖, Σ |each term of ⟨Jᵀc, v⟩|).
 */
export const transposeResidual = (c: ArrayLike<number>, jv: ArrayLike<number>, g: { q: ArrayLike<number>; w: ArrayLike<number>; t: number; P?: ArrayLike<number> | undefined }, v: RefTangent): number => {
  const lhs = dotScaled(c, jv)
  const terms: number[] = []
  const absTerms: number[] = []
  if (v.q !== undefined) { terms.push(dotScaled(g.q, v.q)); absTerms.push(absDotScaled(g.q, v.q)) }
  if (v.w !== undefined) { terms.push(dotScaled(g.w, v.w)); absTerms.push(absDotScaled(g.w, v.w)) }
  if (v.t !== undefined) { terms.push(g.t * v.t); absTerms.push(Math.abs(g.t * v.t)) }
  if (v.P !== undefined && g.P !== undefined) { terms.push(dotScaled(g.P, v.P)); absTerms.push(absDotScaled(g.P, v.P)) }
  const rhs = terms.reduce((a, b) => a + b, 0)
  const scale = Math.max(norm2(c) * norm2(jv), absTerms.reduce((a, b) => a + b, 0), 1e-300)
  return Math.abs(lhs - rhs) / scale
}

// -------------------------------------------------------------------------------------
// one case
// -------------------------------------------------------------------------------------

/** |P| y for y ≥ 0 (an upper bound for the low-rank form: |d| y + |U| (|U|ᵀ y)). */
const absApply = (P: RefP, y: Float64Array): Float64Array => {
  const n = y.length, o = new Float64Array(n)
  switch (P.kind) {
    case 'dense':
      for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += Math.abs(P.data[i * n + j]!) * y[j]!; o[i] = s }
      return o
    case 'lowRank': {
      const r = P.rank, u = new Float64Array(r)
      for (let i = 0; i < n; i++) for (let k = 0; k < r; k++) u[k] = u[k]! + Math.abs(P.U[i * r + k]!) * y[i]!
      for (let i = 0; i < n; i++) { let s = Math.abs(P.diag[i]!) * y[i]!; for (let k = 0; k < r; k++) s += Math.abs(P.U[i * r + k]!) * u[k]!; o[i] = s }
      return o
    }
    case 'csr':
      for (let i = 0; i < n; i++) { let s = 0; for (let k = P.rowPtr[i]!; k < P.rowPtr[i + 1]!; k++) s += Math.abs(P.values[k]!) * y[P.colIdx[k]!]!; o[i] = s }
      return o
  }
}

/** What evaluating ½ xᵀP x + qᵀx in doubles may cost: 2n·ε·(½ Σ|xᵢ|(|P||x|)ᵢ + Σ|qᵢxᵢ|). */
const objectiveRounding = (p: RefProblem, x: Float64Array): number => {
  const ax = x.map(Math.abs), pa = absApply(p.P, ax)
  let s = 0
  for (let i = 0; i < p.n; i++) s += 0.5 * ax[i]! * pa[i]! + Math.abs(p.q[i]! * x[i]!)
  return 2 * p.n * Number.EPSILON * s
}

/**
 * Solves `p` with the layer and checks it against the reference. Never throws: a library
 * error lands in `error`, a reference failure in `refError`.
 */
export const runCase = (name: string, p: RefProblem, r: Rng, options: CaseOptions = {}): Figures => {
  const base = { name, set: p.set, n: p.n }
  let res: LayerResult<N>
  const t0 = performance.now()
  try {
    res = dfwLayer(options.layer ?? {})(libProblem(p))
  } catch (e) {
    const err = e as { message?: string; path?: string }
    return { ...base, refOk: false, error: { message: String(err.message ?? e), ...(typeof err.path === 'string' ? { path: err.path } : {}) } }
  }
  const forwardMs = performance.now() - t0
  const x = Float64Array.from(res.x.data)
  const c = Float64Array.from({ length: p.n }, () => r.normal())
  const tangents = Array.from({ length: options.tangents ?? 2 }, () => randomTangent(r, p))
  const t1 = performance.now()
  let g: Gradients<N>
  try {
    g = res.vjp(vec(c))
  } catch (e) {
    return { ...base, status: res.status, iterations: res.iterations, ...(res.face ? { face: res.face } : {}), refOk: false, error: { message: `vjp threw: ${String((e as Error).message ?? e)}` } }
  }
  const backwardMs = performance.now() - t1
  const jvs = tangents.map((v) => Float64Array.from(res.jvp(libTangent(p, v)).data))
  const dense = p.P.kind === 'dense'
  const finite = allFinite(x, res.objective, res.gap, g.q.data, g.w.data, g.t, g.P?.data, ...jvs)
  const transpose = Math.max(...tangents.map((v, k) => transposeResidual(c, jvs[k]!, { q: g.q.data, w: g.w.data, t: g.t, P: dense ? g.P?.data : undefined }, v)))
  const lib = {
    ...base, status: res.status, iterations: res.iterations, ...(res.face ? { face: res.face } : {}),
    forwardMs, backwardMs, finite, transpose
  }
  if (options.noReference === true) return { ...lib, refOk: false, refError: 'not computed' }
  let ref: RefSolution
  try {
    ref = solveReference(p, x, options.zeroTol !== undefined ? { zeroTol: options.zeroTol } : {})
  } catch (e) {
    return { ...lib, refOk: false, refError: String((e as Error).message ?? e) }
  }
  const libFaceOk = ref.rounds === 1
  const xs = ref.x
  const nxs = norm2(xs)
  const xRel = diffNorm(x, xs) / (nxs > 0 ? nxs : p.t)
  // the objective at the library's x, in doubles but with the terms' scale for the tolerance
  const px = applyP(p.P, x)
  const fs = ref.objective
  const denom = Math.max(Math.abs(fs), 1e-300)
  const objRel = Math.abs(objectiveAt(p, x) - fs) / denom
  const objReportedRel = Math.max(0, Math.abs(res.objective - fs) - objectiveRounding(p, x)) / denom
  const gr = vjpRef(ref, c)
  // natural units for a zero reference: ∂t ~ ∂q · g / t, ∂w ~ ∂q · g / w
  let gs = 0
  for (let i = 0; i < p.n; i++) gs = Math.max(gs, Math.abs(px[i]!) + Math.abs(p.q[i]!))
  const uq = Math.max(norm2(gr.q), norm2(c) * p.t / Math.max(gs, 1e-300))
  const vjp = {
    q: agree(g.q.data, gr.q, uq),
    w: agree(g.w.data, gr.w, uq * gs / Math.max(...p.w)),
    t: agree([g.t], [gr.t], uq * gs / p.t),
    ...(dense ? { P: agree(g.P?.data ?? new Float64Array(p.n * p.n), gr.P, uq * p.t) } : {})
  }
  const jvp = tangents.map((v, k) => agree(jvs[k]!, jvpRef(ref, v), norm2(xs) + p.t))
  return {
    ...lib, refOk: true, refMargin: ref.verification.margin, refMarginAt: ref.verification.marginAt,
    refUnique: ref.nonsingular, refRounds: ref.rounds, libFaceOk,
    xRel, objRel, objReportedRel, vjp, jvp
  }
}

// -------------------------------------------------------------------------------------
// judging
// -------------------------------------------------------------------------------------

/** The issue's targets. */
export const TARGET = { x: 1e-6, objective: 1e-12, rel: 1e-6, cos: 0.9999, transpose: 1e-12 } as const

/** Non-degenerate per the reference: a verified, unique minimizer with margin > 1e-8 (ten times the library's kink tolerance). */
export const nonDegenerate = (f: Figures): boolean => f.refOk && f.refUnique === true && (f.refMargin ?? 0) > 1e-8

/** The derivative agreements of a case, flattened with names. */
export const derivativeRows = (f: Figures): Array<[string, Agreement]> => {
  const out: Array<[string, Agreement]> = []
  if (f.vjp !== undefined) {
    out.push(['vjp.q', f.vjp.q], ['vjp.w', f.vjp.w], ['vjp.t', f.vjp.t])
    if (f.vjp.P !== undefined) out.push(['vjp.P', f.vjp.P])
  }
  f.jvp?.forEach((a, k) => out.push([`jvp[${k}]`, a]))
  return out
}

/** Whether an agreement meets the targets (a zero reference: the library's value within 1e-10 of its unit). */
export const agrees = (a: Agreement): boolean => (a.refZero ? a.rel <= 1e-10 : a.rel <= TARGET.rel && a.cos >= TARGET.cos)

/** The worst derivative row of a case: the largest relative error (and the smallest cosine). */
export const worstDerivative = (f: Figures): { rel: number; cos: number; at: string } => {
  let rel = 0, cos = 1, at = '-'
  for (const [k, a] of derivativeRows(f)) {
    if (a.rel > rel || Number.isNaN(a.rel)) { rel = a.rel; at = k }
    if (!a.refZero) cos = Math.min(cos, a.cos)
  }
  return { rel, cos, at }
}

/** A one-line summary of a case (for t.comment and reports). */
export const summary = (f: Figures): string => {
  if (f.error !== undefined) return `${f.name}: library error at ${f.error.path ?? '?'}: ${f.error.message.slice(0, 120)}`
  const w = worstDerivative(f)
  const e = (v: number | undefined): string => (v === undefined ? '-' : v.toExponential(1))
  return `${f.name}: status ${f.status}, iters ${f.iterations}, face ${f.face ? `${f.face.derivative}/${f.face.size}/${e(f.face.margin)}` : '-'}, ` +
    `ref ${f.refOk ? `ok (margin ${e(f.refMargin)} at ${f.refMarginAt}, rounds ${f.refRounds}, unique ${f.refUnique})` : `FAILED: ${f.refError}`}, ` +
    `x ${e(f.xRel)}, obj ${e(f.objRel)}, worst deriv ${e(w.rel)} (cos ${w.cos.toFixed(6)}) at ${w.at}, transpose ${e(f.transpose)}, finite ${f.finite}`
}
