// Operators that the fusion passes create (domain "memvp"): one node per attention block with its KV cache,
// and one per FFN block with MemVP's memory branch. Each runs our fused kernels.
import { numel, shapeStr } from '../../gpu/index.js';
import { recordAttention } from '../../kernels/attention.js';
import { recordKvAppend, type KvCache } from '../../kernels/kv_append.js';
import { recordMemvpFfn, type MemvpFfnArgs, type MemvpForm, type MemvpWeight } from '../../kernels/memvp_ffn.js';
import { quantLayout, type QuantBits } from '../../kernels/quant.js';
import { recordRopeTable } from '../../kernels/rope.js';
import { ShapeError } from '../errors.js';
import { attr, type Node } from '../ir.js';

import { registerOp, type DeviceTensor, type RunEnv, type TensorMeta } from './op.js';

const view = (t: DeviceTensor, shape: readonly number[]): DeviceTensor => ({ ...t, shape });

/** Room for positions in a newly allocated KV cache: powers of two from 64, so a decode loop regrows rarely. */
export function kvCapacityFor(length: number): number {
  return Math.max(64, 2 ** Math.ceil(Math.log2(Math.max(1, length))));
}

/**
 * memvp.Attention: inputs q [1, L, H*hd], k and v [1, L, Hkv*hd] (projections, before RoPE), cos and sin
 * [..., L, hd], past_key and past_value [1, Hkv, P, hd]; outputs [1, L, H*hd] and present_key/value
 * [1, Hkv, P+L, hd]. The presents are KV-cache tensors (kvCapacity): a past that is itself a present from the
 * previous run with room left is appended to in place, so a decode step never copies the past.
 */
registerOp(
  'Attention',
  {
    acceptsKvCache: true,
    providesOutputs: [1, 2],
    infer(node, [q, k, , , , pastK]) {
      const heads = attr<number>(node, 'num_heads', 0);
      const kvHeads = attr<number>(node, 'num_kv_heads', 0);
      const [b, L] = q!.dims;
      const [, h, P, hd] = pastK!.dims as [number, number, number, number];
      if (b !== 1) throw new ShapeError(node, `batch ${b} is not supported: the KV cache holds one sequence`);
      if (h !== kvHeads || q!.dims[2] !== heads * hd || k!.dims[2] !== kvHeads * hd) {
        throw new ShapeError(node, `q ${shapeStr(q!.dims)}, k ${shapeStr(k!.dims)} and past ${shapeStr(pastK!.dims)} do not fit ${heads} heads / ${kvHeads} kv heads`);
      }
      const present: TensorMeta = { type: 'float32', dims: [1, kvHeads, P + L!, hd] };
      return [{ type: 'float32', dims: q!.dims }, present, present];
    },
    record(env, node, [q, k, v, cos, sin, pastK, pastV], [out]) {
      const heads = attr<number>(node, 'num_heads', 0);
      const kvHeads = attr<number>(node, 'num_kv_heads', 0);
      const L = q!.shape[1]!;
      const [, , P, hd] = pastK!.shape as [number, number, number, number];
      const { ctx, step } = env;
      const qRot = view({ ...q!, buffer: step.temp(numel(q!.shape) * 4, 'q rot') }, [L, heads * hd]);
      const kRot = view({ ...k!, buffer: step.temp(numel(k!.shape) * 4, 'k rot') }, [L, kvHeads * hd]);
      const table = (t: DeviceTensor) => view(t, [L, hd]);
      recordRopeTable(ctx, step, view(q!, [L, heads * hd]), table(cos!), table(sin!), { heads, out: qRot });
      recordRopeTable(ctx, step, view(k!, [L, kvHeads * hd]), table(cos!), table(sin!), { heads: kvHeads, out: kRot });
      const keys = cacheFor(env, pastK!, P + L);
      const values = cacheFor(env, pastV!, P + L);
      const cache: KvCache = { keys: view(keys, [kvHeads, keys.kvCapacity!, hd]), values: view(values, [kvHeads, values.kvCapacity!, hd]) };
      recordKvAppend(ctx, step, cache, kRot, view(v!, [L, kvHeads * hd]), P);
      recordAttention(ctx, step, qRot, cache, view(out!, [L, heads * hd]), {
        numHeads: heads,
        pastLen: P,
        causal: attr<number>(node, 'causal', 1) === 1,
        scale: attr<number>(node, 'scale', 0),
      });
      const present = (t: DeviceTensor): DeviceTensor => ({ ...t, shape: [1, kvHeads, P + L, hd] });
      return new Map([
        [1, present(keys)],
        [2, present(values)],
      ]);
    },
  },
  'memvp',
);

