/**
 * The package as a user gets it: packed, installed from the tarball into an empty project,
 * and used from there. The README's typed example (and examples/quickstart.ts with its
 * import pointed at the package) compiles under `strict` with `module`/`moduleResolution`
 * `nodenext` and runs; the installed `dfw` answers `--help`, `--version`, `solve` on one
 * problem from standard input and `demo --sizes 10`; the install stays small (≤ 30 MB of
 * node_modules, no development dependency in it).
 *
 * The tarball is packed from a staged copy of the package (package.json, README.md and what
 * `files` lists, with dist/ compiled afresh by `scripts/build.mjs --out`), so the test
 * checks the current sources without rewriting the worktree's dist/ while other test files
 * read it; `npm pack` then applies package.json's own `files` rules as it does for a
 * publish. The install uses npm's cache first (`--prefer-offline`) and the project's own
 * TypeScript compiler, so nothing is downloaded when the cache holds fp-ts and io-ts (it
 * does after `npm ci`). Only when the registry is unreachable and the cache lacks them does
 * the test skip, with a message.
 */
import t from 'tap'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, lstatSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { childEnv } from './helpers/childEnv.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string; version: string; files: string[]; dependencies?: Record<string, string>; devDependencies?: Record<string, string>
}
const LIMIT_BYTES = 30 * 1024 * 1024

// -------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------

/**
 * The environment for npm and the installed commands: the test runner's coverage hooks
 * removed (childEnv), and the variables an enclosing `npm test` exports that would point a
 * nested npm at this project (`npm_config_local_prefix`, `npm_package_*`, …). npm's cache,
 * registry and user configuration are kept.
 */
const env = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(childEnv()).filter(([k]) => {
  const l = k.toLowerCase()
  return !(l === 'npm_config_local_prefix' || l === 'npm_config_prefix' || l === 'init_cwd' || l === 'npm_command' ||
    l.startsWith('npm_package_') || l.startsWith('npm_lifecycle_'))
}))

const sh = (cmd: string, args: readonly string[], cwd: string, input = ''): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { cwd, env: env(), input, encoding: 'utf8', timeout: 180_000 })

const said = (r: SpawnSyncReturns<string>): string => `exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n${r.stderr}${r.stdout}`.slice(0, 4000)

/** A short assertion message for an exit code, with what the command said when the code is not the expected one. */
const exited = (r: SpawnSyncReturns<string>, what: string, code = 0): string => (r.status === code ? `${what} exits ${code}` : `${what}: ${said(r)}`)

/** The bytes of the files under a directory, symbolic links counted as links. */
const bytesUnder = (dir: string): number => {
  let total = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    total += e.isDirectory() ? bytesUnder(p) : lstatSync(p).size
  }
  return total
}

/** The names of the packages installed at the top of a node_modules (scoped ones as @scope/name). */
const installed = (nm: string): string[] =>
  readdirSync(nm).filter((n) => !n.startsWith('.')).flatMap((n) => (n.startsWith('@') ? readdirSync(join(nm, n)).map((m) => `${n}/${m}`) : [n]))

/** The first ```ts block after the README heading `heading`. */
const readmeBlock = (heading: string): string | undefined => {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const at = text.indexOf(`\n${heading}\n`)
  if (at < 0) return undefined
  return /```ts\n([\s\S]*?)```/.exec(text.slice(at))?.[1]
}

const NETWORK = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENOTCACHED)\b|network|request to \S+ failed/i

// -------------------------------------------------------------------------------------
// stage, pack, install
// -------------------------------------------------------------------------------------

const tmp = mkdtempSync(join(tmpdir(), 'dfwlayer-consumer-'))
t.teardown(() => rmSync(tmp, { recursive: true, force: true }))
const stage = join(tmp, 'package'), project = join(tmp, 'project')
mkdirSync(stage)
mkdirSync(project)

type Setup = { readonly ok: true; readonly tarball: string; readonly files: string[] } | { readonly ok: false; readonly skip?: string; readonly fail?: string }

const setup = ((): Setup => {
  // the staged package: what npm packs from the root, dist/ built from the current sources
  const always = readdirSync(ROOT).filter((f) => /^(package\.json|README|LICEN[CS]E|CHANGELOG)/i.test(f))
  for (const f of new Set([...always, ...PKG.files.filter((f) => f !== 'dist')])) cpSync(join(ROOT, f), join(stage, f), { recursive: true })
  const build = sh(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--out', join(stage, 'dist')], ROOT)
  if (build.status !== 0) return { ok: false, fail: `build: ${said(build)}` }
  const pack = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], stage)
  if (pack.status !== 0) return { ok: false, fail: `npm pack: ${said(pack)}` }
  const info = (JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[])[0]!
  const tarball = join(tmp, info.filename)
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }, null, 2))
  const install = sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], project)
  if (install.status !== 0) {
    return NETWORK.test(install.stderr)
      ? { ok: false, skip: `the registry is unreachable and npm's cache lacks the dependencies: ${install.stderr.split('\n').find((l) => NETWORK.test(l)) ?? ''}` }
      : { ok: false, fail: `npm install: ${said(install)}` }
  }
  return { ok: true, tarball, files: info.files.map((f) => f.path) }
})()

