// Smoke runs of the examples, as a user runs them.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

t.test('examples/paths --quick trains the shortest-path layer through its oracle and writes the SVG', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dfw-paths-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const svg = join(dir, 'paths.svg')
  const r = tsx(['examples/paths/main.ts', '--quick', '--json', '--out', svg])
  t.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout) as {
    initialRegret: number
    results: { method: string; testRegret: number; exactShare: number }[]
    epochs: { method: string; epoch: number; trainLoss: number }[]
  }
  t.same(out.results.map((x) => x.method), ['two-stage', 'layer-implicit', 'layer-unrolled'])
  for (const m of ['layer-implicit', 'layer-unrolled']) {
    const rows = out.epochs.filter((e) => e.method === m)
    t.ok(rows[rows.length - 1]!.trainLoss < rows[0]!.trainLoss, `${m}: the loss through the layer falls`)
    t.ok(out.results.find((x) => x.method === m)!.testRegret < out.initialRegret, `${m}: the trained model's regret is below the untrained one's`)
  }
  t.equal(out.results.find((x) => x.method === 'layer-implicit')!.exactShare, 1, 'every implicit face is exact (P = εI)')
  t.match(readFileSync(svg, 'utf8'), /^<\?xml[\s\S]*<svg[\s\S]*layer-implicit[\s\S]*<\/svg>\s*$/)
})

t.test('examples/paths refuses an unknown argument with exit 2', async (t) => {
  const r = tsx(['examples/paths/main.ts', '--fast'])
  t.equal(r.status, 2)
  t.match(r.stderr, /unknown argument "--fast"/)
})

t.test('examples/matching --quick --json: the layer learns to match, every x* is doubly stochastic, the SVG is written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dfw-matching-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const svg = join(dir, 'matching.svg')
  const r = tsx(['examples/matching/main.ts', '--quick', '--json', '--out', svg])
  t.equal(r.status, 0, r.stderr)
  const s = JSON.parse(r.stdout) as {
    svg: string; reference: { chance: number }
    epochs: Array<{ epoch: number; trainLoss: number; testLoss: number; testAccuracy: number; maxViolation: number; exactShare: number }>
  }
  t.equal(s.svg, svg)
  const first = s.epochs[0]!, last = s.epochs[s.epochs.length - 1]!
  t.equal(s.epochs.length, 4, 'epoch 0 and three epochs')
  t.ok(last.testLoss < 0.9 * first.testLoss, `test loss falls: ${first.testLoss} → ${last.testLoss}`)
  t.ok(last.testAccuracy > first.testAccuracy && last.testAccuracy > s.reference.chance, `accuracy rises: ${first.testAccuracy} → ${last.testAccuracy}`)
  t.ok(s.epochs.every((e) => e.maxViolation <= 1e-12), 'every test solution is doubly stochastic to 1e-12')
  t.ok(s.epochs.every((e) => e.exactShare >= 0.5), 'most faces are exact')
  t.ok(existsSync(svg) && /^<\?xml[^>]*>\s*<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/.test(readFileSync(svg, 'utf8')), 'an SVG document')
})

t.test('examples/matching refuses an unknown argument with exit 2', async (t) => {
  const r = tsx(['examples/matching/main.ts', '--fast'])
  t.equal(r.status, 2)
  t.match(r.stderr, /unknown argument/)
})
