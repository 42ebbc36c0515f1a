/**
 * The dense matrix-vector kernels: y = A x and y = Aᵀ x for a row-major n × n matrix,
 * in WebAssembly SIMD (f64x2) with plain-JavaScript fallbacks that compute the same
 * floating-point operations in the same order, so the two are bitwise equal and a
 * result never depends on which one ran.
 *
 * - `gemvLanes` (y = A x) sums row i with eight partial sums, s_l over the columns
 *   j ≡ l (mod 8) of the first 8⌊n/8⌋ columns, reduced as
 *   ((s₀+s₂)+(s₄+s₆)) + ((s₁+s₃)+(s₅+s₇)), then adds the remaining columns one by one.
 *   That is exactly four f64x2 accumulators (lanes (s₀,s₁), (s₂,s₃), …) summed pairwise
 *   and then across lanes.
 * - `gemvTLoop` (y = Aᵀ x) accumulates y += xᵢ A[i, :] row by row, i ascending.
 *
 * The module is assembled here byte by byte (no toolchain); it imports its memory. A
 * matrix is copied into that memory the second time it is multiplied (a matrix used
 * once never pays the copy, which costs about two products), and stays there, keyed by
 * its Float64Array, until that array is garbage-collected. The copy is only valid while
 * the matrix is not written to: dense operators treat their matrix as immutable, as the
 * rest of the library does. Vectors are copied in and out per call (O(n) against the
 * O(n²) product).
 *
 * Node ≥ 16.4 and every current browser run wasm SIMD; where it does not validate, the
 * JavaScript loops run.
 *
 * @since 0.1.0
 */

// -------------------------------------------------------------------------------------
// the plain loops (the reference order)
// -------------------------------------------------------------------------------------

/**
 * y ← A x for row-major m × n A, in the SIMD kernel's summation order (eight partial
 * sums per row, see above). `y` must not alias `x`.
 *
 * @example
 * gemvLanesRect(new Float64Array([1, 2, 3, 4, 5, 6]), 2, 3, new Float64Array([1, 1, 1]), y) // y = [6, 15]
 */
export const gemvLanesRect = (A: Float64Array, m: number, n: number, x: Float64Array, y: Float64Array): void => {
  const n8 = n & ~7
  for (let i = 0, r = 0; i < m; i++, r += n) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0
    let j = 0
    for (; j < n8; j += 8) {
      s0 += A[r + j]! * x[j]!
      s1 += A[r + j + 1]! * x[j + 1]!
      s2 += A[r + j + 2]! * x[j + 2]!
      s3 += A[r + j + 3]! * x[j + 3]!
      s4 += A[r + j + 4]! * x[j + 4]!
      s5 += A[r + j + 5]! * x[j + 5]!
      s6 += A[r + j + 6]! * x[j + 6]!
      s7 += A[r + j + 7]! * x[j + 7]!
    }
    let s = ((s0 + s2) + (s4 + s6)) + ((s1 + s3) + (s5 + s7))
    for (; j < n; j++) s += A[r + j]! * x[j]!
    y[i] = s
  }
}

/**
 * y ← A x for row-major n × n A: {@link gemvLanesRect} with m = n.
 *
 * @example
 * gemvLanes(new Float64Array([1, 2, 3, 4]), 2, new Float64Array([1, 1]), y) // y = [3, 7]
 */
export const gemvLanes = (A: Float64Array, n: number, x: Float64Array, y: Float64Array): void => gemvLanesRect(A, n, n, x, y)

/**
 * y ← Aᵀ x for row-major m × n A (x of length m, y of length n): y = Σᵢ xᵢ A[i, :],
 * i ascending. `y` must not alias `x`.
 *
 * @example
 * gemvTLoopRect(new Float64Array([1, 2, 3, 4, 5, 6]), 2, 3, new Float64Array([1, 1]), y) // y = [5, 7, 9]
 */
