// Fuses the LLaMA FFN block as PyTorch exports it, with or without MemVP's memory branch, into one
// memvp.MemVpFfn node (the fused kernel pair of src/kernels/memvp-ffn.ts):
//   out = h + MatMul(Mul(SiLU(MatMul(u, W1)), MatMul(u, W3)), W2)                      (plain SwiGLU FFN)
//       [ + Mul(MatMul(SiLU(MatMul(u, Transpose(K))), V), s) ]                          (memory branch)
// SiLU is Mul(x, Sigmoid(x)). W1, W3, W2 must be constants; K and V are whatever the graph feeds (inputs).
import type { Graph, Node, Value } from '../ir.js';
import { matchSilu, onlyUsedBy, other, producer, scalar } from './match.js';

interface SwiGlu {
  u: Value;
  w1: Value;
  w3: Value;
  w2: Value;
  out: Value;
  nodes: Node[];
}

/** Matches MatMul(Mul(SiLU(MatMul(u, W1)), MatMul(u, W3)), W2) ending at `v`. */
function matchSwiGlu(v: Value | undefined): SwiGlu | undefined {
  const down = producer(v, 'MatMul');
  const gate = producer(down?.inputs[0], 'Mul');
  if (!down || !gate || !down.inputs[1]?.constant) return undefined;
  for (const [s, g] of [gate.inputs, [...gate.inputs].reverse()]) {
    const silu = matchSilu(s);
    const mm1 = producer(silu?.[0], 'MatMul');
    const mm3 = producer(g, 'MatMul');
    if (!silu || !mm1 || !mm3 || mm1.inputs[0] !== mm3.inputs[0]) continue;
    if (!mm1.inputs[1]?.constant || !mm3.inputs[1]?.constant) continue;
    return { u: mm1.inputs[0]!, w1: mm1.inputs[1]!, w3: mm3.inputs[1]!, w2: down.inputs[1]!, out: v!, nodes: [down, gate, silu[1], silu[2], mm1, mm3] };
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

    const attrs = new Map<string, number | string>([['form', 'llama']]);
    if (memory) attrs.set('s', memory.s).set('layer', fused);
    graph.addNode(
      {
        name: `${add.name}/memvp_ffn`,
        op: 'MemVpFfn',
        domain: 'memvp',
        inputs: [ffn.u, h, ffn.w1, ffn.w3, ffn.w2, memory?.k, memory?.v],
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
