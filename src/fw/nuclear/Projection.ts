/**
 * The Euclidean projection onto the nuclear-norm ball {X : ‖X‖_* ≤ t} by a full singular
 * value decomposition, and its derivative in closed form. It is what the layer avoids (a
 * full SVD costs O(rows·cols·min(rows, cols)) where the oracle needs a few products with
 * the gradient), and it is the reference the tests and the benchmark hold the layer to:
 * for P = c·I the layer's problem min ½c‖X‖² + ⟨Q, X⟩ is the projection of −Q/c.
 *
 * With Y = U diag(σ) Vᵀ (thin, σ descending), Π(Y) = U diag(f) Vᵀ with fᵢ = max(σᵢ − τ, 0)
 * and τ = 0 when Σσᵢ ≤ t, else the τ > 0 with Σ fᵢ = t (soft-thresholding of the singular
 * values). Its derivative at Y, with A = {i : σᵢ > τ} and D = Uᵀ dY V (the spectral-function
 * rule, e.g. Candès, Sing-Long and Trzasko, "Unbiased risk estimates for singular value
 * thresholding", 2013, plus the threshold's own derivative):
 *
 *     dΠ = U E Vᵀ + (I − UUᵀ) dY V diag(f/σ) Vᵀ + U diag(f/σ) Uᵀ dY (I − VVᵀ),
 *     Eᵢⱼ = ½ (fᵢ − fⱼ)/(σᵢ − σⱼ) (Dᵢⱼ + Dⱼᵢ) + ½ (fᵢ + fⱼ)/(σᵢ + σⱼ) (Dᵢⱼ − Dⱼᵢ)   (i ≠ j),
 *     Eᵢᵢ = [i ∈ A] (Dᵢᵢ − dτ),   dτ = (Σ_{k∈A} Dₖₖ − dt)/|A|,
 *
 * where (fᵢ − fⱼ)/(σᵢ − σⱼ) is 1 for i, j both in A and 0 for both outside (its limits), and
 * fᵢ/σᵢ is 0 outside A. Inside the ball (τ = 0 and Σσ < t) dΠ = dY. The map dY ↦ dΠ is
 * self-adjoint (a projection's Jacobian is), and its transpose in t is
 * ∂t = (1/|A|) Σ_{k∈A} (Uᵀ C V)ₖₖ, so one function serves the JVP and the VJP.
 *
 * @since 0.1.0
 */
import { svd } from '../../core/Eigen.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The projection of Y onto the nuclear-norm ball with the data of its derivative.
 *
 * @example
 * const pr = projectNuclear(y, 3, 2, 1)
 * pr.x        // Π(Y), row-major
 * pr.tau      // the threshold (0 inside the ball)
 * pr.active   // how many singular values stay positive
 */