export const gemvTLoopRect = (A: Float64Array, m: number, n: number, x: Float64Array, y: Float64Array): void => {
  y.fill(0, 0, n)
  for (let i = 0, r = 0; i < m; i++, r += n) {
    const xi = x[i]!
    for (let j = 0; j < n; j++) y[j] = y[j]! + A[r + j]! * xi
  }
}

/**
 * y ← Aᵀ x for row-major n × n A: {@link gemvTLoopRect} with m = n.
 *
 * @example
 * gemvTLoop(new Float64Array([1, 2, 3, 4]), 2, new Float64Array([1, 1]), y) // y = [4, 6]
 */
export const gemvTLoop = (A: Float64Array, n: number, x: Float64Array, y: Float64Array): void => gemvTLoopRect(A, n, n, x, y)

// -------------------------------------------------------------------------------------
// the WebAssembly module
// -------------------------------------------------------------------------------------

const uleb = (v: number): number[] => {
  const out: number[] = []
  do {
    let b = v & 0x7f
    v >>>= 7
    if (v !== 0) b |= 0x80
    out.push(b)
  } while (v !== 0)
  return out
}
const str = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))]
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body]
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]

// opcodes
const BLOCK = 0x02, LOOP = 0x03, END = 0x0b, BR_IF = 0x0d, VOID = 0x40
const LGET = 0x20, LSET = 0x21, LTEE = 0x22
const F64_LOAD = 0x2b, F64_STORE = 0x39
const I32_CONST = 0x41, F64_CONST = 0x44
const I32_EQZ = 0x45, I32_LT_U = 0x49, I32_GE_U = 0x4f
const I32_ADD = 0x6a, I32_MUL = 0x6c, I32_AND = 0x71
const F64_ADD = 0xa0, F64_MUL = 0xa2
const I32 = 0x7f, F64 = 0x7c, V128 = 0x7b
const simd = (op: number): number[] => [0xfd, ...uleb(op)]
const V128_LOAD = (offset: number): number[] => [...simd(0x00), 3, ...uleb(offset)]
const V128_STORE = (offset: number): number[] => [...simd(0x0b), 3, ...uleb(offset)]
const V128_ZERO = [...simd(0x0c), ...new Array<number>(16).fill(0)]
const F64X2_SPLAT = simd(0x14)
const F64X2_EXTRACT = (lane: number): number[] => [...simd(0x21), lane]
const F64X2_ADD = simd(0xf0), F64X2_MUL = simd(0xf2)
const f64load = [F64_LOAD, 3, 0], f64store = [F64_STORE, 3, 0]
const get = (l: number): number[] => [LGET, l]
const set = (l: number): number[] => [LSET, l]
const i32c = (v: number): number[] => [I32_CONST, ...sleb(v)]
function sleb(v: number): number[] {
  const out: number[] = []
  for (;;) {
    const b = v & 0x7f
    v >>= 7
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) { out.push(b); return out }
    out.push(b | 0x80)
  }
}
const addTo = (l: number, k: number): number[] => [...get(l), ...i32c(k), I32_ADD, ...set(l)]

