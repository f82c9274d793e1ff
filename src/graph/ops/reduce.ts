// Reductions over any set of axes (ReduceSum/Mean/Max/Min/Prod/SumSquare/L1/L2/LogSum/LogSumExp), ArgMax/ArgMin
// over one axis, and CumSum. Kernel wrappers sit next to the OpImpls; `host` evaluates the same maths on numbers.
import cumsumCode from '../../../shaders/op_cumsum.wgsl?raw';
import reduceCode from '../../../shaders/op_reduce.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../../gpu/index.js';
import { Uniforms, checkTensor, grid1d } from '../../kernels/common.js';
import { kernelSource } from '../../kernels/shader.js';
import { attr, type Node } from '../ir.js';
import { deviceType, type ElemType, type HostTensor } from '../tensor.js';
import { coalesce, contiguousStrides, slots } from './broadcast.js';
import { STORAGE, typeAt, typesOf, type Types } from './elementwise.js';
import { normAxis, requireHost } from './host-data.js';
import { fromNumbers, toNumbers } from './hostnum.js';
import { registerOp, type OpImpl } from './op.js';

const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);

/** Codes of op_reduce.wgsl and the host maths over one output element's values. */
const REDUCE: Record<string, { code: number; f: (v: number[]) => number }> = {
  ReduceSum: { code: 0, f: sum },
  ReduceMean: { code: 1, f: (v) => sum(v) / v.length },
  ReduceMax: { code: 2, f: (v) => Math.max(...v) },
  ReduceMin: { code: 3, f: (v) => Math.min(...v) },
  ReduceProd: { code: 4, f: (v) => v.reduce((a, b) => a * b, 1) },
  ReduceSumSquare: { code: 5, f: (v) => sum(v.map((x) => x * x)) },
  ReduceL1: { code: 6, f: (v) => sum(v.map(Math.abs)) },
  ReduceLogSumExp: {
    code: 7,
    f: (v) => {
      const m = Math.max(...v);
      return m + Math.log(sum(v.map((x) => Math.exp(x - m))));
    },
  },
  ReduceL2: { code: 8, f: (v) => Math.sqrt(sum(v.map((x) => x * x))) },
  ReduceLogSum: { code: 9, f: (v) => Math.log(sum(v)) },
};
const ARG = { ArgMax: 20, ArgMin: 21 };

const reduceKernel = kernelSource('op_reduce', reduceCode);

export interface ReduceSpec {
  /** A REDUCE or ARG code. */
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
  const isArg = s.op >= ARG.ArgMax;
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
  const uniforms = new Uniforms()
    .u32(nOut, numel(red.shape), kept.shape.length, red.shape.length)
    .u32(...slots(kept.shape, label), ...slots(kept.strides[0]!, label), ...slots(red.shape, label), ...slots(red.strides[0]!, label));
  step.dispatch({ pipeline: reducePipeline(s), label, uniforms: uniforms.data, buffers: [x.buffer, y.buffer], workgroups: grid1d(ctx, Math.ceil(nOut / 64)) });
}

/** Host reduction: gathers each output element's values (in x's row-major order), then folds them with f. */
function hostReduce(x: HostTensor, axes: readonly number[], outType: ElemType, keepdims: boolean, f: (v: number[]) => number): HostTensor {
  const dims = reducedDims(x.dims, axes, true);
  const outStrides = contiguousStrides(dims);
  const vals = toNumbers(x);
  const groups: number[][] = Array.from({ length: numel(dims) }, () => []);
  const coord = new Array<number>(x.dims.length).fill(0);
  for (let i = 0; i < vals.length; i++) {
    let o = 0;
    coord.forEach((c, d) => (o += axes.includes(d) ? 0 : c * outStrides[d]!));
    groups[o]!.push(vals[i]!);
    for (let d = x.dims.length - 1; d >= 0 && ++coord[d]! === x.dims[d]; d--) coord[d] = 0;
  }
  return fromNumbers(outType, reducedDims(x.dims, axes, keepdims), groups.map(f));
}

/** The reduced axes: input 1 (ReduceSum from opset 13, every reduction from 18) or the `axes` attribute; none means all. */
function reduceAxes(node: Node, rank: number, host: readonly (HostTensor | undefined)[]): number[] {
  const given = node.inputs[1] ? Array.from(toNumbers(requireHost(node, host, 1))) : attr<number[]>(node, 'axes', []);
  if (given.length === 0) return attr(node, 'noop_with_empty_axes', 0) ? [] : Array.from({ length: rank }, (_, i) => i);
  return given.map((a) => normAxis(node, a, rank));
}

