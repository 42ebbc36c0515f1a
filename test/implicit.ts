/**
 * The implicit derivative on the active face (src/fw/Face.ts, src/fw/Implicit.ts), against
 * a self-contained reference: projected gradient with exact projections run to
 * convergence, then polished by a dense solve of the identified face's KKT system. Every
 * set, binding and not binding, on seeded random problems.
 */
import t, { type Test } from 'tap'
import { unsafeDim } from '../src/shapes/Dim.js'
import type { Vec } from '../src/shapes/Vec.js'
import type { Mat } from '../src/shapes/Mat.js'
import { type LinearOperator, csr, dense, lowRank, toDense } from '../src/core/LinearOperator.js'
import { rng, type Rng } from '../src/core/Random.js'
import { Zero } from '../src/core/Tangent.js'
import { paperProblem } from '../src/fw/Generators.js'
import type { Params, ParamsTangent, SetKind } from '../src/fw/Problem.js'
import { identifyFace } from '../src/fw/Face.js'
import { implicitDerivative } from '../src/fw/Implicit.js'
import { kktDerivative, solveExact } from '../src/fw/exact/index.js'

type N = 'n'
const vec = (data: Float64Array): Vec<N> => ({ dim: unsafeDim<N>(data.length), data })
const matOf = (n: number, data: Float64Array): Mat<N, N> => ({ rows: unsafeDim<N>(n), cols: unsafeDim<N>(n), data })

// -------------------------------------------------------------------------------------
// dense linear algebra (reference only)
// -------------------------------------------------------------------------------------

/** Solves A x = b (A m×m row-major) by Gaussian elimination with partial pivoting. */
const solve = (A0: Float64Array, b0: Float64Array): Float64Array => {
  const m = b0.length
  const A = Float64Array.from(A0), b = Float64Array.from(b0)
  for (let c = 0; c < m; c++) {
    let p = c
    for (let r = c + 1; r < m; r++) if (Math.abs(A[r * m + c]!) > Math.abs(A[p * m + c]!)) p = r
    if (p !== c) {
      for (let j = 0; j < m; j++) { const tmp = A[c * m + j]!; A[c * m + j] = A[p * m + j]!; A[p * m + j] = tmp }
      const tb = b[c]!; b[c] = b[p]!; b[p] = tb
    }
    const d = A[c * m + c]!
    for (let r = c + 1; r < m; r++) {
      const f = A[r * m + c]! / d
      if (f === 0) continue
      for (let j = c; j < m; j++) A[r * m + j] = A[r * m + j]! - f * A[c * m + j]!
      b[r] = b[r]! - f * b[c]!
    }
  }
  const x = new Float64Array(m)
  for (let r = m - 1; r >= 0; r--) {
    let s = b[r]!
    for (let j = r + 1; j < m; j++) s -= A[r * m + j]! * x[j]!
    x[r] = s / A[r * m + r]!
  }
  return x
}

const mv = (P: Float64Array, x: Float64Array): Float64Array => {
  const n = x.length, o = new Float64Array(n)
  for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += P[i * n + j]! * x[j]!; o[i] = s }
  return o
}
const dotA = (a: ArrayLike<number>, b: ArrayLike<number>): number => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s }
const norm = (a: ArrayLike<number>): number => Math.sqrt(dotA(a, a))
const diff = (a: Float64Array, b: Float64Array): Float64Array => a.map((v, i) => v - b[i]!)
const cosine = (a: Float64Array, b: Float64Array): number => dotA(a, b) / (norm(a) * norm(b))
const relErr = (a: Float64Array, b: Float64Array): number => norm(diff(a, b)) / Math.max(norm(b), 1e-300)

// -------------------------------------------------------------------------------------
// exact projections and the reference solver
// -------------------------------------------------------------------------------------

interface Dense { readonly P: Float64Array; readonly q: Float64Array; readonly w: Float64Array; readonly t: number }

const sgn = (v: number): number => (v > 0 ? 1 : v < 0 ? -1 : 0)

