/**
 * Core numerics: Vector.ts, Matrix.ts and the blas.ts wrappers, each against a naive
 * plain-array loop on seeded random inputs. Linear operators and power iteration are in
 * test/linop.ts.
 */
import t from 'tap'
import { withDim } from '../src/shapes/Dim.js'
import type { Vec } from '../src/shapes/Vec.js'
import { zeros } from '../src/shapes/Vec.js'
import { zerosMat } from '../src/shapes/Mat.js'
import * as V from '../src/core/Vector.js'
import * as M from '../src/core/Matrix.js'
import * as B from './helpers/blas.js'
import {
  SEEDS, SIZES, gen, randArr, randRows, vec, mat, rowsOf, naiveDot, naiveMatVec, naiveMatTVec, naiveTranspose,
  allClose, closeTo, leavesInputs
} from './helpers/foundation.js'

/** Runs `f` on every (seed, size) pair with a fresh Dim and two random vectors of that size. */
const forVectors = (f: <N>(x: Vec<N>, y: Vec<N>, xs: number[], ys: number[], label: string) => void): void => {
  for (const seed of SEEDS) for (const n of SIZES) {
    const r = gen(seed, n)
    const xs = randArr(r, n), ys = randArr(r, n)
    withDim(n, (d) => f(vec(d, xs), vec(d, ys), xs, ys, `n=${n} seed=${seed}`))
  }
}

/** The (rows, cols) pairs the matrix tests run over. */
const SHAPES: ReadonlyArray<readonly [number, number]> = [[0, 0], [1, 1], [0, 3], [3, 0], [2, 5], [5, 2], [7, 7], [16, 9], [3, 21], [40, 33]]

/** Runs `f` on every (seed, shape) with a random matrix and random vectors of both sizes. */
const forMatrices = (
  f: <R, C>(
    a: ReturnType<typeof mat<R, C>>, x: Vec<C>, y: Vec<R>,
    rows: number[][], xs: number[], ys: number[], m: number, n: number, label: string
  ) => void
): void => {
  for (const seed of SEEDS) for (const [m, n] of SHAPES) {
    const r = gen(seed, 100 * m + n)
    const rows = randRows(r, m, n), xs = randArr(r, n), ys = randArr(r, m)
    withDim(m, (dm) => withDim(n, (dn) => f(mat(dm, dn, rows), vec(dn, xs), vec(dm, ys), rows, xs, ys, m, n, `${m}×${n} seed=${seed}`)))
  }
}

// -------------------------------------------------------------------------------------
// Vector: reductions
// -------------------------------------------------------------------------------------

t.test('dot equals the naive sum of products', async (t) => {
  forVectors((x, y, xs, ys, l) => closeTo(t, V.dot(x, y), naiveDot(xs, ys), l))
})

t.test('dot is symmetric and zero on empty vectors', async (t) => {
  forVectors((x, y, _xs, _ys, l) => t.equal(V.dot(x, y), V.dot(y, x), l))
  withDim(0, (d) => t.equal(V.dot(zeros(d), zeros(d)), 0))
})

t.test('sum equals the naive sum', async (t) => {
  forVectors((x, _y, xs, _ys, l) => closeTo(t, V.sum(x), xs.reduce((a, b) => a + b, 0), l))
})

t.test('maxArg, max and argmax give the largest entry and its first index', async (t) => {
  forVectors((x, _y, xs, _ys, l) => {
    let m = -Infinity, k = -1
    for (let i = 0; i < xs.length; i++) if (xs[i]! > m) { m = xs[i]!; k = i }
    t.same(V.maxArg(x), { value: m, index: k }, l)
    t.equal(V.max(x), m, l)
    t.equal(V.argmax(x), k, l)
  })
})

t.test('argmax takes the first of tied maxima', async (t) => {
  withDim(5, (d) => t.same(V.maxArg(vec(d, [1, 3, 2, 3, 3])), { value: 3, index: 1 }))
})

t.test('maxArg of an empty vector is -Infinity at -1', async (t) => {
  withDim(0, (d) => t.same(V.maxArg(zeros(d)), { value: -Infinity, index: -1 }))
})

