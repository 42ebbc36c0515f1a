/**
 * The exact reference solver: its projections, its KKT certificate on the paper's
 * problems and on binding cases of every set, its agreement with a slow projected-gradient
 * solver, its edge cases (P = 0, PSD-singular P, n = 1, sparse and low-rank P), and its
 * dense implicit derivative against central finite differences and the transpose law.
 */
import t from 'tap'
import type { Dim } from '../src/shapes/Dim.js'
import { withDim } from '../src/shapes/Dim.js'
import type { Vec } from '../src/shapes/Vec.js'
import type { Mat } from '../src/shapes/Mat.js'
import type { Params, ParamsTangent, SetKind } from '../src/fw/Problem.js'
import { type Rng, rng } from '../src/core/Random.js'
import * as E from 'fp-ts/lib/Either.js'
import { type LinearOperator, dense, lowRank, csr, toDense } from '../src/core/LinearOperator.js'
import { paperProblem } from '../src/fw/Generators.js'
import {
  project, projectL1, projectSimplex, projectLinf, projectL2, supportFunction,
  solveExact, kktResidual, kktDerivative, type ExactSolution, type Face
} from '../src/fw/exact/index.js'
import { luFactor, luSolve } from '../src/fw/exact/internal.js'

const SETS: readonly SetKind[] = ['l1', 'linf', 'l2', 'simplex']

// -------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------

const vec = <N>(n: Dim<N>, f: (i: number) => number): Vec<N> => ({ dim: n, data: Float64Array.from({ length: n }, (_, i) => f(i)) })
const dotA = (a: Float64Array, b: Float64Array): number => a.reduce((s, v, i) => s + v * b[i]!, 0)
const nrmA = (a: Float64Array): number => Math.sqrt(dotA(a, a))
const diffNorm = (a: Float64Array, b: Float64Array): number => nrmA(Float64Array.from(a, (v, i) => v - b[i]!))
const inSet = <N>(set: SetKind, x: Vec<N>, w: Vec<N>, t: number): number => {
  const a = x.data
  switch (set) {
    case 'l1': return Math.max(0, a.reduce((s, v, i) => s + w.data[i]! * Math.abs(v), 0) - t)
    case 'linf': return Math.max(0, ...Array.from(a, (v) => Math.abs(v) - t))
    case 'l2': return Math.max(0, nrmA(a) - t)
    case 'simplex': return Math.max(Math.abs(a.reduce((s, v) => s + v, 0) - t), ...Array.from(a, (v) => -v))
  }
}

/** A random PSD matrix BᵀB/k + shift·I, with B k × n (rank-deficient when k < n and shift = 0). */
const psd = <N>(r: Rng, n: Dim<N>, k: number, shift: number): Mat<N, N> => {
  const B = Float64Array.from({ length: k * n }, () => r.normal())
  const o = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let l = 0; l < k; l++) s += B[l * n + i]! * B[l * n + j]!
      o[i * n + j] = s / k + (i === j ? shift : 0)
    }
  }
  return { rows: n, cols: n, data: o }
}

/** x_unc = −P⁻¹q (dense), memoized on q's identity (cases share P and q and vary t). */
const uncCache = new WeakMap<object, Float64Array>()
const unconstrained = <N>(p: Params<N>): Float64Array => {
  const hit = uncCache.get(p.q)
  if (hit !== undefined) return hit
  const n = p.q.dim as number
  const x = luSolve(luFactor(toDense(p.P).data, n), Float64Array.from(p.q.data, (v) => -v))
  uncCache.set(p.q, x)
  return x
}

/** Radii of every set at a fraction of the unconstrained minimizer's norm. */
const radius = <N>(set: SetKind, p: Params<N>, frac: number): number => {
  const xu = unconstrained(p)
  switch (set) {
    case 'l1': return frac * xu.reduce((s, v, i) => s + p.w.data[i]! * Math.abs(v), 0)
    case 'linf': return frac * Math.max(...Array.from(xu, Math.abs))
    case 'l2': return frac * nrmA(xu)
    case 'simplex': return frac * xu.reduce((s, v) => s + Math.abs(v), 0)
  }
}

