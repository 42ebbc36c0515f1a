/**
 * Double-double arithmetic for the outside reference (test/helpers/ddReference.ts): a
 * number is an unevaluated sum hi + lo of two doubles with |lo| ≤ ulp(hi)/2, about 32
 * significant digits. The error-free transformations are Knuth's two-sum and Dekker's
 * two-product (by splitting, since JavaScript has no fused multiply-add).
 *
 * Scalars are `[hi, lo]` pairs; vectors and matrices are a pair of Float64Arrays (`DDVec`,
 * row-major for matrices) so that the O(m³) elimination allocates nothing per entry.
 *
 * Nothing here comes from the library: it is the independent side of the check. Excluded
 * from tap's run by package.json.
 */

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** A double-double scalar: hi + lo. */
export type DD = readonly [number, number]

/** A double-double vector (or a row-major matrix): entry i is h[i] + l[i]. */
export interface DDVec {
  readonly h: Float64Array
  readonly l: Float64Array
}

// -------------------------------------------------------------------------------------
// error-free transformations (results in the module's two registers, to avoid allocation)
// -------------------------------------------------------------------------------------

let RH = 0
let RL = 0

const SPLIT = 134217729 // 2^27 + 1

/** RH + RL = a · b exactly (Dekker); |a|, |b| < 2^996. */
const twoProd = (a: number, b: number): void => {
  const p = a * b
  let c = SPLIT * a
  const ah = c - (c - a), al = a - ah
  c = SPLIT * b
  const bh = c - (c - b), bl = b - bh
  RH = p
  RL = ((ah * bh - p) + ah * bl + al * bh) + al * bl
}

/** (ah + al) + (bh + bl), accurately (the "IEEE" double-double sum). */
const addInto = (ah: number, al: number, bh: number, bl: number): void => {
  let s = ah + bh
  let bb = s - ah
  let e = (ah - (s - bb)) + (bh - bb)
  const t = al + bl
  bb = t - al
  const f = (al - (t - bb)) + (bl - bb)
  e += t
  let h = s + e
  e = e - (h - s)
  s = h
  e += f
  h = s + e
  RL = e - (h - s)
  RH = h
}

/** (ah + al) · (bh + bl). */
const mulInto = (ah: number, al: number, bh: number, bl: number): void => {
  twoProd(ah, bh)
  const p = RH
  const e = RL + (ah * bl + al * bh)
  const h = p + e
  RL = e - (h - p)
  RH = h
}

/** (ah + al) / (bh + bl): the double quotient and two corrections from exact remainders. */
const divInto = (ah: number, al: number, bh: number, bl: number): void => {
  const q1 = ah / bh
  mulInto(q1, 0, bh, bl)
  addInto(ah, al, -RH, -RL)
  const rh = RH, rl = RL
  const q2 = rh / bh
  mulInto(q2, 0, bh, bl)
  addInto(rh, rl, -RH, -RL)
  const q3 = RH / bh
  addInto(q1, 0, q2, 0)
  addInto(RH, RL, q3, 0)
}

// -------------------------------------------------------------------------------------
// scalars
// -------------------------------------------------------------------------------------

/** A double as a double-double. */
export const dd = (x: number): DD => [x, 0]

/** a + b. */
export const add = (a: DD, b: DD): DD => { addInto(a[0], a[1], b[0], b[1]); return [RH, RL] }
/** a − b. */
export const sub = (a: DD, b: DD): DD => { addInto(a[0], a[1], -b[0], -b[1]); return [RH, RL] }
/** a · b. */
export const mul = (a: DD, b: DD): DD => { mulInto(a[0], a[1], b[0], b[1]); return [RH, RL] }
/** a / b. */
export const div = (a: DD, b: DD): DD => { divInto(a[0], a[1], b[0], b[1]); return [RH, RL] }
/** −a. */
export const neg = (a: DD): DD => [-a[0], -a[1]]
/** |a|. */
export const abs = (a: DD): DD => (a[0] < 0 || (a[0] === 0 && a[1] < 0) ? [-a[0], -a[1]] : a)
/** The sign of a (−1, 0, 1). */
export const sign = (a: DD): number => (a[0] > 0 ? 1 : a[0] < 0 ? -1 : a[1] > 0 ? 1 : a[1] < 0 ? -1 : 0)
/** a rounded to the nearest double. */
export const toNumber = (a: DD): number => a[0] + a[1]

/** √a for a ≥ 0 (one Newton step from the double square root). */
export const sqrt = (a: DD): DD => {
  if (a[0] <= 0) return [0, 0]
  const s = Math.sqrt(a[0])
  // s + (a − s²)/(2s)
  twoProd(s, s)
  addInto(a[0], a[1], -RH, -RL)
  const c = RH / (2 * s)
  addInto(s, 0, c, 0)
  return [RH, RL]
}

