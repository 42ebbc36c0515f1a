/**
 * The dense kernels of simd.ts: the hand-assembled WebAssembly module validates, the
 * SIMD products (one row or four rows per pass, transposed, batched) are bitwise equal to
 * their JavaScript fallbacks (which are the plain loops up to summation order), over
 * seeded random matrices of many sizes including odd ones; a batch's rows are bitwise the
 * single products; a write into a matrix between calls (or outside any call) is always
 * seen; and dense operators route through the kernels.
 */
import t from 'tap'
import {
  moduleBytes, gemvLanes, gemvTLoop, gemvLanesBatch, gemvTLoopBatch, denseApplyInto, denseApplyTInto, denseApplyBatchInto,
  denseApplyTBatchInto, isSymmetric, RESIDENT_BUDGET, arenaBytes, absRowSumsLanes, denseAbsRowSumsInto, denseSymmetricExactly, BAND_BYTES, simdAvailable, streamProbe, kernelProbe, beginCall, endCall, inCallNow, SIMD_MIN_N, FOUR_ROWS_BYTES
} from '../src/core/simd.js'
import { dfwLayer } from '../src/fw/Layer.js'
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

t.test('the bandwidth probes read every double once (one stream and four)', { skip: !simdAvailable() && 'no SIMD (DFW_NO_SIMD=1)' }, async (t) => {
  for (const streams of [1, 4] as const) {
    const p = streamProbe(1000, streams)
    t.ok(p !== undefined)
    if (p === undefined) return
    t.equal(p.bytes % 256, 0)
    t.equal(p.read(), p.bytes / 8, `${streams} stream(s): a block of ones sums to its length`)
    p.release()
  }
})

// -------------------------------------------------------------------------------------
// the kernels one by one (on a copy already in the kernels' memory)
// -------------------------------------------------------------------------------------

t.test('one row per pass, four rows per pass and the transposed kernel each agree bitwise with their loop, at every size', { skip: !simdAvailable() && 'no SIMD (DFW_NO_SIMD=1)' }, async (t) => {
  for (const n of SIZES) {
    const A = randomArray(700 + n, n * n), x = randomArray(701 + n, n)
    const k = kernelProbe(A, n)
    if (k === undefined) { t.fail('no SIMD'); return }
    const y = new Float64Array(n), ref = new Float64Array(n), refT = new Float64Array(n)
    gemvLanes(A, n, x, ref)
    gemvTLoop(A, n, x, refT)
    k.apply('gemv', x, y)
    t.equal(mismatches(y, ref), 0, `gemv n = ${n}`)
    k.apply('gemv4', x, y)
    t.equal(mismatches(y, ref), 0, `gemv4 n = ${n}`)
    k.apply('gemvT', x, y)
    t.equal(mismatches(y, refT), 0, `gemvT n = ${n}`)
    k.release()
  }
})

t.test('the row sums of |A| (kernel, four-row kernel, JavaScript) agree bitwise and are the plain sums up to rounding; a NaN or Infinity spoils its row only', async (t) => {
  const big = Math.ceil(Math.sqrt(FOUR_ROWS_BYTES / 8)) + 1 // the four-row kernel
  for (const n of [...SIZES, big]) {
    const A = randomArray(760 + n, n * n)
    const ref = new Float64Array(n), y = new Float64Array(n).fill(NaN)
    absRowSumsLanes(A, n, ref)
    beginCall()
    denseAbsRowSumsInto(A, n, y)
    endCall()
    t.equal(mismatches(y, ref), 0, `n = ${n}: kernel = loop, bitwise`)
    let worst = 0
    for (let i = 0; i < n; i++) {
      let s = 0
      for (let j = 0; j < n; j++) s += Math.abs(A[i * n + j]!)
      worst = Math.max(worst, Math.abs(s - ref[i]!) / (s || 1))
      if (ref[i]! < 0) worst = Infinity
    }
    t.ok(worst <= n * 2.3e-16, `n = ${n}: the plain sums to rounding (${worst.toExponential(1)})`)
  }
  const n = 40, A = randomArray(770, n * n), y = new Float64Array(n)
  A[3 * n + 17] = NaN
  A[9 * n + 39] = -Infinity
  beginCall()
  denseAbsRowSumsInto(A, n, y)
  endCall()
  t.ok(Number.isNaN(y[3]) && y[9] === Infinity, 'the rows holding NaN and −Infinity are NaN and +Infinity')
  t.equal(y.filter((v) => Number.isFinite(v)).length, n - 2, 'every other row finite')
})

