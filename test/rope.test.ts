// Catches a wrong rotation sign, pair index, position offset, cos/sin table stride or range reduction in the RoPE
// kernel.
import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step } from '../src/gpu/index.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { recordRope, recordRopeTable, ropeInvFreq, ropeReference, ropeTableReference } from '../src/kernels/rope.js';
import { expectClose, gpu, randn } from './helpers/gpu.js';

// Tolerance: 2e-6 abs + 1e-6 rel against the reference, which forms the same f32 angle as PyTorch and takes
// sin/cos of it in double (the adapter's own sin/cos would miss by ~2e-4).
describe('rope kernel', () => {
  it('matches the f32-angle reference at positions up to ~2100, in place', async () => {
    const ctx = await gpu();
    for (const [l, heads, hd, offset] of [[1, 1, 2, 0], [3, 2, 6, 5], [7, 3, 64, 0], [5, 4, 128, 2040], [1, 32, 128, 2047], [33, 1, 10, 1000]]) {
      const xs = randn(l * heads * hd, l + hd + offset);
      const freqs = ropeInvFreq(hd);
      const [x, f] = [upload(ctx, xs, [l, heads * hd]), upload(ctx, freqs, [hd / 2])];
      const step = new Step(ctx);
      recordRope(ctx, step, x, f, { heads, positionOffset: offset });
      await step.submit();
      expectClose(await readF32(ctx, x), ropeReference(xs, heads, freqs, offset), 2e-6, 1e-6, `rope L=${l} H=${heads} hd=${hd} offset=${offset}`);
      release(ctx, x, f);
    }
  });

  it('writes to a separate output and leaves x alone, with another theta', async () => {
    const ctx = await gpu();
    const [l, heads, hd] = [4, 2, 16];
    const xs = randn(l * heads * hd, 3);
    const freqs = ropeInvFreq(hd, 500000);
    const [x, f, out] = [upload(ctx, xs, [l, heads * hd]), upload(ctx, freqs, [hd / 2]), empty(ctx, [l, heads * hd])];
    const step = new Step(ctx);
    recordRope(ctx, step, x, f, { heads, positionOffset: 100, out });
    await step.submit();
    expectClose(await readF32(ctx, out), ropeReference(xs, heads, freqs, 100), 2e-6, 1e-6, 'rope out-of-place');
    expectClose(await readF32(ctx, x), xs, 0, 0, 'rope input');
    release(ctx, x, f, out);
  });

  it('applies per-row cos/sin tables (the exported graph\'s own tables), into a separate output', async () => {
    const ctx = await gpu();
    for (const [l, heads, hd] of [[1, 1, 2], [5, 3, 32], [9, 2, 10]] as const) {
      const xs = randn(l * heads * hd, 7 + l);
      const [cs, sn] = [randn(l * hd, 1 + hd), randn(l * hd, 2 + hd)];
      const [x, c, s, y] = [upload(ctx, xs, [l, heads * hd]), upload(ctx, cs, [l, hd]), upload(ctx, sn, [l, hd]), empty(ctx, [l, heads * hd])];
      const step = new Step(ctx);
      recordRopeTable(ctx, step, x, c, s, { heads, out: y });
      await step.submit();
      // Tolerance: exact up to f32 rounding of two products and a sum (1e-6 abs + 1e-6 rel).
      expectClose(await readF32(ctx, y), ropeTableReference(xs, heads, cs, sn, l), 1e-6, 1e-6, `rope table L=${l} H=${heads} hd=${hd}`);
      expect(await readF32(ctx, x)).toEqual(xs);
      release(ctx, x, c, s, y);
    }
  });

  it('has PyTorch f32 frequencies', () => {
    // torch: 1.0 / (10000 ** (torch.arange(0, 8, 2).float() / 8))
    expect(Array.from(ropeInvFreq(8))).toEqual([1, 0.10000000149011612, 0.009999999776482582, 0.0010000000474974513]);
  });

  it('rejects bad shapes with a typed error naming the kernel', async () => {
    const ctx = await gpu();
    const [x, f] = [empty(ctx, [3, 24]), empty(ctx, [4])];
    expect(() => recordRope(ctx, new Step(ctx), x, f, { heads: 2 })).toThrow(KernelShapeError);
    expect(() => recordRope(ctx, new Step(ctx), x, f, { heads: 2 })).toThrow(/rope x\[3,24\] invFreq\[4\] heads=2.*heads\*hd = 2\*8/);
    expect(() => recordRope(ctx, new Step(ctx), x, f, { heads: 3, positionOffset: -1 })).toThrow(/rope x\[3,24\].*positionOffset -1/);
    release(ctx, x, f);
  });
});
