// Weight-only block quantization of an ONNX model: every MatMul whose B is a constant f32 [K, N] initializer
// becomes a com.microsoft MatMulNBits node in onnxruntime's layout (src/kernels/quant.ts), and every row lookup
// (Gather, axis 0) in a constant f32 [rows, d] table (token embeddings) a com.microsoft GatherBlockQuantized with
// the table blocked along d (src/kernels/gather_nbits.ts), so the file runs in onnxruntime as well as here. Works
// on the parsed model (no file access), for the CLI and for pages alike. K (or d) need not be a multiple of the
// block size: the last block is then partial, as onnxruntime allows.
// A table that a MatMul also reads as B (tied weights, x @ E) is quantized once per use, in each op's layout (they
// block along different axes); when the f32 table must stay for some other reader anyway (Transpose(E) -> MatMul,
// a MatMul left in f32), its Gathers keep reading it too: a quantized copy would only add bytes.
import { gatherNbitsReference, quantizeTable, tableLayout } from '../kernels/gather_nbits.js';
import { dequantizeBlockwise, quantizeBlockwise, quantLayout, type QuantBits } from '../kernels/quant.js';
import {
  attr,
  DataType,
  dataTypeName,
  getAttribute,
  makeNode,
  makeTensor,
  readTensorArray,
  tensorByteLength,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
} from '../onnx/index.js';

export interface QuantizeModelOptions {
  bits: QuantBits;
  /** Values per block along K: a power of two in 16..256 (default 32). */
  blockSize?: number;
  /** No zero points: zero point 2^(bits-1) for every block (onnxruntime's default when the input is absent). */
  symmetric?: boolean;
  /** Keep the embedding tables (Gather) and the vocabulary projection (the LM head) in f32. */
  skipEmbeddings?: boolean;
}

export interface QuantizedWeightReport {
  /** The f32 initializer that was replaced. */
  weight: string;
  /** The MatMul nodes that read it (now MatMulNBits). */
  nodes: string[];
  K: number;
  N: number;
  /** Of the dequantized weight against the original. */
  maxAbsError: number;
  rmsError: number;
}

export interface QuantizedTableReport {
  /** The f32 initializer [rows, cols] that was replaced. */
  table: string;
  /** The Gather nodes that read it (now GatherBlockQuantized). */
  nodes: string[];
  rows: number;
  cols: number;
  /** Of the dequantized table against the original. */
  maxAbsError: number;
  rmsError: number;
}

export interface SkippedMatMulReport {
  node: string;
  weight: string;
  reason: string;
}

export interface SkippedGatherReport {
  node: string;
  table: string;
  reason: string;
}

export interface QuantizeReport {
  bits: QuantBits;
  blockSize: number;
  symmetric: boolean;
  /** Bytes of all initializers before and after. */
  weightBytesBefore: number;
  weightBytesAfter: number;
  quantized: QuantizedWeightReport[];
  /** Embedding tables (GatherBlockQuantized). */
  tables: QuantizedTableReport[];
  skipped: SkippedMatMulReport[];
  /** Gathers of 2-D f32 initializers left as they are. */
  skippedGathers: SkippedGatherReport[];
}

/**
 * Options that cannot be honoured, a model the quantizer cannot rewrite, or a package it cannot copy; `where` names
 * the option, node or path.
 */
export class QuantizeError extends Error {
  constructor(
    readonly where: string,
    detail: string,
  ) {
    super(`${where}: ${detail}`);
    this.name = new.target.name;
  }
}

const MS_DOMAIN = 'com.microsoft';

/** Changes whenever the quantizer writes different files for the same input (keys caches of quantized files). */
export const QUANTIZER_REVISION = 2;

