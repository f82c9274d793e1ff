// The ONNX-typed kernels (op_unary, op_binary, op_where, op_reduce, op_cumsum) called directly against their plain-TS
// references on random shapes: broadcast patterns, sizes off the workgroup multiples (256 for op_unary, 256 x 8
// outputs for the broadcasting kernels, 64 for op_reduce and op_cumsum) and ranks that coalesce and that do not.
// Catches index and stride bugs in the kernels' own arithmetic (a wrong broadcast stride, a reduced dim skipped,
// a running sum restarted or shifted) without going through the graph ops.
// Tolerance: exact for the copies, sign flips, f32 sums and products of two f32 operands (one rounding, as
// Math.fround of the exact double result); 1e-5 relative for reductions and running sums (f32 accumulation in
// another order than the reference's doubles).
import { describe, expect, it } from 'vitest';
import { numel } from '../src/gpu/index.js';
import { empty, release, upload } from '../src/kernels/common.js';
import { binaryReference, recordBinary } from '../src/kernels/op_binary.js';
import { cumsumReference, recordCumSum } from '../src/kernels/op_cumsum.js';
import { recordReduce, reduceReference, reducedDims } from '../src/kernels/op_reduce.js';
import { recordUnary } from '../src/kernels/op_unary.js';
import { recordWhere, whereReference } from '../src/kernels/op_where.js';
import { expectClose, gpu, randInt, randn, readTensor, runStep } from './helpers/gpu.js';

describe('op_unary kernel', () => {
  it('Neg and Abs (f32, i32) match the element maps on sizes around the workgroup size', async () => {
    const ctx = await gpu();
    for (const n of [1, 255, 256, 257, 3001]) {
      const xs = randn(n, n);
      const is = randInt(n, -1000, 1000, n + 1);
      const [x, xi, y, yi] = [upload(ctx, xs, [n]), upload(ctx, is, [n]), empty(ctx, [n]), empty(ctx, [n], 'i32')];
      await runStep((step) => {
        recordUnary(ctx, step, { op: 2, inType: 'float32', outType: 'float32' }, x, y);
        recordUnary(ctx, step, { op: 1, inType: 'int32', outType: 'int32' }, xi, yi);
      });
      expectClose(await readTensor(y), xs.map((v) => -v), 0, 0, `neg [${n}]`);
      expect(Array.from(await readTensor(yi))).toEqual(Array.from(is, Math.abs));
      release(ctx, x, xi, y, yi);
    }
  });
});

// [a shape, b shape]: trailing and leading broadcasts, size-1 dims in both, an output past 2048, equal shapes.
const BINARY_SHAPES: [number[], number[]][] = [
  [[3, 1, 5], [4, 5]],
  [[2051], [1]],
  [[1, 1, 2049], [3, 1, 1]],
  [[7, 300], [7, 300]],
  [[2, 3, 1, 4, 5], [3, 6, 1, 5]],
  [[1], [5, 1, 1, 1, 1, 1, 1, 3]],
];

describe('op_binary kernel', () => {
  for (const [op, name, f] of [[0, 'Add', (a: number, b: number) => a + b], [1, 'Sub', (a: number, b: number) => a - b], [2, 'Mul', (a: number, b: number) => a * b]] as const) {
    it(`${name} f32 matches binaryReference on broadcast shapes`, async () => {
      const ctx = await gpu();
      for (const [i, [as, bs]] of BINARY_SHAPES.entries()) {
        const [av, bv] = [randn(numel(as), 10 * i + op), randn(numel(bs), 10 * i + op + 5)];
        const ref = binaryReference([{ values: av, dims: as }, { values: bv, dims: bs }], f);
        const [a, b, y] = [upload(ctx, av, as), upload(ctx, bv, bs), empty(ctx, ref.dims)];
        await runStep((step) => recordBinary(ctx, step, { op, aType: 'float32', bType: 'float32', outType: 'float32' }, a, b, y));
        expectClose(await readTensor(y), ref.values.map(Math.fround), 0, 0, `${name} [${as}] [${bs}]`);
        release(ctx, a, b, y);
      }
    });
  }

  it('Sub i32 matches binaryReference (integer storage, broadcast b)', async () => {
    const ctx = await gpu();
    const [as, bs] = [[5, 2049], [5, 1]];
    const [av, bv] = [randInt(numel(as), -5000, 5000, 1), randInt(numel(bs), -5000, 5000, 2)];
    const ref = binaryReference([{ values: av, dims: as }, { values: bv, dims: bs }], (a, b) => a - b);
    const [a, b, y] = [upload(ctx, av, as), upload(ctx, bv, bs), empty(ctx, ref.dims, 'i32')];
    await runStep((step) => recordBinary(ctx, step, { op: 1, aType: 'int32', bType: 'int32', outType: 'int32' }, a, b, y));
    expect(Array.from(await readTensor(y))).toEqual(ref.values);
    release(ctx, a, b, y);
  });
});

