// Argmax over the last dim (the greedy sampler): u32 index per row, ties -> smallest index, NaN ranks highest.
import code from '../../shaders/argmax.wgsl?raw';
import { shapeStr, type AdapterDescription, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { checkTensor, grid1d } from './common.js';
import { reduceGroup, rowsOf } from './reduce.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const argmaxKernel = defineKernel('argmax', code, uniformLayout({ rows: 'u32', c: 'u32' }));

export function argmaxPipeline(adapter: AdapterDescription): PipelineSpec {
  return { kernel: argmaxKernel, constants: { RED_G: reduceGroup(adapter) } };
}

/** out (u32, x's shape without its last dim) = argmax of x over its last dim. */
export function recordArgmax(ctx: GpuContext, step: Step, x: GpuTensor, out: GpuTensor): void {
  const label = `argmax x${shapeStr(x.shape)}`;
  const { rows, cols } = rowsOf(label, x);
  checkTensor(label, 'out', out, x.shape.slice(0, -1), 'u32');
  step.dispatch({
    pipeline: argmaxPipeline(ctx.adapter),
    label,
    uniforms: argmaxKernel.pack({ rows, c: cols }),
    buffers: [x.buffer, out.buffer],
    workgroups: grid1d(ctx, rows),
  });
}

/** As torch.argmax: the first NaN if the row has one, else the first maximum (-0 equals +0). */
export function argmaxReference(x: Float32Array, cols: number): Uint32Array {
  const out = new Uint32Array(x.length / cols);
  for (let r = 0; r < out.length; r++) {
    let best = 0;
    for (let j = 0; j < cols; j++) {
      const v = x[r * cols + j]!;
      if (Number.isNaN(v)) {
        best = j;
        break;
      }
      if (v > x[r * cols + best]!) best = j;
    }
    out[r] = best;
  }
  return out;
}
