// `memvp answer`: one question about one image file, answered by the runtime itself.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemVP } from '../memvp/model.js';
import type { BackendName } from '../memvp/engine.js';
import type { Mode } from '../memvp/model.js';
import { numberOption, UsageError, type Args } from './args.js';

/** The default model, public/models/sortofclevr-llama-q4 of this package (the 4-bit copy: the f32 answers within 0.1
 * point, a quarter of the bytes): two levels up from both src/cli/ and the built dist/node/. */
export function defaultModelDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'public', 'models', 'sortofclevr-llama-q4');
}

export const MODES: readonly Mode[] = ['memvp', 'input-space', 'text-only'];
const BACKENDS = ['auto', 'webgpu', 'wasm'] as const;

export function stringOption(args: Args, key: string): string | undefined {
  const v = args.options.get(key);
  if (v === true) throw new UsageError(`--${key} needs a value`);
  return v;
}

export function modeOption(args: Args): Mode {
  const mode = stringOption(args, 'mode') ?? 'memvp';
  if (!MODES.includes(mode as Mode)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}, got "${mode}"`);
  return mode as Mode;
}

/** Loads the model of --model (default: the package's own) on --backend, reporting progress on stderr. */
export async function loadModel(args: Args): Promise<MemVP> {
  const backend = stringOption(args, 'backend') ?? 'auto';
  if (!BACKENDS.includes(backend as BackendName)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}, got "${backend}"`);
  const model = await MemVP.load(stringOption(args, 'model') ?? defaultModelDir(), { backend: backend as BackendName | 'auto' });
  console.error(`memvp: ${model.manifest.name} on ${model.backend}`);
  return model;
}

export async function answerCommand(args: Args): Promise<number> {
  const image = stringOption(args, 'image');
  const question = stringOption(args, 'question');
  if (!image || question === undefined) throw new UsageError('answer needs --image FILE and --question TEXT');
  const mode = modeOption(args);
  const maxTokens = numberOption(args, 'max-tokens', 4);
  const model = await loadModel(args);
  try {
    const a = await model.answer(image, question, { mode, maxTokens });
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
