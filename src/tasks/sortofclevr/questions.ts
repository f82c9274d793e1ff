import type { Rng } from '../../rng.js';
import { COLOR_NAMES, IMAGE_SIZE, othersByDistance, type ColorName, type Scene } from './scene';

export const QUESTION_TYPES = ['shape', 'horizontal', 'vertical', 'closest', 'furthest', 'count'] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];
export const RELATIONAL_TYPES: readonly QuestionType[] = ['closest', 'furthest', 'count'];

/** Every possible answer word (the answer vocabulary), in a fixed order. */
export const ANSWERS = ['circle', 'square', 'left', 'right', 'top', 'bottom', '0', '1', '2', '3', '4', '5'] as const;
export type Answer = (typeof ANSWERS)[number];

export interface Question {
  type: QuestionType;
  relational: boolean;
  /** Colour the question is about (the anchor object). */
  color: ColorName;
  /** Question id = typeIndex * 6 + colorIndex (0..35); the text depends only on this id. */
  id: number;
  text: string;
  answer: Answer;
}

export function questionText(type: QuestionType, color: ColorName): string {
  switch (type) {
    case 'shape':
      return `What shape is the ${color} object?`;
    case 'horizontal':
      return `Is the ${color} object on the left or the right?`;
    case 'vertical':
      return `Is the ${color} object at the top or the bottom?`;
    case 'closest':
      return `What shape is the object closest to the ${color} object?`;
    case 'furthest':
      return `What shape is the object furthest from the ${color} object?`;
    case 'count':
      return `How many objects have the same shape as the ${color} object?`;
  }
}

/** The answer to question `type` about the object of colour `color`. */
export function answerFor(scene: Scene, type: QuestionType, color: ColorName): Answer {
  const idx = COLOR_NAMES.indexOf(color);
  const o = scene.objects[idx]!;
  const mid = IMAGE_SIZE / 2;
  switch (type) {
    case 'shape':
      return o.shape;
    case 'horizontal':
      return o.cx < mid ? 'left' : 'right';
    case 'vertical':
      return o.cy < mid ? 'top' : 'bottom';
    case 'closest': {
      const others = othersByDistance(scene, idx);
      return others[0]!.shape;
    }
    case 'furthest': {
      const others = othersByDistance(scene, idx);
      return others[others.length - 1]!.shape;
    }
    case 'count': {
      const n = scene.objects.filter((p, i) => i !== idx && p.shape === o.shape).length;
      return String(n) as Answer;
    }
  }
}

export function makeQuestion(scene: Scene, type: QuestionType, color: ColorName): Question {
  const t = QUESTION_TYPES.indexOf(type);
  const c = COLOR_NAMES.indexOf(color);
  return {
    type,
    relational: RELATIONAL_TYPES.includes(type),
    color,
    id: t * COLOR_NAMES.length + c,
    text: questionText(type, color),
    answer: answerFor(scene, type, color),
  };
}

/** All 36 questions (6 types x 6 colours), ordered by id. */
export function questionsFor(scene: Scene): Question[] {
  const out: Question[] = [];
  for (const type of QUESTION_TYPES) for (const color of COLOR_NAMES) out.push(makeQuestion(scene, type, color));
  return out;
}

/** One question: type uniform over the 6 types, then colour uniform over the 6 colours. */
export function sampleQuestion(scene: Scene, rng: Rng): Question {
  const type = QUESTION_TYPES[rng.int(QUESTION_TYPES.length)]!;
  const color = COLOR_NAMES[rng.int(COLOR_NAMES.length)]!;
  return makeQuestion(scene, type, color);
}

/** Question text by id (0..35). */
export function questionTextById(id: number): string {
  const type = QUESTION_TYPES[Math.floor(id / COLOR_NAMES.length)]!;
  const color = COLOR_NAMES[id % COLOR_NAMES.length]!;
  return questionText(type, color);
}

/**
 * Per-object facts used for captions (vision-encoder pretraining), one row of 9 integers per object:
 * [colour, shape(0 circle,1 square), horizontal(0 left,1 right), vertical(0 top,1 bottom),
 *  closestColour, closestShape, furthestColour, furthestShape, sameShapeCount(0..5)].
 */
export function sceneFacts(scene: Scene): number[][] {
  const mid = IMAGE_SIZE / 2;
  return scene.objects.map((o, i) => {
    const others = othersByDistance(scene, i);
    const near = others[0]!;
    const far = others[others.length - 1]!;
    const same = scene.objects.filter((p, j) => j !== i && p.shape === o.shape).length;
    return [
      o.colorIndex,
      o.shape === 'square' ? 1 : 0,
      o.cx < mid ? 0 : 1,
      o.cy < mid ? 0 : 1,
      near.colorIndex,
      near.shape === 'square' ? 1 : 0,
      far.colorIndex,
      far.shape === 'square' ? 1 : 0,
      same,
    ];
  });
}

/** Caption text, one clause per object in colour order, e.g. "red square left top closest blue square furthest gray circle same 2 ." */
export function captionFor(scene: Scene): string {
  const shape = (s: number) => (s ? 'square' : 'circle');
  return sceneFacts(scene)
    .map(
      (f) =>
        `${COLOR_NAMES[f[0]!]} ${shape(f[1]!)} ${f[2] ? 'right' : 'left'} ${f[3] ? 'bottom' : 'top'} ` +
        `closest ${COLOR_NAMES[f[4]!]} ${shape(f[5]!)} furthest ${COLOR_NAMES[f[6]!]} ${shape(f[7]!)} same ${f[8]} .`,
    )
    .join(' ');
}
