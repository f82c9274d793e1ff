// The MemVP keys K [n, d] as kT [d, n4] (n4 = n rounded up to 4, padding columns zero), so pass 1 of the fused
// FFN reads the memory columns like W1's: neighbouring invocations load neighbouring vec4s of one row of kT
// instead of rows of K d floats apart (gathers, which software adapters serve slowly).

struct Params {
  n: u32,
  d: u32,
  n4: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> memk: array<f32>;
@group(0) @binding(2) var<storage, read_write> kt: array<f32>;

// One invocation per element of kT: x runs along n4, y along d.
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.x;
  let k = gid.y;
  if (e >= params.n4) { return; }
  var v = 0.0;
  if (e < params.n) { v = memk[e * params.d + k]; }
  kt[k * params.n4 + e] = v;
}
