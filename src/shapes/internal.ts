/**
 * Helpers of the io-ts codecs kept out of the public docs: record access, paths into the
 * input (contexts built from relative paths such as `rowPtr[3]`), keys as path segments
 * and in messages, and the phrases of expected types in messages. Shared by the shape
 * codecs (`codecs.ts`), the operator codec (src/core/OperatorCodec.ts), the problem codec
 * (src/fw/ProblemCodec.ts) and the layer's validation (src/fw/Validate.ts).
 */
import * as t from 'io-ts'

export const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u)

export const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)

export const own = (o: Record<string, unknown>, k: string): unknown => (hasOwn(o, k) ? o[k] : undefined)

export const isFiniteNumber = (u: unknown): u is number => typeof u === 'number' && Number.isFinite(u)

export const at = (c: t.Context, key: string | number, type: t.Decoder<any, any>, actual: unknown): t.Context =>
  t.appendContext(c, String(key), type, actual)

/** Splits a relative path such as `rowPtr[3]` or `a.b[1][2]` into keys. */
export const splitPath = (path: string): string[] => {
  const keys: string[] = []
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) keys.push(m[1] ?? m[2]!)
  return keys
}

/** Extends a context by a relative path under `root`, walking `root` for the actual values. */
export const atPath = (c: t.Context, root: unknown, path: string): t.Context => {
  let ctx = c
  let cur: unknown = root
  for (const k of splitPath(path)) {
    cur = typeof cur === 'object' && cur !== null && hasOwn(cur, k) ? (cur as Record<string, unknown>)[k] : undefined
    ctx = at(ctx, k, t.unknown, cur)
  }
  return ctx
}

export const list = (keys: readonly string[]): string => keys.join(', ')

const FRIENDLY: Record<string, string> = {
  Positive: 'a positive number',
  NonNegative: 'a number ≥ 0',
  PositiveInt: 'an integer ≥ 1',
  unknown: 'a value',
  UnknownArray: 'an array',
  Array: 'an array'
}

/** The phrase for an expected type, from a codec's name. */
export const describeExpected = (name: string): string => FRIENDLY[name] ?? name

/** The longest key, in code points, that a path or a message quotes in full. */
export const MAX_KEY = 64

/**
 * `s` cut to at most `max` UTF-16 units, ending in `…` when cut; never splits a surrogate
 * pair.
 */
export const cut = (s: string, max: number): string => {
  if (s.length <= max) return s
  let end = Math.max(0, max - 1)
  const c = s.charCodeAt(end - 1)
  if (c >= 0xd800 && c <= 0xdbff) end--
  return `${s.slice(0, end)}…`
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** A key as JSON quotes it, cut to {@link MAX_KEY} code points (`"a.b"`, `""`, `"aaa…"`). */
export const quoteKey = (key: string): string => {
  const cps = Array.from(key)
  return JSON.stringify(cps.length > MAX_KEY ? `${cps.slice(0, MAX_KEY - 1).join('')}…` : key)
}

/**
 * A key appended to a path: `parent.name` when the key is an identifier of at most
 * {@link MAX_KEY} characters, else quoted (and cut) in brackets, `parent["a.b"]`,
 * `["q[0]"]`, `[""]`, `["kkk…"]`, so that a key never reads as a path of its own.
 */
export const joinKey = (parent: string, key: string): string =>
  IDENTIFIER.test(key) && key.length <= MAX_KEY ? (parent === '' ? key : `${parent}.${key}`) : `${parent}[${quoteKey(key)}]`