/** Projection onto Σ wᵢ|yᵢ| ≤ t: yᵢ = sign(vᵢ)(|vᵢ| − τwᵢ)₊ with τ from the sorted breakpoints. */
const projL1 = (v: Float64Array, w: Float64Array, t: number): Float64Array => {
  if (dotA(v.map(Math.abs), w) <= t) return Float64Array.from(v)
  const idx = Array.from(v, (_, i) => i).sort((i, j) => Math.abs(v[j]!) / w[j]! - Math.abs(v[i]!) / w[i]!)
  let sa = 0, sw = 0, tau = 0
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!
    sa += w[i]! * Math.abs(v[i]!); sw += w[i]! ** 2
    const cand = (sa - t) / sw
    const next = k + 1 < idx.length ? Math.abs(v[idx[k + 1]!]!) / w[idx[k + 1]!]! : 0
    if (cand >= next) { tau = cand; break }
  }
  return v.map((vi, i) => sgn(vi) * Math.max(Math.abs(vi) - tau * w[i]!, 0))
}
const projSimplex = (v: Float64Array, t: number): Float64Array => {
  const u = Array.from(v).sort((a, b) => b - a)
  let s = 0, theta = 0
  for (let k = 0; k < u.length; k++) {
    s += u[k]!
    const c = (s - t) / (k + 1)
    if (k + 1 === u.length || u[k + 1]! <= c) { theta = c; break }
  }
  return v.map((vi) => Math.max(vi - theta, 0))
}
const project = (set: SetKind, v: Float64Array, w: Float64Array, t: number): Float64Array => {
  switch (set) {
    case 'l1': return projL1(v, w, t)
    case 'linf': return v.map((vi) => Math.min(t, Math.max(-t, vi)))
    case 'l2': { const r = norm(v); return r <= t ? Float64Array.from(v) : v.map((vi) => (vi * t) / r) }
    case 'simplex': return projSimplex(v, t)
  }
}

const lipschitz = (P: Float64Array, n: number): number => {
  let v = new Float64Array(n).fill(1), l = 0
  for (let k = 0; k < 500; k++) { const u = mv(P, v); l = norm(u); if (l === 0) return 0; v = u.map((x) => x / l) }
  return l
}

/** The face's KKT system solved densely (the polish). Returns undefined if it does not apply. */
const polish = (set: SetKind, d: Dense, x: Float64Array): Float64Array | undefined => {
  const n = x.length, { P, q, w, t: tt } = d
  const xmax = Math.max(...Array.from(x, Math.abs))
  const S = Array.from(x, (_, i) => i).filter((i) => Math.abs(x[i]!) > 1e-7 * xmax)
  const full = Array.from(x, (_, i) => i)
  const sub = (F: number[], shift = 0): Float64Array => {
    const m = F.length, o = new Float64Array(m * m)
    for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) o[a * m + b] = P[F[a]! * n + F[b]!]! + (a === b ? shift : 0)
    return o
  }
  const out = new Float64Array(n)
  const kkt = (F: number[], a: number[], rhs: Float64Array, c: number): Float64Array => {
    const m = F.length, K = new Float64Array((m + 1) * (m + 1)), b = new Float64Array(m + 1)
    const H = sub(F)
    for (let i = 0; i < m; i++) { for (let j = 0; j < m; j++) K[i * (m + 1) + j] = H[i * m + j]!; K[i * (m + 1) + m] = a[i]!; K[m * (m + 1) + i] = a[i]!; b[i] = rhs[i]! }
    b[m] = c
    return solve(K, b)
  }
  switch (set) {
    case 'l1': {
      if (dotA(x.map(Math.abs), w) < tt * (1 - 1e-7)) { const s = solve(P, q.map((v) => -v)); return s }
      const a = S.map((i) => sgn(x[i]!) * w[i]!)
      const z = kkt(S, a, Float64Array.from(S, (i) => -q[i]!), tt)
      S.forEach((i, k) => { out[i] = z[k]! })
      return out
    }
    case 'simplex': {
      const z = kkt(S, S.map(() => 1), Float64Array.from(S, (i) => -q[i]!), tt)
      S.forEach((i, k) => { out[i] = z[k]! })
      return out
    }
    case 'linf': {
      const B = full.filter((i) => Math.abs(x[i]!) >= tt * (1 - 1e-7)), F = full.filter((i) => Math.abs(x[i]!) < tt * (1 - 1e-7))
      for (const i of B) out[i] = sgn(x[i]!) * tt
      const rhs = Float64Array.from(F, (i) => -q[i]! - B.reduce((s, j) => s + P[i * n + j]! * out[j]!, 0))
      const z = F.length > 0 ? solve(sub(F), rhs) : new Float64Array(0)
      F.forEach((i, k) => { out[i] = z[k]! })
      return out
    }
    case 'l2': {
      if (norm(x) < tt * (1 - 1e-7)) return solve(P, q.map((v) => -v))
      // ‖(P + λI)⁻¹ q‖ = t by bisection on λ ≥ 0
      const at = (lam: number): Float64Array => solve(sub(full, lam), q.map((v) => -v))
      let lo = 0, hi = 1
      while (norm(at(hi)) > tt) hi *= 2
      for (let k = 0; k < 200; k++) { const mid = (lo + hi) / 2; if (norm(at(mid)) > tt) lo = mid; else hi = mid }
      return at((lo + hi) / 2)
    }
  }
}

