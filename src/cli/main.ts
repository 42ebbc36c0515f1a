#!/usr/bin/env node
/**
 * `dfw`, the command-line tool: a thin shell over `src/cli/solve.ts` (argument parsing,
 * reading the input, writing, exit codes). Nothing escapes as a stack trace: every failure
 * becomes one JSON line `{"error":{"message":"…","path":"…"}}` on standard error and exit 2.
 *
 * Commands:
 * - `dfw solve [FILE|-]`: one problem or a batch, from FILE or standard input.
 * - `dfw demo [--json] [--sizes N,N,…]`: the paper's experiment, in-process
 *   (`src/cli/demo.ts`, shipped in `dist/`; `npm run demo` runs the same code).
 * - `dfw --help`, `dfw --version`.
 *
 * The help text names only what the package ships: its README.md (section "The `dfw`
 * command"), next to `package.json` in the installed package.
 *
 * @since 0.1.0
 */
import { readFileSync, existsSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { dfwLayer } from '../fw/Layer.js'
import { errorLine, messageOf, runText, type LayerFactory, type Outcome } from './solve.js'
import { demo, DEMO_MAX_SIZE, DEMO_MAX_SIZES } from './demo.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * Where a command writes while it runs (the demo's progress), besides its outcome.
 *
 * @example
 * await run(['demo', '--sizes', '10'], { progress: (s) => process.stderr.write(s) })
 */
export interface RunIo {
  readonly progress?: (text: string) => void
}

/**
 * What one command does before the process writes it out.
 *
 * @example
 * await run(['--version']) // { code: 0, stdout: '0.1.0\n', stderr: '' }
 */
export interface CommandOutcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** The solver; the assignment checks that `dfwLayer` fits what the CLI needs. */
const LAYER: LayerFactory = dfwLayer

/** The package root: two levels above this file, in `src/cli` and in `dist/cli` alike. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/**
 * The usage text of `dfw --help`.
 *
 * @example
 * console.log(USAGE)
 */
export const USAGE = `dfw: differentiable Frank-Wolfe layers from the command line

Usage:
  dfw solve [FILE|-]   solve one JSON problem, or a batch {"problems": [...]}, from FILE
                       or standard input ("-" or no FILE); writes one JSON result
  dfw demo [--json] [--sizes N,N,...]
                       run the paper's experiment and the binding suite (a table, or
                       --json rows); sizes default 10,100,300, each 1..${DEMO_MAX_SIZE}, at most
                       ${DEMO_MAX_SIZES} (dfw demo --help)
  dfw --help           this text
  dfw --version        the package version

Problem (the full format, the sets and the result: README.md of this package, section
"The \`dfw\` command"; it sits next to package.json, e.g. node_modules/dfwlayer/README.md):
  { "P": number[][] | { "diag": number[], "U"?: number[][] }
       | { "csr": { "n", "rowPtr", "colIdx", "values" } },   symmetric PSD
    "q": number[], "t"?: number > 0 (the sets that use it), "w"?: number[] > 0 (l1 only),
    "set"?: "l1" | "linf" | "l2" | "simplex"
          | { "kind": "box", "lower": number[], "upper": number[] }
          | { "kind": "capped-simplex", "k": number }     0 < k < n, no t
          | { "kind": "ksparse", "k": int }                with t
          | { "kind": "birkhoff" }                         n = m², no t
          | { "kind": "nuclear", "rows": int, "cols": int } with t,
    "options"?: { "schedule"?: "default" | "paper", "backward"?: "implicit" | "unrolled",
                  "maxIterations"?, "tolerance"?, "lipschitz"?, "beta0"?,
                  "timeLimitMs"?, "tapeBudgetMB"? },
    "cotangent"?: number[], "tangent"?: { "q"?, "w"?, "t"?, "P"?, the set's parameters } }
  A batch {"problems": [...]} may carry "P", "set", "options" and "w" for every entry
  that omits them. With the implicit backward the result has "face": {"size", "margin",
  "derivative": "exact" | "kink" | "non-unique"}.

Example:
  echo '{"P":[[2,0],[0,1]],"q":[-1,1],"t":1,"cotangent":[1,0]}' | dfw solve -
  -> {"x":[...],"objective":...,"gap":...,"iterations":...,"status":"converged",
      (or "maxIterations", "timeLimit"),
      "timings":{"forwardMs":...,"backwardMs":...},"vjp":{"q":[...],"w":[...],"t":...}}

Exit codes:
  0  every problem solved
  2  invalid input (nothing on stdout; one line {"error":{"message","path"}} on stderr)
  3  some entries of a batch failed (each is {"error":{"message","path"}})
`

