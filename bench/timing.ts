// Timing and seeded input data for the benchmarks. Wall-clock timing: untimed warm-up runs, then timed runs; each run is `perRun` repeats
// of the measured operation, finished (GPU work done) before the clock stops. Reports per-repeat times.
import { Step, type GpuContext } from '../src/gpu/index.js';

export interface Timing {
  /** Median time of one repeat (one dispatch, one session run), ms. */
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Timed runs, after `warmup` untimed ones; every run = `perRun` repeats. */
  runs: number;
  warmup: number;
  perRun: number;
  samplesMs: number[];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Timed {
  perRun: number;
  /** Does `repeats` repeats and resolves once their work is finished. */
  run: (repeats: number) => Promise<void>;
}

/** Entry indices in the order of round `round`: forwards in even rounds, backwards in odd ones (A B, B A, ...). */
export function roundOrder(count: number, round: number): number[] {
  const order = Array.from({ length: count }, (_, j) => j);
  return round % 2 ? order.reverse() : order;
}

/**
 * Times several measurements in turns (run i of every entry before run i + 1 of any), so a change in the
 * machine's load during the benchmark hits all of them alike: sample i of two entries is a pair (bench/stats.ts
 * pairedRatio). The order within a round alternates, so that going first or second (warm caches, the previous
 * entry's leftover work) favours neither side.
 */
export async function timeInterleaved(plan: { runs: number; warmup: number }, entries: readonly Timed[]): Promise<Timing[]> {
  for (let i = 0; i < plan.warmup; i++) for (const e of entries) await e.run(e.perRun);
  const samples = entries.map((): number[] => []);
  for (let i = 0; i < plan.runs; i++) {
    for (const j of roundOrder(entries.length, i)) {
      const e = entries[j]!;
      const t0 = performance.now();
      await e.run(e.perRun);
      samples[j]!.push((performance.now() - t0) / e.perRun);
    }
  }
  return entries.map((e, j) => {
    const s = samples[j]!;
    return { medianMs: median(s), minMs: Math.min(...s), maxMs: Math.max(...s), runs: plan.runs, warmup: plan.warmup, perRun: e.perRun, samplesMs: s };
  });
}

/** One step with `repeats` copies of what `record` records, submitted, then awaited with onSubmittedWorkDone. */
export async function runStep(ctx: GpuContext, label: string, repeats: number, record: (step: Step) => void): Promise<void> {
  const step = new Step(ctx, label);
  for (let i = 0; i < repeats; i++) record(step);
  await step.submit();
  await ctx.device.queue.onSubmittedWorkDone();
}

/** GFLOP/s of `flops` done in `ms`. */
export function gflops(flops: number, ms: number): number {
  return flops / ms / 1e6;
}

/** Seeded uniform values in [-scale, scale) (mulberry32). */
export function uniform(n: number, seed: number, scale = 1): Float32Array<ArrayBuffer> {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = scale * ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1);
  }
  return out;
}
