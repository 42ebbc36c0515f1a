// The examples' command line, shared: --quick, --json, --out PATH, --epochs N. An unknown
// argument, a flag without its value or a bad epoch count is one line on stderr, exit 2.
import { resolve } from 'node:path'

/** What an example runs with. */
export interface ExampleArgs {
  readonly quick: boolean
  readonly json: boolean
  /** The SVG's path, absolute. */
  readonly out: string
  readonly epochs: number
}

/**
 * Reads the example `name`'s arguments from `argv` (default: the process's), with its
 * default SVG path and its epoch counts for the quick and the full run.
 *
 * @example
 * const { quick, json, out, epochs } = exampleArgs('paths', { out: 'out/paths.svg', epochs: [2, 12] })
 */
export const exampleArgs = (
  name: string, defaults: { readonly out: string; readonly epochs: readonly [quick: number, full: number] }, argv: readonly string[] = process.argv.slice(2)
): ExampleArgs => {
  const fail = (msg: string): never => {
    process.stderr.write(`${name}: ${msg}\n`)
    process.exit(2)
  }
  const known = new Set(['--quick', '--json', '--out', '--epochs'])
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (!known.has(a)) fail(`unknown argument ${JSON.stringify(a)}; expected --quick, --json, --out PATH, --epochs N`)
    if (a === '--out' || a === '--epochs') i++
  }
  const valueOf = (flag: string): string | undefined => {
    const i = argv.indexOf(flag)
    if (i < 0) return undefined
    const v = argv[i + 1]
    return v === undefined || v.startsWith('--') ? fail(`${flag} needs a value`) : v
  }
  const quick = argv.includes('--quick')
  const epochsArg = valueOf('--epochs')
  const epochs = epochsArg === undefined ? defaults.epochs[quick ? 0 : 1] : Number(epochsArg)
  if (!Number.isSafeInteger(epochs) || epochs < 1) fail(`--epochs takes a positive integer, got ${JSON.stringify(epochsArg)}`)
  return { quick, json: argv.includes('--json'), out: resolve(valueOf('--out') ?? defaults.out), epochs }
}
