// Accuracy on a split's questions through the runtime itself, scored like the training pipeline's `evaluate`:
// all 36 questions of images 0..N-1 of the split (scene seed = the split's seed base + image index); the greedy
// first answer token must be the answer word. Used by `memvp eval` in Node and by the demo's in-browser eval.
import { QUESTION_TYPES, generateScene, questionsFor, renderScene, seedFor, type QuestionType, type SplitName } from './index.js';
import type { BackendName } from '../../memvp/engine.js';
import type { MemVP, Mode } from '../../memvp/model.js';

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

export interface EvalProgress {
  /** Images and questions scored so far. */
  images: number;
  done: number;
  correct: number;
}

export async function evaluateSplit(
  model: MemVP,
  options: { split: SplitName; images: number; mode?: Mode; onImage?: (p: EvalProgress) => void },
): Promise<EvalResult> {
  const mode = options.mode ?? 'memvp';
  const right = new Map<QuestionType, number>(QUESTION_TYPES.map((t) => [t, 0]));
  const asked = new Map<QuestionType, number>(QUESTION_TYPES.map((t) => [t, 0]));
  let relRight = 0;
  let relAsked = 0;
  const progress: EvalProgress = { images: 0, done: 0, correct: 0 };
  for (let i = 0; i < options.images; i++) {
    const scene = generateScene(seedFor(options.split, i));
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
        progress.done++;
        progress.correct += ok;
      }
    } finally {
      encoded.dispose();
    }
    progress.images++;
    options.onImage?.({ ...progress });
  }
  return {
    overall: progress.correct / progress.done,
    nonRelational: (progress.correct - relRight) / (progress.done - relAsked),
    relational: relRight / relAsked,
    perType: Object.fromEntries(QUESTION_TYPES.map((t) => [t, right.get(t)! / asked.get(t)!])) as Record<QuestionType, number>,
    n: progress.done,
    mode,
    backend: model.backend,
    split: options.split,
    images: options.images,
  };
}
