// Neural-network operators: MatMul (numpy semantics), Gemm, Softmax (opset 13), LayerNormalization, Size,
// com.microsoft MatMulNBits and GatherBlockQuantized (quantized weights and embedding tables), and the fused memvp
// ops the fusion passes create: MatMul with a bias/activation epilogue, Activation and RMSNorm. All float maths runs
// in f32; operands that must be reshaped or broadcast first (Softmax off the last axis, broadcast matmul batches,
// Gemm's transA and C) go through op_copy_nd.
import { numel, type GpuTensor, type Step } from '../../gpu/index.js';
import { ACT_CODE, recordActivation, type Activation } from '../../kernels/activation.js';
import { checkTableOptions, recordGatherNbits, tableLayout, type QuantTable } from '../../kernels/gather_nbits.js';
import { recordLayernorm } from '../../kernels/layernorm.js';
import { recordMatmul } from '../../kernels/matmul.js';
import type { MatmulConfig, MatmulOptions } from '../../kernels/matmul_common.js';
import { recordMatmulNBits } from '../../kernels/matmul_nbits.js';
import { broadcastShapes, broadcastStrides, contiguousStrides } from '../../kernels/op_bcast.js';
import { recordBinary, type BinarySpec } from '../../kernels/op_binary.js';
import { recordCopyNd } from '../../kernels/op_copy_nd.js';
import { checkIndices } from '../../kernels/op_gather.js';
import { checkQuantOptions, quantLayout, type QuantBits, type QuantWeight } from '../../kernels/quant.js';
import { recordRmsnorm } from '../../kernels/rmsnorm.js';
import { recordSoftmax } from '../../kernels/softmax.js';
import { attr, type Node } from '../ir.js';
import { isFloat, type ElemType, type HostTensor } from '../tensor.js';

import { normAxis, numbers, recordHostUpload } from './host-data.js';
import { fromNumbers } from './hostnum.js';
import { registerOp, type DeviceTensor, type OpImpl, type RunEnv, type TensorMeta } from './op.js';

type Metas = readonly (TensorMeta | undefined)[];

/** The same buffer read with another (contiguous) shape. */
function view(t: GpuTensor, shape: readonly number[]): GpuTensor {
  return { buffer: t.buffer, shape, dtype: t.dtype };
}

function scratch(step: Step, shape: readonly number[], label: string): GpuTensor {
  return { buffer: step.temp(Math.max(4, numel(shape) * 4), label), shape, dtype: 'f32' };
}

/** `t` broadcast (numpy rules, right-aligned) to `shape` in a step scratch buffer. */
function expandTo(env: RunEnv, t: GpuTensor, shape: readonly number[], label: string): GpuTensor {
  const out = scratch(env.step, shape, label);
  recordCopyNd(env.ctx, env.step, t, out, { dims: shape, srcOffset: 0, srcStrides: broadcastStrides(t.shape, shape), dstOffset: 0, dstStrides: contiguousStrides(shape) });
  return out;
}

function floatInput(node: Node, metas: Metas, i: number): TensorMeta {
  const m = metas[i];
  if (!m) throw new Error(`${node.op} ${node.name}: input ${i} is missing`);
  if (!isFloat(m.type)) throw new Error(`${node.op} ${node.name}: input ${i} is ${m.type}; only float tensors are supported`);
  return m;
}

// ---------------------------------------------------------------- MatMul

/** How a numpy matmul maps onto the kernel's 2D/3D operands. */
interface MatmulPlan {
  /** Output dims (1D operands' unit dims dropped). */
  readonly out: number[];
  /** Operand and result shapes the kernel sees (views of the buffers, or of expanded copies). */
  readonly a: number[];
  readonly b: number[];
  readonly c: number[];
  /** Full [...batch, rows, cols] shapes an operand must be broadcast to first, when its batch dims differ. */
  readonly expandA?: number[];
  readonly expandB?: number[];
}