t.test('normL1 without weights is Σ|xᵢ|', async (t) => {
  forVectors((x, _y, xs, _ys, l) => closeTo(t, V.normL1(x), xs.reduce((a, b) => a + Math.abs(b), 0), l))
})

t.test('normL1 with weights is Σ|wᵢ xᵢ|, negative weights included', async (t) => {
  forVectors((x, w, xs, ws, l) => {
    let s = 0
    for (let i = 0; i < xs.length; i++) s += Math.abs(ws[i]! * xs[i]!)
    closeTo(t, V.normL1(x, w), s, l)
  })
})

t.test('normL2 equals sqrt(Σ xᵢ²) on moderate entries', async (t) => {
  forVectors((x, _y, xs, _ys, l) => closeTo(t, V.normL2(x), Math.sqrt(naiveDot(xs, xs)), l, 1e-14))
})

t.test('normL2 does not overflow on 1e200 entries', async (t) => {
  withDim(4, (d) => {
    const v = V.normL2(vec(d, [1e200, -1e200, 1e200, 1e200]))
    t.ok(Number.isFinite(v))
    closeTo(t, v / 1e200, 2, 'value', 1e-15)
  })
  withDim(3, (d) => closeTo(t, V.normL2(vec(d, [3e300, 4e300, 0])) / 1e300, 5, 'mixed with zero', 1e-15))
})

t.test('normL2 does not underflow on 1e-200 entries', async (t) => {
  withDim(2, (d) => closeTo(t, V.normL2(vec(d, [3e-200, 4e-200])) / 1e-200, 5, 'value', 1e-15))
})

t.test('normL2 of zero or empty is 0', async (t) => {
  withDim(3, (d) => t.equal(V.normL2(zeros(d)), 0))
  withDim(0, (d) => t.equal(V.normL2(zeros(d)), 0))
})

t.test('normInf is the largest |xᵢ|', async (t) => {
  forVectors((x, _y, xs, _ys, l) => t.equal(V.normInf(x), xs.reduce((a, b) => Math.max(a, Math.abs(b)), 0), l))
})

t.test('normL2 with weights is sqrt(Σ (wᵢ xᵢ)²), negative weights included', async (t) => {
  forVectors((x, w, xs, ws, l) => closeTo(t, V.normL2(x, w), Math.sqrt(xs.reduce((a, v, i) => a + (ws[i]! * v) ** 2, 0)), l, 1e-14))
  withDim(2, (d) => closeTo(t, V.normL2(vec(d, [3e200, 4e200]), vec(d, [1e100, 1e100])) / 1e300, 5, 'no overflow', 1e-15))
})

t.test('normInf with weights is maxᵢ |wᵢ xᵢ|, and a NaN entry is not dropped', async (t) => {
  forVectors((x, w, xs, ws, l) => t.equal(V.normInf(x, w), xs.reduce((a, v, i) => Math.max(a, Math.abs(ws[i]! * v)), 0), l))
  withDim(3, (d) => t.ok(Number.isNaN(V.normInf(vec(d, [1, NaN, 2]))), 'NaN propagates'))
})

// -------------------------------------------------------------------------------------
// Vector: elementwise
// -------------------------------------------------------------------------------------

const binary: ReadonlyArray<readonly [string, <N>(x: Vec<N>, y: Vec<N>) => Vec<N>, (a: number, b: number) => number]> = [
  ['add', V.add, (a, b) => a + b],
  ['sub', V.sub, (a, b) => a - b],
  ['mul', V.mul, (a, b) => a * b],
  ['div', V.div, (a, b) => a / b]
]

for (const [name, f, ref] of binary) {
  t.test(`${name} matches the naive elementwise loop`, async (t) => {
    forVectors((x, y, xs, ys, l) => {
      const z = f(x, y)
      t.equal(z.dim, x.dim, `${l} dim`)
      allClose(t, z.data, xs.map((a, i) => ref(a, ys[i]!)), l, 0)
    })
  })
}

