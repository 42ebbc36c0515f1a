/**
 * `polytope({ lmo })`: a polytope known only by its linear minimization oracle, as a
 * {@link FeasibleSet} that solves on its own (`FeasibleSet.solver`). Shortest paths,
 * spanning trees, matchings, any combinatorial solver: the layer never sees a description
 * of the set, only the vertices the oracle names.
 *
 * - **The oracle** is untrusted (`Atoms.ts`): every answer is checked (a `Vec` of n finite
 *   numbers whose products with P and q are finite) and a bad one, or a throw, is a
 *   `LayerError` at `set.lmo`. It must depend on g alone.
 * - **The solve** (`AtomSolve.ts`) keeps the active atoms and their weights and runs
 *   pairwise steps with the exact line search; in implicit mode it polishes exactly on the
 *   weights and ends when the oracle's gap certifies the polished point: gap ≤
 *   tolerance·|f| + the rounding floor. That certificate assumes an exact oracle, and is
 *   all an oracle allows: nothing else can tell that x is optimal.
 * - **The implicit derivative** (`AtomFace.ts`) is taken on the face the atoms span
 *   (enlarged by probing the oracle for further vertices of the optimal face), by one
 *   direct solve of the reduced KKT system in the weights; `face` reports its dimension,
 *   margin and kind.
 * - **The unrolled derivative** (`AtomUnrolled.ts`) differentiates the steps that ran
 *   through the weights, the atoms held fixed.
 * - The polytope has no parameters: derivatives are in q and P only (t is 0; a tangent
 *   may carry only q and P).
 *
 * What the generic parts of the solver ask of a set, answered for an oracle:
 * - `lmoValue(g)` = min(⟨g, lmo(g)⟩, the last solve's active atoms' values) (an answer is
 *   never trusted above a vertex already known), with the last evaluation of the solve
 *   reused when g is the same to the bit (so certifying the returned point costs no
 *   extra call);
 * - `reach` = the largest |vᵢ| over the vertices met so far (the true reach is unknown;
 *   it sets the certificate's rounding floor), `size` its maximum;
 * - `violation(x)` is only a lower bound on the distance from x to the polytope: along
 *   the one direction u = c − x, c the last solve's point (0 before any),
 *   max(0, min over the polytope of ⟨u, ·⟩ − ⟨u, x⟩)/‖u‖, by one oracle call; 0 does not
 *   prove membership (an oracle cannot);
 * - no polyhedral description, no projection.
 *
 * @since 0.1.0
 */
import type { Vec } from '../../shapes/Vec.js'
import type { Params } from '../Problem.js'
import { LayerError } from '../Options.js'
import { rowAbsSums } from '../Oracle.js'
import { type VertexOracle, vertexOracle } from '../Atoms.js'
import { type AtomRun, atomSolve } from '../AtomSolve.js'
import { atomFace } from '../AtomFace.js'
import { unrolledAtoms } from '../AtomUnrolled.js'
import type { FeasibleSet, SetSolution, SolveLimits } from './FeasibleSet.js'

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

/** a and b (both of length n) equal bit for bit. */
const sameBits = (a: Float64Array, b: Float64Array): boolean => {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false
  return true
}

/**
 * The polytope of the oracle `lmo` for one problem θ (P and q; the polytope has no
 * parameters), as a set with its own solver.
 *
 * @example
 * const C = polytopeSet(lmo, theta)
 * C.solver!.solve(theta, { maxIterations: 5000, tolerance: 1e-9 }, 'implicit').x
 */
export const polytopeSet = <M>(lmo: (g: Vec<M>) => Vec<M>, theta: Params<M>): FeasibleSet => {
  const n = theta.q.data.length
  const oracle: VertexOracle = vertexOracle(lmo, theta.q.dim)
  let reach: Float64Array = new Float64Array(n)
  let last: AtomRun | undefined

  const lmoValue = (g: Float64Array): number => {
    if (last !== undefined && sameBits(g, last.last.g)) return last.last.value
    let v = dot(g, oracle.call(g))
    if (last !== undefined) for (const a of last.active) v = Math.min(v, dot(g, last.table.V[a]!))
    return v
  }

  const solve = <N>(th: Params<N>, limits: SolveLimits, backward: 'implicit' | 'unrolled'): SetSolution<N> => {
    const pAbs = rowAbsSums(th)
    const run = atomSolve({ P: th.P, q: th.q.data, pAbs }, oracle, {
      maxIterations: limits.maxIterations, tolerance: limits.tolerance, mode: backward,
      ...(limits.deadline === undefined ? {} : { deadline: limits.deadline })
    })
    last = run
    if (backward === 'unrolled') {
      reach = run.table.reach
      return { x: run.x, iterations: run.iterations, converged: run.converged, linear: unrolledAtoms(run.table, run.tape!, run.start, th) }
    }
    const face = atomFace(run.table, run.active, run.weights, run.x, oracle, th, pAbs)
    reach = run.table.reach
    return { x: run.x, iterations: run.iterations, converged: run.converged, face: face.report, linear: face.linear }
  }

  return {
    kind: 'polytope',
    n,
    get reach() { return reach },
    get size() { let m = 0; for (let i = 0; i < n; i++) m = Math.max(m, reach[i]!); return m },
    lmoValue,
    violation: (x) => {
      const c = last?.x
      const dir = new Float64Array(n)
      for (let i = 0; i < n; i++) dir[i] = (c === undefined ? 0 : c[i]!) - x[i]!
      const nd = Math.sqrt(dot(dir, dir))
      if (!(nd > 0)) return 0
      // ⟨dir, x⟩ < min over the polytope of ⟨dir, ·⟩ separates x
      return Math.max(0, lmoValue(dir) - dot(dir, x)) / nd
    },
    params: { bound: () => 0, rhs: () => 0, boundT: () => undefined, rhsT: () => undefined },
    solver: { solve }
  }
}

/**
 * The polytope of a validated problem's structure: its oracle is required.
 *
 * @example
 * resolvePolytope(theta, { lmo }) // a FeasibleSet of kind 'polytope'
 */
export const resolvePolytope = <M>(theta: Params<M>, structure: { readonly lmo?: (g: Vec<unknown>) => Vec<unknown> }): FeasibleSet => {
  const lmo = structure.lmo
  if (typeof lmo !== 'function') throw new LayerError('a polytope needs its oracle lmo: (g) => a vertex minimizing ⟨g, ·⟩', 'set.lmo')
  return polytopeSet(lmo as unknown as (g: Vec<M>) => Vec<M>, theta)
}
