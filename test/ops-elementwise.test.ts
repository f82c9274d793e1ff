// Catches elementwise ops whose kernels differ from the host evaluation: broadcasting, integer semantics, comparisons
// at equality, edge values.
import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step } from '../src/gpu/index.js';
import type { AttrValue } from '../src/graph/ir.js';
import { broadcastShapes, broadcastStrides, coalesce } from '../src/kernels/op_bcast.js';
import { recordBinary } from '../src/kernels/op_binary.js';
import { recordUnary } from '../src/kernels/op_unary.js';
import '../src/graph/ops/shape.js';
import { fromNumbers } from '../src/graph/ops/hostnum.js';
import type { ElemType, HostTensor } from '../src/graph/tensor.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { caseNames } from './helpers/conformance.js';
import { checkCase, expectTensorClose, hostNode, runOp } from './op-cases.js';
import { expectClose, gpu, randInt, randn } from './helpers/gpu.js';

// Tolerance: onnxruntime's 1e-3 absolute + relative for floats (f32 exp/sin/pow and the 1.5e-7 erf approximation are
// far inside it); integers and bools must match exactly. The host evaluation (OpImpl.host) is the reference.
const CASES = caseNames(/^test_(abs|add|and|cast|cos|div|equal|erf|exp|greater|identity|less|max|min|mul|neg|not|pow|reciprocal|relu|sigmoid|sin|sqrt|sub|tanh|where)(?:$|_|\d)/);

function tensor(type: ElemType, dims: number[], values: ArrayLike<number>): HostTensor {
  return fromNumbers(type, dims, values);
}

