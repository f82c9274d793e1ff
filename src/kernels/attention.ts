// Scaled dot-product attention of q ([L, numHeads * headDim]) against a layer's KV cache up to
// totalLen = pastLen + L: out = softmax(q k^T * scale + mask) v per head, causal or not, with grouped-query
// heads (query head h reads kv head floor(h / (numHeads / numKvHeads))). L = 1 runs the decode kernel
// (keys of a head split across a workgroup), L > 1 the prefill kernel (one invocation per row and head).
// Supported: headDim a multiple of 4 up to 128. Attention over K/V of the same step without a past (the
// vision encoder) uses the same kernels: a cache of exactly L positions, kv_append at pastLen 0, then
// attention with pastLen 0 and causal false.
import decodeCode from '../../shaders/attention_decode.wgsl?raw';
import prefillCode from '../../shaders/attention_prefill.wgsl?raw';
import { shapeStr, type AdapterDescription, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { check, checkTensor, grid1d } from './common.js';
import { checkKvCache, type KvCache, type KvCacheDims } from './kv_append.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

/** Params of shaders/lib/attention_online.wgsl, which both kernels include. */
const uniforms = uniformLayout({
  numHeads: 'u32',
  numKvHeads: 'u32',
  headVec4: 'u32',
  maxSeq: 'u32',
  pastLen: 'u32',
  rows: 'u32',
  causal: 'u32',
  scale: 'f32',
});

export const attentionKernels = {
  prefill: defineKernel('attention_prefill', prefillCode, uniforms),
  decode: defineKernel('attention_decode', decodeCode, uniforms),
};

export type AttentionVariant = keyof typeof attentionKernels;

// Invocations per head in the decode kernel. Software adapters run a workgroup as SIMD groups of 4 on one
// thread and pay per group and per byte of workgroup storage (SwiftShader, 4 heads of 32, 17 keys: about
// 0.05 ms a dispatch with 4, 1.1 ms with 32), so there one group per head, heads spread over the cores.
// Elsewhere 16, which keeps the merge buffer (16 * 512 bytes) within WebGPU's default 16 KiB.
function decodeWorkgroup(adapter: AdapterDescription): number {
  return adapter.isSoftware ? 4 : 16;
}

/** A model prepares both variants; recordAttention picks one from L. */
export function attentionPipeline(variant: AttentionVariant, adapter: AdapterDescription): PipelineSpec {
  return variant === 'decode' ? { kernel: attentionKernels.decode, constants: { WG: decodeWorkgroup(adapter) } } : { kernel: attentionKernels.prefill };
}

export interface AttentionOptions {
  numHeads: number;
  /** Positions already in the cache before this step's L rows (which kv_append has just written). */
  pastLen: number;
  causal: boolean;
  /** Defaults to 1 / sqrt(headDim). */
  scale?: number;
}

export function recordAttention(ctx: GpuContext, step: Step, q: GpuTensor, cache: KvCache, out: GpuTensor, options: AttentionOptions): void {
  const { numHeads, pastLen, causal } = options;
  const rows = q.shape[0] ?? 0;
  const label =
    `attention q ${shapeStr(q.shape)} cache ${shapeStr(cache.keys.shape)} numHeads ${numHeads} pastLen ${pastLen}` +
    (causal ? ' causal' : '');
  const { numKvHeads, maxSeq, headDim } = checkKvCache(label, cache);
  check(
    Number.isInteger(numHeads) && numHeads > 0 && numHeads % numKvHeads === 0,
    label,
    () => `numHeads ${numHeads} is not a positive multiple of numKvHeads ${numKvHeads}`,
  );
  check(q.shape.length === 2 && rows >= 1, label, () => `q must be [L >= 1, numHeads * headDim]`);
  checkTensor(label, 'q', q, [rows, numHeads * headDim]);
  checkTensor(label, 'out', out, [rows, numHeads * headDim]);
  check(
    Number.isInteger(pastLen) && pastLen >= 0 && pastLen + rows <= maxSeq,
    label,
    () => `pastLen ${pastLen} + L ${rows} does not fit maxSeq ${maxSeq}`,
  );
  const scale = options.scale ?? 1 / Math.sqrt(headDim);
  const variant: AttentionVariant = rows === 1 ? 'decode' : 'prefill';
  step.dispatch({
    pipeline: attentionPipeline(variant, ctx.adapter),
    label,
    uniforms: uniforms.pack(`attention_${variant}`, { numHeads, numKvHeads, headVec4: headDim / 4, maxSeq, pastLen, rows, causal: causal ? 1 : 0, scale }),
    buffers: [q.buffer, cache.keys.buffer, cache.values.buffer, out.buffer],
    workgroups: variant === 'decode' ? [numHeads] : grid1d(ctx, Math.ceil((rows * numHeads) / 64)),
  });
}

export interface AttentionReferenceDims extends KvCacheDims {
  numHeads: number;
  pastLen: number;
  causal: boolean;
  scale?: number;
}

/** Plain-TS attention in f64; keys and values are whole caches [numKvHeads, maxSeq, headDim]. */
export function attentionReference(q: Float32Array, keys: Float32Array, values: Float32Array, dims: AttentionReferenceDims): Float32Array {
  const { numHeads, numKvHeads, maxSeq, headDim, pastLen, causal } = dims;
  const scale = dims.scale ?? 1 / Math.sqrt(headDim);
  const width = numHeads * headDim;
  const rows = q.length / width;
  const out = new Float32Array(q.length);
  for (let i = 0; i < rows; i++) {
    const end = causal ? pastLen + i + 1 : pastLen + rows;
    for (let h = 0; h < numHeads; h++) {
      const kvBase = Math.floor(h / (numHeads / numKvHeads)) * maxSeq * headDim;
      const qBase = i * width + h * headDim;
      const scores = new Float64Array(end);
      for (let j = 0; j < end; j++) {
        let s = 0;
        for (let d = 0; d < headDim; d++) s += q[qBase + d]! * keys[kvBase + j * headDim + d]!;
        scores[j] = s * scale;
      }
      const max = Math.max(...scores);
      let sum = 0;
      for (let j = 0; j < end; j++) sum += scores[j] = Math.exp(scores[j]! - max);
      for (let d = 0; d < headDim; d++) {
        let a = 0;
        for (let j = 0; j < end; j++) a += scores[j]! * values[kvBase + j * headDim + d]!;
        out[qBase + d] = a / sum;
      }
    }
  }
  return out;
}