const objective = <N>(p: Params<N>, x: Float64Array): number => {
  const P = toDense(p.P).data, n = x.length
  let f = 0
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let j = 0; j < n; j++) s += P[i * n + j]! * x[j]!
    f += 0.5 * x[i]! * s + p.q.data[i]! * x[i]!
  }
  return f
}

/** The slow reference: `steps` plain projected-gradient steps with step 1/‖P‖_F. */
const slowSolve = <N>(set: SetKind, p: Params<N>, steps: number): Float64Array => {
  const P = toDense(p.P).data, n = p.q.dim as number
  const L = Math.sqrt(P.reduce((s, v) => s + v * v, 0)) || 1
  let x = project(set, { dim: p.q.dim, data: new Float64Array(n) }, p.w, p.t).data
  const v = new Float64Array(n)
  for (let k = 0; k < steps; k++) {
    for (let i = 0; i < n; i++) {
      let s = p.q.data[i]!
      for (let j = 0; j < n; j++) s += P[i * n + j]! * x[j]!
      v[i] = x[i]! - s / L
    }
    x = project(set, { dim: p.q.dim, data: v }, p.w, p.t).data
  }
  return x
}

const sameFace = (a: Face, b: Face): boolean => JSON.stringify(a, (k, v: unknown) => (k === 'mu' ? undefined : ArrayBuffer.isView(v) ? Array.from(v as Int32Array) : v)) ===
  JSON.stringify(b, (k, v: unknown) => (k === 'mu' ? undefined : ArrayBuffer.isView(v) ? Array.from(v as Int32Array) : v))

const faceSize = (f: Face, n: number): string => {
  switch (f.set) {
    case 'l1': return `|S|=${f.support.length}${f.binding ? ' binding' : ' free'}`
    case 'simplex': return `|S|=${f.support.length}`
    case 'linf': return `|F|=${f.free.length} |B|=${f.bound.length}`
    case 'l2': return f.binding ? 'binding' : `free (n=${n})`
  }
}

// -------------------------------------------------------------------------------------
// projections
// -------------------------------------------------------------------------------------

/** Bisection on the threshold of the l1 / simplex projections: the slow, simple method. */
const bisectL1 = (v: Float64Array, w: Float64Array, t: number): Float64Array => {
  if (v.reduce((s, a, i) => s + w[i]! * Math.abs(a), 0) <= t) return Float64Array.from(v)
  const phi = (th: number): number => v.reduce((s, a, i) => s + w[i]! * Math.max(Math.abs(a) - th * w[i]!, 0), 0)
  let lo = 0, hi = Math.max(...Array.from(v, (a, i) => Math.abs(a) / w[i]!))
  for (let k = 0; k < 200; k++) { const m = (lo + hi) / 2; if (phi(m) > t) lo = m; else hi = m }
  const th = (lo + hi) / 2
  return Float64Array.from(v, (a, i) => Math.sign(a) * Math.max(Math.abs(a) - th * w[i]!, 0))
}
const bisectSimplex = (v: Float64Array, t: number): Float64Array => {
  const psi = (tau: number): number => v.reduce((s, a) => s + Math.max(a - tau, 0), 0)
  let lo = Math.min(...v) - t, hi = Math.max(...v)
  for (let k = 0; k < 200; k++) { const m = (lo + hi) / 2; if (psi(m) > t) lo = m; else hi = m }
  const tau = (lo + hi) / 2
  return Float64Array.from(v, (a) => Math.max(a - tau, 0))
}

t.test('every projection lands in its set and satisfies h_C(v − x) = ⟨v − x, x⟩', async (t) => {
  const r = rng(1)
  let worst = 0
  for (const set of SETS) {
    for (const n of [1, 2, 5, 40, 200]) {
      for (const scale of [0.01, 1, 30]) {
        withDim(n, (d) => {
          const v = vec(d, () => scale * r.normal())
          const w = vec(d, () => 0.5 + r.uniform())
          const rad = 0.1 + r.uniform() * 2
          const x = project(set, v, w, rad)
          const res = Float64Array.from(v.data, (a, i) => a - x.data[i]!)
          const h = supportFunction(set, { dim: d, data: res }, w, rad)
          const err = Math.abs(h - dotA(res, x.data)) / Math.max(1, nrmA(res) * rad)
          worst = Math.max(worst, err)
          t.ok(inSet(set, x, w, rad) <= 1e-12 * Math.max(1, rad), `${set} n=${n} feasible`)
          t.ok(err <= 1e-12, `${set} n=${n} scale=${scale}: optimality ${err.toExponential(2)}`)
        })
      }
    }
  }
  t.comment(`worst projection optimality defect ${worst.toExponential(2)}`)
})

