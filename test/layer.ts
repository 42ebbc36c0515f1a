/**
 * The layer's derivatives (src/fw/Layer.ts) as laws over seeded random problems:
 * - unrolled, for every set and both schedules: the JVP agrees with central finite
 *   differences of x in q, w, t and P, and the JVP is the transpose of the VJP;
 * - implicit: the JVP and VJP agree with src/fw/exact's dense KKT derivative at the exact
 *   solution, and with finite differences of `solveExact`;
 * - the low-rank and CSR forms of P give the dense form's x and derivatives;
 * - invalid problems and options throw a `LayerError` naming the bad value's path.
 */
import t, { type Test } from 'tap'
import * as E from 'fp-ts/lib/Either.js'
import { unsafeDim } from '../src/shapes/Dim.js'
import { type LinearOperator, csr, dense, lowRank, toDense } from '../src/core/LinearOperator.js'
import { type LayerOptions, type LayerResult, LayerError, dfwLayer, fromTangent, resolveSchedule } from '../src/fw/Layer.js'
import { type FwState, fwStep } from '../src/fw/Step.js'
import type { Tan } from '../src/core/Tangent.js'
import { Zero } from '../src/core/Tangent.js'
import type { ParamsTangent, Problem, SetKind } from '../src/fw/Problem.js'
import { kktDerivative, solveExact } from '../src/fw/exact/index.js'
import {
  type N, type Plain, SETS, addScaled, cosine, dot, matOf, maxAbs, mulMV, norm, randomPlain, randomVec, relErr, rng,
  symDirection, toParams, toProblem, vec, withRadius, paperPlain
} from './helpers/layerFixtures.js'

type Rng = ReturnType<typeof rng>
const SCHEDULES = ['paper', 'default'] as const

/** A tangent of θ as plain arrays, applied to a problem with `perturb`. */
interface Direction {
  readonly name: 'q' | 'w' | 't' | 'P'
  readonly tangent: ParamsTangent<N>
  readonly perturb: (p: Plain, h: number) => Plain
}

const directions = (r: Rng, n: number): Direction[] => {
  const dq = randomVec(r, n)
  // keep w positive under the perturbation: a gentle relative direction
  const dw = randomVec(r, n).map((v) => 0.3 * v)
  const dP = symDirection(r, n)
  return [
    { name: 'q', tangent: { q: vec(dq) }, perturb: (p, h) => ({ ...p, q: addScaled(p.q, h, dq) }) },
    { name: 'w', tangent: { w: vec(dw) }, perturb: (p, h) => ({ ...p, w: addScaled(p.w, h, dw) }) },
    { name: 't', tangent: { t: 1 }, perturb: (p, h) => ({ ...p, t: p.t + h }) },
    { name: 'P', tangent: { P: matOf(n, dP) }, perturb: (p, h) => ({ ...p, P: addScaled(p.P, h, dP) }) }
  ]
}

/** ⟨Jᵀc, v⟩ for a VJP result and a tangent. */
const pairing = (g: ReturnType<LayerResult<N>['vjp']>, v: ParamsTangent<N>): number =>
  (v.q === undefined ? 0 : dot(g.q.data, v.q.data)) +
  (v.w === undefined ? 0 : dot(g.w.data, v.w.data)) +
  (v.t === undefined ? 0 : g.t * v.t) +
  (v.P === undefined ? 0 : dot(g.P!.data, v.P.data))

/** The Euclidean norm of a tangent of θ. */
const tangentNorm = (v: ParamsTangent<N>): number =>
  Math.sqrt((v.q === undefined ? 0 : dot(v.q.data, v.q.data)) + (v.w === undefined ? 0 : dot(v.w.data, v.w.data)) +
    (v.t ?? 0) ** 2 + (v.P === undefined ? 0 : dot(v.P.data, v.P.data)))

/** Relative errors against finite differences are taken against max(‖fd‖, 1e-4): a zero derivative may carry rounding noise ε/h. */
const FD_FLOOR = 1e-4

/** The Euclidean norm of a VJP result. */
const gradNorm = (g: ReturnType<LayerResult<N>['vjp']>): number =>
  Math.sqrt(dot(g.q.data, g.q.data) + dot(g.w.data, g.w.data) + g.t ** 2 + (g.P === undefined ? 0 : dot(g.P.data, g.P.data)))

