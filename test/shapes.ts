/**
 * Shapes: dimensions, the checked vector and matrix constructors, error paths.
 */
import t from 'tap'
import * as O from 'fp-ts/lib/Option.js'
import * as E from 'fp-ts/lib/Either.js'
import { withDim, isLength, unsafeDim } from '../src/shapes/Dim.js'
import { sameDim } from '../src/shapes/SameDim.js'
import {
  vector, withVector, unsafeVec, fromBuffer, zeros, fill, basis, generate, toArray
} from '../src/shapes/Vec.js'
import { matrix, unsafeMat, zerosMat, identity, toRows } from '../src/shapes/Mat.js'
import { shapeError, joinPath } from '../src/shapes/ShapeError.js'
import { SEEDS, SIZES, gen, randArr, randRows, rightOf, leftOf } from './helpers/foundation.js'

// -------------------------------------------------------------------------------------
// Dim
// -------------------------------------------------------------------------------------

t.test('withDim passes n to the callback and returns its result', async (t) => {
  for (const n of [0, 1, 5, 1000]) t.equal(withDim(n, (d) => (d as number) * 2), 2 * n)
})

t.test('withDim gives a fresh dimension per call, equal in value', async (t) => {
  const seen: number[] = []
  withDim(4, (a) => withDim(4, (b) => { seen.push(a, b) }))
  t.same(seen, [4, 4])
})

t.test('withDim throws a RangeError on a length that is not a non-negative integer', async (t) => {
  for (const bad of [-1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, -0.5]) {
    t.throws(() => withDim(bad, () => 0), RangeError, String(bad))
  }
  t.doesNotThrow(() => withDim(0, () => 0), '0 is a valid length')
})

t.test('isLength accepts exactly the non-negative safe integers', async (t) => {
  for (const ok of [0, 1, 7, Number.MAX_SAFE_INTEGER]) t.equal(isLength(ok), true, String(ok))
  for (const bad of [-1, 0.5, NaN, Infinity, 2 ** 53, '3', null, undefined, {}]) t.equal(isLength(bad), false, String(bad))
})

t.test('sameDim is some with identity casts when the lengths agree', async (t) => {
  withDim(3, (a) => withDim(3, (b) => {
    const p = sameDim(a, b)
    if (O.isNone(p)) return t.fail('expected some')
    t.equal(p.value.dim, a)
    const v = zeros(b)
    t.equal(p.value.vec(v), v, 'vec cast returns the same object')
    const m = zerosMat(unsafeDim<'M'>(2), b)
    t.equal(p.value.mat(m), m, 'mat cast returns the same object')
  }))
})

t.test('sameDim is none when the lengths differ', async (t) => {
  withDim(3, (a) => withDim(4, (b) => { t.ok(O.isNone(sameDim(a, b))) }))
  withDim(0, (a) => withDim(1, (b) => { t.ok(O.isNone(sameDim(a, b))) }))
})

// -------------------------------------------------------------------------------------
// ShapeError
// -------------------------------------------------------------------------------------

t.test('joinPath indexes with numbers and dots with names', async (t) => {
  t.equal(joinPath('P', 3), 'P[3]')
  t.equal(joinPath('P[3]', 1), 'P[3][1]')
  t.equal(joinPath('', 0), '[0]')
  t.equal(joinPath('', 'q'), 'q')
  t.equal(joinPath('options', 'maxIterations'), 'options.maxIterations')
  t.equal(joinPath('problems[2]', 'q'), 'problems[2].q')
})

t.test('shapeError is tagged and defaults to the empty path', async (t) => {
  t.same(shapeError('bad'), { _tag: 'ShapeError', message: 'bad', path: '' })
  t.same(shapeError('bad', 'q'), { _tag: 'ShapeError', message: 'bad', path: 'q' })
})

// -------------------------------------------------------------------------------------
// vector
// -------------------------------------------------------------------------------------

