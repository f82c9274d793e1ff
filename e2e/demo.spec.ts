// The demo page on WebGPU (SwiftShader here): loading, answers against the scene generator's ground truth,
// timings of both modes, retrieval heatmaps, memory blocking and the in-browser test-split accuracy.
// One page for the whole file: loading the model and compiling its pipelines is the slow part.
import { expect, test, type Page } from '@playwright/test';
import { generateScene, questionsFor } from '../src/tasks/sortofclevr/index.js';
import { ask, mustBeRight, openDemo, reference, snap, waitFor } from './helpers';

const SEED = 3_000_123;
const scene = generateScene(SEED);

test.describe.configure({ mode: 'serial' });

let page: Page;

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
});

// The shared page is not Playwright's own `page`, so failures are photographed here.
test.afterEach(async ({}, testInfo) => {
  if (testInfo.status !== testInfo.expectedStatus) await snap(page, testInfo, 'failure');
});

test.afterAll(async () => {
  await page.close();
});

/** The heat overlay's pixels: how many are painted, and a checksum to tell two maps apart. */
function heat(): Promise<{ painted: number; checksum: number }> {
  return page.getByTestId('heat-canvas').evaluate((c: HTMLCanvasElement) => {
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    let checksum = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3]) painted++;
      checksum = (Math.imul(checksum, 31) + data[i]! + 7 * data[i + 1]! + 13 * data[i + 3]!) | 0;
    }
    return { painted, checksum };
  });
}

/** The top retrieved image patches as shown on the page. */
function topEntries(): Promise<{ entry: number; score: number }[]> {
  return page
    .getByTestId('top-entries')
    .locator('li')
    .evaluateAll((items) => items.map((li) => ({ entry: Number((li as HTMLElement).dataset.entry), score: Number((li as HTMLElement).dataset.score) })));
}

test('loads the model on WebGPU with a complete progress bar', async ({}, testInfo) => {
  await openDemo(page, SEED);
  // Progress went through to the last stage (download, verify, upload, then compile).
  await expect(page.getByTestId('load')).toHaveAttribute('data-stage', 'compile');
  await expect(page.getByTestId('load-label')).toContainText('ready on WebGPU');
  // Empty unless the page fell back to WebAssembly; its text then says why.
  await expect(page.getByTestId('backend-notice')).toHaveText('');
  await expect(page.locator('body')).toHaveAttribute('data-backend', 'webgpu');
  await expect(page.getByTestId('image-info')).toContainText(String(SEED));
  await expect(page.getByTestId('suggestion')).toHaveCount(6);
  await snap(page, testInfo, 'loaded');
});

test('answers generated scenes, with both modes timed side by side', async ({}, testInfo) => {
  // One question of each non-relational type (ids: type * 6 + colour); relational ones are left to the eval below.
  const questions = [0, 7, 14].map((id) => questionsFor(scene)[id]!);
  for (const q of questions) {
    const r = await ask(page, q.text);
    testInfo.annotations.push({ type: 'answer', description: `${q.text} -> memvp "${r.memvp}", input-space "${r.inputSpace}", truth "${q.answer}"` });
    if (mustBeRight(q.type)) expect(r.memvp).toBe(q.answer);
    await expect(page.getByTestId('truth')).toHaveAttribute('data-answer', q.answer);
  }
  for (const key of ['vision', 'prefill', 'firstToken', 'decode', 'total']) {
    const cells = page.locator(`[data-timing=${key}] td`);
    await expect(cells.nth(0)).toHaveText(/^\d+\.\d ms$/);
    await expect(cells.nth(1)).toHaveText(/^\d+\.\d ms$/);
  }
  await expect(page.locator('[data-timing=total] td').nth(2)).toHaveText(/^\d+\.\d\d×$/);
  // A suggested question is asked with one click.
  const suggestion = page.getByTestId('suggestion').first();
  const text = await suggestion.innerText();
  await suggestion.click();
  await waitFor(page, '#answer-input-space[data-done]');
  await expect(page.getByTestId('question')).toHaveValue(text);
  await snap(page, testInfo, 'answered');
});