/** The reference minimiser: projected gradient to convergence, then the dense face polish. */
const reference = (set: SetKind, d: Dense): Float64Array => {
  const n = d.q.length
  const L = lipschitz(d.P, n)
  let x: Float64Array = new Float64Array(n)
  for (let k = 0; k < 200000; k++) {
    const g = mv(d.P, x).map((v, i) => v + d.q[i]!)
    const y = project(set, x.map((v, i) => v - g[i]! / L), d.w, d.t)
    const dx = norm(diff(y, x))
    x = y
    if (dx <= 1e-15 * (1 + norm(x))) break
  }
  const p = polish(set, d, x)
  if (p === undefined) return x
  // keep the polish only if it is a fixed point of the projected gradient map
  const g = mv(d.P, p).map((v, i) => v + d.q[i]!)
  const fp = norm(diff(project(set, p.map((v, i) => v - g[i]! / L), d.w, d.t), p))
  return fp <= 1e-13 * (1 + norm(p)) ? p : x
}

// -------------------------------------------------------------------------------------
// problems
// -------------------------------------------------------------------------------------

const unconstrained = (d: { P: Float64Array; q: Float64Array }): Float64Array => solve(d.P, d.q.map((v) => -v))

/** The paper's problem with t rescaled so that the constraint binds (ratio < 1) or not (ratio > 1). */
const problem = (set: SetKind, n: number, seed: number, ratio: number): Dense => {
  const g = paperProblem(unsafeDim<N>(n), seed)
  const P = g.P.mat.data, q = g.q.data, w = g.w.data
  const xu = unconstrained({ P, q })
  const size = set === 'l1' ? dotA(xu.map(Math.abs), w) : set === 'linf' ? Math.max(...Array.from(xu, Math.abs)) : set === 'l2' ? norm(xu) : 1
  return { P, q, w, t: ratio * size }
}

const params = (d: Dense, P?: LinearOperator<N>): Params<N> => ({
  P: P ?? dense(matOf(d.q.length, d.P)), q: vec(d.q), w: vec(d.w), t: d.t
})

const randn = (r: Rng, n: number): Float64Array => Float64Array.from({ length: n }, () => r.normal())
const randSym = (r: Rng, n: number): Float64Array => {
  const o = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) { const v = r.normal(); o[i * n + j] = v; o[j * n + i] = v }
  return o
}

interface Direction { readonly dq?: Float64Array; readonly dw?: Float64Array; readonly dt?: number; readonly dP?: Float64Array }

const perturb = (d: Dense, v: Direction, h: number): Dense => ({
  P: v.dP === undefined ? d.P : d.P.map((p, k) => p + h * v.dP![k]!),
  q: v.dq === undefined ? d.q : d.q.map((p, k) => p + h * v.dq![k]!),
  w: v.dw === undefined ? d.w : d.w.map((p, k) => p + h * v.dw![k]!),
  t: d.t + h * (v.dt ?? 0)
})

const fdJvp = (set: SetKind, d: Dense, v: Direction): Float64Array => {
  const scale = Math.max(norm(v.dq ?? []), norm(v.dw ?? []), Math.abs(v.dt ?? 0), norm(v.dP ?? []) / Math.sqrt(d.q.length))
  const h = 1e-5 / scale
  const xp = reference(set, perturb(d, v, h)), xm = reference(set, perturb(d, v, -h))
  return diff(xp, xm).map((e) => e / (2 * h))
}

const tangentOf = (n: number, v: Direction): ParamsTangent<N> => ({
  ...(v.dq === undefined ? {} : { q: vec(v.dq) }),
  ...(v.dw === undefined ? {} : { w: vec(v.dw) }),
  ...(v.dt === undefined ? {} : { t: v.dt }),
  ...(v.dP === undefined ? {} : { P: matOf(n, v.dP) })
})

const SETS: readonly SetKind[] = ['l1', 'simplex', 'linf', 'l2']
const CASES: ReadonlyArray<{ readonly set: SetKind; readonly ratio: number; readonly label: string }> = [
  ...SETS.map((set) => ({ set, ratio: set === 'simplex' ? 1 : 0.3, label: `${set} binding` })),
  { set: 'simplex', ratio: 0.05, label: 'simplex small t' },
  ...(['l1', 'linf', 'l2'] as const).map((set) => ({ set, ratio: 3, label: `${set} not binding` }))
]
const SEEDS = [1, 2, 3]
const NSMALL = 12

const isFinite = (a: ArrayLike<number>): boolean => Array.from(a).every(Number.isFinite)

// -------------------------------------------------------------------------------------
// face identification
// -------------------------------------------------------------------------------------

