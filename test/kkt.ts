/**
 * Bordered KKT solves (src/core/Kkt.ts) against references written here: Gaussian
 * elimination with partial pivoting on the full bordered matrix, the pseudo-inverse of
 * that matrix from a cyclic Jacobi eigen-decomposition (non-unique minimisers, dependent
 * rows), known solutions for the ill-conditioned cases, and independently recomputed
 * residuals and curvatures. The dense, Woodbury and PCG methods are checked against each
 * other and for the transpose law of their solution maps.
 */
import t from 'tap'
import type { Rng } from '../src/core/Random.js'
import { type KktSystem, type KktSolver, type KktHessian, kktSolver, kktApply } from '../src/core/Kkt.js'
import { SEEDS, gen, leavesInputs } from './helpers/foundation.js'
import { fromEigen, orthogonal } from './helpers/spectral.js'

const EPS = 2.220446049250313e-16

// -------------------------------------------------------------------------------------
// references
// -------------------------------------------------------------------------------------

const randn = (r: Rng, n: number, s = 1): Float64Array => Float64Array.from({ length: n }, () => s * r.normal())
const dot = (a: Float64Array, b: Float64Array): number => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s }
const normInf = (a: Float64Array): number => a.reduce((s, v) => Math.max(s, Math.abs(v)), 0)
const relErr = (got: Float64Array, want: Float64Array): number => {
  let e = 0
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i]! - want[i]!))
  const w = normInf(want)
  return w === 0 ? e : e / w
}
const cat = (a: Float64Array, b: Float64Array): Float64Array => { const c = new Float64Array(a.length + b.length); c.set(a); c.set(b, a.length); return c }

const matVec = (A: Float64Array, n: number, x: Float64Array): Float64Array => {
  const y = new Float64Array(n)
  for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j < n; j++) s += A[i * n + j]! * x[j]!; y[i] = s }
  return y
}

/** SPD with eigenvalues log-spaced from 1 to 1/cond. */
const spd = (r: Rng, n: number, cond: number): Float64Array =>
  fromEigen(orthogonal(r, n), n, Array.from({ length: n }, (_, i) => (n === 1 ? 1 : cond ** (-i / (n - 1)))))

/** B Bᵀ with B n × k normal. */
const lowRankPsd = (r: Rng, n: number, k: number): Float64Array => {
  const B = randn(r, n * k)
  const A = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0
    for (let l = 0; l < k; l++) s += B[i * k + l]! * B[j * k + l]!
    A[i * n + j] = s
  }
  return A
}

/** The full (m + k) × (m + k) bordered matrix, assembled naively from a dense H. */
const bordered = (H: Float64Array, m: number, shift: number, E: Float64Array, k: number): Float64Array => {
  const n = m + k, K = new Float64Array(n * n)
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) K[i * n + j] = H[i * m + j]! + (i === j ? shift : 0)
  for (let l = 0; l < k; l++) for (let j = 0; j < m; j++) { K[(m + l) * n + j] = E[l * m + j]!; K[j * n + m + l] = E[l * m + j]! }
  return K
}

/** Gaussian elimination with partial pivoting. */
const gepp = (K0: Float64Array, n: number, rhs: Float64Array): Float64Array => {
  const K = K0.slice(), x = rhs.slice()
  for (let j = 0; j < n; j++) {
    let p = j
    for (let i = j + 1; i < n; i++) if (Math.abs(K[i * n + j]!) > Math.abs(K[p * n + j]!)) p = i
    if (p !== j) {
      for (let c = 0; c < n; c++) { const v = K[j * n + c]!; K[j * n + c] = K[p * n + c]!; K[p * n + c] = v }
      const v = x[j]!; x[j] = x[p]!; x[p] = v
    }
    for (let i = j + 1; i < n; i++) {
      const f = K[i * n + j]! / K[j * n + j]!
      if (f === 0) continue
      for (let c = j; c < n; c++) K[i * n + c] = K[i * n + c]! - f * K[j * n + c]!
      x[i] = x[i]! - f * x[j]!
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i]!
    for (let c = i + 1; c < n; c++) s -= K[i * n + c]! * x[c]!
    x[i] = s / K[i * n + i]!
  }
  return x
}

/** Cyclic Jacobi: A = V diag(w) Vᵀ. */
const jacobiEig = (A0: Float64Array, n: number): { w: Float64Array; V: Float64Array } => {
  const A = A0.slice(), V = new Float64Array(n * n)
  for (let i = 0; i < n; i++) V[i * n + i] = 1
  let fro = 0
  for (const v of A) fro += v * v
  const negligible = 1e-17 * Math.sqrt(fro)
  for (let sweep = 0; sweep < 100; sweep++) {
    let rotated = false
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) {
      const apq = A[p * n + q]!
      // below ε‖A‖ (or next to both diagonals): no rotation
      if (Math.abs(apq) <= Math.max(negligible, 1e-18 * Math.sqrt(Math.abs(A[p * n + p]! * A[q * n + q]!)))) continue
      rotated = true
      const theta = (A[q * n + q]! - A[p * n + p]!) / (2 * apq)
      const tt = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
      const c = 1 / Math.sqrt(tt * tt + 1), s = tt * c
      for (let k = 0; k < n; k++) {
        const akp = A[k * n + p]!, akq = A[k * n + q]!
        A[k * n + p] = c * akp - s * akq; A[k * n + q] = s * akp + c * akq
      }
      for (let k = 0; k < n; k++) {
        const apk = A[p * n + k]!, aqk = A[q * n + k]!
        A[p * n + k] = c * apk - s * aqk; A[q * n + k] = s * apk + c * aqk
      }
      for (let k = 0; k < n; k++) {
        const vkp = V[k * n + p]!, vkq = V[k * n + q]!
        V[k * n + p] = c * vkp - s * vkq; V[k * n + q] = s * vkp + c * vkq
      }
    }
    if (!rotated) break
  }
  return { w: Float64Array.from({ length: n }, (_, i) => A[i * n + i]!), V }
}

