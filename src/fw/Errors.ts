/**
 * The solver's own failure that the layer turns into a `LayerError`: negative curvature
 * (a P that is not positive semidefinite), raised wherever the solver meets it — a line
 * search of the steps or the fast solve, a face factorization — in a module of its own so
 * that the steps, the oracles and the layer can all raise and catch it.
 *
 * @since 0.1.0
 */

/**
 * P is not positive semidefinite: a direction d (unit norm) with dᵀPd < 0, met in a line
 * search or a face factorization. The layer turns it into a `LayerError` at `P`.
 *
 * @example
 * try { step([theta, state]) } catch (e) { if (e instanceof NegativeCurvatureError) e.curvature }
 */
export class NegativeCurvatureError extends Error {
  constructor(readonly direction: Float64Array, readonly curvature: number) {
    super(`P is not positive semidefinite: dᵀPd = ${curvature.toPrecision(3)} < 0 along a direction d of unit norm`)
    this.name = 'NegativeCurvatureError'
  }
}
