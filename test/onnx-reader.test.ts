// The ONNX reader on ONNX's own backend-test cases (the passing ones of Debian's libonnx-testdata), on truncated and
// corrupted bytes, and on external data read from a temp dir, over HTTP and from memory.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attr,
  DataType,
  dataTypeInfo,
  encodeModel,
  encodeTensor,
  f16BitsToF32,
  f32ToF16Array,
  getAttribute,
  loadOnnx,
  makeModel,
  makeGraph,
  makeNode,
  makeTensor,
  makeValueInfo,
  memoryReader,
  OnnxFormatError,
  OnnxLoadError,
  parseModel,
  parseTensor,
  readTensorArray,
  tensorElementCount,
  tensorToTypedArray,
  urlReader,
  type OnnxModel,
  type OnnxTensor,
} from '../src/onnx/index.js';
import { bytesOf, caseNames, CASES_DIR } from './helpers/conformance.js';
import { ProtoReader } from '../src/onnx/protobuf.js';

const CASES = caseNames(/^test_/);

function caseFiles(name: string): string[] {
  return readdirSync(join(CASES_DIR, name, 'test_data_set_0')).sort();
}

function list(values: ArrayLike<number | bigint>): (number | bigint)[] {
  return Array.from(values);
}

/** The error a function throws (fails the test if it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an exception');
}

/** Values per element of a tensor's typed array (complex types are (re, im) pairs, sub-byte types packed). */
function arrayLength(t: OnnxTensor): number {
  const info = dataTypeInfo(t.dataType)!;
  const n = tensorElementCount(t);
  return info.bits < 8 ? Math.ceil((n * info.bits) / 8) : (n * info.bits) / 8 / info.array.BYTES_PER_ELEMENT;
}