if (!setup.ok) {
  if (setup.skip !== undefined) t.plan(0, setup.skip)
  else t.fail(setup.fail ?? 'setup failed')
} else {
  const nm = join(project, 'node_modules')
  const dfw = (args: readonly string[], input = ''): SpawnSyncReturns<string> => sh(join(nm, '.bin', 'dfw'), args, project, input)

  t.test('the tarball ships the compiled demo and the README, and no sources of tests, benches or examples', async (t) => {
    for (const f of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/cli/demo.js', 'dist/workers/index.js', 'dist/workers/worker.js']) t.ok(setup.files.includes(f), `${f} is in the tarball`)
    t.same(setup.files.filter((f) => /^(src|test|bench|examples|scripts)\//.test(f)), [], 'no src/, test/, bench/, examples/ or scripts/')
    t.same(setup.files.filter((f) => /blas|stdlib/i.test(f)), [], 'no blas wrappers')
  })

  t.test(`the installed node_modules weighs at most 30 MB and holds no development dependency`, async (t) => {
    const bytes = bytesUnder(nm)
    t.ok(bytes <= LIMIT_BYTES, `node_modules holds ${(bytes / 2 ** 20).toFixed(1)} MiB of files (limit 30 MiB)`)
    const names = installed(nm)
    t.ok(names.includes(PKG.name), `${PKG.name} is installed`)
    for (const d of Object.keys(PKG.dependencies ?? {})) t.ok(names.includes(d), `the runtime dependency ${d} is installed`)
    t.same(names.filter((n) => n in (PKG.devDependencies ?? {}) || n.startsWith('@stdlib/')), [], 'no development dependency (and no @stdlib package) is installed')
  })

  t.test('the README\'s typed example and examples/quickstart.ts compile under strict + nodenext against the package and run', async (t) => {
    const readme = readmeBlock('## A typed example')
    t.ok(readme !== undefined && readme.includes(`from '${PKG.name}'`), `README.md has a ts block under "## A typed example" importing from '${PKG.name}'`)
    const quick = readFileSync(join(ROOT, 'examples', 'quickstart.ts'), 'utf8').replace(/from '\.\.\/src\/index\.js'/g, `from '${PKG.name}'`)
    t.match(quick, `from '${PKG.name}'`, 'quickstart.ts imports the package')
    writeFileSync(join(project, 'readme-example.ts'), readme ?? '')
    writeFileSync(join(project, 'quickstart.ts'), quick)
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', outDir: 'out', types: [] },
      include: ['readme-example.ts', 'quickstart.ts']
    }, null, 2))
    const tsc = sh(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], project)
    t.equal(tsc.status, 0, exited(tsc, 'tsc'))
    for (const f of ['readme-example.js', 'quickstart.js']) {
      const r = sh(process.execPath, [join(project, 'out', f)], project)
      t.equal(r.status, 0, exited(r, `node out/${f}`))
      t.match(r.stdout, /converged/, `${f} prints a converged solution`)
    }
  })

  t.test('dfwlayer/workers resolves from the installed package, type-checks under nodenext, and its pool solves a batch in worker threads', async (t) => {
    writeFileSync(join(project, 'workers-example.ts'), `import * as E from 'fp-ts/lib/Either.js'
import { dense, withDim } from '${PKG.name}'
import { dfwPool, type PoolResult } from '${PKG.name}/workers'
const pool = await dfwPool({ workers: 2, minWork: 0 })
const out = await withDim(2, async (n) => {
  const rs = await pool.batch({ backward: 'implicit' })(
    [1, -1, 0.5].map((s) => ({ P: dense({ rows: n, cols: n, data: Float64Array.of(2, 0, 0, 1) }), q: { dim: n, data: Float64Array.of(-s, s) }, t: 1 })),
    [0, 1, 2].map(() => ({ dim: n, data: Float64Array.of(1, 0) })))
  const ok = rs.flatMap((r) => (E.isRight(r) ? [r.right] : []))
  const status: ReadonlyArray<PoolResult<unknown>['status']> = ok.map((r) => r.status)
  return { status, x: ok.map((r) => Array.from(r.x.data)), gq: ok.map((r) => Array.from(r.gradients!.q.data)) }
})
console.log(JSON.stringify({ stats: pool.stats(), ...out }))
await pool.close()
`)
    writeFileSync(join(project, 'tsconfig.workers.json'), JSON.stringify({
      compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', outDir: 'out', types: [] },
      include: ['workers-example.ts']
    }, null, 2))
    const tsc = sh(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.workers.json'], project)
    t.equal(tsc.status, 0, exited(tsc, 'tsc (dfwlayer/workers types)'))
    const r = sh(process.execPath, [join(project, 'out', 'workers-example.js')], project)
    t.equal(r.status, 0, exited(r, 'node out/workers-example.js'))
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { stats: { inWorkers: number }; x: number[][]; gq: number[][] }
    t.equal(out.stats?.inWorkers, 1, 'the batch ran in the workers')
    // min x₁² + ½x₂² − s x₁ + s x₂ on |x₁| + |x₂| ≤ 1: s = 1 gives x = (1/3, −2/3)
    t.ok(out.x?.length === 3 && Math.abs(out.x[0]![0]! - 1 / 3) <= 1e-9 && Math.abs(out.x[0]![1]! + 2 / 3) <= 1e-9, `x of the first problem ${JSON.stringify(out.x?.[0])}`)
    t.equal(out.gq?.length, 3, 'every instance has its ∇q')
  })

  t.test('dfw --help and --version from the installed bin; the help names shipped files only', async (t) => {
    const h = dfw(['--help'])
    t.equal(h.status, 0, exited(h, 'dfw --help'))
    t.match(h.stdout, /dfw solve/)
    t.match(h.stdout, /dfw demo/)
    t.notMatch(h.stdout, /CONTRACT/)
    t.match(h.stdout, /README\.md of this package, section\n"The `dfw` command"/)
    t.match(readFileSync(join(nm, PKG.name, 'README.md'), 'utf8'), /^## The `dfw` command$/m, 'the installed README.md has that section')
    const v = dfw(['--version'])
    t.equal(v.status, 0, exited(v, 'dfw --version'))
    t.equal(v.stdout, `${PKG.version}\n`)
  })

  t.test('dfw solve reads one problem from standard input and writes its JSON result', async (t) => {
    // min ½(2x₁² + x₂²) − x₁ + x₂ on |x₁| + |x₂| ≤ 1: x = (1/3, −2/3), objective −2/3
    const r = dfw(['solve', '-'], '{"P":[[2,0],[0,1]],"q":[-1,1],"t":1,"cotangent":[1,0]}')
    t.equal(r.status, 0, exited(r, 'dfw solve -'))
    t.equal(r.stderr, '')
    const out = JSON.parse(r.stdout) as { x: number[]; objective: number; gap: number; status: string; vjp: { q: number[]; w: number[]; t: number } }
    t.equal(out.status, 'converged')
    t.ok(Math.abs(out.x[0]! - 1 / 3) <= 1e-9 && Math.abs(out.x[1]! + 2 / 3) <= 1e-9, `x = ${JSON.stringify(out.x)}`)
    t.ok(Math.abs(out.objective + 2 / 3) <= 1e-9, `objective = ${out.objective}`)
    t.match(out.vjp, { q: [Number, Number], w: [Number, Number], t: Number })
  })

  t.test('dfw demo --sizes 10 runs from the installed package and prints the table', async (t) => {
    const r = dfw(['demo', '--sizes', '10'])
    t.equal(r.status, 0, exited(r, 'dfw demo --sizes 10'))
    t.match(r.stdout, /^suite\s+n\s+seed\s+bind\s+mode/)
    t.equal(r.stdout.split('\n').filter((l) => /^(paper|bind0\.2|bind0\.05)\s+10\s/.test(l)).length, 5 * 3 * 3, '45 rows at n = 10')
    t.match(r.stdout, /default\/implicit\s+cos ∇q: median/)
    t.match(r.stderr, /demo: 15 cases in [\d.]+ s/)
  })

  t.test('dfw demo --sizes 100000 from the installed package is one JSON error line, exit 2', async (t) => {
    const r = dfw(['demo', '--sizes', '100000'])
    t.equal(r.status, 2, exited(r, 'dfw demo --sizes 100000', 2))
    t.equal(r.stdout, '')
    t.equal(r.stderr.split('\n').length, 2, 'one line')
    t.match(JSON.parse(r.stderr), { error: { message: /n <= \d+/, path: '--sizes[0]' } })
  })
}
