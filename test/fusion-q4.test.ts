// The MemVP FFN fusion on quantized models (src/graph/passes/fuse-memvp-ffn.ts with MatMulNBits weights): a
// two-layer FFN stack in the form the project's decoder exports (RMSNorm, SwiGLU, memory branch sharing one
// Transpose(memory_k)), quantized by quantizeModel. The fusion must fire when the kernels can read the weights and
// must leave the MatMulNBits nodes alone when they cannot; fused, unfused and onnxruntime (WASM) agree to 1e-4.
// The model zoo's MemVP decoder is quantized and checked too (its token embedding becomes a GatherBlockQuantized).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InferenceSession } from '../src/graph/session.js';
import type { HostTensor } from '../src/graph/tensor.js';
import { DataType, attr, encodeModel, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo, parseModel, type OnnxModel, type OnnxNode, type OnnxTensor } from '../src/onnx/index.js';
import { quantizeModel, type QuantizeModelOptions } from '../src/quant/index.js';
import { gpu, randn } from './helpers/gpu.js';
import { maxAbsDiff, ortRun, ortSession } from './helpers/ort.js';

const d = 64;
const n = 24;
const LAYERS = 2;

/** Two FFN layers as the decoder exports them: h + W2(SiLU(u W1) * u W3) + s SiLU(u K^T) V with u = RMSNorm(h). */
function ffnStack(D: number): OnnxModel {
  const nodes: OnnxNode[] = [makeNode('Transpose', ['memory_k'], ['kT'], { perm: attr.ints([1, 0]) })];
  const inits: OnnxTensor[] = [
    makeTensor('two', DataType.FLOAT, [], [2]),
    makeTensor('eps', DataType.FLOAT, [], [1e-6]),
    makeTensor('one', DataType.FLOAT, [], [1]),
    makeTensor('s', DataType.FLOAT, [], [0.1]),
  ];
  let h = 'h';
  for (let l = 0; l < LAYERS; l++) {
    const p = (x: string) => `/layers.${l}/${x}`;
    const mm = (a: string, b: string, out: string) => makeNode('MatMul', [a, b], [p(out)], {}, { name: p(`${out}/MatMul`) });
    nodes.push(
      makeNode('Pow', [h, 'two'], [p('pow')]),
      makeNode('ReduceMean', [p('pow')], [p('mean')], { axes: attr.ints([-1]), keepdims: attr.int(1) }),
      makeNode('Add', [p('mean'), 'eps'], [p('var')]),
      makeNode('Sqrt', [p('var')], [p('std')]),
      makeNode('Div', ['one', p('std')], [p('inv')]),
      makeNode('Mul', [h, p('inv')], [p('normed')]),
      makeNode('Mul', [p('normed'), p('norm.w')], [p('u')]),
      mm(p('u'), p('w1.weight'), 'w1'),
      makeNode('Sigmoid', [p('w1')], [p('sig')]),
      makeNode('Mul', [p('w1'), p('sig')], [p('silu')]),
      mm(p('u'), p('w3.weight'), 'w3'),
      makeNode('Mul', [p('silu'), p('w3')], [p('gated')]),
      mm(p('gated'), p('w2.weight'), 'w2'),
      makeNode('Add', [h, p('w2')], [p('add1')]),
      makeNode('MatMul', [p('u'), 'kT'], [p('uk')]),
      makeNode('Sigmoid', [p('uk')], [p('sig1')]),
      makeNode('Mul', [p('uk'), p('sig1')], [p('p')]),
      makeNode('MatMul', [p('p'), 'memory_v'], [p('pv')]),
      makeNode('Mul', [p('pv'), 's'], [p('mem')]),
      makeNode('Add', [p('add1'), p('mem')], [p('out')]),
    );
    inits.push(
      makeTensor(p('norm.w'), DataType.FLOAT, [d], randn(d, 10 + l, 0.2).map((x) => 1 + x)),
      makeTensor(p('w1.weight'), DataType.FLOAT, [d, D], randn(d * D, 20 + l, 0.1)),
      makeTensor(p('w3.weight'), DataType.FLOAT, [d, D], randn(d * D, 30 + l, 0.1)),
      makeTensor(p('w2.weight'), DataType.FLOAT, [D, d], randn(D * d, 40 + l, 0.1)),
    );
    h = p('out');
  }
  nodes.push(makeNode('Identity', [h], ['y']));
  const graph = makeGraph({
    nodes,
    initializers: inits,
    inputs: [makeValueInfo('h', DataType.FLOAT, [1, 'L', d]), makeValueInfo('memory_k', DataType.FLOAT, [n, d]), makeValueInfo('memory_v', DataType.FLOAT, [n, d])],
    outputs: [makeValueInfo('y', DataType.FLOAT, [1, 'L', d])],
  });
  return makeModel(graph, { opsets: { '': 17 } });
}

const f32 = (dims: number[], data: Float32Array): HostTensor => ({ type: 'float32', dims, data });
const feedsFor = (L: number, seed: number) => ({
  h: f32([1, L, d], randn(L * d, seed)),
  memory_k: f32([n, d], randn(n * d, seed + 1, 0.3)),
  memory_v: f32([n, d], randn(n * d, seed + 2, 0.3)),
});

