// Shape ops: Shape, Reshape, Squeeze, Unsqueeze, Flatten, Identity (views: no kernel runs), and the ops whose
// result is known on the host: Constant, ConstantOfShape, Range (uploaded when a GPU consumer needs them).
import { numel } from '../../gpu/index.js';
import { attr, type Node } from '../ir.js';
import { checkSize, HOST_LIMIT, type HostTensor } from '../tensor.js';
import { hostEmpty, normAxis, numbers, rawElements, recordHostUpload, requireHost } from './host-data.js';
import { fromNumbers } from './hostnum.js';
import { registerOp, type OpImpl, type TensorMeta } from './op.js';

/** An op whose output is input 0 with other dims, computed by `dims` from the input dims and host inputs. */
function viewOp(dims: (node: Node, input: readonly number[], host: readonly (HostTensor | undefined)[]) => number[], hostInputs: number[] = []): OpImpl {
  return {
    hostInputs,
    aliases: [0],
    infer: (node, inputs, host) => [{ type: inputs[0]!.type, dims: dims(node, inputs[0]!.dims, host) }],
    host: (node, inputs) => {
      const x = inputs[0]!;
      return [{ type: x.type, dims: dims(node, x.dims, inputs), data: x.data }];
    },
  };
}

type Metas = readonly (TensorMeta | undefined)[];
type Hosts = readonly (HostTensor | undefined)[];

/**
 * An op whose only output is computed on the host from input metadata and host inputs, also when a GPU consumer
 * needs it (it is then uploaded). `meta` gives the output's type and dims without computing it, and inference
 * checks them against the host limit, so a result too large for the host fails when shapes are planned, before
 * anything (on the host or the GPU) is allocated.
 */
function hostOp(meta: (node: Node, metas: Metas, host: Hosts) => TensorMeta, evaluate: (node: Node, out: TensorMeta, metas: Metas, host: Hosts) => HostTensor, hostInputs: number[] = [], metaOnly = false): OpImpl {
  const checked = (node: Node, metas: Metas, host: Hosts): TensorMeta => {
    const out = meta(node, metas, host);
    checkSize(node, 'output 0', out.type, out.dims, HOST_LIMIT);
    return out;
  };
  const run = (node: Node, metas: Metas, host: Hosts): HostTensor => evaluate(node, checked(node, metas, host), metas, host);
  return {
    hostInputs,
    metaOnly,
    infer: (node, metas, host) => [checked(node, metas, host)],
    host: (node, inputs, metas) => [run(node, metas, inputs)],
    // Reached when the result must live on the GPU (float results are not kept on the host).
    record: (env, node, inputs, outputs, host) => recordHostUpload(env, run(node, inputs.map((t) => t && { type: t.type, dims: t.shape }), host), outputs[0]!),
  };
}

/** A hostOp whose result is cheap to make (a Constant's value, a Shape): its meta is read off the result. */
function smallHostOp(evaluate: (node: Node, metas: Metas) => HostTensor, metaOnly = false): OpImpl {
  return hostOp((node, metas) => {
    const t = evaluate(node, metas);
    return { type: t.type, dims: t.dims };
  }, (node, _, metas) => evaluate(node, metas), [], metaOnly);
}

function shapeOf(node: Node, dims: readonly number[]): number[] {
  const r = dims.length;
  const clampAxis = (a: number) => Math.max(0, Math.min(r, a < 0 ? a + r : a));
  return dims.slice(clampAxis(attr(node, 'start', 0)), clampAxis(attr(node, 'end', r)));
}

function reshapeDims(node: Node, input: readonly number[], host: readonly (HostTensor | undefined)[]): number[] {
  const allowZero = attr(node, 'allowzero', 0) !== 0;
  const dims = numbers(requireHost(node, host, 1)).map((d, i) => (d === 0 && !allowZero ? input[i]! : d));
  const infer = dims.indexOf(-1);
  if (infer >= 0) {
    const known = numel(dims.filter((_, i) => i !== infer));
    dims[infer] = known === 0 ? 0 : numel(input) / known;
  }
  if (numel(dims) !== numel(input) || dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`Reshape ${node.name}: cannot reshape [${input}] to [${numbers(host[1]!)}]`);
  }
  return dims;
}

/** Squeeze/Unsqueeze axes: the attribute before opset 13, input 1 from then on. */
function axesOf(node: Node, host: readonly (HostTensor | undefined)[]): number[] | undefined {
  const a = attr<number[]>(node, 'axes');
  if (a) return a;
  return node.inputs[1] ? numbers(requireHost(node, host, 1)) : undefined;
}