function matmulPlan(node: Node, aDims: readonly number[], bDims: readonly number[]): MatmulPlan {
  const where = () => `${node.op} ${node.name} ([${aDims}] x [${bDims}])`;
  if (aDims.length === 0 || bDims.length === 0) throw new Error(`${where()}: operands must have rank >= 1`);
  const a2 = aDims.length === 1 ? [1, aDims[0]!] : [...aDims];
  const b2 = bDims.length === 1 ? [bDims[0]!, 1] : [...bDims];
  const [M, K] = a2.slice(-2) as [number, number];
  const [kB, N] = b2.slice(-2) as [number, number];
  if (K !== kB) throw new Error(`${where()}: inner dimensions differ (${K} vs ${kB})`);
  const aBatch = a2.slice(0, -2);
  const bBatch = b2.slice(0, -2);
  const batch = broadcastShapes(aBatch, bBatch, where());
  const out = [...batch, ...(aDims.length > 1 ? [M] : []), ...(bDims.length > 1 ? [N] : [])];
  const nA = numel(aBatch);
  const nB = numel(bBatch);
  const n = numel(batch);
  // B shared by every batch: A's batches are just more rows.
  if (nB === 1) return { out, a: [nA * M, K], b: [K, N], c: [nA * M, N] };
  if (nA === 1) return { out, a: [M, K], b: [nB, K, N], c: [nB, M, N] };
  const full = (own: number[]) => own.length === batch.length && own.every((d, i) => d === batch[i]);
  return {
    out,
    a: [n, M, K],
    b: [n, K, N],
    c: [n, M, N],
    ...(!full(aBatch) && { expandA: [...batch, M, K] }),
    ...(!full(bBatch) && { expandB: [...batch, K, N] }),
  };
}

function recordMatmulNd(env: RunEnv, node: Node, a: GpuTensor, b: GpuTensor, y: GpuTensor, opts: MatmulOptions): void {
  const p = matmulPlan(node, a.shape, b.shape);
  if (numel(p.c) === 0) return;
  if (p.a.at(-1) === 0) throw new Error(`${node.op} ${node.name}: an empty inner dimension (K = 0) is not supported`);
  const av = p.expandA ? view(expandTo(env, a, p.expandA, `${node.name} A broadcast`), p.a) : view(a, p.a);
  const bv = p.expandB ? view(expandTo(env, b, p.expandB, `${node.name} B broadcast`), p.b) : view(b, p.b);
  recordMatmul(env.ctx, env.step, av, bv, view(y, p.c), opts);
}

/** The epilogue of a fused memvp MatMul: its optional bias input 2 and `activation` attribute. */
function epilogue(node: Node): { activation: Activation; bias: boolean } {
  const activation = attr<string>(node, 'activation', 'none');
  if (!(activation in ACT_CODE)) throw new Error(`${node.op} ${node.name}: unknown activation "${activation}"`);
  return { activation: activation as Activation, bias: !!node.inputs[2] };
}

function matmulOp(fused: boolean): OpImpl {
  const config = (node: Node): MatmulConfig => (fused ? epilogue(node) : {});
  return {
    infer: (node, metas) => [{ type: floatInput(node, metas, 0).type, dims: matmulPlan(node, metas[0]!.dims, floatInput(node, metas, 1).dims).out }],
    record: (env, node, [a, b, bias], [y]) => {
      const opts: MatmulOptions = { activation: config(node).activation };
      if (bias) opts.bias = view(bias, [numel(bias.shape)]);
      recordMatmulNd(env, node, a!, b!, y!, opts);
    },
  };
}

registerOp('MatMul', matmulOp(false));
/** MatMul(A, B) + bias [N], then an activation: what the matmul-bias fusion pass produces. */
registerOp('MatMul', matmulOp(true), 'memvp');

// ---------------------------------------------------------------- Gemm

/** op_binary.wgsl's code for Mul. */
const BINARY_MUL = 2;

/** How Gemm's C enters the matmul epilogue: not at all, as the bias, as the residual, or scaled by beta first. */
type GemmC = 'none' | 'bias' | 'residual' | 'scaled';

interface GemmPlan {
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly transA: boolean;
  readonly transB: boolean;
  readonly alpha: number;
  readonly beta: number;
  readonly c: GemmC;
}

