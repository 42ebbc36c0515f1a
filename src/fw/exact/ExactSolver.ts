/**
 * The exact reference solver: minimize ½ xᵀP x + qᵀx over a set C, to KKT residuals near
 * machine precision. It is the ground truth for the tests, the demo and the bench, not a
 * fast path: it runs accelerated projected gradient (FISTA with adaptive restart), then
 * identifies the active face and polishes by solving the face's KKT system exactly with
 * dense linear algebra (O(|face|³)).
 *
 * Multiplier conventions (`lambda`):
 * - `l1`: g + λ w ⊙ ∂|x| ∋ 0 with λ ≥ 0, λ (t − Σ wᵢ|xᵢ|) = 0 (g = P x + q).
 * - `simplex`: gᵢ + ν = μᵢ ≥ 0, μᵢ xᵢ = 0; `lambda` is ν (any sign).
 * - `linf`: the multiplier of ‖x‖∞ ≤ t, λ = Σ over bound coordinates of |gᵢ|; the
 *   per-coordinate multipliers μᵢ = −sign(xᵢ) gᵢ ≥ 0 are in the face.
 * - `l2`: (P + λI) x = −q with λ ≥ 0 (the multiplier of ½(‖x‖² − t²) ≤ 0).
 *
 * @since 0.1.0
 */
import type { Vec } from '../../shapes/Vec.js'
import type { Params, SetKind } from '../Problem.js'
import { type LinearOperator, applyInto, diagEntry, toDense } from '../../core/LinearOperator.js'
import { powerIteration } from '../../core/PowerIteration.js'
import { project, supportFunction } from './Projection.js'
import { backSolveT, cholesky, forwardSolve, luFactor, luSolve, range, subMatrix } from './internal.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The active face of the weighted l1 ball: the support S (indices with xᵢ ≠ 0, ascending),
 * their signs σ, and whether Σ wᵢ|xᵢ| = t binds. When it does not bind, the derivative
 * treats every coordinate as free.
 *
 * @example
 * const { face } = solveExact('l1', params)
 * if (face.set === 'l1' && face.binding) face.support // S, with signs face.signs
 */
export interface L1Face {
  readonly set: 'l1'
  readonly support: Int32Array
  readonly signs: Int8Array
  readonly binding: boolean
}

/**
 * The active face of the simplex: the support S (indices with xᵢ > 0, ascending).
 *
 * @example
 * const { face } = solveExact('simplex', params)
 * if (face.set === 'simplex') face.support.length // how many xᵢ > 0
 */
export interface SimplexFace {
  readonly set: 'simplex'
  readonly support: Int32Array
}

/**
 * The active face of the box: the free coordinates (|xᵢ| < t), the bound ones (xᵢ = ±t)
 * with their signs σ, and the bound coordinates' multipliers μᵢ = −σᵢ gᵢ ≥ 0.
 *
 * @example
 * const { face } = solveExact('linf', params)
 * if (face.set === 'linf') face.bound.forEach((i, k) => face.mu[k]) // μ of xᵢ = σᵢ t
 */
export interface LinfFace {
  readonly set: 'linf'
  readonly free: Int32Array
  readonly bound: Int32Array
  readonly signs: Int8Array
  readonly mu: Float64Array
}

/**
 * The active face of the l2 ball: whether ‖x‖₂ = t binds.
 *
 * @example
 * const sol = solveExact('l2', params)
 * if (sol.face.set === 'l2' && sol.face.binding) sol.lambda // λ ≥ 0 of ‖x‖ = t
 */
export interface L2Face {
  readonly set: 'l2'
  readonly binding: boolean
}

/**
 * An active face, tagged by its set.
 *
 * @example
 * const face: Face = solveExact(set, params).face
 * face.set === 'linf' ? face.free : face.set === 'l2' ? face.binding : face.support
 */
export type Face = L1Face | SimplexFace | LinfFace | L2Face

/**
 * Options of {@link solveExact}.
 *
 * @example
 * solveExact('l2', params, { tolerance: 1e-13, maxIterations: 50_000, lipschitz: 2 * n })
 */