describe('ONNX reader on the conformance cases', () => {
  it(`parses all ${CASES.length} models with sensible content`, () => {
    expect(CASES.length).toBeGreaterThan(0);
    for (const name of CASES) {
      const m = parseModel(bytesOf(join(CASES_DIR, name, 'model.onnx')));
      const where = `${name}: `;
      expect(m.irVersion, where).toBeGreaterThanOrEqual(3);
      expect(m.opsetImports.some((o) => o.domain === '' && o.version > 0), where).toBe(true);
      expect(m.graph.nodes.length, where).toBeGreaterThan(0);
      expect(m.graph.inputs.length + m.graph.nodes.filter((n) => n.opType === 'Constant').length, where).toBeGreaterThan(0);
      expect(m.graph.outputs.length, where).toBeGreaterThan(0);
      for (const v of [...m.graph.inputs, ...m.graph.outputs]) {
        expect(v.name, where).not.toBe('');
        expect(v.type?.kind, `${where}${v.name}`).toBe('tensor');
      }
      const produced = new Set([...m.graph.inputs.map((v) => v.name), ...m.graph.nodes.flatMap((n) => n.outputs)]);
      for (const o of m.graph.outputs) expect(produced.has(o.name), `${where}output ${o.name} is produced`).toBe(true);
      for (const n of m.graph.nodes) {
        expect(n.opType, where).toMatch(/^[A-Z][A-Za-z0-9]*$/);
        for (const a of n.attributes) {
          if (a.type === 'tensor') expect(tensorToTypedArray(a.value).length, `${where}${n.opType}.${a.name}`).toBe(arrayLength(a.value));
        }
      }
    }
  });

  it('parses all test-data .pb tensors, matching the graph inputs/outputs in name, type and shape', () => {
    let count = 0;
    for (const name of CASES) {
      const g = parseModel(bytesOf(join(CASES_DIR, name, 'model.onnx'))).graph;
      for (const file of caseFiles(name)) {
        const t = parseTensor(bytesOf(join(CASES_DIR, name, 'test_data_set_0', file)));
        const [, kind, index] = /^(input|output)_(\d+)\.pb$/.exec(file)!;
        const decl = (kind === 'input' ? g.inputs : g.outputs)[Number(index)]!;
        const where = `${name}/${file}`;
        expect(t.name, where).toBe(decl.name);
        expect(decl.type?.kind === 'tensor' && decl.type.elemType, where).toBe(t.dataType);
        const shape = decl.type?.kind === 'tensor' ? decl.type.shape : undefined;
        if (shape?.every((d) => typeof d === 'number')) expect(t.dims, where).toEqual(shape);
        expect(tensorToTypedArray(t).length, where).toBe(arrayLength(t));
        count++;
      }
    }
    expect(count).toBeGreaterThanOrEqual(CASES.length);
  });

  it('reads test_add as one Add node over two [3, 4, 5] float inputs', () => {
    const m = parseModel(bytesOf(join(CASES_DIR, 'test_add', 'model.onnx')));
    expect(m.producerName).toBe('backend-test');
    expect(m.graph.name).toBe('test_add');
    expect(m.graph.nodes).toEqual([{ name: '', opType: 'Add', domain: '', inputs: ['x', 'y'], outputs: ['sum'], attributes: [] }]);
    expect(m.graph.inputs).toEqual([makeValueInfo('x', DataType.FLOAT, [3, 4, 5]), makeValueInfo('y', DataType.FLOAT, [3, 4, 5])]);
    expect(m.graph.outputs).toEqual([makeValueInfo('sum', DataType.FLOAT, [3, 4, 5])]);
  });

  it('reads Gemm attributes with their types, and typed getters check them', () => {
    const node = parseModel(bytesOf(join(CASES_DIR, 'test_gemm_all_attributes', 'model.onnx'))).graph.nodes[0]!;
    expect(getAttribute(node, 'alpha', 'float')).toBe(0.25);
    expect(getAttribute(node, 'beta', 'float')).toBeCloseTo(0.35, 6);
    expect(getAttribute(node, 'transA', 'int')).toBe(1n);
    expect(getAttribute(node, 'missing', 'int')).toBeUndefined();
    const e = thrown(() => getAttribute(node, 'transB', 'float'));
    expect(e).toBeInstanceOf(OnnxFormatError);
    expect(String(e)).toMatch(/\(Gemm\).*"transB" is INT, expected FLOAT/);
  });

  it('reads a gemm input tensor: dims, name, and values equal to the little-endian floats in the file', () => {
    const bytes = bytesOf(join(CASES_DIR, 'test_gemm_default_single_elem_vector_bias', 'test_data_set_0', 'input_0.pb'));
    const t = parseTensor(bytes);
    expect(t).toMatchObject({ name: 'a', dataType: DataType.FLOAT, dims: [3, 7] });
    expect(t.rawData!.length).toBe(84);
    // raw_data's payload starts at byte 11: dims (4 bytes), data_type (2), name (3), raw_data key + length (2).
    expect(t.rawData!.buffer).toBe(bytes.buffer);
    expect(t.rawData!.byteOffset).toBe(bytes.byteOffset + 11);
    const file = new DataView(bytes.buffer, bytes.byteOffset);
    const values = tensorToTypedArray(t) as Float32Array;
    expect(values).toBeInstanceOf(Float32Array);
    expect(values.length).toBe(21);
    expect(values[0]).toBe(file.getFloat32(11, true));
    expect(values[20]).toBe(file.getFloat32(11 + 80, true));
    expect(values[0]).toBeCloseTo(0.54881, 5);
    // Offset 11 is not 4-aligned: one aligned copy, made once.
    expect(values.buffer).not.toBe(bytes.buffer);
    expect(tensorToTypedArray(t)).toBe(values);
  });

  it('reads Loop bodies as graphs and tensor attributes stored in float_data / int32_data / int64_data', () => {
    const m = parseModel(bytesOf(join(CASES_DIR, 'test_range_float_type_positive_delta_expanded', 'model.onnx')));
    const body = getAttribute(m.graph.nodes.find((n) => n.opType === 'Loop')!, 'body', 'graph')!;
    expect(body.nodes.map((n) => n.opType)).toContain('Add');
    const seen = new Set<string>();
    for (const name of CASES) {
      for (const n of parseModel(bytesOf(join(CASES_DIR, name, 'model.onnx'))).graph.nodes) {
        const t = n.attributes.find((a) => a.type === 'tensor')?.value as OnnxTensor | undefined;
        if (!t) continue;
        for (const field of ['floatData', 'int32Data', 'int64Data', 'rawData'] as const) if (t[field]) seen.add(field);
        expect(tensorToTypedArray(t).length, name).toBe(tensorElementCount(t));
      }
    }
    expect([...seen].sort()).toEqual(['floatData', 'int32Data', 'int64Data']);
  });

  it('agrees with the f16 cast reference: f32ToF16 of the input is the expected FLOAT16 output, bit for bit', () => {
    const dir = join(CASES_DIR, 'test_cast_FLOAT_to_FLOAT16', 'test_data_set_0');
    const input = tensorToTypedArray(parseTensor(bytesOf(join(dir, 'input_0.pb')))) as Float32Array;
    const output = parseTensor(bytesOf(join(dir, 'output_0.pb')));
    expect(output.dataType).toBe(DataType.FLOAT16);
    expect(list(f32ToF16Array(input))).toEqual(list(tensorToTypedArray(output)));
    const back = parseTensor(bytesOf(join(CASES_DIR, 'test_cast_FLOAT16_to_FLOAT', 'test_data_set_0', 'input_0.pb')));
    const expected = tensorToTypedArray(parseTensor(bytesOf(join(CASES_DIR, 'test_cast_FLOAT16_to_FLOAT', 'test_data_set_0', 'output_0.pb'))));
    expect(list(tensorToTypedArray(back)).map((h) => f16BitsToF32(Number(h)))).toEqual(list(expected));
  });
});

