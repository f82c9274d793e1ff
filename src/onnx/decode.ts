// ModelProto / TensorProto bytes -> the plain TS model of types.ts. Every value is checked where it is read,
// so a corrupt file fails with an OnnxFormatError naming the offset and field path, never a RangeError or an
// allocation sized by a corrupt length.
import { concatArrays, type Joinable } from '../arrays.js';
import { OnnxFormatError } from './errors.js';
import { ProtoReader, WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT } from './protobuf.js';
import {
  byteLengthOf,
  dataTypeInfo,
  dataTypeName,
  DataType,
  type DataField,
  type OnnxAttribute,
  type OnnxAttributeValue,
  type OnnxDim,
  type OnnxExternalData,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxOpsetImport,
  type OnnxTensor,
  type OnnxType,
  type OnnxValueInfo,
} from './types.js';

// Subgraphs (If/Loop bodies) nest through attributes; a corrupt file must not overflow the JS stack.
const MAX_GRAPH_DEPTH = 64;

/** Parses an ONNX model. Tensors' rawData are views into `bytes` (zero-copy). */
export function parseModel(bytes: Uint8Array | ArrayBuffer): OnnxModel {
  const buf = plainView(bytes);
  return readModel(new ProtoReader(buf, 0, buf.length, ''));
}

/** Parses a standalone TensorProto (the backend-test `input_0.pb` layout). */
export function parseTensor(bytes: Uint8Array | ArrayBuffer): OnnxTensor {
  const buf = plainView(bytes);
  return readTensor(new ProtoReader(buf, 0, buf.length, ''));
}

// A plain Uint8Array over the same memory: Node's Buffer (a subclass) has a slice() that does not copy.
function plainView(bytes: Uint8Array | ArrayBuffer): Uint8Array {
  return bytes instanceof Uint8Array ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
}