/** The options with their defaults filled in; throws QuantizeError on values the kernels cannot take. */
export function checkQuantizeOptions(options: QuantizeModelOptions): Required<QuantizeModelOptions> {
  const { bits, blockSize = 32, symmetric = false, skipEmbeddings = false } = options;
  if (bits !== 4 && bits !== 8) throw new QuantizeError('bits', `must be 4 or 8, got ${bits}`);
  // The kernels' limits (onnxruntime takes any power of two >= 16).
  if (!Number.isInteger(blockSize) || blockSize < 16 || blockSize > 256 || (blockSize & (blockSize - 1)) !== 0) {
    throw new QuantizeError('block size', `must be a power of two in 16..256, got ${blockSize}`);
  }
  return { bits, blockSize, symmetric, skipEmbeddings };
}

/**
 * Returns a new model (the input is not modified; untouched initializers are shared with it) and the report.
 * MatMuls and Gathers that cannot be rewritten are left as they are and listed in `report.skipped` and
 * `report.skippedGathers` with the reason.
 */
export async function quantizeModel(model: OnnxModel, options: QuantizeModelOptions): Promise<{ model: OnnxModel; report: QuantizeReport }> {
  const opts = checkQuantizeOptions(options);
  const graph = model.graph;
  const inits = new Map(graph.initializers.map((t) => [t.name, t]));
  const overridable = new Set(graph.inputs.map((v) => v.name));
  const emb = embeddings(graph, inits);
  const names = new Set([...inits.keys(), ...graph.nodes.flatMap((n) => [...n.inputs, ...n.outputs])]);
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };

  const quantized = new Map<string, { tensors: OnnxTensor[]; report: QuantizedWeightReport }>();
  const added: OnnxTensor[] = [];
  const skipped: SkippedMatMulReport[] = [];
  const nodes: OnnxNode[] = [];
  for (const node of graph.nodes) {
    if (node.opType !== 'MatMul' || (node.domain !== '' && node.domain !== 'ai.onnx')) {
      nodes.push(node);
      continue;
    }
    const bName = node.inputs[1]!;
    const b = inits.get(bName);
    const reason = !b
      ? 'B is not an initializer'
      : overridable.has(bName)
        ? 'B is also a graph input (a feed can replace it)'
        : b.dataType !== DataType.FLOAT
          ? `B is ${dataTypeName(b.dataType)}, not FLOAT`
          : b.dims.length !== 2
            ? `B has rank ${b.dims.length}, not 2`
            : b.dims[0]! % 4 !== 0
              ? `K = ${b.dims[0]} is not a multiple of 4 (the GPU kernels read A in vec4s)`
              : opts.skipEmbeddings && (emb.tables.has(bName) || emb.vocab.has(b.dims[1]!))
                ? `vocabulary projection (N = ${b.dims[1]}) kept in f32 (--skip-embeddings)`
                : undefined;
    if (reason) {
      skipped.push({ node: node.name, weight: bName, reason });
      nodes.push(node);
      continue;
    }
    let q = quantized.get(bName);
    if (!q) {
      q = await quantizeWeight(b!, model, opts, fresh);
      added.push(...q.tensors);
      quantized.set(bName, q);
    }
    q.report.nodes.push(node.name);
    const [K, N] = b!.dims as [number, number];
    const attrs = { K: attr.int(K), N: attr.int(N), bits: attr.int(opts.bits), block_size: attr.int(opts.blockSize) };
    nodes.push(makeNode('MatMulNBits', [node.inputs[0]!, ...q.tensors.map((t) => t.name)], node.outputs, attrs, { name: node.name, domain: MS_DOMAIN }));
  }

  // Row lookups: a Gather is rewritten when nothing else needs its table in f32 after the MatMul rewrites.
  const gatherReason = (node: OnnxNode): string | undefined => {
    const t = inits.get(node.inputs[0]!)!;
    const axis = Number(getAttribute(node, 'axis', 'int') ?? 0);
    return axis !== 0 && axis !== -2
      ? `gather axis ${axis}: GatherBlockQuantized looks up rows (axis 0) only`
      : overridable.has(t.name)
        ? 'the table is also a graph input (a feed can replace it)'
        : opts.skipEmbeddings
          ? 'embedding table kept in f32 (--skip-embeddings)'
          : opts.bits === 4 && t.dims[1]! % 2 !== 0
            ? `d = ${t.dims[1]} is odd: 4-bit rows hold two values a byte`
            : undefined;
  };
  const lookups = nodes.filter((n) => isTableGather(n, inits));
  const reasons = new Map(lookups.map((n) => [n, gatherReason(n)]));
  const graphOutputs = new Set(graph.outputs.map((v) => v.name));
  const f32Reader = (table: string): string | undefined => {
    if (graphOutputs.has(table)) return 'it is a graph output';
    const other = nodes.find((n) => readNames({ ...graph, nodes: [n] }).has(table) && !(lookups.includes(n) && reasons.get(n) === undefined));
    return other && `${other.name || '(unnamed)'} (${other.opType}) reads it`;
  };
  const tables = new Map<string, { tensors: OnnxTensor[]; report: QuantizedTableReport }>();
  const skippedGathers: SkippedGatherReport[] = [];
  for (const [i, node] of nodes.entries()) {
    if (!lookups.includes(node)) continue;
    const name = node.inputs[0]!;
    const keep = reasons.get(node);
    const reader = keep === undefined && !tables.has(name) ? f32Reader(name) : undefined;
    const reason = keep ?? (reader && `the f32 table stays anyway (${reader}): a quantized copy would only add bytes`);
    if (reason) {
      skippedGathers.push({ node: node.name, table: name, reason });
      continue;
    }
    let q = tables.get(name);
    if (!q) {
      q = await quantizeEmbedding(inits.get(name)!, model, opts, fresh);
      added.push(...q.tensors);
      tables.set(name, q);
    }
    q.report.nodes.push(node.name);
    const attrs = { bits: attr.int(opts.bits), block_size: attr.int(opts.blockSize), gather_axis: attr.int(0), quantize_axis: attr.int(1) };
    const [data, scales, zeroPoints] = q.tensors.map((t) => t.name);
    nodes[i] = makeNode('GatherBlockQuantized', [data!, node.inputs[1]!, scales!, ...(zeroPoints ? [zeroPoints] : [])], node.outputs, attrs, { name: node.name, domain: MS_DOMAIN });
  }

  // Drop the replaced f32 weights that nothing reads any more (subgraphs may read outer-scope names).
  const read = new Set([...readNames({ ...graph, nodes }), ...graphOutputs]);
  const replaced = (name: string) => quantized.has(name) || tables.has(name);
  const initializers = [...graph.initializers.filter((t) => !replaced(t.name) || read.has(t.name)), ...added];
  const opsetImports =
    model.opsetImports.some((o) => o.domain === MS_DOMAIN) || quantized.size + tables.size === 0 ? model.opsetImports : [...model.opsetImports, { domain: MS_DOMAIN, version: 1 }];
  const bytes = (ts: OnnxTensor[]) => ts.reduce((n, t) => n + tensorByteLength(t), 0);
  return {
    model: { ...model, opsetImports, graph: { ...graph, nodes, initializers } },
    report: {
      bits: opts.bits,
      blockSize: opts.blockSize,
      symmetric: opts.symmetric,
      weightBytesBefore: bytes(graph.initializers),
      weightBytesAfter: bytes(initializers),
      quantized: [...quantized.values()].map((q) => q.report),
      tables: [...tables.values()].map((q) => q.report),
      skipped,
      skippedGathers,
    },
  };
}

