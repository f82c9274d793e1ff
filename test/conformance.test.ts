// ONNX's own operator conformance cases on our executor (each case: load, run, compare at 1e-3 like onnxruntime's
// runner). The suite must stay at >= 95%; every failure must be a clear, typed reason.
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { runConformance } from '../src/cli/conformance.js';

it('passes at least 95% of the ONNX conformance cases', async () => {
  const report = await runConformance(resolve(import.meta.dirname, '../../shared/conformance/onnx-node'));
  expect(report.total).toBe(299);
  expect(report.passed / report.total).toBeGreaterThanOrEqual(0.95);
  for (const f of report.failures) expect(f.reason).toMatch(/^(GraphStructureError|UnsupportedOpError): /);
});
