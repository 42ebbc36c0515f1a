/**
 * `polytope({ lmo })`: a polytope known only by its oracle. Every check is against an
 * independent reference built from the polytope's explicit vertex list: the exact QP over
 * the convex hull by brute force over vertex subsets (self-certifying: a convex
 * combination at which every vertex's reduced cost is ≥ 0), finite differences of that
 * exact solution, the transpose law, and the library's own sets where they coincide
 * (simplex, box, l1 ball). Polytopes: the simplex, the cube, the cross-polytope, the
 * square (affinely dependent atoms), a permutahedron of order 4 (sorting oracle) and the
 * paths of a small grid DAG (dynamic-programming oracle). Hard regimes: a face larger
 * than the atoms' span, a degenerate optimal face, P singular on the face, ill-conditioned
 * P, and bad oracles.
 */
import t, { type Test } from 'tap'
import * as E from 'fp-ts/lib/Either.js'
import { dfwLayer, LayerError, type LayerOptions, type LayerResult } from '../src/fw/Layer.js'
import { dfwBatch } from '../src/fw/Batch.js'
import { polytope, type Problem, type ParamsTangent } from '../src/fw/Problem.js'
import { implicitDerivative } from '../src/fw/Implicit.js'
import { dense, lowRank, type LinearOperator } from '../src/core/LinearOperator.js'
import { rng, type Rng } from '../src/core/Random.js'
import { Zero } from '../src/core/Tangent.js'
import { unsafeDim, type Dim } from '../src/shapes/Dim.js'
import type { Vec } from '../src/shapes/Vec.js'
import { rowAbsSums } from '../src/fw/Oracle.js'
import { vertexOracle, atomTable } from '../src/fw/Atoms.js'
import { atomSolve, weightPolish } from '../src/fw/AtomSolve.js'
import { unrolledAtoms } from '../src/fw/AtomUnrolled.js'
import { atomFace, affineSpan } from '../src/fw/AtomFace.js'
import { NegativeCurvatureError } from '../src/fw/Errors.js'
import { polytopeSet, resolvePolytope } from '../src/fw/sets/Polytope.js'
import { resolveSet } from '../src/fw/sets/Sets.js'

type N = 'N'
type V = Float64Array

// -------------------------------------------------------------------------------------
// polytopes by their vertices, with real oracles
// -------------------------------------------------------------------------------------

interface Poly {
  readonly name: string
  readonly n: number
  readonly vertices: readonly V[]
  readonly lmo: (g: V) => V
}

const argminOver = (vs: readonly V[]) => (g: V): V => {
  let best = 0, bv = Infinity
  vs.forEach((v, k) => { const s = dotA(g, v); if (s < bv) { bv = s; best = k } })
  return Float64Array.from(vs[best]!)
}

const dotA = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

const simplexPoly = (n: number): Poly => ({
  name: `simplex n=${n}`, n,
  vertices: Array.from({ length: n }, (_, i) => { const v = new Float64Array(n); v[i] = 1; return v }),
  lmo: (g) => { let b = 0; for (let i = 1; i < n; i++) if (g[i]! < g[b]!) b = i; const v = new Float64Array(n); v[b] = 1; return v }
})

const cubePoly = (n: number): Poly => ({
  name: `cube n=${n}`, n,
  vertices: Array.from({ length: 2 ** n }, (_, k) => Float64Array.from({ length: n }, (_, i) => (k >> i) & 1)),
  lmo: (g) => Float64Array.from(g, (v) => (v < 0 ? 1 : 0))
})

const crossPoly = (n: number): Poly => ({
  name: `cross-polytope n=${n}`, n,
  vertices: Array.from({ length: 2 * n }, (_, k) => { const v = new Float64Array(n); v[k >> 1] = k & 1 ? -1 : 1; return v }),
  lmo: (g) => { let b = 0; for (let i = 1; i < n; i++) if (Math.abs(g[i]!) > Math.abs(g[b]!)) b = i; const v = new Float64Array(n); v[b] = g[b]! > 0 ? -1 : 1; return v }
})

/** The permutahedron of order m: the permutations of (1, …, m); the oracle sorts. */
const permutahedron = (m: number): Poly => {
  const perms: V[] = []
  const rec = (prefix: number[], rest: number[]): void => {
    if (rest.length === 0) { perms.push(Float64Array.from(prefix)); return }
    rest.forEach((r, k) => rec([...prefix, r], [...rest.slice(0, k), ...rest.slice(k + 1)]))
  }
  rec([], Array.from({ length: m }, (_, i) => i + 1))
  return {
    name: `permutahedron m=${m}`, n: m, vertices: perms,
    // the largest value goes to the smallest gᵢ (rearrangement)
    lmo: (g) => {
      const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => g[a]! - g[b]! || a - b)
      const v = new Float64Array(m)
      order.forEach((i, rank) => { v[i] = m - rank })
      return v
    }
  }
}

/** The paths from the top-left to the bottom-right node of a k × k grid whose edges point right and down; x holds one entry per edge. */
const gridDag = (k: number): Poly & { readonly edges: ReadonlyArray<readonly [number, number]> } => {
  const node = (r: number, c: number) => r * k + c
  const edges: Array<[number, number]> = []
  for (let r = 0; r < k; r++) for (let c = 0; c < k; c++) {
    if (c + 1 < k) edges.push([node(r, c), node(r, c + 1)])
    if (r + 1 < k) edges.push([node(r, c), node(r + 1, c)])
  }
  const n = edges.length, out: number[][] = Array.from({ length: k * k }, () => [])
  edges.forEach(([a], e) => out[a]!.push(e))
  const paths: V[] = []
  const walk = (u: number, used: number[]): void => {
    if (u === k * k - 1) { const v = new Float64Array(n); for (const e of used) v[e] = 1; paths.push(v); return }
    for (const e of out[u]!) walk(edges[e]![1], [...used, e])
  }
  walk(0, [])
  // the oracle: the cheapest path under edge costs g, by dynamic programming backwards
  const lmo = (g: V): V => {
    const cost = new Float64Array(k * k).fill(Infinity), next = new Int32Array(k * k).fill(-1)
    cost[k * k - 1] = 0
    for (let u = k * k - 2; u >= 0; u--) for (const e of out[u]!) { const c = g[e]! + cost[edges[e]![1]]!; if (c < cost[u]!) { cost[u] = c; next[u] = e } }
    const v = new Float64Array(n)
    for (let u = 0; u !== k * k - 1; u = edges[next[u]!]![1]) v[next[u]!] = 1
    return v
  }
  return { name: `grid DAG ${k}×${k} (${paths.length} paths)`, n, vertices: paths, lmo, edges }
}

const square: Poly = {
  name: 'square', n: 2,
  vertices: [Float64Array.of(0, 0), Float64Array.of(1, 0), Float64Array.of(0, 1), Float64Array.of(1, 1)],
  lmo: (g) => Float64Array.of(g[0]! < 0 ? 1 : 0, g[1]! < 0 ? 1 : 0)
}

// -------------------------------------------------------------------------------------
// problems and the exact reference
// -------------------------------------------------------------------------------------

