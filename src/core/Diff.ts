/**
 * The differentiable map: one abstraction, two transforms. A `Diff<A, B>` maps a value to
 * its image and a {@link Linear} map between tangent spaces: `fwd` is the Jacobian
 * (forward mode) and `bwd` its transpose (reverse mode). Composition is the chain rule.
 * `jvp` and `vjp` (src/jvp, src/vjp) are projections of the same `Diff`.
 *
 * After Elliott, "The simple essence of automatic differentiation": D a b = a → (b, a ⊸ b).
 *
 * @since 0.1.0
 * @module
 */
import { type Tan, Zero, addT, OuterSum } from './Tangent.js'
import { type Linear, linearOf } from './Linear.js'
import { f64 } from '../shapes/alloc.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A differentiable map: the value and the linear map at the point.
 *
 * @example
 * const [y, lin] = f(x)  // y = f(x); lin.fwd(dx) = J dx; lin.bwd(dy) = Jᵀ dy
 */
export type Diff<A, B> = (a: A) => readonly [B, Linear<A, B>]


const parts2 = (t: unknown): readonly [unknown, unknown] =>
  t === Zero ? [Zero, Zero] : (t as readonly [unknown, unknown])
const field = (t: unknown, k: PropertyKey): unknown =>
  t === Zero ? Zero : ((t as Record<PropertyKey, unknown>)[k] ?? Zero)
/** A pair of tangents, or the symbolic zero when both are zero. */
const pair2 = <T>(a: unknown, b: unknown): Tan<T> => (a === Zero && b === Zero ? Zero : ([a, b] as unknown as Tan<T>))

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

const idLinear: Linear<unknown, unknown> = { fwd: (d) => d, bwd: (d) => d }

/**
 * The identity.
 *
 * @example
 * id<Vec<N>>()(x) // [x, identity linear map]
 */
export const id = <A>(): Diff<A, A> => (a) => [a, idLinear as Linear<A, A>]

const zeroLinear: Linear<unknown, unknown> = { fwd: () => Zero, bwd: () => Zero }

/**
 * A constant: the value ignores the input, the derivative is zero.
 *
 * @example
 * constant<Vec<N>, number>(3)(x) // [3, zero map]
 */
export const constant = <A, B>(b: B): Diff<A, B> => () => [b, zeroLinear as Linear<A, B>]

/**
 * A value computed without a derivative (the derivative is taken to be zero): schedules,
 * statistics, stop tests.
 *
 * @example
 * nondiff((x: Vec<N>) => argmax(x))
 */
export const nondiff = <A, B>(f: (a: A) => B): Diff<A, B> => (a) => [f(a), zeroLinear as Linear<A, B>]

/**
 * A linear map lifted to a `Diff`: its value is `map.fwd(a)` and its linearization is
 * itself. `map.bwd` must be its transpose.
 *
 * @example
 * linear({ fwd: (x) => apply(P, x), bwd: (y) => applyT(P, y) })
 */
export const linear = <A, B>(map: { readonly fwd: (a: A) => B; readonly bwd: (b: B) => A }): Diff<A, B> => {
  const lin: Linear<A, B> = {
    fwd: (da) => (da === Zero ? Zero : (map.fwd(da as A) as Tan<B>)),
    bwd: (db) => (db === Zero ? Zero : (map.bwd(db as B) as Tan<A>))
  }
  return (a) => [map.fwd(a), lin]
}

/**
 * The custom-derivative hook (JAX's custom_jvp/custom_vjp): `primal` computes the value
 * in any way it likes (it is not differentiated), and `linearize` supplies the linear map
 * at (a, b). The implicit derivative of the solver enters the layer through this hook.
 *
 * @example
 * custom((a) => solveExactly(a), (a, x) => implicitLinearMap(a, x))
 */
export const custom = <A, B>(primal: (a: A) => B, linearize: (a: A, b: B) => Linear<A, B>): Diff<A, B> =>
  (a) => {
    const b = primal(a)
    return [b, linearize(a, b)]
  }

// -------------------------------------------------------------------------------------
// combinators
// -------------------------------------------------------------------------------------

/**
 * Composition g ∘ f: the chain rule.
 *
 * @example
 * compose(g, f)(x) // [g(f(x)), Jg Jf]
 */
export const compose = <A, B, C>(g: Diff<B, C>, f: Diff<A, B>): Diff<A, C> => (a) => {
  const [b, lf] = f(a)
  const [c, lg] = g(b)
  return [c, linearOf<A, C>((da) => lg.fwd(lf.fwd(da)), (dc) => lf.bwd(lg.bwd(dc)))]
}

