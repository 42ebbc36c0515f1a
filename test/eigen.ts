/**
 * eigSym and svd: the decomposition laws (A V = V Λ, VᵀV = I, U S Vᵀ = A, orthonormal
 * factors, order), eigenvalues against a naive two-sided Jacobi written here, singular
 * values against eigSym of AᵀA and against matrices built with known singular values
 * (including graded ones, where one-sided Jacobi keeps relative accuracy), repeated
 * eigenvalues, rank deficiency, scales 1e±150, the sign convention and the refusals.
 */
import t from 'tap'
import { eigSym, eigSymFirst, svd } from '../src/core/Eigen.js'
import { rng, type Rng } from '../src/core/Random.js'
import { leavesInputs } from './helpers/foundation.js'

// -------------------------------------------------------------------------------------
// references
// -------------------------------------------------------------------------------------

const randn = (r: Rng, n: number, s = 1): Float64Array => Float64Array.from({ length: n }, () => s * r.normal())

const randSym = (r: Rng, m: number): Float64Array => {
  const A = new Float64Array(m * m)
  for (let i = 0; i < m; i++) for (let j = 0; j <= i; j++) { const x = r.normal(); A[i * m + j] = x; A[j * m + i] = x }
  return A
}

/** A random m × n matrix with orthonormal columns (modified Gram–Schmidt, twice). */
const randOrtho = (r: Rng, m: number, n: number): Float64Array => {
  const Q = randn(r, m * n)
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < j; k++) {
        let s = 0
        for (let i = 0; i < m; i++) s += Q[i * n + k]! * Q[i * n + j]!
        for (let i = 0; i < m; i++) Q[i * n + j] = Q[i * n + j]! - s * Q[i * n + k]!
      }
      let s = 0
      for (let i = 0; i < m; i++) s += Q[i * n + j]! ** 2
      s = Math.sqrt(s)
      for (let i = 0; i < m; i++) Q[i * n + j] = Q[i * n + j]! / s
    }
  }
  return Q
}

/** X diag(d) Yᵀ for X (m × p), Y (n × p), row-major. */
const compose = (X: Float64Array, d: ArrayLike<number>, Y: Float64Array, m: number, n: number, p: number): Float64Array => {
  const A = new Float64Array(m * n)
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0
    for (let k = 0; k < p; k++) s += X[i * p + k]! * d[k]! * Y[j * p + k]!
    A[i * n + j] = s
  }
  return A
}

const maxAbs = (a: ArrayLike<number>): number => { let s = 0; for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(a[i]!)); return s }

/** max |QᵀQ − I| for Q (m × p). */
const orthErr = (Q: Float64Array, m: number, p: number): number => {
  let e = 0
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) {
    let s = 0
    for (let i = 0; i < m; i++) s += Q[i * p + a]! * Q[i * p + b]!
    e = Math.max(e, Math.abs(s - (a === b ? 1 : 0)))
  }
  return e
}

/** max |A V − V Λ| / max |A|. */
const eigResidual = (A: Float64Array, m: number, values: Float64Array, V: Float64Array): number => {
  let e = 0
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
    let s = 0
    for (let k = 0; k < m; k++) s += A[i * m + k]! * V[k * m + j]!
    e = Math.max(e, Math.abs(s - values[j]! * V[i * m + j]!))
  }
  const a = maxAbs(A)
  return a === 0 ? e : e / a
}