describe('op_where kernel', () => {
  it('matches whereReference with cond, x and z each broadcast', async () => {
    const ctx = await gpu();
    const cases: [number[], number[], number[]][] = [
      [[4, 1], [1, 2050], [4, 2050]],
      [[3, 1, 5], [5], [2, 1, 1, 1]],
      [[257], [257], [1]],
    ];
    for (const [i, [cs, xs, zs]] of cases.entries()) {
      const cv = Uint32Array.from(randInt(numel(cs), 0, 2, i));
      const [xv, zv] = [randn(numel(xs), i + 10), randn(numel(zs), i + 20)];
      const ref = whereReference({ values: cv, dims: cs }, { values: xv, dims: xs }, { values: zv, dims: zs });
      const [c, x, z, y] = [upload(ctx, cv, cs), upload(ctx, xv, xs), upload(ctx, zv, zs), empty(ctx, ref.dims)];
      await runStep((step) => recordWhere(ctx, step, c, x, z, y));
      expectClose(await readTensor(y), ref.values, 0, 0, `where [${cs}] [${xs}] [${zs}]`);
      release(ctx, c, x, z, y);
    }
  });
});

// [shape, axes]: inner, outer, middle and several axes, all axes, more than 64 outputs, more than 64 reduced.
const REDUCE_CASES: [number[], number[]][] = [
  [[3, 70, 5], [1]],
  [[2, 3, 4, 5], [0, 2]],
  [[130], [0]],
  [[67, 5], [1]],
  [[5, 67], [0]],
  [[2, 3, 2, 3, 2, 3], [1, 3, 5]],
  [[4, 33, 3], [0, 1, 2]],
];

describe('op_reduce kernel', () => {
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  for (const [op, name, f] of [[0, 'ReduceSum', sum], [2, 'ReduceMax', (v: number[]) => Math.max(...v)], [5, 'ReduceSumSquare', (v: number[]) => sum(v.map((x) => x * x))]] as const) {
    it(`${name} f32 matches reduceReference over random axes`, async () => {
      const ctx = await gpu();
      for (const [i, [dims, axes]] of REDUCE_CASES.entries()) {
        const xv = randn(numel(dims), 100 * op + i);
        const outDims = reducedDims(dims, axes, false);
        const [x, y] = [upload(ctx, xv, dims), empty(ctx, outDims)];
        await runStep((step) => recordReduce(ctx, step, { op, type: 'float32' }, x, y, axes, false));
        expectClose(await readTensor(y), reduceReference(xv, dims, axes, f), 1e-5, 1e-5, `${name} [${dims}] axes [${axes}]`);
        release(ctx, x, y);
      }
    });
  }

  it('ReduceSum i32 is exact', async () => {
    const ctx = await gpu();
    const [dims, axes] = [[3, 70, 5], [0, 2]];
    const xv = randInt(numel(dims), -1000, 1000, 3);
    const [x, y] = [upload(ctx, xv, dims), empty(ctx, reducedDims(dims, axes, true), 'i32')];
    await runStep((step) => recordReduce(ctx, step, { op: 0, type: 'int32' }, x, y, axes, true));
    expect(Array.from(await readTensor(y))).toEqual(reduceReference(xv, dims, axes, (v) => v.reduce((a, b) => a + b, 0)));
    release(ctx, x, y);
  });
});

describe('op_cumsum kernel', () => {
  const cases: [number[], number][] = [
    [[3, 130], 1],
    [[70, 3], 0],
    [[2, 65, 3], 1],
    [[1], 0],
  ];
  for (const exclusive of [false, true]) {
    for (const reverse of [false, true]) {
      it(`f32 ${exclusive ? 'exclusive' : 'inclusive'} ${reverse ? 'reversed' : 'forward'} matches cumsumReference`, async () => {
        const ctx = await gpu();
        for (const [i, [dims, axis]] of cases.entries()) {
          const xv = randn(numel(dims), i + (exclusive ? 10 : 0) + (reverse ? 20 : 0));
          const [x, y] = [upload(ctx, xv, dims), empty(ctx, dims)];
          await runStep((step) => recordCumSum(ctx, step, { type: 'float32', exclusive, reverse }, x, y, axis));
          expectClose(await readTensor(y), cumsumReference(xv, dims, axis, { exclusive, reverse }), 1e-5, 1e-5, `cumsum [${dims}] axis ${axis}`);
          release(ctx, x, y);
        }
      });
    }
  }

  it('i32 along the middle axis is exact', async () => {
    const ctx = await gpu();
    const dims = [4, 67, 3];
    const xv = randInt(numel(dims), -100, 100, 9);
    const [x, y] = [upload(ctx, xv, dims), empty(ctx, dims, 'i32')];
    await runStep((step) => recordCumSum(ctx, step, { type: 'int32', exclusive: false, reverse: false }, x, y, 1));
    expect(Array.from(await readTensor(y))).toEqual(Array.from(cumsumReference(xv, dims, 1, { exclusive: false, reverse: false })));
    release(ctx, x, y);
  });
});
