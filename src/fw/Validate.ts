/**
 * Checks a problem, the layer's options and the arguments of `vjp`/`jvp` before any work,
 * so that bad input gets a {@link LayerError} naming the bad value's path, never a
 * TypeError, a NaN or a silently wrong answer. The library validates as `dfw solve` does
 * (CONTRACT.md), with paths in the notation of the problem's JSON form: `P[2][1]`,
 * `P.diag[0]`, `P.U[1][0]`, `P.csr.rowPtr[2]`, `q[3]`, `set.lower[3]`, `options.foo`,
 * `cotangent[3]`, `tangent.P[1][2]`.
 *
 * What is checked, in order:
 * - **options**: an object (or undefined) whose keys are the layer's options
 *   (`LAYER_OPTION_KEYS`), each in its range;
 * - **the problem**: an object; `P` a `LinearOperator` of kind dense, lowRank or csr whose
 *   structure holds (dense data n×n; diag of n entries and U of n·rank; CSR as `csr()` of
 *   src/core/LinearOperator.ts refuses it), checked once per operator object (a WeakSet);
 *   `q` a `Vec` of finite numbers (a plain array is refused: build a Vec with
 *   `vector(n, xs)`), P of q's size;
 * - **the set** (string or object form, CONTRACT.md "More sets"), its parameters, and the
 *   rules that tie it to `t`, `w` and `options.schedule`;
 * - **finiteness and magnitudes** (below) and **symmetry** of a dense or CSR P, entry by
 *   entry, on every call.
 *
 * Documented choices:
 * - `w` is refused (at `w`) on every set that is not one of the four original ones. On
 *   linf, l2 and simplex the library still accepts it (and ignores it; its gradient is 0),
 *   as it always has; `dfw solve` refuses it there, as CONTRACT.md says.
 * - On the sets without a radius (box, capped-simplex, birkhoff, polytope) θ.t is 0, and
 *   a given `t` is an error at `t`. θ.w is all ones on every set but l1.
 * - θ carries `lower`/`upper` (box) and `k` (capped-simplex, and ksparse, where it is a
 *   constant: no gradient).
 * - Symmetry: a dense P is refused at the first offending entry Pᵢⱼ with i > j in
 *   row-major order (the repro of issue 20 at `P[2][1]`); a CSR P at the stored value of
 *   the offending pair, preferring the one below the diagonal.
 * - The extra fields of a problem object are ignored (a `Params` record spread into a
 *   problem is a problem); those of a set object are refused.
 *
 * Magnitudes (docs/edge-cases.md): the solver forms products such as xᵀP x, ‖P v‖² (power
 * iteration), ‖g‖² (the l2 ball's vertex) and uᵀP u (line search). They stay finite when
 * every row i of P and every qᵢ satisfies, with ρᵢ = max(1, Rᵢ) and Rᵢ the largest |xᵢ|
 * the set allows (t/wᵢ on the l1 ball; t on linf, l2, simplex, ksparse and nuclear;
 * max(|lowerᵢ|, |upperᵢ|) on the box; 1 on the capped simplex, Birkhoff and a polytope
 * known by its oracle, whose vertices the layer cannot bound),
 *   ρᵢ Σⱼ |Pᵢⱼ| ρⱼ ≤ 1e150,   |qᵢ| ρᵢ ≤ 1e150,   Rᵢ ≤ 1e150,
 * since then gradients, objective terms and their squares are at most n·1e300. A problem
 * beyond this is refused at the path of its largest offending entry (`P[2][0]`,
 * `P.diag[1]`, `P.U[1][0]`, `P.csr.values[4]`, `q[3]`, `w[0]`, `t`, `set.upper[2]`) rather
 * than solved into an Infinity, a NaN or a silently stalled iterate.
 *
 * @since 0.1.0
 */
import type { Vec } from '../shapes/Vec.js'
import type { Mat } from '../shapes/Mat.js'
import { unsafeDim } from '../shapes/Dim.js'
import { joinKey, quoteKey } from '../shapes/internal.js'
import { type LinearOperator, csr } from '../core/LinearOperator.js'
import { denseAsymmetry, csrAsymmetry, asymmetryMessage, csrAsymmetryMessage } from '../core/OperatorCodec.js'
import type { Params, ParamsTangent, Problem, SetKind, SetName } from './Problem.js'
import { denseSymmetricExactly } from '../core/simd.js'
import { operatorRowAbs } from './Oracle.js'
import { type LayerOptions, LayerError, LAYER_OPTION_KEYS } from './Options.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A validated set, normalised: its kind, the matrix shape of the sets whose points are
 * matrices (`birkhoff`: m×m, `nuclear`: rows×cols), and the oracle of a polytope. The
 * set's numeric parameters (lower, upper, k) are in θ.
 *
 * @example
 * validateProblem({ P, q, set: { kind: 'birkhoff' } }, {}).set // { kind: 'birkhoff', rows: 3, cols: 3 } for n = 9
 */
