// One way to get a file's bytes with byte progress and abort: a path (or file: URL) in Node is read in chunks,
// anything else is fetched and its body streamed. Failures are FetchBytesError; each caller maps them to its
// own error type (OnnxLoadError, ModelLoadError). An abort rejects with the signal's reason.
// Sizes a file or server announces (a file's stat size, Content-Length) are never used to allocate: bytes are
// collected in the chunks they arrive in, and reading stops as soon as they pass the caller's limit. For an
// encoded body (Content-Encoding: gzip, deflate, br) the stream yields inflated bytes, so the limit also caps
// the inflation. Messages name the source and sizes, never the body's contents.
import { concatArrays } from '../arrays.js';
import { isNode, nodeFs, nodeUrl } from '../platform.js';

const READ_CHUNK = 4 << 20;

/** The default byte limit: ONNX models (protobuf) cannot exceed 2 GiB, and nothing else read here comes close. */
export const MAX_FETCH_BYTES = 2 ** 31;

export interface FetchBytesOptions {
  signal?: AbortSignal;
  /** Called as bytes arrive; `total` is undefined when the source does not say (or compresses). */
  onProgress?(loaded: number, total: number | undefined): void;
  /** Bytes accepted at most (default MAX_FETCH_BYTES); more is a FetchBytesError, raised before they are kept. */
  maxBytes?: number;
}

/** `where` is the path or URL; `detail` says what went wrong there. */
export class FetchBytesError extends Error {
  constructor(readonly where: string, readonly detail: string, options?: { cause?: unknown }) {
    super(`${where}: ${detail}`, options);
    this.name = 'FetchBytesError';
  }
}

/** The file path `source` names in Node (a plain path or a file: URL); undefined for anything fetched. */
export async function localPath(source: string | URL): Promise<string | undefined> {
  if (!isNode) return undefined;
  const url = source instanceof URL ? source : /^[a-z][a-z0-9+.-]+:\/\//i.test(source) ? new URL(source) : undefined;
  if (!url) return source as string;
  if (url.protocol !== 'file:') return undefined;
  return (await nodeUrl()).fileURLToPath(url);
}

export async function fetchBytes(source: string | URL, options: FetchBytesOptions = {}): Promise<Uint8Array> {
  const file = await localPath(source);
  if (file !== undefined) return readFile(file, options);
  return fetchUrl(source instanceof URL ? source : new URL(source, globalThis.location?.href), options);
}

const tooLarge = (where: string, max: number) => new FetchBytesError(where, `more than the ${max} bytes expected`);

/** A Node error's reason without the path and syscall Node puts in its message (the caller names the file). */
const fsReason = (e: unknown) => {
  const code = (e as { code?: string }).code;
  const known: Record<string, string> = { ENOENT: 'no such file', EISDIR: 'is a directory, not a file', EACCES: 'permission denied' };
  return (code && known[code]) ?? (e as Error).message;
};

async function readFile(file: string, { onProgress, signal, maxBytes = MAX_FETCH_BYTES }: FetchBytesOptions): Promise<Uint8Array> {
  const fs = await nodeFs();
  let handle: import('node:fs/promises').FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (e) {
    throw new FetchBytesError(file, fsReason(e), { cause: e });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new FetchBytesError(file, stat.isDirectory() ? 'is a directory, not a file' : 'is not a regular file');
    if (stat.size > maxBytes) throw tooLarge(file, maxBytes);
    const chunks: Uint8Array[] = [];
    let done = 0;
    onProgress?.(0, stat.size);
    for (;;) {
      signal?.throwIfAborted();
      // Sized by what the file says it holds, plus one byte to see whether it grew past that (or the limit).
      const chunk = new Uint8Array(Math.min(READ_CHUNK, maxBytes - done, Math.max(stat.size - done, 0)) + 1);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(chunk, 0, chunk.length, done));
      } catch (e) {
        throw new FetchBytesError(file, fsReason(e), { cause: e });
      }
      if (bytesRead === 0) break;
      done += bytesRead;
      if (done > maxBytes) throw tooLarge(file, maxBytes);
      chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
      onProgress?.(done, stat.size);
    }
    return concatArrays(chunks.length ? chunks : [new Uint8Array(0)], (n) => new Uint8Array(n));
  } finally {
    await handle.close();
  }
}

async function fetchUrl(url: URL, { onProgress, signal, maxBytes = MAX_FETCH_BYTES }: FetchBytesOptions): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, signal ? { signal } : {});
  } catch (e) {
    signal?.throwIfAborted();
    throw new FetchBytesError(url.href, (e as Error).message, { cause: e });
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new FetchBytesError(url.href, `HTTP ${res.status} ${res.statusText}`.trim());
  }
  // Content-Length counts compressed bytes when the body is encoded; the stream yields decoded ones. It only
  // feeds progress, and only when it is within the limit.
  const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
  const announced = Number(res.headers.get('content-length') ?? NaN);
  const total = !encoded && Number.isSafeInteger(announced) && announced <= maxBytes ? announced : undefined;
  if (!encoded && Number.isSafeInteger(announced) && announced > maxBytes) {
    await res.body?.cancel();
    throw tooLarge(url.href, maxBytes);
  }
  onProgress?.(0, total);
  return readBody(res, url.href, { onProgress: (n) => onProgress?.(n, total), signal, maxBytes });
}

/** A response's body streamed into chunks, refused (and the download cancelled) once it passes `maxBytes`. */
export async function readBody(res: Response, where: string, { onProgress, signal, maxBytes = MAX_FETCH_BYTES }: FetchBytesOptions): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = res.body.getReader();
  for (;;) {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch (e) {
      signal?.throwIfAborted();
      throw new FetchBytesError(where, `download failed after ${loaded} bytes: ${(e as Error).message}`, { cause: e });
    }
    if (next.done) break;
    loaded += next.value.length;
    if (loaded > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(where, maxBytes);
    }
    chunks.push(next.value);
    onProgress?.(loaded, undefined);
  }
  return concatArrays(chunks.length ? chunks : [new Uint8Array(0)], (n) => new Uint8Array(n));
}
