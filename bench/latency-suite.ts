// The latency benchmark, run inside a browser page (bench/latency.html, driven by bench/bench-latency.ts) so that
// our runtime and onnxruntime-web use the same adapter in the same run. Three comparison groups per model, each
// timed in turns (bench/timing.ts timeInterleaved), so a change in the machine's load hits all sides alike:
// - sweep: MemVP vs input-space vs text-only over text lengths L (TTFT), decode and peak bytes at the main length;
// - ort: our runtime vs onnxruntime-web's WebGPU EP vs its WASM EP on the same decoder.onnx (memvp) at the main length;
// - precision: decoder.onnx against its 8-bit / 4-bit versions (when the script could make them).
// A trial is one fresh sequence: prefill (first token read back and picked), then `decodeSteps` greedy decode steps
// with the KV cache kept on the device (ours: presents kept on the GPU and fed back as pasts, grown in place; ORT:
// its own output tensors, GPU buffers for the WebGPU EP, fed back as pasts).
import * as ort from 'onnxruntime-web/webgpu';
import { GpuContext } from '../src/gpu/index.js';
import { isDeviceTensor, type Feed } from '../src/graph/executor.js';
import type { DeviceTensor } from '../src/graph/ops/op.js';
import { InferenceSession } from '../src/graph/session.js';
import type { HostTensor } from '../src/graph/tensor.js';
import { DataType, makeNode, makeSingleNodeModel, makeValueInfo } from '../src/onnx/index.js';
import type { AdapterFacts } from './report.js';
import { median, roundOrder, timeInterleaved, uniform, type Timing } from './timing.js';
import type {
  ComparisonGroup,
  LatencyMode,
  LatencyPageResult,
  LatencyPlan,
  ModelFacts,
  ModelPlan,
  Precision,
  RuntimeConfig,
  TrialStats,
} from './latency-types.js';

type Log = (message: string) => void;

/** The parts of a package manifest (demo model or training/make_bench_model.py's) the benchmark reads. */
interface BenchManifest {
  name: string;
  randomWeights?: boolean;
  lm: { d: number; D: number; layers: number; heads: number; kvHeads: number; headDim: number; vocab: number; maxPositions: number; logits?: string };
  memvp: { n: number; visualTokens: number };
  modes: {
    memvp: { vision?: string; decoder: string };
    inputSpace: { vision?: string; embed: string; decoder: string };
  };
  graphs: Record<string, { inputs: Record<string, (number | string)[]> }>;
  files: Record<string, { bytes: number }>;
}

interface Trial {
  ttftMs: number;
  decodeMs: number[];
  /** Greedy tokens: the first one, then one per decode step. */
  tokens: number[];
}

interface Runner extends Pick<RuntimeConfig, 'runtime' | 'mode' | 'precision' | 'includesVision' | 'files' | 'bytes' | 'loadMs'> {
  trial(ids: number[], decodeSteps: number): Promise<Trial>;
  /** Buffer pool peak of the runner's own context (ours), or null. */
  peak(): number | null;
  dispose(): Promise<void>;
}

const int64 = (values: readonly number[]): HostTensor => ({ type: 'int64', dims: [1, values.length], data: BigInt64Array.from(values, BigInt) });
const range = (start: number, length: number) => Array.from({ length }, (_, i) => start + i);

/** Seeded prompt ids in [4, vocab) (ids 0-3 are the specials of the demo tokenizer). */
function promptIds(length: number, vocab: number, seed: number): number[] {
  const u = uniform(length, seed);
  return Array.from(u, (x) => 4 + Math.floor(((x + 1) / 2) * (vocab - 4)));
}

/** Index of the largest of the last `vocab` values (the last position's logits). */
function argmaxLast(logits: ArrayLike<number>, vocab: number): number {
  let best = 0;
  const base = logits.length - vocab;
  for (let i = 1; i < vocab; i++) if (logits[base + i]! > logits[base + best]!) best = i;
  return best;
}

