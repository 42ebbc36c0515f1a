/**
 * The nuclear-norm ball's solution near a rank-r point, on the manifold of rank-r matrices:
 * the tangent space, the Hessian of the Lagrangian with the curvature the manifold adds, its
 * bordered (KKT) system, the retraction, and the Newton polish that uses them. The same
 * system is the implicit derivative's (`Derivative.ts`), so the polish and the derivative
 * solve one linear map. docs/nuclear.md derives all of it.
 *
 * A point is X = U Σ Vᵀ (U rows × r, V cols × r orthonormal, Σ = diag(σ), σ > 0, Σσ = t)
 * with the gradient G = mat(P x + q) and the ball's multiplier λ. A tangent vector is
 * ξ = U M Vᵀ + U_p Vᵀ + U V_pᵀ with Uᵀ U_p = 0 and Vᵀ V_p = 0; its coordinates
 * (M, U_p, V_p) are isometric (⟨ξ, ξ'⟩ = ⟨M, M'⟩ + ⟨U_p, U_p'⟩ + ⟨V_p, V_p'⟩). They are
 * stored as one array of d = r² + r·rows + r·cols numbers: M row-major, then the r columns
 * of U_p, then those of V_p. The projection P̂ onto the tangent coordinates removes U's part
 * from U_p and V's from V_p.
 *
 * The Hessian on the tangent space, with N = (I − UUᵀ) G (I − VVᵀ) the gradient's normal
 * part (N = λW at a solution):
 *
 *     H ξ = P̂ Bᵀ P B ξ + (λ 𝒜(M), (λ U_p + N V_p) Σ⁻¹, (λ V_p + Nᵀ U_p) Σ⁻¹),
 *     𝒜(M)ₐᵦ = (Mₐᵦ − Mᵦₐ)/(σₐ + σᵦ),
 *
 * with B the map from coordinates to vec(ξ). The first curvature term is the derivative of
 * the polar factor UVᵀ along ξ, the second (with N) the manifold's Weingarten map. The
 * bordered system adds the sphere's row ⟨UVᵀ, ξ⟩ = tr M:
 *
 *     [H      I_M] [ξ ]   [b]
 *     [I_Mᵀ   0  ] [δλ] = [c].
 *
 * On the ambient coordinates (U_p, V_p unconstrained) the solver works with
 * P̂ H P̂ + c₀(I − P̂), c₀ > 0, positive definite when H is on the tangent space; a
 * right-hand side in the tangent coordinates then has a solution in them.
 *
 * Solvers (`core/Kkt.ts`): a dense Cholesky of the assembled d × d matrix when d ≤ 500 and
 * the assembly costs at most 3e8 flops (d products), else projected preconditioned CG with
 * the Jacobi preconditioner of {@link tangentDiagonal}, to a backward error of `tolerance`
 * (default 1e-12).
 *
 * @since 0.1.0
 */
import { applyInto } from '../../core/LinearOperator.js'
import { svd, eigSym } from '../../core/Eigen.js'
import { type KktSolver, kktSolver } from '../../core/Kkt.js'
import type { NuclearProblem } from './Reduced.js'
import {
  type Cols, assembleInto, bothProducts, scaled, diagSandwich, dot, dotAt, norm2, pickCols, projectOut, rowMajor, thinQr, timesCols, timesSmall
} from './internal.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A rank-r point with its gradient and multiplier.
 *
 * @example
 * const pt = manifoldPoint(pb, U, V, sigma)
 * pt.lambda // the least-squares multiplier −tr(Uᵀ G V)/r
 */
export interface ManifoldPoint {
  readonly r: number
  readonly U: Cols
  readonly V: Cols
  /** σ, descending and positive. */
  readonly s: Float64Array
  readonly x: Float64Array
  readonly px: Float64Array
  readonly g: Float64Array
  readonly lambda: number
}

/**
 * The factored bordered system at a point: `solve(b, c)` returns the tangent coordinates
 * ξ and δλ, with the backward error of the solve.
 *
 * @example
 * const sys = tangentSystem(pb, pt)
 * const { xi, nu } = sys.solve(rhs, dt)
 */
