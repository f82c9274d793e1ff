// Per-adapter workgroup shapes of the matmul-family kernels. Every kernel keeps its per-invocation register
// tile fixed in WGSL (Subzero, SwiftShader's JIT, neither unrolls loops nor keeps arrays in registers) and
// uses no shared memory; only the number of invocations per workgroup changes with the adapter.
import type { AdapterDescription } from '../gpu/index.js';

export interface MatmulTiles {
  /** Workgroup of the tiled kernels (matmul, matmul_nbits): x along N, y along M. */
  wgX: number;
  wgY: number;
  /** Workgroup size of the GEMV kernels (gemv, gemv_nbits), one dimension along N. */
  gemvWg: number;
}

export function matmulTiles(adapter: AdapterDescription): MatmulTiles {
  // Software: 64 invocations = 16 SIMD groups of 4 lanes per workgroup, enough to amortise the dispatch
  // loop without long tails; hardware: 128-256 invocations to fill an execution unit.
  if (adapter.isSoftware) return { wgX: 16, wgY: 4, gemvWg: 64 };
  return { wgX: 16, wgY: 8, gemvWg: 128 };
}
