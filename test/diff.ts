/**
 * The laws of the differentiable-map combinators on seeded random inputs: random
 * compositions of primitives agree with finite differences and satisfy the transpose law,
 * the symbolic zero passes through without work, folds equal their explicit unrolling,
 * the early-stopping fold stops where its predicate says, checkpointing changes nothing
 * but memory, and `custom` uses the linear map it is given.
 */
import t, { type Test } from 'tap'
import * as D from '../src/core/Diff.js'
import type { Diff, Linear } from '../src/core/Diff.js'
import * as P from '../src/core/Prim.js'
import { type Tan, Zero, scaleT, OuterSum } from '../src/core/Tangent.js'
import { type Rng, rng } from '../src/core/Random.js'
import * as V from '../src/core/Vector.js'
import { dense } from '../src/core/LinearOperator.js'
import type { Vec } from '../src/shapes/Vec.js'
import type { Mat } from '../src/shapes/Mat.js'
import { jvp, linearize } from '../src/jvp/index.js'
import { vjp } from '../src/vjp/index.js'
import { normalMat, normalVec, randT, jvpError, transposeError, sameT, subT, normT } from './helpers/diffLaws.js'

type N = 'n'
type VN = Vec<N>
type Par = readonly [VN, number]
type St = readonly [Par, VN]

// -------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------

/** a ↦ [a], a linear map. */
const tuple1 = <A>(): Diff<A, readonly [A]> =>
  D.linear<A, readonly [A]>({ fwd: (a) => [a] as const, bwd: (t) => t[0] })
/** p ∘ [f] */
const lift1 = <A, B, C>(p: Diff<readonly [B], C>, f: Diff<A, B>): Diff<A, C> => D.compose(p, D.compose(tuple1<B>(), f))
/** p ∘ (f △ g) */
const lift2 = <A, B, C, R>(p: Diff<readonly [B, C], R>, f: Diff<A, B>, g: Diff<A, C>): Diff<A, R> => D.compose(p, D.fanout(f, g))

const vecN = (r: Rng, n: number): VN => normalVec(r, n) as VN

/** Runs a law on a map at a point: JVP against finite differences and the transpose law, for several random tangents. */
const checkLaws = <A, B>(t: Test, f: Diff<A, B>, a: A, r: Rng, label: string, trials = 3): void => {
  const [b, lin] = f(a)
  for (let k = 0; k < trials; k++) {
    const v = randT(r, a) as Tan<A>
    const e = jvpError(f, a, v)
    if (!(e <= 1e-6)) t.fail(`${label}: JVP relative error ${e}`)
    const d = transposeError(lin, v, randT(r, b) as Tan<B>)
    if (!(d <= 1e-12)) t.fail(`${label}: transpose defect ${d}`)
  }
  t.pass(label)
}

// -------------------------------------------------------------------------------------
// random compositions
// -------------------------------------------------------------------------------------

/** The choices made while building the last random map, to name it in failure messages. */
let trace: string[] = []
const pick = <T>(r: Rng, xs: readonly T[], tag: string): T => {
  const i = Math.floor(r.uniform() * xs.length)
  trace.push(`${tag}${i}`)
  return xs[i]!
}
/** A fresh random map and the trace of its construction. */
const traced = <T>(make: () => T): readonly [T, string] => {
  trace = []
  const f = make()
  return [f, trace.join(' ')]
}

/**
 * A random map to a scalar, built on a random vector map. Σ f is avoided: Σ softmax is
 * constant, and a Jacobian that is zero by cancellation has no relative error to check.
 */
const randScalar = (r: Rng, n: number, depth: number): Diff<VN, number> => {
  const f = randMap(r, n, depth - 1)
  const Pop = dense(normalMat(r, n, n)) as ReturnType<typeof dense<N>>
  const options: (() => Diff<VN, number>)[] = [
    () => lift2(P.dot<N>(), f, D.id<VN>()),
    () => lift1(P.sum<N>(), lift2(P.mul<N>(), f, D.id<VN>())),
    () => lift1(P.max<N>(), f),
    () => lift1(P.norm2<N>(), f),
    () => lift2(P.quadForm<N>(), D.constant<VN, typeof Pop>(Pop), f),
    () => lift2(P.smul(), lift2(P.dot<N>(), f, D.id<VN>()), lift1(P.sum<N>(), D.id<VN>())),
    () => lift2(P.sdiv(), lift2(P.dot<N>(), f, D.id<VN>()), lift1(P.sum<N>(), lift1(P.exp<N>(), D.id<VN>()))),
    () => lift1(P.clamp(-1e6, 1e6), lift1(P.sneg(), lift2(P.dot<N>(), f, D.id<VN>())))
  ]
  return pick(r, options, 's')()
}

