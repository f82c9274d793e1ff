// What the small fusion passes (rmsnorm, activation, matmul-bias) add to match.ts: single-reader checks, scalar
// comparisons, both operand orders, and replacing a matched group of nodes by one fused node.
import type { AttrValue, Graph, Node, Value } from '../ir.js';
import { onlyUsedBy, scalar } from './match.js';

/** `node` is v's only reader and v is no graph output: removing v with the group loses nothing. */
export function onlyUse(graph: Graph, v: Value, node: Node): boolean {
  return v.consumers.length > 0 && onlyUsedBy(v, new Set([node]), graph.outputs);
}

/** v's single reader, when it has exactly one and is no graph output. */
export function soleConsumer(graph: Graph, v: Value): Node | undefined {
  const c = v.consumers[0];
  return c && onlyUse(graph, v, c) ? c : undefined;
}

/** Whether v is a one-element constant within relative `rtol` of `want`. */
export function isScalar(v: Value | undefined, want: number, rtol = 0): boolean {
  const s = scalar(v);
  return s !== undefined && Math.abs(s - want) <= rtol * Math.abs(want);
}

/** Both orders of a commutative two-input node's inputs. */
export function orders(node: Node): [Value, Value][] {
  const [a, b] = node.inputs;
  return node.inputs.length === 2 && a && b ? [[a, b], [b, a]] : [];
}

/**
 * Replaces `group` (whose only value read outside it is `output`) by one node computing `output`, placed where
 * the group's first node was: its inputs were available there, and `output`'s readers all come later.
 */
export function fuse(graph: Graph, group: readonly Node[], node: { name: string; op: string; inputs: Value[]; attrs?: [string, AttrValue][] }, output: Value): Node {
  const at = Math.min(...group.map((n) => graph.nodes.indexOf(n)));
  for (const n of group) graph.removeNode(n);
  for (const n of group) for (const v of n.outputs) if (v !== output) graph.values.delete(v.name);
  return graph.addNode({ name: node.name, op: node.op, domain: 'memvp', inputs: node.inputs, outputs: [output], attrs: new Map(node.attrs ?? []) }, at);
}
