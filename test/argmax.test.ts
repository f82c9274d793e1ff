// Catches an argmax kernel that breaks ties towards a later index, ranks NaN, +-inf or -0 wrongly, or skips part of a
// row.
import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step, numel, type GpuContext, type GpuTensor } from '../src/gpu/index.js';
import { argmaxReference, recordArgmax } from '../src/kernels/argmax.js';
import { empty, release, upload } from '../src/kernels/common.js';
import { gpu, randInt, randn } from './helpers/gpu.js';
import { reduceContexts } from './reduce-widths.js';

// Exact: indices must equal the reference's (ties -> smallest index, first NaN wins, -0 ties +0).
async function argmax(ctx: GpuContext, xs: Float32Array, shape: number[]): Promise<Uint32Array> {
  const x = upload(ctx, xs, shape);
  const out: GpuTensor = empty(ctx, shape.slice(0, -1), 'u32');
  const step = new Step(ctx);
  recordArgmax(ctx, step, x, out);
  const bytes = step.read(out.buffer, numel(out.shape) * 4);
  await step.submit();
  release(ctx, x, out);
  return new Uint32Array(await bytes);
}

describe('argmax kernel', () => {
  it('matches the reference on odd and vocabulary-sized rows, both workgroup widths', async () => {
    for (const [width, ctx] of reduceContexts(await gpu())) {
      for (const [r, c] of [[1, 1], [3, 1], [1, 3], [4, 65], [2, 257], [3, 1000], [1, 32000], [2, 32003]] as [number, number][]) {
        const xs = randn(r * c, r * 7 + c);
        expect(await argmax(ctx, xs, [r, c]), `argmax ${width} [${r},${c}]`).toEqual(argmaxReference(xs, c));
      }
    }
  });

  it('breaks ties towards the smallest index', async () => {
    for (const [width, ctx] of reduceContexts(await gpu())) {
      // Small integers: many ties per row, the maxima scattered across the workgroup's strided shares.
      const c = 32000;
      const xs = Float32Array.from(randInt(3 * c, 0, 5, 11));
      expect(await argmax(ctx, xs, [3, c]), `argmax ${width} ties`).toEqual(argmaxReference(xs, c));
      const late = new Float32Array(c).fill(-Infinity);
      late[c - 1] = 2;
      late[c - 2] = 2;
      const flat = new Float32Array(5).fill(-Infinity);
      expect(await argmax(ctx, late, [c]), `argmax ${width} late tie`).toEqual(Uint32Array.of(c - 2));
      expect(await argmax(ctx, flat, [5]), `argmax ${width} all -inf`).toEqual(Uint32Array.of(0));
      expect(await argmax(ctx, Float32Array.of(-0, 0, -0), [3]), `argmax ${width} signed zeros`).toEqual(Uint32Array.of(0));
    }
  });

  it('returns the first NaN of a row, as torch.argmax', async () => {
    const ctx = await gpu();
    const xs = Float32Array.of(1, Infinity, NaN, 5, NaN, 0, 1, 2, 3, 4);
    expect(await argmax(ctx, xs, [2, 5])).toEqual(Uint32Array.of(2, 4));
    expect(argmaxReference(xs, 5)).toEqual(Uint32Array.of(2, 4));
  });

  it('rejects mismatched shapes with a typed error naming the kernel', async () => {
    const ctx = await gpu();
    const x = empty(ctx, [2, 7]);
    const [bad, f32] = [empty(ctx, [7], 'u32'), empty(ctx, [2])];
    expect(() => recordArgmax(ctx, new Step(ctx), x, bad)).toThrow(KernelShapeError);
    expect(() => recordArgmax(ctx, new Step(ctx), x, bad)).toThrow(/argmax x\[2,7\].*out has shape \[7\] but \[2\]/);
    expect(() => recordArgmax(ctx, new Step(ctx), x, f32)).toThrow(/argmax x\[2,7\].*out has dtype f32 but u32/);
    release(ctx, x, bad, f32);
  });
});
