// The small fusion passes (src/graph/passes/{rmsnorm,activation,matmul-bias}.ts) on graphs built in the forms
// PyTorch exports: each graph runs with fusions on and off; the counts in stats.fusions and the fused op types
// are checked, and both runs must agree to 1e-5 (the fused kernels compute the same f32 maths in another order).
// Groups whose intermediates are read elsewhere, or whose weights are not constants, must stay as they are.
import { describe, expect, it } from 'vitest';
import { InferenceSession } from '../src/graph/session.js';
import type { HostTensor } from '../src/graph/tensor.js';
import { DataType, attr, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo, type OnnxAttributeValue, type OnnxNode, type OnnxTensor } from '../src/onnx/index.js';
import { expectClose, gpu, randn } from './helpers/gpu.js';

const D = 24;
const X_DIMS = [2, 5, D];

/** One small graph: input "x" [2,5,24], the given nodes and constants, and the listed outputs. */
interface Spec {
  nodes: OnnxNode[];
  consts: OnnxTensor[];
  outputs: string[];
  opset?: number;
}

const scalarT = (name: string, v: number) => makeTensor(name, DataType.FLOAT, [], [v]);
const node = (op: string, inputs: string[], output: string, attrs: Record<string, OnnxAttributeValue> = {}) => makeNode(op, inputs, [output], attrs);

async function runBoth(spec: Spec, extraInputs: [string, HostTensor][] = []) {
  const model = makeModel(
    makeGraph({
      nodes: spec.nodes,
      inputs: [makeValueInfo('x', DataType.FLOAT, X_DIMS), ...extraInputs.map(([n, t]) => makeValueInfo(n, DataType.FLOAT, [...t.dims]))],
      outputs: spec.outputs.map((o) => makeValueInfo(o, DataType.FLOAT)),
      initializers: spec.consts,
    }),
    { opsets: { '': spec.opset ?? 17 } },
  );
  const x: HostTensor = { type: 'float32', dims: X_DIMS, data: randn(2 * 5 * D, 42) };
  const feeds = { x, ...Object.fromEntries(extraInputs) };
  const ctx = await gpu();
  const results = [];
  for (const fusions of [true, false]) {
    const session = await InferenceSession.create(model, { gpu: ctx, fusions });
    const out = await session.run(feeds);
    results.push({ stats: session.stats, outs: spec.outputs.map((o) => out.get(o) as HostTensor) });
    session.dispose();
  }
  const [on, off] = results as [(typeof results)[0], (typeof results)[0]];
  spec.outputs.forEach((o, i) => {
    expect(on.outs[i]!.dims).toEqual(off.outs[i]!.dims);
    expectClose(on.outs[i]!.data as Float32Array, off.outs[i]!.data as Float32Array, 1e-5, 1e-5, `output ${o}, fusions on vs off`);
  });
  return on.stats;
}

/** The pass counts of interest (the lead's attention and FFN passes find nothing in these graphs). */
const counts = (s: { fusions: Record<string, number> }) => ({ rmsnorm: s.fusions.rmsnorm, activation: s.fusions.activation, 'matmul-bias': s.fusions['matmul-bias'] });

// ---------------------------------------------------------------- RMSNorm

function rmsnorm(x: string, variant: { reciprocal?: boolean; swapped?: boolean; axesInput?: boolean }, out = 'y'): Spec {
  const p = `${x}_rms`;
  const nodes = [
    node('Pow', [x, `${p}.two`], `${p}.sq`),
    variant.axesInput ? node('ReduceMean', [`${p}.sq`, `${p}.axes`], `${p}.mean`, { keepdims: attr.int(1) }) : node('ReduceMean', [`${p}.sq`], `${p}.mean`, { axes: attr.ints([-1]), keepdims: attr.int(1) }),
    node('Add', variant.swapped ? [`${p}.eps`, `${p}.mean`] : [`${p}.mean`, `${p}.eps`], `${p}.var`),
    node('Sqrt', [`${p}.var`], `${p}.std`),
    variant.reciprocal ? node('Reciprocal', [`${p}.std`], `${p}.inv`) : node('Div', [`${p}.one`, `${p}.std`], `${p}.inv`),
    node('Mul', variant.swapped ? [`${p}.inv`, x] : [x, `${p}.inv`], `${p}.normed`),
    node('Mul', variant.swapped ? [`${p}.w`, `${p}.normed`] : [`${p}.normed`, `${p}.w`], out),
  ];
  const consts = [scalarT(`${p}.two`, 2), scalarT(`${p}.eps`, 1e-6), scalarT(`${p}.one`, 1), makeTensor(`${p}.w`, DataType.FLOAT, [D], randn(D, 7))];
  if (variant.axesInput) consts.push(makeTensor(`${p}.axes`, DataType.INT64, [1], [-1]));
  return { nodes, consts, outputs: [out], opset: variant.axesInput ? 18 : 17 };
}

