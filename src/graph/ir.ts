// The graph IR: values (edges) and nodes, built from an ONNX graph and rewritten by the passes.
// Dimensions may be symbolic (a name such as "batch" or "past_sequence_length") until a run binds them.
import type { ElemType, HostTensor } from './tensor.js';

export type Dim = number | string;

export interface Value {
  readonly name: string;
  type: ElemType | undefined;
  /** Static shape with symbolic dims where known; undefined if unknown before a run. */
  shape: Dim[] | undefined;
  /** Constant data (initializers and folded constants). */
  constant?: HostTensor;
  producer?: Node;
  readonly consumers: Node[];
}

export type AttrValue = number | string | number[] | string[] | HostTensor | HostTensor[] | Graph;

export interface Node {
  readonly name: string;
  op: string;
  /** '' for the default ONNX domain, e.g. 'com.microsoft' or 'memvp' for our fused ops. */
  domain: string;
  /** Missing optional inputs are undefined (ONNX's empty input name). */
  inputs: (Value | undefined)[];
  outputs: Value[];
  attrs: Map<string, AttrValue>;
}

export class Graph {
  nodes: Node[] = [];
  readonly values = new Map<string, Value>();
  inputs: Value[] = [];
  outputs: Value[] = [];
  opsets = new Map<string, number>();

  value(name: string): Value {
    let v = this.values.get(name);
    if (!v) {
      v = { name, type: undefined, shape: undefined, consumers: [] };
      this.values.set(name, v);
    }
    return v;
  }

  /** A value name not used yet, for values the passes create. */
  freshName(base: string): string {
    let i = 0;
    while (this.values.has(`${base}_${i}`)) i++;
    return `${base}_${i}`;
  }

  addNode(node: Omit<Node, 'attrs'> & { attrs?: Map<string, AttrValue> }, index = this.nodes.length): Node {
    const n: Node = { ...node, attrs: node.attrs ?? new Map() };
    for (const v of n.inputs) v?.consumers.push(n);
    for (const v of n.outputs) v.producer = n;
    this.nodes.splice(index, 0, n);
    return n;
  }

  removeNode(node: Node): void {
    const i = this.nodes.indexOf(node);
    if (i >= 0) this.nodes.splice(i, 1);
    for (const v of node.inputs) {
      if (!v) continue;
      const j = v.consumers.indexOf(node);
      if (j >= 0) v.consumers.splice(j, 1);
    }
    for (const v of node.outputs) if (v.producer === node) v.producer = undefined;
  }

  /** Reorders the nodes so that every value is produced before it is read, keeping the current order where it can. */
  sortTopologically(): void {
    const placed = new Set<Node>();
    const order: Node[] = [];
    const visit = (n: Node, path: Set<Node>): void => {
      if (placed.has(n)) return;
      if (path.has(n)) throw new Error(`the graph has a cycle through node "${n.name}"`);
      path.add(n);
      for (const v of n.inputs) if (v?.producer) visit(v.producer, path);
      path.delete(n);
      placed.add(n);
      order.push(n);
    };
    for (const n of this.nodes) visit(n, new Set());
    this.nodes = order;
  }

  /** Points every consumer of `from` at `to` (graph outputs included). */
  replaceUses(from: Value, to: Value): void {
    for (const c of from.consumers) {
      c.inputs = c.inputs.map((v) => (v === from ? to : v));
      to.consumers.push(c);
    }
    from.consumers.length = 0;
    this.outputs = this.outputs.map((v) => (v === from ? to : v));
  }
}

export function attr<T extends AttrValue>(node: Node, name: string, fallback: T): T;
export function attr<T extends AttrValue>(node: Node, name: string): T | undefined;
export function attr<T extends AttrValue>(node: Node, name: string, fallback?: T): T | undefined {
  return (node.attrs.get(name) as T | undefined) ?? fallback;
}
