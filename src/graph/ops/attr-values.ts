// Attribute values an op implements only in part: anything else is an UnsupportedOpError that names the node,
// its op and domain, the attribute and the value, never a silently different computation.
import { UnsupportedOpError } from '../errors.js';
import { attr, type Node } from '../ir.js';

export function unsupportedAttr(node: Node, name: string, value: unknown, why: string): UnsupportedOpError {
  return new UnsupportedOpError(node, `(domain ${node.domain || 'ai.onnx'}): attribute ${name} = ${JSON.stringify(value)} is not supported (${why})`);
}

/** A string attribute that must be one of `allowed` (the first is the default). */
export function choiceAttr<T extends string>(node: Node, name: string, allowed: readonly T[]): T {
  const v = attr<string>(node, name, allowed[0]!);
  if (!(allowed as readonly string[]).includes(v)) throw unsupportedAttr(node, name, v, `expected one of ${allowed.join(', ')}`);
  return v as T;
}
