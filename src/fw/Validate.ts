/**
 * Checks a problem and the layer's options before any work, so that bad input gets a
 * clear error naming the bad value's path and never a NaN or a silently wrong answer.
 *
 * Magnitudes (docs/edge-cases.md): the solver forms products such as xᵀP x, ‖P v‖² (power
 * iteration), ‖g‖² (the l2 ball's vertex) and uᵀP u (line search). They stay finite when
 * every row i of P and every qᵢ satisfies, with ρᵢ = max(1, Rᵢ) and Rᵢ the largest |xᵢ|
 * the set allows (t/wᵢ on the l1 ball, t otherwise),
 *   ρᵢ Σⱼ |Pᵢⱼ| ρⱼ ≤ 1e150,   |qᵢ| ρᵢ ≤ 1e150,   Rᵢ ≤ 1e150,
 * since then gradients, objective terms and their squares are at most n·1e300. A problem
 * beyond this is refused at the path of its largest offending entry (`P[2][0]`,
 * `P.diag[1]`, `P.U[1][0]`, `P.csr.values[4]`, `q[3]`, `w[0]`, `t`) rather than solved
 * into an Infinity, a NaN or a silently stalled iterate.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { LinearOperator } from '../core/LinearOperator.js'
import type { Params, Problem, SetKind } from './Problem.js'
import { type LayerOptions, LayerError } from './Options.js'

const SETS: readonly SetKind[] = ['l1', 'linf', 'l2', 'simplex']

const finiteVec = <N>(v: Vec<N>, n: number, path: string, positive: boolean): void => {
  if (v.data.length !== n || (v.dim as number) !== n) throw new LayerError(`expected ${n} entries, got ${v.data.length}`, path)
  for (let i = 0; i < n; i++) {
    const x = v.data[i]!
    if (!Number.isFinite(x)) throw new LayerError(`expected a finite number, got ${String(x)}`, `${path}[${i}]`)
    if (positive && !(x > 0)) throw new LayerError(`expected a positive number, got ${String(x)}`, `${path}[${i}]`)
  }
}

/**
 * The largest magnitude the validated problem's scaled entries may reach (see the module
 * notes): squares and n-term sums of quantities of this size stay below 1.8e308.
 *
 * @example
 * Math.abs(q[i]) * Math.max(1, t) <= MAGNITUDE_LIMIT
 */
export const MAGNITUDE_LIMIT = 1e150

const fmt = (x: number): string => x.toPrecision(3).replace(/\.?0+e/, 'e')

const tooLarge = (path: string, value: number, what: string, size: number): LayerError =>
  new LayerError(`${path} = ${String(value)} is too large: ${what} is ${fmt(size)} > ${fmt(MAGNITUDE_LIMIT)}, beyond which the solver's products overflow (ρᵢ = max(1, the largest |xᵢ| the set allows))`, path)

/**
 * Checks P's entries (finite) and the magnitude rule of the module notes, naming the
 * largest contribution of the first offending row.
 */
