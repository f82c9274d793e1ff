// Catches wrong axes, keepdims, odometer steps, means, LogSumExp or ArgMax ties in the reduce ops, and wrong CumSum
// scans.
import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step } from '../src/gpu/index.js';
import type { AttrValue } from '../src/graph/ir.js';
import { fromNumbers } from '../src/graph/ops/hostnum.js';
import { recordCumSum } from '../src/kernels/op_cumsum.js';
import { recordReduce } from '../src/kernels/op_reduce.js';
import type { ElemType, HostTensor } from '../src/graph/tensor.js';
import { empty, release } from '../src/kernels/common.js';
import { caseNames } from './helpers/conformance.js';
import { checkCase, expectTensorClose, hostNode, runOp } from './op-cases.js';
import { gpu, randInt, randn } from './helpers/gpu.js';

// Tolerance: onnxruntime's 1e-3 absolute + relative for floats (f32 accumulation over at most a few thousand
// terms stays far inside it); integer results and indices must match exactly. OpImpl.host is the reference.
const CASES = caseNames(/^test_(argmax|cumsum|reduce)_/);

const count = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const floats = (dims: number[], seed: number) => fromNumbers('float32', dims, randn(count(dims), seed));
const ints = (type: ElemType, dims: number[], lo: number, hi: number, seed: number) => fromNumbers(type, dims, randInt(count(dims), lo, hi, seed));
const axesInput = (axes: number[]) => fromNumbers('int64', [axes.length], axes);

async function expectMatchesHost(op: string, inputs: (HostTensor | undefined)[], attrs: [string, AttrValue][] = []): Promise<void> {
  const a = new Map(attrs);
  const [out] = await runOp(op, a, inputs);
  expectTensorClose(out!, hostNode(op, a, inputs)![0]!, `${op} [${inputs.map((t) => t && `${t.type}[${t.dims}]`)}] ${JSON.stringify(attrs)}`);
}

describe('conformance cases (reductions)', () => {
  it('covers every case of these ops', () => expect(CASES.length).toBeGreaterThanOrEqual(102));
  for (const name of CASES) {
    it(name, () => checkCase(name));
  }
});

const REDUCTIONS = ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'ReduceL1', 'ReduceL2', 'ReduceLogSumExp'];
const AXES = [[0], [3], [1, 2], [0, 2], [-1, 0], [1, 3, 0], []];

describe('reductions on random data', () => {
  for (const op of REDUCTIONS) {
    it(`${op} over several axis sets, keepdims on and off, attribute and input axes`, async () => {
      const x = op === 'ReduceProd' ? fromNumbers('float32', [3, 5, 7, 4], randn(420, 3).map((v) => 1 + 0.1 * v)) : floats([3, 5, 7, 4], 1);
      for (const axes of AXES) {
        await expectMatchesHost(op, [x], [['axes', axes], ['keepdims', axes.length % 2]]);
        await expectMatchesHost(op, [x, axesInput(axes)], [['keepdims', 1]]);
      }
      await expectMatchesHost(op, [x, axesInput([])], [['noop_with_empty_axes', 1]]);
    });
  }

  it('integer reductions are exact (mean truncates)', async () => {
    const x = ints('int32', [4, 6, 5], -20, 20, 4);
    for (const op of ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceSumSquare', 'ReduceL1']) {
      for (const axes of [[1], [0, 2], []]) await expectMatchesHost(op, [x], [['axes', axes]]);
    }
    await expectMatchesHost('ReduceProd', [ints('int64', [3, 4], -3, 4, 5)], [['axes', [1]]]);
  });

  it('a long reduction (4099 terms) and a wide one (4099 outputs)', async () => {
    await expectMatchesHost('ReduceSum', [floats([4099], 6)]);
    await expectMatchesHost('ReduceMean', [floats([4099, 3], 7)], [['axes', [1]]]);
  });

  it('ArgMax/ArgMin with ties, first and last index, every axis', async () => {
    const x = ints('int32', [3, 4, 5], 0, 3, 8);
    const f = fromNumbers('float32', [3, 4, 5], Array.from(x.data as Int32Array, (v) => v * 0.5));
    for (const op of ['ArgMax', 'ArgMin']) {
      for (const t of [x, f]) {
        for (const axis of [0, 1, 2, -1]) {
          for (const last of [0, 1]) await expectMatchesHost(op, [t], [['axis', axis], ['keepdims', last], ['select_last_index', last]]);
        }
      }
    }
  });
});

describe('CumSum', () => {
  it('every axis, exclusive and reverse, float and int', async () => {
    for (const x of [floats([3, 4, 5], 9), ints('int32', [3, 4, 5], -9, 9, 10), ints('int64', [7], -9, 9, 11)]) {
      for (let axis = -1; axis < x.dims.length; axis++) {
        for (const [exclusive, reverse] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
          await expectMatchesHost('CumSum', [x, fromNumbers('int32', [], [axis])], [['exclusive', exclusive!], ['reverse', reverse!]]);
        }
      }
    }
  });
});

describe('kernel shape errors', () => {
  it('reduce and cumsum wrappers name the kernel and shapes', async () => {
    const ctx = await gpu();
    const x = empty(ctx, [2, 3]);
    const y = empty(ctx, [3]);
    const spec = { op: 0, type: 'float32' } as const;
    expect(() => recordReduce(ctx, new Step(ctx), spec, x, y, [1], false)).toThrow(KernelShapeError);
    expect(() => recordReduce(ctx, new Step(ctx), spec, x, y, [1], false)).toThrow(/op_reduce\(0\) \[2,3\] axes \[1\]: y has shape \[3\] but \[2\]/);
    expect(() => recordCumSum(ctx, new Step(ctx), { type: 'float32', exclusive: false, reverse: false }, x, y, 0)).toThrow(/op_cumsum \[2,3\] axis 0: y has shape \[3\]/);
    release(ctx, x, y);
  });
});
