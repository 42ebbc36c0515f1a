/**
 * The implicit derivative of x*(θ) = argmin { ½ xᵀP x + qᵀx : x ∈ C(θₛ) } in
 * θ = (q, P, and the set's parameters: w, t, lower, upper, k), on the face the polish
 * found (`FaceModel.ts`), by one direct solve of the face's KKT system per JVP or VJP
 * (`FaceDerivative.ts`): a Cholesky factorization for dense P, Woodbury for diagonal plus
 * low rank, CG with a true-residual test for CSR. The factorization is built once per
 * solution and serves every derivative, so `jvp` and `vjp` are transposes of one linear
 * map to rounding, on every problem.
 *
 * The gradient's change at fixed x is e = dq + dP x (dP enters through g = Px + q, the
 * convention of the unrolled derivative; for a symmetric dP this is the derivative of the
 * argmin), and the cotangents are
 *   ∂q = −v (0 off F),  ∂P = −v xᵀ (dense P only),
 * with v the solve's free part, and the set's parameters from the transposed maps (the l1
 * ball: ∂wᵢ = −σᵢ(ν vᵢ + μ xᵢ) on F, ∂t = μ; the box: ∂lowerᵢ, ∂upperᵢ from the fixed
 * coordinates' cotangents; and so on).
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import type { Linear } from '../core/Diff.js'
import { type Tan, Zero } from '../core/Tangent.js'
import { type LinearOperator, applyInto } from '../core/LinearOperator.js'
import type { Gradients, Params, ParamsTangent, SetName } from './Problem.js'
import type { FaceModel, FaceReport } from './FaceModel.js'
import type { SetGradient, SetTangent } from './sets/FeasibleSet.js'
import { resolveSet } from './sets/Sets.js'
import { type FaceDerivativeMap, faceDerivative } from './FaceDerivative.js'
import { faceHessian } from './FaceHessian.js'
import { polishExact } from './Polish.js'
import { f64 } from '../shapes/alloc.js'
import { type LeanFace, leanFaceMap } from './LeanFace.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A tangent of the parameters: the plain record, or the engine's `Tan<Params<N>>`.
 *
 * @example
 * d.jvp({ q: dq })             // a ParamsTangent
 * d.jvp(fromTangent({ t: 1 })) // an engine tangent record
 */
export type ImplicitTangent<N> = ParamsTangent<N> | Tan<Params<N>>

/**
 * The implicit derivative at one solution.
 *
 * @example
 * const d = quadraticDerivative(face, theta)
 * d.jvp({ q: dq })  // dx for a change dq
 * d.vjp(ct).t       // ⟨ct, ∂x/∂t⟩
 */
export interface ImplicitDerivative<N> {
  readonly face: FaceReport
  /** dx for a parameter tangent (missing or `Zero` fields are zero). */
  readonly jvp: (tangent: ImplicitTangent<N>) => Vec<N>
  /** The gradients of ⟨ct, x*⟩; `P` only when P is dense. */
  readonly vjp: (ct: Vec<N>) => Gradients<N>
  /** `vjp`'s parts without P's gradient (for a batch, which forms it only when asked). */
  readonly vjpParts: (ct: Float64Array) => VjpParts
  /** The map for the engine's `custom(primal, linearize)` hook. */
  readonly linear: Linear<Params<N>, Vec<N>>
  /** The direct solver's method, rank and row rank (`core/Kkt.ts`). */
  readonly info: FaceDerivativeMap['info']
}

/**
 * What a VJP computes before P's gradient: q's gradient, the set's gradients and v, the
 * solve's free part (P's gradient is −v xᵀ on the rows of F).
 *
 * @example
 * const { q, acc, v } = d.vjpParts(ct.data) // q = d.vjp(ct).q.data, acc.w = d.vjp(ct).w.data
 */
export interface VjpParts {
  readonly q: Float64Array
  readonly acc: SetGradient
  readonly v: Float64Array
}

/**
 * Options of {@link implicitDerivative}.
 *
 * @example
 * implicitDerivative('l2', params, x, { face })
 */
export interface ImplicitOptions {
  /** The face to differentiate on (default: the polish's, from x). */
  readonly face?: FaceModel
}

// -------------------------------------------------------------------------------------
// tangents
// -------------------------------------------------------------------------------------