const dimOf = (n: number): Dim<N> => unsafeDim<N>(n)
const vecOf = (xs: ArrayLike<number>): Vec<N> => ({ dim: dimOf(xs.length), data: Float64Array.from(xs) })
const opOf = (n: number, P: V): LinearOperator<N> => dense({ rows: dimOf(n), cols: dimOf(n), data: P })
const lmoOf = (p: Poly) => (g: Vec<N>): Vec<N> => vecOf(p.lmo(g.data))
const problemOf = (p: Poly, P: V, q: V): Problem<N> => ({ P: opOf(p.n, P), q: vecOf(q), set: polytope<N>({ lmo: lmoOf(p) }) })

const mulMV = (P: V, x: ArrayLike<number>): V => {
  const n = x.length, o = new Float64Array(n)
  for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += P[i * n + j]! * x[j]!; o[i] = s }
  return o
}
const objective = (P: V, q: V, x: ArrayLike<number>): number => 0.5 * dotA(x, mulMV(P, x)) + dotA(q, x)
const maxAbs = (a: ArrayLike<number>): number => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!)); return m }
const diffMax = (a: ArrayLike<number>, b: ArrayLike<number>): number => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!)); return m }

/** A random PD matrix B Bᵀ/k + s I. */
const randomPd = (r: Rng, n: number, s = 0.1): V => {
  const B = Array.from({ length: n * n }, () => r.normal())
  const P = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { let v = 0; for (let k = 0; k < n; k++) v += B[i * n + k]! * B[j * n + k]!; P[i * n + j] = v / n + (i === j ? s : 0) }
  return P
}
const randomVec = (r: Rng, n: number, s = 1): V => Float64Array.from({ length: n }, () => s * r.normal())

