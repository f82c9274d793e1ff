// Node side of the latency benchmark's accuracy figures: test accuracy of the f32 and the 4-bit demo model from the
// project's own evaluation (`memvp eval`, src/cli/eval.ts), and how often their greedy first answer tokens agree
// on the same questions (the eval's question set: all 36 questions of images 0..N-1 of the split).
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evalCommand } from '../src/cli/eval.js';
import type { EvalResult } from '../src/tasks/sortofclevr/index.js';
import { MemVP } from '../src/memvp/model.js';
import { generateScene, questionsFor, renderScene, seedFor, type SplitName } from '../src/tasks/sortofclevr/index.js';

/** `memvp eval --split SPLIT --limit IMAGES --model DIR --mode memvp --json FILE`, in this process. */
export async function evalAccuracy(modelDir: string, split: SplitName, images: number): Promise<EvalResult> {
  const json = join(tmpdir(), `memvp-bench-eval-${process.pid}-${Date.now()}.json`);
  const argv = ['--split', split, '--limit', String(images), '--model', modelDir, '--mode', 'memvp', '--backend', 'webgpu', '--json', json];
  // The eval prints its JSON to stdout; the benchmark's own output stays readable without it.
  const log = console.log;
  console.log = () => undefined;
  try {
    const code = await evalCommand(argv);
    if (code !== 0) throw new Error(`memvp eval exited with ${code}`);
  } finally {
    console.log = log;
  }
  try {
    return JSON.parse(await readFile(json, 'utf8')) as EvalResult;
  } finally {
    await rm(json, { force: true });
  }
}

export interface Agreement {
  /** Fraction of questions whose greedy first answer token is the same for both models (memvp mode). */
  agreement: number;
  questions: number;
  /** Each model's accuracy on these questions, scored like `memvp eval` (greedy first answer token == answer word). */
  accuracyA: number;
  accuracyB: number;
}

/** Both models on the eval's questions (all 36 of images 0..N-1 of the split), answers compared. */
export async function answerAgreement(dirA: string, dirB: string, split: SplitName, images: number): Promise<Agreement> {
  const a = await MemVP.load(dirA, { backend: 'webgpu' });
  const b = await MemVP.load(dirB, { backend: 'webgpu' });
  let same = 0;
  let rightA = 0;
  let rightB = 0;
  let questions = 0;
  try {
    for (let i = 0; i < images; i++) {
      const scene = generateScene(seedFor(split, i));
      const image = renderScene(scene);
      const ea = await a.encodeImage(image);
      const eb = await b.encodeImage(image);
      try {
        for (const q of questionsFor(scene)) {
          const ta = (await a.answer(ea, q.text, { mode: 'memvp', maxTokens: 1 })).tokens[0];
          const tb = (await b.answer(eb, q.text, { mode: 'memvp', maxTokens: 1 })).tokens[0];
          if (ta === tb) same++;
          if (ta === q.answer) rightA++;
          if (tb === q.answer) rightB++;
          questions++;
        }
      } finally {
        ea.dispose();
        eb.dispose();
      }
    }
  } finally {
    a.dispose();
    b.dispose();
  }
  return { agreement: same / questions, questions, accuracyA: rightA / questions, accuracyB: rightB / questions };
}
