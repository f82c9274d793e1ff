/**
 * Writes the sample images of public/samples/: scenes of the test split rendered by src/scenes as PNGs, and
 * samples.json with each sample's seed and the correct answers to one question of every type.
 * Usage: npx vite-node scripts/make-samples.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { COLOR_NAMES, QUESTION_TYPES, generateScene, makeQuestion, renderScene, seedFor } from '../src/tasks/sortofclevr/index.js';

const OUT = join(import.meta.dirname, '..', 'public', 'samples');
const SAMPLES = 3;

mkdirSync(OUT, { recursive: true });
const samples = Array.from({ length: SAMPLES }, (_, i) => {
  const seed = seedFor('test', i);
  const scene = generateScene(seed);
  const img = renderScene(scene);
  const file = `scene-${seed}.png`;
  writeFileSync(join(OUT, file), encode({ width: img.width, height: img.height, data: img.data, channels: 3, depth: 8 }));
  // One question per type, about a different colour each time, so the samples cover every template.
  const questions = QUESTION_TYPES.map((type, t) => {
    const q = makeQuestion(scene, type, COLOR_NAMES[(t + i) % COLOR_NAMES.length]!);
    return { id: q.id, type: q.type, question: q.text, answer: q.answer };
  });
  return { file, seed, split: 'test', index: i, questions };
});
writeFileSync(join(OUT, 'samples.json'), JSON.stringify({ note: 'written by scripts/make-samples.ts', samples }, null, 1) + '\n');
console.log(`make-samples: ${samples.map((s) => s.file).join(', ')} in ${OUT}`);
