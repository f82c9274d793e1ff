// Sizes set by data (Range, ConstantOfShape, Expand, Tile inputs) or by a file (initializer dims) are checked
// before anything is allocated: a model asking for too much ends in a typed error naming the node and the size,
// and the process never aborts. A result just under the folding limit is folded and one just over is computed
// on the GPU; both are checked against a plain reference.
import { describe, expect, it } from 'vitest';
import { ShapeError, TensorSizeError } from '../src/graph/errors.js';
import { InferenceSession } from '../src/graph/session.js';
import { FOLD_LIMIT, HOST_LIMIT, type HostTensor } from '../src/graph/tensor.js';
import { DataType, OnnxFormatError, encodeModel, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from '../src/onnx/index.js';
import { gpu, randn } from './helpers/gpu.js';

function model(parts: { nodes: OnnxNode[]; inputs?: OnnxValueInfo[]; outputs: OnnxValueInfo[]; initializers?: OnnxTensor[] }): Uint8Array {
  return encodeModel(makeModel(makeGraph({ inputs: [], ...parts }), { opsets: { '': 17 } }));
}

const i64 = (name: string, dims: number[], values: number[]) => makeTensor(name, DataType.INT64, dims, BigInt64Array.from(values, BigInt));
const scalar = (v: number): HostTensor => ({ type: 'int64', dims: [], data: BigInt64Array.of(BigInt(v)) });

async function outcome(bytes: Uint8Array, feeds: Record<string, HostTensor> = {}): Promise<{ error?: unknown; session?: InferenceSession; out?: Map<string, unknown> }> {
  let session: InferenceSession | undefined;
  try {
    session = await InferenceSession.create(bytes, { gpu: await gpu() });
    const out = await session.run(feeds);
    return { session, out };
  } catch (error) {
    return { error };
  } finally {
    session?.dispose();
  }
}

/** The error is a TensorSizeError naming `node` and `op`, with the elements asked for and a limit they exceed. */
function expectSizeError(error: unknown, node: string, op: string, elements: number): TensorSizeError {
  expect(error).toBeInstanceOf(TensorSizeError);
  const e = error as TensorSizeError;
  expect(e.node?.name).toBe(node);
  expect(e.node?.op).toBe(op);
  expect(e.elements).toBe(elements);
  expect(e.bytes).toBeGreaterThan(e.limitBytes);
  expect(e.message).toContain(`"${node}"`);
  expect(e.message).toContain(`${elements} elements (${e.bytes} bytes)`);
  expect(e.message).toContain(`${e.limitBytes} bytes`);
  return e;
}

describe('sizes set by data', () => {
  it('Range of 3e8 elements from fed scalars', async () => {
    const bytes = model({
      nodes: [makeNode('Range', ['start', 'limit', 'delta'], ['y'], {}, { name: 'huge_range' })],
      inputs: ['start', 'limit', 'delta'].map((n) => makeValueInfo(n, DataType.INT64, [])),
      outputs: [makeValueInfo('y', DataType.INT64)],
    });
    const { error } = await outcome(bytes, { start: scalar(0), limit: scalar(3e8), delta: scalar(1) });
    expectSizeError(error, 'huge_range', 'Range', 3e8);
  });

  it('Range of 3e8 elements from constants', async () => {
    const bytes = model({
      nodes: [makeNode('Range', ['start', 'limit', 'delta'], ['y'], {}, { name: 'const_range' })],
      initializers: [i64('start', [], [0]), i64('limit', [], [3e8]), i64('delta', [], [1])],
      outputs: [makeValueInfo('y', DataType.INT64)],
    });
    const { error } = await outcome(bytes);
    expectSizeError(error, 'const_range', 'Range', 3e8);
  });

  // 2e8 int64 values would fit the GPU as 800 MB of 32-bit words but take 1.6 GB on the host, above its limit (at
  // most 1 GiB); Range is computed on the host, so it fails there, whether a GPU consumer or a shape input reads it.
  const range2e8 = (consumer?: OnnxNode) =>
    model({
      nodes: [makeNode('Range', ['start', 'limit', 'delta'], ['r'], {}, { name: 'host_range' }), ...(consumer ? [consumer] : [])],
      inputs: [...['start', 'limit', 'delta'].map((n) => makeValueInfo(n, DataType.INT64, [])), makeValueInfo('x', DataType.FLOAT, [2, 3])],
      outputs: [makeValueInfo(consumer ? 'y' : 'r', DataType.INT64)],
    });
  const range2e8Feeds = { start: scalar(0), limit: scalar(2e8), delta: scalar(1), x: { type: 'float32' as const, dims: [2, 3], data: randn(6, 2) } };

  it('Range of 2e8 int64 elements for a GPU consumer is above the host limit', async () => {
    const { error } = await outcome(range2e8(), range2e8Feeds);
    expect(expectSizeError(error, 'host_range', 'Range', 2e8).limitBytes).toBe(HOST_LIMIT.bytes);
  });

  it('Range of 2e8 int64 elements as a Reshape target is above the host limit', async () => {
    const { error } = await outcome(range2e8(makeNode('Reshape', ['x', 'r'], ['y'], {}, { name: 'reshape' })), range2e8Feeds);
    expect(expectSizeError(error, 'host_range', 'Range', 2e8).limitBytes).toBe(HOST_LIMIT.bytes);
  });

  it('ConstantOfShape [32768, 32768]', async () => {
    const bytes = model({
      nodes: [makeNode('ConstantOfShape', ['shape'], ['y'], {}, { name: 'big_fill' })],
      initializers: [i64('shape', [2], [32768, 32768])],
      outputs: [makeValueInfo('y', DataType.FLOAT)],
    });
    const { error } = await outcome(bytes);
    expectSizeError(error, 'big_fill', 'ConstantOfShape', 32768 * 32768);
  });

  it('ConstantOfShape with dims whose product overflows', async () => {
    const bytes = model({
      nodes: [makeNode('ConstantOfShape', ['shape'], ['y'], {}, { name: 'overflow_fill' })],
      inputs: [makeValueInfo('shape', DataType.INT64, [3])],
      outputs: [makeValueInfo('y', DataType.FLOAT)],
    });
    const dims = [2 ** 40, 2 ** 40, 2 ** 40];
    const { error } = await outcome(bytes, { shape: { type: 'int64', dims: [3], data: BigInt64Array.from(dims, BigInt) } });
    expectSizeError(error, 'overflow_fill', 'ConstantOfShape', 2 ** 120);
  });

  it('ConstantOfShape with a negative dim', async () => {
    const bytes = model({
      nodes: [makeNode('ConstantOfShape', ['shape'], ['y'], {}, { name: 'negative_fill' })],
      initializers: [i64('shape', [2], [-3, 4])],
      outputs: [makeValueInfo('y', DataType.FLOAT)],
    });
    const { error } = await outcome(bytes);
    expect(error).toBeInstanceOf(ShapeError);
    expect((error as Error).message).toMatch(/ConstantOfShape node "negative_fill".*\[-3,4\]/);
  });

  it('Expand to [32768, 32768, 4]', async () => {
    const bytes = model({
      nodes: [makeNode('Expand', ['x', 'shape'], ['y'], {}, { name: 'big_expand' })],
      inputs: [makeValueInfo('x', DataType.FLOAT, [1])],
      initializers: [i64('shape', [3], [32768, 32768, 4])],
      outputs: [makeValueInfo('y', DataType.FLOAT)],
    });
    const { error } = await outcome(bytes, { x: { type: 'float32', dims: [1], data: Float32Array.of(1) } });
    expectSizeError(error, 'big_expand', 'Expand', 2 ** 32);
  });

  it('Tile by [65536, 65536]', async () => {
    const bytes = model({
      nodes: [makeNode('Tile', ['x', 'reps'], ['y'], {}, { name: 'big_tile' })],
      inputs: [makeValueInfo('x', DataType.FLOAT, [2, 2])],
      initializers: [i64('reps', [2], [65536, 65536])],
      outputs: [makeValueInfo('y', DataType.FLOAT)],
    });
    const { error } = await outcome(bytes, { x: { type: 'float32', dims: [2, 2], data: randn(4, 1) } });
    expectSizeError(error, 'big_tile', 'Tile', 2 ** 34);
  });

  it('the limits are what the host and the device give', async () => {
    const ctx = await gpu();
    expect(HOST_LIMIT.bytes).toBeGreaterThan(0);
    expect(HOST_LIMIT.bytes).toBeLessThanOrEqual(2 ** 30);
    const bytes = model({
      nodes: [makeNode('Expand', ['x', 'shape'], ['y'], {}, { name: 'e' })],
      inputs: [makeValueInfo('x', DataType.FLOAT, [1])],
      initializers: [i64('shape', [1], [2 ** 40])],
      outputs: [makeValueInfo('y', DataType.FLOAT)],
    });
    const { error } = await outcome(bytes, { x: { type: 'float32', dims: [1], data: Float32Array.of(1) } });
    const e = expectSizeError(error, 'e', 'Expand', 2 ** 40);
    expect(e.limitBytes).toBe(Math.min(ctx.limits.maxBufferSize, ctx.limits.maxStorageBufferBindingSize));
    expect(e.bytes).toBe(2 ** 42);
  });
});

describe('the constant-folding limit', () => {
  // A Tile of a constant [1024] float32: 4096 repeats make exactly FOLD_LIMIT bytes, 4097 one row more.
  const tileModel = (reps: number) =>
    model({
      nodes: [makeNode('Tile', ['c', 'reps'], ['y'], {}, { name: 'tile_const' })],
      initializers: [makeTensor('c', DataType.FLOAT, [1024], randn(1024, 7)), i64('reps', [1], [reps])],
      outputs: [makeValueInfo('y', DataType.FLOAT)],
    });
  const reference = (reps: number) => {
    const c = randn(1024, 7);
    const out = new Float32Array(1024 * reps);
    for (let r = 0; r < reps; r++) out.set(c, r * 1024);
    return out;
  };

  it.each([
    [4096, 1, 'folded on the host'],
    [4097, 0, 'left for the GPU'],
  ])('Tile to %i rows (%i node folded): %s', async (reps, folded) => {
    expect(4096 * 1024 * 4).toBe(FOLD_LIMIT.bytes);
    const session = await InferenceSession.create(tileModel(reps), { gpu: await gpu() });
    try {
      expect(session.stats.folded).toBe(folded);
      expect(session.stats.ops).toEqual(folded ? {} : { Tile: 1 });
      const y = (await session.run({})).get('y') as HostTensor;
      expect(y.dims).toEqual([1024 * reps]);
      const want = reference(reps);
      const got = y.data as Float32Array;
      let mismatches = 0;
      for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) mismatches++;
      expect(mismatches).toBe(0);
    } finally {
      session.dispose();
    }
  });
});

