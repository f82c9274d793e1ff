// Max / average / Lp pooling over 1 to 4 spatial dims (shaders/op_pool.wgsl), pads and dilations explicit.
import code from '../../shaders/op_pool.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { check, checkTensor, grid1d } from './common.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const poolKernel = defineKernel(
  'op_pool',
  code,
  uniformLayout({
    n: 'u32',
    rank: 'u32',
    window: 'u32',
    p: 'f32',
    in_dims: 'vec4u',
    out_dims: 'vec4u',
    kernel: 'vec4u',
    strides: 'vec4u',
    dilations: 'vec4u',
    pads_begin: 'vec4i',
    pads_end: 'vec4i',
  }),
);
export const POOL_MAX_DIMS = 4;

export interface PoolOptions {
  readonly mode: 'max' | 'average' | 'lp';
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly padsBegin: readonly number[];
  readonly padsEnd: readonly number[];
  /** The last window may start past the end of the input (but not past the begin pads plus the input). */
  readonly ceilMode: boolean;
  /** AveragePool: divide by the window positions inside input and pads, not only inside the input. */
  readonly countPad: boolean;
  /** LpPool's p. */
  readonly p: number;
  /** MaxPool's indices counted column-major over the spatial dims (storage_order 1). */
  readonly columnMajor: boolean;
}

const MODES = { max: 0, average: 1, lp: 2 };

export function poolPipeline(o: PoolOptions, withIndices: boolean, intData: boolean): PipelineSpec {
  return { kernel: poolKernel, constants: { MODE: MODES[o.mode], COUNT_PAD: +o.countPad, WITH_INDICES: +withIndices, COLUMN_MAJOR: +o.columnMajor, INT_DATA: +intData } };
}

export function poolOutputShape(x: readonly number[], o: PoolOptions): number[] {
  const spatial = x.slice(2).map((size, k) => {
    const span = (o.kernel[k]! - 1) * o.dilations[k]! + 1;
    const room = size + o.padsBegin[k]! + o.padsEnd[k]! - span;
    let out = (o.ceilMode ? Math.ceil(room / o.strides[k]!) : Math.floor(room / o.strides[k]!)) + 1;
    if (o.ceilMode && (out - 1) * o.strides[k]! >= size + o.padsBegin[k]!) out--;
    return out;
  });
  return [x[0]!, x[1]!, ...spatial];
}

/**
 * y = pool(x); `indices` (i32, y's shape) receives MaxPool's flat index of every max when given. i32 x (small
 * integers, exact in f32) only for max pooling.
 */
export function recordPool(ctx: GpuContext, step: Step, x: GpuTensor, y: GpuTensor, indices: GpuTensor | undefined, o: PoolOptions): void {
  const label = `op_pool(${o.mode}) x ${shapeStr(x.shape)} kernel [${o.kernel}] strides [${o.strides}] pads [${o.padsBegin}|${o.padsEnd}]`;
  const k = x.shape.length - 2;
  check(k >= 1 && k <= POOL_MAX_DIMS, label, () => `x needs 1 to ${POOL_MAX_DIMS} spatial dims after N and C`);
  const fields = [o.kernel, o.strides, o.dilations, o.padsBegin, o.padsEnd];
  check(fields.every((f) => f.length === k), label, () => `kernel, strides, dilations and pads need ${k} values each`);
  check([...o.kernel, ...o.strides, ...o.dilations].every((v) => Number.isInteger(v) && v >= 1), label, () => 'kernel, strides and dilations must be positive integers');
  check([...o.padsBegin, ...o.padsEnd].every((v) => Number.isInteger(v) && v >= 0), label, () => 'pads must be non-negative integers');
  const spans = o.kernel.map((v, i) => (v - 1) * o.dilations[i]! + 1);
  check([...o.padsBegin, ...o.padsEnd].every((p, i) => p < spans[i % k]!), label, () => 'a pad is as wide as the window: some window would see only padding');
  const out = poolOutputShape(x.shape, o);
  check(out.every((d) => d >= 1) || numel(x.shape) === 0, label, () => `the output would be ${shapeStr(out)}`);
  const intData = x.dtype === 'i32';
  check(!intData || o.mode === 'max', label, () => 'integer data only max-pools');
  checkTensor(label, 'x', x, x.shape, x.dtype);
  checkTensor(label, 'y', y, out, x.dtype);
  if (indices) checkTensor(label, 'indices', indices, out, 'i32');
  const n = numel(out);
  if (n === 0) return;
  const v4 = (v: readonly number[], fill: number) => [...v, ...new Array<number>(4 - v.length).fill(fill)];
  step.dispatch({
    pipeline: poolPipeline(o, !!indices, intData),
    label,
    uniforms: poolKernel.pack({
      n,
      rank: k,
      window: numel(o.kernel),
      p: o.p,
      in_dims: v4(x.shape.slice(2), 1),
      out_dims: v4(out.slice(2), 1),
      kernel: v4(o.kernel, 1),
      strides: v4(o.strides, 1),
      dilations: v4(o.dilations, 1),
      pads_begin: o.padsBegin,
      pads_end: o.padsEnd,
    }),
    buffers: [x.buffer, y.buffer, (indices?.buffer ?? step.temp(4, `${label} no indices`))],
    workgroups: grid1d(ctx, Math.ceil(n / 256)),
  });
}

/** The same pooling on the CPU: values and (max) flat indices. */
export function poolReference(x: Float32Array, shape: readonly number[], o: PoolOptions): { y: Float32Array; indices: Int32Array } {
  const out = poolOutputShape(shape, o);
  const sp = shape.slice(2);
  const osp = out.slice(2);
  const plane = numel(sp);
  const n = numel(out);
  const y = new Float32Array(n);
  const indices = new Int32Array(n);
  const window = numel(o.kernel);
  for (let i = 0; i < n; i++) {
    let rem = i;
    const oc = new Array<number>(sp.length);
    for (let k = sp.length - 1; k >= 0; k--) {
      oc[k] = rem % osp[k]!;
      rem = Math.floor(rem / osp[k]!);
    }
    const base = rem * plane;
    let best = -Infinity;
    let bestAt = -1;
    let acc = 0;
    let count = 0;
    for (let w = 0; w < window; w++) {
      let wr = w;
      const c = new Array<number>(sp.length);
      for (let k = sp.length - 1; k >= 0; k--) {
        c[k] = oc[k]! * o.strides[k]! - o.padsBegin[k]! + (wr % o.kernel[k]!) * o.dilations[k]!;
        wr = Math.floor(wr / o.kernel[k]!);
      }
      const inside = c.every((v, k) => v >= 0 && v < sp[k]!);
      if (o.countPad ? c.every((v, k) => v < sp[k]! + o.padsEnd[k]!) : inside) count++;
      if (!inside) continue;
      const at = c.reduce((a, v, k) => a * sp[k]! + v, 0);
      const v = x[base + at]!;
      if (o.mode === 'max') {
        if (v > best || bestAt < 0) [best, bestAt] = [v, at];
      } else acc += o.mode === 'average' ? v : Math.abs(v) ** o.p;
    }
    y[i] = o.mode === 'max' ? best : o.mode === 'average' ? acc / count : acc ** (1 / o.p);
    if (bestAt >= 0 && o.columnMajor) {
      const rc = sp.map((_, k) => Math.floor(bestAt / numel(sp.slice(k + 1))) % sp[k]!);
      bestAt = rc.reduce((a, v, k) => a + v * numel(sp.slice(0, k)), 0);
    }
    indices[i] = base + Math.max(bestAt, 0);
  }
  return { y, indices };
}
