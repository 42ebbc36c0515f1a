/**
 * `dfwlayer/tfjs`: the layer as a TensorFlow.js operation over batched tensors.
 *
 * `tfDfwLayer(options)({ q, P, t, w? })` solves one problem per row of `q` and returns x
 * as a `[B, n]` tensor. The operation is registered with `tf.customGrad`, so `tf.grad`,
 * `tf.grads` and the optimizers see the layer's own vector-Jacobian product (unrolled or
 * implicit, by `options.backward`) for q, w, t and a dense P.
 *
 * Numbers: tensors are float32, and the layer solves in float64. Plain numbers (a number
 * `t`) are checked in float64, never rounded to float32 first. P is judged symmetric by
 * the library's entry-by-entry rule with float32's factor ({@link TF_SYMMETRY_TOLERANCE});
 * the layer then solves with the symmetric part (P + Pᵀ)/2 (P itself when exactly
 * symmetric, as a P built from symmetric data is), and P's gradient is the symmetric part
 * of the library's, (G + Gᵀ)/2: the exact gradient of the op, and one that keeps a trained
 * P symmetric. A result the op cannot write in float32 (an entry of x or of a gradient
 * beyond ±3.4e38) is refused with a `LayerError`, never returned as ±Infinity: x at the
 * input that bounds it (`w[b][i]` on the l1 ball when t/wᵢ is beyond float32, else `t`),
 * a gradient at the input it is the gradient of (`w[0][2]`), and only when the caller's
 * gradient goes through that input (`tf.grad` in q is not refused for w's overflow).
 *
 * This entry imports `@tensorflow/tfjs-core` (an optional peer dependency); the package's
 * main entry never does. Bring a backend and the built-in ops' gradients yourself, for
 * example with `import '@tensorflow/tfjs'`.
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { unsafeDim } from '../shapes/Dim.js'
import { dense, type LinearOperator } from '../core/LinearOperator.js'
import { denseAsymmetry, asymmetryMessage } from '../core/OperatorCodec.js'
import { type BatchGradients, type BatchProblem, solveBatch } from '../fw/Batch.js'
import type { Wants } from '../fw/batch/Model.js'
import { LayerError, type LayerOptions, type LayerResult } from '../fw/Layer.js'
import type { SetKind } from '../fw/Problem.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The operation's options: the layer's options, passed through to `dfwBatch`, plus the
 * set and an observer of each forward pass.
 *
 * @example
 * const o: TfLayerOptions = { backward: 'implicit', set: 'l1', onSolve: (rs) => console.log(rs.map((r) => r.gap)) }
 */
export interface TfLayerOptions extends LayerOptions {
  /** The feasible set of every instance. Default `"l1"`. */
  readonly set?: SetKind
  /** Called after each forward pass with the layer's result per instance (gap, iterations, status, …). */
  readonly onSolve?: (results: ReadonlyArray<LayerResult<unknown>>) => void
  /**
   * Start each forward pass's solve from the previous pass's x when the batch has the same
   * shape `[B, n]` (the implicit mode polishes it first; see `WarmStart`). Default false.
   */
  readonly warmStart?: boolean
}

/**
 * The operation's inputs. B is the batch size and n the dimension, both read from `q`.
 *
 * - `q`: `[B, n]`.
 * - `P`: `[B, n, n]` (one matrix per instance) or `[n, n]` (shared), symmetric PSD; or a
 *   library `LinearOperator` (dense, low rank or CSR), shared and held constant.
 * - `t`: `[B]`, a scalar tensor (shared), or a number (a constant).
 * - `w`: `[B, n]` or `[n]` (shared); all ones when omitted.
 *
 * Tensors must be float32. A shared tensor gets the sum of the instances' gradients.
 *
 * @example
 * const inputs: TfLayerInputs = { q: tf.randomNormal([8, 3]), P: tf.eye(3), t: 0.5 }
 */
export interface TfLayerInputs {
  readonly q: tf.Tensor
  readonly P: tf.Tensor | LinearOperator<unknown>
  readonly t: tf.Tensor | number
  readonly w?: tf.Tensor
}

// -------------------------------------------------------------------------------------
// checks
// -------------------------------------------------------------------------------------

