// Data-movement ops: Transpose, Slice, Concat, Split, Expand, Tile (all strided copies through one kernel,
// op_copy_nd, and the same copies on the CPU for host evaluation), Gather and Trilu.
import { copyNdReference, recordCopyNd, type CopyRegion } from '../../kernels/op_copy_nd.js';
import { checkIndices, gatherOutputShape, gatherReference, recordGather } from '../../kernels/op_gather.js';
import { recordTrilu } from '../../kernels/op_trilu.js';
import { attr, type Node } from '../ir.js';
import type { HostTensor } from '../tensor.js';
import { broadcastShapes, broadcastStrides, contiguousStrides } from '../../kernels/op_bcast.js';
import { hostEmpty, normAxis, numbers, rawElements, requireHost } from './host-data.js';
import { registerOp, type OpImpl, type TensorMeta } from './op.js';

type Metas = readonly (TensorMeta | undefined)[];
type Hosts = readonly (HostTensor | undefined)[];

/** Output dims, and the copies that fill them: output `output` gets `region` of input `input`. */
interface Plan {
  readonly outputs: readonly (readonly number[])[];
  readonly copies: readonly { readonly input: number; readonly output: number; readonly region: CopyRegion }[];
}

function copyOp(plan: (node: Node, metas: Metas, host: Hosts) => Plan, hostInputs: number[] = []): OpImpl {
  return {
    hostInputs,
    infer: (node, metas, host) => plan(node, metas, host).outputs.map((dims) => ({ type: metas[0]!.type, dims })),
    host: (node, inputs, metas) => {
      const p = plan(node, metas, inputs);
      const outs = p.outputs.map((dims) => hostEmpty(inputs[0]!.type, dims));
      for (const c of p.copies) copyNdReference(rawElements(inputs[c.input]!), rawElements(outs[c.output]!), c.region);
      return outs;
    },
    record: (env, node, inputs, outputs, host) => {
      const p = plan(node, inputs.map((t) => t && { type: t.type, dims: t.shape }), host);
      for (const c of p.copies) recordCopyNd(env.ctx, env.step, inputs[c.input]!, outputs[c.output]!, c.region);
    },
  };
}

/** A copy of a whole output from input 0 read with `srcStrides` (plus an offset and per-dim modulo). */
function single(dims: readonly number[], srcStrides: readonly number[], srcOffset = 0, srcMod?: readonly number[]): Plan {
  return { outputs: [dims], copies: [{ input: 0, output: 0, region: { dims, srcOffset, srcStrides, srcMod, dstOffset: 0, dstStrides: contiguousStrides(dims) } }] };
}

function transpose(node: Node, metas: Metas): Plan {
  const d = metas[0]!.dims;
  const perm = attr<number[]>(node, 'perm') ?? d.map((_, i) => d.length - 1 - i);
  if (perm.length !== d.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new Error(`Transpose ${node.name}: perm [${perm}] is not a permutation of rank ${d.length}`);
  }
  const s = contiguousStrides(d);
  return single(perm.map((p) => d[p]!), perm.map((p) => s[p]!));
}

/** Slice parameters: inputs from opset 10, attributes before. */
function sliceParams(node: Node, rank: number, host: Hosts): { starts: number[]; ends: number[]; axes: number[]; steps: number[] } {
  const fromAttr = attr<number[]>(node, 'starts');
  const get = (i: number, name: string) => (fromAttr ? attr<number[]>(node, name) : node.inputs[i] ? numbers(requireHost(node, host, i)) : undefined);
  const starts = get(1, 'starts')!;
  const ends = get(2, 'ends')!;
  const axes = (get(3, 'axes') ?? starts.map((_, i) => i)).map((a) => normAxis(node, a, rank));
  const steps = get(4, 'steps') ?? starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length || steps.includes(0)) {
    throw new Error(`Slice ${node.name}: starts [${starts}], ends [${ends}], axes [${axes}], steps [${steps}] do not fit together`);
  }
  return { starts, ends, axes, steps };
}

function slice(node: Node, metas: Metas, host: Hosts): Plan {
  const d = metas[0]!.dims;
  const s = contiguousStrides(d);
  const { starts, ends, axes, steps } = sliceParams(node, d.length, host);
  const dims = [...d];
  const strides = [...s];
  let offset = 0;
  axes.forEach((a, i) => {
    const dim = d[a]!;
    const step = steps[i]!;
    const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v < 0 ? v + dim : v));
    const start = step > 0 ? clamp(starts[i]!, 0, dim) : clamp(starts[i]!, 0, dim - 1);
    const end = step > 0 ? clamp(ends[i]!, 0, dim) : clamp(ends[i]!, -1, dim - 1);
    dims[a] = Math.max(0, Math.ceil((end - start) / step));
    strides[a] = step * s[a]!;
    offset += start * s[a]!;
  });
  return single(dims, strides, offset);
}

