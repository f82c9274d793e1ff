// Runs a Graph on the GPU. Per run: bind feeds, walk the nodes in order, evaluate shape arithmetic on the CPU,
// record every other node's kernels into ONE step (one command encoder), release each buffer to the pool right
// after its last reader is recorded (liveness-based reuse: later dispatches run after earlier ones in queue order),
// submit once, and read back only the requested outputs.
import { GpuError, numel, sizeClass, Step, type GpuContext } from '../gpu/index.js';
import { fromDeviceWords, toDeviceWords, uploadHost } from './convert.js';
import { FeedError, GraphError, ShapeError, nodeLabel } from './errors.js';
import type { Graph, Node, Value } from './ir.js';
import { implFor, type DeviceTensor, type RunEnv, type RunOptions, type TensorMeta } from './ops/op.js';

export type { RunOptions };
import { checkDims, checkSize, deviceType, gpuLimit, HOST_LIMIT, isFloat, type HostTensor, type SizeLimit } from './tensor.js';

/** A feed: host data, or a tensor already on the GPU (an output kept from an earlier run). */
export type Feed = HostTensor | DeviceTensor;

export function isDeviceTensor(f: Feed): f is DeviceTensor {
  return 'buffer' in f;
}

export type RunResult = Map<string, Feed>;

/** Integer tensors up to this many elements are computed on the CPU when all their inputs are there. */
const HOST_MAX_ELEMENTS = 1024;

export class Executor {
  private readonly weights = new Map<Value, DeviceTensor>();
  private readonly lastUse = new Map<Value, number>();
  /** Values some node needs on the CPU (a shape, an axis, a mask), and the values they are computed from. */
  private readonly hostNeeded: ReadonlySet<Value>;
  private busy: Promise<unknown> = Promise.resolve();
  /** What the device granted: every tensor of a run and every weight is checked against it before allocation. */
  private readonly gpuLimit: SizeLimit;

  constructor(readonly ctx: GpuContext, readonly graph: Graph) {
    this.gpuLimit = gpuLimit(ctx.limits);
    graph.nodes.forEach((node, i) => {
      implFor(node);
      for (const v of node.inputs) if (v) this.lastUse.set(v, i);
    });
    for (const v of graph.outputs) this.lastUse.set(v, Infinity);
    this.hostNeeded = hostNeededValues(graph);
  }

  /** Uploads the large constants (weights) with byte progress. Pipelines are compiled by the first run. */
  async load(onProgress?: (loadedBytes: number, totalBytes: number) => void): Promise<void> {
    const big = [...this.graph.values.values()].filter((v) => v.constant && numel(v.constant.dims) > HOST_MAX_ELEMENTS && v.consumers.length);
    const total = big.reduce((s, v) => s + numel(v.constant!.dims) * 4, 0);
    let done = 0;
    for (const v of big) {
      this.weight(v);
      done += numel(v.constant!.dims) * 4;
      onProgress?.(done, total);
    }
  }

  private weight(v: Value): DeviceTensor {
    let t = this.weights.get(v);
    if (!t) {
      t = this.upload(v, v.constant!, `initializer "${v.name}"`);
      this.weights.set(v, t);
    }
    return t;
  }

  /** Uploads a value's data: one element per 32-bit word, or its raw bytes when a consumer lists it in packedInputs. */
  private upload(v: Value, h: HostTensor, what: string): DeviceTensor {
    const packed = v.consumers.filter((c) => implFor(c).packedInputs?.some((i) => c.inputs[i] === v));
    if (packed.length === 0) {
      checkSize(undefined, what, h.type, h.dims, this.gpuLimit);
      return uploadHost(this.ctx, h, what);
    }
    if (packed.length !== v.consumers.length) throw new GraphError(`${what} is read both as packed bytes (${nodeLabel(packed[0]!)}) and as elements`);
    return uploadPacked(this.ctx, h, what);
  }

  /** Runs are queued: a second call waits for the first, so steps never interleave. */
  run(feeds: Record<string, Feed>, options: RunOptions = {}): Promise<RunResult> {
    const next = this.busy.then(() => this.runNow(feeds, options));
    this.busy = next.catch(() => undefined);
    return next;
  }

  release(t: DeviceTensor): void {
    this.ctx.buffers.release(t.buffer);
  }

  /** Returns every uploaded weight to the pool; the executor must not run afterwards. */
  dispose(): void {
    for (const t of this.weights.values()) this.ctx.buffers.release(t.buffer);
    this.weights.clear();
  }

