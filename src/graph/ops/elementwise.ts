// Generic elementwise ONNX operators: unary ops and Cast, binary ops with numpy broadcasting (arithmetic,
// comparison, logic, variadic Max/Min), and Where. Each kernel wrapper (pipeline, record with shape checks) sits
// next to the OpImpls that use it; `host` evaluates the same maths on numbers, which doubles as the reference.
import binaryCode from '../../../shaders/op_binary.wgsl?raw';
import unaryCode from '../../../shaders/op_unary.wgsl?raw';
import whereCode from '../../../shaders/op_where.wgsl?raw';
import { numel, shapeStr, type DType, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../../gpu/index.js';
import { erf } from '../../kernels/activation.js';
import { Uniforms, check, checkTensor, grid1d } from '../../kernels/common.js';
import { kernelSource } from '../../kernels/shader.js';
import { attr, type Node } from '../ir.js';
import { ONNX_ELEM_TYPES, deviceType, type ElemType, type HostTensor } from '../tensor.js';
import { broadcastAll, broadcastIndex, broadcastUniforms, broadcastWorkgroups } from './broadcast.js';
import { fromNumbers, toNumbers } from './hostnum.js';
import { registerOp, type OpImpl } from './op.js';

/** Storage type codes of shaders/lib/op_types.wgsl. */
export const STORAGE: Record<DType, number> = { f32: 0, i32: 1, u32: 2 };

/** NARROW codes of op_unary.wgsl: types whose values are narrower than their 32-bit storage. */
const NARROW: Partial<Record<ElemType, number>> = { float16: 1, bool: 2, int8: 3, uint8: 4, int16: 5, uint16: 6 };

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

const unaryKernel = kernelSource('op_unary', unaryCode);

export interface UnarySpec {
  /** An UNARY code, or 0 for Cast (a pure type conversion). */
  readonly op: number;
  readonly inType: ElemType;
  readonly outType: ElemType;
  /** Attributes of the parametrised activations (ops/unary-math.ts); 0 when absent. */
  readonly alpha?: number;
  readonly beta?: number;
}

export function unaryPipeline(s: UnarySpec): PipelineSpec {
  const constants = { OP: s.op, IN_T: STORAGE[deviceType(s.inType)], OUT_T: STORAGE[deviceType(s.outType)], NARROW: NARROW[s.outType] ?? 0 };
  return { kernel: unaryKernel, constants };
}

export function recordUnary(ctx: GpuContext, step: Step, s: UnarySpec, x: GpuTensor, y: GpuTensor): void {
  const label = `op_unary(${s.op}, ${s.inType}->${s.outType}) ${shapeStr(x.shape)}`;
  checkTensor(label, 'x', x, x.shape, deviceType(s.inType));
  checkTensor(label, 'y', y, x.shape, deviceType(s.outType));
  const n = numel(x.shape);
  step.dispatch({
    pipeline: unaryPipeline(s),
    label,
    uniforms: new Uniforms().u32(n).f32(s.alpha ?? 0, s.beta ?? 0).data,
    buffers: [x.buffer, y.buffer],
    workgroups: grid1d(ctx, Math.ceil(n / 256)),
  });
}

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

const binaryKernel = kernelSource('op_binary', binaryCode);

export interface BinarySpec {
  readonly op: number;
  readonly aType: ElemType;
  readonly bType: ElemType;
  readonly outType: ElemType;
}

/** Whether every shape equals the first: op_binary then skips the broadcast index maths (SAME_SHAPE). */
export function sameShapes(...shapes: (readonly number[])[]): boolean {
  return shapes.every((s) => s.length === shapes[0]!.length && s.every((d, i) => d === shapes[0]![i]));
}

/** `sameShape`: a, b and y have one shape (see sameShapes); recordBinary picks the pipeline the same way. */
export function binaryPipeline(s: BinarySpec, sameShape = false): PipelineSpec {
  const st = (t: ElemType) => STORAGE[deviceType(t)];
  return { kernel: binaryKernel, constants: { OP: s.op, A_T: st(s.aType), B_T: st(s.bType), OUT_T: st(s.outType), SAME_SHAPE: +sameShape } };
}

/** y = a (op) b; y's shape may be larger than a and b broadcast together (Max/Min chains over n inputs). */
export function recordBinary(ctx: GpuContext, step: Step, s: BinarySpec, a: GpuTensor, b: GpuTensor, y: GpuTensor): void {
  const label = `op_binary(${s.op}) ${shapeStr(a.shape)} ${shapeStr(b.shape)} -> ${shapeStr(y.shape)}`;
  const out = broadcastAll([a.shape, b.shape, y.shape], label);
  check(out.length === y.shape.length && out.every((d, i) => d === y.shape[i]), label, () => `inputs broadcast to [${out}], not to y`);
  checkTensor(label, 'a', a, a.shape, deviceType(s.aType));
  checkTensor(label, 'b', b, b.shape, deviceType(s.bType));
  checkTensor(label, 'y', y, y.shape, deviceType(s.outType));
  step.dispatch({
    pipeline: binaryPipeline(s, sameShapes(a.shape, b.shape, y.shape)),
    label,
    uniforms: broadcastUniforms(label, y.shape, [a.shape, b.shape]),
    buffers: [a.buffer, b.buffer, y.buffer],
    workgroups: broadcastWorkgroups(ctx, numel(y.shape)),
  });
}

/** Host evaluation of an n-ary broadcasting op folded left to right. */
function hostFold(type: ElemType, inputs: readonly HostTensor[], f: (a: number, b: number) => number): HostTensor {
  const dims = broadcastAll(inputs.map((t) => t.dims));
  const vals = inputs.map(toNumbers);
  const idx = inputs.map((t) => broadcastIndex(t.dims, dims));
  const out = Array.from(idx[0]!, (j) => vals[0]![j]!);
  for (let k = 1; k < inputs.length; k++) for (let i = 0; i < out.length; i++) out[i] = f(out[i]!, vals[k]![idx[k]![i]!]!);
  return fromNumbers(type, dims, out);
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

const whereKernel = kernelSource('op_where', whereCode);

export function wherePipeline(): PipelineSpec {
  return { kernel: whereKernel };
}

export function recordWhere(ctx: GpuContext, step: Step, cond: GpuTensor, x: GpuTensor, z: GpuTensor, y: GpuTensor): void {
  const label = `op_where ${shapeStr(cond.shape)} ${shapeStr(x.shape)} ${shapeStr(z.shape)}`;
  const out = broadcastAll([cond.shape, x.shape, z.shape], label);
  checkTensor(label, 'cond', cond, cond.shape, 'u32');
  checkTensor(label, 'x', x, x.shape, y.dtype);
  checkTensor(label, 'z', z, z.shape, y.dtype);
  checkTensor(label, 'y', y, out, y.dtype);
  step.dispatch({
    pipeline: wherePipeline(),
    label,
    uniforms: broadcastUniforms(label, out, [cond.shape, x.shape, z.shape]),
    buffers: [cond.buffer, x.buffer, z.buffer, y.buffer],
    workgroups: broadcastWorkgroups(ctx, numel(out)),
  });
}

registerOp('Where', {
  infer: (node, inputs) => [{ type: typeAt(node, typesOf(inputs), 1), dims: broadcastAll(inputs.map((t) => t!.dims)) }],
  host: (_node, [c, x, z]) => {
    const dims = broadcastAll([c!.dims, x!.dims, z!.dims]);
    const [cv, xv, zv] = [c!, x!, z!].map(toNumbers);
    const [ci, xi, zi] = [c!, x!, z!].map((t) => broadcastIndex(t.dims, dims));
    return [fromNumbers(x!.type, dims, Array.from(ci!, (j, i) => (cv![j] ? xv![xi![i]!]! : zv![zi![i]!]!)))];
  },
  record: (env, _node, [c, x, z], [y]) => recordWhere(env.ctx, env.step, c!, x!, z!, y!),
});
