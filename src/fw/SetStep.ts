/**
 * The default schedule's step for a set that supplies its own directions
 * (`FeasibleSet.direction` and `directionLinear`: the box, the capped simplex, the
 * K-sparse polytope, the Birkhoff polytope), as one differentiable map (θ, state) ↦ state
 * with its own tangent and transpose rules, as the fused pairwise step of l1 and the
 * simplex is: x' = x + γu, Px' = Px + γPu, γ = clamp(−gᵀu/uᵀPu, 0, γmax), u given by its
 * few nonzero entries so that P u costs their columns. The derivative flows through x, Px,
 * q, P and the set's parameters (through u's entries and γmax); the choice of coordinates
 * is held fixed, as the oracle's choice always is. Also the set's certificate, the
 * statistics of a state, the initial state and the unrolled solver, for these sets.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import * as D from '../core/Diff.js'
import type { Diff, Linear } from '../core/Diff.js'
import { type Tan, Zero, outerSum } from '../core/Tangent.js'
import { applyInto, columnInto, columnDots } from '../core/LinearOperator.js'
import type { Params } from './Problem.js'
import type { FwState } from './State.js'
import type { FeasibleSet, SetGradient, SetTangent } from './sets/FeasibleSet.js'
import { GAP_FLOOR_FACTOR, rowAbsSums, checkCurvature } from './Oracle.js'
import { readStepTangent, readStateCotangent, stateTangent } from './StepTangent.js'
import { f64 } from '../shapes/alloc.js'

// -------------------------------------------------------------------------------------
// certificates
// -------------------------------------------------------------------------------------

/**
 * A point's certificate on any set: f(x), the Frank-Wolfe gap gᵀx − minₛ gᵀs with the
 * set's exact oracle value, and the gap's rounding floor 4ε Σᵢ Rᵢ(aᵢ‖x‖∞ + |qᵢ|) (see
 * `certificateAt`).
 *
 * @example
 * const { objective, gap, gapFloor } = setCertificate(fs, px, q, x, rowAbsSums(theta))
 */
export const setCertificate = (
  fs: FeasibleSet, px: Float64Array, q: Float64Array, x: Float64Array, pAbs: Float64Array
): { readonly objective: number; readonly gap: number; readonly gapFloor: number } => {
  const n = px.length, g = f64(n), R = fs.reach
  let f = 0, gx = 0, sc = 0, sa = 0, xm = 0
  for (let i = 0; i < n; i++) {
    const gi = px[i]! + q[i]!
    g[i] = gi
    f += x[i]! * (0.5 * px[i]! + q[i]!)
    gx += gi * x[i]!
    sc += R[i]! * Math.abs(q[i]!)
    sa += R[i]! * pAbs[i]!
    xm = Math.max(xm, Math.abs(x[i]!))
  }
  return { objective: f, gap: Math.max(0, gx - fs.lmoValue(g)), gapFloor: GAP_FLOOR_FACTOR * Number.EPSILON * (sc + sa * xm) }
}

const stats = <N>(fs: FeasibleSet, p: Params<N>, x: Vec<N>, px: Vec<N>, prev: FwState<N>): FwState<N> => {
  const c = setCertificate(fs, px.data, p.q.data, x.data, rowAbsSums(p))
  return { x, px, k: prev.k + 1, f: c.objective, fPrev: prev.f, gap: c.gap, gapFloor: c.gapFloor }
}

// -------------------------------------------------------------------------------------
// tangents
// -------------------------------------------------------------------------------------

const data = (v: unknown): Float64Array | undefined => (v === undefined || v === Zero ? undefined : (v as Vec<unknown>).data)

/** The set's part of a step tangent's parameters. */
const setTangentOfStep = (d: unknown): SetTangent => {
  if (d === Zero) return { t: 0, k: 0 }
  const [dp] = d as readonly [unknown, unknown]
  if (dp === Zero || dp === undefined) return { t: 0, k: 0 }
  const r = dp as Record<string, unknown>
  const num = (v: unknown): number => (typeof v === 'number' ? v : 0)
  return { w: data(r['w']), t: num(r['t']), lower: data(r['lower']), upper: data(r['upper']), k: num(r['k']) }
}

