// Minimal protobuf wire format: the subset ONNX uses (varint, fixed32/64, length-delimited; packed and
// unpacked repeated scalars). The reader never allocates more than the bytes it was given: every length is
// checked against the bytes left in the enclosing message first. Host byte order is assumed little-endian,
// as on every platform that has WebGPU.
import { concatArrays } from '../arrays.js';
import { OnnxFormatError } from './errors.js';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'group start', 'group end', 'fixed32', '6', '7'];

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Reads one message: the bytes [pos, end) of a buffer shared with its parent and children. */
export class ProtoReader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    readonly path: string,
  ) {
    this.pos = start;
  }

  fail(detail: string, at = this.pos): never {
    throw new OnnxFormatError(detail, { offset: at, path: this.path });
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a field key; returns it as field * 8 + wire type. */
  tag(): number {
    const at = this.pos;
    const key = this.u53('field key');
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0 || field > 0x1fffffff) this.fail(`invalid field number ${field}`, at);
    if (wire !== WIRE_VARINT && wire !== WIRE_I64 && wire !== WIRE_LEN && wire !== WIRE_I32) {
      this.fail(`field ${field} has unsupported wire type ${WIRE_NAMES[wire]}`, at);
    }
    return key;
  }

  /**
   * The message's fields in order: field number, wire type and the key's offset (for messages). Each value must
   * be read or skipped before the next field is asked for.
   */
  *fields(): Generator<{ field: number; wire: number; at: number }> {
    while (!this.done()) {
      const at = this.pos;
      const key = this.tag();
      yield { field: key >>> 3, wire: key & 7, at };
    }
  }

  /** Fails unless `wire` is the wire type the schema gives field `name`. */
  expect(wire: number, expected: number, name: string, at: number): void {
    if (wire !== expected) this.fail(`field ${name} has wire type ${WIRE_NAMES[wire]}, expected ${WIRE_NAMES[expected]}`, at);
  }

  private byte(start: number): number {
    if (this.pos >= this.end) this.fail('truncated varint', start);
    return this.buf[this.pos++]!;
  }

  /** An unsigned varint that must fit a JS number exactly (lengths, keys). */
  u53(what: string): number {
    const start = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte(start);
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) this.fail(`${what} is too large`, start);
        return result;
      }
      scale *= 128;
    }
    this.fail('varint longer than 10 bytes', start);
  }

  u64(): bigint {
    const start = this.pos;
    let low = 0;
    for (let i = 0; i < 7; i++) {
      const b = this.byte(start);
      low += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return BigInt(low);
    }
    let high = 0n;
    for (let i = 0; i < 3; i++) {
      const b = this.byte(start);
      high |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) return BigInt.asUintN(64, BigInt(low) | (high << 49n));
    }
    this.fail('varint longer than 10 bytes', start);
  }

  i64(): bigint {
    return BigInt.asIntN(64, this.u64());
  }

  /** An int64 field that must be a safe integer (versions, dims). */
  i64Number(what: string): number {
    const start = this.pos;
    const v = this.i64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      this.fail(`${what} ${v} does not fit a JS number`, start);
    }
    return Number(v);
  }

  /** An int32 or enum: the low 32 bits of the varint, sign-extended like protobuf does. */
  i32(): number {
    const start = this.pos;
    let result = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.byte(start);
      if (i < 5) result |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return result | 0;
    }
    this.fail('varint longer than 10 bytes', start);
  }

  f32(): number {
    this.need(4);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  private need(n: number): void {
    if (n > this.end - this.pos) this.fail(`truncated: needs ${n} bytes, ${this.end - this.pos} left`);
  }

  /** Reads a length prefix and returns the [start, end) of the payload, advancing past it. */
  private span(path = this.path): [number, number] {
    const at = this.pos;
    const len = this.u53('length');
    if (len > this.end - this.pos) {
      const detail = `length ${len} runs past the end of the enclosing message (${this.end - this.pos} bytes left)`;
      throw new OnnxFormatError(detail, { offset: at, path });
    }
    const start = this.pos;
    this.pos += len;
    return [start, start + len];
  }

  /** A length-delimited payload as a view into the input (no copy). */
  bytes(path = this.path): Uint8Array {
    const [start, end] = this.span(path);
    return this.buf.subarray(start, end);
  }

  string(path = this.path): string {
    const [start, end] = this.span(path);
    if (end - start <= 64) {
      let ascii = '';
      for (let i = start; i < end; i++) {
        const c = this.buf[i]!;
        if (c >= 0x80) return this.utf8(start, end, path);
        ascii += String.fromCharCode(c);
      }
      return ascii;
    }
    return this.utf8(start, end, path);
  }

  private utf8(start: number, end: number, path: string): string {
    try {
      return utf8.decode(this.buf.subarray(start, end));
    } catch {
      throw new OnnxFormatError('string is not valid UTF-8', { offset: start, path });
    }
  }

  /** A nested message, read by a child reader over the same buffer. */
  message(path: string): ProtoReader {
    const [start, end] = this.span(path);
    return new ProtoReader(this.buf, start, end, path);
  }

  /** Skips one field's payload and returns the whole field (key included) as a view, from `fieldStart`. */
  skip(wire: number, fieldStart: number): Uint8Array {
    if (wire === WIRE_VARINT) {
      this.u64();
    } else if (wire === WIRE_LEN) {
      this.span();
    } else {
      const width = wire === WIRE_I64 ? 8 : 4;
      this.need(width);
      this.pos += width;
    }
    return this.buf.subarray(fieldStart, this.pos);
  }

  /** A packed run of fixed-width values, copied to an aligned buffer of its own. */
  private packedFixed(width: number, what: string): ArrayBuffer {
    const [start, end] = this.span();
    if ((end - start) % width !== 0) this.fail(`packed ${what} length ${end - start} is not a multiple of ${width}`, start);
    return new Uint8Array(this.buf.subarray(start, end)).buffer;
  }

  packedF32(): Float32Array {
    return new Float32Array(this.packedFixed(4, 'float'));
  }

  packedF64(): Float64Array {
    return new Float64Array(this.packedFixed(8, 'double'));
  }

  /** Counts the varints of a packed run (so the output is allocated once) and returns a reader over it. */
  private packedVarints(): [ProtoReader, number] {
    const [start, end] = this.span();
    let count = 0;
    for (let i = start; i < end; i++) if (this.buf[i]! < 0x80) count++;
    if (end > start && this.buf[end - 1]! >= 0x80) this.fail('packed varints end inside a varint', end - 1);
    return [new ProtoReader(this.buf, start, end, this.path), count];
  }

  packedI32(): Int32Array {
    const [r, n] = this.packedVarints();
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = r.i32();
    return out;
  }

  packedI64(): BigInt64Array {
    const [r, n] = this.packedVarints();
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) out[i] = r.i64();
    return out;
  }

  packedU64(): BigUint64Array {
    const [r, n] = this.packedVarints();
    const out = new BigUint64Array(n);
    for (let i = 0; i < n; i++) out[i] = r.u64();
    return out;
  }
}

