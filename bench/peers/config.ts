/**
 * What a peer ran with, printed next to every figure compared with it: one place that
 * runs the PyTorch peer (bench/peers/recipe_torch.py) with its threads pinned, collects
 * its configuration (torch version, threads, the BLAS it was built for and the one
 * actually loaded, the BLAS/OpenMP environment) and the TensorFlow.js one, and formats
 * them as the `peer:` line a table prints once, with Node's version and the load average
 * at the time of the peer's runs.
 *
 * The peer's thread count is pinned to `DFW_PEER_THREADS` (default 1): through
 * torch.set_num_threads in the script and through OMP_NUM_THREADS, OPENBLAS_NUM_THREADS
 * and MKL_NUM_THREADS in its environment (set_num_threads alone does not reach an
 * OpenBLAS that torch was not built against). Every other variable of the bench's own
 * environment is passed on, so a user who points LD_LIBRARY_PATH at another BLAS gets
 * that BLAS, and the line says which library was loaded.
 *
 * Where /usr/bin/python3 cannot import torch, the peer is skipped with one message on
 * stderr (CI never needs it).
 *
 * @since 0.1.0
 */
import { spawnSync } from 'node:child_process'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** What recipe_torch.py reports about itself. */
export interface TorchConfig {
  readonly torch: string
  readonly python: string
  /** torch.get_num_threads() after pinning. */
  readonly threads: number
  readonly interopThreads: number
  readonly pinnedThreads: number
  /** The BLAS/LAPACK entries of torch.__config__.show(). */
  readonly blas: ReadonlyArray<string>
  /** BLAS, LAPACK and OpenMP libraries mapped into the process (real paths). */
  readonly mapped: ReadonlyArray<string>
  /** OPENBLAS_*, OMP_*, MKL_*, GOTO*, BLIS_* as the process saw them. */
  readonly env: Readonly<Record<string, string>>
}

/** A TensorFlow.js backend's configuration. */
export interface TfjsConfig {
  readonly tfjs: string
  readonly backend: string
  /** The wasm backend's thread count and SIMD flag (absent for cpu). */
  readonly threads?: number
  readonly simd?: boolean
}

/**
 * A peer's configuration at the time of a row: what ran, Node's version and the load average.
 *
 * @example
 * const c: PeerConfig = { node: process.version, loadavg: [0.1, 0.2, 0.3], torch: cfg }
 */
export interface PeerConfig {
  readonly node: string
  readonly loadavg: readonly [number, number, number]
  readonly torch?: TorchConfig
  readonly tfjs?: TfjsConfig
}

// -------------------------------------------------------------------------------------
// running the PyTorch peer
// -------------------------------------------------------------------------------------

const here = fileURLToPath(new URL('.', import.meta.url))

/**
 * The interpreter with Debian's python3-torch.
 *
 * @example
 * spawnSync(TORCH_PY, ['-c', 'import torch'])
 */
export const TORCH_PY = '/usr/bin/python3'

/**
 * The peer's pinned thread count (DFW_PEER_THREADS, default 1).
 *
 * @example
 * peerThreads() // 1
 */
export const peerThreads = (): number => {
  const v = Number(process.env['DFW_PEER_THREADS'] ?? '1')
  return Number.isInteger(v) && v >= 1 ? v : 1
}

/**
 * The environment the peer runs in: the bench's, with the thread count pinned.
 *
 * @example
 * spawnSync(TORCH_PY, [script], { env: peerEnv() })
 */
export const peerEnv = (): NodeJS.ProcessEnv => {
  const k = String(peerThreads())
  return { ...process.env, DFW_PEER_THREADS: k, OMP_NUM_THREADS: k, OPENBLAS_NUM_THREADS: k, MKL_NUM_THREADS: k }
}

let torchState: 'unknown' | 'ok' | 'missing' = 'unknown'

/**
 * Whether /usr/bin/python3 imports torch (a one-line message on stderr, once, when not).
 *
 * @example
 * if (torchAvailable()) runTorchScript(['--config'], {})
 */
export const torchAvailable = (): boolean => {
  if (torchState === 'unknown') {
    const r = spawnSync(TORCH_PY, ['-c', 'import torch'], { encoding: 'utf8', env: peerEnv() })
    torchState = r.status === 0 ? 'ok' : 'missing'
    if (torchState === 'missing') process.stderr.write(`bench: PyTorch peer skipped (${TORCH_PY} cannot import torch; apt-get install python3-torch)\n`)
  }
  return torchState === 'ok'
}

/**
 * Runs recipe_torch.py with `args`, `input` as JSON on stdin, in {@link peerEnv}; its
 * JSON output, or undefined (with a message) when torch is missing or the script fails.
 *
 * @example
 * runTorchScript<{ config: TorchConfig }>(['--config'], {})?.config.threads // 1
 */
