// A pool of GPU buffers in size classes, with byte accounting (allocated, in use, peak) so leaks show up
// in tests and the benchmark can report peak GPU bytes.
import type { GpuContext } from './device.js';
import { GpuOutOfMemoryError, KernelShapeError } from './errors.js';

export const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST, spelled out so this file loads before Dawn's globals exist
const MAP_READ_DST = 0x1 | 0x8; // MAP_READ | COPY_DST
const UNIFORM_DST = 0x40 | 0x8; // UNIFORM | COPY_DST

/** Rounds a request up to its size class: 256-byte steps below 64 KiB, then 8 steps per power of two. */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, bytes);
  if (b <= 65536) return Math.ceil(b / 256) * 256;
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

export interface PoolStats {
  allocatedBytes: number;
  inUseBytes: number;
  peakAllocatedBytes: number;
  buffers: number;
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly inUse = new Set<GPUBuffer>();
  private allocated = 0;
  private inUseBytes = 0;
  private peak = 0;
  private count = 0;

  constructor(private readonly ctx: GpuContext) {}

  /** A storage buffer of at least `bytes` (contents undefined). */
  acquire(bytes: number, usage: number = STORAGE, label = 'buffer'): GPUBuffer {
    this.ctx.assertAlive();
    const maxBinding = this.ctx.limits.maxStorageBufferBindingSize;
    if ((usage & 0x80) !== 0 && bytes > maxBinding) {
      throw new GpuOutOfMemoryError(`${label}: ${bytes} bytes exceed the adapter's max storage binding of ${maxBinding}`);
    }
    if (!Number.isFinite(bytes) || bytes < 0) throw new KernelShapeError(label, `invalid buffer size ${bytes}`);
    const size = sizeClass(bytes);
    const key = `${usage}:${size}`;
    let buf = this.free.get(key)?.pop();
    if (!buf) {
      buf = this.ctx.device.createBuffer({ size, usage, label });
      this.allocated += size;
      this.count++;
      this.peak = Math.max(this.peak, this.allocated);
    }
    this.inUse.add(buf);
    this.inUseBytes += size;
    return buf;
  }

  acquireReadback(bytes: number): GPUBuffer {
    return this.acquire(bytes, MAP_READ_DST, 'readback');
  }

  acquireUniform(bytes: number): GPUBuffer {
    return this.acquire(bytes, UNIFORM_DST, 'uniforms');
  }

  /** A storage buffer holding `data`. */
  upload(data: ArrayBufferView, label = 'upload'): GPUBuffer {
    const buf = this.acquire(data.byteLength, STORAGE, label);
    const padded = data.byteLength % 4 === 0 ? data : padTo4(data);
    this.ctx.device.queue.writeBuffer(buf, 0, padded.buffer, padded.byteOffset, padded.byteLength);
    return buf;
  }

  release(buf: GPUBuffer): void {
    if (!this.inUse.delete(buf)) return;
    this.inUseBytes -= buf.size;
    const key = `${buf.usage}:${buf.size}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buf);
  }

  /** Destroys every free buffer (after a model is unloaded, say). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.allocated -= b.size;
        this.count--;
        b.destroy();
      }
    }
    this.free.clear();
  }

  destroyAll(): void {
    this.trim();
    for (const b of this.inUse) b.destroy();
    this.inUse.clear();
    this.allocated = 0;
    this.inUseBytes = 0;
    this.count = 0;
  }

  stats(): PoolStats {
    return { allocatedBytes: this.allocated, inUseBytes: this.inUseBytes, peakAllocatedBytes: this.peak, buffers: this.count };
  }
}

function padTo4(data: ArrayBufferView): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}