/**
 * The relative tolerance of the symmetry check of a P tensor: the library's entry-by-entry
 * rule (src/core/OperatorCodec.ts, `SYMMETRY_TOLERANCE`) with float32's factor, about 84
 * units in the last place of a float32 (2⁻²³ ≈ 1.2e-7), so that a P computed in float32
 * (say A Aᵀ by a matMul) passes while a real asymmetry does not:
 * |Pᵢⱼ − Pⱼᵢ| ≤ 1e-5·max(|Pᵢⱼ|, |Pⱼᵢ|, √(|Pᵢᵢ|·|Pⱼⱼ|)) or ≤ {@link TF_SYMMETRY_FLOOR}.
 *
 * @example
 * asymmetric(P[i][j], P[j][i], P[i][i], P[j][j], TF_SYMMETRY_TOLERANCE, TF_SYMMETRY_FLOOR) // false: accepted
 */
export const TF_SYMMETRY_TOLERANCE = 1e-5

/**
 * The absolute floor of the float32 symmetry check: float32's smallest normal number
 * (2⁻¹²⁶ ≈ 1.18e-38), as the library's 1e-300 sits just above float64's.
 *
 * @example
 * Math.abs(P[i][j] - P[j][i]) <= TF_SYMMETRY_FLOOR // always accepted
 */
export const TF_SYMMETRY_FLOOR = 2 ** -126

/** The largest float32. */
const F32_MAX = 3.4028234663852886e38
const fitsF32 = (v: number): boolean => Number.isFinite(v) && Number.isFinite(Math.fround(v))

const fmtShape = (s: ReadonlyArray<number>): string => `[${s.join(', ')}]`

const isTensor = (x: unknown): x is tf.Tensor => x instanceof tf.Tensor

interface Layout {
  readonly B: number
  readonly n: number
  readonly wShared: boolean
  readonly tShared: boolean
  readonly PShared: boolean
}

const checkTensor = (x: unknown, name: string): tf.Tensor => {
  if (!isTensor(x)) throw new LayerError(`expected a tf.Tensor, got ${x === null ? 'null' : typeof x}`, name)
  if (x.isDisposed) throw new LayerError('the tensor has been disposed', name)
  if (x.dtype !== 'float32') throw new LayerError(`expected a float32 tensor, got ${x.dtype}`, name)
  return x
}

/** Checks ranks and sizes of the inputs; throws a `LayerError` naming the input. */
const layoutOf = (inputs: TfLayerInputs): Layout => {
  if (inputs === null || typeof inputs !== 'object') throw new LayerError('expected an object { q, P, t, w? }', '')
  const q = checkTensor(inputs.q, 'q')
  if (q.rank !== 2 || q.shape[1]! < 1) throw new LayerError(`expected shape [B, n] with n ≥ 1, got ${fmtShape(q.shape)}`, 'q')
  const B = q.shape[0]!, n = q.shape[1]!
  let wShared = false
  if (inputs.w !== undefined) {
    const w = checkTensor(inputs.w, 'w')
    if (w.rank === 1 && w.shape[0] === n) wShared = true
    else if (!(w.rank === 2 && w.shape[0] === B && w.shape[1] === n)) {
      throw new LayerError(`expected shape [${B}, ${n}] or [${n}], got ${fmtShape(w.shape)}`, 'w')
    }
  }
  let tShared = true
  if (typeof inputs.t !== 'number') {
    const t = checkTensor(inputs.t, 't')
    if (t.rank === 1 && t.shape[0] === B) tShared = false
    else if (t.rank !== 0) throw new LayerError(`expected shape [${B}] or [], got ${fmtShape(t.shape)}`, 't')
  }
  let PShared = true
  const P = inputs.P
  if (isTensor(P)) {
    checkTensor(P, 'P')
    if (P.rank === 3 && P.shape[0] === B && P.shape[1] === n && P.shape[2] === n) PShared = false
    else if (!(P.rank === 2 && P.shape[0] === n && P.shape[1] === n)) {
      throw new LayerError(`expected shape [${B}, ${n}, ${n}] or [${n}, ${n}], got ${fmtShape(P.shape)}`, 'P')
    }
  } else if (P === null || typeof P !== 'object' || !('kind' in P) || !('dim' in P)) {
    throw new LayerError('expected a tf.Tensor or a LinearOperator', 'P')
  } else if ((P.dim as number) !== n) {
    throw new LayerError(`the operator is ${P.dim as number}×${P.dim as number} but q has ${n} columns`, 'P')
  }
  return { B, n, wShared, tShared, PShared }
}

