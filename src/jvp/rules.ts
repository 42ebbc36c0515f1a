/**
 * Tangent (forward-mode) rules, one per primitive. The table's type is an exhaustive
 * mapped type over `PrimSig` (`JvpTable`): a primitive without a rule here does not
 * compile. Loading this module installs the table into the core (`registerJvpRules`).
 *
 * @since 0.1.0
 */
import type { JvpTable } from '../core/PrimSig.js'
import { registerJvpRules } from '../core/Prim.js'
import { Zero } from '../core/Tangent.js'
import { matVec as mv } from '../core/Matrix.js'
import { apply as opApply, columnInto } from '../core/LinearOperator.js'
import { type V, type ZV, vec, zadd, zscale, zmul, sadd, zdot } from '../core/internal.js'
import { f64 } from '../shapes/alloc.js'

const map1 = (a: ZV, f: (v: number, i: number) => number): ZV => {
  if (a === Zero) return Zero
  const o = f64(a.dim), x = a.data
  for (let i = 0; i < o.length; i++) o[i] = f(x[i]!, i)
  return vec(a.dim, o)
}

const ones = (dim: number, c: number): V => vec(dim, f64(dim).fill(c))

/** The tangent rules. */
export const jvpRules: JvpTable = {
  add: (_r, _p, [dx, dy]) => zadd(dx, dy),
  sub: (_r, _p, [dx, dy]) => zadd(dx, zscale(-1, dy)),
  neg: (_r, _p, [dx]) => zscale(-1, dx),
  scale: ([s, x], _p, [ds, dx]) => zadd(ds === Zero ? Zero : zscale(ds, x), zscale(s, dx)),
  shift: (x, _p, [dx, dc]) => zadd(dx, dc === Zero ? Zero : ones(x.dim, dc)),
  dot: ([x, y], _p, [dx, dy]) => sadd(zdot(dx, y), zdot(dy, x)),
  sum: (_x, _p, [dx]) => (dx === Zero ? Zero : dx.data.reduce((s, v) => s + v, 0)),
  matVec: ([A, x], _p, [dA, dx]) => zadd(dA === Zero ? Zero : mv(dA, x), dx === Zero ? Zero : mv(A, dx)),
  apply: ([P, x], _p, [dP, dx]) => zadd(dP === Zero ? Zero : mv(dP, x), dx === Zero ? Zero : opApply(P, dx)),
  applyCols: ([P, x], cols, [dP, dx]) => {
    if (dP === Zero && dx === Zero) return Zero
    const n = x.dim as number
    const o = f64(n), c = f64(n)
    for (const j of cols) {
      if (dx !== Zero && dx.data[j]! !== 0) {
        columnInto(P, j, c)
        const a = dx.data[j]!
        for (let i = 0; i < n; i++) o[i] = o[i]! + a * c[i]!
      }
      if (dP !== Zero && x.data[j]! !== 0) {
        const a = x.data[j]!, d = dP.data
        for (let i = 0; i < n; i++) o[i] = o[i]! + a * d[i * n + j]!
      }
    }
    return { dim: x.dim, data: o }
  },
  mul: ([x, y], _p, [dx, dy]) => zadd(zmul(dx, y), zmul(dy, x)),
  div: ([x, y], _p, [dx, dy]) =>
    zadd(map1(dx, (v, i) => v / y.data[i]!), map1(dy, (v, i) => (-v * x.data[i]!) / (y.data[i]! * y.data[i]!))),
  recip: (r, _p, [dx]) => map1(dx, (v, i) => -v * r.data[i]! * r.data[i]!),
  abs: (sg, _p, [dx]) => zmul(dx, sg),
  sign: () => Zero,
  max: ([, k], _p, [dx]) => (dx === Zero || k < 0 ? Zero : dx.data[k]!),
  softmax: (e, _p, [dx]) => {
    if (dx === Zero) return Zero
    const m = zdot(dx, e) as number
    const d = dx.data, ed = e.data, o = f64(e.dim)
    for (let i = 0; i < o.length; i++) o[i] = ed[i]! * (d[i]! - m)
    return vec(e.dim, o)
  },
  tanh: (y, _p, [dx]) => map1(dx, (v, i) => v * (1 - y.data[i]! * y.data[i]!)),
  exp: (y, _p, [dx]) => zmul(dx, y),
  log: (x, _p, [dx]) => map1(dx, (v, i) => v / x.data[i]!),
  relu: (x, _p, [dx]) => map1(dx, (v, i) => (x.data[i]! > 0 ? v : 0)),
  norm2: ([x, nrm], _p, [dx]) => (dx === Zero || nrm === 0 ? Zero : (zdot(dx, x) as number) / nrm),
  quadForm: ([P, x, sym], _p, [dP, dx]) => {
    const a = dP === Zero ? Zero : 0.5 * (zdot(mv(dP, x), x) as number)
    return sadd(a, zdot(dx, sym))
  },
  clamp: (inside, _p, [dx]) => (inside ? dx : Zero),
  sadd: (_r, _p, [da, db]) => sadd(da, db),
  ssub: (_r, _p, [da, db]) => sadd(da, db === Zero ? Zero : -db),
  smul: ([a, b], _p, [da, db]) => sadd(da === Zero ? Zero : da * b, db === Zero ? Zero : a * db),
  sdiv: ([a, b], _p, [da, db]) => sadd(da === Zero ? Zero : da / b, db === Zero ? Zero : (-a * db) / (b * b)),
  sneg: (_r, _p, [da]) => (da === Zero ? Zero : -da)
}

registerJvpRules(jvpRules)
