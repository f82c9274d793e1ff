// Softmax before opset 13 normalises the input coerced to 2D at `axis` (default 1), not one axis. In such
// models it becomes Flatten(axis) -> Softmax(axis -1) -> Reshape(Shape(x)): views and host ops around the row
// softmax, so the Softmax operator itself only implements opset 13.
import { attr, type Graph } from '../ir.js';

export function lowerLegacySoftmax(graph: Graph): number {
  if ((graph.opsets.get('') ?? 13) >= 13) return 0;
  const legacy = graph.nodes.filter((n) => n.op === 'Softmax' && n.domain === '');
  for (const node of legacy) {
    const x = node.inputs[0]!;
    const y = node.outputs[0]!;
    const at = graph.nodes.indexOf(node);
    graph.removeNode(node);
    const rows = graph.value(graph.freshName(`${node.name}_2d`));
    const normalized = graph.value(graph.freshName(`${node.name}_rows`));
    const shape = graph.value(graph.freshName(`${node.name}_shape`));
    graph.addNode({ name: `${node.name}/Flatten`, op: 'Flatten', domain: '', inputs: [x], outputs: [rows], attrs: new Map([['axis', attr(node, 'axis', 1)]]) }, at);
    graph.addNode({ name: `${node.name}/Softmax`, op: 'Softmax', domain: '', inputs: [rows], outputs: [normalized], attrs: new Map([['axis', -1]]) }, at + 1);
    graph.addNode({ name: `${node.name}/Shape`, op: 'Shape', domain: '', inputs: [x], outputs: [shape] }, at + 2);
    graph.addNode({ name: `${node.name}/Reshape`, op: 'Reshape', domain: '', inputs: [normalized, shape], outputs: [y] }, at + 3);
  }
  return legacy.length;
}