const field = (t: unknown, k: string): unknown => {
  if (t === Zero || t === undefined || t === null) return undefined
  const v = (t as Record<string, unknown>)[k]
  return v === Zero ? undefined : v
}
const vecData = (t: unknown, k: string): Float64Array | undefined => (field(t, k) as Vec<unknown> | undefined)?.data
const num = (t: unknown, k: string): number => { const v = field(t, k); return typeof v === 'number' ? v : 0 }

/**
 * The set's part of a tangent, as plain data.
 *
 * @example
 * setTangentOf({ t: 1 }) // { t: 1, k: 0 }
 */
export const setTangentOf = (t: unknown): SetTangent => ({
  w: vecData(t, 'w'), t: num(t, 't'), lower: vecData(t, 'lower'), upper: vecData(t, 'upper'), k: num(t, 'k')
})

/**
 * A fresh gradient accumulator for a set of n coordinates.
 *
 * @example
 * const acc = setGradient('box', n) // acc.lower, acc.upper present
 */
export const setGradient = (kind: SetName, n: number): SetGradient => ({
  w: f64(n), t: 0, k: 0,
  ...(kind === 'box' ? { lower: f64(n), upper: f64(n) } : {})
})

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * The quadratic's implicit derivative on a face (see the module notes). Throws a
 * `NegativeCurvatureError` when P curves downwards on the face.
 *
 * @example
 * const d = quadraticDerivative(polished.face, theta)
 * d.vjp(ones).q // ∇_q Σᵢ xᵢ*
 */
export const quadraticDerivative = <N>(face: FaceModel, theta: Params<N>): ImplicitDerivative<N> => {
  const P = theta.P, n = face.x.length
  const full = (v: Float64Array): Float64Array => { const o = f64(n); applyInto(P, v, o); return o }
  const core = faceDerivative(face, { block: faceHessian(P, face.free), full }, P as LinearOperator<unknown>)
  return derivativeOn(core, face.free, face.x, face.set.kind, theta)
}

/**
 * The quadratic's implicit derivative at a point the lean path certified (`LeanFace.ts`):
 * the same map as {@link quadraticDerivative} on that face, from the lean path's factor.
 *
 * @example
 * const lf = leanPolish('l1', theta, x0)
 * if (lf !== undefined) leanDerivative(lf, theta).vjp(ones).q
 */
export const leanDerivative = <N>(lf: LeanFace, theta: Params<N>): ImplicitDerivative<N> =>
  derivativeOn(leanFaceMap(lf), lf.free, lf.x, lf.set, theta)

/**
 * The implicit derivative on a polished point's face, general (`FaceModel`) or lean
 * (`LeanFace`), as the implicit forward returned it (`Layer.implicitForward`).
 *
 * @example
 * const fw = implicitForward('l1', schedule, theta)
 * derivativeAt(fw.face, theta).vjp(ones)
 */
export const derivativeAt = <N>(face: FaceModel | LeanFace, theta: Params<N>): ImplicitDerivative<N> =>
  'L' in face ? leanDerivative(face, theta) : quadraticDerivative(face, theta)

