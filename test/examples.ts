// Smoke runs of the examples, as a user runs them.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { childEnv } from './helpers/childEnv.js'

const tsx = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', ...args], { encoding: 'utf8', env: childEnv(), timeout: 240_000 })

t.test('examples/quickstart.ts runs and prints a converged solution', async (t) => {
  const r = tsx(['examples/quickstart.ts'])
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /status: 'converged'/)
})

t.test('the demo at n = 10 runs; implicit rows are exact and feasible', async (t) => {
  const r = tsx(['examples/paper-experiment.ts', '--sizes', '10', '--json'])
  t.equal(r.status, 0, r.stderr)
  const rows = JSON.parse(r.stdout) as { mode: string; cosine: number; violation: number; relObjGap: number }[]
  t.equal(rows.length, 5 * 3 * 3)
  const implicit = rows.filter((x) => x.mode === 'default/implicit')
  t.ok(implicit.every((x) => x.cosine >= 0.9999), 'cosine ≥ 0.9999 on every implicit row')
  t.ok(implicit.every((x) => Math.abs(x.relObjGap) <= 1e-6), 'objective within 1e-6 of the exact solver')
  t.ok(rows.every((x) => x.violation <= 1e-12), 'no row violates the constraint')
})

t.test('the demo refuses bad --sizes with exit 2 and the CLI\'s one JSON error line', async (t) => {
  const r = tsx(['examples/paper-experiment.ts', '--sizes', 'ten'])
  t.equal(r.status, 2)
  t.equal(r.stdout, '')
  t.equal(r.stderr.split('\n').length, 2, 'one line on stderr')
  const e = JSON.parse(r.stderr) as { error: { message: string; path: string } }
  t.equal(e.error.path, '--sizes[0]')
  t.match(e.error.message, /"ten" is not a size/)
})