/** A random map Vec<N> → Vec<N> of about `depth` levels of combinators over smooth primitives. */
const randMap = (r: Rng, n: number, depth: number): Diff<VN, VN> => {
  const leaves: (() => Diff<VN, VN>)[] = [
    () => D.id<VN>(),
    () => lift1(P.tanh<N>(), D.id<VN>()),
    () => lift1(P.softmax<N>(), D.id<VN>()),
    () => lift1(P.neg<N>(), D.id<VN>()),
    () => lift1(P.exp<N>(), lift1(P.tanh<N>(), D.id<VN>())),
    () => lift1(P.log<N>(), lift1(P.softmax<N>(), D.id<VN>())),
    () => lift1(P.recip<N>(), lift2(P.shift<N>(), lift1(P.tanh<N>(), D.id<VN>()), D.constant<VN, number>(2))),
    () => lift2(P.apply<N>(), D.constant<VN, ReturnType<typeof dense<N>>>(dense(normalMat(r, n, n)) as ReturnType<typeof dense<N>>), D.id<VN>())
  ]
  if (depth <= 0) return pick(r, leaves, 'l')()
  const sub = (): Diff<VN, VN> => randMap(r, n, depth - 1)
  const nodes: (() => Diff<VN, VN>)[] = [
    () => D.compose(sub(), sub()),
    () => D.andThen(sub())(sub()),
    () => lift2(P.add<N>(), sub(), sub()),
    () => lift2(P.sub<N>(), sub(), sub()),
    () => lift2(P.mul<N>(), sub(), sub()),
    () => D.compose(lift2(P.add<N>(), D.fst<VN, VN>(), D.snd<VN, VN>()), D.compose(D.par(sub(), sub()), D.fanout(D.id<VN>(), D.id<VN>()))),
    () => lift2(P.scale<N>(), randScalar(r, n, depth - 1), sub()),
    () => lift2(P.shift<N>(), sub(), randScalar(r, n, depth - 1)),
    () => bindChain(sub(), sub()),
    () => pick(r, leaves, 'l')()
  ]
  return pick(r, nodes, 'm')()
}

/** A do-block: env {x}; a = f(x); b = g(a) ⊙ x; out = a + b. */
const bindChain = (f: Diff<VN, VN>, g: Diff<VN, VN>): Diff<VN, VN> => {
  type E1 = { readonly x: VN }
  type E2 = { readonly x: VN; readonly a: VN }
  type E3 = { readonly x: VN; readonly a: VN; readonly gA: VN }
  type E4 = { readonly x: VN; readonly a: VN; readonly gA: VN; readonly b: VN }
  const toEnv = D.linear<VN, E1>({ fwd: (x) => ({ x }), bwd: (e) => (e.x ?? Zero) as VN })
  const block = D.andThen(D.on<E4, readonly ['a', 'b'], VN>(['a', 'b'], P.add<N>()))(
    D.bind('b', D.on<E3, readonly ['x', 'gA'], VN>(['x', 'gA'], P.mul<N>()))(
      D.bind('gA', D.compose(g, D.get<E2, 'a'>('a')))(
        D.bind('a', D.compose(f, D.get<E1, 'x'>('x')))(D.Do<E1>())
      )
    )
  )
  return D.compose(block, toEnv)
}

t.test('random compositions agree with central finite differences and satisfy the transpose law', async (t) => {
  const r = rng(2024)
  for (let k = 0; k < 40; k++) {
    const n = 1 + Math.floor(r.uniform() * 6)
    const [f, how] = traced(() => randMap(r, n, 1 + (k % 4)))
    checkLaws(t, f, vecN(r, n), r, `map ${k} (${how}), n = ${n}`)
  }
})

