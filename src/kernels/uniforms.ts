// A kernel's uniform block declared once in TS: field names, order and WGSL types, from which the byte offsets
// (WGSL's uniform layout rules) and the packing come. The WGSL file keeps its own `struct` (shaders stay plain
// WGSL that tools and readers take as is); test/uniforms.test.ts parses every kernel's struct, includes expanded,
// and checks it against this declaration field by field.
import { KernelShapeError } from '../gpu/index.js';

/** 32-bit scalars, 4-wide vectors of them, and arrays of such vectors (4 slots per vector). */
export type UniformType = 'u32' | 'i32' | 'f32' | `vec4${'u' | 'i' | 'f'}` | `array<vec4${'u' | 'i' | 'f'}, ${number}>`;

export type UniformFields = Readonly<Record<string, UniformType>>;

/** What pack() takes per field: a number for a scalar, up to 4 (per vector) numbers otherwise (the rest are 0). */
export type UniformValues<F extends UniformFields> = { readonly [K in keyof F]: F[K] extends `${'array<' | 'vec4'}${string}` ? readonly number[] : number };

type Scalar = 'u32' | 'i32' | 'f32';

export interface UniformField {
  readonly name: string;
  readonly type: UniformType;
  /** Byte offset in the struct. */
  readonly offset: number;
  readonly scalar: Scalar;
  /** Scalar slots: 1, or 4 per vector. */
  readonly slots: number;
}

const SCALAR: Record<string, Scalar> = { u: 'u32', i: 'i32', f: 'f32' };
/** Integer ranges: a value outside would wrap silently in the typed array. */
const LIMITS: Record<'u32' | 'i32', [number, number]> = { u32: [0, 2 ** 32 - 1], i32: [-(2 ** 31), 2 ** 31 - 1] };

export class UniformLayout<F extends UniformFields = UniformFields> {
  readonly fields: readonly UniformField[];
  /** The struct's size in bytes (a multiple of 16, the uniform struct alignment once it holds an array). */
  readonly size: number;

  constructor(declared: F) {
    let end = 0;
    let align = 4;
    this.fields = Object.entries(declared).map(([name, type]) => {
      const vec = /^(?:array<)?vec4([uif])(?:, (\d+)>)?$/.exec(type);
      const fieldAlign = vec ? 16 : 4;
      const offset = Math.ceil(end / fieldAlign) * fieldAlign;
      const slots = vec ? 4 * Number(vec[2] ?? 1) : 1;
      end = offset + 4 * slots;
      align = Math.max(align, fieldAlign);
      return { name, type, offset, scalar: vec ? SCALAR[vec[1]!]! : (type as Scalar), slots };
    });
    this.size = Math.ceil(end / align) * align;
  }

  /** The uniform block's bytes (at least 16, a multiple of 16) for `values`; `kernel` names the kernel in errors. */
  pack(kernel: string, values: UniformValues<F>): Uint32Array {
    const buf = new ArrayBuffer(Math.max(16, Math.ceil(this.size / 16) * 16));
    const views = { u32: new Uint32Array(buf), i32: new Int32Array(buf), f32: new Float32Array(buf) };
    for (const f of this.fields) {
      const v = (values as Record<string, number | readonly number[]>)[f.name];
      const list = typeof v === 'number' ? [v] : v;
      if (!list || (typeof v === 'number') !== (f.type.length === 3) || list.length > f.slots) {
        throw new KernelShapeError(kernel, `uniform ${f.name} (${f.type}) cannot hold ${JSON.stringify(v)}`);
      }
      list.forEach((x, i) => {
        if (f.scalar !== 'f32' && !(Number.isInteger(x) && x >= LIMITS[f.scalar][0] && x <= LIMITS[f.scalar][1])) {
          throw new KernelShapeError(kernel, `uniform ${f.name} (${f.type}) slot ${i} is ${x}, outside ${f.scalar}`);
        }
        views[f.scalar][f.offset / 4 + i] = x;
      });
    }
    return views.u32;
  }
}

export function uniformLayout<const F extends UniformFields>(fields: F): UniformLayout<F> {
  return new UniformLayout(fields);
}
