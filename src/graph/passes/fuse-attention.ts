// Fuses self-attention with a KV cache, in the form PyTorch exports a LLaMA block, into one memvp.Attention node:
//   q, k, v = Transpose(Reshape(MatMul(x, Wq|Wk|Wv)), [0,2,1,3])
//   q, k    = q * cos + rotate_half(q) * sin          rotate_half(t) = Concat(Neg(Slice(t, hd/2:)), Slice(t, :hd/2))
//   present_k, present_v = Concat(past_k, k), Concat(past_v, v)   (axis 2)
//   scores  = Where(mask, -big, MatMul(q [grouped], Transpose(present_k)) * scale)
//   out     = Reshape(Transpose(MatMul(Softmax(scores), present_v), [0,2,1,3]))
// The mask must be the causal one: the pass evaluates its subgraph on the CPU for two sets of lengths and
// fuses only if it masks exactly the future positions.
import { ShapeError } from '../errors.js';
import { planNode } from '../executor.js';
import type { Graph, Node, Value } from '../ir.js';
import type { TensorMeta } from '../ops/op.js';
import type { HostTensor } from '../tensor.js';
import { producer, scalar } from './match.js';

const orders = <T>(pair: readonly T[]): T[][] => [[pair[0]!, pair[1]!], [pair[1]!, pair[0]!]];

/** t * cos + rotate_half(t) * sin, any operand order. */
function matchRope(v: Value | undefined): { t: Value; cos: Value; sin: Value; nodes: Node[] } | undefined {
  const add = producer(v, 'Add');
  if (!add) return undefined;
  for (const [a, b] of orders(add.inputs)) {
    const m1 = producer(a, 'Mul');
    const m2 = producer(b, 'Mul');
    if (!m1 || !m2) continue;
    for (const [t, cos] of orders(m1.inputs)) {
      for (const [rot, sin] of orders(m2.inputs)) {
        const cat = producer(rot, 'Concat');
        const neg = producer(cat?.inputs[0], 'Neg');
        const hi = producer(neg?.inputs[0], 'Slice');
        const lo = producer(cat?.inputs[1], 'Slice');
        if (cat?.inputs.length === 2 && neg && hi && lo && hi.inputs[0] === t && lo.inputs[0] === t) {
          return { t: t!, cos: cos!, sin: sin!, nodes: [add, m1, m2, cat, neg, hi, lo] };
        }
      }
    }
  }
  return undefined;
}

const isPerm = (n: Node, perm: number[]) => JSON.stringify(n.attrs.get('perm')) === JSON.stringify(perm);

/** Transpose(Reshape(proj), [0,2,1,3]): the per-head view of a projection [B, L, heads*hd]. */
function matchHeads(v: Value | undefined): { proj: Value; nodes: Node[] } | undefined {
  const tr = producer(v, 'Transpose');
  const rs = producer(tr?.inputs[0], 'Reshape');
  if (!tr || !rs || !isPerm(tr, [0, 2, 1, 3])) return undefined;
  return { proj: rs.inputs[0]!, nodes: [tr, rs] };
}

/** Concat(past, x) on the sequence axis, with past a graph input. */
function matchPresent(v: Value | undefined, graph: Graph): { past: Value; x: Value; node: Node } | undefined {
  const cat = producer(v, 'Concat');
  const axis = cat?.attrs.get('axis');
  if (!cat || cat.inputs.length !== 2 || (axis !== 2 && axis !== -2) || !graph.inputs.includes(cat.inputs[0]!)) return undefined;
  return { past: cat.inputs[0]!, x: cat.inputs[1]!, node: cat };
}

/** Optional Unsqueeze (grouped-query attention adds a group axis) in front of `v`. */
function skipUnsqueeze(v: Value | undefined, nodes: Node[]): Value | undefined {
  const u = producer(v, 'Unsqueeze');
  if (!u) return v;
  nodes.push(u);
  return u.inputs[0];
}

/**
 * Shapes and CPU values of every value for one binding of the graph's symbolic dims (inputs get metas only:
 * only shape arithmetic, which reads no tensor data, produces host values).
 */
function probe(graph: Graph, dimValue: (symbol: string, index: number) => number): { metas: Map<Value, TensorMeta>; host: Map<Value, HostTensor> } {
  const metas = new Map<Value, TensorMeta>();
  const host = new Map<Value, HostTensor>();
  const symbols = new Map<string, number>();
  for (const v of graph.inputs) {
    if (!v.type || !v.shape) throw new ShapeError(undefined, `input "${v.name}" has no static type and rank`);
    const dims = v.shape.map((d) => (typeof d === 'number' ? d : (symbols.get(d) ?? (symbols.set(d, dimValue(d, symbols.size)), symbols.get(d)!))));
    metas.set(v, { type: v.type, dims });
  }
  for (const v of graph.values.values()) {
    if (v.constant) {
      metas.set(v, { type: v.constant.type, dims: v.constant.dims });
      host.set(v, v.constant);
    }
  }
  for (const node of graph.nodes) planNode(node, metas, host, new Set());
  return { metas, host };
}

/** True when `mask` (bool, [..., L, T]) masks exactly the keys after each query's position. */
function isCausal(mask: HostTensor | undefined, L: number, P: number): boolean {
  if (!mask) return false;
  const T = P + L;
  const dims = mask.dims;
  if (dims.at(-1) !== T || (dims.at(-2) ?? 1) !== L || mask.data.length !== L * T) return false;
  for (let i = 0; i < L; i++) for (let j = 0; j < T; j++) if (Boolean(Number(mask.data[i * T + j])) !== j > P + i) return false;
  return true;
}