const unary: ReadonlyArray<readonly [string, <N>(x: Vec<N>) => Vec<N>, (a: number) => number]> = [
  ['abs', V.abs, Math.abs],
  ['sign', V.sign, (a) => (a > 0 ? 1 : a < 0 ? -1 : 0)],
  ['neg', V.neg, (a) => -a],
  ['scale by 2.5', (x) => V.scale(2.5, x), (a) => 2.5 * a],
  ['scale by 0', (x) => V.scale(0, x), (a) => 0 * a],
  ['shift by -1.5', (x) => V.shift(x, -1.5), (a) => a - 1.5],
  ['copy', V.copy, (a) => a]
]

for (const [name, f, ref] of unary) {
  t.test(`${name} matches the naive elementwise loop`, async (t) => {
    forVectors((x, _y, xs, _ys, l) => {
      const z = f(x)
      t.equal(z.dim, x.dim, `${l} dim`)
      t.not(z.data, x.data, `${l} fresh buffer`)
      allClose(t, z.data, xs.map(ref), l, 0)
    })
  })
}

t.test('map passes the index', async (t) => {
  forVectors((x, _y, xs, _ys, l) => allClose(t, V.map((a, i) => a * i)(x).data, xs.map((a, i) => a * i), l, 0))
})

t.test('sign of ±0 is 0', async (t) => {
  withDim(3, (d) => t.same(Array.from(V.sign(vec(d, [0, -0, 2])).data).map((v) => v === 0 ? 0 : v), [0, 0, 1]))
})

t.test('axpy is α x + y', async (t) => {
  forVectors((x, y, xs, ys, l) => {
    for (const alpha of [0, 1, -0.75, 3]) allClose(t, V.axpy(alpha, x, y).data, xs.map((a, i) => alpha * a + ys[i]!), `${l} α=${alpha}`, 0)
  })
})

t.test('softmax matches exp(xᵢ)/Σ exp(xⱼ) on moderate entries', async (t) => {
  forVectors((x, _y, xs, _ys, l) => {
    const e = xs.map(Math.exp), s = e.reduce((a, b) => a + b, 0)
    allClose(t, V.softmax(x).data, e.map((v) => v / s), l, 1e-14)
  })
})

t.test('softmax sums to 1 with entries in [0, 1]', async (t) => {
  forVectors((x, _y, xs, _ys, l) => {
    if (xs.length === 0) return
    const p = Array.from(V.softmax(V.scale(30, x)).data)
    closeTo(t, p.reduce((a, b) => a + b, 0), 1, l, 1e-14)
    t.ok(p.every((v) => v >= 0 && v <= 1), `${l} in [0, 1]`)
  })
})

t.test('softmax is stable for huge entries', async (t) => {
  withDim(4, (d) => {
    const p = V.softmax(vec(d, [1e308, 1e308 - 1e292, -1e308, 0]))
    t.ok(Array.from(p.data).every(Number.isFinite), 'finite')
    closeTo(t, p.data[0]! + p.data[1]! + p.data[2]! + p.data[3]!, 1, 'sums to 1', 1e-15)
    t.equal(p.data[0], 1, 'the largest takes all the mass')
  })
  withDim(3, (d) => {
    const p = V.softmax(vec(d, [1000, 1001, 1002]))
    const e = [Math.exp(-2), Math.exp(-1), 1], s = e[0]! + e[1]! + e[2]!
    allClose(t, p.data, e.map((v) => v / s), 'shift invariant: equals softmax(0, 1, 2)', 1e-15)
  })
  withDim(2, (d) => allClose(t, V.softmax(vec(d, [-1e4, -1e4])).data, [0.5, 0.5], 'huge negative entries', 0))
})

t.test('softmax is invariant under a shift', async (t) => {
  forVectors((x, _y, _xs, _ys, l) => allClose(t, V.softmax(V.shift(x, 123.25)).data, V.softmax(x).data, l, 1e-12))
})

// -------------------------------------------------------------------------------------
// Matrix
// -------------------------------------------------------------------------------------

t.test('matVec matches the naive row dot products', async (t) => {
  forMatrices((a, x, _y, rows, xs, _ys, m, _n, l) => {
    const z = M.matVec(a, x)
    t.equal(z.dim, m, `${l} dim`)
    allClose(t, z.data, naiveMatVec(rows, xs), l)
  })
})

