// MatMul epilogue fusion: MatMul(x, W) with W a constant f32 [K, N], followed by Add(., b) with b a constant
// f32 [N] and/or by a memvp.Activation (from the activation pass), each the only reader of what precedes it
// -> memvp.MatMul(x, W, b?) with the bias and activation applied in the matmul kernel's epilogue.
import type { Graph, Node, Value } from '../ir.js';
import { other } from './match.js';
import { fuse, soleConsumer } from './pattern.js';

export function fuseMatmulBias(graph: Graph): number {
  let n = 0;
  for (const mm of [...graph.nodes]) {
    if (mm.op !== 'MatMul' || mm.domain !== '') continue;
    const [x, w] = mm.inputs;
    const wc = w?.constant;
    if (!x || !wc || wc.type !== 'float32' || wc.dims.length !== 2 || (x.type && x.type !== 'float32')) continue;
    const group: Node[] = [mm];
    let out = mm.outputs[0]!;
    let bias: Value | undefined;
    const add = soleConsumer(graph, out);
    const b = add?.op === 'Add' && add.domain === '' ? other(add, out) : undefined;
    if (b?.constant && b.constant.type === 'float32' && b.constant.dims.length === 1 && b.constant.dims[0] === wc.dims[1]) {
      bias = b;
      group.push(add!);
      out = add!.outputs[0]!;
    }
    const act = soleConsumer(graph, out);
    const activation = act?.op === 'Activation' && act.domain === 'memvp' ? act.attrs.get('activation') : undefined;
    if (activation !== undefined) {
      group.push(act!);
      out = act!.outputs[0]!;
    }
    if (group.length === 1) continue;
    const attrs: [string, string][] = activation !== undefined ? [['activation', activation as string]] : [];
    fuse(graph, group, { name: `${mm.name}/MatMul`, op: 'MatMul', inputs: bias ? [x, w, bias] : [x, w], attrs }, out);
    n++;
  }
  return n;
}
