// The built library (dist/memvp-webgpu.js, `vite build --mode lib`) imported by a plain HTML page.
import { expect, test } from '@playwright/test';
import { generateScene, questionsFor } from '../src/tasks/sortofclevr/index.js';
import { MODEL, mustBeRight, snap } from './helpers';

test('the built module answers a question from a plain <script type="module">', async ({ page }, testInfo) => {
  const seed = 3_000_007;
  const q = questionsFor(generateScene(seed))[0]!;
  await page.goto(`/e2e/fixtures/plain.html?seed=${seed}&question=${encodeURIComponent(q.text)}&model=${encodeURIComponent(MODEL)}`);
  const out = page.locator('#out');
  await expect(out).toHaveAttribute('data-state', /done|error/, { timeout: 170_000 });
  const text = await out.innerText();
  testInfo.annotations.push({ type: 'answer', description: `${q.text} -> ${text} (truth "${q.answer}")` });
  await snap(page, testInfo, 'plain');
  expect(await out.getAttribute('data-state'), text).toBe('done');
  const r = JSON.parse(text) as { text: string; backend: string };
  expect(r.backend).toBe('webgpu');
  if (mustBeRight(q.type)) expect(r.text).toBe(q.answer);
});
