/**
 * The unrolled derivative on a polytope known only by its oracle: the derivative of the
 * pairwise steps that ran (`AtomSolve.ts`, recorded in an `AtomTape`), with the atoms held
 * fixed. The vertices an oracle returns are piecewise constant in θ, so the derivative
 * flows through the weights alone, as the unrolled derivative of the other sets flows
 * through their steps with each oracle's choice held fixed.
 *
 * The tangent state has a fixed shape: (dλ, dx), with dλ over the run's whole atom table
 * (every distinct vertex it met, known when the run ends) and dx = V dλ. Step k moves
 * weight γ from atom a to atom s along d = vₛ − vₐ:
 * - a drop step (γ = λₐ): dγ = dλₐ;
 * - a line-search step (γ = −⟨g, d⟩/c, c = dᵀPd, g = P x + q): with e = dq + dP x,
 *   dγ = −(⟨d, dP xₖ₊₁⟩ + ⟨P d, dxₖ⟩ + ⟨d, dq⟩)/c, since
 *   d⟨g, d⟩ = ⟨d, dP xₖ⟩ + ⟨P d, dxₖ⟩ + ⟨d, dq⟩ and dc = dᵀ dP d, and xₖ + γd = xₖ₊₁;
 * - then dλₛ += dγ, dλₐ −= dγ, dx += dγ d.
 * The start vertex lmo(q) does not move. The JVP runs forward, keeping dP xₖ by updates
 * with the products dP v of the atoms the steps touch (O(n² m) once for a dense dP, then
 * O(n) per step); the VJP runs backward through the same steps (xₖ recomputed segment by
 * segment from the tape's copies, so in O(64 n) memory), and P's gradient is assembled
 * as Σᵢ vᵢ rᵢᵀ from one accumulator per atom. Both replay xₖ with the same arithmetic, so
 * they are transposes of one linear map to rounding.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import type { Linear } from '../core/Linear.js'
import { type Tan, Zero } from '../core/Tangent.js'
import type { Params } from './Problem.js'
import type { AtomTable } from './Atoms.js'
import type { AtomTape } from './AtomSolve.js'

const field = (t: unknown, k: string): unknown => {
  if (t === Zero || t === undefined || t === null) return undefined
  const v = (t as Record<string, unknown>)[k]
  return v === Zero ? undefined : v
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

/** dP v for a dense n × n tangent. */
const matVec = (D: Float64Array, v: Float64Array, n: number): Float64Array => {
  const o = new Float64Array(n)
  for (let i = 0; i < n; i++) { let s = 0; const r = i * n; for (let j = 0; j < n; j++) s += D[r + j]! * v[j]!; o[i] = s }
  return o
}

/**
 * The linear map θ ↦ x of the steps on `tape` (see the module notes), from the run's
 * table and start vertex.
 *
 * @example
 * const lin = unrolledAtoms(run.table, run.tape!, run.start, theta)
 * lin.fwd(fromTangent({ q: dq })) // dx of the steps that ran
 */