function count(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

const floats = (dims: number[], seed: number, scale = 2) => tensor('float32', dims, randn(count(dims), seed, scale));
const ints = (type: ElemType, dims: number[], lo: number, hi: number, seed: number) => tensor(type, dims, randInt(count(dims), lo, hi, seed));

/** Runs the node on the GPU and checks it against the op's host evaluation. */
async function expectMatchesHost(op: string, inputs: HostTensor[], attrs: [string, AttrValue][] = []): Promise<void> {
  const a = new Map(attrs);
  const [out] = await runOp(op, a, inputs);
  expectTensorClose(out!, hostNode(op, a, inputs)![0]!, `${op} [${inputs.map((t) => `${t.type}[${t.dims}]`)}]`);
}

describe('conformance cases (elementwise)', () => {
  it('covers every case of these ops', () => expect(CASES.length).toBeGreaterThanOrEqual(110));
  for (const name of CASES) {
    it(name, () => checkCase(name));
  }
});

describe('broadcasting', () => {
  it('infers numpy shapes and merges contiguous dims', () => {
    expect(broadcastShapes([2, 1, 3], [4, 1])).toEqual([2, 4, 3]);
    expect(broadcastShapes([], [5])).toEqual([5]);
    expect(() => broadcastShapes([2, 3], [4, 3])).toThrow(/\[2,3\] and \[4,3\]/);
    const out = [2, 3, 4, 5];
    expect(coalesce(out, [broadcastStrides(out, out), broadcastStrides(out, out)]).shape).toEqual([120]);
    expect(coalesce(out, [broadcastStrides(out, out), broadcastStrides([4, 5], out)])).toEqual({ shape: [6, 20], strides: [[20, 1], [0, 1]] });
  });

  const pairs: [number[], number[]][] = [
    [[2, 1, 3, 1, 5, 1], [3, 1, 5, 7]],
    [[3, 1, 5], [1, 4, 1]],
    [[1], [2, 3, 2, 1, 2, 3]],
    [[6, 1, 1, 4], [6, 5, 1, 4]],
    [[], [7]],
    [[300], [300]],
  ];
  for (const [sa, sb] of pairs) {
    it(`Add/Mul/Sub/Div/Pow/Greater float32 [${sa}] with [${sb}]`, async () => {
      for (const op of ['Add', 'Mul', 'Sub', 'Div', 'Greater', 'Equal']) await expectMatchesHost(op, [floats(sa, 1), floats(sb, 2)]);
      await expectMatchesHost('Pow', [tensor('float32', sa, randn(count(sa), 3).map(Math.abs)), floats(sb, 4)]);
    });
  }

  it('integer ops: division truncates toward zero, pow is exact, Mod follows fmod', async () => {
    const a = ints('int32', [3, 4, 5], -50, 50, 5);
    const b = tensor('int32', [4, 5], Array.from(randInt(20, -7, 7, 6), (v) => v || 3));
    for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Equal', 'Mod']) await expectMatchesHost(op, [a, b]);
    await expectMatchesHost('Mod', [a, b], [['fmod', 1]]);
    await expectMatchesHost('Div', [ints('int64', [7], -100, 100, 7), tensor('int64', [1], [-3])]);
    await expectMatchesHost('Pow', [ints('int32', [2, 6], -5, 6, 8), ints('int32', [6], 0, 6, 9)]);
    await expectMatchesHost('Pow', [ints('int64', [8], -4, 5, 10), tensor('float32', [8], [0, 1, 2, 3, 0.5, 2, 3, 1])]);
    await expectMatchesHost('Pow', [tensor('float32', [6], [-2, -2, -1.5, 0, 0, 3]), tensor('int32', [6], [3, 2, -3, 0, 2, -1])]);
  });

  it('float Mod (fmod 1: the dividend\'s sign) and comparisons where half the values are equal', async () => {
    const a = floats([4, 9], 40, 6);
    const b = tensor('float32', [4, 9], Array.from(a.data as Float32Array, (v, i) => (i % 2 ? v : Math.round(v * 7) / 7 + 0.5)));
    await expectMatchesHost('Mod', [a, tensor('float32', [9], [-2.5, 1.5, -0.75, 3, -3, 0.6, -1.1, 2.2, 4])], [['fmod', 1]]);
    for (const op of ['Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual']) await expectMatchesHost(op, [a, b]);
  });

  it('logic ops on bool, Not, and Where with three-way broadcasting', async () => {
    const p = ints('bool', [2, 3, 4], 0, 2, 11);
    const q = ints('bool', [3, 1], 0, 2, 12);
    for (const op of ['And', 'Or', 'Xor', 'Equal']) await expectMatchesHost(op, [p, q]);
    await expectMatchesHost('Not', [p]);
    await expectMatchesHost('Where', [ints('bool', [3, 1], 0, 2, 13), floats([2, 1, 4], 14), floats([4], 15)]);
    await expectMatchesHost('Where', [p, ints('int64', [1], -9, 9, 16), ints('int64', [2, 3, 4], -9, 9, 17)]);
  });

  it('variadic Max/Min over 1 to 4 inputs of different shapes', async () => {
    const xs = [floats([3, 1], 20), floats([1, 4], 21), floats([2, 3, 4], 22), floats([4], 23)];
    for (const op of ['Max', 'Min']) {
      for (let n = 1; n <= 4; n++) await expectMatchesHost(op, xs.slice(0, n));
      await expectMatchesHost(op, [ints('int32', [5], -9, 9, 24), ints('int32', [2, 5], -9, 9, 25), ints('int32', [1], -9, 9, 26)]);
    }
  });
});

describe('unary ops and Cast', () => {
  const x = floats([5, 7, 11], 30, 3);
  it('float unary ops on an odd shape', async () => {
    for (const op of ['Abs', 'Neg', 'Exp', 'Sin', 'Cos', 'Tanh', 'Sigmoid', 'Relu', 'Erf', 'Floor', 'Ceil', 'Round', 'Sign', 'Reciprocal']) await expectMatchesHost(op, [x]);
    const pos = tensor('float32', [5, 7, 11], randn(385, 31, 3).map((v) => Math.abs(v) + 1e-3));
    for (const op of ['Sqrt', 'Log']) await expectMatchesHost(op, [pos]);
  });

  it('Softplus, Softsign and the activations with attributes, on both signs and at 0', async () => {
    const v = tensor('float32', [4, 11], Array.from(randn(44, 33, 4), (t, i) => (i % 11 === 0 ? 0 : t)));
    for (const op of ['Softplus', 'Softsign', 'HardSwish', 'Selu', 'Elu', 'Celu']) await expectMatchesHost(op, [v]);
    await expectMatchesHost('HardSigmoid', [v], [['alpha', 0.3], ['beta', 0.4]]);
    await expectMatchesHost('LeakyRelu', [v], [['alpha', 0.15]]);
    await expectMatchesHost('ThresholdedRelu', [v], [['alpha', 0.5]]);
  });

  it('integer unary ops', async () => {
    for (const op of ['Abs', 'Neg', 'Relu', 'Sign']) await expectMatchesHost(op, [ints('int32', [257], -1000, 1000, 32)]);
  });

  const TYPES: ElemType[] = ['float32', 'float16', 'int32', 'int64', 'int16', 'int8', 'uint8', 'uint16', 'bool'];
  it('Cast between every pair of types', async () => {
    const values = [0, 1, -1, 2.5, -2.5, 3.7, -3.7, 127.9, 200.2, -129, 65504, 1e-3, 0.1];
    const code: Record<string, number> = { float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, bool: 9, float16: 10 };
    for (const from of TYPES) {
      const input = tensor(from, [values.length], values);
      for (const to of TYPES) await expectMatchesHost('Cast', [input], [['to', code[to]!]]);
    }
    // Past the float16 range (65504, rounding up from 65520) values become infinities.
    await expectMatchesHost('Cast', [tensor('float32', [4], [65519, 65520, -70000.5, 1e9])], [['to', 10]]);
  });
});

// Tolerance: exact (one f32 addition, as the reference's Float32Array store rounds it).
describe('op_binary on equal shapes (SAME_SHAPE, the residual add)', () => {
  it('Add f32 matches a + b exactly on sizes around the workgroup size, with only the same-shape pipeline compiled', async () => {
    const ctx = await gpu();
    const spec = { op: 0, aType: 'float32', bType: 'float32', outType: 'float32' } as const;
    for (const shape of [[1], [3], [255], [2, 129], [7, 1000]]) {
      const n = count(shape);
      const [as, bs] = [randn(n, n), randn(n, n + 1)];
      const [a, b, y] = [upload(ctx, as, shape), upload(ctx, bs, shape), empty(ctx, shape)];
      const step = new Step(ctx);
      recordBinary(ctx, step, spec, a, b, y);
      await step.submit();
      expectClose(await readF32(ctx, y), as.map((v, i) => v + bs[i]!), 0, 0, `add [${shape}]`);
      release(ctx, a, b, y);
    }
  });
});

describe('kernel shape errors', () => {
  it('binary and unary wrappers reject mismatched shapes and types with the kernel named', async () => {
    const ctx = await gpu();
    const spec = { op: 0, aType: 'float32', bType: 'float32', outType: 'float32' } as const;
    const a = empty(ctx, [2, 3]);
    const b = empty(ctx, [4, 3]);
    const y = empty(ctx, [2, 3]);
    expect(() => recordBinary(ctx, new Step(ctx), spec, a, b, y)).toThrow(KernelShapeError);
    expect(() => recordBinary(ctx, new Step(ctx), spec, a, b, y)).toThrow(/op_binary\(0\) \[2,3\] \[4,3\] -> \[2,3\]: shapes \[2,3\] and \[4,3\]/);
    expect(() => recordBinary(ctx, new Step(ctx), spec, a, empty(ctx, [3]), empty(ctx, [3]))).toThrow(/broadcast to \[2,3\], not to y/);
    const [c, d] = [empty(ctx, [4, 3]), empty(ctx, [3, 4])];
    expect(() => recordBinary(ctx, new Step(ctx), spec, c, d, c)).toThrow(/op_binary\(0\) \[4,3\] \[3,4\] -> \[4,3\]: shapes \[4,3\] and \[3,4\]/);
    expect(() => recordUnary(ctx, new Step(ctx), { op: 1, inType: 'int32', outType: 'int32' }, a, y)).toThrow(/op_unary\(1, int32->int32\) \[2,3\]: x has dtype f32/);
    release(ctx, a, b, y, c, d);
  });
});
