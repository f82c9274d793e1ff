// ONNX's whole node suite (Debian's libonnx-testdata, 932 cases) on our executor: each case is loaded, run and
// compared at 1e-3 like onnxruntime's runner. Every case must pass or fail with a typed error that says why
// (an op we lack, control flow, a dtype the GPU cannot hold, bytes the reader rejects); a wrong number or shape,
// a built-in JS error or a case that compares nothing fails the test. The committed list of passing cases guards
// against regressions; cases that start passing are fine (`npm run conformance -- --update` adds them).
import { expect, it } from 'vitest';
import { ONNX_NODE_SUITE, runConformance, TYPED_FAILURES } from '../src/cli/conformance.js';
import { passingCases } from './helpers/conformance.js';

it('runs the ONNX node suite: every listed case passes, every failure is a typed one', async () => {
  const report = await runConformance(ONNX_NODE_SUITE);
  console.log(`conformance: ${report.passed}/${report.total} (${report.percent}%)`);
  expect(report.total).toBeGreaterThan(0);
  const bugs = report.failures.filter((f) => !TYPED_FAILURES.has(f.kind)).map((f) => `${f.case} (${f.kind}): ${f.reason}`);
  expect(bugs).toEqual([]);
  const failed = new Map(report.failures.map((f) => [f.case, f.reason]));
  const regressions = passingCases().filter((c) => failed.has(c)).map((c) => `${c}: ${failed.get(c)}`);
  expect(regressions).toEqual([]);
});