/** gemv(a, x, y, n): y = A x, pointers in bytes. Locals: 4 nb, 5 end8, 6 yend, 7 j, 8 s (f64), 9–12 acc (v128). */
const gemvBody = (): number[] => {
  const [A, X, Y, N, NB, END8, YEND, J, S] = [0, 1, 2, 3, 4, 5, 6, 7, 8]
  const acc = [9, 10, 11, 12]
  const locals = vec([[4, I32], [1, F64], [4, V128]])
  const mac = (k: number): number[] => [
    ...get(acc[k]!), ...get(A), ...get(J), I32_ADD, ...V128_LOAD(16 * k), ...get(X), ...get(J), I32_ADD, ...V128_LOAD(16 * k),
    ...F64X2_MUL, ...F64X2_ADD, ...set(acc[k]!)
  ]
  const code = [
    ...get(N), ...i32c(8), I32_MUL, ...set(NB),
    ...get(N), ...i32c(-8), I32_AND, ...i32c(8), I32_MUL, ...set(END8),
    ...get(Y), ...get(NB), I32_ADD, ...set(YEND),
    BLOCK, VOID,
    ...get(N), I32_EQZ, BR_IF, 0,
    LOOP, VOID,
    ...acc.flatMap((a) => [...V128_ZERO, ...set(a)]),
    ...i32c(0), ...set(J),
    BLOCK, VOID,
    ...get(J), ...get(END8), I32_GE_U, BR_IF, 0,
    LOOP, VOID,
    ...mac(0), ...mac(1), ...mac(2), ...mac(3),
    ...addTo(J, 64),
    ...get(J), ...get(END8), I32_LT_U, BR_IF, 0,
    END,
    END,
    ...get(acc[0]!), ...get(acc[1]!), ...F64X2_ADD, ...get(acc[2]!), ...get(acc[3]!), ...F64X2_ADD, ...F64X2_ADD,
    LTEE, acc[0]!, ...F64X2_EXTRACT(0), ...get(acc[0]!), ...F64X2_EXTRACT(1), F64_ADD, ...set(S),
    BLOCK, VOID,
    ...get(J), ...get(NB), I32_GE_U, BR_IF, 0,
    LOOP, VOID,
    ...get(S), ...get(A), ...get(J), I32_ADD, ...f64load, ...get(X), ...get(J), I32_ADD, ...f64load, F64_MUL, F64_ADD, ...set(S),
    ...addTo(J, 8),
    ...get(J), ...get(NB), I32_LT_U, BR_IF, 0,
    END,
    END,
    ...get(Y), ...get(S), ...f64store,
    ...get(A), ...get(NB), I32_ADD, ...set(A),
    ...addTo(Y, 8),
    ...get(Y), ...get(YEND), I32_LT_U, BR_IF, 0,
    END,
    END
  ]
  return [...locals, ...code, END]
}

/** gemvT(a, x, y, n): y = Aᵀ x. Locals: 4 nb, 5 end2, 6 xend, 7 j, 8 xs (f64), 9 xv (v128). */
const gemvTBody = (): number[] => {
  const [A, X, Y, N, NB, END2, XEND, J, XS, XV] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
  const locals = vec([[4, I32], [1, F64], [1, V128]])
  const code = [
    ...get(N), ...i32c(8), I32_MUL, ...set(NB),
    ...get(N), ...i32c(-2), I32_AND, ...i32c(8), I32_MUL, ...set(END2),
    ...get(X), ...get(NB), I32_ADD, ...set(XEND),
    BLOCK, VOID,
    ...get(N), I32_EQZ, BR_IF, 0,
    // y = 0
    ...i32c(0), ...set(J),
    LOOP, VOID,
    ...get(Y), ...get(J), I32_ADD, F64_CONST, 0, 0, 0, 0, 0, 0, 0, 0, ...f64store,
    ...addTo(J, 8),
    ...get(J), ...get(NB), I32_LT_U, BR_IF, 0,
    END,
    LOOP, VOID,
    ...get(X), ...f64load, LTEE, XS, ...F64X2_SPLAT, ...set(XV),
    ...i32c(0), ...set(J),
    BLOCK, VOID,
    ...get(J), ...get(END2), I32_GE_U, BR_IF, 0,
    LOOP, VOID,
    ...get(Y), ...get(J), I32_ADD,
    ...get(Y), ...get(J), I32_ADD, ...V128_LOAD(0),
    ...get(A), ...get(J), I32_ADD, ...V128_LOAD(0), ...get(XV), ...F64X2_MUL,
    ...F64X2_ADD, ...V128_STORE(0),
    ...addTo(J, 16),
    ...get(J), ...get(END2), I32_LT_U, BR_IF, 0,
    END,
    END,
    BLOCK, VOID,
    ...get(J), ...get(NB), I32_GE_U, BR_IF, 0,
    ...get(Y), ...get(J), I32_ADD,
    ...get(Y), ...get(J), I32_ADD, ...f64load,
    ...get(A), ...get(J), I32_ADD, ...f64load, ...get(XS), F64_MUL,
    F64_ADD, ...f64store,
    END,
    ...get(A), ...get(NB), I32_ADD, ...set(A),
    ...addTo(X, 8),
    ...get(X), ...get(XEND), I32_LT_U, BR_IF, 0,
    END,
    END
  ]
  return [...locals, ...code, END]
}