t.test('vector copies valid data entry for entry', async (t) => {
  for (const seed of SEEDS) for (const n of SIZES) {
    const xs = randArr(gen(seed, n), n)
    withDim(n, (d) => {
      const v = rightOf(vector(d, xs))
      t.equal(v.dim, n)
      t.ok(v.data instanceof Float64Array)
      t.same(Array.from(v.data), xs)
    })
  }
})

t.test('vector does not share the input buffer', async (t) => {
  const src = new Float64Array([1, 2, 3])
  withDim(3, (d) => {
    const v = rightOf(vector(d, src))
    t.not(v.data, src)
    src[0] = 99
    t.equal(v.data[0], 1)
  })
})

t.test('vector refuses a wrong length at the parent path', async (t) => {
  withDim(3, (d) => {
    for (const xs of [[], [1, 2], [1, 2, 3, 4]]) {
      const e = leftOf(vector(d, xs, 'q'))
      t.equal(e._tag, 'ShapeError')
      t.equal(e.path, 'q', `length ${xs.length}`)
      t.match(e.message, /expected 3 entries/)
    }
    t.equal(leftOf(vector(d, [1])).path, '', 'default parent is the root')
  })
})

t.test('vector refuses a non-finite or non-number entry at its index', async (t) => {
  withDim(4, (d) => {
    for (const bad of [NaN, Infinity, -Infinity, '1', undefined, null]) {
      const e = leftOf(vector(d, [0, 1, bad as number, 3], 'q'))
      t.equal(e.path, 'q[2]', String(bad))
      t.match(e.message, /finite number/)
    }
    t.equal(leftOf(vector(d, [NaN, 1, 2, 3])).path, '[0]', 'index under the root')
    t.equal(leftOf(vector(d, [0, 1, 2, NaN], 'problems[1].w')).path, 'problems[1].w[3]', 'nested parent')
    t.equal(leftOf(vector(d, [NaN, Infinity, 2, 3], 'q')).path, 'q[0]', 'first bad entry is reported')
  })
})

t.test('withVector hands a vector of the data length to the callback', async (t) => {
  for (const n of SIZES) {
    const xs = randArr(gen(5, n), n)
    t.same(withVector(xs, (v) => [v.dim, ...Array.from(v.data)]), E.right([n, ...xs]))
  }
})

t.test('withVector refuses non-finite data with its path', async (t) => {
  t.equal(leftOf(withVector([1, NaN], () => 0, 'q')).path, 'q[1]')
})

t.test('zeros, fill, basis and generate build what they say', async (t) => {
  withDim(5, (d) => {
    t.same(toArray(zeros(d)), [0, 0, 0, 0, 0])
    t.same(toArray(fill(d, 2.5)), [2.5, 2.5, 2.5, 2.5, 2.5])
    t.same(toArray(basis(d, 3)), [0, 0, 0, 1, 0])
    t.same(toArray(basis(d, 0, -2)), [-2, 0, 0, 0, 0])
    t.same(toArray(generate(d, (i) => i * i)), [0, 1, 4, 9, 16])
  })
})

t.test('unsafeVec and fromBuffer wrap the buffer without copying', async (t) => {
  const b = new Float64Array([1, 2])
  withDim(2, (d) => { t.equal(unsafeVec(d, b).data, b) })
  const v = fromBuffer(b)
  t.equal(v.data, b)
  t.equal(v.dim, 2)
})

t.test('toArray is a plain copy', async (t) => {
  withDim(2, (d) => {
    const v = rightOf(vector(d, [1, 2]))
    const a = toArray(v)
    t.ok(Array.isArray(a))
    a[0] = 9
    t.equal(v.data[0], 1)
  })
})

// -------------------------------------------------------------------------------------
// matrix
// -------------------------------------------------------------------------------------

t.test('matrix from nested rows stores them row-major', async (t) => {
  for (const seed of SEEDS) for (const [m, n] of [[1, 1], [2, 3], [3, 2], [7, 7], [0, 4], [4, 0]] as const) {
    const rows = randRows(gen(seed, 10 * m + n), m, n)
    withDim(m, (dm) => withDim(n, (dn) => {
      const a = rightOf(matrix(dm, dn, rows))
      t.equal(a.rows, m)
      t.equal(a.cols, n)
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        if (a.data[i * n + j] !== rows[i]![j]) return t.fail(`entry (${i}, ${j})`)
      }
      t.same(toRows(a), rows, `${m}×${n} seed ${seed}`)
    }))
  }
})

