// onnxruntime-web's WASM build as the reference implementation in tests (same ONNX file, CPU, one thread).
import * as ort from 'onnxruntime-web';
import type { HostTensor } from '../../src/graph/tensor.js';

ort.env.wasm.numThreads = 1;

export async function ortSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
}

export function toOrt(t: HostTensor): ort.Tensor {
  return new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims as number[]);
}

export async function ortRun(s: ort.InferenceSession, feeds: Record<string, HostTensor>): Promise<Record<string, Float32Array>> {
  const out = await s.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)])));
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
