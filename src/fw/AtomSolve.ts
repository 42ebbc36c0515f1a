/**
 * The default schedule on a polytope known only by its oracle (`sets/Polytope.ts`):
 * pairwise Frank-Wolfe over the active atoms (Lacoste-Julien and Jaggi 2015) with the
 * exact line search, so that it converges linearly, and in implicit mode the exact polish
 * on the weights.
 *
 * The iterate is x = Σₐ λₐ vₐ over the active atoms (distinct vertices, `Atoms.ts`), with
 * λ > 0 and Σλ = 1. One step at g = P x + q:
 * - the oracle's vertex s = lmo(g) (if an active atom has a smaller ⟨g, ·⟩, that atom is
 *   used instead: an answer is never trusted above a vertex already known), and the away
 *   atom a = argmax over the active atoms of ⟨g, vₐ⟩;
 * - d = s − a, the exact line search γ* = −⟨g, d⟩/dᵀPd, and γ = min(γ*, λₐ): λₛ += γ,
 *   λₐ −= γ; a drop step (γ = λₐ) removes a from the active set;
 * - a step is a fixed point when ⟨g, a − s⟩ ≤ 0 (then the gap is 0);
 * - P x is updated with P d = P s − P a from the table's products, and x and P x are
 *   recomputed from the weights every 32 steps so that rounding does not drift;
 * - dᵀPd below minus its rounding bound, (n + 4)·ε·Σᵢ |dᵢ|(aᵢ(‖s‖∞ + ‖a‖∞) + |(Pd)ᵢ|) with
 *   aᵢ = Σⱼ|Pᵢⱼ|, is negative curvature: a `NegativeCurvatureError` (the layer refuses P).
 *
 * The stop test is the oracle's gap at x, gap = ⟨g, x⟩ − min(⟨g, s⟩, minₐ ⟨g, vₐ⟩) ≤
 * tolerance·|f| + the rounding floor 4ε·Σᵢ Rᵢ(aᵢ‖x‖∞ + |qᵢ|), with R the largest |vᵢ| over
 * the vertices met. For a convex problem it bounds f(x) − f* provided the oracle is exact
 * (returns a minimizer): that is what `converged` certifies, and all it can; the oracle is
 * the only optimality test there is. With tolerance 0 exactly `maxIterations` steps run.
 *
 * The polish (implicit mode): the exact minimizer over the convex hull of the active atoms,
 * as a QP in the weights over the simplex, min ½λᵀ(VᵀPV)λ + (Vᵀq)ᵀλ, solved by the
 * active-set method of `ActiveSet.ts` (direct face solves; a singular VᵀPV, from
 * affinely dependent atoms or a singular P, is handled there), after which atoms of weight
 * 0 are dropped and x = Vλ, P x are recomputed (P x by a fresh product). It is tried each
 * time the gap has fallen 100-fold since the last attempt (from 1e-3·|f| on), at steps
 * 4, 8, 16, 32, … (earlier than on the other sets, whose oracles cost O(n): here an oracle
 * call is the dear part, and the polish certifies as soon as the atoms hold the optimal
 * face), and whenever the run would stop (the gap test met, a fixed point, the step cap,
 * the deadline); after a polish the oracle is asked again at the polished point, and the
 * run ends there when its gap passes the test, else the steps go on from the polished
 * point (so a polish that does not certify costs one oracle call).
 *
 * In unrolled mode the run records its steps (`AtomTape`: which atoms, γ, dᵀPd, whether
 * it dropped) for `AtomUnrolled.ts`, with x kept every 64 steps so that the replay stays
 * within O(64 n) memory beyond the table.
 *
 * @since 0.1.0
 */
import type { LinearOperator } from '../core/LinearOperator.js'
import { applyInto, dense } from '../core/LinearOperator.js'
import { unsafeDim } from '../shapes/Dim.js'
import type { Polyhedron } from './sets/Polyhedron.js'
import { activeSet } from './ActiveSet.js'
import { NegativeCurvatureError } from './Errors.js'
import { GAP_FLOOR_FACTOR } from './Oracle.js'
import { type AtomTable, type VertexOracle, atomTable } from './Atoms.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The steps of an unrolled run, in order: the pairwise direction d = V[s] − V[a] (table
 * indices), the step γ, the curvature dᵀPd, and whether it was a drop step (γ = λₐ);
 * `checkpoints[j]` is x before step j·`every`.
 *
 * @example
 * for (let k = 0; k < tape.length; k++) x += tape.gamma[k] · (V[tape.s[k]] − V[tape.a[k]])
 */
