/**
 * Solving a rescaled problem inside, so that every scale within the documented bounds
 * gives finite results and the derivative its scaling law says. With x = sₓ·y and the
 * objective divided by s_f (both powers of two, so every scaling is exact),
 *
 *     ½xᵀPx + qᵀx = s_f·(½yᵀP″y + q″ᵀy),   P″ = (sₓ²/s_f)·P,   q″ = (sₓ/s_f)·q,
 *
 * and the set scales with x: t″ = t/sₓ, lower″ = lower/sₓ, upper″ = upper/sₓ (w, k and
 * the sets of fixed size — the capped simplex, the Birkhoff polytope — do not move). sₓ
 * brings the set's size to [1, 2), s_f the larger of the objective's two terms, so the
 * solver works on numbers of order 1: at t = 1e-170 the unrolled l1 step's t² no longer
 * underflows into 0/0, and a sphere of radius 1e-160 is no longer mistaken for the
 * interior. The paper's recipe is invariant under the scaling when its temperature scales
 * with the objective (β″ = s_f·β, so β″|ĝ″| = β|ĝ|) and its L with P″ (L″ = (sₓ²/s_f)·L):
 * the rescaled run takes the same steps. Derivatives map back exactly: dθ″ is dθ scaled
 * entry by entry as θ is, dx = sₓ·dy, and the VJP transposes both.
 *
 * The scaling applies only where it is needed — a set size beyond 2^±60 or an objective
 * term beyond 2^±300 — so that problems at ordinary scales run unchanged, bit for bit,
 * and P is copied only then.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Linear } from '../core/Linear.js'
import { type Tan, Zero, scaleT } from '../core/Tangent.js'
import { type LinearOperator, dense, lowRank, diagEntry } from '../core/LinearOperator.js'
import type { Params } from './Problem.js'
import type { LayerOptions } from './Options.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The exponents of a rescaling: sₓ = 2^ex, s_f = 2^ef (2ex − ef even, so that √(sₓ²/s_f)
 * scales a low-rank factor exactly).
 *
 * @example
 * const sc: ProblemScaling = { ex: -565, ef: -566 } // t = 1e-170
 */
