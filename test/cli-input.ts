/**
 * `dfw solve`'s input, after issue 20 and the contract's "More sets" and "Batches": the
 * entry-by-entry symmetry rule (the repro, dense and CSR), paths that quote odd keys,
 * escaped and cut error lines, a BOM, the object form of `set` with its rules and the
 * set's own tangents and gradients, batch-level shared fields, the new options and
 * status, and a seeded mutation fuzz grown with extreme exponents, mixed scales and odd
 * keys.
 */
import t, { type Test } from 'tap'
import * as E from 'fp-ts/lib/Either.js'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { childEnv } from './helpers/childEnv.js'
import { rng, type Rng } from '../src/core/Random.js'
import { runText, runDocument, errorLine, escapeJson, parseJson, type LayerFactory, type ResultJson } from '../src/cli/solve.js'
import { decodeProblem, decodeShared, entryPath, setCodec, tangentCodec, type DecodedProblem } from '../src/fw/ProblemCodec.js'
import { decodeWith } from '../src/shapes/codecs.js'
import { dfwLayer } from '../src/fw/Layer.js'
import type { LinearOperator } from '../src/core/LinearOperator.js'
import type { Problem } from '../src/fw/Problem.js'
import { denseBase, lowRankBase, csrBase, fullBase, stubLayer, toText, INF } from './helpers/dfwInputs.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const layer: LayerFactory = dfwLayer

// -------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------

interface Line { readonly error: { readonly message: string; readonly path: string } }

/** Exit 2, nothing on stdout, one error line: its parsed content. */
const refused = (t: Test, text: string, what: string, solver: LayerFactory = stubLayer): Line['error'] => {
  const out = runText(text, solver)
  t.equal(out.code, 2, `${what}: exit 2`)
  t.equal(out.stdout, '', `${what}: nothing on stdout`)
  t.equal(out.stderr.split('\n').length, 2, `${what}: one line`)
  try {
    return (JSON.parse(out.stderr) as Line).error
  } catch {
    return { message: `not JSON: ${out.stderr}`, path: '<none>' }
  }
}

const pathOf = (t: Test, u: unknown, what: string, solver: LayerFactory = stubLayer): string =>
  refused(t, typeof u === 'string' ? u : toText(u), what, solver).path

/** A solver stand-in that records what the CLI hands it, on top of the stub's answers. */
const recording = () => {
  const seen: Array<{ options: unknown; problem: Problem<unknown> }> = []
  const f: LayerFactory = (options) => (problem) => {
    seen.push({ options, problem: problem as Problem<unknown> })
    return stubLayer(options)(problem)
  }
  return { f, seen }
}

/** Characters that must never reach a line raw: C0/C1 controls, format characters, U+2028/U+2029. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u

/** The keys of a path in the CLI's notation: `a.b[3]["odd key"]` → ['a', 'b', '3', 'odd key']. */
const parsePath = (path: string): string[] | undefined => {
  const keys: string[] = []
  let rest = path
  while (rest !== '') {
    const m = /^(?:\.?([A-Za-z_$][A-Za-z0-9_$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\])/.exec(rest)
    if (m === null) return undefined
    keys.push(m[1] ?? m[2] ?? (JSON.parse(m[3]!) as string))
    rest = rest.slice(m[0].length)
  }
  return keys
}

/** True when a reported path points into the input (its last key may be missing; a cut key matches by prefix). */
const pointsInto = (input: unknown, path: string): boolean => {
  const keys = parsePath(path)
  if (keys === undefined) return false
  let cur: unknown = input
  for (let i = 0; i < keys.length; i++) {
    if (typeof cur !== 'object' || cur === null) return false
    let k = keys[i]!
    if (k.endsWith('…') && !Object.prototype.hasOwnProperty.call(cur, k)) {
      const prefix = k.slice(0, -1)
      const found = Object.keys(cur).find((key) => key.startsWith(prefix) && key.length > prefix.length)
      if (found !== undefined) k = found
    }
    if (!Object.prototype.hasOwnProperty.call(cur, k)) return i === keys.length - 1
    cur = (cur as Record<string, unknown>)[k]
  }
  return true
}

/** Every number finite and no null anywhere (JSON.stringify writes NaN and Infinity as null). */
const allFinite = (u: unknown): boolean =>
  u === null ? false
  : typeof u === 'number' ? Number.isFinite(u)
  : Array.isArray(u) ? u.every(allFinite)
  : typeof u === 'object' ? Object.values(u as object).every(allFinite)
  : true

const n4P = [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 2]]

// -------------------------------------------------------------------------------------
// symmetry, entry by entry
// -------------------------------------------------------------------------------------

const REPRO = { P: [[1e10, 0, 0], [0, 1, 1], [0, 0, 1]], q: [0, -1, 0.5], t: 10 }
const REPRO_CSR = { P: { csr: { n: 3, rowPtr: [0, 1, 3, 4], colIdx: [0, 1, 2, 2], values: [1e10, 1, 1, 1] } }, q: [0, -1, 0.5], t: 10 }

t.test('the repro of issue 20 is refused at P[2][1] (dense) and at the CSR entry (1, 2), with the real solver', async (t) => {
  const d = refused(t, toText(REPRO), 'dense', layer)
  t.equal(d.path, 'P[2][1]')
  t.match(d.message, /symmetric matrix: entry \[2\]\[1\] is 0 but \[1\]\[2\] is 1/)
  const c = refused(t, toText(REPRO_CSR), 'CSR', layer)
  t.equal(c.path, 'P.csr.values[2]')
  t.match(c.message, /\(1, 2\) and \(2, 1\) differ/)
  // the same scales with a symmetric P are solved, to the true minimum −7/6
  const ok = runText(toText({ ...REPRO, P: [[1e10, 0, 0], [0, 1, 0.5], [0, 0.5, 1]] }), layer)
  t.equal(ok.code, 0, ok.stderr)
  const r = JSON.parse(ok.stdout) as ResultJson
  t.ok(Math.abs(r.objective + 7 / 6) <= 1e-8, `objective ${r.objective} = −7/6`)
})