/** K⁺ y, dropping eigenvalues ≤ rel · max |λ|. */
const pinvApply = (K: Float64Array, n: number, y: Float64Array, rel = 1e-10): Float64Array => {
  const { w, V } = jacobiEig(K, n)
  const wmax = normInf(w)
  const x = new Float64Array(n)
  for (let k = 0; k < n; k++) {
    if (!(Math.abs(w[k]!) > rel * wmax)) continue
    let s = 0
    for (let i = 0; i < n; i++) s += V[i * n + k]! * y[i]!
    s /= w[k]!
    for (let i = 0; i < n; i++) x[i] = x[i]! + s * V[i * n + k]!
  }
  return x
}

/** The blockwise backward error of Kkt.ts's header, recomputed here from the full K. */
const backwardError = (H: Float64Array, m: number, shift: number, E: Float64Array, k: number, b: Float64Array, c: Float64Array, x: Float64Array, nu: Float64Array): number => {
  const K = bordered(H, m, shift, E, k)
  const n = m + k
  const y = matVec(K, n, cat(x, nu))
  let rb = 0, rc = 0, nH = 0, nE = 0, nEt = 0
  for (let i = 0; i < m; i++) rb = Math.max(rb, Math.abs(b[i]! - y[i]!))
  for (let l = 0; l < k; l++) rc = Math.max(rc, Math.abs(c[l]! - y[m + l]!))
  for (let i = 0; i < m; i++) { let s = 0; for (let j = 0; j < m; j++) s += Math.abs(K[i * n + j]!); nH = Math.max(nH, s) }
  for (let l = 0; l < k; l++) { let s = 0; for (let j = 0; j < m; j++) s += Math.abs(E[l * m + j]!); nE = Math.max(nE, s) }
  for (let j = 0; j < m; j++) { let s = 0; for (let l = 0; l < k; l++) s += Math.abs(E[l * m + j]!); nEt = Math.max(nEt, s) }
  const wb = rb === 0 ? 0 : rb / (normInf(b) + nH * normInf(x) + nEt * normInf(nu))
  const wc = rc === 0 ? 0 : rc / (normInf(c) + nE * normInf(x))
  return Math.max(wb, wc)
}

/** max |K v − y| / (max row sum of |K| · ‖v‖∞): a product checked at the scale of its terms. */
const productDefect = (K: Float64Array, v: Float64Array, y: Float64Array): number => {
  const n = v.length, Kv = matVec(K, n, v)
  let e = 0, nK = 0
  for (let i = 0; i < n; i++) {
    e = Math.max(e, Math.abs(Kv[i]! - y[i]!))
    let s = 0
    for (let j = 0; j < n; j++) s += Math.abs(K[i * n + j]!)
    nK = Math.max(nK, s)
  }
  return e / (nK * normInf(v))
}

/** A dense system with k random rows of E. */
const denseSys = (H: Float64Array, m: number, E: Float64Array, k: number, shift = 0): KktSystem => ({
  H: { kind: 'dense', m, H }, ...(shift === 0 ? {} : { shift }), ...(k === 0 ? {} : { E: { k, rows: E } })
})

/** A dense H as a matrix-free operator (its exact diagonal for the preconditioner). */
const asOperator = (H: Float64Array, m: number, round?: (v: number) => number): KktHessian => ({
  kind: 'operator', m,
  diag: Float64Array.from({ length: m }, (_, i) => H[i * m + i]!),
  apply: (p, out) => {
    for (let i = 0; i < m; i++) {
      let s = 0
      for (let j = 0; j < m; j++) s += H[i * m + j]! * p[j]!
      out[i] = round === undefined ? s : round(s)
    }
  }
})

/** The transpose law of one solver: |⟨(b₂,c₂), X(b₁,c₁)⟩ − ⟨X(b₂,c₂), (b₁,c₁)⟩| relative to the product of norms. */
const transposeDefect = (s: KktSolver, r: Rng, m: number, k: number): number => {
  const b1 = randn(r, m), c1 = randn(r, k), b2 = randn(r, m), c2 = randn(r, k)
  const y1 = s.solve(b1, c1), y2 = s.solve(b2, c2)
  const l = dot(b2, y1.x) + dot(c2, y1.nu), rr = dot(y2.x, b1) + dot(y2.nu, c1)
  const scale = Math.hypot(...y1.x, ...y1.nu) * Math.hypot(...b2, ...c2) + Math.hypot(...y2.x, ...y2.nu) * Math.hypot(...b1, ...c1)
  return Math.abs(l - rr) / scale
}

/** The 0/1 pattern of a doubly-stochastic face: free cells of an n × n matrix, with row and column sum rows over them. */
const stochasticFace = (r: Rng, n: number): { m: number; k: number; E: Float64Array } => {
  const cells: Array<readonly [number, number]> = []
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i === j || (i + 1) % n === j || r.uniform() < 0.3) cells.push([i, j])
  const m = cells.length, k = 2 * n
  const E = new Float64Array(k * m)
  cells.forEach(([i, j], c) => { E[i * m + c] = 1; E[(n + j) * m + c] = 1 })
  return { m, k, E }
}

// -------------------------------------------------------------------------------------
// dense
// -------------------------------------------------------------------------------------

