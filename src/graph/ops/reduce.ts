// Reductions over any set of axes (ReduceSum/Mean/Max/Min/Prod/SumSquare/L1/L2/LogSum/LogSumExp), ArgMax/ArgMin
// over one axis, and CumSum, through the op_reduce and op_cumsum kernels; `host` evaluates the same maths on numbers.
import { cumsumReference, recordCumSum, type CumSumSpec } from '../../kernels/op_cumsum.js';
import { recordReduce, reduceReference, reducedDims, type ReduceSpec } from '../../kernels/op_reduce.js';
import { attr, type Node } from '../ir.js';
import { type ElemType, type HostTensor } from '../tensor.js';
import { typeAt, typesOf, type Types } from './elementwise.js';
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

/** Host reduction: each output element's values (in x's row-major order) folded with f. */
function hostReduce(x: HostTensor, axes: readonly number[], outType: ElemType, keepdims: boolean, f: (v: number[]) => number): HostTensor {
  return fromNumbers(outType, reducedDims(x.dims, axes, keepdims), reduceReference(toNumbers(x), x.dims, axes, f));
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

function hostCumSum(x: HostTensor, axis: number, s: CumSumSpec): HostTensor {
  return fromNumbers(x.type, x.dims, cumsumReference(toNumbers(x), x.dims, axis, s));
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
