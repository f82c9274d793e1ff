// Shared by the elementwise and reduce op tests: a minimal protobuf reader for the ONNX conformance cases
// (model.onnx, input_i.pb / output_i.pb; only the fields the tests need, until src/onnx/ exports a parser) and a
// one-node harness that runs an OpImpl the way the executor does (infer, allocate, record, submit, read back).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Step, type GpuContext } from '../src/gpu/index.js';
import { empty } from '../src/kernels/common.js';
import { fromDeviceWords, uploadHost } from '../src/graph/convert.js';
import { Graph, type AttrValue } from '../src/graph/ir.js';
import { toNumbers } from '../src/graph/ops/hostnum.js';
import { OPS, type DeviceTensor } from '../src/graph/ops/op.js';
import { deviceType, size, type ElemType, type HostData, type HostTensor } from '../src/graph/tensor.js';
import { expectClose } from './helpers/gpu.js';

export const CASES_DIR = '/work/shared/conformance/onnx-node';

type Field = { no: number; wire: number; v: bigint; bytes?: Uint8Array };

function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let p = 0;
  const varint = (): bigint => {
    let r = 0n;
    let s = 0n;
    for (;;) {
      const b = buf[p++]!;
      r |= BigInt(b & 0x7f) << s;
      s += 7n;
      if (b < 0x80) return r;
    }
  };
  while (p < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, v: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      out.push({ no, wire, v: 0n, bytes: buf.subarray(p, p + len) });
      p += len;
    } else if (wire === 5) {
      out.push({ no, wire, v: 0n, bytes: buf.subarray(p, p + 4) });
      p += 4;
    } else if (wire === 1) {
      out.push({ no, wire, v: 0n, bytes: buf.subarray(p, p + 8) });
      p += 8;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}

/** Repeated varint field, packed or not, as signed 64-bit values. */
function varints(fs: Field[], no: number): bigint[] {
  const out: bigint[] = [];
  for (const f of fs) {
    if (f.no !== no) continue;
    if (f.wire === 0) out.push(BigInt.asIntN(64, f.v));
    else for (const g of fields(packedAsKeyed(f.bytes!))) out.push(BigInt.asIntN(64, g.v));
  }
  return out;
}

/** Re-frames packed varints as field-1 varints so `fields` can read them. */
function packedAsKeyed(b: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    if (i === 0 || b[i - 1]! < 0x80) out.push(0x08);
    out.push(b[i]!);
  }
  return Uint8Array.from(out);
}

const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);
const ONNX_TYPES: Record<number, ElemType> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64',
};

export function parseTensorPb(buf: Uint8Array): HostTensor & { name: string } {
  const fs = fields(buf);
  const dims = varints(fs, 1).map(Number);
  const type = ONNX_TYPES[Number(varints(fs, 2)[0] ?? 1n)]!;
  const name = text(fs.find((f) => f.no === 8)?.bytes);
  const n = dims.reduce((a, b) => a * b, 1);
  const raw = fs.find((f) => f.no === 9)?.bytes;
  let data: HostData;
  const ctor = {
    float32: Float32Array, float16: Uint16Array, float64: Float64Array, int8: Int8Array, int16: Int16Array, int32: Int32Array,
    int64: BigInt64Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array, bool: Uint8Array,
  }[type];
  if (raw) {
    const copy = raw.slice();
    data = new ctor(copy.buffer, 0, n);
  } else if (type === 'float32') {
    const packed = fs.filter((f) => f.no === 4);
    const bytes = packed.flatMap((f) => Array.from(f.bytes!));
    data = new Float32Array(Uint8Array.from(bytes).buffer, 0, n);
  } else if (type === 'float64') {
    const bytes = fs.filter((f) => f.no === 10).flatMap((f) => Array.from(f.bytes!));
    data = new Float64Array(Uint8Array.from(bytes).buffer, 0, n);
  } else if (type === 'int64') {
    data = BigInt64Array.from(varints(fs, 7));
  } else if (type === 'uint64' || type === 'uint32') {
    data = type === 'uint64' ? BigUint64Array.from(varints(fs, 11).map((v) => BigInt.asUintN(64, v))) : Uint32Array.from(varints(fs, 11).map(Number));
  } else {
    // int32_data carries every narrower type, float16 bits and bool.
    data = new (ctor as new (v: number[]) => HostData)(varints(fs, 5).map(Number));
  }
  return { name, type, dims, data };
}