t.test('dense SPD with E: the solution of GEPP on the full bordered matrix, residual at rounding level', async (t) => {
  for (const seed of SEEDS) for (const [m, k] of [[1, 0], [1, 1], [3, 1], [7, 3], [16, 5], [33, 10], [60, 20]] as const) {
    const r = gen(seed, 13 * m + k)
    const H = spd(r, m, 1e2), E = randn(r, k * m)
    const b = randn(r, m), c = randn(r, k)
    const s = kktSolver(denseSys(H, m, E, k))
    const y = s.solve(b, c)
    const ref = gepp(bordered(H, m, 0, E, k), m + k, cat(b, c))
    t.ok(relErr(cat(y.x, y.nu), ref) <= 1e-10, `m=${m} k=${k} seed=${seed}`, { err: relErr(cat(y.x, y.nu), ref) })
    t.equal(s.info.method, 'cholesky')
    t.equal(s.info.rank, m, 'M full rank')
    t.equal(s.info.rowRank, k, 'E full row rank')
    const w = backwardError(H, m, 0, E, k, b, c, y.x, y.nu)
    t.ok(w <= 4 * EPS * Math.sqrt(m + k), 'independent backward error at rounding level', { w })
    t.ok(Math.abs(w - y.residual) <= 4 * EPS, 'the reported residual is the backward error', { w, reported: y.residual })
    t.equal(y.stop, 'direct')
  }
})

t.test('dense ill-conditioned H (cond 1e6, 1e8): residual at rounding level, error consistent with cond · ε', async (t) => {
  for (const cond of [1e6, 1e8]) for (const seed of SEEDS) for (const [m, k] of [[16, 0], [16, 4], [60, 12]] as const) {
    const r = gen(seed, 7 * m + k + cond)
    const H = spd(r, m, cond), E = randn(r, k * m)
    const xs = randn(r, m), ns = randn(r, k)
    const { b, c } = kktApply(denseSys(H, m, E, k), xs, ns)
    const y = kktSolver(denseSys(H, m, E, k)).solve(b, c)
    const err = relErr(cat(y.x, y.nu), cat(xs, ns))
    t.ok(err <= 10 * cond * EPS, `error cond=${cond} m=${m} k=${k}`, { err, bound: 10 * cond * EPS })
    t.ok(y.residual <= 4 * EPS, 'backward error at rounding level', { res: y.residual, refinements: y.refinements })
    t.ok(backwardError(H, m, 0, E, k, b, c, y.x, y.nu) <= 4 * EPS, 'recomputed independently')
  }
})

t.test('dense singular H with E making the minimiser unique: exact (GEPP)', async (t) => {
  for (const seed of SEEDS) for (const [m, rk, k] of [[6, 3, 3], [20, 12, 8], [40, 10, 30]] as const) {
    const r = gen(seed, m + rk + k)
    const H = lowRankPsd(r, m, rk), E = randn(r, k * m)
    const b = randn(r, m), c = randn(r, k)
    const s = kktSolver(denseSys(H, m, E, k))
    t.equal(s.info.nullity, 0, 'M positive definite')
    const y = s.solve(b, c)
    const ref = gepp(bordered(H, m, 0, E, k), m + k, cat(b, c))
    t.ok(relErr(cat(y.x, y.nu), ref) <= 1e-9, `m=${m} rank H=${rk} k=${k}`, { err: relErr(cat(y.x, y.nu), ref) })
    t.ok(y.residual <= 1e-15, 'residual', { res: y.residual })
  }
})

t.test('dense non-unique minimiser: nullity reported, x is the minimum-norm solution (pseudo-inverse of K)', async (t) => {
  for (const seed of SEEDS) for (const [m, rk, k] of [[5, 2, 1], [12, 5, 3], [30, 10, 6], [1, 0, 0]] as const) {
    const r = gen(seed, 31 * m + rk + k)
    const H = lowRankPsd(r, m, rk), E = randn(r, k * m)
    const K = bordered(H, m, 0, E, k)
    // a consistent right-hand side: K times a random vector
    const rhs = matVec(K, m + k, randn(r, m + k))
    const b = rhs.slice(0, m), c = rhs.slice(m)
    const s = kktSolver(denseSys(H, m, E, k))
    t.equal(s.info.nullity, m - rk - k, `nullity ${m - rk - k}`)
    const y = s.solve(b, c)
    const ref = pinvApply(K, m + k, rhs)
    t.ok(relErr(cat(y.x, y.nu), ref) <= 1e-8, `min-norm m=${m} rank=${rk} k=${k}`, { err: relErr(cat(y.x, y.nu), ref) })
    t.ok(y.residual <= 1e-14, 'consistent: residual small', { res: y.residual })
  }
})

t.test('dense indefinite H: info.negative with dᵀHd < 0 checked directly', async (t) => {
  for (const seed of SEEDS) for (const [m, k] of [[4, 0], [10, 2], [30, 5]] as const) {
    const r = gen(seed, m + k + 77)
    const lambda = Array.from({ length: m }, (_, i) => (i === 0 ? -1 : 1 + i))
    const Q = orthogonal(r, m)
    const H = fromEigen(Q, m, lambda)
    // rows of E orthogonal to the eigenvector of −1, so that H stays indefinite on null(E)
    const E = randn(r, k * m)
    for (let l = 0; l < k; l++) {
      let s = 0
      for (let j = 0; j < m; j++) s += E[l * m + j]! * Q[j * m]!
      for (let j = 0; j < m; j++) E[l * m + j] = E[l * m + j]! - s * Q[j * m]!
    }
    const s = kktSolver(denseSys(H, m, E, k))
    const neg = s.info.negative
    t.ok(neg !== undefined, `negative m=${m} k=${k} seed=${seed}`)
    if (neg === undefined) continue
    const d = neg.direction
    t.ok(Math.abs(dot(d, d) - 1) <= 1e-13, 'unit')
    const curv = dot(d, matVec(H, m, d))
    t.ok(curv < 0 && Math.abs(curv - neg.curvature) <= 1e-12 * m, 'dᵀ H d < 0 and as reported', { curv, reported: neg.curvature })
  }
})

