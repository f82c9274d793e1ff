// Constant folding at load: every node whose inputs are all constants and that can run on the CPU is evaluated
// once and replaced by its result (shape arithmetic on static dims, weight transposes, Constant nodes).
import { implFor } from '../ops/op.js';
import { GraphError, ShapeError } from '../errors.js';
import { FOLD_LIMIT, fits } from '../tensor.js';
import type { Graph } from '../ir.js';

export function foldConstants(graph: Graph): number {
  let folded = 0;
  for (const node of [...graph.nodes]) {
    const impl = implFor(node);
    if (!impl.host || !node.inputs.every((v) => !v || v.constant)) continue;
    const inputs = node.inputs.map((v) => v?.constant);
    const metas = inputs.map((c) => (c ? { type: c.type, dims: c.dims } : undefined));
    let outs;
    try {
      const outMetas = impl.infer(node, metas, inputs);
      // A Constant's value and a view's data already exist; any other result is new host memory, and one above
      // the folding limit is left in the graph (the GPU computes it per run) rather than made here.
      if (node.inputs.length > 0 && !impl.aliases && outMetas.some((m) => !fits(m.type, m.dims, FOLD_LIMIT))) continue;
      outs = impl.host(node, inputs, metas);
    } catch (e) {
      if (e instanceof GraphError) throw e;
      throw new ShapeError(node, `constant folding failed: ${(e as Error).message}`);
    }
    node.outputs.forEach((v, i) => {
      v.constant = outs[i];
      v.type = outs[i]!.type;
      v.shape = [...outs[i]!.dims];
    });
    graph.removeNode(node);
    folded++;
  }
  return folded;
}
