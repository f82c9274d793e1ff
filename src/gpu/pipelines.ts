// Compute pipelines, keyed by kernel and specialisation (WGSL override constants such as tile sizes).
// Shapes never enter the key: they travel in uniforms, so one pipeline serves every shape.
// Pipelines are compiled asynchronously by prepare(), which Step.submit() awaits for the pipelines its dispatches
// name before encoding them; get() never compiles.
import type { GpuContext } from './device.js';
import { GpuError, GpuValidationError, ShaderCompileError } from './errors.js';

/** A WGSL kernel: one file in shaders/, includes already resolved, entry point `main`. */
export interface KernelSource {
  readonly name: string;
  readonly code: string;
}

export interface PipelineSpec {
  readonly kernel: KernelSource;
  /** Values for the shader's `override` declarations. */
  readonly constants?: Readonly<Record<string, number>>;
}

export function pipelineKey(spec: PipelineSpec): string {
  const c = spec.constants;
  if (!c) return spec.kernel.name;
  const parts = Object.keys(c)
    .sort()
    .map((k) => `${k}=${c[k]}`);
  return `${spec.kernel.name}[${parts.join(',')}]`;
}

export class PipelineCache {
  private readonly ready = new Map<string, GPUComputePipeline>();
  private readonly pending = new Map<string, Promise<GPUComputePipeline>>();
  private readonly modules = new Map<string, Promise<GPUShaderModule>>();
  compileMs = 0;

  constructor(private readonly ctx: GpuContext) {}

  get size(): number {
    return this.ready.size;
  }

  has(spec: PipelineSpec): boolean {
    return this.ready.has(pipelineKey(spec));
  }

  /** The compiled pipeline; throws if prepare() was not awaited for it. */
  get(spec: PipelineSpec): GPUComputePipeline {
    const key = pipelineKey(spec);
    const p = this.ready.get(key);
    if (!p) throw new GpuError(`pipeline ${key} was used before prepare() compiled it`);
    return p;
  }

  /** Compiles every pipeline not yet compiled, in parallel. */
  async prepare(specs: Iterable<PipelineSpec>): Promise<void> {
    const jobs: Promise<GPUComputePipeline>[] = [];
    for (const spec of specs) {
      const key = pipelineKey(spec);
      if (this.ready.has(key)) continue;
      let job = this.pending.get(key);
      if (!job) {
        job = this.compile(key, spec).finally(() => this.pending.delete(key));
        this.pending.set(key, job);
      }
      jobs.push(job);
    }
    await Promise.all(jobs);
  }

  private module(kernel: KernelSource): Promise<GPUShaderModule> {
    let m = this.modules.get(kernel.name);
    if (!m) {
      m = this.compileModule(kernel);
      this.modules.set(kernel.name, m);
      m.catch(() => this.modules.delete(kernel.name));
    }
    return m;
  }

  private async compileModule(kernel: KernelSource): Promise<GPUShaderModule> {
    const module = await this.ctx.guard(`shader ${kernel.name}`, () =>
      this.ctx.device.createShaderModule({ code: kernel.code, label: kernel.name }),
    ).catch((e: unknown) => {
      throw new ShaderCompileError(kernel.name, [(e as Error).message]);
    });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) {
      throw new ShaderCompileError(
        kernel.name,
        errors.map((m) => `${kernel.name}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}`),
      );
    }
    return module;
  }

  private async compile(key: string, spec: PipelineSpec): Promise<GPUComputePipeline> {
    const module = await this.module(spec.kernel);
    const t0 = performance.now();
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await this.ctx.guard(`pipeline ${key}`, () =>
        this.ctx.device.createComputePipelineAsync({
          label: key,
          layout: 'auto',
          compute: { module, entryPoint: 'main', constants: spec.constants as Record<string, number> | undefined },
        }),
      );
    } catch (e) {
      if (e instanceof GpuValidationError) throw new ShaderCompileError(key, [e.message]);
      throw e;
    }
    this.compileMs += performance.now() - t0;
    this.ready.set(key, pipeline);
    return pipeline;
  }
}
