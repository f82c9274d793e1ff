// Catches a Sort-of-CLEVR generator, question set or split that drifts from docs/TASK.md (seeded scenes, answers,
// split sizes).
import { describe, expect, it } from 'vitest';
import {
  COLOR_NAMES,
  IMAGE_SIZE,
  OBJECT_SIZE,
  Rng,
  SMOKE_SPLITS,
  SPLITS,
  answerFor,
  distance,
  generateScene,
  insideObject,
  questionsFor,
  renderScene,
  sampleQuestion,
  type Scene,
  type SceneObject,
} from '../src/tasks/sortofclevr/index.js';

function hashBytes(a: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a[i]!, 0x01000193);
  return h >>> 0;
}

function handScene(objs: [number, 'circle' | 'square', number, number][]): Scene {
  const objects: SceneObject[] = objs.map(([c, shape, x0, y0]) => ({
    color: COLOR_NAMES[c]!,
    colorIndex: c,
    shape,
    x0,
    y0,
    cx: x0 + 5,
    cy: y0 + 5,
  }));
  return { seed: -1, width: 64, height: 64, objects, attempts: 1 };
}

describe('rng', () => {
  it('is deterministic and in range', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 100 }, () => a.nextUint32());
    expect(Array.from({ length: 100 }, () => b.nextUint32())).toEqual(xs);
    expect(new Rng(43).nextUint32()).not.toBe(xs[0]);
    const r = new Rng(7);
    for (let i = 0; i < 1000; i++) {
      const v = r.int(6);
      expect(v >= 0 && v < 6 && Number.isInteger(v)).toBe(true);
    }
  });
  it('has a pinned stream (same in browser and Node)', () => {
    const r = new Rng(1);
    expect([r.nextUint32(), r.nextUint32(), r.nextUint32()]).toEqual([1828152527, 3394835397, 2967886022]);
  });
});

describe('scene generator', () => {
  it('is deterministic: same seed, same scene and pixels', () => {
    for (const seed of [0, 1, 1_000_000, 3_000_123]) {
      const a = generateScene(seed);
      const b = generateScene(seed);
      expect(b).toEqual(a);
      expect(hashBytes(renderScene(b).data)).toBe(hashBytes(renderScene(a).data));
    }
    expect(generateScene(1)).not.toEqual(generateScene(2));
  });

  it('pins the pixels of one scene', () => {
    const img = renderScene(generateScene(3_000_000));
    expect(img.width).toBe(64);
    expect(img.height).toBe(64);
    expect(img.data.length).toBe(64 * 64 * 3);
    // objects of seed 3000000 (see docs/TASK.md): red square at (50,17), ...
    const s = generateScene(3_000_000);
    expect(s.objects.map((o) => [o.shape, o.x0, o.y0])).toEqual([
      ['square', 50, 17],
      ['square', 20, 31],
      ['square', 52, 36],
      ['square', 8, 51],
      ['square', 44, 2],
      ['square', 0, 4],
    ]);
  });

  it('has 6 objects of 6 distinct colours, inside the image, without overlap, with margins', () => {
    for (let seed = 0; seed < 500; seed++) {
      const s = generateScene(seed);
      expect(s.objects.length).toBe(6);
      expect(new Set(s.objects.map((o) => o.color)).size).toBe(6);
      s.objects.forEach((o, i) => {
        expect(o.colorIndex).toBe(i);
        expect(o.x0 >= 0 && o.y0 >= 0 && o.x0 + OBJECT_SIZE <= IMAGE_SIZE && o.y0 + OBJECT_SIZE <= IMAGE_SIZE).toBe(true);
        expect(Math.abs(o.cx - 32)).toBeGreaterThanOrEqual(2);
        expect(Math.abs(o.cy - 32)).toBeGreaterThanOrEqual(2);
        for (let j = 0; j < i; j++) {
          const p = s.objects[j]!;
          expect(Math.abs(o.x0 - p.x0) >= 12 || Math.abs(o.y0 - p.y0) >= 12).toBe(true);
        }
        // closest / furthest unique with a 2 px margin
        const ds = s.objects.filter((_, j) => j !== i).map((p) => distance(o, p)).sort((a, b) => a - b);
        expect(ds[1]! - ds[0]!).toBeGreaterThanOrEqual(2);
        expect(ds[4]! - ds[3]!).toBeGreaterThanOrEqual(2);
      });
    }
  });

  it('renders every object with its colour and nothing else', () => {
    const s = generateScene(12345);
    const img = renderScene(s);
    let objectPixels = 0;
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 64; x++) {
        const k = 3 * (y * 64 + x);
        const px = [img.data[k], img.data[k + 1], img.data[k + 2]];
        const owner = s.objects.find((o) => insideObject(o.shape, o.x0, o.y0, x, y));
        if (!owner) expect(px).toEqual([255, 255, 255]);
        else objectPixels++;
      }
    const expected = s.objects.reduce((n, o) => n + (o.shape === 'square' ? 100 : 80), 0);
    expect(objectPixels).toBe(expected);
  });

  it('draws circles with 80 pixels and squares with 100', () => {
    let c = 0;
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) if (insideObject('circle', 0, 0, x, y)) c++;
    expect(c).toBe(80);
  });
});

