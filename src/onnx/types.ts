// The ONNX model as plain TS data: what parseModel returns and encodeModel takes. Field names follow
// onnx.proto in camelCase; optional fields are present only when the file has them.
import type { ExternalDataReader } from './external.js';

/** TensorProto.DataType. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
  FLOAT8E8M0: 24,
  UINT2: 25,
  INT2: 26,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

export type OnnxTypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

type TypedArrayConstructor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

/** The TensorProto field that holds a type's values when raw_data is not used. */
export type DataField = 'floatData' | 'int32Data' | 'int64Data' | 'doubleData' | 'uint64Data' | 'stringData';

export interface DataTypeInfo {
  name: string;
  /** Bits per element in raw_data (4 and 2 for the packed sub-byte types). */
  bits: number;
  /** The typed array a tensor of this type is read as (f16/bf16 as Uint16Array bits, complex as pairs). */
  array: TypedArrayConstructor;
  field: DataField;
}

const INFO: (DataTypeInfo | undefined)[] = [];
function def(type: DataType, bits: number, array: TypedArrayConstructor, field: DataField): void {
  const name = Object.keys(DataType).find((k) => DataType[k as keyof typeof DataType] === type)!;
  INFO[type] = { name, bits, array, field };
}
def(DataType.FLOAT, 32, Float32Array, 'floatData');
def(DataType.UINT8, 8, Uint8Array, 'int32Data');
def(DataType.INT8, 8, Int8Array, 'int32Data');
def(DataType.UINT16, 16, Uint16Array, 'int32Data');
def(DataType.INT16, 16, Int16Array, 'int32Data');
def(DataType.INT32, 32, Int32Array, 'int32Data');
def(DataType.INT64, 64, BigInt64Array, 'int64Data');
def(DataType.STRING, 0, Uint8Array, 'stringData');
def(DataType.BOOL, 8, Uint8Array, 'int32Data');
def(DataType.FLOAT16, 16, Uint16Array, 'int32Data');
def(DataType.DOUBLE, 64, Float64Array, 'doubleData');
def(DataType.UINT32, 32, Uint32Array, 'uint64Data');
def(DataType.UINT64, 64, BigUint64Array, 'uint64Data');
def(DataType.COMPLEX64, 64, Float32Array, 'floatData');
def(DataType.COMPLEX128, 128, Float64Array, 'doubleData');
def(DataType.BFLOAT16, 16, Uint16Array, 'int32Data');
for (const t of [DataType.FLOAT8E4M3FN, DataType.FLOAT8E4M3FNUZ, DataType.FLOAT8E5M2, DataType.FLOAT8E5M2FNUZ, DataType.FLOAT8E8M0]) {
  def(t, 8, Uint8Array, 'int32Data');
}
for (const t of [DataType.UINT4, DataType.INT4, DataType.FLOAT4E2M1]) def(t, 4, Uint8Array, 'int32Data');
for (const t of [DataType.UINT2, DataType.INT2]) def(t, 2, Uint8Array, 'int32Data');

/** Storage facts of a data type; undefined for UNDEFINED and unknown codes. */
export function dataTypeInfo(type: number): DataTypeInfo | undefined {
  return INFO[type];
}

export function dataTypeName(type: number): string {
  return INFO[type]?.name ?? (type === 0 ? 'UNDEFINED' : `unknown data type ${type}`);
}

/** Bytes of `count` elements in raw_data (sub-byte types are packed, the last byte padded). */
export function byteLengthOf(type: DataType, count: number): number {
  const info = dataTypeInfo(type);
  if (!info || info.bits === 0) throw new TypeError(`${dataTypeName(type)} tensors have no fixed byte size`);
  return info.bits >= 8 ? count * (info.bits / 8) : Math.ceil((count * info.bits) / 8);
}

export interface OnnxExternalData {
  /** File path relative to the model's directory (or URL relative to the model's URL). */
  location: string;
  offset: number;
  /** Absent in the file means "to the end of the file"; the reader then uses the size given by the dims. */
  length?: number;
  checksum?: string;
}

/**
 * A TensorProto. At most one of the data fields is present. `rawData` is a view into the parsed bytes
 * (never copied): keep the model's buffer alive while you use it, and drop both after upload.
 */
export interface OnnxTensor {
  name: string;
  dataType: DataType;
  dims: number[];
  rawData?: Uint8Array;
  floatData?: Float32Array;
  /** Also holds INT8/16, UINT8/16, BOOL, FLOAT16/BFLOAT16 bits, FLOAT8 bytes and packed 4/2-bit bytes. */
  int32Data?: Int32Array;
  int64Data?: BigInt64Array;
  doubleData?: Float64Array;
  uint64Data?: BigUint64Array;
  stringData?: Uint8Array[];
  /** Set when data_location is EXTERNAL. */
  external?: OnnxExternalData;
  docString?: string;
}

/** A dimension: a size, a symbolic name (dim_param), or null when neither is known. */
export type OnnxDim = number | string | null;

export type OnnxType =
  /** `shape` undefined means the rank is unknown. elemType 0 means unknown. */
  | { kind: 'tensor'; elemType: DataType; shape?: OnnxDim[] }
  /** Sequence, map, optional and sparse types, kept as their encoded TypeProto. */
  | { kind: 'other'; bytes: Uint8Array };

export interface OnnxValueInfo {
  name: string;
  type?: OnnxType;
  docString?: string;
}

/** Attribute values; INT/INTS are bigint because int64 sentinels (INT64_MAX) do not survive a number. */
export type OnnxAttributeValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: bigint }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: OnnxTensor }
  | { type: 'graph'; value: OnnxGraph }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: bigint[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensors'; value: OnnxTensor[] }
  | { type: 'graphs'; value: OnnxGraph[] };

export type OnnxAttributeType = OnnxAttributeValue['type'];

export type OnnxAttribute = OnnxAttributeValue & { name: string; docString?: string };

export interface OnnxNode {
  name: string;
  opType: string;
  /** '' is the default ONNX domain (ai.onnx). */
  domain: string;
  /** '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
  docString?: string;
  /** Fields this reader does not model, kept verbatim so a rewrite preserves them. */
  unknownFields?: Uint8Array[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
  docString?: string;
  unknownFields?: Uint8Array[];
}

export interface OnnxOpsetImport {
  domain: string;
  version: number;
}

export interface OnnxModel {
  irVersion: number;
  opsetImports: OnnxOpsetImport[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString?: string;
  graph: OnnxGraph;
  metadataProps: { key: string; value: string }[];
  /** Model-local functions, training info and newer fields, kept verbatim. */
  unknownFields?: Uint8Array[];
  /** Set by loadOnnx: where tensors with `external` data are read from. Not part of the file. */
  externalData?: ExternalDataReader;
}
