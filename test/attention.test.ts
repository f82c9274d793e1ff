// Catches wrong causal masking, score scale, GQA head mapping, online-softmax merging or KV-cache appends in the
// attention kernels.
import { describe, expect, it } from 'vitest';
import { KernelShapeError, Step, type GpuContext } from '../src/gpu/index.js';
import { attentionReference, recordAttention } from '../src/kernels/attention.js';
import { empty, readF32, release, upload } from '../src/kernels/common.js';
import { createKvCache, kvAppendReference, recordKvAppend, type KvCache, type KvCacheDims } from '../src/kernels/kv_append.js';
import { expectClose, gpu, randn } from './helpers/gpu.js';

// Tolerance: 1e-5 absolute + 1e-5 relative against an f64 reference, for q, k, v ~ N(0, 1) and
// scale 1/sqrt(headDim) (f32 dot products of up to 128 terms, f32 exp, online-softmax rescaling).
// kv_append is a copy: exact.
const ATOL = 1e-5;
const RTOL = 1e-5;

interface Case {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  pastLen: number;
  rows: number;
  causal: boolean;
  maxSeq?: number;
  scale?: number;
  /** Run as if on a hardware adapter (the decode kernel's other workgroup size). */
  asHardware?: boolean;
}

/** The same device, described as a hardware adapter. */
function asHardware(ctx: GpuContext): GpuContext {
  const hw: GpuContext = Object.create(ctx, { adapter: { value: { ...ctx.adapter, isSoftware: false } } });
  return hw;
}

/** Fills the past with random keys/values, appends this step's rows, attends; compares cache and output. */
async function runCase(c: Case, seed: number): Promise<void> {
  const ctx = await gpu();
  const { numHeads, numKvHeads, headDim, pastLen, rows, causal, scale } = c;
  const maxSeq = c.maxSeq ?? pastLen + rows + 3;
  const dims: KvCacheDims = { numKvHeads, maxSeq, headDim };
  const kvWidth = numKvHeads * headDim;
  const what = `heads ${numHeads}/${numKvHeads} hd ${headDim} past ${pastLen} L ${rows} ${causal ? 'causal' : 'full'}`;
  // Garbage in the unwritten slots checks that attention never reads past totalLen.
  let keys = randn(numKvHeads * maxSeq * headDim, seed, 50);
  let values = randn(keys.length, seed + 1, 50);
  const cache: KvCache = { keys: upload(ctx, keys, [numKvHeads, maxSeq, headDim]), values: upload(ctx, values, [numKvHeads, maxSeq, headDim]) };
  const step = new Step(ctx);
  const tensors = [cache.keys, cache.values];
  for (const [at, n] of [[0, pastLen], [pastLen, rows]] as const) {
    if (n === 0) continue;
    const k = randn(n * kvWidth, seed + 2 + at, 1);
    const v = randn(n * kvWidth, seed + 3 + at, 1);
    keys = kvAppendReference(keys, k, dims, at);
    values = kvAppendReference(values, v, dims, at);
    const kt = upload(ctx, k, [n, kvWidth]);
    const vt = upload(ctx, v, [n, kvWidth]);
    tensors.push(kt, vt);
    recordKvAppend(ctx, step, cache, kt, vt, at);
  }
  const qs = randn(rows * numHeads * headDim, seed + 9);
  const q = upload(ctx, qs, [rows, numHeads * headDim]);
  const out = empty(ctx, [rows, numHeads * headDim]);
  tensors.push(q, out);
  recordAttention(c.asHardware ? asHardware(ctx) : ctx, step, q, cache, out, { numHeads, pastLen, causal, scale });
  await step.submit();
  expectClose(await readF32(ctx, cache.keys), keys, 0, 0, `${what} cache keys`);
  expectClose(await readF32(ctx, cache.values), values, 0, 0, `${what} cache values`);
  const expected = attentionReference(qs, keys, values, { ...dims, numHeads, pastLen, causal, scale });
  expectClose(await readF32(ctx, out), expected, ATOL, RTOL, what);
  release(ctx, ...tensors);
}

