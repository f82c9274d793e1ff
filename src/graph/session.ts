// The session API, shaped like onnxruntime-web's: create from a URL, path or bytes; run(feeds) with named inputs;
// outputs read back or kept on the GPU for the next run; what the passes did is in `stats`.
import { GpuContext } from '../gpu/index.js';
import { loadOnnx, type LoadOnnxOptions, type OnnxModel } from '../onnx/index.js';
import { uploadHost } from './convert.js';
import { Executor, type Feed, type RunOptions, type RunResult } from './executor.js';
import { graphFromOnnx } from './from-onnx.js';
import type { Graph } from './ir.js';
import './ops/index.js';
import type { DeviceTensor } from './ops/op.js';
import { eliminateDead } from './passes/eliminate-dead.js';
import { fuseActivations } from './passes/activation.js';
import { foldConstants } from './passes/fold-constants.js';
import { fuseAttention } from './passes/fuse-attention.js';
import { fuseMemvpFfn } from './passes/fuse-memvp-ffn.js';
import { lowerLegacySoftmax } from './passes/legacy-softmax.js';
import { fuseMatmulBias } from './passes/matmul-bias.js';
import { fuseRmsNorm } from './passes/rmsnorm.js';
import type { HostTensor } from './tensor.js';

/** Fusion passes in the order they run: the big patterns first, before smaller rewrites take their parts. */
const FUSIONS: [string, (g: Graph) => number][] = [
  ['attention', fuseAttention],
  ['memvpFfn', fuseMemvpFfn],
  ['rmsnorm', fuseRmsNorm],
  // Activations first: matmul-bias folds an Activation that follows a MatMul into its epilogue.
  ['activation', fuseActivations],
  ['matmul-bias', fuseMatmulBias],
];

export interface SessionOptions extends Pick<LoadOnnxOptions, 'signal' | 'externalData'> {
  /** The GPU context to run on (one is created if absent). */
  gpu?: GpuContext;
  /** Run the fusion passes (default true); off gives the plain operator-by-operator graph, for comparison. */
  fusions?: boolean;
  /** Byte progress of fetching the model and then of uploading its weights. */
  onProgress?: (stage: 'fetch' | 'upload', loaded: number, total: number) => void;
}

export interface SessionStats {
  nodes: number;
  folded: number;
  removed: number;
  /** Operator counts after the passes, e.g. { MatMul: 12, 'memvp.MemVpFfn': 4 }. */
  ops: Record<string, number>;
  /** Rewrites per fusion pass, e.g. { attention: 4, memvpFfn: 4 }. */
  fusions: Record<string, number>;
}

export class InferenceSession {
  private constructor(
    readonly gpu: GpuContext,
    readonly graph: Graph,
    private readonly executor: Executor,
    readonly stats: SessionStats,
  ) {}

  static async create(source: string | URL | Uint8Array | ArrayBuffer | OnnxModel, options: SessionOptions = {}): Promise<InferenceSession> {
    const model =
      typeof source === 'object' && 'graph' in source
        ? source
        : await loadOnnx(source, {
            signal: options.signal,
            externalData: options.externalData,
            onProgress: (loaded, total) => options.onProgress?.('fetch', loaded, total ?? loaded),
          });
    const graph = await graphFromOnnx(model);
    lowerLegacySoftmax(graph);
    const folded = foldConstants(graph);
    const fusions: Record<string, number> = {};
    if (options.fusions ?? true) for (const [name, pass] of FUSIONS) fusions[name] = pass(graph);
    const removed = eliminateDead(graph);
    const gpu = options.gpu ?? (await GpuContext.create());
    const executor = new Executor(gpu, graph);
    await executor.load((loaded, total) => options.onProgress?.('upload', loaded, total));
    const ops: Record<string, number> = {};
    for (const n of graph.nodes) {
      const key = n.domain ? `${n.domain}.${n.op}` : n.op;
      ops[key] = (ops[key] ?? 0) + 1;
    }
    const stats = { nodes: graph.nodes.length, folded, removed, ops, fusions };
    return new InferenceSession(gpu, graph, executor, stats);
  }

  get inputNames(): string[] {
    return this.graph.inputs.map((v) => v.name);
  }

  get outputNames(): string[] {
    return this.graph.outputs.map((v) => v.name);
  }

  run(feeds: Record<string, Feed>, options?: RunOptions): Promise<RunResult> {
    return this.executor.run(feeds, options);
  }

  /** Puts host data on the GPU, for feeds that should not be evaluated on the CPU or are reused across runs. */
  toGpu(t: HostTensor, name = 'feed'): DeviceTensor {
    return uploadHost(this.gpu, t, name);
  }

  /** Returns a kept output's (or toGpu's) buffer to the pool. */
  release(t: DeviceTensor): void {
    this.executor.release(t);
  }

  /** Frees the session's weights on the GPU. */
  dispose(): void {
    this.executor.dispose();
  }
}