/** Max and RMS of |back - w|. */
function errors(w: Float32Array, back: Float32Array): { maxAbsError: number; rmsError: number } {
  let maxAbs = 0;
  let sq = 0;
  for (let i = 0; i < w.length; i++) {
    const e = Math.abs(back[i]! - w[i]!);
    maxAbs = Math.max(maxAbs, e);
    sq += e * e;
  }
  return { maxAbsError: maxAbs, rmsError: Math.sqrt(sq / w.length) };
}

async function quantizeWeight(b: OnnxTensor, model: OnnxModel, opts: Required<QuantizeModelOptions>, fresh: (base: string) => string) {
  const [K, N] = b.dims as [number, number];
  const w = (await readTensorArray(b, model.externalData)) as Float32Array;
  const q = quantizeBlockwise(w, K, N, opts);
  const { nBlocks, blobSize, zpBytesPerCol } = quantLayout(K, opts);
  // Scales and zero points in the 2-D shapes of onnxruntime's current MatMulNBits spec ([N, n_blocks] and
  // [N, ceil(n_blocks * bits / 8)]); the flat 1-D form of older files holds the same bytes.
  const tensors = [
    makeTensor(fresh(`${b.name}_Q${opts.bits}`), DataType.UINT8, [N, nBlocks, blobSize], q.packed),
    makeTensor(fresh(`${b.name}_scales`), DataType.FLOAT, [N, nBlocks], q.scales),
    ...(q.zeroPoints ? [makeTensor(fresh(`${b.name}_zero_points`), DataType.UINT8, [N, zpBytesPerCol], q.zeroPoints)] : []),
  ];
  return {
    tensors,
    report: { weight: b.name, nodes: [] as string[], K, N, ...errors(w, dequantizeBlockwise(q, K, N, opts)) },
  };
}