t.test('dependent E rows (a doubly-stochastic face): exact x, minimum-norm ν, rowRank below k', async (t) => {
  for (const seed of SEEDS) for (const n of [2, 3, 4, 5]) {
    const r = gen(seed, n + 1000)
    const { m, k, E } = stochasticFace(r, n)
    const H = spd(r, m, 1e3)
    const K = bordered(H, m, 0, E, k)
    const b = randn(r, m)
    const c = matVec(K, m + k, cat(randn(r, m), new Float64Array(k))).slice(m) // E x₀ for a random x₀: consistent
    const s = kktSolver(denseSys(H, m, E, k))
    const ref = pinvApply(K, m + k, cat(b, c))
    t.ok(s.info.rowRank < k, `rowRank ${s.info.rowRank} < k = ${k} (n = ${n}, m = ${m})`)
    const y = s.solve(b, c)
    t.ok(relErr(y.x, ref.slice(0, m)) <= 1e-9, 'x exact', { err: relErr(y.x, ref.slice(0, m)) })
    t.ok(relErr(y.nu, ref.slice(m)) <= 1e-8, 'ν minimum-norm', { err: relErr(y.nu, ref.slice(m)) })
    t.ok(y.residual <= 1e-14, 'residual', { res: y.residual })
  }
})

t.test('the shift adds σ I to H', async (t) => {
  for (const seed of SEEDS) {
    const m = 12, k = 3, r = gen(seed, 555)
    const H = lowRankPsd(r, m, 4), E = randn(r, k * m), sigma = 0.37
    const b = randn(r, m), c = randn(r, k)
    const y = kktSolver(denseSys(H, m, E, k, sigma)).solve(b, c)
    const ref = gepp(bordered(H, m, sigma, E, k), m + k, cat(b, c))
    t.ok(relErr(cat(y.x, y.nu), ref) <= 1e-10, `seed=${seed}`)
  }
})

t.test('m = 200: dense agrees with GEPP and with known solutions', async (t) => {
  for (const seed of [1, 2]) {
    const m = 200, k = 15, r = gen(seed, 200)
    const H = spd(r, m, 1e6), E = randn(r, k * m)
    const xs = randn(r, m), ns = randn(r, k)
    const { b, c } = kktApply(denseSys(H, m, E, k), xs, ns)
    const y = kktSolver(denseSys(H, m, E, k)).solve(b, c)
    t.ok(relErr(cat(y.x, y.nu), cat(xs, ns)) <= 10 * 1e6 * EPS, 'known solution', { err: relErr(cat(y.x, y.nu), cat(xs, ns)) })
    t.ok(y.residual <= 4 * EPS, 'residual', { res: y.residual })
  }
})

t.test('the solver leaves b, c, H and E unchanged, and returns fresh arrays', async (t) => {
  const m = 8, k = 2, r = gen(9, 9)
  const H = spd(r, m, 10), E = randn(r, k * m), b = randn(r, m), c = randn(r, k)
  leavesInputs(t, 'kktSolver (dense)', [H, E], () => kktSolver(denseSys(H, m, E, k)).solve(b, c))
  const s = kktSolver(denseSys(H, m, E, k))
  leavesInputs(t, 'solve', [b, c, H, E], () => s.solve(b, c))
  const y1 = s.solve(b, c), y2 = s.solve(b, c)
  t.not(y1.x, y2.x, 'a fresh x per call')
  t.same(Array.from(y1.x), Array.from(y2.x), 'deterministic')
  const op = asOperator(H, m)
  leavesInputs(t, 'solve (pcg)', [b, c, H, E], () => kktSolver({ H: op, E: { k, rows: E } }).solve(b, c))
  const d = Float64Array.from({ length: m }, () => 1 + r.uniform()), W = randn(r, m * 2)
  leavesInputs(t, 'solve (woodbury)', [b, c, d, W, E], () => kktSolver({ H: { kind: 'diagLowRank', m, d, r: 2, W }, E: { k, rows: E } }).solve(b, c))
})

t.test('wrong lengths throw a RangeError', async (t) => {
  const H = new Float64Array([2, 0, 0, 2])
  t.throws(() => kktSolver({ H: { kind: 'dense', m: 2, H: new Float64Array(3) } }), RangeError, 'H')
  t.throws(() => kktSolver({ H: { kind: 'dense', m: 2, H }, E: { k: 1, rows: new Float64Array(1) } }), RangeError, 'E')
  t.throws(() => kktSolver({ H: { kind: 'dense', m: -1, H } }), RangeError, 'm')
  t.throws(() => kktSolver({ H: { kind: 'diagLowRank', m: 2, d: new Float64Array(2), r: 1, W: new Float64Array(1) } }), RangeError, 'W')
  t.throws(() => kktSolver({ H: { kind: 'operator', m: 2, apply: () => undefined, diag: new Float64Array(1) } }), RangeError, 'diag')
  const s = kktSolver({ H: { kind: 'dense', m: 2, H }, E: { k: 1, rows: new Float64Array([1, 1]) } })
  t.throws(() => s.solve(new Float64Array(1)), RangeError, 'b')
  t.throws(() => s.solve(new Float64Array(2), new Float64Array(0)), RangeError, 'c')
  t.ok(relErr(s.solve(new Float64Array([1, 0])).x, new Float64Array([0.25, -0.25])) <= 1e-15, 'c defaults to 0')
})

t.test('the empty system', async (t) => {
  for (const H of [
    { kind: 'dense', m: 0, H: new Float64Array(0) },
    { kind: 'diagLowRank', m: 0, d: new Float64Array(0), r: 0, W: new Float64Array(0) },
    { kind: 'operator', m: 0, diag: new Float64Array(0), apply: () => undefined }
  ] as const) {
    const y = kktSolver({ H }).solve(new Float64Array(0))
    t.equal(y.x.length, 0, H.kind)
    t.equal(y.residual, 0)
  }
})

