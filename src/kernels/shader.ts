// The tiny template step: a kernel file may say `//!include <name>` on a line of its own, and that line is
// replaced by shaders/lib/<name>.wgsl. Nothing else is rewritten: specialisation uses WGSL override constants.
import type { KernelSource } from '../gpu/index.js';

const libs = import.meta.glob('../../shaders/lib/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

function lib(name: string): string {
  const code = libs[`../../shaders/lib/${name}.wgsl`];
  if (code === undefined) throw new Error(`unknown WGSL include "${name}"`);
  return code;
}

export function kernelSource(name: string, code: string): KernelSource {
  const resolved = code.replace(/^\/\/!include\s+(\S+)\s*$/gm, (_, n: string) => lib(n));
  return { name, code: resolved };
}
