// Block quantization in onnxruntime's MatMulNBits layout (com.microsoft contrib op), on the CPU and on the GPU.
// W [K,N] (as ONNX MatMul's B) is stored transposed and blocked along K: packed uint8 [N, nBlocks, blobSize]
// with values low-first (4 bits: low nibble first), scales f32 [N * nBlocks], optional zero points uint8
// packed [N * ceil(nBlocks * bits / 8)] (4 bits: two per byte, low nibble = even block). w = (q - zp) * scale,
// zp = 2^(bits-1) when there are no zero points. The GPU reads the packed bytes and zero points as u32 words.
// K need not be a multiple of the block size (as in onnxruntime): nBlocks = ceil(K / blockSize) and the last
// block's values past K are padding that readers ignore (onnxruntime's kernels only sum k < K). Ours holds the
// zero point there, so the padding also dequantizes to 0.
import { concatArrays } from '../arrays.js';
import { numel, shapeStr, type GpuContext, type GpuTensor } from '../gpu/index.js';
import { check, checkTensor, release, upload } from './common.js';

export type QuantBits = 4 | 8;

export interface QuantOptions {
  bits: QuantBits;
  /** Values per block along K: a power of two in 16..256. */
  blockSize: number;
  /** No zero points: zp = 2^(bits-1) for every block. */
  symmetric?: boolean;
}

export interface QuantizedBlocks {
  /** uint8 [N, nBlocks, blobSize]. */
  packed: Uint8Array;
  /** f32 [N * nBlocks]. */
  scales: Float32Array;
  /** uint8 [N * ceil(nBlocks * bits / 8)]; absent for symmetric quantization. */
  zeroPoints?: Uint8Array;
}

/** A quantized weight on the GPU: packed [N, nBlocks, blobSize / 4] u32, scales [N, nBlocks] f32, zero points as u32 words. */
export interface QuantWeight {
  packed: GpuTensor;
  scales: GpuTensor;
  zeroPoints?: GpuTensor;
  K: number;
  N: number;
  bits: QuantBits;
  blockSize: number;
}

export function quantLayout(K: number, opts: Pick<QuantOptions, 'bits' | 'blockSize'>) {
  const nBlocks = Math.ceil(K / opts.blockSize);
  const blobSize = (opts.blockSize * opts.bits) / 8;
  const zpBytesPerCol = Math.ceil((nBlocks * opts.bits) / 8);
  return { nBlocks, blobSize, zpBytesPerCol };
}

/** Throws KernelShapeError unless bits, block size, K and N are valid (any K >= 1: the last block may be partial). */
export function checkQuantOptions(kernel: string, K: number, N: number, opts: Pick<QuantOptions, 'bits' | 'blockSize'>): void {
  const what = () => `K=${K} N=${N} bits=${opts.bits} blockSize=${opts.blockSize}`;
  check(opts.bits === 4 || opts.bits === 8, kernel, () => `${what()}: bits must be 4 or 8`);
  const b = opts.blockSize;
  check(Number.isInteger(b) && b >= 16 && b <= 256 && (b & (b - 1)) === 0, kernel, () => `${what()}: block size must be a power of two in 16..256`);
  check(Number.isInteger(K) && K > 0, kernel, () => `${what()}: K must be positive`);
  check(Number.isInteger(N) && N > 0, kernel, () => `${what()}: N must be positive`);
}

export function quantizeBlockwise(w: Float32Array, K: number, N: number, opts: QuantOptions): QuantizedBlocks {
  const kernel = 'quantizeBlockwise';
  checkQuantOptions(kernel, K, N, opts);
  check(w.length === K * N, kernel, () => `w has ${w.length} values but K*N = ${K * N}`);
  const { bits, blockSize } = opts;
  const { nBlocks, blobSize, zpBytesPerCol } = quantLayout(K, opts);
  const qmax = 2 ** bits - 1;
  const packed = new Uint8Array(N * nBlocks * blobSize);
  const scales = new Float32Array(N * nBlocks);
  const zeroPoints = opts.symmetric ? undefined : new Uint8Array(N * zpBytesPerCol);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < nBlocks; b++) {
      let lo = 0;
      let hi = 0;
      let amax = 0;
      const end = Math.min(K, (b + 1) * blockSize);
      for (let k = b * blockSize; k < end; k++) {
        const v = w[k * N + n]!;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        amax = Math.max(amax, Math.abs(v));
      }
      let scale: number;
      let zp: number;
      if (zeroPoints) {
        scale = (hi - lo) / qmax;
        zp = scale > 0 ? Math.min(qmax, Math.max(0, Math.round(-lo / scale))) : 0;
        zeroPoints[n * zpBytesPerCol + (bits === 4 ? b >> 1 : b)]! |= bits === 4 ? zp << (4 * (b & 1)) : zp;
      } else {
        zp = 2 ** (bits - 1);
        scale = amax / (zp - 1);
      }
      scales[n * nBlocks + b] = scale;
      const base = (n * nBlocks + b) * blobSize;
      for (let i = 0; i < blockSize; i++) {
        const k = b * blockSize + i;
        const q = k >= K || !(scale > 0) ? zp : Math.min(qmax, Math.max(0, Math.round(w[k * N + n]! / Math.fround(scale)) + zp));
        if (bits === 8) packed[base + i] = q;
        else packed[base + (i >> 1)]! |= q << (4 * (i & 1));
      }
    }
  }
  return zeroPoints ? { packed, scales, zeroPoints } : { packed, scales };
}

