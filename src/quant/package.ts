// Node only: the quantizer (quantizeModel) on files. quantizeFile writes one ONNX file's 4- or 8-bit copy;
// quantizePackage copies a whole model package with every .onnx file quantized and a manifest whose sizes, sha256
// and op lists match, so MemVP.load (and `memvp answer/eval --model`) take the copy like the original. Both run
// `memvp quantize`; the latency benchmark calls them with `reuse` to keep its cached copies.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseManifest, type Manifest } from '../memvp/manifest.js';
import { encodeModel, loadOnnx, readTensorBytes } from '../onnx/index.js';
import type { QuantBits } from '../kernels/quant.js';
import { checkQuantizeOptions, QUANTIZER_REVISION, QuantizeError, quantizeModel, type QuantizeModelOptions, type QuantizeReport } from './quantize-model.js';

export interface QuantizeFileOptions extends QuantizeModelOptions {
  /**
   * Keep an existing output whose sidecar (OUT.quant.json) names the same source size and mtime, settings and
   * quantizer revision, and write that sidecar when quantizing. Default false: always quantize, no sidecar.
   */
  reuse?: boolean;
}

export interface QuantizePackageOptions extends QuantizeFileOptions {
  /** Bits for the vision encoder's graphs (default `bits`): it feeds every layer's memory, so it may want more. */
  visionBits?: QuantBits;
}

export interface QuantizedFile {
  /** The written (or reused) file. */
  file: string;
  bytesBefore: number;
  bytes: number;
  reused: boolean;
  seconds: number;
  report: QuantizeReport;
  /** The op types of the written graph, sorted (the manifest's `graphs[file].ops`). */
  ops: string[];
}

export interface QuantizedPackage {
  dir: string;
  /** The manifest written to dir/manifest.json. */
  manifest: Manifest;
  /** The quantized .onnx files by name. */
  files: Record<string, QuantizedFile>;
  /** The other files, copied as they are. */
  copied: string[];
  /** The manifests' totalBytes. */
  totalBefore: number;
  totalAfter: number;
}