export interface TangentSystem {
  readonly d: number
  readonly method: 'cholesky' | 'pcg'
  /** The dense factor's nullity (0 for PCG, which does not examine it). */
  readonly nullity: number
  /** A unit direction in the tangent coordinates of negative curvature, when the matrix is indefinite. */
  readonly negative?: Float64Array
  readonly solve: (b: Float64Array, c: number) => { readonly xi: Float64Array; readonly nu: number; readonly residual: number }
}

/**
 * Options of {@link tangentSystem}: PCG's backward-error tolerance (default 1e-12), and a
 * forced method.
 *
 * @example
 * tangentSystem(pb, pt, { tolerance: 1e-10 })
 */
export interface SystemOptions {
  readonly tolerance?: number
  readonly method?: 'cholesky' | 'pcg'
}

// -------------------------------------------------------------------------------------
// points
// -------------------------------------------------------------------------------------

const gradientInto = (pb: NuclearProblem, x: Float64Array, px: Float64Array, g: Float64Array): void => {
  applyInto(pb.P, x, px)
  for (let i = 0; i < pb.n; i++) g[i] = px[i]! + pb.q[i]!
}

/**
 * The point U diag(σ) Vᵀ with its gradient and the least-squares multiplier
 * λ = −tr(Uᵀ G V)/r (or the given one).
 *
 * @example
 * manifoldPoint(pb, U, V, Float64Array.of(0.7, 0.3))
 */
export const manifoldPoint = (pb: NuclearProblem, U: Cols, V: Cols, s: Float64Array, lambda?: number): ManifoldPoint => {
  const x = new Float64Array(pb.n), px = new Float64Array(pb.n), g = new Float64Array(pb.n)
  assembleInto(U, s, V, true, x)
  gradientInto(pb, x, px, g)
  const r = s.length
  let lam = lambda
  if (lam === undefined) {
    const GV = timesCols(g, pb.rows, pb.cols, V)
    let tr = 0
    for (let a = 0; a < r; a++) tr += dotAt(U.data, a * pb.rows, GV.data, a * pb.rows, pb.rows)
    lam = r > 0 ? -tr / r : 0
  }
  return { r, U, V, s, x, px, g, lambda: lam }
}

/**
 * The Riemannian gradient of the Lagrangian f + λ(‖X‖_* − t) at the point, in tangent
 * coordinates: (UᵀGV + λI, (I − UUᵀ)GV, (I − VVᵀ)GᵀU).
 *
 * @example
 * norm(tangentResidual(pb, pt)) // 0 at a KKT point of rank r
 */
export const tangentResidual = (pb: NuclearProblem, pt: ManifoldPoint): Float64Array => {
  const m = pb.rows, p = pb.cols, r = pt.r
  const { YB: GV, YtA: GtU } = bothProducts(pt.g, m, p, pt.U, pt.V)
  const out = new Float64Array(r * r + r * (m + p))
  for (let a = 0; a < r; a++) for (let b = 0; b < r; b++) out[a * r + b] = dotAt(pt.U.data, a * m, GV.data, b * m, m) + (a === b ? pt.lambda : 0)
  out.set(projectOut(GV, pt.U).data, r * r)
  out.set(projectOut(GtU, pt.V).data, r * r + r * m)
  return out
}

/**
 * The rounding floor of {@link tangentResidual}'s norm: 16ε·‖(|P|·|x|∞ + |q|)‖₂ from the
 * row sums `pAbs` (an upper bound of the error of each entry of G, times a safety factor).
 *
 * @example
 * residualFloor(pb, pt, rowAbsSums(theta))
 */
export const residualFloor = (pb: NuclearProblem, pt: ManifoldPoint, pAbs: Float64Array): number => {
  let xm = 0
  for (let i = 0; i < pb.n; i++) xm = Math.max(xm, Math.abs(pt.x[i]!))
  let s = 0
  for (let i = 0; i < pb.n; i++) { const e = pAbs[i]! * xm + Math.abs(pb.q[i]!); s += e * e }
  return 16 * Number.EPSILON * Math.sqrt(s)
}

