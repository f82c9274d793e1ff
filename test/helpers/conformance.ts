// ONNX's backend-test node cases (<case>/model.onnx, <case>/test_data_set_0/{input,output}_i.pb) from Debian's
// libonnx-testdata, shared by the conformance, reader, writer and op tests. The tests read the cases the runtime
// passes today: the committed list that `npm run conformance -- --update` writes (test/conformance.test.ts keeps
// every listed case passing); the rest of the suite (ops not implemented yet, control flow, string tensors)
// stays in the conformance report.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ONNX_NODE_SUITE } from '../../src/cli/conformance.js';

export const CASES_DIR = ONNX_NODE_SUITE;

/** The committed list of the cases that pass, one name a line. */
export const PASSING_LIST = resolve(import.meta.dirname, '../conformance-passing.txt');

/** The listed passing cases, sorted; a listed case missing from the suite is an error (another testdata version). */
export function passingCases(): string[] {
  const listed = readFileSync(PASSING_LIST, 'utf8').split('\n').filter(Boolean);
  const present = new Set(readdirSync(CASES_DIR));
  const missing = listed.filter((n) => !present.has(n));
  if (missing.length) throw new Error(`${PASSING_LIST} lists cases that ${CASES_DIR} lacks: ${missing.join(', ')}`);
  return listed.sort();
}

/** The passing cases whose names match `pattern`, sorted. */
export function caseNames(pattern: RegExp): string[] {
  return passingCases().filter((n) => pattern.test(n));
}

export function bytesOf(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
