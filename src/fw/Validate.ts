/**
 * Checks a problem and the layer's options before any work, so that bad input gets a
 * clear error naming the bad value's path and never a NaN or a silently wrong answer.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Params, Problem, SetKind } from './Problem.js'
import type { LayerOptions } from './Layer.js'
import { LayerError } from './Layer.js'

const SETS: readonly SetKind[] = ['l1', 'linf', 'l2', 'simplex']

const finiteVec = <N>(v: Vec<N>, n: number, path: string, positive: boolean): void => {
  if (v.data.length !== n || (v.dim as number) !== n) throw new LayerError(`expected ${n} entries, got ${v.data.length}`, path)
  for (let i = 0; i < n; i++) {
    const x = v.data[i]!
    if (!Number.isFinite(x)) throw new LayerError(`expected a finite number, got ${String(x)}`, `${path}[${i}]`)
    if (positive && !(x > 0)) throw new LayerError(`expected a positive number, got ${String(x)}`, `${path}[${i}]`)
  }
}

/**
 * Validates and resolves defaults (w = 1, set = l1). Throws a `LayerError`.
 *
 * @example
 * validateProblem({ P, q, t: 1 }, {}) // { theta: { P, q, w: ones, t: 1 }, set: 'l1' }
 */
export const validateProblem = <N>(problem: Problem<N>, options: LayerOptions): { readonly theta: Params<N>; readonly set: SetKind } => {
  const n = problem.q.data.length
  const set = problem.set ?? 'l1'
  if (!SETS.includes(set)) throw new LayerError(`unknown set ${JSON.stringify(set)}; expected one of ${SETS.join(', ')}`, 'set')
  if (typeof problem.t !== 'number' || !Number.isFinite(problem.t) || !(problem.t > 0)) {
    throw new LayerError(`t must be a finite number > 0, got ${String(problem.t)}`, 't')
  }
  finiteVec(problem.q, n, 'q', false)
  if ((problem.P.dim as number) !== n) throw new LayerError(`P is ${problem.P.dim as number}×${problem.P.dim as number} but q has ${n} entries`, 'P')
  const w: Vec<N> = problem.w ?? { dim: problem.q.dim, data: new Float64Array(n).fill(1) }
  finiteVec(w, n, 'w', true)
  const o = options
  if (o.schedule !== undefined && o.schedule !== 'paper' && o.schedule !== 'default') {
    throw new LayerError(`unknown schedule ${JSON.stringify(o.schedule)}; expected paper or default`, 'options.schedule')
  }
  if (o.backward !== undefined && o.backward !== 'unrolled' && o.backward !== 'implicit') {
    throw new LayerError(`unknown backward ${JSON.stringify(o.backward)}; expected unrolled or implicit`, 'options.backward')
  }
  if (o.maxIterations !== undefined && !(Number.isSafeInteger(o.maxIterations) && o.maxIterations >= 1)) {
    throw new LayerError(`maxIterations must be an integer ≥ 1, got ${String(o.maxIterations)}`, 'options.maxIterations')
  }
  if (o.tolerance !== undefined && !(Number.isFinite(o.tolerance) && o.tolerance >= 0)) {
    throw new LayerError(`tolerance must be a finite number ≥ 0, got ${String(o.tolerance)}`, 'options.tolerance')
  }
  if (o.lipschitz !== undefined && !(Number.isFinite(o.lipschitz) && o.lipschitz > 0)) {
    throw new LayerError(`lipschitz must be a finite number > 0, got ${String(o.lipschitz)}`, 'options.lipschitz')
  }
  if (o.beta0 !== undefined && !(Number.isFinite(o.beta0) && o.beta0 > 0)) {
    throw new LayerError(`beta0 must be a finite number > 0, got ${String(o.beta0)}`, 'options.beta0')
  }
  if (o.checkpoint !== undefined && !(Number.isSafeInteger(o.checkpoint) && o.checkpoint >= 1)) {
    throw new LayerError(`checkpoint must be an integer ≥ 1, got ${String(o.checkpoint)}`, 'options.checkpoint')
  }
  return { theta: { P: problem.P, q: problem.q, w, t: problem.t }, set }
}
