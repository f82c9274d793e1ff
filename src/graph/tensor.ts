// Host tensors (CPU side) and how each ONNX element type is stored on the GPU.
// WebGPU has no 64-bit integers or (on many adapters) f16: int64 is held as i32 (range-checked when it crosses
// to the GPU), f16/f64 as f32, bool and 8/16-bit integers widened to 32 bits.
import type { DType } from '../gpu/index.js';

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
