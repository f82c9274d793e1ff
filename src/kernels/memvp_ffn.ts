// The fused FFN + memory-space visual prompts (MemVP) block, as the paper's concatenated GEMMs:
//   LLaMA: out = h + (SiLU(u W1) * (u W3)) W2 + s * SiLU(u K^T) V
//   BART:  out = GELU(u W1 + b1) W2 + b2 + s * GELU(u K^T) V (+ h when a residual is given)
// Pass 1 (memvp_ffn_up) reads u once for the columns [W1 | W3 | K^T] and writes hidden [L, Dh + n4];
// pass 2 (memvp_ffn_down) reads hidden once for the rows [W2 ; V]. K arrives as [n, d] and is first laid out as
// kT [d, n4] (memvp_keys_t, once per step for all the layers that share K), so pass 1 reads K^T's columns exactly
// as it reads W1's. Without memory entries (n = 0) these are exactly the plain FFN kernels. W1 and W3 arrive as one weight wUp = [W1 | W3] along N (built once at load:
// memvpUpWeightF32, concatQuantColumns), so each pass binds at most 8 storage buffers, WebGPU's default limit.
// wUp and W2 are f32 or MatMulNBits-quantized (a partial last block along K included); K and V (shared by all
// layers) are f32. Optional: a mask [n] multiplying each entry's contribution, and the retrieval scores
// act(u K^T) [L, n] (before mask and s). Needs d and D multiples of 4 (vec4 loads along both) and quantized
// blocks of a multiple of 16 bytes (4-bit blocks of >= 32).
import downCode from '../../shaders/memvp_ffn_down.wgsl?raw';
import upCode from '../../shaders/memvp_ffn_up.wgsl?raw';
import keysTCode from '../../shaders/memvp_keys_t.wgsl?raw';
import { shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { ACT_CODE, activationRef, type Activation } from './activation.js';
import { ceilDiv, check, checkTensor } from './common.js';
import { checkQuantWeight, quantLayout, quantWeightStr, type QuantWeight } from './quant.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const memvpFfnUpKernel = defineKernel(
  'memvp_ffn_up',
  upCode,
  uniformLayout({
    L: 'u32',
    d: 'u32',
    D: 'u32',
    n: 'u32',
    hs4: 'u32',
    gateTiles: 'u32',
    memTiles: 'u32',
    nBlocks: 'u32',
    blockSize: 'u32',
    maskAt: 'u32',
    s: 'f32',
  }),
);
export const memvpFfnDownKernel = defineKernel(
  'memvp_ffn_down',
  downCode,
  uniformLayout({ L: 'u32', d: 'u32', n: 'u32', hs4: 'u32', Dh4: 'u32', memTiles: 'u32', nBlocks: 'u32', blockSize: 'u32' }),
);
export const memvpKeysTKernel = defineKernel('memvp_keys_t', keysTCode, uniformLayout({ n: 'u32', d4: 'u32', m4: 'u32' }));
const keysTSpec: PipelineSpec = { kernel: memvpKeysTKernel };

export type MemvpForm = 'llama' | 'bart';
export type MemvpWeight = GpuTensor | QuantWeight;

const FORM_ACT: Record<MemvpForm, Activation> = { llama: 'silu', bart: 'gelu_erf' };
// Rows per invocation and workgroup shape: 4 rows x 4 columns per invocation, 16 x 4 invocations (64 columns
// x 16 rows); decoding (L = 1) takes 1 row per invocation and 64 x 1 invocations so no work is wasted.
const tiling = (decode: boolean) => (decode ? { TM: 1, WG_X: 64, WG_Y: 1 } : { TM: 4, WG_X: 16, WG_Y: 4 });

// Column tiles per invocation of each pass: decoding quantized weights, two tiles share the row's loads and per-word
// work (pass 1: 16 columns of [W1 | W3] per invocation, pass 2: 8 of W2).
const passTiles = (decode: boolean, bits: number) => (decode && bits !== 0 ? 2 : 1);

/** What the pipelines specialise on; recordMemvpFfn derives it from its arguments. */
export interface MemvpFfnConfig {
  form: MemvpForm;
  /** wUp and W2: 0 for f32, else the quantized bits; zero points when the quantized weight has them. */
  upBits: 0 | 4 | 8;
  upZeroPoints: boolean;
  /** Quantized wUp whose K (= d) ends in a partial block. */
  upTail: boolean;
  downBits: 0 | 4 | 8;
  downZeroPoints: boolean;
  hasB1: boolean;
  hasB2: boolean;
  hasResidual: boolean;
  hasMask: boolean;
  hasScores: boolean;
  /** L = 1: one row per invocation (a model prepares both variants). */
  decode: boolean;
}

