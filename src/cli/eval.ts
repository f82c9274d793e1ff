// `memvp eval`: accuracy on a split's questions through the runtime itself. The questions are the training
// pipeline's evaluation set (training/pipeline.py `evaluate`): all 36 questions of images 0..N-1 of the split
// (scene seed = the split's seed base + image index), scored like it: the greedy first answer token must be the
// answer word.
import { writeFile } from 'node:fs/promises';
import { SPLITS, evaluateSplit, type SplitName } from '../tasks/sortofclevr/index.js';
import { loadModel, MODEL_FLAGS, modelChoice } from './answer.js';
import { choiceFlag, numberFlag, parseFlags } from './options.js';

export async function evalCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { split: { type: 'string' }, limit: { type: 'string' }, json: { type: 'string' }, ...MODEL_FLAGS });
  const split = choiceFlag(values.split, 'split', Object.keys(SPLITS) as SplitName[], 'test');
  const images = numberFlag(values.limit, 'limit', SPLITS[split].images, { min: 1, max: SPLITS[split].images, integer: true });
  const choice = modelChoice(values);
  const { mode } = choice;
  const model = await loadModel(choice);
  const t0 = performance.now();
  try {
    const result = await evaluateSplit(model, {
      split,
      images,
      mode,
      onImage: (p) => {
        const secs = (performance.now() - t0) / 1000;
        process.stderr.write(`\rmemvp eval: ${split} image ${p.images}/${images}, ${p.done} questions, accuracy ${(p.correct / p.done).toFixed(3)}, ${secs.toFixed(0)} s  `);
      },
    });
    process.stderr.write('\n');
    const text = JSON.stringify(result, null, 1);
    console.log(text);
    if (values.json) await writeFile(values.json, text + '\n');
    return 0;
  } finally {
    model.dispose();
  }
}
