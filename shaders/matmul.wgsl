// C[b] = epilogue(A[b] x B[b]) for row-major A [M,K] and B [K,N] (or B [N,K] with TRANS_B); batch index =
// workgroup z, a batch stride of 0 broadcasts an operand. Each invocation owns an 8 x 8 block of C in
// registers (two 4 x 8 halves): no shared memory, no barriers (slow on software adapters); the workgroup
// shape comes from src/kernels/tiles.ts. On SwiftShader 8 x 8 beat 4 x 8 by ~25% (fewer loads per FMA).
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

fn load4b(p: u32) -> vec4<f32> {
  return vec4<f32>(b[p], b[p + 1u], b[p + 2u], b[p + 3u]);
}

// B at 4 element offsets `cols` past `base`.
fn load_b(base: u32, cols: vec4<u32>) -> vec4<f32> {
  let q = vec4<u32>(base) + cols;
  return vec4<f32>(b[q.x], b[q.y], b[q.z], b[q.w]);
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let row0 = gid.y * 8u;
  let col0 = gid.x * 8u;
  if (row0 >= M || col0 >= N) { return; }
  let aBase = gid.z * params.strideA;
  let r0 = aBase + min(row0, M - 1u) * K;
  let r1 = aBase + min(row0 + 1u, M - 1u) * K;
  let r2 = aBase + min(row0 + 2u, M - 1u) * K;
  let r3 = aBase + min(row0 + 3u, M - 1u) * K;
  let r4 = aBase + min(row0 + 4u, M - 1u) * K;
  let r5 = aBase + min(row0 + 5u, M - 1u) * K;
  let r6 = aBase + min(row0 + 6u, M - 1u) * K;
  let r7 = aBase + min(row0 + 7u, M - 1u) * K;
  // Element offsets of the 8 (clamped) columns in row 0 of B, or the starts of rows n of B^T [N,K];
  // kStep moves them along k.
  let cols0 = min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(N - 1u));
  let cols1 = min(vec4<u32>(col0) + vec4<u32>(4u, 5u, 6u, 7u), vec4<u32>(N - 1u));
  let c0 = select(cols0, cols0 * K, TRANS_B);
  let c1 = select(cols1, cols1 * K, TRANS_B);
  let kStep = select(N, 1u, TRANS_B);
  var acc: Acc; // rows 0..3
  var acc2: Acc; // rows 4..7
  var kb = gid.z * params.strideB;
  for (var k4 = 0u; k4 < K / 4u; k4++) {
    let k = 4u * k4;
    // Column kk of `at` (`at2`) = A[row0..row0+3 (+4..+7), k + kk] (a transpose only renames lanes).
    let at = transpose(mat4x4<f32>(load4(r0 + k), load4(r1 + k), load4(r2 + k), load4(r3 + k)));
    let at2 = transpose(mat4x4<f32>(load4(r4 + k), load4(r5 + k), load4(r6 + k), load4(r7 + k)));
    if (TRANS_B) {
      // B^T rows along k, transposed so column kk holds B[k + kk, cols].
      let t0 = transpose(mat4x4<f32>(load4b(kb + c0.x), load4b(kb + c0.y), load4b(kb + c0.z), load4b(kb + c0.w)));
      let t1 = transpose(mat4x4<f32>(load4b(kb + c1.x), load4b(kb + c1.y), load4b(kb + c1.z), load4b(kb + c1.w)));
      madd(&acc, at[0], t0[0], t1[0]);
      madd(&acc2, at2[0], t0[0], t1[0]);
      madd(&acc, at[1], t0[1], t1[1]);
      madd(&acc2, at2[1], t0[1], t1[1]);
      madd(&acc, at[2], t0[2], t1[2]);
      madd(&acc2, at2[2], t0[2], t1[2]);
      madd(&acc, at[3], t0[3], t1[3]);
      madd(&acc2, at2[3], t0[3], t1[3]);
      kb += 4u;
    } else {
      let b00 = load_b(kb, c0);
      let b01 = load_b(kb, c1);
      madd(&acc, at[0], b00, b01);
      madd(&acc2, at2[0], b00, b01);
      kb += N;
      let b10 = load_b(kb, c0);
      let b11 = load_b(kb, c1);
      madd(&acc, at[1], b10, b11);
      madd(&acc2, at2[1], b10, b11);
      kb += N;
      let b20 = load_b(kb, c0);
      let b21 = load_b(kb, c1);
      madd(&acc, at[2], b20, b21);
      madd(&acc2, at2[2], b20, b21);
      kb += N;
      let b30 = load_b(kb, c0);
      let b31 = load_b(kb, c1);
      madd(&acc, at[3], b30, b31);
      madd(&acc2, at2[3], b30, b31);
      kb += N;
    }
  }
  for (var k = K & ~3u; k < K; k++) {
    let b0 = load_b(kb, c0);
    let b1 = load_b(kb, c1);
    madd(&acc, vec4<f32>(a[r0 + k], a[r1 + k], a[r2 + k], a[r3 + k]), b0, b1);
    madd(&acc2, vec4<f32>(a[r4 + k], a[r5 + k], a[r6 + k], a[r7 + k]), b0, b1);
    kb += kStep;
  }
  let cBase = gid.z * M * N;
  store(cBase, row0, col0, acc.r00, acc.r01);
  store(cBase, row0 + 1u, col0, acc.r10, acc.r11);
  store(cBase, row0 + 2u, col0, acc.r20, acc.r21);
  store(cBase, row0 + 3u, col0, acc.r30, acc.r31);
  store(cBase, row0 + 4u, col0, acc2.r00, acc2.r01);
  store(cBase, row0 + 5u, col0, acc2.r10, acc2.r11);
  store(cBase, row0 + 6u, col0, acc2.r20, acc2.r21);
  store(cBase, row0 + 7u, col0, acc2.r30, acc2.r31);
}

fn store(cBase: u32, row: u32, col0: u32, v0: vec4<f32>, v1: vec4<f32>) {
  if (row >= params.M) { return; }
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
