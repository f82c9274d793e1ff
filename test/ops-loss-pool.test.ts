// op_nll_loss, log-softmax and op_pool against their plain-TS references on random shapes off the workgroup
// sizes: every reduction with and without class weights and ignore_index, trailing dims; max/average/Lp pooling in
// 1-3 spatial dims with strides, dilations, pads, ceil_mode, count_include_pad and MaxPool's indices in both
// storage orders. Catches a wrong class offset, an ignored term still counted in the mean's weight sum, a window
// clipped at the wrong edge, or a divisor that counts the pads when it should not (and the reverse).
import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step, numel } from '../src/gpu/index.js';
import { empty, release, upload } from '../src/kernels/common.js';
import { nllLossReference, nllOutputShape, recordNllLoss, type NllOptions } from '../src/kernels/op_nll_loss.js';
import { poolOutputShape, poolReference, recordPool, type PoolOptions } from '../src/kernels/op_pool.js';
import { recordSoftmax, softmaxReference } from '../src/kernels/softmax.js';
import { expectClose, gpu, randInt, randn, readTensor, runStep } from './helpers/gpu.js';

describe('log-softmax (softmax kernel, LOG)', () => {
  it('matches x - max - log(sum exp) on rows of odd lengths, including large magnitudes', async () => {
    const ctx = await gpu();
    for (const [rows, cols] of [[1, 1], [3, 257], [17, 5], [2, 1030]] as const) {
      const xs = randn(rows * cols, rows + cols, 30);
      const [x, y] = [upload(ctx, xs, [rows, cols]), empty(ctx, [rows, cols])];
      await runStep((step) => recordSoftmax(ctx, step, x, y, true));
      expectClose(await readTensor(y), softmaxReference(xs, cols, true), 1e-4, 1e-5, `log-softmax [${rows}, ${cols}]`);
      release(ctx, x, y);
    }
  });
});

describe('op_nll_loss kernel', () => {
  const shapes = [[5, 3], [300, 7], [4, 6, 67], [3, 5, 2, 9]];
  it('every reduction, with and without weights and ignore_index', async () => {
    const ctx = await gpu();
    for (const [c, shape] of shapes.entries()) {
      const tshape = [shape[0]!, ...shape.slice(2)];
      const xs = randn(numel(shape), 200 + c);
      // Class ids in [-1, C): -1 is the ignore_index of the cases that set one.
      const ts = randInt(numel(tshape), -1, shape[1]! - 1, 210 + c);
      const ws = randn(shape[1]!, 220 + c).map(Math.abs);
      for (const reduction of ['none', 'sum', 'mean'] as const) {
        for (const weighted of [false, true]) {
          const o: NllOptions = { reduction, ignoreIndex: -1 };
          const [x, t, w, y] = [upload(ctx, xs, shape), upload(ctx, ts, tshape), upload(ctx, ws, [shape[1]!]), empty(ctx, nllOutputShape(tshape, o))];
          await runStep((step) => recordNllLoss(ctx, step, x, t, weighted ? w : undefined, y, o));
          expectClose(await readTensor(y), nllLossReference(xs, shape, ts, weighted ? ws : undefined, o), 1e-5, 1e-4, `nll ${reduction} [${shape}] weighted ${weighted}`);
          release(ctx, x, t, w, y);
        }
      }
    }
  });

  it('without ignore_index every id counts (clamped into [0, C))', async () => {
    const ctx = await gpu();
    const shape = [261, 4];
    const xs = randn(numel(shape), 230);
    const ts = randInt(shape[0]!, 0, 3, 231);
    const o: NllOptions = { reduction: 'mean' };
    const [x, t, y] = [upload(ctx, xs, shape), upload(ctx, ts, [shape[0]!]), empty(ctx, [])];
    await runStep((step) => recordNllLoss(ctx, step, x, t, undefined, y, o));
    expectClose(await readTensor(y), nllLossReference(xs, shape, ts, undefined, o), 1e-6, 1e-5, 'nll mean');
    release(ctx, x, t, y);
  });

  it('rejects a target whose shape does not follow the scores', async () => {
    const ctx = await gpu();
    const [x, t, y] = [empty(ctx, [4, 3, 5]), empty(ctx, [4, 6], 'i32'), empty(ctx, [])];
    expect(() => recordNllLoss(ctx, new Step(ctx), x, t, undefined, y, { reduction: 'sum' })).toThrow(KernelShapeError);
    release(ctx, x, t, y);
  });
});

describe('op_pool kernel', () => {
  const base = { strides: [1], dilations: [1], padsBegin: [0], padsEnd: [0], ceilMode: false, countPad: false, p: 2, columnMajor: false };
  const cases: { shape: number[]; o: Partial<PoolOptions> & { kernel: number[] } }[] = [
    { shape: [2, 3, 301], o: { kernel: [4], strides: [3], padsBegin: [1], padsEnd: [2] } },
    { shape: [1, 5, 17, 19], o: { kernel: [3, 2], strides: [2, 2], dilations: [2, 1], padsBegin: [1, 0], padsEnd: [2, 1], ceilMode: true } },
    { shape: [2, 2, 33, 9], o: { kernel: [5, 5], strides: [1, 2], padsBegin: [2, 2], padsEnd: [2, 2], countPad: true } },
    { shape: [1, 3, 6, 7, 5], o: { kernel: [2, 3, 2], strides: [2, 2, 1], padsBegin: [1, 1, 0], padsEnd: [0, 1, 1], columnMajor: true } },
  ];
  it('max (with indices), average and Lp pooling match the reference', async () => {
    const ctx = await gpu();
    for (const [c, { shape, o: partial }] of cases.entries()) {
      const k = shape.length - 2;
      const fill = (v: readonly number[] | undefined, d: number) => v ?? new Array<number>(k).fill(d);
      for (const mode of ['max', 'average', 'lp'] as const) {
        const o: PoolOptions = {
          ...base, ...partial, mode,
          strides: fill(partial.strides, 1), dilations: fill(partial.dilations, 1), padsBegin: fill(partial.padsBegin, 0), padsEnd: fill(partial.padsEnd, 0),
        };
        const out = poolOutputShape(shape, o);
        const xs = randn(numel(shape), 300 + c);
        const [x, y, idx] = [upload(ctx, xs, shape), empty(ctx, out), empty(ctx, out, 'i32')];
        await runStep((step) => recordPool(ctx, step, x, y, mode === 'max' ? idx : undefined, o));
        const ref = poolReference(xs, shape, o);
        expectClose(await readTensor(y), ref.y, 1e-5, 1e-5, `${mode} pool [${shape}]`);
        if (mode === 'max') expect(Array.from(await readTensor(idx))).toEqual(Array.from(ref.indices));
        release(ctx, x, y, idx);
      }
    }
  });

  it('rejects pads as wide as the window', async () => {
    const ctx = await gpu();
    const o: PoolOptions = { ...base, mode: 'max', kernel: [2], padsBegin: [2] };
    const [x, y] = [empty(ctx, [1, 1, 8]), empty(ctx, poolOutputShape([1, 1, 8], o))];
    expect(() => recordPool(ctx, new Step(ctx), x, y, undefined, o)).toThrow(/pad is as wide as the window/);
    release(ctx, x, y);
  });
});
