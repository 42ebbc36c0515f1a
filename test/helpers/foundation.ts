/**
 * Helpers for the foundation tests (shapes, core numerics, linear operators): seeded
 * random data as plain arrays, naive reference loops, tolerant comparisons, and the
 * "does not write into its arguments" check. Excluded from tap's run by package.json.
 */
import type { Test } from 'tap'
import * as E from 'fp-ts/lib/Either.js'
import { type Rng, rng } from '../../src/core/Random.js'
import type { Dim } from '../../src/shapes/Dim.js'
import { type Vec, unsafeVec } from '../../src/shapes/Vec.js'
import { type Mat, unsafeMat } from '../../src/shapes/Mat.js'

// -------------------------------------------------------------------------------------
// random data
// -------------------------------------------------------------------------------------

/** The seeds every randomized test runs over. */
export const SEEDS: ReadonlyArray<number> = [1, 2, 3, 17, 12345]

/** The lengths every randomized test runs over, including the empty and the odd. */
export const SIZES: ReadonlyArray<number> = [0, 1, 2, 3, 7, 16, 33]

/** A fresh generator per (seed, size) so that cases are independent. */
export const gen = (seed: number, n = 0): Rng => rng(seed * 1009 + n)

/** n standard normals, times `s`. */
export const randArr = (r: Rng, n: number, s = 1): number[] => Array.from({ length: n }, () => s * r.normal())

/** An m × n matrix of standard normals, as rows. */
export const randRows = (r: Rng, m: number, n: number, s = 1): number[][] =>
  Array.from({ length: m }, () => randArr(r, n, s))

/** A symmetric PSD matrix B Bᵀ with B n × k normal. */
export const randPsd = (r: Rng, n: number, k = n): number[][] => {
  const b = randRows(r, n, k)
  return b.map((bi) => b.map((bj) => naiveDot(bi, bj)))
}

// -------------------------------------------------------------------------------------
// shaped values from plain arrays (no checks: the data is known good)
// -------------------------------------------------------------------------------------

export const vec = <N>(d: Dim<N>, xs: ReadonlyArray<number>): Vec<N> => unsafeVec(d, Float64Array.from(xs))

export const mat = <M, N>(m: Dim<M>, n: Dim<N>, rows: ReadonlyArray<ReadonlyArray<number>>): Mat<M, N> =>
  unsafeMat(m, n, Float64Array.from(rows.flat()))

/** A matrix's rows as plain arrays. */
export const rowsOf = <M, N>(a: Mat<M, N>): number[][] =>
  Array.from({ length: a.rows }, (_, i) => Array.from(a.data.subarray(i * a.cols, (i + 1) * a.cols)))

/** The right side of an Either, or a thrown error (a test failure). */
export const rightOf = <L, A>(e: E.Either<L, A>): A => {
  if (E.isLeft(e)) throw new Error(`expected Right, got Left ${JSON.stringify(e.left)}`)
  return e.right
}

/** The left side of an Either, or a thrown error (a test failure). */
export const leftOf = <L, A>(e: E.Either<L, A>): L => {
  if (E.isRight(e)) throw new Error('expected Left, got Right')
  return e.left
}

// -------------------------------------------------------------------------------------
// naive references
// -------------------------------------------------------------------------------------

export const naiveDot = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

export const naiveMatVec = (a: ReadonlyArray<ReadonlyArray<number>>, x: ReadonlyArray<number>): number[] =>
  a.map((row) => naiveDot(row, x))

export const naiveTranspose = (a: ReadonlyArray<ReadonlyArray<number>>, cols: number): number[][] =>
  Array.from({ length: cols }, (_, j) => a.map((row) => row[j]!))

export const naiveMatTVec = (a: ReadonlyArray<ReadonlyArray<number>>, cols: number, y: ReadonlyArray<number>): number[] =>
  naiveMatVec(naiveTranspose(a, cols), y)

// -------------------------------------------------------------------------------------
// comparisons
// -------------------------------------------------------------------------------------

/** |a − b| ≤ tol · (1 + |b|). */
export const near = (a: number, b: number, tol = 1e-12): boolean => Math.abs(a - b) <= tol * (1 + Math.abs(b))

/** One assertion: equal lengths and every entry near its reference. Names the worst entry when it fails. */
export const allClose = (
  t: Test,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  msg: string,
  tol = 1e-12
): void => {
  if (got.length !== want.length) {
    t.fail(`${msg}: length ${got.length}, expected ${want.length}`)
    return
  }
  let worst = -1, err = 0
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!))
    if (!(e <= err)) { err = e; worst = i }
  }
  t.ok(worst === -1 || err <= tol, msg, worst === -1 ? {} : { index: worst, got: got[worst], want: want[worst], relErr: err })
}

/** One assertion: a scalar near its reference. */
export const closeTo = (t: Test, got: number, want: number, msg: string, tol = 1e-12): void => {
  t.ok(near(got, want, tol), msg, { got, want })
}

// -------------------------------------------------------------------------------------
// purity
// -------------------------------------------------------------------------------------

/**
 * Runs `f` and asserts that none of `inputs` changed: each buffer is snapshotted before
 * and compared bit for bit after (NaN-safe through `Object.is`).
 */
export const leavesInputs = (t: Test, name: string, inputs: ReadonlyArray<Float64Array | Int32Array>, f: () => unknown): void => {
  const before = inputs.map((a) => Array.from(a))
  f()
  const changed = inputs.findIndex((a, k) => a.length !== before[k]!.length || Array.from(a).some((v, i) => !Object.is(v, before[k]![i])))
  t.equal(changed, -1, `${name} leaves its arguments unchanged`)
}
