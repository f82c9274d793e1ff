// External tensor data (models over 2 GB keep weights in side files). A reader fetches one tensor's byte
// range when the caller asks for it, so a weights file is never held in memory next to its uploaded copy.
// This module also holds the one rule for names relative to a directory (relativeSegments, resolveInside), which
// model packages use for their manifest's file names too.
import { OnnxFormatError, OnnxLoadError } from './errors.js';
import { FetchBytesError, MAX_FETCH_BYTES, readBody } from './fetch-bytes.js';
import { nodeFs, nodePath } from '../platform.js';

/** Returns exactly `length` bytes of `location` starting at `offset`. */
export type ExternalDataReader = (location: string, offset: number, length: number, signal?: AbortSignal) => Promise<Uint8Array>;

/** A name that does not stay inside its package or model directory; `reason` says why. */
export class UnsafePathError extends Error {
  constructor(readonly path: string, readonly reason: string) {
    super(`"${path.length > 200 ? `${path.slice(0, 200)}...` : path}" is not a relative path inside its directory: ${reason}`);
    this.name = 'UnsafePathError';
  }
}

/**
 * The one rule for names relative to a package or model directory (manifest files, external data locations):
 * percent-decoded, then a relative POSIX path whose segments, with "." and empty ones dropped, contain no "..".
 * Schemes (file:, http:, C:), absolute paths, backslashes, NUL and anything that decodes to them are refused, so
 * the name can only reach files under the directory. Returns the segments of the normalised path.
 */
export function relativeSegments(name: string): string[] {
  if (typeof name !== 'string' || name === '') throw new UnsafePathError(String(name), 'the name is empty');
  let decoded: string;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    throw new UnsafePathError(name, 'malformed percent-encoding');
  }
  const refuse = (reason: string): never => {
    throw new UnsafePathError(name, reason);
  };
  for (const s of new Set([name, decoded])) {
    if (s.includes('\0') || s.includes('\\')) refuse('NUL and backslashes are not allowed');
    if (/^[a-z][a-z0-9+.-]*:/i.test(s)) refuse('a URL or drive letter, not a relative path');
    if (s.startsWith('/')) refuse('an absolute path');
  }
  const segments = decoded.split('/').filter((p) => p !== '' && p !== '.');
  if (segments.includes('..')) refuse('".." leaves the directory');
  if (segments.length === 0) refuse('names the directory itself');
  return segments;
}

/**
 * `name` resolved under `base`: a folder URL ending in "/", or a directory path in Node, where a file that is a
 * symbolic link (or under one) to somewhere outside the directory is refused too. A missing file passes, so that
 * reading it gives the usual "no such file".
 */
export async function resolveInside(base: URL, name: string): Promise<URL>;
export async function resolveInside(base: string, name: string): Promise<string>;
export async function resolveInside(base: string | URL, name: string): Promise<string | URL>;
export async function resolveInside(base: string | URL, name: string): Promise<string | URL> {
  const segments = relativeSegments(name);
  if (base instanceof URL) return new URL(segments.map(encodeURIComponent).join('/'), base);
  const fs = await nodeFs();
  const path = await nodePath();
  const file = path.join(base, ...segments);
  let real: string;
  try {
    real = await fs.realpath(file);
  } catch {
    return file;
  }
  const rel = path.relative(await fs.realpath(base), real);
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new UnsafePathError(name, 'a link to a file outside the directory');
  }
  return file;
}

/** resolveInside for an external data location, its refusal as OnnxFormatError. */
async function externalTarget<T extends string | URL>(base: T, location: string): Promise<T> {
  try {
    return (await resolveInside(base as string & URL, location)) as T;
  } catch (e) {
    throw e instanceof UnsafePathError ? new OnnxFormatError(`external data location ${e.message}`) : e;
  }
}

/** A response body of at most `maxBytes`, its failures as OnnxLoadError. */
async function body(res: Response, href: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  try {
    return await readBody(res, href, { maxBytes, signal });
  } catch (e) {
    throw e instanceof FetchBytesError ? new OnnxLoadError(href, e.detail, { cause: e.cause }) : e;
  }
}

