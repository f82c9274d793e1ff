// Writes one step's keys and values ([L, numKvHeads * headDim], rows in token order) into the layer's
// cache ([numKvHeads, maxSeq, headDim]) at positions pastLen..pastLen+L-1. Nothing else is touched.
struct Params {
  n: u32, // L * numKvHeads * headDim / 4
  numKvHeads: u32,
  headVec4: u32,
  maxSeq: u32,
  pastLen: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> k: array<vec4f>;
@group(0) @binding(2) var<storage, read> v: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> kCache: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> vCache: array<vec4f>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * 64u;
  if (i >= params.n) { return; }
  let d = i % params.headVec4;
  let rest = i / params.headVec4;
  let head = rest % params.numKvHeads;
  let row = rest / params.numKvHeads;
  let dst = (head * params.maxSeq + params.pastLen + row) * params.headVec4 + d;
  kCache[dst] = k[i];
  vCache[dst] = v[i];
}
