// Shared by attention_prefill and attention_decode: shape uniforms, bindings, and one invocation's
// online-softmax state folded over blocks of 4 keys (one rescale and 5 exps per block, not 2 exps per key).
// Shapes (checked by src/kernels/attention.ts): headDim a multiple of 4, at most 4 * MAX_HEAD_VEC4 = 128.
const MAX_HEAD_VEC4: u32 = 32u;
// A finite stand-in for -inf: exp(NEG_BIG - m) is 0 for any real m, never NaN.
const NEG_BIG: f32 = -3.0e38;

struct Params {
  numHeads: u32,
  numKvHeads: u32,
  headVec4: u32, // headDim / 4
  maxSeq: u32,
  pastLen: u32,
  rows: u32, // L, the query rows of this step
  causal: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4f>; // [L, numHeads * headDim]
@group(0) @binding(2) var<storage, read> kCache: array<vec4f>; // [numKvHeads, maxSeq, headDim]
@group(0) @binding(3) var<storage, read> vCache: array<vec4f>; // [numKvHeads, maxSeq, headDim]
@group(0) @binding(4) var<storage, read_write> out: array<vec4f>; // [L, numHeads * headDim]

var<private> qrow: array<vec4f, MAX_HEAD_VEC4>; // this invocation's query row, already times scale
var<private> acc: array<vec4f, MAX_HEAD_VEC4>; // running sum of exp(score - runMax) * v
var<private> runMax: f32;
var<private> runSum: f32; // running sum of exp(score - runMax)

// Vec4 index of (row, head) in q and out.
fn row_base(row: u32, head: u32) -> u32 {
  return (row * params.numHeads + head) * params.headVec4;
}

// Grouped-query attention: consecutive query heads share one kv head.
fn kv_head(head: u32) -> u32 {
  return head / (params.numHeads / params.numKvHeads);
}

fn start_row(row: u32, head: u32) {
  let base = row_base(row, head);
  for (var d = 0u; d < params.headVec4; d++) {
    qrow[d] = q[base + d] * params.scale;
    acc[d] = vec4f(0.0);
  }
  runMax = NEG_BIG;
  runSum = 0.0;
}

// Folds keys j0..j0+3 of kv head `kvh` into the running state. Keys at or past `end` (j0 < end) are
// masked; their rows are clamped to end-1 so no read leaves the visible part of the cache.
fn absorb4(kvh: u32, j0: u32, end: u32) {
  let hv = params.headVec4;
  let base = kvh * params.maxSeq;
  let last = end - 1u;
  let r0 = (base + j0) * hv;
  let r1 = (base + min(j0 + 1u, last)) * hv;
  let r2 = (base + min(j0 + 2u, last)) * hv;
  let r3 = (base + min(j0 + 3u, last)) * hv;
  var s = vec4f(0.0);
  for (var d = 0u; d < hv; d++) {
    let qd = qrow[d];
    s += vec4f(dot(qd, kCache[r0 + d]), dot(qd, kCache[r1 + d]), dot(qd, kCache[r2 + d]), dot(qd, kCache[r3 + d]));
  }
  s = select(s, vec4f(NEG_BIG), vec4u(j0) + vec4u(0u, 1u, 2u, 3u) >= vec4u(end));
  let newMax = max(runMax, max(max(s.x, s.y), max(s.z, s.w)));
  let corr = exp(runMax - newMax);
  let p = exp(s - vec4f(newMax));
  runMax = newMax;
  runSum = runSum * corr + (p.x + p.y) + (p.z + p.w);
  for (var d = 0u; d < hv; d++) {
    acc[d] = acc[d] * corr + p.x * vCache[r0 + d] + p.y * vCache[r1 + d] + p.z * vCache[r2 + d] + p.w * vCache[r3 + d];
  }
}
