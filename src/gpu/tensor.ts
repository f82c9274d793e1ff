// A tensor on the GPU: a pooled buffer plus its shape. Element type is f32 unless stated; quantized weights
// carry their packed bytes as u32 words.
export type DType = 'f32' | 'i32' | 'u32';

export interface GpuTensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
