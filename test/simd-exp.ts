/**
 * The exponential kernel `exp` of simd.ts (fdlibm's __ieee754_exp on f64x2 lanes) against
 * V8's Math.exp, bitwise (Object.is), on more than 10⁷ inputs: random bit patterns over all
 * doubles, uniform ranges, every threshold and branch boundary of fdlibm stepped over ulp by
 * ulp, the specials (±0, ±∞, NaN, subnormals, x = 1), ordinary entries with specials among
 * them (the kernel's short path and its full one); lane tails and the lengths 0 and 1;
 * that it declines (and `expInto` falls back to Math.exp) when switched off and in a child
 * process without SIMD (DFW_NO_SIMD=1); and that the batched paper step, whose softmax
 * takes its exponentials from the kernel, gives bitwise the numbers it gives with Math.exp
 * (switched off, the generated code on and off, and in the child).
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { expInto, expKernel, expKernelOn, setExpKernel, simdAvailable } from '../src/core/simd.js'
import { setCodegen } from '../src/fw/batch/Codegen.js'
import { rowPasses } from '../src/fw/batch/RowPasses.js'
import { childEnv } from './helpers/childEnv.js'
import { rng } from './helpers/layerFixtures.js'
import { batchRun } from './helpers/expBatch.js'

const noSimd = !simdAvailable() && 'no SIMD (DFW_NO_SIMD=1)'

/** xorshift128+ over 32-bit halves: seeded, fast enough for millions of bit patterns. */
const bitsRng = (seed: number): (() => number) => {
  let a = seed | 0 || 1, b = 0x9e3779b9, c = 0x243f6a88, d = 0xb7e15162
  return () => {
    const s = a ^ (a << 11)
    a = b; b = c; c = d
    d = (d ^ (d >>> 19) ^ (s ^ (s >>> 8))) >>> 0
    return d
  }
}

/** The double with the given bits (high, low 32-bit words). */
const fromWords = (hi: number, lo: number): number => {
  const v = new DataView(new ArrayBuffer(8))
  v.setUint32(0, hi >>> 0); v.setUint32(4, lo >>> 0)
  return v.getFloat64(0)
}
/** x moved by k ulps (k > 0 away from zero for positive x, through the bit pattern). */
const ulps = (x: number, k: number): number => {
  const v = new DataView(new ArrayBuffer(8))
  v.setFloat64(0, x)
  const b = v.getBigInt64(0) + BigInt(k)
  v.setBigInt64(0, b)
  return v.getFloat64(0)
}

/** Entries where the kernel's exp differs from Math.exp bitwise (up to 5 shown), over `xs`. */
const check = (xs: Float64Array): { readonly bad: number; readonly shown: string[] } => {
  const out = new Float64Array(xs.length)
  if (!expKernel(xs, out, xs.length)) return { bad: xs.length, shown: ['declined'] }
  let bad = 0
  const shown: string[] = []
  for (let i = 0; i < xs.length; i++) {
    const want = Math.exp(xs[i]!)
    if (!Object.is(out[i], want)) { bad++; if (shown.length < 5) shown.push(`exp(${xs[i]}) = ${out[i]}, Math.exp ${want}`) }
  }
  return { bad, shown }
}

// fdlibm's thresholds and branch boundaries (e_exp.c), and where results turn subnormal
const LN2 = Math.LN2
const BOUNDARIES: ReadonlyArray<readonly [string, number]> = [
  ['½ ln 2', 0.5 * LN2], ['hx = 0x3fd62e42 / 43', fromWords(0x3fd62e43, 0)], ['1.5 ln 2', 1.5 * LN2], ['hx = 0x3FF0A2B2', fromWords(0x3ff0a2b2, 0)],
  ['2⁻²⁸', 2 ** -28], ['o_threshold', 7.09782712893383973096e+02], ['hx = 0x40862E42', fromWords(0x40862e42, 0)],
  ['u_threshold', -7.45133219101941108420e+02], ['subnormal results', -708.3964185322641], ['k = −1021', -1021.5 * LN2], ['k = −1022', -1022.5 * LN2],
  ['k = 1023', 1023.5 * LN2], ['k = 1024', 1023.9 * LN2], ['-745.13', -745.13321910194122], ['1', 1], ['ln 2', LN2], ['2 ln 2', 2 * LN2],
  ['1e-300', 1e-300], ['smallest normal', 2 ** -1022], ['largest', Number.MAX_VALUE],
  ['708 (the kernel\'s ordinary range)', 708]
]