t.test('the sort-based l1 and simplex projections agree with bisection on the threshold', async (t) => {
  const r = rng(2)
  for (const n of [1, 3, 17, 100]) {
    withDim(n, (d) => {
      const v = vec(d, () => 3 * r.normal()), w = vec(d, () => 0.5 + r.uniform())
      const rad = 0.3 + r.uniform()
      t.ok(diffNorm(projectL1(v, w, rad).data, bisectL1(v.data, w.data, rad)) <= 1e-12, `l1 n=${n}`)
      t.ok(diffNorm(projectSimplex(v, rad).data, bisectSimplex(v.data, rad)) <= 1e-12, `simplex n=${n}`)
    })
  }
})

t.test('projections leave points of the set in place and do not write into their arguments', async (t) => {
  withDim(4, (d) => {
    const v = vec(d, (i) => [0.1, -0.2, 0, 0.05][i]!), w = vec(d, () => 1)
    const before = Float64Array.from(v.data)
    t.same(Array.from(projectL1(v, w, 1).data), Array.from(v.data))
    t.same(Array.from(projectLinf(v, 1).data), Array.from(v.data))
    t.same(Array.from(projectL2(v, 1).data), Array.from(v.data))
    t.same(Array.from(projectSimplex(vec(d, (i) => [0.5, 0.25, 0.25, 0][i]!), 1).data), [0.5, 0.25, 0.25, 0])
    t.same(Array.from(projectL1(v, w, 0).data), [0, 0, 0, 0], 'radius 0 gives the origin')
    t.same(Array.from(v.data), Array.from(before))
    t.throws(() => projectL1(v, w, -1), RangeError)
  })
})

// -------------------------------------------------------------------------------------
// the solver's certificate
// -------------------------------------------------------------------------------------

t.test('KKT residual ≤ 1e-10 on the paper problems, n = 10…300, 5 seeds, paper and binding radii', async (t) => {
  const rows: string[] = []
  let worst = 0
  for (const n of [10, 30, 100, 300]) {
    const res: number[] = [], its: number[] = []
    const bySet = new Map<string, { res: number; its: number[] }>()
    for (let seed = 0; seed < 5; seed++) {
      withDim(n, (d) => {
        const p = paperProblem(d, seed)
        const cases: Array<[SetKind, string, number]> = [
          ['l1', 'paper t', p.t], ['l1', '0.2', radius('l1', p, 0.2)], ['l1', '0.05', radius('l1', p, 0.05)],
          ['linf', '0.5', radius('linf', p, 0.5)], ['linf', '2', radius('linf', p, 2)],
          ['l2', '0.2', radius('l2', p, 0.2)], ['l2', '2', radius('l2', p, 2)],
          ['simplex', '0.2', radius('simplex', p, 0.2)], ['simplex', '1', 1]
        ]
        for (const [set, label, rad] of cases) {
          const s = solveExact(set, { ...p, t: rad })
          t.ok(s.kktResidual <= 1e-10, `n=${n} seed=${seed} ${set} t=${label}: residual ${s.kktResidual.toExponential(2)}`)
          t.ok(s.polished)
          const key = `${set} ${label}`
          const e = bySet.get(key) ?? { res: 0, its: [] }
          bySet.set(key, { res: Math.max(e.res, s.kktResidual), its: [...e.its, s.iterations] })
          res.push(s.kktResidual); its.push(s.iterations)
          worst = Math.max(worst, s.kktResidual)
        }
      })
    }
    for (const [k, v] of bySet) rows.push(`n=${String(n).padEnd(4)} ${k.padEnd(14)} max KKT ${v.res.toExponential(2)}  iterations ${v.its.join(',')}`)
  }
  t.comment(rows.join('\n'))
  t.comment(`worst KKT residual ${worst.toExponential(2)}`)
})