// -------------------------------------------------------------------------------------
// the transpose law
// -------------------------------------------------------------------------------------

t.test('the solution map is symmetric for every method (dense, Woodbury, PCG)', async (t) => {
  for (const seed of SEEDS) {
    const r = gen(seed, 4242)
    // dense: SPD at cond 1e6, singular with a non-unique minimiser, dependent rows
    for (const [label, H, m, E, k] of [
      ['dense cond 1e6', spd(r, 30, 1e6), 30, randn(r, 5 * 30), 5],
      ['dense non-unique', lowRankPsd(r, 20, 6), 20, randn(r, 4 * 20), 4]
    ] as const) {
      const s = kktSolver(denseSys(H, m, E, k))
      const def = transposeDefect(s, r, m, k)
      t.ok(def <= 1e-12, `${label}`, { def })
    }
    {
      const { m, k, E } = stochasticFace(r, 4)
      const s = kktSolver(denseSys(spd(r, m, 1e2), m, E, k))
      t.ok(transposeDefect(s, r, m, k) <= 1e-12, 'dense, dependent rows')
    }
    {
      const m = 40, rk = 3, k = 4
      const d = Float64Array.from({ length: m }, () => 0.1 + r.uniform()), W = randn(r, m * rk)
      const s = kktSolver({ H: { kind: 'diagLowRank', m, d, r: rk, W }, shift: 0.2, E: { k, rows: randn(r, k * m) } })
      t.equal(s.info.method, 'woodbury')
      t.ok(transposeDefect(s, r, m, k) <= 1e-12, 'woodbury', { def: transposeDefect(s, r, m, k) })
    }
    {
      const m = 40, k = 4
      const H = spd(r, m, 1e2)
      const s = kktSolver({ H: asOperator(H, m), E: { k, rows: randn(r, k * m) } })
      t.equal(s.info.method, 'pcg')
      const def = transposeDefect(s, r, m, k)
      t.ok(def <= 1e-10, 'pcg, to its tolerance', { def })
    }
  }
})

// -------------------------------------------------------------------------------------
// Woodbury
// -------------------------------------------------------------------------------------

/** diag(d) + W Wᵀ assembled densely, naively. */
const assemble = (d: Float64Array, W: Float64Array, m: number, rk: number): Float64Array => {
  const H = new Float64Array(m * m)
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
    let s = i === j ? d[i]! : 0
    for (let a = 0; a < rk; a++) s += W[i * rk + a]! * W[j * rk + a]!
    H[i * m + j] = s
  }
  return H
}

t.test('Woodbury equals the dense solve of the assembled matrix', async (t) => {
  for (const seed of SEEDS) for (const [m, rk, k, shift] of [[1, 1, 0, 0], [5, 2, 1, 0], [30, 4, 3, 0.5], [60, 10, 12, 0], [200, 8, 6, 0]] as const) {
    const r = gen(seed, m * 3 + rk + k)
    const d = Float64Array.from({ length: m }, () => 1e-3 + r.uniform()), W = randn(r, m * rk), E = randn(r, k * m)
    const b = randn(r, m), c = randn(r, k)
    const sys: KktSystem = { H: { kind: 'diagLowRank', m, d, r: rk, W }, shift, ...(k === 0 ? {} : { E: { k, rows: E } }) }
    const s = kktSolver(sys)
    t.equal(s.info.method, 'woodbury', `m=${m} r=${rk} k=${k}`)
    t.equal(s.info.fallback, undefined, 'no fallback')
    const y = s.solve(b, c)
    const ref = kktSolver(denseSys(assemble(d, W, m, rk), m, E, k, shift)).solve(b, c)
    t.ok(relErr(cat(y.x, y.nu), cat(ref.x, ref.nu)) <= 1e-10, 'agrees with dense', { err: relErr(cat(y.x, y.nu), cat(ref.x, ref.nu)) })
    t.ok(backwardError(assemble(d, W, m, rk), m, shift, E, k, b, c, y.x, y.nu) <= 8 * EPS * Math.sqrt(m), 'backward error at rounding level')
    const kx = kktApply(sys, y.x, y.nu)
    t.ok(productDefect(bordered(assemble(d, W, m, rk), m, shift, E, k), cat(y.x, y.nu), cat(kx.b, kx.c)) <= 1e-14 * (m + k), 'kktApply of diag + low rank is the bordered product')
  }
})

t.test('Woodbury with d ≈ 0 falls back to the dense method, which is exact (singular H included)', async (t) => {
  for (const seed of SEEDS) for (const [m, rk, k, zeros] of [[10, 3, 2, 2], [20, 4, 3, 20], [16, 2, 5, 8]] as const) {
    const r = gen(seed, 3000 + m + zeros)
    const d = Float64Array.from({ length: m }, (_, i) => (i < zeros ? 1e-14 * r.uniform() : 1 + r.uniform()))
    const W = randn(r, m * rk), E = randn(r, k * m)
    const s = kktSolver({ H: { kind: 'diagLowRank', m, d, r: rk, W }, E: { k, rows: E } })
    t.equal(s.info.method, 'cholesky', 'dense ran')
    t.equal(s.info.fallback, 'smallDiagonal', 'and says why')
    const H = assemble(d, W, m, rk)
    const K = bordered(H, m, 0, E, k)
    const rhs = matVec(K, m + k, randn(r, m + k))
    const y = s.solve(rhs.slice(0, m), rhs.slice(m))
    const ref = pinvApply(K, m + k, rhs, 1e-12)
    t.ok(relErr(cat(y.x, y.nu), ref) <= 1e-7, `exact m=${m} zeros=${zeros} nullity=${s.info.nullity}`, { err: relErr(cat(y.x, y.nu), ref) })
  }
})

