/**
 * The active set's kept face factor (src/fw/FaceFactor.ts) against a fresh solver on
 * every face of a walk: coordinates leaving and entering one at a time and many at once,
 * an active row appearing and disappearing, a sign flipping under an abs row; on a
 * well-conditioned P, on cond 1e8, and where it must decline (a singular face, a row of
 * extreme scale). The bordered residual is recomputed here from P itself.
 */
import t from 'tap'
import { rng, type Rng } from '../src/core/Random.js'
import { kktSolver } from '../src/core/Kkt.js'
import { denseEntries, faceFactorCache } from '../src/fw/FaceFactor.js'
import { activeSet } from '../src/fw/ActiveSet.js'
import { dense } from '../src/core/LinearOperator.js'
import { unsafeDim } from '../src/shapes/Dim.js'
import { resolveSet } from '../src/fw/sets/Sets.js'
import { type RefP, solveReference } from './helpers/ddReference.js'
import { spectralP, rankDeficientP, randomQBinding } from './helpers/hardProblems.js'

const denseOf = (p: RefP): Float64Array => {
  if (p.kind !== 'dense') throw new Error('a dense P expected')
  return p.data
}

const gather = (A: Float64Array, n: number, F: Int32Array): Float64Array => {
  const m = F.length, H = new Float64Array(m * m)
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) H[a * m + b] = A[F[a]! * n + F[b]!]!
  return H
}

/** max |H x + Eᵀν − b| and max |E x − c| over their scales, from P directly. */
const residual = (A: Float64Array, n: number, F: Int32Array, E: Float64Array, k: number, x: Float64Array, nu: Float64Array, b: Float64Array, c: Float64Array): number => {
  const m = F.length
  let r = 0, sc = 0
  for (let a = 0; a < m; a++) {
    let s = -b[a]!, abs = Math.abs(b[a]!)
    for (let j = 0; j < m; j++) { const v = A[F[a]! * n + F[j]!]! * x[j]!; s += v; abs += Math.abs(v) }
    for (let l = 0; l < k; l++) { const v = E[l * m + a]! * nu[l]!; s += v; abs += Math.abs(v) }
    r = Math.max(r, Math.abs(s)); sc = Math.max(sc, abs)
  }
  let rc = 0
  for (let l = 0; l < k; l++) {
    let s = -c[l]!, abs = Math.abs(c[l]!)
    for (let j = 0; j < m; j++) { const v = E[l * m + j]! * x[j]!; s += v; abs += Math.abs(v) }
    rc = Math.max(rc, Math.abs(s) / Math.max(abs, 1e-300))
  }
  return Math.max(r / sc, rc)
}

const randomFace = (r: Rng, n: number, m: number): Int32Array => {
  const idx = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(r.uniform() * (i + 1)); [idx[i], idx[j]] = [idx[j]!, idx[i]!] }
  return Int32Array.from(idx.slice(0, m)).sort()
}

/** A walk of faces: each differs from the last by a few coordinates; E a signed weight row or none. */
const walk = (r: Rng, n: number, steps: number): Array<{ F: Int32Array; signs: Int8Array; k: number }> => {
  let F = randomFace(r, n, Math.floor(0.7 * n))
  const signs = Int8Array.from({ length: n }, () => (r.uniform() < 0.5 ? -1 : 1))
  const out: Array<{ F: Int32Array; signs: Int8Array; k: number }> = []
  for (let s = 0; s < steps; s++) {
    const set = new Set(F)
    const change = s % 7 === 6 ? 20 : 1 + Math.floor(r.uniform() * 3)
    for (let c = 0; c < change; c++) {
      const i = Math.floor(r.uniform() * n)
      if (set.has(i) && set.size > 10) set.delete(i); else set.add(i)
    }
    if (s % 11 === 10) { const i = [...set][0]!; signs[i] = -signs[i]! as -1 | 1 }
    F = Int32Array.from([...set]).sort()
    out.push({ F, signs: Int8Array.from(signs), k: s % 13 === 12 ? 0 : 1 })
  }
  return out
}

for (const cond of [1e2, 1e8]) {
  t.test(`along a walk of faces the kept factor solves as a fresh one does (n = 90, cond ${cond})`, async (t) => {
    const r = rng(7100 + Math.log10(cond))
    const n = 90
    const A = denseOf(spectralP(r, n, cond))
    const w = Float64Array.from({ length: n }, () => 0.5 + r.uniform())
    const cache = faceFactorCache(denseEntries(A, n), n)
    let served = 0, worst = 0, worstFresh = 0, agree = 0
    for (const { F, signs, k } of walk(r, n, 60)) {
      const m = F.length
      const E = new Float64Array(k * m)
      for (let j = 0; j < m && k > 0; j++) E[j] = w[F[j]!]! * signs[F[j]!]!
      const rows = k > 0 ? Int32Array.of(0) : new Int32Array(0)
      const b = Float64Array.from({ length: m }, () => r.normal())
      const c = Float64Array.from({ length: k }, () => r.normal())
      const kept = cache.solverFor(F, rows, E, 0)
      const fresh = kktSolver({ H: { kind: 'dense', m, H: gather(A, n, F) }, ...(k > 0 ? { E: { k, rows: E } } : {}) })
      const sf = fresh.solve(b, c)
      worstFresh = Math.max(worstFresh, residual(A, n, F, E, k, sf.x, sf.nu, b, c))
      if (kept === undefined) continue
      served++
      t.equal(kept.info.nullity, 0)
      const sk = kept.solve(b, c)
      worst = Math.max(worst, residual(A, n, F, E, k, sk.x, sk.nu, b, c))
      let dx = 0, xs = 0
      for (let j = 0; j < m; j++) { dx = Math.max(dx, Math.abs(sk.x[j]! - sf.x[j]!)); xs = Math.max(xs, Math.abs(sf.x[j]!)) }
      agree = Math.max(agree, dx / xs)
    }
    t.equal(served, 60, 'a positive definite face is always served')
    t.ok(worst <= 1e-13, `the kept factor's bordered residual ${worst.toExponential(2)} (fresh ${worstFresh.toExponential(2)})`)
    t.ok(agree <= 64 * cond * 2.2e-16, `the two solutions agree to κε: ${agree.toExponential(2)}`)
  })
}

