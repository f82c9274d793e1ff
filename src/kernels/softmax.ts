// Softmax and log-softmax over the last dim, numerically stable (max-subtracted).
import code from '../../shaders/softmax.wgsl?raw';
import { shapeStr, type AdapterDescription, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { checkTensor, grid1d } from './common.js';
import { reduceGroup, rowsOf } from './reduce.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const softmaxKernel = defineKernel('softmax', code, uniformLayout({ rows: 'u32', c: 'u32' }));

export function softmaxPipeline(adapter: AdapterDescription, log = false): PipelineSpec {
  return { kernel: softmaxKernel, constants: { RED_G: reduceGroup(adapter), LOG: +log } };
}

/** y = softmax(x) (or log-softmax with `log`) over x's last dim. */
export function recordSoftmax(ctx: GpuContext, step: Step, x: GpuTensor, y: GpuTensor, log = false): void {
  const label = `${log ? 'log_' : ''}softmax x${shapeStr(x.shape)}`;
  const { rows, cols } = rowsOf(label, x);
  checkTensor(label, 'y', y, x.shape);
  step.dispatch({
    pipeline: softmaxPipeline(ctx.adapter, log),
    label,
    uniforms: softmaxKernel.pack({ rows, c: cols }),
    buffers: [x.buffer, y.buffer],
    workgroups: grid1d(ctx, rows),
  });
}

export function softmaxReference(x: Float32Array, cols: number, log = false): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const m = row.reduce((a, v) => Math.max(a, v), -Infinity);
    const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
    for (let j = 0; j < cols; j++) y[r * cols + j] = log ? row[j]! - m - Math.log(s) : Math.exp(row[j]! - m) / s;
  }
  return y;
}
