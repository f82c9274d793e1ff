// Decode GEMV with block-quantized weights (M = 1..4): C = epilogue(A x dequant(W)). Invocation (x, row = y)
// computes 16 consecutive columns of one row. Per block it accumulates sum(q * a) in vec4 lanes and folds the
// zero point and scale in once: scale * (sum(q * a) - zp * sum(a)), so each packed word costs an unpack and
// two vec4 FMAs per column (8 values for 4 bits, 4 for 8 bits); the A values of a word are loaded once for
// the 16 columns (16 beat 8 by ~8% on SwiftShader). Per block and column the zero point and scale cost a
// few scalar ops (lanes are summed first; zero-point byte offsets are computed once). On SwiftShader
// (compute-bound) this runs ~10% faster than the f32 GEMV: and + convert + FMA per value against one
// gathered load + FMA per value there.
//!include activations
//!include matmul_epilogue
//!include quant
//!include matmul_nbits

override WG: u32 = 64u;

// Four columns' sums, each in 4 lanes.
struct Cols4 { s0: vec4<f32>, s1: vec4<f32>, s2: vec4<f32>, s3: vec4<f32> }

// Adds one packed word per column: w.j = word index of column j.
fn word_step(acc: Cols4, w: vec4<u32>, p0: vec4<f32>, p1: vec4<f32>) -> Cols4 {
  return Cols4(
    q_word_dot(acc.s0, packed[w.x], p0, p1, BITS),
    q_word_dot(acc.s1, packed[w.y], p0, p1, BITS),
    q_word_dot(acc.s2, packed[w.z], p0, p1, BITS),
    q_word_dot(acc.s3, packed[w.w], p0, p1, BITS));
}

// 4 columns' first scale (index into `scales`) and zero-point byte (zp_col_byte).
struct ColStarts { scale: vec4<u32>, zp: vec4<u32> }

fn col_starts(cols: vec4<u32>) -> ColStarts {
  return ColStarts(cols * params.nBlocks, vec4<u32>(zp_col_byte(cols.x), zp_col_byte(cols.y), zp_col_byte(cols.z), zp_col_byte(cols.w)));
}

// total + scale * (sum(q a) - zp * sum(a)) for block `blk` of 4 columns (one lane each): the lanes of the
// block sums are added first, so the zero point and scale cost one vec4 op each per 4 columns.
fn fold_block(total: vec4<f32>, s: Cols4, sa: vec4<f32>, c: ColStarts, blk: u32) -> vec4<f32> {
  let i = c.scale + vec4<u32>(blk);
  let sc = vec4<f32>(scales[i.x], scales[i.y], scales[i.z], scales[i.w]);
  let zp = vec4<f32>(zero_point_at(c.zp.x, blk), zero_point_at(c.zp.y, blk), zero_point_at(c.zp.z, blk), zero_point_at(c.zp.w, blk));
  let sq = vec4<f32>(q_hsum(s.s0), q_hsum(s.s1), q_hsum(s.s2), q_hsum(s.s3));
  return fma(sc, sq - zp * q_hsum(sa), total);
}

fn store4(row: u32, col0: u32, t: vec4<f32>) {
  store_nbits(row, col0, t.x);
  store_nbits(row, col0 + 1u, t.y);
  store_nbits(row, col0 + 2u, t.z);
  store_nbits(row, col0 + 3u, t.w);
}

// One block's sums so far: per column sum(q a) (4 lanes each) for columns 0..3 (ca), 4..7 (cb), 8..11 (cc)
// and 12..15 (cd), and sum(a).
struct BlockSums { ca: Cols4, cb: Cols4, cc: Cols4, cd: Cols4, sa: vec4<f32> }

// Adds the packed words at word offsets wA (columns 0..3) .. wD (12..15) against A values from `ak` on.
fn add_word(s: ptr<function, BlockSums>, ak: u32, end: u32, wA: vec4<u32>, wB: vec4<u32>, wC: vec4<u32>, wD: vec4<u32>) {
  var x0 = load4(ak);
  var x1 = vec4<f32>();
  if (BITS == 4u) { x1 = load4(ak + 4u); }
  if (K_TAIL) {
    x0 = tail_mask(x0, ak, end);
    x1 = tail_mask(x1, ak + 4u, end);
  }
  (*s).sa += x0 + x1;
  let p0 = select(x0, x0 * Q4_PLACE, BITS == 4u);
  let p1 = x1 * Q4_PLACE;
  (*s).ca = word_step((*s).ca, wA, p0, p1);
  (*s).cb = word_step((*s).cb, wB, p0, p1);
  (*s).cc = word_step((*s).cc, wC, p0, p1);
  (*s).cd = word_step((*s).cd, wD, p0, p1);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let N = params.N;
  let row = gid.y;
  let col0 = gid.x * 16u;
  if (col0 >= N) { return; }
  let last = vec4<u32>(N - 1u);
  let colsA = min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), last);
  let colsB = min(vec4<u32>(col0) + vec4<u32>(4u, 5u, 6u, 7u), last);
  let colsC = min(vec4<u32>(col0) + vec4<u32>(8u, 9u, 10u, 11u), last);
  let colsD = min(vec4<u32>(col0) + vec4<u32>(12u, 13u, 14u, 15u), last);
  let wpb = words_per_block();
  let vpw = 32u / BITS;
  let colWords = params.nBlocks * wpb;
  var totalA = vec4<f32>();
  var totalB = vec4<f32>();
  var totalC = vec4<f32>();
  var totalD = vec4<f32>();
  var ak = row * params.K;
  let end = ak + params.K;
  let startsA = col_starts(colsA);
  let startsB = col_starts(colsB);
  let startsC = col_starts(colsC);
  let startsD = col_starts(colsD);
  var wA = colsA * colWords;
  var wB = colsB * colWords;
  var wC = colsC * colWords;
  var wD = colsD * colWords;
  let one = vec4<u32>(1u);
  for (var blk = 0u; blk < params.nBlocks; blk++) {
    var s = BlockSums();
    // Two words per trip (blocks hold an even number of words): half the loop overhead.
    for (var i = 0u; i < wpb; i += 2u) {
      add_word(&s, ak, end, wA, wB, wC, wD);
      add_word(&s, ak + vpw, end, wA + one, wB + one, wC + one, wD + one);
      wA += 2u * one;
      wB += 2u * one;
      wC += 2u * one;
      wD += 2u * one;
      ak += 2u * vpw;
    }
    totalA = fold_block(totalA, s.ca, s.sa, startsA, blk);
    totalB = fold_block(totalB, s.cb, s.sa, startsB, blk);
    totalC = fold_block(totalC, s.cc, s.sa, startsC, blk);
    totalD = fold_block(totalD, s.cd, s.sa, startsD, blk);
  }
  store4(row, col0, totalA);
  store4(row, col0 + 4u, totalB);
  store4(row, col0 + 8u, totalC);
  store4(row, col0 + 12u, totalD);
}
