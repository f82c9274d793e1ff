// y = a (op) b elementwise with numpy broadcasting, for the ONNX arithmetic, comparison and logic ops on any 32-bit
// storage type; equal shapes take a specialisation without the broadcast index maths. The maths per op code lives
// with the ops (src/graph/ops/elementwise.ts); binaryReference folds any such maths over broadcast operands.
import code from '../../shaders/op_binary.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { deviceType, type ElemType } from '../graph/tensor.js';
import { check, checkTensor } from './common.js';
import { BCAST_UNIFORMS, broadcastAll, broadcastIndex, broadcastValues, broadcastWorkgroups } from './op_bcast.js';
import { STORAGE } from './op_types.js';
import { defineKernel } from './shader.js';

export const binaryKernel = defineKernel('op_binary', code, BCAST_UNIFORMS);

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
    uniforms: binaryKernel.pack(broadcastValues(label, y.shape, [a.shape, b.shape])),
    buffers: [a.buffer, b.buffer, y.buffer],
    workgroups: broadcastWorkgroups(ctx, numel(y.shape)),
  });
}

/** f folded left to right over operands broadcast together (numpy rules): the output shape and its values. */
export function binaryReference(operands: readonly { values: ArrayLike<number>; dims: readonly number[] }[], f: (a: number, b: number) => number): { dims: number[]; values: number[] } {
  const dims = broadcastAll(operands.map((t) => t.dims));
  const idx = operands.map((t) => broadcastIndex(t.dims, dims));
  const out = Array.from(idx[0]!, (j) => operands[0]!.values[j]!);
  for (let k = 1; k < operands.length; k++) for (let i = 0; i < out.length; i++) out[i] = f(out[i]!, operands[k]!.values[idx[k]![i]!]!);
  return { dims, values: out };
}
