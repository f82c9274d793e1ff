// The latency benchmark's file format (docs/bench/latency.json), its summary ratios, the Markdown report
// (docs/bench/latency.md) and the hand-written SVG chart of TTFT against text length (docs/bench/latency.svg, the
// paper's Figure 2 for this runtime).
import { markdownTable } from './report.js';
import { formatCi, pairedRatio, verdict, verdictText, type Interval, type PairedRatio, type Target } from './stats.js';
import type { ComparisonGroup, LatencyMode, LatencyPageResult, ModelFacts, ModelKey, Precision, RuntimeConfig, RuntimeKey, TrialStats } from './latency-types.js';

/**
 * The summary's ratios (LLaMA-shaped model; the demo model's in --quick), each with `<name>Ci`, its 95% interval:
 * TTFT input-space / MemVP and MemVP / text-only at L = 64; ORT WebGPU EP and WASM EP TTFT over ours and decode
 * speed (their step time over ours: > 1 means we decode faster) on decoder.onnx at L = 64; f32 step time over
 * 8-bit / 4-bit (> 1: the quantized model decodes faster); decoder file bytes 4-bit / f32 (exact: its interval is
 * the value itself).
 */
export const LATENCY_RATIOS = [
  'ttftInputSpaceOverMemvpL64',
  'ttftMemvpOverTextOnlyL64',
  'ttftOrtWebgpuOverOurs',
  'decodeOursOverOrtWebgpu',
  'ttftOrtWasmOverOurs',
  'decodeOursOverOrtWasm',
  'q4DecodeOverF32Decode',
  'q8DecodeOverF32Decode',
  'q4SizeOverF32',
] as const;
export type LatencyRatio = (typeof LATENCY_RATIOS)[number];

export type LatencySummary = Record<LatencyRatio, number | null> &
  Record<`${LatencyRatio}Ci`, Interval | null> & {
    /** Test accuracy f32 minus 4-bit, percentage points (demo model). */
    q4AccuracyDrop: number | null;
    /** Fraction of test questions where the 4-bit model's greedy first answer token equals the f32 model's. */
    q4AnswerAgreement: number | null;
  };

/** The latency issue's targets; the summary says for each whether the 95% interval meets it, misses it or crosses it. */
export const LATENCY_TARGETS: Partial<Record<LatencyRatio | 'q4AccuracyDrop' | 'q4AnswerAgreement', Target>> = {
  ttftInputSpaceOverMemvpL64: { op: '>=', value: 4 },
  ttftMemvpOverTextOnlyL64: { op: '<=', value: 1.15 },
  ttftOrtWebgpuOverOurs: { op: '>=', value: 2 },
  decodeOursOverOrtWebgpu: { op: '>=', value: 2 },
  q4DecodeOverF32Decode: { op: '>=', value: 1 },
  q4SizeOverF32: { op: '<=', value: 0.2 },
  q4AccuracyDrop: { op: '<=', value: 1 },
  q4AnswerAgreement: { op: '>=', value: 0.98 },
};

export interface AccuracyPart {
  /** Why the figures are null, when they are. */
  pending: string | null;
  split: string;
  images: number;
  questions: number;
  f32Accuracy: number | null;
  q4Accuracy: number | null;
  agreement: number | null;
  source: string;
}

export interface QuantPart {
  pending: string | null;
  /** model key -> precision -> { file, bytes } */
  files: Partial<Record<ModelKey, Partial<Record<Precision, { file: string; bytes: number }>>>>;
}

export interface LatencyBenchFile extends LatencyPageResult {
  summary: LatencySummary;
  /** Summary key -> the model its value comes from, or why it is null. */
  summaryNotes: Record<string, string>;
  /** The same ratios for the demo model, where measured. */
  summaryDemo: Partial<Record<LatencyRatio, PairedRatio | null>>;
  adapterCaveats: string[];
  method: string;
  quant: QuantPart;
  accuracy: AccuracyPart;
  /** Predicted prefill GFLOP per model, mode and length (exact matmul FLOPs of our graphs; cf. paper Eq. 13-15). */
  predictedPrefillGflop: Record<string, Record<string, Record<string, number>>>;
  browser: string;
  command: string;
  quick: boolean;
  demoModelDir: string;
  llamaModelDir: string | null;
  llamaModelGeneratedSeconds: number | null;
  generatedAt: string;
  totalSeconds: number;
}