// -------------------------------------------------------------------------------------
// coordinates
// -------------------------------------------------------------------------------------

/**
 * vec(U M Vᵀ + U_p Vᵀ + U V_pᵀ) for tangent coordinates ξ.
 *
 * @example
 * toAmbient(pb, pt, xi) // a rows·cols vector
 */
export const toAmbient = (pb: NuclearProblem, pt: ManifoldPoint, xi: Float64Array): Float64Array => {
  const m = pb.rows, p = pb.cols, r = pt.r
  const W = wOf(pb, pt, xi)
  const Ur = rowMajor(pt.U), Upr = rowMajor({ len: m, k: r, data: xi.subarray(r * r, r * r + r * m) })
  const Wr = rowMajor(W), Vr = rowMajor(pt.V)
  const out = new Float64Array(m * p)
  for (let i = 0; i < m; i++) {
    const row = i * p, oi = i * r
    for (let j = 0; j < p; j++) {
      const oj = j * r
      let s = 0
      for (let a = 0; a < r; a++) s += Ur[oi + a]! * Wr[oj + a]! + Upr[oi + a]! * Vr[oj + a]!
      out[row + j] = s
    }
  }
  return out
}

/** W = V Mᵀ + V_p (cols × r, as columns): column a is Σ_b M_ab v_b + vp_a, so that B ξ = U Wᵀ + U_p Vᵀ. */
const wOf = (pb: NuclearProblem, pt: ManifoldPoint, xi: Float64Array): Cols => {
  const m = pb.rows, p = pb.cols, r = pt.r, V = pt.V.data, oV = r * r + r * m
  const W = new Float64Array(r * p)
  for (let a = 0; a < r; a++) {
    const o = a * p
    for (let j = 0; j < p; j++) W[o + j] = xi[oV + o + j]!
    for (let b = 0; b < r; b++) {
      const c = xi[a * r + b]!
      if (c === 0) continue
      for (let j = 0; j < p; j++) W[o + j] = W[o + j]! + c * V[b * p + j]!
    }
  }
  return { len: p, k: r, data: W }
}

/**
 * Bᵀ y = (Uᵀ Y V, Y V, Yᵀ U) for a rows·cols vector y (not projected).
 *
 * @example
 * fromAmbient(pb, pt, y)
 */
export const fromAmbient = (pb: NuclearProblem, pt: ManifoldPoint, y: Float64Array): Float64Array => {
  const { YB: YV, YtA: YtU } = bothProducts(y, pb.rows, pb.cols, pt.U, pt.V)
  return coordinates(pb, pt, YV, YtU)
}

/** The coordinates (Uᵀ YV, YV, YtU) from the products Y V and Yᵀ U. */
const coordinates = (pb: NuclearProblem, pt: ManifoldPoint, YV: Cols, YtU: Cols): Float64Array => {
  const m = pb.rows, p = pb.cols, r = pt.r
  const out = new Float64Array(r * r + r * (m + p))
  for (let a = 0; a < r; a++) for (let b = 0; b < r; b++) out[a * r + b] = dotAt(pt.U.data, a * m, YV.data, b * m, m)
  out.set(YV.data, r * r)
  out.set(YtU.data, r * r + r * m)
  return out
}

/**
 * P̂ ξ: the tangent part of ambient coordinates (U's part out of U_p, V's out of V_p).
 *
 * @example
 * projectTangent(pb, pt, xi)
 */
export const projectTangent = (pb: NuclearProblem, pt: ManifoldPoint, xi: Float64Array): Float64Array => {
  const m = pb.rows, p = pb.cols, r = pt.r
  const out = Float64Array.from(xi)
  const Up = projectOut({ len: m, k: r, data: xi.subarray(r * r, r * r + r * m) }, pt.U)
  const Vp = projectOut({ len: p, k: r, data: xi.subarray(r * r + r * m) }, pt.V)
  out.set(Up.data, r * r)
  out.set(Vp.data, r * r + r * m)
  return out
}

