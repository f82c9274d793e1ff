// Catches a wrong formula or constant in an activation (SiLU, GELU erf and tanh, QuickGELU) or a missed tail element
// of the activation kernel.
import { describe, expect, it } from 'vitest';
import { Step } from '../src/gpu/index.js';
import { activationReference, recordActivation, type Activation } from '../src/kernels/activation.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { KernelShapeError } from '../src/gpu/index.js';
import { expectClose, gpu, randn } from './helpers/gpu.js';

// Tolerance: 2e-6 absolute + 1e-5 relative (f32 exp and the 1.5e-7 erf approximation).
const ACTS: Activation[] = ['silu', 'gelu_erf', 'gelu_tanh', 'quick_gelu', 'none'];

describe('activation kernel', () => {
  for (const act of ACTS) {
    it(`${act} matches the reference on sizes around the workgroup size`, async () => {
      const ctx = await gpu();
      for (const n of [1, 255, 256, 257, 5000]) {
        const xs = randn(n, n, 4);
        const x = upload(ctx, xs, [n]);
        const y = empty(ctx, [n]);
        const step = new Step(ctx);
        recordActivation(ctx, step, act, x, y);
        await step.submit();
        expectClose(await readF32(ctx, y), activationReference(act, xs), 2e-6, 1e-5, `${act} n=${n}`);
        release(ctx, x, y);
      }
    });
  }

  it('rejects a mismatched output shape with a typed error naming the kernel', async () => {
    const ctx = await gpu();
    const x = upload(ctx, new Float32Array(8), [8]);
    const y = empty(ctx, [4]);
    expect(() => recordActivation(ctx, new Step(ctx), 'silu', x, y)).toThrow(KernelShapeError);
    expect(() => recordActivation(ctx, new Step(ctx), 'silu', x, y)).toThrow(/activation\(silu\) \[8\].*y has shape \[4\]/);
    release(ctx, x, y);
  });
});
