// Catches a wrong index, bound, stride, pad, dilation or bias term in the conv kernel and the Conv op: the kernel
// against a plain loop reference on random shapes (tails of its 4x4 tiles, strides, pads, dilations, with and
// without bias), and the Conv op of the executor against onnxruntime (WASM) on random shapes.
import { describe, expect, it } from 'vitest';
import '../src/graph/ops/conv.js';
import { KernelShapeError, Step, numel } from '../src/gpu/index.js';
import type { AttrValue } from '../src/graph/ir.js';
import { fromNumbers } from '../src/graph/ops/hostnum.js';
import { OPS } from '../src/graph/ops/op.js';
import type { HostTensor } from '../src/graph/tensor.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { conv2dOutputShape, conv2dPipeline, conv2dReference, recordConv2d, type Conv2dOptions } from '../src/kernels/op_conv2d.js';
import { caseNames } from './helpers/conformance.js';
import { DataType, attr, encodeModel, makeNode, makeSingleNodeModel, makeValueInfo } from '../src/onnx/index.js';
import { checkCase, runModel, runOp } from './op-cases.js';
import { expectClose, gpu, randn, rng } from './helpers/gpu.js';
import { ortRun, ortSession } from './helpers/ort.js';

const CASES = caseNames(/^test_conv_/);

interface RandomConv {
  xs: number[];
  ws: number[];
  bias: boolean;
  o: Conv2dOptions;
}

/** A seeded random convolution whose output has at least one position: any batch, channels, kernel and steps. */
function randomConv(seed: number): RandomConv {
  const r = rng(seed);
  const pick = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const [kh, kw] = [pick(1, 4), pick(1, 4)];
  const dilations: [number, number] = [pick(1, 2), pick(1, 2)];
  const pads: [number, number, number, number] = [pick(0, 2), pick(0, 2), pick(0, 2), pick(0, 2)];
  const extent = (k: number, d: number, before: number, after: number) => Math.max(1, (k - 1) * d + 1 - before - after);
  const h = extent(kh, dilations[0], pads[0], pads[2]) + pick(0, 9);
  const w = extent(kw, dilations[1], pads[1], pads[3]) + pick(0, 9);
  const c = pick(1, 6);
  return { xs: [pick(1, 2), c, h, w], ws: [pick(1, 10), c, kh, kw], bias: r() < 0.5, o: { strides: [pick(1, 3), pick(1, 3)], pads, dilations } };
}

const describeConv = ({ xs, ws, bias, o }: RandomConv) =>
  `x [${xs}] w [${ws}]${bias ? ' + bias' : ''} strides [${o.strides}] pads [${o.pads}] dilations [${o.dilations}]`;

async function checkKernel({ xs, ws, bias: hasBias, o }: RandomConv, seed: number, what: string): Promise<void> {
  const ctx = await gpu();
  await ctx.pipelines.prepare([conv2dPipeline({ bias: hasBias, padded: o.pads.some((p) => p > 0) })]);
  const xd = randn(numel(xs), seed);
  const wd = randn(numel(ws), seed + 1, 0.3);
  const bd = hasBias ? randn(ws[0]!, seed + 2) : undefined;
  const x = upload(ctx, xd, xs);
  const w = upload(ctx, wd, ws);
  const b = bd && upload(ctx, bd, [ws[0]!]);
  const y = empty(ctx, conv2dOutputShape(xs, ws, o));
  const step = new Step(ctx);
  recordConv2d(ctx, step, x, w, b, y, o);
  await step.submit();
  expectClose(await readF32(ctx, y), conv2dReference(xd, xs, wd, ws, bd, o), 1e-4, 1e-4, what);
  release(ctx, x, w, y, ...(b ? [b] : []));
}

describe('Conv: ONNX conformance cases', () => {
  it('finds the cases', () => expect(CASES.length).toBeGreaterThanOrEqual(4));
  for (const name of CASES) {
    it(name, () => checkCase(name));
  }
});

