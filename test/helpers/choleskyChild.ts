/**
 * Run by test/cholesky-simd.ts in a child process (with DFW_NO_SIMD=1): the factors of
 * the given cases by `cholesky`, and the precise KKT solves of `kktSolves`, printed as
 * JSON with every Float64Array/Int32Array as the base64 of its bytes (so −0 and every
 * last bit survive), and what the kernels answer without SIMD (`declined`).
 */
import { cholesky } from '../../src/core/Cholesky.js'
import { ddResidualKernel, pivotedCholeskyKernel, simdAvailable } from '../../src/core/simd.js'
import { caseMatrix, type CaseKind } from './choleskyCases.js'
import { factorBytes, kktSolves } from './choleskyBytes.js'

const cases = JSON.parse(process.argv[2] ?? '[]') as ReadonlyArray<readonly [CaseKind, number, number, boolean]>
const out = cases.map(([kind, m, seed, pivot]) => factorBytes(cholesky(caseMatrix(kind, m, seed), m, { pivot })))
// without SIMD the kernels decline (false / undefined) and write nothing
const hi = new Float64Array(2), lo = new Float64Array(2)
const declined = {
  dd: ddResidualKernel(new Float64Array([1, 2, 2, 1]), 2, new Float64Array([1, 1]), new Float64Array([1, 1]), hi, lo),
  chol: pivotedCholeskyKernel(new Float64Array([4, 1, 1, 3]), 2, true, 0) === undefined,
  untouched: hi.every((v) => Object.is(v, 0)) && lo.every((v) => Object.is(v, 0))
}
process.stdout.write(JSON.stringify({ simd: simdAvailable(), factors: out, kkt: kktSolves(), declined }))
