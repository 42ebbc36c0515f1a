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

/** D = Uᵀ Z V (l × l) for Z rows × cols, U rows × l, V cols × l (row-major). */
const innerBlock = (pr: NuclearProjection, z: Float64Array): Float64Array => {
  const { rows, cols, U, V } = pr, l = pr.sigma.length
  const ZV = new Float64Array(rows * l)
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const zij = z[i * cols + j]!
      if (zij === 0) continue
      for (let b = 0; b < l; b++) ZV[i * l + b] = ZV[i * l + b]! + zij * V[j * l + b]!
    }
  }
  const D = new Float64Array(l * l)
  for (let i = 0; i < rows; i++) for (let a = 0; a < l; a++) {
    const u = U[i * l + a]!
    if (u === 0) continue
    for (let b = 0; b < l; b++) D[a * l + b] = D[a * l + b]! + u * ZV[i * l + b]!
  }
  return D
}

/**
 * The derivative of the projection at Y along (dY, dt): dΠ (rows × cols, row-major), by
 * the closed form of the module notes.
 *
 * @example
 * const pr = projectNuclear(y, m, p, t)
 * projectionJvp(pr, dy, 0) // dΠ along dY
 * projectionJvp(pr, new Float64Array(m * p), 1) // ∂Π/∂t
 */
export const projectionJvp = (pr: NuclearProjection, dy: Float64Array, dt: number): Float64Array => {
  const { rows, cols, U, V, sigma: s, projected: f, tau } = pr, l = s.length
  if (pr.inside) return Float64Array.from(dy)
  const act = (i: number): boolean => s[i]! > tau
  const D = innerBlock(pr, dy)
  let trA = 0
  for (let i = 0; i < l; i++) if (act(i)) trA += D[i * l + i]!
  const dtau = pr.active > 0 ? (trA - dt) / pr.active : 0
  const E = new Float64Array(l * l)
  for (let i = 0; i < l; i++) {
    E[i * l + i] = act(i) ? D[i * l + i]! - dtau : 0
    for (let j = 0; j < l; j++) {
      if (i === j) continue
      const ai = act(i), aj = act(j)
      const sym = ai && aj ? 1 : !ai && !aj ? 0 : (f[i]! - f[j]!) / (s[i]! - s[j]!)
      const sum = s[i]! + s[j]!
      const skew = sum > 0 ? (f[i]! + f[j]!) / sum : 0
      const dij = D[i * l + j]!, dji = D[j * l + i]!
      E[i * l + j] = 0.5 * sym * (dij + dji) + 0.5 * skew * (dij - dji)
    }
  }
  const ratio = new Float64Array(l)
  for (let i = 0; i < l; i++) ratio[i] = act(i) && s[i]! > 0 ? f[i]! / s[i]! : 0
  // dΠ = U E Vᵀ + (I − UUᵀ) dY V R Vᵀ + U R Uᵀ dY (I − VVᵀ) with R = diag(ratio)
  //    = U (E − D R − R D) Vᵀ + Y1 Vᵀ + U Y2,  Y1 = dY V R,  Y2 = R Uᵀ dY
  const out = new Float64Array(rows * cols)
  // Y1 = dY V diag(ratio) (rows × l), Y2 = diag(ratio) Uᵀ dY (l × cols)
  const Y1 = new Float64Array(rows * l), Y2 = new Float64Array(l * cols)
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const z = dy[i * cols + j]!
      if (z === 0) continue
      for (let b = 0; b < l; b++) {
        Y1[i * l + b] = Y1[i * l + b]! + z * V[j * l + b]! * ratio[b]!
        Y2[b * cols + j] = Y2[b * cols + j]! + ratio[b]! * U[i * l + b]! * z
      }
    }
  }
  // the core C = E − D R − R D: Uᵀ Y1 = D R and Y2 V = R D are what the projections remove
  const C = new Float64Array(l * l)
  for (let a = 0; a < l; a++) for (let b = 0; b < l; b++) {
    C[a * l + b] = E[a * l + b]! - D[a * l + b]! * ratio[b]! - ratio[a]! * D[a * l + b]!
  }
  for (let i = 0; i < rows; i++) {
    const r = i * cols
    for (let b = 0; b < l; b++) {
      let w = Y1[i * l + b]!
      for (let a = 0; a < l; a++) w += U[i * l + a]! * C[a * l + b]!
      if (w !== 0) for (let j = 0; j < cols; j++) out[r + j] = out[r + j]! + w * V[j * l + b]!
    }
    for (let a = 0; a < l; a++) {
      const u = U[i * l + a]!
      if (u === 0) continue
      for (let j = 0; j < cols; j++) out[r + j] = out[r + j]! + u * Y2[a * cols + j]!
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
  const D = innerBlock(pr, ct), l = pr.sigma.length
  let s = 0
  for (let i = 0; i < l; i++) if (pr.sigma[i]! > pr.tau) s += D[i * l + i]!
  return { y: projectionJvp(pr, ct, 0), t: pr.active > 0 ? s / pr.active : 0 }
}
