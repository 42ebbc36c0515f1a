/**
 * Linear operators (dense, diag + U Uᵀ, CSR) against dense naive references, the CSR
 * structure checks, and power iteration against the top eigenvalue from a Jacobi
 * eigensolver written here.
 */
import t from 'tap'
import { withDim, type Dim } from '../src/shapes/Dim.js'
import { zeros, fill } from '../src/shapes/Vec.js'
import { identity, zerosMat } from '../src/shapes/Mat.js'
import {
  type LinearOperator, dense, lowRank, csr, apply, applyT, applyInto, applyTInto, columnInto, diagEntry, toDense, addColumnsInto, columnDots
} from '../src/core/LinearOperator.js'
import { powerIteration } from '../src/core/PowerIteration.js'
import { dot } from '../src/core/Vector.js'
import type { Rng } from '../src/core/Random.js'
import {
  SEEDS, gen, randArr, randRows, randPsd, vec, mat, rowsOf, naiveMatVec, naiveMatTVec,
  allClose, closeTo, leftOf, rightOf, leavesInputs
} from './helpers/foundation.js'

const SIZES = [0, 1, 2, 5, 12] as const

// -------------------------------------------------------------------------------------
// references
// -------------------------------------------------------------------------------------

/** A random operator of each form and its dense naive reference (as rows). */
interface Case {
  readonly label: string
  readonly n: number
  readonly ref: number[][]
  readonly make: <N>(d: Dim<N>) => LinearOperator<N>
}

const denseCase = (r: Rng, n: number, label: string): Case => {
  const rows = randRows(r, n, n)
  return { label: `dense ${label}`, n, ref: rows, make: (d) => dense(mat(d, d, rows)) }
}

const lowRankCase = (r: Rng, n: number, rank: number, label: string): Case => {
  const d = randArr(r, n).map(Math.abs), U = randRows(r, n, rank)
  const ref = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => {
    let s = i === j ? d[i]! : 0
    for (let k = 0; k < rank; k++) s += U[i]![k]! * U[j]![k]!
    return s
  }))
  return { label: `lowRank r=${rank} ${label}`, n, ref, make: (dim) => lowRank(vec(dim, d), rank, Float64Array.from(U.flat())) }
}

/** Random sparse rows with empty rows and some duplicate (row, column) entries, which CSR sums. */
const csrParts = (r: Rng, n: number): { rowPtr: number[]; colIdx: number[]; values: number[]; ref: number[][] } => {
  const rowPtr = [0], colIdx: number[] = [], values: number[] = []
  const ref = Array.from({ length: n }, () => new Array<number>(n).fill(0))
  for (let i = 0; i < n; i++) {
    if (r.uniform() < 0.2) { rowPtr.push(colIdx.length); continue }
    for (let j = 0; j < n; j++) {
      if (r.uniform() < 0.35) {
        const v = r.normal()
        colIdx.push(j); values.push(v); ref[i]![j] = ref[i]![j]! + v
        if (r.uniform() < 0.15) { const w = r.normal(); colIdx.push(j); values.push(w); ref[i]![j] = ref[i]![j]! + w }
      }
    }
    rowPtr.push(colIdx.length)
  }
  return { rowPtr, colIdx, values, ref }
}

const csrCase = (r: Rng, n: number, label: string): Case => {
  const { rowPtr, colIdx, values, ref } = csrParts(r, n)
  return { label: `csr nnz=${values.length} ${label}`, n, ref, make: (d) => rightOf(csr(d, rowPtr, colIdx, values)) }
}

const cases = (): Case[] => {
  const out: Case[] = []
  for (const seed of SEEDS) for (const n of SIZES) {
    const r = gen(seed, n), l = `n=${n} seed=${seed}`
    out.push(denseCase(r, n, l), lowRankCase(r, n, 0, l), lowRankCase(r, n, 3, l), csrCase(r, n, l))
  }
  // a CSR matrix with duplicates on the diagonal, every row the same shape
  out.push({
    label: 'csr duplicate diagonal', n: 2, ref: [[5, 1], [0, -1]],
    make: (d) => rightOf(csr(d, [0, 3, 5], [0, 1, 0, 1, 1], [2, 1, 3, 1, -2]))
  })
  return out
}