t.test('identifyFace: l1 binding finds the support, signs and a non-negative multiplier with small stationarity residual', (t) => {
  for (const seed of SEEDS) {
    const d = problem('l1', NSMALL, seed, 0.3)
    const x = reference('l1', d)
    const f = identifyFace('l1', params(d), vec(x))
    t.ok(f.binding)
    t.equal(f.constraint, 'linear')
    t.same(Array.from(f.free), Array.from(x, (_, i) => i).filter((i) => x[i] !== 0 && Math.abs(x[i]!) > 1e-9 * Math.max(...Array.from(x, Math.abs))))
    t.ok(f.lambda > 0)
    t.ok(f.stationarity < 1e-10, `stationarity ${f.stationarity}`)
    for (const i of f.free) t.equal(f.signs.data[i], Math.sign(x[i]!))
    t.equal(f.matvecs, 1)
  }
  t.end()
})

t.test('identifyFace: every set reports binding as expected and a small stationarity residual', (t) => {
  for (const c of CASES) {
    const d = problem(c.set, NSMALL, 7, c.ratio)
    const f = identifyFace(c.set, params(d), vec(reference(c.set, d)))
    t.equal(f.binding, c.ratio < 1 || c.set === 'simplex', c.label)
    t.ok(f.stationarity < 1e-10, `${c.label}: stationarity ${f.stationarity}`)
  }
  t.end()
})

t.test('identifyFace: l∞ multipliers are non-negative on the fixed coordinates and the fixed ones sit at ±t', (t) => {
  const d = problem('linf', NSMALL, 4, 0.3)
  const x = reference('linf', d)
  const f = identifyFace('linf', params(d), vec(x))
  t.ok(f.fixed.length > 0)
  for (const i of f.fixed) { t.ok(f.multipliers.data[i]! >= 0); t.equal(Math.abs(x[i]!), d.t) }
  t.end()
})

t.test('identifyFace: a supplied gradient saves the product and is not aliased', (t) => {
  const d = problem('l1', NSMALL, 1, 0.3)
  const x = reference('l1', d)
  const g = vec(mv(d.P, x).map((v, i) => v + d.q[i]!))
  const f = identifyFace('l1', params(d), vec(x), { gradient: g })
  t.equal(f.matvecs, 0)
  t.not(f.gradient.data, g.data)
  t.same(Array.from(f.gradient.data), Array.from(g.data))
  t.end()
})

// -------------------------------------------------------------------------------------
// the JVP against central differences of the reference solver
// -------------------------------------------------------------------------------------

const checkAgainstFd = (t: Test, label: string, jv: Float64Array, fd: Float64Array): void => {
  if (norm(fd) < 1e-9) {
    t.ok(norm(jv) < 1e-8, `${label}: zero derivative (|jvp| = ${norm(jv)}, |fd| = ${norm(fd)})`)
    return
  }
  const c = cosine(jv, fd), e = relErr(jv, fd)
  t.ok(c >= 0.9999 && e <= 1e-5, `${label}: cosine ${c.toFixed(9)}, relative error ${e.toExponential(2)}`)
}

for (const which of ['q', 'w', 't', 'P'] as const) {
  t.test(`jvp in ${which} agrees with central differences of the reference solver (every set, binding and not)`, (t) => {
    for (const c of CASES) for (const seed of SEEDS) {
      const d = problem(c.set, NSMALL, seed, c.ratio)
      const x = reference(c.set, d)
      const r = rng(100 + seed)
      const n = d.q.length
      const v: Direction = which === 'q' ? { dq: randn(r, n) } : which === 'w' ? { dw: randn(r, n).map((e) => 0.2 * e) }
        : which === 't' ? { dt: d.t } : { dP: randSym(r, n) }
      const D = implicitDerivative(c.set, params(d), vec(x))
      checkAgainstFd(t, `${c.label} seed ${seed}`, D.jvp(tangentOf(n, v)).data, fdJvp(c.set, d, v))
    }
    t.end()
  })
}

t.test('jvp accepts Zero fields and the engine tangent type', (t) => {
  const d = problem('l1', NSMALL, 1, 0.3)
  const x = reference('l1', d)
  const D = implicitDerivative('l1', params(d), vec(x))
  const dq = randn(rng(5), NSMALL)
  const a = D.jvp({ q: vec(dq) })
  const b = D.jvp({ q: vec(dq), w: Zero, t: Zero, P: Zero })
  t.same(Array.from(a.data), Array.from(b.data))
  t.equal(D.linear.fwd(Zero), Zero)
  t.equal(D.linear.fwd({ P: Zero }), Zero)
  t.same(Array.from(D.jvp(Zero).data), new Array(NSMALL).fill(0))
  t.equal(D.linear.bwd(Zero), Zero)
  t.end()
})

// -------------------------------------------------------------------------------------
// the transpose identity and the dense face solve
// -------------------------------------------------------------------------------------

const pairing = (n: number, v: Direction, g: { q: Vec<N>; w: Vec<N>; t: number; P?: Mat<N, N> }): number =>
  dotA(v.dq ?? new Float64Array(n), g.q.data) + dotA(v.dw ?? new Float64Array(n), g.w.data) + (v.dt ?? 0) * g.t +
  (v.dP !== undefined && g.P !== undefined ? dotA(v.dP, g.P.data) : 0)