export interface ExactOptions {
  /** Accept a polished point once its {@link kktResidual} is at most this (default 1e-12). */
  readonly tolerance?: number
  /** The most FISTA iterations (default 20 000). */
  readonly maxIterations?: number
  /** An upper bound of λmax(P); default: power iteration (tolerance 1e-6·maxᵢ Pᵢᵢ, at most 1 000 steps) × 1.001, then backtracking. */
  readonly lipschitz?: number
}

/**
 * The reference solution and its certificate.
 *
 * @example
 * const sol: ExactSolution<N> = solveExact('l1', params)
 * sol.polished && sol.kktResidual <= 1e-12 // an exact face solve, certified
 * sol.fwGap                                 // ≥ f(x) − f*, in objective units
 */
export interface ExactSolution<N> {
  readonly x: Vec<N>
  /** ½ xᵀP x + qᵀx */
  readonly objective: number
  /** The multiplier, in the set's convention (see the module comment). */
  readonly lambda: number
  readonly face: Face
  /** {@link kktResidual} of (x, lambda): relative, dimensionless. */
  readonly kktResidual: number
  /** The Frank-Wolfe gap gᵀx + h_C(−g) ≥ f(x) − f*, in objective units. */
  readonly fwGap: number
  /** FISTA iterations run (0 when P = 0: the linear program is solved by its oracle). */
  readonly iterations: number
  /** Whether the returned point came from an exact face solve (false: the best FISTA iterate). */
  readonly polished: boolean
  /** How many face polishes were tried. */
  readonly polishAttempts: number
}

// -------------------------------------------------------------------------------------
// residual
// -------------------------------------------------------------------------------------

const gradientOf = <N>(P: LinearOperator<N>, q: Float64Array, x: Float64Array): Float64Array => {
  const g = new Float64Array(x.length)
  applyInto(P, x, g)
  for (let i = 0; i < g.length; i++) g[i] = g[i]! + q[i]!
  return g
}

const infNorm = (a: Float64Array): number => {
  let m = 0
  for (const v of a) m = Math.max(m, Math.abs(v))
  return m
}

/**
 * The relative KKT residual of a point x with multiplier `lambda` (see the module
 * comment for the conventions; `linf` ignores `lambda` and reads μ from g). With
 * g = P x + q and the gradient scale s = max(‖q‖∞, ‖P x‖∞, |λ|·c) (c = max w for `l1`,
 * 1 for `simplex`, ‖x‖∞ for `l2`), it is the largest of
 * - stationarity / s: `l1` |gᵢ + λwᵢ sign xᵢ| on xᵢ ≠ 0 and (|gᵢ| − λwᵢ)₊ on xᵢ = 0;
 *   `simplex` |gᵢ + ν| on xᵢ > 0 and (−gᵢ − ν)₊ on xᵢ = 0; `linf` |gᵢ| on |xᵢ| < t and
 *   (σᵢ gᵢ)₊ on xᵢ = σᵢ t; `l2` ‖g + λx‖∞;
 * - primal infeasibility / t (for the simplex also |Σx − t|/t and maxᵢ(−xᵢ)₊/t);
 * - dual infeasibility (−λ)₊·c / s (not for the simplex);
 * - complementarity (|λ|·c / s)·|t − ‖x‖|/t for `l1` and `l2`.
 *
 * @example
 * kktResidual('l1', params, sol.x, sol.lambda) // ≈ 1e-16 at an exact solution
 */
