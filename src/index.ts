// The public API: MemVP models (browser, worker and Node). It knows models, images and text; the Sort-of-CLEVR
// demo task is a separate entry (memvp-webgpu/tasks/sortofclevr).
export { MemVP, EncodedImage } from './memvp/model.js';
export type { Answer, AnswerOptions, LoadOptions, LoadProgress, Mode, RetrievalMaps } from './memvp/model.js';
export type { BackendName, GpuBytes } from './memvp/engine.js';
export type { Manifest } from './memvp/manifest.js';
export { MAX_IMAGE_SIDE } from './memvp/image.js';
export type { ImageInput, RawImage, RgbImage } from './memvp/image.js';
export {
  AbortError,
  BackendError,
  ImageDecodeError,
  ImageTooLargeError,
  IntegrityError,
  MemVPError,
  ModelLoadError,
  OptionError,
  QuestionError,
} from './memvp/errors.js';
