// Chromium without its WebGPU flags offers no adapter here: the page must say so and answer on WebAssembly.
// WebAssembly is also the quick backend here, so the visitor's-own-image path is tested on it.
import { expect, test } from '@playwright/test';
import { encode } from 'fast-png';
import { generateScene, questionsFor, renderScene } from '../src/tasks/sortofclevr/index.js';
import { ask, mustBeRight, openDemo, snap } from './helpers';

test('falls back to WebAssembly with a clear message and still answers', async ({ page }, testInfo) => {
  const seed = 3_000_042;
  await openDemo(page, seed);
  await expect(page.locator('body')).toHaveAttribute('data-backend', 'wasm');
  await expect(page.getByTestId('backend-notice')).toHaveText('WebGPU unavailable: running on WebAssembly (slower); heatmaps need WebGPU');
  const q = questionsFor(generateScene(seed))[0]!;
  const r = await ask(page, q.text);
  testInfo.annotations.push({ type: 'answer', description: `${q.text} -> memvp "${r.memvp}", input-space "${r.inputSpace}", truth "${q.answer}"` });
  if (mustBeRight(q.type)) expect(r.memvp).toBe(q.answer);
  // No retrieval maps without WebGPU: the selectors stay disabled.
  await expect(page.getByTestId('layer-select')).toBeDisabled();
  await snap(page, testInfo, 'wasm');
});

test('answers about an image file the visitor chose', async ({ page }, testInfo) => {
  await openDemo(page, 1);
  // A scene the page has not generated itself, as a PNG file: the same pixels, so the same answers.
  const scene = generateScene(3_000_077);
  const png = encode({ ...renderScene(scene), channels: 3 });
  await page.getByTestId('file-input').setInputFiles({ name: 'scene.png', mimeType: 'image/png', buffer: Buffer.from(png) });
  await expect(page.getByTestId('image-info')).toContainText('scene.png (64 x 64)');
  const q = questionsFor(scene)[7]!;
  const r = await ask(page, q.text);
  testInfo.annotations.push({ type: 'answer', description: `${q.text} -> memvp "${r.memvp}", truth "${q.answer}"` });
  if (mustBeRight(q.type)) expect(r.memvp).toBe(q.answer);
  // No ground truth is claimed for a file.
  await expect(page.getByTestId('truth')).toHaveText('');
  await snap(page, testInfo, 'file');
});
