// Typed errors of the public API. Each message says what was wrong and where (the file, URL, option or input).

export class MemVPError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The model package could not be loaded: a missing file or directory, an HTTP error, a malformed manifest. */
export class ModelLoadError extends MemVPError {}

/** A downloaded (or cached) file's sha256 differs from the manifest's. */
export class IntegrityError extends MemVPError {
  constructor(readonly file: string, readonly expected: string, readonly actual: string) {
    super(`${file}: sha256 is ${actual} but the manifest says ${expected} (corrupted or stale file)`);
  }
}

/** The bytes or object given as an image cannot be read as one. */
export class ImageDecodeError extends MemVPError {}

/** The image is larger than MAX_IMAGE_SIDE on a side; raised from the header, before decoding the pixels. */
export class ImageTooLargeError extends MemVPError {
  constructor(readonly width: number, readonly height: number, readonly limit: number) {
    super(`image is ${width} x ${height}; the limit is ${limit} x ${limit}`);
  }
}

/** The question is empty, or its prompt plus the answer does not fit the model's positions. */
export class QuestionError extends MemVPError {}

/** An option has a value the call cannot use (a bad maxTokens, a block index outside the memory, ...). */
export class OptionError extends MemVPError {}

/** The requested backend is unavailable, or the feature needs the other backend (retrieval and block: webgpu). */
export class BackendError extends MemVPError {}

/** The call was aborted through its AbortSignal; named like the DOM's so `e.name === 'AbortError'` checks work. */
export class AbortError extends MemVPError {
  override name = 'AbortError';
}

/** Throws AbortError when `signal` is aborted; `what` says which call stopped. */
export function checkAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortError(`${what} was aborted`, { cause: signal.reason });
}
