// C[b] = epilogue(A[b] x B[b]) for row-major A [M,K] and B [K,N] (or B [N,K] with TRANS_B); batch index =
// workgroup z, a batch stride of 0 broadcasts an operand. Each invocation owns a 16 x 16 block of C in
// registers (eight 4 x 8 parts): no shared memory, no barriers (slow on software adapters); the workgroup
// shape comes from src/kernels/tiles.ts. On SwiftShader loads (gathers with bounds checks) cost more than
// FMAs, so the tile is as large as possible: 16 x 16 ran 1024^3 ~40% faster than 8 x 8 (0.5 load per FMA
// instead of 1); the k loop is unrolled by hand (Subzero does not unroll, and indexing by a loop
// variable puts values in memory).
// Rows and columns past the edge are clamped on load and never stored, so any M, N, K work.
//!include activations
//!include matmul_epilogue

override WG_X: u32 = 16u;
override WG_Y: u32 = 4u;
override TRANS_B: bool = false;

//!include matmul_io

// Row i of a 4 x 8 half-tile of C: ri0 = columns 0..3, ri1 = columns 4..7 (named fields, not an array:
// dynamic indexing would force the accumulators into memory).
struct Acc { r00: vec4<f32>, r01: vec4<f32>, r10: vec4<f32>, r11: vec4<f32>, r20: vec4<f32>, r21: vec4<f32>, r30: vec4<f32>, r31: vec4<f32> }

fn load4(p: u32) -> vec4<f32> {
  return vec4<f32>(a[p], a[p + 1u], a[p + 2u], a[p + 3u]);
}

// One k step of a half-tile: ak = A[4 rows, k], b0/b1 = B[k, col0..col0+7].
fn madd(acc: ptr<function, Acc>, ak: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>) {
  (*acc).r00 = fma(vec4<f32>(ak.x), b0, (*acc).r00);
  (*acc).r01 = fma(vec4<f32>(ak.x), b1, (*acc).r01);
  (*acc).r10 = fma(vec4<f32>(ak.y), b0, (*acc).r10);
  (*acc).r11 = fma(vec4<f32>(ak.y), b1, (*acc).r11);
  (*acc).r20 = fma(vec4<f32>(ak.z), b0, (*acc).r20);
  (*acc).r21 = fma(vec4<f32>(ak.z), b1, (*acc).r21);
  (*acc).r30 = fma(vec4<f32>(ak.w), b0, (*acc).r30);
  (*acc).r31 = fma(vec4<f32>(ak.w), b1, (*acc).r31);
}

// B at 4 element offsets `cols` past `base`.
fn load_b(base: u32, cols: vec4<u32>) -> vec4<f32> {
  let q = vec4<u32>(base) + cols;
  return vec4<f32>(b[q.x], b[q.y], b[q.z], b[q.w]);
}

// One k step of a 4 x 16 quarter of the tile: ak = A[4 rows, k], b0..b3 = B[k, col0..col0+15].
fn quarter_step(lo: ptr<function, Acc>, hi: ptr<function, Acc>, ak: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) {
  madd(lo, ak, b0, b1);
  madd(hi, ak, b2, b3);
}

// Rows r .. r+3 of A at k .. k+3 (4 offsets, possibly clamped), transposed: column kk = A[rows, k + kk].
fn load_at(r: vec4<u32>, k: u32) -> mat4x4<f32> {
  return transpose(mat4x4<f32>(load4(r.x + k), load4(r.y + k), load4(r.z + k), load4(r.w + k)));
}

