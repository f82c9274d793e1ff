// y = op(x) elementwise for the ONNX unary ops and Cast, on any 32-bit storage type, with the narrowing of the output
// type (float16, bool, 8- and 16-bit integers) applied on store. The maths per op code lives with the ops
// (src/graph/ops/elementwise.ts, unary-math.ts), whose host evaluation is this kernel's reference.
import code from '../../shaders/op_unary.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { deviceType, type ElemType } from '../graph/tensor.js';
import { checkTensor, grid1d } from './common.js';
import { STORAGE } from './op_types.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

/** NARROW codes of op_unary.wgsl: types whose values are narrower than their 32-bit storage. */
const NARROW: Partial<Record<ElemType, number>> = { float16: 1, bool: 2, int8: 3, uint8: 4, int16: 5, uint16: 6 };

export const unaryKernel = defineKernel('op_unary', code, uniformLayout({ n: 'u32', alpha: 'f32', beta: 'f32' }));

export interface UnarySpec {
  /** An op code of op_unary.wgsl (the ops' tables in src/graph/ops), or 0 for Cast (a pure type conversion). */
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
    uniforms: unaryKernel.pack({ n, alpha: s.alpha ?? 0, beta: s.beta ?? 0 }),
    buffers: [x.buffer, y.buffer],
    workgroups: grid1d(ctx, Math.ceil(n / 256)),
  });
}
