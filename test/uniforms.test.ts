// Every kernel's uniform block is declared once in TS (src/kernels/uniforms.ts) and once as the WGSL struct bound at
// @binding(0). This test parses that struct from each kernel's WGSL (includes expanded), lays it out by WGSL's
// uniform rules, and checks names, order, types and byte offsets against the TS declaration, so a field added,
// dropped, renamed, retyped or reordered on one side only fails here instead of reading garbage on the GPU. It
// also checks pack(): values at their offsets in their types, and values a field cannot hold refused.
import { describe, expect, it } from 'vitest';
import { KernelShapeError } from '../src/gpu/index.js';
import type { Kernel } from '../src/kernels/shader.js';
import { uniformLayout } from '../src/kernels/uniforms.js';

const modules = import.meta.glob('../src/kernels/*.ts', { eager: true }) as Record<string, Record<string, unknown>>;
const shaderFiles = Object.keys(import.meta.glob('../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }));

function isKernel(v: unknown): v is Kernel {
  return typeof v === 'object' && v !== null && 'uniforms' in v && 'code' in v && 'pack' in v;
}

const kernels = new Map<string, Kernel>();
for (const exports of Object.values(modules)) {
  for (const v of Object.values(exports)) {
    const found = isKernel(v) ? [v] : typeof v === 'object' && v !== null ? Object.values(v).filter(isKernel) : [];
    for (const k of found) kernels.set(k.name, k);
  }
}

interface WgslField {
  name: string;
  type: string;
  offset: number;
}

/** The fields of the struct bound as var<uniform> at @binding(0), laid out by WGSL's uniform address space rules. */
function uniformStruct(code: string): { fields: WgslField[]; size: number } {
  const text = code.replace(/\/\/[^\n]*/g, '');
  const binding = /@binding\(0\)\s*var<uniform>\s*\w+\s*:\s*(\w+)\s*;/.exec(text);
  if (!binding) throw new Error('no var<uniform> at @binding(0)');
  const body = new RegExp(`struct\\s+${binding[1]}\\s*\\{([^}]*)\\}`).exec(text);
  if (!body) throw new Error(`struct ${binding[1]} not found`);
  const fields: WgslField[] = [];
  let end = 0;
  let align = 4;
  for (const m of body[1]!.matchAll(/(\w+)\s*:\s*(array\s*<\s*vec4\s*(?:<\s*\w+\s*>|[uif])\s*,\s*\d+\s*>|vec4\s*<\s*\w+\s*>|\w+)/g)) {
    const type = m[2]!.replace(/\s+/g, '').replace(/vec4<(\w)32>/, 'vec4$1').replace(',', ', ');
    const array = /^array<vec4[uif], (\d+)>$/.exec(type);
    const vec = /^vec4[uif]$/.test(type);
    if (!array && !vec && !['u32', 'i32', 'f32'].includes(type)) throw new Error(`field ${m[1]}: type ${type} is not one a uniform declaration can hold`);
    // Scalars: size and alignment 4. vec4<T>: size and alignment 16. array<vec4<T>, N>: alignment 16, stride 16.
    const a = array || vec ? 16 : 4;
    const offset = Math.ceil(end / a) * a;
    end = offset + (array ? 16 * Number(array[1]) : vec ? 16 : 4);
    align = Math.max(align, a);
    fields.push({ name: m[1]!, type, offset });
  }
  return { fields, size: Math.ceil(end / align) * align };
}

describe('uniform declarations', () => {
  it('every shader in shaders/ is a kernel with a uniform declaration', () => {
    const names = shaderFiles.map((p) => p.replace(/^.*\/(.*)\.wgsl$/, '$1')).sort();
    expect([...kernels.keys()].sort()).toEqual(names);
  });

  for (const [name, kernel] of [...kernels].sort(([a], [b]) => a.localeCompare(b))) {
    it(`${name}: the TS declaration matches the WGSL struct field by field`, () => {
      const wgsl = uniformStruct(kernel.code);
      const ts = kernel.uniforms.fields.map(({ name, type, offset }) => ({ name, type, offset }));
      expect(ts).toEqual(wgsl.fields);
      expect(kernel.uniforms.size).toBe(wgsl.size);
      const zeros = Object.fromEntries(kernel.uniforms.fields.map((f) => [f.name, f.slots === 1 ? 0 : []])) as Parameters<Kernel['pack']>[0];
      expect(kernel.pack(zeros).byteLength).toBeGreaterThanOrEqual(wgsl.size);
    });
  }
});

describe('uniform packing', () => {
  const layout = uniformLayout({ n: 'u32', k: 'i32', s: 'f32', dims: 'array<vec4u, 2>', strides: 'array<vec4i, 1>', scale: 'vec4f' });

  it('lays fields out by WGSL rules: arrays 16-aligned, the struct a multiple of its alignment', () => {
    expect(layout.fields.map((f) => f.offset)).toEqual([0, 4, 8, 16, 48, 64]);
    expect(layout.size).toBe(80);
  });

  it('writes each value at its offset in its type, zero past a short array', () => {
    const words = layout.pack('test', { n: 7, k: -3, s: 0.5, dims: [1, 2, 3, 4, 5], strides: [-1, 6], scale: [0.25] });
    expect(words.length).toBe(20);
    expect(words[0]).toBe(7);
    expect(new Int32Array(words.buffer)[1]).toBe(-3);
    expect(new Float32Array(words.buffer)[2]).toBe(0.5);
    expect(words[3]).toBe(0);
    expect([...words.slice(4, 12)]).toEqual([1, 2, 3, 4, 5, 0, 0, 0]);
    expect([...new Int32Array(words.buffer, 48, 4)]).toEqual([-1, 6, 0, 0]);
    expect([...new Float32Array(words.buffer, 64, 4)]).toEqual([0.25, 0, 0, 0]);
  });

  it('refuses values a field cannot hold, naming the kernel and the field', () => {
    const ok = { n: 1, k: 0, s: 0, dims: [], strides: [], scale: [] };
    expect(() => layout.pack('test', { ...ok, n: -1 })).toThrow(KernelShapeError);
    expect(() => layout.pack('test', { ...ok, n: 2 ** 32 })).toThrow(/test: uniform n \(u32\) slot 0 is 4294967296/);
    expect(() => layout.pack('test', { ...ok, n: 1.5 })).toThrow(/uniform n/);
    expect(() => layout.pack('test', { ...ok, k: 2 ** 31 })).toThrow(/uniform k \(i32\)/);
    expect(() => layout.pack('test', { ...ok, dims: [1, 2, 3, 4, 5, 6, 7, 8, 9] })).toThrow(/uniform dims \(array<vec4u, 2>\) cannot hold/);
    expect(() => layout.pack('test', { ...ok, strides: 3 as unknown as number[] })).toThrow(/uniform strides/);
  });
});