describe('rmsnorm fusion', () => {
  it('fuses the Div(1, Sqrt) form PyTorch exports', async () => {
    const stats = await runBoth(rmsnorm('x', {}));
    expect(counts(stats)).toEqual({ rmsnorm: 1, activation: 0, 'matmul-bias': 0 });
    expect(stats.ops).toEqual({ 'memvp.RMSNorm': 1 });
  });

  it('fuses the Reciprocal form with swapped operands and opset-18 axes input', async () => {
    const stats = await runBoth(rmsnorm('x', { reciprocal: true, swapped: true, axesInput: true }));
    expect(counts(stats)).toMatchObject({ rmsnorm: 1 });
    expect(stats.ops).toEqual({ 'memvp.RMSNorm': 1 });
  });

  it('leaves the group alone when an intermediate is read elsewhere', async () => {
    const spec = rmsnorm('x', {});
    spec.outputs.push('x_rms.mean');
    const stats = await runBoth(spec);
    expect(stats.fusions.rmsnorm).toBe(0);
  });

  it('leaves the group alone when the weight is not a constant', async () => {
    const spec = rmsnorm('x', {});
    spec.consts = spec.consts.filter((t) => t.name !== 'x_rms.w');
    const stats = await runBoth(spec, [['x_rms.w', { type: 'float32', dims: [D], data: randn(D, 8) }]]);
    expect(stats.fusions.rmsnorm).toBe(0);
  });
});

// ---------------------------------------------------------------- activations

type GeluOrder = 'half-last' | 'half-first' | 'half-on-erf';

function gelu(x: string, order: GeluOrder, byMul: boolean, out: string): { nodes: OnnxNode[]; consts: OnnxTensor[] } {
  const p = `${out}_gelu`;
  const nodes = [
    byMul ? node('Mul', [x, `${p}.c`], `${p}.s`) : node('Div', [x, `${p}.c`], `${p}.s`),
    node('Erf', [`${p}.s`], `${p}.e`),
    node('Add', [`${p}.e`, `${p}.one`], `${p}.a`),
  ];
  if (order === 'half-last') nodes.push(node('Mul', [x, `${p}.a`], `${p}.m`), node('Mul', [`${p}.m`, `${p}.half`], out));
  if (order === 'half-first') nodes.push(node('Mul', [x, `${p}.half`], `${p}.h`), node('Mul', [`${p}.h`, `${p}.a`], out));
  if (order === 'half-on-erf') nodes.push(node('Mul', [`${p}.a`, `${p}.half`], `${p}.m`), node('Mul', [`${p}.m`, x], out));
  const consts = [scalarT(`${p}.c`, byMul ? Math.SQRT1_2 : Math.SQRT2), scalarT(`${p}.one`, 1), scalarT(`${p}.half`, 0.5)];
  return { nodes, consts };
}

describe('activation fusion', () => {
  for (const order of ['half-last', 'half-first', 'half-on-erf'] as const) {
    for (const byMul of [false, true]) {
      it(`fuses GELU (${order}, ${byMul ? 'Mul by 0.7071' : 'Div by 1.4142'})`, async () => {
        const g = gelu('x', order, byMul, 'y');
        const stats = await runBoth({ ...g, outputs: ['y'] });
        expect(counts(stats)).toEqual({ rmsnorm: 0, activation: 1, 'matmul-bias': 0 });
        expect(stats.ops).toEqual({ 'memvp.Activation': 1 });
      });
    }
  }

  it('fuses SiLU in either operand order', async () => {
    const nodes = [node('Sigmoid', ['x'], 's1'), node('Mul', ['x', 's1'], 'y1'), node('Sigmoid', ['x'], 's2'), node('Mul', ['s2', 'x'], 'y2')];
    const stats = await runBoth({ nodes, consts: [], outputs: ['y1', 'y2'] });
    expect(stats.fusions.activation).toBe(2);
    expect(stats.ops).toEqual({ 'memvp.Activation': 2 });
  });

  it('leaves SiLU and GELU alone when their intermediates are read elsewhere', async () => {
    const g = gelu('x', 'half-last', false, 'y2');
    const nodes = [node('Sigmoid', ['x'], 's'), node('Mul', ['x', 's'], 'y1'), node('Add', ['s', 'x'], 'y3'), ...g.nodes];
    const stats = await runBoth({ nodes, consts: g.consts, outputs: ['y1', 'y2', 'y3', 'y2_gelu.e'] });
    expect(stats.fusions.activation).toBe(0);
  });

  it('does not take Mul(x, Sigmoid(z)) for SiLU', async () => {
    const nodes = [node('Neg', ['x'], 'z'), node('Sigmoid', ['z'], 's'), node('Mul', ['x', 's'], 'y')];
    const stats = await runBoth({ nodes, consts: [], outputs: ['y'] });
    expect(stats.fusions.activation).toBe(0);
  });
});