export const runTorchScript = <T>(args: ReadonlyArray<string>, input: unknown): T | undefined => {
  if (!torchAvailable()) return undefined
  const r = spawnSync(TORCH_PY, [join(here, 'recipe_torch.py'), ...args], {
    input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 28, env: peerEnv()
  })
  if (r.status !== 0) {
    process.stderr.write(`bench: PyTorch peer failed: ${(r.stderr || '').trim().split('\n').pop() ?? ''}\n`)
    return undefined
  }
  return JSON.parse(r.stdout) as T
}

let torchCfg: TorchConfig | undefined | null = null

/**
 * The PyTorch peer's configuration (asked once per process), or undefined without torch.
 *
 * @example
 * torchConfig()?.mapped // ['/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0', …]
 */
export const torchConfig = (): TorchConfig | undefined => {
  if (torchCfg === null) torchCfg = runTorchScript<{ config: TorchConfig }>(['--config'], {})?.config
  return torchCfg
}

/**
 * The configuration now: Node's version, the load average, and the given peers'.
 *
 * @example
 * peerConfig({ torch: torchConfig() })
 */
export const peerConfig = (peers: { readonly torch?: TorchConfig | undefined; readonly tfjs?: TfjsConfig | undefined } = {}): PeerConfig => {
  const [a = 0, b = 0, c = 0] = loadavg()
  return {
    node: process.version,
    loadavg: [a, b, c],
    ...(peers.torch !== undefined ? { torch: peers.torch } : {}),
    ...(peers.tfjs !== undefined ? { tfjs: peers.tfjs } : {})
  }
}

// -------------------------------------------------------------------------------------
// the line
// -------------------------------------------------------------------------------------

/** A short name for a mapped BLAS library (the Debian alternatives' directories say which). */
const blasName = (path: string): string => {
  if (/openblas/i.test(path)) return `OpenBLAS (${path})`
  if (/blis/i.test(path)) return `BLIS (${path})`
  if (/mkl/i.test(path)) return `MKL (${path})`
  if (/\/blas\/libblas/.test(path)) return `reference BLAS (${path})`
  return path
}

/**
 * The PyTorch part of a `peer:` line.
 *
 * @example
 * torchLine(torchConfig()!) // 'torch 1.13.0a0 (Python 3.11.2), 1 thread (pinned: …), …'
 */
export const torchLine = (c: TorchConfig): string => {
  const env = Object.entries(c.env).map(([k, v]) => `${k}=${v}`).join(' ')
  const libs = c.mapped.filter((p) => /blas|mkl|blis/i.test(p) && !/lapack/i.test(p)).map(blasName)
  return `torch ${c.torch} (Python ${c.python}), ${c.threads} thread${c.threads === 1 ? '' : 's'} ` +
    `(pinned: set_num_threads(${c.pinnedThreads}) and OMP/OPENBLAS/MKL_NUM_THREADS=${c.pinnedThreads}; interop ${c.interopThreads}), ` +
    `built with ${c.blas.join(', ') || 'no BLAS line'}, BLAS loaded: ${libs.join(', ') || 'none mapped'}, env: ${env || 'none'}`
}

/**
 * The TensorFlow.js part of a `peer:` line.
 *
 * @example
 * tfjsLine({ tfjs: '4.22.0', backend: 'wasm', threads: 1, simd: true }) // 'tfjs 4.22.0 wasm (1 thread, SIMD)'
 */
export const tfjsLine = (c: TfjsConfig): string =>
  `tfjs ${c.tfjs} ${c.backend}${c.threads !== undefined ? ` (${c.threads} thread${c.threads === 1 ? '' : 's'}${c.simd === true ? ', SIMD' : c.simd === false ? ', no SIMD' : ''})` : ''}`

const load = (l: readonly [number, number, number]): string => l.map((v) => v.toFixed(2)).join(' ')

/**
 * The `peer:` line for a table: each distinct peer configuration among the rows once,
 * Node's version, and the load averages (1, 5, 15 min) at the peer runs (the range of
 * the 1-minute figure when there are several).
 *
 * @example
 * peerLine([peerConfig({ torch: torchConfig() })]) // 'peer: torch 1.13.0a0 … | node v20.20.2 | load average 0.52 0.61 0.40'
 */
export const peerLine = (cs: ReadonlyArray<PeerConfig>): string => {
  if (cs.length === 0) return 'peer: none ran'
  const parts = new Set<string>()
  for (const c of cs) {
    if (c.torch !== undefined) parts.add(torchLine(c.torch))
    if (c.tfjs !== undefined) parts.add(tfjsLine(c.tfjs))
  }
  const ones = cs.map((c) => c.loadavg[0])
  const last = cs[cs.length - 1]!
  const la = cs.length === 1 ? load(last.loadavg) : `${Math.min(...ones).toFixed(2)}–${Math.max(...ones).toFixed(2)} (1 min, over ${cs.length} peer runs; last ${load(last.loadavg)})`
  return `peer: ${[...parts].join(' | ')} | node ${last.node} | load average ${la}`
}
