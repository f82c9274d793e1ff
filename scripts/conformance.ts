// npm run conformance [-- --out FILE] [--update]: ONNX's node suite (Debian's libonnx-testdata) on our executor.
// Writes { suite, passed, total, percent, byKind, failures } (default docs/bench/conformance.json); --update also
// rewrites the committed list of passing cases that test/conformance.test.ts guards. Without --update it exits
// with 1 when a listed case no longer passes; with or without it, when a case fails other than by a typed error.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ONNX_NODE_SUITE, runConformance, TYPED_FAILURES } from '../src/cli/conformance.js';
import { PASSING_LIST, passingCases } from '../test/helpers/conformance.js';

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    out: { type: 'string', default: resolve(import.meta.dirname, '../docs/bench/conformance.json') },
    update: { type: 'boolean', default: false },
  },
});

const start = performance.now();
const { passing, ...report } = await runConformance(ONNX_NODE_SUITE);
const seconds = (performance.now() - start) / 1000;
await mkdir(dirname(args.out), { recursive: true });
await writeFile(args.out, JSON.stringify(report, null, 2) + '\n');
for (const [kind, k] of Object.entries(report.byKind)) {
  const subjects = Object.entries(k.subjects).map(([s, n]) => `${s} ${n}`).join(', ');
  console.log(`${String(k.cases).padStart(4)} ${kind}${subjects ? `: ${subjects}` : ''}`);
}
console.log(`conformance: ${report.passed}/${report.total} passed (${report.percent}%) in ${seconds.toFixed(1)} s -> ${args.out}`);

const bugs = report.failures.filter((f) => !TYPED_FAILURES.has(f.kind));
for (const f of bugs) console.log(`BUG ${f.case} (${f.kind}): ${f.reason}`);
if (bugs.length) process.exitCode = 1;
if (args.update) {
  await writeFile(PASSING_LIST, passing.join('\n') + '\n');
  console.log(`${passing.length} passing cases -> ${PASSING_LIST}`);
} else {
  const now = new Set(passing);
  const lost = passingCases().filter((c) => !now.has(c));
  for (const c of lost) console.log(`REGRESSION ${c}: ${report.failures.find((f) => f.case === c)!.reason}`);
  if (lost.length) process.exitCode = 1;
}
