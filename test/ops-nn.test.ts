// The nn operators (src/graph/ops/nn.ts) through InferenceSession: the ONNX conformance cases of MatMul, Gemm,
// Softmax and LayerNormalization (incl. the _expanded ones, which need Size), and one-node models built here for
// what the cases do not reach: broadcast matmul batches, 1D operands, the GEMV path, Gemm's transA and scaled C,
// Softmax off the last axis and before opset 13, LayerNormalization's optional outputs, MatMulNBits.
// Tolerance: 1e-4 absolute + 1e-4 relative against double-precision references (f32 sums of <= 64 products);
// the conformance cases use onnxruntime's 1e-3 (test/op-cases.ts).
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../src/graph/tensor.js';
import { matmulNBitsReference } from '../src/kernels/matmul_nbits.js';
import { quantizeBlockwise, quantLayout, type QuantBits } from '../src/kernels/quant.js';
import { DataType, attr, makeNode, makeSingleNodeModel, makeTensor, makeValueInfo, type OnnxAttributeValue, type OnnxTensor } from '../src/onnx/index.js';
import { caseNames } from './helpers/conformance.js';
import { checkCase, runModel } from './op-cases.js';
import { expectClose, randn } from './helpers/gpu.js';

const CASES = caseNames(/^test_(matmul|gemm|softmax|layer_normalization)_/);

describe('nn ops: ONNX conformance cases', () => {
  it('finds the cases', () => expect(CASES.length).toBeGreaterThanOrEqual(66));
  for (const name of CASES) {
    it(name, () => checkCase(name));
  }
});

const f32 = (dims: number[], seed: number): HostTensor => ({ type: 'float32', dims, data: randn(dims.reduce((a, b) => a * b, 1), seed) });

/** Runs a one-node model; `inputs` are fed, `inits` become initializers. */
async function runOne(
  op: string,
  inputs: [string, HostTensor][],
  outputs: string[],
  attrs: Record<string, OnnxAttributeValue> = {},
  opts: { inits?: OnnxTensor[]; domain?: string; opset?: number } = {},
): Promise<HostTensor[]> {
  const model = makeSingleNodeModel({
    node: makeNode(op, [...inputs.map(([n]) => n), ...(opts.inits ?? []).map((t) => t.name)], outputs, attrs, { domain: opts.domain }),
    inputs: inputs.map(([n, t]) => makeValueInfo(n, DataType.FLOAT, [...t.dims])),
    outputs: outputs.map((n) => makeValueInfo(n, DataType.FLOAT)),
    initializers: opts.inits,
    opsets: { '': opts.opset ?? 21 },
  });
  return runModel(model, inputs.map(([, t]) => t));
}

const data = (t: HostTensor) => t.data as Float32Array;

/** Batched matmul reference with numpy broadcasting (operands at least 2D here). */
function matmulRef(a: HostTensor, b: HostTensor): { dims: number[]; data: Float64Array } {
  const [M, K] = a.dims.slice(-2) as [number, number];
  const N = b.dims.at(-1)!;
  const ab = a.dims.slice(0, -2);
  const bb = b.dims.slice(0, -2);
  const r = Math.max(ab.length, bb.length);
  const pad = (d: readonly number[]) => [...new Array<number>(r - d.length).fill(1), ...d];
  const [pa, pb] = [pad(ab), pad(bb)];
  const batch = pa.map((d, i) => Math.max(d, pb[i]!));
  const nb = batch.reduce((x, y) => x * y, 1);
  const out = new Float64Array(nb * M * N);
  const index = (p: number[], z: number) => {
    let idx = 0;
    let rem = z;
    let stride = 1;
    for (let i = r - 1; i >= 0; i--) {
      const c = rem % batch[i]!;
      rem = Math.floor(rem / batch[i]!);
      idx += (p[i] === 1 ? 0 : c) * stride;
      stride *= p[i]!;
    }
    return idx;
  };
  for (let z = 0; z < nb; z++) {
    const ao = index(pa, z) * M * K;
    const bo = index(pb, z) * K * N;
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += data(a)[ao + m * K + k]! * data(b)[bo + k * N + n]!;
      out[(z * M + m) * N + n] = s;
    }
  }
  return { dims: [...batch, M, N], data: out };
}

