// Tensor data access. rawData is handed out as is (upload it with writeBuffer: any byte offset works);
// typed-array views are zero-copy when the raw bytes are aligned for the element type (always for 1-byte
// types; 4-byte alignment covers all others but INT64/UINT64/DOUBLE/COMPLEX128, which need 8), else one
// aligned copy per tensor is made on first use and cached.
import { OnnxLoadError } from './errors.js';
import type { ExternalDataReader } from './external.js';
import { byteLengthOf, dataTypeInfo, dataTypeName, type DataType, type OnnxTensor, type OnnxTypedArray } from './types.js';

export function tensorElementCount(tensor: OnnxTensor): number {
  return tensor.dims.reduce((n, d) => n * d, 1);
}

export function tensorByteLength(tensor: OnnxTensor): number {
  return byteLengthOf(tensor.dataType, tensorElementCount(tensor));
}

/**
 * Reads little-endian tensor bytes as the data type's typed array (see DataTypeInfo.array): a view when
 * `bytes` is aligned, else a copy.
 */
export function typedArrayFromBytes(dataType: DataType, bytes: Uint8Array): OnnxTypedArray {
  const info = dataTypeInfo(dataType);
  if (!info || info.bits === 0) throw new TypeError(`${dataTypeName(dataType)} data has no typed array form`);
  const Ctor = info.array;
  const width = Ctor.BYTES_PER_ELEMENT;
  if (bytes.length % width !== 0) throw new TypeError(`${bytes.length} bytes are not a whole number of ${info.name} values`);
  const aligned = bytes.byteOffset % width === 0 ? bytes : new Uint8Array(bytes);
  return new Ctor(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.length / width);
}

const converted = new WeakMap<OnnxTensor, OnnxTypedArray>();

/**
 * The tensor's values as a typed array: FLOAT16/BFLOAT16 as Uint16Array bits, BOOL/FLOAT8 as Uint8Array,
 * 4- and 2-bit types as their packed bytes, COMPLEX as interleaved (re, im). Do not mutate the result: it may
 * alias the model's bytes or be cached.
 */
export function tensorToTypedArray(tensor: OnnxTensor): OnnxTypedArray {
  if (tensor.external) {
    throw new TypeError(`tensor "${tensor.name}" is stored in external file "${tensor.external.location}": use readTensorArray`);
  }
  const info = dataTypeInfo(tensor.dataType);
  if (!info || info.bits === 0) throw new TypeError(`tensor "${tensor.name}" is ${dataTypeName(tensor.dataType)}: read stringData`);
  const cached = converted.get(tensor);
  if (cached) return cached;
  let out: OnnxTypedArray;
  if (tensor.rawData) {
    out = typedArrayFromBytes(tensor.dataType, tensor.rawData);
    if (out.buffer === tensor.rawData.buffer) return out;
  } else {
    const values = tensor.floatData ?? tensor.int32Data ?? tensor.int64Data ?? tensor.doubleData ?? tensor.uint64Data;
    if (!values) return new info.array(0);
    if (values instanceof info.array) return values;
    // int32_data holds the narrower integer types and f16/bf16 bits; uint64_data holds UINT32.
    out =
      values instanceof BigUint64Array
        ? Uint32Array.from(values, Number)
        : (info.array as Int32ArrayConstructor).from(values as Int32Array);
  }
  converted.set(tensor, out);
  return out;
}

/** The tensor's little-endian bytes, ready to upload: rawData itself when present, else a conversion. */
export function tensorBytes(tensor: OnnxTensor): Uint8Array {
  if (tensor.rawData) return tensor.rawData;
  const values = tensorToTypedArray(tensor);
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Like tensorBytes, but also reads tensors stored in external files through `reader` (one range read each). */
export async function readTensorBytes(tensor: OnnxTensor, reader?: ExternalDataReader, signal?: AbortSignal): Promise<Uint8Array> {
  const ext = tensor.external;
  if (!ext) return tensorBytes(tensor);
  if (!reader) {
    throw new OnnxLoadError(ext.location, `tensor "${tensor.name}" is stored in this external file but no external data reader was given (a model read from memory needs one)`);
  }
  const length = tensorByteLength(tensor);
  const bytes = await reader(ext.location, ext.offset, length, signal);
  if (bytes.length !== length) {
    throw new OnnxLoadError(ext.location, `reader returned ${bytes.length} bytes for "${tensor.name}", expected ${length}`);
  }
  return bytes;
}

/** readTensorBytes as the data type's typed array. */
export async function readTensorArray(tensor: OnnxTensor, reader?: ExternalDataReader, signal?: AbortSignal): Promise<OnnxTypedArray> {
  if (!tensor.external) return tensorToTypedArray(tensor);
  return typedArrayFromBytes(tensor.dataType, await readTensorBytes(tensor, reader, signal));
}