export interface ResolvedSet<N = unknown> {
  /** The set's kind. */
  readonly kind: SetName
  /** The matrix shape of a point: birkhoff m×m, nuclear rows×cols (x row-major). */
  readonly rows?: number
  readonly cols?: number
  /** A polytope's oracle: a vertex minimizing ⟨g, ·⟩. */
  readonly lmo?: (g: Vec<N>) => Vec<N>
}

/** The four sets of the original table: the ones with w, t and the paper's smoothed oracle. */
const ORIGINAL: readonly SetKind[] = ['l1', 'linf', 'l2', 'simplex']
const isOriginal = (kind: string): kind is SetKind => (ORIGINAL as readonly string[]).includes(kind)

/**
 * Every set kind the library knows, in the order messages list them.
 *
 * @example
 * SET_NAMES.includes('birkhoff') // true
 */
export const SET_NAMES: readonly SetName[] = ['l1', 'linf', 'l2', 'simplex', 'box', 'capped-simplex', 'ksparse', 'birkhoff', 'nuclear', 'polytope']

/**
 * Whether a set has the radius t (required, > 0), per CONTRACT.md's table.
 *
 * @example
 * hasRadius('ksparse') // true
 * hasRadius('box')     // false
 */
export const hasRadius = (kind: SetName): boolean =>
  kind === 'l1' || kind === 'linf' || kind === 'l2' || kind === 'simplex' || kind === 'ksparse' || kind === 'nuclear'

/**
 * The parameters of θ that a set's tangents and gradients name besides q and P
 * (CONTRACT.md, "More sets"): w and t for the four original sets, lower and upper for the
 * box, k for the capped simplex, t for ksparse and nuclear, none for birkhoff and a
 * polytope.
 *
 * @example
 * setParameters('box') // ['lower', 'upper']
 */
export const setParameters = (kind: SetName): readonly ('w' | 't' | 'lower' | 'upper' | 'k')[] => {
  switch (kind) {
    case 'l1': case 'linf': case 'l2': case 'simplex': return ['w', 't']
    case 'box': return ['lower', 'upper']
    case 'capped-simplex': return ['k']
    case 'ksparse': case 'nuclear': return ['t']
    case 'birkhoff': case 'polytope': return []
  }
}

/**
 * Whether the paper schedule has a smoothed oracle for the set (the four original sets).
 *
 * @example
 * hasSmoothedOracle('birkhoff') // false: `schedule: "paper"` is refused at options.schedule
 */
export const hasSmoothedOracle = (kind: SetName): boolean => isOriginal(kind)

// -------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null

const describe = (u: unknown): string => {
  if (u === null) return 'null'
  if (u === undefined) return 'nothing'
  if (Array.isArray(u)) return `an array of ${u.length} entries`
  if (ArrayBuffer.isView(u)) return `a ${u.constructor.name}`
  if (typeof u === 'string') return quoteKey(u)
  if (typeof u === 'object') return 'an object'
  if (typeof u === 'function') return 'a function'
  return String(u)
}

const isArrayLike = (u: unknown): u is ArrayLike<number> =>
  Array.isArray(u) || (ArrayBuffer.isView(u) && !(u instanceof DataView))

/**
 * Checks that `u` is a `Vec` of n finite numbers (positive ones with `positive`), naming
 * the bad entry `path[i]`.
 */
