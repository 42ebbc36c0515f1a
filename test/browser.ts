// The browser example in headless Chromium: the library's ES-module bundle has no node-only
// module, the page loads, dragging q with the mouse re-solves, and the solution and gradients it
// displays are the library's own for the same q, w, t and P. Skips when /usr/bin/chromium is missing.
import t, { type Test } from 'tap'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { dfwLayer, dense, unsafeDim, type Vec, type BackwardMode, type ScheduleName } from '../src/index.js'

const CHROMIUM = '/usr/bin/chromium'
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

type Two = 'plane'
const dim = unsafeDim<Two>(2)
const vec = (a: readonly number[]): Vec<Two> => ({ dim, data: Float64Array.from(a) })

interface Shown {
  q: [number, number]; w: [number, number]; t: number; p: [[number, number], [number, number]]
  schedule: ScheduleName; backward: BackwardMode; x: number[]; gap: number; iterations: number
  gradUnrolled: number[]; gradImplicit: number[]; target: [number, number]; loss: 'target' | 'linear'; renders: number
}

/** The library's solve for what the page shows, and the page's numbers against it. */
const checkAgainstLibrary = (t: Test, s: Shown, tag: string): void => {
  const problem = {
    P: dense({ rows: dim, cols: dim, data: Float64Array.from(s.p.flat()) }),
    q: vec(s.q), w: vec(s.w), t: s.t, set: 'l1' as const
  }
  const lib = dfwLayer({ schedule: s.schedule, backward: s.backward })<Two>(problem)
  const dx = Math.max(...s.x.map((v, i) => Math.abs(v - lib.x.data[i]!)))
  t.ok(dx <= 1e-12, `${tag}: displayed x ${JSON.stringify(s.x)} = library x (max diff ${dx})`)
  t.equal(s.iterations, lib.iterations, `${tag}: iteration count ${s.iterations}`)
  t.ok(Math.abs(s.gap - lib.gap) <= 1e-12, `${tag}: gap ${s.gap}`)
  for (const mode of ['unrolled', 'implicit'] as const) {
    const r = mode === s.backward ? lib : dfwLayer({ schedule: s.schedule, backward: mode })<Two>(problem)
    const ct = s.loss === 'linear' ? vec([1, 0.5]) : vec([2 * (r.x.data[0]! - s.target[0]), 2 * (r.x.data[1]! - s.target[1])])
    const g = r.vjp(ct).q.data
    const shown = mode === 'unrolled' ? s.gradUnrolled : s.gradImplicit
    const dg = Math.max(...shown.map((v, i) => Math.abs(v - g[i]!)))
    t.ok(dg <= 1e-12, `${tag}: ∇q (${mode}) ${JSON.stringify(shown)} = library vjp (max diff ${dg})`)
  }
}

