/**
 * The implicit derivative of x*(θ) = argmin { ½ xᵀP x + qᵀx : x ∈ C(w, t) }, θ = (P, q, w, t),
 * on the active face, solved matrix-free by projected conjugate gradients.
 *
 * On the face found by {@link identifyFace}, x* solves a system of the form
 *
 *     H dx_F + dλ a = −r,    aᵀ dx_F = s,    dx_B = known,
 *
 * (F the free coordinates, B the fixed ones; the second equation and dλ only when the face
 * has an equality constraint). Per set, with g = P x + q and `(·)_F` restriction to F:
 *
 * - `l1`, binding (S = support, σ = sign(x_S), a = σ⊙w_S, λ = the multiplier):
 *   P_SS dx_S + dq_S + (dP x)_S + dλ a + λ σ⊙dw_S = 0,
 *   aᵀdx_S + (σ⊙x_S)ᵀdw_S = dt,   dx off S = 0.
 *   So H = P_SS, r = dq_S + (dP x)_S + λ σ⊙dw_S, s = dt − (σ⊙x_S)ᵀdw_S.
 * - `simplex` (S = support, a = 1_S): P_SS dx_S + dq_S + (dP x)_S + dλ 1 = 0,
 *   1ᵀdx_S = dt, dx off S = 0. w does not enter: its gradient is 0.
 * - `linf` (B = coordinates at the bound, σ_B their sides, F the rest; no multiplier on F):
 *   dx_B = σ_B dt,   P_FF dx_F + P_FB σ_B dt + dq_F + (dP x)_F = 0.
 *   So H = P_FF, r = (dq + dP x + P dx_B)_F, no equality constraint; w's gradient is 0.
 * - `l2`, binding (g + λx = 0, ‖x‖ = t): (P + λI) dx + dq + dP x + dλ x = 0,
 *   xᵀdx = ‖x‖ dt. So H = P + λI on every coordinate, a = x, s = ‖x‖ dt: the tangent
 *   part of dx solves (P + λI) restricted to the tangent space of the sphere, the normal
 *   part is (‖x‖ dt / xᵀx) x. w's gradient is 0.
 * - Not binding (`l1`, `l2` inside the ball; `linf` with no coordinate at ±t):
 *   P dx + dq + dP x = 0 on every coordinate; t and w have gradient 0.
 * - A `point` face (t = 0 with empty support, or x = 0 on a binding l2 face): dx = 0.
 *
 * dP enters through g = P x + q (as dP x), the convention of the unrolled derivative; for a
 * symmetric dP this is the derivative of the argmin. P itself must be symmetric (the
 * transposed system is the same system).
 *
 * The solve: dx_F = dx_p + z with the particular solution dx_p = (s / aᵀa) a and z in the
 * null space of aᵀ solving Π H Π z = −Π(r + H dx_p), Π = I − a aᵀ/aᵀa (Π = I without a
 * constraint), by projected conjugate gradients from z = 0 (Gould, Hribar and Nocedal's
 * form: the unprojected residual is kept, so dλ — and the VJP's μ below — comes out
 * without an extra product). The VJP solves the same symmetric system with right-hand side
 * u_F: Π H Π v = Π u_F, μ = aᵀ(u_F − H v)/aᵀa, and then
 *   ∂q = −v (0 off F),  ∂P = −v xᵀ (dense P only),
 *   l1: ∂w_S = −σ⊙(λ v + μ x_S), ∂t = μ;   simplex: ∂t = μ;   l2: ∂t = μ ‖x‖;
 *   linf: ∂t = σ_Bᵀ(u_B − (P v)_B).
 * Every P product goes through `applyInto`, so dense, diagonal-plus-low-rank and CSR
 * operators all work; a solve costs (CG iterations) + at most 1 products (+1 for the
 * face's gradient, once).
 *
 * Degenerate cases never produce NaN:
 * - CG stops on non-positive (or numerically zero: pᵀHp ≤ 1e-14‖p‖‖Hp‖) curvature and
 *   returns its current iterate. From z = 0 on a consistent positive semidefinite system
 *   the iterates stay in the range of H, so this is the minimum-norm solution when the
 *   face matrix is singular (P = 0 on the face gives z = 0: only the particular solution
 *   dx_p moves, the least-norm move that keeps the constraint). `stop` reports it, and
 *   then the JVP and VJP are no longer exact transposes of each other.
 * - Nearly singular face matrices converge slowly: CG stops at `maxIterations` with its
 *   best iterate (`stop: 'maxIterations'`).
 * - An empty free set (empty support, all l∞ coordinates at the bound) solves nothing.
 * - λ = 0 exactly on the boundary keeps the constraint on the face (a one-sided
 *   derivative, see `Face.ts`).
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import { applyInto, faceProduct } from '../core/LinearOperator.js'
import { type Tan, Zero } from '../core/Tangent.js'
import type { Linear } from '../core/Diff.js'
import type { Gradients, Params, ParamsTangent, SetKind } from './Problem.js'
import { type Face, type FaceOptions, identifyFace } from './Face.js'
import { f64, f64From } from '../shapes/alloc.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * Why a conjugate-gradient solve stopped: `stalled` means the relative residual was
 * already below 1e-10 and had not halved in 10 iterations (the rounding floor of the
 * recurrence, above the requested tolerance).
 *
 * @example
 * const { stats } = implicitDerivative('l1', params, x).vjpWithStats(ct)
 * if (stats.stop !== 'converged' && stats.stop !== 'empty') console.warn(stats.stop, stats.residual)
 */
