// Storage types of the generic ONNX operator kernels: every tensor is an array of 32-bit words read as
// f32, i32 or u32 (bool is 0/1). T_* codes match STORAGE in src/graph/ops/elementwise.ts.
const T_F32: u32 = 0u;
const T_I32: u32 = 1u;
const T_U32: u32 = 2u;

fn word_to_f32(w: u32, t: u32) -> f32 {
  switch t {
    case 0u: { return bitcast<f32>(w); }
    case 1u: { return f32(bitcast<i32>(w)); }
    default: { return f32(w); }
  }
}

// Floats truncate toward zero (and saturate), as ONNX Cast does.
fn word_to_i32(w: u32, t: u32) -> i32 {
  if (t == T_F32) { return i32(bitcast<f32>(w)); }
  return bitcast<i32>(w);
}

fn f32_to_word(v: f32, t: u32) -> u32 {
  switch t {
    case 0u: { return bitcast<u32>(v); }
    case 1u: { return bitcast<u32>(i32(v)); }
    default: { return u32(v); }
  }
}

fn i32_to_word(v: i32, t: u32) -> u32 {
  if (t == T_F32) { return bitcast<u32>(f32(v)); }
  return bitcast<u32>(v);
}