t.test('the paper radius t = |N(0,1)| binds only sometimes; 0.2 and 0.05 of ‖w ⊙ x_unc‖₁ always bind', async (t) => {
  const binding: boolean[] = []
  for (let seed = 0; seed < 5; seed++) {
    withDim(100, (d) => {
      const p = paperProblem(d, seed)
      const s = solveExact('l1', p)
      binding.push(s.face.set === 'l1' && s.face.binding)
      for (const frac of [0.2, 0.05]) {
        const b = solveExact('l1', { ...p, t: radius('l1', p, frac) })
        t.ok(b.face.set === 'l1' && b.face.binding && b.lambda > 0, `seed ${seed} frac ${frac} binds with λ > 0`)
      }
    })
  }
  t.comment(`paper radius binds at n = 100, seeds 0–4: ${binding.join(', ')}`)
})

t.test('agrees with 200 000 plain projected-gradient steps at n = 6 on every set', async (t) => {
  const r = rng(3)
  const rows: string[] = []
  for (const set of SETS) {
    for (const frac of [0.3, 3]) {
      for (let rep = 0; rep < 2; rep++) {
        withDim(6, (d) => {
          const p: Params<typeof d extends Dim<infer N> ? N : never> = {
            P: dense(psd(r, d, 6, 0.5)), q: vec(d, () => r.normal()), w: vec(d, () => 0.5 + r.uniform()), t: 1
          }
          const q = { ...p, t: radius(set, p, frac) }
          const s = solveExact(set, q)
          const slow = slowSolve(set, q, 200_000)
          const dx = diffNorm(s.x.data, slow), df = objective(q, slow) - s.objective
          rows.push(`${set.padEnd(7)} frac ${frac}: ‖x − x_slow‖ ${dx.toExponential(2)}, f_slow − f ${df.toExponential(2)}`)
          t.ok(dx <= 1e-9 * Math.max(1, nrmA(slow)), `${set} frac ${frac}: x agrees (${dx.toExponential(2)})`)
          t.ok(df >= -1e-13 * Math.max(1, Math.abs(s.objective)), `${set}: the exact objective is not beaten`)
        })
      }
    }
  }
  t.comment(rows.join('\n'))
})

t.test('P = 0: the linear program is solved at a vertex of every set', async (t) => {
  const r = rng(4)
  for (const set of SETS) {
    withDim(7, (d) => {
      const p: Params<typeof d extends Dim<infer N> ? N : never> = {
        P: dense({ rows: d, cols: d, data: new Float64Array(49) }), q: vec(d, () => r.normal()), w: vec(d, () => 0.5 + r.uniform()), t: 0.7
      }
      const s = solveExact(set, p)
      const lp = -supportFunction(set, { dim: d, data: Float64Array.from(p.q.data, (v) => -v) }, p.w, p.t)
      t.ok(Math.abs(s.objective - lp) <= 1e-14, `${set}: objective ${s.objective} = min over C of qᵀx ${lp}`)
      t.ok(s.kktResidual <= 1e-14, `${set}: residual ${s.kktResidual}`)
      t.equal(s.iterations, 0)
    })
  }
})

t.test('PSD-singular P (rank 2, low-rank and dense storage) on every set', async (t) => {
  const r = rng(5)
  const rows: string[] = []
  for (const set of SETS) {
    for (const frac of [0.5, 50]) {
      withDim(12, (d) => {
        const U = Float64Array.from({ length: 24 }, () => r.normal())
        const op = lowRank(vec(d, () => 0), 2, U)
        const q = vec(d, () => r.normal())
        const w = vec(d, () => 0.5 + r.uniform())
        // the unconstrained problem is unbounded: scale the radius by q's size
        const rad = frac * 0.05 * nrmA(q.data)
        for (const P of [op, dense(toDense(op))] as LinearOperator<typeof d extends Dim<infer N> ? N : never>[]) {
          const p = { P, q, w, t: rad }
          const s = solveExact(set, p)
          const slow = slowSolve(set, p, 20_000)
          rows.push(`${set.padEnd(7)} ${P.kind.padEnd(7)} t=${rad.toFixed(3)}: KKT ${s.kktResidual.toExponential(2)}, iterations ${s.iterations}, f − f_slow ${(s.objective - objective(p, slow)).toExponential(2)}`)
          t.ok(s.kktResidual <= 1e-10, `${set} ${P.kind}: residual ${s.kktResidual.toExponential(2)}`)
          t.ok(s.objective <= objective(p, slow) + 1e-12 * Math.max(1, Math.abs(s.objective)))
        }
      })
    }
  }
  t.comment(rows.join('\n'))
})

