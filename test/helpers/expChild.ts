/**
 * Run by test/simd-exp.ts in a child process (with DFW_NO_SIMD=1): what the kernel `exp`
 * answers without SIMD (whether it declined and left dst as it was), whether `expInto`
 * then gives Math.exp's numbers, and x and the vjp of a small batched paper run, printed
 * as JSON with arrays as the base64 of their bytes (so −0 and every last bit survive).
 */
import { expInto, expKernel, expKernelOn, simdAvailable } from '../../src/core/simd.js'
import { batchRun } from './expBatch.js'

const src = Float64Array.of(-1, 0, 1, 2.5, -745, 710, NaN)
const dst = new Float64Array(src.length).fill(7)
const declined = !expKernel(src, dst, src.length) && dst.every((v) => v === 7)
const into = new Float64Array(src.length)
expInto(src, into, src.length)
const b64 = (a: Float64Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')
process.stdout.write(JSON.stringify({
  simd: simdAvailable(), on: expKernelOn(), declined,
  into: Array.from(src, (x, i) => Object.is(into[i], Math.exp(x))).every(Boolean),
  runs: [3, 10, 20].map((n) => batchRun(n).map(([name, a]) => [name, b64(a)]))
}))
