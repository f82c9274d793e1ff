// The two ways to run the package's ONNX graphs behind one interface: our WebGPU executor (InferenceSession on one
// GpuContext, fusions on) and onnxruntime-web's WASM build as the fallback. The model code above it only feeds
// named inputs and keeps named outputs, so the generation loop, the modes and the warm-up are written once.
import type * as Ort from 'onnxruntime-web';
import { GpuContext, GpuUnavailableError } from '../gpu/index.js';
import { isDeviceTensor } from '../graph/executor.js';
import type { DeviceTensor } from '../graph/ops/op.js';
import { InferenceSession } from '../graph/session.js';
import type { HostTensor } from '../graph/tensor.js';
import { BackendError } from './errors.js';

export type BackendName = 'webgpu' | 'wasm';

export interface GpuBytes {
  allocatedBytes: number;
  inUseBytes: number;
  peakAllocatedBytes: number;
}

export interface EngineRunOptions {
  /** Outputs returned as engine tensors (on the GPU for webgpu) instead of host data. */
  keep?: readonly string[];
  /** MemVP retrieval scores as host outputs "memvp.scores.<layer>" [L, n] (webgpu only). */
  scores?: boolean;
  /** Memory mask [n] (webgpu only). */
  mask?: Float32Array;
}

export interface EngineResult<T> {
  kept: Map<string, T>;
  host: Map<string, HostTensor>;
}

/** `T` is the engine's own tensor: a DeviceTensor (webgpu) or an ort.Tensor (wasm). */
export interface Engine<T> {
  readonly backend: BackendName;
  /** Counts the devices replaced after a loss: tensors kept from an earlier epoch are gone and must be recomputed. */
  readonly epoch: number;
  /** Replaces a lost device (webgpu), so that the next run works; each graph's weights are uploaded on its next run. */
  recover(): Promise<void>;
  run(file: string, feeds: Record<string, HostTensor | T>, options?: EngineRunOptions): Promise<EngineResult<T>>;
  release(t: T): void;
  /** Whether b lives in a's storage (a KV cache grown in place), so releasing a would free b. */
  sameStorage(a: T, b: T): boolean;
  /** Resolves when all submitted work has finished (runs that keep every output on the GPU return before that). */
  finish(): Promise<void>;
  gpuBytes(): GpuBytes | undefined;
  dispose(): void;
}

export interface EngineOptions {
  backend: 'auto' | BackendName;
  /** onnxruntime-web's ort.env.wasm.wasmPaths (where its .wasm/.mjs files are served). */
  wasmPaths?: string | Record<string, string>;
  /** Called as each file's weights reach the backend; `fraction` of that file in [0, 1]. */
  onUpload?(file: string, fraction: number): void;
}

/** Sessions for `files` on the requested backend; auto takes WebGPU when an adapter exists, else WASM. */
export async function createEngine(files: Map<string, Uint8Array>, options: EngineOptions): Promise<Engine<unknown>> {
  if (options.backend === 'wasm') return WasmEngine.create(files, options);
  let gpu: GpuContext;
  try {
    gpu = await GpuContext.create();
  } catch (e) {
    if (options.backend === 'auto' && e instanceof GpuUnavailableError) return WasmEngine.create(files, options);
    throw new BackendError(`WebGPU backend unavailable: ${(e as Error).message}`, { cause: e });
  }
  return WebGpuEngine.create(gpu, files, options);
}

class WebGpuEngine implements Engine<DeviceTensor> {
  readonly backend = 'webgpu';
  epoch = 0;

  private constructor(
    private gpu: GpuContext,
    private readonly sessions: Map<string, InferenceSession>,
    // The graph files stay in host memory (the package's graph bytes) so that a lost device can be replaced
    // without fetching the package again.
    private readonly files: Map<string, Uint8Array>,
  ) {}

  static async create(gpu: GpuContext, files: Map<string, Uint8Array>, options: EngineOptions): Promise<WebGpuEngine> {
    const sessions = new Map<string, InferenceSession>();
    try {
      for (const [file, bytes] of files) {
        const onProgress = (stage: 'fetch' | 'upload', loaded: number, total: number) => stage === 'upload' && options.onUpload?.(file, total ? loaded / total : 1);
        sessions.set(file, await InferenceSession.create(bytes, { gpu, fusions: true, onProgress }));
        options.onUpload?.(file, 1);
      }
    } catch (e) {
      for (const s of sessions.values()) s.dispose();
      gpu.destroy();
      throw e;
    }
    return new WebGpuEngine(gpu, sessions, files);
  }

