// Negative log-likelihood loss over class scores [N, C, D] (see shaders/op_nll_loss.wgsl), with optional class
// weights and ignore_index, reduced to none / sum / mean as ONNX's NegativeLogLikelihoodLoss defines them.
import code from '../../shaders/op_nll_loss.wgsl?raw';
import { numel, shapeStr, type AdapterDescription, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { check, checkTensor, grid1d } from './common.js';
import { reduceGroup } from './reduce.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const nllLossKernel = defineKernel('op_nll_loss', code, uniformLayout({ n: 'u32', c: 'u32', d: 'u32', ignore_index: 'i32' }));

export const NLL_REDUCTIONS = ['none', 'sum', 'mean'] as const;
export type NllReduction = (typeof NLL_REDUCTIONS)[number];

export interface NllOptions {
  readonly reduction: NllReduction;
  /** Class id whose terms count neither loss nor weight. */
  readonly ignoreIndex?: number;
}

export function nllLossPipeline(adapter: AdapterDescription, o: NllOptions, weighted: boolean): PipelineSpec {
  return {
    kernel: nllLossKernel,
    constants: { RED_G: reduceGroup(adapter), REDUCTION: NLL_REDUCTIONS.indexOf(o.reduction), HAS_WEIGHT: +weighted, HAS_IGNORE: +(o.ignoreIndex !== undefined) },
  };
}

/** Loss shape: target's shape for 'none', a scalar otherwise. */
export function nllOutputShape(target: readonly number[], o: NllOptions): number[] {
  return o.reduction === 'none' ? [...target] : [];
}

/** loss of scores x [N, C, d1, ...] against target [N, d1, ...] (i32 class ids), weight [C] optional. */
export function recordNllLoss(ctx: GpuContext, step: Step, x: GpuTensor, target: GpuTensor, weight: GpuTensor | undefined, out: GpuTensor, o: NllOptions): void {
  const label = `op_nll_loss x ${shapeStr(x.shape)} target ${shapeStr(target.shape)} ${o.reduction}`;
  check(x.shape.length >= 2, label, () => 'x must be [N, C, ...]');
  const [n, c] = x.shape as [number, number];
  const tail = x.shape.slice(2);
  check(target.shape.length === x.shape.length - 1 && target.shape[0] === n && tail.every((v, k) => v === target.shape[k + 1]), label, () => `target must be [${[n, ...tail]}]`);
  check(c > 0, label, () => 'x has no classes');
  checkTensor(label, 'x', x, x.shape);
  checkTensor(label, 'target', target, target.shape, 'i32');
  if (weight) checkTensor(label, 'weight', weight, [c]);
  checkTensor(label, 'out', out, nllOutputShape(target.shape, o));
  const terms = numel(target.shape);
  if (o.reduction === 'none' && terms === 0) return;
  const wg = reduceGroup(ctx.adapter) ** 2;
  step.dispatch({
    pipeline: nllLossPipeline(ctx.adapter, o, !!weight),
    label,
    uniforms: nllLossKernel.pack({ n: terms, c, d: numel(tail), ignore_index: o.ignoreIndex ?? 0 }),
    // Without weights, x stands in for the unused binding.
    buffers: [x.buffer, target.buffer, (weight ?? x).buffer, out.buffer],
    workgroups: o.reduction === 'none' ? grid1d(ctx, Math.ceil(terms / wg)) : [1, 1],
  });
}

/** The same loss on the CPU (class ids outside [0, C) clamped as on the GPU). */
export function nllLossReference(x: Float32Array, xShape: readonly number[], target: ArrayLike<number>, weight: Float32Array | undefined, o: NllOptions): Float32Array {
  const [, c] = xShape as [number, number];
  const d = numel(xShape.slice(2));
  const losses = new Float32Array(target.length);
  let loss = 0;
  let wsum = 0;
  for (let i = 0; i < target.length; i++) {
    const t = target[i]!;
    if (t === o.ignoreIndex) continue;
    const k = Math.min(Math.max(t, 0), c - 1);
    const w = weight ? weight[k]! : 1;
    losses[i] = -x[(Math.floor(i / d) * c + k) * d + (i % d)]! * w;
    loss += losses[i]!;
    wsum += w;
  }
  if (o.reduction === 'none') return losses;
  return Float32Array.of(o.reduction === 'sum' ? loss : loss / wsum);
}