const finiteAt = (data: ArrayLike<number>, k: number, path: () => string, positive = false): number => {
  const v = data[k]!
  if (!Number.isFinite(v)) throw new LayerError(`expected a finite number, got ${String(v)}`, path())
  if (positive && !(v > 0)) throw new LayerError(`expected a number > 0, got ${String(v)}`, path())
  return v
}

/** Checks finiteness and symmetry of one n×n block at `off`; `at(i, j)` names an entry. */
const checkSymmetric = (data: ArrayLike<number>, off: number, n: number, at: (i: number, j: number) => string): void => {
  for (let k = 0; k < n * n; k++) {
    // the first entry that is not finite, row by row (no closure per entry)
    if (!Number.isFinite(data[off + k]!)) finiteAt(data, off + k, () => at(Math.floor(k / n), k % n))
  }
  const bad = denseAsymmetry(data, n, off, TF_SYMMETRY_TOLERANCE, TF_SYMMETRY_FLOOR)
  if (bad !== undefined) {
    const { i, j } = bad
    throw new LayerError(asymmetryMessage(i, j, data[off + i * n + j]!, data[off + j * n + i]!, TF_SYMMETRY_TOLERANCE), at(i, j))
  }
}

/** The symmetric part (A + Aᵀ)/2 of the n×n block of `src` at `off`, in float64 (A itself when exactly symmetric). */
const symmetricPart = (src: ArrayLike<number>, off: number, n: number): Float64Array => {
  const out = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    out[i * n + i] = src[off + i * n + i]!
    for (let j = 0; j < i; j++) {
      const a = src[off + i * n + j]!, b = src[off + j * n + i]!
      const m = a === b ? a : (a + b) / 2
      out[i * n + j] = m
      out[j * n + i] = m
    }
  }
  return out
}

/** `[3].q[1]` (a path of `dfwBatch`) as `q[3][1]`, the path into the batched tensors. */
const tensorPath = (path: string, layout: Layout): string => {
  const m = /^\[(\d+)\](?:\.(.*))?$/.exec(path)
  if (m === null) return path
  const b = m[1]!, rest = m[2] ?? ''
  const k = /^(q|w|t|P)(.*)$/.exec(rest)
  if (k === null) return rest === '' ? `q[${b}]` : rest
  const name = k[1]!
  const shared = (name === 'w' && layout.wShared) || (name === 't' && layout.tShared) || (name === 'P' && layout.PShared)
  return shared ? `${name}${k[2]!}` : `${name}[${b}]${k[2]!}`
}

/** The differentiable inputs. */
type Input = 'q' | 'w' | 't' | 'P'

/**
 * x itself, whose gradient is `gradient()` (the operation computes an input's gradient
 * only when tfjs asks this guard for it; the gradient the operation hands the guard is a
 * placeholder), or the error `refusal()` holds when it holds one.
 */
const guard = (x: tf.Tensor, gradient: () => tf.Tensor, refusal: () => LayerError | undefined): tf.Tensor =>
  tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: (args[0] as tf.Tensor).clone(),
    gradFunc: () => {
      const g = gradient()
      const e = refusal()
      if (e !== undefined) throw e
      return [g]
    }
  }))(x)

/**
 * What the batched VJP computes for the first guard tfjs asks. tfjs runs a backward pass's
 * gradients in the reverse order of the tape, so the guards, made in the order q, w, t, P,
 * are asked P, t, w, q, each only when the caller's gradient goes through its input: when
 * P's guard is asked it is the first, and when q's is the first no other will be. So the
 * first guard says what the caller needs: everything (P), θ's cotangents without P's terms
 * (t or w), or q's alone, which skips w's, t's and P's terms in the transpose.
 */
const WANTS: Readonly<Record<Input, Wants>> = { P: { wt: true, P: true }, t: { wt: true, P: false }, w: { wt: true, P: false }, q: { wt: false, P: false } }

// -------------------------------------------------------------------------------------
// the operation
// -------------------------------------------------------------------------------------

/** The index of the first entry of `data` that is not finite (or not > 0 with `positive`), or −1. */
const firstBad = (data: ArrayLike<number>, positive: boolean): number => {
  for (let k = 0; k < data.length; k++) {
    const v = data[k]!
    if (!Number.isFinite(v) || (positive && !(v > 0))) return k
  }
  return -1
}