t.test('matTVec matches the naive product with the transpose', async (t) => {
  forMatrices((a, _x, y, rows, _xs, ys, _m, n, l) => {
    const z = M.matTVec(a, y)
    t.equal(z.dim, n, `${l} dim`)
    allClose(t, z.data, naiveMatTVec(rows, n, ys), l)
  })
})

t.test('matTVec with zero entries of y combines only the other rows', async (t) => {
  withDim(2, (m) => withDim(3, (n) => {
    const a = mat(m, n, [[1, 2, 3], [4, 5, 6]])
    t.same(Array.from(M.matTVec(a, vec(m, [0, 2])).data), [8, 10, 12])
  }))
})

t.test('⟨A x, y⟩ = ⟨x, Aᵀ y⟩', async (t) => {
  forMatrices((a, x, y, _rows, _xs, _ys, _m, _n, l) => closeTo(t, V.dot(M.matVec(a, x), y), V.dot(x, M.matTVec(a, y)), l, 1e-12))
})

t.test('outer is xᵢ yⱼ', async (t) => {
  forMatrices((_a, x, y, _rows, xs, ys, m, n, l) => {
    const o = M.outer(y, x)
    t.equal(o.rows, m); t.equal(o.cols, n)
    t.same(rowsOf(o), ys.map((yi) => xs.map((xj) => yi * xj)), l)
  })
})

t.test('transpose swaps indices and is an involution', async (t) => {
  forMatrices((a, _x, _y, rows, _xs, _ys, m, n, l) => {
    const at = M.transpose(a)
    t.equal(at.rows, n); t.equal(at.cols, m)
    t.same(rowsOf(at), naiveTranspose(rows, n), l)
    t.same(Array.from(M.transpose(at).data), Array.from(a.data), `${l} involution`)
  })
})

t.test('frobeniusDot is Σ aᵢⱼ bᵢⱼ', async (t) => {
  forMatrices((a, _x, _y, rows, _xs, _ys, m, n, l) => {
    const rows2 = randRows(gen(77, m * n), m, n)
    const b = { rows: a.rows, cols: a.cols, data: Float64Array.from(rows2.flat()) }
    let s = 0
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) s += rows[i]![j]! * rows2[i]![j]!
    closeTo(t, M.frobeniusDot(a, b), s, l)
  })
})

t.test('addMat and scaleMat are entrywise', async (t) => {
  forMatrices((a, _x, _y, rows, _xs, _ys, _m, _n, l) => {
    t.same(rowsOf(M.addMat(a, a)), rows.map((r) => r.map((v) => v + v)), `${l} add`)
    t.same(rowsOf(M.scaleMat(-3, a)), rows.map((r) => r.map((v) => -3 * v)), `${l} scale`)
  })
})

t.test('symmetryDefect is undefined for A + Aᵀ and finds a planted asymmetry', async (t) => {
  for (const seed of SEEDS) for (const n of [1, 2, 5, 12]) {
    const rows = randRows(gen(seed, n), n, n)
    const sym = rows.map((r, i) => r.map((v, j) => v + rows[j]![i]!))
    withDim(n, (d) => {
      t.equal(M.symmetryDefect(mat(d, d, sym)), undefined, `symmetric n=${n}`)
      t.equal(M.isSymmetric(mat(d, d, sym)), true)
      if (n < 2) return
      const bad = sym.map((r) => r.slice())
      bad[n - 1]![0] = bad[n - 1]![0]! + 1e-3
      t.same(M.symmetryDefect(mat(d, d, bad)), { i: n - 1, j: 0 }, `planted at (${n - 1}, 0)`)
      t.equal(M.isSymmetric(mat(d, d, bad)), false)
    })
  }
})

t.test('symmetryDefect reports the first offending pair in row order', async (t) => {
  withDim(3, (d) => t.same(M.symmetryDefect(mat(d, d, [[0, 1, 1], [0, 0, 1], [0, 0, 0]])), { i: 1, j: 0 }))
})

