import { readFileSync, writeFileSync } from 'node:fs';

/** Minimal .npy (format 1.0) reader/writer for little-endian numeric arrays. */
export type NpyDtype = '|u1' | '<i4' | '<i8' | '<f4' | '<f8' | '|b1';
export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: Uint8Array | Int32Array | BigInt64Array | Float32Array | Float64Array;
}

export function encodeNpy(dtype: NpyDtype, shape: number[], data: ArrayBufferView): Uint8Array {
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

export function writeNpy(path: string, dtype: NpyDtype, shape: number[], data: ArrayBufferView): void {
  writeFileSync(path, encodeNpy(dtype, shape, data));
}

export function readNpy(path: string): NpyArray {
  const buf = readFileSync(path);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY') throw new Error(`${path}: not npy`);
  const major = bytes[6]!;
  const hlen = major === 1 ? bytes[8]! | (bytes[9]! << 8) : bytes[8]! | (bytes[9]! << 8) | (bytes[10]! << 16) | (bytes[11]! << 24);
  const hstart = major === 1 ? 10 : 12;
  const header = String.fromCharCode(...bytes.subarray(hstart, hstart + hlen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)![1] as NpyDtype;
  if (/'fortran_order':\s*True/.test(header)) throw new Error('fortran order unsupported');
  const shapeTxt = /'shape':\s*\(([^)]*)\)/.exec(header)![1]!;
  const shape = shapeTxt
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const off = hstart + hlen;
  const raw = bytes.slice(off); // copy -> aligned
  let data: NpyArray['data'];
  switch (descr) {
    case '|u1':
    case '|b1':
      data = raw;
      break;
    case '<i4':
      data = new Int32Array(raw.buffer, 0, raw.byteLength / 4);
      break;
    case '<i8':
      data = new BigInt64Array(raw.buffer, 0, raw.byteLength / 8);
      break;
    case '<f4':
      data = new Float32Array(raw.buffer, 0, raw.byteLength / 4);
      break;
    case '<f8':
      data = new Float64Array(raw.buffer, 0, raw.byteLength / 8);
      break;
    default:
      throw new Error(`${path}: unsupported dtype ${descr}`);
  }
  return { dtype: descr, shape, data };
}
