// `memvp answer`: one question about one image file, answered by the runtime itself. The image and the question
// are checked against the model's package (manifest and tokenizer only) before its weights load, so a bad input
// fails at once.
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../memvp/engine.js';
import { readImage, type RgbImage } from '../memvp/image.js';
import type { Manifest } from '../memvp/manifest.js';
import { MemVP, type Mode } from '../memvp/model.js';
import { fetchFiles, loadManifest } from '../memvp/package.js';
import { PromptEncoder } from '../memvp/prompt.js';
import { choiceFlag, numberFlag, parseFlags, UsageError } from './options.js';

/** The default model, public/models/sortofclevr-llama-q4 of this package (the 4-bit copy: the f32 answers within 0.1
 * point, a quarter of the bytes): two levels up from both src/cli/ and the built dist/node/. */
export function defaultModelDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'public', 'models', 'sortofclevr-llama-q4');
}

export const MODES: readonly Mode[] = ['memvp', 'input-space', 'text-only'];
const BACKENDS = ['auto', 'webgpu', 'wasm'] as const;

/** The flags that pick a model and its backend (answer and eval). */
export const MODEL_FLAGS = { model: { type: 'string' }, backend: { type: 'string' }, mode: { type: 'string' } } as const;

export interface ModelChoice {
  dir: string;
  backend: BackendName | 'auto';
  mode: Mode;
}

export function modelChoice(values: { model?: string; backend?: string; mode?: string }): ModelChoice {
  return {
    dir: values.model ?? defaultModelDir(),
    backend: choiceFlag(values.backend, 'backend', BACKENDS, 'auto'),
    mode: choiceFlag(values.mode, 'mode', MODES, 'memvp'),
  };
}

/** The package's manifest and prompt encoder: its two small files, read without the weights. */
export async function readPrompt(dir: string): Promise<{ manifest: Manifest; prompt: PromptEncoder }> {
  const pkg = await loadManifest(dir);
  const bytes = await fetchFiles(pkg, [pkg.manifest.tokenizer]);
  return { manifest: pkg.manifest, prompt: new PromptEncoder(bytes.get(pkg.manifest.tokenizer)!, pkg.manifest) };
}

/** Loads the chosen model, reporting on stderr. */
export async function loadModel(choice: ModelChoice): Promise<MemVP> {
  console.error(`memvp: loading ${choice.dir} (backend ${choice.backend})`);
  const model = await MemVP.load(choice.dir, { backend: choice.backend });
  console.error(`memvp: ${model.manifest.name} on ${model.backend}`);
  return model;
}

/** The image file decoded; UsageError when the path is missing or not a file (decoding errors are the runtime's). */
async function readImageFile(path: string): Promise<RgbImage> {
  const s = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`--image ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  if (!s.isFile()) throw new UsageError(`--image ${path} is ${s.isDirectory() ? 'a directory' : 'not a regular file'}, not an image file`);
  return readImage(path);
}

export async function answerCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { image: { type: 'string' }, question: { type: 'string' }, 'max-tokens': { type: 'string' }, ...MODEL_FLAGS });
  if (values.image === undefined || values.question === undefined) throw new UsageError('answer needs --image FILE and --question TEXT');
  const choice = modelChoice(values);
  const { manifest, prompt } = await readPrompt(choice.dir);
  const maxTokens = numberFlag(values['max-tokens'], 'max-tokens', 4, { min: 1, max: manifest.lm.maxPositions, integer: true });
  prompt.ids(values.question, choice.mode === 'input-space' ? manifest.memvp.visualTokens : 0, maxTokens);
  const image = await readImageFile(values.image);
  const model = await loadModel(choice);
  try {
    const a = await model.answer(image, values.question, { mode: choice.mode, maxTokens });
    console.log(a.text);
    const t = a.timings;
    console.error(
      `memvp: ${a.mode} on ${a.backend}, ${a.tokens.length} token(s) [${a.tokens.join(' ')}]; first token ${t.firstToken.toFixed(0)} ms (vision ${t.vision.toFixed(0)}, prefill ${t.prefill.toFixed(0)}), total ${t.total.toFixed(0)} ms`,
    );
    return 0;
  } finally {
    model.dispose();
  }
}
