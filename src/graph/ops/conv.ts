// Conv (2D, NCHW, group 1, optional bias) through op_conv2d; ONNX's auto_pad modes resolved to explicit pads.
import { conv2dOutputShape, recordConv2d, type Conv2dOptions } from '../../kernels/op_conv2d.js';
import { attr, type Node } from '../ir.js';
import { registerOp } from './op.js';

function options(node: Node, x: readonly number[], w: readonly number[]): Conv2dOptions {
  const where = `Conv ${node.name} (x [${x}], w [${w}])`;
  if (x.length !== 4 || w.length !== 4) throw new Error(`${where}: only 2D convolution (4D tensors) is supported`);
  const group = attr<number>(node, 'group', 1);
  if (group !== 1) throw new Error(`${where}: group ${group} is not supported, only group 1`);
  if (w[1] !== x[1]) throw new Error(`${where}: w has ${w[1]} input channels but x has ${x[1]}`);
  const kernel = attr<number[]>(node, 'kernel_shape') ?? w.slice(2);
  if (kernel[0] !== w[2] || kernel[1] !== w[3]) throw new Error(`${where}: kernel_shape [${kernel}] does not match w`);
  const strides = (attr<number[]>(node, 'strides') ?? [1, 1]) as [number, number];
  const dilations = (attr<number[]>(node, 'dilations') ?? [1, 1]) as [number, number];
  const autoPad = attr<string>(node, 'auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') return { strides, dilations, pads: (attr<number[]>(node, 'pads') ?? [0, 0, 0, 0]) as [number, number, number, number] };
  if (autoPad === 'VALID') return { strides, dilations, pads: [0, 0, 0, 0] };
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') throw new Error(`${where}: unknown auto_pad ${autoPad}`);
  // SAME: output = ceil(input / stride); the odd pad goes at the end (UPPER) or the start (LOWER).
  const [h, w2] = [0, 1].map((i) => {
    const size = x[2 + i]!;
    const total = Math.max(0, (Math.ceil(size / strides[i]!) - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - size);
    const small = Math.floor(total / 2);
    return autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
  }) as [[number, number], [number, number]];
  return { strides, dilations, pads: [h[0], w2[0], h[1], w2[1]] };
}

registerOp('Conv', {
  infer: (node, [x, w]) => [{ type: x!.type, dims: conv2dOutputShape(x!.dims, w!.dims, options(node, x!.dims, w!.dims)) }],
  record: (env, node, [x, w, bias], [y]) => recordConv2d(env.ctx, env.step, x!, w!, bias, y!, options(node, x!.shape, w!.shape)),
});