/** stream(a, bytes) → f64: the sum of bytes/8 doubles from a (bytes a multiple of 64) — a bandwidth probe. Locals: 2 end, 3–6 acc. */
const streamBody = (): number[] => {
  const [A, B, EN] = [0, 1, 2]
  const acc = [3, 4, 5, 6]
  const locals = vec([[1, I32], [4, V128]])
  const code = [
    ...get(A), ...get(B), I32_ADD, ...set(EN),
    ...acc.flatMap((a) => [...V128_ZERO, ...set(a)]),
    BLOCK, VOID,
    ...get(B), I32_EQZ, BR_IF, 0,
    LOOP, VOID,
    ...acc.flatMap((a, k) => [...get(a), ...get(A), ...V128_LOAD(16 * k), ...F64X2_ADD, ...set(a)]),
    ...addTo(A, 64),
    ...get(A), ...get(EN), I32_LT_U, BR_IF, 0,
    END,
    END,
    ...get(acc[0]!), ...get(acc[1]!), ...F64X2_ADD, ...get(acc[2]!), ...get(acc[3]!), ...F64X2_ADD, ...F64X2_ADD,
    LTEE, acc[0]!, ...F64X2_EXTRACT(0), ...get(acc[0]!), ...F64X2_EXTRACT(1), F64_ADD
  ]
  return [...locals, ...code, END]
}

/**
 * The module's bytes: imports `env.mem`, exports `gemv` and `gemvT`, both (i32 a, i32 x, i32 y, i32 n) → (), and `stream` (i32 a, i32 bytes) → f64.
 *
 * @example
 * WebAssembly.validate(moduleBytes()) // true where wasm SIMD runs
 */
export const moduleBytes = (): Uint8Array => {
  const fnType = [0x60, ...vec([[I32], [I32], [I32], [I32]]), 0]
  const streamType = [0x60, ...vec([[I32], [I32]]), ...vec([[F64]])]
  const body = (b: number[]): number[] => [...uleb(b.length), ...b]
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([fnType, streamType])),
    ...section(2, vec([[...str('env'), ...str('mem'), 0x02, 0x00, 0x01]])),
    ...section(3, vec([[0], [0], [1]])),
    ...section(7, vec([[...str('gemv'), 0x00, 0], [...str('gemvT'), 0x00, 1], [...str('stream'), 0x00, 2]])),
    ...section(10, vec([body(gemvBody()), body(gemvTBody()), body(streamBody())]))
  ])
}

// -------------------------------------------------------------------------------------
// the arena: one memory, first-fit blocks, freed when the matrix is collected
// -------------------------------------------------------------------------------------

type Kernel = (a: number, x: number, y: number, n: number) => void

/** The part of the WebAssembly API used here (the project's `lib` has no DOM types). */
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
interface WasmApi {
  validate(bytes: Uint8Array): boolean
  readonly Memory: new (d: { readonly initial: number }) => WasmMemory
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (m: object, imports: object) => { readonly exports: object }
}

interface Wasm {
  readonly memory: WasmMemory
  readonly gemv: Kernel
  readonly gemvT: Kernel
  readonly stream: (a: number, bytes: number) => number
}

const PAGE = 65536
/**
 * Bytes of matrices the arena holds at most (beyond that, the JavaScript loops run).
 *
 * @example
 * arenaBytes() <= ARENA_LIMIT // always
 */
export const ARENA_LIMIT = 1.5 * 2 ** 30

const instantiate = (): Wasm | undefined => {
  try {
    const WA = (globalThis as { readonly WebAssembly?: WasmApi }).WebAssembly
    if (WA === undefined) return undefined
    const bytes = moduleBytes()
    if (!WA.validate(bytes)) return undefined
    const memory = new WA.Memory({ initial: 1 })
    const inst = new WA.Instance(new WA.Module(bytes), { env: { mem: memory } })
    const e = inst.exports as unknown as { gemv: Kernel; gemvT: Kernel; stream: (a: number, bytes: number) => number }
    return { memory, gemv: e.gemv, gemvT: e.gemvT, stream: e.stream }
  } catch {
    return undefined
  }
}