const checkOperator = <N>(P: LinearOperator<N>, rho: Float64Array): void => {
  const n = rho.length
  const M = MAGNITUDE_LIMIT
  switch (P.kind) {
    case 'dense': {
      const a = P.mat.data
      if (a.length !== n * n) throw new LayerError(`expected ${n * n} entries in P, got ${a.length}`, 'P')
      for (let i = 0, r = 0; i < n; i++, r += n) {
        // the row's weighted sum alone: a NaN or ±Infinity entry makes it non-finite, and
        // only then (or when it is too large) is the row scanned again for the path
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0, j = 0
        for (; j + 3 < n; j += 4) {
          s0 += Math.abs(a[r + j]!) * rho[j]!
          s1 += Math.abs(a[r + j + 1]!) * rho[j + 1]!
          s2 += Math.abs(a[r + j + 2]!) * rho[j + 2]!
          s3 += Math.abs(a[r + j + 3]!) * rho[j + 3]!
        }
        for (; j < n; j++) s0 += Math.abs(a[r + j]!) * rho[j]!
        const s = (s0 + s1) + (s2 + s3)
        if (s * rho[i]! <= M) continue
        let big = -1, jb = 0
        for (let j = 0; j < n; j++) {
          const v = a[r + j]!
          if (!Number.isFinite(v)) throw new LayerError(`expected a finite number, got ${String(v)}`, `P[${i}][${j}]`)
          const c = Math.abs(v) * rho[j]!
          if (c > big) { big = c; jb = j }
        }
        throw tooLarge(`P[${i}][${jb}]`, a[r + jb]!, `row ${i}'s ρᵢ Σⱼ |Pᵢⱼ| ρⱼ`, s * rho[i]!)
      }
      return
    }
    case 'lowRank': {
      const d = P.diag.data, U = P.U, r = P.rank
      for (let i = 0; i < n; i++) if (!Number.isFinite(d[i]!)) throw new LayerError(`expected a finite number, got ${String(d[i])}`, `P.diag[${i}]`)
      // column sums cₖ = Σⱼ |Uⱼₖ| ρⱼ bound row i of |U Uᵀ| ρ by Σₖ |Uᵢₖ| cₖ
      const col = new Float64Array(r)
      for (let j = 0; j < n; j++) {
        for (let k = 0; k < r; k++) {
          const v = U[j * r + k]!
          if (!Number.isFinite(v)) throw new LayerError(`expected a finite number, got ${String(v)}`, `P.U[${j}][${k}]`)
          col[k] = col[k]! + Math.abs(v) * rho[j]!
        }
      }
      for (let i = 0; i < n; i++) {
        const ri = rho[i]!
        let s = Math.abs(d[i]!) * ri, big = s, kb = -1
        for (let k = 0; k < r; k++) {
          const c = Math.abs(U[i * r + k]!) * col[k]!
          s += c
          if (c > big) { big = c; kb = k }
        }
        s *= ri
        if (s > M) {
          if (kb === -1) throw tooLarge(`P.diag[${i}]`, d[i]!, `row ${i}'s ρᵢ Σⱼ |Pᵢⱼ| ρⱼ`, s)
          throw tooLarge(`P.U[${i}][${kb}]`, U[i * r + kb]!, `row ${i}'s ρᵢ Σⱼ |(diag + U Uᵀ)ᵢⱼ| ρⱼ (bounded through U)`, s)
        }
      }
      return
    }
    case 'csr': {
      const rp = P.rowPtr, ci = P.colIdx, vs = P.values
      for (let i = 0; i < n; i++) {
        let s = 0, big = -1, kb = -1
        for (let k = rp[i]!; k < rp[i + 1]!; k++) {
          const v = vs[k]!
          if (!Number.isFinite(v)) throw new LayerError(`expected a finite number, got ${String(v)}`, `P.csr.values[${k}]`)
          const c = Math.abs(v) * rho[ci[k]!]!
          s += c
          if (c > big) { big = c; kb = k }
        }
        s *= rho[i]!
        if (s > M) throw tooLarge(`P.csr.values[${kb}]`, vs[kb]!, `row ${i}'s ρᵢ Σⱼ |Pᵢⱼ| ρⱼ`, s)
      }
      return
    }
  }
}

/**
 * The magnitude rule of the module notes for a problem whose entries are already known
 * finite, t > 0 and w > 0. Throws a `LayerError` at the largest offending entry.
 *
 * @example
 * checkMagnitudes('l1', { P, q, w, t: 1 }) // throws at P[0][0] when P₀₀ = 1e200
 */
