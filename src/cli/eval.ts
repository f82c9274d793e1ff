// `memvp eval`: accuracy on a split's questions through the runtime itself. The questions are the training
// pipeline's evaluation set (training/pipeline.py `evaluate`): all 36 questions of images 0..N-1 of the split
// (scene seed = the split's seed base + image index), scored like it: the greedy first answer token must be the
// answer word.
import { writeFile } from 'node:fs/promises';
import { SPLITS, evaluateSplit, type SplitName } from '../tasks/sortofclevr/index.js';
import { numberOption, UsageError, type Args } from './args.js';
import { loadModel, modeOption, stringOption } from './answer.js';

export async function evalCommand(args: Args): Promise<number> {
  const split = (stringOption(args, 'split') ?? 'test') as SplitName;
  if (!(split in SPLITS)) throw new UsageError(`--split must be one of ${Object.keys(SPLITS).join(', ')}, got "${split}"`);
  const images = Math.min(numberOption(args, 'limit', SPLITS[split].images), SPLITS[split].images);
  if (!Number.isInteger(images) || images < 1) throw new UsageError(`--limit must be a positive integer (images), got ${images}`);
  const mode = modeOption(args);
  const json = stringOption(args, 'json');
  const model = await loadModel(args);
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
    if (json) await writeFile(json, text + '\n');
    return 0;
  } finally {
    model.dispose();
  }
}
