/**
 * `memvp quantize IN_DIR OUT_DIR` (src/quant/package.ts): a 4-bit copy of the shipped model package (itself copied to a
 * temp dir first): the manifest matches the files and validates, every graph is quantized and smaller, MemVP.load
 * (what `memvp answer/eval --model` call) runs the copy on the real (SwiftShader) adapter, the benchmark's reuse of
 * cached files, the command's report, and the typed errors of bad packages and destinations.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { parseManifest } from '../src/memvp/manifest.js';
import { MemVP } from '../src/memvp/model.js';
import { getAttribute, parseModel } from '../src/onnx/index.js';
import { quantizeFile, quantizePackage, type QuantizedPackage } from '../src/quant/package.js';
import { generateScene, questionsFor, renderScene } from '../src/tasks/sortofclevr/index.js';
import { captureConsole } from './helpers/console.js';

const SRC = join(__dirname, '..', 'public', 'models', 'sortofclevr-llama');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const work = mkdtempSync(join(tmpdir(), 'memvp-quantize-package-'));
const input = join(work, 'in');
const output = join(work, 'q4');
let pkg: QuantizedPackage;

beforeAll(async () => {
  if (!existsSync(join(SRC, 'manifest.json'))) throw new Error(`${SRC} has no model package: run npm run train`);
  cpSync(SRC, input, { recursive: true });
  pkg = await quantizePackage(input, output, { bits: 4 });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('quantizePackage', () => {
  it('rewrites the manifest: sha256 and bytes of every file, totalBytes, ops, dtype and quantized; it validates', () => {
    const text = readFileSync(join(output, 'manifest.json'), 'utf8');
    const m = parseManifest(text, 'q4/manifest.json');
    const source = parseManifest(readFileSync(join(input, 'manifest.json'), 'utf8'), 'in/manifest.json');
    expect(m).toEqual(pkg.manifest);
    expect(Object.keys(m.files)).toEqual(Object.keys(source.files));
    for (const [name, f] of Object.entries(m.files)) {
      const bytes = readFileSync(join(output, name));
      expect({ name, sha256: sha256(bytes), bytes: bytes.length }).toEqual({ name, ...f });
    }
    expect(m.totalBytes).toBe(Object.values(m.files).reduce((s, f) => s + f.bytes, 0));
    expect([pkg.totalBefore, pkg.totalAfter]).toEqual([source.totalBytes, m.totalBytes]);
    expect(m.dtype).toBe('q4');
    expect(m.name).toBe(`${source.name}-q4`);
    expect(m.quantized).toEqual({ bits: 4, blockSize: 32, symmetric: false, skipEmbeddings: false, source: source.name });
    // Everything else is the source's.
    const { files, totalBytes, graphs, name, dtype, quantized, ...rest } = m;
    const { files: f0, totalBytes: t0, graphs: g0, name: n0, dtype: d0, ...rest0 } = source;
    expect(rest).toEqual(rest0);
    expect(Object.keys(graphs)).toEqual(Object.keys(g0));
  });

  it('quantizes every .onnx file (smaller, no f32 weight left) and copies the other files as they are', () => {
    const onnx = readdirSync(input).filter((f) => f.endsWith('.onnx'));
    expect(Object.keys(pkg.files).sort()).toEqual(onnx.sort());
    for (const name of onnx) {
      const bytes = readFileSync(join(output, name));
      expect(bytes.length, name).toBeLessThan(readFileSync(join(input, name)).length);
      const model = parseModel(bytes);
      const ops = model.graph.nodes.map((n) => n.opType);
      const weights = new Set(model.graph.initializers.map((t) => t.name));
      expect(ops.filter((op) => op === 'MatMulNBits' || op === 'GatherBlockQuantized').length, name).toBeGreaterThan(0);
      expect(model.graph.nodes.filter((n) => n.opType === 'MatMul' && weights.has(n.inputs[1]!)).map((n) => n.name), name).toEqual([]);
      expect(pkg.manifest.graphs[name]!.ops, name).toEqual([...new Set(ops)].sort());
    }
    expect(parseModel(readFileSync(join(output, 'decoder.onnx'))).graph.nodes.some((n) => n.opType === 'MatMulNBits')).toBe(true);
    expect(pkg.copied.sort()).toEqual(readdirSync(input).filter((f) => !f.endsWith('.onnx') && f !== 'manifest.json').sort());
    for (const name of pkg.copied) expect(readFileSync(join(output, name)).equals(readFileSync(join(input, name))), name).toBe(true);
  });

  it('MemVP.load runs the 4-bit copy on WebGPU and answers with answer words (memvp and input-space)', async () => {
    const model = await MemVP.load(output);
    try {
      expect([model.backend, model.manifest.dtype]).toEqual(['webgpu', 'q4']);
      const scene = generateScene(3_000_001);
      const img = renderScene(scene);
      for (const q of questionsFor(scene).slice(0, 3)) {
        for (const mode of ['memvp', 'input-space'] as const) {
          const a = await model.answer(img, q.text, { mode, maxTokens: 1 });
          expect(model.manifest.answers, `${mode}: ${q.text} -> "${a.text}"`).toContain(a.text);
        }
      }
    } finally {
      model.dispose();
    }
  });

  it('reuse keeps a cached file while its source and settings are unchanged; without it no sidecar is written', async () => {
    const src = join(input, 'vision.onnx');
    const dst = join(work, 'vision.q8.onnx');
    const first = await quantizeFile(src, dst, { bits: 8, reuse: true });
    const again = await quantizeFile(src, dst, { bits: 8, reuse: true });
    expect([first.reused, again.reused]).toEqual([false, true]);
    expect({ ...again, reused: false, seconds: 0 }).toEqual({ ...first, seconds: 0 });
    expect((await quantizeFile(src, dst, { bits: 8, blockSize: 64, reuse: true })).reused).toBe(false);
    expect(readdirSync(output).filter((f) => f.endsWith('.quant.json'))).toEqual([]);
  });
});

describe('memvp quantize IN_DIR OUT_DIR', () => {
  const { log, error, printed } = captureConsole();

  it('writes the package and prints each file\'s sizes and counts, then the package total', async () => {
    const out = join(work, 'cli-q8');
    expect(await main(['quantize', input, out, '--bits', '8', '--block', '64', '--symmetric'])).toBe(0);
    const m = parseManifest(readFileSync(join(out, 'manifest.json'), 'utf8'), out);
    const source = pkg.manifest.quantized!.source;
    expect([m.dtype, m.quantized]).toEqual(['q8', { bits: 8, blockSize: 64, symmetric: true, skipEmbeddings: false, source }]);
    const text = printed(log);
    expect(text).toContain('8-bit, block 64, symmetric (no zero points)');
    const [before, after] = [join(input, 'decoder.onnx'), join(out, 'decoder.onnx')].map((f) => readFileSync(f).length);
    expect(text).toMatch(new RegExp(`^decoder\\.onnx: .*\\(${before} B\\) -> .*\\(${after} B\\) = \\d+\\.\\d%; quantized \\d+ weight\\(s\\), 1 embedding table\\(s\\)`, 'm'));
    expect(text).toMatch(/^embed\.onnx: .*quantized 0 weight\(s\), 1 embedding table\(s\)/m);
    expect(text).toMatch(new RegExp(`^package: .*\\(${pkg.totalBefore} B\\) -> .*\\(${m.totalBytes} B\\) = \\d+\\.\\d%$`, 'm'));
    expect(text).toContain(`wrote ${out} (${source}-q8, dtype q8)`);
    // An existing package is overwritten.
    expect(await main(['quantize', input, out, '--bits', '4'])).toBe(0);
    expect(parseManifest(readFileSync(join(out, 'manifest.json'), 'utf8'), out).dtype).toBe('q4');
  });

  it('--vision-bits quantizes the vision encoder\'s graphs with other bits than the language model\'s', async () => {
    const out = join(work, 'cli-q4-v8');
    expect(await main(['quantize', input, out, '--bits', '4', '--vision-bits', '8'])).toBe(0);
    const m = parseManifest(readFileSync(join(out, 'manifest.json'), 'utf8'), out);
    expect([m.dtype, m.quantized]).toEqual(['q4', { bits: 4, blockSize: 32, symmetric: false, skipEmbeddings: false, visionBits: 8, source: pkg.manifest.quantized!.source }]);
    const bitsOf = (file: string) => {
      const nodes = parseModel(readFileSync(join(out, file))).graph.nodes.filter((n) => n.opType === 'MatMulNBits');
      return [...new Set(nodes.map((n) => getAttribute(n, 'bits', 'int')))].map(Number);
    };
    const vision = new Set([m.modes.memvp.vision, m.modes.inputSpace.vision]);
    expect(vision.size).toBeGreaterThan(0);
    for (const file of Object.keys(m.graphs).filter((f) => f.endsWith('.onnx'))) {
      if (bitsOf(file).length) expect(bitsOf(file), file).toEqual([vision.has(file) ? 8 : 4]);
    }
    expect(bitsOf(m.modes.memvp.decoder)).toEqual([4]);
    error.mockClear();
    expect(await main(['quantize', input, join(work, 'out-v5'), '--bits', '4', '--vision-bits', '5'])).toBe(2);
    expect(printed(error)).toMatch(/UsageError: --vision-bits must be one of 4, 8, got "5"/);
    error.mockClear();
    expect(await main(['quantize', join(input, 'decoder.onnx'), join(work, 'd.onnx'), '--bits', '4', '--vision-bits', '8'])).toBe(2);
    expect(printed(error)).toMatch(/--vision-bits is for model packages/);
    expect(existsSync(join(work, 'out-v5')) || existsSync(join(work, 'd.onnx'))).toBe(false);
  });

  it('bad packages and destinations fail with a typed error naming the path, before writing anything', async () => {
    const noManifest = join(work, 'no-manifest');
    mkdirSync(noManifest);
    writeFileSync(join(noManifest, 'model.onnx'), '');
    const listedMissing = join(work, 'listed-missing');
    mkdirSync(listedMissing);
    cpSync(join(input, 'manifest.json'), join(listedMissing, 'manifest.json'));
    const notPackage = join(work, 'not-a-package');
    mkdirSync(notPackage);
    writeFileSync(join(notPackage, 'notes.txt'), 'mine\n');
    const cases: [string, string, RegExp][] = [
      [noManifest, join(work, 'out-1'), new RegExp(`^memvp quantize: QuantizeError: ${noManifest}: has no manifest.json`)],
      [input, join(input, 'q4'), new RegExp(`^memvp quantize: QuantizeError: ${join(input, 'q4')}: is inside the source package ${input}$`)],
      [input, input, new RegExp(`^memvp quantize: QuantizeError: ${input}: is inside the source package`)],
      [input, notPackage, new RegExp(`^memvp quantize: QuantizeError: ${notPackage}: is a non-empty directory without manifest.json`)],
      [listedMissing, join(work, 'out-2'), new RegExp(`^memvp quantize: QuantizeError: ${join(listedMissing, Object.keys(pkg.manifest.files)[0]!)}: is listed in manifest.json but missing$`)],
      [output, join(work, 'out-3'), new RegExp(`^memvp quantize: QuantizeError: ${join(output, 'manifest.json')}: is already a q4 copy of ${pkg.manifest.quantized!.source}$`)],
    ];
    for (const [from, to, message] of cases) {
      error.mockClear();
      expect(await main(['quantize', from, to, '--bits', '4']), `${from} -> ${to}`).toBe(1);
      expect(printed(error)).toMatch(message);
    }
    for (const dir of ['out-1', 'out-2', 'out-3', join('in', 'q4')]) expect(existsSync(join(work, dir)), dir).toBe(false);
    expect(readdirSync(notPackage)).toEqual(['notes.txt']);
  });
});
