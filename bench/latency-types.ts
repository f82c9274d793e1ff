// The latency benchmark's plan (what bench/bench-latency.ts asks the page to run) and its result (what the page
// returns; the script adds the Node-side parts and writes docs/bench/latency.{json,md,svg}).
import type { AdapterFacts } from './report.js';
import type { Timing } from './timing.js';

export type LatencyMode = 'memvp' | 'inputSpace' | 'textOnly';
export const LATENCY_MODES: readonly LatencyMode[] = ['memvp', 'inputSpace', 'textOnly'];
export type ModelKey = 'demo' | 'llama';
/** Who runs the graph: our runtime, or onnxruntime-web's WebGPU / WASM execution providers. */
export type RuntimeKey = 'ours' | 'ortWebgpu' | 'ortWasm';
export type Precision = 'f32' | 'q8' | 'q4';

export interface ModelPlan {
  key: ModelKey;
  /** URL prefix the page fetches the package's files from (ends in '/'). */
  base: string;
  /** Text lengths of the MemVP vs input-space vs text-only sweep (TTFT). */
  lengths: number[];
  /** The length of the detailed figures (decode, peak bytes) and of the onnxruntime-web and precision comparisons. */
  mainLength: number;
  /** Decode steps timed after the prefill at mainLength (KV cache kept on the GPU). */
  decodeSteps: number;
  /** Compare with onnxruntime-web (WebGPU EP and WASM EP) on decoder.onnx at mainLength. */
  ort: boolean;
  /** Quantized decoders to compare with decoder.onnx (file names under `base`); empty when none were made. */
  quantized: { precision: Exclude<Precision, 'f32'>; file: string }[];
}

export interface LatencyPlan {
  models: ModelPlan[];
  /** Timed runs (pairs of every ratio) per measurement at the main length when one run takes at most `slowRunMs`. */
  runs: number;
  /** Timed runs at the sweep's other lengths. */
  sweepRuns: number;
  /** Timed runs when one run takes longer than `slowRunMs`. */
  slowRuns: number;
  slowRunMs: number;
  warmup: number;
  /** Decode steps per trial of onnxruntime-web's WebGPU EP (at most the model's decodeSteps). */
  ortWebgpuDecodeSteps: number;
  /** Our graph fusions: on, off, or auto (on unless a probe run fails to compile a fused kernel on this adapter). */
  fusions: 'on' | 'off' | 'auto';
  /** Where onnxruntime-web's .wasm files are served (a URL prefix ending in '/'). */
  wasmPaths: string;
}

/** Medians over the timed runs of one (model, runtime, mode, text length, precision). */
export interface TrialStats {
  /** Prefill + first token: from feeding the prompt (and, for the demo model, the image to the vision graph) to the first token's id on the CPU. */
  ttftMs: number;
  ttft: Timing;
  /** Prompt tokens (plus visual tokens in input-space mode) per second of TTFT. */
  prefillTokensPerSecond: number;
  /** Tokens in the prefill: text length, plus the visual tokens in input-space mode. */
  prefillTokens: number;
  /** Median decode step (one token in, logits of it read back, KV cache kept on the GPU); null when not measured. */
  decodeStepMs: number | null;
  decodeTokensPerSecond: number | null;
  /** Median decode step of each timed trial, in trial (round) order: pairs with the other entries' rounds. */
  decodeByTrialMs: number[];
  /** First run (cold: pipelines compiled) minus the median warm run, prefill plus first decode step; null when the
   * runner had already run (reused from another group) or the entry had no warm-up round (sweep lengths but the main one).
   * Negative when the pipelines were already compiled (Chromium reuses shaders across the page's devices: the LLaMA-shaped
   * model's kernels are the demo's, shapes travel in uniforms) and load noise exceeds what is left. */
  compileMs: number | null;
  /** Runs after warm-up (each a fresh sequence: prefill then decodeSteps steps). */
  runs: number;
}

/** sweep: MemVP vs input-space vs text-only over text lengths; ort: ours vs onnxruntime-web; precision: f32 vs q8 vs q4. */
export type ComparisonGroup = 'sweep' | 'ort' | 'precision';

export interface RuntimeConfig {
  group: ComparisonGroup;
  model: ModelKey;
  runtime: RuntimeKey;
  mode: LatencyMode;
  precision: Precision;
  /** Whether TTFT includes the vision graph (demo model, sweep only); otherwise memory K/V or visual embeddings are inputs made once. */
  includesVision: boolean;
  /** Graph files of this configuration. */
  files: string[];
  /** Their bytes. */
  bytes: number;
  /** Fetch from the local server plus session creation (parse, passes, weight upload), ms. */
  loadMs: number;
  /** Buffer pool peak (ctx.buffers.stats().peakAllocatedBytes) of this configuration's own GPU context, after its first run at mainLength. Ours only. */
  peakGpuBytesMainLength: number | null;
  /** The same after every run of the benchmark (the sweep's longest prompt). */
  peakGpuBytes: number | null;
  /** onnxruntime-web configurations: whether their greedy tokens (last trial, the steps both decoded) equal ours. */
  greedyTokensMatchOurs?: boolean;
  /** Text length -> stats. */
  byLength: Record<string, TrialStats>;
}

export interface ModelFacts {
  key: ModelKey;
  name: string;
  d: number;
  D: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  n: number;
  visualTokens: number;
  maxPositions: number;
  /** 'all' (logits for every position) or 'last-position'. */
  logits: string;
  randomWeights: boolean;
  lengths: number[];
  /** Lengths of the sweep left out, and why. */
  skippedLengths: { length: number; why: string }[];
  mainLength: number;
  decodeSteps: number;
}

export interface LatencyPageResult {
  adapter: AdapterFacts & { isSoftware: boolean; features: string[] };
  ortAdapter: AdapterFacts | null;
  ortVersion: string;
  ortWasmThreads: number;
  models: ModelFacts[];
  configs: RuntimeConfig[];
  /** Whether our configurations ran with the fusion passes (fused attention + KV cache, fused MemVP FFN, ...). */
  oursFusions: boolean;
  /** Why they did not, when they did not. */
  fusionsNote: string | null;
  /** Measurement name -> why it failed. */
  errors: Record<string, string>;
  elapsedSeconds: number;
}
