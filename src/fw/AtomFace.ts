/**
 * The face a polished solution on a polytope known only by its oracle lies on, and the
 * implicit derivative of x*(q, P) there (`sets/Polytope.ts`).
 *
 * **The derivative.** On the face spanned by atoms S (x ∈ aff S), with C = [vⱼ − x]
 * (the atoms centred at x), the reduced KKT system in the weights
 *
 *     CᵀPC dλ + 1 dν = −Cᵀe,   1ᵀdλ = 0,   dx = C dλ,   e = dq + dP x,
 *
 * is solved directly (`core/Kkt.ts`: one factorization per solution, then two triangular
 * solves per JVP or VJP). It is the system VᵀPV dλ + 1 dν = −Vᵀe of the atoms themselves
 * (the centring changes ν only, since 1ᵀdλ = 0), free of the cancellation VᵀPV suffers when
 * the atoms share a large common part. The map e ↦ dx = −C K₁₁ Cᵀ e is symmetric, so the
 * VJP of a cotangent c is v = −C K₁₁ Cᵀ c with ∂q = v and ∂P = v xᵀ (dense P only): JVP
 * and VJP are transposes of one map to rounding, on every problem.
 *
 * **Affinely dependent atoms.** The system is taken over an affinely independent subset B
 * of S spanning aff S (pivoted Gram-Schmidt with reorthogonalization on vⱼ − v_ref,
 * v_ref the heaviest atom; a vertex within relative distance 1e-10 of the others' span is
 * dependent). The weights λ are then not unique (the square's four corners represent its
 * centre in many ways), but dx is: when P is positive definite on the span, dx is the same
 * for every such B and equals C dλ for the minimum-norm dλ over all of S. When P is
 * singular on the span (the factorization's nullity > 0, pivots at relative 1e-13), the
 * minimizer is not unique: `derivative: "non-unique"`, and the map is the minimum-norm
 * solution of the singular system (still one symmetric map).
 *
 * **Probing for a larger face.** The atoms the solve kept span a face through x, but the
 * optimal face can be larger: all vertices v with ⟨g, v − x⟩ = 0 (g = P x + q) form the
 * exposed face G ⊇ F_x (the smallest face containing x), and the atoms may span less than
 * F_x (x the centre of a square reached from two opposite corners). The oracle is the only
 * window on G, so the layer asks it at slightly perturbed gradients g ± δr, δ = 1e-6 ·
 * maxᵢ(|(Px)ᵢ| + |qᵢ|) (1 when that is 0), with r a random unit direction (a fixed seed:
 * results are reproducible) orthogonal to the span found so
 * far: each answer in G outside that span joins S. A pair ±r that finds nothing new ends
 * the probing: a random r orthogonal to the span is orthogonal to G's directions only if
 * G has none beyond the span (with probability 1, for δ below G's second-best gap). At
 * most {@link PROBES} calls. A vertex is in G when its relative reduced cost
 * ρ(v) = ⟨g, v − x⟩ / Σᵢ(|(Px)ᵢ| + |qᵢ|)|vᵢ − xᵢ| is at most {@link TIE}; the vertices the
 * solve met before count too.
 *
 * When S grew beyond the atoms' span, x must lie in the relative interior of conv S for
 * the face to be S's span: the push test moves x away from S's centroid b,
 * y = x + ε(x − b) for ε = 1, 1e-3, 1e-6, and asks (an exact QP on the weights) whether y
 * is in conv S to relative 1e-6·ε‖x − b‖; if one is, x is a positive combination of S. If
 * none is, x is on the relative boundary of conv S and the outward normal w there is
 * probed (the oracle at g − δw, at most {@link DIRECTED_PROBES} calls): a vertex of G beyond
 * the hyperplane joins S and the test is repeated; none means the hyperplane supports G at
 * x, and the vertices of S strictly behind it are not in F_x: they leave S (a kink: a
 * vertex of the optimal face at weight zero).
 *
 * **The report.** `size` = dim aff S. `margin` = the smallest of (a) the smallest weight
 * of the face's representation of x (the polish's weights, or the push test's positive
 * ones; Σ = 1), and (b) over the other vertices met (by the solve and the probes), the
 * relative reduced cost ρ(v) of each one outside aff S: for the vertices not in G an
 * estimate from above of the oracle's second-best value (which an oracle cannot give), and
 * ≈ 0 for a vertex of G left out (a degenerate face). `derivative`: `"non-unique"` when P
 * is singular on the face's span (the factorization's nullity) or along a vertex v of G
 * left out (uᵀPu ≤ 1e-12·Σᵢ|uᵢ|aᵢ·‖u‖∞, u = v − x, aᵢ = Σⱼ|Pᵢⱼ|: f is flat from x to v, so
 * every point between is optimal too); else `"kink"` when the
 * margin is at most `KINK_TOLERANCE`; else `"exact"`. At a kink the derivative is taken
 * on the smallest face found (the vertices of G at their switching point held at weight
 * zero), one of the one-sided derivatives.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import type { Linear } from '../core/Linear.js'
import { type Tan, Zero } from '../core/Tangent.js'
import { applyInto, dense } from '../core/LinearOperator.js'
import { kktSolver } from '../core/Kkt.js'
import { rng } from '../core/Random.js'
import { unsafeDim } from '../shapes/Dim.js'
import type { Params } from './Problem.js'
import type { FaceReport } from './FaceReport.js'
import { KINK_TOLERANCE } from './FaceModel.js'
import { activeSet } from './ActiveSet.js'
import type { AtomTable, VertexOracle } from './Atoms.js'
import { curvatureError, curvedDown, weightSimplex } from './AtomSolve.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * The relative reduced cost at or below which a vertex is in the optimal face G.
 *
 * @example
 * rho <= TIE // ⟨g, v − x⟩ vanishes to rounding: v minimizes ⟨g, ·⟩ too
 */
