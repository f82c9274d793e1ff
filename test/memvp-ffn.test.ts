// Catches a wrong gate, memory branch, mask, scale s, bias, residual or quantized tile in the fused MemVP FFN kernels
// (both passes, keys layout).
import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step, type GpuContext, type GpuTensor } from '../src/gpu/index.js';
import { activationRef } from '../src/kernels/activation.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { memvpFfnReference, memvpUpWeightF32, recordMemvpFfn, type MemvpFfnArgs, type MemvpFfnReferenceArgs, type MemvpForm, type MemvpWeight } from '../src/kernels/memvp_ffn.js';
import { concatQuantColumns, dequantizeBlockwise, quantizeBlockwise, releaseQuantWeight, uploadQuantWeight, type QuantBits } from '../src/kernels/quant.js';
import { expectClose, gpu, randn } from './helpers/gpu.js';
import { scramblePadding } from './nbits-padding.js';

// Tolerances (|gpu - ref| <= atol + rtol * |ref|, reference accumulates in f64):
// f32 weights 1e-4 + 1e-4 relative; quantized weights (reference on the dequantised weights) 3e-4 + 3e-4
// relative: the kernel computes scale * (sum a q - zp * sum a), which cancels up to zp-sized terms in f32.
const F32_TOL = 1e-4;
const QUANT_TOL = 3e-4;

interface Case {
  form: MemvpForm;
  L: number;
  d: number;
  D: number;
  n: number;
  bits?: 0 | QuantBits;
  blockSize?: number;
  symmetric?: boolean;
  /** Quantize W2 too (default: same as W1/W3). */
  quantDown?: boolean;
  residual?: boolean;
  bias?: boolean;
  mask?: Float32Array;
  scores?: boolean;
  s?: number;
  seed?: number;
}

type Inputs = Pick<MemvpFfnReferenceArgs, 'u' | 'residual' | 'w1' | 'w3' | 'w2' | 'b1' | 'b2' | 'memK' | 'memV'>;

function inputs(c: Case): Inputs {
  const { L, d, D, n } = c;
  const seed = c.seed ?? 1;
  return {
    u: randn(L * d, seed, 1),
    residual: c.residual ? randn(L * d, seed + 1) : undefined,
    w1: randn(d * D, seed + 2, 1 / Math.sqrt(d)),
    w3: c.form === 'llama' ? randn(d * D, seed + 3, 1 / Math.sqrt(d)) : undefined,
    w2: randn(D * d, seed + 4, 1 / Math.sqrt(D)),
    b1: c.bias ? randn(D, seed + 5, 0.5) : undefined,
    b2: c.bias ? randn(d, seed + 6, 0.5) : undefined,
    memK: n ? randn(n * d, seed + 7, 1 / Math.sqrt(d)) : undefined,
    memV: n ? randn(n * d, seed + 8) : undefined,
  };
}

