/**
 * Image input hardening: values that are not images, a directory given as the image, PNGs whose image data
 * inflates past what the header implies (stopped at that size), compressed ancillary chunks (dropped unread),
 * truncated files, and the PNG layouts that must still decode exactly (grey, palette, 16-bit, Adam7 interlaced).
 * Every PNG is built by the test.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { encode as encodePng } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImage, type ImageInput } from '../src/memvp/image.js';
import { ImageDecodeError } from '../src/memvp/errors.js';
import { Rng } from '../src/rng.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'memvp-image-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 255]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A PNG from its parts: IHDR fields, the zlib image data, and chunks to put before IDAT. */
function png(width: number, height: number, colourType: number, depth: number, idat: Uint8Array, { interlace = 0, before = [] as Uint8Array[] } = {}): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([depth, colourType, 0, 0, interlace], 8);
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), ...before, chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const randomRgb = (width: number, height: number, seed: number) => {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: width * height * 3 }, () => Math.floor(rng.next() * 256));
};

describe('image inputs that are not images', () => {
  it.each([
    ['null', null, /got null/],
    ['undefined', undefined, /got undefined/],
    ['a number', 42, /got number/],
    ['a boolean', true, /got boolean/],
    ['a plain object', { hello: 'world' }, /got an object \(Object\)/],
    ['an array', [1, 2, 3], /got an object \(Array\)/],
  ])('%s is an ImageDecodeError naming what it got', async (_, value, message) => {
    await expect(readImage(value as unknown as ImageInput)).rejects.toThrow(ImageDecodeError);
    await expect(readImage(value as unknown as ImageInput)).rejects.toThrow(message);
  });

  it('raw pixels with missing or wrong fields are an ImageDecodeError', async () => {
    await expect(readImage({ width: 2, height: 2, data: null } as unknown as ImageInput)).rejects.toThrow(ImageDecodeError);
    await expect(readImage({ data: new Uint8Array(12) } as unknown as ImageInput)).rejects.toThrow(/invalid size undefined x undefined/);
  });

  it('an image URL whose server claims 1e12 bytes, or answers 500 with a body, is an ImageDecodeError without the body', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/huge.png') {
        res.writeHead(200, { 'content-length': String(1e12) });
        res.write(new Uint8Array(100));
      } else res.writeHead(500).end('SECRET-BODY');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const huge = await readImage(`${url}huge.png`).catch((e) => e);
      expect(huge).toBeInstanceOf(ImageDecodeError);
      expect(huge.message).toMatch(/huge\.png: cannot read the image: more than the \d+ bytes expected/);
      const failed = await readImage(`${url}x.png`).catch((e) => e);
      expect(failed).toBeInstanceOf(ImageDecodeError);
      expect(failed.message).toBe(`${url}x.png: cannot read the image: HTTP 500 Internal Server Error`);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a directory given as the image path is an ImageDecodeError', async () => {
    const dir = join(work, 'folder.png');
    mkdirSync(dir);
    await expect(readImage(dir)).rejects.toThrow(ImageDecodeError);
    await expect(readImage(dir)).rejects.toThrow(`${dir}: cannot read the image: is a directory, not a file`);
  });
});

describe('PNG decompression bombs', () => {
  it('stops inflating image data at the size the header implies', async () => {
    // A 16 x 16 RGB header implies 16 * (1 + 48) = 784 bytes; the data inflates to 256 MiB.
    const bomb = png(16, 16, 2, 8, deflateSync(new Uint8Array(256 << 20)));
    expect(bomb.length).toBeLessThan(300_000);
    const err = await readImage(bomb).catch((e) => e);
    expect(err).toBeInstanceOf(ImageDecodeError);
    expect(err.message).toContain('PNG 16 x 16 could not be decoded: its image data inflates to more than the 784 bytes its header implies');
    // The same from a file.
    const file = join(work, 'bomb.png');
    writeFileSync(file, bomb);
    await expect(readImage(file)).rejects.toThrow(/inflates to more than the 784 bytes/);
  });

  it('drops a compressed ICC profile or text chunk unread, whatever it inflates to', async () => {
    const data = randomRgb(9, 7, 1);
    const plain = encodePng({ width: 9, height: 7, data, channels: 3, depth: 8 });
    const idat = plain.subarray(33 + 8, plain.length - 12 - 4);
    const iccp = new Uint8Array([...new TextEncoder().encode('icc'), 0, 0, ...deflateSync(new Uint8Array(64 << 20))]);
    const ztxt = new Uint8Array([...new TextEncoder().encode('Comment'), 0, 0, ...deflateSync(new Uint8Array(64 << 20))]);
    const withChunks = png(9, 7, 2, 8, idat, { before: [chunk('iCCP', iccp), chunk('zTXt', ztxt)] });
    expect((await readImage(withChunks)).data).toEqual(data);
  });

  it('refuses a truncated PNG and a chunk that runs past the end', async () => {
    const plain = encodePng({ width: 9, height: 7, data: randomRgb(9, 7, 2), channels: 3, depth: 8 });
    await expect(readImage(plain.subarray(0, plain.length - 20))).rejects.toThrow(ImageDecodeError);
    const lying = plain.slice();
    new DataView(lying.buffer).setUint32(33, 0x7fffffff);
    await expect(readImage(lying)).rejects.toThrow(/runs past the end of the file/);
  });
});