export type CgStop = 'converged' | 'stalled' | 'maxIterations' | 'curvature' | 'empty'

/**
 * The cost and accuracy of one solve.
 *
 * @example
 * implicitDerivative('l1', params, x).vjpWithStats(ct).stats.matvecs // e.g. 22 at n = 300
 */
export interface SolveStats {
  /** P products (CG iterations plus right-hand-side products). */
  readonly matvecs: number
  readonly cgIterations: number
  /** ‖Π(b − H z)‖ / ‖Π b‖ at the end (0 when Π b = 0). */
  readonly residual: number
  readonly stop: CgStop
}

/**
 * Running totals over every solve of one {@link ImplicitDerivative}.
 *
 * @example
 * const d = implicitDerivative('l1', params, x)
 * d.vjp(ct); d.jvp({ t: 1 })
 * d.stats.solves; d.stats.matvecs // 2, and the P products of both solves and the face
 */
export interface ImplicitStats {
  /** P products so far, including the face's gradient. */
  readonly matvecs: number
  readonly cgIterations: number
  /** The relative residual of the latest solve. */
  readonly residual: number
  readonly solves: number
}

/**
 * Options of {@link implicitDerivative}.
 *
 * @example
 * implicitDerivative('l2', params, x, { tol: 1e-10, maxIterations: 50 })
 */
export interface ImplicitOptions<N> extends FaceOptions<N> {
  /** CG relative tolerance on the projected residual (default 1e-12). */
  readonly tol?: number
  /** CG iteration cap (default 2·|F| + 10). */
  readonly maxIterations?: number
  /** A face already identified at x (skips {@link identifyFace}). */
  readonly face?: Face<N>
}

/**
 * A tangent of the parameters: the plain record, or the engine's `Tan<Params<N>>`.
 *
 * @example
 * const d = implicitDerivative('l2', params, x)
 * d.jvp({ q: dq })            // a ParamsTangent
 * d.jvp(fromTangent({ t: 1 })) // an engine tangent record
 */
export type ImplicitTangent<N> = ParamsTangent<N> | Tan<Params<N>>

/**
 * The implicit derivative at one point.
 *
 * @example
 * const d = implicitDerivative('simplex', params, x)
 * d.jvp({ q: dq })        // dx for a change dq
 * d.vjp(ct).t             // ⟨ct, ∂x/∂t⟩
 */
