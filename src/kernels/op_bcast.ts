// Numpy broadcasting: output shapes, per-input strides (0 along broadcast dims), dimension coalescing, and the
// uniform block of shaders/lib/op_bcast.wgsl that the broadcasting kernels (op_binary, op_where) index with.
import { KernelShapeError, numel, type GpuContext } from '../gpu/index.js';
import { grid1d } from './common.js';
import { uniformLayout } from './uniforms.js';

/** Rank limit of the GPU kernels' index arithmetic (uniform slots per shape). */
export const MAX_RANK = 8;

/** Consecutive outputs per invocation of the broadcasting kernels (BCAST_RUN in lib/op_bcast.wgsl). */
const BCAST_RUN = 8;

/** The numpy broadcast of two shapes; `kernel` names the caller in the KernelShapeError. */
export function broadcastShapes(a: readonly number[], b: readonly number[], kernel = 'broadcast'): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new KernelShapeError(kernel, `shapes [${a}] and [${b}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

export function broadcastAll(shapes: readonly (readonly number[])[], kernel = 'broadcast'): number[] {
  return shapes.reduce<number[]>((acc, s) => broadcastShapes(acc, s, kernel), []);
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Strides of `shape` read as if it had `out`'s shape (right-aligned; 0 where it broadcasts). */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const own = contiguousStrides(shape);
  const lead = out.length - shape.length;
  return out.map((_, i) => (i < lead || shape[i - lead] === 1 ? 0 : own[i - lead]!));
}

/**
 * Merges adjacent dims that every operand walks contiguously (stride[d] = stride[d+1] * shape[d+1]) and drops
 * size-1 dims: equal shapes become rank 1, so the kernels do one division per operand instead of one per dim.
 */
export function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const keep = shape.map((_, i) => i).filter((i) => shape[i] !== 1);
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (const i of keep) {
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k]![last] === s[i]! * shape[i]!)) {
      outShape[last]! *= shape[i]!;
      strides.forEach((s, k) => (outStrides[k]![last] = s[i]!));
    } else {
      outShape.push(shape[i]!);
      strides.forEach((s, k) => outStrides[k]!.push(s[i]!));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/** Pads a list to MAX_RANK slots (the uniform's array<vec4u, 2>). */
export function slots(v: readonly number[], kernel: string): number[] {
  if (v.length > MAX_RANK) throw new KernelShapeError(kernel, `rank ${v.length} exceeds the supported ${MAX_RANK}`);
  return [...v, ...new Array<number>(MAX_RANK - v.length).fill(0)];
}

/** The Bcast struct of lib/op_bcast.wgsl: one (size, stride0, stride1, stride2) vec4 per dim, innermost first. */
export const BCAST_UNIFORMS = uniformLayout({ n: 'u32', rank: 'u32', dims: `array<vec4u, ${MAX_RANK}>` });

/** The Bcast values for `out` computed from up to three inputs; `kernel` names the caller in errors. */
export function broadcastValues(kernel: string, out: readonly number[], inputs: readonly (readonly number[])[]): { n: number; rank: number; dims: number[] } {
  const c = coalesce(out, inputs.map((s) => broadcastStrides(s, out)));
  const rank = c.shape.length;
  if (rank > MAX_RANK) throw new KernelShapeError(kernel, `rank ${rank} exceeds the supported ${MAX_RANK}`);
  const dims: number[] = [];
  for (let k = 0; k < MAX_RANK; k++) {
    const d = rank - 1 - k;
    dims.push(d >= 0 ? c.shape[d]! : 1, ...[0, 1, 2].map((j) => (d >= 0 ? (c.strides[j]?.[d] ?? 0) : 0)));
  }
  return { n: numel(out), rank, dims };
}

/** The workgroup grid of a broadcasting kernel writing n outputs (256-wide workgroups, BCAST_RUN outputs each). */
export function broadcastWorkgroups(ctx: GpuContext, n: number): [number, number] {
  return grid1d(ctx, Math.ceil(n / (256 * BCAST_RUN)));
}

/** For each element of `out`, the flat index of the element of `shape` that broadcasts to it (host evaluation). */
export function broadcastIndex(shape: readonly number[], out: readonly number[]): Int32Array {
  const st = broadcastStrides(shape, out);
  const n = numel(out);
  const idx = new Int32Array(n);
  const coord = new Array<number>(out.length).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    idx[i] = off;
    for (let d = out.length - 1; d >= 0; d--) {
      coord[d]!++;
      off += st[d]!;
      if (coord[d]! < out[d]!) break;
      off -= st[d]! * out[d]!;
      coord[d] = 0;
    }
  }
  return idx;
}