const HEADS = [
  [4, 4],
  [4, 2],
  [8, 1],
] as const;
const HEAD_DIMS = [8, 16, 32, 64, 80, 12, 128];

describe('attention kernels', () => {
  it('decode (L = 1) matches the reference for pastLen 0, 1, 17, 255, MHA and GQA, many head sizes', async () => {
    let seed = 100;
    for (const pastLen of [0, 1, 17, 255]) {
      for (const [numHeads, numKvHeads] of HEADS) {
        const headDim = HEAD_DIMS[seed % HEAD_DIMS.length]!;
        await runCase({ numHeads, numKvHeads, headDim, pastLen, rows: 1, causal: seed % 2 === 0 }, seed++);
      }
    }
  });

  it('prefill (L = 5, 33) matches the reference with pastLen 0 and 7, causal and not, MHA and GQA', async () => {
    let seed = 200;
    for (const rows of [5, 33]) {
      for (const pastLen of [0, 7]) {
        for (const causal of [true, false]) {
          for (const [numHeads, numKvHeads] of HEADS) {
            const headDim = HEAD_DIMS[seed % HEAD_DIMS.length]!;
            await runCase({ numHeads, numKvHeads, headDim, pastLen, rows, causal }, seed++);
          }
        }
      }
    }
  });

  it('decode with the hardware workgroup size matches the reference', async () => {
    let seed = 150;
    for (const pastLen of [0, 17, 255]) {
      for (const [numHeads, numKvHeads] of HEADS) {
        const headDim = HEAD_DIMS[seed % HEAD_DIMS.length]!;
        await runCase({ numHeads, numKvHeads, headDim, pastLen, rows: 1, causal: true, asHardware: true }, seed++);
      }
    }
  });

  it('covers every supported head size on both variants, and a custom scale', async () => {
    let seed = 300;
    for (const headDim of HEAD_DIMS) {
      await runCase({ numHeads: 4, numKvHeads: 2, headDim, pastLen: 6, rows: 1, causal: true }, seed++);
      await runCase({ numHeads: 2, numKvHeads: 1, headDim, pastLen: 2, rows: 3, causal: true }, seed++);
    }
    await runCase({ numHeads: 3, numKvHeads: 3, headDim: 16, pastLen: 9, rows: 1, causal: true, scale: 0.7 }, seed++);
    await runCase({ numHeads: 3, numKvHeads: 3, headDim: 16, pastLen: 9, rows: 4, causal: false, scale: 0.7 }, seed++);
  });

  it('runs encoder-style attention over a cache sized exactly L (pastLen 0, non-causal)', async () => {
    await runCase({ numHeads: 4, numKvHeads: 4, headDim: 16, pastLen: 0, rows: 17, causal: false, maxSeq: 17 }, 400);
    await runCase({ numHeads: 2, numKvHeads: 2, headDim: 8, pastLen: 0, rows: 1, causal: false, maxSeq: 1 }, 401);
  });

  it('a prompt prefill then decode steps equals one prefill over the whole sequence', async () => {
    const ctx = await gpu();
    const [numHeads, numKvHeads, headDim, total, prompt, maxSeq] = [4, 2, 32, 14, 5, 32];
    const kvWidth = numKvHeads * headDim;
    const width = numHeads * headDim;
    const ks = randn(total * kvWidth, 500);
    const vs = randn(total * kvWidth, 501);
    const qs = randn(total * width, 502);
    const rowsOf = (x: Float32Array, w: number, from: number, to: number, label: string) =>
      upload(ctx, x.slice(from * w, to * w), [to - from, w], label);

    const whole = createKvCache(ctx, numKvHeads, maxSeq, headDim);
    const full = empty(ctx, [total, width]);
    const wholeInputs = [rowsOf(ks, kvWidth, 0, total, 'k'), rowsOf(vs, kvWidth, 0, total, 'v'), rowsOf(qs, width, 0, total, 'q')];
    let step = new Step(ctx);
    recordKvAppend(ctx, step, whole, wholeInputs[0]!, wholeInputs[1]!, 0);
    recordAttention(ctx, step, wholeInputs[2]!, whole, full, { numHeads, pastLen: 0, causal: true });
    await step.submit();
    const expected = await readF32(ctx, full);

    const cache = createKvCache(ctx, numKvHeads, maxSeq, headDim);
    const temps = [...wholeInputs, whole.keys, whole.values, full, cache.keys, cache.values];
    const got = new Float32Array(total * width);
    for (let from = 0; from < total; ) {
      const to = from === 0 ? prompt : from + 1;
      const [k, v, q] = [rowsOf(ks, kvWidth, from, to, 'k'), rowsOf(vs, kvWidth, from, to, 'v'), rowsOf(qs, width, from, to, 'q')];
      const out = empty(ctx, [to - from, width]);
      step = new Step(ctx);
      recordKvAppend(ctx, step, cache, k, v, from);
      recordAttention(ctx, step, q, cache, out, { numHeads, pastLen: from, causal: true });
      await step.submit();
      got.set(await readF32(ctx, out), from * width);
      temps.push(k, v, q, out);
      from = to;
    }
    expectClose(got, expected, ATOL, RTOL, 'decode steps vs one prefill');
    release(ctx, ...temps);
  });

  it('rejects bad shapes with a KernelShapeError naming the kernel and shapes', async () => {
    const ctx = await gpu();
    const cache = createKvCache(ctx, 2, 8, 16);
    const q = empty(ctx, [2, 48]);
    const out = empty(ctx, [2, 48]);
    const kv = empty(ctx, [3, 32]);
    const kvWide = empty(ctx, [3, 40]);
    const step = new Step(ctx);
    const bad: [() => void, RegExp][] = [
      [() => recordAttention(ctx, step, q, cache, out, { numHeads: 3, pastLen: 0, causal: true }), /attention q \[2,48\] cache \[2,8,16\] numHeads 3.*not a positive multiple of numKvHeads 2/],
      [() => recordAttention(ctx, step, q, cache, out, { numHeads: 4, pastLen: 0, causal: true }), /attention q \[2,48\].*q has shape \[2,48\] but \[2,64\]/],
      [() => recordAttention(ctx, step, kv, cache, kv, { numHeads: 2, pastLen: 6, causal: true }), /attention q \[3,32\].*pastLen 6 \+ L 3 does not fit maxSeq 8/],
      [() => recordKvAppend(ctx, step, cache, kv, kv, 6), /kv_append k \[3,32\].*pastLen 6 \+ L 3 does not fit maxSeq 8/],
      [() => recordKvAppend(ctx, step, cache, kv, kvWide, 0), /kv_append k \[3,32\] v \[3,40\].*v has shape \[3,40\] but \[3,32\]/],
      [() => recordKvAppend(ctx, step, { keys: cache.keys, values: q }, kv, kv, 0), /kv_append .*cache values has shape \[2,48\] but \[2,8,16\]/],
      [() => recordKvAppend(ctx, step, { keys: { ...cache.keys, buffer: q.buffer }, values: cache.values }, kv, kv, 0), /kv_append .*cache keys \[2,8,16\] needs 1024 bytes but its buffer has 512/],
      [() => createKvCache(ctx, 2, 8, 6), /kv_cache \[2,8,6\]: headDim 6 is not supported/],
      [() => createKvCache(ctx, 1, 8, 132), /kv_cache \[1,8,132\]: headDim 132 is not supported/],
    ];
    for (const [fn, message] of bad) {
      expect(fn).toThrow(KernelShapeError);
      expect(fn).toThrow(message);
    }
    expect(step.dispatchCount).toBe(0);
    release(ctx, cache.keys, cache.values, q, out, kv, kvWide);
  });
});
