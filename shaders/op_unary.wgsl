// y = f(x) for the unary ONNX operators and Cast. OP picks f (codes in src/graph/ops/elementwise.ts, UNARY);
// floats compute in f32, everything else in i32. IN_T/OUT_T are storage types (lib/op_types); NARROW rounds
// or wraps the result to a type narrower than its 32-bit storage (float16, bool, 8/16-bit integers). alpha and
// beta carry the attributes of the parametrised activations (Elu's alpha, HardSigmoid's alpha and beta, ...).
//!include op_types
//!include activations

override OP: u32 = 0u;
override IN_T: u32 = 0u;
override OUT_T: u32 = 0u;
override NARROW: u32 = 0u;

const N_F16: u32 = 1u;
const N_BOOL: u32 = 2u;
const N_I8: u32 = 3u;
const N_U8: u32 = 4u;
const N_I16: u32 = 5u;
const N_U16: u32 = 6u;

struct Params { n: u32, alpha: f32, beta: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

fn unary_f(v: f32) -> f32 {
  switch OP {
    case 1u: { return abs(v); }
    case 2u: { return -v; }
    case 3u: { return exp(v); }
    case 4u: { return sqrt(v); }
    case 5u: { return 1.0 / v; }
    case 6u: { return sin(v); }
    case 7u: { return cos(v); }
    case 8u: {
      // tanh through exp(-2|v|) so large |v| cannot overflow to NaN.
      let e = exp(-2.0 * abs(v));
      return sign(v) * (1.0 - e) / (1.0 + e);
    }
    case 9u: { return sigmoid(v); }
    case 10u: { return max(v, 0.0); }
    case 11u: { return erf_approx(v); }
    case 12u: { return select(0.0, 1.0, v == 0.0); }
    case 13u: { return log(v); }
    case 14u: { return floor(v); }
    case 15u: { return ceil(v); }
    case 16u: { return round(v); }
    case 17u: { return sign(v); }
    case 18u: { return tan(v); }
    case 19u: { return asin(v); }
    case 20u: { return acos(v); }
    case 21u: { return atan(v); }
    case 22u: { return sinh(v); }
    case 23u: { return cosh(v); }
    case 24u: { return asinh(v); }
    case 25u: { return acosh(v); }
    case 26u: { return atanh(v); }
    // Softplus as max(v, 0) + log(1 + exp(-|v|)): exp(v) alone overflows for v > 88.
    case 27u: { return max(v, 0.0) + log(1.0 + exp(-abs(v))); }
    case 28u: { return v / (1.0 + abs(v)); }
    // NaN and infinity tests on the bits: a compiler may fold v != v to false.
    case 29u: { return select(0.0, 1.0, (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u); }
    case 30u: { return select(params.alpha * (exp(v) - 1.0), v, v > 0.0); }
    case 31u: { return params.beta * select(params.alpha * (exp(v) - 1.0), v, v > 0.0); }
    case 32u: { return select(params.alpha * v, v, v >= 0.0); }
    case 33u: { return clamp(params.alpha * v + params.beta, 0.0, 1.0); }
    case 34u: { return select(0.0, v, v > params.alpha); }
    case 35u: { return max(v, 0.0) + min(0.0, params.alpha * (exp(v / params.alpha) - 1.0)); }
    case 36u: { return v * clamp(v / 6.0 + 0.5, 0.0, 1.0); }
    case 37u: { return select(select(0.0, v - params.beta, v > params.alpha), v + params.beta, v < -params.alpha); }
    case 38u: {
      let inf = (bitcast<u32>(v) & 0x7fffffffu) == 0x7f800000u;
      let wanted = select(params.beta != 0.0, params.alpha != 0.0, v > 0.0);
      return select(0.0, 1.0, inf && wanted);
    }
    case 39u: { return v * params.alpha; }
    default: { return v; }
  }
}

fn unary_i(v: i32) -> i32 {
  switch OP {
    case 1u: { return abs(v); }
    case 2u: { return -v; }
    case 10u: { return max(v, 0); }
    case 12u: { return select(0, 1, v == 0); }
    case 17u: { return sign(v); }
    case 37u: { return i32(unary_f(f32(v))); }
    default: { return v; }
  }
}

fn store_i(v: i32) -> u32 {
  switch NARROW {
    case N_BOOL: { return select(0u, 1u, v != 0); }
    case N_I8: { return bitcast<u32>(extractBits(v, 0u, 8u)); }
    case N_U8: { return bitcast<u32>(v) & 0xffu; }
    case N_I16: { return bitcast<u32>(extractBits(v, 0u, 16u)); }
    case N_U16: { return bitcast<u32>(v) & 0xffffu; }
    default: { return i32_to_word(v, OUT_T); }
  }
}

fn store_f(v: f32) -> u32 {
  if (NARROW == N_F16) {
    // pack2x16float is undefined outside the f16 range: values that round past 65504 become infinities.
    if (abs(v) >= 65520.0) { return (bitcast<u32>(v) & 0x80000000u) | 0x7f800000u; }
    return bitcast<u32>(unpack2x16float(pack2x16float(vec2f(v, 0.0))).x);
  }
  if (NARROW == N_BOOL) { return select(0u, 1u, v != 0.0); }
  if (OUT_T == T_F32) { return bitcast<u32>(v); }
  return store_i(i32(v));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * 256u;
  if (i >= params.n) { return; }
  if (IN_T == T_F32) {
    y[i] = store_f(unary_f(bitcast<f32>(x[i])));
  } else if (NARROW == N_F16 || OUT_T == T_F32) {
    y[i] = store_f(unary_f(word_to_f32(x[i], IN_T)));
  } else {
    y[i] = store_i(unary_i(word_to_i32(x[i], IN_T)));
  }
}
