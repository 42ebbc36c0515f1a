/**
 * Primitive differentiable maps. Each is evaluated by the table below and linearized by
 * its rules in src/jvp/rules.ts (tangent) and src/vjp/rules.ts (transpose). The typed
 * constructors restore the dimension types that the tables erase.
 *
 * The two rule tables live with their transforms, above the core, and register into it
 * (`registerJvpRules`, `registerVjpRules`) when their modules load, as JAX's
 * `ad.primitive_jvps` and `ad.primitive_transposes` are filled by the modules that define
 * the rules. So the core depends on no transform, and each table stays an exhaustive
 * mapped type (`JvpTable`, `VjpTable`). A linear map looks its rule up when it is applied,
 * not when the primitive is built; applying one before its table is installed throws an
 * error that says which module to import (the package root imports both).
 *
 * Every primitive takes a tuple of arguments: use `on(['x', 'y'], add())` to feed it
 * fields of a record, or call it on a tuple directly.
 *
 * @since 0.1.0
 * @module
 */
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import type { Diff } from './Diff.js'
import type { EvalRule, PrimArgs, PrimName, PrimOut, PrimParams, ArgTans, JvpTable, VjpTable } from './PrimSig.js'
import { type Tan, Zero } from './Tangent.js'
import { type LinearOperator, applyInto, applyTInto, columnInto } from './LinearOperator.js'
import * as V from './Vector.js'
import { matVec as mv } from './Matrix.js'
import { vec } from './internal.js'
import { linearOf } from './Linear.js'
import { f64 } from '../shapes/alloc.js'

const mapV = <N>(x: Vec<N>, f: (v: number) => number): Vec<N> => {
  const o = f64(x.dim)
  for (let i = 0; i < o.length; i++) o[i] = f(x.data[i]!)
  return { dim: x.dim, data: o }
}

/**
 * Evaluation rules: the value and the residuals.
 *
 * @example
 * evalRules.dot([x, y], null) // [xᵀy, residuals]
 */
export const evalRules: { readonly [K in PrimName]: EvalRule<K> } = {
  add: ([x, y]) => [V.add(x, y), null],
  sub: ([x, y]) => [V.sub(x, y), null],
  neg: ([x]) => [V.neg(x), null],
  scale: ([s, x]) => [V.scale(s, x), [s, x]],
  shift: ([x, c]) => [V.shift(x, c), x],
  dot: ([x, y]) => [V.dot(x, y), [x, y]],
  sum: ([x]) => [V.sum(x), x],
  matVec: ([A, x]) => [mv(A, x), [A, x]],
  apply: ([P, x]) => {
    const o = f64(P.dim)
    applyInto(P, x.data, o)
    return [vec(P.dim, o), [P, x]]
  },
  applyCols: ([P, x], cols) => {
    const o = f64(P.dim), c = f64(P.dim)
    for (const j of cols) {
      const xj = x.data[j]!
      if (xj === 0) continue
      columnInto(P, j, c)
      for (let i = 0; i < o.length; i++) o[i] = o[i]! + xj * c[i]!
    }
    return [vec(P.dim, o), [P, x]]
  },
  mul: ([x, y]) => [V.mul(x, y), [x, y]],
  div: ([x, y]) => [V.div(x, y), [x, y]],
  recip: ([x]) => {
    const r = mapV(x, (v) => 1 / v)
    return [r, r]
  },
  abs: ([x]) => [V.abs(x), V.sign(x)],
  sign: ([x]) => [V.sign(x), x],
  max: ([x]) => {
    const m = V.maxArg(x)
    return [m.value, [x, m.index]]
  },
  softmax: ([x]) => {
    const e = V.softmax(x)
    return [e, e]
  },
  tanh: ([x]) => {
    const y = mapV(x, Math.tanh)
    return [y, y]
  },
  exp: ([x]) => {
    const y = mapV(x, Math.exp)
    return [y, y]
  },
  log: ([x]) => [mapV(x, Math.log), x],
  relu: ([x]) => [mapV(x, (v) => (v > 0 ? v : 0)), x],
  norm2: ([x]) => {
    const n = V.normL2(x)
    return [n, [x, n]]
  },
  quadForm: ([P, x]) => {
    const px = f64(P.dim), ptx = f64(P.dim)
    applyInto(P, x.data, px)
    applyTInto(P, x.data, ptx)
    let f = 0
    for (let i = 0; i < px.length; i++) { f += x.data[i]! * px[i]!; ptx[i] = 0.5 * (px[i]! + ptx[i]!) }
    return [0.5 * f, [P, x, vec(P.dim, ptx)]]
  },
  clamp: ([x], [lo, hi]) => [Math.min(hi, Math.max(lo, x)), x > lo && x < hi],
  sadd: ([a, b]) => [a + b, null],
  ssub: ([a, b]) => [a - b, null],
  smul: ([a, b]) => [a * b, [a, b]],
  sdiv: ([a, b]) => [a / b, [a, b]],
  sneg: ([a]) => [-a, null]
}

