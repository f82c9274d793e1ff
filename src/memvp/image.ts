// Images in, the vision encoder's input out. Every kind of ImageInput becomes 8-bit RGB at its own size (alpha
// composited over white, the scenes' background), then is resized to the model's imageSize x imageSize when it
// differs (bilinear, half-pixel centres, edges clamped, rounded back to 8 bits: torch's
// interpolate(mode='bilinear', align_corners=False, antialias=False) on uint8) and normalised exactly as in
// training: (u8 / 255 - mean) / std, NCHW float32. Bytes (and Blobs, and files in Node) must be PNG or JPEG:
// they are decoded by pure-JS decoders everywhere (the same pixels in browsers, workers and Node), after their
// header has been read so that an oversized image is refused before its pixels are decoded. A PNG's compressed
// data is first inflated against the size its header implies (boundPng), so a small file that inflates to far
// more is refused after at most that much, and only the chunks the pixels need reach the decoder.
import { convertIndexedToRgb, decode as decodePng, type DecodedPng } from 'fast-png';
import { Unzlib } from 'fflate';
import { decode as decodeJpeg } from 'jpeg-js';
import { ImageDecodeError, ImageTooLargeError, checkAborted } from './errors.js';
import { concatArrays } from '../arrays.js';
import { FetchBytesError, fetchBytes } from '../onnx/index.js';

/** Largest accepted width or height, in pixels (a 4096 x 4096 RGBA image is 64 MiB once decoded). */
export const MAX_IMAGE_SIDE = 4096;

/** Largest image file read from a path or URL: a 4096 x 4096 16-bit RGBA PNG stored uncompressed, and some. */
const MAX_IMAGE_FILE_BYTES = 160 << 20;

/** 8-bit RGB pixels at the image's own size. */
export interface RgbImage {
  width: number;
  height: number;
  /** Row-major RGB, 3 bytes per pixel (HWC), no alpha. */
  data: Uint8Array;
}

/** Raw pixels: row-major, 4 bytes per pixel (RGBA) or 3 (RGB), told apart by data.length. */
export interface RawImage {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

export type ImageInput =
  | ImageBitmap
  | HTMLImageElement
  | HTMLCanvasElement
  | OffscreenCanvas
  | ImageData
  | Blob
  | RawImage
  /** A URL to fetch; in Node also a file path or file: URL. */
  | string
  /** PNG or JPEG bytes. */
  | Uint8Array;

type Drawable = ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas;

/** The vision encoder's input for `image` ([1, 3, size, size] float32 normalised with mean/std) and the image's own size. */
export async function imageToPixels(
  image: ImageInput,
  vision: { imageSize: number; pixelMean: readonly number[]; pixelStd: readonly number[] },
  signal?: AbortSignal,
): Promise<{ pixels: Float32Array; width: number; height: number }> {
  const rgb = await readImage(image);
  checkAborted(signal, 'reading the image');
  const pixels = toPixelTensor(resizeBilinear(rgb, vision.imageSize), vision.pixelMean, vision.pixelStd);
  return { pixels, width: rgb.width, height: rgb.height };
}

/** Any ImageInput as 8-bit RGB at its own size. */
export async function readImage(image: ImageInput): Promise<RgbImage> {
  if (typeof image === 'string') return decodeBytes(await readSource(image), image);
  if (image instanceof Uint8Array) return decodeBytes(image, 'image bytes');
  if (typeof Blob !== 'undefined' && image instanceof Blob) return decodeBytes(new Uint8Array(await image.arrayBuffer()), `Blob (${image.type || 'no type'})`);
  if (typeof image === 'object' && image !== null && 'data' in image) return fromRaw(image);
  if (isDrawable(image)) return fromDrawable(image);
  const kind = image === null ? 'null' : typeof image === 'object' ? `an object (${Object.getPrototypeOf(image)?.constructor?.name ?? 'no prototype'})` : typeof image;
  throw new ImageDecodeError(`the image must be PNG/JPEG bytes, a Blob, a URL or path, {width, height, data} pixels, ImageData, an ImageBitmap, an <img>, or a canvas; got ${kind}`);
}

const DRAWABLES = ['ImageBitmap', 'HTMLImageElement', 'HTMLCanvasElement', 'OffscreenCanvas'] as const;

function isDrawable(v: unknown): v is Drawable {
  const g = globalThis as unknown as Record<string, unknown>;
  return typeof v === 'object' && v !== null && DRAWABLES.some((name) => typeof g[name] === 'function' && v instanceof (g[name] as new () => object));
}

/** Width, height and format from a PNG's IHDR or a JPEG's SOF marker, without decoding the pixels. */
export function imageHeader(bytes: Uint8Array, what = 'image bytes'): { format: 'png' | 'jpeg'; width: number; height: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 24 && PNG.every((b, i) => bytes[i] === b)) {
    return { format: 'png', width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    // Walk the marker segments to the first start-of-frame (SOF0..SOF15 except DHT C4, JPG C8, DAC CC).
    for (let at = 2; at + 9 <= bytes.length; ) {
      if (bytes[at] !== 0xff) break;
      const marker = bytes[at + 1]!;
      if (marker === 0xff) {
        at++;
        continue;
      }
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { format: 'jpeg', width: view.getUint16(at + 7), height: view.getUint16(at + 5) };
      }
      at += 2 + view.getUint16(at + 2);
    }
    throw new ImageDecodeError(`${what}: JPEG without a frame header (truncated or corrupt)`);
  }
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new ImageDecodeError(`${what}: not a PNG or JPEG image (${bytes.length} bytes, starting ${head || 'with nothing'}); for other formats pass an ImageBitmap or an <img>`);
}

