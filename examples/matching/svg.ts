/**
 * The matching example's figure: the training curves (the imitation example's line
 * charts) above heatmaps of one test instance — the hidden permutation, the layer's x*
 * before training and after. Pure: it returns the document.
 *
 * @since 0.1.0
 */
import { type Panel, escapeXml, lineCharts } from '../imitation/svg.js'

/** One heatmap: a title and an m × m matrix with entries in [0, 1]. */
export interface Heatmap {
  readonly title: string
  readonly m: number
  readonly values: Float64Array
}

const CELL = 22, GAP = 40, TOP = 34

const heatmap = (h: Heatmap, ox: number, oy: number): string => {
  const parts: string[] = [`<text x="${ox}" y="${oy + 16}" font-size="13" font-weight="bold">${escapeXml(h.title)}</text>`]
  for (let i = 0; i < h.m; i++) {
    for (let j = 0; j < h.m; j++) {
      const v = Math.min(1, Math.max(0, h.values[i * h.m + j]!))
      const shade = Math.round(255 * (1 - v))
      parts.push(`<rect x="${ox + j * CELL}" y="${oy + TOP + i * CELL}" width="${CELL - 1}" height="${CELL - 1}" fill="rgb(${shade},${shade},255)" stroke="#ccc"/>`)
    }
  }
  return parts.join('')
}

/**
 * The figure: `panels` as line charts (two per row), then the heatmaps in one row, then
 * the notes, a line each.
 *
 * @example
 * writeFileSync('out/matching.svg', figure('Learning to match', panels, maps))
 */
export const figure = (title: string, panels: ReadonlyArray<Panel>, maps: ReadonlyArray<Heatmap>, notes: ReadonlyArray<string> = []): string => {
  const charts = lineCharts(title, panels, 2).replace(/^<\?xml[^>]*>\s*/, '')
  const w = Number(/width="(\d+)"/.exec(charts)![1]), h = Number(/height="(\d+)"/.exec(charts)![1])
  const side = maps.length === 0 ? 0 : maps[0]!.m * CELL
  const mapsHeight = maps.length === 0 ? 0 : TOP + side + 30
  const width = Math.max(w, 16 + maps.length * (side + GAP)), height = h + mapsHeight + 18 * notes.length
  const body = maps.map((mp, k) => heatmap(mp, 16 + k * (side + GAP), h)).join('') +
    notes.map((t, k) => `<text x="16" y="${h + mapsHeight + 18 * k + 4}" font-size="12">${escapeXml(t)}</text>`).join('')
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">` +
    `<rect width="${width}" height="${height}" fill="white"/>` +
    `${charts.replace('<svg xmlns="http://www.w3.org/2000/svg"', '<svg x="0" y="0"')}${body}</svg>\n`
}