/** All eigenvalues of a symmetric matrix by cyclic Jacobi rotations. */
const jacobiEigenvalues = (s: ReadonlyArray<ReadonlyArray<number>>): number[] => {
  const n = s.length, a = s.map((r) => r.slice())
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, tot = 0
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { tot += a[i]![j]! ** 2; if (i !== j) off += a[i]![j]! ** 2 }
    if (off <= 1e-30 * tot) break
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) {
      const apq = a[p]![q]!
      if (apq === 0) continue
      const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq)
      const tt = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
      const c = 1 / Math.sqrt(tt * tt + 1), sn = tt * c
      for (let k = 0; k < n; k++) {
        const akp = a[k]![p]!, akq = a[k]![q]!
        a[k]![p] = c * akp - sn * akq; a[k]![q] = sn * akp + c * akq
      }
      for (let k = 0; k < n; k++) {
        const apk = a[p]![k]!, aqk = a[q]![k]!
        a[p]![k] = c * apk - sn * aqk; a[q]![k] = sn * apk + c * aqk
      }
    }
  }
  return a.map((r, i) => r[i]!)
}

const topEigenvalue = (s: ReadonlyArray<ReadonlyArray<number>>): number => Math.max(0, ...jacobiEigenvalues(s))

// -------------------------------------------------------------------------------------
// the three forms against their dense references
// -------------------------------------------------------------------------------------

t.test('apply is the dense reference times x, for every form', async (t) => {
  for (const c of cases()) withDim(c.n, (d) => {
    const xs = randArr(gen(7, c.n), c.n)
    const y = apply(c.make(d), vec(d, xs))
    t.equal(y.dim, c.n)
    allClose(t, y.data, naiveMatVec(c.ref, xs), c.label)
  })
})

t.test('applyT is the dense reference transposed times x, for every form', async (t) => {
  for (const c of cases()) withDim(c.n, (d) => {
    const xs = randArr(gen(8, c.n), c.n)
    allClose(t, applyT(c.make(d), vec(d, xs)).data, naiveMatTVec(c.ref, c.n, xs), c.label)
  })
})

t.test('⟨P x, y⟩ = ⟨x, Pᵀ y⟩ for every form', async (t) => {
  for (const c of cases()) withDim(c.n, (d) => {
    const r = gen(9, c.n), op = c.make(d)
    const x = vec(d, randArr(r, c.n)), y = vec(d, randArr(r, c.n))
    closeTo(t, dot(apply(op, x), y), dot(x, applyT(op, y)), c.label, 1e-12)
  })
})

t.test('columnInto gives column j of the reference, for every form', async (t) => {
  for (const c of cases()) withDim(c.n, (d) => {
    const op = c.make(d), out = new Float64Array(c.n)
    for (let j = 0; j < c.n; j++) {
      out.fill(NaN)
      columnInto(op, j, out)
      allClose(t, out, c.ref.map((row) => row[j]!), `${c.label} column ${j}`)
    }
  })
})

t.test('addColumnsInto adds a P[:, i] + b P[:, j] and columnDots gives P[:, j]ᵀ c, for every form', async (t) => {
  for (const c of cases()) withDim(c.n, (d) => {
    if (c.n === 0) return
    const op = c.make(d), r = gen(11, c.n)
    const coef = new Float64Array(op.kind === 'lowRank' ? op.rank : 0)
    const base = randArr(r, c.n), cv = randArr(r, c.n)
    for (const [i, j] of [[0, c.n - 1], [c.n - 1, -1], [-1, 0], [0, 0]] as const) {
      const out = Float64Array.from(base)
      addColumnsInto(op, i, 1.5, j, -0.25, out, coef)
      const want = base.map((v, k) => v + (i >= 0 ? 1.5 * c.ref[k]![i]! : 0) + (j >= 0 ? -0.25 * c.ref[k]![j]! : 0))
      allClose(t, out, want, `${c.label} columns ${i}, ${j}`)
    }
    const idx = [0, c.n - 1]
    allClose(t, Float64Array.from(columnDots(op, idx, Float64Array.from(cv))), idx.map((j) => c.ref.reduce((s, row, k) => s + row[j]! * cv[k]!, 0)), `${c.label} column dots`)
  })
})

t.test('diagEntry gives the reference diagonal, for every form', async (t) => {
  for (const c of cases()) withDim(c.n, (d) => {
    const op = c.make(d)
    allClose(t, Array.from({ length: c.n }, (_, j) => diagEntry(op, j)), c.ref.map((row, j) => row[j]!), c.label)
  })
})

