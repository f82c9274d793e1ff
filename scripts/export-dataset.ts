/**
 * Export the Sort-of-CLEVR splits rendered by src/scenes into .npy files for training/ (Python never re-renders).
 * Usage: npm run export:dataset -- [--out training/data] [--smoke]
 * Files per split S in {train, val, test}:
 *   S_images.npy  uint8 N x 64 x 64 x 3 (RGB, HWC)
 *   S_seeds.npy   int32 N (scene seed of each image)
 *   S_answers.npy int32 N x 36: answer index (into meta.json "answers") of question id q = type*6 + colour
 *   S_facts.npy   int32 N x 6 x 9: per-object caption facts (see sceneFacts in src/scenes/questions.ts)
 *   S_objects.npy int32 N x 6 x 3: [shape (0 circle, 1 square), cx, cy] per colour
 * plus meta.json: question texts by id, types, answers, colours, splits, image size, normalisation, sample captions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ANSWERS,
  COLOR_NAMES,
  IMAGE_SIZE,
  OBJECT_SIZE,
  PIXEL_MEAN,
  PIXEL_STD,
  QUESTION_TYPES,
  RELATIONAL_TYPES,
  SMOKE_SPLITS,
  SPLITS,
  captionFor,
  generateScene,
  questionTextById,
  questionsFor,
  renderScene,
  sceneFacts,
  type SplitName,
} from '../src/tasks/sortofclevr/index.js';
import { writeNpy } from './npy';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke') || process.env.TRAIN_SMOKE === '1';
const outIdx = args.indexOf('--out');
const outDir = outIdx >= 0 ? args[outIdx + 1]! : 'training/data';
mkdirSync(outDir, { recursive: true });

const splits = smoke ? SMOKE_SPLITS : SPLITS;
const HW3 = IMAGE_SIZE * IMAGE_SIZE * 3;
const t0 = Date.now();
const sampleCaptions: { seed: number; caption: string }[] = [];

for (const split of Object.keys(splits) as SplitName[]) {
  const { seedBase, images: n } = splits[split];
  const images = new Uint8Array(n * HW3);
  const seeds = new Int32Array(n);
  const answers = new Int32Array(n * 36);
  const facts = new Int32Array(n * 6 * 9);
  const objects = new Int32Array(n * 6 * 3);
  for (let i = 0; i < n; i++) {
    const seed = seedBase + i;
    const scene = generateScene(seed);
    images.set(renderScene(scene).data, i * HW3);
    seeds[i] = seed;
    questionsFor(scene).forEach((q, k) => {
      if (q.id !== k) throw new Error('question order');
      answers[i * 36 + k] = ANSWERS.indexOf(q.answer);
    });
    sceneFacts(scene).forEach((f, o) => facts.set(f, (i * 6 + o) * 9));
    scene.objects.forEach((o, k) => objects.set([o.shape === 'square' ? 1 : 0, o.cx, o.cy], (i * 6 + k) * 3));
    if (split === 'train' && i < 50) sampleCaptions.push({ seed, caption: captionFor(scene) });
    if ((i + 1) % 5000 === 0) process.stdout.write(`  ${split}: ${i + 1}/${n}\n`);
  }
  writeNpy(join(outDir, `${split}_images.npy`), '|u1', [n, IMAGE_SIZE, IMAGE_SIZE, 3], images);
  writeNpy(join(outDir, `${split}_seeds.npy`), '<i4', [n], seeds);
  writeNpy(join(outDir, `${split}_answers.npy`), '<i4', [n, 36], answers);
  writeNpy(join(outDir, `${split}_facts.npy`), '<i4', [n, 6, 9], facts);
  writeNpy(join(outDir, `${split}_objects.npy`), '<i4', [n, 6, 3], objects);
  console.log(`export-dataset: ${split} ${n} images (seeds ${seedBase}..${seedBase + n - 1})`);
}

const meta = {
  smoke,
  imageSize: IMAGE_SIZE,
  objectSize: OBJECT_SIZE,
  pixelMean: PIXEL_MEAN,
  pixelStd: PIXEL_STD,
  colors: COLOR_NAMES,
  questionTypes: QUESTION_TYPES,
  relationalTypes: RELATIONAL_TYPES,
  answers: ANSWERS,
  questions: Array.from({ length: 36 }, (_, id) => ({
    id,
    type: QUESTION_TYPES[Math.floor(id / 6)],
    color: COLOR_NAMES[id % 6],
    text: questionTextById(id),
  })),
  splits,
  sampleCaptions,
};
writeFileSync(join(outDir, 'meta.json'), JSON.stringify(meta, null, 1));
console.log(`export-dataset: wrote ${outDir} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
