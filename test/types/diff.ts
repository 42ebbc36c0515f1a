/**
 * Compile-time tests of the differentiable-map engine (type-checked by `npm run
 * typecheck`, not run). Each `@ts-expect-error` marks a program that must not compile;
 * an unused one is itself an error, so a guarantee that silently stops holding is caught.
 */
import * as D from '../../src/core/Diff.js'
import type { Diff } from '../../src/core/Diff.js'
import * as P from '../../src/core/Prim.js'
import { withDim } from '../../src/shapes/Dim.js'
import { zeros } from '../../src/shapes/Vec.js'
import type { Vec } from '../../src/shapes/Vec.js'
import type { LinearOperator } from '../../src/core/LinearOperator.js'
import type { Mat } from '../../src/shapes/Mat.js'
import { jvp } from '../../src/jvp/index.js'
import { vjp } from '../../src/vjp/index.js'

export const dimensions = withDim(3, <A>() =>
  withDim(4, <B>() => {
    const toA: Diff<Vec<A>, readonly [Vec<A>, Vec<A>]> = D.fanout(D.id<Vec<A>>(), D.id<Vec<A>>())
    const toB: Diff<Vec<B>, readonly [Vec<B>, Vec<B>]> = D.fanout(D.id<Vec<B>>(), D.id<Vec<B>>())

    // well typed: add on Vec<A> after a map producing a pair of Vec<A>
    const ok: Diff<Vec<A>, Vec<A>> = D.compose(P.add<A>(), toA)

    // @ts-expect-error add on Vec<A> cannot consume a pair of Vec<B>
    D.compose(P.add<A>(), toB)

    // @ts-expect-error the result of a Vec<A> map is not a Vec<B> map
    const bad: Diff<Vec<B>, Vec<B>> = D.compose(P.add<A>(), toA)

    // @ts-expect-error andThen checks the joint: softmax on Vec<B> after a Vec<A> map
    D.andThen(D.compose(P.softmax<B>(), D.linear<Vec<A>, readonly [Vec<A>]>({ fwd: (x) => [x] as const, bwd: (t) => t[0] })))(ok)

    // @ts-expect-error dot of a Vec<A> with a Vec<B>
    D.compose(P.dot<A>(), D.fanout(D.id<Vec<A>>(), D.constant<Vec<A>, Vec<B>>(zeros(0 as never))))

    // @ts-expect-error a matrix A × B applied to a Vec<A>
    D.compose(P.matVec<A, B>(), D.fanout(D.constant<Vec<A>, Mat<A, B>>(null as never), D.id<Vec<A>>()))

    // @ts-expect-error an operator on Vec<B> applied to Vec<A>
    D.compose(P.apply<B>(), D.fanout(D.constant<Vec<A>, LinearOperator<B>>(null as never), D.id<Vec<A>>()))

    // @ts-expect-error par keeps the two sides apart: (f × g) swapped
    const swapped: Diff<readonly [Vec<B>, Vec<A>], readonly [Vec<A>, Vec<B>]> = D.par(D.id<Vec<A>>(), D.id<Vec<B>>())

    // @ts-expect-error fold needs a step whose output is its state type
    D.fold<Vec<A>, Vec<A>>(D.compose(P.sum<A>(), D.linear<readonly [Vec<A>, Vec<A>], readonly [Vec<A>]>({ fwd: (p) => [p[1]] as const, bwd: (t) => [t[0], t[0]] as const })), 3)

    // @ts-expect-error jvp's tangent has the input's dimension
    jvp(P.softmax<A>())([zeros(0 as never) as Vec<A>], [zeros(0 as never) as Vec<B>])

    // vjp's cotangent has the output's dimension
    vjp(P.softmax<A>())([zeros(0 as never) as Vec<A>])[1](zeros(0 as never) as Vec<A>)
    // @ts-expect-error … and not another
    vjp(P.softmax<A>())([zeros(0 as never) as Vec<A>])[1](zeros(0 as never) as Vec<B>)

    return [ok, bad, swapped] as const
  })
)

// -------------------------------------------------------------------------------------
// records and do-notation
// -------------------------------------------------------------------------------------

export const records = <N>(): unknown => {
  type Env = { readonly x: Vec<N>; readonly q: Vec<N>; readonly t: number }

  // well typed: a do-block reading fields by name, ending in a field
  const g = D.bind('g', D.on<Env, readonly ['x', 'q'], Vec<N>>(['x', 'q'], P.add<N>()))(D.Do<Env>())
  const pipeline: Diff<Env, Vec<N>> = D.andThen(D.get<{ readonly x: Vec<N>; readonly q: Vec<N>; readonly t: number; readonly g: Vec<N> }, 'g'>('g'))(g)

  // @ts-expect-error binding a field name twice
  D.bind('x', D.on<Env, readonly ['q'], Vec<N>>(['q'], P.neg<N>()))(D.Do<Env>())

  // @ts-expect-error binding the name again after a first bind
  D.bind('g', D.get<{ readonly x: Vec<N>; readonly q: Vec<N>; readonly t: number; readonly g: Vec<N> }, 'x'>('x'))(g)

  // @ts-expect-error reading a field that does not exist
  D.get<Env, 'y'>('y')

  // @ts-expect-error `on` feeds the fields in order: (t, x) is not (x, y) of add
  D.on<Env, readonly ['t', 'x'], Vec<N>>(['t', 'x'], P.add<N>())

  // well typed: scale takes (number, vector), fields in that order
  const scaled: Diff<Env, Vec<N>> = D.on<Env, readonly ['t', 'x'], Vec<N>>(['t', 'x'], P.scale<N>())

  return [pipeline, scaled]
}

// -------------------------------------------------------------------------------------
// folds and custom derivatives
// -------------------------------------------------------------------------------------

export const folds = <N>(): unknown => {
  type S = Vec<N>
  type Prm = Vec<N>
  const step: Diff<readonly [Prm, S], S> = D.compose(P.add<N>(), D.par(D.id<Prm>(), D.compose(P.tanh<N>(), D.linear<S, readonly [S]>({ fwd: (s) => [s] as const, bwd: (t) => t[0] }))))
  const unrolled: Diff<readonly [Prm, S], S> = D.fold(step, 10, { checkpoint: 3 })
  const early: Diff<readonly [Prm, S], S> = D.foldWhile(step, (s, k) => k < 5 && s.data.length > 0, 100)
  const layer: Diff<Prm, S> = D.compose(unrolled, D.withInit(D.id<Prm>()))

  // @ts-expect-error the checkpoint is a number of steps
  D.fold(step, 10, { checkpoint: 'every' })

  // @ts-expect-error custom's linear map must be between the right spaces
  D.custom((x: Vec<N>) => x, (): D.Linear<Vec<N>, number> => ({ fwd: () => 0, bwd: () => 0 }))

  const implicit: Diff<Vec<N>, Vec<N>> = D.custom((x: Vec<N>) => x, () => ({ fwd: (d) => d, bwd: (d) => d }))
  return [early, layer, implicit]
}