/** The cotangent of a step's inputs, with the set's parameters. */
const cotangent = <N>(dim: Vec<N>['dim'], fs: FeasibleSet, cP: unknown, cq: Float64Array, acc: SetGradient, cx: Float64Array, cpx: Float64Array): Tan<readonly [Params<N>, FwState<N>]> => {
  const theta: Record<string, unknown> = { P: cP, q: { dim, data: cq }, w: fs.kind === 'l1' ? { dim, data: acc.w } : Zero, t: acc.t }
  if (acc.lower !== undefined) theta['lower'] = { dim, data: acc.lower }
  if (acc.upper !== undefined) theta['upper'] = { dim, data: acc.upper }
  if (fs.kind === 'capped-simplex') theta['k'] = acc.k
  return [theta, { x: { dim, data: cx }, px: { dim, data: cpx } }] as unknown as Tan<readonly [Params<N>, FwState<N>]>
}

const accFor = (fs: FeasibleSet, n: number): SetGradient => ({
  w: f64(n), t: 0, k: 0, ...(fs.kind === 'box' ? { lower: f64(n), upper: f64(n) } : {})
})

// -------------------------------------------------------------------------------------
// the step
// -------------------------------------------------------------------------------------

/**
 * The step on `fs` (a set with `direction` and `directionLinear`), as a `Diff` over
 * (θ, state). A state where the set has no descent direction left is a fixed point.
 *
 * @example
 * const step = setStep<N>(resolveSet('box', theta))
 */
