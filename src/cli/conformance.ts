// Runs every case of ONNX's operator conformance suite (backend-test layout) on our executor.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GpuContext } from '../gpu/index.js';
import { runOnnxCase } from './run-onnx.js';

export interface ConformanceReport {
  passed: number;
  total: number;
  failures: { case: string; reason: string }[];
}

export async function runConformance(dir: string, onCase?: (name: string, ok: boolean) => void): Promise<ConformanceReport> {
  const gpu = await GpuContext.create();
  const cases = (await readdir(dir)).filter((d) => d.startsWith('test_')).sort();
  const failures: ConformanceReport['failures'] = [];
  try {
    for (const c of cases) {
      let reason: string | undefined;
      try {
        const r = await runOnnxCase(join(dir, c), { gpu });
        const bad = r.outputs.filter((o) => !o.ok);
        if (bad.length) reason = bad.map((o) => `${o.name}: ${o.detail ?? `max abs diff ${o.maxAbsDiff}`}`).join('; ');
      } catch (e) {
        reason = `${(e as Error).name}: ${(e as Error).message.split('\n')[0]}`;
      }
      if (reason) failures.push({ case: c, reason });
      onCase?.(c, !reason);
    }
  } finally {
    gpu.destroy();
  }
  return { passed: cases.length - failures.length, total: cases.length, failures };
}
