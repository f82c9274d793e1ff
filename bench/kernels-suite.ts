// The kernel benchmark, run inside a browser page (bench/kernels.html, driven by bench/bench-kernels.ts) so
// that our kernels and onnxruntime-web use the same adapter in the same run. Measurements that are compared
// with each other are timed in turns (timeInterleaved), so changes in the machine's load hit both sides.
import * as ort from 'onnxruntime-web/webgpu';
import { GpuContext, numel, type GpuTensor } from '../src/gpu/index.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { fmaPeakFlops, fmaPeakPipeline, recordFmaPeak } from '../src/kernels/fma_peak.js';
import { matmulConfig } from '../src/kernels/matmul_common.js';
import { matmulNBitsConfig, matmulNBitsPipeline, recordMatmulNBits } from '../src/kernels/matmul_nbits.js';
import { matmulPipeline, recordMatmul } from '../src/kernels/matmul.js';
import { memvpFfnConfig, memvpFfnPipelines, memvpUpWeightF32, recordMemvpFfn, type MemvpFfnArgs } from '../src/kernels/memvp_ffn.js';
import { concatQuantColumns, quantizeBlockwise, releaseQuantWeight, uploadQuantWeight, type QuantWeight } from '../src/kernels/quant.js';
import { DataType, encodeModel, makeNode, makeSingleNodeModel, makeValueInfo } from '../src/onnx/index.js';
import type { AdapterFacts, KernelBenchResult } from './report.js';
import { pairedRatio, type PairedRatio } from './stats.js';
import { gflops, runStep, timeInterleaved, uniform } from './timing.js';

export const BENCH_SHAPES = {
  fma: { invocations: 16384, iterations: 8192 },
  matmul: 1024,
  ffn: { n: 256, L: 64, d: 1024, D: 2816 },
  gemv: { K: 2048, N: 5632 },
  q4: { bits: 4, blockSize: 32 },
} as const;

export interface KernelBenchOptions {
  /** Timed runs per measurement (>= 6: pairs for a 95% interval) after `warmup` (>= 1) untimed ones. */
  runs: number;
  warmup: number;
  /** Where onnxruntime-web's .wasm files are served (a URL prefix ending in '/'). */
  wasmPaths: string;
  log: (message: string) => void;
}

type Raw = KernelBenchResult['raw'];

const METHOD =
  'Wall-clock (performance.now) per run: ours = one Step of perRun identical dispatches, from recording and submit to ' +
  'queue.onSubmittedWorkDone, divided by perRun; ORT WebGPU EP = session.run with both inputs as GPU-buffer tensors ' +
  '(Tensor.fromGpuBuffer, uploaded once) and preferredOutputLocation gpu-buffer, followed by onSubmittedWorkDone on ' +
  "ORT's device, so neither side includes uploads or readback; ORT WASM EP = session.run on CPU tensors (includes " +
  'copying inputs into and the output out of the wasm heap). MatMul model: one ONNX MatMul node with A and B as graph ' +
  'inputs (no initializer), built with src/onnx. Medians over `runs` timed runs after `warmup` untimed ones; compared ' +
  'measurements are timed in turns (the order reversed every other round), and each ratio is the median of the per-round ratios ' +
  'with its 95% interval (`<name>Ci`, the distribution-free order-statistic interval of a median, bench/stats.ts); the FMA peak is ' +
  'timed in the same rounds as the matmuls, so matmul1024OverFmaPeak is paired too. FFN: LLaMA form (SwiGLU), f32 weights, residual, s = 1; the plain FFN is the same ' +
  'two pipelines with n = 0; the decode FFN (L = 1) compares 4-bit wUp and W2 (block 32, zero points) with f32. GEMV: A [1,K] times W [K,N]; q4 = MatMulNBits layout, 4 bits, block 32, with zero points; ' +
  'bytes read = A plus the weight tensors (packed, scales, zero points) at their logical sizes (numel x 4).';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return a.length === b.length ? m : Infinity;
}

