// A kernel: its WGSL with includes resolved and its uniform layout. The tiny template step: a kernel file may say
// `//!include <name>` on a line of its own, and that line is replaced by shaders/lib/<name>.wgsl. Nothing else is
// rewritten: specialisation uses WGSL override constants.
import type { KernelSource } from '../gpu/index.js';
import type { UniformFields, UniformLayout, UniformValues } from './uniforms.js';

const libs = import.meta.glob('../../shaders/lib/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

function lib(name: string): string {
  const code = libs[`../../shaders/lib/${name}.wgsl`];
  if (code === undefined) throw new Error(`unknown WGSL include "${name}"`);
  return code;
}

/** `code` with every `//!include <name>` line replaced by shaders/lib/<name>.wgsl. */
export function resolveIncludes(code: string): string {
  return code.replace(/^\/\/!include\s+(\S+)\s*$/gm, (_, n: string) => lib(n));
}

export interface Kernel<F extends UniformFields = UniformFields> extends KernelSource {
  /** The layout of the struct bound at @binding(0). */
  readonly uniforms: UniformLayout<F>;
  /** The uniform block's bytes for one dispatch. */
  pack(values: UniformValues<F>): Uint32Array;
}

/** The kernel `name` (shaders/<name>.wgsl, whose text is `code`) with the uniform struct `uniforms` declares. */
export function defineKernel<F extends UniformFields>(name: string, code: string, uniforms: UniformLayout<F>): Kernel<F> {
  return { name, code: resolveIncludes(code), uniforms, pack: (values) => uniforms.pack(name, values) };
}