const checkVec = (u: unknown, n: number | undefined, path: string, positive = false): void => {
  if (u === undefined) throw new LayerError(`missing ${path} (expected a Vec${n === undefined ? '' : ` of ${n} entries`}; build one with vector(n, xs))`, path)
  if (Array.isArray(u) || ArrayBuffer.isView(u)) throw new LayerError(`expected a Vec; build one with vector(n, xs) (got ${describe(u)})`, path)
  if (!isObject(u) || !((u as { data?: unknown }).data instanceof Float64Array) || typeof (u as { dim?: unknown }).dim !== 'number') {
    throw new LayerError(`expected a Vec { dim, data: Float64Array }; build one with vector(n, xs) (got ${describe(u)})`, path)
  }
  const v = u as unknown as Vec<unknown>
  const d = v.data
  if ((v.dim as number) !== d.length) throw new LayerError(`expected a Vec whose dim is its length, got dim ${String(v.dim)} and ${d.length} entries`, path)
  if (n !== undefined && d.length !== n) throw new LayerError(`expected ${n} entries, got ${d.length}`, path)
  for (let i = 0; i < d.length; i++) {
    const x = d[i]!
    if (!Number.isFinite(x)) throw new LayerError(`expected a finite number, got ${String(x)}`, `${path}[${i}]`)
    if (positive && !(x > 0)) throw new LayerError(`expected a positive number, got ${String(x)}`, `${path}[${i}]`)
  }
}

/** Checks that `u` is a finite number. */
const checkNumber = (u: unknown, path: string): number => {
  if (typeof u !== 'number' || !Number.isFinite(u)) throw new LayerError(`expected a finite number, got ${describe(u)}`, path)
  return u
}

/** Checks that `u` is an n×n `Mat` of finite numbers, naming the bad entry `path[i][j]`. */
const checkMat = (u: unknown, n: number, path: string): void => {
  if (Array.isArray(u) || ArrayBuffer.isView(u)) throw new LayerError(`expected a Mat, got ${describe(u)}; build one with matrix(n, n, rows)`, path)
  if (!isObject(u) || !((u as { data?: unknown }).data instanceof Float64Array)) {
    throw new LayerError(`expected a Mat { rows, cols, data: Float64Array }, got ${describe(u)}; build one with matrix(n, n, rows)`, path)
  }
  const m = u as unknown as Mat<unknown, unknown>
  if ((m.rows as number) !== n || (m.cols as number) !== n || m.data.length !== n * n) {
    throw new LayerError(`expected a ${n}×${n} matrix, got ${String(m.rows)}×${String(m.cols)} with ${m.data.length} entries`, path)
  }
  const d = m.data
  for (let k = 0; k < n * n; k++) {
    if (!Number.isFinite(d[k]!)) throw new LayerError(`expected a finite number, got ${String(d[k])}`, `${path}[${Math.floor(k / n)}][${k % n}]`)
  }
}

/** Refuses the keys of `o` outside `allowed`, at `parent.key` (quoted when odd). */
const checkKeys = (o: object, allowed: readonly string[], parent: string, noun: string): void => {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new LayerError(`unknown ${noun} ${quoteKey(k)}; expected ${allowed.length === 0 ? 'none' : `one of ${allowed.join(', ')}`}`, joinKey(parent, k))
    }
  }
}

// -------------------------------------------------------------------------------------
// options
// -------------------------------------------------------------------------------------

/**
 * Checks the layer's options: an object (or undefined), only the keys of
 * `LAYER_OPTION_KEYS`, each value in its range. Throws a `LayerError` at
 * `options.<key>` (or `options`).
 *
 * @example
 * validateOptions({ maxIterations: 0 }) // throws at options.maxIterations
 * validateOptions({ foo: 1 })           // throws at options.foo: unknown option "foo"
 */
export const validateOptions = (options: unknown): LayerOptions => {
  if (options === undefined) return {}
  if (!isObject(options) || Array.isArray(options)) throw new LayerError(`expected an object of options, got ${describe(options)}`, 'options')
  checkKeys(options, LAYER_OPTION_KEYS, 'options', 'option')
  const o = options as LayerOptions
  if (o.schedule !== undefined && o.schedule !== 'paper' && o.schedule !== 'default') {
    throw new LayerError(`unknown schedule ${describe(o.schedule)}; expected paper or default`, 'options.schedule')
  }
  if (o.backward !== undefined && o.backward !== 'unrolled' && o.backward !== 'implicit') {
    throw new LayerError(`unknown backward ${describe(o.backward)}; expected unrolled or implicit`, 'options.backward')
  }
  if (o.maxIterations !== undefined && !(Number.isSafeInteger(o.maxIterations) && o.maxIterations >= 1)) {
    throw new LayerError(`maxIterations must be an integer ≥ 1, got ${describe(o.maxIterations)}`, 'options.maxIterations')
  }
  if (o.tolerance !== undefined && !(Number.isFinite(o.tolerance) && o.tolerance >= 0)) {
    throw new LayerError(`tolerance must be a finite number ≥ 0, got ${describe(o.tolerance)}`, 'options.tolerance')
  }
  const positive = (key: 'lipschitz' | 'beta0' | 'timeLimitMs' | 'tapeBudgetMB'): void => {
    const v = o[key]
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) {
      throw new LayerError(`${key} must be a finite number > 0, got ${describe(v)}`, `options.${key}`)
    }
  }
  positive('lipschitz')
  positive('beta0')
  if (o.checkpoint !== undefined && !(Number.isSafeInteger(o.checkpoint) && o.checkpoint >= 1)) {
    throw new LayerError(`checkpoint must be an integer ≥ 1, got ${describe(o.checkpoint)}`, 'options.checkpoint')
  }
  positive('timeLimitMs')
  positive('tapeBudgetMB')
  return o
}

