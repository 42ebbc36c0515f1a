// The imitation example's smoke run (`--quick --json`), as a user runs it.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { childEnv } from './helpers/childEnv.js'

const tsx = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', ...args], { encoding: 'utf8', env: childEnv(), timeout: 240_000 })

interface Result {
  readonly pMax: number
  readonly policy: string
  readonly testMse: number
  readonly violationRate: number
  readonly seconds: number
}

/**
 * Whether `text` is a well-formed SVG document: an optional XML declaration, then one
 * `<svg>` root in the SVG namespace, every tag closed in order, and no stray `<` or `&`.
 */
const isSvg = (text: string): boolean => {
  const body = text.replace(/^<\?xml[^?]*\?>\s*/, '').trim()
  if (!/^<svg\b[^>]*\bxmlns="http:\/\/www\.w3\.org\/2000\/svg"/.test(body)) return false
  const stack: string[] = []
  let roots = 0
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g
  let last = 0
  for (let m = tag.exec(body); m !== null; m = tag.exec(body)) {
    const between = body.slice(last, m.index)
    if (between.includes('<') || /&(?!(amp|lt|gt|quot|apos);)/.test(between)) return false
    last = tag.lastIndex
    const [, close, name, , selfClose] = m
    if (close === '/') {
      if (stack.pop() !== name) return false
    } else if (selfClose !== '/') {
      if (stack.length === 0) roots++
      stack.push(name!)
    } else if (stack.length === 0) return false
  }
  return stack.length === 0 && roots === 1 && body.slice(last).trim() === ''
}

t.test('the SVG check accepts a document and refuses broken ones', async (t) => {
  t.ok(isSvg('<svg xmlns="http://www.w3.org/2000/svg"><g><path d="M0 0"/></g></svg>'))
  t.notOk(isSvg('<svg xmlns="http://www.w3.org/2000/svg"><g></svg>'), 'unclosed tag')
  t.notOk(isSvg('<svg><g/></svg>'), 'no namespace')
  t.notOk(isSvg('<svg xmlns="http://www.w3.org/2000/svg"><text>a < b</text></svg>'), 'stray <')
})

t.test('examples/imitation --quick --json: layer policies never violate, the plain network does', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dfw-imitation-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const svg = join(dir, 'plot.svg')
  const r = tsx(['examples/imitation/main.ts', '--quick', '--json', '--out', svg])
  t.equal(r.status, 0, r.stderr)
  const summary = JSON.parse(r.stdout) as { svg: string; results: Result[] }
  t.equal(summary.svg, svg, 'the summary names the SVG written')
  t.same([...new Set(summary.results.map((x) => x.pMax))].sort(), [0.3, 1], 'both p_max')
  t.same([...new Set(summary.results.map((x) => x.policy))].sort(), ['clip', 'dfw-implicit', 'dfw-paper', 'mlp'], 'four policies')
  for (const x of summary.results) {
    t.ok(Number.isFinite(x.testMse) && x.testMse >= 0, `${x.policy} at p_max ${x.pMax}: finite test MSE`, { mse: x.testMse })
    if (x.policy === 'dfw-paper' || x.policy === 'dfw-implicit' || x.policy === 'clip') {
      t.equal(x.violationRate, 0, `${x.policy} at p_max ${x.pMax}: no test action violates the constraint`)
    }
  }
  const mlp = summary.results.filter((x) => x.policy === 'mlp')
  t.ok(mlp.length === 2 && mlp.every((x) => x.violationRate > 0), 'at both p_max the unconstrained network violates the constraint on some test states', { rates: mlp.map((x) => x.violationRate) })
  t.ok(existsSync(svg), 'the SVG file exists')
  t.ok(isSvg(readFileSync(svg, 'utf8')), 'the SVG file is a well-formed SVG document')
})

t.test('examples/imitation refuses an unknown argument with exit 2', async (t) => {
  const r = tsx(['examples/imitation/main.ts', '--fast'])
  t.equal(r.status, 2)
  t.match(r.stderr, /unknown argument/)
})
