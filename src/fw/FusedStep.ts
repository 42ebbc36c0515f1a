/**
 * The paper's step on the weighted l1 ball as one fused differentiable map: the softmax
 * oracle, the short step and the update, with its tangent and transpose rules written for
 * the whole step (as a primitive has them) instead of traced from ~25 vector primitives.
 * It is one step of the fold: the solver is still the fold of steps, and its JVP and VJP
 * are still the fold's transforms. The traced step (`Step.ts`) computes the same map; the
 * tests check this one against it, against finite differences, and the transpose law.
 *
 * With g = Px + q, r = t/w, h = g⊙r, e = softmax(β|h|), s = −r⊙sign(h)⊙e, u = s − x,
 * γ = clamp(−gᵀu / (L uᵀu), 0, 1):  x' = x + γu,  Px' = Px + γ(Ps − Px).
 * One product P s forward; the transpose adds one product Pᵀc.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Diff, Linear } from '../core/Diff.js'
import { type Tan, Zero, outerSum } from '../core/Tangent.js'
import { applyInto, applyTInto } from '../core/LinearOperator.js'
import type { Params } from './Problem.js'
import type { FwState } from './State.js'
import { f64, zerosView } from '../shapes/alloc.js'
import { sgn, readStepTangent, readStateCotangent, stateTangent, stepCotangent, ratios } from './StepTangent.js'
import { curvatureFloor, checkCurvature } from './Oracle.js'

/**
 * The fused paper step on l1 at temperature β with constant L; `stats` fills the
 * non-differentiated fields of the next state.
 *
 * @example
 * const step = fusedPaperL1Step<N>(L, (i) => 2 ** Math.floor(i / 30), stats)
 * const [s1, lin] = step([theta, s0])
 */
