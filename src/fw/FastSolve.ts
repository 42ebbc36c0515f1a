/**
 * The forward pass of the default schedule without derivatives: the same steps as the
 * traced `fwStep` with the exact oracle and exact line search, in an allocation-free loop
 * over buffers the solve owns. Pairwise steps on the l1 ball and the simplex move two
 * coordinates, so P u is two columns of P (P symmetric) and a step costs O(n) for dense
 * and CSR P, O(n r) for diag + low rank — no matrix-vector product. Frank-Wolfe steps on
 * the l∞ and l2 balls cost one product.
 *
 * The implicit mode uses it: nothing differentiates its forward pass. It is pure: it
 * returns fresh vectors and never writes into θ.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import { applyInto, addColumnsInto, diagEntry, columnInto } from '../core/LinearOperator.js'
import type { Params, SetKind } from './Problem.js'
import { certificateAt, rowAbsSums, curvatureFloor, GAP_FLOOR_FACTOR, gapMet, awayAtom, boxCoordinate, chooseVertex, scoreNoise } from './Oracle.js'
import { f64, f64From } from '../shapes/alloc.js'
import type { FeasibleSet } from './sets/FeasibleSet.js'

/**
 * The outcome of a fast solve.
 *
 * @example
 * const r: FastResult<N> = fastSolve('simplex', theta, { maxIterations: 5000, tolerance: 1e-9 })
 * r.converged ? r.x : polish('simplex', theta, r.x)
 */
export interface FastResult<N> {
  readonly x: Vec<N>
  readonly px: Vec<N>
  readonly iterations: number
  readonly gap: number
  readonly f: number
  readonly converged: boolean
  /** A step direction u along which uᵀPu < 0 (P is not PSD), when one was met; the run stops there. */
  readonly negative?: { readonly direction: Float64Array; readonly curvature: number }
}

/**
 * Options of {@link fastSolve}.
 *
 * @example
 * fastSolve('l1', theta, {
 *   maxIterations: 5000,
 *   tolerance: 1e-9,
 *   callback: (k, gap, f) => gap <= 1e-6 * Math.abs(f) // stop early at a looser gap
 * })
 */
export interface FastOptions {
  readonly maxIterations: number
  /** Continue while gap > tolerance·|f| + the gap's rounding floor (`gapMet`); 0 runs every step. */
  readonly tolerance: number
  /**
   * Called after each step with (k, gap, f, x); returning true stops the run early (as
   * FrankWolfe.jl's callback). `x` is the solve's own buffer: read it, copy it, never keep
   * or write it.
   */
  readonly callback?: (k: number, gap: number, f: number, x: Float64Array) => boolean
  /** Start from these (x, P x) instead of the initial state. */
  readonly start?: { readonly x: Float64Array; readonly px: Float64Array; readonly k: number }
}

/**
 * Runs the default schedule's steps (see `defaultSchedule`) on θ.
 *
 * @example
 * fastSolve('l1', theta, { maxIterations: 5000, tolerance: 1e-9 }).x
 */
