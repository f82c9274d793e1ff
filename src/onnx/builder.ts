// Small helpers to build models in TS (tests, benchmarks, the quantizer's rewritten nodes), and a typed
// attribute getter for the executor.
import { OnnxFormatError } from './errors.js';
import { f32ToF16Array } from './float16.js';
import {
  byteLengthOf,
  DataType,
  dataTypeName,
  type OnnxAttributeType,
  type OnnxAttributeValue,
  type OnnxDim,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxTypedArray,
  type OnnxValueInfo,
} from './types.js';

/** Attribute value constructors: `makeNode('Gemm', ..., { alpha: attr.float(0.5), transB: attr.int(1) })`. */
export const attr = {
  float: (value: number): OnnxAttributeValue => ({ type: 'float', value }),
  int: (value: number | bigint): OnnxAttributeValue => ({ type: 'int', value: BigInt(value) }),
  string: (value: string): OnnxAttributeValue => ({ type: 'string', value }),
  tensor: (value: OnnxTensor): OnnxAttributeValue => ({ type: 'tensor', value }),
  graph: (value: OnnxGraph): OnnxAttributeValue => ({ type: 'graph', value }),
  floats: (value: number[]): OnnxAttributeValue => ({ type: 'floats', value }),
  ints: (value: (number | bigint)[]): OnnxAttributeValue => ({ type: 'ints', value: value.map((v) => BigInt(v)) }),
  strings: (value: string[]): OnnxAttributeValue => ({ type: 'strings', value }),
  tensors: (value: OnnxTensor[]): OnnxAttributeValue => ({ type: 'tensors', value }),
  graphs: (value: OnnxGraph[]): OnnxAttributeValue => ({ type: 'graphs', value }),
};

/**
 * A tensor whose rawData views `data` (no copy). A typed array is taken as the tensor's storage (f16 as
 * Uint16Array bits, 4-bit types as packed bytes); a plain number list is converted (FLOAT16 from values).
 */
export function makeTensor(name: string, dataType: DataType, dims: number[], data: OnnxTypedArray | readonly number[]): OnnxTensor {
  let array: OnnxTypedArray;
  if (!ArrayBuffer.isView(data)) {
    switch (dataType) {
      case DataType.FLOAT16:
        array = f32ToF16Array(data);
        break;
      case DataType.INT64:
        array = BigInt64Array.from(data, (v) => BigInt(v));
        break;
      case DataType.UINT64:
        array = BigUint64Array.from(data, (v) => BigInt(v));
        break;
      case DataType.FLOAT:
        array = Float32Array.from(data);
        break;
      case DataType.DOUBLE:
        array = Float64Array.from(data);
        break;
      case DataType.INT32:
        array = Int32Array.from(data);
        break;
      case DataType.UINT32:
        array = Uint32Array.from(data);
        break;
      case DataType.INT16:
        array = Int16Array.from(data);
        break;
      case DataType.UINT16:
        array = Uint16Array.from(data);
        break;
      case DataType.INT8:
        array = Int8Array.from(data);
        break;
      case DataType.UINT8:
      case DataType.BOOL:
        array = Uint8Array.from(data);
        break;
      default:
        throw new TypeError(`makeTensor: pass ${dataTypeName(dataType)} data as a typed array of its bytes`);
    }
  } else array = data;
  const count = dims.reduce((n, d) => n * d, 1);
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  if (bytes.length !== byteLengthOf(dataType, count)) {
    const expected = byteLengthOf(dataType, count);
    throw new TypeError(`makeTensor "${name}": [${dims.join(', ')}] ${dataTypeName(dataType)} needs ${expected} bytes, got ${bytes.length}`);
  }
  return { name, dataType, dims: [...dims], rawData: bytes };
}

/** A tensor value info; `shape` entries are sizes, symbolic names, or null (unknown). */
export function makeValueInfo(name: string, elemType: DataType, shape?: OnnxDim[]): OnnxValueInfo {
  return { name, type: shape ? { kind: 'tensor', elemType, shape: [...shape] } : { kind: 'tensor', elemType } };
}

export function makeNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: Record<string, OnnxAttributeValue> = {},
  options: { name?: string; domain?: string } = {},
): OnnxNode {
  return {
    name: options.name ?? '',
    opType,
    domain: options.domain ?? '',
    inputs: [...inputs],
    outputs: [...outputs],
    attributes: Object.entries(attributes).map(([name, value]) => ({ name, ...value })),
  };
}

export function makeGraph(parts: {
  name?: string;
  nodes: OnnxNode[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers?: OnnxTensor[];
  valueInfo?: OnnxValueInfo[];
}): OnnxGraph {
  return {
    name: parts.name ?? 'graph',
    nodes: parts.nodes,
    initializers: parts.initializers ?? [],
    inputs: parts.inputs,
    outputs: parts.outputs,
    valueInfo: parts.valueInfo ?? [],
  };
}

/** A model importing `opsets` (domain -> version; default ai.onnx 21 at IR version 10). */
export function makeModel(
  graph: OnnxGraph,
  options: { opsets?: Record<string, number>; irVersion?: number; producerName?: string } = {},
): OnnxModel {
  return {
    irVersion: options.irVersion ?? 10,
    opsetImports: Object.entries(options.opsets ?? { '': 21 }).map(([domain, version]) => ({ domain, version })),
    producerName: options.producerName ?? 'memvp-webgpu',
    producerVersion: '',
    domain: '',
    modelVersion: 0,
    graph,
    metadataProps: [],
  };
}

/** A one-node model; a non-default node domain is imported at version 1 unless `opsets` says otherwise. */
export function makeSingleNodeModel(spec: {
  node: OnnxNode;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers?: OnnxTensor[];
  opsets?: Record<string, number>;
}): OnnxModel {
  const opsets = { '': 21, ...(spec.node.domain ? { [spec.node.domain]: 1 } : {}), ...spec.opsets };
  const { node, inputs, outputs, initializers } = spec;
  return makeModel(makeGraph({ name: node.opType, nodes: [node], inputs, outputs, initializers: initializers ?? [] }), { opsets });
}

type AttributeOf<T extends OnnxAttributeType> = Extract<OnnxAttributeValue, { type: T }>['value'];

/** A node's attribute value of the expected type; undefined when absent, an OnnxFormatError when mistyped. */
export function getAttribute<T extends OnnxAttributeType>(node: OnnxNode, name: string, type: T): AttributeOf<T> | undefined {
  const a = node.attributes.find((x) => x.name === name);
  if (!a) return undefined;
  if (a.type !== type) {
    throw new OnnxFormatError(`attribute "${name}" is ${a.type.toUpperCase()}, expected ${type.toUpperCase()}`, {
      node: `${node.name ? `"${node.name}" ` : ''}(${node.opType})`,
    });
  }
  return a.value as AttributeOf<T> | undefined;
}