export const MODE_LABEL: Record<LatencyMode, string> = { memvp: 'MemVP', inputSpace: 'input-space', textOnly: 'text-only' };
const RUNTIME_LABEL: Record<RuntimeKey, string> = { ours: 'ours (WebGPU)', ortWebgpu: 'ORT WebGPU EP', ortWasm: 'ORT WASM EP' };

export function findConfig(configs: readonly RuntimeConfig[], group: ComparisonGroup, model: ModelKey, runtime: RuntimeKey, mode: LatencyMode, precision: Precision = 'f32') {
  return configs.find((c) => c.group === group && c.model === model && c.runtime === runtime && c.mode === mode && c.precision === precision);
}

/** a / b of two exact figures (file sizes), as a ratio whose interval is itself. */
function exactRatio(a: number | undefined, b: number | undefined): PairedRatio | null {
  if (a === undefined || b === undefined || b === 0) return null;
  return { ratio: a / b, ci: [a / b, a / b], pairs: 0 };
}

/** Paired ratios (with intervals) for one model; null where a side was not measured. */
export function summaryFor(r: LatencyPageResult, model: ModelKey): Partial<Record<LatencyRatio, PairedRatio | null>> {
  const m = r.models.find((x) => x.key === model);
  if (!m) return {};
  const L = String(m.mainLength);
  const sweep = (mode: LatencyMode) => findConfig(r.configs, 'sweep', model, 'ours', mode)?.byLength[L];
  const ortc = (rt: RuntimeKey) => findConfig(r.configs, 'ort', model, rt, 'memvp')?.byLength[L];
  const prec = (p: Precision) => findConfig(r.configs, 'precision', model, 'ours', 'memvp', p);
  const f32 = prec('f32');
  const ttft = (a: TrialStats | undefined, b: TrialStats | undefined) => pairedRatio(a?.ttft.samplesMs, b?.ttft.samplesMs);
  const decode = (a: TrialStats | undefined, b: TrialStats | undefined) => pairedRatio(a?.decodeByTrialMs, b?.decodeByTrialMs);
  return {
    ttftInputSpaceOverMemvpL64: ttft(sweep('inputSpace'), sweep('memvp')),
    ttftMemvpOverTextOnlyL64: ttft(sweep('memvp'), sweep('textOnly')),
    ttftOrtWebgpuOverOurs: ttft(ortc('ortWebgpu'), ortc('ours')),
    decodeOursOverOrtWebgpu: decode(ortc('ortWebgpu'), ortc('ours')),
    ttftOrtWasmOverOurs: ttft(ortc('ortWasm'), ortc('ours')),
    decodeOursOverOrtWasm: decode(ortc('ortWasm'), ortc('ours')),
    q4DecodeOverF32Decode: decode(f32?.byLength[L], prec('q4')?.byLength[L]),
    q8DecodeOverF32Decode: decode(f32?.byLength[L], prec('q8')?.byLength[L]),
    q4SizeOverF32: exactRatio(prec('q4')?.bytes, f32?.bytes),
  };
}

/**
 * Matmul FLOPs of one prefill of `tokens` positions (2 per multiply-add): projections, SwiGLU FFN, causal attention
 * (QK^T and AV over the positions so far), the MemVP branch (4 n d per token, Eq. 15), the LM head (all positions or
 * the last one). Text-only and MemVP prefill L tokens; input-space prefills m + L (Eq. 14's extra 4 m d (6d + m + 2L)).
 */
