/**
 * Compile-time tests of the dimension types, checked by `npm run typecheck` and never run.
 * Each `@ts-expect-error` marks a mix that must not compile. If one of them starts to
 * compile, the directive is unused and typecheck fails, so a guarantee that silently
 * stops holding is caught.
 */
import * as O from 'fp-ts/lib/Option.js'
import { pipe } from 'fp-ts/lib/function.js'
import { type Dim, withDim } from '../../src/shapes/Dim.js'
import { type SameDim, sameDim } from '../../src/shapes/SameDim.js'
import { type Vec, zeros, vector } from '../../src/shapes/Vec.js'
import { type Mat, zerosMat, identity } from '../../src/shapes/Mat.js'
import { dot, add, axpy } from '../../src/core/Vector.js'
import { matVec, matTVec, outer } from '../../src/core/Matrix.js'
import { dense, apply } from '../../src/core/LinearOperator.js'

// -------------------------------------------------------------------------------------
// well-typed forms compile
// -------------------------------------------------------------------------------------

export const dotOfOneDim: number = withDim(3, (n) => dot(zeros(n), zeros(n)))

export const elementwiseOfOneDim: number = withDim(3, <N>(n: Dim<N>) => {
  const x: Vec<N> = zeros(n)
  const y: Vec<N> = add(x, axpy(2, x, x))
  return dot(x, y)
})

export const matVecOfMatchingDims: number = withDim(2, <M>(m: Dim<M>) => withDim(3, <N>(n: Dim<N>) => {
  const a: Mat<M, N> = zerosMat(m, n)
  const y: Vec<M> = matVec(a, zeros(n))
  const x: Vec<N> = matTVec(a, y)
  const o: Mat<M, N> = outer(y, x)
  return dot(y, matVec(o, x))
}))

export const operatorOfOneDim: number = withDim(4, (n) => dot(apply(dense(identity(n)), zeros(n)), zeros(n)))

// -------------------------------------------------------------------------------------
// two withDim calls do not mix
// -------------------------------------------------------------------------------------

export const dotOfTwoCalls = withDim(3, (a) => withDim(3, (b) => {
  // @ts-expect-error Vec<A> and Vec<B> come from two withDim calls, even of one length
  return dot(zeros(a), zeros(b))
}))

export const addOfTwoCalls = withDim(3, <A>(a: Dim<A>) => withDim(3, <B>(b: Dim<B>) => {
  const x: Vec<A> = zeros(a)
  const y: Vec<B> = zeros(b)
  // @ts-expect-error elementwise operations need one Dim as well
  void add(x, y)
  return 0
}))

export const assignAcrossCalls = withDim(3, <A>(a: Dim<A>) => withDim(3, <B>(_b: Dim<B>) => {
  // @ts-expect-error a Vec<A> is not a Vec<B>
  const y: Vec<B> = zeros(a)
  return y.dim as number
}))

export const decodedAcrossCalls = withDim(2, <A>(a: Dim<A>) => withDim(2, <B>(b: Dim<B>) =>
  pipe(vector(a, [1, 2]), (ea) => pipe(vector(b, [3, 4]), (eb) =>
    ea._tag === 'Right' && eb._tag === 'Right'
      // @ts-expect-error checked vectors keep the Dim they were checked against
      ? dot(ea.right, eb.right)
      : 0))))

// -------------------------------------------------------------------------------------
// matVec refuses the wrong inner dimension
// -------------------------------------------------------------------------------------

export const matVecRowDim = withDim(3, <M>(m: Dim<M>) => withDim(3, <N>(n: Dim<N>) => {
  const a: Mat<M, N> = zerosMat(m, n)
  // @ts-expect-error x must have the column Dim N, not the row Dim M (even though both are 3)
  void matVec(a, zeros(m))
  return 0
}))

export const matVecOtherCall = withDim(2, <M>(m: Dim<M>) => withDim(3, <N>(n: Dim<N>) => withDim(3, <K>(k: Dim<K>) => {
  const a: Mat<M, N> = zerosMat(m, n)
  void n
  // @ts-expect-error a Vec<K> of the right length but another withDim call
  void matVec(a, zeros(k))
  return 0
})))

export const matVecResultDim = withDim(2, <M>(m: Dim<M>) => withDim(3, <N>(n: Dim<N>) => {
  // @ts-expect-error the product is a Vec<M>, not a Vec<N>
  const y: Vec<N> = matVec(zerosMat(m, n), zeros(n))
  return y.dim as number
}))

export const matTVecWrongDim = withDim(2, <M>(m: Dim<M>) => withDim(3, <N>(n: Dim<N>) => {
  // @ts-expect-error Aᵀ y takes a Vec<M>
  void matTVec(zerosMat(m, n), zeros(n))
  return 0
}))

// -------------------------------------------------------------------------------------
// no shaped value escapes its callback, and plain numbers are not Dims
// -------------------------------------------------------------------------------------

// @ts-expect-error N is fresh inside the callback; returning Vec<N> would widen it to Vec<unknown>
export const escaped = withDim(3, (n) => zeros(n))

// @ts-expect-error a plain number is not a Dim: lengths come from withDim
export const fromNumber = zeros(3)

// -------------------------------------------------------------------------------------
// sameDim is the runtime proof that lets them mix
// -------------------------------------------------------------------------------------

export const dotAfterProof: number = withDim(3, <A>(a: Dim<A>) => withDim(3, <B>(b: Dim<B>) => {
  const x: Vec<A> = zeros(a)
  const y: Vec<B> = zeros(b)
  return pipe(
    sameDim(a, b),
    O.match(
      () => 0,
      (p: SameDim<A, B>) => dot(x, p.vec(y))
    )
  )
}))

export const matVecAfterProof: number = withDim(2, <M>(m: Dim<M>) => withDim(3, <N>(n: Dim<N>) => withDim(3, <K>(k: Dim<K>) => {
  const a: Mat<M, N> = zerosMat(m, n)
  const x: Vec<K> = zeros(k)
  return pipe(
    sameDim(n, k),
    O.match(
      () => 0,
      (p) => dot(matVec(a, p.vec(x)), zeros(m))
    )
  )
})))

export const matAfterProof: number = withDim(3, <A>(a: Dim<A>) => withDim(3, <B>(b: Dim<B>) => pipe(
  sameDim(a, b),
  O.match(
    () => 0,
    (p) => dot(matVec(p.mat(zerosMat(a, b)), zeros(a)), zeros(a))
  )
)))