test('draws the retrieval heatmap for the selected token and layer', async ({}, testInfo) => {
  await ask(page, 'What shape is the red object?');
  const first = await heat();
  expect(first.painted).toBeGreaterThan(0);
  const layers = page.getByTestId('layer-select');
  expect(await layers.locator('option').count()).toBeGreaterThan(1);
  await layers.selectOption({ value: '1' });
  expect((await heat()).checksum).not.toBe(first.checksum);
  const tokens = page.getByTestId('token-select');
  if ((await tokens.locator('option').count()) > 1) {
    const before = await heat();
    await tokens.selectOption({ value: '1' });
    expect((await heat()).checksum).not.toBe(before.checksum);
  }
  await snap(page, testInfo, 'heatmap');
});

test('blocking memory entries changes the retrieval scores', async ({}, testInfo) => {
  // The last layer: scores are taken before the mask, and the first layer's input does not see the memory yet.
  const layers = page.getByTestId('layer-select');
  await layers.selectOption({ value: String((await layers.locator('option').count()) - 1) });
  await page.getByTestId('token-select').selectOption({ value: '0' });
  const before = await topEntries();
  expect(before.length).toBe(5);
  // Block the two most retrieved patches by clicking their grid cells.
  const grid = page.getByTestId('grid-canvas');
  const box = (await grid.boundingBox())!;
  const side = 8; // the model's 8 x 8 patch grid
  for (const { entry } of before.slice(0, 2)) {
    await grid.click({ position: { x: ((entry % side) + 0.5) * (box.width / side), y: (Math.floor(entry / side) + 0.5) * (box.height / side) } });
  }
  const blocked = before.slice(0, 2).map((e) => e.entry).sort((a, b) => a - b);
  await expect(grid).toHaveAttribute('data-blocked', blocked.join(','));
  await page.getByTestId('ask').click();
  await waitFor(page, '#answer-input-space[data-done]');
  const after = await topEntries();
  testInfo.annotations.push({ type: 'retrieval', description: `before ${JSON.stringify(before)}; blocked ${blocked}; after ${JSON.stringify(after)}` });
  expect(after).not.toEqual(before);
  await snap(page, testInfo, 'blocked');
  await page.getByTestId('clear-blocks').click();
  await expect(grid).toHaveAttribute('data-blocked', '');
});

test('test-split accuracy in the browser agrees with the pipeline\'s', async ({}, testInfo) => {
  test.setTimeout(300_000);
  const SCENES = 25; // x 36 questions
  await page.getByTestId('eval-images').fill(String(SCENES));
  await page.getByTestId('eval-run').click();
  await waitFor(page, '#eval-result[data-accuracy]', 280_000);
  const accuracy = Number(await page.getByTestId('eval-result').getAttribute('data-accuracy'));
  const n = SCENES * 36;
  testInfo.annotations.push({ type: 'accuracy', description: `${(100 * accuracy).toFixed(1)}% on the ${n} questions of test-split scenes 0..${SCENES - 1} (browser, WebGPU)` });
  await snap(page, testInfo, 'eval');
  const expected = reference()?.overall;
  if (expected === undefined) return;
  // The pipeline's accuracy covers the whole test split; ours is a sample of it, so the tolerance is 3 binomial
  // standard deviations of n questions (at least 3 points).
  const tolerance = Math.max(0.03, 3 * Math.sqrt((expected * (1 - expected)) / n));
  testInfo.annotations.push({ type: 'reference', description: `docs/bench/accuracy.json memvp overall ${(100 * expected).toFixed(1)}%, tolerance ${(100 * tolerance).toFixed(1)} points` });
  expect(Math.abs(accuracy - expected)).toBeLessThanOrEqual(tolerance);
});