export const checkMagnitudes = <N>(set: SetKind, theta: Params<N>): void => {
  const n = theta.q.data.length, t = theta.t, M = MAGNITUDE_LIMIT
  if (t > M) throw tooLarge('t', t, 't', t)
  const rho = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const R = set === 'l1' ? t / theta.w.data[i]! : t
    if (R > M) throw tooLarge(`w[${i}]`, theta.w.data[i]!, `the radius t/w[${i}]`, R)
    rho[i] = Math.max(1, R)
  }
  for (let i = 0; i < n; i++) {
    const s = Math.abs(theta.q.data[i]!) * rho[i]!
    if (s > M) throw tooLarge(`q[${i}]`, theta.q.data[i]!, `|q[${i}]| ρ[${i}]`, s)
  }
  checkOperator(theta.P, rho)
}

/**
 * Validates and resolves defaults (w = 1, set = l1). Throws a `LayerError`.
 *
 * @example
 * validateProblem({ P, q, t: 1 }, {}) // { theta: { P, q, w: ones, t: 1 }, set: 'l1' }
 */
export const validateProblem = <N>(problem: Problem<N>, options: LayerOptions): { readonly theta: Params<N>; readonly set: SetKind } => {
  const n = problem.q.data.length
  const spec = problem.set ?? 'l1'
  const set = (typeof spec === 'string' ? spec : spec.kind) as SetKind
  if (!SETS.includes(set)) throw new LayerError(`unknown set ${JSON.stringify(set)}; expected one of ${SETS.join(', ')}`, 'set')
  if (typeof problem.t !== 'number' || !Number.isFinite(problem.t) || !(problem.t > 0)) {
    throw new LayerError(`t must be a finite number > 0, got ${String(problem.t)}`, 't')
  }
  finiteVec(problem.q, n, 'q', false)
  if ((problem.P.dim as number) !== n) throw new LayerError(`P is ${problem.P.dim as number}×${problem.P.dim as number} but q has ${n} entries`, 'P')
  const w: Vec<N> = problem.w ?? { dim: problem.q.dim, data: new Float64Array(n).fill(1) }
  finiteVec(w, n, 'w', true)
  const o = options
  if (o.schedule !== undefined && o.schedule !== 'paper' && o.schedule !== 'default') {
    throw new LayerError(`unknown schedule ${JSON.stringify(o.schedule)}; expected paper or default`, 'options.schedule')
  }
  if (o.backward !== undefined && o.backward !== 'unrolled' && o.backward !== 'implicit') {
    throw new LayerError(`unknown backward ${JSON.stringify(o.backward)}; expected unrolled or implicit`, 'options.backward')
  }
  if (o.maxIterations !== undefined && !(Number.isSafeInteger(o.maxIterations) && o.maxIterations >= 1)) {
    throw new LayerError(`maxIterations must be an integer ≥ 1, got ${String(o.maxIterations)}`, 'options.maxIterations')
  }
  if (o.tolerance !== undefined && !(Number.isFinite(o.tolerance) && o.tolerance >= 0)) {
    throw new LayerError(`tolerance must be a finite number ≥ 0, got ${String(o.tolerance)}`, 'options.tolerance')
  }
  if (o.lipschitz !== undefined && !(Number.isFinite(o.lipschitz) && o.lipschitz > 0)) {
    throw new LayerError(`lipschitz must be a finite number > 0, got ${String(o.lipschitz)}`, 'options.lipschitz')
  }
  if (o.beta0 !== undefined && !(Number.isFinite(o.beta0) && o.beta0 > 0)) {
    throw new LayerError(`beta0 must be a finite number > 0, got ${String(o.beta0)}`, 'options.beta0')
  }
  if (o.checkpoint !== undefined && !(Number.isSafeInteger(o.checkpoint) && o.checkpoint >= 1)) {
    throw new LayerError(`checkpoint must be an integer ≥ 1, got ${String(o.checkpoint)}`, 'options.checkpoint')
  }
  const theta: Params<N> = { P: problem.P, q: problem.q, w, t: problem.t as number }
  checkMagnitudes(set, theta)
  return { theta, set }
}
