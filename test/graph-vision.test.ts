// The exported ViT + MemVP projector (/tmp/fuse/vision.onnx: random weights, exported by the training code) on
// our executor, fused and unfused, against onnxruntime-web's WASM build on the same file and input. The model's
// outputs scale the projector by 0.01 before adding the memory positions, so the ViT's last LayerNorm and the
// projector output are compared too (added as graph outputs to both runtimes).
// Tolerance: 1e-4 absolute (f32 sums in a different order through 3 transformer blocks and the projector).
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { InferenceSession } from '../src/graph/session.js';
import type { HostTensor } from '../src/graph/tensor.js';
import { DataType, encodeModel, makeValueInfo, parseModel } from '../src/onnx/index.js';
import { gpu, randn } from './helpers/gpu.js';

const MODEL = '/tmp/fuse/vision.onnx';
const INTERMEDIATE = ['/ln_post/LayerNormalization_output_0', '/mem/projector/fc2/Add_output_0'];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('vision.onnx against onnxruntime-web (wasm)', () => {
  it('matches with fusions on and off', async () => {
    const model = parseModel(new Uint8Array(readFileSync(MODEL)));
    model.graph.outputs.push(...INTERMEDIATE.map((name) => makeValueInfo(name, DataType.FLOAT)));
    const bytes = encodeModel(model);
    const ctx = await gpu();
    const pixels: HostTensor = { type: 'float32', dims: [1, 3, 64, 64], data: randn(3 * 64 * 64, 11) };

    ort.env.wasm.numThreads = 1;
    const ref = await ort.InferenceSession.create(bytes);
    const want = await ref.run({ pixels: new ort.Tensor('float32', pixels.data as Float32Array, [...pixels.dims]) });
    await ref.release();

    for (const fusions of [true, false]) {
      const session = await InferenceSession.create(bytes, { gpu: ctx, fusions });
      if (fusions) expect(session.stats.fusions).toMatchObject({ activation: 4, 'matmul-bias': 14 });
      else expect(session.stats.fusions).toEqual({});
      const got = await session.run({ pixels });
      expect([...got.keys()].sort()).toEqual([...ref.outputNames].sort());
      for (const name of ref.outputNames) {
        const g = got.get(name) as HostTensor;
        expect(g.dims).toEqual(want[name]!.dims);
        const d = maxAbsDiff(g.data as Float32Array, want[name]!.data as Float32Array);
        console.log(`vision.onnx ${name} [${g.dims}] fusions=${fusions}: max |ours - onnxruntime| = ${d.toExponential(2)}`);
        expect(d, `${name} fusions=${fusions}`).toBeLessThanOrEqual(1e-4);
      }
      session.dispose();
    }
  });
});
