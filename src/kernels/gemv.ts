// GEMV for decode: the matmul of src/kernels/matmul.ts for M = 1..4 rows, organised for small M (one
// invocation = 4 output columns of one row). recordMatmul dispatches here by itself; the reference is
// matmulReference.
import code from '../../shaders/gemv.wgsl?raw';
import { shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { ceilDiv, check, checkTensor } from './common.js';
import { GEMV_MAX_ROWS, MATMUL_UNIFORMS, epilogueBuffers, epilogueConstants, matmulConfig, matmulShape, type MatmulConfig, type MatmulOptions } from './matmul_common.js';
import { defineKernel } from './shader.js';
import { matmulTiles } from './tiles.js';

export const gemvKernel = defineKernel('gemv', code, MATMUL_UNIFORMS);

export function gemvPipeline(ctx: GpuContext, config: MatmulConfig): PipelineSpec {
  return { kernel: gemvKernel, constants: { WG: matmulTiles(ctx.adapter).gemvWg, TRANS_B: config.transB ? 1 : 0, ...epilogueConstants(config) } };
}

export function recordGemv(ctx: GpuContext, step: Step, a: GpuTensor, b: GpuTensor, c: GpuTensor, opts: MatmulOptions = {}): void {
  const label = `gemv ${shapeStr(a.shape)} x ${shapeStr(b.shape)}${opts.transB ? 'T' : ''}`;
  const s = matmulShape(label, a, b.shape, c, opts);
  check(s.M <= GEMV_MAX_ROWS, label, () => `M=${s.M} rows, GEMV takes at most ${GEMV_MAX_ROWS}`);
  checkTensor(label, 'B', b, b.shape);
  step.dispatch({
    pipeline: gemvPipeline(ctx, matmulConfig(opts)),
    label,
    uniforms: gemvKernel.pack({ M: s.M, N: s.N, K: s.K, strideA: s.strideA, strideB: s.strideB, alpha: opts.alpha ?? 1 }),
    buffers: [a.buffer, b.buffer, ...epilogueBuffers(a, opts), c.buffer],
    workgroups: [ceilDiv(s.N, 4 * matmulTiles(ctx.adapter).gemvWg), s.M, s.batch],
  });
}
