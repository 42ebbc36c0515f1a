/**
 * The `dfw` command: the shell (`--help`, `--version`, missing files, unknown commands),
 * a representative subset of the malformed inputs through the real process, batch
 * isolation, solver failures and non-finite results (with stand-in solvers), and a seeded
 * fuzz of the in-process logic with the real solver; `dfw demo` (its arguments, in-process
 * and through the real process, and a small run in-process) and what `--help` points to.
 */
import t, { type Test } from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { childEnv } from './helpers/childEnv.js'
import { rng, type Rng } from '../src/core/Random.js'
import { runText, runDocument, solveOne, solveBatch, type LayerFactory } from '../src/cli/solve.js'
import { run, USAGE } from '../src/cli/main.js'
import { DEMO_MAX_SIZE, DEMO_MAX_SIZES, DEMO_USAGE, parseDemoArgs, type DemoRow } from '../src/cli/demo.js'
import {
  BAD_CASES, INF, NEG_INF, denseBase, lowRankBase, csrBase, fullBase, nanLayer, stubLayer, throwingLayer, toText
} from './helpers/dfwInputs.js'
import { dfwLayer } from '../src/fw/Layer.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const layer: LayerFactory = dfwLayer

// -------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------

/** `node dist/cli/main.js` when the build is at least as new as the sources, else the source through tsx. */
const command = (): { readonly argv: string[]; readonly label: string } => {
  const built = join(ROOT, 'dist', 'cli', 'main.js')
  const sources = ['src/cli/main.ts', 'src/cli/solve.ts', 'src/cli/demo.ts', 'src/shapes/codecs.ts'].map((f) => join(ROOT, f))
  const fresh = existsSync(built) && sources.every((s) => statSync(s).mtimeMs <= statSync(built).mtimeMs)
  return fresh
    ? { argv: [built], label: 'dist/cli/main.js' }
    : { argv: ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')], label: 'tsx src/cli/main.ts' }
}
const CMD = command()

const dfw = (args: readonly string[], input?: string): { code: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [...CMD.argv, ...args], { cwd: ROOT, env: childEnv(), input: input ?? '', encoding: 'utf8', timeout: 60_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

interface Ran { readonly code: number | null; readonly stdout: string; readonly stderr: string }

/** The same as {@link dfw}, asynchronous, so that two runs share the two cores. */
const dfwAsync = (args: readonly string[], input: string): Promise<Ran> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [...CMD.argv, ...args], { cwd: ROOT, env: childEnv() })
    let stdout = '', stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(input)
  })

/** Runs the jobs two at a time, keeping their order. */
const twoAtATime = async <A, B>(xs: readonly A[], f: (x: A) => Promise<B>): Promise<B[]> => {
  const out: B[] = new Array(xs.length)
  let next = 0
  const worker = async (): Promise<void> => { while (next < xs.length) { const i = next++; out[i] = await f(xs[i]!) } }
  await Promise.all([worker(), worker()])
  return out
}

/** Every number finite and no null anywhere (JSON.stringify writes NaN and Infinity as null). */
const allFinite = (u: unknown, path = ''): string | undefined => {
  if (u === null) return `null at ${path}`
  if (typeof u === 'number') return Number.isFinite(u) ? undefined : `${u} at ${path}`
  if (Array.isArray(u)) { for (let i = 0; i < u.length; i++) { const b = allFinite(u[i], `${path}[${i}]`); if (b) return b } return undefined }
  if (typeof u === 'object') { for (const [k, v] of Object.entries(u as object)) { const b = allFinite(v, `${path}.${k}`); if (b) return b } }
  return undefined
}

/** True when a reported path points into the input (its last key may be a missing field). */
const pointsInto = (input: unknown, path: string): boolean => {
  const keys = [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => m[1] ?? m[2]!)
  let cur: unknown = input
  for (let i = 0; i < keys.length; i++) {
    if (typeof cur !== 'object' || cur === null) return false
    const k = keys[i]!
    if (!Object.prototype.hasOwnProperty.call(cur, k)) return i === keys.length - 1
    cur = (cur as Record<string, unknown>)[k]
  }
  return true
}

const withoutTimings = (r: unknown): unknown => {
  if (typeof r !== 'object' || r === null || !('timings' in r)) return r
  const { timings: _t, ...rest } = r as Record<string, unknown>
  return rest
}