/**
 * One greedy trial as the benchmark times it: `prefill` feeds the prompt and returns the first token (TTFT counts
 * from `start` to its id on the CPU), then `decodeSteps` timed calls of `next(previous token)`.
 */
async function timedGreedy(start: number, decodeSteps: number, prefill: () => Promise<number>, next: (token: number) => Promise<number>): Promise<Trial> {
  const tokens = [await prefill()];
  const ttftMs = performance.now() - start;
  const decodeMs: number[] = [];
  for (let i = 0; i < decodeSteps; i++) {
    const t = performance.now();
    tokens.push(await next(tokens.at(-1)!));
    decodeMs.push(performance.now() - t);
  }
  return { ttftMs, decodeMs, tokens };
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

const facts = (info: GPUAdapterInfo): AdapterFacts => ({ vendor: info.vendor, architecture: info.architecture, description: info.description, device: info.device });

// ------------------------------------------------------------------------------------------------------ ours

/** A KV cache of our runtime: presents kept on the GPU and fed back as pasts; pasts not grown in place are released. */
class OursCache {
  private past: Record<string, Feed>;
  private position = 0;

  constructor(
    private readonly session: InferenceSession,
    layers: number,
    kvHeads: number,
    headDim: number,
  ) {
    const empty: HostTensor = { type: 'float32', dims: [1, kvHeads, 0, headDim], data: new Float32Array(0) };
    this.past = Object.fromEntries(range(0, layers).flatMap((i) => [[`past_key_${i}`, empty], [`past_value_${i}`, empty]]));
  }

  /** Runs the decoder on `length` new positions; returns the logits (host). */
  async step(inputs: Record<string, Feed>, length: number): Promise<Float32Array> {
    const presents = Object.keys(this.past).map((p) => p.replace('past', 'present'));
    const r = await this.session.run({ ...inputs, ...this.past, position_ids: int64(range(this.position, length)) }, { keepOnGpu: presents });
    const kept = new Set(presents.map((p) => (r.get(p) as DeviceTensor).buffer));
    for (const f of Object.values(this.past)) if (isDeviceTensor(f) && !kept.has(f.buffer)) this.session.release(f);
    this.past = Object.fromEntries(presents.map((p) => [p.replace('present', 'past'), r.get(p)!]));
    this.position += length;
    return (r.get('logits') as HostTensor).data as Float32Array;
  }

  release(): void {
    for (const f of Object.values(this.past)) if (isDeviceTensor(f)) this.session.release(f);
  }
}

/** A Concat (axis 1) of visual and text embeddings on the GPU, so input-space prefill is one decoder run. */
function concatModel(d: number) {
  return makeSingleNodeModel({
    node: makeNode('Concat', ['visual', 'text'], ['embeds'], { axis: { type: 'int', value: 1n } }),
    inputs: [makeValueInfo('visual', DataType.FLOAT, [1, 'm', d]), makeValueInfo('text', DataType.FLOAT, [1, 'l', d])],
    outputs: [makeValueInfo('embeds', DataType.FLOAT, [1, 't', d])],
  });
}

interface LoadedModel {
  plan: ModelPlan;
  manifest: BenchManifest;
  /** Pixels for the vision graphs (demo model). */
  pixels?: HostTensor;
}

async function oursRunner(
  m: LoadedModel,
  mode: LatencyMode,
  options: { precision: Precision; decoderFile?: string; includesVision: boolean; fusions: boolean },
): Promise<Runner> {
  const { manifest, plan } = m;
  const { d, layers, kvHeads, headDim, vocab } = manifest.lm;
  const t0 = performance.now();
  const gpu = await GpuContext.create();
  const sessions: InferenceSession[] = [];
  const files: string[] = [];
  let bytes = 0;
  const load = async (file: string) => {
    const data = await fetchBytes(plan.base + file);
    files.push(file);
    bytes += data.byteLength;
    const s = await InferenceSession.create(data, { gpu, fusions: options.fusions });
    sessions.push(s);
    return s;
  };
  const own: DeviceTensor[] = [];
  const keepOnce = (t: HostTensor, name: string) => {
    const dt = sessions[0]!.toGpu(t, name);
    own.push(dt);
    return dt;
  };
  const peak = () => gpu.buffers.stats().peakAllocatedBytes;
  const base = { runtime: 'ours' as const, mode, precision: options.precision, includesVision: options.includesVision, files, peak };
  const dispose = async () => {
    for (const t of own) gpu.buffers.release(t.buffer);
    for (const s of sessions) s.dispose();
    gpu.destroy();
  };
  try {
    if (mode === 'memvp') {
      const vision = options.includesVision ? await load(manifest.modes.memvp.vision!) : undefined;
      const decoder = await load(options.decoderFile ?? manifest.modes.memvp.decoder);
      const { n } = manifest.memvp;
      const fixed = vision
        ? undefined
        : { k: keepOnce({ type: 'float32', dims: [n, d], data: uniform(n * d, 11, 0.05) }, 'memory_k'), v: keepOnce({ type: 'float32', dims: [n, d], data: uniform(n * d, 12, 0.05) }, 'memory_v') };
      const loadMs = performance.now() - t0;
      return {
        ...base,
        bytes,
        loadMs,
        dispose,
        async trial(ids, decodeSteps) {
          const start = performance.now();
          let memory = fixed;
          if (vision) {
            const r = await vision.run({ pixels: m.pixels! }, { keepOnGpu: ['memory_k', 'memory_v'] });
            memory = { k: r.get('memory_k') as DeviceTensor, v: r.get('memory_v') as DeviceTensor };
          }
          const cache = new OursCache(decoder, layers, kvHeads, headDim);
          try {
            const mem = { memory_k: memory!.k, memory_v: memory!.v };
            return await timedGreedy(
              start,
              decodeSteps,
              async () => argmaxLast(await cache.step({ input_ids: int64(ids), ...mem }, ids.length), vocab),
              async (token) => argmaxLast(await cache.step({ input_ids: int64([token]), ...mem }, 1), vocab),
            );
          } finally {
            cache.release();
            if (vision) for (const t of [memory!.k, memory!.v]) decoder.release(t);
          }
        },
      };
    }
    // input-space and text-only: embed.onnx + decoder_inputspace.onnx (plus the visual tokens in front for input-space)
    const inputSpace = mode === 'inputSpace';
    const vision = inputSpace && options.includesVision ? await load(manifest.modes.inputSpace.vision!) : undefined;
    const embed = await load(manifest.modes.inputSpace.embed);
    const decoder = await load(options.decoderFile ?? manifest.modes.inputSpace.decoder);
    const concat = inputSpace ? await InferenceSession.create(concatModel(d), { gpu, fusions: options.fusions }) : undefined;
    if (concat) sessions.push(concat);
    const m0 = manifest.memvp.visualTokens;
    const fixedVisual = inputSpace && !vision ? keepOnce({ type: 'float32', dims: [1, m0, d], data: uniform(m0 * d, 13, 0.05) }, 'visual_embeds') : undefined;
    const loadMs = performance.now() - t0;
    const embedIds = async (ids: number[]) => (await embed.run({ input_ids: int64(ids) }, { keepOnGpu: ['inputs_embeds'] })).get('inputs_embeds') as DeviceTensor;
    return {
      ...base,
      bytes,
      loadMs,
      dispose,
      async trial(ids, decodeSteps) {
        const start = performance.now();
        const cache = new OursCache(decoder, layers, kvHeads, headDim);
        try {
          const prefill = async () => {
            let embeds = await embedIds(ids);
            let length = ids.length;
            if (inputSpace) {
              const visual = vision ? ((await vision.run({ pixels: m.pixels! }, { keepOnGpu: ['visual_embeds'] })).get('visual_embeds') as DeviceTensor) : fixedVisual!;
              const joined = (await concat!.run({ visual, text: embeds }, { keepOnGpu: ['embeds'] })).get('embeds') as DeviceTensor;
              embed.release(embeds);
              if (vision) embed.release(visual);
              embeds = joined;
              length += visual.shape[1]!;
            }
            const logits = await cache.step({ inputs_embeds: embeds }, length);
            embed.release(embeds);
            return argmaxLast(logits, vocab);
          };
          const next = async (token: number) => {
            const e = await embedIds([token]);
            const logits = await cache.step({ inputs_embeds: e }, 1);
            embed.release(e);
            return argmaxLast(logits, vocab);
          };
          return await timedGreedy(start, decodeSteps, prefill, next);
        } finally {
          cache.release();
        }
      },
    };
  } catch (e) {
    await dispose();
    throw e;
  }
}

// ------------------------------------------------------------------------------------------------------ onnxruntime-web

/** decoder.onnx (memvp) on onnxruntime-web; memory K/V are inputs made once (GPU buffers for the WebGPU EP). */
async function ortRunner(m: LoadedModel, ep: 'webgpu' | 'wasm'): Promise<Runner> {
  const { manifest, plan } = m;
  const { d, layers, kvHeads, headDim, vocab } = manifest.lm;
  const { n } = manifest.memvp;
  const file = manifest.modes.memvp.decoder;
  const t0 = performance.now();
  const data = await fetchBytes(plan.base + file);
  const presents = range(0, layers).flatMap((i) => [`present_key_${i}`, `present_value_${i}`]);
  const session = await ort.InferenceSession.create(data, {
    executionProviders: [ep],
    ...(ep === 'webgpu' ? { preferredOutputLocation: Object.fromEntries([['logits', 'cpu'], ...presents.map((p) => [p, 'gpu-buffer'])]) } : {}),
  });
  const kData = uniform(n * d, 11, 0.05);
  const vData = uniform(n * d, 12, 0.05);
  const buffers: GPUBuffer[] = [];
  let memory: Record<string, ort.Tensor>;
  if (ep === 'webgpu') {
    const device = await ort.env.webgpu.device;
    const gpuTensor = (values: Float32Array<ArrayBuffer>) => {
      const buffer = device.createBuffer({ size: values.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(buffer, 0, values);
      buffers.push(buffer);
      return ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims: [n, d] });
    };
    memory = { memory_k: gpuTensor(kData), memory_v: gpuTensor(vData) };
  } else {
    memory = { memory_k: new ort.Tensor('float32', kData, [n, d]), memory_v: new ort.Tensor('float32', vData, [n, d]) };
  }
  const loadMs = performance.now() - t0;
  const emptyPast = () => Object.fromEntries(presents.map((p) => [p.replace('present', 'past'), new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim])]));
  const ids64 = (ids: number[]) => new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]);
  return {
    runtime: ep === 'webgpu' ? 'ortWebgpu' : 'ortWasm',
    mode: 'memvp',
    precision: 'f32',
    includesVision: false,
    files: [file],
    bytes: data.byteLength,
    loadMs,
    peak: () => null,
    async dispose() {
      await session.release();
      for (const b of buffers) b.destroy();
    },
    async trial(ids, decodeSteps) {
      const start = performance.now();
      let past: Record<string, ort.Tensor> = emptyPast();
      let position = 0;
      const step = async (tokens: number[]) => {
        const out = await session.run({ input_ids: ids64(tokens), position_ids: ids64(range(position, tokens.length)), ...past, ...memory });
        position += tokens.length;
        for (const t of Object.values(past)) t.dispose();
        past = Object.fromEntries(presents.map((p) => [p.replace('present', 'past'), out[p]!]));
        const logits = out.logits!;
        const token = argmaxLast(logits.data as Float32Array, vocab);
        logits.dispose();
        return token;
      };
      try {
        return await timedGreedy(start, decodeSteps, () => step(ids), (token) => step([token]));
      } finally {
        for (const t of Object.values(past)) t.dispose();
      }
    },
  };
}