const facts = (info: GPUAdapterInfo): AdapterFacts => ({
  vendor: info.vendor,
  architecture: info.architecture,
  description: info.description,
  device: info.device,
});

function matmulModel(size: number): Uint8Array {
  const shape = [size, size];
  return encodeModel(
    makeSingleNodeModel({
      node: makeNode('MatMul', ['A', 'B'], ['C']),
      inputs: [makeValueInfo('A', DataType.FLOAT, shape), makeValueInfo('B', DataType.FLOAT, shape)],
      outputs: [makeValueInfo('C', DataType.FLOAT, shape)],
    }),
  );
}

/** Ours, ORT WebGPU EP and ORT WASM EP on the same 1024^3 inputs, and the FMA peak, timed in turns. */
async function matmuls(ctx: GpuContext, o: KernelBenchOptions, raw: Raw) {
  const size = BENCH_SHAPES.matmul;
  const shape = [size, size];
  const aData = uniform(size * size, 1);
  const bData = uniform(size * size, 2, 1 / Math.sqrt(size));
  const a = upload(ctx, aData, shape);
  const b = upload(ctx, bData, shape);
  const c = empty(ctx, shape);
  const fma = BENCH_SHAPES.fma;
  const fmaOut = empty(ctx, [fma.invocations]);
  await ctx.pipelines.prepare([matmulPipeline(ctx, matmulConfig({}), size), fmaPeakPipeline()]);

  const model = matmulModel(size);
  const gpuSession = await ort.InferenceSession.create(model, { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer' });
  const ortDevice = await ort.env.webgpu.device;
  // Inputs live on ORT's device, uploaded once (ours are uploaded once too).
  const ortBuffers = [aData, bData].map((data) => {
    const buffer = ortDevice.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    ortDevice.queue.writeBuffer(buffer, 0, data);
    return buffer;
  });
  const gpuFeeds = Object.fromEntries(['A', 'B'].map((name, i) => [name, ort.Tensor.fromGpuBuffer(ortBuffers[i]!, { dataType: 'float32', dims: shape })]));
  let gpuOut: ort.Tensor | undefined;
  const wasmSession = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  const wasmFeeds = { A: new ort.Tensor('float32', aData, shape), B: new ort.Tensor('float32', bData, shape) };
  let wasmOut: ort.Tensor | undefined;

  const [ours, ortGpu, ortWasm, peak] = await timeInterleaved(o, [
    { perRun: 1, run: (k) => runStep(ctx, 'matmul', k, (s) => recordMatmul(ctx, s, a, b, c)) },
    {
      perRun: 1,
      run: async (k) => {
        for (let i = 0; i < k; i++) {
          gpuOut?.dispose();
          gpuOut = (await gpuSession.run(gpuFeeds)).C;
        }
        await ortDevice.queue.onSubmittedWorkDone();
      },
    },
    {
      perRun: 4,
      run: async (k) => {
        for (let i = 0; i < k; i++) wasmOut = (await wasmSession.run(wasmFeeds)).C;
      },
    },
    { perRun: 1, run: (k) => runStep(ctx, 'fma_peak', k, (s) => recordFmaPeak(ctx, s, fmaOut, { iterations: fma.iterations })) },
  ]);
  const mine = await readF32(ctx, c);
  const diff = {
    webgpu: maxAbsDiff(mine, (await gpuOut!.getData()) as Float32Array),
    wasm: maxAbsDiff(mine, wasmOut!.data as Float32Array),
  };
  const ortAdapter = facts(ortDevice.adapterInfo);
  gpuOut!.dispose();
  for (const b of ortBuffers) b.destroy();
  await gpuSession.release();
  await wasmSession.release();
  release(ctx, a, b, c, fmaOut);

  const flops = 2 * size ** 3;
  const fmaFlops = fmaPeakFlops(fma.invocations, fma.iterations);
  const what = `${size}x${size}x${size} f32`;
  raw.matmul1024 = { what: `ours ${what}`, flops, ...ours! };
  raw.ortMatmul1024 = { what: `ORT WebGPU EP ${what}`, flops, ...ortGpu! };
  raw.ortWasmMatmul1024 = { what: `ORT WASM EP ${what}`, flops, ...ortWasm! };
  raw.fmaPeak = { what: `${fma.invocations} invocations x ${fma.iterations} rounds x 16 lanes`, flops: fmaFlops, ...peak! };
  return {
    peak: gflops(fmaFlops, peak!.medianMs),
    // GFLOP/s ratio of each pair: (flops / ours_i) / (fmaFlops / peak_i).
    overPeak: scaled(pairedRatio(peak!.samplesMs, ours!.samplesMs), flops / fmaFlops),
    overOrtWebgpu: pairedRatio(ortGpu!.samplesMs, ours!.samplesMs),
    ours: gflops(flops, ours!.medianMs),
    ortGpu: gflops(flops, ortGpu!.medianMs),
    ortWasm: gflops(flops, ortWasm!.medianMs),
    diff,
    ortAdapter,
  };
}

/** Fused MemVP FFN (n entries) over the same kernels with n = 0. */
async function ffn(ctx: GpuContext, o: KernelBenchOptions, raw: Raw): Promise<PairedRatio | null> {
  const { n, L, d, D } = BENCH_SHAPES.ffn;
  const u = upload(ctx, uniform(L * d, 3), [L, d]);
  const residual = upload(ctx, uniform(L * d, 4), [L, d]);
  const wUp = upload(ctx, memvpUpWeightF32(uniform(d * D, 5, 1 / Math.sqrt(d)), uniform(d * D, 6, 1 / Math.sqrt(d)), d, D), [d, 2 * D]);
  const w2 = upload(ctx, uniform(D * d, 7, 1 / Math.sqrt(D)), [D, d]);
  const memK = upload(ctx, uniform(n * d, 8, 1 / Math.sqrt(d)), [n, d]);
  const memV = upload(ctx, uniform(n * d, 9), [n, d]);
  const out = empty(ctx, [L, d]);
  const plain: MemvpFfnArgs = { form: 'llama', u, residual, wUp, w2, s: 1, out };
  const memvp: MemvpFfnArgs = { ...plain, memK, memV };
  await ctx.pipelines.prepare([...memvpFfnPipelines(memvpFfnConfig(plain)), ...memvpFfnPipelines(memvpFfnConfig(memvp))]);
  const [tm, tp] = await timeInterleaved(o, [
    { perRun: 1, run: (k) => runStep(ctx, 'memvp ffn', k, (s) => recordMemvpFfn(ctx, s, memvp)) },
    { perRun: 1, run: (k) => runStep(ctx, 'plain ffn', k, (s) => recordMemvpFfn(ctx, s, plain)) },
  ]);
  release(ctx, u, residual, wUp, w2, memK, memV, out);
  const ffnFlops = 2 * L * d * D * 3;
  const memFlops = 2 * L * n * d * 2;
  raw.memvpFfn = { what: `MemVP FFN n=${n} L=${L} d=${d} D=${D}`, flops: ffnFlops + memFlops, ...tm! };
  raw.plainFfn = { what: `plain SwiGLU FFN (n=0) L=${L} d=${d} D=${D}`, flops: ffnFlops, ...tp! };
  return pairedRatio(tm!.samplesMs, tp!.samplesMs);
}

/** The fused MemVP FFN at L = 1 (decoding): f32 time over 4-bit (wUp and W2) time. */
async function ffnDecode(ctx: GpuContext, o: KernelBenchOptions, raw: Raw): Promise<PairedRatio | null> {
  const { n, d, D } = BENCH_SHAPES.ffn;
  const q4 = BENCH_SHAPES.q4;
  const [w1, w3] = [uniform(d * D, 5, 1 / Math.sqrt(d)), uniform(d * D, 6, 1 / Math.sqrt(d))];
  const w2 = uniform(D * d, 7, 1 / Math.sqrt(D));
  const u = upload(ctx, uniform(d, 3), [1, d]);
  const residual = upload(ctx, uniform(d, 4), [1, d]);
  const memK = upload(ctx, uniform(n * d, 8, 1 / Math.sqrt(d)), [n, d]);
  const memV = upload(ctx, uniform(n * d, 9), [n, d]);
  const out = empty(ctx, [1, d]);
  const f32: MemvpFfnArgs = { form: 'llama', u, residual, wUp: upload(ctx, memvpUpWeightF32(w1, w3, d, D), [d, 2 * D]), w2: upload(ctx, w2, [D, d]), memK, memV, s: 1, out };
  const qUp = uploadQuantWeight(ctx, concatQuantColumns([quantizeBlockwise(w1, d, D, q4), quantizeBlockwise(w3, d, D, q4)]), d, 2 * D, q4);
  const qDown = uploadQuantWeight(ctx, quantizeBlockwise(w2, D, d, q4), D, d, q4);
  const quant: MemvpFfnArgs = { ...f32, wUp: qUp, w2: qDown };
  await ctx.pipelines.prepare([...memvpFfnPipelines(memvpFfnConfig(f32)), ...memvpFfnPipelines(memvpFfnConfig(quant))]);
  const [tf, tq] = await timeInterleaved(o, [
    { perRun: 8, run: (k) => runStep(ctx, 'ffn decode f32', k, (s) => recordMemvpFfn(ctx, s, f32)) },
    { perRun: 8, run: (k) => runStep(ctx, 'ffn decode q4', k, (s) => recordMemvpFfn(ctx, s, quant)) },
  ]);
  release(ctx, u, residual, memK, memV, out, f32.wUp as GpuTensor, f32.w2 as GpuTensor);
  releaseQuantWeight(ctx, qUp);
  releaseQuantWeight(ctx, qDown);
  const flops = 2 * d * D * 3 + 2 * n * d * 2;
  raw.ffnDecodeF32 = { what: `MemVP FFN decode (L=1) f32 n=${n} d=${d} D=${D}`, flops, ...tf! };
  raw.ffnDecodeQ4 = { what: `MemVP FFN decode (L=1) q4/${q4.blockSize}+zp wUp and W2, n=${n} d=${d} D=${D}`, flops, ...tq! };
  return pairedRatio(tf!.samplesMs, tq!.samplesMs);
}

const bytesOf = (...ts: GpuTensor[]) => ts.reduce((sum, t) => sum + numel(t.shape) * 4, 0);
const quantTensors = (w: QuantWeight) => [w.packed, w.scales, ...(w.zeroPoints ? [w.zeroPoints] : [])];

/** 4-bit against f32 GEMV (M = 1): speed-up and bytes read. */
async function gemv(ctx: GpuContext, o: KernelBenchOptions, raw: Raw) {
  const { K, N } = BENCH_SHAPES.gemv;
  const q4 = BENCH_SHAPES.q4;
  const wData = uniform(K * N, 10, 1 / Math.sqrt(K));
  const a = upload(ctx, uniform(K, 11), [1, K]);
  const w = upload(ctx, wData, [K, N]);
  const qw = uploadQuantWeight(ctx, quantizeBlockwise(wData, K, N, q4), K, N, q4);
  const c = empty(ctx, [1, N]);
  await ctx.pipelines.prepare([matmulPipeline(ctx, matmulConfig({}), 1), matmulNBitsPipeline(ctx, matmulNBitsConfig(qw), 1)]);
  const [tf, tq] = await timeInterleaved(o, [
    { perRun: 8, run: (k) => runStep(ctx, 'gemv f32', k, (s) => recordMatmul(ctx, s, a, w, c)) },
    { perRun: 8, run: (k) => runStep(ctx, 'gemv q4', k, (s) => recordMatmulNBits(ctx, s, a, qw, c)) },
  ]);
  const f32Bytes = bytesOf(a, w);
  const q4Bytes = bytesOf(a, ...quantTensors(qw));
  release(ctx, a, w, c);
  releaseQuantWeight(ctx, qw);
  const flops = 2 * K * N;
  raw.gemvF32 = { what: `GEMV f32 [1,${K}] x [${K},${N}]`, flops, bytesRead: f32Bytes, ...tf! };
  raw.gemvQ4 = { what: `GEMV q4/${q4.blockSize}+zp [1,${K}] x [${K},${N}]`, flops, bytesRead: q4Bytes, ...tq! };
  return { speedup: pairedRatio(tf!.samplesMs, tq!.samplesMs), bytes: q4Bytes / f32Bytes };
}

/** A ratio and its interval multiplied by a constant (a FLOP ratio turning a time ratio into a GFLOP/s one). */
function scaled(r: PairedRatio | null, f: number): PairedRatio | null {
  return r && { ...r, ratio: r.ratio * f, ci: r.ci && [r.ci[0] * f, r.ci[1] * f] };
}

export async function runKernelBench(o: KernelBenchOptions): Promise<KernelBenchResult> {
  ort.env.wasm.wasmPaths = o.wasmPaths;
  // Several threads need a cross-origin-isolated page; one thread keeps the EP's number comparable across setups.
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'warning';
  const ctx = await GpuContext.create();
  const errors: Record<string, string> = {};
  // A failing measurement is reported (null metric + message) and does not stop the others.
  const measure = async <T>(name: string, fn: () => Promise<T>): Promise<T | null> => {
    o.log(`${name} ...`);
    try {
      return await fn();
    } catch (e) {
      errors[name] = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      o.log(`${name} FAILED: ${errors[name]}`);
      return null;
    }
  };
  try {
    const a = ctx.adapter;
    o.log(`adapter: ${a.vendor} / ${a.architecture} / ${a.description}`);
    const raw: Raw = {};
    const mm = await measure('matmul1024', () => matmuls(ctx, o, raw));
    const ffnRatio = await measure('memvpFfn', () => ffn(ctx, o, raw));
    const gv = await measure('gemvQ4', () => gemv(ctx, o, raw));
    const ffnQ4 = await measure('ffnDecodeQ4', () => ffnDecode(ctx, o, raw));
    return {
      adapter: { vendor: a.vendor, architecture: a.architecture, description: a.description, device: a.device, isSoftware: a.isSoftware, features: [...ctx.features] },
      ortAdapter: mm?.ortAdapter ?? null,
      ortVersion: ort.env.versions.web ?? 'unknown',
      ortWasmThreads: ort.env.wasm.numThreads,
      timing: 'wall-clock',
      timestampQueryAvailable: ctx.features.has('timestamp-query'),
      method: METHOD,
      fmaPeakGflops: mm?.peak ?? null,
      matmul1024Gflops: mm?.ours ?? null,
      ortMatmul1024Gflops: mm?.ortGpu ?? null,
      ortWasmMatmul1024Gflops: mm?.ortWasm ?? null,
      matmul1024OverFmaPeak: mm?.overPeak?.ratio ?? null,
      matmul1024OverFmaPeakCi: mm?.overPeak?.ci ?? null,
      matmul1024OverOrtWebgpu: mm?.overOrtWebgpu?.ratio ?? null,
      matmul1024OverOrtWebgpuCi: mm?.overOrtWebgpu?.ci ?? null,
      memvpFfnOverPlainFfn: ffnRatio?.ratio ?? null,
      memvpFfnOverPlainFfnCi: ffnRatio?.ci ?? null,
      q4GemvOverF32Gemv: gv?.speedup?.ratio ?? null,
      q4GemvOverF32GemvCi: gv?.speedup?.ci ?? null,
      q4GemvBytesOverF32: gv?.bytes ?? null,
      q4FfnDecodeOverF32: ffnQ4?.ratio ?? null,
      q4FfnDecodeOverF32Ci: ffnQ4?.ci ?? null,
      matmulMaxAbsDiffVsOrt: mm?.diff ?? null,
      raw,
      errors,
    };
  } finally {
    ctx.destroy();
  }
}