export interface ImplicitDerivative<N> {
  readonly face: Face<N>
  /** dx for a parameter tangent (missing or `Zero` fields are zero). */
  readonly jvp: (tangent: ImplicitTangent<N>) => Vec<N>
  /** The gradients of ⟨ct, x*⟩; `P` only when P is dense. */
  readonly vjp: (ct: Vec<N>) => Gradients<N>
  /** {@link ImplicitDerivative.jvp} with the solve's statistics. */
  readonly jvpWithStats: (tangent: ImplicitTangent<N>) => { readonly value: Vec<N>; readonly stats: SolveStats }
  /** {@link ImplicitDerivative.vjp} with the solve's statistics. */
  readonly vjpWithStats: (ct: Vec<N>) => { readonly value: Gradients<N>; readonly stats: SolveStats }
  /** The map for the engine's `custom(primal, linearize)` hook. */
  readonly linear: Linear<Params<N>, Vec<N>>
  /** Running totals (a live view: it changes as solves run). */
  readonly stats: ImplicitStats
}

// -------------------------------------------------------------------------------------
// internals: the face operator and projected CG
// -------------------------------------------------------------------------------------

/** @internal The face operator for projected CG (shared with Polish.ts). */
export interface FaceSystem {
  readonly m: number
  /** The constraint normal on F, or undefined. */
  readonly a: Float64Array | undefined
  readonly aa: number
  /** out ← H p (p, out of length m). */
  readonly H: (p: Float64Array, out: Float64Array) => void
}

