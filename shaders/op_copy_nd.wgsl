// General strided copy of 32-bit words (any element type): for every index tuple idx of the region `dims`,
//   dst[dst_offset + sum_k idx_k * dst_strides_k] = src[src_offset + sum_k (idx_k % src_mod_k) * src_strides_k].
// Serves Transpose, Slice (negative steps: negative strides), Expand (stride 0), Tile (src_mod = input dims),
// and Concat/Split (one region per input/output at an offset). Up to 8 dims, innermost last.

struct Params {
  n: u32,
  rank: u32,
  src_offset: u32,
  dst_offset: u32,
  dims: array<vec4u, 2>,
  src_strides: array<vec4i, 2>,
  dst_strides: array<vec4u, 2>,
  src_mod: array<vec4u, 2>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * 256u;
  if (i >= params.n) { return; }
  var rem = i;
  var s = i32(params.src_offset);
  var d = params.dst_offset;
  for (var k = params.rank; k > 0u; k--) {
    let q = (k - 1u) / 4u;
    let r = (k - 1u) % 4u;
    let dim = params.dims[q][r];
    let idx = rem % dim;
    rem = rem / dim;
    s += i32(idx % params.src_mod[q][r]) * params.src_strides[q][r];
    d += idx * params.dst_strides[q][r];
  }
  dst[d] = src[u32(s)];
}
