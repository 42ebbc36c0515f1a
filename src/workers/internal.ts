/**
 * The pool's hooks for its tests, kept out of the public entry point.
 *
 * @since 0.1.0
 */

/**
 * For each pool, a function that makes its worker i exit with a code (the tests' way to
 * crash a worker in the middle of a batch).
 *
 * @example
 * crashHooks.get(pool)?.(0, 70) // worker 0 exits with code 70
 */
export const crashHooks = new WeakMap<object, (worker: number, code: number) => void>()
