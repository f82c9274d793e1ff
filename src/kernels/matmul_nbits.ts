// C = act(alpha * A x dequant(W) + bias) + residual with W block-quantized in onnxruntime's MatMulNBits
// layout (src/kernels/quant.ts). A [M,K] or [batch,M,K] (batch folds into rows: W is shared); up to 4 rows
// take the decode kernel (gemv_nbits), more the tiled prefill kernel (matmul_nbits). K may end in a partial
// block (onnxruntime's padded layout): a specialisation then reads A as zeros past K.
import gemvCode from '../../shaders/gemv_nbits.wgsl?raw';
import matmulCode from '../../shaders/matmul_nbits.wgsl?raw';
import { shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { ceilDiv } from './common.js';
import { matmulReference } from './matmul.js';
import { GEMV_MAX_ROWS, epilogueBuffers, epilogueConstants, matmulShape, type MatmulConfig, type MatmulOptions } from './matmul_common.js';
import { checkQuantWeight, dequantizeBlockwise, quantLayout, quantWeightStr, type QuantBits, type QuantizedBlocks, type QuantWeight } from './quant.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';
import { matmulTiles } from './tiles.js';

/** Params of shaders/lib/matmul_nbits.wgsl, which both kernels include. */
const uniforms = uniformLayout({ M: 'u32', N: 'u32', K: 'u32', nBlocks: 'u32', alpha: 'f32' });
export const gemvNbitsKernel = defineKernel('gemv_nbits', gemvCode, uniforms);
export const matmulNbitsKernel = defineKernel('matmul_nbits', matmulCode, uniforms);

export interface MatmulNBitsConfig extends Omit<MatmulConfig, 'transB'> {
  bits: QuantBits;
  blockSize: number;
  zeroPoints: boolean;
  /** K is not a multiple of the block size. */
  kTail: boolean;
}

export type MatmulNBitsOptions = Omit<MatmulOptions, 'transB'>;

export function matmulNBitsConfig(w: QuantWeight, opts: MatmulNBitsOptions = {}): MatmulNBitsConfig {
  return { bits: w.bits, blockSize: w.blockSize, zeroPoints: !!w.zeroPoints, kTail: w.K % w.blockSize !== 0, activation: opts.activation ?? 'none', bias: !!opts.bias, residual: !!opts.residual };
}

/** The pipeline for `rows` rows of A (all batches together): decode kernel up to 4 rows, tiled beyond. */
export function matmulNBitsPipeline(ctx: GpuContext, config: MatmulNBitsConfig, rows: number): PipelineSpec {
  const t = matmulTiles(ctx.adapter);
  const constants = { BITS: config.bits, BLOCK: config.blockSize, HAS_ZP: config.zeroPoints ? 1 : 0, K_TAIL: config.kTail ? 1 : 0, ...epilogueConstants(config) };
  if (rows <= GEMV_MAX_ROWS) return { kernel: gemvNbitsKernel, constants: { WG: t.gemvWg, ...constants } };
  return { kernel: matmulNbitsKernel, constants: { WG_X: t.wgX, WG_Y: t.wgY, ...constants } };
}

export function recordMatmulNBits(ctx: GpuContext, step: Step, a: GpuTensor, w: QuantWeight, c: GpuTensor, opts: MatmulNBitsOptions = {}): void {
  const label = `matmul_nbits ${shapeStr(a.shape)} x ${quantWeightStr(w)}`;
  checkQuantWeight(label, w);
  const s = matmulShape(label, a, [w.K, w.N], c, opts);
  const rows = s.batch * s.M;
  const t = matmulTiles(ctx.adapter);
  const pipeline = matmulNBitsPipeline(ctx, matmulNBitsConfig(w, opts), rows);
  step.dispatch({
    pipeline,
    label,
    uniforms: uniforms.pack(pipeline.kernel.name, { M: rows, N: s.N, K: s.K, nBlocks: quantLayout(w.K, w).nBlocks, alpha: opts.alpha ?? 1 }),
    buffers: [a.buffer, w.packed.buffer, w.scales.buffer, (w.zeroPoints ?? w.scales).buffer, ...epilogueBuffers(a, opts), c.buffer],
    // Decode: 16 columns of one row per invocation; prefill: 4 rows x 4 columns.
    workgroups: rows <= GEMV_MAX_ROWS ? [ceilDiv(s.N, 16 * t.gemvWg), rows] : [ceilDiv(s.N, 4 * t.wgX), ceilDiv(rows, 4 * t.wgY)],
  });
}

/** Reference: dequantise W to f32 [K,N], then matmulReference. */
export function matmulNBitsReference(
  a: Float32Array,
  q: QuantizedBlocks,
  s: { M: number; N: number; K: number; bits: QuantBits; blockSize: number },
  opts: Parameters<typeof matmulReference>[3] = {},
): Float32Array {
  const w = dequantizeBlockwise(q, s.K, s.N, s);
  return matmulReference(a, w, { M: s.M, N: s.N, K: s.K }, { ...opts, transB: false });
}
