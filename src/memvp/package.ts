// The model package on disk or on a server: where it is, its manifest, and its files fetched with byte progress,
// checked against the manifest's sha256 (WebCrypto, in browsers, workers and Node) and cached (Cache API in
// browsers, keyed by URL + sha256; a directory in Node, named by sha256).
// File names come from the manifest, so they are resolved by the one rule for package-relative names
// (resolveInside): nothing outside the package is ever read. A file is read up to the size the manifest gives it
// and no further, whatever its server announces or however its body is encoded.
// The cache only saves downloads: when it fails (a full disk, a path that is not a directory, no permission) the
// load goes on without it and says so through onWarning.
import { FetchBytesError, fetchBytes } from '../onnx/fetch-bytes.js';
import { UnsafePathError, resolveInside } from '../onnx/external.js';
import { isNode, nodeFs, nodePath, nodeUrl } from '../platform.js';
import { IntegrityError, ModelLoadError, OptionError, checkAborted } from './errors.js';
import { parseManifest, type Manifest } from './manifest.js';

const BROWSER_CACHE = 'memvp-models';

/** manifest.json is a few kB; anything this large is not one. */
const MAX_MANIFEST_BYTES = 16 << 20;

/** The default of LoadOptions.cacheMaxBytes. */
export const DEFAULT_CACHE_MAX_BYTES = 2 ** 31;

/** A package's folder: a directory in Node, or a URL ending in '/'. */
export type PackageBase = { kind: 'path'; dir: string } | { kind: 'url'; dir: URL };

export interface PackageFiles {
  base: PackageBase;
  manifest: Manifest;
  /** The manifest's path or URL, for messages. */
  where: string;
}

/** The file system calls the Node cache makes (node:fs/promises by default). */
export type CacheFs = Pick<typeof import('node:fs/promises'), 'mkdir' | 'readFile' | 'writeFile' | 'rename' | 'rm' | 'readdir' | 'stat' | 'utimes'>;

export interface FetchOptions {
  signal?: AbortSignal;
  /** See LoadOptions.cache. */
  cache?: boolean | string;
  /** See LoadOptions.cacheMaxBytes. */
  cacheMaxBytes?: number;
  /** The Node cache's file system calls (node:fs/promises unless given). */
  cacheFs?: CacheFs;
  /** See LoadOptions.onWarning; console.warn unless given. */
  onWarning?(message: string, cause?: unknown): void;
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
  const where = describe(base, manifestName);
  const bytes = await readBytes(base, manifestName, MAX_MANIFEST_BYTES, { signal });
  return { base, where, manifest: parseManifest(new TextDecoder().decode(bytes), where) };
}

/** The files' bytes, downloaded (or taken from the cache) and then verified, with cumulative progress per stage. */
export async function fetchFiles(pkg: PackageFiles, names: readonly string[], options: FetchOptions = {}): Promise<Map<string, Uint8Array>> {
  const { manifest, base } = pkg;
  const total = names.reduce((s, n) => s + manifest.files[n]!.bytes, 0);
  const cache = await openCache(options);
  const out = new Map<string, Uint8Array>();
  const cached = new Set<string>();
  let loaded = 0;
  for (const name of names) {
    const { sha256, bytes: size } = manifest.files[name]!;
    const before = loaded;
    const hit = await cache?.get(describe(base, name), sha256);
    if (hit) cached.add(name);
    const bytes = hit ?? (await readBytes(base, name, size, { signal: options.signal, onBytes: (n) => options.onProgress?.('download', before + n, total, name) }));
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
      if (cached.has(name)) await cache!.delete(describe(base, name), sha256);
      if (bytes.length !== size) throw new ModelLoadError(`${describe(base, name)}: ${bytes.length} bytes but the manifest says ${size}`);
      throw new IntegrityError(describe(base, name), sha256, actual);
    }
    if (cache && !cached.has(name)) await cache.put(describe(base, name), sha256, bytes);
    verified += bytes.length;
    options.onProgress?.('verify', verified, total, name);
  }
  return out;
}