export const fastSolve = <N>(set: SetKind, theta: Params<N>, options: FastOptions): FastResult<N> => {
  const n = theta.q.dim as number
  const q = theta.q.data, w = theta.w.data, t = theta.t, P = theta.P
  const x = f64(n), px = f64(n), g = f64(n), noise = f64(n)
  const coef = f64(P.kind === 'lowRank' ? P.rank : 0)
  const pu = f64(n), s = f64(n)
  let k = 0
  if (options.start !== undefined) {
    x.set(options.start.x); px.set(options.start.px); k = options.start.k
  } else if (set === 'simplex') {
    let j = 0
    for (let i = 1; i < n; i++) if (q[i]! < q[j]!) j = i
    if (n > 0) { x[j] = t; addColumnsInto(P, j, t, -1, 0, px, coef) }
  }
  for (let i = 0; i < n; i++) g[i] = px[i]! + q[i]!
  const gv = { dim: theta.q.dim, data: g }
  const pAbs = rowAbsSums(theta)
  const c0 = certificateAt(set, px, q, x, w, t, pAbs)
  let f = c0.objective, gap = c0.gap, floor = c0.gapFloor
  let steps = 0
  // negative curvature along a step: uᵀPu below −1e-10·max Pᵢᵢ·‖u‖² is not rounding
  let pScale = 0
  for (let i = 0; i < n; i++) pScale = Math.max(pScale, Math.abs(diagEntry(P, i)))
  let negative: { direction: Float64Array; curvature: number } | undefined
  const curved = (upu: number, uu: number, fill: (d: Float64Array) => void): boolean => {
    if (!(upu < -1e-10 * Math.max(pScale, 1e-300) * uu)) return false
    const d = new Float64Array(n)
    fill(d)
    const s = Math.sqrt(uu)
    for (let i = 0; i < n; i++) d[i] = d[i]! / s
    negative = { direction: d, curvature: upu / uu }
    return true
  }
  const go = (): boolean => options.tolerance === 0 || (k === 0 && options.start === undefined) || !gapMet(gap, f, options.tolerance, floor)
  while (steps < options.maxIterations && go()) {
    if (set === 'l1' || set === 'simplex') {
      // the oracle's vertex s = σ_s c_s e_js and the away atom a = σ_a c_a e_ja (or 0)
      const vc = chooseVertex(set, gv, theta.w, scoreNoise(set, px, q, w, noise))
      const js = vc.kind === 'coordinate' ? vc.index : 0
      const ss = set === 'l1' ? (vc.kind === 'coordinate' ? vc.sign : 0) : 1
      const cs = set === 'l1' ? t / w[js]! : t
      const aw = awayAtom(set, g, x, w, t, px, q, vc.kind === 'coordinate' ? vc : undefined)
      const ja = aw.index, sa = aw.sign, ca = set === 'l1' && ja >= 0 ? t / w[ja]! : t
      const gmax = aw.weight
      // u = s − a, P u from two columns
      pu.fill(0)
      const us = ss * cs, ua = ja >= 0 ? sa * ca : 0
      addColumnsInto(P, us !== 0 ? js : -1, us, ja, -ua, pu, coef)
      let gu = us * g[js]!, upu = us * pu[js]!
      if (ja >= 0) { gu -= ua * g[ja]!; upu -= ua * pu[ja]! }
      if (curved(upu, us * us + (ja >= 0 && ja !== js ? ua * ua : 0), (d) => { d[js] = us; if (ja >= 0) d[ja] = d[ja]! - ua })) break
      const num = -gu
      let gamma: number
      if (!(upu > 0) || !Number.isFinite(num / upu)) gamma = num > 0 ? gmax : 0
      else if (num / upu >= gmax) gamma = gmax
      else gamma = Math.min(Infinity, Math.max(0, num / upu))
      x[js] = x[js]! + gamma * us
      if (ja >= 0) x[ja] = x[ja]! - gamma * ua
      for (let i = 0; i < n; i++) px[i] = px[i]! + gamma * pu[i]!
      if (ja >= 0 && gamma === gmax && ja !== js) x[ja] = 0
    } else if (set === 'linf') {
      // the box's pairwise step (Step.ts boxPairwiseDirection): one coordinate j, moved
      // towards sⱼ = −t·sign(gⱼ) with an exact line search, settled on the bound it reaches
      const j = boxCoordinate(g, x, t)
      if (j >= 0) {
        const sj = g[j]! > 0 ? -t : t, onBound = Math.abs(x[j]!) === t
        const sg = g[j]! > 0 ? 1 : -1
        const uj = onBound ? -2 * x[j]! : 2 * sj, gmax = onBound ? 1 : (t + sg * x[j]!) / (2 * t)
        pu.fill(0)
        addColumnsInto(P, j, uj, -1, 0, pu, coef)
        const num = -g[j]! * uj, upu = uj * pu[j]!
        if (curved(upu, uj * uj, (d) => { d[j] = uj })) break
        let gamma: number
        if (!(upu > 0) || !Number.isFinite(num / upu)) gamma = num > 0 ? gmax : 0
        else if (num / upu >= gmax) gamma = gmax
        else gamma = Math.max(0, num / upu)
        x[j] = gamma === gmax ? sj : x[j]! + gamma * uj
        for (let i = 0; i < n; i++) px[i] = px[i]! + gamma * pu[i]!
      }
    } else {
      // Frank-Wolfe step towards the dense vertex (the l2 ball)
      let nn = 0
      for (let i = 0; i < n; i++) nn += g[i]! * g[i]!
      nn = Math.sqrt(nn)
      for (let i = 0; i < n; i++) s[i] = nn > 0 ? (-t * g[i]!) / nn : 0
      applyInto(P, s, pu)
      let gu = 0, upu = 0
      for (let i = 0; i < n; i++) {
        const ui = s[i]! - x[i]!
        pu[i] = pu[i]! - px[i]!
        gu += g[i]! * ui
        upu += ui * pu[i]!
      }
      let uu = 0
      for (let i = 0; i < n; i++) uu += (s[i]! - x[i]!) ** 2
      if (curved(upu, uu, (d) => { for (let i = 0; i < n; i++) d[i] = s[i]! - x[i]! })) break
      const num = -gu
      let gamma: number
      if (!(upu > 0) || !Number.isFinite(num / upu)) gamma = num > 0 ? 1 : 0
      else if (num / upu >= 1) gamma = 1
      else gamma = Math.max(0, num / upu)
      for (let i = 0; i < n; i++) { x[i] = x[i]! + gamma * (s[i]! - x[i]!); px[i] = px[i]! + gamma * pu[i]! }
    }
    for (let i = 0; i < n; i++) g[i] = px[i]! + q[i]!
    k++
    steps++
    const c = certificateAt(set, px, q, x, w, t, pAbs)
    f = c.objective; gap = c.gap; floor = c.gapFloor
    if (options.callback !== undefined && options.callback(k, gap, f, x)) break
  }
  return {
    x: { dim: theta.q.dim, data: x },
    px: { dim: theta.q.dim, data: px },
    iterations: k,
    gap,
    f,
    converged: negative === undefined && options.tolerance > 0 && !go(),
    ...(negative === undefined ? {} : { negative })
  }
}

