// op_gather_elements and op_gather_nd against their plain-TS references on random shapes off the 256-wide
// workgroup: gathers along every axis, scatters with each reduction and duplicate indices (applied in index
// order), negative indices, GatherND with batch dims; and the shape errors. Catches a wrong stride, a dropped
// axis, a scatter line that skips or repeats updates, or a batch offset left out.
import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step, numel } from '../src/gpu/index.js';
import { empty, release, upload } from '../src/kernels/common.js';
import { SCATTER_REDUCTIONS, gatherElementsReference, recordGatherElements } from '../src/kernels/op_gather_elements.js';
import { gatherNdReference, gatherNdShape, recordGatherNd } from '../src/kernels/op_gather_nd.js';
import { expectClose, gpu, randInt, randn, readTensor, runStep } from './helpers/gpu.js';

describe('op_gather_elements kernel', () => {
  const cases: { data: number[]; indices: number[]; axis: number }[] = [
    { data: [300], indices: [517], axis: 0 },
    { data: [7, 45], indices: [9, 40], axis: 0 },
    { data: [3, 5, 37], indices: [3, 4, 61], axis: 2 },
    { data: [2, 9, 3, 5], indices: [2, 13, 3, 4], axis: 1 },
  ];
  it('gathers along the axis, negative indices from the end', async () => {
    const ctx = await gpu();
    for (const [c, { data, indices, axis }] of cases.entries()) {
      const xs = randn(numel(data), 10 + c);
      const ids = randInt(numel(indices), -data[axis]!, data[axis]!, 20 + c);
      const [x, i, y] = [upload(ctx, xs, data), upload(ctx, ids, indices), empty(ctx, indices)];
      await runStep((step) => recordGatherElements(ctx, step, { scatter: false, reduction: 'none', floatData: true }, x, i, y, axis));
      expectClose(await readTensor(y), gatherElementsReference({ scatter: false, reduction: 'none', floatData: true }, xs, data, ids, indices, axis), 0, 0, `gather ${data} axis ${axis}`);
      release(ctx, x, i, y);
    }
  });

  it('scatters with every reduction, duplicates combined in index order', async () => {
    const ctx = await gpu();
    for (const reduction of SCATTER_REDUCTIONS) {
      for (const [c, { data, axis }] of cases.entries()) {
        // Indices no larger than data off the axis, many repeats along it.
        const indices = data.map((d, k) => (k === axis ? d + 3 : Math.max(1, d - 1)));
        const s = { scatter: true, reduction, floatData: true };
        const xs = randn(numel(data), 30 + c);
        const ups = randn(numel(indices), 40 + c);
        const ids = randInt(numel(indices), -data[axis]!, data[axis]!, 50 + c);
        const [out, u, i] = [upload(ctx, xs, data), upload(ctx, ups, indices), upload(ctx, ids, indices)];
        await runStep((step) => recordGatherElements(ctx, step, s, u, i, out, axis));
        expectClose(await readTensor(out), gatherElementsReference(s, xs, data, ids, indices, axis, ups), 1e-5, 1e-5, `scatter ${reduction} ${data} axis ${axis}`);
        release(ctx, out, u, i);
      }
    }
  });

  it('rejects indices of another rank and an axis outside the rank', async () => {
    const ctx = await gpu();
    const [x, i, y] = [empty(ctx, [3, 4]), empty(ctx, [5], 'i32'), empty(ctx, [5])];
    const s = { scatter: false, reduction: 'none' as const, floatData: true };
    expect(() => recordGatherElements(ctx, new Step(ctx), s, x, i, y, 0)).toThrow(KernelShapeError);
    const [j, z] = [empty(ctx, [3, 4], 'i32'), empty(ctx, [3, 4])];
    expect(() => recordGatherElements(ctx, new Step(ctx), s, x, j, z, 2)).toThrow(/axis 2 is outside rank 2/);
    release(ctx, x, i, y, j, z);
  });
});

describe('op_gather_nd kernel', () => {
  const cases: { data: number[]; indices: number[]; batchDims: number }[] = [
    { data: [300, 3], indices: [259, 1], batchDims: 0 },
    { data: [5, 7, 11], indices: [6, 2, 2], batchDims: 0 },
    { data: [4, 6, 9, 3], indices: [4, 5, 2], batchDims: 1 },
    { data: [3, 2, 5, 7], indices: [3, 2, 3, 2], batchDims: 2 },
  ];
  it('gathers slices at the index tuples, batch dims offset per batch', async () => {
    const ctx = await gpu();
    for (const [c, { data, indices, batchDims }] of cases.entries()) {
      const s = { scatter: false, reduction: 'none' as const, floatData: true, batchDims };
      const xs = randn(numel(data), 60 + c);
      const ids = randInt(numel(indices), -3, 5, 70 + c);
      const outShape = gatherNdShape(data, indices, batchDims);
      const [x, i, y] = [upload(ctx, xs, data), upload(ctx, ids, indices), empty(ctx, outShape)];
      await runStep((step) => recordGatherNd(ctx, step, s, x, i, y));
      expectClose(await readTensor(y), gatherNdReference(s, xs, data, ids, indices), 0, 0, `gatherND ${data} ${indices} b ${batchDims}`);
      release(ctx, x, i, y);
    }
  });

  it('scatters slices with every reduction, repeated tuples in order', async () => {
    const ctx = await gpu();
    for (const reduction of SCATTER_REDUCTIONS) {
      for (const [c, { data, indices }] of cases.slice(0, 2).entries()) {
        const s = { scatter: true, reduction, floatData: true, batchDims: 0 };
        const upShape = gatherNdShape(data, indices, 0);
        const xs = randn(numel(data), 80 + c);
        const ups = randn(numel(upShape), 90 + c);
        const ids = randInt(numel(indices), -2, 3, 100 + c);
        const [out, u, i] = [upload(ctx, xs, data), upload(ctx, ups, upShape), upload(ctx, ids, indices)];
        await runStep((step) => recordGatherNd(ctx, step, s, u, i, out));
        expectClose(await readTensor(out), gatherNdReference(s, xs, data, ids, indices, ups), 1e-5, 1e-5, `scatterND ${reduction} ${data}`);
        release(ctx, out, u, i);
      }
    }
  });

  it('rejects tuples longer than data has dims', async () => {
    const ctx = await gpu();
    const [x, i, y] = [empty(ctx, [3, 4]), empty(ctx, [2, 3], 'i32'), empty(ctx, [2])];
    expect(() => recordGatherNd(ctx, new Step(ctx), { scatter: false, reduction: 'none', floatData: true, batchDims: 0 }, x, i, y)).toThrow(/index tuples of 3 do not address data of rank 2/);
    release(ctx, x, i, y);
  });
});
