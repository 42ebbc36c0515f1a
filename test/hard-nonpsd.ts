/**
 * A P that is not positive semidefinite is invalid input (CONTRACT.md): the layer throws
 * a LayerError at path `P` whose message says "not positive semidefinite" and gives the
 * evidence (dᵀPd < 0 along a direction), and never returns an answer, let alone a
 * converged one, whose certificate holds only for a convex problem. Every case here is
 * indefinite by construction (an eigenvalue or a principal 2 × 2 block that is negative far
 * beyond rounding), in each storage form the CLI accepts: the issue's 2 × 2 example, a
 * dense 30 × 30 matrix with one eigenvalue −1e-3 or −1e-6 among 1…1e-3 in a random
 * orthogonal basis, diag + low rank with one negative diagonal entry that U Uᵀ does not
 * cover, and a CSR matrix with an indefinite 2 × 2 block.
 */
import t, { type Test } from 'tap'
import { dfwLayer } from '../src/fw/Layer.js'
import type { RefP, RefProblem } from './helpers/ddReference.js'
import { csrP, libProblem, lowRankP, randomQ, rng, spectralP } from './helpers/hardProblems.js'

const SETS = ['l1', 'linf', 'l2', 'simplex'] as const
type Set = (typeof SETS)[number]
const tOf = (set: Set): number => (set === 'simplex' ? 1 : 0.1)

/** The issue's example: P = diag(−1, −10), q = (−0.1, 0.01), t = 1. */
const issueExample = (set: Set): RefProblem => ({
  n: 2, set, P: { kind: 'dense', data: Float64Array.of(-1, 0, 0, -10) }, q: Float64Array.of(-0.1, 0.01), w: Float64Array.of(1, 1), t: 1
})

/** Q diag(λ) Qᵀ, n = 30, λ log-spaced over 1…1e-3 but λ₁₀ = `neg`. */
const hiddenDense = (seed: number, set: Set, neg: number): RefProblem => {
  const r = rng(seed)
  const lam = Float64Array.from({ length: 30 }, (_, k) => 10 ** ((-3 * k) / 29))
  lam[10] = neg
  return randomQ(r, set, spectralP(r, 30, 1, 1, lam), 30, tOf(set))
}

/** diag(d) + U Uᵀ, n = 30, rank 3, with d₇ = −1e-3 and U's row 7 at 1e-3: e₇ᵀPe₇ < 0. */
const hiddenLowRank = (seed: number, set: Set): RefProblem => {
  const r = rng(seed)
  const lr = lowRankP(r, 30, 3) as Extract<RefP, { kind: 'lowRank' }>
  const d = Float64Array.from(lr.diag), U = Float64Array.from(lr.U)
  d[7] = -1e-3
  for (let k = 0; k < 3; k++) U[7 * 3 + k] = 1e-3
  return randomQ(r, set, { kind: 'lowRank', diag: d, rank: 3, U }, 30, tOf(set))
}

/** A tridiagonal CSR matrix, n = 30, whose block on {10, 11} is [[1, 1.01], [1.01, 1]] (eigenvalue −0.01). */
const hiddenCsr = (seed: number, set: Set): RefProblem => {
  const r = rng(seed)
  const c = csrP(r, 30, 1, 1e-3) as Extract<RefP, { kind: 'csr' }>
  const values = Float64Array.from(c.values)
  for (let i = 10; i <= 11; i++) {
    for (let k = c.rowPtr[i]!; k < c.rowPtr[i + 1]!; k++) {
      const j = c.colIdx[k]!
      if (j === i) values[k] = 1
      else if (j === 21 - i) values[k] = 1.01
    }
  }
  return randomQ(r, set, { kind: 'csr', rowPtr: c.rowPtr, colIdx: c.colIdx, values }, 30, tOf(set))
}

/** The layer's outcome: refused (with path and message) or answered (with status). */
const outcome = (p: RefProblem): { refused: boolean; path?: string; message?: string; status?: string } => {
  try {
    const r = dfwLayer()(libProblem(p))
    return { refused: false, status: r.status }
  } catch (e) {
    const err = e as { name?: string; path?: string; message?: string }
    return { refused: err.name === 'LayerError', ...(err.path !== undefined ? { path: err.path } : {}), ...(err.message !== undefined ? { message: err.message } : {}) }
  }
}

const expectRefused = (t: Test, name: string, p: RefProblem): void => {
  const o = outcome(p)
  t.ok(o.refused, `${name}: refused (${o.refused ? o.message : `answered, status ${o.status}`})`)
  if (!o.refused) return
  t.equal(o.path, 'P', `${name}: path P`)
  t.match(o.message ?? '', /not positive semidefinite/, `${name}: says "not positive semidefinite"`)
  t.match(o.message ?? '', /dᵀPd = -[0-9.e+-]+ < 0/, `${name}: with the evidence dᵀPd < 0`)
}

const ISSUE_SETS = SETS
const DENSE_SETS = SETS
const LOWRANK_SETS = SETS
const CSR_SETS = SETS

t.test('the issue\'s 2 × 2 example is refused at P, with the evidence', async (t) => {
  for (const set of ISSUE_SETS) expectRefused(t, set, issueExample(set))
})

t.test('a dense 30 × 30 P with one eigenvalue −1e-3 or −1e-6 hidden in a random basis is refused', async (t) => {
  let seed = 60_000
  for (const set of DENSE_SETS) for (const neg of [-1e-3, -1e-6]) for (let k = 0; k < 3; k++) expectRefused(t, `${set} λ = ${neg} (seed ${seed})`, hiddenDense(seed++, set, neg))
})

t.test('diag + low rank with a negative diagonal entry that U Uᵀ does not cover is refused', async (t) => {
  let seed = 61_000
  for (const set of LOWRANK_SETS) for (let k = 0; k < 2; k++) expectRefused(t, `${set} (seed ${seed})`, hiddenLowRank(seed++, set))
})

t.test('CSR with an indefinite 2 × 2 block is refused', async (t) => {
  let seed = 62_000
  for (const set of CSR_SETS) for (let k = 0; k < 2; k++) expectRefused(t, `${set} (seed ${seed})`, hiddenCsr(seed++, set))
})
