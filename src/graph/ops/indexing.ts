// Element and tuple indexing: GatherElements, ScatterElements (and its opset-9 form Scatter), GatherND and
// ScatterND, through op_gather_elements and op_gather_nd on 32-bit words of every type. Scatters copy data to the
// output, then combine the updates into it (reduction none/add/mul/max/min).
import { numel } from '../../gpu/index.js';
import { SCATTER_REDUCTIONS, recordGatherElements, type ScatterReduction } from '../../kernels/op_gather_elements.js';
import { gatherNdShape, recordGatherNd } from '../../kernels/op_gather_nd.js';
import { attr, type Node } from '../ir.js';
import { isFloat, type ElemType } from '../tensor.js';
import { choiceAttr, unsupportedAttr } from './attr-values.js';
import { normAxis } from './host-data.js';
import { registerOp, type OpImpl } from './op.js';

function reduction(node: Node, type: ElemType): ScatterReduction {
  const r = choiceAttr<ScatterReduction>(node, 'reduction', SCATTER_REDUCTIONS);
  if (r !== 'none' && type === 'bool') throw unsupportedAttr(node, 'reduction', r, 'bool data only scatters without reduction');
  return r;
}

const axisOf = (node: Node, rank: number) => normAxis(node, attr(node, 'axis', 0), rank);

registerOp('GatherElements', {
  infer: (_node, [data, indices]) => [{ type: data!.type, dims: indices!.dims }],
  record: (env, node, [data, indices], [y]) => {
    const spec = { scatter: false, reduction: 'none' as const, floatData: isFloat(data!.type) };
    recordGatherElements(env.ctx, env.step, spec, data!, indices!, y!, axisOf(node, data!.shape.length));
  },
});

const scatterElements: OpImpl = {
  infer: (_node, [data]) => [{ type: data!.type, dims: data!.dims }],
  record: (env, node, [data, indices, updates], [y]) => {
    const n = numel(data!.shape);
    if (n > 0) env.step.copy(data!.buffer, y!.buffer, n * 4);
    const spec = { scatter: true, reduction: reduction(node, data!.type), floatData: isFloat(data!.type) };
    recordGatherElements(env.ctx, env.step, spec, updates!, indices!, y!, axisOf(node, data!.shape.length));
  },
};
registerOp('ScatterElements', scatterElements);
registerOp('Scatter', scatterElements);

registerOp('GatherND', {
  infer: (node, [data, indices]) => {
    if (!indices!.dims.length) throw new Error(`GatherND ${node.name}: indices must have at least one dim`);
    return [{ type: data!.type, dims: gatherNdShape(data!.dims, indices!.dims, attr(node, 'batch_dims', 0)) }];
  },
  record: (env, node, [data, indices], [y]) => {
    const spec = { scatter: false, reduction: 'none' as const, floatData: isFloat(data!.type), batchDims: attr(node, 'batch_dims', 0) };
    recordGatherNd(env.ctx, env.step, spec, data!, indices!, y!);
  },
});

registerOp('ScatterND', {
  infer: (_node, [data]) => [{ type: data!.type, dims: data!.dims }],
  record: (env, node, [data, indices, updates], [y]) => {
    const n = numel(data!.shape);
    if (n > 0) env.step.copy(data!.buffer, y!.buffer, n * 4);
    const spec = { scatter: true, reduction: reduction(node, data!.type), floatData: isFloat(data!.type), batchDims: 0 };
    recordGatherNd(env.ctx, env.step, spec, updates!, indices!, y!);
  },
});