export const fusedPaperL1Step = <N>(
  L: number,
  betaOf: (i: number) => number,
  stats: (p: Params<N>, x: Vec<N>, px: Vec<N>, prev: FwState<N>) => FwState<N>
): Diff<readonly [Params<N>, FwState<N>], FwState<N>> => ([p, st]) => {
  const n = p.q.dim as number
  const beta = betaOf(st.k + 1)
  const q = p.q.data, t = p.t, x = st.x.data, px = st.px.data
  const { r, iw } = ratios(p) // r = t/w and 1/w, computed once per θ
  // kept for the linear map: e, s and Ps; g = Px + q, sign(h) = sign(g⊙r),
  // u = s − x and Ps − Px are recomputed from them and the state where needed
  const e = f64(n), s = f64(n)
  let amax = -Infinity
  for (let i = 0; i < n; i++) {
    const a = beta * Math.abs((px[i]! + q[i]!) * r[i]!)
    e[i] = a
    if (a > amax) amax = a
  }
  let z = 0
  for (let i = 0; i < n; i++) { const v = Math.exp(e[i]! - amax); e[i] = v; z += v }
  let gu = 0, uu = 0
  for (let i = 0; i < n; i++) {
    const gi = px[i]! + q[i]!, ri = r[i]!
    const ei = e[i]! / z
    e[i] = ei
    const si = -ri * sgn(gi * ri) * ei
    s[i] = si
    const ui = si - x[i]!
    gu += gi * ui
    uu += ui * ui
  }
  const ps = f64(n)
  applyInto(p.P, s, ps)
  let upu = 0
  for (let i = 0; i < n; i++) upu += (s[i]! - x[i]!) * (ps[i]! - px[i]!)
  if (upu < -curvatureFloor(p) * uu) checkCurvature(p, upu, undefined, Float64Array.from(s, (si, i) => si - x[i]!))
  const num = -gu, den = L * uu
  // γ as the traced step takes it: constant at the clamps (derivative 0), the ratio inside
  let gamma: number, active = false
  if (!(den > 0) || !Number.isFinite(num / den)) gamma = num > 0 ? 1 : 0
  else if (num / den >= 1) gamma = 1
  else if (num / den > 0) { gamma = num / den; active = true } else gamma = 0
  const xn = f64(n), pxn = f64(n)
  for (let i = 0; i < n; i++) {
    xn[i] = x[i]! + gamma * (s[i]! - x[i]!)
    pxn[i] = px[i]! + gamma * (ps[i]! - px[i]!)
  }
  const next = stats(p, { dim: p.q.dim, data: xn }, { dim: p.q.dim, data: pxn }, st)

  /** The tangent map: (dθ, dx, dPx) ↦ (dx', dPx'). */
  const fwd = (d: Tan<readonly [Params<N>, FwState<N>]>): Tan<FwState<N>> => {
    if (d === Zero) return Zero
    const { dq, dw, dx, dpx, dt, dP } = readStepTangent<N>(d)
    const Z = zerosView(n), dqa = dq ?? Z, dwa = dw ?? Z, dxa = dx ?? Z, dpa = dpx ?? Z
    // da = β sign(h) dh, dh = dg⊙r + g⊙dr with dr = dt/w − t dw/w²; kept in dxn until it is overwritten below
    const dsv = f64(n), dxn = f64(n)
    let eda = 0
    for (let i = 0; i < n; i++) {
      const gi = px[i]! + q[i]!, ri = r[i]!, iwi = iw[i]!
      const dgi = dpa[i]! + dqa[i]!
      const dri = dt * iwi - ri * dwa[i]! * iwi
      const da = beta * sgn(gi * ri) * (dgi * ri + gi * dri)
      dxn[i] = da
      eda += e[i]! * da
    }
    let dgu = 0, udu = 0
    for (let i = 0; i < n; i++) {
      const gi = px[i]! + q[i]!, ri = r[i]!, iwi = iw[i]!, sgi = sgn(gi * ri)
      const dgi = dpa[i]! + dqa[i]!
      const dri = dt * iwi - ri * dwa[i]! * iwi
      const de = e[i]! * (dxn[i]! - eda)
      const ds = -sgi * (dri * e[i]! + ri * de)
      dsv[i] = ds
      const ui = s[i]! - x[i]!, du = ds - dxa[i]!
      dgu += dgi * ui + gi * du
      udu += ui * du
    }
    const dPs = f64(n)
    applyInto(p.P, dsv, dPs)
    if (dP !== undefined) {
      const A = dP.data
      for (let i = 0; i < n; i++) { let v = 0; for (let j = 0; j < n; j++) v += A[i * n + j]! * s[j]!; dPs[i] = dPs[i]! + v }
    }
    const dgamma = active ? (-dgu * den - num * 2 * L * udu) / (den * den) : 0
    const dpxn = f64(n)
    for (let i = 0; i < n; i++) {
      const dpi = dpa[i]!, dxi = dxa[i]!
      dxn[i] = dxi + dgamma * (s[i]! - x[i]!) + gamma * (dsv[i]! - dxi)
      dpxn[i] = dpi + dgamma * (ps[i]! - px[i]!) + gamma * (dPs[i]! - dpi)
    }
    return stateTangent<N>(p.q.dim, dxn, dpxn)
  }

  /** The transpose: (c_x', c_Px') ↦ (c_θ, c_x, c_Px), one product Pᵀ(γ c_Px'). */
  const bwd = (c: Tan<FwState<N>>): Tan<readonly [Params<N>, FwState<N>]> => {
    if (c === Zero) return Zero
    const cin = readStateCotangent<N>(c)
    if (cin === undefined) return Zero
    const { cx, cp } = cin
    const Z = zerosView(n), cxa = cx ?? Z, cpa = cp ?? Z
    // through x' = x + γu and Px' = Px + γ(Ps − Px)
    let cgamma = 0
    const cPs = f64(n)
    for (let i = 0; i < n; i++) {
      const a = cxa[i]!, b = cpa[i]!
      cgamma += a * (s[i]! - x[i]!) + b * (ps[i]! - px[i]!)
      cPs[i] = gamma * b
    }
    // through Ps = P s
    const cs = f64(n)
    applyTInto(p.P, cPs, cs)
    const cP = p.P.kind === 'dense' && gamma !== 0 && cp !== undefined ? outerSum({ dim: n, data: cPs }, { dim: n, data: s }) : Zero
    // through γ = num/den (inside the interval only), num = −gᵀu, den = L uᵀu; then
    // u = s − x and s = −r⊙sign(h)⊙e. cq holds c_g and cw holds c_r until the last loop.
    const cnum = active ? cgamma / den : 0, cden = active ? (-cgamma * num) / (den * den) : 0
    const cxo = f64(n), cq = f64(n), cw = f64(n)
    let ece = 0
    for (let i = 0; i < n; i++) {
      const gi = px[i]! + q[i]!, ri = r[i]!, sgi = sgn(gi * ri), ui = s[i]! - x[i]!, cxi = cxa[i]!
      const cu = gamma * cxi - cnum * gi + 2 * L * cden * ui
      cq[i] = -cnum * ui
      const csi = cs[i]! + cu
      cs[i] = csi
      cxo[i] = cxi - cu
      cw[i] = -sgi * e[i]! * csi
      ece += e[i]! * (-sgi * ri * csi)
    }
    // through e = softmax(β|h|), h = g⊙r, r = t/w, g = Px + q
    const cpx = f64(n)
    let ct = 0
    for (let i = 0; i < n; i++) {
      const gi = px[i]! + q[i]!, ri = r[i]!, iwi = iw[i]!, sgi = sgn(gi * ri)
      const ca = e[i]! * (-sgi * ri * cs[i]! - ece)
      const ch = beta * sgi * ca
      const cg = cq[i]! + ch * ri
      const cr = cw[i]! + ch * gi
      ct += cr * iwi
      cw[i] = -cr * ri * iwi
      cpx[i] = (1 - gamma) * cpa[i]! + cg
      cq[i] = cg
    }
    return stepCotangent<N>(p.q.dim, { P: cP, q: cq, w: cw, t: ct }, cxo, cpx)
  }
  const lin: Linear<readonly [Params<N>, FwState<N>], FwState<N>> = { fwd, bwd }
  return [next, lin]
}
