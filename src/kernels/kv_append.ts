// A layer's KV cache, preallocated on the GPU, and kv_append, which writes one step's keys and values
// into it at positions pastLen..pastLen+L-1. A decode step appends one row; the past is never copied.
import code from '../../shaders/kv_append.wgsl?raw';
import { shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { check, checkTensor, empty, grid1d } from './common.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const kvAppendKernel = defineKernel('kv_append', code, uniformLayout({ n: 'u32', numKvHeads: 'u32', headVec4: 'u32', maxSeq: 'u32', pastLen: 'u32' }));

/** The kernels read heads as vec4 rows held in a fixed register array of 32 vec4 per invocation. */
export const MAX_HEAD_DIM = 128;

/** One layer's keys and values, each [numKvHeads, maxSeq, headDim] f32; the caller tracks the filled length. */
export interface KvCache {
  readonly keys: GpuTensor;
  readonly values: GpuTensor;
}

export interface KvCacheDims {
  numKvHeads: number;
  maxSeq: number;
  headDim: number;
}

/** Checks a cache's layout and buffers against what kv_append and attention support; returns its dims. */
export function checkKvCache(label: string, cache: KvCache): KvCacheDims {
  const shape = cache.keys.shape;
  check(shape.length === 3, label, () => `cache keys have shape ${shapeStr(shape)} but [numKvHeads, maxSeq, headDim] was expected`);
  const [numKvHeads, maxSeq, headDim] = shape as [number, number, number];
  check(
    headDim > 0 && headDim % 4 === 0 && headDim <= MAX_HEAD_DIM,
    label,
    () => `headDim ${headDim} is not supported (a multiple of 4 up to ${MAX_HEAD_DIM})`,
  );
  checkTensor(label, 'cache keys', cache.keys, shape);
  checkTensor(label, 'cache values', cache.values, shape);
  return { numKvHeads, maxSeq, headDim };
}

export function createKvCache(ctx: GpuContext, numKvHeads: number, maxSeq: number, headDim: number): KvCache {
  const shape = [numKvHeads, maxSeq, headDim];
  const cache = { keys: empty(ctx, shape, 'f32', 'kv-cache keys'), values: empty(ctx, shape, 'f32', 'kv-cache values') };
  checkKvCache(`kv_cache ${shapeStr(shape)}`, cache);
  return cache;
}

export function kvAppendPipeline(): PipelineSpec {
  return { kernel: kvAppendKernel };
}

/** k and v: [L, numKvHeads * headDim] (k already rotated by RoPE). */
export function recordKvAppend(ctx: GpuContext, step: Step, cache: KvCache, k: GpuTensor, v: GpuTensor, pastLen: number): void {
  const label = `kv_append k ${shapeStr(k.shape)} v ${shapeStr(v.shape)} cache ${shapeStr(cache.keys.shape)} pastLen ${pastLen}`;
  const { numKvHeads, maxSeq, headDim } = checkKvCache(label, cache);
  const rows = k.shape[0] ?? 0;
  checkTensor(label, 'k', k, [rows, numKvHeads * headDim]);
  checkTensor(label, 'v', v, [rows, numKvHeads * headDim]);
  check(
    Number.isInteger(pastLen) && pastLen >= 0 && pastLen + rows <= maxSeq,
    label,
    () => `pastLen ${pastLen} + L ${rows} does not fit maxSeq ${maxSeq}`,
  );
  const n = (rows * numKvHeads * headDim) / 4;
  step.dispatch({
    pipeline: kvAppendPipeline(),
    label,
    uniforms: kvAppendKernel.pack({ n, numKvHeads, headVec4: headDim / 4, maxSeq, pastLen }),
    buffers: [k.buffer, v.buffer, cache.keys.buffer, cache.values.buffer],
    workgroups: grid1d(ctx, Math.ceil(n / 64)),
  });
}

/** The cache ([numKvHeads, maxSeq, headDim]) after appending x ([L, numKvHeads * headDim]) at pastLen. */
export function kvAppendReference(cache: Float32Array, x: Float32Array, dims: KvCacheDims, pastLen: number): Float32Array {
  const { numKvHeads, maxSeq, headDim } = dims;
  const out = cache.slice();
  const rows = x.length / (numKvHeads * headDim);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < numKvHeads; h++) {
      const src = (r * numKvHeads + h) * headDim;
      out.set(x.subarray(src, src + headDim), (h * maxSeq + pastLen + r) * headDim);
    }
  }
  return out;
}
