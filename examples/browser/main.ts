/// <reference lib="dom" />
// The browser page: Frank-Wolfe on a 2-D weighted l1 ball, driven by the library's ES-module
// bundle (`serve.ts` maps the import below to ./dfwlayer.js, the bundle of src/index.ts).
import {
  dfwLayer, dense, unsafeDim, resolveSchedule, initialState, fwStep, smoothVertex, computeExtremePoint,
  type Vec, type Params, type FwState, type LayerResult, type BackwardMode, type ScheduleName
} from '../../src/index.js'

type Two = 'plane'
const dim = unsafeDim<Two>(2)
const vec = (a: number, b: number): Vec<Two> => ({ dim, data: Float64Array.of(a, b) })

// -------------------------------------------------------------------------------------
// view: x-space [-R, R]² on a 600 × 600 SVG
// -------------------------------------------------------------------------------------

const SIZE = 600, R = 3, SCALE = SIZE / (2 * R)
const px = (x: number): number => SIZE / 2 + x * SCALE
const py = (y: number): number => SIZE / 2 - y * SCALE
const fromPx = (sx: number, sy: number): [number, number] => [(sx - SIZE / 2) / SCALE, (SIZE / 2 - sy) / SCALE]

const $ = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id)
  if (e === null) throw new Error(`missing #${id}`)
  return e as T
}
const svg = document.getElementById('plot') as unknown as SVGSVGElement
const NS = 'http://www.w3.org/2000/svg'
const el = (tag: string, attrs: Record<string, string | number>, parent: Element = svg): SVGElement => {
  const e = document.createElementNS(NS, tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v))
  parent.appendChild(e)
  return e
}
const fmt = (v: number): string => (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toFixed(4))
const fmtVec = (v: ArrayLike<number>): string => `(${fmt(v[0]!)}, ${fmt(v[1]!)})`

// -------------------------------------------------------------------------------------
// state
// -------------------------------------------------------------------------------------

interface Ui {
  q: [number, number]
  target: [number, number]
  t: number
  w: [number, number]
  P: [number, number, number] // P11, P12, P22
}
const ui: Ui = { q: [-1.5, -1], target: [0.8, 0.6], t: 1, w: [1, 1.5], P: [2, 0.6, 1] }

const readControls = (): string | undefined => {
  ui.t = Number($<HTMLInputElement>('t').value)
  ui.w = [Number($<HTMLInputElement>('w1').value), Number($<HTMLInputElement>('w2').value)]
  const p11 = Number($<HTMLInputElement>('p11').value), p12 = Number($<HTMLInputElement>('p12').value), p22 = Number($<HTMLInputElement>('p22').value)
  if (![p11, p12, p22].every(Number.isFinite) || !(p11 > 0) || !(p11 * p22 - p12 * p12 > 0)) {
    return 'P must be positive definite (P₁₁ > 0 and P₁₁P₂₂ − P₁₂² > 0); keeping the last valid P'
  }
  ui.P = [p11, p12, p22]
  return undefined
}

const params = (): Params<Two> => ({
  P: dense({ rows: dim, cols: dim, data: Float64Array.of(ui.P[0], ui.P[1], ui.P[1], ui.P[2]) }),
  q: vec(ui.q[0], ui.q[1]),
  w: vec(ui.w[0], ui.w[1]),
  t: ui.t
})

/** The iterates and the vertex each step moved towards, replaying the schedule's steps. */
const trace = (theta: Params<Two>, schedule: ScheduleName, cap = 400): { xs: Vec<Two>[]; vs: Vec<Two>[] } => {
  const sch = resolveSchedule('l1', theta, { schedule })
  const step = fwStep<Two>(sch.step)
  let [s] = initialState<Two>('l1')(theta) as readonly [FwState<Two>, unknown]
  const xs = [s.x], vs: Vec<Two>[] = []
  while (s.k < Math.min(sch.maxIterations, cap) && sch.go(s)) {
    const g = vec(s.px.data[0]! + theta.q.data[0]!, s.px.data[1]! + theta.q.data[1]!)
    const input = { g, w: theta.w, t: theta.t }
    vs.push(sch.name === 'paper' ? smoothVertex<Two>('l1', sch.step.beta(s.k + 1))(input)[0] : computeExtremePoint('l1', input))
    s = step([theta, s])[0]
    xs.push(s.x)
  }
  return { xs, vs }
}

/** The loss's cotangent dL/dx at x. */
const cotangent = (x: Vec<Two>): Vec<Two> =>
  ($<HTMLSelectElement>('loss').value === 'linear')
    ? vec(1, 0.5)
    : vec(2 * (x.data[0]! - ui.target[0]), 2 * (x.data[1]! - ui.target[1]))

// -------------------------------------------------------------------------------------
// drawing
// -------------------------------------------------------------------------------------

