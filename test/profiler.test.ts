// The dispatch profiler (src/gpu/profiler.ts): with ctx.profiler set, a step times each dispatch in its own pass
// and adds the time to its kernel; the results of the step are unchanged, and without a profiler nothing is timed.
import { describe, expect, it } from 'vitest';
import { DispatchProfiler, Step } from '../src/gpu/index.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { gemvPipeline, recordGemv } from '../src/kernels/gemv.js';
import { matmulReference } from '../src/kernels/matmul.js';
import { expectClose, gpu, randn } from './helpers/gpu.js';

describe('DispatchProfiler', () => {
  it('times every dispatch of a step by kernel and leaves the results as they are', async (t) => {
    const ctx = await gpu();
    if (!ctx.features.has('timestamp-query')) t.skip();
    const [M, N, K] = [1, 300, 257];
    const as = randn(M * K, 1);
    const bs = randn(K * N, 2);
    const a = upload(ctx, as, [M, K]);
    const b = upload(ctx, bs, [K, N]);
    const c = empty(ctx, [M, N]);
    const d = empty(ctx, [M, N]);
    await ctx.pipelines.prepare([gemvPipeline(ctx, {})]);
    const profiler = new DispatchProfiler();
    ctx.profiler = profiler;
    try {
      for (let i = 0; i < 2; i++) {
        const step = new Step(ctx);
        recordGemv(ctx, step, a, b, c);
        recordGemv(ctx, step, a, b, d);
        await step.submit();
      }
    } finally {
      ctx.profiler = undefined;
    }
    const report = profiler.report();
    expect(report.map((k) => [k.kernel, k.dispatches])).toEqual([['gemv', 4]]);
    expect(report[0]!.ms).toBeGreaterThan(0);
    const expected = matmulReference(as, bs, { M, N, K });
    expectClose(await readF32(ctx, c), expected, 1e-4, 1e-4, 'first gemv');
    expectClose(await readF32(ctx, d), expected, 1e-4, 1e-4, 'second gemv');
    // Detached: the next step is not timed.
    const step = new Step(ctx);
    recordGemv(ctx, step, a, b, c);
    await step.submit();
    expect(profiler.report()[0]!.dispatches).toBe(4);
    profiler.reset();
    expect(profiler.report()).toEqual([]);
    release(ctx, a, b, c, d);
  });
});
