// The ViT + MemVP projector with random weights, exported by the training code (training/pipeline.py's
// VisionMemVPGraph and export_graph through /usr/bin/python3, into a temp dir) as vision.onnx, on our executor, fused and unfused, against onnxruntime-web's WASM build on the same file and input. The model's
// outputs scale the projector by 0.01 before adding the memory positions, so the ViT's last LayerNorm and the
// projector output are compared too (added as graph outputs to both runtimes).
// Tolerance: 1e-4 absolute (f32 sums in a different order through 3 transformer blocks and the projector).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceSession } from '../src/graph/session.js';
import type { HostTensor } from '../src/graph/tensor.js';
import { DataType, encodeModel, makeValueInfo, parseModel } from '../src/onnx/index.js';
import { gpu, randn } from './helpers/gpu.js';

// The shipped architecture (ARCH, n and lambda of the full config) with torch's default initialisation, seeded.
const EXPORT = `
import sys
import torch
sys.path.insert(0, 'training')
from models import MemVP
from pipeline import ARCH, FULL, VisionMemVPGraph, export_graph, make_vit
torch.manual_seed(0)
graph = VisionMemVPGraph(make_vit(), MemVP(ARCH['vit_width'], ARCH['d'], FULL['n'], FULL['lam']))
export_graph(graph, (torch.randn(1, 3, ARCH['image_size'], ARCH['image_size']),), sys.argv[1], ['pixels'], ['memory_k', 'memory_v'], None)
`;
const dir = mkdtempSync(join(tmpdir(), 'memvp-vision-'));
const MODEL = join(dir, 'vision.onnx');
const INTERMEDIATE = ['/ln_post/LayerNormalization_output_0', '/mem/projector/fc2/Add_output_0'];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('vision.onnx against onnxruntime-web (wasm)', () => {
  beforeAll(() => {
    const r = spawnSync('/usr/bin/python3', ['-c', EXPORT, MODEL], { cwd: resolve(import.meta.dirname, '..'), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
