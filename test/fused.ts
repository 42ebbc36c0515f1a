// The fused paper step on l1 (src/fw/FusedStep.ts) against the traced step (src/fw/Step.ts):
// the same next state, the same tangent and transpose maps on random states, and the
// transpose law ⟨c, J v⟩ = ⟨Jᵀc, v⟩ on its own.
import t from 'tap'
import { fwStep, type FwState } from '../src/fw/Step.js'
import { tracedStepFor } from '../src/fw/Step.js'
import { Zero, type Tan } from '../src/core/Tangent.js'
import type { Params } from '../src/fw/Problem.js'
import { type N, toParams, randomPlain, rng, randomVec, vec, matOf, symDirection, relErr, dot } from './helpers/layerFixtures.js'
import { lowRank, csr, type LinearOperator } from '../src/core/LinearOperator.js'
import { unsafeDim } from '../src/shapes/Dim.js'
import * as E from 'fp-ts/lib/Either.js'

const flat = (r: unknown, key: string): Float64Array => {
  if (r === Zero) return new Float64Array(0)
  const v = (r as Record<string, unknown>)[key]
  if (v === undefined || v === Zero) return new Float64Array(0)
  return typeof v === 'number' ? Float64Array.of(v) : (v as { data: Float64Array }).data
}
const cat = (...xs: Float64Array[]): number[] => xs.flatMap((x) => Array.from(x))

t.test('fused and traced paper steps agree: value, JVP and VJP (β from 1 to 64, dense P, random states)', async (t) => {
  let worst = 0
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const r = rng(300 + seed)
    const n = 3 + seed
    const plain = randomPlain(r, n)
    const theta: Params<N> = toParams(plain)
    const config = { set: 'l1' as const, oracle: 'smooth' as const, direction: 'fw' as const, rule: 'short' as const, lipschitz: 2 + seed, beta: (i: number) => 2 ** Math.floor(i / 30) }
    const fused = fwStep<N>(config)
    const traced = tracedStepFor<N>(config)
    for (const k of [0, 29, 95, 170]) {
      const xs = randomVec(r, n).map((v) => (0.3 * v * plain.t) / n)
      const pxs = xs.map((_, i) => xs.reduce((acc, xj, j) => acc + plain.P[i * n + j]! * xj, 0))
      const st: FwState<N> = { x: vec(xs), px: vec(pxs), k, f: 0, fPrev: 1, gap: 1, gapFloor: 0 }
      const [a, la] = fused([theta, st])
      const [b, lb] = traced([theta, st])
      const e0 = Math.max(relErr(a.x.data, b.x.data), relErr(a.px.data, b.px.data))
      t.ok(e0 <= 1e-13, `seed=${seed} k=${k}: next state agrees (${e0.toExponential(2)})`)
      const tan = [{ q: vec(randomVec(r, n)), w: vec(randomVec(r, n).map((v) => 0.2 * v)), t: 0.7, P: matOf(n, symDirection(r, n)) },
        { x: vec(randomVec(r, n)), px: vec(randomVec(r, n)) }] as unknown as Tan<readonly [Params<N>, FwState<N>]>
      const fa = la.fwd(tan), fb = lb.fwd(tan)
      const e1 = relErr(cat(flat(fa, 'x'), flat(fa, 'px')), cat(flat(fb, 'x'), flat(fb, 'px')))
      t.ok(e1 <= 1e-10, `seed=${seed} k=${k}: JVP agrees (${e1.toExponential(2)})`)
      const ct = { x: vec(randomVec(r, n)), px: vec(randomVec(r, n)) } as unknown as Tan<FwState<N>>
      const ba = la.bwd(ct) as unknown as [unknown, unknown], bb = lb.bwd(ct) as unknown as [unknown, unknown]
      const pa = cat(flat(ba[0], 'q'), flat(ba[0], 'w'), flat(ba[0], 't'), flat(ba[0], 'P'), flat(ba[1], 'x'), flat(ba[1], 'px'))
      const pb = cat(flat(bb[0], 'q'), flat(bb[0], 'w'), flat(bb[0], 't'), flat(bb[0], 'P'), flat(bb[1], 'x'), flat(bb[1], 'px'))
      const e2 = relErr(pa, pb)
      t.ok(pa.length === pb.length && e2 <= 1e-10, `seed=${seed} k=${k}: VJP agrees (${e2.toExponential(2)})`)
      // transpose law on the fused step
      const tp = tan as unknown as [{ q: { data: Float64Array }; w: { data: Float64Array }; t: number; P: { data: Float64Array } }, { x: { data: Float64Array }; px: { data: Float64Array } }]
      const lhs = dot(flat(ct, 'x'), flat(fa, 'x')) + dot(flat(ct, 'px'), flat(fa, 'px'))
      const rhs = dot(flat(ba[0], 'q'), tp[0].q.data) + dot(flat(ba[0], 'w'), tp[0].w.data) + flat(ba[0], 't')[0]! * tp[0].t +
        dot(flat(ba[0], 'P'), tp[0].P.data) + dot(flat(ba[1], 'x'), tp[1].x.data) + dot(flat(ba[1], 'px'), tp[1].px.data)
      const e3 = Math.abs(lhs - rhs) / Math.max(Math.abs(lhs), Math.abs(rhs))
      t.ok(e3 <= 1e-12, `seed=${seed} k=${k}: ⟨c, Jv⟩ = ⟨Jᵀc, v⟩ (${e3.toExponential(2)})`)
      worst = Math.max(worst, e0, e1, e2)
    }
  }
  t.comment(`worst disagreement ${worst.toExponential(2)}`)
})