// Tolerance: 1e-4 absolute + 1e-4 relative (f32 sums of up to 192 products in a different order).
describe('op_conv2d kernel', () => {
  const configs: [string, number[], number[], boolean, Conv2dOptions][] = [
    ['padded, strided, tail channels and columns', [2, 3, 9, 11], [5, 3, 3, 3], true, { strides: [2, 1], pads: [1, 0, 2, 1], dilations: [1, 1] }],
    ['dilated, unpadded, no bias', [1, 2, 10, 13], [4, 2, 3, 2], false, { strides: [1, 2], pads: [0, 0, 0, 0], dilations: [2, 3] }],
    ['1x1 kernel, 7 channels', [1, 7, 5, 6], [9, 7, 1, 1], true, { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] }],
    ['patch embedding (kernel = stride = 8, 64x64 RGB, width 128)', [1, 3, 64, 64], [128, 3, 8, 8], false, { strides: [8, 8], pads: [0, 0, 0, 0], dilations: [1, 1] }],
  ];
  for (const [what, xs, ws, bias, o] of configs) {
    it(`${what} matches the reference`, () => checkKernel({ xs, ws, bias, o }, 1, what));
  }

  for (let seed = 100; seed < 116; seed++) {
    const conv = randomConv(seed);
    it(`random ${describeConv(conv)} matches the reference`, () => checkKernel(conv, seed, describeConv(conv)));
  }

  it('rejects mismatched channels and output shapes with KernelShapeError', async () => {
    const ctx = await gpu();
    const o: Conv2dOptions = { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] };
    const x = upload(ctx, new Float32Array(2 * 16), [1, 2, 4, 4]);
    const w = upload(ctx, new Float32Array(3 * 9), [1, 3, 3, 3]);
    expect(() => recordConv2d(ctx, new Step(ctx), x, w, undefined, empty(ctx, [1, 1, 2, 2]), o)).toThrow(KernelShapeError);
    expect(() => recordConv2d(ctx, new Step(ctx), x, w, undefined, empty(ctx, [1, 1, 2, 2]), o)).toThrow(/op_conv2d x \[1,2,4,4\] w \[1,3,3,3\].*w has 3 input channels but x has 2/);
    const w2 = upload(ctx, new Float32Array(2 * 9), [1, 2, 3, 3]);
    expect(() => recordConv2d(ctx, new Step(ctx), x, w2, undefined, empty(ctx, [1, 1, 3, 3]), o)).toThrow(/y has shape \[1,1,3,3\] but \[1,1,2,2\] was expected/);
    release(ctx, x, w, w2);
  });
});

describe('Conv op', () => {
  it('SAME_LOWER and SAME_UPPER put the odd pad at the start and the end', async () => {
    const xs = [1, 2, 6, 7];
    const ws = [3, 2, 4, 3];
    const x = fromNumbers('float32', xs, randn(numel(xs), 8));
    const w = fromNumbers('float32', ws, randn(numel(ws), 9));
    for (const [mode, pads] of [['SAME_LOWER', [2, 1, 1, 1]], ['SAME_UPPER', [1, 1, 2, 1]]] as const) {
      const [y] = await runOp('Conv', new Map<string, AttrValue>([['auto_pad', mode], ['strides', [1, 2]]]), [x, w]);
      const o: Conv2dOptions = { strides: [1, 2], pads, dilations: [1, 1] };
      expect(y!.dims).toEqual([1, 3, 6, 4]);
      expectClose(y!.data as Float32Array, conv2dReference(x.data as Float32Array, xs, w.data as Float32Array, ws, undefined, o), 1e-4, 1e-4, mode);
    }
  });

  for (let seed = 200; seed < 206; seed++) {
    const conv = randomConv(seed);
    it(`random ${describeConv(conv)} matches onnxruntime`, async () => {
      const { xs, ws, bias, o } = conv;
      const inputs: HostTensor[] = [fromNumbers('float32', xs, randn(numel(xs), seed)), fromNumbers('float32', ws, randn(numel(ws), seed + 1, 0.3))];
      if (bias) inputs.push(fromNumbers('float32', [ws[0]!], randn(ws[0]!, seed + 2)));
      const names = ['x', 'w', 'b'].slice(0, inputs.length);
      const model = makeSingleNodeModel({
        node: makeNode('Conv', names, ['y'], { strides: attr.ints([...o.strides]), pads: attr.ints([...o.pads]), dilations: attr.ints([...o.dilations]) }),
        inputs: inputs.map((t, i) => makeValueInfo(names[i]!, DataType.FLOAT, [...t.dims])),
        outputs: [makeValueInfo('y', DataType.FLOAT)],
      });
      const [ours] = await runModel(model, inputs);
      const theirs = await ortRun(await ortSession(encodeModel(model)), Object.fromEntries(names.map((n, i) => [n, inputs[i]!])));
      expect(ours!.dims).toEqual(conv2dOutputShape(xs, ws, o));
      expectClose(ours!.data as Float32Array, theirs.y!, 1e-4, 1e-4, describeConv(conv));
    });
  }

  it('rejects groups other than 1 and non-2D convolutions with a clear error', () => {
    const node = { name: 'c', op: 'Conv', domain: '', inputs: [], outputs: [], attrs: new Map<string, AttrValue>([['group', 2]]) };
    const conv = OPS.get(':Conv')!;
    expect(() => conv.infer(node, [{ type: 'float32', dims: [1, 4, 5, 5] }, { type: 'float32', dims: [2, 2, 3, 3] }], [])).toThrow(/group 2 is not supported, only group 1/);
    node.attrs.delete('group');
    expect(() => conv.infer(node, [{ type: 'float32', dims: [1, 4, 5] }, { type: 'float32', dims: [2, 4, 3] }], [])).toThrow(/only 2D convolution/);
  });
});