export interface AtomTape {
  readonly length: number
  readonly s: Int32Array
  readonly a: Int32Array
  readonly gamma: Float64Array
  readonly curvature: Float64Array
  readonly drop: Uint8Array
  readonly every: number
  readonly checkpoints: readonly Float64Array[]
}

/**
 * A run's outcome: the table of vertices met, the active atoms (table indices) and their
 * weights (positive, summing to 1), x = Σ λₐ vₐ, the steps taken, whether the oracle's gap
 * test passed at the returned x, the start vertex's index, the tape (unrolled mode), and the
 * last evaluation (g and the oracle's value at the returned x, for the set's certificate).
 *
 * @example
 * const r = atomSolve(problem, oracle, { maxIterations: 500, tolerance: 1e-9, mode: 'implicit' })
 * r.converged ? r.x : undefined
 */
export interface AtomRun {
  readonly table: AtomTable
  readonly active: Int32Array
  readonly weights: Float64Array
  readonly x: Float64Array
  readonly iterations: number
  readonly converged: boolean
  readonly start: number
  readonly tape?: AtomTape
  readonly last: { readonly g: Float64Array; readonly value: number }
}

/**
 * The problem as the run reads it: P, q, and the row sums aᵢ = Σⱼ|Pᵢⱼ| (the rounding bounds).
 *
 * @example
 * const problem: AtomProblem<N> = { P: theta.P, q: theta.q.data, pAbs: rowAbsSums(theta) }
 */
export interface AtomProblem<N> {
  readonly P: LinearOperator<N>
  readonly q: Float64Array
  readonly pAbs: Float64Array
}

/**
 * Options of {@link atomSolve}: the step cap, the gap tolerance (0: exactly
 * `maxIterations` steps), an optional deadline (performance.now()), and the mode
 * (`implicit`: polish; `unrolled`: record the tape).
 *
 * @example
 * const o: AtomSolveOptions = { maxIterations: 5000, tolerance: 1e-9, mode: 'unrolled' }
 */
export interface AtomSolveOptions {
  readonly maxIterations: number
  readonly tolerance: number
  readonly deadline?: number
  readonly mode: 'implicit' | 'unrolled'
}

/** Steps between recomputations of x and P x from the weights. */
const REFRESH = 32
/** Steps between the tape's copies of x. */
const CHECKPOINT = 64

// -------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

const normInf = (a: Float64Array): number => {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!))
  return m
}

/**
 * Whether c = ⟨d, Pd⟩ is below minus its rounding bound, (n + 4)·ε·Σᵢ |dᵢ|(aᵢ·vmax + |(Pd)ᵢ|)
 * with aᵢ = Σⱼ|Pᵢⱼ| (`pAbs`) and Pd formed from products of vectors whose sup-norms sum to
 * at most `vmax`: negative curvature of P along d, not rounding.
 *
 * @example
 * if (curvedDown(d, pd, c, pAbs, vmax)) throw new NegativeCurvatureError(unit(d), c / (d·d))
 */
export const curvedDown = (d: Float64Array, pd: Float64Array, c: number, pAbs: Float64Array, vmax: number): boolean => {
  if (c >= 0) return false
  const n = d.length
  let b = 0
  for (let i = 0; i < n; i++) b += Math.abs(d[i]!) * (pAbs[i]! * vmax + Math.abs(pd[i]!))
  return c < -(n + 4) * Number.EPSILON * b
}

/** The NegativeCurvatureError for a direction d with dᵀPd = c. */
export const curvatureError = (d: Float64Array, c: number): NegativeCurvatureError => {
  const nd = Math.sqrt(dot(d, d))
  return new NegativeCurvatureError(Float64Array.from(d, (v) => v / nd), c / (nd * nd))
}