/**
 * Data-last composition for `pipe`: `pipe(f, andThen(g))` is g ∘ f.
 *
 * @example
 * pipe(f, andThen(g), andThen(h))
 */
export const andThen = <B, C>(g: Diff<B, C>) => <A>(f: Diff<A, B>): Diff<A, C> => compose(g, f)

/**
 * Fan-out: a ↦ (f a, g a). The transpose adds the two cotangents.
 *
 * @example
 * fanout(f, g)(x) // [[f(x), g(x)], …]
 */
export const fanout = <A, B, C>(f: Diff<A, B>, g: Diff<A, C>): Diff<A, readonly [B, C]> => (a) => {
  const [b, lf] = f(a)
  const [c, lg] = g(a)
  return [
    [b, c],
    linearOf<A, readonly [B, C]>(
      (da) => (da === Zero ? Zero : pair2<readonly [B, C]>(lf.fwd(da), lg.fwd(da))),
      (d) => {
        if (d === Zero) return Zero
        const [db, dc] = parts2(d)
        return addT(lf.bwd(db as Tan<B>), lg.bwd(dc as Tan<C>))
      }
    )
  ]
}

/**
 * The parallel product: (a, c) ↦ (f a, g c).
 *
 * @example
 * par(f, g)([x, y]) // [[f(x), g(y)], …]
 */
export const par = <A, B, C, D>(f: Diff<A, B>, g: Diff<C, D>): Diff<readonly [A, C], readonly [B, D]> => ([a, c]) => {
  const [b, lf] = f(a)
  const [d, lg] = g(c)
  return [
    [b, d],
    linearOf<readonly [A, C], readonly [B, D]>(
      (t) => {
        if (t === Zero) return Zero
        const [da, dc] = parts2(t)
        return pair2<readonly [B, D]>(lf.fwd(da as Tan<A>), lg.fwd(dc as Tan<C>))
      },
      (t) => {
        if (t === Zero) return Zero
        const [db, dd] = parts2(t)
        return pair2<readonly [A, C]>(lf.bwd(db as Tan<B>), lg.bwd(dd as Tan<D>))
      }
    )
  ]
}

/**
 * The fields `keys` of a record, as a tuple (a linear projection).
 *
 * @example
 * args<{ x: Vec<N>; y: Vec<N> }, ['x', 'y']>(['x', 'y'])
 */
export const args = <R, K extends readonly (keyof R)[]>(keys: K): Diff<R, { readonly [I in keyof K]: R[K[I] & keyof R] }> => {
  type Out = { readonly [I in keyof K]: R[K[I] & keyof R] }
  const lin: Linear<R, Out> = {
    fwd: (dr) => (dr === Zero ? Zero : (keys.map((k) => field(dr, k)) as unknown as Tan<Out>)),
    bwd: (dt) => {
      if (dt === Zero) return Zero
      let o: Record<PropertyKey, unknown> = {}
      keys.forEach((k, i) => {
        const v = (dt as unknown as readonly unknown[])[i]
        o = k in o ? { ...o, [k]: addT(o[k], v) } : { ...o, [k]: v }
      })
      return o as Tan<R>
    }
  }
  return (r) => [keys.map((k) => r[k]) as unknown as Out, lin]
}

/**
 * `f` applied to fields of a record: `on(['x', 'y'], add())` reads `x` and `y`.
 *
 * @example
 * on(['px', 'q'], P.add<N>())
 */
export const on = <R, K extends readonly (keyof R)[], B>(
  keys: K,
  f: Diff<{ readonly [I in keyof K]: R[K[I] & keyof R] }, B>
): Diff<R, B> => compose(f, args<R, K>(keys))

/**
 * One field of a record.
 *
 * @example
 * const [t] = get<Params<N>, 't'>('t')(theta) // theta.t
 */
export const get = <R, K extends keyof R>(key: K): Diff<R, R[K]> => {
  const lin: Linear<R, R[K]> = {
    fwd: (dr) => field(dr, key) as Tan<R[K]>,
    bwd: (d) => (d === Zero ? Zero : ({ [key]: d } as unknown as Tan<R>))
  }
  return (r) => [r[key], lin]
}

/**
 * The first component of a pair.
 *
 * @example
 * fst<number, Vec<N>>()([1, v]) // [1, lin]
 */
