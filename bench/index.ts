// `npm run bench`: every benchmark, as tables (or JSON rows with --json). Timings are
// ratios against baselines measured in the same process; no test asserts a time.
//   npm run bench                        # all benches
//   npm run bench -- --json              # machine-readable rows, one object per bench
//   npm run bench -- --only layer        # one bench: layer | scale | matvec | fold | parse | workers | conditioning | sets | nuclear | batch
//   npm run bench -- --only layer --svg chart.svg   # plus the log-log chart of ms/iteration
//   npm run bench -- --quick             # shorter sweeps (layer, scale, conditioning, sets, batch)
import { cpus, loadavg } from 'node:os'
import * as layer from './layer.js'
import * as scale from './scale.js'
import * as matvec from './matvec.js'
import * as fold from './fold.js'
import * as parse from './parse.js'
import * as workers from './workers.js'
import * as conditioning from './conditioning.js'
import * as sets from './oracles-vs-projection.js'
import * as nuclear from './nuclear.js'
import * as batch from './batch.js'

const args = process.argv.slice(2)
const json = args.includes('--json')
const quick = args.includes('--quick')
const onlyAt = args.indexOf('--only')
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined
const svgAt = args.indexOf('--svg')
const svg = svgAt >= 0 ? args[svgAt + 1] : undefined
const benches = {
  layer: { run: () => layer.run({ quick, ...(svg !== undefined ? { svg } : {}) }), table: layer.table },
  scale: { run: () => scale.run({ quick }), table: scale.table },
  matvec: { run: () => matvec.run(), table: matvec.table },
  fold: { run: () => fold.run(), table: fold.table },
  parse: { run: () => parse.run(), table: parse.table },
  workers: { run: () => workers.run(quick ? { sizes: [30, 100], batches: [64], repeats: 3 } : {}), table: workers.table },
  conditioning: { run: () => conditioning.run({ quick }), table: conditioning.table },
  sets: { run: () => sets.run({ quick }), table: sets.table },
  nuclear: { run: () => nuclear.run({ quick }), table: nuclear.table },
  batch: { run: () => batch.run({ quick }), table: batch.table }
} as const
const names = Object.keys(benches) as (keyof typeof benches)[]
if (only !== undefined && !names.includes(only as keyof typeof benches)) {
  process.stderr.write(`bench: unknown bench ${JSON.stringify(only)}; expected one of ${names.join(', ')}\n`)
  process.exit(2)
}
const main = async (): Promise<void> => {
  const out: Record<string, unknown> = {}
  const machine = `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`
  if (!json) console.log(`# bench (${machine})`)
  else out['machine'] = machine
  for (const name of names) {
    if (only !== undefined && name !== only) continue
    process.stderr.write(`bench: ${name}…\n`)
    const b = benches[name] as { run: () => unknown; table: (rows: never) => string }
    const rows = await b.run()
    if (json) out[name] = rows
    else console.log(`\n## ${name}\n${b.table(rows as never)}`)
  }
  if (json) process.stdout.write(JSON.stringify(out) + '\n')
  else console.log(`\n(load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')})`)
}
void main()