t.test('denseSymmetricExactly: the kernels\' exact verdict, in and out of calls, following writes', async (t) => {
  for (const n of [3, 15, 16, 33, 100]) {
    const A = symmetricArray(780 + n, n)
    t.equal(denseSymmetricExactly(A, n), true, `n = ${n}: symmetric, outside a call`)
    beginCall()
    t.equal(denseSymmetricExactly(A, n), true, `n = ${n}: symmetric, in a call`)
    endCall()
    A[(n - 1) * n + 1] = A[(n - 1) * n + 1]! + 2 ** -40
    t.equal(denseSymmetricExactly(A, n), false, `n = ${n}: one entry nudged by 2⁻⁴⁰ is seen`)
    beginCall()
    t.equal(denseSymmetricExactly(A, n), false, `n = ${n}: nudged, in the next call`)
    endCall()
    A[n + n - 1] = A[(n - 1) * n + 1]!
    beginCall()
    t.equal(denseSymmetricExactly(A, n), true, `n = ${n}: its mirror written too: symmetric again`)
    endCall()
  }
})

t.test('the symmetry check (kernel and JavaScript) finds a single asymmetric pair anywhere, and passes symmetric matrices', async (t) => {
  for (const n of [1, 2, 17, 31, 32, 33, 64, 65, 100]) {
    const A = symmetricArray(720 + n, n)
    const k = kernelProbe(A, n)
    t.equal(isSymmetric(A, n), true, `n = ${n}: symmetric (JS)`)
    if (simdAvailable()) t.equal(k?.symmetric(), true, `n = ${n}: symmetric (kernel)`)
    k?.release()
    const r = rng(721 + n)
    for (let trial = 0; trial < 6 && n > 1; trial++) {
      // the pair (i, j), i ≠ j, with one side nudged; the corners and tile edges among them
      const corner = [[0, n - 1], [n - 1, 0], [0, 1], [Math.min(31, n - 1), Math.min(32, n - 1)]][trial]
      let i = corner?.[0] ?? Math.floor(r.uniform() * n), j = corner?.[1] ?? Math.floor(r.uniform() * n)
      if (i === j) j = (i + 1) % n
      const B = Float64Array.from(A)
      B[i * n + j] = B[i * n + j]! + 1
      const kb = kernelProbe(B, n)
      t.equal(isSymmetric(B, n), false, `n = ${n}, (${i}, ${j}) nudged: not symmetric (JS)`)
      if (simdAvailable()) t.equal(kb?.symmetric(), false, `n = ${n}, (${i}, ${j}) nudged: not symmetric (kernel)`)
      kb?.release()
    }
    if (n > 1) {
      const Z = symmetricArray(722 + n, n)
      Z[1] = 0; Z[n] = -0
      t.equal(isSymmetric(Z, n), true, `n = ${n}: +0 against −0 counts as equal`)
      const kz = kernelProbe(Z, n)
      if (simdAvailable()) t.equal(kz?.symmetric(), true, `n = ${n}: +0 against −0 (kernel)`)
      kz?.release()
    }
  }
})

t.test('a matrix of FOUR_ROWS_BYTES or more (the four-row kernel) gives the bitwise product and transposed product', async (t) => {
  const n = Math.ceil(Math.sqrt(FOUR_ROWS_BYTES / 8)) + 3 // odd row and column counts past the threshold
  const A = randomArray(710, n * n), ref = new Float64Array(n), y = new Float64Array(n)
  for (let use = 0; use < 2; use++) {
    const x = randomArray(711 + use, n)
    denseApplyInto(A, n, x, y)
    gemvLanes(A, n, x, ref)
    t.equal(mismatches(y, ref), 0, `A x, use ${use + 1}`)
    denseApplyTInto(A, n, x, y)
    gemvTLoop(A, n, x, ref)
    t.equal(mismatches(y, ref), 0, `Aᵀ x, use ${use + 1}`)
  }
})

// -------------------------------------------------------------------------------------
// writes into a matrix: the resident copy is never stale
// -------------------------------------------------------------------------------------

const rewrite = (A: Float64Array, seed: number): void => { A.set(randomArray(seed, A.length)) }

