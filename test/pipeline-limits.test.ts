// Every kernel must run within WebGPU's default limits (what many GPUs and browsers give; Chromium's SwiftShader
// allows 10 storage buffers per stage, the default is 8), not just within the best limits GpuContext asks for.
// Two checks: the declared storage buffers of every shader (includes resolved), and real pipeline creation on a
// device requested with no requiredLimits: every shader with its default specialisation, the pipelines the
// kernels pick for this adapter, and the fused MemVP FFN pair in each weight format and form.
import { describe, expect, it } from 'vitest';
import { pipelineKey, type PipelineSpec } from '../src/gpu/index.js';
import { argmaxPipeline } from '../src/kernels/argmax.js';
import { attentionPipeline } from '../src/kernels/attention.js';
import { gemvPipeline } from '../src/kernels/gemv.js';
import { layernormPipeline } from '../src/kernels/layernorm.js';
import { matmulConfig } from '../src/kernels/matmul_common.js';
import { matmulNBitsPipeline } from '../src/kernels/matmul_nbits.js';
import { matmulPipeline } from '../src/kernels/matmul.js';
import { memvpFfnPipelines, type MemvpFfnConfig } from '../src/kernels/memvp_ffn.js';
import { rmsnormPipeline } from '../src/kernels/rmsnorm.js';
import { resolveIncludes } from '../src/kernels/shader.js';
import { softmaxPipeline } from '../src/kernels/softmax.js';
import { gpu } from './helpers/gpu.js';

const DEFAULT_STORAGE_BUFFERS = 8;

const shaders = Object.entries(import.meta.glob('../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>).map(
  ([path, code]) => ({ name: path.replace(/^.*\/(.*)\.wgsl$/, '$1'), code: resolveIncludes(code) }),
);

function memvpVariants(): PipelineSpec[] {
  const specs: PipelineSpec[] = [];
  let i = 0;
  for (const form of ['llama', 'bart'] as const) {
    for (const bits of [0, 4, 8] as const) {
      // Flags alternate so both settings of each appear; every binding is declared in every variant anyway.
      const on = i++ % 2 === 0;
      const c: MemvpFfnConfig = {
        form,
        upBits: bits,
        upZeroPoints: on && bits > 0,
        upTail: !on && bits > 0,
        downBits: bits,
        downZeroPoints: on && bits > 0,
        hasB1: form === 'bart',
        hasB2: form === 'bart',
        hasResidual: on,
        hasMask: on,
        hasScores: on,
        decode: !on,
      };
      specs.push(...memvpFfnPipelines(c));
    }
  }
  return specs;
}

describe('pipelines within WebGPU default limits', () => {
  it(`every shader declares at most ${DEFAULT_STORAGE_BUFFERS} storage buffers`, () => {
    expect(shaders.length).toBeGreaterThan(20);
    const over = shaders.map((k) => [k.name, k.code.match(/var<storage\b/g)?.length ?? 0] as const).filter(([, n]) => n > DEFAULT_STORAGE_BUFFERS);
    expect(over).toEqual([]);
  });

  it('every pipeline compiles on a device with default limits', async () => {
    const ctx = await gpu();
    const adapter = await ctx.gpu.requestAdapter();
    const device = await adapter!.requestDevice();
    expect(device.limits.maxStorageBuffersPerShaderStage).toBe(DEFAULT_STORAGE_BUFFERS);
    const mm = matmulConfig({});
    const nbits = { bits: 4, blockSize: 32, zeroPoints: true, kTail: true, activation: 'none', bias: true, residual: true } as const;
    const specs: PipelineSpec[] = [
      ...shaders.map((kernel) => ({ kernel })),
      matmulPipeline(ctx, mm, 1),
      matmulPipeline(ctx, mm, 256),
      gemvPipeline(ctx, mm),
      matmulNBitsPipeline(ctx, nbits, 1),
      matmulNBitsPipeline(ctx, { ...nbits, bits: 8 }, 64),
      attentionPipeline('decode', ctx.adapter),
      attentionPipeline('prefill', ctx.adapter),
      softmaxPipeline(ctx.adapter),
      rmsnormPipeline(ctx.adapter),
      layernormPipeline(ctx.adapter, true, true),
      argmaxPipeline(ctx.adapter),
      ...memvpVariants(),
    ];
    const modules = new Map<string, GPUShaderModule>();
    const failures: string[] = [];
    await Promise.all(
      specs.map(async (spec) => {
        let module = modules.get(spec.kernel.name);
        if (!module) {
          module = device.createShaderModule({ code: spec.kernel.code, label: spec.kernel.name });
          modules.set(spec.kernel.name, module);
        }
        device.pushErrorScope('validation');
        const made = await device
          .createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main', constants: spec.constants as Record<string, number> | undefined } })
          .then(() => '')
          .catch((e: unknown) => (e as Error).message);
        const scoped = await device.popErrorScope();
        if (made || scoped) failures.push(`${pipelineKey(spec)}: ${made || scoped!.message}`);
      }),
    );
    device.destroy();
    expect(failures).toEqual([]);
  });
});