/** The pipelines recordMemvpFfn dispatches for config c: the keys' layout, pass 1, pass 2. */
export function memvpFfnPipelines(c: MemvpFfnConfig): [PipelineSpec, PipelineSpec, PipelineSpec] {
  const flag = (b: boolean) => (b ? 1 : 0);
  return [
    keysTSpec,
    {
      kernel: memvpFfnUpKernel,
      constants: {
        WFMT: c.upBits,
        HAS_ZP: flag(c.upZeroPoints),
        QTAIL: flag(c.upTail),
        GATED: flag(c.form === 'llama'),
        ACT: ACT_CODE[FORM_ACT[c.form]],
        HAS_B1: flag(c.hasB1),
        HAS_MASK: flag(c.hasMask),
        HAS_SCORES: flag(c.hasScores),
        TN: passTiles(c.decode, c.upBits),
        ...tiling(c.decode),
      },
    },
    {
      kernel: memvpFfnDownKernel,
      constants: { WFMT: c.downBits, HAS_ZP: flag(c.downZeroPoints), HAS_B2: flag(c.hasB2), HAS_RESIDUAL: flag(c.hasResidual), TN: passTiles(c.decode, c.downBits), ...tiling(c.decode) },
    },
  ];
}

export interface MemvpFfnArgs {
  form: MemvpForm;
  /** The FFN input (after the pre-norm) [L, d]. */
  u: GpuTensor;
  /** Added to the output [L, d]; must not be `out` itself. */
  residual?: GpuTensor;
  /** LLaMA: [W1 | W3] [d, 2D] as ONNX MatMul's B (or quantized with K = d, N = 2D); BART: W1 [d, D]. */
  wUp: MemvpWeight;
  /** [D, d], or quantized with K = D, N = d. */
  w2: MemvpWeight;
  b1?: GpuTensor;
  b2?: GpuTensor;
  /** Memory keys and values [n, d]; both absent means n = 0 (the plain FFN). */
  memK?: GpuTensor;
  memV?: GpuTensor;
  s: number;
  /** [n]: entry i's contribution is multiplied by mask[i] (1 keep, 0 block). */
  mask?: GpuTensor;
  /** [L, n]: receives act(u K^T), before the mask and s. */
  scores?: GpuTensor;
  out: GpuTensor;
}

/** wUp of the LLaMA form from f32 W1, W3 [d, D] (row-major): [d, 2D] with each row W1's then W3's. */
export function memvpUpWeightF32(w1: Float32Array, w3: Float32Array, d: number, D: number): Float32Array {
  const out = new Float32Array(d * 2 * D);
  for (let k = 0; k < d; k++) {
    out.set(w1.subarray(k * D, (k + 1) * D), 2 * k * D);
    out.set(w3.subarray(k * D, (k + 1) * D), (2 * k + 1) * D);
  }
  return out;
}

const isQuant = (w: MemvpWeight): w is QuantWeight => 'packed' in w;
const weightStr = (w: MemvpWeight) => (isQuant(w) ? quantWeightStr(w) : shapeStr(w.shape));
const dims = (w: MemvpWeight) => (isQuant(w) ? [w.K, w.N] : w.shape);

export function memvpFfnConfig(a: MemvpFfnArgs): MemvpFfnConfig {
  const bits = (w: MemvpWeight) => (isQuant(w) ? w.bits : 0);
  const zp = (w: MemvpWeight) => isQuant(w) && w.zeroPoints !== undefined;
  return {
    form: a.form,
    upBits: bits(a.wUp),
    upZeroPoints: zp(a.wUp),
    upTail: isQuant(a.wUp) && a.wUp.K % a.wUp.blockSize !== 0,
    downBits: bits(a.w2),
    downZeroPoints: zp(a.w2),
    hasB1: !!a.b1,
    hasB2: !!a.b2,
    hasResidual: !!a.residual,
    hasMask: !!a.mask,
    hasScores: !!a.scores,
    decode: a.u.shape[0] === 1,
  };
}

