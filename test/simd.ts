/**
 * The dense kernels of simd.ts: the hand-assembled WebAssembly module validates, the
 * SIMD products are bitwise equal to their JavaScript fallbacks (which are the plain
 * loops up to summation order), over seeded random matrices of many sizes including odd
 * ones, and dense operators route through them.
 */
import t from 'tap'
import {
  moduleBytes, gemvLanes, gemvTLoop, denseApplyInto, denseApplyTInto, simdAvailable, streamProbe, SIMD_MIN_N
} from '../src/core/simd.js'
import { dense, lowRank, csr, toDense, faceProduct, applyInto, applyTInto, apply, applyT } from '../src/core/LinearOperator.js'
import { withDim } from '../src/shapes/Dim.js'
import { rng } from '../src/core/Random.js'

const SIZES = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 23, 24, 31, 33, 63, 64, 65, 100, 127, 129, 255, 301]

const randomArray = (seed: number, len: number): Float64Array => {
  const r = rng(seed), a = new Float64Array(len)
  for (let i = 0; i < len; i++) a[i] = r.normal()
  return a
}

const symmetricArray = (seed: number, n: number): Float64Array => {
  const r = rng(seed), a = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { const v = r.normal(); a[i * n + j] = v; a[j * n + i] = v }
  return a
}

const naive = (A: Float64Array, n: number, x: Float64Array, trans: boolean): Float64Array => {
  const y = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let j = 0; j < n; j++) s += (trans ? A[j * n + i]! : A[i * n + j]!) * x[j]!
    y[i] = s
  }
  return y
}

/** Indices where a and b differ bitwise (NaN never occurs here). */
const mismatches = (a: Float64Array, b: Float64Array): number => {
  let k = 0
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) k++
  return k + Math.abs(a.length - b.length)
}

/** max |a − b| / (Σ|A||x| row bound), the rounding-scaled error. */
const scaledErr = (a: Float64Array, b: Float64Array, A: Float64Array, n: number, x: Float64Array, trans: boolean): number => {
  let worst = 0
  for (let i = 0; i < n; i++) {
    let bound = 0
    for (let j = 0; j < n; j++) bound += Math.abs((trans ? A[j * n + i]! : A[i * n + j]!) * x[j]!)
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (bound || 1))
  }
  return worst
}

t.test('the assembled module validates and instantiates under Node', async (t) => {
  const WA = (globalThis as { readonly WebAssembly?: { validate: (b: Uint8Array) => boolean } }).WebAssembly
  t.equal(WA?.validate(moduleBytes()), true)
  t.equal(simdAvailable(), true, 'Node ≥ 20 runs wasm SIMD, so the kernels are in use')
})

t.test('gemvLanes is the plain row loop up to summation order', async (t) => {
  for (const n of SIZES) {
    const A = randomArray(10 + n, n * n), x = randomArray(20 + n, n), y = new Float64Array(n)
    gemvLanes(A, n, x, y)
    t.ok(scaledErr(y, naive(A, n, x, false), A, n, x, false) <= 4 * n * Number.EPSILON, `n = ${n}`)
  }
})

t.test('gemvTLoop is the plain transposed loop, bitwise (same order)', async (t) => {
  for (const n of SIZES) {
    const A = randomArray(30 + n, n * n), x = randomArray(40 + n, n), y = new Float64Array(n)
    gemvTLoop(A, n, x, y)
    t.equal(mismatches(y, naive(A, n, x, true)), 0, `n = ${n}`)
  }
})

t.test('the SIMD product A x is bitwise equal to gemvLanes, on every use of a matrix', async (t) => {
  for (const n of SIZES) {
    const A = randomArray(50 + n, n * n), ref = new Float64Array(n)
    for (let use = 0; use < 4; use++) {
      const x = randomArray(60 + 7 * n + use, n), y = new Float64Array(n)
      denseApplyInto(A, n, x, y)
      gemvLanes(A, n, x, ref)
      t.equal(mismatches(y, ref), 0, `n = ${n}, use ${use + 1}`)
    }
  }
})

t.test('the SIMD product Aᵀ x of a non-symmetric matrix is bitwise equal to gemvTLoop', async (t) => {
  for (const n of SIZES) {
    const A = randomArray(70 + n, n * n), ref = new Float64Array(n)
    for (let use = 0; use < 4; use++) {
      const x = randomArray(80 + 7 * n + use, n), y = new Float64Array(n)
      denseApplyTInto(A, n, x, y)
      gemvTLoop(A, n, x, ref)
      t.equal(mismatches(y, ref), 0, `n = ${n}, use ${use + 1}`)
    }
  }
})

t.test('Aᵀ x of an exactly symmetric matrix is the row product A x (n ≥ SIMD_MIN_N)', async (t) => {
  for (const n of SIZES) {
    const A = symmetricArray(90 + n, n), x = randomArray(95 + n, n)
    const y = new Float64Array(n), ref = new Float64Array(n)
    denseApplyTInto(A, n, x, y)
    denseApplyTInto(A, n, x, y)
    if (n >= SIMD_MIN_N) gemvLanes(A, n, x, ref)
    else gemvTLoop(A, n, x, ref)
    t.equal(mismatches(y, ref), 0, `n = ${n}`)
  }
})