t.test('toDense equals the reference, for every form', async (t) => {
  for (const c of cases()) withDim(c.n, (d) => {
    const m = toDense(c.make(d))
    t.equal(m.rows, c.n); t.equal(m.cols, c.n)
    allClose(t, m.data, c.ref.flat(), c.label)
  })
})

t.test('applyInto and applyTInto overwrite a dirty output buffer', async (t) => {
  for (const c of cases()) withDim(c.n, (d) => {
    const op = c.make(d), xs = randArr(gen(10, c.n), c.n), x = Float64Array.from(xs)
    const out = new Float64Array(c.n).fill(NaN)
    applyInto(op, x, out)
    allClose(t, out, naiveMatVec(c.ref, xs), `${c.label} applyInto`)
    out.fill(1e300)
    applyTInto(op, x, out)
    allClose(t, out, naiveMatTVec(c.ref, c.n, xs), `${c.label} applyTInto`)
  })
})

t.test('applyT is right when x has zero entries (which the loops skip), for every form', async (t) => {
  for (const c of cases()) withDim(c.n, (d) => {
    const xs = randArr(gen(12, c.n), c.n).map((v, i) => (i % 2 === 0 ? 0 : v))
    allClose(t, applyT(c.make(d), vec(d, xs)).data, naiveMatTVec(c.ref, c.n, xs), c.label)
  })
})

t.test('the identity as dense and as lowRank rank 0 maps x to x', async (t) => {
  withDim(4, (d) => {
    const x = vec(d, [1, -2, 3, -4])
    t.same(Array.from(apply(dense(identity(d)), x).data), [1, -2, 3, -4])
    t.same(Array.from(apply(lowRank(fill(d, 1), 0, new Float64Array(0)), x).data), [1, -2, 3, -4])
    t.same(Array.from(apply(rightOf(csr(d, [0, 1, 2, 3, 4], [0, 1, 2, 3], [1, 1, 1, 1])), x).data), [1, -2, 3, -4])
  })
})

// -------------------------------------------------------------------------------------
// csr structure checks
// -------------------------------------------------------------------------------------

t.test('csr copies its inputs into typed arrays', async (t) => {
  const rp = [0, 1, 2], ci = [1, 0], vs = [2, 3]
  withDim(2, (d) => {
    const op = rightOf(csr(d, rp, ci, vs))
    t.ok(op.rowPtr instanceof Int32Array && op.colIdx instanceof Int32Array && op.values instanceof Float64Array)
    rp[1] = 0; ci[0] = 0; vs[0] = 99
    t.same(rowsOf(toDense(op)), [[0, 2], [3, 0]])
  })
})

t.test('csr accepts the empty operator and an all-zero one', async (t) => {
  withDim(0, (d) => t.equal(rightOf(csr(d, [0], [], [])).dim, 0))
  withDim(3, (d) => t.same(rowsOf(toDense(rightOf(csr(d, [0, 0, 0, 0], [], [])))), [[0, 0, 0], [0, 0, 0], [0, 0, 0]]))
})

t.test('csr refuses a rowPtr of the wrong length at rowPtr', async (t) => {
  withDim(2, (d) => {
    const e = leftOf(csr(d, [0, 1], [0], [1], 'P.csr'))
    t.equal(e.path, 'P.csr.rowPtr')
    t.match(e.message, /expected 3 entries/)
    t.equal(leftOf(csr(d, [0, 1, 1, 1], [0], [1])).path, 'rowPtr', 'under the root')
  })
})

t.test('csr refuses a bad rowPtr entry at its index', async (t) => {
  withDim(3, (d) => {
    const at = (rp: number[], ci = [0, 1, 2], vs = [1, 1, 1]) => leftOf(csr(d, rp, ci, vs, 'P.csr')).path
    t.equal(at([1, 1, 2, 3]), 'P.csr.rowPtr[0]', 'first entry not 0')
    t.equal(at([0, 2, 1, 3]), 'P.csr.rowPtr[2]', 'decreasing')
    t.equal(at([0, 1, 2, 2]), 'P.csr.rowPtr[3]', 'last entry not nnz')
    t.equal(at([0, 1, 4, 3]), 'P.csr.rowPtr[2]', 'past nnz')
    t.equal(at([0, 1.5, 2, 3]), 'P.csr.rowPtr[1]', 'not an integer')
    t.equal(at([0, NaN, 2, 3]), 'P.csr.rowPtr[1]', 'NaN')
    t.equal(at([0, -1, 2, 3]), 'P.csr.rowPtr[1]', 'negative')
  })
})

