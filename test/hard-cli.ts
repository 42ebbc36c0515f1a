/**
 * The hard regimes through `dfw solve`: a sample of the suite's problems (ill-conditioned,
 * rank-deficient, diag + low rank, CSR, extreme scale) written as the CONTRACT's JSON with
 * a cotangent and a tangent, solved in-process by src/cli/solve.ts's `runText` with the
 * real layer and, for two of them, by the real command in a child process (dist/cli/main.js
 * when the build is fresh, else the source through tsx). The JSON result must carry the
 * verified minimizer and the reference derivatives, obey the transpose law and report
 * `converged`; an indefinite P must exit 2 with one error line at path `P`.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { childEnv } from './helpers/childEnv.js'
import { runText } from '../src/cli/solve.js'
import { dfwLayer } from '../src/fw/Layer.js'
import { type RefProblem, type RefTangent, jvpRef, solveReference, vjpRef } from './helpers/ddReference.js'
import { csrP, designed, jsonProblem, lowRankP, paperP, randomTangent, rankDeficientP, rng, scaleP, spectralP } from './helpers/hardProblems.js'
import { TARGET, agree, agrees, norm2, transposeResidual } from './helpers/hardCheck.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** `node dist/cli/main.js` when the build is at least as new as the sources, else the source through tsx. */
const command = (): string[] => {
  const built = join(ROOT, 'dist', 'cli', 'main.js')
  const sources = ['src/cli/main.ts', 'src/cli/solve.ts', 'src/fw/Layer.ts', 'src/fw/Polish.ts'].map((f) => join(ROOT, f))
  const fresh = existsSync(built) && sources.every((s) => statSync(s).mtimeMs <= statSync(built).mtimeMs)
  return fresh ? [built] : ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')]
}
const spawnSolve = (input: string): { code: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [...command(), 'solve', '-'], { cwd: ROOT, env: childEnv(), input, encoding: 'utf8', timeout: 120_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

interface Sample { readonly name: string; readonly p: RefProblem; readonly c: Float64Array; readonly v: RefTangent }
const sample = (name: string, seed: number, build: (r: ReturnType<typeof rng>) => RefProblem): Sample => {
  const r = rng(seed)
  const p = build(r)
  return { name, p, c: Float64Array.from({ length: p.n }, () => r.normal()), v: randomTangent(r, p) }
}
const n = 20
const SAMPLES: readonly Sample[] = [
  sample('cond 1e6 dense l1, binding', 80_001, (r) => designed(r, 'l1', spectralP(r, n, 1e6), n, 1, { binding: true })),
  sample('cond 1e8 dense linf, binding', 80_002, (r) => designed(r, 'linf', spectralP(r, n, 1e8), n, 1, { binding: true })),
  sample('cond 1e8 dense l2, on the sphere', 80_003, (r) => designed(r, 'l2', spectralP(r, n, 1e8), n, 1, { binding: true })),
  sample('rank-5 dense simplex', 80_004, (r) => designed(r, 'simplex', rankDeficientP(r, n, 5), n, 1, { binding: true, free: 5 })),
  sample('diag + low rank l2, on the sphere', 80_005, (r) => designed(r, 'l2', lowRankP(r, n, 4), n, 1, { binding: true })),
  sample('CSR l1, binding', 80_006, (r) => designed(r, 'l1', csrP(r, n, 2, 1e-6, n), n, 1, { binding: true })),
  sample('t = 1e-12, P·1e100, simplex', 80_007, (r) => designed(r, 'simplex', scaleP(paperP(r, n), 1e100), n, 1e-12, { binding: true }))
]

interface Result {
  readonly x: number[]; readonly status: string; readonly face?: { size: number; margin: number; derivative: string }
  readonly vjp?: { q: number[]; w: number[]; t: number; P?: number[][] }; readonly jvp?: { x: number[] }
}
const solved = SAMPLES.map((s) => {
  const out = runText(JSON.stringify(jsonProblem(s.p, { cotangent: s.c, tangent: s.v })), dfwLayer)
  const res = out.code === 0 ? (JSON.parse(out.stdout) as Result) : undefined
  const ref = res ? solveReference(s.p, res.x) : undefined
  return { s, out, res, ref }
})
const fmt = (v: number): string => v.toExponential(1)

t.test('dfw solve exits 0 with one JSON result on every sample', async (t) => {
  for (const { s, out } of solved) {
    t.equal(out.code, 0, `${s.name}: exit code (${out.stderr.trim()})`)
    t.equal(out.stderr, '', `${s.name}: nothing on standard error`)
  }
})

t.test(`dfw solve returns the verified minimizer (x within ${TARGET.x}) with status converged`, async (t) => {
  for (const { s, res, ref } of solved) {
    if (!res || !ref) { t.fail(`${s.name}: no result`); continue }
    const e = norm2(res.x.map((v, i) => v - ref.x[i]!)) / norm2(ref.x)
    t.ok(ref.verification.ok && e <= TARGET.x, `${s.name}: x error ${fmt(e)}`)
    t.equal(res.status, 'converged', `${s.name}: status`)
  }
})

t.test('dfw solve\'s vjp (q, w, t, P) and jvp.x agree with the reference derivatives', async (t) => {
  for (const { s, res, ref } of solved) {
    if (!res?.vjp || !res.jvp || !ref) { t.fail(`${s.name}: no derivatives`); continue }
    const g = vjpRef(ref, s.c)
    const unit = norm2(g.q) + 1e-300
    const rows: Array<[string, ReturnType<typeof agree>]> = [
      ['vjp.q', agree(res.vjp.q, g.q, unit)], ['vjp.w', agree(res.vjp.w, g.w, unit)], ['vjp.t', agree([res.vjp.t], [g.t], unit)],
      ['jvp.x', agree(res.jvp.x, jvpRef(ref, s.v), norm2(ref.x))]
    ]
    if (s.p.P.kind === 'dense') rows.push(['vjp.P', agree((res.vjp.P ?? []).flat(), g.P, unit)])
    for (const [k, a] of rows) t.ok(agrees(a), `${s.name} ${k}: rel ${fmt(a.rel)}, cos ${a.cos.toFixed(8)}`)
  }
})

t.test(`dfw solve's vjp and jvp obey the transpose law to ${TARGET.transpose}`, async (t) => {
  for (const { s, res } of solved) {
    if (!res?.vjp || !res.jvp) { t.fail(`${s.name}: no derivatives`); continue }
    const r = transposeResidual(s.c, res.jvp.x, { q: res.vjp.q, w: res.vjp.w, t: res.vjp.t, P: res.vjp.P?.flat() }, s.v)
    t.ok(r <= TARGET.transpose, `${s.name}: ${fmt(r)}`)
  }
})

t.test('the implicit result carries face { size, margin, derivative } (CONTRACT.md), "exact" on these samples', async (t) => {
  for (const { s, res } of solved) {
    if (!res) { t.fail(`${s.name}: no result`); continue }
    t.ok(res.face !== undefined, `${s.name}: face is present`)
    if (res.face === undefined) continue
    t.ok(Number.isInteger(res.face.size) && res.face.size >= 0 && res.face.size <= s.p.n, `${s.name}: size ${res.face.size}`)
    t.ok(Number.isFinite(res.face.margin) && res.face.margin >= 0, `${s.name}: margin ${res.face.margin}`)
    t.equal(res.face.derivative, 'exact', `${s.name}: derivative`)
  }
})

t.test('an indefinite P exits 2, prints nothing on standard output and one error line at path P', async (t) => {
  for (const set of ['l1', 'linf', 'l2', 'simplex']) {
    const out = runText(JSON.stringify({ P: [[-1, 0], [0, -10]], q: [-0.1, 0.01], t: 1, set }), dfwLayer)
    t.equal(out.code, 2, `${set}: exit code`)
    t.equal(out.stdout, '', `${set}: standard output`)
    const lines = out.stderr.trim().split('\n')
    t.ok(lines.length === 1 && lines[0] !== '', `${set}: one line`)
    if (lines[0] === '') continue
    const e = JSON.parse(lines[0]!) as { error: { message: string; path: string } }
    t.equal(e.error.path, 'P', `${set}: path`)
    t.match(e.error.message, /not positive semidefinite/, `${set}: message`)
  }
})

t.test('the real command agrees with the in-process run, and refuses the indefinite P', async (t) => {
  const s = solved[1]!
  const child = spawnSolve(JSON.stringify(jsonProblem(s.s.p, { cotangent: s.s.c, tangent: s.s.v })))
  t.equal(child.code, 0, `exit code (${child.stderr.trim()})`)
  const r = JSON.parse(child.stdout) as Result
  t.same(r.x, s.res?.x, 'the same x, bit for bit')
  t.same(r.vjp, s.res?.vjp, 'the same vjp')
  const bad = spawnSolve(JSON.stringify({ P: [[-1, 0], [0, -10]], q: [-0.1, 0.01], t: 1 }))
  t.equal(bad.code, 2, 'the indefinite P exits 2')
  t.equal(bad.stdout, '', 'with nothing on standard output')
  t.equal((JSON.parse(bad.stderr) as { error: { path: string } }).error.path, 'P', 'and path P')
})
