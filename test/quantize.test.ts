// The quantizer (src/quant/) and `memvp quantize`: on a small model built with the ONNX builder (embedding
// Gather, a MatMul chain, a MatMul whose K is not a multiple of the block (a partial last block), the vocabulary
// projection) it must rewrite the MatMuls into com.microsoft MatMulNBits and the embedding Gather into
// GatherBlockQuantized, drop the replaced weights, report sizes and errors, and write a file that onnxruntime (WASM)
// runs: its result equals a model holding the dequantized weights and table as plain MatMuls and Gather (the
// layouts are onnxruntime's), and our executor matches it to 1e-4. Tied weights (the table also read by a MatMul).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { InferenceSession } from '../src/graph/session.js';
import type { HostTensor } from '../src/graph/tensor.js';
import { KernelShapeError } from '../src/gpu/index.js';
import { gatherNbitsReference } from '../src/kernels/gather_nbits.js';
import { dequantizeBlockwise, type QuantBits } from '../src/kernels/quant.js';
import {
  attr,
  DataType,
  encodeModel,
  getAttribute,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
  parseModel,
  tensorByteLength,
  tensorToTypedArray,
  type OnnxModel,
} from '../src/onnx/index.js';
import { QuantizeError, quantizeModel, type QuantizeModelOptions } from '../src/quant/index.js';
import { gpu, randn } from './helpers/gpu.js';
import { maxAbsDiff, ortRun, ortSession } from './helpers/ort.js';
import { captureConsole } from './helpers/console.js';

const V = 50;
const d = 64;
const WEIGHTS = { w1: [d, 96], w2: [96, d], w3: [d, 40], w4: [40, d], lm: [d, V] } as const;

/** ids -> Gather(emb) -> x W1 -> Relu -> x W2 -> x W3 -> x W4 (K = 40) -> x LM head -> logits. */
function smallModel(): OnnxModel {
  const nodes = [
    makeNode('Gather', ['emb', 'ids'], ['x0'], {}, { name: 'embed' }),
    makeNode('MatMul', ['x0', 'w1'], ['x1'], {}, { name: 'mm1' }),
    makeNode('Relu', ['x1'], ['x1r']),
    makeNode('MatMul', ['x1r', 'w2'], ['x2'], {}, { name: 'mm2' }),
    makeNode('MatMul', ['x2', 'w3'], ['x3'], {}, { name: 'mm3' }),
    makeNode('MatMul', ['x3', 'w4'], ['x4'], {}, { name: 'mm4' }),
    makeNode('MatMul', ['x4', 'lm'], ['logits'], {}, { name: 'lm_head' }),
  ];
  const initializers = [
    makeTensor('emb', DataType.FLOAT, [V, d], randn(V * d, 1)),
    ...Object.entries(WEIGHTS).map(([name, [K, N]], i) => makeTensor(name, DataType.FLOAT, [K, N], randn(K * N, 10 + i, 0.2))),
  ];
  const graph = makeGraph({
    nodes,
    initializers,
    inputs: [makeValueInfo('ids', DataType.INT64, [1, 'L'])],
    outputs: [makeValueInfo('logits', DataType.FLOAT, [1, 'L', V])],
  });
  return makeModel(graph, { opsets: { '': 17 } });
}

const ids: HostTensor = { type: 'int64', dims: [1, 6], data: BigInt64Array.from([3, 17, 0, 49, 8, 22].map(BigInt)) };
const initializer = (m: OnnxModel, name: string) => m.graph.initializers.find((t) => t.name === name);