t.test('ill-conditioned and singular random P: every set reaches 1e-10, re-polishing after FISTA when a face is wrong', async (t) => {
  const r = rng(11)
  let worst = 0, retried = 0, maxIt = 0
  for (let rep = 0; rep < 12; rep++) {
    const n = [5, 20, 40][rep % 3]!, k = [1, 3, n, 2 * n][rep % 4]!, shift = [0, 1e-6, 1e-2][rep % 3]!
    withDim(n, (d) => {
      const P = dense(psd(r, d, k, shift)), q = vec(d, () => r.normal()), w = vec(d, () => 0.5 + r.uniform())
      for (const set of SETS) {
        for (const rad of [0.01, 0.3, 3, 100]) {
          const s = solveExact(set, { P, q, w, t: rad })
          worst = Math.max(worst, s.kktResidual)
          maxIt = Math.max(maxIt, s.iterations)
          if (s.polishAttempts > 1) retried++
          t.ok(s.kktResidual <= 1e-10, `n=${n} rank=${Math.min(k, n)} shift=${shift} ${set} t=${rad}: ${s.kktResidual.toExponential(2)}`)
        }
      }
    })
  }
  t.ok(retried > 0, 'some cases needed more than one polish')
  t.comment(`worst KKT ${worst.toExponential(2)}, ${retried} of 192 cases re-polished, at most ${maxIt} FISTA iterations`)
})

t.test('a CSR P gives the same solution as its dense copy', async (t) => {
  withDim(5, (d) => {
    // tridiagonal, diagonally dominant: 3 on the diagonal, −1 off it
    const rowPtr = [0], colIdx: number[] = [], values: number[] = []
    for (let i = 0; i < 5; i++) {
      for (const j of [i - 1, i, i + 1]) if (j >= 0 && j < 5) { colIdx.push(j); values.push(i === j ? 3 : -1) }
      rowPtr.push(colIdx.length)
    }
    const op = csr(d, rowPtr, colIdx, values)
    if (E.isLeft(op)) { t.fail('csr'); return }
    const q = vec(d, (i) => [1, -2, 0.5, 3, -1][i]!), w = vec(d, () => 1)
    for (const set of SETS) {
      const a = solveExact(set, { P: op.right, q, w, t: 0.4 }), b = solveExact(set, { P: dense(toDense(op.right)), q, w, t: 0.4 })
      t.ok(diffNorm(a.x.data, b.x.data) <= 1e-14, set)
      t.ok(a.kktResidual <= 1e-14, `${set} residual ${a.kktResidual}`)
    }
  })
})

t.test('n = 1 on every set', async (t) => {
  withDim(1, (d) => {
    const p = { P: dense({ rows: d, cols: d, data: Float64Array.of(2) }), q: vec(d, () => -3), w: vec(d, () => 0.5), t: 0.4 }
    const expected: Record<SetKind, number> = { l1: 0.8, linf: 0.4, l2: 0.4, simplex: 0.4 }
    for (const set of SETS) {
      const s = solveExact(set, p)
      t.ok(Math.abs(s.x.data[0]! - expected[set]) <= 1e-15, `${set}: x = ${s.x.data[0]}`)
      t.ok(s.kktResidual <= 1e-15)
    }
    const inner = solveExact('l1', { ...p, t: 10 })
    t.ok(Math.abs(inner.x.data[0]! - 1.5) <= 1e-15 && inner.lambda === 0, 'interior: x = 1.5, λ = 0')
  })
})

t.test('refuses t ≤ 0 and non-positive weights', async (t) => {
  withDim(2, (d) => {
    const p = { P: dense({ rows: d, cols: d, data: Float64Array.of(1, 0, 0, 1) }), q: vec(d, () => 1), w: vec(d, () => 1), t: 0 }
    t.throws(() => solveExact('l1', p), RangeError)
    t.throws(() => solveExact('l1', { ...p, t: 1, w: vec(d, () => 0) }), RangeError)
  })
})