/** The layer's derivative record around a face map: e = dq + dP x in, the gradients of q, the set and P out. */
const derivativeOn = <N>(core: FaceDerivativeMap, F: Int32Array, x: Float64Array, kind: SetName, theta: Params<N>): ImplicitDerivative<N> => {
  const P = theta.P, n = x.length, dim = theta.q.dim, m = F.length

  const jvp = (tangent: ImplicitTangent<N>): Vec<N> => {
    const dq = vecData(tangent, 'q'), dP = field(tangent, 'P') as Mat<N, N> | undefined
    let e: Float64Array | undefined
    if (dq !== undefined || dP !== undefined) {
      e = f64(n)
      if (dq !== undefined) e.set(dq.subarray(0, n))
      if (dP !== undefined) {
        const A = dP.data
        for (let i = 0; i < n; i++) {
          let s = 0
          const r = i * n
          for (let j = 0; j < n; j++) s += A[r + j]! * x[j]!
          e[i] = e[i]! + s
        }
      }
    }
    return { dim, data: core.jvp(e, setTangentOf(tangent)) }
  }

  const vjpParts = (ct: Float64Array): VjpParts => {
    const acc = setGradient(kind, n)
    const v = core.vjp(ct, acc)
    const q = f64(n)
    for (let j = 0; j < m; j++) q[F[j]!] = -v[j]!
    return { q, acc, v }
  }

  const vjp = (ct: Vec<N>): Gradients<N> => {
    const { q: gq, acc, v } = vjpParts(ct.data)
    const out: { -readonly [K in keyof Gradients<N>]: Gradients<N>[K] } = { q: { dim, data: gq }, w: { dim, data: acc.w }, t: acc.t }
    if (acc.lower !== undefined) out.lower = { dim, data: acc.lower }
    if (acc.upper !== undefined) out.upper = { dim, data: acc.upper }
    if (kind === 'capped-simplex') out.k = acc.k
    if (P.kind === 'dense') {
      out.P = { rows: dim, cols: dim, data: pGradientOf(F, v, x) }
    }
    return out
  }

  const isZero = (t: unknown): boolean => {
    if (t === Zero) return true
    const st = setTangentOf(t)
    return vecData(t, 'q') === undefined && field(t, 'P') === undefined && st.w === undefined && st.lower === undefined && st.upper === undefined && st.t === 0 && st.k === 0
  }

  const linear: Linear<Params<N>, Vec<N>> = {
    fwd: (d) => (isZero(d) ? Zero : jvp(d as ImplicitTangent<N>)),
    bwd: (d) => {
      if (d === Zero) return Zero
      return vjp(d as Vec<N>) as unknown as Tan<Params<N>>
    }
  }
  return { face: core.report, jvp, vjp, vjpParts, linear, info: core.info }
}

/**
 * P's gradient −v xᵀ on the rows of F (zeros elsewhere), n × n row-major, from the VJP's
 * free part v ({@link VjpParts}): exactly the `P` that `vjp` returns.
 *
 * @example
 * pGradientOf(face.free, d.vjpParts(ct).v, face.x) // d.vjp(ct).P.data
 */
export const pGradientOf = (F: Int32Array, v: Float64Array, x: Float64Array): Float64Array => {
  const n = x.length, gp = f64(n * n)
  for (let j = 0; j < F.length; j++) {
    const i = F[j]!, vi = v[j]!
    if (vi === 0) continue
    const r = i * n
    for (let c = 0; c < n; c++) gp[r + c] = -vi * x[c]!
  }
  return gp
}

/**
 * out ← out + (−v xᵀ on the rows of F): P's gradient −v xᵀ (v the VJP's free part,
 * {@link VjpParts}) added entry by entry into an n × n row-major `out`, every entry once
 * (a row off F, or with vᵢ = 0, adds +0): over instances, the sum of their
 * {@link pGradientOf} matrices taken in order, entry by entry, without forming them.
 *
 * @example
 * const gp = new Float64Array(n * n)
 * addPGradient(gp, face.free, d.vjpParts(ct).v, face.x) // d.vjp(ct).P
 */
export const addPGradient = (out: Float64Array, F: Int32Array, v: Float64Array, x: Float64Array): void => {
  const n = x.length, vs = new Float64Array(n)
  for (let j = 0; j < F.length; j++) vs[F[j]!] = v[j]!
  for (let i = 0; i < n; i++) {
    const r = i * n
    const vi = vs[i]!
    if (vi === 0) { for (let c = 0; c < n; c++) out[r + c] = out[r + c]! + 0; continue }
    for (let c = 0; c < n; c++) out[r + c] = out[r + c]! + -vi * x[c]!
  }
}

/**
 * The implicit derivative at x, on the face the polish reaches from x (for an optimal x,
 * its own face). Throws a `NegativeCurvatureError` when P is not PSD on the face.
 *
 * @example
 * const d = implicitDerivative('l1', { P, q, w, t }, x)
 * d.vjp(ones).q   // the gradient of Σᵢ xᵢ* in q
 * d.jvp({ t: 1 }) // the derivative of x* in t
 */
export const implicitDerivative = <N>(set: SetName, params: Params<N>, x: Vec<N>, options: ImplicitOptions = {}): ImplicitDerivative<N> => {
  const face = options.face ?? polishExact(resolveSet(set, params), params, x.data).face
  return quadraticDerivative(face, params)
}
