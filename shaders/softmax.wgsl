// Softmax over the last dim, max-subtracted: y = exp(x - max) / sum(exp(x - max)). One workgroup per row;
// each invocation finds the max and exp-sum of its strided share, and a single (max, sum) reduction rescales
// the shares to the row max. A row of all -inf (or holding +inf or NaN) gives NaN, as torch. LOG gives
// log-softmax, x - max - log(sum), which stays finite where exp would underflow to 0.
//!include reduce

override LOG: bool = false;

struct Params { rows: u32, c: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// The lowest finite f32, not -inf: an empty share must not make inf - inf = NaN when shares are combined.
const LOWEST: f32 = -0x1.fffffep+127f;

@compute @workgroup_size(RED_WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * groups.x;
  if (row >= params.rows) { return; }
  let c = params.c;
  let base = row * c;
  var m = LOWEST;
  for (var j = lid; j < c; j += RED_WG) { m = max(m, x[base + j]); }
  var s = 0.0;
  for (var j = lid; j < c; j += RED_WG) { s += exp(x[base + j] - m); }
  let stats = bitcast<vec2f>(wg_reduce(bitcast<vec2u>(vec2f(m, s)), lid, RED_SOFTMAX));
  if (LOG) {
    let shift = stats.x + log(stats.y);
    for (var j = lid; j < c; j += RED_WG) { y[base + j] = x[base + j] - shift; }
    return;
  }
  let inv = 1.0 / stats.y;
  for (var j = lid; j < c; j += RED_WG) {
    y[base + j] = exp(x[base + j] - stats.x) * inv;
  }
}
