// Loads an ONNX conformance case with src/onnx's parser into the shape the shared one-node harness
// (ops-arith-cases.ts: checkCase) runs: the tests of the shape, movement and conv ops use it.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseModel, parseTensor } from '../src/onnx/decode.js';
import { tensorToTypedArray } from '../src/onnx/tensor.js';
import type { OnnxAttribute, OnnxTensor } from '../src/onnx/types.js';
import type { ElemType, HostTensor } from '../src/graph/tensor.js';
import { CASES_DIR, type CaseNode, type ConformanceCase } from './ops-arith-cases.js';

const TYPES: Record<number, ElemType> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64',
};

function host(t: OnnxTensor): HostTensor {
  const type = TYPES[t.dataType];
  if (!type) throw new Error(`tensor "${t.name}": unsupported data type ${t.dataType}`);
  return { type, dims: t.dims, data: tensorToTypedArray(t) };
}

function attrValue(a: OnnxAttribute): CaseNode['attrs'] extends Map<string, infer V> ? V : never {
  switch (a.type) {
    case 'int': return Number(a.value);
    case 'ints': return a.value.map(Number);
    case 'float': case 'floats': case 'string': case 'strings': return a.value;
    case 'tensor': return host(a.value);
    default: throw new Error(`attribute ${a.name}: type ${a.type} is not supported by the test harness`);
  }
}

const bytes = (path: string) => new Uint8Array(readFileSync(path));

export function loadOnnxCase(name: string): ConformanceCase {
  const dir = join(CASES_DIR, name);
  const m = parseModel(bytes(join(dir, 'model.onnx')));
  const data = join(dir, 'test_data_set_0');
  const read = (prefix: string) =>
    readdirSync(data)
      .filter((f) => f.startsWith(prefix))
      .sort((a, b) => parseInt(a.slice(prefix.length)) - parseInt(b.slice(prefix.length)))
      .map((f) => host(parseTensor(bytes(join(data, f)))));
  const opset = m.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
  const nodes = m.graph.nodes.map((n) => ({ op: n.opType, inputs: n.inputs, outputs: n.outputs, attrs: new Map(n.attributes.map((a) => [a.name, attrValue(a)] as const)) }));
  return { name, model: { opset, nodes, inputs: m.graph.inputs.map((v) => v.name), outputs: m.graph.outputs.map((v) => v.name) }, inputs: read('input_'), outputs: read('output_') };
}
