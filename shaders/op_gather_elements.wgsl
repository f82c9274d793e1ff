// GatherElements and ScatterElements along one axis, on 32-bit words of any type. indices has data's rank;
// dims are indices' dims, data_strides data's (innermost last, up to 8 dims).
// SCATTER = false: out[i] = data[i's coordinates with the axis one replaced by indices[i]] (one invocation per i).
// SCATTER = true: out holds a copy of data; each invocation owns one line of indices along the axis and applies
// its updates in order, so duplicate indices combine deterministically (and reductions need no atomics).
//!include scatter_reduce

override SCATTER: bool = false;

struct Params {
  n: u32,
  rank: u32,
  axis: u32,
  axis_dim: u32,
  dims: array<vec4u, 2>,
  data_strides: array<vec4u, 2>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

fn dim(k: u32) -> u32 { return params.dims[k / 4u][k % 4u]; }
fn data_stride(k: u32) -> u32 { return params.data_strides[k / 4u][k % 4u]; }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * 256u;
  if (i >= params.n) { return; }
  // Gather: i is an element of indices. Scatter: i is a line, i.e. an element of indices with the axis dropped.
  var rem = i;
  var at = 0u;
  var pos = 0u;
  var stride = 1u;
  var axis_stride = 0u;
  for (var k = params.rank; k > 0u; k--) {
    let d = dim(k - 1u);
    if (k - 1u == params.axis) {
      axis_stride = stride;
      if (!SCATTER) {
        at += axis_index(indices[i], params.axis_dim) * data_stride(k - 1u);
        rem /= d;
      }
    } else {
      let c = rem % d;
      rem /= d;
      at += c * data_stride(k - 1u);
      pos += c * stride;
    }
    stride *= d;
  }
  if (!SCATTER) {
    out[i] = src[at];
    return;
  }
  let step = data_stride(params.axis);
  for (var j = 0u; j < dim(params.axis); j++) {
    let p = pos + j * axis_stride;
    let dst = at + axis_index(indices[p], params.axis_dim) * step;
    out[dst] = scatter_combine(out[dst], src[p]);
  }
}
