// The fused paper step on l1 (src/fw/FusedStep.ts) against the traced step (src/fw/Step.ts):
// the same next state, the same tangent and transpose maps on random states, and the
// transpose law ⟨c, J v⟩ = ⟨Jᵀc, v⟩ on its own.
import t from 'tap'
import { fwStep, type FwState } from '../src/fw/Step.js'
import { tracedStepFor } from '../src/fw/Step.js'
import { Zero, type Tan } from '../src/core/Tangent.js'
import type { Params } from '../src/fw/Problem.js'
import { type N, toParams, randomPlain, rng, randomVec, vec, matOf, symDirection, relErr, dot } from './helpers/layerFixtures.js'

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
      const st: FwState<N> = { x: vec(xs), px: vec(pxs), k, f: 0, fPrev: 1, gap: 1 }
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
