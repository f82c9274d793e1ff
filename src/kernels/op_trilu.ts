// Trilu (upper or lower triangle of the last two dims) on 32-bit words: one pipeline serves every storage type.
import code from '../../shaders/op_trilu.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { check, checkTensor, grid1d } from './common.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const triluKernel = defineKernel('op_trilu', code, uniformLayout({ n: 'u32', rows: 'u32', cols: 'u32', k: 'i32', upper: 'u32' }));
const I32_MAX = 2 ** 31 - 1;

export function triluPipeline(): PipelineSpec {
  return { kernel: triluKernel };
}

/** y = x with the elements outside the triangle (diagonal offset k) zeroed. */
export function recordTrilu(ctx: GpuContext, step: Step, x: GpuTensor, y: GpuTensor, k: number, upper: boolean): void {
  const label = `op_trilu(${upper ? 'upper' : 'lower'}, k=${k}) ${shapeStr(x.shape)}`;
  check(x.shape.length >= 2, label, () => 'needs at least 2 dims');
  check(Number.isInteger(k), label, () => `k ${k} is not an integer`);
  checkTensor(label, 'x', x, x.shape, x.dtype);
  checkTensor(label, 'y', y, x.shape, x.dtype);
  const n = numel(x.shape);
  const [rows, cols] = x.shape.slice(-2) as [number, number];
  step.dispatch({
    pipeline: triluPipeline(),
    label,
    uniforms: triluKernel.pack({ n, rows, cols, k: Math.max(-I32_MAX, Math.min(I32_MAX, k)), upper: upper ? 1 : 0 }),
    buffers: [x.buffer, y.buffer],
    workgroups: grid1d(ctx, Math.ceil(n / 256)),
  });
}

/** The reference on any indexable data; `zero` is the element type's zero. */
export function triluReference<T>(x: ArrayLike<T>, shape: readonly number[], k: number, upper: boolean, zero: T): T[] {
  const [rows, cols] = shape.slice(-2) as [number, number];
  return Array.from({ length: numel(shape) }, (_, i) => {
    const diff = (i % cols) - (Math.floor(i / cols) % rows);
    return (upper ? diff >= k : diff <= k) ? x[i]! : zero;
  });
}
