// MaxPool (with its Indices output), AveragePool, LpPool and their Global forms through op_pool; ONNX's auto_pad
// modes resolved to explicit pads, ceil_mode, dilations and count_include_pad as the spec defines them.
import { POOL_MAX_DIMS, poolOutputShape, recordPool, type PoolOptions } from '../../kernels/op_pool.js';
import { UnsupportedOpError } from '../errors.js';
import { attr, type Node } from '../ir.js';
import { isFloat, type ElemType } from '../tensor.js';
import { choiceAttr, unsupportedAttr } from './attr-values.js';
import { registerOp, type TensorMeta } from './op.js';

type Mode = PoolOptions['mode'];

/** Integer types whose values f32 holds exactly: MaxPool takes them too. */
const SMALL_INTS: readonly ElemType[] = ['int8', 'uint8', 'int16', 'uint16'];

function spatialOf(node: Node, x: TensorMeta | undefined): number[] {
  const ok = x && (isFloat(x.type) || (node.op === 'MaxPool' && SMALL_INTS.includes(x.type)));
  if (!ok) throw new UnsupportedOpError(node, `(domain ai.onnx): input type ${x?.type ?? 'missing'} is not supported: pooling takes float tensors (MaxPool also 8/16-bit integers)`);
  const k = x.dims.length - 2;
  if (k < 1 || k > POOL_MAX_DIMS) throw new UnsupportedOpError(node, `(domain ai.onnx): input [${x.dims}] has ${k} spatial dims; 1 to ${POOL_MAX_DIMS} are supported`);
  return x.dims.slice(2);
}

function options(node: Node, mode: Mode, x: TensorMeta | undefined, global: boolean): PoolOptions {
  const spatial = spatialOf(node, x);
  const k = spatial.length;
  const ones = spatial.map(() => 1);
  const p = attr<number>(node, 'p', 2);
  if (global) {
    return { mode, kernel: spatial, strides: ones, dilations: ones, padsBegin: ones.map(() => 0), padsEnd: ones.map(() => 0), ceilMode: false, countPad: false, p, columnMajor: false };
  }
  const kernel = attr<number[]>(node, 'kernel_shape');
  if (!kernel || kernel.length !== k) throw new Error(`${node.op} ${node.name}: kernel_shape [${kernel ?? ''}] does not fit ${k} spatial dims`);
  const strides = attr<number[]>(node, 'strides') ?? ones;
  const dilations = attr<number[]>(node, 'dilations') ?? ones;
  const ceilMode = attr<number>(node, 'ceil_mode', 0) !== 0;
  const storage = attr<number>(node, 'storage_order', 0);
  if (storage !== 0 && storage !== 1) throw unsupportedAttr(node, 'storage_order', storage, 'expected 0 or 1');
  const base = { mode, kernel, strides, dilations, ceilMode, countPad: attr<number>(node, 'count_include_pad', 0) !== 0, p, columnMajor: storage === 1 };
  const autoPad = choiceAttr(node, 'auto_pad', ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID']);
  if (autoPad === 'NOTSET') {
    const pads = attr<number[]>(node, 'pads') ?? [...ones, ...ones].map(() => 0);
    if (pads.length !== 2 * k) throw new Error(`${node.op} ${node.name}: pads [${pads}] do not fit ${k} spatial dims`);
    return { ...base, padsBegin: pads.slice(0, k), padsEnd: pads.slice(k) };
  }
  if (autoPad === 'VALID') return { ...base, padsBegin: ones.map(() => 0), padsEnd: ones.map(() => 0) };
  // SAME: output = ceil(input / stride); the odd pad goes at the end (UPPER) or the start (LOWER).
  const totals = spatial.map((size, i) => Math.max(0, (Math.ceil(size / strides[i]!) - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - size));
  const small = totals.map((t) => Math.floor(t / 2));
  const large = totals.map((t, i) => t - small[i]!);
  return autoPad === 'SAME_UPPER' ? { ...base, padsBegin: small, padsEnd: large } : { ...base, padsBegin: large, padsEnd: small };
}

function poolOp(mode: Mode, global: boolean): void {
  const name = `${global ? 'Global' : ''}${{ max: 'Max', average: 'Average', lp: 'Lp' }[mode]}Pool`;
  registerOp(name, {
    infer: (node, [x]) => {
      const dims = poolOutputShape(x!.dims, options(node, mode, x, global));
      return [{ type: x!.type, dims }, ...(mode === 'max' ? [{ type: 'int64' as const, dims }] : [])];
    },
    record: (env, node, [x], [y, indices]) => recordPool(env.ctx, env.step, x!, y!, indices, options(node, mode, { type: x!.type, dims: x!.shape }, global)),
  });
}

for (const mode of ['max', 'average', 'lp'] as const) {
  poolOp(mode, false);
  poolOp(mode, true);
}