/** The eigenvalues by the textbook cyclic two-sided Jacobi method, sorted ascending. */
const jacobiEigenvalues = (A0: Float64Array, m: number): number[] => {
  const A = Float64Array.from(A0)
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0
    for (let p = 0; p < m; p++) for (let q = p + 1; q < m; q++) off += A[p * m + q]! ** 2
    if (off === 0) break
    for (let p = 0; p < m; p++) for (let q = p + 1; q < m; q++) {
      const apq = A[p * m + q]!
      if (apq === 0) continue
      const theta = (A[q * m + q]! - A[p * m + p]!) / (2 * apq)
      const tt = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
      const c = 1 / Math.sqrt(tt * tt + 1), s = tt * c
      for (let k = 0; k < m; k++) {
        const akp = A[k * m + p]!, akq = A[k * m + q]!
        A[k * m + p] = c * akp - s * akq
        A[k * m + q] = s * akp + c * akq
      }
      for (let k = 0; k < m; k++) {
        const apk = A[p * m + k]!, aqk = A[q * m + k]!
        A[p * m + k] = c * apk - s * aqk
        A[q * m + k] = s * apk + c * aqk
      }
    }
  }
  return Array.from({ length: m }, (_, i) => A[i * m + i]!).sort((a, b) => a - b)
}

const ascending = (x: Float64Array): boolean => x.every((v, i) => i === 0 || x[i - 1]! <= v)
const descending = (x: Float64Array): boolean => x.every((v, i) => i === 0 || x[i - 1]! >= v)

/** Whether, in every column of the row-major m × p matrix, the first largest-magnitude entry is positive. */
const signsFixed = (Q: Float64Array, m: number, p: number): boolean => {
  for (let j = 0; j < p; j++) {
    let best = -1, at = 0
    for (let i = 0; i < m; i++) if (Math.abs(Q[i * p + j]!) > best) { best = Math.abs(Q[i * p + j]!); at = i }
    if (Q[at * p + j]! < 0) return false
  }
  return true
}

/** max |A − U S Vᵀ| / max |A|. */
const svdResidual = (A: Float64Array, rows: number, cols: number, d: { s: Float64Array; U: Float64Array; V: Float64Array }): number => {
  const p = Math.min(rows, cols)
  const R = compose(d.U, d.s, d.V, rows, cols, p)
  let e = 0
  for (let i = 0; i < A.length; i++) e = Math.max(e, Math.abs(A[i]! - R[i]!))
  const a = maxAbs(A)
  return a === 0 ? e : e / a
}

// -------------------------------------------------------------------------------------
// eigSym
// -------------------------------------------------------------------------------------

t.test('eigSym: A V = V Λ and VᵀV = I to 1e-13 relative, values ascending, on random symmetric matrices', async (t) => {
  const r = rng(1)
  for (const m of [1, 2, 3, 5, 10, 25, 60]) {
    const A = randSym(r, m)
    const { values, vectors } = eigSym(A, m)
    t.ok(eigResidual(A, m, values, vectors) <= 1e-13, `m = ${m}: A V = V Λ`, { res: eigResidual(A, m, values, vectors) })
    t.ok(orthErr(vectors, m, m) <= 1e-13, `m = ${m}: VᵀV = I`, { err: orthErr(vectors, m, m) })
    t.ok(ascending(values), `m = ${m}: ascending`)
  }
})

t.test('eigSym: eigenvalues agree with a naive two-sided Jacobi to 1e-13·‖A‖', async (t) => {
  const r = rng(2)
  for (const m of [2, 4, 9, 20]) {
    const A = randSym(r, m)
    const want = jacobiEigenvalues(A, m)
    const got = eigSym(A, m).values
    const scale = Math.max(...want.map(Math.abs))
    const err = Math.max(...want.map((w, i) => Math.abs(w - got[i]!)))
    t.ok(err <= 1e-13 * scale, `m = ${m}`, { err })
  }
})