/** Runs the kernel pair on `x` and returns the output, the scores and the weights the reference should use. */
async function runGpu(ctx: GpuContext, c: Case, x: Inputs) {
  const { L, d, D, n } = c;
  const bits = c.bits ?? 0;
  const owned: GpuTensor[] = [];
  const quantOwned: Exclude<MemvpWeight, GpuTensor>[] = [];
  const t = (data: Float32Array | undefined, shape: number[]) => {
    if (!data) return undefined;
    const g = upload(ctx, data, shape);
    owned.push(g);
    return g;
  };
  const opts = { bits: bits || 4, blockSize: c.blockSize ?? 32, symmetric: c.symmetric } as const;
  const upload2 = (q: ReturnType<typeof quantizeBlockwise>, K: number, N: number) => {
    const gw = uploadQuantWeight(ctx, q, K, N, opts);
    quantOwned.push(gw);
    return gw;
  };
  // W1 and W3 (each [d, D]) as the kernel's one weight [W1 | W3]; the reference gets the dequantised parts.
  const ups = [x.w1, ...(x.w3 ? [x.w3] : [])];
  let wUp: MemvpWeight;
  let upRef = ups;
  if (bits === 0) {
    wUp = t(x.w3 ? memvpUpWeightF32(x.w1, x.w3, d, D) : x.w1, [d, ups.length * D])!;
  } else {
    const qs = ups.map((w) => quantizeBlockwise(w, d, D, opts));
    for (const q of qs) scramblePadding(q, d, D, opts.bits, opts.blockSize, 5);
    wUp = upload2(concatQuantColumns(qs), d, ups.length * D);
    upRef = qs.map((q) => dequantizeBlockwise(q, d, D, opts));
  }
  let w2: MemvpWeight = t(x.w2, [D, d])!;
  let w2f = x.w2;
  if (bits !== 0 && (c.quantDown ?? true)) {
    const q = quantizeBlockwise(x.w2, D, d, opts);
    scramblePadding(q, D, d, opts.bits, opts.blockSize, 6);
    w2 = upload2(q, D, d);
    w2f = dequantizeBlockwise(q, D, d, opts);
  }
  const out = empty(ctx, [L, d]);
  const scores = c.scores ? empty(ctx, [L, n]) : undefined;
  owned.push(out, ...(scores ? [scores] : []));
  const args: MemvpFfnArgs = {
    form: c.form,
    u: t(x.u, [L, d])!,
    residual: t(x.residual, [L, d]),
    wUp,
    w2,
    b1: t(x.b1, [D]),
    b2: t(x.b2, [d]),
    memK: t(x.memK, [n, d]),
    memV: t(x.memV, [n, d]),
    s: c.s ?? 0.5,
    mask: t(c.mask, [n]),
    scores,
    out,
  };
  const step = new Step(ctx);
  recordMemvpFfn(ctx, step, args);
  await step.submit();
  const result = { out: await readF32(ctx, out), scores: scores && (await readF32(ctx, scores)), w1: upRef[0]!, w3: upRef[1], w2: w2f };
  release(ctx, ...owned);
  for (const q of quantOwned) releaseQuantWeight(ctx, q);
  return result;
}

async function check(c: Case): Promise<void> {
  const ctx = await gpu();
  const x = inputs(c);
  const g = await runGpu(ctx, c, x);
  const ref = memvpFfnReference({ form: c.form, L: c.L, d: c.d, D: c.D, n: c.n, ...x, w1: g.w1, w3: g.w3, w2: g.w2, s: c.s ?? 0.5, mask: c.mask });
  const tol = c.bits ? QUANT_TOL : F32_TOL;
  const what = `${c.form} L=${c.L} d=${c.d} D=${c.D} n=${c.n} bits=${c.bits ?? 0}`;
  expectClose(g.out, ref.out, tol, tol, what);
  if (g.scores) expectClose(g.scores, ref.scores, tol, tol, `${what} scores`);
}