function concat(node: Node, metas: Metas): Plan {
  const first = metas[0]!.dims;
  const axis = normAxis(node, attr<number>(node, 'axis')!, first.length);
  const out = [...first];
  out[axis] = 0;
  for (const m of metas) {
    if (m!.dims.length !== first.length || m!.dims.some((v, k) => k !== axis && v !== first[k])) {
      throw new Error(`Concat ${node.name}: inputs [${metas.map((x) => `[${x!.dims}]`).join(', ')}] differ off axis ${axis}`);
    }
    out[axis] += m!.dims[axis]!;
  }
  const os = contiguousStrides(out);
  let at = 0;
  const copies = metas.map((m, input) => {
    const dims = m!.dims;
    const region = { dims, srcOffset: 0, srcStrides: contiguousStrides(dims), dstOffset: at * os[axis]!, dstStrides: os };
    at += dims[axis]!;
    return { input, output: 0, region };
  });
  return { outputs: [out], copies };
}

function split(node: Node, metas: Metas, host: Hosts): Plan {
  const d = metas[0]!.dims;
  const axis = normAxis(node, attr(node, 'axis', 0), d.length);
  const dim = d[axis]!;
  const n = attr<number>(node, 'num_outputs') ?? node.outputs.length;
  const chunk = Math.ceil(dim / n);
  const sizes = node.inputs[1]
    ? numbers(requireHost(node, host, 1))
    : attr<number[]>(node, 'split') ?? Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
  if (sizes.reduce((a, b) => a + b, 0) !== dim || sizes.length !== node.outputs.length) {
    throw new Error(`Split ${node.name}: sizes [${sizes}] do not split dim ${dim} into ${node.outputs.length} outputs`);
  }
  const s = contiguousStrides(d);
  let at = 0;
  const outputs = sizes.map((len) => d.map((v, k) => (k === axis ? len : v)));
  const copies = outputs.map((dims, output) => {
    const region = { dims, srcOffset: at * s[axis]!, srcStrides: s, dstOffset: 0, dstStrides: contiguousStrides(dims) };
    at += sizes[output]!;
    return { input: 0, output, region };
  });
  return { outputs, copies };
}

function expand(node: Node, metas: Metas, host: Hosts): Plan {
  const d = metas[0]!.dims;
  const out = broadcastShapes(d, numbers(requireHost(node, host, 1)));
  return single(out, broadcastStrides(d, out));
}

function tile(node: Node, metas: Metas, host: Hosts): Plan {
  const d = metas[0]!.dims;
  const reps = numbers(requireHost(node, host, 1));
  if (reps.length !== d.length || reps.some((r) => !Number.isInteger(r) || r < 0)) throw new Error(`Tile ${node.name}: repeats [${reps}] do not fit [${d}]`);
  return single(d.map((v, k) => v * reps[k]!), contiguousStrides(d), 0, d);
}

registerOp('Transpose', copyOp(transpose));
registerOp('Slice', copyOp(slice, [1, 2, 3, 4]));
registerOp('Concat', copyOp(concat));
registerOp('Split', copyOp(split, [1]));
registerOp('Expand', copyOp(expand, [1]));
registerOp('Tile', copyOp(tile, [1]));

const gatherAxis = (node: Node, rank: number) => normAxis(node, attr(node, 'axis', 0), rank);

registerOp('Gather', {
  infer: (node, [data, indices]) => [{ type: data!.type, dims: gatherOutputShape(data!.dims, indices!.dims, gatherAxis(node, data!.dims.length)) }],
  host: (node, [data, indices]) => {
    const axis = gatherAxis(node, data!.dims.length);
    const dim = data!.dims[axis]!;
    const idx = numbers(indices!);
    checkIndices(idx, dim, `Gather ${node.name} axis ${axis}`);
    const out = hostEmpty(data!.type, gatherOutputShape(data!.dims, indices!.dims, axis));
    gatherReference(rawElements(data!), data!.dims, idx, axis, rawElements(out));
    return [out];
  },
  record: (env, node, [data, indices], [out]) => recordGather(env.ctx, env.step, data!, indices!, out!, gatherAxis(node, data!.shape.length)),
});

registerOp('Trilu', {
  hostInputs: [1],
  infer: (_, [x]) => [{ type: x!.type, dims: x!.dims }],
  record: (env, node, [x], [y], host) => {
    const k = node.inputs[1] ? numbers(requireHost(node, host, 1))[0]! : 0;
    recordTrilu(env.ctx, env.step, x!, y!, k, attr<number>(node, 'upper', 1) !== 0);
  },
});