// ------------------------------------------------------------------------------------------------------ timing

interface Entry {
  name: string;
  runner: Runner;
  length: number;
  /** At the model's main length (the summary's figures). */
  main: boolean;
  ids: number[];
  decodeSteps: number;
  trials: Trial[];
  /** Untimed rounds of this entry: plan.warmup at the main length, 0 at the sweep's other lengths (saves a round of
   * the slowest trials; the main length's cold round has compiled the pipelines by then). */
  warmup: number;
  /** Whether this entry's first trial was its runner's first ever (cold pipelines): only then is compileMs measured. */
  cold: boolean | null;
  /** Peak after the first trial (pool peak of the runner's context), for entries at the main length. */
  peakAfterFirst: number | null;
}

function timingOf(samples: number[], warmup: number): Timing {
  return { medianMs: median(samples), minMs: Math.min(...samples), maxMs: Math.max(...samples), runs: samples.length, warmup, perRun: 1, samplesMs: samples };
}

/**
 * Runs every entry in turns (bench/timing.ts timeInterleaved: round i of every entry before round i + 1 of any):
 * its `warmup` untimed rounds (the first one cold, for the compile time), then timed rounds until each entry has
 * `runs` timed trials at the main length (`sweepRuns` at other lengths), or `slowRuns` when its first timed trial
 * took longer than `slowRunMs`; the order reverses every other round.
 */