/**
 * |⟨c, J v⟩ − ⟨Jᵀc, v⟩| relative to the larger side, or to the Cauchy–Schwarz scales
 * ‖c‖‖J v‖ and ‖Jᵀc‖‖v‖ when both sides are (nearly) zero.
 */
const transposeErr = (lhs: number, rhs: number, scaleL: number, scaleR: number): number =>
  Math.abs(lhs - rhs) / Math.max(Math.abs(lhs), Math.abs(rhs), scaleL, scaleR, 1e-300)

/**
 * Central differences of x at two step sizes, or `undefined` when a discrete choice
 * (a vertex, an away atom, a clamp) flips near the point: either inside the stencil (the
 * two central differences disagree: a jump scales as 1/h) or at the point itself (the
 * one-sided differences disagree, which the two central ones cannot see when both
 * perturbed points sit on the other side of a rounding-level tie).
 */
const fdTwoSteps = (x: (h: number) => Float64Array, h: number): number[] | undefined => {
  const x0 = x(0)
  const pts = new Map<number, Float64Array>()
  const at = (s: number): Float64Array => {
    let v = pts.get(s)
    if (v === undefined) { v = x(s); pts.set(s, v) }
    return v
  }
  const central = (s: number): number[] => Array.from(at(s), (v, i) => (v - at(-s)[i]!) / (2 * s))
  const f1 = central(h), f2 = central(h / 2)
  // both are O(h²) accurate on a smooth piece; a jump inside the stencil scales as 1/h.
  // The floor 1e-3 (x is O(1) here) lets a zero derivative pass with rounding noise ε/h.
  if (relErr(f2, f1, 1e-3) > 1e-7) return undefined
  const fwd = Array.from(at(h / 2), (v, i) => (v - x0[i]!) / (h / 2))
  const bwd = Array.from(at(-h / 2), (v, i) => (x0[i]! - v) / (h / 2))
  if (relErr(fwd, bwd, 1e-3) > 1e-3) return undefined
  return f2
}

// -------------------------------------------------------------------------------------
// unrolled: finite differences and the transpose law
// -------------------------------------------------------------------------------------

interface UnrolledCase {
  readonly set: SetKind
  readonly schedule: 'paper' | 'default'
  readonly seed: number
  readonly K: number
  readonly p: Plain
  readonly options: LayerOptions
}

const unrolledCases = (): UnrolledCase[] => {
  const out: UnrolledCase[] = []
  for (const set of SETS) {
    for (const schedule of SCHEDULES) {
      for (const [seed, K, factor] of [[1, 5, 0.4], [2, 12, 0.6], [3, 25, 2]] as const) {
        const r = rng(100 * seed + SETS.indexOf(set) * 10 + (schedule === 'paper' ? 1 : 0))
        const p = withRadius(set, randomPlain(r, 7), factor)
        const L = Math.max(...p.P.map(Math.abs)) * 7 // any constant upper bound; fixed under perturbation
        out.push({
          set, schedule, seed, K, p,
          options: { schedule, backward: 'unrolled', maxIterations: K, tolerance: 0, ...(schedule === 'paper' ? { lipschitz: L } : {}) }
        })
      }
    }
  }
  return out
}

t.test('unrolled JVP agrees with central finite differences of x in q, w, t and P (every set, both schedules)', async (t) => {
  let worst = 0, checked = 0, skipped = 0
  for (const c of unrolledCases()) {
    const layer = dfwLayer(c.options)
    const r = layer(toProblem(c.p, c.set))
    for (const d of directions(rng(7 * c.seed + c.K), c.p.n)) {
      const fd = fdTwoSteps((h) => layer(toProblem(d.perturb(c.p, h), c.set)).x.data, 1e-5)
      if (fd === undefined) { skipped++; continue }
      checked++
      const jv = Array.from(r.jvp(d.tangent).data)
      const err = relErr(jv, fd, FD_FLOOR)
      worst = Math.max(worst, err)
      t.ok(err <= 1e-6, `${c.set}/${c.schedule} seed=${c.seed} K=${c.K} d${d.name}: relative error ${err.toExponential(2)} (‖fd‖ = ${norm(fd).toExponential(2)})`)
    }
  }
  t.comment(`checked ${checked}, skipped ${skipped} at discrete switches; worst relative error ${worst.toExponential(2)}`)
  t.ok(checked >= 0.9 * (checked + skipped), `most directions are checked (${checked}/${checked + skipped})`)
})

