// LayerNorm over the last dim: y = (x - mean) / sqrt(var + eps) * weight (+ bias when HAS_BIAS; otherwise the
// bias binding is a dummy). Biased variance, as torch. One workgroup per row; the sums are taken around the
// row's first element (shifted data) so one reduction gives a variance that survives a large mean.
// HAS_STATS also writes each row's mean and 1 / sqrt(var + eps) (ONNX's Mean and InvStdDev outputs); otherwise
// those bindings are dummies.
//!include reduce
//!include norm_row

override HAS_BIAS: bool = true;
override HAS_STATS: bool = false;

struct Params { rows: u32, d: u32, eps: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> inv_std_out: array<f32>;

@compute @workgroup_size(RED_WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * groups.x;
  if (row >= params.rows) { return; }
  let d = params.d;
  let base = row * d;
  let shift = x[base];
  let total = norm_row_sums(base, d, shift, lid);
  let n = f32(d);
  let dmean = total.x / n;
  let variance = max(total.y / n - dmean * dmean, 0.0);
  let mean = shift + dmean;
  let inv = inverseSqrt(variance + params.eps);
  if (HAS_STATS && lid == 0u) {
    mean_out[row] = mean;
    inv_std_out[row] = inv;
  }
  for (var j = lid; j < d; j += RED_WG) {
    var v = (x[base + j] - mean) * inv * weight[j];
    if (HAS_BIAS) { v += bias[j]; }
    y[base + j] = v;
  }
}
