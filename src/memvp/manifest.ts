// The model package's manifest.json (written by training/pipeline.py): typed, and checked on load so that a
// malformed or mismatched package fails with the key at fault instead of deep inside a graph run, before anything
// is sized from it or fetched: sizes within bounds, file names relative paths inside the package.
import { UnsafePathError, relativeSegments } from '../onnx/external.js';
import { ModelLoadError } from './errors.js';
import { MAX_IMAGE_SIDE } from './image.js';

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

/**
 * Bounds of the manifest's sizes, far above any model this runtime can hold (a model at every bound would not fit
 * a GPU), so that an absurd value is refused with its key before anything is sized from it.
 */
export const MANIFEST_LIMITS = {
  'lm.d': [1, 65536],
  'lm.D': [1, 262144],
  'lm.layers': [1, 1024],
  'lm.heads': [1, 1024],
  'lm.kvHeads': [1, 1024],
  'lm.headDim': [1, 4096],
  'lm.vocab': [1, 1 << 22],
  'lm.maxPositions': [1, 1 << 20],
  'memvp.n': [1, 1 << 20],
  'memvp.visualTokens': [0, 1 << 20],
  'vision.imageSize': [1, MAX_IMAGE_SIDE],
  'vision.patch': [1, MAX_IMAGE_SIDE],
  'vision.width': [1, 65536],
  'vision.layers': [1, 1024],
  'vision.heads': [1, 1024],
} as const satisfies Record<string, readonly [number, number]>;

/** A package file is at most 2 GiB (an ONNX protobuf cannot be larger). */
export const MAX_FILE_BYTES = 2 ** 31;

/** Parses and checks manifest.json; `where` (its URL or path) goes into every error message. */
export function parseManifest(text: string, where: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    // V8's message quotes the text; only the position is kept, so that a file that is not a manifest is not echoed.
    const at = /position (\d+)/.exec((e as Error).message);
    throw new ModelLoadError(`${where} is not valid JSON${at ? ` (at byte ${at[1]})` : ''}`);
  }
  const fail = (detail: string): never => {
    throw new ModelLoadError(`${where}: ${detail}`);
  };
  const shown = (v: unknown) => {
    const json = JSON.stringify(v) ?? String(v);
    return json.length > 40 ? `${json.slice(0, 40)}...` : json;
  };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const int = (v: unknown, key: string, min = 0, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isSafeInteger(v) || (v as number) < 0) fail(`"${key}" must be a non-negative integer, got ${shown(v)}`);
    if ((v as number) < min || (v as number) > max) fail(`"${key}" is ${v as number}; it must be in [${min}, ${max}]`);
  };
  if (!isObject(m)) fail('the manifest must be a JSON object');
  if (m.architecture !== 'llama') fail(`architecture ${shown(m.architecture)} is not supported (only "llama")`);
  for (const key of ['lm', 'memvp', 'vision', 'modes', 'graphs', 'files'] as const) if (!isObject(m[key])) fail(`"${key}" must be an object`);
  for (const [key, [min, max]] of Object.entries(MANIFEST_LIMITS)) {
    const [group, field] = key.split('.') as [string, string];
    int((m as unknown as Record<string, Record<string, unknown>>)[group]![field], key, min, max);
  }
  if (m.lm.kvHeads > m.lm.heads) fail(`"lm.kvHeads" (${m.lm.kvHeads}) exceeds "lm.heads" (${m.lm.heads})`);
  for (const key of ['bosId', 'eosId'] as const) int(m[key], key, 0, m.lm.vocab - 1);
  const grid = m.vision.patchGrid;
  if (!Array.isArray(grid) || grid.length !== 2 || !grid.every((g) => Number.isSafeInteger(g) && g > 0) || grid[0] * grid[1] > m.memvp.n) {
    fail(`"vision.patchGrid" must be [rows, cols] with rows*cols <= memvp.n, got ${shown(grid)}`);
  }
  for (const key of ['pixelMean', 'pixelStd'] as const) {
    const v = m.vision[key];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number')) fail(`"vision.${key}" must be 3 numbers`);
  }
  if (typeof m.promptTemplate !== 'string' || !m.promptTemplate.includes('{question}')) fail('"promptTemplate" must be a string containing {question}');
  if (typeof m.tokenizer !== 'string') fail('"tokenizer" must name the tokenizer file');
  for (const file of Object.keys(m.files)) {
    try {
      relativeSegments(file);
    } catch (e) {
      if (e instanceof UnsafePathError) fail(`the file name ${e.message}`);
      throw e;
    }
  }
  const { memvp, inputSpace } = m.modes;
  if (!isObject(memvp) || !isObject(inputSpace)) fail('"modes" must describe "memvp" and "inputSpace"');
  const graphFiles = [memvp.vision, memvp.decoder, inputSpace.vision, inputSpace.embed, inputSpace.decoder];
  for (const file of [m.tokenizer, ...graphFiles]) {
    const f = m.files[file];
    if (!isObject(f) || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) fail(`"files" has no sha256 for ${shown(file)}`);
    int(f!.bytes, `files[${shown(file)}].bytes`, 0, MAX_FILE_BYTES);
  }
  for (const file of graphFiles) if (!isObject(m.graphs[file])) fail(`"graphs" has no signature for ${shown(file)}`);
  return m;
}
