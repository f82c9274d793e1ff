// GEMV for decode (M = 1..4): C[b] = epilogue(A[b] x B[b]) with A [M,K], B [K,N] (or [N,K] with TRANS_B).
// Invocation (x, row = y, batch = z) computes 4 consecutive columns of one row: B rows are read as vec4
// along N (or, with TRANS_B, 4 rows of B^T as vec4 along K). Columns past N are clamped on load, not stored.
//!include activations
//!include matmul_epilogue

override WG: u32 = 64u;
override TRANS_B: bool = false;

//!include matmul_io

fn load4(p: u32) -> vec4<f32> {
  return vec4<f32>(a[p], a[p + 1u], a[p + 2u], a[p + 3u]);
}

fn load_b(base: u32, cols: vec4<u32>) -> vec4<f32> {
  let q = vec4<u32>(base) + cols;
  return vec4<f32>(b[q.x], b[q.y], b[q.z], b[q.w]);
}

// sum_k A[row, k] * B[k, cols]: cols are element offsets in row 0 of B [K,N].
fn dot_nn(ar: u32, bBase: u32, cols: vec4<u32>) -> vec4<f32> {
  let N = params.N;
  let K = params.K;
  var acc = vec4<f32>();
  var kb = bBase;
  for (var k = 0u; k + 4u <= K; k += 4u) {
    let x = load4(ar + k);
    acc = fma(vec4<f32>(x.x), load_b(kb, cols), acc);
    acc = fma(vec4<f32>(x.y), load_b(kb + N, cols), acc);
    acc = fma(vec4<f32>(x.z), load_b(kb + 2u * N, cols), acc);
    acc = fma(vec4<f32>(x.w), load_b(kb + 3u * N, cols), acc);
    kb += 4u * N;
  }
  for (var k = K & ~3u; k < K; k++) {
    acc = fma(vec4<f32>(a[ar + k]), load_b(kb, cols), acc);
    kb += N;
  }
  return acc;
}

// sum_k A[row, k] * B^T[n, k] for the 4 rows n of B^T [N,K] that start at `rows`.
fn dot_nt(ar: u32, rows: vec4<u32>) -> vec4<f32> {
  let K = params.K;
  var s0 = vec4<f32>();
  var s1 = vec4<f32>();
  var s2 = vec4<f32>();
  var s3 = vec4<f32>();
  var k = 0u;
  for (; k + 4u <= K; k += 4u) {
    let x = load4(ar + k);
    let q = rows + vec4<u32>(k);
    s0 = fma(x, vec4<f32>(b[q.x], b[q.x + 1u], b[q.x + 2u], b[q.x + 3u]), s0);
    s1 = fma(x, vec4<f32>(b[q.y], b[q.y + 1u], b[q.y + 2u], b[q.y + 3u]), s1);
    s2 = fma(x, vec4<f32>(b[q.z], b[q.z + 1u], b[q.z + 2u], b[q.z + 3u]), s2);
    s3 = fma(x, vec4<f32>(b[q.w], b[q.w + 1u], b[q.w + 2u], b[q.w + 3u]), s3);
  }
  var acc = vec4<f32>(dot(s0, vec4<f32>(1.0)), dot(s1, vec4<f32>(1.0)), dot(s2, vec4<f32>(1.0)), dot(s3, vec4<f32>(1.0)));
  for (; k < K; k++) {
    acc = fma(vec4<f32>(a[ar + k]), load_b(k, rows), acc);
  }
  return acc;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let N = params.N;
  let row = gid.y;
  let col0 = gid.x * 4u;
  if (col0 >= N) { return; }
  let cols = min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(N - 1u));
  let ar = gid.z * params.strideA + row * params.K;
  let bBase = gid.z * params.strideB;
  var acc: vec4<f32>;
  if (TRANS_B) {
    acc = dot_nt(ar, vec4<u32>(bBase) + cols * params.K);
  } else {
    acc = dot_nn(ar, bBase, cols);
  }
  let o = (gid.z * params.M + row) * N;
  for (var e = 0u; e < 4u; e++) {
    let col = col0 + e;
    if (col >= N) { return; }
    var bv = 0.0;
    var rv = 0.0;
    if (HAS_BIAS) { bv = bias[col]; }
    if (HAS_RESIDUAL) { rv = residual[o + col]; }
    c[o + col] = epilogue(acc[e], params.alpha, bv, rv);
  }
}