export const TIE = 1e-9

/**
 * The most oracle calls the orthogonal probing makes per solution (pairs ±r).
 *
 * @example
 * PROBES // 16
 */
export const PROBES = 16

/**
 * The most oracle calls the push test's directed probes make per solution.
 *
 * @example
 * DIRECTED_PROBES // 4
 */
export const DIRECTED_PROBES = 4

/** δ relative to the gradient's scale. */
const PROBE_STEP = 1e-6

/**
 * The face of a solution: its atoms S (table indices), an affinely independent subset
 * spanning aff S (`basis`), a positive representation of x over S (`weights`), the
 * report, the oracle calls the probes made, and the implicit derivative's linear map.
 *
 * @example
 * const f = atomFace(T, active, weights, x, oracle, theta)
 * f.report // { size, margin, derivative }
 * f.linear.bwd(ct) // the cotangent of θ
 */
export interface AtomFace<N> {
  readonly atoms: Int32Array
  readonly basis: Int32Array
  readonly weights: Float64Array
  readonly report: FaceReport
  readonly probes: number
  readonly linear: Linear<Params<N>, Vec<N>>
}

// -------------------------------------------------------------------------------------
// spans
// -------------------------------------------------------------------------------------

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}
const norm = (a: Float64Array): number => Math.sqrt(dot(a, a))

/** u minus its projection on the orthonormal vectors Q, twice (in place); returns ‖u‖ after. */
const orthogonalize = (Q: readonly Float64Array[], u: Float64Array): number => {
  for (let pass = 0; pass < 2; pass++) {
    for (const b of Q) {
      const c = dot(b, u)
      if (c === 0) continue
      for (let i = 0; i < u.length; i++) u[i] = u[i]! - c * b[i]!
    }
  }
  return norm(u)
}

/**
 * An orthonormal basis of the directions of aff{vⱼ} and an affinely independent subset
 * spanning it: pivoted Gram-Schmidt with reorthogonalization on vⱼ − v_ref (pivot: the
 * largest remaining relative norm; a vector whose part orthogonal to the basis is at most
 * `tol` = 1e-10 of its norm is dependent). `basis[0]` is `ref`.
 *
 * @example
 * affineSpan([e0, e1, e0 + e1 − e0], 0).basis // [0, 1]: the third is dependent
 */