t.test('results do not depend on interleaving products of several matrices', async (t) => {
  const ns = [17, 40, 129]
  const As = ns.map((n, k) => randomArray(100 + k, n * n))
  for (let round = 0; round < 3; round++) {
    ns.forEach((n, k) => {
      const x = randomArray(200 + 10 * round + k, n), y = new Float64Array(n), ref = new Float64Array(n)
      denseApplyInto(As[k]!, n, x, y)
      gemvLanes(As[k]!, n, x, ref)
      t.equal(mismatches(y, ref), 0, `round ${round}, n = ${n}`)
    })
  }
})

t.test('inputs are left as they were', async (t) => {
  const n = 33, A = randomArray(300, n * n), x = randomArray(301, n)
  const A0 = Float64Array.from(A), x0 = Float64Array.from(x), y = new Float64Array(n)
  for (let k = 0; k < 3; k++) { denseApplyInto(A, n, x, y); denseApplyTInto(A, n, x, y) }
  t.equal(mismatches(A, A0), 0)
  t.equal(mismatches(x, x0), 0)
})

t.test('dense operators route through the kernels (apply, applyT, …Into)', async (t) => {
  for (const n of [5, 16, 37, 120]) {
    withDim(n, (d) => {
      const data = randomArray(400 + n, n * n), x = randomArray(401 + n, n)
      const op = dense({ rows: d, cols: d, data })
      const ref = new Float64Array(n), refT = new Float64Array(n)
      gemvLanes(data, n, x, ref)
      gemvTLoop(data, n, x, refT)
      for (let use = 0; use < 3; use++) {
        const y = new Float64Array(n), yT = new Float64Array(n)
        applyInto(op, x, y)
        applyTInto(op, x, yT)
        t.equal(mismatches(y, ref), 0, `applyInto n = ${n}`)
        t.equal(mismatches(yT, refT), 0, `applyTInto n = ${n}`)
        t.equal(mismatches(apply(op, { dim: d, data: x }).data, ref), 0, `apply n = ${n}`)
        t.equal(mismatches(applyT(op, { dim: d, data: x }).data, refT), 0, `applyT n = ${n}`)
      }
    })
  }
})

t.test('the bandwidth probe reads every double once', async (t) => {
  const p = streamProbe(1000)
  t.ok(p !== undefined)
  if (p === undefined) return
  t.equal(p.bytes % 64, 0)
  t.equal(p.read(), p.bytes / 8, 'a block of ones sums to its length')
  p.release()
})

// -------------------------------------------------------------------------------------
// faceProduct (LinearOperator.ts): P_FF p without a full product
// -------------------------------------------------------------------------------------

t.test('faceProduct is the principal sub-matrix product, for every operator form and face size', async (t) => {
  for (const n of [1, 9, 40]) {
    withDim(n, (d) => {
      const r = rng(500 + n)
      const A = symmetricArray(510 + n, n)
      const rank = 3, U = randomArray(520 + n, n * rank), diag = Float64Array.from(randomArray(530 + n, n), Math.abs)
      // CSR with a repeated entry in row 0
      const rowPtr: number[] = [0], colIdx: number[] = [], values: number[] = []
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) if (r.uniform() < 0.3 || i === j) { colIdx.push(j); values.push(r.normal()) }
        if (i === 0) { colIdx.push(0); values.push(1.5) }
        rowPtr.push(colIdx.length)
      }
      const c = csr(d, rowPtr, colIdx, values)
      if (c._tag === 'Left') { t.fail(c.left.message); return }
      const ops = [['dense', dense({ rows: d, cols: d, data: A })], ['lowRank', lowRank({ dim: d, data: diag }, rank, U)], ['csr', c.right]] as const
      for (const [label, op] of ops) {
        const Pd = toDense(op).data
        for (const frac of [0, 0.1, 0.5, 1]) {
          const F: number[] = []
          for (let i = 0; i < n; i++) if (frac === 1 || r.uniform() < frac) F.push(i)
          F.reverse() // any order
          const m = F.length, p = randomArray(540 + m, m), out = new Float64Array(m)
          const H = faceProduct(op, F)
          H(p, out)
          H(p, out) // no state carried between calls
          let worst = 0
          for (let a = 0; a < m; a++) {
            let s = 0, bound = 0
            for (let b = 0; b < m; b++) { s += Pd[F[a]! * n + F[b]!]! * p[b]!; bound += Math.abs(Pd[F[a]! * n + F[b]!]! * p[b]!) }
            worst = Math.max(worst, Math.abs(out[a]! - s) / (bound || 1))
          }
          t.ok(worst <= 8 * (n + 1) * Number.EPSILON, `${label} n = ${n}, |F| = ${m}: error ${worst}`)
        }
      }
    })
  }
})

t.test('one array multiplied as two sizes gets the right product for each', async (t) => {
  const A = randomArray(600, 40 * 40)
  for (const n of [40, 20, 40, 20, 40]) {
    const x = randomArray(601 + n, n), y = new Float64Array(n), ref = new Float64Array(n)
    denseApplyInto(A, n, x, y)
    gemvLanes(A, n, x, ref)
    t.equal(mismatches(y, ref), 0, `as ${n} × ${n}`)
  }
})