let wasm: Wasm | undefined | null = null
const getWasm = (): Wasm | undefined => {
  if (wasm === null) wasm = typeof process !== 'undefined' && process.env['DFW_NO_SIMD'] === '1' ? undefined : instantiate()
  return wasm
}

/**
 * Whether the WebAssembly SIMD kernels are in use (false: the JavaScript loops run; set DFW_NO_SIMD=1 to force that).
 *
 * @example
 * simdAvailable() // true under Node ≥ 20
 */
export const simdAvailable = (): boolean => getWasm() !== undefined

/** Free blocks [offset, size), sorted by offset; `top` is the end of the used region. */
const free: Array<[number, number]> = []
let top = 0
let held = 0

const align = (b: number): number => (b + 63) & ~63

const alloc = (w: Wasm, bytes: number): number | undefined => {
  const size = align(bytes)
  for (let k = 0; k < free.length; k++) {
    const [off, sz] = free[k]!
    if (sz >= size) {
      if (sz === size) free.splice(k, 1)
      else free[k] = [off + size, sz - size]
      return off
    }
  }
  const need = top + size
  const have = w.memory.buffer.byteLength
  if (need > have) {
    try { w.memory.grow(Math.ceil((need - have) / PAGE)) } catch { return undefined }
  }
  const off = top
  top = need
  return off
}

const release = (off: number, bytes: number): void => {
  const size = align(bytes)
  let k = 0
  while (k < free.length && free[k]![0] < off) k++
  free.splice(k, 0, [off, size])
  // coalesce with the neighbours
  if (k + 1 < free.length && free[k]![0] + free[k]![1] === free[k + 1]![0]) { free[k]![1] += free[k + 1]![1]; free.splice(k + 1, 1) }
  if (k > 0 && free[k - 1]![0] + free[k - 1]![1] === free[k]![0]) { free[k - 1]![1] += free[k]![1]; free.splice(k, 1) }
  const last = free[free.length - 1]
  if (last !== undefined && last[0] + last[1] === top) { top = last[0]; free.pop() }
}

interface Entry {
  /** The size the matrix was first multiplied as (a later product as another size bypasses the copy). */
  readonly n: number
  /** Byte offset of the copy in the arena, or −1 (not copied yet, or no room). */
  off: number
  /** Uses so far. */
  uses: number
  /** Whether A = Aᵀ exactly; checked on the first transposed product. */
  symmetric: boolean | undefined
}

const entries = new WeakMap<Float64Array, Entry>()
const registry = new FinalizationRegistry<readonly [number, number]>(([off, bytes]) => {
  release(off, bytes)
  held -= bytes
})

const entryOf = (A: Float64Array, n: number): Entry | undefined => {
  let e = entries.get(A)
  if (e === undefined) { e = { n, off: -1, uses: 0, symmetric: undefined }; entries.set(A, e) }
  return e.n === n ? e : undefined
}

/** Scratch for x and y (16n bytes), grown as needed. */
let scratch = -1, scratchBytes = 0

const scratchFor = (w: Wasm, bytes: number): number | undefined => {
  if (bytes <= scratchBytes) return scratch
  if (scratch >= 0) release(scratch, scratchBytes)
  const s = alloc(w, bytes)
  if (s === undefined) { scratch = -1; scratchBytes = 0; return undefined }
  scratch = s
  scratchBytes = bytes
  return scratch
}

const isSymmetric = (A: Float64Array, n: number): boolean => {
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (A[i * n + j] !== A[j * n + i]) return false
  return true
}

/**
 * Below this size the JavaScript loop is as fast as the call and the copies of x and y.
 *
 * @example
 * n >= SIMD_MIN_N // the kernels are used for this size
 */
export const SIMD_MIN_N = 16

