// Fuses the LLaMA FFN block as PyTorch exports it, with or without MemVP's memory branch, into one
// memvp.MemVpFfn node (the fused kernel pair of src/kernels/memvp_ffn.ts):
//   out = h + MatMul(Mul(SiLU(MatMul(u, W1)), MatMul(u, W3)), W2)                      (plain SwiGLU FFN)
//       [ + Mul(MatMul(SiLU(MatMul(u, Transpose(K))), V), s) ]                          (memory branch)
// SiLU is Mul(x, Sigmoid(x)). W1, W3, W2 must be constants; K and V are whatever the graph feeds (inputs).
// Any of the three weight MatMuls may instead be a com.microsoft MatMulNBits with constant weights (a quantized
// model), as long as the fused kernels can read it: W1 and W3 in one format, blocks of a multiple of 16 bytes,
// K a multiple of 4 (a partial last block is fine), no bias or g_idx. Otherwise the block is left unfused and the
// MatMulNBits nodes run on their own. The fused node reads W1 and W3 as one constant wUp = [W1 | W3] along N,
// concatenated here on the host (for quantized weights: the blocks of W1's columns, then W3's).
import { numel } from '../../gpu/index.js';
import { memvpUpWeightF32 } from '../../kernels/memvp_ffn.js';
import { concatQuantColumns, quantLayout, type QuantBits } from '../../kernels/quant.js';
import type { AttrValue, Graph, Node, Value } from '../ir.js';
import { MEMVP_FFN_WEIGHTS } from '../ops/fused.js';
import type { HostTensor } from '../tensor.js';
import { matchSilu, onlyUsedBy, other, producer, scalar } from './match.js';

/** An FFN weight: MatMul's constant f32 B, or MatMulNBits' constant quantized B (attributes as MatMulNBits'). */
type FfnWeight =
  | { kind: 'f32'; b: Value }
  | { kind: 'quant'; packed: Value; scales: Value; zeroPoints: Value | undefined; K: number; N: number; bits: QuantBits; blockSize: number };

const format = (w: FfnWeight) => (w.kind === 'f32' ? 'f32' : `q${w.bits}/${w.blockSize}${w.zeroPoints ? '+zp' : ''}`);

/** `v` = MatMul(a, W) or MatMulNBits(a, W...) with a W the fused kernels can read. */
function weightMatMul(v: Value | undefined): { node: Node; a: Value; w: FfnWeight } | undefined {
  const mm = producer(v, 'MatMul');
  if (mm) {
    const b = mm.inputs[1]?.constant;
    return b?.type === 'float32' && b.dims.length === 2 ? { node: mm, a: mm.inputs[0]!, w: { kind: 'f32', b: mm.inputs[1]! } } : undefined;
  }
  const q = v?.producer;
  if (!q || q.op !== 'MatMulNBits' || q.domain !== 'com.microsoft' || q.inputs[4] || q.inputs[5]) return undefined;
  const [a, packed, scales, zeroPoints] = q.inputs;
  const num = (name: string, fallback: number) => {
    const x = q.attrs.get(name) ?? fallback;
    return typeof x === 'number' ? x : NaN;
  };
  const [K, N, bits, blockSize] = [num('K', 0), num('N', 0), num('bits', 4), num('block_size', 0)];
  // The kernels' block sizes, 16-byte block loads (a 4-bit block needs >= 32 values) and vec4 loads along K.
  const blocksOk = [16, 32, 64, 128, 256].includes(blockSize) && (bits === 4 || bits === 8) && (blockSize * bits) % 128 === 0;
  if (!a || !packed?.constant || !scales?.constant || (zeroPoints && !zeroPoints.constant) || !blocksOk || !(K > 0 && K % 4 === 0 && N > 0)) return undefined;
  const { nBlocks, blobSize, zpBytesPerCol } = quantLayout(K, { bits, blockSize });
  const holds = (c: Value, type: string, n: number) => c.constant!.type === type && numel(c.constant!.dims) === n;
  if (!holds(packed, 'uint8', N * nBlocks * blobSize) || !holds(scales, 'float32', N * nBlocks)) return undefined;
  if (zeroPoints && !holds(zeroPoints, 'uint8', N * zpBytesPerCol)) return undefined;
  return { node: q, a, w: { kind: 'quant', packed, scales, zeroPoints, K, N, bits: bits as QuantBits, blockSize } };
}