t.test('random scalar-valued compositions agree with finite differences and satisfy the transpose law', async (t) => {
  const r = rng(7)
  for (let k = 0; k < 20; k++) {
    const n = 1 + Math.floor(r.uniform() * 6)
    const [f, how] = traced(() => randScalar(r, n, 1 + (k % 3)))
    checkLaws(t, f, vecN(r, n), r, `scalar map ${k} (${how}), n = ${n}`)
  }
})

t.test('random maps of pairs (par, fanout, fst, snd) satisfy both laws', async (t) => {
  const r = rng(99)
  for (let k = 0; k < 20; k++) {
    const n = 1 + Math.floor(r.uniform() * 5)
    const f: Diff<readonly [VN, VN], readonly [VN, VN]> = D.compose(
      D.fanout(lift2(P.mul<N>(), D.fst<VN, VN>(), D.snd<VN, VN>()), D.snd<VN, VN>()),
      D.par(randMap(r, n, 2), randMap(r, n, 2))
    )
    checkLaws(t, f, [vecN(r, n), vecN(r, n)] as const, r, `pair map ${k}, n = ${n}`)
  }
})

t.test('random compositions map a zero tangent or cotangent to Zero', async (t) => {
  const r = rng(5)
  for (let k = 0; k < 30; k++) {
    const n = 1 + Math.floor(r.uniform() * 5)
    const [, lin] = randMap(r, n, 1 + (k % 4))(vecN(r, n))
    t.equal(lin.fwd(Zero), Zero, `fwd, map ${k}`)
    t.equal(lin.bwd(Zero), Zero, `bwd, map ${k}`)
  }
})

t.test('a zero tangent passes through combinators without calling the linear maps', async (t) => {
  let calls = 0
  const counted = D.linear<VN, VN>({ fwd: (x) => { calls++; return x }, bwd: (y) => { calls++; return y } })
  const x = vecN(rng(1), 3)
  const erase = <B>(f: Diff<VN, B>): Diff<VN, unknown> => f as unknown as Diff<VN, unknown>
  const maps: readonly (readonly [string, Diff<VN, unknown>])[] = [
    ['compose', erase(D.compose(counted, counted))],
    ['fanout', erase(D.fanout(counted, counted))],
    ['par', erase(D.compose(D.par(counted, counted), D.fanout(D.id<VN>(), D.id<VN>())))],
    ['bind', erase(D.compose(D.bind('y', D.compose(counted, D.get<{ readonly x: VN }, 'x'>('x')))(D.Do<{ readonly x: VN }>()), D.linear<VN, { readonly x: VN }>({ fwd: (x) => ({ x }), bwd: (e) => e.x })))],
    ['fold', erase(D.compose(D.fold(D.compose(counted, D.snd<VN, VN>()), 5), D.fanout(D.id<VN>(), D.id<VN>())))]
  ]
  for (const [label, f] of maps) {
    const [, lin] = f(x)
    calls = 0
    t.equal(lin.fwd(Zero), Zero, `${label}: fwd(Zero) === Zero`)
    t.equal(lin.bwd(Zero), Zero, `${label}: bwd(Zero) === Zero`)
    t.equal(calls, 0, `${label}: no linear map was called`)
  }
})

t.test('a partially zero tuple tangent equals the tuple with explicit zeros', async (t) => {
  const r = rng(3)
  const n = 4
  const f = D.compose(P.add<N>(), D.par(lift1(P.tanh<N>(), D.id<VN>()), lift1(P.exp<N>(), D.id<VN>())))
  const a = [vecN(r, n), vecN(r, n)] as const
  const [, lin] = f(a)
  const dx = vecN(r, n)
  const zeros = V.scale(0, dx)
  t.ok(sameT(lin.fwd([dx, Zero]), lin.fwd([dx, zeros])), 'second component Zero')
  t.ok(sameT(lin.fwd([Zero, dx]), lin.fwd([zeros, dx])), 'first component Zero')
  const ct = lin.bwd(vecN(r, n)) as readonly [unknown, unknown]
  t.equal(ct.length, 2)
})

// -------------------------------------------------------------------------------------
// structural combinators
// -------------------------------------------------------------------------------------

