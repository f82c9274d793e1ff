// One way to get a file's bytes with byte progress and abort: a path (or file: URL) in Node is read in chunks,
// anything else is fetched and its body streamed. Failures are FetchBytesError; each caller maps them to its
// own error type (OnnxLoadError, ModelLoadError). An abort rejects with the signal's reason.
import { concatArrays } from '../arrays.js';
import { isNode, nodeFs, nodeUrl } from '../platform.js';

const READ_CHUNK = 4 << 20;

export interface FetchBytesOptions {
  signal?: AbortSignal;
  /** Called as bytes arrive; `total` is undefined when the server does not say (or compresses). */
  onProgress?(loaded: number, total: number | undefined): void;
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

async function readFile(file: string, { onProgress, signal }: FetchBytesOptions): Promise<Uint8Array> {
  const fs = await nodeFs();
  let handle: import('node:fs/promises').FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (e) {
    throw new FetchBytesError(file, (e as { code?: string }).code === 'ENOENT' ? 'no such file' : (e as Error).message, { cause: e });
  }
  try {
    const { size } = await handle.stat();
    const out = new Uint8Array(size);
    onProgress?.(0, size);
    for (let done = 0; done < size; ) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(out, done, Math.min(size - done, READ_CHUNK), done);
      if (bytesRead === 0) throw new FetchBytesError(file, `file shrank to ${done} bytes while being read`);
      done += bytesRead;
      onProgress?.(done, size);
    }
    return out;
  } finally {
    await handle.close();
  }
}

async function fetchUrl(url: URL, { onProgress, signal }: FetchBytesOptions): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, signal ? { signal } : {});
  } catch (e) {
    signal?.throwIfAborted();
    throw new FetchBytesError(url.href, (e as Error).message, { cause: e });
  }
  if (!res.ok) throw new FetchBytesError(url.href, `HTTP ${res.status} ${res.statusText}`.trim());
  // Content-Length counts compressed bytes when the body is encoded; the stream yields decoded ones.
  const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
  const announced = Number(res.headers.get('content-length') ?? NaN);
  const total = !encoded && Number.isSafeInteger(announced) ? announced : undefined;
  if (!res.body) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    onProgress?.(bytes.length, total ?? bytes.length);
    return bytes;
  }
  onProgress?.(0, total);
  // Known size: one buffer, filled in place. Unknown (or a lying header): chunks joined at the end.
  let buffer = total !== undefined ? new Uint8Array(total) : undefined;
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (buffer && loaded + value.length <= buffer.length) buffer.set(value, loaded);
      else {
        if (buffer) chunks.push(buffer.subarray(0, loaded));
        buffer = undefined;
        chunks.push(value);
      }
      loaded += value.length;
      onProgress?.(loaded, total);
    }
  } catch (e) {
    signal?.throwIfAborted();
    throw new FetchBytesError(url.href, `download failed after ${loaded} bytes: ${(e as Error).message}`, { cause: e });
  }
  if (buffer) return loaded === buffer.length ? buffer : buffer.subarray(0, loaded);
  return concatArrays(chunks, (n) => new Uint8Array(n));
}
