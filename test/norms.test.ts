// Catches a wrong mean, variance, epsilon, weight or bias term, or a lost element of a row, in the RMSNorm and
// LayerNorm kernels.
import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step } from '../src/gpu/index.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { layernormReference, layernormStatsReference, recordLayernorm } from '../src/kernels/layernorm.js';
import { recordRmsnorm, rmsnormReference } from '../src/kernels/rmsnorm.js';
import { expectClose, gpu, randn } from './helpers/gpu.js';
import { reduceContexts } from './reduce-widths.js';

// Tolerances: rmsnorm 1e-6 abs + 1e-5 rel; layernorm 2e-6 abs + 1e-5 rel, and 1e-4 abs when the rows sit at
// mean 1000 (the f32 inputs themselves are only good to 6e-5 there). References run in double.
const SHAPES: [number, number][] = [[1, 1], [1, 3], [3, 65], [2, 257], [5, 1000], [1, 4096], [130, 3]];

describe('rmsnorm kernel', () => {
  it('matches the reference on odd shapes, both workgroup widths', async () => {
    for (const [width, ctx] of reduceContexts(await gpu())) {
      for (const [r, d] of SHAPES) {
        const xs = randn(r * d, r + d, 2);
        const ws = randn(d, d + 7);
        const [x, w, y] = [upload(ctx, xs, [r, d]), upload(ctx, ws, [d]), empty(ctx, [r, d])];
        const step = new Step(ctx);
        recordRmsnorm(ctx, step, x, w, y, { eps: 1e-5 });
        await step.submit();
        expectClose(await readF32(ctx, y), rmsnormReference(xs, ws, 1e-5), 1e-6, 1e-5, `rmsnorm ${width} [${r},${d}]`);
        release(ctx, x, w, y);
      }
    }
  });

  it('normalises each row of a rank-3 input', async () => {
    const ctx = await gpu();
    const xs = randn(2 * 3 * 5, 1);
    const ws = randn(5, 2);
    const [x, w, y] = [upload(ctx, xs, [2, 3, 5]), upload(ctx, ws, [5]), empty(ctx, [2, 3, 5])];
    const step = new Step(ctx);
    recordRmsnorm(ctx, step, x, w, y);
    await step.submit();
    expectClose(await readF32(ctx, y), rmsnormReference(xs, ws), 1e-6, 1e-5, 'rmsnorm [2,3,5]');
    release(ctx, x, w, y);
  });

  it('rejects mismatched shapes with a typed error naming the kernel', async () => {
    const ctx = await gpu();
    const [x, w, y] = [empty(ctx, [2, 8]), empty(ctx, [4]), empty(ctx, [2, 8])];
    expect(() => recordRmsnorm(ctx, new Step(ctx), x, w, y)).toThrow(KernelShapeError);
    expect(() => recordRmsnorm(ctx, new Step(ctx), x, w, y)).toThrow(/rmsnorm x\[2,8\] weight\[4\].*weight has shape \[4\] but \[8\]/);
    release(ctx, x, w, y);
  });
});

describe('layernorm kernel', () => {
  for (const hasBias of [true, false]) {
    it(`matches the reference on odd shapes (${hasBias ? 'with' : 'without'} bias), both workgroup widths`, async () => {
      for (const [width, ctx] of reduceContexts(await gpu())) {
        for (const [r, d] of SHAPES) {
          const xs = randn(r * d, 3 * r + d, 2);
          const ws = randn(d, d + 1);
          const bs = randn(d, d + 2);
          const [x, w, b, y] = [upload(ctx, xs, [r, d]), upload(ctx, ws, [d]), upload(ctx, bs, [d]), empty(ctx, [r, d])];
          const step = new Step(ctx);
          recordLayernorm(ctx, step, x, w, hasBias ? b : null, y);
          await step.submit();
          const want = layernormReference(xs, ws, hasBias ? bs : null);
          expectClose(await readF32(ctx, y), want, 2e-6, 1e-5, `layernorm ${width} [${r},${d}] bias=${hasBias}`);
          release(ctx, x, w, b, y);
        }
      }
    });
  }

  it('also writes each row\'s mean and inverse standard deviation when asked', async () => {
    for (const [width, ctx] of reduceContexts(await gpu())) {
      for (const [r, d] of [[1, 1], [3, 65], [130, 3]] as const) {
        const xs = randn(r * d, 7 * r + d, 2).map((v) => v + 3);
        const ws = randn(d, d + 4);
        const [x, w, y, mean, inv] = [upload(ctx, xs, [r, d]), upload(ctx, ws, [d]), empty(ctx, [r, d]), empty(ctx, [r]), empty(ctx, [r])];
        const step = new Step(ctx);
        recordLayernorm(ctx, step, x, w, null, y, { eps: 1e-3, stats: { mean, invStdDev: inv } });
        await step.submit();
        const want = layernormStatsReference(xs, d, 1e-3);
        const what = `layernorm stats ${width} [${r},${d}]`;
        expectClose(await readF32(ctx, y), layernormReference(xs, ws, null, 1e-3), 2e-6, 1e-5, what);
        expectClose(await readF32(ctx, mean), want.mean, 2e-6, 1e-5, `${what} mean`);
        expectClose(await readF32(ctx, inv), want.invStdDev, 2e-6, 1e-5, `${what} invStdDev`);
        release(ctx, x, w, y, mean, inv);
      }
    }
  });

  it('keeps its variance when the rows have a large mean', async () => {
    const ctx = await gpu();
    const [r, d] = [4, 777];
    const xs = randn(r * d, 5).map((v) => 1000 + v);
    const ws = new Float32Array(d).fill(1);
    const bs = new Float32Array(d);
    const [x, w, b, y] = [upload(ctx, xs, [r, d]), upload(ctx, ws, [d]), upload(ctx, bs, [d]), empty(ctx, [r, d])];
    const step = new Step(ctx);
    recordLayernorm(ctx, step, x, w, b, y, { eps: 1e-6 });
    await step.submit();
    expectClose(await readF32(ctx, y), layernormReference(xs, ws, bs, 1e-6), 1e-4, 0, 'layernorm mean 1000');
    release(ctx, x, w, b, y);
  });

  it('rejects mismatched shapes with a typed error naming the kernel', async () => {
    const ctx = await gpu();
    const [x, w, b, y] = [empty(ctx, [3, 6]), empty(ctx, [6]), empty(ctx, [5]), empty(ctx, [3, 6])];
    expect(() => recordLayernorm(ctx, new Step(ctx), x, w, b, y)).toThrow(KernelShapeError);
    expect(() => recordLayernorm(ctx, new Step(ctx), x, w, b, y)).toThrow(/layernorm x\[3,6\] weight\[6\] bias\[5\].*bias has shape \[5\]/);
    const yt = empty(ctx, [6, 3]);
    expect(() => recordLayernorm(ctx, new Step(ctx), x, w, null, yt)).toThrow(/layernorm x\[3,6\].*y has shape \[6,3\]/);
    const m = empty(ctx, [2]);
    expect(() => recordLayernorm(ctx, new Step(ctx), x, w, null, y, { stats: { mean: m, invStdDev: m } })).toThrow(/layernorm x\[3,6\].*mean has shape \[2\] but \[3\]/);
    release(ctx, x, w, b, y, yt, m);
  });
});
