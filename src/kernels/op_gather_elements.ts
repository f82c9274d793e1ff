// GatherElements / ScatterElements along one axis (shaders/op_gather_elements.wgsl) on 32-bit words of any type,
// and the shared scatter reductions of shaders/lib/scatter_reduce.wgsl.
import code from '../../shaders/op_gather_elements.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { check, checkTensor, grid1d } from './common.js';
import { contiguousStrides } from './op_bcast.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const gatherElementsKernel = defineKernel(
  'op_gather_elements',
  code,
  uniformLayout({ n: 'u32', rank: 'u32', axis: 'u32', axis_dim: 'u32', dims: 'array<vec4u, 2>', data_strides: 'array<vec4u, 2>' }),
);
export const ND_MAX_RANK = 8;

export const SCATTER_REDUCTIONS = ['none', 'add', 'mul', 'max', 'min'] as const;
export type ScatterReduction = (typeof SCATTER_REDUCTIONS)[number];

/** Override constants of lib/scatter_reduce.wgsl. */
export function scatterConstants(reduction: ScatterReduction, floatData: boolean): Record<string, number> {
  return { SCATTER_REDUCE: SCATTER_REDUCTIONS.indexOf(reduction), FLOAT_DATA: +floatData };
}

export function scatterCombine(reduction: ScatterReduction, old: number, upd: number): number {
  switch (reduction) {
    case 'none': return upd;
    case 'add': return old + upd;
    case 'mul': return old * upd;
    case 'max': return Math.max(old, upd);
    case 'min': return Math.min(old, upd);
  }
}

/** An index into an axis of `dim` entries as the kernels read it: negative from the end, clamped. */
export function axisIndex(raw: number, dim: number): number {
  return Math.min(Math.max(raw < 0 ? raw + dim : raw, 0), dim - 1);
}

export interface ElementsSpec {
  readonly scatter: boolean;
  readonly reduction: ScatterReduction;
  readonly floatData: boolean;
}

export function gatherElementsPipeline(s: ElementsSpec): PipelineSpec {
  return { kernel: gatherElementsKernel, constants: { SCATTER: +s.scatter, ...scatterConstants(s.reduction, s.floatData) } };
}

/**
 * Gather: out (indices' shape) = data at indices along `axis`. Scatter: `out` already holds a copy of data and
 * `src` are the updates (indices' shape); each is combined into out at its index along `axis`.
 */
export function recordGatherElements(ctx: GpuContext, step: Step, s: ElementsSpec, src: GpuTensor, indices: GpuTensor, out: GpuTensor, axis: number): void {
  const data = s.scatter ? out : src;
  const label = `op_gather_elements(${s.scatter ? `scatter ${s.reduction}` : 'gather'}) data ${shapeStr(data.shape)} indices ${shapeStr(indices.shape)} axis ${axis}`;
  const rank = data.shape.length;
  check(rank >= 1 && rank <= ND_MAX_RANK && indices.shape.length === rank, label, () => `data and indices need one rank in 1..${ND_MAX_RANK}`);
  check(Number.isInteger(axis) && axis >= 0 && axis < rank, label, () => `axis ${axis} is outside rank ${rank}`);
  check(indices.shape.every((d, k) => k === axis || d <= data.shape[k]!), label, () => 'indices are larger than data off the axis');
  checkTensor(label, 'indices', indices, indices.shape, 'i32');
  checkTensor(label, 'src', src, s.scatter ? indices.shape : data.shape, data.dtype);
  checkTensor(label, 'out', out, s.scatter ? data.shape : indices.shape, data.dtype);
  const count = numel(indices.shape);
  if (count === 0) return;
  check(data.shape[axis]! > 0, label, () => 'indexes an empty axis');
  const n = s.scatter ? count / indices.shape[axis]! : count;
  step.dispatch({
    pipeline: gatherElementsPipeline(s),
    label,
    uniforms: gatherElementsKernel.pack({ n, rank, axis, axis_dim: data.shape[axis]!, dims: indices.shape, data_strides: contiguousStrides(data.shape) }),
    buffers: [src.buffer, indices.buffer, out.buffer],
    workgroups: grid1d(ctx, Math.ceil(n / 256)),
  });
}

/** The same on the CPU: returns gathered values, or data with the updates scattered into a copy. */
export function gatherElementsReference(s: ElementsSpec, data: ArrayLike<number>, dataShape: readonly number[], indices: ArrayLike<number>, indicesShape: readonly number[], axis: number, updates?: ArrayLike<number>): number[] {
  const ds = contiguousStrides(dataShape);
  const is = contiguousStrides(indicesShape);
  const out = s.scatter ? Array.from(data) : new Array<number>(indices.length);
  for (let i = 0; i < indices.length; i++) {
    let at = 0;
    for (let k = 0; k < indicesShape.length; k++) {
      const c = Math.floor(i / is[k]!) % indicesShape[k]!;
      at += (k === axis ? axisIndex(indices[i]!, dataShape[axis]!) : c) * ds[k]!;
    }
    if (s.scatter) out[at] = scatterCombine(s.reduction, out[at]!, updates![i]!);
    else out[i] = data[at]!;
  }
  return out;
}