describe('PNG layouts decode exactly under the bound', () => {
  it('RGB, RGBA, grey, grey+alpha at 8 and 16 bits', async () => {
    const [w, h] = [13, 5];
    const rgb = randomRgb(w, h, 3);
    expect((await readImage(encodePng({ width: w, height: h, data: rgb, channels: 3, depth: 8 }))).data).toEqual(rgb);
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) rgba.set([...rgb.subarray(i * 3, i * 3 + 3), 255], i * 4);
    expect((await readImage(encodePng({ width: w, height: h, data: rgba, channels: 4, depth: 8 }))).data).toEqual(rgb);
    const grey16 = Uint16Array.from({ length: w * h }, (_, i) => rgb[i]! * 257);
    const grey = (await readImage(encodePng({ width: w, height: h, data: grey16, channels: 1, depth: 16 }))).data;
    for (let i = 0; i < w * h; i++) expect([...grey.subarray(i * 3, i * 3 + 3)]).toEqual([rgb[i], rgb[i], rgb[i]]);
    const ga = Uint8Array.from({ length: w * h * 2 }, (_, i) => (i & 1 ? 255 : rgb[i >> 1]!));
    expect((await readImage(encodePng({ width: w, height: h, data: ga, channels: 2, depth: 8 }))).data[3]).toBe(rgb[1]);
  });

  it('grey at 1 bit and a palette image', async () => {
    // 10 x 3 at 1 bit: rows of 2 bytes after the filter byte.
    const rows = [0b10101010, 0b11000000, 0b11111111, 0b01000000, 0b00000000, 0b10000000];
    const raw = new Uint8Array(3 * 3);
    for (let y = 0; y < 3; y++) raw.set([0, rows[2 * y]!, rows[2 * y + 1]!], y * 3);
    const grey = await readImage(png(10, 3, 0, 1, deflateSync(raw)));
    expect(Array.from({ length: 10 }, (_, x) => grey.data[x * 3])).toEqual([255, 0, 255, 0, 255, 0, 255, 0, 255, 255]);
    const palette = chunk('PLTE', new Uint8Array([255, 0, 0, 0, 0, 255]));
    const indexed = await readImage(png(2, 1, 3, 8, deflateSync(new Uint8Array([0, 1, 0])), { before: [palette] }));
    expect([...indexed.data]).toEqual([0, 0, 255, 255, 0, 0]);
  });

  it('Adam7 interlaced images of sizes that leave some passes empty', async () => {
    const PASSES = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
    for (const [w, h] of [[1, 1], [3, 2], [5, 9], [17, 11]] as const) {
      const rgb = randomRgb(w, h, w * 100 + h);
      const raw: number[] = [];
      for (const [x0, y0, dx, dy] of PASSES as [number, number, number, number][]) {
        if (x0 >= w) continue;
        for (let y = y0; y < h; y += dy) {
          raw.push(0);
          for (let x = x0; x < w; x += dx) raw.push(...rgb.subarray((y * w + x) * 3, (y * w + x) * 3 + 3));
        }
      }
      const image = await readImage(png(w, h, 2, 8, deflateSync(Uint8Array.from(raw)), { interlace: 1 }));
      expect(image.data, `${w} x ${h}`).toEqual(rgb);
      // One byte more than the passes hold is refused.
      const over = await readImage(png(w, h, 2, 8, deflateSync(Uint8Array.from([...raw, 0])), { interlace: 1 })).catch((e) => e);
      expect(over, `${w} x ${h}`).toBeInstanceOf(ImageDecodeError);
      expect(over.message).toContain(`more than the ${raw.length} bytes`);
    }
  });
});
