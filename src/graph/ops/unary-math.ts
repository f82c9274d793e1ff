// The unary operators beyond the basic ones of elementwise.ts: inverse and hyperbolic trigonometry, Softplus,
// Softsign, IsNaN/IsInf, and the activations with attributes (Elu, Selu, LeakyRelu, HardSigmoid, ThresholdedRelu,
// Celu, HardSwish, Shrink). All run through op_unary (codes 18..38 of shaders/op_unary.wgsl); `f` is the same
// maths on the CPU (host evaluation and the tests' reference). Float inputs only, except Shrink (any number).
import { attr, type Node } from '../ir.js';
import { isFloat, type ElemType } from '../tensor.js';
import { UnsupportedOpError } from '../errors.js';
import { recordUnary, type UnarySpec } from '../../kernels/op_unary.js';
import { typeAt, typesOf } from './elementwise.js';
import { fromNumbers, toNumbers } from './hostnum.js';
import { registerOp } from './op.js';

/** alpha and beta of op_unary for a node (attribute defaults as ONNX defines them). */
type Params = (node: Node) => readonly [number, number];

export interface UnaryMath {
  readonly code: number;
  readonly params?: Params;
  /** Output bool instead of the input type (IsNaN, IsInf). */
  readonly predicate?: boolean;
  readonly f: (x: number, alpha: number, beta: number) => number;
}

const elu = (x: number, a: number) => (x > 0 ? x : a * (Math.exp(x) - 1));
const isInf = (x: number, pos: number, neg: number) => +((x === Infinity && pos !== 0) || (x === -Infinity && neg !== 0));

export const UNARY_MATH: Record<string, UnaryMath> = {
  Tan: { code: 18, f: Math.tan },
  Asin: { code: 19, f: Math.asin },
  Acos: { code: 20, f: Math.acos },
  Atan: { code: 21, f: Math.atan },
  Sinh: { code: 22, f: Math.sinh },
  Cosh: { code: 23, f: Math.cosh },
  Asinh: { code: 24, f: Math.asinh },
  Acosh: { code: 25, f: Math.acosh },
  Atanh: { code: 26, f: Math.atanh },
  Softplus: { code: 27, f: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))) },
  Softsign: { code: 28, f: (x) => x / (1 + Math.abs(x)) },
  IsNaN: { code: 29, predicate: true, f: (x) => +Number.isNaN(x) },
  Elu: { code: 30, params: (n) => [attr(n, 'alpha', 1), 0], f: elu },
  Selu: { code: 31, params: (n) => [attr(n, 'alpha', 1.67326319217681884765625), attr(n, 'gamma', 1.05070102214813232421875)], f: (x, a, g) => g * elu(x, a) },
  LeakyRelu: { code: 32, params: (n) => [attr(n, 'alpha', 0.01), 0], f: (x, a) => (x >= 0 ? x : a * x) },
  HardSigmoid: { code: 33, params: (n) => [attr(n, 'alpha', 0.2), attr(n, 'beta', 0.5)], f: (x, a, b) => Math.min(1, Math.max(0, a * x + b)) },
  ThresholdedRelu: { code: 34, params: (n) => [attr(n, 'alpha', 1), 0], f: (x, a) => (x > a ? x : 0) },
  Celu: { code: 35, params: (n) => [attr(n, 'alpha', 1), 0], f: (x, a) => Math.max(x, 0) + Math.min(0, a * (Math.exp(x / a) - 1)) },
  HardSwish: { code: 36, f: (x) => x * Math.min(1, Math.max(0, x / 6 + 0.5)) },
  Shrink: { code: 37, params: (n) => [attr(n, 'lambd', 0.5), attr(n, 'bias', 0)], f: (x, l, b) => (x < -l ? x + b : x > l ? x - b : 0) },
  IsInf: { code: 38, predicate: true, params: (n) => [attr(n, 'detect_positive', 1), attr(n, 'detect_negative', 1)], f: isInf },
};

function spec(node: Node, m: UnaryMath, inType: ElemType): UnarySpec {
  if (!isFloat(inType) && node.op !== 'Shrink') {
    throw new UnsupportedOpError(node, `(domain ai.onnx) input type ${inType} is not supported: ${node.op} takes float tensors`);
  }
  const [alpha, beta] = m.params?.(node) ?? [0, 0];
  return { op: m.code, inType, outType: m.predicate ? 'bool' : inType, alpha, beta };
}

for (const [name, m] of Object.entries(UNARY_MATH)) {
  registerOp(name, {
    infer: (node, inputs) => [{ type: spec(node, m, typeAt(node, typesOf(inputs), 0)).outType, dims: inputs[0]!.dims }],
    host: (node, [x]) => {
      const s = spec(node, m, x!.type);
      return [fromNumbers(s.outType, x!.dims, toNumbers(x!).map((v) => m.f(v, s.alpha!, s.beta!)))];
    },
    record: (env, node, [x], [y]) => recordUnary(env.ctx, env.step, spec(node, m, x!.type), x!, y!),
  });
}
