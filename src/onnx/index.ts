export { parseModel, parseTensor } from './decode.js';
export { encodeModel, encodeTensor } from './encode.js';
export { FetchBytesError, fetchBytes } from './fetch-bytes.js';
export type { FetchBytesOptions } from './fetch-bytes.js';
export { loadOnnx } from './load.js';
export type { LoadOnnxOptions } from './load.js';
export { memoryReader, nodeFileReader, urlReader } from './external.js';
export type { ExternalDataReader } from './external.js';
export {
  readTensorArray,
  readTensorBytes,
  tensorByteLength,
  tensorBytes,
  tensorElementCount,
  tensorToTypedArray,
  typedArrayFromBytes,
} from './tensor.js';
export { attr, getAttribute, makeGraph, makeModel, makeNode, makeSingleNodeModel, makeTensor, makeValueInfo } from './builder.js';
export { f16BitsToF32, f16ToF32Array, f32ToF16Array, f32ToF16Bits } from './float16.js';
export { byteLengthOf, DataType, dataTypeInfo, dataTypeName } from './types.js';
export type {
  DataField,
  DataTypeInfo,
  OnnxAttribute,
  OnnxAttributeType,
  OnnxAttributeValue,
  OnnxDim,
  OnnxExternalData,
  OnnxGraph,
  OnnxModel,
  OnnxNode,
  OnnxOpsetImport,
  OnnxTensor,
  OnnxType,
  OnnxTypedArray,
  OnnxValueInfo,
} from './types.js';
export { OnnxFormatError, OnnxLoadError } from './errors.js';
export type { OnnxErrorLocation } from './errors.js';