/** The past's own buffer when it has room for `length` positions, else a new cache holding a copy of the past. */
function cacheFor(env: RunEnv, past: DeviceTensor, length: number): DeviceTensor {
  if (past.kvCapacity !== undefined && past.kvCapacity >= length) return past;
  const [, heads, P, hd] = past.shape as [number, number, number, number];
  const capacity = kvCapacityFor(length);
  const buffer = env.ctx.buffers.acquire(heads * capacity * hd * 4, undefined, 'kv cache');
  const from = past.kvCapacity ?? P;
  if (P > 0) for (let h = 0; h < heads; h++) env.step.copy(past.buffer, buffer, P * hd * 4, h * from * hd * 4, h * capacity * hd * 4);
  return { buffer, shape: past.shape, dtype: 'f32', type: 'float32', kvCapacity: capacity };
}

/** The FFN weights in input order; each also has a quantized form at inputs 6 + 3i (packed B, scales, zero points). */
export const MEMVP_FFN_WEIGHTS = ['wUp', 'w2'] as const;
const FIRST_QUANT_INPUT = 6;
// The quantized weights arrive as their raw bytes in u32 words, like MatMulNBits' B and zero points.
const PACKED_INPUTS = MEMVP_FFN_WEIGHTS.flatMap((_, i) => [FIRST_QUANT_INPUT + 3 * i, FIRST_QUANT_INPUT + 3 * i + 2]);

/**
 * memvp.MemVpFfn: inputs u [.., L, d] (after the FFN's RMSNorm), the residual h, wUp = [W1 | W3] [d, 2D] (the
 * fusion pass concatenates them), W2 [D, d], and optionally the MemVP memory K, V [n, d]; attributes form (llama)
 * and s. out = h + SwiGLU(u) + s SiLU(u K^T) V. A weight quantized in MatMulNBits' layout leaves its f32 input
 * empty and comes as inputs 6 + 3i: packed B, scales, zero points (optional), with attributes <w>_K, <w>_N,
 * <w>_bits, <w>_block_size (wUp, w2).
 */
registerOp(
  'MemVpFfn',
  {
    packedInputs: PACKED_INPUTS,
    infer: (_node, [, h]) => [{ type: 'float32', dims: h!.dims }],
    record(env, node, inputs, [out]) {
      const memK = inputs[4];
      let scores: DeviceTensor | undefined;
      let mask: DeviceTensor | undefined;
      if (memK) {
        const n = memK.shape[0]!;
        const L = numel(inputs[0]!.shape) / inputs[0]!.shape.at(-1)!;
        if (env.options.memvp?.scores) {
          scores = { buffer: env.ctx.buffers.acquire(L * n * 4, undefined, 'memvp scores'), shape: [L, n], dtype: 'f32', type: 'float32' };
          env.extraOutput(`memvp.scores.${attr<number>(node, 'layer', 0)}`, scores);
        }
        mask = env.memvpMask;
        if (mask && mask.shape[0] !== n) throw new ShapeError(node, `the memory mask has ${mask.shape[0]} entries but the memory has ${n}`);
      }
      recordMemvpFfn(env.ctx, env.step, ffnArgs(node, inputs, out!, { mask, scores }));
    },
  },
  'memvp',
);

/** Weight i: its f32 input, or a QuantWeight over its packed inputs (shaped as the kernels read them). */
function ffnWeight(node: Node, inputs: readonly (DeviceTensor | undefined)[], i: number): MemvpWeight | undefined {
  const f32 = inputs[2 + i];
  const [packed, scales, zeroPoints] = inputs.slice(FIRST_QUANT_INPUT + 3 * i, FIRST_QUANT_INPUT + 3 * i + 3);
  if (!packed) return f32;
  const name = MEMVP_FFN_WEIGHTS[i]!;
  const K = attr<number>(node, `${name}_K`, 0);
  const N = attr<number>(node, `${name}_N`, 0);
  const bits = attr<number>(node, `${name}_bits`, 4) as QuantBits;
  const blockSize = attr<number>(node, `${name}_block_size`, 0);
  const { nBlocks, blobSize, zpBytesPerCol } = quantLayout(K, { bits, blockSize });
  return {
    packed: view(packed, [N, nBlocks, blobSize / 4]),
    scales: view(scales!, [N, nBlocks]),
    ...(zeroPoints && { zeroPoints: view(zeroPoints, [Math.ceil((N * zpBytesPerCol) / 4)]) }),
    K,
    N,
    bits,
    blockSize,
  };
}

function ffnArgs(
  node: Node,
  inputs: readonly (DeviceTensor | undefined)[],
  out: DeviceTensor,
  extras: { mask?: DeviceTensor; scores?: DeviceTensor },
): MemvpFfnArgs {
  const [u, h, , , k, v] = inputs;
  const d = u!.shape.at(-1)!;
  const L = numel(u!.shape) / d;
  return {
    form: attr<string>(node, 'form', 'llama') as MemvpForm,
    u: view(u!, [L, d]),
    residual: view(h!, [L, d]),
    wUp: ffnWeight(node, inputs, 0)!,
    w2: ffnWeight(node, inputs, 1)!,
    memK: k,
    memV: v,
    s: attr<number>(node, 's', 0),
    mask: extras.mask,
    scores: extras.scores,
    out: view(out, [L, d]),
  };
}