t.test('a pairwise step (the default schedule on l1, the simplex and the l∞ box): JVP agrees with central finite differences in θ, x and Px', async (t) => {
  // The step on its own, from generic states: a random point of the set with a
  // few zero coordinates (on the box: a few coordinates on a bound), so that no two atoms tie.
  let worst = 0, checked = 0, skipped = 0
  for (const set of ['l1', 'simplex', 'linf'] as const) {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const r = rng(900 + seed + (set === 'simplex' ? 50 : 0))
      const n = 7
      const p = withRadius(set, randomPlain(r, n), 0.5)
      const x = Array.from({ length: n }, () => (r.uniform() < 0.3 ? 0 : set === 'simplex' ? r.uniform() : r.normal()))
      const scale = set === 'simplex' ? p.t / x.reduce((a, b) => a + b, 0) : (seed % 2 === 0 ? 0.7 : 1) * p.t / x.reduce((a, v, i) => a + Math.abs(p.w[i]! * v), 0)
      // on the box: the zero draws sit on a bound (fixed), the others inside (free)
      const x0 = set === 'linf' ? x.map((v, i) => (v === 0 ? (i % 2 === 0 ? p.t : -p.t) : 0.8 * p.t * Math.tanh(v))) : x.map((v) => v * scale)
      const onFace = (i: number): boolean => (set === 'linf' ? Math.abs(x0[i]!) === p.t : x0[i] === 0)
      const schedule = resolveSchedule(set, toParams(p), { schedule: 'default' })
      const step = fwStep<N>(schedule.step)
      const stateOf = (xs: number[], pxs: number[]): FwState<N> => ({ x: vec(xs), px: vec(pxs), k: 3, f: 0, fPrev: 1, gap: 1, gapFloor: 0 })
      const px0 = mulMV(n, p.P, x0)
      const run = (pp: Plain, xs: number[], pxs: number[]): Float64Array => step([toParams(pp), stateOf(xs, pxs)])[0].x.data
      const [, lin] = step([toParams(p), stateOf(x0, px0)])
      const rr = rng(seed)
      const dx = randomVec(rr, n).map((v, i) => (onFace(i) ? 0 : v)), dpx = randomVec(rr, n)
      // on the box, a coordinate on a bound moves with t (xᵢ = ±t): t's direction carries the
      // face along (dxᵢ = sign(xᵢ) on fixed coordinates, dPx = P dx)
      const dxFace = x0.map((v, i) => (set === 'linf' && onFace(i) ? Math.sign(v) : 0))
      const dpxFace = mulMV(n, p.P, dxFace)
      const cases: Array<{ name: string; tan: Tan<readonly [unknown, FwState<N>]>; at: (h: number) => Float64Array }> = [
        ...directions(rr, n).map((d) => d.name === 't' && set === 'linf' ? {
          name: 'dt (with the face)',
          tan: [fromTangent(d.tangent), { x: vec(dxFace), px: vec(dpxFace) }] as unknown as Tan<readonly [unknown, FwState<N>]>,
          at: (h: number) => run(d.perturb(p, h), addScaled(x0, h, dxFace), addScaled(px0, h, dpxFace))
        } : ({
          name: `d${d.name}`,
          tan: [fromTangent(d.tangent), Zero] as unknown as Tan<readonly [unknown, FwState<N>]>,
          at: (h: number) => run(d.perturb(p, h), x0, px0)
        })),
        {
          name: 'dx, dPx',
          tan: [Zero, { x: vec(dx), px: vec(dpx) }] as unknown as Tan<readonly [unknown, FwState<N>]>,
          at: (h: number) => run(p, addScaled(x0, h, dx), addScaled(px0, h, dpx))
        }
      ]
      for (const c of cases) {
        const fd = fdTwoSteps(c.at, 1e-6)
        if (fd === undefined) { skipped++; continue }
        checked++
        const out = lin.fwd(c.tan as never) as unknown as { x?: unknown }
        const jx = out === (Zero as unknown) || out.x === undefined || out.x === Zero ? new Float64Array(n) : (out.x as { data: Float64Array }).data
        const err = relErr(jx, fd, FD_FLOOR)
        worst = Math.max(worst, err)
        t.ok(err <= 1e-6, `${set} seed=${seed} ${c.name}: relative error ${err.toExponential(2)}`)
      }
    }
  }
  t.comment(`checked ${checked}, skipped ${skipped}; worst relative error ${worst.toExponential(2)}`)
  t.ok(checked >= 0.9 * (checked + skipped), `most directions are checked (${checked}/${checked + skipped})`)
})

