// `npm run bench`: every benchmark, as tables (or JSON rows with --json). Timings are
// ratios against baselines measured in the same process; no test asserts a time.
//   npm run bench                 # all benches
//   npm run bench -- --json       # machine-readable rows, one object per bench
//   npm run bench -- --only fold  # one bench: matvec | fold | parse
import * as matvec from './matvec.js'
import * as fold from './fold.js'
import * as parse from './parse.js'

const args = process.argv.slice(2)
const json = args.includes('--json')
const onlyAt = args.indexOf('--only')
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined
const benches = { matvec, fold, parse } as const
const names = Object.keys(benches) as (keyof typeof benches)[]
if (only !== undefined && !names.includes(only as keyof typeof benches)) {
  process.stderr.write(`bench: unknown bench ${JSON.stringify(only)}; expected one of ${names.join(', ')}\n`)
  process.exit(2)
}
const out: Record<string, unknown> = {}
for (const name of names) {
  if (only !== undefined && name !== only) continue
  process.stderr.write(`bench: ${name}…\n`)
  const b = benches[name] as { run: () => readonly unknown[]; table: (rows: never) => string }
  const rows = b.run()
  if (json) out[name] = rows
  else console.log(`\n## ${name}\n${b.table(rows as never)}`)
}
if (json) process.stdout.write(JSON.stringify(out) + '\n')