export function prefillFlops(m: ModelFacts, mode: LatencyMode, L: number): number {
  const { d, D, layers, heads, kvHeads, vocab, n } = m;
  const hd = d / heads;
  const T = L + (mode === 'inputSpace' ? m.visualTokens : 0);
  const proj = 2 * T * (d * heads * hd * 2 + d * kvHeads * hd * 2);
  const ffn = 2 * T * 3 * d * D;
  const attn = 2 * 2 * heads * hd * ((T * (T + 1)) / 2);
  const mem = mode === 'memvp' ? 4 * n * d * T : 0;
  const head = 2 * d * vocab * (m.logits === 'last-position' ? 1 : T);
  return layers * (proj + ffn + attn + mem) + head;
}

export const ADAPTER_CAVEATS = [
  'Absolute times, tokens/s and compile times hold only for this adapter: SwiftShader is a software (CPU) Vulkan implementation running on 2 CPU cores that other jobs were using, so it is compute-bound and slow (about 9 GFLOP/s peak FMA, see docs/bench/kernels.json). Only ratios measured in one run (interleaved) are meaningful.',
  'MemVP vs input-space vs text-only (TTFT): on a compute-bound adapter these ratios follow the FLOP ratios (Eq. 13-15; see the predicted column); they carry over to GPUs for prompts long enough to fill the GPU. On a real GPU short prefills are bound by dispatch latency, so the measured gaps shrink at small L while the FLOP argument of the paper stays.',
  'Ours vs onnxruntime-web: adapter-specific. ORT WebGPU EP kernels are tuned for real GPUs (shared-memory tiles, whose barriers are very slow in software); the WASM EP is native CPU code competing here with a CPU-emulated GPU, so WASM looks far better on this machine than it would against a real GPU.',
  '4-bit vs f32 decode: SwiftShader is compute-bound, so 4-bit weights trade the loads they save for unpacking work here and decode at about the f32 speed; the bandwidth saving of 4-bit (about 1/6-1/7 of the bytes read per decode step) shows up as faster decode only on real GPUs, where decode is memory-bound. File size, accuracy and answer agreement hold on every adapter.',
  'Peak GPU bytes are buffer-pool accounting (ctx.buffers.stats().peakAllocatedBytes): weights plus the largest live activations and the KV cache; they depend on the kernels chosen, not on the adapter speed. onnxruntime-web has no equivalent figure (null).',
];

