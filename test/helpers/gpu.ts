// Shared test fixtures: one GPU context per test file (SwiftShader in Node), seeded random data, and a
// closeness check whose failure message says where and by how much.
import { afterAll } from 'vitest';
import { GpuContext, Step, numel, type GpuTensor } from '../../src/gpu/index.js';

let ctxPromise: Promise<GpuContext> | undefined;

export function gpu(): Promise<GpuContext> {
  if (!ctxPromise) {
    ctxPromise = GpuContext.create();
    afterAll(async () => (await ctxPromise!).destroy());
  }
  return ctxPromise;
}

/** mulberry32: small, seeded, reproducible across runs. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}

export function randInt(n: number, lo: number, hi: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo)));
}

/** Fails with the worst index when |a - e| > atol + rtol * |e| anywhere. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0, what = 'output'): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (Number.isNaN(a) !== Number.isNaN(e) || excess > worstExcess) {
      worst = i;
      worstExcess = Number.isNaN(a) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    throw new Error(`${what}: index ${worst} is ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`);
  }
}

/** A tensor's contents, read back in one step of its own (f32 or i32 by its dtype). */
export async function readTensor(t: GpuTensor): Promise<Float32Array | Int32Array> {
  const step = new Step(await gpu(), 'readback');
  const bytes = step.read(t.buffer, Math.max(4, numel(t.shape) * 4));
  await step.submit();
  const b = await bytes;
  return t.dtype === 'f32' ? new Float32Array(b, 0, numel(t.shape)) : new Int32Array(b, 0, numel(t.shape));
}

/** Records dispatches into one step and submits it. */
export async function runStep(record: (step: Step) => void): Promise<void> {
  const step = new Step(await gpu());
  record(step);
  await step.submit();
}
