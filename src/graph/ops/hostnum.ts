// Host tensors of any element type as float64 numbers and back, so CPU evaluation (constant folding, shape
// arithmetic) is written once for every type. int64 beyond 2^53 loses precision but saturates rather than
// wrapping, so sentinels such as INT64_MAX (Slice ends) survive a round trip.
import { f16BitsToF32, f32ToF16Bits } from '../../onnx/float16.js';
import type { ElemType, HostTensor } from '../tensor.js';

export function toNumbers(t: HostTensor): Float64Array {
  const d = t.data;
  if (t.type === 'float16') return Float64Array.from(d as Uint16Array, f16BitsToF32);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, Number);
  return Float64Array.from(d as ArrayLike<number>);
}

const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);

function toInt64(x: number): bigint {
  if (Number.isNaN(x)) return 0n;
  if (x >= 2 ** 63) return I64_MAX;
  if (x <= -(2 ** 63)) return I64_MIN;
  return BigInt(Math.trunc(x));
}

/** Fills a 64-bit array element by element: no intermediate array of bigints as large as the tensor. */
function bigInts<T extends BigInt64Array | BigUint64Array>(out: T, v: ArrayLike<number>, f: (x: number) => bigint): T {
  for (let i = 0; i < v.length; i++) out[i] = f(v[i]!);
  return out;
}

/** Numbers as a tensor of `type`: floats round (float16 to nearest even), integers truncate toward zero as ONNX Cast does. */
export function fromNumbers(type: ElemType, dims: readonly number[], v: ArrayLike<number>): HostTensor {
  const ints = (x: number) => (Number.isFinite(x) ? Math.trunc(x) : 0);
  let data: HostTensor['data'];
  switch (type) {
    case 'float32': data = Float32Array.from(v); break;
    case 'float64': data = Float64Array.from(v); break;
    case 'float16': data = Uint16Array.from(v, f32ToF16Bits); break;
    case 'bool': data = Uint8Array.from(v, (x) => (x !== 0 ? 1 : 0)); break;
    case 'int64': data = bigInts(new BigInt64Array(v.length), v, toInt64); break;
    case 'uint64': data = bigInts(new BigUint64Array(v.length), v, (x) => BigInt.asUintN(64, toInt64(x))); break;
    case 'int32': data = Int32Array.from(v, ints); break;
    case 'int16': data = Int16Array.from(v, ints); break;
    case 'int8': data = Int8Array.from(v, ints); break;
    case 'uint32': data = Uint32Array.from(v, ints); break;
    case 'uint16': data = Uint16Array.from(v, ints); break;
    case 'uint8': data = Uint8Array.from(v, ints); break;
  }
  return { type, dims: [...dims], data };
}
