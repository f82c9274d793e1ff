// Embedding lookup from a block-quantized table: onnxruntime's com.microsoft GatherBlockQuantized with uint8 data,
// gather_axis 0, quantize_axis 1 (the last). The table [rows, cols] is blocked along cols like MatMulNBits' W^T
// (src/kernels/quant.ts: scales [rows, nBlocks], zero points [rows, ceil(nBlocks * bits / 8)], zp = 2^(bits-1)
// without them), but its packed data is [rows, cols * bits / 8] with no padding in a partial last block, so a
// 4-bit table needs an even cols. Quantization reuses quantizeBlockwise on the transposed table.
// Indices: negative ones count from the end; out-of-range ones give a zero row on the GPU and in the reference
// (onnxruntime 1.30 raises an error: the graph op rejects them when they are known on the CPU).
import code from '../../shaders/gather_nbits.wgsl?raw';
import { numel, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { check, checkTensor, grid1d, upload } from './common.js';
import { bytesToWords, checkQuantOptions, quantizeBlockwise, quantLayout, type QuantBits, type QuantOptions } from './quant.js';
import { defineKernel } from './shader.js';
import { uniformLayout } from './uniforms.js';

export const gatherNbitsKernel = defineKernel('gather_nbits', code, uniformLayout({ num_indices: 'u32', rows: 'u32', cols: 'u32', n_blocks: 'u32', groups: 'u32' }));

/** A quantized table on the CPU, in GatherBlockQuantized's layout. */
export interface QuantizedTable {
  /** uint8 [rows, cols * bits / 8]. */
  packed: Uint8Array;
  /** f32 [rows, nBlocks]. */
  scales: Float32Array;
  /** uint8 [rows, ceil(nBlocks * bits / 8)]; absent for symmetric quantization. */
  zeroPoints?: Uint8Array;
}

/** A quantized table on the GPU: packed data and zero points as their bytes in u32 words, scales [rows, nBlocks]. */
export interface QuantTable {
  packed: GpuTensor;
  scales: GpuTensor;
  zeroPoints?: GpuTensor;
  rows: number;
  cols: number;
  bits: QuantBits;
  blockSize: number;
}

export interface GatherNbitsConfig {
  bits: QuantBits;
  blockSize: number;
  zeroPoints: boolean;
}

export function tableLayout(rows: number, cols: number, opts: Pick<QuantOptions, 'bits' | 'blockSize'>) {
  const { nBlocks, zpBytesPerCol } = quantLayout(cols, opts);
  return { nBlocks, rowBytes: (cols * opts.bits) / 8, zpBytesPerRow: zpBytesPerCol, bytes: (rows * cols * opts.bits) / 8 };
}

/** Throws KernelShapeError unless bits, block size, rows and cols are valid (4 bits: cols even, two values a byte). */
export function checkTableOptions(kernel: string, rows: number, cols: number, opts: Pick<QuantOptions, 'bits' | 'blockSize'>): void {
  checkQuantOptions(kernel, cols, rows, opts);
  check(opts.bits !== 4 || cols % 2 === 0, kernel, () => `rows=${rows} cols=${cols}: a 4-bit table needs an even number of columns (two values a byte)`);
}

/** `table` [rows, cols] quantized along cols (quantizeBlockwise's rounding), in GatherBlockQuantized's layout. */
export function quantizeTable(table: Float32Array, rows: number, cols: number, opts: QuantOptions): QuantizedTable {
  const kernel = 'quantizeTable';
  checkTableOptions(kernel, rows, cols, opts);
  check(table.length === rows * cols, kernel, () => `table has ${table.length} values but rows*cols = ${rows * cols}`);
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = table[r * cols + c]!;
  const q = quantizeBlockwise(t, cols, rows, opts);
  const { nBlocks, blobSize } = quantLayout(cols, opts);
  const { rowBytes } = tableLayout(rows, cols, opts);
  // quantizeBlockwise pads each row to whole blocks; GatherBlockQuantized's rows are back to back.
  if (rowBytes !== nBlocks * blobSize) {
    const packed = new Uint8Array(rows * rowBytes);
    for (let r = 0; r < rows; r++) packed.set(q.packed.subarray(r * nBlocks * blobSize, r * nBlocks * blobSize + rowBytes), r * rowBytes);
    q.packed = packed;
  }
  return q;
}

export function uploadQuantTable(ctx: GpuContext, q: QuantizedTable, rows: number, cols: number, opts: Pick<QuantOptions, 'bits' | 'blockSize'>, label = 'qtable'): QuantTable {
  const kernel = `uploadQuantTable(${label})`;
  checkTableOptions(kernel, rows, cols, opts);
  const { nBlocks, zpBytesPerRow, bytes } = tableLayout(rows, cols, opts);
  check(q.packed.length === bytes, kernel, () => `packed has ${q.packed.length} bytes, ${bytes} expected for [${rows},${cols}]`);
  check(q.scales.length === rows * nBlocks, kernel, () => `scales has ${q.scales.length} values, ${rows * nBlocks} expected`);
  check(!q.zeroPoints || q.zeroPoints.length === rows * zpBytesPerRow, kernel, () => `zero points have ${q.zeroPoints!.length} bytes, ${rows * zpBytesPerRow} expected`);
  const packed = bytesToWords(q.packed);
  const zp = q.zeroPoints && bytesToWords(q.zeroPoints);
  return {
    packed: upload(ctx, packed, [packed.length], `${label}.packed`),
    scales: upload(ctx, q.scales, [rows, nBlocks], `${label}.scales`),
    ...(zp && { zeroPoints: upload(ctx, zp, [zp.length], `${label}.zeroPoints`) }),
    rows,
    cols,
    bits: opts.bits,
    blockSize: opts.blockSize,
  };
}

export function gatherNbitsPipeline(config: GatherNbitsConfig): PipelineSpec {
  return { kernel: gatherNbitsKernel, constants: { BITS: config.bits, BLOCK: config.blockSize, HAS_ZP: config.zeroPoints ? 1 : 0 } };
}

/** out [...indices.shape, cols] = rows of `table` at `indices` (i32), dequantized. */
export function recordGatherNbits(ctx: GpuContext, step: Step, table: QuantTable, indices: GpuTensor, out: GpuTensor): void {
  const { rows, cols, bits, blockSize } = table;
  const label = `gather_nbits q${bits}/${blockSize}${table.zeroPoints ? '+zp' : ''} ${shapeStr([rows, cols])} indices ${shapeStr(indices.shape)}`;
  checkTableOptions(label, rows, cols, table);
  const { nBlocks, zpBytesPerRow, bytes } = tableLayout(rows, cols, table);
  checkTensor(label, 'packed table', table.packed, [Math.ceil(bytes / 4)], 'u32');
  checkTensor(label, 'scales', table.scales, [rows, nBlocks]);
  if (table.zeroPoints) checkTensor(label, 'zero points', table.zeroPoints, [Math.ceil((rows * zpBytesPerRow) / 4)], 'u32');
  checkTensor(label, 'indices', indices, indices.shape, 'i32');
  checkTensor(label, 'out', out, [...indices.shape, cols]);
  const groups = Math.ceil((cols * bits) / 32);
  const n = numel(indices.shape) * groups;
  if (n === 0) return;
  step.dispatch({
    pipeline: gatherNbitsPipeline({ bits, blockSize, zeroPoints: !!table.zeroPoints }),
    label,
    uniforms: gatherNbitsKernel.pack({ num_indices: numel(indices.shape), rows, cols, n_blocks: nBlocks, groups }),
    buffers: [table.packed.buffer, indices.buffer, table.scales.buffer, (table.zeroPoints ?? table.scales).buffer, out.buffer],
    workgroups: grid1d(ctx, Math.ceil(n / 64)),
  });
}

/** The rows of `q` at `indices`, dequantized: (q - zp) * scale in f32, zero rows for out-of-range indices. */
export function gatherNbitsReference(q: QuantizedTable, indices: ArrayLike<number>, s: { rows: number; cols: number; bits: QuantBits; blockSize: number }): Float32Array {
  const { rows, cols, bits, blockSize } = s;
  const { nBlocks, rowBytes, zpBytesPerRow } = tableLayout(rows, cols, s);
  const out = new Float32Array(indices.length * cols);
  for (let j = 0; j < indices.length; j++) {
    const raw = indices[j]!;
    const r = raw < 0 ? raw + rows : raw;
    if (r < 0 || r >= rows) continue;
    for (let c = 0; c < cols; c++) {
      const b = Math.floor(c / blockSize);
      const v = bits === 8 ? q.packed[r * rowBytes + c]! : (q.packed[r * rowBytes + (c >> 1)]! >> (4 * (c & 1))) & 15;
      let zp = 2 ** (bits - 1);
      if (q.zeroPoints) {
        const byte = q.zeroPoints[r * zpBytesPerRow + (bits === 4 ? b >> 1 : b)]!;
        zp = bits === 4 ? (byte >> (4 * (b & 1))) & 15 : byte;
      }
      out[j * cols + c] = Math.fround((v - zp) * q.scales[r * nBlocks + b]!);
    }
  }
  return out;
}