/** Checks every entry; the first bad one is a `LayerError` at `path(k)`. */
const checkAll = (data: ArrayLike<number>, path: (k: number) => string, positive = false): void => {
  const k = firstBad(data, positive)
  if (k >= 0) finiteAt(data, k, () => path(k), positive)
}

/** Whether two arrays hold the same numbers, entry by entry (zeros' signs included). */
const sameValues = (a: Float32Array, b: Float32Array): boolean => {
  if (a.length !== b.length) return false
  for (let k = 0; k < a.length; k++) if (!Object.is(a[k], b[k])) return false
  return true
}

/** `src` (float32) as float64, once. */
const f64Of = (src: ArrayLike<number>): Float64Array => Float64Array.from(src as Float32Array)

/**
 * The layer as a tfjs operation: `tfDfwLayer(options)(inputs)` returns x, `[B, n]`
 * float32. The forward pass reads each tensor once, converts it to float64 once, and
 * hands the whole batch to the batched engine (`dfwBatchSolve`, one call of the kernels:
 * the paper schedule's unrolled fold runs as one batched fold, one product per step for a
 * shared P). The gradient is the batched VJP, computed once per backward pass for every
 * instance; P's gradient only when the caller's gradient goes through P (`tf.grad` in q
 * alone computes none), and for a shared `[n, n]` P as one accumulation of the batch's
 * terms (the sum of the instances' gradients), not one matrix per instance.
 *
 * With `warmStart: true` the op keeps the last forward pass's x and starts the next one's
 * solve from it when the batch has the same shape (`WarmStart` of src/fw/Batch.ts: the
 * implicit mode polishes it first; q moving a little between training steps then costs
 * the polish alone).
 *
 * Throws a `LayerError` whose `path` points into the tensors (`q[3][1]`, `t[0]`,
 * `P[2][0][1]`, `w`, `options.maxIterations`) for a bad shape, dtype or value: a
 * non-finite entry, t ≤ 0, a weight ≤ 0, a P that is not symmetric. It never returns NaN.
 *
 * @example
 * import * as tf from '@tensorflow/tfjs'
 * import { tfDfwLayer } from 'dfwlayer/tfjs'
 *
 * const layer = tfDfwLayer({ backward: 'implicit' })
 * const q = tf.tensor2d([[1, -2], [0.5, 0.5]])
 * const x = layer({ q, P: tf.eye(2), t: 0.5 })          // [2, 2], each row in the l1 ball
 * const dq = tf.grad((q: tf.Tensor) => layer({ q, P: tf.eye(2), t: 0.5 }).sum())(q)
 */
