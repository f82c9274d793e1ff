// LayerNorm over the last dim: y = (x - mean) / sqrt(var + eps) * weight + bias (bias optional).
import code from '../../shaders/layernorm.wgsl?raw';
import { shapeStr, type AdapterDescription, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { Uniforms, checkTensor, grid1d } from './common.js';
import { reduceGroup, rowsOf } from './reduce.js';
import { kernelSource } from './shader.js';

const kernel = kernelSource('layernorm', code);

export function layernormPipeline(adapter: AdapterDescription, hasBias: boolean): PipelineSpec {
  return { kernel, constants: { HAS_BIAS: hasBias ? 1 : 0, RED_G: reduceGroup(adapter) } };
}

/** LayerNorm over x's last dim D; weight and bias [D], bias may be null; eps defaults to torch's 1e-5. */
export function recordLayernorm(
  ctx: GpuContext,
  step: Step,
  x: GpuTensor,
  weight: GpuTensor,
  bias: GpuTensor | null,
  y: GpuTensor,
  options: { eps?: number } = {},
): void {
  const label = `layernorm x${shapeStr(x.shape)} weight${shapeStr(weight.shape)} bias${bias ? shapeStr(bias.shape) : '(none)'}`;
  const { rows, cols } = rowsOf(label, x);
  checkTensor(label, 'weight', weight, [cols]);
  if (bias) checkTensor(label, 'bias', bias, [cols]);
  checkTensor(label, 'y', y, x.shape);
  step.dispatch({
    pipeline: layernormPipeline(ctx.adapter, bias !== null),
    label,
    uniforms: new Uniforms().u32(rows, cols).f32(options.eps ?? 1e-5).data,
    // Without a bias the weight stands in for the bias binding, which HAS_BIAS = false never reads.
    buffers: [x.buffer, weight.buffer, (bias ?? weight).buffer, y.buffer],
    workgroups: grid1d(ctx, rows),
  });
}

export function layernormReference(x: Float32Array, weight: Float32Array, bias: Float32Array | null, eps = 1e-5): Float32Array {
  const d = weight.length;
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / d; r++) {
    const row = x.subarray(r * d, (r + 1) * d);
    const mean = row.reduce((a, v) => a + v, 0) / d;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / d;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let j = 0; j < d; j++) y[r * d + j] = (row[j]! - mean) * inv * weight[j]! + (bias ? bias[j]! : 0);
  }
  return y;
}
