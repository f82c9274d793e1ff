// Helpers of the shape and movement ops' CPU evaluation: type-generic element copies, host inputs, axes, and
// writing a host-known result into a node's GPU output.
import { numel } from '../../gpu/index.js';
import { toDeviceWords } from '../convert.js';
import type { Node } from '../ir.js';
import { toNumbers } from './hostnum.js';
import { type ElemType, type HostData, type HostTensor } from '../tensor.js';
import type { DeviceTensor, RunEnv } from './op.js';

type Ctor = new (n: number) => HostData;
const CTORS: Record<ElemType, Ctor> = {
  float32: Float32Array, float16: Uint16Array, float64: Float64Array, int8: Int8Array, int16: Int16Array, int32: Int32Array,
  int64: BigInt64Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array, bool: Uint8Array,
};

/** A zero-filled host tensor. */
export function hostEmpty(type: ElemType, dims: readonly number[]): HostTensor {
  return { type, dims, data: new CTORS[type](numel(dims)) };
}

/** Raw element access for type-generic copies: values keep their representation (bigint, float16 bits). */
export function rawElements(t: HostTensor): { [i: number]: unknown; readonly length: number } {
  return t.data as unknown as { [i: number]: unknown; readonly length: number };
}

/** Records writing host data into `out`, ordered with the step's other work. */
export function recordHostUpload(env: RunEnv, t: HostTensor, out: DeviceTensor): void {
  env.step.write(out.buffer, toDeviceWords(t, `${out.type} output [${out.shape}]`));
}

/** Input i's host data, which the op needs to know its output shape. */
export function requireHost(node: Node, host: readonly (HostTensor | undefined)[], i: number): HostTensor {
  const t = host[i];
  if (!t) throw new Error(`${node.op} ${node.name}: input ${i} (${node.inputs[i]?.name ?? 'missing'}) must be known on the host`);
  return t;
}

/** An axis in [-rank, rank) made non-negative. */
export function normAxis(node: Node, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new Error(`${node.op} ${node.name}: axis ${axis} is outside rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

/** A host tensor's values as plain numbers (int64 through Number). */
export function numbers(t: HostTensor): number[] {
  return Array.from(toNumbers(t));
}