function reduceOp(entry: { code: number; f: (v: number[]) => number }): OpImpl {
  const spec = (node: Node, types: Types): ReduceSpec => ({ op: entry.code, type: typeAt(node, types, 0) });
  const keep = (node: Node) => attr<number>(node, 'keepdims', 1) !== 0;
  return {
    hostInputs: [1],
    infer: (node, [x], host) => [{ type: x!.type, dims: reducedDims(x!.dims, reduceAxes(node, x!.dims.length, host), keep(node)) }],
    host: (node, inputs) => [hostReduce(inputs[0]!, reduceAxes(node, inputs[0]!.dims.length, inputs), inputs[0]!.type, keep(node), entry.f)],
    record: (env, node, [x], [y], host) => recordReduce(env.ctx, env.step, spec(node, typesOf([x])), x!, y!, reduceAxes(node, x!.shape.length, host), keep(node)),
  };
}

for (const [name, entry] of Object.entries(REDUCE)) registerOp(name, reduceOp(entry));

function argOp(code: number): OpImpl {
  const spec = (node: Node, types: Types): ReduceSpec => ({ op: code, type: typeAt(node, types, 0), selectLast: attr<number>(node, 'select_last_index', 0) !== 0 });
  const axis = (node: Node, rank: number) => [normAxis(node, attr(node, 'axis', 0), rank)];
  const keep = (node: Node) => attr<number>(node, 'keepdims', 1) !== 0;
  const pick = (node: Node) => (v: number[]) => {
    const best = code === ARG.ArgMax ? Math.max(...v) : Math.min(...v);
    return attr<number>(node, 'select_last_index', 0) !== 0 ? v.lastIndexOf(best) : v.indexOf(best);
  };
  return {
    infer: (node, [x]) => [{ type: 'int64', dims: reducedDims(x!.dims, axis(node, x!.dims.length), keep(node)) }],
    host: (node, [x]) => [hostReduce(x!, axis(node, x!.dims.length), 'int64', keep(node), pick(node))],
    record: (env, node, [x], [y]) => recordReduce(env.ctx, env.step, spec(node, typesOf([x])), x!, y!, axis(node, x!.shape.length), keep(node)),
  };
}

registerOp('ArgMax', argOp(ARG.ArgMax));
registerOp('ArgMin', argOp(ARG.ArgMin));

// ---------------------------------------------------------------- cumsum

const cumsumKernel = kernelSource('op_cumsum', cumsumCode);

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
    uniforms: new Uniforms().u32(lines, len, inner).data,
    buffers: [x.buffer, y.buffer],
    workgroups: grid1d(ctx, Math.ceil(lines / 64)),
  });
}

function hostCumSum(x: HostTensor, axis: number, s: CumSumSpec): HostTensor {
  const v = toNumbers(x);
  const len = x.dims[axis]!;
  const inner = numel(x.dims.slice(axis + 1));
  const out = new Float64Array(v.length);
  for (let l = 0; l < v.length / Math.max(len, 1); l++) {
    const base = Math.floor(l / inner) * len * inner + (l % inner);
    let acc = 0;
    for (let k = 0; k < len; k++) {
      const at = base + (s.reverse ? len - 1 - k : k) * inner;
      if (!s.exclusive) acc += v[at]!;
      out[at] = acc;
      if (s.exclusive) acc += v[at]!;
    }
  }
  return fromNumbers(x.type, x.dims, out);
}

const cumsumSpec = (node: Node, types: Types): CumSumSpec => ({
  type: typeAt(node, types, 0),
  exclusive: attr<number>(node, 'exclusive', 0) !== 0,
  reverse: attr<number>(node, 'reverse', 0) !== 0,
});
const cumsumAxis = (node: Node, rank: number, host: readonly (HostTensor | undefined)[]) => normAxis(node, toNumbers(requireHost(node, host, 1))[0]!, rank);

registerOp('CumSum', {
  hostInputs: [1],
  infer: (_node, [x]) => [{ type: x!.type, dims: x!.dims }],
  host: (node, inputs) => [hostCumSum(inputs[0]!, cumsumAxis(node, inputs[0]!.dims.length, inputs), cumsumSpec(node, typesOf(inputs)))],
  record: (env, node, [x], [y], host) => recordCumSum(env.ctx, env.step, cumsumSpec(node, typesOf([x])), x!, y!, cumsumAxis(node, x!.shape.length, host)),
});
