// Catches a wrong unpack, scale, zero point, K tail or epilogue term in the 4/8-bit matmul and GEMV kernels, and
// wrong block quantization.
import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step, type GpuContext } from '../src/gpu/index.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { matmulNBitsReference, recordMatmulNBits } from '../src/kernels/matmul_nbits.js';
import { dequantizeBlockwise, quantizeBlockwise, releaseQuantWeight, uploadQuantWeight, type QuantBits } from '../src/kernels/quant.js';
import { expectClose, gpu, randn } from './helpers/gpu.js';
import { scramblePadding } from './nbits-padding.js';

// Tolerance: 1e-4 absolute + 1e-4 relative against dequantise-then-matmul (f32 accumulation order and the
// zero-point folding scale * (sum(q a) - zp sum(a)) of the decode kernel differ from the reference; K <= 256).

// `batch` > 0 passes A as [batch, M/batch, K] (rows fold together: the weight is shared).
async function run(ctx: GpuContext, M: number, N: number, K: number, bits: QuantBits, blockSize: number, symmetric: boolean, seed: number, epilogue = false, batch = 0): Promise<void> {
  const wData = randn(K * N, seed);
  const as = randn(M * K, seed + 1);
  const q = quantizeBlockwise(wData, K, N, { bits, blockSize, symmetric });
  scramblePadding(q, K, N, bits, blockSize, seed);
  const w = uploadQuantWeight(ctx, q, K, N, { bits, blockSize });
  const a = upload(ctx, as, batch ? [batch, M / batch, K] : [M, K]);
  const c = empty(ctx, batch ? [batch, M / batch, N] : [M, N]);
  const biasData = epilogue ? randn(N, seed + 2) : undefined;
  const resData = epilogue ? randn(M * N, seed + 3) : undefined;
  const bias = biasData && upload(ctx, biasData, [N]);
  const residual = resData && upload(ctx, resData, c.shape);
  const opts = epilogue ? { bias, residual, activation: 'gelu_erf' as const, alpha: 0.5 } : {};
  const step = new Step(ctx);
  recordMatmulNBits(ctx, step, a, w, c, opts);
  await step.submit();
  const expected = matmulNBitsReference(as, q, { M, N, K, bits, blockSize }, { ...opts, bias: biasData, residual: resData });
  expectClose(await readF32(ctx, c), expected, 1e-4, 1e-4, `nbits M=${M} N=${N} K=${K} bits=${bits} block=${blockSize} sym=${symmetric}`);
  release(ctx, a, c, ...(bias ? [bias] : []), ...(residual ? [residual] : []));
  releaseQuantWeight(ctx, w);
}

describe('block quantization (CPU)', () => {
  it('round-trips within half a quantization step', () => {
    for (const bits of [4, 8] as const) {
      for (const symmetric of [true, false]) {
        const K = 64;
        const N = 5;
        const w = randn(K * N, bits + (symmetric ? 1 : 0));
        const q = quantizeBlockwise(w, K, N, { bits, blockSize: 32, symmetric });
        expect(q.packed.length).toBe(N * 2 * 32 * bits / 8);
        expect(q.zeroPoints?.length).toBe(symmetric ? undefined : N * Math.ceil((2 * bits) / 8));
        const d = dequantizeBlockwise(q, K, N, { bits, blockSize: 32 });
        for (let i = 0; i < w.length; i++) {
          const n = i % N;
          const blk = Math.floor(Math.floor(i / N) / 32);
          expect(Math.abs(d[i]! - w[i]!)).toBeLessThanOrEqual(q.scales[n * 2 + blk]! * 0.5 + 1e-6);
        }
      }
    }
  });

  it('a partial last block: scale and zero point from the values before K, padding holds the zero point', () => {
    for (const [bits, symmetric] of [[4, false], [4, true], [8, false]] as const) {
      const K = 40;
      const N = 3;
      const w = randn(K * N, 60 + bits);
      const q = quantizeBlockwise(w, K, N, { bits, blockSize: 32, symmetric });
      expect(q.packed.length).toBe((N * 2 * 32 * bits) / 8);
      const d = dequantizeBlockwise(q, K, N, { bits, blockSize: 32 });
      for (let i = 0; i < w.length; i++) expect(Math.abs(d[i]! - w[i]!)).toBeLessThanOrEqual(q.scales[(i % N) * 2 + Math.floor(i / N / 32)]! * 0.5 + 1e-6);
      for (let n = 0; n < N; n++) {
        const blk = (n * 2 + 1) * ((32 * bits) / 8);
        const zpByte = q.zeroPoints?.[n * Math.ceil((2 * bits) / 8) + (bits === 4 ? 0 : 1)];
        const zp = zpByte === undefined ? 2 ** (bits - 1) : bits === 4 ? zpByte >> 4 : zpByte;
        // Values 8..31 of the second block are padding.
        for (let i = 8; i < 32; i++) expect(bits === 8 ? q.packed[blk + i] : (q.packed[blk + (i >> 1)]! >> (4 * (i & 1))) & 15).toBe(zp);
      }
    }
  });

  it('packs 4-bit values low nibble first and zero points low nibble = even block', () => {
    // K=32, N=1, one block; w = (k - 8) * 1 with symmetric 4 bits -> q = k clamped (scale = 8/7, so check the layout only).
    const q = quantizeBlockwise(Float32Array.from({ length: 32 }, (_, k) => (k % 2 === 0 ? -1 : 1)), 32, 1, { bits: 4, blockSize: 32, symmetric: true });
    expect(q.packed[0]! & 15).toBe(1); // -1 / (1/7) + 8 = 1
    expect(q.packed[0]! >> 4).toBe(15);
    const z = quantizeBlockwise(Float32Array.from({ length: 64 }, (_, k) => (k < 32 ? k : -k)), 64, 1, { bits: 4, blockSize: 32 });
    expect(z.zeroPoints![0]! & 15).toBe(0); // block 0 has min 0
    expect(z.zeroPoints![0]! >> 4).toBe(15); // block 1 has max 0
  });
});

