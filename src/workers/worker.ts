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

/**
 * Serves requests on a port until the thread ends.
 *
 * @example
 * serve(parentPort!) // in a worker thread
 */
export const serve = (port: MessagePort): void => {
  const kept = new Map<number, Kept>()
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
          const r = runBatch(m.options, m.problems as ReadonlyArray<Problem<unknown>>, m.cts, m.keep)
          if (r.backward !== undefined) kept.set(m.id, r.backward as Kept)
          return r.reply
        })
      case 'batchSolve':
        return answer(m.id, () => {
          const r = runBatchSolve(m.options, m.batch as BatchProblem<unknown, unknown>, m.ct, m.pMode, m.keep)
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
