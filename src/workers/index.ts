/**
 * dfwlayer/workers: an opt-in pool of worker threads for large batches (Node only; the
 * package root never loads it, nor `node:worker_threads`). `dfwPool` splits `dfwBatch` and
 * `dfwBatchSolve` over worker threads, with the VJP computed in the workers; the results
 * are the calling thread's. It pays only where a core is idle: on a busy 2-core machine
 * (load ≈ 7) it ran at 0.47–1.44× the one-thread speed (README, "Both cores").
 *
 * @since 0.1.0
 */
export {
  dfwPool, DEFAULT_MIN_WORK,
  type DfwPool, type PoolOptions, type PoolResult, type PoolInstanceGradients, type PoolCotangents,
  type PoolBackward, type PoolGradients, type PoolSolution, type PoolStats
} from './Pool.js'