export const fst = <A, B>(): Diff<readonly [A, B], A> => {
  const lin: Linear<readonly [A, B], A> = {
    fwd: (d) => parts2(d)[0] as Tan<A>,
    bwd: (d) => (d === Zero ? Zero : ([d, Zero] as unknown as Tan<readonly [A, B]>))
  }
  return (p) => [p[0], lin]
}

/**
 * The second component of a pair.
 *
 * @example
 * snd<number, Vec<N>>()([1, v]) // [v, lin]
 */
export const snd = <A, B>(): Diff<readonly [A, B], B> => {
  const lin: Linear<readonly [A, B], B> = {
    fwd: (d) => parts2(d)[1] as Tan<B>,
    bwd: (d) => (d === Zero ? Zero : ([Zero, d] as unknown as Tan<readonly [A, B]>))
  }
  return (p) => [p[1], lin]
}

/**
 * Selects fields of a record into a new record.
 *
 * @example
 * pick<Params<N>, 'q' | 't'>(['q', 't'])(theta) // [{ q, t }, lin]
 */
export const pick = <R, K extends keyof R>(keys: readonly K[]): Diff<R, { readonly [P in K]: R[P] }> => {
  type Out = { readonly [P in K]: R[P] }
  const lin: Linear<R, Out> = {
    fwd: (dr) => {
      if (dr === Zero) return Zero
      const o: Record<PropertyKey, unknown> = {}
      for (const k of keys) o[k] = field(dr, k)
      return o as Tan<Out>
    },
    bwd: (d) => {
      if (d === Zero) return Zero
      const o: Record<PropertyKey, unknown> = {}
      for (const k of keys) o[k] = field(d, k)
      return o as Tan<R>
    }
  }
  return (r) => {
    const o = {} as Record<K, unknown>
    for (const k of keys) o[k] = r[k]
    return [o as Out, lin]
  }
}

// -------------------------------------------------------------------------------------
// do notation
// -------------------------------------------------------------------------------------

/**
 * The start of a do-block over a record environment (as fp-ts's `Do`).
 *
 * @example
 * pipe(Do<{ x: Vec<N>; q: Vec<N> }>(), bind('g', on(['x', 'q'], P.add<N>())), andThen(get('g')))
 */
export const Do = <R>(): Diff<R, R> => id<R>()

/**
 * Extends the environment with `name = f(env)`. The transpose adds the new field's
 * cotangent, pulled back through `f`, to the rest.
 *
 * @example
 * bind('g', on(['px', 'q'], P.add<N>()))
 */
export const bind = <K extends string, R, B>(name: Exclude<K, keyof R>, f: Diff<R, B>) =>
  <A>(d: Diff<A, R>): Diff<A, { readonly [P in keyof R | K]: P extends keyof R ? R[P] : B }> => {
    type Out = { readonly [P in keyof R | K]: P extends keyof R ? R[P] : B }
    const ext: Diff<R, Out> = (r) => {
      const [b, lf] = f(r)
      const lin = linearOf<R, Out>(
        (dr) => {
          const db = lf.fwd(dr)
          if (dr === Zero && db === Zero) return Zero
          return { ...(dr === Zero ? {} : (dr as object)), [name]: db } as unknown as Tan<Out>
        },
        (dout) => {
          if (dout === Zero) return Zero
          const { [name]: db, ...rest } = dout as Record<string, unknown>
          return addT(rest as Tan<R>, lf.bwd((db ?? Zero) as Tan<B>))
        }
      )
      return [{ ...(r as object), [name]: b } as Out, lin]
    }
    return compose(ext, d)
  }

/**
 * Extends the environment with a value that is not differentiated (`nondiff`).
 *
 * @example
 * pipe(Do<{ x: Vec<N> }>(), bindValue('n', (r) => r.x.dim))
 */
export const bindValue = <K extends string, R, B>(name: Exclude<K, keyof R>, f: (r: R) => B) =>
  bind<K, R, B>(name, nondiff(f))

// -------------------------------------------------------------------------------------
// folds
// -------------------------------------------------------------------------------------

/**
 * A memory budget for the linear maps an unrolled fold keeps for reverse mode (its
 * "tape"), in any unit the caller likes (the layer uses bytes): `limit` is the most the
 * kept maps may hold, `perStep` the caller's estimate of one step's linear map, and
 * `perState` that of one kept state (default `perStep`).
 *
 * @example
 * const tape: TapeBudget = { limit: 2 ** 30, perStep: 72 * n + 4096, perState: 16 * n + 512 }
 * foldWhile(step, go, 1e6, { tape })
 */