// After an exact line search that stops inside its interval, the vertex just added and the
// atom it was paired with tie in exact arithmetic; `chooseVertex` and `awayAtom` decide such
// ties by a fixed order (Oracle.ts), so x_K does not jump under small perturbations of θ.
t.test('the default schedule\'s x_K is continuous in θ on l1, the simplex and the l∞ box (structural ties)', async (t) => {
  for (const set of ['l1', 'simplex', 'linf'] as const) {
    for (const seed of [1, 2, 3]) {
      const p = withRadius(set, randomPlain(rng(100 * seed + SETS.indexOf(set) * 10), 7), 0.4)
      const layer = dfwLayer({ schedule: 'default', backward: 'unrolled', maxIterations: 5, tolerance: 0 })
      const x0 = layer(toProblem(p, set)).x.data
      let jump = 0
      for (const d of directions(rng(seed), 7)) {
        for (const h of [1e-7, -1e-7]) jump = Math.max(jump, maxAbs(Array.from(layer(toProblem(d.perturb(p, h), set)).x.data, (v, i) => v - x0[i]!)))
      }
      t.ok(jump <= 1e-5, `${set} seed=${seed}: the largest change of x₅ under a 1e-7 perturbation is ${jump.toExponential(2)}`)
    }
  }
})

t.test('the default unrolled derivative on the l∞ box tends to the implicit one (one coordinate per pairwise step)', async (t) => {
  // The box's pairwise step moves one coordinate, so its derivative is the Gauss-Seidel
  // iteration of the face's system. A step along the dense sign direction reached only
  // cosine 0.93–0.98 here at n = 40, where this one gives ≥ 0.99999.
  for (const seed of [1, 2, 3, 4]) {
    for (const n of [10, 40]) {
      const p = withRadius('linf', randomPlain(rng(seed), n), 0.3)
      const ct = vec(Array.from({ length: n }, (_, i) => Math.sin(i + seed)))
      const ru = dfwLayer({ backward: 'unrolled' })(toProblem(p, 'linf'))
      const ri = dfwLayer({ backward: 'implicit' })(toProblem(p, 'linf'))
      const a = ru.vjp(ct), b = ri.vjp(ct)
      t.equal(ru.status, 'converged', `seed=${seed} n=${n}: converged in ${ru.iterations} steps`)
      t.ok(cosine(a.q.data, b.q.data) >= 0.9999, `seed=${seed} n=${n}: cosine of ∇q ${cosine(a.q.data, b.q.data).toFixed(8)}`)
      t.ok(Math.abs(a.t - b.t) <= 1e-3 * Math.max(1, Math.abs(b.t)), `seed=${seed} n=${n}: ∂/∂t ${a.t} vs ${b.t}`)
    }
  }
})

t.test('unrolled JVP is the transpose of the VJP: ⟨c, J v⟩ = ⟨Jᵀc, v⟩ (every set, both schedules)', async (t) => {
  let worst = 0
  for (const c of unrolledCases()) {
    const r = dfwLayer(c.options)(toProblem(c.p, c.set))
    const rr = rng(31 * c.seed + c.K)
    const cv = randomVec(rr, c.p.n)
    const g = r.vjp(vec(cv))
    const ds = directions(rr, c.p.n)
    const all: ParamsTangent<N> = { q: ds[0]!.tangent.q!, w: ds[1]!.tangent.w!, t: 0.7, P: ds[3]!.tangent.P! }
    for (const v of [...ds.map((d) => d.tangent), all]) {
      const lhs = dot(cv, r.jvp(v).data)
      const rhs = pairing(g, v)
      const err = transposeErr(lhs, rhs, norm(cv) * norm(r.jvp(v).data), gradNorm(g) * tangentNorm(v))
      worst = Math.max(worst, err)
      t.ok(err <= 1e-10, `${c.set}/${c.schedule} seed=${c.seed} K=${c.K} [${Object.keys(v).join(',')}]: ${lhs} vs ${rhs}`)
    }
  }
  t.comment(`worst relative transpose error ${worst.toExponential(2)}`)
})

