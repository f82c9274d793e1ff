// loadOnnx: bytes from a URL (streamed, with byte-accurate progress), a file path in Node, or memory, then
// parseModel. The model's bytes are held once: fetched into a buffer of the announced size when known.
import { parseModel } from './decode.js';
import { OnnxLoadError } from './errors.js';
import { nodeFileReader, urlReader, type ExternalDataReader } from './external.js';
import type { OnnxModel } from './types.js';

export interface LoadOnnxOptions {
  /** Called as bytes arrive; `total` is undefined when the server does not say (or compresses). */
  onProgress?(loaded: number, total: number | undefined): void;
  signal?: AbortSignal;
  /** Where external tensor data comes from; by default the model's own directory or URL. */
  externalData?: ExternalDataReader;
}

const NODE_FS = 'node:fs/promises';
const NODE_PATH = 'node:path';
const NODE_URL = 'node:url';
const READ_CHUNK = 16 << 20;

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

export async function loadOnnx(source: string | URL | Uint8Array | ArrayBuffer, options: LoadOnnxOptions = {}): Promise<OnnxModel> {
  let bytes: Uint8Array;
  let externalData = options.externalData;
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
    options.onProgress?.(bytes.length, bytes.length);
  } else {
    const file = await nodePath(source);
    if (file !== undefined) {
      bytes = await readFile(file, options);
      const { dirname } = (await import(/* @vite-ignore */ NODE_PATH)) as typeof import('node:path');
      externalData ??= nodeFileReader(dirname(file));
    } else {
      const url = source instanceof URL ? source : new URL(source, globalThis.location?.href);
      bytes = await fetchBytes(url, options);
      externalData ??= urlReader(new URL('.', url));
    }
  }
  options.signal?.throwIfAborted();
  const model = parseModel(bytes);
  if (externalData) model.externalData = externalData;
  return model;
}

/** The file path `source` names in Node (a plain path or a file: URL); undefined for anything fetched. */
async function nodePath(source: string | URL): Promise<string | undefined> {
  if (!isNode) return undefined;
  const url = source instanceof URL ? source : /^[a-z][a-z0-9+.-]+:\/\//i.test(source) ? new URL(source) : undefined;
  if (!url) return source as string;
  if (url.protocol !== 'file:') return undefined;
  const { fileURLToPath } = (await import(/* @vite-ignore */ NODE_URL)) as typeof import('node:url');
  return fileURLToPath(url);
}

async function readFile(file: string, { onProgress, signal }: LoadOnnxOptions): Promise<Uint8Array> {
  const fs = (await import(/* @vite-ignore */ NODE_FS)) as typeof import('node:fs/promises');
  let handle: import('node:fs/promises').FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (e) {
    throw new OnnxLoadError(file, (e as Error).message, { cause: e });
  }
  try {
    const { size } = await handle.stat();
    const out = new Uint8Array(size);
    onProgress?.(0, size);
    for (let done = 0; done < size; ) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(out, done, Math.min(size - done, READ_CHUNK), done);
      if (bytesRead === 0) throw new OnnxLoadError(file, `file shrank to ${done} bytes while being read`);
      done += bytesRead;
      onProgress?.(done, size);
    }
    return out;
  } finally {
    await handle.close();
  }
}

async function fetchBytes(url: URL, { onProgress, signal }: LoadOnnxOptions): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, signal ? { signal } : {});
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new OnnxLoadError(url.href, (e as Error).message, { cause: e });
  }
  if (!res.ok) throw new OnnxLoadError(url.href, `HTTP ${res.status} ${res.statusText}`);
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
  if (buffer) return loaded === buffer.length ? buffer : buffer.subarray(0, loaded);
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