/**
 * The curvature terms of the Hessian (see the module notes) at tangent coordinates ξ.
 *
 * @example
 * curvature(pb, pt, projectTangent(pb, pt, xi))
 */
export const curvature = (pb: NuclearProblem, pt: ManifoldPoint, xi: Float64Array): Float64Array => {
  const m = pb.rows, p = pb.cols, r = pt.r, s = pt.s, lam = pt.lambda
  const oU = r * r, oV = r * r + r * m
  const out = new Float64Array(xi.length)
  for (let a = 0; a < r; a++) for (let b = 0; b < r; b++) {
    if (a === b) continue
    out[a * r + b] = lam * (xi[a * r + b]! - xi[b * r + a]!) / (s[a]! + s[b]!)
  }
  const Up: Cols = { len: m, k: r, data: xi.subarray(oU, oV) }
  const Vp: Cols = { len: p, k: r, data: xi.subarray(oV) }
  const both = bothProducts(pt.g, m, p, Up, Vp)
  const NVp = projectOut(both.YB, pt.U), NtUp = projectOut(both.YtA, pt.V)
  for (let a = 0; a < r; a++) {
    const inv = 1 / s[a]!
    for (let i = 0; i < m; i++) out[oU + a * m + i] = (lam * Up.data[a * m + i]! + NVp.data[a * m + i]!) * inv
    for (let j = 0; j < p; j++) out[oV + a * p + j] = (lam * Vp.data[a * p + j]! + NtUp.data[a * p + j]!) * inv
  }
  return out
}

/**
 * The tangent Hessian's product on tangent coordinates (already projected): P̂BᵀPBξ plus
 * the curvature. For P = c·I the first term is cξ; for a diagonal part of P it is one pass
 * over P's diagonal (`diagSandwich`), plus (BᵀZ)(BᵀZ)ᵀξ for a low-rank part Z Zᵀ; for a
 * dense or sparse P, a product with P between `toAmbient` and `fromAmbient`.
 *
 * @example
 * hessianTimes(pb, pt, projectTangent(pb, pt, xi))
 */
export const hessianTimes = (pb: NuclearProblem, pt: ManifoldPoint, xh: Float64Array): Float64Array => tangentOperator(pb, pt)(xh)

/** {@link hessianTimes} at a point, with what it reuses across products (the low-rank part's coordinates). */
const tangentOperator = (pb: NuclearProblem, pt: ManifoldPoint): ((xh: Float64Array) => Float64Array) => {
  const m = pb.rows, p = pb.cols, r = pt.r, P = pb.P
  let lowRankCoords: Float64Array[] | undefined
  if (pb.scalar === undefined && pb.diag !== undefined && P.kind === 'lowRank' && P.rank > 0) {
    lowRankCoords = []
    const z = new Float64Array(pb.n)
    for (let l = 0; l < P.rank; l++) {
      for (let i = 0; i < pb.n; i++) z[i] = P.U[i * P.rank + l]!
      lowRankCoords.push(projectTangent(pb, pt, fromAmbient(pb, pt, z)))
    }
  }
  return (xh) => {
    const out = curvature(pb, pt, xh)
    if (pb.scalar !== undefined) {
      for (let i = 0; i < out.length; i++) out[i] = out[i]! + pb.scalar * xh[i]!
      return out
    }
    let back: Float64Array
    if (pb.diag !== undefined) {
      const Up: Cols = { len: m, k: r, data: xh.subarray(r * r, r * r + r * m) }
      const { YB, YtA } = diagSandwich(pb.diag, m, p, pt.U, wOf(pb, pt, xh), Up, pt.V, pt.U)
      back = projectTangent(pb, pt, coordinates(pb, pt, YB, YtA))
      if (lowRankCoords !== undefined) {
        for (const c of lowRankCoords) {
          const w = dot(c, xh)
          for (let i = 0; i < back.length; i++) back[i] = back[i]! + w * c[i]!
        }
      }
    } else {
      const z = toAmbient(pb, pt, xh), pz = new Float64Array(pb.n)
      applyInto(P, z, pz)
      back = projectTangent(pb, pt, fromAmbient(pb, pt, pz))
    }
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + back[i]!
    return out
  }
}