interface SwiGlu {
  u: Value;
  w1: FfnWeight;
  w3: FfnWeight;
  w2: FfnWeight;
  out: Value;
  nodes: Node[];
}

/** The weights must chain: W1, W3 [d, D] and W2 [D, d]. */
function shapesFit(w1: FfnWeight, w3: FfnWeight, w2: FfnWeight): boolean {
  const dims = (w: FfnWeight) => (w.kind === 'quant' ? [w.K, w.N] : w.b.constant!.dims);
  const [a, b, c] = [dims(w1), dims(w3), dims(w2)];
  return a[0] === b[0] && a[1] === b[1] && a[0] === c[1] && a[1] === c[0];
}

/** Matches MatMul(Mul(SiLU(MatMul(u, W1)), MatMul(u, W3)), W2) ending at `v` (any MatMul may be a MatMulNBits). */
function matchSwiGlu(v: Value | undefined): SwiGlu | undefined {
  const down = weightMatMul(v);
  const gate = producer(down?.a, 'Mul');
  if (!down || !gate) return undefined;
  for (const [s, g] of [gate.inputs, [...gate.inputs].reverse()]) {
    const silu = matchSilu(s);
    const mm1 = weightMatMul(silu?.[0]);
    const mm3 = weightMatMul(g);
    if (!silu || !mm1 || !mm3 || mm1.a !== mm3.a) continue;
    if (format(mm1.w) !== format(mm3.w) || !shapesFit(mm1.w, mm3.w, down.w)) continue;
    return { u: mm1.a, w1: mm1.w, w3: mm3.w, w2: down.w, out: v!, nodes: [down.node, gate, silu[1], silu[2], mm1.node, mm3.node] };
  }
  return undefined;
}

interface Memory {
  k: Value;
  v: Value;
  s: number;
  nodes: Node[];
}

/** Matches Mul(MatMul(SiLU(MatMul(u, Transpose(K))), V), s) ending at `v` (the Transpose node is left: it is shared by every layer). */
function matchMemory(v: Value | undefined, u: Value): Memory | undefined {
  const scale = producer(v, 'Mul');
  if (!scale) return undefined;
  for (const [r, sv] of [scale.inputs, [...scale.inputs].reverse()]) {
    const s = scalar(sv);
    const mmV = producer(r, 'MatMul');
    const silu = matchSilu(mmV?.inputs[0]);
    const mmK = producer(silu?.[0], 'MatMul');
    const tr = producer(mmK?.inputs[1], 'Transpose');
    const perm = tr?.attrs.get('perm') as number[] | undefined;
    if (s === undefined || !mmV || !silu || !mmK || !tr || mmK.inputs[0] !== u) continue;
    if (perm && !(perm.length === 2 && perm[0] === 1 && perm[1] === 0)) continue;
    return { k: tr.inputs[0]!, v: mmV.inputs[1]!, s, nodes: [scale, mmV, silu[1], silu[2], mmK] };
  }
  return undefined;
}

export function fuseMemvpFfn(graph: Graph): number {
  // The memory form first: its inner Add(h, ffn) would otherwise be taken as a plain FFN on its own.
  return sweep(graph, true) + sweep(graph, false);
}

