/**
 * Run by test/cholesky-simd.ts in a child process (with DFW_NO_SIMD=1): the factors of
 * the given cases by `cholesky`, and the precise KKT solves of `kktSolves`, printed as
 * JSON with every Float64Array/Int32Array as the base64 of its bytes (so −0 and every
 * last bit survive).
 */
import { cholesky } from '../../src/core/Cholesky.js'
import { simdAvailable } from '../../src/core/simd.js'
import { caseMatrix, type CaseKind } from './choleskyCases.js'
import { factorBytes, kktSolves } from './choleskyBytes.js'

const cases = JSON.parse(process.argv[2] ?? '[]') as ReadonlyArray<readonly [CaseKind, number, number, boolean]>
const out = cases.map(([kind, m, seed, pivot]) => factorBytes(cholesky(caseMatrix(kind, m, seed), m, { pivot })))
process.stdout.write(JSON.stringify({ simd: simdAvailable(), factors: out, kkt: kktSolves() }))
