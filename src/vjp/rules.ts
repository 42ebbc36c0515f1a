/**
 * Transpose (reverse-mode) rules, one per primitive: each is the adjoint of the tangent
 * rule in src/jvp/rules.ts. The table's type is an exhaustive mapped type over
 * `PrimSig` (`VjpTable`): a primitive without a rule here does not compile. Loading this
 * module installs the table into the core (`registerVjpRules`).
 *
 * @since 0.1.0
 */
import type { VjpTable } from '../core/PrimSig.js'
import { registerVjpRules } from '../core/Prim.js'
import { Zero, outerSum } from '../core/Tangent.js'
import { matTVec } from '../core/Matrix.js'
import { applyT as opApplyT, columnInto } from '../core/LinearOperator.js'
import { type V, type ZV, vec, zscale, zmul, zdot } from '../core/internal.js'
import type { Mat } from '../shapes/Mat.js'
import { f64 } from '../shapes/alloc.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type M = Mat<any, any>

const map1 = (a: ZV, f: (v: number, i: number) => number): ZV => {
  if (a === Zero) return Zero
  const o = f64(a.dim), x = a.data
  for (let i = 0; i < o.length; i++) o[i] = f(x[i]!, i)
  return vec(a.dim, o)
}

const fillV = (dim: number, c: number): V => vec(dim, f64(dim).fill(c))

/** The transpose rules. */
export const vjpRules: VjpTable = {
  add: (_r, _p, ct) => [ct, ct],
  sub: (_r, _p, ct) => [ct, zscale(-1, ct)],
  neg: (_r, _p, ct) => [zscale(-1, ct)],
  scale: ([s, x], _p, ct) => [zdot(ct, x), zscale(s, ct)],
  shift: (_x, _p, ct) => [ct, ct === Zero ? Zero : ct.data.reduce((a, v) => a + v, 0)],
  dot: ([x, y], _p, ct) => (ct === Zero ? [Zero, Zero] : [zscale(ct, y), zscale(ct, x)]),
  sum: (x, _p, ct) => [ct === Zero ? Zero : fillV(x.dim, ct)],
  matVec: ([A, x], _p, ct) => (ct === Zero ? [Zero, Zero] : [outerSum(ct, x) as unknown as M, matTVec(A, ct)]),
  apply: ([P, x], _p, ct) => (ct === Zero ? [Zero, Zero] : [P.kind === 'dense' ? (outerSum(ct, x) as unknown as M) : Zero, opApplyT(P, ct)]),
  applyCols: ([P, x], cols, ct) => {
    if (ct === Zero) return [Zero, Zero]
    const n = x.dim as number
    const dx = f64(n), c = f64(n), xs = f64(n)
    for (const j of cols) {
      columnInto(P, j, c)
      let s = 0
      for (let i = 0; i < n; i++) s += c[i]! * ct.data[i]!
      dx[j] = s
      xs[j] = x.data[j]!
    }
    return [P.kind === 'dense' ? (outerSum(ct, { dim: n, data: xs }) as unknown as M) : Zero, { dim: x.dim, data: dx }]
  },
  mul: ([x, y], _p, ct) => [zmul(ct, y), zmul(ct, x)],
  div: ([x, y], _p, ct) => [
    map1(ct, (v, i) => v / y.data[i]!),
    map1(ct, (v, i) => (-v * x.data[i]!) / (y.data[i]! * y.data[i]!))
  ],
  recip: (r, _p, ct) => [map1(ct, (v, i) => -v * r.data[i]! * r.data[i]!)],
  abs: (sg, _p, ct) => [zmul(ct, sg)],
  sign: () => [Zero],
  max: ([x, k], _p, ct) => {
    if (ct === Zero || k < 0) return [Zero]
    const o = f64(x.dim)
    o[k] = ct
    return [vec(x.dim, o)]
  },
  softmax: (e, _p, ct) => {
    if (ct === Zero) return [Zero]
    const m = zdot(ct, e) as number
    const c = ct.data, ed = e.data, o = f64(e.dim)
    for (let i = 0; i < o.length; i++) o[i] = ed[i]! * (c[i]! - m)
    return [vec(e.dim, o)]
  },
  tanh: (y, _p, ct) => [map1(ct, (v, i) => v * (1 - y.data[i]! * y.data[i]!))],
  exp: (y, _p, ct) => [zmul(ct, y)],
  log: (x, _p, ct) => [map1(ct, (v, i) => v / x.data[i]!)],
  relu: (x, _p, ct) => [map1(ct, (v, i) => (x.data[i]! > 0 ? v : 0))],
  norm2: ([x, nrm], _p, ct) => [ct === Zero || nrm === 0 ? Zero : zscale(ct / nrm, x)],
  quadForm: ([P, x, sym], _p, ct) => {
    if (ct === Zero) return [Zero, Zero]
    const dP = P.kind === 'dense' ? (outerSum(x, x, 0.5 * ct) as unknown as M) : Zero
    return [dP, zscale(ct, sym)]
  },
  clamp: (inside, _p, ct) => [inside ? ct : Zero],
  sadd: (_r, _p, ct) => [ct, ct],
  ssub: (_r, _p, ct) => [ct, ct === Zero ? Zero : -ct],
  smul: ([a, b], _p, ct) => (ct === Zero ? [Zero, Zero] : [ct * b, ct * a]),
  sdiv: ([a, b], _p, ct) => (ct === Zero ? [Zero, Zero] : [ct / b, (-ct * a) / (b * b)]),
  sneg: (_r, _p, ct) => [ct === Zero ? Zero : -ct]
}

registerVjpRules(vjpRules)