function gemmPlan(node: Node, a: readonly number[], b: readonly number[], c: readonly number[] | undefined): GemmPlan {
  const where = () => `Gemm ${node.name} (A [${a}], B [${b}]${c ? `, C [${c}]` : ''})`;
  if (a.length !== 2 || b.length !== 2) throw new Error(`${where()}: A and B must be 2D`);
  const transA = attr<number>(node, 'transA', 0) !== 0;
  const transB = attr<number>(node, 'transB', 0) !== 0;
  const [M, K] = transA ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
  const [kB, N] = transB ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
  if (K !== kB) throw new Error(`${where()}: inner dimensions differ (${K} vs ${kB})`);
  const alpha = attr<number>(node, 'alpha', 1);
  const beta = attr<number>(node, 'beta', 1);
  let kind: GemmC = 'none';
  if (c && beta !== 0) {
    if (c.length > 2 || broadcastShapes(c, [M, N], where()).some((d, i) => d !== [M, N][i])) throw new Error(`${where()}: C does not broadcast to [${M},${N}]`);
    if (beta !== 1) kind = 'scaled';
    else if (c.at(-1) === N && numel(c) === N) kind = 'bias';
    else if (c.length === 2 && c[0] === M && c[1] === N) kind = 'residual';
    else kind = 'scaled';
  }
  return { M, K, N, transA, transB, alpha, beta, c: kind };
}

const gemmBinary = (t: ElemType): BinarySpec => ({ op: BINARY_MUL, aType: t, bType: t, outType: t });

registerOp('Gemm', {
  infer: (node, metas) => {
    const p = gemmPlan(node, floatInput(node, metas, 0).dims, floatInput(node, metas, 1).dims, metas[2]?.dims);
    return [{ type: metas[0]!.type, dims: [p.M, p.N] }];
  },
  record: (env, node, [a, b, c], [y]) => {
    const p = gemmPlan(node, a!.shape, b!.shape, c?.shape);
    if (p.M * p.N === 0) return;
    if (p.K === 0) throw new Error(`Gemm ${node.name}: an empty inner dimension (K = 0) is not supported`);
    let at: GpuTensor = a!;
    if (p.transA) {
      at = scratch(env.step, [p.M, p.K], `${node.name} A transposed`);
      recordCopyNd(env.ctx, env.step, a!, at, { dims: [p.M, p.K], srcOffset: 0, srcStrides: [1, p.M], dstOffset: 0, dstStrides: [p.K, 1] });
    }
    const opts: MatmulOptions = { transB: p.transB, alpha: p.alpha };
    if (p.c === 'bias') opts.bias = view(c!, [p.N]);
    if (p.c === 'residual') opts.residual = c!;
    if (p.c === 'scaled') {
      const beta: DeviceTensor = { ...scratch(env.step, [1], `${node.name} beta`), type: c!.type };
      recordHostUpload(env, fromNumbers(c!.type, [1], [p.beta]), beta);
      opts.residual = scratch(env.step, [p.M, p.N], `${node.name} beta * C`);
      recordBinary(env.ctx, env.step, gemmBinary(c!.type), c!, beta, opts.residual);
    }
    recordMatmul(env.ctx, env.step, at, b!, y!, opts);
  },
});

// ---------------------------------------------------------------- Softmax

/** Softmax (opset 13 semantics; older models are rewritten by passes/legacy-softmax.ts) over `axis`. */
function softmaxAxis(node: Node, rank: number): number {
  return normAxis(node, attr(node, 'axis', -1), rank);
}

/** Whether the softmax axis is (in effect) the last one: every dim after it is 1. */
function lastAxis(dims: readonly number[], axis: number): boolean {
  return dims.slice(axis + 1).every((d) => d === 1);
}

registerOp('Softmax', {
  infer: (node, metas) => [{ type: floatInput(node, metas, 0).type, dims: metas[0]!.dims }],
  record: (env, node, [x], [y]) => {
    const d = x!.shape;
    if (numel(d) === 0) return;
    const axis = softmaxAxis(node, d.length);
    if (lastAxis(d, axis)) {
      recordSoftmax(env.ctx, env.step, view(x!, [numel(d) / d[axis]!, d[axis]!]), view(y!, [numel(d) / d[axis]!, d[axis]!]));
      return;
    }
    // Move the axis last, softmax the rows, move it back.
    const perm = [...d.keys()].filter((i) => i !== axis).concat(axis);
    const moved = perm.map((i) => d[i]!);
    const s = contiguousStrides(d);
    const t = scratch(env.step, moved, `${node.name} axis last`);
    const u = scratch(env.step, moved, `${node.name} softmax`);
    recordCopyNd(env.ctx, env.step, x!, t, { dims: moved, srcOffset: 0, srcStrides: perm.map((i) => s[i]!), dstOffset: 0, dstStrides: contiguousStrides(moved) });
    recordSoftmax(env.ctx, env.step, t, u);
    recordCopyNd(env.ctx, env.step, u, y!, { dims: moved, srcOffset: 0, srcStrides: contiguousStrides(moved), dstOffset: 0, dstStrides: perm.map((i) => s[i]!) });
  },
});

