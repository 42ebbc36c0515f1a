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
import type { Mat } from '../shapes/Mat.js'
import type { Diff, Linear } from '../core/Diff.js'
import { type Tan, Zero, outerSum } from '../core/Tangent.js'
import { applyInto, applyTInto } from '../core/LinearOperator.js'
import type { Params } from './Problem.js'
import type { FwState } from './Step.js'
import { f64 } from '../core/alloc.js'

const data = <N>(v: Tan<Vec<N>> | undefined): Float64Array | undefined => (v === undefined || v === Zero ? undefined : v.data)

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
  const q = p.q.data, w = p.w.data, t = p.t, x = st.x.data, px = st.px.data
  const g = f64(n), r = f64(n), sg = f64(n), e = f64(n), s = f64(n), u = f64(n)
  let amax = -Infinity
  for (let i = 0; i < n; i++) {
    g[i] = px[i]! + q[i]!
    r[i] = t / w[i]!
    const h = g[i]! * r[i]!
    sg[i] = h > 0 ? 1 : h < 0 ? -1 : 0
    e[i] = beta * Math.abs(h)
    if (e[i]! > amax) amax = e[i]!
  }
  let z = 0
  for (let i = 0; i < n; i++) { e[i] = Math.exp(e[i]! - amax); z += e[i]! }
  for (let i = 0; i < n; i++) e[i] = e[i]! / z
  let gu = 0, uu = 0
  for (let i = 0; i < n; i++) {
    s[i] = -r[i]! * sg[i]! * e[i]!
    u[i] = s[i]! - x[i]!
    gu += g[i]! * u[i]!
    uu += u[i]! * u[i]!
  }
  const ps = f64(n)
  applyInto(p.P, s, ps)
  const num = -gu, den = L * uu
  // γ as the traced step takes it: constant at the clamps (derivative 0), the ratio inside
  let gamma: number, active = false
  if (!(den > 0) || !Number.isFinite(num / den)) gamma = num > 0 ? 1 : 0
  else if (num / den >= 1) gamma = 1
  else if (num / den > 0) { gamma = num / den; active = true } else gamma = 0
  const xn = f64(n), pxn = f64(n), dps = f64(n)
  for (let i = 0; i < n; i++) {
    dps[i] = ps[i]! - px[i]!
    xn[i] = x[i]! + gamma * u[i]!
    pxn[i] = px[i]! + gamma * dps[i]!
  }
  const next = stats(p, { dim: p.q.dim, data: xn }, { dim: p.q.dim, data: pxn }, st)

  /** The tangent map: (dθ, dx, dPx) ↦ (dx', dPx'). */
  const fwd = (d: Tan<readonly [Params<N>, FwState<N>]>): Tan<FwState<N>> => {
    if (d === Zero) return Zero
    const [dp0, ds0] = d as unknown as readonly [Tan<Params<N>>, Tan<FwState<N>>]
    const dp = (dp0 === Zero ? {} : dp0) as { q?: Tan<Vec<N>>; w?: Tan<Vec<N>>; t?: Tan<number>; P?: Tan<Mat<N, N>> }
    const dst = (ds0 === Zero ? {} : ds0) as { x?: Tan<Vec<N>>; px?: Tan<Vec<N>> }
    const dq = data(dp.q), dw = data(dp.w), dx = data(dst.x), dpx = data(dst.px)
    const dt = dp.t === undefined || dp.t === Zero ? 0 : dp.t
    const dP = dp.P === undefined || dp.P === Zero ? undefined : dp.P
    const dg = f64(n), dr = f64(n), da = f64(n)
    let eda = 0
    for (let i = 0; i < n; i++) {
      dg[i] = (dpx?.[i] ?? 0) + (dq?.[i] ?? 0)
      dr[i] = dt / w[i]! - (dw === undefined ? 0 : (t * dw[i]!) / (w[i]! * w[i]!))
      da[i] = beta * sg[i]! * (dg[i]! * r[i]! + g[i]! * dr[i]!)
      eda += e[i]! * da[i]!
    }
    const dsv = f64(n), du = f64(n)
    let dgu = 0, udu = 0
    for (let i = 0; i < n; i++) {
      const de = e[i]! * (da[i]! - eda)
      dsv[i] = -sg[i]! * (dr[i]! * e[i]! + r[i]! * de)
      du[i] = dsv[i]! - (dx?.[i] ?? 0)
      dgu += dg[i]! * u[i]! + g[i]! * du[i]!
      udu += u[i]! * du[i]!
    }
    const dPs = f64(n)
    applyInto(p.P, dsv, dPs)
    if (dP !== undefined) {
      const A = dP.data
      for (let i = 0; i < n; i++) { let v = 0; for (let j = 0; j < n; j++) v += A[i * n + j]! * s[j]!; dPs[i] = dPs[i]! + v }
    }
    const dgamma = active ? (-dgu * den - num * 2 * L * udu) / (den * den) : 0
    const dxn = f64(n), dpxn = f64(n)
    for (let i = 0; i < n; i++) {
      const dpi = dpx?.[i] ?? 0
      dxn[i] = (dx?.[i] ?? 0) + dgamma * u[i]! + gamma * du[i]!
      dpxn[i] = dpi + dgamma * dps[i]! + gamma * (dPs[i]! - dpi)
    }
    return { x: { dim: p.q.dim, data: dxn }, px: { dim: p.q.dim, data: dpxn } } as unknown as Tan<FwState<N>>
  }

  /** The transpose: (c_x', c_Px') ↦ (c_θ, c_x, c_Px), one product Pᵀ(γ c_Px'). */
  const bwd = (c: Tan<FwState<N>>): Tan<readonly [Params<N>, FwState<N>]> => {
    if (c === Zero) return Zero
    const cc = c as { x?: Tan<Vec<N>>; px?: Tan<Vec<N>> }
    const cx = data(cc.x), cp = data(cc.px)
    if (cx === undefined && cp === undefined) return Zero
    // through x' = x + γu and Px' = Px + γ(Ps − Px)
    let cgamma = 0
    const cu = f64(n), cxo = f64(n), cpx = f64(n), cPs = f64(n)
    for (let i = 0; i < n; i++) {
      const a = cx?.[i] ?? 0, b = cp?.[i] ?? 0
      cxo[i] = a
      cu[i] = gamma * a
      cgamma += a * u[i]! + b * dps[i]!
      cpx[i] = (1 - gamma) * b
      cPs[i] = gamma * b
    }
    // through Ps = P s
    const cs = f64(n)
    applyTInto(p.P, cPs, cs)
    const cP = p.P.kind === 'dense' && gamma !== 0 && cp !== undefined ? outerSum({ dim: n, data: cPs }, { dim: n, data: s }) : Zero
    // through γ = num/den (inside the interval only), num = −gᵀu, den = L uᵀu
    const cg = f64(n)
    if (active) {
      const cnum = cgamma / den, cden = (-cgamma * num) / (den * den)
      for (let i = 0; i < n; i++) {
        cg[i] = -cnum * u[i]!
        cu[i] = cu[i]! - cnum * g[i]! + 2 * L * cden * u[i]!
      }
    }
    // through u = s − x
    for (let i = 0; i < n; i++) { cs[i] = cs[i]! + cu[i]!; cxo[i] = cxo[i]! - cu[i]! }
    // through s = −r⊙σ⊙e, e = softmax(β|h|), h = g⊙r, r = t/w
    const cr = f64(n), ce = f64(n)
    let ece = 0
    for (let i = 0; i < n; i++) {
      cr[i] = -sg[i]! * e[i]! * cs[i]!
      ce[i] = -sg[i]! * r[i]! * cs[i]!
      ece += e[i]! * ce[i]!
    }
    const cq = f64(n), cw = f64(n)
    let ct = 0
    for (let i = 0; i < n; i++) {
      const ca = e[i]! * (ce[i]! - ece)
      const ch = beta * sg[i]! * ca
      cg[i] = cg[i]! + ch * r[i]!
      cr[i] = cr[i]! + ch * g[i]!
      ct += cr[i]! / w[i]!
      cw[i] = (-cr[i]! * t) / (w[i]! * w[i]!)
      // g = Px + q
      cpx[i] = cpx[i]! + cg[i]!
      cq[i] = cg[i]!
    }
    const dim = p.q.dim
    return [
      { P: cP, q: { dim, data: cq }, w: { dim, data: cw }, t: ct },
      { x: { dim, data: cxo }, px: { dim, data: cpx } }
    ] as unknown as Tan<readonly [Params<N>, FwState<N>]>
  }
  const lin: Linear<readonly [Params<N>, FwState<N>], FwState<N>> = { fwd, bwd }
  return [next, lin]
}