export interface NuclearProjection {
  readonly rows: number
  readonly cols: number
  readonly t: number
  /** Π(Y), rows × cols row-major. */
  readonly x: Float64Array
  /** The singular values of Y, descending (min(rows, cols) of them). */
  readonly sigma: Float64Array
  /** The projected singular values max(σᵢ − τ, 0) (σ itself inside the ball). */
  readonly projected: Float64Array
  /** The threshold τ ≥ 0 (0 when Y is in the ball). */
  readonly tau: number
  /** |A|, the number of σᵢ > τ (every one inside the ball). */
  readonly active: number
  /** Whether Y lies inside the ball (Σσ ≤ t): then Π is the identity near Y. */
  readonly inside: boolean
  /** Y's thin left singular vectors: rows × min(rows, cols), row-major. */
  readonly U: Float64Array
  /** Y's thin right singular vectors: cols × min(rows, cols), row-major. */
  readonly V: Float64Array
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * The threshold τ ≥ 0 of the projection of σ ≥ 0 (descending) onto {s ≥ 0 : Σ s ≤ t}: 0
 * when Σσ ≤ t, else the τ with Σ max(σᵢ − τ, 0) = t; with the count of σᵢ > τ.
 *
 * @example
 * simplexThreshold(Float64Array.of(3, 1), 1) // { tau: 2, active: 1 }
 */
export const simplexThreshold = (sigma: Float64Array, t: number): { readonly tau: number; readonly active: number } => {
  const l = sigma.length
  let total = 0
  for (let i = 0; i < l; i++) total += sigma[i]!
  if (total <= t) {
    let a = 0
    for (let i = 0; i < l; i++) if (sigma[i]! > 0) a++
    return { tau: 0, active: a }
  }
  let s = 0, tau = 0, active = 0
  for (let k = 0; k < l; k++) {
    s += sigma[k]!
    const cand = (s - t) / (k + 1)
    if (sigma[k]! > cand) { tau = cand; active = k + 1 } else break
  }
  return { tau: Math.max(tau, 0), active }
}

/**
 * The projection of Y (rows × cols, row-major) onto {‖X‖_* ≤ t} by a full SVD
 * (`core/Eigen.ts`, one-sided Jacobi: O(rows·cols·min(rows, cols)) and accurate to
 * rounding relative to σ₁).
 *
 * @example
 * projectNuclear(Float64Array.of(3, 0, 0, 1), 2, 2, 1).x // [1, 0, 0, 0]
 */
export const projectNuclear = (y: Float64Array, rows: number, cols: number, t: number): NuclearProjection => {
  const { s, U, V } = svd(y, rows, cols)
  const l = s.length
  const { tau, active } = simplexThreshold(s, t)
  let total = 0
  for (let i = 0; i < l; i++) total += s[i]!
  const inside = total <= t
  const f = new Float64Array(l)
  for (let i = 0; i < l; i++) f[i] = inside ? s[i]! : Math.max(s[i]! - tau, 0)
  const x = new Float64Array(rows * cols)
  if (inside) x.set(y)
  else {
    for (let a = 0; a < l; a++) {
      const fa = f[a]!
      if (fa === 0) continue
      for (let i = 0; i < rows; i++) {
        const u = fa * U[i * l + a]!
        if (u === 0) continue
        const r = i * cols
        for (let j = 0; j < cols; j++) x[r + j] = x[r + j]! + u * V[j * l + a]!
      }
    }
  }
  return { rows, cols, t, x, sigma: s, projected: f, tau, active, inside, U, V }
}

// -------------------------------------------------------------------------------------
// the derivative
// -------------------------------------------------------------------------------------

/**
 * The products the derivative needs with the active vectors (the first a = |A| columns of
 * U and V): Z V_A (rows × a), Zᵀ U_A (cols × a), D[A, :] = U_Aᵀ Z V (a × l) and
 * D[:, A] = Uᵀ Z V_A (l × a), in O(rows·cols·a + (rows + cols)·l·a).
 */
const activeBlocks = (pr: NuclearProjection, z: Float64Array): { ZV: Float64Array; ZtU: Float64Array; Drow: Float64Array; Dcol: Float64Array } => {
  const { rows, cols, U, V } = pr, l = pr.sigma.length, a = pr.active
  const ZV = new Float64Array(rows * a), ZtU = new Float64Array(cols * a)
  for (let i = 0; i < rows; i++) {
    const ri = i * cols
    for (let j = 0; j < cols; j++) {
      const zij = z[ri + j]!
      if (zij === 0) continue
      for (let b = 0; b < a; b++) {
        ZV[i * a + b] = ZV[i * a + b]! + zij * V[j * l + b]!
        ZtU[j * a + b] = ZtU[j * a + b]! + zij * U[i * l + b]!
      }
    }
  }
  const Drow = new Float64Array(a * l), Dcol = new Float64Array(l * a)
  for (let j = 0; j < cols; j++) for (let c = 0; c < l; c++) {
    const v = V[j * l + c]!
    if (v === 0) continue
    for (let b = 0; b < a; b++) Drow[b * l + c] = Drow[b * l + c]! + ZtU[j * a + b]! * v
  }
  for (let i = 0; i < rows; i++) for (let c = 0; c < l; c++) {
    const u = U[i * l + c]!
    if (u === 0) continue
    for (let b = 0; b < a; b++) Dcol[c * a + b] = Dcol[c * a + b]! + u * ZV[i * a + b]!
  }
  return { ZV, ZtU, Drow, Dcol }
}

/**
 * The derivative of the projection at Y along (dY, dt): dΠ (rows × cols, row-major), by
 * the closed form of the module notes. Only the rows and columns of E in the active set A
 * are nonzero (the weights vanish for i, j both outside A, and f/σ outside A), so it costs
 * O(rows·cols·|A| + (rows + cols)·min(rows, cols)·|A|) given the SVD.
 *
 * @example
 * const pr = projectNuclear(y, m, p, t)
 * projectionJvp(pr, dy, 0) // dΠ along dY
 * projectionJvp(pr, new Float64Array(m * p), 1) // ∂Π/∂t
 */
export const projectionJvp = (pr: NuclearProjection, dy: Float64Array, dt: number): Float64Array => {
  const { rows, cols, U, V, sigma: s, projected: f } = pr, l = s.length, a = pr.active
  if (pr.inside) return Float64Array.from(dy)
  const out = new Float64Array(rows * cols)
  if (a === 0) return out
  const { ZV, ZtU, Drow, Dcol } = activeBlocks(pr, dy)
  let trA = 0
  for (let i = 0; i < a; i++) trA += Drow[i * l + i]!
  const dtau = (trA - dt) / a
  // E[A, :] (a × l) and E[:, A] for the rows outside A ((l − a) × a)
  const weights = (i: number, j: number): { sym: number; skew: number } => {
    const ai = i < a, aj = j < a
    const sym = ai && aj ? 1 : !ai && !aj ? 0 : (f[i]! - f[j]!) / (s[i]! - s[j]!)
    const sum = s[i]! + s[j]!
    return { sym, skew: sum > 0 ? (f[i]! + f[j]!) / sum : 0 }
  }
  const D = (i: number, j: number): number => (i < a ? Drow[i * l + j]! : Dcol[i * a + j]!) // defined for i < a or j < a
  const Erow = new Float64Array(a * l), Ecol = new Float64Array(l * a)
  for (let i = 0; i < a; i++) for (let j = 0; j < l; j++) {
    if (i === j) { Erow[i * l + j] = D(i, i) - dtau; continue }
    const { sym, skew } = weights(i, j)
    const dij = D(i, j), dji = D(j, i)
    Erow[i * l + j] = 0.5 * sym * (dij + dji) + 0.5 * skew * (dij - dji)
  }
  for (let i = a; i < l; i++) for (let j = 0; j < a; j++) {
    const { sym, skew } = weights(i, j)
    const dij = D(i, j), dji = D(j, i)
    Ecol[i * a + j] = 0.5 * sym * (dij + dji) + 0.5 * skew * (dij - dji)
  }
  // dΠ = U E Vᵀ + (I − UUᵀ) dY V_A R Vᵀ_A + U_A R U_Aᵀ dY (I − VVᵀ), R = diag(f/σ) on A
  //    = U_A (E[A, :] Vᵀ) + U[:, ∉A] E[∉A, A] V_Aᵀ + (ZV R − U (D[:, A] R)) V_Aᵀ + U_A (R ZtUᵀ − R D[A, :] Vᵀ)
  const ratio = new Float64Array(a)
  for (let b = 0; b < a; b++) ratio[b] = f[b]! / s[b]!
  // L (rows × a), the factor multiplying V_Aᵀ: U[:, ∉A] E[∉A, A] + ZV R − U D[:, A] R
  const Lf = new Float64Array(rows * a)
  // Rt (a × cols), the factor under U_A: E[A, :] Vᵀ + R ZtUᵀ − R D[A, :] Vᵀ
  const C = new Float64Array(a * l)
  for (let b = 0; b < a; b++) for (let c = 0; c < l; c++) C[b * l + c] = Erow[b * l + c]! - ratio[b]! * Drow[b * l + c]!
  for (let i = 0; i < rows; i++) {
    for (let b = 0; b < a; b++) {
      let v = ZV[i * a + b]! * ratio[b]!
      for (let c = 0; c < l; c++) {
        const u = U[i * l + c]!
        v -= u * Dcol[c * a + b]! * ratio[b]!
        if (c >= a) v += u * Ecol[c * a + b]!
      }
      Lf[i * a + b] = v
    }
  }
  const Rt = new Float64Array(a * cols)
  for (let j = 0; j < cols; j++) {
    for (let b = 0; b < a; b++) {
      let v = ratio[b]! * ZtU[j * a + b]!
      for (let c = 0; c < l; c++) v += C[b * l + c]! * V[j * l + c]!
      Rt[b * cols + j] = v
    }
  }
  for (let i = 0; i < rows; i++) {
    const r = i * cols
    for (let b = 0; b < a; b++) {
      const lb = Lf[i * a + b]!, ub = U[i * l + b]!
      for (let j = 0; j < cols; j++) out[r + j] = out[r + j]! + lb * V[j * l + b]! + ub * Rt[b * cols + j]!
    }
  }
  return out
}

/**
 * The transpose of {@link projectionJvp}: the cotangents of Y and t for a cotangent C of
 * Π(Y). dY ↦ dΠ is self-adjoint, so ∂Y is the JVP of C; ∂t = (1/|A|) Σ_{k∈A} (Uᵀ C V)ₖₖ.
 *
 * @example
 * const { y, t } = projectionVjp(pr, ct) // ⟨ct, dΠ⟩ = ⟨y, dY⟩ + t·dt
 */
export const projectionVjp = (pr: NuclearProjection, ct: Float64Array): { readonly y: Float64Array; readonly t: number } => {
  if (pr.inside) return { y: Float64Array.from(ct), t: 0 }
  const l = pr.sigma.length, a = pr.active
  let s = 0
  if (a > 0) {
    const { Drow } = activeBlocks(pr, ct)
    for (let i = 0; i < a; i++) s += Drow[i * l + i]!
  }
  return { y: projectionJvp(pr, ct, 0), t: a > 0 ? s / a : 0 }
}
