// 2D convolution, NCHW, group 1: y[b, m, oy, ox] = bias[m] + sum_{c, kh, kw} x[b, c, iy, ix] * w[m, c, kh, kw]
// with iy = oy * stride_h + kh * dilation_h - pad_top (ix likewise). Each invocation computes a 4x4 register tile:
// 4 output channels x 4 neighbouring output columns, so every x and w load feeds 4 FMAs (no shared memory).
// CHECK_BOUNDS = false when there is no padding (every window then lies inside the image: patch embeddings).

override HAS_BIAS: bool = false;
override CHECK_BOUNDS: bool = true;

struct Params {
  tiles: u32,
  channels: u32,
  height: u32,
  width: u32,
  out_channels: u32,
  out_height: u32,
  out_width: u32,
  kernel_h: u32,
  kernel_w: u32,
  stride_h: u32,
  stride_w: u32,
  dilation_h: u32,
  dilation_w: u32,
  pad_top: i32,
  pad_left: i32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let tile = gid.x + gid.y * groups.x * 64u;
  if (tile >= params.tiles) { return; }
  let col_tiles = (params.out_width + 3u) / 4u;
  let chan_tiles = (params.out_channels + 3u) / 4u;
  let ox0 = (tile % col_tiles) * 4u;
  var t = tile / col_tiles;
  let oy = t % params.out_height;
  t = t / params.out_height;
  let m0 = (t % chan_tiles) * 4u;
  let b = t / chan_tiles;

  // Tail columns and channels load from the last valid one; their results are never stored.
  let ox = min(vec4u(ox0) + vec4u(0u, 1u, 2u, 3u), vec4u(params.out_width - 1u));
  let ix0 = vec4i(ox * params.stride_w) - vec4i(params.pad_left);
  let m = min(vec4u(m0) + vec4u(0u, 1u, 2u, 3u), vec4u(params.out_channels - 1u));
  let ksize = params.kernel_h * params.kernel_w;
  let wbase = m * (params.channels * ksize);
  let width = i32(params.width);

  var acc = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  for (var c = 0u; c < params.channels; c++) {
    let plane = (b * params.channels + c) * params.height;
    for (var kh = 0u; kh < params.kernel_h; kh++) {
      let iy = i32(oy * params.stride_h + kh * params.dilation_h) - params.pad_top;
      if (CHECK_BOUNDS && (iy < 0 || iy >= i32(params.height))) { continue; }
      let row = (plane + u32(iy)) * params.width;
      let wrow = (c * params.kernel_h + kh) * params.kernel_w;
      for (var kw = 0u; kw < params.kernel_w; kw++) {
        let ix = ix0 + vec4i(i32(kw * params.dilation_w));
        let ixc = vec4u(clamp(ix, vec4i(0), vec4i(width - 1)));
        var xv = vec4f(x[row + ixc.x], x[row + ixc.y], x[row + ixc.z], x[row + ixc.w]);
        if (CHECK_BOUNDS) {
          xv = select(vec4f(0.0), xv, (ix >= vec4i(0)) & (ix < vec4i(width)));
        }
        let wi = wbase + vec4u(wrow + kw);
        acc[0] += xv * w[wi.x];
        acc[1] += xv * w[wi.y];
        acc[2] += xv * w[wi.z];
        acc[3] += xv * w[wi.w];
      }
    }
  }

  for (var j = 0u; j < 4u; j++) {
    let mj = m0 + j;
    if (mj >= params.out_channels) { break; }
    var v = acc[j];
    if (HAS_BIAS) { v += vec4f(bias[mj]); }
    let base = ((b * params.out_channels + mj) * params.out_height + oy) * params.out_width;
    for (var p = 0u; p < 4u; p++) {
      if (ox0 + p < params.out_width) { y[base + ox0 + p] = v[p]; }
    }
  }
}
