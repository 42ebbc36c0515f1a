/**
 * The report on the face a result's implicit derivative is taken on (CONTRACT.md's
 * `face`), in a module of its own: the face model (`FaceModel.ts`), the sets that solve
 * on their own (`sets/FeasibleSet.ts`) and the layer all speak of it.
 *
 * @since 0.1.0
 */

/**
 * How the solution map behaves at θ: differentiable (`exact`), at a kink (one-sided
 * derivatives only), or with a non-unique minimizer.
 *
 * @example
 * if (r.face?.derivative === 'kink') console.warn('one-sided derivative')
 */
export type FaceDerivative = 'exact' | 'kink' | 'non-unique'

/**
 * The face a result's implicit derivative is taken on (CONTRACT.md's `face`).
 *
 * @example
 * const r = dfwLayer()({ P, q, t: 1 })
 * r.face // { size: 3, margin: 0.27, derivative: 'exact' }
 */
export interface FaceReport {
  readonly size: number
  readonly margin: number
  readonly derivative: FaceDerivative
}
