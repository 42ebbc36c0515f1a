/**
 * The code a pool worker runs on its chunk, and the calling thread on a batch it keeps:
 * `dfwBatch` or `dfwBatchSolve` over the instances, their results as data (`Wire.ts`),
 * and the backward for the cotangents, given with the batch or later.
 *
 * Both sides run exactly this, on the same instances in the same order, so a result
 * computed in a worker is bitwise the one the calling thread computes.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Mat } from '../shapes/Mat.js'
import type { Vec } from '../shapes/Vec.js'
import {
  dfwBatch, dfwBatchSolve, LayerError,
  type BatchProblem, type BatchSolution, type Gradients, type LayerOptions, type LayerResult, type Problem
} from '../fw/index.js'
import { errorWire, own, type BatchBackReply, type BatchReply, type ErrorWire, type GradWire, type InstanceWire, type PMode, type ResultWire, type SolveGradWire, type SolveReply } from './Wire.js'

// -------------------------------------------------------------------------------------
// results as data
// -------------------------------------------------------------------------------------

/** The copy (`copy`, when the solution stays alive for a later backward) or the owned array. */
const out = (x: Float64Array, copy: boolean): Float64Array => (copy ? x.slice() : own(x))

const gradWire = <N>(g: Gradients<N>): GradWire => ({
  ok: true, q: own(g.q.data), w: own(g.w.data), t: g.t,
  ...(g.P !== undefined ? { P: own(g.P.data) } : {}),
  ...(g.lower !== undefined ? { lower: own(g.lower.data) } : {}),
  ...(g.upper !== undefined ? { upper: own(g.upper.data) } : {}),
  ...(g.k !== undefined ? { k: g.k } : {})
})

const resultWire = <N>(r: LayerResult<N>, x: Float64Array | undefined): ResultWire => ({
  ok: true,
  ...(x !== undefined ? { x } : {}),
  objective: r.objective, gap: r.gap, iterations: r.iterations, status: r.status,
  ...(r.face !== undefined ? { face: r.face } : {}),
  ...(r.polish !== undefined ? { polish: r.polish } : {})
})

const asLayerError = (e: unknown): LayerError => (e instanceof LayerError ? e : new LayerError(e instanceof Error ? e.message : String(e), ''))

/** The path of a backward error of instance i: `[i].cotangent…`. */
const atInstance = (i: number, e: LayerError): ErrorWire => errorWire(new LayerError(e.message, e.path === '' ? `[${i}]` : `[${i}].${e.path}`))

/** Instance i's gradients for its cotangent, its error, or null without a cotangent. */
const backwardOf = <N>(r: LayerResult<N>, ct: unknown, i: number): GradWire | ErrorWire | null => {
  if (ct === undefined) return null
  try {
    return gradWire(r.vjp(ct as Vec<N>))
  } catch (e) {
    return atInstance(i, asLayerError(e))
  }
}

// -------------------------------------------------------------------------------------
// a batch of problems
// -------------------------------------------------------------------------------------

/**
 * Solves problems with `dfwBatch(options)` and gives their results as data; with `cts`
 * (one cotangent or undefined per problem) each result carries its gradients. `keep`
 * returns the backward for cotangents given later (and copies what the reply holds, since
 * the results stay alive).
 *
 * @example
 * const { reply } = runBatch({ backward: 'implicit' }, problems, cts, false)
 * reply.results[0] // { ok: true, x, objective, …, g: { q, w, t, P } }
 */
export const runBatch = <N>(options: LayerOptions, problems: ReadonlyArray<Problem<N>>, cts: ReadonlyArray<unknown> | undefined, keep: boolean):
{ readonly reply: BatchReply; readonly backward?: (cts: ReadonlyArray<unknown>) => BatchBackReply } => {
  const rs = dfwBatch(options)(problems)
  const results: InstanceWire[] = rs.map((r, i) => {
    if (E.isLeft(r)) return errorWire(r.left)
    const base = resultWire(r.right, out(r.right.x.data, keep))
    if (cts === undefined) return base
    const g = backwardOf(r.right, cts[i], i)
    return g === null ? base : g.ok === false ? g : { ...base, g }
  })
  const backward = (later: ReadonlyArray<unknown>): BatchBackReply => ({
    grads: rs.map((r, i) => (E.isLeft(r) ? null : backwardOf(r.right, later[i], i)))
  })
  return keep ? { reply: { results }, backward } : { reply: { results } }
}

// -------------------------------------------------------------------------------------
// a batch as arrays
// -------------------------------------------------------------------------------------

const solveGradWire = <B, N>(sol: BatchSolution<B, N>, ct: Float64Array, pMode: PMode): SolveGradWire => {
  const g = sol.vjp({ rows: sol.x.rows, cols: sol.x.cols, data: ct } as Mat<B, N>)
  return {
    q: own(g.q.data), w: own(g.w.data), t: own(g.t.data),
    ...(pMode === 'sum' ? { pSum: own(g.pSum().data) } : {}),
    ...(pMode === 'each' ? { pEach: g.pEach().map((m) => (m === undefined ? null : own(m.data))) } : {})
  }
}

/**
 * Solves a structure-of-arrays batch with `dfwBatchSolve(options)` and gives x, the
 * results and (for a cotangent `ct`, B × n) the gradients as data; `keep` returns the
 * backward for a cotangent given later.
 *
 * @example
 * const { reply } = runBatchSolve({}, { P, q, t: 1 }, ones, 'sum', false)
 * reply.g?.pSum // ∇_P Σ_b ⟨ct_b, x_b⟩, n × n
 */
export const runBatchSolve = <B, N>(options: LayerOptions, batch: BatchProblem<B, N>, ct: Float64Array | undefined, pMode: PMode, keep: boolean):
{ readonly reply: SolveReply; readonly backward?: (ct: Float64Array) => SolveGradWire } => {
  const sol = dfwBatchSolve(options)(batch)
  const results: InstanceWire[] = sol.results.map((r) => (E.isLeft(r) ? errorWire(r.left) : resultWire(r.right, undefined)))
  const reply: SolveReply = { x: out(sol.x.data, keep), results, ...(ct !== undefined ? { g: solveGradWire(sol, ct, pMode) } : {}) }
  return keep ? { reply, backward: (later) => solveGradWire(sol, later, pMode) } : { reply }
}
