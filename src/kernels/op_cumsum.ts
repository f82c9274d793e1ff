// y = running sums of x along one axis (inclusive or exclusive, forwards or reversed), f32 or i32: one invocation
// per line along the axis.
import code from '../../shaders/op_cumsum.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { deviceType, type ElemType } from '../graph/tensor.js';
import { checkTensor, grid1d } from './common.js';
import { STORAGE } from './op_types.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const cumsumKernel = defineKernel('op_cumsum', code, uniformLayout({ lines: 'u32', len: 'u32', inner: 'u32' }));

export interface CumSumSpec {
  readonly type: ElemType;
  readonly exclusive: boolean;
  readonly reverse: boolean;
}

export function cumsumPipeline(s: CumSumSpec): PipelineSpec {
  return { kernel: cumsumKernel, constants: { IN_T: STORAGE[deviceType(s.type)], EXCLUSIVE: +s.exclusive, REVERSE: +s.reverse } };
}

export function recordCumSum(ctx: GpuContext, step: Step, s: CumSumSpec, x: GpuTensor, y: GpuTensor, axis: number): void {
  const label = `op_cumsum ${shapeStr(x.shape)} axis ${axis}`;
  checkTensor(label, 'x', x, x.shape, deviceType(s.type));
  checkTensor(label, 'y', y, x.shape, deviceType(s.type));
  const len = x.shape[axis]!;
  const inner = numel(x.shape.slice(axis + 1));
  const lines = numel(x.shape) / Math.max(len, 1);
  step.dispatch({
    pipeline: cumsumPipeline(s),
    label,
    uniforms: cumsumKernel.pack({ lines, len, inner }),
    buffers: [x.buffer, y.buffer],
    workgroups: grid1d(ctx, Math.ceil(lines / 64)),
  });
}

/** Running sums of `values` (shape dims) along `axis`, inclusive or exclusive, forwards or reversed. */
export function cumsumReference(values: ArrayLike<number>, dims: readonly number[], axis: number, s: { exclusive: boolean; reverse: boolean }): Float64Array {
  const len = dims[axis]!;
  const inner = numel(dims.slice(axis + 1));
  const out = new Float64Array(values.length);
  for (let l = 0; l < values.length / Math.max(len, 1); l++) {
    const base = Math.floor(l / inner) * len * inner + (l % inner);
    let acc = 0;
    for (let k = 0; k < len; k++) {
      const at = base + (s.reverse ? len - 1 - k : k) * inner;
      if (!s.exclusive) acc += values[at]!;
      out[at] = acc;
      if (s.exclusive) acc += values[at]!;
    }
  }
  return out;
}