/**
 * An approximation of the diagonal of the ambient matrix P̂HP̂ + c₀(I − P̂) in coordinates,
 * from P's diagonal and the curvature's (λ/(σₐ + σᵦ) on the skew pairs of M, λ/σₐ on column a
 * of U_p and V_p), mixed with c₀ by how much of each coordinate the projection removes: the
 * Jacobi preconditioner of PCG and the scale c₀ (its largest entry).
 *
 * @example
 * const { diag, c0 } = tangentDiagonal(pb, pt)
 */
export const tangentDiagonal = (pb: NuclearProblem, pt: ManifoldPoint): { readonly diag: Float64Array; readonly c0: number } => {
  const m = pb.rows, p = pb.cols, r = pt.r, U = pt.U.data, V = pt.V.data, D = pb.pDiag, s = pt.s, lam = pt.lambda
  const d = r * r + r * (m + p), oU = r * r, oV = r * r + r * m
  const out = new Float64Array(d)
  const y = new Float64Array(p)
  for (let a = 0; a < r; a++) {
    // Σ_ij D_ij U_ia² V_jb² and Σ_j D_ij V_ja² (U_p) and Σ_i D_ij U_ia² (V_p)
    y.fill(0)
    for (let i = 0; i < m; i++) {
      const w = U[a * m + i]! ** 2
      let su = 0
      const row = i * p
      for (let j = 0; j < p; j++) { const dij = D[row + j]!; y[j] = y[j]! + w * dij; su += dij * V[a * p + j]! ** 2 }
      out[oU + a * m + i] = su + lam / s[a]!
    }
    for (let j = 0; j < p; j++) out[oV + a * p + j] = y[j]! + lam / s[a]!
    for (let b = 0; b < r; b++) {
      let sm = 0
      for (let j = 0; j < p; j++) sm += y[j]! * V[b * p + j]! ** 2
      out[a * r + b] = sm + (a === b ? 0 : lam / (s[a]! + s[b]!))
    }
  }
  let c0 = 0
  for (let i = 0; i < d; i++) c0 = Math.max(c0, out[i]!)
  if (!(c0 > 0)) c0 = 1
  // the share of each ambient coordinate the projection removes: (UUᵀ)ᵢᵢ, (VVᵀ)ⱼⱼ
  for (let i = 0; i < m; i++) {
    let h = 0
    for (let a = 0; a < r; a++) h += U[a * m + i]! ** 2
    for (let a = 0; a < r; a++) out[oU + a * m + i] = (1 - h) * out[oU + a * m + i]! + h * c0
  }
  for (let j = 0; j < p; j++) {
    let h = 0
    for (let a = 0; a < r; a++) h += V[a * p + j]! ** 2
    for (let a = 0; a < r; a++) out[oV + a * p + j] = (1 - h) * out[oV + a * p + j]! + h * c0
  }
  return { diag: out, c0 }
}

/** The flops of one product with the ambient matrix, roughly: the G and basis products, and P's. */
const productCost = (pb: NuclearProblem, r: number): number => {
  const P = pb.P, n = pb.n
  const pc = pb.scalar !== undefined ? 0 : P.kind === 'dense' ? n * n : P.kind === 'lowRank' ? n * (P.rank + 1) : P.values.length
  return 8 * n * r + pc
}

/**
 * The bordered system at a point (see the module notes), factored once: dense Cholesky when
 * small, else PCG.
 *
 * @example
 * const sys = tangentSystem(pb, pt)
 * sys.solve(fromAmbient(pb, pt, e), dt) // ξ, δλ
 */