// -------------------------------------------------------------------------------------
// the rule tables
// -------------------------------------------------------------------------------------

let jvpTable: JvpTable | undefined
let vjpTable: VjpTable | undefined

/**
 * Installs the tangent rules (src/jvp/rules.ts does, when it loads).
 *
 * @internal
 *
 * @example
 * registerJvpRules(jvpRules)
 */
export const registerJvpRules = (rules: JvpTable): void => { jvpTable = rules }

/**
 * Installs the transpose rules (src/vjp/rules.ts does, when it loads).
 *
 * @internal
 *
 * @example
 * registerVjpRules(vjpRules)
 */
export const registerVjpRules = (rules: VjpTable): void => { vjpTable = rules }

const jvpRuleOf = <K extends PrimName>(name: K): JvpTable[K] => {
  if (jvpTable === undefined) throw new Error(`no tangent rule for the primitive ${name}: import src/jvp (the package root does) before applying a linear map`)
  return jvpTable[name]
}

const vjpRuleOf = <K extends PrimName>(name: K): VjpTable[K] => {
  if (vjpTable === undefined) throw new Error(`no transpose rule for the primitive ${name}: import src/vjp (the package root does) before applying a transposed linear map`)
  return vjpTable[name]
}

/**
 * The differentiable map of primitive `name`, with `params` fixed. Its linear map applies
 * the primitive's tangent and transpose rules (from the installed tables) to the
 * residuals of this evaluation.
 *
 * @example
 * prim('softmax', null)([x]) // [softmax(x), linear map]
 */
export const prim = <K extends PrimName>(name: K, params: PrimParams<K>): Diff<PrimArgs<K>, PrimOut<K>> => {
  const ev = evalRules[name] as EvalRule<K>
  return (a) => {
    const [out, res] = ev(a, params)
    const lin = linearOf<PrimArgs<K>, PrimOut<K>>(
      (da) => (da === Zero ? Zero : jvpRuleOf(name)(res, params, da as unknown as ArgTans<K>)),
      (ct) => (ct === Zero ? Zero : (vjpRuleOf(name)(res, params, ct) as unknown as Tan<PrimArgs<K>>))
    )
    return [out, lin]
  }
}

type V1<N> = readonly [Vec<N>]
type V2<N> = readonly [Vec<N>, Vec<N>]
type S2 = readonly [number, number]
const cast = <A, B>(d: unknown): Diff<A, B> => d as Diff<A, B>

// -------------------------------------------------------------------------------------
// typed constructors
// -------------------------------------------------------------------------------------

/**
 * (x, y) ↦ x + y
 *
 * @example
 * add<N>()([x, y]) // [x + y, lin]
 */
export const add = <N>(): Diff<V2<N>, Vec<N>> => cast(prim('add', null))
/**
 * (x, y) ↦ x − y
 *
 * @example
 * sub<N>()([x, y]) // [x − y, lin]
 */
export const sub = <N>(): Diff<V2<N>, Vec<N>> => cast(prim('sub', null))
/**
 * x ↦ −x
 *
 * @example
 * neg<N>()([x]) // [−x, lin]
 */
export const neg = <N>(): Diff<V1<N>, Vec<N>> => cast(prim('neg', null))
/**
 * (s, x) ↦ s x, bilinear
 *
 * @example
 * scale<N>()([2, x]) // [2x, lin]
 */
export const scale = <N>(): Diff<readonly [number, Vec<N>], Vec<N>> => cast(prim('scale', null))
/**
 * (x, c) ↦ x + c·1
 *
 * @example
 * shift<N>()([x, c]) // [x + c·1, lin]
 */
export const shift = <N>(): Diff<readonly [Vec<N>, number], Vec<N>> => cast(prim('shift', null))
/**
 * (x, y) ↦ xᵀ y
 *
 * @example
 * dot<N>()([x, y]) // [xᵀ y, lin]
 */
export const dot = <N>(): Diff<V2<N>, number> => cast(prim('dot', null))
/**
 * x ↦ Σ xᵢ
 *
 * @example
 * sum<N>()([x]) // [Σ xᵢ, lin]
 */
export const sum = <N>(): Diff<V1<N>, number> => cast(prim('sum', null))
/**
 * (A, x) ↦ A x, in both A and x
 *
 * @example
 * matVec<M, N>()([A, x]) // [A x, lin]
 */
export const matVec = <M, N>(): Diff<readonly [Mat<M, N>, Vec<N>], Vec<M>> => cast(prim('matVec', null))
/**
 * (P, x) ↦ P x for a linear operator; the tangent of P is a dense matrix (its cotangent is computed for dense P only)
 *
 * @example
 * apply<N>()([P, x]) // [P x, lin], P a LinearOperator
 */
export const apply = <N>(): Diff<readonly [LinearOperator<N>, Vec<N>], Vec<N>> => cast(prim('apply', null))

/**
 * P x for an x supported on the given columns: Σⱼ xⱼ P[:, j] over `cols`, reading only those
 * columns (O(n·|cols|) instead of a full product; repeated indices count once). Entries of x off `cols` are ignored, and
 * its derivative in x is zero there; in P it is the outer product ct xᵀ (dense P only).
 *
 * @example
 * applyCols<N>([i, j])([P, u]) // P u for u = α eᵢ + β eⱼ, from two columns
 */