/** W [K,N] as the kernels see it: (q - zp) * scale in f32. */
export function dequantizeBlockwise(q: QuantizedBlocks, K: number, N: number, opts: Pick<QuantOptions, 'bits' | 'blockSize'>): Float32Array {
  const { bits, blockSize } = opts;
  const { nBlocks, blobSize, zpBytesPerCol } = quantLayout(K, opts);
  const w = new Float32Array(K * N);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < nBlocks; b++) {
      const scale = q.scales[n * nBlocks + b]!;
      let zp = 2 ** (bits - 1);
      if (q.zeroPoints) {
        const byte = q.zeroPoints[n * zpBytesPerCol + (bits === 4 ? b >> 1 : b)]!;
        zp = bits === 4 ? (byte >> (4 * (b & 1))) & 15 : byte;
      }
      const base = (n * nBlocks + b) * blobSize;
      for (let i = 0; i < blockSize && b * blockSize + i < K; i++) {
        const v = bits === 8 ? q.packed[base + i]! : (q.packed[base + (i >> 1)]! >> (4 * (i & 1))) & 15;
        w[(b * blockSize + i) * N + n] = Math.fround((v - zp) * scale);
      }
    }
  }
  return w;
}

/** The blocks of W = [W_0 | W_1 | ...] along N, for parts quantized with the same K, bits and block size: the layout is
 * per column, so this appends each part's packed bytes, scales and zero points. */
export function concatQuantColumns(parts: readonly QuantizedBlocks[]): QuantizedBlocks {
  const kernel = 'concatQuantColumns';
  const withZp = parts.filter((p) => p.zeroPoints).length;
  check(parts.length > 0 && (withZp === 0 || withZp === parts.length), kernel, () => `${parts.length} parts, ${withZp} with zero points: all or none must have them`);
  const packed = concatArrays(parts.map((p) => p.packed), (n) => new Uint8Array(n));
  const scales = concatArrays(parts.map((p) => p.scales), (n) => new Float32Array(n));
  return withZp ? { packed, scales, zeroPoints: concatArrays(parts.map((p) => p.zeroPoints!), (n) => new Uint8Array(n)) } : { packed, scales };
}

/** Bytes padded to whole little-endian u32 words (how the kernels read packed weights and zero points). */
export function bytesToWords(bytes: Uint8Array): Uint32Array {
  const out = new Uint32Array(Math.ceil(bytes.length / 4));
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function uploadQuantWeight(ctx: GpuContext, q: QuantizedBlocks, K: number, N: number, opts: Pick<QuantOptions, 'bits' | 'blockSize'>, label = 'qweight'): QuantWeight {
  const kernel = `uploadQuantWeight(${label})`;
  checkQuantOptions(kernel, K, N, opts);
  const { nBlocks, blobSize, zpBytesPerCol } = quantLayout(K, opts);
  check(q.packed.length === N * nBlocks * blobSize, kernel, () => `packed has ${q.packed.length} bytes, [${N},${nBlocks},${blobSize}] expected`);
  check(q.scales.length === N * nBlocks, kernel, () => `scales has ${q.scales.length} values, ${N * nBlocks} expected`);
  check(!q.zeroPoints || q.zeroPoints.length === N * zpBytesPerCol, kernel, () => `zero points have ${q.zeroPoints!.length} bytes, ${N * zpBytesPerCol} expected`);
  const zp = q.zeroPoints && bytesToWords(q.zeroPoints);
  return {
    packed: upload(ctx, bytesToWords(q.packed), [N, nBlocks, blobSize / 4], `${label}.packed`),
    scales: upload(ctx, q.scales, [N, nBlocks], `${label}.scales`),
    ...(zp && { zeroPoints: upload(ctx, zp, [zp.length], `${label}.zeroPoints`) }),
    K,
    N,
    bits: opts.bits,
    blockSize: opts.blockSize,
  };
}

/** Validates a QuantWeight's tensors against its K, N, bits and block size (for the kernels that read it). */
export function checkQuantWeight(kernel: string, w: QuantWeight): void {
  checkQuantOptions(kernel, w.K, w.N, w);
  // The kernels read A in vec4s along K (rows must start on vec4 boundaries).
  check(w.K % 4 === 0, kernel, () => `K=${w.K} must be a multiple of 4`);
  const { nBlocks, blobSize, zpBytesPerCol } = quantLayout(w.K, w);
  checkTensor(kernel, 'packed weight', w.packed, [w.N, nBlocks, blobSize / 4], 'u32');
  checkTensor(kernel, 'scales', w.scales, [w.N, nBlocks]);
  if (w.zeroPoints) {
    const zpWords = Math.ceil((w.N * zpBytesPerCol) / 4);
    checkTensor(kernel, 'zero points', w.zeroPoints, [zpWords], 'u32');
  }
}

export function releaseQuantWeight(ctx: GpuContext, w: QuantWeight): void {
  release(ctx, w.packed, w.scales, ...(w.zeroPoints ? [w.zeroPoints] : []));
}

export function quantWeightStr(w: QuantWeight): string {
  return `q${w.bits}/${w.blockSize}${w.zeroPoints ? '+zp' : ''} ${shapeStr([w.K, w.N])} (${numel(w.packed.shape) * 4} B)`;
}