export const tangentSystem = (pb: NuclearProblem, pt: ManifoldPoint, options: SystemOptions = {}): TangentSystem => {
  const r = pt.r, m = pb.rows, p = pb.cols, d = r * r + r * (m + p)
  const { diag, c0 } = tangentDiagonal(pb, pt)
  const H = tangentOperator(pb, pt)
  const apply = (xi: Float64Array, out: Float64Array): void => {
    const xh = projectTangent(pb, pt, xi)
    const h = H(xh)
    const hp = projectTangent(pb, pt, h)
    for (let i = 0; i < d; i++) out[i] = hp[i]! + c0 * (xi[i]! - xh[i]!)
  }
  const trace = new Float64Array(d)
  for (let a = 0; a < r; a++) trace[a * r + a] = 1
  const dense = options.method === 'cholesky' || (options.method === undefined && d <= 500 && d * productCost(pb, r) <= 3e8)
  let solver: KktSolver
  if (dense) {
    const A = new Float64Array(d * d), e = new Float64Array(d), o = new Float64Array(d)
    for (let k = 0; k < d; k++) {
      e.fill(0)
      e[k] = 1
      apply(e, o)
      for (let i = 0; i < d; i++) A[i * d + k] = o[i]!
    }
    for (let i = 0; i < d; i++) for (let k = i + 1; k < d; k++) {
      const v = 0.5 * (A[i * d + k]! + A[k * d + i]!)
      A[i * d + k] = v
      A[k * d + i] = v
    }
    solver = kktSolver({ H: { kind: 'dense', m: d, H: A }, E: { k: 1, rows: trace } })
  } else {
    solver = kktSolver({ H: { kind: 'operator', m: d, apply, diag }, E: { k: 1, rows: trace } }, { tolerance: options.tolerance ?? 1e-12 })
  }
  const neg = solver.info.negative
  return {
    d,
    method: dense ? 'cholesky' : 'pcg',
    nullity: dense ? solver.info.nullity : 0,
    ...(neg === undefined ? {} : { negative: neg.direction }),
    solve: (b, c) => {
      const sol = solver.solve(b, Float64Array.of(c))
      return { xi: projectTangent(pb, pt, sol.x), nu: sol.nu[0]!, residual: sol.residual }
    }
  }
}

// -------------------------------------------------------------------------------------
// the retraction
// -------------------------------------------------------------------------------------

/**
 * The rank-r point nearest X + ξ (the truncated SVD of U(Σ + M)Vᵀ + U_pVᵀ + UV_pᵀ, from a
 * 2r × 2r core), its singular values rescaled to sum to t.
 *
 * @example
 * const { U, V, s } = retract(pb, pt, xi)
 */
export const retract = (pb: NuclearProblem, pt: ManifoldPoint, xi: Float64Array): { readonly U: Cols; readonly V: Cols; readonly s: Float64Array } => {
  const m = pb.rows, p = pb.cols, r = pt.r
  const Up: Cols = { len: m, k: r, data: xi.slice(r * r, r * r + r * m) }
  const Vp: Cols = { len: p, k: r, data: xi.slice(r * r + r * m) }
  const qu = thinQr(projectOut(Up, pt.U), 1e-14), qv = thinQr(projectOut(Vp, pt.V), 1e-14)
  const k = 2 * r, C = new Float64Array(k * k)
  for (let a = 0; a < r; a++) {
    for (let b = 0; b < r; b++) {
      C[a * k + b] = (a === b ? pt.s[a]! : 0) + xi[a * r + b]!
      C[a * k + r + b] = qv.R[b * r + a]! // Rᵥᵀ
      C[(r + a) * k + b] = qu.R[a * r + b]! // Rᵤ
    }
  }
  const sv = svd(C, k, k)
  const A = new Float64Array(k * r), Bm = new Float64Array(k * r)
  for (let i = 0; i < k; i++) for (let a = 0; a < r; a++) { A[i * r + a] = sv.U[i * k + a]!; Bm[i * r + a] = sv.V[i * k + a]! }
  const bigU: Cols = { len: m, k, data: concat(pt.U.data, qu.Q.data) }
  const bigV: Cols = { len: p, k, data: concat(pt.V.data, qv.Q.data) }
  const s = sv.s.slice(0, r)
  let total = 0
  for (let a = 0; a < r; a++) total += s[a]!
  for (let a = 0; a < r; a++) s[a] = total > 0 ? s[a]! * (pb.t / total) : pb.t / r
  return { U: timesSmall(bigU, A, r), V: timesSmall(bigV, Bm, r), s }
}