/** Checks a weight is [K, N] (f32) or a quantized weight with that K, N that the kernels can read. */
function checkWeight(label: string, name: string, w: MemvpWeight, K: number, N: number): void {
  if (!isQuant(w)) {
    checkTensor(label, name, w, [K, N]);
    return;
  }
  check(w.K === K && w.N === N, label, () => `${name} is quantized [${w.K},${w.N}] but [${K},${N}] was expected`);
  checkQuantWeight(label, w);
  // The kernels load 16 bytes of a column at a time.
  check((w.blockSize * w.bits) % 128 === 0, label, () => `${name}: ${w.bits}-bit blocks of ${w.blockSize} are not a multiple of 16 bytes`);
}

export function recordMemvpFfn(_ctx: GpuContext, step: Step, a: MemvpFfnArgs): void {
  const { u, wUp, w2, memK, memV, out } = a;
  const n = memK?.shape[0] ?? 0;
  const label = `memvpFfn(${a.form}) u ${shapeStr(u.shape)} wUp ${weightStr(wUp)} w2 ${weightStr(w2)} n=${n}`;
  check(u.shape.length === 2 && u.shape[0]! >= 1, label, () => 'u must be [L >= 1, d]');
  const [L, d] = u.shape as [number, number];
  const N = dims(wUp)[1] ?? 0;
  const D = a.form === 'llama' ? N / 2 : N;
  check(d > 0 && d % 4 === 0 && D > 0 && D % 4 === 0, label, () => `d=${d} and D=${D} must be positive multiples of 4`);
  checkTensor(label, 'u', u, [L, d]);
  checkWeight(label, 'wUp', wUp, d, N);
  checkWeight(label, 'w2', w2, D, d);
  if (a.b1) checkTensor(label, 'b1', a.b1, [D]);
  if (a.b2) checkTensor(label, 'b2', a.b2, [d]);
  if (a.residual) {
    checkTensor(label, 'residual', a.residual, [L, d]);
    check(a.residual.buffer !== out.buffer, label, () => 'out must not be the residual buffer (read and written in one dispatch)');
  }
  checkTensor(label, 'out', out, [L, d]);
  check(!memK === !memV, label, () => 'memK and memV come together');
  if (memK && memV) {
    check(memK.shape.length === 2 && n >= 1, label, () => `memK ${shapeStr(memK.shape)} must be [n >= 1, ${d}]`);
    checkTensor(label, 'memK', memK, [n, d]);
    checkTensor(label, 'memV', memV, [n, d]);
  }
  check(n > 0 || (!a.mask && !a.scores), label, () => 'mask and scores need memory entries');
  if (a.mask) checkTensor(label, 'mask', a.mask, [n]);
  if (a.scores) checkTensor(label, 'scores', a.scores, [L, n]);
  check(Number.isFinite(a.s), label, () => `s=${a.s} must be finite`);

  const config = memvpFfnConfig(a);
  const [keysT, upSpec, downSpec] = memvpFfnPipelines(config);
  const { TM, WG_X, WG_Y } = tiling(config.decode);
  // hidden's gate part spans W2's whole blocks (zeros past D).
  const down = isQuant(w2) ? { nBlocks: quantLayout(D, w2).nBlocks, blockSize: w2.blockSize } : { nBlocks: 0, blockSize: 0 };
  const Dh = isQuant(w2) ? down.nBlocks * down.blockSize : D;
  const memTiles = ceilDiv(n, 4);
  const hs4 = Dh / 4 + memTiles;
  const hidden = step.temp(L * hs4 * 16, 'memvp hidden');
  // Unused bindings get small dummies; the written one (scores) needs its own.
  const dummy = step.temp(16, 'memvp dummy');
  const scores = a.scores?.buffer ?? step.temp(16, 'memvp dummy scores');
  // b1 and the mask travel in one buffer (one binding): [b1 | mask], copied in per run.
  const maskAt = a.b1 ? D : 0;
  let epi = dummy;
  if (a.b1 || a.mask) {
    epi = step.temp((maskAt + (a.mask ? n : 0)) * 4, 'memvp b1|mask');
    if (a.b1) step.copy(a.b1.buffer, epi, D * 4);
    if (a.mask) step.copy(a.mask.buffer, epi, n * 4, 0, maskAt * 4);
  }
  const parts = (w: MemvpWeight) => (isQuant(w) ? [w.packed.buffer, w.scales.buffer, w.zeroPoints?.buffer ?? dummy] : [w.buffer, dummy, dummy]);
  const up = isQuant(wUp) ? { nBlocks: quantLayout(d, wUp).nBlocks, blockSize: wUp.blockSize } : { nBlocks: 0, blockSize: 0 };
  const rowGroups = ceilDiv(ceilDiv(L, TM), WG_Y);
  // Every layer reads the same K: its layout is made once per step.
  const kT = !memK
    ? dummy
    : step.once(memK, 'memvp kT', () => {
        const t = step.temp(d * memTiles * 16, 'memvp kT');
        step.dispatch({
          pipeline: keysT,
          label: `memvp keys ${shapeStr(memK.shape)} -> kT`,
          uniforms: memvpKeysTKernel.pack({ n, d4: d / 4, m4: memTiles }),
          buffers: [memK.buffer, t],
          workgroups: [ceilDiv(memTiles, 64), d / 4],
        });
        return t;
      });
  step.dispatch({
    pipeline: upSpec,
    label: `${label} (up)`,
    uniforms: memvpFfnUpKernel.pack({ L, d, D, n, hs4, gateTiles: Dh / 4, memTiles, nBlocks: up.nBlocks, blockSize: up.blockSize, maskAt, s: a.s }),
    buffers: [u.buffer, ...parts(wUp), kT, epi, scores, hidden],
    workgroups: [ceilDiv(ceilDiv(Dh / 4, passTiles(config.decode, config.upBits)) + memTiles, WG_X), rowGroups],
  });
  step.dispatch({
    pipeline: downSpec,
    label: `${label} (down)`,
    uniforms: memvpFfnDownKernel.pack({ L, d, n, hs4, Dh4: Dh / 4, memTiles, nBlocks: down.nBlocks, blockSize: down.blockSize }),
    buffers: [hidden, ...parts(w2), memV?.buffer ?? dummy, a.b2?.buffer ?? dummy, a.residual?.buffer ?? dummy, out.buffer],
    workgroups: [ceilDiv(ceilDiv(d / 4, passTiles(config.decode, config.downBits)), WG_X), rowGroups],
  });
}