/** The offset of the matrix's copy in the arena, made on its second use; −1 when the JavaScript loop should run. */
const resident = (w: Wasm, A: Float64Array, n: number, e: Entry): number => {
  e.uses++
  if (e.off >= 0 || e.uses < 2) return e.off
  const bytes = 8 * n * n
  if (held + bytes > ARENA_LIMIT) return -1
  const off = alloc(w, bytes)
  if (off === undefined) return -1
  new Float64Array(w.memory.buffer, off, n * n).set(A.subarray(0, n * n))
  held += bytes
  registry.register(A, [off, bytes] as const)
  e.off = off
  return off
}

const run = (w: Wasm, k: Kernel, off: number, x: Float64Array, y: Float64Array, n: number): boolean => {
  const s = scratchFor(w, 16 * n)
  if (s === undefined) return false
  const buf = w.memory.buffer
  new Float64Array(buf, s, n).set(x.subarray(0, n))
  k(off, s, s + 8 * n, n)
  y.set(new Float64Array(buf, s + 8 * n, n))
  return true
}

// -------------------------------------------------------------------------------------
// the products
// -------------------------------------------------------------------------------------

/**
 * y ← A x for the row-major n × n matrix A (which must not change afterwards): the SIMD
 * kernel when available and A has been multiplied before, else {@link gemvLanes}; the
 * two agree bitwise. `y` must not alias `x`.
 *
 * @example
 * denseApplyInto(A, n, x, y)
 */
export const denseApplyInto = (A: Float64Array, n: number, x: Float64Array, y: Float64Array): void => {
  const w = n >= SIMD_MIN_N ? getWasm() : undefined
  const e = w === undefined ? undefined : entryOf(A, n)
  if (w !== undefined && e !== undefined) {
    const off = resident(w, A, n, e)
    if (off >= 0 && run(w, w.gemv, off, x, y, n)) return
  }
  gemvLanes(A, n, x, y)
}

/**
 * y ← Aᵀ x. For n ≥ {@link SIMD_MIN_N} and an exactly symmetric A (checked once per
 * matrix, on its first transposed product) this is {@link denseApplyInto}, the faster
 * row form; otherwise the SIMD transposed kernel or {@link gemvTLoop}, bitwise equal.
 * `y` must not alias `x`.
 *
 * @example
 * denseApplyTInto(A, n, x, y)
 */
export const denseApplyTInto = (A: Float64Array, n: number, x: Float64Array, y: Float64Array): void => {
  const e = n < SIMD_MIN_N ? undefined : entryOf(A, n)
  if (e === undefined) return gemvTLoop(A, n, x, y)
  if (e.symmetric === undefined) e.symmetric = isSymmetric(A, n)
  if (e.symmetric) return denseApplyInto(A, n, x, y)
  const w = getWasm()
  if (w !== undefined) {
    const off = resident(w, A, n, e)
    if (off >= 0 && run(w, w.gemvT, off, x, y, n)) return
  }
  gemvTLoop(A, n, x, y)
}

/**
 * A memory-bandwidth probe for benches: allocates `bytes` (rounded up to 64) in the arena
 * and returns a function that streams through them once with f64x2 loads (summing, so
 * nothing is optimized away) and returns the sum; `release` frees the block. Undefined
 * without SIMD.
 *
 * @example
 * const p = streamProbe(256 * 2 ** 20); p?.read(); p?.release()
 */
export const streamProbe = (bytes: number): { readonly bytes: number; readonly read: () => number; readonly release: () => void } | undefined => {
  const w = getWasm()
  if (w === undefined) return undefined
  const size = align(bytes)
  const off = alloc(w, size)
  if (off === undefined) return undefined
  new Float64Array(w.memory.buffer, off, size / 8).fill(1)
  return { bytes: size, read: () => w.stream(off, size), release: () => release(off, size) }
}

/**
 * Bytes of matrices currently copied into the arena (for benches and tests).
 *
 * @example
 * arenaBytes() // 0 before any matrix has been multiplied twice
 */
export const arenaBytes = (): number => held
