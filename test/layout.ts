/**
 * The layout's import rules (ARCHITECTURE.md): every import in src/ points down the
 * layers and no files import each other in a circle. scripts/import-graph.mjs reads the
 * sources; this test runs it and fails on any violation it prints, and checks what the
 * package root loads: the layers below it, never src/cli, src/tfjs or src/workers, and no
 * Node-only module (the browser page loads the root).
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { childEnv } from './helpers/childEnv.js'

interface Graph {
  readonly files: number; readonly imports: number; readonly up: number; readonly cycles: number; readonly problems: string[]
  readonly layers: Record<string, number>
  readonly root: { readonly layers: string[]; readonly packages: string[] }
}

const graph = (): Graph => JSON.parse(spawnSync(process.execPath, ['scripts/import-graph.mjs', '--json'], { encoding: 'utf8', env: childEnv() }).stdout) as Graph

t.test('src/ imports only point down the layers and form no cycle', async (t) => {
  const r = spawnSync(process.execPath, ['scripts/import-graph.mjs', '--json'], { encoding: 'utf8', env: childEnv() })
  t.equal(r.status, 0, r.stdout + r.stderr)
  const g = JSON.parse(r.stdout) as Graph
  t.ok(g.files > 40 && g.imports > 200, 'the checker saw the whole source tree')
  t.equal(g.up, 0, 'imports that point up or across')
  t.equal(g.cycles, 0, 'import cycles')
  t.same(g.problems, [])
})

t.test('the layers are the ones ARCHITECTURE.md names, src/workers among them, and the root loads only those below it', async (t) => {
  const g = graph()
  t.same(Object.keys(g.layers).sort(), ['cli', 'core', 'fw', 'jvp', 'shapes', 'tfjs', 'vjp', 'workers'])
  for (const [k, count] of Object.entries(g.layers)) t.ok(count > 0, `src/${k} has files (${count})`)
  t.same(g.root.layers, ['core', 'fw', 'index.ts', 'jvp', 'shapes', 'vjp'], 'src/index.ts reaches no file of src/cli, src/tfjs or src/workers')
  t.ok(g.root.packages.includes('io-ts'), `control: the walk sees the root's packages (${g.root.packages.join(', ')})`)
  t.same(g.root.packages.filter((p) => p.startsWith('node:') || p === 'worker_threads' || p.startsWith('@tensorflow')), [], 'no node: module, worker_threads or tfjs from the root')
})