t.test('Woodbury with d ≈ 0 and m above denseLimit falls back to PCG', async (t) => {
  const m = 30, rk = 3, k = 2, r = gen(5, 3100)
  const d = Float64Array.from({ length: m }, (_, i) => (i === 0 ? 0 : 1 + r.uniform()))
  const W = randn(r, m * rk), E = randn(r, k * m)
  const s = kktSolver({ H: { kind: 'diagLowRank', m, d, r: rk, W }, E: { k, rows: E } }, { denseLimit: 10 })
  t.equal(s.info.method, 'pcg')
  t.equal(s.info.fallback, 'smallDiagonal')
  const b = randn(r, m), c = randn(r, k)
  const y = s.solve(b, c)
  const ref = gepp(bordered(assemble(d, W, m, rk), m, 0, E, k), m + k, cat(b, c))
  t.equal(y.stop, 'converged')
  t.ok(relErr(cat(y.x, y.nu), ref) <= 1e-9, 'agrees with GEPP', { err: relErr(cat(y.x, y.nu), ref) })
})

// -------------------------------------------------------------------------------------
// PCG
// -------------------------------------------------------------------------------------

t.test('PCG equals dense to its tolerance, and its residual is the true one', async (t) => {
  for (const seed of SEEDS) for (const [m, k, cond] of [[1, 0, 1], [7, 2, 10], [30, 5, 1e2], [60, 10, 1e3]] as const) {
    const r = gen(seed, 4000 + m + k)
    const H = spd(r, m, cond), E = randn(r, k * m)
    const b = randn(r, m), c = randn(r, k)
    const y = kktSolver({ H: asOperator(H, m), ...(k === 0 ? {} : { E: { k, rows: E } }) }).solve(b, c)
    t.equal(y.stop, 'converged', `m=${m} k=${k} cond=${cond}`)
    const w = backwardError(H, m, 0, E, k, b, c, y.x, y.nu)
    t.ok(w <= 1e-12, 'the true backward error, recomputed here, is within the tolerance', { w, reported: y.residual })
    const ref = gepp(bordered(H, m, 0, E, k), m + k, cat(b, c))
    t.ok(relErr(cat(y.x, y.nu), ref) <= 1e-12 * cond * 10 * m, 'agrees with GEPP', { err: relErr(cat(y.x, y.nu), ref) })
    const sys: KktSystem = { H: asOperator(H, m), ...(k === 0 ? {} : { E: { k, rows: E } }) }
    const kx = kktApply(sys, y.x, y.nu)
    t.ok(productDefect(bordered(H, m, 0, E, k), cat(y.x, y.nu), cat(kx.b, kx.c)) <= 1e-14 * (m + k), 'kktApply of an operator is the bordered product')
  }
})

t.test('PCG on a cond 1e6 diagonal (with and without E) converges, Jacobi-preconditioned', async (t) => {
  for (const seed of SEEDS) for (const k of [0, 3]) {
    const m = 50, r = gen(seed, 4100 + k)
    const H = new Float64Array(m * m)
    for (let i = 0; i < m; i++) H[i * m + i] = 1e6 ** (-i / (m - 1))
    const E = randn(r, k * m), b = randn(r, m), c = randn(r, k)
    const y = kktSolver({ H: asOperator(H, m), ...(k === 0 ? {} : { E: { k, rows: E } }) }).solve(b, c)
    t.equal(y.stop, 'converged', `k=${k}`)
    const ref = gepp(bordered(H, m, 0, E, k), m + k, cat(b, c))
    t.ok(relErr(cat(y.x, y.nu), ref) <= 1e-8, 'agrees with GEPP', { err: relErr(cat(y.x, y.nu), ref), iterations: y.iterations })
    t.ok(backwardError(H, m, 0, E, k, b, c, y.x, y.nu) <= 1e-12, 'true residual within tolerance')
  }
})

t.test('PCG on a dense cond 1e6 matrix reaches the true-residual tolerance', async (t) => {
  for (const seed of SEEDS) {
    const m = 40, k = 4, r = gen(seed, 4200)
    const H = spd(r, m, 1e6), E = randn(r, k * m)
    const b = randn(r, m), c = randn(r, k)
    const y = kktSolver({ H: asOperator(H, m), E: { k, rows: E } }).solve(b, c)
    const w = backwardError(H, m, 0, E, k, b, c, y.x, y.nu)
    t.equal(y.stop, 'converged', `seed=${seed} after ${y.iterations}`)
    t.ok(w <= 1e-12, 'true backward error', { w })
    const ref = gepp(bordered(H, m, 0, E, k), m + k, cat(b, c))
    t.ok(relErr(cat(y.x, y.nu), ref) <= 1e-4, 'close to GEPP (error ≲ cond · tolerance)', { err: relErr(cat(y.x, y.nu), ref) })
  }
})

