/**
 * Device loss in the middle of an answer: `device.destroy()` while a step's work is in flight and between decode
 * steps ends the answer with a DeviceLostError, and the next answer runs on a new device (the engine creates a new
 * GpuContext and uploads each graph's weights again on its first run) and gives the answer the model gave before.
 * An image encoded before the loss stays usable: its memory is computed again from its pixels.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DeviceLostError, GpuContext } from '../src/gpu/index.js';
import { MemVP, type EncodedImage } from '../src/index.js';

const DIR = join(__dirname, '..', 'public', 'models', 'sortofclevr-llama-q4');
const SAMPLE = join(__dirname, '..', 'public', 'samples', 'scene-3000000.png');
const QUESTION = 'What shape is the red object?';

let model: MemVP;
let encoded: EncodedImage;
const created = vi.spyOn(GpuContext, 'create');
/** The device the model runs on now: the last one GpuContext.create made. */
const current = (): Promise<GpuContext> => created.mock.results.at(-1)!.value as Promise<GpuContext>;

/** Makes the device destroy itself right after its queue's `n`-th submit (0-based) from now on. */
function destroyAfterSubmit(ctx: GpuContext, n: number): void {
  const queue = ctx.device.queue;
  const submit = queue.submit.bind(queue);
  let count = 0;
  queue.submit = (buffers) => {
    submit(buffers);
    if (count++ === n) ctx.device.destroy();
  };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('the answer succeeded on a destroyed device');
}

describe('device loss', () => {
  beforeAll(async () => {
    model = await MemVP.load(DIR);
    encoded = await model.encodeImage(SAMPLE);
  });
  afterAll(() => {
    model?.dispose();
    created.mockRestore();
  });

  it('a device destroyed while a step runs: DeviceLostError, then the next answer works on a new device', async () => {
    const before = await model.answer(SAMPLE, QUESTION, { maxTokens: 4 });
    const lost = await current();
    destroyAfterSubmit(lost, 0);
    const e = await failure(model.answer(SAMPLE, QUESTION, { maxTokens: 4 }));
    expect(e, String(e)).toBeInstanceOf(DeviceLostError);
    expect((e as DeviceLostError).reason).toBe('destroyed');
    expect(lost.isLost).toBe(true);

    const after = await model.answer(encoded, QUESTION, { maxTokens: 4 });
    const now = await current();
    expect(now).not.toBe(lost);
    expect(now.isLost).toBe(false);
    expect({ text: after.text, tokenIds: after.tokenIds }).toEqual({ text: before.text, tokenIds: before.tokenIds });
    expect(after.timings.vision).toBeGreaterThan(0);
  });

  it('a device destroyed between decode steps: DeviceLostError, then every mode answers as before', async () => {
    const before = await model.answer(encoded, QUESTION, { maxTokens: 4, mode: 'input-space' });
    const textBefore = await model.answer(SAMPLE, QUESTION, { maxTokens: 2, mode: 'text-only' });
    const lost = await current();
    const e = await failure(model.answer(encoded, QUESTION, { maxTokens: 4, onToken: () => lost.device.destroy() }));
    expect(e, String(e)).toBeInstanceOf(DeviceLostError);

    const after = await model.answer(encoded, QUESTION, { maxTokens: 4, mode: 'input-space' });
    expect(await current()).not.toBe(lost);
    expect({ text: after.text, tokenIds: after.tokenIds }).toEqual({ text: before.text, tokenIds: before.tokenIds });
    const textAfter = await model.answer(SAMPLE, QUESTION, { maxTokens: 2, mode: 'text-only' });
    expect(textAfter.tokenIds).toEqual(textBefore.tokenIds);
  });
});
