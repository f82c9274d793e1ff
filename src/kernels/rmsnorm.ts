// RMSNorm over the last dim (LLaMA): y = x / sqrt(mean(x^2) + eps) * weight.
import code from '../../shaders/rmsnorm.wgsl?raw';
import { shapeStr, type AdapterDescription, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { checkTensor, grid1d } from './common.js';
import { reduceGroup, rowsOf } from './reduce.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const rmsnormKernel = defineKernel('rmsnorm', code, uniformLayout({ rows: 'u32', d: 'u32', eps: 'f32' }));

export function rmsnormPipeline(adapter: AdapterDescription): PipelineSpec {
  return { kernel: rmsnormKernel, constants: { RED_G: reduceGroup(adapter) } };
}

/** y = rmsnorm(x) * weight over x's last dim D; weight [D]; eps defaults to HF LlamaRMSNorm's 1e-6. */
export function recordRmsnorm(ctx: GpuContext, step: Step, x: GpuTensor, weight: GpuTensor, y: GpuTensor, options: { eps?: number } = {}): void {
  const label = `rmsnorm x${shapeStr(x.shape)} weight${shapeStr(weight.shape)}`;
  const { rows, cols } = rowsOf(label, x);
  checkTensor(label, 'weight', weight, [cols]);
  checkTensor(label, 'y', y, x.shape);
  step.dispatch({
    pipeline: rmsnormPipeline(ctx.adapter),
    label,
    uniforms: rmsnormKernel.pack({ rows, d: cols, eps: options.eps ?? 1e-6 }),
    buffers: [x.buffer, weight.buffer, y.buffer],
    workgroups: grid1d(ctx, rows),
  });
}

export function rmsnormReference(x: Float32Array, weight: Float32Array, eps = 1e-6): Float32Array {
  const d = weight.length;
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / d; r++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x[r * d + j]! ** 2;
    const inv = 1 / Math.sqrt(ss / d + eps);
    for (let j = 0; j < d; j++) y[r * d + j] = x[r * d + j]! * inv * weight[j]!;
  }
  return y;
}