t.test('eigSym: repeated eigenvalues (built as Q Λ Qᵀ, the identity, all-ones, zero)', async (t) => {
  const r = rng(3)
  const m = 12
  const lam = [1, 1, 1, 1, 2, 2, 2, -3, -3, 5, 5, 5]
  const Q = randOrtho(r, m, m)
  const cases: Array<[string, Float64Array, number[]]> = [
    ['Q Λ Qᵀ', compose(Q, lam, Q, m, m, m), [...lam].sort((a, b) => a - b)],
    ['identity', compose(new Float64Array(m * m).map((_, k) => (k % (m + 1) === 0 ? 1 : 0)), new Array(m).fill(4), new Float64Array(m * m).map((_, k) => (k % (m + 1) === 0 ? 1 : 0)), m, m, m), new Array(m).fill(4)],
    ['all-ones', new Float64Array(m * m).fill(1), [...new Array(m - 1).fill(0), m]],
    ['zero', new Float64Array(m * m), new Array(m).fill(0)]
  ]
  for (const [name, A, want] of cases) {
    const { values, vectors } = eigSym(A, m)
    const err = Math.max(...want.map((w, i) => Math.abs(w - values[i]!)))
    t.ok(err <= 1e-13 * Math.max(1, maxAbs(want)), `${name}: values`, { err })
    t.ok(eigResidual(A, m, values, vectors) <= 1e-13, `${name}: A V = V Λ`)
    t.ok(orthErr(vectors, m, m) <= 1e-13, `${name}: VᵀV = I`)
  }
})

t.test('eigSym: a diagonal matrix gives its sorted diagonal exactly and permutation vectors', async (t) => {
  const d = [3, -1, 0, 7, -1, 2.5]
  const m = d.length
  const A = new Float64Array(m * m)
  d.forEach((x, i) => { A[i * m + i] = x })
  const { values, vectors } = eigSym(A, m)
  t.same(Array.from(values), [...d].sort((a, b) => a - b))
  t.ok(Array.from(vectors).every((x) => x === 0 || x === 1), 'unit vectors')
})

t.test('eigSym: m = 0 and m = 1', async (t) => {
  const z = eigSym(new Float64Array(0), 0)
  t.same([z.values.length, z.vectors.length], [0, 0])
  const o = eigSym(Float64Array.from([-2.5]), 1)
  t.same([Array.from(o.values), Array.from(o.vectors)], [[-2.5], [1]])
})

t.test('eigSym: scales 1e-150 and 1e150 keep the relative accuracy; powers of two scale exactly', async (t) => {
  const r = rng(4)
  const m = 15
  const A = randSym(r, m)
  const base = eigSym(A, m)
  for (const s of [1e-150, 1e150, 1e-300, 1e300]) {
    const As = A.map((x) => x * s)
    const { values, vectors } = eigSym(As, m)
    t.ok(values.every((v, i) => Math.abs(v / s - base.values[i]!) <= 1e-13 * maxAbs(base.values)), `${s}: values scale`)
    t.ok(eigResidual(As, m, values, vectors) <= 1e-13, `${s}: A V = V Λ`)
    t.ok(orthErr(vectors, m, m) <= 1e-13, `${s}: VᵀV = I`)
  }
  for (const k of [-950, -500, 7, 1000]) {
    const { values, vectors } = eigSym(A.map((x) => x * 2 ** k), m)
    t.ok(values.every((v, i) => v === base.values[i]! * 2 ** k), `2^${k}: values exactly`)
    t.same(Array.from(vectors), Array.from(base.vectors), `2^${k}: vectors identical`)
  }
})

t.test('eigSym: ill-conditioned and graded matrices stay backward stable', async (t) => {
  const r = rng(5)
  const m = 20
  const Q = randOrtho(r, m, m)
  const lam = Array.from({ length: m }, (_, i) => 10 ** (-i))
  const A = compose(Q, lam, Q, m, m, m)
  const g = new Float64Array(m * m)
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) g[i * m + j] = (i === j ? 1 : 0.5) * 10 ** (-(i + j) / 2)
  for (const [name, M] of [['condition 1e19', A], ['graded', g]] as const) {
    const { values, vectors } = eigSym(M, m)
    t.ok(eigResidual(M, m, values, vectors) <= 1e-13, `${name}: A V = V Λ`)
    t.ok(orthErr(vectors, m, m) <= 1e-13, `${name}: VᵀV = I`)
  }
  const got = eigSym(A, m).values
  t.ok(Math.abs(got[m - 1]! - 1) <= 1e-14, 'the largest eigenvalue')
})

