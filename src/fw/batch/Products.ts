/**
 * The batch's products with P: row j of a compacted m × n block is multiplied by the
 * operator of the instance it belongs to. Instances that share one operator object share
 * one batched product (`denseApplyBatchInto`, X Pᵀ for the rows of the group), and an
 * operator of its own costs one product per row. Every row is bitwise what the
 * single-vector product of the layer (`applyInto`, `applyTInto`) gives for it, so a batch
 * computes exactly what its instances compute alone:
 * - dense, n ≥ 16: the kernels' batched products, which are bitwise the single ones by
 *   their contract (src/core/simd.ts);
 * - dense, n < 16: the single product's loops (`gemvLanes` for P x, `gemvTLoop` for Pᵀ x,
 *   as `denseApplyInto`/`denseApplyTInto` run them there), unrolled for the n at hand
 *   (generated once per n by `Codegen.ts`, the same additions in the same order; the
 *   loops themselves where code cannot be generated), over offsets into the block, without a view per row;
 * - diagonal plus low rank and CSR: `applyInto`/`applyTInto` per row.
 *
 * @since 0.1.0
 */
import { type LinearOperator, applyInto, applyTInto } from '../../core/LinearOperator.js'
import { SIMD_MIN_N, denseApplyBatchInto, denseApplyTBatchInto } from '../../core/simd.js'
import { f64 } from '../../shapes/alloc.js'
import { generatedKernels } from './Codegen.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The products of a batch: `apply(rows, m, X, Y)` sets row j of Y (m × n, row-major) to
 * P_{rows[j]} times row j of X, and `applyT` to the transposed product. `rows` holds the
 * instance of each row; X and Y must not alias.
 *
 * @example
 * const pr = batchProducts(ops, n)
 * pr.apply(live, m, S, PS) // PS[j] = P_{live[j]} S[j]
 */
export interface BatchProducts {
  readonly apply: (rows: Int32Array, m: number, X: Float64Array, Y: Float64Array) => void
  readonly applyT: (rows: Int32Array, m: number, X: Float64Array, Y: Float64Array) => void
  /** One operator object serves every instance. */
  readonly shared: boolean
  /**
   * The entries of that operator (n × n, row-major) when it is dense and n < 16: the
   * fused row passes (`RowPasses.ts`) then spell its products in the step's own pass, in
   * the small kernels' order ({@link smallEntry}).
   */
  readonly small?: Float64Array
}

// -------------------------------------------------------------------------------------
// the small dense loops
// -------------------------------------------------------------------------------------

/** Y[j] ← A X[j] for j < m, in `gemvLanes`'s order (eight partial sums per row). */
const lanesRows = (A: Float64Array, n: number, X: Float64Array, m: number, Y: Float64Array, xo = 0, yo = 0): void => {
  const n8 = n & ~7
  for (let b = 0; b < m; b++) {
    const xb = xo + b * n, yb = yo + b * n
    for (let i = 0, r = 0; i < n; i++, r += n) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0
      let j = 0
      for (; j < n8; j += 8) {
        s0 += A[r + j]! * X[xb + j]!
        s1 += A[r + j + 1]! * X[xb + j + 1]!
        s2 += A[r + j + 2]! * X[xb + j + 2]!
        s3 += A[r + j + 3]! * X[xb + j + 3]!
        s4 += A[r + j + 4]! * X[xb + j + 4]!
        s5 += A[r + j + 5]! * X[xb + j + 5]!
        s6 += A[r + j + 6]! * X[xb + j + 6]!
        s7 += A[r + j + 7]! * X[xb + j + 7]!
      }
      let s = ((s0 + s2) + (s4 + s6)) + ((s1 + s3) + (s5 + s7))
      for (; j < n; j++) s += A[r + j]! * X[xb + j]!
      Y[yb + i] = s
    }
  }
}