t.test('projections, records and do-notation satisfy the transpose law', async (t) => {
  const r = rng(8)
  const n = 3
  type R = { readonly x: VN; readonly y: VN; readonly s: number }
  const env: R = { x: vecN(r, n), y: vecN(r, n), s: r.normal() }
  checkLaws(t, D.args<R, readonly ['x', 'y', 'x']>(['x', 'y', 'x']), env, r, 'args with a repeated key')
  checkLaws(t, D.pick<R, 'x' | 's'>(['x', 's']), env, r, 'pick')
  checkLaws(t, D.get<R, 's'>('s'), env, r, 'get')
  checkLaws(t, D.on<R, readonly ['x', 'y'], number>(['x', 'y'], P.dot<N>()), env, r, 'on')
  type R1 = { readonly x: VN; readonly y: VN; readonly s: number; readonly z: VN }
  type RZ = { readonly x: VN; readonly y: VN; readonly s: number; readonly z: VN; readonly k: number }
  const block = D.andThen(D.on<RZ, readonly ['z', 'x'], VN>(['z', 'x'], P.mul<N>()))(
    D.bindValue('k', (e: R1) => e.s * 2)(
      D.bind('z', D.compose(P.scale<N>(), D.args<R, readonly ['s', 'y']>(['s', 'y'])))(D.Do<R>())
    )
  )
  checkLaws(t, block, env, r, 'bind, bindValue, on')
  const pair = [vecN(r, n), vecN(r, n)] as const
  checkLaws(t, D.fst<VN, VN>(), pair, r, 'fst')
  checkLaws(t, D.snd<VN, VN>(), pair, r, 'snd')
  checkLaws(t, D.withInit(lift1(P.softmax<N>(), D.id<VN>())), pair[0], r, 'withInit')
  checkLaws(t, D.compose(lift1(P.tanh<N>(), D.id<VN>()), D.nondiff((x: VN) => V.scale(2, x))), pair[0], r, 'nondiff has a zero derivative (finite differences do not apply)', 0)
  const [, lin] = D.nondiff((x: VN) => V.scale(2, x))(pair[0])
  t.equal(lin.fwd(vecN(r, n)), Zero, 'nondiff: the derivative is Zero')
  t.equal(D.constant<VN, number>(3)(pair[0])[1].bwd(1), Zero, 'constant: the derivative is Zero')
})

t.test('a record environment built by bind reads its fields back', async (t) => {
  const r = rng(9)
  const x = vecN(r, 3)
  const f = D.bind('y', D.on<{ readonly x: VN }, readonly ['x'], VN>(['x'], P.neg<N>()))(D.Do<{ readonly x: VN }>())
  const [env] = f({ x })
  t.same(Array.from(env.y.data), Array.from(x.data, (v) => -v))
  t.equal(env.x, x)
})

// -------------------------------------------------------------------------------------
// folds
// -------------------------------------------------------------------------------------

const q = D.compose(D.fst<VN, number>(), D.fst<Par, VN>())
const beta = D.compose(D.snd<VN, number>(), D.fst<Par, VN>())
const s = D.snd<Par, VN>()
/** s ← s − ½ (s − softmax(β (q − tanh s))): six primitives. */
const step: Diff<St, VN> = lift2(
  P.sub<N>(),
  s,
  lift2(P.scale<N>(), D.constant<St, number>(0.5), lift2(P.sub<N>(), s, lift1(P.softmax<N>(), lift2(P.scale<N>(), beta, lift2(P.sub<N>(), q, lift1(P.tanh<N>(), s))))))
)
/** The explicit K-fold composition (p, s₀) ↦ step(p, step(p, … s₀)). */
const explicit = (K: number): Diff<St, VN> => {
  let e: Diff<St, VN> = D.snd<Par, VN>()
  for (let k = 0; k < K; k++) e = D.compose(step, D.fanout(D.fst<Par, VN>(), e))
  return e
}
const point = (r: Rng, n: number): St => [[vecN(r, n), 1 + r.uniform()], vecN(r, n)]

const closeT = (x: unknown, y: unknown, tol: number): boolean => normT(subT(x, y)) <= tol * Math.max(1, normT(x), normT(y))