/** Gaussian elimination with partial pivoting; undefined when a pivot is below 1e-11 of the matrix's scale. */
const solveDense = (A: number[][], b: number[]): number[] | undefined => {
  const m = b.length, M = A.map((row, i) => [...row, b[i]!])
  const scale = Math.max(1e-300, ...A.flat().map(Math.abs))
  for (let c = 0; c < m; c++) {
    let p = c
    for (let r = c + 1; r < m; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r
    if (!(Math.abs(M[p]![c]!) > 1e-11 * scale)) return undefined
    ;[M[c], M[p]] = [M[p]!, M[c]!]
    for (let r = c + 1; r < m; r++) { const f = M[r]![c]! / M[c]![c]!; for (let k = c; k <= m; k++) M[r]![k] = M[r]![k]! - f * M[c]![k]! }
  }
  const x = new Array<number>(m).fill(0)
  for (let r = m - 1; r >= 0; r--) { let s = M[r]![m]!; for (let k = r + 1; k < m; k++) s -= M[r]![k]! * x[k]!; x[r] = s / M[r]![r]! }
  return x
}

/**
 * The exact minimizer over conv(vertices) by brute force: for each vertex subset S of up to
 * n + 1 vertices, the minimizer on aff S (a direct KKT solve); the first that is a convex
 * combination (λ ≥ −1e-12) at which no vertex has a negative reduced cost (to 1e-10 of
 * the scale) is optimal: the KKT conditions of the convex problem hold.
 */
const exactQp = (vs: readonly V[], P: V, q: V): { x: V; f: number; support: number[] } => {
  const n = q.length, K = vs.length, kmax = Math.min(K, n + 1)
  const PV = vs.map((v) => mulMV(P, v))
  const subsets = function* (k: number, from: number, acc: number[]): Generator<number[]> {
    if (acc.length === k) { yield acc; return }
    for (let i = from; i < K; i++) yield* subsets(k, i + 1, [...acc, i])
  }
  for (let k = 1; k <= kmax; k++) {
    for (const S of subsets(k, 0, [])) {
      const A = S.map((a) => [...S.map((b) => dotA(vs[a]!, PV[b]!)), 1])
      A.push([...S.map(() => 1), 0])
      const sol = solveDense(A, [...S.map((a) => -dotA(q, vs[a]!)), 1])
      if (sol === undefined) continue
      const lam = sol.slice(0, k)
      if (lam.some((l) => l < -1e-12)) continue
      const x = new Float64Array(n)
      S.forEach((a, j) => { for (let i = 0; i < n; i++) x[i] = x[i]! + lam[j]! * vs[a]![i]! })
      const g = mulMV(P, x).map((v, i) => v + q[i]!)
      const gx = dotA(g, x), sc = maxAbs(g) * Math.max(1, maxAbs(x)) * n
      if (vs.every((v) => dotA(g, v) - gx >= -1e-10 * sc)) return { x, f: objective(P, q, x), support: S }
    }
  }
  throw new Error('exactQp: no KKT point found')
}

/** The central difference of the exact solution along (dq, dP), step h. */
const fdExact = (vs: readonly V[], P: V, q: V, dq: V | undefined, dP: V | undefined, h = 1e-6): V => {
  const at = (s: number) => exactQp(vs, dP === undefined ? P : P.map((v, k) => v + s * h * dP[k]!), dq === undefined ? q : q.map((v, k) => v + s * h * dq[k]!)).x
  const a = at(1), b = at(-1)
  return a.map((v, i) => (v - b[i]!) / (2 * h))
}

/** A symmetric random direction of P. */
const symDir = (r: Rng, n: number): V => {
  const D = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { const v = r.normal(); D[i * n + j] = v; D[j * n + i] = v }
  return D
}
const matOf = (n: number, D: V) => ({ rows: dimOf(n), cols: dimOf(n), data: D })

/** ⟨ct, jvp(tan)⟩ against ⟨vjp(ct), tan⟩ over q and P. */
const transposeGap = (res: LayerResult<N>, n: number, r: Rng): { lhs: number; rhs: number } => {
  const ct = vecOf(randomVec(r, n)), dq = randomVec(r, n), dP = symDir(r, n)
  const jv = res.jvp({ q: vecOf(dq), P: matOf(n, dP) })
  const g = res.vjp(ct)
  const lhs = dotA(ct.data, jv.data)
  const rhs = dotA(g.q.data, dq) + (g.P === undefined ? 0 : dotA(g.P.data, dP))
  return { lhs, rhs }
}

const thrown = (f: () => unknown): unknown => { try { f() } catch (e) { return e } return undefined }
const refuses = (t: Test, f: () => unknown, path: string, what: string, message?: RegExp): void => {
  const e = thrown(f)
  t.ok(e instanceof LayerError, `${what}: a LayerError (got ${String(e)})`)
  if (e instanceof LayerError) {
    t.equal(e.path, path, `${what}: path ${path}`)
    if (message !== undefined) t.match(e.message, message, `${what}: message`)
  }
}

const layer = dfwLayer()
const POLYS: readonly Poly[] = [simplexPoly(4), cubePoly(3), crossPoly(3), permutahedron(4), gridDag(3), square]

// -------------------------------------------------------------------------------------
// the test oracles themselves
// -------------------------------------------------------------------------------------

t.test('the test oracles minimize over their vertex lists (the references are consistent)', async (t) => {
  const r = rng(5)
  for (const p of [...POLYS, gridDag(4)]) {
    for (let k = 0; k < 20; k++) {
      const g = randomVec(r, p.n)
      t.ok(Math.abs(dotA(g, p.lmo(g)) - dotA(g, argminOver(p.vertices)(g))) <= 1e-12, `${p.name}: the oracle's value is the minimum`)
    }
  }
  t.equal(gridDag(3).vertices.length, 6)
  t.equal(permutahedron(4).vertices.length, 24)
})

// -------------------------------------------------------------------------------------
// the forward pass against the exact QP
// -------------------------------------------------------------------------------------

t.test('x and the objective match the exact QP over the vertex list, and the run is certified', async (t) => {
  for (const p of POLYS) {
    for (const seed of [1, 2, 3]) {
      const r = rng(100 * seed + p.n)
      const P = randomPd(r, p.n), q = randomVec(r, p.n, 2)
      const ref = exactQp(p.vertices, P, q)
      const res = layer(problemOf(p, P, q))
      const name = `${p.name} seed ${seed}`
      t.ok(diffMax(res.x.data, ref.x) <= 1e-9 * (1 + maxAbs(ref.x)), `${name}: x within 1e-9 (${diffMax(res.x.data, ref.x).toExponential(1)})`)
      t.ok(Math.abs(res.objective - ref.f) <= 1e-10 * (1 + Math.abs(ref.f)), `${name}: objective within 1e-10`)
      t.equal(res.status, 'converged', `${name}: converged`)
      t.ok(res.gap <= 1e-9 * Math.abs(res.objective) + 1e-12, `${name}: the oracle's gap certifies (${res.gap})`)
      t.ok(res.face !== undefined && res.face.derivative === 'exact', `${name}: face ${JSON.stringify(res.face)}`)
      t.equal(res.face?.size, ref.support.length - 1, `${name}: face size = the support's dimension`)
    }
  }
})

t.test('the polytope agrees with the library\'s own sets where they coincide', async (t) => {
  const n = 5
  const cases: Array<[Poly, (P: V, q: V) => Problem<N>]> = [
    [simplexPoly(n), (P, q) => ({ P: opOf(n, P), q: vecOf(q), t: 1, set: 'simplex' })],
    [cubePoly(n), (P, q) => ({ P: opOf(n, P), q: vecOf(q), set: { kind: 'box', lower: vecOf(new Float64Array(n)), upper: vecOf(new Float64Array(n).fill(1)) } })],
    [crossPoly(n), (P, q) => ({ P: opOf(n, P), q: vecOf(q), t: 1, set: 'l1' })]
  ]
  for (const [p, own] of cases) {
    for (const seed of [4, 5]) {
      const r = rng(seed)
      const P = randomPd(r, n), q = randomVec(r, n, 2), ct = vecOf(randomVec(r, n))
      const a = layer(problemOf(p, P, q)), b = layer(own(P, q))
      t.ok(diffMax(a.x.data, b.x.data) <= 1e-9, `${p.name}: x as the set's own solver`)
      t.ok(diffMax(a.vjp(ct).q.data, b.vjp(ct).q.data) <= 1e-7, `${p.name}: vjp in q as the set's own`)
      t.ok(diffMax(a.vjp(ct).P!.data, b.vjp(ct).P!.data) <= 1e-7, `${p.name}: vjp in P as the set's own`)
      t.equal(a.face?.size, b.face?.size, `${p.name}: the same face dimension`)
    }
  }
})

// -------------------------------------------------------------------------------------
// the implicit derivative
// -------------------------------------------------------------------------------------

t.test('implicit jvp matches finite differences of the exact solution, in q and in P', async (t) => {
  for (const p of POLYS) {
    const r = rng(7 + p.n)
    const P = randomPd(r, p.n), q = randomVec(r, p.n, 2)
    const res = layer(problemOf(p, P, q))
    t.equal(res.face?.derivative, 'exact', `${p.name}: a non-degenerate face`)
    const dq = randomVec(r, p.n), dP = symDir(r, p.n)
    const jq = res.jvp({ q: vecOf(dq) }).data, fq = fdExact(p.vertices, P, q, dq, undefined)
    t.ok(diffMax(jq, fq) <= 1e-6 * (1 + maxAbs(fq)), `${p.name}: d/dq within 1e-6 (${diffMax(jq, fq).toExponential(1)})`)
    const jP = res.jvp({ P: matOf(p.n, dP) }).data, fP = fdExact(p.vertices, P, q, undefined, dP)
    t.ok(diffMax(jP, fP) <= 1e-6 * (1 + maxAbs(fP)), `${p.name}: d/dP within 1e-6 (${diffMax(jP, fP).toExponential(1)})`)
  }
})

t.test('implicit jvp and vjp are transposes of one map (1e-10)', async (t) => {
  for (const p of POLYS) {
    const r = rng(9 + p.n)
    const res = layer(problemOf(p, randomPd(r, p.n), randomVec(r, p.n, 2)))
    for (let k = 0; k < 3; k++) {
      const { lhs, rhs } = transposeGap(res, p.n, r)
      t.ok(Math.abs(lhs - rhs) <= 1e-10 * (1 + Math.abs(lhs)), `${p.name}: ⟨ct, J t⟩ = ⟨Jᵀ ct, t⟩ (${lhs} vs ${rhs})`)
    }
  }
})

t.test('the vjp in q and P is the gradient of ⟨ct, x*⟩ (finite differences of the exact solution)', async (t) => {
  const p = gridDag(3), r = rng(21)
  const P = randomPd(r, p.n), q = randomVec(r, p.n, 2), ct = randomVec(r, p.n)
  const g = layer(problemOf(p, P, q)).vjp(vecOf(ct))
  for (let i = 0; i < p.n; i += 3) {
    const e = new Float64Array(p.n); e[i] = 1
    t.ok(Math.abs(g.q.data[i]! - dotA(ct, fdExact(p.vertices, P, q, e, undefined))) <= 1e-6, `∂q[${i}]`)
  }
  const dP = symDir(r, p.n)
  t.ok(Math.abs(dotA(g.P!.data, dP) - dotA(ct, fdExact(p.vertices, P, q, undefined, dP))) <= 1e-6, 'along a symmetric dP')
  t.same(g.t, 0, 't has no gradient')
  t.ok(g.w.data.every((v) => v === 0), 'w has no gradient')
})

// -------------------------------------------------------------------------------------
// hard regimes
// -------------------------------------------------------------------------------------

t.test('affinely dependent atoms: the square\'s four corners carry the centre; dx is still unique', async (t) => {
  // P = I and an interior target c: x = c, dx = −dq; the solve's atoms may be 3 or 4 corners
  const P = Float64Array.of(1, 0, 0, 1)
  for (const c of [[0.5, 0.5], [0.3, 0.6], [0.71, 0.52]]) {
    const q = Float64Array.from(c, (v) => -v)
    const res = layer(problemOf(square, P, q))
    t.ok(diffMax(res.x.data, c) <= 1e-12, `x = c = ${c}`)
    t.same(res.face, { ...res.face, size: 2, derivative: 'exact' }, `c = ${c}: a 2-dimensional face, exact`)
    const dq = Float64Array.of(0.3, -0.7)
    t.ok(diffMax(res.jvp({ q: vecOf(dq) }).data, dq.map((v) => -v)) <= 1e-12, `c = ${c}: dx = −dq`)
  }
  // the face routine itself, on all four corners (λ not unique): the derivative is −dq
  const theta = { P: opOf(2, P), q: vecOf(Float64Array.of(-0.5, -0.5)), w: vecOf(Float64Array.of(1, 1)), t: 0 }
  const T = atomTable(theta.P, theta.q.data, rowAbsSums(theta))
  for (const v of square.vertices) T.add(Float64Array.from(v))
  const o = vertexOracle(lmoOf(square), dimOf(2))
  const f = atomFace(T, Int32Array.of(0, 1, 2, 3), Float64Array.of(0.25, 0.25, 0.25, 0.25), Float64Array.of(0.5, 0.5), o, theta, rowAbsSums(theta))
  t.equal(f.basis.length, 3, 'an affinely independent basis of 3 of the 4 atoms')
  t.same(f.report, { size: 2, margin: 0.25, derivative: 'exact' })
  const dx = f.linear.fwd({ q: vecOf(Float64Array.of(1, 2)) } as never) as Vec<N>
  t.ok(diffMax(dx.data, [-1, -2]) <= 1e-12, 'dx = −dq on four dependent atoms')
  t.same(affineSpan(square.vertices.map((v) => Float64Array.from(v)), 0).basis.length, 3, 'affineSpan picks 3 of 4')
})

t.test('a face larger than the atoms\' span is found by probing the oracle', async (t) => {
  // the cube's bottom face, with x at its centre: two opposite corners carry x, but the face is 2-D
  const cube = cubePoly(3)
  const P = new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]), q = Float64Array.of(-0.5, -0.5, 1)
  const theta = { P: opOf(3, P), q: vecOf(q), w: vecOf(Float64Array.of(1, 1, 1)), t: 0 }
  const T = atomTable(theta.P, q, rowAbsSums(theta))
  T.add(Float64Array.of(0, 0, 0)); T.add(Float64Array.of(1, 1, 0))
  let calls = 0
  const o = vertexOracle((g: Vec<N>) => { calls++; return vecOf(cube.lmo(g.data)) }, dimOf(3))
  const f = atomFace(T, Int32Array.of(0, 1), Float64Array.of(0.5, 0.5), Float64Array.of(0.5, 0.5, 0), o, theta, rowAbsSums(theta))
  t.equal(f.report.size, 2, 'the face is the bottom square, not the diagonal')
  t.equal(f.report.derivative, 'exact')
  t.ok(f.atoms.length >= 4, `the probes found the other corners (${f.atoms.length} atoms)`)
  t.ok(calls <= 20 && f.probes === calls, `at most 20 probes (${calls})`)
  const dq = Float64Array.of(0.2, -0.3, 0.4)
  const dx = (f.linear.fwd({ q: vecOf(dq) } as never) as Vec<N>).data
  t.ok(diffMax(dx, fdExact(cube.vertices, P, q, dq, undefined)) <= 1e-8, `dx = FD of the exact solution (${Array.from(dx)})`)
  // x off the face's centre, on the diagonal the two atoms span: the push test finds x inside
  const q2 = Float64Array.of(-0.3, -0.3, 1)
  const theta2 = { ...theta, q: vecOf(q2) }
  const T2 = atomTable(theta2.P, q2, rowAbsSums(theta2))
  T2.add(Float64Array.of(0, 0, 0)); T2.add(Float64Array.of(1, 1, 0))
  const f2 = atomFace(T2, Int32Array.of(0, 1), Float64Array.of(0.7, 0.3), Float64Array.of(0.3, 0.3, 0), o, theta2, rowAbsSums(theta2))
  t.same(f2.report, { ...f2.report, size: 2, derivative: 'exact' }, 'off-centre: the square too')
  t.ok(f2.report.margin > 0.01 && f2.weights.every((w) => w > 0), `a positive representation over the square (margin ${f2.report.margin})`)
  t.ok(diffMax(f2.weights.reduce((acc, w, k) => acc.map((v, i) => v + w * T2.V[f2.atoms[k]!]![i]!), new Float64Array(3)), [0.3, 0.3, 0]) <= 1e-12, 'the weights represent x')
  // and through the layer, whatever atoms the run keeps
  const res = layer(problemOf(cube, P, q))
  t.same(res.face, { ...res.face, size: 2, derivative: 'exact' })
  t.ok(diffMax(res.jvp({ q: vecOf(dq) }).data, [-0.2, 0.3, 0]) <= 1e-10, 'the layer\'s dx')
})

