// Unpacking of block-quantized weights in onnxruntime's MatMulNBits layout, read as array<u32>.
// Values are packed low-first along K: a u32 word holds 8 4-bit values (lowest nibble = first value)
// or 4 8-bit values (lowest byte = first value). Dequantised w = (q - zero_point) * scale.

// The 8 nibbles of `word` as f32 0..15, low nibble first: [0] = values 0..3, [1] = values 4..7.
// Conversions go through i32 (values are small): CPUs convert signed integers in one instruction.
fn unpack_q4(word: u32) -> mat2x4<f32> {
  let shifts = vec4<u32>(0u, 4u, 8u, 12u);
  let lo = (vec4<u32>(word) >> shifts) & vec4<u32>(15u);
  let hi = (vec4<u32>(word >> 16u) >> shifts) & vec4<u32>(15u);
  return mat2x4<f32>(vec4<f32>(bitcast<vec4<i32>>(lo)), vec4<f32>(bitcast<vec4<i32>>(hi)));
}

// The 4 bytes of `word` as f32 0..255, lowest byte first.
fn unpack_q8(word: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<i32>>((vec4<u32>(word) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(255u)));
}

// The zero point of one block. `zp` is the u32 word of the zero-point buffer that holds it, `byte_in_word`
// its byte (0..3) and `nibble` (0 = low, 1 = high) which half of that byte for 4 bits (ignored for 8 bits).
// For block b of column n: 4 bits -> byte n * ceil(n_blocks / 2) + b / 2, nibble b % 2;
// 8 bits -> byte n * n_blocks + b. Without a zero-point input the zero point is 2^(bits - 1).
fn zero_point_q(zp: u32, byte_in_word: u32, nibble: u32, bits: u32) -> f32 {
  let byte = (zp >> (8u * byte_in_word)) & 255u;
  if (bits == 4u) {
    return f32((byte >> (4u * nibble)) & 15u);
  }
  return f32(byte);
}

// A cheaper unpack for dot products: lane j of each half keeps nibble j in place (q * 16^j, no shift),
// so the dot product with A is right when A's lanes are multiplied by Q4_PLACE first (exact: powers of 2).
// Per 8 values that saves the 8 shifts of unpack_q4 at the cost of 2 multiplies on A, shared by columns.
const Q4_PLACE = vec4<f32>(1.0, 1.0 / 16.0, 1.0 / 256.0, 1.0 / 4096.0);

fn unpack_q4_in_place(word: u32) -> mat2x4<f32> {
  let masks = vec4<u32>(0xfu, 0xf0u, 0xf00u, 0xf000u);
  let lo = bitcast<vec4<i32>>(vec4<u32>(word) & masks);
  let hi = bitcast<vec4<i32>>(vec4<u32>(word >> 16u) & masks);
  return mat2x4<f32>(vec4<f32>(lo), vec4<f32>(hi));
}

// acc + one packed word's values times A, in 4 lanes: 4 bits -> the 8 nibbles unpacked in place against x0, x1 (the
// word's 8 A values, already multiplied by Q4_PLACE); 8 bits -> the 4 bytes against x0 (x1 unused). Sum the lanes
// (q_hsum) once per block, then apply scale and zero point: the per-value cost is an and, a convert and an FMA.
fn q_word_dot(acc: vec4<f32>, word: u32, x0: vec4<f32>, x1: vec4<f32>, bits: u32) -> vec4<f32> {
  if (bits == 4u) {
    let q = unpack_q4_in_place(word);
    return fma(q[0], x0, fma(q[1], x1, acc));
  }
  return fma(unpack_q8(word), x0, acc);
}

fn q_hsum(v: vec4<f32>) -> f32 {
  return (v.x + v.y) + (v.z + v.w);
}