// -------------------------------------------------------------------------------------
// the operator
// -------------------------------------------------------------------------------------

/** Operators whose structure has been checked (it is not checked again). */
const checkedStructure = new WeakSet<object>()

/**
 * Checks that `P` is a `LinearOperator` whose structure holds: kind dense, lowRank or csr;
 * `dim` a positive integer; dense data of dim² entries; a diag of dim entries and U of
 * dim·rank; CSR arrays as `csr()` (src/core/LinearOperator.ts) requires them. Each
 * operator object is checked once (its structure is immutable by contract); its values are
 * checked on every call by {@link checkMagnitudes}.
 *
 * @example
 * checkOperatorStructure({ kind: 'csr', dim: 2, rowPtr: [0, 2, 1], colIdx: [0, 1], values: [1, 1] }) // throws at P.csr.rowPtr[2]
 */
export const checkOperatorStructure = (P: unknown): void => {
  const want = 'a LinearOperator (build one with dense, lowRank or csr)'
  if (P === undefined) throw new LayerError(`missing P: expected ${want}`, 'P')
  if (!isObject(P) || Array.isArray(P) || ArrayBuffer.isView(P)) throw new LayerError(`expected ${want}, got ${describe(P)}`, 'P')
  if (checkedStructure.has(P)) return
  const kind = (P as { kind?: unknown }).kind
  if (kind !== 'dense' && kind !== 'lowRank' && kind !== 'csr') {
    throw new LayerError(`expected ${want}, got an object of kind ${describe(kind)}; the kinds are dense, lowRank and csr`, 'P')
  }
  const n = (P as { dim?: unknown }).dim
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new LayerError(`expected the operator's dim to be an integer ≥ 1, got ${describe(n)}`, 'P')
  const op = P as unknown as LinearOperator<unknown>
  switch (op.kind) {
    case 'dense': {
      const m = op.mat as unknown
      if (!isObject(m) || !((m as { data?: unknown }).data instanceof Float64Array)) throw new LayerError(`expected a dense operator's mat to be a Mat, got ${describe(m)}`, 'P')
      const mm = m as unknown as Mat<unknown, unknown>
      if ((mm.rows as number) !== n || (mm.cols as number) !== n || mm.data.length !== n * n) {
        throw new LayerError(`expected a ${n}×${n} matrix (dim ${n}), got ${String(mm.rows)}×${String(mm.cols)} with ${mm.data.length} entries`, 'P')
      }
      break
    }
    case 'lowRank': {
      const d = op.diag as unknown
      if (!isObject(d) || !((d as { data?: unknown }).data instanceof Float64Array) || (d as unknown as Vec<unknown>).data.length !== n) {
        throw new LayerError(`expected diag to be a Vec of ${n} entries, got ${isObject(d) && (d as { data?: unknown }).data instanceof Float64Array ? `${(d as unknown as Vec<unknown>).data.length} entries` : describe(d)}`, 'P.diag')
      }
      const r = op.rank as unknown
      if (typeof r !== 'number' || !Number.isSafeInteger(r) || r < 0) throw new LayerError(`expected the rank of U to be an integer ≥ 0, got ${describe(r)}`, 'P.U')
      const U = op.U as unknown
      if (!(U instanceof Float64Array)) throw new LayerError(`expected U to be a Float64Array (n × rank, row-major), got ${describe(U)}`, 'P.U')
      if (U.length !== n * r) throw new LayerError(`expected U to hold n·rank = ${n}·${r} = ${n * r} entries, got ${U.length}`, 'P.U')
      break
    }
    case 'csr': {
      for (const key of ['rowPtr', 'colIdx', 'values'] as const) {
        if (!isArrayLike(op[key])) throw new LayerError(`expected ${key} to be an array, got ${describe(op[key])}`, `P.csr.${key}`)
      }
      const built = csr(unsafeDim<unknown>(n), op.rowPtr, op.colIdx, op.values, 'P.csr')
      if (built._tag === 'Left') throw new LayerError(built.left.message, built.left.path)
      break
    }
  }
  checkedStructure.add(P)
}

