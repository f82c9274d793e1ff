// Residual add: out = a + b, elementwise, same shapes.
import code from '../../shaders/add.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { Uniforms, checkTensor, grid1d } from './common.js';
import { kernelSource } from './shader.js';

const kernel = kernelSource('add', code);

export function addPipeline(): PipelineSpec {
  return { kernel };
}

export function recordAdd(ctx: GpuContext, step: Step, a: GpuTensor, b: GpuTensor, out: GpuTensor): void {
  const label = `add a${shapeStr(a.shape)} b${shapeStr(b.shape)}`;
  checkTensor(label, 'a', a, a.shape);
  checkTensor(label, 'b', b, a.shape);
  checkTensor(label, 'out', out, a.shape);
  const n = numel(a.shape);
  step.dispatch({
    pipeline: addPipeline(),
    label,
    uniforms: new Uniforms().u32(n).data,
    buffers: [a.buffer, b.buffer, out.buffer],
    workgroups: grid1d(ctx, Math.ceil(n / 256)),
  });
}

export function addReference(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => v + b[i]!);
}
