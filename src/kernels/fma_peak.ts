// FMA throughput probe (the adapter's practical f32 peak, for the benchmark): y[i] = sum of 16 lanes after
// `iterations` rounds of a = fma(a, m, c) per lane. Counts 2 FLOPs per lane and round.
import code from '../../shaders/fma_peak.wgsl?raw';
import { shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { check, checkTensor, grid1d } from './common.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const fmaPeakKernel = defineKernel('fma_peak', code, uniformLayout({ n: 'u32', iters: 'u32', m: 'f32', c: 'f32' }));
const LANES = 16;

export interface FmaPeakOptions {
  iterations: number;
  /** Multiplier in (0, 1) so the chains converge; default 0.999. */
  m?: number;
  /** Addend; default 0.001 (the chains converge to 1). */
  c?: number;
}

export function fmaPeakPipeline(): PipelineSpec {
  return { kernel: fmaPeakKernel };
}

/** FLOPs of one dispatch over `invocations` invocations. */
export function fmaPeakFlops(invocations: number, iterations: number): number {
  return 2 * LANES * invocations * iterations;
}

export function recordFmaPeak(ctx: GpuContext, step: Step, y: GpuTensor, opts: FmaPeakOptions): void {
  const label = `fma_peak ${shapeStr(y.shape)} x ${opts.iterations}`;
  check(y.shape.length === 1 && y.shape[0]! >= 1, label, () => 'y must be [n >= 1]');
  const n = y.shape[0]!;
  checkTensor(label, 'y', y, [n]);
  check(Number.isInteger(opts.iterations) && opts.iterations >= 0, label, () => `iterations=${opts.iterations} must be a non-negative integer`);
  const m = opts.m ?? 0.999;
  check(m > 0 && m < 1, label, () => `m=${m} must be in (0, 1)`);
  step.dispatch({
    pipeline: fmaPeakPipeline(),
    label,
    uniforms: fmaPeakKernel.pack({ n, iters: opts.iterations, m, c: opts.c ?? 0.001 }),
    buffers: [y.buffer],
    workgroups: grid1d(ctx, Math.ceil(n / 64)),
  });
}

/** The same recurrence in f64 on f32-rounded m and c. */
export function fmaPeakReference(n: number, opts: FmaPeakOptions): Float32Array {
  const m = Math.fround(opts.m ?? 0.999);
  const c = Math.fround(opts.c ?? 0.001);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let lane = 0; lane < LANES; lane++) {
      let a = (i % 1024) / 1024 + lane / 32;
      for (let k = 0; k < opts.iterations; k++) a = a * m + c;
      sum += a;
    }
    y[i] = sum;
  }
  return y;
}