t.test('unrolled VJP with checkpointing equals the VJP without', async (t) => {
  for (const set of SETS) {
    const p = withRadius(set, randomPlain(rng(50 + SETS.indexOf(set)), 6), 0.5)
    const base: LayerOptions = { schedule: 'default', backward: 'unrolled', maxIterations: 20, tolerance: 0 }
    const cv = vec(randomVec(rng(9), 6))
    const a = dfwLayer(base)(toProblem(p, set)).vjp(cv)
    const b = dfwLayer({ ...base, checkpoint: 3 })(toProblem(p, set)).vjp(cv)
    t.ok(relErr(b.q.data, a.q.data) <= 1e-12 && relErr(b.w.data, a.w.data) <= 1e-12 && Math.abs(b.t - a.t) <= 1e-12 * Math.max(1, Math.abs(a.t)), `${set}`)
  }
})

// -------------------------------------------------------------------------------------
// implicit: the exact solver's derivative
// -------------------------------------------------------------------------------------

interface ImplicitCase {
  readonly set: SetKind
  readonly binding: boolean
  readonly seed: number
  readonly p: Plain
}

const implicitCases = (): ImplicitCase[] => {
  const out: ImplicitCase[] = []
  for (const set of SETS) {
    for (const binding of [true, false]) {
      for (const seed of [1, 2, 3]) {
        const n = 8 + 4 * seed
        const r = rng(1000 * seed + 10 * SETS.indexOf(set) + (binding ? 1 : 0))
        const factor = set === 'l1' ? (binding ? 0.2 : 3) : binding ? 0.5 : 3
        out.push({ set, binding, seed, p: withRadius(set, randomPlain(r, n, 0.3), factor) })
      }
    }
  }
  return out
}

const caseName = (c: ImplicitCase): string => `${c.set} ${c.binding ? 'binding' : 'free'} seed=${c.seed} n=${c.p.n}`

const symmetrized = (n: number, G: Float64Array): number[] => {
  const o = new Array<number>(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) o[i * n + j] = 0.5 * (G[i * n + j]! + G[j * n + i]!)
  return o
}

/** Cosine, with agreement of two (near-)zero vectors counted as 1. */
const cos = (a: ArrayLike<number>, b: ArrayLike<number>, scale: number): number =>
  maxAbs(a) <= 1e-12 * scale && maxAbs(b) <= 1e-12 * scale ? 1 : cosine(a, b)

