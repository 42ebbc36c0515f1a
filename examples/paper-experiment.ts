// The main job (`npm run demo`, the same as `dfw demo`): PAPER.md's experiment and the
// binding-constraint suite, with the paper's recipe and this project's defaults side by
// side, measured against the exact reference solver and its KKT derivative. The logic is
// the library's own (src/cli/demo.ts, shipped as dist/cli/demo.js); this file only runs it.
//
//   npm run demo                     # table + one summary line per mode
//   npm run demo -- --json           # rows as JSON
//   npm run demo -- --sizes 10,100   # other sizes (each 1 … 1000, at most 8)
import { demo } from '../src/cli/demo.js'

const out = demo(process.argv.slice(2), (text) => process.stderr.write(text))
if (out.stdout !== '') process.stdout.write(out.stdout)
if (out.stderr !== '') process.stderr.write(out.stderr)
process.exitCode = out.code
