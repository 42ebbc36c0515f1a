// The layout's import rules, checked on the source: every `import … from`, `export … from` and
// `import(…)` in src/ (type-only ones included) must point down the layers
//   src/shapes < src/core < src/jvp, src/vjp < src/fw < src/cli, src/tfjs, src/workers < src/index.ts
// (a file may import its own layer), and no two files may import each other in a circle.
// Prints every violation; exits 1 when there is one. `--json` prints the graph's summary.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'src')

/** The rank of a file's layer; files of equal rank may import each other (but not in a cycle). */
const RANK = { shapes: 0, core: 1, jvp: 2, vjp: 2, fw: 3, cli: 4, tfjs: 4, workers: 4 }
const layerOf = (file) => {
  const rel = relative(src, file).split(/[\\/]/)
  if (rel.length === 1) return { name: rel[0], rank: 5 }
  const name = rel[0]
  if (!(name in RANK)) throw new Error(`unknown layer ${name} (${file})`)
  return { name, rank: RANK[name] }
}

const walk = (d) => readdirSync(d).flatMap((e) => {
  const p = join(d, e)
  return statSync(p).isDirectory() ? walk(p) : /\.(ts|mts|cts)$/.test(e) && !e.endsWith('.d.ts') ? [p] : []
})

// strip comments so that examples in doc comments do not count as imports
const stripComments = (s) => s.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
const SPEC = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

const files = walk(src)
const edges = new Map()
const bare = new Map()
const problems = []
for (const f of files) {
  const text = stripComments(readFileSync(f, 'utf8'))
  const out = new Set()
  for (const m of text.matchAll(SPEC)) {
    const spec = m[1] ?? m[2]
    if (!spec.startsWith('.')) { if (!bare.has(f)) bare.set(f, new Set()); bare.get(f).add(spec); continue }
    const target = resolve(dirname(f), spec).replace(/\.js$/, '.ts')
    if (!files.includes(target)) { problems.push(`${relative(root, f)}: import of a missing file ${spec}`); continue }
    out.add(target)
    const a = layerOf(f), b = layerOf(target)
    if (b.rank > a.rank) problems.push(`up: ${relative(root, f)} (${a.name}) imports ${relative(root, target)} (${b.name})`)
    else if (b.rank === a.rank && b.name !== a.name) problems.push(`across: ${relative(root, f)} (${a.name}) imports ${relative(root, target)} (${b.name})`)
  }
  edges.set(f, out)
}

// cycles: Tarjan's strongly connected components
let index = 0
const idx = new Map(), low = new Map(), stack = [], on = new Set(), sccs = []
const strong = (v) => {
  idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v)
  for (const w of edges.get(v)) {
    if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v), low.get(w))) }
    else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)))
  }
  if (low.get(v) === idx.get(v)) {
    const c = []
    let w
    do { w = stack.pop(); on.delete(w); c.push(w) } while (w !== v)
    if (c.length > 1 || edges.get(v).has(v)) sccs.push(c)
  }
}
for (const f of files) if (!idx.has(f)) strong(f)
for (const c of sccs) problems.push(`cycle: ${c.map((f) => relative(root, f)).sort().join(' ↔ ')}`)

// what the package root loads: the layers and the packages its imports reach (the root must
// stay loadable in a browser: no src/workers, no node:worker_threads)
const reached = new Set()
const reach = (f) => { if (reached.has(f)) return; reached.add(f); for (const g of edges.get(f)) reach(g) }
reach(join(src, 'index.ts'))
const rootLoads = {
  layers: [...new Set([...reached].map((f) => layerOf(f).name))].sort(),
  packages: [...new Set([...reached].flatMap((f) => [...(bare.get(f) ?? [])]))].sort()
}
const layers = Object.fromEntries(Object.keys(RANK).map((k) => [k, files.filter((f) => layerOf(f).name === k).length]))

const importCount = [...edges.values()].reduce((s, e) => s + e.size, 0)
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ files: files.length, imports: importCount, up: problems.filter((p) => p.startsWith('up') || p.startsWith('across')).length, cycles: sccs.length, problems, layers, root: rootLoads }))
} else {
  for (const p of problems) console.log(p)
  console.log(`import graph: ${files.length} files, ${importCount} imports, ${problems.length} problem(s)`)
}
process.exit(problems.length > 0 ? 1 : 0)
