import { Rng } from '../../rng.js';

/** Image side in pixels (images are square). */
export const IMAGE_SIZE = 64;
/** Side of a square / diameter of a circle, in pixels. */
export const OBJECT_SIZE = 10;
/** Minimum background gap between the bounding boxes of two objects, in pixels (along at least one axis). */
export const MIN_GAP = 2;
/** Minimum |centre - 32| along each axis, so left/right and top/bottom are never borderline. */
export const SIDE_MARGIN = 2;
/** Minimum difference (px) between closest and 2nd-closest distance, and between furthest and 2nd-furthest. */
export const DISTANCE_MARGIN = 2;

export const COLOR_NAMES = ['red', 'green', 'blue', 'orange', 'gray', 'yellow'] as const;
export type ColorName = (typeof COLOR_NAMES)[number];
export const COLOR_RGB: Readonly<Record<ColorName, readonly [number, number, number]>> = {
  red: [255, 0, 0],
  green: [0, 255, 0],
  blue: [0, 0, 255],
  orange: [255, 156, 0],
  gray: [128, 128, 128],
  yellow: [255, 255, 0],
};
export const BACKGROUND_RGB: readonly [number, number, number] = [255, 255, 255];

export const SHAPES = ['circle', 'square'] as const;
export type Shape = (typeof SHAPES)[number];

export interface SceneObject {
  color: ColorName;
  /** Index of the colour in COLOR_NAMES. */
  colorIndex: number;
  shape: Shape;
  /** Top-left corner of the 10x10 bounding box (integer pixels). */
  x0: number;
  y0: number;
  /** Geometric centre of the object in pixel coordinates (x0 + 5, y0 + 5); y grows downwards. */
  cx: number;
  cy: number;
}

export interface Scene {
  seed: number;
  width: number;
  height: number;
  /** objects[i].colorIndex === i: one object per colour, always in COLOR_NAMES order. */
  objects: SceneObject[];
  /** Number of full rejected attempts before this scene was accepted (for diagnostics). */
  attempts: number;
}

const MAX_CORNER = IMAGE_SIZE - OBJECT_SIZE; // 54
const HALF = OBJECT_SIZE / 2; // 5

export function distance(a: SceneObject, b: SceneObject): number {
  const dx = a.cx - b.cx;
  const dy = a.cy - b.cy;
  return Math.sqrt(dx * dx + dy * dy);
}

/** Objects other than `anchor`, sorted by distance from it, nearest first. */
export function othersByDistance(scene: Scene, anchor: number): SceneObject[] {
  const a = scene.objects[anchor]!;
  return scene.objects
    .filter((_, i) => i !== anchor)
    .map((o) => ({ o, d: distance(a, o) }))
    .sort((p, q) => p.d - q.d)
    .map((p) => p.o);
}

function boxesSeparated(ax: number, ay: number, bx: number, by: number): boolean {
  const need = OBJECT_SIZE + MIN_GAP; // 12
  return Math.abs(ax - bx) >= need || Math.abs(ay - by) >= need;
}

function sideOk(corner: number): boolean {
  return Math.abs(corner + HALF - IMAGE_SIZE / 2) >= SIDE_MARGIN;
}

/** True when closest and furthest neighbours of every object are unique with DISTANCE_MARGIN to spare. */
export function distancesUnambiguous(objects: SceneObject[]): boolean {
  for (let i = 0; i < objects.length; i++) {
    const ds: number[] = [];
    for (let j = 0; j < objects.length; j++) if (j !== i) ds.push(distance(objects[i]!, objects[j]!));
    ds.sort((p, q) => p - q);
    if (ds[1]! - ds[0]! < DISTANCE_MARGIN) return false;
    if (ds[ds.length - 1]! - ds[ds.length - 2]! < DISTANCE_MARGIN) return false;
  }
  return true;
}

/**
 * Generate a scene deterministically from an integer seed.
 * Rejection sampling: an attempt draws 6 shapes, then places the 6 objects one by one (each corner uniform in
 * [0, 54]^2, redrawn up to 200 times until it respects the side margin and the gap to every placed object);
 * the whole attempt is redrawn if an object cannot be placed or if some closest/furthest neighbour is ambiguous.
 */
export function generateScene(seed: number): Scene {
  const rng = new Rng(seed);
  for (let attempt = 0; attempt < 10000; attempt++) {
    const shapes = COLOR_NAMES.map(() => SHAPES[rng.int(2)]!);
    const objects: SceneObject[] = [];
    let failed = false;
    for (let c = 0; c < COLOR_NAMES.length && !failed; c++) {
      let placed = false;
      for (let t = 0; t < 200; t++) {
        const x0 = rng.int(MAX_CORNER + 1);
        const y0 = rng.int(MAX_CORNER + 1);
        if (!sideOk(x0) || !sideOk(y0)) continue;
        if (!objects.every((o) => boxesSeparated(x0, y0, o.x0, o.y0))) continue;
        objects.push({
          color: COLOR_NAMES[c]!,
          colorIndex: c,
          shape: shapes[c]!,
          x0,
          y0,
          cx: x0 + HALF,
          cy: y0 + HALF,
        });
        placed = true;
        break;
      }
      if (!placed) failed = true;
    }
    if (failed || !distancesUnambiguous(objects)) continue;
    return { seed, width: IMAGE_SIZE, height: IMAGE_SIZE, objects, attempts: attempt + 1 };
  }
  throw new Error(`could not generate scene for seed ${seed}`);
}