describe('MatMul', () => {
  const shapes: [number[], number[]][] = [
    [[2, 1, 5, 7], [3, 7, 6]], // batch broadcast on both sides: both operands expanded
    [[4, 3, 7], [7, 9]], // B shared: batches folded into rows
    [[5, 7], [2, 7, 3]], // A shared
    [[2, 2, 3, 7], [2, 2, 7, 5]], // equal batches, M <= 4 (GEMV)
    [[1, 1, 1], [1, 1]],
  ];
  for (const [as, bs] of shapes) {
    it(`[${as}] x [${bs}] matches numpy broadcasting`, async () => {
      const a = f32(as, 1);
      const b = f32(bs, 2);
      const [y] = await runOne('MatMul', [['a', a], ['b', b]], ['y']);
      const want = matmulRef(a, b);
      expect(y!.dims).toEqual(want.dims);
      expectClose(data(y!), want.data, 1e-4, 1e-4, `MatMul [${as}] x [${bs}]`);
    });
  }

  it('drops the unit dims of 1D operands', async () => {
    const a = f32([7], 3);
    const b = f32([2, 7, 5], 4);
    const [y] = await runOne('MatMul', [['a', a], ['b', b]], ['y']);
    expect(y!.dims).toEqual([2, 5]);
    expectClose(data(y!), matmulRef({ ...a, dims: [1, 7] }, b).data, 1e-4, 1e-4, 'vector x batch');
    const v = f32([5], 5);
    const [z] = await runOne('MatMul', [['a', b], ['b', v]], ['y']);
    expect(z!.dims).toEqual([2, 7]);
    expectClose(data(z!), matmulRef(b, { ...v, dims: [5, 1] }).data, 1e-4, 1e-4, 'batch x vector');
  });

  it('rejects inner dimensions that differ, naming the node', async () => {
    await expect(runOne('MatMul', [['a', f32([2, 3], 1)], ['b', f32([4, 2], 2)]], ['y'])).rejects.toThrow(/MatMul.*inner dimensions differ \(3 vs 4\)/);
  });
});

describe('Gemm', () => {
  it('transposes A and scales a broadcast C by beta', async () => {
    const [M, K, N] = [6, 5, 7];
    const a = f32([K, M], 1);
    const b = f32([N, K], 2);
    const c = f32([M, 1], 3);
    const [y] = await runOne('Gemm', [['a', a], ['b', b], ['c', c]], ['y'], { transA: attr.int(1), transB: attr.int(1), alpha: attr.float(0.5), beta: attr.float(-2) });
    const want = new Float64Array(M * N);
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += data(a)[k * M + m]! * data(b)[n * K + k]!;
      want[m * N + n] = 0.5 * s - 2 * data(c)[m]!;
    }
    expect(y!.dims).toEqual([M, N]);
    expectClose(data(y!), want, 1e-4, 1e-4, 'Gemm transA transB alpha beta');
  });
});

describe('Softmax', () => {
  function softmaxRef(x: Float32Array, dims: number[], axis: number): Float64Array {
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const n = dims[axis]!;
    const outer = x.length / (n * inner);
    const y = new Float64Array(x.length);
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
      const at = (j: number) => (o * n + j) * inner + i;
      let m = -Infinity;
      for (let j = 0; j < n; j++) m = Math.max(m, x[at(j)]!);
      let s = 0;
      for (let j = 0; j < n; j++) s += Math.exp(x[at(j)]! - m);
      for (let j = 0; j < n; j++) y[at(j)] = Math.exp(x[at(j)]! - m) / s;
    }
    return y;
  }

  it('normalises axis 1 of a 4D tensor (moved last and back)', async () => {
    const x = f32([2, 5, 3, 4], 7);
    const [y] = await runOne('Softmax', [['x', x]], ['y'], { axis: attr.int(1) });
    expectClose(data(y!), softmaxRef(data(x), [2, 5, 3, 4], 1), 1e-6, 1e-5, 'softmax axis 1');
  });

  it('coerces to 2D at the axis before opset 13', async () => {
    const x = f32([2, 3, 4], 8);
    const [y] = await runOne('Softmax', [['x', x]], ['y'], {}, { opset: 11 });
    // Default axis 1: each of the 2 rows of 12 values sums to 1.
    expectClose(data(y!), softmaxRef(data(x), [2, 12], 1), 1e-6, 1e-5, 'softmax opset 11');
  });
});