describe('ONNX reader zero-copy', () => {
  const weights = Float32Array.from({ length: 64 }, (_, i) => i * 0.5 - 3);
  const model = makeModel(
    makeGraph({
      nodes: [makeNode('MatMul', ['x', 'w'], ['y'])],
      inputs: [makeValueInfo('x', DataType.FLOAT, [1, 8])],
      outputs: [makeValueInfo('y', DataType.FLOAT, [1, 8])],
      initializers: [makeTensor('w', DataType.FLOAT, [8, 8], weights)],
    }),
  );
  const encoded = encodeModel(model);

  it('keeps raw_data as a view into the input buffer; aligned views share it, misaligned ones copy once', () => {
    let sharedViews = 0;
    for (let shift = 0; shift < 4; shift++) {
      const buffer = new ArrayBuffer(encoded.length + 8);
      const bytes = new Uint8Array(buffer, shift, encoded.length);
      bytes.set(encoded);
      const w = parseModel(bytes).graph.initializers[0]!;
      expect(w.rawData!.buffer).toBe(buffer);
      const values = tensorToTypedArray(w);
      expect(list(values)).toEqual(list(weights));
      if (w.rawData!.byteOffset % 4 === 0) {
        expect(values.buffer).toBe(buffer);
        sharedViews++;
      } else expect(values.buffer).not.toBe(buffer);
    }
    expect(sharedViews).toBe(1);
  });
});