/**
 * The default schedule for a set that supplies its own steps (`FeasibleSet.direction`):
 * from `start(q)`, each step moves along the set's pairwise or away direction u with the
 * exact line search γ = clamp(−gᵀu/uᵀPu, 0, γmax), P u from the columns of u's entries
 * (one product when u is dense), snapping coordinates onto the bounds a step of γmax
 * reaches; it stops when the gap gᵀx − minₛ gᵀs meets the tolerance (as `gapMet`, with the
 * rounding floor of `certificateAt`) or the set has no descent step left. Negative
 * curvature along a step stops the run with the evidence.
 *
 * @example
 * fastSolveSet(resolveSet('box', theta), theta, { maxIterations: 5000, tolerance: 1e-9 }).x
 */
export const fastSolveSet = <N>(set: FeasibleSet, theta: Params<N>, options: FastOptions): FastResult<N> => {
  const n = set.n, P = theta.P, q = theta.q.data, dim = theta.q.dim
  const direction = set.direction!
  const x = options.start !== undefined ? f64From(options.start.x) : set.start!(q)
  const px = f64(n), g = f64(n), pu = f64(n), col = f64(n)
  if (options.start !== undefined) px.set(options.start.px)
  else applyInto(P, x, px)
  const pAbs = rowAbsSums(theta), reach = set.reach
  let k = options.start?.k ?? 0
  let f = 0, gap = 0, floor = 0
  const certify = (): void => {
    let fx = 0, gx = 0, sc = 0, sa = 0, xm = 0
    for (let i = 0; i < n; i++) {
      const gi = px[i]! + q[i]!
      g[i] = gi
      fx += x[i]! * (0.5 * px[i]! + q[i]!)
      gx += gi * x[i]!
      sc += reach[i]! * Math.abs(q[i]!)
      sa += reach[i]! * pAbs[i]!
      xm = Math.max(xm, Math.abs(x[i]!))
    }
    f = fx
    gap = Math.max(0, gx - set.lmoValue(g))
    floor = GAP_FLOOR_FACTOR * Number.EPSILON * (sc + sa * xm)
  }
  certify()
  let steps = 0, negative: { direction: Float64Array; curvature: number } | undefined, stuck = false
  const go = (): boolean => options.tolerance === 0 || (k === 0 && options.start === undefined) || !gapMet(gap, f, options.tolerance, floor)
  const floorCurv = curvatureFloor(theta)
  while (steps < options.maxIterations && go()) {
    const d = direction(x, g)
    if (d === undefined) { stuck = true; break }
    // P u: columns of u's entries (dense, CSR), or one product (diag + low rank, whose
    // column costs as much as the product, and any u with many entries). A dense P's
    // columns are read as its rows (contiguous; a strided column costs 10–20× more at
    // n = 2500, which dominated the Birkhoff polytope's steps of 2m entries): the layer has
    // checked P's symmetry entry by entry, and the fast solve only warm-starts the polish
    pu.fill(0)
    if (d.idx !== undefined && d.idx.length * 4 <= n && P.kind === 'dense') {
      const A = P.mat.data
      for (let e = 0; e < d.idx.length; e++) {
        const c = d.vals[e]!, o = d.idx[e]! * n
        if (c !== 0) for (let i = 0; i < n; i++) pu[i] = pu[i]! + c * A[o + i]!
      }
    } else if (d.idx !== undefined && d.idx.length * 4 <= n && P.kind === 'csr') {
      for (let e = 0; e < d.idx.length; e++) {
        const c = d.vals[e]!
        if (c === 0) continue
        columnInto(P, d.idx[e]!, col)
        for (let i = 0; i < n; i++) pu[i] = pu[i]! + c * col[i]!
      }
    } else {
      const u = d.idx === undefined ? d.vals : f64(n)
      if (d.idx !== undefined) for (let e = 0; e < d.idx.length; e++) u[d.idx[e]!] = u[d.idx[e]!]! + d.vals[e]!
      applyInto(P, u, pu)
    }
    let gu = 0, upu = 0, uu = 0
    const each = (i: number, c: number): void => { gu += g[i]! * c; upu += pu[i]! * c; uu += c * c }
    if (d.idx === undefined) for (let i = 0; i < n; i++) each(i, d.vals[i]!)
    else for (let e = 0; e < d.idx.length; e++) each(d.idx[e]!, d.vals[e]!)
    if (upu < -floorCurv * uu) {
      const dir = f64(n), s = Math.sqrt(uu)
      if (d.idx === undefined) for (let i = 0; i < n; i++) dir[i] = d.vals[i]! / s
      else for (let e = 0; e < d.idx.length; e++) dir[d.idx[e]!] = dir[d.idx[e]!]! + d.vals[e]! / s
      negative = { direction: dir, curvature: upu / uu }
      break
    }
    const num = -gu
    let gamma: number
    if (!(upu > 0) || !Number.isFinite(num / upu)) gamma = num > 0 ? d.gmax : 0
    else gamma = Math.min(d.gmax, Math.max(0, num / upu))
    if (gamma === 0) { stuck = true; break }
    if (d.idx === undefined) for (let i = 0; i < n; i++) x[i] = x[i]! + gamma * d.vals[i]!
    else for (let e = 0; e < d.idx.length; e++) x[d.idx[e]!] = x[d.idx[e]!]! + gamma * d.vals[e]!
    if (gamma === d.gmax && d.snap !== undefined) for (const [i, v] of d.snap) x[i] = v
    for (let i = 0; i < n; i++) px[i] = px[i]! + gamma * pu[i]!
    k++
    steps++
    certify()
    if (options.callback !== undefined && options.callback(k, gap, f, x)) break
  }
  return {
    x: { dim, data: x }, px: { dim, data: px }, iterations: k, gap, f,
    converged: negative === undefined && options.tolerance > 0 && (!go() || stuck),
    ...(negative === undefined ? {} : { negative })
  }
}
