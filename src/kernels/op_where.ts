// y = cond ? x : z elementwise with numpy broadcasting of all three (any 32-bit storage type for x, z and y).
import code from '../../shaders/op_where.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { checkTensor } from './common.js';
import { BCAST_UNIFORMS, broadcastAll, broadcastIndex, broadcastValues, broadcastWorkgroups } from './op_bcast.js';
import { defineKernel } from './shader.js';

export const whereKernel = defineKernel('op_where', code, BCAST_UNIFORMS);

export function wherePipeline(): PipelineSpec {
  return { kernel: whereKernel };
}

export function recordWhere(ctx: GpuContext, step: Step, cond: GpuTensor, x: GpuTensor, z: GpuTensor, y: GpuTensor): void {
  const label = `op_where ${shapeStr(cond.shape)} ${shapeStr(x.shape)} ${shapeStr(z.shape)}`;
  const out = broadcastAll([cond.shape, x.shape, z.shape], label);
  checkTensor(label, 'cond', cond, cond.shape, 'u32');
  checkTensor(label, 'x', x, x.shape, y.dtype);
  checkTensor(label, 'z', z, z.shape, y.dtype);
  checkTensor(label, 'y', y, out, y.dtype);
  step.dispatch({
    pipeline: wherePipeline(),
    label,
    uniforms: whereKernel.pack(broadcastValues(label, out, [cond.shape, x.shape, z.shape])),
    buffers: [cond.buffer, x.buffer, z.buffer, y.buffer],
    workgroups: broadcastWorkgroups(ctx, numel(out)),
  });
}

/** cond ? x : z over the three broadcast together: the output shape and its values. */
export function whereReference(cond: { values: ArrayLike<number>; dims: readonly number[] }, x: { values: ArrayLike<number>; dims: readonly number[] }, z: { values: ArrayLike<number>; dims: readonly number[] }): { dims: number[]; values: number[] } {
  const dims = broadcastAll([cond.dims, x.dims, z.dims]);
  const [ci, xi, zi] = [cond, x, z].map((t) => broadcastIndex(t.dims, dims));
  return { dims, values: Array.from(ci!, (j, i) => (cond.values[j] ? x.values[xi![i]!]! : z.values[zi![i]!]!)) };
}