t.test('one large entry cannot hide an asymmetry elsewhere; a pair within 1e-10 of its own scale passes', async (t) => {
  t.equal(pathOf(t, { P: [[1e12, 0, 0], [0, 1e-3, 2e-3], [0, 2.001e-3, 1e-2]], q: [0, 0, 0], t: 1 }, 'a 5e-4 relative asymmetry'), 'P[2][1]')
  const ok = runText(toText({ P: [[1e12, 0, 0], [0, 1e-3, 2e-3], [0, 2e-3 * (1 + 1e-11), 1e-2]], q: [0, 0, 0], t: 1 }), stubLayer)
  t.equal(ok.code, 0, ok.stderr)
})

// -------------------------------------------------------------------------------------
// paths, messages, BOM
// -------------------------------------------------------------------------------------

t.test('keys that are not identifiers are quoted in paths, so they never read as a real path', async (t) => {
  const cases: Array<[string, unknown, string]> = [
    ['q[0]', { ...denseBase(), 'q[0]': 1 }, '["q[0]"]'],
    ['a.b', { ...denseBase(), 'a.b': 1 }, '["a.b"]'],
    ['empty', { ...denseBase(), '': 1 }, '[""]'],
    ['a number as a key', { ...denseBase(), 0: 1 }, '["0"]'],
    ['a quote', { ...denseBase(), 'x"y': 1 }, '["x\\"y"]'],
    ['in options', { ...denseBase(), options: { 'a.b': 1 } }, 'options["a.b"]'],
    ['in tangent', { ...denseBase(), tangent: { 'P[1]': 1 } }, 'tangent["P[1]"]'],
    ['in the set', { ...denseBase(), set: { kind: 'l1', 'k.k': 1 } }, 'set["k.k"]'],
    ['in csr', { ...csrBase(), P: { csr: { n: 1, rowPtr: [0, 1], colIdx: [0], values: [1], ' ': 1 } } }, 'P.csr[" "]'],
    ['an identifier is not quoted', { ...denseBase(), options: { $x_1: 1 } }, 'options.$x_1']
  ]
  for (const [what, u, path] of cases) {
    const p = pathOf(t, u, what)
    t.equal(p, path, `${what}: ${p}`)
    t.ok(pointsInto(u, p), `${what}: the path points into the input`)
  }
})

t.test('U+2028, U+2029 and other control or format characters never reach the error line raw', async (t) => {
  for (const key of ['a\u2028b', 'a\u2029b', 'x\u0085y', 'bidi\u202eevil', 'nul\u0000', 'del\u007f', 'bom\ufeff', 'zwj\u200d']) {
    // labels escaped: a raw U+2028 would split the test runner's own output
    const label = escapeJson(JSON.stringify(key))
    const out = runText(toText({ ...denseBase(), [key]: 1 }), stubLayer)
    t.equal(out.code, 2, `${label}: exit 2`)
    const line = out.stderr.slice(0, -1)
    t.notOk(UNSAFE.test(line), `${label}: no raw character in the line`)
    t.equal(line.includes('\n') || line.includes('\r'), false, `${label}: one line`)
    const e = (JSON.parse(line) as Line).error
    t.ok(JSON.stringify(parsePath(e.path)) === JSON.stringify([key]), `${label}: the path reads back as the key`)
    t.ok(e.message.includes(JSON.stringify(key).slice(1, -1)), `${label}: the message names the key (as JSON quotes it)`)
  }
  t.equal(escapeJson(JSON.stringify({ a: 'x\u2028y\u0085' })), '{"a":"x\\u2028y\\u0085"}')
  t.same(JSON.parse(escapeJson(JSON.stringify('𝒳\u{e0001}'))), '𝒳\u{e0001}', 'astral format characters are escaped as surrogate pairs and read back')
})

t.test('a 1 MB key gives a short message and a short path', async (t) => {
  const key = 'k'.repeat(1 << 20)
  const out = runText(`{"P":[[1]],"q":[1],"t":1,${JSON.stringify(key)}:1}`, stubLayer)
  t.equal(out.code, 2)
  t.ok(out.stderr.length < 1200, `the line has ${out.stderr.length} characters`)
  const e = (JSON.parse(out.stderr) as Line).error
  t.match(e.path, /^\["k+…"\]$/, 'the path quotes the key, cut')
  t.match(e.message, /unknown field "k+…"/)
  const opt = runText(`{"P":[[1]],"q":[1],"t":1,"options":{${JSON.stringify(key)}:1}}`, stubLayer)
  t.ok(opt.stderr.length < 1200, 'also inside options')
  t.equal(errorLine({ message: 'm'.repeat(5000), path: 'p'.repeat(5000) }).length < 1100, true, 'errorLine cuts message and path to 500 characters')
  t.match((JSON.parse(errorLine({ message: `${'m'.repeat(499)}😀😀`, path: '' })) as Line).error.message, /m…$/, 'a cut never splits a surrogate pair')
})