t.test('PCG: a recursive residual that lies (products rounded to float32) is caught by the true-residual test', async (t) => {
  for (const seed of SEEDS) {
    const m = 40, k = 3, r = gen(seed, 4300)
    const H = spd(r, m, 1e3), E = randn(r, k * m)
    const b = randn(r, m), c = randn(r, k)
    const rounded = asOperator(H, m, Math.fround)
    let calls = 0
    const op: KktHessian = { kind: 'operator', m, diag: Float64Array.from({ length: m }, (_, i) => H[i * m + i]!), apply: (p, out) => { calls++; if (rounded.kind === 'operator') rounded.apply(p, out) } }
    // a textbook CG on the same products, stopped by its recursive residual, is fooled
    {
      const x = new Float64Array(m), res = b.slice(), p = b.slice(), q = new Float64Array(m)
      let rr = dot(res, res), claimed = false
      for (let it = 0; it < 10 * m && !claimed; it++) {
        op.kind === 'operator' && op.apply(p, q)
        const alpha = rr / dot(p, q)
        for (let i = 0; i < m; i++) { x[i] = x[i]! + alpha * p[i]!; res[i] = res[i]! - alpha * q[i]! }
        const rr2 = dot(res, res)
        claimed = normInf(res) <= 1e-13 * (normInf(b) + normInf(x) * m)
        for (let i = 0; i < m; i++) p[i] = res[i]! + (rr2 / rr) * p[i]!
        rr = rr2
      }
      const w = backwardError(H, m, 0, new Float64Array(0), 0, b, new Float64Array(0), x, new Float64Array(0))
      t.ok(claimed && w > 1e-12, 'the recursion claims convergence while the true residual is far above it', { claimed, w })
    }
    // with checks only where the recursion claims convergence
    calls = 0
    const strict = kktSolver({ H: op, E: { k, rows: E } }, { checkEvery: 1e9 }).solve(b, c)
    const w = backwardError(H, m, 0, E, k, b, c, strict.x, strict.nu)
    t.equal(strict.stop, 'stalled', `stalled at 1e-12 after ${strict.iterations} iterations, not converged`)
    t.ok(calls > strict.iterations + 1, 'fresh products beyond one per iteration: the true residual was recomputed', { calls, iterations: strict.iterations })
    t.ok(w > 1e-12, 'indeed the true residual is above 1e-12', { w })
    t.ok(strict.residual >= 0.5 * w, 'the reported residual does not understate the true one', { w, reported: strict.residual })
    // with the default checks, the same refusal
    const periodic = kktSolver({ H: op, E: { k, rows: E } }).solve(b, c)
    t.not(periodic.stop, 'converged', `default checks: ${periodic.stop}`)
    const loose = kktSolver({ H: op, E: { k, rows: E } }, { tolerance: 1e-6 }).solve(b, c)
    t.equal(loose.stop, 'converged', 'at 1e-6 it converges')
    t.ok(backwardError(H, m, 0, E, k, b, c, loose.x, loose.nu) <= 1e-6, 'with a true residual ≤ 1e-6')
  }
})

t.test('nearly dependent rows of E (relative distance 1e-7): PCG keeps E x = c to its tolerance, dense to rounding', async (t) => {
  for (const seed of SEEDS) {
    const m = 30, k = 3, r = gen(seed, 4350)
    const H = spd(r, m, 1e2)
    const E = randn(r, k * m)
    for (let j = 0; j < m; j++) E[m + j] = E[j]! + 1e-7 * E[m + j]!
    const b = randn(r, m), c = matVec(bordered(H, m, 0, E, k), m + k, cat(randn(r, m), new Float64Array(k))).slice(m)
    const y = kktSolver({ H: asOperator(H, m), E: { k, rows: E } }).solve(b, c)
    t.equal(y.stop, 'converged', `seed=${seed}`)
    t.ok(backwardError(H, m, 0, E, k, b, c, y.x, y.nu) <= 1e-12, 'true backward error (both blocks)')
    const d = kktSolver(denseSys(H, m, E, k)).solve(b, c)
    t.equal(kktSolver(denseSys(H, m, E, k)).info.rowRank, k, 'dense keeps the nearly dependent row')
    t.ok(d.residual <= 4 * EPS, 'and solves to rounding level', { res: d.residual })
    // K is ill-conditioned (≈ 1e14): PCG's 1e-12 backward error allows this much
    t.ok(relErr(y.x, d.x) <= 1e-3, 'x agrees with dense to cond(K) · tolerance', { err: relErr(y.x, d.x) })
  }
})

t.test('PCG stops on curvature with a negative direction checked through the operator', async (t) => {
  for (const seed of SEEDS) {
    const m = 20, k = 2, r = gen(seed, 4400)
    const lambda = Array.from({ length: m }, (_, i) => (i < 3 ? -1 - i : 1 + i))
    const H = fromEigen(orthogonal(r, m), m, lambda)
    const E = randn(r, k * m)
    const y = kktSolver({ H: asOperator(H, m), E: { k, rows: E } }).solve(randn(r, m), randn(r, k))
    t.equal(y.stop, 'curvature', `seed=${seed}`)
    t.ok(y.negative !== undefined, 'with a direction')
    if (y.negative === undefined) continue
    const d = y.negative.direction
    const curv = dot(d, matVec(H, m, d))
    t.ok(curv < 0 && Math.abs(curv - y.negative.curvature) <= 1e-10 * m, 'dᵀ H d < 0 as reported', { curv })
    let ed = 0
    for (let l = 0; l < k; l++) { let s = 0; for (let j = 0; j < m; j++) s += E[l * m + j]! * d[j]!; ed = Math.max(ed, Math.abs(s)) }
    t.ok(ed <= 1e-10, 'in null(E): curvature of the face', { ed })
  }
})

t.test('PCG stops at maxIterations, reporting the true residual', async (t) => {
  const m = 60, r = gen(1, 4500)
  const H = spd(r, m, 1e6), b = randn(r, m)
  const y = kktSolver({ H: asOperator(H, m) }, { maxIterations: 3 }).solve(b)
  t.equal(y.stop, 'maxIterations')
  t.equal(y.iterations, 3)
  // the operator's ‖H‖∞ is estimated from below, so the reported ω bounds the true one from above (by at most m)
  const w = backwardError(H, m, 0, new Float64Array(0), 0, b, new Float64Array(0), y.x, y.nu)
  t.ok(w <= y.residual * (1 + 1e-12) && y.residual <= m * w, 'the true residual, from a fresh product', { w, reported: y.residual })
})