t.test('eigSym: only the lower triangle is read', async (t) => {
  const r = rng(6)
  const m = 8
  const A = randSym(r, m)
  const B = Float64Array.from(A)
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) B[i * m + j] = 1e3 * r.normal()
  B[1] = NaN
  const a = eigSym(A, m), b = eigSym(B, m)
  t.same(Array.from(b.values), Array.from(a.values))
  t.same(Array.from(b.vectors), Array.from(a.vectors))
})

t.test('eigSym: every eigenvector has its largest-magnitude entry positive', async (t) => {
  const r = rng(7)
  for (const m of [3, 10, 30]) t.ok(signsFixed(eigSym(randSym(r, m), m).vectors, m, m), `m = ${m}`)
})

t.test('eigSym: a decoupled block 1e-200 times smaller keeps its own relative accuracy', async (t) => {
  const r = rng(8)
  const S = randSym(r, 4)
  const m = 6
  const A = new Float64Array(m * m)
  A[0] = 1
  A[1 * m + 1] = -2
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) A[(i + 2) * m + (j + 2)] = 1e-200 * S[i * 4 + j]!
  const small = jacobiEigenvalues(S, 4)
  const got = Array.from(eigSym(A, m).values).filter((x) => Math.abs(x) < 1e-100)
  const rel = Math.max(...small.map((w, i) => Math.abs(got[i]! / 1e-200 - w) / Math.max(...small.map(Math.abs))))
  t.ok(got.length === 4 && rel <= 1e-13, 'the tiny eigenvalues', { rel })
})

t.test('eigSymFirst: the values of eigSym and the magnitudes of the first row of its vectors', async (t) => {
  const r = rng(9)
  for (const m of [0, 1, 2, 7, 30]) {
    const A = randSym(r, m)
    const full = eigSym(A, m), part = eigSymFirst(A, m)
    t.same(Array.from(part.values), Array.from(full.values), `m = ${m}: values identical`)
    const err = Math.max(0, ...Array.from(part.first, (x, j) => Math.abs(x - Math.abs(full.vectors[j]!))))
    t.ok(err <= 1e-14, `m = ${m}: first components`, { err })
  }
  const { values, first } = eigSymFirst(Float64Array.from([2, 1, 1, 2]), 2)
  t.ok(Math.abs(values[0]! - 1) < 1e-15 && Math.abs(values[1]! - 3) < 1e-15 && first.every((x) => Math.abs(x - Math.SQRT1_2) < 1e-15), 'the 2 × 2 example')
  t.throws(() => eigSymFirst(Float64Array.from([1, 0, NaN, 1]), 2), { name: 'RangeError', message: /eigSymFirst: A\[1\]\[0\]/ })
})

// -------------------------------------------------------------------------------------
// svd
// -------------------------------------------------------------------------------------

const SHAPES: ReadonlyArray<readonly [number, number]> = [[1, 1], [1, 6], [6, 1], [2, 2], [3, 50], [50, 3], [20, 20], [40, 25], [25, 40]]

t.test('svd: U S Vᵀ = A, orthonormal U and V, s descending ≥ 0, on random matrices of many shapes', async (t) => {
  const r = rng(11)
  for (const [rows, cols] of SHAPES) {
    const A = randn(r, rows * cols)
    const d = svd(A, rows, cols)
    const p = Math.min(rows, cols)
    t.same([d.s.length, d.U.length, d.V.length], [p, rows * p, cols * p], `${rows}×${cols}: shapes`)
    t.ok(svdResidual(A, rows, cols, d) <= 1e-13, `${rows}×${cols}: U S Vᵀ = A`, { res: svdResidual(A, rows, cols, d) })
    t.ok(orthErr(d.U, rows, p) <= 1e-13 && orthErr(d.V, cols, p) <= 1e-13, `${rows}×${cols}: orthonormal`)
    t.ok(descending(d.s) && d.s[p - 1]! >= 0, `${rows}×${cols}: descending`)
    t.ok(signsFixed(d.V, cols, p), `${rows}×${cols}: signs`)
  }
})