async function readSource(source: string): Promise<Uint8Array> {
  try {
    return await fetchBytes(source, { maxBytes: MAX_IMAGE_FILE_BYTES });
  } catch (e) {
    throw e instanceof FetchBytesError ? new ImageDecodeError(`${e.where}: cannot read the image: ${e.detail}`, { cause: e }) : e;
  }
}

function checkSize(width: number, height: number, what: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageDecodeError(`${what}: invalid size ${width} x ${height}`);
  }
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) throw new ImageTooLargeError(width, height, MAX_IMAGE_SIDE);
}

function decodeBytes(bytes: Uint8Array, what: string): RgbImage {
  const { format, width, height } = imageHeader(bytes, what);
  checkSize(width, height, what);
  try {
    if (format === 'png') return fromPng(decodePng(boundPng(bytes, width, height)));
    const jpeg = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: (MAX_IMAGE_SIDE * MAX_IMAGE_SIDE) / 1e6 });
    return { width: jpeg.width, height: jpeg.height, data: jpeg.data };
  } catch (e) {
    throw new ImageDecodeError(`${what}: ${format.toUpperCase()} ${width} x ${height} could not be decoded: ${(e as Error).message}`, { cause: e });
  }
}

/** Bytes of inflated image data a PNG of this size and format holds: a filter byte and the packed samples per row, per pass. */
function pngDataBytes(width: number, height: number, bitsPerPixel: number, interlaced: boolean): number {
  const ADAM7 = interlaced ? [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] : [[0, 0, 1, 1]];
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7 as [number, number, number, number][]) {
    const cols = Math.ceil(Math.max(width - x0, 0) / dx);
    const rows = Math.ceil(Math.max(height - y0, 0) / dy);
    if (cols > 0) total += rows * (1 + Math.ceil((cols * bitsPerPixel) / 8));
  }
  return total;
}

/** Chunks the decoder needs; the rest (compressed text, ICC profiles, ...) is dropped unread. */
const PNG_KEPT = new Set(['IHDR', 'PLTE', 'tRNS', 'IDAT', 'IEND']);
/** Compressed bytes handed to the inflater at a time: each can inflate to about 1 MiB at most (deflate's 1032:1). */
const INFLATE_STEP = 1024;

/**
 * The PNG with only the chunks its pixels need, after checking that its image data inflates to no more than
 * the header's size implies; the inflating stops as soon as it passes that.
 */
function boundPng(bytes: Uint8Array, width: number, height: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
  const depth = bytes[24]!;
  const channels = CHANNELS[bytes[25]!];
  if (!channels || ![1, 2, 4, 8, 16].includes(depth)) throw new Error(`unsupported colour type ${bytes[25]} at bit depth ${depth}`);
  const limit = pngDataBytes(width, height, channels * depth, bytes[28] === 1);
  let inflated = 0;
  const inflater = new Unzlib((chunk) => {
    inflated += chunk.length;
    if (inflated > limit) throw new Error(`its image data inflates to more than the ${limit} bytes its header implies`);
  });
  const kept: Uint8Array[] = [bytes.subarray(0, 8)];
  let at = 8;
  for (let end = false; !end; ) {
    if (at + 12 > bytes.length) throw new Error(`truncated at byte ${at} (no IEND chunk)`);
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (length > bytes.length - at - 12) throw new Error(`chunk ${JSON.stringify(type)} at byte ${at} runs past the end of the file`);
    if (type === 'IDAT') {
      for (let i = 0; i < length; i += INFLATE_STEP) inflater.push(bytes.subarray(at + 8 + i, at + 8 + Math.min(i + INFLATE_STEP, length)));
    }
    if (PNG_KEPT.has(type)) kept.push(bytes.subarray(at, at + 12 + length));
    end = type === 'IEND';
    at += 12 + length;
  }
  return concatArrays(kept, (n) => new Uint8Array(n));
}

