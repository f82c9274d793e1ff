// ONNX's backend-test cases (<case>/model.onnx, <case>/test_data_set_0/{input,output}_i.pb), shared by the
// reader, writer and op tests.
import { readdirSync, readFileSync } from 'node:fs';

export const CASES_DIR = '/work/shared/conformance/onnx-node';

/** The case folders whose names match `pattern`, sorted. */
export function caseNames(pattern: RegExp): string[] {
  return readdirSync(CASES_DIR).filter((n) => pattern.test(n)).sort();
}

export function bytesOf(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