function join(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

function str(r: ProtoReader, wire: number, name: string, at: number): string {
  r.expect(wire, WIRE_LEN, name, at);
  return r.string(join(r.path, name));
}

function sub(r: ProtoReader, wire: number, name: string, at: number): ProtoReader {
  r.expect(wire, WIRE_LEN, name, at);
  return r.message(join(r.path, name));
}

/** One occurrence of a repeated scalar field: a packed run (wire LEN), or one value of wire type `scalar`. */
function repeated<T>(r: ProtoReader, wire: number, name: string, at: number, scalar: number, packed: () => T, one: () => T): T {
  if (wire === WIRE_LEN) return packed();
  r.expect(wire, scalar, name, at);
  return one();
}

function readModel(r: ProtoReader): OnnxModel {
  const model: Omit<OnnxModel, 'graph'> & { graph?: OnnxGraph } = {
    irVersion: 0,
    opsetImports: [],
    producerName: '',
    producerVersion: '',
    domain: '',
    modelVersion: 0,
    graph: undefined,
    metadataProps: [],
  };
  const unknown: Uint8Array[] = [];
  for (const { field, wire, at } of r.fields()) {
    switch (field) {
      case 1:
        r.expect(wire, WIRE_VARINT, 'ir_version', at);
        model.irVersion = r.i64Number('ir_version');
        break;
      case 2:
        model.producerName = str(r, wire, 'producer_name', at);
        break;
      case 3:
        model.producerVersion = str(r, wire, 'producer_version', at);
        break;
      case 4:
        model.domain = str(r, wire, 'domain', at);
        break;
      case 5:
        r.expect(wire, WIRE_VARINT, 'model_version', at);
        model.modelVersion = r.i64Number('model_version');
        break;
      case 6:
        model.docString = str(r, wire, 'doc_string', at);
        break;
      case 7:
        model.graph = readGraph(sub(r, wire, 'graph', at), 0);
        break;
      case 8:
        model.opsetImports.push(readOpset(sub(r, wire, `opset_import[${model.opsetImports.length}]`, at)));
        break;
      case 14: {
        const e = readEntry(sub(r, wire, `metadata_props[${model.metadataProps.length}]`, at));
        model.metadataProps.push(e);
        break;
      }
      default:
        unknown.push(r.skip(wire, at));
    }
  }
  if (!model.graph) r.fail('model has no graph (field 7)');
  if (unknown.length) model.unknownFields = unknown;
  return model as OnnxModel;
}

function readOpset(r: ProtoReader): OnnxOpsetImport {
  const opset: OnnxOpsetImport = { domain: '', version: 0 };
  for (const { field, wire, at } of r.fields()) {
    if (field === 1) opset.domain = str(r, wire, 'domain', at);
    else if (field === 2) {
      r.expect(wire, WIRE_VARINT, 'version', at);
      opset.version = r.i64Number('version');
    } else r.skip(wire, at);
  }
  return opset;
}

function readEntry(r: ProtoReader): { key: string; value: string } {
  const entry = { key: '', value: '' };
  for (const { field, wire, at } of r.fields()) {
    if (field === 1) entry.key = str(r, wire, 'key', at);
    else if (field === 2) entry.value = str(r, wire, 'value', at);
    else r.skip(wire, at);
  }
  return entry;
}

function readGraph(r: ProtoReader, depth: number): OnnxGraph {
  if (depth > MAX_GRAPH_DEPTH) r.fail(`subgraphs nested deeper than ${MAX_GRAPH_DEPTH}`);
  const graph: OnnxGraph = { name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [] };
  const unknown: Uint8Array[] = [];
  for (const { field, wire, at } of r.fields()) {
    switch (field) {
      case 1:
        graph.nodes.push(readNode(sub(r, wire, `node[${graph.nodes.length}]`, at), depth));
        break;
      case 2:
        graph.name = str(r, wire, 'name', at);
        break;
      case 5:
        graph.initializers.push(readTensor(sub(r, wire, `initializer[${graph.initializers.length}]`, at)));
        break;
      case 10:
        graph.docString = str(r, wire, 'doc_string', at);
        break;
      case 11:
        graph.inputs.push(readValueInfo(sub(r, wire, `input[${graph.inputs.length}]`, at)));
        break;
      case 12:
        graph.outputs.push(readValueInfo(sub(r, wire, `output[${graph.outputs.length}]`, at)));
        break;
      case 13:
        graph.valueInfo.push(readValueInfo(sub(r, wire, `value_info[${graph.valueInfo.length}]`, at)));
        break;
      case 15:
        r.fail('sparse_initializer is not supported (densify the model first)', at);
        break;
      default:
        unknown.push(r.skip(wire, at));
    }
  }
  if (unknown.length) graph.unknownFields = unknown;
  return graph;
}

function readNode(r: ProtoReader, depth: number): OnnxNode {
  const node: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [] };
  const unknown: Uint8Array[] = [];
  try {
    for (const { field, wire, at } of r.fields()) {
      switch (field) {
        case 1:
          node.inputs.push(str(r, wire, 'input', at));
          break;
        case 2:
          node.outputs.push(str(r, wire, 'output', at));
          break;
        case 3:
          node.name = str(r, wire, 'name', at);
          break;
        case 4:
          node.opType = str(r, wire, 'op_type', at);
          break;
        case 5:
          node.attributes.push(readAttribute(sub(r, wire, `attribute[${node.attributes.length}]`, at), depth));
          break;
        case 6:
          node.docString = str(r, wire, 'doc_string', at);
          break;
        case 7:
          node.domain = str(r, wire, 'domain', at);
          break;
        default:
          unknown.push(r.skip(wire, at));
      }
    }
  } catch (e) {
    if (e instanceof OnnxFormatError && (node.name || node.opType)) {
      throw e.inNode(`${node.name ? `"${node.name}" ` : ''}(${node.opType || 'op_type not read yet'})`);
    }
    throw e;
  }
  if (unknown.length) node.unknownFields = unknown;
  return node;
}

// AttributeProto.type codes and the field that holds each type's value.
const ATTRIBUTE_TYPES: Record<number, { type: OnnxAttributeValue['type']; field: number }> = {
  1: { type: 'float', field: 2 },
  2: { type: 'int', field: 3 },
  3: { type: 'string', field: 4 },
  4: { type: 'tensor', field: 5 },
  5: { type: 'graph', field: 6 },
  6: { type: 'floats', field: 7 },
  7: { type: 'ints', field: 8 },
  8: { type: 'strings', field: 9 },
  9: { type: 'tensors', field: 10 },
  10: { type: 'graphs', field: 11 },
};