t.test('fold(step, K) equals K explicit compositions: value, JVP and VJP', async (t) => {
  const r = rng(21)
  for (const K of [0, 1, 2, 6]) {
    const n = 4
    const a = point(r, n)
    const [y, lin] = D.fold(step, K)(a)
    const [yE, linE] = explicit(K)(a)
    t.ok(sameT(y, yE), `K = ${K}: value`)
    const v = randT(r, a) as Tan<St>
    t.ok(closeT(lin.fwd(v), linE.fwd(v), 1e-13), `K = ${K}: fwd`)
    const u = randT(r, y) as Tan<VN>
    t.ok(closeT(lin.bwd(u), linE.bwd(u), 1e-13), `K = ${K}: bwd`)
  }
})

t.test('fold satisfies both laws', async (t) => {
  const r = rng(22)
  for (const n of [1, 3, 8]) checkLaws(t, D.fold(step, 10), point(r, n), r, `n = ${n}`)
})

t.test('fold(step, 0) is the projection on the state', async (t) => {
  const r = rng(23)
  const a = point(r, 3)
  const [y, lin] = D.fold(step, 0)(a)
  t.equal(y, a[1])
  const u = vecN(r, 3)
  const [dp, ds] = lin.bwd(u) as readonly [unknown, unknown]
  t.equal(dp, Zero)
  t.equal(ds, u)
})

t.test('the reverse pass of a fold sums parameter cotangents without writing into any it was given', async (t) => {
  const r = rng(24)
  const n = 4
  type Rec = { readonly a: VN; readonly c: number }
  // s ← s + a: each step passes its cotangent on unchanged, so every step hands back the same object
  const addStep: Diff<readonly [Rec, VN], VN> = D.compose(
    P.add<N>(),
    D.fanout(D.compose(D.get<Rec, 'a'>('a'), D.fst<Rec, VN>()), D.snd<Rec, VN>())
  )
  const u = vecN(r, n)
  const copy = Float64Array.from(u.data)
  for (const c of [undefined, 2] as const) {
    const [, lin] = D.fold(addStep, 5, c === undefined ? {} : { checkpoint: c })([{ a: vecN(r, n), c: 1 }, vecN(r, n)])
    const [dp, ds] = lin.bwd(u) as readonly [{ readonly a: VN }, VN]
    t.ok(closeT(dp.a, V.scale(5, u), 1e-15), `checkpoint ${String(c)}: the parameter cotangent is the sum over steps`)
    t.equal(ds, u, 'the state cotangent passes through')
    t.same(Array.from(u.data), Array.from(copy), 'the cotangent given is not written')
    const again = lin.bwd(u) as readonly [{ readonly a: VN }, VN]
    t.ok(sameT(again[0].a, dp.a), 'a second reverse pass gives the same sum')
    t.not(again[0].a, dp.a, 'in a fresh buffer')
  }
})

t.test('foldWhile stops where its predicate says, and its derivative is the fold of that count', async (t) => {
  const r = rng(31)
  const n = 5
  const a = point(r, n)
  const [sStar] = D.fold(step, 300)(a)
  const go = (x: VN): boolean => V.normInf(V.sub(x, sStar)) > 1e-4
  // the count by plain iteration of values
  let x = a[1], kStar = 0
  while (go(x)) { x = step([a[0], x])[0]; kStar++ }
  t.ok(kStar > 2 && kStar < 100, `stops after ${kStar} steps`)
  const seen: number[] = []
  const [y, lin] = D.foldWhile(step, (x, k) => { seen.push(k); return go(x) }, 1000)(a)
  t.same(seen, Array.from({ length: kStar + 1 }, (_, k) => k), 'the predicate is asked at k = 0 … K')
  t.ok(sameT(y, x), 'the value is the state at the first k where the predicate fails')
  const [yK, linK] = D.fold(step, kStar)(a)
  t.ok(sameT(y, yK), 'value equals the fixed-count fold')
  const v = randT(r, a) as Tan<St>
  t.ok(sameT(lin.fwd(v), linK.fwd(v)), 'fwd equals the fixed-count fold')
  const u = randT(r, y) as Tan<VN>
  t.ok(sameT(lin.bwd(u), linK.bwd(u)), 'bwd equals the fixed-count fold')
})