t.test('a degenerate optimal face is a kink; the derivative is the smallest face\'s', async (t) => {
  // the square, P = I, target (2, 1): x = (1, 1), but the whole edge x₁ = 1 minimizes ⟨g, ·⟩
  const P = Float64Array.of(1, 0, 0, 1), q = Float64Array.of(-2, -1)
  const res = layer(problemOf(square, P, q))
  t.ok(diffMax(res.x.data, [1, 1]) <= 1e-12, 'x = (1, 1)')
  t.equal(res.face?.derivative, 'kink')
  t.equal(res.face?.size, 0, 'the smallest face: the vertex')
  t.ok(res.face!.margin <= 1e-9, 'margin at most KINK_TOLERANCE')
  const dq = Float64Array.of(0.5, -1) // moves the target up: x stays at the vertex
  t.ok(maxAbs(res.jvp({ q: vecOf(dq) }).data) === 0, 'dx = 0 on the vertex')
  t.ok(diffMax(res.x.data, exactQp(square.vertices, P, q.map((v, i) => v + 1e-6 * dq[i]!)).x) <= 1e-12, 'the one-sided difference agrees')
  const { lhs, rhs } = transposeGap(res, 2, rng(3))
  t.ok(Math.abs(lhs - rhs) <= 1e-12, 'transposes at the kink')
  // in 3-D: the cube, target (2, 0.5, 0): x = (1, 0.5, 0) on an edge of the face x₁ = 1,
  // which minimizes ⟨g, ·⟩ (g₃ = 0): its other two corners sit at their switching point
  const cube = cubePoly(3), P3 = new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1])
  const r3 = layer(problemOf(cube, P3, Float64Array.of(-2, -0.5, 0)))
  t.ok(diffMax(r3.x.data, [1, 0.5, 0]) <= 1e-12, 'x on the edge x₁ = 1, x₃ = 0')
  t.same(r3.face, { ...r3.face, size: 1, derivative: 'kink' }, 'the edge, at a kink')
  t.ok(diffMax(r3.jvp({ q: vecOf([0.1, 0.2, 0.3]) }).data, [0, -0.2, 0]) <= 1e-12, 'dx on the edge: the one-sided derivative for x₃ held at 0')
  // and the same target pushed off the switching point is exact, on the same edge
  const r4 = layer(problemOf(cube, P3, Float64Array.of(-2, -0.5, 1)))
  t.same(r4.face, { ...r4.face, size: 1, derivative: 'exact' }, 'off the kink: exact')
})

