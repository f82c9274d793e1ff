// Node side of the latency benchmark's precision comparison: 8-bit and 4-bit copies of ONNX files, made with the
// project's quantizer (src/quant: quantizeModel, what `memvp quantize IN OUT --bits 4|8` runs), cached next to
// the f32 files' cache and reused while the source file is unchanged.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { encodeModel, loadOnnx } from '../onnx/index.js';
import { QUANTIZER_REVISION, quantizeModel, type QuantizeReport } from '../quant/index.js';

export type QuantBitsChoice = 4 | 8;

/** The quantizer's settings used for every benchmark file (its defaults: block 32, zero points, LM head quantized too). */
export const BENCH_QUANT = { blockSize: 32, symmetric: false, skipEmbeddings: false } as const;

export interface QuantizedFile {
  file: string;
  bytes: number;
  reused: boolean;
  seconds: number;
  quantizedWeights: number;
  skippedMatMuls: number;
}

/** `src` quantized to `dst` (reused when dst's stamp names the same source size, mtime, settings and quantizer revision). */
export async function quantizeFile(src: string, dst: string, bits: QuantBitsChoice): Promise<QuantizedFile> {
  const s = await stat(src);
  const stamp = JSON.stringify({ size: s.size, mtimeMs: s.mtimeMs, bits, ...BENCH_QUANT, quantizer: QUANTIZER_REVISION });
  const stampFile = `${dst}.stamp.json`;
  if (existsSync(dst) && existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stamp) {
    const meta = JSON.parse(await readFile(`${dst}.report.json`, 'utf8')) as { quantized: number; skipped: number };
    return { file: dst, bytes: (await stat(dst)).size, reused: true, seconds: 0, quantizedWeights: meta.quantized, skippedMatMuls: meta.skipped };
  }
  const t0 = performance.now();
  const model = await loadOnnx(src);
  if (model.graph.initializers.some((t) => t.external)) throw new Error(`${src}: external data is not handled here (use npx memvp quantize)`);
  const q: { model: typeof model; report: QuantizeReport } = await quantizeModel(model, { bits, ...BENCH_QUANT });
  const bytes = encodeModel(q.model);
  await writeFile(dst, bytes);
  await writeFile(`${dst}.report.json`, JSON.stringify({ quantized: q.report.quantized.length, skipped: q.report.skipped.length, report: q.report }));
  await writeFile(stampFile, stamp);
  return { file: dst, bytes: bytes.length, reused: false, seconds: (performance.now() - t0) / 1000, quantizedWeights: q.report.quantized.length, skippedMatMuls: q.report.skipped.length };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * A copy of the package in `srcDir` with every .onnx file quantized to `bits` (other files copied) and a manifest
 * whose sizes and sha256 match, so MemVP.load (and `memvp eval --model`) take it like the original.
 */
export async function quantizedPackage(srcDir: string, dstDir: string, bits: QuantBitsChoice): Promise<{ dir: string; files: Record<string, QuantizedFile> }> {
  await mkdir(dstDir, { recursive: true });
  const manifest = JSON.parse(await readFile(join(srcDir, 'manifest.json'), 'utf8')) as { files: Record<string, { sha256: string; bytes: number }>; totalBytes?: number; [k: string]: unknown };
  const files: Record<string, QuantizedFile> = {};
  for (const name of await readdir(srcDir)) {
    if (name === 'manifest.json') continue;
    const src = join(srcDir, name);
    const dst = join(dstDir, name);
    if (name.endsWith('.onnx')) files[name] = await quantizeFile(src, dst, bits);
    else await copyFile(src, dst);
    if (manifest.files[name]) {
      const bytes = await readFile(dst);
      manifest.files[name] = { sha256: sha256(bytes), bytes: bytes.length };
    }
  }
  manifest.totalBytes = Object.values(manifest.files).reduce((s, f) => s + f.bytes, 0);
  manifest.quantized = { bits, ...BENCH_QUANT, by: 'src/quant quantizeModel (npx memvp quantize)', from: srcDir };
  await writeFile(join(dstDir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  return { dir: dstDir, files };
}