export interface CaseNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, number | string | number[] | string[] | HostTensor>;
}

export interface CaseModel {
  opset: number;
  nodes: CaseNode[];
  inputs: string[];
  outputs: string[];
}

function parseAttr(b: Uint8Array): [string, number | string | number[] | string[] | HostTensor] {
  const fs = fields(b);
  const name = text(fs.find((f) => f.no === 1)?.bytes);
  const type = Number(fs.find((f) => f.no === 20)?.v ?? 0n);
  const get = (no: number) => fs.find((f) => f.no === no);
  switch (type) {
    case 1: return [name, new DataView(get(2)!.bytes!.buffer, get(2)!.bytes!.byteOffset).getFloat32(0, true)];
    case 2: return [name, Number(BigInt.asIntN(64, get(3)!.v))];
    case 3: return [name, text(get(4)?.bytes)];
    case 4: return [name, parseTensorPb(get(5)!.bytes!)];
    case 6: {
      const fl = fs.filter((f) => f.no === 7);
      const bytes = Uint8Array.from(fl.flatMap((f) => Array.from(f.bytes!)));
      return [name, Array.from(new Float32Array(bytes.buffer))];
    }
    case 7: return [name, varints(fs, 8).map(Number)];
    case 8: return [name, fs.filter((f) => f.no === 9).map((f) => text(f.bytes))];
    default: throw new Error(`attribute ${name}: unsupported type ${type}`);
  }
}

export function parseModelPb(buf: Uint8Array): CaseModel {
  const m = fields(buf);
  const opset = Math.max(...m.filter((f) => f.no === 8).map((f) => {
    const o = fields(f.bytes!);
    const domain = text(o.find((g) => g.no === 1)?.bytes);
    return domain === '' || domain === 'ai.onnx' ? Number(o.find((g) => g.no === 2)?.v ?? 0n) : 0;
  }));
  const g = fields(m.find((f) => f.no === 7)!.bytes!);
  const names = (no: number) => g.filter((f) => f.no === no).map((f) => text(fields(f.bytes!).find((h) => h.no === 1)?.bytes));
  const nodes = g.filter((f) => f.no === 1).map((f) => {
    const n = fields(f.bytes!);
    return {
      op: text(n.find((h) => h.no === 4)?.bytes),
      inputs: n.filter((h) => h.no === 1).map((h) => text(h.bytes)),
      outputs: n.filter((h) => h.no === 2).map((h) => text(h.bytes)),
      attrs: new Map(n.filter((h) => h.no === 5).map((h) => parseAttr(h.bytes!))),
    };
  });
  return { opset, nodes, inputs: names(11), outputs: names(12) };
}

export interface ConformanceCase {
  name: string;
  model: CaseModel;
  inputs: HostTensor[];
  outputs: HostTensor[];
}

export function loadCase(name: string): ConformanceCase {
  const dir = join(CASES_DIR, name);
  const model = parseModelPb(new Uint8Array(readFileSync(join(dir, 'model.onnx'))));
  const data = join(dir, 'test_data_set_0');
  const files = readdirSync(data);
  const read = (prefix: string) =>
    files
      .filter((f) => f.startsWith(prefix))
      .sort((a, b) => parseInt(a.slice(prefix.length)) - parseInt(b.slice(prefix.length)))
      .map((f) => parseTensorPb(new Uint8Array(readFileSync(join(data, f)))));
  return { name, model, inputs: read('input_'), outputs: read('output_') };
}

export function caseNames(pattern: RegExp): string[] {
  return readdirSync(CASES_DIR).filter((n) => pattern.test(n)).sort();
}

function buildNode(op: string, attrs: ReadonlyMap<string, AttrValue>, inputs: readonly (HostTensor | undefined)[], outputCount: number) {
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
  return { impl, node };
}

