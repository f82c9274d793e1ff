// gather_nbits (onnxruntime's GatherBlockQuantized layout): the kernel against gatherNbitsReference, the reference
// against onnxruntime (WASM) on one-node models, quantizeTable's layout and rounding, and the com.microsoft
// GatherBlockQuantized graph op (src/graph/ops/nn.ts) against onnxruntime.
// Tolerance: exact. All compute (q - zp) * scale once in f32 from the same bytes (q - zp is a small integer).
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step, type GpuContext } from '../src/gpu/index.js';
import { InferenceSession } from '../src/graph/session.js';
import type { HostTensor } from '../src/graph/tensor.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { gatherNbitsReference, quantizeTable, recordGatherNbits, tableLayout, uploadQuantTable, type QuantizedTable, type QuantTable } from '../src/kernels/gather_nbits.js';
import { quantizeBlockwise, type QuantBits } from '../src/kernels/quant.js';
import { DataType, attr, encodeModel, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo, type OnnxAttributeValue, type OnnxModel } from '../src/onnx/index.js';
import { expectClose, gpu, randn } from './helpers/gpu.js';
import { ortSession } from './helpers/ort.js';
import { runModel } from './op-cases.js';

interface Case {
  rows: number;
  cols: number;
  bits: QuantBits;
  blockSize: number;
  symmetric: boolean;
  /** Its shape is the indices' shape. */
  ids: number[];
  idsShape?: number[];
}

const tableOf = (c: Case, seed: number) => randn(c.rows * c.cols, seed);

/** A one-node GatherBlockQuantized model over `q` (initializers) reading indices "ids" of c.ids' shape. */
function gbqModel(q: QuantizedTable, c: Case, o: { attrs?: Record<string, OnnxAttributeValue>; idsType?: DataType; scalesDims?: number[] } = {}): OnnxModel {
  const { nBlocks, rowBytes, zpBytesPerRow } = tableLayout(c.rows, c.cols, c);
  const inits = [makeTensor('data', DataType.UINT8, [c.rows, rowBytes], q.packed), makeTensor('scales', DataType.FLOAT, o.scalesDims ?? [c.rows, nBlocks], q.scales)];
  if (q.zeroPoints) inits.push(makeTensor('zp', DataType.UINT8, [c.rows, zpBytesPerRow], q.zeroPoints));
  const attrs = o.attrs ?? { bits: attr.int(c.bits), block_size: attr.int(c.blockSize), gather_axis: attr.int(0), quantize_axis: attr.int(1) };
  const node = makeNode('GatherBlockQuantized', ['data', 'ids', 'scales', ...(q.zeroPoints ? ['zp'] : [])], ['y'], attrs, { name: 'gbq', domain: 'com.microsoft' });
  const shape = c.idsShape ?? [c.ids.length];
  const graph = makeGraph({ nodes: [node], initializers: inits, inputs: [makeValueInfo('ids', o.idsType ?? DataType.INT64, shape)], outputs: [makeValueInfo('y', DataType.FLOAT, [...shape, c.cols])] });
  return makeModel(graph, { opsets: { '': 17, 'com.microsoft': 1 } });
}

const idsTensor = (c: Case, type: 'int64' | 'int32' = 'int64'): HostTensor => ({
  type,
  dims: c.idsShape ?? [c.ids.length],
  data: type === 'int64' ? BigInt64Array.from(c.ids.map(BigInt)) : Int32Array.from(c.ids),
});

async function ortGather(model: OnnxModel, ids: HostTensor): Promise<Float32Array> {
  const session = await ortSession(encodeModel(model));
  const t = new ort.Tensor(ids.type as 'int64', ids.data as BigInt64Array, [...ids.dims]);
  return (await session.run({ ids: t })).y!.data as Float32Array;
}

function releaseTable(ctx: GpuContext, t: QuantTable): void {
  release(ctx, t.packed, t.scales, ...(t.zeroPoints ? [t.zeroPoints] : []));
}

async function run(ctx: GpuContext, c: Case, seed: number): Promise<void> {
  const q = quantizeTable(tableOf(c, seed), c.rows, c.cols, c);
  const table = uploadQuantTable(ctx, q, c.rows, c.cols, c);
  const shape = c.idsShape ?? [c.ids.length];
  const indices = upload(ctx, Int32Array.from(c.ids), shape);
  const out = empty(ctx, [...shape, c.cols]);
  const step = new Step(ctx);
  recordGatherNbits(ctx, step, table, indices, out);
  await step.submit();
  const what = `gather_nbits ${JSON.stringify(c)}`;
  expectClose(await readF32(ctx, out), gatherNbitsReference(q, c.ids, c), 0, 0, what);
  releaseTable(ctx, table);
  release(ctx, indices, out);
}

