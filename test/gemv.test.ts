// Catches a wrong index, bound or epilogue term in the decode GEMV (shaders/gemv.wgsl): every M = 1..4, odd N and K,
// B plain and transposed, batches, against the plain matmul reference.
import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step, type GpuContext } from '../src/gpu/index.js';
import type { Activation } from '../src/kernels/activation.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { recordGemv } from '../src/kernels/gemv.js';
import { matmulReference } from '../src/kernels/matmul.js';
import { expectClose, gpu, randn } from './helpers/gpu.js';

// Tolerance: 1e-4 absolute + 1e-4 relative (f32 accumulation in another order than the reference; K <= 301).

async function run(ctx: GpuContext, M: number, N: number, K: number, transB: boolean, seed: number, activation?: Activation, epilogue = false): Promise<void> {
  const as = randn(M * K, seed);
  const bs = randn(N * K, seed + 1);
  const biasData = epilogue ? randn(N, seed + 2) : undefined;
  const resData = epilogue ? randn(M * N, seed + 3) : undefined;
  const a = upload(ctx, as, [M, K]);
  const b = upload(ctx, bs, transB ? [N, K] : [K, N]);
  const c = empty(ctx, [M, N]);
  const bias = biasData && upload(ctx, biasData, [N]);
  const residual = resData && upload(ctx, resData, [M, N]);
  const step = new Step(ctx);
  recordGemv(ctx, step, a, b, c, { transB, activation, bias, residual, alpha: epilogue ? 0.5 : undefined });
  await step.submit();
  const expected = matmulReference(as, bs, { M, N, K }, { transB, activation, bias: biasData, residual: resData, alpha: epilogue ? 0.5 : 1 });
  expectClose(await readF32(ctx, c), expected, 1e-4, 1e-4, `gemv M=${M} N=${N} K=${K} transB=${transB}`);
  release(ctx, a, b, c, ...(bias ? [bias] : []), ...(residual ? [residual] : []));
}

describe('gemv kernel', () => {
  it('matches the reference for M = 1..4 with odd N and K, B plain and transposed', async () => {
    const ctx = await gpu();
    let seed = 1;
    for (const M of [1, 2, 3, 4]) {
      for (const [N, K] of [[1, 1], [7, 5], [33, 301], [257, 64], [3, 130]] as const) {
        await run(ctx, M, N, K, false, seed++);
        await run(ctx, M, N, K, true, seed++);
      }
    }
  });

  it('fuses alpha, bias, activation and residual', async () => {
    const ctx = await gpu();
    await run(ctx, 1, 37, 19, false, 100, 'gelu_tanh', true);
    await run(ctx, 3, 37, 19, true, 101, 'silu', true);
  });

  it('batches A and B, and broadcasts either one', async () => {
    const ctx = await gpu();
    const [M, N, K] = [2, 9, 13];
    for (const [batchA, batchB, transB] of [[3, 3, false], [3, 1, true], [1, 3, false]] as const) {
      const batch = Math.max(batchA, batchB);
      const as = randn(batchA * M * K, 200 + batch);
      const bs = randn(batchB * N * K, 300 + batch);
      const a = upload(ctx, as, batchA > 1 ? [batchA, M, K] : [M, K]);
      const b = upload(ctx, bs, [...(batchB > 1 ? [batchB] : []), ...(transB ? [N, K] : [K, N])]);
      const c = empty(ctx, [batch, M, N]);
      const step = new Step(ctx);
      recordGemv(ctx, step, a, b, c, { transB });
      await step.submit();
      const part = (x: Float32Array, count: number, i: number, size: number) => x.subarray((count > 1 ? i : 0) * size, ((count > 1 ? i : 0) + 1) * size);
      const expected = Array.from({ length: batch }, (_, i) => [...matmulReference(part(as, batchA, i, M * K), part(bs, batchB, i, N * K), { M, N, K }, { transB })]).flat();
      expectClose(await readF32(ctx, c), expected, 1e-4, 1e-4, `gemv batch A ${batchA} B ${batchB} transB=${transB}`);
      release(ctx, a, b, c);
    }
  });

  it('rejects more than 4 rows and mismatched shapes', async () => {
    const ctx = await gpu();
    const a = upload(ctx, new Float32Array(5 * 3), [5, 3]);
    const b = upload(ctx, new Float32Array(3 * 2), [3, 2]);
    const c = empty(ctx, [5, 2]);
    expect(() => recordGemv(ctx, new Step(ctx), a, b, c)).toThrow(KernelShapeError);
    expect(() => recordGemv(ctx, new Step(ctx), a, b, c)).toThrow(/gemv \[5,3\] x \[3,2\].*M=5/);
    const a1 = upload(ctx, new Float32Array(3), [1, 3]);
    expect(() => recordGemv(ctx, new Step(ctx), a1, b, c, { transB: true })).toThrow(/gemv \[1,3\] x \[3,2\]T: inner dimensions/);
    release(ctx, a, b, c, a1);
  });
});
