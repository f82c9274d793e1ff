// RMSNorm fusion: the graph PyTorch exports for x * rsqrt(mean(x^2, -1) + eps) * w,
//   Mul(Mul(x, Div(1, Sqrt(Add(ReduceMean(Pow(x, 2), axes=[-1], keepdims=1), eps)))), w)
// (Reciprocal in place of Div(1, .), any operand order of Mul and Add) -> memvp.RMSNorm(x, w, epsilon).
// Every intermediate must have no other reader, eps and w must be constants, w one value per last-dim element.
import { attr, type Graph, type Node, type Value } from '../ir.js';
import { toNumbers } from '../ops/hostnum.js';
import { producer, scalar } from './match.js';
import { fuse, isScalar, onlyUse, orders } from './pattern.js';

/** inv = 1 / Sqrt(...) via Div(1, s) or Reciprocal(s): returns the node and s. */
function reciprocalOf(graph: Graph, inv: Value): { node: Node; s: Value } | undefined {
  const div = producer(inv, 'Div');
  if (div && isScalar(div.inputs[0], 1) && div.inputs[1] && onlyUse(graph, div.inputs[1], div)) return { node: div, s: div.inputs[1] };
  const rec = producer(inv, 'Reciprocal');
  if (rec && rec.inputs[0] && onlyUse(graph, rec.inputs[0], rec)) return { node: rec, s: rec.inputs[0] };
  return undefined;
}

/** ReduceMean over the last axis only, keeping it (axes as attribute or, from opset 18, constant input). */
function meanOverLastAxis(node: Node, x: Value): boolean {
  const axesInput = node.inputs[1]?.constant;
  const axes = axesInput ? Array.from(toNumbers(axesInput)) : attr<number[]>(node, 'axes');
  const rank = x.shape?.length;
  return attr<number>(node, 'keepdims', 1) === 1 && axes?.length === 1 && (axes[0] === -1 || (rank !== undefined && axes[0] === rank - 1));
}

/** The group below `out = Mul(a, w)`, if it is an RMSNorm. */
function match(graph: Graph, outer: Node): { x: Value; w: Value; eps: number; group: Node[] } | undefined {
  for (const [a, w] of orders(outer)) {
    const wc = w.constant;
    if (!wc || wc.type !== 'float32' || wc.dims.length !== 1) continue;
    const inner = producer(a, 'Mul');
    if (!inner || !onlyUse(graph, a, outer)) continue;
    for (const [x, inv] of orders(inner)) {
      if (!onlyUse(graph, inv, inner)) continue;
      const r = reciprocalOf(graph, inv);
      const sqrt = producer(r?.s, 'Sqrt');
      const sum = sqrt?.inputs[0];
      const add = producer(sum, 'Add');
      if (!r || !sqrt || !sum || !add || !onlyUse(graph, sum, sqrt)) continue;
      for (const [mean, epsValue] of orders(add)) {
        const eps = scalar(epsValue);
        const reduce = producer(mean, 'ReduceMean');
        if (eps === undefined || !reduce || !onlyUse(graph, mean, add)) continue;
        const sq = reduce.inputs[0];
        const pow = producer(sq, 'Pow');
        if (!sq || !pow || !onlyUse(graph, sq, reduce) || pow.inputs[0] !== x || !isScalar(pow.inputs[1], 2) || !meanOverLastAxis(reduce, x)) continue;
        // w scales the last dim; a one-element w broadcast over a longer row is not what the kernel does.
        const last = x.shape?.at(-1);
        if (typeof last === 'number' ? last !== wc.dims[0] : wc.dims[0]! < 2) continue;
        if (x.type && x.type !== 'float32') continue;
        return { x, w, eps, group: [pow, reduce, add, sqrt, r.node, inner, outer] };
      }
    }
  }
  return undefined;
}

export function fuseRmsNorm(graph: Graph): number {
  let n = 0;
  for (const node of [...graph.nodes]) {
    if (node.op !== 'Mul' || node.domain !== '' || !graph.nodes.includes(node)) continue;
    const m = match(graph, node);
    if (!m) continue;
    fuse(graph, m.group, { name: `${node.name}/RMSNorm`, op: 'RMSNorm', inputs: [m.x, m.w], attrs: [['epsilon', m.eps]] }, node.outputs[0]!);
    n++;
  }
  return n;
}
