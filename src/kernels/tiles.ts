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
  // loop without long tails; the GEMVs take 16, so that a decode projection (N = 1024: 64 invocations of
  // gemv_nbits' 16 columns) still makes 4 workgroups for the adapter's threads (with 64 it makes one, which runs on
  // one thread: the 4-bit GEMV measured 0.63x the f32 one in Chromium, against 1.11x with 16). Hardware: 128-256
  // invocations per execution unit.
  if (adapter.isSoftware) return { wgX: 16, wgY: 4, gemvWg: 16 };
  return { wgX: 16, wgY: 8, gemvWg: 128 };
}