t.test('a UTF-8 byte order mark at the start is accepted; elsewhere it is not JSON', async (t) => {
  const ok = runText(`\uFEFF${toText(denseBase())}`, stubLayer)
  t.equal(ok.code, 0, ok.stderr)
  t.ok(E.isRight(parseJson('\uFEFF[1]')))
  t.equal(pathOf(t, `${toText(denseBase())}\uFEFF`, 'a BOM at the end'), '')
  t.equal(pathOf(t, '\uFEFF\uFEFF{}', 'two BOMs'), '')
})

// -------------------------------------------------------------------------------------
// the object form of set
// -------------------------------------------------------------------------------------

const boxBase = () => ({ P: [[2, 0, 0], [0, 3, 1], [0, 1, 4]], q: [1, -1, 0.5], set: { kind: 'box', lower: [-1, -1, -1], upper: [1, 2, 3] } })
const setBases = (): Array<[string, Record<string, unknown>]> => [
  ['l1 object', { ...denseBase(), set: { kind: 'l1' } }],
  ['linf object', { ...denseBase(), set: { kind: 'linf' } }],
  ['box', boxBase()],
  ['capped-simplex', { P: [[2, 0, 0], [0, 3, 1], [0, 1, 4]], q: [1, -1, 0.5], set: { kind: 'capped-simplex', k: 1.5 } }],
  ['ksparse', { ...denseBase(), set: { kind: 'ksparse', k: 2 } }],
  ['birkhoff', { P: n4P, q: [1, 2, 3, 4], set: { kind: 'birkhoff' } }],
  ['nuclear', { P: n4P, q: [1, 2, 3, 4], t: 1, set: { kind: 'nuclear', rows: 2, cols: 2 } }]
]

t.test('every kind of the table decodes into the library\'s SetSpec, with t and w by the table', async (t) => {
  const expected: Record<string, unknown> = {
    'l1 object': { kind: 'l1' }, 'linf object': { kind: 'linf' }, 'capped-simplex': { kind: 'capped-simplex', k: 1.5 },
    ksparse: { kind: 'ksparse', k: 2 }, birkhoff: { kind: 'birkhoff' }, nuclear: { kind: 'nuclear', rows: 2, cols: 2 }
  }
  for (const [name, base] of setBases()) {
    const r = decodeProblem(base)
    if (E.isLeft(r)) { t.fail(`${name}: ${r.left.message} at ${r.left.path}`); continue }
    r.right(<N>(p: DecodedProblem<N>) => {
      if (name === 'box') {
        const s = p.set as { kind: string; lower: { dim: unknown; data: Float64Array }; upper: { data: Float64Array } }
        t.equal(s.kind, 'box')
        t.equal(s.lower.dim, p.n, 'box: lower shares the problem\'s Dim')
        t.same([Array.from(s.lower.data), Array.from(s.upper.data)], [[-1, -1, -1], [1, 2, 3]])
      } else t.same(p.set, expected[name], `${name}: the set`)
      t.equal('t' in p.problem, ['l1 object', 'linf object', 'ksparse', 'nuclear'].includes(name), `${name}: t only with a radius`)
      t.equal('w' in p.problem, name === 'l1 object', `${name}: w on l1 only`)
      t.equal(p.problem.set, p.set, `${name}: the problem the layer gets carries the set unchanged`)
      return undefined
    })
  }
  const rec = recording()
  t.equal(runText(toText(boxBase()), rec.f).code, 0)
  t.same(Object.keys(rec.seen[0]!.problem).sort(), ['P', 'q', 'set'], 'a box problem reaches the layer without t and w')
})