/** Runners that have run a trial (their pipelines are compiled). */
const warmRunners = new WeakSet<Runner>();

async function interleave(plan: LatencyPlan, entries: Entry[], log: Log): Promise<void> {
  const timed = (e: Entry) => ({
    perRun: 1,
    run: async () => {
      e.cold ??= !warmRunners.has(e.runner);
      warmRunners.add(e.runner);
      const t = await e.runner.trial(e.ids, e.decodeSteps);
      e.trials.push(t);
      if (e.peakAfterFirst === null) e.peakAfterFirst = e.runner.peak();
    },
  });
  // One round of `es` in turns, backwards every other round (timeInterleaved's order across its runs).
  const round = (es: Entry[], i: number) => timeInterleaved({ runs: 1, warmup: 0 }, roundOrder(es.length, i).map((j) => timed(es[j]!)));
  const warmups = Math.max(0, ...entries.map((e) => e.warmup));
  for (let i = 0; i < warmups; i++) await round(entries.filter((e) => e.warmup > i), i);
  await round(entries, 0);
  const firstMs = (e: Entry) => e.trials[e.warmup]!.ttftMs + e.trials[e.warmup]!.decodeMs.reduce((a, b) => a + b, 0);
  const target = entries.map((e) => (firstMs(e) > plan.slowRunMs ? plan.slowRuns : e.main ? plan.runs : plan.sweepRuns));
  for (let r = 1; ; r++) {
    const active = entries.filter((_, j) => target[j]! > r);
    if (!active.length) break;
    await round(active, r);
  }
  for (const e of entries) {
    const t = e.trials.slice(e.warmup);
    log(`  ${e.name}: TTFT ${median(t.map((x) => x.ttftMs)).toFixed(1)} ms (${t.length} runs)${e.decodeSteps ? `, decode ${median(t.flatMap((x) => x.decodeMs)).toFixed(1)} ms/token` : ''}`);
  }
}

