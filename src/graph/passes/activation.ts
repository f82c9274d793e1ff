// Activation fusions -> memvp.Activation(x):
//   silu: Mul(x, Sigmoid(x));
//   gelu_erf: x * 0.5 * (1 + Erf(x / sqrt2)) in the orders PyTorch exports: Erf of Div(x, 1.4142...) or of
//   Mul(x, 0.7071...), then Add 1, then Mul by x and by 0.5 (0.5 applied last, to the erf term, or to x first).
// Every intermediate must have no other reader. The matmul-bias pass then folds an Activation into the epilogue
// of the MatMul before it.
import type { Graph, Node, Value } from '../ir.js';
import { other, producer } from './match.js';
import { fuse, isScalar, onlyUse, orders, soleConsumer } from './pattern.js';

/** Relative tolerance of the exported constants (sqrt2 rounded to f32, or to 5 digits). */
const RTOL = 1e-5;

/** Erf's input as x / sqrt2: returns the scaling node and x. */
function scaledBySqrt2(graph: Graph, erf: Node): { node: Node; x: Value } | undefined {
  const v = erf.inputs[0];
  if (!v || !onlyUse(graph, v, erf)) return undefined;
  const div = producer(v, 'Div');
  if (div && div.inputs[0] && isScalar(div.inputs[1], Math.SQRT2, RTOL)) return { node: div, x: div.inputs[0] };
  const mul = producer(v, 'Mul');
  for (const [x, c] of mul ? orders(mul) : []) if (isScalar(c, Math.SQRT1_2, RTOL)) return { node: mul!, x };
  return undefined;
}

function matchGelu(graph: Graph, erf: Node): { x: Value; group: Node[]; output: Value } | undefined {
  const s = scaledBySqrt2(graph, erf);
  if (!s) return undefined;
  const { x } = s;
  const add = soleConsumer(graph, erf.outputs[0]!);
  if (add?.op !== 'Add' || add.domain !== '' || !isScalar(other(add, erf.outputs[0]!), 1)) return undefined;
  const m1 = soleConsumer(graph, add.outputs[0]!);
  const factor = m1?.op === 'Mul' && m1.domain === '' ? other(m1, add.outputs[0]!) : undefined;
  if (!m1 || !factor) return undefined;
  const core = [s.node, erf, add, m1];
  if (factor === x || isScalar(factor, 0.5)) {
    // (x * (1 + erf)) * 0.5, or ((1 + erf) * 0.5) * x.
    const m2 = soleConsumer(graph, m1.outputs[0]!);
    const last = m2?.op === 'Mul' && m2.domain === '' ? other(m2, m1.outputs[0]!) : undefined;
    if (!m2 || !last || !(factor === x ? isScalar(last, 0.5) : last === x)) return undefined;
    return { x, group: [...core, m2], output: m2.outputs[0]! };
  }
  // (x * 0.5) * (1 + erf).
  const half = producer(factor, 'Mul');
  if (!half || !onlyUse(graph, factor, m1) || !orders(half).some(([a, c]) => a === x && isScalar(c, 0.5))) return undefined;
  return { x, group: [half, ...core], output: m1.outputs[0]! };
}

function matchSilu(graph: Graph, sigmoid: Node): { x: Value; group: Node[]; output: Value } | undefined {
  const x = sigmoid.inputs[0];
  const mul = soleConsumer(graph, sigmoid.outputs[0]!);
  if (!x || mul?.op !== 'Mul' || mul.domain !== '' || other(mul, sigmoid.outputs[0]!) !== x) return undefined;
  return { x, group: [sigmoid, mul], output: mul.outputs[0]! };
}

export function fuseActivations(graph: Graph): number {
  let n = 0;
  for (const node of [...graph.nodes]) {
    if (node.domain !== '' || !graph.nodes.includes(node)) continue;
    const act = node.op === 'Erf' ? 'gelu_erf' : node.op === 'Sigmoid' ? 'silu' : undefined;
    const m = act === 'gelu_erf' ? matchGelu(graph, node) : act === 'silu' ? matchSilu(graph, node) : undefined;
    if (!m || (m.x.type && m.x.type !== 'float32')) continue;
    fuse(graph, m.group, { name: `${m.output.name}/Activation`, op: 'Activation', inputs: [m.x], attrs: [['activation', act!]] }, m.output);
    n++;
  }
  return n;
}
