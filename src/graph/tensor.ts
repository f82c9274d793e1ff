// Host tensors (CPU side), how each ONNX element type is stored on the GPU, and the size limits every tensor is
// checked against before it is allocated.
// WebGPU has no 64-bit integers or (on many adapters) f16: int64 is held as i32 (range-checked when it crosses
// to the GPU), f16/f64 as f32, bool and 8/16-bit integers widened to 32 bits.
import { numel, type DType } from '../gpu/index.js';
import { ShapeError, TensorSizeError } from './errors.js';
import type { Node } from './ir.js';

export type ElemType =
  | 'float32'
  | 'float16'
  | 'float64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool';

/** ElemType of each ONNX TensorProto data type code the runtime holds. */
export const ONNX_ELEM_TYPES: Readonly<Record<number, ElemType>> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64',
};

export type HostData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array | Uint16Array | Uint32Array | BigUint64Array;

export interface HostTensor {
  readonly type: ElemType;
  readonly dims: readonly number[];
  /** float16 data is held as raw Uint16Array bits. */
  readonly data: HostData;
}

export function deviceType(t: ElemType): DType {
  if (t === 'float32' || t === 'float16' || t === 'float64') return 'f32';
  if (t === 'uint32' || t === 'bool') return 'u32';
  return 'i32';
}

export function isFloat(t: ElemType): boolean {
  return t === 'float32' || t === 'float16' || t === 'float64';
}

const HOST_BYTES: Readonly<Record<ElemType, number>> = {
  float32: 4, float16: 2, float64: 8, int8: 1, int16: 2, int32: 4, int64: 8, uint8: 1, uint16: 2, uint32: 4, uint64: 8, bool: 1,
};

/** A cap on the bytes one tensor may take somewhere, with how many bytes an element of each type takes there. */
export interface SizeLimit {
  /** Named in errors, e.g. "the host limit". */
  readonly name: string;
  readonly bytes: number;
  bytesPerElement(type: ElemType): number;
}

const GIB = 2 ** 30;

/**
 * Host-evaluated tensors (shape arithmetic, constant folding, ConstantOfShape/Range results uploaded to the GPU)
 * are computed through float64 working copies, so one tensor costs a few times its own size while it is made.
 * In Node the cap is an eighth of the machine's memory, at most 1 GiB: no shape arithmetic comes near it, and a
 * result that large belongs on the GPU. Browsers expose no reliable memory size (navigator.deviceMemory is coarse
 * and Chromium-only) and give a tab a few GiB of heap, so there it is a fixed 256 MiB.
 */
function hostMaxBytes(): number {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const os = proc?.getBuiltinModule?.('node:os') as { totalmem(): number } | undefined;
  return os ? Math.min(os.totalmem() / 8, GIB) : GIB / 4;
}

export const HOST_LIMIT: SizeLimit = { name: 'the host limit', bytes: hostMaxBytes(), bytesPerElement: (t) => HOST_BYTES[t] };

/**
 * Constant folding materialises a result on the host and keeps it there (and uploads it as a weight), so it is
 * capped well below the host limit: a larger result is left in the graph for the GPU to compute per run.
 */
export const FOLD_LIMIT: SizeLimit = { name: 'the constant-folding limit', bytes: 16 * 2 ** 20, bytesPerElement: (t) => HOST_BYTES[t] };

/** GPU tensors hold one 32-bit word per element and must fit one buffer and one storage binding of the device. */
export function gpuLimit(limits: { readonly maxBufferSize: number; readonly maxStorageBufferBindingSize: number }): SizeLimit {
  return { name: "the GPU's largest storage buffer", bytes: Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize), bytesPerElement: () => 4 };
}

/** Throws a ShapeError naming `node` and `what` unless every dim is a non-negative integer. */
export function checkDims(node: Node | undefined, what: string, dims: readonly number[]): void {
  if (!dims.every((d) => Number.isInteger(d) && d >= 0)) throw new ShapeError(node, `${what} would have shape [${dims}], whose dims are not all non-negative integers`);
}

/** Whether a tensor of `type` and `dims` fits `limit`. */
export function fits(type: ElemType, dims: readonly number[], limit: SizeLimit): boolean {
  return numel(dims) * limit.bytesPerElement(type) <= limit.bytes;
}

/** Checks a tensor's shape and size against `limit` before anything of it is allocated. */
export function checkSize(node: Node | undefined, what: string, type: ElemType, dims: readonly number[], limit: SizeLimit): void {
  checkDims(node, what, dims);
  if (fits(type, dims, limit)) return;
  const elements = numel(dims);
  throw new TensorSizeError(node, what, dims, elements, elements * limit.bytesPerElement(type), limit.bytes, limit.name);
}
