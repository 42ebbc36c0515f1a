/**
 * A fused implementation of PAPER.md's recipe on the weighted l1 ball, unrolled, with
 * its reverse pass written by hand: a prototype of what the layer's unrolled path costs
 * without the general `Diff` engine (one traced step per iteration, a closure per
 * primitive, a fresh vector per intermediate). Not part of the library: the bench times
 * it next to the layer and the peers, and checks that its gradient is the layer's.
 *
 * Forward, per iteration i (β = β₀·2^⌊i/30⌋, τ = t/w): g = P x + q, ĝ = τ ⊙ g,
 * a = β|ĝ|, e = softmax(a − max a), s = −τ ⊙ sign(ĝ) ⊙ e, d = x − s,
 * γ = clamp(gᵀd / (L‖d‖²), 0, 1), x ← x − γ d. It keeps x, g and e of every iteration
 * (3n doubles) and the scalars.
 *
 * Reverse (∇q of ⟨c, x_K⟩), per iteration backwards, from x̄:
 *   γ̄ = −x̄ᵀd, d̄ = −γ x̄; if 0 < γ < 1 (the clamp is flat outside):
 *   ḡ = (γ̄/den) d, d̄ += (γ̄/den) g − 2 L (γ̄ num/den²) d;
 *   s̄ = −d̄, x̄ ← x̄ + d̄; ē = −τ ⊙ sign(ĝ) ⊙ s̄; z̄ = e ⊙ (ē − eᵀē);
 *   ā = z̄, minus Σz̄ at the arg-max (the max passes its derivative to its arg-max);
 *   ḡ += τ ⊙ β sign(ĝ) ⊙ ā; q̄ += ḡ; x̄ += P ḡ (P symmetric).
 * One product with P forward and one backward per iteration, as in the peers.
 *
 * @since 0.1.0
 */
import { denseApplyInto } from '../src/core/simd.js'

export interface FusedResult {
  readonly x: Float64Array
  readonly gradQ: Float64Array
  readonly fwdMs: number
  readonly bwdMs: number
}

/**
 * K iterations of the recipe and ∇q⟨c, x_K⟩.
 *
 * @example
 * fusedRecipe(P, n, q, w, t, L, 1, 100, ones)
 */
export const fusedRecipe = (
  P: Float64Array, n: number, q: Float64Array, w: Float64Array, t: number, L: number, beta0: number, K: number, c: Float64Array
): FusedResult => {
  const t0 = performance.now()
  const tau = new Float64Array(n)
  for (let i = 0; i < n; i++) tau[i] = t / w[i]!
  const xs = new Float64Array((K + 1) * n), gs = new Float64Array(K * n), es = new Float64Array(K * n)
  const gam = new Float64Array(K), nums = new Float64Array(K), dens = new Float64Array(K), amax = new Int32Array(K)
  const interior = new Uint8Array(K)
  const g = new Float64Array(n), d = new Float64Array(n)
  for (let k = 0; k < K; k++) {
    const beta = beta0 * 2 ** Math.floor((k + 1) / 30)
    const x = xs.subarray(k * n, (k + 1) * n), e = es.subarray(k * n, (k + 1) * n)
    denseApplyInto(P, n, x, g)
    let m = -Infinity, jm = 0
    for (let i = 0; i < n; i++) {
      const gi = g[i]! + q[i]!
      g[i] = gi
      const a = beta * Math.abs(gi * tau[i]!)
      e[i] = a
      if (a > m) { m = a; jm = i }
    }
    let sum = 0
    for (let i = 0; i < n; i++) { const v = Math.exp(e[i]! - m); e[i] = v; sum += v }
    let num = 0, dd = 0
    for (let i = 0; i < n; i++) {
      const ei = e[i]! / sum
      e[i] = ei
      const gh = g[i]! * tau[i]!
      const s = -tau[i]! * (gh > 0 ? 1 : gh < 0 ? -1 : 0) * ei
      const di = x[i]! - s
      d[i] = di
      num += g[i]! * di
      dd += di * di
    }
    const den = L * dd
    let gamma: number
    let inside = 0
    if (!(den > 0) || !Number.isFinite(num / den)) gamma = num > 0 ? 1 : 0
    else {
      const r = num / den
      gamma = r <= 0 ? 0 : r >= 1 ? 1 : r
      inside = r > 0 && r < 1 ? 1 : 0
    }
    const xn = xs.subarray((k + 1) * n, (k + 2) * n)
    for (let i = 0; i < n; i++) xn[i] = x[i]! - gamma * d[i]!
    gs.set(g, k * n)
    gam[k] = gamma; nums[k] = num; dens[k] = den; amax[k] = jm; interior[k] = inside
  }
  const t1 = performance.now()
  // reverse
  const xb = Float64Array.from(c), qb = new Float64Array(n), gb = new Float64Array(n), pg = new Float64Array(n), db = new Float64Array(n)
  for (let k = K - 1; k >= 0; k--) {
    const beta = beta0 * 2 ** Math.floor((k + 1) / 30)
    const x = xs.subarray(k * n, (k + 1) * n), gk = gs.subarray(k * n, (k + 1) * n), e = es.subarray(k * n, (k + 1) * n)
    const gamma = gam[k]!, num = nums[k]!, den = dens[k]!
    // d = x − s, recomputed from e
    let gbar = 0
    for (let i = 0; i < n; i++) {
      const gh = gk[i]! * tau[i]!
      const s = -tau[i]! * (gh > 0 ? 1 : gh < 0 ? -1 : 0) * e[i]!
      d[i] = x[i]! - s
      gbar -= xb[i]! * d[i]!
      db[i] = -gamma * xb[i]!
    }
    const inside = interior[k] === 1
    const cn = inside ? gbar / den : 0, cd = inside ? (-gbar * num) / (den * den) : 0
    let ee = 0
    for (let i = 0; i < n; i++) {
      gb[i] = cn * d[i]!
      const dbi = db[i]! + cn * gk[i]! + 2 * L * cd * d[i]!
      db[i] = dbi
      xb[i] = xb[i]! + dbi
    }
    // ē = −τ sign(ĝ) s̄ with s̄ = −d̄: ē = τ sign(ĝ) d̄
    for (let i = 0; i < n; i++) {
      const gh = gk[i]! * tau[i]!
      const sg = gh > 0 ? 1 : gh < 0 ? -1 : 0
      const eb = tau[i]! * sg * db[i]!
      db[i] = eb
      ee += e[i]! * eb
    }
    let zsum = 0
    for (let i = 0; i < n; i++) { const z = e[i]! * (db[i]! - ee); db[i] = z; zsum += z }
    db[amax[k]!] = db[amax[k]!]! - zsum
    for (let i = 0; i < n; i++) {
      const gh = gk[i]! * tau[i]!
      const sg = gh > 0 ? 1 : gh < 0 ? -1 : 0
      gb[i] = gb[i]! + tau[i]! * beta * sg * db[i]!
      qb[i] = qb[i]! + gb[i]!
    }
    denseApplyInto(P, n, gb, pg)
    for (let i = 0; i < n; i++) xb[i] = xb[i]! + pg[i]!
  }
  const t2 = performance.now()
  return { x: Float64Array.from(xs.subarray(K * n)), gradQ: qb, fwdMs: t1 - t0, bwdMs: t2 - t1 }
}