/** The level set {x : f(x) = f* + delta} as an SVG ellipse around the unconstrained minimiser. */
const levelSet = (center: [number, number], delta: number, attrs: Record<string, string | number>): void => {
  const [a, b, c] = ui.P
  const tr = (a + c) / 2, dd = Math.sqrt(((a - c) / 2) ** 2 + b * b)
  const l1 = tr + dd, l2 = tr - dd
  const angle = Math.abs(b) < 1e-15 ? (a >= c ? 0 : 90) : (Math.atan2(l1 - a, b) * 180) / Math.PI
  const r1 = Math.sqrt((2 * delta) / l1) * SCALE, r2 = Math.sqrt((2 * delta) / l2) * SCALE
  el('ellipse', { cx: px(center[0]), cy: py(center[1]), rx: r1, ry: r2, transform: `rotate(${-angle} ${px(center[0])} ${py(center[1])})`, fill: 'none', ...attrs })
}

const arrow = (from: [number, number], d: ArrayLike<number>, color: string, id: string): void => {
  const len = Math.hypot(d[0]!, d[1]!)
  if (!(len > 0)) return
  const k = Math.min(1.2, len) / len // at most 1.2 units long on screen
  const x2 = from[0] + d[0]! * k, y2 = from[1] + d[1]! * k
  el('line', { x1: px(from[0]), y1: py(from[1]), x2: px(x2), y2: py(y2), stroke: color, 'stroke-width': 3, 'marker-end': `url(#head-${id})`, id: `arrow-${id}` })
}