export const applyCols = <N>(cols: readonly number[]): Diff<readonly [LinearOperator<N>, Vec<N>], Vec<N>> => cast(prim('applyCols', [...new Set(cols)]))
/**
 * (x, y) ↦ x ⊙ y
 *
 * @example
 * mul<N>()([w, x]) // [w ⊙ x, lin]
 */
export const mul = <N>(): Diff<V2<N>, Vec<N>> => cast(prim('mul', null))
/**
 * (x, y) ↦ x ⊘ y
 *
 * @example
 * div<N>()([x, w]) // [x ⊘ w, lin]
 */
export const div = <N>(): Diff<V2<N>, Vec<N>> => cast(prim('div', null))
/**
 * x ↦ 1 ⊘ x
 *
 * @example
 * recip<N>()([x]) // [1 ⊘ x, lin]
 */
export const recip = <N>(): Diff<V1<N>, Vec<N>> => cast(prim('recip', null))
/**
 * x ↦ |x|, with derivative sign(x) (0 at 0)
 *
 * @example
 * abs<N>()([x]) // [|x|, lin]
 */
export const abs = <N>(): Diff<V1<N>, Vec<N>> => cast(prim('abs', null))
/**
 * x ↦ sign(x), derivative 0
 *
 * @example
 * sign<N>()([x]) // [sign(x), lin]: derivative zero
 */
export const sign = <N>(): Diff<V1<N>, Vec<N>> => cast(prim('sign', null))
/**
 * x ↦ max x; the derivative passes to the (first) arg-max
 *
 * @example
 * max<N>()([x]) // [max x, lin]: the derivative passes to the arg-max
 */
export const max = <N>(): Diff<V1<N>, number> => cast(prim('max', null))
/**
 * x ↦ softmax(x), computed stably
 *
 * @example
 * softmax<N>()([z]) // [softmax(z), lin]
 */
export const softmax = <N>(): Diff<V1<N>, Vec<N>> => cast(prim('softmax', null))
/**
 * x ↦ tanh(x)
 *
 * @example
 * tanh<N>()([x]) // [tanh(x), lin]
 */
export const tanh = <N>(): Diff<V1<N>, Vec<N>> => cast(prim('tanh', null))
/**
 * x ↦ exp(x)
 *
 * @example
 * exp<N>()([x]) // [exp(x), lin]
 */
export const exp = <N>(): Diff<V1<N>, Vec<N>> => cast(prim('exp', null))
/**
 * x ↦ log(x)
 *
 * @example
 * log<N>()([x]) // [log(x), lin]
 */
export const log = <N>(): Diff<V1<N>, Vec<N>> => cast(prim('log', null))
/**
 * x ↦ max(x, 0), derivative 0 at 0
 *
 * @example
 * relu<N>()([x]) // [max(x, 0), lin]
 */
export const relu = <N>(): Diff<V1<N>, Vec<N>> => cast(prim('relu', null))
/**
 * x ↦ ‖x‖₂; derivative x/‖x‖ (0 at x = 0)
 *
 * @example
 * norm2<N>()([x]) // [‖x‖₂, lin]
 */
export const norm2 = <N>(): Diff<V1<N>, number> => cast(prim('norm2', null))
/**
 * (P, x) ↦ ½ xᵀ P x
 *
 * @example
 * quadForm<N>()([P, x]) // [xᵀ P x, lin]
 */
export const quadForm = <N>(): Diff<readonly [LinearOperator<N>, Vec<N>], number> => cast(prim('quadForm', null))
/**
 * s ↦ min(hi, max(lo, s)); derivative 1 strictly inside (lo, hi), 0 outside
 *
 * @example
 * clamp(0, 1)([gamma]) // [min(max(γ, 0), 1), lin]
 */
export const clamp = (lo: number, hi: number): Diff<readonly [number], number> => prim('clamp', [lo, hi])
/**
 * (a, b) ↦ a + b
 *
 * @example
 * sadd()([a, b]) // [a + b, lin]
 */
export const sadd = (): Diff<S2, number> => prim('sadd', null)
/**
 * (a, b) ↦ a − b
 *
 * @example
 * ssub()([a, b]) // [a − b, lin]
 */
export const ssub = (): Diff<S2, number> => prim('ssub', null)
/**
 * (a, b) ↦ a b
 *
 * @example
 * smul()([a, b]) // [a b, lin]
 */
export const smul = (): Diff<S2, number> => prim('smul', null)
/**
 * (a, b) ↦ a / b
 *
 * @example
 * sdiv()([a, b]) // [a / b, lin]
 */
export const sdiv = (): Diff<S2, number> => prim('sdiv', null)
/**
 * a ↦ −a
 *
 * @example
 * sneg()([a]) // [−a, lin]
 */
export const sneg = (): Diff<readonly [number], number> => prim('sneg', null)
