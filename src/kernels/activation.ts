// Activation functions: their names, their codes in shaders/lib/activations.wgsl (ACT of every kernel with an
// activation epilogue), plain-TS references, and the elementwise kernel y = act(x) (shaders/activation.wgsl).
import code from '../../shaders/activation.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { checkTensor, grid1d } from './common.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export type Activation = 'none' | 'silu' | 'gelu_erf' | 'gelu_tanh' | 'quick_gelu';

export const ACT_CODE: Record<Activation, number> = { none: 0, silu: 1, gelu_erf: 2, gelu_tanh: 3, quick_gelu: 4 };

/** erf to near double precision: Maclaurin series near 0, continued fraction for erfc in the tails. */
export function erf(x: number): number {
  const a = Math.abs(x);
  let r: number;
  if (a < 2.5) {
    // Maclaurin series: converges fast for |x| < 2.5.
    let term = a;
    let sum = a;
    for (let n = 1; n < 60; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // Continued fraction for erfc.
    let f = 0;
    for (let n = 60; n >= 1; n--) f = (n / 2) / (a + f);
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
  }
  return x < 0 ? -r : r;
}

export function activationRef(x: number, act: Activation): number {
  switch (act) {
    case 'silu':
      return x / (1 + Math.exp(-x));
    case 'gelu_erf':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'gelu_tanh':
      return 0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    case 'quick_gelu':
      return x / (1 + Math.exp(-1.702 * x));
    case 'none':
      return x;
  }
}

export const activationKernel = defineKernel('activation', code, uniformLayout({ n: 'u32' }));

export function activationPipeline(act: Activation): PipelineSpec {
  return { kernel: activationKernel, constants: { ACT: ACT_CODE[act] } };
}

export function recordActivation(ctx: GpuContext, step: Step, act: Activation, x: GpuTensor, y: GpuTensor): void {
  const label = `activation(${act}) ${shapeStr(x.shape)}`;
  checkTensor(label, 'y', y, x.shape);
  const n = numel(x.shape);
  step.dispatch({
    pipeline: activationPipeline(act),
    label,
    uniforms: activationKernel.pack({ n }),
    buffers: [x.buffer, y.buffer],
    workgroups: grid1d(ctx, Math.ceil(n / 256)),
  });
}

export function activationReference(act: Activation, x: Float32Array): Float32Array {
  return x.map((v) => activationRef(v, act));
}