/**
 * Checks the symmetry of a dense or CSR P entry by entry (CONTRACT.md, "Errors"; see
 * `SYMMETRY_TOLERANCE` in src/core/OperatorCodec.ts), at the offending entry's path. A
 * diag + U Uᵀ is symmetric by construction. P's entries must be known finite.
 *
 * @example
 * checkSymmetry(dense(matrix(3, 3, [[1e10, 0, 0], [0, 1, 1], [0, 0, 1]]))) // throws at P[2][1]
 */
export const checkSymmetry = <N>(P: LinearOperator<N>): void => {
  const n = P.dim as number
  if (P.kind === 'dense') {
    const a = P.mat.data
    // exactly symmetric (the kernels' check, kept with P's resident copy while it is
    // unchanged): nothing for the tolerance rule to find
    if (denseSymmetricExactly(a, n)) return
    const bad = denseAsymmetry(a, n)
    if (bad !== undefined) throw new LayerError(asymmetryMessage(bad.i, bad.j, a[bad.i * n + bad.j]!, a[bad.j * n + bad.i]!), `P[${bad.i}][${bad.j}]`)
  } else if (P.kind === 'csr') {
    const k = csrAsymmetry(n, P.rowPtr, P.colIdx, P.values)
    if (k !== -1) throw new LayerError(csrAsymmetryMessage(P.rowPtr, P.colIdx, k), `P.csr.values[${k}]`)
  }
}

// -------------------------------------------------------------------------------------
// magnitudes
// -------------------------------------------------------------------------------------

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
      // the bound ρ_max² · maxᵢ Σⱼ |Pᵢⱼ| from the row sums the call keeps anyway (the
      // certificate's rounding scale): where it holds with room to spare (half the limit,
      // far beyond rounding) so does every row's ρᵢ Σⱼ |Pᵢⱼ| ρⱼ, and no pass with ρ is
      // needed; a non-finite entry makes the bound non-finite
      let rhoMax = 1, rowMax = 0
      for (let i = 0; i < n; i++) rhoMax = Math.max(rhoMax, rho[i]!)
      const abs = operatorRowAbs(P)
      for (let i = 0; i < n; i++) rowMax = Math.max(rowMax, abs[i]!)
      if (Number.isFinite(rowMax) && rhoMax * rhoMax * rowMax <= M / 2) return
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
 * finite, t > 0 on the sets with a radius, and w > 0. Throws a `LayerError` at the
 * largest offending entry.
 *
 * @example
 * checkMagnitudes('l1', { P, q, w, t: 1 }) // throws at P[0][0] when P₀₀ = 1e200
 */
export const checkMagnitudes = <N>(set: SetName, theta: Params<N>): void => {
  const n = theta.q.data.length, t = theta.t, M = MAGNITUDE_LIMIT
  const radius = hasRadius(set)
  if (radius && t > M) throw tooLarge('t', t, 't', t)
  const rho = new Float64Array(n)
  const lo = theta.lower?.data, up = theta.upper?.data
  for (let i = 0; i < n; i++) {
    let R = 1
    if (set === 'l1') {
      R = t / theta.w.data[i]!
      if (R > M) throw tooLarge(`w[${i}]`, theta.w.data[i]!, `the radius t/w[${i}]`, R)
    } else if (radius) R = t
    else if (set === 'box' && lo !== undefined && up !== undefined) {
      const a = Math.abs(lo[i]!), b = Math.abs(up[i]!)
      R = Math.max(a, b)
      if (R > M) throw a >= b ? tooLarge(`set.lower[${i}]`, lo[i]!, `|lower[${i}]|`, a) : tooLarge(`set.upper[${i}]`, up[i]!, `|upper[${i}]|`, b)
    }
    rho[i] = Math.max(1, R)
  }
  for (let i = 0; i < n; i++) {
    const s = Math.abs(theta.q.data[i]!) * rho[i]!
    if (s > M) throw tooLarge(`q[${i}]`, theta.q.data[i]!, `|q[${i}]| ρ[${i}]`, s)
  }
  checkOperator(theta.P, rho)
}

