// The model package on disk or on a server: where it is, its manifest, and its files fetched with byte progress,
// checked against the manifest's sha256 (WebCrypto, in browsers, workers and Node) and cached (Cache API in
// browsers, keyed by URL + sha256; a directory in Node, named by sha256).
import { AbortError, IntegrityError, ModelLoadError, checkAborted } from './errors.js';
import { parseManifest, type Manifest } from './manifest.js';

const NODE_FS = 'node:fs/promises';
const NODE_PATH = 'node:path';
const NODE_URL = 'node:url';
const READ_CHUNK = 4 << 20;
const BROWSER_CACHE = 'memvp-models';

export const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

// Kept out of static imports so bundlers leave Node's modules alone in browser builds.
const nodeFs = () => import(/* @vite-ignore */ NODE_FS) as Promise<typeof import('node:fs/promises')>;
const nodePath = () => import(/* @vite-ignore */ NODE_PATH) as Promise<typeof import('node:path')>;

/** A package's folder: a directory in Node, or a URL ending in '/'. */
export type PackageBase = { kind: 'path'; dir: string } | { kind: 'url'; dir: URL };

export interface PackageFiles {
  base: PackageBase;
  manifest: Manifest;
  /** The manifest's path or URL, for messages. */
  where: string;
}

export interface FetchOptions {
  signal?: AbortSignal;
  /** See LoadOptions.cache. */
  cache?: boolean | string;
  onProgress?(stage: 'download' | 'verify', loaded: number, total: number, file: string): void;
}