t.test('small and flat cases: a segment in R¹, a single point, the cube\'s centre in one step', async (t) => {
  const seg: Poly = { name: 'segment', n: 1, vertices: [Float64Array.of(0), Float64Array.of(1)], lmo: (g) => Float64Array.of(g[0]! < 0 ? 1 : 0) }
  const P1 = Float64Array.of(2)
  for (const [q, x, face, dx] of [[-1, 0.5, { size: 1, margin: 0.5, derivative: 'exact' }, -0.5], [1, 0, { size: 0, margin: 1, derivative: 'exact' }, 0],
    [-5, 1, { size: 0, margin: 1, derivative: 'exact' }, 0], [0, 0, { size: 0, margin: 0, derivative: 'kink' }, 0]] as const) {
    const res = layer(problemOf(seg, P1, Float64Array.of(q)))
    t.same([res.x.data[0], res.face, res.jvp({ q: vecOf([1]) }).data[0]], [x, face, dx], `q = ${q}`)
  }
  const point: Poly = { name: 'point', n: 3, vertices: [Float64Array.of(0.2, 0.3, 0.5)], lmo: () => Float64Array.of(0.2, 0.3, 0.5) }
  const I3 = new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1])
  const pt = layer(problemOf(point, I3, Float64Array.of(1, 2, 3)))
  t.same([Array.from(pt.x.data), pt.face, Array.from(pt.vjp(vecOf([1, 1, 1])).q.data)], [[0.2, 0.3, 0.5], { size: 0, margin: 1, derivative: 'exact' }, [0, 0, 0]], 'a single point: x fixed, no derivative')
  const flat = layer(problemOf(cubePoly(3), new Float64Array(9), new Float64Array(3)))
  t.equal(flat.face?.derivative, 'non-unique', 'f ≡ 0: every point is optimal')
  // from the corner (1, 1, 1) one exact line search lands on the centre: the two atoms span a
  // segment, and the probes find the whole cube
  const centre = layer(problemOf(cubePoly(3), I3, Float64Array.of(-0.5, -0.5, -0.5)))
  t.same([Array.from(centre.x.data), centre.iterations, centre.face?.size, centre.face?.derivative], [[0.5, 0.5, 0.5], 1, 3, 'exact'])
  t.ok(diffMax(centre.jvp({ q: vecOf([1, 0, 0]) }).data, [-1, 0, 0]) <= 1e-12, 'dx = −dq in the interior')
  const un = dfwLayer({ backward: 'unrolled' })(problemOf(cubePoly(3), I3, Float64Array.of(-0.5, -0.5, -0.5)))
  t.ok(diffMax(un.jvp({ q: vecOf([1, 0, 0]) }).data, [-1 / 3, -1 / 3, -1 / 3]) <= 1e-15, 'unrolled: the derivative of the one diagonal step')
})

t.test('P singular on the optimal face: non-unique', async (t) => {
  const cube = cubePoly(3)
  const P = new Float64Array([0, 0, 0, 0, 0, 0, 0, 0, 1]), q = Float64Array.of(0, 0, 0.5)
  const res = layer(problemOf(cube, P, q))
  t.equal(res.face?.derivative, 'non-unique')
  t.ok(Math.abs(res.x.data[2]!) <= 1e-12 && res.status === 'converged', 'x₃ = 0, optimal')
  const { lhs, rhs } = transposeGap(res, 3, rng(4))
  t.ok(Math.abs(lhs - rhs) <= 1e-10 * (1 + Math.abs(lhs)), 'still one linear map and its transpose')
  // a linear objective on the DAG: x is a vertex; a tie with no curvature is non-unique too
  const dag = gridDag(3)
  const lin = layer(problemOf(dag, new Float64Array(dag.n * dag.n), new Float64Array(dag.n).fill(1)))
  t.equal(lin.face?.derivative, 'non-unique', 'all paths tie under uniform costs')
})

t.test('ill-conditioned P (condition number 1e8): x, the derivative and the transpose law', async (t) => {
  for (const p of [permutahedron(4), gridDag(3), simplexPoly(6)]) {
    const r = rng(31 + p.n), n = p.n
    // P = U diag(1, …, 1e-8) Uᵀ with U orthogonal (Gram-Schmidt of a random matrix)
    const U: V[] = []
    for (let k = 0; k < n; k++) {
      const u = randomVec(r, n)
      for (const b of U) { const c = dotA(u, b); for (let i = 0; i < n; i++) u[i] = u[i]! - c * b[i]! }
      const nu = Math.sqrt(dotA(u, u)); U.push(u.map((v) => v / nu))
    }
    const P = new Float64Array(n * n)
    U.forEach((u, k) => { const s = 10 ** (-8 * k / (n - 1)); for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) P[i * n + j] = P[i * n + j]! + s * u[i]! * u[j]! })
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) { const v = 0.5 * (P[i * n + j]! + P[j * n + i]!); P[i * n + j] = v; P[j * n + i] = v }
    const q = randomVec(r, n, 0.3)
    const ref = exactQp(p.vertices, P, q)
    const res = layer(problemOf(p, P, q))
    t.ok(diffMax(res.x.data, ref.x) <= 1e-6 * (1 + maxAbs(ref.x)), `${p.name}: x within 1e-6 (${diffMax(res.x.data, ref.x).toExponential(1)})`)
    t.ok(res.objective - ref.f <= 1e-10 * (1 + Math.abs(ref.f)), `${p.name}: objective within 1e-10 of the exact one`)
    t.equal(res.status, 'converged')
    const dq = randomVec(r, n)
    const fq = fdExact(p.vertices, P, q, dq, undefined, 1e-5)
    t.ok(diffMax(res.jvp({ q: vecOf(dq) }).data, fq) <= 1e-5 * (1 + maxAbs(fq)), `${p.name}: d/dq within 1e-5 relative (|dx| ~ ${maxAbs(fq).toExponential(1)})`)
    const { lhs, rhs } = transposeGap(res, n, r)
    t.ok(Math.abs(lhs - rhs) <= 1e-9 * (1 + Math.abs(lhs)), `${p.name}: transposes (${lhs} vs ${rhs})`)
  }
})

t.test('P as diagonal plus low rank: solved, with gradients in q only', async (t) => {
  const p = gridDag(3), n = p.n, r = rng(41)
  const U = randomVec(r, n), d = Float64Array.from({ length: n }, () => 0.5 + r.uniform())
  const Pd = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Pd[i * n + j] = U[i]! * U[j]! + (i === j ? d[i]! : 0)
  const q = randomVec(r, n, 2)
  const res = layer({ P: lowRank(vecOf(d), 1, U), q: vecOf(q), set: polytope<N>({ lmo: lmoOf(p) }) })
  t.ok(diffMax(res.x.data, exactQp(p.vertices, Pd, q).x) <= 1e-9)
  const g = res.vjp(vecOf(randomVec(r, n)))
  t.equal(g.P, undefined, 'no P gradient for a low-rank P')
  t.ok(diffMax(res.jvp({ q: vecOf(U) }).data, fdExact(p.vertices, Pd, q, U, undefined)) <= 1e-6)
})