// ---------------------------------------------------------------- LayerNormalization

interface LayerNormPlan {
  readonly axis: number;
  readonly rows: number;
  readonly cols: number;
  /** Scale / bias must be broadcast to the normalized shape first (they have fewer elements). */
  readonly expandScale: boolean;
  readonly expandBias: boolean;
}

function layerNormPlan(node: Node, x: readonly number[], scale: readonly number[], bias: readonly number[] | undefined): LayerNormPlan {
  const axis = normAxis(node, attr(node, 'axis', -1), x.length);
  const normalized = x.slice(axis);
  const cols = numel(normalized);
  const fits = (p: readonly number[]) => {
    const b = broadcastShapes(p, normalized, `LayerNormalization ${node.name}`);
    if (b.length !== normalized.length || b.some((d, i) => d !== normalized[i])) throw new Error(`LayerNormalization ${node.name}: [${p}] does not broadcast to [${normalized}]`);
    return numel(p) !== cols;
  };
  return { axis, rows: numel(x.slice(0, axis)), cols, expandScale: fits(scale), expandBias: !!bias && fits(bias) };
}

registerOp('LayerNormalization', {
  infer: (node, metas) => {
    const x = floatInput(node, metas, 0);
    const p = layerNormPlan(node, x.dims, floatInput(node, metas, 1).dims, metas[2]?.dims);
    const stats: TensorMeta = { type: 'float32', dims: x.dims.map((d, i) => (i < p.axis ? d : 1)) };
    return [{ type: x.type, dims: x.dims }, ...node.outputs.slice(1).map(() => stats)];
  },
  record: (env, node, [x, scale, bias], [y, mean, invStdDev]) => {
    const p = layerNormPlan(node, x!.shape, scale!.shape, bias?.shape);
    if (p.rows * p.cols === 0) return;
    const normalized = x!.shape.slice(p.axis);
    const param = (t: GpuTensor, expand: boolean, what: string) => view(expand ? expandTo(env, t, normalized, `${node.name} ${what}`) : t, [p.cols]);
    const stat = (t: GpuTensor | undefined, what: string) => (t ? view(t, [p.rows]) : scratch(env.step, [p.rows], `${node.name} ${what} (unused)`));
    const stats = node.outputs.length > 1 ? { mean: stat(mean, 'mean'), invStdDev: stat(invStdDev, 'invStdDev') } : undefined;
    recordLayernorm(env.ctx, env.step, view(x!, [p.rows, p.cols]), param(scale!, p.expandScale, 'scale'), bias ? param(bias, p.expandBias, 'bias') : null, view(y!, [p.rows, p.cols]), {
      eps: attr(node, 'epsilon', 1e-5),
      stats,
    });
  },
});

// ---------------------------------------------------------------- Size

const sizeOf = (m: TensorMeta) => fromNumbers('int64', [], [numel(m.dims)]);

registerOp('Size', {
  metaOnly: true,
  infer: () => [{ type: 'int64', dims: [] }],
  host: (_node, _inputs, [x]) => [sizeOf(x!)],
  record: (env, _node, [x], [y]) => recordHostUpload(env, sizeOf({ type: x!.type, dims: x!.shape }), y!),
});

// ---------------------------------------------------------------- com.microsoft MatMulNBits

interface NBitsPlan {
  readonly K: number;
  readonly N: number;
  readonly bits: QuantBits;
  readonly blockSize: number;
  /** Rows of A (every leading dim folded in). */
  readonly rows: number;
  readonly out: number[];
}