t.test('⟨jvp(v), u⟩ = ⟨v, vjp(u)⟩ to 1e-10 relative (every set, all parameters at once)', (t) => {
  for (const c of CASES) for (const seed of SEEDS) {
    const d = problem(c.set, NSMALL, seed, c.ratio)
    const x = reference(c.set, d)
    const n = d.q.length, r = rng(200 + seed)
    const v: Direction = { dq: randn(r, n), dw: randn(r, n), dt: r.normal(), dP: randSym(r, n) }
    const u = randn(r, n)
    const D = implicitDerivative(c.set, params(d), vec(x))
    const lhs = dotA(D.jvp(tangentOf(n, v)).data, u)
    const rhs = pairing(n, v, D.vjp(vec(u)))
    t.ok(Math.abs(lhs - rhs) <= 1e-10 * Math.max(Math.abs(lhs), Math.abs(rhs), 1e-300), `${c.label} seed ${seed}: ${lhs} vs ${rhs}`)
  }
  t.end()
})

/** The dense JVP: the face's KKT system written out and solved by Gaussian elimination. */
const denseJvp = (set: SetKind, d: Dense, x: Float64Array, v: Direction): Float64Array => {
  const n = x.length
  const f = identifyFace(set, params(d), vec(x))
  const g = f.gradient.data
  const e = new Float64Array(n)
  if (v.dq) for (let i = 0; i < n; i++) e[i] = v.dq[i]!
  if (v.dP) { const px = mv(v.dP, x); for (let i = 0; i < n; i++) e[i] = e[i]! + px[i]! }
  const dx = new Float64Array(n)
  const dt = v.dt ?? 0
  if (set === 'linf') for (const i of f.fixed) dx[i] = Math.sign(x[i]!) * dt
  const Pdx = mv(d.P, dx)
  const F = Array.from(f.free)
  const m = F.length
  if (m === 0) return dx
  const withC = f.constraint === 'linear' || f.constraint === 'sphere'
  const k = withC ? m + 1 : m
  const K = new Float64Array(k * k), b = new Float64Array(k)
  let lam = 0
  if (withC) {
    // λ from the stationarity of the face, by least squares, independently of Face.ts
    const a = F.map((i) => (set === 'l1' ? Math.sign(x[i]!) * d.w[i]! : set === 'simplex' ? 1 : x[i]!))
    lam = -dotA(a, F.map((i) => g[i]!)) / dotA(a, a)
    for (let r = 0; r < m; r++) { K[r * k + m] = a[r]!; K[m * k + r] = a[r]! }
    let s = set === 'l2' ? norm(x) * dt : dt
    if (set === 'l1' && v.dw) for (const i of F) s -= Math.sign(x[i]!) * x[i]! * v.dw[i]!
    b[m] = s
  }
  for (let r = 0; r < m; r++) {
    const i = F[r]!
    for (let c = 0; c < m; c++) K[r * k + c] = d.P[i * n + F[c]!]! + (set === 'l2' && withC && r === c ? lam : 0)
    b[r] = -(e[i]! + Pdx[i]! + (set === 'l1' && withC && v.dw ? lam * Math.sign(x[i]!) * v.dw[i]! : 0))
  }
  const z = solve(K, b)
  F.forEach((i, r) => { dx[i] = z[r]! })
  return dx
}

t.test('vjp agrees with the dense direct solve of the face KKT system, entry by entry (q, w, t, P)', (t) => {
  for (const c of CASES) {
    const d = problem(c.set, NSMALL, 11, c.ratio)
    const x = reference(c.set, d)
    const n = d.q.length
    const u = randn(rng(12), n)
    const gr = implicitDerivative(c.set, params(d), vec(x)).vjp(vec(u))
    const unit = (k: number): Float64Array => { const o = new Float64Array(n); o[k] = 1; return o }
    const jq = Float64Array.from({ length: n }, (_, k) => dotA(u, denseJvp(c.set, d, x, { dq: unit(k) })))
    const jw = Float64Array.from({ length: n }, (_, k) => dotA(u, denseJvp(c.set, d, x, { dw: unit(k) })))
    const jt = dotA(u, denseJvp(c.set, d, x, { dt: 1 }))
    const jP = new Float64Array(n * n)
    for (let k = 0; k < n * n; k++) {
      const e = new Float64Array(n * n); e[k] = 1
      jP[k] = dotA(u, denseJvp(c.set, d, x, { dP: e }))
    }
    const close = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => {
      const s = Math.max(norm(b), 1e-300)
      return Array.from(a).every((ai, i) => Math.abs(ai - b[i]!) <= 1e-9 * s)
    }
    t.ok(close(gr.q.data, jq), `${c.label}: q`)
    t.ok(close(gr.w.data, jw), `${c.label}: w`)
    t.ok(Math.abs(gr.t - jt) <= 1e-9 * Math.max(Math.abs(jt), norm(jq)), `${c.label}: t ${gr.t} vs ${jt}`)
    t.ok(gr.P !== undefined && close(gr.P.data, jP), `${c.label}: P`)
  }
  t.end()
})