/** Y[j] ← Aᵀ X[j] for j < m, in `gemvTLoop`'s order (y += xᵢ A[i, :], i ascending). */
const transRows = (A: Float64Array, n: number, X: Float64Array, m: number, Y: Float64Array, xo = 0, yo = 0): void => {
  for (let b = 0; b < m; b++) {
    const xb = xo + b * n, yb = yo + b * n
    for (let j = 0; j < n; j++) Y[yb + j] = 0
    for (let i = 0, r = 0; i < n; i++, r += n) {
      const xi = X[xb + i]!
      for (let j = 0; j < n; j++) Y[yb + j] = Y[yb + j]! + A[r + j]! * xi
    }
  }
}

/** A small-n block product: Y[j] ← A X[j] (or Aᵀ X[j]) for j < m, rows at offsets xo, yo. */
type SmallKernel = (A: Float64Array, X: Float64Array, m: number, Y: Float64Array, xo: number, yo: number) => void

/**
 * The source of {@link lanesRows} (or {@link transRows}) for one n < 16, unrolled: row j's
 * x in locals, each output one expression with the loops' additions in the loops' order
 * (eight partial sums from 0, combined as `gemvLanes` combines them, then the columns past
 * 8 one by one; for Aᵀ, 0 plus the rows' terms, i ascending), so that it computes the
 * same numbers, zeros' signs included. Without the loops' bookkeeping and bounds checks it
 * runs four to nine times faster at n = 10.
 */
const smallSource = (n: number, trans: boolean): string => {
  const L: string[] = [`for (let b = 0; b < m; b++) {`, `const xb = xo + b * ${n}, yb = yo + b * ${n};`]
  for (let j = 0; j < n; j++) L.push(`const x${j} = X[xb + ${j}];`)
  for (let i = 0; i < n; i++) L.push(`Y[yb + ${i}] = ${smallEntry(n, i, trans, (j) => `x${j}`)};`)
  L.push('}')
  return L.join('\n')
}

/**
 * Entry i of A x (or Aᵀ x) at n < 16 as one expression, `x(j)` naming x's entry j: the
 * sums of {@link lanesRows} (or {@link transRows}) in their order (see `smallSource`).
 * The fused row passes (`RowPasses.ts`) spell their products with it, so their numbers
 * are this kernel's.
 *
 * @example
 * smallEntry(2, 0, true, (j) => `x${j}`) // '((0 + A[0] * x0) + A[2] * x1)'
 */
export const smallEntry = (n: number, i: number, trans: boolean, x: (j: number) => string): string => {
  if (trans) {
    let e = '0'
    for (let k = 0; k < n; k++) e = `(${e} + A[${k * n + i}] * ${x(k)})`
    return e
  }
  const n8 = n & ~7, part: string[] = []
  for (let l = 0; l < 8; l++) {
    let p = '0'
    for (let j = l; j < n8; j += 8) p = `(${p} + A[${i * n + j}] * ${x(j)})`
    part.push(p)
  }
  let e = `(((${part[0]!} + ${part[2]!}) + (${part[4]!} + ${part[6]!})) + ((${part[1]!} + ${part[3]!}) + (${part[5]!} + ${part[7]!})))`
  for (let j = n8; j < n; j++) e = `(${e} + A[${i * n + j}] * ${x(j)})`
  return e
}

/** The loops at offsets, as a {@link SmallKernel} (where code cannot be generated). */
const loopKernel = (n: number, trans: boolean): SmallKernel => (A, X, m, Y, xo, yo) => (trans ? transRows : lanesRows)(A, n, X, m, Y, xo, yo)

/** The kernel of key 2n + (Aᵀ ? 1 : 0). */
const smallKernel = generatedKernels(
  (key: number) => ({ params: ['A', 'X', 'm', 'Y', 'xo', 'yo'], body: smallSource(key >> 1, (key & 1) === 1), name: `dfw-small-${(key & 1) === 1 ? 'at' : 'a'}x-${key >> 1}.js` }),
  (key: number): SmallKernel => loopKernel(key >> 1, (key & 1) === 1)
)