export interface TapeBudget {
  readonly limit: number
  readonly perStep: number
  readonly perState?: number
}

/**
 * Options of the unrolling folds.
 *
 * @example
 * fold(step, 1000, { checkpoint: 32 }) // keeps every 32nd state in reverse mode
 * foldWhile(step, go, 1e6, { tape: { limit: 2 ** 30, perStep: 8e6 } }) // every map while they fit in 1 GiB, then checkpoints
 */
export interface FoldOptions {
  /**
   * Keep only every c-th state and recompute each segment's linear maps during the
   * reverse pass: memory O((K/c + c)·n) instead of O(K·n), for one extra forward pass.
   * Default: keep every linear map (no recomputation). Takes precedence over `tape`.
   */
  readonly checkpoint?: number
  /**
   * Keep every linear map while they fit in `tape.limit`; past it, drop them all and
   * checkpoint instead (see {@link foldWhile}). Default: no limit.
   */
  readonly tape?: TapeBudget
  /**
   * Numbers the reverse pass's unexpanded sum of outer products (P's cotangent) may hold
   * in its terms beyond its matrix's size before it is expanded (see
   * {@link outerSumCap}). Default {@link OUTER_SUM_NUMBERS}; 0 expands as soon as the
   * terms outgrow the matrix.
   */
  readonly outerSumNumbers?: number
}

/** The linear map of an unrolled fold, and how many steps ran. */
interface Unrolled<P, S> {
  readonly state: S
  readonly steps: number
  readonly lin: Linear<readonly [P, S], S>
}

const isShaped = (a: object): a is { readonly data: Float64Array } =>
  'data' in a && (a as { data: unknown }).data instanceof Float64Array

/**
 * Numbers an unexpanded sum of outer products may hold in its terms even where that is
 * more than its expanded matrix: 2²² (32 MiB of doubles), so that the reverse pass of a
 * fold keeps P's cotangent unexpanded (and a caller who never reads it never pays the
 * K dense rank-one updates) unless K·(rows + cols) outgrows both this and rows·cols.
 *
 * @example
 * terms * (rows + cols) > Math.max(rows * cols, OUTER_SUM_NUMBERS) // then it is expanded
 */
export const OUTER_SUM_NUMBERS = 2 ** 22

/**
 * The most terms an unexpanded rows × cols sum keeps before the fold expands it (see
 * {@link OUTER_SUM_NUMBERS}).
 *
 * @example
 * outerSumCap(100, 100) // 20971
 */
export const outerSumCap = (rows: number, cols: number, numbers = OUTER_SUM_NUMBERS): number =>
  Math.floor(Math.max(rows * cols, numbers) / (rows + cols))

/** Whether the terms of an unexpanded sum hold more numbers than it may keep (see {@link outerSumCap}). */
const longerThanMatrix = (a: OuterSum, numbers: number): boolean => a.terms > outerSumCap(a.rows, a.cols, numbers)

/** out += the terms of an unexpanded sum, in the order and with the products of its expansion. */
const addOuterInto = (out: Float64Array, a: OuterSum): void => {
  const n = a.cols
  for (let t: OuterSum | undefined = a; t !== undefined; t = t.next) {
    const u = t.u, v = t.v, al = t.alpha
    for (let i = 0; i < a.rows; i++) {
      const ui = al * u[i]!
      if (ui === 0) continue
      const r = i * n
      for (let j = 0; j < n; j++) out[r + j] = out[r + j]! + ui * v[j]!
    }
  }
}

/**
 * a + b as `addT`, for the parameters' cotangent that the reverse pass of a fold sums
 * over K steps: the objects and buffers it allocates are recorded in `mine` and later sums
 * write into them instead of allocating again. Objects it did not allocate are never
 * written. Seen from outside the fold, the sum is pure. The result is bit-identical to the
 * chain of `addT`s, except that a sum of outer products is expanded once its terms
 * outgrow both its matrix and {@link OUTER_SUM_NUMBERS} (so that K ≫ n steps keep O(n²),
 * not O(K·n)); the order of its additions then differs, by rounding only.
 */