  private async runNow(feeds: Record<string, Feed>, options: RunOptions): Promise<RunResult> {
    const { ctx, graph } = this;
    const keep = new Set(options.keepOnGpu ?? []);
    const metas = new Map<Value, TensorMeta>();
    const host = new Map<Value, HostTensor>();
    const dev = new Map<Value, DeviceTensor>();
    this.bindFeeds(feeds, metas, host, dev);
    for (const v of graph.values.values()) {
      if (!v.constant) continue;
      metas.set(v, { type: v.constant.type, dims: v.constant.dims });
      host.set(v, v.constant);
    }
    // Pass 1: shapes, and CPU evaluation of shape arithmetic.
    const onGpu = graph.nodes.map((node) => planNode(node, metas, host, this.hostNeeded, this.gpuLimit));

    // Pass 2: record (submit compiles the pipelines of the recorded dispatches that no earlier step compiled). Buffers this run allocates carry the number of live values viewing them (aliases share one).
    const refs = new Map<GPUBuffer, number>();
    const step = new Step(ctx, 'graph run');
    // Views of weights and of feeds already on the GPU are not counted: this run must never release those.
    const own = (v: Value, t: DeviceTensor, isNew: boolean): void => {
      dev.set(v, t);
      if (isNew || refs.has(t.buffer)) refs.set(t.buffer, (refs.get(t.buffer) ?? 0) + 1);
    };
    // Buffers freed mid-step are reused only for later nodes' outputs and go back to the pool after submit: CPU
    // writes (uploads, host results written through step temps) run before the step's commands, so they must
    // never land in a buffer that a dispatch recorded earlier still reads or writes.
    const recycled: GPUBuffer[] = [];
    const acquire = (bytes: number, label: string): GPUBuffer => {
      const i = recycled.findIndex((b) => b.size === sizeClass(bytes));
      return i >= 0 ? recycled.splice(i, 1)[0]! : ctx.buffers.acquire(bytes, undefined, label);
    };
    const drop = (v: Value): void => {
      const t = dev.get(v);
      if (!t || !refs.has(t.buffer)) return;
      const n = refs.get(t.buffer)! - 1;
      if (n > 0) refs.set(t.buffer, n);
      else {
        refs.delete(t.buffer);
        recycled.push(t.buffer);
      }
    };
    const extras: [string, DeviceTensor][] = [];
    const mask = options.memvp?.mask;
    const memvpMask: DeviceTensor | undefined = mask && {
      buffer: acquire(Math.max(4, mask.byteLength), 'memvp mask'),
      shape: [mask.length],
      dtype: 'f32',
      type: 'float32',
    };
    if (memvpMask) {
      refs.set(memvpMask.buffer, 1);
      step.write(memvpMask.buffer, mask!);
    }
    const env: RunEnv = {
      ctx,
      step,
      options,
      memvpMask,
      extraOutput: (name, t) => {
        extras.push([name, t]);
        refs.set(t.buffer, (refs.get(t.buffer) ?? 0) + 1);
      },
    };
    try {
      graph.nodes.forEach((node, index) => {
        if (onGpu[index]) this.recordNode(node, metas, host, dev, own, acquire, env);
        for (const v of new Set(node.inputs)) if (v && this.lastUse.get(v) === index) drop(v);
      });

      const reads: { name: string; meta: TensorMeta; bytes: Promise<ArrayBuffer> }[] = [];
      const result: RunResult = new Map();
      for (const v of graph.outputs) {
        const meta = metas.get(v)!;
        const h = host.get(v);
        if (h && !keep.has(v.name)) {
          result.set(v.name, h);
          continue;
        }
        const t = dev.get(v) ?? this.toDevice(v, h!, own, step);
        if (keep.has(v.name)) {
          result.set(v.name, t);
          refs.delete(t.buffer);
        } else {
          const compact = t.kvCapacity === undefined ? t : compactKv(step, t);
          reads.push({ name: v.name, meta, bytes: step.read(compact.buffer, Math.max(4, numel(meta.dims) * 4)) });
        }
      }
      for (const [name, t] of extras) reads.push({ name, meta: { type: t.type, dims: t.shape }, bytes: step.read(t.buffer, Math.max(4, numel(t.shape) * 4)) });
      await step.submit();
      for (const r of reads) result.set(r.name, fromDeviceWords(await r.bytes, r.meta.type, r.meta.dims));
      return result;
    } finally {
      for (const b of [...refs.keys(), ...recycled]) ctx.buffers.release(b);
    }
  }