// -------------------------------------------------------------------------------------
// commands
// -------------------------------------------------------------------------------------

const failure = (message: string, path = ''): CommandOutcome => ({ code: 2, stdout: '', stderr: `${errorLine({ message, path })}\n` })

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
  return Buffer.concat(chunks).toString('utf8')
}

const readInput = async (file: string): Promise<{ readonly text: string } | { readonly error: CommandOutcome }> => {
  try {
    return { text: file === '-' ? await readStdin() : readFileSync(file, 'utf8') }
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : messageOf(e)
    return { error: failure(file === '-' ? `cannot read standard input: ${why}` : `cannot read the file ${JSON.stringify(file)}: ${why}`) }
  }
}

const solve = async (args: readonly string[]): Promise<CommandOutcome> => {
  if (args.length > 1) return failure(`dfw solve takes one FILE or "-", got ${args.length} arguments; see dfw --help`)
  const input = await readInput(args[0] ?? '-')
  if ('error' in input) return input.error
  const out: Outcome = runText(input.text, LAYER)
  return out
}

const version = (): CommandOutcome => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version?: unknown }
  return { code: 0, stdout: `${String(pkg.version)}\n`, stderr: '' }
}

/**
 * Runs `dfw` on its arguments (without `node` and the script) and says what to write and
 * which exit code to use. Never throws. `io.progress` gets the demo's progress text as it
 * runs (nothing by default).
 *
 * @example
 * await run(['solve', 'missing.json']) // { code: 2, stdout: '', stderr: '{"error":{"message":"cannot read the file \"missing.json\": no such file","path":""}}\n' }
 * await run(['demo', '--sizes', '1e9']) // { code: 2, stdout: '', stderr: '{"error":{"message":"--sizes[0]: \"1e9\" is not a size …","path":"--sizes[0]"}}\n' }
 */
export const run = async (argv: readonly string[], io: RunIo = {}): Promise<CommandOutcome> => {
  try {
    const [cmd, ...rest] = argv
    switch (cmd) {
      case '--help': case '-h': case 'help':
        return { code: 0, stdout: USAGE, stderr: '' }
      case '--version': case '-v': case 'version':
        return version()
      case 'solve':
        return await solve(rest)
      case 'demo':
        return demo(rest, io.progress)
      case undefined:
        return failure('no command given; try dfw --help')
      default:
        return failure(`unknown command ${JSON.stringify(cmd)}; try dfw --help`)
    }
  } catch (e) {
    return failure(`unexpected failure: ${messageOf(e)}`)
  }
}

// -------------------------------------------------------------------------------------
// the process
// -------------------------------------------------------------------------------------

let reported = false
const crash = (e: unknown): void => {
  if (!reported) {
    reported = true
    try { process.stderr.write(`${errorLine({ message: `unexpected failure: ${messageOf(e)}`, path: '' })}\n`) } catch { /* nothing left to do */ }
  }
  process.exitCode = 2
}

const isMain = (): boolean => {
  try {
    const script = process.argv[1]
    if (script === undefined) return false
    const self = realpathSync(fileURLToPath(import.meta.url))
    const real = existsSync(script) ? realpathSync(script) : script
    return real === self || real.replace(/\.[cm]?[jt]s$/, '') === self.replace(/\.[cm]?[jt]s$/, '')
  } catch {
    return false
  }
}

if (isMain()) {
  process.on('uncaughtException', crash)
  process.on('unhandledRejection', crash)
  process.stdout.on('error', () => { /* a closed pipe (EPIPE): the reader is gone */ })
  const progress = (text: string): void => { try { process.stderr.write(text) } catch { /* stderr gone: progress is optional */ } }
  void run(process.argv.slice(2), { progress }).then((out) => {
    if (out.stdout !== '') process.stdout.write(out.stdout)
    if (out.stderr !== '') process.stderr.write(out.stderr)
    process.exitCode = out.code
  }, crash)
}