export const kktResidual = <N>(set: SetKind, params: Params<N>, x: Vec<N>, lambda: number): number => {
  const xs = x.data, q = params.q.data, t = params.t, n = xs.length
  const Px = new Float64Array(n)
  applyInto(params.P, xs, Px)
  const g = new Float64Array(n)
  for (let i = 0; i < n; i++) g[i] = Px[i]! + q[i]!
  let s = Math.max(infNorm(q), infNorm(Px))
  const ts = t > 0 ? t : 1
  let stat = 0, pfeas = 0, dfeas = 0, comp = 0
  switch (set) {
    case 'l1': {
      const w = params.w.data
      const c = infNorm(w)
      s = Math.max(s, Math.abs(lambda) * c) || 1
      let nrm = 0
      for (let i = 0; i < n; i++) {
        const xi = xs[i]!
        nrm += w[i]! * Math.abs(xi)
        stat = Math.max(stat, xi !== 0 ? Math.abs(g[i]! + lambda * w[i]! * Math.sign(xi)) : Math.abs(g[i]!) - lambda * w[i]!)
      }
      pfeas = Math.max(0, nrm - t) / ts
      dfeas = Math.max(0, -lambda) * c / s
      comp = (Math.abs(lambda) * c / s) * Math.abs(t - nrm) / ts
      break
    }
    case 'simplex': {
      s = Math.max(s, Math.abs(lambda)) || 1
      let sum = 0
      for (let i = 0; i < n; i++) {
        const xi = xs[i]!
        sum += xi
        if (xi > 0) stat = Math.max(stat, Math.abs(g[i]! + lambda))
        else stat = Math.max(stat, -(g[i]! + lambda))
        pfeas = Math.max(pfeas, -xi / ts)
      }
      pfeas = Math.max(pfeas, Math.abs(sum - t) / ts)
      break
    }
    case 'linf': {
      s = s || 1
      for (let i = 0; i < n; i++) {
        const xi = xs[i]!
        if (xi >= t) stat = Math.max(stat, g[i]!)
        else if (xi <= -t) stat = Math.max(stat, -g[i]!)
        else stat = Math.max(stat, Math.abs(g[i]!))
        pfeas = Math.max(pfeas, (Math.abs(xi) - t) / ts)
      }
      break
    }
    case 'l2': {
      const c = infNorm(xs)
      s = Math.max(s, Math.abs(lambda) * c) || 1
      let ss = 0
      for (let i = 0; i < n; i++) { ss += xs[i]! ** 2; stat = Math.max(stat, Math.abs(g[i]! + lambda * xs[i]!)) }
      const nrm = Math.sqrt(ss)
      pfeas = Math.max(0, nrm - t) / ts
      dfeas = Math.max(0, -lambda) * c / s
      comp = (Math.abs(lambda) * c / s) * Math.abs(t - nrm) / ts
      break
    }
  }
  return Math.max(stat / s, pfeas, dfeas, comp, 0)
}

// -------------------------------------------------------------------------------------
// faces
// -------------------------------------------------------------------------------------

const signsOf = (x: Float64Array, idx: Int32Array): Int8Array => Int8Array.from(idx, (i) => Math.sign(x[i]!))

const nonzeros = (x: Float64Array, positive = false): Int32Array => {
  const out: number[] = []
  for (let i = 0; i < x.length; i++) if (positive ? x[i]! > 0 : x[i] !== 0) out.push(i)
  return Int32Array.from(out)
}

const weightedL1 = (x: Float64Array, w: Float64Array): number => {
  let s = 0
  for (let i = 0; i < x.length; i++) s += w[i]! * Math.abs(x[i]!)
  return s
}

const norm2 = (x: Float64Array): number => {
  let s = 0
  for (const v of x) s += v * v
  return Math.sqrt(s)
}

/** The face a point lies on, read off exactly (projections produce exact zeros and bounds). */
const faceOf = (set: SetKind, x: Float64Array, g: Float64Array, w: Float64Array, t: number, bindingTol = 1e-12): Face => {
  switch (set) {
    case 'l1': {
      const support = nonzeros(x)
      return { set, support, signs: signsOf(x, support), binding: weightedL1(x, w) >= t * (1 - bindingTol) }
    }
    case 'simplex':
      return { set, support: nonzeros(x, true) }
    case 'linf': {
      const free: number[] = [], bound: number[] = []
      for (let i = 0; i < x.length; i++) (Math.abs(x[i]!) >= t ? bound : free).push(i)
      const b = Int32Array.from(bound)
      const signs = signsOf(x, b)
      return { set, free: Int32Array.from(free), bound: b, signs, mu: Float64Array.from(b, (i, k) => -signs[k]! * g[i]!) }
    }
    case 'l2':
      return { set, binding: norm2(x) >= t * (1 - bindingTol) }
  }
}