describe('quantizeTable (CPU)', () => {
  it('is quantizeBlockwise of the transposed table, rows back to back, within half a step of the table', () => {
    for (const [cols, bits, symmetric] of [[64, 4, false], [40, 4, false], [42, 4, true], [37, 8, false], [40, 8, true]] as const) {
      const rows = 5;
      const opts = { bits, blockSize: 32, symmetric };
      const w = tableOf({ rows, cols, ...opts, ids: [] }, cols + bits);
      const t = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) t[k * rows + r] = w[r * cols + k]!;
      const blocks = quantizeBlockwise(t, cols, rows, opts);
      const q = quantizeTable(w, rows, cols, opts);
      const { nBlocks, rowBytes, zpBytesPerRow } = tableLayout(rows, cols, opts);
      expect([q.packed.length, q.scales.length, q.zeroPoints?.length]).toEqual([rows * rowBytes, rows * nBlocks, symmetric ? undefined : rows * zpBytesPerRow]);
      expect(q.scales).toEqual(blocks.scales);
      expect(q.zeroPoints).toEqual(blocks.zeroPoints);
      const blob = (32 * bits) / 8;
      for (let r = 0; r < rows; r++) expect(q.packed.subarray(r * rowBytes, (r + 1) * rowBytes)).toEqual(blocks.packed.subarray(r * nBlocks * blob, r * nBlocks * blob + rowBytes));
      const back = gatherNbitsReference(q, [...Array(rows).keys()], { rows, cols, ...opts });
      for (let i = 0; i < w.length; i++) {
        const scale = q.scales[Math.floor(i / cols) * nBlocks + Math.floor((i % cols) / 32)]!;
        expect(Math.abs(back[i]! - w[i]!)).toBeLessThanOrEqual(scale / 2 + 1e-6);
      }
    }
  });

  it('gatherNbitsReference equals onnxruntime\'s GatherBlockQuantized on the same bytes (negative ids, partial blocks)', async () => {
    for (const c of [
      { rows: 7, cols: 40, bits: 4, blockSize: 16, symmetric: false, ids: [0, 6, -1, 3, -7] },
      { rows: 5, cols: 42, bits: 4, blockSize: 32, symmetric: true, ids: [4, 1, -2] },
      { rows: 3, cols: 37, bits: 8, blockSize: 32, symmetric: false, ids: [2, -3, 1, 1] },
      { rows: 9, cols: 64, bits: 8, blockSize: 16, symmetric: true, ids: [8] },
    ] as Case[]) {
      const q = quantizeTable(tableOf(c, 3), c.rows, c.cols, c);
      expectClose(await ortGather(gbqModel(q, c), idsTensor(c)), gatherNbitsReference(q, c.ids, c), 0, 0, `onnxruntime ${JSON.stringify(c)}`);
    }
  });
});