t.test('svd: s² agrees with eigSym(AᵀA) on well-conditioned matrices', async (t) => {
  const r = rng(12)
  for (const [rows, cols] of [[30, 20], [12, 12], [9, 4]] as const) {
    const A = randn(r, rows * cols)
    const G = new Float64Array(cols * cols)
    for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) {
      let s = 0
      for (let k = 0; k < rows; k++) s += A[k * cols + i]! * A[k * cols + j]!
      G[i * cols + j] = s
    }
    const lam = Array.from(eigSym(G, cols).values).reverse()
    const { s } = svd(A, rows, cols)
    const err = Math.max(...lam.map((l, i) => Math.abs(s[i]! ** 2 - l) / lam[0]!))
    t.ok(err <= 1e-13, `${rows}×${cols}`, { err })
  }
})

t.test('svd: known singular values, including graded ones down to 1e-20 (relative accuracy)', async (t) => {
  const r = rng(13)
  const rows = 30, cols = 12
  const X = randOrtho(r, rows, cols), Y = randOrtho(r, cols, cols)
  const flat = Array.from({ length: cols }, (_, i) => 12 - i)
  const sharp = Array.from({ length: cols }, (_, i) => 10 ** (-2 * i))
  const a = svd(compose(X, flat, Y, rows, cols, cols), rows, cols)
  t.ok(flat.every((w, i) => Math.abs(a.s[i]! - w) <= 1e-13 * 12), 'flat spectrum')
  // A = X D with X orthonormal columns: the singular values are D's, each to relative ε-level.
  const XD = new Float64Array(rows * cols)
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) XD[i * cols + j] = X[i * cols + j]! * sharp[j]!
  const b = svd(XD, rows, cols)
  const rel = Math.max(...sharp.map((w, i) => Math.abs(b.s[i]! - w) / w))
  t.ok(rel <= 1e-13, 'graded X·D: every singular value to 1e-13 relative', { rel })
  t.ok(orthErr(b.U, rows, cols) <= 1e-13 && orthErr(b.V, cols, cols) <= 1e-13, 'graded: orthonormal factors')
})

t.test('svd: columns 1e-100 … 1e-250 times the others keep their singular values to 1e-13 relative', async (t) => {
  const r = rng(19)
  const rows = 10, cols = 5
  const X = randOrtho(r, rows, cols)
  const d = [1, 1e-100, 1e-200, 1e-250, 3e-300]
  const A = new Float64Array(rows * cols)
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) A[i * cols + j] = X[i * cols + j]! * d[j]!
  const got = svd(A, rows, cols)
  const rel = Math.max(...d.map((w, i) => Math.abs(got.s[i]! - w) / w))
  t.ok(rel <= 1e-13, 'relative accuracy', { rel })
  t.ok(orthErr(got.U, rows, cols) <= 1e-13 && orthErr(got.V, cols, cols) <= 1e-13, 'orthonormal factors')
})

t.test('svd: rank-deficient and zero matrices give zero singular values and still orthonormal factors', async (t) => {
  const r = rng(14)
  const rows = 20, cols = 15
  const X = randn(r, rows * 3), Y = randn(r, cols * 3)
  const cases: Array<[string, Float64Array, number]> = [
    ['rank 3', compose(X, [1, 1, 1], Y, rows, cols, 3), 3],
    ['zero', new Float64Array(rows * cols), 0],
    ['one nonzero entry', new Float64Array(rows * cols).map((_, k) => (k === 17 ? -2 : 0)), 1],
    ['two nonzero columns', new Float64Array(rows * cols).map((_, k) => (k % cols === 4 ? 1 + (k % 7) : k % cols === 9 ? k % 5 : 0)), 2]
  ]
  for (const [name, A, rank] of cases) {
    for (const [m, n, M] of [[rows, cols, A], [cols, rows, transpose(A, rows, cols)]] as const) {
      const d = svd(M, m, n)
      const p = Math.min(m, n)
      t.ok(d.s.slice(rank).every((x) => x <= 1e-14 * Math.max(1, d.s[0]!)), `${name} ${m}×${n}: zero tail`)
      t.ok(rank === 0 || d.s[rank - 1]! > 1e-3, `${name} ${m}×${n}: nonzero head`)
      t.ok(orthErr(d.U, m, p) <= 1e-13 && orthErr(d.V, n, p) <= 1e-13, `${name} ${m}×${n}: orthonormal`)
      t.ok(svdResidual(M, m, n, d) <= 1e-13, `${name} ${m}×${n}: U S Vᵀ = A`)
    }
  }
})