// The fused pairwise step (src/fw/FusedPairwise.ts, the default schedule on l1 and the
// simplex) against the traced one, on feasible states that reach every branch: the away
// atom or the origin, a drop step, γ from the ratio, at γmax, or 0; dense and diag + low
// rank P. Zero cotangents are compared as zeros of the right length.
/** A CSR operator holding every entry of a dense n×n matrix except exact zeros (one in three off the diagonal, zeroed). */
const csrOf = (n: number, A: readonly number[]): LinearOperator<N> => {
  const rowPtr = [0], colIdx: number[] = [], values: number[] = []
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (i === j || (i + j) % 3 !== 0) { colIdx.push(j); values.push(A[i * n + j]!) }
    rowPtr.push(colIdx.length)
  }
  const e = csr(unsafeDim<N>(n), rowPtr, colIdx, values)
  if (E.isLeft(e)) throw new Error(e.left.message)
  return e.right
}
const dense0 = (r: unknown, key: string, len: number): number[] => {
  const v = r === Zero ? undefined : (r as Record<string, unknown>)[key]
  if (v === undefined || v === Zero) return new Array<number>(len).fill(0)
  return typeof v === 'number' ? [v] : Array.from((v as { data: Float64Array }).data)
}

t.test('fused and traced pairwise steps agree: value, JVP, VJP and the transpose law (l1, simplex; dense, low rank)', async (t) => {
  const branches = new Set<string>()
  let worst = 0, cases = 0
  for (const set of ['l1', 'simplex'] as const) {
    for (const kind of ['dense', 'lowRank', 'csr'] as const) {
      for (let seed = 1; seed <= 24; seed++) {
        const r = rng(900 + seed + (set === 'l1' ? 0 : 100) + (kind === 'dense' ? 0 : 50))
        const n = 3 + (seed % 7)
        const plain = randomPlain(r, n)
        const U = Float64Array.from({ length: n * 2 }, () => r.normal())
        const d = Float64Array.from({ length: n }, () => 0.5 + r.uniform())
        const P = kind === 'dense' ? toParams(plain).P : kind === 'lowRank' ? lowRank(vec(d), 2, U) : csrOf(n, plain.P)
        const Pd = kind === 'dense' ? plain.P : kind === 'csr' ? plain.P.map((v, k) => {
          const i = Math.floor(k / n), j = k % n
          return i === j || (i + j) % 3 !== 0 ? v : 0
        }) : Array.from({ length: n * n }, (_, k) => {
          const i = Math.floor(k / n), j = k % n
          return (i === j ? d[i]! : 0) + U[i * 2]! * U[j * 2]! + U[i * 2 + 1]! * U[j * 2 + 1]!
        })
        const w = set === 'simplex' ? new Array<number>(n).fill(1) : plain.w
        const theta: Params<N> = { P, q: vec(plain.q), w: vec(w), t: plain.t }
        // a feasible x: some coordinates zero, the rest random signs (l1) or positive
        // (simplex), scaled to a fraction of the ball (l1: interior or on the sphere)
        const raw = randomVec(r, n).map((v, i) => (i % 3 === seed % 3 ? 0 : set === 'simplex' ? Math.abs(v) + 0.1 : v))
        const mass = raw.reduce((s, v, i) => s + Math.abs(v * w[i]!), 0)
        const fill = set === 'simplex' ? 1 : [0.3, 0.9, 1][seed % 3]!
        const xs = raw.map((v) => (mass > 0 ? (v * fill * plain.t) / mass : 0))
        if (set === 'simplex' && mass === 0) continue
        const pxs = xs.map((_, i) => xs.reduce((acc, xj, j) => acc + Pd[i * n + j]! * xj, 0))
        const st: FwState<N> = { x: vec(xs), px: vec(pxs), k: seed, f: 0, fPrev: 1, gap: 1, gapFloor: 0 }
        const config = { set, oracle: 'exact' as const, direction: 'pairwise' as const, rule: 'exact' as const, lipschitz: 1, beta: () => Infinity }
        const [a, la] = fwStep<N>(config)([theta, st])
        const [b, lb] = tracedStepFor<N>(config)([theta, st])
        const e0 = Math.max(relErr(a.x.data, b.x.data), relErr(a.px.data, b.px.data))
        t.ok(e0 <= 1e-13, `${set} ${kind} seed=${seed}: next state agrees (${e0.toExponential(2)})`)
        // which branch ran: support change, drop (a coordinate zeroed), interior
        const dropped = xs.some((v, i) => v !== 0 && a.x.data[i] === 0)
        const moved = xs.filter((v, i) => v !== a.x.data[i]).length
        branches.add(dropped ? 'drop' : moved === 0 ? 'no move' : 'ratio or gmax')
        if (set === 'l1' && fill < 1) branches.add('interior')
        const tan = [{ q: vec(randomVec(r, n)), w: vec(randomVec(r, n).map((v) => (set === 'simplex' ? 0 : 0.2 * v))), t: 0.7, ...(kind === 'dense' ? { P: matOf(n, symDirection(r, n)) } : {}) },
          { x: vec(randomVec(r, n)), px: vec(randomVec(r, n)) }] as unknown as Tan<readonly [Params<N>, FwState<N>]>
        const fa = la.fwd(tan), fb = lb.fwd(tan)
        const e1 = relErr([...dense0(fa, 'x', n), ...dense0(fa, 'px', n)], [...dense0(fb, 'x', n), ...dense0(fb, 'px', n)])
        t.ok(e1 <= 1e-10, `${set} ${kind} seed=${seed}: JVP agrees (${e1.toExponential(2)})`)
        const ct = { x: vec(randomVec(r, n)), px: vec(randomVec(r, n)) } as unknown as Tan<FwState<N>>
        const ba = la.bwd(ct) as unknown as [unknown, unknown], bb = lb.bwd(ct) as unknown as [unknown, unknown]
        const all = (x: [unknown, unknown]): number[] => [
          ...dense0(x[0], 'q', n), ...dense0(x[0], 'w', n), ...dense0(x[0], 't', 1), ...(kind === 'dense' ? dense0(x[0], 'P', n * n) : []),
          ...dense0(x[1], 'x', n), ...dense0(x[1], 'px', n)
        ]
        const pa = all(ba), pb = all(bb)
        const e2 = relErr(pa, pb)
        t.ok(pa.length === pb.length && e2 <= 1e-10, `${set} ${kind} seed=${seed}: VJP agrees (${e2.toExponential(2)})`)
        const tp = tan as unknown as [{ q: { data: Float64Array }; w: { data: Float64Array }; t: number; P?: { data: Float64Array } }, { x: { data: Float64Array }; px: { data: Float64Array } }]
        const lhs = dot(dense0(ct, 'x', n), dense0(fa, 'x', n)) + dot(dense0(ct, 'px', n), dense0(fa, 'px', n))
        const rhs = dot(dense0(ba[0], 'q', n), tp[0].q.data) + dot(dense0(ba[0], 'w', n), tp[0].w.data) + dense0(ba[0], 't', 1)[0]! * tp[0].t +
          (tp[0].P !== undefined ? dot(dense0(ba[0], 'P', n * n), tp[0].P.data) : 0) + dot(dense0(ba[1], 'x', n), tp[1].x.data) + dot(dense0(ba[1], 'px', n), tp[1].px.data)
        const e3 = Math.abs(lhs - rhs) / Math.max(Math.abs(lhs), Math.abs(rhs), 1e-300)
        t.ok(e3 <= 1e-12, `${set} ${kind} seed=${seed}: ⟨c, Jv⟩ = ⟨Jᵀc, v⟩ (${e3.toExponential(2)})`)
        worst = Math.max(worst, e0, e1, e2)
        cases++
      }
    }
  }
  t.ok(branches.has('drop') && branches.has('ratio or gmax') && branches.has('interior'), `branches reached: ${[...branches].join(', ')}`)
  t.comment(`${cases} cases, worst disagreement ${worst.toExponential(2)}`)
})