/** The quantized model with every MatMulNBits (GatherBlockQuantized) turned back into a MatMul (Gather) over its dequantized f32 weight (table). */
function dequantizedTwin(m: OnnxModel): OnnxModel {
  const initializers = [...m.graph.initializers];
  const nodes = m.graph.nodes.map((node) => {
    if (node.opType === 'GatherBlockQuantized') {
      const [bits, blockSize] = ['bits', 'block_size'].map((a) => Number(getAttribute(node, a, 'int')));
      const [packed, , scales, zeroPoints] = node.inputs.map((name) => initializer(m, name));
      const [rows, cols] = [packed!.dims[0]!, (packed!.dims[1]! * 8) / bits!];
      const q = {
        packed: tensorToTypedArray(packed!) as Uint8Array,
        scales: tensorToTypedArray(scales!) as Float32Array,
        ...(zeroPoints && { zeroPoints: tensorToTypedArray(zeroPoints) as Uint8Array }),
      };
      const name = `${node.name}.dequantized`;
      const table = gatherNbitsReference(q, Int32Array.from({ length: rows }, (_, i) => i), { rows, cols, bits: bits as QuantBits, blockSize: blockSize! });
      initializers.push(makeTensor(name, DataType.FLOAT, [rows, cols], table));
      return makeNode('Gather', [name, node.inputs[1]!], node.outputs, {}, { name: node.name });
    }
    if (node.opType !== 'MatMulNBits') return node;
    const [K, N, bits, blockSize] = ['K', 'N', 'bits', 'block_size'].map((a) => Number(getAttribute(node, a, 'int')));
    const [packed, scales, zeroPoints] = node.inputs.slice(1).map((name) => initializer(m, name));
    const q = {
      packed: tensorToTypedArray(packed!) as Uint8Array,
      scales: tensorToTypedArray(scales!) as Float32Array,
      ...(zeroPoints && { zeroPoints: tensorToTypedArray(zeroPoints) as Uint8Array }),
    };
    const name = `${node.name}.dequantized`;
    initializers.push(makeTensor(name, DataType.FLOAT, [K!, N!], dequantizeBlockwise(q, K!, N!, { bits: bits as QuantBits, blockSize: blockSize! })));
    return makeNode('MatMul', [node.inputs[0]!, name], node.outputs, {}, { name: node.name });
  });
  return { ...m, graph: { ...m.graph, nodes, initializers } };
}

/** onnxruntime on the quantized file equals its dequantized twin, and our executor matches both to 1e-4. */
async function runsEverywhere(m: OnnxModel): Promise<Float32Array> {
  const bytes = encodeModel(m);
  const ref = (await ortRun(await ortSession(bytes), { ids })).logits!;
  const twin = (await ortRun(await ortSession(encodeModel(dequantizedTwin(m))), { ids })).logits!;
  expect(maxAbsDiff(ref, twin), 'onnxruntime: MatMulNBits / GatherBlockQuantized vs dequantize-then-MatMul / Gather').toBeLessThanOrEqual(1e-4);
  const session = await InferenceSession.create(parseModel(bytes), { gpu: await gpu() });
  const ours = (await session.run({ ids })).get('logits') as HostTensor;
  session.dispose();
  expect(maxAbsDiff(ours.data as Float32Array, ref), 'our executor vs onnxruntime on the quantized file').toBeLessThanOrEqual(1e-4);
  return ref;
}