// -------------------------------------------------------------------------------------
// the shell, in-process
// -------------------------------------------------------------------------------------

t.test('--version prints the version of package.json', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  t.same(await run(['--version']), { code: 0, stdout: `${pkg.version}\n`, stderr: '' })
})

t.test('--help prints the usage with an example', async (t) => {
  const out = await run(['--help'])
  t.equal(out.code, 0)
  t.equal(out.stdout, USAGE)
  t.match(out.stdout, /Example:\n\s+echo '\{"P"/)
})

t.test('a missing file exits 2 with path "" and a message naming the file', async (t) => {
  const out = await run(['solve', 'no/such/problem.json'])
  t.equal(out.code, 2)
  t.equal(out.stdout, '')
  t.same(JSON.parse(out.stderr), { error: { message: 'cannot read the file "no/such/problem.json": no such file', path: '' } })
})

t.test('a directory as FILE exits 2', async (t) => {
  const out = await run(['solve', ROOT])
  t.equal(out.code, 2)
  t.match(JSON.parse(out.stderr), { error: { path: '' } })
})

t.test('unknown commands, no command and extra arguments exit 2 with one line', async (t) => {
  for (const argv of [['frobnicate'], [], ['solve', 'a.json', 'b.json']]) {
    const out = await run(argv)
    t.equal(out.code, 2, argv.join(' '))
    t.equal(out.stdout, '')
    t.equal(out.stderr.split('\n').length, 2)
    t.match(JSON.parse(out.stderr), { error: { message: String, path: '' } })
  }
})

// -------------------------------------------------------------------------------------
// solver failures and non-finite results (fake solvers)
// -------------------------------------------------------------------------------------

t.test('a non-finite number in a result is an error, never written', async (t) => {
  const cases = [
    { where: 'x', base: denseBase(), msg: /x\[1\]/ },
    { where: 'objective', base: denseBase(), msg: /objective/ },
    { where: 'vjp', base: { ...denseBase(), cotangent: [1, 0, 0] }, msg: /vjp\.q\[0\]/ },
    { where: 'jvp', base: { ...denseBase(), tangent: { t: 1 } }, msg: /jvp\.x\[0\]/ }
  ] as const
  for (const c of cases) {
    const single = runText(toText(c.base), nanLayer(c.where))
    t.equal(single.code, 2, `${c.where}: single problem exits 2`)
    t.equal(single.stdout, '')
    t.match(JSON.parse(single.stderr), { error: { message: c.msg, path: '' } })
    const batch = runText(toText({ problems: [denseBase(), c.base] }), nanLayer(c.where))
    t.equal(batch.code, 3, `${c.where}: batch exits 3`)
    const parsed = JSON.parse(batch.stdout) as { results: unknown[] }
    t.match(parsed.results[1], { error: { message: c.msg, path: 'problems[1]' } })
    t.equal(allFinite(parsed), undefined)
  }
})

t.test('a solver that throws becomes an error without a stack trace', async (t) => {
  const single = runText(toText(denseBase()), throwingLayer)
  t.equal(single.code, 2)
  const e = JSON.parse(single.stderr) as { error: { message: string; path: string } }
  t.match(e.error.message, /the solver failed: RangeError: no convergence/)
  t.notMatch(e.error.message, /stack\.ts|\n/)
  const batch = runText(toText({ problems: [denseBase(), denseBase()] }), throwingLayer)
  t.equal(batch.code, 3)
  t.match(JSON.parse(batch.stdout), { results: [{ error: { path: 'problems[0]' } }, { error: { path: 'problems[1]' } }] })
})

t.test('an empty batch is an empty list of results and exit 0', async (t) => {
  t.same(runDocument({ problems: [] }, stubLayer), { code: 0, stdout: '{"results":[]}\n', stderr: '' })
})

t.test('vjp.P is written only when P is dense; timings as asked (stub solver)', async (t) => {
  const ask = { cotangent: [1, 0, 0], tangent: { q: [1, 0, 0] } }
  const dense = JSON.parse(runText(toText({ ...denseBase(), ...ask }), stubLayer).stdout) as Record<string, any>
  t.ok(Array.isArray(dense['vjp'].P))
  t.same(Object.keys(dense['timings']).sort(), ['backwardMs', 'forwardMs', 'jvpMs'])
  for (const b of [lowRankBase(), csrBase()]) {
    const r = JSON.parse(runText(toText({ ...b, ...ask }), stubLayer).stdout) as Record<string, any>
    t.notOk('P' in r['vjp'])
    t.same(Object.keys(r['jvp']), ['x'])
  }
  const plain = JSON.parse(runText(toText(denseBase()), stubLayer).stdout) as Record<string, any>
  t.same(Object.keys(plain).sort(), ['gap', 'iterations', 'objective', 'status', 'timings', 'x'])
  t.same(Object.keys(plain['timings']), ['forwardMs'])
})

// -------------------------------------------------------------------------------------
// the real process
// -------------------------------------------------------------------------------------

t.test(`malformed inputs through the real process (${CMD.label})`, async (t) => {
  const subset = BAD_CASES.filter((c) => c.subprocess === true)
  t.equal(subset.length, 10)
  const outs = await twoAtATime(subset, (c) => dfwAsync(['solve', '-'], c.text))
  for (const [i, c] of subset.entries()) {
    const out = outs[i]!
    t.equal(out.code, 2, `${c.name}: exit 2`)
    t.equal(out.stdout, '', `${c.name}: empty stdout`)
    const lines = out.stderr.split('\n')
    t.equal(lines.length, 2, `${c.name}: one line on stderr`)
    t.equal((JSON.parse(lines[0]!) as { error: { path: string } }).error.path, c.path, `${c.name}: path`)
  }
})

t.test('the real process: --version, --help, a missing file', async (t) => {
  const v = dfw(['--version'])
  t.equal(v.code, 0)
  t.match(v.stdout, /^\d+\.\d+\.\d+\n$/)
  const h = dfw(['--help'])
  t.equal(h.code, 0)
  t.match(h.stdout, /dfw solve/)
  const m = dfw(['solve', 'missing.json'])
  t.equal(m.code, 2)
  t.equal(m.stdout, '')
  t.same(JSON.parse(m.stderr), { error: { message: 'cannot read the file "missing.json": no such file', path: '' } })
})

t.test('the real process solves from a file and from stdin', async (t) => {
  const text = toText({ ...fullBase() })
  const fromStdin = dfw(['solve', '-'], text)
  t.equal(fromStdin.code, 0, fromStdin.stderr)
  t.equal(fromStdin.stderr, '')
  const r = JSON.parse(fromStdin.stdout) as Record<string, unknown>
  t.equal(allFinite(r), undefined)
  t.match(r, { x: Array, objective: Number, gap: Number, iterations: Number, status: /^(converged|maxIterations)$/, vjp: { q: Array, w: Array, t: Number, P: Array }, jvp: { x: Array } })
  const batch = dfw(['solve', '-'], toText({ problems: [denseBase(), { ...denseBase(), t: -1 }] }))
  t.equal(batch.code, 3)
  t.match(JSON.parse(batch.stdout), { results: [{ x: Array }, { error: { path: 'problems[1].t' } }] })
})

// -------------------------------------------------------------------------------------
// batches with the real solver
// -------------------------------------------------------------------------------------

t.test('a batch isolates bad entries: good results equal solving them alone, exit 3', async (t) => {
  const goods = [
    denseBase(),
    { ...lowRankBase(), cotangent: [1, 2, 3], tangent: { q: [0, 1, 0], t: 0.5 } },
    { ...csrBase(), set: 'l2' },
    fullBase(),
    { ...denseBase(), set: 'simplex', options: { maxIterations: 7, tolerance: 0, schedule: 'paper' } },
    { ...denseBase(), set: 'linf' }
  ]
  const parses = (text: string): boolean => { try { JSON.parse(text); return true } catch { return false } }
  const bads = BAD_CASES.filter((c) => c.text.startsWith('{"P"') && parses(c.text)).slice(0, 8).map((c) => JSON.parse(c.text) as unknown)
  const problems: unknown[] = []
  const goodAt: number[] = [], badAt: number[] = []
  for (let i = 0; i < Math.max(goods.length, bads.length); i++) {
    if (i < bads.length) { badAt.push(problems.length); problems.push(bads[i]) }
    if (i < goods.length) { goodAt.push(problems.length); problems.push(goods[i]) }
  }
  const out = runDocument({ problems }, layer)
  t.equal(out.code, 3)
  t.equal(out.stderr, '')
  const { results } = JSON.parse(out.stdout) as { results: Record<string, unknown>[] }
  t.equal(results.length, problems.length)
  t.equal(allFinite(results), undefined)
  goodAt.forEach((at, k) => {
    const alone = runDocument(goods[k], layer)
    t.equal(alone.code, 0, alone.stderr)
    t.same(withoutTimings(results[at]), withoutTimings(JSON.parse(alone.stdout)), `entry ${at} equals solving it alone`)
  })
  for (const at of badAt) {
    const e = results[at] as { error?: { message: string; path: string } }
    t.ok(e.error !== undefined, `entry ${at} is an error`)
    t.ok(e.error!.path.startsWith(`problems[${at}]`), `entry ${at}: path ${e.error!.path} is under problems[${at}]`)
  }
  const allGood = runDocument({ problems: goods }, layer)
  t.equal(allGood.code, 0)
})

t.test('every form of P solves with derivatives (real solver)', async (t) => {
  for (const b of [denseBase(), lowRankBase(), csrBase()]) {
    for (const backward of ['unrolled', 'implicit'] as const) {
      const r = solveOne({ ...b, options: { backward, maxIterations: 30 }, cotangent: [1, -1, 0], tangent: { q: [1, 0, 0], t: 1 } }, layer)
      t.equal(r._tag, 'Right', JSON.stringify(r))
      if (r._tag === 'Right') {
        t.equal(allFinite(r.right), undefined)
        t.equal('P' in (r.right.vjp ?? {}), Array.isArray(b['P']), 'vjp.P only for dense P')
      }
    }
  }
})

// -------------------------------------------------------------------------------------
// fuzz
// -------------------------------------------------------------------------------------

const WEIRD: readonly unknown[] = [
  0, -1, 1, 0.5, 2, 3, -0.25, 1e-300, 1e300, INF, NEG_INF, null, true, false, '', '3', 'x', [], {}, [1], [[1]], [1, 2, 3],
  'l1', 'l2', 'linf', 'simplex', 'paper', 'default', 'unrolled', 'implicit', { n: 1 }
]
const KEYS = ['foo', 'P', 'q', 't', 'w', 'set', 'options', 'cotangent', 'tangent', 'maxIterations', 'tolerance', 'U', 'diag', 'csr', 'n', 'problems']

const pick = <A>(r: Rng, xs: readonly A[]): A => xs[Math.floor(r.uniform() * xs.length)]!

/** All (container, key) slots of a JSON tree. */
const slots = (u: unknown, out: Array<[Record<string, unknown> | unknown[], string | number]> = []): typeof out => {
  if (Array.isArray(u)) u.forEach((v, i) => { out.push([u, i]); slots(v, out) })
  else if (typeof u === 'object' && u !== null) for (const [k, v] of Object.entries(u)) { out.push([u as Record<string, unknown>, k]); slots(v, out) }
  return out
}

const mutate = (u: unknown, r: Rng): unknown => {
  const root: { v: unknown } = { v: structuredClone(u) }
  const all = slots(root)
  const [c, k] = pick(r, all)
  const cur = (c as Record<string | number, unknown>)[k]
  const set = (v: unknown): void => { (c as Record<string | number, unknown>)[k] = v }
  switch (Math.floor(r.uniform() * 7)) {
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
    case 4: set([cur]); break
    case 5: if (Array.isArray(cur) && cur.length > 0) set(cur.slice(0, -1)); else set(structuredClone(pick(r, WEIRD))); break
    default: if (Array.isArray(cur)) set(cur.map((x) => (typeof x === 'number' ? x * (1 + r.normal() * 1e-6) : x))); else set(structuredClone(pick(r, WEIRD)))
  }
  return root.v
}

t.test('fuzz: 600 seeded mutations of valid problems never throw and never write NaN (real solver)', async (t) => {
  const solver = layer
  const r = rng(20240607)
  const bases: unknown[] = [
    denseBase(), lowRankBase(), csrBase(), fullBase(),
    { ...lowRankBase(), options: { maxIterations: 20, tolerance: 0 }, cotangent: [1, 0, 0], tangent: { q: [1, 1, 1], w: [0, 1, 0], t: -1 }, set: 'simplex' },
    { problems: [denseBase(), csrBase(), { ...fullBase(), options: { maxIterations: 10, schedule: 'paper' } }] }
  ]
  const codes = { 0: 0, 2: 0, 3: 0 }
  let bad = 0
  for (let s = 0; s < 600; s++) {
    let u = pick(r, bases)
    const times = 1 + Math.floor(r.uniform() * 3)
    for (let m = 0; m < times; m++) u = mutate(u, r)
    const text = toText(u)
    let out
    try {
      out = runText(text, solver)
    } catch (e) {
      bad++
      t.fail(`sample ${s} threw: ${String(e)}\n${text}`)
      continue
    }
    const problems = [0, 2, 3].includes(out.code) ? [] : [`exit code ${out.code}`]
    codes[out.code]++
    if (out.code === 2) {
      if (out.stdout !== '') problems.push('stdout not empty')
      const lines = out.stderr.split('\n')
      if (lines.length !== 2 || lines[1] !== '') problems.push('stderr is not one line')
      const e = JSON.parse(lines[0]!) as { error: { message: unknown; path: unknown } }
      if (typeof e.error.message !== 'string' || typeof e.error.path !== 'string') problems.push('error without message or path')
      else if (!pointsInto(JSON.parse(text.replaceAll('1e999', '0')), e.error.path)) problems.push(`path ${e.error.path} does not point into the input`)
    } else {
      if (out.stderr !== '') problems.push('stderr not empty')
      const parsed = JSON.parse(out.stdout) as unknown
      const nf = allFinite(parsed)
      if (nf !== undefined) problems.push(`non-finite: ${nf}`)
      if (out.code === 3 || 'results' in (parsed as object)) {
        const results = (parsed as { results: Array<{ error?: { path: string } }> }).results
        const failed = results.filter((x) => x.error !== undefined)
        if ((failed.length > 0) !== (out.code === 3)) problems.push('exit code disagrees with the error entries')
        failed.forEach((f) => { if (!/^problems\[\d+\]/.test(f.error!.path)) problems.push(`entry path ${f.error!.path} not under problems[i]`) })
      }
    }
    if (problems.length > 0) { bad++; t.fail(`sample ${s}: ${problems.join('; ')}\n${text}\n${out.stdout}${out.stderr}`) }
  }
  t.equal(bad, 0, `600 samples, exit codes ${JSON.stringify(codes)}`)
  t.ok(codes[2] > 100, 'most mutations are invalid input')
  t.ok(codes[0] > 20, 'some mutations stay valid and are solved')
})

t.test('solveBatch keeps the order and counts the failures', async (t) => {
  const b = solveBatch([denseBase(), null, csrBase()], stubLayer)
  t.equal(b.failed, 1)
  t.match(b.results, [{ x: Array }, { error: { path: 'problems[1]' } }, { x: Array }])
})

// -------------------------------------------------------------------------------------
// dfw demo and what --help points to
// -------------------------------------------------------------------------------------

/** The one JSON error line of an outcome, checked for its form (exit 2, nothing on stdout, no stack). */
const demoError = (t: Test, out: { code: number | null; stdout: string; stderr: string }, label: string): { message: string; path: string } => {
  t.equal(out.code, 2, `${label}: exit 2`)
  t.equal(out.stdout, '', `${label}: nothing on stdout`)
  t.equal(out.stderr.split('\n').length, 2, `${label}: one line on stderr`)
  t.notMatch(out.stderr, /\n\s+at |Error:.*\n/, `${label}: no stack trace`)
  const e = (JSON.parse(out.stderr) as { error: { message: string; path: string } }).error
  t.match(e, { message: String, path: String }, `${label}: {"error":{"message","path"}}`)
  return e
}

t.test('dfw demo refuses sizes beyond the documented limit, naming the entry', async (t) => {
  const huge = '9'.repeat(400)
  for (const [sizes, path] of [[String(DEMO_MAX_SIZE + 1), '--sizes[0]'], ['100000', '--sizes[0]'], ['1000000000', '--sizes[0]'], ['0', '--sizes[0]'], [`10,${huge}`, '--sizes[1]']] as const) {
    const e = demoError(t, await run(['demo', '--sizes', sizes]), sizes.slice(0, 20))
    t.equal(e.path, path, `${sizes.slice(0, 20)}: path`)
    t.match(e.message, `n <= ${DEMO_MAX_SIZE}`, `${sizes.slice(0, 20)}: the message states the limit`)
    t.ok(e.message.length < 300, `${sizes.slice(0, 20)}: the message stays short`)
  }
})

t.test('dfw demo refuses sizes that are not integers in decimal digits', async (t) => {
  for (const [sizes, path] of [['1e9', '--sizes[0]'], ['2.5', '--sizes[0]'], ['ten', '--sizes[0]'], ['10,-1', '--sizes[1]'], ['0x10', '--sizes[0]'], [' 10', '--sizes[0]'], ['10,,20', '--sizes[1]'], ['', '--sizes']] as const) {
    const e = demoError(t, await run(['demo', '--sizes', sizes]), JSON.stringify(sizes))
    t.equal(e.path, path, `${JSON.stringify(sizes)}: path`)
  }
})

t.test('dfw demo refuses more sizes than the limit, a missing value, unknown and repeated flags', async (t) => {
  const many = Array.from({ length: DEMO_MAX_SIZES + 1 }, () => '2').join(',')
  for (const [argv, path] of [
    [['--sizes', many], '--sizes'], [['--sizes'], '--sizes'], [['--fast'], ''], [['10'], ''], [['--JSON'], ''],
    [['--json', '--json'], '--json'], [['--sizes', '10', '--sizes=20'], '--sizes']
  ] as const) {
    const e = demoError(t, await run(['demo', ...argv]), argv.join(' '))
    t.equal(e.path, path, `${argv.join(' ')}: path`)
  }
})

t.test('dfw demo accepts --sizes at both ends of the range, in both spellings', async (t) => {
  t.same(parseDemoArgs(['--sizes', `1,${DEMO_MAX_SIZE}`]), { _tag: 'Right', right: { json: false, sizes: [1, DEMO_MAX_SIZE], help: false } })
  t.same(parseDemoArgs([`--sizes=${DEMO_MAX_SIZE}`, '--json']), { _tag: 'Right', right: { json: true, sizes: [DEMO_MAX_SIZE], help: false } })
  t.same(parseDemoArgs([]), { _tag: 'Right', right: { json: false, sizes: [10, 100, 300], help: false } })
})

t.test('dfw demo --help prints its usage and exits 0', async (t) => {
  t.same(await run(['demo', '--help']), { code: 0, stdout: DEMO_USAGE, stderr: '' })
  t.match(DEMO_USAGE, `1 <= N <= ${DEMO_MAX_SIZE}`)
})

t.test('dfw demo runs in-process: 5 seeds x 3 suites x 3 modes per size, progress on the side', async (t) => {
  let progress = ''
  const out = await run(['demo', '--sizes', '2,3', '--json'], { progress: (s) => { progress += s } })
  t.equal(out.code, 0, out.stderr)
  const rows = JSON.parse(out.stdout) as DemoRow[]
  t.equal(rows.length, 2 * 5 * 3 * 3)
  t.same([...new Set(rows.map((r) => r.n))], [2, 3])
  t.ok(rows.filter((r) => r.mode === 'default/implicit').every((r) => r.cosine >= 0.9999), 'the implicit rows match the exact gradient')
  t.match(progress, /demo: 30 cases in [\d.]+ s/)
  const table = await run(['demo', '--sizes', '2'])
  t.equal(table.code, 0)
  t.match(table.stdout, /^suite\s+n\s+seed\s+bind\s+mode/)
  t.match(table.stdout, /default\/implicit\s+cos ∇q: median/)
  t.match(table.stdout, /face identified .*\n\s+paper\/unrolled\s+paper \d+\/5/)
})

t.test('the real process: dfw demo with a size beyond the limit or not an integer is one JSON line, exit 2', async (t) => {
  for (const sizes of ['100000', '1e9']) {
    const e = demoError(t, dfw(['demo', '--sizes', sizes]), `${CMD.label} demo --sizes ${sizes}`)
    t.equal(e.path, '--sizes[0]')
  }
})

t.test('--help names only files the package ships: README.md and its dfw section', async (t) => {
  t.notMatch(USAGE, /CONTRACT/, 'no CONTRACT.md (not shipped)')
  t.match(USAGE, /README\.md of this package, section\n"The `dfw` command"/)
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] }
  t.ok(pkg.files.includes('README.md'), 'package.json files ships README.md')
  t.match(readFileSync(join(ROOT, 'README.md'), 'utf8'), /^## The `dfw` command$/m, 'README.md has the section')
  for (const f of USAGE.matchAll(/\b([\w./-]+\.(?:md|ts|js|json))\b/g)) {
    const name = f[1]!.replace(/^node_modules\/dfwlayer\//, '')
    t.ok(name === 'package.json' || pkg.files.some((p) => name === p || name.startsWith(`${p}/`)), `${f[1]!} is shipped`)
  }
})
