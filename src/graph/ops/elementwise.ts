// Generic elementwise ONNX operators: unary ops and Cast, binary ops with numpy broadcasting (arithmetic,
// comparison, logic, variadic Max/Min), and Where, through the op_unary, op_binary and op_where kernels. The tables
// here give each op's kernel code and its maths on numbers, which `host` evaluates (the kernels' reference).
import { numel } from '../../gpu/index.js';
import { erf } from '../../kernels/activation.js';
import { checkTensor } from '../../kernels/common.js';
import { broadcastAll } from '../../kernels/op_bcast.js';
import { binaryReference, recordBinary, type BinarySpec } from '../../kernels/op_binary.js';
import { recordUnary, type UnarySpec } from '../../kernels/op_unary.js';
import { recordWhere, whereReference } from '../../kernels/op_where.js';
import { attr, type Node } from '../ir.js';
import { ONNX_ELEM_TYPES, type ElemType, type HostTensor } from '../tensor.js';
import { fromNumbers, toNumbers } from './hostnum.js';
import { registerOp, type OpImpl } from './op.js';

/** Input element types as every OpImpl method sees them (metas, host or device tensors, or the node's values). */
export type Types = readonly (ElemType | undefined)[];

export function typesOf(tensors: readonly ({ readonly type?: ElemType } | undefined)[]): Types {
  return tensors.map((t) => t?.type);
}

