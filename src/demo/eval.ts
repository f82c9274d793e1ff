// The browser's `memvp eval` (src/cli/eval.ts) on the test split: all 36 questions of images 0..N-1, scored the
// same way (the greedy first answer token must be the answer word), so the two accuracies can be compared.
import type { MemVP } from '../index';
import { generateScene, questionsFor, renderScene, seedFor } from '../scenes';
import type { EvalProgress } from './protocol';

export async function evaluate(model: MemVP, images: number, onImage: (p: EvalProgress) => void): Promise<EvalProgress> {
  const p: EvalProgress = { done: 0, total: 0, correct: 0 };
  const scenes = Array.from({ length: images }, (_, i) => generateScene(seedFor('test', i)));
  p.total = scenes.reduce((s, scene) => s + questionsFor(scene).length, 0);
  for (const scene of scenes) {
    const encoded = await model.encodeImage(renderScene(scene));
    try {
      for (const q of questionsFor(scene)) {
        const a = await model.answer(encoded, q.text, { maxTokens: 1 });
        if (a.tokens[0] === q.answer) p.correct++;
        p.done++;
      }
    } finally {
      encoded.dispose();
    }
    onImage({ ...p });
  }
  return p;
}
