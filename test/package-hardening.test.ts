/**
 * Package, external data and byte-fetching hardening: names confined to the package (one rule for manifest files
 * and external data), reads capped at the manifest's size whatever Content-Length or Content-Encoding say, no
 * fetched body echoed in a message, manifest sizes bounded, and a cache that is atomic, evicts least recently
 * used entries under its cap and, when it fails, degrades to no cache with a warning. Files are written to fresh
 * temporary directories; HTTP cases run against a node:http server on 127.0.0.1 (random port).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import * as realFs from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataType, encodeModel, parseModel, makeGraph, makeModel, makeNode, makeValueInfo, OnnxFormatError, OnnxLoadError, readTensorArray, type OnnxTensor } from '../src/onnx/index.js';
import { nodeFileReader, relativeSegments, resolveInside, UnsafePathError, urlReader } from '../src/onnx/external.js';
import { fetchBytes, FetchBytesError } from '../src/onnx/fetch-bytes.js';
import { MANIFEST_LIMITS, parseManifest } from '../src/memvp/manifest.js';
import { browserCache, fetchFiles, loadManifest, nodeCache, sha256Hex, type CacheFs } from '../src/memvp/package.js';
import { BackendError, ModelLoadError, OptionError } from '../src/memvp/errors.js';
import { MemVP } from '../src/memvp/model.js';

const DIR = join(__dirname, '..', 'public', 'models', 'sortofclevr-llama');
const SECRET = 'TOP-SECRET-CONTENTS-42';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'memvp-harden-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A fresh directory under this test's temporary directory. */
let dirs = 0;
const fresh = (name: string) => {
  const d = join(work, `${name}-${dirs++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
async function serve(handler: Handler): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** A package of `files` (name -> bytes) whose manifest lists them; the real manifest with its file names replaced. */
async function makePackage(dir: string, files: Record<string, Uint8Array>, names: { tokenizer: string; graph: string }): Promise<string> {
  const m = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8'));
  m.tokenizer = names.tokenizer;
  for (const mode of [m.modes.memvp, m.modes.inputSpace]) for (const k of Object.keys(mode)) if (k !== 'usage') mode[k] = names.graph;
  m.graphs = { [names.graph]: m.graphs['decoder.onnx'] };
  m.files = {};
  for (const [name, bytes] of Object.entries(files)) m.files[name] = { sha256: await sha256Hex(bytes), bytes: bytes.length };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  return join(dir, 'manifest.json');
}

describe('package-relative names', () => {
  it('decodes and normalises names inside the package', () => {
    expect(relativeSegments('decoder.onnx')).toEqual(['decoder.onnx']);
    expect(relativeSegments('./weights//a%20b.bin')).toEqual(['weights', 'a b.bin']);
    expect(relativeSegments('sub/./x.onnx')).toEqual(['sub', 'x.onnx']);
  });

  it.each([
    ['../x', /"\.\." leaves/],
    ['a/../../x', /"\.\." leaves/],
    ['a/../x', /"\.\." leaves/],
    ['%2e%2e/x', /"\.\." leaves/],
    ['%2E%2E%2Fsecret', /"\.\." leaves/],
    ['/etc/passwd', /absolute path/],
    ['%2fetc%2fpasswd', /absolute path/],
    ['file:///etc/passwd', /URL or drive letter/],
    ['http://example.com/x', /URL or drive letter/],
    ['C:/x', /URL or drive letter/],
    ['a\\..\\x', /backslashes/],
    ['a%5c..%5cx', /backslashes/],
    ['x\0.onnx', /NUL/],
    ['x%00.onnx', /NUL/],
    ['%zz', /malformed percent-encoding/],
    ['', /empty/],
    ['./', /directory itself/],
  ])('refuses %j', (name, reason) => {
    expect(() => relativeSegments(name)).toThrow(UnsafePathError);
    expect(() => relativeSegments(name)).toThrow(reason);
  });

  it('refuses a link inside the directory that points outside it, and allows links within', async () => {
    const dir = fresh('links');
    const outside = fresh('outside');
    writeFileSync(join(outside, 'secret.txt'), SECRET);
    writeFileSync(join(dir, 'real.bin'), 'x');
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'out.bin'));
    symlinkSync(outside, join(dir, 'sub'));
    symlinkSync(join(dir, 'real.bin'), join(dir, 'in.bin'));
    await expect(resolveInside(dir, 'out.bin')).rejects.toThrow(/link to a file outside/);
    await expect(resolveInside(dir, 'sub/secret.txt')).rejects.toThrow(/link to a file outside/);
    expect(await resolveInside(dir, 'in.bin')).toBe(join(dir, 'in.bin'));
    expect(await resolveInside(dir, 'missing.bin')).toBe(join(dir, 'missing.bin'));
    expect((await resolveInside(new URL('http://h/pkg/'), 'a%20b/c.onnx')).href).toBe('http://h/pkg/a%20b/c.onnx');
  });

  it('refuses manifest file names outside the package without echoing the file', async () => {
    const dir = fresh('names');
    writeFileSync(join(work, 'secret.txt'), SECRET);
    const tok = readFileSync(join(DIR, 'tokenizer.json'));
    const graph = new Uint8Array([1, 2, 3]);
    for (const bad of ['../secret.txt', join(work, 'secret.txt'), `file://${join(work, 'secret.txt')}`, '%2e%2e/secret.txt', '..\\secret.txt']) {
      const manifest = await makePackage(dir, { [bad]: tok, 'g.onnx': graph }, { tokenizer: bad, graph: 'g.onnx' });
      const err = await loadManifest(manifest).catch((e) => e);
      expect(err, bad).toBeInstanceOf(ModelLoadError);
      expect(err.message, bad).toMatch(/manifest\.json: the file name .* is not a relative path inside its directory/);
      expect(err.message).not.toContain(SECRET);
    }
    const { server, url } = await serve((req, res) => {
      const p = new URL(req.url!, 'http://x').pathname;
      if (p === '/pkg/manifest.json') res.end(readFileSync(join(dir, 'manifest.json')));
      else res.end(SECRET);
    });
    try {
      await makePackage(dir, { '../secret.txt': tok, 'g.onnx': graph }, { tokenizer: '../secret.txt', graph: 'g.onnx' });
      const err = await loadManifest(`${url}pkg/manifest.json`).catch((e) => e);
      expect(err).toBeInstanceOf(ModelLoadError);
      expect(err.message).toBe(`${url}pkg/manifest.json: the file name "../secret.txt" is not a relative path inside its directory: ".." leaves the directory`);
    } finally {
      await close(server);
    }
  });

  it('reads a file of the package that sits in a subdirectory', async () => {
    const dir = fresh('subdir');
    mkdirSync(join(dir, 'graphs'));
    const tok = readFileSync(join(DIR, 'tokenizer.json'));
    const graph = new Uint8Array([7, 7, 7]);
    writeFileSync(join(dir, 'tokenizer.json'), tok);
    writeFileSync(join(dir, 'graphs', 'g.onnx'), graph);
    const pkg = await loadManifest(await makePackage(dir, { 'tokenizer.json': tok, 'graphs/./g.onnx': graph }, { tokenizer: 'tokenizer.json', graph: 'graphs/./g.onnx' }));
    const files = await fetchFiles(pkg, ['tokenizer.json', 'graphs/./g.onnx']);
    expect([...files.get('graphs/./g.onnx')!]).toEqual([7, 7, 7]);
    // A package file that is a link to a file outside the package is refused, and not read.
    const outside = fresh('subdir-out');
    writeFileSync(join(outside, 'secret.txt'), SECRET);
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'link.onnx'));
    const linked = await loadManifest(await makePackage(dir, { 'tokenizer.json': tok, 'link.onnx': graph }, { tokenizer: 'tokenizer.json', graph: 'link.onnx' }));
    const err = await fetchFiles(linked, ['link.onnx']).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toBe(`${dir}/: the file name "link.onnx" is not a relative path inside its directory: a link to a file outside the directory`);
  });

  it('external data: escaping locations are OnnxFormatError, a directory is OnnxLoadError, over HTTP too', async () => {
    const dir = fresh('external');
    const outside = fresh('external-out');
    writeFileSync(join(outside, 'w.bin'), new Uint8Array(64));
    symlinkSync(join(outside, 'w.bin'), join(dir, 'link.bin'));
    mkdirSync(join(dir, 'folder.bin'));
    const read = nodeFileReader(dir);
    for (const location of ['../external-out/w.bin', '%2e%2e/w.bin', '/etc/passwd', 'file:///etc/passwd', 'a\\b', 'link.bin']) {
      await expect(read(location, 0, 4), location).rejects.toThrow(OnnxFormatError);
    }
    await expect(read('folder.bin', 0, 4)).rejects.toThrow(OnnxLoadError);
    await expect(read('folder.bin', 0, 4)).rejects.toThrow(/not a regular file/);
    const fetched = urlReader('http://127.0.0.1:9/pkg/');
    await expect(fetched('%2e%2e/%2e%2e/etc/passwd', 0, 4)).rejects.toThrow(OnnxFormatError);
  });

  it('a package whose graph keeps its weights in external data is a typed error on both backends', async () => {
    const copy = fresh('external-pkg');
    cpSync(DIR, copy, { recursive: true });
    const m = parseModel(readFileSync(join(copy, 'embed.onnx')));
    const t = m.graph.initializers[0]!;
    writeFileSync(join(copy, 'embed.bin'), t.rawData!);
    m.graph.initializers[0] = { ...t, rawData: undefined, external: { location: 'embed.bin', offset: 0, length: t.rawData!.length } };
    const bytes = encodeModel(m);
    writeFileSync(join(copy, 'embed.onnx'), bytes);
    const manifest = JSON.parse(readFileSync(join(copy, 'manifest.json'), 'utf8'));
    manifest.files['embed.onnx'] = { sha256: await sha256Hex(bytes), bytes: bytes.length };
    writeFileSync(join(copy, 'manifest.json'), JSON.stringify(manifest));
    const gpu = await MemVP.load(copy, { backend: 'webgpu' }).catch((e) => e);
    expect(gpu).toBeInstanceOf(OnnxLoadError);
    expect(gpu.message).toContain('embed.bin: tensor "lm.tok_embeddings.weight" is stored in this external file but no external data reader was given');
    const wasm = await MemVP.load(copy, { backend: 'wasm' }).catch((e) => e);
    expect(wasm).toBeInstanceOf(BackendError);
    expect(wasm.message).toMatch(/could not create a session: .*embed\.bin/);
  });

  it('external data in a model given as bytes, without a reader, is a typed error', async () => {
    const w: OnnxTensor = { name: 'w', dataType: DataType.FLOAT, dims: [2], external: { location: 'w.bin', offset: 0 } };
    const model = makeModel(makeGraph({ nodes: [makeNode('Identity', ['w'], ['y'])], inputs: [], outputs: [makeValueInfo('y', DataType.FLOAT, [2])], initializers: [w] }));
    expect(encodeModel(model).length).toBeGreaterThan(0);
    await expect(readTensorArray(w)).rejects.toThrow(OnnxLoadError);
    await expect(readTensorArray(w)).rejects.toThrow(/w\.bin.*no external data reader/);
  });
});

