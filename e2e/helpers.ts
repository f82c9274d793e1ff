// Shared by the e2e tests: which model package they load, what its answers must be, how they drive the demo page.
import { readFileSync } from 'node:fs';
import { expect, type Page, type TestInfo } from '@playwright/test';
import type { QuestionType } from '../src/tasks/sortofclevr/index.js';

/** The shipped model by default; MEMVP_E2E_MODEL=<manifest URL> runs the suite on another package (e.g. an untrained one). */
export const MODEL = process.env.MEMVP_E2E_MODEL ?? '/models/sortofclevr-llama-q4/manifest.json';

/**
 * The shipped model's test-split accuracy as the training pipeline measured it (docs/bench/accuracy.json: per
 * question type and overall, f32 in torch; the default 4-bit copy agrees with it on 99.7% of the test answers);
 * undefined for another package, whose answers are not checked.
 */
export function reference(): Record<QuestionType | 'overall', number> | undefined {
  if (process.env.MEMVP_E2E_MODEL) return undefined;
  const bench = JSON.parse(readFileSync('docs/bench/accuracy.json', 'utf8')) as { methods: { memvp: Record<QuestionType | 'overall', number> } };
  return bench.methods.memvp;
}

/** Answers must equal the ground truth for the question types the model has learnt (>= 95% in the pipeline's test). */
export function mustBeRight(type: QuestionType): boolean {
  return (reference()?.[type] ?? 0) >= 0.95;
}

/** The demo page for scene `seed`, with the model loaded (the progress bar complete). */
export async function openDemo(page: Page, seed: number): Promise<void> {
  await page.goto(`/?seed=${seed}&model=${encodeURIComponent(MODEL)}`);
  await waitFor(page, '#load[data-state=done]', 170_000);
  const bar = page.getByTestId('load-progress');
  expect(await bar.evaluate((p: HTMLProgressElement) => p.max > 0 && p.value === p.max)).toBe(true);
}

/** Asks `question` and waits for both answers (MemVP, then input-space). */
export async function ask(page: Page, question: string): Promise<{ memvp: string; inputSpace: string }> {
  await page.getByTestId('question').fill(question);
  await page.getByTestId('ask').click();
  await waitFor(page, '#answer-input-space[data-done]');
  return {
    memvp: await page.getByTestId('answer-memvp').innerText(),
    inputSpace: await page.getByTestId('answer-input-space').innerText(),
  };
}

/** Waits until `selector` matches or the page shows an error, and fails with the error's text in that case. */
export async function waitFor(page: Page, selector: string, timeout?: number): Promise<void> {
  await page.locator(`${selector}, #error:not([hidden])`).first().waitFor({ state: 'attached', timeout });
  await expectNoError(page);
}

/** Fails with the page's own error message when it shows one. */
export async function expectNoError(page: Page): Promise<void> {
  const error = page.getByTestId('error');
  if (await error.isVisible()) throw new Error(`the page shows an error: ${await error.innerText()}`);
}

/** A full-page screenshot saved as test-results/<test>/<name>.png and attached to the HTML report. */
export async function snap(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}
