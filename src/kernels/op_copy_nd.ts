// General strided copy of 32-bit words: one pipeline moves tensors of every storage type (f32, i32, u32).
// The movement ops (Transpose, Slice, Expand, Tile, Concat, Split) each describe their work as CopyRegions.
import code from '../../shaders/op_copy_nd.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { check, checkTensor, grid1d } from './common.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const COPY_MAX_RANK = 8;
export const copyNdKernel = defineKernel(
  'op_copy_nd',
  code,
  uniformLayout({
    n: 'u32',
    rank: 'u32',
    src_offset: 'u32',
    dst_offset: 'u32',
    dims: 'array<vec4u, 2>',
    src_strides: 'array<vec4i, 2>',
    dst_strides: 'array<vec4u, 2>',
    src_mod: 'array<vec4u, 2>',
  }),
);

/**
 * For every index tuple idx over `dims` (innermost last):
 * dst[dstOffset + sum idx_k * dstStrides_k] = src[srcOffset + sum (idx_k % srcMod_k) * srcStrides_k].
 */
export interface CopyRegion {
  readonly dims: readonly number[];
  readonly srcOffset: number;
  readonly srcStrides: readonly number[];
  /** Per-dim modulo of the source index (Tile); absent means none. */
  readonly srcMod?: readonly number[];
  readonly dstOffset: number;
  readonly dstStrides: readonly number[];
}

/** Drops size-1 dims and merges neighbours that are contiguous in both source and destination. */
export function simplifyRegion(r: CopyRegion): CopyRegion {
  const dims: number[] = [];
  const ss: number[] = [];
  const ds: number[] = [];
  const mods: number[] = [];
  for (let k = r.dims.length - 1; k >= 0; k--) {
    const d = r.dims[k]!;
    if (d === 1) continue;
    const mod = Math.min(r.srcMod?.[k] ?? d, d);
    const j = dims.length - 1;
    const canMerge = j >= 0 && mod === d && mods[j] === dims[j] && r.srcStrides[k] === ss[j]! * dims[j]! && r.dstStrides[k] === ds[j]! * dims[j]!;
    if (canMerge) {
      dims[j]! *= d;
      mods[j] = dims[j]!;
    } else {
      dims.push(d);
      ss.push(r.srcStrides[k]!);
      ds.push(r.dstStrides[k]!);
      mods.push(mod);
    }
  }
  return { dims: dims.reverse(), srcOffset: r.srcOffset, srcStrides: ss.reverse(), srcMod: mods.reverse(), dstOffset: r.dstOffset, dstStrides: ds.reverse() };
}

/** Smallest and largest source and destination word touched by a non-empty region. */
function extent(r: CopyRegion): { srcMin: number; srcMax: number; dstMin: number; dstMax: number } {
  let srcMin = r.srcOffset;
  let srcMax = r.srcOffset;
  let dstMin = r.dstOffset;
  let dstMax = r.dstOffset;
  r.dims.forEach((d, k) => {
    const reach = Math.min(d, r.srcMod?.[k] ?? d) - 1;
    const s = reach * r.srcStrides[k]!;
    const t = (d - 1) * r.dstStrides[k]!;
    if (s < 0) srcMin += s;
    else srcMax += s;
    if (t < 0) dstMin += t;
    else dstMax += t;
  });
  return { srcMin, srcMax, dstMin, dstMax };
}

export function copyNdPipeline(): PipelineSpec {
  return { kernel: copyNdKernel };
}

export function recordCopyNd(ctx: GpuContext, step: Step, src: GpuTensor, dst: GpuTensor, region: CopyRegion): void {
  const label = `op_copy_nd ${shapeStr(src.shape)} -> ${shapeStr(dst.shape)} region ${shapeStr(region.dims)}`;
  const rank = region.dims.length;
  check(region.srcStrides.length === rank && region.dstStrides.length === rank && (region.srcMod?.length ?? rank) === rank, label, () =>
    `strides [${region.srcStrides}] / [${region.dstStrides}] do not match the region's rank ${rank}`);
  check(src.dtype === dst.dtype, label, () => `src is ${src.dtype} but dst is ${dst.dtype}`);
  checkTensor(label, 'src', src, src.shape, src.dtype);
  checkTensor(label, 'dst', dst, dst.shape, dst.dtype);
  const n = numel(region.dims);
  if (n === 0) return;
  const e = extent(region);
  check(e.srcMin >= 0 && e.srcMax < numel(src.shape), label, () => `reads words ${e.srcMin}..${e.srcMax} of a ${numel(src.shape)}-element src`);
  check(e.dstMin >= 0 && e.dstMax < numel(dst.shape), label, () => `writes words ${e.dstMin}..${e.dstMax} of a ${numel(dst.shape)}-element dst`);
  const r = simplifyRegion(region);
  const k = r.dims.length;
  // A contiguous run is a plain buffer copy.
  if (k === 0 || (k === 1 && r.srcStrides[0] === 1 && r.dstStrides[0] === 1 && r.srcMod![0] === r.dims[0])) {
    step.copy(src.buffer, dst.buffer, n * 4, r.srcOffset * 4, r.dstOffset * 4);
    return;
  }
  check(k <= COPY_MAX_RANK, label, () => `needs ${k} dims after merging, at most ${COPY_MAX_RANK} are supported`);
  step.dispatch({
    pipeline: copyNdPipeline(),
    label,
    uniforms: copyNdKernel.pack({
      n,
      rank: k,
      src_offset: r.srcOffset,
      dst_offset: r.dstOffset,
      dims: r.dims,
      src_strides: r.srcStrides,
      dst_strides: r.dstStrides,
      src_mod: r.srcMod!,
    }),
    buffers: [src.buffer, dst.buffer],
    workgroups: grid1d(ctx, Math.ceil(n / 256)),
  });
}

/** The same copy on the CPU, for any indexable arrays (also the ops' host evaluation). */
export function copyNdReference<T>(src: ArrayLike<T>, dst: { [i: number]: T }, region: CopyRegion): void {
  const n = numel(region.dims);
  const rank = region.dims.length;
  for (let i = 0; i < n; i++) {
    let rem = i;
    let s = region.srcOffset;
    let d = region.dstOffset;
    for (let k = rank - 1; k >= 0; k--) {
      const dim = region.dims[k]!;
      const idx = rem % dim;
      rem = Math.floor(rem / dim);
      s += (idx % (region.srcMod?.[k] ?? dim)) * region.srcStrides[k]!;
      d += idx * region.dstStrides[k]!;
    }
    dst[d] = src[s]!;
  }
}
