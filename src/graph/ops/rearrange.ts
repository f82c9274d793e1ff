// DepthToSpace and SpaceToDepth: each is one strided copy (op_copy_nd) of a 4D NCHW tensor, read through the
// 6D view the ONNX spec reshapes it to. DCR orders the moved channels block-row, block-column, channel; CRD
// channel, block-row, block-column.
import { copyNdReference, recordCopyNd, type CopyRegion } from '../../kernels/op_copy_nd.js';
import { attr, type Node } from '../ir.js';
import { contiguousStrides } from '../../kernels/op_bcast.js';
import { choiceAttr } from './attr-values.js';
import { hostEmpty, rawElements } from './host-data.js';
import { registerOp, type OpImpl } from './op.js';

interface Plan {
  readonly out: number[];
  readonly region: CopyRegion;
}

function blockOf(node: Node, dims: readonly number[]): number {
  const b = attr<number>(node, 'blocksize', 0);
  if (dims.length !== 4 || !Number.isInteger(b) || b < 1) throw new Error(`${node.op} ${node.name}: needs a 4D input and blocksize >= 1, got [${dims}] and ${b}`);
  return b;
}

function depthToSpace(node: Node, d: readonly number[]): Plan {
  const b = blockOf(node, d);
  const [n, c, h, w] = d as [number, number, number, number];
  if (c % (b * b) !== 0) throw new Error(`DepthToSpace ${node.name}: ${c} channels do not split into blocks of ${b}x${b}`);
  const co = c / (b * b);
  const hw = h * w;
  const crd = choiceAttr(node, 'mode', ['DCR', 'CRD']) === 'CRD';
  // Output viewed as [N, C', H, b, W, b]; source channel (DCR) (b1 * b + b2) * C' + c' or (CRD) c' * b^2 + b1 * b + b2.
  const dims = [n, co, h, b, w, b];
  const srcStrides = crd ? [c * hw, b * b * hw, w, b * hw, 1, hw] : [c * hw, hw, w, b * co * hw, 1, co * hw];
  return { out: [n, co, h * b, w * b], region: { dims, srcOffset: 0, srcStrides, dstOffset: 0, dstStrides: contiguousStrides(dims) } };
}

function spaceToDepth(node: Node, d: readonly number[]): Plan {
  const b = blockOf(node, d);
  const [n, c, h, w] = d as [number, number, number, number];
  if (h % b !== 0 || w % b !== 0) throw new Error(`SpaceToDepth ${node.name}: ${h}x${w} does not split into blocks of ${b}x${b}`);
  // Output viewed as [N, b, b, C, H/b, W/b]: channel (b1 * b + b2) * C + c.
  const dims = [n, b, b, c, h / b, w / b];
  const srcStrides = [c * h * w, w, 1, h * w, b * w, b];
  return { out: [n, c * b * b, h / b, w / b], region: { dims, srcOffset: 0, srcStrides, dstOffset: 0, dstStrides: contiguousStrides(dims) } };
}

function rearrangeOp(plan: (node: Node, dims: readonly number[]) => Plan): OpImpl {
  return {
    infer: (node, [x]) => [{ type: x!.type, dims: plan(node, x!.dims).out }],
    host: (node, [x]) => {
      const p = plan(node, x!.dims);
      const out = hostEmpty(x!.type, p.out);
      copyNdReference(rawElements(x!), rawElements(out), p.region);
      return [out];
    },
    record: (env, node, [x], [y]) => recordCopyNd(env.ctx, env.step, x!, y!, plan(node, x!.shape).region),
  };
}

registerOp('DepthToSpace', rearrangeOp(depthToSpace));
registerOp('SpaceToDepth', rearrangeOp(spaceToDepth));
