// Catches a wrong index, tile edge, batch stride, transposed-B read or epilogue term (alpha, bias, activation,
// residual) in the f32 matmul.
import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step, type GpuContext } from '../src/gpu/index.js';
import type { Activation } from '../src/kernels/activation.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { matmulReference, recordMatmul } from '../src/kernels/matmul.js';
import type { MatmulOptions } from '../src/kernels/matmul_common.js';
import { expectClose, gpu, randn } from './helpers/gpu.js';

// Tolerance: 1e-4 absolute + 1e-4 relative (f32 accumulation order differs from the reference's; K <= 129).
const ATOL = 1e-4;
const RTOL = 1e-4;

interface Case {
  M: number;
  N: number;
  K: number;
  batchA?: number;
  batchB?: number;
  transB?: boolean;
  bias?: boolean;
  residual?: boolean;
  activation?: Activation;
  alpha?: number;
}

async function run(ctx: GpuContext, cs: Case, seed: number): Promise<void> {
  const { M, N, K } = cs;
  const batchA = cs.batchA ?? 0;
  const batchB = cs.batchB ?? 0;
  const batch = Math.max(batchA, batchB, 1);
  const batched = batchA > 0 || batchB > 0;
  const aShape = batchA > 0 ? [batchA, M, K] : [M, K];
  const bInner = cs.transB ? [N, K] : [K, N];
  const bShape = batchB > 0 ? [batchB, ...bInner] : bInner;
  const cShape = batched ? [batch, M, N] : [M, N];
  const as = randn(Math.max(batchA, 1) * M * K, seed);
  const bs = randn(Math.max(batchB, 1) * N * K, seed + 1);
  const biasData = cs.bias ? randn(N, seed + 2) : undefined;
  const resData = cs.residual ? randn(batch * M * N, seed + 3) : undefined;
  const a = upload(ctx, as, aShape);
  const b = upload(ctx, bs, bShape);
  const c = empty(ctx, cShape);
  const bias = biasData && upload(ctx, biasData, [N]);
  const residual = resData && upload(ctx, resData, cShape);
  const opts: MatmulOptions = { transB: cs.transB, activation: cs.activation, alpha: cs.alpha, bias, residual };
  const step = new Step(ctx);
  recordMatmul(ctx, step, a, b, c, opts);
  await step.submit();
  const expected = matmulReference(as, bs, { batch, M, N, K, batchA: Math.max(batchA, 1), batchB: Math.max(batchB, 1) }, {
    transB: cs.transB,
    activation: cs.activation,
    alpha: cs.alpha,
    bias: biasData,
    residual: resData,
  });
  expectClose(await readF32(ctx, c), expected, ATOL, RTOL, `matmul ${JSON.stringify(cs)}`);
  release(ctx, a, b, c, ...(bias ? [bias] : []), ...(residual ? [residual] : []));
}

describe('matmul kernel', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [7, 13, 5],
    [33, 65, 17],
    [64, 64, 64],
    [100, 3, 129],
    [5, 8, 4],
    [9, 31, 3],
    [40, 200, 9],
  ];
  it('matches the reference on shapes that are not multiples of the tile', async () => {
    const ctx = await gpu();
    let seed = 1;
    for (const [M, N, K] of shapes) {
      await run(ctx, { M, N, K }, seed++);
      await run(ctx, { M, N, K, transB: true }, seed++);
    }
  });

  it('batches, with either operand broadcast', async () => {
    const ctx = await gpu();
    await run(ctx, { M: 7, N: 13, K: 5, batchA: 3, batchB: 3 }, 11);
    await run(ctx, { M: 9, N: 10, K: 6, batchA: 2, batchB: 0 }, 12);
    await run(ctx, { M: 6, N: 9, K: 11, batchA: 0, batchB: 2, transB: true }, 13);
    await run(ctx, { M: 3, N: 9, K: 11, batchA: 2, batchB: 1 }, 14);
  });

  it('applies every epilogue: alpha, bias, activation, residual', async () => {
    const ctx = await gpu();
    const acts: Activation[] = ['silu', 'gelu_erf', 'gelu_tanh', 'quick_gelu'];
    let seed = 20;
    for (const activation of acts) await run(ctx, { M: 17, N: 19, K: 23, activation, bias: true }, seed++);
    await run(ctx, { M: 17, N: 19, K: 23, residual: true }, seed++);
    await run(ctx, { M: 17, N: 19, K: 23, alpha: 0.125, transB: true }, seed++);
    await run(ctx, { M: 10, N: 12, K: 8, alpha: -2, bias: true, activation: 'silu', residual: true, batchA: 2, batchB: 2 }, seed++);
  });

  it('rejects bad shapes with a typed error naming the kernel and shapes', async () => {
    const ctx = await gpu();
    const a = upload(ctx, new Float32Array(8 * 6), [8, 6]);
    const b = upload(ctx, new Float32Array(5 * 4), [5, 4]);
    const c = empty(ctx, [8, 4]);
    const step = new Step(ctx);
    expect(() => recordMatmul(ctx, step, a, b, c)).toThrow(KernelShapeError);
    expect(() => recordMatmul(ctx, step, a, b, c)).toThrow(/matmul \[8,6\] x \[5,4\].*K=6.*K=5/);
    const b2 = upload(ctx, new Float32Array(6 * 4), [6, 4]);
    const bias = upload(ctx, new Float32Array(5), [5]);
    expect(() => recordMatmul(ctx, step, a, b2, c, { bias })).toThrow(/matmul \[8,6\] x \[6,4\].*bias has shape \[5\]/);
    const cSmall = empty(ctx, [8, 3]);
    expect(() => recordMatmul(ctx, step, a, b2, cSmall)).toThrow(/C has shape \[8,3\] but \[8,4\]/);
    release(ctx, a, b, c, b2, bias, cSmall);
  });
});
