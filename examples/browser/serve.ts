// Builds the browser example with esbuild and serves it: `npm run example:browser [-- --port 8080]`.
//
// Two bundles go to examples/browser/dist/ (git-ignored):
// - dfwlayer.js: the library itself (src/index.ts) as one ES module for browsers. The build
//   targets platform "browser", so any node-only import (node:fs, path, …) fails it.
// - main.js: the page script, with its import of the library left external as ./dfwlayer.js,
//   so the page runs on that bundle.
import { build, type Metafile, type Plugin } from 'esbuild'
import { createServer, type Server } from 'node:http'
import { readFile } from 'node:fs/promises'
import { dirname, extname, join, normalize, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')

/** Where the bundles go. */
export const outdir = join(here, 'dist')

/**
 * stdlib's `lib/index.js` tries a native add-on by a path built with node's `path` module
 * and falls back to `lib/main.js`; most of these packages name `lib/main.js` as their
 * `browser` entry, `dsymv` does not. The browser build takes `lib/main.js` directly.
 */
const stdlibBrowser: Plugin = {
  name: 'stdlib-browser',
  setup(b) {
    b.onResolve({ filter: /^@stdlib\/.+\/lib\/index\.js$/ }, async (a) => {
      if (a.pluginData === 'stdlib-browser') return undefined
      const r = await b.resolve(a.path.replace(/\/lib\/index\.js$/, '/lib/main.js'), { kind: a.kind, resolveDir: a.resolveDir, pluginData: 'stdlib-browser' })
      return r.errors.length > 0 ? { errors: r.errors } : { path: r.path }
    })
  }
}

/** The page imports `../../src/index.js`; at run time that is the library bundle next to it. */
const libraryExternal: Plugin = {
  name: 'library-external',
  setup(b) {
    b.onResolve({ filter: /\/src\/index\.js$/ }, () => ({ path: './dfwlayer.js', external: true }))
  }
}

/** What a build produced. */
export interface BuildInfo {
  /** The library bundle's source files, relative to the repository root. */
  readonly libraryInputs: readonly string[]
  readonly libraryBytes: number
  readonly pageBytes: number
}

const bytesOf = (m: Metafile): number => Object.entries(m.outputs).reduce((s, [k, o]) => s + (k.endsWith('.js') ? o.bytes : 0), 0)

/** Builds dist/dfwlayer.js (the library, ESM, browser) and dist/main.js (the page script). */
export const buildBrowser = async (): Promise<BuildInfo> => {
  const common = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', sourcemap: true, logLevel: 'warning', metafile: true, absWorkingDir: root } as const
  const lib = await build({ ...common, entryPoints: [join(root, 'src/index.ts')], outfile: join(outdir, 'dfwlayer.js'), plugins: [stdlibBrowser] })
  const page = await build({ ...common, entryPoints: [join(here, 'main.ts')], outfile: join(outdir, 'main.js'), plugins: [libraryExternal] })
  return { libraryInputs: Object.keys(lib.metafile.inputs), libraryBytes: bytesOf(lib.metafile), pageBytes: bytesOf(page.metafile) }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png'
}

/** A running server. */
export interface Running {
  readonly url: string
  readonly server: Server
  readonly close: () => Promise<void>
}

/** Serves examples/browser/ (index.html and dist/) on `port` (0: any free port) at `host`. */
export const serve = (port: number, host = '127.0.0.1'): Promise<Running> =>
  new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
      const rel = normalize(path === '/' ? '/index.html' : path).replace(/^[/\\]+/, '')
      const file = join(here, rel)
      if (!file.startsWith(here + sep) || rel.split(/[/\\]/).includes('..')) {
        res.writeHead(403).end('forbidden')
        return
      }
      readFile(file).then(
        (body) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body),
        () => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      )
    })
    server.once('error', reject)
    server.listen(port, host, () => {
      const a = server.address()
      const p = typeof a === 'object' && a !== null ? a.port : port
      resolve({
        url: `http://${host === '127.0.0.1' || host === '0.0.0.0' ? 'localhost' : host}:${p}/`,
        server,
        close: () => new Promise<void>((ok) => server.close(() => ok()))
      })
    })
  })

/** `--port N`, else `PORT`, else 8080. */
const portFrom = (argv: readonly string[], env: NodeJS.ProcessEnv): number => {
  const i = argv.indexOf('--port')
  const s = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--port='))?.slice(7) ?? env.PORT
  if (s === undefined) return 8080
  const n = Number(s)
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    process.stderr.write(`--port: expected an integer in [0, 65535], got ${s}\n`)
    process.exit(2)
  }
  return n
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = portFrom(process.argv.slice(2), process.env)
  const info = await buildBrowser()
  const running = await serve(port)
  process.stdout.write(`built dist/dfwlayer.js (${(info.libraryBytes / 1024).toFixed(0)} KiB) and dist/main.js\n`)
  process.stdout.write(`dfwlayer browser example: ${running.url}\n`)
}
