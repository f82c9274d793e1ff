// One step = one command encoder. Kernels record dispatches, copies and readbacks into a Step; submit()
// compiles the pipelines its dispatches name that are not compiled yet (asynchronously, all in parallel: the
// first step of a graph or model pays for them, later steps find them cached), packs every dispatch's uniforms
// into one buffer, encodes everything in a single compute pass sequence, submits once, and only then are
// readbacks mapped. This keeps the CPU-GPU round trips to one per step.
// With a profiler attached (ctx.profiler, profiler.ts) each dispatch gets a timed pass of its own.
import type { GpuContext } from './device.js';
import { GpuError, KernelShapeError } from './errors.js';
import type { PipelineSpec } from './pipelines.js';

export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export interface Dispatch {
  readonly pipeline: PipelineSpec;
  /** Kernel name and shapes: labels the bind group so device errors name the culprit. */
  readonly label: string;
  /** Bound at @binding(0) when present; storage buffers then follow from @binding(1). */
  readonly uniforms?: ArrayBufferView;
  readonly buffers: readonly Binding[];
  readonly workgroups: readonly [number, number?, number?];
}

type Op =
  | { kind: 'dispatch'; d: Dispatch; uniformOffset: number }
  | { kind: 'write'; dst: GPUBuffer; dstOffset: number; data: Uint8Array; stagingOffset: number }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number }
  | { kind: 'read'; src: GPUBuffer; offset: number; size: number; staging: GPUBuffer; resolve: (b: ArrayBuffer) => void; reject: (e: unknown) => void };

const QUERY_RESOLVE_SRC = 0x200 | 0x4; // QUERY_RESOLVE | COPY_SRC

interface Timing {
  /** Kernel name of each dispatch, in order. */
  kernels: string[];
  querySet: GPUQuerySet;
  resolved: GPUBuffer;
  staging: GPUBuffer;
}

export class Step {
  private readonly ops: Op[] = [];
  private uniformBytes = 0;
  private writeBytes = 0;
  private submitted = false;
  private readonly temps: GPUBuffer[] = [];
  private readonly made = new WeakMap<object, Map<string, unknown>>();

  constructor(private readonly ctx: GpuContext, readonly label = 'step') {}

  get dispatchCount(): number {
    return this.ops.filter((o) => o.kind === 'dispatch').length;
  }

  dispatch(d: Dispatch): void {
    const max = this.ctx.limits.maxComputeWorkgroupsPerDimension;
    const [x, y = 1, z = 1] = d.workgroups;
    if (![x, y, z].every((v) => Number.isInteger(v) && v >= 0 && v <= max)) {
      throw new KernelShapeError(d.label, `workgroup grid ${x}x${y}x${z} is outside 0..${max} per dimension`);
    }
    if (x * y * z === 0) return;
    let uniformOffset = -1;
    if (d.uniforms) {
      const align = this.ctx.limits.minUniformBufferOffsetAlignment;
      uniformOffset = Math.ceil(this.uniformBytes / align) * align;
      this.uniformBytes = uniformOffset + Math.max(16, Math.ceil(d.uniforms.byteLength / 16) * 16);
    }
    this.ops.push({ kind: 'dispatch', d, uniformOffset });
  }

  copy(src: GPUBuffer, dst: GPUBuffer, size: number, srcOffset = 0, dstOffset = 0): void {
    this.ops.push({ kind: 'copy', src, srcOffset, dst, dstOffset, size });
  }

