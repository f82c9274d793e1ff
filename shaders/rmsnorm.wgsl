// RMSNorm over the last dim (LLaMA): y = x / sqrt(mean(x^2) + eps) * weight. One workgroup per row.
//!include reduce
//!include norm_row

struct Params { rows: u32, d: u32, eps: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(RED_WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * groups.x;
  if (row >= params.rows) { return; }
  let d = params.d;
  let base = row * d;
  let inv = inverseSqrt(norm_row_sums(base, d, 0.0, lid).y / f32(d) + params.eps);
  for (var j = lid; j < d; j += RED_WG) {
    y[base + j] = x[base + j] * inv * weight[j];
  }
}