t.test('negative curvature is refused at P, wherever it shows', async (t) => {
  const P = Float64Array.of(1, 2, 2, 1) // eigenvalues 3 and −1, along (1, −1)
  refuses(t, () => layer(problemOf(square, P, Float64Array.of(-1, 0.5))), 'P', 'an indefinite P', /positive semidefinite/)
  refuses(t, () => dfwLayer({ backward: 'unrolled' })(problemOf(square, P, Float64Array.of(-1, 0.5))), 'P', 'unrolled')
  // in a line search: the segment from (1, 0) to (2, −1), along which dᵀPd = −2
  const seg: Poly = { name: 'segment', n: 2, vertices: [Float64Array.of(1, 0), Float64Array.of(2, -1)], lmo: (g) => argminOver([Float64Array.of(1, 0), Float64Array.of(2, -1)])(g) }
  for (const backward of ['implicit', 'unrolled'] as const) {
    refuses(t, () => dfwLayer({ backward, maxIterations: 3, tolerance: 0 })(problemOf(seg, P, Float64Array.of(0.5, 0))), 'P', `a line search (${backward})`, /dᵀPd = -1\.00/)
  }
  // in the polish on the weights, and on a face the probes enlarged
  const theta = { P: opOf(2, P), q: vecOf(Float64Array.of(0.5, 0)), w: vecOf(Float64Array.of(1, 1)), t: 0 }
  const T = atomTable(theta.P, theta.q.data, rowAbsSums(theta))
  T.add(Float64Array.of(1, 0)); T.add(Float64Array.of(2, -1))
  t.throws(() => weightPolish(T, Int32Array.of(0, 1), Float64Array.of(0.5, 0.5), rowAbsSums(theta)), NegativeCurvatureError, 'the weights\' QP')
  const P3 = new Float64Array([1, 2, 0, 2, 1, 0, 0, 0, 1]), q3 = Float64Array.of(-1.5, -1.5, 1) // g = (0, 0, 1) at the bottom face's centre
  const theta3 = { P: opOf(3, P3), q: vecOf(q3), w: vecOf(Float64Array.of(1, 1, 1)), t: 0 }
  const T3 = atomTable(theta3.P, q3, rowAbsSums(theta3))
  T3.add(Float64Array.of(0, 0, 0)); T3.add(Float64Array.of(1, 1, 0))
  const o3 = vertexOracle(lmoOf(cubePoly(3)), dimOf(3))
  t.throws(() => atomFace(T3, Int32Array.of(0, 1), Float64Array.of(0.5, 0.5), Float64Array.of(0.5, 0.5, 0), o3, theta3, rowAbsSums(theta3)), NegativeCurvatureError, 'the face\'s KKT system, along the other diagonal')
})

// -------------------------------------------------------------------------------------
// the unrolled derivative
// -------------------------------------------------------------------------------------

t.test('unrolled: jvp matches finite differences of the steps that ran, and transposes', async (t) => {
  for (const p of [gridDag(3), permutahedron(4), cubePoly(3)]) {
    for (const K of [3, 12, 40]) {
      const r = rng(50 + K + p.n)
      const P = randomPd(r, p.n), q = randomVec(r, p.n, 2)
      const opts: LayerOptions = { backward: 'unrolled', tolerance: 0, maxIterations: K }
      const run = (Pm: V, qm: V) => dfwLayer(opts)(problemOf(p, Pm, qm))
      const res = run(P, q)
      t.equal(res.iterations, K, `${p.name} K=${K}: exactly K steps`)
      t.equal(res.face, undefined, 'no face in unrolled mode')
      const dq = randomVec(r, p.n), dP = symDir(r, p.n), h = 1e-6
      const fd = (a: V, b: V) => a.map((v, i) => (v - b[i]!) / (2 * h))
      const fq = fd(run(P, q.map((v, i) => v + h * dq[i]!)).x.data, run(P, q.map((v, i) => v - h * dq[i]!)).x.data)
      t.ok(diffMax(res.jvp({ q: vecOf(dq) }).data, fq) <= 1e-6 * (1 + maxAbs(fq)), `${p.name} K=${K}: d/dq (${diffMax(res.jvp({ q: vecOf(dq) }).data, fq).toExponential(1)})`)
      const fP = fd(run(P.map((v, i) => v + h * dP[i]!), q).x.data, run(P.map((v, i) => v - h * dP[i]!), q).x.data)
      t.ok(diffMax(res.jvp({ P: matOf(p.n, dP) }).data, fP) <= 1e-6 * (1 + maxAbs(fP)), `${p.name} K=${K}: d/dP`)
      const { lhs, rhs } = transposeGap(res, p.n, r)
      t.ok(Math.abs(lhs - rhs) <= 1e-10 * (1 + Math.abs(lhs)), `${p.name} K=${K}: transposes`)
    }
  }
})