t.test('linear.bwd returns q, w, t and a dense P cotangent; fwd is jvp', (t) => {
  const d = problem('l1', NSMALL, 2, 0.3)
  const x = reference('l1', d)
  const D = implicitDerivative('l1', params(d), vec(x))
  const u = vec(randn(rng(3), NSMALL))
  const b = D.linear.bwd(u)
  t.not(b, Zero)
  if (b === Zero) return t.end()
  const g = D.vjp(u)
  t.same(Array.from((b.q as Vec<N>).data), Array.from(g.q.data))
  t.same(b.t, g.t)
  t.ok(b.P !== undefined && b.P !== Zero)
  const v = { q: vec(randn(rng(4), NSMALL)), t: 0.3 }
  const f = D.linear.fwd(v)
  t.not(f, Zero)
  t.same(Array.from((f as Vec<N>).data), Array.from(D.jvp(v).data))
  t.end()
})

t.test('at n = 60, the matrix-free derivative agrees with src/fw/exact (solveExact + dense kktDerivative)', (t) => {
  for (const c of CASES) {
    const d = problem(c.set, 60, 13, c.ratio)
    const p = params(d)
    const sol = solveExact(c.set, p)
    const E = kktDerivative(c.set, p, sol)
    const D = implicitDerivative(c.set, p, sol.x)
    const n = d.q.length, r = rng(14)
    const v = tangentOf(n, { dq: randn(r, n), dw: randn(r, n), dt: 0.5, dP: randSym(r, n) })
    t.ok(relErr(D.jvp(v).data, E.jvp(v).data) < 1e-9, `${c.label}: jvp`)
    const u = vec(randn(r, n))
    const a = D.vjp(u), b = E.vjp(u)
    const s = norm(b.q.data)
    t.ok(relErr(a.q.data, b.q.data) < 1e-9, `${c.label}: vjp q`)
    t.ok(norm(diff(a.w.data, b.w.data)) <= 1e-9 * s, `${c.label}: vjp w`)
    t.ok(Math.abs(a.t - b.t) <= 1e-9 * Math.max(s, Math.abs(b.t)), `${c.label}: vjp t ${a.t} vs ${b.t}`)
    t.ok(a.P !== undefined && norm(diff(a.P.data, b.P.data)) <= 1e-9 * norm(b.P.data), `${c.label}: vjp P`)
  }
  t.end()
})

// -------------------------------------------------------------------------------------
// operators: low rank and CSR give what their dense equivalents give
// -------------------------------------------------------------------------------------

const compareOps = (t: Test, label: string, set: SetKind, op: LinearOperator<N>, d0: { q: Float64Array; w: Float64Array; t: number }): void => {
  const Pd = toDense(op)
  const d: Dense = { P: Pd.data, ...d0 }
  const x = reference(set, d)
  const n = x.length, r = rng(31)
  const A = implicitDerivative(set, params(d, op), vec(x))
  const B = implicitDerivative(set, params(d), vec(x))
  const v = tangentOf(n, { dq: randn(r, n), dw: randn(r, n), dt: 0.7, dP: randSym(r, n) })
  t.ok(relErr(A.jvp(v).data, B.jvp(v).data) < 1e-10, `${label}: jvp`)
  const u = vec(randn(r, n))
  const ga = A.vjp(u), gb = B.vjp(u)
  t.ok(relErr(ga.q.data, gb.q.data) < 1e-10, `${label}: vjp q`)
  t.ok(norm(diff(ga.w.data, gb.w.data)) <= 1e-10 * Math.max(norm(gb.w.data), norm(gb.q.data)), `${label}: vjp w`)
  t.ok(Math.abs(ga.t - gb.t) <= 1e-10 * Math.max(Math.abs(gb.t), norm(gb.q.data)), `${label}: vjp t`)
  t.equal(ga.P, undefined, `${label}: no P cotangent for a non-dense operator`)
  t.ok(gb.P !== undefined)
}

