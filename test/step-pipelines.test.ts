// The step collects the pipelines its dispatches name and compiles them before its one submit: kernels and graph
// ops never list pipelines themselves. Catches: a submit that encodes before compiling (get() throws "used before
// prepare()"), a pipeline compiled once per dispatch or per step instead of once per kernel and specialisation, and
// a compile failure that hangs the step's readbacks instead of rejecting them with a typed error.
import { describe, expect, it, vi } from 'vitest';
import { ShaderCompileError, Step, pipelineKey } from '../src/gpu/index.js';
import { activationReference, recordActivation } from '../src/kernels/activation.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { expectClose, gpu, randn } from './helpers/gpu.js';

describe('Step pipelines', () => {
  it('compiles the pipelines of its dispatches before submitting them, once per kernel and specialisation', async () => {
    const ctx = await gpu();
    const prepare = vi.spyOn(ctx.pipelines, 'prepare');
    const n = 1000;
    const xs = randn(n, 5);
    const x = upload(ctx, xs, [n]);
    const ys = [empty(ctx, [n]), empty(ctx, [n]), empty(ctx, [n])];
    const acts = ['silu', 'gelu_erf', 'silu'] as const;
    const before = ctx.pipelines.size;
    const run = async () => {
      const step = new Step(ctx);
      acts.forEach((act, i) => recordActivation(ctx, step, act, x, ys[i]!));
      await step.submit();
    };
    await run();
    expect(prepare).toHaveBeenCalledTimes(1);
    expect([...prepare.mock.calls[0]![0]].map(pipelineKey)).toEqual(['activation[ACT=1]', 'activation[ACT=2]', 'activation[ACT=1]']);
    expect(ctx.pipelines.size).toBe(before + 2);
    for (const [i, act] of acts.entries()) expectClose(await readF32(ctx, ys[i]!), activationReference(act, xs), 1e-5, 1e-5, act);
    await run();
    expect(ctx.pipelines.size).toBe(before + 2);
    prepare.mockRestore();
    release(ctx, x, ...ys);
  });

  it('rejects submit and every readback with a ShaderCompileError when a kernel does not compile', async () => {
    const ctx = await gpu();
    const y = empty(ctx, [4]);
    const step = new Step(ctx);
    step.dispatch({ pipeline: { kernel: { name: 'broken', code: 'fn main( {' } }, label: 'broken', buffers: [y.buffer], workgroups: [1] });
    const read = step.read(y.buffer, 16);
    const submitted = step.submit();
    await expect(submitted).rejects.toThrow(ShaderCompileError);
    await expect(read).rejects.toThrow(/broken/);
    release(ctx, y);
  });
});