  private bindFeeds(feeds: Record<string, Feed>, metas: Map<Value, TensorMeta>, host: Map<Value, HostTensor>, dev: Map<Value, DeviceTensor>): void {
    const symbols = new Map<string, number>();
    for (const name of Object.keys(feeds)) {
      if (!this.graph.inputs.some((v) => v.name === name)) {
        throw new FeedError(`unknown input "${name}"; the model's inputs are: ${this.graph.inputs.map((v) => v.name).join(', ')}`);
      }
    }
    for (const v of this.graph.inputs) {
      const f = feeds[v.name];
      if (!f) throw new FeedError(`input "${v.name}" is missing`);
      const dims = isDeviceTensor(f) ? f.shape : f.dims;
      if (v.type && f.type !== v.type) throw new FeedError(`input "${v.name}" must be ${v.type}, got ${f.type}`);
      if (v.shape) {
        if (v.shape.length !== dims.length) throw new FeedError(`input "${v.name}" must have rank ${v.shape.length} ([${v.shape}]), got [${dims}]`);
        v.shape.forEach((d, i) => {
          const got = dims[i]!;
          if (typeof d === 'number') {
            if (d !== got) throw new FeedError(`input "${v.name}" dim ${i} must be ${d}, got ${got} (shape [${dims}])`);
          } else if (symbols.has(d) && symbols.get(d) !== got) {
            throw new FeedError(`input "${v.name}" dim ${i} ("${d}") is ${got} but another input bound "${d}" to ${symbols.get(d)}`);
          } else symbols.set(d, got);
        });
      }
      if (!isDeviceTensor(f) && f.data.length !== numel(dims)) {
        throw new FeedError(`input "${v.name}" has ${f.data.length} elements but shape [${dims}] needs ${numel(dims)}`);
      }
      metas.set(v, { type: f.type, dims });
      if (isDeviceTensor(f)) dev.set(v, f);
      else host.set(v, f);
    }
  }

  /** A host value as a GPU tensor: weights are uploaded once; run values are written in step order (see Step.write). */
  private toDevice(v: Value, h: HostTensor, own: (v: Value, t: DeviceTensor, isNew: boolean) => void, step: Step): DeviceTensor {
    if (v.constant) return this.weight(v);
    const words = toDeviceWords(h, `value "${v.name}"`);
    const t: DeviceTensor = { buffer: this.ctx.buffers.acquire(Math.max(4, words.byteLength), undefined, v.name), shape: h.dims, dtype: deviceType(h.type), type: h.type };
    step.write(t.buffer, words);
    own(v, t, true);
    return t;
  }

  private recordNode(
    node: Node,
    metas: Map<Value, TensorMeta>,
    host: Map<Value, HostTensor>,
    dev: Map<Value, DeviceTensor>,
    own: (v: Value, t: DeviceTensor, isNew: boolean) => void,
    acquire: (bytes: number, label: string) => GPUBuffer,
    env: RunEnv,
  ): void {
    const { step } = env;
    const impl = implFor(node);
    const inHost = node.inputs.map((v) => (v ? host.get(v) : undefined));
    const outMetas = node.outputs.map((v) => metas.get(v)!);
    const inputs = node.inputs.map((v, i) => {
      // Inputs the op reads on the CPU (shapes, axes) never go to the GPU.
      if (!v || impl.hostInputs?.includes(i)) return undefined;
      const t = dev.get(v) ?? this.toDevice(v, inHost[i]!, own, step);
      return t.kvCapacity !== undefined && !impl.acceptsKvCache ? compactKv(step, t) : t;
    });
    if (impl.aliases) {
      node.outputs.forEach((v, i) => {
        const src = inputs[impl.aliases![i]!]!;
        own(v, { buffer: src.buffer, shape: outMetas[i]!.dims, dtype: deviceType(outMetas[i]!.type), type: outMetas[i]!.type }, false);
      });
      return;
    }
    const provided = new Set(impl.providesOutputs ?? []);
    const outputs = node.outputs.map((v, i) => {
      if (provided.has(i)) return undefined;
      const m = outMetas[i]!;
      const t: DeviceTensor = {
        buffer: acquire(Math.max(4, numel(m.dims) * 4), `${nodeLabel(node)} output ${i}`),
        shape: m.dims,
        dtype: deviceType(m.type),
        type: m.type,
      };
      own(v, t, true);
      return t;
    });
    const given = typed(node, () => impl.record!(env, node, inputs, outputs, inHost));
    for (const i of provided) {
      const t = given?.get(i);
      if (!t) throw new ShapeError(node, `did not provide output ${i}`);
      // An output grown in place in an input's buffer shares that input's ownership; a new buffer is this run's.
      own(node.outputs[i]!, t, !inputs.some((x) => x?.buffer === t.buffer));
    }
  }
}