const concat = (a: Float64Array, b: Float64Array): Float64Array => {
  const o = new Float64Array(a.length + b.length)
  o.set(a)
  o.set(b, a.length)
  return o
}

/**
 * The point without its triplet a (rank r − 1), the remaining singular values rescaled to
 * sum to t.
 *
 * @example
 * dropTriplet(pb, pt, pt.r - 1) // without the smallest singular value
 */
export const dropTriplet = (pb: NuclearProblem, pt: ManifoldPoint, a: number): { readonly U: Cols; readonly V: Cols; readonly s: Float64Array } => {
  const keep: number[] = []
  for (let b = 0; b < pt.r; b++) if (b !== a) keep.push(b)
  const s = Float64Array.from(keep, (b) => pt.s[b]!)
  let total = 0
  for (const v of s) total += v
  for (let b = 0; b < s.length; b++) s[b] = total > 0 ? s[b]! * (pb.t / total) : pb.t / s.length
  return { U: pickCols(pt.U, keep), V: pickCols(pt.V, keep), s }
}

// -------------------------------------------------------------------------------------
// the Newton polish
// -------------------------------------------------------------------------------------

/**
 * How the polish ended: `converged` (the residual reached its rounding floor, or stopped
 * falling there), `stalled` (no step lowered it), `indefinite` (the system lost positive
 * definiteness: the rank is too low, or the point too far), `interior` (λ ≤ 0: the ball
 * does not bind at this rank).
 *
 * @example
 * if (out.reason === 'converged') certify(out.point)
 */
export type PolishReason = 'converged' | 'stalled' | 'indefinite' | 'interior'

/**
 * The polish's result: the best point reached (least residual), its residual, the Newton
 * steps, why it stopped, and the direction (in x) of negative curvature it met, if any.
 *
 * @example
 * const out = newtonPolish(pb, U, V, s, pAbs)
 */
export interface PolishOutcome {
  readonly point: ManifoldPoint
  readonly residual: number
  readonly iterations: number
  readonly reason: PolishReason
  readonly negative?: { readonly direction: Float64Array; readonly curvature: number }
}

const normOf = (v: Float64Array): number => norm2(v, 0, v.length)

/**
 * Newton's method on the rank-r manifold intersected with the sphere ‖X‖_* = t, from
 * U diag(σ) Vᵀ: each step solves the bordered system for −(the tangent residual), retracts,
 * and takes λ as the least-squares multiplier; a step that does not lower the residual is
 * halved (three times at most). On the PCG path the solve is inexact (a backward error of
 * 1e-2·ρ/(λ√r), within [1e-13, 1e-3]), which keeps the convergence superlinear. A step that would push an eigenvalue of Σ + sym(M) to ≤ 0
 * drops the smallest singular triplet (the face's S ⪰ 0 becomes active: the rank is lower);
 * with `keepRank` it is cut instead to 0.9 of the way to that boundary (the largest α with
 * Σ + α·sym(M) ⪰ 0), and the rank stays r. It converges quadratically near a strictly
 * complementary solution of rank r.
 *
 * @example
 * const out = newtonPolish(pb, U, V, sigma, pAbs, 30)
 * out.reason // 'converged'
 * newtonPolish(pb, U, V, sigma, pAbs, 30, true) // damped steps at rank r, no triplet dropped
 */