// -------------------------------------------------------------------------------------
// the set
// -------------------------------------------------------------------------------------

const SET_KEYS: Readonly<Record<SetName, readonly string[]>> = {
  l1: ['kind'], linf: ['kind'], l2: ['kind'], simplex: ['kind'],
  box: ['kind', 'lower', 'upper'],
  'capped-simplex': ['kind', 'k'],
  ksparse: ['kind', 'k'],
  birkhoff: ['kind'],
  nuclear: ['kind', 'rows', 'cols'],
  polytope: ['kind', 'lmo']
}

interface SetParams<N> {
  readonly set: ResolvedSet<N>
  readonly lower?: Vec<N>
  readonly upper?: Vec<N>
  readonly k?: number
}

/**
 * The four sets without parameters, each one frozen record shared by every problem: a
 * batch keeps its instances' sets to the end of its call, and a record per instance was an
 * allocation site V8 pretenured (see `VecRecord` in src/shapes/alloc.ts).
 */
const PLAIN_SETS: { readonly [K in SetKind]: ResolvedSet } = {
  l1: Object.freeze({ kind: 'l1' }), linf: Object.freeze({ kind: 'linf' }), l2: Object.freeze({ kind: 'l2' }), simplex: Object.freeze({ kind: 'simplex' })
}
const plainSet = <N>(kind: SetKind): SetParams<N> => ({ set: PLAIN_SETS[kind] as unknown as ResolvedSet<N> })

/**
 * The resolved set of a spec that names one of the four plain sets (absent: l1, or the
 * set's name), exactly what `validateProblem` resolves it to; undefined for any other spec.
 *
 * @example
 * plainSetOf('simplex')?.kind // 'simplex'
 */
export const plainSetOf = <N>(spec: unknown): ResolvedSet<N> | undefined =>
  spec === undefined ? plainSet<N>('l1').set : typeof spec === 'string' && isOriginal(spec) ? plainSet<N>(spec).set : undefined

/** Validates the set (default l1) against n, and splits it into its description and θ's parameters. */
const resolveSet = <N>(spec: unknown, n: number): SetParams<N> => {
  if (spec === undefined) return plainSet('l1')
  if (typeof spec === 'string') {
    if (!(ORIGINAL as readonly string[]).includes(spec)) {
      throw new LayerError(`unknown set ${describe(spec)}; expected one of ${ORIGINAL.join(', ')} or an object { kind, … } with kind one of ${SET_NAMES.join(', ')}`, 'set')
    }
    return plainSet(spec as SetKind)
  }
  if (!isObject(spec) || Array.isArray(spec)) throw new LayerError(`expected a set (a string or an object { kind, … }), got ${describe(spec)}`, 'set')
  const kind = spec['kind']
  if (kind === undefined) throw new LayerError(`missing kind (expected one of ${SET_NAMES.join(', ')})`, 'set.kind')
  if (typeof kind !== 'string' || !(SET_NAMES as readonly string[]).includes(kind)) {
    throw new LayerError(`unknown set kind ${describe(kind)}; expected one of ${SET_NAMES.join(', ')}`, 'set.kind')
  }
  const name = kind as SetName
  checkKeys(spec, SET_KEYS[name], 'set', `key of the set ${quoteKey(name)}`)
  switch (name) {
    case 'l1': case 'linf': case 'l2': case 'simplex':
      return plainSet(name)
    case 'box': {
      checkVec(spec['lower'], n, 'set.lower')
      checkVec(spec['upper'], n, 'set.upper')
      const lower = spec['lower'] as Vec<N>, upper = spec['upper'] as Vec<N>
      for (let i = 0; i < n; i++) {
        if (!(lower.data[i]! < upper.data[i]!)) {
          throw new LayerError(`expected lower[${i}] < upper[${i}], got lower ${String(lower.data[i])} ≥ upper ${String(upper.data[i])}`, `set.lower[${i}]`)
        }
      }
      return { set: { kind: 'box' }, lower, upper }
    }
    case 'capped-simplex': {
      const k = checkNumber(spec['k'], 'set.k')
      if (!(k > 0 && k < n)) throw new LayerError(`the capped simplex needs 0 < k < n = ${n}, got k = ${String(k)}`, 'set.k')
      return { set: { kind: name }, k }
    }
    case 'ksparse': {
      const k = checkNumber(spec['k'], 'set.k')
      if (!(Number.isInteger(k) && k >= 1 && k <= n)) throw new LayerError(`the K-sparse polytope needs an integer k with 1 ≤ k ≤ n = ${n}, got k = ${String(k)}`, 'set.k')
      return { set: { kind: name }, k }
    }
    case 'birkhoff': {
      const m = Math.round(Math.sqrt(n))
      if (m * m !== n) throw new LayerError(`the Birkhoff polytope needs n = m² entries (an m×m matrix, row-major); n = ${n} is not a perfect square`, 'set')
      return { set: { kind: name, rows: m, cols: m } }
    }
    case 'nuclear': {
      const dims: number[] = []
      for (const key of ['rows', 'cols'] as const) {
        const v = spec[key]
        if (!(typeof v === 'number' && Number.isSafeInteger(v) && v >= 1)) throw new LayerError(`expected an integer ≥ 1, got ${describe(v)}`, `set.${key}`)
        dims.push(v)
      }
      const [rows, cols] = dims as [number, number]
      if (rows * cols !== n) throw new LayerError(`the nuclear-norm ball needs rows·cols = n; ${rows}·${cols} = ${rows * cols} but n = ${n}`, 'set')
      return { set: { kind: name, rows, cols } }
    }
    case 'polytope': {
      const lmo = spec['lmo']
      if (typeof lmo !== 'function') throw new LayerError(`expected the polytope's oracle lmo to be a function (g) => vertex, got ${describe(lmo)}`, 'set.lmo')
      return { set: { kind: name, lmo: lmo as (g: Vec<N>) => Vec<N> } }
    }
  }
}

