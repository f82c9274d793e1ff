// One output element per invocation: y[o] = reduce over the reduced dims of x, walked with an odometer so the
// inner loop has no divisions. OP codes are REDUCE in src/graph/ops/reduce.ts; ArgMax/ArgMin (codes >= 20) write
// the i32 index along the (single) reduced axis. Floats reduce in f32, integers in i32 (IN_T, lib/op_types).
//!include op_types

override OP: u32 = 0u;
override IN_T: u32 = 0u;
override SELECT_LAST: bool = false;

const OP_ARGMAX: u32 = 20u;
const OP_ARGMIN: u32 = 21u;

struct Params {
  n_out: u32,
  n_red: u32,
  out_rank: u32,
  red_rank: u32,
  // Kept dims of x (in output order) and reduced dims, with x's strides; slots past the rank are unused.
  out_shape: array<vec4u, 2>,
  out_strides: array<vec4u, 2>,
  red_shape: array<vec4u, 2>,
  red_strides: array<vec4u, 2>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

var<private> odo: array<u32, 8>;
var<private> off: u32;

fn base_offset(o: u32) -> u32 {
  var rem = o;
  var b = 0u;
  for (var d = i32(params.out_rank) - 1; d >= 0; d--) {
    let size = params.out_shape[u32(d) >> 2u][u32(d) & 3u];
    b += (rem % size) * params.out_strides[u32(d) >> 2u][u32(d) & 3u];
    rem = rem / size;
  }
  return b;
}

fn start(o: u32) {
  off = base_offset(o);
  for (var d = 0u; d < 8u; d++) { odo[d] = 0u; }
}

// Advances `off` to the next reduced element (row-major over the reduced dims).
fn advance() {
  for (var d = i32(params.red_rank) - 1; d >= 0; d--) {
    let q = u32(d) >> 2u;
    let r = u32(d) & 3u;
    odo[d] += 1u;
    off += params.red_strides[q][r];
    if (odo[d] < params.red_shape[q][r]) { return; }
    off -= params.red_strides[q][r] * params.red_shape[q][r];
    odo[d] = 0u;
  }
}

fn reduce_f(o: u32) -> f32 {
  start(o);
  var m = word_to_f32(x[off], IN_T);
  if (OP == 7u) {
    // LogSumExp: find the max first so exp cannot overflow.
    for (var k = 0u; k < params.n_red; k++) { m = max(m, word_to_f32(x[off], IN_T)); advance(); }
    start(o);
  }
  var acc = select(0.0, m, OP == 2u || OP == 3u);
  if (OP == 4u) { acc = 1.0; }
  for (var k = 0u; k < params.n_red; k++) {
    let v = word_to_f32(x[off], IN_T);
    switch OP {
      case 2u: { acc = max(acc, v); }
      case 3u: { acc = min(acc, v); }
      case 4u: { acc *= v; }
      case 5u: { acc += v * v; }
      case 6u: { acc += abs(v); }
      case 7u: { acc += exp(v - m); }
      case 8u: { acc += v * v; }
      default: { acc += v; }
    }
    advance();
  }
  switch OP {
    case 1u: { return acc / f32(params.n_red); }
    case 7u: { return m + log(acc); }
    case 8u: { return sqrt(acc); }
    case 9u: { return log(acc); }
    default: { return acc; }
  }
}

fn reduce_i(o: u32) -> i32 {
  start(o);
  var acc = select(0, bitcast<i32>(x[off]), OP == 2u || OP == 3u);
  if (OP == 4u) { acc = 1; }
  for (var k = 0u; k < params.n_red; k++) {
    let v = bitcast<i32>(x[off]);
    switch OP {
      case 2u: { acc = max(acc, v); }
      case 3u: { acc = min(acc, v); }
      case 4u: { acc *= v; }
      case 5u: { acc += v * v; }
      case 6u: { acc += abs(v); }
      default: { acc += v; }
    }
    advance();
  }
  if (OP == 1u) { return acc / i32(params.n_red); }
  return acc;
}

fn better(v: f32, best: f32) -> bool {
  if (OP == OP_ARGMAX) { return select(v > best, v >= best, SELECT_LAST); }
  return select(v < best, v <= best, SELECT_LAST);
}

fn arg(o: u32) -> i32 {
  start(o);
  var best = word_to_f32(x[off], IN_T);
  var at = 0u;
  for (var k = 0u; k < params.n_red; k++) {
    let v = word_to_f32(x[off], IN_T);
    if (better(v, best)) { best = v; at = k; }
    advance();
  }
  return i32(at);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let o = gid.x + gid.y * groups.x * 64u;
  if (o >= params.n_out) { return; }
  if (OP == OP_ARGMAX || OP == OP_ARGMIN) {
    y[o] = bitcast<u32>(arg(o));
  } else if (IN_T == T_F32 || OP >= 7u) {
    // LogSumExp, L2 and LogSum of integers also run in f32.
    y[o] = f32_to_word(reduce_f(o), IN_T);
  } else {
    y[o] = bitcast<u32>(reduce_i(o));
  }
}