export const setStep = <N>(fs: FeasibleSet): Diff<readonly [Params<N>, FwState<N>], FwState<N>> => ([p, st]) => {
  const n = fs.n, dim = p.q.dim, q = p.q.data, x = st.x.data, px = st.px.data
  const g = f64(n)
  for (let i = 0; i < n; i++) g[i] = px[i]! + q[i]!
  const d = fs.direction!(x, g)
  if (d === undefined) {
    // optimal for the step rule: the state carries over, and so do its tangents
    const next = stats(fs, p, st.x, st.px, st)
    const lin: Linear<readonly [Params<N>, FwState<N>], FwState<N>> = {
      fwd: (t) => {
        if (t === Zero) return Zero
        const { dx, dpx } = readStepTangent<N>(t)
        return dx === undefined && dpx === undefined ? Zero : stateTangent<N>(dim, dx ?? f64(n), dpx ?? f64(n))
      },
      bwd: (c) => {
        const cin = readStateCotangent<N>(c)
        if (cin === undefined) return Zero
        return [Zero, { x: cin.cx === undefined ? Zero : { dim, data: cin.cx }, px: cin.cp === undefined ? Zero : { dim, data: cin.cp } }] as unknown as Tan<readonly [Params<N>, FwState<N>]>
      }
    }
    return [next, lin]
  }
  const idx = d.idx ?? Int32Array.from({ length: n }, (_, i) => i)
  const vals = d.vals, m = idx.length
  // P u: columns of u's entries, or one product when u touches many coordinates
  const pu = f64(n)
  const addCols = (cs: Float64Array, out: Float64Array): void => {
    if (m * 4 <= n) {
      const col = f64(n)
      for (let e = 0; e < m; e++) {
        const c = cs[e]!
        if (c === 0) continue
        columnInto(p.P, idx[e]!, col)
        for (let i = 0; i < n; i++) out[i] = out[i]! + c * col[i]!
      }
    } else {
      const u = f64(n), o = f64(n)
      for (let e = 0; e < m; e++) u[idx[e]!] = u[idx[e]!]! + cs[e]!
      applyInto(p.P, u, o)
      for (let i = 0; i < n; i++) out[i] = out[i]! + o[i]!
    }
  }
  addCols(vals, pu)
  let num = 0, den = 0
  for (let e = 0; e < m; e++) { num -= vals[e]! * g[idx[e]!]!; den += vals[e]! * pu[idx[e]!]! }
  checkCurvature(p, den, Array.from(idx), vals)
  const gmax = d.gmax
  let gamma: number, how: 'gmax' | 'ratio' | 'const'
  if (!(den > 0) || !Number.isFinite(num / den)) { if (num > 0) { gamma = gmax; how = 'gmax' } else { gamma = 0; how = 'const' } }
  else if (num / den >= gmax) { gamma = gmax; how = 'gmax' }
  else if (num / den > 0) { gamma = num / den; how = 'ratio' }
  else { gamma = 0; how = 'const' }
  const xn = Float64Array.from(x), pxn = f64(n)
  for (let e = 0; e < m; e++) xn[idx[e]!] = xn[idx[e]!]! + gamma * vals[e]!
  if (how === 'gmax' && d.snap !== undefined) for (const [i, v] of d.snap) xn[i] = v
  for (let i = 0; i < n; i++) pxn[i] = px[i]! + gamma * pu[i]!
  const next = stats(fs, p, { dim, data: xn }, { dim, data: pxn }, st)
  const gAt = Float64Array.from(idx, (i) => g[i]!)
  const dl = fs.directionLinear!(x, d)

  const fwd = (t: Tan<readonly [Params<N>, FwState<N>]>): Tan<FwState<N>> => {
    if (t === Zero) return Zero
    const { dq, dx, dpx, dP } = readStepTangent<N>(t)
    const { dvals, dgmax } = dl.fwd(dx, setTangentOfStep(t))
    const dpu = f64(n)
    addCols(dvals, dpu)
    if (dP !== undefined) {
      const A = (dP as Mat<N, N>).data
      for (let e = 0; e < m; e++) for (let k = 0; k < n; k++) dpu[k] = dpu[k]! + A[k * n + idx[e]!]! * vals[e]!
    }
    let dgamma = 0
    if (how === 'gmax') dgamma = dgmax
    else if (how === 'ratio') {
      let dnum = 0, dden = 0
      for (let e = 0; e < m; e++) {
        const i = idx[e]!
        dnum -= ((dpx?.[i] ?? 0) + (dq?.[i] ?? 0)) * vals[e]! + gAt[e]! * dvals[e]!
        dden += dvals[e]! * pu[i]! + vals[e]! * dpu[i]!
      }
      dgamma = (dnum * den - num * dden) / (den * den)
    }
    const dxn = f64(n), dpxn = f64(n)
    if (dx !== undefined) dxn.set(dx)
    for (let e = 0; e < m; e++) dxn[idx[e]!] = dxn[idx[e]!]! + dgamma * vals[e]! + gamma * dvals[e]!
    for (let i = 0; i < n; i++) dpxn[i] = (dpx?.[i] ?? 0) + dgamma * pu[i]! + gamma * dpu[i]!
    return stateTangent<N>(dim, dxn, dpxn)
  }

  const bwd = (c: Tan<FwState<N>>): Tan<readonly [Params<N>, FwState<N>]> => {
    const cin = readStateCotangent<N>(c)
    if (cin === undefined) return Zero
    const cx = f64(n), cpx = f64(n), cq = f64(n)
    if (cin.cx !== undefined) cx.set(cin.cx)
    const cp = cin.cp
    let cgamma = 0
    const cv = f64(m)
    for (let e = 0; e < m; e++) { cgamma += vals[e]! * cx[idx[e]!]!; cv[e] = gamma * cx[idx[e]!]! }
    if (cp !== undefined) for (let i = 0; i < n; i++) { cgamma += cp[i]! * pu[i]!; cpx[i] = cp[i]! }
    let cnum = 0, cden = 0, cg = 0
    if (how === 'ratio') { cnum = cgamma / den; cden = (-cgamma * num) / (den * den) } else if (how === 'gmax') cg = cgamma
    const cpu = f64(n)
    if (cp !== undefined && gamma !== 0) for (let i = 0; i < n; i++) cpu[i] = gamma * cp[i]!
    for (let e = 0; e < m; e++) cpu[idx[e]!] = cpu[idx[e]!]! + cden * vals[e]!
    const dots = columnDots(p.P, Array.from(idx), cpu)
    for (let e = 0; e < m; e++) {
      const i = idx[e]!
      cv[e] = cv[e]! - cnum * gAt[e]! + cden * pu[i]! + dots[e]!
      cpx[i] = cpx[i]! - cnum * vals[e]!
      cq[i] = cq[i]! - cnum * vals[e]!
    }
    const acc = accFor(fs, n)
    dl.bwd(cv, cg, cx, acc)
    let cP: unknown = Zero
    if (p.P.kind === 'dense') {
      const us = f64(n)
      for (let e = 0; e < m; e++) us[idx[e]!] = us[idx[e]!]! + vals[e]!
      cP = outerSum({ dim: n, data: cpu }, { dim: n, data: us })
    }
    return cotangent<N>(dim, fs, cP, cq, acc, cx, cpx)
  }
  return [next, { fwd, bwd }]
}

