// Removes nodes whose outputs reach no graph output (left behind by folding and fusion), and unused constants.
import type { Graph, Node } from '../ir.js';

export function eliminateDead(graph: Graph): number {
  const live = new Set<Node>();
  const stack = graph.outputs.map((v) => v.producer).filter((n): n is Node => !!n);
  while (stack.length) {
    const n = stack.pop()!;
    if (live.has(n)) continue;
    live.add(n);
    for (const v of n.inputs) if (v?.producer) stack.push(v.producer);
  }
  const dead = graph.nodes.filter((n) => !live.has(n));
  for (const n of dead) graph.removeNode(n);
  for (const [name, v] of graph.values) {
    if (v.constant && v.consumers.length === 0 && !graph.outputs.includes(v)) graph.values.delete(name);
  }
  return dead.length;
}