interface Sidecar {
  key: string;
  report: QuantizeReport;
  ops: string[];
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** `src` quantized to `dst`, which holds all its data (the source's external data is read in). */
export async function quantizeFile(src: string, dst: string, options: QuantizeFileOptions): Promise<QuantizedFile> {
  const { reuse = false, ...quant } = options;
  const settings = checkQuantizeOptions(quant);
  let key: string | undefined;
  if (reuse) {
    const s = await stat(src);
    key = JSON.stringify({ size: s.size, mtimeMs: s.mtimeMs, ...settings, quantizer: QUANTIZER_REVISION });
    const sidecar = `${dst}.quant.json`;
    const kept = existsSync(dst) && existsSync(sidecar) ? (JSON.parse(await readFile(sidecar, 'utf8')) as Sidecar) : undefined;
    if (kept?.key === key) return { file: dst, bytesBefore: s.size, bytes: (await stat(dst)).size, reused: true, seconds: 0, report: kept.report, ops: kept.ops };
  }
  const t0 = performance.now();
  const model = await loadOnnx(src);
  const { model: q, report } = await quantizeModel(model, settings);
  const initializers = await Promise.all(
    q.graph.initializers.map(async ({ external, ...t }) => (external ? { ...t, rawData: await readTensorBytes({ ...t, external }, model.externalData) } : t)),
  );
  const bytes = encodeModel({ ...q, graph: { ...q.graph, initializers } });
  await writeFile(dst, bytes);
  const ops = [...new Set(q.graph.nodes.map((n) => n.opType))].sort();
  if (key !== undefined) await writeFile(`${dst}.quant.json`, JSON.stringify({ key, report, ops } satisfies Sidecar));
  return { file: dst, bytesBefore: (await stat(src)).size, bytes: bytes.length, reused: false, seconds: (performance.now() - t0) / 1000, report, ops };
}

const isInside = (dir: string, path: string) => {
  const rel = relative(dir, path);
  return rel === '' || (rel.split(sep)[0] !== '..' && !isAbsolute(rel));
};

/**
 * A copy of the package in `srcDir` (its manifest.json's files and every other file at its top level) in `dstDir`:
 * .onnx files quantized, the rest copied, and the manifest rewritten: each file's sha256 and bytes, totalBytes,
 * the graphs' ops, name + "-q4"/"-q8", dtype "q4"/"q8" (the language model's bits) and `quantized`. The options, the source (its manifest and
 * files against their sha256) and the destination are checked before anything is written; a bad source or
 * destination throws QuantizeError naming the path (ModelLoadError for a malformed manifest).
 */
export async function quantizePackage(srcDir: string, dstDir: string, options: QuantizePackageOptions): Promise<QuantizedPackage> {
  const { visionBits: visionOption, ...fileOptions } = options;
  const { bits, blockSize, symmetric, skipEmbeddings } = checkQuantizeOptions(fileOptions);
  const visionBits = visionOption ?? bits;
  checkQuantizeOptions({ ...fileOptions, bits: visionBits });
  const src = resolve(srcDir);
  const dst = resolve(dstDir);
  const manifestPath = join(src, 'manifest.json');
  if (!existsSync(manifestPath)) throw new QuantizeError(src, 'has no manifest.json (not a model package)');
  if (isInside(src, dst)) throw new QuantizeError(dst, `is inside the source package ${src}`);
  if (existsSync(dst)) {
    if (!(await stat(dst)).isDirectory()) throw new QuantizeError(dst, 'exists and is not a directory');
    if (!existsSync(join(dst, 'manifest.json')) && (await readdir(dst)).length > 0) {
      throw new QuantizeError(dst, 'is a non-empty directory without manifest.json (not a model package): not writing into it');
    }
  }
  const manifest = parseManifest(await readFile(manifestPath, 'utf8'), manifestPath);
  if (manifest.quantized) throw new QuantizeError(manifestPath, `is already a ${manifest.dtype} copy of ${manifest.quantized.source}`);
  for (const [name, { sha256: expected }] of Object.entries(manifest.files)) {
    const path = join(src, name);
    if (!isInside(src, path) || path === manifestPath) throw new QuantizeError(path, 'is not a file of the package (listed in manifest.json)');
    if (!existsSync(path)) throw new QuantizeError(path, 'is listed in manifest.json but missing');
    if (sha256(await readFile(path)) !== expected) throw new QuantizeError(path, 'differs from manifest.json (sha256): the package is stale or corrupted');
  }
  const others = (await readdir(src, { withFileTypes: true })).filter((e) => e.isFile() && e.name !== 'manifest.json' && !Object.hasOwn(manifest.files, e.name));

  const visionFiles = new Set(Object.values(manifest.modes).flatMap((m) => ('vision' in m ? [m.vision] : [])));
  const out = structuredClone(manifest);
  const files: Record<string, QuantizedFile> = {};
  const copied: string[] = [];
  for (const name of [...Object.keys(manifest.files), ...others.map((e) => e.name)]) {
    const to = join(dst, name);
    await mkdir(dirname(to), { recursive: true });
    if (!name.endsWith('.onnx')) {
      await copyFile(join(src, name), to);
      copied.push(name);
      continue;
    }
    const q = await quantizeFile(join(src, name), to, { ...fileOptions, bits: visionFiles.has(name) ? visionBits : bits });
    files[name] = q;
    if (out.graphs[name]) out.graphs[name].ops = q.ops;
    if (out.files[name]) {
      const bytes = await readFile(to);
      out.files[name] = { sha256: sha256(bytes), bytes: bytes.length };
    }
  }
  out.name = `${manifest.name}-q${bits}`;
  out.dtype = `q${bits}`;
  out.quantized = { bits, blockSize, symmetric, skipEmbeddings, ...(visionBits !== bits && { visionBits }), source: manifest.name };
  out.totalBytes = Object.values(out.files).reduce((s, f) => s + f.bytes, 0);
  await writeFile(join(dst, 'manifest.json'), JSON.stringify(out, null, 1) + '\n');
  return { dir: dst, manifest: out, files, copied, totalBefore: manifest.totalBytes, totalAfter: out.totalBytes };
}