describe('ONNX reader errors', () => {
  /** The [start, end) of the top-level field `field` of a message. */
  function fieldSpan(bytes: Uint8Array, field: number): [number, number] {
    const r = new ProtoReader(bytes, 0, bytes.length, '');
    while (!r.done()) {
      const start = r.pos;
      const key = r.tag();
      r.skip(key & 7, start);
      if (key >>> 3 === field) return [start, r.pos];
    }
    throw new Error(`no field ${field}`);
  }

  it('rejects every truncation inside the graph, and every truncation of a .pb tensor', () => {
    for (const name of ['test_add', 'test_gemm_all_attributes', 'test_constant', 'test_range_float_type_positive_delta_expanded']) {
      const bytes = bytesOf(join(CASES_DIR, name, 'model.onnx'));
      const [, graphEnd] = fieldSpan(bytes, 7);
      for (let cut = 0; cut < graphEnd; cut++) {
        const e = thrown(() => parseModel(bytes.subarray(0, cut)));
        expect(e, `${name} cut at ${cut}`).toBeInstanceOf(OnnxFormatError);
      }
    }
    const pb = bytesOf(join(CASES_DIR, 'test_gemm_default_single_elem_vector_bias', 'test_data_set_0', 'input_0.pb'));
    for (let cut = 0; cut < pb.length; cut++) {
      expect(thrown(() => parseTensor(pb.subarray(0, cut))), `cut ${cut}`).toBeInstanceOf(OnnxFormatError);
    }
  });

  it('says where a truncation happened', () => {
    const bytes = bytesOf(join(CASES_DIR, 'test_gemm_all_attributes', 'model.onnx'));
    const e = thrown(() => parseModel(bytes.subarray(0, 40))) as OnnxFormatError;
    expect(e.path).toMatch(/^graph/);
    expect(e.offset).toBeTypeOf('number');
    expect(e.message).toMatch(/byte \d+/);
    expect(e.message).toMatch(/runs past the end|truncated/);
  });

  function badModel(tensor: OnnxTensor): OnnxModel {
    return makeModel(
      makeGraph({
        nodes: [
          makeNode('Relu', ['x'], ['r'], {}, { name: 'first' }),
          makeNode('Constant', [], ['c'], { value: attr.tensor(tensor) }, { name: 'const_1' }),
        ],
        inputs: [makeValueInfo('x', DataType.FLOAT, [2])],
        outputs: [makeValueInfo('c', DataType.FLOAT, [2, 3])],
      }),
    );
  }

  it('names the field path and the node for bad tensors inside attributes', () => {
    const cases: [Partial<OnnxTensor>, RegExp][] = [
      [{ dataType: 99 as DataType }, /unknown data type 99/],
      [{ dataType: DataType.UNDEFINED }, /no data_type/],
      [{ rawData: new Uint8Array(20) }, /raw_data has 20 bytes, expected 24/],
      [{ dims: [2, -3] }, /negative dimension -3/],
      [{ rawData: undefined }, /has 6 elements but no data/],
      [{ rawData: undefined, int64Data: new BigInt64Array(6) }, /int64_data cannot hold FLOAT values/],
      [{ floatData: new Float32Array(6) }, /has both raw_data and float_data/],
      [{ rawData: undefined, floatData: new Float32Array(5) }, /float_data has 5 values, expected 6/],
      [{ rawData: undefined, dataType: DataType.STRING, stringData: [new Uint8Array(1)] }, /string_data has 1 values, expected 6/],
    ];
    for (const [patch, message] of cases) {
      const t = { ...makeTensor('w', DataType.FLOAT, [2, 3], new Float32Array(6)), ...patch };
      const e = thrown(() => parseModel(encodeModel(badModel(t)))) as OnnxFormatError;
      expect(e, String(message)).toBeInstanceOf(OnnxFormatError);
      expect(e.message).toMatch(message);
      expect(e.path).toBe('graph.node[1].attribute[0].t');
      expect(e.node).toBe('"const_1" (Constant)');
      expect(e.message).toContain('graph.node[1].attribute[0].t, node "const_1" (Constant), byte ');
    }
  });

  it('rejects bad wire types, lengths past the end and oversized lengths without allocating', () => {
    const good = encodeModel(badModel(makeTensor('w', DataType.FLOAT, [2, 3], new Float32Array(6))));
    const withTail = (...tail: number[]): Uint8Array => Uint8Array.from([...good, ...tail]);
    expect(() => parseModel(good)).not.toThrow();
    // Field 1 with wire type 7; field 3 as a group; field 99 claiming 2^40 bytes; a varint that never ends.
    expect(() => parseModel(withTail(0x0f))).toThrow(/unsupported wire type 7/);
    expect(() => parseModel(withTail(0x1b))).toThrow(/unsupported wire type group start/);
    expect(() => parseModel(withTail(0x9a, 0x06, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20))).toThrow(/length 1099511627776 runs past the end/);
    expect(() => parseModel(withTail(0x08, ...new Array(11).fill(0xff)))).toThrow(/varint longer than 10 bytes/);
    // ir_version (field 1) as length-delimited.
    expect(() => parseModel(withTail(0x0a, 0x00))).toThrow(/ir_version has wire type length-delimited, expected varint/);
    expect(() => parseModel(new Uint8Array(0))).toThrow(OnnxFormatError);
    expect(() => parseModel(new Uint8Array(0))).toThrow(/model has no graph/);
  });

  it('rejects sparse initializers and invalid UTF-8 names with a clear error', () => {
    // graph { sparse_initializer {} }
    expect(() => parseModel(Uint8Array.from([0x3a, 0x02, 0x7a, 0x00]))).toThrow(/graph.*sparse_initializer is not supported/);
    // graph { name: "\xff" }
    expect(() => parseModel(Uint8Array.from([0x3a, 0x03, 0x12, 0x01, 0xff]))).toThrow(/graph.*not valid UTF-8/);
  });

  it('survives 500 seeded random mutations of a real model: OnnxFormatError or a parse, never anything else', () => {
    const original = bytesOf(join(CASES_DIR, 'test_range_float_type_positive_delta_expanded', 'model.onnx'));
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor((seed / 2 ** 32) * n);
    };
    let parsed = 0;
    let rejected = 0;
    for (let i = 0; i < 500; i++) {
      let bytes = Uint8Array.from(original);
      for (let k = 1 + rand(4); k > 0; k--) {
        const at = rand(bytes.length);
        const kind = rand(4);
        if (kind === 0) bytes[at] = rand(256);
        else if (kind === 1) bytes[at]! ^= 1 << rand(8);
        else if (kind === 2) bytes = Uint8Array.from([...bytes.subarray(0, at), rand(256), ...bytes.subarray(at)]);
        else bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1 + rand(8))]);
      }
      try {
        const m = parseModel(bytes);
        // Whatever parsed must also survive a re-encode and a re-parse.
        parseModel(encodeModel(m));
        parsed++;
      } catch (e) {
        if (!(e instanceof OnnxFormatError)) throw new Error(`mutation ${i}: ${String(e)}`, { cause: e });
        rejected++;
      }
    }
    expect(parsed + rejected).toBe(500);
    expect(rejected).toBeGreaterThan(50);
  });
});

