import type { RgbImage } from '../../memvp/image.js';
import { BACKGROUND_RGB, COLOR_RGB, OBJECT_SIZE, type Scene } from './scene';

/**
 * Pixel (px, py) belongs to a circle with bounding box corner (x0, y0) when its centre (px + 0.5, py + 0.5)
 * lies within radius 5 of (x0 + 5, y0 + 5); in integers: (2(px-x0) - 9)^2 + (2(py-y0) - 9)^2 <= 100.
 * A square fills its whole 10 x 10 box. No anti-aliasing: every pixel is background or one object colour.
 */
export function insideObject(shape: 'circle' | 'square', x0: number, y0: number, px: number, py: number): boolean {
  const lx = px - x0;
  const ly = py - y0;
  if (lx < 0 || ly < 0 || lx >= OBJECT_SIZE || ly >= OBJECT_SIZE) return false;
  if (shape === 'square') return true;
  const ex = 2 * lx - (OBJECT_SIZE - 1);
  const ey = 2 * ly - (OBJECT_SIZE - 1);
  return ex * ex + ey * ey <= OBJECT_SIZE * OBJECT_SIZE;
}

export function renderScene(scene: Scene): RgbImage {
  const { width, height } = scene;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    data[3 * i] = BACKGROUND_RGB[0];
    data[3 * i + 1] = BACKGROUND_RGB[1];
    data[3 * i + 2] = BACKGROUND_RGB[2];
  }
  for (const o of scene.objects) {
    const rgb = COLOR_RGB[o.color];
    for (let py = o.y0; py < o.y0 + OBJECT_SIZE; py++) {
      for (let px = o.x0; px < o.x0 + OBJECT_SIZE; px++) {
        if (!insideObject(o.shape, o.x0, o.y0, px, py)) continue;
        const k = 3 * (py * width + px);
        data[k] = rgb[0];
        data[k + 1] = rgb[1];
        data[k + 2] = rgb[2];
      }
    }
  }
  return { width, height, data };
}

/** RGB -> RGBA (alpha 255), e.g. for ImageData / canvas. */
export function toRGBA(img: RgbImage): Uint8ClampedArray {
  const out = new Uint8ClampedArray(img.width * img.height * 4);
  for (let i = 0; i < img.width * img.height; i++) {
    out[4 * i] = img.data[3 * i]!;
    out[4 * i + 1] = img.data[3 * i + 1]!;
    out[4 * i + 2] = img.data[3 * i + 2]!;
    out[4 * i + 3] = 255;
  }
  return out;
}

/** The task's vision normalisation (the manifest's pixelMean/pixelStd): x = (pixel / 255 - mean) / std, per channel. */
export const PIXEL_MEAN = [0.5, 0.5, 0.5] as const;
export const PIXEL_STD = [0.5, 0.5, 0.5] as const;