function squeezeDims(node: Node, input: readonly number[], host: readonly (HostTensor | undefined)[]): number[] {
  const axes = axesOf(node, host)?.map((a) => normAxis(node, a, input.length));
  if (axes?.some((a) => input[a] !== 1)) throw new Error(`Squeeze ${node.name}: axes [${axes}] of [${input}] are not all 1`);
  return input.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
}

function unsqueezeDims(node: Node, input: readonly number[], host: readonly (HostTensor | undefined)[]): number[] {
  const rank = input.length + (axesOf(node, host)?.length ?? 0);
  const axes = new Set(axesOf(node, host)?.map((a) => normAxis(node, a, rank)));
  const rest = [...input];
  return Array.from({ length: rank }, (_, i) => (axes.has(i) ? 1 : rest.shift()!));
}

function flattenDims(node: Node, input: readonly number[]): number[] {
  const r = input.length;
  let axis = attr(node, 'axis', 1);
  if (axis < -r || axis > r) throw new Error(`Flatten ${node.name}: axis ${axis} is outside rank ${r}`);
  if (axis < 0) axis += r;
  return [numel(input.slice(0, axis)), numel(input.slice(axis))];
}

function constantValue(node: Node): HostTensor {
  const t = attr<HostTensor>(node, 'value');
  if (t) return t;
  const f = attr<number>(node, 'value_float');
  if (f !== undefined) return fromNumbers('float32', [], [f]);
  const fs = attr<number[]>(node, 'value_floats');
  if (fs) return fromNumbers('float32', [fs.length], fs);
  const i = attr<number>(node, 'value_int');
  if (i !== undefined) return fromNumbers('int64', [], [i]);
  const is = attr<number[]>(node, 'value_ints');
  if (is) return fromNumbers('int64', [is.length], is);
  throw new Error(`Constant ${node.name}: only tensor, float(s) and int(s) values are supported`);
}

function constantOfShapeValue(node: Node): HostTensor {
  const value = attr<HostTensor>(node, 'value') ?? fromNumbers('float32', [1], [0]);
  if (value.data.length !== 1) throw new Error(`ConstantOfShape ${node.name}: value has ${value.data.length} elements, expected 1`);
  return value;
}

function constantOfShape(node: Node, out: TensorMeta): HostTensor {
  const t = hostEmpty(out.type, out.dims);
  const v = rawElements(constantOfShapeValue(node))[0];
  const data = rawElements(t);
  for (let i = 0; i < data.length; i++) data[i] = v;
  return t;
}

/** Range's start and delta, and its length, which is checked before any element is made. */
function rangeParams(node: Node, host: Hosts): { start: number; delta: number; n: number } {
  const [start, limit, delta] = [0, 1, 2].map((i) => numbers(requireHost(node, host, i))[0]!) as [number, number, number];
  if (delta === 0) throw new Error(`Range ${node.name}: delta is 0`);
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  if (!Number.isSafeInteger(n)) throw new Error(`Range ${node.name}: start ${start}, limit ${limit}, delta ${delta} give ${n} elements`);
  return { start, delta, n };
}

function range(node: Node, out: TensorMeta, host: Hosts): HostTensor {
  const { start, delta, n } = rangeParams(node, host);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = start + i * delta;
  return fromNumbers(out.type, out.dims, values);
}

registerOp('Identity', viewOp((_, d) => [...d]));
registerOp('Reshape', viewOp(reshapeDims, [1]));
registerOp('Squeeze', viewOp(squeezeDims, [1]));
registerOp('Unsqueeze', viewOp(unsqueezeDims, [1]));
registerOp('Flatten', viewOp(flattenDims));
registerOp('Shape', smallHostOp((node, metas) => {
  const dims = shapeOf(node, metas[0]!.dims);
  return fromNumbers('int64', [dims.length], dims);
}, true));
registerOp('Constant', smallHostOp(constantValue));
registerOp('ConstantOfShape', hostOp(
  (node, _, host) => ({ type: constantOfShapeValue(node).type, dims: numbers(requireHost(node, host, 0)) }),
  (node, out) => constantOfShape(node, out),
  [0],
));
registerOp('Range', hostOp((node, _, host) => ({ type: requireHost(node, host, 0).type, dims: [rangeParams(node, host).n] }), (node, out, _, host) => range(node, out, host), [0, 1, 2]));
