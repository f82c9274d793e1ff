// FMA throughput probe: every invocation runs ITERS rounds of 4 independent vec4 chains a = fma(a, m, c)
// (no memory traffic, no shared memory, no barriers) and stores the sum of its 16 lanes, so nothing is dead
// code. With 0 < m < 1 the chains converge to c / (1 - m) and stay finite for any number of rounds.
struct Params {
  n: u32,
  iters: u32,
  m: f32,
  c: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * 64u;
  if (i >= params.n) { return; }
  // Start values exact in f32: (i mod 1024) / 1024 plus lane / 32.
  let base = vec4<f32>(f32(i % 1024u) / 1024.0);
  var a0 = base + vec4<f32>(0.0, 1.0, 2.0, 3.0) / 32.0;
  var a1 = base + vec4<f32>(4.0, 5.0, 6.0, 7.0) / 32.0;
  var a2 = base + vec4<f32>(8.0, 9.0, 10.0, 11.0) / 32.0;
  var a3 = base + vec4<f32>(12.0, 13.0, 14.0, 15.0) / 32.0;
  let m = vec4<f32>(params.m);
  let c = vec4<f32>(params.c);
  for (var k = 0u; k < params.iters; k++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
  }
  let s = a0 + a1 + a2 + a3;
  y[i] = s.x + s.y + s.z + s.w;
}
