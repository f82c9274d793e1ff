// Embedding lookup from a block-quantized table in onnxruntime's GatherBlockQuantized layout (com.microsoft, uint8
// data, gather_axis 0, quantize_axis 1; see src/kernels/gather_nbits.ts): the table [rows, cols] is stored row by row
// as packed values (BITS = 4: two per byte, low nibble first; 8: one per byte) with no padding between rows, so a
// row may start anywhere in a u32 word. Scales f32 [rows, n_blocks], blocks of BLOCK values along cols (the last one
// may be partial); zero points (HAS_ZP) packed as MatMulNBits' (lib/quant), else 2^(BITS-1).
// out[j, c] = (q - zp) * scale of row indices[j], c < cols; negative indices count from the end; out-of-range ones
// give a zero row (the GPU cannot throw: the graph op rejects them when they are known on the CPU).
// One invocation dequantizes one u32 word's worth of values (8 at 4 bits, 4 at 8 bits): they share one block.
//!include quant

override BITS: u32 = 4u;
override BLOCK: u32 = 32u;
override HAS_ZP: bool = false;

struct Params {
  num_indices: u32,
  rows: u32,
  cols: u32,
  n_blocks: u32,
  // Words of values per output row: ceil(cols * BITS / 32).
  groups: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> data: array<u32>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read> zero_points: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

// The 4 bytes of packed data starting at byte `b` (any alignment): a funnel shift of the two words they span.
fn packed_word(b: u32) -> u32 {
  let w = b >> 2u;
  let shift = (b & 3u) * 8u;
  if (shift == 0u) { return data[w]; }
  // The last row's last word may end past the data: clamp (those bytes are past cols and never written out).
  return (data[w] >> shift) | (data[min(w + 1u, arrayLength(&data) - 1u)] << (32u - shift));
}

fn zero_point(row: u32, blk: u32) -> f32 {
  if (!HAS_ZP) { return f32(1u << (BITS - 1u)); }
  let byte = row * ((params.n_blocks * BITS + 7u) / 8u) + select(blk, blk >> 1u, BITS == 4u);
  return zero_point_q(zero_points[byte >> 2u], byte & 3u, blk & 1u, BITS);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * 64u;
  if (i >= params.num_indices * params.groups) { return; }
  let j = i / params.groups;
  let per = 32u / BITS;
  let c0 = (i % params.groups) * per;
  let o = j * params.cols + c0;
  let n = min(per, params.cols - c0);
  let dim = i32(params.rows);
  let raw = indices[j];
  let r = select(raw, raw + dim, raw < 0);
  if (r < 0 || r >= dim) {
    for (var k = 0u; k < n; k++) { out[o + k] = 0.0; }
    return;
  }
  let row = u32(r);
  let word = packed_word(row * (params.cols * BITS / 8u) + c0 * BITS / 8u);
  let blk = c0 / BLOCK;
  let scale = scales[row * params.n_blocks + blk];
  let zp = vec4<f32>(zero_point(row, blk));
  var lo: vec4<f32>;
  var hi = vec4<f32>();
  if (BITS == 4u) {
    let q = unpack_q4(word);
    lo = (q[0] - zp) * scale;
    hi = (q[1] - zp) * scale;
  } else {
    lo = (unpack_q8(word) - zp) * scale;
  }
  for (var k = 0u; k < n; k++) { out[o + k] = select(hi[k & 3u], lo[k & 3u], k < 4u); }
}
