/**
 * The layout's import rules (ARCHITECTURE.md): every import in src/ points down the
 * layers and no files import each other in a circle. scripts/import-graph.mjs reads the
 * sources; this test runs it and fails on any violation it prints.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { childEnv } from './helpers/childEnv.js'

t.test('src/ imports only point down the layers and form no cycle', async (t) => {
  const r = spawnSync(process.execPath, ['scripts/import-graph.mjs', '--json'], { encoding: 'utf8', env: childEnv() })
  t.equal(r.status, 0, r.stdout + r.stderr)
  const g = JSON.parse(r.stdout) as { files: number; imports: number; up: number; cycles: number; problems: string[] }
  t.ok(g.files > 40 && g.imports > 200, 'the checker saw the whole source tree')
  t.equal(g.up, 0, 'imports that point up or across')
  t.equal(g.cycles, 0, 'import cycles')
  t.same(g.problems, [])
})