describe('memvp_ffn kernels', () => {
  it('llama form, f32 weights, odd L and n, d and D not multiples of the tile', async () => {
    for (const [d, D] of [[36, 100], [64, 172]] as const) {
      for (const L of [1, 3, 17]) {
        for (const n of [0, 1, 7, 80]) await check({ form: 'llama', L, d, D, n, residual: true, seed: L + n });
      }
    }
  });

  it('bart form, f32 weights with biases, with and without residual', async () => {
    for (const L of [1, 3, 17]) {
      for (const n of [0, 7, 80]) await check({ form: 'bart', L, d: 36, D: 100, n, bias: true, residual: n === 7, seed: 3 * L + n });
    }
  });

  it('4-bit and 8-bit weights match the reference on the dequantised weights', async () => {
    // Each row is one pipeline pair (compiling dominates the time); L = 1 takes the decode variant.
    const cases: [MemvpForm, QuantBits, number, boolean, number[], number[]][] = [
      ['llama', 4, 32, false, [3, 17], [7, 80]],
      ['llama', 4, 64, true, [1], [80]],
      ['bart', 8, 16, false, [3, 17], [7]],
      ['llama', 8, 32, true, [1], [7]],
      ['llama', 8, 32, true, [17], [80]],
    ];
    for (const [form, bits, blockSize, symmetric, Ls, ns] of cases) {
      for (const L of Ls) {
        for (const n of ns) await check({ form, L, d: 64, D: 192, n, bits, blockSize, symmetric, residual: true, bias: form === 'bart' });
      }
    }
    // K not a multiple of the block (onnxruntime's padded last block): W2 with D = 344 (LLaMA's), 100 (a half
    // 4-bit word at the end) and W1/W3 with d = 40 (the up pass masks u past d).
    await check({ form: 'llama', L: 3, d: 64, D: 344, n: 7, bits: 4, blockSize: 32, residual: true });
    await check({ form: 'llama', L: 1, d: 64, D: 344, n: 7, bits: 8, blockSize: 32, symmetric: true, residual: true });
    await check({ form: 'bart', L: 5, d: 40, D: 100, n: 7, bits: 4, blockSize: 32, residual: true, bias: true, mask: Float32Array.from([1, 0, 1, 1, 0, 1, 1]), scores: true });
    // Decoding a quantized W2 takes two column tiles per invocation: d / 4 odd leaves the last invocation one.
    await check({ form: 'llama', L: 1, d: 36, D: 100, n: 7, bits: 4, blockSize: 32, residual: true });
    await check({ form: 'bart', L: 1, d: 44, D: 64, n: 5, bits: 8, blockSize: 16, residual: true, bias: true });
    // Mixed: quantized W1/W3, f32 W2; and n = 0.
    await check({ form: 'llama', L: 5, d: 64, D: 160, n: 0, bits: 4, blockSize: 32, quantDown: false, residual: true });
    // Decoding takes two gate tiles per invocation: an odd number of them (D / 4 = 25) leaves the last one alone.
    await check({ form: 'llama', L: 1, d: 64, D: 100, n: 7, bits: 4, blockSize: 32, quantDown: false, residual: true });
  });

  it('writes the scores act(u K^T), before the mask and s', async () => {
    const ctx = await gpu();
    for (const L of [1, 3]) {
      const c: Case = { form: 'llama', L, d: 36, D: 100, n: 7, scores: true, mask: Float32Array.from([1, 0, 1, 1, 0, 1, 1]) };
      const x = inputs(c);
      const g = await runGpu(ctx, c, x);
      const expected = new Float32Array(c.L * c.n);
      for (let l = 0; l < c.L; l++) {
        for (let i = 0; i < c.n; i++) {
          let a = 0;
          for (let k = 0; k < c.d; k++) a += x.u[l * c.d + k]! * x.memK![i * c.d + k]!;
          expected[l * c.n + i] = activationRef(a, 'silu');
        }
      }
      expectClose(g.scores!, expected, 1e-5, 1e-5, `scores L=${L}`);
    }
  });

  it('the mask removes exactly the chosen entries', async () => {
    const ctx = await gpu();
    const blocked = new Set([0, 3, 41, 79]);
    const c: Case = { form: 'llama', L: 5, d: 36, D: 100, n: 80, residual: true, mask: Float32Array.from({ length: 80 }, (_, i) => (blocked.has(i) ? 0 : 1)) };
    const x = inputs(c);
    const masked = await runGpu(ctx, c, x);
    const keep = (m: Float32Array) => Float32Array.from(Array.from({ length: c.n }, (_, i) => i).filter((i) => !blocked.has(i)).flatMap((i) => Array.from(m.subarray(i * c.d, (i + 1) * c.d))));
    const removed = await runGpu(ctx, { ...c, n: c.n - blocked.size, mask: undefined }, { ...x, memK: keep(x.memK!), memV: keep(x.memV!) });
    expectClose(masked.out, removed.out, 1e-5, 1e-5, 'masked vs removed');
  });

  it('layers that share K in one step lay it out once, and each reads it right', async () => {
    const ctx = await gpu();
    const [L, d, D, n] = [3, 36, 100, 7];
    const w1 = randn(d * D, 31, 0.2);
    const w3 = randn(d * D, 32, 0.2);
    const w2 = randn(D * d, 33, 0.2);
    const memK = randn(n * d, 34, 0.5);
    const memV = randn(n * d, 35);
    const k = upload(ctx, memK, [n, d]);
    const v = upload(ctx, memV, [n, d]);
    const wUp = upload(ctx, memvpUpWeightF32(w1, w3, d, D), [d, 2 * D]);
    const w2t = upload(ctx, w2, [D, d]);
    const layers = [41, 42].map((seed) => ({ x: randn(L * d, seed), out: empty(ctx, [L, d]) }));
    const args = layers.map(({ x, out }): MemvpFfnArgs => ({ form: 'llama', u: upload(ctx, x, [L, d]), wUp, w2: w2t, memK: k, memV: v, s: 0.5, out }));
    const step = new Step(ctx);
    for (const a of args) recordMemvpFfn(ctx, step, a);
    // One keys layout, then pass 1 and pass 2 per layer.
    expect(step.dispatchCount).toBe(5);
    await step.submit();
    for (const [i, { x, out }] of layers.entries()) {
      const ref = memvpFfnReference({ form: 'llama', L, d, D, n, u: x, w1, w3, w2, memK, memV, s: 0.5 });
      expectClose(await readF32(ctx, out), ref.out, F32_TOL, F32_TOL, `layer ${i}`);
    }
    release(ctx, k, v, wUp, w2t, ...layers.map((l) => l.out), ...args.map((a) => a.u));
  });

  it('n = 0 is the plain SwiGLU FFN', async () => {
    const ctx = await gpu();
    const c: Case = { form: 'llama', L: 3, d: 64, D: 172, n: 0, residual: true };
    const x = inputs(c);
    const g = await runGpu(ctx, c, x);
    const { L, d, D } = c;
    const plain = new Float32Array(L * d);
    for (let l = 0; l < L; l++) {
      const h = new Float64Array(D);
      for (let j = 0; j < D; j++) {
        let a = 0;
        let b = 0;
        for (let k = 0; k < d; k++) {
          a += x.u[l * d + k]! * x.w1[k * D + j]!;
          b += x.u[l * d + k]! * x.w3![k * D + j]!;
        }
        h[j] = (a / (1 + Math.exp(-a))) * b;
      }
      for (let col = 0; col < d; col++) {
        let y = x.residual![l * d + col]!;
        for (let j = 0; j < D; j++) y += h[j]! * x.w2[j * d + col]!;
        plain[l * d + col] = y;
      }
    }
    expectClose(g.out, plain, F32_TOL, F32_TOL, 'plain FFN');
  });

  it('rejects bad shapes with a typed error naming the kernel and shapes', async () => {
    const ctx = await gpu();
    const made: GpuTensor[] = [];
    const z = (...shape: number[]) => {
      const t = empty(ctx, shape);
      made.push(t);
      return t;
    };
    const opts = (bits: QuantBits, blockSize: number) => ({ bits, blockSize });
    const q = (K: number, N: number, bits: QuantBits, blockSize: number) =>
      uploadQuantWeight(ctx, quantizeBlockwise(new Float32Array(K * N), K, N, opts(bits, blockSize)), K, N, opts(bits, blockSize));
    const q4 = q(64, 192, 4, 16);
    const q8 = q(64, 96, 8, 16);
    const u = z(3, 36);
    const base: MemvpFfnArgs = { form: 'llama', u, wUp: z(36, 200), w2: z(100, 36), memK: z(7, 36), memV: z(7, 36), s: 0.1, out: z(3, 36) };
    const bad: [Partial<MemvpFfnArgs>, RegExp][] = [
      [{ u: z(3, 35) }, /memvpFfn\(llama\) u \[3,35\].*multiples of 4/],
      [{ wUp: z(36, 96) }, /memvpFfn\(llama\) u \[3,36\] wUp \[36,96\] w2 \[100,36\].*w2 has shape \[100,36\] but \[48,36\]/],
      [{ wUp: z(35, 200) }, /wUp has shape \[35,200\] but \[36,200\]/],
      [{ w2: z(36, 100) }, /w2 has shape \[36,100\] but \[100,36\]/],
      [{ form: 'bart' }, /memvpFfn\(bart\).*w2 has shape \[100,36\] but \[200,36\]/],
      [{ memV: undefined }, /memK and memV come together/],
      [{ memV: z(6, 36) }, /n=7.*memV has shape \[6,36\] but \[7,36\]/],
      [{ mask: z(6) }, /mask has shape \[6\] but \[7\]/],
      [{ scores: z(7, 3) }, /scores has shape \[7,3\] but \[3,7\]/],
      [{ residual: base.out }, /must not be the residual/],
      [{ u: z(3, 48), wUp: q8, w2: z(48, 48), memK: z(7, 48), memV: z(7, 48), out: z(3, 48) }, /wUp is quantized \[64,96\] but \[48,96\] was expected/],
      [{ u: z(3, 64), wUp: q4, w2: z(96, 64), memK: z(7, 64), memV: z(7, 64), out: z(3, 64) }, /wUp: 4-bit blocks of 16 are not a multiple of 16 bytes/],
    ];
    for (const [patch, message] of bad) {
      const args = { ...base, ...patch };
      expect(() => recordMemvpFfn(ctx, new Step(ctx), args)).toThrow(KernelShapeError);
      expect(() => recordMemvpFfn(ctx, new Step(ctx), args)).toThrow(message);
    }
    release(ctx, ...made);
    releaseQuantWeight(ctx, q4);
    releaseQuantWeight(ctx, q8);
  });
});
