/**
 * The laws of every primitive of the differentiable-map engine, on seeded random inputs:
 * its JVP agrees with central finite differences, its transpose rule is the adjoint of its
 * tangent rule, and the symbolic zero skips work. The primitives are the keys of the
 * evaluation table, so a new primitive is covered as soon as it exists; the input
 * generators below are typed exhaustively over `PrimName`, so it also needs one here.
 */
import t from 'tap'
import * as E from 'fp-ts/lib/Either.js'
import { evalRules, prim } from '../src/core/Prim.js'
import '../src/jvp/index.js'
import '../src/vjp/index.js'
import type { PrimArgs, PrimName, PrimParams } from '../src/core/PrimSig.js'
import { Zero, dotT } from '../src/core/Tangent.js'
import { type Rng, rng } from '../src/core/Random.js'
import { type LinearOperator, dense, lowRank, csr, toDense } from '../src/core/LinearOperator.js'
import {
  type AnyVec, awayFromZero, awayVec, dimOf, normalMat, normalVec, randT, uniformVec,
  jvpError, transposeError, sameT, subT, normT
} from './helpers/diffLaws.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
type Op = LinearOperator<any>

// -------------------------------------------------------------------------------------
// inputs
// -------------------------------------------------------------------------------------

/** One input of a primitive, at a smooth point of it. */
interface Case<K extends PrimName> {
  readonly label: string
  readonly args: PrimArgs<K>
  readonly params: PrimParams<K>
}

const denseOp = (r: Rng, n: number): Op => dense(normalMat(r, n, n))
const lowRankOp = (r: Rng, n: number): Op => lowRank(uniformVec(r, n, 0.5, 2), 2, normalMat(r, n, 2).data)
const csrOp = (r: Rng, n: number): Op => {
  // a tridiagonal, nonsymmetric pattern
  const rowPtr = [0], colIdx: number[] = [], values: number[] = []
  for (let i = 0; i < n; i++) {
    for (const j of [i - 1, i, i + 1]) if (j >= 0 && j < n) { colIdx.push(j); values.push(r.normal()) }
    rowPtr.push(colIdx.length)
  }
  const op = csr(dimOf(n), rowPtr, colIdx, values)
  if (E.isLeft(op)) throw new Error(op.left.message)
  return op.right
}
const operators = (r: Rng, n: number): readonly (readonly [string, Op])[] =>
  [['dense', denseOp(r, n)], ['lowRank', lowRankOp(r, n)], ['csr', csrOp(r, n)]]

const one = <K extends PrimName>(args: PrimArgs<K>, params: PrimParams<K>, label = 'random'): readonly Case<K>[] =>
  [{ label, args, params }]

/** Positive and away from 0: arguments of log, recip, and divisors. */
const positive = (r: Rng, n: number): AnyVec => uniformVec(r, n, 0.5, 2)

