// `memvp eval`: accuracy on a split's questions through the runtime itself. The questions are the training
// pipeline's evaluation set (training/pipeline.py `evaluate`): all 36 questions of images 0..N-1 of the split
// (scene seed = the split's seed base + image index), scored like it: the greedy first answer token must be the
// answer word.
import { writeFile } from 'node:fs/promises';
import { QUESTION_TYPES, SPLITS, generateScene, questionsFor, renderScene, seedFor, type QuestionType, type SplitName } from '../scenes/index.js';
import type { BackendName } from '../memvp/engine.js';
import type { Mode } from '../memvp/model.js';
import { numberOption, UsageError, type Args } from './args.js';
import { loadModel, modeOption, stringOption } from './answer.js';

export interface EvalResult {
  overall: number;
  nonRelational: number;
  relational: number;
  perType: Record<QuestionType, number>;
  n: number;
  mode: Mode;
  backend: BackendName;
  split: SplitName;
  images: number;
}

export async function evalCommand(args: Args): Promise<number> {
  const split = (stringOption(args, 'split') ?? 'test') as SplitName;
  if (!(split in SPLITS)) throw new UsageError(`--split must be one of ${Object.keys(SPLITS).join(', ')}, got "${split}"`);
  const images = Math.min(numberOption(args, 'limit', SPLITS[split].images), SPLITS[split].images);
  if (!Number.isInteger(images) || images < 1) throw new UsageError(`--limit must be a positive integer (images), got ${images}`);
  const mode = modeOption(args);
  const json = stringOption(args, 'json');
  const model = await loadModel(args);
  const right = new Map<QuestionType, number>(QUESTION_TYPES.map((t) => [t, 0]));
  const asked = new Map<QuestionType, number>(QUESTION_TYPES.map((t) => [t, 0]));
  let relRight = 0;
  let relAsked = 0;
  const t0 = performance.now();
  try {
    for (let i = 0; i < images; i++) {
      const scene = generateScene(seedFor(split, i));
      const encoded = await model.encodeImage(renderScene(scene));
      try {
        for (const q of questionsFor(scene)) {
          const a = await model.answer(encoded, q.text, { mode, maxTokens: 1 });
          const ok = a.tokens[0] === q.answer ? 1 : 0;
          right.set(q.type, right.get(q.type)! + ok);
          asked.set(q.type, asked.get(q.type)! + 1);
          if (q.relational) {
            relRight += ok;
            relAsked++;
          }
        }
      } finally {
        encoded.dispose();
      }
      const done = [...asked.values()].reduce((s, x) => s + x, 0);
      const correct = [...right.values()].reduce((s, x) => s + x, 0);
      const secs = (performance.now() - t0) / 1000;
      process.stderr.write(`\rmemvp eval: ${split} image ${i + 1}/${images}, ${done} questions, accuracy ${(correct / done).toFixed(3)}, ${secs.toFixed(0)} s  `);
    }
    process.stderr.write('\n');
    const n = [...asked.values()].reduce((s, x) => s + x, 0);
    const correct = [...right.values()].reduce((s, x) => s + x, 0);
    const result: EvalResult = {
      overall: correct / n,
      nonRelational: (correct - relRight) / (n - relAsked),
      relational: relRight / relAsked,
      perType: Object.fromEntries(QUESTION_TYPES.map((t) => [t, right.get(t)! / asked.get(t)!])) as Record<QuestionType, number>,
      n,
      mode,
      backend: model.backend,
      split,
      images,
    };
    const text = JSON.stringify(result, null, 1);
    console.log(text);
    if (json) await writeFile(json, text + '\n');
    return 0;
  } finally {
    model.dispose();
  }
}
