// MemVP.load and model.answer: a model package on one backend, images encoded once and reused, and a generation
// loop over the decoder with its KV cache kept by the engine. Calls run one at a time in arrival order (a queue),
// so two answers never interleave their steps and the buffer pool sees one sequence at a time.
import { Rng } from '../rng.js';
import { createEngine, type BackendName, type Engine, type GpuBytes } from './engine.js';
import { BackendError, MemVPError, OptionError, checkAborted } from './errors.js';
import { checkGraphs, graphFiles, type GraphFiles } from './graphs.js';
import { imageToPixels, type ImageInput } from './image.js';
import type { Manifest } from './manifest.js';
import { fetchFiles, loadManifest } from './package.js';
import { PromptEncoder } from './prompt.js';
import { Sequence, type StepOutput } from './sequence.js';

export type Mode = 'memvp' | 'input-space' | 'text-only';

export interface LoadProgress {
  /** download and verify: bytes of the package files; upload: file bytes whose weights reached the backend; compile: warm-up runs. */
  stage: 'download' | 'verify' | 'upload' | 'compile';
  loaded: number;
  total: number;
  file?: string;
}

export interface LoadOptions {
  onProgress?(p: LoadProgress): void;
  /** Browsers: the Cache API on/off (default on; a string names the cache). Node: a cache directory (default none). */
  cache?: boolean | string;
  /** The cache's size limit in bytes (default 2 GiB); the least recently used files are evicted to stay under it. */
  cacheMaxBytes?: number;
  /**
   * Called when something degrades without failing the load (a cache that cannot be read or written is dropped
   * and the files are downloaded); console.warn by default.
   */
  onWarning?(message: string, cause?: unknown): void;
  signal?: AbortSignal;
  /** auto (default): WebGPU if an adapter exists, else onnxruntime-web's WASM build. */
  backend?: 'auto' | BackendName;
  /** Where onnxruntime-web's .wasm/.mjs files are served (ort.env.wasm.wasmPaths), for the wasm backend in browsers. */
  wasmPaths?: string | Record<string, string>;
}

export interface AnswerOptions {
  /** Answer tokens to generate at most (default 4); generation also stops at eos. */
  maxTokens?: number;
  /** 0 (default): greedy. Above 0: sampling from softmax(logits / temperature). */
  temperature?: number;
  /** Sampling keeps the topK most likely tokens (default: all). */
  topK?: number;
  /** Seed of the sampling RNG (default: random). */
  seed?: number;
  /** Called with each answer token as it is generated. */
  onToken?(token: string, index: number): void;
  /** Checked before each step; an abort throws AbortError and frees the sequence's buffers. */
  signal?: AbortSignal;
  /** memvp (default), input-space (the visual tokens as input embeddings), or text-only (the plain LM, no image). */
  mode?: Mode;
  /** Memory entries to mask out (paper Fig. 6); memvp mode and webgpu only (an empty list blocks nothing). */
  block?: number[];
  /** Return retrieval maps; memvp mode and webgpu only. */
  retrieval?: boolean;
}

export interface RetrievalMaps {
  /** Patch grid [rows, cols]: memory entries 0..rows*cols-1 are the patches in row-major order. */
  grid: [number, number];
  /** Memory entries; those from rows*cols on are pure learned entries. */
  n: number;
  layers: number;
  /** One per generated answer token. */
  tokens: string[];
  /** [token][layer]: SiLU(u K^T) over the n entries at the position that predicted that token. */
  scores: Float32Array[][];
}

export interface Answer {
  text: string;
  tokens: string[];
  tokenIds: number[];
  mode: Mode;
  backend: BackendName;
  /**
   * Milliseconds. vision: reading the image and running the vision graph (0 when the image was already encoded
   * for this mode, and in text-only mode); prefill: the prompt up to the first token; firstToken = vision +
   * prefill; decode: the later tokens; total: the whole call after it left the queue.
   */
  timings: { vision: number; prefill: number; firstToken: number; decode: number; total: number };
  retrieval?: RetrievalMaps;
}

/** What an image is on the backend: its pixels, and the mode-specific tensors computed from them so far. */
interface ImageState {
  owner: MemVP;
  pixels: Float32Array;
  /** The engine epoch of `memory` and `embeds`: after a device loss they are computed again from the pixels. */
  epoch: number;
  /** memvp: memory_k, memory_v from vision.onnx. */
  memory?: { k: unknown; v: unknown };
  /** input-space: visual_embeds from vision_inputspace.onnx, computed on first use. */
  embeds?: unknown;
  disposed: boolean;
}

const imageStates = new WeakMap<EncodedImage, ImageState>();

