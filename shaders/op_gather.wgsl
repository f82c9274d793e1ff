// Gather along one axis of 32-bit words (any element type): data viewed as [outer, axis_dim, inner],
// out[o, j, t] = data[o, indices[j], t]; negative indices count from the end, out-of-range ones are clamped.

struct Params {
  n: u32,
  inner: u32,
  num_indices: u32,
  axis_dim: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> data: array<u32>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * 256u;
  if (i >= params.n) { return; }
  let t = i % params.inner;
  let oj = i / params.inner;
  let j = oj % params.num_indices;
  let o = oj / params.num_indices;
  let dim = i32(params.axis_dim);
  let raw = indices[j];
  let k = u32(clamp(select(raw, raw + dim, raw < 0), 0, dim - 1));
  out[i] = data[(o * params.axis_dim + k) * params.inner + t];
}
