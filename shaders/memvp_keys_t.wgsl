// The MemVP keys K [n, d] as kT [d, n4] (n4 = n rounded up to 4, padding columns zero), so pass 1 of the fused
// FFN reads the memory columns like W1's: neighbouring invocations load neighbouring vec4s of one row of kT
// instead of rows of K d floats apart (gathers, which software adapters serve slowly).

struct Params {
  n: u32,
  d4: u32, // d / 4
  m4: u32, // n4 / 4
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> memk: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> kt: array<vec4<f32>>;

// One invocation per 4 x 4 block: entries [4 x, 4 x + 4) x features [4 y, 4 y + 4), vec4 loads and stores
// (an invocation per element costs 16 times the invocations for the same bytes).
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let m = gid.x;
  let k = gid.y;
  if (m >= params.m4) { return; }
  let e = 4u * m;
  let d4 = params.d4;
  let last = params.n - 1u;
  // Entries past n read row n - 1 and are zeroed.
  let keep = select(vec4<f32>(0.0), vec4<f32>(1.0), vec4<u32>(e) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(params.n));
  let r0 = memk[min(e, last) * d4 + k] * keep.x;
  let r1 = memk[min(e + 1u, last) * d4 + k] * keep.y;
  let r2 = memk[min(e + 2u, last) * d4 + k] * keep.z;
  let r3 = memk[min(e + 3u, last) * d4 + k] * keep.w;
  let o = 4u * k * params.m4 + m;
  kt[o] = vec4<f32>(r0.x, r1.x, r2.x, r3.x);
  kt[o + params.m4] = vec4<f32>(r0.y, r1.y, r2.y, r3.y);
  kt[o + 2u * params.m4] = vec4<f32>(r0.z, r1.z, r2.z, r3.z);
  kt[o + 3u * params.m4] = vec4<f32>(r0.w, r1.w, r2.w, r3.w);
}