t.test('kktResidual is large away from the solution', async (t) => {
  withDim(20, (d) => {
    const p = paperProblem(d, 0)
    const s = solveExact('l1', { ...p, t: radius('l1', p, 0.2) })
    const moved = { dim: d, data: Float64Array.from(s.x.data, (v, i) => (i === 0 ? v * 0.9 : v)) }
    t.ok(kktResidual('l1', { ...p, t: radius('l1', p, 0.2) }, moved, s.lambda) > 1e-6)
    t.ok(kktResidual('l1', { ...p, t: radius('l1', p, 0.2) }, s.x, s.lambda * 1.01) > 1e-4)
  })
})

// -------------------------------------------------------------------------------------
// the derivative
// -------------------------------------------------------------------------------------

interface DerivCase<N> {
  readonly label: string
  readonly set: SetKind
  readonly p: Params<N>
}

const derivCases = <N>(d: Dim<N>, seed: number): Array<DerivCase<N>> => {
  const p = paperProblem(d, seed)
  return [
    { label: 'l1 binding 0.2', set: 'l1', p: { ...p, t: radius('l1', p, 0.2) } },
    { label: 'l1 binding 0.05', set: 'l1', p: { ...p, t: radius('l1', p, 0.05) } },
    { label: 'l1 interior', set: 'l1', p: { ...p, t: radius('l1', p, 2) } },
    { label: 'linf 0.5', set: 'linf', p: { ...p, t: radius('linf', p, 0.5) } },
    { label: 'l2 binding', set: 'l2', p: { ...p, t: radius('l2', p, 0.3) } },
    { label: 'l2 interior', set: 'l2', p: { ...p, t: radius('l2', p, 2) } },
    { label: 'simplex 0.2', set: 'simplex', p: { ...p, t: radius('simplex', p, 0.2) } },
    { label: 'simplex 1', set: 'simplex', p: { ...p, t: radius('simplex', p, 1) } }
  ]
}

const randomTangent = <N>(r: Rng, d: Dim<N>, which: 'q' | 'w' | 't' | 'P' | 'all'): ParamsTangent<N> => {
  const n = d as number
  const sym = (): Mat<N, N> => {
    const o = new Float64Array(n * n)
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { const v = r.normal(); o[i * n + j] = v; o[j * n + i] = v }
    return { rows: d, cols: d, data: o }
  }
  const tq = vec(d, () => r.normal()), tw = vec(d, () => r.normal()), tt = r.normal(), tP = sym()
  switch (which) {
    case 'q': return { q: tq }
    case 'w': return { w: tw }
    case 't': return { t: tt }
    case 'P': return { P: tP }
    case 'all': return { q: tq, w: tw, t: tt, P: tP }
  }
}

const perturbed = <N>(p: Params<N>, tan: ParamsTangent<N>, h: number): Params<N> => {
  const n = p.q.dim as number
  const add = (a: Float64Array, b: Float64Array | undefined): Float64Array => Float64Array.from(a, (v, i) => v + h * (b === undefined ? 0 : b[i]!))
  const P = tan.P === undefined ? p.P : dense({ rows: p.q.dim, cols: p.q.dim, data: add(toDense(p.P).data, tan.P.data) })
  void n
  return { P, q: { dim: p.q.dim, data: add(p.q.data, tan.q?.data) }, w: { dim: p.q.dim, data: add(p.w.data, tan.w?.data) }, t: p.t + h * (tan.t ?? 0) }
}

