// Typed errors of the GPU layer. Every message says which kernel (or object) and which shapes were involved,
// so a failure deep inside a model run can be traced to the node that caused it.

export class GpuError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No WebGPU implementation or no adapter could be found. */
export class GpuUnavailableError extends GpuError {}

/** The device reported a validation error inside an error scope. */
export class GpuValidationError extends GpuError {}

/** The device ran out of memory inside an error scope. */
export class GpuOutOfMemoryError extends GpuError {}

/** The device was lost (driver reset, destroy(), tab in background too long). */
export class DeviceLostError extends GpuError {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

/** A WGSL module failed to compile; `messages` are the compiler's own lines. */
export class ShaderCompileError extends GpuError {
  constructor(readonly kernel: string, readonly messages: string[]) {
    super(`shader of kernel "${kernel}" failed to compile:\n${messages.join('\n')}`);
  }
}

/** A kernel was called with shapes or buffers that do not fit together. */
export class KernelShapeError extends GpuError {
  constructor(readonly kernel: string, detail: string) {
    super(`${kernel}: ${detail}`);
  }
}
