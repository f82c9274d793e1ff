// GatherND (with batch_dims) and ScatterND (shaders/op_gather_nd.wgsl) on 32-bit words of any type.
import code from '../../shaders/op_gather_nd.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { check, checkTensor, grid1d } from './common.js';
import { contiguousStrides } from './op_bcast.js';
import { ND_MAX_RANK, axisIndex, scatterCombine, scatterConstants, type ScatterReduction } from './op_gather_elements.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const gatherNdKernel = defineKernel(
  'op_gather_nd',
  code,
  uniformLayout({
    n: 'u32',
    inner: 'u32',
    k: 'u32',
    tuples: 'u32',
    tuples_per_batch: 'u32',
    batch_stride: 'u32',
    dims: 'array<vec4u, 2>',
    strides: 'array<vec4u, 2>',
  }),
);

export interface NdSpec {
  readonly scatter: boolean;
  readonly reduction: ScatterReduction;
  readonly floatData: boolean;
  /** GatherND's batch_dims (0 for ScatterND). */
  readonly batchDims: number;
}

export function gatherNdPipeline(s: NdSpec): PipelineSpec {
  return { kernel: gatherNdKernel, constants: { SCATTER: +s.scatter, ...scatterConstants(s.reduction, s.floatData) } };
}

/** GatherND's output shape: indices' shape without its last dim, then data's dims after the addressed ones. */
export function gatherNdShape(data: readonly number[], indices: readonly number[], batchDims: number): number[] {
  return [...indices.slice(0, -1), ...data.slice(batchDims + indices.at(-1)!)];
}

interface Layout {
  readonly k: number;
  readonly inner: number;
  readonly tuples: number;
  readonly tuplesPerBatch: number;
  readonly batchStride: number;
  readonly dims: number[];
  readonly strides: number[];
}

function layout(label: string, data: readonly number[], indices: readonly number[], b: number): Layout {
  check(indices.length >= 1 && Number.isInteger(b) && b >= 0 && b < Math.min(data.length, indices.length), label, () => `batch_dims ${b} does not fit`);
  const k = indices.at(-1)!;
  check(k >= 1 && b + k <= data.length && k <= ND_MAX_RANK, label, () => `index tuples of ${k} do not address data of rank ${data.length} after ${b} batch dims`);
  check(data.slice(0, b).every((d, i) => d === indices[i]), label, () => 'the batch dims of data and indices differ');
  const ds = contiguousStrides(data);
  const tuples = numel(indices.slice(0, -1));
  return {
    k,
    inner: numel(data.slice(b + k)),
    tuples,
    tuplesPerBatch: numel(indices.slice(b, -1)),
    batchStride: numel(data.slice(b)),
    dims: data.slice(b, b + k),
    strides: ds.slice(b, b + k),
  };
}

/**
 * Gather: out = data's slices at the index tuples. Scatter: `out` already holds a copy of data, `src` are the
 * updates [indices' shape without its last dim, then the slice dims], combined into out tuple by tuple.
 */
export function recordGatherNd(ctx: GpuContext, step: Step, s: NdSpec, src: GpuTensor, indices: GpuTensor, out: GpuTensor): void {
  const data = s.scatter ? out : src;
  const label = `op_gather_nd(${s.scatter ? `scatter ${s.reduction}` : `gather batch_dims ${s.batchDims}`}) data ${shapeStr(data.shape)} indices ${shapeStr(indices.shape)}`;
  const l = layout(label, data.shape, indices.shape, s.batchDims);
  const sliced = gatherNdShape(data.shape, indices.shape, s.batchDims);
  checkTensor(label, 'indices', indices, indices.shape, 'i32');
  checkTensor(label, 'src', src, s.scatter ? sliced : data.shape, data.dtype);
  checkTensor(label, 'out', out, s.scatter ? data.shape : sliced, data.dtype);
  const n = s.scatter ? l.inner : numel(sliced);
  if (n === 0 || l.tuples === 0) return;
  step.dispatch({
    pipeline: gatherNdPipeline(s),
    label,
    uniforms: gatherNdKernel.pack({ n, inner: l.inner, k: l.k, tuples: l.tuples, tuples_per_batch: l.tuplesPerBatch, batch_stride: l.batchStride, dims: l.dims, strides: l.strides }),
    buffers: [src.buffer, indices.buffer, out.buffer],
    workgroups: grid1d(ctx, Math.ceil(n / 256)),
  });
}

/** The same on the CPU: gathered values, or data with the updates scattered into a copy. */
export function gatherNdReference(s: NdSpec, data: ArrayLike<number>, dataShape: readonly number[], indices: ArrayLike<number>, indicesShape: readonly number[], updates?: ArrayLike<number>): number[] {
  const l = layout('op_gather_nd reference', dataShape, indicesShape, s.batchDims);
  const sliceAt = (j: number) => {
    let at = Math.floor(j / l.tuplesPerBatch) * l.batchStride;
    for (let t = 0; t < l.k; t++) at += axisIndex(indices[j * l.k + t]!, l.dims[t]!) * l.strides[t]!;
    return at;
  };
  if (!s.scatter) return Array.from({ length: l.tuples * l.inner }, (_, i) => data[sliceAt(Math.floor(i / l.inner)) + (i % l.inner)]!);
  const out = Array.from(data);
  for (let j = 0; j < l.tuples; j++) {
    for (let e = 0; e < l.inner; e++) out[sliceAt(j) + e] = scatterCombine(s.reduction, out[sliceAt(j) + e]!, updates![j * l.inner + e]!);
  }
  return out;
}
