// Elementwise ops composed from the generic kernels of elementwise.ts: Clip (Max, then Min, against the bounds),
// Mean (Sum, then a scale by 1/n through op_unary), CastLike (Cast to the second input's type) and Dropout at
// inference (the identity, with an all-true mask).
import { numel, type GpuTensor } from '../../gpu/index.js';
import { UnsupportedOpError } from '../errors.js';
import { attr, type Node } from '../ir.js';
import { deviceType, isFloat, type ElemType, type HostTensor } from '../tensor.js';
import { toDeviceWords } from '../convert.js';
import { fromNumbers, toNumbers } from './hostnum.js';
import { recordBinary } from '../../kernels/op_binary.js';
import { recordUnary } from '../../kernels/op_unary.js';
import { typeAt, typesOf } from './elementwise.js';
import { numbers } from './host-data.js';
import { OPS, registerOp, type RunEnv } from './op.js';

/** Codes of op_binary.wgsl (BINARY in elementwise.ts) and op_unary.wgsl used here. */
const MAX = 5;
const MIN = 6;
const SCALE = 39;

/** A one-element device tensor holding `v` as `type`, written in this step. */
function scalar(env: RunEnv, type: ElemType, v: number, label: string): GpuTensor {
  const buffer = env.step.temp(4, label);
  env.step.write(buffer, toDeviceWords(fromNumbers(type, [], [v]), label));
  return { buffer, shape: [], dtype: deviceType(type) };
}

/** Clip's bounds with the binary op each applies: inputs 1 and 2 from opset 11, the min/max attributes before. */
function clipSteps(env: RunEnv, node: Node, type: ElemType, inputs: readonly (GpuTensor | undefined)[]): [GpuTensor, number][] {
  const steps: [GpuTensor, number][] = [];
  (['min', 'max'] as const).forEach((name, k) => {
    const legacy = attr<number>(node, name);
    const t = inputs[k] ?? (legacy !== undefined ? scalar(env, type, legacy, `${node.name} ${name}`) : undefined);
    if (!t) return;
    if (numel(t.shape) !== 1) throw new Error(`Clip ${node.name}: ${name} has shape [${t.shape}], a scalar was expected`);
    steps.push([t, k === 0 ? MAX : MIN]);
  });
  return steps;
}

registerOp('Clip', {
  infer: (_node, [x]) => [{ type: x!.type, dims: x!.dims }],
  host: (node, [x, lo, hi]) => {
    const bound = (t: HostTensor | undefined, name: string, none: number) => (t ? toNumbers(t)[0]! : attr<number>(node, name, none));
    const [a, b] = [bound(lo, 'min', -Infinity), bound(hi, 'max', Infinity)];
    return [fromNumbers(x!.type, x!.dims, toNumbers(x!).map((e) => Math.min(Math.max(e, a), b)))];
  },
  record: (env, node, [x, lo, hi], [y]) => {
    const bytes = numel(y!.shape) * 4;
    const steps = clipSteps(env, node, x!.type, [lo, hi]);
    if (bytes === 0) return;
    if (steps.length === 0) {
      env.step.copy(x!.buffer, y!.buffer, bytes);
      return;
    }
    let acc: GpuTensor = x!;
    steps.forEach(([bound, op], k) => {
      const dst = k === steps.length - 1 ? y! : { ...y!, buffer: env.step.temp(bytes, `${node.name} clipped below`) };
      recordBinary(env.ctx, env.step, { op, aType: x!.type, bType: x!.type, outType: x!.type }, acc, bound, dst);
      acc = dst;
    });
  },
});

const sum = OPS.get(':Sum')!;

registerOp('Mean', {
  infer: (node, inputs) => {
    const [y] = sum.infer(node, inputs, []);
    if (!isFloat(y!.type)) throw new UnsupportedOpError(node, `(domain ai.onnx): input type ${y!.type} is not supported: Mean takes float tensors`);
    return [y!];
  },
  host: (node, inputs, metas) => {
    const [s] = sum.host!(node, inputs, metas);
    return [fromNumbers(s!.type, s!.dims, toNumbers(s!).map((v) => v / inputs.length))];
  },
  record: (env, node, inputs, [y], host) => {
    const total = { ...y!, buffer: env.step.temp(Math.max(4, numel(y!.shape) * 4), `${node.name} sum`) };
    sum.record!(env, node, inputs, [total], host);
    recordUnary(env.ctx, env.step, { op: SCALE, inType: y!.type, outType: y!.type, alpha: 1 / inputs.length }, total, y!);
  },
});

registerOp('CastLike', {
  infer: (node, [x, like]) => [{ type: typeAt(node, typesOf([like]), 0), dims: x!.dims }],
  host: (_node, [x, like]) => [fromNumbers(like!.type, x!.dims, toNumbers(x!))],
  record: (env, node, [x, like], [y]) => recordUnary(env.ctx, env.step, { op: 0, inType: typeAt(node, typesOf([x]), 0), outType: like!.type }, x!, y!),
});

/** Dropout draws a random mask only when training with a ratio above 0; at inference it is the identity. */
function checkInference(node: Node, host: readonly (HostTensor | undefined)[]): void {
  const training = node.inputs[2] ? numbers(host[2]!)[0] !== 0 : false;
  const ratio = node.inputs[1] ? numbers(host[1]!)[0]! : attr<number>(node, 'ratio', 0.5);
  if (training && ratio !== 0) {
    throw new UnsupportedOpError(node, `(domain ai.onnx): input training_mode = true with ratio ${ratio} draws a random mask; only inference (or ratio 0) is supported`);
  }
}

registerOp('Dropout', {
  hostInputs: [1, 2],
  infer: (node, [x], host) => {
    checkInference(node, host);
    return [{ type: x!.type, dims: x!.dims }, { type: 'bool', dims: x!.dims }];
  },
  host: (_node, [x], metas) => [x!, fromNumbers('bool', metas[0]!.dims, new Array<number>(numel(metas[0]!.dims)).fill(1))],
  record: (env, _node, [x], [y, mask]) => {
    const n = numel(x!.shape);
    if (n === 0) return;
    env.step.copy(x!.buffer, y!.buffer, n * 4);
    if (mask) env.step.write(mask.buffer, new Uint32Array(n).fill(1));
  },
});
