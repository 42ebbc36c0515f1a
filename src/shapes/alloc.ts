/**
 * Fresh zeroed `Float64Array`s, cheaply. In Node 20 `new Float64Array(n)` for n > 8 gets
 * its own off-heap backing store, which costs about 2 µs here (measured: 1.7–2.4 µs at
 * n = 100, against about 0.1 µs for a view into an existing buffer). The engine
 * allocates a result per primitive, so at the sizes these layers run at the allocator,
 * not the arithmetic, set the cost of a step.
 *
 * `f64(n)` hands out consecutive views of a shared 256 KiB slab, as Node's `Buffer` pool
 * does for small buffers. Every view is fresh memory (the slab is only ever bumped, never
 * reused), so it is zeroed and no other array aliases it: to the caller it is exactly a
 * `new Float64Array(n)`. Lengths of at most 8 (which V8 allocates on its heap) and above
 * 4096 (where the O(n) work dwarfs the allocation) get their own buffer.
 *
 * The cost: a slab stays alive while any view into it does, so one long-lived small
 * vector can keep up to 256 KiB. Arrays from `f64` must not be transferred to another
 * thread (that would detach the whole slab); structured cloning copies the slab.
 *
 * @since 0.1.0
 */
import type { Dim } from './Dim.js'

const SLAB = 32768
const SMALL = 8
const LARGE = 4096

let slab = new Float64Array(SLAB)
let top = 0

/**
 * A fresh zeroed array of length n (see the module note for how it is allocated).
 *
 * @example
 * const o = f64(x.length) // as new Float64Array(x.length)
 */
export const f64 = (n: number): Float64Array => {
  if (n <= SMALL || n > LARGE) return new Float64Array(n)
  if (top + n > SLAB) {
    slab = new Float64Array(SLAB)
    top = 0
  }
  const v = slab.subarray(top, top + n)
  top += n
  return v
}

/**
 * A fresh copy of `x` (as `Float64Array.from(x)`).
 *
 * @example
 * const y = f64From(x.data)
 */
export const f64From = (x: ArrayLike<number>): Float64Array => {
  const o = f64(x.length)
  if (x instanceof Float64Array) o.set(x)
  else for (let i = 0; i < o.length; i++) o[i] = x[i]!
  return o
}

/**
 * `x` itself when it is the whole of its buffer, else a copy that is: safe to put in a
 * `postMessage` transfer list. The layers hand out their results through this.
 *
 * Lengths of at most 8 are always copied: V8 keeps such an array's elements on its heap,
 * and reading `.buffer` moves them to a backing store of their own (measured here: about
 * 410 ns per call on a fresh `new Float64Array(2)`, against about 80 ns for the copy),
 * which a batch of small instances paid once per instance.
 *
 * @example
 * worker.postMessage(owned(x), [owned(x).buffer]) // never detaches a shared slab
 */
export const owned = (x: Float64Array): Float64Array =>
  x.length > SMALL && x.byteOffset === 0 && x.buffer.byteLength === x.byteLength ? x : x.slice()

/**
 * A `Vec` made by a constructor, for the records a batch keeps per instance to the end of
 * its call (an instance's rows of q and w, its x). V8 makes the objects of an object
 * literal's allocation site in its old generation once a young collection has found all
 * of them alive (allocation-site pretenuring), and each such record, dead after its call,
 * then keeps the young arrays it points to alive through every young collection until the
 * next full one; objects made by a constructor are not pretenured by site.
 *
 * @example
 * const row: Vec<N> = new VecRecord(dim, q.data.subarray(b * n, b * n + n))
 */
export class VecRecord<N> {
  constructor(readonly dim: Dim<N>, readonly data: Float64Array) {}
}

/**
 * A shared array of at least n zeros that nothing writes: what a loop reads for an
 * operand that is symbolically zero or absent, instead of testing per entry. Never
 * write to it and never hand it out.
 *
 * @example
 * const cxa = cx ?? zerosView(n) // cxa[i] is 0 when cx is undefined
 */
export const zerosView = (n: number): Float64Array => {
  if (zeroBuf.length < n) zeroBuf = new Float64Array(Math.max(n, 2 * zeroBuf.length))
  return zeroBuf
}
let zeroBuf = new Float64Array(1024)
