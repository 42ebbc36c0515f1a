/**
 * The shared shape of the hard-regime test files (test/hard-*.ts): a list of seeded
 * cases, each solved once by the layer and checked once against the double-double
 * reference (`hardCheck.ts`), then one tap test per behaviour over all cases, so that
 * each test states one law and names every case that breaks it. The worst figures per
 * regime and set go to t.comment (and, with HARD_REPORT=<file>, to a JSON file appended
 * one line per case, for reports). Excluded from tap's run by package.json.
 */
import type { Test } from 'tap'
import { appendFileSync } from 'node:fs'
import type { RefProblem } from './ddReference.js'
import { type CaseOptions, type Figures, TARGET, agrees, derivativeRows, nonDegenerate, runCase, summary, worstDerivative } from './hardCheck.js'
import { rng } from './hardProblems.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** What a case is expected to be at its solution. */
export type Expect =
  /** Unique with strict complementarity (the reference must agree: margin > 1e-8). */
  | 'exact'
  /** Decided by the reference (random q: whatever the face is). */
  | 'any'
  /** The minimizer is not unique (no x comparison; f* checked where known). */
  | 'non-unique'

/** One case: a name, its regime (for the summary), how to build it, what to expect. */
export interface CaseSpec {
  readonly name: string
  readonly regime: string
  readonly seed: number
  readonly build: (r: ReturnType<typeof rng>) => RefProblem
  readonly expect: Expect
  readonly options?: CaseOptions
}

/** A solved and checked case. */
export interface Checked {
  readonly spec: CaseSpec
  readonly f: Figures
}

/** The behaviours {@link standardTests} can state. */
export type Behaviour =
  | 'answers' | 'reference' | 'x' | 'objective' | 'noFalseCertificate' | 'convergedWhenExact'
  | 'vjp' | 'jvp' | 'transpose' | 'faceReport' | 'libraryFace'

export const ALL_BEHAVIOURS: readonly Behaviour[] = [
  'answers', 'reference', 'x', 'objective', 'noFalseCertificate', 'convergedWhenExact', 'vjp', 'jvp', 'transpose', 'faceReport', 'libraryFace'
]

// -------------------------------------------------------------------------------------
// running
// -------------------------------------------------------------------------------------

/** Solves and checks every case (each from its own seed). */
export const checkAll = (specs: readonly CaseSpec[]): Checked[] =>
  specs.map((spec) => {
    const r = rng(spec.seed)
    const p = spec.build(r)
    const f = runCase(spec.name, p, r, { ...(spec.options ?? {}), ...(spec.expect === 'non-unique' ? { noReference: true } : {}) })
    if (process.env['HARD_REPORT']) appendFileSync(process.env['HARD_REPORT'], JSON.stringify({ regime: spec.regime, expect: spec.expect, ...f }) + '\n')
    return { spec, f }
  })

/** Whether a case counts as non-degenerate: expected so, and the reference agrees. */
export const judged = (c: Checked): boolean => c.spec.expect !== 'non-unique' && nonDegenerate(c.f) && (c.f.refMargin ?? 0) > 1e-8

const fmt = (v: number | undefined): string => (v === undefined ? '-' : v === 0 ? '0' : v.toExponential(1))

/** The worst figures per regime and set, as lines for t.comment. */
export const worstTable = (cs: readonly Checked[]): string[] => {
  const groups = new Map<string, Checked[]>()
  for (const c of cs) {
    const k = `${c.spec.regime} ${c.f.set}`
    groups.set(k, [...(groups.get(k) ?? []), c])
  }
  const lines = ['regime set | cases (judged) | worst x | worst obj | worst deriv rel (min cos) | worst transpose | statuses | faces']
  for (const [k, g] of groups) {
    const j = g.filter(judged)
    const maxOf = (xs: Array<number | undefined>): number | undefined => { const v = xs.filter((x): x is number => x !== undefined); return v.length ? Math.max(...v) : undefined }
    const wd = j.map((c) => worstDerivative(c.f))
    const st = new Map<string, number>(), fc = new Map<string, number>()
    for (const c of g) {
      const s = c.f.error ? 'error' : c.f.status ?? '?'
      st.set(s, (st.get(s) ?? 0) + 1)
      const d = c.f.face?.derivative ?? '-'
      fc.set(d, (fc.get(d) ?? 0) + 1)
    }
    lines.push(`${k} | ${g.length} (${j.length}) | ${fmt(maxOf(j.map((c) => c.f.xRel)))} | ${fmt(maxOf(g.map((c) => c.f.objRel)))} | ` +
      `${fmt(maxOf(wd.map((w) => w.rel)))} (${wd.length ? Math.min(...wd.map((w) => w.cos)).toFixed(8) : '-'}) | ${fmt(maxOf(g.map((c) => c.f.transpose)))} | ` +
      `${[...st].map(([a, b]) => `${a} ${b}`).join(', ')} | ${[...fc].map(([a, b]) => `${a} ${b}`).join(', ')}`)
  }
  return lines
}

// -------------------------------------------------------------------------------------
// the behaviours
// -------------------------------------------------------------------------------------

/**
 * One tap test per behaviour over all cases (`only`: a subset, for files that add a
 * behaviour in a later commit).
 */