/** Runs `model` fused, unfused and in onnxruntime on a prefill (L = 5) and a decode-shaped run (L = 1). */
async function check(model: OnnxModel) {
  const bytes = encodeModel(model);
  const ctx = await gpu();
  const ort = await ortSession(bytes);
  const stats = [];
  for (const fusions of [true, false]) {
    const s = await InferenceSession.create(parseModel(bytes), { gpu: ctx, fusions });
    stats.push(s.stats);
    for (const L of [5, 1]) {
      const feeds = feedsFor(L, 100 + L);
      const ref = await ortRun(ort, feeds);
      const ours = (await s.run(feeds)).get('y') as HostTensor;
      expect(maxAbsDiff(ours.data as Float32Array, ref.y!), `L=${L} fusions=${fusions} vs onnxruntime`).toBeLessThanOrEqual(1e-4);
    }
    s.dispose();
  }
  return stats[0]!;
}

async function quantized(options: QuantizeModelOptions, D = 128): Promise<OnnxModel> {
  return (await quantizeModel(ffnStack(D), options)).model;
}

describe('MemVP FFN fusion with MatMulNBits weights', () => {
  it.each([
    ['4-bit, zero points', { bits: 4 }],
    ['4-bit, symmetric', { bits: 4, symmetric: true }],
    ['8-bit, block 16', { bits: 8, blockSize: 16 }],
    ['4-bit, block 128', { bits: 4, blockSize: 128 }],
  ] as [string, QuantizeModelOptions][])('%s: every layer fuses, matches unfused and onnxruntime', async (_, options) => {
    const stats = await check(await quantized(options));
    expect(stats.fusions.memvpFfn).toBe(LAYERS);
    expect(stats.ops['memvp.MemVpFfn']).toBe(LAYERS);
    expect(stats.ops['com.microsoft.MatMulNBits']).toBeUndefined();
  });

  it.each([
    [112, 4],
    [344, 4],
    [344, 8],
  ] as const)('fuses when W2\'s K = D = %i ends in a partial block (%i-bit)', async (D, bits) => {
    const stats = await check(await quantized({ bits }, D));
    expect(stats.fusions.memvpFfn).toBe(LAYERS);
    expect(stats.ops['com.microsoft.MatMulNBits']).toBeUndefined();
    expect(stats.ops.MatMul).toBeUndefined();
  });

  it('leaves 4-bit blocks of 16 (8 bytes, below the kernels\' 16-byte loads) unfused', async () => {
    const stats = await check(await quantized({ bits: 4, blockSize: 16 }));
    expect(stats.fusions.memvpFfn).toBe(0);
    expect(stats.ops['com.microsoft.MatMulNBits']).toBe(3 * LAYERS);
  });

  it('leaves a layer whose W1 and W3 differ in format unfused', async () => {
    // Layer 0's W3 back in f32: its W1 stays 4-bit.
    const f32Model = ffnStack(128);
    const q = await quantized({ bits: 4 });
    const name = '/layers.0/w3/MatMul';
    const graph = {
      ...q.graph,
      nodes: q.graph.nodes.map((node) => (node.name === name ? f32Model.graph.nodes.find((x) => x.name === name)! : node)),
      initializers: [...q.graph.initializers, f32Model.graph.initializers.find((t) => t.name === '/layers.0/w3.weight')!],
    };
    const stats = await check({ ...q, graph });
    expect(stats.fusions.memvpFfn).toBe(LAYERS - 1);
    expect(stats.ops['com.microsoft.MatMulNBits']).toBe(2);
  });
});

const DECODER = 'public/models/sortofclevr-llama/decoder.onnx';

describe('the quantized model-zoo decoder', () => {
  it.each([4, 8] as const)('%i-bit: attention and MemVP FFN fuse on all 4 layers, prefill matches unfused and onnxruntime', async (bits) => {
    const { model, report } = await quantizeModel(parseModel(readFileSync(DECODER)), { bits });
    expect(report.tables.map((t) => [t.table, t.rows, t.cols])).toEqual([['lm.tok_embeddings.weight', 45, 128]]);
    const bytes = encodeModel(model);
    const ctx = await gpu();
    const i64 = (values: number[]): HostTensor => ({ type: 'int64', dims: [1, values.length], data: BigInt64Array.from(values.map(BigInt)) });
    const P = 2;
    const feeds: Record<string, HostTensor> = {
      input_ids: i64([1, 7, 3, 12]),
      position_ids: i64([P, P + 1, P + 2, P + 3]),
      memory_k: f32([96, 128], randn(96 * 128, 1, 0.5)),
      memory_v: f32([96, 128], randn(96 * 128, 2, 0.5)),
    };
    for (let i = 0; i < 4; i++) {
      feeds[`past_key_${i}`] = f32([1, 2, P, 32], randn(2 * P * 32, 10 + i));
      feeds[`past_value_${i}`] = f32([1, 2, P, 32], randn(2 * P * 32, 20 + i));
    }
    const ref = await ortRun(await ortSession(bytes), feeds);
    for (const fusions of [true, false]) {
      const s = await InferenceSession.create(parseModel(bytes), { gpu: ctx, fusions });
      expect(s.stats.ops['com.microsoft.GatherBlockQuantized']).toBe(1);
      if (fusions) {
        expect(s.stats.fusions.attention).toBe(4);
        expect(s.stats.fusions.memvpFfn).toBe(4);
      }
      const out = await s.run(feeds);
      for (const name of s.outputNames) {
        expect(maxAbsDiff((out.get(name) as HostTensor).data as Float32Array, ref[name]!), `${name} fusions=${fusions}`).toBeLessThanOrEqual(1e-4);
      }
      s.dispose();
    }
  });
});
