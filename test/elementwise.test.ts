import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step } from '../src/gpu/index.js';
import { addPipeline, addReference, recordAdd } from '../src/kernels/add.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { expectClose, gpu, randn } from './helpers/gpu.js';

// Tolerance: exact (one f32 addition, as the reference's Float32Array store rounds it).
describe('add kernel', () => {
  it('matches the reference on sizes around the workgroup size', async () => {
    const ctx = await gpu();
    await ctx.pipelines.prepare([addPipeline()]);
    for (const shape of [[1], [3], [255], [2, 129], [7, 1000]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const [as, bs] = [randn(n, n), randn(n, n + 1)];
      const [a, b, out] = [upload(ctx, as, shape), upload(ctx, bs, shape), empty(ctx, shape)];
      const step = new Step(ctx);
      recordAdd(ctx, step, a, b, out);
      await step.submit();
      expectClose(await readF32(ctx, out), addReference(as, bs), 0, 0, `add [${shape}]`);
      release(ctx, a, b, out);
    }
  });

  it('rejects mismatched shapes with a typed error naming the kernel', async () => {
    const ctx = await gpu();
    const [a, b] = [empty(ctx, [4, 3]), empty(ctx, [3, 4])];
    expect(() => recordAdd(ctx, new Step(ctx), a, b, a)).toThrow(KernelShapeError);
    expect(() => recordAdd(ctx, new Step(ctx), a, b, a)).toThrow(/add a\[4,3\] b\[3,4\].*b has shape \[3,4\] but \[4,3\]/);
    release(ctx, a, b);
  });
});
