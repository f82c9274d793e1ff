// LayerNorm over the last dim: y = (x - mean) / sqrt(var + eps) * weight + bias (bias optional).
import code from '../../shaders/layernorm.wgsl?raw';
import { shapeStr, type AdapterDescription, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { checkTensor, grid1d } from './common.js';
import { reduceGroup, rowsOf } from './reduce.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const layernormKernel = defineKernel('layernorm', code, uniformLayout({ rows: 'u32', d: 'u32', eps: 'f32' }));

export function layernormPipeline(adapter: AdapterDescription, hasBias: boolean, hasStats = false): PipelineSpec {
  return { kernel: layernormKernel, constants: { HAS_BIAS: hasBias ? 1 : 0, HAS_STATS: hasStats ? 1 : 0, RED_G: reduceGroup(adapter) } };
}

/** Per-row statistics LayerNorm can also write, each [rows]: the mean and 1 / sqrt(var + eps). */
export interface LayernormStats {
  mean: GpuTensor;
  invStdDev: GpuTensor;
}

/**
 * LayerNorm over x's last dim D; weight and bias [D], bias may be null; eps defaults to torch's 1e-5.
 * With `stats`, also writes each row's mean and inverse standard deviation.
 */
export function recordLayernorm(
  ctx: GpuContext,
  step: Step,
  x: GpuTensor,
  weight: GpuTensor,
  bias: GpuTensor | null,
  y: GpuTensor,
  options: { eps?: number; stats?: LayernormStats } = {},
): void {
  const label = `layernorm x${shapeStr(x.shape)} weight${shapeStr(weight.shape)} bias${bias ? shapeStr(bias.shape) : '(none)'}`;
  const { rows, cols } = rowsOf(label, x);
  checkTensor(label, 'weight', weight, [cols]);
  if (bias) checkTensor(label, 'bias', bias, [cols]);
  checkTensor(label, 'y', y, x.shape);
  const { stats } = options;
  if (stats) {
    checkTensor(label, 'mean', stats.mean, [rows]);
    checkTensor(label, 'invStdDev', stats.invStdDev, [rows]);
  }
  step.dispatch({
    pipeline: layernormPipeline(ctx.adapter, bias !== null, !!stats),
    label,
    uniforms: layernormKernel.pack({ rows, d: cols, eps: options.eps ?? 1e-5 }),
    // Without a bias the weight stands in for the bias binding, which HAS_BIAS = false never reads. Without
    // stats their bindings get scratch words HAS_STATS = false never writes (writable bindings may not alias).
    buffers: [
      x.buffer,
      weight.buffer,
      (bias ?? weight).buffer,
      y.buffer,
      stats?.mean.buffer ?? step.temp(4, 'layernorm mean (unused)'),
      stats?.invStdDev.buffer ?? step.temp(4, 'layernorm invStdDev (unused)'),
    ],
    workgroups: grid1d(ctx, rows),
  });
}

/** Each row's mean and 1 / sqrt(var + eps), rows of length d, in double precision. */
function rowStats(x: Float32Array, d: number, eps: number): { mean: Float64Array; invStdDev: Float64Array } {
  const rows = x.length / d;
  const mean = new Float64Array(rows);
  const invStdDev = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * d, (r + 1) * d);
    const m = row.reduce((a, v) => a + v, 0) / d;
    mean[r] = m;
    invStdDev[r] = 1 / Math.sqrt(row.reduce((a, v) => a + (v - m) ** 2, 0) / d + eps);
  }
  return { mean, invStdDev };
}

/** The `stats` recordLayernorm writes: each row's mean and 1 / sqrt(var + eps). */
export function layernormStatsReference(x: Float32Array, d: number, eps = 1e-5): { mean: Float32Array; invStdDev: Float32Array } {
  const s = rowStats(x, d, eps);
  return { mean: Float32Array.from(s.mean), invStdDev: Float32Array.from(s.invStdDev) };
}

export function layernormReference(x: Float32Array, weight: Float32Array, bias: Float32Array | null, eps = 1e-5): Float32Array {
  const d = weight.length;
  const { mean, invStdDev } = rowStats(x, d, eps);
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / d; r++) {
    for (let j = 0; j < d; j++) y[r * d + j] = (x[r * d + j]! - mean[r]!) * invStdDev[r]! * weight[j]! + (bias ? bias[j]! : 0);
  }
  return y;
}
