/**
 * The nuclear-norm ball {X : ‖X‖_* ≤ t} as a {@link FeasibleSet}: x is a rows × cols matrix
 * stored row-major (n = rows·cols), and P acts on that vector. The ball is not polyhedral,
 * so it solves on its own (`FeasibleSet.solver`): the schedule of `nuclear/Solve.ts`
 * (Frank-Wolfe with a rank-r refinement, then Newton on the solution's rank-r manifold,
 * certified by the oracle's gap), and the implicit derivative of `nuclear/Derivative.ts`
 * (exact: the tangent space of the rank-r matrices and the curvature it adds; see
 * docs/nuclear.md).
 *
 * - The oracle: argmin over the ball of ⟨G, S⟩ is −t·u₁v₁ᵀ for the top singular pair of
 *   G = mat(g), by Lanczos (`core/Lanczos.ts`, residual ≤ 1e-10·σ₁), warm-started from the
 *   set's previous pair; `lmoValue(g) = −t·σ₁(G)`.
 * - `reach`: Rᵢ = t (|Xᵢⱼ| ≤ σ₁(X) ≤ ‖X‖_*); `size` = t.
 * - `violation(x)` = max(0, ‖X‖_* − t) by a full SVD, and `project` by a full SVD
 *   (`nuclear/Projection.ts`): neither is on the solver's path.
 * - Backward modes: `implicit` only. The default schedule's steps are exact solves of the
 *   problem on growing subspaces, polished by Newton; what ran is not a chain of smooth
 *   steps whose derivative would approximate the solution's (the unrolled derivative of a
 *   Newton polish is the implicit derivative with extra rounding), so `unrolled` is
 *   refused with a `LayerError` at `options.backward`.
 *
 * @since 0.1.0
 */
import type { Vec } from '../../shapes/Vec.js'
import type { Mat } from '../../shapes/Mat.js'
import type { Linear } from '../../core/Linear.js'
import { type Tan, Zero } from '../../core/Tangent.js'
import type { Params } from '../Problem.js'
import { LayerError } from '../Options.js'
import { rowAbsSums } from '../Oracle.js'
import type { FeasibleSet, ParamMaps, SetSolver } from './FeasibleSet.js'
import { nuclearProblem } from '../nuclear/Reduced.js'
import { nuclearNormOf, oraclePair, solveNuclear } from '../nuclear/Solve.js'
import { type NuclearFaceReport, nuclearDerivative } from '../nuclear/Derivative.js'
import { projectNuclear } from '../nuclear/Projection.js'

export type { NuclearFaceReport } from '../nuclear/Derivative.js'
export { type NuclearProjection, projectNuclear, projectionJvp, projectionVjp } from '../nuclear/Projection.js'

// -------------------------------------------------------------------------------------
// tangents
// -------------------------------------------------------------------------------------

const field = (t: unknown, k: string): unknown => {
  if (t === Zero || t === undefined || t === null) return undefined
  const v = (t as Record<string, unknown>)[k]
  return v === Zero ? undefined : v
}

const noMaps: ParamMaps = { bound: () => 0, rhs: () => 0, boundT: () => undefined, rhsT: () => undefined }

/** The gradient's change at fixed x along a tangent: e = dq + dP x (undefined when both are absent). */
const gradientChange = (tan: unknown, x: Float64Array): Float64Array | undefined => {
  const dq = (field(tan, 'q') as Vec<unknown> | undefined)?.data
  const dP = field(tan, 'P') as Mat<unknown, unknown> | undefined
  if (dq === undefined && dP === undefined) return undefined
  const n = x.length, e = new Float64Array(n)
  if (dq !== undefined) e.set(dq.subarray(0, n))
  if (dP !== undefined) {
    const A = dP.data
    for (let i = 0; i < n; i++) {
      let s = 0
      const r = i * n
      for (let j = 0; j < n; j++) s += A[r + j]! * x[j]!
      e[i] = e[i]! + s
    }
  }
  return e
}

// -------------------------------------------------------------------------------------
// the set
// -------------------------------------------------------------------------------------

/**
 * The nuclear-norm ball of rows × cols matrices (row-major) with radius t. Its `solver`
 * runs the default schedule under the layer's limits and returns x, whether the gap
 * certifies it, the face report ({@link NuclearFaceReport}) and the implicit derivative in
 * q, P (dense) and t.
 *
 * @example
 * const C = nuclearSet(2, 3, 1)
 * C.lmoValue(g) // −σ₁(mat(g))
 * dfwLayer()({ P, q, t: 1, set: { kind: 'nuclear', rows: 2, cols: 3 } }) // solves through C.solver
 */
export const nuclearSet = (rows: number, cols: number, t: number): FeasibleSet => {
  const n = rows * cols
  let last: Float64Array | undefined // the oracle's previous right vector: its warm start
  const solver: SetSolver = {
    solve: <N>(theta: Params<N>, limits: Parameters<SetSolver['solve']>[1], backward: 'implicit' | 'unrolled') => {
      if (backward !== 'implicit') {
        throw new LayerError('the nuclear-norm ball has the implicit backward only: its schedule polishes by Newton on the solution\'s manifold, whose unrolled derivative is not the steps\' (docs/nuclear.md); use backward "implicit"', 'options.backward')
      }
      const dim = theta.q.dim
      const pb = nuclearProblem(theta.P as never, theta.q.data, rows, cols, theta.t)
      const sol = solveNuclear(pb, limits, rowAbsSums(theta), last)
      if (sol.pair !== undefined) last = sol.pair.v
      const d = nuclearDerivative(pb, sol)
      const x = sol.x, dense = theta.P.kind === 'dense'
      const linear: Linear<Params<N>, Vec<N>> = {
        fwd: (tan) => {
          const e = gradientChange(tan, x)
          const dtv = field(tan, 't')
          const dt = typeof dtv === 'number' ? dtv : 0
          if (e === undefined && dt === 0) return Zero
          return { dim, data: d.jvp(e, dt) } as Tan<Vec<N>>
        },
        bwd: (ct) => {
          if (ct === Zero) return Zero
          const c = (ct as Vec<N>).data
          const { v, t: gt } = d.vjp(c)
          const gq = new Float64Array(n)
          for (let i = 0; i < n; i++) gq[i] = -v[i]!
          const out: Record<string, unknown> = { q: { dim, data: gq }, w: { dim, data: new Float64Array(n) }, t: gt }
          if (dense) {
            const gp = new Float64Array(n * n)
            for (let i = 0; i < n; i++) {
              const vi = v[i]!
              if (vi === 0) continue
              const r = i * n
              for (let j = 0; j < n; j++) gp[r + j] = -vi * x[j]!
            }
            out['P'] = { rows: dim, cols: dim, data: gp }
          }
          return out as unknown as Tan<Params<N>>
        }
      }
      const face: NuclearFaceReport = d.face
      return { x, iterations: sol.iterations, converged: sol.converged, face, linear }
    }
  }
  return {
    kind: 'nuclear', n, reach: new Float64Array(n).fill(t), size: t,
    lmoValue: (g) => {
      const pair = oraclePair(g, rows, cols, last)
      last = pair.v
      return -t * pair.sigma
    },
    violation: (x) => {
      for (let i = 0; i < n; i++) if (!Number.isFinite(x[i]!)) return Infinity
      return Math.max(0, nuclearNormOf(x, rows, cols) - t)
    },
    project: (y, out) => out.set(projectNuclear(y, rows, cols, t).x),
    params: noMaps,
    solver
  }
}
