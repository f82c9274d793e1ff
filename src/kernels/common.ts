// Small helpers shared by the kernel wrappers: shape checks, workgroup grids, tensor upload/readback.
import { KernelShapeError, Step, numel, type DType, type GpuContext, type GpuTensor } from '../gpu/index.js';

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

/** Throws a KernelShapeError naming the kernel unless `ok`. */
export function check(ok: boolean, kernel: string, detail: () => string): asserts ok {
  if (!ok) throw new KernelShapeError(kernel, detail());
}

/** Checks that a tensor has the expected rank/shape and that its buffer can hold it. */
export function checkTensor(kernel: string, name: string, t: GpuTensor, shape: readonly number[], dtype: DType = 'f32'): void {
  const same = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  check(same, kernel, () => `${name} has shape [${t.shape}] but [${shape}] was expected`);
  check(t.dtype === dtype, kernel, () => `${name} has dtype ${t.dtype} but ${dtype} was expected`);
  const bytes = numel(shape) * 4;
  check(t.buffer.size >= bytes, kernel, () => `${name} [${shape}] needs ${bytes} bytes but its buffer has ${t.buffer.size}`);
}

/** A 1D or 2D grid of workgroups covering `groups` workgroups (the x dimension is capped by the device limit). */
export function grid1d(ctx: GpuContext, groups: number): [number, number] {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  return groups <= max ? [groups, 1] : [max, Math.ceil(groups / max)];
}

export function upload(ctx: GpuContext, data: Float32Array | Int32Array | Uint32Array, shape: readonly number[], label = 'tensor'): GpuTensor {
  const dtype: DType = data instanceof Float32Array ? 'f32' : data instanceof Int32Array ? 'i32' : 'u32';
  if (data.length !== numel(shape)) throw new KernelShapeError(label, `data has ${data.length} elements, shape [${shape}] needs ${numel(shape)}`);
  return { buffer: ctx.buffers.upload(data, label), shape, dtype };
}

export function empty(ctx: GpuContext, shape: readonly number[], dtype: DType = 'f32', label = 'tensor'): GpuTensor {
  return { buffer: ctx.buffers.acquire(numel(shape) * 4, undefined, label), shape, dtype };
}

export async function readF32(ctx: GpuContext, t: GpuTensor): Promise<Float32Array> {
  const step = new Step(ctx, 'readback');
  const p = step.read(t.buffer, numel(t.shape) * 4);
  await step.submit();
  return new Float32Array(await p);
}

export function release(ctx: GpuContext, ...ts: GpuTensor[]): void {
  for (const t of ts) ctx.buffers.release(t.buffer);
}