/** Input generators, one per primitive: keep away from kinks and poles. */
const gens: { readonly [K in PrimName]: (r: Rng, n: number) => readonly Case<K>[] } = {
  add: (r, n) => one([normalVec(r, n), normalVec(r, n)], null),
  sub: (r, n) => one([normalVec(r, n), normalVec(r, n)], null),
  neg: (r, n) => one([normalVec(r, n)], null),
  scale: (r, n) => one([r.normal(), normalVec(r, n)], null),
  shift: (r, n) => one([normalVec(r, n), r.normal()], null),
  dot: (r, n) => one([normalVec(r, n), normalVec(r, n)], null),
  sum: (r, n) => one([normalVec(r, n)], null),
  matVec: (r, n) => one([normalMat(r, n + 2, n), normalVec(r, n)], null, 'non-square'),
  apply: (r, n) => operators(r, n).map(([label, P]) => ({ label, args: [P, normalVec(r, n)], params: null })),
  applyCols: (r, n) => operators(r, n).map(([label, P]) => {
    const cols = n === 1 ? [0] : [Math.floor(r.uniform() * n), n - 1]
    return { label: `${label}, columns ${cols.join(',')}`, args: [P, normalVec(r, n)], params: [...new Set(cols)] }
  }),
  mul: (r, n) => one([normalVec(r, n), normalVec(r, n)], null),
  div: (r, n) => [
    { label: 'positive divisor', args: [normalVec(r, n), positive(r, n)], params: null },
    { label: 'signed divisor', args: [normalVec(r, n), awayVec(r, n, 0.5)], params: null }
  ],
  recip: (r, n) => one([awayVec(r, n, 0.5)], null),
  abs: (r, n) => one([awayVec(r, n)], null),
  sign: (r, n) => one([awayVec(r, n)], null),
  max: (r, n) => one([normalVec(r, n)], null),
  softmax: (r, n) => one([normalVec(r, n)], null),
  tanh: (r, n) => one([normalVec(r, n)], null),
  exp: (r, n) => one([normalVec(r, n)], null),
  log: (r, n) => one([positive(r, n)], null),
  relu: (r, n) => one([awayVec(r, n)], null),
  norm2: (r, n) => one([normalVec(r, n)], null),
  quadForm: (r, n) => operators(r, n).map(([label, P]) => ({ label, args: [P, normalVec(r, n)], params: null })),
  clamp: (r) => [
    { label: 'inside', args: [-0.9 + 1.8 * r.uniform()], params: [-1, 1] },
    { label: 'below', args: [-1.2 - r.uniform()], params: [-1, 1] },
    { label: 'above', args: [1.2 + r.uniform()], params: [-1, 1] }
  ],
  sadd: (r) => one([r.normal(), r.normal()], null),
  ssub: (r) => one([r.normal(), r.normal()], null),
  smul: (r) => one([r.normal(), r.normal()], null),
  sdiv: (r) => one([r.normal(), awayFromZero(r, 0.5)], null),
  sneg: (r) => one([r.normal()], null)
}

const names = Object.keys(evalRules) as PrimName[]
const dims = [1, 2, 7] as const
const trials = 4

/** Every input case of `name` at every test dimension, with its random generator. */
const casesOf = <K extends PrimName>(name: K, seed: number): readonly (Case<K> & { readonly r: Rng; readonly n: number })[] => {
  const r = rng(seed)
  return dims.flatMap((n) => gens[name](r, n).map((c) => ({ ...c, r, n })))
}

/** Random tangents: in every argument at once, then in each argument alone. */
const tangentsOf = (r: Rng, args: readonly unknown[]): readonly (readonly unknown[])[] => {
  const all = randT(r, args) as unknown[]
  const single = args.map((_, i) => args.map((a, j) => (i === j ? randT(r, a) : Zero)))
  return [all, ...single].filter((v) => v.some((x) => x !== Zero))
}

const seedOf = (name: string): number => [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)

// -------------------------------------------------------------------------------------
// laws
// -------------------------------------------------------------------------------------

t.test('every primitive has an input generator', async (t) => {
  t.same([...names].sort(), Object.keys(gens).sort())
})

for (const name of names) {
  t.test(`${name}: the JVP agrees with central finite differences`, async (t) => {
    let worst = 0
    for (const c of casesOf(name, seedOf(name))) {
      const f = prim(name, c.params)
      for (let k = 0; k < trials; k++) {
        for (const v of tangentsOf(c.r, c.args)) {
          const e = jvpError(f, c.args, v as never)
          worst = Math.max(worst, e)
          if (!(e <= 1e-6)) t.fail(`${c.label}, n = ${c.n}: relative error ${e}`)
        }
      }
    }
    t.ok(worst <= 1e-6, `worst relative error ${worst.toExponential(2)}`)
  })

  t.test(`${name}: the transpose rule is the adjoint, ⟨J v, u⟩ = ⟨v, Jᵀ u⟩`, async (t) => {
    let worst = 0
    for (const c of casesOf(name, seedOf(name) + 1)) {
      const [out, lin] = prim(name, c.params)(c.args)
      for (let k = 0; k < trials; k++) {
        for (const v of tangentsOf(c.r, c.args)) {
          const e = transposeError(lin, v as never, randT(c.r, out))
          worst = Math.max(worst, e)
          if (!(e <= 1e-12)) t.fail(`${c.label}, n = ${c.n}: relative defect ${e}`)
        }
      }
    }
    t.ok(worst <= 1e-12, `worst relative defect ${worst.toExponential(2)}`)
  })

  t.test(`${name}: a zero tangent or cotangent gives Zero, and zero components count as zero`, async (t) => {
    for (const c of casesOf(name, seedOf(name) + 2)) {
      const [out, lin] = prim(name, c.params)(c.args)
      t.equal(lin.fwd(Zero), Zero, `fwd(Zero), ${c.label}`)
      t.equal(lin.bwd(Zero), Zero, `bwd(Zero), ${c.label}`)
      // a tuple with symbolic zeros acts like the same tuple with explicit zeros
      const v = tangentsOf(c.r, c.args)[0]!
      for (let i = 0; i < c.args.length; i++) {
        const partial = v.map((x, j) => (j === i ? Zero : x))
        const explicit = v.map((x, j) => (j === i ? zeroLike(c.args[j]) : x))
        t.ok(normT(subT(lin.fwd(partial as never), lin.fwd(explicit as never))) <= 1e-14 * (1 + normT(lin.fwd(explicit as never))),
          `fwd with argument ${i} Zero, ${c.label}`)
      }
      const u = randT(c.r, out)
      t.ok(dotT(lin.bwd(u), lin.bwd(u)) >= 0, 'bwd of a random cotangent is a tangent')
    }
  })
}

