// The memvp command as a user runs it (a child process from the sources through vite-node): exit codes and
// messages for bad flags and bad inputs, and that inputs are checked before the model loads.
// Would catch: unknown flags ignored (running with defaults), a flag's missing value or a bad number accepted, a
// missing/directory/non-image file or an empty question found only after the model's load (or as a crash with
// exit code 1), --help not listing the exit codes.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const IMAGE = join(ROOT, 'public/samples/scene-3000000.png');
const LOADING = 'memvp: loading';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'memvp-cli-'));
  await writeFile(join(dir, 'not-an-image.png'), 'this is text, not a PNG\n');
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function memvp(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(ROOT, 'node_modules/vite-node/dist/cli.mjs'), join(ROOT, 'scripts/memvp.ts'), '--', ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      done({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/** A usage error: exit code 2, a message matching `message`, and no model load started. */
async function expectUsage(args: string[], message: RegExp): Promise<void> {
  const r = await memvp(...args);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toContain(LOADING);
  expect(r.code).toBe(2);
}

describe('memvp CLI', { timeout: 300_000 }, () => {
  it('--help lists the commands and the exit codes', async () => {
    const r = await memvp('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/memvp answer/);
    expect(r.stdout).toMatch(/exit codes:\n\s+0 .*\n\s+1 .*[\s\S]*\n\s+2 /);
    expect((await memvp('answer', '--help')).code).toBe(0);
  });

  it('rejects unknown commands and flags, naming them', async () => {
    await expectUsage(['ansewr'], /unknown command "ansewr"/);
    await expectUsage(['answer', '--imgae', IMAGE, '--question', 'what shape is the red object?'], /--imgae/);
    await expectUsage(['eval', '--limt', '3'], /--limt/);
    await expectUsage(['answer', '--image', IMAGE, '--question', 'q', 'stray'], /Unexpected argument 'stray'/);
  });

  it('rejects a flag without its value', async () => {
    await expectUsage(['answer', '--question', 'what shape is the red object?', '--image'], /--image.*argument missing/);
    await expectUsage(['answer', '--image', IMAGE], /answer needs --image FILE and --question TEXT/);
  });

  it('rejects bad numbers and choices', async () => {
    const q = ['answer', '--image', IMAGE, '--question', 'what shape is the red object?'];
    await expectUsage([...q, '--max-tokens', 'four'], /--max-tokens must be an integer from 1 to 256, got "four"/);
    await expectUsage([...q, '--max-tokens', '0'], /--max-tokens must be an integer/);
    await expectUsage([...q, '--max-tokens', '2.5'], /--max-tokens must be an integer/);
    await expectUsage([...q, '--mode', 'fast'], /--mode must be one of memvp, input-space, text-only, got "fast"/);
    await expectUsage([...q, '--backend', 'cuda'], /--backend must be one of auto, webgpu, wasm/);
    await expectUsage(['eval', '--limit', '0'], /--limit must be an integer from 1 to/);
    await expectUsage(['run-onnx', dir, '--tolerance=-1'], /--tolerance must be a number from 0/);
    await expectUsage(['quantize', 'a.onnx', 'b.onnx', '--bits', '5'], /--bits must be one of 4, 8, got "5"/);
  });

  it('rejects a missing image, a directory, a file that is not an image and a bad question before loading', async () => {
    const q = ['--question', 'what shape is the red object?'];
    await expectUsage(['answer', '--image', join(dir, 'missing.png'), ...q], /missing\.png: no such file/);
    await expectUsage(['answer', '--image', dir, ...q], /is a directory, not an image file/);
    await expectUsage(['answer', '--image', join(dir, 'not-an-image.png'), ...q], /ImageDecodeError/);
    await expectUsage(['answer', '--image', IMAGE, '--question', '   '], /QuestionError: the question is empty/);
    await expectUsage(['answer', '--image', IMAGE, '--question', 'what '.repeat(300)], /QuestionError: the question is too long/);
  });

  it('answers a good question after loading the model', async () => {
    const r = await memvp('answer', '--image', IMAGE, '--question', 'What shape is the red object?');
    expect(r.stderr).toContain(LOADING);
    expect(r.stdout.trim()).toBe('square');
    expect(r.code).toBe(0);
  });
});