// -------------------------------------------------------------------------------------
// vectors
// -------------------------------------------------------------------------------------

/** A zero vector (or matrix) of length n. */
export const zeros = (n: number): DDVec => ({ h: new Float64Array(n), l: new Float64Array(n) })

/** Doubles as a double-double vector (copied). */
export const fromDoubles = (x: ArrayLike<number>): DDVec => ({ h: Float64Array.from(x), l: new Float64Array(x.length) })

/** Rounds to doubles. */
export const toDoubles = (x: DDVec): Float64Array => Float64Array.from(x.h, (h, i) => h + x.l[i]!)

/** Entry i. */
export const at = (x: DDVec, i: number): DD => [x.h[i]!, x.l[i]!]

/** x[i] ← v. */
export const put = (x: DDVec, i: number, v: DD): void => { x.h[i] = v[0]; x.l[i] = v[1] }

/** Σ aᵢ bᵢ over i ∈ [0, n), in double-double. */
export const dotDD = (a: DDVec, b: DDVec, n = a.h.length): DD => {
  let sh = 0, sl = 0
  for (let i = 0; i < n; i++) {
    mulInto(a.h[i]!, a.l[i]!, b.h[i]!, b.l[i]!)
    addInto(sh, sl, RH, RL)
    sh = RH; sl = RL
  }
  return [sh, sl]
}

/** y = A x for a row-major n × n double-double matrix. */
export const matVecDD = (A: DDVec, x: DDVec, n: number): DDVec => {
  const y = zeros(n)
  for (let i = 0; i < n; i++) {
    let sh = 0, sl = 0
    const r = i * n
    for (let j = 0; j < n; j++) {
      const xh = x.h[j]!
      if (xh === 0 && x.l[j] === 0) continue
      mulInto(A.h[r + j]!, A.l[r + j]!, xh, x.l[j]!)
      addInto(sh, sl, RH, RL)
      sh = RH; sl = RL
    }
    y.h[i] = sh; y.l[i] = sl
  }
  return y
}

/** The largest |xᵢ| (as a double). */
export const normInfDD = (x: DDVec): number => {
  let m = 0
  for (let i = 0; i < x.h.length; i++) m = Math.max(m, Math.abs(x.h[i]! + x.l[i]!))
  return m
}

/** ‖x‖₂ in double-double. */
export const norm2DD = (x: DDVec): DD => sqrt(dotDD(x, x))

// -------------------------------------------------------------------------------------
// Gaussian elimination with partial pivoting
// -------------------------------------------------------------------------------------

/**
 * An LU factorization P A = L U of a square double-double matrix, with the pivots' order.
 * `singular` is set when a pivot is exactly zero.
 */
export interface DDLU {
  readonly m: number
  readonly a: DDVec
  readonly perm: Int32Array
  readonly singular: boolean
  /** The smallest and largest |pivot| (doubles), a rough conditioning indication. */
  readonly pivotMin: number
  readonly pivotMax: number
}

/**
 * Factors the m × m matrix A (row-major; not written) by Gaussian elimination with
 * partial pivoting, in double-double.
 */
export const luDD = (A: DDVec, m: number): DDLU => {
  const h = Float64Array.from(A.h), l = Float64Array.from(A.l)
  const perm = Int32Array.from({ length: m }, (_, i) => i)
  let singular = false, pmin = Infinity, pmax = 0
  for (let c = 0; c < m; c++) {
    let p = c, best = Math.abs(h[c * m + c]!)
    for (let r = c + 1; r < m; r++) { const v = Math.abs(h[r * m + c]!); if (v > best) { best = v; p = r } }
    if (p !== c) {
      for (let j = 0; j < m; j++) {
        const a = c * m + j, b = p * m + j
        let tmp = h[a]!; h[a] = h[b]!; h[b] = tmp
        tmp = l[a]!; l[a] = l[b]!; l[b] = tmp
      }
      const tp = perm[c]!; perm[c] = perm[p]!; perm[p] = tp
    }
    const dh = h[c * m + c]!, dl = l[c * m + c]!
    if (dh === 0 && dl === 0) { singular = true; continue }
    pmin = Math.min(pmin, Math.abs(dh)); pmax = Math.max(pmax, Math.abs(dh))
    for (let r = c + 1; r < m; r++) {
      const rh = h[r * m + c]!, rl = l[r * m + c]!
      if (rh === 0 && rl === 0) continue
      divInto(rh, rl, dh, dl)
      const fh = RH, fl = RL
      h[r * m + c] = fh; l[r * m + c] = fl
      for (let j = c + 1; j < m; j++) {
        const ch = h[c * m + j]!
        if (ch === 0 && l[c * m + j] === 0) continue
        mulInto(fh, fl, ch, l[c * m + j]!)
        addInto(h[r * m + j]!, l[r * m + j]!, -RH, -RL)
        h[r * m + j] = RH; l[r * m + j] = RL
      }
    }
  }
  return { m, a: { h, l }, perm, singular, pivotMin: pmin, pivotMax: pmax }
}

