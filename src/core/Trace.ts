/**
 * Straight-line code as a differentiable map. `trace(body)` runs `body` on symbolic
 * variables; every `Diff` it calls (primitives or whole sub-maps) is recorded on a tape
 * with its linear map at that point. The result is an ordinary `Diff`: its `fwd` replays
 * the tape's tangent maps in order, its `bwd` their transposes in reverse, adding
 * cotangents where a variable is used twice. This is the let-notation of the combinator
 * algebra (a Wengert list, as JAX's jaxpr), not a second engine: the linear maps are the
 * primitives' own.
 *
 * @since 0.1.0
 */
import type { Diff, Linear } from './Diff.js'
import { type Tan, Zero, addT } from './Tangent.js'

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/**
 * A traced variable: its tape slot and its value at the point.
 *
 * @example
 * trace<{ x: Vec<N> }, number>(($, { x }) => { x.value; return $.call(P.sum<N>(), x) })
 */
export interface Var<T> {
  readonly id: number
  readonly value: T
}

/**
 * The variables of a record's fields.
 *
 * @example
 * const body = ($: Tracer, v: Vars<{ x: Vec<N>; t: number }>) => $.call(P.scale<N>(), v.t, v.x)
 */
export type Vars<R> = { readonly [K in keyof R]: Var<R[K]> }

interface Node {
  readonly lin: Linear<unknown, unknown>
  readonly ins: readonly number[]
  readonly out: number
  /** How the inputs are packed: one variable, a tuple, or a record with these keys. */
  readonly pack: 'single' | 'tuple' | readonly string[]
}

class TVar<T> implements Var<T> {
  constructor(readonly id: number, readonly value: T) {}
}

/**
 * The recorder handed to a traced body.
 *
 * @example
 * trace<{ x: Vec<N> }, Vec<N>>(($, { x }) => $.call(P.mul<N>(), x, $.constant(w)))
 */
export interface Tracer {
  /** Calls a differentiable map of a tuple of variables. */
  readonly call: <A extends readonly unknown[], B>(f: Diff<A, B>, ...args: { readonly [I in keyof A]: Var<A[I]> }) => Var<B>
  /** Calls a differentiable map of one variable. */
  readonly call1: <A, B>(f: Diff<A, B>, a: Var<A>) => Var<B>
  /** Calls a differentiable map of a record of variables. */
  readonly callRecord: <A extends object, B>(f: Diff<A, B>, args: Vars<A>) => Var<B>
  /** A constant: its tangent is zero. */
  readonly constant: <T>(value: T) => Var<T>
}

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/**
 * Builds a `Diff<A, B>` from a body over the fields of the record `A`. The body returns
 * a record of variables (the output record) or one variable.
 *
 * @example
 * const f = trace<{ x: Vec<N>; y: Vec<N> }, Vec<N>>(($, { x, y }) => $.call(Prim.mul<N>(), x, $.call(Prim.exp<N>(), y)))
 */
