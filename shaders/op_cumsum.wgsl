// Cumulative sum along one axis: one invocation per line (outer x inner), walking the axis forward or backward.
// EXCLUSIVE leaves each element out of its own sum. Floats add in f32, integers in i32 (IN_T, lib/op_types).
//!include op_types

override IN_T: u32 = 0u;
override EXCLUSIVE: bool = false;
override REVERSE: bool = false;

struct Params { lines: u32, len: u32, inner: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let l = gid.x + gid.y * groups.x * 64u;
  if (l >= params.lines) { return; }
  let base = (l / params.inner) * params.len * params.inner + l % params.inner;
  var accf = 0.0;
  var acci = 0;
  for (var k = 0u; k < params.len; k++) {
    let j = select(k, params.len - 1u - k, REVERSE);
    let at = base + j * params.inner;
    let w = x[at];
    if (IN_T == T_F32) {
      if (!EXCLUSIVE) { accf += bitcast<f32>(w); }
      y[at] = bitcast<u32>(accf);
      if (EXCLUSIVE) { accf += bitcast<f32>(w); }
    } else {
      if (!EXCLUSIVE) { acci += bitcast<i32>(w); }
      y[at] = bitcast<u32>(acci);
      if (EXCLUSIVE) { acci += bitcast<i32>(w); }
    }
  }
}