/** Solves A x = b with the factorization of A. */
export const luSolveDD = (f: DDLU, b: DDVec): DDVec => {
  const { m, a, perm } = f
  const yh = new Float64Array(m), yl = new Float64Array(m)
  for (let i = 0; i < m; i++) { yh[i] = b.h[perm[i]!]!; yl[i] = b.l[perm[i]!]! }
  // L y = P b (unit lower)
  for (let i = 0; i < m; i++) {
    let sh = yh[i]!, sl = yl[i]!
    for (let j = 0; j < i; j++) {
      const lh = a.h[i * m + j]!
      if (lh === 0 && a.l[i * m + j] === 0) continue
      mulInto(lh, a.l[i * m + j]!, yh[j]!, yl[j]!)
      addInto(sh, sl, -RH, -RL)
      sh = RH; sl = RL
    }
    yh[i] = sh; yl[i] = sl
  }
  // U x = y
  for (let i = m - 1; i >= 0; i--) {
    let sh = yh[i]!, sl = yl[i]!
    for (let j = i + 1; j < m; j++) {
      mulInto(a.h[i * m + j]!, a.l[i * m + j]!, yh[j]!, yl[j]!)
      addInto(sh, sl, -RH, -RL)
      sh = RH; sl = RL
    }
    divInto(sh, sl, a.h[i * m + i]!, a.l[i * m + i]!)
    yh[i] = RH; yl[i] = RL
  }
  return { h: yh, l: yl }
}

/** Solves Aᵀ x = b with the factorization of A (P A = L U, so Aᵀ = Uᵀ Lᵀ P). */
export const luSolveTDD = (f: DDLU, b: DDVec): DDVec => {
  const { m, a, perm } = f
  const zh = Float64Array.from(b.h), zl = Float64Array.from(b.l)
  // Uᵀ z = b
  for (let i = 0; i < m; i++) {
    let sh = zh[i]!, sl = zl[i]!
    for (let j = 0; j < i; j++) {
      mulInto(a.h[j * m + i]!, a.l[j * m + i]!, zh[j]!, zl[j]!)
      addInto(sh, sl, -RH, -RL)
      sh = RH; sl = RL
    }
    divInto(sh, sl, a.h[i * m + i]!, a.l[i * m + i]!)
    zh[i] = RH; zl[i] = RL
  }
  // Lᵀ y = z (unit upper)
  for (let i = m - 1; i >= 0; i--) {
    let sh = zh[i]!, sl = zl[i]!
    for (let j = i + 1; j < m; j++) {
      const lh = a.h[j * m + i]!
      if (lh === 0 && a.l[j * m + i] === 0) continue
      mulInto(lh, a.l[j * m + i]!, zh[j]!, zl[j]!)
      addInto(sh, sl, -RH, -RL)
      sh = RH; sl = RL
    }
    zh[i] = sh; zl[i] = sl
  }
  // x = Pᵀ y
  const xh = new Float64Array(m), xl = new Float64Array(m)
  for (let i = 0; i < m; i++) { xh[perm[i]!] = zh[i]!; xl[perm[i]!] = zl[i]! }
  return { h: xh, l: xl }
}

/** b − A x for an m × m double-double matrix A. */
export const residualDD = (A: DDVec, x: DDVec, b: DDVec, m: number): DDVec => {
  const r = zeros(m)
  for (let i = 0; i < m; i++) {
    let sh = b.h[i]!, sl = b.l[i]!
    for (let j = 0; j < m; j++) {
      const ah = A.h[i * m + j]!
      if (ah === 0 && A.l[i * m + j] === 0) continue
      mulInto(ah, A.l[i * m + j]!, x.h[j]!, x.l[j]!)
      addInto(sh, sl, -RH, -RL)
      sh = RH; sl = RL
    }
    r.h[i] = sh; r.l[i] = sl
  }
  return r
}

/** x + y. */
export const addVec = (x: DDVec, y: DDVec): DDVec => {
  const n = x.h.length, o = zeros(n)
  for (let i = 0; i < n; i++) { addInto(x.h[i]!, x.l[i]!, y.h[i]!, y.l[i]!); o.h[i] = RH; o.l[i] = RL }
  return o
}