/**
 * The simplex {λ ≥ 0, Σλ = 1} over m weights, as the active-set method's polyhedron.
 *
 * @example
 * activeSet(weightSimplex(3), H, c, lambda0)
 */
export const weightSimplex = (m: number): Polyhedron => ({
  n: m, lo: new Float64Array(m), hi: new Float64Array(m).fill(Infinity),
  rows: [{ kind: 'eq', abs: false, coef: new Float64Array(m).fill(1), rhs: 1 }]
})

/**
 * The Gram matrix VᵀPV over the atoms `idx` of the table (m × m, row-major, symmetric by
 * construction: each pair is computed once as ½(⟨vₐ, P v_b⟩ + ⟨v_b, P vₐ⟩)).
 *
 * @example
 * const H = atomGram(T, [0, 3, 5]) // 3 × 3
 */
export const atomGram = (T: AtomTable, idx: ArrayLike<number>): Float64Array => {
  const m = idx.length, H = new Float64Array(m * m)
  for (let a = 0; a < m; a++) {
    const va = T.V[idx[a]!]!, pa = T.PV[idx[a]!]!
    for (let b = 0; b <= a; b++) {
      const h = a === b ? dot(va, pa) : 0.5 * (dot(va, T.PV[idx[b]!]!) + dot(T.V[idx[b]!]!, pa))
      H[a * m + b] = h
      H[b * m + a] = h
    }
  }
  return H
}

/**
 * The minimizer over the convex hull of the atoms `idx` with weights `w0` (feasible), as
 * the QP in the weights (see the module notes): the new weights, whether the active-set
 * method certified them, and negative curvature of P met on the hull, as a direction of
 * Rⁿ with its dᵀPd (checked against its rounding bound).
 *
 * @example
 * const r = weightPolish(T, [0, 1, 2], w0, pAbs) // r.weights: Σ = 1, ≥ 0
 */
export const weightPolish = (T: AtomTable, idx: ArrayLike<number>, w0: Float64Array, pAbs: Float64Array): { readonly weights: Float64Array; readonly certified: boolean } => {
  const m = idx.length, n = T.n
  const H = atomGram(T, idx)
  const c = Float64Array.from({ length: m }, (_, a) => T.qv[idx[a]!]!)
  const dm = unsafeDim<unknown>(m)
  const r = activeSet(weightSimplex(m), dense({ rows: dm, cols: dm, data: H }), c, w0)
  if (r.negative !== undefined) {
    const p = r.negative.direction, d = new Float64Array(n), pd = new Float64Array(n)
    let vmax = 0
    for (let a = 0; a < m; a++) {
      const pa = p[a]!
      if (pa === 0) continue
      const v = T.V[idx[a]!]!, pv = T.PV[idx[a]!]!
      vmax += Math.abs(pa) * normInf(v)
      for (let i = 0; i < n; i++) { d[i] = d[i]! + pa * v[i]!; pd[i] = pd[i]! + pa * pv[i]! }
    }
    const curv = dot(d, pd)
    if (curvedDown(d, pd, curv, pAbs, vmax)) throw curvatureError(d, curv)
    return { weights: w0, certified: false }
  }
  // keep the new weights only if they do not raise the objective (they never should)
  const fOf = (w: Float64Array): number => {
    let s = 0
    for (let a = 0; a < m; a++) {
      let h = 0
      for (let b = 0; b < m; b++) h += H[a * m + b]! * w[b]!
      s += w[a]! * (0.5 * h + c[a]!)
    }
    return s
  }
  const w = Float64Array.from(r.x, (v) => Math.max(0, v))
  let sum = 0
  for (let a = 0; a < m; a++) sum += w[a]!
  if (!(sum > 0)) return { weights: w0, certified: false }
  for (let a = 0; a < m; a++) w[a] = w[a]! / sum
  const f0 = fOf(w0), f1 = fOf(w)
  if (!(f1 <= f0 + 1e-12 * (Math.abs(f0) + 1e-300))) return { weights: w0, certified: false }
  return { weights: w, certified: r.certified }
}

// -------------------------------------------------------------------------------------
// the run
// -------------------------------------------------------------------------------------