  async recover(): Promise<void> {
    if (!this.gpu.isLost) return;
    for (const s of this.sessions.values()) s.dispose();
    this.sessions.clear();
    this.gpu.destroy();
    this.gpu = await GpuContext.create();
    this.epoch++;
  }

  async run(file: string, feeds: Record<string, HostTensor | DeviceTensor>, options: EngineRunOptions = {}): Promise<EngineResult<DeviceTensor>> {
    let session = this.sessions.get(file);
    if (!session) this.sessions.set(file, (session = await InferenceSession.create(this.files.get(file)!, { gpu: this.gpu, fusions: true })));
    const out = await session.run(feeds, {
      keepOnGpu: options.keep,
      memvp: options.scores || options.mask ? { scores: options.scores, mask: options.mask } : undefined,
    });
    const result: EngineResult<DeviceTensor> = { kept: new Map(), host: new Map() };
    for (const [name, t] of out) {
      if (isDeviceTensor(t)) result.kept.set(name, t);
      else result.host.set(name, t);
    }
    return result;
  }

  release(t: DeviceTensor): void {
    this.gpu.buffers.release(t.buffer);
  }

  sameStorage(a: DeviceTensor, b: DeviceTensor): boolean {
    return a.buffer === b.buffer;
  }

  finish(): Promise<void> {
    return this.gpu.device.queue.onSubmittedWorkDone();
  }

  gpuBytes(): GpuBytes {
    const { allocatedBytes, inUseBytes, peakAllocatedBytes } = this.gpu.buffers.stats();
    return { allocatedBytes, inUseBytes, peakAllocatedBytes };
  }

  dispose(): void {
    for (const s of this.sessions.values()) s.dispose();
    this.gpu.destroy();
  }
}

class WasmEngine implements Engine<Ort.Tensor> {
  readonly backend = 'wasm';
  readonly epoch = 0;

  private constructor(
    private readonly ort: typeof Ort,
    private readonly sessions: Map<string, Ort.InferenceSession>,
  ) {}

  static async create(files: Map<string, Uint8Array>, options: EngineOptions): Promise<WasmEngine> {
    // Imported only here, so WebGPU users never download onnxruntime-web.
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
    const sessions = new Map<string, Ort.InferenceSession>();
    try {
      for (const [file, bytes] of files) {
        sessions.set(file, await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] }));
        options.onUpload?.(file, 1);
      }
    } catch (e) {
      for (const s of sessions.values()) void s.release();
      throw new BackendError(`onnxruntime-web (wasm) could not create a session: ${(e as Error).message}`, { cause: e });
    }
    return new WasmEngine(ort, sessions);
  }

  async run(file: string, feeds: Record<string, HostTensor | Ort.Tensor>, options: EngineRunOptions = {}): Promise<EngineResult<Ort.Tensor>> {
    const { ort } = this;
    const ortFeeds: Record<string, Ort.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) {
      // HostTensor's type names are onnxruntime's; the cast only picks one of the constructor's overloads.
      ortFeeds[name] = f instanceof ort.Tensor ? f : new ort.Tensor(f.type as 'float32', f.data as Float32Array, [...f.dims]);
    }
    const out = await this.sessions.get(file)!.run(ortFeeds);
    const keep = new Set(options.keep ?? []);
    const result: EngineResult<Ort.Tensor> = { kept: new Map(), host: new Map() };
    for (const [name, t] of Object.entries(out)) {
      if (keep.has(name)) result.kept.set(name, t);
      else result.host.set(name, { type: t.type as HostTensor['type'], dims: t.dims, data: t.data as HostTensor['data'] });
    }
    return result;
  }

  release(t: Ort.Tensor): void {
    t.dispose();
  }

  sameStorage(a: Ort.Tensor, b: Ort.Tensor): boolean {
    return a === b;
  }

  async finish(): Promise<void> {}

  async recover(): Promise<void> {}

  gpuBytes(): undefined {
    return undefined;
  }

  dispose(): void {
    for (const s of this.sessions.values()) void s.release();
  }
}