/** The layer's implicit JVP and VJP against `kktDerivative` at `solveExact`'s solution; returns the worst cosine. */
const checkAgainstKkt = (t: Test, c: ImplicitCase): number => {
  const o = {}
  let worst = 1
  const params = toParams(c.p)
  const sol = solveExact(c.set, params)
  const K = kktDerivative(c.set, params, sol)
  const r = dfwLayer()(toProblem(c.p, c.set))
  const n = c.p.n
  const fErr = Math.abs(r.objective - sol.objective) / Math.abs(sol.objective)
  t.ok(fErr <= 1e-8, `${caseName(c)}: objective within 1e-8 of solveExact's (${fErr.toExponential(2)}; x differs by ${relErr(r.x.data, sol.x.data).toExponential(2)})`, o)
  for (const d of directions(rng(c.seed), n)) {
    const a = r.jvp(d.tangent).data, b = K.jvp(d.tangent).data
    const cs = cos(a, b, 1)
    worst = Math.min(worst, cs)
    t.ok(cs >= 0.9999, `${caseName(c)} JVP d${d.name}: cosine ${cs.toFixed(8)} (‖layer‖ ${norm(a).toExponential(2)}, ‖kkt‖ ${norm(b).toExponential(2)})`, o)
  }
  for (const [k, cv] of [randomVec(rng(c.seed + 77), n), new Array<number>(n).fill(1)].entries()) {
    const a = r.vjp(vec(cv)), b = K.vjp(vec(cv))
    const tag = `${caseName(c)} VJP c#${k}`
    const cq = cos(a.q.data, b.q.data, 1), cw = cos(a.w.data, b.w.data, 1)
    const cP = cos(symmetrized(n, a.P!.data), symmetrized(n, b.P.data), 1)
    worst = Math.min(worst, cq, cw, cP)
    t.ok(cq >= 0.9999, `${tag}: ∇q cosine ${cq.toFixed(8)}`, o)
    t.ok(cw >= 0.9999, `${tag}: ∇w cosine ${cw.toFixed(8)}`, o)
    t.ok(cP >= 0.9999, `${tag}: symmetric part of ∇P, cosine ${cP.toFixed(8)}`, o)
    t.ok(Math.abs(a.t - b.t) <= 1e-4 * Math.abs(b.t) + 1e-10, `${tag}: ∇t ${a.t} vs ${b.t}`, o)
  }
  return worst
}

t.test('implicit JVP and VJP agree with the dense KKT derivative at the exact solution (cosine ≥ 0.9999; every set, binding and not)', async (t) => {
  let worst = 1
  for (const c of implicitCases()) worst = Math.min(worst, checkAgainstKkt(t, c))
  t.comment(`worst cosine ${worst.toFixed(10)}`)
})

t.test('implicit JVP agrees with central finite differences of solveExact (relative ≤ 1e-4)', async (t) => {
  let worst = 0, checked = 0, skipped = 0
  for (const c of implicitCases().filter((c) => c.seed <= 2)) {
    const r = dfwLayer()(toProblem(c.p, c.set))
    const exactX = (p: Plain): Float64Array => solveExact(c.set, toParams(p)).x.data
    for (const d of directions(rng(c.seed + 5), c.p.n)) {
      const at = (s: number): number[] => {
        const u = exactX(d.perturb(c.p, s)), v = exactX(d.perturb(c.p, -s))
        return Array.from(u, (x, i) => (x - v[i]!) / (2 * s))
      }
      const f1 = at(1e-5), f2 = at(5e-6)
      if (relErr(f2, f1, 1e-8) > 1e-5) { skipped++; continue }
      checked++
      const err = relErr(r.jvp(d.tangent).data, f2, 1e-8)
      worst = Math.max(worst, err)
      t.ok(err <= 1e-4, `${caseName(c)} d${d.name}: relative error ${err.toExponential(2)}`)
    }
  }
  t.comment(`checked ${checked}, skipped ${skipped} (face change inside the stencil); worst ${worst.toExponential(2)}`)
  t.ok(checked >= 0.9 * (checked + skipped), 'almost every direction is checked')
})

t.test('implicit JVP is the transpose of the implicit VJP', async (t) => {
  for (const c of implicitCases().filter((c) => c.seed === 1)) {
    const r = dfwLayer()(toProblem(c.p, c.set))
    const rr = rng(404)
    const cv = randomVec(rr, c.p.n)
    const ds = directions(rr, c.p.n)
    const v: ParamsTangent<N> = { q: ds[0]!.tangent.q!, w: ds[1]!.tangent.w!, t: -0.4, P: ds[3]!.tangent.P! }
    const g = r.vjp(vec(cv))
    const lhs = dot(cv, r.jvp(v).data), rhs = pairing(g, v)
    const err = transposeErr(lhs, rhs, norm(cv) * norm(r.jvp(v).data), gradNorm(g) * tangentNorm(v))
    t.ok(err <= 1e-10, `${caseName(c)}: ${lhs} vs ${rhs} (${err.toExponential(2)})`)
  }
})

// -------------------------------------------------------------------------------------
// operator forms
// -------------------------------------------------------------------------------------