t.test('the kept factor declines a singular face and a row of extreme scale, and recovers after', async (t) => {
  const r = rng(7200)
  const n = 60
  const A = denseOf(rankDeficientP(r, n, 20))
  const cache = faceFactorCache(denseEntries(A, n), n)
  const F = Int32Array.from({ length: 50 }, (_, i) => i)
  t.equal(cache.solverFor(F, new Int32Array(0), new Float64Array(0), 0), undefined, 'rank 20 on a face of 50: declined')
  const B = denseOf(spectralP(r, n, 1e3))
  const c2 = faceFactorCache(denseEntries(B, n), n)
  const E = new Float64Array(50).fill(1e-9)
  t.equal(c2.solverFor(F, Int32Array.of(0), E, 0), undefined, 'a row of entries 1e-9: declined (the fresh solver equilibrates it)')
  t.not(c2.solverFor(F, Int32Array.of(0), new Float64Array(50).fill(1), 0), undefined, 'the same face with a row of scale 1: served')
})

t.test('activeSet with the kept factor reaches the exact minimizer (l1, simplex, linf; n = 80, cond 1e8)', async (t) => {
  for (const [i, set] of (['l1', 'simplex', 'linf'] as const).entries()) {
    const r = rng(7300 + i)
    const n = 80
    const Pref = spectralP(r, n, 1e8)
    const A = denseOf(Pref)
    const dim = unsafeDim<'n'>(n)
    const P = dense({ rows: dim, cols: dim, data: A })
    // t a fraction of the unconstrained minimizer's size: a solution of many nonzeros
    const ref = randomQBinding(r, set, Pref, n, 0.3)
    const q = { dim, data: Float64Array.from(ref.q) }
    const theta = { P, q, w: { dim, data: Float64Array.from(ref.w) }, t: ref.t }
    const fs = resolveSet(set, theta)
    const x0 = new Float64Array(n)
    if (set === 'simplex') x0.fill(theta.t / n)
    const withIt = activeSet(fs.polyhedron!, P, q.data, x0)
    // the same walk with P behind an operator the kept factor does not take (CSR of the same entries)
    const rowPtr = Int32Array.from({ length: n + 1 }, (_, k) => k * n)
    const colIdx = Int32Array.from({ length: n * n }, (_, k) => k % n)
    const csr = { kind: 'csr' as const, dim, rowPtr, colIdx, values: Float64Array.from(A) }
    const without = activeSet(fs.polyhedron!, csr as never, q.data, x0)
    let nnz = 0
    for (const v of withIt.x) if (v !== 0 && Math.abs(v) !== theta.t) nnz++
    t.ok(withIt.certified, `${set}: certified (${withIt.rounds} rounds)`)
    t.ok(nnz >= 10, `${set}: ${nnz} coordinates strictly inside their bounds`)
    const exact = solveReference(ref, withIt.x).x // a start only: the reference verifies its face itself
    const err = (x: Float64Array): number => {
      let d = 0, s = 0
      for (let j = 0; j < n; j++) { d = Math.max(d, Math.abs(x[j]! - exact[j]!)); s = Math.max(s, Math.abs(exact[j]!)) }
      return d / s
    }
    t.ok(!without.certified || err(without.x) <= 1e-6, `${set}: a point certified through CG is exact too`)
    t.ok(err(withIt.x) <= 1e-8, `${set}: the kept factor's minimizer against the double-double reference: ${err(withIt.x).toExponential(2)} (through CSR and CG: ${err(without.x).toExponential(2)}, certified ${without.certified})`)
  }
})

t.test('diag + low rank with a diagonal too small for Woodbury: the kept factor reads its entries (the same minimizer as the dense matrix)', async (t) => {
  const r = rng(7400)
  const n = 80, rank = 4
  const dim = unsafeDim<'n'>(n)
  const d = Float64Array.from({ length: n }, (_, i) => 1e-9 ** (i / (n - 1)))
  const U = Float64Array.from({ length: n * rank }, () => r.normal() / Math.sqrt(n))
  const A = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = i === j ? d[i]! : 0
    for (let k = 0; k < rank; k++) s += U[i * rank + k]! * U[j * rank + k]!
    A[i * n + j] = s
  }
  const q = { dim, data: Float64Array.from({ length: n }, () => r.normal()) }
  const lr = { kind: 'lowRank' as const, dim, diag: { dim, data: d }, rank, U }
  const Pd = dense({ rows: dim, cols: dim, data: A })
  const theta = { P: Pd, q, w: { dim, data: new Float64Array(n).fill(1) }, t: 2 }
  const fs = resolveSet('l1', theta)
  const a = activeSet(fs.polyhedron!, lr, q.data, new Float64Array(n))
  const b = activeSet(fs.polyhedron!, Pd, q.data, new Float64Array(n))
  t.ok(a.certified && b.certified, `both certified (${a.rounds} and ${b.rounds} rounds)`)
  let e = 0, s = 0
  for (let j = 0; j < n; j++) { e = Math.max(e, Math.abs(a.x[j]! - b.x[j]!)); s = Math.max(s, Math.abs(b.x[j]!)) }
  t.ok(e <= 1e-7 * s, `the minimizers agree to ${(e / s).toExponential(2)}`)
})