/** An image encoded by MemVP.encodeImage: reuse it across questions, dispose() it to free its GPU buffers. */
export class EncodedImage {
  constructor(
    /** The source image's size (before resizing to the model's input). */
    readonly width: number,
    readonly height: number,
    private readonly onDispose: () => void,
  ) {}

  dispose(): void {
    this.onDispose();
  }
}

const now = () => performance.now();
const DEFAULT_MAX_TOKENS = 4;
/** Prompt length of the warm-up: above 4 rows, so the tiled matmul kernels that real prompts use get compiled too. */
const WARMUP_PROMPT = 8;

export class MemVP {
  readonly backend: BackendName;
  private readonly files: GraphFiles;
  private tail: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(
    readonly manifest: Manifest,
    private readonly engine: Engine<unknown>,
    private readonly prompt: PromptEncoder,
  ) {
    this.backend = engine.backend;
    this.files = graphFiles(manifest);
  }

  /** Loads the package at `source` (manifest.json or its folder: a URL, or a path in Node) and compiles every pipeline. */
  static async load(source: string | URL, options: LoadOptions = {}): Promise<MemVP> {
    const { signal, onProgress } = options;
    checkAborted(signal, 'loading the model');
    const pkg = await loadManifest(source, signal);
    const { manifest } = pkg;
    checkGraphs(manifest, pkg.where);
    const graphs = [...new Set(Object.values(graphFiles(manifest)))];
    const bytes = await fetchFiles(pkg, [manifest.tokenizer, ...graphs], {
      signal,
      cache: options.cache,
      cacheMaxBytes: options.cacheMaxBytes,
      onWarning: options.onWarning,
      onProgress: (stage, loaded, total, file) => onProgress?.({ stage, loaded, total, file }),
    });
    const prompt = new PromptEncoder(bytes.get(manifest.tokenizer)!, manifest);
    checkAborted(signal, 'loading the model');
    const graphBytes = new Map(graphs.map((f) => [f, bytes.get(f)!]));
    // Upload progress counts each graph file's bytes in proportion to how much of its weights is on the backend.
    const uploadTotal = graphs.reduce((s, f) => s + graphBytes.get(f)!.length, 0);
    const fractions = new Map<string, number>();
    const engine = await createEngine(graphBytes, {
      backend: options.backend ?? 'auto',
      wasmPaths: options.wasmPaths,
      onUpload: (file, fraction) => {
        fractions.set(file, fraction);
        const loaded = graphs.reduce((s, f) => s + (fractions.get(f) ?? 0) * graphBytes.get(f)!.length, 0);
        onProgress?.({ stage: 'upload', loaded, total: uploadTotal, file });
      },
    });
    const model = new MemVP(manifest, engine, prompt);
    try {
      await model.warmUp(onProgress, signal);
    } catch (e) {
      engine.dispose();
      throw e;
    }
    return model;
  }

  /** Runs vision.onnx once; memory K, V stay on the backend for every later question about this image. */
  encodeImage(image: ImageInput, options: { signal?: AbortSignal } = {}): Promise<EncodedImage> {
    return this.exclusive(async () => {
      checkAborted(options.signal, 'encodeImage');
      await this.engine.recover();
      const { state, width, height } = await this.readImage(image, options.signal);
      try {
        await this.memoryOf(state);
      } catch (e) {
        this.releaseImage(state);
        throw e;
      }
      const encoded = new EncodedImage(width, height, () => {
        // After the model's dispose() the whole device goes, this image's buffers with it.
        if (state.disposed || this.disposed) return;
        state.disposed = true;
        // Queued, so an answer already running on this image finishes first.
        void this.exclusive(async () => this.releaseImage(state));
      });
      imageStates.set(encoded, state);
      return encoded;
    });
  }

  answer(image: ImageInput | EncodedImage, question: string, options: AnswerOptions = {}): Promise<Answer> {
    return this.exclusive(() => this.answerNow(image, question, options));
  }

  /** The retrieval maps of the answer to `question` (memvp mode, webgpu). */
  async retrieval(image: ImageInput | EncodedImage, question: string, options: Omit<AnswerOptions, 'retrieval'> = {}): Promise<RetrievalMaps> {
    return (await this.answer(image, question, { ...options, retrieval: true })).retrieval!;
  }

  /** The buffer pool's accounting (undefined on wasm). */
  gpuBytes(): GpuBytes | undefined {
    return this.engine.gpuBytes();
  }