t.test('a diagonal-plus-low-rank P gives the same derivatives as its dense equivalent', (t) => {
  const n = 20, rank = 3, r = rng(21)
  const U = Float64Array.from({ length: n * rank }, () => r.normal())
  const diag = Float64Array.from({ length: n }, () => 0.5 + r.uniform())
  const op = lowRank(vec(diag), rank, U)
  const q = randn(r, n), w = Float64Array.from({ length: n }, () => 0.5 + r.uniform())
  const xu = unconstrained({ P: toDense(op).data, q })
  compareOps(t, 'lowRank l1', 'l1', op, { q, w, t: 0.3 * dotA(xu.map(Math.abs), w) })
  compareOps(t, 'lowRank l2', 'l2', op, { q, w, t: 0.5 * norm(xu) })
  compareOps(t, 'lowRank linf', 'linf', op, { q, w, t: 0.5 * Math.max(...Array.from(xu, Math.abs)) })
  compareOps(t, 'lowRank simplex', 'simplex', op, { q, w, t: 1 })
  t.end()
})

t.test('a CSR P gives the same derivatives as its dense equivalent', (t) => {
  const n = 20, r = rng(22)
  const rp: number[] = [0], ci: number[] = [], vs: number[] = []
  for (let i = 0; i < n; i++) {
    for (const j of [i - 1, i, i + 1]) if (j >= 0 && j < n) { ci.push(j); vs.push(j === i ? 4 : -1) }
    rp.push(ci.length)
  }
  const e = csr(unsafeDim<N>(n), rp, ci, vs)
  if (e._tag === 'Left') { t.fail(e.left.message); return t.end() }
  const op = e.right
  const q = randn(r, n), w = Float64Array.from({ length: n }, () => 0.5 + r.uniform())
  const xu = unconstrained({ P: toDense(op).data, q })
  compareOps(t, 'csr l1', 'l1', op, { q, w, t: 0.3 * dotA(xu.map(Math.abs), w) })
  compareOps(t, 'csr l2', 'l2', op, { q, w, t: 0.5 * norm(xu) })
  compareOps(t, 'csr linf', 'linf', op, { q, w, t: 0.5 * Math.max(...Array.from(xu, Math.abs)) })
  compareOps(t, 'csr simplex', 'simplex', op, { q, w, t: 1 })
  t.end()
})

// -------------------------------------------------------------------------------------
// cost
// -------------------------------------------------------------------------------------

t.test('a binding l1 derivative at n = 100 is one Cholesky factorization of the face, exact on it', (t) => {
  const d = problem('l1', 100, 1, 0.2)
  const x = reference('l1', d)
  const D = implicitDerivative('l1', params(d), vec(x))
  t.equal(D.info.method, 'cholesky')
  t.equal(D.face.derivative, 'exact')
  t.equal(D.info.nullity, 0)
  t.ok(D.face.size >= 1 && D.face.size < 100, `face size ${D.face.size}`)
  t.end()
})

// -------------------------------------------------------------------------------------
// degenerate cases
// -------------------------------------------------------------------------------------

const zeroOp = (n: number): LinearOperator<N> => dense(matOf(n, new Float64Array(n * n)))
const allFinite = (D: ReturnType<typeof implicitDerivative<N>>, n: number, r: Rng): boolean => {
  const v = tangentOf(n, { dq: randn(r, n), dw: randn(r, n), dt: 1, dP: randSym(r, n) })
  const g = D.vjp(vec(randn(r, n)))
  return isFinite(D.jvp(v).data) && isFinite(g.q.data) && isFinite(g.w.data) && Number.isFinite(g.t) && (g.P === undefined || isFinite(g.P.data))
}

t.test('P = 0 on an l1 ball: the solution is a vertex and dx/dt moves along it', (t) => {
  const n = 8, r = rng(41)
  const q = randn(r, n), w = Float64Array.from({ length: n }, () => 0.5 + r.uniform())
  let k = 0
  for (let i = 1; i < n; i++) if (Math.abs(q[i]!) / w[i]! > Math.abs(q[k]!) / w[k]!) k = i
  const x = new Float64Array(n); x[k] = -Math.sign(q[k]!) * 2 / w[k]!
  const p: Params<N> = { P: zeroOp(n), q: vec(q), w: vec(w), t: 2 }
  const D = implicitDerivative('l1', p, vec(x))
  t.equal(D.face.size, 0, 'a vertex: the face is a point')
  const dx = D.jvp({ t: 1 }).data
  t.ok(Math.abs(dx[k]! - (-Math.sign(q[k]!) / w[k]!)) < 1e-15)
  t.ok(allFinite(D, n, r))
  t.end()
})

t.test('P = 0 and q = 0 inside the ball: every point is a minimizer, the derivative is the minimum-norm one (0), all finite', (t) => {
  const n = 6, r = rng(42)
  const p: Params<N> = { P: zeroOp(n), q: vec(new Float64Array(n)), w: vec(new Float64Array(n).fill(1)), t: 1 }
  for (const set of ['l1', 'l2', 'linf'] as const) {
    const D = implicitDerivative(set, p, vec(new Float64Array(n)))
    t.equal(D.face.derivative, 'non-unique', set)
    t.same(Array.from(D.jvp({ q: vec(randn(r, n)) }).data), new Array(n).fill(0), set)
    t.ok(allFinite(D, n, r), set)
  }
  t.end()
})

