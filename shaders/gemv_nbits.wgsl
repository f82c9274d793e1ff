// Decode GEMV with block-quantized weights (M = 1..4): C = epilogue(A x dequant(W)). Invocation (x, row = y)
// computes 8 consecutive columns of one row. Per block it accumulates sum(q * a) in vec4 lanes and folds the
// zero point and scale in once: scale * (sum(q * a) - zp * sum(a)), so each packed word costs an unpack and
// two vec4 FMAs per column (8 values for 4 bits, 4 for 8 bits); the A values of a word are loaded once for
// the 8 columns. On SwiftShader this costs about as much as the f32 GEMV: and + convert + FMA per value
// against one (per-lane, gathered) load + FMA per value there.
//!include activations
//!include matmul_epilogue
//!include quant
//!include matmul_nbits

override WG: u32 = 64u;

// acc + the word's values q * x, as 4 lanes; x0/x1 = the word's 8 (4-bit, pre-multiplied by Q4_PLACE)
// or 4 (8-bit, x1 unused) values of A.
fn word_dot(acc: vec4<f32>, word: u32, x0: vec4<f32>, x1: vec4<f32>) -> vec4<f32> {
  if (BITS == 4u) {
    let q = unpack_q4_in_place(word);
    return fma(q[0], x0, fma(q[1], x1, acc));
  }
  return fma(unpack_q8(word), x0, acc);
}

// Four columns' sums, each in 4 lanes.
struct Cols4 { s0: vec4<f32>, s1: vec4<f32>, s2: vec4<f32>, s3: vec4<f32> }

// Adds one packed word per column: w.j = word index of column j.
fn word_step(acc: Cols4, w: vec4<u32>, p0: vec4<f32>, p1: vec4<f32>) -> Cols4 {
  return Cols4(
    word_dot(acc.s0, packed[w.x], p0, p1),
    word_dot(acc.s1, packed[w.y], p0, p1),
    word_dot(acc.s2, packed[w.z], p0, p1),
    word_dot(acc.s3, packed[w.w], p0, p1));
}

// total + scale * (sum(q a) - zp * sum(a)) for block `blk` of the 4 columns `cols`.
fn fold_block(total: Cols4, s: Cols4, sa: vec4<f32>, cols: vec4<u32>, blk: u32) -> Cols4 {
  let i = cols * params.nBlocks + vec4<u32>(blk);
  let sc = vec4<f32>(scales[i.x], scales[i.y], scales[i.z], scales[i.w]);
  let zp = vec4<f32>(zero_point(cols.x, blk), zero_point(cols.y, blk), zero_point(cols.z, blk), zero_point(cols.w, blk));
  return Cols4(
    fma(vec4<f32>(sc.x), s.s0 - zp.x * sa, total.s0),
    fma(vec4<f32>(sc.y), s.s1 - zp.y * sa, total.s1),
    fma(vec4<f32>(sc.z), s.s2 - zp.z * sa, total.s2),
    fma(vec4<f32>(sc.w), s.s3 - zp.w * sa, total.s3));
}

fn store4(row: u32, col0: u32, t: Cols4) {
  let one = vec4<f32>(1.0);
  store_nbits(row, col0, dot(t.s0, one));
  store_nbits(row, col0 + 1u, dot(t.s1, one));
  store_nbits(row, col0 + 2u, dot(t.s2, one));
  store_nbits(row, col0 + 3u, dot(t.s3, one));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let N = params.N;
  let row = gid.y;
  let col0 = gid.x * 8u;
  if (col0 >= N) { return; }
  let colsA = min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(N - 1u));
  let colsB = min(vec4<u32>(col0) + vec4<u32>(4u, 5u, 6u, 7u), vec4<u32>(N - 1u));
  let wpb = words_per_block();
  let vpw = 32u / BITS;
  let colWords = params.nBlocks * wpb;
  var totalA = Cols4();
  var totalB = Cols4();
  var ak = row * params.K;
  let end = ak + params.K;
  var wA = colsA * colWords;
  var wB = colsB * colWords;
  for (var blk = 0u; blk < params.nBlocks; blk++) {
    var sA = Cols4();
    var sB = Cols4();
    var sa = vec4<f32>();
    for (var i = 0u; i < wpb; i++) {
      var x0 = load4(ak);
      var x1 = vec4<f32>();
      if (BITS == 4u) { x1 = load4(ak + 4u); }
      if (K_TAIL) {
        x0 = tail_mask(x0, ak, end);
        x1 = tail_mask(x1, ak + 4u, end);
      }
      sa += x0 + x1;
      let p0 = select(x0, x0 * Q4_PLACE, BITS == 4u);
      let p1 = x1 * Q4_PLACE;
      sA = word_step(sA, wA, p0, p1);
      sB = word_step(sB, wB, p0, p1);
      wA += vec4<u32>(1u);
      wB += vec4<u32>(1u);
      ak += vpw;
    }
    totalA = fold_block(totalA, sA, sa, colsA, blk);
    totalB = fold_block(totalB, sB, sa, colsB, blk);
  }
  store4(row, col0, totalA);
  store4(row, col0 + 4u, totalB);
}