  /**
   * Writes `data` into `dst` at this point of the step. Unlike queue.writeBuffer (which lands before the whole
   * step runs), the write is ordered with the step's dispatches, so `dst` may be a pooled buffer that an earlier
   * dispatch of this step still reads.
   */
  write(dst: GPUBuffer, data: ArrayBufferView, dstOffset = 0): void {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.length % 4 !== 0) throw new Error(`${this.label}: writes must be whole 32-bit words, got ${bytes.length} bytes`);
    if (bytes.length === 0) return;
    this.ops.push({ kind: 'write', dst, dstOffset, data: bytes, stagingOffset: this.writeBytes });
    this.writeBytes += bytes.length;
  }

  /** A scratch buffer that returns to the pool once this step is submitted. */
  temp(bytes: number, label = 'temp'): GPUBuffer {
    const b = this.ctx.buffers.acquire(bytes, undefined, label);
    this.temps.push(b);
    return b;
  }

  /**
   * What `make` returns for (`owner`, `key`), made (and its work recorded) only the first time in this step: work that
   * every consumer of one tensor would otherwise repeat, e.g. the MemVP keys' layout, shared by all decoder layers.
   */
  once<T>(owner: object, key: string, make: () => T): T {
    let byKey = this.made.get(owner);
    if (!byKey) this.made.set(owner, (byKey = new Map()));
    if (!byKey.has(key)) byKey.set(key, make());
    return byKey.get(key) as T;
  }

  /** Bytes [offset, offset+size) of `src` as they are after this step has run. */
  read(src: GPUBuffer, size: number, offset = 0): Promise<ArrayBuffer> {
    const staging = this.ctx.buffers.acquireReadback(Math.ceil(size / 4) * 4);
    const bytes = new Promise<ArrayBuffer>((resolve, reject) => this.ops.push({ kind: 'read', src, offset, size, staging, resolve, reject }));
    // A failed submit() rejects its reads with the error it throws itself, so a caller that awaits submit() before
    // its reads never awaits them: marked handled here, or Node would end the process on an unhandled rejection.
    bytes.catch(() => undefined);
    return bytes;
  }

  async submit(): Promise<void> {
    if (this.submitted) throw new Error(`${this.label} was already submitted`);
    this.submitted = true;
    const { device } = this.ctx;
    const reads = this.ops.filter((o): o is Extract<Op, { kind: 'read' }> => o.kind === 'read');
    let uniformBuf: GPUBuffer | undefined;
    let writeBuf: GPUBuffer | undefined;
    let timing: Timing | undefined;
    try {
      await this.ctx.pipelines.prepare(this.ops.flatMap((o) => (o.kind === 'dispatch' ? [o.d.pipeline] : [])));
      await this.ctx.guard(this.label, () => {
        if (this.uniformBytes > 0) {
          uniformBuf = this.ctx.buffers.acquireUniform(this.uniformBytes);
          const staging = new Uint8Array(this.uniformBytes);
          for (const op of this.ops) {
            if (op.kind !== 'dispatch' || !op.d.uniforms) continue;
            const u = op.d.uniforms;
            staging.set(new Uint8Array(u.buffer, u.byteOffset, u.byteLength), op.uniformOffset);
          }
          device.queue.writeBuffer(uniformBuf, 0, staging);
        }
        if (this.writeBytes > 0) {
          writeBuf = this.ctx.buffers.acquire(this.writeBytes, undefined, 'step writes');
          const staging = new Uint8Array(this.writeBytes);
          for (const op of this.ops) if (op.kind === 'write') staging.set(op.data, op.stagingOffset);
          device.queue.writeBuffer(writeBuf, 0, staging);
        }
        const encoder = device.createCommandEncoder({ label: this.label });
        timing = this.ctx.profiler && this.startTiming();
        let pass: GPUComputePassEncoder | undefined;
        let timed = 0;
        for (const op of this.ops) {
          if (op.kind === 'dispatch' && timing) {
            const i = timed++;
            const own = encoder.beginComputePass({ label: op.d.label, timestampWrites: { querySet: timing.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
            this.encodeDispatch(own, op.d, op.uniformOffset, uniformBuf);
            own.end();
            continue;
          }
          if (op.kind === 'dispatch') {
            pass ??= encoder.beginComputePass({ label: this.label });
            this.encodeDispatch(pass, op.d, op.uniformOffset, uniformBuf);
            continue;
          }
          pass?.end();
          pass = undefined;
          if (op.kind === 'copy') encoder.copyBufferToBuffer(op.src, op.srcOffset, op.dst, op.dstOffset, op.size);
          else if (op.kind === 'write') encoder.copyBufferToBuffer(writeBuf!, op.stagingOffset, op.dst, op.dstOffset, op.data.length);
          else encoder.copyBufferToBuffer(op.src, op.offset, op.staging, 0, Math.ceil(op.size / 4) * 4);
        }
        pass?.end();
        if (timing) {
          encoder.resolveQuerySet(timing.querySet, 0, 2 * timing.kernels.length, timing.resolved, 0);
          encoder.copyBufferToBuffer(timing.resolved, 0, timing.staging, 0, 16 * timing.kernels.length);
        }
        device.queue.submit([encoder.finish()]);
      });
    } catch (e) {
      for (const r of reads) {
        r.reject(e);
        this.ctx.buffers.release(r.staging);
      }
      if (timing) void this.endTiming(timing, false);
      throw e;
    } finally {
      if (uniformBuf) this.ctx.buffers.release(uniformBuf);
      if (writeBuf) this.ctx.buffers.release(writeBuf);
      for (const t of this.temps) this.ctx.buffers.release(t);
    }
    await Promise.all(
      reads.map(async (r) => {
        try {
          await r.staging.mapAsync(0x1 /* GPUMapMode.READ */, 0, Math.ceil(r.size / 4) * 4);
          r.resolve(r.staging.getMappedRange(0, Math.ceil(r.size / 4) * 4).slice(0, r.size));
          r.staging.unmap();
        } catch (e) {
          r.reject(this.ctx.typedError(`${this.label}: reading back ${r.size} bytes`, e));
        } finally {
          this.ctx.buffers.release(r.staging);
        }
      }),
    );
    if (timing) await this.endTiming(timing, true);
  }

  /** The query set and buffers that time this step's dispatches for ctx.profiler. */
  private startTiming(): Timing {
    if (!this.ctx.features.has('timestamp-query')) throw new GpuError(`${this.label}: profiling needs the 'timestamp-query' feature, which this adapter did not grant`);
    const kernels = this.ops.flatMap((o) => (o.kind === 'dispatch' ? [o.d.pipeline.kernel.name] : []));
    const count = Math.max(1, kernels.length);
    return {
      kernels,
      querySet: this.ctx.device.createQuerySet({ type: 'timestamp', count: 2 * count }),
      resolved: this.ctx.buffers.acquire(16 * count, QUERY_RESOLVE_SRC, 'timestamps'),
      staging: this.ctx.buffers.acquireReadback(16 * count),
    };
  }

  /** Adds each dispatch's GPU time to ctx.profiler (when the step ran) and frees the timing resources. */
  private async endTiming(t: Timing, ran: boolean): Promise<void> {
    try {
      if (ran && t.kernels.length > 0) {
        await t.staging.mapAsync(0x1 /* GPUMapMode.READ */, 0, 16 * t.kernels.length);
        const stamps = new BigUint64Array(t.staging.getMappedRange(0, 16 * t.kernels.length));
        t.kernels.forEach((k, i) => this.ctx.profiler?.add(k, Number(stamps[2 * i + 1]! - stamps[2 * i]!)));
        t.staging.unmap();
      }
    } finally {
      t.querySet.destroy();
      this.ctx.buffers.release(t.resolved);
      this.ctx.buffers.release(t.staging);
    }
  }

  private encodeDispatch(pass: GPUComputePassEncoder, d: Dispatch, uniformOffset: number, uniformBuf?: GPUBuffer): void {
    const pipeline = this.ctx.pipelines.get(d.pipeline);
    const entries: GPUBindGroupEntry[] = [];
    if (d.uniforms) {
      entries.push({ binding: 0, resource: { buffer: uniformBuf!, offset: uniformOffset, size: Math.max(16, Math.ceil(d.uniforms.byteLength / 16) * 16) } });
    }
    d.buffers.forEach((b, i) => {
      const resource = 'buffer' in b ? b : { buffer: b };
      entries.push({ binding: i + 1, resource });
    });
    const bindGroup = this.ctx.device.createBindGroup({ label: d.label, layout: pipeline.getBindGroupLayout(0), entries });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = d.workgroups;
    pass.dispatchWorkgroups(x, y, z);
  }
}
