// Type declarations for the @stdlib/blas routines wrapped in blas.ts and called raw by
// bench/matvec.ts. The package ships its declarations under docs/types for the directory
// entry points, which ES modules cannot import; we import lib/main.js (the routines
// without the optional native add-on lookup, which requires Node's path module and breaks
// browser bundles) and declare their (documented) types here.
declare module '@stdlib/blas/base/ddot/lib/main.js' {
  const ddot: (N: number, x: Float64Array, strideX: number, y: Float64Array, strideY: number) => number
  export default ddot
}
declare module '@stdlib/blas/base/dnrm2/lib/main.js' {
  const dnrm2: (N: number, x: Float64Array, strideX: number) => number
  export default dnrm2
}
declare module '@stdlib/blas/base/daxpy/lib/main.js' {
  const daxpy: (N: number, alpha: number, x: Float64Array, strideX: number, y: Float64Array, strideY: number) => Float64Array
  export default daxpy
}
declare module '@stdlib/blas/base/dgemv/lib/main.js' {
  const dgemv: (
    order: 'row-major' | 'column-major', trans: 'no-transpose' | 'transpose', M: number, N: number, alpha: number,
    A: Float64Array, LDA: number, x: Float64Array, strideX: number, beta: number, y: Float64Array, strideY: number
  ) => Float64Array
  export default dgemv
}
declare module '@stdlib/blas/base/dsymv/lib/main.js' {
  const dsymv: (
    order: 'row-major' | 'column-major', uplo: 'upper' | 'lower', N: number, alpha: number,
    A: Float64Array, LDA: number, x: Float64Array, strideX: number, beta: number, y: Float64Array, strideY: number
  ) => Float64Array
  export default dsymv
}
