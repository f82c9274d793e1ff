import { defineConfig, type Project } from '@playwright/test';
import { CHROMIUM_PATH, chromiumArgs } from './bench/browser.js';

const PORT = 5183;

// Debian's Chromium (Playwright cannot download browsers here). With the WebGPU flags it offers SwiftShader's
// software adapter; without them navigator.gpu has no adapter and the page falls back to WebAssembly.
function chromium(webgpu: boolean): Project['use'] {
  return { browserName: 'chromium', headless: true, launchOptions: { executablePath: CHROMIUM_PATH, args: chromiumArgs(webgpu) } };
}

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  // One browser at a time: two software adapters on two shared cores only slow each other down.
  workers: 1,
  timeout: 180_000,
  expect: { timeout: 60_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  // Tests take named full-page screenshots themselves (e2e/helpers.ts snap), kept in test-results/.
  use: { baseURL: `http://localhost:${PORT}`, screenshot: 'only-on-failure', trace: 'retain-on-failure' },
  projects: [
    { name: 'webgpu', testIgnore: /wasm\.spec\.ts/, use: chromium(true) },
    { name: 'wasm', testMatch: /wasm\.spec\.ts/, use: chromium(false) },
  ],
  webServer: {
    // The library is built first: e2e/fixtures/plain.html imports it from /dist/.
    command: `npx vite build --mode lib --logLevel warn && npx vite --mode e2e --port ${PORT} --strictPort`,
    url: `http://localhost:${PORT}/`,
    reuseExistingServer: !process.env.CI,
    timeout: 240_000,
  },
});