t.test('foldWhile stops at maxIterations', async (t) => {
  const r = rng(32)
  const a = point(r, 3)
  const [y, lin] = D.foldWhile(step, () => true, 7)(a)
  const [yK, linK] = D.fold(step, 7)(a)
  t.ok(sameT(y, yK))
  const u = randT(r, y) as Tan<VN>
  t.ok(sameT(lin.bwd(u), linK.bwd(u)))
})

t.test('checkpointing gives identical values, JVPs and VJPs', async (t) => {
  const r = rng(41)
  const K = 12
  const a = point(r, 6)
  const [y0, lin0] = D.fold(step, K)(a)
  const v = randT(r, a) as Tan<St>
  const u = randT(r, y0) as Tan<VN>
  const f0 = lin0.fwd(v), b0 = lin0.bwd(u)
  for (const c of [1, 3, 5, K, K + 5]) {
    const [y, lin] = D.fold(step, K, { checkpoint: c })(a)
    t.ok(sameT(y, y0), `c = ${c}: value`)
    t.ok(sameT(lin.fwd(v), f0), `c = ${c}: fwd`)
    t.ok(sameT(lin.bwd(u), b0), `c = ${c}: bwd`)
    t.ok(sameT(lin.bwd(u), b0), `c = ${c}: bwd again (the map is reusable)`)
  }
})

t.test('checkpointing in foldWhile gives identical derivatives', async (t) => {
  const r = rng(42)
  const a = point(r, 4)
  const go = (_: VN, k: number): boolean => k < 9
  const [, lin0] = D.foldWhile(step, go, 100)(a)
  const v = randT(r, a) as Tan<St>
  const u = randT(r, a[1]) as Tan<VN>
  for (const c of [1, 2, 4, 9, 20]) {
    const [, lin] = D.foldWhile(step, go, 100, { checkpoint: c })(a)
    t.ok(sameT(lin.fwd(v), lin0.fwd(v)), `c = ${c}: fwd`)
    t.ok(sameT(lin.bwd(u), lin0.bwd(u)), `c = ${c}: bwd`)
  }
})

t.test('a tape budget: past it, the fold checkpoints and its derivative is the same linear map, bit for bit', async (t) => {
  const r = rng(43)
  const a = point(r, 5)
  const v = randT(r, a) as Tan<St>
  for (const K of [1, 7, 40, 333]) {
    const [y0, lin0] = D.fold(step, K)(a)
    const u = randT(r, y0) as Tan<VN>
    const f0 = lin0.fwd(v), b0 = lin0.bwd(u)
    for (const tape of [{ limit: 0, perStep: 1 }, { limit: 3, perStep: 1 }, { limit: 10, perStep: 1, perState: 0.25 }, { limit: 5, perStep: 1, perState: 8 }, { limit: 1e9, perStep: 1 }]) {
      const label = `K = ${K}, tape ${JSON.stringify(tape)}`
      const [y, lin] = D.fold(step, K, { tape })(a)
      t.ok(sameT(y, y0), `${label}: value`)
      t.ok(sameT(lin.fwd(v), f0), `${label}: fwd`)
      t.ok(sameT(lin.bwd(u), b0), `${label}: bwd`)
      t.ok(sameT(lin.bwd(u), b0), `${label}: bwd again (the map is reusable)`)
    }
  }
})

t.test('a tape budget in foldWhile: K unknown in advance, the same derivative', async (t) => {
  const r = rng(44)
  const a = point(r, 3)
  const go = (_: VN, k: number): boolean => k < 250
  const [, lin0] = D.foldWhile(step, go, 1000)(a)
  const v = randT(r, a) as Tan<St>
  const u = randT(r, a[1]) as Tan<VN>
  const [, lin] = D.foldWhile(step, go, 1000, { tape: { limit: 4, perStep: 1 } })(a)
  t.ok(sameT(lin.fwd(v), lin0.fwd(v)), 'fwd')
  t.ok(sameT(lin.bwd(u), lin0.bwd(u)), 'bwd')
})

/** The step, counting its calls and the restarts of the reverse pass (a call on a state it did not just return). */
const counted = () => {
  let calls = 0, restarts = 0, run = 0, longest = 0
  let last: unknown
  const f: Diff<St, VN> = (x) => {
    calls++
    if (x[1] !== last) { restarts++; run = 0 }
    run++
    longest = Math.max(longest, run)
    const out = step(x)
    last = out[0]
    return out
  }
  return { f, stats: () => ({ calls, restarts, longest }), reset: () => { calls = 0; restarts = 0; run = 0; longest = 0; last = undefined } }
}

