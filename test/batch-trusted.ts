// A batch of arrays is checked at once where every instance certainly passes
// (src/fw/batch/Validate.ts, `trustedBatch`); anywhere else each instance is validated on its
// own. Either way an instance's outcome is what dfwLayer gives it alone: the same x, or the
// same error (message, and path behind its index). The batches here sit on each of the
// batch-level check's edges: t and t/w at the magnitude limit and past it, q past it with a
// large radius, P's rows past the bound, an asymmetric P, a non-finite or non-positive entry,
// a shared w whose dim is not its length, and a set given as an object.
import t from 'tap'
import * as E from 'fp-ts/lib/Either.js'
import { unsafeDim } from '../src/shapes/Dim.js'
import { dense } from '../src/core/LinearOperator.js'
import { dfwBatchSolve, dfwLayer, type BatchProblem, type LayerOptions } from '../src/fw/index.js'
import type { Problem } from '../src/fw/Problem.js'
import type { N } from './helpers/layerFixtures.js'

const B = 3, n = 2
const bD = unsafeDim<'B'>(B), nD = unsafeDim<N>(n)

interface Case {
  readonly name: string
  readonly P?: Float64Array
  readonly q?: Float64Array
  readonly w?: Float64Array | { readonly dim: number; readonly data: Float64Array }
  readonly t?: number | Float64Array
  readonly set?: unknown
}

const P0 = Float64Array.of(2, 0.5, 0.5, 1)
const Q0 = Float64Array.of(1, -2, 0.5, 0.25, -1, 3)
const W0 = Float64Array.of(1, 2, 0.5, 1, 1.5, 1)

const cases: Case[] = [
  { name: 'ordinary (checked at once)', t: Float64Array.of(0.5, 1, 2), w: W0 },
  { name: 'shared t and w', t: 0.7, w: { dim: 2, data: Float64Array.of(1, 2) } },
  { name: 'no w, the simplex', t: 1, set: 'simplex' },
  { name: 't at the limit', t: Float64Array.of(1, 1e150, 1) },
  { name: 't past the limit', t: Float64Array.of(1, 2e150, 1) },
  { name: 't/w past the limit', t: Float64Array.of(1, 1e149, 1), w: Float64Array.of(1, 1, 0.01, 1, 1, 1) },
  { name: 'q past the limit with a large radius', t: Float64Array.of(1e100, 1, 1), q: Float64Array.of(1e51, 0, 0, 0, 0, 0) },
  { name: "P's rows past the bound", t: 1e75, P: Float64Array.of(1, 0, 0, 1) },
  { name: 'an asymmetric P', t: 1, P: Float64Array.of(2, 0.5, 0.4, 1) },
  { name: 'a NaN in q', t: 1, q: Float64Array.of(1, 2, NaN, 0, 1, 1) },
  { name: 'a zero weight', t: 1, w: Float64Array.of(1, 1, 1, 0, 1, 1) },
  { name: 'a negative radius', t: Float64Array.of(1, -1, 1) },
  { name: 'a shared w whose dim is not its length', t: 1, w: { dim: 3, data: Float64Array.of(1, 2) } },
  { name: 'a set given as an object', t: 1, set: { kind: 'linf' } },
  { name: 'w on the simplex', t: 1, w: W0, set: 'simplex' }
]

const modes: ReadonlyArray<readonly [string, LayerOptions]> = [['default/implicit', {}], ['paper/unrolled', { schedule: 'paper', backward: 'unrolled', tolerance: 0, maxIterations: 20 }]]

for (const [mode, options] of modes) {
  t.test(mode, async (t) => {
    for (const c of cases) {
      const P = dense({ rows: nD, cols: nD, data: c.P ?? P0 })
      const q = c.q ?? Q0
      const w = c.w === undefined ? undefined : c.w instanceof Float64Array ? { rows: bD, cols: nD, data: c.w } : c.w
      const tt = c.t === undefined ? undefined : typeof c.t === 'number' ? c.t : { dim: bD, data: c.t }
      const batch = { P, q: { rows: bD, cols: nD, data: q }, ...(w === undefined ? {} : { w }), ...(tt === undefined ? {} : { t: tt }), ...(c.set === undefined ? {} : { set: c.set }) } as unknown as BatchProblem<'B', N>
      const got = dfwBatchSolve(options)(batch).results
      for (let b = 0; b < B; b++) {
        const wb = c.w === undefined ? undefined : c.w instanceof Float64Array ? { dim: nD, data: c.w.slice(b * n, b * n + n) } : c.w
        const tb = c.t === undefined ? undefined : typeof c.t === 'number' ? c.t : c.t[b]
        const p = { P, q: { dim: nD, data: q.slice(b * n, b * n + n) }, ...(wb === undefined ? {} : { w: wb }), ...(tb === undefined ? {} : { t: tb }), ...(c.set === undefined ? {} : { set: c.set }) } as unknown as Problem<N>
        let alone: E.Either<{ message: string; path: string }, Float64Array>
        try { alone = E.right(dfwLayer(options)(p).x.data) } catch (e) {
          const le = e as { message: string; path: string }
          alone = E.left({ message: le.message, path: le.path === '' ? `[${b}]` : `[${b}].${le.path}` })
        }
        const r = got[b]!
        const same = E.isLeft(alone)
          ? E.isLeft(r) && r.left.message === alone.left.message && r.left.path === alone.left.path
          : E.isRight(r) && r.right.x.data.every((v, i) => Object.is(v, (alone as E.Right<Float64Array>).right[i]))
        t.ok(same, `${c.name}, instance ${b}: ${E.isLeft(alone) ? `the error at ${alone.left.path}` : 'the same x'}`)
      }
    }
  })
}
