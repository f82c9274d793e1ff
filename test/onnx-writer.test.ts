// The ONNX writer: parse -> encode -> parse round trips on the conformance cases, models built with the
// builder helpers, every attribute type, unknown fields kept verbatim, and the f16 conversions.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  attr,
  DataType,
  encodeModel,
  encodeTensor,
  f16BitsToF32,
  f16ToF32Array,
  f32ToF16Bits,
  getAttribute,
  makeGraph,
  makeModel,
  makeNode,
  makeSingleNodeModel,
  makeTensor,
  makeValueInfo,
  parseModel,
  parseTensor,
  tensorToTypedArray,
  type OnnxModel,
} from '../src/onnx/index.js';
import { bytesOf, caseNames, CASES_DIR } from './helpers/conformance.js';

const CASES = caseNames(/^test_/);

describe('ONNX writer', () => {
  it('round-trips all conformance models: parse(encode(parse(x))) equals parse(x)', () => {
    for (const name of CASES) {
      const model = parseModel(bytesOf(join(CASES_DIR, name, 'model.onnx')));
      expect(parseModel(encodeModel(model)), name).toEqual(model);
    }
  });

  it('re-encodes test_add and every test-data .pb byte for byte', () => {
    const add = bytesOf(join(CASES_DIR, 'test_add', 'model.onnx'));
    expect(encodeModel(parseModel(add))).toEqual(add);
    for (const name of CASES) {
      for (const file of readdirSync(join(CASES_DIR, name, 'test_data_set_0'))) {
        const bytes = bytesOf(join(CASES_DIR, name, 'test_data_set_0', file));
        expect(Buffer.from(encodeTensor(parseTensor(bytes))).equals(bytes), `${name}/${file}`).toBe(true);
      }
    }
  });

  it('keeps fields it does not model (e.g. model-local functions) verbatim', () => {
    const add = bytesOf(join(CASES_DIR, 'test_add', 'model.onnx'));
    // ModelProto.functions (field 25, length-delimited) with 3 opaque bytes.
    const functions = Uint8Array.from([0xca, 0x01, 0x03, 0x0a, 0x01, 0x66]);
    const model = parseModel(Uint8Array.from([...add, ...functions]));
    expect(model.unknownFields).toEqual([functions]);
    const encoded = encodeModel(model);
    expect(encoded.subarray(encoded.length - functions.length)).toEqual(functions);
    expect(parseModel(encoded)).toEqual(model);
  });

  it('builds a one-node com.microsoft MatMulNBits model that round-trips with its initializers', () => {
    const packed = Uint8Array.from({ length: 8 * 16 }, (_, i) => (i * 37) & 0xff);
    const scales = Array.from({ length: 8 * 1 }, (_, i) => 0.01 * (i + 1));
    const node = makeNode(
      'MatMulNBits',
      ['x', 'w', 'scales'],
      ['y'],
      { K: attr.int(32), N: attr.int(8), bits: attr.int(4), block_size: attr.int(32) },
      { name: 'q0', domain: 'com.microsoft' },
    );
    const model = makeSingleNodeModel({
      node,
      inputs: [makeValueInfo('x', DataType.FLOAT16, ['batch', 32])],
      outputs: [makeValueInfo('y', DataType.FLOAT16, ['batch', 8])],
      initializers: [makeTensor('w', DataType.UINT8, [8, 1, 16], packed), makeTensor('scales', DataType.FLOAT16, [8], scales)],
    });
    expect(model.opsetImports).toEqual([
      { domain: '', version: 21 },
      { domain: 'com.microsoft', version: 1 },
    ]);
    const back = parseModel(encodeModel(model));
    expect(back).toEqual(model);
    const q = back.graph.nodes[0]!;
    expect(q.domain).toBe('com.microsoft');
    expect(getAttribute(q, 'block_size', 'int')).toBe(32n);
    expect(tensorToTypedArray(back.graph.initializers[0]!)).toEqual(packed);
    const s = tensorToTypedArray(back.graph.initializers[1]!);
    expect(s).toBeInstanceOf(Uint16Array);
    f16ToF32Array(s as Uint16Array).forEach((v, i) => expect(v).toBeCloseTo(scales[i]!, 4));
  });

  it('round-trips every attribute type, int64 extremes and nested graphs included', () => {
    const body = makeGraph({
      name: 'body',
      nodes: [makeNode('Identity', ['a'], ['b'])],
      inputs: [makeValueInfo('a', DataType.INT64, [])],
      outputs: [makeValueInfo('b', DataType.INT64)],
    });
    const t = makeTensor('t', DataType.INT64, [2], [5, -7]);
    const node = makeNode('Custom', ['x'], ['y'], {
      f: attr.float(-1.5),
      i: attr.int(2n ** 63n - 1n),
      s: attr.string('SAME_UPPER ✓'),
      t: attr.tensor(t),
      g: attr.graph(body),
      fs: attr.floats([0.5, Infinity]),
      is: attr.ints([-(2n ** 63n), 0, 3]),
      ss: attr.strings(['a', '']),
      ts: attr.tensors([t, makeTensor('u', DataType.FLOAT, [], [2])]),
      gs: attr.graphs([body, body]),
    });
    const model: OnnxModel = {
      ...makeModel(
        makeGraph({ nodes: [node], inputs: [makeValueInfo('x', DataType.FLOAT, [null, 'n', 3])], outputs: [makeValueInfo('y', DataType.FLOAT)] }),
      ),
      docString: 'doc',
      metadataProps: [{ key: 'k', value: 'v' }],
      modelVersion: 3,
    };
    const back = parseModel(encodeModel(model));
    expect(back).toEqual(model);
    expect(getAttribute(back.graph.nodes[0]!, 'i', 'int')).toBe(9223372036854775807n);
    const g = getAttribute(back.graph.nodes[0]!, 'g', 'graph')!;
    expect(g.inputs[0]!.type).toEqual({ kind: 'tensor', elemType: DataType.INT64, shape: [] });
  });

  it('makeTensor checks that the data fits the dims', () => {
    expect(() => makeTensor('w', DataType.FLOAT, [2, 3], new Float32Array(5))).toThrow(/needs 24 bytes, got 20/);
    expect(() => makeTensor('w', DataType.BFLOAT16, [1], [1])).toThrow(/typed array/);
    expect(makeTensor('q', DataType.INT4, [3], new Uint8Array(2)).rawData!.length).toBe(2);
  });
});

describe('f16 conversion', () => {
  it('round-trips every non-NaN half through f32', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = f16BitsToF32(h);
      if (Number.isNaN(v)) expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
      else if (f32ToF16Bits(v) !== h) throw new Error(`half 0x${h.toString(16)} -> ${v} -> 0x${f32ToF16Bits(v).toString(16)}`);
    }
  });

  it('rounds to nearest even, saturates to infinity, flushes below half the smallest subnormal', () => {
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65519.99)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00);
    expect(f32ToF16Bits(-1e9)).toBe(0xfc00);
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001);
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000);
    expect(f32ToF16Bits(1.5 * 2 ** -24)).toBe(0x0002);
    expect(f32ToF16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(NaN) & 0x7e00).toBe(0x7e00);
  });
});
