// Catches wrong indices in the movement ops and their kernels (copy_nd strides and wraps, Gather's negative indices,
// Trilu's diagonal).
import { describe, expect, it } from 'vitest';
import '../src/graph/ops/movement.js';
import { KernelShapeError, Step, numel, type GpuContext, type GpuTensor } from '../src/gpu/index.js';
import { contiguousStrides } from '../src/kernels/op_bcast.js';
import { fromNumbers } from '../src/graph/ops/hostnum.js';
import type { HostTensor } from '../src/graph/tensor.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { copyNdReference, recordCopyNd, type CopyRegion } from '../src/kernels/op_copy_nd.js';
import { checkIndices, gatherReference, recordGather } from '../src/kernels/op_gather.js';
import { recordTrilu, triluReference } from '../src/kernels/op_trilu.js';
import { caseNames } from './helpers/conformance.js';
import { checkCase, hostNode } from './op-cases.js';
import { expectClose, gpu, randInt, randn } from './helpers/gpu.js';

// Conformance cases compare exactly for integers and within 1e-3 for floats (onnxruntime's tolerance).
const CASES = caseNames(/^test_(concat_.*|expand_.*|gather_.*|slice.*|split_.*|tile.*|transpose.*|tril.*|triu.*)$/);

describe('movement ops: ONNX conformance cases', () => {
  it('finds the cases', () => expect(CASES.length).toBeGreaterThanOrEqual(60));
  for (const name of CASES) {
    it(name, () => checkCase(name));
  }
});

const run = async (ctx: GpuContext, record: (step: Step) => void, out: GpuTensor): Promise<Int32Array> => {
  const step = new Step(ctx);
  record(step);
  const p = step.read(out.buffer, Math.max(4, numel(out.shape) * 4));
  await step.submit();
  return new Int32Array(await p);
};

// Every movement kernel moves 32-bit words, so results must match the references bit for bit (exact compare).
describe('op_copy_nd kernel', () => {
  const src = randInt(2 * 3 * 5 * 4 * 3 * 7, -1000, 1000, 7);
  const cases: [string, readonly number[], CopyRegion][] = [
    ['rank-6 transpose', [2, 3, 5, 4, 3, 7], { dims: [7, 3, 5, 2, 4, 3], srcOffset: 0, srcStrides: [1, 420, 84, 1260, 21, 7], dstOffset: 0, dstStrides: contiguousStrides([7, 3, 5, 2, 4, 3]) }],
    ['negative-step slice', [30, 7, 12], { dims: [9, 7, 4], srcOffset: 29 * 84 + 11, srcStrides: [-3 * 84, 12, -3], dstOffset: 0, dstStrides: contiguousStrides([9, 7, 4]) }],
    ['tile (modulo) with broadcast', [5, 3, 7], { dims: [10, 9, 14], srcOffset: 0, srcStrides: [21, 7, 1], srcMod: [5, 3, 7], dstOffset: 0, dstStrides: contiguousStrides([10, 9, 14]) }],
    ['concat part into a sub-region', [5, 3, 7], { dims: [5, 3, 7], srcOffset: 0, srcStrides: [21, 7, 1], dstOffset: 7 * 4, dstStrides: [11 * 7, 7, 1] }],
  ];
  for (const [what, shape, region] of cases) {
    it(`${what} matches the reference`, async () => {
      const ctx = await gpu();
      const data = src.subarray(0, numel(shape));
      const x = upload(ctx, data, shape);
      const outShape = what.startsWith('concat') ? [5, 11, 7] : region.dims;
      const expected = new Int32Array(numel(outShape));
      copyNdReference(data, expected, region);
      const y = empty(ctx, outShape, 'i32');
      const zero = new Int32Array(numel(outShape));
      ctx.device.queue.writeBuffer(y.buffer, 0, zero);
      expect(Array.from(await run(ctx, (s) => recordCopyNd(ctx, s, x, y, region), y)).slice(0, expected.length)).toEqual(Array.from(expected));
      release(ctx, x, y);
    });
  }

  it('rejects regions outside the buffers and mixed storage types with KernelShapeError', async () => {
    const ctx = await gpu();
    const x = upload(ctx, new Int32Array(12), [3, 4]);
    const y = empty(ctx, [4, 3], 'i32');
    const f = empty(ctx, [4, 3], 'f32');
    const bad = { dims: [4, 3], srcOffset: 1, srcStrides: [1, 4], dstOffset: 0, dstStrides: [3, 1] };
    expect(() => recordCopyNd(ctx, new Step(ctx), x, y, bad)).toThrow(KernelShapeError);
    expect(() => recordCopyNd(ctx, new Step(ctx), x, y, bad)).toThrow(/op_copy_nd \[3,4\] -> \[4,3\] region \[4,3\]: reads words 1\.\.12/);
    expect(() => recordCopyNd(ctx, new Step(ctx), x, f, { ...bad, srcOffset: 0 })).toThrow(/src is i32 but dst is f32/);
    release(ctx, x, y, f);
  });
});

