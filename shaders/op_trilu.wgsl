// Trilu on 32-bit words (any element type): x viewed as [batch, rows, cols]; keeps x[b, i, j] where
// j - i >= k (upper) or j - i <= k (lower), writes zero bits elsewhere (0 in every storage type).

struct Params {
  n: u32,
  rows: u32,
  cols: u32,
  k: i32,
  upper: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * 256u;
  if (i >= params.n) { return; }
  let col = i32(i % params.cols);
  let row = i32((i / params.cols) % params.rows);
  let diff = col - row;
  let keep = select(diff <= params.k, diff >= params.k, params.upper != 0u);
  y[i] = select(0u, x[i], keep);
}
