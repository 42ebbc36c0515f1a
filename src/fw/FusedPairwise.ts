/**
 * The default schedule's pairwise step on the l1 ball and the simplex (exact oracle, exact
 * line search) as one fused differentiable map, as `FusedStep.ts` is for the paper's step.
 * The direction u = s − a has at most two nonzeros (the oracle's vertex s and the away atom
 * a, or s alone when the away atom is the origin), so the step touches x in two
 * coordinates and P only through two columns: the forward is O(n) plus two columns, and
 * each of the tangent and the transpose is O(n) plus two columns. The traced step (`Step.ts`) computes the same map from ~30 vector
 * primitives, each a pass over n numbers and a fresh array; test/fused.ts checks this one
 * against it (value, JVP, VJP) and the transpose law.
 *
 * With entries e ∈ {s, a} at index iₑ and value vₑ (v_s = σ_s c_j, v_a = −σ_a c_a,
 * c_i = t/wᵢ on l1 and t on the simplex): u = Σ vₑ e_{iₑ}, P u = Σ vₑ P[:, iₑ],
 * num = −gᵀu, den = uᵀPu, γ = clamp(num/den, 0, γmax) with the traced step's cases,
 * x' = x + γu (the away coordinate set to 0 on a drop step), Px' = Px + γ Pu.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Diff, Linear } from '../core/Diff.js'
import { type Tan, Zero, outerSum } from '../core/Tangent.js'
import { addColumnsInto, columnDots } from '../core/LinearOperator.js'
import type { Params } from './Problem.js'
import type { FwState } from './State.js'
import { chooseVertex, awayAtom, scoreNoise, checkCurvature } from './Oracle.js'
import { f64 } from '../shapes/alloc.js'
import { sgn, readStepTangent, readStateCotangent, stateTangent, stepCotangent } from './StepTangent.js'


/**
 * The fused pairwise step on `set` with the exact line search; `stats` fills the
 * non-differentiated fields of the next state.
 *
 * @example
 * const step = fusedPairwiseStep<N>('l1', stats)
 * const [s1, lin] = step([theta, s0])
 */