/** Any PNG colour type and depth as 8-bit RGB. */
function fromPng(png: DecodedPng): RgbImage {
  const { width, height } = png;
  if (png.palette) {
    const channels = png.palette[0]!.length;
    return flatten(width, height, channels, convertIndexedToRgb(png), 255);
  }
  if (png.depth < 8) {
    // Grey at 1, 2 or 4 bits: rows are packed MSB first and padded to whole bytes.
    const bits = png.depth;
    const rowBytes = Math.ceil((width * bits) / 8);
    const max = (1 << bits) - 1;
    const grey = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const bit = x * bits;
        grey[y * width + x] = (png.data[y * rowBytes + (bit >> 3)]! >> (8 - bits - (bit & 7))) & max;
      }
    }
    return flatten(width, height, 1, grey, max);
  }
  return flatten(width, height, png.channels, png.data, png.depth === 16 ? 65535 : 255);
}

/** Grey, grey+alpha, RGB or RGBA samples in [0, max] to 8-bit RGB, alpha composited over white. */
function flatten(width: number, height: number, channels: number, data: ArrayLike<number>, max: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  const colour = channels >= 3 ? 3 : 1;
  const hasAlpha = channels === 2 || channels === 4;
  for (let i = 0; i < width * height; i++) {
    const a = hasAlpha ? data[i * channels + colour]! / max : 1;
    for (let c = 0; c < 3; c++) {
      const v = data[i * channels + (colour === 3 ? c : 0)]! / max;
      out[i * 3 + c] = Math.round(255 * (v * a + (1 - a)));
    }
  }
  return { width, height, data: out };
}

function fromRaw(image: RawImage | ImageData): RgbImage {
  const { width, height, data } = image;
  checkSize(width, height, 'image data');
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) throw new ImageDecodeError('image data: "data" must be a Uint8Array or Uint8ClampedArray');
  const pixels = width * height;
  if (data.length !== pixels * 4 && data.length !== pixels * 3) {
    throw new ImageDecodeError(`image data: ${data.length} bytes for ${width} x ${height} is neither RGBA (${pixels * 4}) nor RGB (${pixels * 3})`);
  }
  return flatten(width, height, data.length / pixels, data, 255);
}

function fromDrawable(image: Drawable): RgbImage {
  const width = 'naturalWidth' in image ? image.naturalWidth : image.width;
  const height = 'naturalHeight' in image ? image.naturalHeight : image.height;
  if (width === 0 || height === 0) throw new ImageDecodeError('image element has no pixels (not loaded yet, or failed to load)');
  checkSize(width, height, 'image');
  const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(width, height) : Object.assign(document.createElement('canvas'), { width, height });
  const ctx = canvas.getContext('2d', { willReadFrequently: true }) as OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null;
  if (!ctx) throw new ImageDecodeError('no 2D canvas context to read the image pixels with');
  ctx.drawImage(image, 0, 0);
  try {
    return fromRaw(ctx.getImageData(0, 0, width, height));
  } catch (e) {
    // A cross-origin image taints the canvas: its pixels cannot be read.
    throw new ImageDecodeError(`cannot read the image's pixels: ${(e as Error).message}`, { cause: e });
  }
}

/** Bilinear resize to size x size (half-pixel centres, clamped edges, rounded to 8 bits); the image itself when it fits. */
export function resizeBilinear(img: RgbImage, size: number): RgbImage {
  const { width, height, data } = img;
  if (width === size && height === size) return img;
  const out = new Uint8Array(size * size * 3);
  const sx = width / size;
  const sy = height / size;
  for (let y = 0; y < size; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, height - 1);
    const wy = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, width - 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => data[(yy * width + xx) * 3 + c]!;
        const top = p(y0, x0) * (1 - wx) + p(y0, x1) * wx;
        const bottom = p(y1, x0) * (1 - wx) + p(y1, x1) * wx;
        out[(y * size + x) * 3 + c] = Math.round(top * (1 - wy) + bottom * wy);
      }
    }
  }
  return { width: size, height: size, data: out };
}

/**
 * Vision-encoder input: 1 x 3 x H x W float32 (NCHW), (pixel / 255 - mean) / std.
 * Computed in float32 exactly as in training/ (numpy float32: (u8 / 255 - mean) / std).
 */
export function toPixelTensor(img: RgbImage, mean: readonly number[], std: readonly number[]): Float32Array {
  const { width, height, data } = img;
  const out = new Float32Array(3 * width * height);
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    const m = f(mean[c]!);
    const s = f(std[c]!);
    for (let i = 0; i < width * height; i++) {
      const v = f(f(data[3 * i + c]! / 255) - m);
      out[c * width * height + i] = f(v / s);
    }
  }
  return out;
}
