// Catches a softmax kernel that rescales shares wrongly, loses an element or a row past the first grid dimension, or
// overflows on large logits.
import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step } from '../src/gpu/index.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { recordSoftmax, softmaxPipeline, softmaxReference } from '../src/kernels/softmax.js';
import { expectClose, gpu, randn } from './helpers/gpu.js';
import { reduceContexts } from './reduce-widths.js';

// Tolerance: 1e-8 abs + 2e-5 rel (f32 exp; the reference runs in double).
describe('softmax kernel', () => {
  it('matches the reference on odd and large rows, both workgroup widths', async () => {
    for (const [width, ctx] of reduceContexts(await gpu())) {
      await ctx.pipelines.prepare([softmaxPipeline(ctx.adapter)]);
      const shapes: [number, number][] = [[1, 1], [4, 1], [1, 3], [3, 65], [2, 257], [5, 1000], [1, 32000], [2, 32000], [200, 7]];
      for (const [r, c] of shapes) {
        const xs = randn(r * c, r * 31 + c, 4);
        const [x, y] = [upload(ctx, xs, [r, c]), empty(ctx, [r, c])];
        const step = new Step(ctx);
        recordSoftmax(ctx, step, x, y);
        await step.submit();
        expectClose(await readF32(ctx, y), softmaxReference(xs, c), 1e-8, 2e-5, `softmax ${width} [${r},${c}]`);
        release(ctx, x, y);
      }
    }
  });

  it('is stable for large logits and masked (-inf) entries', async () => {
    const ctx = await gpu();
    await ctx.pipelines.prepare([softmaxPipeline(ctx.adapter)]);
    const c = 100;
    const xs = randn(2 * c, 9, 30).map((v, i) => (i % c) % 3 === 0 ? -Infinity : v + 1000);
    const [x, y] = [upload(ctx, xs, [2, c]), empty(ctx, [2, c])];
    const step = new Step(ctx);
    recordSoftmax(ctx, step, x, y);
    await step.submit();
    expectClose(await readF32(ctx, y), softmaxReference(xs, c), 1e-8, 2e-5, 'softmax large/masked');
    release(ctx, x, y);
  });

  it('covers more rows than one grid dimension holds', async () => {
    const ctx = await gpu();
    await ctx.pipelines.prepare([softmaxPipeline(ctx.adapter)]);
    const r = ctx.limits.maxComputeWorkgroupsPerDimension + 3;
    const xs = randn(r * 2, 4);
    const [x, y] = [upload(ctx, xs, [r, 2]), empty(ctx, [r, 2])];
    const step = new Step(ctx);
    recordSoftmax(ctx, step, x, y);
    await step.submit();
    expectClose(await readF32(ctx, y), softmaxReference(xs, 2), 1e-8, 2e-5, `softmax [${r},2]`);
    release(ctx, x, y);
  });

  it('rejects mismatched shapes with a typed error naming the kernel', async () => {
    const ctx = await gpu();
    const [x, y, z] = [empty(ctx, [2, 5]), empty(ctx, [5, 2]), empty(ctx, [2, 0])];
    expect(() => recordSoftmax(ctx, new Step(ctx), x, y)).toThrow(KernelShapeError);
    expect(() => recordSoftmax(ctx, new Step(ctx), x, y)).toThrow(/softmax x\[2,5\].*y has shape \[5,2\]/);
    expect(() => recordSoftmax(ctx, new Step(ctx), z, z)).toThrow(/softmax x\[2,0\].*non-empty last dim/);
    release(ctx, x, y, z);
  });
});
