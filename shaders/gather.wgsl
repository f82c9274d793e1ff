// Embedding gather: out[i, :] = table[ids[i], :]. The GPU cannot throw, so an id outside [0, V) gives a row
// of zeros; ids that come from the CPU are checked by the wrapper (checkIds) before upload.
struct Params { n: u32, d: u32, vocab: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * 256u;
  if (i >= params.n * params.d) { return; }
  let row = i / params.d;
  let col = i - row * params.d;
  let id = ids[row];
  var v = 0.0;
  if (id >= 0 && u32(id) < params.vocab) { v = table[u32(id) * params.d + col]; }
  out[i] = v;
}