export interface CgResult {
  readonly z: Float64Array
  /** The unprojected residual b − H z. */
  readonly r: Float64Array
  readonly iterations: number
  readonly residual: number
  readonly stop: CgStop
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

const projectInto = (sys: FaceSystem, r: Float64Array, out: Float64Array): void => {
  if (sys.a === undefined) { out.set(r); return }
  const a = sys.a
  const c = dot(a, r) / sys.aa
  for (let i = 0; i < r.length; i++) out[i] = r[i]! - c * a[i]!
}

/** A CG run whose relative residual is below this and has not halved in CG_STALL_STEPS iterations stops as `stalled`. */
const CG_STALL_BELOW = 1e-10
const CG_STALL_STEPS = 10

/** Projected CG for Π H Π z = Π b, z ∈ null(aᵀ), from z = 0. */
export const pcg = (sys: FaceSystem, b: Float64Array, tol: number, maxIt: number): CgResult => {
  const m = sys.m
  const z = f64(m)
  const r = f64From(b)
  if (m === 0) return { z, r, iterations: 0, residual: 0, stop: 'empty' }
  const g = f64(m)
  projectInto(sys, r, g)
  let rg = dot(g, g)
  const b0 = Math.sqrt(rg)
  if (b0 === 0 || !Number.isFinite(b0)) return { z, r, iterations: 0, residual: 0, stop: b0 === 0 ? 'converged' : 'curvature' }
  const p = f64From(g)
  const hp = f64(m)
  let k = 0
  let stop: CgStop = 'maxIterations'
  let res = 1, best = 1, since = 0
  while (k < maxIt) {
    sys.H(p, hp)
    k++
    const kappa = dot(p, hp)
    const pn = Math.sqrt(dot(p, p)), hn = Math.sqrt(dot(hp, hp))
    if (!(kappa > 1e-14 * pn * hn)) { stop = 'curvature'; break }
    const alpha = rg / kappa
    for (let i = 0; i < m; i++) { z[i] = z[i]! + alpha * p[i]!; r[i] = r[i]! - alpha * hp[i]! }
    projectInto(sys, r, g)
    const rg2 = dot(g, g)
    res = Math.sqrt(rg2) / b0
    if (res <= tol) { stop = 'converged'; break }
    if (res <= 0.5 * best) { best = res; since = 0 } else if (++since >= CG_STALL_STEPS && res <= CG_STALL_BELOW) { stop = 'stalled'; break }
    const beta = rg2 / rg
    rg = rg2
    for (let i = 0; i < m; i++) p[i] = g[i]! + beta * p[i]!
  }
  return { z, r, iterations: k, residual: res, stop }
}

type AnyTan<N> = ImplicitTangent<N>

const vecField = <N>(t: AnyTan<N>, k: 'q' | 'w'): Float64Array | undefined => {
  if (t === Zero) return undefined
  const v = (t as Record<string, unknown>)[k]
  return v === undefined || v === Zero ? undefined : (v as Vec<N>).data
}
const numField = <N>(t: AnyTan<N>): number => {
  if (t === Zero) return 0
  const v = (t as Record<string, unknown>)['t']
  return typeof v === 'number' ? v : 0
}
const matField = <N>(t: AnyTan<N>): Mat<N, N> | undefined => {
  if (t === Zero) return undefined
  const v = (t as Record<string, unknown>)['P']
  return v === undefined || v === Zero ? undefined : (v as Mat<N, N>)
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * The implicit derivative of the solution map at x (a near-optimal point of `set`),
 * matrix-free: every solve is a projected-CG run on the face's KKT system (see the module
 * documentation for the equations, the degenerate cases and the cost).
 *
 * @example
 * const d = implicitDerivative('l1', { P, q, w, t }, x)
 * d.vjp(ones).q                   // the gradient of Σᵢ xᵢ* in q
 * d.jvp({ t: 1 })                 // the derivative of x* in t
 * custom(solve, (θ, x) => implicitDerivative('l1', θ, x).linear)
 */
export const implicitDerivative = <N>(
  set: SetKind,
  params: Params<N>,
  x: Vec<N>,
  options: ImplicitOptions<N> = {}
): ImplicitDerivative<N> => {
  const face = options.face ?? identifyFace(set, params, x, options)
  const n = x.dim as number
  const xs = x.data
  const P = params.P
  const F = face.free
  const m = F.length
  const PFF = faceProduct(P, F)
  const core = faceSolver(set, face, x, params.w.data, {
    // P_FF set up once for the face (O(m²) dense, O(m r) low rank): no full product per CG step
    HFF: PFF,
    Hfull: (v) => {
      const o = f64(n)
      applyInto(P, v, o)
      return o
    }
  }, options)

  const jvpWithStats = (tangent: AnyTan<N>): { readonly value: Vec<N>; readonly stats: SolveStats } => {
    const dq = vecField(tangent, 'q'), dw = vecField(tangent, 'w'), dP = matField(tangent)
    // e = dq + dP x, the gradient's change at fixed x
    let e: Float64Array | undefined
    if (dq !== undefined || dP !== undefined) {
      e = f64(n)
      if (dq !== undefined) for (let i = 0; i < n; i++) e[i] = dq[i]!
      if (dP !== undefined) {
        const D = dP.data
        for (let i = 0; i < n; i++) {
          let s = 0
          const row = i * n
          for (let j = 0; j < n; j++) s += D[row + j]! * xs[j]!
          e[i] = e[i]! + s
        }
      }
    }
    const r = core.jvp(e, dw, numField(tangent))
    return { value: { dim: x.dim, data: r.dx }, stats: r.stats }
  }

  const vjpWithStats = (ct: Vec<N>): { readonly value: Gradients<N>; readonly stats: SolveStats } => {
    const r = core.vjp(ct.data)
    const gq = f64(n)
    for (let k = 0; k < m; k++) gq[F[k]!] = -r.v[k]!
    const base = { q: { dim: x.dim, data: gq }, w: { dim: x.dim, data: r.gw }, t: r.gt }
    if (P.kind !== 'dense') return { value: base, stats: r.stats }
    const gp = f64(n * n)
    for (let k = 0; k < m; k++) {
      const i = F[k]!, vi = r.v[k]!
      if (vi === 0) continue
      const row = i * n
      for (let j = 0; j < n; j++) gp[row + j] = -vi * xs[j]!
    }
    return { value: { ...base, P: { rows: x.dim, cols: x.dim, data: gp } }, stats: r.stats }
  }

  const isZeroTangent = (t: AnyTan<N>): boolean =>
    t === Zero || (vecField(t, 'q') === undefined && vecField(t, 'w') === undefined && matField(t) === undefined && numField(t) === 0)

  const linear: Linear<Params<N>, Vec<N>> = {
    fwd: (dtheta) => (isZeroTangent(dtheta) ? Zero : jvpWithStats(dtheta).value),
    bwd: (dx) => {
      if (dx === Zero) return Zero
      const gr = vjpWithStats(dx).value
      return gr.P === undefined ? { q: gr.q, w: gr.w, t: gr.t } : { q: gr.q, w: gr.w, t: gr.t, P: gr.P }
    }
  }

  return {
    face,
    jvp: (tangent) => jvpWithStats(tangent).value,
    vjp: (ct) => vjpWithStats(ct).value,
    jvpWithStats,
    vjpWithStats,
    linear,
    stats: core.stats
  }
}

/**
 * What the face solve needs from the objective f: products with its Hessian in x, ∇²ₓf
 * (P for the quadratic; the gradient map's linearization in x for `dfwSmooth`).
 *
 * @example
 * const H: FaceHessian = { HFF: faceProduct(P, face.free), Hfull: (v) => apply(P, v) }
 */
export interface FaceHessian {
  /** out ← (∇²f)_FF p, for p and out of length |F|. */
  readonly HFF: (p: Float64Array, out: Float64Array) => void
  /** ∇²f v for a full vector. */
  readonly Hfull: (v: Float64Array) => Float64Array
}

/**
 * The face's KKT solves for any twice-differentiable convex f, given the face at x, the
 * weights and H = ∇²ₓf (see the module documentation, with P replaced by H and dq + dP x by
 * e = ∂g/∂θ·dθ, the gradient's change at fixed x):
 * - `jvp(e, dw, dt)` returns dx (e undefined: zero);
 * - `vjp(u)` returns v on F (the parameters' cotangent through g is −(∂g/∂θ)ᵀ v embedded
 *   in Rⁿ), and the gradients in w and t.
 *
 * @example
 * const core = faceSolver('l1', face, x, w, { HFF, Hfull })
 * core.jvp(dq, undefined, 0).dx // the quadratic's dx for a change dq
 */
export const faceSolver = <N>(
  set: SetKind,
  face: Face<N>,
  x: Vec<N>,
  w: Float64Array,
  hessian: FaceHessian,
  options: { readonly tol?: number; readonly maxIterations?: number } = {}
): {
  readonly jvp: (e: Float64Array | undefined, dw: Float64Array | undefined, dt: number) => { readonly dx: Float64Array; readonly stats: SolveStats }
  readonly vjp: (u: Float64Array) => { readonly v: Float64Array; readonly gw: Float64Array; readonly gt: number; readonly stats: SolveStats }
  readonly stats: ImplicitStats
} => {
  const n = x.dim as number
  const xs = x.data
  const F = face.free
  const m = F.length
  const tol = options.tol ?? 1e-12
  const maxIt = options.maxIterations ?? 2 * m + 10
  const lambda = face.lambda
  const sig = face.signs.data
  const l2 = face.constraint === 'sphere'
  let xnorm = 0
  for (let i = 0; i < n; i++) xnorm += xs[i]! ** 2
  xnorm = Math.sqrt(xnorm)

  // the constraint normal on F
  let a: Float64Array | undefined
  if (face.constraint === 'linear' || face.constraint === 'sphere') {
    a = f64(m)
    for (let k = 0; k < m; k++) {
      const i = F[k]!
      a[k] = set === 'l1' ? sig[i]! * w[i]! : set === 'simplex' ? 1 : xs[i]!
    }
  }
  const aa = a === undefined ? 0 : dot(a, a)
  if (a !== undefined && !(aa > 0)) a = undefined // cannot happen for w > 0; keeps Π finite

  let matvecs = face.matvecs, cgIterations = 0, lastResidual = 0, solves = 0
  const sys: FaceSystem = {
    m,
    a,
    aa,
    H: (p, out) => {
      hessian.HFF(p, out)
      matvecs++
      if (l2) for (let k = 0; k < m; k++) out[k] = out[k]! + lambda * p[k]!
    }
  }
  const record = (cg: CgResult, extra: number): SolveStats => {
    cgIterations += cg.iterations
    lastResidual = cg.residual
    solves++
    return { matvecs: cg.iterations + extra, cgIterations: cg.iterations, residual: cg.residual, stop: cg.stop }
  }
  const Hfull = (v: Float64Array): Float64Array => {
    matvecs++
    return hessian.Hfull(v)
  }

  const jvp = (e0: Float64Array | undefined, dw: Float64Array | undefined, dt: number): { readonly dx: Float64Array; readonly stats: SolveStats } => {
    const dx = f64(n)
    let extra = 0
    if (face.constraint === 'point') return { dx, stats: record({ z: dx, r: dx, iterations: 0, residual: 0, stop: 'empty' }, 0) }
    // e (+ H dx_B for l∞), on all coordinates
    const e = f64(n)
    if (e0 !== undefined) e.set(e0.subarray(0, n))
    if (set === 'linf' && dt !== 0 && face.fixed.length > 0) {
      for (const i of face.fixed) dx[i] = sig[i]! * dt
      if (m > 0) {
        const pb = Hfull(dx)
        extra++
        for (let i = 0; i < n; i++) e[i] = e[i]! + pb[i]!
      }
    }
    const r = f64(m)
    for (let k = 0; k < m; k++) r[k] = e[F[k]!]!
    let s = 0
    if (a !== undefined) {
      if (set === 'l1') {
        s = dt
        if (dw !== undefined) {
          for (let k = 0; k < m; k++) {
            const i = F[k]!
            r[k] = r[k]! + lambda * sig[i]! * dw[i]!
            s -= sig[i]! * xs[i]! * dw[i]!
          }
        }
      } else if (set === 'simplex') s = dt
      else s = xnorm * dt
    }
    const b = f64(m)
    const xp = f64(m)
    if (a !== undefined && s !== 0) {
      const c = s / aa
      for (let k = 0; k < m; k++) xp[k] = c * a[k]!
      sys.H(xp, b)
      extra++
    }
    for (let k = 0; k < m; k++) b[k] = -(r[k]! + b[k]!)
    const cg = pcg(sys, b, tol, maxIt)
    for (let k = 0; k < m; k++) dx[F[k]!] = xp[k]! + cg.z[k]!
    return { dx, stats: record(cg, extra) }
  }

  const vjp = (u: Float64Array): { readonly v: Float64Array; readonly gw: Float64Array; readonly gt: number; readonly stats: SolveStats } => {
    const gw = f64(n)
    let gt = 0
    let extra = 0
    if (face.constraint === 'point') {
      const empty = f64(0)
      return { v: empty, gw, gt, stats: record({ z: empty, r: empty, iterations: 0, residual: 0, stop: 'empty' }, 0) }
    }
    const uF = f64(m)
    for (let k = 0; k < m; k++) uF[k] = u[F[k]!]!
    const cg = pcg(sys, uF, tol, maxIt)
    const v = cg.z
    const mu = a === undefined ? 0 : dot(a, cg.r) / aa
    if (set === 'l1' && a !== undefined) {
      for (let k = 0; k < m; k++) {
        const i = F[k]!
        gw[i] = -sig[i]! * (lambda * v[k]! + mu * xs[i]!)
      }
      gt = mu
    } else if (set === 'simplex' && a !== undefined) gt = mu
    else if (l2) gt = mu * xnorm
    else if (set === 'linf' && face.fixed.length > 0) {
      let pv: Float64Array | undefined
      if (m > 0 && v.some((vi) => vi !== 0)) {
        const vf = f64(n)
        for (let k = 0; k < m; k++) vf[F[k]!] = v[k]!
        pv = Hfull(vf)
        extra++
      }
      for (const i of face.fixed) gt += sig[i]! * (u[i]! - (pv === undefined ? 0 : pv[i]!))
    }
    return { v, gw, gt, stats: record(cg, extra) }
  }

  const stats: ImplicitStats = {
    get matvecs() { return matvecs },
    get cgIterations() { return cgIterations },
    get residual() { return lastResidual },
    get solves() { return solves }
  }
  return { jvp, vjp, stats }
}