describe('quantizeModel', () => {
  it.each([
    [4, false],
    [8, false],
    [4, true],
  ] as [QuantBits, boolean][])('%i-bit (symmetric: %s): rewrites the quantizable MatMuls, reports, runs in onnxruntime and here', async (bits, symmetric) => {
    const original = smallModel();
    const { model, report } = await quantizeModel(original, { bits, symmetric });
    expect(original.graph.nodes.filter((n) => n.opType === 'MatMul')).toHaveLength(5);

    const byName = new Map(model.graph.nodes.map((n) => [n.name, n]));
    for (const name of ['mm1', 'mm2', 'mm3', 'mm4', 'lm_head']) {
      const node = byName.get(name)!;
      expect(node.opType).toBe('MatMulNBits');
      expect(node.domain).toBe('com.microsoft');
      expect(node.inputs).toHaveLength(symmetric ? 3 : 4);
      const B = initializer(model, node.inputs[1]!)!;
      const K = Number(getAttribute(node, 'K', 'int'));
      const N = Number(getAttribute(node, 'N', 'int'));
      const nBlocks = Math.ceil(K / 32);
      expect([K, N, Number(getAttribute(node, 'bits', 'int')), Number(getAttribute(node, 'block_size', 'int'))]).toEqual([...WEIGHTS[({ mm1: 'w1', mm2: 'w2', mm3: 'w3', mm4: 'w4', lm_head: 'lm' } as const)[name as 'mm1']], bits, 32]);
      expect([B.dataType, B.dims]).toEqual([DataType.UINT8, [N, nBlocks, (32 * bits) / 8]]);
      const scales = initializer(model, node.inputs[2]!)!;
      expect([scales.dataType, scales.dims]).toEqual([DataType.FLOAT, [N, nBlocks]]);
      if (!symmetric) {
        const zp = initializer(model, node.inputs[3]!)!;
        expect([zp.dataType, zp.dims]).toEqual([DataType.UINT8, [N, Math.ceil((nBlocks * bits) / 8)]]);
      }
    }
    const embed = byName.get('embed')!;
    expect([embed.opType, embed.domain, embed.inputs[1]]).toEqual(['GatherBlockQuantized', 'com.microsoft', 'ids']);
    expect(['bits', 'block_size', 'gather_axis', 'quantize_axis'].map((a) => Number(getAttribute(embed, a, 'int')))).toEqual([bits, 32, 0, 1]);
    const tableInputs = [embed.inputs[0], ...embed.inputs.slice(2)].map((name) => initializer(model, name!)!);
    expect(tableInputs.map((t) => [t.dataType, t.dims])).toEqual([
      [DataType.UINT8, [V, (d * bits) / 8]],
      [DataType.FLOAT, [V, d / 32]],
      ...(symmetric ? [] : [[DataType.UINT8, [V, Math.ceil(((d / 32) * bits) / 8)]]]),
    ]);
    expect(model.opsetImports).toContainEqual({ domain: 'com.microsoft', version: 1 });
    // The replaced f32 weights and table are gone.
    expect(model.graph.initializers.map((t) => t.name).filter((n) => !n.includes('_'))).toEqual([]);

    expect(report.quantized.map((q) => [q.weight, q.K, q.N, q.nodes])).toEqual([
      ['w1', d, 96, ['mm1']],
      ['w2', 96, d, ['mm2']],
      ['w3', d, 40, ['mm3']],
      ['w4', 40, d, ['mm4']],
      ['lm', d, V, ['lm_head']],
    ]);
    expect(report.tables.map((t) => [t.table, t.rows, t.cols, t.nodes])).toEqual([['emb', V, d, ['embed']]]);
    expect(report.skipped).toEqual([]);
    expect(report.skippedGathers).toEqual([]);
    const bytes = (m: OnnxModel) => m.graph.initializers.reduce((n, t) => n + tensorByteLength(t), 0);
    expect([report.weightBytesBefore, report.weightBytesAfter]).toEqual([bytes(original), bytes(model)]);
    expect(report.weightBytesAfter).toBeLessThan(report.weightBytesBefore);
    for (const q of [...report.quantized, ...report.tables.map((t) => ({ ...t, weight: t.table }))]) {
      // Rounding to the nearest level: at most half a step, a step being range / (2^bits - 1) (amax / (2^(bits-1) - 1) symmetric).
      const w = tensorToTypedArray(initializer(original, q.weight)!) as Float32Array;
      const amax = w.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      const step = symmetric ? amax / (2 ** (bits - 1) - 1) : (2 * amax) / (2 ** bits - 1);
      expect(q.maxAbsError).toBeGreaterThan(0);
      expect(q.maxAbsError).toBeLessThanOrEqual(step / 2 + 1e-6);
      expect(q.rmsError).toBeGreaterThan(0);
      expect(q.rmsError).toBeLessThan(q.maxAbsError);
    }

    const quantizedLogits = await runsEverywhere(model);
    const f32Logits = (await ortRun(await ortSession(encodeModel(original)), { ids })).logits!;
    // The quantization error itself, against the logits' size (five quantized random layers, no normalisation
    // between them, so it compounds): under 30% at 4 bits (16-20% seen), under 2% at 8 bits.
    const scale = f32Logits.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(maxAbsDiff(quantizedLogits, f32Logits) / scale).toBeLessThan(bits === 8 ? 0.02 : 0.3);
  });

  it('--skip-embeddings keeps the embedding table and the vocabulary projection (N = the Gather table\'s rows) in f32', async () => {
    const { model, report } = await quantizeModel(smallModel(), { bits: 4, skipEmbeddings: true });
    const lm = model.graph.nodes.find((n) => n.name === 'lm_head')!;
    expect([lm.opType, lm.inputs[1]]).toEqual(['MatMul', 'lm']);
    expect(initializer(model, 'lm')).toBeDefined();
    const embed = model.graph.nodes.find((n) => n.name === 'embed')!;
    expect([embed.opType, embed.inputs[0]]).toEqual(['Gather', 'emb']);
    expect(initializer(model, 'emb')).toBeDefined();
    expect(report.quantized.map((q) => q.weight)).toEqual(['w1', 'w2', 'w3', 'w4']);
    expect(report.tables).toEqual([]);
    expect(report.skipped.map((s) => s.node)).toEqual(['lm_head']);
    expect(report.skipped[0]!.reason).toMatch(/vocabulary projection \(N = 50\)/);
    expect(report.skippedGathers).toEqual([{ node: 'embed', table: 'emb', reason: 'embedding table kept in f32 (--skip-embeddings)' }]);
    await runsEverywhere(model);
  });

  it('a token id outside the table fails with a typed error naming the node, as onnxruntime does', async () => {
    const bytes = encodeModel((await quantizeModel(smallModel(), { bits: 4 })).model);
    const bad: HostTensor = { type: 'int64', dims: [1, 2], data: BigInt64Array.from([1n, 50n]) };
    await expect(ortRun(await ortSession(bytes), { ids: bad })).rejects.toThrow(/out of data bounds/);
    const session = await InferenceSession.create(parseModel(bytes), { gpu: await gpu() });
    const err = await session.run({ ids: bad }).catch((e: unknown) => e);
    session.dispose();
    expect(err).toBeInstanceOf(KernelShapeError);
    expect((err as Error).message).toBe('GatherBlockQuantized embed: id 50 at position 1 is outside [-50, 50), an axis of size 50');
  });

  it('tied weights: a MatMul reading the table as B is quantized in its own layout too; a Transpose of it keeps the f32 table for both', async () => {
    // ids -> Gather(E [52, 64]) -> x W [64, 52] -> p; p E (K = 52: E read as MatMul's B) -> x E^T (Transpose) -> logits.
    const Vt = 52;
    const tied = (): OnnxModel => {
      const graph = makeGraph({
        nodes: [
          makeNode('Gather', ['E', 'ids'], ['x0'], {}, { name: 'embed' }),
          makeNode('MatMul', ['x0', 'W'], ['p'], {}, { name: 'mm' }),
          makeNode('MatMul', ['p', 'E'], ['x1'], {}, { name: 'soft_embed' }),
          makeNode('Transpose', ['E'], ['ET'], { perm: attr.ints([1, 0]) }, { name: 'tied_T' }),
          makeNode('MatMul', ['x1', 'ET'], ['logits'], {}, { name: 'lm_head' }),
        ],
        initializers: [makeTensor('E', DataType.FLOAT, [Vt, d], randn(Vt * d, 30, 0.3)), makeTensor('W', DataType.FLOAT, [d, Vt], randn(d * Vt, 31, 0.1))],
        inputs: [makeValueInfo('ids', DataType.INT64, [1, 'L'])],
        outputs: [makeValueInfo('logits', DataType.FLOAT, [1, 'L', Vt])],
      });
      return makeModel(graph, { opsets: { '': 17 } });
    };
    const withTranspose = await quantizeModel(tied(), { bits: 4 });
    const ops = (m: OnnxModel) => m.graph.nodes.map((n) => n.opType);
    expect(ops(withTranspose.model)).toEqual(['Gather', 'MatMulNBits', 'MatMulNBits', 'Transpose', 'MatMul']);
    expect(withTranspose.report.quantized.map((q) => [q.weight, q.K, q.N])).toEqual([['W', d, Vt], ['E', Vt, d]]);
    expect(withTranspose.report.skippedGathers).toEqual([
      { node: 'embed', table: 'E', reason: 'the f32 table stays anyway (tied_T (Transpose) reads it): a quantized copy would only add bytes' },
    ]);
    expect(initializer(withTranspose.model, 'E')).toBeDefined();
    await runsEverywhere(withTranspose.model);

    // Without the Transpose (the head is x1 W), nothing needs E in f32: both of its uses are quantized and E goes.
    const noTranspose = tied();
    noTranspose.graph.nodes.splice(3, 2, makeNode('MatMul', ['x1', 'W'], ['logits'], {}, { name: 'lm_head' }));
    const q = await quantizeModel(noTranspose, { bits: 8 });
    expect(ops(q.model)).toEqual(['GatherBlockQuantized', 'MatMulNBits', 'MatMulNBits', 'MatMulNBits']);
    expect(q.report.tables.map((t) => [t.table, t.nodes])).toEqual([['E', ['embed']]]);
    expect(initializer(q.model, 'E')).toBeUndefined();
    await runsEverywhere(q.model);
  });

  it('rejects bits other than 4 and 8, and block sizes that are not a power of two in 16..256', async () => {
    for (const [options, message] of [
      [{ bits: 3 }, 'bits: must be 4 or 8, got 3'],
      [{ bits: 4, blockSize: 20 }, 'block size: must be a power of two in 16..256, got 20'],
      [{ bits: 8, blockSize: 512 }, 'block size: must be a power of two in 16..256, got 512'],
    ] as [QuantizeModelOptions, string][]) {
      const err = await quantizeModel(smallModel(), options).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QuantizeError);
      expect((err as Error).message).toBe(message);
    }
  });
});