export const standardTests = (t: Test, cs: readonly Checked[], only: readonly Behaviour[] = ALL_BEHAVIOURS): void => {
  commentFigures(t, cs)
  const on = (b: Behaviour): boolean => only.includes(b)
  const solved = cs.filter((c) => c.f.error === undefined)
  const withRef = solved.filter((c) => c.f.refOk)
  const nd = cs.filter(judged)

  if (on('answers')) t.test('the layer answers every case, with finite numbers only', async (t) => {
    for (const c of cs) {
      t.equal(c.f.error, undefined, `${c.spec.name}: no error (${c.f.error?.message ?? ''})`)
      if (c.f.error === undefined) t.ok(c.f.finite, `${c.spec.name}: x, objective, gap, vjp and jvp are finite`)
    }
  })

  if (on('reference')) t.test('the double-double reference verifies a minimizer for every case with a unique one', async (t) => {
    for (const c of solved) if (c.spec.expect !== 'non-unique') t.ok(c.f.refOk, `${c.spec.name}: ${c.f.refError ?? 'verified'}`)
    for (const c of solved) if (c.spec.expect === 'exact') t.ok(judged(c), `${c.spec.name}: designed non-degenerate, and the reference agrees (margin ${fmt(c.f.refMargin)}, unique ${c.f.refUnique})`)
  })

  if (on('x')) t.test(`x is the verified minimizer within ${TARGET.x} relative on every non-degenerate case`, async (t) => {
    for (const c of nd) t.ok((c.f.xRel ?? Infinity) <= TARGET.x, `${c.spec.name}: ‖x − x*‖/‖x*‖ = ${fmt(c.f.xRel)}`)
  })

  if (on('objective')) t.test(`the objective is within ${TARGET.objective} relative of f* on every case`, async (t) => {
    for (const c of withRef) {
      t.ok((c.f.objRel ?? Infinity) <= TARGET.objective, `${c.spec.name}: f(x) against f* (${fmt(c.f.objRel)})`)
      t.ok((c.f.objReportedRel ?? Infinity) <= TARGET.objective, `${c.spec.name}: the reported objective against f* (${fmt(c.f.objReportedRel)})`)
    }
  })

  if (on('noFalseCertificate')) t.test('a converged status comes with an exact x', async (t) => {
    for (const c of nd) if (c.f.status === 'converged') t.ok((c.f.xRel ?? Infinity) <= TARGET.x, `${c.spec.name}: converged, x error ${fmt(c.f.xRel)}`)
  })

  if (on('convergedWhenExact')) t.test('the status is converged whenever x is exact (x error ≤ 1e-9)', async (t) => {
    for (const c of withRef) if ((c.f.xRel ?? Infinity) <= 1e-9) t.equal(c.f.status, 'converged', `${c.spec.name}: x error ${fmt(c.f.xRel)} after ${c.f.iterations} iterations`)
  })

  if (on('vjp')) t.test(`vjp (q, w, t, dense P) has cos ≥ ${TARGET.cos} and relative error ≤ ${TARGET.rel} against the reference`, async (t) => {
    for (const c of nd) for (const [k, a] of derivativeRows(c.f)) if (k.startsWith('vjp')) t.ok(agrees(a), `${c.spec.name} ${k}: rel ${fmt(a.rel)}, cos ${a.cos.toFixed(8)}${a.refZero ? ' (reference 0)' : ''}`)
  })

  if (on('jvp')) t.test(`jvp along random (q, w, t, P) tangents has cos ≥ ${TARGET.cos} and relative error ≤ ${TARGET.rel}`, async (t) => {
    for (const c of nd) for (const [k, a] of derivativeRows(c.f)) if (k.startsWith('jvp')) t.ok(agrees(a), `${c.spec.name} ${k}: rel ${fmt(a.rel)}, cos ${a.cos.toFixed(8)}`)
  })

  if (on('transpose')) t.test(`the transpose law ⟨c, J v⟩ = ⟨Jᵀc, v⟩ holds to ${TARGET.transpose} relative on every case`, async (t) => {
    for (const c of solved) t.ok((c.f.transpose ?? Infinity) <= TARGET.transpose, `${c.spec.name}: ${fmt(c.f.transpose)}`)
  })

  if (on('faceReport')) t.test('face.derivative is "exact" on non-degenerate cases and "non-unique" where the minimizer is not unique', async (t) => {
    for (const c of nd) t.equal(c.f.face?.derivative, 'exact', `${c.spec.name}: reference margin ${fmt(c.f.refMargin)} at ${c.f.refMarginAt}; library margin ${fmt(c.f.face?.margin)}`)
    for (const c of solved) if (c.spec.expect === 'non-unique') t.equal(c.f.face?.derivative, 'non-unique', `${c.spec.name}`)
  })

  if (on('libraryFace')) t.test('the face the library returns is verified optimal as it stands', async (t) => {
    for (const c of nd) t.ok(c.f.libFaceOk, `${c.spec.name}: the reference needed ${c.f.refRounds} rounds from the library's face`)
  })

}

/** Comments the worst-figures table (and, with HARD_VERBOSE set, one line per case). */
export const commentFigures = (t: Test, cs: readonly Checked[]): void => {
  for (const l of worstTable(cs)) t.comment(l)
  if (process.env['HARD_VERBOSE']) for (const c of cs) t.comment(summary(c.f))
}
