// Builds the graph IR from a parsed ONNX model: values typed and shaped from the model's value infos,
// initializers as constants (still views into the model's bytes), nodes in a checked topological order.
import { dataTypeName, readTensorArray, type OnnxAttribute, type OnnxModel, type OnnxTensor, type OnnxType } from '../onnx/index.js';
import { GraphStructureError } from './errors.js';
import { Graph, type AttrValue, type Dim, type Node } from './ir.js';
import { ONNX_ELEM_TYPES, type ElemType, type HostData, type HostTensor } from './tensor.js';

export function elemType(dataType: number, what: string): ElemType {
  const t = ONNX_ELEM_TYPES[dataType];
  if (!t) throw new GraphStructureError(`${what} has element type ${dataTypeName(dataType)}, which the GPU runtime cannot hold`);
  return t;
}

export async function hostTensor(t: OnnxTensor, model?: OnnxModel): Promise<HostTensor> {
  const type = elemType(t.dataType, `tensor "${t.name}"`);
  return { type, dims: t.dims, data: (await readTensorArray(t, model?.externalData)) as HostData };
}

function valueType(type: OnnxType | undefined, what: string): { type?: ElemType; shape?: Dim[] } {
  if (!type || type.kind !== 'tensor') return {};
  return {
    type: type.elemType ? elemType(type.elemType, what) : undefined,
    shape: type.shape?.map((d, i) => d ?? `${what}:${i}`),
  };
}

async function attrValue(a: OnnxAttribute, model: OnnxModel, node: string): Promise<AttrValue> {
  switch (a.type) {
    case 'int':
      return Number(a.value);
    case 'ints':
      return a.value.map(Number);
    case 'float':
    case 'floats':
    case 'string':
    case 'strings':
      return a.value;
    case 'tensor':
      return hostTensor(a.value, model);
    case 'tensors':
      return Promise.all(a.value.map((t) => hostTensor(t, model)));
    case 'graph':
    case 'graphs':
      throw new GraphStructureError(`node "${node}": attribute "${a.name}" holds a subgraph; control flow (If/Loop/Scan) is not supported`);
  }
}

export async function graphFromOnnx(model: OnnxModel): Promise<Graph> {
  const g = new Graph();
  const og = model.graph;
  for (const o of model.opsetImports) g.opsets.set(o.domain === 'ai.onnx' ? '' : o.domain, o.version);

  const initNames = new Set<string>();
  for (const t of og.initializers) {
    if (initNames.has(t.name)) throw new GraphStructureError(`initializer "${t.name}" is defined twice`);
    initNames.add(t.name);
    const v = g.value(t.name);
    v.constant = await hostTensor(t, model);
    v.type = v.constant.type;
    v.shape = [...t.dims];
  }
  for (const info of [...og.inputs, ...og.outputs, ...og.valueInfo]) {
    const v = g.value(info.name);
    if (v.constant) continue;
    const { type, shape } = valueType(info.type, `value "${info.name}"`);
    v.type ??= type;
    v.shape ??= shape;
  }
  // Older models list initializers among the inputs too: those are constants, not feeds.
  g.inputs = og.inputs.filter((i) => !initNames.has(i.name)).map((i) => g.value(i.name));
  g.outputs = og.outputs.map((o) => g.value(o.name));

  const produced = new Map<string, number>();
  og.nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (!o) continue;
      if (produced.has(o) || initNames.has(o)) throw new GraphStructureError(`value "${o}" is produced twice (node "${n.name || i}")`);
      produced.set(o, i);
    }
  });
  const available = new Set([...initNames, ...g.inputs.map((v) => v.name)]);
  for (const [i, n] of og.nodes.entries()) {
    for (const name of n.inputs) {
      if (name && !available.has(name) && !produced.has(name)) {
        throw new GraphStructureError(`node "${n.name || i}" (${n.opType}) reads "${name}", which no node, input or initializer provides`);
      }
    }
  }

  // Kahn's algorithm: keeps the file's order where it is already topological, and finds cycles.
  const order: number[] = [];
  const pending = og.nodes.map((n) => new Set(n.inputs.filter((x) => x && !available.has(x))));
  const readers = new Map<string, number[]>();
  og.nodes.forEach((n, i) => n.inputs.forEach((x) => x && readers.set(x, [...(readers.get(x) ?? []), i])));
  const ready = og.nodes.map((_, i) => i).filter((i) => pending[i]!.size === 0);
  while (ready.length) {
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    order.push(i);
    for (const o of og.nodes[i]!.outputs) {
      for (const r of readers.get(o) ?? []) {
        const p = pending[r]!;
        if (p.delete(o) && p.size === 0) ready.push(r);
      }
    }
  }
  if (order.length < og.nodes.length) {
    const stuck = og.nodes.findIndex((_, i) => !order.includes(i));
    const n = og.nodes[stuck]!;
    throw new GraphStructureError(`the graph has a cycle through node "${n.name || stuck}" (${n.opType})`);
  }

  for (const i of order) {
    const n = og.nodes[i]!;
    const name = n.name || `${n.opType}_${i}`;
    const attrs = new Map<string, AttrValue>();
    for (const a of n.attributes) attrs.set(a.name, await attrValue(a, model, name));
    const node: Omit<Node, 'attrs'> = {
      name,
      op: n.opType,
      domain: n.domain === 'ai.onnx' ? '' : n.domain,
      inputs: n.inputs.map((x) => (x ? g.value(x) : undefined)),
      outputs: n.outputs.map((x) => g.value(x || g.freshName(`${name}_unused`))),
    };
    g.addNode({ ...node, attrs });
  }
  for (const v of g.outputs) {
    if (!v.producer && !v.constant && !g.inputs.includes(v)) throw new GraphStructureError(`graph output "${v.name}" is never produced`);
  }
  return g;
}
