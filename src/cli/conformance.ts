// Runs every case of ONNX's operator conformance suite (backend-test layout: test_<name>/model.onnx and
// test_data_set_*/{input,output}_<i>.pb) on our executor and sorts each failure into one reason class, so the
// report says what is missing (which ops, control flow, which dtypes) and whether anything fails for a reason
// that is not a typed error (a bug) or computes wrong numbers.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GpuContext } from '../gpu/index.js';
import { UnsupportedOpError } from '../graph/errors.js';
import { runOnnxCase } from './run-onnx.js';

/** ONNX's node suite as Debian's libonnx-testdata installs it (932 cases). */
export const ONNX_NODE_SUITE = '/usr/share/libonnx-testdata/data/node';

export type FailureKind =
  /** An op (or an attribute value of it) the executor has no implementation for. */
  | 'unsupported op'
  /** If/Loop/Scan/SequenceMap: subgraph attributes. */
  | 'control flow'
  /** An element type the GPU runtime cannot hold (string, bfloat16, ...). */
  | 'dtype'
  /** Bytes the ONNX reader rejects: non-tensor test data (sequences, optionals), TYPE_PROTO attributes. */
  | 'onnx format'
  /** Ran, but an output's shape differs from the expected one. */
  | 'shape mismatch'
  /** Ran, but an output's values are outside the tolerance. */
  | 'numerical mismatch'
  /** Any other of the runtime's typed errors. */
  | 'other typed error'
  /** A built-in JS error (TypeError, RangeError, ...) or a case that compared nothing: a runner or runtime bug. */
  | 'untyped error';

/** The failures that are the runtime declining a case; the other kinds (wrong numbers or shapes, untyped errors) are bugs. */
export const TYPED_FAILURES: ReadonlySet<FailureKind> = new Set(['unsupported op', 'control flow', 'dtype', 'onnx format', 'other typed error']);

export interface CaseFailure {
  case: string;
  kind: FailureKind;
  /** What the kind is about: the op, the dtype, the error class; empty where the reason says it all. */
  subject: string;
  reason: string;
}

export interface ConformanceReport {
  suite: string;
  passed: number;
  total: number;
  /** passed / total in percent, one decimal. */
  percent: number;
  /** Failures per kind, and per kind the subjects (op names, dtypes, ...) by case count, largest first. */
  byKind: Partial<Record<FailureKind, { cases: number; subjects: Record<string, number> }>>;
  failures: CaseFailure[];
  /** The cases that pass, sorted. */
  passing: string[];
}

const BUILTIN_ERRORS = new Set(['Error', 'TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'EvalError', 'URIError', 'AggregateError']);

/** The reason class of an exception a case threw. */
export function classifyError(e: unknown): Pick<CaseFailure, 'kind' | 'subject' | 'reason'> {
  if (!(e instanceof Error)) return { kind: 'untyped error', subject: typeof e, reason: `non-Error thrown: ${String(e)}` };
  const reason = `${e.name}: ${e.message.split('\n')[0]}`;
  if (e instanceof UnsupportedOpError) {
    const op = `${e.node.domain ? e.node.domain + '.' : ''}${e.node.op}`;
    return { kind: 'unsupported op', subject: op, reason };
  }
  if (BUILTIN_ERRORS.has(e.name)) return { kind: 'untyped error', subject: e.name, reason };
  if (/holds a subgraph; control flow/.test(e.message)) return { kind: 'control flow', subject: '', reason };
  const dtype = /has element type (\w+), which the GPU runtime cannot hold/.exec(e.message);
  if (dtype) return { kind: 'dtype', subject: dtype[1]!, reason };
  if (e.name === 'OnnxFormatError') return { kind: 'onnx format', subject: '', reason };
  return { kind: 'other typed error', subject: e.name, reason };
}

function summarize(failures: readonly CaseFailure[]): ConformanceReport['byKind'] {
  const byKind: ConformanceReport['byKind'] = {};
  for (const f of failures) {
    const k = (byKind[f.kind] ??= { cases: 0, subjects: {} });
    k.cases++;
    if (f.subject) k.subjects[f.subject] = (k.subjects[f.subject] ?? 0) + 1;
  }
  for (const k of Object.values(byKind)) k.subjects = Object.fromEntries(Object.entries(k.subjects).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  return Object.fromEntries(Object.entries(byKind).sort((a, b) => b[1].cases - a[1].cases));
}

export async function runConformance(dir: string, onCase?: (name: string, failure: CaseFailure | undefined) => void): Promise<ConformanceReport> {
  const gpu = await GpuContext.create();
  const cases = (await readdir(dir)).filter((d) => d.startsWith('test_')).sort();
  const failures: CaseFailure[] = [];
  const passing: string[] = [];
  try {
    for (const c of cases) {
      let failure: CaseFailure | undefined;
      try {
        const r = await runOnnxCase(join(dir, c), { gpu });
        const bad = r.outputs.filter((o) => !o.ok);
        const reason = bad.map((o) => `${o.dataSet}/${o.name}: ${o.detail ?? `max abs diff ${o.maxAbsDiff}`}`).join('; ');
        if (r.outputs.length === 0) failure = { case: c, kind: 'untyped error', subject: 'no outputs', reason: 'no output was compared' };
        else if (bad.some((o) => o.detail)) failure = { case: c, kind: 'shape mismatch', subject: '', reason };
        else if (bad.length) failure = { case: c, kind: 'numerical mismatch', subject: '', reason };
      } catch (e) {
        failure = { case: c, ...classifyError(e) };
      }
      if (failure) failures.push(failure);
      else passing.push(c);
      onCase?.(c, failure);
    }
  } finally {
    gpu.destroy();
  }
  const total = cases.length;
  return {
    suite: dir,
    passed: passing.length,
    total,
    percent: total ? Math.round((1000 * passing.length) / total) / 10 : 0,
    byKind: summarize(failures),
    failures,
    passing,
  };
}