describe('gather_nbits kernel', () => {
  it('4-bit and 8-bit, with and without zero points, whole blocks', async () => {
    const ctx = await gpu();
    let seed = 1;
    for (const bits of [4, 8] as const) {
      for (const symmetric of [false, true]) await run(ctx, { rows: 11, cols: 64, bits, blockSize: 32, symmetric, ids: [0, 10, 5, 5, 3] }, seed++);
    }
  });

  it('cols not a multiple of the block, rows starting mid-word, odd rows and index counts, size-1 dims', async () => {
    const ctx = await gpu();
    let seed = 20;
    const cases: Case[] = [
      // 4 bits, 40 cols: 20-byte rows, one block and a partial one of 8.
      { rows: 7, cols: 40, bits: 4, blockSize: 32, symmetric: false, ids: [6, 0, 3] },
      // 42 cols: 21-byte rows (4 bits) / 42-byte rows (8 bits) start at every byte offset of a word.
      { rows: 9, cols: 42, bits: 4, blockSize: 16, symmetric: false, ids: [1, 2, 3, 4, 5, 8, 7] },
      { rows: 9, cols: 42, bits: 8, blockSize: 16, symmetric: true, ids: [1, 2, 3, 4, 5, 8, 7] },
      { rows: 5, cols: 37, bits: 8, blockSize: 32, symmetric: false, ids: [4, 0, 2] },
      // One partial block (cols < block), a single row, a single column.
      { rows: 3, cols: 100, bits: 4, blockSize: 128, symmetric: false, ids: [2, 1] },
      { rows: 1, cols: 24, bits: 8, blockSize: 16, symmetric: false, ids: [0] },
      { rows: 4, cols: 1, bits: 8, blockSize: 16, symmetric: false, ids: [3, 0, 1] },
      { rows: 4, cols: 2, bits: 4, blockSize: 16, symmetric: true, ids: [3, 0, 1] },
    ];
    for (const c of cases) await run(ctx, c, seed++);
  });

  it('negative indices count from the end, out-of-range ones give zero rows, indices of any rank', async () => {
    const ctx = await gpu();
    await run(ctx, { rows: 5, cols: 48, bits: 4, blockSize: 16, symmetric: false, ids: [-1, -5, 2, 5, -6, 1000], idsShape: [2, 3] }, 40);
    await run(ctx, { rows: 5, cols: 36, bits: 8, blockSize: 32, symmetric: false, ids: [-2, 7] }, 41);
    const q = quantizeTable(randn(5 * 8, 1), 5, 8, { bits: 8, blockSize: 16 });
    const ref = gatherNbitsReference(q, [5, -6, -1], { rows: 5, cols: 8, bits: 8, blockSize: 16 });
    expect(Array.from(ref.subarray(0, 16))).toEqual(new Array(16).fill(0));
    expect(ref.subarray(16)).toEqual(gatherNbitsReference(q, [4], { rows: 5, cols: 8, bits: 8, blockSize: 16 }));
  });

  it('rejects bad shapes and quantization parameters with KernelShapeError naming the kernel and shapes', async () => {
    const ctx = await gpu();
    expect(() => quantizeTable(new Float32Array(3 * 5), 3, 5, { bits: 4, blockSize: 16 })).toThrow(/quantizeTable: rows=3 cols=5: a 4-bit table needs an even number of columns/);
    expect(() => quantizeTable(new Float32Array(10), 3, 4, { bits: 8, blockSize: 16 })).toThrow(/quantizeTable: table has 10 values but rows\*cols = 12/);
    expect(() => quantizeTable(new Float32Array(64), 1, 64, { bits: 4, blockSize: 24 })).toThrow(KernelShapeError);
    const q = quantizeTable(randn(6 * 40, 2), 6, 40, { bits: 4, blockSize: 32 });
    expect(() => uploadQuantTable(ctx, { ...q, scales: q.scales.subarray(1) }, 6, 40, { bits: 4, blockSize: 32 })).toThrow(/scales has 11 values, 12 expected/);
    const table = uploadQuantTable(ctx, q, 6, 40, { bits: 4, blockSize: 32 });
    const ids = upload(ctx, Int32Array.from([1, 2, 3]), [3]);
    const out = empty(ctx, [3, 40]);
    const record = (t: QuantTable, i = ids, o = out) => () => recordGatherNbits(ctx, new Step(ctx), t, i, o);
    const wrongOut = empty(ctx, [3, 39]);
    expect(record(table, ids, wrongOut)).toThrow(/gather_nbits q4\/32\+zp \[6,40\] indices \[3\]: out has shape \[3,39\] but \[3,40\] was expected/);
    const fIds = upload(ctx, new Float32Array(3), [3]);
    expect(record(table, fIds)).toThrow(/indices has dtype f32 but i32 was expected/);
    expect(record({ ...table, scales: { ...table.scales, shape: [6, 1] } })).toThrow(/scales has shape \[6,1\] but \[6,2\] was expected/);
    expect(record({ ...table, rows: 7 })).toThrow(/gather_nbits q4\/32\+zp \[7,40\].*packed table has shape \[30\] but \[35\] was expected/);
    expect(record({ ...table, cols: 41 })).toThrow(KernelShapeError);
    release(ctx, ids, out, wrongOut, fIds);
    releaseTable(ctx, table);
  });
});