t.test('set errors name the bad value (CONTRACT.md, "More sets")', async (t) => {
  const b = boxBase()
  const cases: Array<[string, unknown, string, RegExp?]> = [
    ['unknown kind', { ...denseBase(), set: { kind: 'sphere' } }, 'set.kind', /one of "l1"/],
    ['kind missing', { ...denseBase(), set: { k: 2 } }, 'set.kind', /missing/],
    ['kind a number', { ...denseBase(), set: { kind: 3 } }, 'set.kind'],
    ['polytope is a library set only', { ...denseBase(), set: { kind: 'polytope' } }, 'set.kind'],
    ['unknown key', { ...denseBase(), set: { kind: 'l2', radius: 1 } }, 'set.radius', /unknown key of the set "radius"/],
    ['set an array', { ...denseBase(), set: ['l1'] }, 'set'],
    ['box lower of the wrong length', { ...b, set: { ...b.set, lower: [0, 0] } }, 'set.lower', /expected 3 entries, got 2/],
    ['box upper non-finite', { ...b, set: { ...b.set, upper: [1, INF, 3] } }, 'set.upper[1]', /Infinity/],
    ['box lower = upper', { ...b, set: { ...b.set, lower: [-1, -1, 3] } }, 'set.lower[2]', /lower\[2\] < upper\[2\]/],
    ['box lower > upper', { ...b, set: { ...b.set, lower: [-1, 5, -1] } }, 'set.lower[1]'],
    ['box upper missing', { ...b, set: { kind: 'box', lower: [0, 0, 0] } }, 'set.upper', /missing/],
    ['box with t', { ...b, t: 1 }, 't', /no radius/],
    ['box with w', { ...b, w: [1, 1, 1] }, 'w', /l1 ball only/],
    ['capped-simplex k = n', { ...b, set: { kind: 'capped-simplex', k: 3 } }, 'set.k', /0 < k < n = 3/],
    ['capped-simplex k = 0', { ...b, set: { kind: 'capped-simplex', k: 0 } }, 'set.k'],
    ['capped-simplex k a string', { ...b, set: { kind: 'capped-simplex', k: '1' } }, 'set.k'],
    ['capped-simplex k missing', { ...b, set: { kind: 'capped-simplex' } }, 'set.k', /missing/],
    ['ksparse k not an integer', { ...denseBase(), set: { kind: 'ksparse', k: 1.5 } }, 'set.k', /integer k/],
    ['ksparse k = 0', { ...denseBase(), set: { kind: 'ksparse', k: 0 } }, 'set.k'],
    ['ksparse k > n', { ...denseBase(), set: { kind: 'ksparse', k: 4 } }, 'set.k'],
    ['ksparse without t', { P: denseBase()['P'], q: [1, 2, 3], set: { kind: 'ksparse', k: 1 } }, 't', /missing/],
    ['ksparse t ≤ 0', { ...denseBase(), t: 0, set: { kind: 'ksparse', k: 1 } }, 't', /positive/],
    ['birkhoff n not square', { P: denseBase()['P'], q: [1, 2, 3], set: { kind: 'birkhoff' } }, 'set', /perfect square/],
    ['birkhoff with t', { P: n4P, q: [1, 2, 3, 4], t: 1, set: { kind: 'birkhoff' } }, 't'],
    ['nuclear rows·cols ≠ n', { P: n4P, q: [1, 2, 3, 4], t: 1, set: { kind: 'nuclear', rows: 1, cols: 3 } }, 'set', /1·3 = 3 but n = 4/],
    ['nuclear rows 0', { P: n4P, q: [1, 2, 3, 4], t: 1, set: { kind: 'nuclear', rows: 0, cols: 4 } }, 'set.rows'],
    ['nuclear cols fractional', { P: n4P, q: [1, 2, 3, 4], t: 1, set: { kind: 'nuclear', rows: 2, cols: 2.5 } }, 'set.cols'],
    ['nuclear without t', { P: n4P, q: [1, 2, 3, 4], set: { kind: 'nuclear', rows: 2, cols: 2 } }, 't'],
    ['w on linf', { ...denseBase(), set: 'linf', w: [1, 1, 1] }, 'w', /l1 ball only; the set is "linf"/],
    ['w on the object form of simplex', { ...denseBase(), set: { kind: 'simplex' }, w: [1, 1, 1] }, 'w'],
    ['paper schedule on box', { ...b, options: { schedule: 'paper' } }, 'options.schedule', /smoothed oracle/],
    ['paper schedule on birkhoff', { P: n4P, q: [1, 2, 3, 4], set: { kind: 'birkhoff' }, options: { schedule: 'paper' } }, 'options.schedule']
  ]
  for (const [what, u, path, message] of cases) {
    const e = refused(t, toText(u), what)
    t.equal(e.path, path, `${what}: path ${e.path} (${e.message})`)
    if (message !== undefined) t.match(e.message, message, `${what}: message`)
  }
  t.ok(E.isRight(decodeWith(setCodec(3))({ kind: 'capped-simplex', k: 2.5 })), 'a fractional k is a capped simplex')
  t.same(setCodec(3).encode({ kind: 'box', lower: Float64Array.of(0, 0, 0), upper: Float64Array.of(1, 1, 1) }), { kind: 'box', lower: [0, 0, 0], upper: [1, 1, 1] })
  t.equal(setCodec(3).is('l2'), true)
  t.equal(setCodec(3).is({ kind: 'nope' }), false)
})

t.test('tangent takes q, P (dense P only) and the set\'s own parameters; anything else at its path', async (t) => {
  const b = boxBase()
  const cases: Array<[string, unknown, string]> = [
    ['box: t', { ...b, tangent: { t: 1 } }, 'tangent.t'],
    ['box: w', { ...b, tangent: { w: [1, 1, 1] } }, 'tangent.w'],
    ['box: lower of the wrong length', { ...b, tangent: { lower: [1] } }, 'tangent.lower'],
    ['box: upper NaN-like', { ...b, tangent: { upper: [1, INF, 0] } }, 'tangent.upper[1]'],
    ['capped-simplex: t', { ...b, set: { kind: 'capped-simplex', k: 1 }, tangent: { t: 1 } }, 'tangent.t'],
    ['capped-simplex: k a string', { ...b, set: { kind: 'capped-simplex', k: 1 }, tangent: { k: 'x' } }, 'tangent.k'],
    ['ksparse: k', { ...denseBase(), set: { kind: 'ksparse', k: 1 }, tangent: { k: 1 } }, 'tangent.k'],
    ['ksparse: w', { ...denseBase(), set: { kind: 'ksparse', k: 1 }, tangent: { w: [0, 0, 0] } }, 'tangent.w'],
    ['birkhoff: t', { P: n4P, q: [1, 2, 3, 4], set: { kind: 'birkhoff' }, tangent: { t: 1 } }, 'tangent.t'],
    ['l1: lower', { ...denseBase(), tangent: { lower: [0, 0, 0] } }, 'tangent.lower']
  ]
  for (const [what, u, path] of cases) t.equal(pathOf(t, u, what), path, what)
  const goods: unknown[] = [
    { ...b, tangent: { q: [1, 0, 0], lower: [1, 0, 0], upper: [0, 0, 1], P: [[1, 0, 0], [0, 0, 0], [0, 0, 0]] } },
    { ...b, set: { kind: 'capped-simplex', k: 1 }, tangent: { k: 1 } },
    { ...denseBase(), set: { kind: 'ksparse', k: 1 }, tangent: { t: 1, q: [0, 1, 0] } },
    { P: n4P, q: [1, 2, 3, 4], set: { kind: 'birkhoff' }, tangent: { q: [1, 0, 0, 0] } },
    { ...denseBase(), set: { kind: 'linf' }, tangent: { w: [1, 0, 0], t: 1 } }
  ]
  for (const u of goods) {
    const out = runText(toText(u), stubLayer)
    t.equal(out.code, 0, out.stderr)
  }
  const rec = recording()
  runText(toText({ ...b, tangent: { lower: [1, 0, 0], upper: [0, 0, 1e300] } }), rec.f)
  t.equal(rec.seen.length, 1)
  t.ok(E.isRight(decodeWith(tangentCodec(3, 'dense', 'box'))({ lower: [1, 2, 3] })))
})

