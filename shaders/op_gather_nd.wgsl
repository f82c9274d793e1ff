// GatherND (with batch_dims) and ScatterND, on 32-bit words of any type. indices [..., k] holds k-tuples that
// address the first k dims of data (after batch_dims batch dims); each tuple selects a slice of `inner` words.
// dims/strides are data's addressed dims and their strides (up to 8).
// SCATTER = false: out[j, e] = data[batch(j), tuple j, e], one invocation per output word.
// SCATTER = true: out holds a copy of data; invocation e applies every tuple's update to word e of its slice,
// tuples in order, so duplicates combine deterministically without atomics.
//!include scatter_reduce

override SCATTER: bool = false;

struct Params {
  n: u32,
  inner: u32,
  k: u32,
  tuples: u32,
  tuples_per_batch: u32,
  batch_stride: u32,
  dims: array<vec4u, 2>,
  strides: array<vec4u, 2>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

// Word offset of tuple j's slice.
fn slice_at(j: u32) -> u32 {
  var at = (j / params.tuples_per_batch) * params.batch_stride;
  for (var t = 0u; t < params.k; t++) {
    at += axis_index(indices[j * params.k + t], params.dims[t / 4u][t % 4u]) * params.strides[t / 4u][t % 4u];
  }
  return at;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * 256u;
  if (i >= params.n) { return; }
  if (!SCATTER) {
    out[i] = src[slice_at(i / params.inner) + i % params.inner];
    return;
  }
  for (var j = 0u; j < params.tuples; j++) {
    let dst = slice_at(j) + i;
    out[dst] = scatter_combine(out[dst], src[j * params.inner + i]);
  }
}