export const newtonPolish = (
  pb: NuclearProblem, U0: Cols, V0: Cols, s0: Float64Array, pAbs: Float64Array, maxIterations = 30, keepRank = false
): PolishOutcome => {
  let total = 0
  for (const v of s0) total += v
  let pt = manifoldPoint(pb, U0, V0, Float64Array.from(s0, (v) => (total > 0 ? v * (pb.t / total) : v)))
  let rho = normOf(tangentResidual(pb, pt))
  let best = pt, bestRho = rho, it = 0
  const done = (reason: PolishReason, negative?: PolishOutcome['negative']): PolishOutcome =>
    ({ point: best, residual: bestRho, iterations: it, reason, ...(negative === undefined ? {} : { negative }) })
  while (it < maxIterations) {
    if (!(pt.lambda > 0)) return done('interior')
    const floor = residualFloor(pb, pt, pAbs)
    if (rho <= floor) return done('converged')
    it++
    // inexact Newton: PCG to a backward error of 1e-2·ρ/(λ√r), between 1e-13 and 1e-3
    const sys = tangentSystem(pb, pt, { tolerance: Math.min(1e-3, Math.max(1e-13, 1e-2 * rho / (pt.lambda * Math.sqrt(pt.r)))) })
    if (sys.negative !== undefined) {
      const d = toAmbient(pb, pt, sys.negative), nd = normOf(d)
      if (nd > 0) {
        for (let i = 0; i < d.length; i++) d[i] = d[i]! / nd
        const pd = new Float64Array(pb.n)
        applyInto(pb.P, d, pd)
        const curv = dot(d, pd)
        if (curv < 0) return done('indefinite', { direction: d, curvature: curv })
      }
      return done('indefinite')
    }
    const R = tangentResidual(pb, pt)
    for (let i = 0; i < R.length; i++) R[i] = -R[i]!
    const { xi } = sys.solve(R, 0)
    // the face's S ⪰ 0: an eigenvalue of Σ + sym(M) at or below 0 means a lower rank
    const r = pt.r
    let first = 1
    if (r > 1) {
      const S = new Float64Array(r * r)
      for (let a = 0; a < r; a++) for (let b = 0; b < r; b++) S[a * r + b] = (a === b ? pt.s[a]! : 0) + 0.5 * (xi[a * r + b]! + xi[b * r + a]!)
      if (eigSym(S, r).values[0]! <= 0 && keepRank) {
        // the rank kept: the step cut to 0.9 of the way to the boundary Σ + α sym(M) ⪰ 0,
        // α* = 1 / λmax(−Σ^(−1/2) sym(M) Σ^(−1/2))
        const C = new Float64Array(r * r)
        for (let a = 0; a < r; a++) for (let b = 0; b < r; b++) C[a * r + b] = -0.5 * (xi[a * r + b]! + xi[b * r + a]!) / Math.sqrt(pt.s[a]! * pt.s[b]!)
        const top = eigSym(C, r).values[r - 1]!
        first = top > 0 ? Math.min(1, 0.9 / top) : 1
      } else if (eigSym(S, r).values[0]! <= 0) {
        const next = dropTriplet(pb, pt, r - 1)
        pt = manifoldPoint(pb, next.U, next.V, next.s)
        rho = normOf(tangentResidual(pb, pt))
        best = pt
        bestRho = rho
        continue
      }
    }
    let accepted = false
    let step = first
    for (let k = 0; k < 4 && !accepted; k++, step /= 2) {
      const trial = step === 1 ? xi : scaled(xi, step)
      const next = retract(pb, pt, trial)
      const cand = manifoldPoint(pb, next.U, next.V, next.s)
      const rc = normOf(tangentResidual(pb, cand))
      if (rc < rho) {
        const slow = rc > 0.25 * rho && rc <= 1e3 * floor
        pt = cand
        rho = rc
        accepted = true
        if (rc < bestRho) { best = cand; bestRho = rc }
        if (slow) return done('converged')
      }
    }
    if (!accepted) return done(bestRho <= 1e3 * residualFloor(pb, best, pAbs) ? 'converged' : 'stalled')
  }
  return done(bestRho <= 1e3 * residualFloor(pb, best, pAbs) ? 'converged' : 'stalled')
}