t.test('vjp writes only the set\'s own gradients: q, P (dense P only) and w, t / lower, upper / k / t / nothing more', async (t) => {
  const keys: Record<string, string[]> = {
    'l1 object': ['P', 'q', 't', 'w'], 'linf object': ['P', 'q', 't', 'w'], box: ['P', 'lower', 'q', 'upper'], 'capped-simplex': ['P', 'k', 'q'],
    ksparse: ['P', 'q', 't'], birkhoff: ['P', 'q'], nuclear: ['P', 'q', 't']
  }
  for (const [name, base] of setBases()) {
    const n = (base['q'] as number[]).length
    const out = runText(toText({ ...base, cotangent: new Array(n).fill(1) }), stubLayer)
    t.equal(out.code, 0, `${name}: ${out.stderr}`)
    const r = JSON.parse(out.stdout) as ResultJson
    t.same(Object.keys(r.vjp ?? {}).sort(), keys[name], `${name}: vjp keys`)
  }
  const lr = JSON.parse(runText(toText({ ...lowRankBase(), set: { kind: 'ksparse', k: 1 }, cotangent: [1, 1, 1] }), stubLayer).stdout) as ResultJson
  t.same(Object.keys(lr.vjp ?? {}).sort(), ['q', 't'], 'no P for a low-rank P')
  // a solver that leaves out a gradient the set needs is a failure, never a silent zero
  const missing: LayerFactory = (o) => (p) => ({ ...stubLayer(o)(p), vjp: () => ({ q: stubLayer(o)(p).x, w: stubLayer(o)(p).x, t: 0 }) })
  const e = refused(t, toText({ ...boxBase(), cotangent: [1, 1, 1] }), 'a missing vjp.lower', missing)
  t.match(e.message, /vjp\.lower/)
  const noK = refused(t, toText({ ...boxBase(), set: { kind: 'capped-simplex', k: 1 }, cotangent: [1, 1, 1] }), 'a missing vjp.k', missing)
  t.match(noK.message, /no vjp\.k/)
})

t.test('huge tangents in the set\'s parameters are scaled exactly like the others', async (t) => {
  const seen: number[] = []
  const spy: LayerFactory = (o) => (p) => ({
    ...stubLayer(o)(p),
    jvp: (tg) => { seen.push(tg.upper?.data[2] ?? NaN, tg.k ?? NaN); return stubLayer(o)(p).x }
  })
  t.equal(runText(toText({ ...boxBase(), tangent: { upper: [0, 0, 1e300] } }), spy).code, 0)
  t.ok(seen[0]! <= 2 && seen[0]! >= 1, `the upper direction reached the solver scaled to [1, 2) (${seen[0]})`)
  t.equal(runText(toText({ ...boxBase(), set: { kind: 'capped-simplex', k: 1 }, tangent: { k: 1e-200 } }), spy).code, 0)
  t.ok(seen[3]! <= 2 && seen[3]! >= 1, `k as well (${seen[3]})`)
})

t.test('with the real solver, a valid problem on a new set is solved, or refused at set until its solver lands', async (t) => {
  for (const [name, base] of setBases()) {
    const out = runText(toText(base), layer)
    if (out.code === 0) { t.ok(allFinite(JSON.parse(out.stdout)), `${name}: solved, finite`); continue }
    const e = (JSON.parse(out.stderr) as Line).error
    t.same([out.code, e.path], [2, 'set'], `${name}: ${e.message}`)
    t.match(e.message, /not available yet/)
  }
})

// -------------------------------------------------------------------------------------
// batches
// -------------------------------------------------------------------------------------

t.test('batch-level P, set, options and w are inherited by the entries that omit them', async (t) => {
  const rec = recording()
  const doc = {
    P: [[2, 0, 0], [0, 3, 1], [0, 1, 4]],
    w: [1, 2, 3],
    options: { maxIterations: 7, timeLimitMs: 100 },
    set: 'l1',
    problems: [
      { q: [1, 2, 3], t: 1 },
      { q: [1, 2, 3], t: 2, P: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] },
      { q: [3, 2, 1], t: 1, options: { tolerance: 0 } },
      { q: [1, 1, 1], set: { kind: 'box', lower: [0, 0, 0], upper: [1, 1, 1] }, w: undefined }
    ]
  }
  const out = runDocument(JSON.parse(JSON.stringify(doc)) as unknown, rec.f)
  t.equal(out.code, 3, 'the box entry inherits w, which the box refuses')
  const res = (JSON.parse(out.stdout) as { results: Array<Record<string, unknown>> }).results
  t.same(res[3], { error: { message: 'w belongs to the l1 ball only; the set is "box"', path: 'w' } }, 'the shared field\'s error has its batch-level path')
  t.equal(rec.seen.length, 3)
  const [a, b, c] = rec.seen as [typeof rec.seen[0], typeof rec.seen[0], typeof rec.seen[0]]
  t.equal(a.problem.P, c.problem.P, 'the entries inheriting P get the same operator object')
  t.not(b.problem.P, a.problem.P, 'an entry with its own P keeps it')
  t.same(Array.from(a.problem.w!.data), [1, 2, 3], 'w inherited')
  t.same(a.options, { maxIterations: 7, timeLimitMs: 100 }, 'options inherited')
  t.same(c.options, { tolerance: 0 }, 'an entry\'s own options replace the batch\'s (no merge)')
  t.equal(a.problem.set, 'l1')
  t.equal((a.problem.P as LinearOperator<unknown>).kind, 'dense')
})

