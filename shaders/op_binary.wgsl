// y = a (op) b with numpy broadcasting. OP codes are BINARY in src/graph/ops/elementwise.ts; codes >= 20 are
// comparisons (bool output). If either input is a float the op runs in f32 (Pow int^float then snaps back to an
// integer), otherwise in i32 (division truncates toward zero). A_T/B_T/OUT_T are storage types (lib/op_types).
//!include op_types
//!include op_bcast

override OP: u32 = 0u;
override A_T: u32 = 0u;
override B_T: u32 = 0u;
override OUT_T: u32 = 0u;
// Chosen by the wrapper when a, b and y have one shape: output i reads word i of each, no broadcast index maths.
override SAME_SHAPE: bool = false;

const OP_COMPARE: u32 = 20u;

@group(0) @binding(1) var<storage, read> a: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<u32>;

// WGSL's pow is exp2(b * log2(a)): negative bases with integral exponents take their sign from the parity.
fn pow_f(x: f32, e: f32) -> f32 {
  if (e == 0.0) { return 1.0; }
  if (x >= 0.0 || e != trunc(e)) { return pow(x, e); }
  let m = pow(-x, e);
  return select(m, -m, fract(e * 0.5) != 0.0);
}

fn pow_i(x: i32, e: i32) -> i32 {
  if (e < 0) {
    if (x == 1) { return 1; }
    if (x == -1) { return select(1, -1, (e & 1) != 0); }
    return 0;
  }
  var r = 1;
  var base = x;
  var k = u32(e);
  while (k != 0u) {
    if ((k & 1u) != 0u) { r *= base; }
    base *= base;
    k >>= 1u;
  }
  return r;
}

fn binary_f(x: f32, z: f32) -> f32 {
  switch OP {
    case 0u: { return x + z; }
    case 1u: { return x - z; }
    case 2u: { return x * z; }
    case 3u: { return x / z; }
    case 4u: { return pow_f(x, z); }
    case 5u: { return max(x, z); }
    case 6u: { return min(x, z); }
    case 7u: { return x - z * floor(x / z); }
    case 8u: { return x - z * trunc(x / z); }
    default: { return x; }
  }
}

fn binary_i(x: i32, z: i32) -> i32 {
  switch OP {
    case 0u: { return x + z; }
    case 1u: { return x - z; }
    case 2u: { return x * z; }
    case 3u: { return x / z; }
    case 4u: { return pow_i(x, z); }
    case 5u: { return max(x, z); }
    case 6u: { return min(x, z); }
    case 7u: {
      // Python-style modulo: the result takes the divisor's sign.
      let r = x % z;
      return select(r, r + z, r != 0 && ((r < 0) != (z < 0)));
    }
    case 8u: { return x % z; }
    case 10u: { return i32(x != 0 && z != 0); }
    case 11u: { return i32(x != 0 || z != 0); }
    case 12u: { return i32((x != 0) != (z != 0)); }
    // BitShift takes unsigned operands: the right shift is logical.
    case 13u: { return x << u32(z); }
    case 14u: { return bitcast<i32>(bitcast<u32>(x) >> u32(z)); }
    default: { return x; }
  }
}

fn compare_f(x: f32, z: f32) -> bool {
  switch OP {
    case 20u: { return x == z; }
    case 21u: { return x > z; }
    case 22u: { return x >= z; }
    case 23u: { return x < z; }
    default: { return x <= z; }
  }
}

fn compare_i(x: i32, z: i32) -> bool {
  switch OP {
    case 20u: { return x == z; }
    case 21u: { return x > z; }
    case 22u: { return x >= z; }
    case 23u: { return x < z; }
    default: { return x <= z; }
  }
}

fn apply(wa: u32, wb: u32) -> u32 {
  if (A_T == T_F32 || B_T == T_F32) {
    let x = word_to_f32(wa, A_T);
    let z = word_to_f32(wb, B_T);
    if (OP >= OP_COMPARE) { return u32(compare_f(x, z)); }
    let r = binary_f(x, z);
    if (OUT_T == T_F32) { return bitcast<u32>(r); }
    // Only Pow reaches here (int base, float exponent): f32 pow of exact integer powers can land just below.
    let near = round(r);
    return f32_to_word(select(r, near, abs(r - near) <= 1e-4 * max(1.0, abs(near))), OUT_T);
  }
  let x = bitcast<i32>(wa);
  let z = bitcast<i32>(wb);
  if (OP >= OP_COMPARE) { return u32(compare_i(x, z)); }
  return bitcast<u32>(binary_i(x, z));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let first = bcast_first(gid, groups);
  let end = min(first + BCAST_RUN, bc.n);
  if (SAME_SHAPE) {
    for (var i = first; i < end; i++) { y[i] = apply(a[i], b[i]); }
    return;
  }
  var cur = bcast_start(first);
  for (var i = first; i < end; i++) {
    y[i] = apply(a[cur.off.x], b[cur.off.y]);
    bcast_advance(&cur, i);
  }
}