// ---------------------------------------------------------------- MatMul epilogues

const N = 40;
const weight = (name: string, k = D, n = N) => makeTensor(name, DataType.FLOAT, [k, n], randn(k * n, k + n, 0.2));
const bias = (name: string, n = N) => makeTensor(name, DataType.FLOAT, [n], randn(n, n + 3));

describe('matmul-bias fusion', () => {
  it('fuses MatMul + Add(bias) + GELU (the ViT MLP), bias first as exported', async () => {
    const g = gelu('h', 'half-last', false, 'y');
    const nodes = [node('MatMul', ['x', 'W'], 'mm'), node('Add', ['b', 'mm'], 'h'), ...g.nodes];
    const stats = await runBoth({ nodes, consts: [weight('W'), bias('b'), ...g.consts], outputs: ['y'] });
    expect(counts(stats)).toEqual({ rmsnorm: 0, activation: 1, 'matmul-bias': 1 });
    expect(stats.ops).toEqual({ 'memvp.MatMul': 1 });
  });

  it('fuses MatMul + SiLU without a bias, and MatMul + bias without an activation', async () => {
    const nodes = [
      node('MatMul', ['x', 'W1'], 'a'), node('Sigmoid', ['a'], 'sa'), node('Mul', ['a', 'sa'], 'y1'),
      node('MatMul', ['x', 'W2'], 'c'), node('Add', ['c', 'b2'], 'y2'),
    ];
    const stats = await runBoth({ nodes, consts: [weight('W1'), weight('W2'), bias('b2')], outputs: ['y1', 'y2'] });
    expect(counts(stats)).toEqual({ rmsnorm: 0, activation: 1, 'matmul-bias': 2 });
    expect(stats.ops).toEqual({ 'memvp.MatMul': 2 });
  });

  it('fuses an RMSNorm and the MatMul + bias that reads it', async () => {
    const r = rmsnorm('x', {}, 'n');
    const nodes = [...r.nodes, node('MatMul', ['n', 'W'], 'mm'), node('Add', ['mm', 'b'], 'y')];
    const stats = await runBoth({ nodes, consts: [...r.consts, weight('W'), bias('b')], outputs: ['y'] });
    expect(counts(stats)).toEqual({ rmsnorm: 1, activation: 0, 'matmul-bias': 1 });
    expect(stats.ops).toEqual({ 'memvp.RMSNorm': 1, 'memvp.MatMul': 1 });
  });

  it('leaves MatMuls alone whose output is read elsewhere, whose weight is an input, or whose bias is not [N]', async () => {
    const nodes = [
      node('MatMul', ['x', 'W1'], 'a'), node('Add', ['a', 'b1'], 'y1'), node('Neg', ['a'], 'y2'),
      node('MatMul', ['x', 'Win'], 'c'), node('Add', ['c', 'b2'], 'y3'),
      node('MatMul', ['x', 'W3'], 'e'), node('Add', ['e', 'b3'], 'y4'),
    ];
    const consts = [weight('W1'), bias('b1'), bias('b2'), weight('W3'), makeTensor('b3', DataType.FLOAT, [1, N], randn(N, 9))];
    const stats = await runBoth({ nodes, consts, outputs: ['y1', 'y2', 'y3', 'y4'] }, [['Win', { type: 'float32', dims: [D, N], data: randn(D * N, 10) }]]);
    expect(stats.fusions['matmul-bias']).toBe(0);
  });
});