t.test('a matrix of FOUR_ROWS_BYTES or more (its copy is compared, not retaken): a write at either end is seen, and so is a broken or restored symmetry', async (t) => {
  const n = Math.ceil(Math.sqrt(FOUR_ROWS_BYTES / 8)) + 2
  const A = symmetricArray(730, n), x = randomArray(731, n), y = new Float64Array(n), ref = new Float64Array(n)
  const check = (label: string, symmetric: boolean): void => {
    beginCall()
    denseApplyInto(A, n, x, y)
    gemvLanes(A, n, x, ref)
    t.equal(mismatches(y, ref), 0, `${label}: A x`)
    denseApplyTInto(A, n, x, y)
    if (symmetric) gemvLanes(A, n, x, ref)
    else gemvTLoop(A, n, x, ref)
    t.equal(mismatches(y, ref), 0, `${label}: Aᵀ x (${symmetric ? 'the row product' : 'the transposed loop'})`)
    endCall()
  }
  check('symmetric', true)
  check('unchanged', true)
  A[n * n - 2] = A[n * n - 2]! + 1 // A[n−1, n−2] only
  check('the last row written', false)
  A[(n - 2) * n + n - 1] = A[n * n - 2]!
  check('symmetric again', true)
  A[0] = A[0]! * 2 // the diagonal: still symmetric, a different product
  check('the first entry written', true)
})

t.test('outside a call, a write into the matrix between products is seen by the next product (bitwise the loop on the new values)', async (t) => {
  t.equal(inCallNow(), false)
  for (const n of [16, 33, 100]) {
    const A = randomArray(800 + n, n * n), x = randomArray(801 + n, n), y = new Float64Array(n), ref = new Float64Array(n)
    for (let round = 0; round < 4; round++) {
      denseApplyInto(A, n, x, y)
      denseApplyInto(A, n, x, y)
      gemvLanes(A, n, x, ref)
      t.equal(mismatches(y, ref), 0, `n = ${n}, round ${round}: A x`)
      denseApplyTInto(A, n, x, y)
      gemvTLoop(A, n, x, ref)
      t.equal(mismatches(y, ref), 0, `n = ${n}, round ${round}: Aᵀ x`)
      rewrite(A, 802 + 10 * n + round)
    }
  }
})

t.test('the one-shot apply and applyT of a dense operator see a write into its matrix', async (t) => {
  for (const n of [20, 64]) {
    withDim(n, (d) => {
      const data = randomArray(850 + n, n * n), x = randomArray(851 + n, n)
      const op = dense({ rows: d, cols: d, data })
      const ref = new Float64Array(n), refT = new Float64Array(n)
      for (let round = 0; round < 3; round++) {
        apply(op, { dim: d, data: x })
        applyT(op, { dim: d, data: x })
        rewrite(data, 852 + 10 * n + round)
        gemvLanes(data, n, x, ref)
        gemvTLoop(data, n, x, refT)
        t.equal(mismatches(apply(op, { dim: d, data: x }).data, ref), 0, `n = ${n}, round ${round}: apply`)
        t.equal(mismatches(applyT(op, { dim: d, data: x }).data, refT), 0, `n = ${n}, round ${round}: applyT`)
      }
    })
  }
})

t.test('a write between two calls is seen by the second call, with or without endCall', async (t) => {
  const n = 40, A = randomArray(810, n * n), x = randomArray(811, n), y = new Float64Array(n), ref = new Float64Array(n)
  for (const close of [true, false]) {
    for (let round = 0; round < 3; round++) {
      beginCall()
      for (let k = 0; k < 3; k++) denseApplyInto(A, n, x, y)
      gemvLanes(A, n, x, ref)
      t.equal(mismatches(y, ref), 0, `${close ? 'endCall' : 'no endCall'}, round ${round}: the call's product`)
      if (close) endCall()
      rewrite(A, 812 + round + (close ? 0 : 100))
    }
  }
  endCall()
})

t.test('within a call the first copy serves every product (the inputs must not change during a call)', { skip: !simdAvailable() && 'no SIMD (DFW_NO_SIMD=1): no copy' }, async (t) => {
  const n = 40, A = randomArray(820, n * n), x = randomArray(821, n), y = new Float64Array(n), before = new Float64Array(n)
  beginCall()
  denseApplyInto(A, n, x, before)
  A[0] = A[0]! + 1 // outside the contract: shows that the call kept its copy
  denseApplyInto(A, n, x, y)
  t.equal(mismatches(y, before), 0, 'the copy taken at the call\'s first product')
  endCall()
  denseApplyInto(A, n, x, y)
  const ref = new Float64Array(n)
  gemvLanes(A, n, x, ref)
  t.equal(mismatches(y, ref), 0, 'after the call, the array as it is')
})