t.test('csr refuses a bad colIdx at its index, and a length mismatch at colIdx', async (t) => {
  withDim(3, (d) => {
    const at = (ci: number[]) => leftOf(csr(d, [0, 1, 2, 3], ci, [1, 1, 1], 'P.csr')).path
    t.equal(at([0, 3, 1]), 'P.csr.colIdx[1]', 'equal to n')
    t.equal(at([0, 1, -1]), 'P.csr.colIdx[2]', 'negative')
    t.equal(at([0.5, 1, 2]), 'P.csr.colIdx[0]', 'not an integer')
    t.equal(at([0, 1]), 'P.csr.colIdx', 'one per value')
  })
})

t.test('csr refuses a non-finite value at its index', async (t) => {
  withDim(2, (d) => {
    for (const bad of [NaN, Infinity, -Infinity, '1']) {
      t.equal(leftOf(csr(d, [0, 1, 2], [0, 1], [1, bad as number], 'P.csr')).path, 'P.csr.values[1]', String(bad))
    }
  })
})

// -------------------------------------------------------------------------------------
// purity
// -------------------------------------------------------------------------------------

t.test('no operator function writes into the operator or its input vector', async (t) => {
  for (const c of cases().filter((c) => c.n === 12)) withDim(c.n, (d) => {
    const op = c.make(d), x = vec(d, randArr(gen(11, c.n), c.n))
    const bufs = [x.data, ...(op.kind === 'dense' ? [op.mat.data] : op.kind === 'lowRank' ? [op.diag.data, op.U] : [op.rowPtr, op.colIdx, op.values])]
    const out = new Float64Array(c.n)
    const fs: ReadonlyArray<readonly [string, () => unknown]> = [
      ['apply', () => apply(op, x)], ['applyT', () => applyT(op, x)], ['applyInto', () => applyInto(op, x.data, out)],
      ['applyTInto', () => applyTInto(op, x.data, out)], ['columnInto', () => columnInto(op, 3, out)],
      ['diagEntry', () => diagEntry(op, 3)], ['toDense', () => toDense(op)], ['powerIteration', () => powerIteration(op)]
    ]
    for (const [name, f] of fs) leavesInputs(t, `${c.label} ${name}`, bufs, f)
  })
})

// -------------------------------------------------------------------------------------
// power iteration
// -------------------------------------------------------------------------------------

t.test('the Jacobi reference is right: trace and Frobenius norm are kept, diagonal input is exact', async (t) => {
  for (const seed of SEEDS) {
    const s = randPsd(gen(seed, 8), 8)
    const ev = jacobiEigenvalues(s)
    closeTo(t, ev.reduce((a, b) => a + b, 0), s.reduce((a, r, i) => a + r[i]!, 0), `trace seed=${seed}`, 1e-12)
    closeTo(t, ev.reduce((a, b) => a + b * b, 0), s.flat().reduce((a, b) => a + b * b, 0), `‖·‖F² seed=${seed}`, 1e-12)
  }
  t.same(jacobiEigenvalues([[3, 0], [0, 5]]), [3, 5])
  allClose(t, jacobiEigenvalues([[2, 1], [1, 2]]).sort(), [1, 3], '[[2, 1], [1, 2]]', 1e-15)
})

/** Random PSD problems of every form, with their dense references. */
const psdCases = (): Case[] => {
  const out: Case[] = []
  for (const seed of SEEDS) for (const n of [1, 2, 5, 12, 20]) {
    const r = gen(seed, n), l = `n=${n} seed=${seed}`
    const s = randPsd(r, n)
    out.push({ label: `dense B Bᵀ ${l}`, n, ref: s, make: (d) => dense(mat(d, d, s)) })
    out.push(lowRankCase(r, n, Math.min(3, n), l))
  }
  for (const n of [3, 10]) {
    // the path-graph Laplacian (2 on the diagonal, −1 beside it), a sparse PSD matrix
    const rowPtr = [0], colIdx: number[] = [], values: number[] = []
    const ref = Array.from({ length: n }, () => new Array<number>(n).fill(0))
    for (let i = 0; i < n; i++) {
      for (const [j, v] of [[i - 1, -1], [i, 2], [i + 1, -1]] as const) {
        if (j >= 0 && j < n) { colIdx.push(j); values.push(v); ref[i]![j] = v }
      }
      rowPtr.push(colIdx.length)
    }
    out.push({ label: `csr path Laplacian n=${n}`, n, ref, make: (d) => rightOf(csr(d, rowPtr, colIdx, values)) })
  }
  return out
}

