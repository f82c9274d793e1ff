// How a scatter combines an update word with the word already at its destination (ScatterElements, ScatterND):
// SCATTER_REDUCE 0 replaces, 1 adds, 2 multiplies, 3 keeps the max, 4 the min; FLOAT_DATA says whether the words
// are f32 (else i32; bool and u32 data only scatter without reduction).
override SCATTER_REDUCE: u32 = 0u;
override FLOAT_DATA: bool = true;

fn scatter_combine(old: u32, upd: u32) -> u32 {
  if (SCATTER_REDUCE == 0u) { return upd; }
  if (FLOAT_DATA) {
    let a = bitcast<f32>(old);
    let b = bitcast<f32>(upd);
    switch SCATTER_REDUCE {
      case 1u: { return bitcast<u32>(a + b); }
      case 2u: { return bitcast<u32>(a * b); }
      case 3u: { return bitcast<u32>(max(a, b)); }
      default: { return bitcast<u32>(min(a, b)); }
    }
  }
  let a = bitcast<i32>(old);
  let b = bitcast<i32>(upd);
  switch SCATTER_REDUCE {
    case 1u: { return bitcast<u32>(a + b); }
    case 2u: { return bitcast<u32>(a * b); }
    case 3u: { return bitcast<u32>(max(a, b)); }
    default: { return bitcast<u32>(min(a, b)); }
  }
}

// An index into an axis of `dim` entries: negative counts from the end; out of range is clamped (the GPU cannot
// throw; the ops check indices they know on the host).
fn axis_index(raw: i32, dim: u32) -> u32 {
  let d = i32(dim);
  return u32(clamp(select(raw, raw + d, raw < 0), 0, d - 1));
}