export const affineSpan = (vs: readonly Float64Array[], ref: number, tol = 1e-10): { readonly basis: number[]; readonly Q: Float64Array[] } => {
  const n = vs[ref]!.length
  const rest: { j: number; u: Float64Array; n0: number }[] = []
  vs.forEach((v, j) => {
    if (j === ref) return
    const u = new Float64Array(n)
    for (let i = 0; i < n; i++) u[i] = v[i]! - vs[ref]![i]!
    const n0 = norm(u)
    if (n0 > 0) rest.push({ j, u, n0 })
  })
  const basis = [ref], Q: Float64Array[] = []
  for (;;) {
    let best = -1, ratio = tol
    rest.forEach((r, k) => { const q = norm(r.u) / r.n0; if (q > ratio) { ratio = q; best = k } })
    if (best < 0) break
    const r = rest.splice(best, 1)[0]!
    const nu = norm(r.u)
    const b = Float64Array.from(r.u, (v) => v / nu)
    orthogonalize(Q, b)
    const nb = norm(b)
    for (let i = 0; i < n; i++) b[i] = b[i]! / nb
    Q.push(b)
    basis.push(r.j)
    for (const o of rest) orthogonalize([b], o.u)
  }
  return { basis, Q }
}

// -------------------------------------------------------------------------------------
// the push test
// -------------------------------------------------------------------------------------

/**
 * Whether x is in the relative interior of conv S (see the module notes): a positive
 * representation of x over S if it is, else the unit outward normal of conv S near x.
 */
const pushTest = (cs: readonly Float64Array[]): { readonly weights: Float64Array } | { readonly normal: Float64Array } => {
  const m = cs.length, n = cs[0]!.length
  // cⱼ = vⱼ − x; the centroid's offset b − x = mean cⱼ, and y − x = ε(x − b) = −ε mean cⱼ
  const mean = new Float64Array(n)
  for (const c of cs) for (let i = 0; i < n; i++) mean[i] = mean[i]! + c[i]! / m
  const nd = norm(mean)
  let scale = 0
  for (const c of cs) scale = Math.max(scale, norm(c))
  if (nd <= 1e-14 * scale) return { weights: new Float64Array(m).fill(1 / m) }
  const G = new Float64Array(m * m)
  for (let a = 0; a < m; a++) for (let b = 0; b <= a; b++) { const v = dot(cs[a]!, cs[b]!); G[a * m + b] = v; G[b * m + a] = v }
  const dm = unsafeDim<unknown>(m)
  let normal = new Float64Array(n)
  for (const eps of [1, 1e-3, 1e-6]) {
    // min ½‖Cμ − (y − x)‖² over the simplex: gradient Cᵀ(Cμ) + ε Cᵀ mean
    const lin = Float64Array.from(cs, (c) => eps * dot(c, mean))
    const r = activeSet(weightSimplex(m), dense({ rows: dm, cols: dm, data: G }), lin, new Float64Array(m).fill(1 / m))
    const res = new Float64Array(n)
    for (let i = 0; i < n; i++) res[i] = eps * mean[i]!
    r.x.forEach((w, j) => { if (w !== 0) for (let i = 0; i < n; i++) res[i] = res[i]! + w * cs[j]![i]! })
    // res = Cμ − (y − x) = z − y
    const dist = norm(res)
    if (dist <= 1e-6 * eps * nd) {
      const w = Float64Array.from(r.x, (v) => (Math.max(0, v) + eps / m) / (1 + eps))
      return { weights: w }
    }
    normal = Float64Array.from(res, (v) => -v / dist) // y − z, outward
  }
  return { normal }
}

// -------------------------------------------------------------------------------------
// the face
// -------------------------------------------------------------------------------------

const field = (t: unknown, k: string): unknown => {
  if (t === Zero || t === undefined || t === null) return undefined
  const v = (t as Record<string, unknown>)[k]
  return v === Zero ? undefined : v
}

/**
 * The face of the polished point x = Σ weightsₐ V[activeₐ] and its implicit derivative
 * (see the module notes). Calls the oracle at most {@link PROBES} +
 * {@link DIRECTED_PROBES} times; throws a `NegativeCurvatureError` when P curves
 * downwards on the face, a `LayerError` at `set.lmo` for a bad answer.
 *
 * @example
 * const f = atomFace(run.table, run.active, run.weights, run.x, oracle, theta)
 * f.report.derivative // 'exact' on a non-degenerate problem
 */
