// LogSoftmax over any axis, and the losses built on it: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss
// (= NLL of log-softmax over axis 1, with its optional log_prob output). Float maths in f32.
import { numel, type GpuTensor } from '../../gpu/index.js';
import { recordCopyNd } from '../../kernels/op_copy_nd.js';
import { nllOutputShape, recordNllLoss, type NllOptions, type NllReduction } from '../../kernels/op_nll_loss.js';
import { recordSoftmax } from '../../kernels/softmax.js';
import { UnsupportedOpError } from '../errors.js';
import { attr, type Node } from '../ir.js';
import { isFloat } from '../tensor.js';
import { contiguousStrides } from '../../kernels/op_bcast.js';
import { choiceAttr } from './attr-values.js';
import { normAxis } from './host-data.js';
import { registerOp, type RunEnv, type TensorMeta } from './op.js';

function floatMeta(node: Node, m: TensorMeta | undefined, what: string): TensorMeta {
  if (!m || !isFloat(m.type)) throw new UnsupportedOpError(node, `(domain ai.onnx): ${what} must be a float tensor, not ${m?.type ?? 'missing'}`);
  return m;
}

/**
 * y = rows(x) applied along `axis`: the rows are x's `axis` dim. When every dim after `axis` is 1 the rows are
 * contiguous already; otherwise the axis moves last through a scratch copy and the result moves back.
 */
export function recordAlongAxis(env: RunEnv, label: string, x: GpuTensor, y: GpuTensor, axis: number, rows: (x: GpuTensor, y: GpuTensor) => void): void {
  const d = x.shape;
  if (numel(d) === 0) return;
  const flat = [numel(d) / d[axis]!, d[axis]!];
  if (d.slice(axis + 1).every((v) => v === 1)) {
    rows({ ...x, shape: flat }, { ...y, shape: flat });
    return;
  }
  const perm = [...d.keys()].filter((i) => i !== axis).concat(axis);
  const moved = perm.map((i) => d[i]!);
  const s = contiguousStrides(d);
  const bytes = numel(d) * 4;
  const t = { buffer: env.step.temp(bytes, `${label} axis last`), shape: flat, dtype: x.dtype };
  const u = { buffer: env.step.temp(bytes, `${label} rows`), shape: flat, dtype: y.dtype };
  recordCopyNd(env.ctx, env.step, x, { ...t, shape: moved }, { dims: moved, srcOffset: 0, srcStrides: perm.map((i) => s[i]!), dstOffset: 0, dstStrides: contiguousStrides(moved) });
  rows(t, u);
  recordCopyNd(env.ctx, env.step, { ...u, shape: moved }, y, { dims: moved, srcOffset: 0, srcStrides: contiguousStrides(moved), dstOffset: 0, dstStrides: perm.map((i) => s[i]!) });
}

registerOp('LogSoftmax', {
  infer: (node, [x]) => [{ type: floatMeta(node, x, 'input').type, dims: x!.dims }],
  record: (env, node, [x], [y]) => {
    const axis = normAxis(node, attr(node, 'axis', -1), x!.shape.length);
    recordAlongAxis(env, node.name, x!, y!, axis, (a, b) => recordSoftmax(env.ctx, env.step, a, b, true));
  },
});

function nllOptions(node: Node): NllOptions {
  return { reduction: choiceAttr<NllReduction>(node, 'reduction', ['mean', 'sum', 'none']), ignoreIndex: attr<number>(node, 'ignore_index') };
}

function lossShape(node: Node, x: TensorMeta | undefined, target: TensorMeta | undefined): number[] {
  const xd = floatMeta(node, x, 'input').dims;
  if (!target || xd.length < 2 || target.dims.length !== xd.length - 1) {
    throw new UnsupportedOpError(node, `(domain ai.onnx): input [${xd}] and target [${target?.dims ?? ''}] must be [N, C, d1, ...] and [N, d1, ...]`);
  }
  return nllOutputShape(target.dims, nllOptions(node));
}

registerOp('NegativeLogLikelihoodLoss', {
  infer: (node, [x, target]) => [{ type: x!.type, dims: lossShape(node, x, target) }],
  record: (env, node, [x, target, weight], [y]) => recordNllLoss(env.ctx, env.step, x!, target!, weight, y!, nllOptions(node)),
});

registerOp('SoftmaxCrossEntropyLoss', {
  infer: (node, [x, target]) => [
    { type: x!.type, dims: lossShape(node, x, target) },
    { type: x!.type, dims: x!.dims },
  ],
  record: (env, node, [x, target, weight], [y, logProb]) => {
    const lp = logProb ?? { buffer: env.step.temp(Math.max(4, numel(x!.shape) * 4), `${node.name} log_prob`), shape: x!.shape, dtype: x!.dtype };
    recordAlongAxis(env, node.name, x!, lp, 1, (a, b) => recordSoftmax(env.ctx, env.step, a, b, true));
    recordNllLoss(env.ctx, env.step, lp, target!, weight, y!, nllOptions(node));
  },
});