t.test('unrolled: a long run (past the tape\'s checkpoints) is differentiated with its choices held fixed', async (t) => {
  // past a few dozen steps the run's choices (atoms, drop or not) flip under any perturbation
  // of size 1e-6 near convergence, so finite differences of whole runs stop measuring "the steps
  // that ran"; the reference is then an independent replay of the recorded steps as a function
  // of θ (the oracle's vertices and the step kinds held fixed), and its central differences
  const p = gridDag(6), r = rng(61), n = p.n
  const P = new Float64Array(n * n)
  for (let i = 0; i < n; i++) P[i * n + i] = 1 + 0.5 * r.uniform()
  const q = randomVec(r, n)
  const theta = { P: opOf(n, P), q: vecOf(q), w: vecOf(new Float64Array(n).fill(1)), t: 0 }
  const run = atomSolve({ P: theta.P, q, pAbs: rowAbsSums(theta) }, vertexOracle(lmoOf(p), dimOf(n)), { maxIterations: 150, tolerance: 0, mode: 'unrolled' })
  const tape = run.tape!, V = run.table.V
  t.ok(tape.length > 64 && tape.checkpoints.length >= 2, `a long tape (${tape.length} steps, ${tape.checkpoints.length} copies of x)`)
  const replay = (Pm: V, qm: V): V => {
    const lam = new Float64Array(run.table.size()); lam[run.start] = 1
    const x = Float64Array.from(V[run.start]!)
    for (let k = 0; k < tape.length; k++) {
      const s = tape.s[k]!, a = tape.a[k]!, d = V[s]!.map((v, i) => v - V[a]![i]!)
      const g = mulMV(Pm, x).map((v, i) => v + qm[i]!)
      const gamma = tape.drop[k] === 1 ? lam[a]! : -dotA(g, d) / dotA(d, mulMV(Pm, d))
      lam[s] = lam[s]! + gamma; lam[a] = lam[a]! - gamma
      for (let i = 0; i < n; i++) x[i] = x[i]! + gamma * d[i]!
    }
    return x
  }
  t.ok(diffMax(replay(P, q), run.x) <= 1e-12, 'the replay reproduces the run')
  const lin = unrolledAtoms(run.table, tape, run.start, theta)
  const dq = randomVec(r, n), dP = symDir(r, n), h = 1e-6
  const fq = replay(P, q.map((v, i) => v + h * dq[i]!)).map((v, i) => (v - replay(P, q.map((w, j) => w - h * dq[j]!))[i]!) / (2 * h))
  const jq = (lin.fwd({ q: vecOf(dq) } as never) as Vec<N>).data
  t.ok(diffMax(jq, fq) <= 1e-6 * (1 + maxAbs(fq)), `d/dq over ${tape.length} steps (${diffMax(jq, fq).toExponential(1)})`)
  const xp = replay(P.map((v, i) => v + h * dP[i]!), q), xm = replay(P.map((v, i) => v - h * dP[i]!), q)
  const fP = xp.map((v, i) => (v - xm[i]!) / (2 * h))
  const jP = (lin.fwd({ P: matOf(n, dP) } as never) as Vec<N>).data
  t.ok(diffMax(jP, fP) <= 1e-6 * (1 + maxAbs(fP)), `d/dP over ${tape.length} steps (${diffMax(jP, fP).toExponential(1)})`)
  const res = dfwLayer({ backward: 'unrolled', tolerance: 0, maxIterations: 150 })(problemOf(p, P, q))
  t.ok(diffMax(res.x.data, run.x) === 0, 'the layer runs the same steps')
  const { lhs, rhs } = transposeGap(res, n, r)
  t.ok(Math.abs(lhs - rhs) <= 1e-9 * (1 + Math.abs(lhs)), `transposes after ${tape.length} steps (${lhs} vs ${rhs})`)
  t.same(res.linear.bwd(Zero), Zero, 'Zero in, Zero out')
  t.same(res.linear.fwd({ q: Zero, P: Zero } as never), Zero)
  const p4 = permutahedron(4)
  const lr = { P: lowRank(vecOf(Float64Array.of(1, 2, 3, 4)), 0, new Float64Array(0)), q: vecOf(randomVec(r, 4)), set: polytope<N>({ lmo: lmoOf(p4) }) }
  const u = dfwLayer({ backward: 'unrolled' })(lr)
  t.equal(u.status, 'converged')
  t.equal(u.vjp(vecOf(randomVec(r, 4))).P, undefined, 'no P gradient for a diagonal P')
})

t.test('unrolled with the default tolerance: the run stops on the oracle\'s gap', async (t) => {
  const p = gridDag(3), r = rng(71)
  const P = randomPd(r, p.n), q = randomVec(r, p.n, 2)
  const res = dfwLayer({ backward: 'unrolled' })(problemOf(p, P, q))
  t.equal(res.status, 'converged')
  t.ok(res.gap <= 1e-9 * Math.abs(res.objective) + 1e-12)
  t.ok(diffMax(res.x.data, exactQp(p.vertices, P, q).x) <= 1e-4, 'near the exact solution')
  const jq = res.jvp({ q: vecOf(Float64Array.from({ length: p.n }, (_, i) => (i === 0 ? 1 : 0))) })
  t.ok(jq.data.every(Number.isFinite), 'a finite derivative')
  t.equal(res.jvp({}).data.every((v) => v === 0), true, 'an empty tangent gives 0')
})

// -------------------------------------------------------------------------------------
// the run
// -------------------------------------------------------------------------------------

t.test('tolerance 0 runs exactly maxIterations steps in implicit mode too, then polishes', async (t) => {
  const p = gridDag(3), r = rng(81)
  const P = randomPd(r, p.n), q = randomVec(r, p.n, 2)
  for (const K of [1, 5, 50]) {
    const res = dfwLayer({ tolerance: 0, maxIterations: K })(problemOf(p, P, q))
    t.equal(res.iterations, K, `K = ${K}`)
    t.ok(res.face !== undefined)
  }
  const far = dfwLayer({ tolerance: 0, maxIterations: 200 })(problemOf(p, P, q))
  t.ok(diffMax(far.x.data, exactQp(p.vertices, P, q).x) <= 1e-9, 'polished to the exact solution')
  t.equal(far.status, 'converged')
})

t.test('the oracle is called with a fresh g and its answer is copied', async (t) => {
  const p = permutahedron(4), r = rng(91)
  const P = randomPd(r, 4), q = randomVec(r, 4, 2)
  const buf = new Float64Array(4)
  let calls = 0
  const sneaky = (g: Vec<N>): Vec<N> => {
    calls++
    buf.set(p.lmo(g.data))
    g.data.fill(1e300) // writes into its argument
    return { dim: g.dim, data: buf } // and reuses its output buffer
  }
  const res = layer({ P: opOf(4, P), q: vecOf(q), set: polytope<N>({ lmo: sneaky }) })
  t.ok(diffMax(res.x.data, exactQp(p.vertices, P, q).x) <= 1e-9, 'the same solution')
  t.ok(calls <= res.iterations + 2 + 20 + 1, `oracle calls bounded: ${calls} for ${res.iterations} steps`)
})

t.test('a bad oracle is a LayerError at set.lmo, never a crash', async (t) => {
  const P = Float64Array.of(1, 0, 0, 1), q = Float64Array.of(-2, -1)
  const bad = (lmo: (g: Vec<N>) => unknown): Problem<N> => ({ P: opOf(2, P), q: vecOf(q), set: polytope<N>({ lmo: lmo as (g: Vec<N>) => Vec<N> }) })
  refuses(t, () => layer(bad(() => vecOf([1, 0, 0]))), 'set.lmo', 'wrong length', /3 entries; expected n = 2/)
  refuses(t, () => layer(bad(() => vecOf([NaN, 0]))), 'set.lmo', 'NaN', /non-finite entry: v\[0\] = NaN/)
  refuses(t, () => layer(bad(() => vecOf([0, Infinity]))), 'set.lmo', 'Infinity', /v\[1\] = Infinity/)
  refuses(t, () => layer(bad(() => { throw new Error('solver exploded') })), 'set.lmo', 'a throw', /threw: solver exploded/)
  refuses(t, () => layer(bad(() => { throw 'a string' })), 'set.lmo', 'a thrown non-error', /threw: a string/) // eslint-disable-line no-throw-literal
  refuses(t, () => layer(bad(() => [1, 0])), 'set.lmo', 'a plain array', /expected .* Vec/)
  refuses(t, () => layer(bad(() => null)), 'set.lmo', 'null', /got null/)
  refuses(t, () => layer(bad(() => undefined)), 'set.lmo', 'undefined', /got undefined/)
  refuses(t, () => layer(bad(() => ({ data: [1, 0] }))), 'set.lmo', 'data not a Float64Array', /got an object/)
  refuses(t, () => layer(bad(() => new Float64Array(2))), 'set.lmo', 'a bare Float64Array', /got a Float64Array/)
  refuses(t, () => layer(bad(() => vecOf([1e200, 0]))), 'set.lmo', 'a vertex beyond 1e150', /too large for the problem: \|v\[0\]\| = 1\.00e\+200/)
  const big = (P2: V, q2: V, v: number[]): Problem<N> => ({ P: opOf(2, P2), q: vecOf(q2), set: polytope<N>({ lmo: () => vecOf(v) }) })
  refuses(t, () => layer(big(Float64Array.of(0, 0, 0, 0), Float64Array.of(1e100, 1), [1e60, 0])), 'set.lmo', 'too large for q', /\|q\[0\]\|·ρ\[0\]/)
  refuses(t, () => layer(big(Float64Array.of(1e100, 0, 0, 1), Float64Array.of(1, 1), [1e30, 0])), 'set.lmo', 'too large for P', /ρ\[0\]·Σⱼ\|P\[0\]\[j\]\|/)
  // a throw in the middle of the run, and in the batch: the path carries the index
  let k = 0
  const late = bad((g) => { if (++k === 5) throw new RangeError('late'); return vecOf(square.lmo(g.data)) })
  refuses(t, () => layer(late), 'set.lmo', 'a throw on the 5th call', /late/)
  const rs = dfwBatch()([problemOf(square, P, q), bad(() => vecOf([1])), problemOf(square, P, Float64Array.of(-0.5, -0.5))])
  t.ok(E.isRight(rs[0]!) && E.isRight(rs[2]!), 'the good entries are solved')
  t.equal(E.isLeft(rs[1]!) ? rs[1].left.path : '', '[1].set.lmo')
})