/** A file's path or URL as messages and cache keys show it (the name as the manifest spells it). */
function describe(base: PackageBase, name: string): string {
  return base.kind === 'url' ? `${base.dir.href}${name}` : `${base.dir.replace(/\/$/, '')}/${name}`;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new ModelLoadError('cannot verify the model files: WebCrypto (crypto.subtle) is unavailable; browsers offer it only in secure contexts (https or localhost)');
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A package file's bytes, at most `maxBytes` (shared fetcher), its failures and a name outside the package as
 * ModelLoadError, an abort as AbortError.
 */
async function readBytes(base: PackageBase, name: string, maxBytes: number, { signal, onBytes }: { signal?: AbortSignal; onBytes?(n: number): void }): Promise<Uint8Array> {
  try {
    return await fetchBytes(await resolveInside(base.dir, name), { signal, maxBytes, onProgress: onBytes });
  } catch (e) {
    checkAborted(signal, 'loading the model');
    if (e instanceof UnsafePathError) throw new ModelLoadError(`${describe(base, '')}: the file name ${e.message}`);
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
 * Either way a cache that fails is dropped for the rest of the load, with a warning.
 */
async function openCache(options: FetchOptions): Promise<FileCache | undefined> {
  const { cache, cacheMaxBytes = DEFAULT_CACHE_MAX_BYTES } = options;
  if (!Number.isSafeInteger(cacheMaxBytes) || cacheMaxBytes < 0) throw new OptionError(`cacheMaxBytes must be a non-negative integer, got ${cacheMaxBytes}`);
  const warn = options.onWarning ?? ((message: string) => console.warn(message));
  let name: string;
  let open: () => Promise<FileCache>;
  if (isNode) {
    if (typeof cache !== 'string') return undefined;
    name = `cache directory ${cache}`;
    open = async () => nodeCache(cache, cacheMaxBytes, options.cacheFs ?? (await nodeFs()));
  } else {
    if (cache === false || typeof caches === 'undefined') return undefined;
    const id = typeof cache === 'string' ? cache : BROWSER_CACHE;
    name = `cache "${id}"`;
    open = async () => browserCache(await caches.open(id), cacheMaxBytes);
  }
  let inner: FileCache | undefined;
  const fail = (e: unknown): undefined => {
    warn(`the model ${name} failed (${(e as Error)?.message ?? e}); loading without it`, e);
    inner = undefined;
    return undefined;
  };
  inner = await open().catch(fail);
  if (!inner) return undefined;
  return {
    get: async (where, sha256) => inner?.get(where, sha256).catch(fail),
    put: async (where, sha256, bytes) => void (await inner?.put(where, sha256, bytes).catch(fail)),
    delete: async (where, sha256) => void (await inner?.delete(where, sha256).catch(fail)),
  };
}

/** Entries are `<sha256>-<file name>`; writes in progress end in `.tmp`. */
const ENTRY = /^[0-9a-f]{64}-/;
const TEMP = /\.tmp$/;
/** A temporary file this old was left by a process that died while writing it. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * Node: one file per entry in `dir`, written under a temporary name and renamed (a crash or a full disk never
 * leaves a truncated entry, and the temporary file is removed on failure). Reading an entry touches its mtime,
 * so the least recently used entries are the ones evicted when a write would take the directory over `maxBytes`.
 */
export async function nodeCache(dir: string, maxBytes: number, fs: CacheFs): Promise<FileCache> {
  const path = await nodePath();
  await fs.mkdir(dir, { recursive: true });
  const file = (where: string, sha256: string) => path.join(dir, `${sha256}-${path.basename(where)}`);
  const evict = async (incoming: number) => {
    const entries: { name: string; size: number; used: number }[] = [];
    for (const name of await fs.readdir(dir)) {
      const s = await fs.stat(path.join(dir, name)).catch(() => undefined);
      if (!s?.isFile()) continue;
      if (TEMP.test(name) && Date.now() - s.mtimeMs > STALE_TEMP_MS) await fs.rm(path.join(dir, name), { force: true });
      else if (ENTRY.test(name) && !TEMP.test(name)) entries.push({ name, size: s.size, used: s.mtimeMs });
    }
    entries.sort((a, b) => a.used - b.used);
    let size = entries.reduce((s, e) => s + e.size, 0);
    for (const e of entries) {
      if (size + incoming <= maxBytes) break;
      await fs.rm(path.join(dir, e.name), { force: true });
      size -= e.size;
    }
  };
  return {
    async get(where, sha256) {
      const name = file(where, sha256);
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await fs.readFile(name));
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return undefined;
        throw e;
      }
      const now = new Date();
      await fs.utimes(name, now, now);
      return bytes;
    },
    async put(where, sha256, bytes) {
      if (bytes.length > maxBytes) return;
      await evict(bytes.length);
      const name = file(where, sha256);
      const tmp = `${name}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      try {
        await fs.writeFile(tmp, bytes);
        await fs.rename(tmp, name);
      } catch (e) {
        await fs.rm(tmp, { force: true }).catch(() => undefined);
        throw e;
      }
    },
    delete: (where, sha256) => fs.rm(file(where, sha256), { force: true }),
  };
}

/** The browser cache's own entry: the size and last use of every entry, for least-recently-used eviction. */
const INDEX_KEY = 'https://memvp.invalid/cache-index';

interface CacheIndex {
  [key: string]: { bytes: number; used: number };
}

/**
 * Browsers: one Cache API entry per file (a put is atomic: it lands whole or not at all) and a small index of
 * sizes and last uses; a put that would take the entries over `maxBytes` first evicts the least recently used.
 * `store` is the opened cache (caches.open).
 */
export function browserCache(store: Cache, maxBytes: number): FileCache {
  // As the Cache API spells request URLs, so that keys() can be compared with the index.
  const key = (where: string, sha256: string) => new Request(`${where}?sha256=${sha256}`).url;
  const readIndex = async (): Promise<CacheIndex> => {
    const res = await store.match(INDEX_KEY);
    const index = res ? ((await res.json().catch(() => ({}))) as CacheIndex) : {};
    return typeof index === 'object' && index !== null ? index : {};
  };
  const writeIndex = (index: CacheIndex) => store.put(INDEX_KEY, new Response(JSON.stringify(index), { headers: { 'content-type': 'application/json' } }));
  return {
    async get(where, sha256) {
      const k = key(where, sha256);
      const res = await store.match(k);
      if (!res) return undefined;
      const bytes = new Uint8Array(await res.arrayBuffer());
      const index = await readIndex();
      index[k] = { bytes: bytes.length, used: Date.now() };
      await writeIndex(index);
      return bytes;
    },
    async put(where, sha256, bytes) {
      if (bytes.length > maxBytes) return;
      const k = key(where, sha256);
      const index = await readIndex();
      // Entries the index does not know (written by an older page, or an index lost to a failure) go first.
      for (const req of await store.keys()) {
        if (req.url !== INDEX_KEY && !(req.url in index)) await store.delete(req);
      }
      const byAge = Object.entries(index).sort((a, b) => a[1].used - b[1].used);
      let size = byAge.reduce((s, [, e]) => s + e.bytes, 0);
      for (const [old, e] of byAge) {
        if (size + bytes.length <= maxBytes) break;
        await store.delete(old);
        delete index[old];
        size -= e.bytes;
      }
      try {
        await store.put(k, new Response(bytes as Uint8Array<ArrayBuffer>));
      } catch (e) {
        await store.delete(k);
        await writeIndex(index);
        throw e;
      }
      index[k] = { bytes: bytes.length, used: Date.now() };
      await writeIndex(index);
    },
    async delete(where, sha256) {
      const k = key(where, sha256);
      await store.delete(k);
      const index = await readIndex();
      delete index[k];
      await writeIndex(index);
    },
  };
}