describe('reading bytes with a cap', () => {
  let server: Server;
  let url: string;
  const body = new Uint8Array(5000).map((_, i) => i & 255);
  beforeAll(async () => {
    ({ server, url } = await serve((req, res) => {
      const p = new URL(req.url!, 'http://x').pathname;
      if (p === '/huge-length') {
        // Claims a terabyte and sends a little; the client must give up on the claim alone.
        res.writeHead(200, { 'content-length': String(1e12) });
        res.write(body);
      } else if (p === '/chunked') {
        res.writeHead(200);
        for (let i = 0; i < 40; i++) res.write(body);
        res.end();
      } else if (p === '/deflate-bomb' || p === '/gzip-bomb') {
        // 256 MiB of zeros in about 256 kB: must stop inflating at the cap.
        const zeros = new Uint8Array(256 << 20);
        const packed = p === '/gzip-bomb' ? gzipSync(zeros) : deflateSync(zeros);
        res.writeHead(200, { 'content-encoding': p === '/gzip-bomb' ? 'gzip' : 'deflate', 'content-length': packed.length });
        res.end(packed);
      } else if (p === '/deflated') {
        const packed = deflateSync(body);
        res.writeHead(200, { 'content-encoding': 'deflate', 'content-length': packed.length });
        res.end(packed);
      } else if (p === '/error') {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(SECRET);
      } else if (p === '/ok') {
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      } else if (p === '/pkg/manifest.json') {
        res.end(`${SECRET}\nnot json at all`);
      } else res.writeHead(404).end(SECRET);
    }));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await close(server);
  });

  it('does not size anything from a 1e12 Content-Length: a typed error, no RangeError', async () => {
    const err = await fetchBytes(`${url}huge-length`, { maxBytes: 10_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(FetchBytesError);
    expect(err.message).toContain('more than the 10000 bytes expected');
    // Without a cap of its own, the default cap refuses the claim just the same.
    await expect(fetchBytes(`${url}huge-length`)).rejects.toThrow(FetchBytesError);
  });

  it('stops a body without a length once it passes the cap, and reports a short one', async () => {
    await expect(fetchBytes(`${url}chunked`, { maxBytes: 100_000 })).rejects.toThrow('more than the 100000 bytes expected');
    expect((await fetchBytes(`${url}chunked`, { maxBytes: 200_000 })).length).toBe(200_000);
    expect([...(await fetchBytes(`${url}ok`, { maxBytes: body.length }))]).toEqual([...body]);
  });

  it('caps Content-Encoding deflate and gzip while inflating, and inflates honest encoded bodies', async () => {
    for (const bomb of ['deflate-bomb', 'gzip-bomb']) {
      const progress: number[] = [];
      const err = await fetchBytes(`${url}${bomb}`, { maxBytes: 1 << 20, onProgress: (n) => progress.push(n) }).catch((e) => e);
      expect(err, bomb).toBeInstanceOf(FetchBytesError);
      expect(err.message).toContain(`more than the ${1 << 20} bytes expected`);
      expect(Math.max(...progress)).toBeLessThanOrEqual(1 << 20);
    }
    expect([...(await fetchBytes(`${url}deflated`, { maxBytes: body.length }))]).toEqual([...body]);
  });

  it('never echoes a body in a message (HTTP errors, a manifest that is not JSON)', async () => {
    const err = await fetchBytes(`${url}error`).catch((e) => e);
    expect(err.message).toBe(`${url}error: HTTP 500 Internal Server Error`);
    const bad = await loadManifest(`${url}pkg/manifest.json`).catch((e) => e);
    expect(bad).toBeInstanceOf(ModelLoadError);
    expect(bad.message).toMatch(/manifest\.json is not valid JSON/);
    expect(bad.message).not.toContain('SECRET');
  });

  it('caps a package file at its manifest size, over HTTP and on disk', async () => {
    const dir = fresh('capped');
    const tok = readFileSync(join(DIR, 'tokenizer.json'));
    const graph = new Uint8Array(1000).fill(3);
    writeFileSync(join(dir, 'tokenizer.json'), tok);
    writeFileSync(join(dir, 'g.onnx'), new Uint8Array(50_000));
    const manifest = await makePackage(dir, { 'tokenizer.json': tok, 'g.onnx': graph }, { tokenizer: 'tokenizer.json', graph: 'g.onnx' });
    const disk = await fetchFiles(await loadManifest(manifest), ['g.onnx']).catch((e) => e);
    expect(disk).toBeInstanceOf(ModelLoadError);
    expect(disk.message).toContain('g.onnx: more than the 1000 bytes expected');
    writeFileSync(join(dir, 'g.onnx'), new Uint8Array(10));
    await expect(fetchFiles(await loadManifest(manifest), ['g.onnx'])).rejects.toThrow('g.onnx: 10 bytes but the manifest says 1000');
    const { server: s2, url: u2 } = await serve((req, res) => {
      const p = new URL(req.url!, 'http://x').pathname;
      if (p === '/manifest.json') res.end(readFileSync(manifest));
      else {
        const packed = deflateSync(new Uint8Array(64 << 20));
        res.writeHead(200, { 'content-encoding': 'deflate' });
        res.end(packed);
      }
    });
    try {
      const err = await fetchFiles(await loadManifest(`${u2}manifest.json`), ['g.onnx']).catch((e) => e);
      expect(err).toBeInstanceOf(ModelLoadError);
      expect(err.message).toContain(`${u2}g.onnx: more than the 1000 bytes expected`);
    } finally {
      await close(s2);
    }
  });

  it('a directory where a file is expected is a typed error, for the manifest and a package file', async () => {
    const dir = fresh('dirs');
    mkdirSync(join(dir, 'manifest.json'));
    const err = await loadManifest(join(dir, 'manifest.json')).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toBe(`${join(dir, 'manifest.json')}: is a directory, not a file`);
    const pkgDir = fresh('dirs-pkg');
    const tok = readFileSync(join(DIR, 'tokenizer.json'));
    const manifest = await makePackage(pkgDir, { 'tokenizer.json': tok, 'g.onnx': new Uint8Array(4) }, { tokenizer: 'tokenizer.json', graph: 'g.onnx' });
    mkdirSync(join(pkgDir, 'g.onnx'));
    await expect(fetchFiles(await loadManifest(manifest), ['g.onnx'])).rejects.toThrow(`${join(pkgDir, 'g.onnx')}: is a directory, not a file`);
  });
});

describe('manifest bounds', () => {
  const real = () => JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8'));

  it('accepts the shipped manifests', () => {
    expect(parseManifest(readFileSync(join(DIR, 'manifest.json'), 'utf8'), 'm').lm.layers).toBeGreaterThan(0);
    const q4 = join(DIR, '..', 'sortofclevr-llama-q4', 'manifest.json');
    if (existsSync(q4)) expect(parseManifest(readFileSync(q4, 'utf8'), 'q4').quantized).toBeDefined();
  });

  it.each(Object.keys(MANIFEST_LIMITS))('refuses an absurd %s with the key and the value', (key) => {
    const [group, field] = key.split('.') as [string, string];
    const max = MANIFEST_LIMITS[key as keyof typeof MANIFEST_LIMITS][1];
    for (const value of [max + 1, 1e12]) {
      const m = real();
      m[group][field] = value;
      expect(() => parseManifest(JSON.stringify(m), 'pkg/manifest.json')).toThrow(`pkg/manifest.json: "${key}" is ${value}; it must be in [`);
    }
    const m = real();
    m[group][field] = 'many';
    expect(() => parseManifest(JSON.stringify(m), 'm')).toThrow(`"${key}" must be a non-negative integer, got "many"`);
  });

  it('refuses file sizes, token ids and grids out of range', () => {
    const m = real();
    m.files['decoder.onnx'].bytes = 1e15;
    expect(() => parseManifest(JSON.stringify(m), 'm')).toThrow('"files["decoder.onnx"].bytes" is 1000000000000000; it must be in [0, 2147483648]');
    const ids = real();
    ids.eosId = ids.lm.vocab;
    expect(() => parseManifest(JSON.stringify(ids), 'm')).toThrow(`"eosId" is ${ids.lm.vocab}; it must be in [0, ${ids.lm.vocab - 1}]`);
    const grid = real();
    grid.vision.patchGrid = [1e6, 1e6];
    expect(() => parseManifest(JSON.stringify(grid), 'm')).toThrow('"vision.patchGrid" must be [rows, cols] with rows*cols <= memvp.n, got [1000000,1000000]');
  });
});

/** node:fs/promises with chosen calls failing as a full disk, a failed rename, and so on. */
function failingFs(fail: Partial<Record<keyof CacheFs, string>>): CacheFs {
  const wrap = <K extends keyof CacheFs>(name: K): CacheFs[K] =>
    (async (...args: unknown[]) => {
      if (fail[name]) {
        // A partial write leaves a file behind, as a real full disk does.
        if (name === 'writeFile') await realFs.writeFile(args[0] as string, 'partial');
        throw Object.assign(new Error(`${fail[name]}: simulated ${name} failure`), { code: fail[name] });
      }
      return (realFs[name] as (...a: unknown[]) => unknown)(...args);
    }) as CacheFs[K];
  return {
    mkdir: wrap('mkdir'),
    readFile: wrap('readFile'),
    writeFile: wrap('writeFile'),
    rename: wrap('rename'),
    rm: wrap('rm'),
    readdir: wrap('readdir'),
    stat: wrap('stat'),
    utimes: wrap('utimes'),
  };
}

describe('the Node cache', () => {
  let pkgDir: string;
  let names: string[];
  const loadWith = async (cache: string, extra: Parameters<typeof fetchFiles>[2] = {}) => {
    const warnings: string[] = [];
    const files = await fetchFiles(await loadManifest(join(pkgDir, 'manifest.json')), names, { cache, onWarning: (m) => warnings.push(m), ...extra });
    return { files, warnings };
  };
  beforeAll(async () => {
    pkgDir = fresh('cache-pkg');
    const tok = readFileSync(join(DIR, 'tokenizer.json'));
    const files: Record<string, Uint8Array> = { 'tokenizer.json': tok };
    for (let i = 0; i < 3; i++) files[`g${i}.onnx`] = new Uint8Array(1000 + i).fill(i + 1);
    for (const [n, b] of Object.entries(files)) writeFileSync(join(pkgDir, n), b);
    await makePackage(pkgDir, files, { tokenizer: 'tokenizer.json', graph: 'g0.onnx' });
    names = Object.keys(files);
  });

  it('caches files atomically and serves them from the cache', async () => {
    const cache = join(fresh('cache'), 'c');
    const first = await loadWith(cache);
    expect(first.warnings).toEqual([]);
    expect(readdirSync(cache).sort()).toHaveLength(names.length);
    expect(readdirSync(cache).some((f) => f.endsWith('.tmp'))).toBe(false);
    rmSync(join(pkgDir, 'g1.onnx'));
    try {
      const second = await loadWith(cache);
      expect([...second.files.get('g1.onnx')!]).toEqual([...first.files.get('g1.onnx')!]);
    } finally {
      writeFileSync(join(pkgDir, 'g1.onnx'), first.files.get('g1.onnx')!);
    }
  });

  it('evicts the least recently used entries to stay under its cap', async () => {
    const cache = join(fresh('cache-lru'), 'c');
    const total = names.reduce((s, n) => s + statSync(join(pkgDir, n)).size, 0);
    await loadWith(cache);
    // Make g0 the oldest entry, then use g0 again: g1 becomes the least recently used.
    const entries = readdirSync(cache);
    const past = new Date(Date.now() - 3600_000);
    for (const [i, e] of entries.entries()) utimesSync(join(cache, e), new Date(past.getTime() + i * 1000), new Date(past.getTime() + i * 1000));
    const g1 = entries.find((e) => e.endsWith('-g1.onnx'))!;
    utimesSync(join(cache, g1), new Date(0), new Date(0));
    await fetchFiles(await loadManifest(join(pkgDir, 'manifest.json')), ['g0.onnx'], { cache });
    const fresher = join(pkgDir, 'g3.onnx');
    // A new file that does not fit under the cap together with everything: g1 goes.
    const extra = new Uint8Array(1500).fill(9);
    writeFileSync(fresher, extra);
    const m = JSON.parse(readFileSync(join(pkgDir, 'manifest.json'), 'utf8'));
    m.files['g3.onnx'] = { sha256: await sha256Hex(extra), bytes: extra.length };
    writeFileSync(join(pkgDir, 'manifest-extra.json'), JSON.stringify(m));
    await fetchFiles(await loadManifest(join(pkgDir, 'manifest-extra.json')), ['g3.onnx'], { cache, cacheMaxBytes: total + 1000 });
    const left = readdirSync(cache);
    expect(left.some((e) => e.endsWith('-g1.onnx'))).toBe(false);
    expect(left.some((e) => e.endsWith('-g3.onnx'))).toBe(true);
    expect(left.some((e) => e.endsWith('-g0.onnx'))).toBe(true);
    expect(left.reduce((s, e) => s + statSync(join(cache, e)).size, 0)).toBeLessThanOrEqual(total + 1000);
  });

  it.each([
    ['a full disk (ENOSPC)', { writeFile: 'ENOSPC' }],
    ['a failed rename', { rename: 'EXDEV' }],
    ['an unwritable directory', { writeFile: 'EACCES' }],
    ['an unreadable entry', { readFile: 'EIO' }],
  ] as const)('degrades to no cache with a warning on %s, leaving no .tmp file', async (_, fail) => {
    const cache = join(fresh('cache-fail'), 'c');
    const { files, warnings } = await loadWith(cache, { cacheFs: failingFs(fail) });
    expect(files.size).toBe(names.length);
    for (const n of names) expect(files.get(n)!.length).toBe(statSync(join(pkgDir, n)).size);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`cache directory .* failed \\(${Object.values(fail)[0]}: simulated .*\\); loading without it`));
    expect(readdirSync(cache).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('degrades to no cache when the cache path is a file', async () => {
    const file = join(fresh('cache-file'), 'c');
    writeFileSync(file, 'not a directory');
    const { files, warnings } = await loadWith(file);
    expect(files.size).toBe(names.length);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`cache directory ${file} failed`);
    expect(readFileSync(file, 'utf8')).toBe('not a directory');
  });

  it('refuses a cache size limit that is not a byte count', async () => {
    for (const bad of [-1, 1.5, Number.NaN, Infinity]) {
      await expect(loadWith(join(fresh('cache-opt'), 'c'), { cacheMaxBytes: bad })).rejects.toThrow(OptionError);
    }
  });

  it('MemVP.load with a cache path that is a file loads (wasm backend) and warns once', async () => {
    const file = join(fresh('load-cache-file'), 'c');
    writeFileSync(file, 'not a directory');
    const warnings: string[] = [];
    const model = await MemVP.load(DIR, { backend: 'wasm', cache: file, onWarning: (m) => warnings.push(m) });
    try {
      expect(warnings).toEqual([expect.stringContaining(`cache directory ${file} failed`)]);
      expect((await model.answer({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(255) }, 'What shape is the red object?')).text.length).toBeGreaterThan(0);
    } finally {
      model.dispose();
    }
  });

  it('a corrupted cache entry is replaced by the file itself', async () => {
    const cache = join(fresh('cache-corrupt'), 'c');
    await loadWith(cache);
    const entry = readdirSync(cache).find((e) => e.endsWith('-g2.onnx'))!;
    writeFileSync(join(cache, entry), new Uint8Array(1002));
    await expect(loadWith(cache)).rejects.toThrow(/sha256/);
    const again = await loadWith(cache);
    expect([...again.files.get('g2.onnx')!].every((b) => b === 3)).toBe(true);
  });

  it('removes a temporary file left by a process that died while writing', async () => {
    const dir = fresh('cache-stale');
    const stale = join(dir, `${'a'.repeat(64)}-x.onnx.123.abc.tmp`);
    writeFileSync(stale, 'partial');
    utimesSync(stale, new Date(0), new Date(0));
    const c = await nodeCache(dir, 1 << 20, realFs);
    await c.put('x/y.onnx', 'b'.repeat(64), new Uint8Array(10));
    expect(existsSync(stale)).toBe(false);
    expect(readdirSync(dir)).toEqual([`${'b'.repeat(64)}-y.onnx`]);
  });
});

/** The Cache API as browsers define it, in memory: requests keyed by URL, responses stored whole. */
class MemoryCache {
  readonly entries = new Map<string, { body: Uint8Array; type: string | null }>();
  failPuts = false;
  async match(req: RequestInfo | URL): Promise<Response | undefined> {
    const e = this.entries.get(new Request(req).url);
    return e ? new Response(e.body as Uint8Array<ArrayBuffer>, { headers: e.type ? { 'content-type': e.type } : {} }) : undefined;
  }
  async put(req: RequestInfo | URL, res: Response): Promise<void> {
    const body = new Uint8Array(await res.arrayBuffer());
    if (this.failPuts && !new Request(req).url.includes('cache-index')) throw new DOMException('quota exceeded', 'QuotaExceededError');
    this.entries.set(new Request(req).url, { body, type: res.headers.get('content-type') });
  }
  async delete(req: RequestInfo | URL): Promise<boolean> {
    return this.entries.delete(new Request(req).url);
  }
  async keys(): Promise<Request[]> {
    return [...this.entries.keys()].map((u) => new Request(u));
  }
}

describe('the browser cache (Cache API) and its index', () => {
  const sha = (c: string) => c.repeat(64);
  it('evicts the least recently used entries under its cap and keeps an index of them', async () => {
    const store = new MemoryCache();
    const cache = browserCache(store as unknown as Cache, 3000);
    await cache.put('https://h/a.onnx', sha('a'), new Uint8Array(1000).fill(1));
    await cache.put('https://h/b.onnx', sha('b'), new Uint8Array(1000).fill(2));
    await cache.put('https://h/c.onnx', sha('c'), new Uint8Array(1000).fill(3));
    // Using a makes b the least recently used.
    await new Promise((r) => setTimeout(r, 5));
    expect((await cache.get('https://h/a.onnx', sha('a')))![0]).toBe(1);
    await new Promise((r) => setTimeout(r, 5));
    await cache.put('https://h/d.onnx', sha('d'), new Uint8Array(1000).fill(4));
    expect(await cache.get('https://h/b.onnx', sha('b'))).toBeUndefined();
    for (const [f, c, v] of [['a', 'a', 1], ['c', 'c', 3], ['d', 'd', 4]] as const) expect((await cache.get(`https://h/${f}.onnx`, sha(c)))![0]).toBe(v);
    const index = JSON.parse(new TextDecoder().decode(store.entries.get('https://memvp.invalid/cache-index')!.body));
    expect(Object.keys(index).sort()).toEqual(['a', 'c', 'd'].map((f) => `https://h/${f}.onnx?sha256=${sha(f)}`));
    // A file larger than the whole cap is not cached at all.
    await cache.put('https://h/e.onnx', sha('e'), new Uint8Array(4000));
    expect(await cache.get('https://h/e.onnx', sha('e'))).toBeUndefined();
    await cache.delete('https://h/a.onnx', sha('a'));
    expect(store.entries.size).toBe(3);
  });

  it('drops entries the index does not know, and a failed put leaves nothing behind', async () => {
    const store = new MemoryCache();
    await store.put('https://h/orphan.onnx?sha256=x', new Response('old'));
    const cache = browserCache(store as unknown as Cache, 10_000);
    await cache.put('https://h/a.onnx', sha('a'), new Uint8Array(10));
    expect(await store.match('https://h/orphan.onnx?sha256=x')).toBeUndefined();
    store.failPuts = true;
    await expect(cache.put('https://h/b.onnx', sha('b'), new Uint8Array(10))).rejects.toThrow(/quota/);
    expect(await cache.get('https://h/b.onnx', sha('b'))).toBeUndefined();
    expect((await cache.get('https://h/a.onnx', sha('a')))!.length).toBe(10);
  });
});
