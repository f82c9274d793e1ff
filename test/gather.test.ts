import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step } from '../src/gpu/index.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { checkIds, gatherPipeline, gatherReference, recordGather } from '../src/kernels/gather.js';
import { expectClose, gpu, randInt, randn } from './helpers/gpu.js';

// Tolerance: exact (a copy).
describe('gather kernel', () => {
  it('copies the rows of valid ids and writes zeros for out-of-range ids', async () => {
    const ctx = await gpu();
    await ctx.pipelines.prepare([gatherPipeline()]);
    for (const [n, vocab, d] of [[1, 1, 1], [5, 17, 3], [9, 100, 65], [3, 1000, 257]] as [number, number, number][]) {
      const ids = randInt(n, -2, vocab + 2, n + vocab);
      ids[0] = vocab;
      const ts = randn(vocab * d, d);
      const [idT, table, out] = [upload(ctx, ids, [n]), upload(ctx, ts, [vocab, d]), empty(ctx, [n, d])];
      const step = new Step(ctx);
      recordGather(ctx, step, idT, table, out);
      await step.submit();
      const want = gatherReference(ids, ts, d);
      expect(want.subarray(0, d).every((v) => v === 0)).toBe(true);
      expectClose(await readF32(ctx, out), want, 0, 0, `gather ids[${n}] table[${vocab},${d}]`);
      release(ctx, idT, table, out);
    }
  });

  it('checkIds names the first bad id and its position', () => {
    expect(() => checkIds(Int32Array.of(0, 5, 9), 10)).not.toThrow();
    expect(() => checkIds(Int32Array.of(0, 5, 10, -1), 10)).toThrow(KernelShapeError);
    expect(() => checkIds(Int32Array.of(0, 5, 10, -1), 10)).toThrow(/gather: id 10 at position 2 .*\[0, 10\)/);
    expect(() => checkIds(Int32Array.of(-1), 10)).toThrow(/id -1 at position 0/);
  });

  it('rejects mismatched shapes and dtypes with a typed error naming the kernel', async () => {
    const ctx = await gpu();
    const [ids, fids, table, out] = [empty(ctx, [4], 'i32'), empty(ctx, [4]), empty(ctx, [10, 3]), empty(ctx, [4, 2])];
    expect(() => recordGather(ctx, new Step(ctx), ids, table, out)).toThrow(KernelShapeError);
    expect(() => recordGather(ctx, new Step(ctx), ids, table, out)).toThrow(/gather ids\[4\] table\[10,3\].*out has shape \[4,2\] but \[4,3\]/);
    expect(() => recordGather(ctx, new Step(ctx), fids, table, out)).toThrow(/gather ids\[4\].*ids has dtype f32 but i32/);
    release(ctx, ids, fids, table, out);
  });
});
