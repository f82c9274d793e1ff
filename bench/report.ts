// The kernel benchmark's result (written as JSON by bench/bench-kernels.ts) and its Markdown table.
import { formatCi, verdict, verdictText, type Interval, type Target } from './stats.js';
import { gflops, type Timing } from './timing.js';

export interface AdapterFacts {
  vendor: string;
  architecture: string;
  description: string;
  device: string;
}

export interface KernelBenchResult {
  /** Our GpuContext's adapter. */
  adapter: AdapterFacts & { isSoftware: boolean; features: string[] };
  /** The adapter of onnxruntime-web's own WebGPU device (same page, same navigator.gpu). */
  ortAdapter: AdapterFacts | null;
  ortVersion: string;
  ortWasmThreads: number;
  timing: 'wall-clock';
  timestampQueryAvailable: boolean;
  method: string;
  fmaPeakGflops: number | null;
  matmul1024Gflops: number | null;
  ortMatmul1024Gflops: number | null;
  ortWasmMatmul1024Gflops: number | null;
  /** Our matmul's GFLOP/s over the FMA peak's (per round). */
  matmul1024OverFmaPeak: number | null;
  matmul1024OverFmaPeakCi: Interval | null;
  /** ORT WebGPU EP time over ours, same matmul. */
  matmul1024OverOrtWebgpu: number | null;
  matmul1024OverOrtWebgpuCi: Interval | null;
  memvpFfnOverPlainFfn: number | null;
  memvpFfnOverPlainFfnCi: Interval | null;
  q4GemvOverF32Gemv: number | null;
  q4GemvOverF32GemvCi: Interval | null;
  q4GemvBytesOverF32: number | null;
  /** The fused MemVP FFN decoding (L = 1): f32 time over 4-bit time. */
  q4FfnDecodeOverF32: number | null;
  q4FfnDecodeOverF32Ci: Interval | null;
  /** Max |ours - ort| over the 1024^3 product (same inputs), WebGPU and WASM EPs. */
  matmulMaxAbsDiffVsOrt: { webgpu: number; wasm: number } | null;
  raw: Record<string, Timing & { what: string; flops?: number; bytesRead?: number }>;
  /** Measurement name -> why it failed (its metrics are null). */
  errors: Record<string, string>;
}

export type KernelRatio = 'matmul1024OverFmaPeak' | 'matmul1024OverOrtWebgpu' | 'memvpFfnOverPlainFfn' | 'q4GemvOverF32Gemv' | 'q4FfnDecodeOverF32';

/** The kernel benchmark's ratios, what they mean, and their targets (issue 2). */
export const KERNEL_RATIOS: { key: KernelRatio; label: string; target?: Target }[] = [
  { key: 'matmul1024OverFmaPeak', label: 'ours / FMA peak (GFLOP/s)', target: { op: '>=', value: 0.5 } },
  { key: 'matmul1024OverOrtWebgpu', label: 'ours over ORT WebGPU EP (speed-up)', target: { op: '>=', value: 3 } },
  { key: 'memvpFfnOverPlainFfn', label: 'MemVP FFN / plain FFN (time)', target: { op: '<=', value: 1.1 } },
  { key: 'q4GemvOverF32Gemv', label: '4-bit GEMV over f32 (speed-up)', target: { op: '>=', value: 1 } },
  { key: 'q4FfnDecodeOverF32', label: '4-bit FFN decode over f32 (speed-up, L=1)' },
];

const fmt = (x: number | null, digits = 3) => (x === null ? 'FAILED' : Number.isFinite(x) ? x.toPrecision(digits) : String(x));

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function kernelBenchTable(r: KernelBenchResult): string {
  const timings = markdownTable(
    ['measurement', 'median ms', 'min ms', 'runs x repeats', 'GFLOP/s', 'MB read'],
    Object.entries(r.raw).map(([key, t]) => [
      `${key}: ${t.what}`,
      fmt(t.medianMs, 4),
      fmt(t.minMs, 4),
      `${t.runs} x ${t.perRun}`,
      t.flops === undefined ? '' : fmt(gflops(t.flops, t.medianMs)),
      t.bytesRead === undefined ? '' : fmt(t.bytesRead / 1e6, 4),
    ]),
  );
  const summary = markdownTable(
    ['metric', 'value', '95% interval', 'target', 'verdict'],
    [
      ['fmaPeakGflops', fmt(r.fmaPeakGflops), '', '', ''],
      ['matmul1024Gflops (ours)', fmt(r.matmul1024Gflops), '', '', ''],
      ['ortMatmul1024Gflops (ORT WebGPU EP)', fmt(r.ortMatmul1024Gflops), '', '', ''],
      [`ortWasmMatmul1024Gflops (ORT WASM EP, ${r.ortWasmThreads} thread)`, fmt(r.ortWasmMatmul1024Gflops), '', '', ''],
      ...KERNEL_RATIOS.map(({ key, label, target }) => [
        `${key} (${label})`,
        fmt(r[key], 4),
        formatCi(r[`${key}Ci`], 4),
        target ? `${target.op} ${target.value}` : '',
        target ? verdictText(verdict(r[key], r[`${key}Ci`], target)) : '',
      ]),
      ['q4GemvBytesOverF32', fmt(r.q4GemvBytesOverF32), '', '', ''],
      ['matmul max |ours - ORT| (webgpu / wasm)', `${fmt(r.matmulMaxAbsDiffVsOrt?.webgpu ?? null)} / ${fmt(r.matmulMaxAbsDiffVsOrt?.wasm ?? null)}`, '', '', ''],
    ],
  );
  const failures = Object.entries(r.errors).map(([name, why]) => `FAILED ${name}: ${why}`);
  const a = r.adapter;
  return [
    `adapter: ${a.vendor} / ${a.architecture} / ${a.description || a.device}${a.isSoftware ? ' (software)' : ''}; ORT's: ${r.ortAdapter ? `${r.ortAdapter.vendor} / ${r.ortAdapter.architecture}` : 'none'}`,
    `timing: ${r.timing}${r.timestampQueryAvailable ? ' (timestamp-query is available but not used)' : ''}`,
    '',
    timings,
    '',
    summary,
    ...(failures.length ? ['', ...failures] : []),
  ].join('\n');
}
