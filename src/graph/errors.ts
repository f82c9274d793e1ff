// Typed errors of the graph layer; each names the node (op type and name) or the graph input at fault.
import type { Node } from './ir.js';

export class GraphError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export function nodeLabel(node: Node): string {
  return `${node.domain ? node.domain + '.' : ''}${node.op} node "${node.name}"`;
}

/** An operator (or an attribute value of it) that the executor has no implementation for. */
export class UnsupportedOpError extends GraphError {
  constructor(readonly node: Node, detail = 'is not supported') {
    super(`${nodeLabel(node)} ${detail}`);
  }
}

/** Shapes or types that do not fit together at a node. */
export class ShapeError extends GraphError {
  constructor(readonly node: Node | undefined, detail: string) {
    super(node ? `${nodeLabel(node)}: ${detail}` : detail);
  }
}

/** The graph itself is malformed: a cycle, a value nobody produces, duplicate producers. */
export class GraphStructureError extends GraphError {}

/** A run's inputs are missing, unknown, or of the wrong type or shape. */
export class FeedError extends GraphError {}

/**
 * A tensor a node would create is larger than the memory that must hold it: the GPU's largest buffer binding, or
 * the host's cap for tensors evaluated on the CPU. Raised from shapes alone, before anything is allocated.
 */
export class TensorSizeError extends GraphError {
  constructor(
    readonly node: Node | undefined,
    readonly what: string,
    readonly dims: readonly number[],
    readonly elements: number,
    readonly bytes: number,
    readonly limitBytes: number,
    readonly limitName: string,
  ) {
    super(`${node ? `${nodeLabel(node)}: ` : ''}${what} [${dims}] would hold ${elements} elements (${bytes} bytes), above ${limitName} of ${limitBytes} bytes`);
  }
}