// One k step of the 16 x 16 tile: aR = A[rows 4R .. 4R+3, k]; B[k, cols] is read at `kb` + c0..c3 (the
// offsets of B^T rows with TRANS_B, where `kb` is k itself).
fn tile_step(acc00: ptr<function, Acc>, acc01: ptr<function, Acc>, acc10: ptr<function, Acc>, acc11: ptr<function, Acc>,
             acc20: ptr<function, Acc>, acc21: ptr<function, Acc>, acc30: ptr<function, Acc>, acc31: ptr<function, Acc>,
             a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>, kb: u32, c0: vec4<u32>, c1: vec4<u32>, c2: vec4<u32>, c3: vec4<u32>) {
  let b0 = load_b(kb, c0);
  let b1 = load_b(kb, c1);
  let b2 = load_b(kb, c2);
  let b3 = load_b(kb, c3);
  quarter_step(acc00, acc01, a0, b0, b1, b2, b3);
  quarter_step(acc10, acc11, a1, b0, b1, b2, b3);
  quarter_step(acc20, acc21, a2, b0, b1, b2, b3);
  quarter_step(acc30, acc31, a3, b0, b1, b2, b3);
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let row0 = gid.y * 16u;
  let col0 = gid.x * 16u;
  if (row0 >= M || col0 >= N) { return; }
  // Element offsets of the 16 (clamped) rows of A.
  let aBase = vec4<u32>(gid.z * params.strideA);
  let lastRow = vec4<u32>(M - 1u);
  let ra = aBase + min(vec4<u32>(row0) + vec4<u32>(0u, 1u, 2u, 3u), lastRow) * K;
  let rb = aBase + min(vec4<u32>(row0) + vec4<u32>(4u, 5u, 6u, 7u), lastRow) * K;
  let rc = aBase + min(vec4<u32>(row0) + vec4<u32>(8u, 9u, 10u, 11u), lastRow) * K;
  let rd = aBase + min(vec4<u32>(row0) + vec4<u32>(12u, 13u, 14u, 15u), lastRow) * K;
  // Element offsets of the 16 (clamped) columns in row 0 of B, or the starts of rows n of B^T [N,K];
  // kStep moves them along k.
  let last = vec4<u32>(N - 1u);
  let cols0 = min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), last);
  let cols1 = min(vec4<u32>(col0) + vec4<u32>(4u, 5u, 6u, 7u), last);
  let cols2 = min(vec4<u32>(col0) + vec4<u32>(8u, 9u, 10u, 11u), last);
  let cols3 = min(vec4<u32>(col0) + vec4<u32>(12u, 13u, 14u, 15u), last);
  let c0 = select(cols0, cols0 * K, TRANS_B);
  let c1 = select(cols1, cols1 * K, TRANS_B);
  let c2 = select(cols2, cols2 * K, TRANS_B);
  let c3 = select(cols3, cols3 * K, TRANS_B);
  let kStep = select(N, 1u, TRANS_B);
  // accR0 = rows R*4 .. R*4+3, columns 0..7; accR1 = the same rows, columns 8..15.
  var acc00: Acc;
  var acc01: Acc;
  var acc10: Acc;
  var acc11: Acc;
  var acc20: Acc;
  var acc21: Acc;
  var acc30: Acc;
  var acc31: Acc;
  var kb = gid.z * params.strideB;
  for (var k4 = 0u; k4 < K / 4u; k4++) {
    let k = 4u * k4;
    let a0 = load_at(ra, k);
    let a1 = load_at(rb, k);
    let a2 = load_at(rc, k);
    let a3 = load_at(rd, k);
    tile_step(&acc00, &acc01, &acc10, &acc11, &acc20, &acc21, &acc30, &acc31, a0[0], a1[0], a2[0], a3[0], kb, c0, c1, c2, c3);
    tile_step(&acc00, &acc01, &acc10, &acc11, &acc20, &acc21, &acc30, &acc31, a0[1], a1[1], a2[1], a3[1], kb + kStep, c0, c1, c2, c3);
    tile_step(&acc00, &acc01, &acc10, &acc11, &acc20, &acc21, &acc30, &acc31, a0[2], a1[2], a2[2], a3[2], kb + 2u * kStep, c0, c1, c2, c3);
    tile_step(&acc00, &acc01, &acc10, &acc11, &acc20, &acc21, &acc30, &acc31, a0[3], a1[3], a2[3], a3[3], kb + 3u * kStep, c0, c1, c2, c3);
    kb += 4u * kStep;
  }
  for (var k = K & ~3u; k < K; k++) {
    tile_step(&acc00, &acc01, &acc10, &acc11, &acc20, &acc21, &acc30, &acc31, load_col(ra, k), load_col(rb, k), load_col(rc, k), load_col(rd, k), kb, c0, c1, c2, c3);
    kb += kStep;
  }
  let cBase = gid.z * M * N;
  store_quarter(cBase, row0, col0, acc00, acc01);
  store_quarter(cBase, row0 + 4u, col0, acc10, acc11);
  store_quarter(cBase, row0 + 8u, col0, acc20, acc21);
  store_quarter(cBase, row0 + 12u, col0, acc30, acc31);
}

// A[r.x .. r.w, k] (4 row offsets).
fn load_col(r: vec4<u32>, k: u32) -> vec4<f32> {
  return vec4<f32>(a[r.x + k], a[r.y + k], a[r.z + k], a[r.w + k]);
}

// The 4 x 16 quarter (lo = columns 0..7, hi = 8..15) at (row, col0).
fn store_quarter(cBase: u32, row: u32, col0: u32, lo: Acc, hi: Acc) {
  store_half(cBase, row, col0, lo);
  store_half(cBase, row, col0 + 8u, hi);
}

// The 4 x 8 half-tile `t` at (row, col0).
fn store_half(cBase: u32, row: u32, col0: u32, t: Acc) {
  store(cBase, row, col0, t.r00, t.r01);
  store(cBase, row + 1u, col0, t.r10, t.r11);
  store(cBase, row + 2u, col0, t.r20, t.r21);
  store(cBase, row + 3u, col0, t.r30, t.r31);
}
fn store(cBase: u32, row: u32, col0: u32, v0: vec4<f32>, v1: vec4<f32>) {
  if (row >= params.M || col0 >= params.N) { return; }
  let vals = array<vec4<f32>, 2>(v0, v1);
  for (var j = 0u; j < 8u; j++) {
    let col = col0 + j;
    if (col >= params.N) { return; }
    let o = cBase + row * params.N + col;
    var bv = 0.0;
    var rv = 0.0;
    if (HAS_BIAS) { bv = bias[col]; }
    if (HAS_RESIDUAL) { rv = residual[o]; }
    c[o] = epilogue(vals[j / 4u][j % 4u], params.alpha, bv, rv);
  }
}