describe('memvp quantize', () => {
  const dir = mkdtempSync(join(tmpdir(), 'memvp-quantize-'));
  const input = join(dir, 'model.onnx');
  writeFileSync(input, encodeModel(smallModel()));
  const { log, error, printed } = captureConsole();

  it('writes the quantized model and prints sizes and per-weight errors', async () => {
    const output = join(dir, 'q4.onnx');
    expect(await main(['quantize', input, output, '--bits', '4', '--block', '32'])).toBe(0);
    const written = readFileSync(output);
    expect(parseModel(written)).toEqual(parseModel(encodeModel((await quantizeModel(smallModel(), { bits: 4 })).model)));
    const text = printed(log);
    expect(text).toContain('4-bit, block 32, with zero points');
    expect(text).toMatch(new RegExp(`file: .*\\(${readFileSync(input).length} B\\) -> .*\\(${written.length} B\\)`));
    expect(text).toMatch(/weights: .* -> .*%/);
    expect(text).toMatch(/w1 \[64, 96\]  max abs err \d\.\d{3}e-\d  rms err \d\.\d{3}e-\d  \(mm1\)/);
    expect(text).toMatch(/w4 \[40, 64\]  max abs err .*\(mm4\)/);
    expect(text).toMatch(/quantized 1 embedding table\(s\):\n  emb \[50, 64\]  max abs err \d\.\d{3}e-\d  rms err \d\.\d{3}e-\d  \(embed\)/);
  });

  it.each([
    [['--bits', '3'], 'memvp quantize: UsageError: --bits must be one of 4, 8, got "3"'],
    [['--bits', '4', '--block', '20'], 'memvp quantize: QuantizeError: block size: must be a power of two in 16..256, got 20'],
    [['--bits', 'four'], 'memvp quantize: UsageError: --bits must be one of 4, 8, got "four"'],
    [[], 'memvp quantize: UsageError: quantize needs --bits 4 or --bits 8'],
  ])('%j fails with a clear message', async (flags, message) => {
    expect(await main(['quantize', input, join(dir, 'bad.onnx'), ...flags])).not.toBe(0);
    expect(printed(error)).toBe(message);
  });

  it('fails on a file that is not ONNX, naming where the bytes went wrong', async () => {
    const notOnnx = join(dir, 'notes.onnx');
    writeFileSync(notOnnx, 'these are not the bytes of a model\n');
    expect(await main(['quantize', notOnnx, join(dir, 'out.onnx'), '--bits', '4'])).toBe(1);
    expect(printed(error)).toMatch(/^memvp quantize: OnnxFormatError: ONNX format error at .*byte \d+/);
  });
});