  /** Frees everything once queued calls have finished; later calls throw. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.tail.then(() => this.engine.dispose());
  }

  /** Runs `fn` after every call queued before it. */
  private exclusive<R>(fn: () => Promise<R>): Promise<R> {
    if (this.disposed) return Promise.reject(new MemVPError('this MemVP model was disposed'));
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async answerNow(image: ImageInput | EncodedImage, question: string, o: AnswerOptions): Promise<Answer> {
    const t0 = now();
    const mode = o.mode ?? 'memvp';
    const maxTokens = o.maxTokens ?? DEFAULT_MAX_TOKENS;
    const mask = this.checkOptions(o, mode, maxTokens);
    const ids = this.prompt.ids(question, mode === 'input-space' ? this.manifest.memvp.visualTokens : 0, maxTokens);
    checkAborted(o.signal, 'answer');
    await this.engine.recover();

    // The image: decoded and encoded here unless given encoded; text-only never looks at it.
    let state: ImageState | undefined;
    let owned = false;
    let seq: Sequence<unknown> | undefined;
    try {
      if (image instanceof EncodedImage) state = this.current(this.stateOf(image));
      const tv = now();
      const encoded = mode === 'text-only' || (mode === 'memvp' ? state?.memory : state?.embeds) !== undefined;
      if (!state && mode !== 'text-only') {
        state = (await this.readImage(image as ImageInput, o.signal)).state;
        owned = true;
      }
      const memory = mode === 'memvp' ? await this.memoryOf(state!) : undefined;
      const embeds = mode === 'input-space' ? await this.embedsOf(state!) : undefined;
      // Vision runs keep their outputs on the GPU and return before the GPU is done: wait, so the time is vision's.
      if (!encoded) await this.engine.finish();
      const vision = encoded ? 0 : now() - tv;
      checkAborted(o.signal, 'answer');
      const t1 = now();
      seq = new Sequence(this.engine, this.manifest, { memory, scores: o.retrieval, mask });
      if (embeds !== undefined) await seq.feedEmbeds(embeds, this.manifest.memvp.visualTokens);
      let out: StepOutput = await seq.feedIds(ids);
      const t2 = now();

      const rng = new Rng(o.seed ?? Math.floor(Math.random() * 2 ** 32));
      const tokenIds: number[] = [];
      const tokens: string[] = [];
      const scores: Float32Array[][] = [];
      for (;;) {
        const id = pick(out.logits, o, rng);
        if (id === this.manifest.eosId) break;
        const token = this.prompt.tokenizer.decode([id]);
        tokenIds.push(id);
        tokens.push(token);
        if (out.scores) scores.push(out.scores);
        o.onToken?.(token, tokenIds.length - 1);
        if (tokenIds.length >= maxTokens) break;
        checkAborted(o.signal, 'answer');
        out = await seq.feedIds([id]);
      }
      const t3 = now();
      const { manifest } = this;
      return {
        text: tokenIds.length ? this.prompt.tokenizer.decode(tokenIds, { skip_special_tokens: true }).trim() : '',
        tokens,
        tokenIds,
        mode,
        backend: this.backend,
        timings: { vision, prefill: t2 - t1, firstToken: vision + t2 - t1, decode: t3 - t2, total: t3 - t0 },
        retrieval: o.retrieval
          ? { grid: [...manifest.vision.patchGrid], n: manifest.memvp.n, layers: manifest.lm.layers, tokens: [...tokens], scores }
          : undefined,
      };
    } finally {
      seq?.release();
      if (owned) this.releaseImage(state!);
    }
  }

  /** Validates the options; returns the memory mask for `block`. */
  private checkOptions(o: AnswerOptions, mode: Mode, maxTokens: number): Float32Array | undefined {
    if (!['memvp', 'input-space', 'text-only'].includes(mode)) throw new OptionError(`mode must be memvp, input-space or text-only, got "${mode}"`);
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new OptionError(`maxTokens must be an integer >= 1, got ${maxTokens}`);
    if (o.temperature !== undefined && !(o.temperature >= 0 && Number.isFinite(o.temperature))) throw new OptionError(`temperature must be a finite number >= 0, got ${o.temperature}`);
    if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 1)) throw new OptionError(`topK must be an integer >= 1, got ${o.topK}`);
    if (o.seed !== undefined && !Number.isInteger(o.seed)) throw new OptionError(`seed must be an integer, got ${o.seed}`);
    // An empty block list blocks nothing, so it needs neither memvp mode nor webgpu.
    const wants = [o.retrieval && 'retrieval', o.block?.length && 'block'].filter(Boolean).join(' and ');
    if (!wants) return undefined;
    if (mode !== 'memvp') throw new OptionError(`${wants} work in memvp mode only (the mode is ${mode}): only MemVP retrieves from a memory`);
    if (this.backend !== 'webgpu') throw new BackendError(`${wants} need the webgpu backend (this model runs on ${this.backend})`);
    if (!o.block?.length) return undefined;
    const { n } = this.manifest.memvp;
    const mask = new Float32Array(n).fill(1);
    for (const i of o.block) {
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new OptionError(`block entry ${i} is not a memory entry index in 0..${n - 1}`);
      mask[i] = 0;
    }
    return mask;
  }

  private stateOf(image: EncodedImage): ImageState {
    const state = imageStates.get(image);
    if (!state || state.owner !== this) throw new MemVPError('this EncodedImage was encoded by another MemVP model');
    if (state.disposed) throw new MemVPError('this EncodedImage was disposed');
    return state;
  }

  private async readImage(image: ImageInput, signal: AbortSignal | undefined): Promise<{ state: ImageState; width: number; height: number }> {
    const { pixels, width, height } = await imageToPixels(image, this.manifest.vision, signal);
    return { state: { owner: this, pixels, epoch: this.engine.epoch, disposed: false }, width, height };
  }

  /** The state with what it computed on a device lost since then forgotten (that device took its buffers along). */
  private current(state: ImageState): ImageState {
    if (state.epoch !== this.engine.epoch) {
      state.memory = state.embeds = undefined;
      state.epoch = this.engine.epoch;
    }
    return state;
  }

  private pixelsFeed(state: ImageState) {
    const s = this.manifest.vision.imageSize;
    return { pixels: { type: 'float32' as const, dims: [1, 3, s, s], data: state.pixels } };
  }

  private async memoryOf(state: ImageState): Promise<{ k: unknown; v: unknown }> {
    if (!state.memory) {
      const { kept } = await this.engine.run(this.files.vision, this.pixelsFeed(state), { keep: ['memory_k', 'memory_v'] });
      state.memory = { k: kept.get('memory_k'), v: kept.get('memory_v') };
    }
    return state.memory;
  }

  private async embedsOf(state: ImageState): Promise<unknown> {
    if (state.embeds === undefined) {
      const { kept } = await this.engine.run(this.files.visionInputSpace, this.pixelsFeed(state), { keep: ['visual_embeds'] });
      state.embeds = kept.get('visual_embeds');
    }
    return state.embeds;
  }

  private releaseImage(state: ImageState): void {
    state.disposed = true;
    if (state.memory) {
      this.engine.release(state.memory.k);
      this.engine.release(state.memory.v);
    }
    if (state.embeds !== undefined) this.engine.release(state.embeds);
    state.memory = state.embeds = undefined;
  }

  /**
   * Runs every graph the modes use once with tiny inputs, at prefill and decode shapes (and, on webgpu, with
   * retrieval scores and a mask), so that no pipeline compiles during answer().
   */
  private async warmUp(onProgress: LoadOptions['onProgress'], signal: AbortSignal | undefined): Promise<void> {
    const { bosId, vision } = this.manifest;
    const prompt = new Array<number>(WARMUP_PROMPT).fill(bosId);
    const state: ImageState = { owner: this, pixels: new Float32Array(3 * vision.imageSize * vision.imageSize), epoch: this.engine.epoch, disposed: false };
    // Scores and the mask each specialise the fused FFN kernels: every combination has its own pipelines.
    const mask = new Float32Array(this.manifest.memvp.n).fill(1);
    const variants = this.backend === 'webgpu' ? [{}, { scores: true }, { mask }, { scores: true, mask }] : [{}];
    const total = variants.length + 1;
    let done = 0;
    const run = async (seq: Sequence<unknown>, embeds?: unknown) => {
      checkAborted(signal, 'loading the model');
      try {
        if (embeds !== undefined) await seq.feedEmbeds(embeds, this.manifest.memvp.visualTokens);
        await seq.feedIds(prompt);
        await seq.feedIds([bosId]);
      } finally {
        seq.release();
      }
      onProgress?.({ stage: 'compile', loaded: ++done, total });
    };
    try {
      const memory = await this.memoryOf(state);
      for (const v of variants) await run(new Sequence(this.engine, this.manifest, { memory, ...v }));
      await run(new Sequence(this.engine, this.manifest, {}), await this.embedsOf(state));
    } finally {
      this.releaseImage(state);
    }
  }
}

/** Greedy argmax, or a seeded sample from softmax(logits / temperature) over the topK most likely tokens. */
function pick(logits: Float32Array, o: AnswerOptions, rng: Rng): number {
  if (!o.temperature) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
  const top = order.slice(0, Math.min(o.topK ?? order.length, order.length));
  const max = logits[top[0]!]!;
  const weights = top.map((i) => Math.exp((logits[i]! - max) / o.temperature!));
  let r = rng.next() * weights.reduce((s, w) => s + w, 0);
  for (let k = 0; k < top.length; k++) {
    r -= weights[k]!;
    if (r < 0) return top[k]!;
  }
  return top[top.length - 1]!;
}