/** Where `source` (manifest.json or its folder; a URL, or a path or file: URL in Node) points. */
export async function resolveBase(source: string | URL): Promise<{ base: PackageBase; manifestName: string }> {
  const split = (s: string) => {
    const slash = s.lastIndexOf('/');
    return /\.json$/i.test(s) ? { folder: s.slice(0, slash + 1), name: s.slice(slash + 1) } : { folder: s.endsWith('/') ? s : `${s}/`, name: 'manifest.json' };
  };
  const url = source instanceof URL ? source : /^[a-z][a-z0-9+.-]+:/i.test(source) ? new URL(source) : undefined;
  if (isNode && (!url || url.protocol === 'file:')) {
    const { fileURLToPath } = (await import(/* @vite-ignore */ NODE_URL)) as typeof import('node:url');
    const path = await nodePath();
    const file = path.resolve(url ? fileURLToPath(url) : (source as string));
    const isJson = /\.json$/i.test(file);
    return { base: { kind: 'path', dir: isJson ? path.dirname(file) : file }, manifestName: isJson ? path.basename(file) : 'manifest.json' };
  }
  const href = (url ?? new URL(source as string, globalThis.location?.href)).href.replace(/[?#].*$/, '');
  const { folder, name } = split(href);
  return { base: { kind: 'url', dir: new URL(folder) }, manifestName: name };
}

/** The manifest of the package at `source`, parsed and checked. */
export async function loadManifest(source: string | URL, signal?: AbortSignal): Promise<PackageFiles> {
  const { base, manifestName } = await resolveBase(source);
  const bytes = await readBytes(base, manifestName, { signal });
  const where = locate(base, manifestName);
  return { base, where, manifest: parseManifest(new TextDecoder().decode(bytes), where) };
}

/** The files' bytes, downloaded (or taken from the cache) and then verified, with cumulative progress per stage. */
export async function fetchFiles(pkg: PackageFiles, names: readonly string[], options: FetchOptions = {}): Promise<Map<string, Uint8Array>> {
  const { manifest, base } = pkg;
  const total = names.reduce((s, n) => s + manifest.files[n]!.bytes, 0);
  const cache = await openCache(options.cache);
  const out = new Map<string, Uint8Array>();
  const cached = new Set<string>();
  let loaded = 0;
  for (const name of names) {
    const { sha256 } = manifest.files[name]!;
    const before = loaded;
    const hit = await cache?.get(locate(base, name), sha256);
    if (hit) cached.add(name);
    const bytes = hit ?? (await readBytes(base, name, { signal: options.signal, onBytes: (n) => options.onProgress?.('download', before + n, total, name) }));
    loaded = before + bytes.length;
    options.onProgress?.('download', loaded, total, name);
    out.set(name, bytes);
  }
  let verified = 0;
  for (const name of names) {
    checkAborted(options.signal, 'loading the model');
    const bytes = out.get(name)!;
    const { sha256, bytes: size } = manifest.files[name]!;
    const actual = await sha256Hex(bytes);
    if (actual !== sha256 || bytes.length !== size) {
      if (cached.has(name)) await cache!.delete(locate(base, name), sha256);
      if (actual !== sha256) throw new IntegrityError(locate(base, name), sha256, actual);
      throw new ModelLoadError(`${locate(base, name)}: ${bytes.length} bytes but the manifest says ${size}`);
    }
    if (cache && !cached.has(name)) await cache.put(locate(base, name), sha256, bytes);
    verified += bytes.length;
    options.onProgress?.('verify', verified, total, name);
  }
  return out;
}

/** A file's full path or URL, for messages and cache keys. */
export function locate(base: PackageBase, name: string): string {
  return base.kind === 'url' ? new URL(name, base.dir).href : `${base.dir.replace(/\/$/, '')}/${name}`;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new ModelLoadError('cannot verify the model files: WebCrypto (crypto.subtle) is unavailable; browsers offer it only in secure contexts (https or localhost)');
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function readBytes(base: PackageBase, name: string, o: { signal?: AbortSignal; onBytes?(n: number): void }): Promise<Uint8Array> {
  return base.kind === 'path' ? readNodeFile(locate(base, name), o) : fetchUrl(new URL(name, base.dir), o);
}

/** Reads a Node file in chunks, so progress and abort work on large files too. */
async function readNodeFile(file: string, { signal, onBytes }: { signal?: AbortSignal; onBytes?(n: number): void } = {}): Promise<Uint8Array> {
  const fs = await nodeFs();
  let handle: import('node:fs/promises').FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new ModelLoadError(code === 'ENOENT' ? `${file}: no such file` : `${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const { size } = await handle.stat();
    const out = new Uint8Array(size);
    for (let done = 0; done < size; ) {
      checkAborted(signal, 'loading the model');
      const { bytesRead } = await handle.read(out, done, Math.min(size - done, READ_CHUNK), done);
      if (bytesRead === 0) throw new ModelLoadError(`${file}: file shrank to ${done} bytes while being read`);
      done += bytesRead;
      onBytes?.(done);
    }
    return out;
  } finally {
    await handle.close();
  }
}

/** Streams a URL's body, reporting bytes as they arrive. */
async function fetchUrl(url: URL, { signal, onBytes }: { signal?: AbortSignal; onBytes?(n: number): void }): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, signal ? { signal } : {});
  } catch (e) {
    if (signal?.aborted) throw new AbortError('loading the model was aborted', { cause: signal.reason });
    throw new ModelLoadError(`${url.href}: ${(e as Error).message}`, { cause: e });
  }
  if (!res.ok) throw new ModelLoadError(`${url.href}: HTTP ${res.status} ${res.statusText}`.trim());
  if (!res.body) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    onBytes?.(bytes.length);
    return bytes;
  }
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      onBytes?.(loaded);
    }
  } catch (e) {
    if (signal?.aborted) throw new AbortError('loading the model was aborted', { cause: signal.reason });
    throw new ModelLoadError(`${url.href}: download failed after ${loaded} bytes: ${(e as Error).message}`, { cause: e });
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

interface FileCache {
  get(where: string, sha256: string): Promise<Uint8Array | undefined>;
  put(where: string, sha256: string, bytes: Uint8Array): Promise<void>;
  delete(where: string, sha256: string): Promise<void>;
}

/**
 * Browsers: the Cache API unless `cache` is false (a string names the cache); absent in insecure contexts.
 * Node: a directory when `cache` is a string, else none (files on disk need no cache).
 */
async function openCache(cache: boolean | string | undefined): Promise<FileCache | undefined> {
  if (isNode) return typeof cache === 'string' ? nodeCache(cache) : undefined;
  if (cache === false || typeof caches === 'undefined') return undefined;
  const store = await caches.open(typeof cache === 'string' ? cache : BROWSER_CACHE);
  const key = (where: string, sha256: string) => `${where}?sha256=${sha256}`;
  return {
    async get(where, sha256) {
      const res = await store.match(key(where, sha256));
      return res ? new Uint8Array(await res.arrayBuffer()) : undefined;
    },
    put: (where, sha256, bytes) => store.put(key(where, sha256), new Response(bytes as Uint8Array<ArrayBuffer>)),
    delete: async (where, sha256) => void (await store.delete(key(where, sha256))),
  };
}

async function nodeCache(dir: string): Promise<FileCache> {
  const fs = await nodeFs();
  const path = await nodePath();
  await fs.mkdir(dir, { recursive: true });
  const file = (where: string, sha256: string) => path.join(dir, `${sha256}-${path.basename(where)}`);
  return {
    async get(where, sha256) {
      try {
        return new Uint8Array(await fs.readFile(file(where, sha256)));
      } catch {
        return undefined;
      }
    },
    async put(where, sha256, bytes) {
      // Written under a temporary name and renamed, so a crash never leaves a truncated entry.
      const tmp = `${file(where, sha256)}.${process.pid}.tmp`;
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, file(where, sha256));
    },
    delete: (where, sha256) => fs.rm(file(where, sha256), { force: true }),
  };
}