function readAttribute(r: ProtoReader, depth: number): OnnxAttribute {
  let name = '';
  let docString: string | undefined;
  let typeCode = 0;
  const seen = new Set<number>();
  let f = 0;
  let i = 0n;
  let s = '';
  let t: OnnxTensor | undefined;
  let g: OnnxGraph | undefined;
  const floats: number[] = [];
  const ints: bigint[] = [];
  const strings: string[] = [];
  const tensors: OnnxTensor[] = [];
  const graphs: OnnxGraph[] = [];
  for (const { field, wire, at } of r.fields()) {
    if (field >= 2 && field <= 11) seen.add(field);
    switch (field) {
      case 1:
        name = str(r, wire, 'name', at);
        break;
      case 13:
        docString = str(r, wire, 'doc_string', at);
        break;
      case 20:
        r.expect(wire, WIRE_VARINT, 'type', at);
        typeCode = r.i32();
        break;
      case 2:
        r.expect(wire, WIRE_I32, 'f', at);
        f = r.f32();
        break;
      case 3:
        r.expect(wire, WIRE_VARINT, 'i', at);
        i = r.i64();
        break;
      case 4:
        s = str(r, wire, 's', at);
        break;
      case 5:
        t = readTensor(sub(r, wire, 't', at));
        break;
      case 6:
        g = readGraph(sub(r, wire, 'g', at), depth + 1);
        break;
      case 7:
        for (const v of repeated(r, wire, 'floats', at, WIRE_I32, () => r.packedF32(), () => Float32Array.of(r.f32()))) floats.push(v);
        break;
      case 8:
        for (const v of repeated(r, wire, 'ints', at, WIRE_VARINT, () => r.packedI64(), () => BigInt64Array.of(r.i64()))) ints.push(v);
        break;
      case 9:
        strings.push(str(r, wire, `strings[${strings.length}]`, at));
        break;
      case 10:
        tensors.push(readTensor(sub(r, wire, `tensors[${tensors.length}]`, at)));
        break;
      case 11:
        graphs.push(readGraph(sub(r, wire, `graphs[${graphs.length}]`, at), depth + 1));
        break;
      case 14:
      case 15:
        r.fail('TYPE_PROTO attributes are not supported', at);
        break;
      case 21:
        r.fail('attribute references (ref_attr_name) are only valid inside functions', at);
        break;
      case 22:
      case 23:
        r.fail('SPARSE_TENSOR attributes are not supported', at);
        break;
      default:
        r.skip(wire, at);
    }
  }
  const where = name ? `attribute "${name}"` : 'attribute';
  if (typeCode === 0) {
    // IR version 1 had no type field: the one value field present tells the type.
    if (seen.size !== 1) r.fail(`${where} has no type and ${seen.size === 0 ? 'no value' : 'several values'}`);
    const field = [...seen][0]!;
    typeCode = Number(Object.keys(ATTRIBUTE_TYPES).find((c) => ATTRIBUTE_TYPES[Number(c)]!.field === field));
  }
  const spec = ATTRIBUTE_TYPES[typeCode];
  if (!spec) {
    r.fail(`${where} has ${typeCode >= 11 && typeCode <= 14 ? 'unsupported' : 'unknown'} type ${typeCode}`);
  }
  for (const field of seen) {
    if (field !== spec.field) r.fail(`${where} is of type ${spec.type.toUpperCase()} but also sets field ${field}`);
  }
  if (spec.type === 'tensor' && !t) r.fail(`${where} of type TENSOR has no tensor`);
  if (spec.type === 'graph' && !g) r.fail(`${where} of type GRAPH has no graph`);
  const values = { float: f, int: i, string: s, tensor: t, graph: g, floats, ints, strings, tensors, graphs };
  const value = { type: spec.type, value: values[spec.type] } as OnnxAttributeValue;
  const attribute: OnnxAttribute = { name, ...value };
  if (docString !== undefined) attribute.docString = docString;
  return attribute;
}

function readValueInfo(r: ProtoReader): OnnxValueInfo {
  const info: OnnxValueInfo = { name: '' };
  for (const { field, wire, at } of r.fields()) {
    switch (field) {
      case 1:
        info.name = str(r, wire, 'name', at);
        break;
      case 2: {
        const type = readType(sub(r, wire, 'type', at));
        if (type) info.type = type;
        break;
      }
      case 3:
        info.docString = str(r, wire, 'doc_string', at);
        break;
      default:
        r.skip(wire, at);
    }
  }
  return info;
}

function readType(r: ProtoReader): OnnxType | undefined {
  const start = r.pos;
  let tensor: OnnxType | undefined;
  let other = false;
  for (const { field, wire, at } of r.fields()) {
    if (field === 1) tensor = readTensorType(sub(r, wire, 'tensor_type', at));
    else {
      // Denotation (6) is dropped; anything else is a non-tensor type kept as bytes.
      if (field !== 6) other = true;
      r.skip(wire, at);
    }
  }
  return other ? { kind: 'other', bytes: r.buf.subarray(start, r.end) } : tensor;
}