t.test('a call ends by itself at the end of the synchronous job', async (t) => {
  beginCall()
  t.equal(inCallNow(), true)
  await Promise.resolve()
  t.equal(inCallNow(), false)
})

t.test('the symmetry flag follows writes: symmetric made non-symmetric and back, between calls and outside them', async (t) => {
  const n = 33, x = randomArray(830, n), y = new Float64Array(n), ref = new Float64Array(n)
  const A = symmetricArray(831, n)
  for (const inCalls of [false, true]) {
    A.set(symmetricArray(831, n))
    const step = (label: string, symmetric: boolean): void => {
      if (inCalls) beginCall()
      denseApplyTInto(A, n, x, y)
      denseApplyTInto(A, n, x, y)
      if (symmetric) gemvLanes(A, n, x, ref)
      else gemvTLoop(A, n, x, ref)
      t.equal(mismatches(y, ref), 0, `${inCalls ? 'calls' : 'no call'}: ${label}`)
      if (inCalls) endCall()
    }
    step('symmetric: the row product', true)
    A[1] = A[1]! + 0.5 // A[0, 1] ≠ A[1, 0]
    step('written non-symmetric: the transposed loop', false)
    A[1] = A[n]!
    step('symmetric again: the row product', true)
  }
})

t.test('a layer solve after an in-place write into P answers for the new P (as a fresh copy of it does)', async (t) => {
  const n = 24
  withDim(n, (d) => {
    const r = rng(840)
    const M = randomArray(841, n * n), data = new Float64Array(n * n)
    const fill = (shift: number): void => {
      // P = MᵀM/n + shift·I, symmetric positive definite
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        let s = 0
        for (let k = 0; k < n; k++) s += M[k * n + i]! * M[k * n + j]!
        data[i * n + j] = s / n + (i === j ? shift : 0)
      }
    }
    const q = { dim: d, data: Float64Array.from({ length: n }, () => r.normal()) }
    const layer = dfwLayer({ schedule: 'default', backward: 'implicit' })
    fill(0.1)
    const first = layer({ P: dense({ rows: d, cols: d, data }), q, t: 1 })
    fill(3)
    const again = layer({ P: dense({ rows: d, cols: d, data }), q, t: 1 })
    const fresh = layer({ P: dense({ rows: d, cols: d, data: Float64Array.from(data) }), q, t: 1 })
    t.equal(mismatches(again.x.data, fresh.x.data), 0, 'x as for a fresh copy of the new P')
    t.ok(Object.is(again.gap, fresh.gap) && Object.is(again.objective, fresh.objective), 'and the same certificate')
    t.ok(mismatches(again.x.data, first.x.data) > 0, 'which differs from the old P\'s x')
  })
})

// -------------------------------------------------------------------------------------
// batches
// -------------------------------------------------------------------------------------

const BATCHES = [0, 1, 2, 3, 4, 5, 7]

t.test('a batch Y = X Aᵀ: each row is bitwise the single product of its instance', async (t) => {
  for (const n of [1, 7, 16, 17, 33, 64, 100, 129]) {
    const A = randomArray(900 + n, n * n)
    for (const B of BATCHES) {
      const X = randomArray(901 + 13 * n + B, B * n), Y = new Float64Array(B * n), one = new Float64Array(n)
      denseApplyBatchInto(A, n, X, B, Y)
      let bad = 0
      for (let b = 0; b < B; b++) {
        denseApplyInto(A, n, X.subarray(b * n, b * n + n), one)
        bad += mismatches(Y.subarray(b * n, b * n + n), one)
      }
      t.equal(bad, 0, `n = ${n}, B = ${B}`)
      const ref = new Float64Array(B * n)
      gemvLanesBatch(A, n, X, B, ref)
      t.equal(mismatches(Y, ref), 0, `n = ${n}, B = ${B}: the JavaScript batch`)
    }
  }
})

