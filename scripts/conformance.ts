// npm run conformance [-- --out FILE]: ONNX's operator conformance suite on our executor; writes
// { passed, total, failures: [{ case, reason }] } (default docs/bench/conformance.json).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { runConformance } from '../src/cli/conformance.js';

const i = process.argv.indexOf('--out');
const out = i > 0 ? process.argv[i + 1]! : 'docs/bench/conformance.json';
const dir = resolve(import.meta.dirname, '../../shared/conformance/onnx-node');
const report = await runConformance(dir);
await mkdir(dirname(out), { recursive: true });
await writeFile(out, JSON.stringify(report, null, 2) + '\n');
for (const f of report.failures) console.log(`FAIL ${f.case}: ${f.reason}`);
console.log(`conformance: ${report.passed}/${report.total} passed (${((100 * report.passed) / report.total).toFixed(1)}%) -> ${out}`);
