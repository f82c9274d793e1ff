// RoPE, LLaMA's rotate-half layout (as HF LLaMA), on x [L, H*hd] at positions positionOffset + row, so a
// decode step reuses the prefill pipeline. The frequencies come in as a small f32 table (ropeInvFreq) made
// on the CPU exactly as PyTorch makes them: the GPU's pow would be a few ulp off, and at position 2048 an
// ulp of frequency is ~1e-4 rad of angle. sin/cos are computed in the kernel (shaders/rope.wgsl).
import code from '../../shaders/rope.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { check, checkTensor, grid1d } from './common.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const ropeKernel = defineKernel('rope', code, uniformLayout({ rows: 'u32', heads: 'u32', half: 'u32', offset: 'u32' }));

/** `table`: cos/sin come from the model per row (recordRopeTable) instead of being computed from invFreq. */
export function ropePipeline(table = false): PipelineSpec {
  return { kernel: ropeKernel, constants: { TABLE: table ? 1 : 0 } };
}

/** inv_freq[i] = 1 / theta^(2i/hd) for i < hd/2, rounded at each f32 step as PyTorch computes it. */
export function ropeInvFreq(headDim: number, theta = 10000): Float32Array {
  const f = Math.fround;
  return Float32Array.from({ length: headDim / 2 }, (_, i) => f(1 / f(Math.pow(theta, f((2 * i) / headDim)))));
}

export interface RopeOptions {
  heads: number;
  /** Position of row 0 (the number of tokens already in the KV cache when decoding). */
  positionOffset?: number;
  /** Write here instead of rotating x in place (x is copied to out first). */
  out?: GpuTensor;
}

/**
 * Rotates x [L, heads*hd] in place (or into options.out) with invFreq [hd/2] from ropeInvFreq.
 * Accuracy: ~1e-7 in sin/cos for angles below 12868 rad (positions up to ~12k), degrading slowly beyond.
 */
export function recordRope(ctx: GpuContext, step: Step, x: GpuTensor, invFreq: GpuTensor, options: RopeOptions): void {
  const { heads, positionOffset = 0, out } = options;
  const label = `rope x${shapeStr(x.shape)} invFreq${shapeStr(invFreq.shape)} heads=${heads}`;
  const half = invFreq.shape[0] ?? 0;
  check(x.shape.length === 2 && invFreq.shape.length === 1 && half > 0, label, () => 'x must be [L, heads*hd] and invFreq [hd/2]');
  check(Number.isInteger(heads) && heads > 0 && x.shape[1] === heads * 2 * half, label, () => `x's last dim must be heads*hd = ${heads}*${2 * half}`);
  check(Number.isInteger(positionOffset) && positionOffset >= 0 && positionOffset + x.shape[0]! <= 2 ** 24, label, () => `positionOffset ${positionOffset} must be an integer in [0, 2^24 - L]`);
  checkTensor(label, 'x', x, x.shape);
  checkTensor(label, 'invFreq', invFreq, [half]);
  if (out) {
    checkTensor(label, 'out', out, x.shape);
    step.copy(x.buffer, out.buffer, numel(x.shape) * 4);
  }
  step.dispatch({
    pipeline: ropePipeline(),
    label,
    uniforms: ropeKernel.pack({ rows: x.shape[0]!, heads, half, offset: positionOffset }),
    // Binding 3 (the sin table) is unused here: invFreq stands in for it.
    buffers: [invFreq.buffer, (out ?? x).buffer, invFreq.buffer],
    workgroups: grid1d(ctx, Math.ceil((numel(x.shape) / 2) / 256)),
  });
}

/**
 * Rotates x [L, heads*hd] in place (or into options.out) with the model's own cos and sin [L, hd]
 * (x' = x * cos + rotate_half(x) * sin, as the exported LLaMA graph computes it).
 */
export function recordRopeTable(ctx: GpuContext, step: Step, x: GpuTensor, cos: GpuTensor, sin: GpuTensor, options: Omit<RopeOptions, 'positionOffset'>): void {
  const { heads, out } = options;
  const label = `rope(table) x${shapeStr(x.shape)} cos${shapeStr(cos.shape)} heads=${heads}`;
  const L = x.shape[0] ?? 0;
  const hd = x.shape.length === 2 && heads > 0 ? x.shape[1]! / heads : NaN;
  check(Number.isInteger(hd) && hd % 2 === 0, label, () => `x must be [L, heads*hd] with an even hd`);
  checkTensor(label, 'x', x, x.shape);
  checkTensor(label, 'cos', cos, [L, hd]);
  checkTensor(label, 'sin', sin, [L, hd]);
  if (out) {
    checkTensor(label, 'out', out, x.shape);
    step.copy(x.buffer, out.buffer, numel(x.shape) * 4);
  }
  step.dispatch({
    pipeline: ropePipeline(true),
    label,
    uniforms: ropeKernel.pack({ rows: L, heads, half: hd / 2, offset: 0 }),
    buffers: [cos.buffer, (out ?? x).buffer, sin.buffer],
    workgroups: grid1d(ctx, Math.ceil((numel(x.shape) / 2) / 256)),
  });
}

/** x * cos + rotate_half(x) * sin with per-row tables cos, sin [L, hd]. */
export function ropeTableReference(x: Float32Array, heads: number, cos: Float32Array, sin: Float32Array, L: number): Float32Array {
  const hd = cos.length / L;
  const half = hd / 2;
  const y = new Float32Array(x.length);
  for (let r = 0; r < L; r++) {
    for (let h = 0; h < heads; h++) {
      const o = (r * heads + h) * hd;
      for (let i = 0; i < half; i++) {
        const [x1, x2] = [x[o + i]!, x[o + i + half]!];
        y[o + i] = x1 * cos[r * hd + i]! - x2 * sin[r * hd + i]!;
        y[o + i + half] = x2 * cos[r * hd + i + half]! + x1 * sin[r * hd + i + half]!;
      }
    }
  }
  return y;
}

/** The f32 angle PyTorch forms (f32 position times f32 frequency), with sin/cos of it in double. */
export function ropeReference(x: Float32Array, heads: number, invFreq: Float32Array, positionOffset = 0): Float32Array {
  const half = invFreq.length;
  const hd = 2 * half;
  const y = new Float32Array(x.length);
  for (let v = 0; v < x.length / hd; v++) {
    const pos = positionOffset + Math.floor(v / heads);
    for (let i = 0; i < half; i++) {
      const a = Math.fround(Math.fround(pos) * invFreq[i]!);
      const [x1, x2] = [x[v * hd + i]!, x[v * hd + i + half]!];
      y[v * hd + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
      y[v * hd + i + half] = x2 * Math.cos(a) + x1 * Math.sin(a);
    }
  }
  return y;
}
