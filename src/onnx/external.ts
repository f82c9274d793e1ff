// External tensor data (models over 2 GB keep weights in side files). A reader fetches one tensor's byte
// range when the caller asks for it, so a weights file is never held in memory next to its uploaded copy.
import { OnnxFormatError, OnnxLoadError } from './errors.js';
import { nodeFs, nodePath } from '../platform.js';

/** Returns exactly `length` bytes of `location` starting at `offset`. */
export type ExternalDataReader = (location: string, offset: number, length: number, signal?: AbortSignal) => Promise<Uint8Array>;

/** Rejects locations that could escape the model's directory (ONNX requires a relative POSIX path). */
function relativeLocation(location: string): string {
  const parts = location.split(/[\\/]/);
  if (!location || /^[a-z][a-z0-9+.-]*:/i.test(location) || parts[0] === '' || parts.includes('..')) {
    throw new OnnxFormatError(`external data location "${location}" is not a relative path inside the model's directory`);
  }
  return parts.join('/');
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
    const path = await nodePath();
    const file = path.join(directory, relativeLocation(location));
    let handle: import('node:fs/promises').FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (e) {
      throw new OnnxLoadError(file, (e as Error).message, { cause: e });
    }
    try {
      const { size } = await handle.stat();
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
    const href = new URL(relativeLocation(location), baseUrl).href;
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
    if (res.status === 206) return checkLength(href, new Uint8Array(await res.arrayBuffer()), length);
    if (!res.ok) throw new OnnxLoadError(href, `HTTP ${res.status} ${res.statusText}`);
    const pending = wholeFiles.get(href);
    if (pending) {
      await res.body?.cancel();
      return slice(href, pending, offset, length);
    }
    const file = res.arrayBuffer().then((b) => new Uint8Array(b));
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