export const fusedPairwiseStep = <N>(
  set: 'l1' | 'simplex',
  stats: (p: Params<N>, x: Vec<N>, px: Vec<N>, prev: FwState<N>) => FwState<N>
): Diff<readonly [Params<N>, FwState<N>], FwState<N>> => {
  // the oracle's score scales, read only inside chooseVertex: one buffer for every step
  let noise = f64(0)
  return ([p, st]) => {
    const n = p.q.dim as number
    const l1 = set === 'l1'
    const q = p.q.data, w = p.w.data, t = p.t, x = st.x.data, px = st.px.data
    const g = f64(n)
    for (let i = 0; i < n; i++) g[i] = px[i]! + q[i]!
    const gv = { dim: p.q.dim, data: g }
    if (noise.length !== n) noise = f64(n)
    const vc = chooseVertex(set, gv, p.w, scoreNoise(set, px, q, w, noise))
    const j = vc.kind === 'coordinate' ? vc.index : 0
    const ss = l1 ? (vc.kind === 'coordinate' ? vc.sign : 0) : 1
    const aw = awayAtom(set, g, x, w, t, px, q, vc.kind === 'coordinate' ? vc : undefined)
    const a = aw.index, sa = aw.sign
    /** c_i = t/wᵢ (l1) or t (simplex), and its partials in t and wᵢ */
    const cOf = (i: number): number => (l1 ? t / w[i]! : t)
    // the entries of u: the vertex, and the away atom when there is one
    const idx = a >= 0 ? [j, a] : [j]
    const sig = a >= 0 ? [ss, -sa] : [ss]
    const vals = idx.map((i, e) => sig[e]! * cOf(i))
    const coef = new Float64Array(p.P.kind === 'lowRank' ? p.P.rank : 0)
    /** out += Σₑ cₑ P[:, iₑ] */
    const addCols = (cs: readonly number[], out: Float64Array): void => addColumnsInto(p.P, idx[0]!, cs[0]!, idx[1] ?? -1, cs[1] ?? 0, out, coef)
    const pu = f64(n)
    addCols(vals, pu)
    // γmax: the away atom's weight σ_a w_a x_a / t (simplex x_a / t), or 1 − Σ|wx|/t for the origin
    let used = 0
    if (a < 0) for (let i = 0; i < n; i++) used += Math.abs(w[i]! * x[i]!)
    const gmax = a >= 0 ? (l1 ? (sa * w[a]! * x[a]!) / t : (sa * x[a]!) / t) : 1 - used / t
    let num = 0, den = 0
    for (let e = 0; e < idx.length; e++) { num -= vals[e]! * g[idx[e]!]!; den += vals[e]! * pu[idx[e]!]! }
    checkCurvature(p, den, idx, vals)
    // γ and how it depends on the inputs: 'gmax', 'ratio' (num/den strictly inside), 'const'
    let gamma: number, how: 'gmax' | 'ratio' | 'const'
    if (!(den > 0) || !Number.isFinite(num / den)) { if (num > 0) { gamma = gmax; how = 'gmax' } else { gamma = 0; how = 'const' } }
    else if (num / den >= gmax) { gamma = gmax; how = 'gmax' }
    else if (num / den > 0) { gamma = num / den; how = 'ratio' }
    else { gamma = 0; how = 'const' }
    const xn = f64(n), pxn = f64(n)
    xn.set(x)
    for (let e = 0; e < idx.length; e++) xn[idx[e]!] = xn[idx[e]!]! + gamma * vals[e]!
    // a drop step: the away atom's weight is now zero, so its coordinate is exactly 0 (and so is its derivative)
    const settle = a >= 0 && !(vc.kind === 'coordinate' && vc.index === a) && gamma === gmax
    if (settle) xn[a] = 0
    for (let i = 0; i < n; i++) pxn[i] = px[i]! + gamma * pu[i]!
    const next = stats(p, { dim: p.q.dim, data: xn }, { dim: p.q.dim, data: pxn }, st)
    const gAt = idx.map((i) => g[i]!)

    /** dvₑ from (dt, dw) */
    const dvals = (dt: number, dw: Float64Array | undefined): number[] =>
      idx.map((i, e) => sig[e]! * (l1 ? dt / w[i]! - (dw === undefined ? 0 : (t * dw[i]!) / (w[i]! * w[i]!)) : dt))

    /** The tangent map: (dθ, dx, dPx) ↦ (dx', dPx'). */
    const fwd = (d: Tan<readonly [Params<N>, FwState<N>]>): Tan<FwState<N>> => {
      if (d === Zero) return Zero
      const { dq, dw, dx, dpx, dt, dP } = readStepTangent<N>(d)
      const dv = dvals(dt, dw)
      // dPu = dP u + Σ dvₑ P[:, iₑ]
      const dpu = f64(n)
      addCols(dv, dpu)
      if (dP !== undefined) {
        const A = dP.data
        for (let e = 0; e < idx.length; e++) for (let k = 0; k < n; k++) dpu[k] = dpu[k]! + A[k * n + idx[e]!]! * vals[e]!
      }
      let dgamma = 0
      if (how === 'gmax') {
        if (a >= 0) dgamma = l1 ? (sa * ((dw?.[a] ?? 0) * x[a]! + w[a]! * (dx?.[a] ?? 0))) / t - (sa * w[a]! * x[a]! * dt) / (t * t)
          : (sa * (dx?.[a] ?? 0)) / t - (sa * x[a]! * dt) / (t * t)
        else {
          let s = 0
          for (let i = 0; i < n; i++) s += sgn(w[i]! * x[i]!) * ((dw?.[i] ?? 0) * x[i]! + w[i]! * (dx?.[i] ?? 0))
          dgamma = -s / t + (used * dt) / (t * t)
        }
      } else if (how === 'ratio') {
        let dnum = 0, dden = 0
        for (let e = 0; e < idx.length; e++) {
          const i = idx[e]!
          dnum -= ((dpx?.[i] ?? 0) + (dq?.[i] ?? 0)) * vals[e]! + gAt[e]! * dv[e]!
          dden += dv[e]! * pu[i]! + vals[e]! * dpu[i]!
        }
        dgamma = (dnum * den - num * dden) / (den * den)
      }
      const dxn = f64(n), dpxn = f64(n)
      if (dx !== undefined) dxn.set(dx)
      for (let e = 0; e < idx.length; e++) dxn[idx[e]!] = dxn[idx[e]!]! + dgamma * vals[e]! + gamma * dv[e]!
      if (settle) dxn[a] = 0
      for (let i = 0; i < n; i++) dpxn[i] = (dpx?.[i] ?? 0) + dgamma * pu[i]! + gamma * dpu[i]!
      return stateTangent<N>(p.q.dim, dxn, dpxn)
    }

    /** The transpose: (c_x', c_Px') ↦ (c_θ, c_x, c_Px). */
    const bwd = (c: Tan<FwState<N>>): Tan<readonly [Params<N>, FwState<N>]> => {
      if (c === Zero) return Zero
      const cin = readStateCotangent<N>(c)
      if (cin === undefined) return Zero
      const { cx: cxIn, cp } = cin
      const cx = f64(n), cpx = f64(n), cq = f64(n), cw = f64(n)
      if (cxIn !== undefined) cx.set(cxIn)
      if (settle) cx[a] = 0
      // through x' = x + γu and Px' = Px + γ Pu
      let cgamma = 0
      const cv = idx.map((i, e) => { cgamma += vals[e]! * cx[i]!; return gamma * cx[i]! })
      if (cp !== undefined) for (let i = 0; i < n; i++) { cgamma += cp[i]! * pu[i]!; cpx[i] = cp[i]! }
      let ct = 0
      let cnum = 0, cden = 0, cgmax = 0
      if (how === 'ratio') { cnum = cgamma / den; cden = (-cgamma * num) / (den * den) } else if (how === 'gmax') cgmax = cgamma
      // Pu = Σ vₑ P[:, iₑ] with c_Pu = γ c_Px' + c_den u
      const cpu = f64(n)
      if (cp !== undefined && gamma !== 0) for (let i = 0; i < n; i++) cpu[i] = gamma * cp[i]!
      for (let e = 0; e < idx.length; e++) cpu[idx[e]!] = cpu[idx[e]!]! + cden * vals[e]!
      const dots = columnDots(p.P, idx, cpu)
      for (let e = 0; e < idx.length; e++) {
        const i = idx[e]!
        // num = −Σ vₑ g_{iₑ}, den = Σ vₑ (Pu)_{iₑ}
        cv[e] = cv[e]! - cnum * gAt[e]! + cden * pu[i]! + dots[e]!
        // g = Px + q
        cpx[i] = cpx[i]! - cnum * vals[e]!
        cq[i] = cq[i]! - cnum * vals[e]!
        // vₑ = σₑ c_{iₑ}
        if (l1) { ct += (cv[e]! * sig[e]!) / w[i]!; cw[i] = cw[i]! - (cv[e]! * sig[e]! * t) / (w[i]! * w[i]!) } else ct += cv[e]! * sig[e]!
      }
      if (cgmax !== 0) {
        if (a >= 0) {
          if (l1) { cw[a] = cw[a]! + (cgmax * sa * x[a]!) / t; cx[a] = cx[a]! + (cgmax * sa * w[a]!) / t; ct -= (cgmax * sa * w[a]! * x[a]!) / (t * t) }
          else { cx[a] = cx[a]! + (cgmax * sa) / t; ct -= (cgmax * sa * x[a]!) / (t * t) }
        } else {
          for (let i = 0; i < n; i++) {
            const sgi = sgn(w[i]! * x[i]!)
            cw[i] = cw[i]! - (cgmax * sgi * x[i]!) / t
            cx[i] = cx[i]! - (cgmax * sgi * w[i]!) / t
          }
          ct += (cgmax * used) / (t * t)
        }
      }
      let cP: unknown = Zero
      if (p.P.kind === 'dense') {
        const us = f64(n)
        for (let e = 0; e < idx.length; e++) us[idx[e]!] = us[idx[e]!]! + vals[e]!
        cP = outerSum({ dim: n, data: cpu }, { dim: n, data: us })
      }
      // on the simplex w enters only through the origin's weight (no away atom)
      return stepCotangent<N>(p.q.dim, { P: cP, q: cq, w: !l1 && a >= 0 ? Zero : cw, t: ct }, cx, cpx)
    }
    const lin: Linear<readonly [Params<N>, FwState<N>], FwState<N>> = { fwd, bwd }
    return [next, lin]
  }
}