const faceHash = (set: SetKind, x: Float64Array, w: Float64Array, t: number): number => {
  let h = 0x811c9dc5
  const mix = (v: number): void => { h = Math.imul(h ^ v, 16777619) }
  switch (set) {
    case 'l1':
      for (let i = 0; i < x.length; i++) mix(Math.sign(x[i]!) + 2)
      mix(weightedL1(x, w) >= t * (1 - 1e-12) ? 7 : 11)
      break
    case 'simplex':
      for (let i = 0; i < x.length; i++) mix(x[i]! > 0 ? 3 : 5)
      break
    case 'linf':
      for (let i = 0; i < x.length; i++) mix(x[i]! >= t ? 3 : x[i]! <= -t ? 5 : 7)
      break
    case 'l2':
      mix(norm2(x) >= t * (1 - 1e-12) ? 3 : 5)
      break
  }
  return h >>> 0
}

/** A multiplier estimate at a point on its face, for points that were not polished. */
const multiplierOf = (set: SetKind, x: Float64Array, g: Float64Array, w: Float64Array, t: number): number => {
  switch (set) {
    case 'l1': {
      let num = 0, den = 0
      for (let i = 0; i < x.length; i++) {
        if (x[i] === 0) continue
        const a = Math.sign(x[i]!) * w[i]!
        num -= a * g[i]!
        den += a * a
      }
      return den > 0 && weightedL1(x, w) >= t * (1 - 1e-9) ? Math.max(0, num / den) : 0
    }
    case 'simplex': {
      let s = 0, c = 0
      for (let i = 0; i < x.length; i++) if (x[i]! > 0) { s -= g[i]!; c++ }
      return c > 0 ? s / c : 0
    }
    case 'linf': {
      let s = 0
      for (let i = 0; i < x.length; i++) if (Math.abs(x[i]!) >= t) s += Math.abs(g[i]!)
      return s
    }
    case 'l2': {
      let gx = 0, xx = 0
      for (let i = 0; i < x.length; i++) { gx += g[i]! * x[i]!; xx += x[i]! * x[i]! }
      return xx > 0 && Math.sqrt(xx) >= t * (1 - 1e-9) ? Math.max(0, -gx / xx) : 0
    }
  }
}

// -------------------------------------------------------------------------------------
// polish
// -------------------------------------------------------------------------------------

interface Candidate {
  readonly x: Float64Array
  readonly lambda: number
}

/**
 * Solves a face system from a start point by Newton steps (iterative refinement): the
 * coordinates `free` are unknown, the others keep their values in `start`; with a row a
 * (over `free`), the system is [P_FF a; aᵀ 0][δ; λ] = [−(g_F + λa); c − aᵀx_F].
 */
const faceSolve = <N>(
  P: LinearOperator<N>, q: Float64Array, free: Int32Array, start: Float64Array,
  row: Float64Array | undefined, c: number
): Candidate => {
  const n = start.length, m = free.length, M = m + (row === undefined ? 0 : 1)
  const x = Float64Array.from(start)
  if (M === 0) return { x, lambda: 0 }
  const Pff = subMatrix(P, free, free)
  const K = new Float64Array(M * M)
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) K[i * M + j] = Pff[i * m + j]!
  if (row !== undefined) for (let i = 0; i < m; i++) { K[i * M + m] = row[i]!; K[m * M + i] = row[i]! }
  const f = luFactor(K, M)
  let mult = 0
  const g = new Float64Array(n), rhs = new Float64Array(M)
  for (let it = 0; it < 4; it++) {
    applyInto(P, x, g)
    let ax = 0
    for (let i = 0; i < m; i++) {
      const k = free[i]!
      rhs[i] = -(g[k]! + q[k]! + (row === undefined ? 0 : mult * row[i]!))
      if (row !== undefined) ax += row[i]! * x[k]!
    }
    if (row !== undefined) rhs[m] = c - ax
    const z = luSolve(f, rhs, 1)
    let dz = 0, xm = 0
    for (let i = 0; i < m; i++) {
      const k = free[i]!
      x[k] = x[k]! + z[i]!
      dz = Math.max(dz, Math.abs(z[i]!))
      xm = Math.max(xm, Math.abs(x[k]!))
    }
    if (row !== undefined) mult += z[m]!
    if (dz <= 1e-17 * xm && (row === undefined || Math.abs(z[m]!) <= 1e-17 * Math.abs(mult))) break
  }
  return { x, lambda: mult }
}

const MAX_ROUNDS = 40

