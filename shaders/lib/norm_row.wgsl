// Row sums of the norm kernels (one workgroup per row, after //!include reduce): the sum and the sum of squares
// of x[base + j] - shift over j < d, reduced over the workgroup. The including kernel declares the f32 array `x`.
fn norm_row_sums(base: u32, d: u32, shift: f32, lid: u32) -> vec2f {
  var s = vec2f(0.0);
  for (var j = lid; j < d; j += RED_WG) {
    let v = x[base + j] - shift;
    s += vec2f(v, v * v);
  }
  return bitcast<vec2f>(wg_reduce(bitcast<vec2u>(s), lid, RED_SUM));
}
