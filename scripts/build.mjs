// The build (`npm run build`, and the `prepare` script that `npm ci` and `npm pack` run):
// empties the output directory, then compiles src/ with tsconfig.build.json. tsc alone
// never deletes a file whose source is gone, so a module moved out of src/ (blas.ts was)
// would otherwise stay in dist/ and be packed, with imports of packages the install no
// longer has.
//
//   node scripts/build.mjs              compiles into dist/
//   node scripts/build.mjs --out DIR    compiles into DIR instead (test/consumer.ts stages a package)
import { rmSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { resolve } from 'node:path'

const root = fileURLToPath(new URL('..', import.meta.url))
const at = process.argv.indexOf('--out')
const out = at >= 0 ? process.argv[at + 1] : 'dist'
if (out === undefined || out === '') {
  console.error('build: --out needs a directory')
  process.exit(2)
}
const outDir = resolve(root, out)
rmSync(outDir, { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const r = spawnSync(process.execPath, [tsc, '-p', resolve(root, 'tsconfig.build.json'), '--outDir', outDir], { stdio: 'inherit', cwd: root })
if (r.error !== undefined) console.error(`build: cannot run tsc: ${r.error.message}`)
process.exit(r.status ?? 1)
