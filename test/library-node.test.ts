// The library build (dist/memvp-webgpu.js) used from plain Node by a consumer: built fresh into a temporary
// directory (so a stale dist/ cannot pass), imported by a child `node` whose environment holds only PATH and HOME,
// answering a sample question on WebGPU (SwiftShader) and, with no Vulkan driver, through the WASM fallback.
// Would catch: the bundle replacing process.env (no SwiftShader, no adapter), onnxruntime-web's WASM module missing
// from the build, a literal import('webgpu') wrapped in Vite's browser preload helper.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const MODEL = join(ROOT, 'public/models/sortofclevr-llama-q4');
const SAMPLES = join(ROOT, 'public/samples');

let dir: string;
let consumer: string;
let sample: { file: string; question: string; answer: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'memvp-lib-'));
  await run(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--mode', 'lib', '--outDir', join(dir, 'lib'), '--emptyOutDir', '--logLevel', 'warn'], { cwd: ROOT });
  // The consumer's own dependencies: what `npm install memvp-webgpu` would have put beside it.
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  consumer = join(dir, 'consumer.mjs');
  await writeFile(
    consumer,
    `const [lib, model, image, question] = process.argv.slice(2);
const { MemVP } = await import(lib);
const m = await MemVP.load(model);
const a = await m.answer(image, question);
console.log(JSON.stringify({ backend: m.backend, text: a.text }));
m.dispose();
process.exit(0);
`,
  );
  const s = JSON.parse(await readFile(join(SAMPLES, 'samples.json'), 'utf8')).samples[0];
  sample = { file: join(SAMPLES, s.file), question: s.questions[0].question, answer: s.questions[0].answer };
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function answerInChild(extraEnv: Record<string, string>): Promise<{ backend: string; text: string }> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? dir, ...extraEnv };
  const lib = pathToFileURL(join(dir, 'lib/memvp-webgpu.js')).href;
  const { stdout } = await run(process.execPath, [consumer, lib, MODEL, sample.file, sample.question], { env, cwd: dir, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

describe('library build in Node', () => {
  it('answers on WebGPU (SwiftShader found by the bundle itself)', async () => {
    expect(await answerInChild({})).toEqual({ backend: 'webgpu', text: sample.answer });
  }, 600_000);

  it('answers through the WASM fallback when no Vulkan driver exists', async () => {
    // A driver list naming a file that does not exist: the Vulkan loader offers no device, Dawn no adapter.
    const noDriver = { VK_ICD_FILENAMES: join(dir, 'no-driver.json') };
    expect(await answerInChild(noDriver)).toEqual({ backend: 'wasm', text: sample.answer });
  }, 600_000);
});