/** Primal active-set rounds on the weighted l1 ball's binding face, from the support of `x0`. */
const polishL1Binding = <N>(P: LinearOperator<N>, q: Float64Array, w: Float64Array, t: number, x0: Float64Array): Candidate | undefined => {
  const n = x0.length
  let x = Float64Array.from(x0)
  const sign = new Int8Array(n)
  for (let i = 0; i < n; i++) sign[i] = Math.sign(x[i]!)
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let S = Int32Array.from(range(n).filter((i) => sign[i] !== 0))
    if (S.length === 0) {
      const g = gradientOf(P, q, x)
      let k = 0, best = -1
      for (let i = 0; i < n; i++) { const r = Math.abs(g[i]!) / w[i]!; if (r > best) { best = r; k = i } }
      sign[k] = g[k]! > 0 ? -1 : 1
      S = Int32Array.of(k)
    }
    const row = Float64Array.from(S, (i) => sign[i]! * w[i]!)
    const start = new Float64Array(n)
    for (const i of S) start[i] = x[i]!
    const c = faceSolve(P, q, S, start, row, t)
    x = Float64Array.from(c.x)
    const lambda = c.lambda
    const g = gradientOf(P, q, x)
    const scale = Math.max(infNorm(q), infNorm(g) + infNorm(q), Math.abs(lambda) * infNorm(w)) || 1
    if (lambda < -1e-12 * scale) return undefined
    let changed = false
    for (const i of S) if (sign[i]! * x[i]! < 0) { sign[i] = 0; x[i] = 0; changed = true }
    if (changed) continue
    for (let i = 0; i < n; i++) {
      if (sign[i] === 0 && Math.abs(g[i]!) > lambda * w[i]! + 1e-13 * scale) { sign[i] = g[i]! > 0 ? -1 : 1; changed = true }
    }
    if (!changed) return c
  }
  return undefined
}

const polishL1Free = <N>(P: LinearOperator<N>, q: Float64Array, w: Float64Array, t: number, x0: Float64Array): Candidate | undefined => {
  const c = faceSolve(P, q, range(x0.length), x0, undefined, 0)
  return weightedL1(c.x, w) <= t * (1 + 1e-12) ? c : undefined
}

const polishSimplex = <N>(P: LinearOperator<N>, q: Float64Array, t: number, x0: Float64Array): Candidate | undefined => {
  const n = x0.length
  let x = Float64Array.from(x0)
  const on = new Uint8Array(n)
  for (let i = 0; i < n; i++) on[i] = x[i]! > 0 ? 1 : 0
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let S = Int32Array.from(range(n).filter((i) => on[i] === 1))
    if (S.length === 0) {
      const g = gradientOf(P, q, x)
      let k = 0
      for (let i = 1; i < n; i++) if (g[i]! < g[k]!) k = i
      on[k] = 1
      S = Int32Array.of(k)
    }
    const start = new Float64Array(n)
    for (const i of S) start[i] = x[i]!
    const c = faceSolve(P, q, S, start, new Float64Array(S.length).fill(1), t)
    x = Float64Array.from(c.x)
    const g = gradientOf(P, q, x)
    const scale = Math.max(infNorm(q), infNorm(g) + infNorm(q), Math.abs(c.lambda)) || 1
    let changed = false
    for (const i of S) if (x[i]! < 0) { on[i] = 0; x[i] = 0; changed = true }
    if (changed) continue
    for (let i = 0; i < n; i++) if (on[i] === 0 && g[i]! + c.lambda < -1e-13 * scale) { on[i] = 1; changed = true }
    if (!changed) return c
  }
  return undefined
}

