// Argmax over the last dim: out[r] = index of the largest x[r, :], ties -> the smallest index (numpy, torch).
// NaN ranks above +inf, so a row holding NaN gives its first NaN's index (as torch.argmax); -0 ties with +0.
// x is read as raw bits and compared through an order-preserving u32 key, so no float compare can drop a NaN.
// One workgroup per row; the greedy sampler's single 32000-wide row costs one serial scan per invocation
// plus one two-barrier reduction.
//!include reduce

struct Params { rows: u32, c: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

fn order_key(bits: u32) -> u32 {
  if ((bits & 0x7fffffffu) > 0x7f800000u) { return 0xffffffffu; }
  let b = select(bits, 0u, bits == 0x80000000u);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

@compute @workgroup_size(RED_WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * groups.x;
  if (row >= params.rows) { return; }
  let c = params.c;
  let base = row * c;
  // Key 0 is below every real value's key (-inf maps to 0x007fffff), so empty shares never win.
  var best = vec2u(0u, 0xffffffffu);
  for (var j = lid; j < c; j += RED_WG) {
    let k = order_key(x[base + j]);
    if (k > best.x) { best = vec2u(k, j); }
  }
  let r = wg_reduce(best, lid, RED_ARGMAX);
  if (lid == 0u) { out[row] = r.y; }
}
