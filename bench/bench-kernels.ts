// npm run bench:kernels [-- --out FILE] [--runs N] [--warmup N] [--chromium PATH]
// Opens bench/kernels.html in headless Chromium on its WebGPU adapter (bench/browser.ts openBenchPage), runs
// every measurement there (bench/kernels-suite.ts: our kernels and onnxruntime-web on the same adapter, same
// run), prints a table and writes the JSON (default docs/bench/kernels.json).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CHROMIUM_PATH, chromiumProblem, openBenchPage, type BenchPage } from './browser.js';
import { KERNEL_RATIOS, kernelBenchTable, type KernelBenchResult } from './report.js';
import { MIN_PAIRS, verdictLine } from './stats.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TIME_LIMIT_MS = 10 * 60_000;

const argv = process.argv.slice(2).filter((a) => a !== '--');
const { values: args } = parseArgs({
  args: argv,
  options: {
    out: { type: 'string', default: join(root, 'docs/bench/kernels.json') },
    runs: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '1' },
    chromium: { type: 'string', default: CHROMIUM_PATH },
  },
});
const runs = Number(args.runs);
const warmup = Number(args.warmup);

function fail(message: string): never {
  console.error(`bench:kernels: ${message}`);
  process.exit(1);
}

if (!Number.isInteger(runs) || runs < MIN_PAIRS || !Number.isInteger(warmup) || warmup < 1) fail(`--runs must be >= ${MIN_PAIRS} (pairs for a 95% interval) and --warmup >= 1`);
const chromiumMissing = chromiumProblem(args.chromium);
if (chromiumMissing) fail(chromiumMissing);

let bench: BenchPage | undefined;
setTimeout(() => fail(`gave up after ${TIME_LIMIT_MS / 60_000} minutes`), TIME_LIMIT_MS).unref();

try {
  const t0 = performance.now();
  bench = await openBenchPage('bench/kernels.html', { chromium: args.chromium, cacheName: 'memvp-bench-kernels-vite', ready: 'benchKernels' });
  const { page } = bench;

  type Bench = (runs: number, warmup: number) => Promise<KernelBenchResult>;
  const result = await page.evaluate(([r, w]) => (window as unknown as { benchKernels: Bench }).benchKernels(r, w), [runs, warmup] as const);
  const file = {
    ...result,
    browser: bench.browserLabel,
    command: ['npm run bench:kernels', ...(argv.length ? ['--', ...argv] : [])].join(' '),
    generatedAt: new Date().toISOString(),
    elapsedSeconds: Math.round((performance.now() - t0) / 1000),
  };
  console.log(`\n${kernelBenchTable(result)}\n`);
  for (const { key, target } of KERNEL_RATIOS) console.log(verdictLine(key, result[key], result[`${key}Ci`], target));
  mkdirSync(dirname(resolve(args.out)), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(file, null, 2)}\n`);
  console.log(`wrote ${args.out} (${file.elapsedSeconds} s)`);
  const failed = Object.keys(result.errors);
  if (failed.length) throw new Error(`${failed.length} measurement(s) failed: ${failed.join(', ')} (see "errors" in the JSON)`);
} catch (e) {
  console.error(`bench:kernels: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  await bench?.close();
}