t.test('a batch Y = X A: each row is bitwise the single transposed product, for non-symmetric and symmetric A', async (t) => {
  for (const n of [1, 7, 16, 17, 33, 64, 100, 129]) {
    for (const sym of [false, true]) {
      const A = sym ? symmetricArray(910 + n, n) : randomArray(910 + n, n * n)
      for (const B of BATCHES) {
        const X = randomArray(911 + 13 * n + B, B * n), Y = new Float64Array(B * n), one = new Float64Array(n)
        denseApplyTBatchInto(A, n, X, B, Y)
        let bad = 0
        for (let b = 0; b < B; b++) {
          denseApplyTInto(A, n, X.subarray(b * n, b * n + n), one)
          bad += mismatches(Y.subarray(b * n, b * n + n), one)
        }
        t.equal(bad, 0, `${sym ? 'symmetric' : 'non-symmetric'} n = ${n}, B = ${B}`)
        if (!sym || n < SIMD_MIN_N) {
          const ref = new Float64Array(B * n)
          gemvTLoopBatch(A, n, X, B, ref)
          t.equal(mismatches(Y, ref), 0, `${sym ? 'symmetric' : 'non-symmetric'} n = ${n}, B = ${B}: the JavaScript batch`)
        }
      }
    }
  }
})

t.test('a batch with A of BAND_BYTES or more (multiplied band by band): each row is bitwise the single product', async (t) => {
  const n = Math.ceil(Math.sqrt(BAND_BYTES / 8)) + 8 + ((Math.ceil(Math.sqrt(BAND_BYTES / 8)) + 1) % 2) // odd, past the threshold
  const A = randomArray(930, n * n)
  for (const B of [1, 2, 3, 5]) {
    const X = randomArray(931 + B, B * n), Y = new Float64Array(B * n), ref = new Float64Array(B * n)
    denseApplyBatchInto(A, n, X, B, Y)
    gemvLanesBatch(A, n, X, B, ref)
    t.equal(mismatches(Y, ref), 0, `n = ${n}, B = ${B}`)
  }
})

t.test('a batch leaves its inputs as they were and sees writes into A between calls', async (t) => {
  const n = 37, B = 5, A = randomArray(920, n * n), X = randomArray(921, B * n)
  const A0 = Float64Array.from(A), X0 = Float64Array.from(X), Y = new Float64Array(B * n), ref = new Float64Array(B * n)
  denseApplyBatchInto(A, n, X, B, Y)
  denseApplyTBatchInto(A, n, X, B, Y)
  t.equal(mismatches(A, A0), 0, 'A')
  t.equal(mismatches(X, X0), 0, 'X')
  for (let round = 0; round < 3; round++) {
    beginCall()
    denseApplyBatchInto(A, n, X, B, Y)
    gemvLanesBatch(A, n, X, B, ref)
    t.equal(mismatches(Y, ref), 0, `round ${round}: X Aᵀ`)
    denseApplyTBatchInto(A, n, X, B, Y)
    gemvTLoopBatch(A, n, X, B, ref)
    t.equal(mismatches(Y, ref), 0, `round ${round}: X A`)
    endCall()
    rewrite(A, 922 + round)
  }
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

t.test('fresh matrices call after call do not fill the arena: copies unused in the current call are given up past RESIDENT_BUDGET, oldest first, and a matrix whose copy was given up is copied again (bitwise the same products)', { skip: !simdAvailable() && 'no SIMD (DFW_NO_SIMD=1): no copies' }, async (t) => {
  const n = 1024, bytes = 8 * n * n
  const keep: Float64Array[] = [] // all alive: only the budget, not the collector, frees copies
  const x = randomArray(790, n), y = new Float64Array(n), ref = new Float64Array(n)
  let worst = 0
  for (let c = 0; c < Math.ceil((2 * RESIDENT_BUDGET) / bytes); c++) {
    const A = new Float64Array(n * n).fill(1 + c / 64)
    A[c] = -c // no two alike
    keep.push(A)
    beginCall()
    denseApplyInto(A, n, x, y)
    endCall()
    worst = Math.max(worst, arenaBytes())
  }
  t.ok(worst <= RESIDENT_BUDGET + bytes, `at most the budget and one more matrix held (${(worst / 2 ** 20).toFixed(0)} MiB of ${keep.length * 8} MiB handed over)`)
  // the first matrix's copy was given up: its next product copies it again
  beginCall()
  denseApplyInto(keep[0]!, n, x, y)
  denseApplyInto(keep[1]!, n, x, ref) // two copies in this call, both kept while it lasts
  endCall()
  const r0 = new Float64Array(n), r1 = new Float64Array(n)
  gemvLanes(keep[0]!, n, x, r0)
  gemvLanes(keep[1]!, n, x, r1)
  t.equal(mismatches(y, r0), 0, 'a matrix copied again multiplies bitwise as before')
  t.equal(mismatches(ref, r1), 0, 'and so does the next one')
})
