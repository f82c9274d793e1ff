// One way to get a GPU device, in the browser and in Node, with the adapter's best limits and the optional
// features the kernels can use. The granted set is recorded so kernels pick variants from facts, not guesses.
import { BufferPool } from './buffers.js';
import { DeviceLostError, GpuError, GpuOutOfMemoryError, GpuUnavailableError, GpuValidationError } from './errors.js';
import { PipelineCache } from './pipelines.js';
import type { DispatchProfiler } from './profiler.js';
import { isNode } from '../platform.js';

export const OPTIONAL_FEATURES = ['subgroups', 'shader-f16', 'timestamp-query'] as const;
export type OptionalFeature = (typeof OPTIONAL_FEATURES)[number];

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU implementations (SwiftShader, lavapipe, WARP): they want different kernel shapes. */
  isSoftware: boolean;
}

export interface GpuOptions {
  powerPreference?: GPUPowerPreference;
  /** Use this GPU object instead of navigator.gpu / Dawn (tests use it to simulate a missing adapter). */
  gpu?: GPU | null;
}

async function findGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (isNode) {
    const { createNodeGpu } = await import('./node-webgpu.js');
    return createNodeGpu();
  }
  throw new GpuUnavailableError('WebGPU is not available: navigator.gpu is missing (needs a secure context and a WebGPU-capable browser)');
}

function describe(info: GPUAdapterInfo): AdapterDescription {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isSoftware: /swiftshader|lavapipe|llvmpipe|warp|software|cpu/.test(text),
  };
}

export class GpuContext {
  readonly buffers: BufferPool;
  readonly pipelines: PipelineCache;
  /** When set, steps time every dispatch with timestamp queries (needs 'timestamp-query'; see profiler.ts). */
  profiler: DispatchProfiler | undefined;
  private lost: GPUDeviceLostInfo | undefined;
  private readonly lostListeners = new Set<(err: DeviceLostError) => void>();

  private constructor(
    // Held so they live as long as the device: Dawn's Node binding crashes if its instance is collected first.
    readonly gpu: GPU,
    readonly gpuAdapter: GPUAdapter,
    readonly device: GPUDevice,
    readonly adapter: AdapterDescription,
    readonly features: ReadonlySet<OptionalFeature>,
  ) {
    this.buffers = new BufferPool(this);
    this.pipelines = new PipelineCache(this);
    device.lost.then((info) => {
      this.lost = info;
      const err = this.lostError();
      for (const l of this.lostListeners) l(err);
    });
  }

  static async create(options: GpuOptions = {}): Promise<GpuContext> {
    const gpu = options.gpu === undefined ? await findGpu() : options.gpu;
    if (!gpu) throw new GpuUnavailableError('WebGPU is not available: no GPU object');
    const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
    if (!adapter) {
      throw new GpuUnavailableError(
        isNode
          ? 'no WebGPU adapter: install a Vulkan driver or Debian\'s chromium (for SwiftShader) and libvulkan1'
          : 'no WebGPU adapter: this browser exposes WebGPU but offers no adapter',
      );
    }
    const features = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
    const requiredLimits: Record<string, number> = {};
    for (const key in adapter.limits) {
      const value = (adapter.limits as unknown as Record<string, unknown>)[key];
      if (typeof value === 'number') requiredLimits[key] = value;
    }
    const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
    return new GpuContext(gpu, adapter, device, describe(adapter.info), new Set(features));
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  get isLost(): boolean {
    return this.lost !== undefined;
  }

  onLost(listener: (err: DeviceLostError) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** Throws DeviceLostError if the device is gone; every entry point that touches the device calls this. */
  assertAlive(): void {
    if (this.lost) throw this.lostError();
  }

  private lostError(): DeviceLostError {
    const info = this.lost!;
    return new DeviceLostError(info.reason, `GPU device lost (${info.reason}): ${info.message || 'no detail'}`);
  }

  /**
   * Runs `fn` inside validation and out-of-memory error scopes and turns what they catch into typed errors
   * whose message starts with `what` (a kernel name and its shapes).
   */
  async guard<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
    this.assertAlive();
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let result: T;
    let thrown: unknown;
    try {
      result = await fn();
    } catch (e) {
      thrown = e;
    }
    const validation = await this.device.popErrorScope();
    const oom = await this.device.popErrorScope();
    if (thrown !== undefined) throw this.typedError(what, thrown);
    if (oom) throw new GpuOutOfMemoryError(`${what}: out of GPU memory: ${oom.message}`);
    if (validation) throw new GpuValidationError(`${what}: ${validation.message}`);
    this.assertAlive();
    return result!;
  }

  /**
   * What a failed device call becomes: a GpuError as it is, DeviceLostError once the device is gone (a lost device
   * fails calls with the implementation's own exceptions, e.g. a DOMException from mapAsync), else a
   * GpuValidationError whose message starts with `what`.
   */
  typedError(what: string, e: unknown): GpuError {
    if (e instanceof GpuError) return e;
    if (this.lost) return this.lostError();
    return new GpuValidationError(`${what}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }

  destroy(): void {
    this.buffers.destroyAll();
    this.device.destroy();
  }
}