export const trace = <A extends object, B>(
  body: ($: Tracer, inputs: Vars<A>) => B extends object ? Vars<B> | Var<B> : Var<B>
): Diff<A, B> =>
  (a) => {
    const nodes: Node[] = []
    let next = 0
    const constants = new Set<number>()
    const mk = <T>(value: T): Var<T> => new TVar(next++, value)
    const tracer: Tracer = {
      call: (f, ...args) => {
        const [b, lin] = f(args.map((v) => (v as Var<unknown>).value) as never)
        const out = mk(b)
        nodes.push({ lin: lin as Linear<unknown, unknown>, ins: args.map((v) => (v as Var<unknown>).id), out: out.id, pack: 'tuple' })
        return out
      },
      call1: (f, x) => {
        const [b, lin] = f(x.value)
        const out = mk(b)
        nodes.push({ lin: lin as Linear<unknown, unknown>, ins: [x.id], out: out.id, pack: 'single' })
        return out
      },
      callRecord: (f, args) => {
        const ks = Object.keys(args)
        const rec = Object.fromEntries(ks.map((k) => [k, (args as Record<string, Var<unknown>>)[k]!.value]))
        const [b, lin] = f(rec as never)
        const out = mk(b)
        nodes.push({ lin: lin as Linear<unknown, unknown>, ins: ks.map((k) => (args as Record<string, Var<unknown>>)[k]!.id), out: out.id, pack: ks })
        return out
      },
      constant: (value) => {
        const v = mk(value)
        constants.add(v.id)
        return v
      }
    }
    // a tuple input is traced as a tuple of variables (destructurable), a record as a record
    const tuple = Array.isArray(a)
    const keys = Object.keys(a) as (keyof A & string)[]
    const inVars = {} as Record<string, Var<unknown>>
    for (const k of keys) inVars[k] = mk((a as Record<string, unknown>)[k])
    const result = body(tracer, (tuple ? keys.map((k) => inVars[k]) : inVars) as unknown as Vars<A>) as unknown
    const single = isVar(result)
    const outKeys = single ? [] : Object.keys(result as object)
    const outVars: Var<unknown>[] = single ? [result as Var<unknown>] : outKeys.map((k) => (result as Record<string, Var<unknown>>)[k]!)
    const value = single ? (result as Var<unknown>).value : Object.fromEntries(outKeys.map((k, i) => [k, outVars[i]!.value]))
    const size = next
    const tape = nodes

    const fwd = (da: Tan<A>): Tan<B> => {
      if (da === Zero) return Zero
      const tan: unknown[] = new Array(size).fill(Zero)
      for (const k of keys) tan[inVars[k]!.id] = (da as Record<string, unknown>)[k] ?? Zero
      for (const n of tape) {
        let allZero = true
        const ins = n.ins.map((i) => { const v = tan[i]; if (v !== Zero) allZero = false; return v })
        if (allZero) continue
        const packed = n.pack === 'single' ? ins[0] : n.pack === 'tuple' ? ins : Object.fromEntries(n.pack.map((k, m) => [k, ins[m]]))
        tan[n.out] = n.lin.fwd(packed as never)
      }
      if (single) return tan[outVars[0]!.id] as Tan<B>
      return Object.fromEntries(outKeys.map((k, i) => [k, tan[outVars[i]!.id]])) as Tan<B>
    }
    const bwd = (db: Tan<B>): Tan<A> => {
      if (db === Zero) return Zero
      const ct: unknown[] = new Array(size).fill(Zero)
      if (single) ct[outVars[0]!.id] = db
      else outKeys.forEach((k, i) => { const id = outVars[i]!.id; ct[id] = addT(ct[id], (db as Record<string, unknown>)[k] ?? Zero) })
      for (let j = tape.length - 1; j >= 0; j--) {
        const n = tape[j]!
        const c = ct[n.out]
        if (c === Zero) continue
        const r = n.lin.bwd(c as never)
        if (r === Zero) continue
        if (n.pack === 'single') ct[n.ins[0]!] = addT(ct[n.ins[0]!], r)
        else if (n.pack === 'tuple') n.ins.forEach((i, m) => { ct[i] = addT(ct[i], (r as readonly unknown[])[m] ?? Zero) })
        else {
          const ks = n.pack
          n.ins.forEach((i, m) => { ct[i] = addT(ct[i], (r as Record<string, unknown>)[ks[m]!] ?? Zero) })
        }
      }
      if (tuple) return keys.map((k) => ct[inVars[k]!.id]) as unknown as Tan<A>
      const o: Record<string, unknown> = {}
      for (const k of keys) o[k] = ct[inVars[k]!.id]
      return o as Tan<A>
    }
    return [value as B, { fwd, bwd }]
  }

const isVar = (x: unknown): x is Var<unknown> => x instanceof TVar
