// The model package's manifest.json (written by training/pipeline.py): typed, and checked on load so that a
// malformed or mismatched package fails with the key at fault instead of deep inside a graph run.
import { ModelLoadError } from './errors.js';

export type GraphShape = readonly (number | string)[];

export interface GraphSignature {
  inputs: Record<string, GraphShape>;
  outputs: Record<string, GraphShape>;
  ops: string[];
}

/** How a package copy written by `memvp quantize IN OUT` (src/quant/package.ts) was made. */
export interface PackageQuantization {
  bits: 4 | 8;
  blockSize: number;
  symmetric: boolean;
  skipEmbeddings: boolean;
  /** Bits of the vision encoder's graphs (the modes' `vision` files) when they differ from `bits`. */
  visionBits?: 4 | 8;
  /** The source package's name. */
  source: string;
}

export interface Manifest {
  name: string;
  architecture: 'llama';
  /** 'f32' as exported by training/pipeline.py; 'q4' or 'q8' in a copy written by `memvp quantize` (see `quantized`). */
  dtype: string;
  opset: number;
  lm: {
    d: number;
    D: number;
    layers: number;
    heads: number;
    kvHeads: number;
    headDim: number;
    vocab: number;
    norm: string;
    normEps: number;
    rope: string;
    ropeTheta: number;
    maxPositions: number;
    ffn: string;
  };
  memvp: { n: number; lambda_: number; s: number; projector: string; visualTokens: number; branch: string };
  vision: {
    type: string;
    imageSize: number;
    patch: number;
    /** Patch grid [rows, cols]: memory entries 0..rows*cols-1 are the patches in row-major order. */
    patchGrid: [number, number];
    width: number;
    layers: number;
    heads: number;
    features: string;
    pixelLayout: string;
    pixelMean: [number, number, number];
    pixelStd: [number, number, number];
    normalise: string;
  };
  tokenizer: string;
  /** The prompt, with `{question}` where the question goes. */
  promptTemplate: string;
  bosId: number;
  eosId: number;
  padId: number;
  unkId: number;
  addBos: string;
  answers: string[];
  modes: {
    memvp: { vision: string; decoder: string; usage: string };
    inputSpace: { vision: string; embed: string; decoder: string; usage: string };
    textOnly: { decoder: string; memory: string; usage: string };
    noVisual: { decoder: string; memory: string; usage: string };
  };
  graphs: Record<string, GraphSignature>;
  files: Record<string, { sha256: string; bytes: number }>;
  totalBytes: number;
  quantized?: PackageQuantization;
}

/** Parses and checks manifest.json; `where` (its URL or path) goes into every error message. */
export function parseManifest(text: string, where: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    throw new ModelLoadError(`${where} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const fail = (detail: string): never => {
    throw new ModelLoadError(`${where}: ${detail}`);
  };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const int = (v: unknown, key: string) => {
    if (!Number.isInteger(v) || (v as number) < 0) fail(`"${key}" must be a non-negative integer, got ${JSON.stringify(v)}`);
  };
  if (!isObject(m)) fail('the manifest must be a JSON object');
  if (m.architecture !== 'llama') fail(`architecture "${m.architecture}" is not supported (only "llama")`);
  for (const key of ['lm', 'memvp', 'vision', 'modes', 'graphs', 'files'] as const) if (!isObject(m[key])) fail(`"${key}" must be an object`);
  for (const key of ['d', 'layers', 'kvHeads', 'headDim', 'vocab', 'maxPositions'] as const) int(m.lm[key], `lm.${key}`);
  int(m.memvp.n, 'memvp.n');
  int(m.memvp.visualTokens, 'memvp.visualTokens');
  int(m.vision.imageSize, 'vision.imageSize');
  for (const key of ['bosId', 'eosId'] as const) int(m[key], key);
  const grid = m.vision.patchGrid;
  if (!Array.isArray(grid) || grid.length !== 2 || grid[0] * grid[1] > m.memvp.n) fail(`"vision.patchGrid" must be [rows, cols] with rows*cols <= memvp.n`);
  for (const key of ['pixelMean', 'pixelStd'] as const) {
    const v = m.vision[key];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number')) fail(`"vision.${key}" must be 3 numbers`);
  }
  if (typeof m.promptTemplate !== 'string' || !m.promptTemplate.includes('{question}')) fail('"promptTemplate" must be a string containing {question}');
  if (typeof m.tokenizer !== 'string') fail('"tokenizer" must name the tokenizer file');
  const { memvp, inputSpace } = m.modes;
  if (!isObject(memvp) || !isObject(inputSpace)) fail('"modes" must describe "memvp" and "inputSpace"');
  const graphFiles = [memvp.vision, memvp.decoder, inputSpace.vision, inputSpace.embed, inputSpace.decoder];
  for (const file of [m.tokenizer, ...graphFiles]) {
    const f = m.files[file];
    if (!isObject(f) || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) fail(`"files" has no sha256 for "${file}"`);
    int(f!.bytes, `files["${file}"].bytes`);
  }
  for (const file of graphFiles) if (!isObject(m.graphs[file])) fail(`"graphs" has no signature for "${file}"`);
  return m;
}