/** An embedding table [rows, cols] in GatherBlockQuantized's layout: data [rows, cols * bits / 8], scales and zero points per row. */
async function quantizeEmbedding(t: OnnxTensor, model: OnnxModel, opts: Required<QuantizeModelOptions>, fresh: (base: string) => string) {
  const [rows, cols] = t.dims as [number, number];
  const w = (await readTensorArray(t, model.externalData)) as Float32Array;
  const q = quantizeTable(w, rows, cols, opts);
  const { nBlocks, rowBytes, zpBytesPerRow } = tableLayout(rows, cols, opts);
  const tensors = [
    makeTensor(fresh(`${t.name}_Q${opts.bits}`), DataType.UINT8, [rows, rowBytes], q.packed),
    makeTensor(fresh(`${t.name}_scales`), DataType.FLOAT, [rows, nBlocks], q.scales),
    ...(q.zeroPoints ? [makeTensor(fresh(`${t.name}_zero_points`), DataType.UINT8, [rows, zpBytesPerRow], q.zeroPoints)] : []),
  ];
  const back = gatherNbitsReference(q, Int32Array.from({ length: rows }, (_, i) => i), { rows, cols, ...opts });
  return { tensors, report: { table: t.name, nodes: [] as string[], rows, cols, ...errors(w, back) } };
}

/** A Gather (default domain) whose data is a 2-D f32 initializer. */
function isTableGather(n: OnnxNode, inits: ReadonlyMap<string, OnnxTensor>): boolean {
  const t = inits.get(n.inputs[0]!);
  return n.opType === 'Gather' && (n.domain === '' || n.domain === 'ai.onnx') && !!t && t.dims.length === 2 && t.dataType === DataType.FLOAT;
}

/** Embedding tables (2-D float initializers that a Gather reads rows of) and their row counts (vocabulary sizes). */
function embeddings(graph: OnnxGraph, inits: ReadonlyMap<string, OnnxTensor>) {
  const tables = new Set<string>();
  const vocab = new Set<number>();
  for (const n of graph.nodes) {
    if (!isTableGather(n, inits)) continue;
    const t = inits.get(n.inputs[0]!)!;
    tables.add(t.name);
    vocab.add(t.dims[0]!);
  }
  return { tables, vocab };
}

/** Every value name a node of `graph` or of its subgraphs reads. */
function readNames(graph: OnnxGraph): Set<string> {
  const out = new Set<string>();
  for (const n of graph.nodes) {
    for (const i of n.inputs) out.add(i);
    for (const a of n.attributes) {
      const subs = a.type === 'graph' ? [a.value] : a.type === 'graphs' ? a.value : [];
      for (const g of subs) for (const name of readNames(g)) out.add(name);
    }
  }
  return out;
}