describe('matmul_nbits kernels', () => {
  it('4-bit and 8-bit, symmetric and with zero points, decode (M=1,3) and prefill (M=17)', async () => {
    const ctx = await gpu();
    let seed = 1;
    for (const bits of [4, 8] as const) {
      for (const symmetric of [true, false]) {
        for (const M of [1, 3, 17]) await run(ctx, M, 13, 64, bits, 32, symmetric, seed++);
      }
    }
  });

  it('K not a multiple of the block size (onnxruntime\'s padded last block), decode and prefill', async () => {
    const ctx = await gpu();
    let seed = 70;
    // 344 = 10 blocks + 24 (LLaMA's D); 40 = 1 + 8; 100 = 3 + 4 (half a 4-bit word).
    for (const K of [344, 40, 100]) {
      for (const [bits, symmetric] of [[4, false], [8, true]] as const) {
        for (const M of [1, 17]) await run(ctx, M, 9, K, bits, 32, symmetric, seed++, M === 17);
      }
    }
  });

  it('other block sizes, odd N, and the fused epilogue', async () => {
    const ctx = await gpu();
    await run(ctx, 1, 7, 256, 4, 256, false, 50);
    await run(ctx, 5, 7, 48, 4, 16, false, 51);
    await run(ctx, 1, 7, 48, 4, 16, false, 56);
    await run(ctx, 2, 9, 128, 8, 64, true, 52, true);
    await run(ctx, 6, 9, 128, 4, 128, false, 53, true);
    await run(ctx, 4, 11, 64, 4, 32, false, 54, true, 2);
    await run(ctx, 12, 11, 64, 8, 32, true, 55, false, 3);
  });

  it('rejects bad shapes and quantization parameters with typed errors', async () => {
    const ctx = await gpu();
    expect(() => quantizeBlockwise(new Float32Array(0), 0, 2, { bits: 4, blockSize: 32 })).toThrow(/quantizeBlockwise: K=0 N=2 bits=4 blockSize=32: K must be positive/);
    expect(() => quantizeBlockwise(new Float32Array(64), 64, 1, { bits: 4, blockSize: 24 })).toThrow(KernelShapeError);
    const q = quantizeBlockwise(randn(64 * 3, 9), 64, 3, { bits: 4, blockSize: 32 });
    expect(() => uploadQuantWeight(ctx, { ...q, scales: q.scales.subarray(1) }, 64, 3, { bits: 4, blockSize: 32 })).toThrow(/scales has 5 values, 6 expected/);
    const w = uploadQuantWeight(ctx, q, 64, 3, { bits: 4, blockSize: 32 });
    const a = upload(ctx, new Float32Array(2 * 60), [2, 60]);
    const c = empty(ctx, [2, 3]);
    expect(() => recordMatmulNBits(ctx, new Step(ctx), a, w, c)).toThrow(/matmul_nbits \[2,60\] x q4\/32\+zp \[64,3\].*K=60.*K=64/);
    const bad = { ...w, scales: { ...w.scales, shape: [3, 1] } };
    expect(() => recordMatmulNBits(ctx, new Step(ctx), a, bad, c)).toThrow(/scales has shape \[3,1\] but \[3,2\]/);
    const q42 = uploadQuantWeight(ctx, quantizeBlockwise(randn(42 * 3, 9), 42, 3, { bits: 8, blockSize: 32 }), 42, 3, { bits: 8, blockSize: 32 });
    const a42 = upload(ctx, new Float32Array(2 * 42), [2, 42]);
    expect(() => recordMatmulNBits(ctx, new Step(ctx), a42, q42, c)).toThrow(/matmul_nbits \[2,42\] x q8\/32\+zp \[42,3\].*K=42 must be a multiple of 4/);
    release(ctx, a, c, a42);
    releaseQuantWeight(ctx, w);
    releaseQuantWeight(ctx, q42);
  });
});
