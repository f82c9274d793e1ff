// y = reduce(x) over any set of axes (sum, mean, max, min, prod, sum of squares, L1, L2, log-sum, log-sum-exp) and
// ArgMax/ArgMin over one axis, on f32 and i32 storage: one invocation per output element walks the reduced dims.
// Kept and reduced dims are each coalesced first, so up to MAX_RANK of each remain. The maths per op code lives with
// the ops (src/graph/ops/reduce.ts); reduceReference applies any such maths to the same groups of values.
import code from '../../shaders/op_reduce.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { deviceType, type ElemType } from '../graph/tensor.js';
import { check, checkTensor, grid1d } from './common.js';
import { MAX_RANK, coalesce, contiguousStrides } from './op_bcast.js';
import { STORAGE } from './op_types.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

/** The first ArgMax/ArgMin code: these write i32 indices. */
const ARG_MAX = 20;

export const reduceKernel = defineKernel(
  'op_reduce',
  code,
  uniformLayout({
    n_out: 'u32',
    n_red: 'u32',
    out_rank: 'u32',
    red_rank: 'u32',
    out_shape: 'array<vec4u, 2>',
    out_strides: 'array<vec4u, 2>',
    red_shape: 'array<vec4u, 2>',
    red_strides: 'array<vec4u, 2>',
  }),
);

export interface ReduceSpec {
  /** An op code of op_reduce.wgsl: a reduction (< 20) or ArgMax (20) / ArgMin (21). */
  readonly op: number;
  readonly type: ElemType;
  readonly selectLast?: boolean;
}

export function reducePipeline(s: ReduceSpec): PipelineSpec {
  return { kernel: reduceKernel, constants: { OP: s.op, IN_T: STORAGE[deviceType(s.type)], SELECT_LAST: s.selectLast ? 1 : 0 } };
}

/** x's dims with `axes` reduced: kept as 1 or dropped. */
export function reducedDims(dims: readonly number[], axes: readonly number[], keepdims: boolean): number[] {
  return dims.flatMap((d, i) => (!axes.includes(i) ? [d] : keepdims ? [1] : []));
}

/** y = reduce(x) over `axes` (non-negative, any order); ArgMax/ArgMin take one axis and write i32 indices. */
export function recordReduce(ctx: GpuContext, step: Step, s: ReduceSpec, x: GpuTensor, y: GpuTensor, axes: readonly number[], keepdims: boolean): void {
  const label = `op_reduce(${s.op}) ${shapeStr(x.shape)} axes [${axes}]`;
  const isArg = s.op >= ARG_MAX;
  checkTensor(label, 'x', x, x.shape, deviceType(s.type));
  checkTensor(label, 'y', y, reducedDims(x.shape, axes, keepdims), isArg ? 'i32' : deviceType(s.type));
  const strides = contiguousStrides(x.shape);
  const part = (reduced: boolean) => {
    const idx = x.shape.map((_, i) => i).filter((i) => axes.includes(i) === reduced);
    return coalesce(idx.map((i) => x.shape[i]!), [idx.map((i) => strides[i]!)]);
  };
  const kept = part(false);
  const red = part(true);
  const nOut = numel(y.shape);
  check(kept.shape.length <= MAX_RANK && red.shape.length <= MAX_RANK, label, () => `needs ${kept.shape.length} kept and ${red.shape.length} reduced dims after merging, at most ${MAX_RANK} each are supported`);
  const uniforms = reduceKernel.pack({
    n_out: nOut,
    n_red: numel(red.shape),
    out_rank: kept.shape.length,
    red_rank: red.shape.length,
    out_shape: kept.shape,
    out_strides: kept.strides[0]!,
    red_shape: red.shape,
    red_strides: red.strides[0]!,
  });
  step.dispatch({ pipeline: reducePipeline(s), label, uniforms, buffers: [x.buffer, y.buffer], workgroups: grid1d(ctx, Math.ceil(nOut / 64)) });
}

/** The values of x (shape dims, row-major) reduced over `axes` by f, one per output element (keepdims order). */
export function reduceReference(values: ArrayLike<number>, dims: readonly number[], axes: readonly number[], f: (v: number[]) => number): number[] {
  const outStrides = contiguousStrides(reducedDims(dims, axes, true));
  const groups: number[][] = Array.from({ length: numel(reducedDims(dims, axes, true)) }, () => []);
  const coord = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < values.length; i++) {
    let o = 0;
    coord.forEach((c, d) => (o += axes.includes(d) ? 0 : c * outStrides[d]!));
    groups[o]!.push(values[i]!);
    for (let d = dims.length - 1; d >= 0 && ++coord[d]! === dims[d]; d--) coord[d] = 0;
  }
  return groups.map(f);
}