t.test('P = 0 on an l2 ball: λ = ‖q‖/t and the derivative matches central differences', (t) => {
  const n = 7, r = rng(43)
  const q = randn(r, n)
  const d: Dense = { P: new Float64Array(n * n), q, w: new Float64Array(n).fill(1), t: 1.5 }
  const x = q.map((v) => (-v * d.t) / norm(q))
  const D = implicitDerivative('l2', params(d), vec(x))
  t.equal(D.face.derivative, 'exact')
  const dq = randn(r, n)
  const qp = q.map((v, i) => v + 1e-6 * dq[i]!), qm = q.map((v, i) => v - 1e-6 * dq[i]!)
  const exact = diff(qp.map((v) => (-v * d.t) / norm(qp)), qm.map((v) => (-v * d.t) / norm(qm))).map((e) => e / 2e-6)
  t.ok(relErr(D.jvp({ q: vec(dq) }).data, exact) < 1e-7)
  t.ok(allFinite(D, n, r))
  t.end()
})

t.test('t = 0: an empty support (l1, simplex) and x = 0 on l2 give a zero derivative; l∞ moves to −sign(g)', (t) => {
  const n = 6, r = rng(44)
  const d = problem('l1', n, 44, 1)
  const p: Params<N> = { ...params(d), t: 0 }
  const x0 = vec(new Float64Array(n))
  for (const set of ['l1', 'simplex', 'l2'] as const) {
    const D = implicitDerivative(set, p, x0)
    t.equal(D.face.size, 0, set)
    t.same(Array.from(D.jvp({ t: 1, q: vec(randn(r, n)) }).data), new Array(n).fill(0), set)
    t.ok(allFinite(D, n, r), set)
  }
  const D = implicitDerivative('linf', p, x0)
  t.same(Array.from(D.jvp({ t: 1 }).data), Array.from(d.q, (v) => -Math.sign(v)))
  t.ok(allFinite(D, n, r))
  t.end()
})

t.test('λ = 0 exactly on the boundary: a kink, the face is kept binding (the smallest face) and the derivatives are finite and transposes', (t) => {
  const n = NSMALL, r = rng(45)
  for (const set of ['l1', 'l2'] as const) {
    const d0 = problem(set, n, 45, 1)
    const xu = unconstrained(d0)
    const d: Dense = { ...d0, t: set === 'l1' ? dotA(xu.map(Math.abs), d0.w) : norm(xu) }
    const D = implicitDerivative(set, params(d), vec(xu))
    t.equal(D.face.derivative, 'kink', set)
    t.ok(D.face.margin <= 1e-9, `${set}: margin ${D.face.margin}`)
    const dt = D.jvp({ t: 1 }).data
    t.ok(norm(dt) > 0, `${set}: the binding face moves with t`)
    t.ok(allFinite(D, n, r), set)
    const v: Direction = { dq: randn(r, n), dt: 1 }, u = randn(r, n)
    const lhs = dotA(D.jvp(tangentOf(n, v)).data, u), rhs = pairing(n, v, D.vjp(vec(u)))
    t.ok(Math.abs(lhs - rhs) <= 1e-10 * Math.abs(lhs), set)
  }
  t.end()
})

t.test('a nearly singular face matrix (rank one plus 1e-13 I) stays finite', (t) => {
  const n = 10, r = rng(46)
  const a = randn(r, n)
  const P = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) P[i * n + j] = a[i]! * a[j]! + (i === j ? 1e-13 : 0)
  const q = randn(r, n)
  const d: Dense = { P, q, w: new Float64Array(n).fill(1), t: 0.5 }
  for (const set of SETS) {
    const x = project(set, q.map((v) => -v), d.w, d.t) // any feasible point: the face system is what matters
    const D = implicitDerivative(set, params(d), vec(x))
    t.ok(allFinite(D, n, r), set)
  }
  t.end()
})

t.test('the derivative functions do not write into their arguments', (t) => {
  const d = problem('l1', NSMALL, 3, 0.3)
  const x = reference('l1', d)
  const p = params(d)
  const copies = [p.q.data, p.w.data, x].map((a) => Float64Array.from(a))
  const D = implicitDerivative('l1', p, vec(x))
  const dq = randn(rng(6), NSMALL), u = randn(rng(7), NSMALL)
  const dqc = Float64Array.from(dq), uc = Float64Array.from(u)
  D.jvp({ q: vec(dq), t: 1 })
  D.vjp(vec(u))
  t.same([p.q.data, p.w.data, x].map((a) => Array.from(a)), copies.map((a) => Array.from(a)))
  t.same(Array.from(dq), Array.from(dqc))
  t.same(Array.from(u), Array.from(uc))
  t.end()
})