describe('LayerNormalization', () => {
  it('writes Mean but no InvStdDev, over the last two axes, with a broadcast scale', async () => {
    const x = f32([3, 4, 5], 9);
    const scale = makeTensor('scale', DataType.FLOAT, [5], randn(5, 10));
    const [y, mean] = await runOne('LayerNormalization', [['x', x]], ['y', 'mean'], { axis: attr.int(-2), epsilon: attr.float(1e-3) }, { inits: [scale] });
    const s = new Float32Array(scale.rawData!.buffer, scale.rawData!.byteOffset, 5);
    const want = new Float64Array(60);
    const wantMean = new Float64Array(3);
    for (let r = 0; r < 3; r++) {
      const row = data(x).subarray(r * 20, r * 20 + 20);
      const mu = row.reduce((a, v) => a + v, 0) / 20;
      const inv = 1 / Math.sqrt(row.reduce((a, v) => a + (v - mu) ** 2, 0) / 20 + 1e-3);
      wantMean[r] = mu;
      for (let j = 0; j < 20; j++) want[r * 20 + j] = (row[j]! - mu) * inv * s[j % 5]!;
    }
    expect(mean!.dims).toEqual([3, 1, 1]);
    expectClose(data(y!), want, 1e-5, 1e-5, 'layernorm y');
    expectClose(data(mean!), wantMean, 1e-6, 1e-5, 'layernorm mean');
  });
});

describe('com.microsoft MatMulNBits', () => {
  const configs: [QuantBits, number, boolean, boolean, number[]][] = [
    [4, 32, true, true, [2, 5, 64]], // zero points and bias, batched rows (tiled kernel)
    [8, 16, false, false, [3, 48]], // symmetric, 3 rows (decode kernel)
  ];
  for (const [bits, blockSize, zp, hasBias, aDims] of configs) {
    it(`${bits}-bit, block ${blockSize}${zp ? ', zero points' : ''}${hasBias ? ', bias' : ''}: A [${aDims}]`, async () => {
      const K = aDims.at(-1)!;
      const N = 20;
      const q = quantizeBlockwise(randn(K * N, 21, 0.5), K, N, { bits, blockSize, symmetric: !zp });
      const { nBlocks, blobSize } = quantLayout(K, { bits, blockSize });
      const bias = randn(N, 22);
      const inits = [
        makeTensor('B', DataType.UINT8, [N, nBlocks, blobSize], q.packed),
        makeTensor('scales', DataType.FLOAT, [N * nBlocks], q.scales),
        ...(q.zeroPoints ? [makeTensor('zp', DataType.UINT8, [q.zeroPoints.length], q.zeroPoints)] : []),
      ];
      const a = f32(aDims, 23);
      const model = makeSingleNodeModel({
        node: makeNode('MatMulNBits', ['A', 'B', 'scales', q.zeroPoints ? 'zp' : '', '', ...(hasBias ? ['bias'] : [])], ['Y'], { K: attr.int(K), N: attr.int(N), bits: attr.int(bits), block_size: attr.int(blockSize) }, { domain: 'com.microsoft' }),
        inputs: [makeValueInfo('A', DataType.FLOAT, aDims)],
        outputs: [makeValueInfo('Y', DataType.FLOAT)],
        initializers: [...inits, ...(hasBias ? [makeTensor('bias', DataType.FLOAT, [N], bias)] : [])],
      });
      const [y] = await runModel(model, [a]);
      const rows = data(a).length / K;
      expect(y.dims).toEqual([...aDims.slice(0, -1), N]);
      expectClose(data(y), matmulNBitsReference(data(a), q, { M: rows, N, K, bits, blockSize }, hasBias ? { bias } : {}), 1e-4, 1e-4, 'MatMulNBits');
    });
  }

  it('rejects g_idx', async () => {
    const model = makeSingleNodeModel({
      node: makeNode('MatMulNBits', ['A', 'B', 'scales', '', 'g'], ['Y'], { K: attr.int(16), N: attr.int(4), bits: attr.int(4), block_size: attr.int(16) }, { domain: 'com.microsoft' }),
      inputs: [makeValueInfo('A', DataType.FLOAT, [1, 16])],
      outputs: [makeValueInfo('Y', DataType.FLOAT)],
      initializers: [
        makeTensor('B', DataType.UINT8, [4, 1, 8], new Uint8Array(32)),
        makeTensor('scales', DataType.FLOAT, [4], new Float32Array(4)),
        makeTensor('g', DataType.INT32, [16], new Int32Array(16)),
      ],
    });
    await expect(runModel(model, [f32([1, 16], 1)])).rejects.toThrow(/MatMulNBits.*g_idx/);
  });
});