// -------------------------------------------------------------------------------------
// the problem
// -------------------------------------------------------------------------------------

/**
 * Validates a problem and the options, and resolves the defaults (set l1; w all ones;
 * t = 0 on the sets without a radius). Throws a `LayerError` at the bad value's path (see
 * the module notes for what is checked and in which order).
 *
 * @example
 * validateProblem({ P, q, t: 1 }, {}) // { theta: { P, q, w: ones, t: 1 }, set: { kind: 'l1' } }
 * validateProblem({ P, q, set: { kind: 'box', lower, upper } }, {}) // { theta: { P, q, w: ones, t: 0, lower, upper }, set: { kind: 'box' } }
 * validateProblem(problem, options, true) // options already passed validateOptions (a batch checks them once)
 */
export const validateProblem = <N>(problem: Problem<N>, options: LayerOptions, optionsChecked = false): { readonly theta: Params<N>; readonly set: ResolvedSet<N> } => {
  const o = optionsChecked ? options : validateOptions(options)
  const u = problem as unknown
  if (!isObject(u) || Array.isArray(u)) throw new LayerError(`expected a problem { P, q, t?, w?, set? }, got ${describe(u)}`, '')
  checkOperatorStructure(u['P'])
  const P = u['P'] as LinearOperator<N>
  checkVec(u['q'], undefined, 'q')
  const qv = u['q'] as Vec<N>
  const n = qv.data.length
  if (n === 0) throw new LayerError('expected at least one entry (n ≥ 1)', 'q')
  if ((P.dim as number) !== n) throw new LayerError(`P is ${P.dim as number}×${P.dim as number} but q has ${n} entries`, 'P')
  const { set, lower, upper, k } = resolveSet<N>(u['set'], n)
  const kind = set.kind
  const tv = u['t']
  let t = 0
  if (hasRadius(kind)) {
    if (typeof tv !== 'number' || !Number.isFinite(tv) || !(tv > 0)) {
      throw new LayerError(`t must be a finite number > 0${tv === undefined ? ` (the set ${quoteKey(kind)} has a radius)` : ''}, got ${describe(tv)}`, 't')
    }
    t = tv
  } else if (tv !== undefined) {
    throw new LayerError(`the set ${quoteKey(kind)} has no radius: t must be absent, got ${describe(tv)}`, 't')
  }
  const wv = u['w']
  if (wv !== undefined && !isOriginal(kind)) throw new LayerError(`w belongs to the l1 ball only; the set is ${quoteKey(kind)}`, 'w')
  if (wv !== undefined) checkVec(wv, n, 'w', true)
  const w: Vec<N> = wv === undefined ? { dim: qv.dim, data: new Float64Array(n).fill(1) } : (wv as Vec<N>)
  if (o.schedule === 'paper' && !hasSmoothedOracle(kind)) {
    throw new LayerError(`the paper schedule's smoothed oracle exists for ${ORIGINAL.join(', ')} only, not for the set ${quoteKey(kind)}; use the default schedule`, 'options.schedule')
  }
  const theta: Params<N> = {
    P, q: qv, w, t,
    ...(lower === undefined ? {} : { lower, upper: upper! }),
    ...(k === undefined ? {} : { k })
  }
  checkMagnitudes(kind, theta)
  checkSymmetry(P)
  return { theta, set }
}

