// The quantizer's report as text: sizes before/after, then one line per rewritten weight and embedding table, and
// per MatMul and table lookup (Gather) left in f32; for a package, a summary line per .onnx file and the package's total.
import type { QuantizedPackage } from './package.js';
import type { QuantizeReport } from './quantize-model.js';

const mb = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB (${n} B)`;
const ratio = (after: number, before: number) => (before > 0 ? ` = ${((100 * after) / before).toFixed(1)}%` : '');

const settings = (r: QuantizeReport) => `${r.bits}-bit, block ${r.blockSize}, ${r.symmetric ? 'symmetric (no zero points)' : 'with zero points'}`;

/** `files` adds the sizes of the encoded files (known to whoever wrote them). */
export function formatQuantizeReport(r: QuantizeReport, files?: { before: number; after: number }): string {
  const lines = [settings(r)];
  if (files) lines.push(`file:    ${mb(files.before)} -> ${mb(files.after)}${ratio(files.after, files.before)}`);
  lines.push(`weights: ${mb(r.weightBytesBefore)} -> ${mb(r.weightBytesAfter)}${ratio(r.weightBytesAfter, r.weightBytesBefore)}`);
  lines.push(`quantized ${r.quantized.length} weight(s):`);
  for (const q of r.quantized) {
    lines.push(`  ${q.weight} [${q.K}, ${q.N}]  max abs err ${q.maxAbsError.toExponential(3)}  rms err ${q.rmsError.toExponential(3)}  (${q.nodes.join(', ')})`);
  }
  if (r.tables.length) {
    lines.push(`quantized ${r.tables.length} embedding table(s):`);
    for (const t of r.tables) {
      lines.push(`  ${t.table} [${t.rows}, ${t.cols}]  max abs err ${t.maxAbsError.toExponential(3)}  rms err ${t.rmsError.toExponential(3)}  (${t.nodes.join(', ')})`);
    }
  }
  if (r.skipped.length) {
    lines.push(`left ${r.skipped.length} MatMul(s) as they are:`);
    for (const s of r.skipped) lines.push(`  ${s.node || '(unnamed)'} B=${s.weight}: ${s.reason}`);
  }
  if (r.skippedGathers.length) {
    lines.push(`left ${r.skippedGathers.length} table lookup(s) (Gather) in f32:`);
    for (const s of r.skippedGathers) lines.push(`  ${s.node || '(unnamed)'} table=${s.table}: ${s.reason}`);
  }
  return lines.join('\n');
}

/**
 * One line per .onnx file (sizes, how many weights and tables were quantized and how many MatMuls and table
 * lookups stayed f32; the per-weight errors are what quantizing that file alone prints), the copied files, then
 * the package's size before and after.
 */
export function formatPackageReport(p: QuantizedPackage): string {
  const lines: string[] = [];
  for (const [name, f] of Object.entries(p.files)) {
    const r = f.report;
    if (!lines.length) lines.push(settings(r));
    lines.push(
      `${name}: ${mb(f.bytesBefore)} -> ${mb(f.bytes)}${ratio(f.bytes, f.bytesBefore)}; quantized ${r.quantized.length} weight(s), ` +
        `${r.tables.length} embedding table(s); left ${r.skipped.length} MatMul(s), ${r.skippedGathers.length} table lookup(s) as they are`,
    );
  }
  if (p.copied.length) lines.push(`copied: ${p.copied.join(', ')}`);
  lines.push(`package: ${mb(p.totalBefore)} -> ${mb(p.totalAfter)}${ratio(p.totalAfter, p.totalBefore)}`);
  return lines.join('\n');
}