export const unrolledAtoms = <N>(T: AtomTable, tape: AtomTape, start: number, theta: Params<N>): Linear<Params<N>, Vec<N>> => {
  const n = T.n, L = tape.length, dim = theta.q.dim
  const { s: S, a: A, gamma, curvature, drop } = tape
  const d = new Float64Array(n), pd = new Float64Array(n)
  const direction = (k: number, withP: boolean): void => {
    const vs = T.V[S[k]!]!, va = T.V[A[k]!]!
    for (let i = 0; i < n; i++) d[i] = vs[i]! - va[i]!
    if (withP) { const ps = T.PV[S[k]!]!, pa = T.PV[A[k]!]!; for (let i = 0; i < n; i++) pd[i] = ps[i]! - pa[i]! }
  }

  const fwd = (t: Tan<Params<N>>): Tan<Vec<N>> => {
    const dq = (field(t, 'q') as Vec<N> | undefined)?.data, dP = (field(t, 'P') as Mat<N, N> | undefined)?.data
    if (dq === undefined && dP === undefined) return Zero
    const m = T.size()
    const dl = new Float64Array(m), dx = new Float64Array(n)
    const dpv = new Map<number, Float64Array>()
    const dpOf = (j: number): Float64Array => {
      let v = dpv.get(j)
      if (v === undefined) { v = matVec(dP!, T.V[j]!, n); dpv.set(j, v) }
      return v
    }
    const y = dP === undefined ? undefined : Float64Array.from(dpOf(start)) // dP xₖ
    for (let k = 0; k < L; k++) {
      direction(k, drop[k] === 0)
      const g = gamma[k]!
      if (y !== undefined) {
        const ys = dpOf(S[k]!), ya = dpOf(A[k]!)
        for (let i = 0; i < n; i++) y[i] = y[i]! + g * (ys[i]! - ya[i]!)
      }
      let dg: number
      if (drop[k] === 1) dg = dl[A[k]!]!
      else {
        let num = dot(pd, dx)
        if (dq !== undefined) num += dot(d, dq)
        if (y !== undefined) num += dot(d, y)
        dg = -num / curvature[k]!
      }
      if (dg === 0) continue
      dl[S[k]!] = dl[S[k]!]! + dg
      dl[A[k]!] = dl[A[k]!]! - dg
      for (let i = 0; i < n; i++) dx[i] = dx[i]! + dg * d[i]!
    }
    return { dim, data: dx } as Tan<Vec<N>>
  }

  const bwd = (ct: Tan<Vec<N>>): Tan<Params<N>> => {
    if (ct === Zero) return Zero
    const m = T.size()
    const xb = Float64Array.from((ct as Vec<N>).data), lb = new Float64Array(m), qb = new Float64Array(n)
    const densePt = theta.P.kind === 'dense'
    const acc = new Map<number, Float64Array>()
    const accOf = (j: number): Float64Array => {
      let v = acc.get(j)
      if (v === undefined) { v = new Float64Array(n); acc.set(j, v) }
      return v
    }
    const every = tape.every
    const seg: Float64Array[] = []
    for (let c = tape.checkpoints.length - 1; c >= 0; c--) {
      // x after each step of the segment, replayed from its copy
      const k0 = c * every, k1 = Math.min(L, k0 + every)
      const x = Float64Array.from(tape.checkpoints[c]!)
      seg.length = 0
      for (let k = k0; k < k1; k++) {
        direction(k, false)
        const g = gamma[k]!
        for (let i = 0; i < n; i++) x[i] = x[i]! + g * d[i]!
        seg.push(Float64Array.from(x))
      }
      for (let k = k1 - 1; k >= k0; k--) {
        direction(k, drop[k] === 0)
        const gb = lb[S[k]!]! - lb[A[k]!]! + dot(xb, d)
        if (gb === 0) continue
        if (drop[k] === 1) { lb[A[k]!] = lb[A[k]!]! + gb; continue }
        const alpha = -gb / curvature[k]!
        for (let i = 0; i < n; i++) { xb[i] = xb[i]! + alpha * pd[i]!; qb[i] = qb[i]! + alpha * d[i]! }
        if (densePt) {
          const xn = seg[k - k0]!, rs = accOf(S[k]!), ra = accOf(A[k]!)
          for (let i = 0; i < n; i++) { const v = alpha * xn[i]!; rs[i] = rs[i]! + v; ra[i] = ra[i]! - v }
        }
      }
    }
    const out: Record<string, unknown> = { q: { dim, data: qb }, w: Zero, t: Zero }
    if (densePt) {
      const gp = new Float64Array(n * n)
      for (const [j, r] of acc) {
        const v = T.V[j]!
        for (let i = 0; i < n; i++) { const vi = v[i]!; if (vi !== 0) { const o = i * n; for (let c = 0; c < n; c++) gp[o + c] = gp[o + c]! + vi * r[c]! } }
      }
      out['P'] = { rows: dim, cols: dim, data: gp }
    }
    return out as unknown as Tan<Params<N>>
  }
  return { fwd, bwd }
}