describe('op_gather and op_trilu kernels', () => {
  it('gather along a middle axis with negative indices matches the reference', async () => {
    const ctx = await gpu();
    const shape = [3, 7, 13];
    const data = randInt(numel(shape), -50, 50, 3);
    const idx = Int32Array.from([-1, 0, 6, 3, -7, 2]);
    const x = upload(ctx, data, shape);
    const i = upload(ctx, idx, [2, 3]);
    const y = empty(ctx, [3, 2, 3, 13], 'i32');
    const expected = new Int32Array(numel(y.shape));
    gatherReference(data, shape, idx, 1, expected);
    expect(Array.from(await run(ctx, (s) => recordGather(ctx, s, x, i, y, 1), y))).toEqual(Array.from(expected));
    const bad = empty(ctx, [3, 6, 13], 'i32');
    expect(() => recordGather(ctx, new Step(ctx), x, i, bad, 1)).toThrow(/op_gather \[3,7,13\] indices \[2,3\] axis 1: out has shape \[3,6,13\]/);
    release(ctx, x, i, y, bad);
  });

  it('embedding lookup: table [V, d] f32 with i32 ids, out-of-range ids clamped', async () => {
    const ctx = await gpu();
    for (const [n, vocab, d] of [[1, 1, 1], [5, 17, 3], [9, 100, 65], [3, 1000, 257]] as [number, number, number][]) {
      const ids = randInt(n, -vocab - 2, vocab + 2, n + vocab);
      ids[0] = vocab;
      const ts = randn(vocab * d, d);
      const [idT, table, out] = [upload(ctx, ids, [n]), upload(ctx, ts, [vocab, d]), empty(ctx, [n, d])];
      const step = new Step(ctx);
      recordGather(ctx, step, table, idT, out, 0);
      await step.submit();
      const want = new Float32Array(n * d);
      gatherReference(ts, [vocab, d], ids, 0, want);
      expect(Array.from(want.subarray(0, d))).toEqual(Array.from(ts.subarray((vocab - 1) * d)));
      expectClose(await readF32(ctx, out), want, 0, 0, `gather ids[${n}] table[${vocab},${d}]`);
      release(ctx, idT, table, out);
    }
    const [fids, table, out] = [empty(ctx, [4]), empty(ctx, [10, 3]), empty(ctx, [4, 3])];
    expect(() => recordGather(ctx, new Step(ctx), table, fids, out, 0)).toThrow(/op_gather \[10,3\] indices \[4\] axis 0: indices has dtype f32 but i32/);
    release(ctx, fids, table, out);
  });

  it('checkIndices names the first bad id and its position', () => {
    expect(() => checkIndices(Int32Array.of(0, 5, 9, -10), 10)).not.toThrow();
    expect(() => checkIndices(Int32Array.of(0, 5, 10, -11), 10)).toThrow(KernelShapeError);
    expect(() => checkIndices(Int32Array.of(0, 5, 10, -11), 10)).toThrow(/op_gather: id 10 at position 2 is outside \[-10, 10\)/);
    expect(() => checkIndices(Int32Array.of(-11), 10)).toThrow(/id -11 at position 0/);
  });

  for (const [upper, k] of [[true, 0], [true, -2], [false, 3], [false, -1]] as const) {
    it(`trilu upper=${upper} k=${k} on a batch of odd matrices matches the reference`, async () => {
      const ctx = await gpu();
      const shape = [3, 5, 19];
      const data = randInt(numel(shape), 1, 100, 11);
      const x = upload(ctx, data, shape);
      const y = empty(ctx, shape, 'i32');
      expect(Array.from(await run(ctx, (s) => recordTrilu(ctx, s, x, y, k, upper), y))).toEqual(triluReference(data, shape, k, upper, 0));
      const flat = upload(ctx, data, [numel(shape)]);
      expect(() => recordTrilu(ctx, new Step(ctx), flat, y, k, upper)).toThrow(KernelShapeError);
      release(ctx, x, y, flat);
    });
  }
});

describe('movement ops: host evaluation keeps int64 exact', () => {
  const i64 = (dims: number[], v: number[]) => fromNumbers('int64', dims, v);
  const vals = (t: HostTensor | undefined) => Array.from(t!.data as BigInt64Array, Number);

  it('Slice with INT64_MAX ends and negative steps', () => {
    const x = i64([2, 5], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const [y] = hostNode('Slice', new Map(), [x, i64([2], [0, -1]), i64([2], [2 ** 63, -(2 ** 63)]), i64([2], [0, 1]), i64([2], [1, -2])])!;
    expect(y!.type).toBe('int64');
    expect(y!.dims).toEqual([2, 3]);
    expect(vals(y)).toEqual([4, 2, 0, 9, 7, 5]);
  });

  it('Gather (negative index), Concat, Expand, Tile, Transpose and Split', () => {
    const shape = i64([4], [2, 1, 3, 7]);
    expect(vals(hostNode('Gather', new Map([['axis', 0]]), [shape, i64([2], [-1, 0])])![0])).toEqual([7, 2]);
    expect(vals(hostNode('Concat', new Map([['axis', 0]]), [shape, i64([1], [-1])])![0])).toEqual([2, 1, 3, 7, -1]);
    expect(vals(hostNode('Expand', new Map(), [i64([2, 1], [5, 6]), i64([2], [2, 3])])![0])).toEqual([5, 5, 5, 6, 6, 6]);
    expect(vals(hostNode('Tile', new Map(), [i64([2], [5, 6]), i64([1], [3])])![0])).toEqual([5, 6, 5, 6, 5, 6]);
    expect(vals(hostNode('Transpose', new Map(), [i64([2, 2], [1, 2, 3, 4])])![0])).toEqual([1, 3, 2, 4]);
    const parts = hostNode('Split', new Map([['axis', 0]]), [shape, i64([2], [1, 3])], 2)!;
    expect(parts.map(vals)).toEqual([[2], [1, 3, 7]]);
  });

  it('Gather rejects out-of-range indices on the host', () => {
    expect(() => hostNode('Gather', new Map(), [i64([2], [1, 2]), i64([1], [2])])).toThrow(/Gather .*axis 0: id 2 at position 0 is outside \[-2, 2\)/);
  });
});