export interface MemvpFfnReferenceArgs {
  form: MemvpForm;
  L: number;
  d: number;
  D: number;
  /** Memory entries (0 = the plain FFN). */
  n: number;
  u: Float32Array;
  residual?: Float32Array;
  /** f32 (dequantised for quantized weights): w1, w3 [d, D], w2 [D, d]. */
  w1: Float32Array;
  w3?: Float32Array;
  w2: Float32Array;
  b1?: Float32Array;
  b2?: Float32Array;
  memK?: Float32Array;
  memV?: Float32Array;
  s: number;
  mask?: Float32Array;
}

/** Plain-TS MemVP FFN in f64 accumulation: the output [L, d] and the scores act(u K^T) [L, n]. */
export function memvpFfnReference(r: MemvpFfnReferenceArgs): { out: Float32Array; scores: Float32Array } {
  const { L, d, D, n, u } = r;
  const act = FORM_ACT[r.form];
  const out = new Float32Array(L * d);
  const scores = new Float32Array(L * n);
  const hidden = new Float64Array(D);
  const mem = new Float64Array(n);
  for (let l = 0; l < L; l++) {
    for (let j = 0; j < D; j++) {
      let a = r.b1?.[j] ?? 0;
      let g = 0;
      for (let k = 0; k < d; k++) {
        a += u[l * d + k]! * r.w1[k * D + j]!;
        if (r.w3) g += u[l * d + k]! * r.w3[k * D + j]!;
      }
      hidden[j] = r.form === 'llama' ? activationRef(a, act) * g : activationRef(a, act);
    }
    for (let i = 0; i < n; i++) {
      let a = 0;
      for (let k = 0; k < d; k++) a += u[l * d + k]! * r.memK![i * d + k]!;
      const p = activationRef(a, act);
      scores[l * n + i] = p;
      mem[i] = r.s * (r.mask?.[i] ?? 1) * p;
    }
    for (let c = 0; c < d; c++) {
      let y = (r.residual?.[l * d + c] ?? 0) + (r.b2?.[c] ?? 0);
      for (let j = 0; j < D; j++) y += hidden[j]! * r.w2[j * d + c]!;
      for (let i = 0; i < n; i++) y += mem[i]! * r.memV![i * d + c]!;
      out[l * d + c] = y;
    }
  }
  return { out, scores };
}