const addOwned = (mine: WeakSet<object>, a: unknown, b: unknown, numbers: number): unknown => {
  if (a === Zero) return b
  if (b === Zero || b === undefined) return a
  if (typeof a === 'number') return a + (b as number)
  if (typeof a !== 'object' || a === null) return a
  // unexpanded outer-product sums stay unexpanded (reading `data` would expand them) while
  // their terms take less memory than the matrix or OUTER_SUM_NUMBERS; past that, the sum
  // is expanded into a matrix the fold owns, and later terms are added into it (memory
  // O(n²), not O(K·n))
  if (a instanceof OuterSum && b instanceof OuterSum) {
    const sum = addT(a, b) as OuterSum
    if (!longerThanMatrix(sum, numbers)) return sum
    const r = { rows: sum.rows, cols: sum.cols, data: sum.data }
    mine.add(r)
    return r
  }
  if (isShaped(a)) {
    if (b instanceof OuterSum && mine.has(a)) {
      addOuterInto(a.data as Float64Array, b)
      return a
    }
    const y = (b as { data: Float64Array }).data
    if (mine.has(a)) {
      const x = a.data as Float64Array
      for (let i = 0; i < x.length; i++) x[i] = x[i]! + y[i]!
      return a
    }
    const x = a.data, o = f64(x.length)
    for (let i = 0; i < o.length; i++) o[i] = x[i]! + y[i]!
    const r = { ...a, data: o }
    mine.add(r)
    return r
  }
  if (Array.isArray(a)) {
    const r: unknown[] = mine.has(a) ? a : a.slice()
    mine.add(r)
    for (let i = 0; i < r.length; i++) r[i] = addOwned(mine, r[i], (b as unknown[])[i] ?? Zero, numbers)
    return r
  }
  const r: Record<string, unknown> = mine.has(a) ? (a as Record<string, unknown>) : { ...(a as Record<string, unknown>) }
  mine.add(r)
  for (const [k, v] of Object.entries(b as Record<string, unknown>)) r[k] = k in r ? addOwned(mine, r[k], v, numbers) : v
  return r
}

/** A positive finite number, or `fallback`. */
const positiveOr = (x: number | undefined, fallback: number): number =>
  x !== undefined && Number.isFinite(x) && x > 0 ? x : fallback

/**
 * The forward pass of a fold and what its reverse pass keeps. Three regimes:
 * - no option: every step's linear map (`lins`);
 * - `checkpoint: c`: the state at every c-th step (`marks`), segments recomputed;
 * - `tape`: every linear map while they fit in the budget, and alongside them marks at an
 *   interval c that doubles (dropping every other mark) whenever the marks would hold more
 *   than two segments of linear maps, c·perStep. If the maps outgrow the budget they are
 *   all dropped and the marks serve instead. The marks then hold about
 *   √(2·K·perState·perStep) and a segment's recomputation about as much again: memory
 *   O(√K·n) for a K unknown in advance, for one extra forward pass.
 * Recomputing a segment from its mark runs exactly the steps of the forward pass, so the
 * derivative is the same linear map in every regime.
 */