export function fuseAttention(graph: Graph): number {
  const softmaxes = graph.nodes.filter((n) => n.domain === '' && n.op === 'Softmax');
  if (!softmaxes.length) return 0;
  // Two bindings of the symbolic dims, so a mask that only happens to look causal for one is not taken.
  const probes = [probe(graph, (_, i) => 2 + i), probe(graph, (_, i) => 5 - i)];
  let fused = 0;
  for (const sm of softmaxes) {
    const axis = sm.attrs.get('axis') ?? -1;
    const nodes: Node[] = [sm];
    let scores = sm.inputs[0];
    const where = producer(scores, 'Where');
    let mask: Value | undefined;
    if (where) {
      const big = scalar(where.inputs[1]);
      if (big === undefined || big > -1e4) continue;
      mask = where.inputs[0];
      scores = where.inputs[2];
      nodes.push(where);
    }
    let scale = 1;
    const scaled = producer(scores, 'Mul', 'Div');
    if (scaled) {
      const [a, b] = scaled.inputs;
      const c = scalar(b) ?? (scaled.op === 'Mul' ? scalar(a) : undefined);
      if (c === undefined) continue;
      scale = scaled.op === 'Mul' ? c : 1 / c;
      scores = scalar(b) !== undefined ? a : b;
      nodes.push(scaled);
    }
    const qk = producer(scores, 'MatMul');
    if (!qk) continue;
    nodes.push(qk);
    let qRot = qk.inputs[0];
    const qGroup = producer(qRot, 'Reshape');
    if (qGroup && !matchRope(qRot)) {
      nodes.push(qGroup);
      qRot = qGroup.inputs[0];
    }
    const kT = producer(qk.inputs[1], 'Transpose');
    if (!kT) continue;
    nodes.push(kT);
    const presentK = matchPresent(skipUnsqueeze(kT.inputs[0], nodes), graph);
    const qr = matchRope(qRot);
    const kr = matchRope(presentK?.x);
    const qh = matchHeads(qr?.t);
    const kh = matchHeads(kr?.t);
    if (!presentK || !qr || !kr || !qh || !kh || qr.cos !== kr.cos || qr.sin !== kr.sin) continue;

    const pv = sm.outputs[0]!.consumers.length === 1 ? sm.outputs[0]!.consumers[0]! : undefined;
    if (!pv || pv.op !== 'MatMul' || pv.inputs[0] !== sm.outputs[0]) continue;
    const presentV = matchPresent(skipUnsqueeze(pv.inputs[1], nodes), graph);
    const vh = matchHeads(presentV?.x);
    if (!presentV || !vh) continue;
    // Output chain: [Reshape (ungroup)] -> Transpose [0,2,1,3] -> Reshape to [B, L, heads*hd].
    const chain: Node[] = [pv];
    let tail = pv.outputs[0]!;
    const next = (op: string) => (tail.consumers.length === 1 && tail.consumers[0]!.op === op ? tail.consumers[0] : undefined);
    const ungroup = next('Reshape');
    if (ungroup) chain.push(ungroup), (tail = ungroup.outputs[0]!);
    const tr = next('Transpose');
    if (!tr || !isPerm(tr, [0, 2, 1, 3])) continue;
    chain.push(tr);
    tail = tr.outputs[0]!;
    const merge = next('Reshape');
    if (!merge) continue;
    chain.push(merge);

    const { metas } = probes[0]!;
    const dims = (v: Value) => metas.get(v)?.dims ?? [];
    const hd = dims(qr.cos).at(-1)!;
    const heads = dims(qh.proj).at(-1)! / hd;
    const kvHeads = dims(kh.proj).at(-1)! / hd;
    const lastAxis = axis === -1 || axis === dims(sm.inputs[0]!).length - 1;
    if (!lastAxis || !Number.isInteger(heads) || !Number.isInteger(kvHeads) || heads % kvHeads !== 0) continue;
    const causal = mask !== undefined;
    if (causal && !probes.every((p) => isCausal(p.host.get(mask!), p.metas.get(qh.proj)!.dims[1]!, p.metas.get(presentK.past)!.dims[2]!))) continue;

    const region = new Set([...nodes, ...chain, ...qr.nodes, ...kr.nodes, ...qh.nodes, ...kh.nodes, ...vh.nodes, presentK.node, presentV.node]);
    const outs = [merge.outputs[0]!, presentK.node.outputs[0]!, presentV.node.outputs[0]!];
    const inputs = [qh.proj, kh.proj, vh.proj, qr.cos, qr.sin, presentK.past, presentV.past];
    if (usesIntermediates(graph, region, new Set(outs), inputs)) continue;

    graph.addNode({
      name: `${sm.name}/attention`,
      op: 'Attention',
      domain: 'memvp',
      inputs,
      outputs: outs,
      attrs: new Map<string, number>([
        ['num_heads', heads],
        ['num_kv_heads', kvHeads],
        ['scale', scale],
        ['causal', causal ? 1 : 0],
      ]),
    });
    for (const n of region) graph.removeNode(n);
    fused++;
  }
  if (fused) graph.sortTopologically();
  return fused;
}

/** Whether something outside `region` that stays live reads a value the fused node would no longer produce. */
function usesIntermediates(graph: Graph, region: ReadonlySet<Node>, outs: ReadonlySet<Value>, fusedInputs: readonly Value[]): boolean {
  const seen = new Set<Value>();
  const stack = [...graph.outputs];
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    const p = v.producer;
    if (!p) continue;
    if (!region.has(p)) stack.push(...p.inputs.filter((x): x is Value => !!x));
    else if (outs.has(v)) stack.push(...fusedInputs);
    else return true;
  }
  return false;
}