/**
 * Builds a message as a list of parts. Large byte fields (raw_data) and nested messages are kept by
 * reference, so the weights are copied once, into the final buffer.
 */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private chunk = new Uint8Array(64);
  /** chunk[start, used) is written but not yet in parts. */
  private start = 0;
  private used = 0;
  /** Bytes written so far. */
  size = 0;

  private room(n: number): void {
    if (this.used + n <= this.chunk.length) return;
    this.flush();
    // Geometric growth from 64 bytes: a graph has one writer per node and attribute, most of them tiny.
    this.chunk = new Uint8Array(Math.max(n, Math.min(Math.max(64, this.size), 65536)));
    this.start = this.used = 0;
  }

  private flush(): void {
    if (this.used === this.start) return;
    this.parts.push(this.chunk.subarray(this.start, this.used));
    this.start = this.used;
  }

  private append(part: Uint8Array): void {
    if (part.length <= 64) {
      this.room(part.length);
      this.chunk.set(part, this.used);
      this.used += part.length;
    } else {
      this.flush();
      this.parts.push(part);
    }
    this.size += part.length;
  }

  varint(v: number): void {
    this.room(10);
    const before = this.used;
    let n = v;
    while (n >= 0x80) {
      this.chunk[this.used++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.chunk[this.used++] = n;
    this.size += this.used - before;
  }

  varint64(v: bigint): void {
    let n = BigInt.asUintN(64, v);
    if (n <= BigInt(Number.MAX_SAFE_INTEGER)) return this.varint(Number(n));
    this.room(10);
    const before = this.used;
    while (n >= 0x80n) {
      this.chunk[this.used++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.chunk[this.used++] = Number(n);
    this.size += this.used - before;
  }

  /** int32/int64/enum fields given as a safe integer: negatives take 10 bytes, sign-extended to 64 bits. */
  signed(v: number): void {
    if (v >= 0) this.varint(v);
    else this.varint64(BigInt(v));
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  f32(v: number): void {
    this.room(4);
    scratchF32[0] = v;
    this.chunk.set(scratchF32Bytes, this.used);
    this.used += 4;
    this.size += 4;
  }

  bytesField(field: number, data: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint(data.length);
    this.append(data);
  }

  stringField(field: number, s: string): void {
    // Names are almost always short ASCII: write them in place instead of allocating an encoded copy.
    if (s.length < 128 && /^[\x00-\x7f]*$/.test(s)) {
      this.tag(field, WIRE_LEN);
      this.varint(s.length);
      this.room(s.length);
      for (let i = 0; i < s.length; i++) this.chunk[this.used++] = s.charCodeAt(i);
      this.size += s.length;
    } else this.bytesField(field, utf8Encoder.encode(s));
  }

  messageField(field: number, child: ProtoWriter): void {
    this.tag(field, WIRE_LEN);
    this.varint(child.size);
    child.flush();
    this.flush();
    for (const p of child.parts) this.parts.push(p);
    this.size += child.size;
  }

  /** A fixed-width typed array as a packed field: its bytes are the wire bytes on a little-endian host. */
  packedFixed(field: number, values: Float32Array | Float64Array): void {
    this.bytesField(field, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }

  packedVarints(field: number, values: Int32Array | BigInt64Array | BigUint64Array): void {
    const body = new ProtoWriter();
    if (values instanceof Int32Array) for (const v of values) body.signed(v);
    else for (const v of values) body.varint64(v);
    this.messageField(field, body);
  }

  /** Appends fields that were read verbatim (unknown fields kept for round trips). */
  raw(field: Uint8Array): void {
    this.append(field);
  }

  finish(): Uint8Array {
    this.flush();
    return concatArrays(this.parts, (n) => new Uint8Array(n));
  }
}

const scratchF32 = new Float32Array(1);
const scratchF32Bytes = new Uint8Array(scratchF32.buffer);
