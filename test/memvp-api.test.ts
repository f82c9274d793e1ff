/**
 * The public API (MemVP.load / encodeImage / answer / retrieval) on the shipped model package, on a real
 * (SwiftShader) WebGPU device and on onnxruntime-web's WASM build: answers against the torch reference answers,
 * image reuse, streaming, abort, queueing, buffer-pool accounting over 200 answers, and every typed error.
 * MEMVP_MODEL_DIR points the test at another package of the same format (a smoke-mode training run).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PipelineCache } from '../src/gpu/index.js';
import {
  AbortError,
  BackendError,
  ImageDecodeError,
  ImageTooLargeError,
  IntegrityError,
  MemVP,
  MemVPError,
  ModelLoadError,
  OptionError,
  QuestionError,
  type Answer,
  type LoadProgress,
  type Mode,
  type RgbImage,
} from '../src/index.js';
import { generateScene, renderScene, toRGBA } from '../src/tasks/sortofclevr/index.js';

const DIR = process.env.MEMVP_MODEL_DIR ?? join(__dirname, '..', 'public', 'models', 'sortofclevr-llama');
const SAMPLE = join(__dirname, '..', 'public', 'samples', 'scene-3000000.png');

interface RefQuestion {
  seed: number;
  question: string;
  memvp: string;
  inputSpace: string;
}

let model: MemVP;
let refs: RefQuestion[];
let pipelines: PipelineCache;
let compiledAtLoad: number;
const image = (seed: number): RgbImage => renderScene(generateScene(seed));
const same = (a: Answer) => ({ text: a.text, tokenIds: a.tokenIds });

/** Serves `root` on 127.0.0.1 (a random port) until closed. */
async function serve(root: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const file = join(root, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    if (!file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

describe('MemVP public API', () => {
  beforeAll(async () => {
    if (!existsSync(join(DIR, 'manifest.json'))) throw new Error(`${DIR} has no model package: run npm run train (or set MEMVP_MODEL_DIR)`);
    const prepare = vi.spyOn(PipelineCache.prototype, 'prepare');
    model = await MemVP.load(DIR);
    pipelines = prepare.mock.contexts[0] as PipelineCache;
    compiledAtLoad = pipelines.size;
    prepare.mockRestore();
    refs = JSON.parse(readFileSync(join(DIR, 'reference-answers.json'), 'utf8')).questions.slice(0, 20);
  });
  afterAll(() => model?.dispose());

  it('answers like torch on the reference questions (memvp and input-space)', async () => {
    expect(model.backend).toBe('webgpu');
    const mismatches: string[] = [];
    for (const r of refs) {
      for (const [mode, want] of [['memvp', r.memvp], ['input-space', r.inputSpace]] as const) {
        const a = await model.answer(image(r.seed), r.question, { mode });
        expect(a.mode).toBe(mode);
        expect(a.timings.firstToken).toBeCloseTo(a.timings.vision + a.timings.prefill, 6);
        expect(a.timings.vision).toBeGreaterThan(0);
        if (a.text !== want) mismatches.push(`${mode} seed ${r.seed} "${r.question}": "${a.text}", torch "${want}"`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('reuses an encoded image: the same answers without vision time', async () => {
    const img = image(refs[0]!.seed);
    const encoded = await model.encodeImage(img);
    for (const mode of ['memvp', 'input-space', 'text-only'] as Mode[]) {
      for (const r of refs.slice(0, 3)) {
        const first = await model.answer(encoded, r.question, { mode });
        expect(same(first), `${mode}: ${r.question}`).toEqual(same(await model.answer(img, r.question, { mode })));
        // input-space visual embeds are computed on their first use, then kept.
        const again = await model.answer(encoded, r.question, { mode });
        expect(again.timings.vision).toBe(0);
        expect(same(again)).toEqual(same(first));
      }
    }
    encoded.dispose();
    await expect(model.answer(encoded, refs[0]!.question)).rejects.toThrow(/EncodedImage was disposed/);
  });

  it('reads every kind of image input to the same pixels', async () => {
    const img = image(3_000_000);
    const q = 'What shape is the red object?';
    const want = same(await model.answer(img, q));
    const png = encodePng({ width: 64, height: 64, data: img.data, channels: 3, depth: 8 });
    const rgba = { width: 64, height: 64, data: toRGBA(img) };
    // A 2x nearest-neighbour upscale: bilinear with half-pixel centres brings back exactly the original pixels.
    const big = new Uint8Array(128 * 128 * 3);
    for (let y = 0; y < 128; y++) for (let x = 0; x < 128; x++) big.set(img.data.subarray(((y >> 1) * 64 + (x >> 1)) * 3, ((y >> 1) * 64 + (x >> 1)) * 3 + 3), (y * 128 + x) * 3);
    for (const [what, input] of [
      ['PNG bytes', png],
      ['a Blob', new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' })],
      ['a file path', SAMPLE],
      ['RGBA data', rgba],
      ['a 128 x 128 image', { width: 128, height: 128, data: big }],
    ] as const) {
      expect(same(await model.answer(input, q)), what).toEqual(want);
    }
  });

  it('streams tokens in order before the answer resolves', async () => {
    const r = refs.find((x) => x.memvp !== '') ?? refs[0]!;
    const streamed: [string, number][] = [];
    let resolved = false;
    const p = model.answer(image(r.seed), r.question, {
      onToken: (token, index) => {
        expect(resolved).toBe(false);
        streamed.push([token, index]);
      },
    });
    const a = await p.finally(() => (resolved = true));
    expect(streamed).toEqual(a.tokens.map((t, i) => [t, i]));
    expect(a.text).toBe(r.memvp);
  });

  it('aborts with AbortError between steps and frees what the answer held', async () => {
    const inUse = model.gpuBytes()!.inUseBytes;
    const r = refs.find((x) => x.memvp !== '') ?? refs[0]!;
    const controller = new AbortController();
    const err = await model.answer(image(r.seed), r.question, { signal: controller.signal, onToken: () => controller.abort() }).catch((e) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(err.name).toBe('AbortError');
    expect(model.gpuBytes()!.inUseBytes).toBe(inUse);
    await expect(model.answer(image(r.seed), r.question, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(model.gpuBytes()!.inUseBytes).toBe(inUse);
  });

  it('queues concurrent calls: the same answers as one at a time', async () => {
    const calls = refs.slice(0, 6).map((r, i) => [image(r.seed), r.question, (['memvp', 'input-space', 'text-only'] as Mode[])[i % 3]!] as const);
    const sequential: unknown[] = [];
    for (const [img, q, mode] of calls) sequential.push(same(await model.answer(img, q, { mode })));
    const concurrent = await Promise.all(calls.map(([img, q, mode]) => model.answer(img, q, { mode })));
    expect(concurrent.map(same)).toEqual(sequential);
  });

  it('keeps the buffer pool flat over 200 answers in a row', async () => {
    // Every path that takes or frees buffers: raw images (encoded, then released), an encoded image, each mode.
    const inUse = model.gpuBytes()!.inUseBytes;
    const encoded = await model.encodeImage(image(3_000_099));
    const plan: [(i: number) => RgbImage | typeof encoded, Mode][] = [
      [(i) => image(3_000_100 + (i % 7)), 'memvp'],
      [() => encoded, 'memvp'],
      [(i) => image(3_000_100 + (i % 7)), 'text-only'],
      [() => encoded, 'input-space'],
      [(i) => image(3_000_100 + (i % 7)), 'input-space'],
    ];
    let after = 0;
    for (let i = 0; i < 200; i++) {
      const [input, mode] = plan[i % plan.length]!;
      await model.answer(input(i), refs[i % refs.length]!.question, { mode, maxTokens: 2 });
      // After the first round of the plan, the pool has what it will ever need.
      if (i === plan.length - 1) after = model.gpuBytes()!.allocatedBytes;
    }
    encoded.dispose();
    await model.answer(image(3_000_100), refs[0]!.question, { mode: 'text-only', maxTokens: 1 });
    expect(model.gpuBytes()!.allocatedBytes).toBe(after);
    expect(model.gpuBytes()!.inUseBytes).toBe(inUse);
  });

  it('gives retrieval maps, and blocking every memory entry changes them', async () => {
    const r = refs.find((x) => x.memvp !== '') ?? refs[0]!;
    const { n, layers, grid } = { n: model.manifest.memvp.n, layers: model.manifest.lm.layers, grid: model.manifest.vision.patchGrid };
    const maps = await model.retrieval(image(r.seed), r.question);
    expect(maps).toMatchObject({ n, layers, grid });
    expect(maps.tokens.join(' ')).toBe(r.memvp);
    expect(maps.scores.length).toBe(maps.tokens.length);
    for (const perLayer of maps.scores) {
      expect(perLayer.length).toBe(layers);
      // SiLU(x) >= -0.2785 for every x.
      for (const s of perLayer) expect(s.length === n && s.every((v) => Number.isFinite(v) && v > -0.28)).toBe(true);
    }
    const blocked = await model.answer(image(r.seed), r.question, { retrieval: true, block: Array.from({ length: n }, (_, i) => i) });
    // Layer 0's input does not depend on the memory; every later layer's does.
    const changed =
      blocked.text !== r.memvp ||
      maps.scores[0]!.slice(1).some((s, l) => s.some((v, i) => Math.abs(v - blocked.retrieval!.scores[0]![l + 1]![i]!) > 1e-6));
    expect(changed).toBe(true);
    expect(blocked.retrieval!.scores[0]?.[0]).toEqual(maps.scores[0]![0]);
    await expect(model.answer(image(r.seed), r.question, { mode: 'input-space', retrieval: true })).rejects.toThrow(OptionError);
    await expect(model.answer(image(r.seed), r.question, { block: [n] })).rejects.toThrow(/block entry 96|block entry \d+ is not a memory entry/);
  });

  it('compiled every pipeline at load: none since, in any mode, with retrieval or a mask', () => {
    expect(pipelines.size).toBe(compiledAtLoad);
  });

  it('refuses bad inputs with typed errors that say what is wrong', async () => {
    const q = 'What shape is the red object?';
    const img = image(3_000_000);
    await expect(model.answer(new TextEncoder().encode('hello, not an image'), q)).rejects.toThrow(ImageDecodeError);
    await expect(model.answer(new TextEncoder().encode('hello, not an image'), q)).rejects.toThrow(/not a PNG or JPEG/);
    // A PNG whose header says 10000 x 10000, with no pixel data at all: refused from the header.
    const header = new Uint8Array(33);
    header.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    new DataView(header.buffer).setUint32(16, 10000);
    new DataView(header.buffer).setUint32(20, 10000);
    await expect(model.answer(header, q)).rejects.toThrow(ImageTooLargeError);
    await expect(model.answer(header, q)).rejects.toThrow('image is 10000 x 10000; the limit is 4096 x 4096');
    await expect(model.answer({ width: 64, height: 64, data: new Uint8Array(100) }, q)).rejects.toThrow(/neither RGBA .* nor RGB/);
    await expect(model.answer('/nonexistent/image.png', q)).rejects.toThrow(ImageDecodeError);
    await expect(model.answer(img, '   ')).rejects.toThrow(QuestionError);
    await expect(model.answer(img, '   ')).rejects.toThrow('the question is empty');
    await expect(model.answer(img, 'what '.repeat(1000))).rejects.toThrow(QuestionError);
    await expect(model.answer(img, 'what '.repeat(1000))).rejects.toThrow(/too long: its prompt is \d+ tokens.*but the model has 256/);
    await expect(model.answer(img, q, { maxTokens: 0 })).rejects.toThrow(OptionError);
    await expect(model.answer(img, q, { mode: 'nope' as Mode })).rejects.toThrow(/mode must be/);
    expect(new QuestionError('x')).toBeInstanceOf(MemVPError);
  });

  it('fails on a corrupted file (sha256), a missing directory and an HTTP 404', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'memvp-corrupt-'));
    const { server, url } = await serve(copy);
    try {
      cpSync(DIR, copy, { recursive: true });
      const file = model.manifest.modes.inputSpace.embed;
      const bytes = readFileSync(join(copy, file));
      bytes[bytes.length >> 1] ^= 0xff;
      writeFileSync(join(copy, file), bytes);
      const err = await MemVP.load(copy).catch((e) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect(err.message).toContain(`${file}: sha256 is`);
      expect(err.message).toContain(model.manifest.files[file]!.sha256);

      await expect(MemVP.load(join(copy, 'no-such-model'))).rejects.toThrow(ModelLoadError);
      await expect(MemVP.load(join(copy, 'no-such-model'))).rejects.toThrow(/no-such-model\/manifest\.json: no such file/);
      await expect(MemVP.load(`${url}no-such-model/`)).rejects.toThrow(`${url}no-such-model/manifest.json: HTTP 404 Not Found`);
      writeFileSync(join(copy, 'manifest.json'), '{"architecture": "llama"}');
      await expect(MemVP.load(`${url}manifest.json`)).rejects.toThrow(`${url}manifest.json: "lm" must be an object`);
    } finally {
      server.close();
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('loads over HTTP with byte progress into a Node cache, and the wasm backend answers like webgpu', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'memvp-cache-'));
    const { server, url } = await serve(DIR);
    const progress: LoadProgress[] = [];
    let wasm: MemVP | undefined;
    try {
      wasm = await MemVP.load(`${url}manifest.json`, { backend: 'wasm', cache, onProgress: (p) => progress.push(p) });
      expect(wasm.backend).toBe('wasm');
      expect(wasm.gpuBytes()).toBeUndefined();
      const m = wasm.manifest;
      const files = new Set([m.tokenizer, ...Object.values(m.modes.memvp), ...Object.values(m.modes.inputSpace)].filter((f) => f in m.files));
      const total = [...files].reduce((s, f) => s + m.files[f]!.bytes, 0);
      for (const stage of ['download', 'verify', 'upload', 'compile'] as const) {
        const ps = progress.filter((p) => p.stage === stage);
        expect(ps.length, stage).toBeGreaterThan(0);
        for (let i = 1; i < ps.length; i++) expect(ps[i]!.loaded, stage).toBeGreaterThanOrEqual(ps[i - 1]!.loaded);
        expect(ps.at(-1)!.loaded, stage).toBe(ps.at(-1)!.total);
        if (stage !== 'compile') expect(ps.at(-1)!.total, stage).toBe(stage === 'upload' ? total - m.files[m.tokenizer]!.bytes : total);
      }
      expect(readdirSync(cache).length).toBe(files.size);

      for (const r of refs.slice(0, 4)) {
        for (const mode of ['memvp', 'input-space', 'text-only'] as Mode[]) {
          const a = await wasm.answer(image(r.seed), r.question, { mode });
          expect(a.backend).toBe('wasm');
          expect(same(a), `${mode}: ${r.question}`).toEqual(same(await model.answer(image(r.seed), r.question, { mode })));
        }
      }
      await expect(wasm.retrieval(image(refs[0]!.seed), refs[0]!.question)).rejects.toThrow(BackendError);
    } finally {
      wasm?.dispose();
      server.close();
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
