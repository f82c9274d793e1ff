// Elementwise activation: y = act(x) for SiLU, GELU (erf and tanh), quick-GELU.
import code from '../../shaders/activation.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { ACT_CODE, activationRef, type Activation } from './activations.js';
import { Uniforms, checkTensor, grid1d } from './common.js';
import { kernelSource } from './shader.js';

const kernel = kernelSource('activation', code);

export function activationPipeline(act: Activation): PipelineSpec {
  return { kernel, constants: { ACT: ACT_CODE[act] } };
}

export function recordActivation(ctx: GpuContext, step: Step, act: Activation, x: GpuTensor, y: GpuTensor): void {
  const label = `activation(${act}) ${shapeStr(x.shape)}`;
  checkTensor(label, 'y', y, x.shape);
  const n = numel(x.shape);
  step.dispatch({
    pipeline: activationPipeline(act),
    label,
    uniforms: new Uniforms().u32(n).data,
    buffers: [x.buffer, y.buffer],
    workgroups: grid1d(ctx, Math.ceil(n / 256)),
  });
}

export function activationReference(act: Activation, x: Float32Array): Float32Array {
  return x.map((v) => activationRef(v, act));
}