/** A growable tape. */
class TapeBuilder {
  length = 0
  s = new Int32Array(64)
  a = new Int32Array(64)
  gamma = new Float64Array(64)
  curvature = new Float64Array(64)
  drop = new Uint8Array(64)
  readonly checkpoints: Float64Array[] = []
  push(x: Float64Array, s: number, a: number, gamma: number, curvature: number, drop: boolean): void {
    if (this.length % CHECKPOINT === 0) this.checkpoints.push(Float64Array.from(x))
    if (this.length === this.s.length) {
      const grow = <T extends Int32Array | Float64Array | Uint8Array>(v: T, make: (n: number) => T): T => { const o = make(2 * v.length); o.set(v); return o }
      this.s = grow(this.s, (k) => new Int32Array(k))
      this.a = grow(this.a, (k) => new Int32Array(k))
      this.gamma = grow(this.gamma, (k) => new Float64Array(k))
      this.curvature = grow(this.curvature, (k) => new Float64Array(k))
      this.drop = grow(this.drop, (k) => new Uint8Array(k))
    }
    const k = this.length++
    this.s[k] = s; this.a[k] = a; this.gamma[k] = gamma; this.curvature[k] = curvature; this.drop[k] = drop ? 1 : 0
  }
  done(): AtomTape {
    const k = this.length
    return {
      length: k, s: this.s.slice(0, k), a: this.a.slice(0, k), gamma: this.gamma.slice(0, k),
      curvature: this.curvature.slice(0, k), drop: this.drop.slice(0, k), every: CHECKPOINT, checkpoints: this.checkpoints
    }
  }
}

/** One evaluation at x: the objective, the step's atoms, the gaps, the rounding floor. */
interface Evaluation {
  readonly f: number
  readonly s: number
  readonly a: number
  readonly gap: number
  readonly pairGap: number
  readonly floor: number
}

/**
 * The default schedule's run on the polytope (see the module notes). Throws a
 * `LayerError` at `set.lmo` for a bad answer of the oracle and a `NegativeCurvatureError`
 * for negative curvature met in a line search or the polish.
 *
 * @example
 * const r = atomSolve({ P, q, pAbs }, vertexOracle(lmo, dim), { maxIterations: 5000, tolerance: 1e-9, mode: 'implicit' })
 * r.x; r.active; r.weights
 */
