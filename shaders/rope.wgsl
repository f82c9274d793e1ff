// RoPE in LLaMA's rotate-half layout (as HF LLaMA), in place on x [L, H*hd]. In each head vector the pair
// (i, i + hd/2) of row l is rotated by angle p * invFreq[i] at position p = offset + l:
//   x1' = x1*cos - x2*sin,  x2' = x2*cos + x1*sin.
// invFreq [hd/2] comes from the CPU (ropeInvFreq: PyTorch's f32 formula) and the angle is the f32 product
// PyTorch forms; sin/cos are evaluated here because the adapter's builtins may be far off (SwiftShader's are
// off by ~2e-4 even within [-pi, pi]).
// TABLE: the model supplies cos and sin [L, hd] per row instead (a graph that gathers them from its own tables
// by position id): binding 1 is then cos, binding 3 sin; x' = x * cos + rotate_half(x) * sin.
override TABLE: bool = false;

struct Params { rows: u32, heads: u32, half: u32, offset: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> freq_or_cos: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(3) var<storage, read> sin_table: array<f32>;

// (sin a, cos a) to ~1e-7 for |a| < 12868: a = k*pi/2 + r with pi/2 split in three parts, the first two short
// enough that k times them is exact (k < 2^13), then minimax polynomials on |r| <= pi/4 (Cephes' sinf/cosf).
fn sin_cos(a: f32) -> vec2f {
  let k = round(a * 0.636619772);
  let r = ((a - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.54978995489188216e-8;
  let z = r * r;
  let s = r + r * z * ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1);
  let c = 1.0 - 0.5 * z + z * z * ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2);
  switch i32(k) & 3 {
    case 0: { return vec2f(s, c); }
    case 1: { return vec2f(c, -s); }
    case 2: { return vec2f(-s, -c); }
    default: { return vec2f(-c, s); }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * 256u;
  let half = params.half;
  if (i >= params.rows * params.heads * half) { return; }
  let vec_index = i / half;
  let pair = i - vec_index * half;
  let row = vec_index / params.heads;
  var c = vec2f(0.0);
  var s = vec2f(0.0);
  if (TABLE) {
    let t = row * 2u * half + pair;
    c = vec2f(freq_or_cos[t], freq_or_cos[t + half]);
    s = vec2f(sin_table[t], sin_table[t + half]);
  } else {
    let sc = sin_cos(f32(params.offset + row) * freq_or_cos[pair]);
    c = vec2f(sc.y);
    s = vec2f(sc.x);
  }
  let lo = vec_index * 2u * half + pair;
  let x1 = x[lo];
  let x2 = x[lo + half];
  x[lo] = x1 * c.x - x2 * s.x;
  x[lo + half] = x2 * c.y + x1 * s.y;
}