t.test('PCG on a singular consistent system with G ∝ I returns the minimum-norm solution', async (t) => {
  for (const seed of SEEDS) {
    const m = 16, k = 3, r = gen(seed, 4600)
    // H = I − 1 1ᵀ/m: rank m − 1, a constant diagonal (so G ∝ I); rows of E orthogonal to 1,
    // so that null(H) ∩ null(E) = span(1) and the minimiser is not unique
    const H = new Float64Array(m * m)
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) H[i * m + j] = (i === j ? 1 : 0) - 1 / m
    const E = randn(r, k * m)
    for (let l = 0; l < k; l++) {
      let mean = 0
      for (let j = 0; j < m; j++) mean += E[l * m + j]! / m
      for (let j = 0; j < m; j++) E[l * m + j] = E[l * m + j]! - mean
    }
    const K = bordered(H, m, 0, E, k)
    const rhs = matVec(K, m + k, randn(r, m + k))
    const ref = pinvApply(K, m + k, rhs)
    const y = kktSolver({ H: asOperator(H, m), E: { k, rows: E } }).solve(rhs.slice(0, m), rhs.slice(m))
    t.equal(y.stop, 'converged', `seed=${seed}`)
    t.ok(relErr(cat(y.x, y.nu), ref) <= 1e-9, 'minimum-norm x (and ν)', { err: relErr(cat(y.x, y.nu), ref) })
    const dense = kktSolver(denseSys(H, m, E, k)).solve(rhs.slice(0, m), rhs.slice(m))
    t.ok(relErr(dense.x, ref.slice(0, m)) <= 1e-9, 'as the dense method')
  }
})

// -------------------------------------------------------------------------------------
// scales
// -------------------------------------------------------------------------------------

t.test('tiny and huge scales (H × 1e-150, 1e150): no NaN, x unchanged and ν scaled, for every method', async (t) => {
  for (const seed of SEEDS) {
    const r = gen(seed, 5000)
    const m = 20, k = 4, rk = 3
    const Hd = spd(r, m, 1e4), E = randn(r, k * m)
    const d = Float64Array.from({ length: m }, () => 0.5 + r.uniform()), W = randn(r, m * rk)
    const b = randn(r, m), c = randn(r, k)
    const make = (s: number): Array<readonly [string, KktSystem]> => [
      ['dense', denseSys(Hd.map((v) => v * s), m, E, k)],
      ['dense singular', denseSys(lowRankPsd(gen(seed, 5001), m, 8).map((v) => v * s), m, E, k)],
      ['woodbury', { H: { kind: 'diagLowRank', m, d: d.map((v) => v * s), r: rk, W: W.map((v) => v * Math.sqrt(s)) }, E: { k, rows: E } }],
      ['pcg', { H: asOperator(Hd.map((v) => v * s), m), E: { k, rows: E } }]
    ]
    const base = make(1).map(([, sys]) => kktSolver(sys).solve(b, c))
    for (const s of [1e-150, 1e150]) {
      make(s).forEach(([label, sys], i) => {
        const y = kktSolver(sys).solve(b.map((v) => v * s), c)
        const ref = base[i]!
        t.ok([...y.x, ...y.nu].every(Number.isFinite), `${label} at ${s}: finite`)
        // direct methods agree to rounding × cond; PCG to its tolerance × cond (1e4)
        const tol = label === 'pcg' ? 1e-7 : 1e-9
        t.ok(relErr(y.x, ref.x) <= tol, `${label} at ${s}: the same x`, { err: relErr(y.x, ref.x) })
        t.ok(relErr(y.nu.map((v) => v / s), ref.nu) <= tol, `${label} at ${s}: ν scaled by s`, { err: relErr(y.nu.map((v) => v / s), ref.nu) })
        t.ok(y.residual <= Math.max(1e-12, 10 * ref.residual), `${label} at ${s}: residual`, { res: y.residual })
      })
    }
  }
})

t.test('solvers of one size share their scratch without cross-talk: interleaved solves give each solver its own results, bitwise', async (t) => {
  const r = gen(SEEDS[2]!)
  for (const [m, k] of [[3, 1], [8, 2], [40, 3], [70, 2]] as const) {
    const E = randn(r, k * m)
    const systems: KktSystem[] = [
      denseSys(spd(r, m, 1e2), m, E, k),
      denseSys(spd(r, m, 1e8), m, E, k),
      denseSys(lowRankPsd(r, m, Math.max(1, m - 2)), m, randn(r, k * m), k, 0.5)
    ]
    const solvers = systems.map((s) => kktSolver(s))
    const bs = solvers.map(() => randn(r, m)), cs = solvers.map(() => randn(r, k))
    // each alone first (plain and precise), then interleaved in another order, twice
    const alone = solvers.map((s, i) => [s.solve(bs[i]!, cs[i]!), s.solve(bs[i]!, cs[i]!, true)] as const)
    for (const order of [[2, 0, 1], [1, 2, 0, 0, 2]]) {
      for (const i of order) {
        const plain = solvers[i]!.solve(bs[i]!, cs[i]!), precise = solvers[i]!.solve(bs[i]!, cs[i]!, true)
        t.same(Array.from(plain.x), Array.from(alone[i]![0].x), `m=${m} k=${k} solver ${i}: x`)
        t.same(Array.from(plain.nu), Array.from(alone[i]![0].nu), 'ν')
        t.same(Array.from(precise.x), Array.from(alone[i]![1].x), 'precise x')
        t.equal(plain.residual, alone[i]![0].residual, 'residual')
      }
    }
    // and the answers are the systems' (GEPP on the bordered matrix, the well-conditioned one)
    const H0 = (systems[0]!.H as { H: Float64Array }).H
    const ref = gepp(bordered(H0, m, 0, E, k), m + k, cat(bs[0]!, cs[0]!))
    t.ok(relErr(alone[0]![1].x, ref.subarray(0, m)) < 1e-12, `m=${m}: the solution`)
  }
})
