// 2D convolution (NCHW, group 1, optional bias) with 4x4 register tiles; the unpadded case (patch embeddings,
// kernel == stride) drops every bounds check.
import code from '../../shaders/op_conv2d.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { check, checkTensor, grid1d } from './common.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const conv2dKernel = defineKernel(
  'op_conv2d',
  code,
  uniformLayout({
    tiles: 'u32',
    channels: 'u32',
    height: 'u32',
    width: 'u32',
    out_channels: 'u32',
    out_height: 'u32',
    out_width: 'u32',
    kernel_h: 'u32',
    kernel_w: 'u32',
    stride_h: 'u32',
    stride_w: 'u32',
    dilation_h: 'u32',
    dilation_w: 'u32',
    pad_top: 'i32',
    pad_left: 'i32',
  }),
);

export interface Conv2dOptions {
  readonly strides: readonly [number, number];
  /** [top, left, bottom, right], ONNX's order. */
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
}

export function conv2dPipeline(config: { bias: boolean; padded: boolean }): PipelineSpec {
  return { kernel: conv2dKernel, constants: { HAS_BIAS: config.bias ? 1 : 0, CHECK_BOUNDS: config.padded ? 1 : 0 } };
}

/** [N, M, OH, OW] for x [N, C, H, W] and w [M, C, kH, kW]. */
export function conv2dOutputShape(x: readonly number[], w: readonly number[], o: Conv2dOptions): number[] {
  const out = (size: number, k: number, i: 0 | 1) =>
    Math.floor((size + o.pads[i]! + o.pads[i + 2]! - ((k - 1) * o.dilations[i]! + 1)) / o.strides[i]!) + 1;
  return [x[0]!, w[0]!, out(x[2]!, w[2]!, 0), out(x[3]!, w[3]!, 1)];
}

export function recordConv2d(ctx: GpuContext, step: Step, x: GpuTensor, w: GpuTensor, bias: GpuTensor | undefined, y: GpuTensor, o: Conv2dOptions): void {
  const label = `op_conv2d x ${shapeStr(x.shape)} w ${shapeStr(w.shape)} strides [${o.strides}] pads [${o.pads}] dilations [${o.dilations}]`;
  check(x.shape.length === 4 && w.shape.length === 4, label, () => 'x and w must be 4D (NCHW and MCkHkW)');
  check(w.shape[1] === x.shape[1], label, () => `w has ${w.shape[1]} input channels but x has ${x.shape[1]} (only group 1 is supported)`);
  check([...o.strides, ...o.dilations].every((v) => Number.isInteger(v) && v >= 1) && o.pads.every((p) => Number.isInteger(p) && p >= 0), label, () => 'strides and dilations must be >= 1, pads >= 0');
  const outShape = conv2dOutputShape(x.shape, w.shape, o);
  check(outShape.every((d) => d >= 1), label, () => `the output would be ${shapeStr(outShape)}`);
  checkTensor(label, 'x', x, x.shape);
  checkTensor(label, 'w', w, w.shape);
  if (bias) checkTensor(label, 'bias', bias, [w.shape[0]!]);
  checkTensor(label, 'y', y, outShape);
  const [n, m, oh, ow] = outShape as [number, number, number, number];
  const tiles = n * Math.ceil(m / 4) * oh * Math.ceil(ow / 4);
  step.dispatch({
    pipeline: conv2dPipeline({ bias: !!bias, padded: o.pads.some((p) => p > 0) }),
    label,
    uniforms: conv2dKernel.pack({
      tiles,
      channels: x.shape[1]!,
      height: x.shape[2]!,
      width: x.shape[3]!,
      out_channels: m,
      out_height: oh,
      out_width: ow,
      kernel_h: w.shape[2]!,
      kernel_w: w.shape[3]!,
      stride_h: o.strides[0],
      stride_w: o.strides[1],
      dilation_h: o.dilations[0],
      dilation_w: o.dilations[1],
      pad_top: o.pads[0],
      pad_left: o.pads[1],
    }),
    // Without a bias, w stands in for the unused binding.
    buffers: [x.buffer, w.buffer, (bias ?? w).buffer, y.buffer],
    workgroups: grid1d(ctx, Math.ceil(tiles / 64)),
  });
}

export function conv2dReference(x: Float32Array, xShape: readonly number[], w: Float32Array, wShape: readonly number[], bias: Float32Array | undefined, o: Conv2dOptions): Float32Array {
  const [n, c, h, wd] = xShape as [number, number, number, number];
  const [, m, oh, ow] = conv2dOutputShape(xShape, wShape, o) as [number, number, number, number];
  const [kh, kw] = [wShape[2]!, wShape[3]!];
  const y = new Float32Array(numel([n, m, oh, ow]));
  for (let b = 0; b < n; b++)
    for (let mo = 0; mo < m; mo++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let acc = bias ? bias[mo]! : 0;
          for (let ci = 0; ci < c; ci++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const iy = oy * o.strides[0] + i * o.dilations[0] - o.pads[0];
                const ix = ox * o.strides[1] + j * o.dilations[1] - o.pads[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                acc += x[((b * c + ci) * h + iy) * wd + ix]! * w[((mo * c + ci) * kh + i) * kw + j]!;
              }
          y[((b * m + mo) * oh + oy) * ow + ox] = acc;
        }
  return y;
}