export const tfDfwLayer = (options: TfLayerOptions = {}) => {
  const { set = 'l1', onSolve, warmStart = false, ...layerOptions } = options
  const solve = solveBatch(layerOptions)
  let last: { readonly B: number; readonly n: number; readonly x: Float64Array } | undefined
  // the last P tensor's values and the operators made of them: a P with the same values
  // (the usual case: P held constant while q trains) gets the same operator objects, so
  // that what the kernels keep about an operator (its resident copy in WebAssembly memory,
  // facts memoized per operator) serves every call instead of one copy per call
  let lastP: { readonly data: Float32Array; readonly shared: boolean; readonly n: number; readonly P: LinearOperator<unknown> | ReadonlyArray<LinearOperator<unknown>> } | undefined
  return (inputs: TfLayerInputs): tf.Tensor2D => {
    const layout = layoutOf(inputs)
    const { B, n, wShared, tShared, PShared } = layout
    // the differentiable inputs, in the order customGrad sees them
    const names: Input[] = ['q']
    const tensors: tf.Tensor[] = [inputs.q]
    if (inputs.w !== undefined) { names.push('w'); tensors.push(inputs.w) }
    if (typeof inputs.t !== 'number') { names.push('t'); tensors.push(inputs.t) }
    if (isTensor(inputs.P)) { names.push('P'); tensors.push(inputs.P) }
    // the gradient of the input a guard asks for (`gradientOf`, set by the backward pass)
    let gradientOf: ((name: Input) => tf.Tensor) | undefined

    const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const read = (name: Input): Float32Array | undefined => {
        const i = names.indexOf(name)
        return i < 0 ? undefined : ((args[i] as tf.Tensor).dataSync() as Float32Array)
      }
      const qd = read('q')!, wd = read('w'), td = read('t'), Pd = read('P')
      // values: every problem is checked before any solve, with paths into the tensors
      checkAll(qd, (k) => `q[${Math.floor(k / n)}][${k % n}]`)
      if (wd !== undefined) checkAll(wd, (k) => (wShared ? `w[${k}]` : `w[${Math.floor(k / n)}][${k % n}]`), true)
      // a plain number t is checked and used in float64, as given
      const tv: ArrayLike<number> = td ?? [inputs.t as number]
      checkAll(tv, (k) => (td === undefined ? 't' : tShared ? 't' : `t[${k}]`), true)
      const dim = unsafeDim<unknown>(n), bDim = unsafeDim<unknown>(B)
      // a P with the last accepted P's values (checked then) is that P's operators again
      const same = Pd !== undefined && lastP !== undefined && lastP.shared === PShared && lastP.n === n && sameValues(lastP.data, Pd)
      if (Pd !== undefined && !same) {
        for (let b = 0; b < (PShared ? 1 : B); b++) {
          checkSymmetric(Pd, b * n * n, n, (i, j) => (PShared ? `P[${i}][${j}]` : `P[${b}][${i}][${j}]`))
        }
      }
      const P: LinearOperator<unknown> | ReadonlyArray<LinearOperator<unknown>> = Pd === undefined
        ? (inputs.P as LinearOperator<unknown>)
        : same ? lastP!.P
          : PShared ? dense({ rows: dim, cols: dim, data: symmetricPart(Pd, 0, n) })
            : Array.from({ length: B }, (_, b) => dense({ rows: dim, cols: dim, data: symmetricPart(Pd, b * n * n, n) }))
      if (Pd !== undefined && !same) lastP = { data: Float32Array.from(Pd), shared: PShared, n, P }
      const batch: BatchProblem<unknown, unknown> = {
        P,
        q: { rows: bDim, cols: dim, data: f64Of(qd) },
        t: td === undefined ? (inputs.t as number) : tShared ? td[0]! : { dim: bDim, data: f64Of(td) },
        set,
        ...(wd === undefined ? {} : { w: wShared ? { dim, data: f64Of(wd) } : { rows: bDim, cols: dim, data: f64Of(wd) } })
      }
      const warm = warmStart && last !== undefined && last.B === B && last.n === n ? { x: { rows: bDim, cols: dim, data: last.x } } : undefined
      const { solution, error, gradients } = solve(batch, warm)
      // the solution, until the backward pass has taken its vjp (tfjs calls a recorded
      // gradient once): the tape's nodes keep this scope, and tfjs's own records of them
      // can sit in the old generation, where each, dead after its step, kept the step's
      // solution (every instance's face and records) alive through young collections until
      // the next full one (`--trace-gc`, B = 256, n = 2 implicit: 2.5 MB promoted per young
      // collection and 3–5 ms each, against none and about 1 ms)
      let sol: typeof gradients | undefined = gradients
      // every instance's error, without making the instances' results (the engine makes
      // them only when asked: here for onSolve alone)
      for (let b = 0; b < B; b++) {
        const e = error(b)
        if (e !== undefined) throw new LayerError(e.message, tensorPath(e.path, layout))
      }
      if (onSolve !== undefined) onSolve(solution.results.map((r) => (r as E.Right<LayerResult<unknown>>).right))
      const xd = solution.x.data
      for (let k = 0; k < xd.length; k++) {
        if (fitsF32(xd[k]!)) continue
        const b = Math.floor(k / n), i = k % n
        // on the l1 ball |xᵢ| ≤ t/wᵢ, so with t within float32 a small wᵢ is the cause
        const tb = tShared ? tv[0]! : tv[b]!
        const cause = set === 'l1' && wd !== undefined && tb <= F32_MAX ? (wShared ? `w[${i}]` : `w[${b}][${i}]`) : (td === undefined || tShared ? 't' : `t[${b}]`)
        throw new LayerError(`x[${b}][${i}] = ${xd[k]} cannot be written in float32 (|x| ≤ 3.4e38): ${cause} allows entries that large; scale the problem down`, cause)
      }
      if (warmStart) last = { B, n, x: xd }
      const x = Float32Array.from(xd)

      /**
       * The gradient as float32. An entry that does not fit is noted for the input's guard,
       * which refuses it if (and only if) the caller's gradient goes through that input.
       */
      const out = (g: Float64Array, name: Input, shape: number[]): tf.Tensor => {
        for (let k = 0; k < g.length; k++) {
          if (fitsF32(g[k]!)) continue
          let idx = '', rest = k
          for (let a = shape.length - 1; a >= 0; a--) { idx = `[${rest % shape[a]!}]${idx}`; rest = Math.floor(rest / shape[a]!) }
          const path = `${name}${idx}`
          overflow.set(name, new LayerError(`the gradient with respect to ${path} is ${g[k]}, which cannot be written in float32 (|g| ≤ 3.4e38); scale the problem or the loss down`, path))
          break
        }
        return tf.tensor(Float32Array.from(g), shape, 'float32')
      }
      const gradFunc = (dy: tf.Tensor2D): tf.Tensor[] => {
        const dyd = dy.dataSync()
        checkAll(dyd, (k) => `dy[${Math.floor(k / n)}][${k % n}]`)
        if (sol === undefined) throw new LayerError('this forward pass\'s gradient was already taken: tfjs records a gradient for one backward pass', 'dy')
        const ct = { rows: bDim, cols: dim, data: f64Of(dyd) }
        // one batched VJP for every instance, when the first guard asks (see WANTS)
        let done: { readonly g: BatchGradients<unknown, unknown>; readonly wants: Wants } | undefined
        gradientOf = (name) => {
          const wants = WANTS[name]
          if (done === undefined) {
            done = { g: sol!(ct, wants), wants }
            sol = undefined
          } else if ((wants.wt && !done.wants.wt) || (wants.P && !done.wants.P)) {
            throw new LayerError(`tfjs asked for the gradient in ${name} after computing the others without it (its backward pass's order changed)`, name)
          }
          return gradientIn(done.g, name)
        }
        // placeholders, which the guards replace
        return names.map((name) => tf.zeros(shapeOf(name)))
      }
      const shapeOf = (name: Input): number[] => {
        switch (name) {
          case 'q': return [B, n]
          case 'w': return wShared ? [n] : [B, n]
          case 't': return tShared ? [] : [B]
          case 'P': return PShared ? [n, n] : [B, n, n]
        }
      }
      const gradientIn = (g: BatchGradients<unknown, unknown>, name: Input): tf.Tensor => {
        const sumRows = (a: Float64Array): Float64Array => {
          const o = new Float64Array(n)
          for (let b = 0; b < B; b++) for (let i = 0; i < n; i++) o[i] = o[i]! + a[b * n + i]!
          return o
        }
        const pGradient = (): tf.Tensor => {
          // P's gradient is that of the symmetric part the layer solved with: (G + Gᵀ)/2
          const gP = PShared ? Float64Array.from(g.pSum().data) : new Float64Array(B * n * n)
          if (!PShared) g.pEach().forEach((m, b) => { if (m !== undefined) gP.set(m.data, b * n * n) })
          for (let o = 0; o < gP.length; o += n * n) {
            for (let i = 0; i < n; i++) {
              for (let j = 0; j < i; j++) {
                const m = (gP[o + i * n + j]! + gP[o + j * n + i]!) / 2
                gP[o + i * n + j] = m
                gP[o + j * n + i] = m
              }
            }
          }
          return out(gP, 'P', PShared ? [n, n] : [B, n, n])
        }
        const gtSum = (): number => {
          let s = 0
          for (let b = 0; b < B; b++) s += g.t.data[b]!
          return s
        }
        switch (name) {
          case 'q': return out(g.q.data, 'q', [B, n])
          case 'w': return out(wShared ? sumRows(g.w.data) : g.w.data, 'w', shapeOf('w'))
          case 't': return out(tShared ? Float64Array.of(gtSum()) : g.t.data, 't', shapeOf('t'))
          case 'P': return pGradient()
        }
      }
      return { value: tf.tensor2d(x, [B, n], 'float32'), gradFunc }
    })
    // each input passes through a guard whose gradient is the identity, or the refusal of
    // a gradient that float32 cannot hold: tfjs calls it only for inputs on the path to
    // what the caller differentiates, so `tf.grad` in q is not refused for w's overflow
    // and computes no gradient in P (only while a gradient is being recorded, inside
    // tf.grad, tidied with it: a plain forward call creates no extra tensor)
    const overflow = new Map<Input, LayerError>()
    const recording = tf.engine().state.activeTape != null
    return op(...(recording
      ? tensors.map((x, i) => guard(x, () => gradientOf!(names[i]!), () => overflow.get(names[i]!)))
      : tensors))
  }
}

export { LayerError }
