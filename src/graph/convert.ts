// Moving tensors between host types and 32-bit GPU storage (see tensor.ts for the mapping).
import { numel, type GpuContext } from '../gpu/index.js';
import { FeedError } from './errors.js';
import type { DeviceTensor } from './ops/op.js';
import { deviceType, type ElemType, type HostData, type HostTensor } from './tensor.js';
import { f16BitsToF32, f32ToF16Bits } from '../onnx/float16.js';

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

/** The 32-bit words a host tensor is stored as on the GPU. `what` names the tensor in errors. */
export function toDeviceWords(t: HostTensor, what: string): Float32Array | Int32Array | Uint32Array {
  const n = numel(t.dims);
  const d = t.data;
  switch (deviceType(t.type)) {
    case 'f32':
      if (d instanceof Float32Array) return d;
      if (t.type === 'float16') return Float32Array.from(d as Uint16Array, f16BitsToF32);
      return Float32Array.from(d as Float64Array);
    case 'u32': {
      if (d instanceof Uint32Array) return d;
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = t.type === 'bool' ? (Number(d[i]!) ? 1 : 0) : checkedU32(Number(d[i]!), what);
      return out;
    }
    case 'i32': {
      if (d instanceof Int32Array) return d;
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = Number(d[i]!);
        if (v < I32_MIN || v > I32_MAX) throw new FeedError(`${what}: value ${d[i]} at index ${i} does not fit the GPU's 32-bit integers`);
        out[i] = v;
      }
      return out;
    }
  }
}

function checkedU32(v: number, what: string): number {
  if (v < 0 || v > 0xffffffff) throw new FeedError(`${what}: value ${v} does not fit the GPU's 32-bit unsigned integers`);
  return v;
}

export function uploadHost(ctx: GpuContext, t: HostTensor, what: string): DeviceTensor {
  const words = toDeviceWords(t, what);
  return { buffer: ctx.buffers.upload(words, what), shape: t.dims, dtype: deviceType(t.type), type: t.type };
}

/** Turns read-back 32-bit words into host data of the given ONNX type. */
export function fromDeviceWords(bytes: ArrayBuffer, type: ElemType, dims: readonly number[]): HostTensor {
  const n = numel(dims);
  const f = new Float32Array(bytes, 0, n);
  const i = new Int32Array(bytes, 0, n);
  const u = new Uint32Array(bytes, 0, n);
  let data: HostData;
  switch (type) {
    case 'float32': data = f.slice(); break;
    case 'float16': data = Uint16Array.from(f, f32ToF16Bits); break;
    case 'float64': data = Float64Array.from(f); break;
    case 'int64': data = BigInt64Array.from(i, (v) => BigInt(v)); break;
    case 'uint64': data = BigUint64Array.from(u, (v) => BigInt(v)); break;
    case 'int32': data = i.slice(); break;
    case 'uint32': data = u.slice(); break;
    case 'int8': data = Int8Array.from(i); break;
    case 'int16': data = Int16Array.from(i); break;
    case 'uint8': data = Uint8Array.from(i); break;
    case 'uint16': data = Uint16Array.from(i); break;
    case 'bool': data = Uint8Array.from(u, (v) => (v ? 1 : 0)); break;
  }
  return { type, dims, data };
}