t.test('the kernel is Math.exp bitwise on more than 10⁷ inputs: all bit patterns, ranges, every branch boundary, the specials', { skip: noSimd }, async (t) => {
  const next = bitsRng(2026)
  const uni = (): number => next() / 2 ** 32
  let total = 0
  const run = (name: string, xs: Float64Array): void => {
    const { bad, shown } = check(xs)
    total += xs.length
    t.equal(bad, 0, `${name}: ${xs.length} inputs, all bitwise${bad > 0 ? ` (${shown.join('; ')})` : ''}`)
  }
  const M = 2_000_000
  const patterns = new Float64Array(M), words = new Uint32Array(patterns.buffer)
  for (let i = 0; i < 2 * M; i++) words[i] = next()
  run('random bit patterns over all doubles', patterns)
  // bit patterns of the exponents that matter (|x| from 2⁻⁴⁰ to 2¹¹), either sign
  const mid = new Float64Array(M)
  for (let i = 0; i < M; i++) mid[i] = fromWords(((next() & 0x80000000) | ((0x3d7 + (next() % 0x34)) << 20) | (next() & 0xfffff)) >>> 0, next())
  run('bit patterns with |x| in [2⁻⁴⁰, 2¹²)', mid)
  run('uniform in [−800, 800]', Float64Array.from({ length: M }, () => 1600 * uni() - 800))
  run('uniform in [−40, 0]', Float64Array.from({ length: M }, () => -40 * uni()))
  run('uniform in [−1.5, 1.5]', Float64Array.from({ length: M }, () => 3 * uni() - 1.5))
  run('uniform in [−746, −700] (subnormal results and the underflow)', Float64Array.from({ length: 500_000 }, () => -700 - 46 * uni()))
  run('uniform in [700, 710] (k = 1024 and the overflow)', Float64Array.from({ length: 500_000 }, () => 700 + 10 * uni()))
  run('uniform in [−2⁻²⁶, 2⁻²⁶] (1 + x and the k = 0 formula)', Float64Array.from({ length: 500_000 }, () => (2 * uni() - 1) * 2 ** -26))
  // every boundary ± 20000 ulps, both signs, and random points within a relative 1e-6
  const near: number[] = []
  for (const [, b] of BOUNDARIES) {
    for (const s of [1, -1]) {
      const x = s * b
      for (let k = -20_000; k <= 20_000; k++) near.push(ulps(x, k))
      for (let k = 0; k < 5000; k++) near.push(x * (1 + 1e-6 * (2 * uni() - 1)))
    }
  }
  run(`${BOUNDARIES.length} boundaries ± 20000 ulps and nearby, both signs`, Float64Array.from(near))
  const specials = [0, -0, Infinity, -Infinity, NaN, -NaN, fromWords(0x7ff00000, 1), fromWords(0xfff80000, 5), 1, -1, Math.E, 5e-324, -5e-324, 2 ** -1074 * 12345, -(2 ** -1030),
    2 ** -1022, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 3e-9, -2e-10, 2 ** -29, -(2 ** -28), 708, -708, 707.9999999999999, -708.0000000000001, 709.782712893384, 709.7827128933841, -745.1332191019411, -745.1332191019412, -745.1332191019413]
  const subnormals = Float64Array.from({ length: 100_000 }, () => fromWords(((next() & 0x80000000) | (next() & 0xfffff)) >>> 0, next()))
  run('specials: ±0, ±∞, NaNs, subnormal inputs, x = 1, the thresholds', Float64Array.from(specials))
  run('subnormal inputs', subnormals)
  // ordinary entries with every kind of special among them (a pass of four with one special in it takes the full path)
  const mixed = Float64Array.from({ length: 400_000 }, (_, i) => (next() % 50 === 0 ? specials[i % specials.length]! : -30 * uni()))
  run('ordinary entries with specials sprinkled among them', mixed)
  t.ok(total >= 10_000_000, `${total} inputs in all`)
  // each special in lane 0 and in lane 1, and as the odd last entry
  for (const lead of [0, 1, 2]) {
    const xs = Float64Array.from([...new Array<number>(lead).fill(0.25), ...specials])
    t.equal(check(xs).bad, 0, `the specials after ${lead} other entries (each lane, and the tail)`)
  }
  const one = new Float64Array(1)
  t.ok(expKernel(Float64Array.of(1), one, 1) && Object.is(one[0], Math.E), 'exp(1) is Math.E exactly (V8\'s special case)')
})

