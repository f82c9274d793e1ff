// npm run bench:kernels [-- --out FILE] [--runs N] [--warmup N] [--chromium PATH]
// Serves bench/kernels.html with a Vite dev server on localhost (navigator.gpu needs a secure context), opens it
// in headless Chromium on its WebGPU adapter (SwiftShader on machines without a GPU), runs every measurement
// there (src/bench/kernels-suite.ts: our kernels and onnxruntime-web on the same adapter, same run), prints a
// table and writes the JSON (default docs/bench/kernels.json).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { kernelBenchTable, type KernelBenchResult } from '../src/bench/report.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TIME_LIMIT_MS = 10 * 60_000;

const argv = process.argv.slice(2).filter((a) => a !== '--');
const { values: args } = parseArgs({
  args: argv,
  options: {
    out: { type: 'string', default: join(root, 'docs/bench/kernels.json') },
    runs: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '1' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
const runs = Number(args.runs);
const warmup = Number(args.warmup);

function fail(message: string): never {
  console.error(`bench:kernels: ${message}`);
  process.exit(1);
}

if (!Number.isInteger(runs) || runs < 5 || !Number.isInteger(warmup) || warmup < 1) fail('--runs must be >= 5 and --warmup >= 1');
if (!existsSync(args.chromium)) {
  fail(`Chromium not found at ${args.chromium}: install it (Debian: apt-get install -y chromium) or pass --chromium PATH`);
}

let server: ViteDevServer | undefined;
let browser: Browser | undefined;
setTimeout(() => fail(`gave up after ${TIME_LIMIT_MS / 60_000} minutes`), TIME_LIMIT_MS).unref();

try {
  const t0 = performance.now();
  server = await createServer({
    root,
    configFile: false,
    logLevel: 'warn',
    cacheDir: join(tmpdir(), 'memvp-bench-kernels-vite'),
    // Other people edit the tree while this runs: no watching, no reloads in the middle of a measurement.
    server: { host: 'localhost', port: 0, hmr: false, watch: null },
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await server.listen();
  const base = server.resolvedUrls?.local[0];
  if (!base) throw new Error('the Vite dev server did not report a local URL');

  browser = await chromium.launch({
    executablePath: args.chromium,
    args: [
      '--enable-unsafe-webgpu',
      '--use-webgpu-adapter=swiftshader',
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--headless=new',
      // Only makes the adapter report its description ("SwiftShader Device (Subzero)") instead of ''.
      '--enable-webgpu-developer-features',
    ],
  });
  const page = await browser.newPage();
  page.on('console', (m) => console.log(`[page] ${m.text()}`));
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) console.error(`[page] HTTP ${r.status()} ${r.url()}`);
  });
  await page.goto(new URL('bench/kernels.html', base).href);

  const gpu = await page.evaluate(async () => {
    if (!('gpu' in navigator)) return 'navigator.gpu is missing';
    const adapter = await navigator.gpu.requestAdapter();
    return adapter ? 'ok' : 'navigator.gpu.requestAdapter() returned null';
  });
  if (gpu !== 'ok') throw new Error(`WebGPU is unavailable in the page (${gpu}); Chromium ${browser.version()}`);
  await page.waitForFunction(() => 'benchKernels' in window, undefined, { timeout: 60_000 });

  type Bench = (runs: number, warmup: number) => Promise<KernelBenchResult>;
  const result = await page.evaluate(([r, w]) => (window as unknown as { benchKernels: Bench }).benchKernels(r, w), [runs, warmup] as const);
  const file = {
    ...result,
    browser: `Chromium ${browser.version()} (headless, --use-webgpu-adapter=swiftshader)`,
    command: ['npm run bench:kernels', ...(argv.length ? ['--', ...argv] : [])].join(' '),
    generatedAt: new Date().toISOString(),
    elapsedSeconds: Math.round((performance.now() - t0) / 1000),
  };
  console.log(`\n${kernelBenchTable(result)}\n`);
  mkdirSync(dirname(resolve(args.out)), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(file, null, 2)}\n`);
  console.log(`wrote ${args.out} (${file.elapsedSeconds} s)`);
  const failed = Object.keys(result.errors);
  if (failed.length) throw new Error(`${failed.length} measurement(s) failed: ${failed.join(', ')} (see "errors" in the JSON)`);
} catch (e) {
  console.error(`bench:kernels: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  await browser?.close();
  await server?.close();
}
