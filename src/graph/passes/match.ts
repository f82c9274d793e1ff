// Small helpers for the fusion passes: walk producers by op type, read scalar constants, check that an
// intermediate value is used only inside the pattern being replaced.
import { numel } from '../../gpu/index.js';
import type { Node, Value } from '../ir.js';

/** The node producing `v` if it is one of `ops` (default ONNX domain). */
export function producer(v: Value | undefined, ...ops: string[]): Node | undefined {
  const p = v?.producer;
  return p && p.domain === '' && ops.includes(p.op) ? p : undefined;
}

/** A scalar (or one-element) constant's value. */
export function scalar(v: Value | undefined): number | undefined {
  const c = v?.constant;
  if (!c || numel(c.dims) !== 1) return undefined;
  return Number(c.data[0]);
}

/** The operand of a commutative binary node that is not `known`, if `known` is one of its two inputs. */
export function other(node: Node, known: Value): Value | undefined {
  const [a, b] = node.inputs;
  if (a === known) return b;
  if (b === known) return a;
  return undefined;
}

/** True when every consumer of `v` is in `inside` and `v` is not a graph output. */
export function onlyUsedBy(v: Value, inside: ReadonlySet<Node>, graphOutputs: readonly Value[]): boolean {
  return !graphOutputs.includes(v) && v.consumers.every((c) => inside.has(c));
}

/** If `v` = SiLU(x) exported as Mul(x, Sigmoid(x)) (either order), returns [x, the Mul, the Sigmoid]. */
export function matchSilu(v: Value | undefined): [Value, Node, Node] | undefined {
  const mul = producer(v, 'Mul');
  if (!mul) return undefined;
  for (const [x, s] of [mul.inputs, [...mul.inputs].reverse()]) {
    const sig = producer(s, 'Sigmoid');
    if (x && sig && sig.inputs[0] === x) return [x, mul, sig];
  }
  return undefined;
}
