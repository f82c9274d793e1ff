// The public API: MemVP models (browser, worker and Node) and the Sort-of-CLEVR scene generator for demos.
export { MemVP, EncodedImage } from './memvp/model.js';
export type { Answer, AnswerOptions, LoadOptions, LoadProgress, Mode, RetrievalMaps } from './memvp/model.js';
export type { BackendName, GpuBytes } from './memvp/engine.js';
export type { Manifest } from './memvp/manifest.js';
export { evaluateSplit } from './memvp/evaluate.js';
export type { EvalProgress, EvalResult } from './memvp/evaluate.js';
export { MAX_IMAGE_SIDE } from './memvp/image.js';
export type { ImageInput, RawImage } from './memvp/image.js';
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

// The scene generator, minus its `Answer` word type (renamed: `Answer` is a model answer here).
export {
  ANSWERS,
  BACKGROUND_RGB,
  COLOR_NAMES,
  COLOR_RGB,
  IMAGE_SIZE,
  OBJECT_SIZE,
  QUESTION_TYPES,
  RELATIONAL_TYPES,
  SHAPES,
  SPLITS,
  Rng,
  answerFor,
  captionFor,
  generateScene,
  makeQuestion,
  questionText,
  questionTextById,
  questionsFor,
  renderScene,
  sampleQuestion,
  sceneFacts,
  seedFor,
  toRGBA,
} from './scenes/index.js';
export type { Answer as AnswerWord, ColorName, Question, QuestionType, RenderedImage, Scene, SceneObject, Shape, SplitName } from './scenes/index.js';
