// Runs one case in ONNX's backend-test layout (model.onnx + test_data_set_*/input_*.pb, output_*.pb) on our
// executor and compares every output with the expected one.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GpuContext } from '../gpu/index.js';
import { hostTensor } from '../graph/from-onnx.js';
import { InferenceSession, type SessionStats } from '../graph/session.js';
import { isDeviceTensor } from '../graph/executor.js';
import type { HostTensor } from '../graph/tensor.js';
import { parseTensor } from '../onnx/index.js';
import { f16BitsToF32 } from '../onnx/index.js';

export interface OutputCheck {
  dataSet: string;
  name: string;
  maxAbsDiff: number;
  ok: boolean;
  detail?: string;
}

export interface CaseResult {
  case: string;
  passed: boolean;
  outputs: OutputCheck[];
  stats: SessionStats;
  /** Compiled pipelines in the GPU context after the runs. */
  pipelines: number;
}

/** A test data set's tensors (`input_` or `output_` then the index, .pb) in index order. */
export async function readTensors(dir: string, prefix: string): Promise<HostTensor[]> {
  const files = (await readdir(dir)).filter((f) => f.startsWith(prefix) && f.endsWith('.pb'));
  files.sort((a, b) => parseInt(a.slice(prefix.length)) - parseInt(b.slice(prefix.length)));
  return Promise.all(files.map(async (f) => hostTensor(parseTensor(new Uint8Array(await readFile(join(dir, f)))))));
}

function values(t: HostTensor): number[] {
  if (t.type === 'float16') return Array.from(t.data as Uint16Array, f16BitsToF32);
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** Max |actual - expected|, and whether every element is within atol + rtol * |expected| (exact for integers). */
export function compare(actual: HostTensor, expected: HostTensor, tolerance: number): { maxAbsDiff: number; ok: boolean; detail?: string } {
  if (actual.dims.join() !== expected.dims.join()) {
    return { maxAbsDiff: Infinity, ok: false, detail: `shape [${actual.dims}] != expected [${expected.dims}]` };
  }
  const a = values(actual);
  const e = values(expected);
  const exact = !['float32', 'float16', 'float64'].includes(expected.type);
  let max = 0;
  let ok = true;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i]! - e[i]!);
    const bothNaN = Number.isNaN(a[i]!) && Number.isNaN(e[i]!);
    if (bothNaN || a[i] === e[i]) continue;
    max = Math.max(max, Number.isNaN(d) ? Infinity : d);
    if (exact ? d !== 0 : !(d <= tolerance + tolerance * Math.abs(e[i]!))) ok = false;
  }
  return { maxAbsDiff: max, ok };
}

export async function runOnnxCase(dir: string, options: { tolerance?: number; gpu?: GpuContext; fusions?: boolean } = {}): Promise<CaseResult> {
  const tolerance = options.tolerance ?? 1e-3;
  const session = await InferenceSession.create(join(dir, 'model.onnx'), { gpu: options.gpu, fusions: options.fusions });
  const sets = (await readdir(dir)).filter((f) => f.startsWith('test_data_set_')).sort();
  const outputs: OutputCheck[] = [];
  for (const set of sets) {
    const inputs = await readTensors(join(dir, set), 'input_');
    const expected = await readTensors(join(dir, set), 'output_');
    const feeds = Object.fromEntries(session.inputNames.map((name, i) => [name, inputs[i]!]));
    const result = await session.run(feeds);
    session.outputNames.forEach((name, i) => {
      const got = result.get(name)!;
      if (isDeviceTensor(got)) throw new Error(`output ${name} was not read back`);
      outputs.push({ dataSet: set, name, ...compare(got, expected[i]!, tolerance) });
    });
  }
  session.dispose();
  return { case: dir.split('/').pop()!, passed: outputs.every((o) => o.ok), outputs, stats: session.stats, pipelines: session.gpu.pipelines.size };
}
