/**
 * The grid DAG of the shortest-path example: the nodes of a k × k grid, an edge from each
 * node to its right and lower neighbours, paths from the top-left to the bottom-right
 * corner. A path is its 0/1 indicator over the edges, so the convex hull of the paths (the
 * unit-flow polytope of the DAG) is a polytope whose only description the layer gets is
 * its oracle: the cheapest path under edge costs g, by dynamic programming in O(edges).
 *
 * @since 0.1.0
 */
import type { Dim } from '../../src/shapes/Dim.js'
import type { Vec } from '../../src/shapes/Vec.js'

/** The grid's edges (tail, head), and for each node its outgoing edges. */
export interface Grid {
  readonly k: number
  readonly edges: ReadonlyArray<readonly [number, number]>
  readonly out: ReadonlyArray<ReadonlyArray<number>>
}

/** The k × k grid DAG: 2k(k − 1) edges, C(2k − 2, k − 1) paths. */
export const grid = (k: number): Grid => {
  const node = (r: number, c: number): number => r * k + c
  const edges: Array<readonly [number, number]> = []
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < k; c++) {
      if (c + 1 < k) edges.push([node(r, c), node(r, c + 1)])
      if (r + 1 < k) edges.push([node(r, c), node(r + 1, c)])
    }
  }
  const out: number[][] = Array.from({ length: k * k }, () => [])
  edges.forEach(([a], e) => out[a]!.push(e))
  return { k, edges, out }
}

/** The cheapest path's indicator under edge costs g (nodes are in topological order). */
export const shortestPath = (G: Grid, g: ArrayLike<number>): Float64Array => {
  const m = G.k * G.k, cost = new Float64Array(m).fill(Infinity), next = new Int32Array(m).fill(-1)
  cost[m - 1] = 0
  for (let u = m - 2; u >= 0; u--) {
    for (const e of G.out[u]!) {
      const c = g[e]! + cost[G.edges[e]![1]]!
      if (c < cost[u]!) { cost[u] = c; next[u] = e }
    }
  }
  const v = new Float64Array(G.edges.length)
  for (let u = 0; u !== m - 1; u = G.edges[next[u]!]![1]) v[next[u]!] = 1
  return v
}

/** The oracle as `polytope({ lmo })` takes it, counting its calls. */
export const pathOracle = <N>(G: Grid, dim: Dim<N>): { readonly lmo: (g: Vec<N>) => Vec<N>; readonly calls: () => number } => {
  let calls = 0
  return { lmo: (g) => { calls++; return { dim, data: shortestPath(G, g.data) } }, calls: () => calls }
}