function nbitsPlan(node: Node, a: readonly number[]): NBitsPlan {
  const where = `MatMulNBits ${node.name}`;
  const K = attr<number>(node, 'K', 0);
  const N = attr<number>(node, 'N', 0);
  const bits = attr<number>(node, 'bits', 4) as QuantBits;
  const blockSize = attr<number>(node, 'block_size', 0);
  checkQuantOptions(where, K, N, { bits, blockSize });
  if (node.inputs[4]) throw new Error(`${where}: g_idx (act-order quantization) is not supported`);
  if (a.at(-1) !== K) throw new Error(`${where}: A [${a}] must end in K = ${K}`);
  return { K, N, bits, blockSize, rows: numel(a) / K, out: [...a.slice(0, -1), N] };
}

/** Checks the weight inputs' types and sizes (as ONNX gives them, before the packed upload). */
function checkNBitsInputs(node: Node, p: NBitsPlan, metas: Metas): void {
  const where = `MatMulNBits ${node.name}`;
  const { nBlocks, blobSize, zpBytesPerCol } = quantLayout(p.K, p);
  const b = metas[1]!;
  if (b.type !== 'uint8' || numel(b.dims) !== p.N * nBlocks * blobSize) throw new Error(`${where}: B is ${b.type} [${b.dims}], uint8 [${p.N},${nBlocks},${blobSize}] expected`);
  if (numel(metas[2]!.dims) !== p.N * nBlocks) throw new Error(`${where}: scales [${metas[2]!.dims}] must hold N * nBlocks = ${p.N * nBlocks} values`);
  const zp = metas[3];
  if (zp && (zp.type !== 'uint8' || numel(zp.dims) !== p.N * zpBytesPerCol)) {
    throw new Error(`${where}: zero points are ${zp.type} [${zp.dims}]; only packed uint8 [${p.N * zpBytesPerCol}] is supported`);
  }
  if (metas[5] && numel(metas[5].dims) !== p.N) throw new Error(`${where}: bias [${metas[5].dims}] must hold N = ${p.N} values`);
}

registerOp(
  'MatMulNBits',
  {
    packedInputs: [1, 3],
    infer: (node, metas) => {
      const p = nbitsPlan(node, floatInput(node, metas, 0).dims);
      checkNBitsInputs(node, p, metas);
      return [{ type: metas[0]!.type, dims: p.out }];
    },
    record: (env, node, inputs, [y]) => {
      const [a, packed, scales, zeroPoints, , bias] = inputs;
      const p = nbitsPlan(node, a!.shape);
      if (p.rows === 0) return;
      const { nBlocks, blobSize, zpBytesPerCol } = quantLayout(p.K, p);
      // The executor uploads B and the zero points as raw bytes (packedInputs): u32 words of 4 bytes each.
      const words = (t: DeviceTensor, shape: number[], what: string): GpuTensor => {
        if (t.dtype !== 'u32') throw new Error(`MatMulNBits ${node.name}: ${what} must come from an initializer or a feed (computed quantized weights are not supported)`);
        return view(t, shape);
      };
      const w: QuantWeight = {
        packed: words(packed!, [p.N, nBlocks, blobSize / 4], 'B'),
        scales: view(scales!, [p.N, nBlocks]),
        ...(zeroPoints && { zeroPoints: words(zeroPoints, [Math.ceil((p.N * zpBytesPerCol) / 4)], 'zero_points') }),
        K: p.K,
        N: p.N,
        bits: p.bits,
        blockSize: p.blockSize,
      };
      recordMatmulNBits(env.ctx, env.step, view(a!, [p.rows, p.K]), w, view(y!, [p.rows, p.N]), bias ? { bias: view(bias, [p.N]) } : {});
    },
  },
  'com.microsoft',
);

// ---------------------------------------------------------------- com.microsoft GatherBlockQuantized

/** Embedding lookup in a quantized table (uint8 data, gather_axis 0, quantize_axis 1): onnxruntime's defaults apart from block_size 128. */
function gatherQAttrs(node: Node): { bits: QuantBits; blockSize: number } {
  return { bits: attr<number>(node, 'bits', 4) as QuantBits, blockSize: attr<number>(node, 'block_size', 128) };
}