export const atomSolve = <N>(problem: AtomProblem<N>, oracle: VertexOracle, options: AtomSolveOptions): AtomRun => {
  const { P, q, pAbs } = problem
  const n = q.length, K = options.maxIterations, tol = options.tolerance
  const implicit = options.mode === 'implicit'
  const T = atomTable(P, q, pAbs)
  const lam: number[] = []
  const isActive: boolean[] = []
  let active: number[] = []
  const x = new Float64Array(n), px = new Float64Array(n), g = new Float64Array(n)
  const d = new Float64Array(n), pd = new Float64Array(n)
  const tape = implicit ? undefined : new TapeBuilder()
  let lastValue = 0

  const grow = (): void => { while (lam.length < T.size()) { lam.push(0); isActive.push(false) } }

  const refresh = (freshProduct: boolean): void => {
    x.fill(0); px.fill(0)
    for (const a of active) {
      const w = lam[a]!, v = T.V[a]!, pv = T.PV[a]!
      for (let i = 0; i < n; i++) { x[i] = x[i]! + w * v[i]!; px[i] = px[i]! + w * pv[i]! }
    }
    if (freshProduct) applyInto(P, x, px)
  }

  // the start: the oracle's vertex for the linear part, x₀ = lmo(q)
  const start = T.add(oracle.call(q))
  grow()
  lam[start] = 1; isActive[start] = true; active = [start]
  refresh(false)

  const evaluate = (): Evaluation => {
    let f = 0, gx = 0
    for (let i = 0; i < n; i++) { const gi = px[i]! + q[i]!; g[i] = gi; f += x[i]! * (0.5 * px[i]! + q[i]!); gx += gi * x[i]! }
    const s0 = T.add(oracle.call(g))
    grow()
    let best = dot(g, T.V[s0]!), s = s0, a = -1, gaMax = -Infinity
    for (const i of active) {
      const gi = i === s0 ? best : dot(g, T.V[i]!)
      if (gi > gaMax) { gaMax = gi; a = i }
      if (gi < best) { best = gi; s = i }
    }
    lastValue = best
    const R = T.reach, xm = normInf(x)
    let sc = 0, sa = 0
    for (let i = 0; i < n; i++) { sc += R[i]! * Math.abs(q[i]!); sa += R[i]! * pAbs[i]! }
    return { f, s, a, gap: Math.max(0, gx - best), pairGap: gaMax - best, floor: GAP_FLOOR_FACTOR * Number.EPSILON * (sc + sa * xm) }
  }

  let steps = 0
  /** One pairwise step; false at a fixed point. */
  const step = (e: Evaluation): boolean => {
    const s = e.s, a = e.a
    if (s === a || !(e.pairGap > 0)) return false
    const vs = T.V[s]!, va = T.V[a]!, ps = T.PV[s]!, pa = T.PV[a]!
    let gd = 0, c = 0
    for (let i = 0; i < n; i++) { const di = vs[i]! - va[i]!, pdi = ps[i]! - pa[i]!; d[i] = di; pd[i] = pdi; gd += g[i]! * di; c += di * pdi }
    if (!(gd < 0)) return false
    if (curvedDown(d, pd, c, pAbs, normInf(vs) + normInf(va))) throw curvatureError(d, c)
    const la = lam[a]!
    const gStar = c > 0 ? -gd / c : Infinity
    const drop = !(gStar < la)
    const gamma = drop ? la : gStar
    tape?.push(x, s, a, gamma, c, drop)
    lam[s] = lam[s]! + gamma
    if (!isActive[s]) { isActive[s] = true; active.push(s) }
    if (drop) { lam[a] = 0; isActive[a] = false; active = active.filter((i) => i !== a) } else lam[a] = la - gamma
    for (let i = 0; i < n; i++) { x[i] = x[i]! + gamma * d[i]!; px[i] = px[i]! + gamma * pd[i]! }
    if (++steps % REFRESH === 0) refresh(false)
    return true
  }

  const polish = (): void => {
    const idx = Int32Array.from(active)
    const w0 = Float64Array.from(idx, (i) => lam[i]!)
    const r = weightPolish(T, idx, w0, pAbs)
    const next: number[] = []
    idx.forEach((i, k) => {
      const w = r.weights[k]!
      lam[i] = w
      isActive[i] = w > 0
      if (w > 0) next.push(i)
    })
    active = next
    refresh(true)
  }

  let k = 0, polishedAt = -1, nextTry = 1e-3, converged = false
  const timeUp = (): boolean => options.deadline !== undefined && performance.now() > options.deadline
  for (;;) {
    if (!implicit && k >= K) break
    const e = evaluate()
    const certified = e.gap <= tol * Math.abs(e.f) + e.floor
    if (implicit) {
      if (polishedAt === k && certified && (tol > 0 || k >= K)) { converged = true; break }
      const stopping = k >= K || timeUp() || (tol > 0 && certified)
      const trigger = tol > 0 && (e.gap <= nextTry * Math.abs(e.f) || (k >= 4 && (k & (k - 1)) === 0))
      if ((stopping || trigger) && polishedAt !== k) {
        if (trigger) nextTry = e.f !== 0 ? Math.max(e.gap / Math.abs(e.f) / 100, tol) : nextTry / 100
        polish(); polishedAt = k
        continue
      }
      if (stopping) break
    } else {
      if (tol > 0 && certified) { converged = true; break }
      if (timeUp()) break
    }
    if (!step(e)) {
      // a fixed point: the remaining steps change nothing
      if (implicit && polishedAt !== k) { polish(); polishedAt = k; continue }
      converged = certified
      if (tol === 0) k = K
      break
    }
    k++
  }
  if (!implicit) refresh(false)
  const activeIdx = Int32Array.from(active)
  return {
    table: T,
    active: activeIdx,
    weights: Float64Array.from(activeIdx, (i) => lam[i]!),
    x: Float64Array.from(x),
    iterations: k,
    converged,
    start,
    ...(tape === undefined ? {} : { tape: tape.done() }),
    last: { g: Float64Array.from(g), value: lastValue }
  }
}