const unroll = <P, S>(
  step: Diff<readonly [P, S], S>,
  p: P,
  s0: S,
  go: (s: S, k: number) => boolean,
  options: FoldOptions
): Unrolled<P, S> => {
  const fixed = options.checkpoint !== undefined && options.checkpoint >= 1 ? Math.floor(options.checkpoint) : 0
  const numbers = options.outerSumNumbers ?? OUTER_SUM_NUMBERS
  const tape = fixed === 0 ? options.tape : undefined
  const perStep = positiveOr(tape?.perStep, 1)
  const perState = positiveOr(tape?.perState, perStep)
  const limit = tape === undefined ? Infinity : Math.max(0, Number.isNaN(tape.limit) ? 0 : tape.limit)
  // c: the interval between marks (0: no marks); lins: the kept maps (undefined once dropped)
  let c = fixed > 0 ? fixed : tape !== undefined ? 1 : 0
  let lins: Linear<readonly [P, S], S>[] | undefined = fixed > 0 ? undefined : []
  let marks: S[] = []
  let s = s0
  let k = 0
  while (go(s, k)) {
    if (c > 0 && k % c === 0) {
      marks.push(s)
      if (tape !== undefined && marks.length > 2 && marks.length * perState > 2 * c * perStep) {
        marks = marks.filter((_, j) => j % 2 === 0)
        c *= 2
      }
    }
    const [s2, l] = step([p, s])
    if (lins !== undefined) {
      lins.push(l)
      if (lins.length * perStep > limit) lins = undefined
    }
    s = s2
    k++
  }
  const K = k
  // the maps were all kept: the marks are not needed
  if (lins !== undefined) marks = []
  const segment = (j: number): Linear<readonly [P, S], S>[] => {
    // recompute the linear maps of steps j*c … min(K, (j+1)*c) − 1
    const out: Linear<readonly [P, S], S>[] = []
    let t: S = marks[j] as S
    for (let i = j * c; i < Math.min(K, (j + 1) * c); i++) {
      const [t2, l] = step([p, t])
      out.push(l)
      t = t2
    }
    return out
  }
  const kept = lins
  const fwd = (d: Tan<readonly [P, S]>): Tan<S> => {
    if (d === Zero) return Zero
    const [dp, ds0] = parts2(d)
    let ds = ds0 as Tan<S>
    const run = (ls: readonly Linear<readonly [P, S], S>[]) => {
      for (const l of ls) ds = l.fwd([dp, ds] as unknown as Tan<readonly [P, S]>)
    }
    if (kept !== undefined) run(kept)
    else for (let j = 0; j < marks.length; j++) run(segment(j))
    return ds
  }
  const bwd = (dsK: Tan<S>): Tan<readonly [P, S]> => {
    if (dsK === Zero) return Zero
    let dp: unknown = Zero
    let ds: unknown = dsK
    const mine = new WeakSet<object>()
    const run = (ls: readonly Linear<readonly [P, S], S>[]) => {
      for (let i = ls.length - 1; i >= 0; i--) {
        const [a, b] = parts2(ls[i]!.bwd(ds as Tan<S>))
        dp = addOwned(mine, dp, a, numbers)
        ds = b
      }
    }
    if (kept !== undefined) run(kept)
    else for (let j = marks.length - 1; j >= 0; j--) run(segment(j))
    return [dp, ds] as unknown as Tan<readonly [P, S]>
  }
  return { state: s, steps: K, lin: { fwd, bwd } }
}

/**
 * Unrolls `step` exactly K times: (p, s₀) ↦ s_K. Reverse mode keeps the K steps' linear
 * maps, each holding its own O(n) residuals (and references to `p`, never copies of it).
 *
 * @example
 * fold(step, 100)([params, s0])
 */
export const fold = <P, S>(step: Diff<readonly [P, S], S>, K: number, options: FoldOptions = {}): Diff<readonly [P, S], S> =>
  ([p, s0]) => {
    const u = unroll(step, p, s0, (_, k) => k < K, options)
    return [u.state, u.lin]
  }

/**
 * The early-stopping fold: steps while `go(state, k)` holds and k < maxIterations. The
 * forward pass decides the count K; the derivatives are those of exactly those K steps
 * (the stop test is not differentiated).
 *
 * Since K is not known in advance, `options.tape` bounds what reverse mode keeps: every
 * linear map while `K·perStep ≤ limit` (no recomputation, as without the option), else
 * checkpoints whose interval doubles as K grows, so that memory stays O(√K·n) and the
 * derivative is still exactly the same linear map (recomputed, never approximated).
 *
 * @example
 * foldWhile(step, (s, k) => s.gap > 1e-8, 1000)([params, s0])
 * foldWhile(step, go, 3e6, { tape: { limit: 2 ** 30, perStep: 4096 } }) // bounded memory for any K
 */
export const foldWhile = <P, S>(
  step: Diff<readonly [P, S], S>,
  go: (s: S, k: number) => boolean,
  maxIterations: number,
  options: FoldOptions = {}
): Diff<readonly [P, S], S> =>
  ([p, s0]) => {
    const u = unroll(step, p, s0, (s, k) => k < maxIterations && go(s, k), options)
    return [u.state, u.lin]
  }

/**
 * Tuple-typed helper: pairs params with an initial state, `(p) ↦ (p, init(p))`.
 *
 * @example
 * compose(fold(step, K), withInit(initialState<N>('l1'))) // θ ↦ the state after K steps
 */
export const withInit = <P, S>(init: Diff<P, S>): Diff<P, readonly [P, S]> => fanout(id<P>(), init)

export type { Tan } from './Tangent.js'
export type { Linear } from './Linear.js'



/**
 * Branching: `pred` picks `f` or `g` at the point (the branch choice is not
 * differentiated), as JAX's `cond`.
 *
 * @example
 * cond((s: number) => s > 0, Prim.sneg(), id())
 */
export const cond = <A, B>(pred: (a: A) => boolean, f: Diff<A, B>, g: Diff<A, B>): Diff<A, B> => (a) =>
  pred(a) ? f(a) : g(a)