/** An explicit all-zero tangent of a value. */
const zeroLike = (a: unknown): unknown => {
  if (typeof a === 'number') return 0
  if (typeof a === 'object' && a !== null && 'kind' in a) {
    const m = (a as { mat?: { rows: number; cols: number } }).mat
    return m === undefined ? Zero : { rows: m.rows, cols: m.cols, data: new Float64Array(m.rows * m.cols) }
  }
  const d = (a as { data: Float64Array }).data
  return { ...(a as object), data: new Float64Array(d.length) }
}

// -------------------------------------------------------------------------------------
// operators
// -------------------------------------------------------------------------------------

for (const name of ['apply', 'quadForm'] as const) {
  t.test(`${name}: lowRank and csr operators give the x-derivatives of their dense equivalent`, async (t) => {
    const r = rng(11)
    for (const n of [1, 5, 9]) {
      for (const [label, P] of operators(r, n).slice(1)) {
        const x = normalVec(r, n)
        const D = dense(toDense(P))
        const [y, lin] = prim(name, null)([P, x])
        const [yD, linD] = prim(name, null)([D, x])
        t.ok(normT(subT(y, yD)) <= 1e-12 * (1 + normT(yD)), `${label}: value`)
        const dx = normalVec(r, n)
        const jv = lin.fwd([Zero, dx])
        t.ok(normT(subT(jv, linD.fwd([Zero, dx]))) <= 1e-12 * (1 + normT(jv)), `${label}: JVP in x`)
        const u = randT(r, y)
        const [dP, gx] = lin.bwd(u) as readonly [unknown, unknown]
        const [, gxD] = linD.bwd(u) as readonly [unknown, unknown]
        t.equal(dP, Zero, `${label}: no cotangent for a structured operator`)
        t.ok(normT(subT(gx, gxD)) <= 1e-12 * (1 + normT(gxD)), `${label}: VJP in x`)
      }
    }
  })
}

t.test('apply: the tangent of a dense operator is a matrix, and its cotangent the outer product', async (t) => {
  const r = rng(12)
  const n = 4
  const P = denseOp(r, n), x = normalVec(r, n), dP = normalMat(r, n, n)
  const [, lin] = prim('apply', null)([P, x])
  const jv = lin.fwd([dP, Zero]) as AnyVec
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let j = 0; j < n; j++) s += dP.data[i * n + j]! * x.data[j]!
    t.ok(Math.abs(jv.data[i]! - s) <= 1e-14 * (1 + Math.abs(s)))
  }
  const u = normalVec(r, n)
  const [gP] = lin.bwd(u) as readonly [{ rows: number; cols: number; data: Float64Array }, unknown]
  t.equal(gP.rows, n)
  t.equal(gP.cols, n)
  t.ok(sameT(gP.data[1 * n + 2], u.data[1]! * x.data[2]!))
})
