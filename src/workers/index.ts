/**
 * dfwlayer/workers: an opt-in pool of worker threads for large batches (Node only; the
 * package root never loads it, nor `node:worker_threads`).
 *
 * @since 0.1.0
 */
export {
  dfwPool, DEFAULT_MIN_WORK,
  type DfwPool, type PoolOptions, type PoolResult, type PoolInstanceGradients, type PoolCotangents,
  type PoolBackward, type PoolGradients, type PoolSolution, type PoolStats
} from './Pool.js'
