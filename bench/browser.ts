// Headless Debian Chromium for the benchmarks (bench/bench-*.ts) and the e2e suite (playwright.config.ts): the
// flag list, and openBenchPage, which serves the project with a Vite dev server on localhost (navigator.gpu needs a
// secure context), opens one page of it in Chromium on its WebGPU adapter (SwiftShader on machines without a GPU)
// and checks that the page has an adapter. Node-only; vite and playwright-core are loaded on first use, so
// playwright.config.ts can import the flags without them.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { Plugin, ViteDevServer } from 'vite';

/** Debian's Chromium: Playwright cannot download browsers here. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Chromium without WebGPU flags: navigator.gpu has no adapter there (the demo falls back to WebAssembly). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-gpu-sandbox',
];

/** Chromium with WebGPU on SwiftShader's software adapter. */
export const CHROMIUM_WEBGPU_ARGS: readonly string[] = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', ...CHROMIUM_ARGS];

export function chromiumArgs(webgpu: boolean): string[] {
  return [...(webgpu ? CHROMIUM_WEBGPU_ARGS : CHROMIUM_ARGS)];
}

/** Why `path` cannot be used as the Chromium executable, or null when it can. */
export function chromiumProblem(path: string): string | null {
  return existsSync(path) ? null : `Chromium not found at ${path}: install it (Debian: apt-get install -y chromium) or pass --chromium PATH`;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface BenchPageOptions {
  /** Chromium executable (default CHROMIUM_PATH). */
  chromium?: string;
  /** Name of the Vite cache directory under the OS temp directory. */
  cacheName: string;
  /** Extra Vite plugins (e.g. middleware serving model files). */
  plugins?: Plugin[];
  /** Wait until the page has defined this global (its benchmark entry point). */
  ready: string;
  readyTimeoutMs?: number;
}

export interface BenchPage {
  page: Page;
  browser: Browser;
  /** e.g. "Chromium 156.0.8078.79 (headless, --use-webgpu-adapter=swiftshader)", for the result files. */
  browserLabel: string;
  /** Closes the browser, then the dev server. */
  close(): Promise<void>;
}

/**
 * Serves the project root with a Vite dev server on localhost (port 0, no watching, no HMR, a temp cache), opens
 * `path` (e.g. 'bench/kernels.html') in headless Chromium with WebGPU, forwards the page's console, errors and HTTP
 * failures to this process's console, checks that navigator.gpu gives an adapter and waits for `options.ready`.
 * On failure everything started is closed again before the error is thrown.
 */
export async function openBenchPage(path: string, options: BenchPageOptions): Promise<BenchPage> {
  const executablePath = options.chromium ?? CHROMIUM_PATH;
  const problem = chromiumProblem(executablePath);
  if (problem) throw new Error(problem);
  const [{ createServer }, { chromium }] = await Promise.all([import('vite'), import('playwright-core')]);
  let server: ViteDevServer | undefined;
  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    await browser?.close();
    await server?.close();
  };
  try {
    server = await createServer({
      root,
      configFile: false,
      logLevel: 'warn',
      cacheDir: join(tmpdir(), options.cacheName),
      // Other people edit the tree while this runs: no watching, no reloads in the middle of a measurement.
      server: { host: 'localhost', port: 0, hmr: false, watch: null },
      optimizeDeps: { noDiscovery: true, include: [] },
      plugins: options.plugins ?? [],
    });
    await server.listen();
    const base = server.resolvedUrls?.local[0];
    if (!base) throw new Error('the Vite dev server did not report a local URL');

    browser = await chromium.launch({
      executablePath,
      headless: true,
      // The developer features only make the adapter report its description ("SwiftShader Device (Subzero)") instead of ''.
      args: [...CHROMIUM_WEBGPU_ARGS, '--enable-webgpu-developer-features'],
    });
    const page = await browser.newPage();
    page.on('console', (m) => console.log(`[page] ${m.text()}`));
    page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) console.error(`[page] HTTP ${r.status()} ${r.url()}`);
    });
    await page.goto(new URL(path, base).href);

    const gpu = await page.evaluate(async () => {
      if (!('gpu' in navigator)) return 'navigator.gpu is missing';
      const adapter = await navigator.gpu.requestAdapter();
      return adapter ? 'ok' : 'navigator.gpu.requestAdapter() returned null';
    });
    if (gpu !== 'ok') throw new Error(`WebGPU is unavailable in the page (${gpu}); Chromium ${browser.version()}`);
    await page.waitForFunction((name) => name in window, options.ready, { timeout: options.readyTimeoutMs ?? 60_000 });
    return { page, browser, browserLabel: `Chromium ${browser.version()} (headless, --use-webgpu-adapter=swiftshader)`, close };
  } catch (e) {
    await close();
    throw e;
  }
}