const polishLinf = <N>(P: LinearOperator<N>, q: Float64Array, t: number, x0: Float64Array): Candidate | undefined => {
  const n = x0.length
  let x = Float64Array.from(x0)
  const st = new Int8Array(n)
  for (let i = 0; i < n; i++) st[i] = x[i]! >= t ? 1 : x[i]! <= -t ? -1 : 0
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const F = Int32Array.from(range(n).filter((i) => st[i] === 0))
    const start = Float64Array.from(x)
    for (let i = 0; i < n; i++) if (st[i] !== 0) start[i] = st[i]! * t
    const c = faceSolve(P, q, F, start, undefined, 0)
    x = Float64Array.from(c.x)
    const g = gradientOf(P, q, x)
    const scale = Math.max(infNorm(q), infNorm(g) + infNorm(q)) || 1
    let changed = false
    for (const i of F) if (Math.abs(x[i]!) > t) { st[i] = x[i]! > 0 ? 1 : -1; x[i] = st[i]! * t; changed = true }
    if (changed) continue
    for (let i = 0; i < n; i++) if (st[i] !== 0 && st[i]! * g[i]! > 1e-13 * scale) { st[i] = 0; changed = true }
    if (!changed) {
      let lambda = 0
      for (let i = 0; i < n; i++) if (st[i] !== 0) lambda += Math.abs(g[i]!)
      return { x, lambda }
    }
  }
  return undefined
}

/**
 * The l2 ball's binding face: the root λ > 0 of ‖(P + λI)⁻¹q‖ = t by safeguarded Newton
 * on 1/‖x(λ)‖ − 1/t (Moré–Sorensen), bracketed in (0, ‖q‖/t], with a Cholesky factor per step.
 */
const polishL2Binding = <N>(P: LinearOperator<N>, q: Float64Array, t: number, lambda0: number): Candidate | undefined => {
  const n = q.length
  const qn = norm2(q)
  if (qn === 0) return undefined
  const A = subMatrix(P, range(n), range(n))
  const mq = Float64Array.from(q, (v) => -v)
  let lo = 0, hi = qn / t
  let lambda = lambda0 > lo && lambda0 < hi ? lambda0 : 0
  let best: Candidate | undefined
  for (let it = 0; it < 300; it++) {
    const L = cholesky(A, n, lambda)
    if (L === undefined) {
      lo = Math.max(lo, lambda)
      lambda = lo === 0 ? hi * 1e-12 : (lo + hi) / 2
      if (lambda === lo) lambda = (lo + hi) / 2
      continue
    }
    let x = backSolveT(L, n, forwardSolve(L, n, mq))
    // one step of iterative refinement on (P + λI) x = −q
    const r = gradientOf(P, q, x)
    for (let i = 0; i < n; i++) r[i] = -(r[i]! + lambda * x[i]!)
    const dx = backSolveT(L, n, forwardSolve(L, n, r))
    x = Float64Array.from(x, (v, i) => v + dx[i]!)
    const rn = norm2(x)
    best = { x, lambda }
    if (Math.abs(rn - t) <= 2e-16 * t) break
    if (rn > t) lo = lambda
    else hi = lambda
    const wv = forwardSolve(L, n, x)
    const ww = wv.reduce((s, v) => s + v * v, 0)
    const next = lambda + (rn * rn / ww) * (rn - t) / t
    lambda = next > lo && next < hi ? next : (lo + hi) / 2
    if (hi - lo <= 1e-16 * hi) break
  }
  if (best === undefined || norm2(best.x) < t * (1 - 1e-9)) return undefined
  return best
}

const polishL2Free = <N>(P: LinearOperator<N>, q: Float64Array, t: number, x0: Float64Array): Candidate | undefined => {
  const c = faceSolve(P, q, range(x0.length), x0, undefined, 0)
  return norm2(c.x) <= t * (1 + 1e-12) ? c : undefined
}

const polish = <N>(set: SetKind, params: Params<N>, x0: Float64Array): Candidate[] => {
  const P = params.P, q = params.q.data, w = params.w.data, t = params.t
  const tries: Array<() => Candidate | undefined> = []
  switch (set) {
    case 'l1': {
      const binding = weightedL1(x0, w) >= t * (1 - 1e-9)
      const b = (): Candidate | undefined => polishL1Binding(P, q, w, t, x0)
      const f = (): Candidate | undefined => polishL1Free(P, q, w, t, x0)
      tries.push(...(binding ? [b, f] : [f, b]))
      break
    }
    case 'simplex':
      tries.push(() => polishSimplex(P, q, t, x0))
      break
    case 'linf':
      tries.push(() => polishLinf(P, q, t, x0))
      break
    case 'l2': {
      const binding = norm2(x0) >= t * (1 - 1e-9)
      const lambda0 = multiplierOf(set, x0, gradientOf(P, q, x0), w, t)
      const b = (): Candidate | undefined => polishL2Binding(P, q, t, lambda0)
      const f = (): Candidate | undefined => polishL2Free(P, q, t, x0)
      tries.push(...(binding ? [b, f] : [f, b]))
      break
    }
  }
  return tries.map((f) => f()).filter((c): c is Candidate => c !== undefined)
}

