// Malformed models end in typed errors that say what is wrong and where (the node, the initializer, the byte),
// and random corruption of a model file never hangs or escapes as another kind of exception.
import { describe, expect, it } from 'vitest';
import { GpuError } from '../src/gpu/index.js';
import { GraphError, GraphStructureError, ShapeError, UnsupportedOpError } from '../src/graph/errors.js';
import { InferenceSession } from '../src/graph/session.js';
import type { HostTensor } from '../src/graph/tensor.js';
import { DataType, OnnxFormatError, OnnxLoadError, attr, encodeModel, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo } from '../src/onnx/index.js';
import { gpu, randn, rng } from './helpers/gpu.js';

/** x [2, 8] -> MatMul W [8, 6] -> Add b -> Relu -> Reshape [3, 4] -> Softmax -> y */
function model(edit: (parts: { nodes: ReturnType<typeof makeNode>[] }) => void = () => undefined) {
  const nodes = [
    makeNode('MatMul', ['x', 'W'], ['h'], {}, { name: 'proj' }),
    makeNode('Add', ['h', 'b'], ['hb'], {}, { name: 'bias' }),
    makeNode('Relu', ['hb'], ['r'], {}, { name: 'act' }),
    makeNode('Reshape', ['r', 'shape'], ['r2'], {}, { name: 'fold' }),
    makeNode('Softmax', ['r2'], ['y'], { axis: attr.int(-1) }, { name: 'probs' }),
  ];
  edit({ nodes });
  const graph = makeGraph({
    nodes,
    inputs: [makeValueInfo('x', DataType.FLOAT, [2, 8])],
    outputs: [makeValueInfo('y', DataType.FLOAT, [3, 4])],
    initializers: [
      makeTensor('W', DataType.FLOAT, [8, 6], randn(48, 1)),
      makeTensor('b', DataType.FLOAT, [6], randn(6, 2)),
      makeTensor('shape', DataType.INT64, [2], BigInt64Array.from([3n, 4n])),
    ],
  });
  return encodeModel(makeModel(graph, { opsets: { '': 17 } }));
}
const feeds: Record<string, HostTensor> = { x: { type: 'float32', dims: [2, 8], data: randn(16, 3) } };

async function outcome(bytes: Uint8Array): Promise<unknown> {
  try {
    const s = await InferenceSession.create(bytes, { gpu: await gpu() });
    try {
      await s.run(feeds);
    } finally {
      s.dispose();
    }
    return undefined;
  } catch (e) {
    return e;
  }
}

describe('malformed models', () => {
  it('the well-formed model runs', async () => {
    expect(await outcome(model())).toBeUndefined();
  });

  it('a truncated file is an OnnxFormatError with the byte offset', async () => {
    const bytes = model();
    const e = await outcome(bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    expect(e).toBeInstanceOf(OnnxFormatError);
    expect((e as OnnxFormatError).message).toMatch(/byte \d+/);
  });

  it('an unknown operator is an UnsupportedOpError naming the node', async () => {
    const e = await outcome(model(({ nodes }) => (nodes[2] = makeNode('Frobnicate', ['hb'], ['r'], {}, { name: 'act' }))));
    expect(e).toBeInstanceOf(UnsupportedOpError);
    expect((e as Error).message).toContain('Frobnicate node "act"');
  });

  it('an initializer whose data does not match its dims is an OnnxFormatError naming it', async () => {
    const bytes = model();
    const m = (await import('../src/onnx/index.js')).parseModel(bytes);
    const w = m.graph.initializers[0]!;
    w.dims = [8, 7];
    const e = await outcome(encodeModel(m));
    expect(e).toBeInstanceOf(OnnxFormatError);
    expect((e as Error).message).toMatch(/"W".*raw_data has 192 bytes, expected 224/);
  });

  it('a cycle is a GraphStructureError naming a node on it', async () => {
    const e = await outcome(model(({ nodes }) => (nodes[0] = makeNode('MatMul', ['r', 'W'], ['h'], {}, { name: 'proj' }))));
    expect(e).toBeInstanceOf(GraphStructureError);
    expect((e as Error).message).toMatch(/cycle through node "(proj|bias|act)"/);
  });

  it('inconsistent shapes are a ShapeError naming the node', async () => {
    const e = await outcome(model(({ nodes }) => (nodes[0] = makeNode('MatMul', ['x', 'x'], ['h'], {}, { name: 'proj' }))));
    expect(e).toBeInstanceOf(ShapeError);
    expect((e as Error).message).toContain('MatMul node "proj"');
  });

  it('500 random byte mutations each end in a typed error or a valid run', async () => {
    const bytes = model();
    const r = rng(2026);
    let errors = 0;
    for (let i = 0; i < 500; i++) {
      const m = bytes.slice();
      for (let k = 1 + Math.floor(r() * 4); k > 0; k--) m[Math.floor(r() * m.length)] = Math.floor(r() * 256);
      const e = await outcome(m);
      if (e === undefined) continue;
      errors++;
      const typed = e instanceof OnnxFormatError || e instanceof OnnxLoadError || e instanceof GraphError || e instanceof GpuError;
      expect(typed, `mutation ${i}: ${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`).toBe(true);
    }
    expect(errors).toBeGreaterThan(0);
  });
});