t.test('symmetryDefect is relative to the entries and honours tol', async (t) => {
  withDim(2, (d) => {
    const big = mat(d, d, [[0, 1e12], [1e12 + 1, 0]])
    t.equal(M.isSymmetric(big), true, 'a defect of 1 in 1e12 passes the default 1e-10')
    t.equal(M.isSymmetric(big, 1e-14), false, 'and fails 1e-14')
    const small = mat(d, d, [[0, 1e-12], [0, 0]])
    t.equal(M.isSymmetric(small), true, 'absolute floor of tol near zero')
    t.equal(M.isSymmetric(mat(d, d, [[0, 0], [1e-9, 0]])), false, '1e-9 next to 0 fails')
  })
})

// -------------------------------------------------------------------------------------
// blas wrappers
// -------------------------------------------------------------------------------------

t.test('blas.ddot matches the naive dot', async (t) => {
  forVectors((x, y, xs, ys, l) => closeTo(t, B.ddot(x, y), naiveDot(xs, ys), l))
})

t.test('blas.dnrm2 matches sqrt(Σ xᵢ²) and does not overflow', async (t) => {
  forVectors((x, _y, xs, _ys, l) => closeTo(t, B.dnrm2(x), Math.sqrt(naiveDot(xs, xs)), l, 1e-14))
  withDim(2, (d) => closeTo(t, B.dnrm2(vec(d, [3e200, 4e200])) / 1e200, 5, '1e200 entries', 1e-15))
})

t.test('blas.daxpy is α x + y in a fresh vector', async (t) => {
  forVectors((x, y, xs, ys, l) => {
    const z = B.daxpy(-1.25, x, y)
    t.not(z.data, y.data, `${l} fresh`)
    allClose(t, z.data, xs.map((a, i) => -1.25 * a + ys[i]!), l, 0)
  })
})

t.test('blas.dgemv matches the naive A x', async (t) => {
  forMatrices((a, x, _y, rows, xs, _ys, m, _n, l) => {
    const z = B.dgemv(a, x)
    t.equal(z.dim, m)
    allClose(t, z.data, naiveMatVec(rows, xs), l)
  })
})

t.test('blas.dgemvT matches the naive Aᵀ y', async (t) => {
  forMatrices((a, _x, y, rows, _xs, ys, _m, n, l) => {
    const z = B.dgemvT(a, y)
    t.equal(z.dim, n)
    allClose(t, z.data, naiveMatTVec(rows, n, ys), l)
  })
})

t.test('blas.dsymv matches the naive A x on a symmetric matrix', async (t) => {
  for (const seed of SEEDS) for (const n of SIZES) {
    const r = gen(seed, n)
    const g = randRows(r, n, n), xs = randArr(r, n)
    const sym = g.map((row, i) => row.map((v, j) => v + g[j]![i]!))
    withDim(n, (d) => allClose(t, B.dsymv(mat(d, d, sym), vec(d, xs)).data, naiveMatVec(sym, xs), `n=${n} seed=${seed}`))
  }
})

t.test('blas.dsymv reads only the upper triangle', async (t) => {
  withDim(3, (d) => {
    const upper = mat(d, d, [[1, 2, 3], [999, 4, 5], [999, 999, 6]])
    t.same(Array.from(B.dsymv(upper, vec(d, [1, 1, 1])).data), [6, 11, 14])
  })
})

t.test('blas wrappers agree with the plain loops', async (t) => {
  forMatrices((a, x, y, _rows, _xs, _ys, _m, _n, l) => {
    allClose(t, B.dgemv(a, x).data, M.matVec(a, x).data, `${l} dgemv`)
    allClose(t, B.dgemvT(a, y).data, M.matTVec(a, y).data, `${l} dgemvT`)
  })
  forVectors((x, y, _xs, _ys, l) => {
    closeTo(t, B.ddot(x, y), V.dot(x, y), `${l} ddot`)
    closeTo(t, B.dnrm2(x), V.normL2(x), `${l} dnrm2`, 1e-14)
    allClose(t, B.daxpy(2, x, y).data, V.axpy(2, x, y).data, `${l} daxpy`, 0)
  })
})

