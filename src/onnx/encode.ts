// The TS model -> ModelProto / TensorProto bytes. Fields are written in field-number order with onnx.proto's
// packing (tensor data packed, dims/ints/floats not); raw_data is copied once, into the output.
import { ProtoWriter, WIRE_I32, WIRE_VARINT } from './protobuf.js';
import type { OnnxAttribute, OnnxGraph, OnnxModel, OnnxNode, OnnxTensor, OnnxType, OnnxValueInfo } from './types.js';

export function encodeModel(model: OnnxModel): Uint8Array {
  return writeModel(model).finish();
}

export function encodeTensor(tensor: OnnxTensor): Uint8Array {
  return writeTensor(tensor).finish();
}

function int(w: ProtoWriter, field: number, v: number): void {
  w.tag(field, WIRE_VARINT);
  w.signed(v);
}

function optString(w: ProtoWriter, field: number, s: string | undefined): void {
  if (s) w.stringField(field, s);
}

function entry(key: string, value: string): ProtoWriter {
  const w = new ProtoWriter();
  w.stringField(1, key);
  w.stringField(2, value);
  return w;
}

function unknown(w: ProtoWriter, fields: Uint8Array[] | undefined): void {
  for (const f of fields ?? []) w.raw(f);
}

function writeModel(model: OnnxModel): ProtoWriter {
  const w = new ProtoWriter();
  int(w, 1, model.irVersion);
  optString(w, 2, model.producerName);
  optString(w, 3, model.producerVersion);
  optString(w, 4, model.domain);
  if (model.modelVersion) int(w, 5, model.modelVersion);
  optString(w, 6, model.docString);
  w.messageField(7, writeGraph(model.graph));
  for (const o of model.opsetImports) {
    const ow = new ProtoWriter();
    ow.stringField(1, o.domain);
    int(ow, 2, o.version);
    w.messageField(8, ow);
  }
  for (const p of model.metadataProps) w.messageField(14, entry(p.key, p.value));
  unknown(w, model.unknownFields);
  return w;
}

function writeGraph(graph: OnnxGraph): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of graph.nodes) w.messageField(1, writeNode(n));
  optString(w, 2, graph.name);
  for (const t of graph.initializers) w.messageField(5, writeTensor(t));
  optString(w, 10, graph.docString);
  for (const v of graph.inputs) w.messageField(11, writeValueInfo(v));
  for (const v of graph.outputs) w.messageField(12, writeValueInfo(v));
  for (const v of graph.valueInfo) w.messageField(13, writeValueInfo(v));
  unknown(w, graph.unknownFields);
  return w;
}

function writeNode(node: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const s of node.inputs) w.stringField(1, s);
  for (const s of node.outputs) w.stringField(2, s);
  optString(w, 3, node.name);
  optString(w, 4, node.opType);
  for (const a of node.attributes) w.messageField(5, writeAttribute(a));
  optString(w, 6, node.docString);
  optString(w, 7, node.domain);
  unknown(w, node.unknownFields);
  return w;
}

const TYPE_CODES = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8, tensors: 9, graphs: 10 };

function writeAttribute(a: OnnxAttribute): ProtoWriter {
  const w = new ProtoWriter();
  w.stringField(1, a.name);
  switch (a.type) {
    case 'float':
      w.tag(2, WIRE_I32);
      w.f32(a.value);
      break;
    case 'int':
      w.tag(3, WIRE_VARINT);
      w.varint64(a.value);
      break;
    case 'string':
      w.stringField(4, a.value);
      break;
    case 'tensor':
      w.messageField(5, writeTensor(a.value));
      break;
    case 'graph':
      w.messageField(6, writeGraph(a.value));
      break;
    case 'floats':
      for (const v of a.value) {
        w.tag(7, WIRE_I32);
        w.f32(v);
      }
      break;
    case 'ints':
      for (const v of a.value) {
        w.tag(8, WIRE_VARINT);
        w.varint64(v);
      }
      break;
    case 'strings':
      for (const s of a.value) w.stringField(9, s);
      break;
    case 'tensors':
      for (const t of a.value) w.messageField(10, writeTensor(t));
      break;
    case 'graphs':
      for (const g of a.value) w.messageField(11, writeGraph(g));
      break;
  }
  optString(w, 13, a.docString);
  w.tag(20, WIRE_VARINT);
  w.varint(TYPE_CODES[a.type]);
  return w;
}

function writeTensor(t: OnnxTensor): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) int(w, 1, d);
  w.tag(2, WIRE_VARINT);
  w.signed(t.dataType);
  if (t.floatData?.length) w.packedFixed(4, t.floatData);
  if (t.int32Data?.length) w.packedVarints(5, t.int32Data);
  for (const s of t.stringData ?? []) w.bytesField(6, s);
  if (t.int64Data?.length) w.packedVarints(7, t.int64Data);
  optString(w, 8, t.name);
  if (t.rawData) w.bytesField(9, t.rawData);
  if (t.doubleData?.length) w.packedFixed(10, t.doubleData);
  if (t.uint64Data?.length) w.packedVarints(11, t.uint64Data);
  optString(w, 12, t.docString);
  if (t.external) {
    const { location, offset, length, checksum } = t.external;
    w.messageField(13, entry('location', location));
    w.messageField(13, entry('offset', String(offset)));
    if (length !== undefined) w.messageField(13, entry('length', String(length)));
    if (checksum !== undefined) w.messageField(13, entry('checksum', checksum));
    int(w, 14, 1);
  }
  return w;
}

function writeValueInfo(v: OnnxValueInfo): ProtoWriter {
  const w = new ProtoWriter();
  w.stringField(1, v.name);
  if (v.type) w.messageField(2, writeType(v.type));
  optString(w, 3, v.docString);
  return w;
}

function writeType(type: OnnxType): ProtoWriter {
  const w = new ProtoWriter();
  if (type.kind === 'other') {
    w.raw(type.bytes);
    return w;
  }
  const tw = new ProtoWriter();
  tw.tag(1, WIRE_VARINT);
  tw.signed(type.elemType);
  if (type.shape) {
    const sw = new ProtoWriter();
    for (const d of type.shape) {
      const dw = new ProtoWriter();
      if (typeof d === 'number') int(dw, 1, d);
      else if (typeof d === 'string') dw.stringField(2, d);
      sw.messageField(1, dw);
    }
    tw.messageField(2, sw);
  }
  w.messageField(1, tw);
  return w;
}
