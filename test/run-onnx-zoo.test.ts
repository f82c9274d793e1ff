// `memvp run-onnx` on the model zoo's MemVP decoder laid out as an ONNX backend-test case (model.onnx +
// test_data_set_0/input_*.pb with onnxruntime's outputs as output_*.pb): it passes at 1e-4 and its stats show the
// fusions (one attention and one MemVP FFN per layer).
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { runOnnxCase } from '../src/cli/run-onnx.js';
import type { HostTensor } from '../src/graph/tensor.js';
import { DataType, encodeTensor, makeTensor } from '../src/onnx/index.js';
import { gpu, randn } from './helpers/gpu.js';
import { ortRun, ortSession } from './helpers/ort.js';

const DIR = 'public/models/sortofclevr-llama';

it('runs the MemVP decoder as a backend-test case and reports the fusions', async () => {
  const manifest = JSON.parse(await readFile(join(DIR, 'manifest.json'), 'utf8'));
  const { layers, kvHeads, headDim, d } = manifest.lm;
  const n = manifest.memvp.n;
  const model = new Uint8Array(await readFile(join(DIR, 'decoder.onnx')));
  const P = 3;
  const ids = [1, 7, 4, 9, 2];
  const feeds: Record<string, HostTensor> = {
    input_ids: { type: 'int64', dims: [1, ids.length], data: BigInt64Array.from(ids.map(BigInt)) },
    position_ids: { type: 'int64', dims: [1, ids.length], data: BigInt64Array.from(ids.map((_, i) => BigInt(P + i))) },
  };
  for (let i = 0; i < layers; i++) {
    for (const kv of ['key', 'value']) feeds[`past_${kv}_${i}`] = { type: 'float32', dims: [1, kvHeads, P, headDim], data: randn(kvHeads * P * headDim, 10 * i + kv.length) };
  }
  feeds.memory_k = { type: 'float32', dims: [n, d], data: randn(n * d, 1, 0.5) };
  feeds.memory_v = { type: 'float32', dims: [n, d], data: randn(n * d, 2, 0.5) };
  const ort = await ortSession(model);
  const expected = await ortRun(ort, feeds);

  const dir = await mkdtemp(join(tmpdir(), 'memvp-case-'));
  try {
    await writeFile(join(dir, 'model.onnx'), model);
    await mkdir(join(dir, 'test_data_set_0'));
    const pb = (name: string, t: HostTensor) => encodeTensor(makeTensor(name, t.type === 'int64' ? DataType.INT64 : DataType.FLOAT, [...t.dims], t.data as Float32Array));
    for (const [i, name] of ort.inputNames.entries()) await writeFile(join(dir, 'test_data_set_0', `input_${i}.pb`), pb(name, feeds[name]!));
    for (const [i, name] of ort.outputNames.entries()) {
      const dims = name === 'logits' ? [1, ids.length, manifest.lm.vocab] : [1, kvHeads, P + ids.length, headDim];
      await writeFile(join(dir, 'test_data_set_0', `output_${i}.pb`), pb(name, { type: 'float32', dims, data: expected[name]! }));
    }
    const r = await runOnnxCase(dir, { gpu: await gpu(), tolerance: 1e-4 });
    expect(r.passed).toBe(true);
    expect(r.stats.fusions.attention).toBe(layers);
    expect(r.stats.fusions.memvpFfn).toBe(layers);

    const lines: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => lines.push(a.join(' '));
    try {
      expect(await main(['run-onnx', dir, '--stats', '--tolerance', '1e-4'])).toBe(0);
    } finally {
      console.log = log;
    }
    expect(lines.join('\n')).toMatch(/fusions: \{"attention":4,"memvpFfn":4,/);
    expect(lines.at(-1)).toBe('passed (tolerance 0.0001)');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
