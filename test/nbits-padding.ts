// Test helper for MatMulNBits weights whose last block is partial (K not a multiple of the block size).
import { quantLayout, type QuantBits, type QuantizedBlocks } from '../src/kernels/quant.js';
import { rng } from './helpers/gpu.js';

/** Random values in a partial last block's padding (readers must ignore it: onnxruntime's quantizers leave zeros or zero points). */
export function scramblePadding(q: QuantizedBlocks, K: number, N: number, bits: QuantBits, blockSize: number, seed: number): void {
  const { nBlocks, blobSize } = quantLayout(K, { bits, blockSize });
  const r = rng(seed);
  for (let n = 0; n < N; n++) {
    const base = (n * nBlocks + nBlocks - 1) * blobSize;
    for (let i = K - (nBlocks - 1) * blockSize; i < blockSize; i++) {
      const v = Math.floor(r() * 2 ** bits);
      if (bits === 8) q.packed[base + i] = v;
      else q.packed[base + (i >> 1)] = (q.packed[base + (i >> 1)]! & (0xf0 >> (4 * (i & 1)))) | (v << (4 * (i & 1)));
    }
  }
}