const fmt = (x: number | null | undefined, digits = 3) => (x == null ? '-' : Number.isFinite(x) ? x.toPrecision(digits) : String(x));
const fmtRatio = (p: PairedRatio | null) => (p ? `${fmt(p.ratio)} ${formatCi(p.ci)}` : '-');
const ms = (x: number | null | undefined) => (x == null ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const mb = (x: number | null | undefined) => (x == null ? '-' : (x / 1e6).toFixed(1));

function modelLine(m: ModelFacts): string {
  return (
    `**${m.key}** (${m.name}${m.randomWeights ? ', random weights' : ''}): d=${m.d}, D=${m.D}, ${m.layers} layers, ${m.heads} heads / ${m.kvHeads} KV heads, ` +
    `vocab ${m.vocab}, n=${m.n} memory entries, ${m.visualTokens} visual tokens (input-space), logits: ${m.logits}, ` +
    `RoPE table ${m.maxPositions} positions; decode figures at L=${m.mainLength} over ${m.decodeSteps} steps`
  );
}

export function latencyMarkdown(f: LatencyBenchFile): string {
  const out: string[] = [];
  const a = f.adapter;
  out.push('# Latency benchmark (`npm run bench`)', '');
  out.push(`Generated ${f.generatedAt} by \`${f.command}\` in ${f.totalSeconds} s${f.quick ? ' (--quick: demo model only, fewer runs)' : ''}.`, '');
  out.push(`- adapter: ${a.vendor} / ${a.architecture} / ${a.description || a.device}${a.isSoftware ? ' (software)' : ''}; ${f.browser}`);
  out.push(`- onnxruntime-web ${f.ortVersion} (WASM EP with ${f.ortWasmThreads} thread); ORT's WebGPU adapter: ${f.ortAdapter ? `${f.ortAdapter.vendor} / ${f.ortAdapter.architecture}` : 'not used'}`);
  out.push(`- models: demo = ${f.demoModelDir}${f.llamaModelDir ? `; llama = ${f.llamaModelDir} (training/make_bench_model.py${f.llamaModelGeneratedSeconds !== null ? `, generated in ${f.llamaModelGeneratedSeconds} s` : ', reused'})` : ''}`);
  for (const m of f.models) out.push(`- ${modelLine(m)}`);
  if (!f.oursFusions) out.push('', `**Our runtime ran WITHOUT its fusion passes**: ${f.fusionsNote ?? 'unknown reason'}.`);
  out.push('', '## Which figures hold only for this adapter', '', ...f.adapterCaveats.map((c) => `- ${c}`), '');

  out.push('## Summary', '');
  const summaryRow = (k: LatencyRatio | 'q4AccuracyDrop' | 'q4AnswerAgreement', ci: Interval | null) => {
    const t = LATENCY_TARGETS[k];
    const v = f.summary[k];
    return [k, fmt(v, 3), formatCi(ci), t ? `${t.op} ${t.value}` : '', t ? verdictText(verdict(v, ci, t)) : '', f.summaryNotes[k] ?? ''];
  };
  out.push(
    markdownTable(
      ['metric', 'value', '95% interval', 'target', 'verdict', 'from'],
      [...LATENCY_RATIOS.map((k) => summaryRow(k, f.summary[`${k}Ci`])), summaryRow('q4AccuracyDrop', null), summaryRow('q4AnswerAgreement', null)],
    ),
  );
  out.push('');

  for (const m of f.models) {
    const sweep = (mode: LatencyMode) => findConfig(f.configs, 'sweep', m.key, 'ours', mode);
    out.push(`## ${m.key}: MemVP vs input-space vs text-only (ours, TTFT)`, '');
    const withVision = sweep('memvp')?.includesVision;
    out.push(
      withVision
        ? 'TTFT includes the vision graph (vision.onnx for MemVP, vision_inputspace.onnx for input-space) on a fixed 64x64 image; input-space runs visual + text tokens as one prefill (GPU concat of the embeddings).'
        : 'Memory K/V (MemVP) and visual embeddings (input-space) are random inputs uploaded once (no vision encoder); input-space runs visual + text tokens as one prefill (GPU concat of the embeddings).',
      '',
    );
    const rows = m.lengths.map((L) => {
      const t = (mode: LatencyMode) => sweep(mode)?.byLength[String(L)]?.ttftMs;
      const samples = (mode: LatencyMode) => sweep(mode)?.byLength[String(L)]?.ttft.samplesMs;
      const p = (mode: LatencyMode) => prefillFlops(m, mode, L);
      return [
        String(L),
        ms(t('memvp')),
        ms(t('inputSpace')),
        ms(t('textOnly')),
        fmtRatio(pairedRatio(samples('inputSpace'), samples('memvp'))),
        fmtRatio(pairedRatio(samples('memvp'), samples('textOnly'))),
        `${fmt(p('inputSpace') / p('memvp'))} / ${fmt(p('memvp') / p('textOnly'))}`,
        String(sweep('memvp')?.byLength[String(L)]?.runs ?? '-'),
      ];
    });
    out.push(markdownTable(['L', 'MemVP ms', 'input-space ms', 'text-only ms', 'input-space / MemVP', 'MemVP / text-only', 'FLOP ratios (same two)', 'runs'], rows));
    for (const s of m.skippedLengths) out.push('', `L=${s.length} skipped: ${s.why}.`);
    out.push('');
  }

  const detail = f.configs.filter((c) => c.byLength[String(f.models.find((m) => m.key === c.model)!.mainLength)]);
  out.push('## Per configuration (at the main length)', '');
  out.push(
    markdownTable(
      ['model', 'group', 'runtime', 'mode', 'prec.', 'MB', 'load ms', 'compile ms', 'TTFT ms', 'prefill tok/s', 'decode ms/token', 'decode tok/s', 'peak GPU MB (L main / all)', 'runs'],
      detail.map((c) => {
        const L = String(f.models.find((m) => m.key === c.model)!.mainLength);
        const s = c.byLength[L]!;
        return [
          `${c.model} L=${L}`,
          c.group,
          RUNTIME_LABEL[c.runtime],
          MODE_LABEL[c.mode] + (c.includesVision ? ' +vision' : ''),
          c.precision,
          mb(c.bytes),
          ms(c.loadMs),
          s.compileMs != null && s.compileMs < 0 ? '~0 (noise)' : ms(s.compileMs),
          ms(s.ttftMs),
          fmt(s.prefillTokensPerSecond),
          ms(s.decodeStepMs),
          fmt(s.decodeTokensPerSecond),
          `${mb(c.peakGpuBytesMainLength)} / ${mb(c.peakGpuBytes)}`,
          String(s.runs),
        ];
      }),
    ),
  );
  out.push('');

  const ortChecks = f.configs.filter((c) => c.greedyTokensMatchOurs !== undefined);
  if (ortChecks.length) {
    out.push(`Greedy tokens of onnxruntime-web vs ours (same prompt and memory, the steps both decoded): ${ortChecks.map((c) => `${c.model} ${RUNTIME_LABEL[c.runtime]} ${c.greedyTokensMatchOurs ? 'match' : 'DIFFER'}`).join('; ')}.`, '');
  }
  out.push('## Quantization and accuracy', '');
  out.push(f.quant.pending ? `Quantized decoders: **pending** (${f.quant.pending}).` : 'Quantized decoders made with the project quantizer (see the per-configuration table, group "precision").');
  out.push('');
  const acc = f.accuracy;
  out.push(
    acc.pending
      ? `Accuracy of 4-bit vs f32: **pending** (${acc.pending}).`
      : `Accuracy (${acc.source}; ${acc.split} split, ${acc.images} images, ${acc.questions} questions): f32 ${fmt(acc.f32Accuracy)}, 4-bit ${fmt(acc.q4Accuracy)}, agreement ${fmt(acc.agreement)}.`,
  );
  out.push('');
  const failures = Object.entries(f.errors).map(([name, why]) => `- FAILED ${name}: ${why}`);
  if (failures.length) out.push('## Failures', '', ...failures, '');
  out.push('## Method', '', f.method, '');
  return out.join('\n');
}

// ------------------------------------------------------------------------------------------------------ SVG chart

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceStep(max: number, ticks = 5): number {
  const raw = max / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((k) => k * p).find((s) => s >= raw) ?? 10 * p;
}

const COLORS: Record<LatencyMode, string> = { memvp: '#1f77b4', inputSpace: '#d62728', textOnly: '#2ca02c' };
const DASH: Record<LatencyMode, string> = { memvp: '', inputSpace: '6 4', textOnly: '2 3' };

/** One panel per model: TTFT (ms) against text length L (log2 axis), one line per mode. */
export function latencySvg(f: LatencyBenchFile): string {
  const panels = f.models.filter((m) => m.lengths.length > 0);
  const W = 460;
  const H = 330;
  const pad = { l: 64, r: 16, t: 44, b: 52 };
  const width = Math.max(2, panels.length) * W;
  const height = H + 80;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  panels.forEach((m, i) => {
    const x0 = i * W;
    const pw = W - pad.l - pad.r;
    const ph = H - pad.t - pad.b;
    const series = (['memvp', 'inputSpace', 'textOnly'] as const).map((mode) => {
      const c = findConfig(f.configs, 'sweep', m.key, 'ours', mode);
      return { mode, points: m.lengths.map((L) => [L, c?.byLength[String(L)]?.ttftMs] as const).filter((p): p is readonly [number, number] => p[1] != null) };
    });
    const ymax = Math.max(1e-9, ...series.flatMap((s) => s.points.map((p) => p[1])));
    const step = niceStep(ymax);
    const ytop = Math.ceil(ymax / step) * step;
    const lo = Math.log2(Math.min(...m.lengths));
    const hi = Math.log2(Math.max(...m.lengths));
    const X = (L: number) => x0 + pad.l + (hi === lo ? pw / 2 : ((Math.log2(L) - lo) / (hi - lo)) * pw);
    const Y = (t: number) => pad.t + ph - (t / ytop) * ph;
    parts.push(`<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(`${m.key}: d=${m.d}, ${m.layers} layers, n=${m.n} / ${m.visualTokens} visual tokens`)}</text>`);
    parts.push(`<text x="${x0 + W / 2}" y="34" text-anchor="middle" fill="#555">${esc(m.randomWeights ? 'LLaMA-shaped, random weights, no vision encoder' : 'demo model, TTFT includes the vision graph')}</text>`);
    for (let v = 0; v <= ytop + 1e-9; v += step) {
      parts.push(`<line x1="${x0 + pad.l}" x2="${x0 + pad.l + pw}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
      parts.push(`<text x="${x0 + pad.l - 6}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end">${ytop >= 10 ? Math.round(v) : v.toFixed(1)}</text>`);
    }
    for (const L of m.lengths) {
      parts.push(`<line x1="${X(L).toFixed(1)}" x2="${X(L).toFixed(1)}" y1="${pad.t + ph}" y2="${pad.t + ph + 5}" stroke="#333"/>`);
      parts.push(`<text x="${X(L).toFixed(1)}" y="${pad.t + ph + 18}" text-anchor="middle">${L}</text>`);
    }
    parts.push(`<line x1="${x0 + pad.l}" x2="${x0 + pad.l + pw}" y1="${pad.t + ph}" y2="${pad.t + ph}" stroke="#333"/>`);
    parts.push(`<line x1="${x0 + pad.l}" x2="${x0 + pad.l}" y1="${pad.t}" y2="${pad.t + ph}" stroke="#333"/>`);
    parts.push(`<text x="${x0 + pad.l + pw / 2}" y="${pad.t + ph + 36}" text-anchor="middle">text length L (tokens)</text>`);
    parts.push(`<text transform="translate(${x0 + 16},${pad.t + ph / 2}) rotate(-90)" text-anchor="middle">time to first token (ms)</text>`);
    for (const s of series) {
      if (!s.points.length) continue;
      const pts = s.points.map(([L, t]) => `${X(L).toFixed(1)},${Y(t).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${pts}" fill="none" stroke="${COLORS[s.mode]}" stroke-width="2"${DASH[s.mode] ? ` stroke-dasharray="${DASH[s.mode]}"` : ''}/>`);
      for (const [L, t] of s.points) parts.push(`<circle cx="${X(L).toFixed(1)}" cy="${Y(t).toFixed(1)}" r="3" fill="${COLORS[s.mode]}"><title>${esc(`${MODE_LABEL[s.mode]} L=${L}: ${t.toFixed(1)} ms`)}</title></circle>`);
    }
    (['memvp', 'inputSpace', 'textOnly'] as const).forEach((mode, k) => {
      const lx = x0 + pad.l + 10;
      const ly = pad.t + 10 + k * 16;
      parts.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${COLORS[mode]}" stroke-width="2"${DASH[mode] ? ` stroke-dasharray="${DASH[mode]}"` : ''}/>`);
      parts.push(`<text x="${lx + 28}" y="${ly + 4}">${MODE_LABEL[mode]}</text>`);
    });
  });
  const a = f.adapter;
  const foot = [
    `Medians of interleaved runs in one Chromium page; adapter: ${a.description || a.device || a.vendor}${a.isSoftware ? ' (software rasteriser, compute-bound: compare ratios, not absolute times)' : ''}.`,
    `${f.oursFusions ? 'Fusion passes on.' : 'Our fusion passes were OFF in this run (see latency.md).'} Cf. MemVP paper Figure 2 (LLaMA-7B, 256 visual tokens, 64 text tokens).`,
    `Generated ${f.generatedAt} by ${f.command}.`,
  ];
  foot.forEach((line, k) => parts.push(`<text x="8" y="${height - 42 + k * 16}" fill="#555">${esc(line)}</text>`));
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