function sweep(graph: Graph, withMemory: boolean): number {
  let fused = 0;
  for (const add of [...graph.nodes]) {
    if (add.domain !== '' || add.op !== 'Add' || !graph.nodes.includes(add)) continue;
    // With memory: Add(Add(h, ffn), mem) in either order; without: Add(h, ffn).
    let memory: Memory | undefined;
    let ffn: SwiGlu | undefined;
    let h: Value | undefined;
    let inner: Node | undefined;
    for (const [a, b] of withMemory ? [add.inputs, [...add.inputs].reverse()] : []) {
      const innerAdd = producer(a, 'Add');
      if (!innerAdd) continue;
      for (const x of innerAdd.inputs) {
        const f = matchSwiGlu(x);
        const m = f && matchMemory(b, f.u);
        if (f && m) [ffn, memory, h, inner] = [f, m, other(innerAdd, x!), innerAdd];
      }
    }
    if (!withMemory) {
      for (const x of add.inputs) {
        const f = matchSwiGlu(x);
        if (f) [ffn, h] = [f, other(add, x!)];
      }
    }
    if (!ffn || !h) continue;
    const nodes = new Set([add, ...ffn.nodes, ...(memory?.nodes ?? []), ...(inner ? [inner] : [])]);
    const internal = [...nodes].filter((n) => n !== add).flatMap((n) => n.outputs);
    if (!internal.every((v) => onlyUsedBy(v, nodes, graph.outputs))) continue;

    const attrs = new Map<string, AttrValue>([['form', 'llama']]);
    if (memory) attrs.set('s', memory.s).set('layer', fused);
    const weights = { wUp: upWeight(graph, ffn.w1, ffn.w3), w2: ffn.w2 };
    const quantInputs: (Value | undefined)[] = [];
    for (const name of MEMVP_FFN_WEIGHTS) {
      const w = weights[name];
      if (w.kind === 'f32') {
        quantInputs.push(undefined, undefined, undefined);
        continue;
      }
      quantInputs.push(w.packed, w.scales, w.zeroPoints);
      attrs.set(`${name}_K`, w.K).set(`${name}_N`, w.N).set(`${name}_bits`, w.bits).set(`${name}_block_size`, w.blockSize);
    }
    const f32 = (w: FfnWeight) => (w.kind === 'f32' ? w.b : undefined);
    graph.addNode(
      {
        name: `${add.name}/memvp_ffn`,
        op: 'MemVpFfn',
        domain: 'memvp',
        inputs: [ffn.u, h, f32(weights.wUp), f32(weights.w2), memory?.k, memory?.v, ...quantInputs],
        outputs: [add.outputs[0]!],
        attrs,
      },
      // In place of the final Add: every input is produced before it, every reader of its output comes after.
      graph.nodes.indexOf(add),
    );
    for (const n of nodes) graph.removeNode(n);
    fused++;
  }
  return fused;
}

/** A new constant value holding `t`. */
function constant(graph: Graph, base: string, t: HostTensor): Value {
  const v = graph.value(graph.freshName(base));
  v.type = t.type;
  v.shape = [...t.dims];
  v.constant = t;
  return v;
}

/** wUp = [W1 | W3] along N as new constants (W1 and W3 have one format: matchSwiGlu checks it). */
function upWeight(graph: Graph, w1: FfnWeight, w3: FfnWeight): FfnWeight {
  const base = `${w1.kind === 'f32' ? w1.b.name : w1.packed.name}_w3`;
  if (w1.kind === 'f32' && w3.kind === 'f32') {
    const [d, D] = w1.b.constant!.dims as [number, number];
    const data = memvpUpWeightF32(w1.b.constant!.data as Float32Array, w3.b.constant!.data as Float32Array, d, D);
    return { kind: 'f32', b: constant(graph, base, { type: 'float32', dims: [d, 2 * D], data }) };
  }
  if (w1.kind !== 'quant' || w3.kind !== 'quant') throw new Error('W1 and W3 must have one format');
  const blocks = (w: typeof w1) => ({
    packed: w.packed.constant!.data as Uint8Array,
    scales: w.scales.constant!.data as Float32Array,
    ...(w.zeroPoints && { zeroPoints: w.zeroPoints.constant!.data as Uint8Array }),
  });
  const q = concatQuantColumns([blocks(w1), blocks(w3)]);
  const N = 2 * w1.N;
  const { nBlocks, blobSize, zpBytesPerCol } = quantLayout(w1.K, w1);
  return {
    ...w1,
    N,
    packed: constant(graph, base, { type: 'uint8', dims: [N, nBlocks, blobSize], data: q.packed }),
    scales: constant(graph, `${base}_scales`, { type: 'float32', dims: [N, nBlocks], data: q.scales }),
    zeroPoints: q.zeroPoints && constant(graph, `${base}_zero_points`, { type: 'uint8', dims: [N, zpBytesPerCol], data: q.zeroPoints }),
  };
}