/** diag(d) + U Uᵀ with U n×r, and its dense equivalent. */
const lowRankPair = (r: Rng, n: number, rank: number): { op: LinearOperator<N>; plain: number[] } => {
  const d = Array.from({ length: n }, () => 0.3 + r.uniform())
  const U = Float64Array.from({ length: n * rank }, () => r.normal() / Math.sqrt(rank))
  const op = lowRank(vec(d), rank, U)
  return { op, plain: Array.from(toDense(op).data) }
}

/** A sparse symmetric diagonally dominant P in CSR, and its dense equivalent. */
const csrPair = (r: Rng, n: number): { op: LinearOperator<N>; plain: number[] } => {
  const A = new Array<number>(n * n).fill(0)
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (r.uniform() < 0.25) { const v = r.normal(); A[i * n + j] = v; A[j * n + i] = v }
    }
  }
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let j = 0; j < n; j++) s += Math.abs(A[i * n + j]!)
    A[i * n + i] = s + 0.2 + r.uniform()
  }
  const rowPtr = [0], colIdx: number[] = [], values: number[] = []
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (A[i * n + j] !== 0) { colIdx.push(j); values.push(A[i * n + j]!) }
    rowPtr.push(colIdx.length)
  }
  const e = csr(unsafeDim<N>(n), rowPtr, colIdx, values)
  if (E.isLeft(e)) throw new Error(e.left.message)
  return { op: e.right, plain: A }
}

t.test('low-rank and CSR P give the dense form\'s x and d/dq, d/dw, d/dt (every set, both backward modes)', async (t) => {
  let worst = 0
  for (const form of ['lowRank', 'csr'] as const) {
    for (const set of SETS) {
      const r = rng(600 + SETS.indexOf(set) + (form === 'csr' ? 50 : 0))
      const n = 10
      const pair = form === 'lowRank' ? lowRankPair(r, n, 3) : csrPair(r, n)
      const p0: Plain = { n, P: pair.plain, q: randomVec(r, n), w: Array.from({ length: n }, () => 0.5 + r.uniform()), t: 1 }
      const p = withRadius(set, p0, 0.4)
      const denseProblem = toProblem(p, set)
      const opProblem: Problem<N> = { ...denseProblem, P: pair.op }
      const modes: LayerOptions[] = [
        { backward: 'implicit' },
        // K = 12: further down an unrolled path the short step's 0/0 near a vertex of the
        // l2 ball amplifies rounding (summation order) into the derivative
        { backward: 'unrolled', schedule: 'default', maxIterations: 12, tolerance: 0 },
        { backward: 'unrolled', schedule: 'paper', maxIterations: 12, tolerance: 0, lipschitz: 20 }
      ]
      for (const o of modes) {
        const a = dfwLayer(o)(opProblem), b = dfwLayer(o)(denseProblem)
        const tag = `${form} ${set} ${o.backward}${o.schedule !== undefined ? '/' + o.schedule : ''}`
        const ex = relErr(a.x.data, b.x.data)
        worst = Math.max(worst, ex)
        t.ok(ex <= 1e-9, `${tag}: x (${ex.toExponential(2)})`)
        if (o.backward === 'implicit') t.equal(a.status, b.status, `${tag}: status`)
        for (const d of directions(rng(3), n).filter((d) => d.name !== 'P')) {
          const e = relErr(a.jvp(d.tangent).data, b.jvp(d.tangent).data, 1e-10)
          worst = Math.max(worst, e)
          t.ok(e <= 1e-8, `${tag}: d${d.name} (${e.toExponential(2)})`)
        }
        const cv = vec(randomVec(rng(4), n))
        const ga = a.vjp(cv), gb = b.vjp(cv)
        t.ok(relErr(ga.q.data, gb.q.data, 1e-10) <= 1e-8 && relErr(ga.w.data, gb.w.data, 1e-10) <= 1e-8 &&
          Math.abs(ga.t - gb.t) <= 1e-8 * Math.max(1, Math.abs(gb.t)), `${tag}: VJP in q, w, t`)
        t.equal(ga.P, undefined, `${tag}: no dense P gradient for a ${form} operator`)
      }
    }
  }
  t.comment(`worst relative difference ${worst.toExponential(2)}`)
})

// -------------------------------------------------------------------------------------
// validation
// -------------------------------------------------------------------------------------