/** A tensor's raw bytes in zero-padded u32 words (shape [words]), for the inputs an op lists in packedInputs. */
function uploadPacked(ctx: GpuContext, h: HostTensor, what: string): DeviceTensor {
  const words = new Uint32Array(Math.max(1, Math.ceil(h.data.byteLength / 4)));
  new Uint8Array(words.buffer).set(new Uint8Array(h.data.buffer, h.data.byteOffset, h.data.byteLength));
  return { buffer: ctx.buffers.upload(words, what), shape: [words.length], dtype: 'u32', type: h.type };
}

/** A compact copy [1, H, T, hd] of a KV-cache tensor stored with room for kvCapacity positions (a step temp). */
function compactKv(step: Step, t: DeviceTensor): DeviceTensor {
  const [, heads, len, hd] = t.shape as [number, number, number, number];
  const cap = t.kvCapacity!;
  const out = step.temp(Math.max(4, heads * len * hd * 4), 'kv compact');
  if (len > 0) for (let h = 0; h < heads; h++) step.copy(t.buffer, out, len * hd * 4, h * cap * hd * 4, h * len * hd * 4);
  return { buffer: out, shape: t.shape, dtype: t.dtype, type: t.type };
}

/** Values some node needs on the CPU (a shape, an axis), and the values they are computed from. */
export function hostNeededValues(graph: Graph): Set<Value> {
  const needed = new Set<Value>();
  for (const node of [...graph.nodes].reverse()) {
    const impl = implFor(node);
    for (const i of impl.hostInputs ?? []) if (node.inputs[i]) needed.add(node.inputs[i]!);
    if (impl.host && !impl.metaOnly && node.outputs.some((v) => needed.has(v))) {
      for (const v of node.inputs) if (v) needed.add(v);
    }
  }
  return needed;
}

/**
 * Pass 1 for one node: infers its output shapes and evaluates it on the CPU when it is shape arithmetic.
 * Returns whether it must run on the GPU. Output sizes are checked against `gpu` (absent when shapes are only
 * probed) and, for what it evaluates on the CPU, against the host limit, before anything is allocated.
 */
export function planNode(node: Node, metas: Map<Value, TensorMeta>, host: Map<Value, HostTensor>, hostNeeded: ReadonlySet<Value>, gpu?: SizeLimit): boolean {
    const impl = implFor(node);
    const inMetas = node.inputs.map((v) => (v ? metas.get(v) : undefined));
    node.inputs.forEach((v, i) => {
      if (v && !inMetas[i]) throw new ShapeError(node, `input ${i} ("${v.name}") is not produced before this node`);
    });
    const inHost = node.inputs.map((v) => (v ? host.get(v) : undefined));
    for (const i of impl.hostInputs ?? []) {
      if (node.inputs[i] && !inHost[i]) {
        throw new ShapeError(node, `input ${i} ("${node.inputs[i]!.name}") must be computable on the CPU (it sets a shape), but it is computed on the GPU`);
      }
    }
    const outMetas = typed(node, () => impl.infer(node, inMetas, inHost));
    node.outputs.forEach((v, i) => {
      const m = outMetas[i];
      if (!m) throw new ShapeError(node, `has no shape for output ${i} ("${v.name}"): the node has more outputs than the operator defines`);
      // Any value may be uploaded (a GPU consumer, a kept output), so every one must fit the device.
      if (gpu) checkSize(node, `output ${i} ("${v.name}")`, m.type, m.dims, gpu);
      else checkDims(node, `output ${i} ("${v.name}")`, m.dims);
      metas.set(v, m);
    });

    const allHost = node.inputs.every((v, i) => !v || inHost[i] || impl.metaOnly);
    const smallInts = outMetas.every((m) => !isFloat(m.type) && numel(m.dims) <= HOST_MAX_ELEMENTS);
    const needed = node.outputs.some((v) => hostNeeded.has(v));
    if (!(impl.host && allHost && (smallInts || needed))) return true;
    node.outputs.forEach((v, i) => checkSize(node, `output ${i} ("${v.name}")`, outMetas[i]!.type, outMetas[i]!.dims, HOST_LIMIT));
    const outs = typed(node, () => impl.host!(node, inHost, inMetas));
    node.outputs.forEach((v, i) => host.set(v, outs[i]!));
    return false;
}

/** Runs an op's own code, turning an untyped failure (a malformed attribute, say) into a ShapeError naming the node. */
export function typed<T>(node: Node, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof GraphError || e instanceof GpuError) throw e;
    throw new ShapeError(node, (e as Error)?.message ?? String(e));
  }
}