const draw = (shown: LayerResult<Two>, grads: Record<BackwardMode, Vec<Two>>, path: { xs: Vec<Two>[]; vs: Vec<Two>[] }): void => {
  svg.replaceChildren()
  const defs = el('defs', {})
  for (const [id, color] of [['unrolled', '#7b2cbf'], ['implicit', '#2a9d8f']] as const) {
    const m = el('marker', { id: `head-${id}`, viewBox: '0 0 10 10', refX: 8, refY: 5, markerWidth: 5, markerHeight: 5, orient: 'auto-start-reverse' }, defs)
    el('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: color }, m)
  }
  // axes and grid
  for (let k = -R; k <= R; k++) {
    el('line', { x1: px(k), y1: 0, x2: px(k), y2: SIZE, stroke: k === 0 ? '#bbb' : '#eee' })
    el('line', { x1: 0, y1: py(k), x2: SIZE, y2: py(k), stroke: k === 0 ? '#bbb' : '#eee' })
  }
  // level sets of f around the unconstrained minimiser −P⁻¹q
  const [a, b, c] = ui.P, det = a * c - b * b
  const center: [number, number] = [-(c * ui.q[0] - b * ui.q[1]) / det, -(-b * ui.q[0] + a * ui.q[1]) / det]
  const fStar = 0.5 * (ui.q[0] * center[0] + ui.q[1] * center[1])
  for (const d of [0.05, 0.2, 0.5, 1, 2, 4, 8]) levelSet(center, d, { stroke: '#f4a261', 'stroke-opacity': 0.5 })
  // the level set through the solution (tangent to the ball when the constraint binds)
  const dSol = shown.objective - fStar
  if (dSol > 1e-9) levelSet(center, dSol, { stroke: '#e76f51', 'stroke-width': 1.8, id: 'level-solution' })
  el('circle', { cx: px(center[0]), cy: py(center[1]), r: 3, fill: '#e76f51' })
  // the ball: vertices ±(t/wᵢ)eᵢ
  const v1 = ui.t / ui.w[0], v2 = ui.t / ui.w[1]
  el('polygon', { points: [[v1, 0], [0, v2], [-v1, 0], [0, -v2]].map(([x, y]) => `${px(x!)},${py(y!)}`).join(' '), fill: '#4361ee', 'fill-opacity': 0.08, stroke: '#4361ee', 'stroke-width': 1.5, id: 'ball' })
  // iterates and the vertices they step towards
  path.vs.forEach((v, i) => {
    const x = path.xs[i]!
    el('line', { x1: px(x.data[0]!), y1: py(x.data[1]!), x2: px(v.data[0]!), y2: py(v.data[1]!), stroke: '#f8961e', 'stroke-opacity': 0.25 })
    el('circle', { cx: px(v.data[0]!), cy: py(v.data[1]!), r: 3, fill: 'none', stroke: '#f8961e', class: 'vertex' })
  })
  el('polyline', { points: path.xs.map((x) => `${px(x.data[0]!)},${py(x.data[1]!)}`).join(' '), fill: 'none', stroke: '#4895ef', 'stroke-width': 1.2 })
  for (const x of path.xs) el('circle', { cx: px(x.data[0]!), cy: py(x.data[1]!), r: 2.2, fill: '#4895ef', class: 'iterate' })
  // the solution, the target, the gradient arrows at q, and q itself
  el('circle', { cx: px(shown.x.data[0]!), cy: py(shown.x.data[1]!), r: 6, fill: '#111', id: 'solution' })
  if ($<HTMLSelectElement>('loss').value === 'target') {
    const [tx, ty] = ui.target
    const g = el('g', { class: 'handle', id: 'target', 'data-kind': 'target' })
    el('circle', { cx: px(tx), cy: py(ty), r: 12, fill: 'transparent' }, g)
    el('path', { d: `M ${px(tx) - 6} ${py(ty) - 6} L ${px(tx) + 6} ${py(ty) + 6} M ${px(tx) - 6} ${py(ty) + 6} L ${px(tx) + 6} ${py(ty) - 6}`, stroke: '#111', 'stroke-width': 2 }, g)
  }
  arrow(ui.q, grads.unrolled.data, '#7b2cbf', 'unrolled')
  arrow(ui.q, grads.implicit.data, '#2a9d8f', 'implicit')
  el('circle', { cx: px(ui.q[0]), cy: py(ui.q[1]), r: 9, fill: '#d62828', stroke: '#fff', 'stroke-width': 2, class: 'handle', id: 'q-handle', 'data-kind': 'q' })
  el('text', { x: px(ui.q[0]) + 12, y: py(ui.q[1]) - 10, 'font-size': 14, fill: '#d62828' }).textContent = 'q'
}

// -------------------------------------------------------------------------------------
// update
// -------------------------------------------------------------------------------------

const render = (): void => {
  const err = readControls()
  $('error').textContent = err ?? ''
  $('t-out').textContent = ui.t.toFixed(2)
  $('w1-out').textContent = ui.w[0].toFixed(2)
  $('w2-out').textContent = ui.w[1].toFixed(2)
  const schedule = $<HTMLSelectElement>('schedule').value as ScheduleName
  const backward = $<HTMLSelectElement>('backward').value as BackwardMode
  const theta = params()
  const results = {
    unrolled: dfwLayer({ schedule, backward: 'unrolled' })<Two>({ ...theta, set: 'l1' }),
    implicit: dfwLayer({ schedule, backward: 'implicit' })<Two>({ ...theta, set: 'l1' })
  }
  const grads = {
    unrolled: results.unrolled.vjp(cotangent(results.unrolled.x)).q,
    implicit: results.implicit.vjp(cotangent(results.implicit.x)).q
  }
  const shown = results[backward]
  draw(shown, grads, trace(theta, schedule))
  $('q-val').textContent = fmtVec(ui.q)
  $('x-val').textContent = fmtVec(shown.x.data)
  $('gap-val').textContent = shown.gap.toExponential(3)
  $('iter-val').textContent = String(shown.iterations)
  $('status-val').textContent = shown.status
  $('gu-val').textContent = fmtVec(grads.unrolled.data)
  $('gi-val').textContent = fmtVec(grads.implicit.data)
  // everything a test needs to recompute the displayed solution, in full precision
  const st = $('state').dataset
  st.q = JSON.stringify(ui.q)
  st.w = JSON.stringify(ui.w)
  st.t = JSON.stringify(ui.t)
  st.p = JSON.stringify([[ui.P[0], ui.P[1]], [ui.P[1], ui.P[2]]])
  st.schedule = schedule
  st.backward = backward
  st.x = JSON.stringify(Array.from(shown.x.data))
  st.gap = JSON.stringify(shown.gap)
  st.iterations = String(shown.iterations)
  st.gradUnrolled = JSON.stringify(Array.from(grads.unrolled.data))
  st.gradImplicit = JSON.stringify(Array.from(grads.implicit.data))
  st.target = JSON.stringify(ui.target)
  st.loss = $<HTMLSelectElement>('loss').value
  st.renders = String(Number(st.renders ?? '0') + 1)
}

// dragging q and the target
let dragging: 'q' | 'target' | undefined
const toPlane = (e: PointerEvent): [number, number] => {
  const r = svg.getBoundingClientRect()
  const [x, y] = fromPx(((e.clientX - r.left) * SIZE) / r.width, ((e.clientY - r.top) * SIZE) / r.height)
  return [Math.max(-R, Math.min(R, x)), Math.max(-R, Math.min(R, y))]
}
svg.addEventListener('pointerdown', (e) => {
  const h = (e.target as Element).closest('.handle')
  const kind = h?.getAttribute('data-kind')
  if (kind !== 'q' && kind !== 'target') return
  dragging = kind
  svg.setPointerCapture(e.pointerId)
  e.preventDefault()
})
svg.addEventListener('pointermove', (e) => {
  if (dragging === undefined) return
  if (dragging === 'q') ui.q = toPlane(e)
  else ui.target = toPlane(e)
  render()
})
const stop = (e: PointerEvent): void => {
  if (dragging === undefined) return
  dragging = undefined
  if (svg.hasPointerCapture(e.pointerId)) svg.releasePointerCapture(e.pointerId)
}
svg.addEventListener('pointerup', stop)
svg.addEventListener('pointercancel', stop)
for (const id of ['t', 'w1', 'w2', 'p11', 'p12', 'p22', 'schedule', 'backward', 'loss']) $(id).addEventListener('input', render)

try {
  render()
  $('state').dataset.ready = '1'
} catch (e) {
  $('error').textContent = `error: ${e instanceof Error ? e.message : String(e)}`
  throw e
}