t.test('lengths 0 and 1, odd and even: only the first len entries are written, in place or not', { skip: noSimd }, async (t) => {
  for (const len of [0, 1, 2, 3, 4, 5, 15, 16, 17, 1001]) {
    const src = Float64Array.from({ length: len + 3 }, (_, i) => (i % 7) - 3.3 + i / 10)
    const dst = new Float64Array(len + 3).fill(-7)
    t.ok(expKernel(src, dst, len), `len ${len}: the kernel ran`)
    const want = Array.from(src, (x, i) => (i < len ? Math.exp(x) : -7))
    t.same(Array.from(dst), want, `len ${len}: dst[i] = Math.exp(src[i]) below len, untouched after`)
    const inPlace = src.slice()
    expInto(inPlace, inPlace, len)
    t.same(Array.from(inPlace), Array.from(src, (x, i) => (i < len ? Math.exp(x) : x)), `len ${len}: in place`)
  }
  // a range from an offset: only [from, from + len) is read and written
  for (const [from, len] of [[3, 5], [1, 0], [6, 1], [0, 8]] as const) {
    const src = Float64Array.from({ length: 8 }, (_, i) => -i / 3), dst = new Float64Array(8).fill(-7)
    t.ok(expKernel(src, dst, len, from), `from ${from}, len ${len}: the kernel ran`)
    t.same(Array.from(dst), Array.from(src, (x, i) => (i >= from && i < from + len ? Math.exp(x) : -7)), `from ${from}, len ${len}: that range only`)
  }
  // a large block grows the scratch; a small one after it reuses it
  const big = Float64Array.from({ length: 300_000 }, (_, i) => -i / 1000), small = Float64Array.of(-0.5, 3)
  t.equal(check(big).bad + check(small).bad, 0, 'a block of 300000 entries, then 2')
})

t.test('switched off, the kernel declines and writes nothing; expInto gives Math.exp\'s numbers by the loop', async (t) => {
  const was = setExpKernel(false)
  try {
    t.equal(expKernelOn(), false, 'off')
    const src = Float64Array.of(-800, -745.2, -708.5, -1, -0, 0, 1e-10, 0.3, 1, 2, 709.8, 710, Infinity, -Infinity, NaN), dst = new Float64Array(src.length).fill(7)
    t.equal(expKernel(src, dst, src.length), false, 'declines')
    t.ok(dst.every((v) => v === 7), 'nothing written')
    expInto(src, dst, src.length)
    t.ok(Array.from(src).every((x, i) => Object.is(dst[i], Math.exp(x))), 'expInto: Math.exp entry by entry')
    const part = new Float64Array(src.length).fill(7)
    expInto(src, part, 4, 2)
    t.ok(Array.from(src).every((x, i) => Object.is(part[i], i >= 2 && i < 6 ? Math.exp(x) : 7)), 'expInto from an offset: that range only')
  } finally { setExpKernel(was) }
  t.equal(expKernelOn(), simdAvailable(), 'on again where SIMD runs')
})

/** '' when a and b hold the same numbers bit for bit, else the first difference. */
const bits = (a: ArrayLike<number>, b: ArrayLike<number>): string => {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `[${i}]: ${a[i]} vs ${b[i]}`
  return ''
}
const withSwitches = <A>(exp: boolean, codegen: boolean, f: () => A): A => {
  const e = setExpKernel(exp), c = setCodegen(codegen)
  try { return f() } finally { setExpKernel(e); setCodegen(c) }
}
const SIZES = [1, 2, 3, 5, 10, 15, 16, 17, 40]