describe('sizes set by the file', () => {
  const withInitializer = (t: OnnxTensor) =>
    model({
      nodes: [makeNode('Identity', ['w'], ['y'], {}, { name: 'id' })],
      initializers: [t],
      outputs: [makeValueInfo('y', DataType.FLOAT)],
    });

  it('initializer dims that disagree with its raw_data', async () => {
    const { error } = await outcome(withInitializer({ name: 'w', dataType: DataType.FLOAT, dims: [4, 4], rawData: new Uint8Array(60) }));
    expect(error).toBeInstanceOf(OnnxFormatError);
    expect((error as Error).message).toMatch(/initializer\[0\].*tensor "w" \[4, 4\] FLOAT: raw_data has 60 bytes, expected 64/);
  });

  it('a negative initializer dim', async () => {
    const { error } = await outcome(withInitializer({ name: 'w', dataType: DataType.FLOAT, dims: [-1, 4], rawData: new Uint8Array(16) }));
    expect(error).toBeInstanceOf(OnnxFormatError);
    expect((error as Error).message).toMatch(/initializer\[0\].*negative dimension -1/);
  });

  it('initializer dims whose product overflows', async () => {
    const { error } = await outcome(withInitializer({ name: 'w', dataType: DataType.FLOAT, dims: [2 ** 31, 2 ** 31, 2 ** 31], rawData: new Uint8Array(16) }));
    expect(error).toBeInstanceOf(OnnxFormatError);
    expect((error as Error).message).toMatch(/tensor "w" has too many elements/);
  });

  it('absurd initializer dims with little data', async () => {
    const { error } = await outcome(withInitializer({ name: 'w', dataType: DataType.FLOAT, dims: [2 ** 26, 2 ** 26], rawData: new Uint8Array(16) }));
    expect(error).toBeInstanceOf(OnnxFormatError);
    expect((error as Error).message).toMatch(/raw_data has 16 bytes, expected 18014398509481984/);
  });

});