if (!existsSync(CHROMIUM)) {
  t.plan(0, `${CHROMIUM} is missing; install Debian's chromium (apt-get install -y chromium) to run the browser test`)
} else {
  t.test('the browser example: bundle, page, drag q, displayed solution = library solve', async (t) => {
    const { buildBrowser, serve, outdir } = await import('../examples/browser/serve.js')
    const { chromium } = await import('playwright-core')

    const info = await buildBrowser()
    t.ok(info.libraryInputs.some((f) => f.endsWith('src/index.ts')), 'the library bundle is built from src/index.ts')
    t.same(info.libraryInputs.filter((f) => f.startsWith('<') || f.includes('@tensorflow')), [], 'no node built-in and no tfjs among its inputs')
    const bundle = readFileSync(join(outdir, 'dfwlayer.js'), 'utf8')
    t.notMatch(bundle, /\brequire\(\s*["'](node:)?(fs|path|os|child_process|module|url|worker_threads|crypto)["']\s*\)|from\s*["']node:/, 'the bundle text requires no node-only module')

    const server = await serve(0)
    t.teardown(server.close)
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] })
    t.teardown(() => browser.close())
    const page = await browser.newPage({ viewport: { width: 1100, height: 760 } })
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(String(e)))
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })

    await page.goto(server.url)
    await page.waitForSelector('#state[data-ready="1"]', { state: 'attached', timeout: 20_000 })
    const read = async (): Promise<Shown> => {
      const d = await page.locator('#state').evaluate((e) => ({ ...(e as HTMLElement).dataset }))
      const j = (k: string) => JSON.parse(d[k]!) as never
      return {
        q: j('q'), w: j('w'), t: j('t'), p: j('p'), schedule: d.schedule as ScheduleName, backward: d.backward as BackwardMode,
        x: j('x'), gap: j('gap'), iterations: Number(d.iterations), gradUnrolled: j('gradUnrolled'), gradImplicit: j('gradImplicit'),
        target: j('target'), loss: d.loss as 'target' | 'linear', renders: Number(d.renders)
      }
    }
    const before = await read()
    checkAgainstLibrary(t, before, 'initial page')

    // drag q with the mouse: 600 px for 6 units, y up
    const box = (await page.locator('#q-handle').boundingBox())!
    const svgBox = (await page.locator('#plot').boundingBox())!
    const from = { x: box.x + box.width / 2, y: box.y + box.height / 2 }
    const to = { x: svgBox.x + 300 + 1.9 * 100, y: svgBox.y + 300 - 0.7 * 100 } // q → (1.9, 0.7)
    await page.mouse.move(from.x, from.y)
    await page.mouse.down()
    await page.mouse.move(to.x, to.y, { steps: 12 })
    await page.mouse.up()
    const dragged = await read()
    t.ok(dragged.renders > before.renders + 5, `the drag re-solved on the way (${dragged.renders - before.renders} renders)`)
    t.ok(Math.abs(dragged.q[0] - 1.9) <= 0.02 && Math.abs(dragged.q[1] - 0.7) <= 0.02, `q followed the mouse to ${JSON.stringify(dragged.q)}`)
    t.not(JSON.stringify(dragged.x), JSON.stringify(before.x), 'the solution moved')
    checkAgainstLibrary(t, dragged, 'after the drag (paper schedule, unrolled)')
    const nIterates = await page.locator('circle.iterate').count(), nVertices = await page.locator('circle.vertex').count()
    t.ok(nIterates >= 2 && nVertices === nIterates - 1, `iterates (${nIterates}) and their softmax vertices (${nVertices}) are drawn`)
    t.equal(await page.locator('#arrow-unrolled').count() + await page.locator('#arrow-implicit').count(), 2, 'both gradient arrows are drawn')

    // the other backward mode, the default schedule, and the sliders
    await page.selectOption('#backward', 'implicit')
    checkAgainstLibrary(t, await read(), 'implicit mode')
    await page.selectOption('#schedule', 'default')
    for (const [id, v] of [['t', '1.2'], ['w1', '0.9'], ['w2', '1.3']] as const) {
      await page.locator(`#${id}`).evaluate((e, v) => { (e as HTMLInputElement).value = v; e.dispatchEvent(new Event('input')) }, v)
    }
    const moved = await read()
    t.same([moved.t, moved.w], [1.2, [0.9, 1.3]], 'the sliders set t and w')
    checkAgainstLibrary(t, moved, 'default schedule, implicit, new t and w')
    let l1 = 0
    for (let i = 0; i < 2; i++) l1 += Math.abs(moved.w[i]! * moved.x[i]!)
    t.ok(l1 <= moved.t * (1 + 1e-12), `the displayed solution is in the ball (Σ|wᵢxᵢ| = ${l1}, t = ${moved.t})`)
    await page.selectOption('#loss', 'linear')
    checkAgainstLibrary(t, await read(), 'loss ⟨c, x⟩')

    mkdirSync(join(root, 'out'), { recursive: true })
    const shot = join(root, 'out', 'browser.png')
    await page.selectOption('#loss', 'target')
    await page.selectOption('#schedule', 'paper')
    await page.locator('#t').evaluate((e) => { (e as HTMLInputElement).value = '0.7'; e.dispatchEvent(new Event('input')) })
    const binding = await read()
    checkAgainstLibrary(t, binding, 'paper schedule, implicit, t = 0.7')
    let used = 0
    for (let i = 0; i < 2; i++) used += Math.abs(binding.w[i]! * binding.x[i]!)
    t.ok(Math.abs(used - binding.t) <= 1e-9, `the constraint binds at t = 0.7 (Σ|wᵢxᵢ| = ${used})`)
    t.equal(await page.locator('#level-solution').count(), 1, 'the level set through the solution is drawn')
    await page.screenshot({ path: shot, fullPage: true })
    t.ok(existsSync(shot), `screenshot saved to ${shot}`)
    t.same(errors, [], 'no error in the page')
  })
}