/**
 * The small-n kernels of one n (A x, Aᵀ x), generated once per n (`Codegen.ts`); the
 * loops themselves where the environment forbids generating code (a
 * Content-Security-Policy without 'unsafe-eval') or the generated code is off.
 *
 * @example
 * smallKernels(10)[0](A, X, m, Y, 0, 0) // as lanesRows(A, 10, X, m, Y)
 */
export const smallKernels = (n: number): readonly [SmallKernel, SmallKernel] => [smallKernel(2 * n), smallKernel(2 * n + 1)]

/**
 * The loops the generated kernels unroll, for tests: Y[j] ← A X[j] (`trans` false, in
 * `gemvLanes`'s order) or Aᵀ X[j] (in `gemvTLoop`'s) for j < m.
 *
 * @example
 * smallLoops(A, 10, false, X, m, Y) // the same numbers as smallKernels(10)[0](A, X, m, Y, 0, 0)
 */
export const smallLoops = (A: Float64Array, n: number, trans: boolean, X: Float64Array, m: number, Y: Float64Array, xo = 0, yo = 0): void =>
  (trans ? transRows : lanesRows)(A, n, X, m, Y, xo, yo)

/** The block product for one dense operator over m consecutive rows. */
const denseBlock = (A: Float64Array, n: number, trans: boolean, X: Float64Array, m: number, Y: Float64Array): void => {
  if (n < SIMD_MIN_N) smallKernel(2 * n + (trans ? 1 : 0))(A, X, m, Y, 0, 0)
  else (trans ? denseApplyTBatchInto : denseApplyBatchInto)(A, n, X, m, Y)
}

/** One row through any operator, at offsets (a view for the library's single products). */
const oneRow = <N>(op: LinearOperator<N>, n: number, trans: boolean, X: Float64Array, xo: number, Y: Float64Array, yo: number): void => {
  if (op.kind === 'dense' && n < SIMD_MIN_N) {
    smallKernel(2 * n + (trans ? 1 : 0))(op.mat.data, X, 1, Y, xo, yo)
    return
  }
  const x = X.subarray(xo, xo + n), y = Y.subarray(yo, yo + n)
  if (trans) applyTInto(op, x, y)
  else applyInto(op, x, y)
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * The products of a batch whose instance b has operator `ops[b]` (see the module notes).
 *
 * @example
 * batchProducts([P, P, P], n).shared // true: one batched product per call
 */
export const batchProducts = <N>(ops: ReadonlyArray<LinearOperator<N>>, n: number): BatchProducts => {
  const first = ops[0]
  const shared = first !== undefined && ops.every((o) => o === first)
  const run = (trans: boolean) => (rows: Int32Array, m: number, X: Float64Array, Y: Float64Array): void => {
    if (m === 0) return
    if (shared) {
      if (first.kind === 'dense') denseBlock(first.mat.data, n, trans, X, m, Y)
      else for (let j = 0; j < m; j++) oneRow(first, n, trans, X, j * n, Y, j * n)
      return
    }
    // group the rows by operator object: a run of one operator is one batched product
    let j = 0
    while (j < m) {
      const op = ops[rows[j]!]!
      let e = j + 1
      while (e < m && ops[rows[e]!] === op) e++
      if (op.kind === 'dense' && e - j > 1) {
        if (j === 0 && e === m) denseBlock(op.mat.data, n, trans, X, m, Y)
        else {
          const len = (e - j) * n, xs = f64(len), ys = f64(len)
          xs.set(X.subarray(j * n, e * n))
          denseBlock(op.mat.data, n, trans, xs, e - j, ys)
          Y.set(ys, j * n)
        }
      } else for (let k = j; k < e; k++) oneRow(op, n, trans, X, k * n, Y, k * n)
      j = e
    }
  }
  const small = shared && first.kind === 'dense' && n < SIMD_MIN_N ? first.mat.data : undefined
  return small === undefined ? { apply: run(false), applyT: run(true), shared } : { apply: run(false), applyT: run(true), shared, small }
}
