// Catches wrong shape arithmetic in the shape ops (ONNX cases and host evaluation), on the GPU and in constant
// folding.
import { describe, expect, it } from 'vitest';
import '../src/graph/ops/shape.js';
import type { AttrValue } from '../src/graph/ir.js';
import { fromNumbers } from '../src/graph/ops/hostnum.js';
import { OPS } from '../src/graph/ops/op.js';
import type { HostTensor } from '../src/graph/tensor.js';
import { caseNames } from './helpers/conformance.js';
import { checkCase, hostNode } from './op-cases.js';

// Conformance cases compare exactly for integers and within 1e-3 for floats (onnxruntime's tolerance).
const CASES = caseNames(/^test_(constant|constantofshape_.*|flatten_.*|reshape_.*|shape.*|squeeze.*|unsqueeze.*|range_.*|identity)$/).filter((n) => !n.endsWith('_expanded'));

describe('shape ops: ONNX conformance cases', () => {
  it('finds the cases', () => expect(CASES.length).toBeGreaterThan(40));
  for (const name of CASES) {
    it(name, () => checkCase(name));
  }
});

describe('shape ops: host evaluation and views', () => {
  const i64 = (dims: number[], v: number[]) => fromNumbers('int64', dims, v);
  const f32 = (dims: number[]) => fromNumbers('float32', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => i));
  const dimsOf = (op: string, attrs: [string, AttrValue][], inputs: (HostTensor | undefined)[]) => hostNode(op, new Map(attrs), inputs)![0]!.dims;

  it('view ops alias their input and run no kernel', () => {
    for (const op of ['Reshape', 'Squeeze', 'Unsqueeze', 'Flatten', 'Identity']) {
      expect(OPS.get(`:${op}`)!.aliases).toEqual([0]);
      expect(OPS.get(`:${op}`)!.record).toBeUndefined();
    }
  });

  it('Reshape handles 0 (copy), -1 (infer) and allowzero', () => {
    expect(dimsOf('Reshape', [], [f32([2, 3, 4]), i64([3], [0, -1, 2])])).toEqual([2, 6, 2]);
    expect(dimsOf('Reshape', [['allowzero', 1]], [f32([0, 3]), i64([2], [3, 0])])).toEqual([3, 0]);
    expect(() => dimsOf('Reshape', [], [f32([2, 3]), i64([1], [5])])).toThrow(/cannot reshape \[2,3\] to \[5\]/);
  });

  it('Squeeze/Unsqueeze take axes from the attribute (opset < 13) or the input', () => {
    expect(dimsOf('Squeeze', [['axes', [-2]]], [f32([3, 1, 4])])).toEqual([3, 4]);
    expect(dimsOf('Squeeze', [], [f32([1, 3, 1, 4, 1])])).toEqual([3, 4]);
    expect(dimsOf('Unsqueeze', [['axes', [0, -1]]], [f32([3, 4])])).toEqual([1, 3, 4, 1]);
    expect(dimsOf('Unsqueeze', [], [f32([3, 4]), i64([2], [3, 1])])).toEqual([3, 1, 4, 1]);
    expect(() => dimsOf('Squeeze', [['axes', [0]]], [f32([3, 1])])).toThrow(/are not all 1/);
  });

  it('Shape reads only metadata and honours start/end; Range and ConstantOfShape keep int64', () => {
    expect(OPS.get(':Shape')!.metaOnly).toBe(true);
    const [s] = hostNode('Shape', new Map([['start', -2]]), [f32([2, 3, 5])])!;
    expect(s!.type).toBe('int64');
    expect(Array.from(s!.data as BigInt64Array, Number)).toEqual([3, 5]);
    const [r] = hostNode('Range', new Map(), [i64([], [10]), i64([], [1]), i64([], [-4])])!;
    expect(Array.from(r!.data as BigInt64Array, Number)).toEqual([10, 6, 2]);
    const [c] = hostNode('ConstantOfShape', new Map([['value', i64([1], [7])]]), [i64([2], [2, 2])])!;
    expect(c!.type).toBe('int64');
    expect(Array.from(c!.data as BigInt64Array, Number)).toEqual([7, 7, 7, 7]);
    expect(hostNode('Constant', new Map([['value_ints', [1, 2]]]), [])![0]!.type).toBe('int64');
  });
});