export interface ProblemScaling {
  /** sₓ = 2^ex: x = sₓ·y. */
  readonly ex: number
  /** s_f = 2^ef: the objective is divided by s_f. */
  readonly ef: number
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * x·2^e without overflowing the factor itself (2^e alone overflows past e = 1023, while
 * x·2^e may be an ordinary number: t = 5e-324 times 2^1074 is 1).
 *
 * @example
 * mulPow2(5e-324, 1074) // 1
 */
export const mulPow2 = (x: number, e: number): number => {
  if (e > 1000) return x * 2 ** 1000 * 2 ** (e - 1000)
  if (e < -1000) return x * 2 ** -1000 * 2 ** (e + 1000)
  return x * 2 ** e
}

const exp2 = (v: number): number => (v > 0 && Number.isFinite(v) ? Math.round(Math.log2(v)) : 0)

/**
 * The rescaling a problem needs (see the module notes), or undefined when it runs as is.
 * `size` is the set's size (its largest |xᵢ|); pass 1 for the sets of fixed size.
 *
 * @example
 * problemScaling(theta, 1e-170) // { ex: -565, ef: … }
 */
export const problemScaling = <N>(theta: Params<N>, size: number): ProblemScaling | undefined => {
  const P = theta.P, n = theta.q.data.length
  let pm = 0, qm = 0
  for (let i = 0; i < n; i++) { pm = Math.max(pm, Math.abs(diagEntry(P, i))); qm = Math.max(qm, Math.abs(theta.q.data[i]!)) }
  const ex = exp2(size)
  // the objective's terms at x of the set's size: sₓ²·max|Pᵢᵢ| and sₓ·max|qᵢ|
  const lp = pm > 0 ? 2 * ex + Math.log2(pm) : -Infinity, lq = qm > 0 ? ex + Math.log2(qm) : -Infinity
  let ef = Number.isFinite(Math.max(lp, lq)) ? Math.round(Math.max(lp, lq)) : 0
  if ((2 * ex - ef) % 2 !== 0) ef += 1
  if (Math.abs(ex) <= 60 && Math.abs(ef) <= 300) return undefined
  return { ex, ef }
}

const scaleVec = <N>(v: Vec<N>, e: number): Vec<N> => ({ dim: v.dim, data: Float64Array.from(v.data, (x) => mulPow2(x, e)) })

const scaleOperator = <N>(P: LinearOperator<N>, e: number): LinearOperator<N> => {
  switch (P.kind) {
    case 'dense':
      return dense({ rows: P.mat.rows, cols: P.mat.cols, data: Float64Array.from(P.mat.data, (x) => mulPow2(x, e)) })
    case 'lowRank':
      return lowRank(scaleVec(P.diag, e), P.rank, Float64Array.from(P.U, (x) => mulPow2(x, e / 2)))
    case 'csr':
      return { ...P, values: Float64Array.from(P.values, (x) => mulPow2(x, e)) }
  }
}

/**
 * θ″ of the module notes.
 *
 * @example
 * const th = scaleParams(theta, sc) // th.t = theta.t / 2^sc.ex
 */
export const scaleParams = <N>(theta: Params<N>, sc: ProblemScaling): Params<N> => {
  return {
    P: scaleOperator(theta.P, 2 * sc.ex - sc.ef),
    q: scaleVec(theta.q, sc.ex - sc.ef),
    w: theta.w,
    t: mulPow2(theta.t, -sc.ex),
    ...(theta.lower === undefined ? {} : { lower: scaleVec(theta.lower, -sc.ex) }),
    ...(theta.upper === undefined ? {} : { upper: scaleVec(theta.upper, -sc.ex) }),
    ...(theta.k === undefined ? {} : { k: theta.k })
  }
}

/**
 * The options of the rescaled problem: the paper's L with P″, its temperature with the
 * objective.
 *
 * @example
 * scaleOptions({ beta0: 0.1 }, sc).beta0 // 0.1 · 2^sc.ef
 */
export const scaleOptions = (options: LayerOptions, sc: ProblemScaling): LayerOptions => ({
  ...options,
  ...(options.lipschitz === undefined ? {} : { lipschitz: mulPow2(options.lipschitz, 2 * sc.ex - sc.ef) }),
  beta0: mulPow2(options.beta0 ?? 1, sc.ef)
})

/** α·a for a tangent, α = 2^e applied in at most two exact factors. */
const scaleExp = <T>(e: number, a: T): T => {
  if (e > 1000) return scaleT(2 ** (e - 1000), scaleT(2 ** 1000, a as T | Zero)) as T
  if (e < -1000) return scaleT(2 ** (e + 1000), scaleT(2 ** -1000, a as T | Zero)) as T
  return scaleT(2 ** e, a as T | Zero) as T
}

/**
 * A tangent or cotangent of θ with each field scaled as θ's (P by 2^(2ex−ef), q by
 * 2^(ex−ef), t, lower and upper by 2^−ex) times 2^ex: dx = sₓ·J″·(D dθ) = J″·(sₓD dθ) and
 * c_θ = D·J″ᵀ(sₓ c) = (sₓD)·J″ᵀc, so each field is scaled once by its combined exponent
 * (dt by 2^0 at any t): no intermediate overflows where the result is representable.
 */
const scaleRecord = (r: unknown, sc: ProblemScaling): unknown => {
  if (r === Zero || r === undefined) return r
  const o = { ...(r as Record<string, unknown>) }
  const by = (k: string, e: number): void => { if (k in o && o[k] !== Zero && o[k] !== undefined) o[k] = scaleExp(e + sc.ex, o[k]) }
  by('P', 2 * sc.ex - sc.ef)
  by('q', sc.ex - sc.ef)
  by('t', -sc.ex)
  by('lower', -sc.ex)
  by('upper', -sc.ex)
  // w and k do not scale with x, so their fields carry sₓ alone
  by('w', 0)
  by('k', 0)
  return o
}

/**
 * θ ↦ x's linear map from the rescaled problem's θ″ ↦ y: dx = sₓ·J″·(dθ scaled as θ), and
 * its transpose, each applied as one scaling per field (see `scaleRecord`).
 *
 * @example
 * const lin = unscaleLinear(scaledRun.lin, sc)
 */
export const unscaleLinear = <N>(lin: Linear<Params<N>, Vec<N>>, sc: ProblemScaling): Linear<Params<N>, Vec<N>> => ({
  fwd: (d) => lin.fwd(scaleRecord(d, sc) as Tan<Params<N>>),
  bwd: (c) => (c === Zero ? Zero : (scaleRecord(lin.bwd(c), sc) as Tan<Params<N>>))
})