describe('ONNX external data', () => {
  const values = Float32Array.from({ length: 24 }, (_, i) => (i - 12) / 4);
  const ids = BigInt64Array.from([1n, -2n, 9007199254740993n]);
  let dir: string;
  let dataFile: Uint8Array;

  /** A Gather model whose two initializers live in weights.bin at offsets 4096 and 8 (a misaligned one). */
  function externalModel(location = 'weights.bin'): OnnxModel {
    const w: OnnxTensor = { name: 'w', dataType: DataType.FLOAT, dims: [4, 6], external: { location, offset: 4096, length: 96 } };
    const i: OnnxTensor = { name: 'i', dataType: DataType.INT64, dims: [3], external: { location, offset: 8 } };
    return makeModel(
      makeGraph({
        nodes: [makeNode('Gather', ['w', 'i'], ['y'])],
        inputs: [],
        outputs: [makeValueInfo('y', DataType.FLOAT, [3, 6])],
        initializers: [w, i],
      }),
    );
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-ext-'));
    dataFile = new Uint8Array(4096 + 96);
    dataFile.set(new Uint8Array(ids.buffer), 8);
    dataFile.set(new Uint8Array(values.buffer), 4096);
    await writeFile(join(dir, 'weights.bin'), dataFile);
    await writeFile(join(dir, 'model.onnx'), encodeModel(externalModel()));
    await writeFile(join(dir, 'escape.onnx'), encodeModel(externalModel('../weights.bin')));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('records external_data entries on parse and writes them back', () => {
    const m = parseModel(encodeModel(externalModel()));
    expect(m.graph.initializers.map((t) => t.external)).toEqual([
      { location: 'weights.bin', offset: 4096, length: 96 },
      { location: 'weights.bin', offset: 8 },
    ]);
    expect(m.graph.initializers[0]!.rawData).toBeUndefined();
    expect(() => tensorToTypedArray(m.graph.initializers[0]!)).toThrow(/external file "weights.bin"/);
  });

  it('loads a model from a path and reads its initializers lazily through the Node file reader', async () => {
    const progress: [number, number | undefined][] = [];
    const m = await loadOnnx(join(dir, 'model.onnx'), { onProgress: (loaded, total) => progress.push([loaded, total]) });
    const size = readFileSync(join(dir, 'model.onnx')).length;
    expect(progress.at(-1)).toEqual([size, size]);
    const [w, i] = m.graph.initializers;
    expect(list(await readTensorArray(w!, m.externalData))).toEqual(list(values));
    expect(list(await readTensorArray(i!, m.externalData))).toEqual(list(ids));
    const fileUrl = await loadOnnx(new URL(`file://${join(dir, 'model.onnx')}`));
    expect(list(await readTensorArray(fileUrl.graph.initializers[1]!, fileUrl.externalData))).toEqual(list(ids));
    await expect(loadOnnx(join(dir, 'model.onnx'), { signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
  });

  it('refuses external locations outside the model directory, ranges past the end, and missing files', async () => {
    const escape = await loadOnnx(join(dir, 'escape.onnx'));
    await expect(readTensorArray(escape.graph.initializers[0]!, escape.externalData)).rejects.toThrow(/not a relative path inside/);
    const m = parseModel(encodeModel(externalModel()));
    const shifted: OnnxTensor = { ...m.graph.initializers[0]!, external: { location: 'weights.bin', offset: 4097 } };
    const reader = (await loadOnnx(join(dir, 'model.onnx'))).externalData!;
    await expect(readTensorArray(shifted, reader)).rejects.toThrow(/runs past the end of weights.bin/);
    await expect(readTensorArray({ ...shifted, external: { location: 'nope.bin', offset: 0 } }, reader)).rejects.toThrow(OnnxLoadError);
    await expect(readTensorArray(m.graph.initializers[0]!)).rejects.toThrow(/no external data reader/);
  });

  it('serves external data from memory without copies', async () => {
    const m = parseModel(encodeModel(externalModel()));
    const reader = memoryReader({ 'weights.bin': dataFile });
    const w = await readTensorArray(m.graph.initializers[0]!, reader);
    expect(w.buffer).toBe(dataFile.buffer);
    expect(list(w)).toEqual(list(values));
  });

  describe('over HTTP', () => {
    let server: Server;
    let base: string;
    const requests: { path: string; range: string | undefined }[] = [];
    let honourRange = true;

    beforeAll(async () => {
      server = createServer((req, res) => {
        const path = req.url!;
        requests.push({ path, range: req.headers.range });
        const body = path.endsWith('weights.bin') ? dataFile : path.endsWith('model.onnx') ? encodeModel(externalModel()) : undefined;
        if (!body) return void res.writeHead(404).end();
        const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
        if (range && honourRange) {
          const part = body.subarray(Number(range[1]), Number(range[2]) + 1);
          res.writeHead(206, { 'content-length': part.length }).end(part);
        } else res.writeHead(200, { 'content-length': body.length }).end(body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/models/`;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('fetches the model with byte-accurate progress and each tensor with a Range request', async () => {
      requests.length = 0;
      honourRange = true;
      const progress: [number, number | undefined][] = [];
      const m = await loadOnnx(`${base}model.onnx`, { onProgress: (l, t) => progress.push([l, t]) });
      const size = encodeModel(externalModel()).length;
      expect(progress.at(-1)).toEqual([size, size]);
      expect(list(await readTensorArray(m.graph.initializers[0]!, m.externalData))).toEqual(list(values));
      expect(list(await readTensorArray(m.graph.initializers[1]!, m.externalData))).toEqual(list(ids));
      expect(requests.slice(1)).toEqual([
        { path: '/models/weights.bin', range: 'bytes=4096-4191' },
        { path: '/models/weights.bin', range: 'bytes=8-31' },
      ]);
    });

    it('falls back to one whole-file download when the server ignores Range', async () => {
      requests.length = 0;
      honourRange = false;
      const reader = urlReader(base);
      const m = parseModel(encodeModel(externalModel()));
      expect(list(await readTensorArray(m.graph.initializers[0]!, reader))).toEqual(list(values));
      expect(list(await readTensorArray(m.graph.initializers[1]!, reader))).toEqual(list(ids));
      expect(requests.length).toBe(1);
    });

    it('reports HTTP errors as OnnxLoadError', async () => {
      await expect(loadOnnx(`${base}missing.onnx`)).rejects.toThrow(OnnxLoadError);
      await expect(loadOnnx(`${base}missing.onnx`)).rejects.toThrow(/HTTP 404/);
    });
  });
});

describe('standalone tensors', () => {
  it('round-trips every data field through encodeTensor / parseTensor', () => {
    const tensors: OnnxTensor[] = [
      { name: 'f', dataType: DataType.FLOAT, dims: [3], floatData: Float32Array.from([1.5, -0, Infinity]) },
      { name: 'c', dataType: DataType.COMPLEX64, dims: [1], floatData: Float32Array.from([1, 2]) },
      { name: 'i', dataType: DataType.INT32, dims: [2, 2], int32Data: Int32Array.from([-1, 2 ** 31 - 1, -(2 ** 31), 0]) },
      { name: 'h', dataType: DataType.FLOAT16, dims: [2], int32Data: Int32Array.from([0x3c00, 0xfbff]) },
      { name: 'q', dataType: DataType.INT4, dims: [3], int32Data: Int32Array.from([0x21, 0x0f]) },
      { name: 'l', dataType: DataType.INT64, dims: [3], int64Data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 0n]) },
      { name: 'd', dataType: DataType.DOUBLE, dims: [1], doubleData: Float64Array.from([Math.PI]) },
      { name: 'u', dataType: DataType.UINT64, dims: [2], uint64Data: BigUint64Array.from([2n ** 64n - 1n, 7n]) },
      { name: 's', dataType: DataType.STRING, dims: [2], stringData: [new TextEncoder().encode('hé'), new Uint8Array(0)] },
      { name: 'e', dataType: DataType.FLOAT, dims: [0, 4] },
      { name: 'b', dataType: DataType.BOOL, dims: [3], rawData: Uint8Array.from([1, 0, 1]), docString: 'flags' },
    ];
    for (const t of tensors) expect(parseTensor(encodeTensor(t)), t.name).toEqual(t);
    expect(list(tensorToTypedArray(tensors[3]!))).toEqual([0x3c00, 0xfbff]);
    expect(tensorToTypedArray(tensors[3]!)).toBeInstanceOf(Uint16Array);
    expect(list(tensorToTypedArray(tensors[4]!))).toEqual([0x21, 0x0f]);
    expect(tensorToTypedArray(tensors[9]!)).toEqual(new Float32Array(0));
  });

  it('accepts unpacked repeated data and packed dims (both are valid protobuf)', () => {
    // dims: packed [2]; data_type FLOAT; float_data 1.0 and 2.0 as two unpacked fixed32 fields.
    const bytes = Uint8Array.from([0x0a, 0x01, 0x02, 0x10, 0x01, 0x25, 0, 0, 0x80, 0x3f, 0x25, 0, 0, 0, 0x40]);
    const t = parseTensor(bytes);
    expect(t.dims).toEqual([2]);
    expect(list(tensorToTypedArray(t))).toEqual([1, 2]);
  });
});