// -------------------------------------------------------------------------------------
// the linear program (P = 0)
// -------------------------------------------------------------------------------------

const linearSolution = (set: SetKind, q: Float64Array, w: Float64Array, t: number): Candidate => {
  const n = q.length, x = new Float64Array(n)
  switch (set) {
    case 'l1': {
      let k = -1, best = 0
      for (let i = 0; i < n; i++) { const r = Math.abs(q[i]!) / w[i]!; if (r > best) { best = r; k = i } }
      if (k >= 0) x[k] = -Math.sign(q[k]!) * t / w[k]!
      return { x, lambda: best }
    }
    case 'linf': {
      let lambda = 0
      for (let i = 0; i < n; i++) { x[i] = -Math.sign(q[i]!) * t; lambda += Math.abs(q[i]!) }
      return { x, lambda }
    }
    case 'l2': {
      const qn = norm2(q)
      if (qn > 0) for (let i = 0; i < n; i++) x[i] = -t * q[i]! / qn
      return { x, lambda: qn / t }
    }
    case 'simplex': {
      let k = 0
      for (let i = 1; i < n; i++) if (q[i]! < q[k]!) k = i
      x[k] = t
      return { x, lambda: -q[k]! }
    }
  }
}

// -------------------------------------------------------------------------------------
// the solver
// -------------------------------------------------------------------------------------

const checkParams = <N>(set: SetKind, params: Params<N>): void => {
  const t = params.t
  if (!(t > 0) || !Number.isFinite(t)) throw new RangeError(`solveExact: t must be finite and > 0, got ${String(t)}`)
  if (set === 'l1') {
    for (const v of params.w.data) if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`solveExact: weights must be finite and > 0, got ${String(v)}`)
  }
}

const finish = <N>(
  set: SetKind, params: Params<N>, c: Candidate, iterations: number, polished: boolean, polishAttempts: number
): ExactSolution<N> => {
  const n = params.q.dim, q = params.q.data, w = params.w.data, t = params.t
  const x: Vec<N> = { dim: n, data: c.x }
  const Px = new Float64Array(n)
  applyInto(params.P, c.x, Px)
  let quad = 0, lin = 0
  for (let i = 0; i < n; i++) { quad += c.x[i]! * Px[i]!; lin += q[i]! * c.x[i]! }
  const g = Float64Array.from(Px, (v, i) => v + q[i]!)
  const mg: Vec<N> = { dim: n, data: Float64Array.from(g, (v) => -v) }
  let gx = 0
  for (let i = 0; i < n; i++) gx += g[i]! * c.x[i]!
  return {
    x,
    objective: 0.5 * quad + lin,
    lambda: c.lambda,
    face: faceOf(set, c.x, g, w, t),
    kktResidual: kktResidual(set, params, x, c.lambda),
    fwGap: Math.max(0, gx + supportFunction(set, mg, params.w, t)),
    iterations,
    polished,
    polishAttempts
  }
}

/**
 * Solves min ½ xᵀP x + qᵀx over the set exactly (P symmetric PSD, t > 0, w > 0 for `l1`).
 *
 * FISTA with gradient-based adaptive restart runs from proj(0) with step 1/L (L from
 * power iteration, doubled by backtracking whenever dᵀPd > L‖d‖²). Whenever the face of
 * the iterate (support and signs, bound coordinates, whether the constraint binds) has
 * been stable for 3 iterations, and at iterations 64, 128, 256, …, the face's KKT system
 * is solved exactly (complete-pivoting LU with refinement; the l2 ball's secular equation
 * by safeguarded Newton), corrected by primal active-set rounds if a sign or multiplier
 * is wrong, and accepted once {@link kktResidual} ≤ `tolerance` (default 1e-12);
 * otherwise FISTA continues. After `maxIterations` the best point seen is returned with
 * its honest residual. P = 0 is solved by the linear minimization oracle (a vertex).
 *
 * Cost: O(n²) per FISTA step for dense P, O(|face|³) per polish, O(n²) memory for the
 * sub-matrices: this is the reference, not the fast path.
 *
 * @example
 * const p = withDim(50, (n) => paperProblem(n, 0))
 * const sol = solveExact('l1', p)
 * sol.kktResidual // ≈ 1e-16
 */
