/**
 * Non-PSD P is invalid input (CONTRACT "Errors"): refused with path `P` and the evidence,
 * wherever negative curvature shows — the diagonal and 2 × 2 minors before any work, the
 * steps' line searches, a face factorization — in every mode, never a "converged" answer.
 */
import t from 'tap'
import { withDim } from '../src/shapes/Dim.js'
import { dense, lowRank, csr } from '../src/core/LinearOperator.js'
import * as E from 'fp-ts/lib/Either.js'
import { dfwLayer, LayerError, type LayerOptions } from '../src/fw/Layer.js'
import type { SetKind } from '../src/fw/Problem.js'
import { nonConvexEvidence } from '../src/fw/Convexity.js'
import { rng } from '../src/core/Random.js'

const SETS: readonly SetKind[] = ['l1', 'linf', 'l2', 'simplex']
const MODES: readonly LayerOptions[] = [{}, { backward: 'unrolled' }, { schedule: 'paper' }, { schedule: 'paper', backward: 'unrolled' }]

const refused = (f: () => unknown): LayerError | undefined => {
  try { f() } catch (e) { if (e instanceof LayerError) return e; throw e }
  return undefined
}

/** Q diag(λ) Qᵀ for a random orthogonal Q (Householder products). */
const spectral = (n: number, lambda: readonly number[], seed: number): Float64Array => {
  const r = rng(seed)
  const Q = new Float64Array(n * n)
  for (let i = 0; i < n; i++) Q[i * n + i] = 1
  for (let h = 0; h < n; h++) {
    const v = Float64Array.from({ length: n }, () => r.normal())
    let vv = 0
    for (const a of v) vv += a * a
    for (let i = 0; i < n; i++) {
      let s = 0
      for (let k = 0; k < n; k++) s += Q[i * n + k]! * v[k]!
      for (let k = 0; k < n; k++) Q[i * n + k] = Q[i * n + k]! - (2 * s * v[k]!) / vv
    }
  }
  const A = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0
    for (let k = 0; k < n; k++) s += Q[i * n + k]! * lambda[k]! * Q[j * n + k]!
    A[i * n + j] = s
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) { const m = 0.5 * (A[i * n + j]! + A[j * n + i]!); A[i * n + j] = m; A[j * n + i] = m }
  return A
}

t.test('the repro {"P":[[-1,0],[0,-10]],"q":[-0.1,0.01],"t":1} is refused at P in every mode and set', async (t) => {
  for (const set of SETS) for (const options of MODES) {
    const e = refused(() => withDim(2, (n) => dfwLayer(options)({
      P: dense({ rows: n, cols: n, data: Float64Array.of(-1, 0, 0, -10) }), q: { dim: n, data: Float64Array.of(-0.1, 0.01) }, t: 1, set
    }).status))
    t.ok(e !== undefined, `${set} ${JSON.stringify(options)}: refused`)
    t.equal(e?.path, 'P')
    t.match(e?.message ?? '', /not positive semidefinite: dᵀPd = -\d/)
  }
})

t.test('a 2 × 2 minor shows an indefinite P with a positive diagonal', async (t) => {
  const ev = withDim(2, (n) => nonConvexEvidence(dense({ rows: n, cols: n, data: Float64Array.of(1, 2, 2, 1) })))
  t.ok(ev !== undefined)
  const d = ev!.direction
  t.ok(Math.abs(Math.hypot(d[0]!, d[1]!) - 1) < 1e-15, 'a unit direction')
  const curv = d[0]! * d[0]! + 4 * d[0]! * d[1]! + d[1]! * d[1]!
  t.ok(Math.abs(curv - ev!.curvature) < 1e-14 && curv < 0, `dᵀPd = ${curv}`)
})

t.test('PSD matrices are never refused: Gram matrices, rank-deficient ones, diag + low rank with d ≥ 0, CSR', async (t) => {
  const r = rng(3)
  for (const n of [2, 7, 30]) {
    const A = Float64Array.from({ length: n * 2 }, () => r.normal() * 1e3)
    const G = new Float64Array(n * n)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) G[i * n + j] = A[2 * i]! * A[2 * j]! + A[2 * i + 1]! * A[2 * j + 1]!
    withDim(n, (d) => {
      t.equal(nonConvexEvidence(dense({ rows: d, cols: d, data: G })), undefined, `rank-2 Gram n = ${n}`)
      t.equal(nonConvexEvidence(lowRank({ dim: d, data: new Float64Array(n) }, 2, A)), undefined, `diag 0 + U Uᵀ n = ${n}`)
    })
  }
  withDim(3, (d) => {
    const op = csr(d, [0, 2, 4, 5], [0, 1, 0, 1, 2], [2, 1, 1, 2, 1])
    t.ok(E.isRight(op) && nonConvexEvidence(op.right) === undefined, 'CSR [[2,1],[1,2]] ⊕ [1]')
  })
})

t.test('a negative eigenvalue hidden from every minor is met in the solve (dense 30 × 30), in every mode', async (t) => {
  const n = 30
  // eigenvalues 1 … 2 and one −0.2: every 2 × 2 minor of this rotation is positive
  const lambda = Array.from({ length: n }, (_, k) => (k === 0 ? -0.2 : 1 + k / n))
  const A = spectral(n, lambda, 7)
  const hidden = withDim(n, (d) => nonConvexEvidence(dense({ rows: d, cols: d, data: A })))
  t.equal(hidden, undefined, 'no diagonal entry or minor shows it')
  const r = rng(8)
  const q = Float64Array.from({ length: n }, () => r.normal())
  for (const set of SETS) for (const options of MODES) {
    let status = ''
    const e = refused(() => { status = withDim(n, (d) => dfwLayer({ ...options, maxIterations: 2000 })({ P: dense({ rows: d, cols: d, data: A }), q: { dim: d, data: q }, t: 3, set }).status) })
    // refused, or not claiming a certificate
    if (e === undefined) t.not(status, 'converged', `${set} ${JSON.stringify(options)}: no certificate for a nonconvex problem`)
    else t.equal(e.path, 'P', `${set} ${JSON.stringify(options)}`)
  }
})