function readTensorType(r: ProtoReader): OnnxType {
  let elemType = 0;
  let shape: OnnxDim[] | undefined;
  for (const { field, wire, at } of r.fields()) {
    if (field === 1) {
      r.expect(wire, WIRE_VARINT, 'elem_type', at);
      elemType = r.i32();
      if (elemType !== 0 && !dataTypeInfo(elemType)) r.fail(`unknown elem_type ${elemType}`, at);
    } else if (field === 2) shape = readShape(sub(r, wire, 'shape', at));
    else r.skip(wire, at);
  }
  const type: OnnxType = { kind: 'tensor', elemType: elemType as DataType };
  if (shape) type.shape = shape;
  return type;
}

function readShape(r: ProtoReader): OnnxDim[] {
  const dims: OnnxDim[] = [];
  for (const { field, wire, at } of r.fields()) {
    if (field === 1) dims.push(readDim(sub(r, wire, `dim[${dims.length}]`, at)));
    else r.skip(wire, at);
  }
  return dims;
}

function readDim(r: ProtoReader): OnnxDim {
  let dim: OnnxDim = null;
  for (const { field, wire, at } of r.fields()) {
    if (field === 1) {
      r.expect(wire, WIRE_VARINT, 'dim_value', at);
      const v = r.i64Number('dim_value');
      // Some exporters write -1 for "unknown"; that is what null means here.
      dim = v >= 0 ? v : null;
    } else if (field === 2) dim = str(r, wire, 'dim_param', at);
    else r.skip(wire, at);
  }
  return dim;
}

// A repeated scalar field's runs (packed and unpacked occurrences) as one array; undefined when absent.
function joined<A extends Joinable<A>>(chunks: A[], make: (n: number) => A): A | undefined {
  return chunks.length ? concatArrays(chunks, make) : undefined;
}

