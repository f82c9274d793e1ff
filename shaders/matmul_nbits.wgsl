// Prefill matmul with block-quantized weights: C = epilogue(A x dequant(W)), A [M,K] f32. Each invocation owns
// 4 rows x 4 columns of C; per packed word it dequantises (q - zp) * scale for its 4 columns (scale and zero
// point hoisted per block) and takes dot products with 4 rows of A: one unpack serves 4 rows, one A load 4 columns.
// Rows and columns past the edge are clamped on load and never stored.
//!include activations
//!include matmul_epilogue
//!include quant
//!include matmul_nbits

override WG_X: u32 = 16u;
override WG_Y: u32 = 4u;

// Dequantised values of one packed word as (up to) 8 values in two vec4s: lanes of `lo` then `hi`.
struct Deq { lo: vec4<f32>, hi: vec4<f32> }

fn dequant(word: u32, scale: f32, zp: f32) -> Deq {
  if (BITS == 4u) {
    let q = unpack_q4(word);
    return Deq((q[0] - zp) * scale, (q[1] - zp) * scale);
  }
  return Deq((unpack_q8(word) - zp) * scale, vec4<f32>());
}

// The A values of one packed word for 4 rows: row i's values in ri (and, for 4 bits, the next 4 in hi).
struct Rows { r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32>, h0: vec4<f32>, h1: vec4<f32>, h2: vec4<f32>, h3: vec4<f32> }

fn load_rows(ak: vec4<u32>) -> Rows {
  if (BITS == 4u) {
    return Rows(load4(ak.x), load4(ak.y), load4(ak.z), load4(ak.w), load4(ak.x + 4u), load4(ak.y + 4u), load4(ak.z + 4u), load4(ak.w + 4u));
  }
  let z = vec4<f32>();
  return Rows(load4(ak.x), load4(ak.y), load4(ak.z), load4(ak.w), z, z, z, z);
}

// With K_TAIL: the values loaded past the rows' ends `ends` as zeros.
fn tail_rows(x: Rows, ak: vec4<u32>, ends: vec4<u32>) -> Rows {
  let h = ak + vec4<u32>(4u);
  return Rows(tail_mask(x.r0, ak.x, ends.x), tail_mask(x.r1, ak.y, ends.y), tail_mask(x.r2, ak.z, ends.z), tail_mask(x.r3, ak.w, ends.w),
    tail_mask(x.h0, h.x, ends.x), tail_mask(x.h1, h.y, ends.y), tail_mask(x.h2, h.z, ends.z), tail_mask(x.h3, h.w, ends.w));
}

// The 4 rows' dot products with one column's dequantised word.
fn row_dots(x: Rows, d: Deq) -> vec4<f32> {
  if (BITS == 4u) {
    return vec4<f32>(dot(x.r0, d.lo) + dot(x.h0, d.hi), dot(x.r1, d.lo) + dot(x.h1, d.hi), dot(x.r2, d.lo) + dot(x.h2, d.hi), dot(x.r3, d.lo) + dot(x.h3, d.hi));
  }
  return vec4<f32>(dot(x.r0, d.lo), dot(x.r1, d.lo), dot(x.r2, d.lo), dot(x.r3, d.lo));
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = params.M;
  let N = params.N;
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  if (row0 >= M || col0 >= N) { return; }
  let rows = min(vec4<u32>(row0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(M - 1u)) * params.K;
  let cols = min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(N - 1u));
  let wpb = words_per_block();
  let vpw = 32u / BITS;
  var w = cols * (params.nBlocks * wpb);
  // acc_j[i] = C[row0 + i, col0 + j].
  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  var ak = rows;
  let ends = rows + vec4<u32>(params.K);
  for (var blk = 0u; blk < params.nBlocks; blk++) {
    let s = cols * params.nBlocks + vec4<u32>(blk);
    let sc = vec4<f32>(scales[s.x], scales[s.y], scales[s.z], scales[s.w]);
    let zp = vec4<f32>(zero_point(cols.x, blk), zero_point(cols.y, blk), zero_point(cols.z, blk), zero_point(cols.w, blk));
    for (var i = 0u; i < wpb; i++) {
      var x = load_rows(ak);
      if (K_TAIL) { x = tail_rows(x, ak, ends); }
      acc0 += row_dots(x, dequant(packed[w.x], sc.x, zp.x));
      acc1 += row_dots(x, dequant(packed[w.y], sc.y, zp.y));
      acc2 += row_dots(x, dequant(packed[w.z], sc.z, zp.z));
      acc3 += row_dots(x, dequant(packed[w.w], sc.w, zp.w));
      w += vec4<u32>(1u);
      ak += vec4<u32>(vpw);
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + i;
    if (row >= M) { return; }
    store_nbits(row, col0, acc0[i]);
    store_nbits(row, col0 + 1u, acc1[i]);
    store_nbits(row, col0 + 2u, acc2[i]);
    store_nbits(row, col0 + 3u, acc3[i]);
  }
}