/** Checks every input against the attributes; returns the output dims [...indices, cols]. */
function gatherQInfer(node: Node, metas: Metas, host: readonly (HostTensor | undefined)[]): TensorMeta {
  const where = `GatherBlockQuantized ${node.name}`;
  const [data, indices, scales, zp] = metas;
  if (!data || !indices || !scales) throw new Error(`${where}: data, indices and scales are required`);
  const axes = [attr<number>(node, 'gather_axis', 0), attr<number>(node, 'quantize_axis', 1)];
  if (data.type !== 'uint8' || data.dims.length !== 2) throw new Error(`${where}: data is ${data.type} [${data.dims}]; only uint8 [rows, packed columns] is supported`);
  if (normAxis(node, axes[0]!, 2) !== 0 || normAxis(node, axes[1]!, 2) !== 1) throw new Error(`${where}: gather_axis ${axes[0]} and quantize_axis ${axes[1]}: only 0 and 1 are supported`);
  const q = gatherQAttrs(node);
  const rows = data.dims[0]!;
  const cols = (data.dims[1]! * 8) / q.bits;
  checkTableOptions(where, rows, cols, q);
  const { nBlocks, zpBytesPerRow } = tableLayout(rows, cols, q);
  const is = (m: TensorMeta, dims: number[]) => m.dims.length === dims.length && m.dims.every((d, i) => d === dims[i]);
  if (indices.type !== 'int32' && indices.type !== 'int64') throw new Error(`${where}: indices are ${indices.type}, int32 or int64 expected`);
  if (!isFloat(scales.type) || !is(scales, [rows, nBlocks])) throw new Error(`${where}: scales are ${scales.type} [${scales.dims}], float [${rows},${nBlocks}] expected`);
  if (zp && (zp.type !== 'uint8' || !is(zp, [rows, zpBytesPerRow]))) throw new Error(`${where}: zero points are ${zp.type} [${zp.dims}], uint8 [${rows},${zpBytesPerRow}] expected`);
  // onnxruntime rejects out-of-range indices; the kernel cannot, so ids known on the CPU (feeds) are checked here.
  if (host[1]) checkIndices(numbers(host[1]), rows, where);
  return { type: scales.type, dims: [...indices.dims, cols] };
}

registerOp(
  'GatherBlockQuantized',
  {
    packedInputs: [0, 3],
    infer: (node, metas, host) => [gatherQInfer(node, metas, host)],
    record: (env, node, [data, indices, scales, zeroPoints], [y]) => {
      if (data!.dtype !== 'u32') throw new Error(`GatherBlockQuantized ${node.name}: data must come from an initializer or a feed (computed quantized tables are not supported)`);
      // The packed inputs arrive as u32 words: the table's shape comes from the scales and the output.
      const table: QuantTable = { packed: data!, scales: scales!, ...(zeroPoints && { zeroPoints }), rows: scales!.shape[0]!, cols: y!.shape.at(-1)!, ...gatherQAttrs(node) };
      recordGatherNbits(env.ctx, env.step, table, indices!, y!);
    },
  },
  'com.microsoft',
);

// ---------------------------------------------------------------- fused memvp ops

function activationOf(node: Node): Activation {
  const act = attr<string>(node, 'activation', '');
  if (!(act in ACT_CODE) || act === 'none') throw new Error(`${node.op} ${node.name}: unknown activation "${act}"`);
  return act as Activation;
}

/** y = act(x) elementwise (attribute `activation`: silu, gelu_erf, gelu_tanh, quick_gelu). */
registerOp(
  'Activation',
  {
    infer: (node, metas) => [{ type: floatInput(node, metas, 0).type, dims: metas[0]!.dims }],
    record: (env, node, [x], [y]) => recordActivation(env.ctx, env.step, activationOf(node), x!, y!),
  },
  'memvp',
);

/** y = x / sqrt(mean(x^2) + epsilon) * weight over the last dim (weight [D]). */
registerOp(
  'RMSNorm',
  {
    infer: (node, metas) => [{ type: floatInput(node, metas, 0).type, dims: metas[0]!.dims }],
    record: (env, node, [x, weight], [y]) => {
      if (numel(x!.shape) > 0) recordRmsnorm(env.ctx, env.step, x!, view(weight!, [numel(weight!.shape)]), y!, { eps: attr(node, 'epsilon', 1e-6) });
    },
  },
  'memvp',
);