export const atomFace = <N>(
  T: AtomTable, active: Int32Array, weights: Float64Array, x: Float64Array, oracle: VertexOracle, theta: Params<N>, pAbs: Float64Array
): AtomFace<N> => {
  const n = x.length, q = theta.q.data, P = theta.P
  const px = new Float64Array(n)
  applyInto(P, x, px)
  const g = Float64Array.from(px, (v, i) => v + q[i]!)
  const sigma = Float64Array.from(px, (v, i) => Math.abs(v) + Math.abs(q[i]!))
  let gscale = 0
  for (let i = 0; i < n; i++) gscale = Math.max(gscale, sigma[i]!)
  const gx = dot(g, x)
  const rho = (v: Float64Array): number => {
    let num = 0, den = 0
    for (let i = 0; i < n; i++) { const di = v[i]! - x[i]!; num += g[i]! * v[i]!; den += sigma[i]! * Math.abs(di) }
    num -= gx
    return den > 0 ? num / den : 0
  }
  const offset = (j: number): Float64Array => Float64Array.from(T.V[j]!, (v, i) => v - x[i]!)
  const outside = (Q: readonly Float64Array[], j: number): boolean => {
    const u = offset(j), n0 = norm(u)
    return n0 > 0 && orthogonalize(Q, u) > 1e-9 * n0
  }

  // the atoms' span, then every vertex met that lies in G
  let ref = 0
  for (let a = 1; a < active.length; a++) if (weights[a]! > weights[ref]!) ref = a
  const A = Array.from(active)
  const inA = new Set(A)
  const Q = affineSpan(A.map((j) => T.V[j]!), ref).Q
  const spanA = Q.length
  const S = [...A]
  const inS = new Set(A)
  const join = (j: number): void => {
    if (inS.has(j)) return
    if (outside(Q, j)) { const u = offset(j); orthogonalize(Q, u); const nu = norm(u); Q.push(Float64Array.from(u, (v) => v / nu)) }
    S.push(j); inS.add(j)
  }
  const inG = (j: number): boolean => Math.abs(rho(T.V[j]!)) <= TIE
  for (let j = 0; j < T.size(); j++) if (!inS.has(j) && inG(j)) join(j)

  // orthogonal probing
  const delta = gscale > 0 ? PROBE_STEP * gscale : 1
  const random = rng(0x9e3779b9)
  let probes = 0
  const probe = (r: Float64Array, sign: number): number => {
    probes++
    const j = T.add(oracle.call(Float64Array.from(g, (v, i) => v + sign * delta * r[i]!)))
    return j
  }
  while (probes + 2 <= PROBES) {
    const z = Float64Array.from({ length: n }, () => random.normal())
    const nz = norm(z)
    const nr = orthogonalize(Q, z)
    if (!(nr > 1e-12 * nz)) break
    for (let i = 0; i < n; i++) z[i] = z[i]! / nr
    const before = Q.length, count = S.length
    for (const sign of [1, -1]) { const j = probe(z, sign); if (inG(j)) join(j) }
    if (Q.length === before && S.length === count) break
  }

  // the face: the atoms' span, or S's when x is inside conv S
  let face = A, faceWeights = weights
  if (Q.length > spanA) {
    let cand = [...S]
    let directed = 0
    for (;;) {
      const spanC = affineSpan(cand.map((j) => T.V[j]!), 0).Q.length
      if (spanC <= spanA) break
      const r = pushTest(cand.map(offset))
      if ('weights' in r) { face = cand; faceWeights = r.weights; break }
      const w = r.normal
      let grew = false
      if (directed < DIRECTED_PROBES) {
        directed++; probes++
        const j = T.add(oracle.call(Float64Array.from(g, (v, i) => v - delta * w[i]!)))
        const u = offset(j)
        if (!cand.includes(j) && inG(j) && dot(w, u) > 1e-9 * norm(u)) { cand.push(j); grew = true }
      }
      if (grew) continue
      // the hyperplane supports G at x: what lies strictly behind it is not in F_x
      const keep = cand.filter((j) => { const u = offset(j); return inA.has(j) || dot(w, u) >= -1e-9 * norm(u) })
      cand = keep.length < cand.length ? keep : [...A]
    }
  }

  // the derivative's basis and system: C = [vⱼ − x] over an affinely independent B
  let fref = 0
  for (let a = 1; a < face.length; a++) if (faceWeights[a]! > faceWeights[fref]!) fref = a
  const span = affineSpan(face.map((j) => T.V[j]!), fref)
  const B = span.basis.map((k) => face[k]!)
  const m = B.length
  const Cs = B.map(offset)
  const PCs = B.map((j) => Float64Array.from(T.PV[j]!, (v, i) => v - px[i]!))
  const H = new Float64Array(m * m)
  for (let a = 0; a < m; a++) for (let b = 0; b <= a; b++) { const h = a === b ? dot(Cs[a]!, PCs[a]!) : 0.5 * (dot(Cs[a]!, PCs[b]!) + dot(Cs[b]!, PCs[a]!)); H[a * m + b] = h; H[b * m + a] = h }
  const solver = kktSolver({ H: { kind: 'dense', m, H }, E: { k: 1, rows: new Float64Array(m).fill(1) } })
  const embed = (p: Float64Array): { d: Float64Array; pd: Float64Array; vmax: number } => {
    const d = new Float64Array(n), pd = new Float64Array(n)
    let vmax = 0
    for (let a = 0; a < m; a++) {
      const pa = p[a]!
      if (pa === 0) continue
      for (let i = 0; i < n; i++) { d[i] = d[i]! + pa * Cs[a]![i]!; pd[i] = pd[i]! + pa * PCs[a]![i]! }
      let cm = 0
      for (let i = 0; i < n; i++) cm = Math.max(cm, Math.abs(Cs[a]![i]!))
      vmax += Math.abs(pa) * cm
    }
    return { d, pd, vmax }
  }
  if (solver.info.negative !== undefined) {
    const { d, pd, vmax } = embed(solver.info.negative.direction)
    const c = dot(d, pd)
    if (curvedDown(d, pd, c, pAbs, vmax)) throw curvatureError(d, c)
  }

  // the report
  let margin = 1
  for (let a = 0; a < faceWeights.length; a++) margin = Math.min(margin, faceWeights[a]!)
  const inFace = new Set(face)
  let flat = false
  for (let j = 0; j < T.size(); j++) {
    if (inFace.has(j) || !outside(span.Q, j)) continue
    const r = rho(T.V[j]!)
    if (r < -TIE) continue // x is not optimal against this vertex: not a margin
    margin = Math.min(margin, Math.max(0, r))
    if (r <= TIE) {
      // a vertex of G left out: is the objective flat along it too?
      const u = offset(j), pu = Float64Array.from(T.PV[j]!, (v, i) => v - px[i]!)
      let b = 0
      for (let i = 0; i < n; i++) b += Math.abs(u[i]!) * pAbs[i]!
      if (dot(u, pu) <= 1e-12 * b * Math.max(...u.map(Math.abs))) flat = true
    }
  }
  const derivative = solver.info.nullity > 0 || flat ? 'non-unique' : margin <= KINK_TOLERANCE ? 'kink' : 'exact'
  const report: FaceReport = { size: span.Q.length, margin, derivative }

  // the map e ↦ dx = C dλ, with e = dq + dP x (symmetric: the VJP is the same solve)
  const solveE = (e: Float64Array): Float64Array => {
    const b = Float64Array.from(Cs, (c) => -dot(c, e))
    const dl = solver.solve(b, new Float64Array(1)).x
    const dx = new Float64Array(n)
    for (let a = 0; a < m; a++) { const w = dl[a]!; if (w !== 0) for (let i = 0; i < n; i++) dx[i] = dx[i]! + w * Cs[a]![i]! }
    return dx
  }
  const dim = theta.q.dim
  const linear: Linear<Params<N>, Vec<N>> = {
    fwd: (t) => {
      const dq = field(t, 'q') as Vec<N> | undefined, dP = field(t, 'P') as Mat<N, N> | undefined
      if (dq === undefined && dP === undefined) return Zero
      const e = new Float64Array(n)
      if (dq !== undefined) e.set(dq.data.subarray(0, n))
      if (dP !== undefined) {
        const D = dP.data
        for (let i = 0; i < n; i++) { let s = 0; const r = i * n; for (let j = 0; j < n; j++) s += D[r + j]! * x[j]!; e[i] = e[i]! + s }
      }
      return { dim, data: solveE(e) } as Tan<Vec<N>>
    },
    bwd: (ct) => {
      if (ct === Zero) return Zero
      const v = solveE((ct as Vec<N>).data)
      const out: Record<string, unknown> = { q: { dim, data: v }, w: Zero, t: Zero }
      if (P.kind === 'dense') {
        const gp = new Float64Array(n * n)
        for (let i = 0; i < n; i++) { const vi = v[i]!; if (vi !== 0) for (let j = 0; j < n; j++) gp[i * n + j] = vi * x[j]! }
        out['P'] = { rows: dim, cols: dim, data: gp }
      }
      return out as unknown as Tan<Params<N>>
    }
  }
  return { atoms: Int32Array.from(face), basis: Int32Array.from(B), weights: faceWeights, report, probes, linear }
}