/**
 * The set as the solver knows it today: one of the four original sets. The other kinds
 * are validated in full, and then refused here at `set`, until their solvers land.
 *
 * @example
 * solverSet({ kind: 'l2' })  // 'l2'
 * solverSet({ kind: 'box' }) // throws at set: the solver for the set "box" is not available yet
 */
export const solverSet = <N>(set: ResolvedSet<N>): SetKind => {
  if (isOriginal(set.kind)) return set.kind
  throw new LayerError(`the solver for the set ${quoteKey(set.kind)} is not available yet (the problem is valid)`, 'set')
}

/**
 * Checks the arguments of `dfwBatch(options)(problems)` as a whole: the options, and that
 * `problems` is an array. Each problem is validated on its own later (its errors are the
 * batch's `Left`s).
 *
 * @example
 * validateBatch(null, {}) // throws at '': expected an array of problems, got null
 */
export const validateBatch = (problems: unknown, options: unknown): void => {
  validateOptions(options)
  if (!Array.isArray(problems)) throw new LayerError(`expected an array of problems, got ${describe(problems)}`, '')
}

// -------------------------------------------------------------------------------------
// cotangents and tangents
// -------------------------------------------------------------------------------------

/**
 * Checks the argument of a result's `vjp`: a `Vec` of n finite numbers. Throws a
 * `LayerError` at `cotangent` or `cotangent[i]`.
 *
 * @example
 * validateCotangent([1, 0], 2)        // throws at cotangent: expected a Vec …
 * validateCotangent(vec([1, NaN]), 2) // throws at cotangent[1]
 */
export const validateCotangent = (ct: unknown, n: number): void => {
  checkVec(ct, n, 'cotangent')
}

/**
 * Checks the argument of a result's `jvp`: an object whose keys are `q`, `P` and the
 * set's own parameters (see {@link setParameters}), each of the right shape and finite.
 * Throws a `LayerError` at `tangent`, `tangent.foo`, `tangent.q[2]`, `tangent.t`,
 * `tangent.P[1][2]`, …; an undefined field counts as absent.
 *
 * @example
 * validateTangent({ q: vec([1, 2]), x: 1 }, { kind: 'l1' }, 2) // throws at tangent.x
 * validateTangent({ t: NaN }, { kind: 'l1' }, 2)               // throws at tangent.t
 */
export const validateTangent = <N>(tangent: unknown, set: ResolvedSet<N>, n: number): void => {
  if (!isObject(tangent) || Array.isArray(tangent) || ArrayBuffer.isView(tangent)) {
    throw new LayerError(`expected a tangent { q?, P?${setParameters(set.kind).map((k) => `, ${k}?`).join('')} }, got ${describe(tangent)}`, 'tangent')
  }
  const allowed = ['q', 'P', ...setParameters(set.kind)]
  for (const key of Object.keys(tangent)) {
    if (!allowed.includes(key)) {
      throw new LayerError(`unknown tangent direction ${quoteKey(key)}; the set ${quoteKey(set.kind)} takes ${allowed.join(', ')}`, joinKey('tangent', key))
    }
  }
  const tg = tangent as ParamsTangent<unknown> & Record<string, unknown>
  if (tg.q !== undefined) checkVec(tg.q, n, 'tangent.q')
  if (tg.w !== undefined) checkVec(tg.w, n, 'tangent.w')
  if (tg.lower !== undefined) checkVec(tg.lower, n, 'tangent.lower')
  if (tg.upper !== undefined) checkVec(tg.upper, n, 'tangent.upper')
  if (tg.t !== undefined) checkNumber(tg.t, 'tangent.t')
  if (tg.k !== undefined) checkNumber(tg.k, 'tangent.k')
  if (tg.P !== undefined) checkMat(tg.P, n, 'tangent.P')
}