t.test('the batched paper step: x, the vjp and the jvp bitwise the same with the kernel and with Math.exp, generated code on and off', async (t) => {
  for (const n of SIZES) {
    const ref = withSwitches(false, true, () => batchRun(n))
    for (const [exp, codegen] of [[true, true], [true, false], [false, false]] as const) {
      const got = withSwitches(exp, codegen, () => batchRun(n))
      const diffs = got.flatMap(([name, v], i) => { const d = bits(v, ref[i]![1]); return d === '' ? [] : [`${name} ${d}`] })
      t.same(diffs, [], `n = ${n}, kernel ${exp ? 'on' : 'off'}, generated code ${codegen ? 'on' : 'off'}: bitwise Math.exp's run`)
    }
    const x = ref[0]![1]
    t.ok(x.some((v) => v !== 0), `n = ${n}: the run moved`)
  }
})

t.test('the split head is the whole pass\'s numbers bitwise, over one block of rows and several (m·n beyond 4096 entries)', async (t) => {
  const r = rng(77)
  for (const [n, m] of [[3, 50], [3, 2000], [10, 256], [10, 500], [16, 300], [100, 40], [100, 90], [4096, 2], [5000, 2]] as const) {
    const B = m + 3
    // live rows: every instance but a few, so rows are compacted
    const rows = Int32Array.from({ length: m }, (_, j) => j + (j > m / 2 ? 3 : 0))
    const arr = (f: () => number): Float64Array => Float64Array.from({ length: B * n }, f)
    const PX = arr(() => r.normal()), Q = arr(() => (r.uniform() < 0.05 ? 0 : 3 * r.normal())), R = arr(() => 10 ** (4 * r.uniform() - 2)), X = arr(() => r.normal())
    for (const beta of [1, 40, 1e4]) {
      const run = (exp: boolean, codegen: boolean): Float64Array[] => withSwitches(exp, codegen, () => {
        const E = new Float64Array(m * n), S = new Float64Array(m * n), gu = new Float64Array(m), uu = new Float64Array(m)
        rowPasses(n).head(m, rows, beta, PX, Q, R, X, E, S, gu, uu)
        return [E, S, gu, uu]
      })
      const whole = run(false, false)
      for (const codegen of [true, false]) {
        const split = run(true, codegen)
        const d = split.map((a, k) => bits(a, whole[k]!)).filter((x) => x !== '')
        t.same(d, [], `n = ${n}, m = ${m}, β = ${beta}, generated code ${codegen ? 'on' : 'off'}: E, S, gᵀu, uᵀu bitwise the whole pass's`)
      }
    }
  }
})

t.test('where the kernel runs, the head is split around it (one call for all rows); switched off, it is the whole pass', { skip: noSimd }, async (t) => {
  for (const n of [3, 10, 16, 40]) {
    for (const codegen of [true, false]) {
      const on = withSwitches(true, codegen, () => rowPasses(n)), off = withSwitches(false, codegen, () => rowPasses(n))
      t.not(on.head, off.head, `n = ${n}, generated code ${codegen ? 'on' : 'off'}: the split head`)
      t.equal(on.head, withSwitches(true, codegen, () => rowPasses(n)).head, `n = ${n}: made once`)
      t.equal(on.update, off.update, `n = ${n}: the other passes are the same`)
    }
  }
})

t.test('without SIMD (a child process under DFW_NO_SIMD=1) the kernel declines, and the batched runs are bitwise the same', async (t) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/expChild.ts'], {
    encoding: 'utf8', env: { ...childEnv(), DFW_NO_SIMD: '1' }, timeout: 120_000, maxBuffer: 64 * 2 ** 20
  })
  t.equal(r.status, 0, r.stderr)
  const child = JSON.parse(r.stdout) as { simd: boolean; on: boolean; declined: boolean; into: boolean; runs: Array<Array<[string, string]>> }
  t.equal(child.simd, false, 'the child ran without SIMD')
  t.equal(child.on, false, 'the kernel is off there')
  t.equal(child.declined, true, 'the kernel declines and writes nothing')
  t.equal(child.into, true, 'expInto gives Math.exp\'s numbers')
  ;[3, 10, 20].forEach((n, k) => {
    const here = batchRun(n)
    const diffs = here.flatMap(([name, v], i) => {
      const theirs = new Float64Array(Uint8Array.from(Buffer.from(child.runs[k]![i]![1], 'base64')).buffer)
      const d = bits(v, theirs)
      return d === '' ? [] : [`${name} ${d}`]
    })
    t.same(diffs, [], `n = ${n}: the run here (kernel ${expKernelOn() ? 'on' : 'off'}) is bitwise the child's`)
  })
})
