// Shared by the op tests. ONNX conformance cases (model.onnx, test_data_set_0/{input,output}_i.pb) are read with
// src/onnx (the CLI runner's readTensors), and models run through the real InferenceSession: a case's own model,
// or a one-node model built with src/onnx/builder.ts (runOp). Feeds go to the GPU unless the graph reads them on
// the CPU, so the kernels run even where the executor would evaluate small integer tensors on the host.
// OpImpl.host (constant folding, shape arithmetic) is checked on its own: hostNode, and every case evaluated on
// the CPU node by node where each of its ops has a host evaluation.
import { join } from 'node:path';
import { readTensors } from '../src/cli/run-onnx.js';
import { hostNeededValues } from '../src/graph/executor.js';
import { graphFromOnnx } from '../src/graph/from-onnx.js';
import { Graph, type AttrValue, type Value } from '../src/graph/ir.js';
import { toNumbers } from '../src/graph/ops/hostnum.js';
import { OPS, implFor, type DeviceTensor } from '../src/graph/ops/op.js';
import { InferenceSession } from '../src/graph/session.js';
import { ONNX_ELEM_TYPES, deviceType, type ElemType, type HostTensor } from '../src/graph/tensor.js';
import { attr, loadOnnx, type DataType, makeNode, makeSingleNodeModel, makeTensor, makeValueInfo, type OnnxAttributeValue, type OnnxModel, type OnnxTypedArray } from '../src/onnx/index.js';
import { CASES_DIR } from './helpers/conformance.js';
import { expectClose, gpu } from './helpers/gpu.js';

const DATA_TYPE = Object.fromEntries(Object.entries(ONNX_ELEM_TYPES).map(([code, t]) => [t, Number(code)])) as Record<ElemType, DataType>;

/** Runs `model` once (fusions off); `inputs` in the graph's input order; the outputs in the graph's order. */
export async function runModel(model: OnnxModel, inputs: readonly HostTensor[]): Promise<HostTensor[]> {
  const session = await InferenceSession.create(model, { gpu: await gpu(), fusions: false });
  const onCpu = hostNeededValues(session.graph);
  const uploaded: DeviceTensor[] = [];
  const feeds = Object.fromEntries(
    session.graph.inputs.map((v, i) => {
      if (onCpu.has(v)) return [v.name, inputs[i]!];
      const t = session.toGpu(inputs[i]!, v.name);
      uploaded.push(t);
      return [v.name, t];
    }),
  );
  try {
    const result = await session.run(feeds);
    return session.outputNames.map((name) => result.get(name) as HostTensor);
  } finally {
    for (const t of uploaded) session.release(t);
    session.dispose();
  }
}

function onnxAttr(name: string, v: AttrValue): OnnxAttributeValue {
  if (typeof v === 'number') return Number.isInteger(v) ? attr.int(v) : attr.float(v);
  if (typeof v === 'string') return attr.string(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v.every(Number.isInteger) ? attr.ints(v) : attr.floats(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return attr.strings(v);
  if (!Array.isArray(v) && !(v instanceof Graph)) return attr.tensor(makeTensor(name, DATA_TYPE[v.type], [...v.dims], v.data as OnnxTypedArray));
  throw new Error(`attribute ${name}: not expressible in a one-node test model`);
}

/** Runs one node of `op` (ai.onnx) through InferenceSession; an undefined input is an omitted optional one. */
export async function runOp(op: string, attrs: ReadonlyMap<string, AttrValue>, inputs: readonly (HostTensor | undefined)[], outputCount = 1): Promise<HostTensor[]> {
  const given = inputs.flatMap((t, i) => (t ? [[`in${i}`, t] as const] : []));
  const outputs = Array.from({ length: outputCount }, (_, i) => `out${i}`);
  const model = makeSingleNodeModel({
    node: makeNode(op, inputs.map((t, i) => (t ? `in${i}` : '')), outputs, Object.fromEntries([...attrs].map(([k, v]) => [k, onnxAttr(k, v)]))),
    inputs: given.map(([name, t]) => makeValueInfo(name, DATA_TYPE[t.type], [...t.dims])),
    outputs: outputs.map((name) => ({ name })),
  });
  return runModel(model, given.map(([, t]) => t));
}

/** The OpImpl's CPU evaluation of one node, undefined when it has none. */
export function hostNode(op: string, attrs: ReadonlyMap<string, AttrValue>, inputs: readonly (HostTensor | undefined)[], outputCount = 1): HostTensor[] | undefined {
  const impl = OPS.get(`:${op}`);
  if (!impl) throw new Error(`op ${op} is not registered`);
  const g = new Graph();
  const ins = inputs.map((t, i) => {
    if (!t) return undefined;
    const v = g.value(`in${i}`);
    v.type = t.type;
    v.shape = [...t.dims];
    return v;
  });
  const node = g.addNode({ name: `${op}_0`, op, domain: '', inputs: ins, outputs: Array.from({ length: outputCount }, (_, i) => g.value(`out${i}`)), attrs: new Map(attrs) });
  return impl.host?.(node, inputs, inputs.map((t) => t && { type: t.type, dims: t.dims }));
}

/** Type, dims and values within atol + rtol * |expected| (onnxruntime's 1e-3 for floats; exact for integers). */
export function expectTensorClose(actual: HostTensor, expected: HostTensor, what: string, tol = 1e-3): void {
  if (actual.type !== expected.type) throw new Error(`${what}: type ${actual.type}, expected ${expected.type}`);
  if (actual.dims.join() !== expected.dims.join()) throw new Error(`${what}: dims [${actual.dims}], expected [${expected.dims}]`);
  const t = deviceType(expected.type) === 'f32' ? tol : 0;
  expectClose(toNumbers(actual), toNumbers(expected), t, t, what);
}

/** The case's outputs evaluated on the CPU node by node (OpImpl.host), undefined when some op has none. */
async function hostOutputs(model: OnnxModel, inputs: readonly HostTensor[]): Promise<HostTensor[] | undefined> {
  const g = await graphFromOnnx(model);
  const vals = new Map<Value, HostTensor>(g.inputs.map((v, i) => [v, inputs[i]!]));
  for (const v of g.values.values()) if (v.constant) vals.set(v, v.constant);
  for (const node of g.nodes) {
    const impl = implFor(node);
    if (!impl.host) return undefined;
    const ins = node.inputs.map((v) => v && vals.get(v));
    impl.host(node, ins, ins.map((t) => t && { type: t.type, dims: t.dims })).forEach((t, i) => vals.set(node.outputs[i]!, t));
  }
  return g.outputs.map((v) => vals.get(v)!);
}

/** Runs a conformance case through InferenceSession and on the host; checks both against the expected outputs. */
export async function checkCase(name: string): Promise<void> {
  const dir = join(CASES_DIR, name);
  const model = await loadOnnx(join(dir, 'model.onnx'));
  const inputs = await readTensors(join(dir, 'test_data_set_0'), 'input_');
  const expected = await readTensors(join(dir, 'test_data_set_0'), 'output_');
  const gpuOut = await runModel(model, inputs);
  const hostOut = await hostOutputs(model, inputs);
  expected.forEach((e, i) => {
    expectTensorClose(gpuOut[i]!, e, `${name} gpu output ${i}`);
    if (hostOut) expectTensorClose(hostOut[i]!, e, `${name} host output ${i}`);
  });
}
