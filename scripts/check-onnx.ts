/**
 * Check exported ONNX graphs against torch: training/pipeline.py dumps cases (inputs + torch outputs as .npy);
 * this runs each graph in onnxruntime-web (WASM EP, Node) and fails when max |onnx - torch| >= 1e-4.
 * Usage: npx vite-node scripts/check-onnx.ts -- <check-dir> <models-dir>
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { readNpy, type NpyArray } from './npy';

const [checkDir, modelsDir] = process.argv.slice(2);
if (!checkDir || !modelsDir) throw new Error('usage: check-onnx.ts <check-dir> <models-dir>');
ort.env.wasm.numThreads = 1;
const TOL = 1e-4;

function toTensor(a: NpyArray): ort.Tensor {
  switch (a.dtype) {
    case '<f4':
      return new ort.Tensor('float32', a.data as Float32Array, a.shape);
    case '<i8':
      return new ort.Tensor('int64', a.data as BigInt64Array, a.shape);
    case '<f8':
      return new ort.Tensor('float32', Float32Array.from(a.data as Float64Array), a.shape);
    default:
      throw new Error(`unsupported input dtype ${a.dtype}`);
  }
}

const sessions = new Map<string, ort.InferenceSession>();
let worst = 0;
let failed = 0;
const cases = readdirSync(checkDir).sort();
for (const name of cases) {
  const dir = join(checkDir, name);
  const c = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as { model: string; inputs: string[]; outputs: string[] };
  let s = sessions.get(c.model);
  if (!s) {
    s = await ort.InferenceSession.create(new Uint8Array(readFileSync(join(modelsDir, c.model))), { executionProviders: ['wasm'] });
    sessions.set(c.model, s);
  }
  const feeds: Record<string, ort.Tensor> = {};
  for (const k of c.inputs) feeds[k] = toTensor(readNpy(join(dir, `in_${k}.npy`)));
  const res = await s.run(feeds);
  let caseMax = 0;
  for (const k of c.outputs) {
    const want = readNpy(join(dir, `out_${k}.npy`));
    const got = res[k];
    if (!got) throw new Error(`${name}: missing output ${k}`);
    if (got.dims.join('x') !== want.shape.join('x')) {
      console.error(`${name}: ${k} shape ${got.dims.join('x')} != torch ${want.shape.join('x')}`);
      failed++;
      continue;
    }
    const g = got.data as Float32Array;
    const w = want.data as Float32Array;
    for (let i = 0; i < w.length; i++) {
      const d = Math.abs(g[i]! - w[i]!);
      if (!(d <= caseMax)) caseMax = Number.isNaN(d) ? Infinity : d;
    }
  }
  worst = Math.max(worst, caseMax);
  const ok = caseMax < TOL;
  if (!ok) failed++;
  console.log(`check-onnx: ${name.padEnd(26)} ${c.model.padEnd(26)} max|diff| ${caseMax.toExponential(2)} ${ok ? 'ok' : 'FAIL'}`);
}
console.log(`check-onnx: ${cases.length} cases, worst max|diff| ${worst.toExponential(2)}, tolerance ${TOL}`);
if (failed > 0 || cases.length === 0) {
  console.error(`check-onnx: ${failed} failing case(s)`);
  process.exit(1);
}
