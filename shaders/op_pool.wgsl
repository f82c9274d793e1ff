// Pooling over the spatial dims of x [N, C, s1, ..., sk] (k <= 4): MaxPool (MODE 0, optionally with the flat index
// of each max, storage order row- or column-major), AveragePool (MODE 1, dividing by the window positions inside
// the input, or also those inside the pads with COUNT_PAD), LpPool (MODE 2, (sum |x|^p)^(1/p)).
// One invocation per output element walks its window: position w of the window decomposes over kernel dims.
// INT_DATA: x and y hold i32 words (8/16-bit integer MaxPool), compared exactly in f32.

override MODE: u32 = 0u;
override COUNT_PAD: bool = false;
override WITH_INDICES: bool = false;
override COLUMN_MAJOR: bool = false;
override INT_DATA: bool = false;

struct Params {
  n: u32,
  rank: u32,
  window: u32,
  p: f32,
  in_dims: vec4u,
  out_dims: vec4u,
  kernel: vec4u,
  strides: vec4u,
  dilations: vec4u,
  pads_begin: vec4i,
  pads_end: vec4i,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;
@group(0) @binding(3) var<storage, read_write> indices: array<i32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * 256u;
  if (i >= params.n) { return; }
  // Output coordinates (innermost last) and the image (n * C + c) they belong to.
  var o = vec4u(0u);
  var rem = i;
  var plane = 1u;
  for (var k = params.rank; k > 0u; k--) {
    o[k - 1u] = rem % params.out_dims[k - 1u];
    rem /= params.out_dims[k - 1u];
    plane *= params.in_dims[k - 1u];
  }
  let base = rem * plane;
  let start = vec4i(o * params.strides) - params.pads_begin;
  var best = -0x1.fffffep+127f;
  var best_at = -1;
  var acc = 0.0;
  var count = 0u;
  for (var w = 0u; w < params.window; w++) {
    var wr = w;
    var at = 0u;
    var row_stride = 1u;
    var inside = true;
    var in_pads = true;
    for (var k = params.rank; k > 0u; k--) {
      let kk = k - 1u;
      let c = start[kk] + i32((wr % params.kernel[kk]) * params.dilations[kk]);
      wr /= params.kernel[kk];
      let dim = i32(params.in_dims[kk]);
      inside = inside && c >= 0 && c < dim;
      in_pads = in_pads && c < dim + params.pads_end[kk];
      at += u32(max(c, 0)) * row_stride;
      row_stride *= params.in_dims[kk];
    }
    if (COUNT_PAD && in_pads) { count += 1u; }
    if (!inside) { continue; }
    if (!COUNT_PAD) { count += 1u; }
    let v = select(bitcast<f32>(x[base + at]), f32(bitcast<i32>(x[base + at])), INT_DATA);
    if (MODE == 0u) {
      if (v > best || best_at < 0) {
        best = v;
        best_at = i32(at);
      }
    } else if (MODE == 1u) {
      acc += v;
    } else {
      acc += pow(abs(v), params.p);
    }
  }
  if (MODE == 0u) {
    y[i] = select(bitcast<u32>(best), bitcast<u32>(i32(best)), INT_DATA);
    if (WITH_INDICES) {
      var idx = u32(max(best_at, 0));
      if (COLUMN_MAJOR) {
        // Row-major spatial offset -> the same coordinates counted column-major.
        var r = idx;
        var stride = 1u;
        idx = 0u;
        var coords = vec4u(0u);
        for (var k = params.rank; k > 0u; k--) {
          coords[k - 1u] = r % params.in_dims[k - 1u];
          r /= params.in_dims[k - 1u];
        }
        for (var k = 0u; k < params.rank; k++) {
          idx += coords[k] * stride;
          stride *= params.in_dims[k];
        }
      }
      indices[i] = i32(base + idx);
    }
  } else if (MODE == 1u) {
    y[i] = bitcast<u32>(acc / f32(count));
  } else {
    y[i] = bitcast<u32>(pow(acc, 1.0 / params.p));
  }
}
