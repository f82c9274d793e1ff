// Negative log-likelihood loss (ONNX NegativeLogLikelihoodLoss; SoftmaxCrossEntropyLoss after a log-softmax):
// x [N, C, D] (D = the product of the trailing dims, 1 without them), target [N, D] class ids, optional weight [C].
// term i = (n, d): loss -x[n, t, d] * w[t] and weight w[t] (both 0 where t == ignore_index).
// REDUCTION 0 writes every term's loss (one invocation each); 1 (sum) and 2 (mean: sum of losses / sum of
// weights) run one workgroup that folds strided shares and reduces them once. The GPU cannot throw, so a class id
// outside [0, C) that is not ignore_index is clamped; the op checks ids it knows on the host first.
//!include reduce

override REDUCTION: u32 = 0u;
override HAS_WEIGHT: bool = false;
override HAS_IGNORE: bool = false;

struct Params { n: u32, c: u32, d: u32, ignore_index: i32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> target_ids: array<i32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn term(i: u32) -> vec2f {
  let t = target_ids[i];
  if (HAS_IGNORE && t == params.ignore_index) { return vec2f(0.0); }
  let k = u32(clamp(t, 0, i32(params.c) - 1));
  let w = select(1.0, weight[k], HAS_WEIGHT);
  let n = i / params.d;
  return vec2f(-x[(n * params.c + k) * params.d + i % params.d] * w, w);
}

@compute @workgroup_size(RED_WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  if (REDUCTION == 0u) {
    let i = (wid.x + wid.y * groups.x) * RED_WG + lid;
    if (i < params.n) { out[i] = term(i).x; }
    return;
  }
  var acc = vec2f(0.0);
  for (var i = lid; i < params.n; i += RED_WG) { acc += term(i); }
  let total = bitcast<vec2f>(wg_reduce(bitcast<vec2u>(acc), lid, RED_SUM));
  if (lid == 0u) { out[0] = select(total.x / total.y, total.x, REDUCTION == 1u); }
}