// -------------------------------------------------------------------------------------
// purity
// -------------------------------------------------------------------------------------

t.test('no Vector function writes into its arguments', async (t) => {
  withDim(9, (d) => {
    const r = gen(42)
    const x = vec(d, randArr(r, 9)), y = vec(d, randArr(r, 9).map((v) => v + 3))
    const fs: ReadonlyArray<readonly [string, () => unknown]> = [
      ['dot', () => V.dot(x, y)], ['sum', () => V.sum(x)], ['maxArg', () => V.maxArg(x)],
      ['normL1', () => V.normL1(x, y)], ['normL2', () => V.normL2(x)], ['normInf', () => V.normInf(x)],
      ['add', () => V.add(x, y)], ['sub', () => V.sub(x, y)], ['scale', () => V.scale(2, x)],
      ['axpy', () => V.axpy(2, x, y)], ['shift', () => V.shift(x, 1)], ['mul', () => V.mul(x, y)],
      ['div', () => V.div(x, y)], ['abs', () => V.abs(x)], ['sign', () => V.sign(x)], ['neg', () => V.neg(x)],
      ['map', () => V.map((a) => a + 1)(x)], ['softmax', () => V.softmax(x)], ['copy', () => V.copy(x)]
    ]
    for (const [name, f] of fs) leavesInputs(t, name, [x.data, y.data], f)
  })
})

t.test('no Matrix function writes into its arguments', async (t) => {
  withDim(4, (m) => withDim(6, (n) => {
    const r = gen(43)
    const a = mat(m, n, randRows(r, 4, 6)), b = mat(m, n, randRows(r, 4, 6))
    const s = mat(n, n, randRows(r, 6, 6))
    const x = vec(n, randArr(r, 6)), y = vec(m, randArr(r, 4))
    const ins = [a.data, b.data, s.data, x.data, y.data]
    const fs: ReadonlyArray<readonly [string, () => unknown]> = [
      ['matVec', () => M.matVec(a, x)], ['matTVec', () => M.matTVec(a, y)], ['outer', () => M.outer(y, x)],
      ['transpose', () => M.transpose(a)], ['symmetryDefect', () => M.symmetryDefect(s)],
      ['isSymmetric', () => M.isSymmetric(s)], ['frobeniusDot', () => M.frobeniusDot(a, b)],
      ['addMat', () => M.addMat(a, b)], ['scaleMat', () => M.scaleMat(2, a)]
    ]
    for (const [name, f] of fs) leavesInputs(t, name, ins, f)
  }))
})

t.test('no blas wrapper writes into its arguments', async (t) => {
  withDim(5, (m) => withDim(7, (n) => {
    const r = gen(44)
    const a = mat(m, n, randRows(r, 5, 7)), s = mat(n, n, randRows(r, 7, 7))
    const x = vec(n, randArr(r, 7)), x2 = vec(n, randArr(r, 7)), y = vec(m, randArr(r, 5))
    const ins = [a.data, s.data, x.data, x2.data, y.data]
    const fs: ReadonlyArray<readonly [string, () => unknown]> = [
      ['ddot', () => B.ddot(x, x2)], ['dnrm2', () => B.dnrm2(x)], ['daxpy', () => B.daxpy(3, x, x2)],
      ['dgemv', () => B.dgemv(a, x)], ['dgemvT', () => B.dgemvT(a, y)], ['dsymv', () => B.dsymv(s, x)]
    ]
    for (const [name, f] of fs) leavesInputs(t, name, ins, f)
  }))
})

t.test('results never alias their arguments', async (t) => {
  withDim(3, (n) => {
    const x = vec(n, [1, 2, 3]), a = zerosMat(n, n)
    const outs: ReadonlyArray<Float64Array> = [
      V.add(x, x).data, V.scale(1, x).data, V.shift(x, 0).data, V.copy(x).data, V.abs(x).data, V.softmax(x).data,
      B.daxpy(0, x, x).data, M.transpose(a).data, M.scaleMat(1, a).data
    ]
    t.ok(outs.every((o) => o !== x.data && o !== a.data))
  })
})