function statsOf(e: Entry, visualTokens: number): TrialStats {
  const timed = e.trials.slice(e.warmup);
  const ttft = timingOf(timed.map((t) => t.ttftMs), e.warmup);
  const prefillTokens = e.ids.length + (e.runner.mode === 'inputSpace' ? visualTokens : 0);
  const steps = timed.flatMap((t) => t.decodeMs);
  const decodeStepMs = steps.length ? median(steps) : null;
  const cold = e.trials[0]!;
  const compileMs = e.warmup > 0 && e.cold ? cold.ttftMs - ttft.medianMs + (decodeStepMs !== null && cold.decodeMs.length ? cold.decodeMs[0]! - decodeStepMs : 0) : null;
  return {
    ttftMs: ttft.medianMs,
    ttft,
    prefillTokensPerSecond: prefillTokens / (ttft.medianMs / 1000),
    prefillTokens,
    decodeStepMs,
    decodeTokensPerSecond: decodeStepMs === null ? null : 1000 / decodeStepMs,
    decodeByTrialMs: timed.filter((t) => t.decodeMs.length).map((t) => median(t.decodeMs)),
    compileMs,
    runs: timed.length,
  };
}

// ------------------------------------------------------------------------------------------------------ main

export interface LatencyBenchOptions {
  plan: LatencyPlan;
  log: Log;
}