describe('questions', () => {
  // red square far left top, green circle right next to it, blue circle bottom right, ...
  const s = handScene([
    [0, 'square', 2, 2], // red    centre (7, 7)
    [1, 'circle', 16, 4], // green  centre (21, 9)
    [2, 'circle', 50, 50], // blue   centre (55, 55)
    [3, 'square', 40, 10], // orange centre (45, 15)
    [4, 'square', 6, 40], // gray   centre (11, 45)
    [5, 'circle', 30, 24], // yellow centre (35, 29)
  ]);
  const ans = (type: Parameters<typeof answerFor>[1], c: Parameters<typeof answerFor>[2]) => answerFor(s, type, c);

  it('answers non-relational questions', () => {
    expect(ans('shape', 'red')).toBe('square');
    expect(ans('shape', 'green')).toBe('circle');
    expect(ans('horizontal', 'red')).toBe('left');
    expect(ans('horizontal', 'blue')).toBe('right');
    expect(ans('horizontal', 'yellow')).toBe('right'); // cx 35 >= 32
    expect(ans('vertical', 'red')).toBe('top');
    expect(ans('vertical', 'gray')).toBe('bottom');
    expect(ans('vertical', 'yellow')).toBe('top'); // cy 29 < 32
  });

  it('answers relational questions', () => {
    // red (7,7): green (21,9) d=14.1, yellow (35,29) d=35.6, gray (11,45) d=38.2, orange (45,15) d=38.8, blue (55,55) d=67.9
    expect(ans('closest', 'red')).toBe('circle'); // green
    expect(ans('furthest', 'red')).toBe('circle'); // blue
    // blue (55,55): yellow (35,29) d=32.8, orange d=40.8, gray d=44.9, green d=57.3, red d=67.9
    expect(ans('closest', 'blue')).toBe('circle'); // yellow
    expect(ans('furthest', 'blue')).toBe('square'); // red
    // orange (45,15): yellow (35,29) d=17.2 -> circle; furthest gray (11,45) d=45.3 vs blue (55,55) d=41.2 -> gray square
    expect(ans('closest', 'orange')).toBe('circle');
    expect(ans('furthest', 'orange')).toBe('square');
    // shapes: squares red, orange, gray; circles green, blue, yellow
    expect(ans('count', 'red')).toBe('2');
    expect(ans('count', 'green')).toBe('2');
  });

  it('counts 0 and 5 at the extremes', () => {
    const allSquares = handScene([
      [0, 'square', 2, 2],
      [1, 'square', 16, 4],
      [2, 'square', 50, 50],
      [3, 'square', 40, 10],
      [4, 'circle', 6, 40],
      [5, 'square', 30, 24],
    ]);
    expect(answerFor(allSquares, 'count', 'red')).toBe('4');
    expect(answerFor(allSquares, 'count', 'gray')).toBe('0');
    const six = handScene(allSquares.objects.map((o) => [o.colorIndex, 'square', o.x0, o.y0] as [number, 'square', number, number]));
    expect(answerFor(six, 'count', 'blue')).toBe('5');
  });

  it('lists 36 questions with ids, texts and one-word answers', () => {
    const qs = questionsFor(generateScene(7));
    expect(qs.length).toBe(36);
    qs.forEach((q, i) => {
      expect(q.id).toBe(i);
      expect(q.answer.split(' ').length).toBe(1);
      expect(q.relational).toBe(['closest', 'furthest', 'count'].includes(q.type));
    });
    expect(qs[0]!.text).toBe('What shape is the red object?');
    expect(qs[11]!.text).toBe('Is the yellow object on the left or the right?');
    expect(qs[35]!.text).toBe('How many objects have the same shape as the yellow object?');
    const q = sampleQuestion(generateScene(7), new Rng(3));
    expect(qs.find((x) => x.id === q.id)).toEqual(q);
  });
});

describe('splits', () => {
  it('use disjoint seed ranges', () => {
    const ranges = Object.values(SPLITS).map((s) => [s.seedBase, s.seedBase + s.images - 1] as const);
    for (let i = 0; i < ranges.length; i++)
      for (let j = 0; j < i; j++) expect(ranges[i]![0] > ranges[j]![1] || ranges[j]![0] > ranges[i]![1]).toBe(true);
    expect(SPLITS.test.images * 36).toBeGreaterThanOrEqual(2000);
    for (const k of Object.keys(SMOKE_SPLITS) as (keyof typeof SPLITS)[]) expect(SMOKE_SPLITS[k].seedBase).toBe(SPLITS[k].seedBase);
  });
});
