// The worker side of bench/workers.ts, and the solver both sides run: B layer calls
// (forward + VJP of ⟨1, x⟩) one after another on the built package (dist/). Plain
// JavaScript so that a worker thread can load it without a TypeScript loader.
import { isMainThread, parentPort, workerData } from 'node:worker_threads'

/** Returns solve(qs, count): x and ∇_q⟨1, x⟩ of each instance, packed [x₀, g₀, x₁, g₁, …]. */
export const solver = async (spec) => {
  const lib = await import(new URL('../dist/index.js', import.meta.url).href)
  const n = spec.n
  const P = lib.dense({ rows: n, cols: n, data: new Float64Array(spec.P) })
  const layer = lib.dfwLayer({ backward: spec.backward, ...(spec.backward === 'unrolled' ? { maxIterations: 200, tolerance: 0 } : {}) })
  const ones = { dim: n, data: new Float64Array(n).fill(1) }
  return (qs, count) => {
    const out = new Float64Array(2 * n * count)
    for (let b = 0; b < count; b++) {
      const r = layer({ P, q: { dim: n, data: qs.subarray(b * n, (b + 1) * n) }, w: { dim: n, data: spec.w }, t: spec.t })
      out.set(r.x.data, 2 * b * n)
      out.set(r.vjp(ones).q.data, (2 * b + 1) * n)
    }
    return out
  }
}

if (!isMainThread && workerData !== undefined && workerData !== null && workerData.bench === 'workers') {
  const solve = await solver(workerData.spec)
  parentPort.on('message', (job) => {
    const out = solve(job.qs, job.count)
    parentPort.postMessage(out, [out.buffer])
  })
}