export const solveExact = <N>(set: SetKind, params: Params<N>, options: ExactOptions = {}): ExactSolution<N> => {
  checkParams(set, params)
  const P = params.P, q = params.q.data, w = params.w.data, t = params.t
  const n = params.q.dim as number
  const tol = options.tolerance ?? 1e-12
  const maxIt = options.maxIterations ?? 20000
  const proj = (v: Float64Array): Float64Array => project(set, { dim: params.q.dim, data: v }, params.w, t).data
  let dmax = 0
  for (let i = 0; i < n; i++) dmax = Math.max(dmax, Math.abs(diagEntry(P, i)))
  let L = options.lipschitz ?? powerIteration(P, { tolerance: 1e-6 * dmax, maxIterations: 1000 }).value * 1.001
  if (!(L > 0)) {
    const D = toDense(P).data
    let fro = 0
    for (const v of D) fro += v * v
    if (fro === 0) return finish(set, params, linearSolution(set, q, w, t), 0, true, 0)
    L = Math.sqrt(fro)
  }

  let best: { c: Candidate; res: number; polished: boolean } | undefined
  let attempts = 0
  const consider = (c: Candidate, polished: boolean): number => {
    const res = kktResidual(set, params, { dim: params.q.dim, data: c.x }, c.lambda)
    if (best === undefined || res < best.res) best = { c, res, polished }
    return res
  }

  let x = proj(new Float64Array(n))
  let Px = new Float64Array(n)
  applyInto(P, x, Px)
  let y = Float64Array.from(x), Py = Float64Array.from(Px)
  let theta = 1
  const v = new Float64Array(n), d = new Float64Array(n), Pd = new Float64Array(n)
  let lastHash = -1, stable = 0
  const failed = new Set<number>()
  let k = 0
  while (k < maxIt) {
    k++
    let xn: Float64Array
    for (;;) {
      for (let i = 0; i < n; i++) v[i] = y[i]! - (Py[i]! + q[i]!) / L
      xn = proj(v)
      for (let i = 0; i < n; i++) d[i] = xn[i]! - y[i]!
      applyInto(P, d, Pd)
      let dPd = 0, dd = 0
      for (let i = 0; i < n; i++) { dPd += d[i]! * Pd[i]!; dd += d[i]! * d[i]! }
      if (dPd <= L * dd * (1 + 1e-10)) break
      L *= 2
    }
    const Pxn = Float64Array.from(Py, (p, i) => p + Pd[i]!)
    let restart = 0
    for (let i = 0; i < n; i++) restart += (y[i]! - xn[i]!) * (xn[i]! - x[i]!)
    if (restart > 0) {
      theta = 1
      y = Float64Array.from(xn)
      Py = Float64Array.from(Pxn)
    } else {
      const thetaN = (1 + Math.sqrt(1 + 4 * theta * theta)) / 2
      const beta = (theta - 1) / thetaN
      y = Float64Array.from(xn, (a, i) => a + beta * (a - x[i]!))
      Py = Float64Array.from(Pxn, (a, i) => a + beta * (a - Px[i]!))
      theta = thetaN
    }
    x = xn
    Px = Pxn
    if (k % 50 === 0) { applyInto(P, x, Px); applyInto(P, y, Py) }

    const h = faceHash(set, x, w, t)
    if (h === lastHash) stable++
    else { stable = 0; lastHash = h }
    const forced = k >= 64 && (k & (k - 1)) === 0
    if ((stable >= 3 && !failed.has(h)) || forced || k === maxIt) {
      failed.add(h)
      attempts++
      for (const c of polish(set, params, x)) {
        if (consider(c, true) <= tol) return finish(set, params, c, k, true, attempts)
      }
    }
  }
  consider({ x, lambda: multiplierOf(set, x, gradientOf(P, q, x), w, t) }, false)
  const b = best!
  return finish(set, params, b.c, k, b.polished, attempts)
}
