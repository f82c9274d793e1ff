// Catches an FMA peak kernel that does not do the work the kernel benchmark credits it with (its sums against the
// reference).
import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step } from '../src/gpu/index.js';
import { empty, readF32, release } from '../src/kernels/common.js';
import { fmaPeakReference, recordFmaPeak } from '../src/kernels/fma_peak.js';
import { expectClose, gpu } from './helpers/gpu.js';

// Tolerance: 1e-4 relative. Each round rounds once in f32 (the reference rounds only at the end), and with
// m < 1 the per-round errors decay, so the error stays a few hundred ulps at most.
describe('fma_peak kernel', () => {
  it('matches the reference for odd sizes, zero and many rounds, and custom m, c', async () => {
    const ctx = await gpu();
    const cases = [
      { n: 1, iterations: 0 },
      { n: 63, iterations: 1 },
      { n: 1100, iterations: 100 },
      { n: 65, iterations: 5000 },
      { n: 200, iterations: 37, m: 0.5, c: 0.25 },
    ];
    for (const { n, ...opts } of cases) {
      const y = empty(ctx, [n]);
      const step = new Step(ctx);
      recordFmaPeak(ctx, step, y, opts);
      await step.submit();
      expectClose(await readF32(ctx, y), fmaPeakReference(n, opts), 0, 1e-4, `fma_peak n=${n} iterations=${opts.iterations}`);
      release(ctx, y);
    }
  });

  it('rejects bad shapes and options with a typed error naming the kernel', async () => {
    const ctx = await gpu();
    const y = empty(ctx, [4, 4]);
    expect(() => recordFmaPeak(ctx, new Step(ctx), y, { iterations: 1 })).toThrow(KernelShapeError);
    expect(() => recordFmaPeak(ctx, new Step(ctx), y, { iterations: 1 })).toThrow(/fma_peak \[4,4\].*y must be/);
    const z = empty(ctx, [4]);
    expect(() => recordFmaPeak(ctx, new Step(ctx), z, { iterations: 1, m: 1 })).toThrow(/fma_peak \[4\] x 1: m=1/);
    release(ctx, y, z);
  });
});