t.test('kktDerivative agrees with central finite differences of solveExact in q, w, t and P', async (t) => {
  const r = rng(6)
  const rows: string[] = []
  let worst = 0
  for (const [n, seeds] of [[8, [0, 1]], [25, [0, 1]], [100, [0]]] as const) {
    for (const seed of seeds) {
      withDim(n, (d) => {
        for (const c of derivCases(d, seed)) {
          const s = solveExact(c.set, c.p)
          const D = kktDerivative(c.set, c.p, s)
          t.equal(D.rank, D.size, `${c.label}: the face system is nonsingular`)
          const errs: string[] = []
          for (const which of ['q', 'w', 't', 'P'] as const) {
            const tan = randomTangent(r, d, which)
            const scale = which === 't' ? c.p.t : which === 'P' ? n : 1
            const h = 1e-6 * scale
            const sp = solveExact(c.set, perturbed(c.p, tan, h)), sm = solveExact(c.set, perturbed(c.p, tan, -h))
            t.ok(sameFace(sp.face, s.face) && sameFace(sm.face, s.face), `n=${n} seed=${seed} ${c.label} d${which}: the face is stable under ±h`)
            const fd = Float64Array.from(sp.x.data, (v, i) => (v - sm.x.data[i]!) / (2 * h))
            const jv = D.jvp(tan).data
            const err = diffNorm(jv, fd) / Math.max(nrmA(fd), nrmA(jv), 1e-12 * nrmA(s.x.data) / scale)
            worst = Math.max(worst, err)
            errs.push(`d${which} ${err.toExponential(1)}`)
            t.ok(err <= 1e-6, `n=${n} seed=${seed} ${c.label} d${which}: relative error ${err.toExponential(2)}`)
          }
          rows.push(`n=${String(n).padEnd(3)} seed=${seed} ${c.label.padEnd(16)} ${faceSize(s.face, n).padEnd(22)} ${errs.join('  ')}`)
        }
      })
    }
  }
  t.comment(rows.join('\n'))
  t.comment(`worst relative JVP-vs-FD error ${worst.toExponential(2)}`)
})

t.test('kktDerivative: ⟨J v, u⟩ = ⟨v, Jᵀu⟩ for tangents of all parameters at once', async (t) => {
  const r = rng(7)
  let worst = 0
  for (const n of [1, 8, 40]) {
    for (const seed of [0, 1, 2]) {
      withDim(n, (d) => {
        for (const c of derivCases(d, seed)) {
          const s = solveExact(c.set, c.p)
          const D = kktDerivative(c.set, c.p, s)
          const v = randomTangent(r, d, 'all'), u = vec(d, () => r.normal())
          const lhs = dotA(D.jvp(v).data, u.data)
          const g = D.vjp(u)
          const rhs = dotA(g.q.data, v.q!.data) + dotA(g.w.data, v.w!.data) + g.t * v.t! + dotA(g.P.data, v.P!.data)
          const err = Math.abs(lhs - rhs) / Math.max(1e-300, Math.abs(lhs), Math.abs(rhs))
          worst = Math.max(worst, err)
          t.ok(err <= 1e-10, `n=${n} seed=${seed} ${c.label}: ${lhs} vs ${rhs}`)
        }
      })
    }
  }
  t.comment(`worst transpose defect ${worst.toExponential(2)}`)
})

t.test('kktDerivative: w and t do not move an interior l1 solution; w never moves the other sets', async (t) => {
  withDim(10, (d) => {
    const p = paperProblem(d, 0)
    const r = rng(8)
    const cases: Array<[SetKind, number]> = [['l1', radius('l1', p, 3)], ['linf', radius('linf', p, 0.5)], ['l2', radius('l2', p, 0.5)], ['simplex', 1]]
    for (const [set, rad] of cases) {
      const q = { ...p, t: rad }
      const D = kktDerivative(set, q, solveExact(set, q))
      t.equal(nrmA(D.jvp({ w: vec(d, () => r.normal()) }).data), 0, `${set}: dw moves nothing`)
      t.equal(nrmA(D.vjp(vec(d, () => r.normal())).w.data), 0, `${set}: ∇w = 0`)
    }
    const q = { ...p, t: radius('l1', p, 3) }
    t.equal(nrmA(kktDerivative('l1', q, solveExact('l1', q)).jvp({ t: 1 }).data), 0, 'l1 interior: dt moves nothing')
  })
})

t.test('kktDerivative refuses a solution of another set', async (t) => {
  withDim(4, (d) => {
    const p = paperProblem(d, 0)
    const s: ExactSolution<typeof d extends Dim<infer N> ? N : never> = solveExact('l2', p)
    t.throws(() => kktDerivative('l1', p, s), RangeError)
  })
})