t.test('a polytope takes tangents in q and P only', async (t) => {
  const res = layer(problemOf(square, Float64Array.of(1, 0, 0, 1), Float64Array.of(-2, -0.5)))
  refuses(t, () => res.jvp({ t: 1 } as ParamsTangent<N>), 'tangent.t', 'a tangent in t')
  t.ok(diffMax(res.jvp({ q: vecOf([0, 1]) }).data, [0, -1]) <= 1e-15, 'dx along dq on the edge x₁ = 1')
  t.same(res.linear.fwd(Zero), Zero, 'Zero in, Zero out')
  t.same(res.linear.bwd(Zero), Zero)
})

// -------------------------------------------------------------------------------------
// the set and its parts
// -------------------------------------------------------------------------------------

t.test('the set: lmoValue, reach, size, violation, and its resolution', async (t) => {
  const p = cubePoly(3), P = new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]), q = Float64Array.of(-0.3, 2, -3)
  const theta = { P: opOf(3, P), q: vecOf(q), w: vecOf(Float64Array.of(1, 1, 1)), t: 0 }
  const fs = polytopeSet<N>(lmoOf(p), theta)
  t.equal(fs.lmoValue(Float64Array.of(1, -2, -1)), -3)
  const sol = fs.solver!.solve(theta, { maxIterations: 100, tolerance: 1e-9 }, 'implicit')
  t.ok(diffMax(sol.x, [0.3, 0, 1]) <= 1e-12)
  t.same(Array.from(fs.reach), [1, 0, 1], 'the reach of the vertices met')
  t.equal(fs.size, 1)
  t.equal(fs.violation(Float64Array.of(0.5, 0.5, 0.5)), 0, 'an interior point')
  t.ok(fs.violation(Float64Array.of(-1, 0, 1)) > 0.5, 'a point outside, seen from the solution')
  t.equal(fs.violation(sol.x), 0)
  t.equal(fs.kind, 'polytope')
  t.same([fs.params.bound({ t: 0, k: 0 }, 0, 0), fs.params.rhs({ t: 0, k: 0 }, 0), fs.params.boundT({ w: new Float64Array(3), t: 0, k: 0 }, 0, 0, 1), fs.params.rhsT({ w: new Float64Array(3), t: 0, k: 0 }, 0, 1)], [0, 0, undefined, undefined], 'no parameters')
  t.equal(resolveSet<N>('polytope', theta, { lmo: lmoOf(p) as never }).kind, 'polytope')
  refuses(t, () => resolvePolytope(theta, {}), 'set.lmo', 'no oracle')
  refuses(t, () => implicitDerivative<N>('polytope', theta, vecOf([0, 0, 0])), 'set.lmo', 'implicitDerivative without the oracle')
  const timed = fs.solver!.solve(theta, { maxIterations: 100, tolerance: 1e-9, deadline: performance.now() - 1 }, 'unrolled')
  t.equal(timed.iterations, 0, 'a deadline already past')
  const fresh = polytopeSet<N>(lmoOf(p), theta)
  t.equal(fresh.violation(Float64Array.of(0.5, 0.5, 0.5)), 0, 'before any solve: along −x')
  t.equal(fresh.violation(Float64Array.of(0, 0, 0)), 0)
})

t.test('the run: deadline, fixed points, the polish on weights', async (t) => {
  const p = gridDag(3), r = rng(101)
  const P = randomPd(r, p.n), q = randomVec(r, p.n, 2)
  const theta = { P: opOf(p.n, P), q: vecOf(q), w: vecOf(new Float64Array(p.n).fill(1)), t: 0 }
  const problem = { P: theta.P, q, pAbs: rowAbsSums(theta) }
  const past = atomSolve(problem, vertexOracle(lmoOf(p), dimOf(p.n)), { maxIterations: 1000, tolerance: 1e-9, deadline: performance.now() - 1, mode: 'implicit' })
  t.equal(past.iterations, 0, 'a deadline already past: no step')
  t.equal(atomSolve(problem, vertexOracle(lmoOf(p), dimOf(p.n)), { maxIterations: 1000, tolerance: 1e-9, deadline: performance.now() - 1, mode: 'unrolled' }).iterations, 0)
  // a linear objective whose minimizer is the start vertex: a fixed point at once
  const lin = { P: opOf(p.n, new Float64Array(p.n * p.n)), q: Float64Array.from({ length: p.n }, (_, i) => i), pAbs: new Float64Array(p.n) }
  const fixed = atomSolve(lin, vertexOracle(lmoOf(p), dimOf(p.n)), { maxIterations: 10, tolerance: 0, mode: 'unrolled' })
  t.equal(fixed.iterations, 10, 'tolerance 0: the remaining steps are the fixed point')
  t.ok(fixed.converged)
  // the weight QP on three atoms of the simplex
  const T = atomTable(opOf(3, Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1)), Float64Array.of(-1, -1, 0), new Float64Array(3).fill(1))
  for (let i = 0; i < 3; i++) { const v = new Float64Array(3); v[i] = 1; T.add(v) }
  const w = weightPolish(T, Int32Array.of(0, 1, 2), Float64Array.of(0.2, 0.2, 0.6), new Float64Array(3).fill(1))
  t.ok(w.certified && diffMax(w.weights, [0.5, 0.5, 0]) <= 1e-12, `weights ${Array.from(w.weights)}`)
  t.equal(T.lookup(Float64Array.of(0, 1, 0)), 1)
  t.equal(T.lookup(Float64Array.of(0, 0.5, 0)), -1)
  t.equal(T.add(Float64Array.of(-0, 1, 0).map((v) => v + 0)), 1, 'the same vertex is the same atom')
})
