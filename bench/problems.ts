/**
 * The bench's problems: PAPER.md's generator (`paperProblem` of src/fw/Generators.ts),
 * reproduced bitwise with a cache-friendly loop (A is transposed first, so each entry of
 * P = AᵀA + nI is a dot product of two contiguous rows, summed in the same order), and
 * cached as raw little-endian float64 under the OS temp directory, because at n = 3000
 * the O(n³) product takes seconds. The peers read the same files.
 *
 * Two variants per (n, seed):
 * - `paper`: t = |N(0,1)| as drawn (PAPER.md: the constraint usually does not bind);
 * - `binding`: t = 0.2·‖w ⊙ x_unc‖₁ with x_unc = −P⁻¹q (by conjugate gradients), so the
 *   constraint binds (PAPER.md's "what measuring the recipe showed").
 *
 * @since 0.1.0
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Dim } from '../src/shapes/Dim.js'
import { type DenseOperator, dense, applyInto } from '../src/core/LinearOperator.js'
import { rng } from '../src/core/Random.js'

export interface BenchProblem<N> {
  readonly n: number
  readonly seed: number
  readonly variant: 'paper' | 'binding'
  readonly P: DenseOperator<N>
  readonly q: Float64Array
  readonly w: Float64Array
  readonly t: number
  /** The raw float64 file holding P (row-major), for the peers. */
  readonly pFile: string
}

export const cacheDir = (): string => {
  const d = join(tmpdir(), 'dfwlayer-bench')
  mkdirSync(d, { recursive: true })
  return d
}

/** P = AᵀA + nI of PAPER.md's generator, bitwise equal to `paperProblem`'s, and the rest of the draws. */
const generate = (n: number, seed: number): { P: Float64Array; q: Float64Array; w: Float64Array; t: number } => {
  const r = rng(seed)
  const A = new Float64Array(n * n)
  for (let k = 0; k < A.length; k++) A[k] = r.normal()
  const At = new Float64Array(n * n)
  for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) At[i * n + k] = A[k * n + i]!
  const P = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    const ri = i * n
    for (let j = i; j < n; j++) {
      const rj = j * n
      let s = 0
      for (let k = 0; k < n; k++) s += At[ri + k]! * At[rj + k]!
      if (i === j) s += n
      P[ri + j] = s
      P[rj + i] = s
    }
  }
  const q = new Float64Array(n), w = new Float64Array(n)
  for (let i = 0; i < n; i++) q[i] = r.normal()
  for (let i = 0; i < n; i++) w[i] = 0.5 + r.uniform()
  const t = Math.abs(r.normal())
  return { P, q, w, t }
}

/** x = P⁻¹ b by conjugate gradients (P is well conditioned: P ⪰ nI). */
const solveSpd = <N>(op: DenseOperator<N>, b: Float64Array): Float64Array => {
  const n = b.length
  const x = new Float64Array(n), r = Float64Array.from(b), p = Float64Array.from(b), ap = new Float64Array(n)
  let rr = 0
  for (let i = 0; i < n; i++) rr += r[i]! * r[i]!
  const r0 = rr
  for (let k = 0; k < 10 * n + 50 && rr > 1e-30 * r0; k++) {
    applyInto(op, p, ap)
    let pap = 0
    for (let i = 0; i < n; i++) pap += p[i]! * ap[i]!
    const a = rr / pap
    let rn = 0
    for (let i = 0; i < n; i++) { x[i] = x[i]! + a * p[i]!; r[i] = r[i]! - a * ap[i]!; rn += r[i]! * r[i]! }
    const beta = rn / rr
    rr = rn
    for (let i = 0; i < n; i++) p[i] = r[i]! + beta * p[i]!
  }
  return x
}

/**
 * The problem for (n, seed, variant), generated once and cached on disk.
 *
 * @example
 * withDim(100, (d) => benchProblem(d, 0, 'paper'))
 */
export const benchProblem = <N>(d: Dim<N>, seed: number, variant: 'paper' | 'binding'): BenchProblem<N> => {
  const n = d as number
  const pFile = join(cacheDir(), `paper-P-n${n}-s${seed}.f64`)
  const meta = join(cacheDir(), `paper-n${n}-s${seed}.json`)
  let P: Float64Array, q: Float64Array, w: Float64Array, t: number
  if (existsSync(pFile) && existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as { q: number[]; w: number[]; t: number }
    const buf = readFileSync(pFile)
    P = new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength))
    q = Float64Array.from(m.q); w = Float64Array.from(m.w); t = m.t
  } else {
    ({ P, q, w, t } = generate(n, seed))
    writeFileSync(pFile + '.part', Buffer.from(P.buffer, P.byteOffset, P.byteLength))
    renameSync(pFile + '.part', pFile)
    writeFileSync(meta, JSON.stringify({ q: Array.from(q), w: Array.from(w), t }))
  }
  const op = dense<N>({ rows: d, cols: d, data: P })
  if (variant === 'binding') {
    const xu = solveSpd(op, Float64Array.from(q, (v) => -v))
    let s = 0
    for (let i = 0; i < n; i++) s += Math.abs(w[i]! * xu[i]!)
    t = 0.2 * s
  }
  return { n, seed, variant, P: op, q, w, t, pFile }
}
