/**
 * A pool worker's message loop (the module a `dfwPool` worker thread loads): it answers
 * each request with `Run.ts` on the instances it was sent, keeps a chunk's solution for a
 * later backward while asked to, and transfers every buffer of its replies.
 *
 * @since 0.1.0
 */
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads'
import type { BatchProblem, Problem } from '../fw/index.js'
import { LayerError } from '../fw/index.js'
import { runBatch, runBatchSolve } from './Run.js'
import { transferList, type Reply, type Request } from './Wire.js'

type Kept = (cts: ReadonlyArray<unknown> | Float64Array) => unknown

/** The operators a worker keeps across batches (the few last distinct dense ones). */
const KEPT_OPERATORS = 4

interface DenseLike { readonly kind: 'dense'; readonly dim: number; readonly mat: { readonly data: Float64Array } }

const isDense = (P: unknown): P is DenseLike =>
  typeof P === 'object' && P !== null && (P as { kind?: unknown }).kind === 'dense' &&
  (P as { mat?: { data?: unknown } }).mat?.data instanceof Float64Array

const sameEntries = (a: Float64Array, b: Float64Array): boolean => {
  if (a.length !== b.length) return false
  for (let k = 0; k < a.length; k++) if (!Object.is(a[k], b[k])) return false
  return true
}

/**
 * A worker's dense operators across batches: each batch's P arrives as a new object (a
 * copy in shared memory), so what the layer keeps per operator object (the convexity
 * verdict, which costs a factorization, the symmetry check) would be computed again every
 * batch. A dense P whose entries equal (`Object.is`, entry by entry) those of one of the
 * last operators this worker solved with is replaced by that operator object, as in one
 * thread when the caller passes the same P object; different entries (a write into P
 * between batches) give a new operator. The comparison is O(n²), against the O(n³) it
 * saves.
 *
 * @example
 * const same = operators()
 * same(P1) === same(P2) // when P1 and P2 hold equal entries
 */
export const operators = (): ((P: unknown) => unknown) => {
  const kept: DenseLike[] = []
  return (P) => {
    if (!isDense(P)) return P
    for (const o of kept) if (o.dim === P.dim && sameEntries(o.mat.data, P.mat.data)) return o
    kept.unshift(P)
    if (kept.length > KEPT_OPERATORS) kept.pop()
    return P
  }
}

/**
 * The problems with their dense operators replaced by the kept ones (`operators`): the
 * first `KEPT_OPERATORS` distinct operator objects of the message only, so that a batch
 * of instances with their own P each pays no comparisons beyond those.
 */
const withKept = (same: (P: unknown) => unknown, problems: ReadonlyArray<unknown>): Array<Problem<unknown>> => {
  const seen = new Map<unknown, unknown>()
  return problems.map((p) => {
    if (typeof p !== 'object' || p === null || !('P' in p)) return p as Problem<unknown>
    const P = (p as { P: unknown }).P
    let Q = seen.get(P)
    if (Q === undefined) {
      Q = seen.size < KEPT_OPERATORS ? same(P) : P
      seen.set(P, Q)
    }
    return (Q === P ? p : { ...p, P: Q }) as Problem<unknown>
  })
}

/** A structure-of-arrays batch with its shared dense operator replaced by the kept one (an operator per instance passes as is). */
const batchWithKept = (same: (P: unknown) => unknown, batch: unknown): BatchProblem<unknown, unknown> => {
  if (typeof batch !== 'object' || batch === null || !('P' in batch)) return batch as BatchProblem<unknown, unknown>
  const P = (batch as { P: unknown }).P
  if (Array.isArray(P)) return batch as BatchProblem<unknown, unknown>
  const Q = same(P)
  return (Q === P ? batch : { ...(batch as object), P: Q }) as BatchProblem<unknown, unknown>
}

/**
 * Serves requests on a port until the thread ends.
 *
 * @example
 * serve(parentPort!) // in a worker thread
 */
export const serve = (port: MessagePort): void => {
  const kept = new Map<number, Kept>()
  const same = operators()
  const send = (r: Reply): void => port.postMessage(r, transferList(r))
  const answer = (id: number, f: () => unknown): void => {
    let value: unknown
    try {
      value = f()
    } catch (e) {
      send({ kind: 'failed', id, message: e instanceof Error ? e.message : String(e), ...(e instanceof LayerError ? { path: e.path } : {}) })
      return
    }
    send({ kind: 'done', id, value })
  }
  port.on('message', (m: Request) => {
    switch (m.kind) {
      case 'batch':
        return answer(m.id, () => {
          const r = runBatch(m.options, withKept(same, m.problems), m.cts, m.keep)
          if (r.backward !== undefined) kept.set(m.id, r.backward as Kept)
          return r.reply
        })
      case 'batchSolve':
        return answer(m.id, () => {
          const r = runBatchSolve(m.options, batchWithKept(same, m.batch), m.ct, m.pMode, m.keep)
          if (r.backward !== undefined) kept.set(m.id, r.backward as Kept)
          return r.reply
        })
      case 'vjp':
        return answer(m.id, () => {
          const k = kept.get(m.id)
          kept.delete(m.id)
          if (k === undefined) throw new Error(`no kept solution for request ${m.id}`)
          return k(m.cts)
        })
      case 'drop':
        kept.delete(m.id)
        return
      case 'exit':
        process.exit(m.code)
    }
  })
  send({ kind: 'ready' })
}

if (!isMainThread && parentPort !== null && (workerData as { dfwPool?: unknown } | null)?.dfwPool === true) serve(parentPort)
