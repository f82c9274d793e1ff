// The model zoo's ONNX files on our executor against onnxruntime (WASM) on the same files: the vision encoders,
// the embedding, and both decoders for a prefill and 20 decode steps with the KV cache kept on the GPU, with
// fusions on and off; and the fusions must fire on every decoder layer. Tolerance: 1e-4 max abs on logits.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Feed } from '../src/graph/executor.js';
import { isDeviceTensor } from '../src/graph/executor.js';
import { InferenceSession } from '../src/graph/session.js';
import type { HostTensor } from '../src/graph/tensor.js';
import { gpu, randn } from './helpers/gpu.js';
import { maxAbsDiff, ortRun, ortSession } from './helpers/ort.js';

const DIR = 'public/models/sortofclevr-llama';
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8'));
const { layers, kvHeads, headDim, d, vocab } = manifest.lm;
const n = manifest.memvp.n;
const bytes = (file: string) => new Uint8Array(readFileSync(join(DIR, file)));
const f32 = (dims: number[], data: Float32Array): HostTensor => ({ type: 'float32', dims, data });
const i64 = (values: number[]): HostTensor => ({ type: 'int64', dims: [1, values.length], data: BigInt64Array.from(values.map(BigInt)) });
const emptyPast = () => {
  const past: Record<string, HostTensor> = {};
  for (let i = 0; i < layers; i++) for (const kv of ['key', 'value']) past[`past_${kv}_${i}`] = f32([1, kvHeads, 0, headDim], new Float32Array(0));
  return past;
};
const host = (f: Feed | undefined) => {
  if (!f || isDeviceTensor(f)) throw new Error('expected a host tensor');
  return f.data as Float32Array;
};

describe('model zoo graphs match onnxruntime', () => {
  const pixels = { pixels: f32([1, 3, 64, 64], randn(3 * 64 * 64, 11)) };
  it.each([
    ['vision.onnx', pixels],
    ['vision_inputspace.onnx', pixels],
    ['embed.onnx', { input_ids: i64([1, 4, 9, 2, 0, 7]) }],
  ])('%s, fusions on and off', async (file, feeds) => {
    const ctx = await gpu();
    const ref = await ortRun(await ortSession(bytes(file)), feeds);
    for (const fusions of [true, false]) {
      const s = await InferenceSession.create(bytes(file), { gpu: ctx, fusions });
      const out = await s.run(feeds);
      for (const name of s.outputNames) expect(maxAbsDiff(host(out.get(name)), ref[name]!), `${file} ${name} fusions=${fusions}`).toBeLessThanOrEqual(1e-4);
      s.dispose();
    }
  });

  for (const [file, embeds] of [['decoder.onnx', false], ['decoder_inputspace.onnx', true]] as const) {
    it(`${file}: prefill + 20 decode steps, fusions on and off, the fusions fire on every layer`, async () => {
      const ctx = await gpu();
      const ort = await ortSession(bytes(file));
      const memory: Record<string, HostTensor> = embeds ? {} : { memory_k: f32([n, d], randn(n * d, 1, 0.5)), memory_v: f32([n, d], randn(n * d, 2, 0.5)) };
      for (const fusions of [true, false]) {
        const s = await InferenceSession.create(bytes(file), { gpu: ctx, fusions });
        if (fusions) {
          expect(s.stats.fusions.attention).toBe(layers);
          expect(s.stats.fusions.memvpFfn).toBe(layers);
          expect(s.stats.ops['memvp.Attention']).toBe(layers);
          expect(s.stats.ops['memvp.MemVpFfn']).toBe(layers);
          expect(s.stats.ops.Softmax).toBeUndefined();
        }
        const presents = s.outputNames.filter((o) => o.startsWith('present_'));
        let ours: Record<string, Feed> = emptyPast();
        let theirs: Record<string, HostTensor> = emptyPast();
        let tokens = [1, 5, 9, 3, 7, 2, 11, 4];
        let pos = 0;
        for (let stepIndex = 0; stepIndex <= 20; stepIndex++) {
          const L = tokens.length;
          const x = embeds ? f32([1, L, d], randn(L * d, 100 + stepIndex, 0.05)) : i64(tokens);
          const feeds = { [embeds ? 'inputs_embeds' : 'input_ids']: x, position_ids: i64(tokens.map((_, i) => pos + i)), ...memory };
          const ref = await ortRun(ort, { ...feeds, ...theirs });
          const out = await s.run({ ...feeds, ...ours }, { keepOnGpu: presents });
          const logits = host(out.get('logits'));
          expect(maxAbsDiff(logits, ref.logits!), `${file} step ${stepIndex} fusions=${fusions}`).toBeLessThanOrEqual(1e-4);
          // A past with room left grew in place into its present; one that had to be regrown is released.
          const kept = new Set(presents.map((name) => (out.get(name) as { buffer: GPUBuffer }).buffer));
          for (const p of Object.values(ours)) if (isDeviceTensor(p) && !kept.has(p.buffer)) s.release(p);
          ours = {};
          theirs = {};
          for (const name of presents) {
            ours[name.replace('present', 'past')] = out.get(name)!;
            const dims = [1, kvHeads, pos + L, headDim];
            theirs[name.replace('present', 'past')] = f32(dims, ref[name]!);
          }
          let next = 0;
          for (let j = 1; j < vocab; j++) if (ref.logits![(L - 1) * vocab + j]! > ref.logits![(L - 1) * vocab + next]!) next = j;
          pos += L;
          tokens = [next];
        }
        for (const p of Object.values(ours)) if (isDeviceTensor(p)) s.release(p);
        s.dispose();
      }
    });
  }
});