/** Input i's type, which the op needs. */
export function typeAt(node: Node, types: Types, i: number): ElemType {
  const t = types[i];
  if (!t) throw new Error(`${node.op} ${node.name}: the type of input ${i} is unknown`);
  return t;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// ---------------------------------------------------------------- unary

const UNARY: Record<string, { code: number; f: (x: number) => number }> = {
  Abs: { code: 1, f: Math.abs },
  Neg: { code: 2, f: (x) => -x },
  Exp: { code: 3, f: Math.exp },
  Sqrt: { code: 4, f: Math.sqrt },
  Reciprocal: { code: 5, f: (x) => 1 / x },
  Sin: { code: 6, f: Math.sin },
  Cos: { code: 7, f: Math.cos },
  Tanh: { code: 8, f: Math.tanh },
  Sigmoid: { code: 9, f: (x) => 1 / (1 + Math.exp(-x)) },
  Relu: { code: 10, f: (x) => Math.max(x, 0) },
  Erf: { code: 11, f: erf },
  Not: { code: 12, f: (x) => (x === 0 ? 1 : 0) },
  Log: { code: 13, f: Math.log },
  Floor: { code: 14, f: Math.floor },
  Ceil: { code: 15, f: Math.ceil },
  Round: { code: 16, f: roundHalfEven },
  Sign: { code: 17, f: Math.sign },
};

function unaryOp(spec: (node: Node, types: Types) => UnarySpec, f: (x: number) => number): OpImpl {
  return {
    infer: (node, inputs) => [{ type: spec(node, typesOf(inputs)).outType, dims: inputs[0]!.dims }],
    host: (node, inputs) => [fromNumbers(spec(node, typesOf(inputs)).outType, inputs[0]!.dims, toNumbers(inputs[0]!).map(f))],
    record: (env, node, inputs, outputs) => recordUnary(env.ctx, env.step, spec(node, typesOf(inputs)), inputs[0]!, outputs[0]!),
  };
}

for (const [name, { code, f }] of Object.entries(UNARY)) {
  registerOp(name, unaryOp((node, types) => ({ op: code, inType: typeAt(node, types, 0), outType: typeAt(node, types, 0) }), f));
}

function castTarget(node: Node): ElemType {
  const to = ONNX_ELEM_TYPES[attr(node, 'to', 0)];
  if (!to) throw new Error(`Cast ${node.name}: unsupported target type ${attr(node, 'to', 0)}`);
  return to;
}

registerOp('Cast', unaryOp((node, types) => ({ op: 0, inType: typeAt(node, types, 0), outType: castTarget(node) }), (x) => x));

// ---------------------------------------------------------------- binary

/** Codes of op_binary.wgsl; codes >= 20 compare and output bool. Host maths on numbers (integers truncate on store). */
const BINARY: Record<string, { code: number; f: (a: number, b: number) => number }> = {
  Add: { code: 0, f: (a, b) => a + b },
  Sub: { code: 1, f: (a, b) => a - b },
  Mul: { code: 2, f: (a, b) => a * b },
  Div: { code: 3, f: (a, b) => a / b },
  Pow: { code: 4, f: Math.pow },
  Max: { code: 5, f: Math.max },
  Min: { code: 6, f: Math.min },
  And: { code: 10, f: (a, b) => +(a !== 0 && b !== 0) },
  Or: { code: 11, f: (a, b) => +(a !== 0 || b !== 0) },
  Xor: { code: 12, f: (a, b) => +((a !== 0) !== (b !== 0)) },
  Equal: { code: 20, f: (a, b) => +(a === b) },
  Greater: { code: 21, f: (a, b) => +(a > b) },
  GreaterOrEqual: { code: 22, f: (a, b) => +(a >= b) },
  Less: { code: 23, f: (a, b) => +(a < b) },
  LessOrEqual: { code: 24, f: (a, b) => +(a <= b) },
};
const SHIFT = { LEFT: { code: 13, f: (a: number, b: number) => a * 2 ** b }, RIGHT: { code: 14, f: (a: number, b: number) => Math.floor(a / 2 ** b) } };
const MOD = { python: { code: 7, f: (a: number, b: number) => a - b * Math.floor(a / b) }, c: { code: 8, f: (a: number, b: number) => a % b } };

/** Host evaluation of an n-ary broadcasting op folded left to right. */
function hostFold(type: ElemType, inputs: readonly HostTensor[], f: (a: number, b: number) => number): HostTensor {
  const r = binaryReference(inputs.map((t) => ({ values: toNumbers(t), dims: t.dims })), f);
  return fromNumbers(type, r.dims, r.values);
}

function binaryOp(pick: (node: Node) => { code: number; f: (a: number, b: number) => number }): OpImpl {
  const spec = (node: Node, types: Types): BinarySpec => {
    const op = pick(node).code;
    const aType = typeAt(node, types, 0);
    return { op, aType, bType: typeAt(node, types, 1), outType: op >= 20 ? 'bool' : aType };
  };
  return {
    infer: (node, inputs) => [{ type: spec(node, typesOf(inputs)).outType, dims: broadcastAll(inputs.map((t) => t!.dims)) }],
    host: (node, inputs) => [hostFold(spec(node, typesOf(inputs)).outType, inputs as HostTensor[], pick(node).f)],
    record: (env, node, [a, b], [y]) => recordBinary(env.ctx, env.step, spec(node, typesOf([a, b])), a!, b!, y!),
  };
}

for (const [name, entry] of Object.entries(BINARY)) {
  if (name !== 'Max' && name !== 'Min') registerOp(name, binaryOp(() => entry));
}
registerOp('Mod', binaryOp((node) => (attr(node, 'fmod', 0) ? MOD.c : MOD.python)));
registerOp('BitShift', binaryOp((node) => {
  const direction = attr<string>(node, 'direction', '');
  if (direction !== 'LEFT' && direction !== 'RIGHT') throw new Error(`BitShift ${node.name}: direction "${direction}" is neither LEFT nor RIGHT`);
  return SHIFT[direction];
}));

/** Max/Min over 1..n inputs: a chain of binary dispatches ping-ponging between two scratch buffers. */
function variadicOp(entry: { code: number; f: (a: number, b: number) => number }): OpImpl {
  const spec = (node: Node, types: Types): BinarySpec => {
    const t = typeAt(node, types, 0);
    return { op: entry.code, aType: t, bType: t, outType: t };
  };
  return {
    infer: (node, inputs) => [{ type: typeAt(node, typesOf(inputs), 0), dims: broadcastAll(inputs.map((t) => t!.dims)) }],
    host: (node, inputs) => [hostFold(typeAt(node, typesOf(inputs), 0), inputs as HostTensor[], entry.f)],
    record: ({ ctx, step }, node, inputs, [y]) => {
      const out = y!;
      const xs = inputs.map((t) => t!);
      if (xs.length === 1) {
        checkTensor(`${node.op} ${node.name}`, 'y', out, xs[0]!.shape, xs[0]!.dtype);
        step.copy(xs[0]!.buffer, out.buffer, numel(out.shape) * 4);
        return;
      }
      const bytes = numel(out.shape) * 4;
      const temps = xs.length > 2 ? [step.temp(bytes, `${node.op} scratch`), step.temp(bytes, `${node.op} scratch`)] : [];
      let acc = xs[0]!;
      for (let k = 1; k < xs.length; k++) {
        const dst = k === xs.length - 1 ? out : { ...out, buffer: temps[k % 2]! };
        recordBinary(ctx, step, spec(node, typesOf(xs)), acc, xs[k]!, dst);
        acc = dst;
      }
    },
  };
}

registerOp('Max', variadicOp(BINARY.Max!));
registerOp('Min', variadicOp(BINARY.Min!));
registerOp('Sum', variadicOp(BINARY.Add!));

// ---------------------------------------------------------------- where

registerOp('Where', {
  infer: (node, inputs) => [{ type: typeAt(node, typesOf(inputs), 1), dims: broadcastAll(inputs.map((t) => t!.dims)) }],
  host: (_node, [c, x, z]) => {
    const [cond, a, b] = [c!, x!, z!].map((t) => ({ values: toNumbers(t), dims: t.dims }));
    const r = whereReference(cond!, a!, b!);
    return [fromNumbers(x!.type, r.dims, r.values)];
  },
  record: (env, _node, [c, x, z], [y]) => recordWhere(env.ctx, env.step, c!, x!, z!, y!),
});