function checkLength(source: string, bytes: Uint8Array, length: number): Uint8Array {
  if (bytes.length !== length) throw new OnnxLoadError(source, `expected ${length} bytes, got ${bytes.length}`);
  return bytes;
}

const READ_CHUNK = 64 << 20;

/** Reads byte ranges of files in `directory` (Node only); each call opens, reads and closes the file. */
export function nodeFileReader(directory: string): ExternalDataReader {
  return async (location, offset, length, signal) => {
    const fs = await nodeFs();
    const file = await externalTarget(directory, location);
    let handle: import('node:fs/promises').FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (e) {
      throw new OnnxLoadError(file, (e as Error).message, { cause: e });
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new OnnxLoadError(file, 'is not a regular file');
      const { size } = stat;
      if (offset + length > size) {
        throw new OnnxFormatError(`external data range ${offset}+${length} runs past the end of ${location} (${size} bytes)`);
      }
      const out = new Uint8Array(length);
      for (let done = 0; done < length; ) {
        signal?.throwIfAborted();
        const { bytesRead } = await handle.read(out, done, Math.min(length - done, READ_CHUNK), offset + done);
        if (bytesRead === 0) throw new OnnxLoadError(file, `file ended after ${offset + done} bytes`);
        done += bytesRead;
      }
      return out;
    } finally {
      await handle.close();
    }
  };
}

/**
 * Fetches byte ranges of files relative to `baseUrl` with HTTP Range requests. A server that ignores Range
 * (200 instead of 206) gets one whole-file download per file, kept and sliced for the following tensors.
 */
export function urlReader(baseUrl: string | URL, init: RequestInit = {}): ExternalDataReader {
  const wholeFiles = new Map<string, Promise<Uint8Array>>();
  const slice = async (href: string, file: Promise<Uint8Array>, offset: number, length: number): Promise<Uint8Array> => {
    const bytes = await file;
    if (offset + length > bytes.length) {
      throw new OnnxFormatError(`external data range ${offset}+${length} runs past the end of ${href} (${bytes.length} bytes)`);
    }
    return bytes.subarray(offset, offset + length);
  };
  return async (location, offset, length, signal) => {
    const href = (await externalTarget(new URL(baseUrl), location)).href;
    const cached = wholeFiles.get(href);
    if (cached) return slice(href, cached, offset, length);
    if (length === 0) return new Uint8Array(0);
    const headers = new Headers(init.headers);
    headers.set('Range', `bytes=${offset}-${offset + length - 1}`);
    let res: Response;
    try {
      res = await fetch(href, { ...init, headers, signal: signal ?? init.signal ?? null });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new OnnxLoadError(href, (e as Error).message, { cause: e });
    }
    if (res.status === 206) return checkLength(href, await body(res, href, length, signal), length);
    if (!res.ok) {
      await res.body?.cancel();
      throw new OnnxLoadError(href, `HTTP ${res.status} ${res.statusText}`);
    }
    const pending = wholeFiles.get(href);
    if (pending) {
      await res.body?.cancel();
      return slice(href, pending, offset, length);
    }
    const file = body(res, href, MAX_FETCH_BYTES, signal);
    wholeFiles.set(href, file);
    file.catch(() => wholeFiles.delete(href));
    return slice(href, file, offset, length);
  };
}

/** Serves external data from files already in memory (e.g. picked by the user), as views without copies. */
export function memoryReader(files: Record<string, Uint8Array> | Map<string, Uint8Array>): ExternalDataReader {
  const map = files instanceof Map ? files : new Map(Object.entries(files));
  return async (location, offset, length) => {
    const file = map.get(location);
    if (!file) throw new OnnxLoadError(location, 'no such external data file was provided');
    if (offset + length > file.length) {
      throw new OnnxFormatError(`external data range ${offset}+${length} runs past the end of ${location} (${file.length} bytes)`);
    }
    return file.subarray(offset, offset + length);
  };
}
