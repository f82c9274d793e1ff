// Typed errors of the ONNX reader. A format error names the byte offset and the field path
// (graph.node[12].attribute[3]) and, inside a node, the node's name and op_type, so a broken file can be
// inspected with any protobuf dump tool at the reported place.

export interface OnnxErrorLocation {
  /** Absolute byte offset in the parsed buffer. */
  offset?: number;
  /** Field path from the root message, e.g. `graph.initializer[3].raw_data`. */
  path?: string;
  /** The enclosing node, e.g. `"attn/qk" (Softmax)`. */
  node?: string;
}

/** The bytes are not a well-formed ONNX model or tensor (or use a feature this reader rejects). */
export class OnnxFormatError extends Error {
  readonly offset: number | undefined;
  readonly path: string;
  readonly node: string | undefined;

  constructor(
    readonly detail: string,
    where: OnnxErrorLocation = {},
  ) {
    const path = where.path ?? '';
    const place = [path, where.node && `node ${where.node}`, where.offset !== undefined && `byte ${where.offset}`]
      .filter(Boolean)
      .join(', ');
    super(`ONNX format error${place ? ` at ${place}` : ''}: ${detail}`);
    this.name = new.target.name;
    this.offset = where.offset;
    this.path = path;
    this.node = where.node;
  }

  /** The same error, naming the node it was found in (the innermost node wins). */
  inNode(node: string): OnnxFormatError {
    return this.node ? this : new OnnxFormatError(this.detail, { offset: this.offset, path: this.path, node });
  }
}

/** A model or its external data could not be fetched or read (HTTP status, missing file, abort excluded). */
export class OnnxLoadError extends Error {
  constructor(
    readonly source: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot load ${source}: ${detail}`, options);
    this.name = new.target.name;
  }
}