t.test('within the budget nothing is recomputed; past it, one extra forward pass in O(√K) segments of O(√K) steps', async (t) => {
  const r = rng(45)
  const a = point(r, 2)
  for (const K of [64, 1000, 10000]) {
    const c = counted()
    const [y, linAll] = D.fold(c.f, K, { tape: { limit: 2 * K, perStep: 1 } })(a)
    c.reset()
    linAll.bwd(randT(r, y) as Tan<VN>)
    t.equal(c.stats().calls, 0, `K = ${K}: every map kept, no step recomputed`)
    const [y2, lin] = D.fold(c.f, K, { tape: { limit: 8, perStep: 1, perState: 1 } })(a)
    c.reset()
    lin.bwd(randT(r, y2) as Tan<VN>)
    const { calls, restarts, longest } = c.stats()
    t.equal(calls, K, `K = ${K}: the reverse pass recomputes each step once`)
    // balanced: segments of c steps and K/c marks with K/c ≤ 2c, so c ≈ √(K/2)
    const bound = 2 * Math.sqrt(2 * K) + 2
    t.ok(restarts <= bound, `K = ${K}: ${restarts} segments ≤ ${bound.toFixed(0)}`)
    t.ok(longest <= bound, `K = ${K}: the longest segment (${longest} steps) ≤ ${bound.toFixed(0)}`)
  }
})

t.test('checkpoint takes precedence over a tape budget', async (t) => {
  const r = rng(46)
  const a = point(r, 2)
  const c = counted()
  const [y, lin] = D.fold(c.f, 30, { checkpoint: 10, tape: { limit: 1e9, perStep: 1 } })(a)
  c.reset()
  lin.bwd(randT(r, y) as Tan<VN>)
  t.same(c.stats(), { calls: 30, restarts: 3, longest: 10 }, 'three segments of 10 steps, recomputed')
})

t.test('the reverse pass expands a sum of outer products once it outgrows the matrix (outerSumNumbers: 0), to rounding', async (t) => {
  const r = rng(47)
  const n = 3
  // s ← A s with A a parameter: each step's cotangent in A is an outer product
  type Pm = { readonly A: Mat<N, N> }
  const mstep: Diff<readonly [Pm, VN], VN> = D.compose(P.matVec<N, N>(), D.fanout(D.compose(D.get<Pm, 'A'>('A'), D.fst<Pm, VN>()), D.snd<Pm, VN>()))
  const A = { rows: n, cols: n, data: Float64Array.from({ length: n * n }, () => 0.3 * r.normal()) } as unknown as Mat<N, N>
  const p: Pm = { A }
  const s0 = vecN(r, n)
  for (const K of [1, 2, 10, 50]) {
    const [y, lin] = D.fold(mstep, K, { outerSumNumbers: 0 })([p, s0])
    const u = vecN(r, n)
    const [dp] = lin.bwd(u) as readonly [{ readonly A: { readonly data: Float64Array } }, VN]
    // reference: the same sum of K outer products, in float64 by hand
    const ref = new Float64Array(n * n)
    const states: Float64Array[] = [s0.data]
    for (let k = 0; k < K; k++) {
      const x = states[k]!, o = new Float64Array(n)
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) o[i] = o[i]! + A.data[i * n + j]! * x[j]!
      states.push(o)
    }
    let ct = Float64Array.from(u.data)
    for (let k = K - 1; k >= 0; k--) {
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) ref[i * n + j] = ref[i * n + j]! + ct[i]! * states[k]![j]!
      const next = new Float64Array(n)
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) next[j] = next[j]! + A.data[i * n + j]! * ct[i]!
      ct = next
    }
    let err = 0, scale = 0
    for (let k = 0; k < n * n; k++) { err = Math.max(err, Math.abs(dp.A.data[k]! - ref[k]!)); scale = Math.max(scale, Math.abs(ref[k]!)) }
    t.ok(err <= 1e-14 * Math.max(1, scale), `K = ${K}: the cotangent of A within 1e-14 (${err.toExponential(2)})`)
    t.ok(sameT(y, y), 'value')
  }
})