t.test('powerIteration run long converges to the top eigenvalue of a PSD operator', async (t) => {
  for (const c of psdCases()) withDim(c.n, (d) => {
    const res = powerIteration(c.make(d), { tolerance: 1e-12, maxIterations: 20000 })
    closeTo(t, res.value, topEigenvalue(c.ref), c.label, 1e-9)
  })
})

t.test('powerIteration matches the closed form 2 + 2 cos(π/(n+1)) of the path Laplacian', async (t) => {
  for (const c of psdCases().filter((c) => c.label.startsWith('csr'))) withDim(c.n, (d) => {
    closeTo(t, powerIteration(c.make(d), { tolerance: 1e-13, maxIterations: 20000 }).value, 2 + 2 * Math.cos(Math.PI / (c.n + 1)), c.label, 1e-9)
  })
})

t.test('powerIteration never exceeds the top eigenvalue (‖P v‖ ≤ λmax for unit v)', async (t) => {
  for (const c of psdCases()) withDim(c.n, (d) => {
    const top = topEigenvalue(c.ref)
    for (const maxIterations of [1, 2, 5, 100]) {
      const v = powerIteration(c.make(d), { maxIterations }).value
      t.ok(v <= top * (1 + 1e-12), `${c.label} K=${maxIterations}`, { v, top })
    }
  })
})

t.test('powerIteration with the defaults is within 5% of the top eigenvalue', async (t) => {
  for (const c of psdCases()) withDim(c.n, (d) => {
    const top = topEigenvalue(c.ref), res = powerIteration(c.make(d))
    t.ok(res.value >= 0.95 * top, c.label, { value: res.value, top })
  })
})

t.test('powerIteration stops within maxIterations', async (t) => {
  for (const c of psdCases()) withDim(c.n, (d) => {
    const op = c.make(d)
    t.ok(powerIteration(op).iterations <= 100, `${c.label} default 100`)
    for (const maxIterations of [1, 3, 7]) {
      t.ok(powerIteration(op, { maxIterations }).iterations <= maxIterations, `${c.label} K=${maxIterations}`)
      t.equal(powerIteration(op, { maxIterations, tolerance: 0 }).iterations, maxIterations, `${c.label} K=${maxIterations}, tolerance 0 runs them all`)
    }
  })
})

t.test('powerIteration of a scaled identity is the scale', async (t) => {
  withDim(6, (d) => {
    const res = powerIteration(dense(identity(d, 3)))
    closeTo(t, res.value, 3, 'value', 1e-15)
    t.ok(res.iterations <= 2, 'converges at once')
  })
})

t.test('powerIteration stops at once when ‖P v‖ overflows', async (t) => {
  withDim(3, (d) => {
    const big = [1e308, 1e308, 1e308]
    const res = powerIteration(dense(mat(d, d, [big, big, big])))
    t.equal(res.iterations, 1, 'no further iterations')
    t.equal(res.value, Infinity, 'the overflow is reported, not hidden')
  })
})

t.test('powerIteration of the zero operator is 0, in every form', async (t) => {
  withDim(4, <N>(d: Dim<N>) => {
    const ops: ReadonlyArray<LinearOperator<N>> = [
      dense(zerosMat(d, d)), lowRank(zeros(d), 0, new Float64Array(0)), lowRank(zeros(d), 2, new Float64Array(8)),
      rightOf(csr(d, [0, 0, 0, 0, 0], [], []))
    ]
    for (const op of ops) {
      const res = powerIteration(op)
      t.equal(res.value, 0, op.kind)
      t.ok(res.iterations >= 1 && res.iterations <= 100, `${op.kind} iterations`)
    }
  })
  withDim(0, (d) => t.equal(powerIteration(dense(zerosMat(d, d))).value, 0, 'n = 0'))
})