const transpose = (A: Float64Array, rows: number, cols: number): Float64Array => {
  const T = new Float64Array(A.length)
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) T[j * rows + i] = A[i * cols + j]!
  return T
}

t.test('svd: scales 1e-150 and 1e150 (and 1e±300); powers of two scale exactly', async (t) => {
  const r = rng(15)
  const rows = 14, cols = 9
  const A = randn(r, rows * cols)
  const base = svd(A, rows, cols)
  for (const s of [1e-150, 1e150, 1e-300, 1e300]) {
    const As = A.map((x) => x * s)
    const d = svd(As, rows, cols)
    t.ok(d.s.every((v, i) => Math.abs(v / s - base.s[i]!) <= 1e-13 * base.s[0]!), `${s}: s scales`)
    t.ok(svdResidual(As, rows, cols, d) <= 1e-13, `${s}: U S Vᵀ = A`)
  }
  for (const k of [-950, -300, 5, 1010]) {
    const d = svd(A.map((x) => x * 2 ** k), rows, cols)
    t.ok(d.s.every((v, i) => v === base.s[i]! * 2 ** k), `2^${k}: s exactly`)
    t.same(Array.from(d.U), Array.from(base.U), `2^${k}: U identical`)
  }
})

t.test('svd: the transpose gives the same singular values and swapped factors', async (t) => {
  const r = rng(16)
  const A = randn(r, 7 * 11)
  const a = svd(A, 7, 11), b = svd(transpose(A, 7, 11), 11, 7)
  t.ok(a.s.every((x, i) => Math.abs(x - b.s[i]!) <= 1e-14 * a.s[0]!), 'values')
  // Up to the sign convention (fixed on V), U of one is V of the other.
  for (let j = 0; j < 7; j++) {
    let dot = 0
    for (let i = 0; i < 7; i++) dot += a.U[i * 7 + j]! * b.V[i * 7 + j]!
    t.ok(Math.abs(Math.abs(dot) - 1) <= 1e-12, `column ${j}`)
  }
})

t.test('svd: empty shapes', async (t) => {
  for (const [rows, cols] of [[0, 0], [0, 4], [3, 0]] as const) {
    const d = svd(new Float64Array(0), rows, cols)
    t.same([d.s.length, d.U.length, d.V.length], [0, 0, 0], `${rows}×${cols}`)
  }
})

// -------------------------------------------------------------------------------------
// refusals and purity
// -------------------------------------------------------------------------------------

t.test('non-finite entries and wrong sizes are refused with a RangeError', async (t) => {
  t.throws(() => eigSym(Float64Array.from([1, 0, Infinity, 1]), 2), { name: 'RangeError', message: /A\[1\]\[0\]/ })
  t.throws(() => eigSym(new Float64Array(3), 2), RangeError)
  t.throws(() => eigSym(new Float64Array(0), -1), RangeError)
  t.throws(() => svd(Float64Array.from([1, NaN, 3, 4, 5, 6]), 2, 3), { name: 'RangeError', message: /A\[0\]\[1\]/ })
  t.throws(() => svd(new Float64Array(5), 2, 3), RangeError)
  t.throws(() => svd(new Float64Array(0), 1.5, 0), RangeError)
})

t.test('eigSym and svd leave their arguments unchanged', async (t) => {
  const r = rng(17)
  const A = randSym(r, 9), B = randn(r, 6 * 4)
  leavesInputs(t, 'eigSym', [A], () => eigSym(A, 9))
  leavesInputs(t, 'svd', [B], () => svd(B, 6, 4))
})