t.test('an error in a shared field fails every entry that inherits it, at the batch-level path; the others are computed', async (t) => {
  const doc = {
    P: [[2, 0], [1, 2]],
    problems: [{ q: [1, 2], t: 1 }, { q: [1, 2], t: 1, P: [[1, 0], [0, 1]] }, { q: [1], t: 1 }, { q: [1, 2, 3], t: 1 }]
  }
  const out = runDocument(doc, stubLayer)
  t.equal(out.code, 3)
  t.equal(out.stderr, '')
  const res = (JSON.parse(out.stdout) as { results: Array<{ error?: { path: string; message: string }; x?: number[] }> }).results
  t.equal(res[0]!.error?.path, 'P[1][0]', 'entry 0: the batch-level path')
  t.match(res[0]!.error?.message ?? '', /symmetric/)
  t.ok(res[1]!.x !== undefined, 'entry 1 has its own P and is solved')
  t.equal(res[2]!.error?.path, 'P[1][0]', 'entry 2 inherits the bad P too')
  t.equal(res[3]!.error?.path, 'P[1][0]')
  const sizes = runDocument({ P: [[2, 0], [0, 2]], problems: [{ q: [1, 2, 3], t: 1 }] }, stubLayer)
  t.match(JSON.parse(sizes.stdout), { results: [{ error: { path: 'problems[0].q', message: /expected 2 entries/ } }] }, 'a q that disagrees with the shared P is the entry\'s own error')
  const opts = runDocument({ options: { maxIterations: 0 }, problems: [denseBase(), { ...denseBase(), options: {} }] }, stubLayer)
  t.match(JSON.parse(opts.stdout), { results: [{ error: { path: 'options.maxIterations' } }, { x: Array }] }, 'a shared option')
  const set = runDocument({ set: { kind: 'ksparse', k: 3 }, problems: [denseBase(), { ...denseBase(), q: [1, 2] , P: [[1, 0], [0, 1]] }] }, stubLayer)
  t.match(JSON.parse(set.stdout), { results: [{ x: Array }, { error: { path: 'set.k', message: /n = 2/ } }] }, 'a shared set checked against each entry\'s n')
  const w = runDocument({ w: [1, -1, 1], problems: [denseBase()] }, stubLayer)
  t.match(JSON.parse(w.stdout), { results: [{ error: { path: 'w[1]' } }] })
})

t.test('the layer\'s refusal of a value in a shared P is at the batch-level path too (real solver)', async (t) => {
  const out = runDocument({ P: [[1e200, 0], [0, 1]], problems: [{ q: [1, 2], t: 1 }, { q: [1, 2], t: 1, P: [[1, 0], [0, 1]] }] }, layer)
  t.equal(out.code, 3)
  t.match(JSON.parse(out.stdout), { results: [{ error: { path: 'P[0][0]', message: /too large/ } }, { x: Array }] })
  t.equal(entryPath('problems[2]', ['P', 'w'], 'w[1]'), 'w[1]')
  t.equal(entryPath('problems[2]', ['P'], 'Px'), 'problems[2].Px', 'only the whole first key counts')
  t.equal(entryPath('problems[2]', ['P'], ''), 'problems[2]')
})

t.test('a batch-level field that is not P, set, options or w is an error for the whole batch', async (t) => {
  for (const key of ['t', 'q', 'cotangent', 'tangent', 'foo']) {
    t.equal(pathOf(t, { problems: [denseBase()], [key]: 1 }, `batch-level ${key}`), key)
  }
  t.equal(decodeShared({ problems: [] }).P, undefined, 'no shared P, nothing decoded')
})

// -------------------------------------------------------------------------------------
// options and status
// -------------------------------------------------------------------------------------

t.test('timeLimitMs and tapeBudgetMB reach the layer; ≤ 0 is refused; status timeLimit is written', async (t) => {
  const rec = recording()
  t.equal(runText(toText({ ...denseBase(), options: { timeLimitMs: 50, tapeBudgetMB: 0.5 } }), rec.f).code, 0)
  t.same(rec.seen[0]!.options, { timeLimitMs: 50, tapeBudgetMB: 0.5 })
  for (const key of ['timeLimitMs', 'tapeBudgetMB']) {
    for (const v of [0, -1, '1', INF]) t.equal(pathOf(t, { ...denseBase(), options: { [key]: v } }, `${key} ${String(v)}`), `options.${key}`)
  }
  const timed: LayerFactory = (o) => (p) => ({ ...stubLayer(o)(p), status: 'timeLimit' })
  const r = JSON.parse(runText(toText(denseBase()), timed).stdout) as ResultJson
  t.equal(r.status, 'timeLimit')
  const odd: LayerFactory = (o) => (p) => ({ ...stubLayer(o)(p), status: 'tired' as 'timeLimit' })
  t.match(refused(t, toText(denseBase()), 'an unknown status', odd).message, /unknown status/)
  const real = JSON.parse(runText(toText({ ...denseBase(), options: { backward: 'unrolled', tapeBudgetMB: 0.001, maxIterations: 50, tolerance: 0 }, cotangent: [1, 0, 0] }), layer).stdout) as ResultJson
  t.ok(allFinite(real) && real.iterations === 50, 'a tiny tape budget through the command: solved with derivatives')
})

// -------------------------------------------------------------------------------------
// the real process
// -------------------------------------------------------------------------------------