export async function runLatencyBench({ plan, log }: LatencyBenchOptions): Promise<LatencyPageResult> {
  const t0 = performance.now();
  ort.env.wasm.wasmPaths = plan.wasmPaths;
  // Several threads need a cross-origin-isolated page; one thread, as in the kernel benchmark.
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'warning';
  const errors: Record<string, string> = {};
  const configs: RuntimeConfig[] = [];
  const models: ModelFacts[] = [];
  let ortAdapter: AdapterFacts | null = null;
  const probe = await GpuContext.create();
  const a = probe.adapter;
  const adapter = { vendor: a.vendor, architecture: a.architecture, description: a.description, device: a.device, isSoftware: a.isSoftware, features: [...probe.features] };
  probe.destroy();
  log(`adapter: ${a.vendor} / ${a.architecture} / ${a.description}${a.isSoftware ? ' (software)' : ''}`);

  // Our fusion passes (fused attention with the KV cache, fused MemVP FFN, RMSNorm, ...) are on unless a probe run
  // of the demo-sized decoder fails to compile one of their kernels on this adapter; then every configuration of
  // ours runs unfused (InferenceSession fusions: false), and the result says so.
  let fusions = plan.fusions !== 'off';
  let fusionsNote: string | null = plan.fusions === 'off' ? 'fusions turned off by the plan (--fusions off)' : null;
  const attempt = async <T>(name: string, fn: () => Promise<T>): Promise<T | null> => {
    log(`${name} ...`);
    try {
      return await fn();
    } catch (e) {
      errors[name] = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      log(`${name} FAILED: ${errors[name]}`);
      return null;
    }
  };

  for (const mp of plan.models) {
    const manifest = (await (await fetch(mp.base + 'manifest.json')).json()) as BenchManifest;
    const { lm } = manifest;
    const visualTokens = manifest.memvp.visualTokens;
    const decodeRoom = mp.decodeSteps + 1;
    // Every position of a run must have a row in the model's RoPE table.
    const skipped: ModelFacts['skippedLengths'] = [];
    const lengths = mp.lengths.filter((L) => {
      const need = L + visualTokens + decodeRoom;
      if (need <= lm.maxPositions) return true;
      skipped.push({ length: L, why: `input-space needs ${L} + ${visualTokens} visual + ${decodeRoom} decode positions > the model's ${lm.maxPositions}` });
      return false;
    });
    const pixelsSpec = manifest.modes.memvp.vision ? manifest.graphs[manifest.modes.memvp.vision]?.inputs.pixels : undefined;
    const pixelDims = pixelsSpec?.every((x) => typeof x === 'number') ? (pixelsSpec as number[]) : undefined;
    const loaded: LoadedModel = {
      plan: mp,
      manifest,
      pixels: pixelDims && { type: 'float32', dims: pixelDims, data: uniform(pixelDims.reduce((x, y) => x * y, 1), 21) },
    };
    const withVision = loaded.pixels !== undefined;
    if (fusions && plan.fusions === 'auto') {
      const probe = await oursRunner(loaded, 'memvp', { precision: 'f32', includesVision: false, fusions: true }).catch((e: unknown) => e as Error);
      const failure = probe instanceof Error ? probe : await probe.trial([4, 5, 6, 7], 1).then(() => null, (e: unknown) => e as Error);
      if (!(probe instanceof Error)) await probe.dispose();
      if (failure) {
        fusions = false;
        fusionsNote = `a probe run of ${mp.key}'s decoder.onnx with fusions on failed (${failure.name}: ${failure.message.split('\n').slice(0, 2).join(' ')}); every configuration of ours runs with fusions: false (operator by operator, KV cache by Concat), which understates ours`;
        log(`FUSIONS OFF: ${fusionsNote}`);
      }
    }
    models.push({
      key: mp.key,
      name: manifest.name,
      d: lm.d,
      D: lm.D,
      layers: lm.layers,
      heads: lm.heads,
      kvHeads: lm.kvHeads,
      vocab: lm.vocab,
      n: manifest.memvp.n,
      visualTokens,
      maxPositions: lm.maxPositions,
      logits: lm.logits ?? 'all',
      randomWeights: manifest.randomWeights ?? false,
      lengths,
      skippedLengths: skipped,
      mainLength: mp.mainLength,
      decodeSteps: mp.decodeSteps,
    });
    const ids = new Map(lengths.concat(mp.mainLength).map((L) => [L, promptIds(L, lm.vocab, 1000 + L)]));
    const record = (group: ComparisonGroup, entries: Entry[], peaks = true) => {
      const byRunner = new Map<Runner, Entry[]>();
      for (const e of entries) byRunner.set(e.runner, [...(byRunner.get(e.runner) ?? []), e]);
      for (const [r, es] of byRunner) {
        const main = es.find((e) => e.length === mp.mainLength);
        configs.push({
          group,
          model: mp.key,
          runtime: r.runtime,
          mode: r.mode,
          precision: r.precision,
          includesVision: r.includesVision,
          files: r.files,
          bytes: r.bytes,
          loadMs: r.loadMs,
          peakGpuBytesMainLength: peaks ? (main?.peakAfterFirst ?? null) : null,
          peakGpuBytes: peaks ? r.peak() : null,
          byLength: Object.fromEntries(es.filter((e) => e.trials.length > e.warmup).map((e) => [String(e.length), statsOf(e, visualTokens)])),
        });
      }
    };
    const entry = (name: string, runner: Runner, length: number, decode: boolean): Entry => ({
      name,
      runner,
      length,
      ids: ids.get(length)!,
      decodeSteps: decode ? mp.decodeSteps : 0,
      trials: [],
      main: length === mp.mainLength,
      warmup: length === mp.mainLength ? plan.warmup : 0,
      cold: null,
      peakAfterFirst: null,
    });

    // ---- sweep: memvp vs input-space vs text-only (ours), each mode in its own GPU context (own peak bytes)
    const sweepRunners = new Map<LatencyMode, Runner>();
    await attempt(`${mp.key} sweep`, async () => {
      for (const mode of ['memvp', 'inputSpace', 'textOnly'] as const) {
        const r = await oursRunner(loaded, mode, { precision: 'f32', includesVision: withVision && mode !== 'textOnly', fusions });
        log(`  ${mp.key} ${mode}: loaded ${r.files.join(' + ')} (${(r.bytes / 1e6).toFixed(1)} MB) in ${r.loadMs.toFixed(0)} ms`);
        sweepRunners.set(mode, r);
      }
      // The main length first: its first (cold) trial compiles the pipelines, and its peak is read right after.
      const order = [mp.mainLength, ...lengths.filter((L) => L !== mp.mainLength)].filter((L) => lengths.includes(L));
      const entries = order.flatMap((L) => [...sweepRunners].map(([mode, r]) => entry(`${mp.key} ${mode} L=${L}`, r, L, L === mp.mainLength)));
      try {
        await interleave(plan, entries, log);
      } finally {
        record('sweep', entries);
      }
    });

    // ---- ours vs onnxruntime-web (WebGPU EP, WASM EP) on decoder.onnx at the main length
    const decoderOnly = withVision ? undefined : sweepRunners.get('memvp');
    for (const r of sweepRunners.values()) if (r !== decoderOnly) await r.dispose().catch(() => undefined);
    let oursDecoder: Runner | null = decoderOnly ?? null;
    if (mp.ort) {
      await attempt(`${mp.key} ort`, async () => {
        oursDecoder ??= await oursRunner(loaded, 'memvp', { precision: 'f32', includesVision: false, fusions });
        const runners: Runner[] = [oursDecoder];
        try {
          for (const ep of ['webgpu', 'wasm'] as const) {
            const r = await ortRunner(loaded, ep);
            log(`  ${mp.key} ORT ${ep}: loaded ${r.files[0]} in ${r.loadMs.toFixed(0)} ms`);
            runners.push(r);
          }
          ortAdapter ??= facts((await ort.env.webgpu.device).adapterInfo);
          const entries = runners.map((r) => entry(`${mp.key} ${r.runtime} memvp L=${mp.mainLength}`, r, mp.mainLength, true));
          // ORT's WebGPU EP decodes very slowly on a software adapter (seconds per token for the LLaMA-shaped model):
          // fewer steps per trial for it keep the run within its time budget (its median is over fewer steps).
          entries[1]!.decodeSteps = Math.min(entries[1]!.decodeSteps, plan.ortWebgpuDecodeSteps);
          try {
            await interleave(plan, entries, log);
          } finally {
            record('ort', entries, false);
          }
          // Same prompt, same memory: the greedy tokens should agree (over the steps both decoded).
          const ours = entries[0]!.trials.at(-1)?.tokens ?? [];
          for (const e of entries.slice(1)) {
            const theirs = e.trials.at(-1)?.tokens ?? [];
            const n = Math.min(ours.length, theirs.length);
            const agree = n > 0 && ours.slice(0, n).every((t, i) => t === theirs[i]);
            const c = configs.find((x) => x.group === 'ort' && x.model === mp.key && x.runtime === e.runner.runtime);
            if (c) c.greedyTokensMatchOurs = agree;
            if (!agree) log(`  note: ${e.runner.runtime} greedy tokens [${theirs.join(' ')}] differ from ours [${ours.join(' ')}]`);
          }
        } finally {
          for (const r of runners.slice(1)) await r.dispose().catch(() => undefined);
        }
      });
    }

    await oursDecoder?.dispose().catch(() => undefined);

    // ---- f32 vs 8-bit vs 4-bit decoders (ours), each in a fresh GPU context (peak bytes of that precision alone)
    if (mp.quantized.length) {
      await attempt(`${mp.key} precision`, async () => {
        const runners: Runner[] = [await oursRunner(loaded, 'memvp', { precision: 'f32', includesVision: false, fusions })];
        try {
          for (const q of mp.quantized) runners.push(await oursRunner(loaded, 'memvp', { precision: q.precision, decoderFile: q.file, includesVision: false, fusions }));
          const entries = runners.map((r) => entry(`${mp.key} ${r.precision} memvp L=${mp.mainLength}`, r, mp.mainLength, true));
          try {
            await interleave(plan, entries, log);
          } finally {
            record('precision', entries, true);
          }
        } finally {
          for (const r of runners) await r.dispose().catch(() => undefined);
        }
      });
    }
  }

  return {
    adapter,
    ortAdapter,
    ortVersion: ort.env.versions.web ?? 'unknown',
    ortWasmThreads: ort.env.wasm.numThreads ?? 1,
    models,
    configs,
    oursFusions: fusions,
    fusionsNote,
    errors,
    elapsedSeconds: Math.round((performance.now() - t0) / 1000),
  };
}