/** The OpImpl's CPU evaluation of one node, undefined when it has none. */
export function hostNode(op: string, attrs: ReadonlyMap<string, AttrValue>, inputs: readonly (HostTensor | undefined)[], outputCount = 1): HostTensor[] | undefined {
  const { impl, node } = buildNode(op, attrs, inputs, outputCount);
  return impl.host?.(node, inputs, inputs.map((t) => t && { type: t.type, dims: t.dims }));
}

/** Runs one node of `op` on the GPU the way the executor would. */
export async function runNode(ctx: GpuContext, op: string, attrs: ReadonlyMap<string, AttrValue>, inputs: readonly (HostTensor | undefined)[], outputCount = 1): Promise<HostTensor[]> {
  const { impl, node } = buildNode(op, attrs, inputs, outputCount);
  const hostIdx = new Set(impl.hostInputs ?? []);
  const host = inputs.map((t, i) => (hostIdx.has(i) ? t : undefined));
  const inMetas = inputs.map((t) => t && { type: t.type, dims: t.dims });
  const metas = impl.infer(node, inMetas, host);
  metas.forEach((m, i) => ((node.outputs[i]!.type = m.type), (node.outputs[i]!.shape = [...m.dims])));
  await ctx.pipelines.prepare(impl.pipelines(node, inMetas, metas, ctx, {}));
  const dev = inputs.map((t, i) => (t && !hostIdx.has(i) ? uploadHost(ctx, t, `in${i}`) : undefined));
  const outs: DeviceTensor[] = metas.map((m, i) => {
    const alias = impl.aliases?.[i];
    if (alias !== undefined) return { ...dev[alias]!, shape: m.dims, type: m.type };
    return { ...empty(ctx, m.dims, deviceType(m.type), `out${i}`), type: m.type };
  });
  const step = new Step(ctx, op);
  impl.record?.({ ctx, step, options: {}, extraOutput: () => undefined }, node, dev, outs, host);
  const reads = outs.map((t) => step.read(t.buffer, size(t.shape) * 4));
  await step.submit();
  const gpu = await Promise.all(reads.map(async (r, i) => fromDeviceWords(await r, metas[i]!.type, metas[i]!.dims)));
  const owned = new Set([...dev, ...outs].filter((t) => t).map((t) => t!.buffer));
  for (const b of owned) ctx.buffers.release(b);
  return gpu;
}

/** Type, dims and values within atol + rtol * |expected| (onnxruntime's 1e-3 for floats; exact for integers). */
export function expectTensorClose(actual: HostTensor, expected: HostTensor, what: string, tol = 1e-3): void {
  if (actual.type !== expected.type) throw new Error(`${what}: type ${actual.type}, expected ${expected.type}`);
  if (actual.dims.join() !== expected.dims.join()) throw new Error(`${what}: dims [${actual.dims}], expected [${expected.dims}]`);
  const t = deviceType(expected.type) === 'f32' ? tol : 0;
  expectClose(toNumbers(actual), toNumbers(expected), t, t, what);
}

/** Runs a conformance case node by node on the GPU and on the host; checks both against the expected outputs. */
export async function checkCase(ctx: GpuContext, c: ConformanceCase): Promise<void> {
  const gpuVals = new Map<string, HostTensor>(c.model.inputs.map((n, i) => [n, c.inputs[i]!]));
  const hostVals = new Map(gpuVals);
  let hostComplete = true;
  for (const n of c.model.nodes) {
    const pick = (vals: Map<string, HostTensor>) => n.inputs.map((name) => (name === '' ? undefined : vals.get(name)!));
    const r = await runNode(ctx, n.op, n.attrs, pick(gpuVals), n.outputs.length);
    n.outputs.forEach((name, i) => gpuVals.set(name, r[i]!));
    if (!hostComplete) continue;
    const hr = hostNode(n.op, n.attrs, pick(hostVals), n.outputs.length);
    if (!hr) hostComplete = false;
    else n.outputs.forEach((name, i) => hostVals.set(name, hr[i]!));
  }
  c.model.outputs.forEach((name, i) => {
    expectTensorClose(gpuVals.get(name)!, c.outputs[i]!, `${c.name} gpu output ${i}`);
    if (hostComplete) expectTensorClose(hostVals.get(name)!, c.outputs[i]!, `${c.name} host output ${i}`);
  });
}
