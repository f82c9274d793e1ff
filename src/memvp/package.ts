// The model package on disk or on a server: where it is, its manifest, and its files fetched with byte progress,
// checked against the manifest's sha256 (WebCrypto, in browsers, workers and Node) and cached (Cache API in
// browsers, keyed by URL + sha256; a directory in Node, named by sha256).
import { FetchBytesError, fetchBytes } from '../onnx/index.js';
import { isNode, nodeFs, nodePath, nodeUrl } from '../platform.js';
import { IntegrityError, ModelLoadError, checkAborted } from './errors.js';
import { parseManifest, type Manifest } from './manifest.js';

const BROWSER_CACHE = 'memvp-models';

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
    const { fileURLToPath } = await nodeUrl();
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

/** A package file's bytes (shared fetcher), its failures as ModelLoadError and an abort as AbortError. */
async function readBytes(base: PackageBase, name: string, { signal, onBytes }: { signal?: AbortSignal; onBytes?(n: number): void }): Promise<Uint8Array> {
  try {
    return await fetchBytes(base.kind === 'path' ? locate(base, name) : new URL(name, base.dir), { signal, onProgress: onBytes });
  } catch (e) {
    checkAborted(signal, 'loading the model');
    throw e instanceof FetchBytesError ? new ModelLoadError(e.message, { cause: e.cause }) : e;
  }
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
