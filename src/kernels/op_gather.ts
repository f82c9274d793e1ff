// Gather along one axis (ONNX Gather) of 32-bit words: one pipeline serves every storage type; with axis 0 and a
// table [V, d] it is the embedding lookup. The GPU cannot throw, so it clamps out-of-range indices; indices that
// come from the CPU go through checkIndices first so a bad one fails loudly there.
import code from '../../shaders/op_gather.wgsl?raw';
import { KernelShapeError, numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { check, checkTensor, grid1d } from './common.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const gatherKernel = defineKernel('op_gather', code, uniformLayout({ n: 'u32', inner: 'u32', num_indices: 'u32', axis_dim: 'u32' }));

export function gatherPipeline(): PipelineSpec {
  return { kernel: gatherKernel };
}

export function gatherOutputShape(data: readonly number[], indices: readonly number[], axis: number): number[] {
  return [...data.slice(0, axis), ...indices, ...data.slice(axis + 1)];
}

/** Throws KernelShapeError (`kernel` names the caller) naming the first index outside [-axisDim, axisDim) and its position. */
export function checkIndices(indices: ArrayLike<number>, axisDim: number, kernel = 'op_gather'): void {
  for (let i = 0; i < indices.length; i++) {
    const id = indices[i]!;
    if (id < -axisDim || id >= axisDim) throw new KernelShapeError(kernel, `id ${id} at position ${i} is outside [${-axisDim}, ${axisDim}), an axis of size ${axisDim}`);
  }
}

/** out = data gathered at `indices` (i32, negative counts from the end) along `axis` (already non-negative). */
export function recordGather(ctx: GpuContext, step: Step, data: GpuTensor, indices: GpuTensor, out: GpuTensor, axis: number): void {
  const label = `op_gather ${shapeStr(data.shape)} indices ${shapeStr(indices.shape)} axis ${axis}`;
  check(Number.isInteger(axis) && axis >= 0 && axis < data.shape.length, label, () => `axis ${axis} is outside the data's rank ${data.shape.length}`);
  checkTensor(label, 'data', data, data.shape, data.dtype);
  checkTensor(label, 'indices', indices, indices.shape, 'i32');
  checkTensor(label, 'out', out, gatherOutputShape(data.shape, indices.shape, axis), data.dtype);
  const n = numel(out.shape);
  const axisDim = data.shape[axis]!;
  check(n === 0 || axisDim > 0, label, () => 'gathers from an empty axis');
  step.dispatch({
    pipeline: gatherPipeline(),
    label,
    uniforms: gatherKernel.pack({ n, inner: numel(data.shape.slice(axis + 1)), num_indices: numel(indices.shape), axis_dim: axisDim }),
    buffers: [data.buffer, indices.buffer, out.buffer],
    workgroups: grid1d(ctx, Math.ceil(n / 256)),
  });
}

/** The same gather on the CPU for any indexable data (also the op's host evaluation), clamping as the GPU does. */
export function gatherReference<T>(data: ArrayLike<T>, dataShape: readonly number[], indices: ArrayLike<number>, axis: number, out: { [i: number]: T }): void {
  const inner = numel(dataShape.slice(axis + 1));
  const axisDim = dataShape[axis]!;
  const outer = numel(dataShape.slice(0, axis));
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < indices.length; j++) {
      const raw = indices[j]!;
      const k = Math.min(Math.max(raw < 0 ? raw + axisDim : raw, 0), axisDim - 1);
      for (let t = 0; t < inner; t++) out[(o * indices.length + j) * inner + t] = data[(o * axisDim + k) * inner + t]!;
    }
  }
}