t.test('by default the reverse pass keeps a sum of outer products unexpanded (one term per step) until its terms hold OUTER_SUM_NUMBERS, and it expands to the same matrix', async (t) => {
  const r = rng(48)
  const n = 3
  type Pm = { readonly A: Mat<N, N> }
  const mstep: Diff<readonly [Pm, VN], VN> = D.compose(P.matVec<N, N>(), D.fanout(D.compose(D.get<Pm, 'A'>('A'), D.fst<Pm, VN>()), D.snd<Pm, VN>()))
  const A = { rows: n, cols: n, data: Float64Array.from({ length: n * n }, () => 0.3 * r.normal()) } as unknown as Mat<N, N>
  const s0 = vecN(r, n)
  t.equal(D.outerSumCap(n, n), Math.floor(D.OUTER_SUM_NUMBERS / (2 * n)), 'a small matrix: the cap is the numbers limit over rows + cols')
  t.equal(D.outerSumCap(4000, 4000), 2000, 'a large one: its own size')
  t.equal(D.outerSumCap(n, n, 0), 1, 'outerSumNumbers 0: the matrix size')
  for (const K of [2, 50, 400]) {
    const u = vecN(r, n)
    const [, lin] = D.fold(mstep, K)([{ A }, s0])
    const [dp] = lin.bwd(u) as unknown as readonly [{ readonly A: OuterSum }, VN]
    t.ok(dp.A instanceof OuterSum, `K = ${K}: unexpanded`)
    t.equal(dp.A.terms, K, `K = ${K}: one term per step`)
    const [, lin0] = D.fold(mstep, K, { outerSumNumbers: 0 })([{ A }, s0])
    const [dp0] = lin0.bwd(u) as readonly [{ readonly A: { readonly data: Float64Array } }, VN]
    let err = 0, scale = 0
    for (let k = 0; k < n * n; k++) { err = Math.max(err, Math.abs(dp.A.data[k]! - dp0.A.data[k]!)); scale = Math.max(scale, Math.abs(dp0.A.data[k]!)) }
    t.ok(err <= 1e-14 * Math.max(1, scale), `K = ${K}: the same matrix as the expanded sum, to rounding (${err.toExponential(2)})`)
  }
})

// -------------------------------------------------------------------------------------
// custom derivatives and projections
// -------------------------------------------------------------------------------------

t.test('custom uses the supplied linear map, not the derivative of its primal', async (t) => {
  const r = rng(51)
  const x = vecN(r, 4)
  let seen: readonly [VN, VN] | undefined
  let primalCalls = 0
  const map: Linear<VN, VN> = { fwd: (d) => scaleT(3, d), bwd: (d) => scaleT(3, d) }
  const f = D.custom((a: VN) => { primalCalls++; return V.softmax(a) }, (a, b) => { seen = [a, b]; return map })
  const [y, lin] = f(x)
  t.equal(primalCalls, 1, 'the primal runs once')
  t.equal(lin, map, 'the linear map is the one supplied')
  t.ok(seen !== undefined && seen[0] === x && seen[1] === y, 'linearize receives the input and the primal value')
  const dx = vecN(r, 4)
  // inside a composition, the chain rule uses the supplied map
  const g = D.compose(lift1(P.neg<N>(), D.id<VN>()), f)
  const [, lg] = g(x)
  t.ok(closeT(lg.fwd(dx), V.scale(-3, dx), 1e-15), 'fwd through compose')
  t.ok(closeT(lg.bwd(dx), V.scale(-3, dx), 1e-15), 'bwd through compose')
})

t.test('jvp, linearize and vjp are projections of the Diff', async (t) => {
  const r = rng(61)
  const f = randMap(r, 3, 3)
  const x = vecN(r, 3), dx = vecN(r, 3)
  const [y, lin] = f(x)
  const [y1, d1] = jvp(f)(x, dx)
  t.ok(sameT(y1, y))
  t.ok(sameT(d1, lin.fwd(dx)))
  const [y2, push] = linearize(f)(x)
  t.ok(sameT(y2, y))
  t.ok(sameT(push(dx), lin.fwd(dx)))
  const [y3, pull] = vjp(f)(x)
  t.ok(sameT(y3, y))
  t.ok(sameT(pull(dx), lin.bwd(dx)))
})
