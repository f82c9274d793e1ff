// What the matmul-family wrappers (matmul, gemv, matmul_nbits) share: options, pipeline flags for the fused
// epilogue (shaders/lib/matmul_epilogue.wgsl) and shape validation of A, C, bias and residual.
import type { GpuTensor } from '../gpu/index.js';
import { ACT_CODE, type Activation } from './activation.js';
import { check, checkTensor } from './common.js';
import { uniformLayout } from './uniforms.js';

/** Params of shaders/lib/matmul_io.wgsl, which the matmul and gemv kernels include. */
export const MATMUL_UNIFORMS = uniformLayout({ M: 'u32', N: 'u32', K: 'u32', strideA: 'u32', strideB: 'u32', alpha: 'f32' });

/** What selects a pipeline (shapes do not). */
export interface MatmulConfig {
  transB?: boolean;
  activation?: Activation;
  bias?: boolean;
  residual?: boolean;
}

/** C = act(alpha * A.B + bias) + residual. */
export interface MatmulOptions {
  /** B is given as [N,K] (or [batch,N,K]). */
  transB?: boolean;
  /** [N], added after alpha. */
  bias?: GpuTensor;
  activation?: Activation;
  /** Same shape as C, added after the activation. */
  residual?: GpuTensor;
  /** Scales A.B (before the bias). Default 1. */
  alpha?: number;
}

/** Shapes of a (batched) matmul after validation; a batch stride of 0 broadcasts an operand. */
export interface MatmulShape {
  batch: number;
  M: number;
  N: number;
  K: number;
  strideA: number;
  strideB: number;
}

/** M <= this goes to the GEMV kernels. */
export const GEMV_MAX_ROWS = 4;

export function matmulConfig(opts: MatmulOptions): MatmulConfig {
  return { transB: !!opts.transB, activation: opts.activation ?? 'none', bias: !!opts.bias, residual: !!opts.residual };
}

export function epilogueConstants(config: MatmulConfig): Record<string, number> {
  return { ACT: ACT_CODE[config.activation ?? 'none'], HAS_BIAS: config.bias ? 1 : 0, HAS_RESIDUAL: config.residual ? 1 : 0 };
}

/**
 * Validates A [M,K] or [batch,M,K], B (its shape given as `bShape`: [K,N], [N,K] with transB, or batched),
 * C [M,N] or [batch,M,N] (batch = the larger operand batch), bias [N] and residual (C's shape).
 */
export function matmulShape(label: string, a: GpuTensor, bShape: readonly number[], c: GpuTensor, opts: MatmulOptions): MatmulShape {
  check(a.shape.length === 2 || a.shape.length === 3, label, () => `A must be [M,K] or [batch,M,K]`);
  check(bShape.length === 2 || bShape.length === 3, label, () => `B must be 2D or 3D`);
  const [M, K] = a.shape.slice(-2) as [number, number];
  const [b0, b1] = bShape.slice(-2) as [number, number];
  const N = opts.transB ? b0 : b1;
  const kB = opts.transB ? b1 : b0;
  check(kB === K, label, () => `inner dimensions differ: A has K=${K}, B has K=${kB}`);
  check(M > 0 && N > 0 && K > 0, label, () => `empty dimension`);
  const batchA = a.shape.length === 3 ? a.shape[0]! : 1;
  const batchB = bShape.length === 3 ? bShape[0]! : 1;
  const batch = Math.max(batchA, batchB);
  check(batchA === batch || batchA === 1, label, () => `batch of A (${batchA}) must be 1 or ${batch}`);
  check(batchB === batch || batchB === 1, label, () => `batch of B (${batchB}) must be 1 or ${batch}`);
  checkTensor(label, 'A', a, a.shape);
  const cShape = a.shape.length === 3 || bShape.length === 3 ? [batch, M, N] : [M, N];
  checkTensor(label, 'C', c, cShape);
  if (opts.bias) checkTensor(label, 'bias', opts.bias, [N]);
  if (opts.residual) checkTensor(label, 'residual', opts.residual, cShape);
  return { batch, M, N, K, strideA: batchA === 1 ? 0 : M * K, strideB: batchB === 1 ? 0 : N * K };
}

/** Storage buffers for bias and residual: the real ones, or A's buffer as a never-read stand-in. */
export function epilogueBuffers(a: GpuTensor, opts: MatmulOptions): [GPUBuffer, GPUBuffer] {
  return [(opts.bias ?? a).buffer, (opts.residual ?? a).buffer];
}