/** `node dist/cli/main.js` when the build is at least as new as the sources, else the source through tsx. */
const command = (): string[] => {
  const built = join(ROOT, 'dist', 'cli', 'main.js')
  const sources = ['src/cli/main.ts', 'src/cli/solve.ts', 'src/shapes/codecs.ts', 'src/shapes/internal.ts', 'src/fw/ProblemCodec.ts', 'src/core/OperatorCodec.ts', 'src/fw/Validate.ts'].map((f) => join(ROOT, f))
  const fresh = existsSync(built) && sources.every((s) => statSync(s).mtimeMs <= statSync(built).mtimeMs)
  return fresh ? [built] : ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')]
}

const dfw = (args: readonly string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [...command(), ...args], { cwd: ROOT, env: childEnv() })
    let stdout = '', stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(input)
  })

t.test('the real process: the repro, an odd key and a BOM file, each one JSON line or one result', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dfw-input-'))
  try {
    const file = join(dir, 'bom.json')
    writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(toText(denseBase()))]))
    const [repro, odd, bom] = await Promise.all([
      dfw(['solve', '-'], toText(REPRO)),
      dfw(['solve', '-'], `{"P":[[1]],"q":[1],"t":1,"a\u2028b.c":1}`),
      dfw(['solve', file], '')
    ])
    t.same([repro.code, repro.stdout, (JSON.parse(repro.stderr) as Line).error.path], [2, '', 'P[2][1]'], 'the repro')
    t.equal(repro.stderr.split('\n').length, 2)
    t.equal(odd.code, 2)
    t.notOk(UNSAFE.test(odd.stderr.slice(0, -1)), 'no raw U+2028 on stderr')
    t.ok((JSON.parse(odd.stderr) as Line).error.path === '["a\u2028b.c"]', 'the odd key is quoted')
    t.equal(bom.code, 0, bom.stderr)
    t.ok(allFinite(JSON.parse(bom.stdout)))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

// -------------------------------------------------------------------------------------
// fuzz
// -------------------------------------------------------------------------------------

const WEIRD: readonly unknown[] = [
  0, -1, 1, 0.5, 2, 3, -0.25, 1e-300, 1e300, INF, null, true, '', '3', [], {}, [1], [[1]], [1, 2, 3],
  'l1', 'l2', 'linf', 'simplex', 'box', 'birkhoff', 'paper', 'unrolled', { kind: 'box' }, { kind: 'ksparse', k: 1 }, { n: 1 }
]
const EXTREME: readonly number[] = [1e308, -1e308, 1.7976931348623157e308, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-320, 1e154, 1e-154, 1e150, 1e-150, 2 ** 1023, 2 ** -1074]
const ODD_KEYS: readonly string[] = [
  'a.b', 'q[0]', '', ' ', '[0]', '0', '\u2028', 'x\u2029y', 'c\u0085', '\u202e', '"', '\\', '__proto__', 'constructor', 'toString', 'P.csr', 'é', '😀', 'k'.repeat(5000)
]
const KEYS = ['foo', 'P', 'q', 't', 'w', 'set', 'options', 'cotangent', 'tangent', 'maxIterations', 'timeLimitMs', 'tapeBudgetMB', 'lower', 'upper', 'k', 'kind', 'rows', 'cols', 'problems']

const pick = <A>(r: Rng, xs: readonly A[]): A => xs[Math.floor(r.uniform() * xs.length)]!

/** All (container, key) slots of a JSON tree. */
const slots = (u: unknown, out: Array<[Record<string, unknown> | unknown[], string | number]> = []): typeof out => {
  if (Array.isArray(u)) u.forEach((v, i) => { out.push([u, i]); slots(v, out) })
  else if (typeof u === 'object' && u !== null) for (const [k, v] of Object.entries(u)) { out.push([u as Record<string, unknown>, k]); slots(v, out) }
  return out
}

/** Every number of a tree times s. */
const scaled = (u: unknown, s: number): unknown =>
  typeof u === 'number' ? u * s : Array.isArray(u) ? u.map((v) => scaled(v, s)) : typeof u === 'object' && u !== null ? Object.fromEntries(Object.entries(u).map(([k, v]) => [k, scaled(v, s)])) : u

const mutate = (u: unknown, r: Rng): unknown => {
  const root: { v: unknown } = { v: structuredClone(u) }
  const all = slots(root)
  const [c, k] = pick(r, all)
  const cur = (c as Record<string | number, unknown>)[k]
  const set = (v: unknown): void => { (c as Record<string | number, unknown>)[k] = v }
  const objects = all.map(([cc, kk]) => (cc as Record<string | number, unknown>)[kk]).filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v))
  switch (Math.floor(r.uniform() * 10)) {
    case 0: set(structuredClone(pick(r, WEIRD))); break
    case 1:
      if (Array.isArray(c)) c.splice(k as number, 1)
      else if (c !== root) delete (c as Record<string, unknown>)[k]
      else set(null)
      break
    case 2:
      if (Array.isArray(cur)) cur.push(structuredClone(cur[0] ?? 1))
      else if (typeof cur === 'object' && cur !== null) (cur as Record<string, unknown>)[pick(r, KEYS)] = structuredClone(pick(r, WEIRD))
      else set([cur])
      break
    case 3: if (typeof cur === 'number') set(pick(r, [-cur, 0, cur * 1e300, cur + 1e-12, cur / 3])); else set(String(cur)); break
    // extreme exponents: a number becomes one, or is shifted by 10^±(150…320)
    case 4: set(typeof cur === 'number' && r.uniform() < 0.5 ? cur * 10 ** ((r.uniform() < 0.5 ? -1 : 1) * (150 + Math.floor(r.uniform() * 170))) : pick(r, EXTREME)); break
    // tiny and huge scales combined: one subtree scaled up, another down
    case 5: {
      const big = 10 ** (100 + Math.floor(r.uniform() * 200)), small = 10 ** -(100 + Math.floor(r.uniform() * 200))
      set(scaled(cur, r.uniform() < 0.5 ? big : small))
      const [c2, k2] = pick(r, all)
      const other = (c2 as Record<string | number, unknown>)[k2]
      ;(c2 as Record<string | number, unknown>)[k2] = scaled(other, r.uniform() < 0.5 ? small : big)
      break
    }
    // keys with odd characters, in any object of the tree
    case 6: case 7: {
      const target = objects.length > 0 ? pick(r, objects) : undefined
      if (target !== undefined) Object.defineProperty(target, pick(r, ODD_KEYS), { value: structuredClone(pick(r, WEIRD)), enumerable: true, writable: true, configurable: true })
      else set({ [pick(r, ODD_KEYS)]: 1 })
      break
    }
    case 8: set([cur]); break
    default: if (Array.isArray(cur) && cur.length > 0) set(cur.slice(0, -1)); else set(structuredClone(pick(r, WEIRD)))
  }
  return root.v
}

