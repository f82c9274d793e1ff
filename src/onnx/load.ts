// loadOnnx: bytes from a URL (streamed, with byte-accurate progress), a file path in Node, or memory, then
// parseModel. The model's bytes are held once: fetched into a buffer of the announced size when known.
import { parseModel } from './decode.js';
import { OnnxLoadError } from './errors.js';
import { nodeFileReader, urlReader, type ExternalDataReader } from './external.js';
import { FetchBytesError, fetchBytes, localPath, type FetchBytesOptions } from './fetch-bytes.js';
import type { OnnxModel } from './types.js';
import { nodePath } from '../platform.js';

export interface LoadOnnxOptions extends FetchBytesOptions {
  /** Where external tensor data comes from; by default the model's own directory or URL. */
  externalData?: ExternalDataReader;
}

export async function loadOnnx(source: string | URL | Uint8Array | ArrayBuffer, options: LoadOnnxOptions = {}): Promise<OnnxModel> {
  let bytes: Uint8Array;
  let externalData = options.externalData;
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
    options.onProgress?.(bytes.length, bytes.length);
  } else {
    const file = await localPath(source);
    const url = file === undefined ? (source instanceof URL ? source : new URL(source, globalThis.location?.href)) : undefined;
    try {
      bytes = await fetchBytes(url ?? file!, options);
    } catch (e) {
      throw e instanceof FetchBytesError ? new OnnxLoadError(e.where, e.detail, { cause: e.cause }) : e;
    }
    if (url) externalData ??= urlReader(new URL('.', url));
    else {
      externalData ??= nodeFileReader((await nodePath()).dirname(file!));
    }
  }
  options.signal?.throwIfAborted();
  const model = parseModel(bytes);
  if (externalData) model.externalData = externalData;
  return model;
}
