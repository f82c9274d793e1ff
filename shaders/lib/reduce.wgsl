// Workgroup-wide reduction for kernels that give each row one workgroup of RED_WG = RED_G^2 invocations. Each
// invocation first reduces its strided share of the row serially, then calls wg_reduce once: RED_G invocations
// each fold RED_G slots, and every invocation folds those RED_G partials itself, so a reduction costs two
// barriers whatever the row length. RED_G is 2 on software adapters: a 4-wide workgroup is one SwiftShader
// subgroup, which runs its barriers for free, while any wider group pays ~0.6 us per invocation for them.
// Values travel as vec2<u32> so one path serves float pairs (bitcast) and (key, index) pairs alike.
// Call wg_reduce from uniform control flow only.
override RED_G: u32 = 8u;
override RED_WG: u32 = RED_G * RED_G;

const RED_SUM: u32 = 0u;     // float pairs, summed componentwise
const RED_SOFTMAX: u32 = 1u; // float (max, sum of exp(x - max)), rescaled to the larger max
const RED_ARGMAX: u32 = 2u;  // (order key, index): larger key wins, equal keys -> smaller index

var<workgroup> red_slots: array<vec2u, RED_WG>;
var<workgroup> red_partials: array<vec2u, RED_G>;

fn red_combine(a: vec2u, b: vec2u, op: u32) -> vec2u {
  switch op {
    case RED_SUM: {
      return bitcast<vec2u>(bitcast<vec2f>(a) + bitcast<vec2f>(b));
    }
    case RED_SOFTMAX: {
      let fa = bitcast<vec2f>(a);
      let fb = bitcast<vec2f>(b);
      let m = max(fa.x, fb.x);
      return bitcast<vec2u>(vec2f(m, fa.y * exp(fa.x - m) + fb.y * exp(fb.x - m)));
    }
    default: {
      return select(a, b, b.x > a.x || (b.x == a.x && b.y < a.y));
    }
  }
}

// The reduction of every invocation's `v`, returned to all of them (bit-identical everywhere).
fn wg_reduce(v: vec2u, lid: u32, op: u32) -> vec2u {
  red_slots[lid] = v;
  workgroupBarrier();
  if (lid < RED_G) {
    var acc = red_slots[lid * RED_G];
    for (var j = 1u; j < RED_G; j++) { acc = red_combine(acc, red_slots[lid * RED_G + j], op); }
    red_partials[lid] = acc;
  }
  // red_partials is only rewritten after the next call's first barrier, when every invocation has read it.
  workgroupBarrier();
  var r = red_partials[0];
  for (var j = 1u; j < RED_G; j++) { r = red_combine(r, red_partials[j], op); }
  return r;
}