const expectLayerError = (t: Test, f: () => unknown, path: string, what: string): void => {
  try {
    f()
    t.fail(`${what}: expected a LayerError at ${path}, got a result`)
  } catch (e) {
    t.ok(e instanceof LayerError, `${what}: a LayerError (got ${String(e)})`)
    t.equal((e as LayerError).path, path, `${what}: path`)
  }
}

t.test('the layer throws a LayerError naming the bad value\'s path', async (t) => {
  const p = randomPlain(rng(5), 4)
  const good = toProblem(p)
  const layer = dfwLayer()
  t.doesNotThrow(() => layer(good), 'the good problem passes')
  expectLayerError(t, () => layer({ ...good, t: 0 }), 't', 't = 0')
  expectLayerError(t, () => layer({ ...good, t: -1 }), 't', 't < 0')
  expectLayerError(t, () => layer({ ...good, t: NaN }), 't', 't = NaN')
  expectLayerError(t, () => layer({ ...good, w: vec([1, 0, 1, 1]) }), 'w[1]', 'a zero weight')
  expectLayerError(t, () => layer({ ...good, w: vec([1, 1, 1, -2]) }), 'w[3]', 'a negative weight')
  expectLayerError(t, () => layer({ ...good, w: vec([1, 1, 1]) }), 'w', 'w of the wrong length')
  expectLayerError(t, () => layer({ ...good, q: vec([0, Infinity, 0, 0]) }), 'q[1]', 'an infinite q')
  expectLayerError(t, () => layer({ ...good, q: vec([0, 0, NaN, 0]) }), 'q[2]', 'a NaN in q')
  expectLayerError(t, () => dfwLayer({ maxIterations: 0 })(good), 'options.maxIterations', 'maxIterations 0')
  expectLayerError(t, () => dfwLayer({ maxIterations: 2.5 })(good), 'options.maxIterations', 'fractional maxIterations')
  expectLayerError(t, () => dfwLayer({ tolerance: -1 })(good), 'options.tolerance', 'tolerance −1')
  expectLayerError(t, () => dfwLayer({ schedule: 'fast' as unknown as 'paper' })(good), 'options.schedule', 'an unknown schedule')
  expectLayerError(t, () => dfwLayer({ backward: 'magic' as unknown as 'implicit' })(good), 'options.backward', 'an unknown backward mode')
  expectLayerError(t, () => layer({ ...good, set: 'l3' as unknown as SetKind }), 'set', 'an unknown set')
  expectLayerError(t, () => dfwLayer({ schedule: 'paper', lipschitz: 0 })(good), 'options.lipschitz', 'lipschitz 0')
  expectLayerError(t, () => layer({ ...good, P: dense(matOf(3, new Array<number>(9).fill(0))) }), 'P', 'P of the wrong size')
})

t.test('what the layer hands out owns its buffer: transferring it to a worker leaves every other result intact', async (t) => {
  const { MessageChannel } = await import('node:worker_threads')
  const p = withRadius('l1', paperPlain(10, 3), 0.3)
  for (const backward of ['implicit', 'unrolled'] as const) {
    const layer = dfwLayer({ backward })
    const a = layer(toProblem(p, 'l1')), b = layer(toProblem(p, 'l1'))
    const ga = a.vjp(vec(new Array<number>(10).fill(1))), ja = a.jvp({ q: vec(new Array<number>(10).fill(1)) })
    for (const [name, v] of [['x', a.x.data], ['vjp q', ga.q.data], ['vjp w', ga.w.data], ['jvp', ja.data]] as const) {
      t.ok(v.byteOffset === 0 && v.buffer.byteLength === v.byteLength, `${backward}: ${name} is the whole of its buffer`)
    }
    const keep = Array.from(b.x.data)
    const ch = new MessageChannel()
    ch.port1.postMessage(a.x.data, [a.x.data.buffer as ArrayBuffer])
    ch.port1.close()
    t.equal(a.x.data.length, 0, `${backward}: the transferred array is detached`)
    t.same(Array.from(b.x.data), keep, `${backward}: the other result is untouched`)
    t.same(Array.from(b.vjp(vec(new Array<number>(10).fill(1))).q.data).length, 10, `${backward}: and still differentiable`)
  }
})
