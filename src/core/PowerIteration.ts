/**
 * Deterministic power iteration for the largest eigenvalue of a symmetric PSD operator.
 *
 * @since 0.1.0
 */
import { type LinearOperator, applyInto } from './LinearOperator.js'

/**
 * The estimate and how it was reached.
 *
 * @example
 * const { value, iterations } = powerIteration(P) // value ≈ the largest eigenvalue
 */
export interface PowerIterationResult {
  readonly value: number
  readonly iterations: number
}

/**
 * Power iteration from the fixed start vector vᵢ = (1 + i mod 7 / 7)/‖·‖ (deterministic,
 * and not orthogonal to the top eigenvector of the all-ones-dominated matrices a
 * constant start would miss). Each iteration sets λ = ‖P v‖ and v ← P v / λ, and it stops
 * when successive estimates differ by less than `tolerance` (absolute, default 1e-2) or
 * after `maxIterations` (default 100). Returns 0 for the zero operator.
 *
 * @example
 * powerIteration(dense(identity(n, 3))).value // 3
 */
export const powerIteration = <N>(
  op: LinearOperator<N>,
  options: { readonly tolerance?: number; readonly maxIterations?: number } = {}
): PowerIterationResult => {
  const tol = options.tolerance ?? 1e-2
  const maxIt = options.maxIterations ?? 100
  const n = op.dim as number
  let v = new Float64Array(n), w = new Float64Array(n)
  let nv = 0
  for (let i = 0; i < n; i++) { v[i] = 1 + (i % 7) / 7; nv += v[i]! ** 2 }
  nv = Math.sqrt(nv)
  for (let i = 0; i < n; i++) v[i] = v[i]! / nv
  let prev = 0, lambda = 0, k = 0
  while (k < maxIt) {
    k++
    applyInto(op, v, w)
    let s = 0
    for (let i = 0; i < n; i++) s += w[i]! * w[i]!
    lambda = Math.sqrt(s)
    if (!(lambda > 0) || !Number.isFinite(lambda)) return { value: Number.isFinite(lambda) ? 0 : lambda, iterations: k }
    for (let i = 0; i < n; i++) w[i] = w[i]! / lambda
    const t = v; v = w; w = t
    if (Math.abs(lambda - prev) < tol) break
    prev = lambda
  }
  return { value: lambda, iterations: k }
}