t.test('fuzz: 800 seeded mutations (extreme exponents, mixed scales, odd keys) never throw, never write NaN, and every error is one escaped line pointing into the input', async (t) => {
  const r = rng(20260601)
  const bases: unknown[] = [
    denseBase(), lowRankBase(), csrBase(), fullBase(), REPRO, REPRO_CSR,
    ...setBases().map(([, b]) => b),
    { ...boxBase(), cotangent: [1, 0, -1], tangent: { lower: [1, 0, 0], q: [0, 1, 0] } },
    { ...lowRankBase(), options: { maxIterations: 20, tolerance: 0, backward: 'unrolled', tapeBudgetMB: 0.01 }, cotangent: [1, 0, 0], tangent: { q: [1, 1, 1], w: [0, 1, 0], t: -1 }, set: 'simplex' },
    { problems: [denseBase(), csrBase(), { ...fullBase(), options: { maxIterations: 10, schedule: 'paper' } }] },
    { P: [[2, 0, 0], [0, 3, 1], [0, 1, 4]], w: [1, 2, 3], options: { maxIterations: 30 }, problems: [{ q: [1, 2, 3], t: 1 }, { q: [0, 1, 0], t: 2, set: 'l1' }, { ...csrBase() }] }
  ]
  const codes = { 0: 0, 2: 0, 3: 0 }
  let bad = 0
  for (let s = 0; s < 800; s++) {
    let u = pick(r, bases)
    const times = 1 + Math.floor(r.uniform() * 3)
    for (let m = 0; m < times; m++) u = mutate(u, r)
    const text = toText(u)
    let out
    try {
      out = runText(text, layer)
    } catch (e) {
      bad++
      t.fail(escapeJson(`sample ${s} threw: ${String(e)}\n${text.slice(0, 2000)}`))
      continue
    }
    const problems = [0, 2, 3].includes(out.code) ? [] : [`exit code ${out.code}`]
    codes[out.code]++
    const input = JSON.parse(text.replaceAll('1e999', '0')) as unknown
    if (UNSAFE.test(out.stdout.slice(0, -1)) || UNSAFE.test(out.stderr.slice(0, -1))) problems.push('a raw control or separator character in the output')
    if (out.code === 2) {
      if (out.stdout !== '') problems.push('stdout not empty')
      const lines = out.stderr.split('\n')
      if (lines.length !== 2 || lines[1] !== '') problems.push('stderr is not one line')
      if (out.stderr.length > 1200) problems.push(`an error line of ${out.stderr.length} characters`)
      const e = (JSON.parse(lines[0]!) as Line).error
      if (typeof e.message !== 'string' || typeof e.path !== 'string') problems.push('error without message or path')
      else {
        if (!pointsInto(input, e.path)) problems.push(`path ${e.path} does not point into the input`)
        if (/the solver failed|unexpected failure/.test(e.message)) problems.push(`a failure on input that decodes: ${e.message}`)
        if (/\s+at\s+\S+\s+\(/.test(e.message)) problems.push('a stack in the message')
      }
    } else {
      if (out.stderr !== '') problems.push('stderr not empty')
      const parsed = JSON.parse(out.stdout) as unknown
      if (!allFinite(parsed)) problems.push('a non-finite number')
      if ('results' in (parsed as object)) {
        const results = (parsed as { results: Array<{ error?: { path: string } }> }).results
        const failed = results.filter((x) => x.error !== undefined)
        if ((failed.length > 0) !== (out.code === 3)) problems.push('exit code disagrees with the error entries')
        for (const f of failed) {
          if (!/^problems\[\d+\]/.test(f.error!.path) && !/^(P|set|options|w)\b/.test(f.error!.path)) problems.push(`entry path ${f.error!.path} is neither under problems[i] nor a shared field`)
          if (!pointsInto(input, f.error!.path)) problems.push(`entry path ${f.error!.path} does not point into the input`)
        }
      }
    }
    if (problems.length > 0) { bad++; t.fail(escapeJson(`sample ${s}: ${problems.join('; ')}\n${text.slice(0, 2000)}\n${out.stdout.slice(0, 1000)}${out.stderr}`)) }
  }
  t.equal(bad, 0, `800 samples, exit codes ${JSON.stringify(codes)}`)
  t.ok(codes[2] > 150, 'most mutations are invalid input')
  t.ok(codes[0] > 20, 'some mutations stay valid and are solved')
})