t.test('matrix from flat row-major data equals the nested form', async (t) => {
  const rows = randRows(gen(9), 3, 4)
  withDim(3, (m) => withDim(4, (n) => {
    const flat = rightOf(matrix(m, n, rows.flat()))
    const nested = rightOf(matrix(m, n, rows))
    t.same(Array.from(flat.data), Array.from(nested.data))
  }))
})

t.test('matrix accepts typed-array rows', async (t) => {
  withDim(2, (n) => {
    const a = rightOf(matrix(n, n, [new Float64Array([1, 2]), new Float64Array([3, 4])]))
    t.same(Array.from(a.data), [1, 2, 3, 4])
  })
})

t.test('matrix does not share the input rows', async (t) => {
  const rows = [[1, 2], [3, 4]]
  withDim(2, (n) => {
    const a = rightOf(matrix(n, n, rows))
    rows[0]![0] = 99
    t.equal(a.data[0], 1)
  })
})

t.test('matrix refuses a wrong row count at the parent path', async (t) => {
  withDim(3, (m) => withDim(2, (n) => {
    const e = leftOf(matrix(m, n, [[1, 2], [3, 4]], 'P'))
    t.equal(e.path, 'P')
    t.match(e.message, /3 rows/)
  }))
})

t.test('matrix refuses a wrong row length at the row path', async (t) => {
  withDim(2, (n) => {
    t.equal(leftOf(matrix(n, n, [[1, 2], [3]], 'P')).path, 'P[1]')
    t.equal(leftOf(matrix(n, n, [[1, 2, 0], [3, 4]], 'P')).path, 'P[0]')
    t.equal(leftOf(matrix(n, n, [[1, 2], [3, 4, 5]])).path, '[1]')
  })
})

t.test('matrix refuses a row that is not an array at the row path', async (t) => {
  withDim(2, (n) => {
    t.equal(leftOf(matrix(n, n, [[1, 2], 7] as unknown as number[][], 'P')).path, 'P[1]')
    t.equal(leftOf(matrix(n, n, [[1, 2], null] as unknown as number[][], 'P')).path, 'P[1]')
  })
})

t.test('matrix refuses a non-finite entry at [i][j] under the parent', async (t) => {
  withDim(2, (n) => {
    for (const bad of [NaN, Infinity, -Infinity, '2', undefined]) {
      const e = leftOf(matrix(n, n, [[1, 2], [bad as number, 4]], 'P'))
      t.equal(e.path, 'P[1][0]', String(bad))
      t.match(e.message, /finite number/)
    }
    t.equal(leftOf(matrix(n, n, [[1, NaN], [3, 4]])).path, '[0][1]', 'under the root')
    t.equal(leftOf(matrix(n, n, [[1, 2], [3, 4]].map((r) => r.map((v) => v === 4 ? NaN : v)), 'problems[0].P')).path,
      'problems[0].P[1][1]', 'nested parent')
  })
})

t.test('matrix refuses flat data of the wrong length or with a non-finite entry', async (t) => {
  withDim(2, (m) => withDim(3, (n) => {
    t.equal(leftOf(matrix(m, n, [1, 2, 3, 4, 5], 'A')).path, 'A')
    t.equal(leftOf(matrix(m, n, [1, 2, 3, 4, 5, NaN], 'A')).path, 'A[5]')
  }))
})

t.test('zerosMat, identity and unsafeMat build what they say', async (t) => {
  withDim(3, (n) => {
    t.same(toRows(zerosMat(n, n)), [[0, 0, 0], [0, 0, 0], [0, 0, 0]])
    t.same(toRows(identity(n)), [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    t.same(toRows(identity(n, 2)), [[2, 0, 0], [0, 2, 0], [0, 0, 2]])
    const b = new Float64Array(9)
    t.equal(unsafeMat(n, n, b).data, b)
  })
})
