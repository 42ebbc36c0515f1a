/**
 * PAPER.md's recipe in TensorFlow.js: a peer for bench/layer.ts. The same iteration as
 * bench/peers/recipe_torch.py, written with tf ops, differentiated by `tf.grad` (through
 * the unrolled loop, to q). TensorFlow.js has no float64: everything is float32, so its
 * gradients are compared at float32 accuracy.
 *
 * Backends: `cpu` (plain JavaScript kernels) and `wasm` (@tensorflow/tfjs-backend-wasm,
 * its SIMD build; Node loads the .wasm file from node_modules).
 *
 * @since 0.1.0
 */
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { performance } from 'node:perf_hooks'
import * as tf from '@tensorflow/tfjs'
import type { TfjsConfig } from './config.js'

/** One timed run of K iterations. */
export interface PeerRun {
  readonly K: number
  readonly fwdMs: number
  readonly bwdMs: number
  readonly x: number[]
  readonly gradQ: number[]
}

export interface PeerSpec {
  readonly n: number
  readonly P: Float64Array
  readonly q: Float64Array
  readonly w: Float64Array
  readonly t: number
  readonly L: number
  readonly beta0: number
  readonly c: Float64Array
  readonly ks: ReadonlyArray<number>
  readonly reps: number
}

let wasmReady: Promise<boolean> | undefined
let wasmThreads: (() => number) | undefined

/** The wasm backend's SIMD flag (cached once the backend is ready; absent if it cannot be read). */
const simdFlag = (): { simd?: boolean } => {
  try { return { simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT') } } catch { return {} }
}

/**
 * The current backend's configuration for the `peer:` line (bench/peers/config.ts):
 * tfjs's version, the backend, and for wasm its thread count and whether its SIMD build
 * runs.
 *
 * @example
 * await useBackend('wasm'); tfjsConfig() // { tfjs: '4.22.0', backend: 'wasm', threads: 1, simd: true }
 */
export const tfjsConfig = (): TfjsConfig => {
  const backend = tf.getBackend()
  if (backend !== 'wasm') return { tfjs: tf.version_core, backend }
  return {
    tfjs: tf.version_core, backend,
    ...(wasmThreads !== undefined ? { threads: wasmThreads() } : {}),
    ...simdFlag()
  }
}

/** Selects a backend; false (with a reason on stderr) when it cannot be used. */
export const useBackend = async (name: 'cpu' | 'wasm'): Promise<boolean> => {
  if (name === 'wasm') {
    wasmReady ??= (async () => {
      try {
        const req = createRequire(import.meta.url)
        const wasm = await import('@tensorflow/tfjs-backend-wasm')
        const dir = dirname(req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))
        wasm.setWasmPaths(dir + '/')
        wasmThreads = wasm.getThreadsCount
        return true
      } catch (e) {
        process.stderr.write(`bench: tfjs wasm backend unavailable (${String(e).split('\n')[0]})\n`)
        return false
      }
    })()
    if (!(await wasmReady)) return false
  }
  try {
    const ok = await tf.setBackend(name)
    await tf.ready()
    return ok && tf.getBackend() === name
  } catch (e) {
    process.stderr.write(`bench: tfjs backend ${name} failed (${String(e).split('\n')[0]})\n`)
    return false
  }
}

const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b), m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Runs the recipe for each K in the spec on the current backend. */
export const runRecipe = (spec: PeerSpec): PeerRun[] => {
  const { n } = spec
  const P = tf.tensor2d(Float32Array.from(spec.P), [n, n])
  const q0 = tf.tensor1d(Float32Array.from(spec.q))
  const w = tf.tensor1d(Float32Array.from(spec.w))
  const c = tf.tensor1d(Float32Array.from(spec.c))
  const tw = tf.div(tf.scalar(spec.t), w)
  const negTw = tf.neg(tw)
  const recipe = (q: tf.Tensor1D, K: number): tf.Tensor1D => {
    let x: tf.Tensor1D = tf.zerosLike(q)
    for (let i = 1; i <= K; i++) {
      const beta = spec.beta0 * 2 ** Math.floor(i / 30)
      const g = tf.add(tf.squeeze(tf.matMul(P, tf.expandDims(x, 1)), [1]), q) as tf.Tensor1D
      const gh = tf.mul(g, tw)
      const a = tf.mul(tf.scalar(beta), tf.abs(gh))
      const e = tf.softmax(tf.sub(a, tf.max(a)))
      const s = tf.mul(tf.mul(negTw, tf.sign(gh)), e)
      const d = tf.sub(x, s)
      const gamma = tf.clipByValue(tf.div(tf.sum(tf.mul(g, d)), tf.mul(tf.scalar(spec.L), tf.sum(tf.mul(d, d)))), 0, 1)
      x = tf.sub(x, tf.mul(gamma, d)) as tf.Tensor1D
    }
    return x
  }
  const runs: PeerRun[] = []
  for (const K of spec.ks) {
    const loss = (q: tf.Tensor): tf.Tensor => tf.sum(tf.mul(c, recipe(q as tf.Tensor1D, K)))
    const grad = tf.grad(loss)
    const fw: number[] = [], bw: number[] = []
    let x: number[] = [], gq: number[] = []
    // warm-up as the PyTorch peer does: at least two runs and at least half a second
    const w0 = performance.now()
    for (let k = 0; k < 2 || performance.now() - w0 < 500; k++) {
      tf.tidy(() => recipe(q0, K)).dispose()
      tf.tidy(() => grad(q0)).dispose()
    }
    for (let r = 0; r <= spec.reps; r++) {
      // forward alone (no tape), then value + gradient; the backward time is the difference
      const t0 = performance.now()
      const xv = tf.tidy(() => recipe(q0, K))
      const xs = xv.dataSync()
      const t1 = performance.now()
      const gv = tf.tidy(() => grad(q0))
      const gs = gv.dataSync()
      const t2 = performance.now()
      if (r > 0) { fw.push(t1 - t0); bw.push(Math.max(0, t2 - t1 - (t1 - t0))) }
      x = Array.from(xs); gq = Array.from(gs)
      xv.dispose(); gv.dispose()
    }
    runs.push({ K, fwdMs: median(fw), bwdMs: median(bw), x, gradQ: gq })
  }
  tf.dispose([P, q0, w, c, tw, negTw])
  return runs
}
