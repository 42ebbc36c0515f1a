/**
 * A small SVG writer for the benches: a log-log line chart with one polyline per series,
 * decade grid lines and a legend. No dependencies; the output is a standalone file.
 *
 * @since 0.1.0
 */

export interface Series {
  readonly name: string
  readonly points: ReadonlyArray<readonly [number, number]>
}

export interface Chart {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly series: ReadonlyArray<Series>
  /** Lines of small print under the plot (e.g. the peer's configuration), wrapped at about 120 characters. */
  readonly notes?: ReadonlyArray<string>
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f']

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

const tick = (e: number): string => (e >= 0 && e <= 4 ? String(10 ** e) : e < 0 && e >= -3 ? (10 ** e).toFixed(-e) : `1e${e}`)

/**
 * The chart as SVG text (log₁₀ axes; points with non-positive coordinates are dropped).
 *
 * @example
 * lineChart({ title: 't', xLabel: 'n', yLabel: 'ms', series: [{ name: 'a', points: [[10, 1], [100, 4]] }] })
 */
export const lineChart = (c: Chart): string => {
  const wrap = (t: string): string[] => {
    const out: string[] = []
    let line = ''
    for (const word of t.split(' ')) {
      if (line.length + word.length + 1 > 120 && line !== '') { out.push(line); line = word } else line = line === '' ? word : `${line} ${word}`
    }
    if (line !== '') out.push(line)
    return out
  }
  const notes = (c.notes ?? []).flatMap(wrap)
  const W = 760, H0 = 480, left = 70, right = 250, top = 40, bottom = 55
  const H = H0 + (notes.length > 0 ? 14 * notes.length + 10 : 0)
  const pts = c.series.flatMap((s) => s.points.filter(([x, y]) => x > 0 && y > 0))
  const lx = pts.map(([x]) => Math.log10(x)), ly = pts.map(([, y]) => Math.log10(y))
  const x0 = Math.floor(Math.min(...lx, 1)), x1 = Math.ceil(Math.max(...lx, x0 + 1))
  const y0 = Math.floor(Math.min(...ly, -1)), y1 = Math.ceil(Math.max(...ly, y0 + 1))
  const px = (x: number): number => left + ((Math.log10(x) - x0) / (x1 - x0)) * (W - left - right)
  const py = (y: number): number => H0 - bottom - ((Math.log10(y) - y0) / (y1 - y0)) * (H0 - top - bottom)
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${(W - right + left) / 2}" y="22" text-anchor="middle" font-size="14">${esc(c.title)}</text>`
  ]
  for (let e = x0; e <= x1; e++) {
    const x = px(10 ** e)
    out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${H0 - bottom}" stroke="#ddd"/>`, `<text x="${x}" y="${H0 - bottom + 16}" text-anchor="middle">${tick(e)}</text>`)
  }
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e)
    out.push(`<line x1="${left}" y1="${y}" x2="${W - right}" y2="${y}" stroke="#ddd"/>`, `<text x="${left - 6}" y="${y + 4}" text-anchor="end">${tick(e)}</text>`)
  }
  out.push(
    `<rect x="${left}" y="${top}" width="${W - left - right}" height="${H0 - top - bottom}" fill="none" stroke="#333"/>`,
    `<text x="${(W - right + left) / 2}" y="${H0 - 15}" text-anchor="middle">${esc(c.xLabel)} (log)</text>`,
    `<text transform="translate(18 ${(H0 - bottom + top) / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)} (log)</text>`,
    ...notes.map((t, k) => `<text x="10" y="${H0 + 12 + 14 * k}" font-size="9" fill="#555">${esc(t)}</text>`)
  )
  c.series.forEach((s, k) => {
    const col = COLORS[k % COLORS.length]!
    const ps = s.points.filter(([x, y]) => x > 0 && y > 0).slice().sort((a, b) => a[0] - b[0])
    if (ps.length > 0) {
      out.push(`<polyline fill="none" stroke="${col}" stroke-width="2" points="${ps.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`)
      for (const [x, y] of ps) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${col}"/>`)
    }
    const ly0 = top + 10 + 20 * k
    out.push(`<line x1="${W - right + 15}" y1="${ly0}" x2="${W - right + 40}" y2="${ly0}" stroke="${col}" stroke-width="2"/>`,
      `<text x="${W - right + 46}" y="${ly0 + 4}">${esc(s.name)}</text>`)
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}
