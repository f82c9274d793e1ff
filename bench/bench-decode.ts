// npm run bench:decode [-- --model DIR --out FILE --profile]: decode-step time of the MemVP decoder at a short and a
// long past (16 and 256 cached positions), timed in turns on one adapter. With the KV cache appended in place the
// two should be close: the step does not copy the past. Writes JSON (default docs/bench/decode.json) + a table.
// --profile: afterwards, GPU time per kernel over 10 more steps (timestamp queries; src/gpu/profiler.ts), in the JSON
// and a second table.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { markdownTable } from './report.js';
import { formatCi, pairedRatio } from './stats.js';
import { timeInterleaved } from './timing.js';
import { DispatchProfiler, GpuContext, type KernelTime } from '../src/gpu/index.js';
import { isDeviceTensor, type Feed } from '../src/graph/executor.js';
import { InferenceSession } from '../src/graph/session.js';
import type { HostTensor } from '../src/graph/tensor.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const dir = arg('model', 'public/models/sortofclevr-llama');
const out = arg('out', 'docs/bench/decode.json');
const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
const { layers, kvHeads, headDim, d, maxPositions } = manifest.lm;
const n = manifest.memvp.n;

const gpu = await GpuContext.create();
const session = await InferenceSession.create(new Uint8Array(await readFile(join(dir, manifest.modes.memvp.decoder))), { gpu });
const presents = session.outputNames.filter((o) => o.startsWith('present_'));
const f32 = (dims: number[], data = new Float32Array(dims.reduce((a, b) => a * b, 1)).map(() => Math.random() - 0.5)): HostTensor => ({ type: 'float32', dims, data });
const memory = { memory_k: session.toGpu(f32([n, d])), memory_v: session.toGpu(f32([n, d])) };

/** A decoder whose KV cache holds `past` positions; each call of step() decodes one more token in place. */
async function decoder(past: number) {
  let cache: Record<string, Feed> = {};
  for (let i = 0; i < layers; i++) for (const kv of ['key', 'value']) cache[`past_${kv}_${i}`] = f32([1, kvHeads, past, headDim]);
  let length = past;
  const step = async () => {
    // Positions beyond the model's table reuse its last row: only the cache length matters for the timing.
    const pos = Math.min(length, maxPositions - 1);
    const feeds = { input_ids: { type: 'int64', dims: [1, 1], data: BigInt64Array.of(3n) }, position_ids: { type: 'int64', dims: [1, 1], data: BigInt64Array.of(BigInt(pos)) } } as const;
    const r = await session.run({ ...feeds, ...memory, ...cache }, { keepOnGpu: presents });
    const kept = new Set(presents.map((p) => (r.get(p) as { buffer: GPUBuffer }).buffer));
    for (const f of Object.values(cache)) if (isDeviceTensor(f) && !kept.has(f.buffer)) session.release(f);
    cache = Object.fromEntries(presents.map((p) => [p.replace('present', 'past'), r.get(p)!]));
    length++;
  };
  await step();
  return { step, capacity: () => (cache.past_key_0 as { kvCapacity?: number }).kvCapacity };
}

const short = await decoder(16);
const long = await decoder(256);
const plan = { runs: 21, warmup: 3 };
const [tShort, tLong] = await timeInterleaved(plan, [
  { perRun: 1, run: () => short.step() },
  { perRun: 1, run: () => long.step() },
]);
let profile: KernelTime[] | undefined;
const PROFILE_STEPS = 10;
if (process.argv.includes('--profile')) {
  gpu.profiler = new DispatchProfiler();
  for (let i = 0; i < PROFILE_STEPS; i++) await long.step();
  profile = gpu.profiler.report().map((k) => ({ ...k, dispatches: k.dispatches / PROFILE_STEPS, ms: k.ms / PROFILE_STEPS }));
  gpu.profiler = undefined;
}
const ratio = pairedRatio(tLong!.samplesMs, tShort!.samplesMs)!;
const result = {
  adapter: gpu.adapter,
  model: dir,
  method:
    'wall-clock per decode step (one session.run: input id + position -> logits read back), KV cache kept on the GPU between steps; the two pasts timed in turns ' +
    '(order reversed every other round); medians; the ratio is the median of the per-round ratios with its 95% interval (order-statistic interval of a median, bench/stats.ts)',
  pastShort: 16,
  pastLong: 256,
  kvCapacityShort: short.capacity(),
  kvCapacityLong: long.capacity(),
  decodeMsPast16: tShort!.medianMs,
  decodeMsPast256: tLong!.medianMs,
  decodePast256OverPast16: ratio.ratio,
  decodePast256OverPast16Ci: ratio.ci,
  timings: { past16: tShort, past256: tLong },
  ...(profile && { profile: { what: `GPU time per kernel and decode step (past 256), mean of ${PROFILE_STEPS} steps, each dispatch in its own timed pass`, kernels: profile } }),
};
await mkdir(dirname(out), { recursive: true });
await writeFile(out, JSON.stringify(result, null, 2) + '\n');
console.log(
  markdownTable(
    ['past length', 'decode step (median ms)', 'runs'],
    [
      ['16', tShort!.medianMs.toFixed(2), String(plan.runs)],
      ['256', tLong!.medianMs.toFixed(2), String(plan.runs)],
    ],
  ),
);
if (profile) {
  const total = profile.reduce((sum, k) => sum + k.ms, 0);
  console.log(markdownTable(['kernel', 'dispatches / step', 'GPU ms / step', 'share'], profile.map((k) => [k.kernel, String(k.dispatches), k.ms.toFixed(2), `${((100 * k.ms) / total).toFixed(1)}%`])));
}
console.log(`past 256 / past 16 = ${result.decodePast256OverPast16.toFixed(3)} ${formatCi(ratio.ci)} (adapter: ${gpu.adapter.description}) -> ${out}`);
gpu.destroy();
process.exit(0);
