/**
 * A small SVG writer for line charts: panels of series on linear or log axes, with ticks,
 * a title per panel and a shared legend. Pure: it returns the document as a string.
 *
 * @since 0.1.0
 */

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** One line: its label, colour and points (x, y). */
export interface Series {
  readonly label: string
  readonly color: string
  readonly points: ReadonlyArray<readonly [number, number]>
}

/** One chart. A log axis drops non-positive values. */
export interface Panel {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly logY: boolean
  readonly series: ReadonlyArray<Series>
}

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

/** Escapes text for XML. */
export const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

const num = (v: number): string => (Math.round(v * 100) / 100).toString()

const fmtTick = (v: number): string => {
  if (v === 0) return '0'
  const a = Math.abs(v)
  return a >= 1e-2 && a < 1e4 ? String(Number(v.toPrecision(3))) : v.toExponential(0)
}

/** About `count` round ticks covering [lo, hi]; whole numbers only when `integer`. */
const linearTicks = (lo: number, hi: number, count = 5, integer = false): number[] => {
  const span = hi - lo || 1
  const raw = span / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const round = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag
  const step = integer ? Math.max(1, Math.round(round)) : round
  const out: number[] = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12 * span; v += step) out.push(Number(v.toPrecision(12)))
  return out
}

// -------------------------------------------------------------------------------------
// rendering
// -------------------------------------------------------------------------------------

const W = 460, H = 300

/** Earlier series are drawn wider, so lines that coincide (every constrained policy at 0 violations) stay visible as nested stripes. */
const strokeWidth = (k: number, count: number): number => 1.5 + 1.5 * (count - 1 - k)
const M = { left: 64, right: 16, top: 30, bottom: 44 }

const renderPanel = (p: Panel, ox: number, oy: number): string => {
  const pts = p.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!p.logY || y > 0))
  const xs = pts.map(([x]) => x), ys = pts.map(([, y]) => y)
  const x0 = xs.length > 0 ? Math.min(...xs) : 0
  const x1 = xs.length > 0 && Math.max(...xs) > x0 ? Math.max(...xs) : x0 + 1
  const integerX = xs.every(Number.isInteger)
  const f = p.logY ? Math.log10 : (v: number) => v
  let y0 = pts.length > 0 ? Math.min(...ys.map(f)) : 0, y1 = pts.length > 0 ? Math.max(...ys.map(f)) : 1
  if (!p.logY) y0 = Math.min(0, y0)
  if (p.logY) { y0 = Math.floor(y0); y1 = Math.ceil(y1) }
  if (y1 - y0 < 1e-12) y1 = y0 + 1
  if (!p.logY) { const pad = 0.04 * (y1 - y0); y0 -= pad; y1 += pad }
  const pw = W - M.left - M.right, ph = H - M.top - M.bottom
  const sx = (x: number): number => ox + M.left + ((x - x0) / (x1 - x0 || 1)) * pw
  const sy = (y: number): number => oy + M.top + ph - ((f(y) - y0) / (y1 - y0)) * ph
  const parts: string[] = []
  parts.push(`<rect x="${num(ox + M.left)}" y="${num(oy + M.top)}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`)
  parts.push(`<text x="${num(ox + M.left + pw / 2)}" y="${num(oy + 18)}" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(p.title)}</text>`)
  const yTicks = p.logY ? Array.from({ length: y1 - y0 + 1 }, (_, k) => 10 ** (y0 + k)) : linearTicks(y0, y1)
  for (const t of yTicks) {
    const y = sy(t)
    parts.push(`<line x1="${num(ox + M.left)}" y1="${num(y)}" x2="${num(ox + M.left + pw)}" y2="${num(y)}" stroke="#eee"/>`)
    parts.push(`<text x="${num(ox + M.left - 4)}" y="${num(y + 4)}" text-anchor="end" font-size="10">${escapeXml(fmtTick(t))}</text>`)
  }
  for (const t of linearTicks(x0, x1, 5, integerX)) {
    const x = sx(t)
    parts.push(`<line x1="${num(x)}" y1="${num(oy + M.top + ph)}" x2="${num(x)}" y2="${num(oy + M.top + ph + 4)}" stroke="#999"/>`)
    parts.push(`<text x="${num(x)}" y="${num(oy + M.top + ph + 16)}" text-anchor="middle" font-size="10">${escapeXml(fmtTick(t))}</text>`)
  }
  parts.push(`<text x="${num(ox + M.left + pw / 2)}" y="${num(oy + H - 8)}" text-anchor="middle" font-size="11">${escapeXml(p.xLabel)}</text>`)
  parts.push(`<text transform="translate(${num(ox + 14)} ${num(oy + M.top + ph / 2)}) rotate(-90)" text-anchor="middle" font-size="11">${escapeXml(p.yLabel)}</text>`)
  p.series.forEach((s, k) => {
    const width = strokeWidth(k, p.series.length)
    const ok = s.points.filter(([, y]) => Number.isFinite(y) && (!p.logY || y > 0))
    if (ok.length === 0) return
    const d = ok.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${num(sx(x))} ${num(sy(y))}`).join(' ')
    parts.push(`<path d="${d}" fill="none" stroke="${escapeXml(s.color)}" stroke-width="${width}" stroke-linejoin="round"/>`)
    for (const [x, y] of ok) parts.push(`<circle cx="${num(sx(x))}" cy="${num(sy(y))}" r="${num(width / 2 + 1)}" fill="${escapeXml(s.color)}"/>`)
  })
  return `<g>${parts.join('')}</g>`
}

/**
 * A grid of panels (`columns` per row) under a title, with a legend of the first panel's
 * series.
 *
 * @example
 * lineCharts('Loss', [panel], 2) // '<svg xmlns="http://www.w3.org/2000/svg" …>…</svg>'
 */
export const lineCharts = (title: string, panels: ReadonlyArray<Panel>, columns: number): string => {
  const rows = Math.ceil(panels.length / columns)
  const top = 56
  const width = columns * W, height = top + rows * H
  const legend = (panels[0]?.series ?? []).map((s, i) => {
    const x = 16 + i * 150
    return `<line x1="${x}" y1="40" x2="${x + 24}" y2="40" stroke="${escapeXml(s.color)}" stroke-width="${strokeWidth(i, panels[0]!.series.length)}"/>` +
      `<text x="${x + 30}" y="44" font-size="12">${escapeXml(s.label)}</text>`
  }).join('')
  const body = panels.map((p, k) => renderPanel(p, (k % columns) * W, top + Math.floor(k / columns) * H)).join('')
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">` +
    `<rect width="${width}" height="${height}" fill="white"/>` +
    `<text x="16" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>${legend}${body}</svg>\n`
}