// -------------------------------------------------------------------------------------
// the solver
// -------------------------------------------------------------------------------------

/**
 * The initial state as a differentiable map of θ: x₀ = `start(q)` (its derivative in the
 * set's parameters from `startLinear`), P x₀, and the paper's history sentinels.
 *
 * @example
 * const [s0] = setInitialState<N>(fs)(theta)
 */
export const setInitialState = <N>(fs: FeasibleSet): Diff<Params<N>, FwState<N>> => (p) => {
  const n = fs.n, dim = p.q.dim
  const x0 = fs.start!(p.q.data), px0 = f64(n)
  applyInto(p.P, x0, px0)
  const c = setCertificate(fs, px0, p.q.data, x0, rowAbsSums(p))
  const state: FwState<N> = { x: { dim, data: x0 }, px: { dim, data: px0 }, k: 0, f: -100, fPrev: 1000, gap: c.gap, gapFloor: c.gapFloor }
  const sl = fs.startLinear?.(p.q.data, x0)
  const lin: Linear<Params<N>, FwState<N>> = {
    fwd: (t) => {
      if (t === Zero) return Zero
      const dx = sl === undefined ? f64(n) : sl.fwd(setTangentOfStep([t, Zero]))
      const r = t as Record<string, unknown>
      const dP = r['P'] === undefined || r['P'] === Zero ? undefined : (r['P'] as Mat<N, N>)
      const dpx = f64(n)
      applyInto(p.P, dx, dpx)
      if (dP !== undefined) for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += dP.data[i * n + j]! * x0[j]!; dpx[i] = dpx[i]! + s }
      return stateTangent<N>(dim, dx, dpx)
    },
    bwd: (c0) => {
      const cin = readStateCotangent<N>(c0)
      if (cin === undefined) return Zero
      // x₀ enters directly and through P x₀: c_x₀ = c_x + Pᵀ c_Px (P symmetric)
      const cx = f64(n)
      if (cin.cx !== undefined) cx.set(cin.cx)
      let cP: unknown = Zero
      if (cin.cp !== undefined) {
        const t = f64(n)
        applyInto(p.P, cin.cp, t)
        for (let i = 0; i < n; i++) cx[i] = cx[i]! + t[i]!
        if (p.P.kind === 'dense') cP = outerSum({ dim: n, data: cin.cp }, { dim: n, data: x0 })
      }
      const acc = accFor(fs, n)
      sl?.bwd(cx, acc)
      const r: Record<string, unknown> = { P: cP, q: Zero, w: Zero, t: acc.t }
      if (acc.lower !== undefined) r['lower'] = { dim, data: acc.lower }
      if (acc.upper !== undefined) r['upper'] = { dim, data: acc.upper }
      if (fs.kind === 'capped-simplex') r['k'] = acc.k
      return r as unknown as Tan<Params<N>>
    }
  }
  return [state, lin]
}

/**
 * The unrolled solver θ ↦ final state on `fs`: the initial state, then the early-stopping
 * fold of {@link setStep} while `go` holds.
 *
 * @example
 * const [state, lin] = setSolver<N>(fs, (s) => s.k === 0 || s.gap > 1e-9, 5000)(theta)
 */
export const setSolver = <N>(fs: FeasibleSet, go: (s: FwState<N>) => boolean, maxIterations: number, options: D.FoldOptions = {}): Diff<Params<N>, FwState<N>> =>
  D.compose(D.foldWhile(setStep<N>(fs), go, maxIterations, options), D.withInit(setInitialState<N>(fs)))