describe('com.microsoft GatherBlockQuantized (graph op)', () => {
  it('matches onnxruntime: indices fed from the CPU and from the GPU, int32 and int64, rank 2, defaults bits 4 / block_size 128', async () => {
    const ctx = await gpu();
    const cases: [Case, Record<string, OnnxAttributeValue> | undefined][] = [
      [{ rows: 9, cols: 42, bits: 4, blockSize: 16, symmetric: false, ids: [8, -1, 0, 3, 3, 2], idsShape: [2, 3] }, undefined],
      [{ rows: 6, cols: 37, bits: 8, blockSize: 32, symmetric: false, ids: [5, -6, 1] }, undefined],
      // No attributes: onnxruntime's defaults (4 bits, blocks of 128, gather_axis 0, quantize_axis 1).
      [{ rows: 5, cols: 160, bits: 4, blockSize: 128, symmetric: true, ids: [4, 0] }, {}],
    ];
    for (const [c, attrs] of cases) {
      const q = quantizeTable(tableOf(c, 7), c.rows, c.cols, c);
      const want = gatherNbitsReference(q, c.ids, c);
      for (const type of ['int64', 'int32'] as const) {
        const model = gbqModel(q, c, { attrs, idsType: type === 'int64' ? DataType.INT64 : DataType.INT32 });
        const what = `${JSON.stringify(c)} ${type}`;
        expectClose(await ortGather(model, idsTensor(c, type)), want, 0, 0, `onnxruntime ${what}`);
        const session = await InferenceSession.create(model, { gpu: ctx });
        const y = (await session.run({ ids: idsTensor(c, type) })).get('y') as HostTensor;
        session.dispose();
        expect(y.dims).toEqual([...(c.idsShape ?? [c.ids.length]), c.cols]);
        expectClose(y.data as Float32Array, want, 0, 0, `ours, ids on the CPU: ${what}`);
        const [onGpu] = await runModel(model, [idsTensor(c, type)]);
        expectClose(onGpu!.data as Float32Array, want, 0, 0, `ours, ids on the GPU: ${what}`);
      }
    }
  });

  it('out-of-range ids: a typed error when they are known on the CPU (as onnxruntime), zero rows when they come from the GPU', async () => {
    const c: Case = { rows: 4, cols: 32, bits: 8, blockSize: 16, symmetric: false, ids: [1, 4] };
    const q = quantizeTable(tableOf(c, 8), c.rows, c.cols, c);
    await expect(ortGather(gbqModel(q, c), idsTensor(c))).rejects.toThrow(/out of data bounds/);
    const session = await InferenceSession.create(gbqModel(q, c), { gpu: await gpu() });
    await expect(session.run({ ids: idsTensor(c) })).rejects.toThrow('GatherBlockQuantized gbq: id 4 at position 1 is outside [-4, 4), an axis of size 4');
    session.dispose();
    const [y] = await runModel(gbqModel(q, c), [idsTensor(c)]);
    expectClose(y!.data as Float32Array, gatherNbitsReference(q, c.ids, c), 0, 0, 'ids on the GPU');
    expect(Array.from((y!.data as Float32Array).subarray(32))).toEqual(new Array(32).fill(0));
  });

  it('rejects what it cannot run, naming the node', async () => {
    const c: Case = { rows: 4, cols: 32, bits: 4, blockSize: 16, symmetric: false, ids: [1] };
    const q = quantizeTable(tableOf(c, 9), c.rows, c.cols, c);
    const base = { bits: attr.int(4), block_size: attr.int(16) };
    const u8: HostTensor = { type: 'uint8', dims: [1], data: Uint8Array.from([1]) };
    const failures: [OnnxModel, HostTensor, RegExp][] = [
      [gbqModel(q, c, { attrs: { ...base, gather_axis: attr.int(1) } }), idsTensor(c), /GatherBlockQuantized gbq: gather_axis 1 and quantize_axis 1: only 0 and 1 are supported/],
      [gbqModel(q, c, { attrs: { ...base, quantize_axis: attr.int(0) } }), idsTensor(c), /gather_axis 0 and quantize_axis 0: only 0 and 1/],
      [gbqModel(q, c, { attrs: { ...base, bits: attr.int(2) } }), idsTensor(c), /GatherBlockQuantized gbq: .*bits must be 4 or 8/],
      [gbqModel(q, c, { scalesDims: [2, 4] }), idsTensor(c), /GatherBlockQuantized gbq: scales are float32 \[2,4\], float \[4,2\] expected/],
      [gbqModel(q, c, { idsType: DataType.UINT8 }), u8, /GatherBlockQuantized gbq: indices are uint8, int32 or int64 expected/],
    ];
    for (const [model, ids, message] of failures) {
      const session = await InferenceSession.create(model, { gpu: await gpu() });
      await expect(session.run({ ids })).rejects.toThrow(message);
      session.dispose();
    }
  });
});