function readTensor(r: ProtoReader): OnnxTensor {
  const dims: number[] = [];
  let dataType = 0;
  let dataTypeAt = r.pos;
  let name = '';
  let docString: string | undefined;
  let rawData: Uint8Array | undefined;
  const floats: Float32Array[] = [];
  const int32s: Int32Array[] = [];
  const int64s: BigInt64Array[] = [];
  const doubles: Float64Array[] = [];
  const uint64s: BigUint64Array[] = [];
  let strings: Uint8Array[] | undefined;
  const external: { key: string; value: string }[] = [];
  let location = 0;
  const dim = (v: bigint, at: number): void => {
    if (v < 0n) r.fail(`negative dimension ${v}`, at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) r.fail(`dimension ${v} is too large`, at);
    dims.push(Number(v));
  };
  for (const { field, wire, at } of r.fields()) {
    switch (field) {
      case 1:
        for (const v of repeated(r, wire, 'dims', at, WIRE_VARINT, () => r.packedI64(), () => BigInt64Array.of(r.i64()))) dim(v, at);
        break;
      case 2:
        r.expect(wire, WIRE_VARINT, 'data_type', at);
        dataTypeAt = at;
        dataType = r.i32();
        break;
      case 3:
        r.fail('segmented tensors (TensorProto.segment) are not supported', at);
        break;
      case 4:
        floats.push(repeated(r, wire, 'float_data', at, WIRE_I32, () => r.packedF32(), () => Float32Array.of(r.f32())));
        break;
      case 5:
        int32s.push(repeated(r, wire, 'int32_data', at, WIRE_VARINT, () => r.packedI32(), () => Int32Array.of(r.i32())));
        break;
      case 6:
        r.expect(wire, WIRE_LEN, 'string_data', at);
        (strings ??= []).push(r.bytes(join(r.path, 'string_data')));
        break;
      case 7:
        int64s.push(repeated(r, wire, 'int64_data', at, WIRE_VARINT, () => r.packedI64(), () => BigInt64Array.of(r.i64())));
        break;
      case 8:
        name = str(r, wire, 'name', at);
        break;
      case 9:
        r.expect(wire, WIRE_LEN, 'raw_data', at);
        rawData = r.bytes(join(r.path, 'raw_data'));
        break;
      case 10:
        doubles.push(repeated(r, wire, 'double_data', at, WIRE_I64, () => r.packedF64(), () => Float64Array.of(r.f64())));
        break;
      case 11:
        uint64s.push(repeated(r, wire, 'uint64_data', at, WIRE_VARINT, () => r.packedU64(), () => BigUint64Array.of(r.u64())));
        break;
      case 12:
        docString = str(r, wire, 'doc_string', at);
        break;
      case 13:
        external.push(readEntry(sub(r, wire, `external_data[${external.length}]`, at)));
        break;
      case 14:
        r.expect(wire, WIRE_VARINT, 'data_location', at);
        location = r.i32();
        if (location !== 0 && location !== 1) r.fail(`unknown data_location ${location}`, at);
        break;
      default:
        r.skip(wire, at);
    }
  }

  const what = name ? `tensor "${name}"` : 'tensor';
  const info = dataTypeInfo(dataType);
  if (!info) r.fail(`${what} has ${dataType === 0 ? 'no data_type' : dataTypeName(dataType)}`, dataTypeAt);
  const type = dataType as DataType;
  const tensor: OnnxTensor = { name, dataType: type, dims };
  if (docString !== undefined) tensor.docString = docString;

  let count = 1;
  for (const d of dims) count *= d;
  if (count > Number.MAX_SAFE_INTEGER) r.fail(`${what} has too many elements (dims [${dims.join(', ')}])`);
  const shape = `[${dims.join(', ')}] ${info.name}`;

  const fields: [DataField | 'rawData', { length: number }][] = [];
  const add = (field: DataField | 'rawData', data: { length: number } | undefined): void => {
    if (data) fields.push([field, data]);
  };
  const protoName = (field: DataField | 'rawData'): string => field.replace(/[A-Z]/, (c) => `_${c.toLowerCase()}`);
  add('rawData', rawData);
  add('floatData', joined(floats, (n) => new Float32Array(n)));
  add('int32Data', joined(int32s, (n) => new Int32Array(n)));
  add('int64Data', joined(int64s, (n) => new BigInt64Array(n)));
  add('doubleData', joined(doubles, (n) => new Float64Array(n)));
  add('uint64Data', joined(uint64s, (n) => new BigUint64Array(n)));
  add('stringData', strings);
  if (fields.length > 1) r.fail(`${what} has both ${protoName(fields[0]![0])} and ${protoName(fields[1]![0])}`);

  if (location === 1 || external.length > 0) {
    if (fields.length) r.fail(`${what} is stored externally but also has ${protoName(fields[0]![0])}`);
    if (info.bits === 0) r.fail(`${what}: STRING tensors cannot be stored externally`);
    tensor.external = readExternal(r, what, external, byteLengthOf(type, count));
    return tensor;
  }
  const [field, data] = fields[0] ?? [];
  if (!field || !data) {
    if (count > 0) r.fail(`${what} ${shape} has ${count} elements but no data`);
    return tensor;
  }
  if (field === 'rawData') {
    if (info.bits === 0) r.fail(`${what}: STRING tensors cannot use raw_data`);
    const expected = byteLengthOf(type, count);
    if (data.length !== expected) r.fail(`${what} ${shape}: raw_data has ${data.length} bytes, expected ${expected}`);
  } else {
    if (field !== info.field) r.fail(`${what} ${shape}: ${protoName(field)} cannot hold ${info.name} values`);
    const expected =
      field === 'floatData' || field === 'doubleData' || (field === 'int32Data' && info.bits < 8)
        ? byteLengthOf(type, count) / (field === 'doubleData' ? 8 : field === 'floatData' ? 4 : 1)
        : count;
    if (data.length !== expected) r.fail(`${what} ${shape}: ${protoName(field)} has ${data.length} values, expected ${expected}`);
  }
  Object.assign(tensor, { [field]: data });
  return tensor;
}

function readExternal(
  r: ProtoReader,
  what: string,
  entries: { key: string; value: string }[],
  byteLength: number,
): OnnxExternalData {
  const get = (key: string): string | undefined => entries.find((e) => e.key === key)?.value;
  const location = get('location');
  if (!location) r.fail(`${what} is stored externally but external_data has no location`);
  const number = (key: string): number | undefined => {
    const text = get(key);
    if (text === undefined) return undefined;
    const v = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(v)) r.fail(`${what}: external_data ${key} "${text}" is not a byte count`);
    return v;
  };
  const ext: OnnxExternalData = { location, offset: number('offset') ?? 0 };
  const length = number('length');
  if (length !== undefined) {
    if (length !== byteLength) r.fail(`${what}: external_data length ${length} does not match its ${byteLength} bytes`);
    ext.length = length;
  }
  const checksum = get('checksum');
  if (checksum !== undefined) ext.checksum = checksum;
  return ext;
}
